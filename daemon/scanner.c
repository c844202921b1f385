#define _GNU_SOURCE
#include "scanner.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "backend/plugin.h"
#include "message.h"

/* Bounds on what is read from a descriptor: a plugin cannot make the answer unbounded. */
#define MAX_NAME 1024
#define MAX_DOC (64 * 1024)
#define MAX_ITEMS 1024

struct out {
  msgpack_sbuffer sb;
  msgpack_packer pk;
};

/* A descriptor string: packed when NUL-terminated within max, else nil (the daemon says why). */
static void pack_bounded(msgpack_packer *pk, const char *s, size_t max) {
  size_t n;
  if (s == NULL || (n = strnlen(s, max + 1)) > max)
    msgpack_pack_nil(pk);
  else
    msgpack_pack_str_with_body(pk, s, n);
}

/* aliases: an array of strings (empty when absent), or the string "not-a-list" when the magic is missing. */
static void pack_aliases(msgpack_packer *pk, const struct backend_str_list *l) {
  uint32_t magic;
  if (l == NULL) {
    msgpack_pack_array(pk, 0);
    return;
  }
  /* A scalar string passed as a list is not aligned: read its first bytes as bytes. */
  memcpy(&magic, l, sizeof magic);
  if (magic != BACKEND_LIST_MAGIC) {
    proto_pack_cstr(pk, "not-a-list");
    return;
  }
  msgpack_pack_array(pk, l->count > MAX_ITEMS ? MAX_ITEMS : l->count);
  for (uint32_t i = 0; i < l->count && i < MAX_ITEMS; i++)
    pack_bounded(pk, l->items[i], MAX_NAME);
}

static size_t count_params(const struct backend_param *p) {
  size_t n = 0;
  while (p != NULL && p[n].name != NULL && n < MAX_ITEMS)
    n++;
  return n;
}

static void pack_function(msgpack_packer *pk, const struct backend_function *f) {
  size_t n = count_params(f->params);
  msgpack_pack_map(pk, 6);
  proto_pack_cstr(pk, "name");
  pack_bounded(pk, f->name, MAX_NAME);
  proto_pack_cstr(pk, "doc");
  pack_bounded(pk, f->doc != NULL ? f->doc : "", MAX_DOC);
  proto_pack_cstr(pk, "params");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    msgpack_pack_map(pk, 3);
    proto_pack_cstr(pk, "name");
    pack_bounded(pk, f->params[i].name, MAX_NAME);
    proto_pack_cstr(pk, "kind");
    msgpack_pack_uint32(pk, f->params[i].kind);
    proto_pack_cstr(pk, "default");
    pack_bounded(pk, f->params[i].default_json, MAX_DOC);
  }
  proto_pack_cstr(pk, "impl");
  proto_pack_bool(pk, f->impl != NULL);
  proto_pack_cstr(pk, "lazy_library");
  pack_bounded(pk, f->lazy_library, MAX_NAME);
  proto_pack_cstr(pk, "lazy_symbol");
  pack_bounded(pk, f->lazy_symbol, MAX_NAME);
}

static void pack_adapter(msgpack_packer *pk, const struct backend_adapter *a) {
  size_t n = 0;
  while (a->functions != NULL && a->functions[n].name != NULL && n < MAX_ITEMS)
    n++;
  msgpack_pack_map(pk, 7);
  proto_pack_cstr(pk, "abi");
  msgpack_pack_uint32(pk, a->abi_version);
  proto_pack_cstr(pk, "name");
  pack_bounded(pk, a->name, MAX_NAME);
  proto_pack_cstr(pk, "aliases");
  pack_aliases(pk, a->aliases);
  proto_pack_cstr(pk, "flags");
  msgpack_pack_uint32(pk, a->flags);
  proto_pack_cstr(pk, "create");
  proto_pack_bool(pk, a->create != NULL);
  proto_pack_cstr(pk, "destroy");
  proto_pack_bool(pk, a->destroy != NULL);
  proto_pack_cstr(pk, "functions");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    pack_function(pk, &a->functions[i]);
}

static void pack_variant(msgpack_packer *pk, const struct variant_plugin *v) {
  msgpack_pack_map(pk, 9);
  proto_pack_cstr(pk, "abi");
  msgpack_pack_uint32(pk, v->abi_version);
  proto_pack_cstr(pk, "namespace");
  pack_bounded(pk, v->ns, MAX_NAME);
  proto_pack_cstr(pk, "dynamic");
  proto_pack_bool(pk, v->dynamic);
  proto_pack_cstr(pk, "create");
  proto_pack_bool(pk, v->create != NULL);
  proto_pack_cstr(pk, "destroy");
  proto_pack_bool(pk, v->destroy != NULL);
  proto_pack_cstr(pk, "get_supported_configs");
  proto_pack_bool(pk, v->get_supported_configs != NULL);
  proto_pack_cstr(pk, "validate_property");
  proto_pack_bool(pk, v->validate_property != NULL);
  proto_pack_cstr(pk, "get_build_setup");
  proto_pack_bool(pk, v->get_build_setup != NULL);
  proto_pack_cstr(pk, "get_fingerprint");
  proto_pack_bool(pk, v->get_fingerprint != NULL);
}

static int finish(struct out *o, int fd, int status) {
  size_t off = 0;
  while (off < o->sb.size) {
    ssize_t n = write(fd, o->sb.data + off, o->sb.size - off);
    if (n <= 0)
      return 1;
    off += (size_t)n;
  }
  msgpack_sbuffer_destroy(&o->sb);
  return status;
}

static int fail(struct out *o, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct out *o, int fd, const char *fmt, ...) {
  char why[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  msgpack_pack_map(&o->pk, 1);
  proto_pack_cstr(&o->pk, "error");
  proto_pack_cstr(&o->pk, why);
  return finish(o, fd, SCANNER_EXIT_LOAD_ERROR);
}

int scanner_main(int argc, char **argv) {
  struct out o;
  int fd;
  void *dl;
  const uint32_t *magic;
  int is_backend;
  if (argc != 5 || (strcmp(argv[2], "backend") != 0 && strcmp(argv[2], "variant") != 0)) {
    fprintf(stderr, "usage: backendd %s backend|variant FILE SYMBOL\n", SCANNER_FLAG);
    return 2;
  }
  is_backend = strcmp(argv[2], "backend") == 0;
  /* Our answer goes to the original stdout; anything the plugin prints goes to stderr. */
  if ((fd = dup(1)) < 0 || dup2(2, 1) < 0)
    return 1;
  msgpack_sbuffer_init(&o.sb);
  msgpack_packer_init(&o.pk, &o.sb, msgpack_sbuffer_write);
  if ((dl = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL)) == NULL)
    return fail(&o, fd, "cannot load: %s", dlerror());
  if ((magic = dlsym(dl, argv[4])) == NULL)
    return fail(&o, fd, "no exported symbol '%s' (a module entry point exports '%s')", argv[4],
                is_backend ? BACKEND_ADAPTER_SYMBOL : VARIANT_PLUGIN_SYMBOL);
  if (*magic != (is_backend ? BACKEND_ADAPTER_MAGIC : VARIANT_PLUGIN_MAGIC))
    return fail(&o, fd, "symbol '%s' is not a %s descriptor (wrong magic number 0x%08x)", argv[4],
                is_backend ? "struct backend_adapter" : "struct variant_plugin", *magic);
  /* abi_version is the second field of both descriptors; later fields mean what the ABI says. */
  if (magic[1] != BACKEND_PLUGIN_ABI_VERSION)
    return fail(&o, fd, "built for plugin ABI %u; this daemon speaks ABI %u (rebuild it against this backend-plugin)",
                magic[1], BACKEND_PLUGIN_ABI_VERSION);
  if (is_backend)
    pack_adapter(&o.pk, (const struct backend_adapter *)magic);
  else
    pack_variant(&o.pk, (const struct variant_plugin *)magic);
  return finish(&o, fd, 0);
}
