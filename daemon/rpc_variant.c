#define _GNU_SOURCE
#include "rpc_variant.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "daemon.h"
#include "errors.h"
#include "exec.h"
#include "message.h"
#include "request.h"
#include "resolve.h"
#include "vcall.h"
#include "vgather.h"
#include "vprop.h"

#define CODE_INVALID_PROPERTY "Variant.InvalidProperty"
#define CODE_UNKNOWN_NAMESPACE "Variant.UnknownNamespace"
#define CODE_NAMESPACE_CONFLICT "Variant.NamespaceConflict"
#define CODE_PLUGIN_ERROR "Variant.PluginError"

/* ---- helpers ---- */

struct props {
  struct vprop *items;
  size_t n;
};

static void props_free(struct props *p) {
  for (size_t i = 0; i < p->n; i++)
    vprop_free(&p->items[i]);
  free(p->items);
  memset(p, 0, sizeof *p);
}

/* Parses an array of property strings; on error answers req and returns -1. */
static int parse_props(struct request *req, const char *param, struct props *out) {
  const msgpack_object *a = request_param(req, param);
  const char *why;
  memset(out, 0, sizeof *out);
  if (a == NULL)
    return 0;
  if ((out->items = calloc(a->via.array.size + 1, sizeof *out->items)) == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return -1;
  }
  for (uint32_t i = 0; i < a->via.array.size; i++) {
    const msgpack_object *o = &a->via.array.ptr[i];
    int err = o->type == MSGPACK_OBJECT_STR ? vprop_parse(o->via.str.ptr, o->via.str.size, &out->items[i], &why)
                                            : (why = "must be a string", -EINVAL);
    if (err < 0) {
      props_free(out);
      if (err == -ENOMEM)
        request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
      else
        request_fail(req, CODE_INVALID_PROPERTY, "%s[%u] '%.*s': %s", param, i,
                     o->type == MSGPACK_OBJECT_STR ? (int)o->via.str.size : 0,
                     o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : "", why);
      return -1;
    }
    out->n++;
  }
  return 0;
}

/* The provider of ns, or NULL after answering req with why there is none. */
static struct vnamespace *provider_or_fail(struct request *req, struct vtable *t, const char *ns) {
  struct vnamespace *e = vtable_find(t, ns);
  if (e == NULL)
    request_fail(req, CODE_UNKNOWN_NAMESPACE, "no variant plugin provides namespace '%s'", ns);
  else if (e->provider == NULL)
    request_fail(req, CODE_NAMESPACE_CONFLICT, "%s", e->conflict);
  else
    return e;
  return NULL;
}

static bool has_ns(char **list, size_t n, const char *ns) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], ns) == 0)
      return true;
  return false;
}

/* The properties of one namespace among props (a view: no copies). */
static struct vprop *props_of(const struct props *props, const char *ns, size_t *n) {
  struct vprop *out = calloc(props->n + 1, sizeof *out);
  *n = 0;
  for (size_t i = 0; out != NULL && i < props->n; i++)
    if (strcmp(props->items[i].ns, ns) == 0)
      out[(*n)++] = props->items[i];
  return out;
}

/* ---- variant.plugins ---- */

static void rpc_variant_plugins(struct request *req) {
  const struct plugin_set *s = plugins_current(req->daemon);
  struct vtable *t = variants_table(req->daemon);
  msgpack_packer *pk = request_reply_begin(req);
  uint32_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    n += s->plugins[i]->kind == PLUGIN_VARIANT;
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < s->n; i++) {
    const struct plugin *p = s->plugins[i];
    const struct vnamespace *e = p->state == EP_OK ? vtable_find(t, p->scan->info.ns) : NULL;
    bool provides = e != NULL && e->provider == p;
    if (p->kind != PLUGIN_VARIANT)
      continue;
    msgpack_pack_map(pk, 10);
    proto_pack_cstr(pk, "namespace");
    proto_pack_cstr_or_nil(pk, p->state == EP_OK ? p->scan->info.ns : NULL);
    proto_pack_cstr(pk, "plugin_api");
    proto_pack_cstr(pk, p->value);
    proto_pack_cstr(pk, "distribution");
    proto_pack_cstr(pk, p->dist_name);
    proto_pack_cstr(pk, "version");
    proto_pack_cstr(pk, p->dist_version);
    proto_pack_cstr(pk, "dynamic");
    proto_pack_bool(pk, p->state == EP_OK && p->scan->info.dynamic);
    proto_pack_cstr(pk, "state");
    proto_pack_cstr(pk, ep_state_name(p->state));
    proto_pack_cstr(pk, "reason");
    proto_pack_cstr_or_nil(pk, p->state == EP_OK ? NULL : p->reason);
    proto_pack_cstr(pk, "conflict");
    proto_pack_cstr_or_nil(pk, e != NULL ? e->conflict : NULL);
    /* Where a static plugin's answer came from: "cache", "plugin", or nil when not asked yet. */
    proto_pack_cstr(pk, "answer_from");
    proto_pack_cstr_or_nil(pk, provides && e->state == VSTATIC_READY ? e->source : NULL);
    proto_pack_cstr(pk, "answer_error");
    proto_pack_cstr_or_nil(pk, provides && e->state == VSTATIC_FAILED ? e->error : NULL);
  }
  request_reply_end(req);
  vtable_unref(t);
}

/* ---- variant.configs ---- */

struct configs_ctx {
  struct vgather g;
  struct props known;
  bool explicit_list; /* namespaces were named: any problem fails the request */
  char **skipped;     /* "all namespaces": conflicts, reported beside the answers */
  size_t n_skipped;
};

static void configs_ctx_free(struct configs_ctx *c) {
  for (size_t i = 0; i < c->g.n; i++)
    free((void *)c->g.items[i].known);
  vgather_clear(&c->g);
  props_free(&c->known);
  for (size_t i = 0; i < c->n_skipped; i++)
    free(c->skipped[i]);
  free(c->skipped);
  vtable_unref(c->g.table);
  free(c);
}

static void configs_finish(struct vgather *g) {
  struct configs_ctx *c = g->data;
  const char *why;
  msgpack_packer *pk;
  uint32_t n_ok = 0, n_err = (uint32_t)c->n_skipped;
  for (size_t i = 0; i < g->n; i++) {
    if (vgather_configs(g, i, &why) != NULL)
      n_ok++;
    else if (c->explicit_list) {
      request_fail(g->req, CODE_PLUGIN_ERROR, "%s", why);
      configs_ctx_free(c);
      return;
    } else
      n_err++;
  }
  pk = request_reply_begin(g->req);
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "configs");
  msgpack_pack_array(pk, n_ok);
  for (size_t i = 0; i < g->n; i++) {
    const struct vconfigs *cf = vgather_configs(g, i, &why);
    if (cf != NULL)
      vconfigs_pack(cf, pk);
  }
  proto_pack_cstr(pk, "errors");
  msgpack_pack_array(pk, n_err);
  for (size_t i = 0; i < c->n_skipped; i++)
    proto_pack_cstr(pk, c->skipped[i]);
  for (size_t i = 0; i < g->n; i++)
    if (vgather_configs(g, i, &why) == NULL)
      proto_pack_cstr(pk, why);
  request_reply_end(g->req);
  configs_ctx_free(c);
}

static int add_item(struct configs_ctx *c, struct vnamespace *e) {
  struct vgather_item *it = &c->g.items[c->g.n++];
  it->entry = e;
  if (e->provider->scan->info.dynamic && (it->known = props_of(&c->known, e->ns, &it->n_known)) == NULL)
    return -ENOMEM;
  return 0;
}

static int skip(struct configs_ctx *c, const char *why) {
  char **grown = realloc(c->skipped, (c->n_skipped + 1) * sizeof *grown);
  if (grown == NULL)
    return -ENOMEM;
  c->skipped = grown;
  return (c->skipped[c->n_skipped] = strdup(why)) != NULL ? (c->n_skipped++, 0) : -ENOMEM;
}

static void rpc_variant_configs(struct request *req) {
  const msgpack_object *names = request_param(req, "namespaces");
  struct configs_ctx *c = calloc(1, sizeof *c);
  int err = 0;
  if (c == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return;
  }
  vgather_init(&c->g, req, configs_finish, c);
  c->explicit_list = names != NULL;
  if (parse_props(req, "known_properties", &c->known) < 0) {
    configs_ctx_free(c);
    return;
  }
  c->g.items = calloc((names ? names->via.array.size : c->g.table->n) + 1, sizeof *c->g.items);
  if (c->g.items == NULL)
    err = -ENOMEM;
  for (uint32_t i = 0; err == 0 && names != NULL && i < names->via.array.size; i++) {
    const msgpack_object *o = &names->via.array.ptr[i];
    char ns[256];
    struct vnamespace *e;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof ns) {
      request_fail(req, PROTO_CODE_INVALID_PARAMS, "namespaces[%u] must be a namespace name", i);
      configs_ctx_free(c);
      return;
    }
    snprintf(ns, sizeof ns, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    if ((e = provider_or_fail(req, c->g.table, ns)) == NULL) {
      configs_ctx_free(c);
      return;
    }
    err = add_item(c, e);
  }
  for (size_t i = 0; err == 0 && names == NULL && i < c->g.table->n; i++) {
    struct vnamespace *e = &c->g.table->ns[i];
    err = e->provider != NULL ? add_item(c, e) : skip(c, e->conflict);
  }
  if (err < 0) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    configs_ctx_free(c);
    return;
  }
  vgather_start(&c->g);
}

/* ---- variant.validate ---- */

struct validate_item {
  char *text;        /* the property as sent */
  struct vprop prop; /* parsed, when it parsed */
  struct plugin *plugin;
  int valid;         /* 1, 0, or -1 with reason */
  char *reason;
};

struct validate_ctx {
  struct request *req;
  struct vtable *table;
  struct validate_item *items;
  size_t n;
};

static void validate_ctx_free(struct validate_ctx *v) {
  for (size_t i = 0; i < v->n; i++) {
    free(v->items[i].text);
    vprop_free(&v->items[i].prop);
    free(v->items[i].reason);
  }
  free(v->items);
  vtable_unref(v->table);
  free(v);
}

static int set_reason(struct validate_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_reason(struct validate_item *it, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vasprintf(&it->reason, fmt, ap);
  va_end(ap);
  if (n < 0)
    it->reason = NULL;
  return n < 0 ? -ENOMEM : 0;
}

static void validate_work(void *arg) {
  struct validate_ctx *v = arg;
  for (size_t i = 0; i < v->n; i++) {
    struct validate_item *it = &v->items[i];
    if (it->plugin == NULL)
      continue;
    it->valid = vcall_validate(it->plugin, &it->prop, &it->reason);
    if (it->valid == 0)
      set_reason(it, "rejected by the %s plugin (%s %s)", it->prop.ns, it->plugin->dist_name, it->plugin->dist_version);
  }
}

static void validate_done(void *arg, int status) {
  struct validate_ctx *v = arg;
  msgpack_packer *pk = request_reply_begin(v->req);
  msgpack_pack_array(pk, (uint32_t)v->n);
  for (size_t i = 0; i < v->n; i++) {
    const struct validate_item *it = &v->items[i];
    bool valid = status == 0 && it->valid == 1;
    msgpack_pack_map(pk, 3);
    proto_pack_cstr(pk, "property");
    proto_pack_cstr(pk, it->text);
    proto_pack_cstr(pk, "valid");
    proto_pack_bool(pk, valid);
    proto_pack_cstr(pk, "reason");
    proto_pack_cstr_or_nil(pk, valid ? NULL : it->reason != NULL ? it->reason : "not checked: the request was cancelled");
  }
  request_reply_end(v->req);
  validate_ctx_free(v);
}

/* Syntax, namespace and conflict checks on the loop; the plugin's verdict on a worker. */
static int prepare_validate_item(struct validate_ctx *v, const msgpack_object *o, struct validate_item *it) {
  const char *why;
  struct vnamespace *e;
  int err;
  it->valid = -1;
  if (o->type != MSGPACK_OBJECT_STR)
    return (it->text = strdup("")) == NULL ? -ENOMEM : set_reason(it, "bad syntax: a property must be a string");
  if ((it->text = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
    return -ENOMEM;
  if ((err = vprop_parse(o->via.str.ptr, o->via.str.size, &it->prop, &why)) < 0)
    return err == -ENOMEM ? err : set_reason(it, "bad syntax: %s", why);
  if ((e = vtable_find(v->table, it->prop.ns)) == NULL)
    return set_reason(it, "unknown namespace '%s': no variant plugin provides it", it->prop.ns);
  if (e->provider == NULL)
    return set_reason(it, "%s", e->conflict);
  it->plugin = e->provider;
  return 0;
}

static void rpc_variant_validate(struct request *req) {
  const msgpack_object *a = request_param(req, "properties");
  struct validate_ctx *v = calloc(1, sizeof *v);
  int err = v == NULL ? -ENOMEM : 0;
  if (err == 0) {
    v->req = req;
    v->table = variants_table(req->daemon);
    if ((v->items = calloc(a->via.array.size + 1, sizeof *v->items)) == NULL)
      err = -ENOMEM;
  }
  for (uint32_t i = 0; err == 0 && i < a->via.array.size; i++, v->n++)
    err = prepare_validate_item(v, &a->via.array.ptr[i], &v->items[i]);
  if (err == 0 && exec_submit(req->daemon->exec, req, validate_work, validate_done, v) == 0)
    return;
  request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
  if (v != NULL)
    validate_ctx_free(v);
}

/* ---- variant.build_setup ---- */

struct build_ctx {
  struct request *req;
  struct vtable *table;
  struct props props;
  struct vnamespace **order; /* namespaces involved, in name order: the merge order */
  size_t n;
  variant_build_setup out;
  char *error;
  const char *error_code;
};

static void build_ctx_free(struct build_ctx *b) {
  props_free(&b->props);
  free(b->order);
  variant_build_setup_clear(&b->out);
  free(b->error);
  vtable_unref(b->table);
  free(b);
}

/* Worker: every property must be valid for its plugin; then each plugin adds its variables. */
static void build_work(void *arg) {
  struct build_ctx *b = arg;
  for (size_t i = 0; i < b->props.n && b->error == NULL; i++) {
    struct plugin *p = vtable_find(b->table, b->props.items[i].ns)->provider;
    int r = vcall_validate(p, &b->props.items[i], &b->error);
    b->error_code = r < 0 ? CODE_PLUGIN_ERROR : CODE_INVALID_PROPERTY;
    if (r == 0 && asprintf(&b->error, "%s :: %s :: %s is not valid for the %s plugin", b->props.items[i].ns,
                           b->props.items[i].feature, b->props.items[i].value, p->value) < 0)
      b->error = NULL;
  }
  for (size_t i = 0; i < b->n && b->error == NULL; i++) {
    size_t n;
    struct vprop *mine = props_of(&b->props, b->order[i]->ns, &n);
    b->error_code = CODE_PLUGIN_ERROR;
    if (mine == NULL || vcall_build_setup(b->order[i]->provider, mine, n, &b->out, &b->error) < 0) {
      if (b->error == NULL)
        b->error = strdup("out of memory");
    }
    free(mine);
  }
}

static void build_done(void *arg, int status) {
  struct build_ctx *b = arg;
  msgpack_packer *pk;
  if (status < 0 || b->error != NULL) {
    request_fail(b->req, status < 0 ? PROTO_CODE_INTERNAL : b->error_code, "%s",
                 status < 0 ? "cancelled" : b->error);
    build_ctx_free(b);
    return;
  }
  pk = request_reply_begin(b->req);
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "variables");
  msgpack_pack_map(pk, (uint32_t)b->out.n);
  for (size_t i = 0; i < b->out.n; i++) {
    proto_pack_cstr(pk, b->out.vars[i].name);
    msgpack_pack_array(pk, (uint32_t)b->out.vars[i].values.n);
    for (size_t j = 0; j < b->out.vars[i].values.n; j++)
      proto_pack_cstr(pk, b->out.vars[i].values.items[j]);
  }
  request_reply_end(b->req);
  build_ctx_free(b);
}

static void rpc_variant_build_setup(struct request *req) {
  struct build_ctx *b = calloc(1, sizeof *b);
  if (b == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return;
  }
  b->req = req;
  b->table = variants_table(req->daemon);
  variant_build_setup_init(&b->out);
  if (parse_props(req, "properties", &b->props) < 0) {
    build_ctx_free(b);
    return;
  }
  /* The table is sorted by name, so walking it gives the documented merge order. */
  if ((b->order = calloc(b->table->n + 1, sizeof *b->order)) == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    build_ctx_free(b);
    return;
  }
  for (size_t i = 0; i < b->props.n; i++)
    if (provider_or_fail(req, b->table, b->props.items[i].ns) == NULL) {
      build_ctx_free(b);
      return;
    }
  for (size_t i = 0; i < b->table->n; i++) {
    size_t n;
    struct vprop *mine = props_of(&b->props, b->table->ns[i].ns, &n);
    if (mine != NULL && n > 0)
      b->order[b->n++] = &b->table->ns[i];
    free(mine);
  }
  if (exec_submit(req->daemon->exec, req, build_work, build_done, b) < 0) {
    request_fail(req, PROTO_CODE_INTERNAL, "cannot queue the plugin calls");
    build_ctx_free(b);
  }
}

/* ---- variant.resolve ---- */

struct resolve_ctx {
  struct vgather g;
  struct resolve_doc doc;
};

static void resolve_ctx_free(struct resolve_ctx *r) {
  for (size_t i = 0; i < r->g.n; i++)
    free((void *)r->g.items[i].known);
  vgather_clear(&r->g);
  resolve_doc_free(&r->doc);
  vtable_unref(r->g.table);
  free(r);
}

static void resolve_finish(struct vgather *g) {
  struct resolve_ctx *r = g->data;
  struct resolve_ns *ns = calloc(g->n + 1, sizeof *ns);
  struct resolve_result out = {0};
  if (ns == NULL) {
    request_fail(g->req, PROTO_CODE_INTERNAL, "out of memory");
  } else {
    for (size_t i = 0; i < g->n; i++) {
      const char *why = NULL;
      ns[i].ns = g->items[i].entry->ns;
      ns[i].configs = vgather_configs(g, i, &why);
      ns[i].unavailable = why;
    }
    if (resolve_run(&r->doc, ns, g->n, &out) < 0) {
      request_fail(g->req, PROTO_CODE_INTERNAL, "out of memory");
    } else {
      resolve_result_pack(&out, request_reply_begin(g->req));
      request_reply_end(g->req);
      resolve_result_free(&out);
    }
  }
  free(ns);
  resolve_ctx_free(r);
}

/* Every namespace the document's variants use, once. */
static int collect_namespaces(const struct resolve_ctx *r, char ***out, size_t *n) {
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  for (size_t i = 0; i < r->doc.n_variants; i++)
    cap += r->doc.variants[i].n_props;
  if ((*out = calloc(cap + 1, sizeof **out)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < r->doc.n_variants; i++)
    for (size_t j = 0; j < r->doc.variants[i].n_props; j++)
      if (!has_ns(*out, *n, r->doc.variants[i].props[j].ns))
        (*out)[(*n)++] = r->doc.variants[i].props[j].ns;
  return 0;
}

/* The document's properties of one namespace, for a dynamic plugin's known properties. */
static struct vprop *doc_props_of(const struct resolve_doc *doc, const char *ns, size_t *n) {
  size_t cap = 0;
  struct vprop *out;
  *n = 0;
  for (size_t i = 0; i < doc->n_variants; i++)
    cap += doc->variants[i].n_props;
  if ((out = calloc(cap + 1, sizeof *out)) == NULL)
    return NULL;
  for (size_t i = 0; i < doc->n_variants; i++)
    for (size_t j = 0; j < doc->variants[i].n_props; j++) {
      const struct vprop *p = &doc->variants[i].props[j];
      bool seen = false;
      for (size_t k = 0; k < *n && !seen; k++)
        seen = strcmp(out[k].feature, p->feature) == 0 && strcmp(out[k].value, p->value) == 0;
      if (strcmp(p->ns, ns) == 0 && !seen)
        out[(*n)++] = *p;
    }
  return out;
}

static void rpc_variant_resolve(struct request *req) {
  struct resolve_ctx *r = calloc(1, sizeof *r);
  char why[512], **names = NULL;
  size_t n_names = 0;
  int err;
  if (r == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return;
  }
  vgather_init(&r->g, req, resolve_finish, r);
  if ((err = resolve_doc_parse(req->params, &r->doc, why, sizeof why)) < 0) {
    request_fail(req, err == -ENOMEM ? PROTO_CODE_INTERNAL : PROTO_CODE_INVALID_PARAMS, "%s", why);
    resolve_ctx_free(r);
    return;
  }
  err = collect_namespaces(r, &names, &n_names);
  if (err == 0 && (r->g.items = calloc(n_names + 1, sizeof *r->g.items)) == NULL)
    err = -ENOMEM;
  for (size_t i = 0; err == 0 && i < n_names; i++) {
    struct vnamespace *e = vtable_find(r->g.table, names[i]);
    struct vgather_item *it;
    if (e != NULL && e->provider == NULL) { /* a conflict is an error, not "unsupported" */
      request_fail(req, CODE_NAMESPACE_CONFLICT, "%s", e->conflict);
      free(names);
      resolve_ctx_free(r);
      return;
    }
    if (e == NULL)
      continue; /* no plugin: the variants naming it are rejected with that reason */
    it = &r->g.items[r->g.n++];
    it->entry = e;
    if (e->provider->scan->info.dynamic && (it->known = doc_props_of(&r->doc, e->ns, &it->n_known)) == NULL)
      err = -ENOMEM;
  }
  free(names);
  if (err < 0) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    resolve_ctx_free(r);
    return;
  }
  vgather_start(&r->g);
}

/* ---- the table ---- */

static const struct method_param configs_params[] = {
  {"namespaces", PARAM_ARRAY, false, "namespaces to answer for (default: all)"},
  {"known_properties", PARAM_ARRAY, false, "properties of the package being installed, for dynamic plugins"},
};
static const struct method_param properties_param[] = {
  {"properties", PARAM_ARRAY, true, "properties as 'namespace :: feature :: value'"},
};
static const struct method_param resolve_params[] = {
  {"variants", PARAM_MAP, true, "label -> {namespace: {feature: [values]}}, as in *-variants.json"},
  {"default-priorities", PARAM_MAP, false, "{namespace: [...], feature: {...}, property: {...}}"},
};

static const struct method variant_methods[] = {
  {"variant.plugins", rpc_variant_plugins,
   "variant plugins: namespace, plugin API reference, distribution, version, static/dynamic, answer source, errors",
   NULL, 0},
  {"variant.configs", rpc_variant_configs, "supported configs of this machine per namespace, most preferred first",
   configs_params, 2},
  {"variant.validate", rpc_variant_validate, "validity of each property, with the reason when invalid", properties_param,
   1},
  {"variant.build_setup", rpc_variant_build_setup, "merged build variables for a set of properties", properties_param, 1},
  {"variant.resolve", rpc_variant_resolve, "a package's variants this machine supports, best first, and why the others are not",
   resolve_params, 2},
};

int rpc_variant_register(struct daemon *d) {
  return router_add(&d->router, variant_methods, sizeof variant_methods / sizeof variant_methods[0]);
}
