/* Version specifiers (a PEP 440 subset): see specifier.h. */
#include "specifier.h"

#include <errno.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int vspec_version_parse(const char *text, size_t len, struct vspec_version *out) {
  size_t i = 0;
  memset(out, 0, sizeof *out);
  for (;;) {
    uint64_t part = 0;
    size_t start = i;
    if (out->n == VSPEC_MAX_PARTS)
      return -EINVAL;
    for (; i < len && is_digit(text[i]); i++) {
      unsigned digit = (unsigned)(text[i] - '0');
      if (part > (UINT64_MAX - digit) / 10)
        return -EINVAL; /* too large to compare faithfully */
      part = part * 10 + digit;
    }
    if (i == start)
      return -EINVAL; /* empty part: "", ".2", "2..3", "2." */
    out->parts[out->n++] = part;
    if (i == len)
      return 0;
    if (text[i++] != '.')
      return -EINVAL;
  }
}

/* Part i of v, zero past its end: PEP 440 pads release segments with zeros. */
static uint64_t part(const struct vspec_version *v, size_t i) { return i < v->n ? v->parts[i] : 0; }

int vspec_version_cmp(const struct vspec_version *a, const struct vspec_version *b) {
  size_t n = a->n > b->n ? a->n : b->n;
  for (size_t i = 0; i < n; i++)
    if (part(a, i) != part(b, i))
      return part(a, i) < part(b, i) ? -1 : 1;
  return 0;
}

/* Longest first, so that "<=" is not read as "<" followed by "=...". */
static const struct {
  const char *text;
  enum vspec_op op;
} operators[] = {
    {"~=", VSPEC_COMPATIBLE}, {"==", VSPEC_EQ}, {"!=", VSPEC_NE}, {"<=", VSPEC_LE},
    {">=", VSPEC_GE},         {"<", VSPEC_LT},  {">", VSPEC_GT},
};

/* Parses one clause, text[0, len). */
static int parse_clause(const char *text, size_t len, struct vspec_clause *out) {
  for (size_t i = 0; i < sizeof operators / sizeof *operators; i++) {
    size_t n = strlen(operators[i].text);
    if (len < n || memcmp(text, operators[i].text, n) != 0)
      continue;
    out->op = operators[i].op;
    if (vspec_version_parse(text + n, len - n, &out->version) < 0)
      return -EINVAL;
    /* PEP 440: "~=" needs a version of two parts at least ("~=2" means nothing). */
    return out->op == VSPEC_COMPATIBLE && out->version.n < 2 ? -EINVAL : 0;
  }
  return -EINVAL;
}

int vspec_parse(const char *text, struct vspec *out) {
  const char *start = text, *comma;
  memset(out, 0, sizeof *out);
  do {
    size_t len;
    if (out->n == VSPEC_MAX_CLAUSES)
      return -EINVAL;
    comma = strchr(start, ',');
    len = comma != NULL ? (size_t)(comma - start) : strlen(start);
    /* An empty clause ("", "a,,b", a trailing ",") fails here: no operator. */
    if (parse_clause(start, len, &out->clauses[out->n]) < 0)
      return -EINVAL;
    out->n++;
    start = comma + 1;
  } while (comma != NULL);
  return 0;
}

/* Whether the first n parts of a and b are equal. */
static int same_prefix(const struct vspec_version *a, const struct vspec_version *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (part(a, i) != part(b, i))
      return 0;
  return 1;
}

static int clause_matches(const struct vspec_clause *c, const struct vspec_version *v) {
  int cmp = vspec_version_cmp(v, &c->version);
  switch (c->op) {
  case VSPEC_EQ:
    return cmp == 0;
  case VSPEC_NE:
    return cmp != 0;
  case VSPEC_LT:
    return cmp < 0;
  case VSPEC_LE:
    return cmp <= 0;
  case VSPEC_GT:
    return cmp > 0;
  case VSPEC_GE:
    return cmp >= 0;
  case VSPEC_COMPATIBLE: /* ~=2.28: >=2.28 and ==2.*; ~=2.28.1: >=2.28.1 and ==2.28.* */
    return cmp >= 0 && same_prefix(v, &c->version, c->version.n - 1);
  }
  return 0;
}

int vspec_matches(const struct vspec *spec, const struct vspec_version *version) {
  for (size_t i = 0; i < spec->n; i++)
    if (!clause_matches(&spec->clauses[i], version))
      return 0;
  return 1;
}

int vspec_bound_cmp(const struct vspec_bound *a, const struct vspec_bound *b) {
  int cmp;
  if (a->present != b->present)
    return a->present - b->present;
  if (!a->present)
    return 0;
  if ((cmp = vspec_version_cmp(&a->version, &b->version)) != 0)
    return cmp;
  return a->exclusive - b->exclusive; /* ">V" starts just above ">=V" */
}

struct vspec_bound vspec_lower_bound(const struct vspec *spec) {
  struct vspec_bound best = {0};
  for (size_t i = 0; i < spec->n; i++) {
    const struct vspec_clause *c = &spec->clauses[i];
    struct vspec_bound b = {.present = 1, .exclusive = c->op == VSPEC_GT, .version = c->version};
    if (c->op == VSPEC_NE || c->op == VSPEC_LT || c->op == VSPEC_LE)
      continue; /* no lower bound */
    if (vspec_bound_cmp(&b, &best) > 0)
      best = b;
  }
  return best;
}
