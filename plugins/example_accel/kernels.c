/* Vectorisable inner loops (kernels.h). */
#include "kernels.h"

#include <stdint.h>
#include <string.h>

#define F32_LANES 16
#define F64_LANES 8
/*
 * Values summed per float32 lane before the lanes go into a float64 total: 32 terms per
 * lane keep the float32 rounding error of a sum of squares below 2e-6 relative.
 */
#define F32_BLOCK (32 * F32_LANES)

double ea_sumsq_f32(const float *x, size_t n) {
  double total = 0;
  size_t i = 0;
  while (n - i >= F32_LANES) {
    float acc[F32_LANES] = {0};
    size_t end = n - i >= F32_BLOCK ? i + F32_BLOCK : i + (n - i) / F32_LANES * F32_LANES;
    for (; i < end; i += F32_LANES)
      for (int j = 0; j < F32_LANES; j++)
        acc[j] += x[i + j] * x[i + j];
    for (int j = 0; j < F32_LANES; j++)
      total += acc[j];
  }
  for (; i < n; i++)
    total += (double)(x[i] * x[i]);
  return total;
}

double ea_sumsq_f64(const float *x, size_t n) {
  double acc[F64_LANES] = {0}, total = 0;
  size_t i = 0;
  for (; i + F64_LANES <= n; i += F64_LANES)
    for (int j = 0; j < F64_LANES; j++)
      acc[j] += (double)x[i + j] * (double)x[i + j];
  for (; i < n; i++)
    total += (double)x[i] * (double)x[i];
  for (int j = 0; j < F64_LANES; j++)
    total += acc[j];
  return total;
}

double ea_sum_f64(const float *x, size_t n) {
  double acc[F64_LANES] = {0}, total = 0;
  size_t i = 0;
  for (; i + F64_LANES <= n; i += F64_LANES)
    for (int j = 0; j < F64_LANES; j++)
      acc[j] += (double)x[i + j];
  for (; i < n; i++)
    total += (double)x[i];
  for (int j = 0; j < F64_LANES; j++)
    total += acc[j];
  return total;
}

double ea_sqdev_f64(const float *x, size_t n, double mean) {
  double acc[F64_LANES] = {0}, total = 0;
  size_t i = 0;
  for (; i + F64_LANES <= n; i += F64_LANES)
    for (int j = 0; j < F64_LANES; j++) {
      double d = (double)x[i + j] - mean;
      acc[j] += d * d;
    }
  for (; i < n; i++)
    total += ((double)x[i] - mean) * ((double)x[i] - mean);
  for (int j = 0; j < F64_LANES; j++)
    total += acc[j];
  return total;
}

/*
 * min and max do not vectorise as plain C: a compiler may not turn `v < m ? v : m` into a
 * vector minimum unless told that there are no NaNs and no signed zeros. GCC's vector
 * extensions (also Clang's) say it with a lane-wise compare and select, same results.
 */
typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));
#define V4_SELECT(mask, a, b) ((v4sf)(((mask) & (v4si)(a)) | (~(mask) & (v4si)(b))))
#define V4_LANES 4
#define V4_ACCS (F32_LANES / V4_LANES)

void ea_minmax(const float *x, size_t n, float *lo, float *hi) {
  v4sf mins[V4_ACCS], maxs[V4_ACCS];
  float l = x[0], h = x[0];
  size_t i = 0;
  for (int a = 0; a < V4_ACCS; a++)
    mins[a] = maxs[a] = (v4sf){x[0], x[0], x[0], x[0]};
  for (; i + F32_LANES <= n; i += F32_LANES)
    for (int a = 0; a < V4_ACCS; a++) {
      v4sf v;
      memcpy(&v, x + i + a * V4_LANES, sizeof v); /* x may be only 4-byte aligned */
      mins[a] = V4_SELECT(v < mins[a], v, mins[a]);
      maxs[a] = V4_SELECT(v > maxs[a], v, maxs[a]);
    }
  for (; i < n; i++) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  for (int a = 0; a < V4_ACCS; a++)
    for (int j = 0; j < V4_LANES; j++) {
      l = mins[a][j] < l ? mins[a][j] : l;
      h = maxs[a][j] > h ? maxs[a][j] : h;
    }
  *lo = l;
  *hi = h;
}

/* restrict: out never overlaps x, so the loop vectorises without a run-time overlap check. */
void ea_affine(const float *restrict x, size_t n, double shift, double scale, float *restrict out) {
  for (size_t i = 0; i < n; i++)
    out[i] = (float)(((double)x[i] - shift) * scale);
}
