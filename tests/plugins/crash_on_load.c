/*
 * Broken fixture: a constructor that crashes (SIGSEGV) as soon as the shared object is loaded.
 * The descriptor behind it is valid but never reached; only a scanner process may die.
 */
#include <backend/plugin.h>
#include <signal.h>

__attribute__((constructor)) static void crash_on_load(void) { raise(SIGSEGV); }

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_crash",
    .aliases = NULL,
    .functions = functions,
};
