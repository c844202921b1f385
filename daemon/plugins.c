#define _GNU_SOURCE
#include "plugins.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/plugin.h"
#include "daemon.h"
#include "log.h"
#include "plugin_code.h"
#include "reload.h"
#include "scan.h"

struct plugins {
  struct daemon *d;
  struct plugin_set *current;
  struct scan_pool *pool;
  /* The reload pass being built. */
  struct reload_pass *pass;
  struct plugin_set *next;
  size_t pending_scans;
  int error; /* building next failed: keep current */
};

const char *ep_state_name(enum ep_state state) {
  return state == EP_OK ? "ok" : state == EP_FAILED ? "failed" : "refused";
}

static void scan_result_unref(struct scan_result *s) {
  if (s == NULL || --s->refs > 0)
    return;
  free(s->file);
  free(s->symbol);
  free(s->reason);
  plugin_info_free(&s->info);
  free(s);
}

void plugin_ref(struct plugin *p) { p->refs++; }

void plugin_unref(struct plugin *p) {
  if (p == NULL || --p->refs > 0)
    return;
  plugin_code_unload(p);
  pthread_mutex_destroy(&p->lock);
  scan_result_unref(p->scan);
  free(p->dist_name);
  free(p->dist_key);
  free(p->dist_version);
  free(p->dist_path);
  free(p->group);
  free(p->name);
  free(p->value);
  free(p->file);
  free(p->symbol);
  free(p->reason);
  free(p->lazy_ids);
  free(p);
}

static void plugin_set_free(struct plugin_set *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    plugin_unref(s->plugins[i]);
  free(s->plugins);
  dist_set_free(&s->dists);
  free(s);
}

const struct plugin_set *plugins_current(const struct daemon *d) { return d->plugins->current; }

struct plugin *plugins_find(const struct daemon *d, const char *group, const char *name) {
  const struct plugin_set *s = d->plugins->current;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->plugins[i]->group, group) == 0 && strcmp(s->plugins[i]->name, name) == 0)
      return s->plugins[i];
  return NULL;
}

static void set_reason(struct plugin *p, enum ep_state state, const char *reason) {
  p->state = state;
  free(p->reason);
  p->reason = reason != NULL ? strdup(reason) : NULL;
}

/* Takes a scan result's verdict, and notes which lazy libraries the plugin's functions would load. */
static void adopt_scan(struct plugin *p, struct scan_result *s) {
  s->refs++;
  p->scan = s;
  set_reason(p, s->state, s->reason);
  if (p->state == EP_OK && plugin_code_record_lazy(p) < 0)
    set_reason(p, EP_FAILED, "out of memory recording its lazy libraries");
}

static struct plugin *plugin_from_entry_point(const struct distribution *dist, const struct entry_point *ep) {
  struct plugin *p = calloc(1, sizeof *p);
  enum plugin_kind kind = dist_group_is_variant(ep->group) ? PLUGIN_VARIANT : PLUGIN_BACKEND;
  const char *symbol = ep->attr != NULL ? ep->attr : kind == PLUGIN_VARIANT ? VARIANT_PLUGIN_SYMBOL : BACKEND_ADAPTER_SYMBOL;
  if (p == NULL)
    return NULL;
  p->refs = 1;
  pthread_mutex_init(&p->lock, NULL);
  p->kind = kind;
  p->file_id = ep->file_id;
  p->state = ep->state;
  p->dist_name = strdup(dist->name);
  p->dist_key = strdup(dist->key);
  p->dist_version = strdup(dist->version != NULL ? dist->version : "");
  p->dist_path = strdup(dist->path);
  p->group = strdup(ep->group);
  p->name = strdup(ep->name);
  p->value = strdup(ep->value);
  p->symbol = strdup(symbol);
  p->file = ep->file != NULL ? strdup(ep->file) : NULL;
  p->reason = ep->reason != NULL ? strdup(ep->reason) : NULL;
  if (!p->dist_name || !p->dist_key || !p->dist_version || !p->dist_path || !p->group || !p->name || !p->value || !p->symbol ||
      (ep->file && !p->file) || (ep->reason && !p->reason)) {
    plugin_unref(p);
    return NULL;
  }
  return p;
}

static bool same_entry_point(const struct plugin *a, const struct plugin *b) {
  return strcmp(a->dist_key, b->dist_key) == 0 && strcmp(a->group, b->group) == 0 && strcmp(a->name, b->name) == 0;
}

static bool same_contents(const struct plugin *a, const struct plugin *b) {
  return strcmp(a->dist_version, b->dist_version) == 0 && strcmp(a->dist_path, b->dist_path) == 0 &&
         strcmp(a->value, b->value) == 0 &&
         ((a->file == NULL && b->file == NULL) ||
          (a->file != NULL && b->file != NULL && strcmp(a->file, b->file) == 0 && file_id_equal(&a->file_id, &b->file_id)));
}

/* Did a and b find the same lazy libraries? Only when both recorded some: other differences are same_contents'. */
static bool same_lazy(const struct plugin *a, const struct plugin *b) {
  if (a->lazy_ids == NULL || b->lazy_ids == NULL)
    return true;
  if (a->scan->info.n_functions != b->scan->info.n_functions)
    return false;
  for (size_t i = 0; i < a->scan->info.n_functions; i++)
    if (!file_id_equal(&a->lazy_ids[i], &b->lazy_ids[i]))
      return false;
  return true;
}

/* A scan of the same file contents, symbol and kind done before: not repeated (failed ones included). */
static struct scan_result *find_scan(const struct plugin_set *old, const struct plugin *p) {
  for (size_t i = 0; old != NULL && i < old->n; i++) {
    struct scan_result *s = old->plugins[i]->scan;
    if (s != NULL && s->kind == p->kind && strcmp(s->file, p->file) == 0 && strcmp(s->symbol, p->symbol) == 0 &&
        file_id_equal(&s->file_id, &p->file_id))
      return s;
  }
  return NULL;
}

static void finish_reload(struct plugins *ps);

struct scan_ctx {
  struct plugins *ps;
  struct plugin *p;
};

static void on_scanned(void *arg, const msgpack_object *desc, const char *why) {
  struct scan_ctx *ctx = arg;
  struct plugin *p = ctx->p;
  struct scan_result *s;
  char reason[1024];
  if (desc == NULL && why == NULL) { /* cancelled: the daemon is stopping */
    plugin_unref(p);
    free(ctx);
    return;
  }
  s = calloc(1, sizeof *s);
  if (s != NULL && (s->file = strdup(p->file)) != NULL && (s->symbol = strdup(p->symbol)) != NULL) {
    s->refs = 1; /* ours until the plugin adopts it */
    s->kind = p->kind;
    s->file_id = p->file_id;
    s->state = EP_OK;
    if (desc == NULL) {
      s->state = EP_FAILED;
      s->reason = strdup(why);
    } else if (plugin_info_parse(desc, p->kind, &s->info, reason, sizeof reason) < 0) {
      s->state = EP_FAILED;
      s->reason = strdup(reason);
    }
    adopt_scan(p, s);
  } else {
    set_reason(p, EP_FAILED, "out of memory recording the scan");
  }
  scan_result_unref(s); /* the plugin holds it now */
  plugin_unref(p);
  if (--ctx->ps->pending_scans == 0)
    finish_reload(ctx->ps);
  free(ctx);
}

static int start_scan(struct plugins *ps, struct plugin *p) {
  struct scan_ctx *ctx = malloc(sizeof *ctx);
  int err;
  if (ctx == NULL)
    return -ENOMEM;
  *ctx = (struct scan_ctx){ps, p};
  plugin_ref(p);
  ps->pending_scans++;
  ps->d->stats.plugin_scans++;
  if ((err = scan_submit(ps->pool, plugin_kind_name(p->kind), p->file, p->symbol, on_scanned, ctx)) < 0) {
    ps->pending_scans--;
    plugin_unref(p);
    free(ctx);
  }
  return err;
}

/* The new snapshot's entry for one entry point: the old plugin itself when nothing changed. */
static int add_plugin(struct plugins *ps, struct plugin_set *next, const struct distribution *dist,
                      const struct entry_point *ep) {
  const struct plugin_set *old = ps->current;
  struct plugin *p = plugin_from_entry_point(dist, ep), **grown;
  struct scan_result *s;
  int err = 0;
  if (p == NULL || (grown = realloc(next->plugins, (next->n + 1) * sizeof *grown)) == NULL) {
    plugin_unref(p);
    return -ENOMEM;
  }
  next->plugins = grown;
  for (size_t i = 0; old != NULL && i < old->n; i++)
    if (same_entry_point(old->plugins[i], p) && same_contents(old->plugins[i], p) && p->state == EP_OK &&
        old->plugins[i]->scan != NULL && plugin_code_lazy_unchanged(old->plugins[i])) {
      plugin_unref(p);
      p = old->plugins[i];
      plugin_ref(p);
      next->plugins[next->n++] = p;
      return 0;
    }
  next->plugins[next->n++] = p;
  if (p->state != EP_OK)
    return 0;
  if ((s = find_scan(old, p)) != NULL)
    adopt_scan(p, s);
  else
    err = start_scan(ps, p);
  return err;
}

static bool usable_group(const char *group) { return dist_group_is_backend(group) || dist_group_is_variant(group); }

static const struct plugin *find_same(const struct plugin_set *s, const struct plugin *p) {
  for (size_t i = 0; s != NULL && i < s->n; i++)
    if (same_entry_point(s->plugins[i], p))
      return s->plugins[i];
  return NULL;
}

static void note_plugin(struct reload_pass *pass, enum reload_change kind, const struct plugin *p) {
  reload_note(pass, kind, "%s %s: %s: %s = %s", p->dist_name, p->dist_version, p->group, p->name, p->value);
}

/* What the new snapshot changes, for the reload report and the log. Problems are reported when new. */
static void report_changes(struct reload_pass *pass, const struct plugin_set *old, const struct plugin_set *next) {
  for (size_t i = 0; i < next->n; i++) {
    const struct plugin *p = next->plugins[i], *was = find_same(old, p);
    bool is_new = was == NULL, changed = was != NULL && was != p && (!same_contents(was, p) || !same_lazy(was, p));
    if (is_new)
      note_plugin(pass, RELOAD_ADDED, p);
    else if (changed)
      note_plugin(pass, RELOAD_CHANGED, p);
    if (p->state != EP_OK && (is_new || changed || was->state != p->state))
      reload_note(pass, RELOAD_FAILED, "%s %s: %s: %s = %s%s%s%s: %s: %s", p->dist_name, p->dist_version, p->group,
                  p->name, p->value, p->file ? " (" : "", p->file ? p->file : "", p->file ? ")" : "",
                  ep_state_name(p->state), p->reason);
  }
  for (size_t i = 0; old != NULL && i < old->n; i++)
    if (find_same(next, old->plugins[i]) == NULL)
      note_plugin(pass, RELOAD_REMOVED, old->plugins[i]);
  /* Distributions that could not be read at all, when newly so. */
  for (size_t i = 0; i < next->dists.n; i++) {
    const struct distribution *d = &next->dists.dists[i];
    bool known = false;
    if (d->state == EP_OK)
      continue;
    for (size_t j = 0; old != NULL && j < old->dists.n && !known; j++)
      known = strcmp(old->dists.dists[j].path, d->path) == 0 && old->dists.dists[j].state == d->state &&
              strcmp(old->dists.dists[j].reason, d->reason) == 0;
    if (!known)
      reload_note(pass, RELOAD_FAILED, "%s: %s: %s", d->path, ep_state_name(d->state), d->reason);
  }
}

static void finish_reload(struct plugins *ps) {
  struct reload_pass *pass = ps->pass;
  struct plugin_set *old = ps->current;
  ps->pass = NULL;
  if (ps->error < 0) {
    reload_note(pass, RELOAD_FAILED, "plugin discovery: %s; keeping the previous plugins", strerror(-ps->error));
    plugin_set_free(ps->next);
    ps->next = NULL;
    reload_hook_done(pass);
    return;
  }
  report_changes(pass, old, ps->next);
  ps->next->generation = old->generation + 1;
  ps->current = ps->next;
  ps->next = NULL;
  plugin_set_free(old); /* plugins still in use by calls live on until released */
  reload_hook_done(pass);
}

static void plugins_reload(struct reload_pass *pass, void *data) {
  struct plugins *ps = data;
  struct daemon *d = ps->d;
  bool check_security = geteuid() == 0 && !d->opts.allow_insecure_plugins;
  struct plugin_set *next = calloc(1, sizeof *next);
  int err = next != NULL ? dist_scan(d->opts.plugin_dirs, check_security, &next->dists) : -ENOMEM;
  ps->pass = pass;
  ps->next = next;
  ps->pending_scans = 1; /* held until every scan is submitted */
  for (size_t i = 0; err == 0 && i < next->dists.n; i++) {
    const struct distribution *dist = &next->dists.dists[i];
    for (size_t j = 0; err == 0 && j < dist->n_eps; j++)
      if (usable_group(dist->eps[j].group))
        err = add_plugin(ps, next, dist, &dist->eps[j]);
  }
  ps->error = err;
  if (--ps->pending_scans == 0)
    finish_reload(ps);
}

int plugins_init(struct daemon *d) {
  struct plugins *ps = calloc(1, sizeof *ps);
  int err;
  if (ps == NULL || (ps->current = calloc(1, sizeof *ps->current)) == NULL) {
    free(ps);
    return -ENOMEM;
  }
  ps->d = d;
  d->plugins = ps;
  if ((err = scan_pool_new(d->loop, (unsigned)(d->opts.plugin_timeout * 1000), &ps->pool)) < 0)
    return err;
  if (d->opts.allow_insecure_plugins)
    log_warning("--allow-insecure-plugins: plugin files and directories other users can write are loaded; "
                "use this for development only");
  return reload_register(d, "plugins", plugins_reload, ps);
}

void plugins_free(struct daemon *d) {
  struct plugins *ps = d->plugins;
  if (ps == NULL)
    return;
  scan_pool_free(ps->pool);
  plugin_set_free(ps->next);
  plugin_set_free(ps->current);
  free(ps);
  d->plugins = NULL;
}
