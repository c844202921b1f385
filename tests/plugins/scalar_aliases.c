/*
 * Broken fixture: aliases given as a scalar string, as `aliases = "cuda"` would be in Python.
 * The spec forbids it ("cuda" would read as "c", "u", "d", "a"); the loader must notice that
 * the pointer does not lead to a list (no BACKEND_LIST_MAGIC).
 */
#include <backend/plugin.h>

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_scalar",
    .aliases = (const struct backend_str_list *)"cuda",
    .functions = functions,
};
