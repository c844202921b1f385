/* JSON -> msgpack (proto_msgpack_from_json), checked directly and round-tripped back through
 * proto_json_from_msgpack (proto/json.c). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

static msgpack_sbuffer sb;
static msgpack_packer pk;
static msgpack_unpacked up;
static json_t *in;

static void setup(void) {
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_unpacked_init(&up);
}
static void teardown(void) {
  msgpack_sbuffer_destroy(&sb);
  msgpack_unpacked_destroy(&up);
  json_decref(in);
  in = NULL;
}
TestSuite(json, .init = setup, .fini = teardown);

/* Parses text, packs it, and returns the decoded msgpack object. */
static const msgpack_object *convert(const char *text) {
  json_error_t err;

  json_decref(in);
  in = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  cr_assert_not_null(in, "bad test JSON: %s", err.text);
  msgpack_sbuffer_clear(&sb);
  cr_assert_eq(proto_msgpack_from_json(in, &pk), 0);
  cr_assert_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
  return &up.data;
}

static int str_is(const msgpack_object *o, const char *s, size_t n) {
  return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

Test(json, scalars_map_to_their_msgpack_types) {
  const msgpack_object *o = convert("[1, -2, 9223372036854775807, -9223372036854775808, 1.5, -0.25,"
                                    " true, false, null, \"\", \"h\\u00e9\", \"a\\u0000b\"]");
  const msgpack_object *a = o->via.array.ptr;

  cr_assert_eq(o->type, MSGPACK_OBJECT_ARRAY);
  cr_assert_eq(o->via.array.size, 12);
  cr_assert_eq(a[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  cr_assert_eq(a[0].via.u64, 1);
  cr_assert_eq(a[1].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
  cr_assert_eq(a[1].via.i64, -2);
  cr_assert_eq(a[2].via.u64, (uint64_t)INT64_MAX);
  cr_assert_eq(a[3].via.i64, INT64_MIN);
  cr_assert_eq(a[4].type, MSGPACK_OBJECT_FLOAT64);
  cr_assert_eq(a[4].via.f64, 1.5);
  cr_assert_eq(a[5].via.f64, -0.25);
  cr_assert_eq(a[6].type, MSGPACK_OBJECT_BOOLEAN);
  cr_assert(a[6].via.boolean);
  cr_assert_eq(a[7].type, MSGPACK_OBJECT_BOOLEAN);
  cr_assert(!a[7].via.boolean);
  cr_assert_eq(a[8].type, MSGPACK_OBJECT_NIL);
  cr_assert(str_is(&a[9], "", 0));
  cr_assert(str_is(&a[10], "h\xc3\xa9", 3));
  cr_assert(str_is(&a[11], "a\0b", 3)); /* NUL kept: the length comes from jansson */
}

Test(json, objects_become_maps_in_document_order) {
  const msgpack_object *o = convert("{\"z\": 1, \"a\": {\"y\": [], \"b\": {}}, \"m\": [[1], {\"k\": 2}]}");
  const msgpack_object_kv *kv = o->via.map.ptr;

  cr_assert_eq(o->type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(o->via.map.size, 3);
  cr_assert(str_is(&kv[0].key, "z", 1));
  cr_assert(str_is(&kv[1].key, "a", 1));
  cr_assert(str_is(&kv[2].key, "m", 1));
  cr_assert_eq(kv[1].val.type, MSGPACK_OBJECT_MAP);
  cr_assert(str_is(&kv[1].val.via.map.ptr[0].key, "y", 1));
  cr_assert_eq(kv[1].val.via.map.ptr[0].val.type, MSGPACK_OBJECT_ARRAY);
  cr_assert_eq(kv[1].val.via.map.ptr[0].val.via.array.size, 0);
  cr_assert(str_is(&kv[1].val.via.map.ptr[1].key, "b", 1));
  cr_assert_eq(kv[1].val.via.map.ptr[1].val.via.map.size, 0);
  cr_assert_eq(kv[2].val.via.array.ptr[0].via.array.ptr[0].via.u64, 1);
  cr_assert(str_is(&kv[2].val.via.array.ptr[1].via.map.ptr[0].key, "k", 1));
}

Test(json, keys_keep_their_length) {
  json_t *obj = json_object();
  const msgpack_object *o;

  /* jansson's parser refuses NUL in keys, but an object built in code may have one */
  cr_assert_eq(json_object_setn_new(obj, "k\0x", 3, json_integer(2)), 0);
  cr_assert_eq(proto_msgpack_from_json(obj, &pk), 0);
  cr_assert_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
  o = &up.data;
  cr_assert_eq(o->via.map.size, 1);
  cr_assert(str_is(&o->via.map.ptr[0].key, "k\0x", 3));
  json_decref(obj);
}

Test(json, round_trips_through_proto_json_from_msgpack) {
  static const char *docs[] = {
      "{\"variants\": {\"null\": {}, \"x86_64_v3\": {\"x86_64\": {\"level\": [\"v3\"]}}},"
      " \"default-priorities\": {\"namespace\": [\"x86_64\"], \"feature\": {}, \"property\": {}}}",
      "[0, -1, 4294967296, -4294967297, 0.5, 1e300, true, false, null, \"\\u2603 snow\", [[[]]], {}]",
      "\"just a string\"",
      "42",
      "null",
  };

  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    const msgpack_object *o = convert(docs[i]);
    json_t *back = proto_json_from_msgpack(o);
    char *a = json_dumps(in, JSON_ENCODE_ANY | JSON_COMPACT), *b = json_dumps(back, JSON_ENCODE_ANY | JSON_COMPACT);
    cr_assert_not_null(back);
    cr_assert(json_equal(in, back), "%s became %s", a, b);
    cr_assert_str_eq(a, b); /* same key order too */
    free(a);
    free(b);
    json_decref(back);
  }
}

static int failing_write(void *data, const char *buf, size_t len) {
  int *budget = data;
  (void)buf;
  if (*budget < (int)len)
    return -1;
  *budget -= (int)len;
  return 0;
}

Test(json, writer_failure_is_reported) {
  msgpack_packer bad;
  json_error_t err;
  json_t *j = json_loads("{\"key\": [\"value\", 1, 2.5, true, null, {\"k\": \"v\"}]}", 0, &err);

  cr_assert_not_null(j);
  /* fail the write at every offset: each must surface as -1 */
  for (int limit = 0; limit < 40; limit++) {
    int budget = limit;
    msgpack_packer_init(&bad, &budget, failing_write);
    cr_assert_eq(proto_msgpack_from_json(j, &bad), limit < 29 ? -1 : 0, "budget %d", limit);
  }
  json_decref(j);
  cr_assert_eq(proto_msgpack_from_json(NULL, &pk), -1);
}
