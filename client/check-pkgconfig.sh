#!/bin/sh
# Builds and runs a program against backend-client.pc as a user of the library would (the
# uninstalled .pc of this build), and checks that the library exports nothing but its API.
# Usage: check-pkgconfig.sh BUILD_ROOT SANITIZE CC [CC_ARGS...]
set -eu
build_root=$1
sanitize=$2
shift 2

command -v pkg-config >/dev/null || { echo "pkg-config not found: skipped"; exit 77; }
export PKG_CONFIG_PATH="$build_root/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/consumer.c" <<'C'
#include <backend/client.h>
#include <backend/host.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A host function's cpu implementation: returns its argument. */
static int ident(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len) {
  (void)user, (void)why, (void)len;
  return msgpack_pack_object(out, *backend_args_get(a, "x"));
}

/* A host whose cpu calls run without any daemon. */
static int host_works(void) {
  static const struct backend_param params[] = {{"x", BACKEND_PARAM_POSITIONAL, "7"}, {NULL, 0, NULL}};
  static const struct backend_host_function fns[] = {{"ident", params, "", ident}, {NULL, NULL, NULL, NULL}};
  static const struct backend_host_decl decl = {.name = "consumer", .functions = fns};
  backend_host *h;
  backend_result *r;
  char why[256];
  int ok;
  if (backend_host_new(&decl, "/nonexistent/backendd.sock", &h, why, sizeof why) != 0)
    return 0;
  ok = backend_host_call(h, "ident", NULL, 0, NULL, 0, "cpu", -1, &r) == 0 && r->value.via.u64 == 7;
  backend_result_free(r);
  backend_host_free(h);
  return ok;
}

int main(void) {
  char path[256];
  backend_client *c;
  if (backend_default_socket(path, sizeof path) != 0)
    return 1;
  /* no daemon at this path: a clean error, not a crash */
  if (backend_client_connect("/nonexistent/backendd.sock", &c) != -ENOENT || c)
    return 1;
  if (!host_works())
    return 1;
  printf("%s\n", backend_strerror(BACKEND_ECLOSED));
  return strlen(backend_strerror(BACKEND_EPROTO)) > 0 ? 0 : 1;
}
C

flags=""
[ "$sanitize" = none ] || flags="-fsanitize=$sanitize"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
"$@" $flags -std=gnu11 -Wall -Wextra -Werror "$tmp/consumer.c" -o "$tmp/consumer" \
  $(pkg-config --cflags --libs backend-client)
LD_LIBRARY_PATH="$build_root/client${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/consumer"

# Hidden visibility: the proto codec linked into the library must not leak out.
lib="$build_root/client/libbackend-client.so"
extra=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -e '^backend_' -e '^_' || true)
if [ -n "$extra" ]; then
  echo "unexpected exported symbols in $lib:" >&2
  echo "$extra" >&2
  exit 1
fi
