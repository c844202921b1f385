/*
 * Fixture: results of every shape a reply may or may not carry, and fallbacks with warnings.
 * Thread safe. compute_score's method picks the result, n its size: "deep" n nested arrays
 * (the innermost empty), "long" a str of n bytes, "bytes" a bin of n bytes, "many" an array of
 * n nils, "exact_warned" a warning and then not implemented (the host runs), anything else 42.
 * squeeze(bytes) tells
 * the malloc_shim fixture, when the daemon runs with it preloaded, to fail every allocation
 * of at least that many bytes (0: none); it answers the limit it set.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <backend/plugin.h>

static bool method_is(const msgpack_object *m, const char *s) {
  return m != NULL && m->type == MSGPACK_OBJECT_STR && m->via.str.size == strlen(s) &&
         memcmp(m->via.str.ptr, s, m->via.str.size) == 0;
}

static int pack_long(msgpack_packer *pk, uint64_t n, bool bin) {
  char *s = malloc(n > 0 ? n : 1);
  if (s == NULL)
    return -1;
  memset(s, 'x', n);
  if (bin)
    msgpack_pack_bin_with_body(pk, s, n);
  else
    msgpack_pack_str_with_body(pk, s, n);
  free(s);
  return 0;
}

static int compute_score(void *self, backend_call *call) {
  const msgpack_object *method = backend_call_arg(call, "method"), *n_arg = backend_call_arg(call, "n");
  msgpack_packer *pk = backend_call_result(call);
  uint64_t n = n_arg != NULL && n_arg->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? n_arg->via.u64 : 0;
  (void)self;
  if (n > (uint64_t)64 << 20)
    return backend_call_fail(call, "n must be at most 64 Mi");
  if (method_is(method, "exact_warned")) {
    backend_call_warn(call, "a warning from fixture_shape");
    return backend_call_not_implemented(call, "fixture_shape has no exact method");
  }
  if (method_is(method, "deep")) {
    for (uint64_t i = 0; i < n; i++)
      msgpack_pack_array(pk, i + 1 < n ? 1 : 0);
    return 0;
  }
  if (method_is(method, "long") || method_is(method, "bytes"))
    return pack_long(pk, n, method_is(method, "bytes")) < 0 ? backend_call_fail(call, "out of memory") : 0;
  if (method_is(method, "many")) {
    msgpack_pack_array(pk, (uint32_t)n);
    for (uint64_t i = 0; i < n; i++)
      msgpack_pack_nil(pk);
    return 0;
  }
  msgpack_pack_int(pk, 42);
  return 0;
}

static int squeeze(void *self, backend_call *call) {
  const msgpack_object *bytes = backend_call_arg(call, "bytes");
  void *sym = dlsym(RTLD_DEFAULT, "malloc_shim_fail_from");
  void (*set)(size_t);
  (void)self;
  memcpy(&set, &sym, sizeof sym); /* POSIX: dlsym's result is the function's address */
  if (set == NULL)
    return backend_call_fail(call, "the daemon does not run with the malloc_shim fixture preloaded");
  if (bytes == NULL || bytes->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return backend_call_fail(call, "bytes must be a non-negative integer");
  set(bytes->via.u64 == 0 ? SIZE_MAX : (size_t)bytes->via.u64);
  msgpack_pack_uint64(backend_call_result(call), bytes->via.u64);
  return 0;
}

static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {"n", BACKEND_PARAM_KEYWORD_ONLY, "0"},
    {NULL, 0, NULL},
};

static const struct backend_param squeeze_params[] = {
    {"bytes", BACKEND_PARAM_POSITIONAL, NULL},
    {NULL, 0, NULL},
};

static const struct backend_function functions[] = {
    {.name = "compute_score", .params = compute_score_params, .doc = "Results of every shape.\n", .impl = compute_score},
    {.name = "squeeze", .params = squeeze_params, .doc = "Fail large allocations.\n", .impl = squeeze},
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_shape",
    .aliases = BACKEND_LIST("fxs"),
    .functions = functions,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
