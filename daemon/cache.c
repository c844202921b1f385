/*
 * The variant cache (DESIGN §6) in one SQLite file: see cache.h for the contract.
 *
 * A file only ever appears at the cache path fully initialised: a new cache is built under a
 * temporary name and moved into place without replacing anything. So an empty file there is
 * never "being created": it is a truncated cache, and is set aside like any broken one.
 *
 * A file that is locked when we open it is NOT renamed: a lock means a live process (another
 * backendd, an sqlite3 shell) is using it, and moving a SQLite file under a live connection
 * splits it from its -wal/-shm files. The cache then misses while the lock lasts, and opening
 * is retried on a later call, at most once per LOCKED_RETRY_MS.
 */
#define _GNU_SOURCE
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The loop thread may wait this long for another process's lock, and no longer. */
#define BUSY_TIMEOUT_MS 5
#define LOCKED_RETRY_MS 1000
/* Room for "dev:ino:size:mtime_ns", four 64-bit numbers. */
#define FILE_ID_LEN 96

/*
 * Schema steps: migrations[i] takes user_version i to i + 1. A new version appends a step;
 * never edit a released one.
 */
static const char *const migrations[] = {
  /* 1: one answer per plugin (dist, api_ref); the other key parts must match to be used. */
  "CREATE TABLE answers ("
  " dist TEXT NOT NULL,"
  " api_ref TEXT NOT NULL,"
  " version TEXT NOT NULL,"
  " file_id TEXT NOT NULL,"     /* "dev:ino:size:mtime_ns" */
  " fingerprint TEXT NOT NULL," /* '' when the plugin has none */
  " answer BLOB NOT NULL,"      /* opaque here (the caller's MessagePack) */
  " stored_at INTEGER NOT NULL," /* unix time, for people reading the file */
  " PRIMARY KEY (dist, api_ref))",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

static const char sql_get[] =
  "SELECT answer FROM answers"
  " WHERE dist = ?1 AND api_ref = ?2 AND version = ?3 AND file_id = ?4 AND fingerprint = ?5";
static const char sql_put[] =
  "INSERT INTO answers (dist, api_ref, version, file_id, fingerprint, answer, stored_at)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
  " ON CONFLICT (dist, api_ref) DO UPDATE SET version = excluded.version,"
  " file_id = excluded.file_id, fingerprint = excluded.fingerprint,"
  " answer = excluded.answer, stored_at = excluded.stored_at";

enum cache_state {
  CACHE_OPEN,     /* db is open, checked and prepared */
  CACHE_LOCKED,   /* another process held the file at open: retry at retry_at */
  CACHE_DISABLED, /* every lookup misses; error says why */
};

struct cache {
  char *file; /* the configured path, kept for messages even when disabled */
  enum cache_state state;
  int error; /* CACHE_DISABLED: what disabled it */
  sqlite3 *db;
  sqlite3_stmt *get, *put;
  dev_t dev; /* the file last opened, so a set-aside moves that file and no other */
  ino_t ino;
  uint64_t retry_at; /* CACHE_LOCKED: monotonic ms */
  uint64_t hits, misses;
  bool recovered; /* the one set-aside allowed after open was used */
  bool warned;    /* a failed lookup or store was logged; later ones go to debug */
  char why[256];  /* what was wrong with the file, for the warning */
};

/* When even allocating fails, cache_open still hands out a (disabled) cache. */
static struct cache oom_cache = {.state = CACHE_DISABLED, .error = -ENOMEM};

/* ------------------------------------------------------------------------------------------
 * Helpers
 */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool is_busy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static bool is_corrupt(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static int errno_from_sqlite(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE: return 0;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return -EBUSY;
  case SQLITE_NOMEM: return -ENOMEM;
  case SQLITE_READONLY: return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH: return -EACCES;
  case SQLITE_FULL: return -ENOSPC;
  case SQLITE_TOOBIG: return -E2BIG;
  case SQLITE_CANTOPEN: return -ENOENT;
  default: return -EIO;
  }
}

/* Records what went wrong with the file; returns rc. */
static int fail(struct cache *c, sqlite3 *db, int rc, const char *what) {
  snprintf(c->why, sizeof c->why, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return rc;
}

/* mkdir -p of the directories above path, mode 0755. */
static int make_parents(const char *path) {
  char *p = strdup(path);
  int r = 0;
  if (p == NULL)
    return -ENOMEM;
  for (char *s = strchr(p + 1, '/'); s != NULL && r == 0; s = strchr(s + 1, '/')) {
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
      r = -errno;
    *s = '/';
  }
  free(p);
  return r;
}

/* rename() that never replaces an existing file (-EEXIST instead). */
static int move_noreplace(const char *from, const char *to) {
  struct stat st;
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -errno;
  /* A filesystem without RENAME_NOREPLACE: check, then rename. */
  if (lstat(to, &st) == 0)
    return -EEXIST;
  return rename(from, to) == 0 ? 0 : -errno;
}

/* Runs sql and reads the first column of its first row as text ("" when there is none). */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  buf[0] = '\0';
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize(st);
  return rc;
}

static int query_int(sqlite3 *db, const char *sql, int *out) {
  char buf[32];
  int rc = query_text(db, sql, buf, sizeof buf);
  *out = atoi(buf);
  return rc;
}

static void close_db(struct cache *c) {
  sqlite3_finalize(c->get);
  sqlite3_finalize(c->put);
  sqlite3_close(c->db); /* every statement is finalized, so this cannot be refused */
  c->get = c->put = NULL;
  c->db = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Schema
 */

/* Brings db from its user_version to SCHEMA_VERSION in one transaction. */
static int migrate(struct cache *c, sqlite3 *db) {
  char sql[64];
  int from, rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return fail(c, db, rc, "cannot start the schema update");
  /* Read again inside the transaction: another process may have updated it meanwhile. */
  rc = query_int(db, "PRAGMA user_version", &from);
  for (int i = from; rc == SQLITE_OK && i < SCHEMA_VERSION; i++)
    rc = sqlite3_exec(db, migrations[i], NULL, NULL, NULL);
  if (rc == SQLITE_OK) {
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    fail(c, db, rc, "cannot update the schema");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  return rc;
}

/* Reads the schema version of the open file, refusing one that is newer or not ours. */
static int check_version(struct cache *c, int *version) {
  int tables, rc = query_int(c->db, "PRAGMA user_version", version);
  if (rc != SQLITE_OK)
    return fail(c, c->db, rc, "cannot read the schema version");
  if (*version > SCHEMA_VERSION) {
    snprintf(c->why, sizeof c->why, "schema version %d is newer than this daemon's %d", *version,
             SCHEMA_VERSION);
    return SQLITE_ERROR;
  }
  if (*version == 0) {
    /* Every cache this daemon writes has a version, so tables without one are someone else's. */
    rc = query_int(c->db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != SQLITE_OK)
      return fail(c, c->db, rc, "cannot read the schema");
    if (tables > 0) {
      snprintf(c->why, sizeof c->why, "not a backendd cache (tables, but no schema version)");
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

/*
 * Checks, settings, schema update and statements, on a freshly opened c->db. The checks only
 * read, so a file that fails them is set aside exactly as it was found.
 */
static int configure(struct cache *c) {
  char buf[256];
  int version, rc;
  sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
  /* The cache is small: checking its structure once at open is cheap and catches truncation. */
  rc = query_text(c->db, "PRAGMA quick_check", buf, sizeof buf);
  if (rc != SQLITE_OK)
    return fail(c, c->db, rc, "structure check failed");
  if (strcmp(buf, "ok") != 0) {
    snprintf(c->why, sizeof c->why, "structure check failed: %.200s", buf);
    return SQLITE_CORRUPT;
  }
  rc = check_version(c, &version);
  if (rc != SQLITE_OK)
    return rc;
  rc = query_text(c->db, "PRAGMA journal_mode = WAL", buf, sizeof buf);
  if (rc != SQLITE_OK)
    return fail(c, c->db, rc, "cannot switch to WAL");
  if (strcmp(buf, "wal") != 0) /* still works, only with less concurrency */
    log_debug("cache %s: journal mode is %s, not wal", c->file, buf);
  rc = sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return fail(c, c->db, rc, "cannot be set up");
  if (version < SCHEMA_VERSION && (rc = migrate(c, c->db)) != SQLITE_OK)
    return rc;
  rc = sqlite3_prepare_v3(c->db, sql_get, -1, SQLITE_PREPARE_PERSISTENT, &c->get, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(c->db, sql_put, -1, SQLITE_PREPARE_PERSISTENT, &c->put, NULL);
  return rc == SQLITE_OK ? rc : fail(c, c->db, rc, "cannot prepare statements");
}

/* ------------------------------------------------------------------------------------------
 * Opening, setting aside, rebuilding
 */

/*
 * Opens the file at c->file: 0, -ENOENT when there is none, -EBUSY when another process holds
 * it, or another negative error. *broken says the file is there but unusable (c->why says
 * how), so it is to be set aside.
 */
static int open_file(struct cache *c, bool *broken) {
  struct stat st;
  int rc;
  *broken = false;
  if (stat(c->file, &st) != 0)
    return -errno;
  if (!S_ISREG(st.st_mode)) {
    snprintf(c->why, sizeof c->why, "not a regular file");
    return -EINVAL; /* not ours to move */
  }
  c->dev = st.st_dev;
  c->ino = st.st_ino;
  if (st.st_size == 0) {
    snprintf(c->why, sizeof c->why, "the file is empty (truncated)");
    *broken = true;
    return -EIO;
  }
  rc = sqlite3_open_v2(c->file, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  rc = rc == SQLITE_OK ? configure(c) : fail(c, c->db, rc, "cannot be opened");
  if (rc == SQLITE_OK)
    return 0;
  close_db(c);
  *broken = !is_busy(rc) && rc != SQLITE_NOMEM;
  return *broken ? -EIO : errno_from_sqlite(rc);
}

/* Builds an empty cache under a temporary name and moves it to c->file, if none is there. */
static int create_file(struct cache *c) {
  sqlite3 *db = NULL;
  char *tmp;
  int rc, r = make_parents(c->file);
  if (r < 0) {
    snprintf(c->why, sizeof c->why, "cannot create its directory: %s", strerror(-r));
    return r;
  }
  if (asprintf(&tmp, "%s.new-%ld", c->file, (long)getpid()) < 0)
    return -ENOMEM;
  unlink(tmp); /* a leftover of a crashed process that had our pid */
  /* Rollback journal while building: all of it is in the one file when it is moved. */
  rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL);
  rc = rc == SQLITE_OK ? migrate(c, db) : fail(c, db, rc, "cannot create a new cache");
  sqlite3_close(db);
  r = rc == SQLITE_OK ? move_noreplace(tmp, c->file) : errno_from_sqlite(rc);
  if (r == -EEXIST)
    r = 0; /* another process made one meanwhile: use it */
  else if (r < 0 && rc == SQLITE_OK)
    snprintf(c->why, sizeof c->why, "cannot create a new cache: %s", strerror(-r));
  unlink(tmp);
  free(tmp);
  return r;
}

/* Moves name+suffix to aside+suffix, when there is one. */
static void move_companion(const char *name, const char *aside, const char *suffix) {
  char *from = NULL, *to = NULL;
  if (asprintf(&from, "%s%s", name, suffix) >= 0 && asprintf(&to, "%s%s", aside, suffix) >= 0)
    move_noreplace(from, to);
  free(from);
  free(to);
}

/* Renames the broken file (and its journal or WAL) to <file>.broken-<unix time>. */
static int set_aside(struct cache *c) {
  char *aside = NULL;
  long long now = (long long)time(NULL);
  struct stat st;
  int r = -EEXIST;
  close_db(c);
  if (stat(c->file, &st) != 0 || st.st_dev != c->dev || st.st_ino != c->ino) {
    log_warning("cache %s: %s; another process has already replaced it", c->file, c->why);
    return 0;
  }
  for (int i = 0; i < 100 && r == -EEXIST; i++) {
    free(aside);
    aside = NULL;
    if ((i == 0 ? asprintf(&aside, "%s.broken-%lld", c->file, now)
                : asprintf(&aside, "%s.broken-%lld.%d", c->file, now, i)) < 0)
      return -ENOMEM;
    r = move_noreplace(c->file, aside);
  }
  if (r == 0) {
    /* A WAL left behind would be replayed into the new file; it belongs with the old one. */
    move_companion(c->file, aside, "-wal");
    move_companion(c->file, aside, "-journal");
    move_companion(c->file, aside, "-shm");
    log_warning("cache %s: %s; moved it to %s and starting a new cache", c->file, c->why, aside);
  } else {
    snprintf(c->why + strlen(c->why), sizeof c->why - strlen(c->why),
             "; cannot move it aside: %s", strerror(-r));
  }
  free(aside);
  return r;
}

/* Sets the broken file aside and opens a new one in its place. */
static int rebuild(struct cache *c) {
  bool broken;
  int r = set_aside(c);
  if (r == 0)
    r = create_file(c);
  if (r == 0)
    r = open_file(c, &broken);
  return r;
}

/* Opens c->file, creating it or replacing a broken one: 0, -EBUSY, or what makes it unusable. */
static int setup(struct cache *c) {
  bool broken;
  int r;
  c->why[0] = '\0';
  r = open_file(c, &broken);
  if (r == -ENOENT) {
    r = create_file(c);
    if (r == 0)
      r = open_file(c, &broken);
  }
  return broken ? rebuild(c) : r;
}

static void disable(struct cache *c, int r) {
  close_db(c);
  c->state = CACHE_DISABLED;
  c->error = r;
  log_warning("cache %s: %s; running without a cache (every lookup misses)", c->file,
              c->why[0] != '\0' ? c->why : strerror(-r));
}

/* Puts c in the state that setup's result r calls for. */
static void enter_state(struct cache *c, int r) {
  if (r == 0) {
    c->state = CACHE_OPEN;
  } else if (r == -EBUSY) {
    if (c->state != CACHE_LOCKED)
      log_warning("cache %s is locked by another process: not using it while it is (the file is "
                  "left alone)", c->file);
    c->state = CACHE_LOCKED;
    c->retry_at = now_ms() + LOCKED_RETRY_MS;
  } else {
    disable(c, r);
  }
}

/* 0 when c->db may be used; otherwise why not. */
static int ready(struct cache *c) {
  if (c->state == CACHE_LOCKED && now_ms() >= c->retry_at) {
    enter_state(c, setup(c));
    if (c->state == CACHE_OPEN)
      log_info("cache %s: no longer locked, using it", c->file);
  }
  switch (c->state) {
  case CACHE_OPEN: return 0;
  case CACHE_LOCKED: return -EBUSY;
  default: return c->error;
  }
}

/* A file found corrupt after open is set aside once; a second time, the cache is disabled. */
static int recover(struct cache *c, int rc) {
  if (c->recovered) {
    fail(c, c->db, rc, "corrupt again after being rebuilt");
    disable(c, -EIO);
    return -EIO;
  }
  c->recovered = true;
  fail(c, c->db, rc, "found corrupt");
  enter_state(c, rebuild(c));
  return c->state == CACHE_OPEN ? 0 : -EIO;
}

/* ------------------------------------------------------------------------------------------
 * Lookups and stores
 */

static bool key_valid(const struct cache_key *key) {
  return key != NULL && key->dist != NULL && key->api_ref != NULL && key->version != NULL;
}

static void format_file_id(const struct file_id *id, char buf[FILE_ID_LEN]) {
  snprintf(buf, FILE_ID_LEN, "%ju:%ju:%jd:%jd", (uintmax_t)id->dev, (uintmax_t)id->ino,
           (intmax_t)id->size, (intmax_t)id->mtime_ns);
}

/* Binds ?1..?5. Static bindings: the statement is reset and cleared before the call returns. */
static int bind_key(sqlite3_stmt *st, const struct cache_key *key, const char *file_id) {
  int rc = sqlite3_bind_text(st, 1, key->dist, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, key->api_ref, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 3, key->version, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 4, file_id, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) /* no fingerprint is stored as '': the column is part of the match */
    rc = sqlite3_bind_text(st, 5, key->fingerprint != NULL ? key->fingerprint : "", -1,
                           SQLITE_STATIC);
  return rc;
}

static void reset(sqlite3_stmt *st) {
  sqlite3_reset(st); /* ends the statement's transaction; its error was seen from step */
  sqlite3_clear_bindings(st);
}

/* SQLITE_ROW with a copy of the answer, SQLITE_DONE on a miss, or the error. */
static int lookup(struct cache *c, const struct cache_key *key, char **blob, size_t *len) {
  char file_id[FILE_ID_LEN];
  int rc;
  format_file_id(&key->file_id, file_id);
  rc = bind_key(c->get, key, file_id);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(c->get);
  if (rc == SQLITE_ROW) {
    const void *data = sqlite3_column_blob(c->get, 0);
    size_t n = (size_t)sqlite3_column_bytes(c->get, 0);
    *blob = malloc(n > 0 ? n : 1);
    if (*blob == NULL) {
      rc = SQLITE_NOMEM;
    } else {
      if (n > 0)
        memcpy(*blob, data, n);
      *len = n;
    }
  }
  reset(c->get);
  return rc;
}

static int store(struct cache *c, const struct cache_key *key, const void *blob, size_t len) {
  char file_id[FILE_ID_LEN];
  int rc;
  format_file_id(&key->file_id, file_id);
  rc = bind_key(c->put, key, file_id);
  /* A zero-length blob bound from a NULL pointer would be SQL NULL. */
  if (rc == SQLITE_OK)
    rc = len > 0 ? sqlite3_bind_blob64(c->put, 6, blob, len, SQLITE_STATIC)
                 : sqlite3_bind_zeroblob(c->put, 6, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(c->put, 7, (sqlite3_int64)time(NULL));
  if (rc == SQLITE_OK)
    rc = sqlite3_step(c->put);
  reset(c->put);
  return rc;
}

/* The result of a lookup or store as cache.h returns it; a failure is logged once. */
static int outcome(struct cache *c, int rc, const char *what) {
  int r;
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE || rc == SQLITE_OK)
    return 0;
  r = errno_from_sqlite(rc);
  if (c->state == CACHE_DISABLED) /* disable() said so */
    return r;
  if (!c->warned)
    log_warning("cache %s: %s failed: %s (further failures are logged at debug level)", c->file,
                what, sqlite3_errstr(rc));
  else
    log_debug("cache %s: %s failed: %s", c->file, what, sqlite3_errstr(rc));
  c->warned = true;
  return r;
}

/* ------------------------------------------------------------------------------------------
 * Interface
 */

int cache_open(const char *path, struct cache **out) {
  struct cache *c = calloc(1, sizeof *c);
  if (c == NULL || path == NULL || (c->file = strdup(path)) == NULL) {
    free(c);
    log_warning("cache: %s; running without a cache", path == NULL ? "no file" : strerror(ENOMEM));
    *out = &oom_cache;
    return path == NULL ? -EINVAL : -ENOMEM;
  }
  c->state = CACHE_DISABLED; /* so that enter_state logs a lock */
  enter_state(c, setup(c));
  *out = c;
  return c->state == CACHE_DISABLED ? c->error : c->state == CACHE_LOCKED ? -EBUSY : 0;
}

void cache_close(struct cache *c) {
  if (c == NULL || c == &oom_cache)
    return;
  close_db(c);
  free(c->file);
  free(c);
}

int cache_get(struct cache *c, const struct cache_key *key, char **blob, size_t *len) {
  int r, rc;
  *blob = NULL;
  *len = 0;
  r = key_valid(key) ? ready(c) : -EINVAL;
  if (r == 0) {
    rc = lookup(c, key, blob, len);
    if (is_corrupt(rc) && recover(c, rc) == 0)
      rc = lookup(c, key, blob, len);
    r = outcome(c, rc, "lookup");
  } else if (c->state == CACHE_DISABLED) {
    r = 0; /* a disabled cache is just a cache that misses */
  }
  if (r == 1)
    c->hits++;
  else
    c->misses++;
  return r;
}

int cache_put(struct cache *c, const struct cache_key *key, const void *blob, size_t len) {
  int rc, r = key_valid(key) && (blob != NULL || len == 0) ? ready(c) : -EINVAL;
  if (r < 0)
    return r;
  rc = store(c, key, blob, len);
  if (is_corrupt(rc) && recover(c, rc) == 0)
    rc = store(c, key, blob, len);
  return outcome(c, rc, "store");
}

void cache_get_stats(const struct cache *c, struct cache_stats *out) {
  out->hits = c->hits;
  out->misses = c->misses;
  out->enabled = c->state != CACHE_DISABLED;
}

const char *cache_path(const struct cache *c) {
  return c->state == CACHE_DISABLED ? NULL : c->file;
}
