/*
 * Fixture: static variant plugins whose answers each break one rule of the variant plugin
 * API, one object entry point each (namespace = the rule): DupValues, DupFeatures, NoValues,
 * BadValue, BadFeature, ValueFirst, Fails.
 */
#include <backend/plugin.h>
#include <string.h>

static int dup_values(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_add_feature(out, "level");
  variant_configs_add_value(out, "v1");
  return variant_configs_add_value(out, "v1");
}

static int dup_features(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_add_feature(out, "level");
  variant_configs_add_value(out, "v1");
  variant_configs_add_feature(out, "level");
  return variant_configs_add_value(out, "v2");
}

static int no_values(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  return variant_configs_add_feature(out, "level");
}

static int bad_value(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_add_feature(out, "level");
  return variant_configs_add_value(out, "V 1");
}

static int bad_feature(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_add_feature(out, "Level");
  return variant_configs_add_value(out, "v1");
}

static int value_first(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_add_value(out, "v1");
  return 0;
}

static int fails(void *self, const struct variant_property *k, size_t n, variant_configs *out) {
  variant_configs_fail(out, "no device found");
  return -5;
}

static int validate(void *self, const struct variant_property *p) { return 1; }

#define BAD_PLUGIN(sym, nspace, fn)                                                                \
  BACKEND_PLUGIN_EXPORT const struct variant_plugin sym = {                                        \
      .magic = VARIANT_PLUGIN_MAGIC, .abi_version = BACKEND_PLUGIN_ABI_VERSION, .ns = nspace,      \
      .get_supported_configs = fn, .validate_property = validate}

BAD_PLUGIN(DupValues, "dup_values", dup_values);
BAD_PLUGIN(DupFeatures, "dup_features", dup_features);
BAD_PLUGIN(NoValues, "no_values", no_values);
BAD_PLUGIN(BadValue, "bad_value", bad_value);
BAD_PLUGIN(BadFeature, "bad_feature", bad_feature);
BAD_PLUGIN(ValueFirst, "value_first", value_first);
BAD_PLUGIN(Fails, "fails", fails);
