/*
 * Fixture: the implementation library of lazy_adapter.c, loaded on a lazy function's first
 * call. It exports the functions under the symbols the adapter names.
 */
#include <backend/plugin.h>

BACKEND_PLUGIN_EXPORT int compute_score(void *self, backend_call *call);
BACKEND_PLUGIN_EXPORT int fixture_lazy_normalize(void *self, backend_call *call);

/* Arguments and results go through the call SDK, which arrives with backend dispatch. */
int compute_score(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}

int fixture_lazy_normalize(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}
