/* An out-of-tree variant provider plugin, built by tests/install-test.sh against the
 * installed backend-plugin.pc: the example of backendd-plugins(7), plus build variables. */
#include <string.h>

#include <backend/plugin.h>

static int configs(void *self, const struct variant_property *known, size_t n, variant_configs *out) {
  (void)self, (void)known, (void)n;
  if (variant_configs_add_feature(out, "version") < 0 || variant_configs_add_value(out, "v2") < 0 ||
      variant_configs_add_value(out, "v1") < 0)
    return -1;
  return 0;
}

static int validate(void *self, const struct variant_property *p) {
  (void)self;
  return strcmp(p->feature, "version") == 0 && (!strcmp(p->value, "v1") || !strcmp(p->value, "v2"));
}

static int build_setup(void *self, const struct variant_property *p, size_t n, variant_build_setup *out) {
  (void)self;
  for (size_t i = 0; i < n; i++)
    if (variant_build_setup_add(out, "EXAMPLE_VERSION", p[i].value) < 0)
      return -1;
  return 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
  .magic = VARIANT_PLUGIN_MAGIC,
  .abi_version = BACKEND_PLUGIN_ABI_VERSION,
  .ns = "example",
  .dynamic = 0,
  .get_supported_configs = configs,
  .validate_property = validate,
  .get_build_setup = build_setup,
};
