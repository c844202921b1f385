/*
 * Backend dispatch against a real backendd (doc/backends.md, doc/protocol.md): host.declare
 * and its refusals, backend.list, backend.describe and backend.call over raw MessagePack-RPC
 * through the client library, with the fixture adapters (tests/plugins/) registered under
 * fixture_host.backends. Every rule of the spec gets a case: backend selection (cpu, aliases,
 * unknown with a suggestion, not installed, reserved), the routing table, fallback and
 * failure, result metadata, each trust check, name conflicts, the untrusted first-use warning,
 * lazy loading, serialisation of adapters that are not thread safe (also across a reload that
 * keeps their file), slow loads that hold one worker, cancellation of queued and waiting calls
 * when their client goes away, results past the protocol's limits, merged docs (and out of
 * memory describing), declaration files, and an ndarray round trip.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/ndarray.h"
#include "harness.h"
#include "plugin-tree.h"

static char *tree, *tree2;

static void teardown(void) {
  harness_cleanup();
  if (tree != NULL)
    plugin_tree_free(tree);
  if (tree2 != NULL)
    plugin_tree_free(tree2);
  free(tree);
  free(tree2);
  tree = tree2 = NULL;
}

TestSuite(dispatch, .fini = teardown, .timeout = 120);

/* ---- a small JSON-like notation for parameters ---- */

/*
 * Packs text written like JSON, with 'single quotes' allowed for strings (so C literals need
 * no escaping) and raw newlines allowed inside strings: objects, arrays, strings (escapes
 * \n \t \\ \' \"), integers, floats, true, false, null.
 */
struct jp {
  const char *s;
};

static void jp_ws(struct jp *p) {
  while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
    p->s++;
}

static int jp_value(struct jp *p, msgpack_packer *pk);

static int jp_string(struct jp *p, msgpack_packer *pk) {
  char quote = *p->s++, *buf = malloc(strlen(p->s) + 1);
  size_t n = 0;
  cr_assert_not_null(buf);
  while (*p->s != quote) {
    char ch = *p->s++;
    if (ch == '\0') {
      free(buf);
      return -1;
    }
    if (ch == '\\') {
      ch = *p->s++;
      ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
    }
    buf[n++] = ch;
  }
  p->s++;
  msgpack_pack_str_with_body(pk, buf, n);
  free(buf);
  return 0;
}

static int jp_container(struct jp *p, msgpack_packer *pk) {
  char close = *p->s == '{' ? '}' : ']';
  bool is_map = close == '}';
  msgpack_sbuffer sub;
  msgpack_packer subpk;
  uint32_t n = 0;
  int err = 0;
  p->s++;
  msgpack_sbuffer_init(&sub);
  msgpack_packer_init(&subpk, &sub, msgpack_sbuffer_write);
  jp_ws(p);
  while (err == 0 && *p->s != close) {
    if (n > 0) {
      if (*p->s != ',') {
        err = -1;
        break;
      }
      p->s++;
      jp_ws(p);
    }
    if ((err = jp_value(p, &subpk)) < 0)
      break;
    if (is_map) {
      jp_ws(p);
      if (*p->s != ':') {
        err = -1;
        break;
      }
      p->s++;
      if ((err = jp_value(p, &subpk)) < 0)
        break;
    }
    n++;
    jp_ws(p);
  }
  if (err == 0) {
    p->s++;
    if (is_map)
      msgpack_pack_map(pk, n);
    else
      msgpack_pack_array(pk, n);
    if (sub.size > 0)
      pk->callback(pk->data, sub.data, sub.size);
  }
  msgpack_sbuffer_destroy(&sub);
  return err;
}

static int jp_value(struct jp *p, msgpack_packer *pk) {
  jp_ws(p);
  if (*p->s == '{' || *p->s == '[')
    return jp_container(p, pk);
  if (*p->s == '\'' || *p->s == '"')
    return jp_string(p, pk);
  if (strncmp(p->s, "true", 4) == 0 || strncmp(p->s, "null", 4) == 0) {
    if (*p->s == 't')
      msgpack_pack_true(pk);
    else
      msgpack_pack_nil(pk);
    p->s += 4;
    return 0;
  }
  if (strncmp(p->s, "false", 5) == 0) {
    msgpack_pack_false(pk);
    p->s += 5;
    return 0;
  }
  if (*p->s == '-' || (*p->s >= '0' && *p->s <= '9')) {
    size_t len = strspn(p->s, "-+0123456789.eE");
    char num[64];
    cr_assert_lt(len, sizeof num);
    memcpy(num, p->s, len);
    num[len] = '\0';
    p->s += len;
    if (strpbrk(num, ".eE") != NULL)
      msgpack_pack_double(pk, strtod(num, NULL));
    else if (num[0] == '-')
      msgpack_pack_int64(pk, strtoll(num, NULL, 10));
    else
      msgpack_pack_uint64(pk, strtoull(num, NULL, 10));
    return 0;
  }
  return -1;
}

/* Packs text into sb (initialised here); asserts it parses. */
static void pack_text(msgpack_sbuffer *sb, const char *text) {
  msgpack_packer pk;
  struct jp p = {text};
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  cr_assert_eq(jp_value(&p, &pk), 0, "test bug: cannot parse near '%.40s' in %s", p.s, text);
  jp_ws(&p);
  cr_assert_eq(*p.s, '\0', "test bug: trailing text '%.40s'", p.s);
}

/* ---- calls ---- */

/* A printable form of o, for assertion messages (static buffer: one per message). */
static const char *show(const msgpack_object *o) {
  static char buf[4][2048];
  static int next;
  char *b = buf[next++ % 4];
  if (o == NULL)
    return "(absent)";
  if (msgpack_object_print_buffer(b, sizeof buf[0], *o) < 0)
    snprintf(b, sizeof buf[0], "(unprintable)");
  return b;
}

/* method with the named parameters written as text (printf format); the reply, result or error. */
static backend_reply *rpcv(backend_client *c, const char *method, const char *fmt, va_list ap) {
  static char text[64 * 1024]; /* not malloc'd: a failed assertion must not leak it (ASan) */
  msgpack_sbuffer sb;
  backend_reply *r = NULL;
  int err;
  cr_assert_lt((size_t)vsnprintf(text, sizeof text, fmt, ap), sizeof text);
  pack_text(&sb, text);
  err = backend_client_call(c, method, sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert(err == 0 || err == BACKEND_EREMOTE, "%s %s: %s", method, text, backend_strerror(err));
  return harness_keep(r);
}

static backend_reply *rpc(backend_client *c, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static backend_reply *rpc(backend_client *c, const char *method, const char *fmt, ...) {
  va_list ap;
  backend_reply *r;
  va_start(ap, fmt);
  r = rpcv(c, method, fmt, ap);
  va_end(ap);
  return r;
}

/* The result of a call that must succeed. */
static const msgpack_object *ok(backend_client *c, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const msgpack_object *ok(backend_client *c, const char *method, const char *fmt, ...) {
  va_list ap;
  backend_reply *r;
  va_start(ap, fmt);
  r = rpcv(c, method, fmt, ap);
  va_end(ap);
  cr_assert_eq(r->status, 0, "%s failed: %s: %s", method, r->error_code, r->error_message);
  return &r->result;
}

/* The reply of a call that must fail with code. */
static backend_reply *fails(backend_client *c, const char *code, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static backend_reply *fails(backend_client *c, const char *code, const char *method, const char *fmt, ...) {
  va_list ap;
  backend_reply *r;
  va_start(ap, fmt);
  r = rpcv(c, method, fmt, ap);
  va_end(ap);
  cr_assert_eq(r->status, BACKEND_EREMOTE, "%s should fail with %s, got %s", method, code, show(&r->result));
  cr_assert_str_eq(r->error_code, code, "%s: code %s (%s), not %s", method, r->error_code, r->error_message, code);
  return r;
}

/* backend.call text for fixture_host: backend and kwargs (text) may be NULL, args is text or NULL. */
static const char *call_text(const char *backend, const char *function, const char *args, const char *kwargs) {
  static char text[4096];
  int n = snprintf(text, sizeof text, "{'host': 'fixture_host', 'function': '%s'%s%s%s%s%s%s%s}", function,
                   backend ? ", 'backend': '" : "", backend ? backend : "", backend ? "'" : "", args ? ", 'args': " : "",
                   args ? args : "", kwargs ? ", 'kwargs': " : "", kwargs ? kwargs : "");
  cr_assert(n > 0 && (size_t)n < sizeof text);
  return text;
}

/* A backend.call that must succeed: its result map {backend, trusted, fallback, warnings, backend_ns, result}. */
static const msgpack_object *call_ok(backend_client *c, const char *backend, const char *function, const char *args,
                                     const char *kwargs) {
  const msgpack_object *r = ok(c, "backend.call", "%s", call_text(backend, function, args, kwargs));
  cr_assert_eq(r->type, MSGPACK_OBJECT_MAP, "%s: result is not a map", call_text(backend, function, args, kwargs));
  return r;
}

static backend_reply *call_fails(backend_client *c, const char *code, const char *backend, const char *function,
                                 const char *args, const char *kwargs) {
  return fails(c, code, "backend.call", "%s", call_text(backend, function, args, kwargs));
}

/* ---- looking at results ---- */

static bool str_has(const msgpack_object *o, const char *needle) {
  return o != NULL && o->type == MSGPACK_OBJECT_STR && memmem(o->via.str.ptr, o->via.str.size, needle, strlen(needle)) != NULL;
}

static bool is_nil(const msgpack_object *o) { return o != NULL && o->type == MSGPACK_OBJECT_NIL; }

static bool is_bool(const msgpack_object *o, bool v) {
  return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean == v;
}

static bool is_uint(const msgpack_object *o, uint64_t v) {
  return o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == v;
}

static const msgpack_object *warnings(const msgpack_object *result) {
  const msgpack_object *w = harness_get(result, "warnings");
  cr_assert(w != NULL && w->type == MSGPACK_OBJECT_ARRAY, "warnings is not an array: %s", show(result));
  return w;
}

/* How many strings of an array contain needle. */
static int count_str_has(const msgpack_object *a, const char *needle) {
  int n = 0;
  for (uint32_t i = 0; a != NULL && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++)
    n += str_has(&a->via.array.ptr[i], needle);
  return n;
}

static bool any_str_has(const msgpack_object *a, const char *needle) { return count_str_has(a, needle) > 0; }

/* How many of a call result's warnings contain needle. */
static int count_warnings(const msgpack_object *result, const char *needle) {
  return count_str_has(warnings(result), needle);
}

/* The entry called name (or, with dist not NULL, from that distribution) in a backend.list array. */
static const msgpack_object *find_backend(const msgpack_object *list, const char *key, const char *name,
                                          const char *dist) {
  const msgpack_object *a = harness_get(list, key);
  cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "backend.list has no %s array: %s", key, show(list));
  for (uint32_t i = 0; i < a->via.array.size; i++) {
    const msgpack_object *b = &a->via.array.ptr[i];
    if (harness_str_eq(harness_get(b, "name"), name) &&
        (dist == NULL || harness_str_eq(harness_get(b, "distribution"), dist)))
      return b;
  }
  return NULL;
}

static uint32_t array_len(const msgpack_object *o) {
  cr_assert(o != NULL && o->type == MSGPACK_OBJECT_ARRAY, "not an array: %s", show(o));
  return o->via.array.size;
}

/* Is a file whose path contains name mapped into the daemon? */
static bool daemon_maps(const struct hdaemon *d, const char *name) {
  char path[64], line[4096];
  bool found = false;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%d/maps", (int)d->pid);
  cr_assert_not_null(f = fopen(path, "r"));
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = strstr(line, name) != NULL;
  fclose(f);
  return found;
}

/* ---- plugin trees and daemons ---- */

/* Installs fixture as module `module` of distribution dist, entry point ep (":attr" when attr). */
static void install_in(const char *root, const char *dist, const char *ep, const char *module, const char *attr,
                       const char *fixture) {
  char ep_text[512], *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES)", fixture);
  snprintf(ep_text, sizeof ep_text, "[fixture_host.backends]\n%s = %s%s%s\n", ep, module, attr ? ":" : "",
           attr ? attr : "");
  cr_assert_eq(plugin_tree_add(root, dist, "1.0", ep_text, module, so), 0);
  free(so);
}

static void install(const char *dist, const char *ep, const char *module, const char *attr, const char *fixture) {
  install_in(tree, dist, ep, module, attr, fixture);
}

/* The lazy adapter with its implementation library next to its module file. */
static void install_lazy(void) {
  char *impl = plugin_tree_fixture("lazy_impl");
  cr_assert_not_null(impl, "fixture lazy_impl is not built (BACKENDD_FIXTURES)");
  install("lazy-adapter", "fixture_lazy", "lazy_adapter.mod", NULL, "lazy_adapter");
  cr_assert_eq(plugin_tree_add_module(tree, "lazy_adapter.lazy_impl", impl), 0);
  free(impl);
}

/* Every fixture adapter: fixture_accel, fixture_edge, fixture_lazy, fixture_object. */
static void standard_tree(void) {
  cr_assert_not_null(tree = plugin_tree_new("dispatch"));
  install("good-adapter", "fixture_accel", "good_adapter.mod", NULL, "good_adapter");
  install("edge-adapter", "fixture_edge", "edge_adapter.mod", NULL, "edge_adapter");
  install_lazy();
  install("object-adapter", "fixture_object", "object_adapter.mod", "Backend", "object_adapter");
}

static struct hdaemon *start_on(const char *root) {
  return harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", root, "--plugin-timeout", "10", "--log-level",
                       "debug", (const char *)NULL);
}

#define HOST_DOC                                                                                                   \
  "Compute a score.\n"                                                                                             \
  "\n"                                                                                                             \
  "Parameters\n"                                                                                                   \
  "----------\n"                                                                                                   \
  "data\n"                                                                                                         \
  "    Input data.\n"                                                                                              \
  "method\n"                                                                                                       \
  "    Scoring method.\n"                                                                                          \
  "n_jobs\n"                                                                                                       \
  "    Number of jobs.\n"                                                                                          \
  "\n"                                                                                                             \
  "Returns\n"                                                                                                      \
  "-------\n"                                                                                                      \
  "float\n"                                                                                                        \
  "    The score.\n"

#define FUNCTIONS                                                                                                  \
  "[{'name': 'compute_score', 'params': [{'name': 'data', 'kind': 'positional'},"                                 \
  "   {'name': 'method', 'kind': 'keyword_only', 'default': 'fast'},"                                              \
  "   {'name': 'n_jobs', 'kind': 'keyword_only', 'default': null}], 'doc': '" HOST_DOC "'},"                       \
  " {'name': 'normalize', 'params': [{'name': 'data', 'kind': 'positional'}], 'doc': 'Normalize data.\n'},"        \
  " {'name': 'summarize', 'params': [{'name': 'data', 'kind': 'positional'}], 'doc': 'Summarize data.\n'},"        \
  " {'name': 'sleep', 'params': [{'name': 'ms', 'kind': 'positional'}], 'doc': 'Sleep.\n'}]"

/* Declares fixture_host on c with these trusted backends (text, NULL: none) and reserved {gpu}. */
static const msgpack_object *declare_with(backend_client *c, const char *trusted, const char *reserved) {
  return ok(c, "host.declare", "{'name': 'fixture_host', 'functions': " FUNCTIONS ", 'trusted': %s, 'reserved': %s}",
            trusted ? trusted : "{}", reserved ? reserved : "{'gpu': 'too generic: name the accelerator'}");
}

static const msgpack_object *declare(backend_client *c, const char *trusted) { return declare_with(c, trusted, NULL); }

/* fixture_accel trusted from its distribution. */
#define TRUST_ACCEL "{'fixture_accel': {'package': 'good-adapter'}}"

static const msgpack_object *list(backend_client *c) { return ok(c, "backend.list", "{'host': 'fixture_host'}"); }

/* ======================================================================================== */

Test(dispatch, declare_answers_and_refusals) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r, *fns;
  backend_reply *e;
  static const struct {
    const char *what, *decl, *words;
  } bad[] = {
      {"var_positional", "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': 'xs', 'kind': 'var_positional'}]}]}",
       "variadic positional"},
      {"param named backend",
       "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': 'backend', 'kind': 'keyword_only', 'default': null}]}]}",
       "'backend'"},
      {"duplicate function", "{'name': 'h', 'functions': [{'name': 'f', 'params': []}, {'name': 'f', 'params': []}]}",
       "'f' is declared twice"},
      {"duplicate param",
       "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': 'x', 'kind': 'positional'},"
       " {'name': 'x', 'kind': 'keyword_only'}]}]}",
       "'x' appears twice"},
      {"trusted also reserved",
       "{'name': 'h', 'functions': [], 'trusted': {'cuda': {'package': 'cuda-pkg'}}, 'reserved': {'cuda': 'no'}}",
       "both trusted"},
      {"trusted alias also reserved",
       "{'name': 'h', 'functions': [], 'trusted': {'mine': {'package': 'p', 'aliases': ['gpu']}}, 'reserved': {'gpu': 'no'}}",
       "both trusted"},
      {"cpu reserved", "{'name': 'h', 'functions': [], 'reserved': {'cpu': 'mine'}}", "'cpu' is reserved"},
      {"cpu trusted", "{'name': 'h', 'functions': [], 'trusted': {'cpu': {'package': 'p'}}}", "'cpu' is reserved"},
      {"cpu as trusted alias", "{'name': 'h', 'functions': [], 'trusted': {'mine': {'package': 'p', 'aliases': ['cpu']}}}",
       "'cpu' is reserved"},
      {"unknown field in a function", "{'name': 'h', 'functions': [{'name': 'f', 'parms': []}]}", "unknown field 'parms'"},
      {"unknown field in a trust entry", "{'name': 'h', 'functions': [], 'trusted': {'x': {'package': 'p', 'pkg': 'q'}}}",
       "unknown field 'pkg'"},
      {"bad kind", "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': 'x', 'kind': 'optional'}]}]}",
       "unknown kind 'optional'"},
      {"bad function name", "{'name': 'h', 'functions': [{'name': 'f-1', 'params': []}]}", "identifier"},
      {"bad parameter name", "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': '1x', 'kind': 'positional'}]}]}",
       "identifier"},
      {"bad backend name", "{'name': 'h', 'functions': [], 'reserved': {'-gpu': 'no'}}", "'-gpu'"},
      {"duplicate trusted alias",
       "{'name': 'h', 'functions': [], 'trusted': {'a': {'package': 'p', 'aliases': ['x']}, 'b': {'package': 'q', 'aliases': ['x']}}}",
       "'x'"},
      {"trusted without package", "{'name': 'h', 'functions': [], 'trusted': {'a': {}}}", "package"},
      {"**kwargs not last",
       "{'name': 'h', 'functions': [{'name': 'f', 'params': [{'name': 'kw', 'kind': 'var_keyword'},"
       " {'name': 'x', 'kind': 'keyword_only'}]}]}",
       "last"},
  };
  cr_assert_not_null(tree = plugin_tree_new("dispatch-declare"));
  d = start_on(tree);
  c = harness_client(d);

  r = declare(c, NULL);
  cr_expect(harness_str_eq(harness_get(r, "name"), "fixture_host"));
  cr_expect(harness_str_eq(harness_get(r, "group"), "fixture_host.backends"), "default group: %s", show(r));
  fns = harness_get(r, "functions");
  cr_assert_eq(array_len(fns), 4);
  cr_expect(harness_str_eq(&fns->via.array.ptr[0], "compute_score") && harness_str_eq(&fns->via.array.ptr[3], "summarize"),
            "functions: %s", show(fns));
  r = ok(c, "host.declare", "{'name': 'other_host', 'group': 'elsewhere.backends', 'functions': []}");
  cr_expect(harness_str_eq(harness_get(r, "group"), "elsewhere.backends"));

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    e = rpc(c, "host.declare", "%s", bad[i].decl);
    cr_expect(e->status == BACKEND_EREMOTE && strcmp(e->error_code, "Host.InvalidDeclaration") == 0,
              "%s: not refused with Host.InvalidDeclaration: %s %s", bad[i].what, e->error_code ? e->error_code : "",
              show(&e->result));
    cr_expect(e->error_message != NULL && strstr(e->error_message, bad[i].words) != NULL,
              "%s: message '%s' does not say '%s'", bad[i].what, e->error_message ? e->error_message : "", bad[i].words);
  }
  /* At most HOSTS_PER_CONNECTION (64) hosts per connection; redeclaring one is no new one. */
  for (int i = 1; i < 63; i++)
    ok(c, "host.declare", "{'name': 'host%d', 'functions': []}", i);
  e = rpc(c, "host.declare", "{'name': 'one_too_many', 'functions': []}");
  cr_expect(e->status == BACKEND_EREMOTE && strcmp(e->error_code, "Host.InvalidDeclaration") == 0 &&
                strstr(e->error_message, "64") != NULL,
            "the 65th host: %s %s", e->error_code ? e->error_code : "", e->error_message ? e->error_message : "");
  ok(c, "host.declare", "{'name': 'host7', 'functions': [{'name': 'f', 'params': []}]}");
  /* An unknown top-level field is an unknown named parameter of host.declare: the router refuses it
   * before the declaration is read, as for every method (doc/protocol.md). */
  e = fails(c, "Protocol.InvalidParams", "host.declare", "{'name': 'h', 'functions': [], 'colour': 'red'}");
  cr_expect(strstr(e->error_message, "'colour'") != NULL, "%s", e->error_message);
  /* A refused declaration leaves the connection's earlier one in place. */
  list(c);
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, unknown_host_and_function) {
  struct hdaemon *d;
  backend_client *c, *c2;
  backend_reply *e;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  e = fails(c, "Host.Unknown", "backend.call", "{'host': 'fixture_host', 'function': 'compute_score', 'backend': 'fxa'}");
  cr_expect(strstr(e->error_message, "fixture_host") != NULL, "%s", e->error_message);
  fails(c, "Host.Unknown", "backend.list", "{'host': 'fixture_host'}");
  fails(c, "Host.Unknown", "backend.describe", "{'host': 'fixture_host', 'function': 'compute_score'}");
  declare(c, NULL);
  e = call_fails(c, "Host.UnknownFunction", "fxa", "embed", "[[1]]", NULL);
  cr_expect(strstr(e->error_message, "embed") != NULL, "%s", e->error_message);
  call_fails(c, "Host.UnknownFunction", NULL, "embed", NULL, NULL);
  fails(c, "Host.UnknownFunction", "backend.describe", "{'host': 'fixture_host', 'function': 'embed'}");
  /* A host another open connection declared is known to every connection... */
  c2 = harness_client(d);
  cr_expect(str_has(harness_get(list(c2), "source"), "client pid"));
  /* ...until that connection closes. */
  harness_client_close(c);
  for (int i = 0; i < 100; i++) {
    e = rpc(c2, "backend.list", "{'host': 'fixture_host'}");
    if (e->status != 0)
      break;
    harness_sleep_ms(20);
  }
  cr_expect(e->status == BACKEND_EREMOTE && strcmp(e->error_code, "Host.Unknown") == 0,
            "the host outlived the connection that declared it");
  harness_client_close(c2);
  harness_finish(d);
}

Test(dispatch, cpu_backend_checks_arguments_against_the_host) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r;
  backend_reply *e;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_ACCEL);
  for (int i = 0; i < 2; i++) {
    r = call_ok(c, i == 0 ? "cpu" : NULL, "compute_score", "[[1, 2]]", "{'method': 'slow', 'n_jobs': 3}");
    cr_expect(harness_str_eq(harness_get(r, "backend"), "cpu"), "%s", show(r));
    cr_expect(str_has(harness_get(r, "fallback"), ""), "cpu: fallback must say the host runs: %s", show(r));
    cr_expect(is_nil(harness_get(r, "result")), "%s", show(r));
    cr_expect_eq(array_len(harness_get(r, "warnings")), 0, "%s", show(r));
  }
  /* The host's default for an omitted argument, every host parameter by keyword. */
  call_ok(c, "cpu", "compute_score", NULL, "{'data': [1]}");
  call_ok(c, "cpu", "summarize", "[[1]]", NULL);

  e = call_fails(c, "Backend.InvalidArguments", "cpu", "compute_score", "[[1]]", "{'bogus': 1}");
  cr_expect(strstr(e->error_message, "bogus") != NULL, "%s", e->error_message);
  /* A backend-only keyword is still unknown to the host's own implementation. */
  e = call_fails(c, "Backend.InvalidArguments", NULL, "compute_score", "[[1]]", "{'batch_size': 4096}");
  cr_expect(strstr(e->error_message, "batch_size") != NULL, "%s", e->error_message);
  e = call_fails(c, "Backend.InvalidArguments", "cpu", "compute_score", "[[1], 'slow']", NULL);
  cr_expect(strstr(e->error_message, "positional") != NULL, "%s", e->error_message);
  e = call_fails(c, "Backend.InvalidArguments", "cpu", "compute_score", NULL, "{'method': 'slow'}");
  cr_expect(strstr(e->error_message, "data") != NULL, "missing data: %s", e->error_message);
  e = call_fails(c, "Backend.InvalidArguments", "cpu", "compute_score", "[[1]]", "{'data': [2]}");
  cr_expect(strstr(e->error_message, "multiple values") != NULL, "%s", e->error_message);
  e = call_fails(c, "Backend.InvalidArguments", "fxa", "compute_score", "[[1]]", "{1: 2}");
  cr_expect(strstr(e->error_message, "must be strings") != NULL, "%s", e->error_message);
  /* Too many positional arguments for a backend too. */
  call_fails(c, "Backend.InvalidArguments", "fxa", "compute_score", "[[1], 'slow']", NULL);
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, names_aliases_unknown_not_installed_reserved) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r, *l, *b, *a;
  backend_reply *e;
  bool bad_alias = false;
  standard_tree();
  install("bad-alias", "bad_alias", "bad_alias.mod", NULL, "bad_alias");
  d = start_on(tree);
  c = harness_client(d);
  declare(c, "{'fixture_accel': {'package': 'good-adapter'}, 'cuda_thing': {'package': 'cuda-thing', 'aliases': ['ct']}}");

  /* Aliases resolve to the canonical name. */
  for (int i = 0; i < 3; i++) {
    static const char *const names[] = {"fxa", "fixture-fast", "fixture_accel"};
    r = call_ok(c, names[i], "compute_score", "[[1]]", NULL);
    cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_accel"), "%s: %s", names[i], show(r));
    cr_expect(is_nil(harness_get(r, "fallback")), "%s", show(r));
  }
  /* An object entry point keeps its instance across calls. */
  r = call_ok(c, "fxo", "compute_score", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_object"));
  cr_expect(is_uint(harness_get(r, "result"), 1), "%s", show(r));
  r = call_ok(c, "fixture_object", "compute_score", "[[1]]", NULL);
  cr_expect(is_uint(harness_get(r, "result"), 2), "%s", show(r));

  /* Unknown: the closest name as a suggestion, or nil. */
  e = call_fails(c, "Backend.Unknown", "fxaa", "compute_score", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "suggestion"), "fxa"), "%s", show(&e->error_data));
  cr_expect(harness_str_eq(harness_get(&e->error_data, "name"), "fxaa"), "%s", show(&e->error_data));
  cr_expect(strstr(e->error_message, "did you mean 'fxa'") != NULL, "%s", e->error_message);
  e = call_fails(c, "Backend.Unknown", "quantum-annealer", "compute_score", "[[1]]", NULL);
  cr_expect(is_nil(harness_get(&e->error_data, "suggestion")), "%s", show(&e->error_data));
  cr_expect(strstr(e->error_message, "did you mean") == NULL, "%s", e->error_message);
  e = call_fails(c, "Backend.Unknown", "fixture_edg", "compute_score", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "suggestion"), "fixture_edge"), "%s", show(&e->error_data));

  /* Trusted but not installed: the package to install, by its name or alias. */
  for (int i = 0; i < 2; i++) {
    e = call_fails(c, "Backend.NotInstalled", i == 0 ? "cuda_thing" : "ct", "compute_score", "[[1]]", NULL);
    cr_expect(strstr(e->error_message, "cuda-thing") != NULL, "%s", e->error_message);
    cr_expect(harness_str_eq(harness_get(&e->error_data, "package"), "cuda-thing"), "%s", show(&e->error_data));
    cr_expect(harness_str_eq(harness_get(&e->error_data, "name"), "cuda_thing"), "%s", show(&e->error_data));
  }

  /* Reserved: the host's reason. */
  e = call_fails(c, "Backend.Reserved", "gpu", "compute_score", "[[1]]", NULL);
  cr_expect(strstr(e->error_message, "too generic") != NULL, "%s", e->error_message);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "reason"), "too generic: name the accelerator"), "%s",
            show(&e->error_data));

  /* An adapter one of whose aliases the host reserves is refused, and listed with the reason. */
  declare_with(c, NULL, "{'gpu': 'too generic', 'fxe': 'fxe is kept for something else'}");
  l = list(c);
  cr_expect_null(find_backend(l, "backends", "fixture_edge", NULL), "fixture_edge is usable: %s", show(l));
  b = find_backend(l, "refused", "fixture_edge", NULL);
  cr_assert_not_null(b, "fixture_edge is not listed as refused: %s", show(l));
  cr_expect(harness_str_eq(harness_get(b, "state"), "refused"), "%s", show(b));
  cr_expect(str_has(harness_get(b, "reason"), "fxe is kept for something else") && str_has(harness_get(b, "reason"), "'fxe'"),
            "%s", show(b));
  e = call_fails(c, "Backend.Reserved", "fxe", "compute_score", "[[1]]", NULL);
  cr_expect(strstr(e->error_message, "fxe is kept for something else") != NULL, "%s", e->error_message);
  call_fails(c, "Backend.Unknown", "fixture_edge", "compute_score", "[[1]]", NULL);
  /* A plugin that failed its scan is listed as refused too, with its state and reason. */
  a = harness_get(l, "refused");
  for (uint32_t i = 0; i < array_len(a); i++)
    if (harness_str_eq(harness_get(&a->via.array.ptr[i], "distribution"), "bad-alias")) {
      b = &a->via.array.ptr[i];
      cr_expect(harness_str_eq(harness_get(b, "state"), "failed"), "%s", show(b));
      cr_expect(str_has(harness_get(b, "reason"), "bad alias!"), "%s", show(b));
      cr_expect(is_bool(harness_get(b, "loaded"), false), "%s", show(b));
      bad_alias = true;
    }
  cr_expect(bad_alias, "bad-alias is not listed: %s", show(l));
  /* The others are untouched. */
  cr_expect_not_null(find_backend(l, "backends", "fixture_accel", NULL));
  cr_expect_not_null(find_backend(l, "backends", "fixture_lazy", NULL));
  cr_expect_not_null(find_backend(l, "backends", "fixture_object", NULL));
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, routing_table) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r, *echo, *data;
  backend_reply *e;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_ACCEL);

  /* (a) shared, passed: forwarded. (h) positional data reaches the backend as "data". */
  r = call_ok(c, "fxa", "compute_score", "[[1, 2, 3]]", "{'method': 'slow'}");
  echo = harness_get(r, "result");
  cr_expect(harness_str_eq(harness_get(echo, "method"), "slow"), "(a) %s", show(echo));
  data = harness_get(echo, "data");
  cr_expect(data != NULL && data->type == MSGPACK_OBJECT_ARRAY && data->via.array.size == 3 &&
                is_uint(&data->via.array.ptr[2], 3),
            "(h) %s", show(echo));
  cr_expect_eq(array_len(harness_get(r, "warnings")), 0, "%s", show(r));
  /* data by keyword: the same. */
  echo = harness_get(call_ok(c, "fxa", "compute_score", NULL, "{'data': [7]}"), "result");
  cr_expect(str_has(harness_get(echo, "method"), "quick"), "%s", show(echo));
  cr_expect(harness_get(echo, "data") != NULL && array_len(harness_get(echo, "data")) == 1, "%s", show(echo));

  /* (b) shared, omitted: the backend's own default, not the host's. */
  echo = harness_get(call_ok(c, "fxa", "compute_score", "[[1]]", NULL), "result");
  cr_expect(harness_str_eq(harness_get(echo, "method"), "quick"), "(b) %s", show(echo));
  cr_expect(is_nil(harness_get(echo, "batch_size")), "(b) %s", show(echo));

  /* (c) shared, passed at the host default: forwarded as passed. */
  echo = harness_get(call_ok(c, "fxa", "compute_score", "[[1]]", "{'method': 'fast'}"), "result");
  cr_expect(harness_str_eq(harness_get(echo, "method"), "fast"), "(c) %s", show(echo));

  /* (d) backend-only: forwarded. */
  r = call_ok(c, "fxa", "compute_score", "[[1]]", "{'batch_size': 4096}");
  echo = harness_get(r, "result");
  cr_expect(is_uint(harness_get(echo, "batch_size"), 4096), "(d) %s", show(echo));
  cr_expect_eq(array_len(harness_get(r, "warnings")), 0, "(d) %s", show(r));

  /* (e) host-only at its default: dropped, silently. */
  r = call_ok(c, "fxa", "compute_score", "[[1]]", "{'n_jobs': null}");
  echo = harness_get(r, "result");
  cr_expect_null(harness_get(echo, "n_jobs"), "(e) %s", show(echo));
  cr_expect_eq(array_len(harness_get(r, "warnings")), 0, "(e) %s", show(r));

  /* (f) host-only at another value: dropped, with a warning naming it and the value. */
  r = call_ok(c, "fxa", "compute_score", "[[1]]", "{'n_jobs': 4, 'batch_size': 8}");
  echo = harness_get(r, "result");
  cr_expect_null(harness_get(echo, "n_jobs"), "(f) %s", show(echo));
  cr_expect(is_uint(harness_get(echo, "batch_size"), 8), "(f) %s", show(echo));
  cr_expect_eq(array_len(harness_get(r, "warnings")), 1, "(f) %s", show(r));
  cr_expect_eq(count_warnings(r, "n_jobs=4"), 1, "(f) %s", show(r));
  cr_expect_eq(count_warnings(r, "fixture_accel"), 1, "(f) %s", show(r));
  r = call_ok(c, "fxa", "compute_score", "[[1]]", "{'n_jobs': 'all'}");
  cr_expect_eq(count_warnings(r, "n_jobs='all'"), 1, "(f) %s", show(r));

  /* (g) neither's: refused. */
  e = call_fails(c, "Backend.InvalidArguments", "fxa", "compute_score", "[[1]]", "{'bogus': 1}");
  cr_expect(strstr(e->error_message, "bogus") != NULL, "(g) %s", e->error_message);
  /* A backend-only keyword of another backend is unknown to this one. */
  e = call_fails(c, "Backend.InvalidArguments", "fxe", "compute_score", "[[1]]", "{'batch_size': 1}");
  cr_expect(strstr(e->error_message, "batch_size") != NULL, "(g) %s", e->error_message);
  /* A private backend parameter can still be passed by name (it is the backend's). */
  echo = harness_get(call_ok(c, "fxa", "compute_score", "[[1]]", "{'_trace': true}"), "result");
  cr_expect(is_bool(harness_get(echo, "_trace"), true), "%s", show(echo));
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, fallback_failure_warnings_and_metadata) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r, *w;
  backend_reply *e;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_ACCEL);

  /* Metadata of a real call: canonical name, trust, time spent. */
  r = call_ok(c, "fxa", "normalize", "[[1, -4, 2]]", NULL);
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_accel"), "%s", show(r));
  cr_expect(is_bool(harness_get(r, "trusted"), true), "%s", show(r));
  cr_expect(is_nil(harness_get(r, "fallback")), "%s", show(r));
  cr_expect(harness_get(r, "backend_ns") != NULL && harness_get(r, "backend_ns")->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                harness_get(r, "backend_ns")->via.u64 > 0,
            "backend_ns: %s", show(r));
  w = harness_get(r, "result");
  cr_expect(w != NULL && w->type == MSGPACK_OBJECT_ARRAY && w->via.array.size == 3 &&
                w->via.array.ptr[1].type == MSGPACK_OBJECT_FLOAT64 && w->via.array.ptr[1].via.f64 == -1.0 &&
                w->via.array.ptr[0].via.f64 == 0.25,
            "normalize: %s", show(w));
  /* An untrusted backend. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect(is_bool(harness_get(r, "trusted"), false), "%s", show(r));
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_edge"), "%s", show(r));

  /* The backend lacks the function: the host runs, and fallback says why. */
  r = call_ok(c, "fxa", "summarize", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_accel"), "%s", show(r));
  cr_expect(str_has(harness_get(r, "fallback"), "does not implement summarize") &&
                str_has(harness_get(r, "fallback"), "fixture_accel"),
            "%s", show(r));
  cr_expect(is_nil(harness_get(r, "result")), "%s", show(r));
  cr_expect(is_bool(harness_get(r, "trusted"), true), "%s", show(r));
  /* ...with the host's arguments still checked. Errors decided once the backend was selected
   * name it as an answer would: canonical name, trust. */
  e = call_fails(c, "Backend.InvalidArguments", "fxa", "summarize", "[[1]]", "{'bogus': 1}");
  cr_expect(harness_str_eq(harness_get(&e->error_data, "backend"), "fixture_accel") &&
                is_bool(harness_get(&e->error_data, "trusted"), true),
            "%s", show(&e->error_data));
  call_fails(c, "Backend.InvalidArguments", "fxa", "summarize", NULL, NULL);

  /* BACKEND_CALL_NOT_IMPLEMENTED: the function's own reason. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", "{'method': 'exact'}");
  cr_expect(harness_str_eq(harness_get(r, "fallback"), "fixture_edge has no exact method"), "%s", show(r));
  cr_expect(is_nil(harness_get(r, "result")), "%s", show(r));
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_edge"), "%s", show(r));

  /* Failure: no fallback, the function's message. */
  e = call_fails(c, "Backend.CallFailed", "fxe", "compute_score", "[[1]]", "{'method': 'boom'}");
  cr_expect(strstr(e->error_message, "the boom method always fails") != NULL, "%s", e->error_message);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "backend"), "fixture_edge") &&
                is_bool(harness_get(&e->error_data, "trusted"), false),
            "%s", show(&e->error_data));
  e = call_fails(c, "Backend.Unknown", "fxz", "summarize", "[[1]]", NULL);
  cr_expect(harness_get(&e->error_data, "backend") == NULL, "before selection: %s", show(&e->error_data));

  /* Warnings the backend adds. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", "{'method': 'warn'}");
  cr_expect_eq(array_len(warnings(r)), 2, "%s", show(r));
  cr_expect_eq(count_warnings(r, "first warning from fixture_edge"), 1, "%s", show(r));
  cr_expect_eq(count_warnings(r, "second warning from fixture_edge"), 1, "%s", show(r));
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  /* A chatty one: 32 kept, then one line for the rest. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", "{'method': 'chatty'}");
  w = warnings(r);
  cr_expect_leq(w->via.array.size, 33, "%u warnings", w->via.array.size);
  cr_expect_geq(w->via.array.size, 2, "%s", show(r));
  cr_expect(str_has(&w->via.array.ptr[0], "warning 0"), "%s", show(&w->via.array.ptr[0]));
  cr_expect(str_has(&w->via.array.ptr[w->via.array.size - 1], "dropped"), "%s",
            show(&w->via.array.ptr[w->via.array.size - 1]));
  /* Two values packed: a broken result, not a silent truncation. */
  e = call_fails(c, "Backend.CallFailed", "fxe", "compute_score", "[[1]]", "{'method': 'two_values'}");
  cr_expect(strstr(e->error_message, "more than one") != NULL, "%s", e->error_message);
  /* The adapter still works after all that. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  /* A backend.list entry is loaded now, and says so. */
  cr_expect(is_bool(harness_get(find_backend(list(c), "backends", "fixture_edge", NULL), "loaded"), true));
  harness_client_close(c);
  harness_finish(d);
}

/* One trust configuration: the backend must be usable and trusted, or refused with words in the reason. */
static void expect_trust(backend_client *c, const char *trust, bool passes, const char *words) {
  const msgpack_object *l, *b, *r;
  char trusted[512];
  backend_reply *e;
  snprintf(trusted, sizeof trusted, "{'fixture_accel': {%s}}", trust);
  declare(c, trusted);
  l = list(c);
  if (passes) {
    b = find_backend(l, "backends", "fixture_accel", NULL);
    cr_expect_not_null(b, "%s: fixture_accel not usable: %s", trust, show(l));
    cr_expect(is_bool(harness_get(b, "trusted"), true), "%s: %s", trust, show(b));
    cr_expect_eq(array_len(harness_get(l, "refused")), 0, "%s: %s", trust, show(l));
    r = call_ok(c, "fixture_accel", "compute_score", "[[1]]", NULL);
    cr_expect(is_bool(harness_get(r, "trusted"), true), "%s: %s", trust, show(r));
    cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s: %s", trust, show(r));
    return;
  }
  cr_expect_null(find_backend(l, "backends", "fixture_accel", NULL), "%s: fixture_accel usable: %s", trust, show(l));
  b = find_backend(l, "refused", "fixture_accel", NULL);
  cr_expect_not_null(b, "%s: fixture_accel not refused: %s", trust, show(l));
  cr_expect(harness_str_eq(harness_get(b, "state"), "refused"), "%s: %s", trust, show(b));
  cr_expect(str_has(harness_get(b, "reason"), words), "%s: reason does not say '%s': %s", trust, words, show(b));
  e = call_fails(c, "Backend.NotInstalled", "fixture_accel", "compute_score", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "package"), "fixture-accel") ||
                harness_str_eq(harness_get(&e->error_data, "package"), "other-accel"),
            "%s: %s", trust, show(&e->error_data));
  cr_expect(strstr(e->error_message, "install") != NULL, "%s: %s", trust, e->error_message);
}

Test(dispatch, trust_checks) {
  struct hdaemon *d, *d2;
  backend_client *c, *c2;
  backend_reply *e;
  const msgpack_object *l, *b;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-trust"));
  install("Fixture_Accel", "fixture_accel", "acc._backends.host", NULL, "good_adapter");
  d = start_on(tree);
  c = harness_client(d);

  /* distribution: PEP 503 normalised on both sides. */
  expect_trust(c, "'package': 'fixture-accel'", true, NULL);
  expect_trust(c, "'package': 'FIXTURE.accel'", true, NULL);
  expect_trust(c, "'package': 'other-accel'", false, "distribution 'Fixture_Accel'");
  expect_trust(c, "'package': 'other-accel', 'distributions': ['fixture__accel', 'x']", true, NULL);
  expect_trust(c, "'package': 'other-accel', 'distributions': ['fixture-accel-2']", false, "distribution");
  e = call_fails(c, "Backend.NotInstalled", "fixture_accel", "compute_score", "[[1]]", NULL);
  cr_expect(strstr(e->error_message, "other-accel") != NULL, "%s", e->error_message);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "package"), "other-accel"), "%s", show(&e->error_data));
  /* entry point names. */
  expect_trust(c, "'package': 'fixture-accel', 'entrypoints': ['x', 'fixture_accel']", true, NULL);
  expect_trust(c, "'package': 'fixture-accel', 'entrypoints': ['fixture-accel']", false, "entry point");
  /* object references. */
  expect_trust(c, "'package': 'fixture-accel', 'object_refs': ['acc._backends.host']", true, NULL);
  expect_trust(c, "'package': 'fixture-accel', 'object_refs': ['acc._backends.host:Backend']", false, "object reference");
  /* module prefixes: the module or below it. */
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['acc']", true, NULL);
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['acc._backends']", true, NULL);
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['acc._backends.host']", true, NULL);
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['ac']", false, "module 'acc._backends.host'");
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['acc._back']", false, "module");
  expect_trust(c, "'package': 'fixture-accel', 'module_prefixes': ['acc._backends.host.impl']", false, "module");
  /* All of them together. */
  expect_trust(c,
               "'package': 'fixture-accel', 'entrypoints': ['fixture_accel'], 'object_refs': ['acc._backends.host'],"
               " 'module_prefixes': ['acc']",
               true, NULL);
  expect_trust(c,
               "'package': 'fixture-accel', 'entrypoints': ['fixture_accel'], 'object_refs': ['acc._backends.host'],"
               " 'module_prefixes': ['other']",
               false, "module");

  /* Untrusted by this host: works, not trusted. */
  declare(c, NULL);
  cr_expect(is_bool(harness_get(call_ok(c, "fxa", "compute_score", "[[1]]", NULL), "trusted"), false));
  /* Trusted with the wrong package: refused. */
  /* An adapter claiming a trusted alias of another backend is refused; the alias is not installed. */
  declare(c, "{'real_accel': {'package': 'real-accel', 'aliases': ['fxa']}}");
  l = list(c);
  b = find_backend(l, "refused", "fixture_accel", NULL);
  cr_expect_not_null(b, "%s", show(l));
  cr_expect(str_has(harness_get(b, "reason"), "'fxa'") && str_has(harness_get(b, "reason"), "real_accel"), "%s", show(b));
  e = call_fails(c, "Backend.NotInstalled", "fxa", "compute_score", "[[1]]", NULL);
  cr_expect(harness_str_eq(harness_get(&e->error_data, "package"), "real-accel"), "%s", show(&e->error_data));
  cr_expect(strstr(e->error_message, "real-accel") != NULL, "%s", e->error_message);
  harness_client_close(c);

  /* accx.mod is not below acc. */
  cr_assert_not_null(tree2 = plugin_tree_new("dispatch-trust2"));
  install_in(tree2, "fixture-accel", "fixture_accel", "accx.mod", NULL, "good_adapter");
  d2 = start_on(tree2);
  c2 = harness_client(d2);
  expect_trust(c2, "'package': 'fixture-accel', 'module_prefixes': ['acc']", false, "module 'accx.mod'");
  expect_trust(c2, "'package': 'fixture-accel', 'module_prefixes': ['acc', 'accx']", true, NULL);
  expect_trust(c2, "'package': 'fixture-accel', 'module_prefixes': ['accx.mod']", true, NULL);
  harness_client_close(c2);
  harness_finish(d2);
  harness_finish(d);
}

Test(dispatch, conflicts_are_settled_by_trust_then_distribution) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *l, *b, *r;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-conflict"));
  /* Installed in reverse name order, so directory order cannot be what decides. */
  install("accel-b", "fixture_accel", "accel_b.mod", NULL, "good_adapter");
  install("Accel_A", "fixture_accel", "accel_a.mod", NULL, "good_adapter");
  install("edge-adapter", "fixture_edge", "edge_adapter.mod", NULL, "edge_adapter");
  d = start_on(tree);
  c = harness_client(d);

  for (int round = 0; round < 3; round++) {
    if (round == 1)
      ok(c, "daemon.reload", "{}");
    declare(c, NULL); /* a new declaration: discovery runs again */
    l = list(c);
    b = find_backend(l, "backends", "fixture_accel", NULL);
    cr_assert_not_null(b, "%s", show(l));
    cr_expect(harness_str_eq(harness_get(b, "distribution"), "Accel_A"), "round %d: winner %s", round, show(b));
    cr_expect(is_bool(harness_get(b, "trusted"), false));
    b = find_backend(l, "refused", "fixture_accel", "accel-b");
    cr_assert_not_null(b, "round %d: the loser is not listed: %s", round, show(l));
    cr_expect(harness_str_eq(harness_get(b, "state"), "refused"), "%s", show(b));
    cr_expect(str_has(harness_get(b, "reason"), "Accel_A") && str_has(harness_get(b, "reason"), "already taken"),
              "round %d: %s", round, show(b));
    cr_expect_eq(array_len(harness_get(l, "backends")), 2, "%s", show(l));
    r = call_ok(c, "fxa", "compute_score", "[[1]]", NULL);
    cr_expect_eq(count_warnings(r, "Accel_A"), round == 0, "round %d: %s", round, show(r));
  }

  /* Trusted wins, whatever the names. */
  declare(c, "{'fixture_accel': {'package': 'accel-b', 'aliases': ['fxa']}}");
  l = list(c);
  b = find_backend(l, "backends", "fixture_accel", NULL);
  cr_assert_not_null(b, "%s", show(l));
  cr_expect(harness_str_eq(harness_get(b, "distribution"), "accel-b"), "trusted should win: %s", show(b));
  cr_expect(is_bool(harness_get(b, "trusted"), true), "%s", show(b));
  b = find_backend(l, "refused", "fixture_accel", "Accel_A");
  cr_assert_not_null(b, "%s", show(l));
  cr_expect(str_has(harness_get(b, "reason"), "Accel_A"), "%s", show(b));
  r = call_ok(c, "fixture-fast", "compute_score", "[[1]]", NULL);
  cr_expect(is_bool(harness_get(r, "trusted"), true), "%s", show(r));
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s", show(r));
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, untrusted_first_use_warning) {
  struct hdaemon *d;
  backend_client *c, *c2;
  const msgpack_object *r;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  r = call_ok(c, "fxa", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "first call: %s", show(r));
  cr_expect_eq(count_warnings(r, "good-adapter"), 1, "first call names the distribution: %s", show(r));
  cr_expect_eq(count_warnings(r, "fixture_accel"), 1, "first call names the backend: %s", show(r));
  r = call_ok(c, "fixture_accel", "compute_score", "[[1]]", NULL);
  cr_expect_eq(array_len(warnings(r)), 0, "second call, same connection: %s", show(r));
  /* Per backend: the first call to another one warns about that one. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "%s", show(r));
  cr_expect_eq(count_warnings(r, "edge-adapter"), 1, "%s", show(r));
  /* A fallback call is a call to the backend too. */
  r = call_ok(c, "fxl", "summarize", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "lazy-adapter"), 1, "%s", show(r));
  r = call_ok(c, "fxl", "summarize", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s", show(r));
  /* Redeclaring on the same connection: the connection was already told. */
  declare(c, NULL);
  r = call_ok(c, "fxa", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s", show(r));

  /* A new connection is told again. */
  c2 = harness_client(d);
  declare(c2, NULL);
  r = call_ok(c2, "fxa", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "new connection: %s", show(r));
  r = call_ok(c2, "fxa", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s", show(r));

  /* A first call that is refused for its arguments does not use up the warning. */
  c2 = harness_client(d);
  declare(c2, NULL);
  call_fails(c2, "Backend.InvalidArguments", "fxa", "compute_score", "[[1]]", "{'bogus': 1}");
  r = call_ok(c2, "fxa", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "the first answered call must carry the warning: %s", show(r));
  harness_finish(d);
}

Test(dispatch, lazy_discovery_and_loading) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *l, *a, *r, *pl;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  l = list(c);
  cr_expect(harness_str_eq(harness_get(l, "host"), "fixture_host"));
  cr_expect(harness_str_eq(harness_get(l, "group"), "fixture_host.backends"));
  cr_expect(str_has(harness_get(l, "source"), "client pid"), "%s", show(harness_get(l, "source")));
  a = harness_get(l, "backends");
  cr_assert_eq(array_len(a), 4, "%s", show(l));
  /* Sorted by name, nothing loaded. */
  static const char *const names[] = {"fixture_accel", "fixture_edge", "fixture_lazy", "fixture_object"};
  for (uint32_t i = 0; i < 4; i++) {
    const msgpack_object *b = &a->via.array.ptr[i];
    cr_expect(harness_str_eq(harness_get(b, "name"), names[i]), "%u: %s", i, show(b));
    cr_expect(is_bool(harness_get(b, "loaded"), false), "listing loaded code: %s", show(b));
    cr_expect(harness_str_eq(harness_get(b, "state"), "ok"), "%s", show(b));
    cr_expect(is_nil(harness_get(b, "reason")), "%s", show(b));
  }
  a = find_backend(l, "backends", "fixture_accel", NULL);
  cr_expect(is_bool(harness_get(a, "thread_safe"), true), "%s", show(a));
  cr_expect(harness_str_eq(harness_get(a, "distribution"), "good-adapter"), "%s", show(a));
  cr_expect(harness_str_eq(harness_get(a, "version"), "1.0"), "%s", show(a));
  cr_expect(harness_str_eq(harness_get(a, "entry_point"), "fixture_accel"), "%s", show(a));
  cr_expect(harness_str_eq(harness_get(a, "value"), "good_adapter.mod"), "%s", show(a));
  cr_expect_eq(array_len(harness_get(a, "aliases")), 2, "%s", show(a));
  cr_expect_eq(array_len(harness_get(a, "functions")), 2, "%s", show(a));
  cr_expect(is_bool(harness_get(find_backend(l, "backends", "fixture_edge", NULL), "thread_safe"), false));
  cr_expect(harness_str_eq(harness_get(find_backend(l, "backends", "fixture_object", NULL), "value"),
                           "object_adapter.mod:Backend"));
  cr_expect_eq(array_len(harness_get(l, "refused")), 0, "%s", show(l));
  cr_expect_not(daemon_maps(d, "good_adapter/mod.so"), "backend.list loaded an adapter");
  cr_expect_not(daemon_maps(d, "lazy_adapter/mod.so"), "backend.list loaded an adapter");

  pl = ok(c, "plugins.list", "{}");
  cr_assert_eq(pl->type, MSGPACK_OBJECT_ARRAY);
  for (uint32_t i = 0; i < pl->via.array.size; i++) {
    const msgpack_object *eps = harness_get(&pl->via.array.ptr[i], "entry_points");
    for (uint32_t j = 0; eps != NULL && j < eps->via.array.size; j++)
      cr_expect(is_bool(harness_get(&eps->via.array.ptr[j], "loaded"), false), "%s", show(&eps->via.array.ptr[j]));
  }

  /* A call loads the adapter, and the lazy function's library only then. */
  r = call_ok(c, "fxl", "compute_score", "[[1]]", "{'batch_size': 2}");
  cr_expect(harness_str_eq(harness_get(r, "result"), "lazy_impl.compute_score"), "%s", show(r));
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_lazy"), "%s", show(r));
  cr_expect(daemon_maps(d, "lazy_adapter/lazy_impl.so"), "lazy_impl.so was not loaded from next to its adapter");
  cr_expect_not(daemon_maps(d, "good_adapter/mod.so"), "calling one adapter loaded another");
  l = list(c);
  cr_expect(is_bool(harness_get(find_backend(l, "backends", "fixture_lazy", NULL), "loaded"), true), "%s", show(l));
  cr_expect(is_bool(harness_get(find_backend(l, "backends", "fixture_accel", NULL), "loaded"), false), "%s", show(l));
  pl = ok(c, "plugins.list", "{}");
  for (uint32_t i = 0; i < pl->via.array.size; i++) {
    const msgpack_object *dist = &pl->via.array.ptr[i], *eps = harness_get(dist, "entry_points");
    bool lazy = harness_str_eq(harness_get(dist, "name"), "lazy-adapter");
    for (uint32_t j = 0; eps != NULL && j < eps->via.array.size; j++)
      cr_expect(is_bool(harness_get(&eps->via.array.ptr[j], "loaded"), lazy), "%s", show(&eps->via.array.ptr[j]));
  }
  harness_client_close(c);
  harness_finish(d);
}

/*
 * Around dispatched calls the I/O thread polls and an idle worker spins, each for a bounded
 * window (doc/backends.md, "Execution"): once the calls stop, the daemon must sleep again.
 */
Test(dispatch, the_daemon_sleeps_once_calls_stop) {
  struct hdaemon *d;
  backend_client *c;
  double before, used;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_ACCEL);
  for (int i = 0; i < 200; i++)
    call_ok(c, "fxa", "normalize", "[[1, -4, 2]]", NULL);
  harness_sleep_ms(100);
  before = harness_cpu_seconds(d);
  harness_sleep_ms(1000);
  used = harness_cpu_seconds(d) - before;
  /* A thread that kept spinning would use most of that second. */
  cr_expect_lt(used, 0.15, "the idle daemon used %.2f s of CPU in 1 s", used);
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, adapters_not_thread_safe_run_one_call_at_a_time) {
  struct hdaemon *d;
  backend_client *c[4];
  int64_t t0, elapsed;
  msgpack_sbuffer sb;
  standard_tree();
  d = start_on(tree);
  pack_text(&sb, "{'host': 'fixture_host', 'function': 'sleep', 'backend': 'fxe', 'args': [200]}");
  for (int i = 0; i < 4; i++) {
    c[i] = harness_client(d);
    declare(c[i], "{'fixture_edge': {'package': 'edge-adapter'}}");
  }
  t0 = harness_now_ms();
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(backend_client_send(c[i], "backend.call", sb.data, sb.size, NULL), 0);
    cr_assert_eq(backend_client_flush(c[i], HARNESS_TIMEOUT_MS), 0);
  }
  for (int i = 0; i < 4; i++) {
    backend_reply *r = NULL;
    int err = backend_client_recv(c[i], 4 * HARNESS_TIMEOUT_MS, &r);
    cr_assert_eq(err, 0, "%s %s", backend_strerror(err), r != NULL && r->error_message ? r->error_message : "");
    harness_keep(r);
    cr_expect(is_uint(harness_get(&r->result, "result"), 1), "calls ran at once: %s", show(&r->result));
  }
  elapsed = harness_now_ms() - t0;
  cr_expect_geq(elapsed, 4 * 200 - 20, "4 serialised calls of 200 ms took %lld ms", (long long)elapsed);
  msgpack_sbuffer_destroy(&sb);
  for (int i = 0; i < 4; i++)
    harness_client_close(c[i]);
  harness_finish(d);
}

Test(dispatch, queued_calls_are_cancelled_when_the_client_goes) {
  struct hdaemon *d;
  backend_client *a, *b;
  msgpack_sbuffer sb;
  uint64_t base, now;
  const msgpack_object *r;
  int64_t t0, elapsed;
  int polls = 0;
  standard_tree();
  d = start_on(tree);
  b = harness_client(d);
  declare(b, NULL);
  call_ok(b, "fxe", "sleep", "[0]", NULL); /* the adapter is loaded */
  a = harness_client(d);
  declare(a, NULL);
  base = harness_info_u64(b, "requests");
  pack_text(&sb, "{'host': 'fixture_host', 'function': 'sleep', 'backend': 'fxe', 'args': [300]}");
  for (int i = 0; i < 20; i++)
    cr_assert_eq(backend_client_send(a, "backend.call", sb.data, sb.size, NULL), 0);
  cr_assert_eq(backend_client_flush(a, HARNESS_TIMEOUT_MS), 0);
  msgpack_sbuffer_destroy(&sb);
  /* Until the daemon has all 20 (each daemon.info poll counts as one request too). */
  do {
    now = harness_info_u64(b, "requests");
    polls++;
  } while ((int64_t)(now - base) - polls < 20 && polls < 500);
  cr_assert_lt(polls, 500, "the daemon never received the 20 calls");
  harness_client_close(a);

  t0 = harness_now_ms();
  r = call_ok(b, "fxe", "sleep", "[10]", NULL);
  elapsed = harness_now_ms() - t0;
  cr_expect(is_uint(harness_get(r, "result"), 1), "%s", show(r));
  cr_expect_lt(elapsed, 3000, "a call waited %lld ms: the gone client's queued calls still ran", (long long)elapsed);
  harness_ping(b, d);
  /* And the next connection is served as well. */
  harness_ping_new(d);
  harness_client_close(b);
  harness_finish(d);
}

Test(dispatch, describe_merges_backend_parameters) {
  struct hdaemon *d, *d2;
  backend_client *c, *c2;
  const msgpack_object *r, *r2, *sig, *doc, *params;
  msgpack_sbuffer s1, s2;
  msgpack_packer p1, p2;
  bool found = false;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  r = ok(c, "backend.describe", "{'host': 'fixture_host', 'function': 'compute_score'}");
  sig = harness_get(r, "signature");
  doc = harness_get(r, "doc");
  cr_expect(harness_str_eq(harness_get(r, "host"), "fixture_host"));
  cr_expect(harness_str_eq(harness_get(r, "function"), "compute_score"));
  cr_expect(str_has(sig, "batch_size=None"), "%s", show(sig));
  cr_expect(!str_has(sig, "_trace"), "%s", show(sig));
  cr_expect(harness_str_eq(sig, "compute_score(data, *, method='fast', n_jobs=None, batch_size=None)"), "%s", show(sig));
  cr_expect(str_has(doc, "Other Parameters\n----------------\n"), "%s", show(doc));
  cr_expect(str_has(doc, "batch_size (fixture_accel, fixture_lazy)\n"), "%s", show(doc));
  cr_expect(str_has(doc, "Number of rows per accelerator batch"), "%s", show(doc));
  cr_expect(!str_has(doc, "_trace"), "%s", show(doc));
  cr_expect(str_has(doc, "Compute a score.\n"), "%s", show(doc));
  params = harness_get(r, "parameters");
  for (uint32_t i = 0; params != NULL && i < array_len(params); i++) {
    const msgpack_object *p = &params->via.array.ptr[i];
    if (harness_str_eq(harness_get(p, "name"), "batch_size")) {
      found = true;
      cr_expect(harness_str_eq(harness_get(p, "provider"), "fixture_accel, fixture_lazy"), "%s", show(p));
      cr_expect(harness_str_eq(harness_get(p, "kind"), "keyword_only"), "%s", show(p));
    }
    if (harness_str_eq(harness_get(p, "name"), "method"))
      cr_expect(harness_str_eq(harness_get(p, "provider"), "host"), "%s", show(p));
  }
  cr_expect(found, "no batch_size in %s", show(params));
  /* The same bytes every time. */
  r2 = ok(c, "backend.describe", "{'host': 'fixture_host', 'function': 'compute_score'}");
  msgpack_sbuffer_init(&s1);
  msgpack_sbuffer_init(&s2);
  msgpack_packer_init(&p1, &s1, msgpack_sbuffer_write);
  msgpack_packer_init(&p2, &s2, msgpack_sbuffer_write);
  msgpack_pack_object(&p1, *r);
  msgpack_pack_object(&p2, *r2);
  cr_expect(s1.size == s2.size && memcmp(s1.data, s2.data, s1.size) == 0, "describe answered differently twice");
  msgpack_sbuffer_destroy(&s1);
  msgpack_sbuffer_destroy(&s2);
  /* A function no backend extends: the host's own. */
  r = ok(c, "backend.describe", "{'host': 'fixture_host', 'function': 'summarize'}");
  cr_expect(harness_str_eq(harness_get(r, "signature"), "summarize(data)"), "%s", show(r));
  cr_expect(!str_has(harness_get(r, "doc"), "Other Parameters"), "%s", show(r));
  harness_client_close(c);

  /* One provider. */
  cr_assert_not_null(tree2 = plugin_tree_new("dispatch-describe"));
  install_in(tree2, "good-adapter", "fixture_accel", "good_adapter.mod", NULL, "good_adapter");
  d2 = start_on(tree2);
  c2 = harness_client(d2);
  declare(c2, NULL);
  r = ok(c2, "backend.describe", "{'host': 'fixture_host', 'function': 'compute_score'}");
  cr_expect(str_has(harness_get(r, "doc"), "batch_size (fixture_accel)\n"), "%s", show(harness_get(r, "doc")));
  harness_client_close(c2);
  harness_finish(d2);
  harness_finish(d);
}

Test(dispatch, load_failures_are_reported_and_survived) {
  struct hdaemon *d;
  backend_client *c;
  backend_reply *e;
  const msgpack_object *r;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-load"));
  /* The lazy adapter without its implementation library; the good adapter, whose module is then removed. */
  install("lazy-adapter", "fixture_lazy", "lazy_adapter.mod", NULL, "lazy_adapter");
  install("edge-adapter", "fixture_edge", "edge_adapter.mod", NULL, "edge_adapter");
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  for (int i = 0; i < 2; i++) { /* and again: no state was left half-loaded */
    e = call_fails(c, "Backend.LoadFailed", "fxl", "compute_score", "[[1]]", NULL);
    cr_expect(strstr(e->error_message, "lazy_impl.so") != NULL, "%s", e->error_message);
    cr_expect(strstr(e->error_message, "fixture_lazy") != NULL, "%s", e->error_message);
  }
  /* The adapter itself loaded: its list entry says so, and the other backends are fine. */
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  /* A function the backend lacks never needs its code. */
  r = call_ok(c, "fxl", "summarize", "[[1]]", NULL);
  cr_expect(str_has(harness_get(r, "fallback"), "does not implement summarize"), "%s", show(r));
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
}

/* The declaration as JSON, for backend-host.json. */
static const char host_json[] =
    "{\"name\": \"fixture_host\",\n"
    " \"functions\": [\n"
    "  {\"name\": \"compute_score\",\n"
    "   \"params\": [{\"name\": \"data\", \"kind\": \"positional\"},\n"
    "              {\"name\": \"method\", \"kind\": \"keyword_only\", \"default\": \"fast\"},\n"
    "              {\"name\": \"n_jobs\", \"kind\": \"keyword_only\", \"default\": null}],\n"
    "   \"doc\": \"Compute a score.\\n\\nParameters\\n----------\\ndata\\n    Input data.\\n\"},\n"
    "  {\"name\": \"summarize\", \"params\": [{\"name\": \"data\", \"kind\": \"positional\"}], \"doc\": \"S.\\n\"}\n"
    " ],\n"
    " \"trusted\": {\"fixture_accel\": {\"package\": \"good-adapter\", \"aliases\": [\"fxa\"]}},\n"
    " \"reserved\": {\"gpu\": \"too generic\"}\n"
    "}\n";

Test(dispatch, declaration_files) {
  struct hdaemon *d;
  backend_client *c, *c2;
  const msgpack_object *l, *r;
  standard_tree();
  cr_assert_eq(plugin_tree_add_dist(tree, "fixture-host", "2.0", NULL), 0);
  cr_assert_eq(plugin_tree_write(tree, "fixture-host-2.0.dist-info/backend-host.json", host_json), 0);
  cr_assert_eq(plugin_tree_add_dist(tree, "broken-json", "1.0", NULL), 0);
  cr_assert_eq(plugin_tree_write(tree, "broken-json-1.0.dist-info/backend-host.json", "{\"name\": \"broken_json\", "), 0);
  cr_assert_eq(plugin_tree_add_dist(tree, "broken-rule", "1.0", NULL), 0);
  cr_assert_eq(plugin_tree_write(tree, "broken-rule-1.0.dist-info/backend-host.json",
                                 "{\"name\": \"broken_rule\", \"functions\": [{\"name\": \"f\", \"params\":"
                                 " [{\"name\": \"xs\", \"kind\": \"var_positional\"}]}]}"),
               0);
  d = start_on(tree);
  c = harness_client(d);
  /* Never declared on this connection: the file's declaration. */
  l = list(c);
  cr_expect(str_has(harness_get(l, "source"), "declaration file"), "%s", show(harness_get(l, "source")));
  cr_expect(str_has(harness_get(l, "source"), "backend-host.json"), "%s", show(harness_get(l, "source")));
  cr_expect(is_bool(harness_get(find_backend(l, "backends", "fixture_accel", NULL), "trusted"), true), "%s", show(l));
  r = call_ok(c, "fxa", "compute_score", "[[1]]", "{'n_jobs': 2}");
  cr_expect(harness_str_eq(harness_get(harness_get(r, "result"), "method"), "quick"), "%s", show(r));
  cr_expect(is_bool(harness_get(r, "trusted"), true), "%s", show(r));
  cr_expect_eq(count_warnings(r, "n_jobs=2"), 1, "%s", show(r));
  call_fails(c, "Backend.Reserved", "gpu", "compute_score", "[[1]]", NULL);
  call_fails(c, "Host.UnknownFunction", "fxa", "sleep", "[1]", NULL);
  r = ok(c, "backend.describe", "{'host': 'fixture_host', 'function': 'compute_score'}");
  cr_expect(str_has(harness_get(r, "doc"), "batch_size (fixture_accel, fixture_lazy)"), "%s", show(r));

  /* Broken files: the daemon runs on, their hosts are unknown. */
  fails(c, "Host.Unknown", "backend.list", "{'host': 'broken_json'}");
  fails(c, "Host.Unknown", "backend.list", "{'host': 'broken_rule'}");
  cr_expect(harness_log_wait(d, "broken-json-1.0.dist-info/backend-host.json", 2000), "the broken file is not logged");
  cr_expect(harness_log_wait(d, "variadic positional", 2000), "the broken rule is not logged");
  /* A connection's declaration wins over the file while it is open, for everyone. */
  c2 = harness_client(d);
  ok(c2, "host.declare", "{'name': 'fixture_host', 'functions': " FUNCTIONS "}");
  l = list(c);
  cr_expect(str_has(harness_get(l, "source"), "client pid"), "%s", show(harness_get(l, "source")));
  cr_expect(is_bool(harness_get(find_backend(l, "backends", "fixture_accel", NULL), "trusted"), false), "%s", show(l));
  harness_client_close(c2);
  for (int i = 0; i < 100; i++) {
    l = list(c);
    if (str_has(harness_get(l, "source"), "declaration file"))
      break;
    harness_sleep_ms(20);
  }
  cr_expect(str_has(harness_get(l, "source"), "declaration file"), "%s", show(harness_get(l, "source")));
  /* A reload reads the files again, and its report names each broken one and why. */
  r = ok(c, "daemon.reload", "{}");
  cr_expect(any_str_has(harness_get(r, "failed"), "broken-rule-1.0.dist-info/backend-host.json"), "%s", show(r));
  cr_expect(any_str_has(harness_get(r, "failed"), "variadic positional"), "%s", show(r));
  cr_expect(any_str_has(harness_get(r, "failed"), "broken-json-1.0.dist-info/backend-host.json"), "%s", show(r));
  cr_expect(str_has(harness_get(list(c), "source"), "declaration file"));
  fails(c, "Host.Unknown", "backend.call", "{'host': 'broken_rule', 'function': 'f'}");
  harness_client_close(c);
  harness_finish(d);
}

Test(dispatch, ndarray_round_trip) {
  struct hdaemon *d;
  backend_client *c;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r = NULL;
  const msgpack_object *res;
  struct backend_ndarray a;
  const uint64_t shape[] = {512, 512}; /* 1 MiB of float32 */
  static float data[512 * 512];
  int err;
  for (size_t i = 0; i < 512 * 512; i++)
    data[i] = (float)i * 0.5f - 1000.0f;
  standard_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  msgpack_pack_str_with_body(&pk, "host", 4);
  msgpack_pack_str_with_body(&pk, "fixture_host", 12);
  msgpack_pack_str_with_body(&pk, "function", 8);
  msgpack_pack_str_with_body(&pk, "normalize", 9);
  msgpack_pack_str_with_body(&pk, "backend", 7);
  msgpack_pack_str_with_body(&pk, "fxl", 3);
  msgpack_pack_str_with_body(&pk, "args", 4);
  msgpack_pack_array(&pk, 1);
  cr_assert_eq(backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 2, shape, data), 0);
  err = backend_client_call(c, "backend.call", sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, 0, "%s: %s", backend_strerror(err), r != NULL && r->error_message ? r->error_message : "");
  harness_keep(r);
  res = harness_get(&r->result, "result");
  cr_assert_not_null(res);
  cr_assert_eq(backend_ndarray_parse(res, &a), 0, "the result is not an ndarray: type %d", res->type);
  cr_expect_eq(a.dtype, BACKEND_DTYPE_FLOAT32);
  cr_expect_eq(a.ndim, 2);
  cr_expect(a.shape[0] == 512 && a.shape[1] == 512);
  cr_assert_eq(a.nbytes, 512 * 512 * sizeof *data);
  cr_expect_eq(memcmp(a.data, data, a.nbytes), 0, "the array came back changed");
  harness_client_close(c);
  harness_finish(d);
}

/* ---- results, warnings and fallbacks at their limits ---- */

/* The standard adapters and fixture_shape. */
static void shape_tree(void) {
  standard_tree();
  install("shape-adapter", "fixture_shape", "shape_adapter.mod", NULL, "shape_adapter");
}

#define TRUST_SHAPE "{'fixture_shape': {'package': 'shape-adapter'}}"

/* kwargs text for fixture_shape's compute_score. */
static const char *shape(const char *method, uint64_t n) {
  static char text[128];
  snprintf(text, sizeof text, "{'method': '%s', 'n': %llu}", method, (unsigned long long)n);
  return text;
}

/* A result the client could not decode fails the call, naming the limit; the connection stays usable. */
Test(dispatch, results_beyond_the_protocol_limits_fail_the_call) {
  struct hdaemon *d, *d2;
  backend_client *c;
  const msgpack_object *r;
  backend_reply *e;
  shape_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_SHAPE); /* trusted: no first-use warning, so the reply's own elements are known */

  /* Depth: the reply's array and map take 2 of a message's 32 levels. */
  r = harness_get(call_ok(c, "fxs", "compute_score", "[[1]]", shape("deep", 30)), "result");
  cr_expect(r != NULL && r->type == MSGPACK_OBJECT_ARRAY, "depth 30: %s", show(r));
  for (int n = 31; n <= 40; n += 9) {
    e = call_fails(c, "Backend.CallFailed", "fxs", "compute_score", "[[1]]", shape("deep", (uint64_t)n));
    cr_expect(strstr(e->error_message, "nested deeper") != NULL && strstr(e->error_message, "30") != NULL,
              "depth %d: %s", n, e->error_message);
    harness_ping(c, d);
  }
  /* Strings: 1 MiB at most. */
  r = harness_get(call_ok(c, "fxs", "compute_score", "[[1]]", shape("long", 1 << 20)), "result");
  cr_expect(r != NULL && r->type == MSGPACK_OBJECT_STR && r->via.str.size == 1 << 20, "1 MiB string: type %d",
            r != NULL ? (int)r->type : -1);
  e = call_fails(c, "Backend.CallFailed", "fxs", "compute_score", "[[1]]", shape("long", (1 << 20) + 1));
  cr_expect(strstr(e->error_message, "string longer than 1048576") != NULL, "%s", e->error_message);
  harness_ping(c, d);
  /* Elements: 1 Mi in a message, 16 of them the reply's own (its array, its map; no warnings). */
  r = harness_get(call_ok(c, "fxs", "compute_score", "[[1]]", shape("many", (1 << 20) - 16)), "result");
  cr_expect(r != NULL && r->type == MSGPACK_OBJECT_ARRAY && r->via.array.size == (1 << 20) - 16, "elements: type %d",
            r != NULL ? (int)r->type : -1);
  e = call_fails(c, "Backend.CallFailed", "fxs", "compute_score", "[[1]]", shape("many", (1 << 20) - 15));
  cr_expect(strstr(e->error_message, "elements") != NULL && strstr(e->error_message, "1048560") != NULL, "%s",
            e->error_message);
  harness_ping(c, d);
  r = call_ok(c, "fxs", "compute_score", "[[1]]", NULL);
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  harness_client_close(c);

  /* Size: the daemon's --max-message-size, less the answer around the result. */
  d2 = harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, "--max-message-size", "1M", (const char *)NULL);
  c = harness_client(d2);
  declare(c, TRUST_SHAPE);
  r = harness_get(call_ok(c, "fxs", "compute_score", "[[1]]", shape("long", (1 << 20) - 200)), "result");
  cr_expect(r != NULL && r->type == MSGPACK_OBJECT_STR, "%s", "a result that fits");
  e = call_fails(c, "Backend.CallFailed", "fxs", "compute_score", "[[1]]", shape("long", (1 << 20) - 50));
  cr_expect(strstr(e->error_message, "larger than an answer can carry") != NULL, "%s", e->error_message);
  harness_ping(c, d2);
  harness_client_close(c);
  harness_finish(d2);
  harness_finish(d);
}

/* The first-use warning is used up only by an answer that carries it. */
Test(dispatch, first_use_warning_outlives_failed_calls) {
  struct hdaemon *d;
  backend_client *c;
  const msgpack_object *r;
  shape_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, NULL);
  call_fails(c, "Backend.CallFailed", "fxe", "compute_score", "[[1]]", "{'method': 'boom'}");
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "after a failed first call: %s", show(r));
  r = call_ok(c, "fxe", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "third call: %s", show(r));
  /* A result over the limits fails after the function ran: the warning is still unused. */
  call_fails(c, "Backend.CallFailed", "fxs", "compute_score", "[[1]]", shape("deep", 40));
  r = call_ok(c, "fxs", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "after a result over the limits: %s", show(r));
  cr_expect_eq(count_warnings(r, "shape-adapter"), 1, "%s", show(r));
  r = call_ok(c, "fxs", "compute_score", "[[1]]", NULL);
  cr_expect_eq(count_warnings(r, "not trusted"), 0, "%s", show(r));
  harness_client_close(c);
  harness_finish(d);
}

/* A fallback runs the host with the caller's arguments: nothing was dropped, so no routing warning. */
Test(dispatch, fallback_answers_leave_out_routing_warnings) {
  struct hdaemon *d;
  backend_client *c, *c2;
  const msgpack_object *r;
  shape_tree();
  d = start_on(tree);
  c = harness_client(d);
  declare(c, TRUST_SHAPE);
  /* n_jobs is host-only: dropped, with a warning, when the backend runs... */
  r = call_ok(c, "fxs", "compute_score", "[[1]]", "{'n_jobs': 4}");
  cr_expect(is_uint(harness_get(r, "result"), 42), "%s", show(r));
  cr_expect_eq(count_warnings(r, "n_jobs"), 1, "%s", show(r));
  /* ...but not when the host runs instead; the backend's own warning stays. */
  r = call_ok(c, "fxs", "compute_score", "[[1]]", "{'n_jobs': 4, 'method': 'exact_warned'}");
  cr_expect(harness_str_eq(harness_get(r, "fallback"), "fixture_shape has no exact method"), "%s", show(r));
  cr_expect_eq(count_warnings(r, "n_jobs"), 0, "a routing warning in a fallback answer: %s", show(r));
  cr_expect_eq(count_warnings(r, "a warning from fixture_shape"), 1, "%s", show(r));
  cr_expect_eq(array_len(warnings(r)), 1, "%s", show(r));
  /* The first-use warning of an untrusted backend stays too. */
  c2 = harness_client(d);
  declare(c2, NULL);
  r = call_ok(c2, "fxs", "compute_score", "[[1]]", "{'n_jobs': 4, 'method': 'exact_warned'}");
  cr_expect_eq(count_warnings(r, "not trusted"), 1, "%s", show(r));
  cr_expect_eq(count_warnings(r, "n_jobs"), 0, "%s", show(r));
  cr_expect_eq(count_warnings(r, "a warning from fixture_shape"), 1, "%s", show(r));
  harness_client_close(c2);
  harness_client_close(c);
  harness_finish(d);
}

/* ---- serialisation across reloads, slow loads ---- */

/*
 * A reload that keeps an adapter's file but replaces its plugin (a new version number): glibc
 * gives the new plugin the code already loaded for the old one, so a call still running there
 * and a new call must not overlap (fixture_edge's sleep answers the most calls it saw at once).
 */
Test(dispatch, not_thread_safe_code_is_serialised_across_a_reload) {
  struct hdaemon *d;
  backend_client *a, *b;
  const msgpack_object *r, *l;
  backend_reply *ra = NULL;
  msgpack_sbuffer sb;
  int err;
  standard_tree();
  d = start_on(tree);
  a = harness_client(d);
  declare(a, NULL);
  r = call_ok(a, "fxe", "sleep", "[0]", NULL);
  cr_assert(is_uint(harness_get(r, "result"), 1), "%s", show(r));
  pack_text(&sb, "{'host': 'fixture_host', 'function': 'sleep', 'backend': 'fxe', 'args': [800]}");
  cr_assert_eq(backend_client_send(a, "backend.call", sb.data, sb.size, NULL), 0);
  cr_assert_eq(backend_client_flush(a, HARNESS_TIMEOUT_MS), 0);
  msgpack_sbuffer_destroy(&sb);
  harness_sleep_ms(100); /* it is running */

  b = harness_client(d);
  cr_assert_eq(plugin_tree_write(tree, "edge-adapter-1.0.dist-info/METADATA",
                                 "Metadata-Version: 2.1\nName: edge-adapter\nVersion: 1.1\n"),
               0);
  ok(b, "daemon.reload", "{}");
  declare(b, NULL);
  l = list(b);
  cr_expect(harness_str_eq(harness_get(find_backend(l, "backends", "fixture_edge", NULL), "version"), "1.1"), "%s",
            show(l));
  r = call_ok(b, "fxe", "sleep", "[0]", NULL);
  cr_expect(is_uint(harness_get(r, "result"), 1), "the new plugin's call ran during the old one's: %s", show(r));
  err = backend_client_recv(a, HARNESS_TIMEOUT_MS, &ra);
  cr_assert_eq(err, 0, "%s", backend_strerror(err));
  harness_keep(ra);
  cr_expect(is_uint(harness_get(&ra->result, "result"), 1), "%s", show(&ra->result));
  harness_client_close(a);
  harness_client_close(b);
  harness_finish(d);
}

/* Sends one backend.call (text) on c without waiting. */
static void send_call(backend_client *c, const char *text) {
  msgpack_sbuffer sb;
  pack_text(&sb, text);
  cr_assert_eq(backend_client_send(c, "backend.call", sb.data, sb.size, NULL), 0);
  cr_assert_eq(backend_client_flush(c, HARNESS_TIMEOUT_MS), 0);
  msgpack_sbuffer_destroy(&sb);
}

/* Waits until the daemon has received n more requests than base (on c: each poll counts one). */
static void wait_received(backend_client *c, uint64_t base, int n) {
  int polls = 0;
  while ((int64_t)(harness_info_u64(c, "requests") - base) - ++polls < n && polls < 500)
    ;
  cr_assert_lt(polls, 500, "the daemon never received the %d calls", n);
}

static backend_reply *recv_one(backend_client *c) {
  backend_reply *r = NULL;
  int err = backend_client_recv(c, 4 * HARNESS_TIMEOUT_MS, &r);
  cr_assert(err == 0 || err == BACKEND_EREMOTE, "%s", backend_strerror(err));
  return harness_keep(r);
}

#define SLOW_CALL "{'host': 'fixture_host', 'function': 'compute_score', 'backend': 'fxw', 'args': [[1]]}"
#define SLOW_LAZY_CALL "{'host': 'fixture_host', 'function': 'summarize', 'backend': 'fxw', 'args': [[1]]}"

/* fixture_slow's compute_score answer [creates, calls]. */
static bool is_count(const msgpack_object *o, uint64_t creates, uint64_t calls) {
  return o != NULL && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 2 && is_uint(&o->via.array.ptr[0], creates) &&
         (calls == 0 || is_uint(&o->via.array.ptr[1], calls));
}

/*
 * While an adapter loads slowly, the calls that need it wait on the loop thread: more of
 * them than there are worker threads still leave the pool to other backends.
 */
Test(dispatch, a_slow_load_holds_one_worker) {
  enum { MAX_CALLERS = 64 };
  struct hdaemon *d;
  backend_client *f, *c[MAX_CALLERS];
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int n = (cpus > 4 ? (int)cpus : 4) + 2;
  int64_t t0, elapsed;
  uint64_t base;
  const msgpack_object *r;
  if (n > MAX_CALLERS)
    n = MAX_CALLERS;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-slow"));
  install("good-adapter", "fixture_accel", "good_adapter.mod", NULL, "good_adapter");
  install("slow-load", "fixture_slow", "slow_load.mod", NULL, "slow_load");
  d = start_on(tree);
  f = harness_client(d);
  declare(f, NULL);
  call_ok(f, "fxa", "compute_score", "[[1]]", NULL); /* loaded */
  for (int i = 0; i < n; i++) {
    c[i] = harness_client(d);
    declare(c[i], NULL);
  }
  base = harness_info_u64(f, "requests");
  for (int i = 0; i < n; i++)
    send_call(c[i], SLOW_CALL);
  wait_received(f, base, n);
  t0 = harness_now_ms();
  r = call_ok(f, "fxa", "compute_score", "[[1]]", NULL);
  elapsed = harness_now_ms() - t0;
  cr_expect(harness_str_eq(harness_get(r, "backend"), "fixture_accel"), "%s", show(r));
  cr_expect_lt(elapsed, 500, "%d calls waiting for a 1 s load held the pool: another backend's call took %lld ms", n,
               (long long)elapsed);
  for (int i = 0; i < n; i++) {
    backend_reply *e = recv_one(c[i]);
    cr_expect_eq(e->status, 0, "%s", e->error_message ? e->error_message : "");
    cr_expect(is_count(harness_get(&e->result, "result"), 1, 0), "created more than once: %s", show(&e->result));
  }
  for (int i = 0; i < n; i++)
    harness_client_close(c[i]);
  harness_client_close(f);
  harness_finish(d);
}

/*
 * The calls waiting for a load: those of a client that went away are cancelled; when the load
 * fails, those that needed what failed get its error and the others go on.
 */
Test(dispatch, calls_waiting_for_a_load_fail_with_it_or_are_cancelled) {
  enum { GONE = 10, EACH = 3 };
  struct hdaemon *d;
  backend_client *a, *w, *f, *lazy[EACH], *plain[EACH];
  uint64_t base;
  backend_reply *e;
  const msgpack_object *r;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-slow-fail"));
  install("slow-load", "fixture_slow", "slow_load.mod", NULL, "slow_load");
  d = start_on(tree);
  f = harness_client(d);
  a = harness_client(d);
  w = harness_client(d);
  declare(a, NULL);
  declare(w, NULL);
  for (int i = 0; i < EACH; i++) {
    declare(lazy[i] = harness_client(d), NULL);
    declare(plain[i] = harness_client(d), NULL);
  }
  base = harness_info_u64(f, "requests");
  send_call(a, SLOW_LAZY_CALL); /* loads: the adapter, slowly, then a library that is not there */
  for (int i = 0; i < GONE; i++)
    send_call(w, SLOW_CALL);
  wait_received(f, base, 1 + GONE);
  harness_client_close(w);
  for (int i = 0; i < EACH; i++) {
    send_call(lazy[i], SLOW_LAZY_CALL);
    send_call(plain[i], SLOW_CALL);
  }
  e = recv_one(a);
  cr_expect(e->status == BACKEND_EREMOTE && strcmp(e->error_code, "Backend.LoadFailed") == 0 &&
                strstr(e->error_message, "no_such_impl.so") != NULL,
            "%s: %s", e->error_code ? e->error_code : "ok", e->error_message ? e->error_message : show(&e->result));
  for (int i = 0; i < EACH; i++) {
    e = recv_one(lazy[i]);
    cr_expect(e->status == BACKEND_EREMOTE && strcmp(e->error_code, "Backend.LoadFailed") == 0 &&
                  strstr(e->error_message, "no_such_impl.so") != NULL,
              "%s: %s", e->error_code ? e->error_code : "ok", e->error_message ? e->error_message : show(&e->result));
    e = recv_one(plain[i]);
    cr_expect_eq(e->status, 0, "%s", e->error_message ? e->error_message : "");
    cr_expect(is_count(harness_get(&e->result, "result"), 1, 0), "%s", show(&e->result));
  }
  /* The gone client's calls never ran: this is the fourth call. */
  r = call_ok(a, "fxw", "compute_score", "[[1]]", NULL);
  cr_expect(is_count(harness_get(r, "result"), 1, EACH + 1), "a gone client's waiting calls ran: %s", show(r));
  for (int i = 0; i < EACH; i++) {
    harness_client_close(lazy[i]);
    harness_client_close(plain[i]);
  }
  harness_client_close(a);
  harness_client_close(f);
  harness_finish(d);
}

/* Sends [0, msgid, "backend.call", [params]] on a raw connection (params in pack_text's notation). */
static void raw_call(struct hraw *r, uint32_t msgid, const char *method, const char *params) {
  msgpack_sbuffer sb;
  msgpack_packer *pk = raw_request_begin(r, msgid, method);
  pack_text(&sb, params);
  msgpack_pack_array(pk, 1);
  pk->callback(pk->data, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(raw_flush(r), 0);
}

/*
 * A client that stops reading (shutdown SHUT_RD: the daemon's next write fails, though it sees
 * no end of stream) while several of its calls wait for one load: answering the first closes
 * the connection, which cancels the others while the load's waiters are being answered.
 */
Test(dispatch, a_connection_closed_while_answering_a_loads_waiters) {
  struct hdaemon *d;
  struct hraw *r;
  cr_assert_not_null(tree = plugin_tree_new("dispatch-slow-close"));
  install("slow-load", "fixture_slow", "slow_load.mod", NULL, "slow_load");
  d = start_on(tree);
  r = raw_connect(d->socket);
  raw_call(r, 1, "host.declare", "{'name': 'fixture_host', 'functions': " FUNCTIONS "}");
  (void)raw_expect_result(r, 1);
  for (uint32_t id = 2; id < 6; id++)
    raw_call(r, id, "backend.call", SLOW_LAZY_CALL); /* the first loads; the others wait for it */
  cr_assert_eq(shutdown(r->fd, SHUT_RD), 0);
  cr_assert(harness_log_wait(d, "no_such_impl.so", HARNESS_TIMEOUT_MS), "the load did not fail");
  harness_sleep_ms(100);
  harness_ping_new(d); /* still serving */
  raw_close(r);
  harness_finish(d);
}

/* ---- backend.describe out of memory ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN

/* {name, kind} of a parameter, with room for more members (n in all). */
static void pack_param_head(msgpack_packer *pk, uint32_t n, const char *name, const char *kind) {
  msgpack_pack_map(pk, n);
  harness_pack_cstr(pk, "name");
  harness_pack_cstr(pk, name);
  harness_pack_cstr(pk, "kind");
  harness_pack_cstr(pk, kind);
}

/*
 * A fixture_host declaration: squeeze(bytes), and compute_score(data, *, x=<len bytes>), whose
 * describe answer carries x's default twice (the signature, the parameter), fixture_shape trusted.
 */
static void pack_big_declaration(msgpack_sbuffer *sb, size_t len) {
  msgpack_packer pk;
  char *big = malloc(len);
  cr_assert_not_null(big);
  memset(big, 'a', len);
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  harness_pack_cstr(&pk, "name");
  harness_pack_cstr(&pk, "fixture_host");
  harness_pack_cstr(&pk, "trusted");
  msgpack_pack_map(&pk, 1);
  harness_pack_cstr(&pk, "fixture_shape");
  msgpack_pack_map(&pk, 1);
  harness_pack_cstr(&pk, "package");
  harness_pack_cstr(&pk, "shape-adapter");
  harness_pack_cstr(&pk, "functions");
  msgpack_pack_array(&pk, 2);
  msgpack_pack_map(&pk, 2);
  harness_pack_cstr(&pk, "name");
  harness_pack_cstr(&pk, "squeeze");
  harness_pack_cstr(&pk, "params");
  msgpack_pack_array(&pk, 1);
  pack_param_head(&pk, 2, "bytes", "positional");
  msgpack_pack_map(&pk, 3);
  harness_pack_cstr(&pk, "name");
  harness_pack_cstr(&pk, "compute_score");
  harness_pack_cstr(&pk, "doc");
  harness_pack_cstr(&pk, "Big.\n");
  harness_pack_cstr(&pk, "params");
  msgpack_pack_array(&pk, 2);
  pack_param_head(&pk, 2, "data", "positional");
  pack_param_head(&pk, 3, "x", "keyword_only");
  harness_pack_cstr(&pk, "default");
  msgpack_pack_str_with_body(&pk, big, len);
  free(big);
}
#endif

#ifndef UNDER_ASAN
/*
 * A daemon with the malloc_shim fixture preloaded, which fails allocations from a size
 * fixture_shape's squeeze sets, and a client that declared pack_big_declaration(default_len).
 */
static struct hdaemon *start_with_malloc_shim(const char *name, size_t default_len, backend_client **c) {
  struct hdaemon *d;
  backend_reply *e = NULL;
  msgpack_sbuffer sb;
  int err;
  char *shim, preload[4200];
  const char *args[] = {"--plugin-path", NULL, "--plugin-timeout", "10", "--log-level", "debug", NULL};
  const char *env[] = {preload, NULL};
  struct hspawn with = {.env = env};
  cr_assert_not_null(tree = plugin_tree_new(name));
  install("shape-adapter", "fixture_shape", "shape_adapter.mod", NULL, "shape_adapter");
  cr_assert_not_null(shim = plugin_tree_fixture("malloc_shim"), "fixture malloc_shim is not built");
  snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
  free(shim);
  args[1] = tree;
  d = harness_spawn_with(harness_bin("BACKENDD_BIN"), NULL, args, &with);
  cr_assert(harness_wait_ready(d, HARNESS_TIMEOUT_MS), "the daemon did not start with the malloc shim");
  *c = harness_client(d);
  pack_big_declaration(&sb, default_len);
  err = backend_client_call(*c, "host.declare", sb.data, sb.size, HARNESS_TIMEOUT_MS, &e);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, 0, "%s: %s", backend_strerror(err), e != NULL && e->error_message ? e->error_message : "");
  harness_keep(e);
  return d;
}
#endif

/*
 * backend.describe packs its answer before sending any of it: out of memory half way, the
 * client gets an error, not a broken stream. Here the answer's buffer growing to 512 KiB
 * fails, while everything computed before (the 200 KB default's text, 256 KiB buffers) fits.
 */

Test(dispatch, describe_out_of_memory_fails_cleanly) {
#ifdef UNDER_ASAN
  cr_skip_test("the malloc shim cannot be preloaded under AddressSanitizer");
#else
  backend_client *c;
  struct hdaemon *d = start_with_malloc_shim("dispatch-oom", 200000, &c);
  const msgpack_object *r;
  backend_reply *e;
  const char *describe = "{'host': 'fixture_host', 'function': 'compute_score'}";
  r = ok(c, "backend.describe", "%s", describe);
  cr_assert(harness_get(r, "signature") != NULL && harness_get(r, "signature")->via.str.size > 200000, "%s",
            "the signature lacks the default");
  call_ok(c, "fxs", "squeeze", "[400000]", NULL);
  e = fails(c, "Daemon.Internal", "backend.describe", "%s", describe);
  cr_expect(strstr(e->error_message, "out of memory") != NULL, "%s", e->error_message);
  call_ok(c, "fxs", "squeeze", "[0]", NULL);
  r = ok(c, "backend.describe", "%s", describe);
  cr_expect(harness_get(r, "signature")->via.str.size > 200000);
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
#endif
}

/*
 * An answer the connection's output buffer cannot take whole is taken back and replaced by
 * an error: the result (a bin just under 4 MiB, in the adapter's 4 MiB buffer) fits, the
 * answer around it does not (the output buffer would double to 8 MiB, refused by the shim).
 */
Test(dispatch, an_answer_out_of_memory_is_replaced_by_an_error) {
#ifdef UNDER_ASAN
  cr_skip_test("the malloc shim cannot be preloaded under AddressSanitizer");
#else
  backend_client *c;
  struct hdaemon *d = start_with_malloc_shim("dispatch-oom-answer", 1, &c);
  const msgpack_object *r;
  backend_reply *e;
  char big[128];
  snprintf(big, sizeof big, "{'method': 'bytes', 'n': %d}", (4 << 20) - 16);
  call_ok(c, "fxs", "squeeze", "[8388608]", NULL);
  e = call_fails(c, "Daemon.Internal", "fxs", "compute_score", "[[1]]", big);
  cr_expect(strstr(e->error_message, "out of memory") != NULL, "%s", e->error_message);
  call_ok(c, "fxs", "compute_score", "[[1]]", "{'method': 'bytes', 'n': 100}"); /* still in step */
  call_ok(c, "fxs", "squeeze", "[0]", NULL);
  r = harness_get(call_ok(c, "fxs", "compute_score", "[[1]]", big), "result");
  cr_expect(r != NULL && r->type == MSGPACK_OBJECT_BIN && r->via.bin.size == (4 << 20) - 16);
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
#endif
}
