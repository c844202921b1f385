/*
 * Fixture: an adapter whose loading is slow (create() takes SLOW_LOAD_MS), thread safe.
 * compute_score answers [instances created, calls made] so far, this call included, so a
 * test sees that the code was created once and which queued calls ran. summarize names a
 * lazy library that does not exist: its load fails, after the slow create().
 */
#include <time.h>

#include <backend/plugin.h>

#define SLOW_LOAD_MS 1000

static int creates, calls;

static void *create(void) {
  struct timespec ts = {SLOW_LOAD_MS / 1000, (SLOW_LOAD_MS % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  __atomic_add_fetch(&creates, 1, __ATOMIC_SEQ_CST);
  return &creates;
}

static int compute_score(void *self, backend_call *call) {
  msgpack_packer *pk = backend_call_result(call);
  int n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
  (void)self;
  msgpack_pack_array(pk, 2);
  msgpack_pack_int(pk, __atomic_load_n(&creates, __ATOMIC_SEQ_CST));
  msgpack_pack_int(pk, n);
  return 0;
}

static const struct backend_param params[] = {{"data", BACKEND_PARAM_POSITIONAL, NULL}, {NULL, 0, NULL}};

static const struct backend_function functions[] = {
    {.name = "compute_score", .params = params, .doc = "Count.\n", .impl = compute_score},
    {.name = "summarize", .params = params, .doc = "Never loads.\n", .lazy_library = "no_such_impl.so"},
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_slow",
    .aliases = BACKEND_LIST("fxw"),
    .functions = functions,
    .create = create,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
