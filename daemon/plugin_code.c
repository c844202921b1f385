#define _GNU_SOURCE
#include "plugin_code.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/plugin.h"
#include "plugins.h"
#include "security.h"

/*
 * glibc returns an already loaded object when asked for the same name again, so a replaced
 * file loaded under its path would give the old code. Each load goes through its own open
 * descriptor instead: a name no other loaded object has while this one is loaded.
 */
static int open_unchanged(const struct plugin *p, char *why, size_t why_len) {
  struct stat st;
  int fd = open(p->file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, why_len, "cannot open %s: %s", p->file, strerror(errno));
    return -errno;
  }
  if (fstat(fd, &st) < 0 || st.st_dev != p->file_id.dev || st.st_ino != p->file_id.ino ||
      st.st_size != p->file_id.size ||
      (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != p->file_id.mtime_ns) {
    close(fd);
    snprintf(why, why_len, "%s changed since it was scanned; reload to pick up the new file", p->file);
    return -ESTALE;
  }
  return fd;
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
  int fd;
  if (p->code != NULL)
    return 0;
  if (p->state != EP_OK) {
    snprintf(why, why_len, "%s", p->reason);
    return -EINVAL;
  }
  if ((fd = open_unchanged(p, why, why_len)) < 0)
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
  close(fd);
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
  for (size_t i = 0; i < code->n_functions; i++)
    if (code->lazy_dls[i] != NULL)
      dlclose(code->lazy_dls[i]);
  free(code->impls);
  free(code->lazy_dls);
  dlclose(code->dl);
  close(code->fd);
  free(code);
  p->code = NULL;
}

static int load_lazy(struct plugin *p, const struct plugin_function *f, bool check_security, void **dl, char *why,
                     size_t why_len) {
  const char *slash = strrchr(p->file, '/');
  char path[4096];
  int n = snprintf(path, sizeof path, "%.*s/%s", slash != NULL ? (int)(slash - p->file) : 1,
                   slash != NULL ? p->file : ".", f->lazy_library);
  if (n < 0 || (size_t)n >= sizeof path) {
    snprintf(why, why_len, "%s: lazy library path too long", f->name);
    return -ENAMETOOLONG;
  }
  if (check_security && security_check_path(path, why, why_len) < 0)
    return -EPERM;
  if ((*dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
    snprintf(why, why_len, "cannot load %s for %s: %s", path, f->name, dlerror());
    return -EINVAL;
  }
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
  if (code->impls == NULL) {
    code->n_functions = p->scan->info.n_functions;
    if ((code->impls = calloc(code->n_functions, sizeof *code->impls)) == NULL ||
        (code->lazy_dls = calloc(code->n_functions, sizeof *code->lazy_dls)) == NULL) {
      free(code->impls);
      code->impls = NULL;
      snprintf(why, why_len, "out of memory");
      return -ENOMEM;
    }
  }
  if ((*impl = code->impls[fn]) != NULL)
    return 0;
  /* The descriptor is the one the scanner read (same file), so its table has the same order. */
  if (a->functions[fn].impl != NULL) {
    *impl = code->impls[fn] = a->functions[fn].impl;
    return 0;
  }
  if (code->lazy_dls[fn] == NULL && (err = load_lazy(p, f, check_security, &code->lazy_dls[fn], why, why_len)) < 0)
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
