/*
 * backend.describe (daemon/describe.c): merging backend-only parameters into a host
 * function's signature and numpydoc. Functions are built by hand; every expected signature
 * and doc is written out whole.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <backend/param.h>

#include "describe.h"
#include "json.h"

#define POS BACKEND_PARAM_POSITIONAL
#define KW BACKEND_PARAM_KEYWORD_ONLY
#define VARPOS BACKEND_PARAM_VAR_POSITIONAL
#define VARKW BACKEND_PARAM_VAR_KEYWORD

/* ---- defaults: JSON text -> packed bytes -> unpacked msgpack object, kept per test -------- */

#define MAX_VALUES 32
static msgpack_sbuffer packed[MAX_VALUES];
static msgpack_unpacked unpacked[MAX_VALUES];
static size_t n_values;

static const msgpack_object *V(const char *json) {
  json_error_t jerr;
  json_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
  msgpack_packer pk;
  size_t i = n_values++;

  cr_assert_not_null(j, "%s: %s", json, jerr.text);
  cr_assert_lt(i, MAX_VALUES);
  msgpack_sbuffer_init(&packed[i]);
  msgpack_packer_init(&pk, &packed[i], msgpack_sbuffer_write);
  cr_assert_eq(proto_msgpack_from_json(j, &pk), 0);
  json_decref(j);
  msgpack_unpacked_init(&unpacked[i]);
  cr_assert_eq(msgpack_unpack_next(&unpacked[i], packed[i].data, packed[i].size, NULL), MSGPACK_UNPACK_SUCCESS);
  return &unpacked[i].data;
}

static void cleanup(void) {
  for (size_t i = 0; i < n_values; i++) {
    msgpack_unpacked_destroy(&unpacked[i]);
    msgpack_sbuffer_destroy(&packed[i]);
  }
  n_values = 0;
}

TestSuite(describe, .fini = cleanup);

/* ---- the functions -------------------------------------------------------------------- */

static const char HOST_DOC[] = "Compute a score.\n"
                               "\n"
                               "Parameters\n"
                               "----------\n"
                               "data\n"
                               "    Input data.\n"
                               "method\n"
                               "    Scoring method.\n"
                               "n_jobs\n"
                               "    Number of jobs.\n"
                               "copy\n"
                               "    Return a copy.\n"
                               "\n"
                               "Returns\n"
                               "-------\n"
                               "float\n"
                               "    The score.\n";

/* compute_score(data, *, method='fast', n_jobs=None, copy=False) */
static struct host_function host_fn(struct sig_param params[4], const char *doc) {
  params[0] = (struct sig_param){"data", POS, NULL};
  params[1] = (struct sig_param){"method", KW, V("\"fast\"")};
  params[2] = (struct sig_param){"n_jobs", KW, V("null")};
  params[3] = (struct sig_param){"copy", KW, V("false")};
  return (struct host_function){.name = "compute_score", .doc = (char *)doc, .params = params, .n_params = 4};
}

static char ACCEL_DOC[] = "Compute a score on the accelerator.\n"
                          "\n"
                          "Parameters\n"
                          "----------\n"
                          "data\n"
                          "    Input data.\n"
                          "batch_size : int, optional\n"
                          "    Backend batch size.\n"
                          "\n"
                          "    Larger is faster:\n"
                          "        more memory.\n"
                          "_internal\n"
                          "    Private knob.\n"
                          "\n"
                          "Returns\n"
                          "-------\n"
                          "float\n";

static struct plugin_param ACCEL_PARAMS[] = {
    {.name = "data", .kind = POS},
    {.name = "method", .kind = KW, .default_json = "\"fast\""},
    {.name = "batch_size", .kind = KW, .default_json = "null"},
    {.name = "_internal", .kind = KW, .default_json = "0"},
    {.name = "extra", .kind = VARPOS},
    {.name = "options", .kind = VARKW},
};
static struct plugin_function ACCEL_FN = {
    .name = "compute_score", .doc = ACCEL_DOC, .params = ACCEL_PARAMS, .n_params = 6};

static const char MERGED_END[] = "Compute a score.\n"
                                 "\n"
                                 "Parameters\n"
                                 "----------\n"
                                 "data\n"
                                 "    Input data.\n"
                                 "method\n"
                                 "    Scoring method.\n"
                                 "n_jobs\n"
                                 "    Number of jobs.\n"
                                 "copy\n"
                                 "    Return a copy.\n"
                                 "\n"
                                 "Returns\n"
                                 "-------\n"
                                 "float\n"
                                 "    The score.\n"
                                 "\n"
                                 "Other Parameters\n"
                                 "----------------\n"
                                 "batch_size (example_accel)\n"
                                 "    Backend batch size.\n"
                                 "\n"
                                 "    Larger is faster:\n"
                                 "        more memory.\n";

#define SIG "compute_score(data, *, method='fast', n_jobs=None, copy=False, batch_size=None)"

static void check_doc(const struct host_function *hf, const struct describe_provider *p, size_t n,
                      const char *want) {
  char *got = describe_doc(hf, p, n);

  cr_assert_not_null(got);
  cr_assert_str_eq(got, want);
  free(got);
}

static void check_sig(const struct host_function *hf, const struct describe_provider *p, size_t n,
                      const char *want) {
  char *got = describe_signature(hf, p, n);

  cr_assert_not_null(got);
  cr_assert_str_eq(got, want);
  free(got);
}

/* ---- docs ----------------------------------------------------------------------------- */

Test(describe, parameters_and_returns_get_other_parameters_at_the_end) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, HOST_DOC);
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}};

  check_sig(&hf, p, 1, SIG);
  check_doc(&hf, p, 1, MERGED_END);
}

Test(describe, no_backend_only_parameters_keeps_the_host_doc) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute a score.\n\n\n");
  struct plugin_param params[] = {{.name = "data", .kind = POS}, {.name = "_scratch", .kind = KW}};
  struct plugin_function fn = {.name = "compute_score", .doc = "", .params = params, .n_params = 2};
  struct describe_provider p[] = {{"plain", &fn}};

  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False)");
  check_doc(&hf, p, 1, "Compute a score.\n");
  check_sig(&hf, NULL, 0, "compute_score(data, *, method='fast', n_jobs=None, copy=False)");
  hf.doc = "";
  check_doc(&hf, NULL, 0, "");
}

Test(describe, new_section_goes_before_notes) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute a score.\n"
                                        "\n"
                                        "Parameters\n"
                                        "----------\n"
                                        "data\n"
                                        "    Input data.\n"
                                        "\n"
                                        "Returns\n"
                                        "-------\n"
                                        "float\n"
                                        "\n"
                                        "Notes\n"
                                        "-----\n"
                                        "Slow.\n");
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}};

  check_doc(&hf, p, 1,
            "Compute a score.\n"
            "\n"
            "Parameters\n"
            "----------\n"
            "data\n"
            "    Input data.\n"
            "\n"
            "Returns\n"
            "-------\n"
            "float\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "batch_size (example_accel)\n"
            "    Backend batch size.\n"
            "\n"
            "    Larger is faster:\n"
            "        more memory.\n"
            "\n"
            "Notes\n"
            "-----\n"
            "Slow.\n");
}

Test(describe, existing_other_parameters_get_the_entries_at_their_end) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute a score.\n"
                                        "\n"
                                        "Parameters\n"
                                        "----------\n"
                                        "data\n"
                                        "    Input data.\n"
                                        "\n"
                                        "Other Parameters\n"
                                        "----------------\n"
                                        "n_jobs : int\n"
                                        "    Number of jobs.\n"
                                        "\n"
                                        "Raises\n"
                                        "------\n"
                                        "ValueError\n"
                                        "    On bad data.\n");
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}};

  check_doc(&hf, p, 1,
            "Compute a score.\n"
            "\n"
            "Parameters\n"
            "----------\n"
            "data\n"
            "    Input data.\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "n_jobs : int\n"
            "    Number of jobs.\n"
            "batch_size (example_accel)\n"
            "    Backend batch size.\n"
            "\n"
            "    Larger is faster:\n"
            "        more memory.\n"
            "\n"
            "Raises\n"
            "------\n"
            "ValueError\n"
            "    On bad data.\n");
}

Test(describe, no_sections_appends_the_section_at_the_end) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute a score.\n\nLonger text.\n\n");
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}};

  check_doc(&hf, p, 1,
            "Compute a score.\n"
            "\n"
            "Longer text.\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "batch_size (example_accel)\n"
            "    Backend batch size.\n"
            "\n"
            "    Larger is faster:\n"
            "        more memory.\n");
  hf.doc = "";
  check_doc(&hf, p, 1,
            "Other Parameters\n"
            "----------------\n"
            "batch_size (example_accel)\n"
            "    Backend batch size.\n"
            "\n"
            "    Larger is faster:\n"
            "        more memory.\n");
}

Test(describe, indented_docstrings_keep_their_indentation) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute a score.\n"
                                        "\n"
                                        "    Parameters\n"
                                        "    ----------\n"
                                        "    data\n"
                                        "        Input data.\n"
                                        "\n"
                                        "    Notes\n"
                                        "    -----\n"
                                        "    Slow.\n"
                                        "    ");
  struct plugin_param params[] = {{.name = "tile", .kind = KW, .default_json = "[8, 8]"}};
  struct plugin_function fn = {.name = "compute_score",
                               .doc = "Accelerated.\n"
                                      "\n"
                                      "        Other Parameters\n"
                                      "        ----------------\n"
                                      "        tile : tuple of int\n"
                                      "            Tile shape,\n"
                                      "              in pixels.\n"
                                      "        ",
                               .params = params,
                               .n_params = 1};
  struct describe_provider p[] = {{"gpu_tiles", &fn}};

  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False, tile=[8, 8])");
  check_doc(&hf, p, 1,
            "Compute a score.\n"
            "\n"
            "    Parameters\n"
            "    ----------\n"
            "    data\n"
            "        Input data.\n"
            "\n"
            "    Other Parameters\n"
            "    ----------------\n"
            "    tile (gpu_tiles)\n"
            "        Tile shape,\n"
            "          in pixels.\n"
            "\n"
            "    Notes\n"
            "    -----\n"
            "    Slow.\n");
}

/* ---- providers ------------------------------------------------------------------------ */

Test(describe, providers_sharing_a_parameter_give_one_entry) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, HOST_DOC);
  /* a: batch_size without text, 4096 by default; b: batch_size with text, and tile */
  struct plugin_param a_params[] = {{.name = "data", .kind = POS},
                                    {.name = "batch_size", .kind = KW, .default_json = "4096"}};
  struct plugin_function a = {.name = "compute_score",
                              .doc = "A.\n\nParameters\n----------\ndata\n    Input.\n",
                              .params = a_params,
                              .n_params = 2};
  struct plugin_param b_params[] = {{.name = "tile", .kind = POS, .default_json = "\"auto\""},
                                    {.name = "batch_size", .kind = KW, .default_json = "1024"}};
  struct plugin_function b = {.name = "compute_score",
                              .doc = "B.\n\nParameters\n----------\nbatch_size : int\n    Rows per batch.\ntile\n"
                                     "    Tile mode.\n",
                              .params = b_params,
                              .n_params = 2};
  struct describe_provider p[] = {{"a", &a}, {"b", &b}};

  check_sig(&hf, p, 2,
            "compute_score(data, *, method='fast', n_jobs=None, copy=False, batch_size=4096, tile='auto')");
  check_doc(&hf, p, 2,
            "Compute a score.\n"
            "\n"
            "Parameters\n"
            "----------\n"
            "data\n"
            "    Input data.\n"
            "method\n"
            "    Scoring method.\n"
            "n_jobs\n"
            "    Number of jobs.\n"
            "copy\n"
            "    Return a copy.\n"
            "\n"
            "Returns\n"
            "-------\n"
            "float\n"
            "    The score.\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "batch_size (a, b)\n"
            "    Rows per batch.\n"
            "tile (b)\n"
            "    Tile mode.\n");
}

Test(describe, private_backend_parameters_are_left_out) {
  struct sig_param sp[5];
  struct host_function hf = host_fn(sp, "Compute.\n");
  struct plugin_param params[] = {{.name = "_internal", .kind = KW, .default_json = "0"},
                                  {.name = "_seed", .kind = POS}};
  struct plugin_function fn = {.name = "compute_score",
                               .doc = "Parameters\n----------\n_internal\n    Private.\n",
                               .params = params,
                               .n_params = 2};
  struct describe_provider p[] = {{"example_accel", &fn}};

  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False)");
  check_doc(&hf, p, 1, "Compute.\n");
  /* and a private host parameter is not shown either */
  sp[4] = (struct sig_param){"_trace", KW, V("false")};
  hf.n_params = 5;
  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False)");
}

Test(describe, entry_line_with_a_type) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute.\n");
  struct plugin_param params[] = {{.name = "block", .kind = KW, .default_json = "256"},
                                  {.name = "rows", .kind = KW, .default_json = "0.5"}};
  struct plugin_function fn = {.name = "compute_score",
                               .doc = "Parameters\n"
                                      "----------\n"
                                      "block : int\n"
                                      "    Block size.\n"
                                      "rows, cols : float\n"
                                      "    Fractions.\n",
                               .params = params,
                               .n_params = 2};
  struct describe_provider p[] = {{"blocky", &fn}};

  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False, block=256, rows=0.5)");
  check_doc(&hf, p, 1,
            "Compute.\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "block (blocky)\n"
            "    Block size.\n"
            "rows (blocky)\n"
            "    Fractions.\n");
}

Test(describe, missing_parameter_doc_gives_a_bare_entry) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, "Compute.\n");
  struct plugin_param params[] = {{.name = "device", .kind = KW}, {.name = "stream", .kind = POS}};
  struct plugin_function fn = {.name = "compute_score",
                               .doc = "Parameters\n----------\nstream\n\nReturns\n-------\nfloat\n",
                               .params = params,
                               .n_params = 2};
  struct describe_provider p[] = {{"cuda_accel", &fn}};

  check_sig(&hf, p, 1, "compute_score(data, *, method='fast', n_jobs=None, copy=False, device, stream)");
  check_doc(&hf, p, 1,
            "Compute.\n"
            "\n"
            "Other Parameters\n"
            "----------------\n"
            "device (cuda_accel)\n"
            "stream (cuda_accel)\n");
}

/* ---- signatures ----------------------------------------------------------------------- */

Test(describe, signature_markers) {
  struct sig_param sp[] = {{"data", POS, NULL}, {"kwargs", VARKW, NULL}};
  struct host_function hf = {.name = "f", .doc = "", .params = sp, .n_params = 2};
  struct plugin_param params[] = {{.name = "fast", .kind = KW, .default_json = "true"},
                                  {.name = "cfg", .kind = KW, .default_json = "{\"a\": [1, null]}"}};
  struct plugin_function fn = {.name = "f", .doc = "", .params = params, .n_params = 2};
  struct describe_provider p[] = {{"x", &fn}};

  check_sig(&hf, NULL, 0, "f(data, **kwargs)");
  check_sig(&hf, p, 1, "f(data, *, fast=True, cfg={'a': [1, None]}, **kwargs)");

  struct sig_param sp2[] = {{"data", POS, NULL}, {"args", VARPOS, NULL}, {"mode", KW, V("1")}};
  hf = (struct host_function){.name = "g", .doc = "", .params = sp2, .n_params = 3};
  check_sig(&hf, NULL, 0, "g(data, *args, mode=1)");
  check_sig(&hf, p, 1, "g(data, *args, mode=1, fast=True, cfg={'a': [1, None]})");
}

/* ---- determinism and the packed result ------------------------------------------------ */

Test(describe, same_input_same_bytes) {
  struct sig_param sp[4];
  struct host_function hf = host_fn(sp, HOST_DOC);
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}};
  struct host h = {.name = "example_host"};
  char *d1 = describe_doc(&hf, p, 1), *d2 = describe_doc(&hf, p, 1);
  char *s1 = describe_signature(&hf, p, 1), *s2 = describe_signature(&hf, p, 1);
  msgpack_sbuffer b1, b2;
  msgpack_packer pk1, pk2;

  cr_assert(d1 && d2 && s1 && s2);
  cr_assert_eq(strlen(d1), strlen(d2));
  cr_assert_eq(memcmp(d1, d2, strlen(d1) + 1), 0);
  cr_assert_eq(memcmp(s1, s2, strlen(s1) + 1), 0);
  cr_assert_str_eq(d1, MERGED_END);
  msgpack_sbuffer_init(&b1);
  msgpack_sbuffer_init(&b2);
  msgpack_packer_init(&pk1, &b1, msgpack_sbuffer_write);
  msgpack_packer_init(&pk2, &b2, msgpack_sbuffer_write);
  cr_assert_eq(describe_pack(&pk1, &h, &hf, p, 1), 0);
  cr_assert_eq(describe_pack(&pk2, &h, &hf, p, 1), 0);
  cr_assert_eq(b1.size, b2.size);
  cr_assert_eq(memcmp(b1.data, b2.data, b1.size), 0);
  msgpack_sbuffer_destroy(&b1);
  msgpack_sbuffer_destroy(&b2);
  free(d1);
  free(d2);
  free(s1);
  free(s2);
}

Test(describe, packed_result) {
  struct sig_param sp[6];
  struct host_function hf = host_fn(sp, HOST_DOC);
  struct plugin_param b_params[] = {{.name = "batch_size", .kind = KW, .default_json = "1024"},
                                    {.name = "device", .kind = KW}};
  struct plugin_function b = {.name = "compute_score", .doc = "", .params = b_params, .n_params = 2};
  struct describe_provider p[] = {{"example_accel", &ACCEL_FN}, {"zz_accel", &b}};
  struct host h = {.name = "example_host"};
  msgpack_sbuffer buf;
  msgpack_packer pk;
  msgpack_unpacked u;
  json_t *got;
  char *text;

  sp[4] = (struct sig_param){"options", VARKW, NULL};
  sp[5] = (struct sig_param){"_trace", KW, V("false")};
  hf.n_params = 6;
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  cr_assert_eq(describe_pack(&pk, &h, &hf, p, 2), 0);
  msgpack_unpacked_init(&u);
  cr_assert_eq(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
  got = proto_json_from_msgpack(&u.data);
  cr_assert_not_null(got);
  cr_assert_str_eq(json_string_value(json_object_get(got, "doc")),
                   "Compute a score.\n"
                   "\n"
                   "Parameters\n"
                   "----------\n"
                   "data\n"
                   "    Input data.\n"
                   "method\n"
                   "    Scoring method.\n"
                   "n_jobs\n"
                   "    Number of jobs.\n"
                   "copy\n"
                   "    Return a copy.\n"
                   "\n"
                   "Returns\n"
                   "-------\n"
                   "float\n"
                   "    The score.\n"
                   "\n"
                   "Other Parameters\n"
                   "----------------\n"
                   "batch_size (example_accel, zz_accel)\n"
                   "    Backend batch size.\n"
                   "\n"
                   "    Larger is faster:\n"
                   "        more memory.\n"
                   "device (zz_accel)\n");
  json_object_del(got, "doc");
  text = json_dumps(got, JSON_PRESERVE_ORDER | JSON_COMPACT);
  cr_assert_str_eq(
      text,
      "{\"host\":\"example_host\",\"function\":\"compute_score\","
      "\"signature\":\"compute_score(data, *, method='fast', n_jobs=None, copy=False, batch_size=None, device, "
      "**options)\","
      "\"parameters\":["
      "{\"name\":\"data\",\"kind\":\"positional\",\"default\":null,\"provider\":\"host\"},"
      "{\"name\":\"method\",\"kind\":\"keyword_only\",\"default\":\"'fast'\",\"provider\":\"host\"},"
      "{\"name\":\"n_jobs\",\"kind\":\"keyword_only\",\"default\":\"None\",\"provider\":\"host\"},"
      "{\"name\":\"copy\",\"kind\":\"keyword_only\",\"default\":\"False\",\"provider\":\"host\"},"
      "{\"name\":\"batch_size\",\"kind\":\"keyword_only\",\"default\":\"None\",\"provider\":\"example_accel, "
      "zz_accel\"},"
      "{\"name\":\"device\",\"kind\":\"keyword_only\",\"default\":null,\"provider\":\"zz_accel\"},"
      "{\"name\":\"options\",\"kind\":\"var_keyword\",\"default\":null,\"provider\":\"host\"}]}");
  free(text);
  json_decref(got);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&buf);
}
