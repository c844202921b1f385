/*
 * Checking a host declaration before anything is copied, by the rules the daemon's
 * host.declare applies (doc/backends.md, daemon/host.c, same words), so that a bad
 * declaration fails in backend_host_new rather than on the first call that needs the daemon.
 */
#include "host-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/param.h"

#define GROUP_SUFFIX ".backends"

struct checker {
  char *why;
  size_t why_len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct checker *c, const char *fmt, ...) {
  va_list ap;

  if (c->why && c->why_len > 0) {
    va_start(ap, fmt);
    vsnprintf(c->why, c->why_len, fmt, ap);
    va_end(ap);
  }
  return BACKEND_EINVAL;
}

static int out_of_memory(struct checker *c) {
  if (c->why && c->why_len > 0)
    snprintf(c->why, c->why_len, "out of memory");
  return -ENOMEM;
}

static int check_default(struct checker *c, const char *fn, const char *param, const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);

  if (!j)
    return fail(c, "function '%s', parameter '%s': the default is not JSON: %s", fn, param, e.text);
  json_decref(j);
  return 0;
}

static int check_param(struct checker *c, const char *fn, const struct backend_param *p) {
  if (!hostdecl_is_identifier(p->name))
    return fail(c, "function '%s', parameter '%s': a parameter name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)",
                fn, p->name);
  if (strcmp(p->name, "backend") == 0)
    return fail(c, "function '%s', parameter 'backend': a parameter named 'backend' would hide the per-call backend",
                fn);
  switch (p->kind) {
  case BACKEND_PARAM_POSITIONAL:
  case BACKEND_PARAM_KEYWORD_ONLY:
  case BACKEND_PARAM_VAR_KEYWORD:
    break;
  case BACKEND_PARAM_VAR_POSITIONAL:
    return fail(c, "function '%s', parameter '%s': variadic positional parameters (*%s) cannot be routed to a backend",
                fn, p->name, p->name);
  default:
    return fail(c, "function '%s', parameter '%s': unknown kind %u (positional, keyword_only, var_keyword)", fn,
                p->name, (unsigned)p->kind);
  }
  if (p->kind == BACKEND_PARAM_VAR_KEYWORD && p[1].name)
    return fail(c, "function '%s': **%s must be the last parameter", fn, p->name);
  return p->default_json ? check_default(c, fn, p->name, p->default_json) : 0;
}

static int check_params(struct checker *c, const struct backend_host_function *f) {
  struct hostdecl_order order = {0};
  const char *bad;
  int err;

  for (size_t i = 0; f->params && f->params[i].name; i++) {
    if (i == SIG_MAX_PARAMS)
      return fail(c, "function '%s': more than %d parameters", f->name, SIG_MAX_PARAMS);
    if ((err = check_param(c, f->name, &f->params[i])) != 0)
      return err;
    if ((bad = hostdecl_check_order(&order, f->params[i].kind, f->params[i].default_json != NULL)))
      return fail(c, "function '%s', parameter '%s': %s", f->name, f->params[i].name, bad);
    for (size_t j = 0; j < i; j++)
      if (strcmp(f->params[j].name, f->params[i].name) == 0)
        return fail(c, "function '%s': parameter '%s' appears twice", f->name, f->params[i].name);
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicates by sorting the names: up to 1024 functions. */
static int check_function_names(struct checker *c, const struct backend_host_function *fns, size_t n) {
  const char **names;
  int err = 0;

  if (n < 2)
    return 0;
  if (!(names = malloc(n * sizeof *names)))
    return out_of_memory(c);
  for (size_t i = 0; i < n; i++)
    names[i] = fns[i].name;
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 1; i < n && !err; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      err = fail(c, "function '%s' is declared twice", names[i]);
  free(names);
  return err;
}

static int check_functions(struct checker *c, const struct backend_host_function *fns) {
  size_t n;
  int err;

  for (n = 0; fns && fns[n].name; n++) {
    const struct backend_host_function *f = &fns[n];
    if (n == HOSTDECL_MAX_FUNCTIONS)
      return fail(c, "more than %d functions", HOSTDECL_MAX_FUNCTIONS);
    if (!hostdecl_is_identifier(f->name))
      return fail(c, "function '%s': a function name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", f->name);
    if (!f->impl)
      return fail(c, "function '%s': no implementation (impl is NULL)", f->name);
    if ((err = check_params(c, f)) != 0)
      return err;
  }
  return check_function_names(c, fns, n);
}

static int check_reserved(struct checker *c, const struct backend_reserved *rs) {
  const char *bad;

  for (size_t i = 0; rs && rs[i].name; i++) {
    if (i == HOSTDECL_MAX_RESERVED)
      return fail(c, "more than %d reserved names", HOSTDECL_MAX_RESERVED);
    if ((bad = hostdecl_check_declared_name(rs[i].name)))
      return fail(c, "reserved name '%s': %s", rs[i].name, bad);
    if (!rs[i].reason)
      return fail(c, "reserved name '%s': a reason is required", rs[i].name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(rs[j].name, rs[i].name) == 0)
        return fail(c, "reserved name '%s' appears twice", rs[i].name);
  }
  return 0;
}

static size_t count(const char *const *list) {
  size_t n = 0;

  while (list && list[n])
    n++;
  return n;
}

static int check_trust_lists(struct checker *c, const struct backend_trusted *t) {
  const struct {
    const char *what;
    const char *const *list;
  } lists[] = {{"aliases", t->aliases},         {"distributions", t->distributions},
               {"entrypoints", t->entrypoints}, {"object_refs", t->object_refs},
               {"module_prefixes", t->module_prefixes}};

  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (count(lists[i].list) > HOSTDECL_MAX_TRUST_LIST)
      return fail(c, "trusted backend '%s': %s: more than %d entries", t->name, lists[i].what, HOSTDECL_MAX_TRUST_LIST);
  return 0;
}

static int check_trusted_entry(struct checker *c, const struct backend_trusted *t) {
  const char *bad;
  int err;

  if ((bad = hostdecl_check_declared_name(t->name)))
    return fail(c, "trusted backend '%s': %s", t->name, bad);
  if (!t->package)
    return fail(c, "trusted backend '%s': package is required", t->name);
  if ((err = check_trust_lists(c, t)) != 0)
    return err;
  for (size_t i = 0; t->aliases && t->aliases[i]; i++)
    if ((bad = hostdecl_check_declared_name(t->aliases[i])))
      return fail(c, "trusted backend '%s': aliases: '%s': %s", t->name, t->aliases[i], bad);
  return 0;
}

/* The first trusted entry named name or with name as an alias. */
static const struct backend_trusted *find_trusted(const struct backend_trusted *ts, const char *name) {
  for (size_t i = 0; ts[i].name; i++) {
    if (strcmp(ts[i].name, name) == 0)
      return &ts[i];
    for (size_t a = 0; ts[i].aliases && ts[i].aliases[a]; a++)
      if (strcmp(ts[i].aliases[a], name) == 0)
        return &ts[i];
  }
  return NULL;
}

static bool is_reserved(const struct backend_reserved *rs, const char *name) {
  for (size_t i = 0; rs && rs[i].name; i++)
    if (strcmp(rs[i].name, name) == 0)
      return true;
  return false;
}

/* One name of trusted entry t, against the other entries, t's later aliases and the reserved names. */
static int check_trusted_name(struct checker *c, const struct backend_host_decl *d, const struct backend_trusted *t,
                              const char *name, const char *const *later) {
  const struct backend_trusted *other = find_trusted(d->trusted, name);

  if (other != t)
    return fail(c, "'%s' is claimed by trusted backends '%s' and '%s'", name, other->name, t->name);
  for (size_t i = 0; later && later[i]; i++)
    if (strcmp(name, later[i]) == 0)
      return fail(c, "trusted backend '%s' lists '%s' twice", t->name, name);
  if (is_reserved(d->reserved, name))
    return fail(c, "'%s' is both trusted (backend '%s') and reserved", name, t->name);
  return 0;
}

static int check_trusted_names(struct checker *c, const struct backend_host_decl *d, const struct backend_trusted *t) {
  int err = check_trusted_name(c, d, t, t->name, t->aliases);

  for (size_t a = 0; !err && t->aliases && t->aliases[a]; a++)
    err = check_trusted_name(c, d, t, t->aliases[a], &t->aliases[a + 1]);
  return err;
}

static int check_trusted(struct checker *c, const struct backend_host_decl *d) {
  size_t names = 0;
  int err;

  for (size_t i = 0; d->reserved && d->reserved[i].name; i++)
    names++;
  for (size_t i = 0; d->trusted && d->trusted[i].name; i++) {
    if (i == HOSTDECL_MAX_TRUSTED)
      return fail(c, "more than %d trusted backends", HOSTDECL_MAX_TRUSTED);
    if ((err = check_trusted_entry(c, &d->trusted[i])) != 0)
      return err;
    names += 1 + count(d->trusted[i].aliases);
  }
  /* before the pairwise checks below, which these caps keep small */
  if (names > HOSTDECL_MAX_BACKEND_NAMES)
    return fail(c, "more than %d backend names (trusted names, aliases and reserved names together)",
                HOSTDECL_MAX_BACKEND_NAMES);
  for (size_t i = 0; d->trusted && d->trusted[i].name; i++)
    if ((err = check_trusted_names(c, d, &d->trusted[i])) != 0)
      return err;
  return 0;
}

static int check_group(struct checker *c, const char *group) {
  size_t len = strlen(group), suffix = strlen(GROUP_SUFFIX);

  /* Only "*.backends" groups hold backend adapters (doc/plugins.md). */
  if (len <= suffix || strcmp(group + len - suffix, GROUP_SUFFIX) != 0)
    return fail(c, "group '%s' must end with '" GROUP_SUFFIX "'", group);
  return 0;
}

int host_check_decl(const struct backend_host_decl *d, char *why, size_t why_len) {
  struct checker c = {why, why_len};
  const char *bad;
  int err;

  if (!d)
    return fail(&c, "no declaration");
  if (!d->name)
    return fail(&c, "the declaration has no name");
  if ((bad = hostdecl_check_declared_name(d->name)))
    return fail(&c, "host name '%s': %s", d->name, bad);
  if (d->group && (err = check_group(&c, d->group)) != 0)
    return err;
  if ((err = check_functions(&c, d->functions)) != 0 || (err = check_reserved(&c, d->reserved)) != 0)
    return err;
  return check_trusted(&c, d);
}
