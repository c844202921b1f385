/*
 * backendctl backends / describe: a host's backends, one line each (refused ones with their
 * reason), and a host function's merged signature and doc. The daemon's answer is untrusted
 * here too: a missing or mistyped field prints as "?", and one-line fields never break their
 * line (control characters print as "?").
 */
#include "ctl-print.h"

#include <string.h>

#include "message.h"

#define UNKNOWN "?"
/* Names are padded to the longest, up to this. */
#define NAME_WIDTH_MAX 32

static const msgpack_object *get(const msgpack_object *map, const char *key) { return proto_map_get(map, key); }

static uint32_t array_size(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
}

/* A str object on one line: control characters as "?"; "?" when absent or not a string. */
static size_t put_field(FILE *out, const msgpack_object *o) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR) {
    fputs(UNKNOWN, out);
    return strlen(UNKNOWN);
  }
  for (uint32_t i = 0; i < o->via.str.size; i++) {
    unsigned char c = (unsigned char)o->via.str.ptr[i];
    fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
  }
  return o->via.str.size;
}

/* The width put_field() gives o. */
static size_t field_width(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_STR ? o->via.str.size : strlen(UNKNOWN);
}

/* A list of strings joined by ", "; "?" when not a list. */
static void put_list(FILE *out, const msgpack_object *list) {
  if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY) {
    fputs(UNKNOWN, out);
    return;
  }
  for (uint32_t i = 0; i < list->via.array.size; i++) {
    if (i)
      fputs(", ", out);
    put_field(out, &list->via.array.ptr[i]);
  }
}

static void pad(FILE *out, size_t have, size_t width) {
  for (; have < width; have++)
    fputc(' ', out);
}

/* "distribution version" of a backend. */
static void put_provider(FILE *out, const msgpack_object *b) {
  put_field(out, get(b, "distribution"));
  fputc(' ', out);
  put_field(out, get(b, "version"));
}

/* A backend's name; a refused one that could not be read has none: its entry point's name then. */
static const msgpack_object *name_of(const msgpack_object *b) {
  const msgpack_object *name = get(b, "name"), *ep = get(b, "entry_point");
  if ((name == NULL || name->type != MSGPACK_OBJECT_STR) && ep != NULL && ep->type == MSGPACK_OBJECT_STR)
    return ep;
  return name;
}

/*   fixture_accel  trusted    aliases fxa, fixture-fast  good-adapter 1.0  functions compute_score, normalize */
static void put_usable(FILE *out, const msgpack_object *b, size_t name_width) {
  const msgpack_object *trusted = get(b, "trusted"), *aliases = get(b, "aliases"), *functions = get(b, "functions");
  fputs("  ", out);
  pad(out, put_field(out, name_of(b)), name_width);
  fputs("  ", out);
  if (trusted != NULL && trusted->type == MSGPACK_OBJECT_BOOLEAN)
    fputs(trusted->via.boolean ? "trusted  " : "untrusted", out);
  else
    fputs(UNKNOWN "        ", out);
  if (aliases == NULL || aliases->type != MSGPACK_OBJECT_ARRAY || aliases->via.array.size > 0) {
    fputs("  aliases ", out);
    put_list(out, aliases);
  }
  fputs("  ", out);
  put_provider(out, b);
  if (functions != NULL && functions->type == MSGPACK_OBJECT_ARRAY && functions->via.array.size == 0) {
    fputs("  no functions\n", out);
    return;
  }
  fputs("  functions ", out);
  put_list(out, functions);
  fputc('\n', out);
}

/*   fixture_dup  other-dist 2.0: the name fixture_accel is taken by ... */
static void put_refused(FILE *out, const msgpack_object *b, size_t name_width) {
  fputs("  ", out);
  pad(out, put_field(out, name_of(b)), name_width);
  fputs("  ", out);
  put_provider(out, b);
  fputs(": ", out);
  put_field(out, get(b, "reason"));
  fputc('\n', out);
}

static size_t names_width(const msgpack_object *list) {
  size_t width = 0;
  for (uint32_t i = 0; i < array_size(list); i++) {
    size_t w = field_width(name_of(&list->via.array.ptr[i]));
    if (w > width)
      width = w;
  }
  return width < NAME_WIDTH_MAX ? width : NAME_WIDTH_MAX;
}

int ctl_print_backends(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *usable = get(result, "backends"), *refused = get(result, "refused");
  size_t width = names_width(usable), refused_width = names_width(refused);

  if (refused_width > width)
    width = refused_width;
  put_field(out, get(result, "host"));
  fputs(" (group ", out);
  put_field(out, get(result, "group"));
  fputs(", declared by ", out);
  put_field(out, get(result, "source"));
  fputs(")\n", out);
  if (array_size(usable) == 0)
    fputs(array_size(refused) ? "no usable backends\n" : "no backends installed\n", out);
  for (uint32_t i = 0; i < array_size(usable); i++)
    put_usable(out, &usable->via.array.ptr[i], width);
  if (array_size(refused) > 0)
    fputs("refused:\n", out);
  for (uint32_t i = 0; i < array_size(refused); i++)
    put_refused(out, &refused->via.array.ptr[i], width);
  return 0;
}

/* The signature line, a blank line, then the doc exactly as the daemon sent it. */
int ctl_print_describe(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *doc = get(result, "doc");

  put_field(out, get(result, "signature"));
  fputs("\n\n", out);
  if (doc != NULL && doc->type == MSGPACK_OBJECT_STR)
    fwrite(doc->via.str.ptr, 1, doc->via.str.size, out);
  else
    fputs(UNKNOWN "\n", out);
  return 0;
}
