/* Conversion between msgpack objects and jansson values. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *hex_string(const char *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  char *hex = malloc(len * 2 + 1);
  json_t *j;

  if (!hex)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    hex[2 * i] = digits[(unsigned char)data[i] >> 4];
    hex[2 * i + 1] = digits[(unsigned char)data[i] & 0xf];
  }
  j = json_stringn(hex, len * 2);
  free(hex);
  return j;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  size_t len;
  uint32_t cp;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, cp = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  /* overlong forms, surrogates, beyond U+10FFFF */
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* A NUL-terminated copy of s with invalid UTF-8 replaced by U+FFFD; free() it. */
static char *utf8_copy(const char *s, size_t n) {
  char *out = malloc(n * 3 + 1); /* each invalid byte grows to 3 */
  size_t o = 0;

  if (!out)
    return NULL;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_seq((const unsigned char *)s + i, n - i);
    if (len) {
      memcpy(out + o, s + i, len);
      o += len;
      i += len;
    } else {
      memcpy(out + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  out[o] = '\0';
  return out;
}

static json_t *string(const char *s, size_t n) {
  json_t *j = json_stringn(s, n); /* fails on invalid UTF-8 */
  char *copy;

  if (j)
    return j;
  copy = utf8_copy(s, n);
  if (!copy)
    return NULL;
  j = json_string(copy);
  free(copy);
  return j;
}

/* The text used as an object key for a map key k; free() it. */
static char *key_text(const msgpack_object *k) {
  json_t *j;
  char *text;

  if (k->type == MSGPACK_OBJECT_STR)
    return utf8_copy(k->via.str.ptr, k->via.str.size);
  j = proto_json_from_msgpack(k);
  if (!j)
    return NULL;
  text = json_is_string(j) ? strdup(json_string_value(j))
                           : json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(j);
  return text;
}

static json_t *map(const msgpack_object_map *m) {
  json_t *obj = json_object();

  for (uint32_t i = 0; obj && i < m->size; i++) {
    char *key = key_text(&m->ptr[i].key);
    json_t *val = key ? proto_json_from_msgpack(&m->ptr[i].val) : NULL;
    if (!val || json_object_set_new(obj, key, val) != 0) {
      json_decref(obj);
      obj = NULL;
    }
    free(key);
  }
  return obj;
}

static json_t *array(const msgpack_object_array *a) {
  json_t *arr = json_array();

  for (uint32_t i = 0; arr && i < a->size; i++) {
    if (json_array_append_new(arr, proto_json_from_msgpack(&a->ptr[i])) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  }
  return arr;
}

static json_t *ext(const msgpack_object_ext *e) {
  json_t *obj = json_object();

  /* json_object_set_new() takes the value's reference even when it fails. */
  if (obj && (json_object_set_new(obj, "ext_type", json_integer(e->type)) != 0 ||
              json_object_set_new(obj, "data", hex_string(e->ptr, e->size)) != 0)) {
    json_decref(obj);
    obj = NULL;
  }
  return obj;
}

json_t *proto_json_from_msgpack(const msgpack_object *o) {
  json_t *j;

  switch (o->type) {
  case MSGPACK_OBJECT_BOOLEAN:
    return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (o->via.u64 > INT64_MAX)
      return json_real((double)o->via.u64);
    return json_integer((json_int_t)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return json_integer((json_int_t)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    j = json_real(o->via.f64); /* NULL for NaN and infinities, which JSON lacks */
    return j ? j : json_null();
  case MSGPACK_OBJECT_STR:
    return string(o->via.str.ptr, o->via.str.size);
  case MSGPACK_OBJECT_BIN:
    return hex_string(o->via.bin.ptr, o->via.bin.size);
  case MSGPACK_OBJECT_EXT:
    return ext(&o->via.ext);
  case MSGPACK_OBJECT_ARRAY:
    return array(&o->via.array);
  case MSGPACK_OBJECT_MAP:
    return map(&o->via.map);
  case MSGPACK_OBJECT_NIL:
    break;
  }
  return json_null();
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n) {
  if (msgpack_pack_str(pk, n) != 0)
    return -1;
  return n > 0 ? msgpack_pack_str_body(pk, s, n) : 0;
}

static int pack_object(json_t *j, msgpack_packer *pk) {
  if (msgpack_pack_map(pk, json_object_size(j)) != 0)
    return -1;
  for (void *it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it)) {
    const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
    size_t key_len = json_object_iter_key_len(it); /* keys may hold NUL ("\u0000") */
#else
    size_t key_len = strlen(key);
#endif
    if (pack_str(pk, key, key_len) != 0 || proto_msgpack_from_json(json_object_iter_value(it), pk) != 0)
      return -1;
  }
  return 0;
}

static int pack_array(json_t *j, msgpack_packer *pk) {
  size_t i;
  json_t *val;

  if (msgpack_pack_array(pk, json_array_size(j)) != 0)
    return -1;
  json_array_foreach(j, i, val) {
    if (proto_msgpack_from_json(val, pk) != 0)
      return -1;
  }
  return 0;
}

int proto_msgpack_from_json(json_t *j, msgpack_packer *pk) {
  if (j == NULL)
    return -1;
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    return pack_object(j, pk);
  case JSON_ARRAY:
    return pack_array(j, pk);
  case JSON_STRING:
    return pack_str(pk, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    return msgpack_pack_int64(pk, json_integer_value(j));
  case JSON_REAL:
    return msgpack_pack_double(pk, json_real_value(j));
  case JSON_TRUE:
    return msgpack_pack_true(pk);
  case JSON_FALSE:
    return msgpack_pack_false(pk);
  case JSON_NULL:
    break;
  }
  return msgpack_pack_nil(pk);
}
