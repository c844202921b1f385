/*
 * bench-ping: daemon.ping round trips through libbackend-client, each figure printed
 * beside a raw Unix-socket ping-pong baseline measured in the same run (these machines
 * are noisy, so only the ratio is comparable across machines). See bench/README.md.
 *
 *   latency     one synchronous client, backend_client_call() in a loop, per-call times;
 *               raw: blocking write/read over a socketpair against a blocking echo thread.
 *   throughput  1 and N client threads, one handle each, for a fixed duration:
 *               sync (call in a loop) and pipelined (send a window, then recv it all);
 *               raw: the same patterns against a single-threaded epoll echo server.
 *   --raw-process puts the raw echo servers in a forked process, as the daemon is;
 *   --cpu N runs everything on one CPU, which takes cross-CPU wake-ups out of latency.
 *
 * Raw messages have exactly the size of the real request [0, msgid, "daemon.ping", []]
 * and of the response the daemon sends to it (captured once over a raw socket).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <backend/client.h>

#include "frame.h"
#include "message.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

#define MAX_RUNS 64
#define MAX_PATH 4096     /* <limits.h> is out of reach: proto/limits.h shadows it (see proto/meson.build) */
#define MAX_MSG 4096       /* largest request or response we expect for a ping */
#define WIRE_MSGID 1000u   /* a representative msgid: most measured ids take 3 bytes (uint16) */
#define CALL_TIMEOUT_MS 10000
#define RAW_CHUNK 65536
#define LATENCY_SLICES 10  /* backendd and raw latency samples alternate in this many slices */
#define TARGET_LATENCY_RATIO 1.5
#define TARGET_PIPELINED_RPS 300000.0

/* ---- configuration ---- */

struct config {
  const char *daemon_bin;  /* backendd to start, unless socket_path is given */
  const char *socket_path; /* an already running daemon */
  int runs;                /* repetitions of every measurement */
  int warmup;              /* calls before the latency samples */
  int calls;               /* latency samples per run */
  double seconds;          /* duration of one throughput measurement */
  int window;              /* pipelined requests outstanding per client */
  int clients;             /* the "many clients" figure */
  bool raw_process;        /* raw echo servers in a forked process rather than a thread */
  int cpu;                 /* pin everything (the daemon we start too) to this CPU; -1: no */
};

/* The exact request and response bytes of one ping. */
struct wire {
  char req[MAX_MSG], resp[MAX_MSG];
  size_t req_len, resp_len;
};

/* ---- small helpers ---- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench-ping: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1); /* atexit stops the daemon */
}

static void write_full(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      die("raw write: %s", n < 0 ? strerror(errno) : "short write");
    buf += n;
    len -= (size_t)n;
  }
}

/* Reads exactly len bytes (into a buffer of at least min(len, cap) bytes, reused). */
static int read_full(int fd, char *buf, size_t cap, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, buf, len < cap ? len : cap);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    len -= (size_t)n;
  }
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of n values (sorts a copy). */
static double median(const double *v, int n) {
  double s[MAX_RUNS];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- the daemon ---- */

static struct {
  pid_t pid;
  char dir[64];
  char socket[128];
} g_daemon;

/* Stops the daemon we started and removes its temporary directory (and what is in it). */
static void cleanup_daemon(void) {
  static const char *const files[] = {"backendd.sock", "backendd.sock.lock", "cache.db",
                                      "cache.db-journal", "cache.db-wal", "cache.db-shm"};
  char path[192];
  if (g_daemon.pid > 0) {
    kill(g_daemon.pid, SIGTERM);
    waitpid(g_daemon.pid, NULL, 0);
    g_daemon.pid = 0;
  }
  if (g_daemon.dir[0] == '\0')
    return;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", g_daemon.dir, files[i]);
    unlink(path);
  }
  if (rmdir(g_daemon.dir) < 0)
    fprintf(stderr, "bench-ping: could not remove %s: %s\n", g_daemon.dir, strerror(errno));
  g_daemon.dir[0] = '\0';
}

static void on_signal(int sig) {
  cleanup_daemon(); /* kill, waitpid, unlink, rmdir: async-signal-safe enough for a benchmark */
  signal(sig, SIG_DFL);
  raise(sig);
}

/* <build dir>/daemon/backendd, the build dir being the parent of this program's directory. */
static const char *default_daemon_bin(void) {
  static char path[MAX_PATH];
  char exe[MAX_PATH];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  if (n <= 0)
    return "daemon/backendd";
  exe[n] = '\0';
  for (int i = 0; i < 2 && (slash = strrchr(exe, '/')) != NULL; i++)
    *slash = '\0';
  if (snprintf(path, sizeof path, "%s/daemon/backendd", exe) >= (int)sizeof path)
    return "daemon/backendd";
  return path;
}

static void exec_daemon(const char *bin) {
  char cache[192];
  snprintf(cache, sizeof cache, "%s/cache.db", g_daemon.dir);
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the benchmark */
  execl(bin, bin, "--socket", g_daemon.socket, "--cache", cache, "--log-level", "warning", (char *)NULL);
  fprintf(stderr, "bench-ping: cannot run %s: %s\n", bin, strerror(errno));
  _exit(127);
}

/* Waits until the daemon accepts connections (or has died). */
static void wait_ready(const char *bin) {
  for (int i = 0; i < 1000; i++) {
    backend_client *c;
    int status;
    if (backend_client_connect(g_daemon.socket, &c) == 0) {
      backend_client_free(c);
      return;
    }
    if (waitpid(g_daemon.pid, &status, WNOHANG) == g_daemon.pid) {
      g_daemon.pid = 0;
      die("%s exited before it was ready (%s %d)", bin, WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    usleep(10000);
  }
  die("%s is not accepting connections on %s after 10 s", bin, g_daemon.socket);
}

static const char *start_daemon(const char *bin) {
  strcpy(g_daemon.dir, "/tmp/bench-ping.XXXXXX");
  if (mkdtemp(g_daemon.dir) == NULL)
    die("mkdtemp: %s", strerror(errno));
  snprintf(g_daemon.socket, sizeof g_daemon.socket, "%s/backendd.sock", g_daemon.dir);
  atexit(cleanup_daemon);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  fflush(NULL);
  g_daemon.pid = fork();
  if (g_daemon.pid < 0)
    die("fork: %s", strerror(errno));
  if (g_daemon.pid == 0)
    exec_daemon(bin);
  wait_ready(bin);
  return g_daemon.socket;
}

/* ---- raw echo servers: a thread, or a forked process like the daemon ---- */

struct server_handle {
  pthread_t th;
  pid_t pid; /* > 0: a process */
};

/* A process server first closes the n client ends it inherited, so that it sees their EOF. */
static void server_spawn(struct server_handle *h, bool process, void *(*fn)(void *), void *arg,
                         const int *client_fds, int n) {
  h->pid = 0;
  if (!process) {
    if (pthread_create(&h->th, NULL, fn, arg) != 0)
      die("pthread_create failed");
    return;
  }
  fflush(NULL);
  if ((h->pid = fork()) < 0)
    die("fork: %s", strerror(errno));
  if (h->pid == 0) {
    g_daemon.pid = 0; /* the daemon and its directory are the parent's to clean up */
    g_daemon.dir[0] = '\0';
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int i = 0; i < n; i++)
      close(client_fds[i]);
    fn(arg);
    _exit(0);
  }
}

static void server_wait(struct server_handle *h) {
  if (h->pid > 0)
    waitpid(h->pid, NULL, 0);
  else
    pthread_join(h->th, NULL);
}

/* ---- the wire: exact ping request and response ---- */

static void pack_ping(struct wire *w, uint32_t msgid) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  proto_pack_request_begin(&pk, msgid, "daemon.ping", strlen("daemon.ping"));
  msgpack_pack_array(&pk, 0);
  if (sb.size > sizeof w->req)
    die("ping request of %zu bytes?", sb.size);
  memcpy(w->req, sb.data, sb.size);
  w->req_len = sb.size;
  msgpack_sbuffer_destroy(&sb);
}

static int connect_raw(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
    die("socket %s: %s", path, fd < 0 ? strerror(errno) : "path too long");
  strcpy(addr.sun_path, path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    die("connect %s: %s", path, strerror(errno));
  return fd;
}

/* Reads one framed message from fd into w->resp. */
static void read_response(int fd, struct wire *w) {
  struct proto_limits limits;
  struct proto_frame f;
  const char *msg;
  size_t len;
  int r;
  proto_limits_default(&limits);
  proto_frame_init(&f, &limits);
  while ((r = proto_frame_next(&f, &msg, &len)) == 0) {
    char *buf;
    size_t room;
    ssize_t n;
    if (proto_frame_reserve(&f, 4096, &buf, &room) < 0)
      die("out of memory");
    if ((n = read(fd, buf, room)) <= 0)
      die("reading the ping response: %s", n < 0 ? strerror(errno) : "connection closed");
    proto_frame_commit(&f, (size_t)n);
  }
  if (r < 0 || len > sizeof w->resp)
    die("unexpected ping response (%d, %zu bytes)", r, len);
  memcpy(w->resp, msg, len);
  w->resp_len = len;
  proto_frame_free(&f);
}

static void check_response(const struct wire *w, uint32_t msgid) {
  msgpack_zone zone;
  msgpack_object o;
  struct proto_msg m;
  const char *why = "not a response";
  msgpack_zone_init(&zone, 1024);
  if (proto_decode(w->resp, w->resp_len, &zone, &o) < 0 || proto_msg_parse(&o, &m, &why) < 0 ||
      m.type != PROTO_RESPONSE || m.msgid != msgid || m.error != NULL)
    die("the daemon's ping response is not a result for msgid %u: %s", msgid, why ? why : "error");
  msgpack_zone_destroy(&zone);
}

/* Packs the real request and captures the daemon's real response to it. */
static void capture_wire(const char *socket_path, struct wire *w) {
  int fd = connect_raw(socket_path);
  pack_ping(w, WIRE_MSGID);
  write_full(fd, w->req, w->req_len);
  read_response(fd, w);
  check_response(w, WIRE_MSGID);
  close(fd);
}

/* ---- latency ---- */

struct latency {
  double p50, p90, p99, max; /* microseconds */
};

/* Nearest-rank percentiles of n samples (sorted in place). */
static void summarise(uint64_t *ns, size_t n, struct latency *out) {
  qsort(ns, n, sizeof *ns, cmp_u64);
  out->p50 = (double)ns[(n * 50 + 99) / 100 - 1] / 1e3;
  out->p90 = (double)ns[(n * 90 + 99) / 100 - 1] / 1e3;
  out->p99 = (double)ns[(n * 99 + 99) / 100 - 1] / 1e3;
  out->max = (double)ns[n - 1] / 1e3;
}

static void ping(backend_client *c) {
  backend_reply *r;
  int err = backend_client_call(c, "daemon.ping", NULL, 0, CALL_TIMEOUT_MS, &r);
  if (err != 0)
    die("daemon.ping: %s%s%s", backend_strerror(err), r ? ": " : "", r ? r->error_message : "");
  backend_reply_free(r);
}

/* Times n synchronous pings into ns (NULL: just run them, as a warm-up). */
static void time_lib(backend_client *c, uint64_t *ns, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    ping(c);
    if (ns != NULL)
      ns[i] = now_ns() - t0;
  }
}

struct echo_args {
  int fd;
  const struct wire *w;
};

/* Blocking echo: one response-sized write for every request-sized message read. */
static void *blocking_echo(void *arg) {
  struct echo_args *a = arg;
  char buf[MAX_MSG];
  while (read_full(a->fd, buf, sizeof buf, a->w->req_len) == 0)
    write_full(a->fd, a->w->resp, a->w->resp_len);
  return NULL;
}

/* The raw latency baseline: a socketpair with a blocking echo server on the far end. */
struct raw_echo {
  int fd; /* ours */
  struct echo_args a;
  struct server_handle h;
};

static void raw_echo_start(struct raw_echo *e, const struct wire *w, bool process) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die("socketpair: %s", strerror(errno));
  e->fd = sv[0];
  e->a.fd = sv[1];
  e->a.w = w;
  server_spawn(&e->h, process, blocking_echo, &e->a, &sv[0], 1);
  if (e->h.pid > 0)
    close(sv[1]); /* the child's copy is the server's; ours would hide its EOF */
}

static void raw_echo_stop(struct raw_echo *e) {
  close(e->fd); /* the echo server reads EOF and returns */
  server_wait(&e->h);
  if (e->h.pid == 0)
    close(e->a.fd);
}

/* Times n raw round trips of ping-sized messages into ns (NULL: warm-up). */
static void time_raw(int fd, const struct wire *w, uint64_t *ns, int n) {
  char buf[MAX_MSG];
  for (int i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    write_full(fd, w->req, w->req_len);
    if (read_full(fd, buf, sizeof buf, w->resp_len) < 0)
      die("raw echo closed");
    if (ns != NULL)
      ns[i] = now_ns() - t0;
  }
}

/*
 * One latency run: backendd and raw calls alternate in LATENCY_SLICES slices, so that
 * both meet the same background load. lib_ns and raw_ns hold cfg->calls samples each.
 */
static void measure_latency(const char *socket_path, const struct wire *w, const struct config *cfg,
                            uint64_t *lib_ns, uint64_t *raw_ns, struct latency *lib, struct latency *raw) {
  struct raw_echo e;
  backend_client *c;
  int err = backend_client_connect(socket_path, &c);
  if (err != 0)
    die("connect %s: %s", socket_path, backend_strerror(err));
  raw_echo_start(&e, w, cfg->raw_process);
  time_lib(c, NULL, cfg->warmup);
  time_raw(e.fd, w, NULL, cfg->warmup);
  for (int i = 0; i < LATENCY_SLICES; i++) {
    int from = (int)((int64_t)cfg->calls * i / LATENCY_SLICES);
    int to = (int)((int64_t)cfg->calls * (i + 1) / LATENCY_SLICES);
    time_lib(c, lib_ns + from, to - from);
    time_raw(e.fd, w, raw_ns + from, to - from);
  }
  raw_echo_stop(&e);
  backend_client_free(c);
  summarise(lib_ns, (size_t)cfg->calls, lib);
  summarise(raw_ns, (size_t)cfg->calls, raw);
}

/* ---- throughput: workers ---- */

enum tp_mode { TP_SYNC, TP_PIPELINED };

struct tp_run {
  enum tp_mode mode;
  int window;
  const struct wire *w;
  pthread_barrier_t start;
  atomic_bool stop;
};

struct tp_worker {
  pthread_t th;
  struct tp_run *run;
  backend_client *client; /* library workers */
  int fd;                 /* raw workers */
  uint64_t done;          /* requests answered */
  uint64_t finish_ns;
};

static bool stopped(struct tp_run *run) { return atomic_load_explicit(&run->stop, memory_order_relaxed); }

static void lib_window(backend_client *c, int window) {
  for (int i = 0; i < window; i++) {
    int err = backend_client_send(c, "daemon.ping", NULL, 0, NULL);
    if (err != 0)
      die("backend_client_send: %s", backend_strerror(err));
  }
  for (int i = 0; i < window; i++) {
    backend_reply *r;
    int err = backend_client_recv(c, CALL_TIMEOUT_MS, &r);
    if (err != 0)
      die("backend_client_recv: %s", backend_strerror(err));
    backend_reply_free(r);
  }
}

static void *lib_worker(void *arg) {
  struct tp_worker *wk = arg;
  struct tp_run *run = wk->run;
  pthread_barrier_wait(&run->start);
  while (!stopped(run)) {
    if (run->mode == TP_SYNC) {
      ping(wk->client);
      wk->done++;
    } else {
      lib_window(wk->client, run->window);
      wk->done += (uint64_t)run->window;
    }
  }
  wk->finish_ns = now_ns();
  return NULL;
}

/* Raw pipelined: one write of `window` requests, then read `window` responses. */
static void *raw_worker(void *arg) {
  struct tp_worker *wk = arg;
  struct tp_run *run = wk->run;
  const struct wire *w = run->w;
  int window = run->mode == TP_SYNC ? 1 : run->window;
  size_t out_len = (size_t)window * w->req_len;
  char *out = malloc(out_len), *in = malloc(RAW_CHUNK);
  if (out == NULL || in == NULL)
    die("out of memory");
  for (int i = 0; i < window; i++)
    memcpy(out + (size_t)i * w->req_len, w->req, w->req_len);
  pthread_barrier_wait(&run->start);
  while (!stopped(run)) {
    write_full(wk->fd, out, out_len);
    if (read_full(wk->fd, in, RAW_CHUNK, (size_t)window * w->resp_len) < 0)
      die("raw echo server closed");
    wk->done += (uint64_t)window;
  }
  wk->finish_ns = now_ns();
  free(out);
  free(in);
  return NULL;
}

static void sleep_seconds(double s) {
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Runs n workers for cfg->seconds after a common start; returns requests per second. */
static double drive(struct tp_run *run, struct tp_worker *wk, int n, void *(*fn)(void *), double seconds) {
  uint64_t t0, end, total = 0;
  pthread_barrier_init(&run->start, NULL, (unsigned)n + 1);
  atomic_store(&run->stop, false);
  for (int i = 0; i < n; i++) {
    wk[i].run = run;
    wk[i].done = 0;
    if (pthread_create(&wk[i].th, NULL, fn, &wk[i]) != 0)
      die("pthread_create failed");
  }
  pthread_barrier_wait(&run->start);
  t0 = end = now_ns();
  sleep_seconds(seconds);
  atomic_store(&run->stop, true);
  for (int i = 0; i < n; i++) {
    pthread_join(wk[i].th, NULL);
    total += wk[i].done;
    if (wk[i].finish_ns > end)
      end = wk[i].finish_ns;
  }
  pthread_barrier_destroy(&run->start);
  return (double)total / ((double)(end - t0) / 1e9);
}

static double lib_throughput(const char *socket_path, enum tp_mode mode, int n, const struct config *cfg,
                             const struct wire *w) {
  struct tp_run run = {.mode = mode, .window = cfg->window, .w = w};
  struct tp_worker *wk = calloc((size_t)n, sizeof *wk);
  double rps;
  if (wk == NULL)
    die("out of memory");
  for (int i = 0; i < n; i++) {
    int err = backend_client_connect(socket_path, &wk[i].client);
    if (err != 0)
      die("connect %s: %s", socket_path, backend_strerror(err));
  }
  rps = drive(&run, wk, n, lib_worker, cfg->seconds);
  for (int i = 0; i < n; i++)
    backend_client_free(wk[i].client);
  free(wk);
  return rps;
}

/* ---- throughput: the raw echo server (one thread, epoll, like the daemon's loop) ---- */

struct raw_conn {
  int fd;
  size_t partial; /* bytes of an incomplete request already read */
  size_t owed;    /* response bytes still to write */
  bool want_out;
};

struct raw_server {
  const struct wire *w;
  struct raw_conn *conns;
  int n, open, epfd;
  char *out; /* responses back to back, RAW_CHUNK rounded down to whole responses */
  size_t out_len;
  char in[RAW_CHUNK];
  struct server_handle h;
};

static void raw_set_events(struct raw_server *s, struct raw_conn *c, bool want_out) {
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  c->want_out = want_out;
  epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void raw_flush(struct raw_server *s, struct raw_conn *c) {
  while (c->owed > 0) {
    ssize_t n = write(c->fd, s->out, c->owed < s->out_len ? c->owed : s->out_len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      if (!c->want_out)
        raw_set_events(s, c, true);
      return;
    }
    if (n < 0)
      die("raw server write: %s", strerror(errno));
    c->owed -= (size_t)n;
  }
  if (c->want_out)
    raw_set_events(s, c, false);
}

static void raw_close(struct raw_server *s, struct raw_conn *c) {
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  s->open--;
}

/* Reads what is there; owes one response for every complete request. */
static void raw_read(struct raw_server *s, struct raw_conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, s->in, sizeof s->in);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      raw_close(s, c);
      return;
    }
    c->partial += (size_t)n;
    c->owed += c->partial / s->w->req_len * s->w->resp_len;
    c->partial %= s->w->req_len;
    if ((size_t)n < sizeof s->in)
      break; /* drained */
  }
  raw_flush(s, c);
}

static void *raw_server_loop(void *arg) {
  struct raw_server *s = arg;
  struct epoll_event ev[64];
  while (s->open > 0) {
    int n = epoll_wait(s->epfd, ev, 64, -1);
    if (n < 0 && errno != EINTR)
      die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      struct raw_conn *c = ev[i].data.ptr;
      if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        raw_read(s, c);
      else if (c->fd >= 0 && (ev[i].events & EPOLLOUT))
        raw_flush(s, c);
    }
  }
  return NULL;
}

static int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Starts a raw echo server for n socketpairs; client ends go to wk[i].fd. */
static struct raw_server *raw_server_start(const struct wire *w, struct tp_worker *wk, int n, bool process) {
  struct raw_server *s = calloc(1, sizeof *s);
  int *client_fds = calloc((size_t)n, sizeof *client_fds);
  if (s == NULL || client_fds == NULL || (s->conns = calloc((size_t)n, sizeof *s->conns)) == NULL)
    die("out of memory");
  s->w = w;
  s->n = s->open = n;
  s->out_len = RAW_CHUNK / w->resp_len * w->resp_len;
  if ((s->out = malloc(s->out_len)) == NULL || (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
    die("raw server: %s", strerror(errno));
  for (size_t off = 0; off < s->out_len; off += w->resp_len)
    memcpy(s->out + off, w->resp, w->resp_len);
  for (int i = 0; i < n; i++) {
    int sv[2];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->conns[i]};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      die("socketpair: %s", strerror(errno));
    wk[i].fd = client_fds[i] = sv[0];
    s->conns[i].fd = sv[1];
    if (set_nonblocking(sv[1]) < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, sv[1], &ev) < 0)
      die("raw server: %s", strerror(errno));
  }
  server_spawn(&s->h, process, raw_server_loop, s, client_fds, n);
  if (s->h.pid > 0) { /* the server ends and epoll set belong to the child now */
    for (int i = 0; i < n; i++)
      close(s->conns[i].fd);
    close(s->epfd);
  }
  free(client_fds);
  return s;
}

/* Closing the client ends makes the server read EOF everywhere and return. */
static void raw_server_stop(struct raw_server *s, struct tp_worker *wk, int n) {
  for (int i = 0; i < n; i++)
    close(wk[i].fd);
  server_wait(&s->h);
  if (s->h.pid == 0)
    close(s->epfd);
  free(s->out);
  free(s->conns);
  free(s);
}

static double raw_throughput(const struct wire *w, enum tp_mode mode, int n, const struct config *cfg) {
  struct tp_run run = {.mode = mode, .window = cfg->window, .w = w};
  struct tp_worker *wk = calloc((size_t)n, sizeof *wk);
  struct raw_server *s;
  double rps;
  if (wk == NULL)
    die("out of memory");
  s = raw_server_start(w, wk, n, cfg->raw_process);
  rps = drive(&run, wk, n, raw_worker, cfg->seconds);
  raw_server_stop(s, wk, n);
  free(wk);
  return rps;
}

/* ---- the table ---- */

enum row_id { R_P50, R_P90, R_P99, R_MAX, R_SYNC_1, R_SYNC_N, R_PIPE_1, R_PIPE_N, N_ROWS };

struct row {
  char name[64];
  int decimals;
  double lib[MAX_RUNS], raw[MAX_RUNS];
};

static void name_rows(struct row *rows, const struct config *cfg) {
  static const char *const lat[] = {"p50", "p90", "p99", "max"};
  for (int i = R_P50; i <= R_MAX; i++) {
    snprintf(rows[i].name, sizeof rows[i].name, "sync latency %s (us)", lat[i - R_P50]);
    rows[i].decimals = 1;
  }
  snprintf(rows[R_SYNC_1].name, sizeof rows[0].name, "sync req/s, 1 client");
  snprintf(rows[R_SYNC_N].name, sizeof rows[0].name, "sync req/s, %d clients", cfg->clients);
  snprintf(rows[R_PIPE_1].name, sizeof rows[0].name, "pipelined req/s, 1 client");
  snprintf(rows[R_PIPE_N].name, sizeof rows[0].name, "pipelined req/s, %d clients", cfg->clients);
}

/* One repetition of every measurement, each backendd figure right before its baseline. */
static void run_once(int r, const char *socket_path, const struct wire *w, const struct config *cfg,
                     struct row *rows, uint64_t *lib_ns, uint64_t *raw_ns) {
  static const struct {
    enum row_id row;
    enum tp_mode mode;
    bool many;
  } tp[] = {{R_SYNC_1, TP_SYNC, false}, {R_SYNC_N, TP_SYNC, true},
            {R_PIPE_1, TP_PIPELINED, false}, {R_PIPE_N, TP_PIPELINED, true}};
  struct latency a, b;
  measure_latency(socket_path, w, cfg, lib_ns, raw_ns, &a, &b);
  rows[R_P50].lib[r] = a.p50, rows[R_P50].raw[r] = b.p50;
  rows[R_P90].lib[r] = a.p90, rows[R_P90].raw[r] = b.p90;
  rows[R_P99].lib[r] = a.p99, rows[R_P99].raw[r] = b.p99;
  rows[R_MAX].lib[r] = a.max, rows[R_MAX].raw[r] = b.max;
  for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++) {
    int n = tp[i].many ? cfg->clients : 1;
    rows[tp[i].row].lib[r] = lib_throughput(socket_path, tp[i].mode, n, cfg, w);
    rows[tp[i].row].raw[r] = raw_throughput(w, tp[i].mode, n, cfg);
  }
}

/* Median over runs, and the spread: half the min-max range relative to the median, in %. */
static void summarise_runs(const double *v, int n, double *med, double *spread) {
  double lo = v[0], hi = v[0];
  for (int i = 1; i < n; i++) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  *med = median(v, n);
  *spread = *med > 0 ? (hi - lo) / 2 / *med * 100 : 0.0;
}

/* Median over runs of backendd / raw, each run against its own baseline. */
static double row_ratio(const struct row *row, int n) {
  double ratio[MAX_RUNS];
  for (int i = 0; i < n; i++)
    ratio[i] = row->raw[i] > 0 ? row->lib[i] / row->raw[i] : 0;
  return median(ratio, n);
}

static void print_table(const struct row *rows, int runs) {
  printf("\n  %-30s %12s %7s %12s %7s %8s\n", "test", "backendd", "+-", "raw socket", "+-", "ratio");
  for (int i = 0; i < N_ROWS; i++) {
    double lib, lib_spread, raw, raw_spread;
    summarise_runs(rows[i].lib, runs, &lib, &lib_spread);
    summarise_runs(rows[i].raw, runs, &raw, &raw_spread);
    printf("  %-30s %12.*f %6.0f%% %12.*f %6.0f%% %7.2fx\n", rows[i].name, rows[i].decimals, lib, lib_spread,
           rows[i].decimals, raw, raw_spread, row_ratio(&rows[i], runs));
  }
}

static void print_targets(const struct row *rows, int runs) {
  double ratio = row_ratio(&rows[R_P50], runs);
  double p1 = median(rows[R_PIPE_1].lib, runs), pn = median(rows[R_PIPE_N].lib, runs);
  printf("\n  target: sync latency p50 <= %.1fx raw        %.2fx: %s\n", TARGET_LATENCY_RATIO, ratio,
         ratio <= TARGET_LATENCY_RATIO ? "met" : "NOT met");
  printf("  target: pipelined >= %.0f req/s         1 client %.0f: %s, %s: %.0f: %s\n", TARGET_PIPELINED_RPS, p1,
         p1 >= TARGET_PIPELINED_RPS ? "met" : "NOT met", rows[R_PIPE_N].name + strlen("pipelined req/s, "), pn,
         pn >= TARGET_PIPELINED_RPS ? "met" : "NOT met");
}

/* ---- machine description ---- */

static void cpu_model(char *buf, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256];
  snprintf(buf, len, "unknown CPU");
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
      snprintf(buf, len, "%s", colon + 2);
      buf[strcspn(buf, "\n")] = '\0';
      break;
    }
  }
  if (f != NULL)
    fclose(f);
}

static void print_header(const struct config *cfg, const struct wire *w, const char *socket_path) {
  char date[64], cpu[128], load[64] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  time_t t = time(NULL);
  struct utsname u;
  strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&t));
  cpu_model(cpu, sizeof cpu);
  uname(&u);
  if (f != NULL) {
    if (fgets(load, sizeof load, f) != NULL)
      load[strcspn(load, "\n")] = '\0';
    fclose(f);
  }
  printf("bench-ping: daemon.ping through libbackend-client beside a raw Unix-socket ping-pong\n");
  printf("  %s; %ld CPUs (%s); %s %s; build type %s\n", date, sysconf(_SC_NPROCESSORS_ONLN), cpu, u.sysname,
         u.release, BENCH_BUILDTYPE);
  if (cfg->socket_path != NULL)
    printf("  daemon: already running on %s\n", socket_path);
  else
    printf("  daemon: %s (pid %d) on %s\n", cfg->daemon_bin, (int)g_daemon.pid, socket_path);
  printf("  ping request %zu bytes, response %zu bytes (as captured for msgid %u)\n", w->req_len, w->resp_len,
         WIRE_MSGID);
  printf("  %d runs: each figure is the median over runs, +- half its min-max range;\n"
         "  ratio = median over runs of backendd / raw (latency: lower is better, req/s: higher)\n",
         cfg->runs);
  printf("  latency: %d calls after %d warm-up; throughput: %.1f s per figure, pipelined window %d\n", cfg->calls,
         cfg->warmup, cfg->seconds, cfg->window);
  printf("  raw echo servers run in a %s; load average before the run: %s\n",
         cfg->raw_process ? "forked process" : "thread", load);
  if (cfg->cpu >= 0)
    printf("  everything%s pinned to CPU %d\n", cfg->socket_path != NULL ? " but the daemon" : "", cfg->cpu);
  fflush(stdout);
}

/* ---- options ---- */

static void usage(FILE *out) {
  fprintf(out, "Usage: bench-ping [OPTION...]\n"
               "Measure daemon.ping through libbackend-client beside a raw Unix-socket baseline.\n\n"
               "  --daemon PATH     backendd to start (env BACKENDD_BIN; default <build dir>/daemon/backendd)\n"
               "  --socket PATH     use the daemon already running on PATH instead of starting one\n"
               "  --quick           a smoke run: fewer runs, calls and seconds\n"
               "  --runs N          repetitions of every measurement (default 5, quick 2)\n"
               "  --calls N         latency samples per run (default 20000, quick 2000)\n"
               "  --seconds S       duration of one throughput figure (default 1, quick 0.2)\n"
               "  --window N        pipelined requests outstanding per client (default 256)\n"
               "  --clients N       client threads of the many-clients figures (default 16)\n"
               "  --raw-process     run the raw echo servers in a forked process (like the daemon), not a thread\n"
               "  --cpu N           pin the benchmark and the daemon it starts to CPU N\n"
               "  --help            show this help\n");
}

static long parse_long(const char *opt, const char *s, long min, long max) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "bench-ping: --%s: '%s' is not a number between %ld and %ld\n", opt, s, min, max);
    exit(2);
  }
  return v;
}

static double parse_seconds(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= 0.01 && v <= 600)) {
    fprintf(stderr, "bench-ping: --seconds: '%s' is not a duration between 0.01 and 600\n", s);
    exit(2);
  }
  return v;
}

static void parse_options(int argc, char **argv, struct config *cfg) {
  static const struct option opts[] = {
    {"daemon", required_argument, NULL, 'd'}, {"socket", required_argument, NULL, 's'},
    {"quick", no_argument, NULL, 'q'},        {"runs", required_argument, NULL, 'r'},
    {"calls", required_argument, NULL, 'c'},  {"seconds", required_argument, NULL, 't'},
    {"window", required_argument, NULL, 'w'}, {"clients", required_argument, NULL, 'n'},
    {"raw-process", no_argument, NULL, 'p'},  {"cpu", required_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  bool quick = false;
  int opt;
  struct config set = {.runs = -1, .calls = -1, .seconds = -1};
  const char *env = getenv("BACKENDD_BIN");
  *cfg = (struct config){.window = 256, .clients = 16, .cpu = -1};
  cfg->daemon_bin = env != NULL && *env != '\0' ? env : default_daemon_bin();
  while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (opt) {
    case 'd': cfg->daemon_bin = optarg; break;
    case 's': cfg->socket_path = optarg; break;
    case 'q': quick = true; break;
    case 'r': set.runs = (int)parse_long("runs", optarg, 1, MAX_RUNS); break;
    case 'c': set.calls = (int)parse_long("calls", optarg, 100, 100000000); break;
    case 't': set.seconds = parse_seconds(optarg); break;
    case 'w': cfg->window = (int)parse_long("window", optarg, 1, 65536); break;
    case 'n': cfg->clients = (int)parse_long("clients", optarg, 1, 1024); break;
    case 'p': cfg->raw_process = true; break;
    case 'u': cfg->cpu = (int)parse_long("cpu", optarg, 0, CPU_SETSIZE - 1); break;
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); exit(2);
    }
  }
  if (optind < argc) {
    usage(stderr);
    exit(2);
  }
  cfg->runs = set.runs > 0 ? set.runs : quick ? 2 : 5;
  cfg->calls = set.calls > 0 ? set.calls : quick ? 2000 : 20000;
  cfg->warmup = cfg->calls / 10;
  cfg->seconds = set.seconds > 0 ? set.seconds : quick ? 0.2 : 1.0;
}

static void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0)
    die("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

int main(int argc, char **argv) {
  static struct row rows[N_ROWS];
  static struct wire w;
  struct config cfg;
  const char *socket_path;
  uint64_t *lib_ns, *raw_ns;
  bool progress = isatty(STDERR_FILENO);
  parse_options(argc, argv, &cfg);
  signal(SIGPIPE, SIG_IGN); /* a raw peer going away must be an error, not a signal */
  if (cfg.cpu >= 0)
    pin_to_cpu(cfg.cpu); /* before the daemon and any thread start: they inherit it */
  socket_path = cfg.socket_path != NULL ? cfg.socket_path : start_daemon(cfg.daemon_bin);
  capture_wire(socket_path, &w);
  print_header(&cfg, &w, socket_path);
  name_rows(rows, &cfg);
  lib_ns = malloc((size_t)cfg.calls * sizeof *lib_ns);
  raw_ns = malloc((size_t)cfg.calls * sizeof *raw_ns);
  if (lib_ns == NULL || raw_ns == NULL)
    die("out of memory");
  for (int r = 0; r < cfg.runs; r++) {
    if (progress)
      fprintf(stderr, "\r  run %d/%d ...", r + 1, cfg.runs);
    run_once(r, socket_path, &w, &cfg, rows, lib_ns, raw_ns);
  }
  if (progress)
    fprintf(stderr, "\r%20s\r", "");
  print_table(rows, cfg.runs);
  print_targets(rows, cfg.runs);
  free(lib_ns);
  free(raw_ns);
  return 0;
}
