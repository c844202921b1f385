/*
 * Reading a call's arguments (backend_call_arg). Each helper either succeeds or records
 * a clear message with backend_call_fail and returns its negative value, so that a function
 * can `return err;`.
 */
#ifndef EXAMPLE_ACCEL_ARGS_H
#define EXAMPLE_ACCEL_ARGS_H

#include <stddef.h>

#include <backend/plugin.h>

/* A float32 vector: data points into the call or, when it was unaligned, at owned. */
struct ea_floats {
  const float *data;
  size_t n;
  float *owned; /* free() it */
};

/* "data" as a one-dimensional float32 ndarray. */
int ea_arg_floats(backend_call *call, struct ea_floats *out);

/* "method": its index in choices (NULL-terminated). */
int ea_arg_choice(backend_call *call, const char *name, const char *const *choices);

/* "batch_size": None (0: choose) or a positive integer. */
int ea_arg_batch_size(backend_call *call, size_t *out);

/* A boolean parameter (None counts as false). */
int ea_arg_bool(backend_call *call, const char *name, int *out);

#endif
