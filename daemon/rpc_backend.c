#define _GNU_SOURCE
#include "rpc_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "daemon.h"
#include "describe.h"
#include "dispatch.h"
#include "errors.h"
#include "host.h"
#include "hosts.h"
#include "message.h"
#include "plugins.h"
#include "request.h"
#include "route.h"
#include "router.h"

/* A str parameter as a C string in buf; false (request answered) when it holds a NUL byte or is too long. */
static bool param_cstr(struct request *req, const char *name, char *buf, size_t len) {
  const msgpack_object *o = request_param(req, name);
  if (o == NULL) {
    buf[0] = '\0';
    return true;
  }
  if (o->via.str.size >= len || (o->via.str.size > 0 && memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)) {
    request_fail(req, PROTO_CODE_INVALID_PARAMS, "parameter '%s' is too long or holds a NUL byte", name);
    return false;
  }
  if (o->via.str.size > 0)
    memcpy(buf, o->via.str.ptr, o->via.str.size);
  buf[o->via.str.size] = '\0';
  return true;
}

/* The host a request names, or NULL after answering Host.Unknown. */
static struct host *find_host(struct request *req, char *name, size_t len) {
  struct host *h;
  if (!param_cstr(req, "host", name, len))
    return NULL;
  if ((h = hosts_lookup(req->daemon, req->conn, name)) == NULL)
    request_fail(req, PROTO_CODE_HOST_UNKNOWN,
                 "no host '%s' is known: none declared it (host.declare) and no installed distribution has its "
                 "declaration file",
                 name);
  return h;
}

static const struct backend_table *find_backends(struct request *req, struct host *h) {
  const struct backend_table *t = hosts_backends(req->daemon, h);
  if (t == NULL)
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
  return t;
}

static void backend_list(struct request *req) {
  char name[256];
  struct host *h = find_host(req, name, sizeof name);
  const struct backend_table *t;
  msgpack_packer *pk;
  if (h == NULL || (t = find_backends(req, h)) == NULL)
    return;
  pk = request_reply_begin(req);
  msgpack_pack_map(pk, 5);
  proto_pack_cstr(pk, "host");
  proto_pack_cstr(pk, h->name);
  proto_pack_cstr(pk, "group");
  proto_pack_cstr(pk, h->group);
  proto_pack_cstr(pk, "source");
  proto_pack_cstr(pk, h->source);
  proto_pack_cstr(pk, "backends");
  msgpack_pack_array(pk, (uint32_t)t->n);
  for (size_t i = 0; i < t->n; i++)
    backend_pack(pk, &t->usable[i]);
  proto_pack_cstr(pk, "refused");
  msgpack_pack_array(pk, (uint32_t)t->n_refused);
  for (size_t i = 0; i < t->n_refused; i++)
    backend_pack(pk, &t->refused[i]);
  request_reply_end(req);
}

/* Index of function `name` in an adapter's table, or -1. */
static ssize_t find_function(const struct plugin_info *info, const char *name) {
  for (size_t i = 0; i < info->n_functions; i++)
    if (strcmp(info->functions[i].name, name) == 0)
      return (ssize_t)i;
  return -1;
}

static const struct host_function *find_host_function(struct request *req, const struct host *h) {
  const msgpack_object *f = request_param(req, "function");
  const struct host_function *hf = host_find_function(h, f->via.str.ptr, f->via.str.size);
  if (hf == NULL)
    request_fail(req, PROTO_CODE_HOST_UNKNOWN_FUNCTION, "host '%s' declares no function '%.*s'", h->name,
                 (int)(f->via.str.size > 128 ? 128 : f->via.str.size), f->via.str.ptr);
  return hf;
}

/*
 * Packed whole before any of it is sent: packing can run out of memory half way, and half an
 * answer on the connection would break every answer after it.
 */
static void send_described(struct request *req, const struct host *h, const struct host_function *hf,
                           const struct describe_provider *providers, size_t n) {
  msgpack_sbuffer sb;
  msgpack_packer pk, *out;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (describe_pack(&pk, h, hf, providers, n) < 0) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory describing %s.%s", h->name, hf->name);
  } else {
    out = request_reply_begin(req);
    out->callback(out->data, sb.data, sb.size); /* one complete value */
    request_reply_end(req);
  }
  msgpack_sbuffer_destroy(&sb);
}

static void backend_describe(struct request *req) {
  char name[256];
  struct host *h = find_host(req, name, sizeof name);
  const struct host_function *hf;
  const struct backend_table *t;
  struct describe_provider *providers;
  size_t n = 0;
  if (h == NULL || (hf = find_host_function(req, h)) == NULL || (t = find_backends(req, h)) == NULL)
    return;
  if ((providers = calloc(t->n + 1, sizeof *providers)) == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return;
  }
  for (size_t i = 0; i < t->n; i++) { /* the table is sorted by name, so the output is stable */
    ssize_t fn = find_function(t->usable[i].info, hf->name);
    if (fn >= 0)
      providers[n++] = (struct describe_provider){t->usable[i].info->name, &t->usable[i].info->functions[fn]};
  }
  send_described(req, h, hf, providers, n);
  free(providers);
}

/* The backend a call names, or NULL after answering why there is none. */
static const struct backend *select_backend(struct request *req, struct host *h, const char *name) {
  const struct host_reserved *r = host_find_reserved(h, name);
  const struct host_trusted *trusted = host_find_trusted(h, name);
  const struct backend_table *t;
  const struct backend *b, *refused;
  const char *suggestion;
  msgpack_packer *pk;
  char msg[1024];
  if (r != NULL) {
    snprintf(msg, sizeof msg, "'%s' is reserved by %s: %s", name, h->name, r->reason);
    pk = request_fail_begin(req, PROTO_CODE_BACKEND_RESERVED, msg);
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, name);
    proto_pack_cstr(pk, "reason");
    proto_pack_cstr(pk, r->reason);
    request_reply_end(req);
    return NULL;
  }
  if ((t = find_backends(req, h)) == NULL)
    return NULL;
  if ((b = backend_table_find(t, name)) != NULL)
    return b;
  if (trusted != NULL) {
    refused = backend_table_find_refused(t, trusted->name);
    if (refused != NULL)
      snprintf(msg, sizeof msg, "%s trusts backend '%s', but the installed one was refused (%s): install the package '%s'",
               h->name, trusted->name, refused->reason, trusted->package);
    else
      snprintf(msg, sizeof msg, "%s trusts backend '%s' but it is not installed: install the package '%s'", h->name,
               trusted->name, trusted->package);
    pk = request_fail_begin(req, PROTO_CODE_BACKEND_NOT_INSTALLED, msg);
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, trusted->name);
    proto_pack_cstr(pk, "package");
    proto_pack_cstr(pk, trusted->package);
    request_reply_end(req);
    return NULL;
  }
  suggestion = backend_table_suggest(t, h, name);
  snprintf(msg, sizeof msg, "%s has no backend '%s'%s%s%s", h->name, name, suggestion ? "; did you mean '" : "",
           suggestion ? suggestion : "", suggestion ? "'?" : "");
  pk = request_fail_begin(req, PROTO_CODE_BACKEND_UNKNOWN, msg);
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "name");
  proto_pack_cstr(pk, name);
  proto_pack_cstr(pk, "suggestion");
  proto_pack_cstr_or_nil(pk, suggestion);
  request_reply_end(req);
  return NULL;
}

/* The arguments do not route to the selected backend (canonical name; "cpu" for the host's). */
static void fail_route(struct request *req, const char *backend, bool trusted, int err, const char *why) {
  if (err == -ENOMEM)
    dispatch_fail(req, backend, trusted, PROTO_CODE_INTERNAL, "out of memory");
  else if (err == -E2BIG)
    dispatch_fail(req, backend, trusted, PROTO_CODE_BACKEND_INVALID_ARGUMENTS, "too many arguments");
  else
    dispatch_fail(req, backend, trusted, PROTO_CODE_BACKEND_INVALID_ARGUMENTS, "%s", why);
}

/*
 * The host's implementation runs: the arguments are checked against its signature only. b is
 * the backend that lacks the function, or NULL for cpu.
 */
static void call_on_host(struct request *req, struct host *h, const struct host_function *hf, const struct backend *b,
                         const char *fallback) {
  struct route r;
  char why[512], *warning;
  int err = route_call(h, hf, b != NULL ? b->info->name : NULL, NULL, request_param(req, "args"),
                       request_param(req, "kwargs"), &r, why, sizeof why);
  if (err < 0) {
    fail_route(req, b != NULL ? b->info->name : "cpu", b != NULL ? b->trusted : true, err, why);
  } else {
    /* Sent at once: this answer may use up the first-use warning. */
    warning = b != NULL ? dispatch_first_use_warning(req, h, b->info->name, b->trusted, b->plugin) : NULL;
    dispatch_reply_fallback(req, b != NULL ? b->info->name : "cpu", b != NULL ? b->trusted : true, fallback, warning,
                            &r);
    free(warning);
  }
  route_clear(&r);
}

static void backend_call(struct request *req) {
  char host_name[256], name[256], why[512], fallback[512];
  struct host *h = find_host(req, host_name, sizeof host_name);
  const struct host_function *hf;
  const struct backend *b;
  struct route r;
  ssize_t fn;
  int err;
  if (h == NULL || (hf = find_host_function(req, h)) == NULL || !param_cstr(req, "backend", name, sizeof name))
    return;
  if (name[0] == '\0' || strcmp(name, "cpu") == 0) {
    call_on_host(req, h, hf, NULL, "the cpu backend is the host's own implementation");
    return;
  }
  if ((b = select_backend(req, h, name)) == NULL)
    return;
  if ((fn = find_function(b->info, hf->name)) < 0) {
    snprintf(fallback, sizeof fallback, "backend '%s' does not implement %s", b->info->name, hf->name);
    call_on_host(req, h, hf, b, fallback);
    return;
  }
  if ((err = route_call(h, hf, b->info->name, &b->info->functions[fn], request_param(req, "args"),
                        request_param(req, "kwargs"), &r, why, sizeof why)) < 0) {
    route_clear(&r);
    fail_route(req, b->info->name, b->trusted, err, why);
    return;
  }
  /* The first-use warning is decided when the answer goes out: a call that fails does not use it up. */
  if ((err = dispatch_submit(req, h, b, (size_t)fn, &r)) < 0)
    dispatch_fail(req, b->info->name, b->trusted, PROTO_CODE_INTERNAL, "cannot queue the call: %s", strerror(-err));
}

static const struct method_param list_params[] = {
  {"host", PARAM_STR, true, "the host's name"},
};

static const struct method_param describe_params[] = {
  {"host", PARAM_STR, true, "the host's name"},
  {"function", PARAM_STR, true, "one of the host's functions"},
};

static const struct method_param call_params[] = {
  {"host", PARAM_STR, true, "the host's name"},
  {"function", PARAM_STR, true, "one of the host's functions"},
  {"backend", PARAM_STR, false, "backend name or alias (absent or cpu: the host's own implementation)"},
  {"args", PARAM_ARRAY, false, "positional arguments"},
  {"kwargs", PARAM_MAP, false, "keyword arguments"},
};

#define N(a) (sizeof a / sizeof a[0])

static const struct method backend_methods[] = {
  {"backend.call", backend_call,
   "dispatch one call of a host function: the result, which backend ran, the warnings, or why the host's own "
   "implementation must run",
   call_params, N(call_params)},
  {"backend.describe", backend_describe,
   "a host function's signature and numpydoc with the backends' own parameters merged in", describe_params,
   N(describe_params)},
  {"backend.list", backend_list,
   "the backends discovered for a host: names, aliases, trust, provider, functions, and the refused ones with why",
   list_params, N(list_params)},
};

int rpc_backend_register(struct daemon *d) { return router_add(&d->router, backend_methods, N(backend_methods)); }
