/*
 * Broken fixture: the descriptor symbol "backend_adapter" is present, but its magic number is
 * not BACKEND_ADAPTER_MAGIC, so the loader must refuse it rather than read it.
 */
#include <backend/plugin.h>

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
    .magic = 0x0badf00du,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_bad_magic",
    .aliases = NULL,
    .functions = functions,
};
