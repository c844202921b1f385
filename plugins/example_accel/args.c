/* Argument checks (args.h). */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/ndarray.h>

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

int ea_arg_floats(backend_call *call, struct ea_floats *out) {
  const msgpack_object *o = backend_call_arg(call, "data");
  struct backend_ndarray a;
  memset(out, 0, sizeof *out);
  if (o == NULL)
    return backend_call_fail(call, "missing argument 'data'");
  if (backend_ndarray_parse(o, &a) < 0)
    return backend_call_fail(call, "data must be a float32 array, got %s", type_name(o));
  if (a.dtype != BACKEND_DTYPE_FLOAT32 || a.ndim != 1)
    return backend_call_fail(call, "data must be a one-dimensional float32 array, got %u-dimensional %s", a.ndim,
                             backend_dtype_name(a.dtype));
  out->n = (size_t)a.count;
  if (a.aligned || a.count == 0) {
    out->data = a.data;
    return 0;
  }
  /* The payload may sit anywhere in the request: copy rather than cast. */
  if ((out->owned = malloc(a.nbytes)) == NULL)
    return backend_call_fail(call, "out of memory copying %zu values", out->n);
  memcpy(out->owned, a.data, a.nbytes);
  out->data = out->owned;
  return 0;
}

int ea_arg_choice(backend_call *call, const char *name, const char *const *choices) {
  const msgpack_object *o = backend_call_arg(call, name);
  char list[256] = "";
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return backend_call_fail(call, "%s must be a string, got %s", name, o != NULL ? type_name(o) : "nothing");
  for (int i = 0; choices[i] != NULL; i++)
    if (strlen(choices[i]) == o->via.str.size && memcmp(choices[i], o->via.str.ptr, o->via.str.size) == 0)
      return i;
  for (int i = 0; choices[i] != NULL; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", i == 0 ? "" : ", ", choices[i]);
  return backend_call_fail(call, "%s must be one of %s, got '%.*s'", name, list,
                           (int)(o->via.str.size > 64 ? 64 : o->via.str.size), o->via.str.ptr);
}

int ea_arg_batch_size(backend_call *call, size_t *out) {
  const msgpack_object *o = backend_call_arg(call, "batch_size");
  *out = 0;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > 0) {
    *out = o->via.u64 > SIZE_MAX ? SIZE_MAX : (size_t)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return backend_call_fail(call, "batch_size must be a positive integer or None, got %lld",
                             o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (long long)o->via.i64 : 0LL);
  return backend_call_fail(call, "batch_size must be a positive integer or None, got %s", type_name(o));
}

int ea_arg_bool(backend_call *call, const char *name, int *out) {
  const msgpack_object *o = backend_call_arg(call, name);
  *out = 0;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_BOOLEAN)
    return backend_call_fail(call, "%s must be a boolean, got %s", name, type_name(o));
  *out = o->via.boolean;
  return 0;
}
