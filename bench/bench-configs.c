/*
 * bench-configs: whole-process wall time of a fresh `backendctl configs` against a warm
 * daemon, answered from the cache, beside the same with caching off (--no-cache: the daemon
 * asks the plugins on every request), and two baselines measured in the same run:
 *
 *   spawn     `backendctl --version`: starting a process that answers nothing at all;
 *   direct    a process that does what an installer would do without the daemon: load the
 *             shipped plugins' shared objects itself and call get_supported_configs.
 *
 * Runs are interleaved (cached, uncached, spawn, direct, cached, ...) so all four meet the
 * same background load; the figures are medians and 90th percentiles over --runs runs.
 *
 * Usage: bench-configs [--runs N] [--quick]
 * Environment: BACKENDD_BIN, BACKENDCTL_BIN, BACKENDD_PLUGINS (the build's plugins/ tree).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "answers.h"
#include "backend/plugin.h"

#define MAX_RUNS 10000

static const char *daemon_bin, *ctl_bin, *plugin_dir;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

/* Runs argv with stdout and stderr to /dev/null; returns its wall time in ms, or -1. */
static double run_ms(char *const *argv) {
  double t0 = now_ms();
  int status;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return -1;
  return now_ms() - t0;
}

static pid_t start_daemon(const char *socket, const char *cache, int cached) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    if (cached)
      execl(daemon_bin, daemon_bin, "--socket", socket, "--plugin-path", plugin_dir, "--cache", cache, "--log-level",
            "error", (char *)NULL);
    else
      execl(daemon_bin, daemon_bin, "--socket", socket, "--plugin-path", plugin_dir, "--no-cache", "--log-level",
            "error", (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Polls `backendctl ping` until the daemon answers (it listens once plugins are discovered). */
static int wait_ready(const char *socket) {
  char *argv[] = {(char *)ctl_bin, "--socket", (char *)socket, "ping", NULL};
  for (int i = 0; i < 500; i++) {
    if (run_ms(argv) >= 0)
      return 0;
    usleep(10000);
  }
  return -1;
}

/* The "direct" baseline, run as its own process: every shipped static plugin loaded and asked. */
static int direct_main(void) {
  static const char *const modules[] = {"backendd_x86_64/plugin.so", "backendd_glibc/plugin.so"};
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    char path[4096];
    const struct variant_plugin *v;
    variant_configs out;
    void *dl, *self;
    snprintf(path, sizeof path, "%s/%s", plugin_dir, modules[i]);
    if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL || (v = dlsym(dl, VARIANT_PLUGIN_SYMBOL)) == NULL)
      return 1;
    self = v->create != NULL ? v->create() : NULL;
    variant_configs_init(&out);
    if (v->get_supported_configs(self, NULL, 0, &out) < 0)
      return 1;
    for (size_t f = 0; f < out.n; f++)
      printf("%s :: %s :: %zu values\n", v->ns, out.features[f].name, out.features[f].values.n);
    variant_configs_clear(&out);
    if (v->destroy != NULL)
      v->destroy(self);
    dlclose(dl);
  }
  return 0;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, compare_double);
  return v[(int)(p * (n - 1) + 0.5)];
}

int main(int argc, char **argv) {
  char dir[] = "/tmp/bench-configs.XXXXXX", sock_cached[4200], sock_uncached[4200], cache[4200], self[4096];
  static double samples[4][MAX_RUNS];
  static const char *const names[4] = {"backendctl configs, cached", "backendctl configs, --no-cache",
                                       "baseline: backendctl --version", "baseline: load plugins directly"};
  int runs = 300;
  pid_t cached, uncached;
  ssize_t n;
  daemon_bin = env_or("BACKENDD_BIN", "daemon/backendd");
  ctl_bin = env_or("BACKENDCTL_BIN", "client/backendctl");
  plugin_dir = env_or("BACKENDD_PLUGINS", "plugins");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--direct") == 0)
      return direct_main();
    if (strcmp(argv[i], "--quick") == 0)
      runs = 30;
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
  }
  if (runs < 2 || runs > MAX_RUNS || mkdtemp(dir) == NULL ||
      (n = readlink("/proc/self/exe", self, sizeof self - 1)) < 0) {
    fprintf(stderr, "usage: bench-configs [--runs 2..%d] [--quick]\n", MAX_RUNS);
    return 2;
  }
  self[n] = '\0';
  snprintf(sock_cached, sizeof sock_cached, "%s/cached.sock", dir);
  snprintf(sock_uncached, sizeof sock_uncached, "%s/uncached.sock", dir);
  snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
  cached = start_daemon(sock_cached, cache, 1);
  uncached = start_daemon(sock_uncached, cache, 0);
  if (wait_ready(sock_cached) < 0 || wait_ready(sock_uncached) < 0) {
    fprintf(stderr, "bench-configs: the daemons did not start (BACKENDD_BIN=%s BACKENDD_PLUGINS=%s)\n", daemon_bin,
            plugin_dir);
    kill(cached, SIGTERM);
    kill(uncached, SIGTERM);
    return 1;
  }
  {
    char *cmds[4][6] = {
      {(char *)ctl_bin, "--socket", sock_cached, "configs", NULL},
      {(char *)ctl_bin, "--socket", sock_uncached, "configs", NULL},
      {(char *)ctl_bin, "--version", NULL},
      {self, "--direct", NULL},
    };
    for (int k = 0; k < 4; k++) /* warm-up: fills the cache, page cache and the daemons' memory */
      if (run_ms(cmds[k]) < 0) {
        fprintf(stderr, "bench-configs: '%s %s' failed\n", cmds[k][0], cmds[k][1]);
        return 1;
      }
    for (int r = 0; r < runs; r++)
      for (int k = 0; k < 4; k++)
        if ((samples[k][r] = run_ms(cmds[k])) < 0) {
          fprintf(stderr, "bench-configs: '%s %s' failed in run %d\n", cmds[k][0], cmds[k][1], r);
          return 1;
        }
  }
  kill(cached, SIGTERM);
  kill(uncached, SIGTERM);
  waitpid(cached, NULL, 0);
  waitpid(uncached, NULL, 0);
  unlink(cache);
  rmdir(dir);

  printf("whole-process wall time, %d runs each, interleaved (ms)\n\n", runs);
  printf("%-34s %8s %8s\n", "", "p50", "p90");
  for (int k = 0; k < 4; k++) {
    double p50 = percentile(samples[k], runs, 0.5), p90 = percentile(samples[k], runs, 0.9);
    printf("%-34s %8.3f %8.3f\n", names[k], p50, p90);
  }
  printf("\ntarget: cached p50 <= 2 ms: %s\n", percentile(samples[0], runs, 0.5) <= 2.0 ? "met" : "NOT met");
  return 0;
}
