/* Argument checks of the CPU implementations (cpu_args.h). */
#include "cpu_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/ndarray.h>

/* Biggest n_jobs taken: more threads than this only cost memory. */
#define MAX_N_JOBS 1024

static const char *type_name(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: return "None";
  case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: return "a float";
  case MSGPACK_OBJECT_STR: return "a string";
  case MSGPACK_OBJECT_ARRAY: return "a list";
  case MSGPACK_OBJECT_MAP: return "a map";
  case MSGPACK_OBJECT_EXT: return "an extension value";
  default: return "a binary value";
  }
}

static int fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_len, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

int eh_arg_floats(const backend_args *a, const char *name, struct eh_floats *out, char *why, size_t why_len) {
  const msgpack_object *o = backend_args_get(a, name);
  struct backend_ndarray arr;
  memset(out, 0, sizeof *out);
  if (o == NULL)
    return fail(why, why_len, "missing argument '%s'", name);
  if (backend_ndarray_parse(o, &arr) < 0)
    return fail(why, why_len, "%s must be a float32 array, got %s", name, type_name(o));
  if (arr.dtype != BACKEND_DTYPE_FLOAT32 || arr.ndim != 1)
    return fail(why, why_len, "%s must be a one-dimensional float32 array, got %u-dimensional %s", name, arr.ndim,
                backend_dtype_name(arr.dtype));
  out->n = (size_t)arr.count;
  if (arr.aligned || arr.count == 0) {
    out->data = arr.data;
    return 0;
  }
  /* The payload may sit at any address in the message: copy rather than cast. */
  if ((out->owned = malloc(arr.nbytes)) == NULL) {
    snprintf(why, why_len, "out of memory copying %s", name);
    return -ENOMEM;
  }
  memcpy(out->owned, arr.data, arr.nbytes);
  out->data = out->owned;
  return 0;
}

int eh_arg_choice(const backend_args *a, const char *name, const char *const *choices, char *why, size_t why_len) {
  const msgpack_object *o = backend_args_get(a, name);
  char list[256] = "";
  if (o != NULL && o->type == MSGPACK_OBJECT_STR)
    for (int i = 0; choices[i] != NULL; i++)
      if (strlen(choices[i]) == o->via.str.size && memcmp(choices[i], o->via.str.ptr, o->via.str.size) == 0)
        return i;
  for (int i = 0; choices[i] != NULL; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", i == 0 ? "" : ", ", choices[i]);
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return fail(why, why_len, "%s must be a string, one of %s", name, list);
  return fail(why, why_len, "%s must be one of %s, got '%.*s'", name, list,
              (int)(o->via.str.size > 64 ? 64 : o->via.str.size), o->via.str.ptr);
}

int eh_arg_n_jobs(const backend_args *a, int *out, char *why, size_t why_len) {
  const msgpack_object *o = backend_args_get(a, "n_jobs");
  *out = 0;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 >= 1) {
    *out = o->via.u64 > MAX_N_JOBS ? MAX_N_JOBS : (int)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 == -1) {
    *out = -1;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    return fail(why, why_len, "n_jobs must be None, -1 or a positive integer, got %lld",
                o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long long)o->via.u64 : (long long)o->via.i64);
  }
  return fail(why, why_len, "n_jobs must be None, -1 or a positive integer, got %s", type_name(o));
}

int eh_arg_bool(const backend_args *a, const char *name, int *out, char *why, size_t why_len) {
  const msgpack_object *o = backend_args_get(a, name);
  *out = 0;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_BOOLEAN)
    return fail(why, why_len, "%s must be a boolean, got %s", name, type_name(o));
  *out = o->via.boolean;
  return 0;
}
