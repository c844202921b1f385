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
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/client.h>

#include "bench-common.h"

#define TARGET_LATENCY_RATIO 1.5
#define TARGET_PIPELINED_RPS 300000.0

enum { COL_LIB, COL_RAW };

/*
 * One latency run: backendd and raw calls alternate in BENCH_LATENCY_SLICES slices, so that
 * both meet the same background load. lib_ns and raw_ns hold cfg->calls samples each.
 */
static void measure_latency(const char *socket_path, const struct bench_wire *w, const struct bench_config *cfg,
                            uint64_t *lib_ns, uint64_t *raw_ns, struct bench_latency *lib, struct bench_latency *raw) {
  struct bench_raw_echo e;
  backend_client *c;
  int err = backend_client_connect(socket_path, &c);
  if (err != 0)
    bench_die("connect %s: %s", socket_path, backend_strerror(err));
  bench_raw_echo_start(&e, w, cfg->raw_process);
  bench_latency_interleaved((struct bench_probe[]){{bench_ping_probe, c, lib_ns}, {bench_raw_probe, &e, raw_ns}}, 2,
                            cfg->calls, cfg->warmup);
  bench_raw_echo_stop(&e);
  backend_client_free(c);
  bench_summarise(lib_ns, (size_t)cfg->calls, lib);
  bench_summarise(raw_ns, (size_t)cfg->calls, raw);
}

/* ---- the table ---- */

enum row_id { R_P50, R_P90, R_P99, R_MAX, R_SYNC_1, R_SYNC_N, R_PIPE_1, R_PIPE_N, N_ROWS };

static const struct bench_table table = {
    .ncols = 2, .cols = {"backendd", "raw socket"}, .nratios = 1, .ratios = {{"ratio", COL_LIB, COL_RAW}}};

static void name_rows(struct bench_row *rows, const struct bench_config *cfg) {
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
static void run_once(int r, const char *socket_path, const struct bench_wire *w, const struct bench_config *cfg,
                     struct bench_row *rows, uint64_t *lib_ns, uint64_t *raw_ns) {
  static const struct {
    enum row_id row;
    enum bench_tp_mode mode;
    bool many;
  } tp[] = {{R_SYNC_1, BENCH_TP_SYNC, false}, {R_SYNC_N, BENCH_TP_SYNC, true},
            {R_PIPE_1, BENCH_TP_PIPELINED, false}, {R_PIPE_N, BENCH_TP_PIPELINED, true}};
  struct bench_latency a, b;
  measure_latency(socket_path, w, cfg, lib_ns, raw_ns, &a, &b);
  rows[R_P50].v[COL_LIB][r] = a.p50, rows[R_P50].v[COL_RAW][r] = b.p50;
  rows[R_P90].v[COL_LIB][r] = a.p90, rows[R_P90].v[COL_RAW][r] = b.p90;
  rows[R_P99].v[COL_LIB][r] = a.p99, rows[R_P99].v[COL_RAW][r] = b.p99;
  rows[R_MAX].v[COL_LIB][r] = a.max, rows[R_MAX].v[COL_RAW][r] = b.max;
  for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++) {
    int n = tp[i].many ? cfg->clients : 1;
    rows[tp[i].row].v[COL_LIB][r] = bench_ping_throughput(socket_path, tp[i].mode, cfg->window, n, cfg->seconds);
    rows[tp[i].row].v[COL_RAW][r] = bench_raw_throughput(w, tp[i].mode, cfg->window, n, cfg->seconds, cfg->raw_process);
  }
}

static void print_targets(const struct bench_row *rows, int runs) {
  double ratio = bench_row_ratio(&rows[R_P50], COL_LIB, COL_RAW, runs);
  double p1 = bench_median(rows[R_PIPE_1].v[COL_LIB], runs), pn = bench_median(rows[R_PIPE_N].v[COL_LIB], runs);
  printf("\n  target: sync latency p50 <= %.1fx raw        %.2fx: %s\n", TARGET_LATENCY_RATIO, ratio,
         ratio <= TARGET_LATENCY_RATIO ? "met" : "NOT met");
  printf("  target: pipelined >= %.0f req/s         1 client %.0f: %s, %s: %.0f: %s\n", TARGET_PIPELINED_RPS, p1,
         p1 >= TARGET_PIPELINED_RPS ? "met" : "NOT met", rows[R_PIPE_N].name + strlen("pipelined req/s, "), pn,
         pn >= TARGET_PIPELINED_RPS ? "met" : "NOT met");
}

static void print_header(const struct bench_config *cfg, const struct bench_wire *w, const char *socket_path) {
  char load[64];
  bench_load_average(load, sizeof load);
  printf("bench-ping: daemon.ping through libbackend-client beside a raw Unix-socket ping-pong\n");
  bench_print_machine();
  if (cfg->socket_path != NULL)
    printf("  daemon: already running on %s\n", socket_path);
  else
    printf("  daemon: %s (pid %d) on %s\n", cfg->daemon_bin, (int)bench_daemon_pid(), socket_path);
  printf("  ping request %zu bytes, response %zu bytes (as captured for msgid %u)\n", w->req_len, w->resp_len,
         BENCH_WIRE_MSGID);
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

int main(int argc, char **argv) {
  static struct bench_row rows[N_ROWS];
  static struct bench_wire w;
  static const unsigned char no_params[] = {0x90}; /* [] */
  struct bench_config cfg;
  const char *socket_path;
  uint64_t *lib_ns, *raw_ns;
  bench_init("bench-ping");
  bench_parse_options(argc, argv, BENCH_OPT_SOCKET | BENCH_OPT_WINDOW,
                      "Measure daemon.ping through libbackend-client beside a raw Unix-socket baseline.", &cfg);
  signal(SIGPIPE, SIG_IGN); /* a raw peer going away must be an error, not a signal */
  if (cfg.cpu >= 0)
    bench_pin_to_cpu(cfg.cpu); /* before the daemon and any thread start: they inherit it */
  socket_path = cfg.socket_path != NULL ? cfg.socket_path : bench_daemon_start(cfg.daemon_bin, NULL);
  bench_capture_wire(socket_path, NULL, 0, 0, "daemon.ping", no_params, sizeof no_params, "ping", &w);
  print_header(&cfg, &w, socket_path);
  name_rows(rows, &cfg);
  lib_ns = bench_xmalloc((size_t)cfg.calls * sizeof *lib_ns);
  raw_ns = bench_xmalloc((size_t)cfg.calls * sizeof *raw_ns);
  for (int r = 0; r < cfg.runs; r++) {
    bench_progress(r + 1, cfg.runs);
    run_once(r, socket_path, &w, &cfg, rows, lib_ns, raw_ns);
  }
  bench_progress(0, 0);
  bench_print_table(&table, rows, N_ROWS, cfg.runs);
  print_targets(rows, cfg.runs);
  free(lib_ns);
  free(raw_ns);
  bench_wire_free(&w);
  return 0;
}
