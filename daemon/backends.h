/*
 * A host's backends (doc/backends.md, "Discovery and trust"): the adapters registered under
 * its entry-point group, after its reserved names, its trust checks and name conflicts.
 * Built from one plugin snapshot; reading it loads no plugin code. Loop thread only.
 */
#ifndef BACKENDD_BACKENDS_H
#define BACKENDD_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct host;
struct plugin;
struct plugin_info;
struct plugin_set;

struct backend {
  struct plugin *plugin;          /* one reference */
  const struct plugin_info *info; /* its descriptor; NULL when the plugin is unusable */
  bool trusted;
  char *reason;                   /* refused: why */
};

struct backend_table {
  uint64_t generation;      /* of the plugin snapshot it was built from */
  struct backend *usable;   /* sorted by name */
  size_t n;
  struct backend *refused;  /* unusable plugins, refused and losing adapters, in discovery order */
  size_t n_refused;
};

/* Builds h's table from s. Returns 0 or -ENOMEM (then *out is NULL). */
int backend_table_build(const struct host *h, const struct plugin_set *s, struct backend_table **out);
void backend_table_free(struct backend_table *t);

/* The usable backend whose name or alias is `name`, or NULL. */
const struct backend *backend_table_find(const struct backend_table *t, const char *name);

/* The refused entry for an adapter that claimed `name` (name or alias), or NULL. */
const struct backend *backend_table_find_refused(const struct backend_table *t, const char *name);

/*
 * The known name (usable names and aliases, the host's trusted and reserved names, "cpu")
 * closest to `name` by edit distance, when close enough to be a likely typo; else NULL.
 */
const char *backend_table_suggest(const struct backend_table *t, const struct host *h, const char *name);

/* Packs {name, aliases, trusted, distribution, version, entry_point, value, functions, thread_safe, loaded, state, reason}. */
void backend_pack(msgpack_packer *pk, const struct backend *b);

#endif
