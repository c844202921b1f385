/*
 * Integration: backendd as a systemd service, without a service manager.
 *
 * - Socket activation through systemd-socket-activate(1): the daemon serves on the socket it
 *   is passed, takes no lock, and leaves the socket in place when it exits.
 * - The notify sequence, captured by a NOTIFY_SOCKET receiver of our own (a path, and an
 *   abstract name): STATUS while discovering, READY=1 only once the socket answers,
 *   RELOADING=1 + MONOTONIC_USEC then READY=1 around daemon.reload and SIGHUP, STOPPING=1.
 * - `systemd-analyze verify` on the generated units, and `systemd-analyze security` on the
 *   system service. The generated units name the installed binaries, which verify requires
 *   to exist, so the test verifies copies in which only those two paths are replaced with the
 *   build tree's (SYSTEMD_UNITS_DIR, UNIT_BACKENDD, UNIT_BACKENDCTL: tests/meson.build).
 *
 * Tests needing a systemd tool skip when it is not installed (Debian package "systemd").
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "plugin-tree.h"

static char *tree;
static int notify_fd = -1;

static void teardown(void) {
  harness_cleanup();
  if (notify_fd >= 0)
    close(notify_fd);
  notify_fd = -1;
  if (tree != NULL)
    plugin_tree_free(tree);
  free(tree);
  tree = NULL;
}

TestSuite(systemd, .fini = teardown, .timeout = 60);

/* The path of a systemd tool, or NULL when it is not installed. */
static const char *systemd_tool(const char *name) {
  static char path[256];
  const char *dirs[] = {"/usr/bin", "/bin", "/usr/local/bin"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dirs[i], name);
    if (access(path, X_OK) == 0)
      return path;
  }
  return NULL;
}

static char *path_in(const char *dir, const char *name) {
  char *path;
  cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
  return path;
}

static uint64_t monotonic_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- socket activation ---- */

/* systemd-socket-activate -l SOCKET backendd --socket FLAG_SOCKET; the daemon starts at the first connection. */
static struct hdaemon *spawn_activated(const char *activate, const char *socket, const char *flag_socket) {
  const char *wrapper[] = {activate, "-l", socket, NULL};
  struct hspawn with = {.wrapper = wrapper};
  struct hdaemon *d = harness_spawn_with(harness_bin("BACKENDD_BIN"), flag_socket, NULL, &with);
  /* It says so once it listens (the file exists a moment earlier, between bind and listen). */
  if (!harness_log_wait(d, "Listening on ", HARNESS_TIMEOUT_MS)) {
    harness_dump_log(d);
    cr_assert_fail("systemd-socket-activate did not listen on %s", socket);
  }
  return d;
}

/* daemon.ping over a raw connection to path: the answer must carry the daemon's pid. */
static void ping_raw(const char *path, const struct hdaemon *d) {
  struct hraw *r = raw_connect(path);
  msgpack_object result;
  raw_request(r, 1, "daemon.ping");
  result = raw_expect_result(r, 1);
  cr_assert(harness_get(&result, "pong") != NULL);
  cr_assert_eq(harness_get(&result, "pid")->via.u64, (uint64_t)d->pid, "answered by another process");
  raw_close(r);
}

Test(systemd, socket_activation_serves_the_passed_socket_and_leaves_it) {
  const char *activate = systemd_tool("systemd-socket-activate");
  const char *dir;
  char *sock, *lock;
  struct hdaemon *d;
  struct stat st;
  if (activate == NULL)
    cr_skip_test("systemd-socket-activate is not installed");
  dir = harness_tmpdir();
  sock = path_in(dir, "activated.sock");
  lock = path_in(dir, "activated.sock.lock");
  d = spawn_activated(activate, sock, sock);
  /* The first connection starts the daemon, which answers once its plugins are discovered. */
  ping_raw(sock, d);
  cr_assert(harness_wait_ready(d, HARNESS_TIMEOUT_MS));
  cr_assert(harness_log_wait(d, "serving the socket passed by the service manager", 0));
  harness_ping_new(d);
  cr_assert_eq(harness_info_u64_new(d, "pid"), (uint64_t)d->pid);
  cr_assert(access(lock, F_OK) < 0 && errno == ENOENT, "took a lock on a socket systemd owns");

  cr_assert_eq(harness_stop(d, SIGTERM), 0, "exit status on SIGTERM");
  cr_assert_eq(lstat(sock, &st), 0, "the passed socket was removed: %s", strerror(errno));
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert(access(lock, F_OK) < 0 && errno == ENOENT, "took a lock on a socket systemd owns");
  free(sock);
  free(lock);
}

Test(systemd, socket_activation_makes_socket_flag_informational) {
  const char *activate = systemd_tool("systemd-socket-activate");
  const char *dir;
  char *sock, *other;
  struct hdaemon *d;
  struct hraw *r;
  msgpack_object info;
  if (activate == NULL)
    cr_skip_test("systemd-socket-activate is not installed");
  dir = harness_tmpdir();
  sock = path_in(dir, "activated.sock");
  other = path_in(dir, "flag.sock");
  d = spawn_activated(activate, sock, other);
  r = raw_connect(sock);
  raw_request(r, 1, "daemon.info");
  info = raw_expect_result(r, 1);
  cr_assert(harness_str_eq(harness_get(&info, "socket"), sock), "daemon.info does not name the served socket");
  raw_close(r);
  cr_assert(harness_log_wait(d, "instead of ", 0), "the log does not say --socket was overridden");
  cr_assert(access(other, F_OK) < 0 && errno == ENOENT, "bound --socket as well");
  cr_assert_eq(harness_stop(d, SIGTERM), 0);
  cr_assert(access(other, F_OK) < 0 && errno == ENOENT);
  cr_assert_eq(access(sock, F_OK), 0, "the passed socket was removed");
  free(sock);
  free(other);
}

/* ---- the notify sequence ---- */

/* Binds the test's NOTIFY_SOCKET ("@..." abstract, else a path). */
static void notify_receiver(const char *name) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(notify_fd, 0);
  cr_assert_lt(n, sizeof addr.sun_path);
  memcpy(addr.sun_path, name, n);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  cr_assert_eq(bind(notify_fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
               0, "bind %s: %s", name, strerror(errno));
}

/* The next datagram (static buffer), or NULL when none comes within timeout_ms. */
static const char *next_notification(int timeout_ms) {
  static char buf[1024];
  struct pollfd p = {notify_fd, POLLIN, 0};
  ssize_t n;
  if (poll(&p, 1, timeout_ms) != 1)
    return NULL;
  n = recv(notify_fd, buf, sizeof buf - 1, 0);
  cr_assert_geq(n, 0, "recv: %s", strerror(errno));
  buf[n] = '\0';
  return buf;
}

static const char *expect_notification(const char *what, int timeout_ms) {
  const char *got = next_notification(timeout_ms);
  cr_assert_not_null(got, "no notification: expected %s", what);
  return got;
}

/* "READY=1\nSTATUS=Serving SOCK: N plugin(s) ok, M failed; R request(s) served": asserts it. */
static void expect_ready(const struct hdaemon *d, unsigned long long requests, int timeout_ms) {
  const char *got = expect_notification("READY=1", timeout_ms), *rest;
  char prefix[256], want[256];
  unsigned long long ok, failed, served;
  snprintf(prefix, sizeof prefix, "READY=1\nSTATUS=Serving %s: ", d->socket);
  cr_assert(strncmp(got, prefix, strlen(prefix)) == 0, "expected READY=1 with a STATUS, got \"%s\"", got);
  rest = got + strlen(prefix);
  cr_assert_eq(sscanf(rest, "%llu %*[^,], %llu failed; %llu", &ok, &failed, &served), 3, "unexpected STATUS: \"%s\"",
               got);
  snprintf(want, sizeof want, "%llu plugin%s ok, %llu failed; %llu request%s served", ok, ok == 1 ? "" : "s", failed,
           served, served == 1 ? "" : "s");
  cr_assert_str_eq(rest, want, "unexpected STATUS: \"%s\"", got);
  cr_assert_geq(ok, 1, "\"%s\": the good plugin", got);
  cr_assert_geq(failed, 1, "\"%s\": the hanging plugin", got);
  cr_assert_eq(served, requests, "\"%s\": expected %llu requests", got, requests);
}

/* "RELOADING=1\nMONOTONIC_USEC=T\nSTATUS=Reloading plugins", T taken between before and now. */
static void expect_reloading(uint64_t before) {
  const char *got = expect_notification("RELOADING=1", HARNESS_TIMEOUT_MS);
  unsigned long long usec;
  int used = 0;
  cr_assert_eq(sscanf(got, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading plugins%n", &usec, &used), 1,
               "expected RELOADING=1 with MONOTONIC_USEC, got \"%s\"", got);
  cr_assert(used > 0 && got[used] == '\0', "unexpected \"%s\"", got);
  cr_assert(usec >= before && usec <= monotonic_usec(), "MONOTONIC_USEC=%llu is not the time of the reload", usec);
}

/*
 * A daemon with NOTIFY_SOCKET=name, serving a good variant plugin and one that hangs while
 * loading (--plugin-timeout 1), so that discovery lasts a second: long enough to see that
 * the socket is not served before READY=1.
 */
static struct hdaemon *start_notifying(const char *name) {
  const char *args[] = {"--plugin-path", NULL, "--plugin-timeout", "1", NULL};
  char *env_entry, *so;
  struct hspawn with;
  struct hdaemon *d;
  struct hraw *early;

  tree = plugin_tree_new("systemd");
  cr_assert_not_null(tree);
  args[1] = tree;
  so = plugin_tree_fixture("good_variant");
  cr_assert_not_null(so, "fixture good_variant is not built (BACKENDD_FIXTURES)");
  cr_assert_eq(plugin_tree_add(tree, "good-variant", "1.0", "[variant_plugins]\ngood-variant = good_variant.mod\n",
                               "good_variant.mod", so), 0);
  free(so);
  so = plugin_tree_fixture("hang_on_load");
  cr_assert_not_null(so);
  cr_assert_eq(plugin_tree_add(tree, "hang-on-load", "1.0", "[variant_plugins]\nhang-on-load = hang_on_load.mod\n",
                               "hang_on_load.mod", so), 0);
  free(so);

  notify_receiver(name);
  cr_assert_geq(asprintf(&env_entry, "NOTIFY_SOCKET=%s", name), 0);
  with = (struct hspawn){.env = (const char *const[]){env_entry, NULL}};
  d = harness_spawn_with(harness_bin("BACKENDD_BIN"), NULL, args, &with);
  free(env_entry); /* the child has its copy */

  cr_assert_str_eq(expect_notification("STATUS=Discovering plugins", HARNESS_TIMEOUT_MS), "STATUS=Discovering plugins");
  /* Discovering (the hanging plugin holds it for a second): bound, but nobody accepts yet. */
  early = raw_try_connect(d->socket);
  cr_assert_null(early, "the socket accepted a connection before READY=1");
  expect_ready(d, 0, HARNESS_TIMEOUT_MS);
  /* READY=1 means served: a client connecting right now is answered. */
  early = raw_try_connect(d->socket);
  cr_assert_not_null(early, "READY=1 was sent, but connecting failed: %s", strerror(errno));
  raw_request(early, 1, "daemon.ping");
  raw_expect_result(early, 1);
  raw_close(early);
  return d;
}

/* STOPPING=1 at SIGTERM, exit 0, and nothing after it. */
static void stop_notifying(struct hdaemon *d, unsigned long long requests) {
  const char *got;
  char want[128];
  cr_assert_eq(kill(d->pid, SIGTERM), 0);
  /* (How many connections it waits for depends on whether it has seen our last one close.) */
  snprintf(want, sizeof want, "STOPPING=1\nSTATUS=Stopping after %llu request%s, waiting for ", requests,
           requests == 1 ? "" : "s");
  got = expect_notification("STOPPING=1", HARNESS_TIMEOUT_MS);
  cr_assert(strncmp(got, want, strlen(want)) == 0, "expected \"%s...\", got \"%s\"", want, got);
  cr_assert_eq(harness_wait_exit(d, HARNESS_TIMEOUT_MS), 0);
  cr_assert_null(next_notification(0), "a notification after STOPPING=1");
}

Test(systemd, notify_sequence_for_start_reload_and_stop) {
  const char *dir = harness_tmpdir();
  char *name = path_in(dir, "notify");
  struct hdaemon *d = start_notifying(name);
  struct hraw *r;
  uint64_t before;

  /* daemon.reload (what ExecReload= runs): RELOADING=1, then READY=1 before the answer. */
  r = raw_connect(d->socket);
  before = monotonic_usec();
  raw_request(r, 2, "daemon.reload");
  raw_expect_result(r, 2);
  expect_reloading(before);
  /* Already queued when the answer came: the reload was done when daemon.reload returned. */
  expect_ready(d, 2, 0);
  raw_close(r);

  /* SIGHUP: the same. */
  before = monotonic_usec();
  cr_assert_eq(kill(d->pid, SIGHUP), 0);
  expect_reloading(before);
  expect_ready(d, 2, HARNESS_TIMEOUT_MS);
  cr_assert_null(next_notification(100), "an unexpected notification");

  stop_notifying(d, 2);
  free(name);
}

Test(systemd, notify_to_an_abstract_socket) {
  char name[96];
  struct hdaemon *d;
  snprintf(name, sizeof name, "@backendd-test-notify-%d-%lld", (int)getpid(), (long long)harness_now_ms());
  d = start_notifying(name);
  stop_notifying(d, 1);
}

/* ---- the unit files ---- */

/* Copies SYSTEMD_UNITS_DIR/rel to dir/rel with the installed binaries' paths replaced by the build tree's. */
static void copy_unit(const char *dir, const char *rel) {
  const char *from[] = {harness_bin("UNIT_BACKENDD"), harness_bin("UNIT_BACKENDCTL")};
  const char *to[] = {harness_bin("BACKENDD_BIN"), harness_bin("BACKENDCTL_BIN")};
  char *src = path_in(harness_bin("SYSTEMD_UNITS_DIR"), rel), *dst = path_in(dir, rel), line[4096];
  FILE *in = fopen(src, "re"), *out;
  cr_assert_not_null(in, "%s: %s", src, strerror(errno));
  out = fopen(dst, "we");
  cr_assert_not_null(out, "%s: %s", dst, strerror(errno));
  while (fgets(line, sizeof line, in) != NULL) {
    char *p = line;
    for (;;) {
      size_t best = 0;
      char *hit = NULL;
      for (size_t i = 0; i < 2; i++) {
        char *h = strstr(p, from[i]);
        if (h != NULL && (hit == NULL || h < hit)) {
          hit = h;
          best = i;
        }
      }
      if (hit == NULL)
        break;
      fwrite(p, 1, (size_t)(hit - p), out);
      fputs(to[best], out);
      p = hit + strlen(from[best]);
    }
    fputs(p, out);
  }
  fclose(in);
  cr_assert_eq(fclose(out), 0);
  free(src);
  free(dst);
}

/* Runs argv; asserts exit status 0 and, when quiet, no output at all. Returns stdout (free). */
static char *run_tool(const char *const *argv, bool quiet) {
  struct hrun r;
  char *out;
  harness_run(&r, 60000, argv);
  cr_assert_eq(r.status, 0, "%s %s: exit status %d\n%s%s", argv[0], argv[1], r.status, r.out, r.err);
  if (quiet)
    cr_assert(r.out[0] == '\0' && r.err[0] == '\0', "%s %s reported:\n%s%s", argv[0], argv[1], r.out, r.err);
  out = strdup(r.out);
  harness_run_free(&r);
  return out;
}

Test(systemd, analyze_verify_reports_nothing_on_the_units) {
  const char *analyze = systemd_tool("systemd-analyze");
  const char *dir;
  char *user, *sys_socket, *sys_service, *user_socket, *user_service, *runtime_env;
  if (analyze == NULL)
    cr_skip_test("systemd-analyze is not installed");
  dir = harness_tmpdir();
  user = path_in(dir, "user");
  cr_assert_eq(mkdir(user, 0755), 0);
  copy_unit(dir, "backendd.service");
  copy_unit(dir, "backendd.socket");
  copy_unit(dir, "user/backendd.service");
  copy_unit(dir, "user/backendd.socket");
  sys_socket = path_in(dir, "backendd.socket");
  sys_service = path_in(dir, "backendd.service");
  user_socket = path_in(user, "backendd.socket");
  user_service = path_in(user, "backendd.service");

  /* --man=no: the man pages Documentation= names are installed with the units, not here. */
  free(run_tool((const char *const[]){analyze, "verify", "--man=no", sys_socket, sys_service, NULL}, true));
  /* A user manager needs a runtime directory (%t) to exist. */
  cr_assert_geq(asprintf(&runtime_env, "XDG_RUNTIME_DIR=%s", dir), 0);
  free(run_tool((const char *const[]){"/usr/bin/env", runtime_env, analyze, "--user", "verify", "--man=no",
                                      user_socket, user_service, NULL},
                true));
  free(runtime_env);
  free(user);
  free(sys_socket);
  free(sys_service);
  free(user_socket);
  free(user_service);
}

Test(systemd, analyze_security_rates_the_service_at_most_2) {
  const char *analyze = systemd_tool("systemd-analyze");
  const char *dir, *level;
  char *service, *out;
  double exposure;
  if (analyze == NULL)
    cr_skip_test("systemd-analyze is not installed");
  dir = harness_tmpdir();
  copy_unit(dir, "backendd.service");
  service = path_in(dir, "backendd.service");
  /* --threshold=20: exit status non-zero above an exposure of 2.0. */
  out = run_tool((const char *const[]){analyze, "security", "--offline=yes", "--threshold=20", "--no-pager",
                                       service, NULL},
                 false);
  level = strstr(out, "Overall exposure level for backendd.service: ");
  cr_assert_not_null(level, "no overall rating in:\n%s", out);
  cr_assert_eq(sscanf(level + strlen("Overall exposure level for backendd.service: "), "%lf", &exposure), 1);
  cr_assert_leq(exposure, 2.0, "exposure %.1f", exposure);
  free(out);
  free(service);
}
