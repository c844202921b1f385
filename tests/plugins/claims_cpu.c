/*
 * Broken fixture: an alias "cpu", which is reserved for the host's own implementation.
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_claims_cpu",
    .aliases = BACKEND_LIST("cpu"),
    .functions = functions,
};
