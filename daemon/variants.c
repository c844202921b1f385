#define _GNU_SOURCE
#include "variants.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "daemon.h"
#include "exec.h"
#include "log.h"
#include "message.h"
#include "reload.h"
#include "vcall.h"

struct variants {
  struct vtable *current;
  struct cache *cache;
};

struct vstatic_waiter {
  void (*cb)(void *arg);
  void *arg;
  struct vstatic_waiter *next;
};

/* ---- tables ---- */

static void vnamespace_free(struct vnamespace *e) {
  for (size_t i = 0; i < e->n_claimants; i++)
    plugin_unref(e->claimants[i]);
  free(e->claimants);
  free(e->ns);
  free(e->conflict);
  vconfigs_free(&e->configs);
  free(e->error);
}

void vtable_unref(struct vtable *t) {
  if (t == NULL || --t->refs > 0)
    return;
  for (size_t i = 0; i < t->n; i++)
    vnamespace_free(&t->ns[i]);
  free(t->ns);
  free(t);
}

struct vtable *variants_table(struct daemon *d) {
  struct vtable *t = d->variants->current;
  t->refs++;
  return t;
}

static int compare_ns(const void *a, const void *b) {
  return strcmp(((const struct vnamespace *)a)->ns, ((const struct vnamespace *)b)->ns);
}

struct vnamespace *vtable_find(struct vtable *t, const char *ns) {
  struct vnamespace key = {.ns = (char *)ns};
  return t->n > 0 ? bsearch(&key, t->ns, t->n, sizeof *t->ns, compare_ns) : NULL;
}

static struct vnamespace *find_or_add(struct vtable *t, const char *ns) {
  struct vnamespace *grown;
  for (size_t i = 0; i < t->n; i++) /* the table is sorted only once built */
    if (strcmp(t->ns[i].ns, ns) == 0)
      return &t->ns[i];
  if ((grown = realloc(t->ns, (t->n + 1) * sizeof *grown)) == NULL)
    return NULL;
  t->ns = grown;
  memset(&t->ns[t->n], 0, sizeof *t->ns);
  if ((t->ns[t->n].ns = strdup(ns)) == NULL)
    return NULL;
  return &t->ns[t->n++];
}

static int add_claimant(struct vnamespace *e, struct plugin *p) {
  struct plugin **grown = realloc(e->claimants, (e->n_claimants + 1) * sizeof *grown);
  if (grown == NULL)
    return -ENOMEM;
  e->claimants = grown;
  plugin_ref(p);
  e->claimants[e->n_claimants++] = p;
  return 0;
}

/* "namespace 'x' is provided by more than one plugin: a 1.0 (a.mod), b 2.0 (b.mod); ..." */
static char *describe_conflict(const struct vnamespace *e) {
  char *text = NULL, *more;
  if (asprintf(&text, "namespace '%s' is provided by more than one plugin:", e->ns) < 0)
    return NULL;
  for (size_t i = 0; i < e->n_claimants; i++) {
    const struct plugin *p = e->claimants[i];
    if (asprintf(&more, "%s%s %s %s (%s)", text, i ? "," : "", p->dist_name, p->dist_version, p->value) < 0) {
      free(text);
      return NULL;
    }
    free(text);
    text = more;
  }
  if (asprintf(&more, "%s; uninstall all but one", text) < 0)
    more = NULL;
  free(text);
  return more;
}

static struct vtable *build_table(struct daemon *d) {
  const struct plugin_set *s = plugins_current(d);
  struct vtable *t = calloc(1, sizeof *t);
  int err = t == NULL ? -ENOMEM : 0;
  for (size_t i = 0; err == 0 && i < s->n; i++) {
    struct plugin *p = s->plugins[i];
    struct vnamespace *e;
    if (p->kind != PLUGIN_VARIANT || p->state != EP_OK)
      continue;
    if ((e = find_or_add(t, p->scan->info.ns)) == NULL || add_claimant(e, p) < 0)
      err = -ENOMEM;
  }
  for (size_t i = 0; err == 0 && i < t->n; i++) {
    struct vnamespace *e = &t->ns[i];
    if (e->n_claimants == 1)
      e->provider = e->claimants[0];
    else if ((e->conflict = describe_conflict(e)) == NULL)
      err = -ENOMEM;
  }
  if (err < 0) {
    if (t != NULL)
      t->refs = 1;
    vtable_unref(t);
    return NULL;
  }
  t->refs = 1;
  t->d = d;
  if (t->n > 0) /* qsort and bsearch want a real array, even an empty one */
    qsort(t->ns, t->n, sizeof *t->ns, compare_ns);
  return t;
}

/* Runs after the plugins' reload hook: the new snapshot's namespaces, answers asked afresh. */
static void variants_reload(struct reload_pass *pass, void *data) {
  struct daemon *d = data;
  struct vtable *t = build_table(d);
  if (t == NULL) {
    reload_note(pass, RELOAD_FAILED, "variant namespaces: out of memory; keeping the previous table");
  } else {
    for (size_t i = 0; i < t->n; i++)
      if (t->ns[i].conflict != NULL)
        log_warning("%s", t->ns[i].conflict);
    vtable_unref(d->variants->current);
    d->variants->current = t;
  }
  reload_hook_done(pass);
}

/* ---- static answers: memory, cache, plugin ---- */

void vconfigs_pack(const struct vconfigs *c, msgpack_packer *pk) {
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "namespace");
  proto_pack_cstr(pk, c->ns);
  proto_pack_cstr(pk, "features");
  msgpack_pack_array(pk, (uint32_t)c->n_features);
  for (size_t i = 0; i < c->n_features; i++) {
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, c->features[i].name);
    proto_pack_cstr(pk, "values");
    msgpack_pack_array(pk, (uint32_t)c->features[i].n_values);
    for (size_t j = 0; j < c->features[i].n_values; j++)
      proto_pack_cstr(pk, c->features[i].values[j]);
  }
}

static char *dup_str(const msgpack_object *o) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
    return NULL;
  return strndup(o->via.str.ptr, o->via.str.size);
}

/* Reads back what vconfigs_pack stored; the cache file is a file like any other, so it is checked. */
static int vconfigs_unpack(const char *blob, size_t len, const char *ns, struct vconfigs *out) {
  msgpack_zone zone;
  msgpack_object o;
  const msgpack_object *features;
  int err = -EINVAL;
  memset(out, 0, sizeof *out);
  msgpack_zone_init(&zone, 2048);
  if (proto_decode(blob, len, &zone, &o) == 0 && (features = proto_map_get(&o, "features")) != NULL &&
      features->type == MSGPACK_OBJECT_ARRAY && (out->ns = strdup(ns)) != NULL &&
      (out->features = calloc(features->via.array.size + 1, sizeof *out->features)) != NULL) {
    err = 0;
    for (uint32_t i = 0; err == 0 && i < features->via.array.size; i++) {
      const msgpack_object *f = &features->via.array.ptr[i], *values = proto_map_get(f, "values");
      struct vfeature *vf = &out->features[out->n_features++];
      err = -EINVAL;
      if ((vf->name = dup_str(proto_map_get(f, "name"))) == NULL || vprop_check_name(vf->name) != NULL ||
          values == NULL || values->type != MSGPACK_OBJECT_ARRAY || values->via.array.size == 0 ||
          (vf->values = calloc(values->via.array.size, sizeof *vf->values)) == NULL)
        break;
      err = 0;
      for (uint32_t j = 0; err == 0 && j < values->via.array.size; j++)
        if ((vf->values[vf->n_values] = dup_str(&values->via.array.ptr[j])) == NULL ||
            vprop_check_value(vf->values[vf->n_values++]) != NULL)
          err = -EINVAL;
    }
  }
  msgpack_zone_destroy(&zone);
  if (err < 0)
    vconfigs_free(out);
  return err;
}

static void cache_key_of(const struct plugin *p, const char *fingerprint, struct cache_key *k) {
  *k = (struct cache_key){p->dist_key, p->value, p->dist_version, p->file_id, fingerprint};
}

static void settle(struct vnamespace *e) {
  struct vstatic_waiter *w = e->waiters;
  e->waiters = NULL;
  while (w != NULL) {
    struct vstatic_waiter *next = w->next;
    w->cb(w->arg);
    free(w);
    w = next;
  }
}

/* Work shared between the loop and a worker while a static answer is computed. */
struct static_job {
  struct vtable *table;
  struct vnamespace *entry;
  struct plugin *plugin;
  bool want_fingerprint; /* phase 1: only the fingerprint */
  char *fingerprint;
  struct vconfigs configs;
  char *why;
  int err;
};

static void static_job_free(struct static_job *job) {
  free(job->fingerprint);
  vconfigs_free(&job->configs);
  free(job->why);
  plugin_unref(job->plugin);
  vtable_unref(job->table);
  free(job);
}

static void on_static_work(void *ctx) {
  struct static_job *job = ctx;
  if (job->want_fingerprint)
    job->err = vcall_fingerprint(job->plugin, &job->fingerprint, &job->why);
  else
    job->err = vcall_supported_configs(job->plugin, NULL, 0, &job->configs, &job->why);
}

static void fail_static(struct vnamespace *e, char *why) {
  e->state = VSTATIC_FAILED;
  e->error = why != NULL ? why : strdup("out of memory");
  log_warning("%s", e->error);
  settle(e);
}

static void become_ready(struct vnamespace *e, struct vconfigs *c, const char *source) {
  e->configs = *c;
  memset(c, 0, sizeof *c);
  e->source = source;
  e->state = VSTATIC_READY;
  settle(e);
}

static int submit_static(struct static_job *job);

/* A cached answer for this plugin (and fingerprint) is used without calling get_supported_configs. */
static bool try_cache(struct static_job *job) {
  struct cache *cache = job->table->d->variants->cache;
  struct cache_key k;
  struct vconfigs c;
  char *blob;
  size_t len;
  cache_key_of(job->plugin, job->fingerprint, &k);
  if (cache_get(cache, &k, &blob, &len) != 1)
    return false;
  if (vconfigs_unpack(blob, len, job->entry->ns, &c) < 0) {
    free(blob);
    return false; /* a damaged entry is a miss; the plugin's answer will replace it */
  }
  free(blob);
  become_ready(job->entry, &c, "cache");
  return true;
}

static void store_in_cache(struct static_job *job) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct cache_key k;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  vconfigs_pack(&job->configs, &pk);
  cache_key_of(job->plugin, job->fingerprint, &k);
  cache_put(job->table->d->variants->cache, &k, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void on_static_done(void *ctx, int status) {
  struct static_job *job = ctx;
  struct vnamespace *e = job->entry;
  if (job->err < 0) {
    fail_static(e, job->why);
    job->why = NULL;
  } else if (job->want_fingerprint) {
    job->want_fingerprint = false;
    if (!try_cache(job)) {
      if (submit_static(job) == 0)
        return; /* now the plugin's answer itself */
      fail_static(e, strdup("cannot queue the plugin call"));
    }
  } else {
    store_in_cache(job);
    become_ready(e, &job->configs, "plugin");
  }
  static_job_free(job);
}

static int submit_static(struct static_job *job) {
  return exec_submit(job->table->d->exec, NULL, on_static_work, on_static_done, job);
}

int variants_ensure_static(struct vtable *t, struct vnamespace *e, void (*cb)(void *arg), void *arg) {
  struct vstatic_waiter *w;
  struct static_job *job = NULL;
  if (e->state == VSTATIC_READY || e->state == VSTATIC_FAILED) {
    cb(arg);
    return 0;
  }
  if ((w = calloc(1, sizeof *w)) == NULL)
    return -ENOMEM;
  if (e->state == VSTATIC_UNKNOWN && (job = calloc(1, sizeof *job)) == NULL) {
    free(w);
    return -ENOMEM;
  }
  *w = (struct vstatic_waiter){cb, arg, e->waiters};
  e->waiters = w;
  if (e->state == VSTATIC_PENDING)
    return 0;
  e->state = VSTATIC_PENDING;
  t->refs++;
  plugin_ref(e->provider);
  *job = (struct static_job){.table = t, .entry = e, .plugin = e->provider,
                             .want_fingerprint = e->provider->scan->info.has_fingerprint};
  if (!job->want_fingerprint && try_cache(job)) {
    static_job_free(job);
    return 0;
  }
  if (submit_static(job) < 0) {
    fail_static(e, strdup("cannot queue the plugin call"));
    static_job_free(job);
  }
  return 0;
}

/* ---- set-up ---- */

void variants_pack_cache_info(struct daemon *d, msgpack_packer *pk) {
  struct cache *cache = d->variants->cache; /* NULL with --no-cache */
  struct cache_stats st = {0};
  const char *path = cache != NULL ? cache_path(cache) : NULL;
  if (cache != NULL)
    cache_get_stats(cache, &st);
  msgpack_pack_map(pk, 5);
  proto_pack_cstr(pk, "file");
  proto_pack_cstr_or_nil(pk, path);
  proto_pack_cstr(pk, "enabled");
  proto_pack_bool(pk, st.enabled);
  proto_pack_cstr(pk, "hits");
  msgpack_pack_uint64(pk, st.hits);
  proto_pack_cstr(pk, "misses");
  msgpack_pack_uint64(pk, st.misses);
  proto_pack_cstr(pk, "hit_rate"); /* nil until the first lookup */
  if (st.hits + st.misses > 0)
    msgpack_pack_double(pk, (double)st.hits / (double)(st.hits + st.misses));
  else
    msgpack_pack_nil(pk);
}

int variants_init(struct daemon *d) {
  struct variants *v = calloc(1, sizeof *v);
  if (v == NULL || (v->current = calloc(1, sizeof *v->current)) == NULL) {
    free(v);
    return -ENOMEM;
  }
  v->current->refs = 1;
  v->current->d = d;
  d->variants = v;
  if (!d->opts.no_cache)
    cache_open(d->opts.cache_path, &v->cache); /* a cache that cannot open runs disabled and says why */
  return reload_register(d, "variants", variants_reload, d);
}

void variants_free(struct daemon *d) {
  struct variants *v = d->variants;
  if (v == NULL)
    return;
  vtable_unref(v->current);
  cache_close(v->cache);
  free(v);
  d->variants = NULL;
}
