/*
 * bench-dispatch: a backend function dispatched through libbackend-client
 * (backend_host_call -> backendd -> a native adapter on a daemon worker thread), beside
 * daemon.ping through the same library and a raw Unix-socket ping-pong, all measured in the
 * same run. See bench/README.md.
 *
 *   latency     one thread: backend_host_call(noop) on backend "bench_noop",
 *               backend_client_call("daemon.ping") and a raw round trip of the dispatch's
 *               message sizes take turns; p50/p90/p99.
 *   throughput  N threads, one backend_host each (a handle serialises its connection), calling
 *               noop for a fixed time, beside N clients calling daemon.ping and N raw sync
 *               ping-pongs against a single-threaded epoll echo server.
 *   bandwidth   sum(data) of a 64 MiB float32 array packed once, timed end to end, beside the
 *               same bytes written through a socketpair to a thread that answers a few bytes.
 *
 * The adapter (bench_adapter.so: BENCH_ADAPTER, else the build's) is laid out in a
 * temporary plugin directory as a distribution, and the daemon started with --plugin-path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <backend/client.h>
#include <backend/host.h>
#include <backend/ndarray.h>

#include "bench-adapter.h"
#include "bench-common.h"
#include "frame.h"
#include "message.h"

#ifndef BENCH_ADAPTER_PATH
#define BENCH_ADAPTER_PATH "bench/bench_adapter.so"
#endif

#define TARGET_RATIO 1.3     /* dispatch p50 / daemon.ping p50 */
#define BIG_TIMEOUT_MS 120000
#define MAX_ADAPTER_SIZE (64 << 20)

enum { COL_DISPATCH, COL_PING, COL_RAW };
enum row_id { R_P50, R_P90, R_P99, R_TP, R_BW, N_ROWS };

static const struct bench_table table = {
    .ncols = 3,
    .cols = {"dispatch", "daemon.ping", "raw socket"},
    .nratios = 2,
    .ratios = {{"vs ping", COL_DISPATCH, COL_PING}, {"vs raw", COL_DISPATCH, COL_RAW}},
};

/* ---- the host: bench_host with noop() and sum(data), and trivial cpu implementations ---- */

static int cpu_noop(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len) {
  return msgpack_pack_nil(out) == 0 ? 0 : (snprintf(why, why_len, "out of memory"), -1);
}

static int cpu_sum(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len) {
  const msgpack_object *data = backend_args_get(a, "data");
  struct backend_ndarray arr;
  if (data == NULL || backend_ndarray_parse(data, &arr) < 0 || arr.dtype != BACKEND_DTYPE_FLOAT32) {
    snprintf(why, why_len, "data must be a float32 ndarray");
    return -1;
  }
  return msgpack_pack_double(out, bench_sum_f32(&arr)) == 0 ? 0 : (snprintf(why, why_len, "out of memory"), -1);
}

static const struct backend_host_function host_functions[] = {
    {"noop", bench_noop_params, "Do nothing; return None.\n", cpu_noop},
    {"sum", bench_sum_params, "The float64 sum of a float32 array.\n", cpu_sum},
    {NULL, NULL, NULL, NULL},
};

static const struct backend_trusted host_trusted[] = {
    {.name = BENCH_BACKEND, .package = BENCH_DIST},
    {.name = NULL},
};

static const struct backend_host_decl host_decl = {
    .name = BENCH_HOST,
    .functions = host_functions,
    .trusted = host_trusted,
};

static backend_host *host_open(const char *socket_path) {
  backend_host *h;
  char why[256] = "";
  int err = backend_host_new(&host_decl, socket_path, &h, why, sizeof why);
  if (err != 0)
    bench_die("backend_host_new: %s: %s", backend_strerror(err), why);
  return h;
}

__attribute__((noreturn)) static void call_failed(const char *what, int err, backend_result *r) {
  if (r != NULL)
    bench_die("%s: %s: %s: %s", what, backend_strerror(err), r->error_code ? r->error_code : "?",
              r->error_message ? r->error_message : "?");
  bench_die("%s: %s", what, backend_strerror(err));
}

static void call_noop(backend_host *h) {
  backend_result *r;
  int err = backend_host_call(h, "noop", NULL, 0, NULL, 0, BENCH_BACKEND, BENCH_CALL_TIMEOUT_MS, &r);
  if (err != 0)
    call_failed("noop()", err, r);
  backend_result_free(r);
}

static void noop_probe(void *h) { call_noop(h); }

/* ---- the plugin directory and the daemon ---- */

static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *data;
  if (fd < 0 || fstat(fd, &st) < 0)
    bench_die("cannot read the bench adapter %s: %s (set BENCH_ADAPTER)", path, strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size > MAX_ADAPTER_SIZE)
    bench_die("the bench adapter %s is not a regular file of at most 64 MiB", path);
  data = bench_xmalloc((size_t)st.st_size);
  if (bench_read_full(fd, data, (size_t)st.st_size, (size_t)st.st_size) < 0)
    bench_die("cannot read %s: %s", path, strerror(errno));
  close(fd);
  *len = (size_t)st.st_size;
  return data;
}

/* <tmp>/plugins/{bench-noop-1.0.dist-info/{METADATA,entry_points.txt}, bench_noop/adapter.so} */
static const char *lay_out_plugins(const char *adapter) {
  static const char metadata[] = "Metadata-Version: 2.1\nName: " BENCH_DIST "\nVersion: 1.0\n";
  static const char entry_points[] = "[" BENCH_HOST ".backends]\n" BENCH_BACKEND " = " BENCH_MODULE "\n";
  size_t len;
  char *so = read_file(adapter, &len);
  const char *dir = bench_tmp_mkdir("plugins");
  bench_tmp_mkdir("plugins/" BENCH_DIST "-1.0.dist-info");
  bench_tmp_write("plugins/" BENCH_DIST "-1.0.dist-info/METADATA", metadata, strlen(metadata));
  bench_tmp_write("plugins/" BENCH_DIST "-1.0.dist-info/entry_points.txt", entry_points, strlen(entry_points));
  bench_tmp_mkdir("plugins/bench_noop");
  bench_tmp_write("plugins/bench_noop/adapter.so", so, len);
  free(so);
  return dir;
}

/* One call of each function, checked: the adapter ran, no fallback, the right answers. */
static void check_dispatch(const char *socket_path) {
  static const float v[] = {1.0f, 2.0f, 3.5f, -0.25f, 8.0f};
  const uint64_t shape[1] = {5};
  backend_host *h = host_open(socket_path);
  backend_result *r;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err = backend_host_call(h, "noop", NULL, 0, NULL, 0, BENCH_BACKEND, BENCH_CALL_TIMEOUT_MS, &r);
  if (err != 0)
    call_failed("noop() on " BENCH_BACKEND, err, r);
  if (strcmp(r->backend, BENCH_BACKEND) != 0 || r->fallback != NULL || r->value.type != MSGPACK_OBJECT_NIL)
    bench_die("noop() ran on %s (fallback: %s), answering type %d, not on " BENCH_BACKEND " with nil", r->backend,
              r->fallback ? r->fallback : "none", (int)r->value.type);
  for (size_t i = 0; i < r->n_warnings; i++)
    fprintf(stderr, "%s: note: noop() warned: %s\n", bench_prog(), r->warnings[i]);
  backend_result_free(r);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 1, shape, v);
  err = backend_host_call(h, "sum", sb.data, sb.size, NULL, 0, BENCH_BACKEND, BENCH_CALL_TIMEOUT_MS, &r);
  if (err != 0)
    call_failed("sum() on " BENCH_BACKEND, err, r);
  if (r->fallback != NULL || r->value.type != MSGPACK_OBJECT_FLOAT64 || r->value.via.f64 != 14.25)
    bench_die("sum([1, 2, 3.5, -0.25, 8]) on %s answered %s%g (fallback: %s), not 14.25", r->backend,
              r->value.type == MSGPACK_OBJECT_FLOAT64 ? "" : "a non-float ", r->value.via.f64,
              r->fallback ? r->fallback : "none");
  backend_result_free(r);
  msgpack_sbuffer_destroy(&sb);
  backend_host_free(h);
}

/* ---- the exact bytes of one dispatched noop(): recorded by a relay, then captured ---- */

/*
 * A relay between one backend_host and the daemon that keeps every byte it passes on, so
 * that the raw baseline moves messages of exactly the sizes the host library sends and gets.
 */
struct relay {
  int lfd;
  const char *target;
  pthread_t th;
  pthread_mutex_t lock;
  msgpack_sbuffer seen[2]; /* 0: host -> daemon, 1: daemon -> host */
};

static void *relay_loop(void *arg) {
  struct relay *r = arg;
  char buf[65536];
  int fds[2];
  struct pollfd p[2];
  if ((fds[0] = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
    bench_die("relay: accept: %s", strerror(errno));
  fds[1] = bench_connect_unix(r->target);
  p[0] = (struct pollfd){.fd = fds[0], .events = POLLIN};
  p[1] = (struct pollfd){.fd = fds[1], .events = POLLIN};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      bench_die("relay: poll: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
      ssize_t n;
      if (p[i].revents == 0)
        continue;
      if ((n = read(fds[i], buf, sizeof buf)) <= 0)
        goto out; /* the host is gone (or the daemon: the call will say so) */
      pthread_mutex_lock(&r->lock);
      msgpack_sbuffer_write(&r->seen[i], buf, (size_t)n);
      pthread_mutex_unlock(&r->lock);
      bench_write_full(fds[1 - i], buf, (size_t)n);
    }
  }
out:
  close(fds[0]);
  close(fds[1]);
  return NULL;
}

static void relay_start(struct relay *r, const char *target, const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memset(r, 0, sizeof *r);
  r->target = target;
  pthread_mutex_init(&r->lock, NULL);
  msgpack_sbuffer_init(&r->seen[0]);
  msgpack_sbuffer_init(&r->seen[1]);
  if (strlen(path) >= sizeof addr.sun_path)
    bench_die("relay socket path too long");
  strcpy(addr.sun_path, path);
  if ((r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
      bind(r->lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(r->lfd, 1) < 0)
    bench_die("relay socket %s: %s", path, strerror(errno));
  if (pthread_create(&r->th, NULL, relay_loop, r) != 0)
    bench_die("pthread_create failed");
}

/* Bytes each way so far. */
static void relay_mark(struct relay *r, size_t mark[2]) {
  pthread_mutex_lock(&r->lock);
  mark[0] = r->seen[0].size;
  mark[1] = r->seen[1].size;
  pthread_mutex_unlock(&r->lock);
}

/* The messages in [from, to) of a recorded stream, each handed to fn (false: stop). */
static int each_message(const char *data, size_t from, size_t to,
                        bool (*fn)(const char *msg, size_t len, const struct proto_msg *m, void *ctx), void *ctx) {
  struct proto_limits limits;
  struct proto_frame f;
  const char *msg;
  size_t len, room;
  char *buf;
  int n = 0, r;
  if (from == to)
    return 0;
  proto_limits_default(&limits);
  proto_frame_init(&f, &limits);
  if (proto_frame_reserve(&f, to - from, &buf, &room) < 0 || room < to - from)
    bench_die("out of memory");
  memcpy(buf, data + from, to - from);
  proto_frame_commit(&f, to - from);
  while ((r = proto_frame_next(&f, &msg, &len)) == 1) {
    msgpack_zone zone;
    msgpack_object o;
    struct proto_msg m;
    bool go_on;
    msgpack_zone_init(&zone, 1024);
    if (proto_decode(msg, len, &zone, &o) < 0 || proto_msg_parse(&o, &m, NULL) < 0)
      bench_die("the host library sent or received a message that does not parse");
    n++;
    go_on = fn(msg, len, &m, ctx);
    msgpack_zone_destroy(&zone);
    if (!go_on)
      break;
  }
  if (r < 0 || proto_frame_pending(&f) > 0)
    bench_die("a recorded stream holds a partial message (%d)", r);
  proto_frame_free(&f);
  return n;
}

static bool is_call(const struct proto_msg *m) {
  return m->type == PROTO_REQUEST && m->method_len == strlen("backend.call") &&
         memcmp(m->method, "backend.call", m->method_len) == 0;
}

/* The first call's requests but backend.call (a host.declare): replayed before the capture. */
struct pre {
  msgpack_sbuffer bytes;
  int n;
};

static bool collect_pre(const char *msg, size_t len, const struct proto_msg *m, void *ctx) {
  struct pre *pre = ctx;
  if (m->type == PROTO_REQUEST && !is_call(m)) {
    msgpack_sbuffer_write(&pre->bytes, msg, len);
    pre->n++;
  }
  return true;
}

/* The second call's backend.call: its params [map], re-packed (and checked to re-pack identically). */
struct call_msg {
  msgpack_sbuffer params;
  size_t len;
  bool same;
};

static bool find_call(const char *msg, size_t len, const struct proto_msg *m, void *ctx) {
  struct call_msg *c = ctx;
  msgpack_sbuffer again;
  msgpack_packer pk;
  if (!is_call(m) || m->params == NULL)
    return true;
  msgpack_packer_init(&pk, &c->params, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1); /* params travel as [map] */
  msgpack_pack_object(&pk, *m->params);
  msgpack_sbuffer_init(&again);
  msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
  proto_pack_request_begin(&pk, m->msgid, m->method, m->method_len);
  msgpack_sbuffer_write(&again, c->params.data, c->params.size);
  c->len = len;
  c->same = again.size == len && memcmp(again.data, msg, len) == 0;
  msgpack_sbuffer_destroy(&again);
  return false;
}

static bool count_any(const char *msg, size_t len, const struct proto_msg *m, void *ctx) { return true; }

struct dispatch_wire {
  struct bench_wire w;   /* noop(): request and response at msgid BENCH_WIRE_MSGID */
  int requests_per_call; /* what one noop() call sends once the host is declared */
  int responses_per_call;
  size_t call_len;       /* the recorded backend.call, at its own msgid */
  bool repacks;          /* it re-packs to identical bytes */
};

static void capture_dispatch_wire(const char *socket_path, struct dispatch_wire *dw) {
  struct relay r;
  struct pre pre = {.n = 0};
  struct call_msg call = {.len = 0};
  size_t m0[2], m1[2], m2[2];
  const char *path = bench_tmp_file("relay.sock");
  backend_host *h;
  relay_start(&r, socket_path, path);
  h = host_open(path);
  relay_mark(&r, m0);
  call_noop(h); /* connects and declares the host */
  relay_mark(&r, m1);
  call_noop(h); /* what every further call sends */
  relay_mark(&r, m2);
  backend_host_free(h);
  pthread_join(r.th, NULL);
  close(r.lfd);
  unlink(path);
  msgpack_sbuffer_init(&pre.bytes);
  msgpack_sbuffer_init(&call.params);
  each_message(r.seen[0].data, m0[0], m1[0], collect_pre, &pre);
  dw->requests_per_call = each_message(r.seen[0].data, m1[0], m2[0], count_any, NULL);
  dw->responses_per_call = each_message(r.seen[1].data, m1[1], m2[1], count_any, NULL);
  each_message(r.seen[0].data, m1[0], m2[0], find_call, &call);
  if (call.len == 0)
    bench_die("noop() sent no backend.call request with parameters");
  dw->call_len = call.len;
  dw->repacks = call.same;
  bench_capture_wire(socket_path, pre.bytes.data, pre.bytes.size, pre.n, "backend.call", call.params.data,
                     call.params.size, "noop", &dw->w);
  msgpack_sbuffer_destroy(&pre.bytes);
  msgpack_sbuffer_destroy(&call.params);
  msgpack_sbuffer_destroy(&r.seen[0]);
  msgpack_sbuffer_destroy(&r.seen[1]);
  pthread_mutex_destroy(&r.lock);
}

/* ---- latency ---- */

struct samples {
  uint64_t *ns[3]; /* COL_* */
};

static void measure_latency(const char *socket_path, const struct bench_wire *w, const struct bench_config *cfg,
                            const struct samples *s, struct bench_latency out[3]) {
  struct bench_raw_echo e;
  backend_client *c;
  backend_host *h = host_open(socket_path);
  int err = backend_client_connect(socket_path, &c);
  if (err != 0)
    bench_die("connect %s: %s", socket_path, backend_strerror(err));
  bench_raw_echo_start(&e, w, cfg->raw_process);
  bench_latency_interleaved((struct bench_probe[]){{noop_probe, h, s->ns[COL_DISPATCH]},
                                                   {bench_ping_probe, c, s->ns[COL_PING]},
                                                   {bench_raw_probe, &e, s->ns[COL_RAW]}},
                            3, cfg->calls, cfg->warmup);
  bench_raw_echo_stop(&e);
  backend_client_free(c);
  backend_host_free(h);
  for (int i = 0; i < 3; i++)
    bench_summarise(s->ns[i], (size_t)cfg->calls, &out[i]);
}

/* ---- throughput ---- */

static uint64_t noop_step(struct bench_tp_worker *wk) {
  call_noop(wk->handle);
  return 1;
}

/* n threads, one backend_host each (already connected and declared), calling noop(). */
static double dispatch_throughput(const char *socket_path, int n, double seconds) {
  struct bench_tp_run run = {.mode = BENCH_TP_SYNC, .window = 1, .step = noop_step};
  struct bench_tp_worker *wk = calloc((size_t)n, sizeof *wk);
  double cps;
  if (wk == NULL)
    bench_die("out of memory");
  for (int i = 0; i < n; i++) {
    wk[i].handle = host_open(socket_path);
    call_noop(wk[i].handle);
  }
  cps = bench_drive(&run, wk, n, seconds);
  for (int i = 0; i < n; i++)
    backend_host_free(wk[i].handle);
  free(wk);
  return cps;
}

/* ---- bandwidth ---- */

struct big {
  int mib;
  msgpack_sbuffer args; /* [ndarray float32 (mib MiB)] */
  double expect;
  struct bench_wire raw; /* the args' bytes, answered by a small response */
};

static void make_big(struct big *b, int mib, const struct bench_wire *small) {
  uint64_t count = ((uint64_t)mib << 20) / sizeof(float);
  float *data = bench_xmalloc((size_t)count * sizeof *data);
  struct backend_ndarray a;
  msgpack_packer pk;
  for (uint64_t i = 0; i < count; i++)
    data[i] = (float)(i % 1000) * 0.25f - 100.0f;
  a = (struct backend_ndarray){.dtype = BACKEND_DTYPE_FLOAT32, .count = count, .data = data};
  b->mib = mib;
  b->expect = bench_sum_f32(&a);
  msgpack_sbuffer_init(&b->args);
  msgpack_packer_init(&pk, &b->args, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  if (backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 1, &count, data) != 0)
    bench_die("cannot pack a %d MiB array", mib);
  free(data);
  b->raw = (struct bench_wire){.req = b->args.data, .req_len = b->args.size, .resp = small->resp,
                               .resp_len = small->resp_len};
}

/* One sum() of the big array on backend; returns the wall time and the time in the function. */
static uint64_t call_sum(backend_host *h, const struct big *b, const char *backend, uint64_t *backend_ns) {
  backend_result *r;
  uint64_t t0 = bench_now_ns(), t;
  int err = backend_host_call(h, "sum", b->args.data, b->args.size, NULL, 0, backend, BIG_TIMEOUT_MS, &r);
  t = bench_now_ns() - t0;
  if (err != 0)
    call_failed("sum() of the big array", err, r);
  if (r->value.type != MSGPACK_OBJECT_FLOAT64 || fabs(r->value.via.f64 - b->expect) > 1e-9 * fabs(b->expect) ||
      (strcmp(backend, "cpu") != 0 && r->fallback != NULL))
    bench_die("sum() of the big array on %s answered %g (fallback: %s), not %g", r->backend, r->value.via.f64,
              r->fallback ? r->fallback : "none", b->expect);
  if (backend_ns != NULL)
    *backend_ns = r->backend_ns;
  backend_result_free(r);
  return t;
}

struct big_figures {
  double dispatch, raw, cpu; /* MiB/s, median of the run's calls */
  double call_ms, backend_ms; /* dispatch: median wall time of a call, and of its time in the function */
};

/* cfg->big_calls each of sum() on the adapter, the raw transfer and sum() on cpu, taking turns. */
static void measure_bandwidth(const char *socket_path, const struct big *b, const struct bench_config *cfg,
                              struct big_figures *out) {
  double d[BENCH_MAX_RUNS], raw[BENCH_MAX_RUNS], cpu[BENCH_MAX_RUNS], call_ms[BENCH_MAX_RUNS], fn_ms[BENCH_MAX_RUNS];
  int n = cfg->big_calls < BENCH_MAX_RUNS ? cfg->big_calls : BENCH_MAX_RUNS;
  struct bench_raw_echo e;
  backend_host *h = host_open(socket_path);
  uint64_t fn;
  bench_raw_echo_start(&e, &b->raw, cfg->raw_process);
  call_sum(h, b, BENCH_BACKEND, NULL); /* warm-up: connects, declares, and touches every buffer once */
  bench_raw_roundtrip(e.fd, &b->raw);
  call_sum(h, b, "cpu", NULL);
  for (int i = 0; i < n; i++) {
    uint64_t t = call_sum(h, b, BENCH_BACKEND, &fn), t0;
    d[i] = b->mib / ((double)t / 1e9);
    call_ms[i] = (double)t / 1e6;
    fn_ms[i] = (double)fn / 1e6;
    t0 = bench_now_ns();
    bench_raw_roundtrip(e.fd, &b->raw);
    raw[i] = b->mib / ((double)(bench_now_ns() - t0) / 1e9);
    cpu[i] = b->mib / ((double)call_sum(h, b, "cpu", NULL) / 1e9);
  }
  bench_raw_echo_stop(&e);
  backend_host_free(h);
  out->dispatch = bench_median(d, n);
  out->raw = bench_median(raw, n);
  out->cpu = bench_median(cpu, n);
  out->call_ms = bench_median(call_ms, n);
  out->backend_ms = bench_median(fn_ms, n);
}

/* ---- the runs ---- */

struct extra {
  double cpu[BENCH_MAX_RUNS], call_ms[BENCH_MAX_RUNS], backend_ms[BENCH_MAX_RUNS];
};

static void name_rows(struct bench_row *rows, const struct bench_config *cfg) {
  static const char *const lat[] = {"p50", "p90", "p99"};
  for (int i = R_P50; i <= R_P99; i++) {
    snprintf(rows[i].name, sizeof rows[i].name, "sync latency %s (us)", lat[i - R_P50]);
    rows[i].decimals = 1;
  }
  snprintf(rows[R_TP].name, sizeof rows[0].name, "sync calls/s, %d clients", cfg->clients);
  snprintf(rows[R_BW].name, sizeof rows[0].name, "sum(%d MiB float32) MiB/s", cfg->mib);
  rows[R_BW].absent[COL_PING] = true;
}

/* One repetition of every measurement, each dispatch figure right before its baselines. */
static void run_once(int r, const char *socket_path, const struct dispatch_wire *dw, const struct big *b,
                     const struct bench_config *cfg, const struct samples *s, struct bench_row *rows,
                     struct extra *x) {
  struct bench_latency lat[3];
  struct big_figures bw;
  measure_latency(socket_path, &dw->w, cfg, s, lat);
  for (int c = 0; c < 3; c++) {
    rows[R_P50].v[c][r] = lat[c].p50;
    rows[R_P90].v[c][r] = lat[c].p90;
    rows[R_P99].v[c][r] = lat[c].p99;
  }
  rows[R_TP].v[COL_DISPATCH][r] = dispatch_throughput(socket_path, cfg->clients, cfg->seconds);
  rows[R_TP].v[COL_PING][r] = bench_ping_throughput(socket_path, BENCH_TP_SYNC, 1, cfg->clients, cfg->seconds);
  rows[R_TP].v[COL_RAW][r] =
      bench_raw_throughput(&dw->w, BENCH_TP_SYNC, 1, cfg->clients, cfg->seconds, cfg->raw_process);
  measure_bandwidth(socket_path, b, cfg, &bw);
  rows[R_BW].v[COL_DISPATCH][r] = bw.dispatch;
  rows[R_BW].v[COL_RAW][r] = bw.raw;
  x->cpu[r] = bw.cpu;
  x->call_ms[r] = bw.call_ms;
  x->backend_ms[r] = bw.backend_ms;
}

static void print_header(const struct bench_config *cfg, const struct dispatch_wire *dw, const struct big *b,
                         const char *socket_path, const char *plugin_dir, const char *adapter) {
  char load[64];
  bench_load_average(load, sizeof load);
  printf("bench-dispatch: backend_host_call through backendd beside daemon.ping and a raw Unix-socket ping-pong\n");
  bench_print_machine();
  printf("  daemon: %s (pid %d) on %s\n", cfg->daemon_bin, (int)bench_daemon_pid(), socket_path);
  printf("  plugins: --plugin-path %s (%s as " BENCH_MODULE ")\n", plugin_dir, adapter);
  printf("  dispatch: " BENCH_HOST ".noop() on backend " BENCH_BACKEND ": request %zu bytes, response %zu bytes"
         " (as captured for msgid %u)\n",
         dw->w.req_len, dw->w.resp_len, BENCH_WIRE_MSGID);
  if (dw->requests_per_call != 1 || dw->responses_per_call != 1 || !dw->repacks)
    printf("  note: one noop() call sent %d request(s) and got %d response(s); its backend.call (%zu bytes) %s\n",
           dw->requests_per_call, dw->responses_per_call, dw->call_len,
           dw->repacks ? "re-packs identically" : "re-packs to other bytes");
  printf("  %d runs: each figure is the median over runs, +- half its min-max range;\n"
         "  vs ping, vs raw = median over runs of dispatch / daemon.ping, dispatch / raw (latency: lower is better)\n",
         cfg->runs);
  printf("  latency: %d calls of each after %d warm-up, interleaved; throughput: %.1f s per figure, sync calls,\n"
         "  one handle per client thread\n",
         cfg->calls, cfg->warmup, cfg->seconds);
  printf("  bandwidth: sum() of a %d MiB float32 array (args %zu bytes, packed once), median of %d calls per run\n"
         "  after 1 warm-up; raw: the same bytes through a socketpair, answered by %zu bytes\n",
         b->mib, b->args.size, cfg->big_calls, b->raw.resp_len);
  printf("  raw echo servers run in a %s; load average before the run: %s\n",
         cfg->raw_process ? "forked process" : "thread", load);
  if (cfg->cpu >= 0)
    printf("  everything pinned to CPU %d\n", cfg->cpu);
  fflush(stdout);
}

static void print_footer(const struct bench_row *rows, const struct extra *x, const struct bench_config *cfg) {
  double ratio = bench_row_ratio(&rows[R_P50], COL_DISPATCH, COL_PING, cfg->runs);
  printf("\n  sum(): a call takes %.1f ms, %.1f ms of it in the adapter's function; the host's own cpu sum()\n"
         "  over the same packed args, in process: %.0f MiB/s\n",
         bench_median(x->call_ms, cfg->runs), bench_median(x->backend_ms, cfg->runs),
         bench_median(x->cpu, cfg->runs));
  printf("\n  target: dispatch p50 <= %.1fx daemon.ping p50      %.2fx: %s\n", TARGET_RATIO, ratio,
         ratio <= TARGET_RATIO ? "met" : "NOT met");
}

int main(int argc, char **argv) {
  static struct bench_row rows[N_ROWS];
  static struct dispatch_wire dw;
  static struct big big;
  static struct extra extra;
  struct bench_config cfg;
  struct samples s;
  const char *socket_path, *plugin_dir, *env = getenv("BENCH_ADAPTER");
  const char *adapter = env != NULL && *env != '\0' ? env : BENCH_ADAPTER_PATH;
  bench_init("bench-dispatch");
  bench_parse_options(argc, argv, BENCH_OPT_MIB | BENCH_OPT_BIG_CALLS,
                      "Measure a backend function dispatched through libbackend-client beside daemon.ping and a\n"
                      "raw Unix-socket baseline (the bench adapter: env BENCH_ADAPTER, default the build's).",
                      &cfg);
  signal(SIGPIPE, SIG_IGN); /* a raw peer going away must be an error, not a signal */
  if (cfg.cpu >= 0)
    bench_pin_to_cpu(cfg.cpu); /* before the daemon and any thread start: they inherit it */
  plugin_dir = lay_out_plugins(adapter);
  socket_path = bench_daemon_start(cfg.daemon_bin, (const char *const[]){"--plugin-path", plugin_dir, NULL});
  check_dispatch(socket_path);
  capture_dispatch_wire(socket_path, &dw);
  make_big(&big, cfg.mib, &dw.w);
  print_header(&cfg, &dw, &big, socket_path, plugin_dir, adapter);
  name_rows(rows, &cfg);
  for (int i = 0; i < 3; i++)
    s.ns[i] = bench_xmalloc((size_t)cfg.calls * sizeof *s.ns[i]);
  for (int r = 0; r < cfg.runs; r++) {
    bench_progress(r + 1, cfg.runs);
    run_once(r, socket_path, &dw, &big, &cfg, &s, rows, &extra);
  }
  bench_progress(0, 0);
  bench_print_table(&table, rows, N_ROWS, cfg.runs);
  print_footer(rows, &extra, &cfg);
  for (int i = 0; i < 3; i++)
    free(s.ns[i]);
  msgpack_sbuffer_destroy(&big.args);
  bench_wire_free(&dw.w);
  return 0;
}
