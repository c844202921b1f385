/* backendctl configs / validate / build-setup / resolve, for people. */
#include "ctl-print.h"

#include "message.h"

static const msgpack_object *get(const msgpack_object *map, const char *key) { return proto_map_get(map, key); }

static uint32_t array_size(const msgpack_object *o) { return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0; }

/* x86_64 :: level :: v3, v2, v1 */
int ctl_print_configs(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *configs = get(result, "configs"), *errors = get(result, "errors");
  if (array_size(configs) == 0 && array_size(errors) == 0)
    fputs("no variant plugin answered (backendctl plugins lists them)\n", out);
  for (uint32_t i = 0; i < array_size(configs); i++) {
    const msgpack_object *c = &configs->via.array.ptr[i], *features = get(c, "features");
    if (array_size(features) == 0)
      fprintf(out, "%.*s: nothing supported on this machine\n", CTL_STR(get(c, "namespace")));
    for (uint32_t j = 0; j < array_size(features); j++) {
      const msgpack_object *f = &features->via.array.ptr[j], *values = get(f, "values");
      fprintf(out, "%.*s :: %.*s ::", CTL_STR(get(c, "namespace")), CTL_STR(get(f, "name")));
      for (uint32_t k = 0; k < array_size(values); k++)
        fprintf(out, "%s %.*s", k ? "," : "", CTL_STR(&values->via.array.ptr[k]));
      fputc('\n', out);
    }
  }
  for (uint32_t i = 0; i < array_size(errors); i++)
    fprintf(out, "error: %.*s\n", CTL_STR(&errors->via.array.ptr[i]));
  return 0;
}

int ctl_print_validate(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  for (uint32_t i = 0; i < array_size(result); i++) {
    const msgpack_object *v = &result->via.array.ptr[i], *valid = get(v, "valid");
    if (valid != NULL && valid->type == MSGPACK_OBJECT_BOOLEAN && valid->via.boolean)
      fprintf(out, "valid    %.*s\n", CTL_STR(get(v, "property")));
    else
      fprintf(out, "invalid  %.*s: %.*s\n", CTL_STR(get(v, "property")), CTL_STR(get(v, "reason")));
  }
  return 0;
}

/* NAME=value (a variable's values joined by spaces, as a shell would use them). */
int ctl_print_build_setup(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *vars = get(result, "variables");
  if (vars == NULL || vars->type != MSGPACK_OBJECT_MAP || vars->via.map.size == 0) {
    fputs("no build variables\n", out);
    return 0;
  }
  for (uint32_t i = 0; i < vars->via.map.size; i++) {
    const msgpack_object *values = &vars->via.map.ptr[i].val;
    fprintf(out, "%.*s=", CTL_STR(&vars->via.map.ptr[i].key));
    for (uint32_t j = 0; j < array_size(values); j++)
      fprintf(out, "%s%.*s", j ? " " : "", CTL_STR(&values->via.array.ptr[j]));
    fputc('\n', out);
  }
  return 0;
}

int ctl_print_resolve(FILE *out, const msgpack_object *result, const struct ctl_call *call) {
  const msgpack_object *supported = get(result, "supported"), *rejected = get(result, "rejected");
  fputs(array_size(supported) ? "supported, best first:\n" : "no variant is supported\n", out);
  for (uint32_t i = 0; i < array_size(supported); i++)
    fprintf(out, "  %u. %.*s\n", i + 1, CTL_STR(&supported->via.array.ptr[i]));
  if (array_size(rejected) > 0)
    fputs("rejected:\n", out);
  for (uint32_t i = 0; i < array_size(rejected); i++) {
    const msgpack_object *r = &rejected->via.array.ptr[i];
    fprintf(out, "  %.*s: %.*s\n", CTL_STR(get(r, "label")), CTL_STR(get(r, "reason")));
  }
  return 0;
}
