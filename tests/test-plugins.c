/*
 * Plugin discovery against a real daemon: every fixture reported with the right state and
 * reason while the daemon lives on, failed plugins not rescanned until their file changes,
 * file-safety refusals, and reloads that add, remove and replace distributions while calls
 * are in flight.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

TestSuite(plugins, .fini = teardown, .timeout = 60);

/* Installs fixture `fixture` as module <dist>.mod of a distribution whose one entry point is named after it. */
static void install(const char *dist, const char *version, const char *group, const char *attr, const char *fixture) {
  const char *ep = dist;
  char module[128], ep_text[512], *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES)", fixture);
  snprintf(module, sizeof module, "%s.mod", dist);
  for (char *p = module; *p != '\0'; p++) /* a module path is made of identifiers */
    if (*p == '-')
      *p = '_';
  snprintf(ep_text, sizeof ep_text, "[%s]\n%s = %s%s%s\n", group, ep, module, attr ? ":" : "", attr ? attr : "");
  cr_assert_eq(plugin_tree_add(tree, dist, version, ep_text, module, so), 0);
  free(so);
}

/* extra: one more flag, or NULL (which then ends the argument list). The plugin timeout is long
 * enough for a crash report under ASan on a loaded machine, short enough for the hang fixture. */
static struct hdaemon *start_daemon(const char *extra) {
  return harness_start(harness_bin("BACKENDD_TEST_BIN"), "--plugin-path", tree, "--plugin-timeout", "4",
                       "--log-level", "info", extra, NULL);
}

/* The plugins.list result through the client library; *reply must be freed. */
static const msgpack_object *list_plugins(backend_client *c, backend_reply **reply) {
  cr_assert_eq(backend_client_call(c, "plugins.list", NULL, 0, HARNESS_TIMEOUT_MS, reply), 0);
  cr_assert_eq((*reply)->result.type, MSGPACK_OBJECT_ARRAY);
  return &(*reply)->result;
}

/* The entry point named ep of distribution dist in a plugins.list result, or NULL. */
static const msgpack_object *find_ep(const msgpack_object *list, const char *dist, const char *ep) {
  for (uint32_t i = 0; i < list->via.array.size; i++) {
    const msgpack_object *d = &list->via.array.ptr[i], *eps = harness_get(d, "entry_points");
    if (!harness_str_eq(harness_get(d, "name"), dist) || eps == NULL)
      continue;
    for (uint32_t j = 0; j < eps->via.array.size; j++)
      if (harness_str_eq(harness_get(&eps->via.array.ptr[j], "name"), ep))
        return &eps->via.array.ptr[j];
  }
  return NULL;
}

static bool str_contains(const msgpack_object *o, const char *needle) {
  char buf[2048];
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return false;
  snprintf(buf, sizeof buf, "%.*s", (int)o->via.str.size, o->via.str.ptr);
  return strstr(buf, needle) != NULL;
}

static void expect_state(const msgpack_object *list, const char *dist, const char *state, const char *reason) {
  const msgpack_object *ep = find_ep(list, dist, dist);
  cr_assert_not_null(ep, "%s is not listed", dist);
  cr_expect(harness_str_eq(harness_get(ep, "state"), state), "%s: state is not %s", dist, state);
  if (reason != NULL) {
    const msgpack_object *r = harness_get(ep, "reason");
    cr_expect(str_contains(r, reason), "%s: reason '%.*s' does not say '%s'", dist,
              r && r->type == MSGPACK_OBJECT_STR ? (int)r->via.str.size : 0,
              r && r->type == MSGPACK_OBJECT_STR ? r->via.str.ptr : "", reason);
  }
}

/* test.plugin_hold {group, name, ms}: the dist version and what the loaded code says. */
static uint32_t send_hold(backend_client *c, const char *group, const char *name, unsigned ms) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint32_t id;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "group", 5);
  msgpack_pack_str_with_body(&pk, group, strlen(group));
  msgpack_pack_str_with_body(&pk, "name", 4);
  msgpack_pack_str_with_body(&pk, name, strlen(name));
  msgpack_pack_str_with_body(&pk, "ms", 2);
  msgpack_pack_uint32(&pk, ms);
  cr_assert_eq(backend_client_send(c, "test.plugin_hold", sb.data, sb.size, &id), 0);
  cr_assert_eq(backend_client_flush(c, HARNESS_TIMEOUT_MS), 0);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

static void expect_hold(backend_client *c, const char *version, const char *says) {
  backend_reply *r;
  int err = backend_client_recv(c, HARNESS_TIMEOUT_MS, &r);
  cr_assert_eq(err, 0, "test.plugin_hold: %s", err == BACKEND_EREMOTE ? r->error_message : backend_strerror(err));
  cr_expect(harness_str_eq(harness_get(&r->result, "version"), version), "held plugin is not version %s", version);
  cr_expect(harness_str_eq(harness_get(&r->result, "says"), says), "held plugin's code does not say %s", says);
  backend_reply_free(r);
}

/* Is a file of this name mapped into the daemon? */
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

Test(plugins, every_fixture_is_reported_and_the_daemon_lives_on) {
  char *impl = plugin_tree_fixture("lazy_impl");
  struct hdaemon *d;
  backend_client *c;
  backend_reply *reply;
  const msgpack_object *list, *ep;
  tree = plugin_tree_new("fixtures");
  install("good-adapter", "1.0", "example_host.backends", NULL, "good_adapter");
  install("lazy-adapter", "1.0", "example_host.backends", NULL, "lazy_adapter");
  cr_assert_eq(plugin_tree_add_module(tree, "lazy_adapter.lazy_impl", impl), 0);
  install("object-adapter", "1.0", "example_host.backends", "Backend", "object_adapter");
  install("good-variant", "1.0", "variant_plugins", NULL, "good_variant");
  install("class-variant", "1.0", "variant_plugins", "Plugin", "class_variant");
  install("missing-symbol", "1.0", "example_host.backends", NULL, "missing_symbol");
  install("wrong-abi", "1.0", "example_host.backends", NULL, "wrong_abi");
  install("bad-name", "1.0", "example_host.backends", NULL, "bad_name");
  install("bad-alias", "1.0", "example_host.backends", NULL, "bad_alias");
  install("scalar-aliases", "1.0", "example_host.backends", NULL, "scalar_aliases");
  install("claims-cpu", "1.0", "example_host.backends", NULL, "claims_cpu");
  install("bad-namespace", "1.0", "variant_plugins", NULL, "bad_namespace");
  install("crash-on-load", "1.0", "variant_plugins", NULL, "crash_on_load");
  install("hang-on-load", "1.0", "variant_plugins", NULL, "hang_on_load");
  install("bad-magic", "1.0", "example_host.backends", NULL, "bad_magic");
  cr_assert_eq(plugin_tree_add_dist(tree, "no-module", "1.0", "[variant_plugins]\nno-module = nowhere.mod\n"), 0);

  d = start_daemon(NULL);
  c = harness_client(d);
  list = list_plugins(c, &reply);
  expect_state(list, "good-adapter", "ok", NULL);
  expect_state(list, "lazy-adapter", "ok", NULL);
  expect_state(list, "object-adapter", "ok", NULL);
  expect_state(list, "good-variant", "ok", NULL);
  expect_state(list, "class-variant", "ok", NULL);
  expect_state(list, "missing-symbol", "failed", "no exported symbol 'backend_adapter'");
  expect_state(list, "wrong-abi", "failed", "built for plugin ABI 99");
  expect_state(list, "bad-name", "failed", "backend name '-bad name'");
  expect_state(list, "bad-alias", "failed", "alias 'bad alias!'");
  expect_state(list, "scalar-aliases", "failed", "aliases must be a list");
  expect_state(list, "claims-cpu", "failed", "'cpu' is reserved");
  expect_state(list, "bad-namespace", "failed", "namespace 'Bad-NS'");
  expect_state(list, "crash-on-load", "failed", "while loading");
  expect_state(list, "hang-on-load", "failed", "hung");
  expect_state(list, "bad-magic", "failed", "wrong magic number");
  expect_state(list, "no-module", "failed", "module 'nowhere.mod' not found");

  /* What an ok entry point is: distribution, version, object reference, details. */
  ep = find_ep(list, "object-adapter", "object-adapter");
  cr_expect(harness_str_eq(harness_get(ep, "group"), "example_host.backends"));
  cr_expect(harness_str_eq(harness_get(ep, "value"), "object_adapter.mod:Backend"));
  cr_expect(harness_str_eq(harness_get(harness_get(ep, "details"), "backend"), "fixture_object"));
  ep = find_ep(list, "good-adapter", "good-adapter");
  cr_expect(harness_str_eq(harness_get(harness_get(ep, "details"), "backend"), "fixture_accel"));
  backend_reply_free(reply);

  /* The daemon is alive and the good plugins are usable: their code loads and answers. */
  harness_ping(c, d);
  send_hold(c, "variant_plugins", "class-variant", 0);
  expect_hold(c, "1.0", "fixture_dyn");
  send_hold(c, "example_host.backends", "object-adapter", 0);
  expect_hold(c, "1.0", "fixture_object");
  /* A lazy adapter's code loads without its implementation library. */
  send_hold(c, "example_host.backends", "lazy-adapter", 0);
  expect_hold(c, "1.0", "fixture_lazy");
  cr_expect(daemon_maps(d, "lazy_adapter/mod.so"));
  cr_expect_not(daemon_maps(d, "lazy_impl.so"), "loading the lazy adapter loaded its implementation");
  cr_expect_eq(harness_info_u64(c, "plugins.ok"), 5);
  cr_expect_eq(harness_info_u64(c, "plugins.failed"), 11);
  cr_expect(harness_log_wait(d, "hang-on-load 1.0: variant_plugins: hang-on-load = hang_on_load.mod", 1000));
  harness_client_close(c);
  harness_finish(d);
  free(impl);
}

Test(plugins, a_failed_plugin_is_not_rescanned_until_its_file_changes) {
  struct hdaemon *d;
  backend_client *c;
  backend_reply *reply;
  char *good = plugin_tree_fixture("good_variant");
  uint64_t scans;
  tree = plugin_tree_new("rescan");
  install("flaky", "1.0", "variant_plugins", NULL, "crash_on_load");
  d = start_daemon(NULL);
  c = harness_client(d);
  scans = harness_info_u64(c, "plugins.scans");
  cr_assert_eq(scans, 1);

  cr_assert_eq(backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &reply), 0);
  backend_reply_free(reply);
  cr_expect_eq(harness_info_u64(c, "plugins.scans"), 1, "an unchanged failed plugin was scanned again");
  expect_state(list_plugins(c, &reply), "flaky", "failed", "while loading");
  backend_reply_free(reply);

  /* A fixed file (new inode) is scanned again, and now works. */
  cr_assert_eq(plugin_tree_replace(tree, "flaky/mod.so", good), 0);
  cr_assert_eq(backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &reply), 0);
  cr_expect_eq(harness_get(&reply->result, "changed")->via.array.size, 1);
  backend_reply_free(reply);
  cr_expect_eq(harness_info_u64(c, "plugins.scans"), 2);
  expect_state(list_plugins(c, &reply), "flaky", "ok", NULL);
  backend_reply_free(reply);
  free(good);
  harness_client_close(c);
  harness_finish(d);
}

Test(plugins, files_others_can_write_are_refused_as_root) {
  struct hdaemon *d;
  backend_client *c;
  backend_reply *reply;
  char path[4096];
  if (geteuid() != 0)
    cr_skip_test("the file-safety rules apply when the daemon runs as root");
  tree = plugin_tree_new("insecure");
  install("writable", "1.0", "variant_plugins", NULL, "good_variant");
  snprintf(path, sizeof path, "%s/writable/mod.so", tree);
  cr_assert_eq(chmod(path, 0664), 0);

  d = start_daemon(NULL);
  c = harness_client(d);
  expect_state(list_plugins(c, &reply), "writable", "refused", "writable by group");
  backend_reply_free(reply);
  harness_client_close(c);
  harness_finish(d);

  d = start_daemon("--allow-insecure-plugins");
  c = harness_client(d);
  expect_state(list_plugins(c, &reply), "writable", "ok", NULL);
  backend_reply_free(reply);
  cr_expect(harness_log_wait(d, "--allow-insecure-plugins", 1000));
  harness_client_close(c);
  harness_finish(d);
}

Test(plugins, reload_adds_removes_and_replaces_while_calls_run_on_their_code) {
  struct hdaemon *d;
  backend_client *holder, *c;
  backend_reply *reply;
  char *class_variant = plugin_tree_fixture("class_variant");
  tree = plugin_tree_new("reload");
  install("alpha", "1.0", "variant_plugins", NULL, "good_variant");
  d = start_daemon(NULL);
  holder = harness_client(d);
  c = harness_client(d);

  /* A call holds alpha 1.0's code while alpha is replaced by 2.0 and beta appears. */
  send_hold(holder, "variant_plugins", "alpha", 1500);
  harness_ping(holder, d); /* answered after the hold has loaded alpha 1.0: only then replace it */
  cr_assert_eq(plugin_tree_remove_dist(tree, "alpha", "1.0"), 0);
  cr_assert_eq(plugin_tree_add_dist(tree, "alpha", "2.0", "[variant_plugins]\nalpha = alpha.mod:Plugin\n"), 0);
  cr_assert_eq(plugin_tree_replace(tree, "alpha/mod.so", class_variant), 0);
  install("beta", "1.0", "example_host.backends", NULL, "good_adapter");
  cr_assert_eq(backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &reply), 0);
  cr_expect_eq(harness_get(&reply->result, "added")->via.array.size, 1);
  cr_expect_eq(harness_get(&reply->result, "changed")->via.array.size, 1);
  cr_expect_eq(harness_get(&reply->result, "removed")->via.array.size, 0);
  cr_expect_eq(harness_get(&reply->result, "failed")->via.array.size, 0);
  backend_reply_free(reply);

  /* New calls get the new code at once; the held call finishes on the old code. */
  send_hold(c, "variant_plugins", "alpha", 0);
  expect_hold(c, "2.0", "fixture_dyn");
  send_hold(c, "example_host.backends", "beta", 0);
  expect_hold(c, "1.0", "fixture_accel");
  expect_hold(holder, "1.0", "fixture");

  /* Removing beta: it disappears, and its code is unloaded since no call holds it. */
  cr_assert_eq(plugin_tree_remove_dist(tree, "beta", "1.0"), 0);
  cr_assert_eq(backend_client_call(c, "daemon.reload", NULL, 0, HARNESS_TIMEOUT_MS, &reply), 0);
  cr_expect_eq(harness_get(&reply->result, "removed")->via.array.size, 1);
  cr_expect(str_contains(&harness_get(&reply->result, "removed")->via.array.ptr[0], "beta 1.0"));
  backend_reply_free(reply);
  cr_expect_null(find_ep(list_plugins(c, &reply), "beta", "beta"));
  backend_reply_free(reply);

  /* SIGHUP does the same and logs it. */
  install("gamma", "3.1", "variant_plugins", NULL, "good_variant");
  cr_assert_eq(kill(d->pid, SIGHUP), 0);
  cr_expect(harness_log_wait(d, "reload: added: gamma 3.1", HARNESS_TIMEOUT_MS));
  free(class_variant);
  harness_client_close(holder);
  harness_client_close(c);
  harness_finish(d);
}

Test(plugins, backendctl_lists_plugins_for_people_and_as_json) {
  struct hdaemon *d;
  struct hrun r;
  tree = plugin_tree_new("ctl");
  install("good-variant", "1.0", "variant_plugins", NULL, "good_variant");
  install("bad-alias", "2.0", "example_host.backends", NULL, "bad_alias");
  d = start_daemon(NULL);
  harness_ctl(&r, d->socket, "plugins", NULL);
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "good-variant 1.0") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "namespace fixture, static") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "failed   example_host.backends: bad-alias = bad_alias.mod") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "alias 'bad alias!'") != NULL, "%s", r.out);
  harness_run_free(&r);
  harness_ctl(&r, d->socket, "--json", "plugins", NULL);
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "\"state\": \"failed\"") != NULL, "%s", r.out);
  harness_run_free(&r);
  harness_finish(d);
}
