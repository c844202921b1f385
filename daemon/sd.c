/* Socket activation and readiness notification, spoken directly: see sd.h. */
#define _GNU_SOURCE
#include "sd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* ---- socket activation ---- */

/* A whole decimal number that fits in an int, or -1. */
static long parse_count(const char *s) {
  char *end;
  long v;
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  return errno == 0 && *end == '\0' && v <= 0x7fffffff ? v : -1;
}

static int sockopt_int(int fd, int opt, int *out) {
  socklen_t len = sizeof *out;
  return getsockopt(fd, SOL_SOCKET, opt, out, &len) < 0 ? -errno : 0;
}

/* Is fd a listening AF_UNIX stream socket? 0, or a negative error after logging why not. */
static int check_listening_unix(int fd) {
  struct stat st;
  int domain, type, listening, err;
  if (fstat(fd, &st) < 0) {
    log_error("socket activation: LISTEN_FDS=1 but descriptor %d is not open: %s", fd, strerror(errno));
    return -EBADF;
  }
  if (!S_ISSOCK(st.st_mode)) {
    log_error("socket activation: descriptor %d passed by the service manager is not a socket", fd);
    return -ENOTSOCK;
  }
  if ((err = sockopt_int(fd, SO_DOMAIN, &domain)) < 0 || (err = sockopt_int(fd, SO_TYPE, &type)) < 0 ||
      (err = sockopt_int(fd, SO_ACCEPTCONN, &listening)) < 0) {
    log_error("socket activation: cannot inspect descriptor %d: %s", fd, strerror(-err));
    return err;
  }
  if (domain != AF_UNIX) {
    log_error("socket activation: descriptor %d is not a Unix socket (the socket unit needs ListenStream=/path)", fd);
    return -EAFNOSUPPORT;
  }
  if (type != SOCK_STREAM) {
    log_error("socket activation: descriptor %d is not a stream socket (the socket unit needs ListenStream=)", fd);
    return -EPROTOTYPE;
  }
  if (!listening) {
    log_error("socket activation: descriptor %d is not listening (the socket unit must not set Accept=yes)", fd);
    return -EINVAL;
  }
  return 0;
}

static int take_listen_fd(const char *pid_s, const char *fds_s) {
  long pid, n;
  int fd = SYSTEMD_LISTEN_FDS_START, err;
  if (pid_s == NULL || fds_s == NULL)
    return 0;
  if ((pid = parse_count(pid_s)) < 0) {
    log_error("socket activation: LISTEN_PID='%s' is not a process id", pid_s);
    return -EINVAL;
  }
  if (pid != (long)getpid()) {
    /* Meant for another process (a wrapper that started us without exec'ing in place). */
    log_debug("socket activation: LISTEN_PID=%ld is not this process (%d): binding our own socket", pid,
              (int)getpid());
    return 0;
  }
  if ((n = parse_count(fds_s)) < 0) {
    log_error("socket activation: LISTEN_FDS='%s' is not a number of descriptors", fds_s);
    return -EINVAL;
  }
  if (n == 0)
    return 0;
  if (n > 1) {
    log_error("socket activation: %ld sockets passed, backendd serves exactly one (one ListenStream= per socket unit)",
              n);
    return -EINVAL;
  }
  if ((err = check_listening_unix(fd)) < 0)
    return err;
  /* Ours alone: the plugin scanners must not inherit the listening socket. */
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    err = -errno;
    log_error("socket activation: cannot make descriptor %d close-on-exec: %s", fd, strerror(-err));
    return err;
  }
  return fd;
}

int systemd_listen_fd(void) {
  int r = take_listen_fd(getenv("LISTEN_PID"), getenv("LISTEN_FDS"));
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return r;
}

/* ---- readiness notification ---- */

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addr_len;
static bool notify_failed; /* the first failure is logged, the rest are not */

static int set_notify_address(const char *name) {
  size_t n = strlen(name);
  memset(&notify_addr, 0, sizeof notify_addr);
  notify_addr.sun_family = AF_UNIX;
  if (name[0] != '/' && name[0] != '@') {
    log_warning("NOTIFY_SOCKET='%s' is neither a path nor an abstract name (@name): not notifying the service manager",
                name);
    return -EAFNOSUPPORT;
  }
  if (n < 2 || n >= sizeof notify_addr.sun_path) {
    log_warning("NOTIFY_SOCKET='%s' does not fit a Unix socket address: not notifying the service manager", name);
    return -ENAMETOOLONG;
  }
  memcpy(notify_addr.sun_path, name, n);
  if (name[0] == '@')
    notify_addr.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL counted */
  notify_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/' ? 1 : 0));
  return 0;
}

int systemd_notify_init(void) {
  const char *name = getenv("NOTIFY_SOCKET");
  int err = 0;
  systemd_notify_free();
  if (name != NULL && *name != '\0' && (err = set_notify_address(name)) == 0 &&
      (notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
    err = -errno;
    log_warning("cannot create a socket to notify the service manager: %s", strerror(-err));
  }
  unsetenv("NOTIFY_SOCKET");
  return err;
}

int systemd_notify_enabled(void) { return notify_fd >= 0; }

int systemd_notify(const char *state) {
  ssize_t n;
  int err;
  if (notify_fd < 0)
    return 0;
  do
    n = sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr, notify_addr_len);
  while (n < 0 && errno == EINTR);
  if (n >= 0)
    return 0;
  err = -errno;
  if (!notify_failed)
    log_warning("cannot notify the service manager: %s", strerror(-err));
  notify_failed = true;
  return err;
}

int systemd_notifyf(const char *fmt, ...) {
  char *state;
  va_list ap;
  int n, err;
  if (notify_fd < 0)
    return 0;
  va_start(ap, fmt);
  n = vasprintf(&state, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -ENOMEM;
  err = systemd_notify(state);
  free(state);
  return err;
}

void systemd_notify_free(void) {
  if (notify_fd >= 0)
    close(notify_fd);
  notify_fd = -1;
  notify_failed = false;
}
