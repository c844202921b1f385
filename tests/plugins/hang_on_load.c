/*
 * Broken fixture: a constructor that never returns, so loading the shared object hangs.
 * The descriptor behind it is valid but never reached; the loader must time the load out.
 */
#include <backend/plugin.h>
#include <unistd.h>

__attribute__((constructor)) static void hang_on_load(void) {
  for (;;)
    pause();
}

static int compute_score(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}

static const struct backend_param params[] = {{"data", BACKEND_PARAM_POSITIONAL, NULL}, {NULL, 0, NULL}};
static const struct backend_function functions[] = {
    {.name = "compute_score", .params = params, .doc = "Compute a score.\n", .impl = compute_score},
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_hang",
    .aliases = NULL,
    .functions = functions,
};
