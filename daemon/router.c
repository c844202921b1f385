#include "router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

void router_init(struct router *r) { memset(r, 0, sizeof *r); }

void router_free(struct router *r) {
  free(r->methods);
  memset(r, 0, sizeof *r);
}

static int compare_methods(const void *a, const void *b) {
  return strcmp((*(const struct method *const *)a)->name, (*(const struct method *const *)b)->name);
}

int router_add(struct router *r, const struct method *methods, size_t n) {
  const struct method **grown;
  for (size_t i = 0; i < n; i++) {
    if (methods[i].n_params > 64)
      return -E2BIG;
    if (router_find(r, methods[i].name, strlen(methods[i].name)) != NULL)
      return -EEXIST;
  }
  grown = realloc(r->methods, (r->n + n) * sizeof *grown);
  if (grown == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    grown[r->n + i] = &methods[i];
  r->methods = grown;
  r->n += n;
  qsort(r->methods, r->n, sizeof *r->methods, compare_methods);
  return 0;
}

const struct method *router_find(const struct router *r, const char *name, size_t len) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *m = r->methods[mid]->name;
    size_t mlen = strlen(m);
    /* name is not NUL-terminated and may hold a NUL: compare bytes, never read past m. */
    int c = memcmp(m, name, mlen < len ? mlen : len);
    if (c == 0)
      c = (mlen > len) - (mlen < len); /* a prefix sorts first, as with strcmp */
    if (c == 0)
      return r->methods[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const char *param_type_name(enum param_type t) {
  static const char *const names[] = {
    [PARAM_ANY] = "any", [PARAM_STR] = "string", [PARAM_INT] = "integer",
    [PARAM_BOOL] = "boolean", [PARAM_ARRAY] = "array", [PARAM_MAP] = "map",
  };
  return names[t];
}

static bool type_matches(enum param_type t, const msgpack_object *o) {
  switch (t) {
  case PARAM_ANY: return true;
  case PARAM_STR: return o->type == MSGPACK_OBJECT_STR;
  case PARAM_INT: return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
  case PARAM_BOOL: return o->type == MSGPACK_OBJECT_BOOLEAN;
  case PARAM_ARRAY: return o->type == MSGPACK_OBJECT_ARRAY;
  case PARAM_MAP: return o->type == MSGPACK_OBJECT_MAP;
  }
  return false;
}

static const struct method_param *find_param(const struct method *m, const char *name, size_t len) {
  for (size_t i = 0; i < m->n_params; i++)
    if (strlen(m->params[i].name) == len && memcmp(m->params[i].name, name, len) == 0)
      return &m->params[i];
  return NULL;
}

int router_check_params(const struct method *m, const msgpack_object *params, char *why, size_t why_len) {
  uint32_t n = params != NULL ? params->via.map.size : 0;
  uint64_t seen = 0; /* methods declare at most 64 parameters (router_add checks) */
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object_kv *kv = &params->via.map.ptr[i];
    const struct method_param *p;
    if (kv->key.type != MSGPACK_OBJECT_STR) {
      snprintf(why, why_len, "%s: parameter names must be strings", m->name);
      return -EINVAL;
    }
    p = find_param(m, kv->key.via.str.ptr, kv->key.via.str.size);
    if (p == NULL) {
      snprintf(why, why_len, "%s: unknown parameter '%.*s'%s", m->name, (int)kv->key.via.str.size,
               kv->key.via.str.ptr, m->n_params == 0 ? " (it takes none)" : "");
      return -EINVAL;
    }
    if (seen & (UINT64_C(1) << (p - m->params))) {
      snprintf(why, why_len, "%s: parameter '%s' given twice", m->name, p->name);
      return -EINVAL;
    }
    seen |= UINT64_C(1) << (p - m->params);
    if (!type_matches(p->type, &kv->val)) {
      snprintf(why, why_len, "%s: parameter '%s' must be a %s", m->name, p->name, param_type_name(p->type));
      return -EINVAL;
    }
  }
  for (size_t i = 0; i < m->n_params; i++)
    if (m->params[i].required && proto_map_get(params, m->params[i].name) == NULL) {
      snprintf(why, why_len, "%s: missing required parameter '%s'", m->name, m->params[i].name);
      return -EINVAL;
    }
  return 0;
}
