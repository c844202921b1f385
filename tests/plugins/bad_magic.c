/*
 * Broken fixture: the descriptor symbol "backend_adapter" is present, but its magic number is
 * not BACKEND_ADAPTER_MAGIC, so the loader must refuse it rather than read it.
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = 0x0badf00du,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_bad_magic",
    .aliases = NULL,
    .functions = functions,
};
