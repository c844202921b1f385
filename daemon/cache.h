/*
 * The variant cache (DESIGN §6): what static variant plugins answered, in one SQLite file,
 * keyed so that an answer is reused across restarts until the plugin or the system changes.
 * Used on the loop thread only.
 *
 * The cache never stops the daemon: a file that is corrupt, truncated (empty included),
 * unreadable, not a backendd cache, or of a schema version this daemon does not know is
 * renamed aside (<file>.broken-<unix time>, with its -wal) with a warning, and a new one is
 * created; if even that fails, the cache runs disabled (every lookup misses) and says so once
 * in the log. Corruption that only shows after open is handled the same way, once.
 *
 * A file locked by another process is never renamed: a live process (another backendd, an
 * sqlite3 shell) is using it. No call waits more than a few milliseconds for a lock; while the
 * file is locked, lookups and stores fail with -EBUSY, and if it was locked at open, opening
 * is retried by a later call (at most once a second).
 */
#ifndef BACKENDD_CACHE_H
#define BACKENDD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dist.h" /* struct file_id */

struct cache;

struct cache_key {
  const char *dist;        /* PEP 503 normalised distribution name */
  const char *api_ref;     /* the plugin API reference: the entry point's object reference */
  const char *version;     /* the distribution's version */
  struct file_id file_id;  /* the plugin file's identity */
  const char *fingerprint; /* the plugin's system fingerprint, or NULL when it has none
                              (stored as "": NULL and "" are the same key) */
};

struct cache_stats {
  uint64_t hits;
  uint64_t misses;
  bool enabled; /* false once disabled; true while merely locked */
};

/*
 * Opens (creating directories and the file as needed) the cache at path. Always returns a
 * usable cache in *out (disabled when nothing else works); the return value is 0, -EBUSY when
 * the file is locked by another process (not disabled: it is used once free), or the negative
 * error that disabled it.
 */
int cache_open(const char *path, struct cache **out);
void cache_close(struct cache *c);

/*
 * The answer stored for key: 1 with *blob and *len set (caller frees *blob), 0 when there is
 * none (a miss; always so when the cache is disabled), or a negative error such as -EBUSY
 * (counted as a miss). Entries of the same dist and api_ref under another version, file or
 * fingerprint are never returned.
 */
int cache_get(struct cache *c, const struct cache_key *key, char **blob, size_t *len);

/*
 * Stores an answer, replacing any entry of the same dist and api_ref (an old version's answer
 * is of no further use). Returns 0 or a negative error (logged once; the daemon goes on): on a
 * disabled cache, the error that disabled it; -EBUSY while another process holds the file.
 */
int cache_put(struct cache *c, const struct cache_key *key, const void *blob, size_t len);

void cache_get_stats(const struct cache *c, struct cache_stats *out);
/* The file in use, or NULL when disabled. */
const char *cache_path(const struct cache *c);

#endif
