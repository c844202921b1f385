/*
 * Fixture: a backend adapter with an object entry point ("pkg.module:Backend") and instance
 * state: create() allocates it, destroy() frees it, the function updates it. Not thread
 * safe, so the daemon serialises its calls.
 */
#include <backend/plugin.h>
#include <errno.h>
#include <stdlib.h>

struct object_state {
  unsigned long calls;
};

static void *object_create(void) { return calloc(1, sizeof(struct object_state)); }

static void object_destroy(void *self) { free(self); }

/* Counts its calls in the instance and answers the count: the state lives across calls. */
static int compute_score(void *self, backend_call *call) {
  struct object_state *state = self;
  if (state == NULL)
    return backend_call_fail(call, "no instance: create() was not called");
  state->calls++;
  msgpack_pack_unsigned_long(backend_call_result(call), state->calls);
  return 0;
}

static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {NULL, 0, NULL},
};

static const struct backend_function functions[] = {
    {
        .name = "compute_score",
        .params = compute_score_params,
        .doc = "Compute a score with a stateful backend object.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data\n"
               "    Input data.\n"
               "method\n"
               "    Scoring method.\n",
        .impl = compute_score,
    },
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter Backend = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_object",
    .aliases = BACKEND_LIST("fxo"),
    .functions = functions,
    .flags = 0,
    .create = object_create,
    .destroy = object_destroy,
};
