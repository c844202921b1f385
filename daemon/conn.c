#define _GNU_SOURCE
#include "conn.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "errors.h"
#include "frame.h"
#include "hosts.h"
#include "log.h"
#include "message.h"
#include "request.h"
#include "router.h"

#define READ_CHUNK 65536
/* While a message larger than that arrives, read as much as the socket holds at once. */
#define LARGE_READ_CHUNK (1024 * 1024)
/* Messages at least this large are not copied out of their read buffer (request_new). */
#define STEAL_MIN (1024 * 1024)
#define OUT_KEEP (256 * 1024) /* output buffer kept between answers */

struct conn {
  uv_pipe_t pipe;
  struct daemon *d;
  struct conn *prev, *next;
  uint64_t id;
  pid_t pid; /* peer, for logs */
  uid_t uid;
  struct proto_frame frame;
  msgpack_sbuffer out; /* answers not yet handed to uv_write */
  msgpack_packer pk;    /* appends to out (out_write) */
  size_t answer_start;  /* where in out the answer being packed begins */
  bool out_failed;      /* an append to the answer being packed ran out of memory */
  struct request *inflight;
  unsigned n_inflight;
  bool in_read;  /* dispatching a read: answers are written in one batch at its end */
  bool draining; /* shutdown: no more reads, close when idle */
  bool closing;
  struct host_session *host_session;
};

struct write_req {
  uv_write_t req;
  char *data;
};

static void conn_close(struct conn *c);

static uv_stream_t *stream_of(struct conn *c) { return (uv_stream_t *)&c->pipe; }

unsigned conn_count(const struct daemon *d) { return d->stats.connections; }

/* The packer's writer. After one failed append it refuses the rest of the answer, so that
 * none of it lands after a gap. */
static int out_write(void *data, const char *buf, size_t len) {
  struct conn *c = data;
  if (c->out_failed || msgpack_sbuffer_write(&c->out, buf, len) < 0) {
    c->out_failed = true;
    return -1;
  }
  return 0;
}

msgpack_packer *conn_answer_begin(struct conn *c) {
  c->answer_start = c->out.size;
  c->out_failed = false;
  return &c->pk;
}

/* Whether the answer packed since conn_answer_begin() is whole; if not, it is taken back. */
static bool answer_whole(struct conn *c) {
  if (!c->out_failed)
    return true;
  c->out.size = c->answer_start;
  c->out_failed = false;
  return false;
}

msgpack_packer *conn_packer(struct conn *c) { return &c->pk; }

pid_t conn_pid(const struct conn *c) { return c->pid; }

struct host_session **conn_host_session(struct conn *c) { return &c->host_session; }

static bool conn_idle(struct conn *c) {
  return c->n_inflight == 0 && c->out.size == 0 && uv_stream_get_write_queue_size(stream_of(c)) == 0;
}

static void on_write(uv_write_t *req, int status) {
  struct write_req *w = (struct write_req *)req;
  struct conn *c = req->handle->data;
  free(w->data);
  free(w);
  if (status < 0 && status != UV_ECANCELED && !c->closing) {
    log_debug("client %llu (pid %d): write failed: %s", (unsigned long long)c->id, (int)c->pid, uv_strerror(status));
    conn_close(c);
  } else if (c->draining && !c->closing && conn_idle(c)) {
    conn_close(c);
  }
}

/*
 * Hands buffered answers to libuv, which writes at once when the socket has room. A client
 * that lets answers pile up past max_queued_bytes is disconnected, so one client that never
 * reads cannot grow the daemon's memory.
 */
static void conn_flush(struct conn *c) {
  struct write_req *w;
  uv_buf_t buf;
  size_t queued = uv_stream_get_write_queue_size(stream_of(c)), written;
  int err, n;
  if (c->closing || c->out.size == 0)
    return;
  if (queued > c->d->opts.max_queued_bytes) {
    log_warning("client %llu (pid %d) is not reading its answers (%zu bytes queued, limit %zu): disconnected",
                (unsigned long long)c->id, (int)c->pid, queued, c->d->opts.max_queued_bytes);
    c->d->stats.disconnects++;
    conn_close(c);
    return;
  }
  /* Most answers fit the socket at once: written so, they need no request, no copy and no
   * writability watch (uv_try_write declines while earlier writes are queued). */
  buf = uv_buf_init(c->out.data, (unsigned)c->out.size);
  if ((n = uv_try_write(stream_of(c), &buf, 1)) < 0 && n != UV_EAGAIN) {
    log_debug("client %llu (pid %d): write failed: %s", (unsigned long long)c->id, (int)c->pid, uv_strerror(n));
    conn_close(c);
    return;
  }
  written = n > 0 ? (size_t)n : 0;
  if (written == c->out.size) {
    c->out.size = 0;
    if (c->out.alloc > OUT_KEEP) { /* a large answer went out: do not keep its buffer for the next small one */
      msgpack_sbuffer_destroy(&c->out);
      msgpack_sbuffer_init(&c->out);
    }
    return;
  }
  if ((w = malloc(sizeof *w)) == NULL) {
    log_error("out of memory writing to client %llu: disconnected", (unsigned long long)c->id);
    conn_close(c);
    return;
  }
  buf = uv_buf_init(c->out.data + written, (unsigned)(c->out.size - written));
  w->data = msgpack_sbuffer_release(&c->out);
  if ((err = uv_write(&w->req, stream_of(c), &buf, 1, on_write)) < 0) {
    free(w->data);
    free(w);
    conn_close(c);
  }
}

void conn_request_done(struct conn *c, struct request *req) {
  if (!answer_whole(c)) {
    log_error("out of memory answering request %u of client %llu (pid %d)", (unsigned)req->msgid,
              (unsigned long long)c->id, (int)c->pid);
    c->d->stats.errors++;
    proto_pack_error_response(conn_answer_begin(c), req->msgid, PROTO_CODE_INTERNAL,
                              "out of memory sending the answer");
    if (!answer_whole(c)) {
      c->d->stats.disconnects++;
      conn_close(c); /* unlinks req with the rest */
      return;
    }
  }
  if (req->prev != NULL)
    req->prev->next = req->next;
  else
    c->inflight = req->next;
  if (req->next != NULL)
    req->next->prev = req->prev;
  c->n_inflight--;
  if (!c->in_read)
    conn_flush(c);
  if (c->draining && !c->closing && conn_idle(c))
    conn_close(c);
}

/* Best effort: tell a client why it is being disconnected. It may not be reading. */
static void send_protocol_error(struct conn *c, int err, const char *why) {
  msgpack_packer *pk = conn_answer_begin(c);
  msgpack_pack_array(pk, 3);
  msgpack_pack_uint8(pk, PROTO_NOTIFICATION);
  proto_pack_cstr(pk, "daemon.protocol_error");
  msgpack_pack_array(pk, 1);
  proto_pack_error_object(pk, proto_err_code(err), why);
  answer_whole(c);
  conn_flush(c);
}

/* A stream we can no longer follow (or a peer breaking the protocol): say why and close. */
static void conn_violation(struct conn *c, int err, const char *why) {
  log_info("client %llu (pid %d) sent a bad message: %s: disconnected", (unsigned long long)c->id, (int)c->pid, why);
  c->d->stats.errors++;
  c->d->stats.disconnects++;
  send_protocol_error(c, err, why);
  conn_close(c);
}

/* From here the request is answered exactly once, through request_reply_end. */
static void track(struct conn *c, struct request *req) {
  req->next = c->inflight;
  if (c->inflight != NULL)
    c->inflight->prev = req;
  c->inflight = req;
  c->n_inflight++;
  c->d->stats.requests++;
}

static void dispatch(struct conn *c, struct request *req, const struct proto_msg *m) {
  struct daemon *d = c->d;
  char why[256];
  track(c, req);
  if (c->n_inflight > d->opts.max_inflight) {
    request_fail(req, PROTO_CODE_TOO_MANY_REQUESTS, "more than %u requests in flight on this connection; wait for answers",
                 d->opts.max_inflight);
    return;
  }
  req->method = router_find(&d->router, m->method, m->method_len);
  if (req->method == NULL) {
    request_fail(req, PROTO_CODE_METHOD_NOT_FOUND, "no method '%.*s' (daemon.methods lists them)", (int)m->method_len,
                 m->method);
    return;
  }
  if (router_check_params(req->method, req->params, why, sizeof why) < 0) {
    request_fail(req, PROTO_CODE_INVALID_PARAMS, "%s", why);
    return;
  }
  req->method->handler(req);
}

/*
 * A request keeps its message's bytes for as long as it runs. A large message keeps the read
 * buffer it arrived in: copying it would cost the loop a page fault per 4 KiB of it.
 */
static struct request *request_new(struct conn *c, const char *bytes, size_t len) {
  char *stolen = len >= STEAL_MIN ? proto_frame_steal(&c->frame, bytes, len) : NULL;
  struct request *req = malloc(sizeof *req + (stolen != NULL ? 0 : len));
  if (req == NULL) {
    free(stolen);
    return NULL;
  }
  memset(req, 0, sizeof *req);
  req->daemon = c->d;
  req->conn = c;
  req->len = len;
  req->owned_bytes = stolen;
  req->bytes = stolen != NULL ? stolen : memcpy(req->inline_bytes, bytes, len);
  if (!msgpack_zone_init(&req->zone, 1024)) {
    free(stolen);
    free(req);
    return NULL;
  }
  return req;
}

static void handle_message(struct conn *c, const char *bytes, size_t len) {
  struct request *req = request_new(c, bytes, len);
  msgpack_object obj;
  struct proto_msg m = {0};
  const char *why;
  int err;
  if (req == NULL) {
    conn_violation(c, PROTO_ENOMEM, "out of memory");
    return;
  }
  if ((err = proto_decode(req->bytes, len, &req->zone, &obj)) < 0) {
    why = proto_strerror(err);
  } else if ((err = proto_msg_parse(&obj, &m, &why)) < 0 && m.has_msgid && m.type == PROTO_REQUEST) {
    /* The stream is still in step and the request can be addressed: answer it, keep going. */
    req->msgid = m.msgid;
    track(c, req);
    request_fail(req, proto_err_code(err), "%s", why);
    return;
  }
  if (err < 0) {
    request_discard(req);
    conn_violation(c, err, why);
    return;
  }
  switch (m.type) {
  case PROTO_REQUEST:
    req->msgid = m.msgid;
    req->params = m.params;
    dispatch(c, req, &m);
    return;
  case PROTO_NOTIFICATION: /* the daemon defines none; ignored as the spec allows */
    log_debug("client %llu sent notification '%.*s': ignored", (unsigned long long)c->id, (int)m.method_len, m.method);
    break;
  case PROTO_RESPONSE:
    request_discard(req);
    conn_violation(c, PROTO_EINVALID, "the daemon sends no requests, so it takes no responses");
    return;
  }
  request_discard(req);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  struct conn *c = handle->data;
  char *base;
  size_t len;
  size_t want = proto_frame_pending(&c->frame) >= READ_CHUNK ? LARGE_READ_CHUNK : READ_CHUNK;
  if (proto_frame_reserve(&c->frame, want, &base, &len) < 0) {
    *buf = uv_buf_init(NULL, 0); /* libuv then reports UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init(base, (unsigned)len);
}

/* An oversized request can still be answered when its msgid arrived before the limit hit. */
static void frame_error(struct conn *c, int err) {
  uint32_t msgid;
  const char *why = proto_strerror(err);
  if (proto_frame_partial_msgid(&c->frame, &msgid)) {
    /* Answered, then the connection closes: the rest of the stream cannot be followed. */
    proto_pack_error_response(conn_answer_begin(c), msgid, proto_err_code(err), why);
    answer_whole(c);
    c->d->stats.requests++;
  }
  conn_violation(c, err, why);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = stream->data;
  const char *msg;
  size_t len;
  int r;
  if (nread < 0) {
    if (nread != UV_EOF)
      log_debug("client %llu: read failed: %s", (unsigned long long)c->id, uv_strerror((int)nread));
    else if (proto_frame_pending(&c->frame) > 0)
      log_debug("client %llu hung up in the middle of a message", (unsigned long long)c->id);
    conn_close(c);
    return;
  }
  proto_frame_commit(&c->frame, (size_t)nread);
  c->in_read = true;
  while (!c->closing && (r = proto_frame_next(&c->frame, &msg, &len)) == 1)
    handle_message(c, msg, len);
  c->in_read = false;
  if (!c->closing && r < 0)
    frame_error(c, r);
  else
    conn_flush(c);
}

static void on_close(uv_handle_t *handle) {
  struct conn *c = handle->data;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    c->d->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->d->stats.connections--;
  proto_frame_free(&c->frame);
  msgpack_sbuffer_destroy(&c->out);
  free(c);
}

/* Requests still running lose their client: their answers go nowhere, queued work is cancelled. */
static void conn_close(struct conn *c) {
  struct request *req, *next;
  if (c->closing)
    return;
  c->closing = true;
  for (req = c->inflight; req != NULL; req = next) {
    next = req->next;
    req->conn = NULL;
    req->prev = req->next = NULL;
    if (req->cancel != NULL)
      req->cancel(req);
  }
  c->inflight = NULL;
  c->n_inflight = 0;
  hosts_conn_closed(c->d, c);
  log_debug("client %llu (pid %d) disconnected", (unsigned long long)c->id, (int)c->pid);
  uv_close((uv_handle_t *)&c->pipe, on_close);
}

static void read_peer_credentials(struct conn *c) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  uv_os_fd_t fd;
  c->pid = -1;
  c->uid = (uid_t)-1;
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    c->pid = cred.pid;
    c->uid = cred.uid;
  }
}

/* Over the connection limit: accept (so the client is not left hanging), explain, close. */
static void refuse(struct daemon *d, uv_stream_t *listener) {
  static const char busy[] = "backendd: too many connections";
  uv_pipe_t *p = malloc(sizeof *p);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  if (p == NULL || uv_pipe_init(d->loop, p, 0) < 0) {
    free(p);
    return;
  }
  if (uv_accept(listener, (uv_stream_t *)p) == 0) {
    uv_buf_t buf;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, PROTO_NOTIFICATION);
    proto_pack_cstr(&pk, "daemon.protocol_error");
    msgpack_pack_array(&pk, 1);
    proto_pack_error_object(&pk, PROTO_CODE_TOO_MANY_CONNECTIONS, busy);
    buf = uv_buf_init(sb.data, (unsigned)sb.size);
    (void)uv_try_write((uv_stream_t *)p, &buf, 1);
    msgpack_sbuffer_destroy(&sb);
  }
  uv_close((uv_handle_t *)p, (uv_close_cb)free);
}

int conn_accept(struct daemon *d, uv_stream_t *listener) {
  struct conn *c;
  int err;
  if (d->stats.connections >= d->opts.max_connections) {
    log_warning("refused a connection: %u connections open (limit --max-connections %u)", d->stats.connections,
                d->opts.max_connections);
    refuse(d, listener);
    return 0;
  }
  if ((c = calloc(1, sizeof *c)) == NULL)
    return UV_ENOMEM;
  if ((err = uv_pipe_init(d->loop, &c->pipe, 0)) < 0) {
    free(c);
    return err;
  }
  c->pipe.data = c;
  c->d = d;
  c->id = ++d->stats.connections_total;
  proto_frame_init(&c->frame, &d->opts.limits);
  msgpack_sbuffer_init(&c->out);
  msgpack_packer_init(&c->pk, c, out_write);
  c->next = d->conns;
  if (d->conns != NULL)
    d->conns->prev = c;
  d->conns = c;
  d->stats.connections++;
  if ((err = uv_accept(listener, stream_of(c))) < 0 || (err = uv_read_start(stream_of(c), on_alloc, on_read)) < 0) {
    conn_close(c);
    return err;
  }
  read_peer_credentials(c);
  log_debug("client %llu connected (pid %d, uid %d)", (unsigned long long)c->id, (int)c->pid, (int)c->uid);
  return 0;
}

void conn_drain_all(struct daemon *d) {
  struct conn *c, *next;
  for (c = d->conns; c != NULL; c = next) {
    next = c->next;
    if (c->closing)
      continue;
    uv_read_stop(stream_of(c));
    c->draining = true;
    if (conn_idle(c))
      conn_close(c);
  }
}

void conn_close_all(struct daemon *d) {
  for (struct conn *c = d->conns; c != NULL; c = c->next)
    conn_close(c);
}
