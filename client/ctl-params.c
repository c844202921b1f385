#include "ctl-params.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "message.h"

static void pack_str_list(msgpack_packer *pk, const char *key, int argc, char **argv) {
  proto_pack_cstr(pk, key);
  msgpack_pack_array(pk, (uint32_t)argc);
  for (int i = 0; i < argc; i++)
    proto_pack_cstr(pk, argv[i]);
}

int ctl_params_configs(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len) {
  if (argc == 0)
    return 0; /* every namespace */
  msgpack_pack_map(pk, 1);
  pack_str_list(pk, "namespaces", argc, argv);
  return 0;
}

int ctl_params_properties(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len) {
  msgpack_pack_map(pk, 1);
  pack_str_list(pk, "properties", argc, argv);
  return 0;
}

/* The document's keys that variant.resolve takes; the others ("providers", "$schema", ...) stay here. */
static const char *const resolve_keys[] = {"variants", "default-priorities"};

int ctl_params_resolve(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len) {
  json_error_t err;
  json_t *doc = json_load_file(argv[0], JSON_REJECT_DUPLICATES, &err);
  uint32_t n = 0;
  if (doc == NULL) {
    snprintf(why, why_len, "%s:%d:%d: %s", argv[0], err.line, err.column, err.text);
    return -1;
  }
  if (!json_is_object(doc)) {
    snprintf(why, why_len, "%s: the document must be a JSON object", argv[0]);
    json_decref(doc);
    return -1;
  }
  for (size_t i = 0; i < sizeof resolve_keys / sizeof resolve_keys[0]; i++)
    n += json_object_get(doc, resolve_keys[i]) != NULL;
  msgpack_pack_map(pk, n);
  for (size_t i = 0; i < sizeof resolve_keys / sizeof resolve_keys[0]; i++) {
    json_t *v = json_object_get(doc, resolve_keys[i]);
    if (v == NULL)
      continue;
    proto_pack_cstr(pk, resolve_keys[i]);
    if (proto_msgpack_from_json(v, pk) < 0) {
      snprintf(why, why_len, "%s: %s: cannot convert to MessagePack", argv[0], resolve_keys[i]);
      json_decref(doc);
      return -1;
    }
  }
  json_decref(doc);
  return 0;
}

int ctl_params_host(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len) {
  msgpack_pack_map(pk, 1);
  proto_pack_cstr(pk, "host");
  proto_pack_cstr(pk, argv[0]);
  return 0;
}

int ctl_params_describe(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len) {
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "host");
  proto_pack_cstr(pk, argv[0]);
  proto_pack_cstr(pk, "function");
  proto_pack_cstr(pk, argv[1]);
  return 0;
}
