/* Unit tests for proto/signature.c. */
#include <backend/param.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signature.h"

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

TestSuite(bind, .init = setup, .fini = teardown);
TestSuite(find, .init = setup, .fini = teardown);
TestSuite(equal, .init = setup, .fini = teardown);
TestSuite(repr, .init = setup, .fini = teardown);

/* --- building values: pack into sb, then take() unpacks what was packed and clears sb --- */

static void str(const char *s) {
  size_t n = strlen(s);

  msgpack_pack_str(&pk, n);
  msgpack_pack_str_body(&pk, s, n);
}

static void str_n(const char *s, size_t n) {
  msgpack_pack_str(&pk, n);
  msgpack_pack_str_body(&pk, s, n);
}

/*
 * Unpacked strings point into the bytes they came from, so the bytes are copied into the
 * zone first: every value taken stays valid until teardown.
 */
static msgpack_object take(void) {
  char *bytes = msgpack_zone_malloc(&zone, sb.size);
  size_t off = 0;
  msgpack_object o;

  cr_assert_not_null(bytes);
  memcpy(bytes, sb.data, sb.size);
  cr_assert_eq(msgpack_unpack(bytes, sb.size, &off, &zone, &o), MSGPACK_UNPACK_SUCCESS);
  cr_assert_eq(off, sb.size, "take() expects exactly one packed value");
  msgpack_sbuffer_clear(&sb);
  return o;
}

static msgpack_object take_int(int64_t v) {
  msgpack_pack_int64(&pk, v);
  return take();
}

static msgpack_object take_str(const char *s) {
  str(s);
  return take();
}

static msgpack_object take_double(double d) {
  msgpack_pack_double(&pk, d);
  return take();
}

/* --- the signature most tests bind to: compute_score(data, scale=1, *, method='fast', **kw) --- */

static struct sig_param params[4];
static struct sig score;
static char why[256];
static struct sig_binding b;

static void score_sig(void) {
  static msgpack_object one, fast;

  one = take_int(1);
  fast = take_str("fast");
  params[0] = (struct sig_param){ "data", BACKEND_PARAM_POSITIONAL, NULL };
  params[1] = (struct sig_param){ "scale", BACKEND_PARAM_POSITIONAL, &one };
  params[2] = (struct sig_param){ "method", BACKEND_PARAM_KEYWORD_ONLY, &fast };
  params[3] = (struct sig_param){ "kw", BACKEND_PARAM_VAR_KEYWORD, NULL };
  score = (struct sig){ "compute_score", params, 4 };
}

static int call(const struct sig *s, const msgpack_object *args, const msgpack_object *kwargs, bool check_required) {
  memset(why, 'x', sizeof why); /* sig_bind must write a terminated string */
  why[sizeof why - 1] = '\0';
  return sig_bind(s, args, kwargs, check_required, &b, why, sizeof why);
}

static void assert_int_value(const msgpack_object *o, uint64_t v) {
  cr_assert_not_null(o);
  cr_assert_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  cr_assert_eq(o->via.u64, v);
}

static int key_is(const msgpack_object_kv *kv, const char *s) {
  return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(s) &&
         memcmp(kv->key.via.str.ptr, s, kv->key.via.str.size) == 0;
}

/* --- sig_bind --- */

Test(bind, positional_in_order) {
  msgpack_object args;

  score_sig();
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 10);
  msgpack_pack_int(&pk, 20);
  args = take();
  cr_assert_eq(call(&score, &args, NULL, true), 0);
  cr_assert_str_empty(why);
  assert_int_value(b.values[0], 10);
  assert_int_value(b.values[1], 20);
  cr_assert_null(b.values[2]);
  cr_assert_null(b.values[3]);
  cr_assert_eq(b.n_extra, 0);
}

Test(bind, keywords_by_name) {
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, 2);
  str("method");
  str("slow");
  str("data");
  msgpack_pack_int(&pk, 7);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, true), 0);
  assert_int_value(b.values[0], 7);
  cr_assert_null(b.values[1]);
  cr_assert_eq(b.values[2], &kwargs.via.map.ptr[0].val);
  cr_assert_eq(b.n_extra, 0);
}

Test(bind, positional_and_keyword) {
  msgpack_object args, kwargs;

  score_sig();
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, 1);
  args = take();
  msgpack_pack_map(&pk, 1);
  str("scale");
  msgpack_pack_int(&pk, 3);
  kwargs = take();
  cr_assert_eq(call(&score, &args, &kwargs, true), 0);
  assert_int_value(b.values[0], 1);
  assert_int_value(b.values[1], 3);
}

Test(bind, empty_array_and_map_are_no_arguments) {
  msgpack_object args, kwargs;

  score_sig();
  msgpack_pack_array(&pk, 0);
  args = take();
  msgpack_pack_map(&pk, 0);
  kwargs = take();
  cr_assert_eq(call(&score, &args, &kwargs, false), 0);
  for (size_t i = 0; i < score.n; i++)
    cr_assert_null(b.values[i]);
}

Test(bind, too_many_positional_plural) {
  msgpack_object args;

  score_sig();
  msgpack_pack_array(&pk, 3);
  for (int i = 0; i < 3; i++)
    msgpack_pack_int(&pk, i);
  args = take();
  cr_assert_eq(call(&score, &args, NULL, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() takes 2 positional arguments but 3 were given");
}

Test(bind, too_many_positional_singular) {
  struct sig_param p[] = { { "data", BACKEND_PARAM_POSITIONAL, NULL } };
  struct sig s = { "compute_score", p, 1 };
  msgpack_object args;

  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  args = take();
  cr_assert_eq(call(&s, &args, NULL, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() takes 1 positional argument but 2 were given");
}

Test(bind, too_many_positional_none_taken) {
  struct sig_param p[] = { { "method", BACKEND_PARAM_KEYWORD_ONLY, NULL } };
  struct sig s = { "compute_score", p, 1 };
  msgpack_object args;

  msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, 1);
  args = take();
  cr_assert_eq(call(&s, &args, NULL, false), -EINVAL);
  cr_assert_str_eq(why, "compute_score() takes 0 positional arguments but 1 was given");

  /* an empty signature too */
  s.n = 0;
  cr_assert_eq(call(&s, &args, NULL, false), -EINVAL);
  cr_assert_str_eq(why, "compute_score() takes 0 positional arguments but 1 was given");
}

Test(bind, var_positional_takes_nothing) {
  struct sig_param p[] = { { "a", BACKEND_PARAM_POSITIONAL, NULL }, { "args", BACKEND_PARAM_VAR_POSITIONAL, NULL } };
  struct sig s = { "f", p, 2 };
  msgpack_object args;

  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  args = take();
  cr_assert_eq(call(&s, &args, NULL, true), -EINVAL);
  cr_assert_str_eq(why, "f() takes 1 positional argument but 2 were given");
}

Test(bind, positional_and_keyword_for_one_parameter) {
  msgpack_object args, kwargs;

  score_sig();
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, 1);
  args = take();
  msgpack_pack_map(&pk, 1);
  str("data");
  msgpack_pack_int(&pk, 2);
  kwargs = take();
  cr_assert_eq(call(&score, &args, &kwargs, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() got multiple values for argument 'data'");
}

Test(bind, key_repeated_in_map) {
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, 2);
  str("method");
  str("a");
  str("method");
  str("b");
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, false), -EINVAL);
  cr_assert_str_eq(why, "compute_score() got multiple values for argument 'method'");

  /* an unknown keyword repeated */
  msgpack_pack_map(&pk, 3);
  str("x");
  msgpack_pack_int(&pk, 1);
  str("y");
  msgpack_pack_int(&pk, 2);
  str("x");
  msgpack_pack_int(&pk, 3);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, false), -EINVAL);
  cr_assert_str_eq(why, "compute_score() got multiple values for argument 'x'");
}

Test(bind, missing_required) {
  msgpack_object kwargs;

  score_sig();
  cr_assert_eq(call(&score, NULL, NULL, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() missing required argument 'data'");

  /* a keyword for another parameter does not help */
  msgpack_pack_map(&pk, 1);
  str("scale");
  msgpack_pack_int(&pk, 2);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() missing required argument 'data'");
}

Test(bind, missing_required_unchecked) {
  score_sig();
  cr_assert_eq(call(&score, NULL, NULL, false), 0);
  cr_assert_null(b.values[0]);
}

Test(bind, missing_required_first_in_signature_order) {
  msgpack_object def = take_int(0);
  struct sig_param p[] = {
    { "a", BACKEND_PARAM_POSITIONAL, &def },
    { "b", BACKEND_PARAM_POSITIONAL, NULL },
    { "kw", BACKEND_PARAM_VAR_KEYWORD, NULL }, /* never required */
    { "c", BACKEND_PARAM_KEYWORD_ONLY, NULL },
  };
  struct sig s = { "f", p, 4 };
  msgpack_object kwargs;

  cr_assert_eq(call(&s, NULL, NULL, true), -EINVAL);
  cr_assert_str_eq(why, "f() missing required argument 'b'");

  /* a keyword-only one */
  msgpack_pack_map(&pk, 1);
  str("b");
  msgpack_pack_int(&pk, 1);
  kwargs = take();
  cr_assert_eq(call(&s, NULL, &kwargs, true), -EINVAL);
  cr_assert_str_eq(why, "f() missing required argument 'c'");
}

Test(bind, keyword_names_must_be_strings) {
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, 2);
  str("data");
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() keyword argument names must be strings");

  msgpack_pack_map(&pk, 1);
  msgpack_pack_bin(&pk, 4);
  msgpack_pack_bin_body(&pk, "data", 4);
  msgpack_pack_int(&pk, 1);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, true), -EINVAL);
  cr_assert_str_eq(why, "compute_score() keyword argument names must be strings");
}

Test(bind, extras_collected_in_order) {
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, 5);
  str("zeta");
  msgpack_pack_int(&pk, 1);
  str("data");
  msgpack_pack_int(&pk, 0);
  str("alpha");
  msgpack_pack_int(&pk, 2);
  str("kw"); /* **kw's own name: an extra, as in Python */
  msgpack_pack_int(&pk, 3);
  str("");
  msgpack_pack_int(&pk, 4);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, true), 0);
  assert_int_value(b.values[0], 0);
  cr_assert_null(b.values[3]);
  cr_assert_eq(b.n_extra, 4);
  cr_assert(key_is(b.extra[0], "zeta"));
  cr_assert(key_is(b.extra[1], "alpha"));
  cr_assert(key_is(b.extra[2], "kw"));
  cr_assert(key_is(b.extra[3], ""));
  cr_assert_eq(b.extra[1], &kwargs.via.map.ptr[2]);
}

Test(bind, extras_without_var_keyword) {
  struct sig_param p[] = { { "a", BACKEND_PARAM_POSITIONAL, NULL }, { "args", BACKEND_PARAM_VAR_POSITIONAL, NULL } };
  struct sig s = { "f", p, 2 };
  msgpack_object kwargs;

  msgpack_pack_map(&pk, 2);
  str("args"); /* *args' own name */
  msgpack_pack_int(&pk, 1);
  str("b");
  msgpack_pack_int(&pk, 2);
  kwargs = take();
  cr_assert_eq(call(&s, NULL, &kwargs, false), 0);
  cr_assert_null(b.values[1]);
  cr_assert_eq(b.n_extra, 2);
  cr_assert(key_is(b.extra[0], "args"));
  cr_assert(key_is(b.extra[1], "b"));
}

Test(bind, names_compare_by_length) {
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, 3);
  str("dat"); /* a prefix of "data" */
  msgpack_pack_int(&pk, 1);
  str("datax");
  msgpack_pack_int(&pk, 2);
  str_n("data\0", 5); /* an embedded NUL */
  msgpack_pack_int(&pk, 3);
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, false), 0);
  cr_assert_null(b.values[0]);
  cr_assert_eq(b.n_extra, 3);
}

Test(bind, too_many_extras) {
  char name[16];
  msgpack_object kwargs;

  score_sig();
  msgpack_pack_map(&pk, SIG_MAX_PARAMS);
  for (int i = 0; i < SIG_MAX_PARAMS; i++) {
    snprintf(name, sizeof name, "x%d", i);
    str(name);
    msgpack_pack_int(&pk, i);
  }
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, false), 0);
  cr_assert_eq(b.n_extra, SIG_MAX_PARAMS);
  cr_assert(key_is(b.extra[SIG_MAX_PARAMS - 1], "x63"));

  msgpack_pack_map(&pk, SIG_MAX_PARAMS + 1);
  for (int i = 0; i < SIG_MAX_PARAMS + 1; i++) {
    snprintf(name, sizeof name, "x%d", i);
    str(name);
    msgpack_pack_int(&pk, i);
  }
  kwargs = take();
  cr_assert_eq(call(&score, NULL, &kwargs, false), -EINVAL);
  cr_assert_str_eq(why, "compute_score() got too many unknown keyword arguments");
}

Test(bind, signature_too_large) {
  msgpack_object def = take_int(0);
  struct sig_param p[SIG_MAX_PARAMS + 1];
  struct sig s = { "f", p, SIG_MAX_PARAMS + 1 };

  for (size_t i = 0; i < SIG_MAX_PARAMS + 1; i++)
    p[i] = (struct sig_param){ "x", BACKEND_PARAM_KEYWORD_ONLY, &def };
  cr_assert_eq(call(&s, NULL, NULL, false), -EINVAL);

  /* the largest allowed */
  s.n = SIG_MAX_PARAMS;
  cr_assert_eq(call(&s, NULL, NULL, true), 0);
}

Test(bind, zeroes_the_binding_first) {
  msgpack_object args;

  score_sig();
  msgpack_pack_array(&pk, 3);
  for (int i = 0; i < 3; i++)
    msgpack_pack_int(&pk, i);
  args = take();
  memset(&b, 0xa5, sizeof b);
  cr_assert_eq(call(&score, &args, NULL, true), -EINVAL);
  for (size_t i = 0; i < SIG_MAX_PARAMS; i++) {
    cr_assert_null(b.values[i]);
    cr_assert_null(b.extra[i]);
  }
  cr_assert_eq(b.n_extra, 0);
}

Test(bind, reason_is_truncated_or_skipped) {
  char small[16];
  msgpack_object args;

  score_sig();
  msgpack_pack_array(&pk, 3);
  for (int i = 0; i < 3; i++)
    msgpack_pack_int(&pk, i);
  args = take();
  cr_assert_eq(sig_bind(&score, &args, NULL, true, &b, small, sizeof small), -EINVAL);
  cr_assert_str_eq(small, "compute_score()");
  cr_assert_eq(sig_bind(&score, &args, NULL, true, &b, NULL, 0), -EINVAL);
}

/* --- sig_find --- */

Test(find, by_name_and_length) {
  score_sig();
  cr_assert_eq(sig_find(&score, "data", 4), 0);
  cr_assert_eq(sig_find(&score, "method", 6), 2);
  cr_assert_eq(sig_find(&score, "kw", 2), 3);
  cr_assert_eq(sig_find(&score, "datax", 4), 0); /* only len bytes count */
  cr_assert_eq(sig_find(&score, "dat", 3), -1);
  cr_assert_eq(sig_find(&score, "nope", 4), -1);
  cr_assert_eq(sig_find(&score, NULL, 0), -1);
}

/* --- sig_value_equal --- */

static bool eq(const msgpack_object *a, const msgpack_object *b_) {
  bool r = sig_value_equal(a, b_);

  cr_assert_eq(sig_value_equal(b_, a), r, "equality is symmetric");
  return r;
}

Test(equal, integers_and_floats_by_value) {
  msgpack_object one = take_int(1), one_f = take_double(1.0), half = take_double(1.5);
  msgpack_object minus3 = take_int(-3), minus3_f = take_double(-3.0), zero = take_int(0);
  msgpack_object neg_zero = take_double(-0.0), two_f32, two = take_int(2);

  msgpack_pack_float(&pk, 2.0f);
  two_f32 = take();
  cr_assert_eq(two_f32.type, MSGPACK_OBJECT_FLOAT32);
  cr_assert(eq(&one, &one_f));
  cr_assert(eq(&one, &one));
  cr_assert_not(eq(&one, &half));
  cr_assert_not(eq(&one, &two));
  cr_assert(eq(&minus3, &minus3_f));
  cr_assert_not(eq(&minus3, &one_f));
  cr_assert(eq(&zero, &neg_zero));
  cr_assert(eq(&two, &two_f32));
  cr_assert_not(eq(&one, &two_f32));
  cr_assert_not(eq(&minus3, &one));
}

Test(equal, integers_and_floats_exactly) {
  msgpack_object big = take_int(((int64_t)1 << 53) + 1), big_f = take_double(9007199254740992.0);
  msgpack_object max, two64 = take_double(18446744073709551616.0);
  msgpack_object min = take_int(INT64_MIN), min_f = take_double(-9223372036854775808.0);
  msgpack_object nan_ = take_double(NAN), inf = take_double(INFINITY), ninf = take_double(-INFINITY);

  msgpack_pack_uint64(&pk, UINT64_MAX);
  max = take();
  cr_assert_not(eq(&big, &big_f)); /* (double)big == big_f */
  cr_assert_not(eq(&max, &two64)); /* (double)UINT64_MAX == 2^64 */
  cr_assert(eq(&min, &min_f));
  cr_assert_not(eq(&max, &nan_));
  cr_assert_not(eq(&max, &inf));
  cr_assert_not(eq(&min, &ninf));
}

Test(equal, nan_never_equal) {
  msgpack_object nan_ = take_double(NAN), arr;

  cr_assert_not(eq(&nan_, &nan_));
  msgpack_pack_array(&pk, 1);
  msgpack_pack_double(&pk, NAN);
  arr = take();
  cr_assert_not(eq(&arr, &arr));
}

Test(equal, booleans_only_equal_booleans) {
  msgpack_object t, t2, f, nil, nil2, one = take_int(1), zero = take_int(0), one_f = take_double(1.0);

  msgpack_pack_true(&pk);
  t = take();
  msgpack_pack_true(&pk);
  t2 = take();
  msgpack_pack_false(&pk);
  f = take();
  msgpack_pack_nil(&pk);
  nil = take();
  msgpack_pack_nil(&pk);
  nil2 = take();
  cr_assert(eq(&t, &t2));
  cr_assert_not(eq(&t, &f));
  cr_assert_not(eq(&t, &one));
  cr_assert_not(eq(&t, &one_f));
  cr_assert_not(eq(&f, &zero));
  cr_assert_not(eq(&f, &nil));
  cr_assert(eq(&nil, &nil2));
  cr_assert_not(eq(&nil, &zero));
}

Test(equal, strings_and_binaries) {
  msgpack_object a = take_str("fast"), a2 = take_str("fast"), b_ = take_str("fas"), e1 = take_str(""),
                 e2 = take_str(""), bin, bin2, bin3;

  msgpack_pack_bin(&pk, 4);
  msgpack_pack_bin_body(&pk, "fast", 4);
  bin = take();
  msgpack_pack_bin(&pk, 4);
  msgpack_pack_bin_body(&pk, "fast", 4);
  bin2 = take();
  msgpack_pack_bin(&pk, 4);
  msgpack_pack_bin_body(&pk, "slow", 4);
  bin3 = take();
  cr_assert(eq(&a, &a2));
  cr_assert_not(eq(&a, &b_));
  cr_assert(eq(&e1, &e2));
  cr_assert_not(eq(&e1, &a));
  cr_assert_not(eq(&a, &bin)); /* same bytes, another type */
  cr_assert(eq(&bin, &bin2));
  cr_assert_not(eq(&bin, &bin3));
}

Test(equal, ext_by_type_and_bytes) {
  msgpack_object e, same, other_type, other_bytes;

  msgpack_pack_ext(&pk, 2, 1);
  msgpack_pack_ext_body(&pk, "ab", 2);
  e = take();
  msgpack_pack_ext(&pk, 2, 1);
  msgpack_pack_ext_body(&pk, "ab", 2);
  same = take();
  msgpack_pack_ext(&pk, 2, 2);
  msgpack_pack_ext_body(&pk, "ab", 2);
  other_type = take();
  msgpack_pack_ext(&pk, 2, 1);
  msgpack_pack_ext_body(&pk, "ac", 2);
  other_bytes = take();
  cr_assert(eq(&e, &same));
  cr_assert_not(eq(&e, &other_type));
  cr_assert_not(eq(&e, &other_bytes));
}

Test(equal, arrays_in_order) {
  msgpack_object a, b_, c, d;

  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  a = take();
  msgpack_pack_array(&pk, 2);
  msgpack_pack_double(&pk, 1.0);
  msgpack_pack_int(&pk, 2);
  b_ = take();
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 2);
  msgpack_pack_int(&pk, 1);
  c = take();
  msgpack_pack_array(&pk, 3);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  msgpack_pack_int(&pk, 3);
  d = take();
  cr_assert(eq(&a, &b_));
  cr_assert_not(eq(&a, &c));
  cr_assert_not(eq(&a, &d));
}

Test(equal, maps_in_any_order) {
  msgpack_object ab, ba, a_other, abc, ac, dup;

  msgpack_pack_map(&pk, 2);
  str("a");
  msgpack_pack_int(&pk, 1);
  str("b");
  msgpack_pack_int(&pk, 2);
  ab = take();
  msgpack_pack_map(&pk, 2);
  str("b");
  msgpack_pack_double(&pk, 2.0);
  str("a");
  msgpack_pack_int(&pk, 1);
  ba = take();
  msgpack_pack_map(&pk, 2);
  str("a");
  msgpack_pack_int(&pk, 2);
  str("b");
  msgpack_pack_int(&pk, 2);
  a_other = take();
  msgpack_pack_map(&pk, 3);
  str("a");
  msgpack_pack_int(&pk, 1);
  str("b");
  msgpack_pack_int(&pk, 2);
  str("c");
  msgpack_pack_int(&pk, 3);
  abc = take();
  msgpack_pack_map(&pk, 2);
  str("a");
  msgpack_pack_int(&pk, 1);
  str("c");
  msgpack_pack_int(&pk, 2);
  ac = take();
  msgpack_pack_map(&pk, 2); /* a key repeated cannot hide b missing */
  str("a");
  msgpack_pack_int(&pk, 1);
  str("a");
  msgpack_pack_int(&pk, 1);
  dup = take();
  cr_assert(eq(&ab, &ba));
  cr_assert_not(eq(&ab, &a_other));
  cr_assert_not(eq(&ab, &abc));
  cr_assert_not(eq(&ab, &ac));
  cr_assert_not(eq(&ab, &dup));
  cr_assert(eq(&dup, &dup));
}

/* [1, {'x': [1.0, 's'], 'y': None}] against variations */
static msgpack_object nested(double x0, const char *s, bool swap) {
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_map(&pk, 2);
  if (swap) {
    str("y");
    msgpack_pack_nil(&pk);
  }
  str("x");
  msgpack_pack_array(&pk, 2);
  msgpack_pack_double(&pk, x0);
  str(s);
  if (!swap) {
    str("y");
    msgpack_pack_nil(&pk);
  }
  return take();
}

Test(equal, nested_deeply) {
  msgpack_object a = nested(1.0, "s", false), b_ = nested(1.0, "s", true), c = nested(2.0, "s", true),
                 d = nested(1.0, "t", false);

  cr_assert(eq(&a, &b_));
  cr_assert_not(eq(&a, &c));
  cr_assert_not(eq(&a, &d));
}

Test(equal, types_differ) {
  msgpack_object s = take_str("1"), one = take_int(1), arr, map;

  msgpack_pack_array(&pk, 0);
  arr = take();
  msgpack_pack_map(&pk, 0);
  map = take();
  cr_assert_not(eq(&s, &one));
  cr_assert_not(eq(&arr, &map));
  cr_assert(eq(&arr, &arr));
  cr_assert(eq(&map, &map));
  cr_assert(sig_value_equal(NULL, NULL));
  cr_assert_not(eq(&one, NULL));
}

/* {"k0": 0, "k1": 1, ...}: n keys, in reverse order when reversed */
static msgpack_object counting_map(uint32_t n, bool reversed) {
  char key[16];

  msgpack_pack_map(&pk, n);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = reversed ? n - 1 - i : i;

    snprintf(key, sizeof key, "k%u", k);
    str(key);
    msgpack_pack_uint32(&pk, k);
  }
  return take();
}

/* [0, 0, ...]: n zeroes */
static msgpack_object zeroes(uint32_t n) {
  msgpack_pack_array(&pk, n);
  for (uint32_t i = 0; i < n; i++)
    msgpack_pack_int(&pk, 0);
  return take();
}

Test(equal, within_the_step_budget) {
  /* 100 keys each way round: some 100 * 100 pairs tried, well within the budget */
  msgpack_object a = counting_map(100, false), b_ = counting_map(100, true);

  cr_assert(eq(&a, &b_));
  /* an array is one step, and one per element: the last array that fits */
  a = zeroes(SIG_EQUAL_MAX_STEPS - 1);
  b_ = zeroes(SIG_EQUAL_MAX_STEPS - 1);
  cr_assert(eq(&a, &b_));
}

/* Past the budget the answer is "not equal" (routing then warns), however equal the values. */
Test(equal, past_the_step_budget_not_equal, .timeout = 20) {
  msgpack_object a = zeroes(SIG_EQUAL_MAX_STEPS), b_ = zeroes(SIG_EQUAL_MAX_STEPS);

  cr_assert_not(eq(&a, &b_));
  a = counting_map(2000, false);
  b_ = counting_map(2000, true);
  cr_assert_not(eq(&a, &b_));
  /* Matched pairwise, these would take 2 * 10^10 comparisons: the budget ends it at once. */
  a = counting_map(200000, false);
  b_ = counting_map(200000, false);
  cr_assert_not(eq(&a, &b_));
  cr_assert(eq(&a, &a) == false, "even a value with itself");
}

/* --- sig_value_repr --- */

static void assert_repr(const msgpack_object *o, const char *expected) {
  char *s = sig_value_repr(o);

  cr_assert_not_null(s);
  cr_assert_str_eq(s, expected);
  free(s);
}

static void assert_repr_double(double d, const char *expected) {
  msgpack_object o = take_double(d);

  assert_repr(&o, expected);
}

static void assert_repr_str(const char *s, size_t n, const char *expected) {
  msgpack_object o;

  str_n(s, n);
  o = take();
  assert_repr(&o, expected);
}
#define ASSERT_REPR_STR(lit, expected) assert_repr_str((lit), sizeof(lit) - 1, (expected))

Test(repr, constants_and_integers) {
  msgpack_object o;

  msgpack_pack_nil(&pk);
  o = take();
  assert_repr(&o, "None");
  msgpack_pack_true(&pk);
  o = take();
  assert_repr(&o, "True");
  msgpack_pack_false(&pk);
  o = take();
  assert_repr(&o, "False");
  o = take_int(4096);
  assert_repr(&o, "4096");
  o = take_int(0);
  assert_repr(&o, "0");
  o = take_int(-5);
  assert_repr(&o, "-5");
  o = take_int(INT64_MIN);
  assert_repr(&o, "-9223372036854775808");
  msgpack_pack_uint64(&pk, UINT64_MAX);
  o = take();
  assert_repr(&o, "18446744073709551615");
}

Test(repr, floats_as_python) {
  assert_repr_double(0.5, "0.5");
  assert_repr_double(1.0, "1.0");
  assert_repr_double(-2.0, "-2.0");
  assert_repr_double(0.0, "0.0");
  assert_repr_double(-0.0, "-0.0");
  assert_repr_double(0.1, "0.1");
  assert_repr_double(1e100, "1e+100");
  assert_repr_double(1e16, "1e+16");
  assert_repr_double(1e15, "1000000000000000.0");
  assert_repr_double(100000.0, "100000.0");
  assert_repr_double(1e-5, "1e-05");
  assert_repr_double(0.0001, "0.0001");
  assert_repr_double(0.000123, "0.000123");
  assert_repr_double(1.5e-7, "1.5e-07");
  assert_repr_double(123.456, "123.456");
  assert_repr_double(2.0 / 3.0, "0.6666666666666666");
  assert_repr_double(1234567890123456.7, "1234567890123456.8");
  assert_repr_double(9007199254740993.0, "9007199254740992.0");
  assert_repr_double(5e-324, "5e-324");
  assert_repr_double(1.7976931348623157e308, "1.7976931348623157e+308");
  assert_repr_double(INFINITY, "inf");
  assert_repr_double(-INFINITY, "-inf");
  assert_repr_double(NAN, "nan");
}

Test(repr, float32_as_its_double) {
  msgpack_object o;

  msgpack_pack_float(&pk, 0.1f);
  o = take();
  assert_repr(&o, "0.10000000149011612");
  msgpack_pack_float(&pk, 0.5f);
  o = take();
  assert_repr(&o, "0.5");
}

Test(repr, strings_quoted_and_escaped) {
  ASSERT_REPR_STR("fast", "'fast'");
  ASSERT_REPR_STR("", "''");
  ASSERT_REPR_STR("it's", "\"it's\"");           /* ' and no ": double quotes */
  ASSERT_REPR_STR("say \"hi\"", "'say \"hi\"'"); /* " alone needs no escape */
  ASSERT_REPR_STR("a'b\"c", "'a\\'b\"c'");       /* both: single quotes, ' escaped */
  ASSERT_REPR_STR("back\\slash", "'back\\\\slash'");
  ASSERT_REPR_STR("\n\t\r", "'\\n\\t\\r'");
  ASSERT_REPR_STR("\x01\x1f\x7f", "'\\x01\\x1f\\x7f'");
  ASSERT_REPR_STR("a\0b", "'a\\x00b'");
  ASSERT_REPR_STR("caf\xc3\xa9 \xe2\x82\xac", "'caf\xc3\xa9 \xe2\x82\xac'"); /* printable UTF-8 as is */
  ASSERT_REPR_STR("\xc2\x80\xc2\xa0\xc2\xad", "'\\x80\\xa0\\xad'");         /* not printed by Python */
  ASSERT_REPR_STR("\xff" "a\xc3", "'\\xffa\\xc3'");                          /* not UTF-8 */
}

Test(repr, containers) {
  msgpack_object o;

  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  o = take();
  assert_repr(&o, "[1, 2]");
  msgpack_pack_array(&pk, 0);
  o = take();
  assert_repr(&o, "[]");
  msgpack_pack_map(&pk, 1);
  str("a");
  msgpack_pack_int(&pk, 1);
  o = take();
  assert_repr(&o, "{'a': 1}");
  msgpack_pack_map(&pk, 0);
  o = take();
  assert_repr(&o, "{}");
  msgpack_pack_map(&pk, 2);
  str("a");
  msgpack_pack_array(&pk, 3);
  msgpack_pack_double(&pk, 1.0);
  str("b");
  msgpack_pack_nil(&pk);
  msgpack_pack_int(&pk, 2);
  msgpack_pack_true(&pk);
  o = take();
  assert_repr(&o, "{'a': [1.0, 'b', None], 2: True}");
}

Test(repr, bin_and_ext) {
  msgpack_object o;

  msgpack_pack_bin(&pk, 3);
  msgpack_pack_bin_body(&pk, "abc", 3);
  o = take();
  assert_repr(&o, "<bytes>");
  msgpack_pack_ext(&pk, 1, 1);
  msgpack_pack_ext_body(&pk, "x", 1);
  o = take();
  assert_repr(&o, "<ext 1>");
  msgpack_pack_ext(&pk, 1, -1);
  msgpack_pack_ext_body(&pk, "x", 1);
  o = take();
  assert_repr(&o, "<ext -1>");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_bin(&pk, 0);
  o = take();
  assert_repr(&o, "[<bytes>]");
}

static void assert_repr_max(const msgpack_object *o, size_t max, const char *expected) {
  char *s = sig_value_repr_max(o, max);

  cr_assert_not_null(s);
  cr_assert_str_eq(s, expected, "max %zu", max);
  free(s);
}

#define ELLIPSIS "\xe2\x80\xa6"

Test(repr, cut_to_max_at_a_character_boundary) {
  msgpack_object ascii = take_str("abcdefghij"), e_acute = take_str("\xc3\xa9\xc3\xa9\xc3\xa9"), pair;

  assert_repr_max(&ascii, 12, "'abcdefghij'"); /* fits: nothing cut, no ellipsis */
  assert_repr_max(&ascii, 100, "'abcdefghij'");
  assert_repr_max(&ascii, 11, "'abcdefghij" ELLIPSIS);
  assert_repr_max(&ascii, 5, "'abcd" ELLIPSIS);
  assert_repr_max(&ascii, 0, ELLIPSIS);
  /* 'éé...: bytes ' c3 a9 c3 a9 c3 a9 ', never cut inside a character */
  assert_repr_max(&e_acute, 8, "'\xc3\xa9\xc3\xa9\xc3\xa9'");
  assert_repr_max(&e_acute, 7, "'\xc3\xa9\xc3\xa9\xc3\xa9" ELLIPSIS);
  assert_repr_max(&e_acute, 6, "'\xc3\xa9\xc3\xa9" ELLIPSIS);
  assert_repr_max(&e_acute, 4, "'\xc3\xa9" ELLIPSIS);
  assert_repr_max(&e_acute, 3, "'\xc3\xa9" ELLIPSIS);
  assert_repr_max(&e_acute, 2, "'" ELLIPSIS);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  pair = take();
  assert_repr_max(&pair, 3, "[1," ELLIPSIS);
}

Test(repr, cut_value_is_short_however_large) {
  msgpack_object big = zeroes(1000000);
  char *s = sig_value_repr_max(&big, 200);

  cr_assert_not_null(s);
  cr_assert_eq(strlen(s), 200 + strlen(ELLIPSIS), "%zu bytes", strlen(s));
  cr_assert_eq(strncmp(s, "[0, 0, 0", 8), 0, "%s", s);
  cr_assert_str_eq(s + 200, ELLIPSIS);
  free(s);
}
