#define _GNU_SOURCE
#include "vprop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

static int is_value_char(char c) { return is_name_char(c) || (c != '\0' && strchr(".,!>~<=", c) != NULL); }

const char *vprop_check_name(const char *s) {
  if (*s == '\0')
    return "namespace and feature names must not be empty";
  for (; *s != '\0'; s++)
    if (!is_name_char(*s))
      return "namespace and feature names may only hold a-z, 0-9 and '_'";
  return NULL;
}

const char *vprop_check_value(const char *s) {
  if (*s == '\0')
    return "values must not be empty";
  for (; *s != '\0'; s++)
    if (!is_value_char(*s))
      return "values may only hold a-z, 0-9 and _ . , ! > ~ < =";
  return NULL;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* [b, e) without surrounding white space, as a new string. */
static char *trimmed(const char *b, const char *e) {
  while (b < e && is_space(*b))
    b++;
  while (e > b && is_space(e[-1]))
    e--;
  return strndup(b, (size_t)(e - b));
}

int vprop_parse(const char *text, size_t len, struct vprop *out, const char **why) {
  const char *end = text + len, *sep1, *sep2;
  memset(out, 0, sizeof *out);
  if (memchr(text, '\0', len) != NULL) {
    *why = "a property must not contain a NUL byte";
    return -EINVAL;
  }
  sep1 = memmem(text, len, "::", 2);
  sep2 = sep1 != NULL ? memmem(sep1 + 2, (size_t)(end - sep1 - 2), "::", 2) : NULL;
  if (sep1 == NULL || sep2 == NULL || memmem(sep2 + 2, (size_t)(end - sep2 - 2), "::", 2) != NULL) {
    *why = "a property is written 'namespace :: feature :: value'";
    return -EINVAL;
  }
  out->ns = trimmed(text, sep1);
  out->feature = trimmed(sep1 + 2, sep2);
  out->value = trimmed(sep2 + 2, end);
  if (out->ns == NULL || out->feature == NULL || out->value == NULL) {
    vprop_free(out);
    return -ENOMEM;
  }
  if ((*why = vprop_check_name(out->ns)) != NULL || (*why = vprop_check_name(out->feature)) != NULL ||
      (*why = vprop_check_value(out->value)) != NULL) {
    vprop_free(out);
    return -EINVAL;
  }
  return 0;
}

void vprop_free(struct vprop *p) {
  free(p->ns);
  free(p->feature);
  free(p->value);
  memset(p, 0, sizeof *p);
}

void vconfigs_free(struct vconfigs *c) {
  for (size_t i = 0; i < c->n_features; i++) {
    for (size_t j = 0; j < c->features[i].n_values; j++)
      free(c->features[i].values[j]);
    free(c->features[i].values);
    free(c->features[i].name);
  }
  free(c->features);
  free(c->ns);
  memset(c, 0, sizeof *c);
}
