/*
 * Broken fixture: a constructor that never returns, so loading the shared object hangs.
 * The descriptor behind it is valid but never reached; the loader must time the load out.
 */
#include <backend/plugin.h>
#include <unistd.h>

__attribute__((constructor)) static void hang_on_load(void) {
  for (;;)
    pause();
}

#include "one_function.h"

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_hang",
    .aliases = NULL,
    .functions = functions,
};
