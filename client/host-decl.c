/*
 * The host's declaration on the wire: the host.declare parameter map (doc/backends.md,
 * packed once by backend_host_new), and the same map as a declaration file (JSON).
 */
#include "host-private.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "json.h"
#include "message.h"

/* Each packing helper returns nonzero when the buffer could not grow (out of memory). */

static int pack_str(msgpack_packer *pk, const char *s) {
  return msgpack_pack_str_with_body(pk, s, strlen(s));
}

static int pack_kv(msgpack_packer *pk, const char *key, const char *value) {
  return pack_str(pk, key) | pack_str(pk, value);
}

static uint32_t list_len(const char *const *items) {
  uint32_t n = 0;

  while (items && items[n])
    n++;
  return n;
}

static int pack_list(msgpack_packer *pk, const char *key, const char *const *items) {
  uint32_t n = list_len(items);
  int bad = pack_str(pk, key) | msgpack_pack_array(pk, n);

  for (uint32_t i = 0; i < n; i++)
    bad |= pack_str(pk, items[i]);
  return bad;
}

static const char *kind_name(uint32_t kind) {
  switch (kind) {
  case BACKEND_PARAM_POSITIONAL:
    return "positional";
  case BACKEND_PARAM_KEYWORD_ONLY:
    return "keyword_only";
  case BACKEND_PARAM_VAR_KEYWORD:
    return "var_keyword";
  default:
    return "var_positional"; /* refused by host_check_decl: never packed */
  }
}

/* {name, kind, default?}: no default key means required. */
static int pack_param(msgpack_packer *pk, const struct sig_param *p) {
  int bad = msgpack_pack_map(pk, p->def ? 3 : 2) | pack_kv(pk, "name", p->name) |
            pack_kv(pk, "kind", kind_name(p->kind));

  if (p->def)
    bad |= pack_str(pk, "default") | msgpack_pack_object(pk, *p->def);
  return bad;
}

static int pack_function(msgpack_packer *pk, const struct host_fn *fn) {
  int bad = msgpack_pack_map(pk, 3) | pack_kv(pk, "name", fn->name) | pack_str(pk, "params") |
            msgpack_pack_array(pk, (uint32_t)fn->n_params);

  for (size_t i = 0; i < fn->n_params; i++)
    bad |= pack_param(pk, &fn->params[i]);
  return bad | pack_kv(pk, "doc", fn->doc);
}

/* {package, aliases?, distributions?, ...}: only the lists the host gave. */
static int pack_trust(msgpack_packer *pk, const struct backend_trusted *t) {
  const char *const *lists[] = {t->aliases, t->distributions, t->entrypoints, t->object_refs, t->module_prefixes};
  static const char *const keys[] = {"aliases", "distributions", "entrypoints", "object_refs", "module_prefixes"};
  uint32_t n = 1;
  int bad;

  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    n += lists[i] != NULL;
  bad = pack_str(pk, t->name) | msgpack_pack_map(pk, n) | pack_kv(pk, "package", t->package);
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (lists[i])
      bad |= pack_list(pk, keys[i], lists[i]);
  return bad;
}

static uint32_t n_trusted(const struct backend_trusted *ts) {
  uint32_t n = 0;

  while (ts && ts[n].name)
    n++;
  return n;
}

static uint32_t n_reserved(const struct backend_reserved *rs) {
  uint32_t n = 0;

  while (rs && rs[n].name)
    n++;
  return n;
}

int host_decl_pack(const backend_host *h, const struct backend_host_decl *d, msgpack_sbuffer *out) {
  uint32_t nt = n_trusted(d->trusted), nr = n_reserved(d->reserved);
  msgpack_packer pk;
  int bad;

  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  bad = msgpack_pack_map(&pk, 2 + (h->group != NULL) + (nt > 0) + (nr > 0)) | pack_kv(&pk, "name", h->name);
  if (h->group)
    bad |= pack_kv(&pk, "group", h->group);
  bad |= pack_str(&pk, "functions") | msgpack_pack_array(&pk, (uint32_t)h->n_fns);
  for (size_t i = 0; i < h->n_fns; i++)
    bad |= pack_function(&pk, &h->fns[i]);
  if (nt > 0) {
    bad |= pack_str(&pk, "trusted") | msgpack_pack_map(&pk, nt);
    for (uint32_t i = 0; i < nt; i++)
      bad |= pack_trust(&pk, &d->trusted[i]);
  }
  if (nr > 0) {
    bad |= pack_str(&pk, "reserved") | msgpack_pack_map(&pk, nr);
    for (uint32_t i = 0; i < nr; i++)
      bad |= pack_kv(&pk, d->reserved[i].name, d->reserved[i].reason);
  }
  return bad ? -ENOMEM : 0;
}

BACKEND_EXPORT int backend_host_write_declaration(const backend_host *h, FILE *f) {
  msgpack_zone zone;
  msgpack_object o;
  json_t *j = NULL;
  int err = 0;

  if (!h || !f)
    return BACKEND_EINVAL;
  if (!msgpack_zone_init(&zone, 4096))
    return -ENOMEM;
  /* The packed declaration is the one copy of the trust settings: render it as it is sent. */
  if (proto_decode(h->decl.data, h->decl.size, &zone, &o) != 0 || !(j = proto_json_from_msgpack(&o)))
    err = -ENOMEM;
  else if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF || fflush(f) != 0)
    err = -EIO;
  json_decref(j);
  msgpack_zone_destroy(&zone);
  return err;
}
