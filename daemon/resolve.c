/*
 * variant.resolve: parsing a *-variants.json document, then selecting and ordering the
 * variants the machine supports (see resolve.h for the rules).
 */
#define _GNU_SOURCE
#include "resolve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

#define LABEL_MAX 16
#define NOT_LISTED SIZE_MAX

/* ---------------------------------------------------------------------------------------
 * Parsing. Errors are "<key path>: <reason>", the path kept in a buffer as we descend.
 */

struct parser {
  char *why;
  size_t why_len;
  char path[256]; /* truncated when deeper; the message is one line anyway */
  size_t len;
};

static void path_vappend(struct parser *p, const char *fmt, va_list ap) {
  int n = vsnprintf(p->path + p->len, sizeof p->path - p->len, fmt, ap);

  if (n > 0)
    p->len = p->len + (size_t)n < sizeof p->path ? p->len + (size_t)n : sizeof p->path - 1;
}

/* Appends to the path; returns the mark to restore with path_pop(). */
__attribute__((format(printf, 2, 3))) static size_t path_push(struct parser *p, const char *fmt, ...) {
  size_t mark = p->len;
  va_list ap;

  va_start(ap, fmt);
  path_vappend(p, fmt, ap);
  va_end(ap);
  return mark;
}

static void path_pop(struct parser *p, size_t mark) {
  p->len = mark;
  p->path[mark] = '\0';
}

static int is_label_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

/*
 * Appends a map key (a str object) to the path: as is when it looks like a name, else
 * quoted with unprintable bytes replaced and long keys cut, so the message stays one
 * readable line whatever the peer sent.
 */
static size_t path_push_key(struct parser *p, const msgpack_object *key) {
  const char *s = key->via.str.ptr;
  size_t n = key->via.str.size, shown = n < 32 ? n : 32;
  char buf[33];
  size_t mark = path_push(p, "%s", p->len > 0 ? "." : "");
  int plain = n > 0;

  for (size_t i = 0; i < n && plain; i++)
    plain = is_label_char(s[i]);
  if (plain) {
    path_push(p, "%.*s", (int)n, s);
    return mark;
  }
  for (size_t i = 0; i < shown; i++)
    buf[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\' ? s[i] : '?';
  buf[shown] = '\0';
  path_push(p, "\"%s%s\"", buf, shown < n ? "..." : "");
  return mark;
}

/* Writes "<path>: <reason>" to why; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...) {
  va_list ap;
  int n = 0;

  if (p->why_len == 0)
    return -EINVAL;
  if (p->len > 0)
    n = snprintf(p->why, p->why_len, "%s: ", p->path);
  if (n >= 0 && (size_t)n < p->why_len) {
    va_start(ap, fmt);
    vsnprintf(p->why + n, p->why_len - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

static const char *check_label(const char *s) {
  size_t n = strlen(s);

  if (n < 1 || n > LABEL_MAX)
    return "a variant label must be 1 to 16 characters";
  for (; *s != '\0'; s++)
    if (!is_label_char(*s))
      return "a variant label may only hold a-z, 0-9, '.' and '_'";
  return NULL;
}

/* A copy of the str object o (the element the path names), checked by check. */
static int copy_str(struct parser *p, const msgpack_object *o, const char *(*check)(const char *), char **out) {
  const char *rule;

  *out = NULL;
  if (o->type != MSGPACK_OBJECT_STR)
    return fail(p, "must be a string");
  if (o->via.str.size > 0 && memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
    return fail(p, "must not contain a NUL byte");
  /* msgpack-c may give an empty str a NULL ptr */
  *out = o->via.str.size > 0 ? strndup(o->via.str.ptr, o->via.str.size) : strdup("");
  if (*out == NULL)
    return -ENOMEM;
  if ((rule = check(*out)) != NULL) {
    free(*out);
    *out = NULL;
    return fail(p, "%s", rule);
  }
  return 0;
}

struct str_ref {
  const msgpack_object *o;
  size_t idx;
};

static int cmp_str_ref(const void *a, const void *b) {
  const struct str_ref *x = a, *y = b;
  size_t nx = x->o->via.str.size, ny = y->o->via.str.size;
  int c = nx == 0 || ny == 0 ? 0 : memcmp(x->o->via.str.ptr, y->o->via.str.ptr, nx < ny ? nx : ny);

  if (c == 0 && nx != ny)
    c = nx < ny ? -1 : 1;
  if (c == 0)
    c = x->idx < y->idx ? -1 : x->idx > y->idx;
  return c;
}

/*
 * Finds, among n str objects laid out every `stride` bytes from base (map keys or array
 * elements), the first one in input order that repeats an earlier one. Sorting keeps this
 * O(n log n) on untrusted input. Returns 1 with *dup set, 0 when all differ, or -ENOMEM.
 */
static int find_duplicate(const void *base, size_t stride, size_t n, size_t *dup) {
  struct str_ref *refs;
  int found = 0;

  if (n < 2)
    return 0;
  if ((refs = calloc(n, sizeof *refs)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    refs[i] = (struct str_ref){(const msgpack_object *)((const char *)base + i * stride), i};
  qsort(refs, n, sizeof *refs, cmp_str_ref);
  for (size_t i = 1; i < n; i++) {
    struct str_ref a = refs[i - 1], b = refs[i];
    if (a.o->via.str.size == b.o->via.str.size &&
        (a.o->via.str.size == 0 || memcmp(a.o->via.str.ptr, b.o->via.str.ptr, a.o->via.str.size) == 0) &&
        (!found || b.idx < *dup)) {
      *dup = b.idx; /* within a run of equal strings, the later of each pair */
      found = 1;
    }
  }
  free(refs);
  return found;
}

/* Fails naming the repeated key when a map (whose keys are all str) has one twice. */
static int check_unique_keys(struct parser *p, const msgpack_object_map *m, const char *what) {
  size_t dup = 0;
  int rc = m->size > 0 ? find_duplicate(&m->ptr[0].key, sizeof m->ptr[0], m->size, &dup) : 0;

  if (rc <= 0)
    return rc;
  path_push_key(p, &m->ptr[dup].key);
  return fail(p, "duplicate %s", what);
}

/* Fails naming the repeated element when an array (of str) has one twice. */
static int check_unique_elements(struct parser *p, const msgpack_object_array *a, const char *what) {
  size_t dup = 0;
  int rc = a->size > 0 ? find_duplicate(&a->ptr[0], sizeof a->ptr[0], a->size, &dup) : 0;

  if (rc <= 0)
    return rc;
  path_push(p, "[%zu]", dup);
  return fail(p, "duplicate %s", what);
}

/* Fails unless every key of m is a str (checked first, so later steps may rely on it). */
static int check_str_keys(struct parser *p, const msgpack_object_map *m, const char *what) {
  for (uint32_t i = 0; i < m->size; i++)
    if (m->ptr[i].key.type != MSGPACK_OBJECT_STR)
      return fail(p, "%s must be strings", what);
  return 0;
}

/* A list of strings, each checked by check, none twice: into *out, *n. */
static int parse_str_list(struct parser *p, const msgpack_object *o, const char *(*check)(const char *),
                          const char *what, char ***out, size_t *n) {
  const msgpack_object_array *a = &o->via.array;
  int rc;

  if (o->type != MSGPACK_OBJECT_ARRAY)
    return fail(p, "must be a list of %s", what);
  if (a->size > 0 && (*out = calloc(a->size, sizeof **out)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < a->size; i++) {
    size_t mark = path_push(p, "[%" PRIu32 "]", i);
    if ((rc = copy_str(p, &a->ptr[i], check, &(*out)[i])) != 0)
      return rc;
    (*n)++;
    path_pop(p, mark);
  }
  return check_unique_elements(p, a, "entry");
}

/* Appends ns :: feature :: value (value taken over) to v->props. */
static int add_prop(struct resolve_variant *v, size_t *cap, const char *ns, const char *feature, char *value) {
  struct vprop *prop;

  if (v->n_props == *cap) {
    size_t ncap = *cap > 0 ? *cap * 2 : 4;
    struct vprop *props = reallocarray(v->props, ncap, sizeof *props);
    if (props == NULL) {
      free(value);
      return -ENOMEM;
    }
    v->props = props;
    *cap = ncap;
  }
  prop = &v->props[v->n_props];
  prop->ns = strdup(ns);
  prop->feature = strdup(feature);
  prop->value = value;
  if (prop->ns == NULL || prop->feature == NULL) {
    vprop_free(prop);
    return -ENOMEM;
  }
  v->n_props++;
  return 0;
}

/* variants.<label>.<ns>.<feature>: a non-empty list of distinct values. */
static int parse_values(struct parser *p, const msgpack_object *o, const char *ns, const char *feature,
                        struct resolve_variant *v, size_t *cap) {
  const msgpack_object_array *a = &o->via.array;
  int rc;

  if (o->type != MSGPACK_OBJECT_ARRAY)
    return fail(p, "values must be a list of strings");
  if (a->size == 0)
    return fail(p, "must list at least one value"); /* an empty OR could never be supported */
  for (uint32_t i = 0; i < a->size; i++) {
    size_t mark = path_push(p, "[%" PRIu32 "]", i);
    char *value;
    if ((rc = copy_str(p, &a->ptr[i], vprop_check_value, &value)) != 0 ||
        (rc = add_prop(v, cap, ns, feature, value)) != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_elements(p, a, "value");
}

/* Parses the value under one namespace key; ctx is what the caller collects into. */
typedef int ns_value_parser(struct parser *p, const msgpack_object *o, const char *ns, void *ctx, size_t *cap);

/* A map keyed by namespace names: each key checked, each value handed to parse, no key twice. */
static int parse_ns_map(struct parser *p, const msgpack_object_map *m, ns_value_parser *parse, void *ctx,
                        size_t *cap) {
  int rc;
  if ((rc = check_str_keys(p, m, "namespace names")) != 0)
    return rc;
  for (uint32_t i = 0; i < m->size; i++) {
    size_t mark = path_push_key(p, &m->ptr[i].key);
    char *ns;
    if ((rc = copy_str(p, &m->ptr[i].key, vprop_check_name, &ns)) != 0)
      return rc;
    rc = parse(p, &m->ptr[i].val, ns, ctx, cap);
    free(ns);
    if (rc != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_keys(p, m, "namespace");
}

/* variants.<label>.<ns>: a non-empty map of feature to values. */
static int parse_features(struct parser *p, const msgpack_object *o, const char *ns, void *ctx, size_t *cap) {
  struct resolve_variant *v = ctx;
  const msgpack_object_map *m = &o->via.map;
  int rc;

  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of feature to values");
  if (m->size == 0)
    return fail(p, "must name at least one feature");
  if ((rc = check_str_keys(p, m, "feature names")) != 0)
    return rc;
  for (uint32_t i = 0; i < m->size; i++) {
    size_t mark = path_push_key(p, &m->ptr[i].key);
    char *feature;
    if ((rc = copy_str(p, &m->ptr[i].key, vprop_check_name, &feature)) != 0)
      return rc;
    rc = parse_values(p, &m->ptr[i].val, ns, feature, v, cap);
    free(feature);
    if (rc != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_keys(p, m, "feature");
}

/* variants.<label>: a map of namespace to features; empty exactly for the null variant. */
static int parse_variant(struct parser *p, const msgpack_object *o, struct resolve_variant *v) {
  const msgpack_object_map *m = &o->via.map;
  int is_null = strcmp(v->label, RESOLVE_NULL_LABEL) == 0;
  size_t cap = 0;

  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of namespace to features");
  if (is_null && m->size > 0)
    return fail(p, "the null variant must have no properties");
  if (!is_null && m->size == 0)
    return fail(p, "a variant other than \"null\" must have at least one property");
  return parse_ns_map(p, m, parse_features, v, &cap);
}

static int parse_variants(struct parser *p, const msgpack_object *o, struct resolve_doc *doc) {
  const msgpack_object_map *m;
  int rc;

  if (o == NULL)
    return fail(p, "missing");
  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of variant label to properties");
  m = &o->via.map;
  if ((rc = check_str_keys(p, m, "variant labels")) != 0)
    return rc;
  if (m->size > 0 && (doc->variants = calloc(m->size, sizeof *doc->variants)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < m->size; i++) {
    size_t mark = path_push_key(p, &m->ptr[i].key);
    struct resolve_variant *v = &doc->variants[doc->n_variants++]; /* zeroed: safe to free */
    if ((rc = copy_str(p, &m->ptr[i].key, check_label, &v->label)) != 0 ||
        (rc = parse_variant(p, &m->ptr[i].val, v)) != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_keys(p, m, "variant label");
}

/* default-priorities.feature: namespace -> [feature]. */
static int parse_feature_priorities(struct parser *p, const msgpack_object *o, struct resolve_doc *doc) {
  const msgpack_object_map *m = &o->via.map;
  int rc;

  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of namespace to feature lists");
  if ((rc = check_str_keys(p, m, "namespace names")) != 0)
    return rc;
  if (m->size > 0 && (doc->features = calloc(m->size, sizeof *doc->features)) == NULL)
    return -ENOMEM;
  for (uint32_t i = 0; i < m->size; i++) {
    size_t mark = path_push_key(p, &m->ptr[i].key);
    struct resolve_feature_priority *fp = &doc->features[doc->n_features++];
    if ((rc = copy_str(p, &m->ptr[i].key, vprop_check_name, &fp->ns)) != 0 ||
        (rc = parse_str_list(p, &m->ptr[i].val, vprop_check_name, "feature names", &fp->features, &fp->n)) != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_keys(p, m, "namespace");
}

/* default-priorities.property.<ns>: feature -> [value], appended to doc->values. */
static int parse_ns_value_priorities(struct parser *p, const msgpack_object *o, const char *ns, void *ctx,
                                     size_t *cap) {
  struct resolve_doc *doc = ctx;
  const msgpack_object_map *m = &o->via.map;
  int rc;

  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of feature to value lists");
  if ((rc = check_str_keys(p, m, "feature names")) != 0)
    return rc;
  for (uint32_t i = 0; i < m->size; i++) {
    size_t mark = path_push_key(p, &m->ptr[i].key);
    struct resolve_value_priority *vp;
    if (doc->n_values == *cap) {
      size_t ncap = *cap > 0 ? *cap * 2 : 4;
      if ((vp = reallocarray(doc->values, ncap, sizeof *vp)) == NULL)
        return -ENOMEM;
      doc->values = vp;
      *cap = ncap;
    }
    vp = &doc->values[doc->n_values++];
    memset(vp, 0, sizeof *vp);
    if ((vp->ns = strdup(ns)) == NULL)
      return -ENOMEM;
    if ((rc = copy_str(p, &m->ptr[i].key, vprop_check_name, &vp->feature)) != 0 ||
        (rc = parse_str_list(p, &m->ptr[i].val, vprop_check_value, "values", &vp->values, &vp->n)) != 0)
      return rc;
    path_pop(p, mark);
  }
  return check_unique_keys(p, m, "feature");
}

/* default-priorities.property: namespace -> feature -> [value]. */
static int parse_value_priorities(struct parser *p, const msgpack_object *o, struct resolve_doc *doc) {
  const msgpack_object_map *m = &o->via.map;
  size_t cap = 0;

  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map of namespace to feature-to-values maps");
  return parse_ns_map(p, m, parse_ns_value_priorities, doc, &cap);
}

static int parse_priorities(struct parser *p, const msgpack_object *o, struct resolve_doc *doc) {
  const msgpack_object *ns, *feature, *property;
  size_t mark;
  int rc;

  if (o == NULL)
    return fail(p, "missing");
  if (o->type != MSGPACK_OBJECT_MAP)
    return fail(p, "must be a map with \"namespace\", \"feature\" and \"property\"");
  ns = proto_map_get(o, "namespace");
  feature = proto_map_get(o, "feature");
  property = proto_map_get(o, "property");

  mark = path_push(p, ".namespace");
  if (ns == NULL)
    return fail(p, "missing (a list of namespace names, which may be empty)");
  if ((rc = parse_str_list(p, ns, vprop_check_name, "namespace names", &doc->namespaces, &doc->n_namespaces)) != 0)
    return rc;
  path_pop(p, mark);

  mark = path_push(p, ".feature");
  if (feature != NULL && (rc = parse_feature_priorities(p, feature, doc)) != 0)
    return rc;
  path_pop(p, mark);

  path_push(p, ".property");
  if (property != NULL && (rc = parse_value_priorities(p, property, doc)) != 0)
    return rc;
  return 0;
}

int resolve_doc_parse(const msgpack_object *params, struct resolve_doc *doc, char *why, size_t why_len) {
  struct parser p = {.why = why, .why_len = why_len};
  int rc;

  memset(doc, 0, sizeof *doc);
  if (why_len > 0)
    why[0] = '\0';
  if (params == NULL || params->type != MSGPACK_OBJECT_MAP)
    return fail(&p, "the parameters must be a map (a *-variants.json document)");
  path_push(&p, "variants");
  rc = parse_variants(&p, proto_map_get(params, "variants"), doc);
  if (rc == 0) {
    path_pop(&p, 0);
    path_push(&p, "default-priorities");
    rc = parse_priorities(&p, proto_map_get(params, "default-priorities"), doc);
  }
  if (rc != 0)
    resolve_doc_free(doc);
  return rc;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void resolve_doc_free(struct resolve_doc *doc) {
  for (size_t i = 0; i < doc->n_variants; i++) {
    for (size_t j = 0; j < doc->variants[i].n_props; j++)
      vprop_free(&doc->variants[i].props[j]);
    free(doc->variants[i].props);
    free(doc->variants[i].label);
  }
  free(doc->variants);
  free_strv(doc->namespaces, doc->n_namespaces);
  for (size_t i = 0; i < doc->n_features; i++) {
    free(doc->features[i].ns);
    free_strv(doc->features[i].features, doc->features[i].n);
  }
  free(doc->features);
  for (size_t i = 0; i < doc->n_values; i++) {
    free(doc->values[i].ns);
    free(doc->values[i].feature);
    free_strv(doc->values[i].values, doc->values[i].n);
  }
  free(doc->values);
  memset(doc, 0, sizeof *doc);
}

/* ---------------------------------------------------------------------------------------
 * Ranking. Tables are sorted arrays searched by binary search: O(n log n) overall.
 */

/* (namespace, feature, value); NULL parts name a namespace or a feature. */
struct key3 {
  const char *ns, *feature, *value;
};

static int cmp_opt_str(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL); /* NULL first */
  return strcmp(a, b);
}

static int cmp_key3(const struct key3 *a, const struct key3 *b) {
  int c = cmp_opt_str(a->ns, b->ns);

  if (c == 0)
    c = cmp_opt_str(a->feature, b->feature);
  if (c == 0)
    c = cmp_opt_str(a->value, b->value);
  return c;
}

static int cmp_size(size_t a, size_t b) { return a < b ? -1 : a > b; }

/*
 * The first element of base (sorted by a comparator whose first criterion is its leading
 * struct key3) with key k, or NULL: the first is the best ranked when keys repeat.
 */
static const void *find_first(const struct key3 *k, const void *base, size_t n, size_t size) {
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp_key3((const struct key3 *)((const char *)base + mid * size), k) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < n && cmp_key3((const struct key3 *)((const char *)base + lo * size), k) == 0)
    return (const char *)base + lo * size;
  return NULL;
}

/* A default-priorities entry: a namespace, a feature of one, or a value of one. */
struct prio {
  struct key3 k;
  size_t pos;
};

static int cmp_prio(const void *a, const void *b) {
  const struct prio *x = a, *y = b;
  int c = cmp_key3(&x->k, &y->k);
  return c != 0 ? c : cmp_size(x->pos, y->pos);
}

static size_t prio_pos(const struct prio *t, size_t n, const char *ns, const char *feature, const char *value) {
  struct key3 k = {ns, feature, value};
  const struct prio *e = find_first(&k, t, n, sizeof *t);
  return e != NULL ? e->pos : NOT_LISTED;
}

/* Every default-priorities entry, sorted for lookup; NULL on ENOMEM. */
static struct prio *build_prio_table(const struct resolve_doc *doc, size_t *n) {
  size_t total = doc->n_namespaces, i = 0;
  struct prio *t;

  for (size_t f = 0; f < doc->n_features; f++)
    total += doc->features[f].n;
  for (size_t v = 0; v < doc->n_values; v++)
    total += doc->values[v].n;
  if ((t = calloc(total > 0 ? total : 1, sizeof *t)) == NULL)
    return NULL;
  for (size_t j = 0; j < doc->n_namespaces; j++)
    t[i++] = (struct prio){{doc->namespaces[j], NULL, NULL}, j};
  for (size_t f = 0; f < doc->n_features; f++)
    for (size_t j = 0; j < doc->features[f].n; j++)
      t[i++] = (struct prio){{doc->features[f].ns, doc->features[f].features[j], NULL}, j};
  for (size_t v = 0; v < doc->n_values; v++)
    for (size_t j = 0; j < doc->values[v].n; j++)
      t[i++] = (struct prio){{doc->values[v].ns, doc->values[v].feature, doc->values[v].values[j]}, j};
  qsort(t, total, sizeof *t, cmp_prio);
  *n = total;
  return t;
}

/* A supported property, its ranking criteria, and then its rank. */
struct ranked {
  struct key3 k;
  size_t ns_listed, feature_listed, value_listed; /* position in default-priorities, or NOT_LISTED */
  size_t feature_idx, value_idx;                  /* plugin order */
  size_t slot; /* index of its (namespace, feature) in rank order */
  size_t pos;  /* rank of the value within its feature */
};

/* Namespace (listed first, then by name), feature (listed, then plugin order), value (likewise). */
static int cmp_rank(const void *a, const void *b) {
  const struct ranked *x = a, *y = b;
  int c = cmp_size(x->ns_listed, y->ns_listed);

  if (c == 0)
    c = strcmp(x->k.ns, y->k.ns);
  if (c == 0)
    c = cmp_size(x->feature_listed, y->feature_listed);
  if (c == 0)
    c = cmp_size(x->feature_idx, y->feature_idx);
  if (c == 0)
    c = cmp_size(x->value_listed, y->value_listed);
  if (c == 0)
    c = cmp_size(x->value_idx, y->value_idx);
  return c;
}

/* By property, the best ranked first where a plugin repeats one. */
static int cmp_ranked_lookup(const void *a, const void *b) {
  const struct ranked *x = a, *y = b;
  int c = cmp_key3(&x->k, &y->k);

  if (c == 0)
    c = cmp_size(x->slot, y->slot);
  if (c == 0)
    c = cmp_size(x->pos, y->pos);
  return c;
}

static int cmp_ns_ptr(const void *a, const void *b) {
  const struct resolve_ns *x = *(const struct resolve_ns *const *)a, *y = *(const struct resolve_ns *const *)b;
  int c = strcmp(x->ns, y->ns);
  return c != 0 ? c : (x < y ? -1 : x > y); /* repeated namespaces: the first entry wins */
}

/* Everything resolve_run looks things up in. */
struct tables {
  const struct resolve_ns **ns_by_name;
  size_t n_ns;
  struct ranked *props; /* supported properties, sorted for lookup */
  size_t n_props;
};

static void tables_free(struct tables *t) {
  free(t->ns_by_name);
  free(t->props);
}

static const struct resolve_ns *find_ns(const struct tables *t, const char *ns) {
  size_t lo = 0, hi = t->n_ns;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(t->ns_by_name[mid]->ns, ns) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < t->n_ns && strcmp(t->ns_by_name[lo]->ns, ns) == 0 ? t->ns_by_name[lo] : NULL;
}

static const struct ranked *find_prop(const struct tables *t, const struct vprop *p) {
  struct key3 k = {p->ns, p->feature, p->value};
  return find_first(&k, t->props, t->n_props, sizeof *t->props);
}

/* Collects every supported property of the available namespaces with its ranking criteria. */
static int collect_supported(struct tables *t, const struct resolve_ns *ns, size_t n_ns, const struct prio *prio,
                             size_t n_prio) {
  size_t total = 0, k = 0;

  for (size_t i = 0; i < n_ns; i++)
    for (size_t f = 0; ns[i].configs != NULL && f < ns[i].configs->n_features; f++)
      total += ns[i].configs->features[f].n_values;
  if ((t->props = calloc(total > 0 ? total : 1, sizeof *t->props)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n_ns; i++) {
    const struct vconfigs *c = ns[i].configs;
    size_t ns_listed;
    if (c == NULL || find_ns(t, ns[i].ns) != &ns[i])
      continue;
    ns_listed = prio_pos(prio, n_prio, ns[i].ns, NULL, NULL);
    for (size_t f = 0; f < c->n_features; f++) {
      const struct vfeature *vf = &c->features[f];
      size_t feature_listed = prio_pos(prio, n_prio, ns[i].ns, vf->name, NULL);
      for (size_t v = 0; v < vf->n_values; v++)
        t->props[k++] = (struct ranked){
            .k = {ns[i].ns, vf->name, vf->values[v]},
            .ns_listed = ns_listed,
            .feature_listed = feature_listed,
            .value_listed = prio_pos(prio, n_prio, ns[i].ns, vf->name, vf->values[v]),
            .feature_idx = f,
            .value_idx = v,
        };
    }
  }
  t->n_props = k;
  return 0;
}

/* Ranks the supported properties (slot and pos), then sorts them for lookup. */
static void rank_supported(struct tables *t) {
  qsort(t->props, t->n_props, sizeof *t->props, cmp_rank);
  for (size_t i = 0, slot = 0, pos = 0; i < t->n_props; i++) {
    struct ranked *r = &t->props[i];
    if (i > 0 && (strcmp(r->k.ns, r[-1].k.ns) != 0 || strcmp(r->k.feature, r[-1].k.feature) != 0 ||
                  r->feature_idx != r[-1].feature_idx)) {
      slot++;
      pos = 0;
    }
    r->slot = slot;
    r->pos = pos++;
  }
  qsort(t->props, t->n_props, sizeof *t->props, cmp_ranked_lookup);
}

static int build_tables(struct tables *t, const struct resolve_doc *doc, const struct resolve_ns *ns, size_t n_ns) {
  struct prio *prio;
  size_t n_prio = 0;
  int rc;

  memset(t, 0, sizeof *t);
  if ((t->ns_by_name = calloc(n_ns > 0 ? n_ns : 1, sizeof *t->ns_by_name)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n_ns; i++)
    t->ns_by_name[i] = &ns[i];
  t->n_ns = n_ns;
  qsort(t->ns_by_name, n_ns, sizeof *t->ns_by_name, cmp_ns_ptr);
  if ((prio = build_prio_table(doc, &n_prio)) == NULL) {
    tables_free(t);
    return -ENOMEM;
  }
  rc = collect_supported(t, ns, n_ns, prio, n_prio);
  free(prio);
  if (rc != 0) {
    tables_free(t);
    return rc;
  }
  rank_supported(t);
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * Per variant: which (namespace, feature) groups it names, whether each has a supported
 * value, and its rank tuple — sparse, as (slot, best pos) pairs by slot, "absent" being
 * every slot not listed.
 */

struct slot_pos {
  size_t slot, pos;
};

struct prop_ref {
  const struct vprop *p;
  size_t idx;
};

static int cmp_prop_ref(const void *a, const void *b) {
  const struct prop_ref *x = a, *y = b;
  int c = strcmp(x->p->ns, y->p->ns);

  if (c == 0)
    c = strcmp(x->p->feature, y->p->feature);
  return c != 0 ? c : cmp_size(x->idx, y->idx);
}

static int same_feature(const struct vprop *a, const struct vprop *b) {
  return strcmp(a->ns, b->ns) == 0 && strcmp(a->feature, b->feature) == 0;
}

static int cmp_slot_pos(const void *a, const void *b) {
  return cmp_size(((const struct slot_pos *)a)->slot, ((const struct slot_pos *)b)->slot);
}

/* Why the group of n properties at refs (one namespace and feature) is unsupported. */
static char *reject_reason(const struct tables *t, const struct prop_ref *refs, size_t n) {
  const struct vprop *p = refs[0].p;
  const struct resolve_ns *ns = find_ns(t, p->ns);
  char *s = NULL;
  size_t len = 0;
  FILE *f;

  if (ns == NULL || ns->configs == NULL) {
    if (ns != NULL && ns->unavailable != NULL)
      return strdup(ns->unavailable);
    return asprintf(&s, "no plugin provides namespace '%s'", p->ns) < 0 ? NULL : s;
  }
  if (n == 1)
    return asprintf(&s, "%s :: %s :: %s is not supported", p->ns, p->feature, p->value) < 0 ? NULL : s;
  if ((f = open_memstream(&s, &len)) == NULL)
    return NULL;
  fprintf(f, "none of %s :: %s :: ", p->ns, p->feature);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s%s", i > 0 ? ", " : "", refs[i].p->value);
  fputs(" is supported", f);
  if ((ferror(f) != 0) | (fclose(f) != 0)) { /* both: the stream must be closed either way */
    free(s);
    return NULL;
  }
  return s;
}

/*
 * Evaluates variant v: on support fills tuple (room for v->n_props) and *n_tuple and sets
 * *reason to NULL; else sets *reason (allocated) for its first unsupported feature in
 * document order. refs is scratch room for v->n_props. Returns 0 or -ENOMEM.
 */
static int evaluate(const struct tables *t, const struct resolve_variant *v, struct prop_ref *refs,
                    struct slot_pos *tuple, size_t *n_tuple, char **reason) {
  const struct prop_ref *bad = NULL;
  size_t n_bad = 0;

  *n_tuple = 0;
  *reason = NULL;
  for (size_t i = 0; i < v->n_props; i++)
    refs[i] = (struct prop_ref){&v->props[i], i};
  qsort(refs, v->n_props, sizeof *refs, cmp_prop_ref);
  for (size_t b = 0, e; b < v->n_props; b = e) {
    const struct ranked *best = NULL;
    for (e = b; e < v->n_props && same_feature(refs[e].p, refs[b].p); e++) {
      const struct ranked *r = find_prop(t, refs[e].p);
      if (r != NULL && (best == NULL || r->slot < best->slot || (r->slot == best->slot && r->pos < best->pos)))
        best = r;
    }
    if (best != NULL)
      tuple[(*n_tuple)++] = (struct slot_pos){best->slot, best->pos};
    else if (bad == NULL || refs[b].idx < bad->idx) /* refs[b]: the group's first in document order */
      bad = &refs[b], n_bad = e - b;
  }
  if (bad != NULL)
    return (*reason = reject_reason(t, bad, n_bad)) != NULL ? 0 : -ENOMEM;
  qsort(tuple, *n_tuple, sizeof *tuple, cmp_slot_pos);
  return 0;
}

struct candidate {
  size_t idx; /* input order */
  const struct slot_pos *tuple;
  size_t n;
};

/* Lexicographic on the dense tuples, where an absent slot ranks after every position. */
static int cmp_candidate(const void *a, const void *b) {
  const struct candidate *x = a, *y = b;
  size_t i = 0;

  for (; i < x->n && i < y->n; i++) {
    if (x->tuple[i].slot != y->tuple[i].slot) /* the lower slot is present in one, absent in the other */
      return x->tuple[i].slot < y->tuple[i].slot ? -1 : 1;
    if (x->tuple[i].pos != y->tuple[i].pos)
      return x->tuple[i].pos < y->tuple[i].pos ? -1 : 1;
  }
  if (x->n != y->n) /* the longer one has a position where the other is absent */
    return x->n > y->n ? -1 : 1;
  return cmp_size(x->idx, y->idx); /* ties in input order: qsort is not stable */
}

/* Scratch memory of resolve_run. */
struct run_state {
  struct tables t;
  struct prop_ref *refs;
  struct slot_pos *tuples;
  struct candidate *cands;
};

static void run_state_free(struct run_state *s) {
  tables_free(&s->t);
  free(s->refs);
  free(s->tuples);
  free(s->cands);
}

static int reject(struct resolve_result *out, const char *label, char *reason) {
  struct resolve_rejected *r = &out->rejected[out->n_rejected];

  if ((r->label = strdup(label)) == NULL) {
    free(reason);
    return -ENOMEM;
  }
  r->reason = reason;
  out->n_rejected++;
  return 0;
}

/* Sorts the candidates and lists them, then the null variant(s), as supported. */
static int list_supported(const struct resolve_doc *doc, struct candidate *cands, size_t n_cands,
                          struct resolve_result *out) {
  qsort(cands, n_cands, sizeof *cands, cmp_candidate);
  for (size_t i = 0; i < n_cands; i++)
    if ((out->supported[out->n_supported++] = strdup(doc->variants[cands[i].idx].label)) == NULL)
      return -ENOMEM;
  for (size_t i = 0; i < doc->n_variants; i++)
    if (strcmp(doc->variants[i].label, RESOLVE_NULL_LABEL) == 0 &&
        (out->supported[out->n_supported++] = strdup(doc->variants[i].label)) == NULL)
      return -ENOMEM;
  return 0;
}

static int run(const struct resolve_doc *doc, struct run_state *s, struct resolve_result *out) {
  size_t total = 0, max = 0, used = 0, n_cands = 0;
  size_t n = doc->n_variants > 0 ? doc->n_variants : 1;

  for (size_t i = 0; i < doc->n_variants; i++) {
    total += doc->variants[i].n_props;
    max = doc->variants[i].n_props > max ? doc->variants[i].n_props : max;
  }
  if ((s->refs = calloc(max > 0 ? max : 1, sizeof *s->refs)) == NULL ||
      (s->tuples = calloc(total > 0 ? total : 1, sizeof *s->tuples)) == NULL ||
      (s->cands = calloc(n, sizeof *s->cands)) == NULL || (out->supported = calloc(n, sizeof *out->supported)) == NULL ||
      (out->rejected = calloc(n, sizeof *out->rejected)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < doc->n_variants; i++) {
    const struct resolve_variant *v = &doc->variants[i];
    struct candidate *c = &s->cands[n_cands];
    char *reason;
    if (strcmp(v->label, RESOLVE_NULL_LABEL) == 0)
      continue; /* always supported, listed last */
    if (evaluate(&s->t, v, s->refs, s->tuples + used, &c->n, &reason) != 0)
      return -ENOMEM;
    if (reason != NULL) {
      if (reject(out, v->label, reason) != 0)
        return -ENOMEM;
      continue;
    }
    c->idx = i;
    c->tuple = s->tuples + used;
    used += c->n;
    n_cands++;
  }
  return list_supported(doc, s->cands, n_cands, out);
}

int resolve_run(const struct resolve_doc *doc, const struct resolve_ns *ns, size_t n_ns, struct resolve_result *out) {
  struct run_state s = {0};
  int rc;

  memset(out, 0, sizeof *out);
  if ((rc = build_tables(&s.t, doc, ns, n_ns)) != 0)
    return rc;
  rc = run(doc, &s, out);
  run_state_free(&s);
  if (rc != 0)
    resolve_result_free(out);
  return rc;
}

void resolve_result_free(struct resolve_result *r) {
  free_strv(r->supported, r->n_supported);
  for (size_t i = 0; i < r->n_rejected; i++) {
    free(r->rejected[i].label);
    free(r->rejected[i].reason);
  }
  free(r->rejected);
  memset(r, 0, sizeof *r);
}

void resolve_result_pack(const struct resolve_result *r, msgpack_packer *pk) {
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "supported");
  msgpack_pack_array(pk, (uint32_t)r->n_supported);
  for (size_t i = 0; i < r->n_supported; i++)
    proto_pack_cstr(pk, r->supported[i]);
  proto_pack_cstr(pk, "rejected");
  msgpack_pack_array(pk, (uint32_t)r->n_rejected);
  for (size_t i = 0; i < r->n_rejected; i++) {
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "label");
    proto_pack_cstr(pk, r->rejected[i].label);
    proto_pack_cstr(pk, "reason");
    proto_pack_cstr(pk, r->rejected[i].reason);
  }
}
