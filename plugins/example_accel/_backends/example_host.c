/*
 * example_accel's adapter for example_host (entry point example_host.backends:
 * example_accel = example_accel._backends.example_host). It only describes: every function
 * is lazy, implemented in example_host_impl.so next to this module, which the daemon loads
 * on the first call. So listing backends loads no implementation code, and this module
 * needs no library at all.
 *
 * Implements compute_score ("fast", "exact"; "robust" is left to the host) and normalize,
 * not summarize: the host runs its own.
 */
#include <backend/plugin.h>

#define IMPL "example_host_impl.so"

static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {"batch_size", BACKEND_PARAM_KEYWORD_ONLY, "null"},
    {"copy", BACKEND_PARAM_KEYWORD_ONLY, "false"},
    {NULL, 0, NULL},
};

static const struct backend_param normalize_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"zscore\""},
    {"batch_size", BACKEND_PARAM_KEYWORD_ONLY, "null"},
    {NULL, 0, NULL},
};

#define BATCH_SIZE_DOC                                                                           \
  "batch_size : int or None, default None\n"                                                     \
  "    Values per batch: the unit of work a thread takes. None chooses from the array's\n"       \
  "    size and the number of CPUs (about four batches per thread, at least 32768 values).\n"    \
  "    Must be a positive integer; smaller batches spread small arrays over more threads.\n"

static const struct backend_function functions[] = {
    {
        .name = "compute_score",
        .params = compute_score_params,
        .doc = "Compute a score of a vector on example_accel.\n"
               "\n"
               "The array is cut into batches that up to 8 threads (one per CPU) take in turn;\n"
               "each batch runs a vectorised loop.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data : float32 array, shape (n,)\n"
               "    The values. An empty array is an error.\n"
               "method : {'fast', 'exact'}, default 'fast'\n"
               "    'fast': the mean of the squares, accumulated in float32 vector lanes over\n"
               "    blocks of 512 values and in float64 across blocks. 'exact': in float64\n"
               "    throughout. 'robust' is not implemented here: the host's implementation runs.\n" BATCH_SIZE_DOC
               "copy : bool, default False\n"
               "    Accepted for compatibility: the data is never modified.\n"
               "\n"
               "Returns\n"
               "-------\n"
               "float\n"
               "    The score.\n",
        .lazy_library = IMPL,
        .lazy_symbol = "example_accel_compute_score",
    },
    {
        .name = "normalize",
        .params = normalize_params,
        .doc = "Normalize a vector on example_accel.\n"
               "\n"
               "Statistics are summed per batch in float64 on up to 8 threads, then the values\n"
               "are mapped in batches.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data : float32 array, shape (n,)\n"
               "    The values; may be empty.\n"
               "method : {'zscore', 'minmax'}, default 'zscore'\n"
               "    As the host's: (x - mean) / std, or (x - min) / (max - min); all zeros when\n"
               "    the divisor is 0.\n" BATCH_SIZE_DOC
               "\n"
               "Returns\n"
               "-------\n"
               "float32 array, shape (n,)\n"
               "    The normalized values.\n",
        .lazy_library = IMPL,
        .lazy_symbol = "example_accel_normalize",
    },
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "example_accel",
    .aliases = BACKEND_LIST("exa", "example-accel"),
    .functions = functions,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
