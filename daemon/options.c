#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "conffile.h"
#include "log.h"
#include "paths.h"

/* One row per setting, so usage text, getopt and the config file (conffile.c) agree. */
#define OFF(field) offsetof(struct options, field)

const struct opt_def options_table[] = {
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
#define N_OPT_DEFS (sizeof options_table / sizeof options_table[0])
const size_t options_table_len = N_OPT_DEFS;

/* Command-line options that are not settings (no config-file key), numbered after the table's rows. */
enum { ARG_HELP = 1000, ARG_VERSION, ARG_CONFIG, ARG_NO_CONFIG, ARG_CHECK_CONFIG };

static void usage(FILE *out) {
  fprintf(out, "Usage: backendd [OPTION...]\n"
               "Serve backend adapters and variant provider plugins over a Unix socket.\n\n");
  for (size_t i = 0; i < N_OPT_DEFS; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", options_table[i].name, options_table[i].metavar ? " " : "",
             options_table[i].metavar ? options_table[i].metavar : "");
    fprintf(out, "  %-32s %s\n", left, options_table[i].help);
  }
  fprintf(out, "  %-32s %s\n  %-32s %s\n  %-32s %s\n", "--config FILE",
          "read settings from FILE (default " BACKENDD_CONFIG_FILE ", if it exists)", "--no-config",
          "read no config file", "--check-config", "check the configuration, print the effective settings, exit");
  fprintf(out, "  %-32s %s\n  %-32s %s\n", "--help", "show this help", "--version", "show the version");
  fprintf(out, "\nEvery setting can also be a 'key = value' line of the config file (key: the flag's name).\n"
               "Flags beat the environment, which beats the file. A flag without a value also takes\n"
               "=yes or =no (--no-cache=no undoes the file's 'no-cache = yes').\n"
               "Exit status: 0 after a clean shutdown, 1 when startup fails, 2 on a usage or configuration\n"
               "error. --check-config: 0 when the configuration is valid, 2 when it is not.\n");
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

const struct opt_def *options_lookup(const char *name) {
  for (size_t i = 0; i < N_OPT_DEFS; i++)
    if (strcmp(options_table[i].name, name) == 0)
      return &options_table[i];
  return NULL;
}

static int parse_bool(const char *s) {
  static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcasecmp(s, yes[i]) == 0)
      return 1;
    if (strcasecmp(s, no[i]) == 0)
      return 0;
  }
  return -EINVAL;
}

int options_set(struct options *o, const struct opt_def *d, const char *value, const char *where) {
  void *field = (char *)o + d->offset;
  size_t size;
  double secs;
  char *end;
  int v;
  switch (d->kind) {
  case OPT_STRING:
    free(*(char **)field);
    *(char **)field = strdup(value);
    return *(char **)field ? 0 : -ENOMEM;
  case OPT_SIZE:
  case OPT_UINT:
  case OPT_COUNT:
    if (options_parse_size(value, &size) != 0 || size < d->min || size > d->max) {
      fprintf(stderr, "backendd: %s: '%s' is not a %s between %zu and %zu\n", where, value,
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
    secs = strtod(value, &end);
    /* Written so that NaN fails too. */
    if (errno != 0 || end == value || *end != '\0' || !(secs >= 0 && secs <= 3600)) {
      fprintf(stderr, "backendd: %s: '%s' is not a number of seconds between 0 and 3600\n", where, value);
      return -EINVAL;
    }
    *(double *)field = secs;
    return 0;
  case OPT_LEVEL:
    if ((v = log_level_parse(value)) < 0) {
      fprintf(stderr, "backendd: %s: '%s' is not one of error, warning, notice, info, debug\n", where, value);
      return -EINVAL;
    }
    *(int *)field = v;
    return 0;
  case OPT_FLAG:
    if ((v = value == NULL ? 1 : parse_bool(value)) < 0) {
      fprintf(stderr, "backendd: %s: '%s' is not yes or no (or true, false, on, off, 1, 0)\n", where, value);
      return -EINVAL;
    }
    *(bool *)field = v;
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

/* The environment beats the config file: it is how one run differs from the configured service. */
static int apply_environment(struct options *o) {
  static const struct { const char *var, *setting; } env[] = {
    {"BACKENDD_SOCKET", "socket"},
    {"BACKENDD_CACHE", "cache"},
  };
  for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
    const char *v = getenv(env[i].var);
    int err;
    if (v != NULL && *v != '\0' && (err = options_set(o, options_lookup(env[i].setting), v, env[i].var)) < 0)
      return err;
  }
  return 0;
}

/* What nothing configured: the default socket and cache, and the whole plugin search path. */
static int fill_defaults(struct options *o) {
  if (o->socket_path == NULL && (o->socket_path = paths_default_socket()) == NULL)
    return -EINVAL; /* paths_default_socket said why */
  if (o->cache_path == NULL && (o->cache_path = paths_default_cache()) == NULL)
    return -ENOMEM;
  o->plugin_dirs = paths_plugin_dirs(o->plugin_path_arg, getenv("BACKENDD_PATH"));
  return o->plugin_dirs != NULL ? 0 : -ENOMEM;
}

int options_parse(struct options *o, int argc, char **argv) {
  struct option longopts[N_OPT_DEFS + 6];
  const char *flags[N_OPT_DEFS] = {NULL}; /* each setting's last flag value, applied after the file */
  const char *config = BACKENDD_CONFIG_FILE;
  bool config_given = false, no_config = false, check = false;
  char where[64];
  int c, err;
  set_defaults(o);
  for (size_t i = 0; i < N_OPT_DEFS; i++)
    longopts[i] = (struct option){options_table[i].name,
                                  options_table[i].kind == OPT_FLAG ? optional_argument : required_argument, NULL, (int)i};
  longopts[N_OPT_DEFS] = (struct option){"help", no_argument, NULL, ARG_HELP};
  longopts[N_OPT_DEFS + 1] = (struct option){"version", no_argument, NULL, ARG_VERSION};
  longopts[N_OPT_DEFS + 2] = (struct option){"config", required_argument, NULL, ARG_CONFIG};
  longopts[N_OPT_DEFS + 3] = (struct option){"no-config", no_argument, NULL, ARG_NO_CONFIG};
  longopts[N_OPT_DEFS + 4] = (struct option){"check-config", no_argument, NULL, ARG_CHECK_CONFIG};
  longopts[N_OPT_DEFS + 5] = (struct option){NULL, 0, NULL, 0};

  optind = 1;
  while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
    if (c == 'h' || c == ARG_HELP) {
      usage(stdout);
      return OPTIONS_EXIT;
    }
    if (c == 'V' || c == ARG_VERSION) {
      printf("backendd %s\n", BACKENDD_VERSION);
      return OPTIONS_EXIT;
    }
    if (c == ARG_CONFIG) {
      config = optarg;
      config_given = true;
    } else if (c == ARG_NO_CONFIG) {
      no_config = true;
    } else if (c == ARG_CHECK_CONFIG) {
      check = true;
    } else if (c >= 0 && (size_t)c < N_OPT_DEFS) {
      flags[c] = optarg != NULL ? optarg : "yes"; /* a bare flag means yes */
    } else {
      usage(stderr);
      return -EINVAL;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "backendd: unexpected argument '%s' (see backendd --help)\n", argv[optind]);
    return -EINVAL;
  }
  if (config_given && (no_config || *config == '\0')) {
    fprintf(stderr, "backendd: --config: %s\n", no_config ? "cannot be combined with --no-config" : "empty path (--no-config reads no file)");
    return -EINVAL;
  }
  if (!no_config && (err = conffile_load(o, config, config_given)) < 0)
    return err;
  if ((err = apply_environment(o)) < 0)
    return err;
  for (size_t i = 0; i < N_OPT_DEFS; i++) {
    snprintf(where, sizeof where, "--%s", options_table[i].name);
    if (flags[i] != NULL && (err = options_set(o, &options_table[i], flags[i], where)) < 0)
      return err;
  }
  if ((err = fill_defaults(o)) < 0)
    return err;
  if (check) {
    conffile_write(stdout, o);
    options_free(o); /* nothing runs on them */
    return fflush(stdout) == 0 ? OPTIONS_EXIT : -EIO;
  }
  return OPTIONS_RUN;
}

void options_free(struct options *o) {
  free(o->socket_path);
  free(o->plugin_path_arg);
  free(o->cache_path);
  free(o->config_path);
  if (o->plugin_dirs != NULL)
    for (char **d = o->plugin_dirs; *d != NULL; d++)
      free(*d);
  free(o->plugin_dirs);
  memset(o, 0, sizeof *o);
}
