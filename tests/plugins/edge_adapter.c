/*
 * Fixture: a backend adapter for the edges of dispatch. Not thread safe, so the daemon must
 * serialise its calls (sleep reports the most calls it ever saw at once). compute_score's
 * method picks the behaviour: "exact" is not implemented (the host runs), "boom" fails,
 * "warn" adds two warnings, "chatty" more warnings than a result keeps, "two_values" packs
 * two results, anything else answers 42.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <backend/plugin.h>

static int active, most_active; /* only touched under the daemon's serialisation */

static bool method_is(const msgpack_object *m, const char *s) {
  return m != NULL && m->type == MSGPACK_OBJECT_STR && m->via.str.size == strlen(s) &&
         memcmp(m->via.str.ptr, s, m->via.str.size) == 0;
}

static int compute_score(void *self, backend_call *call) {
  const msgpack_object *method = backend_call_arg(call, "method");
  msgpack_packer *pk = backend_call_result(call);
  (void)self;
  if (method_is(method, "exact"))
    return backend_call_not_implemented(call, "fixture_edge has no exact method");
  if (method_is(method, "boom"))
    return backend_call_fail(call, "the boom method always fails");
  if (method_is(method, "warn")) {
    backend_call_warn(call, "first warning from fixture_edge");
    backend_call_warn(call, "second warning from fixture_edge");
  }
  if (method_is(method, "chatty"))
    for (int i = 0; i < 100; i++)
      backend_call_warn(call, "warning %d", i);
  if (method_is(method, "two_values"))
    msgpack_pack_int(pk, 1);
  msgpack_pack_int(pk, 42);
  return 0;
}

/* Sleeps ms milliseconds; answers the most calls that were ever inside at once. */
static int sleep_ms(void *self, backend_call *call) {
  const msgpack_object *ms = backend_call_arg(call, "ms");
  struct timespec ts;
  int seen;
  (void)self;
  if (ms == NULL || ms->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ms->via.u64 > 60000)
    return backend_call_fail(call, "ms must be an integer from 0 to 60000");
  __atomic_add_fetch(&active, 1, __ATOMIC_SEQ_CST);
  seen = __atomic_load_n(&active, __ATOMIC_SEQ_CST);
  if (seen > __atomic_load_n(&most_active, __ATOMIC_SEQ_CST))
    __atomic_store_n(&most_active, seen, __ATOMIC_SEQ_CST);
  ts.tv_sec = (time_t)(ms->via.u64 / 1000);
  ts.tv_nsec = (long)(ms->via.u64 % 1000) * 1000000;
  nanosleep(&ts, NULL);
  __atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
  msgpack_pack_int(backend_call_result(call), __atomic_load_n(&most_active, __ATOMIC_SEQ_CST));
  return 0;
}

static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {NULL, 0, NULL},
};

static const struct backend_param sleep_params[] = {
    {"ms", BACKEND_PARAM_POSITIONAL, NULL},
    {NULL, 0, NULL},
};

static const struct backend_function functions[] = {
    {.name = "compute_score", .params = compute_score_params, .doc = "Edge cases of dispatch.\n", .impl = compute_score},
    {.name = "sleep", .params = sleep_params, .doc = "Sleep.\n", .impl = sleep_ms},
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_edge",
    .aliases = BACKEND_LIST("fxe"),
    .functions = functions,
    .flags = 0,
};
