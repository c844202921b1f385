/*
 * What the bench adapter (bench_adapter.c, a plugin) and bench-dispatch (its host) agree on:
 * the names, the signatures, and the one piece of real work, sum().
 */
#ifndef BENCH_ADAPTER_H
#define BENCH_ADAPTER_H

#include <string.h>

#include <backend/ndarray.h>
#include <backend/param.h>

#define BENCH_HOST "bench_host"       /* entry-point group "bench_host.backends" */
#define BENCH_BACKEND "bench_noop"    /* the adapter's canonical name */
#define BENCH_DIST "bench-noop"       /* the distribution that provides it */
#define BENCH_MODULE "bench_noop.adapter"

static const struct backend_param bench_noop_params[] = {{NULL, 0, NULL}};
static const struct backend_param bench_sum_params[] = {{"data", BACKEND_PARAM_POSITIONAL, NULL}, {NULL, 0, NULL}};

/* The float64 sum of a float32 array, in a fixed order (so host and adapter agree exactly). */
static inline double bench_sum_f32(const struct backend_ndarray *a) {
  const unsigned char *p = a->data;
  double s[4] = {0, 0, 0, 0};
  uint64_t i = 0;
  float f[4];
  for (; i + 4 <= a->count; i += 4) {
    memcpy(f, p + i * sizeof(float), sizeof f); /* the data need not be aligned */
    s[0] += f[0], s[1] += f[1], s[2] += f[2], s[3] += f[3];
  }
  for (; i < a->count; i++) {
    memcpy(f, p + i * sizeof(float), sizeof(float));
    s[0] += f[0];
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

#endif
