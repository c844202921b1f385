/*
 * libbackend-client: talk to backendd over its Unix socket (MessagePack-RPC).
 *
 *   backend_client *c;
 *   backend_reply *r;
 *   int err = backend_client_connect(NULL, &c);           // default socket
 *   if (err == 0) err = backend_client_call(c, "daemon.ping", NULL, 0, 1000, &r);
 *   if (err == 0) { ... r->result ...; backend_reply_free(r); }
 *   else if (err == BACKEND_EREMOTE) { puts(r->error_message); backend_reply_free(r); }
 *   else fprintf(stderr, "%s\n", backend_strerror(err));
 *   backend_client_free(c);
 *
 * Values are msgpack-c objects (<msgpack.h>); parameters are passed as one packed
 * MessagePack map of named parameters, built with msgpack_packer. Numeric arrays travel as
 * one ext value: <backend/ndarray.h>, doc/ndarray.md.
 *
 * Thread-safety: the library has no global state and never installs signal handlers
 * (it writes with MSG_NOSIGNAL, so a closed daemon socket never raises SIGPIPE). A
 * backend_client handle is NOT thread-safe: use one handle per thread, or serialise all
 * calls on a handle with your own lock. Replies are independent of their handle and may
 * be used and freed from any thread, even after the handle is freed.
 *
 * Errors: functions return 0 or a negative code. Codes are either -errno from the system
 * (-ENOENT: no socket there, -ECONNREFUSED: socket present but no daemon, -ETIMEDOUT,
 * -ENOMEM, ...) or one of BACKEND_E* below. backend_strerror() describes any of them.
 */
#ifndef BACKEND_CLIENT_H
#define BACKEND_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The daemon answered with an error object: the reply's error_code/error_message say what. */
#define BACKEND_EREMOTE (-5001)
/* The daemon sent bytes that are not a valid MessagePack-RPC response. The handle is unusable. */
#define BACKEND_EPROTO (-5002)
/* The daemon closed the connection. The handle is unusable. */
#define BACKEND_ECLOSED (-5003)
/* An argument was invalid (NULL method, params that are not one packed map, ...). */
#define BACKEND_EINVAL (-5004)

/* One-line description of any error code this library returns. Never NULL. */
const char *backend_strerror(int err);

/*
 * The socket the client uses when none is given: $BACKENDD_SOCKET if set (and not empty);
 * else, when not root (effective uid) and $XDG_RUNTIME_DIR/backendd/backendd.sock exists
 * as a socket, that user socket; else the system socket /run/backendd/backendd.sock.
 * Writes a NUL-terminated path into buf. Returns 0 or -ENAMETOOLONG (path does not fit).
 */
int backend_default_socket(char *buf, size_t len);

typedef struct backend_client backend_client;

/*
 * Connects to the daemon at socket_path (NULL: backend_default_socket()). On success
 * *out is a new handle to be released with backend_client_free(). Fails with -errno from
 * connect(2) (-ENOENT, -ECONNREFUSED, -EACCES, ...) or -ENAMETOOLONG when the path does not
 * fit a sockaddr_un. The socket is close-on-exec.
 */
int backend_client_connect(const char *socket_path, backend_client **out);

/*
 * backend_client_connect(), waiting at most timeout_ms (-1: forever) where connect(2) would
 * wait: for room in the daemon's accept backlog, full when the daemon is hung or swamped.
 * Fails with -ETIMEDOUT then.
 */
int backend_client_connect_timeout(const char *socket_path, int timeout_ms, backend_client **out);

/* Closes the connection and frees the handle. Outstanding calls are abandoned. NULL is a no-op. */
void backend_client_free(backend_client *c);

/* The socket path this handle is connected to. */
const char *backend_client_socket(const backend_client *c);

/* A response. Owns all memory its fields point to; free it with backend_reply_free(). */
typedef struct backend_reply {
  uint32_t msgid;
  /* 0 on success (result is set), BACKEND_EREMOTE when the daemon answered an error. */
  int status;
  msgpack_object result;      /* the result; nil on error */
  const char *error_code;     /* e.g. "Method.NotFound"; NULL on success */
  const char *error_message;  /* human-readable text; NULL on success */
  msgpack_object error_data;  /* the error's "data" member; nil when absent */
} backend_reply;

void backend_reply_free(backend_reply *r);

/*
 * Synchronous call. params/params_len: one packed MessagePack map of named parameters,
 * or NULL/0 for none (params_len 0 means none whatever params is); anything but exactly
 * one complete map is refused with BACKEND_EINVAL and leaves the handle usable.
 * timeout_ms: how long to wait for the answer (-1: forever).
 *
 * Returns 0 with *out set when the daemon answered a result; BACKEND_EREMOTE with *out
 * set when it answered an error; any other code with *out NULL. After -ETIMEDOUT the
 * handle stays usable and the late answer is discarded when it arrives.
 * Responses to calls sent earlier with backend_client_send() that arrive meanwhile are
 * kept for backend_client_recv().
 */
int backend_client_call(backend_client *c, const char *method, const void *params,
                        size_t params_len, int timeout_ms, backend_reply **out);

/*
 * Pipelining: queue a request without waiting for its answer; *msgid (may be NULL)
 * receives its id. msgids start at 1 and wrap. Never blocks: requests are buffered and
 * written in batches, as far as the socket takes them, once about 64 KiB are queued; all
 * of them are written by backend_client_flush(), backend_client_call(), and by
 * backend_client_recv() when no response is at hand yet. Responses that arrive meanwhile
 * are read and kept for backend_client_recv().
 */
int backend_client_send(backend_client *c, const char *method, const void *params,
                        size_t params_len, uint32_t *msgid);

/* Writes every queued request, waiting at most timeout_ms (-1: forever). */
int backend_client_flush(backend_client *c, int timeout_ms);

/*
 * Next response to a request sent with backend_client_send(), in the order the daemon
 * answers (not necessarily the order sent). When it has to wait, it writes all queued
 * requests meanwhile.
 * Returns 0 or BACKEND_EREMOTE with *out set (see backend_client_call), -ETIMEDOUT when
 * nothing came within timeout_ms (0: only what is already here), -ENOMSG at once when no
 * request is outstanding (backend_client_pending() is 0), or another error. Responses
 * received before the daemon closed the connection are still returned, then BACKEND_ECLOSED.
 */
int backend_client_recv(backend_client *c, int timeout_ms, backend_reply **out);

/*
 * Number of requests sent with backend_client_send() whose response backend_client_recv()
 * has not returned yet (synchronous calls, including timed-out ones, are not counted).
 */
size_t backend_client_pending(const backend_client *c);

/*
 * Variant queries for installers and build tools: backend_client_call() of the variant.*
 * methods with their parameters packed for you. Properties are strings
 * "namespace :: feature :: value"; lists are NULL-terminated arrays. Return values and *out
 * are as for backend_client_call(); result shapes are in doc/protocol.md.
 */

/*
 * Supported configs, {configs: [{namespace, features: [{name, values}]}], errors: [str]}, values
 * most preferred first: of the given namespaces (NULL: all). known_properties (NULL: none)
 * are the package's properties, passed to dynamic plugins.
 */
int backend_variant_configs(backend_client *c, const char *const *namespaces, const char *const *known_properties,
                            int timeout_ms, backend_reply **out);
/* [{property, valid, reason}], one per property. */
int backend_variant_validate(backend_client *c, const char *const *properties, int timeout_ms, backend_reply **out);
/* {variables: {NAME: [values]}} for a variant made of these properties. */
int backend_variant_build_setup(backend_client *c, const char *const *properties, int timeout_ms,
                                backend_reply **out);

#ifdef __cplusplus
}
#endif

#endif
