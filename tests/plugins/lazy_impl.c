/*
 * Fixture: the implementation library of lazy_adapter.c, loaded on a lazy function's first
 * call. It exports the functions under the symbols the adapter names.
 */
#include <backend/plugin.h>

BACKEND_PLUGIN_EXPORT int compute_score(void *self, backend_call *call);
BACKEND_PLUGIN_EXPORT int fixture_lazy_normalize(void *self, backend_call *call);

/* Says where it ran, so a test sees the lazily loaded code answer. */
int compute_score(void *self, backend_call *call) {
  (void)self;
  msgpack_pack_str_with_body(backend_call_result(call), "lazy_impl.compute_score", 23);
  return 0;
}

/* Hands data back unchanged. */
int fixture_lazy_normalize(void *self, backend_call *call) {
  const msgpack_object *data = backend_call_arg(call, "data");
  (void)self;
  if (data == NULL)
    return backend_call_fail(call, "no data");
  msgpack_pack_object(backend_call_result(call), *data);
  return 0;
}
