/*
 * sd.c without a service manager: LISTEN_FDS / LISTEN_PID parsing and the checks on the
 * passed descriptor, and notification datagrams to a path or an abstract NOTIFY_SOCKET.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sd.h"

/* ---- socket activation ---- */

/* What systemd_listen_fd() did in a child that had `fd` as descriptor 3. */
struct outcome {
  int ret;
  bool cloexec;     /* descriptor 3 is close-on-exec afterwards */
  bool env_cleared; /* LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are gone */
  char log[1024];   /* what it logged */
};

/*
 * Runs systemd_listen_fd() in a child process, so that descriptor 3 and the environment are
 * the child's alone (Criterion's own descriptors stay untouched). fd < 0: descriptor 3 closed.
 * listen_pid "self": the child's pid; NULL: unset.
 */
static void run_listen(int fd, const char *listen_pid, const char *listen_fds, struct outcome *out) {
  int result[2], logp[2], status;
  pid_t pid;
  ssize_t n;
  cr_assert_eq(pipe(result), 0);
  cr_assert_eq(pipe(logp), 0);
  pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    struct outcome o = {0};
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    close(result[0]);
    close(logp[0]);
    if (dup2(logp[1], 2) < 0 || (fd >= 0 ? dup2(fd, 3) < 0 : (close(3), false)))
      _exit(127);
    if (listen_pid != NULL)
      setenv("LISTEN_PID", strcmp(listen_pid, "self") == 0 ? self : listen_pid, 1);
    if (listen_fds != NULL)
      setenv("LISTEN_FDS", listen_fds, 1);
    setenv("LISTEN_FDNAMES", "backendd.socket", 1);
    log_init(LOG_NOTICE);
    o.ret = systemd_listen_fd();
    o.cloexec = (fcntl(3, F_GETFD) & FD_CLOEXEC) != 0;
    o.env_cleared = !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
    if (write(result[1], &o, sizeof o) != sizeof o)
      _exit(126);
    _exit(0);
  }
  close(result[1]);
  close(logp[1]);
  n = read(result[0], out, sizeof *out);
  close(result[0]);
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status %d)", status);
  cr_assert_eq(n, (ssize_t)sizeof *out);
  n = read(logp[0], out->log, sizeof out->log - 1);
  out->log[n > 0 ? n : 0] = '\0';
  close(logp[0]);
}

static int unix_socket(int type, bool listening) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, type, 0);
  cr_assert_geq(fd, 0);
  /* An abstract, autobound address: nothing to clean up. */
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(sa_family_t)), 0, "bind: %s", strerror(errno));
  if (listening)
    cr_assert_eq(listen(fd, 4), 0);
  return fd;
}

Test(listen_fds, a_listening_unix_stream_socket_is_taken) {
  struct outcome o;
  int fd = unix_socket(SOCK_STREAM, true);
  run_listen(fd, "self", "1", &o);
  cr_assert_eq(o.ret, SYSTEMD_LISTEN_FDS_START, "returned %d, log: %s", o.ret, o.log);
  cr_assert(o.cloexec, "the plugin scanners would inherit the listening socket");
  cr_assert(o.env_cleared, "children would see LISTEN_*");
  cr_assert_str_empty(o.log);
  close(fd);
}

Test(listen_fds, nothing_passed) {
  struct outcome o;
  run_listen(-1, NULL, NULL, &o);
  cr_assert_eq(o.ret, 0);
  cr_assert(o.env_cleared);
}

Test(listen_fds, another_process_s_sockets_are_ignored_and_unset) {
  struct outcome o;
  int fd = unix_socket(SOCK_STREAM, true);
  run_listen(fd, "1", "1", &o);
  cr_assert_eq(o.ret, 0, "took a socket meant for pid 1 (log: %s)", o.log);
  cr_assert(!o.cloexec, "touched a descriptor that is not ours");
  cr_assert(o.env_cleared);
  close(fd);
}

Test(listen_fds, zero_sockets) {
  struct outcome o;
  run_listen(-1, "self", "0", &o);
  cr_assert_eq(o.ret, 0);
  cr_assert(o.env_cleared);
}

Test(listen_fds, a_file_is_refused) {
  struct outcome o;
  int fd = open("/dev/null", O_RDONLY);
  cr_assert_geq(fd, 0);
  run_listen(fd, "self", "1", &o);
  cr_assert_eq(o.ret, -ENOTSOCK);
  cr_assert(strstr(o.log, "descriptor 3 passed by the service manager is not a socket") != NULL, "log: %s", o.log);
  cr_assert(o.env_cleared);
  close(fd);
}

Test(listen_fds, a_closed_descriptor_is_refused) {
  struct outcome o;
  run_listen(-1, "self", "1", &o);
  cr_assert_eq(o.ret, -EBADF);
  cr_assert(strstr(o.log, "descriptor 3 is not open") != NULL, "log: %s", o.log);
}

Test(listen_fds, a_datagram_socket_is_refused) {
  struct outcome o;
  int fd = unix_socket(SOCK_DGRAM, false);
  run_listen(fd, "self", "1", &o);
  cr_assert_eq(o.ret, -EPROTOTYPE);
  cr_assert(strstr(o.log, "not a stream socket") != NULL, "log: %s", o.log);
  close(fd);
}

Test(listen_fds, a_socket_that_is_not_listening_is_refused) {
  struct outcome o;
  int fd = unix_socket(SOCK_STREAM, false);
  run_listen(fd, "self", "1", &o);
  cr_assert_eq(o.ret, -EINVAL);
  cr_assert(strstr(o.log, "not listening (the socket unit must not set Accept=yes)") != NULL, "log: %s", o.log);
  close(fd);
}

Test(listen_fds, an_internet_socket_is_refused) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct outcome o;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(fd, 4), 0);
  run_listen(fd, "self", "1", &o);
  cr_assert_eq(o.ret, -EAFNOSUPPORT);
  cr_assert(strstr(o.log, "not a Unix socket") != NULL, "log: %s", o.log);
  close(fd);
}

Test(listen_fds, several_sockets_are_refused) {
  struct outcome o;
  int fd = unix_socket(SOCK_STREAM, true);
  run_listen(fd, "self", "2", &o);
  cr_assert_eq(o.ret, -EINVAL);
  cr_assert(strstr(o.log, "2 sockets passed, backendd serves exactly one") != NULL, "log: %s", o.log);
  close(fd);
}

Test(listen_fds, malformed_variables_are_refused) {
  struct outcome o;
  run_listen(-1, "12x", "1", &o);
  cr_assert_eq(o.ret, -EINVAL);
  cr_assert(strstr(o.log, "LISTEN_PID='12x' is not a process id") != NULL, "log: %s", o.log);
  run_listen(-1, "self", "-1", &o);
  cr_assert_eq(o.ret, -EINVAL);
  cr_assert(strstr(o.log, "LISTEN_FDS='-1'") != NULL, "log: %s", o.log);
  cr_assert(o.env_cleared);
}

/* ---- notification ---- */

static void notify_fini(void) { systemd_notify_free(); }
TestSuite(notify, .fini = notify_fini);

/* A datagram socket bound to name ("@..." abstract, else a path). */
static int receiver(const char *name) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  cr_assert_lt(n, sizeof addr.sun_path);
  memcpy(addr.sun_path, name, n);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0,
               "bind %s: %s", name, strerror(errno));
  return fd;
}

/* The next datagram, NUL-terminated, or "" when none arrives within timeout_ms. */
static void next_datagram(int fd, char *buf, size_t len, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t n = 0;
  if (poll(&p, 1, timeout_ms) == 1)
    n = recv(fd, buf, len - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
}

Test(notify, unset_means_silently_nothing) {
  unsetenv("NOTIFY_SOCKET");
  cr_assert_eq(systemd_notify_init(), 0);
  cr_assert(!systemd_notify_enabled());
  cr_assert_eq(systemd_notify("READY=1"), 0);
}

Test(notify, to_a_path) {
  char dir[] = "/tmp/test-sd-XXXXXX", path[64], got[256];
  int fd;
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/notify", dir);
  fd = receiver(path);
  setenv("NOTIFY_SOCKET", path, 1);
  cr_assert_eq(systemd_notify_init(), 0);
  cr_assert_null(getenv("NOTIFY_SOCKET"), "children would speak for the daemon");
  cr_assert(systemd_notify_enabled());
  cr_assert_eq(systemd_notifyf("READY=1\nSTATUS=%d plugins", 3), 0);
  next_datagram(fd, got, sizeof got, 1000);
  cr_assert_str_eq(got, "READY=1\nSTATUS=3 plugins");
  close(fd);
  unlink(path);
  rmdir(dir);
}

Test(notify, to_an_abstract_name) {
  char name[64], got[256];
  int fd;
  snprintf(name, sizeof name, "@backendd-test-sd-%d", (int)getpid());
  fd = receiver(name);
  setenv("NOTIFY_SOCKET", name, 1);
  cr_assert_eq(systemd_notify_init(), 0);
  cr_assert_eq(systemd_notify("STOPPING=1"), 0);
  next_datagram(fd, got, sizeof got, 1000);
  cr_assert_str_eq(got, "STOPPING=1");
  close(fd);
}

Test(notify, an_unusable_address_turns_notifications_off) {
  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  cr_assert_eq(systemd_notify_init(), -EAFNOSUPPORT);
  cr_assert(!systemd_notify_enabled());
  cr_assert_null(getenv("NOTIFY_SOCKET"));
  cr_assert_eq(systemd_notify("READY=1"), 0);
}

Test(notify, a_receiver_that_is_gone_is_an_error) {
  setenv("NOTIFY_SOCKET", "/nonexistent/backendd-test/notify", 1);
  cr_assert_eq(systemd_notify_init(), 0);
  cr_assert_eq(systemd_notify("READY=1"), -ENOENT);
}
