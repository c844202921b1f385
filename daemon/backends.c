#define _GNU_SOURCE
#include "backends.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <backend/plugin.h>

#include "host.h"
#include "message.h"
#include "plugins.h"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  char *s;
  va_start(ap, f);
  if (vasprintf(&s, f, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* An adapter's names: its canonical name, then its aliases. */
static size_t n_names(const struct plugin_info *info) { return 1 + info->n_aliases; }
static const char *name_at(const struct plugin_info *info, size_t i) { return i == 0 ? info->name : info->aliases[i - 1]; }

static bool has_name(const struct plugin_info *info, const char *name) {
  for (size_t i = 0; i < n_names(info); i++)
    if (strcmp(name_at(info, i), name) == 0)
      return true;
  return false;
}

static bool in_list(char *const *list, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

/* "my_backend" matches the module my_backend and everything below it, not my_backend2. */
static bool module_has_prefix(const char *value, char *const *prefixes, size_t n) {
  size_t module_len = strcspn(value, ":");
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(prefixes[i]);
    if (len <= module_len && strncmp(value, prefixes[i], len) == 0 && (len == module_len || value[len] == '.'))
      return true;
  }
  return false;
}

/* Why the adapter may not use the trusted name it claims, or NULL when it passes every check. */
static char *trust_failure(const struct host_trusted *t, const struct plugin *p, const struct plugin_info *info,
                           const char *claimed) {
  if (strcmp(info->name, t->name) != 0)
    return fmt("claims '%s', which the host reserves for its trusted backend '%s'", claimed, t->name);
  if (!in_list(t->distributions, t->n_distributions, p->dist_key))
    return fmt("claims the trusted name '%s' but comes from distribution '%s', not '%s'", t->name, p->dist_name,
               t->package);
  if (t->n_entrypoints > 0 && !in_list(t->entrypoints, t->n_entrypoints, p->name))
    return fmt("claims the trusted name '%s' but its entry point is named '%s', which the host does not expect",
               t->name, p->name);
  if (t->n_object_refs > 0 && !in_list(t->object_refs, t->n_object_refs, p->value))
    return fmt("claims the trusted name '%s' but its object reference '%s' is not one the host expects", t->name,
               p->value);
  if (t->n_module_prefixes > 0 && !module_has_prefix(p->value, t->module_prefixes, t->n_module_prefixes))
    return fmt("claims the trusted name '%s' but its module '%.*s' is outside the expected module prefixes", t->name,
               (int)strcspn(p->value, ":"), p->value);
  return NULL;
}

/* Applies the host's reserved names and trust to one adapter: sets *trusted or returns why it is refused. */
static char *check_adapter(const struct host *h, const struct plugin *p, const struct plugin_info *info,
                           bool *trusted) {
  const struct host_trusted *t = NULL;
  *trusted = false;
  for (size_t i = 0; i < n_names(info); i++) {
    const char *name = name_at(info, i);
    const struct host_reserved *r = host_find_reserved(h, name);
    const struct host_trusted *ti = host_find_trusted(h, name);
    char *why;
    if (r != NULL)
      return fmt("'%s' is reserved by %s: %s", name, h->name, r->reason);
    if (ti == NULL)
      continue;
    if ((why = trust_failure(ti, p, info, name)) != NULL)
      return why;
    t = ti;
  }
  *trusted = t != NULL;
  return NULL;
}

struct candidate {
  struct plugin *plugin;
  bool trusted;
};

/* Trusted first, then by distribution and entry-point name: the order conflicts are settled in. */
static int candidate_cmp(const void *a, const void *b) {
  const struct candidate *x = a, *y = b;
  int c;
  if (x->trusted != y->trusted)
    return x->trusted ? -1 : 1;
  if ((c = strcmp(x->plugin->dist_key, y->plugin->dist_key)) != 0)
    return c;
  return strcmp(x->plugin->name, y->plugin->name);
}

static int backend_cmp(const void *a, const void *b) {
  return strcmp(((const struct backend *)a)->info->name, ((const struct backend *)b)->info->name);
}

static int add_refused(struct backend_table *t, struct plugin *p, char *reason) {
  struct backend *b;
  if (reason == NULL)
    return -ENOMEM;
  b = &t->refused[t->n_refused++];
  plugin_ref(p);
  b->plugin = p;
  b->info = p->state == EP_OK ? &p->scan->info : NULL;
  b->reason = reason;
  return 0;
}

/* The usable adapter that already holds one of info's names, or NULL. */
static const struct backend *holder(const struct backend_table *t, const struct plugin_info *info,
                                    const char **name) {
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < n_names(info); k++)
      if (has_name(t->usable[i].info, name_at(info, k))) {
        *name = name_at(info, k);
        return &t->usable[i];
      }
  return NULL;
}

static int settle(const struct host *h, struct backend_table *t, struct candidate *c, size_t n) {
  if (n > 1) /* c and t->usable are NULL for a host with no adapters: qsort(NULL, 0, ...) is undefined */
    qsort(c, n, sizeof *c, candidate_cmp);
  for (size_t i = 0; i < n; i++) {
    const struct plugin_info *info = &c[i].plugin->scan->info;
    const char *name;
    const struct backend *winner = holder(t, info, &name);
    struct backend *b;
    if (winner != NULL) {
      if (add_refused(t, c[i].plugin,
                      fmt("the name '%s' is already taken for %s by '%s' (%s, entry point %s)", name, h->name,
                          winner->info->name, winner->plugin->dist_name, winner->plugin->name)) < 0)
        return -ENOMEM;
      continue;
    }
    b = &t->usable[t->n++];
    plugin_ref(c[i].plugin);
    b->plugin = c[i].plugin;
    b->info = info;
    b->trusted = c[i].trusted;
  }
  if (t->n > 1)
    qsort(t->usable, t->n, sizeof *t->usable, backend_cmp);
  return 0;
}

int backend_table_build(const struct host *h, const struct plugin_set *s, struct backend_table **out) {
  struct backend_table *t = calloc(1, sizeof *t);
  struct candidate *c = NULL;
  size_t n = 0, total = 0;
  int err = -ENOMEM;
  *out = NULL;
  for (size_t i = 0; i < s->n; i++)
    total += s->plugins[i]->kind == PLUGIN_BACKEND && strcmp(s->plugins[i]->group, h->group) == 0;
  if (t == NULL || (total > 0 && ((c = calloc(total, sizeof *c)) == NULL ||
                                  (t->usable = calloc(total, sizeof *t->usable)) == NULL ||
                                  (t->refused = calloc(total, sizeof *t->refused)) == NULL)))
    goto out;
  t->generation = s->generation;
  for (size_t i = 0; i < s->n; i++) {
    struct plugin *p = s->plugins[i];
    bool trusted;
    char *why;
    if (p->kind != PLUGIN_BACKEND || strcmp(p->group, h->group) != 0)
      continue;
    if (p->state != EP_OK) {
      if (add_refused(t, p, strdup(p->reason != NULL ? p->reason : "unusable")) < 0)
        goto out;
    } else if ((why = check_adapter(h, p, &p->scan->info, &trusted)) != NULL) {
      if (add_refused(t, p, why) < 0)
        goto out;
    } else {
      c[n++] = (struct candidate){p, trusted};
    }
  }
  if ((err = settle(h, t, c, n)) == 0) {
    *out = t;
    t = NULL;
  }
out:
  free(c);
  backend_table_free(t);
  return err;
}

void backend_table_free(struct backend_table *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n; i++)
    plugin_unref(t->usable[i].plugin);
  for (size_t i = 0; i < t->n_refused; i++) {
    plugin_unref(t->refused[i].plugin);
    free(t->refused[i].reason);
  }
  free(t->usable);
  free(t->refused);
  free(t);
}

const struct backend *backend_table_find(const struct backend_table *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (has_name(t->usable[i].info, name))
      return &t->usable[i];
  return NULL;
}

const struct backend *backend_table_find_refused(const struct backend_table *t, const char *name) {
  for (size_t i = 0; i < t->n_refused; i++)
    if (t->refused[i].info != NULL && has_name(t->refused[i].info, name))
      return &t->refused[i];
  return NULL;
}

/* Levenshtein distance, bounded by the name rules (at most 128 characters). */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[130];
  if (la > 128 || lb > 128)
    return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

struct suggestion {
  const char *name; /* what was asked for */
  size_t len, limit;  /* its length; the most edits a typo may take */
  const char *best;
  size_t best_d;
};

/* Names whose lengths alone differ by more than the limit, or than the best so far, cannot
 * win: they are skipped without the quadratic distance (a host may declare thousands). */
static void consider(struct suggestion *s, const char *candidate) {
  size_t clen = strlen(candidate), diff = clen > s->len ? clen - s->len : s->len - clen, d;
  if (diff > s->limit || diff >= s->best_d)
    return;
  if ((d = distance(candidate, s->name)) < s->best_d) {
    s->best = candidate;
    s->best_d = d;
  }
}

const char *backend_table_suggest(const struct backend_table *t, const struct host *h, const char *name) {
  size_t len = strlen(name);
  /* A typo, not just any name: at most a third of the name's length, and at least one edit. */
  struct suggestion s = {name, len, len < 3 ? 1 : len / 3, NULL, SIZE_MAX};
  consider(&s, "cpu");
  for (size_t i = 0; t != NULL && i < t->n; i++)
    for (size_t k = 0; k < n_names(t->usable[i].info); k++)
      consider(&s, name_at(t->usable[i].info, k));
  for (size_t i = 0; i < h->n_trusted; i++) {
    consider(&s, h->trusted[i].name);
    for (size_t a = 0; a < h->trusted[i].n_aliases; a++)
      consider(&s, h->trusted[i].aliases[a]);
  }
  for (size_t i = 0; i < h->n_reserved; i++)
    consider(&s, h->reserved[i].name);
  return s.best != NULL && s.best_d <= s.limit ? s.best : NULL;
}

void backend_pack(msgpack_packer *pk, const struct backend *b) {
  const struct plugin *p = b->plugin;
  const struct plugin_info *info = b->info;
  msgpack_pack_map(pk, 12);
  proto_pack_cstr(pk, "name");
  proto_pack_cstr_or_nil(pk, info != NULL ? info->name : NULL);
  proto_pack_cstr(pk, "aliases");
  msgpack_pack_array(pk, info != NULL ? (uint32_t)info->n_aliases : 0);
  for (size_t i = 0; info != NULL && i < info->n_aliases; i++)
    proto_pack_cstr(pk, info->aliases[i]);
  proto_pack_cstr(pk, "trusted");
  proto_pack_bool(pk, b->trusted);
  proto_pack_cstr(pk, "distribution");
  proto_pack_cstr(pk, p->dist_name);
  proto_pack_cstr(pk, "version");
  proto_pack_cstr_or_nil(pk, p->dist_version);
  proto_pack_cstr(pk, "entry_point");
  proto_pack_cstr(pk, p->name);
  proto_pack_cstr(pk, "value");
  proto_pack_cstr(pk, p->value);
  proto_pack_cstr(pk, "functions");
  msgpack_pack_array(pk, info != NULL ? (uint32_t)info->n_functions : 0);
  for (size_t i = 0; info != NULL && i < info->n_functions; i++)
    proto_pack_cstr(pk, info->functions[i].name);
  proto_pack_cstr(pk, "thread_safe");
  proto_pack_bool(pk, info != NULL && (info->flags & BACKEND_ADAPTER_THREAD_SAFE) != 0);
  proto_pack_cstr(pk, "loaded");
  proto_pack_bool(pk, __atomic_load_n(&p->code, __ATOMIC_ACQUIRE) != NULL);
  proto_pack_cstr(pk, "state");
  proto_pack_cstr(pk, b->reason == NULL ? "ok" : p->state == EP_OK ? "refused" : ep_state_name(p->state));
  proto_pack_cstr(pk, "reason");
  proto_pack_cstr_or_nil(pk, b->reason);
}
