/*
 * backend.describe: a host function's signature and numpydoc with the backends' public
 * backend-only parameters merged in (see describe.h for the rules).
 */
#define _GNU_SOURCE
#include "describe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <backend/param.h>

#include "json.h"
#include "signature.h"
#include "strbuf.h"

static void sb_spaces(struct strbuf *b, size_t n) {
  static const char spaces[] = "                ";

  while (n > 0) {
    size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;

    strbuf_add(b, spaces, k);
    n -= k;
  }
}

/* ---------------------------------------------------------------------------------------
 * Docstrings as lines, and their numpydoc sections.
 */

struct line {
  const char *s;
  size_t len;    /* without the newline (and a '\r' before it) */
  size_t indent; /* leading blanks (spaces and tabs) */
  bool blank;
};

struct lines {
  struct line *v;
  size_t n;
};

/* Splits text at '\n' (a final newline does not start another line). 0 or -ENOMEM. */
static int lines_split(const char *text, struct lines *out) {
  size_t n = 0, cap = 1;

  out->v = NULL;
  out->n = 0;
  for (const char *s = text; *s != '\0'; s++)
    if (*s == '\n')
      cap++;
  if ((out->v = calloc(cap, sizeof *out->v)) == NULL)
    return -ENOMEM;
  for (const char *s = text; *s != '\0';) {
    const char *e = strchr(s, '\n');
    size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
    struct line *l = &out->v[n++];

    l->s = s;
    l->len = len;
    if (l->len > 0 && s[l->len - 1] == '\r')
      l->len--;
    while (l->indent < l->len && (s[l->indent] == ' ' || s[l->indent] == '\t'))
      l->indent++;
    l->blank = l->indent == l->len;
    s += len;
    if (*s == '\n')
      s++;
  }
  out->n = n;
  return 0;
}

/* A line's text without its indentation and trailing blanks. */
static size_t line_trimmed(const struct line *l, const char **s) {
  size_t end = l->len;

  while (end > l->indent && (l->s[end - 1] == ' ' || l->s[end - 1] == '\t'))
    end--;
  *s = l->s + l->indent;
  return end - l->indent;
}

/* numpydoc's section order; "Other Parameters" is at OTHER_RANK. */
static const char *const section_order[] = {
    "Parameters", "Returns", "Yields",   "Receives", "Other Parameters", "Raises",
    "Warns",      "Warnings", "See Also", "Notes",    "References",       "Examples",
};
#define N_SECTION_ORDER (sizeof section_order / sizeof section_order[0])
#define OTHER_RANK 4

struct section {
  size_t title; /* index of the title line */
  size_t body;  /* first line after the dashes */
  size_t end;   /* first line after the body: the next title, or the number of lines */
  size_t indent;
  int rank; /* index in section_order, -1 for others */
};

static bool is_title(const struct lines *ls, size_t i) {
  const struct line *t, *d;
  const char *ts, *ds;
  size_t tn, dn;
  bool all_dashes = true;

  if (i + 1 >= ls->n)
    return false;
  t = &ls->v[i];
  d = &ls->v[i + 1];
  if (t->blank || d->blank || t->indent != d->indent)
    return false;
  tn = line_trimmed(t, &ts);
  dn = line_trimmed(d, &ds);
  for (size_t k = 0; k < dn; k++)
    if (ds[k] != '-')
      return false;
  for (size_t k = 0; k < tn; k++)
    if (ts[k] != '-')
      all_dashes = false;
  return !all_dashes && dn >= tn;
}

static bool title_is(const struct lines *ls, const struct section *sec, const char *name) {
  const char *s;
  size_t n = line_trimmed(&ls->v[sec->title], &s);

  return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

/* The sections in document order (*out NULL when there are none). 0 or -ENOMEM. */
static int find_sections(const struct lines *ls, struct section **out, size_t *n_out) {
  struct section *v = NULL;
  size_t n = 0;

  *out = NULL;
  *n_out = 0;
  for (size_t i = 0; i < ls->n; i++) {
    if (!is_title(ls, i))
      continue;
    if (v == NULL && (v = calloc(ls->n / 2 + 1, sizeof *v)) == NULL)
      return -ENOMEM;
    v[n].title = i;
    v[n].body = i + 2;
    v[n].indent = ls->v[i].indent;
    v[n].rank = -1;
    for (size_t k = 0; k < N_SECTION_ORDER; k++)
      if (title_is(ls, &v[n], section_order[k]))
        v[n].rank = (int)k;
    if (n > 0)
      v[n - 1].end = i;
    n++;
    i++; /* the dashes */
  }
  if (n > 0)
    v[n - 1].end = ls->n;
  *out = v;
  *n_out = n;
  return 0;
}

static const struct section *section_named(const struct lines *ls, const struct section *secs, size_t n,
                                           const char *name) {
  for (size_t i = 0; i < n; i++)
    if (title_is(ls, &secs[i], name))
      return &secs[i];
  return NULL;
}

/* Does the entry line (its text at the entry indentation) document name? "a", "a : int", "a, b : int". */
static bool entry_names(const struct line *l, const char *name) {
  const char *s;
  size_t n = line_trimmed(l, &s), nl = strlen(name);
  const char *colon = memchr(s, ':', n);
  size_t end = colon != NULL ? (size_t)(colon - s) : n;

  for (size_t i = 0; i < end;) {
    size_t j = i, k;

    while (j < end && s[j] != ',')
      j++;
    k = j;
    while (i < k && (s[i] == ' ' || s[i] == '\t'))
      i++;
    while (k > i && (s[k - 1] == ' ' || s[k - 1] == '\t'))
      k--;
    if (k - i == nl && memcmp(s + i, name, nl) == 0)
      return true;
    i = j + 1;
  }
  return false;
}

/*
 * The description of name in one section: the lines under its entry line, dedented, joined by
 * '\n' without a final one, in *text (NULL when the entry is missing or has no text).
 */
static int section_param_text(const struct lines *ls, const struct section *sec, const char *name, char **text) {
  size_t entry_indent = SIZE_MAX, first, last, dedent = SIZE_MAX;
  struct strbuf b = {0};

  *text = NULL;
  for (size_t i = sec->body; i < sec->end; i++)
    if (!ls->v[i].blank && ls->v[i].indent < entry_indent)
      entry_indent = ls->v[i].indent;
  for (size_t i = sec->body; i < sec->end; i++) {
    if (ls->v[i].blank || ls->v[i].indent != entry_indent || !entry_names(&ls->v[i], name))
      continue;
    for (first = i + 1; first < sec->end && ls->v[first].blank; first++)
      ;
    last = first;
    for (size_t k = first; k < sec->end && (ls->v[k].blank || ls->v[k].indent > entry_indent); k++)
      if (!ls->v[k].blank) {
        last = k + 1;
        if (ls->v[k].indent < dedent)
          dedent = ls->v[k].indent;
      }
    if (last == first)
      return 0;
    for (size_t k = first; k < last; k++) {
      const struct line *l = &ls->v[k];
      size_t end = l->len;

      if (k > first)
        strbuf_add(&b, "\n", 1);
      if (l->blank)
        continue;
      while (end > l->indent && (l->s[end - 1] == ' ' || l->s[end - 1] == '\t'))
        end--;
      strbuf_add(&b, l->s + dedent, end - dedent);
    }
    return (*text = strbuf_take(&b)) != NULL ? 0 : -ENOMEM;
  }
  return 0;
}

/* name's description in a function doc: its "Parameters" section, else "Other Parameters". */
static int doc_param_text(const char *doc, const char *name, char **text) {
  static const char *const where[] = {"Parameters", "Other Parameters"};
  struct lines ls;
  struct section *secs;
  size_t n;
  int err;

  *text = NULL;
  if (doc == NULL || *doc == '\0')
    return 0;
  if ((err = lines_split(doc, &ls)) < 0)
    return err;
  if ((err = find_sections(&ls, &secs, &n)) == 0)
    for (size_t k = 0; k < 2 && err == 0 && *text == NULL; k++) {
      const struct section *sec = section_named(&ls, secs, n, where[k]);

      if (sec != NULL)
        err = section_param_text(&ls, sec, name, text);
    }
  free(secs);
  free(ls.v);
  return err;
}

/* ---------------------------------------------------------------------------------------
 * Backend-only parameters.
 */

struct bparam {
  const char *name;
  const struct plugin_param *param; /* the first provider's */
};

static bool is_private(const char *name) {
  return name[0] == '_';
}

static bool host_has(const struct host_function *hf, const char *name) {
  for (size_t i = 0; i < hf->n_params; i++)
    if (strcmp(hf->params[i].name, name) == 0)
      return true;
  return false;
}

/* The provider's backend-only parameter called name, or NULL. */
static const struct plugin_param *provider_param(const struct describe_provider *p, const char *name) {
  if (p->fn == NULL)
    return NULL;
  for (size_t i = 0; i < p->fn->n_params; i++) {
    const struct plugin_param *pp = &p->fn->params[i];

    if ((pp->kind == BACKEND_PARAM_POSITIONAL || pp->kind == BACKEND_PARAM_KEYWORD_ONLY) &&
        strcmp(pp->name, name) == 0)
      return pp;
  }
  return NULL;
}

/* The backend-only parameters in order of first appearance. 0 or -ENOMEM (*out to free). */
static int collect(const struct host_function *hf, const struct describe_provider *p, size_t n, struct bparam **out,
                   size_t *n_out) {
  size_t cap = 1, nb = 0;
  struct bparam *v;

  for (size_t i = 0; i < n; i++)
    if (p[i].fn != NULL)
      cap += p[i].fn->n_params;
  if ((v = calloc(cap, sizeof *v)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (p[i].fn == NULL)
      continue;
    for (size_t j = 0; j < p[i].fn->n_params; j++) {
      const struct plugin_param *pp = &p[i].fn->params[j];
      bool seen = false;

      if ((pp->kind != BACKEND_PARAM_POSITIONAL && pp->kind != BACKEND_PARAM_KEYWORD_ONLY) || is_private(pp->name) ||
          host_has(hf, pp->name))
        continue;
      for (size_t k = 0; k < nb && !seen; k++)
        seen = strcmp(v[k].name, pp->name) == 0;
      if (!seen)
        v[nb++] = (struct bparam){pp->name, pp};
    }
  }
  *out = v;
  *n_out = nb;
  return 0;
}

/* "a, b": the backends providing name, in provider order (a backend listed twice once). */
static void add_providers(struct strbuf *b, const struct describe_provider *p, size_t n, const char *name) {
  bool first = true;

  for (size_t i = 0; i < n; i++) {
    bool dup = false;

    if (provider_param(&p[i], name) == NULL)
      continue;
    for (size_t k = 0; k < i && !dup; k++)
      dup = strcmp(p[k].backend, p[i].backend) == 0 && provider_param(&p[k], name) != NULL;
    if (dup)
      continue;
    if (!first)
      strbuf_puts(b, ", ");
    strbuf_puts(b, p[i].backend);
    first = false;
  }
}

static char *providers_text(const struct describe_provider *p, size_t n, const char *name) {
  struct strbuf b = {0};

  add_providers(&b, p, n, name);
  return strbuf_take(&b);
}

/* The first provider's text for name (NULL when none has any). */
static int bparam_text(const struct describe_provider *p, size_t n, const char *name, char **text) {
  *text = NULL;
  for (size_t i = 0; i < n; i++) {
    int err;

    if (provider_param(&p[i], name) == NULL)
      continue;
    if ((err = doc_param_text(p[i].fn->doc, name, text)) < 0)
      return err;
    if (*text != NULL)
      return 0;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * Defaults as Python repr text.
 */

/* A host parameter's default: *out NULL when it is required. */
static int host_default_repr(const struct sig_param *sp, char **out) {
  *out = NULL;
  if (sp->def == NULL || sp->kind == BACKEND_PARAM_VAR_POSITIONAL || sp->kind == BACKEND_PARAM_VAR_KEYWORD)
    return 0;
  return (*out = sig_value_repr(sp->def)) != NULL ? 0 : -ENOMEM;
}

/* A backend parameter's default, from its JSON text: *out NULL when it is required. */
static int backend_default_repr(const struct plugin_param *pp, char **out) {
  json_error_t jerr;
  json_t *j;
  msgpack_sbuffer buf;
  msgpack_packer pk;
  msgpack_unpacked u;
  msgpack_unpack_return ret;
  int err = 0;

  *out = NULL;
  if (pp->default_json == NULL) {
    if (pp->def == NULL)
      return 0;
    return (*out = sig_value_repr(pp->def)) != NULL ? 0 : -ENOMEM;
  }
  if ((j = json_loads(pp->default_json, JSON_DECODE_ANY, &jerr)) == NULL) {
    /* plugin_info_parse refuses these; shown as written rather than lost */
    if (pp->def != NULL)
      *out = sig_value_repr(pp->def);
    else
      *out = strdup(pp->default_json);
    return *out != NULL ? 0 : -ENOMEM;
  }
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  msgpack_unpacked_init(&u);
  if (proto_msgpack_from_json(j, &pk) < 0)
    err = -ENOMEM;
  else if ((ret = msgpack_unpack_next(&u, buf.data, buf.size, NULL)) != MSGPACK_UNPACK_SUCCESS)
    err = ret == MSGPACK_UNPACK_NOMEM_ERROR ? -ENOMEM : -EINVAL;
  else if ((*out = sig_value_repr(&u.data)) == NULL)
    err = -ENOMEM;
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&buf);
  json_decref(j);
  if (err == -EINVAL) /* cannot happen: we packed it ourselves */
    err = (*out = strdup(pp->default_json)) != NULL ? 0 : -ENOMEM;
  return err;
}

static const char *kind_name(uint32_t kind) {
  switch (kind) {
  case BACKEND_PARAM_POSITIONAL:
    return "positional";
  case BACKEND_PARAM_KEYWORD_ONLY:
    return "keyword_only";
  case BACKEND_PARAM_VAR_POSITIONAL:
    return "var_positional";
  case BACKEND_PARAM_VAR_KEYWORD:
    return "var_keyword";
  default:
    return "unknown";
  }
}

/* ---------------------------------------------------------------------------------------
 * Signature.
 */

static void add_param(struct strbuf *b, bool *first, const char *prefix, const char *name, const char *repr) {
  if (!*first)
    strbuf_puts(b, ", ");
  *first = false;
  strbuf_puts(b, prefix);
  strbuf_puts(b, name);
  if (repr != NULL) {
    strbuf_puts(b, "=");
    strbuf_puts(b, repr);
  }
}

static int signature(const struct host_function *hf, const struct bparam *bp, size_t nb, char **out) {
  struct strbuf b = {0};
  bool first = true, star = false;
  const struct sig_param *varkw = NULL;
  int err = 0;

  strbuf_puts(&b, hf->name);
  strbuf_puts(&b, "(");
  for (size_t i = 0; i < hf->n_params && err == 0; i++) {
    const struct sig_param *sp = &hf->params[i];
    char *repr = NULL;

    if (is_private(sp->name))
      continue;
    switch (sp->kind) {
    case BACKEND_PARAM_POSITIONAL:
    case BACKEND_PARAM_KEYWORD_ONLY:
      if (sp->kind == BACKEND_PARAM_KEYWORD_ONLY && !star) {
        add_param(&b, &first, "*", "", NULL);
        star = true;
      }
      if ((err = host_default_repr(sp, &repr)) == 0)
        add_param(&b, &first, "", sp->name, repr);
      free(repr);
      break;
    case BACKEND_PARAM_VAR_POSITIONAL:
      add_param(&b, &first, "*", sp->name, NULL);
      star = true;
      break;
    case BACKEND_PARAM_VAR_KEYWORD:
      if (varkw == NULL)
        varkw = sp;
      break;
    default:
      break;
    }
  }
  for (size_t i = 0; i < nb && err == 0; i++) {
    char *repr = NULL;

    if (!star) {
      add_param(&b, &first, "*", "", NULL);
      star = true;
    }
    if ((err = backend_default_repr(bp[i].param, &repr)) == 0)
      add_param(&b, &first, "", bp[i].name, repr);
    free(repr);
  }
  if (varkw != NULL)
    add_param(&b, &first, "**", varkw->name, NULL);
  strbuf_puts(&b, ")");
  *out = strbuf_take(&b);
  if (err != 0) {
    free(*out);
    *out = NULL;
    return err;
  }
  return *out != NULL ? 0 : -ENOMEM;
}

char *describe_signature(const struct host_function *hf, const struct describe_provider *p, size_t n) {
  struct bparam *bp;
  size_t nb;
  char *s = NULL;

  if (collect(hf, p, n, &bp, &nb) < 0)
    return NULL;
  signature(hf, bp, nb, &s);
  free(bp);
  return s;
}

/* ---------------------------------------------------------------------------------------
 * Doc.
 */

static void add_line(struct strbuf *b, const struct line *l) {
  strbuf_add(b, l->s, l->len);
  strbuf_add(b, "\n", 1);
}

/* The entries, at indentation indent. */
static int add_entries(struct strbuf *b, size_t indent, const struct describe_provider *p, size_t n,
                       const struct bparam *bp, size_t nb) {
  for (size_t i = 0; i < nb; i++) {
    char *text;
    int err;

    if ((err = bparam_text(p, n, bp[i].name, &text)) < 0)
      return err;
    sb_spaces(b, indent);
    strbuf_puts(b, bp[i].name);
    strbuf_puts(b, " (");
    add_providers(b, p, n, bp[i].name);
    strbuf_puts(b, ")\n");
    for (const char *s = text; s != NULL;) {
      const char *e = strchr(s, '\n');
      size_t len = e != NULL ? (size_t)(e - s) : strlen(s);

      if (len > 0) {
        sb_spaces(b, indent + 4);
        strbuf_add(b, s, len);
      }
      strbuf_add(b, "\n", 1);
      s = e != NULL ? e + 1 : NULL;
    }
    free(text);
  }
  return 0;
}

static void add_section_title(struct strbuf *b, size_t indent) {
  sb_spaces(b, indent);
  strbuf_puts(b, "Other Parameters\n");
  sb_spaces(b, indent);
  strbuf_puts(b, "----------------\n");
}

/* Ends b with exactly one newline (empty stays empty). */
static void normalise_end(struct strbuf *b) {
  if (b->oom || b->p == NULL)
    return;
  while (b->len > 0 && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == ' ' || b->p[b->len - 1] == '\t' ||
                        b->p[b->len - 1] == '\r'))
    b->len--;
  b->p[b->len] = '\0';
  if (b->len > 0)
    strbuf_add(b, "\n", 1);
}

static int merged_doc(const struct host_function *hf, const struct describe_provider *p, size_t n,
                      const struct bparam *bp, size_t nb, char **out) {
  struct strbuf b = {0};
  struct lines ls;
  struct section *secs = NULL;
  size_t nsecs = 0;
  const struct section *other;
  int err;

  *out = NULL;
  if ((err = lines_split(hf->doc != NULL ? hf->doc : "", &ls)) < 0)
    return err;
  if ((err = find_sections(&ls, &secs, &nsecs)) < 0)
    goto out;

  if (nb == 0) {
    for (size_t i = 0; i < ls.n; i++)
      add_line(&b, &ls.v[i]);
  } else if ((other = section_named(&ls, secs, nsecs, "Other Parameters")) != NULL) {
    /* after the last non-blank line of the host's own section */
    size_t at = other->body;

    for (size_t i = other->body; i < other->end; i++)
      if (!ls.v[i].blank)
        at = i + 1;
    for (size_t i = 0; i < at; i++)
      add_line(&b, &ls.v[i]);
    err = add_entries(&b, other->indent, p, n, bp, nb);
    for (size_t i = at; i < ls.n; i++)
      add_line(&b, &ls.v[i]);
  } else {
    const struct section *before = NULL;

    for (size_t i = 0; i < nsecs && before == NULL; i++)
      if (secs[i].rank > OTHER_RANK)
        before = &secs[i];
    if (before != NULL) {
      size_t at = before->title;

      for (size_t i = 0; i < at; i++)
        add_line(&b, &ls.v[i]);
      if (at > 0 && !ls.v[at - 1].blank)
        strbuf_add(&b, "\n", 1);
      add_section_title(&b, before->indent);
      err = add_entries(&b, before->indent, p, n, bp, nb);
      strbuf_add(&b, "\n", 1);
      for (size_t i = at; i < ls.n; i++)
        add_line(&b, &ls.v[i]);
    } else {
      /* at the end, at the sections' indentation, else the text's after its first line */
      size_t indent = SIZE_MAX, last = 0;

      if (nsecs > 0)
        indent = secs[0].indent;
      for (size_t i = 1; i < ls.n && nsecs == 0; i++)
        if (!ls.v[i].blank && ls.v[i].indent < indent)
          indent = ls.v[i].indent;
      if (indent == SIZE_MAX)
        indent = 0;
      for (size_t i = 0; i < ls.n; i++)
        if (!ls.v[i].blank)
          last = i + 1;
      for (size_t i = 0; i < last; i++)
        add_line(&b, &ls.v[i]);
      if (last > 0)
        strbuf_add(&b, "\n", 1);
      add_section_title(&b, indent);
      err = add_entries(&b, indent, p, n, bp, nb);
    }
  }
  normalise_end(&b);
  *out = strbuf_take(&b);
  if (err == 0 && *out == NULL)
    err = -ENOMEM;
out:
  if (err != 0) {
    free(*out);
    *out = NULL;
    free(b.p);
  }
  free(secs);
  free(ls.v);
  return err;
}

char *describe_doc(const struct host_function *hf, const struct describe_provider *p, size_t n) {
  struct bparam *bp;
  size_t nb;
  char *s = NULL;

  if (collect(hf, p, n, &bp, &nb) < 0)
    return NULL;
  merged_doc(hf, p, n, bp, nb, &s);
  free(bp);
  return s;
}

/* ---------------------------------------------------------------------------------------
 * The describe result.
 */

static int pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);

  return msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, s, n) < 0 ? -1 : 0;
}

static int pack_str_or_nil(msgpack_packer *pk, const char *s) {
  return s != NULL ? pack_str(pk, s) : msgpack_pack_nil(pk);
}

static int pack_param(msgpack_packer *pk, const char *name, const char *kind, const char *def, const char *provider) {
  int bad = 0;

  bad |= msgpack_pack_map(pk, 4);
  bad |= pack_str(pk, "name") | pack_str(pk, name);
  bad |= pack_str(pk, "kind") | pack_str(pk, kind);
  bad |= pack_str(pk, "default") | pack_str_or_nil(pk, def);
  bad |= pack_str(pk, "provider") | pack_str(pk, provider);
  return bad != 0 ? -ENOMEM : 0;
}

static int pack_host_param(msgpack_packer *pk, const struct sig_param *sp) {
  char *repr;
  int err;

  if ((err = host_default_repr(sp, &repr)) < 0)
    return err;
  err = pack_param(pk, sp->name, kind_name(sp->kind), repr, "host");
  free(repr);
  return err;
}

int describe_pack(msgpack_packer *pk, const struct host *h, const struct host_function *hf,
                  const struct describe_provider *providers, size_t n) {
  struct bparam *bp;
  size_t nb, count = 0;
  char *sig = NULL, *doc = NULL;
  int err, bad = 0;

  if ((err = collect(hf, providers, n, &bp, &nb)) < 0)
    return err;
  if ((err = signature(hf, bp, nb, &sig)) < 0 || (err = merged_doc(hf, providers, n, bp, nb, &doc)) < 0)
    goto out;

  bad |= msgpack_pack_map(pk, 5);
  bad |= pack_str(pk, "host") | pack_str(pk, h->name);
  bad |= pack_str(pk, "function") | pack_str(pk, hf->name);
  bad |= pack_str(pk, "signature") | pack_str(pk, sig);
  bad |= pack_str(pk, "doc") | pack_str(pk, doc);
  bad |= pack_str(pk, "parameters");
  for (size_t i = 0; i < hf->n_params; i++)
    if (!is_private(hf->params[i].name))
      count++;
  bad |= msgpack_pack_array(pk, count + nb);
  if (bad != 0) {
    err = -ENOMEM;
    goto out;
  }
  /* signature order: the host's (but **kwargs), the backend-only ones, **kwargs */
  for (size_t i = 0; i < hf->n_params && err == 0; i++)
    if (!is_private(hf->params[i].name) && hf->params[i].kind != BACKEND_PARAM_VAR_KEYWORD)
      err = pack_host_param(pk, &hf->params[i]);
  for (size_t i = 0; i < nb && err == 0; i++) {
    char *repr = NULL, *prov = NULL;

    if ((err = backend_default_repr(bp[i].param, &repr)) == 0 &&
        (prov = providers_text(providers, n, bp[i].name)) == NULL)
      err = -ENOMEM;
    if (err == 0)
      err = pack_param(pk, bp[i].name, "keyword_only", repr, prov);
    free(repr);
    free(prov);
  }
  for (size_t i = 0; i < hf->n_params && err == 0; i++)
    if (!is_private(hf->params[i].name) && hf->params[i].kind == BACKEND_PARAM_VAR_KEYWORD)
      err = pack_host_param(pk, &hf->params[i]);
out:
  free(sig);
  free(doc);
  free(bp);
  return err;
}
