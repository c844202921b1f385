/*
 * Unit tests for the distribution reader (daemon/dist.c), the naming rules (names.c) and the
 * file-security rules (security.c), over plugin trees laid out by plugin-tree.c with the
 * built fixture plugins (tests/plugins/). Nothing here loads a plugin.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist.h"
#include "hostdecl.h"
#include "names.h"
#include "plugin-tree.h"
#include "security.h"

/* Room for a path under a temporary plugin tree (<limits.h> may be shadowed by proto/limits.h). */
#define PATH_LEN 4096

/* ------------------------------------------------------------------------------------------
 * Names
 */

static void expect_normalized(const char *name, const char *want) {
  char *got = names_normalize_dist(name);
  cr_assert_not_null(got);
  cr_expect_str_eq(got, want, "normalize(\"%s\")", name);
  free(got);
}

Test(names, dist_names_are_normalized_as_pep_503_says) {
  expect_normalized("My_Backend", "my-backend");
  expect_normalized("my.backend", "my-backend");
  expect_normalized("my--backend", "my-backend");
  expect_normalized("MY-BACKEND", "my-backend");
  expect_normalized("a._-b", "a-b");
  expect_normalized("already-normal", "already-normal");
  expect_normalized("X", "x");
}

static void expect_backend_error(const char *name, const char *want) {
  const char *got = hostdecl_check_declared_name(name);
  cr_assert_not_null(got, "\"%s\" was accepted", name);
  cr_expect_str_eq(got, want, "check_backend(\"%s\")", name);
}

Test(names, backend_names_follow_every_rule) {
  char name[HOSTDECL_BACKEND_NAME_MAX + 2];
  const char *ok[] = {"my_backend", "fixture-fast", "a", "9", "v1.2", "Cuda12", "cpu2", "gpu"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    cr_expect_null(hostdecl_check_declared_name(ok[i]), "\"%s\" was refused", ok[i]);

  memset(name, 'a', sizeof name);
  name[HOSTDECL_BACKEND_NAME_MAX] = '\0';
  cr_expect_null(hostdecl_check_declared_name(name), "128 characters must be allowed");
  name[HOSTDECL_BACKEND_NAME_MAX] = 'a';
  name[HOSTDECL_BACKEND_NAME_MAX + 1] = '\0';
  expect_backend_error(name, "a backend name must be at most 128 characters");

  expect_backend_error("", "a backend name must not be empty");
  expect_backend_error(".hidden", "a backend name must start with an ASCII letter or digit");
  expect_backend_error("-bad name", "a backend name must start with an ASCII letter or digit");
  expect_backend_error("_private", "a backend name must start with an ASCII letter or digit");
  expect_backend_error("mine.", "a backend name must not end with '.' or '-'");
  expect_backend_error("mine-", "a backend name must not end with '.' or '-'");
  expect_backend_error("bad alias!", "a backend name may only hold ASCII letters, digits, '.', '_' and '-'");
  expect_backend_error("a/b", "a backend name may only hold ASCII letters, digits, '.', '_' and '-'");
  expect_backend_error("caf\xc3\xa9", "a backend name may only hold ASCII letters, digits, '.', '_' and '-'");
  expect_backend_error("cpu", "'cpu' is reserved for the host's own implementation");
}

Test(names, variant_names_are_lower_case_digits_and_underscores) {
  cr_expect_null(names_check_variant("fixture"));
  cr_expect_null(names_check_variant("fixture_dyn"));
  cr_expect_null(names_check_variant("x86_64"));
  cr_expect_str_eq(names_check_variant(""), "must not be empty");
  cr_expect_str_eq(names_check_variant("Bad-NS"), "may only hold a-z, 0-9 and '_'");
  cr_expect_str_eq(names_check_variant("bad-ns"), "may only hold a-z, 0-9 and '_'");
  cr_expect_str_eq(names_check_variant("a b"), "may only hold a-z, 0-9 and '_'");
}

static void expect_ref(const char *ref, const char *want_module, const char *want_attr) {
  char *module = (char *)"unset", *attr = (char *)"unset";
  const char *bad = names_parse_object_ref(ref, &module, &attr);
  cr_assert_null(bad, "\"%s\" refused: %s", ref, bad);
  cr_expect_str_eq(module, want_module, "module of \"%s\"", ref);
  if (want_attr == NULL)
    cr_expect_null(attr, "attr of \"%s\"", ref);
  else
    cr_expect_str_eq(attr, want_attr, "attr of \"%s\"", ref);
  free(module);
  free(attr);
}

static void expect_bad_ref(const char *ref, const char *want) {
  char *module = (char *)"unset", *attr = (char *)"unset";
  const char *bad = names_parse_object_ref(ref, &module, &attr);
  cr_assert_not_null(bad, "\"%s\" was accepted", ref);
  cr_expect_str_eq(bad, want, "parse(\"%s\")", ref);
  cr_expect_null(module, "module left set for \"%s\"", ref);
  cr_expect_null(attr, "attr left set for \"%s\"", ref);
}

#define NOT_DOTTED "an object reference is dotted identifiers ('pkg.module'), optionally ':attr'"
#define BAD_ATTR "the attribute after ':' must be one identifier (an exported symbol)"

Test(names, object_references_are_modules_with_an_optional_symbol) {
  expect_ref("module", "module", NULL);
  expect_ref("my_backend._backends.example_host", "my_backend._backends.example_host", NULL);
  expect_ref("pkg.mod:Backend", "pkg.mod", "Backend");
  expect_ref("_p1._m2:_sym3", "_p1._m2", "_sym3");

  expect_bad_ref("", NOT_DOTTED);
  expect_bad_ref("a..b", NOT_DOTTED);
  expect_bad_ref(".a", NOT_DOTTED);
  expect_bad_ref("a.", NOT_DOTTED);
  expect_bad_ref("a/b", NOT_DOTTED);
  expect_bad_ref("../x", NOT_DOTTED);
  expect_bad_ref("1pkg.mod", NOT_DOTTED);
  expect_bad_ref("pkg.mod ", NOT_DOTTED);
  expect_bad_ref("a:b:c", BAD_ATTR);
  expect_bad_ref("a:", BAD_ATTR);
  expect_bad_ref("a:b.c", BAD_ATTR);
  expect_bad_ref("a:../b", BAD_ATTR);
}

Test(names, entry_point_groups_name_the_plugin_kind) {
  cr_expect(dist_group_is_backend("example_host.backends"));
  cr_expect(dist_group_is_backend("x.backends"));
  cr_expect_not(dist_group_is_backend(".backends"));
  cr_expect_not(dist_group_is_backend("example_host.backend"));
  cr_expect_not(dist_group_is_backend("example_host.backends.extra"));
  cr_expect_not(dist_group_is_backend("variant_plugins"));
  cr_expect(dist_group_is_variant("variant_plugins"));
  cr_expect_not(dist_group_is_variant("variant_plugins2"));
  cr_expect_not(dist_group_is_variant("console_scripts"));
}

/* ------------------------------------------------------------------------------------------
 * Distributions: two plugin directories, root1 searched before root2.
 */

static char *root1, *root2;
static struct dist_set set;

static void make_roots(void) {
  root1 = plugin_tree_new("dist1");
  root2 = plugin_tree_new("dist2");
  cr_assert_not_null(root1);
  cr_assert_not_null(root2);
}

static void remove_roots(void) {
  dist_set_free(&set);
  plugin_tree_free(root1);
  plugin_tree_free(root2);
  free(root1);
  free(root2);
}

TestSuite(dist, .init = make_roots, .fini = remove_roots);

static void scan(bool check_security) {
  char *dirs[] = {root1, root2, NULL};
  dist_set_free(&set);
  cr_assert_eq(dist_scan(dirs, check_security, &set), 0);
}

/* The only distribution with this normalised name. */
static const struct distribution *dist_keyed(const char *key) {
  const struct distribution *found = NULL;
  for (size_t i = 0; i < set.n; i++) {
    if (strcmp(set.dists[i].key, key) != 0)
      continue;
    cr_assert_null(found, "two distributions with key %s", key);
    found = &set.dists[i];
  }
  cr_assert_not_null(found, "no distribution with key %s", key);
  return found;
}

static const struct entry_point *ep_named(const struct distribution *d, const char *name) {
  for (size_t i = 0; i < d->n_eps; i++)
    if (strcmp(d->eps[i].name, name) == 0)
      return &d->eps[i];
  cr_assert_fail("%s has no entry point %s", d->name, name);
  return NULL;
}

/* Installs the built fixture as module_path of root. */
static void add_module(const char *root, const char *module_path, const char *fixture) {
  char *so = plugin_tree_fixture(fixture);
  cr_assert_not_null(so, "fixture %s is not built (BACKENDD_FIXTURES=%s)", fixture, getenv("BACKENDD_FIXTURES"));
  cr_assert_eq(plugin_tree_add_module(root, module_path, so), 0);
  free(so);
}

static void add_dist(const char *root, const char *name, const char *version, const char *entry_points) {
  cr_assert_eq(plugin_tree_add_dist(root, name, version, entry_points), 0);
}

static void write_file(const char *root, const char *rel, const char *text) {
  cr_assert_eq(plugin_tree_write(root, rel, text), 0);
}

static void expect_reason(const char *reason, const char *want) {
  cr_assert_not_null(reason, "no reason; expected \"%s\"", want);
  cr_expect_str_eq(reason, want);
}

static void expect_file_id(const struct entry_point *ep, const char *path) {
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_expect_eq(ep->file_id.dev, st.st_dev);
  cr_expect_eq(ep->file_id.ino, st.st_ino);
  cr_expect_eq(ep->file_id.size, st.st_size);
  cr_expect_eq(ep->file_id.mtime_ns, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
}

Test(dist, reads_name_version_and_entry_points_without_loading_plugins) {
  char crash[PATH_LEN], hang[PATH_LEN];
  const struct distribution *d;
  const struct entry_point *ep;
  add_module(root1, "crashy._backends.host", "crash_on_load");
  add_module(root1, "crashy.hang", "hang_on_load");
  add_dist(root1, "Crashy_Plugins", "1.2.3",
           "[example_host.backends]\n"
           "crashy = crashy._backends.host\n"
           "\n"
           "[variant_plugins]\n"
           "hangs = crashy.hang:Plugin\n");
  snprintf(crash, sizeof crash, "%s/crashy/_backends/host.so", root1);
  snprintf(hang, sizeof hang, "%s/crashy/hang.so", root1);
  scan(false);

  cr_assert_eq(set.n, 1);
  d = dist_keyed("crashy-plugins");
  cr_expect_str_eq(d->name, "Crashy_Plugins");
  cr_expect_str_eq(d->version, "1.2.3");
  cr_expect_eq(d->state, EP_OK);
  cr_expect_null(d->reason);
  cr_assert_eq(d->n_eps, 2);

  ep = &d->eps[0];
  cr_expect_str_eq(ep->group, "example_host.backends");
  cr_expect_str_eq(ep->name, "crashy");
  cr_expect_str_eq(ep->value, "crashy._backends.host");
  cr_expect_str_eq(ep->module, "crashy._backends.host");
  cr_expect_null(ep->attr);
  cr_expect_str_eq(ep->file, crash);
  cr_expect_eq(ep->state, EP_OK);
  cr_expect_null(ep->reason);
  expect_file_id(ep, crash);

  ep = &d->eps[1];
  cr_expect_str_eq(ep->group, "variant_plugins");
  cr_expect_str_eq(ep->name, "hangs");
  cr_expect_str_eq(ep->module, "crashy.hang");
  cr_expect_str_eq(ep->attr, "Plugin");
  cr_expect_str_eq(ep->file, hang);
  cr_expect_eq(ep->state, EP_OK);
  expect_file_id(ep, hang);

  /* Listed, not loaded: we are alive, and neither object is in this process. */
  cr_expect_null(dlopen(crash, RTLD_LAZY | RTLD_NOLOAD));
  cr_expect_null(dlopen(hang, RTLD_LAZY | RTLD_NOLOAD));
}

Test(dist, distributions_come_in_search_path_then_name_order) {
  add_dist(root1, "beta", "1.0", NULL);
  add_dist(root1, "alpha", "1.0", NULL);
  add_dist(root2, "aaa", "1.0", NULL);
  write_file(root1, ".hidden-1.0.dist-info/METADATA", "Name: hidden\nVersion: 1.0\n");
  write_file(root1, "notes.txt", "not a distribution\n");
  scan(false);
  cr_assert_eq(set.n, 3);
  cr_expect_str_eq(set.dists[0].name, "alpha");
  cr_expect_str_eq(set.dists[1].name, "beta");
  cr_expect_str_eq(set.dists[2].name, "aaa");
  for (size_t i = 0; i < set.n; i++) {
    cr_expect_eq(set.dists[i].state, EP_OK, "%s: %s", set.dists[i].name, set.dists[i].reason);
    cr_expect_eq(set.dists[i].n_eps, 0, "no entry_points.txt, no entry points");
  }
}

Test(dist, modules_resolve_on_the_whole_path_first_directory_first) {
  char want_both[PATH_LEN], want_second[PATH_LEN], path[PATH_LEN];
  const struct distribution *d;
  add_module(root1, "shared.both", "good_adapter");
  add_module(root2, "shared.both", "object_adapter");
  add_module(root2, "only.second", "good_variant");
  add_dist(root2, "resolver", "0.1",
           "[example_host.backends]\n"
           "both = shared.both\n"
           "[variant_plugins]\n"
           "second = only.second\n");
  snprintf(want_both, sizeof want_both, "%s/shared/both.so", root1);
  snprintf(want_second, sizeof want_second, "%s/only/second.so", root2);
  scan(false);

  d = dist_keyed("resolver");
  snprintf(path, sizeof path, "%s/resolver-0.1.dist-info", root2);
  cr_expect_str_eq(d->path, path);
  cr_assert_eq(d->n_eps, 2);
  cr_expect_str_eq(ep_named(d, "both")->file, want_both);
  expect_file_id(ep_named(d, "both"), want_both);
  cr_expect_str_eq(ep_named(d, "second")->file, want_second);
  cr_expect_eq(ep_named(d, "both")->state, EP_OK);
  cr_expect_eq(ep_named(d, "second")->state, EP_OK);
}

Test(dist, a_module_found_nowhere_fails_its_entry_point) {
  const struct distribution *d;
  const struct entry_point *ep;
  add_dist(root1, "lost", "1.0", "[variant_plugins]\nmissing = nowhere.mod\n");
  scan(false);
  d = dist_keyed("lost");
  cr_expect_eq(d->state, EP_OK);
  ep = ep_named(d, "missing");
  cr_expect_eq(ep->state, EP_FAILED);
  cr_expect_null(ep->file);
  expect_reason(ep->reason, "module 'nowhere.mod' not found: no nowhere/mod.so in any plugin directory");
}

Test(dist, an_invalid_object_reference_fails_its_entry_point_only) {
  const struct distribution *d;
  const struct entry_point *ep;
  add_module(root1, "fine.mod", "good_adapter");
  add_dist(root1, "mixed", "1.0", "[example_host.backends]\nbad = a..b\nescape = ../x\ngood = fine.mod\n");
  scan(false);
  d = dist_keyed("mixed");
  cr_expect_eq(d->state, EP_OK);
  cr_assert_eq(d->n_eps, 3);
  ep = ep_named(d, "bad");
  cr_expect_eq(ep->state, EP_FAILED);
  cr_expect_null(ep->module);
  cr_expect_null(ep->file);
  expect_reason(ep->reason, "invalid object reference 'a..b': " NOT_DOTTED);
  ep = ep_named(d, "escape");
  cr_expect_eq(ep->state, EP_FAILED);
  expect_reason(ep->reason, "invalid object reference '../x': " NOT_DOTTED);
  cr_expect_eq(ep_named(d, "good")->state, EP_OK);
  cr_expect_not_null(ep_named(d, "good")->file);
}

Test(dist, an_entry_point_listed_twice_fails_the_second) {
  const struct distribution *d;
  add_module(root1, "fine.mod", "good_adapter");
  add_dist(root1, "twice", "1.0", "[example_host.backends]\nfast = fine.mod\nfast = fine.mod\n[other_host.backends]\nfast = fine.mod\n");
  scan(false);
  d = dist_keyed("twice");
  cr_assert_eq(d->n_eps, 3);
  cr_expect_eq(d->eps[0].state, EP_OK);
  cr_expect_eq(d->eps[1].state, EP_FAILED);
  expect_reason(d->eps[1].reason, "entry point 'fast' appears twice in [example_host.backends]");
  cr_expect_eq(d->eps[2].state, EP_OK); /* the same name in another group is another entry point */
}

Test(dist, a_missing_metadata_fails_the_distribution) {
  char want[PATH_LEN];
  const struct distribution *d;
  write_file(root1, "nometa-1.0.dist-info/entry_points.txt", "[variant_plugins]\nx = fine.mod\n");
  snprintf(want, sizeof want, "%s/nometa-1.0.dist-info/METADATA: No such file or directory", root1);
  scan(false);
  cr_assert_eq(set.n, 1);
  d = &set.dists[0];
  cr_expect_str_eq(d->name, "nometa", "named after its directory so it can be listed");
  cr_expect_str_eq(d->key, "nometa");
  cr_expect_null(d->version);
  cr_expect_eq(d->state, EP_FAILED);
  cr_expect_eq(d->n_eps, 0);
  expect_reason(d->reason, want);
}

Test(dist, metadata_needs_a_version_in_its_header) {
  const struct distribution *d;
  write_file(root1, "noversion-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: noversion\n");
  write_file(root1, "noversion-1.0.dist-info/entry_points.txt", "[variant_plugins]\nx = fine.mod\n");
  /* After the first blank line comes the description, not headers. */
  write_file(root2, "bodyver-1.0.dist-info/METADATA",
             "Metadata-Version: 2.1\nName: bodyver\n\nVersion: 9.9 is what the description talks about\n");
  write_file(root2, "crlf-1.0.dist-info/METADATA", "Metadata-Version: 2.1\r\nName: crlf\r\nVersion: 1.0\r\n\r\nBody\r\n");
  scan(false);

  d = dist_keyed("noversion");
  cr_expect_str_eq(d->name, "noversion");
  cr_expect_eq(d->state, EP_FAILED);
  cr_expect_eq(d->n_eps, 0);
  expect_reason(d->reason, "METADATA has no Version");

  d = dist_keyed("bodyver");
  cr_expect_eq(d->state, EP_FAILED);
  expect_reason(d->reason, "METADATA has no Version");

  d = dist_keyed("crlf");
  cr_expect_eq(d->state, EP_OK, "%s", d->reason);
  cr_expect_str_eq(d->version, "1.0");
}

Test(dist, an_over_large_metadata_is_refused_unread) {
  size_t size = 300 * 1024;
  char *big = malloc(size + 1), want[PATH_LEN];
  const struct distribution *d;
  cr_assert_not_null(big);
  memset(big, 'x', size);
  big[size] = '\0';
  memcpy(big, "Name: big\nVersion: 1.0\n\n", strlen("Name: big\nVersion: 1.0\n\n"));
  write_file(root1, "big-1.0.dist-info/METADATA", big);
  free(big);
  snprintf(want, sizeof want, "%s/big-1.0.dist-info/METADATA: larger than 256 KiB", root1);
  scan(false);
  cr_assert_eq(set.n, 1);
  d = &set.dists[0];
  cr_expect_str_eq(d->name, "big");
  cr_expect_eq(d->state, EP_FAILED);
  expect_reason(d->reason, want);
}

/*
 * An entry_points.txt whose line 2 (in a group of another tool) is len characters long:
 * "[other_tool]", "name = vvv...", "[variant_plugins]", "x = y".
 */
static char *long_line_file(size_t len) {
  char *text = malloc(len + 64);
  cr_assert_not_null(text);
  strcpy(text, "[other_tool]\n");
  memset(text + strlen(text), 'v', len);
  memcpy(text + strlen("[other_tool]\n"), "name = ", strlen("name = "));
  strcpy(text + strlen("[other_tool]\n") + len, "\n[variant_plugins]\nx = y\n");
  return text;
}

Test(dist, entry_point_lines_are_at_most_198_characters) {
  char *ok = long_line_file(198), *too_long = long_line_file(199), want[PATH_LEN];
  const struct distribution *d;
  add_dist(root1, "fits", "1.0", ok);
  add_dist(root2, "overflows", "1.0", too_long);
  free(ok);
  free(too_long);
  snprintf(want, sizeof want, "%s/overflows-1.0.dist-info/entry_points.txt:2: line longer than 198 characters",
           root2);
  scan(false);

  d = dist_keyed("fits");
  cr_expect_eq(d->state, EP_OK, "%s", d->reason);
  cr_assert_eq(d->n_eps, 2);
  cr_expect_eq(strlen(d->eps[0].value), 198 - strlen("name = "));

  d = dist_keyed("overflows");
  cr_expect_eq(d->state, EP_FAILED);
  cr_expect_eq(d->n_eps, 0);
  expect_reason(d->reason, want);
}

Test(dist, a_malformed_line_fails_the_distribution_naming_file_and_line) {
  char want[PATH_LEN], *after_long = long_line_file(198);
  const struct distribution *d;
  add_dist(root1, "malformed", "1.0", "[variant_plugins]\nthis is not a pair\ngood = fine.mod\n");
  /* Line numbers stay right after a line of the longest length allowed. */
  strcpy(strstr(after_long, "x = y\n"), "no pair here\n");
  add_dist(root2, "late", "1.0", after_long);
  free(after_long);
  scan(false);

  d = dist_keyed("malformed");
  cr_expect_eq(d->state, EP_FAILED);
  cr_expect_eq(d->n_eps, 0, "the lines inih read past the bad one are dropped");
  snprintf(want, sizeof want,
           "%s/malformed-1.0.dist-info/entry_points.txt:2: not a valid line (expected [group] or name = value)", root1);
  expect_reason(d->reason, want);

  d = dist_keyed("late");
  cr_expect_eq(d->state, EP_FAILED);
  snprintf(want, sizeof want, "%s/late-1.0.dist-info/entry_points.txt:4: not a valid line", root2);
  cr_assert_not_null(d->reason);
  cr_expect(strncmp(d->reason, want, strlen(want)) == 0, "reason: %s", d->reason);
}

Test(dist, a_second_distribution_of_one_normalized_name_is_shadowed) {
  char want[PATH_LEN];
  const struct distribution *first, *second;
  add_module(root1, "mine.one", "good_adapter");
  add_dist(root1, "My_Backend", "1.0", "[example_host.backends]\nmine = mine.one\n");
  add_dist(root2, "my.backend", "2.0", "[example_host.backends]\nmine = mine.one\n");
  snprintf(want, sizeof want, "shadowed by %s/My_Backend-1.0.dist-info, earlier on the plugin path", root1);
  scan(false);

  cr_assert_eq(set.n, 2);
  first = &set.dists[0];
  second = &set.dists[1];
  cr_expect_str_eq(first->key, "my-backend");
  cr_expect_str_eq(first->version, "1.0");
  cr_expect_eq(first->state, EP_OK);
  cr_expect_eq(first->n_eps, 1);
  cr_expect_str_eq(second->key, "my-backend");
  cr_expect_str_eq(second->name, "my.backend");
  cr_expect_str_eq(second->version, "2.0");
  cr_expect_eq(second->state, EP_REFUSED);
  cr_expect_eq(second->n_eps, 0);
  expect_reason(second->reason, want);
}

Test(dist, an_unusable_distribution_still_shadows_a_later_one) {
  char want[PATH_LEN];
  add_module(root2, "two.mod", "good_variant");
  write_file(root1, "Two-Part_Name-1.0.dist-info/METADATA", "Metadata-Version: 2.1\n");
  add_dist(root2, "two-part.name", "2.0", "[variant_plugins]\ntwo = two.mod\n");
  snprintf(want, sizeof want, "shadowed by %s/Two-Part_Name-1.0.dist-info, earlier on the plugin path", root1);
  scan(false);
  cr_assert_eq(set.n, 2);
  cr_expect_str_eq(set.dists[0].name, "Two-Part_Name", "the name in the directory name, without the version");
  cr_expect_eq(set.dists[0].state, EP_FAILED);
  expect_reason(set.dists[0].reason, "METADATA has no Name");
  cr_expect_str_eq(set.dists[1].key, "two-part-name");
  cr_expect_eq(set.dists[1].state, EP_REFUSED);
  cr_expect_eq(set.dists[1].n_eps, 0);
  expect_reason(set.dists[1].reason, want);
}

Test(dist, groups_of_other_tools_are_kept_but_not_resolved) {
  const struct distribution *d;
  const char *ignored[] = {"tool", "singular", "bare"};
  add_dist(root1, "groups", "1.0",
           "[console_scripts]\ntool = not..valid\n"
           "[example_host.backend]\nsingular = nowhere.mod\n"
           "[.backends]\nbare = nowhere.mod\n"
           "[example_host.backends]\nreal = nowhere.mod\n");
  scan(false);
  d = dist_keyed("groups");
  cr_expect_eq(d->state, EP_OK);
  cr_assert_eq(d->n_eps, 4);
  for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) {
    const struct entry_point *ep = ep_named(d, ignored[i]);
    cr_expect_eq(ep->state, EP_OK, "%s", ignored[i]);
    cr_expect_null(ep->reason, "%s", ignored[i]);
    cr_expect_null(ep->module, "%s", ignored[i]);
    cr_expect_null(ep->file, "%s", ignored[i]);
  }
  cr_expect_eq(ep_named(d, "real")->state, EP_FAILED, "the plugin group is resolved");
}

Test(dist, a_replaced_module_has_a_new_file_identity) {
  struct file_id before;
  char *so = plugin_tree_fixture("good_variant"), path[PATH_LEN];
  cr_assert_not_null(so);
  add_module(root1, "up.mod", "good_adapter");
  add_dist(root1, "upgrade", "1.0", "[variant_plugins]\nv = up.mod\n");
  scan(false);
  before = dist_keyed("upgrade")->eps[0].file_id;

  cr_assert_eq(plugin_tree_replace(root1, "up/mod.so", so), 0);
  free(so);
  scan(false);
  snprintf(path, sizeof path, "%s/up/mod.so", root1);
  expect_file_id(&dist_keyed("upgrade")->eps[0], path);
  cr_expect_not(file_id_equal(&before, &dist_keyed("upgrade")->eps[0].file_id));

  cr_assert_eq(plugin_tree_remove_dist(root1, "upgrade", "1.0"), 0);
  scan(false);
  cr_expect_eq(set.n, 0);
}

/* ------------------------------------------------------------------------------------------
 * Security: as root, files others could have written are refused.
 */

/* Skips before creating anything: Criterion runs no .fini for a skipped test. */
static void need_root_and_safe_tmp(void) {
  struct stat st;
  if (geteuid() != 0)
    cr_skip_test("the security checks are about a root daemon (euid %u)", (unsigned)geteuid());
  if (stat("/tmp", &st) < 0 || st.st_uid != 0 || !(st.st_mode & S_ISVTX))
    cr_skip_test("/tmp is not a root-owned sticky directory");
  make_roots();
}

TestSuite(security, .init = need_root_and_safe_tmp, .fini = remove_roots);

/* One backend and one variant distribution, each with its module. */
static void add_secure_tree(void) {
  add_module(root1, "acc._backends.host", "good_adapter");
  add_dist(root1, "acc", "1.0", "[example_host.backends]\nfixture_accel = acc._backends.host\n");
  add_module(root1, "var.plugin", "good_variant");
  add_dist(root1, "var", "1.0", "[variant_plugins]\nfixture = var.plugin\n");
}

static void expect_mode(const char *root, const char *rel, mode_t want) {
  char path[PATH_LEN];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", root, rel);
  cr_assert_eq(stat(path, &st), 0, "%s", path);
  cr_expect_eq(st.st_mode & 07777, want, "%s: %o", path, (unsigned)(st.st_mode & 07777));
}

Test(security, a_tree_in_a_sticky_tmp_with_safe_modes_is_accepted) {
  mode_t old = umask(077); /* plugin-tree sets its modes whatever the umask */
  add_secure_tree();
  umask(old);
  expect_mode(root1, ".", 0755);
  expect_mode(root1, "acc", 0755);
  expect_mode(root1, "acc/_backends", 0755);
  expect_mode(root1, "acc/_backends/host.so", 0644);
  expect_mode(root1, "acc-1.0.dist-info", 0755);
  expect_mode(root1, "acc-1.0.dist-info/METADATA", 0644);
  expect_mode(root1, "acc-1.0.dist-info/entry_points.txt", 0644);
  scan(true);
  cr_assert_eq(set.n, 2);
  for (size_t i = 0; i < set.n; i++) {
    cr_expect_eq(set.dists[i].state, EP_OK, "%s: %s", set.dists[i].name, set.dists[i].reason);
    cr_assert_eq(set.dists[i].n_eps, 1);
    cr_expect_eq(set.dists[i].eps[0].state, EP_OK, "%s: %s", set.dists[i].name, set.dists[i].eps[0].reason);
    cr_expect_null(set.dists[i].eps[0].reason);
  }
}

Test(security, a_group_writable_plugin_file_is_refused) {
  char file[PATH_LEN], want[PATH_LEN + 64];
  const struct entry_point *ep;
  add_secure_tree();
  snprintf(file, sizeof file, "%s/acc/_backends/host.so", root1);
  cr_assert_eq(chmod(file, 0664), 0);
  snprintf(want, sizeof want, "insecure plugin file: %s is writable by group", file);
  scan(true);
  cr_expect_eq(dist_keyed("acc")->state, EP_OK);
  ep = ep_named(dist_keyed("acc"), "fixture_accel");
  cr_expect_eq(ep->state, EP_REFUSED);
  cr_expect_str_eq(ep->file, file);
  expect_reason(ep->reason, want);
  cr_expect_eq(ep_named(dist_keyed("var"), "fixture")->state, EP_OK);

  scan(false); /* without the check, the same file is fine */
  cr_expect_eq(ep_named(dist_keyed("acc"), "fixture_accel")->state, EP_OK);
}

Test(security, a_plugin_under_an_others_writable_directory_is_refused) {
  char dir[PATH_LEN], want[PATH_LEN + 64];
  const struct entry_point *ep;
  add_secure_tree();
  snprintf(dir, sizeof dir, "%s/acc", root1);
  cr_assert_eq(chmod(dir, 0757), 0);
  snprintf(want, sizeof want, "insecure plugin file: %s is writable by others", dir);
  scan(true);
  ep = ep_named(dist_keyed("acc"), "fixture_accel");
  cr_expect_eq(ep->state, EP_REFUSED);
  expect_reason(ep->reason, want);
  cr_expect_eq(ep_named(dist_keyed("var"), "fixture")->state, EP_OK);
}

Test(security, metadata_in_an_others_writable_directory_is_refused) {
  char dir[PATH_LEN], want[PATH_LEN + 64];
  const struct distribution *d;
  add_secure_tree();
  snprintf(dir, sizeof dir, "%s/var-1.0.dist-info", root1);
  cr_assert_eq(chmod(dir, 0777), 0);
  snprintf(want, sizeof want, "insecure distribution metadata: %s is writable by others", dir);
  scan(true);
  d = dist_keyed("var");
  cr_expect_eq(d->state, EP_REFUSED);
  cr_expect_eq(d->n_eps, 0);
  expect_reason(d->reason, want);
  cr_expect_eq(dist_keyed("acc")->state, EP_OK);
}

Test(security, a_plugin_owned_by_another_user_is_refused) {
  char file[PATH_LEN], want[PATH_LEN + 96];
  const struct entry_point *ep;
  add_secure_tree();
  snprintf(file, sizeof file, "%s/var/plugin.so", root1);
  cr_assert_eq(chown(file, 65534, 65534), 0);
  snprintf(want, sizeof want, "insecure plugin file: %s is owned by uid 65534, neither root nor the daemon's user",
           file);
  scan(true);
  ep = ep_named(dist_keyed("var"), "fixture");
  cr_expect_eq(ep->state, EP_REFUSED);
  expect_reason(ep->reason, want);
}

Test(security, a_missing_metadata_is_a_failure_not_a_refusal_when_checking) {
  char want[PATH_LEN];
  write_file(root1, "nometa-1.0.dist-info/entry_points.txt", "[variant_plugins]\nx = fine.mod\n");
  snprintf(want, sizeof want, "%s/nometa-1.0.dist-info/METADATA: No such file or directory", root1);
  scan(true);
  cr_assert_eq(set.n, 1);
  cr_expect_eq(set.dists[0].state, EP_FAILED);
  expect_reason(set.dists[0].reason, want);
}

Test(security, security_reasons_name_the_path) {
  char file[PATH_LEN], why[PATH_LEN + 64], want[PATH_LEN + 64];
  write_file(root1, "sub/file", "x");
  snprintf(file, sizeof file, "%s/sub/file", root1);
  cr_expect_eq(security_check_path(file, why, sizeof why), 0);

  cr_assert_eq(chmod(file, 0646), 0);
  cr_expect_eq(security_check_path(file, why, sizeof why), -EPERM);
  snprintf(want, sizeof want, "%s is writable by others", file);
  cr_expect_str_eq(why, want);

  snprintf(file, sizeof file, "%s/sub/none", root1);
  cr_expect_eq(security_check_path(file, why, sizeof why), -ENOENT);
  snprintf(want, sizeof want, "%s: No such file or directory", file);
  cr_expect_str_eq(why, want);
}
