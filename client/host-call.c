/*
 * backend_host_call: selecting the backend (per call, else the host's current one), running
 * "cpu" here without the daemon, anything else through backend.call; a fallback answer runs
 * the host's implementation here. Also backend.list and backend.describe for the host.
 */
#include "host-private.h"

#include <errno.h>
#include <string.h>

#include "errors.h"
#include "frame.h"
#include "limits.h"
#include "message.h"

/* The caller's packed arguments, decoded (strings point into the caller's buffers). */
struct call_args {
  msgpack_zone zone;
  msgpack_object args, kwargs;
  const msgpack_object *a, *kw; /* NULL: none given */
};

/*
 * Whether a daemon with the default limits takes these packed arguments (the whole value, its
 * depth, strings and element counts) where a request carries them: [0, id, method, [{key: here}]].
 * Checked before anything is sent, as a daemon answers a request over its limits and then
 * closes the connection.
 */
static bool within_limits(const void *data, size_t len) {
  struct proto_limits l;
  size_t msglen;

  proto_limits_default(&l);
  l.max_depth = l.max_depth > 3 ? l.max_depth - 3 : 1;
  return proto_frame_measure(&l, data, len, &msglen) == 1 && msglen == len;
}

/* Exactly one packed value of the given type, or none (len 0). */
static int decode_one(struct call_args *c, const void *data, size_t len, msgpack_object_type type,
                      msgpack_object *obj, const msgpack_object **out) {
  int err;

  *out = NULL;
  if (len == 0)
    return 0;
  if (!data)
    return BACKEND_EINVAL;
  err = proto_decode(data, len, &c->zone, obj);
  if (err)
    return err == PROTO_ENOMEM ? -ENOMEM : BACKEND_EINVAL;
  if (obj->type != type)
    return BACKEND_EINVAL;
  *out = obj;
  return 0;
}

static int decode_args(struct call_args *c, const void *args, size_t args_len, const void *kwargs,
                       size_t kwargs_len) {
  int err;

  if (!msgpack_zone_init(&c->zone, 1024))
    return -ENOMEM;
  err = decode_one(c, args, args_len, MSGPACK_OBJECT_ARRAY, &c->args, &c->a);
  if (!err)
    err = decode_one(c, kwargs, kwargs_len, MSGPACK_OBJECT_MAP, &c->kwargs, &c->kw);
  if (err)
    msgpack_zone_destroy(&c->zone);
  return err;
}

/* The backend this call goes to, into name: the per-call one, else the host's current one. */
static int select_backend(backend_host *h, const char *backend, char name[HOSTDECL_BACKEND_NAME_MAX + 1]) {
  if (backend) {
    if (hostdecl_check_backend_name(backend))
      return BACKEND_EINVAL;
    strcpy(name, backend);
    return 0;
  }
  pthread_mutex_lock(&h->lock);
  strcpy(name, h->current);
  pthread_mutex_unlock(&h->lock);
  return 0;
}

/* ---- the daemon's answer ---- */

/* BACKEND_ECALL with the daemon's error copied into r. */
static int copy_error(struct host_result *r, const backend_reply *reply) {
  int err = host_result_fail(r, reply->error_code, reply->error_message);

  if (err == BACKEND_ECALL && proto_object_copy(&r->zone, &reply->error_data, &r->pub.error_data) != 0)
    err = -ENOMEM;
  return err;
}

/*
 * The result of an error answer. One decided after the daemon selected the backend names it
 * as a successful answer would (data {backend, trusted}); before that, the name asked for stands.
 */
static int error_result(const backend_reply *reply, const char *asked, struct host_result **out) {
  const msgpack_object *b = proto_map_get(&reply->error_data, "backend"),
                       *t = proto_map_get(&reply->error_data, "trusted");
  char name[HOSTDECL_BACKEND_NAME_MAX + 1];

  if (b && b->type == MSGPACK_OBJECT_STR && b->via.str.size > 0 && b->via.str.size < sizeof name &&
      !memchr(b->via.str.ptr, '\0', b->via.str.size)) {
    memcpy(name, b->via.str.ptr, b->via.str.size);
    name[b->via.str.size] = '\0';
    asked = name;
  }
  return host_result_new(asked, t && t->type == MSGPACK_OBJECT_BOOLEAN && t->via.boolean, out);
}

static int copy_warnings(struct host_result *r, const msgpack_object *w) {
  const char **list;

  if (!w || w->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (w->type != MSGPACK_OBJECT_ARRAY)
    return BACKEND_EPROTO;
  if (w->via.array.size == 0)
    return 0;
  if (!(list = msgpack_zone_malloc(&r->zone, w->via.array.size * sizeof *list)))
    return -ENOMEM;
  for (uint32_t i = 0; i < w->via.array.size; i++) {
    const msgpack_object *s = &w->via.array.ptr[i];
    if (s->type != MSGPACK_OBJECT_STR)
      return BACKEND_EPROTO;
    if (!(list[i] = proto_zone_strndup(&r->zone, s->via.str.ptr, s->via.str.size)))
      return -ENOMEM;
  }
  r->pub.warnings = list;
  r->pub.n_warnings = w->via.array.size;
  return 0;
}

/* The result map {backend, trusted, fallback, warnings, backend_ns, result} into a new result. */
static int read_answer(const msgpack_object *o, const char *selected, struct host_result **out) {
  const msgpack_object *backend = proto_map_get(o, "backend"), *trusted = proto_map_get(o, "trusted"),
                       *fallback = proto_map_get(o, "fallback"), *ns = proto_map_get(o, "backend_ns");
  struct host_result *r;
  int err;

  *out = NULL;
  if (o->type != MSGPACK_OBJECT_MAP || (backend && backend->type != MSGPACK_OBJECT_STR) ||
      (trusted && trusted->type != MSGPACK_OBJECT_BOOLEAN) ||
      (fallback && fallback->type != MSGPACK_OBJECT_NIL && fallback->type != MSGPACK_OBJECT_STR) ||
      (ns && ns->type != MSGPACK_OBJECT_POSITIVE_INTEGER))
    return BACKEND_EPROTO;
  if ((err = host_result_new(selected, trusted && trusted->via.boolean, &r)) != 0)
    return err;
  if (backend && !(r->pub.backend = proto_zone_strndup(&r->zone, backend->via.str.ptr, backend->via.str.size)))
    err = -ENOMEM;
  if (!err && fallback && fallback->type == MSGPACK_OBJECT_STR &&
      !(r->pub.fallback = proto_zone_strndup(&r->zone, fallback->via.str.ptr, fallback->via.str.size)))
    err = -ENOMEM;
  if (!err)
    err = copy_warnings(r, proto_map_get(o, "warnings"));
  if (!err && ns)
    r->pub.backend_ns = ns->via.u64;
  if (!err && !r->pub.fallback) {
    const msgpack_object *value = proto_map_get(o, "result");
    if (!value)
      err = BACKEND_EPROTO; /* an answer without its result is not one */
    else if (proto_object_copy(&r->zone, value, &r->pub.value) != 0)
      err = -ENOMEM;
  }
  if (err) {
    backend_result_free(&r->pub);
    return err;
  }
  *out = r;
  return 0;
}

/* Packs "key": "value"; nonzero when the buffer could not grow. */
static int pack_kv(msgpack_packer *pk, const char *key, const char *value) {
  return msgpack_pack_str_with_body(pk, key, strlen(key)) | msgpack_pack_str_with_body(pk, value, strlen(value));
}

/* backend.call through the daemon; a fallback answer runs fn here. */
static int call_remote(backend_host *h, const struct host_fn *fn, const char *backend, const struct call_args *c,
                       const void *args, size_t args_len, const void *kwargs, size_t kwargs_len, int timeout_ms,
                       struct host_result **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *reply = NULL;
  struct client_part parts[4];
  size_t n = 0, kwargs_key;
  int err, bad;

  if ((c->a && !within_limits(args, args_len)) || (c->kw && !within_limits(kwargs, kwargs_len)))
    return BACKEND_EINVAL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  bad = msgpack_pack_map(&pk, 3 + (c->a != NULL) + (c->kw != NULL)) | pack_kv(&pk, "host", h->name) |
        pack_kv(&pk, "function", fn->name) | pack_kv(&pk, "backend", backend);
  /* The caller's bytes go as they are (checked to be one array / one map already), straight
   * into the request: only the keys are packed here. */
  if (c->a)
    bad |= msgpack_pack_str_with_body(&pk, "args", 4);
  kwargs_key = sb.size;
  if (c->kw)
    bad |= msgpack_pack_str_with_body(&pk, "kwargs", 6);
  if (!bad) {
    parts[n++] = (struct client_part){sb.data, kwargs_key};
    if (c->a)
      parts[n++] = (struct client_part){args, args_len};
    parts[n++] = (struct client_part){sb.data + kwargs_key, sb.size - kwargs_key};
    if (c->kw)
      parts[n++] = (struct client_part){kwargs, kwargs_len};
  }
  err = bad ? -ENOMEM : host_rpc_parts(h, "backend.call", parts, n, timeout_ms, &reply);
  msgpack_sbuffer_destroy(&sb);
  if (err == BACKEND_EREMOTE) {
    if ((err = error_result(reply, backend, out)) == 0 && (err = copy_error(*out, reply)) == -ENOMEM) {
      backend_result_free(&(*out)->pub);
      *out = NULL;
    }
  } else if (err == 0 && (err = read_answer(&reply->result, backend, out)) == 0 && (*out)->pub.fallback) {
    /* A backend-only keyword the daemon accepted is not the host implementation's business. */
    err = host_run_impl(h, fn, c->a, c->kw, false, *out);
    if (err == -ENOMEM) {
      backend_result_free(&(*out)->pub);
      *out = NULL;
    }
  }
  backend_reply_free(reply);
  return err;
}

static int call_cpu(backend_host *h, const struct host_fn *fn, const struct call_args *c, struct host_result **out) {
  int err = host_result_new(HOST_CPU, 1, out);

  if (err == 0 && (err = host_run_impl(h, fn, c->a, c->kw, true, *out)) == -ENOMEM) {
    backend_result_free(&(*out)->pub);
    *out = NULL;
  }
  return err;
}

static int unknown_function(backend_host *h, const char *function, const char *backend, struct host_result **out) {
  int err = host_result_new(backend, strcmp(backend, HOST_CPU) == 0, out);

  if (err == 0 && (err = host_result_failf(*out, PROTO_CODE_HOST_UNKNOWN_FUNCTION, "host '%s' declares no function '%.128s'",
                                           h->name, function)) == -ENOMEM) {
    backend_result_free(&(*out)->pub);
    *out = NULL;
  }
  return err;
}

BACKEND_EXPORT int backend_host_call(backend_host *h, const char *function, const void *args, size_t args_len,
                                     const void *kwargs, size_t kwargs_len, const char *backend, int timeout_ms,
                                     backend_result **out) {
  char name[HOSTDECL_BACKEND_NAME_MAX + 1];
  struct host_result *r = NULL;
  const struct host_fn *fn;
  struct call_args c;
  int err;

  if (!out)
    return BACKEND_EINVAL;
  *out = NULL;
  if (!h || !function || (err = select_backend(h, backend, name)) != 0)
    return BACKEND_EINVAL;
  if ((err = decode_args(&c, args, args_len, kwargs, kwargs_len)) != 0)
    return err;
  if (!(fn = host_find_fn(h, function)))
    err = unknown_function(h, function, name, &r);
  else if (strcmp(name, HOST_CPU) == 0)
    err = call_cpu(h, fn, &c, &r);
  else
    err = call_remote(h, fn, name, &c, args, args_len, kwargs, kwargs_len, timeout_ms, &r);
  msgpack_zone_destroy(&c.zone);
  if (r)
    *out = &r->pub;
  return err;
}

BACKEND_EXPORT int backend_host_list(backend_host *h, int timeout_ms, backend_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err;

  if (!out)
    return BACKEND_EINVAL;
  *out = NULL;
  if (!h)
    return BACKEND_EINVAL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (msgpack_pack_map(&pk, 1) | pack_kv(&pk, "host", h->name))
    err = -ENOMEM;
  else
    err = host_rpc(h, "backend.list", sb.data, sb.size, timeout_ms, out);
  msgpack_sbuffer_destroy(&sb);
  return err;
}

BACKEND_EXPORT int backend_host_describe(backend_host *h, const char *function, int timeout_ms, backend_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err;

  if (!out)
    return BACKEND_EINVAL;
  *out = NULL;
  if (!h || !function)
    return BACKEND_EINVAL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (msgpack_pack_map(&pk, 2) | pack_kv(&pk, "host", h->name) | pack_kv(&pk, "function", function))
    err = -ENOMEM;
  else
    err = host_rpc(h, "backend.describe", sb.data, sb.size, timeout_ms, out);
  msgpack_sbuffer_destroy(&sb);
  return err;
}
