/* The variant.* queries, with their parameters packed from NULL-terminated string lists. */
#include "client-private.h"

#include <string.h>

/* Appends "key": [items...] to a map being packed; items may be NULL (not packed then). */
static void pack_list(msgpack_packer *pk, const char *key, const char *const *items) {
  uint32_t n = 0;
  while (items[n] != NULL)
    n++;
  msgpack_pack_str_with_body(pk, key, strlen(key));
  msgpack_pack_array(pk, n);
  for (uint32_t i = 0; i < n; i++)
    msgpack_pack_str_with_body(pk, items[i], strlen(items[i]));
}

/* Calls method with {key1: list1, key2: list2}, leaving out NULL lists. */
static int call_with_lists(backend_client *c, const char *method, const char *key1, const char *const *list1,
                           const char *key2, const char *const *list2, int timeout_ms, backend_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int err;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, (uint32_t)((list1 != NULL) + (list2 != NULL)));
  if (list1 != NULL)
    pack_list(&pk, key1, list1);
  if (list2 != NULL)
    pack_list(&pk, key2, list2);
  err = backend_client_call(c, method, sb.data, sb.size, timeout_ms, out);
  msgpack_sbuffer_destroy(&sb);
  return err;
}

BACKEND_EXPORT int backend_variant_configs(backend_client *c, const char *const *namespaces,
                                           const char *const *known_properties, int timeout_ms,
                                           backend_reply **out) {
  return call_with_lists(c, "variant.configs", "namespaces", namespaces, "known_properties", known_properties,
                         timeout_ms, out);
}

BACKEND_EXPORT int backend_variant_validate(backend_client *c, const char *const *properties, int timeout_ms,
                                            backend_reply **out) {
  if (properties == NULL)
    return BACKEND_EINVAL;
  return call_with_lists(c, "variant.validate", "properties", properties, NULL, NULL, timeout_ms, out);
}

BACKEND_EXPORT int backend_variant_build_setup(backend_client *c, const char *const *properties, int timeout_ms,
                                               backend_reply **out) {
  if (properties == NULL)
    return BACKEND_EINVAL;
  return call_with_lists(c, "variant.build_setup", "properties", properties, NULL, NULL, timeout_ms, out);
}
