/*
 * Broken fixture: the adapter name "-bad name" starts with a hyphen and holds a space.
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "-bad name",
    .aliases = NULL,
    .functions = functions,
};
