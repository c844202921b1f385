/* backend_default_socket(): which socket to use when the caller names none. */
#include "client-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSTEM_SOCKET "/run/backendd/backendd.sock"
#define USER_SOCKET_SUFFIX "/backendd/backendd.sock"
/* Room for the user socket path while checking it exists. (<limits.h> is shadowed by
 * proto/limits.h on this target's include path, hence no PATH_MAX.) */
#define USER_PATH_MAX 4096

static int copy_path(char *buf, size_t len, const char *path) {
  size_t n = strlen(path);
  if (n >= len)
    return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  return 0;
}

/* The user socket if it exists, built into user[USER_PATH_MAX]; else NULL. */
static const char *user_socket(char *user) {
  const char *dir = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  int n;

  if (!dir || !*dir || geteuid() == 0)
    return NULL;
  n = snprintf(user, USER_PATH_MAX, "%s" USER_SOCKET_SUFFIX, dir);
  if (n < 0 || n >= USER_PATH_MAX)
    return NULL;
  if (stat(user, &st) != 0 || !S_ISSOCK(st.st_mode))
    return NULL;
  return user;
}

BACKEND_EXPORT int backend_default_socket(char *buf, size_t len) {
  const char *env = getenv("BACKENDD_SOCKET");
  char user[USER_PATH_MAX];
  const char *path;

  if (env && *env)
    return copy_path(buf, len, env);
  path = user_socket(user);
  return copy_path(buf, len, path ? path : SYSTEM_SOCKET);
}
