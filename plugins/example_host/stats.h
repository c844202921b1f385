/*
 * The host's own (CPU) computations over float32 vectors: what the "cpu" backend runs and
 * what every other backend is checked against (feedback.c). Plain, readable loops.
 */
#ifndef EXAMPLE_HOST_STATS_H
#define EXAMPLE_HOST_STATS_H

#include <stddef.h>

#include "example_host.h"

/* Mean of squares: float32 squares summed in float64. n > 0. n_jobs: threads (<= 0: one). */
double eh_score_fast(const float *x, size_t n, int n_jobs);
/* Mean of squares in float64 throughout (squares too), Neumaier-compensated. n > 0. */
double eh_score_exact(const float *x, size_t n, int n_jobs);
/* Median of |x| (the mean of the two middle values for even n). n > 0. Returns 0 or -ENOMEM. */
int eh_score_robust(const float *x, size_t n, double *out);

/* (x - mean) / std, population std; all zeros when std is 0 (so also for one element). */
void eh_normalize_zscore(const float *x, size_t n, float *out);
/* (x - min) / (max - min); all zeros when max == min. */
void eh_normalize_minmax(const float *x, size_t n, float *out);

/* min, max, mean, population std and count; NaN statistics for n == 0. */
void eh_summarize(const float *x, size_t n, struct example_host_summary *out);

/* The number of threads n_jobs asks for: -1 is every online CPU; 0 (None) is one. */
int eh_jobs(int n_jobs);

#endif
