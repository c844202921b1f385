#define _GNU_SOURCE
#include "plugin_code.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/plugin.h"
#include "plugins.h"
#include "security.h"

static void file_id_of(const struct stat *st, struct file_id *id) {
  *id = (struct file_id){st->st_dev, st->st_ino, st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec};
}

/*
 * glibc returns an already loaded object when asked for the same name again, so a replaced
 * file loaded under its path would give the old code. Each load goes through its own open
 * descriptor instead: a name no other loaded object has while this one is loaded. That makes
 * a new file new code, not every load: glibc also matches device and inode, so an unchanged
 * file loaded again (a reload that replaced its plugin) gives the object already loaded, and
 * two plugins share its code and statics; dispatch.c serialises by file for that. The file
 * must still be the one discovery recorded (want), so what was checked is what is loaded.
 * O_NONBLOCK: a FIFO put in a plugin's place must not hang the opening thread.
 */
static int open_unchanged(const char *path, const struct file_id *want, struct stat *st, char *why, size_t why_len) {
  struct file_id id;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err;
  if (fd < 0) {
    err = errno; /* snprintf may change errno */
    snprintf(why, why_len, "cannot open %s: %s", path, strerror(err));
    return -err;
  }
  if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
    close(fd);
    snprintf(why, why_len, "%s is not a regular file", path);
    return -EINVAL;
  }
  file_id_of(st, &id);
  if (!file_id_equal(&id, want)) {
    close(fd);
    snprintf(why, why_len, "%s changed since the plugins were read; reload to pick up the new file", path);
    return -ESTALE;
  }
  return fd;
}

/*
 * glibc also names a loaded object after each other name that found the same file (a second
 * descriptor's /proc/self/fd/M), and keeps those names while the object stays loaded. Closing
 * such a descriptor would let its number, reused for another file, lead dlopen to this
 * object's code. So a descriptor is closed only once no loaded object answers to its name;
 * until then it is parked, and looked at again on each later release.
 */
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static int *parked;
static size_t n_parked, parked_cap;

static bool name_loaded(int fd) {
  char name[64];
  void *dl;
  snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
  if ((dl = dlopen(name, RTLD_NOW | RTLD_NOLOAD)) != NULL)
    dlclose(dl);
  return dl != NULL;
}

/* Call with parked_lock held. Out of memory, fd stays open untracked: the safe side. */
static void park(int fd) {
  int *grown;
  if (n_parked == parked_cap) {
    if ((grown = realloc(parked, (parked_cap * 2 + 4) * sizeof *grown)) == NULL)
      return;
    parked = grown;
    parked_cap = parked_cap * 2 + 4;
  }
  parked[n_parked++] = fd;
}

/* Closes fd, the descriptor a (now dlclose()d) object was loaded through, once that is safe. */
static void release_fd(int fd) {
  pthread_mutex_lock(&parked_lock);
  for (size_t i = 0; i < n_parked;)
    if (!name_loaded(parked[i])) {
      close(parked[i]);
      parked[i] = parked[--n_parked];
    } else {
      i++;
    }
  if (name_loaded(fd))
    park(fd);
  else
    close(fd);
  pthread_mutex_unlock(&parked_lock);
}

static void *create_instance(const struct plugin *p, const void *desc) {
  if (p->kind == PLUGIN_BACKEND) {
    const struct backend_adapter *a = desc;
    return a->create != NULL ? a->create() : NULL;
  }
  const struct variant_plugin *v = desc;
  return v->create != NULL ? v->create() : NULL;
}

int plugin_code_load(struct plugin *p, char *why, size_t why_len) {
  struct plugin_code *code;
  char name[64];
  const uint32_t *magic;
  struct stat st;
  int fd;
  if (p->code != NULL)
    return 0;
  if (p->state != EP_OK) {
    snprintf(why, why_len, "%s", p->reason);
    return -EINVAL;
  }
  if ((fd = open_unchanged(p->file, &p->file_id, &st, why, why_len)) < 0)
    return fd;
  if ((code = calloc(1, sizeof *code)) == NULL) {
    close(fd);
    return -ENOMEM;
  }
  code->fd = fd;
  snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
  if ((code->dl = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
    snprintf(why, why_len, "cannot load %s: %s", p->file, dlerror());
  } else if ((magic = dlsym(code->dl, p->symbol)) == NULL ||
             *magic != (p->kind == PLUGIN_BACKEND ? BACKEND_ADAPTER_MAGIC : VARIANT_PLUGIN_MAGIC) ||
             magic[1] != BACKEND_PLUGIN_ABI_VERSION) {
    snprintf(why, why_len, "%s: symbol '%s' is not the descriptor the scanner read", p->file, p->symbol);
  } else {
    code->descriptor = magic;
    code->instance = create_instance(p, magic);
    __atomic_store_n(&p->code, code, __ATOMIC_RELEASE);
    return 0;
  }
  if (code->dl != NULL)
    dlclose(code->dl);
  release_fd(fd);
  free(code);
  return -EINVAL;
}

void plugin_code_unload(struct plugin *p) {
  struct plugin_code *code = p->code;
  if (code == NULL)
    return;
  if (code->instance != NULL) {
    if (p->kind == PLUGIN_BACKEND) {
      const struct backend_adapter *a = code->descriptor;
      if (a->destroy != NULL)
        a->destroy(code->instance);
    } else {
      const struct variant_plugin *v = code->descriptor;
      if (v->destroy != NULL)
        v->destroy(code->instance);
    }
  }
  /* Every object first, then the descriptors: a library two functions share is unloaded by then. */
  for (size_t i = 0; i < code->n_functions; i++)
    if (code->lazy_dls[i] != NULL)
      dlclose(code->lazy_dls[i]);
  dlclose(code->dl);
  for (size_t i = 0; i < code->n_functions; i++)
    if (code->lazy_fds[i] >= 0)
      release_fd(code->lazy_fds[i]);
  release_fd(code->fd);
  free(code->impls);
  free(code->lazy_dls);
  free(code->lazy_fds);
  free(code);
  p->code = NULL;
}

/* "<the adapter's directory>/<f's lazy_library>". */
static int lazy_path(const struct plugin *p, const struct plugin_function *f, char *path, size_t len) {
  const char *slash = strrchr(p->file, '/');
  int n = snprintf(path, len, "%.*s/%s", slash != NULL ? (int)(slash - p->file) : 1, slash != NULL ? p->file : ".",
                   f->lazy_library);
  return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The file behind an open descriptor, by the rules security_check_path() applies to a path. */
static int check_opened(const char *path, const struct stat *st, char *why, size_t why_len) {
  if (st->st_uid != 0 && st->st_uid != geteuid()) {
    snprintf(why, why_len, "%s is owned by uid %u, neither root nor the daemon's user", path, (unsigned)st->st_uid);
    return -EPERM;
  }
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(why, why_len, "%s is writable by %s", path, (st->st_mode & S_IWOTH) ? "others" : "group");
    return -EPERM;
  }
  return 0;
}

/* Opens function fn's lazy library once, checks that descriptor and loads through it. */
static int load_lazy(struct plugin *p, size_t fn, bool check_security, void **dl, int *dl_fd, char *why,
                     size_t why_len) {
  static const struct file_id none;
  const struct plugin_function *f = &p->scan->info.functions[fn];
  char path[4096], name[64];
  struct stat st;
  int fd, err;
  if (lazy_path(p, f, path, sizeof path) < 0) {
    snprintf(why, why_len, "%s: lazy library path too long", f->name);
    return -ENAMETOOLONG;
  }
  if ((fd = open_unchanged(path, p->lazy_ids != NULL ? &p->lazy_ids[fn] : &none, &st, why, why_len)) < 0)
    return fd;
  /* The directories by path (others cannot swap entries in safe ones), the file by what was opened. */
  if (check_security &&
      ((err = security_check_path(path, why, why_len)) < 0 || (err = check_opened(path, &st, why, why_len)) < 0)) {
    close(fd);
    return err;
  }
  snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
  if ((*dl = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
    snprintf(why, why_len, "cannot load %s for %s: %s", path, f->name, dlerror());
    release_fd(fd);
    return -EINVAL;
  }
  *dl_fd = fd;
  return 0;
}

/* The per-function tables, all or none: unload walks n_functions entries of each. */
static int alloc_functions(struct plugin_code *code, size_t n) {
  backend_impl *impls = calloc(n, sizeof *impls);
  void **dls = calloc(n, sizeof *dls);
  int *fds = malloc(n * sizeof *fds);
  if (impls == NULL || dls == NULL || fds == NULL) {
    free(impls);
    free(dls);
    free(fds);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    fds[i] = -1;
  code->impls = impls;
  code->lazy_dls = dls;
  code->lazy_fds = fds;
  code->n_functions = n;
  return 0;
}

int plugin_code_backend_impl(struct plugin *p, size_t fn, bool check_security, backend_impl *impl, char *why,
                             size_t why_len) {
  const struct plugin_function *f = &p->scan->info.functions[fn];
  const struct backend_adapter *a;
  struct plugin_code *code;
  void *sym;
  int err;
  if ((err = plugin_code_load(p, why, why_len)) < 0)
    return err;
  code = p->code;
  a = code->descriptor;
  if (code->impls == NULL && alloc_functions(code, p->scan->info.n_functions) < 0) {
    snprintf(why, why_len, "out of memory loading %s", p->file);
    return -ENOMEM;
  }
  if ((*impl = code->impls[fn]) != NULL)
    return 0;
  /* The descriptor is the one the scanner read (same file), so its table has the same order. */
  if (a->functions[fn].impl != NULL) {
    *impl = code->impls[fn] = a->functions[fn].impl;
    return 0;
  }
  if (code->lazy_dls[fn] == NULL &&
      (err = load_lazy(p, fn, check_security, &code->lazy_dls[fn], &code->lazy_fds[fn], why, why_len)) < 0)
    return err;
  dlerror();
  if ((sym = dlsym(code->lazy_dls[fn], f->lazy_symbol != NULL ? f->lazy_symbol : f->name)) == NULL) {
    snprintf(why, why_len, "%s: symbol '%s' not found in %s", f->name, f->lazy_symbol != NULL ? f->lazy_symbol : f->name,
             f->lazy_library);
    return -ENOENT;
  }
  memcpy(&code->impls[fn], &sym, sizeof sym); /* POSIX: dlsym's result is the function's address */
  *impl = code->impls[fn];
  return 0;
}

/* The identity of fn's lazy library on disk now; all zero when it has none or there is no such file. */
static struct file_id lazy_id(const struct plugin *p, size_t fn) {
  const struct plugin_function *f = &p->scan->info.functions[fn];
  struct file_id id = {0};
  struct stat st;
  char path[4096];
  if (f->lazy_library != NULL && lazy_path(p, f, path, sizeof path) == 0 && stat(path, &st) == 0)
    file_id_of(&st, &id);
  return id;
}

static bool has_lazy(const struct plugin *p) {
  for (size_t i = 0; p->kind == PLUGIN_BACKEND && p->scan != NULL && i < p->scan->info.n_functions; i++)
    if (p->scan->info.functions[i].lazy_library != NULL)
      return true;
  return false;
}

int plugin_code_record_lazy(struct plugin *p) {
  size_t n = has_lazy(p) ? p->scan->info.n_functions : 0;
  free(p->lazy_ids);
  p->lazy_ids = NULL;
  if (n == 0)
    return 0;
  if ((p->lazy_ids = malloc(n * sizeof *p->lazy_ids)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    p->lazy_ids[i] = lazy_id(p, i);
  return 0;
}

bool plugin_code_lazy_unchanged(const struct plugin *p) {
  for (size_t i = 0; p->lazy_ids != NULL && i < p->scan->info.n_functions; i++) {
    struct file_id now = lazy_id(p, i);
    if (!file_id_equal(&now, &p->lazy_ids[i]))
      return false;
  }
  return true;
}
