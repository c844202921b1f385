/*
 * Installed distributions: "<name>-<version>.dist-info/" directories on the plugin search
 * path, each with METADATA (Name, Version) and entry_points.txt (entry points by group),
 * as a Python distribution has them (doc/plugins.md). Reading them loads no plugin code.
 */
#ifndef BACKENDD_DIST_H
#define BACKENDD_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VARIANT_GROUP "variant_plugins"
#define BACKEND_GROUP_SUFFIX ".backends"

/* Identity of a file's contents: a plugin is rescanned only when this changes. */
struct file_id {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
};

enum ep_state { EP_OK, EP_FAILED, EP_REFUSED };

struct entry_point {
  char *group;
  char *name;
  char *value;  /* the object reference as written */
  char *module; /* "pkg.module" */
  char *attr;   /* exported symbol, or NULL for a module entry point */
  char *file;   /* the shared object the module resolved to, or NULL */
  struct file_id file_id;
  /* Set when the entry point cannot be used before any loading: state and why. */
  enum ep_state state;
  char *reason;
};

struct distribution {
  char *name;    /* as METADATA writes it */
  char *key;     /* PEP 503 normalised name: what trust checks compare */
  char *version;
  char *path;    /* the .dist-info directory */
  struct entry_point *eps;
  size_t n_eps;
  /* A distribution whose metadata cannot be used has no entry points, a state and a reason. */
  enum ep_state state;
  char *reason;
};

struct dist_set {
  struct distribution *dists; /* in search-path order, then by directory name */
  size_t n;
};

/*
 * Reads every distribution in dirs (NULL-terminated, first wins for one normalised name).
 * With check_security, files and directories others could have written are refused
 * (security_check_path). Problems are recorded per distribution or entry point; the
 * return value is 0 or -ENOMEM.
 */
int dist_scan(char *const *dirs, bool check_security, struct dist_set *out);
void dist_set_free(struct dist_set *s);

/* Does the entry point's group name a kind of plugin the daemon knows? */
bool dist_group_is_backend(const char *group);
bool dist_group_is_variant(const char *group);

bool file_id_equal(const struct file_id *a, const struct file_id *b);

#endif
