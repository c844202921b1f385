/*
 * Feedback checks (example_host.h): every function on the backend against this library's
 * own result for the same inputs, over sizes from one value to a few hundred thousand (so
 * that a backend's batching and threading are exercised) and data away from zero (so that
 * a one-pass variance would show). Tolerance: relative 1e-5, what float32 sums can promise.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "example_host.h"

#define RTOL 1e-5
#define NO_USER "the checks' user argument must be the example_host"

static const size_t sizes[] = {1, 2, 7, 1000, 65537, 250001};
#define N_SIZES (sizeof sizes / sizeof sizes[0])
#define MAX_SIZE 250001
static const float offsets[] = {0.0f, 1000.0f};
#define N_OFFSETS (sizeof offsets / sizeof offsets[0])

/* Deterministic values in [offset - 3, offset + 5): the same inputs on every run and machine. */
static void fill(float *x, size_t n, float offset) {
  uint32_t s = 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = offset + (float)(s >> 8) / 16777216.0f * 8.0f - 3.0f;
  }
}

static int close_enough(double got, double want) {
  if (isnan(want))
    return isnan(got);
  return fabs(got - want) <= RTOL * fmax(fabs(want), 1e-30) || got == want;
}

static int fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_len, fmt, ap);
  va_end(ap);
  return -1;
}

/* A call that did not give a value: why, from the result when there is one. */
static int call_failed(char *why, size_t why_len, const char *what, const char *backend, int rc,
                       const backend_result *r) {
  if (rc == BACKEND_ECALL && r != NULL)
    return fail(why, why_len, "%s on %s: %s: %s", what, backend, r->error_code ? r->error_code : "?",
                r->error_message ? r->error_message : "?");
  return fail(why, why_len, "%s on %s: error %d", what, backend, rc);
}

static int check_empty_score(example_host *eh, const char *backend, char *why, size_t why_len) {
  backend_result *info = NULL;
  struct example_host_score_opts o = {.call = {.backend = backend, .info = &info}};
  double score;
  float none[1] = {0};
  int rc = example_host_compute_score(eh, none, 0, &o, &score);
  backend_result_free(info);
  if (rc != BACKEND_ECALL)
    return fail(why, why_len, "compute_score of an empty array on %s: want an error, got %s", backend,
                rc == 0 ? "a score" : "another error");
  return 0;
}

static int score_one(example_host *eh, const char *backend, const char *method, const float *x, size_t n, char *why,
                     size_t why_len) {
  backend_result *info = NULL;
  struct example_host_score_opts o = {.method = method, .call = {.backend = "cpu", .info = &info}};
  double want, got;
  char what[96];
  int rc;
  snprintf(what, sizeof what, "compute_score(method='%s') of %zu values", method, n);
  if ((rc = example_host_compute_score(eh, x, n, &o, &want)) != 0)
    rc = call_failed(why, why_len, what, "cpu", rc, info);
  backend_result_free(info);
  info = NULL;
  if (rc != 0)
    return rc;
  o.call.backend = backend;
  if ((rc = example_host_compute_score(eh, x, n, &o, &got)) != 0)
    rc = call_failed(why, why_len, what, backend, rc, info);
  else if (!close_enough(got, want))
    rc = fail(why, why_len, "%s: %s gave %.9g, cpu %.9g", what, backend, got, want);
  backend_result_free(info);
  return rc;
}

static int check_compute_score(backend_host *h, const char *backend, void *user, char *why, size_t why_len) {
  static const char *const methods[] = {"fast", "exact", "robust"};
  float *x;
  int rc = 0;
  (void)h;
  if (user == NULL)
    return fail(why, why_len, NO_USER);
  if ((x = malloc(MAX_SIZE * sizeof *x)) == NULL)
    return fail(why, why_len, "out of memory");
  for (size_t o = 0; o < N_OFFSETS && rc == 0; o++)
    for (size_t s = 0; s < N_SIZES && rc == 0; s++) {
      fill(x, sizes[s], offsets[o]);
      for (size_t m = 0; m < 3 && rc == 0; m++)
        rc = score_one(user, backend, methods[m], x, sizes[s], why, why_len);
    }
  free(x);
  return rc != 0 ? rc : check_empty_score(user, backend, why, why_len);
}

static int normalize_one(example_host *eh, const char *backend, const char *method, const float *x, size_t n,
                         float *want, float *got, char *why, size_t why_len) {
  backend_result *info = NULL;
  struct example_host_normalize_opts o = {.method = method, .call = {.backend = "cpu", .info = &info}};
  char what[96];
  int rc;
  snprintf(what, sizeof what, "normalize(method='%s') of %zu values", method, n);
  if ((rc = example_host_normalize(eh, x, n, &o, want)) != 0)
    rc = call_failed(why, why_len, what, "cpu", rc, info);
  backend_result_free(info);
  info = NULL;
  if (rc != 0)
    return rc;
  o.call.backend = backend;
  if ((rc = example_host_normalize(eh, x, n, &o, got)) != 0)
    rc = call_failed(why, why_len, what, backend, rc, info);
  /* Values near 0 compare absolutely: a relative tolerance means nothing there. */
  for (size_t i = 0; i < n && rc == 0; i++)
    if (fabs((double)got[i] - want[i]) > RTOL * fmax(1.0, fabs(want[i])))
      rc = fail(why, why_len, "%s: element %zu is %.9g on %s, %.9g on cpu", what, i, got[i], backend, want[i]);
  backend_result_free(info);
  return rc;
}

static int check_normalize(backend_host *h, const char *backend, void *user, char *why, size_t why_len) {
  static const char *const methods[] = {"zscore", "minmax"};
  float *x = malloc(MAX_SIZE * sizeof *x), *want = malloc(MAX_SIZE * sizeof *want), *got = malloc(MAX_SIZE * sizeof *got);
  int rc = 0;
  (void)h;
  if (user == NULL)
    rc = fail(why, why_len, NO_USER);
  else if (x == NULL || want == NULL || got == NULL)
    rc = fail(why, why_len, "out of memory");
  for (size_t o = 0; o < N_OFFSETS && rc == 0; o++)
    for (size_t s = 0; s <= N_SIZES && rc == 0; s++) {
      size_t n = s < N_SIZES ? sizes[s] : 0; /* and the empty array, which normalizes to itself */
      fill(x, n, offsets[o]);
      for (size_t m = 0; m < 2 && rc == 0; m++)
        rc = normalize_one(user, backend, methods[m], x, n, want, got, why, why_len);
    }
  free(x);
  free(want);
  free(got);
  return rc;
}

static int summary_equal(const struct example_host_summary *a, const struct example_host_summary *b) {
  return a->count == b->count && close_enough(a->min, b->min) && close_enough(a->max, b->max) &&
         close_enough(a->mean, b->mean) && close_enough(a->std, b->std);
}

static int summarize_one(example_host *eh, const char *backend, const float *x, size_t n, char *why, size_t why_len) {
  backend_result *info = NULL;
  struct example_host_call call = {.backend = "cpu", .info = &info};
  struct example_host_summary want, got;
  char what[64];
  int rc;
  snprintf(what, sizeof what, "summarize of %zu values", n);
  if ((rc = example_host_summarize(eh, x, n, &call, &want)) != 0)
    rc = call_failed(why, why_len, what, "cpu", rc, info);
  backend_result_free(info);
  info = NULL;
  if (rc != 0)
    return rc;
  call.backend = backend;
  if ((rc = example_host_summarize(eh, x, n, &call, &got)) != 0)
    rc = call_failed(why, why_len, what, backend, rc, info);
  else if (!summary_equal(&got, &want))
    rc = fail(why, why_len, "%s: %s gave min %g max %g mean %.9g std %.9g count %llu; cpu %g %g %.9g %.9g %llu", what,
              backend, got.min, got.max, got.mean, got.std, (unsigned long long)got.count, want.min, want.max,
              want.mean, want.std, (unsigned long long)want.count);
  backend_result_free(info);
  return rc;
}

static int check_summarize(backend_host *h, const char *backend, void *user, char *why, size_t why_len) {
  float *x;
  int rc;
  (void)h;
  if (user == NULL)
    return fail(why, why_len, NO_USER);
  if ((x = malloc(MAX_SIZE * sizeof *x)) == NULL)
    return fail(why, why_len, "out of memory");
  rc = summarize_one(user, backend, NULL, 0, why, why_len) /* the empty array */;
  for (size_t o = 0; o < N_OFFSETS && rc == 0; o++)
    for (size_t s = 0; s < N_SIZES && rc == 0; s++) {
      fill(x, sizes[s], offsets[o]);
      rc = summarize_one(user, backend, x, sizes[s], why, why_len);
    }
  free(x);
  return rc;
}

const struct backend_feedback_check example_host_feedback_checks[EXAMPLE_HOST_N_CHECKS + 1] = {
    {"compute_score", check_compute_score},
    {"normalize", check_normalize},
    {"summarize", check_summarize},
    {NULL, NULL},
};

int example_host_feedback(example_host *eh, const char *backend,
                          struct backend_feedback_result results[EXAMPLE_HOST_N_CHECKS], FILE *report) {
  return backend_host_feedback(example_host_backend_host(eh), backend, example_host_feedback_checks, eh, results,
                               report);
}
