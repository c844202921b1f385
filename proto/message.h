/* MessagePack-RPC messages: decoding a framed message, validating its shape, encoding. */
#ifndef BACKENDD_PROTO_MESSAGE_H
#define BACKENDD_PROTO_MESSAGE_H

#include <stdint.h>
#include <msgpack.h>

enum proto_msg_type { PROTO_REQUEST = 0, PROTO_RESPONSE = 1, PROTO_NOTIFICATION = 2 };

struct proto_msg {
  enum proto_msg_type type;
  int has_msgid;       /* set as soon as the msgid was read, even if validation then failed */
  uint32_t msgid;      /* request, response */
  const char *method;  /* request, notification; NOT NUL-terminated */
  uint32_t method_len;
  const msgpack_object *params; /* request, notification: the named-parameter map, or NULL for [] */
  const msgpack_object *error;  /* response: NULL when the error element is nil */
  const msgpack_object *result; /* response */
};

/*
 * Decodes one framed message (exactly `len` bytes, as returned by proto_frame_next) into
 * *out, allocating from `zone`. Strings in *out point into `zone` or into `data`, so keep
 * both alive while *out is used (msgpack-c may give an empty str a NULL ptr).
 * Returns 0, PROTO_EPARSE or PROTO_ENOMEM.
 */
int proto_decode(const char *data, size_t len, msgpack_zone *zone, msgpack_object *out);

/*
 * Validates the shape of a message and fills *m (pointers into *o). Returns 0 (with *why
 * set to NULL), or PROTO_EINVALID / PROTO_EPARAMS with *why set to a static one-line
 * reason; why may be NULL. On error, m->has_msgid tells whether an error response can be
 * addressed to m->msgid.
 */
int proto_msg_parse(const msgpack_object *o, struct proto_msg *m, const char **why);

/* Error object {"code", "message", "data"} as read from a response. */
struct proto_error {
  const char *code; uint32_t code_len;
  const char *message; uint32_t message_len;
  const msgpack_object *data; /* NULL when absent or nil */
};
/* Reads an error object. Returns 0 or PROTO_EINVALID (not a map with str code and message). */
int proto_error_parse(const msgpack_object *o, struct proto_error *e);

/*
 * Encoding. The *_begin functions open the message array and pack all but the last
 * element; the caller then packs exactly one object (the params array, or the result).
 */
void proto_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method, size_t method_len);
void proto_pack_notification_begin(msgpack_packer *pk, const char *method, size_t method_len);
void proto_pack_response_begin(msgpack_packer *pk, uint32_t msgid); /* [1, msgid, nil, <result>] */
/* A whole error response [1, msgid, {code, message, data: nil}, nil]. */
void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid, const char *code, const char *message);
/* Just the error object {code, message, data: nil}, for embedding elsewhere. */
void proto_pack_error_object(msgpack_packer *pk, const char *code, const char *message);

/* Packs a NUL-terminated string (convenience used all over). */
void proto_pack_cstr(msgpack_packer *pk, const char *s);
/* Packs s, or nil when s is NULL. */
void proto_pack_cstr_or_nil(msgpack_packer *pk, const char *s);
/* Packs true or false. */
void proto_pack_bool(msgpack_packer *pk, int v);
/* Compares a msgpack str object with a NUL-terminated string. */
int proto_str_eq(const msgpack_object *o, const char *s);
/* Looks up a key in a map object; NULL when absent or o is not a map. */
const msgpack_object *proto_map_get(const msgpack_object *o, const char *key);
/*
 * Deep-copies src into dst, every array, map, string, bin and ext body allocated from zone,
 * so dst outlives src's buffer. Returns 0 or PROTO_ENOMEM.
 */
int proto_object_copy(msgpack_zone *zone, const msgpack_object *src, msgpack_object *dst);
/* A NUL-terminated copy of a str object (malloc'd); NULL when o is not a str, holds a NUL byte, or no memory. */
char *proto_strdup(const msgpack_object *o);
/* s[0, len) as a NUL-terminated string allocated from zone; NULL when out of memory. */
char *proto_zone_strndup(msgpack_zone *zone, const char *s, size_t len);

#endif
