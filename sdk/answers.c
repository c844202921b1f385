#include "answers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Answers are small; this bound only stops a runaway plugin from eating the daemon's memory. */
#define MAX_ITEMS 65536

#define SDK_EXPORT __attribute__((visibility("default")))

static int grow(void **items, size_t *cap, size_t n, size_t size) {
  size_t new_cap;
  void *p;
  if (n < *cap)
    return 0;
  if (n >= MAX_ITEMS)
    return -E2BIG;
  new_cap = *cap ? *cap * 2 : 8;
  if ((p = realloc(*items, new_cap * size)) == NULL)
    return -ENOMEM;
  *items = p;
  *cap = new_cap;
  return 0;
}

static int str_vec_push(struct str_vec *v, const char *s) {
  int err;
  char *copy;
  if (s == NULL)
    return -EINVAL;
  if ((err = grow((void **)&v->items, &v->cap, v->n, sizeof *v->items)) < 0)
    return err;
  if ((copy = strdup(s)) == NULL)
    return -ENOMEM;
  v->items[v->n++] = copy;
  return 0;
}

static void str_vec_clear(struct str_vec *v) {
  for (size_t i = 0; i < v->n; i++)
    free(v->items[i]);
  free(v->items);
  memset(v, 0, sizeof *v);
}

SDK_EXPORT void variant_configs_init(variant_configs *c) { memset(c, 0, sizeof *c); }

SDK_EXPORT void variant_configs_clear(variant_configs *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->features[i].name);
    str_vec_clear(&c->features[i].values);
  }
  free(c->features);
  free(c->error);
  memset(c, 0, sizeof *c);
}

SDK_EXPORT int variant_configs_add_feature(variant_configs *c, const char *feature) {
  int err;
  char *name;
  if (c == NULL || feature == NULL)
    return -EINVAL;
  if ((err = grow((void **)&c->features, &c->cap, c->n, sizeof *c->features)) < 0)
    return err;
  if ((name = strdup(feature)) == NULL)
    return -ENOMEM;
  c->features[c->n++] = (struct variant_feature_answer){.name = name};
  return 0;
}

SDK_EXPORT int variant_configs_add_value(variant_configs *c, const char *value) {
  if (c == NULL || value == NULL)
    return -EINVAL;
  if (c->n == 0) {
    c->misuse = 1;
    return -EINVAL;
  }
  return str_vec_push(&c->features[c->n - 1].values, value);
}

SDK_EXPORT int variant_configs_fail(variant_configs *c, const char *message) {
  if (c == NULL || message == NULL)
    return -EINVAL;
  free(c->error);
  return (c->error = strdup(message)) != NULL ? 0 : -ENOMEM;
}

SDK_EXPORT void variant_build_setup_init(variant_build_setup *b) { memset(b, 0, sizeof *b); }

SDK_EXPORT void variant_build_setup_clear(variant_build_setup *b) {
  for (size_t i = 0; i < b->n; i++) {
    free(b->vars[i].name);
    str_vec_clear(&b->vars[i].values);
  }
  free(b->vars);
  memset(b, 0, sizeof *b);
}

SDK_EXPORT int variant_build_setup_add(variant_build_setup *b, const char *variable, const char *value) {
  size_t i;
  int err;
  if (b == NULL || variable == NULL || value == NULL || *variable == '\0')
    return -EINVAL;
  for (i = 0; i < b->n && strcmp(b->vars[i].name, variable) != 0; i++)
    ;
  if (i == b->n) {
    char *name;
    if ((err = grow((void **)&b->vars, &b->cap, b->n, sizeof *b->vars)) < 0)
      return err;
    if ((name = strdup(variable)) == NULL)
      return -ENOMEM;
    b->vars[b->n++] = (struct variant_build_var){.name = name};
  }
  return str_vec_push(&b->vars[i].values, value);
}
