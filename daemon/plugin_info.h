/* What a plugin's descriptor says, as read by the scanner, checked against the naming rules. */
#ifndef BACKENDD_PLUGIN_INFO_H
#define BACKENDD_PLUGIN_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "signature.h"

enum plugin_kind { PLUGIN_BACKEND, PLUGIN_VARIANT };

struct plugin_param {
  char *name;
  uint32_t kind;      /* enum backend_param_kind */
  char *default_json; /* NULL: required */
  msgpack_object *def; /* the default as a value (in the info's zone), NULL: required */
};

struct plugin_function {
  char *name;
  char *doc;
  struct plugin_param *params;
  size_t n_params;
  bool has_impl;
  char *lazy_library; /* relative to the adapter's directory */
  char *lazy_symbol;
  struct sig_param *sig_params;
  struct sig sig; /* for binding calls (proto/signature.h) */
};

struct plugin_info {
  enum plugin_kind kind;
  bool has_create;
  /* backend adapter */
  char *name;
  char **aliases;
  size_t n_aliases;
  uint32_t flags;
  struct plugin_function *functions;
  size_t n_functions;
  /* variant plugin */
  char *ns;
  bool dynamic;
  bool has_build_setup;
  bool has_fingerprint;
  msgpack_zone *zone; /* parameter defaults */
};

/*
 * Reads a scanner's descriptor map into *info and checks it: names and aliases
 * (hostdecl_check_declared_name, 'cpu' included), aliases a list, namespaces (names_check_variant),
 * required functions present, parameters well formed (kinds, JSON defaults, no duplicates),
 * lazy libraries inside the adapter's directory. Returns 0, -EINVAL with the rule broken in
 * why, or -ENOMEM. *info is left empty on error.
 */
int plugin_info_parse(const msgpack_object *desc, enum plugin_kind kind, struct plugin_info *info, char *why,
                      size_t why_len);
void plugin_info_free(struct plugin_info *info);

/* Packs a summary for introspection: kind-specific fields, function names. */
void plugin_info_pack(const struct plugin_info *info, msgpack_packer *pk);

const char *plugin_kind_name(enum plugin_kind kind);

#endif
