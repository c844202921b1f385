/* A client connection: reads and frames requests, dispatches them, queues answers. */
#ifndef BACKENDD_CONN_H
#define BACKENDD_CONN_H

#include <msgpack.h>
#include <uv.h>

struct daemon;
struct conn;
struct host_session;
struct request;

/* Accepts one pending connection from `listener`. Returns 0 or a negative libuv error. */
int conn_accept(struct daemon *d, uv_stream_t *listener);

/* Shutdown: stop reading from every connection and close each once its answers are out. */
void conn_drain_all(struct daemon *d);
/* Close every connection now (shutdown deadline passed). */
void conn_close_all(struct daemon *d);
/* Number of open connections (closing ones included until their handles are released). */
unsigned conn_count(const struct daemon *d);

/* The peer's process id (0 when unknown), for logs and for naming who declared a host. */
pid_t conn_pid(const struct conn *c);

/* The connection's dispatch state (hosts.c), NULL until it declares a host or calls a backend. */
struct host_session **conn_host_session(struct conn *c);

/* For request.c: starts an answer; the packer appends it to the connection's output. */
msgpack_packer *conn_answer_begin(struct conn *c);
/* For request.c: the packer of the answer begun last. */
msgpack_packer *conn_packer(struct conn *c);
/*
 * For request.c: the request's answer is packed; unlink the request. An answer that ran out
 * of memory half way is taken back whole and replaced by a Daemon.Internal error; when even
 * that does not fit, the client is disconnected (half an answer would garble every answer
 * after it).
 */
void conn_request_done(struct conn *c, struct request *req);

#endif
