/*
 * A host handle: the checked declaration copied (it may have been stack memory), defaults
 * converted to MessagePack once, the host.declare parameters packed once, and the current
 * backend (from the environment, then backend_host_set_backend and scopes).
 */
#include "host-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "json.h"
#include "message.h"

#define ENV_SUFFIX "_BACKEND"

/* ---- copying the declaration ---- */

/*
 * A default (JSON text, checked already) as a MessagePack object in the host's zone: the
 * packed bytes are kept there too, since the unpacked strings point into them.
 */
static int convert_default(backend_host *h, const char *text, const msgpack_object **out) {
  json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_object *obj = NULL;
  char *bytes = NULL;
  int err;

  if (!j)
    return -ENOMEM; /* it parsed a moment ago */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  err = proto_msgpack_from_json(j, &pk) < 0 ? -ENOMEM : 0;
  json_decref(j);
  if (!err && (!(obj = msgpack_zone_malloc(&h->zone, sizeof *obj)) ||
               !(bytes = msgpack_zone_malloc_no_align(&h->zone, sb.size))))
    err = -ENOMEM;
  if (!err) {
    memcpy(bytes, sb.data, sb.size);
    err = proto_decode(bytes, sb.size, &h->zone, obj) == 0 ? 0 : -ENOMEM;
  }
  msgpack_sbuffer_destroy(&sb);
  if (!err)
    *out = obj;
  return err;
}

static int copy_params(backend_host *h, const struct backend_param *src, struct host_fn *fn) {
  size_t n = 0;
  int err;

  while (src && src[n].name)
    n++;
  if (!(fn->params = calloc(n ? n : 1, sizeof *fn->params)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++, fn->n_params++) {
    struct sig_param *p = &fn->params[i];
    if (!(p->name = strdup(src[i].name)))
      return -ENOMEM;
    p->kind = src[i].kind;
    if (src[i].default_json && (err = convert_default(h, src[i].default_json, &p->def)) != 0) {
      fn->n_params++; /* so that its name is freed */
      return err;
    }
    if (p->kind == BACKEND_PARAM_VAR_KEYWORD)
      fn->var_keyword = true;
  }
  return 0;
}

static int copy_function(backend_host *h, const struct backend_host_function *src, struct host_fn *fn) {
  int err;

  if (!(fn->name = strdup(src->name)) || !(fn->doc = strdup(src->doc ? src->doc : "")))
    return -ENOMEM;
  fn->impl = src->impl;
  fn->sig = (struct sig){.function = fn->name};
  err = copy_params(h, src->params, fn);
  fn->sig.params = fn->params;
  fn->sig.n = fn->n_params;
  return err;
}

static int cmp_fn(const void *a, const void *b) {
  return strcmp((*(struct host_fn *const *)a)->name, (*(struct host_fn *const *)b)->name);
}

static int copy_functions(backend_host *h, const struct backend_host_function *src) {
  size_t n = 0;
  int err;

  while (src && src[n].name)
    n++;
  if (!(h->fns = calloc(n ? n : 1, sizeof *h->fns)) || !(h->by_name = calloc(n ? n : 1, sizeof *h->by_name)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    h->n_fns++; /* counted first: a partly copied function is freed too */
    if ((err = copy_function(h, &src[i], &h->fns[i])) != 0)
      return err;
    h->by_name[i] = &h->fns[i];
  }
  qsort(h->by_name, n, sizeof *h->by_name, cmp_fn);
  return 0;
}

static void free_functions(backend_host *h) {
  for (size_t i = 0; h->fns && i < h->n_fns; i++) {
    struct host_fn *fn = &h->fns[i];
    for (size_t j = 0; j < fn->n_params; j++)
      free((char *)fn->params[j].name);
    free(fn->params);
    free(fn->name);
    free(fn->doc);
  }
  free(h->fns);
  free(h->by_name);
}

const struct host_fn *host_find_fn(const backend_host *h, const char *name) {
  size_t lo = 0, hi = h->n_fns;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(h->by_name[mid]->name, name);
    if (c == 0)
      return h->by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* ---- the environment ---- */

/* "example_host" -> "EXAMPLE_HOST_BACKEND"; ASCII only, so the locale never matters. */
static char *env_var_name(const char *host) {
  size_t len = strlen(host);
  char *v = malloc(len + sizeof ENV_SUFFIX);

  if (!v)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    char ch = host[i];
    if (ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      ch = '_';
    v[i] = ch;
  }
  memcpy(v + len, ENV_SUFFIX, sizeof ENV_SUFFIX);
  return v;
}

static int initial_backend(backend_host *h, char *why, size_t why_len) {
  const char *v = getenv(h->env_var), *bad;

  if (!v || !*v)
    v = HOST_CPU;
  if ((bad = hostdecl_check_backend_name(v))) {
    if (why && why_len > 0)
      snprintf(why, why_len, "%s='%.200s': %s", h->env_var, v, bad);
    return BACKEND_EINVAL;
  }
  strcpy(h->current, v); /* fits: the rules bound the length */
  return 0;
}

/* ---- public API ---- */

static int build(backend_host *h, const struct backend_host_decl *decl, const char *socket_path, char *why,
                 size_t why_len) {
  int err;

  h->user = decl->user;
  if (!(h->name = strdup(decl->name)) || (decl->group && !(h->group = strdup(decl->group))) ||
      (socket_path && !(h->socket_path = strdup(socket_path))) || !(h->env_var = env_var_name(decl->name)))
    return -ENOMEM;
  if ((err = copy_functions(h, decl->functions)) != 0 || (err = initial_backend(h, why, why_len)) != 0)
    return err;
  return host_decl_pack(h, decl, &h->decl);
}

BACKEND_EXPORT int backend_host_new(const struct backend_host_decl *decl, const char *socket_path,
                                    backend_host **out, char *why, size_t why_len) {
  backend_host *h;
  int err;

  if (why && why_len > 0)
    why[0] = '\0';
  if (!out)
    return BACKEND_EINVAL;
  *out = NULL;
  if ((err = host_check_decl(decl, why, why_len)) != 0)
    return err;
  if (!(h = calloc(1, sizeof *h)))
    goto nomem;
  if (!msgpack_zone_init(&h->zone, 1024)) {
    free(h);
    goto nomem;
  }
  msgpack_sbuffer_init(&h->decl);
  if ((err = pthread_mutex_init(&h->lock, NULL)) != 0) {
    msgpack_zone_destroy(&h->zone);
    free(h);
    return -err;
  }
  if ((err = pthread_mutex_init(&h->conn_lock, NULL)) != 0) {
    pthread_mutex_destroy(&h->lock);
    msgpack_zone_destroy(&h->zone);
    free(h);
    return -err;
  }
  if ((err = build(h, decl, socket_path, why, why_len)) != 0) {
    backend_host_free(h);
    if (err == -ENOMEM)
      goto nomem;
    return err;
  }
  *out = h;
  return 0;
nomem:
  if (why && why_len > 0)
    snprintf(why, why_len, "out of memory");
  return -ENOMEM;
}

BACKEND_EXPORT void backend_host_free(backend_host *h) {
  if (!h)
    return;
  host_conn_close(h);
  free_functions(h);
  msgpack_zone_destroy(&h->zone);
  msgpack_sbuffer_destroy(&h->decl);
  pthread_mutex_destroy(&h->lock);
  pthread_mutex_destroy(&h->conn_lock);
  free(h->name);
  free(h->group);
  free(h->env_var);
  free(h->socket_path);
  free(h);
}

BACKEND_EXPORT const char *backend_host_env_var(const backend_host *h) {
  return h ? h->env_var : NULL;
}

BACKEND_EXPORT int backend_host_set_backend(backend_host *h, const char *name) {
  if (!name)
    name = HOST_CPU;
  if (!h || hostdecl_check_backend_name(name))
    return BACKEND_EINVAL;
  pthread_mutex_lock(&h->lock);
  strcpy(h->current, name);
  pthread_mutex_unlock(&h->lock);
  return 0;
}

BACKEND_EXPORT int backend_host_get_backend(backend_host *h, char *buf, size_t len) {
  size_t n;
  int err = 0;

  if (!h || !buf)
    return BACKEND_EINVAL;
  pthread_mutex_lock(&h->lock);
  n = strlen(h->current);
  if (n < len)
    memcpy(buf, h->current, n + 1);
  else
    err = -ENAMETOOLONG;
  pthread_mutex_unlock(&h->lock);
  return err;
}

BACKEND_EXPORT int backend_host_scope_begin(backend_host *h, const char *name, backend_scope *scope) {
  int err = 0;

  if (!name)
    name = HOST_CPU;
  if (!h || !scope)
    return BACKEND_EINVAL;
  pthread_mutex_lock(&h->lock);
  /* Filled even when name is refused, so that a scope_end after the error changes nothing. */
  strcpy(scope->previous, h->current);
  if (hostdecl_check_backend_name(name))
    err = BACKEND_EINVAL;
  else
    strcpy(h->current, name);
  pthread_mutex_unlock(&h->lock);
  return err;
}

BACKEND_EXPORT void backend_host_scope_end(backend_host *h, const backend_scope *scope) {
  if (!h || !scope || strnlen(scope->previous, sizeof scope->previous) == sizeof scope->previous ||
      hostdecl_check_backend_name(scope->previous))
    return;
  pthread_mutex_lock(&h->lock);
  strcpy(h->current, scope->previous);
  pthread_mutex_unlock(&h->lock);
}
