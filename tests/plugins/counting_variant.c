/*
 * Fixture: a static variant plugin that proves when it is asked. Namespace "counted",
 * feature "speed" = fast, slow. Every get_supported_configs call appends a line to the file
 * named by $COUNTING_VARIANT_LOG, so a test can tell a cached answer (no new line) from a
 * plugin call. Its system fingerprint is the content of the file named by
 * $COUNTING_VARIANT_FINGERPRINT (empty when unset), so a test can change "the system".
 */
#include <backend/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_call(void) {
  const char *path = getenv("COUNTING_VARIANT_LOG");
  FILE *f = path != NULL ? fopen(path, "a") : NULL;
  if (f != NULL) {
    fputs("get_supported_configs\n", f);
    fclose(f);
  }
}

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  int err;
  count_call();
  if ((err = variant_configs_add_feature(out, "speed")) < 0 || (err = variant_configs_add_value(out, "fast")) < 0 ||
      (err = variant_configs_add_value(out, "slow")) < 0)
    return err;
  return 0;
}

static int validate_property(void *self, const struct variant_property *p) {
  return strcmp(p->feature, "speed") == 0 && (strcmp(p->value, "fast") == 0 || strcmp(p->value, "slow") == 0);
}

static int get_fingerprint(void *self, char *buf, size_t len) {
  const char *path = getenv("COUNTING_VARIANT_FINGERPRINT");
  FILE *f = path != NULL ? fopen(path, "r") : NULL;
  size_t n = 0;
  if (f != NULL) {
    n = fread(buf, 1, len - 1, f);
    fclose(f);
  }
  buf[n] = '\0';
  return 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "counted",
    .dynamic = 0,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
    .get_fingerprint = get_fingerprint,
};
