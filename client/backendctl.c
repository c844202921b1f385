/* backendctl: ask backendd one question from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <backend/client.h>
#include <jansson.h>

#include "config.h"
#include "ctl-params.h"
#include "ctl-print.h"
#include "json.h"

#define PROG "backendctl"
#define DEFAULT_TIMEOUT_MS 10000

/* Exit statuses (documented in --help). */
enum {
  EXIT_OK = 0,
  EXIT_REMOTE = 1,      /* the daemon answered an error, or the answer could not be printed */
  EXIT_USAGE = 2,
  EXIT_UNREACHABLE = 3, /* no connection, or no answer on it */
};

struct command {
  const char *name;
  const char *args;   /* argument synopsis for --help */
  int min_args;
  int max_args;       /* -1: any number */
  const char *method;
  ctl_params *params; /* builds the named parameters from the arguments; NULL: none */
  const char *help;
  ctl_printer *print;
};

/* A new command is a row here, plus a printer (ctl-print*.c) and a params builder (ctl-params.c). */
static const struct command commands[] = {
  {"ping", "", 0, 0, "daemon.ping", NULL, "check that the daemon answers, and how fast", ctl_print_ping},
  {"info", "", 0, 0, "daemon.info", NULL, "version, pid, uptime, socket, plugin path, cache, counters", ctl_print_info},
  {"methods", "", 0, 0, "daemon.methods", NULL, "list the methods the daemon serves, with their parameters",
   ctl_print_methods},
  {"reload", "", 0, 0, "daemon.reload", NULL, "rescan plugins (as SIGHUP does) and show what changed", ctl_print_reload},
  {"plugins", "", 0, 0, "plugins.list", NULL, "every installed distribution and plugin: state, and why when not ok",
   ctl_print_plugins},
  {"configs", "[NS...]", 0, -1, "variant.configs", ctl_params_configs,
   "variant properties this machine supports, per namespace, most preferred first", ctl_print_configs},
  {"validate", "PROP...", 1, -1, "variant.validate", ctl_params_properties,
   "is each 'namespace :: feature :: value' valid, and why not", ctl_print_validate},
  {"build-setup", "PROP...", 1, -1, "variant.build_setup", ctl_params_properties,
   "build variables for a variant made of these properties", ctl_print_build_setup},
  {"resolve", "FILE", 1, 1, "variant.resolve", ctl_params_resolve,
   "which variants of a *-variants.json this machine supports, best first", ctl_print_resolve},
  {"backends", "HOST", 1, 1, "backend.list", ctl_params_host,
   "a host library's backends: trust, aliases, functions; the refused ones and why", ctl_print_backends},
  {"describe", "HOST FUNCTION", 2, 2, "backend.describe", ctl_params_describe,
   "a host function's signature and doc, with the backends' own parameters merged in", ctl_print_describe},
};

struct options {
  const char *socket; /* NULL: backend_default_socket() */
  int json;
  int timeout_ms;     /* -1: forever */
};

static void usage(FILE *out) {
  fprintf(out,
          "Usage: " PROG " [--socket PATH] [--json] [--timeout MS] COMMAND [ARG...]\n"
          "\n"
          "Query backendd, the backend and variant plugin daemon.\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    char synopsis[64];
    snprintf(synopsis, sizeof synopsis, "%s %s", commands[i].name, commands[i].args);
    fprintf(out, "  %-22s %s\n", synopsis, commands[i].help);
  }
  fprintf(out,
          "\n"
          "Options:\n"
          "  -s, --socket PATH  daemon socket (default: $BACKENDD_SOCKET, else\n"
          "                     $XDG_RUNTIME_DIR/backendd/backendd.sock when it exists and\n"
          "                     not root, else /run/backendd/backendd.sock)\n"
          "  -j, --json         print the result as JSON\n"
          "  -t, --timeout MS   how long to wait for the daemon, connecting and answering\n"
          "                     (default %d; 0: forever)\n"
          "  -h, --help         show this help\n"
          "  -V, --version      show the version\n"
          "\n"
          "Exit status:\n"
          "  0  success\n"
          "  1  the daemon answered with an error (or the answer could not be printed)\n"
          "  2  usage error, or an argument that cannot be used (an unreadable FILE)\n"
          "  3  the daemon could not be reached or did not answer (not running, no\n"
          "     permission, timeout, connection lost)\n",
          DEFAULT_TIMEOUT_MS);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;

  fputs(PROG ": ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry '" PROG " --help' for more information.\n", stderr);
  return EXIT_USAGE;
}

static const struct command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct options *o) {
  static const struct option longopts[] = {
    {"socket", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"timeout", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  int opt;

  opterr = 0; /* we print our own messages */
  while ((opt = getopt_long(argc, argv, ":s:jt:hV", longopts, NULL)) != -1) {
    switch (opt) {
    case 's':
      o->socket = optarg;
      break;
    case 'j':
      o->json = 1;
      break;
    case 't': {
      char *end;
      errno = 0;
      long ms = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || ms < 0 || ms > INT32_MAX)
        return usage_error("invalid timeout '%s' (milliseconds, 0: forever)", optarg);
      o->timeout_ms = ms == 0 ? -1 : (int)ms;
      break;
    }
    case 'h':
      usage(stdout);
      return EXIT_OK;
    case 'V':
      printf(PROG " " BACKENDD_VERSION "\n");
      return EXIT_OK;
    case ':':
      return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  return -1;
}

static int print_json(const msgpack_object *result) {
  json_t *j = proto_json_from_msgpack(result);
  char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;

  json_decref(j);
  if (!text)
    return -ENOMEM;
  puts(text);
  free(text);
  return 0;
}

static double ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int run(const struct command *cmd, const struct options *o, const msgpack_sbuffer *params) {
  char path[4096];
  const char *socket = o->socket;
  struct ctl_call call = {.method = cmd->method};
  backend_client *c;
  backend_reply *r;
  struct timespec t0;
  int err, left_ms;

  if (!socket) {
    err = backend_default_socket(path, sizeof path);
    if (err) {
      fprintf(stderr, PROG ": cannot choose the default socket: %s\n", backend_strerror(err));
      return EXIT_UNREACHABLE;
    }
    socket = path;
  }
  /* One timeout for connecting and answering. */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  err = backend_client_connect_timeout(socket, o->timeout_ms, &c);
  if (err == -ETIMEDOUT) {
    fprintf(stderr, PROG ": cannot connect to %s: no room within %d ms (is backendd hung?)\n", socket, o->timeout_ms);
    return EXIT_UNREACHABLE;
  }
  if (err) {
    fprintf(stderr, PROG ": cannot connect to %s: %s%s\n", socket, backend_strerror(err),
            err == -ENOENT || err == -ECONNREFUSED ? " (is backendd running?)" : "");
    return EXIT_UNREACHABLE;
  }
  left_ms = o->timeout_ms;
  if (left_ms >= 0 && (left_ms -= (int)ms_since(&t0)) < 0)
    left_ms = 0;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  err = backend_client_call(c, cmd->method, params->data, params->size, left_ms, &r);
  call.elapsed_ms = ms_since(&t0);
  backend_client_free(c);

  if (err == BACKEND_EREMOTE) {
    fprintf(stderr, PROG ": %s: %s: %s\n", cmd->method, r->error_code, r->error_message);
    backend_reply_free(r);
    return EXIT_REMOTE;
  }
  if (err == -ETIMEDOUT) {
    fprintf(stderr, PROG ": %s: no answer within %d ms\n", cmd->method, o->timeout_ms);
    return EXIT_UNREACHABLE;
  }
  if (err) {
    fprintf(stderr, PROG ": %s: %s\n", cmd->method, backend_strerror(err));
    return EXIT_UNREACHABLE;
  }

  err = o->json ? print_json(&r->result) : cmd->print(stdout, &r->result, &call);
  backend_reply_free(r);
  if (err) {
    fprintf(stderr, PROG ": %s: cannot print the result: %s\n", cmd->method, backend_strerror(err));
    return EXIT_REMOTE;
  }
  return EXIT_OK;
}

int main(int argc, char **argv) {
  struct options o = {.timeout_ms = DEFAULT_TIMEOUT_MS};
  const struct command *cmd;
  msgpack_sbuffer params;
  msgpack_packer pk;
  char why[512];
  int nargs, status = parse_options(argc, argv, &o);

  if (status >= 0)
    return status;
  if (optind >= argc)
    return usage_error("missing command");
  cmd = find_command(argv[optind]);
  if (!cmd)
    return usage_error("unknown command '%s'", argv[optind]);
  nargs = argc - optind - 1;
  if (nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args))
    return usage_error("usage: " PROG " %s %s", cmd->name, cmd->args);

  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  if (cmd->params != NULL && cmd->params(&pk, nargs, argv + optind + 1, why, sizeof why) < 0) {
    msgpack_sbuffer_destroy(&params);
    fprintf(stderr, PROG ": %s: %s\n", cmd->name, why);
    return EXIT_USAGE;
  }
  status = run(cmd, &o, &params);
  msgpack_sbuffer_destroy(&params);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    perror(PROG ": write error");
    return status ? status : EXIT_REMOTE;
  }
  return status;
}
