/*
 * Fixture helper: a backend function's result that shows exactly what the daemon routed to
 * it — a map {param: value} over the function's own parameters, nil where
 * backend_call_arg() has nothing.
 */
#ifndef FIXTURE_ECHO_ARGS_H
#define FIXTURE_ECHO_ARGS_H

#include <backend/plugin.h>

static inline int echo_args(backend_call *call, const struct backend_param *params) {
  msgpack_packer *pk = backend_call_result(call);
  uint32_t n = 0;
  while (params[n].name != NULL)
    n++;
  msgpack_pack_map(pk, n);
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object *v = backend_call_arg(call, params[i].name);
    msgpack_pack_str_with_body(pk, params[i].name, strlen(params[i].name));
    if (v != NULL)
      msgpack_pack_object(pk, *v);
    else
      msgpack_pack_nil(pk);
  }
  return 0;
}

#endif
