#define _GNU_SOURCE
#include "dist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"
#include "security.h"

#define DIST_INFO_SUFFIX ".dist-info"
#define MAX_METADATA_FILE (256 * 1024)
#define MAX_ENTRY_POINTS_FILE (64 * 1024)
/*
 * inih as Debian builds it reads a line into 200 bytes: the text, its newline and the NUL.
 * A longer line is cut, and at 199 characters the newline is read as one more line, which
 * shifts every line number inih reports after it.
 */
#define MAX_LINE 198

bool dist_group_is_variant(const char *group) { return strcmp(group, VARIANT_GROUP) == 0; }

bool dist_group_is_backend(const char *group) {
  size_t n = strlen(group), s = strlen(BACKEND_GROUP_SUFFIX);
  return n > s && strcmp(group + n - s, BACKEND_GROUP_SUFFIX) == 0;
}

bool file_id_equal(const struct file_id *a, const struct file_id *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

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

/* Reads a whole regular file of at most max bytes, NUL-terminated. Returns 0 or -errno / -EFBIG. */
static int read_small_file(const char *path, size_t max, char **out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err = 0;
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) < 0)
    err = -errno;
  else if (!S_ISREG(st.st_mode))
    err = -EINVAL;
  else if ((size_t)st.st_size > max)
    err = -EFBIG;
  else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
    err = -ENOMEM;
  while (err == 0 && len < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      err = n < 0 ? -errno : -EIO;
    else
      len += (size_t)n;
  }
  close(fd);
  if (err < 0) {
    free(buf);
    return err;
  }
  buf[len] = '\0';
  *out = buf;
  return 0;
}

static void entry_point_free(struct entry_point *ep) {
  free(ep->group);
  free(ep->name);
  free(ep->value);
  free(ep->module);
  free(ep->attr);
  free(ep->file);
  free(ep->reason);
}

static void distribution_free(struct distribution *d) {
  for (size_t i = 0; i < d->n_eps; i++)
    entry_point_free(&d->eps[i]);
  free(d->eps);
  free(d->name);
  free(d->key);
  free(d->version);
  free(d->path);
  free(d->reason);
}

void dist_set_free(struct dist_set *s) {
  for (size_t i = 0; i < s->n; i++)
    distribution_free(&s->dists[i]);
  free(s->dists);
  memset(s, 0, sizeof *s);
}

static void set_state(enum ep_state *state, char **reason, enum ep_state st, char *why) {
  *state = st;
  free(*reason);
  *reason = why;
}

/*
 * METADATA is an RFC 822 header block: "Name: x", "Version: 1.0", continuation lines
 * starting with white space; the body after the first blank line is the description.
 */
static char *parse_metadata(char *text, struct distribution *d) {
  char *line, *rest = text;
  while ((line = strsep(&rest, "\n")) != NULL) { /* strsep, unlike strtok, sees blank lines */
    char *colon, *value;
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    if (n == 0)
      break;
    if (line[0] == ' ' || line[0] == '\t' || (colon = strchr(line, ':')) == NULL)
      continue;
    *colon = '\0';
    for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
      ;
    if (strcasecmp(line, "Name") == 0 && d->name == NULL)
      d->name = strdup(value);
    else if (strcasecmp(line, "Version") == 0 && d->version == NULL)
      d->version = strdup(value);
  }
  if (d->name == NULL || *d->name == '\0')
    return strdup("METADATA has no Name");
  if (d->version == NULL || *d->version == '\0')
    return strdup("METADATA has no Version");
  return NULL;
}

struct ep_parse {
  struct distribution *d;
  int oom;
};

static int on_entry_point(void *user, const char *section, const char *name, const char *value) {
  struct ep_parse *p = user;
  struct distribution *d = p->d;
  struct entry_point *grown = realloc(d->eps, (d->n_eps + 1) * sizeof *grown), *ep;
  if (grown == NULL) {
    p->oom = 1;
    return 0;
  }
  d->eps = grown;
  ep = memset(&d->eps[d->n_eps++], 0, sizeof *ep);
  ep->group = strdup(section);
  ep->name = strdup(name);
  ep->value = strdup(value);
  if (ep->group == NULL || ep->name == NULL || ep->value == NULL)
    p->oom = 1;
  return !p->oom;
}

static char *parse_entry_points(const char *path, struct distribution *d) {
  struct ep_parse p = {d, 0};
  char *text = NULL, *why = NULL;
  int err = read_small_file(path, MAX_ENTRY_POINTS_FILE, &text), line = 1;
  if (err == -ENOENT)
    return NULL; /* a distribution without entry points provides no plugin: fine */
  if (err < 0)
    return fmt("%s: %s", path, err == -EFBIG ? "larger than 64 KiB" : strerror(-err));
  for (const char *s = text; *s != '\0'; line++) {
    size_t n = strcspn(s, "\n");
    if (n > MAX_LINE) {
      why = fmt("%s:%d: line longer than %d characters", path, line, MAX_LINE);
      break;
    }
    s += n + (s[n] == '\n');
  }
  if (why == NULL && (err = ini_parse_string(text, on_entry_point, &p)) != 0)
    why = p.oom ? strdup("out of memory") : fmt("%s:%d: not a valid line (expected [group] or name = value)", path, err);
  if (why != NULL) { /* inih goes on past a bad line: drop what it read, the file is unusable */
    for (size_t i = 0; i < d->n_eps; i++)
      entry_point_free(&d->eps[i]);
    free(d->eps);
    d->eps = NULL;
    d->n_eps = 0;
  }
  free(text);
  return why;
}

static void stat_file_id(const struct stat *st, struct file_id *id) {
  id->dev = st->st_dev;
  id->ino = st->st_ino;
  id->size = st->st_size;
  id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* "pkg.module" -> the first <dir>/pkg/module.so on the search path. */
static void resolve_module(struct entry_point *ep, char *const *dirs, bool check_security) {
  char *rel = fmt("%s.so", ep->module), *path = NULL, why[512];
  struct stat st;
  if (rel == NULL)
    return;
  for (char *p = rel; *p != '\0' && strcmp(p, ".so") != 0; p++)
    if (*p == '.')
      *p = '/';
  for (char *const *dir = dirs; *dir != NULL && ep->file == NULL; dir++) {
    free(path);
    if ((path = fmt("%s/%s", *dir, rel)) != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      ep->file = path;
      path = NULL;
      stat_file_id(&st, &ep->file_id);
    }
  }
  free(path);
  if (ep->file == NULL)
    set_state(&ep->state, &ep->reason, EP_FAILED, fmt("module '%s' not found: no %s in any plugin directory", ep->module, rel));
  else if (check_security && security_check_path(ep->file, why, sizeof why) < 0)
    set_state(&ep->state, &ep->reason, EP_REFUSED, fmt("insecure plugin file: %s", why));
  free(rel);
}

static bool listed_before(const struct distribution *d, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (strcmp(d->eps[j].group, d->eps[i].group) == 0 && strcmp(d->eps[j].name, d->eps[i].name) == 0)
      return true;
  return false;
}

static void check_entry_points(struct distribution *d, char *const *dirs, bool check_security) {
  for (size_t i = 0; i < d->n_eps; i++) {
    struct entry_point *ep = &d->eps[i];
    const char *bad;
    if (!dist_group_is_backend(ep->group) && !dist_group_is_variant(ep->group))
      continue; /* other tools' groups are none of our business */
    if (listed_before(d, i))
      set_state(&ep->state, &ep->reason, EP_FAILED, fmt("entry point '%s' appears twice in [%s]", ep->name, ep->group));
    else if ((bad = names_parse_object_ref(ep->value, &ep->module, &ep->attr)) != NULL)
      set_state(&ep->state, &ep->reason, EP_FAILED, fmt("invalid object reference '%s': %s", ep->value, bad));
    else
      resolve_module(ep, dirs, check_security);
  }
}

/* Is path there and insecure? A missing file is not a security matter: reading it reports it. */
static bool insecure(const char *path, char *why, size_t why_len) {
  int err = security_check_path(path, why, why_len);
  return err < 0 && err != -ENOENT;
}

/* The name in a directory name "<name>-<version>.dist-info" (a version holds no '-'). */
static char *name_from_dir(const char *entry) {
  size_t n = strlen(entry) - strlen(DIST_INFO_SUFFIX);
  const char *dash = memrchr(entry, '-', n);
  return strndup(entry, dash != NULL && dash != entry ? (size_t)(dash - entry) : n);
}

/* Reads one .dist-info directory into *d (which records any problem). */
static int read_distribution(const char *dir, const char *entry, char *const *dirs, bool check_security,
                             struct distribution *d) {
  char *meta_path, *ep_path, *text = NULL, *why = NULL, sec[512];
  int err;
  memset(d, 0, sizeof *d);
  d->path = fmt("%s/%s", dir, entry);
  meta_path = fmt("%s/METADATA", d->path);
  ep_path = fmt("%s/entry_points.txt", d->path);
  if (d->path == NULL || meta_path == NULL || ep_path == NULL) {
    free(meta_path);
    free(ep_path);
    return -ENOMEM;
  }
  if (check_security && (insecure(meta_path, sec, sizeof sec) || insecure(ep_path, sec, sizeof sec))) {
    set_state(&d->state, &d->reason, EP_REFUSED, fmt("insecure distribution metadata: %s", sec));
  } else if ((err = read_small_file(meta_path, MAX_METADATA_FILE, &text)) < 0) {
    set_state(&d->state, &d->reason, EP_FAILED, fmt("%s: %s", meta_path, err == -EFBIG ? "larger than 256 KiB" : strerror(-err)));
  } else if ((why = parse_metadata(text, d)) != NULL || (why = parse_entry_points(ep_path, d)) != NULL) {
    set_state(&d->state, &d->reason, EP_FAILED, why);
  } else {
    check_entry_points(d, dirs, check_security);
  }
  if (d->name == NULL) /* name the distribution after its directory so it can be listed */
    d->name = name_from_dir(entry);
  d->key = d->name != NULL ? names_normalize_dist(d->name) : NULL;
  free(text);
  free(meta_path);
  free(ep_path);
  return d->name != NULL && d->key != NULL ? 0 : -ENOMEM;
}

static int is_dist_info(const struct dirent *e) {
  size_t n = strlen(e->d_name), s = strlen(DIST_INFO_SUFFIX);
  return n > s && strcmp(e->d_name + n - s, DIST_INFO_SUFFIX) == 0 && e->d_name[0] != '.';
}

static struct distribution *find_dist(struct dist_set *s, const char *key) {
  for (size_t i = 0; i < s->n; i++)
    if (s->dists[i].key != NULL && strcmp(s->dists[i].key, key) == 0)
      return &s->dists[i];
  return NULL;
}

/* Reads one distribution and appends it to out; the first of a name wins, as on sys.path. */
static int add_distribution(const char *dir, const char *entry, char *const *dirs, bool check_security,
                            struct dist_set *out) {
  struct distribution d, *first, *grown = NULL;
  int err = read_distribution(dir, entry, dirs, check_security, &d);
  if (err == 0 && (first = find_dist(out, d.key)) != NULL) {
    for (size_t j = 0; j < d.n_eps; j++)
      entry_point_free(&d.eps[j]);
    d.n_eps = 0;
    set_state(&d.state, &d.reason, EP_REFUSED, fmt("shadowed by %s, earlier on the plugin path", first->path));
  }
  if (err == 0 && (grown = realloc(out->dists, (out->n + 1) * sizeof *grown)) == NULL)
    err = -ENOMEM;
  if (err < 0) {
    distribution_free(&d);
    return err;
  }
  out->dists = grown;
  out->dists[out->n++] = d;
  return 0;
}

static int scan_dir(const char *dir, char *const *dirs, bool check_security, struct dist_set *out) {
  struct dirent **entries;
  int n = scandir(dir, &entries, is_dist_info, alphasort), err = 0;
  if (n < 0)
    return 0; /* a missing plugin directory is normal (nothing installed there) */
  for (int i = 0; i < n; i++) {
    if (err == 0)
      err = add_distribution(dir, entries[i]->d_name, dirs, check_security, out);
    free(entries[i]);
  }
  free(entries);
  return err;
}

int dist_scan(char *const *dirs, bool check_security, struct dist_set *out) {
  int err = 0;
  memset(out, 0, sizeof *out);
  for (char *const *dir = dirs; *dir != NULL && err == 0; dir++)
    err = scan_dir(*dir, dirs, check_security, out);
  if (err < 0)
    dist_set_free(out);
  return err;
}
