/* Integration-test harness: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACKED 32
#define MAX_ARGS 64
#define POLL_STEP_MS 5

static char *tmpdirs[MAX_TRACKED];
static size_t n_tmpdirs;
static struct hdaemon *daemons[MAX_TRACKED];
static size_t n_daemons;
/* Open connections, so that a failed assertion leaks nothing (LeakSanitizer runs in tests too). */
#define MAX_CONNECTIONS 512
static void *conns[MAX_CONNECTIONS];
static bool conn_is_raw[MAX_CONNECTIONS];
static size_t n_conns;

static void track_conn(void *c, bool raw) {
  cr_assert_lt(n_conns, MAX_CONNECTIONS, "too many connections in one test");
  conn_is_raw[n_conns] = raw;
  conns[n_conns++] = c;
}

static void untrack_conn(void *c) {
  for (size_t i = 0; i < n_conns; i++)
    if (conns[i] == c) {
      conns[i] = conns[--n_conns];
      conn_is_raw[i] = conn_is_raw[n_conns];
      return;
    }
}

/* ---- time ---- */

int64_t harness_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
  int64_t left = deadline - harness_now_ms();
  return left < 0 ? 0 : (int)left;
}

void harness_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* ---- temporary directories ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)remove(path);
  return 0;
}

/* Replies kept for the teardown (harness_keep). */
#define MAX_KEPT 1024
static backend_reply *kept[MAX_KEPT];
static size_t n_kept;

backend_reply *harness_keep(backend_reply *r) {
  cr_assert_lt(n_kept, MAX_KEPT, "more than %d replies kept", MAX_KEPT);
  kept[n_kept++] = r;
  return r;
}

void harness_pack_cstr(msgpack_packer *pk, const char *s) { msgpack_pack_str_with_body(pk, s, strlen(s)); }

void harness_cleanup(void) {
  while (n_conns > 0) {
    if (conn_is_raw[n_conns - 1])
      raw_close(conns[n_conns - 1]);
    else
      harness_client_close(conns[n_conns - 1]);
  }
  for (size_t i = 0; i < n_daemons; i++) {
    struct hdaemon *d = daemons[i];
    if (!d->exited) {
      harness_dump_log(d);
      kill(d->pid, SIGKILL);
      waitpid(d->pid, NULL, 0);
    }
    free(d->dir);
    free(d->socket);
    free(d->log_path);
    free(d);
  }
  n_daemons = 0;
  for (size_t i = 0; i < n_tmpdirs; i++) {
    nftw(tmpdirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmpdirs[i]);
  }
  n_tmpdirs = 0;
  while (n_kept > 0)
    backend_reply_free(kept[--n_kept]);
}

const char *harness_bin(const char *env_name) {
  const char *path = getenv(env_name);
  cr_assert(path != NULL && *path != '\0', "%s is not set (run the tests with meson test)", env_name);
  return path;
}

const char *harness_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *dir;
  /* Socket paths must fit sockaddr_un.sun_path (108 bytes). */
  if (base == NULL || *base == '\0' || strlen(base) > 60)
    base = "/tmp";
  cr_assert_lt(n_tmpdirs, MAX_TRACKED, "too many temporary directories in one test");
  cr_assert_geq(asprintf(&dir, "%s/backendd-test.XXXXXX", base), 0);
  cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
  tmpdirs[n_tmpdirs++] = dir;
  return dir;
}

/* ---- child processes ---- */

/* In a forked child: die with the test process, default signal state. */
static void child_setup(pid_t parent) {
  sigset_t none;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(127);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
}

static int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

/* Waits for pid up to timeout_ms: its decoded status, or -1 while it still runs. */
static int wait_pid(pid_t pid, int timeout_ms) {
  int64_t deadline = harness_now_ms() + timeout_ms;
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return decode_status(status);
    cr_assert(r == 0 || errno == EINTR, "waitpid %d: %s", (int)pid, strerror(errno));
    if (harness_now_ms() >= deadline)
      return -1;
    harness_sleep_ms(POLL_STEP_MS);
  }
}

/* ---- daemons ---- */

struct hdaemon *harness_spawn(const char *bin, const char *socket, const char *const *args) {
  return harness_spawn_with(bin, socket, args, NULL);
}

static bool has_config_arg(const char *const *args) {
  for (size_t i = 0; args != NULL && args[i] != NULL; i++)
    if (strncmp(args[i], "--config", 8) == 0 || strcmp(args[i], "--no-config") == 0)
      return true;
  return false;
}

struct hdaemon *harness_spawn_with(const char *bin, const char *socket, const char *const *args,
                                   const struct hspawn *with) {
  struct hdaemon *d = calloc(1, sizeof *d);
  const char *argv[MAX_ARGS];
  size_t n = 0;
  pid_t parent = getpid();
  char *cache;
  int log_fd;

  cr_assert_not_null(d);
  cr_assert_lt(n_daemons, MAX_TRACKED, "too many daemons in one test");
  daemons[n_daemons++] = d;
  d->dir = strdup(harness_tmpdir());
  cr_assert_geq(asprintf(&d->log_path, "%s/backendd.log", d->dir), 0);
  if (socket != NULL)
    d->socket = strdup(socket);
  else
    cr_assert_geq(asprintf(&d->socket, "%s/backendd.sock", d->dir), 0);
  cr_assert(d->dir != NULL && d->socket != NULL);

  for (size_t i = 0; with != NULL && with->wrapper != NULL && with->wrapper[i] != NULL; i++) {
    cr_assert_lt(n, MAX_ARGS - 4);
    argv[n++] = with->wrapper[i];
  }
  argv[n++] = bin;
  argv[n++] = "--socket";
  argv[n++] = d->socket;
  /* A config file installed on the test machine must not change what a test sees. */
  if (!has_config_arg(args))
    argv[n++] = "--no-config";
  for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
    cr_assert_lt(n, MAX_ARGS - 1);
    argv[n++] = args[i];
  }
  argv[n] = NULL;

  log_fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  cr_assert_geq(log_fd, 0, "open %s: %s", d->log_path, strerror(errno));
  cr_assert_geq(asprintf(&cache, "%s/cache.sqlite", d->dir), 0);
  d->pid = fork();
  cr_assert_geq(d->pid, 0, "fork: %s", strerror(errno));
  if (d->pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    child_setup(parent);
    if (in < 0 || dup2(in, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
      _exit(127);
    setenv("BACKENDD_CACHE", cache, 0); /* tests never touch the machine's cache; --cache still wins */
    for (size_t i = 0; with != NULL && with->env != NULL && with->env[i] != NULL; i++)
      if (putenv((char *)with->env[i]) != 0)
        _exit(127);
    execv(argv[0], (char *const *)argv);
    dprintf(2, "harness: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  free(cache);
  close(log_fd);
  return d;
}

bool harness_wait_ready(struct hdaemon *d, int timeout_ms) {
  int64_t deadline = harness_now_ms() + timeout_ms;
  for (;;) {
    char *log = harness_log(d);
    bool ready = strstr(log, " ready on ") != NULL;
    free(log);
    if (ready)
      return true;
    if (harness_wait_exit(d, 0) >= 0 || harness_now_ms() >= deadline)
      return false;
    harness_sleep_ms(POLL_STEP_MS);
  }
}

struct hdaemon *harness_start(const char *bin, ...) {
  const char *args[MAX_ARGS];
  size_t n = 0;
  struct hdaemon *d;
  va_list ap;
  va_start(ap, bin);
  while ((args[n] = va_arg(ap, const char *)) != NULL) {
    n++;
    cr_assert_lt(n, MAX_ARGS);
  }
  va_end(ap);
  d = harness_spawn(bin, NULL, args);
  if (!harness_wait_ready(d, HARNESS_TIMEOUT_MS)) {
    harness_dump_log(d);
    cr_assert_fail("%s did not become ready (exit status %d)", bin, d->exited ? d->status : -1);
  }
  return d;
}

int harness_wait_exit(struct hdaemon *d, int timeout_ms) {
  int status;
  if (d->exited)
    return d->status;
  if ((status = wait_pid(d->pid, timeout_ms)) < 0)
    return -1;
  d->exited = true;
  d->status = status;
  return status;
}

int harness_stop(struct hdaemon *d, int sig) {
  int status;
  if (d->exited)
    return d->status;
  kill(d->pid, sig);
  if ((status = harness_wait_exit(d, HARNESS_TIMEOUT_MS)) >= 0)
    return status;
  kill(d->pid, SIGKILL);
  harness_wait_exit(d, HARNESS_TIMEOUT_MS);
  return -1;
}

void harness_finish(struct hdaemon *d) {
  int status = harness_stop(d, SIGTERM);
  if (status != 0)
    harness_dump_log(d);
  cr_assert_eq(status, 0, "backendd exited with status %d on SIGTERM (expected 0; -1: did not exit)", status);
  cr_assert(access(d->socket, F_OK) < 0 && errno == ENOENT, "socket %s still exists after exit", d->socket);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "re");
  char *buf = NULL;
  size_t len = 0, n;
  char chunk[4096];
  if (f != NULL) {
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
      buf = realloc(buf, len + n + 1);
      cr_assert_not_null(buf);
      memcpy(buf + len, chunk, n);
      len += n;
    }
    fclose(f);
  }
  if (buf == NULL)
    buf = calloc(1, 1);
  cr_assert_not_null(buf);
  buf[len] = '\0';
  return buf;
}

char *harness_log(const struct hdaemon *d) { return read_file(d->log_path); }

bool harness_log_wait(const struct hdaemon *d, const char *needle, int timeout_ms) {
  int64_t deadline = harness_now_ms() + timeout_ms;
  for (;;) {
    char *log = harness_log(d);
    bool found = strstr(log, needle) != NULL;
    free(log);
    if (found)
      return true;
    if (harness_now_ms() >= deadline)
      return false;
    harness_sleep_ms(POLL_STEP_MS);
  }
}

void harness_dump_log(const struct hdaemon *d) {
  char *log = harness_log(d);
  fprintf(stderr, "---- log of backendd (pid %d, socket %s) ----\n%s---- end of log ----\n", (int)d->pid, d->socket,
          log);
  free(log);
}

long harness_vmrss_kb(const struct hdaemon *d) {
  char path[64], *status, *line;
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
  status = read_file(path);
  if ((line = strstr(status, "\nVmRSS:")) != NULL)
    kb = strtol(line + strlen("\nVmRSS:"), NULL, 10);
  free(status);
  cr_assert_gt(kb, 0, "no VmRSS in %s", path);
  return kb;
}

double harness_cpu_seconds(const struct hdaemon *d) {
  char path[64], *stat, *p;
  unsigned long long utime, stime;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)d->pid);
  stat = read_file(path);
  /* The command name may hold spaces and parentheses: the fields after it follow the last ')'.
   * utime and stime are fields 14 and 15, the 12th and 13th after it. */
  p = strrchr(stat, ')');
  cr_assert(p != NULL && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2,
            "cannot read %s", path);
  free(stat);
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- client library ---- */

const msgpack_object *harness_get(const msgpack_object *o, const char *key) {
  if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (uint32_t i = 0; i < o->via.map.size; i++)
    if (harness_str_eq(&o->via.map.ptr[i].key, key))
      return &o->via.map.ptr[i].val;
  return NULL;
}

bool harness_str_eq(const msgpack_object *o, const char *s) {
  size_t n = strlen(s);
  return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

backend_client *harness_client(const struct hdaemon *d) {
  backend_client *c = NULL;
  int err = backend_client_connect(d->socket, &c);
  cr_assert_eq(err, 0, "connecting to %s: %s", d->socket, backend_strerror(err));
  track_conn(c, false);
  return c;
}

void harness_client_close(backend_client *c) {
  untrack_conn(c);
  backend_client_free(c);
}

void harness_ping(backend_client *c, const struct hdaemon *d) {
  backend_reply *r = NULL;
  const msgpack_object *pong, *pid;
  int err = backend_client_call(c, "daemon.ping", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "daemon.ping: %s%s%s", backend_strerror(err), r != NULL ? ": " : "",
               r != NULL && r->error_message != NULL ? r->error_message : "");
  pong = harness_get(&r->result, "pong");
  pid = harness_get(&r->result, "pid");
  cr_assert(pong != NULL && pong->type == MSGPACK_OBJECT_BOOLEAN && pong->via.boolean, "daemon.ping: no pong: true");
  cr_assert(pid != NULL && pid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && pid->via.u64 == (uint64_t)d->pid,
            "daemon.ping: pid is not the daemon's (%d)", (int)d->pid);
  backend_reply_free(r);
}

void harness_ping_new(const struct hdaemon *d) {
  backend_client *c = harness_client(d);
  harness_ping(c, d);
  harness_client_close(c);
}

uint64_t harness_info_u64(backend_client *c, const char *key) {
  backend_reply *r = NULL;
  const msgpack_object *o;
  char *path, *part, *save = NULL;
  uint64_t v;
  int err = backend_client_call(c, "daemon.info", NULL, 0, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "daemon.info: %s", backend_strerror(err));
  o = &r->result;
  path = strdup(key);
  cr_assert_not_null(path);
  for (part = strtok_r(path, ".", &save); part != NULL && o != NULL; part = strtok_r(NULL, ".", &save))
    o = harness_get(o, part);
  free(path);
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "daemon.info has no unsigned integer %s", key);
  v = o->via.u64;
  backend_reply_free(r);
  return v;
}

uint64_t harness_info_u64_new(const struct hdaemon *d, const char *key) {
  backend_client *c = harness_client(d);
  uint64_t v = harness_info_u64(c, key);
  harness_client_close(c);
  return v;
}

bool harness_info_wait(const struct hdaemon *d, const char *key, uint64_t want, int timeout_ms) {
  int64_t deadline = harness_now_ms() + timeout_ms;
  for (;;) {
    if (harness_info_u64_new(d, key) == want)
      return true;
    if (harness_now_ms() >= deadline)
      return false;
    harness_sleep_ms(POLL_STEP_MS * 2);
  }
}

void harness_params_u64(msgpack_sbuffer *sb, const char *name, uint64_t v) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, name, strlen(name));
  msgpack_pack_uint64(&pk, v);
}

/* ---- child programs ---- */

static void append(char **buf, size_t *len, const char *data, size_t n) {
  *buf = realloc(*buf, *len + n + 1);
  cr_assert_not_null(*buf);
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = '\0';
}

void harness_run(struct hrun *r, int timeout_ms, const char *const *argv) {
  int out[2], err[2];
  pid_t parent = getpid(), pid;
  size_t out_len = 0, err_len = 0;
  int64_t deadline = harness_now_ms() + timeout_ms;
  bool open_out = true, open_err = true, timed_out = false;

  memset(r, 0, sizeof *r);
  append(&r->out, &out_len, "", 0);
  append(&r->err, &err_len, "", 0);
  cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
  pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    child_setup(parent);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
      _exit(127);
    execv(argv[0], (char *const *)argv);
    dprintf(2, "harness: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  while (open_out || open_err) {
    struct pollfd p[2] = {{open_out ? out[0] : -1, POLLIN, 0}, {open_err ? err[0] : -1, POLLIN, 0}};
    char chunk[4096];
    int n = poll(p, 2, remaining_ms(deadline));
    if (n < 0 && errno == EINTR)
      continue;
    cr_assert_geq(n, 0, "poll: %s", strerror(errno));
    if (n == 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < 2; i++) {
      ssize_t got;
      if (p[i].revents == 0)
        continue;
      got = read(p[i].fd, chunk, sizeof chunk);
      if (got > 0)
        append(i == 0 ? &r->out : &r->err, i == 0 ? &out_len : &err_len, chunk, (size_t)got);
      else if (got == 0 || errno != EINTR)
        *(i == 0 ? &open_out : &open_err) = false;
    }
  }
  close(out[0]);
  close(err[0]);
  if (timed_out)
    kill(pid, SIGKILL);
  r->status = wait_pid(pid, timed_out ? HARNESS_TIMEOUT_MS : remaining_ms(deadline) + 1000);
  if (timed_out || r->status < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    r->status = -1;
  }
}

void harness_ctl(struct hrun *r, const char *socket, ...) {
  const char *argv[MAX_ARGS];
  size_t n = 0;
  va_list ap;
  argv[n++] = harness_bin("BACKENDCTL_BIN");
  if (socket != NULL) {
    argv[n++] = "--socket";
    argv[n++] = socket;
  }
  va_start(ap, socket);
  while ((argv[n] = va_arg(ap, const char *)) != NULL) {
    n++;
    cr_assert_lt(n, MAX_ARGS);
  }
  va_end(ap);
  harness_run(r, HARNESS_TIMEOUT_MS, argv);
}

void harness_run_free(struct hrun *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

/* ---- raw sockets ---- */

struct hraw *raw_try_connect(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  struct hraw *r;
  int fd, saved;
  cr_assert_lt(strlen(path), sizeof addr.sun_path);
  strcpy(addr.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    saved = errno;
    close(fd);
    errno = saved;
    return NULL;
  }
  /* Non-blocking: every wait is a poll() with a timeout, so a test never hangs. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  r = calloc(1, sizeof *r);
  cr_assert_not_null(r);
  r->fd = fd;
  msgpack_sbuffer_init(&r->out);
  msgpack_packer_init(&r->pk, &r->out, msgpack_sbuffer_write);
  cr_assert(msgpack_unpacker_init(&r->in, 65536));
  msgpack_unpacked_init(&r->msg);
  track_conn(r, true);
  return r;
}

struct hraw *raw_connect(const char *path) {
  struct hraw *r = raw_try_connect(path);
  cr_assert_not_null(r, "connecting to %s: %s", path, strerror(errno));
  return r;
}

void raw_close(struct hraw *r) {
  if (r == NULL)
    return;
  untrack_conn(r);
  close(r->fd);
  msgpack_sbuffer_destroy(&r->out);
  msgpack_unpacked_destroy(&r->msg);
  msgpack_unpacker_destroy(&r->in);
  free(r);
}

int raw_send(struct hraw *r, const void *bytes, size_t len) {
  const char *p = bytes;
  int64_t deadline = harness_now_ms() + HARNESS_TIMEOUT_MS;
  while (len > 0) {
    ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
    if (n >= 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    struct pollfd pfd = {r->fd, POLLOUT, 0};
    if (poll(&pfd, 1, remaining_ms(deadline)) == 0)
      return -ETIMEDOUT;
  }
  return 0;
}

msgpack_packer *raw_packer(struct hraw *r) { return &r->pk; }

int raw_flush(struct hraw *r) {
  int err = raw_send(r, r->out.data, r->out.size);
  msgpack_sbuffer_clear(&r->out);
  return err;
}

msgpack_packer *raw_request_begin(struct hraw *r, uint32_t msgid, const char *method) {
  msgpack_pack_array(&r->pk, 4);
  msgpack_pack_uint8(&r->pk, 0);
  msgpack_pack_uint32(&r->pk, msgid);
  msgpack_pack_str_with_body(&r->pk, method, strlen(method));
  return &r->pk;
}

void raw_request(struct hraw *r, uint32_t msgid, const char *method) {
  int err;
  msgpack_pack_array(raw_request_begin(r, msgid, method), 0);
  err = raw_flush(r);
  cr_assert_eq(err, 0, "sending %s: %s", method, strerror(-err));
}

int raw_recv(struct hraw *r, int timeout_ms, msgpack_object *out) {
  int64_t deadline = harness_now_ms() + timeout_ms;
  for (;;) {
    switch (msgpack_unpacker_next(&r->in, &r->msg)) {
    case MSGPACK_UNPACK_SUCCESS:
      *out = r->msg.data;
      return 1;
    case MSGPACK_UNPACK_CONTINUE:
      break;
    default:
      return -EBADMSG;
    }
    cr_assert(msgpack_unpacker_reserve_buffer(&r->in, 65536));
    ssize_t n = recv(r->fd, msgpack_unpacker_buffer(&r->in), msgpack_unpacker_buffer_capacity(&r->in), 0);
    if (n > 0) {
      msgpack_unpacker_buffer_consumed(&r->in, (size_t)n);
      continue;
    }
    if (n == 0 || errno == ECONNRESET)
      return 0;
    if (errno == EINTR)
      continue;
    cr_assert_eq(errno, EAGAIN, "recv: %s", strerror(errno));
    struct pollfd pfd = {r->fd, POLLIN, 0};
    if (poll(&pfd, 1, remaining_ms(deadline)) == 0)
      return -ETIMEDOUT;
  }
}

static const char *show(const msgpack_object *o) {
  static char buf[512];
  if (msgpack_object_print_buffer(buf, sizeof buf, *o) <= 0)
    strcpy(buf, "?");
  return buf;
}

/* The next message, which must be a response to msgid; returns its [error, result]. */
static const msgpack_object *expect_response(struct hraw *r, uint32_t msgid) {
  msgpack_object o;
  int rc = raw_recv(r, HARNESS_TIMEOUT_MS, &o);
  cr_assert_eq(rc, 1, "waiting for the response to msgid %u: %s", msgid,
               rc == 0 ? "connection closed" : strerror(-rc));
  cr_assert(o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size == 4, "not a response: %s", show(&o));
  cr_assert(o.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.array.ptr[0].via.u64 == 1,
            "not a response: %s", show(&o));
  cr_assert(o.via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.array.ptr[1].via.u64 == msgid,
            "expected a response to msgid %u, got %s", msgid, show(&o));
  return &o.via.array.ptr[2];
}

msgpack_object raw_expect_result(struct hraw *r, uint32_t msgid) {
  const msgpack_object *el = expect_response(r, msgid);
  cr_assert_eq(el[0].type, MSGPACK_OBJECT_NIL, "msgid %u answered an error: %s", msgid, show(&el[0]));
  return el[1];
}

void raw_expect_error(struct hraw *r, uint32_t msgid, const char *code) {
  const msgpack_object *el = expect_response(r, msgid);
  const msgpack_object *message = harness_get(&el[0], "message");
  cr_assert(harness_str_eq(harness_get(&el[0], "code"), code), "msgid %u: expected error %s, got %s", msgid, code,
            show(&el[0]));
  cr_assert(message != NULL && message->type == MSGPACK_OBJECT_STR && message->via.str.size > 0,
            "error without a message: %s", show(&el[0]));
  cr_assert_eq(el[1].type, MSGPACK_OBJECT_NIL, "an error response's result must be nil");
}

int raw_expect_closed(struct hraw *r, const char *code) {
  int count = 0;
  for (;;) {
    msgpack_object o;
    const msgpack_object *el;
    int rc = raw_recv(r, HARNESS_TIMEOUT_MS, &o);
    if (rc == 0)
      return count;
    cr_assert_eq(rc, 1, "expected the daemon to close the connection: %s", strerror(-rc));
    cr_assert(o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size == 3,
              "expected the daemon to close the connection, got %s", show(&o));
    el = o.via.array.ptr;
    cr_assert(el[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && el[0].via.u64 == 2 &&
                  harness_str_eq(&el[1], "daemon.protocol_error") && el[2].type == MSGPACK_OBJECT_ARRAY &&
                  el[2].via.array.size == 1,
              "expected a daemon.protocol_error notification before the close, got %s", show(&o));
    cr_assert(harness_str_eq(harness_get(&el[2].via.array.ptr[0], "code"), code),
              "protocol_error: expected code %s, got %s", code, show(&o));
    cr_assert_not_null(harness_get(&el[2].via.array.ptr[0], "message"), "protocol_error without a message");
    count++;
  }
}
