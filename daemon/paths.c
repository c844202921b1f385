#define _GNU_SOURCE
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char *join(const char *a, const char *b) {
  char *s;
  return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

static const char *nonempty_env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : NULL;
}

char *paths_default_socket(void) {
  const char *xdg;
  if (geteuid() == 0)
    return strdup("/run/backendd/backendd.sock");
  if ((xdg = nonempty_env("XDG_RUNTIME_DIR")) != NULL)
    return join(xdg, "/backendd/backendd.sock");
  log_error("XDG_RUNTIME_DIR is not set, so there is no default user socket: pass --socket PATH or set BACKENDD_SOCKET");
  return NULL;
}

char *paths_default_cache(void) {
  const char *dir;
  if ((dir = nonempty_env("CACHE_DIRECTORY")) != NULL) {
    /* systemd may pass several directories separated by ':'; the first is ours. */
    size_t n = strcspn(dir, ":");
    char *s;
    return asprintf(&s, "%.*s/cache.sqlite", (int)n, dir) < 0 ? NULL : s;
  }
  if (geteuid() != 0) {
    if ((dir = nonempty_env("XDG_CACHE_HOME")) != NULL)
      return join(dir, "/backendd/cache.sqlite");
    if ((dir = nonempty_env("HOME")) != NULL)
      return join(dir, "/.cache/backendd/cache.sqlite");
  }
  return strdup("/var/cache/backendd/cache.sqlite");
}

static int append_dirs(char ***dirs, size_t *n, const char *list) {
  const char *p = list;
  while (p != NULL && *p != '\0') {
    size_t len = strcspn(p, ":");
    int seen = 0;
    for (size_t i = 0; i < *n; i++)
      seen |= strlen((*dirs)[i]) == len && strncmp((*dirs)[i], p, len) == 0;
    if (len > 0 && !seen) {
      char **grown = realloc(*dirs, (*n + 2) * sizeof **dirs);
      if (grown == NULL)
        return -1;
      *dirs = grown;
      if ((grown[*n] = strndup(p, len)) == NULL)
        return -1;
      grown[++*n] = NULL;
    }
    p += len;
    if (*p == ':')
      p++;
  }
  return 0;
}

char **paths_plugin_dirs(const char *flag, const char *env) {
  char **dirs = calloc(1, sizeof *dirs);
  size_t n = 0;
  if (dirs == NULL || append_dirs(&dirs, &n, flag) < 0 || append_dirs(&dirs, &n, env) < 0 ||
      append_dirs(&dirs, &n, BACKENDD_PLUGINDIR) < 0) {
    for (size_t i = 0; dirs != NULL && i < n; i++)
      free(dirs[i]);
    free(dirs);
    return NULL;
  }
  return dirs;
}
