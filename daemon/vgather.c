#include "vgather.h"

#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "exec.h"
#include "request.h"
#include "variants.h"
#include "vcall.h"

/* Asked on this request's worker job: dynamic plugins, and every plugin when caching is off. */
static bool ask_now(const struct vgather *g, const struct vgather_item *it) {
  return it->entry->provider->scan->info.dynamic || g->table->d->opts.no_cache;
}

const struct vconfigs *vgather_configs(const struct vgather *g, size_t i, const char **why) {
  const struct vgather_item *it = &g->items[i];
  if (it->error != NULL) {
    *why = it->error;
    return NULL;
  }
  if (ask_now(g, it)) {
    *why = "the plugin gave no answer";
    return it->dynamic.ns != NULL ? &it->dynamic : NULL;
  }
  *why = it->entry->error;
  return it->entry->state == VSTATIC_READY ? &it->entry->configs : NULL;
}

static void step(void *arg) {
  struct vgather *g = arg;
  if (--g->waiting == 0)
    g->finish(g);
}

/* Worker: every dynamic provider of the request, one after another. */
static void ask_dynamic(void *arg) {
  struct vgather *g = arg;
  for (size_t i = 0; i < g->n; i++)
    if (ask_now(g, &g->items[i]))
      vcall_supported_configs(g->items[i].entry->provider, g->items[i].known, g->items[i].n_known,
                              &g->items[i].dynamic, &g->items[i].error);
}

/* Marks the dynamic items that got no answer (the job was cancelled or not queued). */
static void fail_dynamic(struct vgather *g, const char *why) {
  for (size_t i = 0; i < g->n; i++)
    if (ask_now(g, &g->items[i]) && g->items[i].error == NULL && g->items[i].dynamic.ns == NULL)
      g->items[i].error = strdup(why);
}

static void on_dynamic_done(void *arg, int status) {
  struct vgather *g = arg;
  if (status < 0)
    fail_dynamic(g, "cancelled: the client went away");
  step(g);
}

void vgather_init(struct vgather *g, struct request *req, void (*finish)(struct vgather *g), void *data) {
  memset(g, 0, sizeof *g);
  g->req = req;
  g->table = variants_table(req->daemon);
  g->finish = finish;
  g->data = data;
}

void vgather_start(struct vgather *g) {
  bool any_dynamic = false;
  g->waiting = 1; /* held until everything is started */
  for (size_t i = 0; i < g->n; i++) {
    struct vgather_item *it = &g->items[i];
    if (ask_now(g, it)) {
      any_dynamic = true;
      continue;
    }
    g->waiting++;
    if (variants_ensure_static(g->table, it->entry, step, g) < 0) {
      g->waiting--;
      it->error = strdup("out of memory");
    }
  }
  if (any_dynamic) {
    g->waiting++;
    if (exec_submit(g->table->d->exec, g->req, ask_dynamic, on_dynamic_done, g) < 0) {
      g->waiting--;
      fail_dynamic(g, "cannot queue the plugin call");
    }
  }
  step(g);
}

void vgather_clear(struct vgather *g) {
  for (size_t i = 0; i < g->n; i++) {
    vconfigs_free(&g->items[i].dynamic);
    free(g->items[i].error);
  }
  free(g->items);
  g->items = NULL;
  g->n = 0;
}
