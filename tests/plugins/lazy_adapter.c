/*
 * Fixture: a lazy backend adapter. Its functions have no implementation here: they name
 * lazy_impl.so (next to this file), loaded on the first call only, so reading the adapter
 * loads no "heavy runtime". This module does not link against lazy_impl.so.
 */
#include <backend/plugin.h>

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
        .doc = "Compute a score, loading the implementation on first use.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data\n"
               "    Input data.\n"
               "method\n"
               "    Scoring method.\n"
               "batch_size\n"
               "    Rows per batch.\n",
        .impl = NULL,
        .lazy_library = "lazy_impl.so",
        .lazy_symbol = NULL, /* the default: the function's name, "compute_score" */
    },
    {
        .name = "normalize",
        .params = normalize_params,
        .doc = "Normalize data, loading the implementation on first use.\n"
               "\n"
               "Parameters\n"
               "----------\n"
               "data\n"
               "    Input data.\n",
        .impl = NULL,
        .lazy_library = "lazy_impl.so",
        .lazy_symbol = "fixture_lazy_normalize",
    },
    {.name = NULL},
};

BACKEND_PLUGIN_EXPORT const struct backend_adapter backend_adapter = {
    .magic = BACKEND_ADAPTER_MAGIC,
    .abi_version = BACKEND_PLUGIN_ABI_VERSION,
    .name = "fixture_lazy",
    .aliases = BACKEND_LIST("fxl"),
    .functions = functions,
    .flags = BACKEND_ADAPTER_THREAD_SAFE,
};
