/*
 * CPU implementations (stats.h). Sums use Neumaier's compensated summation so that the
 * reference every backend is compared with is as exact as float64 allows; n_jobs splits a
 * sum into contiguous chunks summed by threads and combined in chunk order, so the result
 * does not depend on scheduling.
 */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* Below this many elements per thread, starting threads costs more than it saves. */
#define MIN_CHUNK 16384
#define MAX_JOBS 64

/* Neumaier's variant of Kahan summation: also exact when a term is larger than the sum. */
struct ksum {
  double s, c;
};

static void ksum_add(struct ksum *k, double v) {
  double t = k->s + v;
  k->c += fabs(k->s) >= fabs(v) ? (k->s - t) + v : (v - t) + k->s;
  k->s = t;
}

static double ksum_value(const struct ksum *k) { return k->s + k->c; }

/* "fast": each square rounded to float32, as a float32 implementation computes it. */
static double sumsq_fast(const float *x, size_t n) {
  struct ksum k = {0, 0};
  for (size_t i = 0; i < n; i++)
    ksum_add(&k, (double)(x[i] * x[i]));
  return ksum_value(&k);
}

/* "exact": the square of the float64 value, which is exact (24-bit mantissas). */
static double sumsq_exact(const float *x, size_t n) {
  struct ksum k = {0, 0};
  for (size_t i = 0; i < n; i++)
    ksum_add(&k, (double)x[i] * (double)x[i]);
  return ksum_value(&k);
}

struct chunk {
  const float *x;
  size_t n;
  double (*sum)(const float *, size_t);
  double result;
};

static void *chunk_run(void *arg) {
  struct chunk *c = arg;
  c->result = c->sum(c->x, c->n);
  return NULL;
}

int eh_jobs(int n_jobs) {
  long cpus;
  if (n_jobs > 0)
    return n_jobs < MAX_JOBS ? n_jobs : MAX_JOBS;
  if (n_jobs == -1 && (cpus = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
    return cpus < MAX_JOBS ? (int)cpus : MAX_JOBS;
  return 1;
}

/* sum over x in up to n_jobs chunks; a thread that cannot start is run in this one. */
static double parallel_sum(const float *x, size_t n, int n_jobs, double (*sum)(const float *, size_t)) {
  struct chunk chunks[MAX_JOBS];
  pthread_t threads[MAX_JOBS];
  int started[MAX_JOBS] = {0};
  size_t jobs = (size_t)eh_jobs(n_jobs), per;
  struct ksum total = {0, 0};
  if (jobs > n / MIN_CHUNK)
    jobs = n / MIN_CHUNK > 0 ? n / MIN_CHUNK : 1;
  if (jobs == 1)
    return sum(x, n);
  per = (n + jobs - 1) / jobs;
  for (size_t j = 0; j < jobs; j++) {
    size_t begin = j * per < n ? j * per : n, end = begin + per < n ? begin + per : n;
    chunks[j] = (struct chunk){x + begin, end - begin, sum, 0};
    started[j] = j > 0 && pthread_create(&threads[j], NULL, chunk_run, &chunks[j]) == 0;
  }
  for (size_t j = 0; j < jobs; j++) {
    if (started[j])
      pthread_join(threads[j], NULL);
    else
      chunk_run(&chunks[j]);
    ksum_add(&total, chunks[j].result);
  }
  return ksum_value(&total);
}

double eh_score_fast(const float *x, size_t n, int n_jobs) { return parallel_sum(x, n, n_jobs, sumsq_fast) / (double)n; }

double eh_score_exact(const float *x, size_t n, int n_jobs) {
  return parallel_sum(x, n, n_jobs, sumsq_exact) / (double)n;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

int eh_score_robust(const float *x, size_t n, double *out) {
  float *a = malloc(n * sizeof *a);
  if (a == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    a[i] = fabsf(x[i]);
  qsort(a, n, sizeof *a, cmp_float);
  *out = n % 2 ? (double)a[n / 2] : ((double)a[n / 2 - 1] + (double)a[n / 2]) / 2;
  free(a);
  return 0;
}

static double mean_of(const float *x, size_t n) {
  struct ksum k = {0, 0};
  for (size_t i = 0; i < n; i++)
    ksum_add(&k, x[i]);
  return ksum_value(&k) / (double)n;
}

/* Two passes: the mean first, so that the variance does not lose what the mean holds. */
static double std_of(const float *x, size_t n, double mean) {
  struct ksum k = {0, 0};
  for (size_t i = 0; i < n; i++)
    ksum_add(&k, ((double)x[i] - mean) * ((double)x[i] - mean));
  return sqrt(ksum_value(&k) / (double)n);
}

static void min_max(const float *x, size_t n, float *lo, float *hi) {
  *lo = *hi = x[0];
  for (size_t i = 1; i < n; i++) {
    if (x[i] < *lo)
      *lo = x[i];
    if (x[i] > *hi)
      *hi = x[i];
  }
}

void eh_normalize_zscore(const float *x, size_t n, float *out) {
  double mean, std;
  if (n == 0)
    return;
  mean = mean_of(x, n);
  std = std_of(x, n, mean);
  for (size_t i = 0; i < n; i++)
    out[i] = std > 0 ? (float)(((double)x[i] - mean) / std) : 0.0f;
}

void eh_normalize_minmax(const float *x, size_t n, float *out) {
  float lo, hi;
  double range;
  if (n == 0)
    return;
  min_max(x, n, &lo, &hi);
  range = (double)hi - (double)lo;
  for (size_t i = 0; i < n; i++)
    out[i] = range > 0 ? (float)(((double)x[i] - lo) / range) : 0.0f;
}

void eh_summarize(const float *x, size_t n, struct example_host_summary *out) {
  float lo, hi;
  out->count = n;
  if (n == 0) {
    out->min = out->max = out->mean = out->std = NAN;
    return;
  }
  min_max(x, n, &lo, &hi);
  out->min = lo;
  out->max = hi;
  out->mean = mean_of(x, n);
  out->std = std_of(x, n, out->mean);
}
