/*
 * libexample-host: a small host library whose functions backends may replace
 * (doc/backends.md). Three functions over float32 vectors, each with a CPU implementation
 * here and dispatched through libbackend-client:
 *
 *   compute_score(data, *, method="fast", n_jobs=None, copy=False) -> float
 *   normalize(data, *, method="zscore")                            -> float32 array
 *   summarize(data)                                                -> {min, max, mean, std, count}
 *
 *   example_host *eh;
 *   backend_result *info = NULL;
 *   double score;
 *   struct example_host_score_opts o = {.method = "exact", .call = {.backend = "exa", .info = &info}};
 *   if (example_host_new(NULL, &eh, why, sizeof why) == 0 &&
 *       example_host_compute_score(eh, data, n, &o, &score) == 0)
 *     printf("%g (ran on %s%s%s)\n", score, info->backend, info->fallback ? ", fell back: " : "",
 *            info->fallback ? info->fallback : "");
 *   backend_result_free(info);
 *   example_host_free(eh);
 *
 * Where a call runs: opts' call.backend, else the handle's current backend
 * (example_host_set_backend; initially $EXAMPLE_HOST_BACKEND), else "cpu", this process.
 *
 * Errors: 0, or a negative value: BACKEND_ECALL when the call was refused or failed (the
 * reason is in info's error_code and error_message: pass call.info to read it), -EINVAL for
 * bad arguments in C (a NULL pointer, kwargs that are not one packed map or repeat an
 * option), -EBADMSG when a backend answered a value of the wrong shape, or the errors of
 * backend_host_call (-ENOENT: no daemon, ...).
 *
 * Thread-safety: as backend_host (<backend/host.h>): a handle may be shared; calls that
 * reach the daemon are serialised per handle.
 */
#ifndef EXAMPLE_HOST_H
#define EXAMPLE_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <backend/host.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXAMPLE_HOST_API __attribute__((visibility("default")))

/* What timeout_ms 0 means: long enough for large arrays, short enough not to hang forever. */
#define EXAMPLE_HOST_DEFAULT_TIMEOUT_MS 60000

typedef struct example_host example_host;

/*
 * A new handle. socket_path: the daemon's socket (NULL: the default, contacted only when a
 * non-cpu backend is first needed). Returns 0, or a negative value with the reason in why.
 */
EXAMPLE_HOST_API int example_host_new(const char *socket_path, example_host **out, char *why, size_t why_len);
EXAMPLE_HOST_API void example_host_free(example_host *eh);

/* The dispatcher underneath: for scopes, backend_host_list, backend_host_describe, feedback. */
EXAMPLE_HOST_API backend_host *example_host_backend_host(example_host *eh);

/* The current backend (NULL or "cpu": this library's implementation). As backend_host_set_backend. */
EXAMPLE_HOST_API int example_host_set_backend(example_host *eh, const char *name);

/* How one call is dispatched; every member may be 0/NULL. */
struct example_host_call {
  const char *backend; /* this call's backend (a name or alias); NULL: the current one */
  /*
   * More keyword arguments, typically a backend's own options: one packed MessagePack map
   * {name: value}. A name the typed options below also set is refused (-EINVAL).
   */
  const void *kwargs;
  size_t kwargs_len;
  int timeout_ms;        /* 0: EXAMPLE_HOST_DEFAULT_TIMEOUT_MS; negative: no limit */
  backend_result **info; /* NULL, or receives the call's metadata whenever there is some (also on
                            BACKEND_ECALL): backend, trusted, fallback, warnings, error; the caller
                            frees it with backend_result_free */
};

/* compute_score's options. Zero-initialised: every parameter at its default, none passed. */
struct example_host_score_opts {
  const char *method; /* "fast" (mean of squares), "exact" (the same in float64) or "robust"
                         (median of |x|); NULL: not passed, the backend's default applies */
  int n_jobs;         /* host-only: threads for the CPU implementation; 0: not passed (None), -1: all CPUs */
  int copy;           /* nonzero: pass copy=True */
  int64_t batch_size; /* backend-only option "batch_size" (example_accel); 0: not passed */
  struct example_host_call call;
};

/* normalize's options. */
struct example_host_normalize_opts {
  const char *method; /* "zscore" or "minmax"; NULL: not passed */
  int64_t batch_size; /* backend-only option "batch_size"; 0: not passed */
  struct example_host_call call;
};

/* summarize's answer. With count 0 the other members are NaN. */
struct example_host_summary {
  double min, max, mean, std; /* std: population standard deviation (ddof 0) */
  uint64_t count;
};

/* compute_score(data[n]) -> *score. An empty array is an error. opts may be NULL. */
EXAMPLE_HOST_API int example_host_compute_score(example_host *eh, const float *data, size_t n,
                                                const struct example_host_score_opts *opts, double *score);

/* normalize(data[n]) -> out[n] (the caller's buffer of n floats). opts may be NULL. */
EXAMPLE_HOST_API int example_host_normalize(example_host *eh, const float *data, size_t n,
                                            const struct example_host_normalize_opts *opts, float *out);

/* summarize(data[n]) -> *out. call may be NULL. */
EXAMPLE_HOST_API int example_host_summarize(example_host *eh, const float *data, size_t n,
                                            const struct example_host_call *call, struct example_host_summary *out);

/*
 * Feedback checks (doc/backends.md, "Feedback tests"): each function on the backend compared
 * with this library's own result on the same inputs (several sizes and methods), within a
 * relative tolerance of 1e-5. Run them with backend_host_feedback(example_host_backend_host(eh),
 * backend, example_host_feedback_checks, eh, ...): `user` must be the example_host.
 */
#define EXAMPLE_HOST_N_CHECKS 3
EXAMPLE_HOST_API extern const struct backend_feedback_check example_host_feedback_checks[EXAMPLE_HOST_N_CHECKS + 1];

/* The same, in one call: results[EXAMPLE_HOST_N_CHECKS]; returns as backend_host_feedback. */
EXAMPLE_HOST_API int example_host_feedback(example_host *eh, const char *backend,
                                           struct backend_feedback_result results[EXAMPLE_HOST_N_CHECKS], FILE *report);

/* Writes the host declaration as backend-host.json (backend_host_write_declaration). */
EXAMPLE_HOST_API int example_host_write_declaration(example_host *eh, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
