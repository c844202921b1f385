/*
 * Broken fixture: a valid adapter exported under the wrong name ("backend_adaptor", a
 * typo), so a module entry point finds no BACKEND_ADAPTER_SYMBOL ("backend_adapter") and
 * no VARIANT_PLUGIN_SYMBOL either.
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adaptor = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_missing",
    .functions = functions,
};
