/*
 * Reload: SIGHUP and daemon.reload run every registered hook, one after another, and
 * collect what each one added, removed, changed or failed into one report. A reload asked
 * for while one runs is served by the next pass, so it sees every change made before it.
 */
#ifndef BACKENDD_RELOAD_H
#define BACKENDD_RELOAD_H

#include <msgpack.h>

struct daemon;
struct reload_pass;

enum reload_change { RELOAD_ADDED, RELOAD_REMOVED, RELOAD_CHANGED, RELOAD_FAILED };

/* A hook does its work (possibly asynchronously) and then calls reload_hook_done(pass). */
typedef void (*reload_hook)(struct reload_pass *pass, void *data);
/* Called when the pass that serves a reload_start() completes. */
typedef void (*reload_done_cb)(const struct reload_pass *pass, void *arg);

int reload_init(struct daemon *d);
void reload_free(struct daemon *d);

/* Adds a hook (run in registration order). Returns 0 or -ENOMEM. */
int reload_register(struct daemon *d, const char *name, reload_hook fn, void *data);

/*
 * Watches every pass, the first discovery included: begin runs as a pass starts, end as it
 * completes, before the reload_start() callbacks it serves (so the service manager hears
 * "reloaded" before a daemon.reload caller is answered). Either may be NULL; one observer.
 */
typedef void (*reload_begin_cb)(struct daemon *d, void *arg);
void reload_observe(struct daemon *d, reload_begin_cb begin, reload_done_cb end, void *arg);

/* Asks for a reload; cb (may be NULL) runs when it is done. Returns 0 or -ENOMEM. */
int reload_start(struct daemon *d, reload_done_cb cb, void *arg);

/* For hooks: record one change, e.g. reload_note(p, RELOAD_ADDED, "dist 1.0 (variant_plugins: x)"). */
void reload_note(struct reload_pass *pass, enum reload_change kind, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
void reload_hook_done(struct reload_pass *pass);

/* Packs the report {added: [str], removed: [...], changed: [...], failed: [...]}. */
void reload_pack_report(const struct reload_pass *pass, msgpack_packer *pk);

#endif
