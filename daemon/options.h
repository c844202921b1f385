/* backendd's settings: defaults, environment, command line. */
#ifndef BACKENDD_OPTIONS_H
#define BACKENDD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

struct options {
  char *socket_path;        /* effective socket (flag, BACKENDD_SOCKET, or default) */
  char *plugin_path_arg;    /* --plugin-path as given, or NULL */
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
};

/* Result of options_parse besides errors: run, or exit 0 (after --help / --version). */
enum { OPTIONS_RUN = 0, OPTIONS_EXIT = 1 };

/*
 * Fills *o from defaults, the environment and argv. Prints usage errors to stderr.
 * Returns OPTIONS_RUN, OPTIONS_EXIT, or -EINVAL / -ENOMEM.
 */
int options_parse(struct options *o, int argc, char **argv);
void options_free(struct options *o);

/* Parses "123", "64K", "16M", "1G" (powers of 1024). Returns 0 or -EINVAL / -ERANGE. */
int options_parse_size(const char *s, size_t *out);

#endif
