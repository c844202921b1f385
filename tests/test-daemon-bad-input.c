/*
 * Integration: what backendd does with bad input, over raw sockets (the client library
 * never sends any of it). Each case gets the outcome DESIGN §4 asks for: an error response
 * with the right code and msgid when one can be addressed, else the connection is closed
 * (after a daemon.protocol_error notification saying why). Then a well-behaved client must
 * still be served, and the daemon must exit 0 on SIGTERM (under ASan, with no leak).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(bad_input, .fini = harness_cleanup, .timeout = 60);

#define SEND(r, lit) send_bytes((r), (lit), sizeof(lit) - 1)

static void send_bytes(struct hraw *r, const char *bytes, size_t len) {
  int err = raw_send(r, bytes, len);
  cr_assert_eq(err, 0, "send: %s", strerror(-err));
}

static void flush(struct hraw *r) {
  int err = raw_flush(r);
  cr_assert_eq(err, 0, "send: %s", strerror(-err));
}

static struct hdaemon *start(void) { return harness_start(harness_bin("BACKENDD_TEST_BIN"), (const char *)NULL); }

/* The connection is still in step: a ping on it is answered with the right msgid. */
static void still_in_step(struct hraw *r, uint32_t msgid) {
  msgpack_object result;
  raw_request(r, msgid, "daemon.ping");
  result = raw_expect_result(r, msgid);
  cr_assert(result.type == MSGPACK_OBJECT_MAP && harness_get(&result, "pong") != NULL);
}

/* Sends the bytes on a new connection and expects it closed after one protocol_error. */
static void closes(const struct hdaemon *d, const char *bytes, size_t len, const char *code) {
  struct hraw *r = raw_connect(d->socket);
  send_bytes(r, bytes, len);
  cr_assert_eq(raw_expect_closed(r, code), 1, "expected one daemon.protocol_error %s before the close", code);
  raw_close(r);
}
#define CLOSES(d, lit, code) closes((d), (lit), sizeof(lit) - 1, (code))

/* Packs [0, msgid, "test.echo", [{"value": <bin of len bytes>}]]. */
static void pack_echo_bin(struct hraw *r, uint32_t msgid, size_t len) {
  msgpack_packer *pk = raw_request_begin(r, msgid, "test.echo");
  char *data = malloc(len);
  cr_assert_not_null(data);
  for (size_t i = 0; i < len; i++)
    data[i] = (char)(i * 7);
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  msgpack_pack_str_with_body(pk, "value", 5);
  msgpack_pack_bin_with_body(pk, data, len);
  free(data);
}

/* Packs [0, msgid, "test.echo", [{"value": <depth nested arrays>}]]. */
static void pack_echo_nested(struct hraw *r, uint32_t msgid, unsigned depth) {
  msgpack_packer *pk = raw_request_begin(r, msgid, "test.echo");
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  msgpack_pack_str_with_body(pk, "value", 5);
  for (unsigned i = 0; i < depth; i++)
    msgpack_pack_array(pk, i + 1 < depth ? 1 : 0);
}

static void end_of_test(struct hdaemon *d) {
  harness_ping_new(d);
  harness_finish(d);
}

Test(bad_input, not_messagepack) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--log-level", "info", (const char *)NULL);
  struct hraw *r;

  /* 0xc1 is the one byte MessagePack never uses. */
  CLOSES(d, "\xc1", "Protocol.ParseError");
  /* Garbage after [0, 5, ...: the msgid was seen, so that request is answered first. */
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x05\xc1");
  raw_expect_error(r, 5, "Protocol.ParseError");
  cr_assert_eq(raw_expect_closed(r, "Protocol.ParseError"), 1);
  raw_close(r);

  cr_assert(harness_log_wait(d, "sent a bad message", HARNESS_TIMEOUT_MS));
  cr_assert_eq(harness_info_u64_new(d, "disconnects"), 2);
  end_of_test(d);
}

Test(bad_input, message_not_an_array) {
  struct hdaemon *d = start();
  CLOSES(d, "\x2a", "Protocol.InvalidRequest");                   /* 42 */
  CLOSES(d, "\xa4ping", "Protocol.InvalidRequest");               /* "ping" */
  CLOSES(d, "\x81\xa6method\xa4ping", "Protocol.InvalidRequest"); /* {"method": "ping"} */
  CLOSES(d, "\xc0", "Protocol.InvalidRequest");                   /* nil */
  end_of_test(d);
}

Test(bad_input, wrong_array_length) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);

  /* A msgid is there: answered, and the stream goes on. */
  msgpack_pack_array(raw_packer(r), 3);
  msgpack_pack_uint8(raw_packer(r), 0);
  msgpack_pack_uint32(raw_packer(r), 9);
  msgpack_pack_str_with_body(raw_packer(r), "daemon.ping", 11);
  flush(r);
  raw_expect_error(r, 9, "Protocol.InvalidRequest");
  msgpack_pack_array(raw_packer(r), 5);
  msgpack_pack_uint8(raw_packer(r), 0);
  msgpack_pack_uint32(raw_packer(r), 10);
  msgpack_pack_str_with_body(raw_packer(r), "daemon.ping", 11);
  msgpack_pack_array(raw_packer(r), 0);
  msgpack_pack_nil(raw_packer(r));
  flush(r);
  raw_expect_error(r, 10, "Protocol.InvalidRequest");
  still_in_step(r, 11);
  raw_close(r);

  /* No msgid to answer: closed. */
  CLOSES(d, "\x90", "Protocol.InvalidRequest");     /* [] */
  CLOSES(d, "\x91\x00", "Protocol.InvalidRequest"); /* [0] */
  CLOSES(d, "\x92\x02\xa1x", "Protocol.InvalidRequest"); /* notification [2, "x"] */
  end_of_test(d);
}

Test(bad_input, wrong_element_types) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);
  msgpack_packer *pk;

  /* Answerable: the msgid is a valid one. */
  msgpack_pack_array(raw_packer(r), 4);
  msgpack_pack_uint8(raw_packer(r), 0);
  msgpack_pack_uint32(raw_packer(r), 3);
  msgpack_pack_int(raw_packer(r), 42); /* method not a string */
  msgpack_pack_array(raw_packer(r), 0);
  flush(r);
  raw_expect_error(r, 3, "Protocol.InvalidRequest");
  msgpack_pack_array(raw_request_begin(r, 4, ""), 0); /* empty method */
  flush(r);
  raw_expect_error(r, 4, "Protocol.InvalidRequest");
  msgpack_pack_map(raw_request_begin(r, 5, "daemon.ping"), 0); /* params {} instead of [{}] */
  flush(r);
  raw_expect_error(r, 5, "Protocol.InvalidParams");
  pk = raw_request_begin(r, 6, "daemon.ping"); /* params [1] */
  msgpack_pack_array(pk, 1);
  msgpack_pack_int(pk, 1);
  flush(r);
  raw_expect_error(r, 6, "Protocol.InvalidParams");
  pk = raw_request_begin(r, 7, "daemon.ping"); /* params [{}, {}] */
  msgpack_pack_array(pk, 2);
  msgpack_pack_map(pk, 0);
  msgpack_pack_map(pk, 0);
  flush(r);
  raw_expect_error(r, 7, "Protocol.InvalidParams");
  msgpack_pack_nil(raw_request_begin(r, 8, "daemon.ping")); /* params nil */
  flush(r);
  raw_expect_error(r, 8, "Protocol.InvalidParams");
  /* A notification is not answered (and the daemon defines none); the stream goes on. */
  pk = raw_packer(r);
  msgpack_pack_array(pk, 3);
  msgpack_pack_uint8(pk, 2);
  msgpack_pack_str_with_body(pk, "daemon.ping", 11);
  msgpack_pack_array(pk, 0);
  flush(r);
  still_in_step(r, 9);
  raw_close(r);

  /* Not answerable: closed. */
  CLOSES(d, "\x94\xa1" "0\x01\xab" "daemon.ping\x90", "Protocol.InvalidRequest"); /* type "0" */
  CLOSES(d, "\x94\x07\x01\xab" "daemon.ping\x90", "Protocol.InvalidRequest");     /* type 7 */
  CLOSES(d, "\x94\x00\xa1" "1\xab" "daemon.ping\x90", "Protocol.InvalidRequest"); /* msgid "1" */
  CLOSES(d, "\x94\x00\xc0\xab" "daemon.ping\x90", "Protocol.InvalidRequest");     /* msgid nil */
  CLOSES(d, "\x94\x00\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xab" "daemon.ping\x90",
         "Protocol.InvalidRequest"); /* msgid 1.5 */
  /* The daemon sends no requests, so a response from a client is a protocol violation. */
  CLOSES(d, "\x94\x01\x01\xc0\xc0", "Protocol.InvalidRequest");
  end_of_test(d);
}

Test(bad_input, msgid_out_of_range) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);

  /* The edges of uint32 are fine, in any integer encoding. */
  raw_request(r, 0, "daemon.ping");
  raw_expect_result(r, 0);
  raw_request(r, UINT32_MAX, "daemon.ping");
  raw_expect_result(r, UINT32_MAX);
  SEND(r, "\x94\x00\xd3\x00\x00\x00\x00\x00\x00\x00\x05\xab" "daemon.ping\x90"); /* int64 5 */
  raw_expect_result(r, 5);
  raw_close(r);

  CLOSES(d, "\x94\x00\xff\xab" "daemon.ping\x90", "Protocol.InvalidRequest");             /* -1 */
  CLOSES(d, "\x94\x00\xd2\x80\x00\x00\x00\xab" "daemon.ping\x90", "Protocol.InvalidRequest"); /* INT32_MIN */
  CLOSES(d, "\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xab" "daemon.ping\x90",
         "Protocol.InvalidRequest"); /* UINT32_MAX + 1 */
  CLOSES(d, "\x94\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xab" "daemon.ping\x90",
         "Protocol.InvalidRequest"); /* UINT64_MAX */
  end_of_test(d);
}

Test(bad_input, unknown_method) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);
  static const char *const names[] = {"no.such.method", "daemon.pin", "daemon.pingx", "DAEMON.PING", "daemon",
                                      "a", "zzz", "test.echo.", " daemon.ping"};
  uint32_t id = 100;

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, id++) {
    raw_request(r, id, names[i]);
    raw_expect_error(r, id, "Method.NotFound");
  }
  /* A name with a NUL inside is not the name before the NUL. */
  msgpack_pack_array(raw_packer(r), 4);
  msgpack_pack_uint8(raw_packer(r), 0);
  msgpack_pack_uint32(raw_packer(r), id);
  msgpack_pack_str_with_body(raw_packer(r), "daemon.ping\0xy", 14);
  msgpack_pack_array(raw_packer(r), 0);
  flush(r);
  raw_expect_error(r, id, "Method.NotFound");
  still_in_step(r, id + 1);
  raw_close(r);
  end_of_test(d);
}

/* Sends test.sleep (or `method`) with the named parameters packed by the caller into a map of n. */
static msgpack_packer *params_begin(struct hraw *r, uint32_t msgid, const char *method, uint32_t n) {
  msgpack_packer *pk = raw_request_begin(r, msgid, method);
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, n);
  return pk;
}

static void key(msgpack_packer *pk, const char *k) { msgpack_pack_str_with_body(pk, k, strlen(k)); }

Test(bad_input, invalid_named_params) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);
  msgpack_packer *pk;
  msgpack_object result;

  /* The well-formed one, for comparison. */
  pk = params_begin(r, 1, "test.sleep", 1);
  key(pk, "ms");
  msgpack_pack_uint32(pk, 1);
  flush(r);
  result = raw_expect_result(r, 1);
  cr_assert_not_null(harness_get(&result, "slept"));

  params_begin(r, 2, "test.sleep", 0); /* missing ms */
  flush(r);
  raw_expect_error(r, 2, "Protocol.InvalidParams");
  pk = params_begin(r, 3, "test.sleep", 2); /* unknown parameter */
  key(pk, "ms");
  msgpack_pack_uint32(pk, 1);
  key(pk, "bogus");
  msgpack_pack_true(pk);
  flush(r);
  raw_expect_error(r, 3, "Protocol.InvalidParams");
  pk = params_begin(r, 4, "test.sleep", 1); /* mistyped */
  key(pk, "ms");
  key(pk, "10");
  flush(r);
  raw_expect_error(r, 4, "Protocol.InvalidParams");
  pk = params_begin(r, 5, "test.sleep", 1); /* out of the method's range */
  key(pk, "ms");
  msgpack_pack_int(pk, -5);
  flush(r);
  raw_expect_error(r, 5, "Protocol.InvalidParams");
  pk = params_begin(r, 6, "test.sleep", 2); /* given twice */
  key(pk, "ms");
  msgpack_pack_uint32(pk, 1);
  key(pk, "ms");
  msgpack_pack_uint32(pk, 2);
  flush(r);
  raw_expect_error(r, 6, "Protocol.InvalidParams");
  pk = params_begin(r, 7, "test.sleep", 1); /* a name that is not a string */
  msgpack_pack_uint32(pk, 1);
  msgpack_pack_uint32(pk, 1);
  flush(r);
  raw_expect_error(r, 7, "Protocol.InvalidParams");
  pk = params_begin(r, 8, "daemon.ping", 1); /* a method that takes none */
  key(pk, "x");
  msgpack_pack_uint32(pk, 1);
  flush(r);
  raw_expect_error(r, 8, "Protocol.InvalidParams");
  params_begin(r, 9, "daemon.ping", 0); /* [{}] is no parameters */
  flush(r);
  raw_expect_result(r, 9);

  still_in_step(r, 10);
  raw_close(r);
  end_of_test(d);
}

Test(bad_input, oversized_message) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--max-message-size", "4096", (const char *)NULL);
  struct hraw *r = raw_connect(d->socket);
  msgpack_object result;

  /* Under the limit: echoed whole. */
  pack_echo_bin(r, 20, 3000);
  flush(r);
  result = raw_expect_result(r, 20);
  cr_assert(result.type == MSGPACK_OBJECT_BIN && result.via.bin.size == 3000 &&
            result.via.bin.ptr[2999] == (char)(2999 * 7), "the value was not echoed whole");
  /* Over it: answered (the msgid came first), then closed, since the rest cannot be followed. */
  pack_echo_bin(r, 21, 5000);
  flush(r);
  raw_expect_error(r, 21, "Protocol.MessageTooLarge");
  cr_assert_eq(raw_expect_closed(r, "Protocol.MessageTooLarge"), 1);
  raw_close(r);

  /* Only headers declaring huge bodies: refused at once, without waiting for the body. */
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x16\xa9test.echo\x91\x81\xa5value\xc6\xff\xff\xff\xf0"); /* bin 32 */
  raw_expect_error(r, 22, "Protocol.MessageTooLarge");
  cr_assert_eq(raw_expect_closed(r, "Protocol.MessageTooLarge"), 1);
  raw_close(r);
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x17\xa9test.echo\x91\x81\xa5value\xdb\x00\x01\x86\xa0"); /* str 100000 */
  raw_expect_error(r, 23, "Protocol.MessageTooLarge");
  cr_assert_eq(raw_expect_closed(r, "Protocol.MessageTooLarge"), 1);
  raw_close(r);
  /* A str beyond --max-string-length (1M by default) trips that limit first. */
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x18\xa9test.echo\x91\x81\xa5value\xdb\xff\xff\xff\xff");
  raw_expect_error(r, 24, "Protocol.StringTooLong");
  cr_assert_eq(raw_expect_closed(r, "Protocol.StringTooLong"), 1);
  raw_close(r);
  /* A method name longer than the whole limit. */
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x19\xda\x20\x00");
  raw_expect_error(r, 25, "Protocol.MessageTooLarge");
  cr_assert_eq(raw_expect_closed(r, "Protocol.MessageTooLarge"), 1);
  raw_close(r);
  end_of_test(d);
}

Test(bad_input, huge_declared_sizes_default_limits) {
  struct hdaemon *d = start();
  long rss_before = harness_vmrss_kb(d);
  struct hraw *r;

  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x01\xa9test.echo\x91\x81\xa5value\xdb\xff\xff\xff\xff"); /* str 4G */
  raw_expect_error(r, 1, "Protocol.StringTooLong");
  cr_assert_eq(raw_expect_closed(r, "Protocol.StringTooLong"), 1);
  raw_close(r);
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x02\xa9test.echo\x91\x81\xa5value\xc6\xff\xff\xff\xff"); /* bin 4G */
  raw_expect_error(r, 2, "Protocol.MessageTooLarge");
  cr_assert_eq(raw_expect_closed(r, "Protocol.MessageTooLarge"), 1);
  raw_close(r);
  /* Containers declaring 4G elements, a few of them sent, then a hang-up: nothing is
   * allocated for what was only declared. */
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x03\xa9test.echo\x91\x81\xa5value\xdd\xff\xff\xff\xff\x01\x02\x03");
  raw_close(r);
  r = raw_connect(d->socket);
  SEND(r, "\x94\x00\x04\xa9test.echo\x91\x81\xa5value\xdf\xff\xff\xff\xff\x01\x02");
  raw_close(r);
  harness_ping_new(d);
  cr_assert_lt(harness_vmrss_kb(d) - rss_before, 16 * 1024, "declared sizes made the daemon allocate");
  end_of_test(d);
}

Test(bad_input, nesting_too_deep) {
  struct hdaemon *d = start();
  struct hraw *r = raw_connect(d->socket);
  msgpack_object o;
  unsigned depth = 0;

  /* Message, params, map: 3 levels; 28 more arrays make 31, within the default 32. */
  pack_echo_nested(r, 30, 28);
  flush(r);
  o = raw_expect_result(r, 30);
  while (o.type == MSGPACK_OBJECT_ARRAY) {
    depth++;
    if (o.via.array.size == 0)
      break;
    o = o.via.array.ptr[0];
  }
  cr_assert_eq(depth, 28, "the nested value was not echoed whole");
  pack_echo_nested(r, 31, 40);
  flush(r);
  raw_expect_error(r, 31, "Protocol.TooDeep");
  cr_assert_eq(raw_expect_closed(r, "Protocol.TooDeep"), 1);
  raw_close(r);
  end_of_test(d);
}

Test(bad_input, nesting_limit_flag) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--max-depth", "4", (const char *)NULL);
  struct hraw *r = raw_connect(d->socket);
  msgpack_packer *pk;

  pack_echo_nested(r, 1, 1); /* level 4: allowed */
  flush(r);
  raw_expect_result(r, 1);
  pk = params_begin(r, 2, "test.echo", 1); /* a map at level 4: allowed */
  key(pk, "value");
  msgpack_pack_map(pk, 0);
  flush(r);
  raw_expect_result(r, 2);
  pack_echo_nested(r, 3, 2); /* level 5 */
  flush(r);
  raw_expect_error(r, 3, "Protocol.TooDeep");
  cr_assert_eq(raw_expect_closed(r, "Protocol.TooDeep"), 1);
  raw_close(r);

  r = raw_connect(d->socket);
  pk = params_begin(r, 4, "test.echo", 1); /* {"value": {"a": {}}}: a map at level 5 */
  key(pk, "value");
  msgpack_pack_map(pk, 1);
  key(pk, "a");
  msgpack_pack_map(pk, 0);
  flush(r);
  raw_expect_error(r, 4, "Protocol.TooDeep");
  cr_assert_eq(raw_expect_closed(r, "Protocol.TooDeep"), 1);
  raw_close(r);
  end_of_test(d);
}

Test(bad_input, disconnect_mid_request) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--log-level", "debug", (const char *)NULL);
  struct hraw *r = raw_connect(d->socket);

  pack_echo_bin(r, 1, 1000);
  cr_assert_eq(raw_send(r, r->out.data, r->out.size / 2), 0);
  raw_close(r);
  cr_assert(harness_log_wait(d, "hung up in the middle of a message", HARNESS_TIMEOUT_MS),
            "the daemon did not notice the half message");
  cr_assert(harness_info_wait(d, "connections", 1, HARNESS_TIMEOUT_MS));
  cr_assert_eq(harness_info_u64_new(d, "disconnects"), 0);
  end_of_test(d);
}

Test(bad_input, disconnect_mid_response) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--log-level", "debug", (const char *)NULL);
  struct hraw *r = raw_connect(d->socket);
  char gone_line[64];

  /* 3 MiB of answers, more than the socket buffers hold, and nobody reads them. */
  for (uint32_t i = 0; i < 96; i++) {
    pack_echo_bin(r, i, 32 * 1024);
    flush(r);
  }
  raw_close(r);
  snprintf(gone_line, sizeof gone_line, "client 1 (pid %d) disconnected", (int)getpid());
  cr_assert(harness_log_wait(d, gone_line, HARNESS_TIMEOUT_MS), "the daemon did not notice the hang-up");
  cr_assert(harness_info_wait(d, "connections", 1, HARNESS_TIMEOUT_MS), "the connection was not released");
  /* The client left by itself: not counted as one the daemon disconnected. */
  cr_assert_eq(harness_info_u64_new(d, "disconnects"), 0);
  end_of_test(d);
}

Test(bad_input, client_that_never_reads) {
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), "--max-queued-bytes", "65536",
                                    (const char *)NULL);
  struct hraw *r = raw_connect(d->socket);
  const size_t cap = (size_t)64 << 20;
  long rss_before = harness_vmrss_kb(d), grown;
  size_t sent = 0;
  int err = 0;
  uint32_t id = 0;

  /* Flood requests whose answers are as big, never reading: the daemon must hang up. */
  while (sent < cap) {
    pack_echo_bin(r, id++, 16 * 1024);
    sent += r->out.size;
    if ((err = raw_flush(r)) < 0)
      break;
  }
  cr_assert(err == -EPIPE || err == -ECONNRESET, "not disconnected after %zu bytes of requests (%s)", sent,
            err < 0 ? strerror(-err) : "no error");
  raw_close(r);
  cr_assert(harness_log_wait(d, "is not reading its answers", HARNESS_TIMEOUT_MS));
  cr_assert_eq(harness_info_u64_new(d, "disconnects"), 1);
  grown = harness_vmrss_kb(d) - rss_before;
  cr_assert_lt(grown, 32 * 1024, "VmRSS grew by %ld KiB for a client that does not read (%zu bytes sent)", grown,
               sent);
  end_of_test(d);
}
