/*
 * Integration: backendd through libbackend-client — ping and info, pipelining, many
 * connections, and the per-connection and per-daemon limits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(daemon_client, .fini = harness_cleanup, .timeout = 60);

#define N_PIPELINED 1000
#define N_CONNECTIONS 200

/* Queues test.sleep {ms} with backend_client_send (asserted); returns its msgid. */
static uint32_t send_sleep(backend_client *c, uint64_t ms) {
  msgpack_sbuffer sb;
  uint32_t id = 0;
  int err;
  harness_params_u64(&sb, "ms", ms);
  err = backend_client_send(c, "test.sleep", sb.data, sb.size, &id);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, 0, "sending test.sleep: %s", backend_strerror(err));
  return id;
}

/*
 * Asserts r is the successful answer {slept: N} of a test.sleep. (N is not compared with
 * the ms asked for: backendd-test.c reads it back from the timer's repeat, which
 * uv_timer_start resets to 0. Callers check the elapsed time instead.)
 */
static void assert_slept(const backend_reply *r) {
  const msgpack_object *slept;
  cr_assert_eq(r->status, 0, "test.sleep failed: %s: %s", r->error_code, r->error_message);
  slept = harness_get(&r->result, "slept");
  cr_assert(slept != NULL && slept->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "test.sleep answered no {slept: N}");
}

Test(daemon_client, ping_and_info) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  backend_client *c = harness_client(d);
  backend_reply *r = NULL;
  const msgpack_object *o;
  int err;

  cr_assert_str_eq(backend_client_socket(c), d->socket);
  harness_ping(c, d);
  o = NULL;
  err = backend_client_call(c, "daemon.ping", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0);
  o = harness_get(&r->result, "version");
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0, "daemon.ping: no version");
  backend_reply_free(r);

  err = backend_client_call(c, "daemon.info", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "daemon.info: %s", backend_strerror(err));
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_MAP);
  cr_assert(harness_str_eq(harness_get(&r->result, "socket"), d->socket), "daemon.info: socket is not %s", d->socket);
  o = harness_get(&r->result, "pid");
  cr_assert(o != NULL && o->via.u64 == (uint64_t)d->pid, "daemon.info: wrong pid");
  o = harness_get(&r->result, "protocol_version");
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 >= 1);
  o = harness_get(&r->result, "uptime_seconds");
  cr_assert(o != NULL && (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) && o->via.f64 >= 0,
            "daemon.info: uptime_seconds is not a non-negative number");
  o = harness_get(&r->result, "plugin_path");
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_ARRAY, "daemon.info: plugin_path is not an array");
  o = harness_get(harness_get(&r->result, "cache"), "file");
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_STR, "daemon.info: no cache file");
  o = harness_get(&r->result, "stopping");
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && !o->via.boolean);
  backend_reply_free(r);

  /* Counters: this is the only connection, and each daemon.info counts itself. */
  cr_assert_eq(harness_info_u64(c, "connections"), 1);
  cr_assert_eq(harness_info_u64(c, "connections_total"), 1);
  cr_assert_eq(harness_info_u64(c, "requests"), 6); /* 2 pings, 4 infos */
  cr_assert_eq(harness_info_u64(c, "errors"), 0);
  cr_assert_eq(harness_info_u64(c, "disconnects"), 0);
  /* Defaults, as options.c documents them. */
  cr_assert_eq(harness_info_u64(c, "limits.max_connections"), 1024);
  cr_assert_eq(harness_info_u64(c, "limits.max_inflight"), 1024);
  cr_assert_eq(harness_info_u64(c, "limits.max_depth"), 32);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, info_reflects_flags) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), "--max-message-size", "64K", "--max-depth", "8",
                                    "--max-inflight", "7", "--max-queued-bytes", "1M", (const char *)NULL);
  backend_client *c = harness_client(d);
  cr_assert_eq(harness_info_u64(c, "limits.max_message_size"), 65536);
  cr_assert_eq(harness_info_u64(c, "limits.max_depth"), 8);
  cr_assert_eq(harness_info_u64(c, "limits.max_inflight"), 7);
  cr_assert_eq(harness_info_u64(c, "limits.max_queued_bytes"), 1 << 20);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, methods_lists_every_method) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL);
  backend_client *c = harness_client(d);
  static const char *const want[] = {"daemon.ping", "daemon.info", "daemon.methods", "daemon.reload", "test.sleep",
                                     "test.echo"};
  backend_reply *r = NULL;
  int err = backend_client_call(c, "daemon.methods", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "daemon.methods: %s", backend_strerror(err));
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_ARRAY);
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    const msgpack_object *found = NULL;
    for (uint32_t i = 0; i < r->result.via.array.size; i++)
      if (harness_str_eq(harness_get(&r->result.via.array.ptr[i], "name"), want[w]))
        found = &r->result.via.array.ptr[i];
    cr_assert_not_null(found, "daemon.methods does not list %s", want[w]);
    cr_assert_not_null(harness_get(found, "doc"), "%s has no doc", want[w]);
    if (strcmp(want[w], "test.sleep") == 0) {
      const msgpack_object *params = harness_get(found, "params");
      const msgpack_object *required;
      cr_assert(params != NULL && params->type == MSGPACK_OBJECT_ARRAY && params->via.array.size == 1);
      cr_assert(harness_str_eq(harness_get(&params->via.array.ptr[0], "name"), "ms"));
      cr_assert(harness_str_eq(harness_get(&params->via.array.ptr[0], "type"), "integer"));
      required = harness_get(&params->via.array.ptr[0], "required");
      cr_assert(required != NULL && required->type == MSGPACK_OBJECT_BOOLEAN && required->via.boolean);
    }
  }
  backend_reply_free(r);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, errors_through_the_library) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL);
  backend_client *c = harness_client(d);
  backend_reply *r = NULL;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err;

  err = backend_client_call(c, "no.such.method", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, BACKEND_EREMOTE, "unknown method: %s", backend_strerror(err));
  cr_assert_eq(r->status, BACKEND_EREMOTE);
  cr_assert_str_eq(r->error_code, "Method.NotFound");
  cr_assert(r->error_message != NULL && strstr(r->error_message, "no.such.method") != NULL,
            "the message should name the method: %s", r->error_message);
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_NIL);
  backend_reply_free(r);

  /* A mistyped named parameter. */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "ms", 2);
  msgpack_pack_str_with_body(&pk, "ten", 3);
  err = backend_client_call(c, "test.sleep", sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, BACKEND_EREMOTE);
  cr_assert_str_eq(r->error_code, "Protocol.InvalidParams");
  cr_assert(strstr(r->error_message, "ms") != NULL, "the message should name the parameter: %s", r->error_message);
  backend_reply_free(r);

  /* Errors do not break the connection. */
  harness_ping(c, d);
  cr_assert_eq(harness_info_u64(c, "errors"), 2);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, pipelined_requests_answered_once_each) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL);
  backend_client *c = harness_client(d);
  uint32_t *ids = calloc(N_PIPELINED, sizeof *ids);
  bool *answered = calloc(N_PIPELINED, sizeof *answered);
  backend_reply *r = NULL;
  int err;

  cr_assert(ids != NULL && answered != NULL);
  /* Every tenth request names no method, so errors are routed by msgid too. */
  for (size_t i = 0; i < N_PIPELINED; i++) {
    msgpack_sbuffer sb;
    harness_params_u64(&sb, "value", 1000000 + i);
    err = backend_client_send(c, i % 10 == 9 ? "test.nothing" : "test.echo", sb.data, sb.size, &ids[i]);
    msgpack_sbuffer_destroy(&sb);
    cr_assert_eq(err, 0, "send #%zu: %s", i, backend_strerror(err));
    for (size_t j = 0; j < i; j++)
      cr_assert_neq(ids[j], ids[i], "msgid %u given twice", ids[i]);
  }
  cr_assert_eq(backend_client_pending(c), N_PIPELINED);

  for (size_t n = 0; n < N_PIPELINED; n++) {
    size_t i;
    err = backend_client_recv(c, HARNESS_TIMEOUT_MS, &r);
    cr_assert(err == 0 || err == BACKEND_EREMOTE, "recv #%zu: %s", n, backend_strerror(err));
    for (i = 0; i < N_PIPELINED && ids[i] != r->msgid; i++)
      ;
    cr_assert_lt(i, N_PIPELINED, "answer to msgid %u, which was never sent", r->msgid);
    cr_assert(!answered[i], "msgid %u answered twice", r->msgid);
    answered[i] = true;
    if (i % 10 == 9) {
      cr_assert_eq(err, BACKEND_EREMOTE);
      cr_assert_str_eq(r->error_code, "Method.NotFound");
    } else {
      cr_assert_eq(err, 0, "msgid %u: %s", r->msgid, r->error_message);
      cr_assert(r->result.type == MSGPACK_OBJECT_POSITIVE_INTEGER && r->result.via.u64 == 1000000 + i,
                "msgid %u answered another request's value", r->msgid);
    }
    backend_reply_free(r);
  }
  cr_assert_eq(backend_client_pending(c), 0);
  cr_assert_eq(backend_client_recv(c, 0, &r), -ENOMSG);
  cr_assert_eq(harness_info_u64(c, "requests"), N_PIPELINED + 1);
  free(ids);
  free(answered);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, many_concurrent_connections) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), (const char *)NULL);
  backend_client *cs[N_CONNECTIONS];
  uint32_t ids[N_CONNECTIONS];
  backend_client *observer;

  /* All open at once, each with a request on the wire before any answer is read. */
  for (int i = 0; i < N_CONNECTIONS; i++) {
    cs[i] = harness_client(d);
    cr_assert_eq(backend_client_send(cs[i], "daemon.ping", NULL, 0, &ids[i]), 0);
  }
  for (int i = 0; i < N_CONNECTIONS; i++)
    cr_assert_eq(backend_client_flush(cs[i], HARNESS_TIMEOUT_MS), 0, "flush on connection %d", i);
  for (int i = 0; i < N_CONNECTIONS; i++) {
    backend_reply *r = NULL;
    const msgpack_object *pid;
    int err = backend_client_recv(cs[i], HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, 0, "connection %d: %s", i, backend_strerror(err));
    cr_assert_eq(r->msgid, ids[i]);
    pid = harness_get(&r->result, "pid");
    cr_assert(pid != NULL && pid->via.u64 == (uint64_t)d->pid);
    backend_reply_free(r);
  }
  observer = harness_client(d);
  cr_assert_eq(harness_info_u64(observer, "connections"), N_CONNECTIONS + 1);
  /* Each is still served, in the reverse order. */
  for (int i = N_CONNECTIONS - 1; i >= 0; i--)
    harness_ping(cs[i], d);
  for (int i = 0; i < N_CONNECTIONS; i++)
    harness_client_close(cs[i]);
  harness_client_close(observer);
  cr_assert(harness_info_wait(d, "connections", 1, HARNESS_TIMEOUT_MS), "closed connections are not released");
  cr_assert_geq(harness_info_u64_new(d, "connections_total"), N_CONNECTIONS + 2);
  harness_finish(d);
}

Test(daemon_client, max_inflight) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--max-inflight", "4", (const char *)NULL);
  backend_client *c = harness_client(d);
  uint32_t ids[5];
  backend_reply *r = NULL;
  bool done[4] = {false};
  int64_t start = harness_now_ms();
  int err;

  for (int i = 0; i < 5; i++)
    ids[i] = send_sleep(c, 500);
  /* The fifth is refused at once, so its answer comes first. */
  err = backend_client_recv(c, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, BACKEND_EREMOTE, "the fifth request in flight was not refused: %s", backend_strerror(err));
  cr_assert_eq(r->msgid, ids[4]);
  cr_assert_str_eq(r->error_code, "Protocol.TooManyRequests");
  backend_reply_free(r);
  for (int n = 0; n < 4; n++) {
    int i;
    err = backend_client_recv(c, HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, 0, "%s: %s", backend_strerror(err), err == BACKEND_EREMOTE ? r->error_message : "");
    for (i = 0; i < 4 && ids[i] != r->msgid; i++)
      ;
    cr_assert(i < 4 && !done[i], "unexpected answer to msgid %u", r->msgid);
    done[i] = true;
    assert_slept(r);
    cr_assert_geq(harness_now_ms() - start, 500, "test.sleep {ms: 500} answered early");
    backend_reply_free(r);
  }
  /* Answered requests free their slots. */
  for (int i = 0; i < 4; i++)
    ids[i] = send_sleep(c, 1);
  for (int n = 0; n < 4; n++) {
    err = backend_client_recv(c, HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, 0, "slot not freed: %s", backend_strerror(err));
    backend_reply_free(r);
  }
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
}

Test(daemon_client, max_connections) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_BIN"), "--max-connections", "3", (const char *)NULL);
  backend_client *cs[3];
  struct hraw *extra;
  bool served = false;

  for (int i = 0; i < 3; i++) {
    cs[i] = harness_client(d);
    harness_ping(cs[i], d); /* accepted, not just queued in the backlog */
  }
  extra = raw_connect(d->socket);
  cr_assert_eq(raw_expect_closed(extra, "Protocol.TooManyConnections"), 1,
               "the extra connection should be told why it is closed");
  raw_close(extra);
  cr_assert(harness_log_wait(d, "refused a connection", HARNESS_TIMEOUT_MS));
  for (int i = 0; i < 3; i++)
    harness_ping(cs[i], d);

  /* A slot freed is a slot available again (the daemon releases it asynchronously). */
  harness_client_close(cs[0]);
  for (int attempt = 0; attempt < 200 && !served; attempt++) {
    struct hraw *r = raw_connect(d->socket);
    msgpack_object o;
    raw_request(r, 1, "daemon.ping");
    served = raw_recv(r, HARNESS_TIMEOUT_MS, &o) == 1 && o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size == 4;
    raw_close(r);
    if (!served)
      harness_sleep_ms(20);
  }
  cr_assert(served, "no connection accepted after one closed");
  harness_client_close(cs[1]);
  harness_client_close(cs[2]);
  harness_finish(d);
}

Test(daemon_client, disconnect_while_request_in_flight) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--log-level", "debug", (const char *)NULL);
  backend_client *gone = harness_client(d), *stays = harness_client(d);
  backend_reply *r = NULL;
  char *log, gone_line[64];

  send_sleep(gone, 300);
  send_sleep(stays, 300);
  /* A ping answered on the same stream means the daemon has read the sleep before it. */
  harness_ping(gone, d);
  harness_ping(stays, d);
  harness_client_close(gone);
  /* Connection ids count from 1 in accept order. */
  snprintf(gone_line, sizeof gone_line, "client 1 (pid %d) disconnected", (int)getpid());
  cr_assert(harness_log_wait(d, gone_line, HARNESS_TIMEOUT_MS), "the daemon did not notice the hang-up");

  /* The daemon keeps serving; the client that stayed gets its answer. */
  harness_ping_new(d);
  cr_assert_eq(backend_client_recv(stays, HARNESS_TIMEOUT_MS, &r), 0);
  assert_slept(r);
  backend_reply_free(r);
  harness_sleep_ms(100); /* past the abandoned sleep's deadline too */
  cr_assert_eq(harness_info_u64(stays, "connections"), 1);
  cr_assert_eq(harness_info_u64(stays, "errors"), 0);
  log = harness_log(d);
  cr_assert_null(strstr(log, "write failed"), "the daemon tried to answer a client that had gone:\n%s", log);
  free(log);
  harness_client_close(stays);
  harness_finish(d);
}
