/* Unit tests for proto/frame.c: message boundaries in a chunked stream, and limits. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "frame.h"
#include "message.h"

#define MAX_MSGS 128

/* A byte stream and where each of its messages ends. */
struct stream {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t ends[MAX_MSGS];
  size_t n;
};

/* What feeding a stream to a framer produced. */
struct result {
  size_t ends[MAX_MSGS]; /* message end offsets, in stream coordinates */
  size_t n;
  int error;             /* 0, or the (sticky) error */
  size_t fed_at_error;   /* bytes committed when the error first appeared */
  size_t pending_at_error;
  size_t max_cap;        /* largest buffer the framer held */
  size_t resizes;        /* how often the buffer changed size */
};

static void stream_init(struct stream *s) {
  memset(s, 0, sizeof *s);
  msgpack_sbuffer_init(&s->sb);
  msgpack_packer_init(&s->pk, &s->sb, msgpack_sbuffer_write);
}

static void stream_free(struct stream *s) {
  msgpack_sbuffer_destroy(&s->sb);
}

/* Marks the end of the message just packed. */
static void stream_end(struct stream *s) {
  cr_assert_lt(s->n, MAX_MSGS);
  s->ends[s->n++] = s->sb.size;
}

/* Appends a message written as raw bytes (for encodings the packer never picks). */
static void stream_raw(struct stream *s, const char *bytes, size_t len) {
  msgpack_sbuffer_write(&s->sb, bytes, len);
  stream_end(s);
}
#define RAW(s, lit) stream_raw((s), (lit), sizeof(lit) - 1)

static struct proto_limits limits(size_t msg, unsigned depth, size_t str) {
  struct proto_limits l = { .max_message_size = msg, .max_depth = depth, .max_string_length = str,
                            .max_elements = PROTO_DEFAULT_MAX_ELEMENTS };
  return l;
}

static struct proto_limits default_limits(void) {
  struct proto_limits l;
  proto_limits_default(&l);
  return l;
}

/* Takes every complete message out of the framer, checking its bytes against the stream. */
static void drain(struct proto_frame *f, const char *data, size_t *consumed, size_t fed,
                  struct result *res) {
  const char *msg;
  size_t len;
  int r;

  while ((r = proto_frame_next(f, &msg, &len)) == 1) {
    cr_assert_lt(res->n, MAX_MSGS);
    cr_assert_leq(*consumed + len, fed);
    cr_assert(memcmp(msg, data + *consumed, len) == 0, "message bytes differ at %zu", *consumed);
    *consumed += len;
    res->ends[res->n++] = *consumed;
  }
  if (r < 0) {
    res->error = r;
    res->fed_at_error = fed;
    res->pending_at_error = proto_frame_pending(f);
    cr_assert_eq(proto_frame_next(f, &msg, &len), r, "errors are sticky");
  } else {
    cr_assert_eq(proto_frame_pending(f), fed - *consumed);
  }
}

/* Feeds data[0, len) in reads of `chunk` bytes, stopping at the first error. */
static void feed(const struct proto_limits *lim, const char *data, size_t len, size_t chunk,
                 struct result *res) {
  struct proto_frame f;
  size_t off = 0, consumed = 0;

  memset(res, 0, sizeof *res);
  proto_frame_init(&f, lim);
  while (off < len && !res->error) {
    char *buf;
    size_t room, n;

    size_t cap = f.cap;

    cr_assert_eq(proto_frame_reserve(&f, chunk, &buf, &room), 0);
    cr_assert(room >= 1 && room <= chunk, "reserve gave %zu for %zu", room, chunk);
    res->resizes += f.cap != cap;
    n = room < len - off ? room : len - off;
    memcpy(buf, data + off, n);
    proto_frame_commit(&f, n);
    off += n;
    if (f.cap > res->max_cap)
      res->max_cap = f.cap;
    drain(&f, data, &consumed, off, res);
  }
  proto_frame_free(&f);
}

static void assert_boundaries(const struct stream *s, const struct result *res, size_t chunk) {
  cr_assert_eq(res->error, 0, "chunk %zu: error %d", chunk, res->error);
  cr_assert_eq(res->n, s->n, "chunk %zu: %zu messages, expected %zu", chunk, res->n, s->n);
  for (size_t i = 0; i < s->n; i++)
    cr_assert_eq(res->ends[i], s->ends[i], "chunk %zu: message %zu ends at %zu, expected %zu",
                 chunk, i, res->ends[i], s->ends[i]);
}

/* Feeds the stream in chunks of every size from 1 byte to all of it. */
static void assert_boundaries_every_chunk(const struct stream *s, const struct proto_limits *lim) {
  struct result res;

  for (size_t chunk = 1; chunk <= s->sb.size; chunk++) {
    feed(lim, s->sb.data, s->sb.size, chunk, &res);
    assert_boundaries(s, &res, chunk);
  }
}

/* Feeds bad bytes in chunks of every size and checks which messages came out before `err`. */
static void assert_error_every_chunk(const struct proto_limits *lim, const char *data, size_t len,
                                     size_t good_msgs, int err) {
  struct result res;

  for (size_t chunk = 1; chunk <= len; chunk++) {
    feed(lim, data, len, chunk, &res);
    cr_assert_eq(res.error, err, "chunk %zu: got %d, expected %d", chunk, res.error, err);
    cr_assert_eq(res.n, good_msgs, "chunk %zu: %zu messages before the error", chunk, res.n);
  }
}
#define ASSERT_ERROR(lim, lit, good, err) assert_error_every_chunk((lim), (lit), sizeof(lit) - 1, (good), (err))

static void pack_str(msgpack_packer *pk, const char *s, size_t len) {
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

/* Requests, responses and notifications using every MessagePack type and width. */
static void build_mixed_stream(struct stream *s) {
  msgpack_packer *pk = &s->pk;
  char text[300];
  char bin[300];

  memset(text, 'x', sizeof text);
  for (size_t i = 0; i < sizeof bin; i++)
    bin[i] = (char)(0xc1 ^ i); /* payload bytes are never parsed, even 0xc1 */

  proto_pack_request_begin(pk, 1, "daemon.ping", 11);
  msgpack_pack_array(pk, 0);
  stream_end(s);

  /* nested named parameters */
  proto_pack_request_begin(pk, 2, "variant.configs", 15);
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "namespaces");
  msgpack_pack_array(pk, 2);
  proto_pack_cstr(pk, "a");
  proto_pack_cstr(pk, "b");
  proto_pack_cstr(pk, "known");
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "x");
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "y");
  msgpack_pack_array(pk, 3);
  msgpack_pack_int(pk, 1);
  msgpack_pack_map(pk, 0);
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "z");
  msgpack_pack_nil(pk);
  stream_end(s);

  proto_pack_notification_begin(pk, "log", 3);
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "level");
  msgpack_pack_int(pk, 3);
  stream_end(s);

  /* every scalar width */
  proto_pack_response_begin(pk, 3);
  msgpack_pack_array(pk, 20);
  msgpack_pack_true(pk);
  msgpack_pack_false(pk);
  msgpack_pack_float(pk, 1.5f);
  msgpack_pack_double(pk, 2.25);
  msgpack_pack_uint64(pk, 200);
  msgpack_pack_uint64(pk, 60000);
  msgpack_pack_uint64(pk, 4000000000u);
  msgpack_pack_uint64(pk, UINT64_MAX);
  msgpack_pack_int64(pk, -5);
  msgpack_pack_int64(pk, -100);
  msgpack_pack_int64(pk, -30000);
  msgpack_pack_int64(pk, -2000000000);
  msgpack_pack_int64(pk, INT64_MIN);
  pack_str(pk, text, 40);  /* str8 */
  pack_str(pk, text, 300); /* str16 */
  msgpack_pack_bin(pk, 10);
  msgpack_pack_bin_body(pk, bin, 10);   /* bin8 */
  msgpack_pack_bin(pk, 300);
  msgpack_pack_bin_body(pk, bin, 300);  /* bin16 */
  msgpack_pack_ext(pk, 3, 7);
  msgpack_pack_ext_body(pk, bin, 3);    /* ext8 */
  msgpack_pack_ext(pk, 300, 7);
  msgpack_pack_ext_body(pk, bin, 300);  /* ext16 */
  msgpack_pack_str(pk, 0);              /* empty fixstr */
  stream_end(s);

  /* fixext 1, 2, 4, 8, 16 */
  proto_pack_response_begin(pk, 4);
  msgpack_pack_array(pk, 5);
  for (size_t n = 1; n <= 16; n *= 2) {
    msgpack_pack_ext(pk, n, -1);
    msgpack_pack_ext_body(pk, bin, n);
  }
  stream_end(s);

  /* 16-element containers take the 16-bit count encodings */
  proto_pack_response_begin(pk, 5);
  msgpack_pack_map(pk, 16);
  for (int i = 0; i < 16; i++) {
    msgpack_pack_int(pk, i);
    msgpack_pack_array(pk, 16);
    for (int j = 0; j < 16; j++)
      msgpack_pack_int(pk, j);
  }
  stream_end(s);

  proto_pack_error_response(pk, 6, PROTO_CODE_METHOD_NOT_FOUND, "no such method");
  stream_end(s);

  /* 32-bit length and count encodings, which the packer only uses for large values */
  RAW(s, "\x94\x01\x07\xc0\xdd\x00\x00\x00\x05"
         "\xdb\x00\x00\x00\x02hi"
         "\xc6\x00\x00\x00\x01\xc1"
         "\xc9\x00\x00\x00\x02\x05" "ab"
         "\xdf\x00\x00\x00\x01\xa1k\xc0"
         "\xdc\x00\x00");
  /* top-level values that are not arrays are still one message each */
  RAW(s, "\xc0");
  RAW(s, "\x05");
  RAW(s, "\xa3" "abc");
  RAW(s, "\x90");
  RAW(s, "\x80");
}

Test(frame, mixed_stream_every_chunk_size) {
  struct stream s;
  struct proto_limits lim = default_limits();

  stream_init(&s);
  build_mixed_stream(&s);
  cr_assert_gt(s.n, 10);
  assert_boundaries_every_chunk(&s, &lim);
  stream_free(&s);
}

Test(frame, every_message_decodes) {
  struct stream s;
  msgpack_zone zone;
  msgpack_object o;
  size_t start = 0;

  stream_init(&s);
  build_mixed_stream(&s);
  msgpack_zone_init(&zone, 4096);
  for (size_t i = 0; i < s.n; i++) {
    cr_assert_eq(proto_decode(s.sb.data + start, s.ends[i] - start, &zone, &o), 0, "message %zu", i);
    start = s.ends[i];
  }
  msgpack_zone_destroy(&zone);
  stream_free(&s);
}

Test(frame, many_messages_in_one_read) {
  struct stream s;
  struct result res;
  struct proto_limits lim = default_limits();

  stream_init(&s);
  for (uint32_t i = 0; i < MAX_MSGS; i++) {
    proto_pack_request_begin(&s.pk, i, "daemon.ping", 11);
    msgpack_pack_array(&s.pk, 0);
    stream_end(&s);
  }
  feed(&lim, s.sb.data, s.sb.size, s.sb.size, &res);
  assert_boundaries(&s, &res, s.sb.size);
  stream_free(&s);
}

/* A few MB of bin between small messages, in reads from 1 byte up. */
Test(frame, large_bin_in_many_chunk_sizes, .timeout = 60) {
  static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000, 4096, 65536, 1u << 20 };
  size_t big = 3u << 20;
  char *payload = malloc(big);
  struct stream s;
  struct result res;
  struct proto_limits lim = default_limits();

  cr_assert_not_null(payload);
  memset(payload, 0xc1, big);
  stream_init(&s);
  RAW(&s, "\x93\x02\xa1x\x90");
  proto_pack_request_begin(&s.pk, 9, "backend.call", 12);
  msgpack_pack_array(&s.pk, 1);
  msgpack_pack_map(&s.pk, 1);
  proto_pack_cstr(&s.pk, "args");
  msgpack_pack_bin(&s.pk, big);
  msgpack_pack_bin_body(&s.pk, payload, big);
  stream_end(&s);
  RAW(&s, "\x93\x02\xa1y\x90");

  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    feed(&lim, s.sb.data, s.sb.size, chunks[i], &res);
    assert_boundaries(&s, &res, chunks[i]);
    cr_assert_leq(res.max_cap, 2 * (big + 64 + chunks[i]), "chunk %zu: buffer grew to %zu",
                  chunks[i], res.max_cap);
    /* geometric growth: copying stays linear in the message size */
    cr_assert_leq(res.resizes, 2 * 24, "chunk %zu: %zu resizes", chunks[i], res.resizes);
  }
  feed(&lim, s.sb.data, s.sb.size, s.sb.size, &res);
  assert_boundaries(&s, &res, s.sb.size);
  stream_free(&s);
  free(payload);
}

/* 64 MiB arrive in 4 KiB reads: quadratic rescanning or copying would not finish in time. */
Test(frame, bin_64mib_is_framed_in_linear_time, .timeout = 60) {
  size_t big = (size_t)64 << 20;
  char *data = malloc(big + 16);
  struct stream s = { .n = 1 };
  struct result res;
  struct proto_limits lim = default_limits();
  size_t len = 0;

  cr_assert_not_null(data);
  memcpy(data, "\x94\x00\x01\xa1m\x91\x81\xa1" "a\xc6\x04\x00\x00\x00", 14);
  len = 14;
  memset(data + len, 0x9f, big);
  len += big;
  s.ends[0] = len;
  s.sb.size = len;
  feed(&lim, data, len, 4096, &res);
  assert_boundaries(&s, &res, 4096);
  cr_assert_leq(res.max_cap, lim.max_message_size + 4096);
  free(data);
}

Test(frame, buffer_is_compacted_not_grown) {
  struct stream s;
  struct result res;
  struct proto_limits lim = default_limits();

  stream_init(&s);
  for (uint32_t i = 0; i < MAX_MSGS; i++) {
    proto_pack_request_begin(&s.pk, i * 1000003u, "variant.validate", 16);
    msgpack_pack_array(&s.pk, 0);
    stream_end(&s);
  }
  /* 64-byte reads of ~25-byte messages: the buffer holds one partial message plus a read */
  feed(&lim, s.sb.data, s.sb.size, 64, &res);
  assert_boundaries(&s, &res, 64);
  cr_assert_leq(res.max_cap, 2 * (25 + 64), "buffer grew to %zu", res.max_cap);
  stream_free(&s);
}

Test(frame, buffer_shrinks_after_a_large_message) {
  struct proto_limits lim = default_limits();
  struct proto_frame f;
  size_t big = 1u << 20;
  const char *msg;
  size_t len;
  char *buf;
  size_t room;

  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_reserve(&f, big + 5, &buf, &room), 0);
  cr_assert_eq(room, big + 5);
  memcpy(buf, "\xc6\x00\x10\x00\x00", 5);
  memset(buf + 5, 0, big);
  proto_frame_commit(&f, big + 5);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), 1);
  cr_assert_eq(len, big + 5);
  cr_assert_eq(proto_frame_reserve(&f, 1024, &buf, &room), 0);
  cr_assert_eq(room, 1024);
  cr_assert_leq(f.cap, 4 * 1024, "buffer kept %zu bytes", f.cap);
  proto_frame_free(&f);
}

Test(frame, reserve_gives_between_one_and_want_bytes) {
  struct proto_limits lim = default_limits();
  struct proto_frame f;
  char *buf;
  size_t room;

  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_reserve(&f, 0, &buf, &room), 0);
  cr_assert_eq(room, 1);
  cr_assert_eq(proto_frame_reserve(&f, 100, &buf, &room), 0);
  cr_assert(room >= 1 && room <= 100);
  proto_frame_free(&f);
}

Test(frame, empty_framer_needs_more) {
  struct proto_limits lim = default_limits();
  struct proto_frame f;
  const char *msg;
  size_t len;
  uint32_t id;

  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), 0);
  cr_assert_eq(proto_frame_pending(&f), 0);
  cr_assert_eq(proto_frame_partial_msgid(&f, &id), 0);
  proto_frame_free(&f);
}

/* --- bad input --- */

Test(frame, byte_c1_is_a_parse_error) {
  struct proto_limits lim = default_limits();

  ASSERT_ERROR(&lim, "\xc1", 0, PROTO_EPARSE);
  ASSERT_ERROR(&lim, "\x94\x00\x01\xc1", 0, PROTO_EPARSE);
  ASSERT_ERROR(&lim, "\x93\x02\xa1x\x90" "\x93\x02\xa1x\x91\x81\xc1\xc0", 1, PROTO_EPARSE);
}

Test(frame, message_at_size_limit_passes) {
  struct proto_limits lim = limits(64, 32, 64);
  struct stream s;
  char msg[64];

  /* array16 of 61 fixints: 3 + 61 = 64 bytes */
  memcpy(msg, "\xdc\x00\x3d", 3);
  memset(msg + 3, 1, 61);
  stream_init(&s);
  stream_raw(&s, msg, sizeof msg);
  stream_raw(&s, msg, sizeof msg);
  assert_boundaries_every_chunk(&s, &lim);
  stream_free(&s);
}

Test(frame, message_over_size_limit_fails) {
  struct proto_limits lim = limits(64, 32, 64);
  char msg[65];

  memcpy(msg, "\xdc\x00\x3e", 3);
  memset(msg + 3, 1, 62);
  assert_error_every_chunk(&lim, msg, sizeof msg, 0, PROTO_ETOOBIG);
  /* the last element is a float64 whose header fits but whose value does not */
  memcpy(msg, "\xdc\x00\x38", 3);
  memset(msg + 3, 1, 55);
  memcpy(msg + 58, "\xcb\x00\x00\x00\x00\x00\x00", 7);
  assert_error_every_chunk(&lim, msg, sizeof msg, 0, PROTO_ETOOBIG);
}

/* A header declaring too many bytes fails at once: nothing is buffered waiting for the body. */
static void assert_fails_on_header(const struct proto_limits *lim, const char *hdr, size_t len, int err) {
  struct result res;

  for (size_t chunk = 1; chunk <= len + 8; chunk++) {
    feed(lim, hdr, len, chunk, &res);
    cr_assert_eq(res.error, err, "chunk %zu: got %d", chunk, res.error);
    cr_assert_leq(res.fed_at_error, len);
    cr_assert_leq(res.pending_at_error, len);
  }
}
#define ASSERT_FAILS_ON_HEADER(lim, lit, err) assert_fails_on_header((lim), (lit), sizeof(lit) - 1, (err))

Test(frame, huge_declared_length_fails_before_the_body) {
  struct proto_limits lim = limits(1024, 32, (size_t)1 << 40);

  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xdb\x7f\xff\xff\xff", PROTO_ETOOBIG);      /* str32 */
  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xc6\xff\xff\xff\xff", PROTO_ETOOBIG);      /* bin32 */
  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xc9\xff\xff\xff\xff", PROTO_ETOOBIG);      /* ext32: its type byte is not needed */
  ASSERT_FAILS_ON_HEADER(&lim, "\xc5\x03\xfe", PROTO_ETOOBIG);                          /* bin16: 1022 + 3 > 1024 */
  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xa4m\x91\x81\xa1k\xda\xff\xff", PROTO_ETOOBIG);
}

Test(frame, declared_length_at_size_limit_waits_for_the_body) {
  struct proto_limits lim = limits(1024, 32, (size_t)1 << 40);
  struct result res;

  feed(&lim, "\xc5\x03\xfd", 3, 3, &res); /* bin16 of 1021 bytes: exactly 1024 */
  cr_assert_eq(res.error, 0);
  cr_assert_eq(res.n, 0);
}

Test(frame, huge_declared_string_fails_with_strlen_before_the_body) {
  struct proto_limits lim = default_limits();

  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xdb\xff\xff\xff\xff", PROTO_ESTRLEN);
  ASSERT_FAILS_ON_HEADER(&lim, "\x94\x00\x07\xdb\x00\x10\x00\x01", PROTO_ESTRLEN); /* 1 MiB + 1 */
}

Test(frame, huge_declared_container_is_bounded_by_message_size) {
  struct proto_limits lim = limits(256, 32, 256);
  char msg[300];

  lim.max_elements = UINT64_MAX; /* the size limit alone must hold the line */
  /* array32 of 4 billion elements: the bytes run out of the size limit, nothing is allocated */
  memcpy(msg, "\xdd\xff\xff\xff\xff", 5);
  memset(msg + 5, 0, sizeof msg - 5);
  assert_error_every_chunk(&lim, msg, sizeof msg, 0, PROTO_ETOOBIG);
  memcpy(msg, "\xdf\xff\xff\xff\xff", 5); /* map32: 2 * count must not overflow */
  assert_error_every_chunk(&lim, msg, sizeof msg, 0, PROTO_ETOOBIG);
}

Test(frame, element_count_at_limit_passes_more_fails) {
  struct proto_limits lim = limits(1024, 32, 256);
  struct stream s;

  lim.max_elements = 6;
  stream_init(&s);
  RAW(&s, "\x93\x01\x92\x02\x03\x91\x04");  /* 3 + 2 + 1 elements */
  RAW(&s, "\x92\x81\xa1k\x01\x90");          /* 2 + one pair (2) + 0: the count restarts per message */
  assert_boundaries_every_chunk(&s, &lim);
  stream_free(&s);

  ASSERT_ERROR(&lim, "\x93\x01\x92\x02\x03\x92\x04\x05", 0, PROTO_ETOOMANY); /* 3 + 2 + 2 */
  ASSERT_ERROR(&lim, "\x91\x00\x92\x83\xa1" "a\x01\xa1" "b\x02\xa1" "c\x03\xc0", 1, PROTO_ETOOMANY); /* 2 + 3 pairs */
}

Test(frame, huge_declared_element_count_fails_before_the_elements) {
  struct proto_limits lim = default_limits();

  /* Tiny elements: 1 Mi + 1 nils would fit the 128 MiB size limit but cost 24 MiB to decode. */
  ASSERT_FAILS_ON_HEADER(&lim, "\xdd\x00\x10\x00\x01", PROTO_ETOOMANY);
  ASSERT_FAILS_ON_HEADER(&lim, "\x92\xdc\xff\xff\xdd\x00\x0f\x00\x02", PROTO_ETOOMANY); /* summed over levels */
}

/* Builds depth nested containers (arrays or single-entry maps) around a fixint. */
static size_t nested(char *out, unsigned depth, int maps) {
  size_t n = 0;

  for (unsigned i = 0; i < depth; i++) {
    if (maps && i > 0) {
      out[n++] = (char)0x81;
      out[n++] = 0x00; /* key */
    } else {
      out[n++] = (char)0x91;
    }
  }
  out[n++] = 0x07;
  return n;
}

static void assert_depth(unsigned limit, unsigned configured) {
  struct proto_limits lim = limits(1 << 20, configured, 64);
  char msg[4 * 40];
  struct stream s;
  size_t n;

  for (int maps = 0; maps <= 1; maps++) {
    stream_init(&s);
    n = nested(msg, limit, maps);
    stream_raw(&s, msg, n);
    stream_raw(&s, msg, n);
    assert_boundaries_every_chunk(&s, &lim);
    stream_free(&s);
    n = nested(msg, limit + 1, maps);
    assert_error_every_chunk(&lim, msg, n, 0, PROTO_EDEPTH);
  }
}

Test(frame, nesting_at_limit_passes_deeper_fails) {
  assert_depth(1, 1);
  assert_depth(4, 4);
  assert_depth(PROTO_DEFAULT_MAX_DEPTH, PROTO_DEFAULT_MAX_DEPTH);
}

Test(frame, depth_limit_is_capped_at_what_msgpack_c_decodes) {
  assert_depth(PROTO_MAX_DEPTH_CEILING, 1000);
}

Test(frame, empty_container_counts_toward_depth) {
  struct proto_limits lim = limits(1024, 2, 64);

  ASSERT_ERROR(&lim, "\x91\x91\x90", 0, PROTO_EDEPTH);
  ASSERT_ERROR(&lim, "\x91\x91\x80", 0, PROTO_EDEPTH);
  ASSERT_ERROR(&lim, "\x91\x91\xdc\x00\x00", 0, PROTO_EDEPTH);
}

Test(frame, string_at_limit_passes_longer_fails) {
  struct proto_limits lim = limits(1024, 32, 10);
  struct stream s;

  stream_init(&s);
  RAW(&s, "\x92\xaa" "0123456789\xa0");              /* fixstr of 10 */
  RAW(&s, "\x91\xd9\x0a" "0123456789");              /* str8 of 10 */
  RAW(&s, "\x91\xda\x00\x0a" "0123456789");          /* str16 of 10 */
  RAW(&s, "\x91\xdb\x00\x00\x00\x0a" "0123456789");  /* str32 of 10 */
  RAW(&s, "\x91\xc4\x0b" "0123456789a");             /* bin is not a string */
  assert_boundaries_every_chunk(&s, &lim);
  stream_free(&s);

  ASSERT_ERROR(&lim, "\x91\xab" "0123456789a", 0, PROTO_ESTRLEN);
  ASSERT_ERROR(&lim, "\x91\xd9\x0b" "0123456789a", 0, PROTO_ESTRLEN);
  ASSERT_ERROR(&lim, "\x91\xda\x00\x0b" "0123456789a", 0, PROTO_ESTRLEN);
  ASSERT_ERROR(&lim, "\x91\xdb\x00\x00\x00\x0b" "0123456789a", 0, PROTO_ESTRLEN);
  ASSERT_ERROR(&lim, "\x91\xa1x" "\x91\x81\xab" "0123456789a\xc0", 1, PROTO_ESTRLEN); /* as a map key */
}

Test(frame, errors_are_sticky) {
  struct proto_limits lim = default_limits();
  struct proto_frame f;
  const char *msg;
  size_t len;
  char *buf;
  size_t room;

  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_reserve(&f, 16, &buf, &room), 0);
  buf[0] = (char)0xc1;
  proto_frame_commit(&f, 1);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), PROTO_EPARSE);
  cr_assert_eq(proto_frame_reserve(&f, 16, &buf, &room), 0);
  memcpy(buf, "\x93\x02\xa1x\x90", 5);
  proto_frame_commit(&f, 5);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), PROTO_EPARSE);
  proto_frame_free(&f);
}

/* --- partial_msgid --- */

/* Commits bytes to a fresh framer, frames what it can, and asks for the partial msgid. */
static int partial_msgid(const struct proto_limits *lim, const char *bytes, size_t len, uint32_t *id) {
  struct proto_frame f;
  const char *msg;
  size_t mlen;
  char *buf;
  size_t room;
  int r;

  proto_frame_init(&f, lim);
  cr_assert_eq(proto_frame_reserve(&f, len, &buf, &room), 0);
  memcpy(buf, bytes, len);
  proto_frame_commit(&f, len);
  while (proto_frame_next(&f, &msg, &mlen) == 1)
    ;
  r = proto_frame_partial_msgid(&f, id);
  proto_frame_free(&f);
  return r;
}

static void assert_msgid(const char *bytes, size_t len, int found, uint32_t expected) {
  struct proto_limits lim = limits(64, 32, 64);
  uint32_t id = 0xdeadbeef;

  cr_assert_eq(partial_msgid(&lim, bytes, len, &id), found, "prefix of %zu bytes", len);
  if (found)
    cr_assert_eq(id, expected);
}
#define ASSERT_MSGID(lit, found, id) assert_msgid((lit), sizeof(lit) - 1, (found), (id))

Test(frame, partial_msgid_reads_a_request_prefix) {
  ASSERT_MSGID("\x94\x00\x05", 1, 5);
  ASSERT_MSGID("\x94\x00\xcc\xc8", 1, 200);
  ASSERT_MSGID("\x94\x00\xcd\x12\x34", 1, 0x1234);
  ASSERT_MSGID("\x94\x00\xce\xff\xff\xff\xff\xa4ping", 1, UINT32_MAX);
  ASSERT_MSGID("\x94\x00\xcf\x00\x00\x00\x00\x00\x00\x00\x07", 1, 7);
  ASSERT_MSGID("\x94\x00\xd0\x07", 1, 7);
  ASSERT_MSGID("\xdc\x00\x04\x00\x09", 1, 9);
  ASSERT_MSGID("\xdd\x00\x00\x00\x04\x00\x09", 1, 9);
}

Test(frame, partial_msgid_rejects_other_prefixes) {
  ASSERT_MSGID("\x94\x00", 0, 0);                         /* msgid not received yet */
  ASSERT_MSGID("\x94\x00\xce\x00\x00", 0, 0);             /* msgid cut short */
  ASSERT_MSGID("\x94\x01\x05", 0, 0);                     /* a response */
  ASSERT_MSGID("\x93\x00\x05", 0, 0);                     /* not 4 elements */
  ASSERT_MSGID("\xdc\x00\x05\x00\x05", 0, 0);
  ASSERT_MSGID("\x94\x00\xff", 0, 0);                     /* negative */
  ASSERT_MSGID("\x94\x00\xd0\xff", 0, 0);
  ASSERT_MSGID("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 0, 0); /* > UINT32_MAX */
  ASSERT_MSGID("\x94\x00\xa1" "5", 0, 0);                  /* a string */
  ASSERT_MSGID("\x94\x00\xca\x00\x00\x00\x00", 0, 0);     /* a float */
  ASSERT_MSGID("\x84\x00\x05", 0, 0);                     /* a map */
}

Test(frame, partial_msgid_addresses_the_oversized_request) {
  struct proto_limits lim = limits(64, 32, 1 << 20);
  uint32_t id = 0;

  /* a complete request, then one whose params declare 1 MiB */
  cr_assert_eq(partial_msgid(&lim, "\x94\x00\x01\xa1m\x90" "\x94\x00\x2a\xa1m\x91\xc6\x00\x10\x00\x00", 17, &id), 1);
  cr_assert_eq(id, 42);
}

/* proto_frame_measure: the same checks on bytes in memory, without a copy. */
Test(frame, measure_checks_bytes_in_place) {
  struct proto_limits lim = default_limits();
  /* [1, [2, 3]] then a trailing nil */
  static const unsigned char two[] = {0x92, 0x01, 0x92, 0x02, 0x03, 0xc0};
  static const unsigned char bad[] = {0x91, 0xc1};
  size_t len = 0;
  cr_expect_eq(proto_frame_measure(&lim, two, sizeof two, &len), 1);
  cr_expect_eq(len, 5, "the first message is 5 bytes, not %zu", len);
  cr_expect_eq(proto_frame_measure(&lim, two, 4, &len), 0, "a truncated message needs more");
  cr_expect_lt(proto_frame_measure(&lim, bad, sizeof bad, &len), 0, "0xc1 is not MessagePack");
  lim = limits(4, 8, 8);
  cr_expect_lt(proto_frame_measure(&lim, two, sizeof two, &len), 0, "5 bytes break a 4-byte limit");
  lim = limits(64, 1, 8);
  cr_expect_lt(proto_frame_measure(&lim, two, sizeof two, &len), 0, "depth 2 breaks a depth limit of 1");
}

/* proto_frame_steal: a message alone in the buffer is handed over; one sharing it is not. */
Test(frame, steal_hands_over_a_message_alone_in_its_buffer) {
  struct proto_limits lim = default_limits();
  struct proto_frame f;
  static const char two[] = {(char)0x92, 0x01, 0x02, (char)0xc0};
  const char *msg;
  char *buf, *stolen;
  size_t room, len;
  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_reserve(&f, sizeof two, &buf, &room), 0);
  memcpy(buf, two, sizeof two);
  proto_frame_commit(&f, sizeof two);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), 1);
  cr_expect_null(proto_frame_steal(&f, msg, len), "the nil after [1, 2] shares the buffer");
  cr_assert_eq(proto_frame_next(&f, &msg, &len), 1);
  cr_expect_null(proto_frame_steal(&f, msg, len), "the nil is not at the start of the buffer");
  proto_frame_free(&f);

  proto_frame_init(&f, &lim);
  cr_assert_eq(proto_frame_reserve(&f, 3, &buf, &room), 0);
  memcpy(buf, two, 3);
  proto_frame_commit(&f, 3);
  cr_assert_eq(proto_frame_next(&f, &msg, &len), 1);
  cr_assert_not_null(stolen = proto_frame_steal(&f, msg, len));
  cr_expect_eq(memcmp(stolen, two, 3), 0);
  cr_expect_eq(proto_frame_pending(&f), 0);
  free(stolen);
  /* The framer goes on with a buffer of its own. */
  cr_assert_eq(proto_frame_reserve(&f, 1, &buf, &room), 0);
  buf[0] = (char)0xc0;
  proto_frame_commit(&f, 1);
  cr_expect_eq(proto_frame_next(&f, &msg, &len), 1);
  cr_expect_eq(len, 1);
  proto_frame_free(&f);
}
