/*
 * Fixture: a well-formed backend adapter with a module entry point ("pkg.module": the
 * descriptor is exported under BACKEND_ADAPTER_SYMBOL). Name "fixture_accel", two aliases,
 * two functions with signatures and numpydoc, safe to call concurrently. compute_score echoes
 * the arguments it got; normalize scales an array of numbers by its largest magnitude.
 */
#include <math.h>
#include <string.h>

#include <backend/plugin.h>

#include "echo_args.h"

/*
 * Its method default ("quick") differs from the fixture host's ("fast"), so tests can tell
 * an omitted argument (the backend's default applies) from one passed at the host default.
 */
static const struct backend_param compute_score_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"quick\""},
    {"batch_size", BACKEND_PARAM_KEYWORD_ONLY, "null"},
    {"_trace", BACKEND_PARAM_KEYWORD_ONLY, "false"},
    {NULL, 0, NULL},
};

static const struct backend_param normalize_params[] = {
    {"data", BACKEND_PARAM_POSITIONAL, NULL},
    {NULL, 0, NULL},
};

/* Answers what it was given, so routing tests see exactly what arrived. */
static int compute_score(void *self, backend_call *call) {
  (void)self;
  return echo_args(call, compute_score_params);
}

/* data / max |data|, over an array of numbers. */
static int normalize(void *self, backend_call *call) {
  const msgpack_object *data = backend_call_arg(call, "data");
  msgpack_packer *pk = backend_call_result(call);
  double max = 0;
  (void)self;
  if (data == NULL || data->type != MSGPACK_OBJECT_ARRAY)
    return backend_call_fail(call, "data must be an array of numbers");
  for (uint32_t i = 0; i < data->via.array.size; i++) {
    const msgpack_object *x = &data->via.array.ptr[i];
    double v = x->type == MSGPACK_OBJECT_FLOAT64 || x->type == MSGPACK_OBJECT_FLOAT32 ? x->via.f64
               : x->type == MSGPACK_OBJECT_POSITIVE_INTEGER                          ? (double)x->via.u64
               : x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER                          ? (double)x->via.i64
                                                                                     : NAN;
    if (isnan(v))
      return backend_call_fail(call, "data[%u] is not a number", i);
    if ((v < 0 ? -v : v) > max)
      max = v < 0 ? -v : v;
  }
  msgpack_pack_array(pk, data->via.array.size);
  for (uint32_t i = 0; i < data->via.array.size; i++) {
    const msgpack_object *x = &data->via.array.ptr[i];
    double v = x->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (double)x->via.u64
               : x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)x->via.i64
                                                            : x->via.f64;
    msgpack_pack_double(pk, max > 0 ? v / max : 0);
  }
  return 0;
}

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
               "_trace\n"
               "    Internal: never shown in host docs.\n"
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
