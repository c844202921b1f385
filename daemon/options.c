#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "paths.h"

/* One row per setting, so usage text, getopt and (later) a config file agree. */
enum opt_kind { OPT_STRING, OPT_SIZE, OPT_UINT, OPT_COUNT, OPT_SECONDS, OPT_LEVEL, OPT_FLAG };

struct opt_def {
  const char *name;
  enum opt_kind kind;
  size_t offset;
  size_t min, max; /* for OPT_SIZE / OPT_UINT */
  const char *metavar;
  const char *help;
};

#define OFF(field) offsetof(struct options, field)

static const struct opt_def opt_defs[] = {
  {"socket", OPT_STRING, OFF(socket_path), 0, 0, "PATH", "listen on PATH (env BACKENDD_SOCKET)"},
  {"plugin-path", OPT_STRING, OFF(plugin_path_arg), 0, 0, "DIR[:DIR...]", "search these directories for plugins first"},
  {"cache", OPT_STRING, OFF(cache_path), 0, 0, "FILE", "SQLite cache file (env BACKENDD_CACHE)"},
  {"log-level", OPT_LEVEL, OFF(log_level), 0, 0, "LEVEL", "error, warning, notice (default), info or debug"},
  {"max-message-size", OPT_SIZE, OFF(limits.max_message_size), 64, SIZE_MAX / 2, "BYTES", "largest message accepted (default 128M)"},
  {"max-depth", OPT_UINT, OFF(limits.max_depth), 2, PROTO_MAX_DEPTH_CEILING, "N", "deepest nesting of arrays and maps (default 32, at most 32)"},
  {"max-string-length", OPT_SIZE, OFF(limits.max_string_length), 16, SIZE_MAX / 2, "BYTES", "longest string accepted (default 1M)"},
  {"max-elements", OPT_COUNT, OFF(limits.max_elements), 16, UINT32_MAX, "N", "array and map elements in one message, all levels (default 1M)"},
  {"max-connections", OPT_UINT, OFF(max_connections), 1, 1u << 20, "N", "open connections (default 1024)"},
  {"max-inflight", OPT_UINT, OFF(max_inflight), 1, 1u << 20, "N", "requests in flight per connection (default 1024)"},
  {"max-queued-bytes", OPT_SIZE, OFF(max_queued_bytes), 4096, SIZE_MAX / 2, "BYTES", "responses queued to a client that does not read them before it is disconnected (default 16M)"},
  {"shutdown-timeout", OPT_SECONDS, OFF(shutdown_timeout), 0, 0, "SECONDS", "time in-flight requests get to finish at SIGTERM (default 5)"},
  {"plugin-timeout", OPT_SECONDS, OFF(plugin_timeout), 0, 0, "SECONDS", "time a plugin may take to load before it is recorded as hung (default 10)"},
  {"no-cache", OPT_FLAG, OFF(no_cache), 0, 0, NULL, "ask static variant plugins on every request (no cache file, nothing kept)"},
  {"allow-insecure-plugins", OPT_FLAG, OFF(allow_insecure_plugins), 0, 0, NULL, "load plugins even from files others can write (development only)"},
};
#define N_OPT_DEFS (sizeof opt_defs / sizeof opt_defs[0])

static void usage(FILE *out) {
  fprintf(out, "Usage: backendd [OPTION...]\n"
               "Serve backend adapters and variant provider plugins over a Unix socket.\n\n");
  for (size_t i = 0; i < N_OPT_DEFS; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", opt_defs[i].name, opt_defs[i].metavar ? " " : "",
             opt_defs[i].metavar ? opt_defs[i].metavar : "");
    fprintf(out, "  %-32s %s\n", left, opt_defs[i].help);
  }
  fprintf(out, "  %-32s %s\n  %-32s %s\n", "--help", "show this help", "--version", "show the version");
  fprintf(out, "\nExit status: 0 after a clean shutdown, 1 when startup fails, 2 on a usage error.\n");
}

int options_parse_size(const char *s, size_t *out) {
  char *end;
  unsigned long long v;
  unsigned shift = 0;
  if (*s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0)
    return -ERANGE;
  switch (*end) {
  case 'K': case 'k': shift = 10; end++; break;
  case 'M': case 'm': shift = 20; end++; break;
  case 'G': case 'g': shift = 30; end++; break;
  }
  if (*end != '\0')
    return -EINVAL;
  if (v > (SIZE_MAX >> shift))
    return -ERANGE;
  *out = (size_t)v << shift;
  return 0;
}

static int set_option(struct options *o, const struct opt_def *d, const char *arg) {
  void *field = (char *)o + d->offset;
  size_t size;
  char *end;
  switch (d->kind) {
  case OPT_STRING:
    free(*(char **)field);
    *(char **)field = strdup(arg);
    return *(char **)field ? 0 : -ENOMEM;
  case OPT_SIZE:
  case OPT_UINT:
  case OPT_COUNT:
    if (options_parse_size(arg, &size) != 0 || size < d->min || size > d->max) {
      fprintf(stderr, "backendd: --%s: '%s' is not a %s between %zu and %zu\n", d->name, arg,
              d->kind == OPT_SIZE ? "size" : "number", d->min, d->max);
      return -EINVAL;
    }
    if (d->kind == OPT_SIZE)
      *(size_t *)field = size;
    else if (d->kind == OPT_COUNT)
      *(uint64_t *)field = size;
    else
      *(unsigned *)field = (unsigned)size;
    return 0;
  case OPT_SECONDS:
    errno = 0;
    *(double *)field = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || *(double *)field < 0 || *(double *)field > 3600) {
      fprintf(stderr, "backendd: --%s: '%s' is not a number of seconds between 0 and 3600\n", d->name, arg);
      return -EINVAL;
    }
    return 0;
  case OPT_LEVEL:
    if ((*(int *)field = log_level_parse(arg)) < 0) {
      fprintf(stderr, "backendd: --%s: '%s' is not one of error, warning, notice, info, debug\n", d->name, arg);
      return -EINVAL;
    }
    return 0;
  case OPT_FLAG:
    *(bool *)field = true;
    return 0;
  }
  return -EINVAL;
}

static void set_defaults(struct options *o) {
  memset(o, 0, sizeof *o);
  o->log_level = LOG_NOTICE;
  proto_limits_default(&o->limits);
  o->max_connections = 1024;
  o->max_inflight = 1024;
  o->max_queued_bytes = (size_t)16 << 20;
  o->shutdown_timeout = 5.0;
  o->plugin_timeout = 10.0;
}

/* Environment fills what the command line left unset. */
static int apply_environment(struct options *o) {
  const char *env;
  if (o->socket_path == NULL && (env = getenv("BACKENDD_SOCKET")) != NULL && *env != '\0')
    o->socket_path = strdup(env);
  else if (o->socket_path == NULL)
    o->socket_path = paths_default_socket();
  if (o->cache_path == NULL && (env = getenv("BACKENDD_CACHE")) != NULL && *env != '\0')
    o->cache_path = strdup(env);
  else if (o->cache_path == NULL)
    o->cache_path = paths_default_cache();
  o->plugin_dirs = paths_plugin_dirs(o->plugin_path_arg, getenv("BACKENDD_PATH"));
  if (o->socket_path == NULL || o->cache_path == NULL || o->plugin_dirs == NULL)
    return -ENOMEM;
  return 0;
}

int options_parse(struct options *o, int argc, char **argv) {
  struct option longopts[N_OPT_DEFS + 3];
  int c, err;
  set_defaults(o);
  for (size_t i = 0; i < N_OPT_DEFS; i++)
    longopts[i] = (struct option){opt_defs[i].name,
                                  opt_defs[i].kind == OPT_FLAG ? no_argument : required_argument, NULL, (int)i};
  longopts[N_OPT_DEFS] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[N_OPT_DEFS + 1] = (struct option){"version", no_argument, NULL, 'V'};
  longopts[N_OPT_DEFS + 2] = (struct option){NULL, 0, NULL, 0};

  optind = 1;
  while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return OPTIONS_EXIT;
    }
    if (c == 'V') {
      printf("backendd %s\n", BACKENDD_VERSION);
      return OPTIONS_EXIT;
    }
    if (c < 0 || (size_t)c >= N_OPT_DEFS) {
      usage(stderr);
      return -EINVAL;
    }
    if ((err = set_option(o, &opt_defs[c], optarg)) < 0)
      return err;
  }
  if (optind < argc) {
    fprintf(stderr, "backendd: unexpected argument '%s' (see backendd --help)\n", argv[optind]);
    return -EINVAL;
  }
  return apply_environment(o);
}

void options_free(struct options *o) {
  free(o->socket_path);
  free(o->plugin_path_arg);
  free(o->cache_path);
  if (o->plugin_dirs != NULL)
    for (char **d = o->plugin_dirs; *d != NULL; d++)
      free(*d);
  free(o->plugin_dirs);
  memset(o, 0, sizeof *o);
}
