/*
 * The client handle: connection, request encoding, batched writes, reading and routing
 * responses by msgid. Single-threaded by contract (see client.h).
 */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "client-private.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "frame.h"
#include "limits.h"
#include "message.h"
#include "msgid-table.h"

/* Queued requests are written once this many bytes wait (and in flush/recv/call). */
#define WRITE_BATCH ((size_t)64 << 10)
/* Bytes asked of the framer per read. */
#define READ_CHUNK ((size_t)64 << 10)

/* Requests encoded and not yet written: data[off, len). */
struct outbuf {
  char *data;
  size_t off, len, cap;
  int err; /* set by the packer callback when it could not grow the buffer */
};

struct backend_client {
  int fd;
  int error;                 /* sticky: once the connection is unusable, every call returns it */
  uint32_t next_msgid;
  size_t pending;            /* sent with backend_client_send(), not yet returned by recv */
  size_t write_mark;         /* unwritten bytes after the last write attempt */
  uint64_t sent;             /* bytes written in all */
  bool last_call_unsent;     /* the last client_call_parts() failed with none of its request written */
  struct outbuf out;
  struct proto_limits limits;
  struct proto_frame in;
  struct msgid_table ids;
  struct client_reply *head, *tail; /* responses for backend_client_recv(), in arrival order */
  struct client_reply *sync_reply;  /* the response the running backend_client_call() awaits */
  char path[];
};

/* What pump() waits for. */
enum wait_for { WAIT_FLUSHED, WAIT_SYNC_REPLY, WAIT_QUEUED };

static void fail(backend_client *c, int err) {
  if (!c->error)
    c->error = err;
}

/* A failed read or write: a peer that went away is ECLOSED, anything else is the OS error. */
static int io_error(int errnum) {
  return errnum == EPIPE || errnum == ECONNRESET ? BACKEND_ECLOSED : -errnum;
}

/* ---- output buffer ---- */

static size_t out_unsent(const backend_client *c) {
  return c->out.len - c->out.off;
}

/* msgpack_packer write callback. */
static int outbuf_write(void *data, const char *buf, size_t len) {
  struct outbuf *b = data;

  if (b->err)
    return -1;
  if (len > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < len) {
      if (cap > SIZE_MAX / 2) {
        b->err = -ENOMEM;
        return -1;
      }
      cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
      b->err = -ENOMEM;
      return -1;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, buf, len);
  b->len += len;
  return 0;
}

/* Drops written bytes from the front. Done only between requests, so that a request being
 * encoded never moves (outbuf_write only appends) and can be rolled back by its length. */
static void outbuf_compact(struct outbuf *b) {
  if (b->off == 0)
    return;
  memmove(b->data, b->data + b->off, b->len - b->off);
  b->len -= b->off;
  b->off = 0;
}

/* ---- reading and routing responses ---- */

static void enqueue(backend_client *c, struct client_reply *r) {
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
}

/* Hands one framed message to whoever waits for its msgid. */
static int deliver(backend_client *c, const char *msg, size_t len) {
  struct client_reply *r;
  int err = client_reply_build(msg, len, &r);

  if (err || !r)
    return err;
  switch (msgid_table_take(&c->ids, r->pub.msgid)) {
  case MSGID_ASYNC:
    enqueue(c, r);
    return 0;
  case MSGID_SYNC:
    c->sync_reply = r;
    return 0;
  case MSGID_ABANDONED:
    backend_reply_free(&r->pub);
    return 0;
  case MSGID_NONE:
    break;
  }
  /* An answer to nothing we asked: the stream cannot be trusted any more. */
  backend_reply_free(&r->pub);
  return BACKEND_EPROTO;
}

static void process_frames(backend_client *c) {
  const char *msg;
  size_t len;
  int r;

  while ((r = proto_frame_next(&c->in, &msg, &len)) == 1) {
    int err = deliver(c, msg, len);
    if (err) {
      fail(c, err);
      return;
    }
  }
  if (r < 0)
    fail(c, r == PROTO_ENOMEM ? -ENOMEM : BACKEND_EPROTO);
}

/* Reads whatever the socket holds without blocking and routes complete responses. */
static void read_some(backend_client *c) {
  while (!c->error) {
    char *buf;
    size_t len;
    ssize_t n;

    if (proto_frame_reserve(&c->in, READ_CHUNK, &buf, &len) != 0) {
      fail(c, -ENOMEM);
      return;
    }
    n = recv(c->fd, buf, len, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        fail(c, io_error(errno));
      return;
    }
    if (n == 0) {
      fail(c, BACKEND_ECLOSED);
      return;
    }
    proto_frame_commit(&c->in, (size_t)n);
    process_frames(c);
    if ((size_t)n < len)
      return; /* a short read means the socket is drained: spare the EAGAIN round trip */
  }
}

/* Writes queued requests until done or the socket is full. */
static void write_some(backend_client *c) {
  struct outbuf *b = &c->out;

  while (b->off < b->len && !c->error) {
    ssize_t n = send(c->fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        fail(c, io_error(errno));
      break;
    }
    b->off += (size_t)n;
    c->sent += (uint64_t)n;
  }
  if (b->off == b->len)
    b->off = b->len = 0;
  c->write_mark = out_unsent(c);
}

/* ---- waiting ---- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t client_deadline(int timeout_ms) { return timeout_ms < 0 ? -1 : now_ms() + timeout_ms; }

int client_remaining_ms(int64_t deadline) {
  if (deadline < 0)
    return -1;
  int64_t left = deadline - now_ms();
  if (left <= 0)
    return 0;
  return left > INT32_MAX ? INT32_MAX : (int)left;
}

static int done(const backend_client *c, enum wait_for what) {
  switch (what) {
  case WAIT_FLUSHED:
    return out_unsent(c) == 0;
  case WAIT_SYNC_REPLY:
    return c->sync_reply != NULL;
  case WAIT_QUEUED:
    return c->head != NULL;
  }
  return 0;
}

/*
 * Writes queued requests and reads responses until `what` holds, the connection fails or
 * timeout_ms (-1: forever) passes. It always reads while it writes, so a daemon whose
 * replies fill the socket never blocks a client that is still writing.
 *
 * It waits in poll(), never in a blocking recv(): a reader asleep in recv() on a Unix socket
 * is woken whenever the daemon reads from the other end (the kernel signals the freed send
 * space on the same wait queue), and finds nothing yet. poll() wakes only for the events it
 * asked for. When the daemon reads the request after the client went to sleep (it hands the
 * call to a worker thread), that spurious wake-up costs two context switches per call, far
 * more than the extra system call.
 */
static int pump(backend_client *c, int timeout_ms, enum wait_for what) {
  int64_t deadline = client_deadline(timeout_ms);
  struct pollfd pfd = {.fd = c->fd};
  int can_write = 1;

  for (;;) {
    int wait_ms = client_remaining_ms(deadline);
    if (can_write && out_unsent(c) && !c->error)
      write_some(c);
    if (done(c, what))
      return 0;
    if (c->error)
      return c->error;
    pfd.events = POLLIN | (out_unsent(c) ? POLLOUT : 0);
    int n = poll(&pfd, 1, wait_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -ETIMEDOUT;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
      read_some(c);
    can_write = (pfd.revents & (POLLOUT | POLLHUP | POLLERR)) != 0;
  }
}

/* ---- requests ---- */

/*
 * params must be exactly one complete MessagePack map: the request embeds the bytes as
 * they are, so anything else would corrupt the stream for every later request.
 */
static int check_params(const void *params, size_t len, const struct proto_limits *limits) {
  const unsigned char *p = params;
  struct proto_limits l = *limits;
  size_t msglen = 0;
  int r;

  if (len == 0)
    return 0;
  if (!params)
    return BACKEND_EINVAL;
  /* fixmap, map 16, map 32 */
  if ((p[0] & 0xf0) != 0x80 && p[0] != 0xde && p[0] != 0xdf)
    return BACKEND_EINVAL;
  /* In the request the map sits two levels down ([0, id, method, [map]]). */
  l.max_depth = l.max_depth > 2 ? l.max_depth - 2 : 1;
  r = proto_frame_measure(&l, params, len, &msglen);
  return r == 1 && msglen == len ? 0 : BACKEND_EINVAL;
}

/*
 * Encodes a request into the output buffer and records its msgid with `state`. The params
 * map is the concatenation of the parts (none: no params).
 */
static int queue_parts(backend_client *c, const char *method, const struct client_part *parts, size_t n_parts,
                       enum msgid_state state, uint32_t *msgid) {
  msgpack_packer pk;
  size_t rollback;
  uint32_t id;
  int err;

  if (c->error)
    return c->error;
  if (!method)
    return BACKEND_EINVAL;
  /* Skip ids still awaited (only possible after 2^32 requests, with an abandoned one). */
  do
    id = c->next_msgid++;
  while ((err = msgid_table_add(&c->ids, id, state)) == -EEXIST);
  if (err)
    return err;

  if (c->out.off > c->out.cap / 2)
    outbuf_compact(&c->out);
  rollback = c->out.len;
  msgpack_packer_init(&pk, &c->out, outbuf_write);
  proto_pack_request_begin(&pk, id, method, strlen(method));
  msgpack_pack_array(&pk, n_parts > 0 ? 1 : 0);
  for (size_t i = 0; i < n_parts; i++)
    outbuf_write(&c->out, parts[i].data, parts[i].len);
  if (c->out.err) {
    err = c->out.err;
    c->out.err = 0;
    c->out.len = rollback;
    msgid_table_take(&c->ids, id);
    return err;
  }
  *msgid = id;
  return 0;
}

static int queue_request(backend_client *c, const char *method, const void *params, size_t params_len,
                         enum msgid_state state, uint32_t *msgid) {
  struct client_part part = {params, params_len};
  int err = check_params(params, params_len, &c->limits);

  return err ? err : queue_parts(c, method, &part, params_len ? 1 : 0, state, msgid);
}

/* Waits for the answer to the synchronous request id. */
static int wait_sync(backend_client *c, uint32_t id, int timeout_ms, backend_reply **out) {
  int err = pump(c, timeout_ms, WAIT_SYNC_REPLY);

  if (err) {
    /* The answer may still come: it must not be mistaken for anything else. */
    msgid_table_set(&c->ids, id, MSGID_ABANDONED);
    return err;
  }
  *out = &c->sync_reply->pub;
  c->sync_reply = NULL;
  return (*out)->status;
}

int client_call_parts(backend_client *c, const char *method, const struct client_part *parts, size_t n_parts,
                      int timeout_ms, backend_reply **out) {
  uint64_t sent_before = c->sent, queued_before = out_unsent(c);
  uint32_t id;
  int err;

  *out = NULL;
  err = queue_parts(c, method, parts, n_parts, MSGID_SYNC, &id);
  if (!err)
    err = wait_sync(c, id, timeout_ms, out);
  /* Only bytes queued before this request went out, if any. */
  c->last_call_unsent = err != 0 && c->sent - sent_before <= queued_before;
  return err;
}

bool client_last_call_unsent(const backend_client *c) { return c->last_call_unsent; }

/* ---- public API ---- */

/* SO_SNDTIMEO: timeout_ms (-1: none). Zero means "no limit" to the kernel, so 0 ms is 1 us. */
static int set_send_timeout(int fd, int timeout_ms) {
  struct timeval tv = {0, 0};
  if (timeout_ms >= 0) {
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = timeout_ms > 0 ? (timeout_ms % 1000) * 1000 : 1;
  }
  return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 ? 0 : -errno;
}

static int connect_to(const char *path, int timeout_ms, int *out) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int64_t deadline = client_deadline(timeout_ms);
  size_t len = strlen(path);
  int fd, err;

  if (len == 0)
    return -ENOENT;
  if (len >= sizeof addr.sun_path)
    return -ENAMETOOLONG;
  memcpy(addr.sun_path, path, len + 1);

  /* Blocking connect: a daemon with a full accept backlog makes us wait, not fail; for at
   * most timeout_ms, which a Unix socket's connect takes from SO_SNDTIMEO. */
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  for (int wait_ms = timeout_ms;; wait_ms = client_remaining_ms(deadline)) {
    if (timeout_ms >= 0 && (err = -set_send_timeout(fd, wait_ms)) != 0)
      break;
    err = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 ? 0 : errno;
    if (err != EINTR)
      break;
    if (timeout_ms >= 0 && client_remaining_ms(deadline) == 0) { /* signals until the time was up */
      err = ETIMEDOUT;
      break;
    }
  }
  if (err == EISCONN)
    err = 0; /* an interrupted connect completed meanwhile */
  if (err == EAGAIN && timeout_ms >= 0)
    err = ETIMEDOUT; /* the backlog stayed full for the whole timeout */
  if (!err && timeout_ms >= 0)
    err = -set_send_timeout(fd, -1);
  /* The socket stays blocking; reads and writes say MSG_DONTWAIT, and waiting is poll()'s
   * (see pump()). */
  if (err) {
    close(fd);
    return -err;
  }
  *out = fd;
  return 0;
}

BACKEND_EXPORT int backend_client_connect_timeout(const char *socket_path, int timeout_ms, backend_client **out) {
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  backend_client *c;
  size_t len;
  int fd = -1, err;

  if (!out)
    return BACKEND_EINVAL;
  *out = NULL;
  if (!socket_path) {
    err = backend_default_socket(path, sizeof path);
    if (err)
      return err;
    socket_path = path;
  }
  len = strlen(socket_path);
  c = calloc(1, sizeof *c + len + 1);
  if (!c)
    return -ENOMEM;
  err = connect_to(socket_path, timeout_ms, &fd);
  if (err) {
    free(c);
    return err;
  }
  memcpy(c->path, socket_path, len + 1);
  c->fd = fd;
  c->next_msgid = 1;
  proto_limits_default(&c->limits);
  proto_frame_init(&c->in, &c->limits);
  msgid_table_init(&c->ids);
  *out = c;
  return 0;
}

BACKEND_EXPORT int backend_client_connect(const char *socket_path, backend_client **out) {
  return backend_client_connect_timeout(socket_path, -1, out);
}

BACKEND_EXPORT void backend_client_free(backend_client *c) {
  if (!c)
    return;
  close(c->fd);
  while (c->head) {
    struct client_reply *r = c->head;
    c->head = r->next;
    backend_reply_free(&r->pub);
  }
  backend_reply_free(c->sync_reply ? &c->sync_reply->pub : NULL);
  proto_frame_free(&c->in);
  msgid_table_free(&c->ids);
  free(c->out.data);
  free(c);
}

BACKEND_EXPORT const char *backend_client_socket(const backend_client *c) {
  return c->path;
}

BACKEND_EXPORT int backend_client_call(backend_client *c, const char *method, const void *params,
                                       size_t params_len, int timeout_ms, backend_reply **out) {
  uint32_t id;
  int err;

  if (!c || !out)
    return BACKEND_EINVAL;
  *out = NULL;
  err = queue_request(c, method, params, params_len, MSGID_SYNC, &id);
  return err ? err : wait_sync(c, id, timeout_ms, out);
}

BACKEND_EXPORT int backend_client_send(backend_client *c, const char *method, const void *params,
                                       size_t params_len, uint32_t *msgid) {
  uint32_t id;
  int err;

  if (!c)
    return BACKEND_EINVAL;
  /* Write in batches, without blocking; read too, so the daemon's replies keep flowing. */
  if (out_unsent(c) >= c->write_mark + WRITE_BATCH && !c->error) {
    write_some(c);
    read_some(c);
  }
  err = queue_request(c, method, params, params_len, MSGID_ASYNC, &id);
  if (err)
    return err;
  c->pending++;
  if (msgid)
    *msgid = id;
  return 0;
}

BACKEND_EXPORT int backend_client_flush(backend_client *c, int timeout_ms) {
  if (!c)
    return BACKEND_EINVAL;
  if (c->error)
    return c->error;
  return pump(c, timeout_ms, WAIT_FLUSHED);
}

BACKEND_EXPORT int backend_client_recv(backend_client *c, int timeout_ms, backend_reply **out) {
  struct client_reply *r;
  int err;

  if (!c || !out)
    return BACKEND_EINVAL;
  *out = NULL;
  if (!c->head) {
    if (c->error)
      return c->error;
    if (c->pending == 0)
      return -ENOMSG;
    err = pump(c, timeout_ms, WAIT_QUEUED);
    if (err)
      return err;
  }
  /* With a response at hand, queued requests wait for the next batch: writing them here
   * would cost a system call per request in a send/recv loop. */
  r = c->head;
  c->head = r->next;
  if (!c->head)
    c->tail = NULL;
  r->next = NULL;
  c->pending--;
  *out = &r->pub;
  return r->pub.status;
}

BACKEND_EXPORT size_t backend_client_pending(const backend_client *c) {
  return c->pending;
}
