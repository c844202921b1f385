#define _GNU_SOURCE
#include "route.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/param.h>

#include "host.h"
#include "plugin_info.h"

static bool is_named(uint32_t kind) { return kind == BACKEND_PARAM_POSITIONAL || kind == BACKEND_PARAM_KEYWORD_ONLY; }

static bool takes_var_keyword(const struct sig *s) {
  return s->n > 0 && s->params[s->n - 1].kind == BACKEND_PARAM_VAR_KEYWORD;
}

/* The backend's parameter of that name, by which it receives an argument; NULL when it has none. */
static const char *backend_name_for(const struct plugin_function *bf, const char *name, size_t len) {
  int j = sig_find(&bf->sig, name, len);
  return j >= 0 && is_named(bf->sig.params[j].kind) ? bf->sig.params[j].name : NULL;
}

static int add(struct route *r, const char *name, const msgpack_object *value) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->names[i], name) == 0)
      return 0; /* a name reaches the backend once */
  if (r->n == ROUTE_MAX_ARGS)
    return -E2BIG;
  r->names[r->n] = name;
  r->values[r->n++] = value;
  return 0;
}

static int warn(struct route *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct route *r, const char *fmt, ...) {
  va_list ap;
  char *w;
  int n;
  /* At most one per argument, and ROUTE_MAX_CALL_ARGS bounds those: never drop one silently. */
  if (r->n_warnings == ROUTE_MAX_CALL_ARGS)
    return -E2BIG;
  va_start(ap, fmt);
  n = vasprintf(&w, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -ENOMEM;
  r->warnings[r->n_warnings++] = w;
  return 0;
}

/* How much of a caller's name to show: at most ROUTE_MAX_SHOWN bytes, then "…". */
static int shown(size_t len, const char *s, const char **ellipsis) {
  *ellipsis = len > ROUTE_MAX_SHOWN ? SIG_ELLIPSIS : "";
  return (int)sig_utf8_cut(s, len, ROUTE_MAX_SHOWN);
}

/*
 * A host-only argument: dropped, silently at the host's default, else with a warning. A
 * value too large to compare (sig_value_equal's budget) counts as not at the default.
 */
static int drop_host_only(struct route *r, const char *backend, const struct sig_param *p,
                          const msgpack_object *value) {
  char *repr;
  int err;
  if (p->def != NULL && sig_value_equal(value, p->def))
    return 0;
  /* The caller chooses the value's size: show its start, not all of it. */
  if ((repr = sig_value_repr_max(value, ROUTE_MAX_SHOWN)) == NULL)
    return -ENOMEM;
  err = warn(r, "backend '%s' does not take '%s': %s=%s was ignored", backend, p->name, p->name, repr);
  free(repr);
  return err;
}

/*
 * Adds an argument under a copy of name: for a **kwargs backend, which takes arguments under
 * names that are not its own. The route outlives the request handler (the call may still be
 * queued when the declaring connection closes or redeclares its host), so it must not point
 * into the host's declaration.
 */
static int add_copy(struct route *r, const char *name, size_t len, const msgpack_object *value) {
  char *copy;
  for (size_t i = 0; i < r->n; i++)
    if (strlen(r->names[i]) == len && strncmp(r->names[i], name, len) == 0)
      return 0; /* a name reaches the backend once */
  if (r->n_owned == ROUTE_MAX_CALL_ARGS)
    return -E2BIG;
  if ((copy = strndup(name, len)) == NULL)
    return -ENOMEM;
  r->owned[r->n_owned++] = copy;
  return add(r, copy, value);
}

static int forward_extra(struct route *r, const struct plugin_function *bf, const msgpack_object_kv *kv) {
  const char *name = backend_name_for(bf, kv->key.via.str.ptr, kv->key.via.str.size);
  if (name != NULL)
    return add(r, name, &kv->val);
  /* A **kwargs backend takes it under the caller's spelling. */
  return add_copy(r, kv->key.via.str.ptr, kv->key.via.str.size, &kv->val);
}

static int route_extras(const struct host *h, const struct host_function *hf, const char *backend,
                        const struct plugin_function *bf, const struct sig_binding *b, struct route *r, char *why,
                        size_t why_len) {
  for (size_t i = 0; i < b->n_extra; i++) {
    const msgpack_object_kv *kv = b->extra[i];
    const char *more;
    int len = shown(kv->key.via.str.size, kv->key.via.str.ptr, &more), err;
    bool backend_takes = bf != NULL && (backend_name_for(bf, kv->key.via.str.ptr, kv->key.via.str.size) != NULL ||
                                        takes_var_keyword(&bf->sig));
    if (backend_takes) {
      if ((err = forward_extra(r, bf, kv)) < 0)
        return err;
    } else if (takes_var_keyword(&hf->sig)) {
      if (bf != NULL && (err = warn(r, "backend '%s' does not take '%.*s%s': it was ignored", backend, len,
                                    kv->key.via.str.ptr, more)) < 0)
        return err;
    } else if (bf == NULL && backend == NULL) {
      snprintf(why, why_len, "%s() got an unexpected keyword argument '%.*s%s' (the cpu backend takes only %s's parameters)",
               hf->name, len, kv->key.via.str.ptr, more, h->name);
      return -EINVAL;
    } else {
      snprintf(why, why_len, "%s() got an unexpected keyword argument '%.*s%s' (neither %s nor backend '%s' takes it)",
               hf->name, len, kv->key.via.str.ptr, more, h->name, backend);
      return -EINVAL;
    }
  }
  return 0;
}

/* What the caller left out, the backend function's own defaults fill in. */
static int add_backend_defaults(const struct plugin_function *bf, const char *backend, struct route *r, char *why,
                                size_t why_len) {
  for (size_t j = 0; j < bf->sig.n; j++) {
    const struct sig_param *p = &bf->sig.params[j];
    bool passed = false;
    if (!is_named(p->kind))
      continue;
    for (size_t i = 0; i < r->n_forwarded && !passed; i++)
      passed = strcmp(r->names[i], p->name) == 0;
    if (passed)
      continue;
    if (p->def == NULL) {
      snprintf(why, why_len, "backend '%s' needs '%s' for %s(), and the call does not pass it", backend, p->name,
               bf->name);
      return -EINVAL;
    }
    if (add(r, p->name, p->def) < 0)
      return -E2BIG;
  }
  return 0;
}

int route_call(const struct host *h, const struct host_function *hf, const char *backend,
               const struct plugin_function *bf, const msgpack_object *args, const msgpack_object *kwargs,
               struct route *r, char *why, size_t why_len) {
  struct sig_binding b;
  int err;
  memset(r, 0, sizeof *r);
  if ((err = sig_bind(&hf->sig, args, kwargs, true, &b, why, why_len)) < 0)
    return err;
  if ((err = route_extras(h, hf, backend, bf, &b, r, why, why_len)) < 0 || bf == NULL)
    return err;
  for (size_t i = 0; i < hf->sig.n; i++) {
    const struct sig_param *p = &hf->sig.params[i];
    const char *name;
    if (b.values[i] == NULL) /* omitted: never injected, the backend's default applies */
      continue;
    if ((name = backend_name_for(bf, p->name, strlen(p->name))) != NULL)
      err = add(r, name, b.values[i]);
    else if (takes_var_keyword(&bf->sig))
      err = add_copy(r, p->name, strlen(p->name), b.values[i]);
    else
      err = drop_host_only(r, backend, p, b.values[i]);
    if (err < 0)
      return err;
  }
  r->n_forwarded = r->n;
  return add_backend_defaults(bf, backend, r, why, why_len);
}

void route_clear(struct route *r) {
  for (size_t i = 0; i < r->n_warnings; i++)
    free(r->warnings[i]);
  for (size_t i = 0; i < r->n_owned; i++)
    free(r->owned[i]);
  memset(r, 0, sizeof *r);
}
