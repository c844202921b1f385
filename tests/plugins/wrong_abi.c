/*
 * Broken fixture: an adapter built for ABI version 99, which this daemon does not speak.
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = 99,
    .name = "fixture_wrong_abi",
    .aliases = NULL,
    .functions = functions,
};
