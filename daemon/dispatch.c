#define _GNU_SOURCE
#include "dispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "backends.h"
#include "call.h"
#include "daemon.h"
#include "errors.h"
#include "exec.h"
#include "frame.h"
#include "host.h"
#include "hosts.h"
#include "limits.h"
#include "log.h"
#include "message.h"
#include "plugin_code.h"
#include "plugins.h"
#include "request.h"

/*
 * Adapters that are not thread safe run one call at a time per loaded code, not per plugin:
 * glibc answers a load of a file it has loaded (same device and inode) with the object already
 * loaded, so the plugins of two snapshots with the same file share code, statics and all. One
 * of these exists per such file while calls hold it or wait for it. Process-wide, like the
 * loaded code; loop thread only.
 */
struct serial {
  struct serial *next;
  dev_t dev;
  ino_t ino;
  unsigned refs; /* calls holding it or waiting for it */
  bool busy;
  struct dispatch_job *waiting_head, *waiting_tail;
};

static struct serial *serials;

struct dispatch_job {
  struct dispatch_job *next_waiting;
  struct dispatch_job **queue_head, **queue_tail; /* the queue it waits in, else NULL */
  struct request *req;
  struct plugin *plugin; /* a reference: the call keeps its code even if a reload replaces it */
  struct host *host;     /* a reference, for the first-use warning; NULL when trusted */
  const char *backend;   /* canonical name (in the plugin's info) */
  const char *function;
  bool trusted, check_security;
  struct serial *serial; /* a reference when the adapter is not thread safe */
  bool holds_serial;
  size_t fn;
  struct route route;
  backend_impl impl;
  /* Filled on the worker. */
  backend_call call;
  int load_err, rc;
  uint64_t ns;
  char why[1024];
};

/* ---- queues of waiting calls (loop thread) ---- */

static void cancel_waiting(struct request *req);

/* job waits at the end of a queue, holding no worker; its client going away cancels it. */
static void wait_in(struct dispatch_job **head, struct dispatch_job **tail, struct dispatch_job *job) {
  job->next_waiting = NULL;
  if (*tail != NULL)
    (*tail)->next_waiting = job;
  else
    *head = job;
  *tail = job;
  job->queue_head = head;
  job->queue_tail = tail;
  job->req->data = job;
  job->req->cancel = cancel_waiting;
}

/* Takes job out of its queue. */
static void unqueue(struct dispatch_job *job) {
  struct dispatch_job **link = job->queue_head, *prev = NULL;
  while (*link != NULL && *link != job) {
    prev = *link;
    link = &(*link)->next_waiting;
  }
  if (*link == job) {
    *link = job->next_waiting;
    if (*job->queue_tail == job)
      *job->queue_tail = prev;
  }
  job->next_waiting = NULL;
  job->queue_head = job->queue_tail = NULL;
  job->req->cancel = NULL;
}

static struct dispatch_job *queue_pop(struct dispatch_job **head) {
  struct dispatch_job *job = *head;
  if (job != NULL)
    unqueue(job);
  return job;
}

/* ---- serialisation per loaded file ---- */

static struct serial *serial_get(const struct plugin *p) {
  struct serial *s;
  for (s = serials; s != NULL; s = s->next)
    if (s->dev == p->file_id.dev && s->ino == p->file_id.ino) {
      s->refs++;
      return s;
    }
  if ((s = calloc(1, sizeof *s)) == NULL)
    return NULL;
  s->dev = p->file_id.dev;
  s->ino = p->file_id.ino;
  s->refs = 1;
  s->next = serials;
  serials = s;
  return s;
}

static void serial_unref(struct serial *s) {
  struct serial **link;
  if (--s->refs > 0)
    return;
  for (link = &serials; *link != s; link = &(*link)->next)
    ;
  *link = s->next;
  free(s);
}

static void serial_pass(struct serial *s);

static void job_free(struct dispatch_job *job) {
  struct serial *s = job->serial;
  bool held = job->holds_serial;
  route_clear(&job->route);
  backend_call_clear(&job->call);
  if (job->host != NULL)
    host_unref(job->host);
  /* Before the serial passes on: the last reference unloads the code, which runs the adapter's destroy(). */
  plugin_unref(job->plugin);
  free(job);
  if (s != NULL) {
    if (held)
      serial_pass(s);
    serial_unref(s);
  }
}

/* ---- answers ---- */

/* The untrusted backend's first-use warning, naming who provides it; NULL when out of memory. */
static char *untrusted_text(const struct host *h, const char *backend, const struct plugin *p) {
  char *w;
  if (asprintf(&w, "backend '%s' is not trusted by %s; it is provided by %s %s (entry point %s = %s)", backend,
               h->name, p->dist_name, p->dist_version != NULL ? p->dist_version : "", p->name, p->value) < 0)
    return NULL;
  return w;
}

char *dispatch_first_use_warning(struct request *req, const struct host *h, const char *backend, bool trusted,
                                 const struct plugin *p) {
  if (trusted || req->conn == NULL || !hosts_first_use(req->daemon, req->conn, h, backend))
    return NULL;
  return untrusted_text(h, backend, p);
}

/* What goes around a result: {backend, trusted, fallback, warnings, backend_ns, result}. */
struct answer {
  const char *backend;
  bool trusted;
  const char *fallback;
  const char *first;          /* the first-use warning, or NULL */
  const struct route *route;  /* its warnings go out, or NULL */
  const backend_call *call;   /* its warnings go out, or NULL */
  uint64_t ns;
};

static size_t count_warnings(const struct answer *a) {
  return (a->first != NULL) + (a->route != NULL ? a->route->n_warnings : 0) +
         (a->call != NULL ? a->call->n_warnings + (a->call->dropped_warnings > 0) : 0);
}

static void pack_warnings(msgpack_packer *pk, const struct answer *a) {
  char more[96];
  msgpack_pack_array(pk, (uint32_t)count_warnings(a));
  if (a->first != NULL)
    proto_pack_cstr(pk, a->first);
  for (size_t i = 0; a->route != NULL && i < a->route->n_warnings; i++)
    proto_pack_cstr(pk, a->route->warnings[i]);
  if (a->call == NULL)
    return;
  for (size_t i = 0; i < a->call->n_warnings; i++)
    proto_pack_cstr(pk, a->call->warnings[i]);
  if (a->call->dropped_warnings > 0) {
    snprintf(more, sizeof more, "(%zu more warnings from the backend were dropped)", a->call->dropped_warnings);
    proto_pack_cstr(pk, more);
  }
}

/* The answer up to its result, which the caller packs next. */
static void pack_head(msgpack_packer *pk, const struct answer *a) {
  msgpack_pack_map(pk, 6);
  proto_pack_cstr(pk, "backend");
  proto_pack_cstr(pk, a->backend);
  proto_pack_cstr(pk, "trusted");
  proto_pack_bool(pk, a->trusted);
  proto_pack_cstr(pk, "fallback");
  proto_pack_cstr_or_nil(pk, a->fallback);
  proto_pack_cstr(pk, "warnings");
  pack_warnings(pk, a);
  proto_pack_cstr(pk, "backend_ns");
  msgpack_pack_uint64(pk, a->ns);
  proto_pack_cstr(pk, "result");
}

static int count_bytes(void *data, const char *buf, size_t len) {
  (void)buf;
  *(size_t *)data += len;
  return 0;
}

/* Bytes of the whole response but its result: [1, msgid, nil, {... result: }]. */
static size_t head_bytes(const struct request *req, const struct answer *a) {
  size_t n = 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &n, count_bytes);
  proto_pack_response_begin(&pk, req->msgid);
  pack_head(&pk, a);
  return n;
}

/* Sends the answer with result (one packed value, or none: nil). */
static void reply(struct request *req, const struct answer *a, const msgpack_sbuffer *result) {
  msgpack_packer *pk = request_reply_begin(req);
  pack_head(pk, a);
  if (result == NULL || result->size == 0)
    msgpack_pack_nil(pk);
  else
    pk->callback(pk->data, result->data, result->size); /* checked: one valid value */
  request_reply_end(req);
}

void dispatch_reply_fallback(struct request *req, const char *backend, bool trusted, const char *fallback,
                             const char *first_warning, const struct route *route) {
  struct answer a = {backend, trusted, fallback, first_warning, route, NULL, 0};
  reply(req, &a, NULL);
}

/* What a client decodes (the protocol's defaults), and no more than this daemon would take. */
static struct proto_limits reply_limits(const struct proto_limits *daemon) {
  struct proto_limits l;
  proto_limits_default(&l);
  if (daemon->max_message_size < l.max_message_size)
    l.max_message_size = daemon->max_message_size;
  if (daemon->max_depth < l.max_depth)
    l.max_depth = daemon->max_depth;
  if (daemon->max_string_length < l.max_string_length)
    l.max_string_length = daemon->max_string_length;
  if (daemon->max_elements < l.max_elements)
    l.max_elements = daemon->max_elements;
  return l;
}

/* Why a result failed proto_frame_measure (r) with the limits l: what of the whole answer's (all) is left. */
static const char *over_limit(int r, const struct proto_limits *l, const struct proto_limits *all, char *why,
                              size_t len) {
  switch (r) {
  case PROTO_ETOOBIG:
    snprintf(why, len, "its result is larger than an answer can carry: %zu bytes at most (%zu, less the answer's own %zu)",
             l->max_message_size, all->max_message_size, all->max_message_size - l->max_message_size);
    return why;
  case PROTO_EDEPTH:
    snprintf(why, len, "its result is nested deeper than an answer can carry: %u levels of arrays and maps at most "
             "(%u, less the answer's own 2)", l->max_depth, all->max_depth);
    return why;
  case PROTO_ESTRLEN:
    snprintf(why, len, "its result holds a string longer than %zu bytes, the most a message may", l->max_string_length);
    return why;
  case PROTO_ETOOMANY:
    snprintf(why, len, "its result has more array and map elements than an answer can carry: %llu at most "
             "(%llu, less the answer's own %llu)", (unsigned long long)l->max_elements,
             (unsigned long long)all->max_elements, (unsigned long long)(all->max_elements - l->max_elements));
    return why;
  default:
    return "its result is not valid MessagePack";
  }
}

/*
 * A function's result must be exactly one complete value that a client can decode where the
 * answer puts it (checked as a client's framer reads it): the response array and the answer's
 * map take two levels of the depth, and their own bytes and elements come off the rest.
 * Returns NULL, or what is wrong (in why, or a constant).
 */
static const char *check_result(const struct dispatch_job *job, const struct answer *a, char *why, size_t len) {
  const msgpack_sbuffer *b = &job->call.result;
  struct proto_limits all, l;
  size_t head, msglen = 0;
  uint64_t own = 4 + 2 * 6 + count_warnings(a); /* [1, msgid, nil, map], the map's keys and values, the warnings */
  int r;
  if (b->size == 0)
    return NULL; /* nothing packed: nil */
  all = l = reply_limits(&job->req->daemon->opts.limits);
  head = head_bytes(job->req, a);
  l.max_message_size = all.max_message_size > head ? all.max_message_size - head : 0;
  l.max_depth = all.max_depth > 2 ? all.max_depth - 2 : 0;
  l.max_elements = all.max_elements > own ? all.max_elements - own : 0;
  if ((r = proto_frame_measure(&l, b->data, b->size, &msglen)) == 1)
    return msglen == b->size ? NULL : "it packed more than one result value";
  return r == 0 ? "it packed an incomplete result" : over_limit(r, &l, &all, why, len);
}

/* ---- running calls ---- */

static void failv(struct request *req, const char *backend, bool trusted, const char *code, const char *fmt,
                  va_list ap) __attribute__((format(printf, 5, 0)));
static void failv(struct request *req, const char *backend, bool trusted, const char *code, const char *fmt,
                  va_list ap) {
  msgpack_packer *pk = request_fail_beginv(req, code, fmt, ap);
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "backend");
  proto_pack_cstr(pk, backend);
  proto_pack_cstr(pk, "trusted");
  if (trusted)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
  request_reply_end(req);
}

void dispatch_fail(struct request *req, const char *backend, bool trusted, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(req, backend, trusted, code, fmt, ap);
  va_end(ap);
}

/* Answers the job's request with an error (dispatch_fail); the caller frees the job. */
static void fail_job(struct dispatch_job *job, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void fail_job(struct dispatch_job *job, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(job->req, job->backend, job->trusted, code, fmt, ap);
  va_end(ap);
}

static void fail_cancelled(struct dispatch_job *job) {
  fail_job(job, PROTO_CODE_INTERNAL, "cancelled: the client went away");
  job_free(job);
}

/* serial_pass: the call whose turn it was could not be queued; the loop there offers the serial to the next. */
static void fail_start(struct dispatch_job *job, int err) {
  job->holds_serial = false;
  fail_job(job, PROTO_CODE_INTERNAL, "cannot queue the call: %s", uv_strerror(err));
  job_free(job);
}

/* Worker thread: loads what the function needs (its adapter, its lazy library). */
static void run_load(void *ctx) {
  struct dispatch_job *job = ctx;
  struct plugin *p = job->plugin;
  pthread_mutex_lock(&p->lock);
  job->load_err = plugin_code_backend_impl(p, job->fn, job->check_security, &job->impl, job->why, sizeof job->why);
  pthread_mutex_unlock(&p->lock);
}

/* Worker thread: the call itself. */
static void run_call(void *ctx) {
  struct dispatch_job *job = ctx;
  uint64_t t0 = uv_hrtime();
  job->rc = job->impl(job->plugin->code->instance, &job->call);
  job->ns = uv_hrtime() - t0;
}

static void load_done(void *ctx, int status);
static void call_done(void *ctx, int status);

/* The function's implementation if it is loaded. Loop thread, while no load of p runs (nothing writes it then). */
static backend_impl loaded_impl(const struct plugin *p, size_t fn) {
  const struct plugin_code *code = __atomic_load_n(&p->code, __ATOMIC_ACQUIRE);
  return code != NULL && code->impls != NULL ? code->impls[fn] : NULL;
}

/*
 * Loop thread: a call that may run now (it holds its serial, if it needs one) runs, or first
 * loads what it needs, or waits for the load of its plugin that is running. Returns 0 or a
 * negative libuv error.
 */
static int start(struct dispatch_job *job) {
  struct plugin *p = job->plugin;
  struct exec_pool *exec = job->req->daemon->exec;
  int err;
  if (p->loading) {
    wait_in(&p->load_waiting_head, &p->load_waiting_tail, job);
    return 0;
  }
  if ((job->impl = loaded_impl(p, job->fn)) != NULL)
    return exec_submit(exec, job->req, run_call, call_done, job);
  if ((err = exec_submit(exec, job->req, run_load, load_done, job)) == 0)
    p->loading = true;
  return err;
}

/* Loop thread: the serial goes to its next waiting call that starts, else it is free. */
static void serial_pass(struct serial *s) {
  struct dispatch_job *job;
  int err;
  while ((job = queue_pop(&s->waiting_head)) != NULL) {
    job->holds_serial = true;
    if ((err = start(job)) == 0)
      return;
    fail_start(job, err);
  }
  s->busy = false;
}

/* The client of a waiting call went away: forget the call. */
static void cancel_waiting(struct request *req) {
  struct dispatch_job *job = req->data;
  unqueue(job);
  fail_cancelled(job);
}

/*
 * Loop thread: the calls that waited for a load of p, in order. Those that needed what failed
 * (the adapter, or the same function) fail with its error; the others start again.
 */
static void wake(struct plugin *p, struct dispatch_job **waiting, int load_err, size_t fn, const char *why) {
  struct dispatch_job *job;
  int err;
  while ((job = queue_pop(waiting)) != NULL) {
    if (load_err < 0 && (p->code == NULL || job->fn == fn)) {
      fail_job(job, PROTO_CODE_BACKEND_LOAD_FAILED, "backend '%s' cannot be loaded: %s", job->backend, why);
      job_free(job); /* a serial it holds passes on */
    } else if ((err = start(job)) < 0) {
      fail_job(job, PROTO_CODE_INTERNAL, "cannot queue the call: %s", uv_strerror(err));
      job_free(job);
    }
  }
}

static void load_done(void *ctx, int status) {
  struct dispatch_job *job = ctx, *waiting_head, *waiting_tail, *w;
  struct plugin *p = job->plugin;
  int load_err = status == UV_ECANCELED ? 0 : job->load_err, err;
  size_t fn = job->fn;
  char why[sizeof job->why];
  plugin_ref(p); /* the waiters need it after the job is gone */
  p->loading = false;
  /* The waiters move to a queue of this function's own (a load the first of them starts
   * again waits on the plugin's): answering a call may close its connection, which cancels
   * that client's other calls, and a cancelled call leaves the queue it is in. */
  waiting_head = p->load_waiting_head;
  waiting_tail = p->load_waiting_tail;
  p->load_waiting_head = p->load_waiting_tail = NULL;
  for (w = waiting_head; w != NULL; w = w->next_waiting) {
    w->queue_head = &waiting_head;
    w->queue_tail = &waiting_tail;
  }
  memcpy(why, job->why, sizeof why);
  if (status == UV_ECANCELED) {
    fail_cancelled(job);
  } else if (load_err < 0) {
    log_warning("backend %s (%s): %s", job->backend, p->dist_name, why);
    fail_job(job, PROTO_CODE_BACKEND_LOAD_FAILED, "backend '%s' cannot be loaded: %s", job->backend, why);
    job_free(job);
  } else if (!request_connected(job->req)) {
    fail_cancelled(job); /* loaded for the calls to come; this one has nobody to answer */
  } else if ((err = exec_submit(job->req->daemon->exec, job->req, run_call, call_done, job)) < 0) {
    fail_job(job, PROTO_CODE_INTERNAL, "cannot queue the call: %s", uv_strerror(err));
    job_free(job);
  }
  wake(p, &waiting_head, load_err, fn, why);
  plugin_unref(p);
}

static void call_done(void *ctx, int status) {
  struct dispatch_job *job = ctx;
  struct request *req = job->req;
  struct answer a = {job->backend, job->trusted, NULL, NULL, &job->route, &job->call, job->ns};
  const char *bad;
  char why[256], *first;
  bool told;
  if (status == UV_ECANCELED) {
    fail_cancelled(job);
    return;
  }
  if (job->rc < 0 && job->rc != BACKEND_CALL_NOT_IMPLEMENTED) {
    fail_job(job, PROTO_CODE_BACKEND_CALL_FAILED, "%s.%s failed: %s", job->backend, job->function,
                 job->call.error != NULL ? job->call.error : "(the backend gave no reason)");
    job_free(job);
    return;
  }
  /* Unless the client was told already, the result is checked as if the first-use warning went
   * with it, whether or not it will (a failed call does not use it up). */
  told = job->host == NULL || req->conn == NULL || hosts_told(req->daemon, req->conn, job->host, job->backend);
  a.first = first = told ? NULL : untrusted_text(job->host, job->backend, job->plugin);
  if (job->rc == BACKEND_CALL_NOT_IMPLEMENTED) {
    /* The host runs with the caller's own arguments: what routing dropped is not dropped there. */
    a.route = NULL;
    a.fallback = job->call.not_implemented != NULL ? job->call.not_implemented
                                                   : "not implemented by the backend for these arguments";
  } else if ((bad = check_result(job, &a, why, sizeof why)) != NULL) {
    fail_job(job, PROTO_CODE_BACKEND_CALL_FAILED, "%s.%s failed: %s", job->backend, job->function, bad);
    free(first);
    job_free(job);
    return;
  }
  /* Only an answer that is sent uses up the warning. */
  if (first != NULL && !hosts_first_use(req->daemon, req->conn, job->host, job->backend))
    a.first = NULL;
  reply(req, &a, job->rc == BACKEND_CALL_NOT_IMPLEMENTED ? NULL : &job->call.result);
  free(first);
  job_free(job);
}

int dispatch_submit(struct request *req, struct host *h, const struct backend *b, size_t fn, struct route *route) {
  struct daemon *d = req->daemon;
  struct dispatch_job *job = calloc(1, sizeof *job);
  bool serialize = (b->info->flags & BACKEND_ADAPTER_THREAD_SAFE) == 0;
  int err;
  if (job == NULL || (serialize && (job->serial = serial_get(b->plugin)) == NULL)) {
    free(job);
    route_clear(route);
    return -ENOMEM;
  }
  job->req = req;
  plugin_ref(b->plugin);
  job->plugin = b->plugin;
  if (!b->trusted) {
    host_ref(h);
    job->host = h;
  }
  job->backend = b->info->name;
  job->function = b->info->functions[fn].name;
  job->trusted = b->trusted;
  job->check_security = geteuid() == 0 && !d->opts.allow_insecure_plugins;
  job->fn = fn;
  job->route = *route;
  memset(route, 0, sizeof *route);
  backend_call_init(&job->call, job->route.names, job->route.values, job->route.n);
  if (serialize && job->serial->busy) {
    wait_in(&job->serial->waiting_head, &job->serial->waiting_tail, job);
    return 0;
  }
  if (serialize) {
    job->serial->busy = true;
    job->holds_serial = true;
  }
  if ((err = start(job)) < 0)
    job_free(job); /* nobody waits for a serial that was free */
  return err;
}
