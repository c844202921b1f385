/*
 * Broken fixture: a variant plugin whose namespace "Bad-NS" breaks [a-z0-9_]+ (upper case
 * and a hyphen). Everything else is valid.
 */
#include <backend/plugin.h>
#include <string.h>

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  int err;
  (void)self;
  (void)known;
  (void)n_known;
  if ((err = variant_configs_add_feature(out, "level")) < 0)
    return err;
  return variant_configs_add_value(out, "v1");
}

static int validate_property(void *self, const struct variant_property *property) {
  (void)self;
  return strcmp(property->feature, "level") == 0 && strcmp(property->value, "v1") == 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "Bad-NS",
    .dynamic = 0,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
};
