/*
 * Version specifiers, the PEP 440 subset the glibc plugin accepts as property values:
 * comma-separated clauses that must all hold, each an operator (~= == != <= >= < >) and a
 * version of dotted non-negative integers, with no spaces ("~=2.28", ">=2.28,<3").
 * Versions compare as PEP 440 release segments: missing parts are zero (2.28 == 2.28.0).
 * "~=V" means ">=V" with all but V's last part equal (V needs two parts at least).
 */
#ifndef BACKENDD_PLUGINS_GLIBC_SPECIFIER_H
#define BACKENDD_PLUGINS_GLIBC_SPECIFIER_H

#include <stddef.h>
#include <stdint.h>

/* Limits on what is accepted: far beyond any real glibc version or sensible specifier. */
#define VSPEC_MAX_PARTS 8
#define VSPEC_MAX_CLAUSES 16

struct vspec_version {
  uint64_t parts[VSPEC_MAX_PARTS];
  size_t n; /* 1..VSPEC_MAX_PARTS */
};

enum vspec_op { VSPEC_EQ, VSPEC_NE, VSPEC_LT, VSPEC_LE, VSPEC_GT, VSPEC_GE, VSPEC_COMPATIBLE };

struct vspec_clause {
  enum vspec_op op;
  struct vspec_version version;
};

struct vspec {
  struct vspec_clause clauses[VSPEC_MAX_CLAUSES];
  size_t n; /* 1..VSPEC_MAX_CLAUSES */
};

/* The lowest version a specifier allows, for preferring stricter ones. */
struct vspec_bound {
  int present;   /* 0: no lower bound (only <, <= or != clauses) */
  int exclusive; /* from ">": just above version */
  struct vspec_version version;
};

/* Parses the version in text[0, len). 0, or -EINVAL when it is not one. */
int vspec_version_parse(const char *text, size_t len, struct vspec_version *out);

/* <0, 0 or >0 as a is lower than, equal to or higher than b. */
int vspec_version_cmp(const struct vspec_version *a, const struct vspec_version *b);

/* Parses a whole specifier (NUL-terminated). 0, or -EINVAL when it is malformed. */
int vspec_parse(const char *text, struct vspec *out);

/* 1 when version satisfies every clause of spec, else 0. */
int vspec_matches(const struct vspec *spec, const struct vspec_version *version);

/* The effective lower bound: the highest of the clauses' (==, ~=, >= and > give one). */
struct vspec_bound vspec_lower_bound(const struct vspec *spec);

/* <0, 0 or >0 as bound a is lower than, equal to or higher than b; no bound is the lowest. */
int vspec_bound_cmp(const struct vspec_bound *a, const struct vspec_bound *b);

#endif
