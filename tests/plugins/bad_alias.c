/*
 * Broken fixture: the second alias, "bad alias!", holds a space and a "!".
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_bad_alias",
    .aliases = BACKEND_LIST("ok", "bad alias!"),
    .functions = functions,
};
