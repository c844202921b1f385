/*
 * The bench adapter: backend "bench_noop" of host "bench_host", a module entry point that
 * bench-dispatch installs in a temporary plugin directory. Thread safe. noop() packs nil;
 * sum(data) answers the float64 sum of a float32 ndarray (real work over every byte sent).
 */
#include <backend/ndarray.h>
#include <backend/plugin.h>

#include "bench-adapter.h"

static int noop(void *self, backend_call *call) {
  (void)self;
  if (msgpack_pack_nil(backend_call_result(call)) != 0)
    return backend_call_fail(call, "out of memory");
  return 0;
}

static int sum(void *self, backend_call *call) {
  const msgpack_object *data = backend_call_arg(call, "data");
  struct backend_ndarray a;
  (void)self;
  if (data == NULL || backend_ndarray_parse(data, &a) < 0 || a.dtype != BACKEND_DTYPE_FLOAT32)
    return backend_call_fail(call, "data must be a float32 ndarray");
  if (msgpack_pack_double(backend_call_result(call), bench_sum_f32(&a)) != 0)
    return backend_call_fail(call, "out of memory");
  return 0;
}

static const struct backend_function functions[] = {
    {.name = "noop", .params = bench_noop_params, .doc = "Do nothing; answer None.\n", .impl = noop},
    {.name = "sum", .params = bench_sum_params, .doc = "The float64 sum of a float32 array.\n", .impl = sum},
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = BENCH_BACKEND,
    .aliases = NULL,
    .functions = functions,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
