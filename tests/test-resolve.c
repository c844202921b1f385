/*
 * variant.resolve selection and ordering (daemon/resolve.c). Every expected order below is
 * derived by hand in a comment: the supported properties' (namespace, feature) slots in
 * rank order, each variant's tuple of best value positions ("-" for absent), then the sort.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "resolve.h"

/* ---- documents: JSON text (with ' for ") -> msgpack object ---------------------------- */

static msgpack_unpacked unpacked;
static msgpack_sbuffer packed; /* the unpacked strs point into it: kept until the next document */

static void pack_json(json_t *j, msgpack_packer *pk) {
  const char *key;
  json_t *val;
  size_t i;

  switch (json_typeof(j)) {
  case JSON_OBJECT:
    msgpack_pack_map(pk, json_object_size(j));
    json_object_foreach(j, key, val) {
      msgpack_pack_str_with_body(pk, key, strlen(key));
      pack_json(val, pk);
    }
    break;
  case JSON_ARRAY:
    msgpack_pack_array(pk, json_array_size(j));
    json_array_foreach(j, i, val) pack_json(val, pk);
    break;
  case JSON_STRING:
    msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER:
    msgpack_pack_int64(pk, json_integer_value(j));
    break;
  case JSON_REAL:
    msgpack_pack_double(pk, json_real_value(j));
    break;
  case JSON_TRUE:
    msgpack_pack_true(pk);
    break;
  case JSON_FALSE:
    msgpack_pack_false(pk);
    break;
  case JSON_NULL:
    msgpack_pack_nil(pk);
    break;
  }
}

/* Decodes sb, taking it over. */
static const msgpack_object *unpack(msgpack_sbuffer *sb) {
  msgpack_unpacked_destroy(&unpacked);
  msgpack_unpacked_init(&unpacked);
  msgpack_sbuffer_destroy(&packed);
  packed = *sb;
  msgpack_sbuffer_init(sb);
  cr_assert_eq(msgpack_unpack_next(&unpacked, packed.data, packed.size, NULL), MSGPACK_UNPACK_SUCCESS);
  return &unpacked.data;
}

/* The document written in JSON with ' for " (jansson keeps object keys in document order). */
static const msgpack_object *doc_from(const char *text) {
  char *json = strdup(text);
  json_error_t err;
  json_t *j;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *o;

  for (char *c = json; *c != '\0'; c++)
    if (*c == '\'')
      *c = '"';
  j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  cr_assert_not_null(j, "bad test JSON: %s: %s", err.text, json);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  pack_json(j, &pk);
  o = unpack(&sb);
  json_decref(j);
  free(json);
  return o;
}

/* ---- the machine: supported configs per namespace ------------------------------------ */

#define MAX_NS 8
static struct vconfigs configs[MAX_NS];
static struct resolve_ns machine[MAX_NS];
static size_t n_machine;

static char **split(const char *s, char sep, size_t *n) {
  char **v = NULL;
  *n = 0;
  for (const char *b = s;; b++) {
    const char *e = strchr(b, sep);
    size_t len = e ? (size_t)(e - b) : strlen(b);
    v = reallocarray(v, *n + 1, sizeof *v);
    v[(*n)++] = strndup(b, len);
    if (!e)
      return v;
    b = e;
  }
}

/* A namespace the machine supports: spec "feature=v1,v2;feature2=x", features and values in plugin order. */
static void supports(const char *ns, const char *spec) {
  struct vconfigs *c = &configs[n_machine];
  char **features = split(spec, ';', &c->n_features);

  cr_assert_lt(n_machine, MAX_NS);
  c->ns = strdup(ns);
  c->features = calloc(c->n_features, sizeof *c->features);
  for (size_t i = 0; i < c->n_features; i++) {
    char *eq = strchr(features[i], '=');
    *eq = '\0';
    c->features[i].name = strdup(features[i]);
    c->features[i].values = split(eq + 1, ',', &c->features[i].n_values);
    free(features[i]);
  }
  free(features);
  machine[n_machine++] = (struct resolve_ns){c->ns, c, NULL};
}

/* A namespace the document uses but no plugin provides. */
static void lacks(const char *ns, const char *why) { machine[n_machine++] = (struct resolve_ns){ns, NULL, why}; }

/* ---- running and checking ------------------------------------------------------------ */

static struct resolve_doc doc;
static struct resolve_result res;
static char why[256];

static void cleanup(void) {
  resolve_doc_free(&doc);
  resolve_result_free(&res);
  for (size_t i = 0; i < n_machine; i++)
    if (machine[i].configs != NULL)
      vconfigs_free(&configs[i]);
  n_machine = 0;
  msgpack_unpacked_destroy(&unpacked);
  msgpack_sbuffer_destroy(&packed);
}
static void setup(void) {
  msgpack_unpacked_init(&unpacked);
  msgpack_sbuffer_init(&packed);
}

TestSuite(resolve, .init = setup, .fini = cleanup);

static void resolve(const char *json) {
  int rc = resolve_doc_parse(doc_from(json), &doc, why, sizeof why);
  cr_assert_eq(rc, 0, "parse failed: %s", why);
  cr_assert_eq(resolve_run(&doc, machine, n_machine, &res), 0);
}

/* The supported labels, space-separated, best first. */
static char *supported(void) {
  static char buf[512];
  buf[0] = '\0';
  for (size_t i = 0; i < res.n_supported; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", res.supported[i]);
  return buf;
}

/* The rejected variants as "label: reason" joined by " | ", input order. */
static char *rejected(void) {
  static char buf[1024];
  buf[0] = '\0';
  for (size_t i = 0; i < res.n_rejected; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s: %s", i ? " | " : "", res.rejected[i].label,
             res.rejected[i].reason);
  return buf;
}

/* ---- ordering ------------------------------------------------------------------------ */

Test(resolve, namespace_priorities_then_unlisted_in_name_order) {
  supports("a", "f=x");
  supports("b", "f=x");
  supports("c", "f=x");
  /*
   * namespace: [b, c, a] -> slots b::f, c::f, a::f.
   * va (-,-,0)  vb (0,-,-)  vc (-,0,-)  ->  vb vc va
   */
  resolve("{'variants': {'va': {'a': {'f': ['x']}}, 'vb': {'b': {'f': ['x']}}, 'vc': {'c': {'f': ['x']}}},"
          " 'default-priorities': {'namespace': ['b', 'c', 'a']}}");
  cr_assert_str_eq(supported(), "vb vc va");
  cr_assert_str_eq(rejected(), "");
}

Test(resolve, unlisted_namespaces_rank_after_listed_ones_by_name) {
  supports("b", "f=x");
  supports("a", "f=x");
  supports("c", "f=x");
  /*
   * namespace: [nope, c] ('nope' has no variant nor plugin: ignored) -> slots c::f, then the
   * unlisted by name: a::f, b::f (not machine order b, a).
   * vb (-,-,0)  va (-,0,-)  vc (0,-,-)  ->  vc va vb
   */
  resolve("{'variants': {'vb': {'b': {'f': ['x']}}, 'va': {'a': {'f': ['x']}}, 'vc': {'c': {'f': ['x']}}},"
          " 'default-priorities': {'namespace': ['nope', 'c']}}");
  cr_assert_str_eq(supported(), "vc va vb");
}

Test(resolve, feature_priorities_listed_first_then_plugin_order) {
  supports("a", "p=x;q=x;r=x");
  /*
   * feature.a: [r, nope] -> slots a::r, then the rest in plugin order a::p, a::q.
   * vp (-,0,-)  vq (-,-,0)  vr (0,-,-)  vpq (-,0,0)
   * vr first (0 in slot r); vpq (-,0,0) before vp (-,0,-); vq last  ->  vr vpq vp vq
   */
  resolve("{'variants': {'vp': {'a': {'p': ['x']}}, 'vq': {'a': {'q': ['x']}}, 'vr': {'a': {'r': ['x']}},"
          " 'vpq': {'a': {'p': ['x'], 'q': ['x']}}},"
          " 'default-priorities': {'namespace': ['a'], 'feature': {'a': ['r', 'nope']}}}");
  cr_assert_str_eq(supported(), "vr vpq vp vq");
}

Test(resolve, value_priorities_listed_first_then_plugin_order) {
  supports("a", "f=x,y,z,w");
  /*
   * property.a.f: [z, nope, x] -> value ranks z 0, x 1, then plugin order y 2, w 3
   * ('nope' is not supported: ignored).  vx 1  vy 2  vz 0  vw 3  ->  vz vx vy vw
   */
  resolve("{'variants': {'vx': {'a': {'f': ['x']}}, 'vy': {'a': {'f': ['y']}}, 'vz': {'a': {'f': ['z']}},"
          " 'vw': {'a': {'f': ['w']}}},"
          " 'default-priorities': {'namespace': [], 'property': {'a': {'f': ['z', 'nope', 'x']}}}}");
  cr_assert_str_eq(supported(), "vz vx vy vw");
}

Test(resolve, without_priorities_plugin_order_and_namespace_names) {
  supports("b", "h=1");
  supports("a", "f=v2,v1;g=on");
  /*
   * No lists: namespaces by name a, b; features and values in plugin order.
   * slots a::f (v2 0, v1 1), a::g (on 0), b::h (1 0).
   * vb (-,-,0)  v1 (1,-,-)  v2 (0,-,-)  v1g (1,0,-)  vg (-,0,-)
   * -> v2 (0..) v1g (1,0) v1 (1,-) vg (-,0) vb (-,-,0)
   */
  resolve("{'variants': {'vb': {'b': {'h': ['1']}}, 'v1': {'a': {'f': ['v1']}}, 'v2': {'a': {'f': ['v2']}},"
          " 'v1g': {'a': {'f': ['v1'], 'g': ['on']}}, 'vg': {'a': {'g': ['on']}}},"
          " 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(supported(), "v2 v1g v1 vg vb");
}

Test(resolve, null_variant_is_supported_and_last) {
  supports("a", "f=x");
  /* null sits first in the document yet comes last; a1 and a2 tie (0) and keep input order. */
  resolve("{'variants': {'null': {}, 'a1': {'a': {'f': ['x']}}, 'a2': {'a': {'f': ['x']}}},"
          " 'default-priorities': {'namespace': ['a']}}");
  cr_assert_str_eq(supported(), "a1 a2 null");
}

Test(resolve, null_variant_alone_and_absent) {
  resolve("{'variants': {'null': {}}, 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(supported(), "null");
  resolve_doc_free(&doc);
  resolve_result_free(&res);

  /* without a null variant nothing is added, even when nothing is supported */
  lacks("a", "no plugin provides namespace 'a'");
  resolve("{'variants': {'v': {'a': {'f': ['x']}}}, 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(supported(), "");
  cr_assert_str_eq(rejected(), "v: no plugin provides namespace 'a'");
  resolve_doc_free(&doc);
  resolve_result_free(&res);

  resolve("{'variants': {}, 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(supported(), "");
  cr_assert_str_eq(rejected(), "");
}

Test(resolve, namespace_without_plugin_rejects_only_its_variants) {
  supports("a", "f=x");
  lacks("cuda", "no plugin provides namespace 'cuda'");
  /* vc and vca need cuda; va and null are unaffected. The priority of cuda changes nothing. */
  resolve("{'variants': {'vc': {'cuda': {'ver': ['12']}}, 'va': {'a': {'f': ['x']}},"
          " 'vca': {'a': {'f': ['x']}, 'cuda': {'ver': ['12']}}, 'null': {}},"
          " 'default-priorities': {'namespace': ['cuda', 'a']}}");
  cr_assert_str_eq(supported(), "va null");
  cr_assert_str_eq(rejected(), "vc: no plugin provides namespace 'cuda' | vca: no plugin provides namespace 'cuda'");
}

Test(resolve, namespace_missing_from_the_table_gets_a_default_reason) {
  supports("a", "f=x");
  resolve("{'variants': {'vz': {'zz': {'f': ['x']}}, 'va': {'a': {'f': ['x']}}},"
          " 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(supported(), "va");
  cr_assert_str_eq(rejected(), "vz: no plugin provides namespace 'zz'");
}

Test(resolve, features_and_values_or) {
  supports("a", "f=x,y;g=on");
  /*
   * slots a::f (x 0, y 1), a::g (on 0).
   * vand: g :: off unsupported -> rejected although f :: x is supported (features AND).
   * vor: [nope, y] -> kept, best y = 1 -> (1,-).  vx (0,-).  vor2: [y, x] -> best x -> (0,-).
   * vbad: neither p nor q.  vfeat: a feature the plugin does not know.
   * -> vx (0, input 3) vor2 (0, input 6) vor (1)
   */
  resolve("{'variants': {'vand': {'a': {'f': ['x'], 'g': ['off']}}, 'vor': {'a': {'f': ['nope', 'y']}},"
          " 'vx': {'a': {'f': ['x']}}, 'vbad': {'a': {'f': ['p', 'q']}}, 'vfeat': {'a': {'h': ['x']}},"
          " 'vor2': {'a': {'f': ['y', 'x']}}}, 'default-priorities': {'namespace': ['a']}}");
  cr_assert_str_eq(supported(), "vx vor2 vor");
  cr_assert_str_eq(rejected(), "vand: a :: g :: off is not supported | vbad: none of a :: f :: p, q is supported"
                               " | vfeat: a :: h :: x is not supported");
}

Test(resolve, first_unsupported_feature_in_document_order_is_the_reason) {
  supports("a", "f=x");
  supports("b", "g=y");
  lacks("c", "no plugin provides namespace 'c'");
  /* b :: g :: n comes before the missing namespace c and a :: f :: n in the document */
  resolve("{'variants': {'v': {'b': {'g': ['n']}, 'c': {'h': ['1']}, 'a': {'f': ['n']}}},"
          " 'default-priorities': {'namespace': []}}");
  cr_assert_str_eq(rejected(), "v: b :: g :: n is not supported");
}

Test(resolve, ties_keep_input_order) {
  supports("a", "f=x,y");
  /* t3, t1, t2 and t4 all rank (0): input order. u (1) after them. */
  resolve("{'variants': {'u': {'a': {'f': ['y']}}, 't3': {'a': {'f': ['x']}}, 't1': {'a': {'f': ['x']}},"
          " 't2': {'a': {'f': ['x', 'y']}}, 't4': {'a': {'f': ['y', 'x']}}},"
          " 'default-priorities': {'namespace': ['a']}}");
  cr_assert_str_eq(supported(), "t3 t1 t2 t4 u");
}

Test(resolve, x86_64_levels) {
  supports("x86_64", "level=v3,v2,v1");
  /* level: v3 0, v2 1, v1 2; v4 is not supported -> x86_64_v3 x86_64_v2 x86_64_v1 null */
  resolve("{'providers': {'x86_64': {'requires': ['provider-variant-x86-64'], 'plugin-api': 'x:y'}},"
          " 'default-priorities': {'namespace': ['x86_64']},"
          " 'variants': {'null': {}, 'x86_64_v1': {'x86_64': {'level': ['v1']}},"
          " 'x86_64_v2': {'x86_64': {'level': ['v2']}}, 'x86_64_v3': {'x86_64': {'level': ['v3']}},"
          " 'x86_64_v4': {'x86_64': {'level': ['v4']}}}}");
  cr_assert_str_eq(supported(), "x86_64_v3 x86_64_v2 x86_64_v1 null");
  cr_assert_str_eq(rejected(), "x86_64_v4: x86_64 :: level :: v4 is not supported");
}

static const char multi_variants[] =
    "'variants': {'cpu3': {'x86_64': {'level': ['v3']}}, 'gpu11': {'cuda': {'version': ['11']}},"
    " 'gpu12': {'cuda': {'version': ['12']}}, 'null': {},"
    " 'gpu12cpu2': {'cuda': {'version': ['12']}, 'x86_64': {'level': ['v2']}},"
    " 'gpu11cpu3': {'x86_64': {'level': ['v3']}, 'cuda': {'version': ['11']}},"
    " 'cpu1': {'x86_64': {'level': ['v1']}}}";

Test(resolve, namespaces_interacting_cuda_first) {
  char json[1024];
  supports("x86_64", "level=v3,v2,v1");
  supports("cuda", "version=12,11");
  /*
   * namespace [cuda, x86_64] -> slots cuda::version (12 0, 11 1), x86_64::level (v3 0, v2 1, v1 2).
   * cpu3 (-,0) gpu11 (1,-) gpu12 (0,-) gpu12cpu2 (0,1) gpu11cpu3 (1,0) cpu1 (-,2)
   * -> gpu12cpu2 gpu12 gpu11cpu3 gpu11 cpu3 cpu1 null
   */
  snprintf(json, sizeof json, "{%s, 'default-priorities': {'namespace': ['cuda', 'x86_64']}}", multi_variants);
  resolve(json);
  cr_assert_str_eq(supported(), "gpu12cpu2 gpu12 gpu11cpu3 gpu11 cpu3 cpu1 null");
}

Test(resolve, namespaces_interacting_x86_64_first) {
  char json[1024];
  supports("x86_64", "level=v3,v2,v1");
  supports("cuda", "version=12,11");
  /*
   * namespace [x86_64, cuda] -> slots x86_64::level, cuda::version; same positions as above.
   * cpu3 (0,-) gpu11 (-,1) gpu12 (-,0) gpu12cpu2 (1,0) gpu11cpu3 (0,1) cpu1 (2,-)
   * -> gpu11cpu3 cpu3 gpu12cpu2 cpu1 gpu12 gpu11 null
   */
  snprintf(json, sizeof json, "{%s, 'default-priorities': {'namespace': ['x86_64', 'cuda']}}", multi_variants);
  resolve(json);
  cr_assert_str_eq(supported(), "gpu11cpu3 cpu3 gpu12cpu2 cpu1 gpu12 gpu11 null");
}

Test(resolve, priorities_at_every_level_together) {
  supports("b", "k=1,2");
  supports("a", "f=x,y;g=p,q");
  /*
   * namespace [a, b]; feature.a [g] -> slots a::g, a::f, b::k.
   * property.a.g [q] -> a::g: q 0, p 1; a::f: x 0, y 1 (plugin order); property.b.k [2] -> 2 0, 1 1.
   * vfx (-,0,-) vgp (1,-,-) vgq (0,-,-) vk1 (-,-,1) vk2 (-,-,0) vfyk2 (-,1,0) vgpfx (1,0,-)
   * -> vgq (0) vgpfx (1,0) vgp (1,-) vfx (-,0) vfyk2 (-,1) vk2 (-,-,0) vk1 (-,-,1)
   */
  resolve("{'variants': {'vfx': {'a': {'f': ['x']}}, 'vgp': {'a': {'g': ['p']}}, 'vgq': {'a': {'g': ['q']}},"
          " 'vk1': {'b': {'k': ['1']}}, 'vk2': {'b': {'k': ['2']}}, 'vfyk2': {'b': {'k': ['2']}, 'a': {'f': ['y']}},"
          " 'vgpfx': {'a': {'f': ['x'], 'g': ['p']}}},"
          " 'default-priorities': {'namespace': ['a', 'b'], 'feature': {'a': ['g'], 'zz': ['f']},"
          " 'property': {'a': {'g': ['q']}, 'b': {'k': ['2']}}}}");
  cr_assert_str_eq(supported(), "vgq vgpfx vgp vfx vfyk2 vk2 vk1");
}

Test(resolve, result_packs_as_supported_and_rejected) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *o, *s, *r;

  supports("x86_64", "level=v1");
  resolve("{'variants': {'v4': {'x86_64': {'level': ['v4']}}, 'v1': {'x86_64': {'level': ['v1']}}, 'null': {}},"
          " 'default-priorities': {'namespace': []}}");
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  resolve_result_pack(&res, &pk);
  o = unpack(&sb);
  cr_assert_eq(o->type, MSGPACK_OBJECT_MAP);
  cr_assert_eq(o->via.map.size, 2);
  s = proto_map_get(o, "supported");
  cr_assert(s && s->type == MSGPACK_OBJECT_ARRAY && s->via.array.size == 2);
  cr_assert(proto_str_eq(&s->via.array.ptr[0], "v1"));
  cr_assert(proto_str_eq(&s->via.array.ptr[1], "null"));
  r = proto_map_get(o, "rejected");
  cr_assert(r && r->type == MSGPACK_OBJECT_ARRAY && r->via.array.size == 1);
  cr_assert(proto_str_eq(proto_map_get(&r->via.array.ptr[0], "label"), "v4"));
  cr_assert(proto_str_eq(proto_map_get(&r->via.array.ptr[0], "reason"), "x86_64 :: level :: v4 is not supported"));
}

/* ---- malformed documents ------------------------------------------------------------- */

static void expect_error_obj(const msgpack_object *o, const char *expected) {
  memset(why, 'X', sizeof why);
  cr_assert_eq(resolve_doc_parse(o, &doc, why, sizeof why), -EINVAL, "accepted; expected: %s", expected);
  cr_assert_str_eq(why, expected);
  cr_assert_eq(doc.n_variants, 0); /* freed and cleared */
  cr_assert_null(doc.variants);
}

static void expect_error(const char *json, const char *expected) { expect_error_obj(doc_from(json), expected); }

/* A document with these variants (JSON fragment) and a valid default-priorities. */
static void expect_variants_error(const char *variants, const char *expected) {
  char json[1024];
  snprintf(json, sizeof json, "{'variants': %s, 'default-priorities': {'namespace': []}}", variants);
  expect_error(json, expected);
}

/* A document with one valid variant and this default-priorities (JSON fragment). */
static void expect_priorities_error(const char *prio, const char *expected) {
  char json[1024];
  snprintf(json, sizeof json, "{'variants': {'v': {'a': {'f': ['x']}}}, 'default-priorities': %s}", prio);
  expect_error(json, expected);
}

#define NAME_RULE "namespace and feature names may only hold a-z, 0-9 and '_'"
#define VALUE_RULE "values may only hold a-z, 0-9 and _ . , ! > ~ < ="

Test(resolve, rejects_a_document_that_is_not_a_map) {
  expect_error("['variants']", "the parameters must be a map (a *-variants.json document)");
  expect_error_obj(NULL, "the parameters must be a map (a *-variants.json document)");
}

Test(resolve, rejects_bad_variants) {
  expect_error("{'default-priorities': {'namespace': []}}", "variants: missing");
  expect_variants_error("[]", "variants: must be a map of variant label to properties");
  expect_variants_error("{'v': []}", "variants.v: must be a map of namespace to features");
}

Test(resolve, rejects_bad_labels) {
  expect_variants_error("{'abcdefghijklmnopq': {'a': {'f': ['x']}}}",
                        "variants.abcdefghijklmnopq: a variant label must be 1 to 16 characters");
  expect_variants_error("{'X86': {'a': {'f': ['x']}}}",
                        "variants.\"X86\": a variant label may only hold a-z, 0-9, '.' and '_'");
  expect_variants_error("{'a-b': {'a': {'f': ['x']}}}",
                        "variants.\"a-b\": a variant label may only hold a-z, 0-9, '.' and '_'");
  expect_variants_error("{'': {'a': {'f': ['x']}}}", "variants.\"\": a variant label must be 1 to 16 characters");
  /* unprintable bytes and long keys are shown safely in the path */
  expect_variants_error("{'\\n\\u0001AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA': {}}",
                        "variants.\"??AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...\": a variant label must be 1 to 16 characters");
  /* 16 characters, digits, '.' and '_' are fine */
  expect_variants_error("{'abcdefghijklm.0_': {'a': {'f': ['x']}}, 'v': 1}",
                        "variants.v: must be a map of namespace to features");
}

Test(resolve, rejects_non_string_and_duplicate_labels) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *o;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "variants", 8);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "default-priorities", 18);
  msgpack_pack_map(&pk, 0);
  o = unpack(&sb);
  expect_error_obj(o, "variants: variant labels must be strings");

  /* JSON parsers drop repeated keys; msgpack keeps them */
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "variants", 8);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "null", 4);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "w", 1);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "null", 4);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "default-priorities", 18);
  msgpack_pack_map(&pk, 0);
  o = unpack(&sb);
  expect_error_obj(o, "variants.w: a variant other than \"null\" must have at least one property");
  msgpack_sbuffer_clear(&sb);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "variants", 8);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "null", 4);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "null", 4);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "default-priorities", 18);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "namespace", 9);
  msgpack_pack_array(&pk, 0);
  o = unpack(&sb);
  expect_error_obj(o, "variants.null: duplicate variant label");
  msgpack_sbuffer_destroy(&sb);
}

Test(resolve, null_label_has_no_properties_and_others_have_some) {
  expect_variants_error("{'null': {'a': {'f': ['x']}}}", "variants.null: the null variant must have no properties");
  expect_variants_error("{'v': {}}", "variants.v: a variant other than \"null\" must have at least one property");
  expect_variants_error("{'v': {'a': {}}}", "variants.v.a: must name at least one feature");
  expect_variants_error("{'v': {'a': {'f': []}}}", "variants.v.a.f: must list at least one value");
}

Test(resolve, rejects_bad_namespaces_features_and_values) {
  expect_variants_error("{'v': {'X86': {'f': ['x']}}}", "variants.v.\"X86\": " NAME_RULE);
  expect_variants_error("{'v': {'a.b': {'f': ['x']}}}", "variants.v.a.b: " NAME_RULE);
  expect_variants_error("{'v': {'a': []}}", "variants.v.a: must be a map of feature to values");
  expect_variants_error("{'v': {'a': {'f-1': ['x']}}}", "variants.v.a.\"f-1\": " NAME_RULE);
  expect_variants_error("{'v': {'a': {'f': 'x'}}}", "variants.v.a.f: values must be a list of strings");
  expect_variants_error("{'v': {'a': {'f': ['x', 2]}}}", "variants.v.a.f[1]: must be a string");
  expect_variants_error("{'v': {'a': {'f': ['x', 'y', 'V 1']}}}", "variants.v.a.f[2]: " VALUE_RULE);
  expect_variants_error("{'v': {'a': {'f': ['']}}}", "variants.v.a.f[0]: values must not be empty");
  expect_variants_error("{'v': {'a': {'f': ['a\\u0000b']}}}", "variants.v.a.f[0]: must not contain a NUL byte");
  expect_variants_error("{'v': {'a': {'f': ['x', 'y', 'x', 'y']}}}", "variants.v.a.f[2]: duplicate value");
  /* the key path of a realistic document */
  expect_variants_error("{'x86_64_v3': {'x86_64': {'level': ['v3', 'v3']}}}",
                        "variants.x86_64_v3.x86_64.level[1]: duplicate value");
  /* values may use the specifier characters */
  expect_variants_error("{'v': {'a': {'f': ['>=1.2,<2!~', 'y']}}, 'w': 0}",
                        "variants.w: must be a map of namespace to features");
}

Test(resolve, rejects_bad_default_priorities) {
  expect_error("{'variants': {}}", "default-priorities: missing");
  expect_priorities_error("[]", "default-priorities: must be a map with \"namespace\", \"feature\" and \"property\"");
  expect_priorities_error("{}", "default-priorities.namespace: missing (a list of namespace names, which may be empty)");
  expect_priorities_error("{'namespace': 'a'}", "default-priorities.namespace: must be a list of namespace names");
  expect_priorities_error("{'namespace': ['a', null]}", "default-priorities.namespace[1]: must be a string");
  expect_priorities_error("{'namespace': ['A']}", "default-priorities.namespace[0]: " NAME_RULE);
  expect_priorities_error("{'namespace': ['a', 'b', 'a']}", "default-priorities.namespace[2]: duplicate entry");
}

Test(resolve, rejects_bad_feature_priorities) {
  expect_priorities_error("{'namespace': [], 'feature': ['a']}",
                          "default-priorities.feature: must be a map of namespace to feature lists");
  expect_priorities_error("{'namespace': [], 'feature': {'x86_64': 'level'}}",
                          "default-priorities.feature.x86_64: must be a list of feature names");
  expect_priorities_error("{'namespace': [], 'feature': {'x86_64': [1]}}",
                          "default-priorities.feature.x86_64[0]: must be a string");
  expect_priorities_error("{'namespace': [], 'feature': {'x86_64': ['level', 'Level']}}",
                          "default-priorities.feature.x86_64[1]: " NAME_RULE);
  expect_priorities_error("{'namespace': [], 'feature': {'x86_64': ['level', 'level']}}",
                          "default-priorities.feature.x86_64[1]: duplicate entry");
  expect_priorities_error("{'namespace': [], 'feature': {'X': []}}", "default-priorities.feature.\"X\": " NAME_RULE);
  expect_priorities_error("{'namespace': [], 'feature': null}",
                          "default-priorities.feature: must be a map of namespace to feature lists");
}

Test(resolve, rejects_bad_property_priorities) {
  expect_priorities_error("{'namespace': [], 'property': []}",
                          "default-priorities.property: must be a map of namespace to feature-to-values maps");
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': ['v3']}}",
                          "default-priorities.property.x86_64: must be a map of feature to value lists");
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': {'level': 'v3'}}}",
                          "default-priorities.property.x86_64.level: must be a list of values");
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': {'level': ['v3', 'V2']}}}",
                          "default-priorities.property.x86_64.level[1]: " VALUE_RULE);
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': {'level': ['v3', {}]}}}",
                          "default-priorities.property.x86_64.level[1]: must be a string");
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': {'level': ['v3', 'v3']}}}",
                          "default-priorities.property.x86_64.level[1]: duplicate entry");
  expect_priorities_error("{'namespace': [], 'property': {'x86_64': {'Level': []}}}",
                          "default-priorities.property.x86_64.\"Level\": " NAME_RULE);
  expect_priorities_error("{'namespace': [], 'property': {'a': {'f': []}, 'x86_64': {'level': ['v3'], 'l': [7]}}}",
                          "default-priorities.property.x86_64.l[0]: must be a string");
}

Test(resolve, accepts_an_empty_priority_set_and_ignores_other_keys) {
  resolve("{'variants': {'v': {'a': {'f': ['x']}}}, 'providers': 7,"
          " 'default-priorities': {'namespace': [], 'feature': {}, 'property': {}, 'future': 1}}");
  cr_assert_eq(doc.n_variants, 1);
  cr_assert_eq(doc.variants[0].n_props, 1);
  cr_assert_str_eq(doc.variants[0].props[0].value, "x");
}

Test(resolve, error_text_is_cut_to_the_buffer) {
  char small[12];
  cr_assert_eq(resolve_doc_parse(doc_from("{'variants': []}"), &doc, small, sizeof small), -EINVAL);
  cr_assert_str_eq(small, "variants: m");
  cr_assert_eq(resolve_doc_parse(doc_from("{'variants': []}"), &doc, NULL, 0), -EINVAL);
}

Test(resolve, parsed_document_keeps_document_order) {
  resolve("{'variants': {'b': {'z': {'g': ['2', '1']}, 'a': {'f': ['x']}}, 'a': {'a': {'f': ['y']}}},"
          " 'default-priorities': {'namespace': ['z'], 'feature': {'a': ['f']},"
          " 'property': {'a': {'f': ['y', 'x']}, 'z': {'g': ['1']}}}}");
  cr_assert_eq(doc.n_variants, 2);
  cr_assert_str_eq(doc.variants[0].label, "b");
  cr_assert_eq(doc.variants[0].n_props, 3);
  cr_assert_str_eq(doc.variants[0].props[0].ns, "z");
  cr_assert_str_eq(doc.variants[0].props[1].value, "1");
  cr_assert_str_eq(doc.variants[0].props[2].ns, "a");
  cr_assert_str_eq(doc.variants[1].label, "a");
  cr_assert_eq(doc.n_namespaces, 1);
  cr_assert_eq(doc.n_features, 1);
  cr_assert_eq(doc.features[0].n, 1);
  cr_assert_eq(doc.n_values, 2);
  cr_assert_str_eq(doc.values[1].ns, "z");
  cr_assert_str_eq(doc.values[1].feature, "g");
  cr_assert_str_eq(doc.values[1].values[0], "1");
  /* nothing supported: both rejected in input order */
  cr_assert_str_eq(rejected(), "b: no plugin provides namespace 'z' | a: no plugin provides namespace 'a'");
}
