/*
 * The variant side of the registry: which plugin provides each namespace (or which ones
 * conflict over it), and each static plugin's supported configs, asked once and kept — in
 * memory until the next reload, and in the SQLite cache across restarts.
 *
 * A table is rebuilt at every reload and reference counted: a request keeps the table it
 * started with. Loop thread only.
 */
#ifndef BACKENDD_VARIANTS_H
#define BACKENDD_VARIANTS_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "plugins.h"
#include "vprop.h"

struct daemon;
struct variants;

enum vstatic_state { VSTATIC_UNKNOWN, VSTATIC_PENDING, VSTATIC_READY, VSTATIC_FAILED };

struct vstatic_waiter;

struct vnamespace {
  char *ns;
  struct plugin *provider;   /* the one plugin of this namespace, or NULL on conflict */
  struct plugin **claimants; /* every usable plugin claiming it (two or more: a conflict) */
  size_t n_claimants;
  char *conflict;            /* "namespace 'x' is provided by both ...", or NULL */
  /* A static provider's answer. */
  enum vstatic_state state;
  struct vconfigs configs;   /* when READY */
  char *error;               /* when FAILED */
  const char *source;        /* "cache" or "plugin" once READY */
  struct vstatic_waiter *waiters;
};

struct vtable {
  int refs;
  struct daemon *d;
  struct vnamespace *ns; /* sorted by name */
  size_t n;
};

int variants_init(struct daemon *d);
void variants_free(struct daemon *d);

/* The current table, with a reference for the caller (vtable_unref when done). */
struct vtable *variants_table(struct daemon *d);
void vtable_unref(struct vtable *t);

struct vnamespace *vtable_find(struct vtable *t, const char *ns);

/*
 * For a static provider: makes sure its answer is known (memory, then cache, then the
 * plugin on a worker thread) and calls cb(arg) when entry->state is READY or FAILED —
 * at once when it already is. The table must stay referenced until then.
 */
int variants_ensure_static(struct vtable *t, struct vnamespace *entry, void (*cb)(void *arg), void *arg);

/* Packs a vconfigs as {namespace, features: [{name, values}]}. */
void vconfigs_pack(const struct vconfigs *c, msgpack_packer *pk);

/* Cache counters and file, for daemon.info. */
void variants_pack_cache_info(struct daemon *d, msgpack_packer *pk);

#endif
