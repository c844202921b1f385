/* Unit tests for proto/message.c, proto/errors.c and proto/limits.c. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <string.h>

#include "errors.h"
#include "limits.h"
#include "message.h"

#define WHY_ARRAY "message must be an array"
#define WHY_TYPE "message type must be 0 (request), 1 (response) or 2 (notification)"
#define WHY_MSGID "msgid must be an unsigned 32-bit integer"
#define WHY_METHOD "method must be a non-empty string"
#define WHY_PARAMS "params must be [] or [map]"
#define WHY_REQUEST "request must have 4 elements [0, msgid, method, params]"
#define WHY_RESPONSE "response must have 4 elements [1, msgid, error, result]"
#define WHY_NOTIFICATION "notification must have 3 elements [2, method, params]"

static msgpack_zone zone;
static msgpack_sbuffer sb;
static msgpack_packer pk;

static void setup(void) {
  msgpack_zone_init(&zone, 1024);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}

static void teardown(void) {
  msgpack_sbuffer_destroy(&sb);
  msgpack_zone_destroy(&zone);
}

TestSuite(decode, .init = setup, .fini = teardown);
TestSuite(msg, .init = setup, .fini = teardown);
TestSuite(pack, .init = setup, .fini = teardown);
TestSuite(error_obj, .init = setup, .fini = teardown);
TestSuite(helpers, .init = setup, .fini = teardown);

static msgpack_object decode(const char *bytes, size_t len) {
  msgpack_object o;

  cr_assert_eq(proto_decode(bytes, len, &zone, &o), 0, "decoding %zu bytes", len);
  return o;
}
#define DECODE(lit) decode((lit), sizeof(lit) - 1)

/* The packed bytes equal a literal. */
static void assert_packed(const char *expected, size_t len) {
  cr_assert_eq(sb.size, len, "packed %zu bytes, expected %zu", sb.size, len);
  cr_assert(memcmp(sb.data, expected, len) == 0, "packed bytes differ");
}
#define ASSERT_PACKED(lit) assert_packed((lit), sizeof(lit) - 1)

static int method_is(const struct proto_msg *m, const char *s) {
  return m->method_len == strlen(s) && memcmp(m->method, s, m->method_len) == 0;
}

/* --- proto_decode --- */

Test(decode, one_complete_object) {
  msgpack_object o = DECODE("\x93\x02\xa1x\x90");

  cr_assert_eq(o.type, MSGPACK_OBJECT_ARRAY);
  cr_assert_eq(o.via.array.size, 3);
  cr_assert(proto_str_eq(&o.via.array.ptr[1], "x"));
}

Test(decode, rejects_anything_but_exactly_one_object) {
  static const struct { const char *bytes; size_t len; } bad[] = {
    { "", 0 },                 /* nothing */
    { "\x90\x90", 2 },         /* trailing bytes */
    { "\x92\x01", 2 },         /* truncated container */
    { "\xa3" "ab", 3 },        /* truncated string */
    { "\xc1", 1 },             /* never-used byte */
    { "\x91\xc1", 2 },
  };
  msgpack_object o;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(proto_decode(bad[i].bytes, bad[i].len, &zone, &o), PROTO_EPARSE, "case %zu", i);
}

/* --- proto_msg_parse: valid messages --- */

static struct proto_msg parse_ok(const char *bytes, size_t len) {
  msgpack_object o = decode(bytes, len);
  struct proto_msg m;
  const char *why = "unset";
  int r = proto_msg_parse(&o, &m, &why);

  cr_assert_eq(r, 0, "parse failed: %s", why ? why : "(null)");
  cr_assert_null(why);
  return m;
}
#define PARSE_OK(lit) parse_ok((lit), sizeof(lit) - 1)

Test(msg, request_without_params) {
  struct proto_msg m = PARSE_OK("\x94\x00\x05\xa4ping\x90");

  cr_assert_eq(m.type, PROTO_REQUEST);
  cr_assert(m.has_msgid);
  cr_assert_eq(m.msgid, 5);
  cr_assert(method_is(&m, "ping"));
  cr_assert_null(m.params);
  cr_assert_null(m.error);
  cr_assert_null(m.result);
}

Test(msg, request_with_named_params) {
  struct proto_msg m = PARSE_OK("\x94\x00\x05\xa4ping\x91\x81\xa1x\x07");

  cr_assert_not_null(m.params);
  cr_assert_eq(m.params->type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(proto_map_get(m.params, "x")->via.u64, 7);
}

Test(msg, msgid_in_every_unsigned_encoding) {
  cr_assert_eq(PARSE_OK("\x94\x00\x00\xa1m\x90").msgid, 0);
  cr_assert_eq(PARSE_OK("\x94\x00\xcc\xff\xa1m\x90").msgid, 255);
  cr_assert_eq(PARSE_OK("\x94\x00\xcd\x12\x34\xa1m\x90").msgid, 0x1234);
  cr_assert_eq(PARSE_OK("\x94\x00\xce\xff\xff\xff\xff\xa1m\x90").msgid, UINT32_MAX);
  cr_assert_eq(PARSE_OK("\x94\x00\xcf\x00\x00\x00\x00\xff\xff\xff\xff\xa1m\x90").msgid, UINT32_MAX);
  cr_assert_eq(PARSE_OK("\x94\x00\xd0\x05\xa1m\x90").msgid, 5); /* non-negative int8 */
  cr_assert_eq(PARSE_OK("\x94\xcc\x00\xd0\x05\xa1m\x90").type, PROTO_REQUEST); /* type as uint8 */
}

Test(msg, response_with_result) {
  struct proto_msg m = PARSE_OK("\x94\x01\x07\xc0\x2a");

  cr_assert_eq(m.type, PROTO_RESPONSE);
  cr_assert(m.has_msgid);
  cr_assert_eq(m.msgid, 7);
  cr_assert_null(m.error);
  cr_assert_not_null(m.result);
  cr_assert_eq(m.result->via.u64, 42);
  cr_assert_null(m.method);
  cr_assert_null(m.params);
}

Test(msg, response_with_error_of_any_type) {
  struct proto_msg m = PARSE_OK("\x94\x01\x07\x81\xa1k\x01\xc0");

  cr_assert_not_null(m.error);
  cr_assert_eq(m.error->type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(m.result->type, MSGPACK_OBJECT_NIL);
  m = PARSE_OK("\x94\x01\x07\xa4oops\xc0");
  cr_assert_eq(m.error->type, MSGPACK_OBJECT_STR);
}

Test(msg, notification) {
  struct proto_msg m = PARSE_OK("\x93\x02\xa3log\x90");

  cr_assert_eq(m.type, PROTO_NOTIFICATION);
  cr_assert_not(m.has_msgid);
  cr_assert(method_is(&m, "log"));
  cr_assert_null(m.params);
  m = PARSE_OK("\x93\x02\xa3log\x91\x80");
  cr_assert_not_null(m.params);
  cr_assert_eq(m.params->via.map.size, 0);
}

Test(msg, why_may_be_null) {
  msgpack_object o = DECODE("\x05");
  struct proto_msg m;

  cr_assert_eq(proto_msg_parse(&o, &m, NULL), PROTO_EINVALID);
}

/* --- proto_msg_parse: every shape rule --- */

struct bad {
  const char *bytes;
  size_t len;
  int rc;
  int has_msgid;
  uint32_t msgid;
  const char *why;
};
#define BAD(lit, rc, has, id, why) { (lit), sizeof(lit) - 1, (rc), (has), (id), (why) }

static void assert_bad(const struct bad *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const struct bad *c = &cases[i];
    msgpack_object o = decode(c->bytes, c->len);
    struct proto_msg m;
    const char *why = NULL;
    int r;

    memset(&m, 0xa5, sizeof m); /* parse must reset every field */
    r = proto_msg_parse(&o, &m, &why);
    cr_assert_eq(r, c->rc, "case %zu: rc %d, expected %d", i, r, c->rc);
    cr_assert_str_eq(why, c->why, "case %zu", i);
    cr_assert_eq(m.has_msgid, c->has_msgid, "case %zu: has_msgid %d", i, m.has_msgid);
    if (c->has_msgid)
      cr_assert_eq(m.msgid, c->msgid, "case %zu: msgid %u", i, m.msgid);
  }
}
#define ASSERT_BAD(cases) assert_bad((cases), sizeof(cases) / sizeof((cases)[0]))

Test(msg, message_must_be_an_array) {
  static const struct bad cases[] = {
    BAD("\x81\xa1m\x01", PROTO_EINVALID, 0, 0, WHY_ARRAY),
    BAD("\x05", PROTO_EINVALID, 0, 0, WHY_ARRAY),
    BAD("\xc0", PROTO_EINVALID, 0, 0, WHY_ARRAY),
    BAD("\xa4ping", PROTO_EINVALID, 0, 0, WHY_ARRAY),
  };
  ASSERT_BAD(cases);
}

Test(msg, type_must_be_0_1_or_2) {
  static const struct bad cases[] = {
    BAD("\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
    BAD("\x94\x03\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
    BAD("\x94\xff\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
    BAD("\x94\xa1" "0\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
    BAD("\x94\xca\x00\x00\x00\x00\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
    BAD("\x94\xc0\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_TYPE),
  };
  ASSERT_BAD(cases);
}

Test(msg, request_length) {
  static const struct bad cases[] = {
    BAD("\x91\x00", PROTO_EINVALID, 0, 0, WHY_REQUEST),
    BAD("\x92\x00\x05", PROTO_EINVALID, 1, 5, WHY_REQUEST),
    BAD("\x93\x00\x05\xa1m", PROTO_EINVALID, 1, 5, WHY_REQUEST),
    BAD("\x95\x00\x05\xa1m\x90\xc0", PROTO_EINVALID, 1, 5, WHY_REQUEST),
    BAD("\x92\x00\xff", PROTO_EINVALID, 0, 0, WHY_MSGID), /* the msgid is checked first */
  };
  ASSERT_BAD(cases);
}

Test(msg, request_msgid_must_be_uint32) {
  static const struct bad cases[] = {
    BAD("\x94\x00\xff\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xd0\x80\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xd3\x80\x00\x00\x00\x00\x00\x00\x00\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xcb\x40\x14\x00\x00\x00\x00\x00\x00\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xa1" "5\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xc0\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x00\xc3\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_MSGID),
  };
  ASSERT_BAD(cases);
}

Test(msg, request_method_must_be_a_non_empty_string) {
  static const struct bad cases[] = {
    BAD("\x94\x00\x05\xa0\x90", PROTO_EINVALID, 1, 5, WHY_METHOD),
    BAD("\x94\x00\x05\x07\x90", PROTO_EINVALID, 1, 5, WHY_METHOD),
    BAD("\x94\x00\x05\xc4\x01m\x90", PROTO_EINVALID, 1, 5, WHY_METHOD), /* bin, not str */
    BAD("\x94\x00\x05\xc0\x90", PROTO_EINVALID, 1, 5, WHY_METHOD),
    BAD("\x94\x00\x05\x91\xa1m\x90", PROTO_EINVALID, 1, 5, WHY_METHOD),
  };
  ASSERT_BAD(cases);
}

Test(msg, request_params_must_be_empty_or_one_map) {
  static const struct bad cases[] = {
    BAD("\x94\x00\x05\xa1m\x80", PROTO_EPARAMS, 1, 5, WHY_PARAMS),        /* a bare map */
    BAD("\x94\x00\x05\xa1m\xc0", PROTO_EPARAMS, 1, 5, WHY_PARAMS),        /* nil */
    BAD("\x94\x00\x05\xa1m\x01", PROTO_EPARAMS, 1, 5, WHY_PARAMS),
    BAD("\x94\x00\x05\xa1m\xa1x", PROTO_EPARAMS, 1, 5, WHY_PARAMS),
    BAD("\x94\x00\x05\xa1m\x91\x01", PROTO_EPARAMS, 1, 5, WHY_PARAMS),    /* positional */
    BAD("\x94\x00\x05\xa1m\x91\xc0", PROTO_EPARAMS, 1, 5, WHY_PARAMS),
    BAD("\x94\x00\x05\xa1m\x91\x90", PROTO_EPARAMS, 1, 5, WHY_PARAMS),
    BAD("\x94\x00\x05\xa1m\x92\x80\x80", PROTO_EPARAMS, 1, 5, WHY_PARAMS), /* two maps */
    BAD("\x94\x00\x05\xa1m\x92\x80\x01", PROTO_EPARAMS, 1, 5, WHY_PARAMS),
  };
  ASSERT_BAD(cases);
}

Test(msg, response_shape) {
  static const struct bad cases[] = {
    BAD("\x91\x01", PROTO_EINVALID, 0, 0, WHY_RESPONSE),
    BAD("\x92\x01\x07", PROTO_EINVALID, 1, 7, WHY_RESPONSE),
    BAD("\x93\x01\x07\xc0", PROTO_EINVALID, 1, 7, WHY_RESPONSE),
    BAD("\x95\x01\x07\xc0\xc0\xc0", PROTO_EINVALID, 1, 7, WHY_RESPONSE),
    BAD("\x94\x01\xff\xc0\xc0", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xc0\xc0", PROTO_EINVALID, 0, 0, WHY_MSGID),
    BAD("\x94\x01\xa1" "7\xc0\xc0", PROTO_EINVALID, 0, 0, WHY_MSGID),
  };
  ASSERT_BAD(cases);
}

Test(msg, notification_shape) {
  static const struct bad cases[] = {
    BAD("\x91\x02", PROTO_EINVALID, 0, 0, WHY_NOTIFICATION),
    BAD("\x92\x02\xa1m", PROTO_EINVALID, 0, 0, WHY_NOTIFICATION),
    BAD("\x94\x02\xa1m\x90\xc0", PROTO_EINVALID, 0, 0, WHY_NOTIFICATION),
    BAD("\x94\x02\x05\xa1m\x90", PROTO_EINVALID, 0, 0, WHY_NOTIFICATION), /* a msgid does not belong */
    BAD("\x93\x02\xa0\x90", PROTO_EINVALID, 0, 0, WHY_METHOD),
    BAD("\x93\x02\x05\x90", PROTO_EINVALID, 0, 0, WHY_METHOD),
    BAD("\x93\x02\xa1m\x80", PROTO_EPARAMS, 0, 0, WHY_PARAMS),
    BAD("\x93\x02\xa1m\x91\x01", PROTO_EPARAMS, 0, 0, WHY_PARAMS),
    BAD("\x93\x02\xa1m\x92\x80\x80", PROTO_EPARAMS, 0, 0, WHY_PARAMS),
  };
  ASSERT_BAD(cases);
}

/* --- pack helpers: exact bytes, and round trips --- */

static struct proto_msg parse_packed(void) {
  msgpack_object o;
  struct proto_msg m;
  const char *why = NULL;

  cr_assert_eq(proto_decode(sb.data, sb.size, &zone, &o), 0);
  cr_assert_eq(proto_msg_parse(&o, &m, &why), 0, "%s", why);
  return m;
}

Test(pack, request) {
  struct proto_msg m;

  proto_pack_request_begin(&pk, 42, "daemon.ping", 11);
  msgpack_pack_array(&pk, 0);
  ASSERT_PACKED("\x94\x00\x2a\xab" "daemon.ping\x90");
  m = parse_packed();
  cr_assert_eq(m.type, PROTO_REQUEST);
  cr_assert_eq(m.msgid, 42);
  cr_assert(method_is(&m, "daemon.ping"));
  cr_assert_null(m.params);
}

Test(pack, request_with_params_and_largest_msgid) {
  struct proto_msg m;

  proto_pack_request_begin(&pk, UINT32_MAX, "variant.validate", 16);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 1);
  proto_pack_cstr(&pk, "properties");
  msgpack_pack_array(&pk, 1);
  proto_pack_cstr(&pk, "x86 :: level :: v3");
  m = parse_packed();
  cr_assert_eq(m.msgid, UINT32_MAX);
  cr_assert(method_is(&m, "variant.validate"));
  cr_assert_not_null(m.params);
  cr_assert(proto_str_eq(&proto_map_get(m.params, "properties")->via.array.ptr[0], "x86 :: level :: v3"));
}

Test(pack, method_with_explicit_length) {
  struct proto_msg m;

  proto_pack_request_begin(&pk, 1, "backend.call-and-more", 12); /* not NUL-terminated use */
  msgpack_pack_array(&pk, 0);
  m = parse_packed();
  cr_assert(method_is(&m, "backend.call"));
}

Test(pack, notification) {
  struct proto_msg m;

  proto_pack_notification_begin(&pk, "log", 3);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 0);
  ASSERT_PACKED("\x93\x02\xa3log\x91\x80");
  m = parse_packed();
  cr_assert_eq(m.type, PROTO_NOTIFICATION);
  cr_assert(method_is(&m, "log"));
  cr_assert_not_null(m.params);
}

Test(pack, response) {
  struct proto_msg m;

  proto_pack_response_begin(&pk, 7);
  proto_pack_cstr(&pk, "ok");
  ASSERT_PACKED("\x94\x01\x07\xc0\xa2ok");
  m = parse_packed();
  cr_assert_eq(m.type, PROTO_RESPONSE);
  cr_assert_eq(m.msgid, 7);
  cr_assert_null(m.error);
  cr_assert(proto_str_eq(m.result, "ok"));
}

Test(pack, error_response) {
  struct proto_msg m;
  struct proto_error e;

  proto_pack_error_response(&pk, 9, PROTO_CODE_METHOD_NOT_FOUND, "hi");
  ASSERT_PACKED("\x94\x01\x09\x83\xa4" "code\xaf" "Method.NotFound\xa7message\xa2hi\xa4" "data\xc0\xc0");
  m = parse_packed();
  cr_assert_eq(m.type, PROTO_RESPONSE);
  cr_assert_eq(m.msgid, 9);
  cr_assert_not_null(m.error);
  cr_assert_eq(m.result->type, MSGPACK_OBJECT_NIL);
  cr_assert_eq(proto_error_parse(m.error, &e), 0);
  cr_assert_eq(e.code_len, strlen(PROTO_CODE_METHOD_NOT_FOUND));
  cr_assert(memcmp(e.code, PROTO_CODE_METHOD_NOT_FOUND, e.code_len) == 0);
  cr_assert_eq(e.message_len, 2);
  cr_assert(memcmp(e.message, "hi", 2) == 0);
  cr_assert_null(e.data);
}

Test(pack, error_object_alone) {
  msgpack_object o;
  struct proto_error e;

  proto_pack_error_object(&pk, "Variant.InvalidProperty", "");
  cr_assert_eq(proto_decode(sb.data, sb.size, &zone, &o), 0);
  cr_assert_eq(o.type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(o.via.map.size, 3);
  cr_assert_eq(proto_map_get(&o, "data")->type, MSGPACK_OBJECT_NIL);
  cr_assert_eq(proto_error_parse(&o, &e), 0);
  cr_assert_eq(e.code_len, strlen("Variant.InvalidProperty"));
  cr_assert_eq(e.message_len, 0);
}

Test(pack, cstr) {
  proto_pack_cstr(&pk, "");
  proto_pack_cstr(&pk, "abc");
  ASSERT_PACKED("\xa0\xa3" "abc");
}

/* --- proto_error_parse --- */

Test(error_obj, with_data) {
  msgpack_object o = DECODE("\x83\xa4" "code\xa3X.Y\xa7message\xa1m\xa4" "data\x91\x01");
  struct proto_error e;

  cr_assert_eq(proto_error_parse(&o, &e), 0);
  cr_assert_eq(e.code_len, 3);
  cr_assert(memcmp(e.code, "X.Y", 3) == 0);
  cr_assert_eq(e.message_len, 1);
  cr_assert_eq(e.message[0], 'm');
  cr_assert_not_null(e.data);
  cr_assert_eq(e.data->type, MSGPACK_OBJECT_ARRAY);
}

Test(error_obj, data_absent_and_other_keys_ignored) {
  msgpack_object o = DECODE("\x84\x01\x02\xa5" "extra\xc3\xa7message\xa1m\xa4" "code\xa3X.Y");
  struct proto_error e;

  cr_assert_eq(proto_error_parse(&o, &e), 0);
  cr_assert_eq(e.code_len, 3);
  cr_assert_null(e.data);
}

Test(error_obj, rejects_malformed) {
  static const struct { const char *bytes; size_t len; } bad[] = {
#define E(lit) { (lit), sizeof(lit) - 1 }
    E("\xc0"),
    E("\x92\xa3X.Y\xa1m"),
    E("\xa3X.Y"),
    E("\x80"),
    E("\x81\xa7message\xa1m"),                             /* no code */
    E("\x81\xa4" "code\xa3X.Y"),                           /* no message */
    E("\x82\xa4" "code\x05\xa7message\xa1m"),              /* code not a string */
    E("\x82\xa4" "code\xc4\x01X\xa7message\xa1m"),         /* code is bin */
    E("\x82\xa4" "code\xa3X.Y\xa7message\xc0"),            /* message nil */
    E("\x82\xc4\x04" "code\xa3X.Y\xa7message\xa1m"),       /* key is bin */
#undef E
  };
  struct proto_error e;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    msgpack_object o = decode(bad[i].bytes, bad[i].len);
    cr_assert_eq(proto_error_parse(&o, &e), PROTO_EINVALID, "case %zu", i);
  }
}

/* --- proto_map_get, proto_str_eq --- */

Test(helpers, map_get) {
  msgpack_object o = DECODE("\x83\x05\x06\xc4\x01k\x07\xa1k\x08");
  msgpack_object arr = DECODE("\x92\xa1k\x01");

  cr_assert_eq(proto_map_get(&o, "k")->via.u64, 8); /* int and bin keys do not match */
  cr_assert_null(proto_map_get(&o, "kk"));
  cr_assert_null(proto_map_get(&o, ""));
  cr_assert_null(proto_map_get(&arr, "k"));
  cr_assert_null(proto_map_get(NULL, "k"));
}

Test(helpers, map_get_returns_first_duplicate) {
  msgpack_object o = DECODE("\x82\xa1k\x01\xa1k\x02");

  cr_assert_eq(proto_map_get(&o, "k")->via.u64, 1);
}

Test(helpers, str_eq) {
  msgpack_object s = DECODE("\xa3" "abc");
  msgpack_object empty = DECODE("\xa0");
  msgpack_object bin = DECODE("\xc4\x03" "abc");

  cr_assert(proto_str_eq(&s, "abc"));
  cr_assert_not(proto_str_eq(&s, "ab"));
  cr_assert_not(proto_str_eq(&s, "abcd"));
  cr_assert_not(proto_str_eq(&s, "abd"));
  cr_assert(proto_str_eq(&empty, ""));
  cr_assert_not(proto_str_eq(&empty, "a"));
  cr_assert_not(proto_str_eq(&bin, "abc"));
  cr_assert_not(proto_str_eq(NULL, "abc"));
}

/* --- errors.c, limits.c --- */

Test(errors, every_code_has_a_text_and_a_wire_code) {
  static const struct { int err; const char *code; } map[] = {
    { PROTO_EPARSE, PROTO_CODE_PARSE_ERROR },
    { PROTO_ETOOBIG, PROTO_CODE_MESSAGE_TOO_LARGE },
    { PROTO_EDEPTH, PROTO_CODE_TOO_DEEP },
    { PROTO_ESTRLEN, PROTO_CODE_STRING_TOO_LONG },
    { PROTO_EINVALID, PROTO_CODE_INVALID_REQUEST },
    { PROTO_EPARAMS, PROTO_CODE_INVALID_PARAMS },
    { PROTO_ENOMEM, PROTO_CODE_INTERNAL },
    { PROTO_ETOOMANY, PROTO_CODE_TOO_MANY_ELEMENTS },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    cr_assert_str_eq(proto_err_code(map[i].err), map[i].code);
    cr_assert_str_neq(proto_strerror(map[i].err), "unknown error");
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(proto_strerror(map[i].err), proto_strerror(map[j].err));
  }
}

Test(errors, unknown_codes) {
  static const int unknown[] = { 0, -1, -4000, -4009, 4001 };

  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    cr_assert_str_eq(proto_strerror(unknown[i]), "unknown error");
    cr_assert_str_eq(proto_err_code(unknown[i]), PROTO_CODE_INTERNAL);
  }
}

Test(limits, defaults) {
  struct proto_limits l;

  memset(&l, 0, sizeof l);
  proto_limits_default(&l);
  cr_assert_eq(l.max_message_size, PROTO_DEFAULT_MAX_MESSAGE_SIZE);
  cr_assert_eq(l.max_depth, PROTO_DEFAULT_MAX_DEPTH);
  cr_assert_eq(l.max_string_length, PROTO_DEFAULT_MAX_STRING_LENGTH);
  cr_assert_leq(l.max_depth, PROTO_MAX_DEPTH_CEILING);
}
