/* Internals of libbackend-client shared by its source files. Not installed. */
#ifndef BACKEND_CLIENT_PRIVATE_H
#define BACKEND_CLIENT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "backend/client.h"

/* The library is built with hidden visibility: only what is marked here is exported. */
#define BACKEND_EXPORT __attribute__((visibility("default")))

/* A backend_reply together with the memory it owns, in one allocation (plus zone chunks). */
struct client_reply {
  backend_reply pub;         /* what the caller sees; backend_reply_free() converts back */
  struct client_reply *next; /* the handle's queue for backend_client_recv() */
  msgpack_zone zone;         /* decoded objects and the copied error strings */
  char data[];               /* the message bytes: str, bin and ext objects point into them */
};

/*
 * Builds a reply from one framed message (copied, so `msg` may go away afterwards).
 * Returns 0 with *out set for a response, 0 with *out NULL for a notification (which the
 * client ignores), BACKEND_EPROTO when the message is not a valid response, or -ENOMEM.
 */
int client_reply_build(const char *msg, size_t len, struct client_reply **out);

/* A deadline timeout_ms from now (-1: none), and the milliseconds left to it (-1: forever, 0: past). */
int64_t client_deadline(int timeout_ms);
int client_remaining_ms(int64_t deadline);

/* One piece of a request's parameters (client_call_parts). */
struct client_part {
  const void *data;
  size_t len;
};

/*
 * backend_client_call with the parameter map given as consecutive pieces that together are
 * exactly one map (not checked: for callers in the library that packed it), so that a large
 * argument is copied once, into the output buffer, not first into a map of its own.
 */
int client_call_parts(backend_client *c, const char *method, const struct client_part *parts, size_t n_parts,
                      int timeout_ms, backend_reply **out);

/* Whether the last client_call_parts() failed with none of its request written: sending it
 * again, on another connection, cannot make the daemon run it twice. */
bool client_last_call_unsent(const backend_client *c);

#endif
