/*
 * A backend adapter's code as the daemon loads it (daemon/plugin_code.c, daemon/plugins.c):
 * its lazy libraries are part of it for reloads, what was checked is what is loaded, a
 * descriptor glibc still knows a library by is never reused for another file, and refused
 * adapters are logged once (daemon/hosts.c). Against a real daemon (backendd-test, for
 * test.plugin_hold) with fixture trees (plugin-tree.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "plugin-tree.h"

static char *tree;

static void teardown(void) {
  harness_cleanup();
  if (tree != NULL)
    plugin_tree_free(tree);
  free(tree);
  tree = NULL;
}

TestSuite(adapter_code, .fini = teardown, .timeout = 120);

/* Installs fixture as module `module` of distribution dist: entry point ep = module in group. */
static void install(const char *dist, const char *group, const char *ep, const char *module, const char *fixture) {
  char text[512], *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES)", fixture);
  snprintf(text, sizeof text, "[%s]\n%s = %s\n", group, ep, module);
  cr_assert_eq(plugin_tree_add(tree, dist, "1.0", text, module, so), 0);
  free(so);
}

/* Copies fixture to <tree>/<rel> (a new inode, as an upgrade does). */
static void replace(const char *rel, const char *fixture) {
  char *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES)", fixture);
  cr_assert_eq(plugin_tree_replace(tree, rel, so), 0);
  free(so);
}

/* A declaration file for host `name` (group <name>.backends) with compute_score, reserving fxe. */
static void declare_host(const char *name) {
  char dist[128], path[256], json[1024];
  snprintf(dist, sizeof dist, "%s-decl", name);
  snprintf(path, sizeof path, "%s-1.0.dist-info/backend-host.json", dist);
  snprintf(json, sizeof json,
           "{\"name\": \"%s\",\n"
           " \"functions\": [{\"name\": \"compute_score\", \"params\": [{\"name\": \"data\", \"kind\": \"positional\"},\n"
           "   {\"name\": \"method\", \"kind\": \"keyword_only\", \"default\": \"fast\"}], \"doc\": \"Score.\\n\"}],\n"
           " \"reserved\": {\"fxe\": \"fxe is kept for something else\"}}\n",
           name);
  cr_assert_eq(plugin_tree_add_dist(tree, dist, "1.0", NULL), 0);
  cr_assert_eq(plugin_tree_write(tree, path, json), 0);
}

static struct hdaemon *start_daemon(const char *level) {
  return harness_start(harness_bin("BACKENDD_TEST_BIN"), "--plugin-path", tree, "--plugin-timeout", "10",
                       "--log-level", level, (const char *)NULL);
}

/* backend.call {host, function: compute_score, backend, args: [[1]]}; the reply (free it). */
static backend_reply *call(backend_client *c, const char *host, const char *backend) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r = NULL;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  harness_pack_cstr(&pk, "host");
  harness_pack_cstr(&pk, host);
  harness_pack_cstr(&pk, "function");
  harness_pack_cstr(&pk, "compute_score");
  harness_pack_cstr(&pk, "backend");
  harness_pack_cstr(&pk, backend);
  harness_pack_cstr(&pk, "args");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_uint32(&pk, 1);
  err = backend_client_call(c, "backend.call", sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert(err == 0 || err == BACKEND_EREMOTE, "backend.call: %s", backend_strerror(err));
  return r;
}

/* A call that must succeed and answer `says`. */
static void expect_call(backend_client *c, const char *host, const char *backend, const char *says) {
  backend_reply *r = call(c, host, backend);
  cr_assert_eq(r->status, 0, "%s on %s failed: %s: %s", backend, host, r->error_code, r->error_message);
  cr_expect(harness_str_eq(harness_get(&r->result, "result"), says), "%s on %s did not answer %s", backend, host, says);
  backend_reply_free(r);
}

/* A call that must fail with Backend.LoadFailed, saying `why`. */
static void expect_load_failed(backend_client *c, const char *host, const char *backend, const char *why) {
  backend_reply *r = call(c, host, backend);
  cr_assert_eq(r->status, BACKEND_EREMOTE, "%s on %s did not fail", backend, host);
  cr_expect_str_eq(r->error_code, "Backend.LoadFailed");
  cr_expect(strstr(r->error_message, why) != NULL, "'%s' does not say '%s'", r->error_message, why);
  backend_reply_free(r);
}

/* daemon.reload; how many entries its `kind` list has ("added", "changed", ...). */
static uint32_t reload_count(backend_client *c, const char *kind) {
  backend_reply *r;
  const msgpack_object *a;
  uint32_t n;
  cr_assert_eq(backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &r), 0);
  a = harness_get(&r->result, kind);
  cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "daemon.reload has no %s list", kind);
  n = a->via.array.size;
  backend_reply_free(r);
  return n;
}

/* The lazy adapter (fxl) for fixture_host, with its implementation library next to it. */
static void lazy_tree(const char *tag, bool with_impl) {
  cr_assert_not_null(tree = plugin_tree_new(tag));
  declare_host("fixture_host");
  install("lazy-adapter", "fixture_host.backends", "fixture_lazy", "lazy_adapter.mod", "lazy_adapter");
  if (with_impl)
    replace("lazy_adapter/lazy_impl.so", "lazy_impl");
}

Test(adapter_code, a_replaced_lazy_library_makes_its_adapter_changed_on_reload) {
  struct hdaemon *d;
  backend_client *c;
  lazy_tree("lazy-reload", true);
  d = start_daemon("info");
  c = harness_client(d);
  expect_call(c, "fixture_host", "fxl", "lazy_impl.compute_score");

  /* Only the library changes: the reload reports the adapter changed, and new calls run the new library. */
  replace("lazy_adapter/lazy_impl.so", "lazy_impl_v2");
  cr_expect_eq(reload_count(c, "changed"), 1, "replacing a lazy library is not a change");
  cr_expect(harness_log_wait(d, "reload: changed: lazy-adapter 1.0", HARNESS_TIMEOUT_MS));
  expect_call(c, "fixture_host", "fxl", "lazy_impl_v2.compute_score");

  /* Nothing changed: nothing reported, nothing reloaded. */
  cr_expect_eq(reload_count(c, "changed"), 0, "an unchanged lazy library was reported changed");
  expect_call(c, "fixture_host", "fxl", "lazy_impl_v2.compute_score");
  harness_client_close(c);
  harness_finish(d);
}

Test(adapter_code, a_lazy_library_is_loaded_only_as_it_was_found) {
  struct hdaemon *d;
  backend_client *c;
  lazy_tree("lazy-found", false);
  d = start_daemon("info");
  c = harness_client(d);
  /* Missing when the plugins were read: missing it stays until a reload, even once installed. */
  expect_load_failed(c, "fixture_host", "fxl", "lazy_impl.so");
  replace("lazy_adapter/lazy_impl.so", "lazy_impl");
  expect_load_failed(c, "fixture_host", "fxl", "changed since the plugins were read; reload");
  cr_expect_eq(reload_count(c, "changed"), 1);
  /* Replaced between the reload and the first call: refused, not loaded unchecked. */
  replace("lazy_adapter/lazy_impl.so", "lazy_impl_v2");
  expect_load_failed(c, "fixture_host", "fxl", "changed since the plugins were read; reload");
  cr_expect_eq(reload_count(c, "changed"), 1);
  expect_call(c, "fixture_host", "fxl", "lazy_impl_v2.compute_score");
  harness_client_close(c);
  harness_finish(d);
}

/* test.plugin_hold {group, name, ms: 0}: loads the plugin's code; asserts it loaded and says `says`. */
static void expect_hold(backend_client *c, const char *group, const char *name, const char *says) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r = NULL;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  harness_pack_cstr(&pk, "group");
  harness_pack_cstr(&pk, group);
  harness_pack_cstr(&pk, "name");
  harness_pack_cstr(&pk, name);
  harness_pack_cstr(&pk, "ms");
  msgpack_pack_uint32(&pk, 0);
  err = backend_client_call(c, "test.plugin_hold", sb.data, sb.size, HARNESS_TIMEOUT_MS, &r);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(err, 0, "%s: %s: %s", group, name, err == BACKEND_EREMOTE ? r->error_message : backend_strerror(err));
  cr_expect(harness_str_eq(harness_get(&r->result, "says"), says), "%s: %s: its code does not say %s", group, name, says);
  backend_reply_free(r);
}

/*
 * Two adapters in one directory share a lazy library: glibc finds it again through the second
 * descriptor's name and keeps that name after the second adapter goes. Loads after that must
 * never get that descriptor's number (its name would give them the library, not their file).
 */
Test(adapter_code, a_shared_lazy_library_keeps_its_descriptor_while_loaded) {
  struct hdaemon *d;
  backend_client *c;
  char group[64], ep[64], module[64], dist[64];
  enum { N_MORE = 8 };
  cr_assert_not_null(tree = plugin_tree_new("lazy-shared"));
  declare_host("fixture_host");
  declare_host("other_host");
  install("lazy-one", "fixture_host.backends", "fixture_lazy", "shared.one", "lazy_adapter");
  install("lazy-two", "other_host.backends", "fixture_lazy", "shared.two", "lazy_adapter");
  replace("shared/lazy_impl.so", "lazy_impl");
  for (int i = 0; i < N_MORE; i++) {
    snprintf(dist, sizeof dist, "more-%d", i);
    snprintf(group, sizeof group, "h%d.backends", i);
    snprintf(ep, sizeof ep, "a%d", i);
    snprintf(module, sizeof module, "more%d.mod", i);
    install(dist, group, ep, module, "good_adapter");
  }
  d = start_daemon("info");
  c = harness_client(d);
  expect_call(c, "fixture_host", "fxl", "lazy_impl.compute_score");
  expect_call(c, "other_host", "fxl", "lazy_impl.compute_score");
  cr_assert_eq(plugin_tree_remove_dist(tree, "lazy-two", "1.0"), 0);
  cr_assert_eq(reload_count(c, "removed"), 1);

  /* Each load takes the lowest free descriptor: enough of them to reach any number just freed. */
  for (int i = 0; i < N_MORE; i++) {
    snprintf(group, sizeof group, "h%d.backends", i);
    snprintf(ep, sizeof ep, "a%d", i);
    expect_hold(c, group, ep, "fixture_accel");
  }
  expect_call(c, "fixture_host", "fxl", "lazy_impl.compute_score");
  harness_client_close(c);
  harness_finish(d);
}

/* How many lines of the daemon's log contain needle, and how many of those are notices. */
static int count_lines(const struct hdaemon *d, const char *needle, int *notices) {
  char *log = harness_log(d), *save = NULL;
  int n = 0;
  *notices = 0;
  for (char *line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    if (strstr(line, needle) != NULL) {
      n++;
      *notices += strncmp(line, "backendd: notice: ", 18) == 0;
    }
  free(log);
  return n;
}

static void list_backends(backend_client *c, const char *host) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r;
  const msgpack_object *refused;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  harness_pack_cstr(&pk, "host");
  harness_pack_cstr(&pk, host);
  cr_assert_eq(backend_client_call(c, "backend.list", sb.data, sb.size, HARNESS_TIMEOUT_MS, &r), 0);
  msgpack_sbuffer_destroy(&sb);
  refused = harness_get(&r->result, "refused");
  cr_expect(refused != NULL && refused->type == MSGPACK_OBJECT_ARRAY && refused->via.array.size == 1,
            "fixture_edge is not the one refused adapter");
  backend_reply_free(r);
}

Test(adapter_code, a_refused_adapter_is_logged_once_at_notice) {
  static const char needle[] = "backend fixture_edge (edge-adapter) refused: 'fxe' is reserved by fixture_host";
  struct hdaemon *d;
  backend_client *c, *c2;
  int notices;
  cr_assert_not_null(tree = plugin_tree_new("refused-notice"));
  declare_host("fixture_host");
  install("edge-adapter", "fixture_host.backends", "fixture_edge", "edge_adapter.mod", "edge_adapter");
  install("good-adapter", "fixture_host.backends", "fixture_accel", "good_adapter.mod", "good_adapter");
  d = start_daemon("notice");
  c = harness_client(d);
  c2 = harness_client(d);
  list_backends(c, "fixture_host");
  cr_expect_eq(count_lines(d, needle, &notices), 1, "the refusal is not logged once after the first listing");
  cr_expect_eq(notices, 1, "the refusal is not logged at notice level");
  /* A reload that changes nothing rebuilds the host's table: the same refusal is not logged again. */
  cr_expect_eq(reload_count(c, "changed"), 0);
  list_backends(c2, "fixture_host");
  cr_expect_eq(count_lines(d, needle, &notices), 1, "the same refusal was logged again");
  harness_client_close(c2);
  harness_client_close(c);
  harness_finish(d);
}
