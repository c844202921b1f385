#include "rpc_plugins.h"

#include <string.h>

#include "daemon.h"
#include "message.h"
#include "plugins.h"
#include "request.h"
#include "variants.h"

static void pack_kv_str(msgpack_packer *pk, const char *key, const char *value) {
  proto_pack_cstr(pk, key);
  proto_pack_cstr_or_nil(pk, value);
}

/* For a variant plugin that provides its namespace: where its answer came from, if asked yet. */
static const char *answer_from(struct vtable *t, const struct plugin *p) {
  const struct vnamespace *e;
  if (p->kind != PLUGIN_VARIANT || p->state != EP_OK || (e = vtable_find(t, p->scan->info.ns)) == NULL ||
      e->provider != p)
    return NULL;
  if (p->scan->info.dynamic || t->d->opts.no_cache)
    return "plugin (asked for each request)";
  return e->state == VSTATIC_READY ? e->source : NULL;
}

static void pack_entry_point(msgpack_packer *pk, struct vtable *t, const struct plugin *p) {
  msgpack_pack_map(pk, 10);
  pack_kv_str(pk, "group", p->group);
  pack_kv_str(pk, "name", p->name);
  pack_kv_str(pk, "value", p->value);
  pack_kv_str(pk, "kind", plugin_kind_name(p->kind));
  pack_kv_str(pk, "file", p->file);
  pack_kv_str(pk, "state", ep_state_name(p->state));
  pack_kv_str(pk, "reason", p->state == EP_OK ? NULL : p->reason);
  proto_pack_cstr(pk, "loaded");
  proto_pack_bool(pk, __atomic_load_n(&p->code, __ATOMIC_ACQUIRE) != NULL);
  pack_kv_str(pk, "answer_from", answer_from(t, p));
  proto_pack_cstr(pk, "details");
  if (p->state == EP_OK)
    plugin_info_pack(&p->scan->info, pk);
  else
    msgpack_pack_nil(pk);
}

static void pack_distribution(msgpack_packer *pk, struct vtable *t, const struct plugin_set *s,
                              const struct distribution *d) {
  uint32_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    n += strcmp(s->plugins[i]->dist_path, d->path) == 0;
  msgpack_pack_map(pk, 6);
  pack_kv_str(pk, "name", d->name);
  pack_kv_str(pk, "version", d->version);
  pack_kv_str(pk, "path", d->path);
  pack_kv_str(pk, "state", ep_state_name(d->state));
  pack_kv_str(pk, "reason", d->state == EP_OK ? NULL : d->reason);
  proto_pack_cstr(pk, "entry_points");
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->plugins[i]->dist_path, d->path) == 0)
      pack_entry_point(pk, t, s->plugins[i]);
}

static void plugins_list(struct request *req) {
  const struct plugin_set *s = plugins_current(req->daemon);
  struct vtable *t = variants_table(req->daemon);
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_array(pk, (uint32_t)s->dists.n);
  for (size_t i = 0; i < s->dists.n; i++)
    pack_distribution(pk, t, s, &s->dists.dists[i]);
  request_reply_end(req);
  vtable_unref(t);
}

static const struct method plugins_methods[] = {
  {"plugins.list", plugins_list,
   "every distribution on the plugin path with its backend and variant entry points: state (ok, failed, refused) and why",
   NULL, 0},
};

int rpc_plugins_register(struct daemon *d) { return router_add(&d->router, plugins_methods, 1); }
