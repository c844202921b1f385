#define _GNU_SOURCE
/*
 * Variant plugins through a real daemon: supported configs of static and dynamic plugins,
 * validation, build setup, namespace conflicts, answers that break the rules, the SQLite
 * cache (hit after a restart without calling the plugin; invalidated by version, file and
 * fingerprint; corrupt files), resolve, and queries during a reload.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(variants, .fini = teardown, .timeout = 60);

/* Installs fixture `fixture` as module <module> with entry point `ep` = <module>[:attr]. */
static void install(const char *dist, const char *version, const char *module, const char *attr,
                    const char *fixture) {
  char ep_text[512], *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built", fixture);
  snprintf(ep_text, sizeof ep_text, "[variant_plugins]\n%s = %s%s%s\n", dist, module, attr ? ":" : "",
           attr ? attr : "");
  cr_assert_eq(plugin_tree_add(tree, dist, version, ep_text, module, so), 0);
  free(so);
}

static struct hdaemon *start(const char *cache) {
  return harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, "--cache", cache, "--log-level", "info",
                       NULL);
}

/* A daemon whose cache is a new file in a temporary directory. */
static struct hdaemon *start_fresh(void) {
  char cache[4096];
  snprintf(cache, sizeof cache, "%s/cache.sqlite", harness_tmpdir());
  return start(cache);
}

/* Calls method with params packed by the caller (sb may be NULL); returns the status. */
static int call(backend_client *c, const char *method, msgpack_sbuffer *sb, backend_reply **r) {
  return backend_client_call(c, method, sb ? sb->data : NULL, sb ? sb->size : 0, HARNESS_TIMEOUT_MS, r);
}

/* {key: [strings...]} */
static void pack_list_param(msgpack_sbuffer *sb, const char *key, const char *const *items) {
  msgpack_packer pk;
  uint32_t n = 0;
  while (items[n] != NULL)
    n++;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, key, strlen(key));
  msgpack_pack_array(&pk, n);
  for (uint32_t i = 0; i < n; i++)
    msgpack_pack_str_with_body(&pk, items[i], strlen(items[i]));
}

/* Prints an object compactly, for comparisons with expected text. */
static void print_obj(const msgpack_object *o, char *buf, size_t len) { msgpack_object_print_buffer(buf, len, *o); }

static void expect_obj(const msgpack_object *o, const char *expected) {
  char buf[4096];
  print_obj(o, buf, sizeof buf);
  cr_expect_str_eq(buf, expected);
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  int n = 0, ch;
  if (f == NULL)
    return 0;
  while ((ch = fgetc(f)) != EOF)
    n += ch == '\n';
  fclose(f);
  return n;
}

static char *path_in(const char *dir, const char *name) {
  char *p;
  cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
  return p;
}

Test(variants, configs_of_static_and_dynamic_plugins) {
  static const char *const known[] = {"fixture_dyn :: runtime :: 1", "fixture_dyn::runtime::3",
                                      " fixture_dyn :: runtime :: 2 ", NULL};
  static const char *const only_fixture[] = {"fixture", NULL};
  struct hdaemon *d;
  backend_client *c;
  backend_reply *r;
  msgpack_sbuffer sb;
  tree = plugin_tree_new("configs");
  install("static-one", "1.0", "static_one.mod", NULL, "good_variant");
  install("dynamic-one", "2.0", "dynamic_one.mod", "Plugin", "class_variant");
  d = start_fresh();
  c = harness_client(d);

  /* A dynamic plugin answers from the package's known properties of its namespace. */
  cr_assert_eq(backend_variant_configs(c, NULL, known, HARNESS_TIMEOUT_MS, &r), 0);
  expect_obj(&r->result, "{\"configs\"=>[{\"namespace\"=>\"fixture\", \"features\"=>[{\"name\"=>\"level\", "
                         "\"values\"=>[\"v2\", \"v1\"]}]}, {\"namespace\"=>\"fixture_dyn\", \"features\"=>[{\"name\"=>"
                         "\"runtime\", \"values\"=>[\"1\", \"2\"]}]}], \"errors\"=>[]}");
  backend_reply_free(r);

  pack_list_param(&sb, "namespaces", only_fixture);
  cr_assert_eq(call(c, "variant.configs", &sb, &r), 0);
  expect_obj(&r->result, "{\"configs\"=>[{\"namespace\"=>\"fixture\", \"features\"=>[{\"name\"=>\"level\", "
                         "\"values\"=>[\"v2\", \"v1\"]}]}], \"errors\"=>[]}");
  backend_reply_free(r);
  msgpack_sbuffer_destroy(&sb);

  /* An unknown namespace asked for by name is an error. */
  {
    static const char *const unknown[] = {"nope", NULL};
    pack_list_param(&sb, "namespaces", unknown);
    cr_assert_eq(call(c, "variant.configs", &sb, &r), BACKEND_EREMOTE);
    cr_expect_str_eq(r->error_code, "Variant.UnknownNamespace");
    backend_reply_free(r);
    msgpack_sbuffer_destroy(&sb);
  }
  harness_client_close(c);
  harness_finish(d);
}

Test(variants, validate_says_why_and_build_setup_merges) {
  static const char *const props[] = {"fixture :: level :: v3",   "fixture::level::v9",  "fixture :: level",
                                      "nowhere :: level :: v1",  "fixture :: Level :: v1", "fixture :: level :: v 1",
                                      "counted :: speed :: fast", NULL};
  static const char *const build[] = {"fixture :: level :: v2", "counted :: speed :: fast", NULL};
  static const char *const bad_build[] = {"fixture :: level :: v9", NULL};
  struct hdaemon *d;
  backend_client *c;
  backend_reply *r;
  msgpack_sbuffer sb;
  tree = plugin_tree_new("validate");
  install("static-one", "1.0", "static_one.mod", NULL, "good_variant");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  d = start_fresh();
  c = harness_client(d);

  cr_assert_eq(backend_variant_validate(c, props, HARNESS_TIMEOUT_MS, &r), 0);
  cr_assert_eq(r->result.via.array.size, 7);
  expect_obj(&r->result.via.array.ptr[0], "{\"property\"=>\"fixture :: level :: v3\", \"valid\"=>true, \"reason\"=>nil}");
  expect_obj(&r->result.via.array.ptr[1], "{\"property\"=>\"fixture::level::v9\", \"valid\"=>false, \"reason\"=>"
                                          "\"rejected by the fixture plugin (static-one 1.0)\"}");
  expect_obj(&r->result.via.array.ptr[2], "{\"property\"=>\"fixture :: level\", \"valid\"=>false, \"reason\"=>"
                                          "\"bad syntax: a property is written 'namespace :: feature :: value'\"}");
  expect_obj(&r->result.via.array.ptr[3], "{\"property\"=>\"nowhere :: level :: v1\", \"valid\"=>false, \"reason\"=>"
                                          "\"unknown namespace 'nowhere': no variant plugin provides it\"}");
  expect_obj(&r->result.via.array.ptr[4], "{\"property\"=>\"fixture :: Level :: v1\", \"valid\"=>false, \"reason\"=>"
                                          "\"bad syntax: namespace and feature names may only hold a-z, 0-9 and '_'\"}");
  expect_obj(&r->result.via.array.ptr[5], "{\"property\"=>\"fixture :: level :: v 1\", \"valid\"=>false, \"reason\"=>"
                                          "\"bad syntax: values may only hold a-z, 0-9 and _ . , ! > ~ < =\"}");
  expect_obj(&r->result.via.array.ptr[6], "{\"property\"=>\"counted :: speed :: fast\", \"valid\"=>true, \"reason\"=>nil}");
  backend_reply_free(r);

  /* Variables from every plugin involved, namespaces in name order (counted has none). */
  cr_assert_eq(backend_variant_build_setup(c, build, HARNESS_TIMEOUT_MS, &r), 0);
  expect_obj(&r->result, "{\"variables\"=>{\"CFLAGS\"=>[\"-DFIXTURE_LEVEL=v2\"]}}");
  backend_reply_free(r);

  pack_list_param(&sb, "properties", bad_build);
  cr_assert_eq(call(c, "variant.build_setup", &sb, &r), BACKEND_EREMOTE);
  cr_expect_str_eq(r->error_code, "Variant.InvalidProperty");
  backend_reply_free(r);
  msgpack_sbuffer_destroy(&sb);
  harness_client_close(c);
  harness_finish(d);
}

Test(variants, a_namespace_conflict_fails_only_that_namespace) {
  static const char *const fixture[] = {"fixture", NULL};
  struct hdaemon *d;
  backend_client *c;
  backend_reply *r;
  msgpack_sbuffer sb;
  char text[4096];
  tree = plugin_tree_new("conflict");
  install("first-provider", "1.0", "first.mod", NULL, "good_variant");
  install("fork-provider", "2.0", "fork.mod", NULL, "good_variant");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  d = start_fresh();
  c = harness_client(d);

  pack_list_param(&sb, "namespaces", fixture);
  cr_assert_eq(call(c, "variant.configs", &sb, &r), BACKEND_EREMOTE);
  cr_expect_str_eq(r->error_code, "Variant.NamespaceConflict");
  cr_expect(strstr(r->error_message, "first-provider 1.0") && strstr(r->error_message, "fork-provider 2.0"), "%s",
            r->error_message);
  backend_reply_free(r);
  msgpack_sbuffer_destroy(&sb);

  /* All namespaces: counted answers, the conflict is reported beside it. */
  cr_assert_eq(call(c, "variant.configs", NULL, &r), 0);
  print_obj(&r->result, text, sizeof text);
  cr_expect(strstr(text, "\"namespace\"=>\"counted\"") != NULL, "%s", text);
  cr_expect(strstr(text, "namespace 'fixture' is provided by more than one plugin") != NULL, "%s", text);
  backend_reply_free(r);

  cr_assert_eq(call(c, "variant.plugins", NULL, &r), 0);
  print_obj(&r->result, text, sizeof text);
  cr_expect(strstr(text, "\"conflict\"=>\"namespace 'fixture' is provided") != NULL, "%s", text);
  backend_reply_free(r);
  harness_client_close(c);
  harness_finish(d);
}

Test(variants, answers_breaking_a_rule_are_errors_with_the_rule) {
  static const struct {
    const char *attr, *ns, *rule;
  } cases[] = {
    {"DupValues", "dup_values", "answered value 'v1' of feature 'level' twice"},
    {"DupFeatures", "dup_features", "answered feature 'level' twice"},
    {"NoValues", "no_values", "with no value (at least one is needed)"},
    {"BadValue", "bad_value", "values may only hold"},
    {"BadFeature", "bad_feature", "answered feature 'Level': namespace and feature names may only hold"},
    {"ValueFirst", "value_first", "added a value before any feature"},
    {"Fails", "fails", "get_supported_configs failed (-5): no device found"},
  };
  struct hdaemon *d;
  backend_client *c;
  tree = plugin_tree_new("badanswers");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dist[64], module[64];
    snprintf(dist, sizeof dist, "bad-%zu", i);
    snprintf(module, sizeof module, "bad_%zu.mod", i);
    install(dist, "1.0", module, cases[i].attr, "bad_answers");
  }
  d = start_fresh();
  c = harness_client(d);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *const names[] = {cases[i].ns, NULL};
    backend_reply *r;
    msgpack_sbuffer sb;
    pack_list_param(&sb, "namespaces", names);
    cr_assert_eq(call(c, "variant.configs", &sb, &r), BACKEND_EREMOTE, "%s was accepted", cases[i].ns);
    cr_expect_str_eq(r->error_code, "Variant.PluginError");
    cr_expect(strstr(r->error_message, cases[i].rule) != NULL, "%s: '%s' does not say '%s'", cases[i].ns,
              r->error_message, cases[i].rule);
    backend_reply_free(r);
    msgpack_sbuffer_destroy(&sb);
  }
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
}

/* variant.configs {namespaces: [counted]} must answer fast, slow. */
static void ask_counted(const struct hdaemon *d) {
  static const char *const names[] = {"counted", NULL};
  backend_client *c = harness_client(d);
  backend_reply *r;
  msgpack_sbuffer sb;
  pack_list_param(&sb, "namespaces", names);
  cr_assert_eq(call(c, "variant.configs", &sb, &r), 0);
  expect_obj(&r->result, "{\"configs\"=>[{\"namespace\"=>\"counted\", \"features\"=>[{\"name\"=>\"speed\", "
                         "\"values\"=>[\"fast\", \"slow\"]}]}], \"errors\"=>[]}");
  backend_reply_free(r);
  msgpack_sbuffer_destroy(&sb);
  harness_client_close(c);
}

static void reload(const struct hdaemon *d) {
  backend_client *c = harness_client(d);
  backend_reply *r;
  cr_assert_eq(call(c, "daemon.reload", NULL, &r), 0);
  backend_reply_free(r);
  harness_client_close(c);
}

Test(variants, the_cache_answers_after_a_restart_until_plugin_or_system_changes) {
  const char *dir = harness_tmpdir();
  char *cache = path_in(dir, "cache.sqlite"), *log = path_in(dir, "calls.log"), *fp = path_in(dir, "fingerprint");
  char *so = plugin_tree_fixture("counting_variant");
  struct hdaemon *d;
  FILE *f;
  tree = plugin_tree_new("cache");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  setenv("COUNTING_VARIANT_LOG", log, 1);
  setenv("COUNTING_VARIANT_FINGERPRINT", fp, 1);
  cr_assert_not_null(f = fopen(fp, "w"));
  fputs("gpu-driver-1", f);
  fclose(f);

  d = start(cache);
  ask_counted(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 1, "the answer was not kept in memory");
  cr_expect_eq(harness_info_u64_new(d, "cache.misses"), 1);
  harness_finish(d);

  /* A restart: served from the cache, the plugin not asked. */
  d = start(cache);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 1, "a restart asked the plugin again");
  cr_expect_eq(harness_info_u64_new(d, "cache.hits"), 1);
  {
    backend_client *c = harness_client(d);
    backend_reply *r;
    const msgpack_object *rate;
    cr_assert_eq(call(c, "daemon.info", NULL, &r), 0);
    rate = harness_get(harness_get(&r->result, "cache"), "hit_rate");
    cr_expect(rate != NULL && rate->type == MSGPACK_OBJECT_FLOAT64 && rate->via.f64 == 1.0,
              "after one lookup, a hit, the hit rate is not 1");
    backend_reply_free(r);
    harness_client_close(c);
  }
  {
    backend_client *c = harness_client(d);
    backend_reply *r;
    char text[2048];
    cr_assert_eq(call(c, "variant.plugins", NULL, &r), 0);
    print_obj(&r->result, text, sizeof text);
    cr_expect(strstr(text, "\"answer_from\"=>\"cache\"") != NULL, "%s", text);
    backend_reply_free(r);
    harness_client_close(c);
  }
  {
    struct hrun run;
    harness_ctl(&run, d->socket, "plugins", NULL);
    cr_expect(strstr(run.out, "namespace counted, static; answer from cache") != NULL, "%s", run.out);
    harness_run_free(&run);
  }

  /* A changed fingerprint (the system changed) invalidates it. */
  cr_assert_not_null(f = fopen(fp, "w"));
  fputs("gpu-driver-2", f);
  fclose(f);
  reload(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 2, "a new fingerprint did not invalidate the cache");

  /* A new version invalidates it. */
  cr_assert_eq(plugin_tree_remove_dist(tree, "counting", "1.0"), 0);
  cr_assert_eq(plugin_tree_add_dist(tree, "counting", "1.1", "[variant_plugins]\ncounting = counting.mod\n"), 0);
  reload(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 3, "a new version did not invalidate the cache");

  /* A changed file (same version) invalidates it. */
  cr_assert_eq(plugin_tree_replace(tree, "counting/mod.so", so), 0);
  reload(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 4, "a changed file did not invalidate the cache");

  /* And an unchanged plugin after a reload is still answered without a call. */
  reload(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 4);
  harness_finish(d);
  unsetenv("COUNTING_VARIANT_LOG");
  unsetenv("COUNTING_VARIANT_FINGERPRINT");
  free(so);
  free(cache);
  free(log);
  free(fp);
}

Test(variants, no_cache_asks_the_plugin_every_time) {
  const char *dir = harness_tmpdir();
  char *log = path_in(dir, "calls.log");
  struct hdaemon *d;
  tree = plugin_tree_new("nocache");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  setenv("COUNTING_VARIANT_LOG", log, 1);
  d = harness_start(harness_bin("BACKENDD_BIN"), "--plugin-path", tree, "--no-cache", NULL);
  ask_counted(d);
  ask_counted(d);
  cr_expect_eq(count_lines(log), 2);
  cr_expect_eq(harness_info_u64_new(d, "cache.hits"), 0);
  harness_finish(d);
  unsetenv("COUNTING_VARIANT_LOG");
  free(log);
}

static void write_file(const char *path, const void *bytes, size_t len) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(bytes, 1, len, f), len);
  fclose(f);
}

Test(variants, a_corrupt_or_truncated_cache_is_set_aside_and_rebuilt) {
  const char *dir = harness_tmpdir();
  char *cache = path_in(dir, "cache.sqlite"), *log = path_in(dir, "calls.log");
  struct hdaemon *d;
  tree = plugin_tree_new("corrupt");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  setenv("COUNTING_VARIANT_LOG", log, 1);
  unsetenv("COUNTING_VARIANT_FINGERPRINT");

  write_file(cache, "this is not an SQLite database, but the daemon must live on\n", 60);
  d = start(cache);
  ask_counted(d);
  cr_expect(harness_log_wait(d, "cache.sqlite", 1000));
  harness_finish(d);
  cr_expect_eq(count_lines(log), 1);

  /* Truncate the now valid cache to half its size. */
  {
    FILE *f = fopen(cache, "r+");
    long size;
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    cr_assert_eq(truncate(cache, size / 2), 0);
  }
  d = start(cache);
  ask_counted(d);
  ask_counted(d);
  harness_ping_new(d);
  harness_finish(d);
  unsetenv("COUNTING_VARIANT_LOG");
  free(cache);
  free(log);
}

Test(variants, resolve_through_backendctl) {
  const char *dir = harness_tmpdir();
  char *doc = path_in(dir, "pkg-1.0-variants.json");
  static const char json[] =
    "{\"$schema\": \"https://variants-schema.wheelnext.dev/\",\n"
    " \"default-priorities\": {\"namespace\": [\"fixture\", \"counted\"]},\n"
    " \"variants\": {\n"
    "   \"lvl4\": {\"fixture\": {\"level\": [\"v4\"]}},\n"
    "   \"lvl1\": {\"fixture\": {\"level\": [\"v1\"]}},\n"
    "   \"lvl2slow\": {\"fixture\": {\"level\": [\"v2\"]}, \"counted\": {\"speed\": [\"slow\"]}},\n"
    "   \"lvl2\": {\"fixture\": {\"level\": [\"v2\"]}},\n"
    "   \"gpu\": {\"cuda\": {\"version\": [\"12\"]}},\n"
    "   \"null\": {}\n"
    " }}\n";
  struct hdaemon *d;
  struct hrun run;
  tree = plugin_tree_new("resolve");
  install("static-one", "1.0", "static_one.mod", NULL, "good_variant");
  install("counting", "1.0", "counting.mod", NULL, "counting_variant");
  write_file(doc, json, sizeof json - 1);
  d = start_fresh();
  harness_ctl(&run, d->socket, "resolve", doc, NULL);
  cr_expect_eq(run.status, 0, "%s", run.err);
  /* Ranked by fixture :: level (v2 before v1), then counted :: speed (present before absent). */
  cr_expect(strstr(run.out, "  1. lvl2slow\n  2. lvl2\n  3. lvl1\n  4. null\n") != NULL, "%s", run.out);
  cr_expect(strstr(run.out, "lvl4: ") != NULL, "%s", run.out);
  cr_expect(strstr(run.out, "gpu: ") != NULL && strstr(run.out, "cuda") != NULL, "%s", run.out);
  harness_run_free(&run);

  harness_ctl(&run, d->socket, "resolve", "/nonexistent/x-variants.json", NULL);
  cr_expect_eq(run.status, 2);
  harness_run_free(&run);
  harness_finish(d);
  free(doc);
}

Test(variants, queries_keep_being_answered_during_reloads) {
  static const char *const names[] = {"fixture", NULL};
  struct hdaemon *d;
  backend_client *c;
  msgpack_sbuffer sb;
  tree = plugin_tree_new("busy");
  install("static-one", "1.0", "static_one.mod", NULL, "good_variant");
  d = start_fresh();
  c = harness_client(d);
  pack_list_param(&sb, "namespaces", names);
  for (int round = 0; round < 20; round++) {
    backend_reply *r;
    for (int i = 0; i < 10; i++)
      cr_assert_eq(backend_client_send(c, "variant.configs", sb.data, sb.size, NULL), 0);
    cr_assert_eq(kill(d->pid, SIGHUP), 0);
    for (int i = 0; i < 10; i++) {
      cr_assert_eq(backend_client_recv(c, HARNESS_TIMEOUT_MS, &r), 0);
      expect_obj(&r->result, "{\"configs\"=>[{\"namespace\"=>\"fixture\", \"features\"=>[{\"name\"=>\"level\", "
                             "\"values\"=>[\"v2\", \"v1\"]}]}], \"errors\"=>[]}");
      backend_reply_free(r);
    }
  }
  msgpack_sbuffer_destroy(&sb);
  harness_client_close(c);
  harness_finish(d);
}
