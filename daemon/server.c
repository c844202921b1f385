#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "readiness.h"
#include "reload.h"
#include "sd.h"

#define DRAIN_POLL_MS 10

struct server {
  uv_pipe_t listener;
  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t drain;
  uint64_t drain_deadline_ms;
  int lock_fd;
  bool bound;   /* we created the socket file, so we remove it */
  bool adopted; /* passed by the service manager, which owns its path */
};

/* mkdir -p for the socket's directory. */
static int make_parent_dirs(const char *path) {
  char *dir = strdup(path), *p;
  int err = 0;
  if (dir == NULL)
    return -ENOMEM;
  for (p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
      err = -errno;
      log_error("cannot create directory %s for the socket: %s", dir, strerror(errno));
      break;
    }
    *p = '/';
  }
  free(dir);
  return err;
}

/* Does anything accept connections on path? 1 yes, 0 no (stale), <0 error. */
static int socket_is_live(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd, r;
  if (strlen(path) >= sizeof addr.sun_path)
    return -ENAMETOOLONG;
  strcpy(addr.sun_path, path);
  if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
    return -errno;
  r = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 ? 1 : (errno == ECONNREFUSED ? 0 : -errno);
  close(fd);
  return r;
}

/*
 * The lock serialises daemons starting on one socket; the connect probe catches a socket
 * served by something that does not take our lock (another build, socket activation).
 */
__attribute__((nonnull)) static int claim_socket_path(struct server *s, const char *path) {
  char *lock_path;
  struct stat st;
  int live;
  if (asprintf(&lock_path, "%s.lock", path) < 0)
    return -ENOMEM;
  s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s->lock_fd < 0) {
    log_error("cannot open lock file %s: %s", lock_path, strerror(errno));
    free(lock_path);
    return -errno;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
    log_error("another backendd is already running on %s (it holds %s); stop it first or pass another --socket",
              path, lock_path);
    free(lock_path);
    return -EADDRINUSE;
  }
  free(lock_path);
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK(st.st_mode)) {
    log_error("%s exists and is not a socket; refusing to replace it", path);
    return -EEXIST;
  }
  if ((live = socket_is_live(path)) > 0) {
    log_error("a live daemon answers on %s; stop it first or pass another --socket", path);
    return -EADDRINUSE;
  }
  log_notice("replacing stale socket %s", path);
  if (unlink(path) < 0 && errno != ENOENT) {
    log_error("cannot remove stale socket %s: %s", path, strerror(errno));
    return -errno;
  }
  return 0;
}

static void on_connection(uv_stream_t *listener, int status) {
  struct daemon *d = listener->data;
  int err;
  if (status < 0 || (err = conn_accept(d, listener)) < 0)
    log_warning("accepting a connection failed: %s", uv_strerror(status < 0 ? status : err));
}

/* Polls until every connection is gone or the deadline passes, then stops the loop for teardown. */
static void on_drain_tick(uv_timer_t *t) {
  struct daemon *d = t->data;
  struct server *s = d->server;
  if (conn_count(d) > 0 && uv_now(d->loop) < s->drain_deadline_ms)
    return;
  if (conn_count(d) > 0) {
    log_warning("shutdown deadline (%.1fs) passed with %u connections still busy: closing them",
                d->opts.shutdown_timeout, conn_count(d));
    conn_close_all(d);
  }
  uv_timer_stop(t);
  uv_stop(d->loop);
}

void server_stop(struct daemon *d) {
  struct server *s = d->server;
  if (d->stopping)
    return;
  d->stopping = true;
  readiness_stopping(d);
  log_notice("stopping: no longer accepting connections; waiting up to %.1fs for %u connections",
             d->opts.shutdown_timeout, conn_count(d));
  uv_close((uv_handle_t *)&s->listener, NULL);
  if (s->adopted)
    log_info("leaving %s in place: the service manager owns it", d->opts.socket_path);
  if (s->bound && unlink(d->opts.socket_path) < 0 && errno != ENOENT)
    log_warning("cannot remove socket %s: %s", d->opts.socket_path, strerror(errno));
  s->bound = false;
  conn_drain_all(d);
  s->drain_deadline_ms = uv_now(d->loop) + (uint64_t)(d->opts.shutdown_timeout * 1000);
  uv_timer_start(&s->drain, on_drain_tick, 0, DRAIN_POLL_MS);
}

static void on_stop_signal(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;
  if (d->stopping) {
    log_notice("%s again: closing all connections now", strsignal(signum));
    d->server->drain_deadline_ms = 0;
    return;
  }
  log_notice("received %s", strsignal(signum));
  server_stop(d);
}

static void on_reload_signal(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;
  log_notice("received %s: reloading", strsignal(signum));
  reload_start(d, NULL, NULL);
}

static int start_signal(struct daemon *d, uv_signal_t *h, uv_signal_cb cb, int signum) {
  int err = uv_signal_init(d->loop, h);
  h->data = d;
  return err < 0 ? err : uv_signal_start(h, cb, signum);
}

static int bind_socket(struct daemon *d, struct server *s) {
  const char *path = d->opts.socket_path;
  int err;
  if ((err = uv_pipe_bind(&s->listener, path)) < 0) {
    log_error("cannot bind %s: %s", path, uv_strerror(err));
    return err;
  }
  s->bound = true;
  /* Every process on the machine is a potential client (see README, "Running it"). */
  if (chmod(path, 0666) < 0)
    log_warning("cannot make %s accessible to all users: %s", path, strerror(errno));
  return 0;
}

/* The path a socket is bound to ("@name" for an abstract one), or NULL for an unnamed one. */
static char *bound_name(int fd) {
  struct sockaddr_un addr;
  socklen_t len = sizeof addr;
  size_t n;
  char *name;
  if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0 || len <= offsetof(struct sockaddr_un, sun_path))
    return NULL;
  n = len - offsetof(struct sockaddr_un, sun_path);
  if (addr.sun_path[0] != '\0')
    return strndup(addr.sun_path, n);
  return asprintf(&name, "@%.*s", (int)(n - 1), addr.sun_path + 1) < 0 ? NULL : name;
}

/*
 * Socket activation: serve the socket systemd passed. Its path is systemd's: no lock, no
 * stale-socket handling, and it is never unlinked (systemd keeps listening on it while the
 * daemon is stopped). --socket then only names it; daemon.info and the logs show the real one.
 */
static int adopt_socket(struct daemon *d, struct server *s, int fd) {
  char *name;
  int err;
  if ((err = uv_pipe_open(&s->listener, fd)) < 0) {
    log_error("cannot use the socket passed by the service manager: %s", uv_strerror(err));
    return err;
  }
  s->adopted = true;
  if ((name = bound_name(fd)) == NULL) {
    log_notice("serving the socket passed by the service manager (descriptor %d)", fd);
    return 0;
  }
  if (strcmp(name, d->opts.socket_path) != 0) {
    log_warning("serving the socket passed by the service manager, %s, instead of %s", name, d->opts.socket_path);
    free(d->opts.socket_path);
    d->opts.socket_path = name;
    return 0;
  }
  log_notice("serving the socket passed by the service manager, %s", name);
  free(name);
  return 0;
}

int server_listen(struct daemon *d) {
  int err = uv_listen((uv_stream_t *)&d->server->listener, SOMAXCONN, on_connection);
  if (err < 0)
    log_error("cannot listen on %s: %s", d->opts.socket_path, uv_strerror(err));
  return err;
}

int server_start(struct daemon *d) {
  struct server *s = calloc(1, sizeof *s);
  int err, fd;
  if (s == NULL)
    return -ENOMEM;
  s->lock_fd = -1;
  d->server = s;
  uv_pipe_init(d->loop, &s->listener, 0);
  s->listener.data = d;
  uv_timer_init(d->loop, &s->drain);
  s->drain.data = d;
  if ((fd = systemd_listen_fd()) < 0)
    return fd;
  if (fd > 0)
    err = adopt_socket(d, s, fd);
  else if ((err = make_parent_dirs(d->opts.socket_path)) == 0 && (err = claim_socket_path(s, d->opts.socket_path)) == 0)
    err = bind_socket(d, s);
  if (err < 0)
    return err;
  if ((err = start_signal(d, &s->sigint, on_stop_signal, SIGINT)) < 0 ||
      (err = start_signal(d, &s->sigterm, on_stop_signal, SIGTERM)) < 0 ||
      (err = start_signal(d, &s->sighup, on_reload_signal, SIGHUP)) < 0) {
    log_error("cannot install signal handlers: %s", uv_strerror(err));
    return err;
  }
  return 0;
}

void server_free(struct daemon *d) {
  struct server *s = d->server;
  if (s == NULL)
    return;
  if (s->bound)
    unlink(d->opts.socket_path);
  if (s->lock_fd >= 0)
    close(s->lock_fd);
  free(s);
  d->server = NULL;
}
