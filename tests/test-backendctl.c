/*
 * Integration: backendctl against a real backendd (human and --json output, parsed with
 * jansson), and its exit statuses: 0 ok, 1 the daemon answered an error, 2 usage,
 * 3 daemon unreachable — for 1 and 3, a small stand-in daemon in a thread plays the part.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

TestSuite(backendctl, .fini = harness_cleanup, .timeout = 60);

/* Parses stdout as JSON (asserted). */
static json_t *parse_json(const struct hrun *r) {
  json_error_t error;
  json_t *j = json_loads(r->out, JSON_DECODE_ANY, &error);
  cr_assert_not_null(j, "--json output is not JSON (%s at line %d):\n%s", error.text, error.line, r->out);
  return j;
}

/* The value printed on the `key: value` line of human output, or NULL; malloc'd. */
static char *line_value(const char *out, const char *key) {
  size_t klen = strlen(key);
  for (const char *line = out; *line != '\0';) {
    const char *end = strchrnul(line, '\n'), *v;
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      for (v = line + klen + 1; *v == ' '; v++)
        ;
      return strndup(v, (size_t)(end - v));
    }
    line = *end != '\0' ? end + 1 : end;
  }
  return NULL;
}

static void assert_line(const char *out, const char *key, const char *want) {
  char *got = line_value(out, key);
  cr_assert_not_null(got, "no '%s:' line in:\n%s", key, out);
  cr_assert_str_eq(got, want, "%s: '%s', expected '%s'", key, got, want);
  free(got);
}

/* stderr holds exactly one line, naming the program. */
static void assert_one_line_reason(const struct hrun *r) {
  size_t len = strlen(r->err);
  cr_assert(len > 0 && r->err[len - 1] == '\n' && strchr(r->err, '\n') == r->err + len - 1,
            "expected a one-line reason on stderr, got:\n%s", r->err);
  cr_assert(strncmp(r->err, "backendctl: ", 12) == 0, "the reason should name the program: %s", r->err);
}

Test(backendctl, ping) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  struct hrun r;
  char want[64];
  json_t *j;

  harness_ctl(&r, d->socket, "ping", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl ping: status %d: %s", r.status, r.err);
  cr_assert(strncmp(r.out, "pong from backendd ", 19) == 0, "ping: %s", r.out);
  snprintf(want, sizeof want, "(pid %d)", (int)d->pid);
  cr_assert(strstr(r.out, want) != NULL, "ping does not show the daemon's pid: %s", r.out);
  cr_assert_str_eq(r.err, "");
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "--json", "ping", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  j = parse_json(&r);
  cr_assert(json_is_true(json_object_get(j, "pong")), "ping --json: %s", r.out);
  cr_assert_eq(json_integer_value(json_object_get(j, "pid")), d->pid);
  cr_assert(json_is_string(json_object_get(j, "version")));
  json_decref(j);
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl, info) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), "--max-inflight", "77", (const char *)NULL);
  struct hrun r;
  char pid[32];
  json_t *j, *limits;

  harness_ctl(&r, d->socket, "info", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl info: status %d: %s", r.status, r.err);
  snprintf(pid, sizeof pid, "%d", (int)d->pid);
  assert_line(r.out, "pid", pid);
  assert_line(r.out, "socket", d->socket);
  assert_line(r.out, "limits.max_inflight", "77"); /* nested maps as dotted keys */
  assert_line(r.out, "stopping", "no");
  assert_line(r.out, "connections", "1"); /* backendctl's own */
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "--json", "info", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  j = parse_json(&r);
  cr_assert(json_is_object(j));
  cr_assert_eq(json_integer_value(json_object_get(j, "pid")), d->pid);
  cr_assert_str_eq(json_string_value(json_object_get(j, "socket")), d->socket);
  cr_assert(json_is_number(json_object_get(j, "uptime_seconds")));
  cr_assert(json_is_array(json_object_get(j, "plugin_path")));
  limits = json_object_get(j, "limits");
  cr_assert_eq(json_integer_value(json_object_get(limits, "max_inflight")), 77);
  cr_assert_eq(json_integer_value(json_object_get(limits, "max_depth")), 32);
  /* Two backendctl runs, one request each, the second one counting itself. */
  cr_assert_eq(json_integer_value(json_object_get(j, "requests")), 2);
  cr_assert_eq(json_integer_value(json_object_get(j, "connections_total")), 2);
  json_decref(j);
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl, methods) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL);
  struct hrun r;
  json_t *j, *m;
  size_t i;
  bool seen_sleep = false;

  harness_ctl(&r, d->socket, "methods", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl methods: status %d: %s", r.status, r.err);
  cr_assert(strstr(r.out, "daemon.ping()") != NULL, "methods:\n%s", r.out);
  cr_assert(strstr(r.out, "test.sleep(ms: integer)") != NULL, "methods should show parameters:\n%s", r.out);
  cr_assert(strstr(r.out, "test.echo(value?: any)") != NULL, "methods should mark optional parameters:\n%s", r.out);
  cr_assert(strstr(r.out, "answer after ms milliseconds") != NULL, "methods should show the docs:\n%s", r.out);
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "--json", "methods", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  j = parse_json(&r);
  cr_assert(json_is_array(j));
  json_array_foreach(j, i, m) {
    if (strcmp(json_string_value(json_object_get(m, "name")), "test.sleep") == 0) {
      json_t *p = json_array_get(json_object_get(m, "params"), 0);
      seen_sleep = true;
      cr_assert_str_eq(json_string_value(json_object_get(p, "name")), "ms");
      cr_assert(json_is_true(json_object_get(p, "required")));
    }
  }
  cr_assert(seen_sleep, "methods --json does not list test.sleep");
  json_decref(j);
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl, reload) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  static const char *const kinds[] = {"added", "removed", "changed", "failed"};
  uint64_t reloads = harness_info_u64_new(d, "reloads"); /* the scan at start-up may count as one */
  struct hrun r;
  json_t *j;

  harness_ctl(&r, d->socket, "reload", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl reload: status %d: %s", r.status, r.err);
  cr_assert_str_eq(r.out, "nothing changed\n");
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "--json", "reload", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  j = parse_json(&r);
  for (size_t k = 0; k < 4; k++) {
    json_t *list = json_object_get(j, kinds[k]);
    cr_assert(json_is_array(list) && json_array_size(list) == 0, "reload --json: %s:\n%s", kinds[k], r.out);
  }
  json_decref(j);
  harness_run_free(&r);
  cr_assert_eq(harness_info_u64_new(d, "reloads"), reloads + 2);
  harness_finish(d);
}

Test(backendctl, daemon_absent) {
  const char *dir = harness_tmpdir();
  char *missing, *stale;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  struct hrun r;
  int fd;

  /* No socket file at all. */
  cr_assert_geq(asprintf(&missing, "%s/none.sock", dir), 0);
  harness_ctl(&r, missing, "ping", (const char *)NULL);
  cr_assert_eq(r.status, 3, "no daemon: status %d, expected 3", r.status);
  assert_one_line_reason(&r);
  cr_assert(strstr(r.err, missing) != NULL, "the reason should name the socket: %s", r.err);
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);
  harness_ctl(&r, missing, "--json", "info", (const char *)NULL);
  cr_assert_eq(r.status, 3);
  assert_one_line_reason(&r);
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);

  /* A socket file nobody listens on. */
  cr_assert_geq(asprintf(&stale, "%s/stale.sock", dir), 0);
  strcpy(addr.sun_path, stale);
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  close(fd);
  harness_ctl(&r, stale, "ping", (const char *)NULL);
  cr_assert_eq(r.status, 3, "stale socket: status %d, expected 3", r.status);
  assert_one_line_reason(&r);
  harness_run_free(&r);
  free(missing);
  free(stale);
}

Test(backendctl, daemon_closes_the_connection) {
  /* At its connection limit, the daemon hangs up on backendctl: unreachable too. */
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), "--max-connections", "1", (const char *)NULL);
  backend_client *holder = harness_client(d);
  struct hrun r;

  harness_ping(holder, d);
  harness_ctl(&r, d->socket, "ping", (const char *)NULL);
  cr_assert_eq(r.status, 3, "status %d, expected 3: %s", r.status, r.err);
  assert_one_line_reason(&r);
  harness_run_free(&r);
  harness_client_close(holder);
  harness_finish(d);
}

/* ---- a stand-in daemon: answers every request with an error, or never ---- */

struct stand_in {
  int listener;
  bool answer; /* false: read requests and never answer */
  pthread_t thread;
};

static void *stand_in_main(void *arg) {
  struct stand_in *s = arg;
  msgpack_unpacker in;
  msgpack_unpacked msg;
  int fd = accept(s->listener, NULL, NULL);
  if (fd < 0)
    return NULL;
  msgpack_unpacker_init(&in, 4096);
  msgpack_unpacked_init(&msg);
  for (;;) {
    ssize_t n;
    msgpack_unpacker_reserve_buffer(&in, 4096);
    n = read(fd, msgpack_unpacker_buffer(&in), msgpack_unpacker_buffer_capacity(&in));
    if (n <= 0)
      break;
    msgpack_unpacker_buffer_consumed(&in, (size_t)n);
    while (msgpack_unpacker_next(&in, &msg) == MSGPACK_UNPACK_SUCCESS) {
      msgpack_sbuffer sb;
      msgpack_packer pk;
      if (!s->answer || msg.data.type != MSGPACK_OBJECT_ARRAY || msg.data.via.array.size != 4)
        continue;
      msgpack_sbuffer_init(&sb);
      msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
      msgpack_pack_array(&pk, 4);
      msgpack_pack_uint8(&pk, 1);
      msgpack_pack_object(&pk, msg.data.via.array.ptr[1]);
      msgpack_pack_map(&pk, 3);
      msgpack_pack_str_with_body(&pk, "code", 4);
      msgpack_pack_str_with_body(&pk, "Test.Broken", 11);
      msgpack_pack_str_with_body(&pk, "message", 7);
      msgpack_pack_str_with_body(&pk, "the stand-in always fails", 25);
      msgpack_pack_str_with_body(&pk, "data", 4);
      msgpack_pack_nil(&pk);
      msgpack_pack_nil(&pk);
      (void)send(fd, sb.data, sb.size, MSG_NOSIGNAL);
      msgpack_sbuffer_destroy(&sb);
    }
  }
  msgpack_unpacked_destroy(&msg);
  msgpack_unpacker_destroy(&in);
  close(fd);
  return NULL;
}

/* Listens on <tmpdir>/stand-in.sock and serves one connection in a thread. */
static char *stand_in_start(struct stand_in *s, bool answer) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  char *path;
  cr_assert_geq(asprintf(&path, "%s/stand-in.sock", harness_tmpdir()), 0);
  strcpy(addr.sun_path, path);
  s->answer = answer;
  s->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq(bind(s->listener, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(s->listener, 4), 0);
  cr_assert_eq(pthread_create(&s->thread, NULL, stand_in_main, s), 0);
  return path;
}

static void stand_in_stop(struct stand_in *s) {
  pthread_join(s->thread, NULL); /* ends when backendctl hangs up */
  close(s->listener);
}

Test(backendctl, daemon_answers_an_error) {
  struct stand_in s;
  char *path = stand_in_start(&s, true);
  struct hrun r;

  harness_ctl(&r, path, "info", (const char *)NULL);
  stand_in_stop(&s);
  cr_assert_eq(r.status, 1, "an error answer: status %d, expected 1: %s", r.status, r.err);
  assert_one_line_reason(&r);
  cr_assert(strstr(r.err, "Test.Broken") != NULL && strstr(r.err, "the stand-in always fails") != NULL,
            "the reason should carry the daemon's code and message: %s", r.err);
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);
  free(path);
}

Test(backendctl, timeout) {
  struct stand_in s;
  char *path = stand_in_start(&s, false);
  int64_t start = harness_now_ms(), took;
  struct hrun r;

  harness_ctl(&r, path, "--timeout", "200", "ping", (const char *)NULL);
  took = harness_now_ms() - start;
  stand_in_stop(&s);
  cr_assert_eq(r.status, 3, "no answer: status %d, expected 3: %s", r.status, r.err);
  cr_assert_geq(took, 200, "gave up before the timeout");
  cr_assert_lt(took, 5000, "--timeout 200 took %lld ms", (long long)took);
  assert_one_line_reason(&r);
  cr_assert(strstr(r.err, "200 ms") != NULL, "the reason should say how long it waited: %s", r.err);
  harness_run_free(&r);
  free(path);
}

/* A hung daemon's backlog fills up: --timeout bounds connecting too. */
Test(backendctl, timeout_while_connecting) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  char *path;
  int listener, queued;
  int64_t start, took;
  struct hrun r;

  cr_assert_geq(asprintf(&path, "%s/hung.sock", harness_tmpdir()), 0);
  strcpy(addr.sun_path, path);
  listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(listener, 0), 0); /* never accepted: one queued connection fills it */
  queued = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq(connect(queued, (struct sockaddr *)&addr, sizeof addr), 0, "%s", strerror(errno));
  start = harness_now_ms();
  harness_ctl(&r, path, "--timeout", "200", "ping", (const char *)NULL);
  took = harness_now_ms() - start;
  cr_assert_eq(r.status, 3, "no room: status %d, expected 3: %s", r.status, r.err);
  cr_assert_geq(took, 200, "gave up before the timeout");
  cr_assert_lt(took, 5000, "--timeout 200 took %lld ms", (long long)took);
  assert_one_line_reason(&r);
  cr_assert(strstr(r.err, "200 ms") != NULL, "the reason should say how long it waited: %s", r.err);
  harness_run_free(&r);
  close(queued);
  close(listener);
  free(path);
}

Test(backendctl, usage_errors) {
  static const char *const cases[][3] = {
    {NULL, NULL, NULL},               /* no command */
    {"frobnicate", NULL, NULL},       /* unknown command */
    {"ping", "extra", NULL},          /* a command that takes no arguments */
    {"--timeout", "soon", "ping"},    /* not a number */
    {"--timeout", "-5", "ping"},
    {"--no-such-option", "ping", NULL},
    {"ping", "--socket", NULL},       /* option missing its argument */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct hrun r;
    harness_ctl(&r, "/nonexistent/backendd.sock", cases[i][0], cases[i][1], cases[i][2], (const char *)NULL);
    cr_assert_eq(r.status, 2, "case %zu (%s %s %s): status %d, expected 2: %s", i, cases[i][0], cases[i][1],
                 cases[i][2], r.status, r.err);
    cr_assert(strncmp(r.err, "backendctl: ", 12) == 0, "case %zu: %s", i, r.err);
    cr_assert_str_eq(r.out, "");
    harness_run_free(&r);
  }
}

Test(backendctl, help) {
  struct hrun r;
  harness_ctl(&r, NULL, "--help", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "Usage: backendctl") != NULL);
  for (const char *const *cmd = (const char *const[]){"ping", "info", "methods", "reload", NULL}; *cmd; cmd++)
    cr_assert(strstr(r.out, *cmd) != NULL, "--help does not list %s", *cmd);
  cr_assert(strstr(r.out, "Exit status") != NULL);
  harness_run_free(&r);
}
