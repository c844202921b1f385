/*
 * The shipped example pair of backend dispatch (plugins/example_host, plugins/example_accel)
 * through a real daemon serving the built plugin directory: example_accel's results against
 * the host's own, every fallback and warning path, a backend-only option reaching the
 * backend, the feedback checks, the command-line tools, and the generated declaration file.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <backend/ndarray.h>

#include "example_host.h"
#include "harness.h"

#define RTOL 1e-5

static void setup(void) {
  unsetenv("EXAMPLE_HOST_BACKEND"); /* the machine's choice must not change what a test sees */
}

TestSuite(example, .init = setup, .fini = harness_cleanup, .timeout = 150);

static struct hdaemon *start(void) {
  return harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", EXAMPLE_PLUGIN_DIR, "--log-level", "info",
                       (const char *)NULL);
}

static example_host *host(const struct hdaemon *d) {
  example_host *eh;
  char why[512];
  cr_assert_eq(example_host_new(d->socket, &eh, why, sizeof why), 0, "example_host_new: %s", why);
  return eh;
}

/* Deterministic values in [offset - 3, offset + 5). */
static float *values(size_t n, float offset) {
  float *x = malloc((n > 0 ? n : 1) * sizeof *x);
  uint32_t s = 777u;
  cr_assert_not_null(x);
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = offset + (float)(s >> 8) / 16777216.0f * 8.0f - 3.0f;
  }
  return x;
}

static bool close_enough(double got, double want) { return fabs(got - want) <= RTOL * fmax(fabs(want), 1e-30); }

static bool has_warning(const backend_result *r, const char *needle) {
  for (size_t i = 0; i < r->n_warnings; i++)
    if (strstr(r->warnings[i], needle) != NULL)
      return true;
  return false;
}

/* The result says example_accel ran, trusted, with no fallback. */
static void expect_accel_ran(const backend_result *r, const char *what) {
  cr_assert_not_null(r, "%s: no result metadata", what);
  cr_expect_str_eq(r->backend, "example_accel", "%s", what);
  cr_expect_eq(r->trusted, 1, "%s: example_accel is trusted by the host", what);
  cr_expect_null(r->fallback, "%s: unexpected fallback: %s", what, r->fallback ? r->fallback : "");
}

static double score_on(example_host *eh, const char *backend, const char *method, const float *x, size_t n,
                       backend_result **info) {
  struct example_host_score_opts o = {.method = method, .call = {.backend = backend, .info = info}};
  double score = NAN;
  int rc = example_host_compute_score(eh, x, n, &o, &score);
  cr_assert_eq(rc, 0, "compute_score(method=%s) of %zu values on %s: %d %s: %s", method, n, backend, rc,
               *info && (*info)->error_code ? (*info)->error_code : "", *info && (*info)->error_message ? (*info)->error_message : "");
  return score;
}

static void normalize_on(example_host *eh, const char *backend, const char *method, const float *x, size_t n, float *out,
                         backend_result **info) {
  struct example_host_normalize_opts o = {.method = method, .call = {.backend = backend, .info = info}};
  int rc = example_host_normalize(eh, x, n, &o, out);
  cr_assert_eq(rc, 0, "normalize(method=%s) of %zu values on %s: %d %s", method, n, backend, rc,
               *info && (*info)->error_message ? (*info)->error_message : "");
}

static void release(backend_result **r) {
  if (*r != NULL)
    backend_result_free(*r);
  *r = NULL;
}

/* ---- the distributions, without a daemon ---- */

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *text;
  long n;
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  rewind(f);
  text = calloc(1, (size_t)n + 1);
  cr_assert_not_null(text);
  cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return text;
}

Test(example, generated_declaration_file_lists_the_three_functions) {
  static const char *const want[] = {"compute_score", "normalize", "summarize"};
  const char *argv[] = {EXAMPLE_HOST_BIN, "--print-declaration", NULL};
  char path[4096], *text, *meta;
  json_error_t err;
  json_t *j, *functions, *accel;
  struct hrun r;
  snprintf(path, sizeof path, "%s/backendd_example_host-%s.dist-info/backend-host.json", EXAMPLE_PLUGIN_DIR,
           EXAMPLE_VERSION);
  text = slurp(path);
  j = json_loads(text, 0, &err);
  cr_assert_not_null(j, "%s: %s", path, err.text);
  cr_expect_str_eq(json_string_value(json_object_get(j, "name")), "example_host");
  functions = json_object_get(j, "functions");
  cr_assert_eq(json_array_size(functions), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *f = json_array_get(functions, i);
    cr_expect_str_eq(json_string_value(json_object_get(f, "name")), want[i]);
    cr_expect_not_null(strstr(json_string_value(json_object_get(f, "doc")), "Parameters\n----------\n"),
                       "%s has numpydoc", want[i]);
  }
  accel = json_object_get(json_object_get(j, "trusted"), "example_accel");
  cr_assert_not_null(accel, "the host trusts example_accel");
  cr_expect_str_eq(json_string_value(json_object_get(accel, "package")), "backendd-example-accel");
  cr_expect_not_null(json_object_get(json_object_get(j, "reserved"), "gpu"));
  json_decref(j);

  /* The file is what the host's declaration says today: generated, never edited. */
  harness_run(&r, HARNESS_TIMEOUT_MS, argv);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect_str_eq(r.out, text);
  harness_run_free(&r);
  free(text);

  snprintf(path, sizeof path, "%s/backendd_example_host-%s.dist-info/METADATA", EXAMPLE_PLUGIN_DIR, EXAMPLE_VERSION);
  meta = slurp(path);
  cr_expect_not_null(strstr(meta, "\nName: backendd-example-host\n"), "%s", meta);
  free(meta);
}

Test(example, accel_distribution_is_laid_out_as_installed) {
  char path[4096], *text;
  snprintf(path, sizeof path, "%s/backendd_example_accel-%s.dist-info/entry_points.txt", EXAMPLE_PLUGIN_DIR,
           EXAMPLE_VERSION);
  text = slurp(path);
  cr_expect_not_null(strstr(text, "[example_host.backends]\nexample_accel = example_accel._backends.example_host\n"),
                     "%s", text);
  free(text);
  snprintf(path, sizeof path, "%s/backendd_example_accel-%s.dist-info/METADATA", EXAMPLE_PLUGIN_DIR, EXAMPLE_VERSION);
  text = slurp(path);
  cr_expect_not_null(strstr(text, "\nName: backendd-example-accel\n"), "%s", text);
  free(text);
  snprintf(path, sizeof path, "%s/example_accel/_backends/example_host.so", EXAMPLE_PLUGIN_DIR);
  cr_expect_eq(access(path, R_OK), 0, "%s", path);
  snprintf(path, sizeof path, "%s/example_accel/_backends/example_host_impl.so", EXAMPLE_PLUGIN_DIR);
  cr_expect_eq(access(path, R_OK), 0, "%s", path);
}

/* ---- results ---- */

Test(example, compute_score_on_accel_equals_cpu) {
  static const size_t sizes[] = {1, 2, 7, 1000, 100003, 1000000};
  static const char *const methods[] = {"fast", "exact"};
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    float *x = values(sizes[s], s % 2 ? 100.0f : 0.0f);
    for (size_t m = 0; m < 2; m++) {
      double want = score_on(eh, "cpu", methods[m], x, sizes[s], &info), got;
      cr_expect_str_eq(info->backend, "cpu");
      release(&info);
      got = score_on(eh, s % 2 ? "exa" : "example-accel", methods[m], x, sizes[s], &info);
      expect_accel_ran(info, methods[m]);
      cr_expect(close_enough(got, want), "%s, %zu values: example_accel %.12g, cpu %.12g", methods[m], sizes[s], got,
                want);
      release(&info);
    }
    free(x);
  }
  example_host_free(eh);
  harness_finish(d);
}

Test(example, normalize_on_accel_equals_cpu) {
  static const size_t sizes[] = {0, 1, 2, 7, 1000, 100003, 1000000};
  static const char *const methods[] = {"zscore", "minmax"};
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    float *x = values(n, s % 2 ? 1000.0f : 0.0f), *want = values(n, 0), *got = values(n, 0);
    for (size_t m = 0; m < 2; m++) {
      normalize_on(eh, "cpu", methods[m], x, n, want, &info);
      release(&info);
      normalize_on(eh, "exa", methods[m], x, n, got, &info);
      expect_accel_ran(info, methods[m]);
      release(&info);
      for (size_t i = 0; i < n; i++)
        cr_assert(fabs((double)got[i] - want[i]) <= RTOL * fmax(1.0, fabs(want[i])),
                  "%s, %zu values: element %zu is %.9g on example_accel, %.9g on cpu", methods[m], n, i, got[i],
                  want[i]);
      if (n == 1)
        cr_expect_eq(got[0], 0.0f, "a single value normalizes to 0");
    }
    free(x);
    free(want);
    free(got);
  }
  example_host_free(eh);
  harness_finish(d);
}

Test(example, empty_score_fails_on_both) {
  static const char *const backends[] = {"cpu", "exa"};
  struct hdaemon *d = start();
  example_host *eh = host(d);
  for (size_t b = 0; b < 2; b++) {
    backend_result *info = NULL;
    struct example_host_score_opts o = {.call = {.backend = backends[b], .info = &info}};
    double score;
    float none[1] = {0};
    cr_expect_eq(example_host_compute_score(eh, none, 0, &o, &score), BACKEND_ECALL, "%s", backends[b]);
    cr_assert_not_null(info, "%s", backends[b]);
    cr_expect_not_null(info->error_message != NULL ? strstr(info->error_message, "data is empty") : NULL, "%s: %s",
                       backends[b], info->error_message ? info->error_message : "(no message)");
    /* Failed or not, the result names the backend by its canonical name, and its trust. */
    cr_expect_str_eq(info->backend, b == 1 ? "example_accel" : "cpu");
    cr_expect(info->trusted, "%s", backends[b]);
    if (b == 1)
      cr_expect_str_eq(info->error_code, "Backend.CallFailed");
    release(&info);
  }
  example_host_free(eh);
  harness_finish(d);
}

/* ---- fallback, warnings, backend-only options ---- */

Test(example, summarize_falls_back_because_accel_lacks_it) {
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  struct example_host_call call = {.backend = "exa", .info = &info};
  struct example_host_summary want, got;
  float *x = values(5000, 10.0f);
  cr_assert_eq(example_host_summarize(eh, x, 5000, NULL, &want), 0);
  cr_assert_eq(example_host_summarize(eh, x, 5000, &call, &got), 0);
  cr_assert_not_null(info);
  cr_expect_str_eq(info->backend, "example_accel");
  cr_assert_not_null(info->fallback, "the host's implementation ran: the result says why");
  cr_expect_not_null(strstr(info->fallback, "does not implement summarize"), "%s", info->fallback);
  cr_expect_eq(got.count, 5000);
  cr_expect_eq(got.min, want.min);
  cr_expect_eq(got.max, want.max);
  cr_expect_eq(got.mean, want.mean);
  cr_expect_eq(got.std, want.std);
  release(&info);
  free(x);
  example_host_free(eh);
  harness_finish(d);
}

Test(example, robust_falls_back_with_the_backends_reason) {
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  float *x = values(1001, 0.0f);
  double want = score_on(eh, "cpu", "robust", x, 1001, &info), got;
  release(&info);
  got = score_on(eh, "exa", "robust", x, 1001, &info);
  cr_expect_str_eq(info->backend, "example_accel");
  cr_assert_not_null(info->fallback);
  cr_expect_not_null(strstr(info->fallback, "method 'robust' is not implemented on example_accel"), "%s",
                     info->fallback);
  cr_expect_eq(got, want);
  release(&info);
  free(x);
  example_host_free(eh);
  harness_finish(d);
}

Test(example, host_only_n_jobs_is_dropped_with_a_warning) {
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  struct example_host_score_opts o = {.n_jobs = 4, .call = {.backend = "exa", .info = &info}};
  float *x = values(100000, 0.0f);
  double got, want;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  /* On the cpu it is the host's own: four threads, the same score. */
  o.call.backend = "cpu";
  cr_assert_eq(example_host_compute_score(eh, x, 100000, &o, &want), 0);
  cr_expect_eq(info->n_warnings, 0);
  release(&info);
  o.call.backend = "exa";
  cr_assert_eq(example_host_compute_score(eh, x, 100000, &o, &got), 0);
  expect_accel_ran(info, "n_jobs=4");
  cr_expect(has_warning(info, "n_jobs"), "a warning names n_jobs (%zu warnings)", info->n_warnings);
  cr_expect(close_enough(got, want));
  release(&info);

  /* copy is shared: forwarded, taken, no warning. */
  o = (struct example_host_score_opts){.copy = 1, .call = {.backend = "exa", .info = &info}};
  cr_assert_eq(example_host_compute_score(eh, x, 100000, &o, &got), 0);
  expect_accel_ran(info, "copy=True");
  cr_expect_eq(info->n_warnings, 0);
  release(&info);

  /* At the host's default (None) n_jobs is dropped silently. */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "n_jobs", 6);
  msgpack_pack_nil(&pk);
  o = (struct example_host_score_opts){.call = {.backend = "exa", .kwargs = sb.data, .kwargs_len = sb.size, .info = &info}};
  cr_assert_eq(example_host_compute_score(eh, x, 100000, &o, &got), 0);
  cr_expect_not(has_warning(info, "n_jobs"));
  release(&info);
  msgpack_sbuffer_destroy(&sb);
  free(x);
  example_host_free(eh);
  harness_finish(d);
}

/* compute_score with {"batch_size": v} as an extra keyword argument. */
static int score_with_batch_kwarg(example_host *eh, const char *backend, int64_t v, const float *x, size_t n,
                                  double *score, backend_result **info) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct example_host_score_opts o = {.call = {.backend = backend, .info = info}};
  int rc;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "batch_size", 10);
  msgpack_pack_int64(&pk, v);
  o.call.kwargs = sb.data;
  o.call.kwargs_len = sb.size;
  rc = example_host_compute_score(eh, x, n, &o, score);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

Test(example, backend_only_batch_size_reaches_the_backend) {
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *info = NULL;
  float *x = values(1000, 0.0f), *want = values(1000, 0), *got = values(1000, 0);
  double score, cpu;
  struct example_host_score_opts o = {.batch_size = -3, .call = {.backend = "exa", .info = &info}};
  struct example_host_normalize_opts no = {.method = "minmax", .batch_size = 7, .call = {.backend = "exa", .info = &info}};

  /* 0 as an extra keyword argument, -3 through the typed option: the backend refuses both. */
  cr_expect_eq(score_with_batch_kwarg(eh, "exa", 0, x, 1000, &score, &info), BACKEND_ECALL);
  cr_assert_not_null(info);
  cr_expect_str_eq(info->error_code, "Backend.CallFailed");
  cr_expect_not_null(strstr(info->error_message, "batch_size must be a positive integer"), "%s", info->error_message);
  release(&info);
  cr_expect_eq(example_host_compute_score(eh, x, 1000, &o, &score), BACKEND_ECALL);
  cr_assert_not_null(info);
  cr_expect_str_eq(info->error_code, "Backend.CallFailed");
  cr_expect_not_null(strstr(info->error_message, "got -3"), "%s", info->error_message);
  release(&info);

  /* Tiny batches (143 of them, over the backend's threads) give the same results. */
  cpu = score_on(eh, "cpu", "exact", x, 1000, &info);
  release(&info);
  cr_assert_eq(score_with_batch_kwarg(eh, "exa", 7, x, 1000, &score, &info), 0);
  expect_accel_ran(info, "batch_size=7");
  cr_expect(close_enough(score, cpu), "%.12g vs %.12g", score, cpu);
  release(&info);
  normalize_on(eh, "cpu", "minmax", x, 1000, want, &info);
  release(&info);
  cr_assert_eq(example_host_normalize(eh, x, 1000, &no, got), 0);
  release(&info);
  for (size_t i = 0; i < 1000; i++)
    cr_assert(fabs((double)got[i] - want[i]) <= RTOL, "element %zu: %.9g vs %.9g", i, got[i], want[i]);

  /* The host's own implementation does not take it: an unknown keyword argument there. */
  cr_expect_eq(score_with_batch_kwarg(eh, "cpu", 4096, x, 1000, &score, &info), BACKEND_ECALL);
  release(&info);
  free(x);
  free(want);
  free(got);
  example_host_free(eh);
  harness_finish(d);
}

/* A raw call with an array of another shape: the backend's own check answers. */
Test(example, accel_refuses_arrays_that_are_not_float32_vectors) {
  struct hdaemon *d = start();
  example_host *eh = host(d);
  backend_result *r = NULL;
  msgpack_sbuffer args;
  msgpack_packer pk;
  const float grid[6] = {1, 2, 3, 4, 5, 6};
  const uint64_t shape[2] = {2, 3};
  msgpack_sbuffer_init(&args);
  msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  cr_assert_eq(backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 2, shape, grid), 0);
  cr_expect_eq(backend_host_call(example_host_backend_host(eh), "compute_score", args.data, args.size, NULL, 0, "exa",
                                 HARNESS_TIMEOUT_MS, &r),
               BACKEND_ECALL);
  cr_assert_not_null(r);
  cr_expect_str_eq(r->error_code, "Backend.CallFailed");
  cr_expect_not_null(strstr(r->error_message, "one-dimensional float32"), "%s", r->error_message);
  release(&r);
  msgpack_sbuffer_destroy(&args);
  example_host_free(eh);
  harness_finish(d);
}

/* ---- feedback checks and command-line tools ---- */

Test(example, feedback_checks_pass_on_exa) {
  static const char *const functions[] = {"compute_score", "normalize", "summarize"};
  static const enum backend_feedback_status want[] = {BACKEND_FEEDBACK_PASSED, BACKEND_FEEDBACK_PASSED,
                                                      BACKEND_FEEDBACK_SKIPPED};
  struct hdaemon *d = start();
  example_host *eh = host(d);
  struct backend_feedback_result results[EXAMPLE_HOST_N_CHECKS];
  const char *argv[] = {EXAMPLE_HOST_FEEDBACK_BIN, "--socket", d->socket, "exa", NULL};
  struct hrun r;
  memset(results, 0, sizeof results);
  cr_expect_eq(example_host_feedback(eh, "exa", results, NULL), 0);
  for (size_t i = 0; i < EXAMPLE_HOST_N_CHECKS; i++) {
    cr_expect_str_eq(results[i].function, functions[i]);
    cr_expect_eq(results[i].status, want[i], "%s: status %d: %s", functions[i], (int)results[i].status,
                 results[i].reason);
  }
  example_host_free(eh);

  harness_run(&r, 120000, argv);
  cr_expect_eq(r.status, 0, "example-host-feedback exa: %s%s", r.out, r.err);
  cr_expect_not_null(strstr(r.out, "compute_score: PASSED"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "normalize: PASSED"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "summarize: SKIPPED"), "%s", r.out);
  harness_run_free(&r);
  harness_finish(d);
}

Test(example, cli_says_where_the_call_ran) {
  struct hdaemon *d = start();
  const char *exact[] = {EXAMPLE_HOST_BIN, "--socket", d->socket, "--backend", "exa", "compute_score", "1", "2", "3",
                         "--method", "exact", NULL};
  const char *robust[] = {EXAMPLE_HOST_BIN, "--socket", d->socket, "--backend", "exa", "compute_score", "--method",
                          "robust", "--", "-4", "1", "2", NULL};
  const char *reserved[] = {EXAMPLE_HOST_BIN, "--socket", d->socket, "--backend", "gpu", "summarize", "1", NULL};
  struct hrun r;
  harness_run(&r, HARNESS_TIMEOUT_MS, exact);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "4.66666667\n"), "%s", r.out); /* (1 + 4 + 9) / 3 */
  cr_expect_not_null(strstr(r.out, "backend: example_accel (trusted)\n"), "%s", r.out);
  harness_run_free(&r);
  harness_run(&r, HARNESS_TIMEOUT_MS, robust);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect_eq(strncmp(r.out, "2\n", 2), 0, "median of |-4|, 1, 2: %s", r.out);
  cr_expect_not_null(strstr(r.out, "fallback: method 'robust' is not implemented on example_accel"), "%s", r.out);
  harness_run_free(&r);
  harness_run(&r, HARNESS_TIMEOUT_MS, reserved);
  cr_expect_eq(r.status, 1);
  cr_expect_not_null(strstr(r.err, "too generic"), "the host's reason for reserving gpu: %s", r.err);
  harness_run_free(&r);
  harness_finish(d);
}
