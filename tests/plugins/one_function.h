/*
 * For fixtures whose point is elsewhere (a bad name, a crash at load, ...): one valid
 * function, compute_score(data), so that only the fault under test is wrong.
 */
#ifndef BACKENDD_TEST_ONE_FUNCTION_H
#define BACKENDD_TEST_ONE_FUNCTION_H

#include <backend/plugin.h>

static int compute_score(void *self, backend_call *call) {
  (void)self;
  (void)call;
  return 0;
}

static const struct backend_param params[] = {{"data", BACKEND_PARAM_POSITIONAL, NULL}, {NULL, 0, NULL}};
static const struct backend_function functions[] = {
    {.name = "compute_score", .params = params, .doc = "Compute a score.\n", .impl = compute_score},
    {.name = NULL},
};

#endif
