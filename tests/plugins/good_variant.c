/*
 * Fixture: a static variant plugin with a module entry point (VARIANT_PLUGIN_SYMBOL).
 * Namespace "fixture": this machine supports "fixture :: level :: v2" (preferred) and
 * "v1"; v1 to v4 are valid; a variant's build setup adds one CFLAGS value per level.
 */
#include <backend/plugin.h>
#include <stdio.h>
#include <string.h>

static const char *const supported_levels[] = {"v2", "v1"}; /* most preferred first */
static const char *const valid_levels[] = {"v1", "v2", "v3", "v4"};

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  int err;
  (void)self;
  (void)known; /* static: always NULL/0 */
  (void)n_known;
  if ((err = variant_configs_add_feature(out, "level")) < 0)
    return err;
  for (size_t i = 0; i < sizeof supported_levels / sizeof *supported_levels; i++)
    if ((err = variant_configs_add_value(out, supported_levels[i])) < 0)
      return err;
  return 0;
}

static int is_valid_level(const char *value) {
  for (size_t i = 0; i < sizeof valid_levels / sizeof *valid_levels; i++)
    if (strcmp(value, valid_levels[i]) == 0)
      return 1;
  return 0;
}

static int validate_property(void *self, const struct variant_property *property) {
  (void)self;
  return strcmp(property->feature, "level") == 0 && is_valid_level(property->value);
}

static int get_build_setup(void *self, const struct variant_property *properties, size_t n,
                           variant_build_setup *out) {
  char flag[128];
  int err;
  (void)self;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(properties[i].feature, "level") != 0)
      continue;
    snprintf(flag, sizeof flag, "-DFIXTURE_LEVEL=%s", properties[i].value);
    if ((err = variant_build_setup_add(out, "CFLAGS", flag)) < 0)
      return err;
  }
  return 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "fixture",
    .dynamic = 0,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
    .get_build_setup = get_build_setup,
};
