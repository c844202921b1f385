/* The CPU implementations (cpu.h): check the arguments, compute (stats.c), pack the result. */
#include "cpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/ndarray.h>

#include "cpu_args.h"
#include "stats.h"

enum score_method { SCORE_FAST, SCORE_EXACT, SCORE_ROBUST };
static const char *const score_methods[] = {"fast", "exact", "robust", NULL};

enum normalize_method { NORMALIZE_ZSCORE, NORMALIZE_MINMAX };
static const char *const normalize_methods[] = {"zscore", "minmax", NULL};

static int packed(int pack_err, char *why, size_t why_len) {
  if (pack_err == 0)
    return 0;
  snprintf(why, why_len, "cannot pack the result");
  return -ENOMEM;
}

int eh_cpu_compute_score(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len) {
  struct eh_floats x;
  int method, n_jobs, copy, err;
  double score = 0;
  (void)user;
  if ((method = eh_arg_choice(a, "method", score_methods, why, why_len)) < 0)
    return method;
  /* copy is checked but changes nothing: no method writes to data (robust sorts its own copy). */
  if ((err = eh_arg_n_jobs(a, &n_jobs, why, why_len)) < 0 || (err = eh_arg_bool(a, "copy", &copy, why, why_len)) < 0 ||
      (err = eh_arg_floats(a, "data", &x, why, why_len)) < 0)
    return err;
  if (x.n == 0) {
    snprintf(why, why_len, "data is empty: the score of no values is undefined");
    err = -EINVAL;
  } else if (method == SCORE_FAST) {
    score = eh_score_fast(x.data, x.n, n_jobs);
  } else if (method == SCORE_EXACT) {
    score = eh_score_exact(x.data, x.n, n_jobs);
  } else if ((err = eh_score_robust(x.data, x.n, &score)) < 0) {
    snprintf(why, why_len, "out of memory");
  }
  free(x.owned);
  return err < 0 ? err : packed(msgpack_pack_double(out, score), why, why_len);
}

int eh_cpu_normalize(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len) {
  struct eh_floats x;
  float *y;
  uint64_t shape[1];
  int method, err;
  (void)user;
  if ((method = eh_arg_choice(a, "method", normalize_methods, why, why_len)) < 0)
    return method;
  if ((err = eh_arg_floats(a, "data", &x, why, why_len)) < 0)
    return err;
  if ((y = malloc(x.n > 0 ? x.n * sizeof *y : 1)) == NULL) {
    free(x.owned);
    snprintf(why, why_len, "out of memory");
    return -ENOMEM;
  }
  if (method == NORMALIZE_ZSCORE)
    eh_normalize_zscore(x.data, x.n, y);
  else
    eh_normalize_minmax(x.data, x.n, y);
  shape[0] = x.n;
  err = packed(backend_ndarray_pack(out, BACKEND_DTYPE_FLOAT32, 1, shape, y), why, why_len);
  free(y);
  free(x.owned);
  return err;
}

static int pack_key(msgpack_packer *pk, const char *key) {
  size_t n = strlen(key);
  return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, key, n);
}

int eh_cpu_summarize(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len) {
  struct eh_floats x;
  struct example_host_summary s;
  int err;
  (void)user;
  if ((err = eh_arg_floats(a, "data", &x, why, why_len)) < 0)
    return err;
  eh_summarize(x.data, x.n, &s);
  free(x.owned);
  err = msgpack_pack_map(out, 5) || pack_key(out, "min") || msgpack_pack_double(out, s.min) ||
        pack_key(out, "max") || msgpack_pack_double(out, s.max) || pack_key(out, "mean") ||
        msgpack_pack_double(out, s.mean) || pack_key(out, "std") || msgpack_pack_double(out, s.std) ||
        pack_key(out, "count") || msgpack_pack_uint64(out, s.count);
  return packed(err, why, why_len);
}
