/*
 * Tests for the variant provider plugins backendd ships (plugins/): the x86_64 level decision
 * over synthetic CPUID/XGETBV results and on this machine (against /proc/cpuinfo and ld.so),
 * the glibc plugin's version specifiers, and both built modules called through their
 * descriptors as the daemon calls them, with their dist-info as the daemon reads it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "level.h"
#include "specifier.h"

#define PATH_LEN 4096
#define ARRAY_LEN(a) (sizeof(a) / sizeof *(a))

/* ------------------------------------------------------------------------------------------
 * Helpers: the built modules, their answers
 */

/* The descriptor of a built package's module, <builddir>/plugins/<package>/plugin.so. */
static const struct variant_plugin *load_plugin(const char *package) {
  char path[PATH_LEN];
  const struct variant_plugin *plugin;
  void *handle;
  snprintf(path, sizeof path, "%s/%s/plugin.so", SHIPPED_PLUGIN_DIR, package);
  handle = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* left open: the test process ends soon */
  cr_assert_not_null(handle, "dlopen(%s): %s", path, dlerror());
  plugin = dlsym(handle, VARIANT_PLUGIN_SYMBOL);
  cr_assert_not_null(plugin, "%s exports no %s", path, VARIANT_PLUGIN_SYMBOL);
  cr_assert_eq(plugin->magic, VARIANT_PLUGIN_MAGIC);
  cr_assert_eq(plugin->abi_version, BACKEND_PLUGIN_ABI_VERSION);
  cr_assert_not_null(plugin->get_supported_configs);
  cr_assert_not_null(plugin->validate_property);
  return plugin;
}

/* Asserts that configs holds exactly one feature with exactly these values, in order. */
static void expect_feature(const variant_configs *c, const char *feature, const char *const *want, size_t n) {
  cr_assert_null(c->error);
  cr_assert_eq(c->n, 1, "%zu features, want only \"%s\"", c->n, feature);
  cr_assert_str_eq(c->features[0].name, feature);
  for (size_t i = 0; i < n && i < c->features[0].values.n; i++)
    cr_expect_str_eq(c->features[0].values.items[i], want[i], "value %zu", i);
  cr_assert_eq(c->features[0].values.n, n, "%zu values, want %zu", c->features[0].values.n, n);
}

static int validate(const struct variant_plugin *plugin, const char *feature, const char *value) {
  struct variant_property p = {plugin->ns, feature, value};
  return plugin->validate_property(NULL, &p);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "r");
  char *text = NULL;
  size_t cap = 0;
  ssize_t n;
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  n = getdelim(&text, &cap, '\0', f);
  fclose(f);
  cr_assert_geq(n, 0, "reading %s", path);
  return text;
}

/* ------------------------------------------------------------------------------------------
 * x86_64: the level decision with synthetic CPUID/XGETBV results
 */

enum reg { LEAF1_ECX, LEAF1_EDX, LEAF7_EBX, EXT1_ECX, EXT1_EDX };

/* The psABI's features per level: where CPUID reports each, and Linux's /proc/cpuinfo name. */
static const struct feature {
  const char *name;
  int level;
  enum reg reg;
  int bit;
  const char *cpuinfo; /* alternatives separated by '|' */
} features[] = {
    {"FPU", 1, LEAF1_EDX, 0, "fpu"},
    {"CX8", 1, LEAF1_EDX, 8, "cx8"},
    {"CMOV", 1, LEAF1_EDX, 15, "cmov"},
    {"MMX", 1, LEAF1_EDX, 23, "mmx"},
    {"FXSR", 1, LEAF1_EDX, 24, "fxsr"},
    {"SSE", 1, LEAF1_EDX, 25, "sse"},
    {"SSE2", 1, LEAF1_EDX, 26, "sse2"},
    {"SCE", 1, EXT1_EDX, 11, "syscall"},
    {"SSE3", 2, LEAF1_ECX, 0, "pni"},
    {"SSSE3", 2, LEAF1_ECX, 9, "ssse3"},
    {"CMPXCHG16B", 2, LEAF1_ECX, 13, "cx16"},
    {"SSE4_1", 2, LEAF1_ECX, 19, "sse4_1"},
    {"SSE4_2", 2, LEAF1_ECX, 20, "sse4_2"},
    {"POPCNT", 2, LEAF1_ECX, 23, "popcnt"},
    {"LAHF-SAHF", 2, EXT1_ECX, 0, "lahf_lm"},
    {"FMA", 3, LEAF1_ECX, 12, "fma"},
    {"MOVBE", 3, LEAF1_ECX, 22, "movbe"},
    /* Linux does not list OSXSAVE; it sets it whenever it enables XSAVE, which it lists. */
    {"OSXSAVE", 3, LEAF1_ECX, 27, "osxsave|xsave"},
    {"AVX", 3, LEAF1_ECX, 28, "avx"},
    {"F16C", 3, LEAF1_ECX, 29, "f16c"},
    {"BMI1", 3, LEAF7_EBX, 3, "bmi1"},
    {"AVX2", 3, LEAF7_EBX, 5, "avx2"},
    {"BMI2", 3, LEAF7_EBX, 8, "bmi2"},
    {"LZCNT", 3, EXT1_ECX, 5, "abm"},
    {"AVX512F", 4, LEAF7_EBX, 16, "avx512f"},
    {"AVX512DQ", 4, LEAF7_EBX, 17, "avx512dq"},
    {"AVX512CD", 4, LEAF7_EBX, 28, "avx512cd"},
    {"AVX512BW", 4, LEAF7_EBX, 30, "avx512bw"},
    {"AVX512VL", 4, LEAF7_EBX, 31, "avx512vl"},
};

/* XCR0: x87, SSE, AVX; opmask, ZMM_Hi256, Hi16_ZMM. */
#define XCR0_AVX_OS 0x07u
#define XCR0_AVX512_OS 0xe7u

static uint32_t *reg_of(struct x86_64_cpu *cpu, enum reg reg) {
  switch (reg) {
  case LEAF1_ECX:
    return &cpu->leaf1.ecx;
  case LEAF1_EDX:
    return &cpu->leaf1.edx;
  case LEAF7_EBX:
    return &cpu->leaf7.ebx;
  case EXT1_ECX:
    return &cpu->ext1.ecx;
  case EXT1_EDX:
    return &cpu->ext1.edx;
  }
  return NULL;
}

/* A CPU with exactly the features of levels v1..v<level>, its OS enabling all of XCR0's state. */
static struct x86_64_cpu cpu_at_level(int level) {
  struct x86_64_cpu cpu = {.vendor = "GenuineIntel", .leaf1.eax = 0x000806f8, .xcr0 = XCR0_AVX512_OS};
  for (size_t i = 0; i < ARRAY_LEN(features); i++)
    if (features[i].level <= level)
      *reg_of(&cpu, features[i].reg) |= UINT32_C(1) << features[i].bit;
  return cpu;
}

/* The mask of levels v1..vN. */
static unsigned up_to(int level) { return (1u << level) - 1; }

Test(x86_64_levels, each_level_needs_exactly_its_features) {
  for (int level = 0; level <= X86_64_LEVEL_MAX; level++) {
    struct x86_64_cpu cpu = cpu_at_level(level);
    cr_expect_eq(x86_64_levels(&cpu), up_to(level), "CPU with the features up to v%d", level);
  }
}

Test(x86_64_levels, any_missing_feature_drops_to_the_level_below) {
  for (size_t i = 0; i < ARRAY_LEN(features); i++) {
    struct x86_64_cpu cpu = cpu_at_level(X86_64_LEVEL_MAX);
    *reg_of(&cpu, features[i].reg) &= ~(UINT32_C(1) << features[i].bit);
    cr_expect_eq(x86_64_levels(&cpu), up_to(features[i].level - 1), "without %s", features[i].name);
  }
}

Test(x86_64_levels, levels_are_cumulative) {
  /* Every v3 and v4 feature, but no SSE4_2: v1 only, the AVX-512 bits notwithstanding. */
  struct x86_64_cpu cpu = cpu_at_level(4);
  cpu.leaf1.ecx &= ~(UINT32_C(1) << 20);
  cr_expect_eq(x86_64_levels(&cpu), up_to(1));
}

Test(x86_64_levels, avx_needs_the_os_to_save_ymm_state) {
  struct x86_64_cpu cpu = cpu_at_level(3);
  cpu.xcr0 = 0x3; /* x87 and SSE state only: AVX is in CPUID, not enabled */
  cr_expect_eq(x86_64_levels(&cpu), up_to(2));
  cpu.xcr0 = 0x5; /* AVX without SSE state */
  cr_expect_eq(x86_64_levels(&cpu), up_to(2));
  cpu.xcr0 = XCR0_AVX_OS;
  cr_expect_eq(x86_64_levels(&cpu), up_to(3));
}

Test(x86_64_levels, xcr0_is_ignored_without_osxsave) {
  struct x86_64_cpu cpu = cpu_at_level(4);
  cpu.leaf1.ecx &= ~(UINT32_C(1) << 27); /* XGETBV would fault: the XCR0 given means nothing */
  cr_expect_eq(x86_64_levels(&cpu), up_to(2));
}

Test(x86_64_levels, avx512_needs_the_os_to_save_opmask_and_zmm_state) {
  struct x86_64_cpu cpu = cpu_at_level(4);
  const uint64_t missing_one[] = {XCR0_AVX512_OS & ~0x20u, XCR0_AVX512_OS & ~0x40u, XCR0_AVX512_OS & ~0x80u};
  cpu.xcr0 = XCR0_AVX_OS;
  cr_expect_eq(x86_64_levels(&cpu), up_to(3), "AVX-512 in CPUID, no AVX-512 state in XCR0");
  for (size_t i = 0; i < ARRAY_LEN(missing_one); i++) {
    cpu.xcr0 = missing_one[i];
    cr_expect_eq(x86_64_levels(&cpu), up_to(3), "XCR0 %#llx", (unsigned long long)missing_one[i]);
  }
  cpu.xcr0 = XCR0_AVX512_OS;
  cr_expect_eq(x86_64_levels(&cpu), up_to(4));
}

Test(x86_64_levels, fingerprint_names_the_cpu_and_its_levels) {
  struct x86_64_cpu cpu = cpu_at_level(4), amd = cpu_at_level(3);
  char buf[128], other[128];
  cr_assert_eq(x86_64_fingerprint(&cpu, buf, sizeof buf), 0);
  cr_expect_str_eq(buf, "GenuineIntel family 6 model 143 stepping 8 levels 0xf");

  memcpy(amd.vendor, "AuthenticAMD", 13);
  amd.leaf1.eax = 0x00a00f11; /* extended family: 0xf + 0xa */
  cr_assert_eq(x86_64_fingerprint(&amd, other, sizeof other), 0);
  cr_expect_str_eq(other, "AuthenticAMD family 25 model 1 stepping 1 levels 0x7");

  cpu.xcr0 = XCR0_AVX_OS; /* the same CPU, AVX-512 state turned off: another answer */
  cr_assert_eq(x86_64_fingerprint(&cpu, other, sizeof other), 0);
  cr_expect_str_neq(other, buf);

  cr_expect_eq(x86_64_fingerprint(&cpu, buf, 8), -ENOSPC);
}

/* ------------------------------------------------------------------------------------------
 * x86_64: this machine
 */

#if defined(__x86_64__)
/* The first "flags" line of /proc/cpuinfo, padded with spaces for whole-word matches. */
static char *cpuinfo_flags(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char *line = NULL, *flags = NULL;
  size_t cap = 0;
  cr_assert_not_null(f, "/proc/cpuinfo: %s", strerror(errno));
  while (flags == NULL && getline(&line, &cap, f) > 0) {
    const char *colon = strchr(line, ':');
    if (strncmp(line, "flags", 5) == 0 && colon != NULL && asprintf(&flags, " %s ", colon + 1) < 0)
      cr_assert_fail("out of memory");
  }
  free(line);
  fclose(f);
  cr_assert_not_null(flags, "/proc/cpuinfo has no flags line");
  for (char *p = flags; *p != '\0'; p++)
    if (*p == '\n' || *p == '\t')
      *p = ' ';
  return flags;
}

/* Whether flags lists one of the '|'-separated names. */
static int has_flag(const char *flags, const char *names) {
  char *copy = strdup(names), *save = NULL, word[64];
  int found = 0;
  cr_assert_not_null(copy);
  for (char *name = strtok_r(copy, "|", &save); name != NULL && !found; name = strtok_r(NULL, "|", &save)) {
    snprintf(word, sizeof word, " %s ", name);
    found = strstr(flags, word) != NULL;
  }
  free(copy);
  return found;
}

/* The levels Linux's view of this CPU implies (it hides what the OS does not enable). */
static unsigned cpuinfo_levels(void) {
  char *flags = cpuinfo_flags();
  int level = X86_64_LEVEL_MAX;
  for (size_t i = 0; i < ARRAY_LEN(features); i++)
    if (!has_flag(flags, features[i].cpuinfo) && features[i].level - 1 < level)
      level = features[i].level - 1;
  free(flags);
  return up_to(level);
}

static size_t level_values(unsigned mask, const char **values) {
  static const char *const names[] = {"v1", "v2", "v3", "v4"};
  size_t n = 0;
  for (int i = X86_64_LEVEL_MAX - 1; i >= 0; i--)
    if (mask & (1u << i))
      values[n++] = names[i];
  return n;
}

/* Linux may leave a flag out of /proc/cpuinfo that CPUID reports and glibc uses (seen: a
 * Firecracker guest lists no "abm" on a CPU with LZCNT), but it never lists what is not there:
 * every level its flags imply must be detected. */
Test(x86_64_machine, detection_covers_proc_cpuinfo) {
  struct x86_64_cpu cpu;
  unsigned want = cpuinfo_levels();
  cr_assert_eq(x86_64_cpu_read(&cpu), 0);
  cr_expect_eq(x86_64_levels(&cpu) & want, want, "CPUID says %#x, /proc/cpuinfo %#x", x86_64_levels(&cpu), want);
  cr_expect_geq(x86_64_levels(&cpu), 1u, "every x86_64 CPU is v1");
}

/* The levels glibc decides for its glibc-hwcaps directories, as `ld.so --help` lists them;
 * 0 when this ld.so lists none. */
static unsigned glibc_levels(void) {
  FILE *p = popen("/lib64/ld-linux-x86-64.so.2 --help 2>/dev/null", "r");
  char *line = NULL;
  size_t cap = 0;
  unsigned levels = up_to(1);
  int listed = 0, level;
  cr_assert_not_null(p);
  while (getline(&line, &cap, p) > 0)
    if (sscanf(line, " x86-64-v%d", &level) == 1 && level >= 2 && level <= X86_64_LEVEL_MAX) {
      listed = 1;
      if (strstr(line, "(supported") != NULL)
        levels |= 1u << (level - 1);
    }
  free(line);
  pclose(p);
  return listed ? levels : 0;
}

/* glibc reads CPUID and XGETBV itself: its decision must be ours exactly. */
Test(x86_64_machine, detection_agrees_with_glibc_hwcaps) {
  struct x86_64_cpu cpu;
  unsigned want = glibc_levels();
  if (want == 0)
    cr_skip_test("this ld.so lists no glibc-hwcaps levels");
  cr_assert_eq(x86_64_cpu_read(&cpu), 0);
  cr_expect_eq(x86_64_levels(&cpu), want, "CPUID says %#x, glibc %#x", x86_64_levels(&cpu), want);
}

Test(x86_64_machine, plugin_answers_the_levels_of_this_cpu_best_first) {
  const struct variant_plugin *plugin = load_plugin("backendd_x86_64");
  const char *want[X86_64_LEVEL_MAX];
  unsigned levels = glibc_levels();
  size_t n = level_values(levels != 0 ? levels : cpuinfo_levels(), want);
  variant_configs c;
  cr_assert_str_eq(plugin->ns, "x86_64");
  cr_assert_eq(plugin->dynamic, 0);
  variant_configs_init(&c);
  cr_assert_eq(plugin->get_supported_configs(NULL, NULL, 0, &c), 0);
  expect_feature(&c, "level", want, n);
  variant_configs_clear(&c);
}

Test(x86_64_machine, plugin_fingerprint_is_this_cpu) {
  const struct variant_plugin *plugin = load_plugin("backendd_x86_64");
  struct x86_64_cpu cpu;
  char got[128], want[128];
  cr_assert_not_null(plugin->get_fingerprint);
  cr_assert_eq(plugin->get_fingerprint(NULL, got, sizeof got), 0);
  cr_assert_eq(x86_64_cpu_read(&cpu), 0);
  cr_assert_eq(x86_64_fingerprint(&cpu, want, sizeof want), 0);
  cr_expect_str_eq(got, want);
  cr_expect_eq(strncmp(got, cpu.vendor, 12), 0, "\"%s\" starts with the vendor", got);
  cr_expect_lt(plugin->get_fingerprint(NULL, got, 4), 0, "a short buffer is an error");
}
#else
Test(x86_64_machine, plugin_supports_nothing_on_other_architectures) {
  const struct variant_plugin *plugin = load_plugin("backendd_x86_64");
  variant_configs c;
  variant_configs_init(&c);
  cr_assert_eq(plugin->get_supported_configs(NULL, NULL, 0, &c), 0);
  cr_expect_eq(c.n, 0);
  variant_configs_clear(&c);
}
#endif

Test(x86_64_plugin, validates_exactly_the_four_levels) {
  const struct variant_plugin *plugin = load_plugin("backendd_x86_64");
  const char *good[] = {"v1", "v2", "v3", "v4"};
  const char *bad[] = {"v0", "v5", "V1", "v", "1", "v1 ", "x86-64-v2", "v10", "v3,v4"};
  for (size_t i = 0; i < ARRAY_LEN(good); i++)
    cr_expect_eq(validate(plugin, "level", good[i]), 1, "level %s", good[i]);
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    cr_expect_eq(validate(plugin, "level", bad[i]), 0, "level %s", bad[i]);
  cr_expect_eq(validate(plugin, "levels", "v1"), 0);
  cr_expect_eq(validate(plugin, "version", "v2"), 0);
}

Test(x86_64_plugin, build_setup_targets_the_level) {
  const struct variant_plugin *plugin = load_plugin("backendd_x86_64");
  const char *levels[] = {"v1", "v2", "v3", "v4"};
  const char *flags[] = {"-march=x86-64", "-march=x86-64-v2", "-march=x86-64-v3", "-march=x86-64-v4"};
  variant_build_setup b;
  cr_assert_not_null(plugin->get_build_setup);
  for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
    struct variant_property p = {"x86_64", "level", levels[i]};
    variant_build_setup_init(&b);
    cr_assert_eq(plugin->get_build_setup(NULL, &p, 1, &b), 0);
    cr_assert_eq(b.n, 1);
    cr_expect_str_eq(b.vars[0].name, "CFLAGS");
    cr_assert_eq(b.vars[0].values.n, 1);
    cr_expect_str_eq(b.vars[0].values.items[0], flags[i], "level %s", levels[i]);
    variant_build_setup_clear(&b);
  }
  {
    struct variant_property p = {"x86_64", "level", "v9"};
    variant_build_setup_init(&b);
    cr_expect_lt(plugin->get_build_setup(NULL, &p, 1, &b), 0, "an invalid level is an error");
    variant_build_setup_clear(&b);
  }
}

/* ------------------------------------------------------------------------------------------
 * glibc: version specifiers
 */

static struct vspec_version version(const char *text) {
  struct vspec_version v;
  cr_assert_eq(vspec_version_parse(text, strlen(text), &v), 0, "version \"%s\"", text);
  return v;
}

Test(glibc_specifier, versions_are_dotted_non_negative_integers) {
  const char *bad[] = {"", ".", "2.", ".2", "2..3", "a", "2.x", "2.36a", "-1", "2,36", " 2", "2 ",
                       "1.2.3.4.5.6.7.8.9", "18446744073709551616"};
  struct vspec_version v = version("2.36.9000");
  cr_expect_eq(v.n, 3);
  cr_expect_eq(v.parts[0], 2);
  cr_expect_eq(v.parts[1], 36);
  cr_expect_eq(v.parts[2], 9000);
  v = version("18446744073709551615");
  cr_expect_eq(v.parts[0], UINT64_MAX);
  cr_expect_eq(version("1.2.3.4.5.6.7.8").n, 8);
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    cr_expect_eq(vspec_version_parse(bad[i], strlen(bad[i]), &v), -EINVAL, "\"%s\" was accepted", bad[i]);
}

Test(glibc_specifier, versions_compare_with_missing_parts_as_zero) {
  struct vspec_version a = version("2.28"), b = version("2.28.0"), c = version("2.28.1"), d = version("2.3"),
                       e = version("10");
  cr_expect_eq(vspec_version_cmp(&a, &b), 0);
  cr_expect_lt(vspec_version_cmp(&a, &c), 0);
  cr_expect_gt(vspec_version_cmp(&c, &b), 0);
  cr_expect_lt(vspec_version_cmp(&d, &a), 0, "numeric, not textual: 2.3 < 2.28");
  cr_expect_gt(vspec_version_cmp(&e, &c), 0);
}

Test(glibc_specifier, every_operator_parses) {
  static const struct {
    const char *text;
    enum vspec_op op;
    const char *version;
  } cases[] = {
      {"==2.36", VSPEC_EQ, "2.36"}, {"!=2.30", VSPEC_NE, "2.30"}, {"<2.40", VSPEC_LT, "2.40"},
      {"<=2.39", VSPEC_LE, "2.39"}, {">2.17", VSPEC_GT, "2.17"},  {">=2.28", VSPEC_GE, "2.28"},
      {"~=2.28", VSPEC_COMPATIBLE, "2.28"}, {"<3", VSPEC_LT, "3"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    struct vspec spec;
    struct vspec_version want = version(cases[i].version);
    cr_assert_eq(vspec_parse(cases[i].text, &spec), 0, "\"%s\"", cases[i].text);
    cr_assert_eq(spec.n, 1);
    cr_expect_eq(spec.clauses[0].op, cases[i].op, "\"%s\"", cases[i].text);
    cr_expect_eq(vspec_version_cmp(&spec.clauses[0].version, &want), 0, "\"%s\"", cases[i].text);
    cr_expect_eq(spec.clauses[0].version.n, want.n);
  }
}

Test(glibc_specifier, clauses_are_comma_separated) {
  struct vspec spec;
  cr_assert_eq(vspec_parse(">=2.28,<3,!=2.30", &spec), 0);
  cr_assert_eq(spec.n, 3);
  cr_expect_eq(spec.clauses[0].op, VSPEC_GE);
  cr_expect_eq(spec.clauses[1].op, VSPEC_LT);
  cr_expect_eq(spec.clauses[2].op, VSPEC_NE);
  cr_expect_eq(spec.clauses[2].version.parts[1], 30);
  cr_expect_eq(vspec_parse(">=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1", &spec), 0,
               "16 clauses");
  cr_expect_eq(spec.n, 16);
}

Test(glibc_specifier, malformed_specifiers_are_rejected) {
  const char *bad[] = {
      "", ">=", ">=2..3", ">=a", "=>2", ">=2.28,", ",>=2.28", ">=2.28,,<3", ",", "2.28", "=2.28", "===2.36",
      "<>2", "~=2", ">=2.", ">=.2", ">=2.x", ">=2.28 ", " >=2.28", ">= 2.28", ">=2.28, <3", "> =2",
      ">=-1", ">=2.28;<3", "~2.28", "!2", ">=99999999999999999999", ">=1.2.3.4.5.6.7.8.9",
      ">=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1",
  };
  struct vspec spec;
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    cr_expect_eq(vspec_parse(bad[i], &spec), -EINVAL, "\"%s\" was accepted", bad[i]);
}

Test(glibc_specifier, matching_follows_pep_440) {
  static const struct {
    const char *spec, *version;
    int want;
  } cases[] = {
      {">=2.28", "2.28", 1},      {">=2.28", "2.28.0", 1},   {">=2.28", "2.27.9", 0},  {">=2.28", "3", 1},
      {">2.28", "2.28", 0},       {">2.28", "2.28.0", 0},    {">2.28", "2.28.1", 1},   {">2.17", "2.36", 1},
      {"<2.40", "2.39", 1},       {"<2.40", "2.40", 0},      {"<2.40", "2.40.0", 0},   {"<2.40", "2.4", 1},
      {"<=2.39", "2.39", 1},      {"<=2.39", "2.39.0", 1},   {"<=2.39", "2.39.1", 0},  {"==2.36", "2.36", 1},
      {"==2.36", "2.36.0", 1},    {"==2.36", "2.36.1", 0},   {"==2.36", "2.35", 0},    {"!=2.30", "2.30", 0},
      {"!=2.30", "2.30.0", 0},    {"!=2.30", "2.31", 1},     {"~=2.28", "2.28", 1},    {"~=2.28", "2.99", 1},
      {"~=2.28", "2.27", 0},      {"~=2.28", "3.0", 0},      {"~=2.28.1", "2.28.5", 1}, {"~=2.28.1", "2.28.0", 0},
      {"~=2.28.1", "2.29", 0},    {">=2.28,<3", "2.36", 1},  {">=2.28,<3", "3", 0},    {">=2.28,<3", "2.27", 0},
      {">=2.17,!=2.30,<2.40", "2.30", 0}, {">=2.17,!=2.30,<2.40", "2.31", 1},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    struct vspec spec;
    struct vspec_version v = version(cases[i].version);
    cr_assert_eq(vspec_parse(cases[i].spec, &spec), 0, "\"%s\"", cases[i].spec);
    cr_expect_eq(vspec_matches(&spec, &v), cases[i].want, "\"%s\" against %s", cases[i].spec, cases[i].version);
  }
}

static struct vspec_bound bound(const char *text) {
  struct vspec spec;
  cr_assert_eq(vspec_parse(text, &spec), 0, "\"%s\"", text);
  return vspec_lower_bound(&spec);
}

Test(glibc_specifier, lower_bound_is_the_highest_clause_bound) {
  const char *none[] = {"<2.40", "<=2.39", "!=2.30", "<3,!=2.30"};
  struct vspec_bound b = bound(">=2.17,>2.28,<3"), want = {.present = 1, .exclusive = 1, .version = version("2.28")};
  cr_expect_eq(vspec_bound_cmp(&b, &want), 0);
  cr_expect_eq(b.exclusive, 1);
  b = bound("~=2.28");
  cr_expect(b.present && !b.exclusive && vspec_version_cmp(&b.version, &want.version) == 0);
  b = bound("<3,==2.36");
  want.exclusive = 0;
  want.version = version("2.36");
  cr_expect_eq(vspec_bound_cmp(&b, &want), 0);
  for (size_t i = 0; i < ARRAY_LEN(none); i++)
    cr_expect_eq(bound(none[i]).present, 0, "\"%s\"", none[i]);
}

Test(glibc_specifier, bounds_order_higher_and_exclusive_first) {
  struct vspec_bound ge = bound(">=2.28"), gt = bound(">2.28"), above = bound(">=2.28.1"), eq = bound("==2.28"),
                     low = bound(">=2.17"), none = bound("<2.40"), none2 = bound("!=2.30");
  cr_expect_gt(vspec_bound_cmp(&gt, &ge), 0, ">2.28 starts above >=2.28");
  cr_expect_gt(vspec_bound_cmp(&above, &gt), 0, ">=2.28.1 starts above >2.28");
  cr_expect_eq(vspec_bound_cmp(&eq, &ge), 0);
  cr_expect_gt(vspec_bound_cmp(&ge, &low), 0);
  cr_expect_gt(vspec_bound_cmp(&low, &none), 0, "any bound is above none");
  cr_expect_lt(vspec_bound_cmp(&none, &low), 0);
  cr_expect_eq(vspec_bound_cmp(&none, &none2), 0);
}

/* ------------------------------------------------------------------------------------------
 * glibc: the plugin
 */

Test(glibc_plugin, is_dynamic_without_build_setup) {
  const struct variant_plugin *plugin = load_plugin("backendd_glibc");
  char buf[64], want[64];
  cr_expect_str_eq(plugin->ns, "glibc");
  cr_expect_eq(plugin->dynamic, 1);
  cr_expect_null(plugin->get_build_setup);
  cr_assert_not_null(plugin->get_fingerprint);
  cr_assert_eq(plugin->get_fingerprint(NULL, buf, sizeof buf), 0);
  snprintf(want, sizeof want, "glibc %s", gnu_get_libc_version());
  cr_expect_str_eq(buf, want);
}

Test(glibc_plugin, validates_exactly_the_well_formed_specifiers) {
  const struct variant_plugin *plugin = load_plugin("backendd_glibc");
  const char *good[] = {">=2.28", ">=2.28,<3", "==2.36", "!=2.30", "<2.40", "<=2.39", ">2.17", "~=2.28"};
  const char *bad[] = {"", ">=", ">=2..3", ">=a", "=>2", ">=2.28,", "2.28", "~=2", "==2.36,"};
  for (size_t i = 0; i < ARRAY_LEN(good); i++)
    cr_expect_eq(validate(plugin, "version", good[i]), 1, "\"%s\"", good[i]);
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    cr_expect_eq(validate(plugin, "version", bad[i]), 0, "\"%s\"", bad[i]);
  cr_expect_eq(validate(plugin, "versions", ">=2.28"), 0);
  cr_expect_eq(validate(plugin, "level", ">=2.28"), 0);
}

/* What a known value should give on this glibc, worked out here from major.minor alone. */
struct expectation {
  char value[48];
  int satisfied;
  int has_bound;
  unsigned major, minor; /* the lower bound */
};

static int at_least(unsigned major, unsigned minor, unsigned want_major, unsigned want_minor) {
  return major != want_major ? major > want_major : minor >= want_minor;
}

static int bound_above(const struct expectation *a, const struct expectation *b) {
  if (a->has_bound != b->has_bound)
    return a->has_bound;
  return a->has_bound && (a->major != b->major ? a->major > b->major : a->minor > b->minor);
}

Test(glibc_plugin, answers_the_satisfied_specifiers_highest_bound_first) {
  const struct variant_plugin *plugin = load_plugin("backendd_glibc");
  const char *running = gnu_get_libc_version();
  unsigned major, minor;
  struct expectation e[12];
  struct variant_property known[ARRAY_LEN(e) + 3];
  const char *want[ARRAY_LEN(e)];
  size_t order[ARRAY_LEN(e)], n = 0, n_want = 0;
  char two_parts[32];
  variant_configs c;
  cr_assert_eq(sscanf(running, "%u.%u", &major, &minor), 2, "glibc version \"%s\"", running);
  cr_assert_lt(minor, 1000u);
  snprintf(two_parts, sizeof two_parts, "%u.%u", major, minor);

#define EXPECT(sat, bounded, ma, mi, ...)                                                          \
  do {                                                                                             \
    e[n] = (struct expectation){.satisfied = (sat), .has_bound = (bounded), .major = (ma), .minor = (mi)}; \
    snprintf(e[n].value, sizeof e[n].value, __VA_ARGS__);                                          \
    n++;                                                                                           \
  } while (0)
  EXPECT(at_least(major, minor, 2, 17), 1, 2, 17, ">=2.17");
  EXPECT(at_least(major, minor, 2, 28), 1, 2, 28, ">=2.28");
  EXPECT(at_least(major, minor, 99, 0), 1, 99, 0, ">=99");
  EXPECT(major < 2, 0, 0, 0, "<2");
  EXPECT(1, 1, major, minor, "==%s", running);
  EXPECT(1, 0, 0, 0, "<=%s", running);
  EXPECT(0, 0, 0, 0, "!=%s", running);
  EXPECT(0, 1, major, minor, ">%s", running);
  EXPECT(1, 1, major, 0, "~=%u.0", major);
  EXPECT(1, 1, major, 0, ">=%u,<%u", major, major + 1); /* ties with ~=M.0: the order given */
  EXPECT(strcmp(two_parts, running) == 0, 1, major, minor, "==%u.%u,>=%u.%u", major, minor, major,
         minor > 0 ? minor - 1 : 0);
  EXPECT(minor > 0, 1, major, minor > 0 ? minor - 1 : 0, "~=%u.%u,<=%s", major, minor > 0 ? minor - 1 : 0, running);
#undef EXPECT
  cr_assert_eq(n, ARRAY_LEN(e));
  for (size_t i = 0; i < n; i++)
    known[i] = (struct variant_property){"glibc", "version", e[i].value};
  /* Ignored: a repeat, a malformed value, another feature. */
  known[n] = (struct variant_property){"glibc", "version", e[0].value};
  known[n + 1] = (struct variant_property){"glibc", "version", "=>2"};
  known[n + 2] = (struct variant_property){"glibc", "other", ">=1"};

  /* The expected order: satisfied ones, highest bound first, ties in the order given. */
  for (size_t i = 0; i < n; i++) {
    size_t j = n_want++;
    if (!e[i].satisfied) {
      n_want--;
      continue;
    }
    for (; j > 0 && bound_above(&e[i], &e[order[j - 1]]); j--) /* insertion: stable */
      order[j] = order[j - 1];
    order[j] = i;
  }
  for (size_t i = 0; i < n_want; i++)
    want[i] = e[order[i]].value;
  cr_assert_geq(n_want, 4u);

  variant_configs_init(&c);
  cr_assert_eq(plugin->get_supported_configs(NULL, known, ARRAY_LEN(known), &c), 0);
  expect_feature(&c, "version", want, n_want);
  variant_configs_clear(&c);
}

Test(glibc_plugin, answers_no_feature_when_nothing_is_satisfied) {
  const struct variant_plugin *plugin = load_plugin("backendd_glibc");
  char other[64];
  struct variant_property known[] = {
      {"glibc", "version", ">=99"}, {"glibc", "version", "<1"}, {"glibc", "version", other}, {"glibc", "version", "=>1"}};
  variant_configs c;
  snprintf(other, sizeof other, "!=%s", gnu_get_libc_version());
  variant_configs_init(&c);
  cr_assert_eq(plugin->get_supported_configs(NULL, known, ARRAY_LEN(known), &c), 0);
  cr_expect_eq(c.n, 0, "no feature at all, not an empty one");
  cr_expect_null(c.error);
  cr_assert_eq(plugin->get_supported_configs(NULL, NULL, 0, &c), 0);
  cr_expect_eq(c.n, 0, "nothing known, nothing answered");
  variant_configs_clear(&c);
}

/* ------------------------------------------------------------------------------------------
 * The distributions, as laid out in the build directory
 */

static void expect_distribution(const char *package, const char *ns) {
  char path[PATH_LEN], line[256], module[PATH_LEN];
  char *text;
  FILE *f;
  snprintf(path, sizeof path, "%s/%s-%s.dist-info/METADATA", SHIPPED_PLUGIN_DIR, package, SHIPPED_PLUGIN_VERSION);
  text = read_file(path);
  snprintf(line, sizeof line, "\nName: %s\n", package);
  cr_expect_not_null(strstr(text, line), "%s lacks \"Name: %s\"", path, package);
  snprintf(line, sizeof line, "\nVersion: %s\n", SHIPPED_PLUGIN_VERSION);
  cr_expect_not_null(strstr(text, line), "%s lacks \"Version: %s\"", path, SHIPPED_PLUGIN_VERSION);
  free(text);

  snprintf(path, sizeof path, "%s/%s-%s.dist-info/entry_points.txt", SHIPPED_PLUGIN_DIR, package,
           SHIPPED_PLUGIN_VERSION);
  text = read_file(path);
  snprintf(line, sizeof line, "[variant_plugins]\n%s = %s.plugin\n", ns, package);
  cr_expect_str_eq(text, line);
  free(text);

  /* The module the entry point names: <package>/plugin.so next to the dist-info. */
  snprintf(module, sizeof module, "%s/%s/plugin.so", SHIPPED_PLUGIN_DIR, package);
  f = fopen(module, "r");
  cr_expect_not_null(f, "%s: %s", module, strerror(errno));
  if (f != NULL)
    fclose(f);
  cr_expect_str_eq(load_plugin(package)->ns, ns);
}

Test(distributions, x86_64_is_laid_out_as_the_daemon_reads_it) { expect_distribution("backendd_x86_64", "x86_64"); }

Test(distributions, glibc_is_laid_out_as_the_daemon_reads_it) { expect_distribution("backendd_glibc", "glibc"); }
