/*
 * What the SDK builders collect (include/backend/plugin.h), for the daemon to read back.
 * The daemon creates the builders, passes them to plugin functions, then checks and uses
 * their contents; plugins only ever see the opaque types.
 */
#ifndef BACKENDD_SDK_ANSWERS_H
#define BACKENDD_SDK_ANSWERS_H

#include <stddef.h>

#include "backend/plugin.h"

struct str_vec {
  char **items;
  size_t n, cap;
};

struct variant_feature_answer {
  char *name;
  struct str_vec values; /* most preferred first */
};

struct variant_configs {
  struct variant_feature_answer *features;
  size_t n, cap;
  char *error;  /* variant_configs_fail */
  int misuse;   /* a value was added before any feature */
};

struct variant_build_var {
  char *name;
  struct str_vec values;
};

struct variant_build_setup {
  struct variant_build_var *vars;
  size_t n, cap;
};

/* Daemon side (exported from libbackend-plugin, but not part of the plugin API). */
void variant_configs_init(variant_configs *c);
void variant_configs_clear(variant_configs *c);
void variant_build_setup_init(variant_build_setup *b);
void variant_build_setup_clear(variant_build_setup *b);

#endif
