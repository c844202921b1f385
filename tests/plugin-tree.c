#define _GNU_SOURCE
#include "plugin-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MODE 0755
#define FILE_MODE 0644
#define MAX_COPY (64 * 1024 * 1024)

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  char *s;
  int n;
  va_start(ap, f);
  n = vasprintf(&s, f, ap);
  va_end(ap);
  return n < 0 ? NULL : s;
}

/* Creates the missing directories above path (not path itself), each with DIR_MODE. */
static int make_parents(const char *path) {
  char *copy = strdup(path);
  int err = 0;
  if (copy == NULL)
    return -ENOMEM;
  for (char *p = strchr(copy + 1, '/'); p != NULL && err == 0; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(copy, DIR_MODE) == 0)
      err = chmod(copy, DIR_MODE) < 0 ? -errno : 0; /* exact, whatever the umask */
    else if (errno != EEXIST)
      err = -errno;
    *p = '/';
  }
  free(copy);
  return err;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes data to a new file next to path, then renames it over path. */
static int write_atomic(const char *path, const char *data, size_t len) {
  const char *slash = strrchr(path, '/');
  char *tmp;
  int fd, err;
  if (slash == NULL)
    return -EINVAL;
  if ((err = make_parents(path)) < 0)
    return err;
  if ((tmp = fmt("%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)) == NULL)
    return -ENOMEM;
  if ((fd = mkstemp(tmp)) < 0) {
    err = -errno;
    free(tmp);
    return err;
  }
  if ((err = write_all(fd, data, len)) == 0 && fchmod(fd, FILE_MODE) < 0)
    err = -errno;
  if (close(fd) < 0 && err == 0)
    err = -errno;
  if (err == 0 && rename(tmp, path) < 0)
    err = -errno;
  if (err < 0)
    unlink(tmp);
  free(tmp);
  return err;
}

/* Reads a whole regular file (at most MAX_COPY bytes). */
static int read_whole(const char *path, char **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
  struct stat st;
  char *buf = NULL;
  size_t got = 0;
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) < 0)
    err = -errno;
  else if (!S_ISREG(st.st_mode) || st.st_size > MAX_COPY)
    err = -EINVAL;
  else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
    err = -ENOMEM;
  while (err == 0 && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      err = n < 0 ? -errno : -EIO;
    else
      got += (size_t)n;
  }
  close(fd);
  if (err < 0) {
    free(buf);
    return err;
  }
  *data = buf;
  *len = got;
  return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path) < 0 ? -1 : 0;
}

static int remove_tree(const char *path) {
  if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
    return errno != 0 ? -errno : -EIO;
  return 0;
}

char *plugin_tree_new(const char *tag) {
  char *root = fmt("/tmp/backendd-%s-XXXXXX", tag);
  if (root == NULL)
    return NULL;
  if (mkdtemp(root) == NULL || chmod(root, DIR_MODE) < 0) {
    free(root);
    return NULL;
  }
  return root;
}

int plugin_tree_free(const char *root) { return remove_tree(root); }

char *plugin_tree_fixture(const char *name) {
  const char *dir = getenv("BACKENDD_FIXTURES");
  char *path;
  if (dir == NULL || (path = fmt("%s/%s.so", dir, name)) == NULL)
    return NULL;
  if (access(path, R_OK) < 0) {
    free(path);
    return NULL;
  }
  return path;
}

int plugin_tree_write(const char *root, const char *rel_path, const char *text) {
  char *path = fmt("%s/%s", root, rel_path);
  int err;
  if (path == NULL)
    return -ENOMEM;
  err = write_atomic(path, text, strlen(text));
  free(path);
  return err;
}

int plugin_tree_replace(const char *root, const char *rel_path, const char *src) {
  char *path, *data = NULL;
  size_t len = 0;
  int err;
  if (src == NULL) /* as plugin_tree_fixture() returns for a fixture that was not built */
    return -EINVAL;
  path = fmt("%s/%s", root, rel_path);
  err = path == NULL ? -ENOMEM : read_whole(src, &data, &len);
  if (err == 0)
    err = write_atomic(path, data, len);
  free(data);
  free(path);
  return err;
}

int plugin_tree_add_module(const char *root, const char *module_path, const char *built_so_path) {
  char *rel = fmt("%s.so", module_path);
  int err;
  if (rel == NULL)
    return -ENOMEM;
  for (char *p = rel; p < rel + strlen(module_path); p++)
    if (*p == '.')
      *p = '/';
  err = plugin_tree_replace(root, rel, built_so_path);
  free(rel);
  return err;
}

int plugin_tree_add_dist(const char *root, const char *dist_name, const char *version,
                         const char *entry_points_txt) {
  char *meta_rel = fmt("%s-%s.dist-info/METADATA", dist_name, version);
  char *meta = fmt("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", dist_name, version);
  char *ep_rel = fmt("%s-%s.dist-info/entry_points.txt", dist_name, version);
  int err = meta_rel == NULL || meta == NULL || ep_rel == NULL ? -ENOMEM : 0;
  if (err == 0)
    err = plugin_tree_write(root, meta_rel, meta);
  if (err == 0 && entry_points_txt != NULL)
    err = plugin_tree_write(root, ep_rel, entry_points_txt);
  free(meta_rel);
  free(meta);
  free(ep_rel);
  return err;
}

int plugin_tree_add(const char *root, const char *dist_name, const char *version, const char *entry_points_txt,
                    const char *module_path, const char *built_so_path) {
  int err = plugin_tree_add_dist(root, dist_name, version, entry_points_txt);
  if (err == 0 && module_path != NULL)
    err = plugin_tree_add_module(root, module_path, built_so_path);
  return err;
}

int plugin_tree_remove_dist(const char *root, const char *dist_name, const char *version) {
  char *path = fmt("%s/%s-%s.dist-info", root, dist_name, version);
  int err;
  if (path == NULL)
    return -ENOMEM;
  err = remove_tree(path);
  free(path);
  return err;
}
