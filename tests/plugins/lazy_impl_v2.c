/*
 * Fixture: a new version of lazy_impl.c, for tests that replace an adapter's lazy library on
 * disk. Same symbols; compute_score says which version ran.
 */
#include <backend/plugin.h>

BACKEND_PLUGIN_EXPORT int compute_score(void *self, backend_call *call);
BACKEND_PLUGIN_EXPORT int fixture_lazy_normalize(void *self, backend_call *call);

int compute_score(void *self, backend_call *call) {
  (void)self;
  msgpack_pack_str_with_body(backend_call_result(call), "lazy_impl_v2.compute_score", 26);
  return 0;
}

int fixture_lazy_normalize(void *self, backend_call *call) {
  (void)self;
  return backend_call_fail(call, "lazy_impl_v2 does not normalize");
}
