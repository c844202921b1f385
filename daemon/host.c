#include "host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <backend/param.h>

#include "backends.h"
#include "json.h"
#include "limits.h"
#include "message.h"
#include "names.h"

#define GROUP_SUFFIX ".backends"

struct parser {
  struct host *h;
  char *why;
  size_t why_len;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->why, p->why_len, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

static const char *const kind_names[] = {NULL, "positional", "keyword_only", "var_positional", "var_keyword"};

const char *host_param_kind_name(uint32_t kind) {
  return kind >= 1 && kind <= BACKEND_PARAM_VAR_KEYWORD ? kind_names[kind] : NULL;
}


/* A required string member; on success *out is a new copy. */
static int get_str(struct parser *p, const msgpack_object *o, const char *where, char **out) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return fail(p, "%s must be a string", where);
  if ((*out = proto_strdup(o)) != NULL)
    return 0;
  if (o->via.str.size == 0 || memchr(o->via.str.ptr, '\0', o->via.str.size) == NULL)
    return -ENOMEM;
  fail(p, "%s holds a NUL byte", where);
  return -EINVAL; /* spelt out: GCC does not see that fail() never returns 0, and warns */
}

/* Refuses keys other than the allowed ones, so a misspelt field is an error, not ignored. */
static int check_keys(struct parser *p, const msgpack_object *map, const char *where, const char *const *allowed) {
  if (map->type != MSGPACK_OBJECT_MAP)
    return fail(p, "%s must be a map", where);
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    bool ok = false;
    for (const char *const *a = allowed; *a != NULL && !ok; a++)
      ok = proto_str_eq(k, *a);
    if (!ok) {
      if (k->type == MSGPACK_OBJECT_STR)
        return fail(p, "%s: unknown field '%.*s'", where, (int)(k->via.str.size > 64 ? 64 : k->via.str.size),
                    k->via.str.ptr);
      return fail(p, "%s: field names must be strings", where);
    }
  }
  return 0;
}

/* An optional list of strings of a trust entry (at most HOSTDECL_MAX_TRUST_LIST); each checked by check (may be NULL). */
static int get_str_list(struct parser *p, const msgpack_object *o, const char *where,
                        const char *(*check)(const char *), char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_ARRAY)
    return fail(p, "%s must be a list of strings", where);
  if (o->via.array.size > HOSTDECL_MAX_TRUST_LIST)
    return fail(p, "%s: more than %d entries", where, HOSTDECL_MAX_TRUST_LIST);
  if (o->via.array.size == 0)
    return 0;
  if ((*out = calloc(o->via.array.size, sizeof **out)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < o->via.array.size; i++) {
    const char *bad;
    int err = get_str(p, &o->via.array.ptr[i], where, &(*out)[i]);
    if (err < 0)
      return err;
    (*n)++;
    if (check != NULL && (bad = check((*out)[i])) != NULL)
      return fail(p, "%s: '%s': %s", where, (*out)[i], bad);
  }
  return 0;
}

static void free_str_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static int parse_param(struct parser *p, const char *fn, const msgpack_object *o, struct sig_param *out) {
  static const char *const keys[] = {"name", "kind", "default", NULL};
  char where[160], *name = NULL, *kind = NULL;
  const msgpack_object *def;
  int err;
  snprintf(where, sizeof where, "function '%s': a parameter", fn);
  if ((err = check_keys(p, o, where, keys)) < 0 || (err = get_str(p, proto_map_get(o, "name"), where, &name)) < 0)
    return err;
  out->name = name;
  snprintf(where, sizeof where, "function '%s', parameter '%s'", fn, name);
  if (!hostdecl_is_identifier(name))
    return fail(p, "%s: a parameter name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", where);
  if (strcmp(name, "backend") == 0)
    return fail(p, "%s: a parameter named 'backend' would hide the per-call backend", where);
  if ((err = get_str(p, proto_map_get(o, "kind"), where, &kind)) < 0)
    return err;
  for (uint32_t k = 1; k <= BACKEND_PARAM_VAR_KEYWORD; k++)
    if (strcmp(kind, kind_names[k]) == 0)
      out->kind = k;
  if (out->kind == 0)
    err = fail(p, "%s: unknown kind '%s' (positional, keyword_only, var_keyword)", where, kind);
  else if (out->kind == BACKEND_PARAM_VAR_POSITIONAL)
    err = fail(p, "%s: variadic positional parameters (*%s) cannot be routed to a backend", where, name);
  free(kind);
  if (err < 0)
    return err;
  if ((def = proto_map_get(o, "default")) != NULL) {
    msgpack_object *copy = msgpack_zone_malloc(&p->h->zone, sizeof *copy);
    if (copy == NULL || proto_object_copy(&p->h->zone, def, copy) < 0)
      return -ENOMEM;
    out->def = copy;
  }
  return 0;
}

static int parse_function(struct parser *p, const msgpack_object *o, struct host_function *f) {
  static const char *const keys[] = {"name", "params", "doc", NULL};
  const msgpack_object *params, *doc;
  struct hostdecl_order order = {0};
  char where[160];
  int err;
  if ((err = check_keys(p, o, "a function", keys)) < 0 ||
      (err = get_str(p, proto_map_get(o, "name"), "a function's name", &f->name)) < 0)
    return err;
  if (!hostdecl_is_identifier(f->name))
    return fail(p, "function '%s': a function name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", f->name);
  snprintf(where, sizeof where, "function '%s': doc", f->name);
  if ((doc = proto_map_get(o, "doc")) != NULL && doc->type != MSGPACK_OBJECT_NIL) {
    if ((err = get_str(p, doc, where, &f->doc)) < 0)
      return err;
  } else if ((f->doc = strdup("")) == NULL) {
    return -ENOMEM;
  }
  params = proto_map_get(o, "params");
  if (params == NULL || params->type == MSGPACK_OBJECT_NIL)
    goto done;
  if (params->type != MSGPACK_OBJECT_ARRAY)
    return fail(p, "function '%s': params must be a list", f->name);
  if (params->via.array.size > SIG_MAX_PARAMS)
    return fail(p, "function '%s': more than %d parameters", f->name, SIG_MAX_PARAMS);
  if (params->via.array.size > 0 && (f->params = calloc(params->via.array.size, sizeof *f->params)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < params->via.array.size; i++) {
    const char *bad;
    if ((err = parse_param(p, f->name, &params->via.array.ptr[i], &f->params[i])) < 0) {
      f->n_params = i + 1; /* free the partly parsed one too */
      return err;
    }
    f->n_params = i + 1;
    if ((bad = hostdecl_check_order(&order, f->params[i].kind, f->params[i].def != NULL)) != NULL)
      return fail(p, "function '%s', parameter '%s': %s", f->name, f->params[i].name, bad);
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(f->params[j].name, f->params[i].name) == 0)
        return fail(p, "function '%s': parameter '%s' appears twice", f->name, f->params[i].name);
    if (f->params[i].kind == BACKEND_PARAM_VAR_KEYWORD && i + 1 != params->via.array.size)
      return fail(p, "function '%s': **%s must be the last parameter", f->name, f->params[i].name);
  }
done:
  f->sig = (struct sig){.function = f->name, .params = f->params, .n = f->n_params};
  return 0;
}

static int parse_trusted(struct parser *p, const msgpack_object_kv *kv, struct host_trusted *t) {
  static const char *const keys[] = {"package",     "aliases",         "distributions", "entrypoints",
                                     "object_refs", "module_prefixes", NULL};
  char where[200];
  const char *bad;
  char **dists = NULL;
  size_t n_dists = 0;
  int err;
  if ((err = get_str(p, &kv->key, "a trusted backend's name", &t->name)) < 0)
    return err;
  if ((bad = hostdecl_check_declared_name(t->name)) != NULL)
    return fail(p, "trusted backend '%s': %s", t->name, bad);
  snprintf(where, sizeof where, "trusted backend '%s'", t->name);
  if ((err = check_keys(p, &kv->val, where, keys)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': package", t->name);
  if ((err = get_str(p, proto_map_get(&kv->val, "package"), where, &t->package)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': aliases", t->name);
  if ((err = get_str_list(p, proto_map_get(&kv->val, "aliases"), where, hostdecl_check_declared_name, &t->aliases,
                          &t->n_aliases)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': entrypoints", t->name);
  if ((err = get_str_list(p, proto_map_get(&kv->val, "entrypoints"), where, NULL, &t->entrypoints,
                          &t->n_entrypoints)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': object_refs", t->name);
  if ((err = get_str_list(p, proto_map_get(&kv->val, "object_refs"), where, NULL, &t->object_refs,
                          &t->n_object_refs)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': module_prefixes", t->name);
  if ((err = get_str_list(p, proto_map_get(&kv->val, "module_prefixes"), where, NULL, &t->module_prefixes,
                          &t->n_module_prefixes)) < 0)
    return err;
  snprintf(where, sizeof where, "trusted backend '%s': distributions", t->name);
  if ((err = get_str_list(p, proto_map_get(&kv->val, "distributions"), where, NULL, &dists, &n_dists)) < 0)
    goto out;
  /* Compared after PEP 503 normalisation; the package itself when none are listed. */
  if (n_dists == 0) {
    free(dists);
    if ((dists = calloc(1, sizeof *dists)) == NULL || (dists[0] = strdup(t->package)) == NULL) {
      err = -ENOMEM;
      goto out;
    }
    n_dists = 1;
  }
  if ((t->distributions = calloc(n_dists, sizeof *t->distributions)) == NULL) {
    err = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n_dists; i++, t->n_distributions++)
    if ((t->distributions[i] = names_normalize_dist(dists[i])) == NULL) {
      err = -ENOMEM;
      goto out;
    }
out:
  free_str_list(dists, n_dists);
  return err;
}

/* One backend name the host declares: a trusted name or alias, or a reserved name. */
struct host_name {
  const char *name;
  const struct host_trusted *trusted;   /* the entry it names; NULL for a reserved name */
  const struct host_reserved *reserved; /* the reserved name; NULL for a trusted one */
  size_t seq;                           /* declaration order: trusted names and aliases, then reserved */
};

static int name_cmp(const void *a, const void *b) {
  const struct host_name *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The rule broken by two equal names, x declared before y. */
static int fail_duplicate(struct parser *p, const struct host_name *x, const struct host_name *y) {
  if (x->trusted != NULL && x->trusted == y->trusted)
    return fail(p, "trusted backend '%s' lists '%s' twice", x->trusted->name, x->name);
  if (x->trusted != NULL && y->trusted != NULL)
    return fail(p, "'%s' is claimed by trusted backends '%s' and '%s'", x->name, x->trusted->name, y->trusted->name);
  if (x->trusted != NULL)
    return fail(p, "'%s' is both trusted (backend '%s') and reserved", x->name, x->trusted->name);
  return fail(p, "reserved name '%s' appears twice", x->name);
}

static size_t count_backend_names(const struct host *h) {
  size_t n = h->n_reserved;
  for (size_t i = 0; i < h->n_trusted; i++)
    n += 1 + h->trusted[i].n_aliases;
  return n;
}

/*
 * Every trusted name and alias, and every reserved name, must be distinct: sorted into
 * h->names (which lookups then search) rather than compared pairwise, since a client
 * chooses how many there are.
 */
static int check_backend_names(struct parser *p) {
  struct host *h = p->h;
  size_t n = count_backend_names(h), k = 0;
  const struct host_name *dup = NULL;
  if (n > HOSTDECL_MAX_BACKEND_NAMES)
    return fail(p, "more than %d backend names (trusted names, aliases and reserved names together)",
                HOSTDECL_MAX_BACKEND_NAMES);
  if (n == 0)
    return 0;
  if ((h->names = calloc(n, sizeof *h->names)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < h->n_trusted; i++) {
    const struct host_trusted *t = &h->trusted[i];
    for (size_t a = 0; a <= t->n_aliases; a++, k++)
      h->names[k] = (struct host_name){a == 0 ? t->name : t->aliases[a - 1], t, NULL, k};
  }
  for (size_t i = 0; i < h->n_reserved; i++, k++)
    h->names[k] = (struct host_name){h->reserved[i].name, NULL, &h->reserved[i], k};
  h->n_names = n;
  qsort(h->names, n, sizeof *h->names, name_cmp);
  /* Of the names declared twice, report the one declared again first, as a reader would find it. */
  for (size_t i = 1; i < n; i++)
    if (strcmp(h->names[i - 1].name, h->names[i].name) == 0 && (dup == NULL || h->names[i].seq < dup[1].seq))
      dup = &h->names[i - 1];
  return dup != NULL ? fail_duplicate(p, dup, dup + 1) : 0;
}

static int parse_reserved(struct parser *p, const msgpack_object *o) {
  struct host *h = p->h;
  const char *bad;
  int err;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "reserved must be a map of name to reason");
  if (o->via.map.size > HOSTDECL_MAX_RESERVED)
    return fail(p, "more than %d reserved names", HOSTDECL_MAX_RESERVED);
  if (o->via.map.size > 0 && (h->reserved = calloc(o->via.map.size, sizeof *h->reserved)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    struct host_reserved *r = &h->reserved[i];
    h->n_reserved++;
    if ((err = get_str(p, &o->via.map.ptr[i].key, "a reserved name", &r->name)) < 0)
      return err;
    if ((bad = hostdecl_check_declared_name(r->name)) != NULL)
      return fail(p, "reserved name '%s': %s", r->name, bad);
    if ((err = get_str(p, &o->via.map.ptr[i].val, "a reserved name's reason", &r->reason)) < 0)
      return err;
  } /* duplicates: check_backend_names */
  return 0;
}

static int parse_trusted_map(struct parser *p, const msgpack_object *o) {
  struct host *h = p->h;
  int err;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "trusted must be a map of backend name to trust settings");
  if (o->via.map.size > HOSTDECL_MAX_TRUSTED)
    return fail(p, "more than %d trusted backends", HOSTDECL_MAX_TRUSTED);
  if (o->via.map.size > 0 && (h->trusted = calloc(o->via.map.size, sizeof *h->trusted)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    h->n_trusted++;
    if ((err = parse_trusted(p, &o->via.map.ptr[i], &h->trusted[i])) < 0)
      return err;
  }
  return 0;
}

static int function_cmp(const void *a, const void *b) {
  return strcmp(((const struct host_function *)a)->name, ((const struct host_function *)b)->name);
}

static int parse_functions(struct parser *p, const msgpack_object *o) {
  struct host *h = p->h;
  int err;
  if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
    return fail(p, "functions must be a list");
  if (o->via.array.size > HOSTDECL_MAX_FUNCTIONS)
    return fail(p, "more than %d functions", HOSTDECL_MAX_FUNCTIONS);
  if (o->via.array.size > 0 && (h->functions = calloc(o->via.array.size, sizeof *h->functions)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < o->via.array.size; i++) {
    h->n_functions++;
    if ((err = parse_function(p, &o->via.array.ptr[i], &h->functions[i])) < 0)
      return err;
  }
  if (h->n_functions > 1) /* qsort(NULL, 0, ...) is undefined: a host may declare no function */
    qsort(h->functions, h->n_functions, sizeof *h->functions, function_cmp);
  for (size_t i = 1; i < h->n_functions; i++)
    if (strcmp(h->functions[i - 1].name, h->functions[i].name) == 0)
      return fail(p, "function '%s' is declared twice", h->functions[i].name);
  return 0;
}

/* Bytes of the header msgpack-c packs for n items or bytes: fix is what a one-byte header holds. */
static size_t header_size(uint64_t n, uint64_t fix, bool has_8bit) {
  return n < fix ? 1 : has_8bit && n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static size_t int_size(const msgpack_object *o) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.i64 >= 0)
    return o->via.u64 < 128 ? 1 : o->via.u64 < 256 ? 2 : o->via.u64 < 65536 ? 3 : o->via.u64 <= UINT32_MAX ? 5 : 9;
  return o->via.i64 >= -32 ? 1 : o->via.i64 >= INT8_MIN ? 2 : o->via.i64 >= INT16_MIN ? 3 : o->via.i64 >= INT32_MIN ? 5 : 9;
}

/* Bytes o takes as MessagePack (fixext counted as ext 8); counting stops once past limit. */
static size_t encoded_size(const msgpack_object *o, size_t limit) {
  size_t n;
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return int_size(o);
  case MSGPACK_OBJECT_FLOAT32:
    return 5;
  case MSGPACK_OBJECT_FLOAT64:
    return 9;
  case MSGPACK_OBJECT_STR:
    return header_size(o->via.str.size, 32, true) + o->via.str.size;
  case MSGPACK_OBJECT_BIN:
    return header_size(o->via.bin.size, 0, true) + o->via.bin.size;
  case MSGPACK_OBJECT_EXT:
    return header_size(o->via.ext.size, 0, true) + 1 + o->via.ext.size;
  case MSGPACK_OBJECT_ARRAY:
    n = header_size(o->via.array.size, 16, false);
    for (uint32_t i = 0; i < o->via.array.size && n <= limit; i++)
      n += encoded_size(&o->via.array.ptr[i], limit - n);
    return n;
  case MSGPACK_OBJECT_MAP:
    n = header_size(o->via.map.size, 16, false);
    for (uint32_t i = 0; i < o->via.map.size && n <= limit; i++) {
      n += encoded_size(&o->via.map.ptr[i].key, limit - n);
      if (n <= limit)
        n += encoded_size(&o->via.map.ptr[i].val, limit - n);
    }
    return n;
  default: /* nil, boolean */
    return 1;
  }
}

static int parse_all(struct parser *p, const msgpack_object *decl) {
  static const char *const keys[] = {"name", "group", "functions", "trusted", "reserved", NULL};
  struct host *h = p->h;
  const msgpack_object *group;
  const char *bad;
  size_t len;
  int err;
  /* Before anything is copied: the host keeps its docs and defaults while it is declared. */
  if (encoded_size(decl, HOSTDECL_MAX_BYTES) > HOSTDECL_MAX_BYTES)
    return fail(p, "the declaration is larger than %d bytes (4 MiB) as MessagePack", HOSTDECL_MAX_BYTES);
  if ((err = check_keys(p, decl, "the declaration", keys)) < 0 ||
      (err = get_str(p, proto_map_get(decl, "name"), "name", &h->name)) < 0)
    return err;
  if ((bad = hostdecl_check_declared_name(h->name)) != NULL)
    return fail(p, "host name '%s': %s", h->name, bad);
  if ((group = proto_map_get(decl, "group")) != NULL && group->type != MSGPACK_OBJECT_NIL) {
    if ((err = get_str(p, group, "group", &h->group)) < 0)
      return err;
  } else {
    len = strlen(h->name) + sizeof GROUP_SUFFIX;
    if ((h->group = malloc(len)) == NULL)
      return -ENOMEM;
    snprintf(h->group, len, "%s" GROUP_SUFFIX, h->name);
  }
  len = strlen(h->group);
  /* Only "*.backends" groups hold backend adapters (doc/plugins.md). */
  if (len <= strlen(GROUP_SUFFIX) || strcmp(h->group + len - strlen(GROUP_SUFFIX), GROUP_SUFFIX) != 0)
    return fail(p, "group '%s' must end with '" GROUP_SUFFIX "'", h->group);
  if ((err = parse_functions(p, proto_map_get(decl, "functions"))) < 0 ||
      (err = parse_reserved(p, proto_map_get(decl, "reserved"))) < 0 ||
      (err = parse_trusted_map(p, proto_map_get(decl, "trusted"))) < 0)
    return err;
  return check_backend_names(p);
}

int host_parse(const msgpack_object *decl, const char *source, struct host **out, char *why, size_t why_len) {
  struct host *h = calloc(1, sizeof *h);
  struct parser p = {.h = h, .why = why, .why_len = why_len};
  int err;
  *out = NULL;
  if (h == NULL)
    return -ENOMEM;
  h->refs = 1;
  msgpack_zone_init(&h->zone, 4096);
  if ((err = parse_all(&p, decl)) < 0 || (h->source = strdup(source)) == NULL) {
    if (err == -ENOMEM || err == 0)
      snprintf(why, why_len, "out of memory");
    host_unref(h);
    return err < 0 ? err : -ENOMEM;
  }
  *out = h;
  return 0;
}

/* Reads a declaration file whole: it is text of a few KiB, HOSTDECL_MAX_BYTES bounds a runaway one. */
static int read_file(const char *path, char **text, size_t *len, char *why, size_t why_len) {
  FILE *f = fopen(path, "re");
  size_t cap = 0, n = 0, got;
  char *buf = NULL, *bigger;
  int err = 0;
  if (f == NULL) {
    err = -errno;
    snprintf(why, why_len, "%s: %s", path, strerror(-err));
    return err;
  }
  do {
    if (n == cap) {
      cap = cap == 0 ? 16384 : 2 * cap;
      if ((bigger = realloc(buf, cap)) == NULL) {
        err = -ENOMEM;
        snprintf(why, why_len, "%s: out of memory", path);
        break;
      }
      buf = bigger;
    }
    n += got = fread(buf + n, 1, cap - n, f);
    if (n > HOSTDECL_MAX_BYTES) {
      err = -EFBIG;
      snprintf(why, why_len, "%s: larger than %d bytes", path, HOSTDECL_MAX_BYTES);
    }
  } while (err == 0 && got > 0);
  if (err == 0 && ferror(f)) {
    err = -EIO;
    snprintf(why, why_len, "%s: cannot read it", path);
  }
  fclose(f);
  if (err < 0) {
    free(buf);
    return err;
  }
  *text = buf;
  *len = n;
  return 0;
}

/*
 * Where JSON text that jansson has read first nests deeper than max arrays and objects:
 * line and column as jansson counts them (from 1; a UTF-8 character is one column).
 */
static bool find_too_deep(const char *s, size_t len, unsigned max, int *line, int *column) {
  unsigned depth = 0;
  bool in_string = false, escaped = false;
  *line = 1;
  *column = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (ch == '\n') {
      ++*line;
      *column = 0;
      continue;
    }
    if (((unsigned char)ch & 0xc0) != 0x80)
      ++*column;
    if (in_string) {
      in_string = escaped || ch != '"';
      escaped = !escaped && ch == '\\';
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max)
        return true;
    } else if (ch == ']' || ch == '}') {
      depth--;
    }
  }
  return false;
}

/*
 * The JSON document as MessagePack (host_parse reads msgpack objects): packed into buf, then
 * decoded into zone. *obj points into both.
 */
static int json_to_object(const char *path, json_t *j, msgpack_sbuffer *buf, msgpack_zone *zone, msgpack_object *obj,
                          char *why, size_t why_len) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
  if (proto_msgpack_from_json(j, &pk) < 0 ||
      msgpack_unpack(buf->data, buf->size, NULL, zone, obj) != MSGPACK_UNPACK_SUCCESS) {
    /* The depth that msgpack-c cannot decode was refused before: only memory is left to fail. */
    snprintf(why, why_len, "%s: out of memory", path);
    return -ENOMEM;
  }
  return 0;
}

int host_load_file(const char *path, struct host **out, char *why, size_t why_len) {
  char source[4200], reason[512], *text = NULL;
  msgpack_sbuffer buf;
  msgpack_zone zone;
  msgpack_object obj;
  json_error_t jerr;
  json_t *j;
  size_t len = 0;
  int err, line, column;
  *out = NULL;
  if ((err = read_file(path, &text, &len, why, why_len)) < 0)
    return err;
  j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL) {
    snprintf(why, why_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    err = -EINVAL;
  } else if (find_too_deep(text, len, PROTO_MAX_DEPTH_CEILING, &line, &column)) {
    snprintf(why, why_len, "%s:%d:%d: nested deeper than %u arrays and objects (the most a declaration may have)",
             path, line, column, PROTO_MAX_DEPTH_CEILING);
    err = -EINVAL;
  }
  free(text);
  if (err < 0) {
    json_decref(j);
    return err;
  }
  msgpack_sbuffer_init(&buf);
  msgpack_zone_init(&zone, 4096);
  err = json_to_object(path, j, &buf, &zone, &obj, why, why_len);
  json_decref(j);
  if (err == 0) {
    snprintf(source, sizeof source, "declaration file %s", path);
    if ((err = host_parse(&obj, source, out, reason, sizeof reason)) < 0)
      snprintf(why, why_len, "%s: %s", path, reason);
  }
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&buf);
  return err;
}

void host_ref(struct host *h) { h->refs++; }

static void free_function(struct host_function *f) {
  free(f->name);
  free(f->doc);
  for (size_t i = 0; i < f->n_params; i++)
    free((char *)f->params[i].name);
  free(f->params);
}

static void free_trusted(struct host_trusted *t) {
  free(t->name);
  free(t->package);
  free_str_list(t->aliases, t->n_aliases);
  free_str_list(t->distributions, t->n_distributions);
  free_str_list(t->entrypoints, t->n_entrypoints);
  free_str_list(t->object_refs, t->n_object_refs);
  free_str_list(t->module_prefixes, t->n_module_prefixes);
}

void host_unref(struct host *h) {
  if (h == NULL || --h->refs > 0)
    return;
  for (size_t i = 0; i < h->n_functions; i++)
    free_function(&h->functions[i]);
  free(h->functions);
  for (size_t i = 0; i < h->n_trusted; i++)
    free_trusted(&h->trusted[i]);
  free(h->trusted);
  for (size_t i = 0; i < h->n_reserved; i++) {
    free(h->reserved[i].name);
    free(h->reserved[i].reason);
  }
  free(h->reserved);
  free(h->names);
  free(h->name);
  free(h->group);
  free(h->source);
  backend_table_free(h->backends);
  msgpack_zone_destroy(&h->zone);
  free(h);
}

const struct host_function *host_find_function(const struct host *h, const char *name, size_t len) {
  size_t lo = 0, hi = h->n_functions;
  if (memchr(name, '\0', len) != NULL)
    return NULL;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *fn = h->functions[mid].name;
    int c = strncmp(fn, name, len);
    if (c == 0)
      c = fn[len] == '\0' ? 0 : 1;
    if (c == 0)
      return &h->functions[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* The declared backend name `name`, by binary search in h->names. */
static const struct host_name *find_name(const struct host *h, const char *name) {
  size_t lo = 0, hi = h->n_names;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(h->names[mid].name, name);
    if (c == 0)
      return &h->names[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const struct host_trusted *host_find_trusted(const struct host *h, const char *name) {
  const struct host_name *n = find_name(h, name);
  return n != NULL ? n->trusted : NULL;
}

const struct host_reserved *host_find_reserved(const struct host *h, const char *name) {
  const struct host_name *n = find_name(h, name);
  return n != NULL ? n->reserved : NULL;
}
