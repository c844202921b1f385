/*
 * backendctl's human-readable output. Printers are tolerant: they show whatever keys the
 * daemon sends, so a newer daemon never breaks an older backendctl.
 */
#include "ctl-print.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "message.h"

#define NONE "(none)"
/* Longest flattened key shown by `info` (longer ones are cut). */
#define KEY_MAX 256

static int is_container(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP;
}

static int has_container(const msgpack_object_array *a) {
  for (uint32_t i = 0; i < a->size; i++)
    if (is_container(&a->ptr[i]))
      return 1;
  return 0;
}

static int put_json(FILE *out, const msgpack_object *o) {
  json_t *j = proto_json_from_msgpack(o);
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

  json_decref(j);
  if (!text)
    return -ENOMEM;
  fputs(text, out);
  free(text);
  return 0;
}

/* Up to three decimals without trailing zeros; %g where that would hide the value. */
static void put_float(FILE *out, double d) {
  char buf[64];
  char *end;

  if ((d != 0 && d > -0.001 && d < 0.001) || d >= 1e15 || d <= -1e15) {
    fprintf(out, "%g", d);
    return;
  }
  snprintf(buf, sizeof buf, "%.3f", d);
  if (strchr(buf, '.')) {
    for (end = buf + strlen(buf) - 1; *end == '0'; end--)
      *end = '\0';
    if (*end == '.')
      *end = '\0';
  }
  fputs(buf, out);
}

/* One value on one line: scalars as text, lists of scalars joined, the rest compact JSON. */
static int put_value(FILE *out, const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    fputs(NONE, out);
    return 0;
  case MSGPACK_OBJECT_BOOLEAN:
    fputs(o->via.boolean ? "yes" : "no", out);
    return 0;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    fprintf(out, "%" PRIu64, o->via.u64);
    return 0;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    fprintf(out, "%" PRId64, o->via.i64);
    return 0;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    put_float(out, o->via.f64);
    return 0;
  case MSGPACK_OBJECT_STR:
    fwrite(o->via.str.ptr, 1, o->via.str.size, out);
    return 0;
  case MSGPACK_OBJECT_BIN:
    fprintf(out, "<%" PRIu32 " bytes>", o->via.bin.size);
    return 0;
  case MSGPACK_OBJECT_EXT:
    fprintf(out, "<ext type %d, %" PRIu32 " bytes>", o->via.ext.type, o->via.ext.size);
    return 0;
  case MSGPACK_OBJECT_ARRAY:
    if (o->via.array.size == 0) {
      fputs(NONE, out);
      return 0;
    }
    if (has_container(&o->via.array))
      return put_json(out, o);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
      if (i)
        fputs(", ", out);
      put_value(out, &o->via.array.ptr[i]);
    }
    return 0;
  case MSGPACK_OBJECT_MAP:
    break;
  }
  return put_json(out, o);
}

/* ---- ping ---- */

int ctl_print_ping(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *version = proto_map_get(result, "version");
  const msgpack_object *pid = proto_map_get(result, "pid");

  fputs("pong from backendd", out);
  if (version && version->type == MSGPACK_OBJECT_STR)
    fprintf(out, " %.*s", (int)version->via.str.size, version->via.str.ptr);
  if (pid && pid->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    fprintf(out, " (pid %" PRIu64 ")", pid->via.u64);
  fprintf(out, " in %.2f ms\n", call->elapsed_ms);
  return 0;
}

/* ---- info: nested maps flattened to dotted keys, aligned ---- */

struct flat {
  FILE *out;
  int print; /* 0: first pass, measuring the widest key */
  size_t width;
  int err;
};

/* The key length after snprintf appended n bytes at len (cut at KEY_MAX). */
static size_t advance(size_t len, int n) {
  return n < 0 || (size_t)n >= KEY_MAX - len ? KEY_MAX - 1 : len + (size_t)n;
}

/* Appends sep and the text of map key k to key (NUL-terminated, len bytes so far). */
static size_t key_append(char *key, size_t len, const char *sep, const msgpack_object *k) {
  char *end = key + len;
  size_t room = KEY_MAX - len;

  if (k->type == MSGPACK_OBJECT_STR)
    return advance(len, snprintf(end, room, "%s%.*s", sep, (int)k->via.str.size, k->via.str.ptr));
  if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return advance(len, snprintf(end, room, "%s%" PRIu64, sep, k->via.u64));
  if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return advance(len, snprintf(end, room, "%s%" PRId64, sep, k->via.i64));
  return advance(len, snprintf(end, room, "%s?", sep));
}

static void flat_entry(struct flat *f, const char *key, const msgpack_object *v) {
  size_t len = strlen(key);

  if (!f->print) {
    if (len > f->width)
      f->width = len;
    return;
  }
  fprintf(f->out, "%s:%*s ", key, (int)(f->width - len), "");
  if (put_value(f->out, v) != 0)
    f->err = -ENOMEM;
  fputc('\n', f->out);
}

static void flatten(struct flat *f, char *key, size_t len, const msgpack_object *o) {
  if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0) {
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      size_t n = key_append(key, len, len ? "." : "", &o->via.map.ptr[i].key);
      flatten(f, key, n, &o->via.map.ptr[i].val);
      key[len] = '\0';
    }
  } else if (o->type == MSGPACK_OBJECT_ARRAY && has_container(&o->via.array)) {
    for (uint32_t i = 0; i < o->via.array.size; i++) {
      size_t n = advance(len, snprintf(key + len, KEY_MAX - len, "[%" PRIu32 "]", i));
      flatten(f, key, n, &o->via.array.ptr[i]);
      key[len] = '\0';
    }
  } else {
    flat_entry(f, key, o);
  }
}

int ctl_print_info(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  struct flat f = {.out = out};
  char key[KEY_MAX] = "";

  (void)call;
  if (result->type != MSGPACK_OBJECT_MAP || result->via.map.size == 0) {
    int err = put_value(out, result);
    fputc('\n', out);
    return err;
  }
  flatten(&f, key, 0, result);
  f.print = 1;
  flatten(&f, key, 0, result);
  return f.err;
}

/* ---- methods: "name(param: type, optional?: type)  — doc", docs aligned ---- */

/* "name(params)" for one method description; malloc'd, NULL when out of memory. */
static char *signature(const msgpack_object *m) {
  const msgpack_object *name = proto_map_get(m, "name");
  const msgpack_object *params = proto_map_get(m, "params");
  char *text = NULL;
  size_t size;
  FILE *s = open_memstream(&text, &size);
  int err = 0;

  if (!s)
    return NULL;
  if (!name) {
    err = put_value(s, m);
  } else {
    err = put_value(s, name);
    fputc('(', s);
    for (uint32_t i = 0; params && params->type == MSGPACK_OBJECT_ARRAY && i < params->via.array.size; i++) {
      const msgpack_object *p = &params->via.array.ptr[i];
      const msgpack_object *pname = proto_map_get(p, "name");
      const msgpack_object *type = proto_map_get(p, "type");
      const msgpack_object *required = proto_map_get(p, "required");

      if (i)
        fputs(", ", s);
      err |= put_value(s, pname ? pname : p);
      if (required && required->type == MSGPACK_OBJECT_BOOLEAN && !required->via.boolean)
        fputc('?', s);
      if (type && type->type == MSGPACK_OBJECT_STR)
        fprintf(s, ": %.*s", (int)type->via.str.size, type->via.str.ptr);
    }
    fputc(')', s);
  }
  if (fclose(s) != 0 || err) {
    free(text);
    return NULL;
  }
  return text;
}

int ctl_print_methods(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object_array *a;
  char **sigs;
  size_t width = 0;
  int err = 0;

  (void)call;
  if (result->type != MSGPACK_OBJECT_ARRAY) {
    err = put_value(out, result);
    fputc('\n', out);
    return err;
  }
  a = &result->via.array;
  sigs = calloc(a->size ? a->size : 1, sizeof *sigs);
  if (!sigs)
    return -ENOMEM;
  for (uint32_t i = 0; i < a->size && !err; i++) {
    sigs[i] = signature(&a->ptr[i]);
    if (!sigs[i])
      err = -ENOMEM;
    else if (strlen(sigs[i]) > width)
      width = strlen(sigs[i]);
  }
  for (uint32_t i = 0; i < a->size && !err; i++) {
    const msgpack_object *doc = proto_map_get(&a->ptr[i], "doc");
    if (doc && doc->type == MSGPACK_OBJECT_STR && doc->via.str.size > 0)
      fprintf(out, "%-*s  \u2014 %.*s\n", (int)width, sigs[i], (int)doc->via.str.size, doc->via.str.ptr);
    else
      fprintf(out, "%s\n", sigs[i]);
  }
  for (uint32_t i = 0; i < a->size; i++)
    free(sigs[i]);
  free(sigs);
  return err;
}

/* ---- reload: what was added, removed, changed, failed ---- */

/* Keys that name an item, in the order they are looked for. */
static const char *const name_keys[] = {"name", "namespace", "distribution", "plugin", "path"};

/* An item of a reload list: a string, or a map shown as "name (key=value, ...)". */
static int put_item(FILE *out, const msgpack_object *o) {
  const msgpack_object *name = NULL;
  int err = 0, first = 1;

  if (o->type != MSGPACK_OBJECT_MAP)
    return put_value(out, o);
  for (size_t k = 0; !name && k < sizeof name_keys / sizeof name_keys[0]; k++) {
    name = proto_map_get(o, name_keys[k]);
    if (name && is_container(name))
      name = NULL;
  }
  if (name)
    err |= put_value(out, name);
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    if (&kv->val == name)
      continue;
    fputs(first ? (name ? " (" : "") : ", ", out);
    first = 0;
    err |= put_value(out, &kv->key);
    fputc('=', out);
    err |= put_value(out, &kv->val);
  }
  if (name && !first)
    fputc(')', out);
  return err ? -ENOMEM : 0;
}

int ctl_print_reload(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  int changed = 0, err = 0;

  (void)call;
  if (result->type != MSGPACK_OBJECT_MAP) {
    err = put_value(out, result);
    fputc('\n', out);
    return err;
  }
  for (uint32_t i = 0; i < result->via.map.size; i++) {
    const msgpack_object *key = &result->via.map.ptr[i].key;
    const msgpack_object *val = &result->via.map.ptr[i].val;

    if (val->type == MSGPACK_OBJECT_ARRAY) {
      if (val->via.array.size == 0)
        continue;
      changed = 1;
      err |= put_value(out, key);
      fprintf(out, " (%" PRIu32 "):\n", val->via.array.size);
      for (uint32_t j = 0; j < val->via.array.size; j++) {
        fputs("  ", out);
        err |= put_item(out, &val->via.array.ptr[j]);
        fputc('\n', out);
      }
    } else if (val->type != MSGPACK_OBJECT_NIL) {
      err |= put_value(out, key);
      fputs(": ", out);
      err |= put_value(out, val);
      fputc('\n', out);
    }
  }
  if (!changed)
    fputs("nothing changed\n", out);
  return err ? -ENOMEM : 0;
}
