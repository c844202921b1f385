#include "message.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define WHY_MSGID "msgid must be an unsigned 32-bit integer"

int proto_decode(const char *data, size_t len, msgpack_zone *zone, msgpack_object *out) {
  size_t off = 0;

  /* msgpack_unpack() is the entry point that allocates from a caller's zone. */
  switch (msgpack_unpack(data, len, &off, zone, out)) {
  case MSGPACK_UNPACK_SUCCESS:
    return 0;
  case MSGPACK_UNPACK_NOMEM_ERROR: /* also nesting beyond 32, which the framer rules out */
    return PROTO_ENOMEM;
  default: /* malformed, truncated, or followed by extra bytes */
    return PROTO_EPARSE;
  }
}

static int fail(const char **why, int err, const char *reason) {
  if (why)
    *why = reason;
  return err;
}

static int read_msgid(const msgpack_object *o, struct proto_msg *m) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
    return PROTO_EINVALID;
  m->msgid = (uint32_t)o->via.u64;
  m->has_msgid = 1;
  return 0;
}

static int read_method(const msgpack_object *o, struct proto_msg *m, const char **why) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0)
    return fail(why, PROTO_EINVALID, "method must be a non-empty string");
  m->method = o->via.str.ptr;
  m->method_len = o->via.str.size;
  return 0;
}

static int read_params(const msgpack_object *o, struct proto_msg *m, const char **why) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > 1 ||
      (o->via.array.size == 1 && o->via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
    return fail(why, PROTO_EPARAMS, "params must be [] or [map]");
  m->params = o->via.array.size == 1 ? &o->via.array.ptr[0] : NULL;
  return 0;
}

/* The msgid is read before the length is checked, so even a malformed request can be answered. */
static int parse_request(const msgpack_object *el, uint32_t n, struct proto_msg *m, const char **why) {
  int r;

  if (n >= 2 && read_msgid(&el[1], m) < 0)
    return fail(why, PROTO_EINVALID, WHY_MSGID);
  if (n != 4)
    return fail(why, PROTO_EINVALID, "request must have 4 elements [0, msgid, method, params]");
  r = read_method(&el[2], m, why);
  return r < 0 ? r : read_params(&el[3], m, why);
}

static int parse_response(const msgpack_object *el, uint32_t n, struct proto_msg *m, const char **why) {
  if (n >= 2 && read_msgid(&el[1], m) < 0)
    return fail(why, PROTO_EINVALID, WHY_MSGID);
  if (n != 4)
    return fail(why, PROTO_EINVALID, "response must have 4 elements [1, msgid, error, result]");
  m->error = el[2].type == MSGPACK_OBJECT_NIL ? NULL : &el[2];
  m->result = &el[3];
  return 0;
}

static int parse_notification(const msgpack_object *el, uint32_t n, struct proto_msg *m,
                              const char **why) {
  int r;

  if (n != 3)
    return fail(why, PROTO_EINVALID, "notification must have 3 elements [2, method, params]");
  r = read_method(&el[1], m, why);
  return r < 0 ? r : read_params(&el[2], m, why);
}

int proto_msg_parse(const msgpack_object *o, struct proto_msg *m, const char **why) {
  const msgpack_object *el;
  uint32_t n;

  memset(m, 0, sizeof *m);
  if (why)
    *why = NULL;
  if (o->type != MSGPACK_OBJECT_ARRAY)
    return fail(why, PROTO_EINVALID, "message must be an array");
  el = o->via.array.ptr;
  n = o->via.array.size;
  if (n == 0 || el[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || el[0].via.u64 > PROTO_NOTIFICATION)
    return fail(why, PROTO_EINVALID,
                "message type must be 0 (request), 1 (response) or 2 (notification)");
  m->type = (enum proto_msg_type)el[0].via.u64;
  switch (m->type) {
  case PROTO_REQUEST:
    return parse_request(el, n, m, why);
  case PROTO_RESPONSE:
    return parse_response(el, n, m, why);
  default:
    return parse_notification(el, n, m, why);
  }
}

int proto_error_parse(const msgpack_object *o, struct proto_error *e) {
  const msgpack_object *code = proto_map_get(o, "code");
  const msgpack_object *message = proto_map_get(o, "message");
  const msgpack_object *data = proto_map_get(o, "data");

  memset(e, 0, sizeof *e);
  if (!code || code->type != MSGPACK_OBJECT_STR || !message || message->type != MSGPACK_OBJECT_STR)
    return PROTO_EINVALID;
  e->code = code->via.str.ptr;
  e->code_len = code->via.str.size;
  e->message = message->via.str.ptr;
  e->message_len = message->via.str.size;
  e->data = data && data->type != MSGPACK_OBJECT_NIL ? data : NULL;
  return 0;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len) {
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

void proto_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method, size_t method_len) {
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint8(pk, PROTO_REQUEST);
  msgpack_pack_uint32(pk, msgid);
  pack_str(pk, method, method_len);
}

void proto_pack_notification_begin(msgpack_packer *pk, const char *method, size_t method_len) {
  msgpack_pack_array(pk, 3);
  msgpack_pack_uint8(pk, PROTO_NOTIFICATION);
  pack_str(pk, method, method_len);
}

void proto_pack_response_begin(msgpack_packer *pk, uint32_t msgid) {
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint8(pk, PROTO_RESPONSE);
  msgpack_pack_uint32(pk, msgid);
  msgpack_pack_nil(pk);
}

void proto_pack_error_object(msgpack_packer *pk, const char *code, const char *message) {
  msgpack_pack_map(pk, 3);
  proto_pack_cstr(pk, "code");
  proto_pack_cstr(pk, code);
  proto_pack_cstr(pk, "message");
  proto_pack_cstr(pk, message);
  proto_pack_cstr(pk, "data");
  msgpack_pack_nil(pk);
}

void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid, const char *code, const char *message) {
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint8(pk, PROTO_RESPONSE);
  msgpack_pack_uint32(pk, msgid);
  proto_pack_error_object(pk, code, message);
  msgpack_pack_nil(pk);
}

void proto_pack_cstr(msgpack_packer *pk, const char *s) {
  pack_str(pk, s, strlen(s));
}

void proto_pack_cstr_or_nil(msgpack_packer *pk, const char *s) {
  if (s != NULL)
    pack_str(pk, s, strlen(s));
  else
    msgpack_pack_nil(pk);
}

void proto_pack_bool(msgpack_packer *pk, int v) {
  if (v)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

int proto_str_eq(const msgpack_object *o, const char *s) {
  size_t n = strlen(s);

  /* msgpack-c may give an empty str a NULL ptr, which memcmp must not see */
  return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
         (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *proto_map_get(const msgpack_object *o, const char *key) {
  if (!o || o->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (uint32_t i = 0; i < o->via.map.size; i++)
    if (proto_str_eq(&o->via.map.ptr[i].key, key))
      return &o->via.map.ptr[i].val;
  return NULL;
}

static void *zone_dup(msgpack_zone *zone, const void *p, size_t n) {
  void *q = n > 0 ? msgpack_zone_malloc(zone, n) : NULL;
  if (q != NULL)
    memcpy(q, p, n);
  return q;
}

int proto_object_copy(msgpack_zone *zone, const msgpack_object *src, msgpack_object *dst) {
  *dst = *src;
  switch (src->type) {
  case MSGPACK_OBJECT_STR:
  case MSGPACK_OBJECT_BIN:
    if (src->via.str.size > 0 && (dst->via.str.ptr = zone_dup(zone, src->via.str.ptr, src->via.str.size)) == NULL)
      return PROTO_ENOMEM;
    return 0;
  case MSGPACK_OBJECT_EXT:
    if (src->via.ext.size > 0 && (dst->via.ext.ptr = zone_dup(zone, src->via.ext.ptr, src->via.ext.size)) == NULL)
      return PROTO_ENOMEM;
    return 0;
  case MSGPACK_OBJECT_ARRAY:
    if (src->via.array.size == 0)
      return 0;
    if ((dst->via.array.ptr = msgpack_zone_malloc(zone, src->via.array.size * sizeof(msgpack_object))) == NULL)
      return PROTO_ENOMEM;
    for (uint32_t i = 0; i < src->via.array.size; i++)
      if (proto_object_copy(zone, &src->via.array.ptr[i], &dst->via.array.ptr[i]) < 0)
        return PROTO_ENOMEM;
    return 0;
  case MSGPACK_OBJECT_MAP:
    if (src->via.map.size == 0)
      return 0;
    if ((dst->via.map.ptr = msgpack_zone_malloc(zone, src->via.map.size * sizeof(msgpack_object_kv))) == NULL)
      return PROTO_ENOMEM;
    for (uint32_t i = 0; i < src->via.map.size; i++)
      if (proto_object_copy(zone, &src->via.map.ptr[i].key, &dst->via.map.ptr[i].key) < 0 ||
          proto_object_copy(zone, &src->via.map.ptr[i].val, &dst->via.map.ptr[i].val) < 0)
        return PROTO_ENOMEM;
    return 0;
  default:
    return 0;
  }
}

char *proto_zone_strndup(msgpack_zone *zone, const char *s, size_t len) {
  char *copy = msgpack_zone_malloc_no_align(zone, len + 1);

  if (copy) {
    if (len > 0)
      memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

char *proto_strdup(const msgpack_object *o) {
  char *s;
  if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
      (o->via.str.size > 0 && memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL))
    return NULL;
  if ((s = malloc(o->via.str.size + 1)) == NULL)
    return NULL;
  if (o->via.str.size > 0)
    memcpy(s, o->via.str.ptr, o->via.str.size);
  s[o->via.str.size] = '\0';
  return s;
}
