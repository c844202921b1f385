#define _GNU_SOURCE
#include "plugin_info.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/plugin.h"
#include "hostdecl.h"
#include "json.h"
#include "message.h"
#include "names.h"

const char *plugin_kind_name(enum plugin_kind kind) { return kind == PLUGIN_BACKEND ? "backend" : "variant"; }

/* Parsing context: the first error wins and stops further work. */
struct parse {
  char *why;
  size_t why_len;
  int err;
  struct plugin_info *info;
};

static void fail(struct parse *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct parse *p, int err, const char *fmt, ...) {
  va_list ap;
  if (p->err != 0)
    return;
  p->err = err;
  va_start(ap, fmt);
  vsnprintf(p->why, p->why_len, fmt, ap);
  va_end(ap);
}

/* A copy of a string object; NULL (and an error) when it is not one. */
static char *dup_str(struct parse *p, const msgpack_object *o, const char *what, const char *key) {
  char *s;
  if (o == NULL || o->type != MSGPACK_OBJECT_STR) {
    fail(p, -EINVAL, "%s: %s is missing, not a string, or not NUL-terminated within its bound", what, key);
    return NULL;
  }
  if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
    fail(p, -EINVAL, "%s: %s contains a NUL byte", what, key);
    return NULL;
  }
  if ((s = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
    fail(p, -ENOMEM, "out of memory");
  return s;
}

/* A string member; an optional one may be absent or nil. */
static char *get_str(struct parse *p, const msgpack_object *map, const char *key, bool optional, const char *what) {
  const msgpack_object *o = proto_map_get(map, key);
  if (optional && (o == NULL || o->type == MSGPACK_OBJECT_NIL))
    return NULL;
  return dup_str(p, o, what, key);
}

static bool get_bool(const msgpack_object *map, const char *key) {
  const msgpack_object *o = proto_map_get(map, key);
  return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

static uint32_t get_u32(const msgpack_object *map, const char *key) {
  const msgpack_object *o = proto_map_get(map, key);
  return o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= UINT32_MAX ? (uint32_t)o->via.u64 : 0;
}

static const msgpack_object_array *get_array(struct parse *p, const msgpack_object *map, const char *key,
                                             const char *what) {
  const msgpack_object *o = proto_map_get(map, key);
  if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY) {
    fail(p, -EINVAL, "%s: %s is not a list", what, key);
    return NULL;
  }
  return &o->via.array;
}

static void check_backend_name(struct parse *p, const char *what, const char *name) {
  const char *bad = hostdecl_check_declared_name(name);
  if (bad != NULL)
    fail(p, -EINVAL, "%s '%s': %s", what, name, bad);
}

static void parse_aliases(struct parse *p, const msgpack_object *desc, struct plugin_info *info) {
  const msgpack_object *o = proto_map_get(desc, "aliases");
  const msgpack_object_array *a;
  /* The scanner answers a string when the aliases pointer lacks BACKEND_LIST_MAGIC. */
  if (o != NULL && o->type == MSGPACK_OBJECT_STR) {
    fail(p, -EINVAL, "aliases must be a list built with BACKEND_LIST(\"a\", \"b\"), not a scalar string");
    return;
  }
  a = get_array(p, desc, "aliases", "adapter");
  if (a == NULL || (info->aliases = calloc(a->size + 1, sizeof *info->aliases)) == NULL) {
    if (a != NULL)
      fail(p, -ENOMEM, "out of memory");
    return;
  }
  for (uint32_t i = 0; i < a->size && p->err == 0; i++) {
    char *alias = dup_str(p, &a->ptr[i], "aliases", "an alias");
    if (alias == NULL)
      return;
    info->aliases[info->n_aliases++] = alias;
    check_backend_name(p, "alias", alias);
    for (size_t j = 0; j + 1 < info->n_aliases && p->err == 0; j++)
      if (strcmp(info->aliases[j], alias) == 0)
        fail(p, -EINVAL, "alias '%s' is listed twice", alias);
    if (p->err == 0 && strcmp(alias, info->name) == 0)
      fail(p, -EINVAL, "alias '%s' repeats the backend's own name", alias);
  }
}

/* Checks a default and keeps it as a value, which a call that omits the parameter gets. */
static void parse_default_json(struct parse *p, const char *fn, struct plugin_param *param) {
  json_error_t jerr;
  json_t *v;
  msgpack_sbuffer buf;
  msgpack_packer pk;
  msgpack_zone tmp;
  msgpack_object obj;
  if (param->default_json == NULL)
    return;
  if ((v = json_loads(param->default_json, JSON_DECODE_ANY, &jerr)) == NULL) {
    fail(p, -EINVAL, "function %s: parameter %s: default is not valid JSON (%s): %s", fn, param->name, jerr.text,
         param->default_json);
    return;
  }
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  msgpack_zone_init(&tmp, 1024);
  if (p->info->zone == NULL)
    p->info->zone = msgpack_zone_new(1024);
  /* Unpacked strings point into buf: the copy owns its bytes. */
  if (p->info->zone == NULL || proto_msgpack_from_json(v, &pk) < 0 ||
      msgpack_unpack(buf.data, buf.size, NULL, &tmp, &obj) != MSGPACK_UNPACK_SUCCESS ||
      (param->def = msgpack_zone_malloc(p->info->zone, sizeof *param->def)) == NULL ||
      proto_object_copy(p->info->zone, &obj, param->def) < 0)
    fail(p, -ENOMEM, "out of memory");
  msgpack_zone_destroy(&tmp);
  msgpack_sbuffer_destroy(&buf);
  json_decref(v);
}

/* The signature view routing binds calls against. */
static void build_sig(struct parse *p, struct plugin_function *f) {
  if (f->n_params > SIG_MAX_PARAMS) {
    fail(p, -EINVAL, "function %s: more than %d parameters", f->name, SIG_MAX_PARAMS);
    return;
  }
  if (f->n_params > 0 && (f->sig_params = calloc(f->n_params, sizeof *f->sig_params)) == NULL) {
    fail(p, -ENOMEM, "out of memory");
    return;
  }
  for (size_t i = 0; i < f->n_params; i++)
    f->sig_params[i] = (struct sig_param){f->params[i].name, f->params[i].kind, f->params[i].def};
  f->sig = (struct sig){.function = f->name, .params = f->sig_params, .n = f->n_params};
}

static void parse_params(struct parse *p, const msgpack_object *fobj, struct plugin_function *f) {
  const msgpack_object_array *a = get_array(p, fobj, "params", f->name);
  if (a == NULL)
    return;
  if ((f->params = calloc(a->size + 1, sizeof *f->params)) == NULL) {
    fail(p, -ENOMEM, "out of memory");
    return;
  }
  for (uint32_t i = 0; i < a->size && p->err == 0; i++) {
    struct plugin_param *param = &f->params[f->n_params++];
    if ((param->name = get_str(p, &a->ptr[i], "name", false, f->name)) == NULL)
      return;
    param->default_json = get_str(p, &a->ptr[i], "default", true, f->name);
    param->kind = get_u32(&a->ptr[i], "kind");
    if (param->kind < BACKEND_PARAM_POSITIONAL || param->kind > BACKEND_PARAM_VAR_KEYWORD)
      fail(p, -EINVAL, "function %s: parameter %s: kind %u is not a backend_param_kind", f->name, param->name,
           param->kind);
    for (size_t j = 0; j + 1 < f->n_params && p->err == 0; j++)
      if (strcmp(f->params[j].name, param->name) == 0)
        fail(p, -EINVAL, "function %s: parameter %s appears twice", f->name, param->name);
    parse_default_json(p, f->name, param);
  }
  if (p->err == 0)
    build_sig(p, f);
}

static void parse_function(struct parse *p, const msgpack_object *fobj, struct plugin_function *f) {
  if ((f->name = get_str(p, fobj, "name", false, "function")) == NULL)
    return;
  f->doc = get_str(p, fobj, "doc", false, f->name);
  f->has_impl = get_bool(fobj, "impl");
  f->lazy_library = get_str(p, fobj, "lazy_library", true, f->name);
  f->lazy_symbol = get_str(p, fobj, "lazy_symbol", true, f->name);
  parse_params(p, fobj, f);
  if (p->err != 0)
    return;
  if (!f->has_impl && f->lazy_library == NULL)
    fail(p, -EINVAL, "function %s has neither impl nor lazy_library", f->name);
  else if (f->lazy_library != NULL &&
           (f->lazy_library[0] == '/' || strstr(f->lazy_library, "..") != NULL || f->lazy_library[0] == '\0'))
    fail(p, -EINVAL, "function %s: lazy_library '%s' must be a relative path inside the adapter's directory", f->name,
         f->lazy_library);
}

static void parse_backend(struct parse *p, const msgpack_object *desc, struct plugin_info *info) {
  const msgpack_object_array *fa;
  if ((info->name = get_str(p, desc, "name", false, "adapter")) == NULL)
    return;
  check_backend_name(p, "backend name", info->name);
  parse_aliases(p, desc, info);
  info->flags = get_u32(desc, "flags");
  if (p->err != 0 || (fa = get_array(p, desc, "functions", "adapter")) == NULL)
    return;
  if ((info->functions = calloc(fa->size + 1, sizeof *info->functions)) == NULL) {
    fail(p, -ENOMEM, "out of memory");
    return;
  }
  for (uint32_t i = 0; i < fa->size && p->err == 0; i++) {
    struct plugin_function *f = &info->functions[info->n_functions++];
    parse_function(p, &fa->ptr[i], f);
    for (size_t j = 0; j + 1 < info->n_functions && p->err == 0; j++)
      if (strcmp(info->functions[j].name, f->name) == 0)
        fail(p, -EINVAL, "function %s is listed twice", f->name);
  }
}

static void parse_variant(struct parse *p, const msgpack_object *desc, struct plugin_info *info) {
  const char *bad;
  if ((info->ns = get_str(p, desc, "namespace", false, "variant plugin")) == NULL)
    return;
  if ((bad = names_check_variant(info->ns)) != NULL)
    fail(p, -EINVAL, "namespace '%s' %s", info->ns, bad);
  info->dynamic = get_bool(desc, "dynamic");
  info->has_build_setup = get_bool(desc, "get_build_setup");
  info->has_fingerprint = get_bool(desc, "get_fingerprint");
  if (!get_bool(desc, "get_supported_configs"))
    fail(p, -EINVAL, "get_supported_configs is required (it is NULL)");
  if (!get_bool(desc, "validate_property"))
    fail(p, -EINVAL, "validate_property is required (it is NULL)");
}

int plugin_info_parse(const msgpack_object *desc, enum plugin_kind kind, struct plugin_info *info, char *why,
                      size_t why_len) {
  struct parse p = {why, why_len, 0, info};
  memset(info, 0, sizeof *info);
  info->kind = kind;
  info->has_create = get_bool(desc, "create");
  if (kind == PLUGIN_BACKEND)
    parse_backend(&p, desc, info);
  else
    parse_variant(&p, desc, info);
  if (p.err != 0)
    plugin_info_free(info);
  return p.err;
}

static void free_function(struct plugin_function *f) {
  for (size_t i = 0; i < f->n_params; i++) {
    free(f->params[i].name);
    free(f->params[i].default_json);
  }
  free(f->params);
  free(f->sig_params);
  free(f->name);
  free(f->doc);
  free(f->lazy_library);
  free(f->lazy_symbol);
}

void plugin_info_free(struct plugin_info *info) {
  for (size_t i = 0; i < info->n_aliases; i++)
    free(info->aliases[i]);
  free(info->aliases);
  for (size_t i = 0; i < info->n_functions; i++)
    free_function(&info->functions[i]);
  free(info->functions);
  free(info->name);
  free(info->ns);
  if (info->zone != NULL)
    msgpack_zone_free(info->zone);
  memset(info, 0, sizeof *info);
}

static void pack_str_array(msgpack_packer *pk, char *const *items, size_t n) {
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    proto_pack_cstr(pk, items[i]);
}

void plugin_info_pack(const struct plugin_info *info, msgpack_packer *pk) {
  if (info->kind == PLUGIN_BACKEND) {
    msgpack_pack_map(pk, 4);
    proto_pack_cstr(pk, "backend");
    proto_pack_cstr(pk, info->name);
    proto_pack_cstr(pk, "aliases");
    pack_str_array(pk, info->aliases, info->n_aliases);
    proto_pack_cstr(pk, "thread_safe");
    proto_pack_bool(pk, (info->flags & BACKEND_ADAPTER_THREAD_SAFE) != 0);
    proto_pack_cstr(pk, "functions");
    msgpack_pack_array(pk, (uint32_t)info->n_functions);
    for (size_t i = 0; i < info->n_functions; i++)
      proto_pack_cstr(pk, info->functions[i].name);
  } else {
    msgpack_pack_map(pk, 3);
    proto_pack_cstr(pk, "namespace");
    proto_pack_cstr(pk, info->ns);
    proto_pack_cstr(pk, "dynamic");
    proto_pack_bool(pk, info->dynamic);
    proto_pack_cstr(pk, "build_setup");
    proto_pack_bool(pk, info->has_build_setup);
  }
}
