/*
 * example-host: calls one example_host function from the command line and says where it
 * ran. `example-host --print-declaration` writes the host declaration (backend-host.json),
 * which the build installs with the host's distribution.
 *
 *   example-host [--backend NAME] compute_score 1 2 3 --method exact
 *   example-host --backend exa normalize -- -1 0 2.5
 *
 * Exit status: 0, 1 when the call failed, 2 for a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_host.h"

struct cli {
  const char *socket;
  const char *function;
  float *values;
  size_t n;
  struct example_host_score_opts score; /* method, n_jobs, copy and call */
  int print_declaration;
  int has_batch_size;
  int64_t batch_size; /* passed as given, 0 too: the backend judges it (the typed option means 0 "not passed") */
  msgpack_sbuffer kwargs;
};

static void usage(FILE *f) {
  fputs("usage: example-host [OPTION...] FUNCTION [--] VALUE...\n"
        "       example-host --print-declaration\n"
        "Calls FUNCTION (compute_score, normalize, summarize) of example_host on the values and\n"
        "prints the result, the backend that ran, why the host's implementation ran instead\n"
        "(fallback) and the warnings. Put -- before negative values.\n"
        "  --backend NAME       this call's backend (default: $EXAMPLE_HOST_BACKEND, else cpu)\n"
        "  --method NAME        compute_score: fast, exact, robust; normalize: zscore, minmax\n"
        "  --n-jobs N           compute_score: threads of the host's own implementation\n"
        "  --copy               compute_score: copy=True\n"
        "  --batch-size N       the backend-only option batch_size (example_accel)\n"
        "  --socket PATH        the daemon's socket\n"
        "  --timeout MS         how long to wait for the daemon (default 60000; -1: forever)\n"
        "  --print-declaration  write the host declaration as JSON (backend-host.json) and exit\n"
        "  -h, --help           this text\n",
        f);
}

static int parse_i64(const char *s, int64_t *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return -EINVAL;
  *out = v;
  return 0;
}

static int parse_values(struct cli *c, char **argv, int argc) {
  c->n = (size_t)argc;
  if ((c->values = malloc((c->n > 0 ? c->n : 1) * sizeof *c->values)) == NULL)
    return -ENOMEM;
  for (int i = 0; i < argc; i++) {
    char *end;
    errno = 0;
    c->values[i] = strtof(argv[i], &end);
    if (errno == ERANGE || end == argv[i] || *end != '\0') {
      fprintf(stderr, "example-host: not a number: '%s'\n", argv[i]);
      return -EINVAL;
    }
  }
  return 0;
}

/* --batch-size as the extra keyword argument {"batch_size": N}. Returns 0 or 1 (out of memory). */
static int pack_batch_size(struct cli *c) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, &c->kwargs, msgpack_sbuffer_write);
  if (msgpack_pack_map(&pk, 1) != 0 || msgpack_pack_str_with_body(&pk, "batch_size", 10) != 0 ||
      msgpack_pack_int64(&pk, c->batch_size) != 0)
    return 1;
  c->score.call.kwargs = c->kwargs.data;
  c->score.call.kwargs_len = c->kwargs.size;
  return 0;
}

/* A known function, with only the options it takes: 0, or 2 (said). */
static int check_function(const struct cli *c) {
  const struct example_host_score_opts *o = &c->score;
  const char *bad = NULL;
  if (strcmp(c->function, "compute_score") == 0)
    return 0;
  if (strcmp(c->function, "normalize") == 0)
    bad = o->n_jobs != 0 ? "--n-jobs" : o->copy ? "--copy" : NULL;
  else if (strcmp(c->function, "summarize") == 0)
    bad = o->n_jobs != 0      ? "--n-jobs"
          : o->copy           ? "--copy"
          : o->method         ? "--method"
          : c->has_batch_size ? "--batch-size"
                              : NULL;
  else {
    fprintf(stderr, "example-host: unknown function '%s' (compute_score, normalize, summarize)\n", c->function);
    return 2;
  }
  if (bad == NULL)
    return 0;
  fprintf(stderr, "example-host: %s does not take %s\n", c->function, bad);
  return 2;
}

/* Returns 0, or 2 (usage error, said) / 1 (out of memory). */
static int parse(struct cli *c, int argc, char **argv) {
  enum { O_BACKEND = 256, O_METHOD, O_N_JOBS, O_COPY, O_BATCH, O_SOCKET, O_TIMEOUT, O_DECL };
  static const struct option options[] = {
      {"backend", required_argument, NULL, O_BACKEND}, {"method", required_argument, NULL, O_METHOD},
      {"n-jobs", required_argument, NULL, O_N_JOBS},   {"copy", no_argument, NULL, O_COPY},
      {"batch-size", required_argument, NULL, O_BATCH}, {"socket", required_argument, NULL, O_SOCKET},
      {"timeout", required_argument, NULL, O_TIMEOUT},  {"print-declaration", no_argument, NULL, O_DECL},
      {"help", no_argument, NULL, 'h'},                 {NULL, 0, NULL, 0}};
  int opt, rc;
  int64_t v;
  while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    switch (opt) {
    case O_BACKEND: c->score.call.backend = optarg; break;
    case O_METHOD: c->score.method = optarg; break;
    case O_COPY: c->score.copy = 1; break;
    case O_SOCKET: c->socket = optarg; break;
    case O_DECL: c->print_declaration = 1; break;
    case O_N_JOBS:
    case O_BATCH:
    case O_TIMEOUT:
      if (parse_i64(optarg, &v) < 0 || (opt != O_BATCH && (v < -1000000 || v > 1000000))) {
        fprintf(stderr, "example-host: not a valid integer: '%s'\n", optarg);
        return 2;
      }
      if (opt == O_N_JOBS && v == 0) { /* the typed option's 0 means None: say so rather than drop it */
        fprintf(stderr, "example-host: --n-jobs takes -1 or a positive integer (leave it out for None)\n");
        return 2;
      }
      if (opt == O_N_JOBS) {
        c->score.n_jobs = (int)v;
      } else if (opt == O_BATCH) {
        c->has_batch_size = 1;
        c->batch_size = v;
      } else {
        c->score.call.timeout_ms = (int)v;
      }
      break;
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); return 2;
    }
  }
  if (c->print_declaration)
    return optind == argc ? 0 : (usage(stderr), 2);
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  c->function = argv[optind++];
  if ((rc = check_function(c)) != 0)
    return rc;
  if (parse_values(c, argv + optind, argc - optind) < 0)
    return c->values == NULL ? 1 : 2;
  return c->has_batch_size ? pack_batch_size(c) : 0;
}

/* Where the call ran (after a failure only the warnings: the error says the rest). */
static void print_info(const backend_result *r, int ran) {
  if (r == NULL)
    return;
  if (ran)
    printf("backend: %s (%s)\n", r->backend ? r->backend : "?", r->trusted ? "trusted" : "untrusted");
  if (ran && r->fallback != NULL)
    printf("fallback: %s\n", r->fallback);
  for (size_t i = 0; i < r->n_warnings; i++)
    printf("warning: %s\n", r->warnings[i]);
}

static int run(example_host *eh, struct cli *c) {
  struct example_host_normalize_opts norm = {c->score.method, 0, c->score.call};
  struct example_host_summary s;
  double score;
  float *out = NULL;
  int rc;
  if (strcmp(c->function, "compute_score") == 0) {
    if ((rc = example_host_compute_score(eh, c->values, c->n, &c->score, &score)) == 0)
      printf("%.9g\n", score);
  } else if (strcmp(c->function, "normalize") == 0) {
    if ((out = malloc((c->n > 0 ? c->n : 1) * sizeof *out)) == NULL)
      return -ENOMEM;
    if ((rc = example_host_normalize(eh, c->values, c->n, &norm, out)) == 0)
      for (size_t i = 0; i < c->n; i++)
        printf("%.9g%c", out[i], i + 1 < c->n ? ' ' : '\n');
    free(out);
  } else {
    if ((rc = example_host_summarize(eh, c->values, c->n, &c->score.call, &s)) == 0)
      printf("min %.9g\nmax %.9g\nmean %.9g\nstd %.9g\ncount %llu\n", s.min, s.max, s.mean, s.std,
             (unsigned long long)s.count);
  }
  return rc;
}

int main(int argc, char **argv) {
  struct cli c = {0};
  backend_result *info = NULL;
  example_host *eh;
  char why[512];
  int rc;
  c.score.call.info = &info;
  msgpack_sbuffer_init(&c.kwargs);
  if ((rc = parse(&c, argc, argv)) == 0 && example_host_new(c.socket, &eh, why, sizeof why) < 0) {
    fprintf(stderr, "example-host: %s\n", why);
    rc = 1;
  }
  if (rc != 0) {
    msgpack_sbuffer_destroy(&c.kwargs);
    free(c.values);
    return rc;
  }
  if (c.print_declaration) {
    rc = example_host_write_declaration(eh, stdout) < 0 || fflush(stdout) != 0;
    if (rc)
      fprintf(stderr, "example-host: cannot write the declaration\n");
  } else if ((rc = run(eh, &c)) != 0) {
    if (rc == BACKEND_ECALL && info != NULL)
      fprintf(stderr, "example-host: %s failed on %s: %s: %s\n", c.function, info->backend ? info->backend : "?",
              info->error_code ? info->error_code : "?", info->error_message ? info->error_message : "?");
    else
      fprintf(stderr, "example-host: %s: %s\n", c.function, rc == -EBADMSG ? "the backend answered a malformed value"
                                                                          : backend_strerror(rc));
    print_info(info, 0);
    rc = 1;
  } else {
    print_info(info, 1);
  }
  if (info != NULL)
    backend_result_free(info);
  example_host_free(eh);
  msgpack_sbuffer_destroy(&c.kwargs);
  free(c.values);
  return rc;
}
