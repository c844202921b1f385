/*
 * Broken fixture: a valid adapter exported under the wrong name ("backend_adaptor", a
 * typo), so a module entry point finds no BACKEND_ADAPTER_SYMBOL ("backend_adapter") and
 * no VARIANT_PLUGIN_SYMBOL either.
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

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adaptor = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_missing",
    .functions = functions,
};
