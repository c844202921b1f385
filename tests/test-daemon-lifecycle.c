/*
 * Integration: backendd's life — claiming its socket (stale, live, not a socket), signals
 * (orderly shutdown with requests in flight, the shutdown deadline, reload) and its
 * command line.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

TestSuite(lifecycle, .fini = harness_cleanup, .timeout = 60);

#define N_SLEEPERS 4

/* A Unix socket bound at path; listening or not. Returns its fd. */
static int make_socket(const char *path, bool listening) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  cr_assert_lt(strlen(path), sizeof addr.sun_path);
  strcpy(addr.sun_path, path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0, "bind %s: %s", path, strerror(errno));
  if (listening)
    cr_assert_eq(listen(fd, 4), 0);
  return fd;
}

static char *path_in(const char *dir, const char *name) {
  char *path;
  cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
  return path;
}

/* Starts a daemon on an existing path and expects it to refuse with status 1 and `why` in its log. */
static struct hdaemon *expect_refused(const char *socket, const char *why) {
  struct hdaemon *d = harness_spawn(harness_bin("BACKENDD_BIN"), socket, NULL);
  int status = harness_wait_exit(d, HARNESS_TIMEOUT_MS);
  if (status != 1)
    harness_dump_log(d);
  cr_assert_eq(status, 1, "backendd on %s: exit status %d, expected 1", socket, status);
  cr_assert(harness_log_wait(d, why, 0), "the log does not say \"%s\"", why);
  return d;
}

/* test.sleep {ms} sent on c, and known to be in flight: a ping sent after it on the same
 * stream was answered, so the daemon has read the sleep. */
static void sleep_in_flight(backend_client *c, const struct hdaemon *d, uint64_t ms) {
  msgpack_sbuffer sb;
  int err;
  harness_params_u64(&sb, "ms", ms);
  err = backend_client_send(c, "test.sleep", sb.data, sb.size, NULL);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, 0, "test.sleep: %s", backend_strerror(err));
  harness_ping(c, d);
}

/* Polls until connecting to path fails; returns the errno. */
static int wait_refused(const char *path) {
  int64_t deadline = harness_now_ms() + HARNESS_TIMEOUT_MS;
  for (;;) {
    struct hraw *r = raw_try_connect(path);
    if (r == NULL)
      return errno;
    raw_close(r);
    cr_assert_lt(harness_now_ms(), deadline, "still accepting connections after SIGTERM");
    harness_sleep_ms(5);
  }
}

Test(lifecycle, stale_socket_replaced) {
  const char *dir = harness_tmpdir();
  char *path = path_in(dir, "backendd.sock");
  struct hdaemon *d;

  close(make_socket(path, false)); /* a socket file nobody listens on */
  d = harness_spawn(harness_bin("BACKENDD_BIN"), path, NULL);
  cr_assert(harness_wait_ready(d, HARNESS_TIMEOUT_MS), "backendd did not start over a stale socket");
  cr_assert(harness_log_wait(d, "replacing stale socket", 0));
  harness_ping_new(d);
  harness_finish(d);
  free(path);
}

Test(lifecycle, socket_directory_created) {
  const char *dir = harness_tmpdir();
  char *path = path_in(dir, "run/backendd/backendd.sock");
  struct hdaemon *d = harness_spawn(harness_bin("BACKENDD_BIN"), path, NULL);
  struct stat st;

  cr_assert(harness_wait_ready(d, HARNESS_TIMEOUT_MS));
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  harness_ping_new(d);
  harness_finish(d);
  free(path);
}

Test(lifecycle, second_daemon_refused) {
  struct hdaemon *first = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  struct stat st;

  expect_refused(first->socket, "another backendd is already running");
  /* The first one keeps its socket and serves. */
  cr_assert_eq(lstat(first->socket, &st), 0, "the refused daemon removed the live socket");
  harness_ping_new(first);
  harness_finish(first);
}

Test(lifecycle, live_socket_of_another_server_refused) {
  const char *dir = harness_tmpdir();
  char *path = path_in(dir, "backendd.sock");
  int listener = make_socket(path, true); /* answers connections, holds no lock */
  struct hraw *r;

  expect_refused(path, "a live daemon answers on");
  r = raw_try_connect(path);
  cr_assert_not_null(r, "the refused daemon broke the other server's socket: %s", strerror(errno));
  raw_close(r);
  close(listener);
  free(path);
}

Test(lifecycle, regular_file_not_replaced) {
  const char *dir = harness_tmpdir();
  char *path = path_in(dir, "backendd.sock");
  FILE *f = fopen(path, "w");
  char buf[64] = "";

  cr_assert_not_null(f);
  fputs("precious\n", f);
  fclose(f);
  expect_refused(path, "exists and is not a socket");
  f = fopen(path, "r");
  cr_assert_not_null(f, "the daemon deleted the regular file at its socket path");
  cr_assert_not_null(fgets(buf, sizeof buf, f));
  fclose(f);
  cr_assert_str_eq(buf, "precious\n");
  free(path);
}

Test(lifecycle, sigterm_answers_requests_in_flight) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL);
  backend_client *cs[N_SLEEPERS];
  backend_reply *r = NULL;
  int refused, status, err;
  struct stat st;

  for (int i = 0; i < N_SLEEPERS; i++) {
    cs[i] = harness_client(d);
    sleep_in_flight(cs[i], d, 800);
  }
  kill(d->pid, SIGTERM);

  /* No new connections once the signal is handled; the socket file goes at once. */
  refused = wait_refused(d->socket);
  cr_assert(refused == ENOENT || refused == ECONNREFUSED, "connect after SIGTERM: %s", strerror(refused));
  cr_assert(lstat(d->socket, &st) < 0 && errno == ENOENT, "the socket file is still there while draining");
  cr_assert(harness_log_wait(d, "stopping: no longer accepting connections", HARNESS_TIMEOUT_MS), "no drain started");

  /* Every request in flight is still answered, then its connection is closed. */
  for (int i = 0; i < N_SLEEPERS; i++) {
    err = backend_client_recv(cs[i], HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, 0, "connection %d lost its answer at shutdown: %s", i, backend_strerror(err));
    cr_assert_not_null(harness_get(&r->result, "slept"));
    backend_reply_free(r);
    err = backend_client_call(cs[i], "daemon.ping", NULL, 0, HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, BACKEND_ECLOSED, "connection %d still open after its answer: %s", i, backend_strerror(err));
  }
  status = harness_wait_exit(d, HARNESS_TIMEOUT_MS);
  if (status != 0)
    harness_dump_log(d);
  cr_assert_eq(status, 0);
  cr_assert(harness_log_wait(d, "stopped after serving", 0));
}

Test(lifecycle, shutdown_deadline) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--shutdown-timeout", "0.2", (const char *)NULL);
  backend_client *cs[N_SLEEPERS];
  backend_reply *r = NULL;
  int64_t start, took;
  int status;

  for (int i = 0; i < N_SLEEPERS; i++) {
    cs[i] = harness_client(d);
    sleep_in_flight(cs[i], d, 30000);
  }
  start = harness_now_ms();
  kill(d->pid, SIGTERM);
  status = harness_wait_exit(d, HARNESS_TIMEOUT_MS);
  took = harness_now_ms() - start;
  if (status != 0)
    harness_dump_log(d);
  cr_assert_eq(status, 0, "exit status %d (-1: still running %d ms after SIGTERM)", status, HARNESS_TIMEOUT_MS);
  /* About the deadline; the bound only allows for a loaded machine. */
  cr_assert_lt(took, 5000, "took %lld ms to stop with a 0.2 s deadline", (long long)took);
  cr_assert(harness_log_wait(d, "shutdown deadline (0.2s) passed with 4 connections still busy", 0));
  for (int i = 0; i < N_SLEEPERS; i++)
    cr_assert_eq(backend_client_recv(cs[i], HARNESS_TIMEOUT_MS, &r), BACKEND_ECLOSED,
                 "a request cut by the deadline should get no answer");
}

Test(lifecycle, second_signal_stops_at_once) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--shutdown-timeout", "60", (const char *)NULL);
  backend_client *c = harness_client(d);
  int status;

  sleep_in_flight(c, d, 30000);
  kill(d->pid, SIGTERM);
  cr_assert(harness_log_wait(d, "waiting up to 60.0s", HARNESS_TIMEOUT_MS));
  kill(d->pid, SIGINT);
  status = harness_wait_exit(d, HARNESS_TIMEOUT_MS);
  if (status != 0)
    harness_dump_log(d);
  cr_assert_eq(status, 0, "exit status %d after a second signal", status);
  cr_assert(harness_log_wait(d, "again: closing all connections now", 0));
}

Test(lifecycle, sigint_stops_cleanly) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  struct stat st;
  harness_ping_new(d);
  cr_assert_eq(harness_stop(d, SIGINT), 0);
  cr_assert(lstat(d->socket, &st) < 0 && errno == ENOENT, "socket left behind");
}

Test(lifecycle, sighup_reloads) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  backend_client *c = harness_client(d);
  backend_reply *r = NULL;
  static const char *const kinds[] = {"added", "removed", "changed", "failed"};
  uint64_t reloads = harness_info_u64(c, "reloads"); /* the scan at start-up may count as one */
  int err;

  kill(d->pid, SIGHUP);
  cr_assert(harness_info_wait(d, "reloads", reloads + 1, HARNESS_TIMEOUT_MS), "SIGHUP did not reload");
  cr_assert(harness_log_wait(d, "reload done", 0));
  cr_assert(harness_log_wait(d, "(nothing changed)", 0));

  err = backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "daemon.reload: %s", backend_strerror(err));
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(r->result.via.map.size, 4, "daemon.reload answers {added, removed, changed, failed}");
  for (size_t k = 0; k < 4; k++) {
    const msgpack_object *list = harness_get(&r->result, kinds[k]);
    cr_assert(list != NULL && list->type == MSGPACK_OBJECT_ARRAY, "daemon.reload: no list %s", kinds[k]);
    cr_assert_eq(list->via.array.size, 0, "daemon.reload: %s is not empty", kinds[k]);
  }
  backend_reply_free(r);
  cr_assert_eq(harness_info_u64(c, "reloads"), reloads + 2);
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
}

/* ---- the command line ---- */

static void run_backendd(struct hrun *r, const char *arg1, const char *arg2) {
  const char *argv[] = {harness_bin("BACKENDD_BIN"), arg1, arg2, NULL};
  harness_run(r, HARNESS_TIMEOUT_MS, argv);
}

Test(lifecycle, help_and_version) {
  struct hrun r;
  run_backendd(&r, "--help", NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strncmp(r.out, "Usage: backendd", 15) == 0, "--help: %s", r.out);
  cr_assert(strstr(r.out, "--max-depth") != NULL && strstr(r.out, "--shutdown-timeout") != NULL);
  cr_assert_str_eq(r.err, "");
  harness_run_free(&r);
  run_backendd(&r, "--version", NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strncmp(r.out, "backendd ", 9) == 0, "--version: %s", r.out);
  harness_run_free(&r);
}

Test(lifecycle, usage_errors) {
  static const struct {
    const char *arg1, *arg2, *named; /* what stderr must mention */
  } cases[] = {
    {"--no-such-flag", NULL, "--no-such-flag"},
    {"--max-depth", "99", "--max-depth"},
    {"--max-depth", "1", "--max-depth"},
    {"--max-message-size", "12X", "--max-message-size"},
    {"--max-inflight", "0", "--max-inflight"},
    {"--max-queued-bytes", "100", "--max-queued-bytes"},
    {"--shutdown-timeout", "-1", "--shutdown-timeout"},
    {"--log-level", "loud", "--log-level"},
    {"stray-argument", NULL, "stray-argument"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct hrun r;
    run_backendd(&r, cases[i].arg1, cases[i].arg2);
    cr_assert_eq(r.status, 2, "backendd %s %s: exit status %d, expected 2", cases[i].arg1,
                 cases[i].arg2 ? cases[i].arg2 : "", r.status);
    cr_assert(strstr(r.err, cases[i].named) != NULL, "backendd %s %s: the message does not name %s:\n%s",
              cases[i].arg1, cases[i].arg2 ? cases[i].arg2 : "", cases[i].named, r.err);
    cr_assert_str_eq(r.out, "");
    harness_run_free(&r);
  }
}
