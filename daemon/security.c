#include "security.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_one(const char *path, char *why, size_t why_len) {
  struct stat st;
  int err;
  if (stat(path, &st) < 0) {
    err = errno; /* snprintf may change errno */
    snprintf(why, why_len, "%s: %s", path, strerror(err));
    return -err;
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    snprintf(why, why_len, "%s is owned by uid %u, neither root nor the daemon's user", path, (unsigned)st.st_uid);
    return -EPERM;
  }
  if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0)
    return 0;
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(why, why_len, "%s is writable by %s", path, (st.st_mode & S_IWOTH) ? "others" : "group");
    return -EPERM;
  }
  return 0;
}

/* Walks from path itself up to "/". path is modified. */
static int check_chain(char *path, char *why, size_t why_len) {
  int err;
  for (;;) {
    if ((err = check_one(path[0] != '\0' ? path : "/", why, why_len)) < 0 || path[0] == '\0')
      return err;
    *strrchr(path, '/') = '\0';
  }
}

int security_check_path(const char *path, char *why, size_t why_len) {
  char *resolved = realpath(path, NULL), *lexical = NULL;
  int err;
  if (resolved == NULL) {
    err = errno; /* snprintf may change errno */
    snprintf(why, why_len, "%s: %s", path, strerror(err));
    return -err;
  }
  /* A symlink is as safe as the directories holding it and the file it leads to. */
  if (path[0] == '/' && strcmp(path, resolved) != 0 && (lexical = strdup(path)) == NULL)
    err = -ENOMEM;
  else if ((err = check_chain(resolved, why, why_len)) == 0 && lexical != NULL)
    err = check_chain(lexical, why, why_len);
  free(lexical);
  free(resolved);
  return err;
}
