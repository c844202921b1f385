/* backendd's settings: defaults, config file (conffile.c), environment, command line. */
#ifndef BACKENDD_OPTIONS_H
#define BACKENDD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

struct options {
  char *socket_path;        /* effective socket (flag, BACKENDD_SOCKET, or default) */
  char *plugin_path_arg;    /* plugin-path as configured (flag or file), or NULL */
  char **plugin_dirs;       /* effective search path, NULL-terminated */
  char *cache_path;         /* effective cache file */
  int log_level;
  struct proto_limits limits;
  unsigned max_connections;
  unsigned max_inflight;     /* requests in flight per connection */
  size_t max_queued_bytes;   /* response bytes queued to a client that does not read */
  double shutdown_timeout;   /* seconds in-flight requests get at SIGTERM */
  double plugin_timeout;     /* seconds a plugin may take to load in the scanner */
  bool allow_insecure_plugins;
  bool no_cache;             /* ask static plugins every time: no SQLite cache, no memory (benchmarks, debugging) */
  char *config_path;         /* the config file read, or NULL (--no-config, or the default file is absent) */
};

/* Result of options_parse besides errors: run, or exit 0 (after --help, --version, --check-config). */
enum { OPTIONS_RUN = 0, OPTIONS_EXIT = 1 };

/*
 * Fills *o from, lowest precedence first: built-in defaults, the config file (--config FILE,
 * else the default one if it exists; none with --no-config), the environment
 * (BACKENDD_SOCKET, BACKENDD_CACHE; BACKENDD_PATH adds plugin directories), the flags.
 * With --check-config, prints the effective settings to stdout and returns OPTIONS_EXIT
 * (which leaves *o empty; options_free is safe on it all the same).
 * Prints usage and configuration errors to stderr.
 * Returns OPTIONS_RUN, OPTIONS_EXIT, or -EINVAL (usage or configuration error) / -ENOMEM.
 */
int options_parse(struct options *o, int argc, char **argv);
void options_free(struct options *o);

/* Parses "123", "64K", "16M", "1G" (powers of 1024). Returns 0 or -EINVAL / -ERANGE. */
int options_parse_size(const char *s, size_t *out);

/* ---- The settings table: one row per setting, a flag and a config-file key alike. ---- */

enum opt_kind { OPT_STRING, OPT_SIZE, OPT_UINT, OPT_COUNT, OPT_SECONDS, OPT_LEVEL, OPT_FLAG };

struct opt_def {
  const char *name; /* the flag without "--", and the config-file key */
  enum opt_kind kind;
  size_t offset;    /* of the field in struct options */
  size_t min, max;  /* for OPT_SIZE / OPT_UINT / OPT_COUNT */
  const char *metavar;
  const char *help;
};

/* Every setting, in the order --help and --check-config list them. */
extern const struct opt_def options_table[];
extern const size_t options_table_len;

/* The row for a setting's name ("max-depth"), or NULL. */
const struct opt_def *options_lookup(const char *name);

/*
 * Sets one setting from its text. where names the source in messages, which go to stderr as
 * "backendd: WHERE: ...": "--max-depth", "FILE:7: max-depth". An OPT_FLAG takes yes, true,
 * on, 1 or no, false, off, 0 (any case), or NULL for yes. Returns 0, -EINVAL or -ENOMEM.
 */
int options_set(struct options *o, const struct opt_def *d, const char *value, const char *where);

#endif
