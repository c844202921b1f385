/*
 * Running a host function's own implementation in this process: binding the call's
 * arguments to its signature (the rules the daemon applies, proto/signature.c), the
 * backend_args view the implementation reads them through, and its packed result.
 */
#include "host-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "message.h"

struct backend_args {
  const struct host_fn *fn;
  const struct sig_binding *b;
  bool extras; /* the function takes **kwargs: keywords that name no parameter are its own */
};

static bool by_name(uint32_t kind) {
  return kind == BACKEND_PARAM_POSITIONAL || kind == BACKEND_PARAM_KEYWORD_ONLY;
}

BACKEND_EXPORT const msgpack_object *backend_args_get(const backend_args *a, const char *name) {
  size_t len;
  int i;

  if (!a || !name)
    return NULL;
  len = strlen(name);
  i = sig_find(&a->fn->sig, name, len);
  if (i >= 0 && by_name(a->fn->params[i].kind))
    return a->b->values[i] ? a->b->values[i] : a->fn->params[i].def;
  for (size_t j = 0; a->extras && j < a->b->n_extra; j++)
    if (proto_str_eq(&a->b->extra[j]->key, name))
      return &a->b->extra[j]->val;
  return NULL;
}

/* Binds the arguments; BACKEND_ECALL with Backend.InvalidArguments when they do not fit. */
static int bind_args(const backend_host *h, const struct host_fn *fn, const msgpack_object *args,
                const msgpack_object *kwargs, bool strict, struct sig_binding *b, struct host_result *r) {
  char why[512];

  /* Unknown keywords first, then missing ones, in the order Python reports them. */
  if (sig_bind(&fn->sig, args, kwargs, false, b, why, sizeof why) != 0)
    return host_result_fail(r, PROTO_CODE_BACKEND_INVALID_ARGUMENTS, why);
  if (strict && !fn->var_keyword && b->n_extra > 0) {
    const msgpack_object_str *k = &b->extra[0]->key.via.str;
    return host_result_failf(r, PROTO_CODE_BACKEND_INVALID_ARGUMENTS,
                             "%s() got an unexpected keyword argument '%.*s' (the cpu backend takes only %s's "
                             "parameters)",
                             fn->name, (int)(k->size > 128 ? 128 : k->size), k->ptr, h->name);
  }
  if (sig_bind(&fn->sig, args, kwargs, true, b, why, sizeof why) != 0)
    return host_result_fail(r, PROTO_CODE_BACKEND_INVALID_ARGUMENTS, why);
  return 0;
}

int host_run_impl(const backend_host *h, const struct host_fn *fn, const msgpack_object *args,
                  const msgpack_object *kwargs, bool strict, struct host_result *r) {
  struct sig_binding *b = malloc(sizeof *b); /* about 1 KiB: kept off the caller's stack */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_args a;
  char why[1024] = "";
  size_t size;
  int err;

  if (!b)
    return -ENOMEM;
  if ((err = bind_args(h, fn, args, kwargs, strict, b, r)) != 0) {
    free(b);
    return err;
  }
  a = (backend_args){.fn = fn, .b = b, .extras = fn->var_keyword};
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  err = fn->impl(h->user, &a, &pk, why, sizeof why);
  free(b);
  if (err != 0) {
    msgpack_sbuffer_destroy(&sb);
    if (!why[0])
      snprintf(why, sizeof why, "%s() failed (error %d)", fn->name, err);
    return host_result_fail(r, PROTO_CODE_HOST_CALL_FAILED, why);
  }
  if (sb.size == 0) {
    msgpack_sbuffer_destroy(&sb);
    return host_result_failf(r, PROTO_CODE_HOST_CALL_FAILED, "%s(): the host implementation packed no result",
                             fn->name);
  }
  size = sb.size; /* before msgpack_sbuffer_release clears it */
  err = host_result_take_value(r, msgpack_sbuffer_release(&sb), size);
  if (err == BACKEND_EINVAL)
    return host_result_failf(r, PROTO_CODE_HOST_CALL_FAILED,
                             "%s(): the host implementation did not pack exactly one value", fn->name);
  return err;
}
