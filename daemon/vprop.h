/*
 * Variant properties "namespace :: feature :: value" and the supported configs a variant
 * plugin answers, with the rules of the variant plugin API checked on both.
 */
#ifndef BACKENDD_VPROP_H
#define BACKENDD_VPROP_H

#include <stddef.h>

struct vprop {
  char *ns;
  char *feature;
  char *value;
};

/*
 * Parses "namespace :: feature :: value" (spaces around "::" optional, surrounding white
 * space stripped). Namespace and feature: [a-z0-9_]+; value: [a-z0-9_.,!>~<=]+. Returns 0,
 * -EINVAL with *why set to a static one-line reason, or -ENOMEM.
 */
int vprop_parse(const char *text, size_t len, struct vprop *out, const char **why);
void vprop_free(struct vprop *p);

/* NULL when valid, else the rule broken (static text). */
const char *vprop_check_name(const char *s);  /* namespace or feature */
const char *vprop_check_value(const char *s);

/* One feature of a supported config: values most preferred first. */
struct vfeature {
  char *name;
  char **values;
  size_t n_values;
};

/* One namespace's supported configs, features in the plugin's order. */
struct vconfigs {
  char *ns;
  struct vfeature *features;
  size_t n_features;
};

void vconfigs_free(struct vconfigs *c);

#endif
