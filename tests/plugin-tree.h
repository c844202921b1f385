/*
 * Test helper: lays out plugin directories as the daemon finds them on its search path
 * (include/backend/plugin.h, daemon/dist.h):
 *
 *   <root>/<dist>-<version>.dist-info/METADATA          "Metadata-Version: 2.1\nName: ...\nVersion: ...\n"
 *   <root>/<dist>-<version>.dist-info/entry_points.txt  as given
 *   <root>/pkg/module.so                                a copy of a built fixture
 *
 * Directories it creates get mode 0755 and files 0644 (whatever the umask), so a tree under
 * a root-owned sticky /tmp passes the daemon's security checks. Every file is written to a
 * temporary name in its directory and rename()d into place, never rewritten in place: a
 * reader sees the old file or the new one, and a replaced file gets a new inode.
 *
 * Built fixtures (tests/plugins/) are found through BACKENDD_FIXTURES, which tests/meson.build
 * sets to their build directory.
 *
 * Functions returning int return 0 or a negative errno value.
 */
#ifndef BACKENDD_TEST_PLUGIN_TREE_H
#define BACKENDD_TEST_PLUGIN_TREE_H

/* Creates a fresh directory /tmp/backendd-<tag>-XXXXXX (mode 0755). Returns it (free()) or NULL. */
char *plugin_tree_new(const char *tag);
/* Removes root and everything under it. */
int plugin_tree_free(const char *root);

/*
 * The built fixture "<BACKENDD_FIXTURES>/<name>.so" (name without ".so": "good_adapter").
 * Returns a new string (free()), or NULL when BACKENDD_FIXTURES is unset or there is no such
 * file.
 */
char *plugin_tree_fixture(const char *name);

/*
 * Installs one distribution: its .dist-info directory (plugin_tree_add_dist) and, when
 * module_path is not NULL, built_so_path copied to the module's file (plugin_tree_add_module).
 */
int plugin_tree_add(const char *root, const char *dist_name, const char *version, const char *entry_points_txt,
                    const char *module_path, const char *built_so_path);

/*
 * Writes <root>/<dist_name>-<version>.dist-info/ with METADATA (Name, Version) and, unless
 * entry_points_txt is NULL, entry_points.txt holding that text.
 */
int plugin_tree_add_dist(const char *root, const char *dist_name, const char *version,
                         const char *entry_points_txt);

/*
 * Copies built_so_path to the file of module_path ("pkg.sub.mod" -> <root>/pkg/sub/mod.so),
 * creating directories; replaces the file if there is one (a new inode, as an upgrade does).
 */
int plugin_tree_add_module(const char *root, const char *module_path, const char *built_so_path);

/* Removes <root>/<dist_name>-<version>.dist-info/ and all it holds (modules stay). */
int plugin_tree_remove_dist(const char *root, const char *dist_name, const char *version);

/*
 * Writes text to <root>/<rel_path> (creating directories): a new file renamed over any old
 * one. For hand-made METADATA or entry_points.txt, or to replace them.
 */
int plugin_tree_write(const char *root, const char *rel_path, const char *text);

/* Copies the file src to <root>/<rel_path> the same way: new file, then rename(). */
int plugin_tree_replace(const char *root, const char *rel_path, const char *src);

#endif
