/*
 * What the benchmarks share (bench-ping, bench-dispatch): options, starting and stopping a
 * daemon in a temporary directory (also on SIGINT/SIGTERM), the raw Unix-socket baselines
 * (a blocking echo for latency, an epoll echo server for throughput), interleaved latency
 * sampling, the throughput harness, and the table of medians over runs. See bench/README.md.
 *
 * Errors are fatal: bench_die() prints "<program>: ..." and exits; atexit stops the daemon.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_MAX_RUNS 64
#define BENCH_MAX_PATH 4096  /* <limits.h> is out of reach: proto/limits.h shadows it (see proto/meson.build) */
#define BENCH_WIRE_MSGID 1000u /* a representative msgid: most measured ids take 3 bytes (uint16) */
#define BENCH_CALL_TIMEOUT_MS 10000
#define BENCH_RAW_CHUNK 65536
#define BENCH_LATENCY_SLICES 10 /* the probes of a latency run alternate in this many slices */

/* ---- small helpers ---- */

/* Names the program in messages and its temporary directory; call first. */
void bench_init(const char *prog);
const char *bench_prog(void);

uint64_t bench_now_ns(void);
__attribute__((noreturn, format(printf, 1, 2))) void bench_die(const char *fmt, ...);
void bench_write_full(int fd, const void *buf, size_t len);
/* Reads exactly len bytes, at most cap at a time, into buf (reused). 0, or -1 on EOF/error. */
int bench_read_full(int fd, char *buf, size_t cap, size_t len);
/* Median of n <= BENCH_MAX_RUNS values (sorts a copy). */
double bench_median(const double *v, int n);
void bench_sleep_seconds(double s);
void *bench_xmalloc(size_t n);
/* A connected blocking Unix stream socket (close-on-exec). */
int bench_connect_unix(const char *path);
void bench_pin_to_cpu(int cpu);
/* "\r  run 2/5 ..." on a terminal; bench_progress(0, 0) clears the line. */
void bench_progress(int run, int runs);

/* ---- options ---- */

struct bench_config {
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
  int mib;                 /* size of the large array, MiB */
  int big_calls;           /* large calls per run */
};

/* Options a program takes besides the ones every benchmark has (--daemon, --quick, --runs,
 * --calls, --seconds, --clients, --raw-process, --cpu, --help). */
enum {
  BENCH_OPT_SOCKET = 1u << 0,    /* --socket PATH */
  BENCH_OPT_WINDOW = 1u << 1,    /* --window N */
  BENCH_OPT_MIB = 1u << 2,       /* --mib N */
  BENCH_OPT_BIG_CALLS = 1u << 3, /* --big-calls N */
};

/* Parses argv into cfg (exits on --help or a bad option); intro is the usage's second line. */
void bench_parse_options(int argc, char **argv, unsigned opts, const char *intro, struct bench_config *cfg);

/* ---- the daemon, in a temporary directory removed at exit ---- */

/* Creates /tmp/<program>.XXXXXX (once) and arranges for its removal at exit and on SIGINT/SIGTERM. */
const char *bench_tmpdir(void);
/* Creates the directory <tmpdir>/rel (mode 0755), removed at exit; returns its path. */
const char *bench_tmp_mkdir(const char *rel);
/* Writes the file <tmpdir>/rel (mode 0644), removed at exit; returns its path. */
const char *bench_tmp_write(const char *rel, const void *data, size_t len);
/* The path <tmpdir>/rel of a file the caller creates (a socket, say), removed at exit. */
const char *bench_tmp_file(const char *rel);

/*
 * Starts bin with --socket and --cache in the temporary directory, --log-level warning and
 * extra_args (NULL-terminated; NULL: none), and waits until it accepts connections.
 * Returns the socket path.
 */
const char *bench_daemon_start(const char *bin, const char *const *extra_args);
pid_t bench_daemon_pid(void);
/* <build dir>/daemon/backendd, the build dir being the parent of this program's directory. */
const char *bench_default_daemon_bin(void);

/* ---- the wire: one request and its response, exact bytes ---- */

struct bench_wire {
  char *req, *resp; /* malloc'd (bench_capture_wire), or the caller's */
  size_t req_len, resp_len;
};

/*
 * Captures the daemon's real response to one request over a raw connection: first writes
 * the n_pre requests in pre (their answers are read and skipped: a host.declare, say), then
 * the request [0, BENCH_WIRE_MSGID, method, params] (params: packed bytes) into w->req, and
 * reads its response into w->resp, which must be a result. label names it in errors.
 */
void bench_capture_wire(const char *socket_path, const char *pre, size_t pre_len, int n_pre, const char *method,
                        const void *params, size_t params_len, const char *label, struct bench_wire *w);
void bench_wire_free(struct bench_wire *w);

/* ---- raw echo servers: a thread, or a forked process like the daemon ---- */

struct bench_server {
  pthread_t th;
  pid_t pid; /* > 0: a process */
};

/* The raw latency baseline: a socketpair with a blocking echo server on the far end that
 * answers every request-sized message with a response-sized one. */
struct bench_raw_echo {
  int fd; /* ours */
  int server_fd;
  const struct bench_wire *w;
  struct bench_server h;
};

void bench_raw_echo_start(struct bench_raw_echo *e, const struct bench_wire *w, bool process);
void bench_raw_echo_stop(struct bench_raw_echo *e);
/* One raw round trip: write the request, read the response. */
void bench_raw_roundtrip(int fd, const struct bench_wire *w);
/* bench_raw_roundtrip on a struct bench_raw_echo, as a bench_probe's call. */
void bench_raw_probe(void *echo);

/* ---- daemon.ping through libbackend-client ---- */

struct backend_client;
/* One synchronous daemon.ping (fatal on error); ctx is a backend_client, as a bench_probe's call. */
void bench_ping_probe(void *client);

/* ---- latency ---- */

struct bench_latency {
  double p50, p90, p99, max; /* microseconds */
};

/* Nearest-rank percentiles of n samples (sorted in place). */
void bench_summarise(uint64_t *ns, size_t n, struct bench_latency *out);

/* One thing whose round trips are timed. */
struct bench_probe {
  void (*call)(void *ctx);
  void *ctx;
  uint64_t *ns; /* calls samples */
};

/*
 * Runs warmup calls of each probe, then `calls` timed calls of each, the probes taking turns
 * in BENCH_LATENCY_SLICES slices so that all meet the same background load.
 */
void bench_latency_interleaved(struct bench_probe *probes, int n, int calls, int warmup);

/* ---- throughput ---- */

enum bench_tp_mode { BENCH_TP_SYNC, BENCH_TP_PIPELINED };

struct bench_tp_worker;

struct bench_tp_run {
  enum bench_tp_mode mode;
  int window;
  const struct bench_wire *w;
  uint64_t (*step)(struct bench_tp_worker *wk); /* one call or window; returns requests answered */
  pthread_barrier_t start;
  atomic_bool stop;
};

struct bench_tp_worker {
  pthread_t th;
  struct bench_tp_run *run;
  void *handle;        /* the program's: a client, a host, ... */
  int fd;              /* raw workers */
  char *out, *in;      /* raw workers */
  uint64_t done;       /* requests answered */
  uint64_t finish_ns;
};

/* Runs n workers calling run->step until `seconds` after a common start; returns requests per second. */
double bench_drive(struct bench_tp_run *run, struct bench_tp_worker *wk, int n, double seconds);

/*
 * daemon.ping from n threads, one client handle each: sync (call in a loop) or pipelined
 * (send `window` requests, then receive them all). Returns requests per second.
 */
double bench_ping_throughput(const char *socket_path, enum bench_tp_mode mode, int window, int n, double seconds);

/*
 * The raw throughput baseline: n threads over socketpairs against one single-threaded epoll
 * echo server (like the daemon's loop); sync: write one request, read one response;
 * pipelined: write `window` requests at once, then read `window` responses.
 */
double bench_raw_throughput(const struct bench_wire *w, enum bench_tp_mode mode, int window, int n, double seconds,
                            bool process);

/* ---- the table: medians over runs ---- */

#define BENCH_MAX_COLS 3
#define BENCH_MAX_RATIOS 2

struct bench_row {
  char name[64];
  int decimals;
  bool absent[BENCH_MAX_COLS]; /* printed as "-" */
  double v[BENCH_MAX_COLS][BENCH_MAX_RUNS];
};

struct bench_table {
  int ncols, nratios;
  const char *cols[BENCH_MAX_COLS];
  struct {
    const char *name;
    int num, den; /* columns: median over runs of num / den */
  } ratios[BENCH_MAX_RATIOS];
};

/* Median over runs of row->v[num] / row->v[den], each run against its own baseline. */
double bench_row_ratio(const struct bench_row *row, int num, int den, int runs);
/* Cells: median over runs and +- half the min-max range as % of it; then the ratios. */
void bench_print_table(const struct bench_table *t, const struct bench_row *rows, int nrows, int runs);

/* ---- the machine ---- */

/* "  2026-11-22 04:06; 2 CPUs (model); Linux 6.1; build type release" */
void bench_print_machine(void);
/* The first line of /proc/loadavg, or "?". */
void bench_load_average(char *buf, size_t len);

#endif
