/*
 * Runs plugin scanners (scanner.h) from the loop: at most a few at once, each with a time
 * limit, and hands each result back as a decoded descriptor or a reason for failure.
 */
#ifndef BACKENDD_SCAN_H
#define BACKENDD_SCAN_H

#include <msgpack.h>
#include <uv.h>

struct scan_pool;

/*
 * The result of one scan. On success descriptor is the map the scanner wrote (valid during
 * the callback only) and why is NULL; otherwise descriptor is NULL and why says what happened
 * ("crashed (SIGSEGV) while loading", "no exported symbol 'x'", ...). Both are NULL when the
 * scan was cancelled by scan_pool_free: release arg and touch nothing else.
 */
typedef void (*scan_cb)(void *arg, const msgpack_object *descriptor, const char *why);

/* timeout_ms: how long one plugin may take to load before its scanner is killed. */
int scan_pool_new(uv_loop_t *loop, unsigned timeout_ms, struct scan_pool **out);
/* Kills running scans and cancels queued ones (their callbacks get NULL, NULL). */
void scan_pool_free(struct scan_pool *pool);

/* Queues a scan of `symbol` in `file`; kind is "backend" or "variant". Returns 0 or -ENOMEM. */
int scan_submit(struct scan_pool *pool, const char *kind, const char *file, const char *symbol, scan_cb cb,
                void *arg);

#endif
