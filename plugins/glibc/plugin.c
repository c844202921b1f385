/*
 * The glibc variant provider plugin (dynamic): "glibc :: version :: <specifier>", where the
 * value is a version specifier (specifier.h: ">=2.28", ">=2.28,<3", "~=2.28", ...). Any
 * well-formed specifier is valid, so the plugin cannot list its values up front: it is asked
 * with the package's known properties and answers those the running glibc satisfies, the
 * ones with the highest lower bound first (a variant built against a newer glibc uses more
 * of it). No build variables: a build's glibc is the build system's business.
 */
#include <backend/plugin.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "specifier.h"

/* A known value the running glibc satisfies. */
struct candidate {
  size_t index; /* in known[], which also breaks ties: the order given */
  struct vspec_bound bound;
};

/* Higher lower bound first; ties keep the order given (qsort is not stable by itself). */
static int candidate_cmp(const void *pa, const void *pb) {
  const struct candidate *a = pa, *b = pb;
  int cmp = vspec_bound_cmp(&b->bound, &a->bound);
  if (cmp != 0)
    return cmp;
  return a->index < b->index ? -1 : a->index > b->index;
}

static int is_version_property(const struct variant_property *p) {
  return strcmp(p->feature, "version") == 0 && (p->ns == NULL || strcmp(p->ns, "glibc") == 0);
}

/* Whether known[index]'s value is already among the first n candidates (sets have no repeats). */
static int seen(const struct variant_property *known, const struct candidate *c, size_t n, size_t index) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(known[c[i].index].value, known[index].value) == 0)
      return 1;
  return 0;
}

static int add_answer(const struct variant_property *known, const struct candidate *c, size_t n,
                      variant_configs *out) {
  int err;
  if (n == 0)
    return 0; /* nothing satisfied: the feature is not supported at all */
  if ((err = variant_configs_add_feature(out, "version")) < 0)
    return err;
  for (size_t i = 0; i < n; i++)
    if ((err = variant_configs_add_value(out, known[c[i].index].value)) < 0)
      return err;
  return 0;
}

static int get_supported_configs(void *self, const struct variant_property *known, size_t n_known,
                                 variant_configs *out) {
  const char *running_text = gnu_get_libc_version();
  struct vspec_version running;
  struct vspec spec;
  struct candidate *c;
  size_t n = 0;
  int err;
  (void)self;
  if (vspec_version_parse(running_text, strlen(running_text), &running) < 0) {
    char why[128];
    snprintf(why, sizeof why, "cannot read the running glibc version \"%s\"", running_text);
    variant_configs_fail(out, why);
    return -EINVAL;
  }
  if (n_known == 0)
    return 0;
  if ((c = calloc(n_known, sizeof *c)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n_known; i++) {
    /* Malformed values cannot be satisfied; validate_property is where they are refused. */
    if (!is_version_property(&known[i]) || vspec_parse(known[i].value, &spec) < 0 ||
        !vspec_matches(&spec, &running) || seen(known, c, n, i))
      continue;
    c[n++] = (struct candidate){.index = i, .bound = vspec_lower_bound(&spec)};
  }
  qsort(c, n, sizeof *c, candidate_cmp);
  err = add_answer(known, c, n, out);
  free(c);
  return err;
}

static int validate_property(void *self, const struct variant_property *property) {
  struct vspec spec;
  (void)self;
  return strcmp(property->feature, "version") == 0 && vspec_parse(property->value, &spec) == 0;
}

/* The answer depends on the running glibc only. */
static int get_fingerprint(void *self, char *buf, size_t len) {
  int n = snprintf(buf, len, "glibc %s", gnu_get_libc_version());
  (void)self;
  return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

BACKEND_PLUGIN_EXPORT const struct variant_plugin variant_plugin = {
    .magic = VARIANT_PLUGIN_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .ns = "glibc",
    .dynamic = 1,
    .get_supported_configs = get_supported_configs,
    .validate_property = validate_property,
    .get_build_setup = NULL, /* no build variables */
    .get_fingerprint = get_fingerprint,
};
