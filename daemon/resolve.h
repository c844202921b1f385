/*
 * variant.resolve: which of a package's variants this machine supports, best first — the
 * ordering of the wheel-variants reference implementation. Pure computation: the caller
 * gathers each namespace's supported configs (asking dynamic plugins with the document's
 * properties of their namespace) and passes them in.
 */
#ifndef BACKENDD_RESOLVE_H
#define BACKENDD_RESOLVE_H

#include <stddef.h>

#include <msgpack.h>

#include "vprop.h"

#define RESOLVE_NULL_LABEL "null"

struct resolve_variant {
  char *label;          /* [0-9a-z._]{1,16}; "null" is the variant with no properties */
  struct vprop *props;  /* every (namespace, feature, value) it names, in document order */
  size_t n_props;
};

struct resolve_feature_priority {
  char *ns;
  char **features;
  size_t n;
};

struct resolve_value_priority {
  char *ns;
  char *feature;
  char **values;
  size_t n;
};

/* A *-variants.json document's "variants" and "default-priorities". */
struct resolve_doc {
  struct resolve_variant *variants; /* input order */
  size_t n_variants;
  char **namespaces; /* default-priorities.namespace */
  size_t n_namespaces;
  struct resolve_feature_priority *features; /* default-priorities.feature */
  size_t n_features;
  struct resolve_value_priority *values;     /* default-priorities.property */
  size_t n_values;
};

/*
 * Reads the named parameters of variant.resolve (a map with "variants" and
 * "default-priorities", the keys of a *-variants.json document; other keys are ignored).
 * Returns 0, -EINVAL with a reason naming the offending key in why (e.g.
 * "variants.x86_64_v3.x86_64.level: values must be a list of strings"), or -ENOMEM.
 * On error *doc is left empty (nothing to free); why is cut to why_len (may be 0).
 *
 * The rules checked:
 *  - variants: a map; labels [0-9a-z._]{1,16}, each once. "null" must map to {} and every
 *    other label to at least one namespace; each namespace to a non-empty map of feature to
 *    a non-empty list of distinct values (an empty OR could never be supported).
 *    Namespaces and features pass vprop_check_name, values vprop_check_value; no NUL bytes.
 *  - default-priorities: a map; "namespace" is required (a list of distinct names, which may
 *    be empty); "feature" ({ns: [feature]}) and "property" ({ns: {feature: [value]}}) are
 *    optional but, when present, must have that shape (null is not "absent"); names and
 *    values checked as above, none listed twice in one list. Other keys are ignored.
 *    Priorities may name namespaces, features and values nobody supports or uses: they
 *    only rank what is supported, so those are simply ignored by resolve_run.
 *  - A key path names keys as they are ("variants.x86_64_v3.x86_64.level[1]"); a key that
 *    breaks the rules is shown quoted, unprintable bytes as '?', cut after 32 bytes.
 */
int resolve_doc_parse(const msgpack_object *params, struct resolve_doc *doc, char *why, size_t why_len);
void resolve_doc_free(struct resolve_doc *doc);

/* What the machine supports in one namespace the document uses. */
struct resolve_ns {
  const char *ns;
  const struct vconfigs *configs; /* NULL when unavailable */
  const char *unavailable;        /* why, when configs is NULL ("no plugin provides namespace 'x'") */
};

struct resolve_rejected {
  char *label;
  char *reason; /* "x86_64 :: level :: v4 is not supported", "no plugin provides namespace 'cuda'", ... */
};

struct resolve_result {
  char **supported; /* labels, best first; the null variant (when present) last */
  size_t n_supported;
  struct resolve_rejected *rejected; /* in input order */
  size_t n_rejected;
};

/*
 * Runs the selection and ordering. ns must hold an entry for every namespace the
 * document's variants use (one missing is treated as unavailable, reason "no plugin
 * provides namespace 'x'"; when a namespace repeats, its first entry counts). Returns 0 or
 * -ENOMEM; on -ENOMEM *out is left empty.
 *
 * A variant is supported when, for every feature it names, at least one of its values is
 * supported (features AND, values OR); the null variant is always supported and comes last.
 * Supported properties are ranked by namespace priority (default-priorities.namespace
 * first, then the other namespaces in name order), then feature priority (listed features
 * first, the rest in plugin order), then value priority (listed values first, the rest in
 * plugin order). Each variant gets one rank slot per (namespace, feature) in that order:
 * its best value's position, or "absent" (after every position); variants sort by that
 * tuple, lowest first, ties in input order.
 *
 * A variant whose namespace is unavailable is rejected with that namespace's unavailable
 * text; one naming a feature without a supported value with "ns :: feature :: value is not
 * supported" (one value) or "none of ns :: feature :: v1, v2 is supported" (several). When
 * several of its features fail, the reason names the first in document order. Rejected
 * variants never affect the order of the others. Work is O(P log P) in the number of
 * properties (the document's and the supported ones), whatever the input.
 */
int resolve_run(const struct resolve_doc *doc, const struct resolve_ns *ns, size_t n_ns, struct resolve_result *out);
void resolve_result_free(struct resolve_result *r);

/* {supported: [label], rejected: [{label, reason}]} */
void resolve_result_pack(const struct resolve_result *r, msgpack_packer *pk);

#endif
