/*
 * The host side of backend dispatch (<backend/host.h>) without a real daemon: declaration
 * checks, backend selection, cpu calls (which must never connect), the declaration file,
 * and the daemon path against a scripted fake (host-fake.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include <backend/host.h>

#include "host-fake.h"
#include "json.h"
#include "message.h"

#define POS BACKEND_PARAM_POSITIONAL
#define KW BACKEND_PARAM_KEYWORD_ONLY
#define VARKW BACKEND_PARAM_VAR_KEYWORD
#define NO_SOCKET "/nonexistent/backendd/backendd.sock"

static char tmpdir[64];

static void setup(void) {
  strcpy(tmpdir, "/tmp/test-host-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  unsetenv("EXAMPLE_HOST_BACKEND");
  unsetenv("BACKENDD_SOCKET");
}

static void teardown(void) {
  rmdir(tmpdir);
}

TestSuite(host, .init = setup, .fini = teardown, .timeout = 60);

/* ---------------------------------------------------------------- implementations */

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* {name: value-or-nil} for every name, as backend_args_get sees them. */
static void echo(const backend_args *a, msgpack_packer *out, const char *const *names) {
  size_t n = 0;

  while (names[n])
    n++;
  msgpack_pack_map(out, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const msgpack_object *v = backend_args_get(a, names[i]);
    pack_cstr(out, names[i]);
    if (v)
      msgpack_pack_object(out, *v);
    else
      msgpack_pack_nil(out);
  }
}

static int score_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  static const char *const names[] = {"data", "n", "method", "copy", "batch_size", NULL};
  if (user)
    ++*(int *)user;
  echo(a, out, names);
  return 0;
}

static int flex_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  static const char *const names[] = {"x", "anything", "kw", NULL};
  echo(a, out, names);
  return 0;
}

static int fail_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  snprintf(why, len, "boom: data must not be empty");
  return -EINVAL;
}

static int silent_fail_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  return -1;
}

static int nothing_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  return 0;
}

static int two_impl(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  msgpack_pack_int(out, 1);
  msgpack_pack_int(out, 2);
  return 0;
}

/* ---------------------------------------------------------------- the declaration */

static const struct backend_param score_params[] = {
    {"data", POS, NULL},
    {"n", POS, "3"},
    {"method", KW, "\"fast\""},
    {"copy", KW, "false"},
    {NULL, 0, NULL},
};
static const struct backend_param flex_params[] = {{"x", POS, NULL}, {"kw", VARKW, NULL}, {NULL, 0, NULL}};
static const struct backend_param data_params[] = {{"data", POS, NULL}, {NULL, 0, NULL}};

static const struct backend_host_function functions[] = {
    {"compute_score", score_params, "Compute a score.", score_impl},
    {"normalize", data_params, "Normalize.", score_impl},
    {"summarize", data_params, NULL, score_impl},
    {"flex", flex_params, "Takes **kw.", flex_impl},
    {"fails", data_params, "", fail_impl},
    {"fails_silently", data_params, "", silent_fail_impl},
    {"packs_nothing", NULL, "", nothing_impl},
    {"packs_two", NULL, "", two_impl},
    {NULL, NULL, NULL, NULL},
};

static const char *const exa_aliases[] = {"exa", NULL};
static const char *const exa_modules[] = {"example_accel", NULL};
static const struct backend_trusted trusted[] = {
    {.name = "example_accel", .aliases = exa_aliases, .package = "backendd-example-accel", .module_prefixes = exa_modules},
    {.name = NULL},
};
static const struct backend_reserved reserved[] = {{"gpu", "too generic"}, {NULL, NULL}};

static int calls; /* score_impl runs */

static const struct backend_host_decl decl = {
    .name = "example_host",
    .functions = functions,
    .trusted = trusted,
    .reserved = reserved,
    .user = &calls,
};

static backend_host *new_host(const char *socket) {
  backend_host *h = NULL;
  char why[512] = "";
  int err = backend_host_new(&decl, socket, &h, why, sizeof why);

  cr_assert_eq(err, 0, "backend_host_new: %d %s", err, why);
  cr_assert_not_null(h);
  return h;
}

/* ---------------------------------------------------------------- helpers */

static void pack_json(msgpack_sbuffer *sb, const char *text) {
  msgpack_packer pk;
  json_t *j;

  msgpack_sbuffer_init(sb);
  if (!text)
    return;
  j = json_loads(text, JSON_DECODE_ANY, NULL);
  cr_assert_not_null(j, "bad test JSON: %s", text);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  cr_assert_eq(proto_msgpack_from_json(j, &pk), 0);
  json_decref(j);
}

/* Calls function with arguments given as JSON (NULL: none). */
static int call(backend_host *h, const char *function, const char *args, const char *kwargs, const char *backend,
                backend_result **r) {
  msgpack_sbuffer a, k;
  int err;

  pack_json(&a, args);
  pack_json(&k, kwargs);
  err = backend_host_call(h, function, a.data, a.size, k.data, k.size, backend, 5000, r);
  msgpack_sbuffer_destroy(&a);
  msgpack_sbuffer_destroy(&k);
  return err;
}

/* Compact JSON with sorted keys (static buffer: one at a time). */
static const char *json_of(const msgpack_object *o) {
  static char buf[4096];
  json_t *j = proto_json_from_msgpack(o);
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

  cr_assert_not_null(s);
  snprintf(buf, sizeof buf, "%s", s);
  free(s);
  json_decref(j);
  return buf;
}

static void expect_value(const backend_result *r, const char *json) {
  cr_assert_str_eq(json_of(&r->value), json);
}

static void expect_cpu_ok(const backend_result *r) {
  cr_assert_str_eq(r->backend, "cpu");
  cr_assert_eq(r->trusted, 1);
  cr_assert_null(r->fallback);
  cr_assert_eq(r->n_warnings, 0);
  cr_assert_eq(r->backend_ns, 0);
  cr_assert_null(r->error_code);
  cr_assert_null(r->error_message);
  cr_assert_eq(r->error_data.type, MSGPACK_OBJECT_NIL);
}

static void expect_call_error(backend_host *h, const char *function, const char *args, const char *kwargs,
                              const char *code, const char *message) {
  backend_result *r = NULL;
  int err = call(h, function, args, kwargs, NULL, &r);

  cr_assert_eq(err, BACKEND_ECALL, "%s: %d", function, err);
  cr_assert_not_null(r);
  cr_assert_str_eq(r->error_code, code);
  cr_assert_str_eq(r->error_message, message);
  cr_assert_eq(r->value.type, MSGPACK_OBJECT_NIL);
  cr_assert_str_eq(r->backend, "cpu");
  backend_result_free(r);
}

static char *get_backend(backend_host *h) {
  static char buf[129];
  cr_assert_eq(backend_host_get_backend(h, buf, sizeof buf), 0);
  return buf;
}

/* ---------------------------------------------------------------- refusals */

static void expect_refused(const struct backend_host_decl *d, const char *needle) {
  backend_host *h = (backend_host *)&calls; /* must be reset to NULL */
  char why[512] = "";
  int err = backend_host_new(d, NULL, &h, why, sizeof why);

  cr_assert_eq(err, BACKEND_EINVAL, "expected a refusal with '%s', got %d (%s)", needle, err, why);
  cr_assert_null(h);
  cr_assert_not_null(strstr(why, needle), "why '%s' lacks '%s'", why, needle);
}

static const struct backend_param x_param[] = {{"x", POS, NULL}, {NULL, 0, NULL}};

Test(host, refuses_bad_host_names) {
  struct backend_host_function f[] = {{"f", x_param, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = NULL, .functions = f};
  char long_name[130];

  expect_refused(NULL, "no declaration");
  expect_refused(&d, "the declaration has no name");
  d.name = "bad name";
  expect_refused(&d, "host name 'bad name': a backend name may only hold ASCII letters, digits, '.', '_' and '-'");
  d.name = "cpu";
  expect_refused(&d, "host name 'cpu': 'cpu' is reserved for the host's own implementation");
  d.name = "host-";
  expect_refused(&d, "must not end with '.' or '-'");
  d.name = "_host";
  expect_refused(&d, "must start with an ASCII letter or digit");
  d.name = "";
  expect_refused(&d, "must not be empty");
  memset(long_name, 'a', 129);
  long_name[129] = '\0';
  d.name = long_name;
  expect_refused(&d, "at most 128 characters");
  long_name[128] = '\0'; /* 128 is fine */
  d.name = long_name;
  backend_host *h = NULL;
  cr_assert_eq(backend_host_new(&d, NULL, &h, NULL, 0), 0);
  backend_host_free(h);
  d.name = "example_host";
  d.group = "example_host.plugins";
  expect_refused(&d, "group 'example_host.plugins' must end with '.backends'");
  d.group = ".backends";
  expect_refused(&d, "must end with '.backends'");
  cr_assert_eq(backend_host_new(&d, NULL, NULL, NULL, 0), BACKEND_EINVAL);
}

Test(host, refuses_bad_functions) {
  struct backend_host_function f[] = {
      {"f", x_param, "", score_impl}, {"g", x_param, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = "example_host", .functions = f};

  f[0].name = "1f";
  expect_refused(&d, "function '1f': a function name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  f[0].name = "f-g";
  expect_refused(&d, "function 'f-g': a function name must be an identifier");
  f[0].name = "f";
  f[1].impl = NULL;
  expect_refused(&d, "function 'g': no implementation (impl is NULL)");
  f[1].impl = score_impl;
  f[1].name = "f";
  expect_refused(&d, "function 'f' is declared twice");
}

Test(host, refuses_bad_parameters) {
  struct backend_param p[] = {{"data", POS, NULL}, {NULL, 0, NULL}, {NULL, 0, NULL}};
  struct backend_host_function f[] = {{"f", p, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = "example_host", .functions = f};

  p[0].name = "bad-name";
  expect_refused(&d, "function 'f', parameter 'bad-name': a parameter name must be an identifier");
  p[0].name = "backend";
  expect_refused(&d, "function 'f', parameter 'backend': a parameter named 'backend' would hide the per-call backend");
  p[0] = (struct backend_param){"args", BACKEND_PARAM_VAR_POSITIONAL, NULL};
  expect_refused(&d, "function 'f', parameter 'args': variadic positional parameters (*args) cannot be routed");
  p[0].kind = 9;
  expect_refused(&d, "function 'f', parameter 'args': unknown kind 9");
  p[0].kind = 0;
  expect_refused(&d, "unknown kind 0");
  p[0] = (struct backend_param){"kw", VARKW, NULL};
  p[1] = (struct backend_param){"x", KW, NULL};
  expect_refused(&d, "function 'f': **kw must be the last parameter");
  p[0] = (struct backend_param){"x", POS, NULL};
  expect_refused(&d, "function 'f': parameter 'x' appears twice");
  p[1] = (struct backend_param){"method", KW, "fast"};
  expect_refused(&d, "function 'f', parameter 'method': the default is not JSON");
  p[1].default_json = "{\"a\": 1, \"a\": 2}";
  expect_refused(&d, "the default is not JSON");
  p[1].default_json = "";
  expect_refused(&d, "the default is not JSON");
  p[1].default_json = "[1, 2] 3";
  expect_refused(&d, "the default is not JSON");
  /* Python's order: positional ones first, none required after one with a default. */
  p[0] = (struct backend_param){"method", KW, "\"fast\""};
  p[1] = (struct backend_param){"data", POS, NULL};
  expect_refused(&d, "function 'f', parameter 'data': a positional parameter cannot follow keyword-only ones");
  p[0] = (struct backend_param){"copy", POS, "false"};
  expect_refused(&d, "function 'f', parameter 'data': a positional parameter without a default cannot follow one "
                     "with a default");
}

Test(host, parameter_limit) {
  static char names[65][8];
  struct backend_param p[66];
  struct backend_host_function f[] = {{"f", p, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = "example_host", .functions = f};
  backend_host *h = NULL;

  for (int i = 0; i < 65; i++) {
    snprintf(names[i], sizeof names[i], "p%d", i);
    p[i] = (struct backend_param){names[i], KW, "null"};
  }
  p[65] = (struct backend_param){NULL, 0, NULL};
  expect_refused(&d, "function 'f': more than 64 parameters");
  p[64].name = NULL;
  cr_assert_eq(backend_host_new(&d, NULL, &h, NULL, 0), 0);
  backend_host_free(h);
}

Test(host, function_limit) {
  static char names[1025][8];
  struct backend_host_function *f = calloc(1026, sizeof *f);
  struct backend_host_decl d = {.name = "example_host", .functions = f};
  backend_host *h = NULL;

  for (int i = 0; i < 1025; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    f[i] = (struct backend_host_function){names[i], x_param, "", score_impl};
  }
  expect_refused(&d, "more than 1024 functions");
  f[1024].name = NULL;
  cr_assert_eq(backend_host_new(&d, NULL, &h, NULL, 0), 0);
  /* every one of them is found */
  for (int i = 0; i < 1024; i += 97) {
    backend_result *r = NULL;
    cr_assert_eq(call(h, names[i], "[1]", NULL, NULL, &r), 0, "%s", names[i]);
    backend_result_free(r);
  }
  backend_host_free(h);
  free(f);
}

Test(host, refuses_bad_trust) {
  const char *aliases[] = {"exa", NULL, NULL};
  struct backend_trusted t[] = {
      {.name = "example_accel", .aliases = aliases, .package = "backendd-example-accel"},
      {.name = "other", .package = "other"},
      {.name = NULL},
  };
  struct backend_reserved r[] = {{"gpu", "too generic"}, {NULL, NULL}, {NULL, NULL}};
  struct backend_host_function f[] = {{"f", x_param, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = "example_host", .functions = f, .trusted = t, .reserved = r};
  backend_host *h = NULL;

  cr_assert_eq(backend_host_new(&d, NULL, &h, NULL, 0), 0);
  backend_host_free(h);

  t[0].name = "cpu";
  expect_refused(&d, "trusted backend 'cpu': 'cpu' is reserved for the host's own implementation");
  t[0].name = ".accel";
  expect_refused(&d, "trusted backend '.accel': a backend name must start with an ASCII letter or digit");
  t[0].name = "example_accel";
  aliases[0] = "cpu";
  expect_refused(&d, "trusted backend 'example_accel': aliases: 'cpu': 'cpu' is reserved");
  aliases[0] = "ex a";
  expect_refused(&d, "aliases: 'ex a': a backend name may only hold");
  aliases[0] = "exa";
  t[1].package = NULL;
  expect_refused(&d, "trusted backend 'other': package is required");
  t[1].package = "other";
  aliases[0] = "other";
  expect_refused(&d, "'other' is claimed by trusted backends 'example_accel' and 'other'");
  aliases[0] = "exa";
  t[1].name = "exa";
  expect_refused(&d, "'exa' is claimed by trusted backends 'example_accel' and 'exa'");
  t[1].name = "other";
  aliases[1] = "exa";
  expect_refused(&d, "trusted backend 'example_accel' lists 'exa' twice");
  aliases[0] = "example_accel";
  aliases[1] = NULL;
  expect_refused(&d, "trusted backend 'example_accel' lists 'example_accel' twice");
  aliases[0] = "exa";
  r[0].name = "exa";
  expect_refused(&d, "'exa' is both trusted (backend 'example_accel') and reserved");
  r[0].name = "other";
  expect_refused(&d, "'other' is both trusted (backend 'other') and reserved");
  r[0].name = "gpu";
  r[1] = (struct backend_reserved){"gpu", "again"};
  expect_refused(&d, "reserved name 'gpu' appears twice");
  r[1] = (struct backend_reserved){"cpu", "mine"};
  expect_refused(&d, "reserved name 'cpu': 'cpu' is reserved for the host's own implementation");
  r[1] = (struct backend_reserved){"tpu", NULL};
  expect_refused(&d, "reserved name 'tpu': a reason is required");
  r[1] = (struct backend_reserved){"t pu", "x"};
  expect_refused(&d, "reserved name 't pu': a backend name may only hold");
}

/* ---------------------------------------------------------------- environment and settings */

Test(host, env_var_name) {
  struct backend_host_function f[] = {{"f", x_param, "", score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl d = {.name = "my.host-2_x", .functions = f};
  backend_host *h = new_host(NULL), *h2 = NULL;

  cr_assert_str_eq(backend_host_env_var(h), "EXAMPLE_HOST_BACKEND");
  backend_host_free(h);
  cr_assert_eq(backend_host_new(&d, NULL, &h2, NULL, 0), 0);
  cr_assert_str_eq(backend_host_env_var(h2), "MY_HOST_2_X_BACKEND");
  backend_host_free(h2);
}

Test(host, initial_backend_is_cpu) {
  backend_host *h = new_host(NULL);

  cr_assert_str_eq(get_backend(h), "cpu");
  backend_host_free(h);
  setenv("EXAMPLE_HOST_BACKEND", "", 1);
  h = new_host(NULL);
  cr_assert_str_eq(get_backend(h), "cpu");
  backend_host_free(h);
}

Test(host, initial_backend_from_env) {
  backend_host *h;

  setenv("EXAMPLE_HOST_BACKEND", "exa", 1);
  h = new_host(NULL);
  cr_assert_str_eq(get_backend(h), "exa");
  /* read once: later changes to the environment do not matter */
  setenv("EXAMPLE_HOST_BACKEND", "other", 1);
  cr_assert_str_eq(get_backend(h), "exa");
  backend_host_free(h);
}

Test(host, bad_env_value_is_refused) {
  backend_host *h = NULL;
  char why[512] = "";

  setenv("EXAMPLE_HOST_BACKEND", "not a name", 1);
  cr_assert_eq(backend_host_new(&decl, NULL, &h, why, sizeof why), BACKEND_EINVAL);
  cr_assert_null(h);
  cr_assert_str_eq(why, "EXAMPLE_HOST_BACKEND='not a name': a backend name may only hold ASCII letters, digits, '.', "
                        "'_' and '-'");
}

Test(host, set_and_get_backend) {
  backend_host *h = new_host(NULL);
  char small[3];

  cr_assert_eq(backend_host_set_backend(h, "exa"), 0);
  cr_assert_str_eq(get_backend(h), "exa");
  cr_assert_eq(backend_host_set_backend(h, "bad name"), BACKEND_EINVAL);
  cr_assert_eq(backend_host_set_backend(h, ""), BACKEND_EINVAL);
  cr_assert_eq(backend_host_set_backend(h, "x."), BACKEND_EINVAL);
  cr_assert_str_eq(get_backend(h), "exa", "unchanged after a refusal");
  /* not checked for existence: a name that merely follows the rules is taken */
  cr_assert_eq(backend_host_set_backend(h, "unheard-of"), 0);
  cr_assert_eq(backend_host_get_backend(h, small, sizeof small), -ENAMETOOLONG);
  cr_assert_eq(backend_host_set_backend(h, NULL), 0);
  cr_assert_str_eq(get_backend(h), "cpu");
  cr_assert_eq(backend_host_get_backend(h, small, 3), -ENAMETOOLONG, "no room for the NUL");
  cr_assert_eq(backend_host_set_backend(h, "cpu"), 0);
  cr_assert_eq(backend_host_get_backend(h, small, 0), -ENAMETOOLONG);
  backend_host_free(h);
}

Test(host, nested_scopes_restore) {
  backend_host *h = new_host(NULL);
  backend_scope outer, inner, bad;

  cr_assert_eq(backend_host_scope_begin(h, "exa", &outer), 0);
  cr_assert_str_eq(get_backend(h), "exa");
  cr_assert_eq(backend_host_scope_begin(h, "other", &inner), 0);
  cr_assert_str_eq(get_backend(h), "other");
  cr_assert_eq(backend_host_scope_begin(h, "no good", &bad), BACKEND_EINVAL);
  cr_assert_str_eq(get_backend(h), "other");
  backend_host_scope_end(h, &bad); /* harmless after a refused begin */
  cr_assert_str_eq(get_backend(h), "other");
  backend_host_scope_end(h, &inner);
  cr_assert_str_eq(get_backend(h), "exa");
  backend_host_scope_end(h, &outer);
  cr_assert_str_eq(get_backend(h), "cpu");
  /* NULL: cpu for the scope */
  backend_host_set_backend(h, "exa");
  cr_assert_eq(backend_host_scope_begin(h, NULL, &outer), 0);
  cr_assert_str_eq(get_backend(h), "cpu");
  backend_host_scope_end(h, &outer);
  cr_assert_str_eq(get_backend(h), "exa");
  backend_host_free(h);
}

/* ---------------------------------------------------------------- cpu calls */

Test(host, cpu_positional_and_defaults) {
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = NULL;

  calls = 0;
  cr_assert_eq(call(h, "compute_score", "[[1, 2]]", NULL, NULL, &r), 0);
  expect_cpu_ok(r);
  expect_value(r, "{\"batch_size\":null,\"copy\":false,\"data\":[1,2],\"method\":\"fast\",\"n\":3}");
  backend_result_free(r);
  cr_assert_eq(call(h, "compute_score", "[[1], 7]", NULL, NULL, &r), 0);
  expect_value(r, "{\"batch_size\":null,\"copy\":false,\"data\":[1],\"method\":\"fast\",\"n\":7}");
  backend_result_free(r);
  cr_assert_eq(calls, 2);
  backend_host_free(h);
}

Test(host, cpu_keywords) {
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = NULL;

  cr_assert_eq(call(h, "compute_score", NULL, "{\"data\": \"d\", \"method\": \"exact\", \"copy\": true}", "cpu", &r),
               0);
  expect_cpu_ok(r);
  expect_value(r, "{\"batch_size\":null,\"copy\":true,\"data\":\"d\",\"method\":\"exact\",\"n\":3}");
  backend_result_free(r);
  cr_assert_eq(call(h, "compute_score", "[0.5]", "{\"n\": 4}", NULL, &r), 0);
  expect_value(r, "{\"batch_size\":null,\"copy\":false,\"data\":0.5,\"method\":\"fast\",\"n\":4}");
  backend_result_free(r);
  backend_host_free(h);
}

Test(host, cpu_var_keyword_takes_extras) {
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = NULL;

  cr_assert_eq(call(h, "flex", "[1]", "{\"anything\": [true]}", NULL, &r), 0);
  /* extra keywords are the function's own; the **kw parameter itself is not a value */
  expect_value(r, "{\"anything\":[true],\"kw\":null,\"x\":1}");
  backend_result_free(r);
  backend_host_free(h);
}

Test(host, cpu_refuses_bad_arguments) {
  backend_host *h = new_host(NO_SOCKET);

  expect_call_error(h, "compute_score", "[1]", "{\"batch_size\": 4096}", "Backend.InvalidArguments",
                    "compute_score() got an unexpected keyword argument 'batch_size' (the cpu backend takes only "
                    "example_host's parameters)");
  expect_call_error(h, "compute_score", "[1, 2, 3]", NULL, "Backend.InvalidArguments",
                    "compute_score() takes 2 positional arguments but 3 were given");
  expect_call_error(h, "compute_score", NULL, NULL, "Backend.InvalidArguments",
                    "compute_score() missing required argument 'data'");
  expect_call_error(h, "compute_score", "[1]", "{\"data\": 2}", "Backend.InvalidArguments",
                    "compute_score() got multiple values for argument 'data'");
  expect_call_error(h, "compute_score", NULL, "{\"1\": 2}", "Backend.InvalidArguments",
                    "compute_score() got an unexpected keyword argument '1' (the cpu backend takes only "
                    "example_host's parameters)");
  expect_call_error(h, "no_such", "[1]", NULL, "Host.UnknownFunction", "host 'example_host' declares no function 'no_such'");
  backend_host_free(h);
}

Test(host, cpu_implementation_failures) {
  backend_host *h = new_host(NO_SOCKET);

  expect_call_error(h, "fails", "[1]", NULL, "Host.CallFailed", "boom: data must not be empty");
  expect_call_error(h, "fails_silently", "[1]", NULL, "Host.CallFailed", "fails_silently() failed (error -1)");
  expect_call_error(h, "packs_nothing", NULL, NULL, "Host.CallFailed",
                    "packs_nothing(): the host implementation packed no result");
  expect_call_error(h, "packs_two", NULL, NULL, "Host.CallFailed",
                    "packs_two(): the host implementation did not pack exactly one value");
  backend_host_free(h);
}

Test(host, arguments_must_be_packed_as_said) {
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = (backend_result *)&calls;
  msgpack_sbuffer sb;
  char two[] = {(char)0x91, 0x01, 0x01}; /* [1] and a trailing 1 */

  cr_assert_eq(call(h, "compute_score", "{\"data\": 1}", NULL, NULL, &r), BACKEND_EINVAL);
  cr_assert_null(r);
  cr_assert_eq(call(h, "compute_score", NULL, "[1]", NULL, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_host_call(h, "compute_score", two, sizeof two, NULL, 0, NULL, -1, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_host_call(h, "compute_score", two, 1, NULL, 0, NULL, -1, &r), BACKEND_EINVAL, "truncated");
  cr_assert_eq(backend_host_call(h, "compute_score", NULL, 3, NULL, 0, NULL, -1, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_host_call(h, NULL, NULL, 0, NULL, 0, NULL, -1, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_host_call(h, "compute_score", NULL, 0, NULL, 0, NULL, -1, NULL), BACKEND_EINVAL);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "not a name", &r), BACKEND_EINVAL);
  cr_assert_null(r);
  /* len 0 means none, whatever the pointer */
  pack_json(&sb, "[1]");
  cr_assert_eq(backend_host_call(h, "compute_score", sb.data, sb.size, sb.data, 0, NULL, -1, &r), 0);
  backend_result_free(r);
  msgpack_sbuffer_destroy(&sb);
  backend_result_free(NULL);
  backend_host_free(h);
  backend_host_free(NULL);
}

Test(host, result_outlives_host) {
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = NULL;

  cr_assert_eq(call(h, "compute_score", "[\"some text\"]", NULL, NULL, &r), 0);
  backend_host_free(h);
  expect_value(r, "{\"batch_size\":null,\"copy\":false,\"data\":\"some text\",\"method\":\"fast\",\"n\":3}");
  backend_result_free(r);
}

/* A listening socket nobody accepts on: connection attempts are queued on it, up to backlog. */
static int listen_at(const char *path, int backlog) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

  cr_assert_geq(fd, 0);
  strcpy(addr.sun_path, path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(fd, backlog), 0);
  return fd;
}

Test(host, cpu_never_connects) {
  char path[128];
  backend_host *h;
  backend_result *r = NULL;
  int fd;

  snprintf(path, sizeof path, "%s/d.sock", tmpdir);
  fd = listen_at(path, 8);
  h = new_host(path);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, NULL, &r), 0);
  backend_result_free(r);
  backend_host_set_backend(h, "exa");
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "cpu", &r), 0, "per call cpu wins");
  expect_cpu_ok(r);
  backend_result_free(r);
  backend_host_free(h);
  cr_assert_eq(accept(fd, NULL, NULL), -1);
  cr_assert_eq(errno, EAGAIN, "someone connected: %s", strerror(errno));
  close(fd);
  unlink(path);

  /* and with no daemon anywhere */
  setenv("BACKENDD_SOCKET", NO_SOCKET, 1);
  h = new_host(NULL);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, NULL, &r), 0);
  backend_result_free(r);
  backend_host_free(h);
}

Test(host, no_daemon) {
  char path[128];
  backend_host *h = new_host(NO_SOCKET);
  backend_result *r = (backend_result *)&calls;
  backend_reply *reply = (backend_reply *)&calls;
  int fd;

  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "exa", &r), -ENOENT);
  cr_assert_null(r);
  backend_host_set_backend(h, "exa");
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, NULL, &r), -ENOENT);
  cr_assert_eq(backend_host_list(h, 1000, &reply), -ENOENT);
  cr_assert_null(reply);
  cr_assert_eq(backend_host_describe(h, "compute_score", 1000, &reply), -ENOENT);
  backend_host_free(h);

  /* a socket file nobody listens on */
  snprintf(path, sizeof path, "%s/dead.sock", tmpdir);
  fd = listen_at(path, 8);
  close(fd);
  h = new_host(path);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "exa", &r), -ECONNREFUSED);
  backend_host_free(h);
  unlink(path);
}

/* ---------------------------------------------------------------- the declaration file */

static const char expected_file[] =
    "{\n"
    "  \"name\": \"example_host\",\n"
    "  \"group\": \"example_host.backends\",\n"
    "  \"functions\": [\n"
    "    {\n"
    "      \"name\": \"compute_score\",\n"
    "      \"params\": [\n"
    "        {\n"
    "          \"name\": \"data\",\n"
    "          \"kind\": \"positional\"\n"
    "        },\n"
    "        {\n"
    "          \"name\": \"method\",\n"
    "          \"kind\": \"keyword_only\",\n"
    "          \"default\": \"fast\"\n"
    "        },\n"
    "        {\n"
    "          \"name\": \"opts\",\n"
    "          \"kind\": \"keyword_only\",\n"
    "          \"default\": {\n"
    "            \"b\": [\n"
    "              1,\n"
    "              2.5,\n"
    "              null\n"
    "            ],\n"
    "            \"a\": false\n"
    "          }\n"
    "        },\n"
    "        {\n"
    "          \"name\": \"kw\",\n"
    "          \"kind\": \"var_keyword\"\n"
    "        }\n"
    "      ],\n"
    "      \"doc\": \"Compute a score.\\n\\nParameters\\n----------\\n...\"\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"summarize\",\n"
    "      \"params\": [],\n"
    "      \"doc\": \"\"\n"
    "    }\n"
    "  ],\n"
    "  \"trusted\": {\n"
    "    \"example_accel\": {\n"
    "      \"package\": \"backendd-example-accel\",\n"
    "      \"aliases\": [\n"
    "        \"exa\"\n"
    "      ],\n"
    "      \"module_prefixes\": [\n"
    "        \"example_accel\"\n"
    "      ]\n"
    "    },\n"
    "    \"plain\": {\n"
    "      \"package\": \"plain-dist\",\n"
    "      \"distributions\": [],\n"
    "      \"entrypoints\": [\n"
    "        \"plain\"\n"
    "      ],\n"
    "      \"object_refs\": [\n"
    "        \"plain._backends.host\"\n"
    "      ]\n"
    "    }\n"
    "  },\n"
    "  \"reserved\": {\n"
    "    \"gpu\": \"too generic\"\n"
    "  }\n"
    "}\n";

static const struct backend_param file_params[] = {
    {"data", POS, NULL},
    {"method", KW, "\"fast\""},
    {"opts", KW, "{\"b\": [1, 2.5, null], \"a\": false}"},
    {"kw", VARKW, NULL},
    {NULL, 0, NULL},
};
static const char *const no_names[] = {NULL};
static const char *const plain_eps[] = {"plain", NULL};
static const char *const plain_refs[] = {"plain._backends.host", NULL};
static const struct backend_host_function file_functions[] = {
    {"compute_score", file_params, "Compute a score.\n\nParameters\n----------\n...", score_impl},
    {"summarize", NULL, NULL, score_impl},
    {NULL, NULL, NULL, NULL},
};
static const struct backend_trusted file_trusted[] = {
    {.name = "example_accel", .aliases = exa_aliases, .package = "backendd-example-accel", .module_prefixes = exa_modules},
    {.name = "plain", .package = "plain-dist", .distributions = no_names, .entrypoints = plain_eps, .object_refs = plain_refs},
    {.name = NULL},
};
static const struct backend_host_decl file_decl = {
    .name = "example_host",
    .group = "example_host.backends",
    .functions = file_functions,
    .trusted = file_trusted,
    .reserved = reserved,
};

static char *write_declaration(const struct backend_host_decl *d) {
  backend_host *h = NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  cr_assert_eq(backend_host_new(d, NULL, &h, NULL, 0), 0);
  cr_assert_eq(backend_host_write_declaration(h, f), 0);
  fclose(f);
  backend_host_free(h);
  return text;
}

Test(host, write_declaration) {
  struct backend_host_function f[] = {{"f", x_param, NULL, score_impl}, {NULL, NULL, NULL, NULL}};
  struct backend_host_decl minimal = {.name = "h", .functions = f};
  char *text = write_declaration(&file_decl);

  cr_assert_str_eq(text, expected_file);
  free(text);
  /* optional parts left out */
  text = write_declaration(&minimal);
  cr_assert_str_eq(text, "{\n  \"name\": \"h\",\n  \"functions\": [\n    {\n      \"name\": \"f\",\n      \"params\": [\n"
                         "        {\n          \"name\": \"x\",\n          \"kind\": \"positional\"\n        }\n"
                         "      ],\n      \"doc\": \"\"\n    }\n  ]\n}\n");
  free(text);
}

Test(host, write_declaration_to_a_full_file) {
  backend_host *h = new_host(NULL);
  FILE *f = fopen("/dev/full", "w");

  if (!f)
    cr_skip_test("no /dev/full");
  cr_assert_eq(backend_host_write_declaration(h, f), -EIO);
  fclose(f);
  backend_host_free(h);
}

/* ---------------------------------------------------------------- through a (fake) daemon */

static void expect_log(struct host_fake *f, const char *expected) {
  char *log = host_fake_log(f);
  cr_assert_str_eq(log, expected);
  free(log);
}

Test(host, remote_call_declares_once_and_passes_arguments_through) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;
  char *file;
  json_t *a, *b;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  calls = 0;
  cr_assert_eq(call(h, "compute_score", "[[1, 2]]", "{\"batch_size\": 4096}", "exa", &r), 0);
  cr_assert_str_eq(r->backend, "example_accel");
  cr_assert_eq(r->trusted, 1);
  cr_assert_null(r->fallback);
  cr_assert_eq(r->n_warnings, 1);
  cr_assert_str_eq(r->warnings[0], "w1");
  cr_assert_eq(r->backend_ns, 1234);
  cr_assert_null(r->error_code);
  expect_value(r, "{\"args\":[[1,2]],\"kwargs\":{\"batch_size\":4096}}");
  backend_result_free(r);
  /* no args or kwargs: none sent */
  backend_host_set_backend(h, "exa");
  cr_assert_eq(call(h, "summarize", NULL, NULL, NULL, &r), 0);
  expect_value(r, "{\"args\":null,\"kwargs\":null}");
  backend_result_free(r);
  /* cpu stays local */
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "cpu", &r), 0);
  backend_result_free(r);
  cr_assert_eq(calls, 1);
  backend_host_free(h);
  expect_log(&fake, "1:declare 1:call:exa 1:call:exa ");

  /* what was declared is what the declaration file holds */
  file = write_declaration(&decl);
  a = json_loads(file, 0, NULL);
  b = json_loads(fake.declared, 0, NULL);
  cr_assert(json_equal(a, b), "declared %s\nfile %s", fake.declared, file);
  json_decref(a);
  json_decref(b);
  free(file);
  host_fake_stop(&fake);
}

Test(host, remote_fallback_runs_the_host_implementation) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  calls = 0;
  /* batch_size: a backend-only keyword the daemon accepted, not the host's business */
  cr_assert_eq(call(h, "compute_score", "[[1]]", "{\"method\": \"exact\", \"batch_size\": 8}", "fb", &r), 0);
  cr_assert_eq(calls, 1);
  cr_assert_str_eq(r->backend, "example_accel");
  cr_assert_eq(r->trusted, 0);
  cr_assert_str_eq(r->fallback, "backend 'example_accel' does not implement compute_score");
  cr_assert_eq(r->n_warnings, 1);
  cr_assert_str_eq(r->warnings[0], "dropped n_jobs=4");
  cr_assert_null(r->error_code);
  expect_value(r, "{\"batch_size\":null,\"copy\":false,\"data\":[1],\"method\":\"exact\",\"n\":3}");
  backend_result_free(r);
  /* the host implementation failing after a fallback */
  cr_assert_eq(call(h, "fails", "[1]", NULL, "fb", &r), BACKEND_ECALL);
  cr_assert_str_eq(r->error_code, "Host.CallFailed");
  cr_assert_str_eq(r->fallback, "backend 'example_accel' does not implement compute_score");
  cr_assert_str_eq(r->backend, "example_accel");
  backend_result_free(r);
  backend_host_free(h);
  host_fake_stop(&fake);
}

Test(host, remote_error_is_copied) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "nope", &r), BACKEND_ECALL);
  cr_assert_str_eq(r->error_code, "Backend.Unknown");
  cr_assert_str_eq(r->error_message, "example_host has no backend 'nope'; did you mean 'exa'?");
  cr_assert_str_eq(json_of(&r->error_data), "{\"name\":\"nope\",\"suggestion\":\"exa\"}");
  cr_assert_eq(r->value.type, MSGPACK_OBJECT_NIL);
  cr_assert_str_eq(r->backend, "nope");
  backend_host_free(h);
  /* the result owns its memory */
  cr_assert_str_eq(json_of(&r->error_data), "{\"name\":\"nope\",\"suggestion\":\"exa\"}");
  backend_result_free(r);
  host_fake_stop(&fake);
}

Test(host, reconnects_and_declares_again_after_a_broken_connection) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "bye", &r), BACKEND_ECLOSED);
  cr_assert_null(r);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "exa", &r), 0);
  backend_result_free(r);
  backend_host_free(h);
  expect_log(&fake, "1:declare 1:call:bye 2:declare 2:call:exa ");
  host_fake_stop(&fake);
}

Test(host, notices_a_connection_the_daemon_closed_between_calls) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  /* "last" answers, then the fake hangs up, as a daemon that restarts between two calls. */
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "last", &r), 0);
  backend_result_free(r);
  usleep(50 * 1000);
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "exa", &r), 0, "the call after a restart failed");
  backend_result_free(r);
  backend_host_free(h);
  expect_log(&fake, "1:declare 1:call:last 2:declare 2:call:exa ");
  host_fake_stop(&fake);
}

/* Declaring (300 ms) and calling (300 ms) share the call's 450 ms: the call times out. */
Test(host, one_timeout_covers_declaring_and_calling) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;
  msgpack_sbuffer a;
  int err;

  host_fake_start(&fake, tmpdir);
  pthread_mutex_lock(&fake.lock);
  fake.declare_delay_ms = 300;
  pthread_mutex_unlock(&fake.lock);
  h = new_host(fake.path);
  pack_json(&a, "[1]");
  err = backend_host_call(h, "compute_score", a.data, a.size, NULL, 0, "slow", 450, &r);
  cr_expect_eq(err, -ETIMEDOUT, "declare + call within one timeout: %d (%s)", err, strerror(-err));
  msgpack_sbuffer_destroy(&a);
  backend_result_free(r);
  backend_host_free(h);
  host_fake_stop(&fake);
}

struct slow_call {
  backend_host *h;
  int err;
};

static void *call_slow(void *arg) {
  struct slow_call *s = arg;
  backend_result *r = NULL;
  s->err = call(s->h, "compute_score", "[1]", NULL, "slow", &r);
  backend_result_free(r);
  return NULL;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A listener whose backlog of 0 one queued connection fills: as a hung or swamped daemon. */
static int listen_full(const char *path, int *queued) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = listen_at(path, 0);

  *queued = socket(AF_UNIX, SOCK_STREAM, 0);
  strcpy(addr.sun_path, path);
  cr_assert_eq(connect(*queued, (struct sockaddr *)&addr, sizeof addr), 0, "%s", strerror(errno));
  return fd;
}

/* Calls with a 300 ms timeout on a full backlog: -ETIMEDOUT, in about that time. */
static void expect_connect_timeout(const char *path) {
  backend_host *h = new_host(path);
  backend_result *r = NULL;
  msgpack_sbuffer a;
  uint64_t t0, took;
  int err;

  pack_json(&a, "[1]");
  t0 = now_ns();
  err = backend_host_call(h, "compute_score", a.data, a.size, NULL, 0, "slow", 300, &r);
  took = (now_ns() - t0) / 1000000;
  cr_expect_eq(err, -ETIMEDOUT, "connecting to a full backlog: %d (%s)", err, strerror(-err));
  cr_expect_geq(took, 250, "gave up after %llu ms of a 300 ms timeout", (unsigned long long)took);
  cr_expect_lt(took, 5000, "a 300 ms timeout took %llu ms", (unsigned long long)took);
  msgpack_sbuffer_destroy(&a);
  backend_result_free(r);
  backend_host_free(h);
}

/* A daemon whose backlog is full (hung, or swamped): connecting counts against the call's timeout too. */
Test(host, one_timeout_covers_connecting) {
  char path[128];
  int fd, queued;

  snprintf(path, sizeof path, "%s/full.sock", tmpdir);
  fd = listen_full(path, &queued);
  expect_connect_timeout(path);
  close(queued);
  close(fd);
  unlink(path);
}

static void on_alarm(int sig) { (void)sig; }

/* Signals interrupt the wait for room (EINTR, even with SA_RESTART): the timeout still holds. */
Test(host, the_connect_timeout_holds_through_signals) {
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  struct itimerval every_50ms = {{0, 50000}, {0, 50000}}, off = {{0, 0}, {0, 0}};
  char path[128];
  int fd, queued;

  snprintf(path, sizeof path, "%s/full.sock", tmpdir);
  fd = listen_full(path, &queued);
  cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
  cr_assert_eq(setitimer(ITIMER_REAL, &every_50ms, NULL), 0);
  expect_connect_timeout(path);
  setitimer(ITIMER_REAL, &off, NULL);
  close(queued);
  close(fd);
  unlink(path);
}

Test(host, cpu_calls_and_settings_do_not_wait_for_a_daemon_round_trip) {
  struct host_fake fake;
  struct slow_call s;
  pthread_t t;
  backend_result *r = NULL;
  char name[64];
  uint64_t t0, took;

  host_fake_start(&fake, tmpdir);
  s.h = new_host(fake.path);
  cr_assert_eq(call(s.h, "compute_score", "[1]", NULL, "exa", &r), 0); /* connected and declared */
  backend_result_free(r);
  cr_assert_eq(pthread_create(&t, NULL, call_slow, &s), 0);
  usleep(100 * 1000); /* the slow call is waiting for its 300 ms answer */
  t0 = now_ns();
  cr_assert_eq(call(s.h, "compute_score", "[1]", NULL, "cpu", &r), 0);
  backend_result_free(r);
  cr_assert_eq(backend_host_set_backend(s.h, "exa"), 0);
  cr_assert_eq(backend_host_get_backend(s.h, name, sizeof name), 0);
  took = now_ns() - t0;
  pthread_join(t, NULL);
  cr_assert_eq(s.err, 0);
  cr_expect_lt(took, 150u * 1000 * 1000, "a cpu call waited %llu ms for another thread's daemon call",
               (unsigned long long)(took / 1000000));
  backend_host_free(s.h);
  host_fake_stop(&fake);
}

Test(host, arguments_over_the_protocol_limits_are_refused_before_sending) {
  struct host_fake fake;
  backend_host *h;
  backend_result *r = NULL;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  /* [[[...]]] 31 deep: fine for the host's own code, deeper than a request may nest */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  for (int i = 0; i < 31; i++)
    msgpack_pack_array(&pk, i < 30 ? 1 : 0);
  cr_expect_eq(backend_host_call(h, "compute_score", sb.data, sb.size, NULL, 0, "exa", 5000, &r), BACKEND_EINVAL);
  cr_expect_null(r);
  msgpack_sbuffer_destroy(&sb);
  /* the handle stays usable, and nothing was sent */
  cr_assert_eq(call(h, "compute_score", "[1]", NULL, "exa", &r), 0);
  backend_result_free(r);
  backend_host_free(h);
  expect_log(&fake, "1:declare 1:call:exa ");
  host_fake_stop(&fake);
}

Test(host, list_and_describe) {
  struct host_fake fake;
  backend_host *h;
  backend_reply *reply = NULL;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  cr_assert_eq(backend_host_list(h, 5000, &reply), 0);
  cr_assert_str_eq(json_of(proto_map_get(&reply->result, "host")), "\"example_host\"");
  backend_reply_free(reply);
  cr_assert_eq(backend_host_describe(h, "compute_score", 5000, &reply), 0);
  backend_reply_free(reply);
  cr_assert_eq(backend_host_describe(h, NULL, 5000, &reply), BACKEND_EINVAL);
  backend_host_free(h);
  expect_log(&fake, "1:declare 1:list 1:describe ");
  host_fake_stop(&fake);
}

/* ---------------------------------------------------------------- feedback */

static int check_score(backend_host *h, const char *backend, void *user, char *why, size_t len) {
  backend_result *r = NULL;
  int err = call(h, "compute_score", "[1]", NULL, backend, &r);

  if (err == 0 && strcmp(r->backend, backend) != 0)
    snprintf(why, len, "ran on %s", r->backend), err = 1;
  backend_result_free(r);
  ++*(int *)user;
  return err;
}

static int check_off(backend_host *h, const char *backend, void *user, char *why, size_t len) {
  snprintf(why, len, "off by 1e-3 on %s", backend);
  return 1;
}

static int check_quiet(backend_host *h, const char *backend, void *user, char *why, size_t len) {
  return 7;
}

static const struct backend_feedback_check checks[] = {
    {"compute_score", check_score},
    {"normalize", check_off},
    {"summarize", check_score},
    {NULL, NULL},
};

static char *run_feedback(backend_host *h, const char *backend, struct backend_feedback_result *results, int *rc,
                          int *user) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  *rc = backend_host_feedback(h, backend, checks, user, results, f);
  fclose(f);
  return text;
}

Test(host, feedback_against_a_backend) {
  struct host_fake fake;
  struct backend_feedback_result results[3];
  backend_host *h;
  int rc, ran = 0;
  char *report;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  report = run_feedback(h, "exa", results, &rc, &ran); /* an alias: checks get the canonical name */
  cr_assert_eq(rc, 1);
  cr_assert_eq(ran, 1);
  cr_assert_str_eq(report, "compute_score: PASSED\n"
                           "normalize: FAILED: off by 1e-3 on example_accel\n"
                           "summarize: SKIPPED (not implemented)\n");
  cr_assert_eq(results[0].status, BACKEND_FEEDBACK_PASSED);
  cr_assert_str_eq(results[0].function, "compute_score");
  cr_assert_str_eq(results[0].reason, "");
  cr_assert_eq(results[1].status, BACKEND_FEEDBACK_FAILED);
  cr_assert_eq(results[2].status, BACKEND_FEEDBACK_SKIPPED);
  cr_assert_str_eq(results[2].reason, "not implemented");
  free(report);
  backend_host_free(h);
  host_fake_stop(&fake);
}

Test(host, feedback_cannot_resolve) {
  struct host_fake fake;
  struct backend_feedback_result results[3];
  backend_host *h;
  int rc, ran = 0;
  char *report;

  host_fake_start(&fake, tmpdir);
  h = new_host(fake.path);
  report = run_feedback(h, "x", results, &rc, &ran);
  cr_assert_eq(rc, BACKEND_ECALL);
  cr_assert_str_eq(results[0].reason, "example_host has no backend 'x'");
  cr_assert_eq(results[0].status, BACKEND_FEEDBACK_FAILED);
  cr_assert_str_eq(report, "example_host: cannot run the checks against 'x': example_host has no backend 'x'\n");
  free(report);
  report = run_feedback(h, "bad", results, &rc, &ran);
  cr_assert_eq(rc, BACKEND_ECALL);
  cr_assert_str_eq(results[0].reason, "example_host's backend 'bad' is refused: claims the reserved name 'gpu'");
  free(report);
  cr_assert_eq(ran, 0);
  backend_host_free(h);
  host_fake_stop(&fake);

  h = new_host(NO_SOCKET);
  cr_assert_eq(backend_host_feedback(h, "exa", checks, &ran, results, NULL), -ENOENT);
  cr_assert_str_eq(results[0].reason, "cannot list example_host's backends: No such file or directory");
  backend_host_free(h);
}

Test(host, feedback_against_cpu_needs_no_daemon) {
  static const struct backend_feedback_check quiet[] = {{"compute_score", check_quiet}, {NULL, NULL}};
  struct backend_feedback_result results[3];
  backend_host *h = new_host(NO_SOCKET);
  int rc, ran = 0;
  char *report = run_feedback(h, "cpu", results, &rc, &ran);

  cr_assert_eq(rc, 1);
  cr_assert_eq(ran, 2);
  cr_assert_str_eq(report, "compute_score: PASSED\nnormalize: FAILED: off by 1e-3 on cpu\nsummarize: PASSED\n");
  free(report);
  cr_assert_eq(backend_host_feedback(h, "cpu", quiet, NULL, results, NULL), 1);
  cr_assert_str_eq(results[0].reason, "the check returned 7");
  backend_host_free(h);
}
