/*
 * Streaming framer: finds where each MessagePack message ends in a byte stream that
 * arrives in arbitrary chunks, enforcing proto_limits as headers are seen, so a peer
 * cannot make us buffer more than max_message_size or allocate for a container it
 * never sends. It does not build objects; proto_decode() does that on a framed message.
 *
 * msgpack-c's own unpacker allocates from declared container sizes and has no size,
 * depth or string limits, hence this pre-pass.
 *
 * Usage with a reader (libuv alloc/read callbacks):
 *   proto_frame_reserve(f, 65536, &buf, &len);  read into buf ...;  proto_frame_commit(f, n);
 *   while ((r = proto_frame_next(f, &msg, &msglen)) == 1) handle(msg, msglen);
 *   if (r < 0) error (the stream cannot be resynchronised: close it).
 */
#ifndef BACKENDD_PROTO_FRAME_H
#define BACKENDD_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct proto_frame {
  struct proto_limits limits;
  char *buf;    /* received bytes; [0, len) valid */
  size_t cap;
  size_t len;
  size_t start; /* offset of the message being scanned */
  size_t pos;   /* scan position: everything before it is structurally checked */
  unsigned depth;                                  /* open containers */
  uint64_t remaining[PROTO_MAX_DEPTH_CEILING + 1]; /* elements still expected at each level */
  uint64_t elements; /* elements announced so far by the message's containers */
  int error;    /* sticky: once a stream is bad it stays bad */
};

/* limits->max_depth is capped at PROTO_MAX_DEPTH_CEILING. An empty container counts too. */
void proto_frame_init(struct proto_frame *f, const struct proto_limits *limits);
void proto_frame_free(struct proto_frame *f);

/*
 * Space for the next read: *buf receives at least one and at most `want` bytes of free
 * space (*len says how many). Returns 0 or PROTO_ENOMEM. Consumed bytes are dropped
 * (memmove) before the buffer grows; it grows by doubling, to at most twice the partial
 * message plus `want` and never beyond max_message_size + `want`, and shrinks again
 * after a large message.
 */
int proto_frame_reserve(struct proto_frame *f, size_t want, char **buf, size_t *len);
/* Records that n bytes were written into the space from proto_frame_reserve(). */
void proto_frame_commit(struct proto_frame *f, size_t n);

/*
 * Next complete message. Returns 1 and sets *msg / *len (valid until the next call to
 * any proto_frame_* function), 0 when more bytes are needed, or a negative proto_err
 * (PROTO_EPARSE, PROTO_ETOOBIG, PROTO_EDEPTH, PROTO_ESTRLEN), which is sticky.
 */
int proto_frame_next(struct proto_frame *f, const char **msg, size_t *len);

/*
 * Checks bytes already in memory as the framer checks a stream, without copying them: 1 with
 * *len set to the length of the first complete message at data, 0 when data ends inside it,
 * or the PROTO_E* error a stream would get.
 */
int proto_frame_measure(const struct proto_limits *limits, const void *data, size_t size, size_t *len);

/*
 * Hands over the buffer holding msg (len bytes, just returned by proto_frame_next) when it
 * holds nothing else, so that a large message need not be copied; the framer starts a new
 * buffer. Returns the buffer (msg is at its start; free() it), or NULL when msg shares it.
 */
char *proto_frame_steal(struct proto_frame *f, const char *msg, size_t len);

/* Bytes buffered but not yet returned as messages (for memory accounting and tests). */
size_t proto_frame_pending(const struct proto_frame *f);

/*
 * Best effort after an error: the msgid of the request whose bytes were being framed,
 * if its prefix [0, msgid, ...] was already received. Returns 1 and sets *msgid, else 0.
 */
int proto_frame_partial_msgid(const struct proto_frame *f, uint32_t *msgid);

#endif
