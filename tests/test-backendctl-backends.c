/*
 * Integration: backendctl backends HOST and backendctl describe HOST FUNCTION against a real
 * backendd whose plugin path holds a host declaration file (fixture_host, doc/backends.md
 * "Declaration file") and fixture adapters registered under fixture_host.backends: human
 * output, --json, the daemon's errors (exit 1) and usage errors (exit 2). A stand-in daemon
 * answering canned results checks that the printers survive missing and mistyped fields.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "plugin-tree.h"

static char *tree;

static void teardown(void) {
  harness_cleanup();
  if (tree != NULL)
    plugin_tree_free(tree);
  free(tree);
  tree = NULL;
}

TestSuite(backendctl_backends, .fini = teardown, .timeout = 60);

/* ---- the plugin tree ---- */

#define HOST_DOC                                                                                   \
  "Compute a score.\n"                                                                             \
  "\n"                                                                                             \
  "Parameters\n"                                                                                   \
  "----------\n"                                                                                   \
  "data\n"                                                                                         \
  "    Input data.\n"                                                                              \
  "method\n"                                                                                       \
  "    Scoring method.\n"                                                                          \
  "\n"                                                                                             \
  "Returns\n"                                                                                      \
  "-------\n"                                                                                      \
  "float\n"                                                                                        \
  "    The score.\n"

/* JSON string literal of HOST_DOC. */
#define HOST_DOC_JSON                                                                              \
  "\"Compute a score.\\n\\nParameters\\n----------\\ndata\\n    Input data.\\nmethod\\n"            \
  "    Scoring method.\\n\\nReturns\\n-------\\nfloat\\n    The score.\\n\""

/*
 * fixture_host: compute_score(data, *, method='fast') and normalize(data); trusts
 * fixture_accel from good-adapter; reserves fxo (object_adapter's alias), so that adapter is
 * refused. fixture_lazy (lazy-adapter) is usable and untrusted; bad-alias fails to scan and
 * is listed as refused too.
 */
static const char host_json[] =
    "{\n"
    "  \"name\": \"fixture_host\",\n"
    "  \"functions\": [\n"
    "    {\"name\": \"compute_score\",\n"
    "     \"params\": [{\"name\": \"data\", \"kind\": \"positional\"},\n"
    "                {\"name\": \"method\", \"kind\": \"keyword_only\", \"default\": \"fast\"}],\n"
    "     \"doc\": " HOST_DOC_JSON "},\n"
    "    {\"name\": \"normalize\",\n"
    "     \"params\": [{\"name\": \"data\", \"kind\": \"positional\"}],\n"
    "     \"doc\": \"Normalize data.\\n\"}\n"
    "  ],\n"
    "  \"trusted\": {\"fixture_accel\": {\"package\": \"good-adapter\"}},\n"
    "  \"reserved\": {\"fxo\": \"fxo is kept for the object fixture\"}\n"
    "}\n";

/* A host none of whose backends is installed. */
static const char empty_host_json[] =
    "{\"name\": \"empty_host\", \"functions\": [{\"name\": \"f\", \"params\": [], \"doc\": \"F.\\n\"}]}\n";

/* Installs fixture `fixture` as module <dist>.mod, entry point <dist> in group fixture_host.backends. */
static void install(const char *dist, const char *attr, const char *fixture) {
  char module[128], ep_text[512], *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES)", fixture);
  snprintf(module, sizeof module, "%s.mod", dist);
  for (char *p = module; *p != '\0'; p++)
    if (*p == '-')
      *p = '_';
  snprintf(ep_text, sizeof ep_text, "[fixture_host.backends]\n%s = %s%s%s\n", dist, module, attr ? ":" : "",
           attr ? attr : "");
  cr_assert_eq(plugin_tree_add(tree, dist, "1.0", ep_text, module, so), 0);
  free(so);
}

/* A host distribution: METADATA and backend-host.json in its .dist-info, no entry points. */
static void install_host(const char *dist, const char *declaration) {
  char rel[256];
  cr_assert_eq(plugin_tree_add_dist(tree, dist, "1.0", NULL), 0);
  snprintf(rel, sizeof rel, "%s-1.0.dist-info/backend-host.json", dist);
  cr_assert_eq(plugin_tree_write(tree, rel, declaration), 0);
}

static struct hdaemon *start_with_hosts(void) {
  char *impl = plugin_tree_fixture("lazy_impl");
  cr_assert_not_null(impl, "fixture lazy_impl is not built (BACKENDD_FIXTURES)");
  tree = plugin_tree_new("ctl-backends");
  cr_assert_not_null(tree);
  install_host("fixture_host", host_json);
  install_host("empty_host", empty_host_json);
  install("good-adapter", NULL, "good_adapter");
  install("lazy-adapter", NULL, "lazy_adapter");
  cr_assert_eq(plugin_tree_add_module(tree, "lazy_adapter.lazy_impl", impl), 0);
  install("object-adapter", "Backend", "object_adapter");
  install("bad-alias", NULL, "bad_alias");
  free(impl);
  return harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, "--plugin-timeout", "4",
                       (const char *)NULL);
}

/* ---- helpers ---- */

static json_t *parse_json(const struct hrun *r) {
  json_error_t error;
  json_t *j = json_loads(r->out, JSON_DECODE_ANY, &error);
  cr_assert_not_null(j, "--json output is not JSON (%s at line %d):\n%s", error.text, error.line, r->out);
  return j;
}

/* The line of out that starts with prefix (malloc'd, without its newline), or NULL. */
static char *line_starting(const char *out, const char *prefix) {
  size_t plen = strlen(prefix);
  for (const char *line = out; *line != '\0';) {
    const char *end = strchrnul(line, '\n');
    if ((size_t)(end - line) >= plen && strncmp(line, prefix, plen) == 0)
      return strndup(line, (size_t)(end - line));
    line = *end != '\0' ? end + 1 : end;
  }
  return NULL;
}

static bool has_line(const char *out, const char *want) {
  char *line = line_starting(out, want);
  bool ok = line != NULL && strcmp(line, want) == 0;
  free(line);
  return ok;
}

/* stderr is one line, naming the program and containing needle. */
static void assert_one_line_reason(const struct hrun *r, const char *needle) {
  size_t len = strlen(r->err);
  cr_assert(len > 0 && r->err[len - 1] == '\n' && strchr(r->err, '\n') == r->err + len - 1,
            "expected a one-line reason on stderr, got:\n%s", r->err);
  cr_assert(strncmp(r->err, "backendctl: ", 12) == 0, "the reason should name the program: %s", r->err);
  cr_assert(strstr(r->err, needle) != NULL, "the reason should say %s: %s", needle, r->err);
}

static const char *jstr(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s != NULL ? s : "(not a string)";
}

/* Is the JSON array of strings exactly want (NULL-terminated)? */
static bool str_array_is(json_t *a, const char *const *want) {
  size_t n = 0;
  if (!json_is_array(a))
    return false;
  for (; want[n] != NULL; n++)
    if (n >= json_array_size(a) || !json_is_string(json_array_get(a, n)) ||
        strcmp(json_string_value(json_array_get(a, n)), want[n]) != 0)
      return false;
  return n == json_array_size(a);
}

static json_t *find_named(json_t *list, const char *key, const char *name) {
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    if (json_is_string(json_object_get(e, key)) && strcmp(json_string_value(json_object_get(e, key)), name) == 0)
      return e;
  }
  return NULL;
}

/* A provider field names backend: a string mentioning it, or an array holding it. */
static bool provider_names(json_t *provider, const char *backend) {
  size_t i;
  json_t *e;
  if (json_is_string(provider))
    return strstr(json_string_value(provider), backend) != NULL;
  json_array_foreach(provider, i, e) {
    if (json_is_string(e) && strcmp(json_string_value(e), backend) == 0)
      return true;
  }
  return false;
}

/* ---- against the real daemon ---- */

Test(backendctl_backends, backends_human) {
  struct hdaemon *d = start_with_hosts();
  struct hrun r;
  char *header, *line;

  harness_ctl(&r, d->socket, "backends", "fixture_host", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl backends: status %d: %s", r.status, r.err);
  cr_assert_str_eq(r.err, "");
  /* The header names the host, its group and the declaration file. */
  cr_assert(strncmp(r.out, "fixture_host (group fixture_host.backends, declared by ", 55) == 0,
            "header:\n%s", r.out);
  header = strndup(r.out, strcspn(r.out, "\n"));
  cr_assert(strstr(header, "fixture_host-1.0.dist-info/backend-host.json)") != NULL, "header: %s", header);
  free(header);
  /* Usable ones by name, names padded to the longest (fixture_object, 14). */
  cr_assert(has_line(r.out, "  fixture_accel   trusted    aliases fxa, fixture-fast  good-adapter 1.0  "
                            "functions compute_score, normalize"),
            "backends:\n%s", r.out);
  cr_assert(has_line(r.out, "  fixture_lazy    untrusted  aliases fxl  lazy-adapter 1.0  "
                            "functions compute_score, normalize"),
            "backends:\n%s", r.out);
  cr_assert(strstr(r.out, "\nrefused:\n") != NULL, "backends:\n%s", r.out);
  /* Refused: the reserved alias, with the host's reason... */
  line = line_starting(r.out, "  fixture_object  object-adapter 1.0: ");
  cr_assert_not_null(line, "no refused line for fixture_object:\n%s", r.out);
  cr_assert(strstr(line, "fxo is kept for the object fixture") != NULL, "%s", line);
  free(line);
  /* ...and a plugin that failed to scan: no backend name, so its entry point's. */
  line = line_starting(r.out, "  bad-alias       bad-alias 1.0: ");
  cr_assert_not_null(line, "no refused line for bad-alias:\n%s", r.out);
  free(line);
  /* Usable before refused. */
  cr_assert(strstr(r.out, "fixture_lazy") < strstr(r.out, "refused:"), "%s", r.out);
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "backends", "empty_host", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl backends empty_host: status %d: %s", r.status, r.err);
  cr_assert(strncmp(r.out, "empty_host (group empty_host.backends, declared by ", 51) == 0, "%s", r.out);
  cr_assert(strcmp(strchr(r.out, '\n'), "\nno backends installed\n") == 0, "empty host:\n%s", r.out);
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl_backends, backends_json) {
  struct hdaemon *d = start_with_hosts();
  struct hrun r;
  json_t *j, *usable, *refused, *b;

  harness_ctl(&r, d->socket, "--json", "backends", "fixture_host", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl --json backends: status %d: %s", r.status, r.err);
  j = parse_json(&r);
  cr_assert_str_eq(jstr(j, "host"), "fixture_host");
  cr_assert_str_eq(jstr(j, "group"), "fixture_host.backends");
  cr_assert(strstr(jstr(j, "source"), "backend-host.json") != NULL, "source: %s", jstr(j, "source"));
  usable = json_object_get(j, "backends");
  refused = json_object_get(j, "refused");
  cr_assert(json_is_array(usable) && json_array_size(usable) == 2, "backends:\n%s", r.out);
  cr_assert(json_is_array(refused) && json_array_size(refused) == 2, "refused:\n%s", r.out);

  b = json_array_get(usable, 0);
  cr_assert_str_eq(jstr(b, "name"), "fixture_accel");
  cr_assert(json_is_true(json_object_get(b, "trusted")));
  cr_assert(str_array_is(json_object_get(b, "aliases"), (const char *const[]){"fxa", "fixture-fast", NULL}));
  cr_assert_str_eq(jstr(b, "distribution"), "good-adapter");
  cr_assert_str_eq(jstr(b, "version"), "1.0");
  cr_assert_str_eq(jstr(b, "entry_point"), "good-adapter");
  cr_assert_str_eq(jstr(b, "value"), "good_adapter.mod");
  cr_assert(str_array_is(json_object_get(b, "functions"), (const char *const[]){"compute_score", "normalize", NULL}));
  cr_assert(json_is_true(json_object_get(b, "thread_safe")));
  cr_assert(json_is_false(json_object_get(b, "loaded")), "listing must load no backend code");
  cr_assert_str_eq(jstr(b, "state"), "ok");
  cr_assert(json_is_null(json_object_get(b, "reason")));

  b = json_array_get(usable, 1);
  cr_assert_str_eq(jstr(b, "name"), "fixture_lazy");
  cr_assert(json_is_false(json_object_get(b, "trusted")));
  cr_assert(str_array_is(json_object_get(b, "aliases"), (const char *const[]){"fxl", NULL}));
  cr_assert_str_eq(jstr(b, "distribution"), "lazy-adapter");

  b = find_named(refused, "name", "fixture_object");
  cr_assert_not_null(b, "fixture_object is not refused:\n%s", r.out);
  cr_assert_str_eq(jstr(b, "state"), "refused");
  cr_assert(strstr(jstr(b, "reason"), "fxo is kept for the object fixture") != NULL, "reason: %s", jstr(b, "reason"));
  b = find_named(refused, "entry_point", "bad-alias");
  cr_assert_not_null(b, "bad-alias is not listed as refused:\n%s", r.out);
  cr_assert(json_is_string(json_object_get(b, "reason")));
  json_decref(j);
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl_backends, describe) {
  struct hdaemon *d = start_with_hosts();
  struct hrun r;
  json_t *j, *params, *p;
  char *want;

  harness_ctl(&r, d->socket, "--json", "describe", "fixture_host", "compute_score", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl --json describe: status %d: %s", r.status, r.err);
  j = parse_json(&r);
  harness_run_free(&r);
  cr_assert_str_eq(jstr(j, "host"), "fixture_host");
  cr_assert_str_eq(jstr(j, "function"), "compute_score");
  /* The backends' batch_size is merged in as keyword-only, and documented as theirs. */
  cr_assert(strncmp(jstr(j, "signature"), "compute_score(data, *, method='fast'", 36) == 0, "signature: %s",
            jstr(j, "signature"));
  cr_assert(strstr(jstr(j, "signature"), "batch_size=None") != NULL, "signature: %s", jstr(j, "signature"));
  cr_assert(strncmp(jstr(j, "doc"), "Compute a score.\n", 17) == 0, "doc:\n%s", jstr(j, "doc"));
  cr_assert(strstr(jstr(j, "doc"), "Other Parameters") != NULL, "doc:\n%s", jstr(j, "doc"));
  cr_assert(strstr(jstr(j, "doc"), "\nbatch_size (fixture_accel, fixture_lazy)\n") != NULL, "doc:\n%s",
            jstr(j, "doc"));
  params = json_object_get(j, "parameters");
  cr_assert(json_is_array(params), "parameters: %s", jstr(j, "parameters"));
  p = find_named(params, "name", "data");
  cr_assert_not_null(p, "no parameter data");
  cr_assert_str_eq(jstr(p, "kind"), "positional");
  cr_assert(json_is_null(json_object_get(p, "default")), "data is required: no default");
  cr_assert(provider_names(json_object_get(p, "provider"), "host"));
  p = find_named(params, "name", "method");
  cr_assert_not_null(p, "no parameter method");
  cr_assert_str_eq(jstr(p, "kind"), "keyword_only");
  cr_assert_str_eq(jstr(p, "default"), "'fast'"); /* as the signature shows it */
  p = find_named(params, "name", "batch_size");
  cr_assert_not_null(p, "no parameter batch_size");
  cr_assert(provider_names(json_object_get(p, "provider"), "fixture_accel"), "batch_size's provider");

  /* Human: the signature line, a blank line, the doc exactly as the daemon sent it. */
  cr_assert_geq(asprintf(&want, "%s\n\n%s", jstr(j, "signature"), jstr(j, "doc")), 0);
  harness_ctl(&r, d->socket, "describe", "fixture_host", "compute_score", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl describe: status %d: %s", r.status, r.err);
  cr_assert_str_eq(r.out, want);
  cr_assert_str_eq(r.err, "");
  harness_run_free(&r);
  free(want);
  json_decref(j);

  /* A function no backend adds to: the host's own doc, untouched. */
  harness_ctl(&r, d->socket, "describe", "empty_host", "f", (const char *)NULL);
  cr_assert_eq(r.status, 0, "backendctl describe empty_host f: status %d: %s", r.status, r.err);
  cr_assert_str_eq(r.out, "f()\n\nF.\n");
  harness_run_free(&r);
  harness_finish(d);
}

Test(backendctl_backends, daemon_errors) {
  struct hdaemon *d = start_with_hosts();
  struct hrun r;

  harness_ctl(&r, d->socket, "backends", "no_such_host", (const char *)NULL);
  cr_assert_eq(r.status, 1, "unknown host: status %d, expected 1: %s", r.status, r.err);
  assert_one_line_reason(&r, "Host.Unknown");
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "--json", "backends", "no_such_host", (const char *)NULL);
  cr_assert_eq(r.status, 1);
  assert_one_line_reason(&r, "Host.Unknown");
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "describe", "no_such_host", "compute_score", (const char *)NULL);
  cr_assert_eq(r.status, 1, "unknown host: status %d, expected 1: %s", r.status, r.err);
  assert_one_line_reason(&r, "Host.Unknown");
  harness_run_free(&r);

  harness_ctl(&r, d->socket, "describe", "fixture_host", "no_such_function", (const char *)NULL);
  cr_assert_eq(r.status, 1, "unknown function: status %d, expected 1: %s", r.status, r.err);
  assert_one_line_reason(&r, "Host.UnknownFunction");
  cr_assert_str_eq(r.out, "");
  harness_run_free(&r);
  harness_finish(d);
}

/* ---- without a daemon ---- */

Test(backendctl_backends, usage_errors) {
  static const char *const cases[][4] = {
    {"backends", NULL, NULL, NULL},                         /* HOST missing */
    {"backends", "a", "b", NULL},                           /* one too many */
    {"describe", NULL, NULL, NULL},
    {"describe", "fixture_host", NULL, NULL},               /* FUNCTION missing */
    {"describe", "fixture_host", "compute_score", "extra"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct hrun r;
    harness_ctl(&r, "/nonexistent/backendd.sock", cases[i][0], cases[i][1], cases[i][2], cases[i][3],
                (const char *)NULL);
    cr_assert_eq(r.status, 2, "case %zu (%s %s %s): status %d, expected 2: %s", i, cases[i][0], cases[i][1],
                 cases[i][2], r.status, r.err);
    cr_assert(strncmp(r.err, "backendctl: ", 12) == 0, "case %zu: %s", i, r.err);
    cr_assert(strstr(r.err, cases[i][0]) != NULL, "case %zu: the usage should name the command: %s", i, r.err);
    cr_assert_str_eq(r.out, "");
    harness_run_free(&r);
  }
}

Test(backendctl_backends, help) {
  struct hrun r;
  harness_ctl(&r, NULL, "--help", (const char *)NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "  backends HOST ") != NULL, "--help does not list backends:\n%s", r.out);
  cr_assert(strstr(r.out, "  describe HOST FUNCTION ") != NULL, "--help does not list describe:\n%s", r.out);
  harness_run_free(&r);
}

/* ---- a stand-in daemon answering one canned result (JSON text, sent as MessagePack) ---- */

struct stand_in {
  int listener;
  const char *result_json;
  char *method; /* the method it was asked for */
  char *params; /* and the params, as compact JSON */
  pthread_t thread;
};

static void answer(int fd, const msgpack_object *request, const char *result_json) {
  json_error_t error;
  json_t *result = json_loads(result_json, JSON_DECODE_ANY, &error);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_object(&pk, request->via.array.ptr[1]);
  msgpack_pack_nil(&pk);
  if (result == NULL || proto_msgpack_from_json(result, &pk) < 0)
    msgpack_pack_nil(&pk);
  (void)send(fd, sb.data, sb.size, MSG_NOSIGNAL);
  msgpack_sbuffer_destroy(&sb);
  json_decref(result);
}

static void *stand_in_main(void *arg) {
  struct stand_in *s = arg;
  msgpack_unpacker in;
  msgpack_unpacked msg;
  int fd = accept(s->listener, NULL, NULL);
  if (fd < 0)
    return NULL;
  msgpack_unpacker_init(&in, 4096);
  msgpack_unpacked_init(&msg);
  for (;;) {
    ssize_t n;
    msgpack_unpacker_reserve_buffer(&in, 4096);
    n = read(fd, msgpack_unpacker_buffer(&in), msgpack_unpacker_buffer_capacity(&in));
    if (n <= 0)
      break;
    msgpack_unpacker_buffer_consumed(&in, (size_t)n);
    while (msgpack_unpacker_next(&in, &msg) == MSGPACK_UNPACK_SUCCESS) {
      const msgpack_object *req = &msg.data;
      json_t *params;
      if (req->type != MSGPACK_OBJECT_ARRAY || req->via.array.size != 4 ||
          req->via.array.ptr[2].type != MSGPACK_OBJECT_STR)
        continue;
      free(s->method);
      free(s->params);
      s->method = strndup(req->via.array.ptr[2].via.str.ptr, req->via.array.ptr[2].via.str.size);
      params = proto_json_from_msgpack(&req->via.array.ptr[3]);
      s->params = params != NULL ? json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
      json_decref(params);
      answer(fd, req, s->result_json);
    }
  }
  msgpack_unpacked_destroy(&msg);
  msgpack_unpacker_destroy(&in);
  close(fd);
  return NULL;
}

static char *stand_in_start(struct stand_in *s, const char *result_json) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  char *path;
  memset(s, 0, sizeof *s);
  cr_assert_geq(asprintf(&path, "%s/stand-in.sock", harness_tmpdir()), 0);
  strcpy(addr.sun_path, path);
  s->result_json = result_json;
  s->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq(bind(s->listener, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(s->listener, 4), 0);
  cr_assert_eq(pthread_create(&s->thread, NULL, stand_in_main, s), 0);
  return path;
}

static void stand_in_stop(struct stand_in *s) {
  pthread_join(s->thread, NULL); /* ends when backendctl hangs up */
  close(s->listener);
}

/* Runs backendctl ARGS against a stand-in answering result_json; asserts the request and status 0. */
static void ctl_canned(struct hrun *r, const char *result_json, const char *method, const char *params,
                       const char *arg1, const char *arg2, const char *arg3) {
  struct stand_in s;
  char *path = stand_in_start(&s, result_json);
  harness_ctl(r, path, arg1, arg2, arg3, (const char *)NULL);
  stand_in_stop(&s);
  cr_assert_eq(r->status, 0, "%s %s: status %d: %s", arg1, arg2, r->status, r->err);
  cr_assert_str_eq(r->err, "");
  cr_assert_str_eq(s.method ? s.method : "(none)", method);
  cr_assert_str_eq(s.params ? s.params : "(none)", params);
  free(s.method);
  free(s.params);
  free(path);
}

Test(backendctl_backends, printers_show_what_they_are_given) {
  struct hrun r;
  const char *list = "{\"host\": \"h\", \"group\": \"h.backends\", \"source\": \"client pid 7\","
                     " \"backends\": [{\"name\": \"b\", \"aliases\": [], \"trusted\": false, \"distribution\": \"d\","
                     " \"version\": \"2\", \"functions\": []}], \"refused\": []}";
  ctl_canned(&r, list, "backend.list", "[{\"host\":\"h\"}]", "backends", "h", NULL);
  cr_assert_str_eq(r.out, "h (group h.backends, declared by client pid 7)\n"
                          "  b  untrusted  d 2  no functions\n");
  harness_run_free(&r);

  ctl_canned(&r, "{\"host\": \"h\", \"group\": \"g\", \"source\": \"s\", \"backends\": [], \"refused\": []}",
             "backend.list", "[{\"host\":\"h\"}]", "backends", "h", NULL);
  cr_assert_str_eq(r.out, "h (group g, declared by s)\nno backends installed\n");
  harness_run_free(&r);

  /* The doc is printed exactly, even without a final newline. */
  ctl_canned(&r, "{\"signature\": \"f(x)\", \"doc\": \"  Indented.\\n\\n\\tTabbed, no newline at the end\"}",
             "backend.describe", "[{\"host\":\"h\",\"function\":\"f\"}]", "describe", "h", "f");
  cr_assert_str_eq(r.out, "f(x)\n\n  Indented.\n\n\tTabbed, no newline at the end");
  harness_run_free(&r);
}

Test(backendctl_backends, printers_survive_mistyped_fields) {
  struct hrun r;
  /* Every field missing or of the wrong type; one-line fields cannot break their line. */
  const char *list = "{\"host\": 5, \"group\": null, \"backends\": [{\"name\": \"x\\ny\", \"trusted\": \"yes\","
                     " \"aliases\": \"fxa\", \"distribution\": [], \"functions\": [1, \"f\"]}, 7],"
                     " \"refused\": [{\"entry_point\": \"ep\", \"name\": null, \"reason\": 3}, \"junk\"]}";
  ctl_canned(&r, list, "backend.list", "[{\"host\":\"h\"}]", "backends", "h", NULL);
  cr_assert_str_eq(r.out, "? (group ?, declared by ?)\n"
                          "  x?y  ?          aliases ?  ? ?  functions ?, f\n"
                          "  ?    ?          aliases ?  ? ?  functions ?\n"
                          "refused:\n"
                          "  ep   ? ?: ?\n"
                          "  ?    ? ?: ?\n");
  harness_run_free(&r);

  ctl_canned(&r, "[1, 2]", "backend.list", "[{\"host\":\"h\"}]", "backends", "h", NULL);
  cr_assert_str_eq(r.out, "? (group ?, declared by ?)\nno backends installed\n");
  harness_run_free(&r);

  ctl_canned(&r, "{\"refused\": {\"a\": 1}, \"backends\": \"no\"}", "backend.list", "[{\"host\":\"h\"}]", "backends",
             "h", NULL);
  cr_assert_str_eq(r.out, "? (group ?, declared by ?)\nno backends installed\n");
  harness_run_free(&r);

  ctl_canned(&r, "{\"signature\": 1, \"doc\": {\"a\": 1}}", "backend.describe", "[{\"host\":\"h\",\"function\":\"f\"}]",
             "describe", "h", "f");
  cr_assert_str_eq(r.out, "?\n\n?\n");
  harness_run_free(&r);

  ctl_canned(&r, "null", "backend.describe", "[{\"host\":\"h\",\"function\":\"f\"}]", "describe", "h", "f");
  cr_assert_str_eq(r.out, "?\n\n?\n");
  harness_run_free(&r);
}
