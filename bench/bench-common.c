/* What the benchmarks share: see bench-common.h. */
#define _GNU_SOURCE
#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#define MAX_MSG 4096           /* read buffer for responses */
#define ECHO_MAX_READ (1u << 20) /* the blocking echo reads large requests in pieces of this size */
#define MAX_TMP_ENTRIES 32

static const char *g_prog = "bench";

void bench_init(const char *prog) { g_prog = prog; }

const char *bench_prog(void) { return g_prog; }

/* ---- small helpers ---- */

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set by a fatal signal: its handler is removing the daemon, so nothing else may exit meanwhile. */
static atomic_bool g_signalled;

void bench_die(const char *fmt, ...) {
  va_list ap;
  while (atomic_load(&g_signalled))
    pause(); /* a thread that saw the daemon go: the handler ends the process when it is done */
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1); /* atexit stops the daemon */
}

void bench_write_full(int fd, const void *data, size_t len) {
  const char *buf = data;
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      bench_die("raw write: %s", n < 0 ? strerror(errno) : "short write");
    buf += n;
    len -= (size_t)n;
  }
}

int bench_read_full(int fd, char *buf, size_t cap, size_t len) {
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

double bench_median(const double *v, int n) {
  double s[BENCH_MAX_RUNS];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void bench_sleep_seconds(double s) {
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

void *bench_xmalloc(size_t n) {
  void *p = malloc(n > 0 ? n : 1);
  if (p == NULL)
    bench_die("out of memory");
  return p;
}

int bench_connect_unix(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
    bench_die("socket %s: %s", path, fd < 0 ? strerror(errno) : "path too long");
  strcpy(addr.sun_path, path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    bench_die("connect %s: %s", path, strerror(errno));
  return fd;
}

void bench_pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0)
    bench_die("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

void bench_progress(int run, int runs) {
  if (!isatty(STDERR_FILENO))
    return;
  if (runs > 0)
    fprintf(stderr, "\r  run %d/%d ...", run, runs);
  else
    fprintf(stderr, "\r%20s\r", "");
}

/* ---- options ---- */

enum { O_DAEMON = 'd', O_SOCKET = 's', O_QUICK = 'q', O_RUNS = 'r', O_CALLS = 'c', O_SECONDS = 't',
       O_WINDOW = 'w', O_CLIENTS = 'n', O_RAW_PROCESS = 'p', O_CPU = 'u', O_MIB = 'm', O_BIG_CALLS = 'b',
       O_HELP = 'h' };

/* In usage order; `only`: the BENCH_OPT_* a program must ask for (0: every program has it). */
static const struct {
  struct option opt;
  unsigned only;
  const char *usage;
} options[] = {
    {{"daemon", required_argument, NULL, O_DAEMON}, 0,
     "--daemon PATH     backendd to start (env BACKENDD_BIN; default <build dir>/daemon/backendd)"},
    {{"socket", required_argument, NULL, O_SOCKET}, BENCH_OPT_SOCKET,
     "--socket PATH     use the daemon already running on PATH instead of starting one"},
    {{"quick", no_argument, NULL, O_QUICK}, 0, "--quick           a smoke run: fewer runs, calls and seconds"},
    {{"runs", required_argument, NULL, O_RUNS}, 0,
     "--runs N          repetitions of every measurement (default 5, quick 2)"},
    {{"calls", required_argument, NULL, O_CALLS}, 0,
     "--calls N         latency samples per run (default 20000, quick 2000)"},
    {{"seconds", required_argument, NULL, O_SECONDS}, 0,
     "--seconds S       duration of one throughput figure (default 1, quick 0.2)"},
    {{"window", required_argument, NULL, O_WINDOW}, BENCH_OPT_WINDOW,
     "--window N        pipelined requests outstanding per client (default 256)"},
    {{"clients", required_argument, NULL, O_CLIENTS}, 0,
     "--clients N       client threads of the many-clients figures (default 16)"},
    {{"mib", required_argument, NULL, O_MIB}, BENCH_OPT_MIB,
     "--mib N           size of the float32 array of the bandwidth figures in MiB (default 64)"},
    {{"big-calls", required_argument, NULL, O_BIG_CALLS}, BENCH_OPT_BIG_CALLS,
     "--big-calls N     calls with that array per run (default 5, quick 2)"},
    {{"raw-process", no_argument, NULL, O_RAW_PROCESS}, 0,
     "--raw-process     run the raw echo servers in a forked process (like the daemon), not a thread"},
    {{"cpu", required_argument, NULL, O_CPU}, 0,
     "--cpu N           pin the benchmark and the daemon it starts to CPU N"},
    {{"help", no_argument, NULL, O_HELP}, 0, "--help            show this help"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static void usage(FILE *out, unsigned opts, const char *intro) {
  fprintf(out, "Usage: %s [OPTION...]\n%s\n\n", g_prog, intro);
  for (size_t i = 0; i < N_OPTIONS; i++)
    if ((options[i].only & ~opts) == 0)
      fprintf(out, "  %s\n", options[i].usage);
}

static long parse_long(const char *opt, const char *s, long min, long max) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "%s: --%s: '%s' is not a number between %ld and %ld\n", g_prog, opt, s, min, max);
    exit(2);
  }
  return v;
}

static double parse_seconds(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= 0.01 && v <= 600)) {
    fprintf(stderr, "%s: --seconds: '%s' is not a duration between 0.01 and 600\n", g_prog, s);
    exit(2);
  }
  return v;
}

void bench_parse_options(int argc, char **argv, unsigned opts, const char *intro, struct bench_config *cfg) {
  struct option longopts[N_OPTIONS + 1];
  size_t n = 0;
  bool quick = false;
  int opt;
  struct bench_config set = {.runs = -1, .calls = -1, .seconds = -1, .big_calls = -1};
  const char *env = getenv("BACKENDD_BIN");
  for (size_t i = 0; i < N_OPTIONS; i++)
    if ((options[i].only & ~opts) == 0)
      longopts[n++] = options[i].opt;
  longopts[n] = (struct option){NULL, 0, NULL, 0};
  *cfg = (struct bench_config){.window = 256, .clients = 16, .cpu = -1, .mib = 64};
  cfg->daemon_bin = env != NULL && *env != '\0' ? env : bench_default_daemon_bin();
  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
    case O_DAEMON: cfg->daemon_bin = optarg; break;
    case O_SOCKET: cfg->socket_path = optarg; break;
    case O_QUICK: quick = true; break;
    case O_RUNS: set.runs = (int)parse_long("runs", optarg, 1, BENCH_MAX_RUNS); break;
    case O_CALLS: set.calls = (int)parse_long("calls", optarg, 100, 100000000); break;
    case O_SECONDS: set.seconds = parse_seconds(optarg); break;
    case O_WINDOW: cfg->window = (int)parse_long("window", optarg, 1, 65536); break;
    case O_CLIENTS: cfg->clients = (int)parse_long("clients", optarg, 1, 1024); break;
    case O_MIB: cfg->mib = (int)parse_long("mib", optarg, 1, 1024); break;
    case O_BIG_CALLS: set.big_calls = (int)parse_long("big-calls", optarg, 1, 1000); break;
    case O_RAW_PROCESS: cfg->raw_process = true; break;
    case O_CPU: cfg->cpu = (int)parse_long("cpu", optarg, 0, CPU_SETSIZE - 1); break;
    case O_HELP: usage(stdout, opts, intro); exit(0);
    default: usage(stderr, opts, intro); exit(2);
    }
  }
  if (optind < argc) {
    usage(stderr, opts, intro);
    exit(2);
  }
  cfg->runs = set.runs > 0 ? set.runs : quick ? 2 : 5;
  cfg->calls = set.calls > 0 ? set.calls : quick ? 2000 : 20000;
  cfg->warmup = cfg->calls / 10;
  cfg->seconds = set.seconds > 0 ? set.seconds : quick ? 0.2 : 1.0;
  cfg->big_calls = set.big_calls > 0 ? set.big_calls : quick ? 2 : 5;
}

/* ---- the daemon, in a temporary directory ---- */

static struct {
  pid_t pid;
  char dir[64];
  char socket[128];
  struct {
    char path[192];
    bool is_dir;
  } tmp[MAX_TMP_ENTRIES]; /* what we put in dir, in order of creation */
  int n_tmp;
} g_daemon;

/* Stops the daemon we started and removes the temporary directory (and what is in it). Once. */
static void cleanup_daemon(void) {
  static const char *const files[] = {"backendd.sock", "backendd.sock.lock", "cache.db",
                                      "cache.db-journal", "cache.db-wal", "cache.db-shm"};
  static atomic_flag done = ATOMIC_FLAG_INIT;
  char path[192];
  if (atomic_flag_test_and_set(&done))
    return;
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
  while (g_daemon.n_tmp > 0) {
    int i = --g_daemon.n_tmp;
    if (g_daemon.tmp[i].is_dir)
      rmdir(g_daemon.tmp[i].path);
    else
      unlink(g_daemon.tmp[i].path);
  }
  if (rmdir(g_daemon.dir) < 0)
    fprintf(stderr, "%s: could not remove %s: %s\n", g_prog, g_daemon.dir, strerror(errno));
  g_daemon.dir[0] = '\0';
}

static void on_signal(int sig) {
  atomic_store(&g_signalled, true);
  cleanup_daemon(); /* kill, waitpid, unlink, rmdir: async-signal-safe enough for a benchmark */
  signal(sig, SIG_DFL);
  raise(sig);
}

const char *bench_tmpdir(void) {
  if (g_daemon.dir[0] != '\0')
    return g_daemon.dir;
  snprintf(g_daemon.dir, sizeof g_daemon.dir, "/tmp/%.40s.XXXXXX", g_prog);
  if (mkdtemp(g_daemon.dir) == NULL)
    bench_die("mkdtemp: %s", strerror(errno));
  atexit(cleanup_daemon);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  return g_daemon.dir;
}

/* Records <tmpdir>/rel for removal at exit (before it is created, so nothing escapes). */
const char *bench_tmp_file(const char *rel) {
  int i = g_daemon.n_tmp;
  char *path;
  if (i == MAX_TMP_ENTRIES)
    bench_die("too many temporary files");
  path = g_daemon.tmp[i].path;
  if (snprintf(path, sizeof g_daemon.tmp[i].path, "%s/%s", bench_tmpdir(), rel) >= (int)sizeof g_daemon.tmp[i].path)
    bench_die("path %s/%s too long", bench_tmpdir(), rel);
  g_daemon.tmp[i].is_dir = false;
  g_daemon.n_tmp++;
  return path;
}

const char *bench_tmp_mkdir(const char *rel) {
  const char *path = bench_tmp_file(rel);
  g_daemon.tmp[g_daemon.n_tmp - 1].is_dir = true;
  if (mkdir(path, 0755) < 0 || chmod(path, 0755) < 0) /* chmod: exact, whatever the umask */
    bench_die("mkdir %s: %s", path, strerror(errno));
  return path;
}

const char *bench_tmp_write(const char *rel, const void *data, size_t len) {
  const char *path = bench_tmp_file(rel);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || fchmod(fd, 0644) < 0)
    bench_die("create %s: %s", path, strerror(errno));
  bench_write_full(fd, data, len);
  if (close(fd) < 0)
    bench_die("write %s: %s", path, strerror(errno));
  return path;
}

const char *bench_default_daemon_bin(void) {
  static char path[BENCH_MAX_PATH];
  char exe[BENCH_MAX_PATH];
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

static void exec_daemon(const char *bin, const char *const *extra_args) {
  char cache[192];
  const char *argv[32] = {bin, "--socket", g_daemon.socket, "--cache", cache, "--log-level", "warning"};
  int argc = 7;
  snprintf(cache, sizeof cache, "%s/cache.db", g_daemon.dir);
  for (; extra_args != NULL && *extra_args != NULL && argc < 31; extra_args++)
    argv[argc++] = *extra_args;
  argv[argc] = NULL;
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the benchmark */
  execv(bin, (char *const *)argv);
  fprintf(stderr, "%s: cannot run %s: %s\n", g_prog, bin, strerror(errno));
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
      bench_die("%s exited before it was ready (%s %d)", bin, WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    usleep(10000);
  }
  bench_die("%s is not accepting connections on %s after 10 s", bin, g_daemon.socket);
}

const char *bench_daemon_start(const char *bin, const char *const *extra_args) {
  snprintf(g_daemon.socket, sizeof g_daemon.socket, "%s/backendd.sock", bench_tmpdir());
  fflush(NULL);
  g_daemon.pid = fork();
  if (g_daemon.pid < 0)
    bench_die("fork: %s", strerror(errno));
  if (g_daemon.pid == 0)
    exec_daemon(bin, extra_args);
  wait_ready(bin);
  return g_daemon.socket;
}

pid_t bench_daemon_pid(void) { return g_daemon.pid; }

/* ---- raw echo servers: a thread, or a forked process like the daemon ---- */

/* A process server first closes the n client ends it inherited, so that it sees their EOF. */
static void server_spawn(struct bench_server *h, bool process, void *(*fn)(void *), void *arg, const int *client_fds,
                         int n) {
  h->pid = 0;
  if (!process) {
    if (pthread_create(&h->th, NULL, fn, arg) != 0)
      bench_die("pthread_create failed");
    return;
  }
  fflush(NULL);
  if ((h->pid = fork()) < 0)
    bench_die("fork: %s", strerror(errno));
  if (h->pid == 0) {
    g_daemon.pid = 0; /* the daemon and its directory are the parent's to clean up */
    g_daemon.dir[0] = '\0';
    g_daemon.n_tmp = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int i = 0; i < n; i++)
      close(client_fds[i]);
    fn(arg);
    _exit(0);
  }
}

static void server_wait(struct bench_server *h) {
  if (h->pid > 0)
    waitpid(h->pid, NULL, 0);
  else
    pthread_join(h->th, NULL);
}

/* ---- the wire ---- */

/* Reads the next framed message from fd (through f) and decodes it into *m. */
static void read_message(int fd, struct proto_frame *f, msgpack_zone *zone, struct proto_msg *m, char **copy,
                         size_t *copy_len, const char *label) {
  const char *msg, *why = "not a message";
  size_t len;
  msgpack_object o;
  int r;
  while ((r = proto_frame_next(f, &msg, &len)) == 0) {
    char *buf;
    size_t room;
    ssize_t n;
    if (proto_frame_reserve(f, 4096, &buf, &room) < 0)
      bench_die("out of memory");
    if ((n = read(fd, buf, room)) <= 0)
      bench_die("reading the %s response: %s", label, n < 0 ? strerror(errno) : "connection closed");
    proto_frame_commit(f, (size_t)n);
  }
  if (r < 0)
    bench_die("unexpected %s response (%d, %zu bytes)", label, r, len);
  *copy = bench_xmalloc(len);
  memcpy(*copy, msg, len);
  *copy_len = len;
  if (proto_decode(*copy, len, zone, &o) < 0 || proto_msg_parse(&o, m, &why) < 0 || m->type != PROTO_RESPONSE)
    bench_die("the daemon's %s response is not a response: %s", label, why ? why : "?");
}

void bench_capture_wire(const char *socket_path, const char *pre, size_t pre_len, int n_pre, const char *method,
                        const void *params, size_t params_len, const char *label, struct bench_wire *w) {
  struct proto_limits limits;
  struct proto_frame f;
  struct proto_msg m = {0};
  msgpack_zone zone;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int fd = bench_connect_unix(socket_path);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  proto_pack_request_begin(&pk, BENCH_WIRE_MSGID, method, strlen(method));
  msgpack_sbuffer_write(&sb, params, params_len);
  w->req = sb.data;
  w->req_len = sb.size;
  proto_limits_default(&limits);
  proto_frame_init(&f, &limits);
  msgpack_zone_init(&zone, 1024);
  if (pre_len > 0)
    bench_write_full(fd, pre, pre_len);
  bench_write_full(fd, w->req, w->req_len);
  /* Answers may come in any order (doc/protocol.md): keep the one to the captured request. */
  w->resp = NULL;
  for (int i = 0; i <= n_pre; i++) {
    struct proto_msg got;
    char *resp;
    size_t resp_len;
    read_message(fd, &f, &zone, &got, &resp, &resp_len, label);
    if (got.msgid == BENCH_WIRE_MSGID && w->resp == NULL) {
      m = got;
      w->resp = resp;
      w->resp_len = resp_len;
      continue;
    }
    if (got.error != NULL)
      bench_die("the daemon refused a request sent before the %s request", label);
    free(resp);
  }
  if (w->resp == NULL || m.error != NULL) {
    struct proto_error e = {.code = "msgid", .code_len = 5, .message = "not the one sent", .message_len = 16};
    if (m.error != NULL && proto_error_parse(m.error, &e) < 0)
      e = (struct proto_error){.code = "error", .code_len = 5, .message = "?", .message_len = 1};
    bench_die("the daemon's %s response is not a result for msgid %u: %.*s: %.*s", label, BENCH_WIRE_MSGID,
              (int)e.code_len, e.code, (int)e.message_len, e.message);
  }
  msgpack_zone_destroy(&zone);
  proto_frame_free(&f);
  close(fd);
}

void bench_wire_free(struct bench_wire *w) {
  free(w->req);
  free(w->resp);
  w->req = w->resp = NULL;
}

/* ---- the raw latency baseline ---- */

/* Blocking echo: one response-sized write for every request-sized message read. */
static void *blocking_echo(void *arg) {
  struct bench_raw_echo *e = arg;
  size_t cap = e->w->req_len < ECHO_MAX_READ ? e->w->req_len : ECHO_MAX_READ;
  char *buf = bench_xmalloc(cap);
  while (bench_read_full(e->server_fd, buf, cap, e->w->req_len) == 0)
    bench_write_full(e->server_fd, e->w->resp, e->w->resp_len);
  free(buf);
  return NULL;
}

void bench_raw_echo_start(struct bench_raw_echo *e, const struct bench_wire *w, bool process) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    bench_die("socketpair: %s", strerror(errno));
  e->fd = sv[0];
  e->server_fd = sv[1];
  e->w = w;
  server_spawn(&e->h, process, blocking_echo, e, &sv[0], 1);
  if (e->h.pid > 0)
    close(sv[1]); /* the child's copy is the server's; ours would hide its EOF */
}

void bench_raw_echo_stop(struct bench_raw_echo *e) {
  close(e->fd); /* the echo server reads EOF and returns */
  server_wait(&e->h);
  if (e->h.pid == 0)
    close(e->server_fd);
}

void bench_raw_roundtrip(int fd, const struct bench_wire *w) {
  char buf[MAX_MSG];
  bench_write_full(fd, w->req, w->req_len);
  if (bench_read_full(fd, buf, sizeof buf, w->resp_len) < 0)
    bench_die("raw echo closed");
}

void bench_raw_probe(void *echo) {
  struct bench_raw_echo *e = echo;
  bench_raw_roundtrip(e->fd, e->w);
}

/* ---- daemon.ping through libbackend-client ---- */

static void ping(backend_client *c) {
  backend_reply *r;
  int err = backend_client_call(c, "daemon.ping", NULL, 0, BENCH_CALL_TIMEOUT_MS, &r);
  if (err != 0)
    bench_die("daemon.ping: %s%s%s", backend_strerror(err), r ? ": " : "", r ? r->error_message : "");
  backend_reply_free(r);
}

void bench_ping_probe(void *client) { ping(client); }

/* ---- latency ---- */

void bench_summarise(uint64_t *ns, size_t n, struct bench_latency *out) {
  qsort(ns, n, sizeof *ns, cmp_u64);
  out->p50 = (double)ns[(n * 50 + 99) / 100 - 1] / 1e3;
  out->p90 = (double)ns[(n * 90 + 99) / 100 - 1] / 1e3;
  out->p99 = (double)ns[(n * 99 + 99) / 100 - 1] / 1e3;
  out->max = (double)ns[n - 1] / 1e3;
}

/* Times n calls of p into ns (NULL: just run them, as a warm-up). */
static void time_probe(const struct bench_probe *p, uint64_t *ns, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t t0 = bench_now_ns();
    p->call(p->ctx);
    if (ns != NULL)
      ns[i] = bench_now_ns() - t0;
  }
}

void bench_latency_interleaved(struct bench_probe *probes, int n, int calls, int warmup) {
  for (int p = 0; p < n; p++)
    time_probe(&probes[p], NULL, warmup);
  for (int i = 0; i < BENCH_LATENCY_SLICES; i++) {
    int from = (int)((int64_t)calls * i / BENCH_LATENCY_SLICES);
    int to = (int)((int64_t)calls * (i + 1) / BENCH_LATENCY_SLICES);
    for (int p = 0; p < n; p++)
      time_probe(&probes[p], probes[p].ns + from, to - from);
  }
}

/* ---- throughput ---- */

static bool stopped(struct bench_tp_run *run) { return atomic_load_explicit(&run->stop, memory_order_relaxed); }

static void *tp_worker(void *arg) {
  struct bench_tp_worker *wk = arg;
  struct bench_tp_run *run = wk->run;
  pthread_barrier_wait(&run->start);
  while (!stopped(run))
    wk->done += run->step(wk);
  wk->finish_ns = bench_now_ns();
  return NULL;
}

double bench_drive(struct bench_tp_run *run, struct bench_tp_worker *wk, int n, double seconds) {
  uint64_t t0, end, total = 0;
  pthread_barrier_init(&run->start, NULL, (unsigned)n + 1);
  atomic_store(&run->stop, false);
  for (int i = 0; i < n; i++) {
    wk[i].run = run;
    wk[i].done = 0;
    if (pthread_create(&wk[i].th, NULL, tp_worker, &wk[i]) != 0)
      bench_die("pthread_create failed");
  }
  pthread_barrier_wait(&run->start);
  t0 = end = bench_now_ns();
  bench_sleep_seconds(seconds);
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

static void ping_window(backend_client *c, int window) {
  for (int i = 0; i < window; i++) {
    int err = backend_client_send(c, "daemon.ping", NULL, 0, NULL);
    if (err != 0)
      bench_die("backend_client_send: %s", backend_strerror(err));
  }
  for (int i = 0; i < window; i++) {
    backend_reply *r;
    int err = backend_client_recv(c, BENCH_CALL_TIMEOUT_MS, &r);
    if (err != 0)
      bench_die("backend_client_recv: %s", backend_strerror(err));
    backend_reply_free(r);
  }
}

static uint64_t ping_step(struct bench_tp_worker *wk) {
  if (wk->run->mode == BENCH_TP_SYNC) {
    ping(wk->handle);
    return 1;
  }
  ping_window(wk->handle, wk->run->window);
  return (uint64_t)wk->run->window;
}

double bench_ping_throughput(const char *socket_path, enum bench_tp_mode mode, int window, int n, double seconds) {
  struct bench_tp_run run = {.mode = mode, .window = window, .step = ping_step};
  struct bench_tp_worker *wk = calloc((size_t)n, sizeof *wk);
  double rps;
  if (wk == NULL)
    bench_die("out of memory");
  for (int i = 0; i < n; i++) {
    backend_client *c;
    int err = backend_client_connect(socket_path, &c);
    if (err != 0)
      bench_die("connect %s: %s", socket_path, backend_strerror(err));
    wk[i].handle = c;
  }
  rps = bench_drive(&run, wk, n, seconds);
  for (int i = 0; i < n; i++)
    backend_client_free(wk[i].handle);
  free(wk);
  return rps;
}

/* Raw: one write of `window` requests (1 when sync), then read `window` responses. */
static uint64_t raw_step(struct bench_tp_worker *wk) {
  const struct bench_wire *w = wk->run->w;
  int window = wk->run->mode == BENCH_TP_SYNC ? 1 : wk->run->window;
  bench_write_full(wk->fd, wk->out, (size_t)window * w->req_len);
  if (bench_read_full(wk->fd, wk->in, BENCH_RAW_CHUNK, (size_t)window * w->resp_len) < 0)
    bench_die("raw echo server closed");
  return (uint64_t)window;
}

/* The raw echo server: one thread, epoll, like the daemon's loop. */

struct raw_conn {
  int fd;
  size_t partial; /* bytes of an incomplete request already read */
  size_t owed;    /* response bytes still to write */
  bool want_out;
};

struct raw_server {
  const struct bench_wire *w;
  struct raw_conn *conns;
  int n, open, epfd;
  char *out; /* responses back to back, BENCH_RAW_CHUNK rounded down to whole responses */
  size_t out_len;
  char in[BENCH_RAW_CHUNK];
  struct bench_server h;
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
      bench_die("raw server write: %s", strerror(errno));
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
      bench_die("epoll_wait: %s", strerror(errno));
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
static struct raw_server *raw_server_start(const struct bench_wire *w, struct bench_tp_worker *wk, int n,
                                           bool process) {
  struct raw_server *s = calloc(1, sizeof *s);
  int *client_fds = calloc((size_t)n, sizeof *client_fds);
  if (s == NULL || client_fds == NULL || (s->conns = calloc((size_t)n, sizeof *s->conns)) == NULL)
    bench_die("out of memory");
  s->w = w;
  s->n = s->open = n;
  s->out_len = BENCH_RAW_CHUNK / w->resp_len * w->resp_len;
  if ((s->out = malloc(s->out_len)) == NULL || (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
    bench_die("raw server: %s", strerror(errno));
  for (size_t off = 0; off < s->out_len; off += w->resp_len)
    memcpy(s->out + off, w->resp, w->resp_len);
  for (int i = 0; i < n; i++) {
    int sv[2];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->conns[i]};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      bench_die("socketpair: %s", strerror(errno));
    wk[i].fd = client_fds[i] = sv[0];
    s->conns[i].fd = sv[1];
    if (set_nonblocking(sv[1]) < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, sv[1], &ev) < 0)
      bench_die("raw server: %s", strerror(errno));
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
static void raw_server_stop(struct raw_server *s, struct bench_tp_worker *wk, int n) {
  for (int i = 0; i < n; i++)
    close(wk[i].fd);
  server_wait(&s->h);
  if (s->h.pid == 0)
    close(s->epfd);
  free(s->out);
  free(s->conns);
  free(s);
}

double bench_raw_throughput(const struct bench_wire *w, enum bench_tp_mode mode, int window, int n, double seconds,
                            bool process) {
  struct bench_tp_run run = {.mode = mode, .window = window, .w = w, .step = raw_step};
  struct bench_tp_worker *wk = calloc((size_t)n, sizeof *wk);
  size_t per = (size_t)(mode == BENCH_TP_SYNC ? 1 : window);
  struct raw_server *s;
  double rps;
  if (wk == NULL)
    bench_die("out of memory");
  s = raw_server_start(w, wk, n, process);
  for (int i = 0; i < n; i++) {
    wk[i].out = bench_xmalloc(per * w->req_len);
    wk[i].in = bench_xmalloc(BENCH_RAW_CHUNK);
    for (size_t j = 0; j < per; j++)
      memcpy(wk[i].out + j * w->req_len, w->req, w->req_len);
  }
  rps = bench_drive(&run, wk, n, seconds);
  raw_server_stop(s, wk, n);
  for (int i = 0; i < n; i++) {
    free(wk[i].out);
    free(wk[i].in);
  }
  free(wk);
  return rps;
}

/* ---- the table ---- */

/* Median over runs, and the spread: half the min-max range relative to the median, in %. */
static void summarise_runs(const double *v, int n, double *med, double *spread) {
  double lo = v[0], hi = v[0];
  for (int i = 1; i < n; i++) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  *med = bench_median(v, n);
  *spread = *med > 0 ? (hi - lo) / 2 / *med * 100 : 0.0;
}

double bench_row_ratio(const struct bench_row *row, int num, int den, int runs) {
  double ratio[BENCH_MAX_RUNS];
  for (int i = 0; i < runs; i++)
    ratio[i] = row->v[den][i] > 0 ? row->v[num][i] / row->v[den][i] : 0;
  return bench_median(ratio, runs);
}

void bench_print_table(const struct bench_table *t, const struct bench_row *rows, int nrows, int runs) {
  printf("\n  %-30s", "test");
  for (int c = 0; c < t->ncols; c++)
    printf(" %12s %7s", t->cols[c], "+-");
  for (int k = 0; k < t->nratios; k++)
    printf(" %8s", t->ratios[k].name);
  printf("\n");
  for (int i = 0; i < nrows; i++) {
    const struct bench_row *row = &rows[i];
    printf("  %-30s", row->name);
    for (int c = 0; c < t->ncols; c++) {
      double med, spread;
      if (row->absent[c]) {
        printf(" %12s %7s", "-", "");
        continue;
      }
      summarise_runs(row->v[c], runs, &med, &spread);
      printf(" %12.*f %6.0f%%", row->decimals, med, spread);
    }
    for (int k = 0; k < t->nratios; k++) {
      if (row->absent[t->ratios[k].num] || row->absent[t->ratios[k].den])
        printf(" %8s", "-");
      else
        printf(" %7.2fx", bench_row_ratio(row, t->ratios[k].num, t->ratios[k].den, runs));
    }
    printf("\n");
  }
}

/* ---- the machine ---- */

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

void bench_load_average(char *buf, size_t len) {
  FILE *f = fopen("/proc/loadavg", "r");
  snprintf(buf, len, "?");
  if (f == NULL)
    return;
  if (fgets(buf, (int)len, f) != NULL)
    buf[strcspn(buf, "\n")] = '\0';
  fclose(f);
}

void bench_print_machine(void) {
  char date[64], cpu[128];
  time_t t = time(NULL);
  struct utsname u;
  strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&t));
  cpu_model(cpu, sizeof cpu);
  uname(&u);
  printf("  %s; %ld CPUs (%s); %s %s; build type %s\n", date, sysconf(_SC_NPROCESSORS_ONLN), cpu, u.sysname,
         u.release, BENCH_BUILDTYPE);
}
