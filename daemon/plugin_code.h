/*
 * A plugin's code loaded into the daemon itself, once it passed the scanner: the shared
 * object, its descriptor and its instance. Loaded on first use, unloaded when the last
 * reference to its plugin goes (plugin_unref), so a call finishes on the code it started with
 * even when a reload replaced the plugin.
 */
#ifndef BACKENDD_PLUGIN_CODE_H
#define BACKENDD_PLUGIN_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include <backend/plugin.h>

struct plugin;

struct plugin_code {
  void *dl;
  int fd;                 /* keeps "/proc/self/fd/N", the name dlopen knows it by, unique */
  const void *descriptor; /* struct backend_adapter or struct variant_plugin */
  void *instance;         /* from the descriptor's create(), or NULL */
  /* Backend adapters: each function's implementation once resolved, and the lazy libraries loaded for them. */
  backend_impl *impls;    /* per function, NULL until resolved */
  void **lazy_dls;        /* one per function that loaded a library */
  int *lazy_fds;          /* the descriptor each lazy library was loaded through, else -1 */
  size_t n_functions;     /* of all three arrays: 0 until they are all allocated */
};

/*
 * Loads p's code if not yet loaded; call with p->lock held. Refuses a file that changed since it was scanned (a
 * reload will rescan it). Returns 0, or a negative error with the reason in why.
 */
int plugin_code_load(struct plugin *p, char *why, size_t why_len);

/*
 * The implementation of a backend adapter's function number fn (as the scanner listed them),
 * loading the adapter and, for a lazy function, its library on first use; call with p->lock
 * held. A lazy library that is not the file recorded for p (plugin_code_record_lazy) is
 * refused, and with check_security one others could write. Returns 0 with
 * *impl set, or a negative error with the reason in why.
 */
int plugin_code_backend_impl(struct plugin *p, size_t fn, bool check_security, backend_impl *impl, char *why,
                             size_t why_len);

/*
 * Records in p->lazy_ids the identity of each lazy library p's functions name, as found now
 * (p's scan is set). Loop thread, before p is in a snapshot. Returns 0 or -ENOMEM.
 */
int plugin_code_record_lazy(struct plugin *p);

/* Are p's lazy libraries on disk still the files plugin_code_record_lazy() found? */
bool plugin_code_lazy_unchanged(const struct plugin *p);

/* Destroys the instance and unloads the code (plugin_unref does this). */
void plugin_code_unload(struct plugin *p);

#endif
