/* Binding call arguments to a Python-like signature, value equality and Python-style repr. */
#include "signature.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/param.h"
#include "strbuf.h"

/* Writes "f() <reason>" to why and returns -EINVAL. */
__attribute__((format(printf, 4, 5)))
static int fail(const struct sig *s, char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  int n;

  if (why && why_len > 0) {
    n = snprintf(why, why_len, "%s() ", s->function ? s->function : "function");
    if (n >= 0 && (size_t)n < why_len) {
      va_start(ap, fmt);
      vsnprintf(why + n, why_len - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -EINVAL;
}

/* A msgpack str's length as a printf precision (keys may be longer than %.*s can take). */
static int str_prec(const msgpack_object_str *k) {
  return k->size > INT_MAX ? INT_MAX : (int)k->size;
}

static bool bytes_eq(const char *a, const char *b, size_t n) {
  /* msgpack-c may give an empty str a NULL ptr, which memcmp must not see */
  return n == 0 || memcmp(a, b, n) == 0;
}

static bool str_obj_eq(const msgpack_object_str *a, const msgpack_object_str *b) {
  return a->size == b->size && bytes_eq(a->ptr, b->ptr, a->size);
}

int sig_find(const struct sig *s, const char *name, size_t len) {
  for (size_t i = 0; i < s->n; i++) {
    const char *p = s->params[i].name;
    if (p && strlen(p) == len && bytes_eq(p, name, len))
      return (int)i;
  }
  return -1;
}

static bool binds_by_name(uint32_t kind) {
  return kind == BACKEND_PARAM_POSITIONAL || kind == BACKEND_PARAM_KEYWORD_ONLY;
}

static int bind_positional(const struct sig *s, const msgpack_object *args, struct sig_binding *b, char *why,
                           size_t why_len) {
  size_t n_pos = 0, given = args ? args->via.array.size : 0, next = 0;

  for (size_t i = 0; i < s->n; i++)
    if (s->params[i].kind == BACKEND_PARAM_POSITIONAL)
      n_pos++;
  if (given > n_pos)
    return fail(s, why, why_len, "takes %zu positional argument%s but %zu %s given", n_pos, n_pos == 1 ? "" : "s",
                given, given == 1 ? "was" : "were");
  for (size_t i = 0; i < s->n && next < given; i++)
    if (s->params[i].kind == BACKEND_PARAM_POSITIONAL)
      b->values[i] = &args->via.array.ptr[next++];
  return 0;
}

static int bind_keyword(const struct sig *s, const msgpack_object_kv *kv, struct sig_binding *b, char *why,
                        size_t why_len) {
  const msgpack_object_str *k = &kv->key.via.str;
  int i;

  if (kv->key.type != MSGPACK_OBJECT_STR)
    return fail(s, why, why_len, "keyword argument names must be strings");
  i = sig_find(s, k->ptr, k->size);
  /* **kwargs' and *args' own names are not passable by keyword: Python treats them as extras */
  if (i >= 0 && binds_by_name(s->params[i].kind)) {
    if (b->values[i])
      return fail(s, why, why_len, "got multiple values for argument '%.*s'", str_prec(k), k->ptr);
    b->values[i] = &kv->val;
    return 0;
  }
  /* the map itself may repeat a key; at most SIG_MAX_PARAMS extras bound this search */
  for (size_t j = 0; j < b->n_extra; j++)
    if (str_obj_eq(&b->extra[j]->key.via.str, k))
      return fail(s, why, why_len, "got multiple values for argument '%.*s'", str_prec(k), k->ptr);
  if (b->n_extra == SIG_MAX_PARAMS)
    return fail(s, why, why_len, "got too many unknown keyword arguments");
  b->extra[b->n_extra++] = kv;
  return 0;
}

int sig_bind(const struct sig *s, const msgpack_object *args, const msgpack_object *kwargs, bool check_required,
             struct sig_binding *b, char *why, size_t why_len) {
  int r;

  memset(b, 0, sizeof *b);
  if (why && why_len > 0)
    why[0] = '\0';
  if (s->n > SIG_MAX_PARAMS)
    return fail(s, why, why_len, "has more than %d parameters", SIG_MAX_PARAMS);
  if (args && args->type != MSGPACK_OBJECT_ARRAY)
    return fail(s, why, why_len, "positional arguments must be an array");
  if (kwargs && kwargs->type != MSGPACK_OBJECT_MAP)
    return fail(s, why, why_len, "keyword arguments must be a map");

  if ((r = bind_positional(s, args, b, why, why_len)) < 0)
    return r;
  for (uint32_t i = 0; kwargs && i < kwargs->via.map.size; i++)
    if ((r = bind_keyword(s, &kwargs->via.map.ptr[i], b, why, why_len)) < 0)
      return r;
  if (check_required)
    for (size_t i = 0; i < s->n; i++)
      if (binds_by_name(s->params[i].kind) && !s->params[i].def && !b->values[i])
        return fail(s, why, why_len, "missing required argument '%s'", s->params[i].name ? s->params[i].name : "");
  return 0;
}

/* --- equality --- */

static bool is_int(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static bool is_float(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

/* A hand-built NEGATIVE_INTEGER may hold a value >= 0; such a value is compared as unsigned. */
static bool int_negative(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 < 0;
}

static bool int_eq(const msgpack_object *a, const msgpack_object *b) {
  if (int_negative(a) != int_negative(b))
    return false;
  return int_negative(a) ? a->via.i64 == b->via.i64 : a->via.u64 == b->via.u64;
}

/*
 * Exact, as Python compares int and float: (double)i == f would call 2^53 + 1 equal to
 * 2^53.0. Only an f in the integer type's range can be equal; converting it truncates, and
 * the truncated value converts back to f exactly when f is integral.
 */
static bool int_float_eq(const msgpack_object *i, double f) {
  if (int_negative(i)) {
    int64_t v;
    if (!(f >= -9223372036854775808.0 && f < 0)) /* also false for NaN */
      return false;
    v = (int64_t)f;
    return (double)v == f && v == i->via.i64;
  } else {
    uint64_t v;
    if (!(f >= 0 && f < 18446744073709551616.0))
      return false;
    v = (uint64_t)f;
    return (double)v == f && v == i->via.u64;
  }
}

/* What sig_value_equal may still do; once spent, every comparison answers "not equal". */
struct budget {
  size_t left;
  bool spent;
};

static bool step(struct budget *w) {
  if (w->left == 0) {
    w->spent = true;
    return false;
  }
  w->left--;
  return true;
}

static bool value_eq(const msgpack_object *a, const msgpack_object *b, struct budget *w);

/* Some pair of m's equal to kv, key and value (a map may repeat a key). */
static bool map_has(const msgpack_object_map *m, const msgpack_object_kv *kv, struct budget *w) {
  for (uint32_t i = 0; i < m->size && !w->spent; i++)
    if (value_eq(&m->ptr[i].key, &kv->key, w) && value_eq(&m->ptr[i].val, &kv->val, w))
      return true;
  return false;
}

static bool map_eq(const msgpack_object_map *a, const msgpack_object_map *b, struct budget *w) {
  if (a->size != b->size)
    return false;
  /* both ways, so that a key repeated in one map cannot hide a key missing from it */
  for (uint32_t i = 0; i < a->size; i++)
    if (!map_has(b, &a->ptr[i], w))
      return false;
  for (uint32_t i = 0; i < b->size; i++)
    if (!map_has(a, &b->ptr[i], w))
      return false;
  return true;
}

static bool array_eq(const msgpack_object_array *a, const msgpack_object_array *b, struct budget *w) {
  if (a->size != b->size)
    return false;
  for (uint32_t i = 0; i < a->size; i++)
    if (!value_eq(&a->ptr[i], &b->ptr[i], w))
      return false;
  return true;
}

static bool value_eq(const msgpack_object *a, const msgpack_object *b, struct budget *w) {
  if (!step(w))
    return false;
  if (is_int(a) && is_int(b))
    return int_eq(a, b);
  if (is_int(a) && is_float(b))
    return int_float_eq(a, b->via.f64);
  if (is_float(a) && is_int(b))
    return int_float_eq(b, a->via.f64);
  if (is_float(a) && is_float(b))
    return a->via.f64 == b->via.f64; /* NaN never equal; 0.0 == -0.0 as in Python */
  if (a->type != b->type)
    return false;
  switch (a->type) {
  case MSGPACK_OBJECT_NIL:
    return true;
  case MSGPACK_OBJECT_BOOLEAN:
    return a->via.boolean == b->via.boolean;
  case MSGPACK_OBJECT_STR:
    return str_obj_eq(&a->via.str, &b->via.str);
  case MSGPACK_OBJECT_BIN:
    return a->via.bin.size == b->via.bin.size && bytes_eq(a->via.bin.ptr, b->via.bin.ptr, a->via.bin.size);
  case MSGPACK_OBJECT_EXT:
    return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
           bytes_eq(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size);
  case MSGPACK_OBJECT_ARRAY:
    return array_eq(&a->via.array, &b->via.array, w);
  case MSGPACK_OBJECT_MAP:
    return map_eq(&a->via.map, &b->via.map, w);
  default:
    return false;
  }
}

bool sig_value_equal(const msgpack_object *a, const msgpack_object *b) {
  struct budget w = {SIG_EQUAL_MAX_STEPS, false};
  bool eq;
  if (!a || !b)
    return a == b;
  eq = value_eq(a, b, &w);
  /* Once spent, every comparison after answered "not equal", so eq is false already; say so. */
  return eq && !w.spent;
}

/* --- repr --- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, *cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, *cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, *cp = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    *cp = *cp << 6 | (s[i] & 0x3f);
  }
  if ((len == 3 && *cp < 0x800) || (len == 4 && (*cp < 0x10000 || *cp > 0x10ffff)) || (*cp >= 0xd800 && *cp <= 0xdfff))
    return 0;
  return len;
}

/*
 * Python's str repr: single quotes unless the text has ' and no ". What Python does not
 * print below U+0100 (controls, C1, no-break space, soft hyphen) becomes \xNN, as do bytes
 * that are not UTF-8 (Python could not have decoded them), so the result stays valid UTF-8.
 * Python also escapes non-printable characters above U+00FF (\uXXXX); they pass through.
 */
static void repr_str(struct strbuf *b, const char *s, size_t n, size_t limit) {
  const unsigned char *u = (const unsigned char *)s;
  char quote = (n > 0 && memchr(s, '\'', n) && !memchr(s, '"', n)) ? '"' : '\'';
  char esc[8];

  strbuf_add(b, &quote, 1);
  for (size_t i = 0; i < n && b->len <= limit;) {
    uint32_t cp = u[i];
    size_t len = u[i] < 0x80 ? 1 : utf8_len(u + i, n - i, &cp);

    if (len == 0) {
      snprintf(esc, sizeof esc, "\\x%02x", u[i]);
      strbuf_puts(b, esc);
      i++;
      continue;
    }
    if (cp == '\\' || cp == (uint32_t)quote) {
      esc[0] = '\\', esc[1] = (char)cp;
      strbuf_add(b, esc, 2);
    } else if (cp == '\n') {
      strbuf_puts(b, "\\n");
    } else if (cp == '\r') {
      strbuf_puts(b, "\\r");
    } else if (cp == '\t') {
      strbuf_puts(b, "\\t");
    } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
      strbuf_puts(b, esc);
    } else {
      strbuf_add(b, s + i, len);
    }
    i += len;
  }
  strbuf_add(b, &quote, 1);
}

/*
 * Python's float repr: the shortest digits that read back as the same double, in fixed
 * notation with at least one decimal when the exponent is in [-4, 16), otherwise as
 * 1e+100 / 1.5e-07. (%g alone would switch to an exponent as soon as it exceeds the
 * digit count: 1e+05 where Python writes 100000.0.)
 */
static void repr_float(struct strbuf *b, double d) {
  char s[64];
  int prec = 17, exp;

  if (isnan(d)) {
    strbuf_puts(b, "nan");
    return;
  }
  if (isinf(d)) {
    strbuf_puts(b, d < 0 ? "-inf" : "inf");
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(s, sizeof s, "%.*e", p - 1, d);
    if (strtod(s, NULL) == d) {
      prec = p;
      break;
    }
  }
  snprintf(s, sizeof s, "%.*e", prec - 1, d);
  exp = atoi(strchr(s, 'e') + 1);
  if (exp < -4 || exp >= 16) {
    strbuf_puts(b, s);
    return;
  }
  snprintf(s, sizeof s, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
  strbuf_puts(b, s);
  if (!strchr(s, '.'))
    strbuf_puts(b, ".0");
}

/* Stops adding once b holds more than limit bytes: the caller cuts there anyway. */
static void repr(struct strbuf *b, const msgpack_object *o, size_t limit) {
  char num[32];

  if (b->len > limit)
    return;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    strbuf_puts(b, "None");
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    strbuf_puts(b, o->via.boolean ? "True" : "False");
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
    strbuf_puts(b, num);
    break;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(num, sizeof num, "%" PRId64, o->via.i64);
    strbuf_puts(b, num);
    break;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    repr_float(b, o->via.f64);
    break;
  case MSGPACK_OBJECT_STR:
    repr_str(b, o->via.str.ptr, o->via.str.size, limit);
    break;
  case MSGPACK_OBJECT_ARRAY:
    strbuf_puts(b, "[");
    for (uint32_t i = 0; i < o->via.array.size && b->len <= limit; i++) {
      if (i > 0)
        strbuf_puts(b, ", ");
      repr(b, &o->via.array.ptr[i], limit);
    }
    strbuf_puts(b, "]");
    break;
  case MSGPACK_OBJECT_MAP:
    strbuf_puts(b, "{");
    for (uint32_t i = 0; i < o->via.map.size && b->len <= limit; i++) {
      if (i > 0)
        strbuf_puts(b, ", ");
      repr(b, &o->via.map.ptr[i].key, limit);
      strbuf_puts(b, ": ");
      repr(b, &o->via.map.ptr[i].val, limit);
    }
    strbuf_puts(b, "}");
    break;
  case MSGPACK_OBJECT_BIN:
    strbuf_puts(b, "<bytes>");
    break;
  case MSGPACK_OBJECT_EXT:
    snprintf(num, sizeof num, "<ext %d>", (int)o->via.ext.type);
    strbuf_puts(b, num);
    break;
  default:
    strbuf_puts(b, "<?>");
    break;
  }
}

char *sig_value_repr(const msgpack_object *o) {
  struct strbuf b = { 0 };

  repr(&b, o, SIZE_MAX);
  return strbuf_take(&b);
}

size_t sig_utf8_cut(const char *s, size_t len, size_t max) {
  size_t n = max;

  if (len <= max)
    return len;
  for (int back = 0; back < 3 && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; back++)
    n--;
  return n;
}

char *sig_value_repr_max(const msgpack_object *o, size_t max) {
  struct strbuf b = { 0 };

  repr(&b, o, max);
  if (!b.oom && b.len > max) {
    b.len = sig_utf8_cut(b.p, b.len, max);
    strbuf_puts(&b, SIG_ELLIPSIS);
  }
  return strbuf_take(&b);
}
