/*
 * Fixture: a dynamic variant plugin with an object entry point ("pkg.module:Plugin") and
 * instance state. Namespace "fixture_dyn", feature "runtime" whose values are major
 * versions ("1", "2", ...): the state holds the runtime version "installed" on this machine
 * (2), and the supported values are those of the package's known properties that are at
 * most that, in the order given. It provides a fingerprint of that version.
 */
#include <backend/plugin.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plugin_state {
  unsigned long runtime_major;
};

static void *plugin_create(void) {
  struct plugin_state *state = malloc(sizeof *state);
  if (state != NULL)
    state->runtime_major = 2;
  return state;
}

static void plugin_destroy(void *self) { free(self); }

/* A value is a major version: digits only, no leading zero. Sets *major. */
static int parse_major(const char *value, unsigned long *major) {
  char *end;
  if (value[0] < '1' || value[0] > '9' || strlen(value) > 9)
    return 0;
  *major = strtoul(value, &end, 10);
  return *end == '\0';
}

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  const struct plugin_state *state = self;
  int err, started = 0;
  unsigned long major;
  for (size_t i = 0; i < n_known; i++) {
    if (strcmp(known[i].feature, "runtime") != 0 || !parse_major(known[i].value, &major) ||
        major > state->runtime_major)
      continue;
    if (!started && (err = variant_configs_add_feature(out, "runtime")) < 0)
      return err;
    started = 1;
    if ((err = variant_configs_add_value(out, known[i].value)) < 0)
      return err;
  }
  return 0;
}

static int validate_property(void *self, const struct variant_property *property) {
  unsigned long major;
  (void)self;
  return strcmp(property->feature, "runtime") == 0 && parse_major(property->value, &major);
}

static int get_fingerprint(void *self, char *buf, size_t len) {
  const struct plugin_state *state = self;
  int n = snprintf(buf, len, "fixture-runtime-%lu", state->runtime_major);
  return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin Plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "fixture_dyn",
    .dynamic = 1,
    .create = plugin_create,
    .destroy = plugin_destroy,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
    .get_fingerprint = get_fingerprint,
};
