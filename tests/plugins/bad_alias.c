/*
 * Broken fixture: the second alias, "bad alias!", holds a space and a "!".
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
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_bad_alias",
    .aliases = BACKEND_LIST("ok", "bad alias!"),
    .functions = functions,
};
