/*
 * The plugin registry: every entry point of a kind the daemon serves (backend adapters,
 * variant plugins), found by reading distributions, scanned out of process, checked, with
 * its state. A reload builds a new snapshot and swaps it in; plugins are reference counted
 * so a call keeps the code it started with until it finishes.
 *
 * Loop thread only.
 */
#ifndef BACKENDD_PLUGINS_H
#define BACKENDD_PLUGINS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dist.h"
#include "plugin_info.h"

struct daemon;
struct plugin_code;
struct dispatch_job;

/* What scanning one (file, symbol, kind) gave: shared by snapshots while the file is unchanged. */
struct scan_result {
  int refs;
  char *file;
  char *symbol;
  enum plugin_kind kind;
  struct file_id file_id;
  enum ep_state state;
  char *reason;             /* when not EP_OK */
  struct plugin_info info;  /* when EP_OK */
};

struct plugin {
  int refs;
  char *dist_name, *dist_key, *dist_version;
  char *dist_path;            /* the .dist-info directory */
  char *group, *name, *value; /* the entry point */
  char *file;                 /* resolved shared object, or NULL */
  char *symbol;               /* attr, or the kind's default symbol */
  struct file_id file_id;
  enum plugin_kind kind;
  enum ep_state state;
  char *reason;               /* why it cannot be used (when not EP_OK) */
  struct scan_result *scan;   /* NULL when it was never scanned */
  /*
   * Backend adapters with lazy functions: per function of scan->info, the identity its lazy
   * library had when this snapshot was built (all zero: no library, or none on disk). A
   * reload that finds another file there replaces the plugin; loading refuses another file.
   */
  struct file_id *lazy_ids;
  /*
   * Loaded in this process on first use, else NULL. Written under `lock` by the thread that
   * loads it; the loop thread reads it to report "loaded", and dispatch.c while no load runs.
   */
  struct plugin_code *code;
  pthread_mutex_t lock;       /* its loading; a variant plugin's calls, one at a time */
  /*
   * dispatch.c, loop thread: while a worker loads a backend adapter's code (or a lazy
   * library), its other calls wait here, not on worker threads, so a slow load holds one
   * worker. (Adapters that are not thread-safe run one call at a time per file: dispatch.c.)
   */
  bool loading;
  struct dispatch_job *load_waiting_head, *load_waiting_tail;
};

struct plugin_set {
  uint64_t generation; /* counts the snapshots: what a cache built from one compares */
  struct dist_set dists;
  struct plugin **plugins;
  size_t n;
};

/* Sets up the registry and registers its reload hook. Returns 0 or a negative error. */
int plugins_init(struct daemon *d);
void plugins_free(struct daemon *d);

/* The current snapshot (never NULL after plugins_init). */
const struct plugin_set *plugins_current(const struct daemon *d);

/* Finds a usable or unusable entry point by group and entry-point name; NULL when absent. */
struct plugin *plugins_find(const struct daemon *d, const char *group, const char *name);

void plugin_ref(struct plugin *p);
/* Drops a reference; the last one unloads the plugin's code. */
void plugin_unref(struct plugin *p);

const char *ep_state_name(enum ep_state state);

#endif
