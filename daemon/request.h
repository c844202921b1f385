/*
 * One request from a client, from decoding to its single answer. The request owns its
 * message bytes and the zone its decoded objects live in, so a handler may answer later
 * (after work on another thread) with params still valid.
 *
 * Every function here runs on the loop thread only.
 */
#ifndef BACKENDD_REQUEST_H
#define BACKENDD_REQUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct conn;
struct daemon;
struct method;

struct request {
  struct daemon *daemon;
  struct conn *conn;            /* NULL once the client has gone: answers are dropped */
  struct request *prev, *next;  /* the connection's in-flight list */
  const struct method *method;
  uint32_t msgid;
  const msgpack_object *params; /* named parameters (a map), or NULL when none were sent */
  /* Set by a handler that queued work: called once if the client goes away first. */
  void (*cancel)(struct request *req);
  void *data;                   /* for the handler */
  int failed;                   /* answering with an error (request_fail_begin) */
  msgpack_zone zone;
  size_t len;
  const char *bytes;            /* the raw message: inline_bytes, or a large one's read buffer */
  char *owned_bytes;            /* that read buffer (proto_frame_steal), else NULL */
  char inline_bytes[];
};

/* Frees a request that was never answered (its connection is still told nothing). */
void request_discard(struct request *req);

/* A named parameter, or NULL when absent (router_check_params has checked its type). */
const msgpack_object *request_param(const struct request *req, const char *name);

/* True while the client that sent the request is still connected. */
int request_connected(const struct request *req);

/*
 * Answering: request_reply_begin returns a packer positioned where the result goes; pack
 * exactly one object, then call request_reply_end, which sends it and frees the request.
 * Nothing else may be packed for the same connection in between.
 */
msgpack_packer *request_reply_begin(struct request *req);
void request_reply_end(struct request *req);

/* Same, for an error whose "data" member the caller packs (exactly one object). */
msgpack_packer *request_fail_begin(struct request *req, const char *code, const char *message);

/* request_fail_begin with the message formatted (cut at 1023 bytes). */
msgpack_packer *request_fail_beginv(struct request *req, const char *code, const char *fmt, va_list ap)
  __attribute__((format(printf, 3, 0)));

/* Answers with error {code, message, data: nil} and frees the request. */
void request_fail(struct request *req, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

#endif
