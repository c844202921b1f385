/*
 * The x86_64 variant provider plugin (static): "x86_64 :: level :: vN", the x86-64 psABI
 * microarchitecture levels this CPU supports, best first (level.c decides them from CPUID
 * and XGETBV). On any other architecture it supports nothing.
 *
 * Build setup: a variant built for level vN gets CFLAGS "-march=x86-64-vN", the GCC (11+)
 * and Clang (12+) name of exactly that psABI level, so the compiler may use all of its
 * instructions and no more. v1 is the baseline, which compilers call "-march=x86-64"
 * ("x86-64-v1" is not a valid -march value).
 */
#include <backend/plugin.h>
#include <errno.h>
#include <string.h>

#include "level.h"

static const char *const level_names[X86_64_LEVEL_MAX] = {"v1", "v2", "v3", "v4"};
static const char *const march_flags[X86_64_LEVEL_MAX] = {
    "-march=x86-64", "-march=x86-64-v2", "-march=x86-64-v3", "-march=x86-64-v4"};

/* The index of a level value ("v1" -> 0), or -1 when it is not one. */
static int level_index(const char *value) {
  for (int i = 0; i < X86_64_LEVEL_MAX; i++)
    if (strcmp(value, level_names[i]) == 0)
      return i;
  return -1;
}

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  struct x86_64_cpu cpu;
  unsigned levels;
  int err;
  (void)self;
  (void)known; /* static: always NULL/0 */
  (void)n_known;
  if (x86_64_cpu_read(&cpu) < 0)
    return 0; /* not x86_64: no feature is supported, which is an answer, not a failure */
  if ((levels = x86_64_levels(&cpu)) == 0)
    return 0;
  if ((err = variant_configs_add_feature(out, "level")) < 0)
    return err;
  for (int i = X86_64_LEVEL_MAX - 1; i >= 0; i--) /* best first */
    if ((levels & (1u << i)) && (err = variant_configs_add_value(out, level_names[i])) < 0)
      return err;
  return 0;
}

static int validate_property(void *self, const struct variant_property *property) {
  (void)self;
  return strcmp(property->feature, "level") == 0 && level_index(property->value) >= 0;
}

static int get_build_setup(void *self, const struct variant_property *properties, size_t n,
                           variant_build_setup *out) {
  int err, level;
  (void)self;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(properties[i].feature, "level") != 0 || (level = level_index(properties[i].value)) < 0)
      return -EINVAL; /* validate_property refuses it too */
    if ((err = variant_build_setup_add(out, "CFLAGS", march_flags[level])) < 0)
      return err;
  }
  return 0;
}

/* The answer depends on the CPU only: a new CPU (or a VM exposing other features) changes this. */
static int get_fingerprint(void *self, char *buf, size_t len) {
  struct x86_64_cpu cpu;
  (void)self;
  if (x86_64_cpu_read(&cpu) < 0) {
    if (len < sizeof "not-x86_64")
      return -ENOSPC;
    memcpy(buf, "not-x86_64", sizeof "not-x86_64");
    return 0;
  }
  return x86_64_fingerprint(&cpu, buf, len);
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "x86_64",
    .dynamic = 0,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
    .get_build_setup = get_build_setup,
    .get_fingerprint = get_fingerprint,
};
