/* Naming rules: distribution names (PEP 503), variant names, object references (backend names: proto/hostdecl.h). */
#ifndef BACKENDD_NAMES_H
#define BACKENDD_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * PEP 503 normalisation: lower case, every run of '-', '_', '.' becomes one '-'.
 * "My_Backend" and "my.backend" both give "my-backend". Returns a new string or NULL.
 */
char *names_normalize_dist(const char *name);

/* Variant namespaces and feature names: [a-z0-9_]+. NULL when valid, else the rule broken. */
const char *names_check_variant(const char *name);

/*
 * An object reference "pkg.module" or "pkg.module:attr" (entry-point value). On success
 * returns NULL and sets *module / *attr (attr NULL when absent; caller frees both); else
 * the rule broken. Segments and attr are C identifiers, so a reference can never name a
 * path outside the search path.
 */
const char *names_parse_object_ref(const char *ref, char **module, char **attr);

#endif
