/* backendctl plugins: distributions and their entry points, one line each, with state and reason. */
#include "ctl-print.h"

#include <string.h>

#include "message.h"

static const msgpack_object *get(const msgpack_object *map, const char *key) { return proto_map_get(map, key); }

static void print_details(FILE *out, const msgpack_object *details) {
  const msgpack_object *backend = get(details, "backend"), *ns = get(details, "namespace"), *v;
  if (backend != NULL) {
    fprintf(out, "backend %.*s", CTL_STR(backend));
    if ((v = get(details, "aliases")) != NULL && v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size > 0) {
      fputs(" (aliases", out);
      for (uint32_t i = 0; i < v->via.array.size; i++)
        fprintf(out, "%s%.*s", i ? ", " : " ", CTL_STR(&v->via.array.ptr[i]));
      fputc(')', out);
    }
    if ((v = get(details, "functions")) != NULL && v->type == MSGPACK_OBJECT_ARRAY)
      fprintf(out, ", %u functions", v->via.array.size);
  } else if (ns != NULL) {
    v = get(details, "dynamic");
    fprintf(out, "namespace %.*s, %s", CTL_STR(ns),
            v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean ? "dynamic" : "static");
  }
}

static void print_entry_point(FILE *out, const msgpack_object *ep) {
  const msgpack_object *state = get(ep, "state"), *details = get(ep, "details");
  fprintf(out, "  %-8.*s %.*s: %.*s = %.*s\n", CTL_STR(state), CTL_STR(get(ep, "group")), CTL_STR(get(ep, "name")),
          CTL_STR(get(ep, "value")));
  fputs("           ", out);
  if (details != NULL && details->type == MSGPACK_OBJECT_MAP) {
    const msgpack_object *from = get(ep, "answer_from");
    print_details(out, details);
    if (from != NULL && from->type == MSGPACK_OBJECT_STR)
      fprintf(out, "; answer from %.*s", CTL_STR(from));
  } else
    fprintf(out, "%.*s", CTL_STR(get(ep, "reason")));
  fputc('\n', out);
}

int ctl_print_plugins(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  if (result->type != MSGPACK_OBJECT_ARRAY)
    return 0;
  if (result->via.array.size == 0)
    fputs("no distributions on the plugin path (backendctl info shows the path)\n", out);
  for (uint32_t i = 0; i < result->via.array.size; i++) {
    const msgpack_object *d = &result->via.array.ptr[i], *eps = get(d, "entry_points"), *state = get(d, "state");
    fprintf(out, "%.*s %.*s  %.*s\n", CTL_STR(get(d, "name")), CTL_STR(get(d, "version")), CTL_STR(get(d, "path")));
    if (state != NULL && !proto_str_eq(state, "ok"))
      fprintf(out, "  %-8.*s %.*s\n", CTL_STR(state), CTL_STR(get(d, "reason")));
    for (uint32_t j = 0; eps != NULL && eps->type == MSGPACK_OBJECT_ARRAY && j < eps->via.array.size; j++)
      print_entry_point(out, &eps->via.array.ptr[j]);
  }
  return 0;
}
