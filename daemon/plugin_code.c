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
  dlclose(code->dl);
  close(code->fd);
  free(code);
  p->code = NULL;
}
