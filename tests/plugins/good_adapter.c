/*
 * Fixture: a well-formed backend adapter with a module entry point ("pkg.module": the
 * descriptor is exported under BACKEND_ADAPTER_SYMBOL). Name "fixture_accel", two aliases,
 * two functions with signatures and numpydoc, safe to call concurrently.
 */
#include <backend/plugin.h>

/*
 * The implementations. Reading arguments from `call` and writing a result needs the call
 * SDK, which arrives with backend dispatch; until then they accept the call and succeed.
 */
static int compute_score(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}

static int normalize(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}

static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {"batch_size", BACKEND_PARAM_KEYWORD_ONLY, "null"},
    {NULL, 0, NULL},
};

static const struct backend_param normalize_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {NULL, 0, NULL},
};

static const struct backend_function functions[] = {
    {
        .name = "compute_score",
        .params = compute_score_params,
        .doc = "Compute a score on the fixture accelerator.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data\n"
               "    Input data.\n"
               "method\n"
               "    Scoring method.\n"
               "batch_size\n"
               "    Number of rows per accelerator batch; None picks one from device memory.\n"
               "\n"
               "Returns\n"
               "-------\n"
               "float\n"
               "    The score.\n",
        .impl = compute_score,
    },
    {
        .name = "normalize",
        .params = normalize_params,
        .doc = "Normalize data on the fixture accelerator.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data\n"
               "    Input data.\n"
               "\n"
               "Returns\n"
               "-------\n"
               "array\n"
               "    The normalized data.\n",
        .impl = normalize,
    },
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_accel",
    .aliases = BACKEND_LIST("fxa", "fixture-fast"),
    .functions = functions,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
