/* An out-of-tree host, built by tests/install-test.sh against the installed backend-client.pc.
 * Usage: host SOCKET. Pings the daemon, then asks for the "example" namespace's configs and
 * validates two of its properties, printing:
 *   pong VERSION
 *   example :: version :: v2, v1
 *   valid example :: version :: v1
 *   invalid example :: version :: v3
 * Exit status 0, or 1 with a message on stderr. */
#include <stdio.h>
#include <string.h>

#include <backend/client.h>

#define TIMEOUT_MS 10000

static const msgpack_object *get(const msgpack_object *map, const char *key) {
  if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

static const msgpack_object *item(const msgpack_object *array, uint32_t i) {
  return array != NULL && array->type == MSGPACK_OBJECT_ARRAY && i < array->via.array.size ? &array->via.array.ptr[i]
                                                                                           : NULL;
}

static int is_str(const msgpack_object *o) { return o != NULL && o->type == MSGPACK_OBJECT_STR; }

static int fail(const char *what, int err, backend_reply *r) {
  if (err == BACKEND_EREMOTE)
    fprintf(stderr, "host: %s: %s: %s\n", what, r->error_code, r->error_message);
  else
    fprintf(stderr, "host: %s: %s\n", what, err ? backend_strerror(err) : "unexpected answer");
  backend_reply_free(r);
  return 1;
}

static int ping(backend_client *c) {
  backend_reply *r = NULL;
  int err = backend_client_call(c, "daemon.ping", NULL, 0, TIMEOUT_MS, &r);
  const msgpack_object *pong, *version;
  if (err)
    return fail("daemon.ping", err, r);
  pong = get(&r->result, "pong");
  version = get(&r->result, "version");
  if (pong == NULL || pong->type != MSGPACK_OBJECT_BOOLEAN || !pong->via.boolean || !is_str(version))
    return fail("daemon.ping", 0, r);
  printf("pong %.*s\n", (int)version->via.str.size, version->via.str.ptr);
  backend_reply_free(r);
  return 0;
}

static int configs(backend_client *c) {
  static const char *const namespaces[] = {"example", NULL};
  backend_reply *r = NULL;
  int err = backend_variant_configs(c, namespaces, NULL, TIMEOUT_MS, &r);
  const msgpack_object *config, *ns, *feature, *name, *values, *v;
  if (err)
    return fail("variant.configs", err, r);
  config = item(get(&r->result, "configs"), 0);
  ns = get(config, "namespace");
  feature = item(get(config, "features"), 0);
  name = get(feature, "name");
  values = get(feature, "values");
  if (!is_str(ns) || !is_str(name) || item(values, 0) == NULL)
    return fail("variant.configs", 0, r);
  printf("%.*s :: %.*s ::", (int)ns->via.str.size, ns->via.str.ptr, (int)name->via.str.size, name->via.str.ptr);
  for (uint32_t i = 0; (v = item(values, i)) != NULL; i++) {
    if (!is_str(v))
      return fail("variant.configs", 0, r);
    printf("%s %.*s", i ? "," : "", (int)v->via.str.size, v->via.str.ptr);
  }
  putchar('\n');
  backend_reply_free(r);
  return 0;
}

static int validate(backend_client *c) {
  static const char *const properties[] = {"example :: version :: v1", "example :: version :: v3", NULL};
  backend_reply *r = NULL;
  int err = backend_variant_validate(c, properties, TIMEOUT_MS, &r);
  const msgpack_object *answer, *property, *valid;
  if (err)
    return fail("variant.validate", err, r);
  for (uint32_t i = 0; (answer = item(&r->result, i)) != NULL; i++) {
    property = get(answer, "property");
    valid = get(answer, "valid");
    if (!is_str(property) || valid == NULL || valid->type != MSGPACK_OBJECT_BOOLEAN)
      return fail("variant.validate", 0, r);
    printf("%s %.*s\n", valid->via.boolean ? "valid" : "invalid", (int)property->via.str.size, property->via.str.ptr);
  }
  backend_reply_free(r);
  return 0;
}

int main(int argc, char **argv) {
  backend_client *c;
  int err, status;
  if (argc != 2) {
    fprintf(stderr, "usage: host SOCKET\n");
    return 2;
  }
  if ((err = backend_client_connect(argv[1], &c)) != 0) {
    fprintf(stderr, "host: cannot connect to %s: %s\n", argv[1], backend_strerror(err));
    return 1;
  }
  status = ping(c) || configs(c) || validate(c);
  backend_client_free(c);
  return status;
}
