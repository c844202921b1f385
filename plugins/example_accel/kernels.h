/*
 * example_accel's inner loops over one batch of float32 values. Each keeps independent
 * accumulator lanes so that the compiler can vectorise it (the implementation library is
 * built with -O3) without reassociating one sum, which C forbids without -ffast-math.
 */
#ifndef EXAMPLE_ACCEL_KERNELS_H
#define EXAMPLE_ACCEL_KERNELS_H

#include <stddef.h>

/* Sum of squares: float32 lanes, flushed to float64 every few hundred values. */
double ea_sumsq_f32(const float *x, size_t n);
/* Sum of squares in float64. */
double ea_sumsq_f64(const float *x, size_t n);
/* Sum in float64. */
double ea_sum_f64(const float *x, size_t n);
/* Sum of (x - mean)^2 in float64. */
double ea_sqdev_f64(const float *x, size_t n, double mean);
/* Smallest and largest value; n > 0. */
void ea_minmax(const float *x, size_t n, float *lo, float *hi);
/* out[i] = (float)((x[i] - shift) * scale), in float64. */
void ea_affine(const float *restrict x, size_t n, double shift, double scale, float *restrict out);

#endif
