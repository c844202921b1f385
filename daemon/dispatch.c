#include "dispatch.h"

#include <errno.h>
#include <pthread.h>
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
#include "log.h"
#include "message.h"
#include "plugin_code.h"
#include "plugins.h"
#include "request.h"

struct dispatch_job {
  struct dispatch_job *next_waiting;
  struct request *req;
  struct plugin *plugin; /* a reference: the call keeps its code even if a reload replaces it */
  const char *backend;   /* canonical name (in the plugin's info) */
  const char *function;
  bool trusted, serialize, check_security;
  size_t fn;
  struct route route;
  char *first_warning;
  /* Filled on the worker. */
  backend_call call;
  int load_err, rc;
  uint64_t ns;
  char why[1024];
};

static void job_free(struct dispatch_job *job) {
  plugin_unref(job->plugin);
  route_clear(&job->route);
  free(job->first_warning);
  backend_call_clear(&job->call);
  free(job);
}

/* Worker thread: resolve the implementation (loading what it needs) and call it. */
static void run(void *ctx) {
  struct dispatch_job *job = ctx;
  struct plugin *p = job->plugin;
  backend_impl impl;
  uint64_t t0;
  pthread_mutex_lock(&p->lock);
  job->load_err = plugin_code_backend_impl(p, job->fn, job->check_security, &impl, job->why, sizeof job->why);
  pthread_mutex_unlock(&p->lock);
  if (job->load_err == 0) {
    t0 = uv_hrtime();
    job->rc = impl(p->code->instance, &job->call);
    job->ns = uv_hrtime() - t0;
  }
}

static size_t count_warnings(const char *first, const struct route *route, const backend_call *call) {
  return (first != NULL) + route->n_warnings + (call != NULL ? call->n_warnings + (call->dropped_warnings > 0) : 0);
}

static void pack_warnings(msgpack_packer *pk, const char *first, const struct route *route, const backend_call *call) {
  char more[96];
  msgpack_pack_array(pk, (uint32_t)count_warnings(first, route, call));
  if (first != NULL)
    proto_pack_cstr(pk, first);
  for (size_t i = 0; i < route->n_warnings; i++)
    proto_pack_cstr(pk, route->warnings[i]);
  if (call == NULL)
    return;
  for (size_t i = 0; i < call->n_warnings; i++)
    proto_pack_cstr(pk, call->warnings[i]);
  if (call->dropped_warnings > 0) {
    snprintf(more, sizeof more, "(%zu more warnings from the backend were dropped)", call->dropped_warnings);
    proto_pack_cstr(pk, more);
  }
}

/* {backend, trusted, fallback, warnings, backend_ns, result}, result packed by the caller. */
static msgpack_packer *reply_begin(struct request *req, const char *backend, bool trusted, const char *fallback,
                                   const char *first, const struct route *route, const backend_call *call,
                                   uint64_t ns) {
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_map(pk, 6);
  proto_pack_cstr(pk, "backend");
  proto_pack_cstr(pk, backend);
  proto_pack_cstr(pk, "trusted");
  proto_pack_bool(pk, trusted);
  proto_pack_cstr(pk, "fallback");
  proto_pack_cstr_or_nil(pk, fallback);
  proto_pack_cstr(pk, "warnings");
  pack_warnings(pk, first, route, call);
  proto_pack_cstr(pk, "backend_ns");
  msgpack_pack_uint64(pk, ns);
  proto_pack_cstr(pk, "result");
  return pk;
}

void dispatch_reply_fallback(struct request *req, const char *backend, bool trusted, const char *fallback,
                             const char *first_warning, const struct route *route) {
  msgpack_pack_nil(reply_begin(req, backend, trusted, fallback, first_warning, route, NULL, 0));
  request_reply_end(req);
}

/* A function's result must be exactly one complete value, and fit in a message. */
static const char *check_result(const struct dispatch_job *job, size_t max) {
  const msgpack_sbuffer *b = &job->call.result;
  msgpack_unpacked u;
  size_t off = 0;
  int ret;
  if (b->size == 0)
    return NULL;
  if (b->size > max)
    return "its result is larger than the daemon's --max-message-size";
  msgpack_unpacked_init(&u);
  ret = msgpack_unpack_next(&u, b->data, b->size, &off);
  msgpack_unpacked_destroy(&u);
  if (ret != MSGPACK_UNPACK_SUCCESS)
    return "it packed an incomplete result";
  return off == b->size ? NULL : "it packed more than one result value";
}

static void done(void *ctx, int status);

/* Loop thread: a serialised adapter's next waiting call, if any, starts now. */
static void start_next(struct plugin *p) {
  struct dispatch_job *job;
  while ((job = p->waiting_head) != NULL) {
    int err;
    if ((p->waiting_head = job->next_waiting) == NULL)
      p->waiting_tail = NULL;
    job->req->cancel = NULL;
    if ((err = exec_submit(job->req->daemon->exec, job->req, run, done, job)) == 0)
      return;
    request_fail(job->req, PROTO_CODE_INTERNAL, "cannot queue the call: %s", uv_strerror(err));
    job_free(job);
  }
  p->busy = false;
}

/* The client of a call still waiting for its adapter went away: forget the call. */
static void cancel_waiting(struct request *req) {
  struct dispatch_job *job = req->data, **link;
  struct plugin *p = job->plugin;
  for (link = &p->waiting_head; *link != NULL && *link != job; link = &(*link)->next_waiting)
    ;
  if (*link == NULL)
    return;
  *link = job->next_waiting;
  if (p->waiting_tail == job) {
    p->waiting_tail = NULL;
    for (struct dispatch_job *j = p->waiting_head; j != NULL; j = j->next_waiting)
      p->waiting_tail = j;
  }
  req->cancel = NULL;
  request_fail(req, PROTO_CODE_INTERNAL, "cancelled: the client went away");
  job_free(job);
}

static void done(void *ctx, int status) {
  struct dispatch_job *job = ctx;
  struct request *req = job->req;
  const char *bad;
  msgpack_packer *pk;
  if (status == UV_ECANCELED) {
    request_fail(req, PROTO_CODE_INTERNAL, "cancelled: the client went away");
  } else if (job->load_err < 0) {
    log_warning("backend %s (%s): %s", job->backend, job->plugin->dist_name, job->why);
    request_fail(req, PROTO_CODE_BACKEND_LOAD_FAILED, "backend '%s' cannot be loaded: %s", job->backend, job->why);
  } else if (job->rc == BACKEND_CALL_NOT_IMPLEMENTED) {
    pk = reply_begin(req, job->backend, job->trusted,
                     job->call.not_implemented != NULL ? job->call.not_implemented
                                                       : "not implemented by the backend for these arguments",
                     job->first_warning, &job->route, &job->call, job->ns);
    msgpack_pack_nil(pk);
    request_reply_end(req);
  } else if (job->rc < 0) {
    request_fail(req, PROTO_CODE_BACKEND_CALL_FAILED, "%s.%s failed: %s", job->backend, job->function,
                 job->call.error != NULL ? job->call.error : "(the backend gave no reason)");
  } else if ((bad = check_result(job, req->daemon->opts.limits.max_message_size)) != NULL) {
    request_fail(req, PROTO_CODE_BACKEND_CALL_FAILED, "%s.%s failed: %s", job->backend, job->function, bad);
  } else {
    pk = reply_begin(req, job->backend, job->trusted, NULL, job->first_warning, &job->route, &job->call, job->ns);
    if (job->call.result.size == 0)
      msgpack_pack_nil(pk);
    else
      pk->callback(pk->data, job->call.result.data, job->call.result.size); /* already one valid value */
    request_reply_end(req);
  }
  if (job->serialize) {
    struct plugin *p = job->plugin;
    plugin_ref(p); /* job_free drops the job's reference */
    job_free(job);
    start_next(p);
    plugin_unref(p);
    return;
  }
  job_free(job);
}

int dispatch_submit(struct request *req, const struct backend *b, size_t fn, struct route *route,
                    const char *first_warning) {
  struct daemon *d = req->daemon;
  struct dispatch_job *job = calloc(1, sizeof *job);
  int err;
  if (job == NULL || (first_warning != NULL && (job->first_warning = strdup(first_warning)) == NULL)) {
    free(job);
    route_clear(route);
    return -ENOMEM;
  }
  job->req = req;
  plugin_ref(b->plugin);
  job->plugin = b->plugin;
  job->backend = b->info->name;
  job->function = b->info->functions[fn].name;
  job->trusted = b->trusted;
  job->serialize = (b->info->flags & BACKEND_ADAPTER_THREAD_SAFE) == 0;
  job->check_security = geteuid() == 0 && !d->opts.allow_insecure_plugins;
  job->fn = fn;
  job->route = *route;
  memset(route, 0, sizeof *route);
  backend_call_init(&job->call, job->route.names, job->route.values, job->route.n);
  if (job->serialize && job->plugin->busy) {
    struct plugin *p = job->plugin;
    if (p->waiting_tail != NULL)
      p->waiting_tail->next_waiting = job;
    else
      p->waiting_head = job;
    p->waiting_tail = job;
    req->data = job;
    req->cancel = cancel_waiting;
    return 0;
  }
  if ((err = exec_submit(d->exec, req, run, done, job)) < 0) {
    job_free(job);
    return err;
  }
  if (job->serialize)
    job->plugin->busy = true;
  return 0;
}
