/* The typed API (example_host.h): options to keyword arguments, results to C values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/ndarray.h>

#include "decl.h"
#include "dispatch.h"
#include "example_host.h"

struct example_host {
  backend_host *h;
};

int example_host_new(const char *socket_path, example_host **out, char *why, size_t why_len) {
  example_host *eh = calloc(1, sizeof *eh);
  int err;
  *out = NULL;
  if (eh == NULL) {
    snprintf(why, why_len, "out of memory");
    return -ENOMEM;
  }
  if ((err = backend_host_new(&eh_decl, socket_path, &eh->h, why, why_len)) < 0) {
    free(eh);
    return err;
  }
  *out = eh;
  return 0;
}

void example_host_free(example_host *eh) {
  if (eh == NULL)
    return;
  backend_host_free(eh->h);
  free(eh);
}

backend_host *example_host_backend_host(example_host *eh) { return eh->h; }

int example_host_set_backend(example_host *eh, const char *name) { return backend_host_set_backend(eh->h, name); }

int example_host_write_declaration(example_host *eh, FILE *f) { return backend_host_write_declaration(eh->h, f); }

static int as_double(const msgpack_object *o, double *out) {
  switch (o->type) {
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
  case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
  default: return -EBADMSG;
  }
}

int example_host_compute_score(example_host *eh, const float *data, size_t n,
                               const struct example_host_score_opts *opts, double *score) {
  static const struct example_host_score_opts none = {0};
  struct eh_kwarg kw[4];
  size_t n_kw = 0;
  backend_result *r;
  int rc;
  if (opts == NULL)
    opts = &none;
  /* Only what the caller set is passed: an omitted shared parameter takes the backend's default. */
  if (opts->method != NULL)
    kw[n_kw++] = (struct eh_kwarg){"method", EH_KW_STR, opts->method, 0};
  if (opts->n_jobs != 0)
    kw[n_kw++] = (struct eh_kwarg){"n_jobs", EH_KW_INT, NULL, opts->n_jobs};
  if (opts->copy)
    kw[n_kw++] = (struct eh_kwarg){"copy", EH_KW_BOOL, NULL, 1};
  if (opts->batch_size != 0)
    kw[n_kw++] = (struct eh_kwarg){"batch_size", EH_KW_INT, NULL, opts->batch_size};
  if (score == NULL)
    return eh_finish(NULL, -EINVAL, &opts->call);
  rc = eh_dispatch(eh->h, "compute_score", data, n, kw, n_kw, &opts->call, &r);
  if (rc == 0)
    rc = as_double(&r->value, score);
  return eh_finish(r, rc, &opts->call);
}

int example_host_normalize(example_host *eh, const float *data, size_t n,
                           const struct example_host_normalize_opts *opts, float *out) {
  static const struct example_host_normalize_opts none = {0};
  struct eh_kwarg kw[2];
  size_t n_kw = 0;
  struct backend_ndarray a;
  backend_result *r;
  int rc;
  if (opts == NULL)
    opts = &none;
  if (opts->method != NULL)
    kw[n_kw++] = (struct eh_kwarg){"method", EH_KW_STR, opts->method, 0};
  if (opts->batch_size != 0)
    kw[n_kw++] = (struct eh_kwarg){"batch_size", EH_KW_INT, NULL, opts->batch_size};
  if (out == NULL && n > 0)
    return eh_finish(NULL, -EINVAL, &opts->call);
  rc = eh_dispatch(eh->h, "normalize", data, n, kw, n_kw, &opts->call, &r);
  if (rc == 0) {
    if (backend_ndarray_parse(&r->value, &a) < 0 || a.dtype != BACKEND_DTYPE_FLOAT32 || a.ndim != 1 || a.count != n)
      rc = -EBADMSG;
    else if (n > 0)
      memcpy(out, a.data, a.nbytes); /* a.data may be unaligned: copy, never cast */
  }
  return eh_finish(r, rc, &opts->call);
}

static const msgpack_object *member(const msgpack_object *map, const char *key) {
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

static int as_summary(const msgpack_object *o, struct example_host_summary *s) {
  const msgpack_object *count;
  const char *const keys[] = {"min", "max", "mean", "std"};
  double *const fields[] = {&s->min, &s->max, &s->mean, &s->std};
  if (o->type != MSGPACK_OBJECT_MAP || (count = member(o, "count")) == NULL ||
      count->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return -EBADMSG;
  s->count = count->via.u64;
  for (size_t i = 0; i < 4; i++) {
    const msgpack_object *v = member(o, keys[i]);
    if (v == NULL || as_double(v, fields[i]) < 0)
      return -EBADMSG;
  }
  return 0;
}

int example_host_summarize(example_host *eh, const float *data, size_t n, const struct example_host_call *call,
                           struct example_host_summary *out) {
  backend_result *r;
  int rc;
  if (out == NULL)
    return eh_finish(NULL, -EINVAL, call);
  rc = eh_dispatch(eh->h, "summarize", data, n, NULL, 0, call, &r);
  if (rc == 0)
    rc = as_summary(&r->value, out);
  return eh_finish(r, rc, call);
}
