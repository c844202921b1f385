/*
 * Bounds on what a host declaration and a call may make the daemon do on its loop thread
 * (doc/backends.md): the caps on a declaration (host_parse, host.declare), duplicate names
 * found by sorting and looked up by binary search, a declaration file nested too deep,
 * the most arguments one call can route, and dropped values shown short in their warning.
 * Parsing and routing are tested on the daemon's own code (host.c, route.c); the wire
 * behaviour on a real backendd with the fixture_accel adapter (tests/plugins/good_adapter.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include <backend/host.h>
#include <backend/param.h>

#include "harness.h"
#include "host.h"
#include "json.h"
#include "plugin-tree.h"
#include "plugin_info.h"
#include "route.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, what a cut value ends with */

static char why[1024];
static char *tree;

static void teardown(void) {
  harness_cleanup();
  if (tree != NULL)
    plugin_tree_free(tree);
  free(tree);
  tree = NULL;
}

TestSuite(declare, .fini = teardown, .timeout = 120);

/* ---- declarations built with jansson ---- */

/* {"name": "h", "functions": []} with the members of extra (taken; may be NULL). */
static json_t *decl(json_t *extra) {
  json_t *d = json_pack("{s:s, s:[]}", "name", "h", "functions");
  cr_assert_not_null(d);
  if (extra != NULL) {
    cr_assert_eq(json_object_update(d, extra), 0);
    json_decref(extra);
  }
  return d;
}

/* ["<prefix>0", "<prefix>1", ...] */
static json_t *name_list(const char *prefix, unsigned n) {
  json_t *a = json_array();
  char name[128];
  for (unsigned i = 0; i < n; i++) {
    cr_assert_lt((size_t)snprintf(name, sizeof name, "%.64s%u", prefix, i), sizeof name);
    json_array_append_new(a, json_string(name));
  }
  return a;
}

/* {"t0": {"package": "p0", "aliases": ["t0_a0", ...]}, ...}: n backends with n_aliases each. */
static json_t *trusted(unsigned n, unsigned n_aliases) {
  json_t *m = json_object();
  char name[64], prefix[64];
  for (unsigned i = 0; i < n; i++) {
    snprintf(name, sizeof name, "t%u", i);
    snprintf(prefix, sizeof prefix, "t%u_a", i);
    json_object_set_new(m, name, json_pack("{s:s, s:o}", "package", "p", "aliases", name_list(prefix, n_aliases)));
  }
  return m;
}

/* {"r0": "mine", "r1": "mine", ...} */
static json_t *reserved(unsigned n) {
  json_t *m = json_object();
  char name[64];
  for (unsigned i = 0; i < n; i++) {
    snprintf(name, sizeof name, "r%u", i);
    json_object_set_new(m, name, json_string("mine"));
  }
  return m;
}

/* host_parse on MessagePack bytes. */
static int parse_bytes(const char *data, size_t size, struct host **out) {
  msgpack_zone zone;
  msgpack_object o;
  int err;
  msgpack_zone_init(&zone, 4096);
  cr_assert_eq(msgpack_unpack(data, size, NULL, &zone, &o), MSGPACK_UNPACK_SUCCESS);
  why[0] = '\0';
  err = host_parse(&o, "test", out, why, sizeof why);
  msgpack_zone_destroy(&zone);
  return err;
}

/* host_parse on the declaration j (taken). */
static int parse(json_t *j, struct host **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  cr_assert_eq(proto_msgpack_from_json(j, &pk), 0);
  json_decref(j);
  err = parse_bytes(sb.data, sb.size, out);
  msgpack_sbuffer_destroy(&sb);
  return err;
}

static void refused(json_t *j, const char *what, const char *words) {
  struct host *h = NULL;
  int err = parse(j, &h);
  host_unref(h);
  cr_expect_eq(err, -EINVAL, "%s: not refused (%d, %s)", what, err, why);
  cr_expect(strstr(why, words) != NULL, "%s: '%s' does not say '%s'", what, why, words);
}

static struct host *accepted(json_t *j, const char *what) {
  struct host *h = NULL;
  int err = parse(j, &h);
  cr_assert_eq(err, 0, "%s: refused: %s", what, why);
  return h;
}

static void accepted_unref(json_t *j, const char *what) { host_unref(accepted(j, what)); }

/* ======================================================================================== */

Test(declare, each_cap_is_refused_naming_it) {
  json_t *t;
  char *doc;
  accepted_unref(decl(json_pack("{s:o}", "trusted", trusted(1, HOSTDECL_MAX_TRUST_LIST))), "256 aliases");
  refused(decl(json_pack("{s:o}", "trusted", trusted(1, HOSTDECL_MAX_TRUST_LIST + 1))), "257 aliases",
          "trusted backend 't0': aliases: more than 256 entries");
  /* the other lists of a trust entry, the same */
  static const char *const lists[] = {"distributions", "entrypoints", "object_refs", "module_prefixes"};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    char words[128];
    t = json_pack("{s:{s:s, s:o}}", "t0", "package", "p", lists[i], name_list("x", HOSTDECL_MAX_TRUST_LIST + 1));
    snprintf(words, sizeof words, "trusted backend 't0': %s: more than 256 entries", lists[i]);
    refused(decl(json_pack("{s:o}", "trusted", t)), lists[i], words);
  }
  accepted_unref(decl(json_pack("{s:o, s:o}", "trusted", trusted(HOSTDECL_MAX_TRUSTED, 0), "reserved",
                                reserved(HOSTDECL_MAX_RESERVED))),
                 "1024 trusted and 1024 reserved");
  refused(decl(json_pack("{s:o}", "trusted", trusted(HOSTDECL_MAX_TRUSTED + 1, 0))), "1025 trusted",
          "more than 1024 trusted backends");
  refused(decl(json_pack("{s:o}", "reserved", reserved(HOSTDECL_MAX_RESERVED + 1))), "1025 reserved",
          "more than 1024 reserved names");
  /* 15 * (1 + 256) + 241 = 4096 names in all; one more is too many */
  accepted_unref(decl(json_pack("{s:o, s:o}", "trusted", trusted(15, 256), "reserved", reserved(241))), "4096 names");
  refused(decl(json_pack("{s:o, s:o}", "trusted", trusted(15, 256), "reserved", reserved(242))), "4097 names",
          "more than 4096 backend names");

  /* The declaration as a whole: 4 docs of 900 kB fit in 4 MiB, 5 do not. */
  cr_assert_not_null(doc = malloc(900001));
  memset(doc, 'x', 900000);
  doc[900000] = '\0';
  for (int n = 4; n <= 5; n++) {
    json_t *fns = json_array();
    for (int i = 0; i < n; i++) {
      char name[16];
      snprintf(name, sizeof name, "f%d", i);
      json_array_append_new(fns, json_pack("{s:s, s:[], s:s}", "name", name, "params", "doc", doc));
    }
    if (n == 4)
      accepted_unref(json_pack("{s:s, s:o}", "name", "h", "functions", fns), "3.6 MB");
    else
      refused(json_pack("{s:s, s:o}", "name", "h", "functions", fns), "4.5 MB",
              "the declaration is larger than 4194304 bytes");
  }
  free(doc);
}

Test(declare, duplicates_are_found_among_thousands_of_names) {
  struct host *h;
  const struct host_trusted *t;
  const struct host_reserved *r;
  json_t *tr = trusted(1000, 2), *res = reserved(1000);
  /* 4000 distinct names: sorted, then looked up by binary search */
  h = accepted(decl(json_pack("{s:O, s:O}", "trusted", tr, "reserved", res)), "4000 names");
  cr_assert_not_null(t = host_find_trusted(h, "t500_a1"));
  cr_expect_str_eq(t->name, "t500");
  cr_assert_not_null(t = host_find_trusted(h, "t999"));
  cr_expect_str_eq(t->name, "t999");
  cr_assert_not_null(r = host_find_reserved(h, "r7"));
  cr_expect_str_eq(r->reason, "mine");
  cr_expect_null(host_find_trusted(h, "r7"));
  cr_expect_null(host_find_reserved(h, "t7"));
  cr_expect_null(host_find_trusted(h, "t1000"));
  cr_expect_null(host_find_reserved(h, ""));
  host_unref(h);

  /* The last name declared again: found, with the rule it breaks. */
  json_object_set_new(res, "t999_a1", json_string("mine"));
  refused(decl(json_pack("{s:O, s:O}", "trusted", tr, "reserved", res)), "trusted and reserved",
          "'t999_a1' is both trusted (backend 't999') and reserved");
  json_decref(tr);
  json_decref(res);
  refused(decl(json_pack("{s:{s:{s:s, s:[s, s]}}}", "trusted", "a", "package", "p", "aliases", "x", "x")),
          "alias twice", "trusted backend 'a' lists 'x' twice");
  refused(decl(json_pack("{s:{s:{s:s, s:[s]}}}", "trusted", "a", "package", "p", "aliases", "a")), "own name as alias",
          "trusted backend 'a' lists 'a' twice");
  refused(decl(json_pack("{s:{s:{s:s, s:[s]}, s:{s:s, s:[s]}}}", "trusted", "a", "package", "p", "aliases", "x", "b",
                         "package", "q", "aliases", "x")),
          "alias of two", "'x' is claimed by trusted backends 'a' and 'b'");
  /* Of two duplicates, the one declared again first is reported. */
  refused(decl(json_pack("{s:{s:{s:s, s:[s, s, s, s]}}}", "trusted", "a", "package", "p", "aliases", "y", "z", "z",
                         "y")),
          "two duplicates", "lists 'z' twice");
}

Test(declare, a_reserved_name_twice) {
  /* {"name": "h", "functions": [], "reserved": {"gpu": "a", "gpu": "b"}}: JSON objects cannot repeat a key */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct host *h = NULL;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "name", 4);
  msgpack_pack_str_with_body(&pk, "h", 1);
  msgpack_pack_str_with_body(&pk, "functions", 9);
  msgpack_pack_array(&pk, 0);
  msgpack_pack_str_with_body(&pk, "reserved", 8);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "gpu", 3);
  msgpack_pack_str_with_body(&pk, "a", 1);
  msgpack_pack_str_with_body(&pk, "gpu", 3);
  msgpack_pack_str_with_body(&pk, "b", 1);
  err = parse_bytes(sb.data, sb.size, &h);
  msgpack_sbuffer_destroy(&sb);
  host_unref(h);
  cr_expect_eq(err, -EINVAL);
  cr_expect(strstr(why, "reserved name 'gpu' appears twice") != NULL, "%s", why);
}

/* The client library refuses the same (client/host-check.c), before any daemon is asked. */
Test(declare, the_client_refuses_the_same_caps) {
  static char names[HOSTDECL_MAX_RESERVED + 1][16];
  static const char *aliases[HOSTDECL_MAX_TRUST_LIST + 2];
  static struct backend_reserved res[HOSTDECL_MAX_RESERVED + 2];
  struct backend_trusted tr[2] = {{.name = "t0", .package = "p", .aliases = aliases}, {.name = NULL}};
  struct backend_host_function fns[1] = {{.name = NULL}};
  struct backend_host_decl d = {.name = "h", .functions = fns, .trusted = tr};
  backend_host *h = NULL;
  int err;
  for (int i = 0; i <= HOSTDECL_MAX_RESERVED; i++) {
    snprintf(names[i], sizeof names[i], "n%d", i);
    res[i] = (struct backend_reserved){names[i], "mine"};
    if (i <= HOSTDECL_MAX_TRUST_LIST)
      aliases[i] = names[i];
  }
  err = backend_host_new(&d, "/nonexistent/backendd.sock", &h, why, sizeof why);
  cr_expect_eq(err, BACKEND_EINVAL, "257 aliases: %d %s", err, why);
  cr_expect(strstr(why, "trusted backend 't0': aliases: more than 256 entries") != NULL, "%s", why);
  aliases[HOSTDECL_MAX_TRUST_LIST] = NULL;
  err = backend_host_new(&d, "/nonexistent/backendd.sock", &h, why, sizeof why);
  cr_expect_eq(err, 0, "256 aliases: %s", why);
  backend_host_free(h);
  h = NULL;
  d.trusted = NULL;
  d.reserved = res;
  err = backend_host_new(&d, "/nonexistent/backendd.sock", &h, why, sizeof why);
  cr_expect_eq(err, BACKEND_EINVAL, "1025 reserved: %d %s", err, why);
  cr_expect(strstr(why, "more than 1024 reserved names") != NULL, "%s", why);
}

/* ---- declaration files ---- */

/* A declaration file whose parameter x defaults to `depth` nested arrays, after a line break. */
static const char *nested_file(int depth, int *line, int *column) {
  static char path[512];
  static const char head[] = "{\"name\": \"h\",\n \"functions\": [{\"name\": \"f\", \"params\": [{\"name\": \"x\", "
                             "\"kind\": \"keyword_only\", \"default\": ";
  char *text;
  size_t n = strlen(head);
  FILE *f;
  cr_assert_not_null(text = malloc(n + 2 * (size_t)depth + 16));
  memcpy(text, head, n);
  memset(text + n, '[', (size_t)depth);
  memset(text + n + depth, ']', (size_t)depth);
  strcpy(text + n + 2 * (size_t)depth, "}]}]}\n");
  snprintf(path, sizeof path, "%s/backend-host.json", harness_tmpdir());
  cr_assert_not_null(f = fopen(path, "w"));
  fputs(text, f);
  fclose(f);
  free(text);
  /* the object, functions, the function, params and the parameter: 5 levels before the default */
  *line = 2;
  *column = (int)(n - (size_t)(strchr(head, '\n') - head) - 1) + (32 - 5) + 1;
  return path;
}

/* The daemon refuses parameters out of Python's order as the client library does (test-host). */
Test(declare, parameters_in_python_order) {
  static const char *const bad[][2] = {
      {"[{'name': 'method', 'kind': 'keyword_only', 'default': 'fast'}, {'name': 'data', 'kind': 'positional'}]",
       "function 'f', parameter 'data': a positional parameter cannot follow keyword-only ones"},
      {"[{'name': 'copy', 'kind': 'positional', 'default': false}, {'name': 'data', 'kind': 'positional'}]",
       "function 'f', parameter 'data': a positional parameter without a default cannot follow one with a default"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    json_t *params;
    snprintf(text, sizeof text, "%s", bad[i][0]);
    for (char *q = text; *q != '\0'; q++)
      if (*q == '\'')
        *q = '"';
    cr_assert_not_null(params = json_loads(text, 0, NULL), "%s", text);
    refused(decl(json_pack("{s:[{s:s, s:o}]}", "functions", "name", "f", "params", params)), bad[i][0], bad[i][1]);
  }
  accepted_unref(decl(json_pack("{s:[{s:s, s:[{s:s, s:s}, {s:s, s:s, s:b}, {s:s, s:s}]}]}", "functions", "name", "f",
                                "params", "name", "data", "kind", "positional", "name", "copy", "kind", "positional",
                                "default", 0, "name", "method", "kind", "keyword_only")),
                 "data, copy=False, *, method");
}

Test(declare, a_file_nested_too_deep_says_so_and_where) {
  struct host *h = NULL;
  char words[700];
  int line, column, err;
  const char *path = nested_file(32 - 5, &line, &column);
  /* 32 levels: what MessagePack decoding takes */
  err = host_load_file(path, &h, why, sizeof why);
  cr_assert_eq(err, 0, "%s", why);
  cr_expect_eq(h->functions[0].params[0].def->type, MSGPACK_OBJECT_ARRAY);
  host_unref(h);
  h = NULL;
  /* 33: refused as such, at the first bracket too many, not as "out of memory" */
  path = nested_file(32 - 5 + 1, &line, &column);
  err = host_load_file(path, &h, why, sizeof why);
  cr_expect_null(h);
  cr_expect_eq(err, -EINVAL, "%d: %s", err, why);
  snprintf(words, sizeof words, "%s:%d:%d: nested deeper than 32 arrays and objects", path, line, column);
  cr_expect(strstr(why, words) != NULL, "'%s' does not say '%s'", why, words);
  cr_expect(strstr(why, "out of memory") == NULL, "%s", why);
}

/* ---- routing ---- */

/*
 * The most arguments a call can route: a value for each of the host's 64 parameters and 64
 * unknown keywords, all taken by a **kwargs backend (under copies of their names), which adds
 * its own defaults for its 63 other parameters.
 */
Test(declare, the_most_arguments_reach_a_kwargs_backend) {
  struct sig_param bparams[SIG_MAX_PARAMS];
  char fname[] = "f";
  struct plugin_function bf = {.name = fname};
  struct route r;
  const struct host_function *hf;
  msgpack_object nil = {.type = MSGPACK_OBJECT_NIL}, kwargs;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_zone zone;
  json_t *params = json_array();
  struct host *h;
  char names[SIG_MAX_PARAMS][16], key[16];
  int err;
  for (int i = 0; i < SIG_MAX_PARAMS; i++) {
    snprintf(key, sizeof key, "p%d", i);
    json_array_append_new(params, json_pack("{s:s, s:s, s:n}", "name", key, "kind", "keyword_only", "default"));
  }
  h = accepted(json_pack("{s:s, s:[{s:s, s:o}]}", "name", "h", "functions", "name", "f", "params", params), "64 params");
  cr_assert_not_null(hf = host_find_function(h, "f", 1));
  for (int i = 0; i < SIG_MAX_PARAMS - 1; i++) {
    snprintf(names[i], sizeof names[i], "b%d", i);
    bparams[i] = (struct sig_param){names[i], BACKEND_PARAM_KEYWORD_ONLY, &nil};
  }
  bparams[SIG_MAX_PARAMS - 1] = (struct sig_param){"kw", BACKEND_PARAM_VAR_KEYWORD, NULL};
  bf.sig = (struct sig){"f", bparams, SIG_MAX_PARAMS};

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2 * SIG_MAX_PARAMS);
  for (int i = 0; i < 2 * SIG_MAX_PARAMS; i++) {
    snprintf(key, sizeof key, i < SIG_MAX_PARAMS ? "p%d" : "x%d", i % SIG_MAX_PARAMS);
    msgpack_pack_str_with_body(&pk, key, strlen(key));
    msgpack_pack_int(&pk, 1);
  }
  msgpack_zone_init(&zone, 4096);
  cr_assert_eq(msgpack_unpack(sb.data, sb.size, NULL, &zone, &kwargs), MSGPACK_UNPACK_SUCCESS);
  err = route_call(h, hf, "kwb", &bf, NULL, &kwargs, &r, why, sizeof why);
  cr_expect_eq(err, 0, "%d: %s", err, why);
  cr_expect_eq(r.n_forwarded, 2 * SIG_MAX_PARAMS);
  cr_expect_eq(r.n, 2 * SIG_MAX_PARAMS + SIG_MAX_PARAMS - 1);
  cr_expect_eq(r.n_owned, 2 * SIG_MAX_PARAMS);
  cr_expect_eq(r.n_warnings, 0);
  cr_expect(r.n > 0 && strcmp(r.names[r.n - 1], "b62") == 0, "the backend's defaults come last");
  route_clear(&r);
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
  host_unref(h);
}

/* ---- against a daemon ---- */

/* method with params (taken); the reply, result or error. */
static backend_reply *rpc(backend_client *c, const char *method, json_t *params) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r = NULL;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  cr_assert_eq(proto_msgpack_from_json(params, &pk), 0);
  json_decref(params);
  err = backend_client_call(c, method, sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert(err == 0 || err == BACKEND_EREMOTE, "%s: %s", method, backend_strerror(err));
  return harness_keep(r);
}

static const msgpack_object *ok(backend_client *c, const char *method, json_t *params) {
  backend_reply *r = rpc(c, method, params);
  cr_assert_eq(r->status, 0, "%s failed: %s: %s", method, r->error_code, r->error_message);
  return &r->result;
}

static backend_reply *fails(backend_client *c, const char *code, const char *method, json_t *params) {
  backend_reply *r = rpc(c, method, params);
  cr_assert_eq(r->status, BACKEND_EREMOTE, "%s should fail with %s", method, code);
  cr_assert_str_eq(r->error_code, code, "%s: %s (%s), not %s", method, r->error_code, r->error_message, code);
  return r;
}

/* fixture_accel: compute_score(data, *, method='quick', batch_size=None, _trace=False), no **kwargs. */
static struct hdaemon *start_with_accel(void) {
  char *so = plugin_tree_fixture("good_adapter");
  cr_assert_not_null(so, "fixture good_adapter is not built (BACKENDD_FIXTURES)");
  cr_assert_not_null(tree = plugin_tree_new("declare"));
  cr_assert_eq(plugin_tree_add(tree, "good-adapter", "1.0", "[fixture_host.backends]\nfixture_accel = good_adapter.mod\n",
                               "good_adapter.mod", so),
               0);
  free(so);
  return harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, "--plugin-timeout", "10", "--log-level",
                       "debug", (const char *)NULL);
}

/* Declares fixture_host with compute_score(data, *, <params>), trusting fixture_accel; params is taken. */
static void declare_score(backend_client *c, json_t *params) {
  json_t *all = json_pack("[{s:s, s:s}]", "name", "data", "kind", "positional");
  json_array_extend(all, params);
  json_decref(params);
  /* trusted: no first-use warning among the ones counted */
  ok(c, "host.declare",
     json_pack("{s:s, s:[{s:s, s:o, s:s}], s:{s:{s:s}}}", "name", "fixture_host", "functions", "name", "compute_score",
               "params", all, "doc", "Compute a score.\n", "trusted", "fixture_accel", "package", "good-adapter"));
}

static const msgpack_object *call_score(backend_client *c, json_t *kwargs) {
  const msgpack_object *r = ok(c, "backend.call",
                               json_pack("{s:s, s:s, s:s, s:[[i]], s:o}", "host", "fixture_host", "function",
                                         "compute_score", "backend", "fxa", "args", 1, "kwargs", kwargs));
  const msgpack_object *w = harness_get(r, "warnings");
  cr_assert(w != NULL && w->type == MSGPACK_OBJECT_ARRAY, "no warnings array");
  return w;
}

static bool has(const msgpack_object *s, const char *needle) {
  return s->type == MSGPACK_OBJECT_STR && memmem(s->via.str.ptr, s->via.str.size, needle, strlen(needle)) != NULL;
}

Test(declare, caps_over_the_wire) {
  struct hdaemon *d;
  backend_client *c;
  backend_reply *e;
  cr_assert_not_null(tree = plugin_tree_new("declare-wire"));
  d = harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, (const char *)NULL);
  c = harness_client(d);
  e = fails(c, "Host.InvalidDeclaration", "host.declare", decl(json_pack("{s:o}", "trusted", trusted(1, 257))));
  cr_expect(strstr(e->error_message, "more than 256 entries") != NULL, "%s", e->error_message);
  e = fails(c, "Host.InvalidDeclaration", "host.declare", decl(json_pack("{s:o}", "reserved", reserved(1025))));
  cr_expect(strstr(e->error_message, "more than 1024 reserved names") != NULL, "%s", e->error_message);
  ok(c, "host.declare", decl(json_pack("{s:o, s:o, s:[{s:s, s:[], s:s}]}", "trusted", trusted(15, 256), "reserved",
                                       reserved(241), "functions", "name", "f", "params", "doc", "F.\n")));
  /* A typo among all 4096 names is still found (the suggestion skips names too long or short to win). */
  e = fails(c, "Backend.Unknown", "backend.call",
            json_pack("{s:s, s:s, s:s, s:[], s:{}}", "host", "h", "function", "f", "backend", "t14_a2555", "args", "kwargs"));
  cr_expect(strstr(e->error_message, "did you mean 't14_a255'") != NULL, "%s", e->error_message);
  harness_client_close(c);
  harness_finish(d);
}

/*
 * 127 arguments: data, 62 host-only ones at other values than their defaults and 64 unknown
 * keywords the host's **kwargs takes. fixture_accel takes none of the 126: each gets its warning.
 */
Test(declare, every_dropped_argument_of_the_most_gets_its_warning) {
  struct hdaemon *d = start_with_accel();
  backend_client *c = harness_client(d);
  json_t *params = json_array(), *kwargs = json_object();
  const msgpack_object *w;
  char name[16];
  int n_host = 0, n_extra = 0;
  for (int i = 0; i < SIG_MAX_PARAMS - 2; i++) {
    snprintf(name, sizeof name, "h%d", i);
    json_array_append_new(params, json_pack("{s:s, s:s, s:n}", "name", name, "kind", "keyword_only", "default"));
    json_object_set_new(kwargs, name, json_integer(i));
  }
  json_array_append_new(params, json_pack("{s:s, s:s}", "name", "kw", "kind", "var_keyword"));
  for (int i = 0; i < SIG_MAX_PARAMS; i++) {
    snprintf(name, sizeof name, "y%d", i);
    json_object_set_new(kwargs, name, json_true());
  }
  declare_score(c, params);
  w = call_score(c, kwargs);
  cr_expect_eq(w->via.array.size, 2 * SIG_MAX_PARAMS - 2, "%u warnings", w->via.array.size);
  for (uint32_t i = 0; i < w->via.array.size; i++) {
    n_host += has(&w->via.array.ptr[i], "=");
    n_extra += has(&w->via.array.ptr[i], "': it was ignored");
  }
  cr_expect_eq(n_host, SIG_MAX_PARAMS - 2);
  cr_expect_eq(n_extra, SIG_MAX_PARAMS);
  /* unknown keywords first, in the caller's order, then the host's parameters in its order */
  cr_expect(w->via.array.size == 2 * SIG_MAX_PARAMS - 2 && has(&w->via.array.ptr[SIG_MAX_PARAMS - 1], "'y63'") &&
                has(&w->via.array.ptr[w->via.array.size - 1], "'h61'"),
            "warnings out of order");
  harness_client_close(c);
  harness_finish(d);
}

/* Is s (n bytes) valid UTF-8? */
static bool utf8_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t len = u[i] < 0x80 ? 1 : (u[i] & 0xe0) == 0xc0 ? 2 : (u[i] & 0xf0) == 0xe0 ? 3 : (u[i] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || i + len > n)
      return false;
    for (size_t k = 1; k < len; k++)
      if ((u[i + k] & 0xc0) != 0x80)
        return false;
    i += len;
  }
  return true;
}

Test(declare, dropped_values_are_shown_short_and_large_ones_never_silently) {
  struct hdaemon *d = start_with_accel();
  backend_client *c = harness_client(d);
  json_t *big = json_object(), *small = json_pack("{s:i}", "a", 1), *kwargs;
  const msgpack_object *w, *w0;
  char key[16], *text;
  size_t n = 100000;
  for (int i = 0; i < 2000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    json_object_set_new(big, key, json_integer(i));
  }
  declare_score(c, json_pack("[{s:s, s:s, s:n}, {s:s, s:s, s:O}, {s:s, s:s, s:O}, {s:s, s:s}]", "name", "n_jobs", "kind",
                             "keyword_only", "default", "name", "opts", "kind", "keyword_only", "default", big, "name",
                             "small", "kind", "keyword_only", "default", small, "name", "kw", "kind", "var_keyword"));

  /* A 200 kB value: its warning shows the start, cut between two characters. */
  cr_assert_not_null(text = malloc(2 * n + 1));
  for (size_t i = 0; i < n; i++)
    memcpy(text + 2 * i, "\xc3\xa9", 2);
  text[2 * n] = '\0';
  w = call_score(c, json_pack("{s:s}", "n_jobs", text));
  free(text);
  cr_assert_eq(w->via.array.size, 1);
  w0 = &w->via.array.ptr[0];
  cr_expect_lt(w0->via.str.size, 400, "a warning of %u bytes", w0->via.str.size);
  cr_expect(has(w0, "n_jobs='\xc3\xa9\xc3\xa9"), "%.*s", (int)w0->via.str.size, w0->via.str.ptr);
  cr_expect(has(w0, ELLIPSIS " was ignored"), "%.*s", (int)w0->via.str.size, w0->via.str.ptr);
  cr_expect(utf8_valid(w0->via.str.ptr, w0->via.str.size), "cut inside a character");

  /* An unknown keyword with a long name: the name shown short too. */
  cr_assert_not_null(text = malloc(5001));
  memset(text, 'k', 5000);
  text[5000] = '\0';
  kwargs = json_object();
  json_object_set_new(kwargs, text, json_integer(1));
  free(text);
  w = call_score(c, kwargs);
  cr_assert_eq(w->via.array.size, 1);
  cr_expect_lt(w->via.array.ptr[0].via.str.size, 400, "a warning of %u bytes", w->via.array.ptr[0].via.str.size);
  cr_expect(has(&w->via.array.ptr[0], "kkk" ELLIPSIS "'"), "%.*s", 300, w->via.array.ptr[0].via.str.ptr);

  /* At its default: dropped silently when it can be compared... */
  w = call_score(c, json_pack("{s:{s:f}}", "small", "a", 1.0));
  cr_expect_eq(w->via.array.size, 0, "small at its default");
  /* ...and with a warning when it is too large to compare within the budget. */
  w = call_score(c, json_pack("{s:O}", "opts", big));
  cr_expect_eq(w->via.array.size, 1, "a large value is never dropped silently");
  cr_expect(w->via.array.size == 1 && has(&w->via.array.ptr[0], "opts={'k0': 0, "), "%s",
            w->via.array.size == 1 ? "" : "no warning");
  json_decref(big);
  json_decref(small);
  harness_client_close(c);
  harness_finish(d);
}
