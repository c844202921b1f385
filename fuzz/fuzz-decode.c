/*
 * libFuzzer target for proto/: the framer, proto_decode, proto_msg_parse, proto_error_parse.
 *
 * Input: 3 control bytes, then the byte stream a peer would send.
 *   [0] read sizes: (b & 0x1f) + 1 bytes, times 128 if b & 0x20; if b & 0x40 the size
 *       varies from read to read (below that bound)
 *   [1] limits: max_message_size = sizes[b & 7], max_string_length = sizes[(b >> 3) & 7],
 *       max_elements = element_limits[b >> 6]
 *   [2] max_depth = b % 40 (values above PROTO_MAX_DEPTH_CEILING test the cap)
 *
 * The framer and msgpack-c must agree: every framed message decodes, within the limits.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "frame.h"
#include "message.h"

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                  \
    }                                                                           \
  } while (0)

#define MAX_READ (32 * 128)

static const size_t sizes[] = {
  1, 16, 64, 256, 4096, 65536, (size_t)1 << 20, PROTO_DEFAULT_MAX_MESSAGE_SIZE,
};

static const uint64_t element_limits[] = {4, 64, 4096, PROTO_DEFAULT_MAX_ELEMENTS};

struct reads {
  size_t bound;
  int vary;
  size_t state;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t next_read(struct reads *r) {
  if (!r->vary)
    return r->bound;
  r->state = (r->state * 7 + 3) % r->bound;
  return r->state + 1;
}

/* Deepest nesting of containers in o (1 for a container holding no container). */
static unsigned depth_of(const msgpack_object *o) {
  unsigned d = 0, c;

  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if ((c = depth_of(&o->via.array.ptr[i])) > d)
        d = c;
    return d + 1;
  }
  if (o->type == MSGPACK_OBJECT_MAP) {
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      if ((c = depth_of(&o->via.map.ptr[i].key)) > d)
        d = c;
      if ((c = depth_of(&o->via.map.ptr[i].val)) > d)
        d = c;
    }
    return d + 1;
  }
  return 0;
}

/* Longest str anywhere in o. */
static size_t longest_str(const msgpack_object *o) {
  size_t n = 0, c;

  if (o->type == MSGPACK_OBJECT_STR)
    return o->via.str.size;
  if (o->type == MSGPACK_OBJECT_ARRAY)
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if ((c = longest_str(&o->via.array.ptr[i])) > n)
        n = c;
  if (o->type == MSGPACK_OBJECT_MAP)
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      if ((c = longest_str(&o->via.map.ptr[i].key)) > n)
        n = c;
      if ((c = longest_str(&o->via.map.ptr[i].val)) > n)
        n = c;
    }
  return n;
}

/* Array elements plus map keys and values, at every level (what max_elements bounds). */
static uint64_t count_elements(const msgpack_object *o) {
  uint64_t n = 0;

  if (o->type == MSGPACK_OBJECT_ARRAY)
    for (uint32_t i = 0; i < o->via.array.size; i++)
      n += 1 + count_elements(&o->via.array.ptr[i]);
  if (o->type == MSGPACK_OBJECT_MAP)
    for (uint32_t i = 0; i < o->via.map.size; i++)
      n += 2 + count_elements(&o->via.map.ptr[i].key) + count_elements(&o->via.map.ptr[i].val);
  return n;
}

static void check_rpc(const msgpack_object *o) {
  struct proto_msg m;
  struct proto_error e;
  const char *why = "unset";
  int r = proto_msg_parse(o, &m, &why);

  if (r < 0) {
    CHECK(r == PROTO_EINVALID || r == PROTO_EPARAMS);
    CHECK(why != NULL && why[0] != '\0');
  } else {
    CHECK(r == 0 && why == NULL);
    CHECK(m.has_msgid == (m.type != PROTO_NOTIFICATION));
    if (m.type == PROTO_RESPONSE) {
      CHECK(m.result != NULL && m.method == NULL && m.params == NULL);
      CHECK(m.error == NULL || m.error->type != MSGPACK_OBJECT_NIL);
      if (m.error && proto_error_parse(m.error, &e) == 0)
        CHECK(e.data == NULL || e.data->type != MSGPACK_OBJECT_NIL);
    } else {
      CHECK(m.method != NULL && m.method_len > 0);
      CHECK(m.params == NULL || m.params->type == MSGPACK_OBJECT_MAP);
    }
  }
  if (m.has_msgid)
    CHECK(m.type != PROTO_NOTIFICATION);
  if (proto_error_parse(o, &e) == 0)
    CHECK(o->type == MSGPACK_OBJECT_MAP);
}

/* Frames a whole buffer in one read; returns the length of its only message. */
static size_t frame_whole(const struct proto_limits *lim, const char *buf, size_t len) {
  struct proto_frame f;
  const char *msg;
  size_t mlen = 0, room;
  char *dst;

  proto_frame_init(&f, lim);
  CHECK(proto_frame_reserve(&f, len, &dst, &room) == 0 && room == len);
  memcpy(dst, buf, len);
  proto_frame_commit(&f, len);
  CHECK(proto_frame_next(&f, &msg, &mlen) == 1);
  CHECK(proto_frame_pending(&f) == 0);
  proto_frame_free(&f);
  return mlen;
}

/* A framed message: msgpack-c must decode it, within the limits the framer enforced. */
static void check_message(const char *msg, size_t len, const struct proto_limits *lim) {
  msgpack_zone zone;
  msgpack_object o;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  CHECK(msgpack_zone_init(&zone, 2048));
  CHECK(proto_decode(msg, len, &zone, &o) == 0);
  CHECK(depth_of(&o) <= lim->max_depth);
  CHECK(longest_str(&o) <= lim->max_string_length);
  CHECK(count_elements(&o) <= lim->max_elements);
  check_rpc(&o);

  /* msgpack-c re-encodes minimally, so the framer must accept the result as one message */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  CHECK(msgpack_pack_object(&pk, o) == 0);
  CHECK(sb.size <= len);
  CHECK(frame_whole(lim, sb.data, sb.size) == sb.size);
  msgpack_sbuffer_destroy(&sb);
  msgpack_zone_destroy(&zone);
}

/* Takes every complete message out of the framer; returns 0 or the framer's error. */
static int drain(struct proto_frame *f, const char *stream, size_t *consumed) {
  const char *msg;
  size_t len;
  uint32_t id;
  int r;

  while ((r = proto_frame_next(f, &msg, &len)) == 1) {
    CHECK(len > 0 && len <= f->limits.max_message_size);
    CHECK(memcmp(msg, stream + *consumed, len) == 0);
    *consumed += len;
    check_message(msg, len, &f->limits);
  }
  if (r < 0) {
    CHECK(r == PROTO_EPARSE || r == PROTO_ETOOBIG || r == PROTO_EDEPTH || r == PROTO_ESTRLEN ||
          r == PROTO_ETOOMANY);
    CHECK(proto_frame_next(f, &msg, &len) == r);
    if (proto_frame_partial_msgid(f, &id))
      CHECK(proto_frame_pending(f) >= 3);
  }
  CHECK(r <= 0);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct proto_limits lim;
  struct proto_frame f;
  struct reads reads;
  const char *stream = (const char *)data + 3;
  size_t len, off = 0, consumed = 0;
  int r = 0;

  if (size < 3)
    return 0;
  len = size - 3;
  reads.bound = (size_t)(data[0] & 0x1f) + 1;
  if (data[0] & 0x20)
    reads.bound *= 128;
  reads.vary = (data[0] & 0x40) != 0;
  reads.state = data[0];
  lim.max_message_size = sizes[data[1] & 7];
  lim.max_string_length = sizes[(data[1] >> 3) & 7];
  lim.max_depth = data[2] % 40u;
  lim.max_elements = element_limits[data[1] >> 6];

  proto_frame_init(&f, &lim);
  while (off < len && r == 0) {
    size_t want = next_read(&reads), room, n;
    char *buf;

    CHECK(proto_frame_reserve(&f, want, &buf, &room) == 0);
    CHECK(room >= 1 && room <= want);
    CHECK(f.cap <= f.limits.max_message_size + MAX_READ);
    n = room < len - off ? room : len - off;
    memcpy(buf, stream + off, n);
    proto_frame_commit(&f, n);
    off += n;
    r = drain(&f, stream, &consumed);
  }
  if (r == 0)
    CHECK(consumed + proto_frame_pending(&f) == len);
  proto_frame_free(&f);
  return 0;
}
