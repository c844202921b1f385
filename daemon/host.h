/*
 * A host library's declaration (doc/backends.md): its functions with signatures and docs,
 * its trusted and reserved backend names. Parsed from host.declare parameters or from a
 * declaration file, checked, and immutable afterwards; shared by reference.
 */
#ifndef BACKENDD_HOST_H
#define BACKENDD_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "hostdecl.h"
#include "signature.h"


struct host_function {
  char *name;
  char *doc;
  struct sig_param *params; /* names and defaults point into the host's storage */
  size_t n_params;
  struct sig sig;           /* over params, for sig_bind */
};

struct host_trusted {
  char *name;
  char **aliases;
  size_t n_aliases;
  char *package;
  char **distributions;     /* PEP 503 normalised; `package` when none were given */
  size_t n_distributions;
  char **entrypoints, **object_refs, **module_prefixes; /* NULL: not checked */
  size_t n_entrypoints, n_object_refs, n_module_prefixes;
};

struct host_reserved {
  char *name;
  char *reason;
};

struct host_name; /* host.c: one of the names below, for lookups */

struct host {
  int refs;
  char *name;
  char *group;
  char *source; /* "declaration file PATH" or "client pid N" */
  struct host_function *functions; /* sorted by name */
  size_t n_functions;
  struct host_trusted *trusted;
  size_t n_trusted;
  struct host_reserved *reserved;
  size_t n_reserved;
  struct host_name *names; /* every trusted name, alias and reserved name, sorted, each once */
  size_t n_names;
  msgpack_zone zone; /* the defaults */
  /* Loop thread only: its backends under the plugin snapshot they were built from (hosts.c). */
  struct backend_table *backends;
};

/*
 * Parses and checks a declaration (the host.declare parameter map). Returns 0 with a new
 * host (one reference), -EINVAL with the rule broken in why, or -ENOMEM.
 */
int host_parse(const msgpack_object *decl, const char *source, struct host **out, char *why, size_t why_len);

/* Reads a declaration file (JSON). Same returns; why also names the file. */
int host_load_file(const char *path, struct host **out, char *why, size_t why_len);

void host_ref(struct host *h);
void host_unref(struct host *h);

const struct host_function *host_find_function(const struct host *h, const char *name, size_t len);
/* The trusted entry whose name or one of whose aliases is `name`, or NULL. */
const struct host_trusted *host_find_trusted(const struct host *h, const char *name);
/* The reserved entry called name, or NULL. */
const struct host_reserved *host_find_reserved(const struct host *h, const char *name);

/* "positional", "keyword_only", ...; NULL for an unknown kind. */
const char *host_param_kind_name(uint32_t kind);

#endif
