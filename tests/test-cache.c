/*
 * Unit tests for the variant cache (daemon/cache.c): exact-key lookups, replacement of an
 * old version's answer, persistence, counters, and what happens to files that are corrupt,
 * truncated, empty, of a newer schema, impossible to create, or locked by another connection.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"

#define PATH_LEN 4096

static char dir[256];       /* a temporary directory per test */
static char path[PATH_LEN]; /* <dir>/cache.sqlite */

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/test-cache-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/cache.sqlite", dir);
  log_set_level(LOG_NOTICE);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(p);
}
static void teardown(void) {
  chmod(dir, 0700);
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
TestSuite(cache, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------------------------
 * Helpers
 */

static struct cache_key base_key(void) {
  struct cache_key k = {
    .dist = "fixture-variant",
    .api_ref = "fixture_variant.plugin:Plugin",
    .version = "1.0",
    .file_id = {.dev = 2049, .ino = 123456, .size = 4096, .mtime_ns = 1700000000123456789LL},
    .fingerprint = "glibc-2.36",
  };
  return k;
}

static struct cache *open_ok(void) {
  struct cache *c;
  cr_assert_eq(cache_open(path, &c), 0);
  cr_assert_not_null(c);
  return c;
}

static void put_ok(struct cache *c, const struct cache_key *k, const char *answer) {
  cr_assert_eq(cache_put(c, k, answer, strlen(answer)), 0, "put of \"%s\"", answer);
}

/* Asserts a hit with exactly answer. */
static void expect_hit(struct cache *c, const struct cache_key *k, const char *answer) {
  char *blob;
  size_t len;
  cr_assert_eq(cache_get(c, k, &blob, &len), 1, "expected a hit for \"%s\"", answer);
  cr_assert_eq(len, strlen(answer));
  cr_assert_eq(memcmp(blob, answer, len), 0);
  free(blob);
}

static void expect_miss(struct cache *c, const struct cache_key *k, const char *what) {
  char *blob = (char *)"unset";
  size_t len = 99;
  cr_expect_eq(cache_get(c, k, &blob, &len), 0, "expected a miss: %s", what);
  cr_expect_null(blob, "%s", what);
  cr_expect_eq(len, 0, "%s", what);
}

static void write_file(const char *p, const void *data, size_t n) {
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

/* Reads a whole file; caller frees. */
static char *read_file(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  char *buf;
  long size;
  cr_assert_not_null(f, "cannot open %s", p);
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  rewind(f);
  buf = malloc((size_t)size + 1);
  cr_assert_not_null(buf);
  *n = fread(buf, 1, (size_t)size, f);
  cr_assert_eq(*n, (size_t)size);
  buf[*n] = '\0';
  fclose(f);
  return buf;
}

/* The path of the one <path>.broken-* main file (not its -wal/-shm), or "" when there is none. */
static void find_broken(char *out, size_t n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;
  out[0] = '\0';
  cr_assert_not_null(d);
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, "cache.sqlite.broken-", 20) != 0)
      continue;
    if (l > 4 && (strcmp(e->d_name + l - 4, "-wal") == 0 || strcmp(e->d_name + l - 4, "-shm") == 0))
      continue;
    snprintf(out, n, "%s/%s", dir, e->d_name);
    found++;
  }
  closedir(d);
  cr_assert_leq(found, 1, "more than one file was set aside");
}

/* stderr (where log.c writes) goes to a file between capture_start and capture_end. */
static int saved_stderr = -1;
static char capture_path[PATH_LEN];

static void capture_start(void) {
  int fd;
  snprintf(capture_path, sizeof capture_path, "%s.log", dir); /* beside dir, not in it */
  fflush(stderr);
  fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  saved_stderr = dup(2);
  cr_assert_geq(saved_stderr, 0);
  dup2(fd, 2);
  close(fd);
}

/* Returns what was logged; caller frees. */
static char *capture_end(void) {
  size_t n;
  char *text;
  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  text = read_file(capture_path, &n);
  unlink(capture_path);
  return text;
}

/*
 * The lock holder keeps its lock for the whole test, so a call that waited for it would never
 * return; this bound only tells "gave up at once" (a 5 ms busy timeout) from "waited", with
 * room for a loaded machine. Speed itself is not what is tested here.
 */
#define NOT_WAITING_MS 2000

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A new cache at path works: a put is read back, and the file is the one in use. */
static void expect_fresh_cache_works(struct cache *c) {
  struct cache_key k = base_key();
  struct cache_stats s;
  cache_get_stats(c, &s);
  cr_assert(s.enabled);
  cr_assert_str_eq(cache_path(c), path);
  expect_miss(c, &k, "a new cache holds nothing");
  put_ok(c, &k, "fresh answer");
  expect_hit(c, &k, "fresh answer");
}

/* Opening a broken file: it is set aside with its contents intact, a warning names both files
 * and the reason, and the new cache works. */
static void expect_set_aside_on_open(const char *reason) {
  char broken[PATH_LEN], *orig, *moved, *log;
  size_t n_orig, n_moved;
  struct cache *c;
  orig = read_file(path, &n_orig);
  capture_start();
  cr_assert_eq(cache_open(path, &c), 0);
  log = capture_end();
  find_broken(broken, sizeof broken);
  cr_assert_neq(broken[0], '\0', "no .broken-* file");
  moved = read_file(broken, &n_moved);
  cr_expect_eq(n_moved, n_orig, "the set-aside file has %zu bytes, not %zu", n_moved, n_orig);
  cr_expect(n_orig == 0 || memcmp(orig, moved, n_orig) == 0, "the set-aside file was changed");
  cr_expect(strstr(log, "warning") != NULL, "no warning logged: %s", log);
  cr_expect(strstr(log, path) != NULL && strstr(log, broken) != NULL,
            "the warning names neither file: %s", log);
  cr_expect(strstr(log, reason) != NULL, "the warning does not say \"%s\": %s", reason, log);
  expect_fresh_cache_works(c);
  cache_close(c);
  free(orig);
  free(moved);
  free(log);
}

/* A real cache of many rows, closed (so all of it is in the main file). */
static void write_big_cache(int rows) {
  struct cache *c = open_ok();
  struct cache_key k = base_key();
  char api_ref[64], answer[512];
  memset(answer, 'x', sizeof answer - 1);
  answer[sizeof answer - 1] = '\0';
  for (int i = 0; i < rows; i++) {
    snprintf(api_ref, sizeof api_ref, "plugin_%d:Plugin", i);
    k.api_ref = api_ref;
    put_ok(c, &k, answer);
  }
  cache_close(c);
}

static sqlite3 *raw_open(void) {
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  return db;
}

static void raw_exec(sqlite3 *db, const char *sql) {
  cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(db));
}

/* ------------------------------------------------------------------------------------------
 * Lookups
 */

Test(cache, answer_is_read_back_exactly) {
  struct cache *c = open_ok();
  struct cache_key k = base_key();
  const char bin[] = {'\x81', '\xa1', 'a', '\0', '\xff', '\0'}; /* NULs are kept */
  char *blob;
  size_t len;
  cr_assert_str_eq(cache_path(c), path);
  cr_assert_eq(cache_put(c, &k, bin, sizeof bin), 0);
  cr_assert_eq(cache_get(c, &k, &blob, &len), 1);
  cr_assert_eq(len, sizeof bin);
  cr_assert_eq(memcmp(blob, bin, len), 0);
  free(blob);

  /* An empty answer is an answer, not a miss. */
  cr_assert_eq(cache_put(c, &k, NULL, 0), 0);
  cr_assert_eq(cache_get(c, &k, &blob, &len), 1);
  cr_assert_eq(len, 0);
  cr_assert_not_null(blob);
  free(blob);
  cache_close(c);
}

Test(cache, every_key_part_must_match) {
  struct cache *c = open_ok();
  struct cache_key base = base_key(), k;
  put_ok(c, &base, "answer");
  expect_hit(c, &base, "answer");

  k = base, k.dist = "other-dist";
  expect_miss(c, &k, "dist");
  k = base, k.api_ref = "fixture_variant.plugin:Other";
  expect_miss(c, &k, "api_ref");
  k = base, k.version = "1.1";
  expect_miss(c, &k, "version");
  k = base, k.file_id.dev++;
  expect_miss(c, &k, "file dev");
  k = base, k.file_id.ino++;
  expect_miss(c, &k, "file ino");
  k = base, k.file_id.size++;
  expect_miss(c, &k, "file size");
  k = base, k.file_id.mtime_ns++;
  expect_miss(c, &k, "file mtime");
  k = base, k.fingerprint = "glibc-2.37";
  expect_miss(c, &k, "fingerprint");
  k = base, k.fingerprint = NULL;
  expect_miss(c, &k, "no fingerprint where one was stored");

  /* And the other way round: stored without a fingerprint, asked with one. */
  k = base, k.fingerprint = NULL, k.api_ref = "fixture_variant.plugin:NoFp";
  put_ok(c, &k, "no fp");
  expect_hit(c, &k, "no fp");
  k.fingerprint = "glibc-2.36";
  expect_miss(c, &k, "a fingerprint where none was stored");

  expect_hit(c, &base, "answer"); /* the misses changed nothing */
  cache_close(c);
}

Test(cache, put_replaces_the_old_versions_answer) {
  struct cache *c = open_ok();
  struct cache_key v1 = base_key(), v2 = base_key(), other = base_key();
  sqlite3 *db;
  sqlite3_stmt *st;
  v2.version = "2.0";
  v2.file_id.mtime_ns += 1000;
  other.api_ref = "fixture_variant.other:Plugin";
  put_ok(c, &v1, "one");
  put_ok(c, &other, "other");
  put_ok(c, &v2, "two");
  expect_miss(c, &v1, "the old version's answer is gone");
  expect_hit(c, &v2, "two");
  expect_hit(c, &other, "other"); /* another api_ref of the same dist stays */

  /* Really replaced, not only hidden: one row per (dist, api_ref). */
  db = raw_open();
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM answers WHERE dist = ?1", -1, &st, NULL),
               SQLITE_OK);
  sqlite3_bind_text(st, 1, v1.dist, -1, SQLITE_STATIC);
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
  cr_expect_eq(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
  sqlite3_close(db);
  cache_close(c);
}

Test(cache, answers_persist_across_close_and_reopen) {
  struct cache *c = open_ok();
  struct cache_key k = base_key(), k2 = base_key();
  k2.dist = "second";
  put_ok(c, &k, "kept");
  put_ok(c, &k2, "also kept");
  cache_close(c);

  c = open_ok();
  expect_hit(c, &k, "kept");
  expect_hit(c, &k2, "also kept");
  cache_close(c);
}

Test(cache, hits_and_misses_are_counted) {
  struct cache *c = open_ok();
  struct cache_key k = base_key(), other = base_key();
  struct cache_stats s;
  other.version = "9";
  cache_get_stats(c, &s);
  cr_assert_eq(s.hits, 0);
  cr_assert_eq(s.misses, 0);
  cr_assert(s.enabled);

  expect_miss(c, &k, "empty cache");
  put_ok(c, &k, "a");
  expect_hit(c, &k, "a");
  expect_hit(c, &k, "a");
  expect_miss(c, &other, "other version");
  cache_get_stats(c, &s);
  cr_expect_eq(s.hits, 2);
  cr_expect_eq(s.misses, 2);
  cache_close(c);
}

Test(cache, missing_directories_are_created) {
  struct cache *c;
  struct stat st;
  snprintf(path, sizeof path, "%s/a/b/cache.sqlite", dir);
  c = open_ok();
  expect_fresh_cache_works(c);
  cache_close(c);
  snprintf(path, sizeof path, "%s/a/b", dir);
  cr_assert_eq(stat(path, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0755 & ~(mode_t)0022 & 0777);
}

/* ------------------------------------------------------------------------------------------
 * Broken files
 */

Test(cache, a_file_of_random_bytes_is_set_aside) {
  unsigned char junk[8192];
  srand(42);
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)rand();
  write_file(path, junk, sizeof junk);
  expect_set_aside_on_open("not a database");
}

Test(cache, a_truncated_cache_is_set_aside) {
  struct stat st;
  write_big_cache(1000);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_gt(st.st_size, 100 * 1024, "the cache is too small to test truncation");
  cr_assert_eq(truncate(path, st.st_size / 2), 0);
  expect_set_aside_on_open("malformed");
}

Test(cache, an_empty_file_is_set_aside) {
  write_file(path, "", 0);
  expect_set_aside_on_open("empty");
}

Test(cache, a_newer_schema_version_is_set_aside) {
  sqlite3 *db;
  struct cache *c = open_ok();
  cache_close(c);
  db = raw_open();
  raw_exec(db, "PRAGMA user_version = 99");
  sqlite3_close(db);
  expect_set_aside_on_open("schema version 99 is newer");
}

Test(cache, someone_elses_database_is_set_aside) {
  sqlite3 *db = raw_open();
  raw_exec(db, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')");
  sqlite3_close(db);
  expect_set_aside_on_open("not a backendd cache");
}

/* Corruption that only shows on a later read: the file is set aside then, once. */
Test(cache, corruption_found_after_open_is_set_aside) {
  struct cache *c;
  struct cache_key k = base_key();
  struct stat st;
  char broken[PATH_LEN], api_ref[64], *log;
  sqlite3 *db;
  int r;
  write_big_cache(1000);
  c = open_ok(); /* checked and found sound */

  /* Another connection's commit makes c drop its page cache; then the file loses its tail. */
  db = raw_open();
  raw_exec(db, "UPDATE answers SET stored_at = 0 WHERE api_ref = 'plugin_0:Plugin'");
  sqlite3_close(db);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(truncate(path, 16 * 1024), 0);

  capture_start();
  snprintf(api_ref, sizeof api_ref, "plugin_%d:Plugin", 999);
  k.api_ref = api_ref;
  r = cache_get(c, &k, &(char *){NULL}, &(size_t){0});
  log = capture_end();
  cr_expect_eq(r, 0, "a corrupt file is a miss (got %d)", r);
  find_broken(broken, sizeof broken);
  cr_expect_neq(broken[0], '\0', "no .broken-* file; log: %s", log);
  cr_expect(strstr(log, "found corrupt") != NULL && strstr(log, broken) != NULL, "log: %s", log);
  expect_fresh_cache_works(c);
  cache_close(c);
  free(log);
}

Test(cache, a_directory_that_cannot_be_created_disables_the_cache) {
  struct cache *c;
  struct cache_key k = base_key();
  struct cache_stats s;
  char file[PATH_LEN], *log;
  int r;
  snprintf(file, sizeof file, "%s/regular-file", dir);
  write_file(file, "x", 1);
  snprintf(path, sizeof path, "%s/regular-file/sub/cache.sqlite", dir);

  capture_start();
  r = cache_open(path, &c);
  log = capture_end();
  cr_assert_not_null(c, "a disabled cache is still a cache");
  cr_expect_eq(r, -ENOTDIR, "got %d", r);
  cr_expect(strstr(log, "running without a cache") != NULL, "log: %s", log);
  cr_expect_null(cache_path(c));

  capture_start();
  expect_miss(c, &k, "disabled");
  cr_expect_lt(cache_put(c, &k, "a", 1), 0);
  expect_miss(c, &k, "disabled, after a put");
  free(log);
  log = capture_end();
  cr_expect_str_eq(log, "", "a disabled cache says so once, at open");

  cache_get_stats(c, &s);
  cr_expect(!s.enabled);
  cr_expect_eq(s.hits, 0);
  cr_expect_eq(s.misses, 2);
  cache_close(c);
  free(log);
}

/* ------------------------------------------------------------------------------------------
 * Locks held by another connection
 */

/* A writer's transaction (WAL): stores fail at once, lookups still see committed answers. */
Test(cache, a_pending_write_elsewhere_fails_a_put_fast) {
  struct cache *c = open_ok();
  struct cache_key k = base_key(), k2 = base_key();
  sqlite3 *db;
  uint64_t t0;
  int r;
  k2.version = "2";
  put_ok(c, &k, "committed");
  db = raw_open();
  raw_exec(db, "BEGIN EXCLUSIVE; DELETE FROM answers");

  t0 = now_ms();
  r = cache_put(c, &k2, "new", 3);
  cr_expect_eq(r, -EBUSY, "got %d", r);
  cr_expect_lt(now_ms() - t0, NOT_WAITING_MS, "a locked put took %ju ms", (uintmax_t)(now_ms() - t0));
  t0 = now_ms();
  expect_hit(c, &k, "committed");
  cr_expect_lt(now_ms() - t0, NOT_WAITING_MS);

  raw_exec(db, "ROLLBACK");
  sqlite3_close(db);
  put_ok(c, &k2, "new"); /* and the cache goes on */
  expect_hit(c, &k2, "new");
  cache_close(c);
}

/*
 * Locked at open by a connection that keeps the whole file to itself (the only way a reader
 * is held off in WAL mode; once our connection is open, no one else can take such a lock):
 * the file is left alone, lookups and stores fail fast, and it is used once free.
 */
Test(cache, a_file_locked_at_open_is_left_alone_and_used_later) {
  struct cache *c;
  struct cache_key k = base_key();
  struct cache_stats s;
  char broken[PATH_LEN], *log, *blob;
  size_t len;
  sqlite3 *db;
  uint64_t t0;
  int r;
  c = open_ok();
  put_ok(c, &k, "answer");
  cache_close(c);
  db = raw_open();
  raw_exec(db, "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM answers");

  capture_start();
  t0 = now_ms();
  r = cache_open(path, &c);
  cr_expect_lt(now_ms() - t0, NOT_WAITING_MS, "a locked open took %ju ms", (uintmax_t)(now_ms() - t0));
  log = capture_end();
  cr_expect_eq(r, -EBUSY, "got %d", r);
  cr_expect(strstr(log, "locked") != NULL, "log: %s", log);
  find_broken(broken, sizeof broken);
  cr_expect_str_eq(broken, "", "a locked file was moved");
  cr_expect_str_eq(cache_path(c), path);
  t0 = now_ms();
  r = cache_get(c, &k, &blob, &len);
  cr_expect_lt(now_ms() - t0, NOT_WAITING_MS, "a locked get took %ju ms", (uintmax_t)(now_ms() - t0));
  cr_expect_eq(r, -EBUSY, "got %d", r);
  cr_expect_null(blob);
  t0 = now_ms();
  cr_expect_eq(cache_put(c, &k, "x", 1), -EBUSY);
  cr_expect_lt(now_ms() - t0, NOT_WAITING_MS);

  raw_exec(db, "ROLLBACK");
  sqlite3_close(db);
  usleep(1100 * 1000); /* the next attempt to open it */
  expect_hit(c, &k, "answer");
  cache_get_stats(c, &s);
  cr_expect(s.enabled);
  cr_expect_eq(s.hits, 1);
  cr_expect_eq(s.misses, 1);
  cache_close(c);
  free(log);
}
