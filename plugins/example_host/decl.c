/*
 * The declaration of example_host: the one source of its signatures and numpydoc. The
 * installed backend-host.json is generated from it at build time (example-host
 * --print-declaration), so the daemon knows the host before any host process connects.
 */
#include "decl.h"

#include "cpu.h"

static const struct backend_param score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
    {"n_jobs", BACKEND_PARAM_KEYWORD_ONLY, "null"}, /* host-only: a backend schedules its own work */
    {"copy", BACKEND_PARAM_KEYWORD_ONLY, "false"},
    {NULL, 0, NULL},
};

static const char score_doc[] =
    "Compute a score of a vector.\n"
    "\n"
    "Parameters\n"
    "----------\n"
    "data : float32 array, shape (n,)\n"
    "    The values. An empty array is an error: the score of no values is undefined.\n"
    "method : {'fast', 'exact', 'robust'}, default 'fast'\n"
    "    'fast': the mean of the squares, each square rounded to float32, summed in\n"
    "    float64. 'exact': the mean of the squares in float64 throughout, with\n"
    "    compensated summation. 'robust': the median of the absolute values (the mean of\n"
    "    the two middle ones for an even count).\n"
    "n_jobs : int or None, default None\n"
    "    Threads the host's own implementation may use for 'fast' and 'exact'; -1 means\n"
    "    every CPU, None one. Backends schedule their own work and do not take it.\n"
    "copy : bool, default False\n"
    "    Work on a copy of data. No method modifies data, so this never changes the\n"
    "    result; it is accepted for compatibility.\n"
    "\n"
    "Returns\n"
    "-------\n"
    "float\n"
    "    The score.\n";

static const struct backend_param normalize_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"zscore\""},
    {NULL, 0, NULL},
};

static const char normalize_doc[] =
    "Normalize a vector.\n"
    "\n"
    "Parameters\n"
    "----------\n"
    "data : float32 array, shape (n,)\n"
    "    The values; may be empty.\n"
    "method : {'zscore', 'minmax'}, default 'zscore'\n"
    "    'zscore': (x - mean) / std with the population standard deviation; all zeros\n"
    "    when std is 0 (a single value, or all equal). 'minmax': (x - min) / (max - min),\n"
    "    in [0, 1]; all zeros when max equals min. Computed in float64, rounded to float32.\n"
    "\n"
    "Returns\n"
    "-------\n"
    "float32 array, shape (n,)\n"
    "    The normalized values.\n";

static const struct backend_param summarize_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {NULL, 0, NULL},
};

static const char summarize_doc[] =
    "Summarize a vector.\n"
    "\n"
    "Parameters\n"
    "----------\n"
    "data : float32 array, shape (n,)\n"
    "    The values; may be empty.\n"
    "\n"
    "Returns\n"
    "-------\n"
    "dict\n"
    "    {'min', 'max', 'mean', 'std', 'count'}: the extremes, the mean, the population\n"
    "    standard deviation (float) and the number of values (int). For an empty array\n"
    "    count is 0 and the others are NaN.\n";

static const struct backend_host_function functions[] = {
    {"compute_score", score_params, score_doc, eh_cpu_compute_score},
    {"normalize", normalize_params, normalize_doc, eh_cpu_normalize},
    {"summarize", summarize_params, summarize_doc, eh_cpu_summarize},
    {NULL, NULL, NULL, NULL},
};

static const char *const accel_aliases[] = {"exa", NULL};
static const char *const accel_entrypoints[] = {"example_accel", NULL};
static const char *const accel_modules[] = {"example_accel", NULL};

static const struct backend_trusted trusted[] = {
    {
        .name = "example_accel",
        .aliases = accel_aliases,
        .package = "backendd-example-accel",
        .entrypoints = accel_entrypoints,
        .module_prefixes = accel_modules,
    },
    {.name = NULL},
};

static const struct backend_reserved reserved[] = {
    {"gpu", "too generic: name the accelerator, e.g. 'exa'"},
    {NULL, NULL},
};

const struct backend_host_decl eh_decl = {
    .name = "example_host",
    .functions = functions,
    .trusted = trusted,
    .reserved = reserved,
};
