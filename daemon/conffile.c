/* backendd.conf, read with inih: the settings table's rows (options.c) as "key = value" lines. */
#define _GNU_SOURCE
#include "conffile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

struct conf_parse {
  struct options *o;
  const char *path;
  const char *next; /* text not yet handed to inih */
  int line;         /* the line inih has now: counted here, as inih's handler is not told */
  int err_line;     /* the first bad line; 0 while there is none */
  int err;
  int *set_on;      /* per table row: the line that set it, or 0 */
};

static void fail(struct conf_parse *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct conf_parse *p, int err, const char *fmt, ...) {
  va_list ap;
  p->err_line = p->line;
  p->err = err;
  fprintf(stderr, "backendd: %s:%d: ", p->path, p->line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/*
 * What inih would read differently from what the format says, or NULL for a good line. inih
 * reads an indented line as the continuation of the value above, "[x]" as a section, and
 * "key: value" as "key = value"; here they are errors.
 */
static const char *bad_syntax(const char *s, size_t n, int line) {
  size_t i = 0, j;
  bool was_space = false;
  if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    i = 3; /* a UTF-8 byte order mark, which inih skips */
  for (j = i; j < n && isspace((unsigned char)s[j]); j++)
    ;
  if (j == n || s[j] == '#' || s[j] == ';')
    return NULL; /* blank, or a comment */
  if (j > i)
    return "indented line: a setting starts at the beginning of its line (values do not continue on the next)";
  if (s[j] == '[')
    return "sections are not used: every line is 'key = value'";
  if (s[j] == '=')
    return "no key before '='";
  /* inih splits at the first '=' or ':', unless ';' after white space starts a comment first. */
  for (; j < n; j++) {
    if (s[j] == '=')
      return NULL;
    if (s[j] == ':' || (was_space && s[j] == ';'))
      break;
    was_space = isspace((unsigned char)s[j]);
  }
  return "expected 'key = value'";
}

/* inih's fgets: hands it one line at a time, checked, so that each line is known by number. */
static char *next_line(char *buf, int size, void *user) {
  struct conf_parse *p = user;
  size_t n, limit = size > 2 ? (size_t)size - 2 : 0;
  const char *why;
  if (limit > CONFFILE_MAX_LINE)
    limit = CONFFILE_MAX_LINE;
  if (p->err_line != 0 || *p->next == '\0')
    return NULL; /* the first error ends the file */
  n = strcspn(p->next, "\n");
  p->line++;
  if (n > limit) {
    fail(p, -EINVAL, "line longer than %zu characters", limit);
    return NULL;
  }
  if ((why = bad_syntax(p->next, n, p->line)) != NULL) {
    fail(p, -EINVAL, "%s", why);
    return NULL;
  }
  memcpy(buf, p->next, n);
  buf[n] = '\n';
  buf[n + 1] = '\0';
  p->next += n + (p->next[n] == '\n');
  return buf;
}

/* Edit distance counting a swap of neighbours as one edit ("sokcet"); SIZE_MAX for long names. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), d[33][33];
  if (la > 32 || lb > 32)
    return SIZE_MAX;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

/* The key a typo most likely meant (at most two edits away), or NULL. */
static const char *closest_key(const char *name) {
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t i = 0; i < options_table_len; i++) {
    size_t d = distance(name, options_table[i].name);
    if (d < best_d) {
      best_d = d;
      best = options_table[i].name;
    }
  }
  return best;
}

static int on_setting(void *user, const char *section, const char *name, const char *value) {
  struct conf_parse *p = user;
  const struct opt_def *d = options_lookup(name);
  const char *hint;
  char *where;
  size_t row;
  int err;
  if (d == NULL) {
    if ((hint = closest_key(name)) != NULL)
      fail(p, -EINVAL, "unknown setting '%s' (did you mean '%s'?)", name, hint);
    else
      fail(p, -EINVAL, "unknown setting '%s'", name);
    return 0;
  }
  row = (size_t)(d - options_table);
  if (p->set_on[row] != 0) {
    fail(p, -EINVAL, "%s: already set on line %d", name, p->set_on[row]);
    return 0;
  }
  if (*value == '\0') {
    fail(p, -EINVAL, "%s: no value (leave the line out for the default)", name);
    return 0;
  }
  if (*value == '"' || *value == '\'') {
    fail(p, -EINVAL, "%s: values are written without quotes", name);
    return 0;
  }
  if (asprintf(&where, "%s:%d: %s", p->path, p->line, name) < 0) {
    fail(p, -ENOMEM, "out of memory");
    return 0;
  }
  err = options_set(p->o, d, value, where); /* prints why a value is bad */
  free(where);
  if (err == -ENOMEM)
    fail(p, err, "out of memory");
  if (err < 0) {
    p->err_line = p->line;
    p->err = err;
    return 0;
  }
  p->set_on[row] = p->line;
  return 1;
}

int conffile_parse(struct options *o, const char *path, const char *text) {
  struct conf_parse p = {.o = o, .path = path, .next = text};
  int r;
  if ((p.set_on = calloc(options_table_len, sizeof *p.set_on)) == NULL)
    return -ENOMEM;
  r = ini_parse_stream(next_line, &p, on_setting, &p);
  free(p.set_on);
  if (p.err_line != 0)
    return p.err;
  if (r != 0) { /* not expected: next_line lets through only lines inih reads as a setting */
    if (r > 0)
      fprintf(stderr, "backendd: %s:%d: expected 'key = value'\n", path, r);
    else
      fprintf(stderr, "backendd: %s: inih failed (%d)\n", path, r);
    return r == -2 ? -ENOMEM : -EINVAL;
  }
  return 0;
}

/* The whole file, NUL-terminated. Returns 0 or -errno, -EFBIG for a larger file than we read. */
static int read_text(const char *path, char **out) {
  FILE *f = fopen(path, "re");
  char *buf;
  size_t len;
  int err = 0;
  if (f == NULL)
    return -errno;
  if ((buf = malloc(CONFFILE_MAX_SIZE + 2)) == NULL) {
    fclose(f);
    return -ENOMEM;
  }
  len = fread(buf, 1, CONFFILE_MAX_SIZE + 1, f);
  if (ferror(f))
    err = errno != 0 ? -errno : -EIO; /* EISDIR for a directory */
  else if (len > CONFFILE_MAX_SIZE)
    err = -EFBIG;
  fclose(f);
  if (err < 0) {
    free(buf);
    return err;
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len) != NULL) { /* the rest would be silently ignored */
    free(buf);
    return -EILSEQ;
  }
  *out = buf;
  return 0;
}

int conffile_load(struct options *o, const char *path, bool required) {
  char *text = NULL;
  int err = read_text(path, &text);
  if (err == -ENOENT && !required)
    return 0;
  if (err < 0) {
    fprintf(stderr, "backendd: cannot read config file %s: %s\n", path,
            err == -EFBIG ? "larger than 64 KiB" : err == -EILSEQ ? "not a text file (holds a NUL byte)" : strerror(-err));
    return err == -ENOMEM ? err : -EINVAL;
  }
  err = conffile_parse(o, path, text);
  free(text);
  if (err < 0)
    return err;
  free(o->config_path);
  return (o->config_path = strdup(path)) != NULL ? 1 : -ENOMEM;
}

/* Bytes with the largest suffix that is exact: 128M, 4097. */
static void write_size(FILE *out, uint64_t v) {
  static const struct { char suffix; unsigned shift; } units[] = {{'G', 30}, {'M', 20}, {'K', 10}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (v != 0 && v % ((uint64_t)1 << units[i].shift) == 0) {
      fprintf(out, "%llu%c", (unsigned long long)(v >> units[i].shift), units[i].suffix);
      return;
    }
  fprintf(out, "%llu", (unsigned long long)v);
}

/* The shortest decimal that strtod reads back to the same double: 5, 0.25, 0.1 (no exponent). */
static void write_seconds(FILE *out, double v) {
  char buf[64];
  for (int decimals = 0; decimals <= 17; decimals++) {
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (strtod(buf, NULL) == v) {
      fputs(buf, out);
      return;
    }
  }
  fprintf(out, "%.17g", v); /* tinier than 1e-17 */
}

void conffile_write(FILE *out, const struct options *o) {
  fprintf(out, "# backendd %s: effective settings (config file: %s)\n", BACKENDD_VERSION,
          o->config_path != NULL ? o->config_path : "none");
  for (size_t i = 0; i < options_table_len; i++) {
    const struct opt_def *d = &options_table[i];
    const void *field = (const char *)o + d->offset;
    if (d->offset == offsetof(struct options, plugin_path_arg) && o->plugin_dirs != NULL && o->plugin_dirs[0] != NULL) {
      /* The whole search path: written back it gives the same one, as duplicates are dropped. */
      fprintf(out, "%s = ", d->name);
      for (char *const *dir = o->plugin_dirs; dir != NULL && *dir != NULL; dir++)
        fprintf(out, "%s%s", dir == o->plugin_dirs ? "" : ":", *dir);
      fputc('\n', out);
      continue;
    }
    if (d->kind == OPT_STRING && *(char *const *)field == NULL) {
      fprintf(out, "# %s: not set\n", d->name);
      continue;
    }
    fprintf(out, "%s = ", d->name);
    switch (d->kind) {
    case OPT_STRING: fputs(*(char *const *)field, out); break;
    case OPT_SIZE: write_size(out, *(const size_t *)field); break;
    case OPT_COUNT: write_size(out, *(const uint64_t *)field); break;
    case OPT_UINT: fprintf(out, "%u", *(const unsigned *)field); break;
    case OPT_SECONDS: write_seconds(out, *(const double *)field); break;
    case OPT_LEVEL: fputs(log_level_name(*(const int *)field), out); break;
    case OPT_FLAG: fputs(*(const bool *)field ? "yes" : "no", out); break;
    }
    fputc('\n', out);
  }
}
