/*
 * Reading a call's arguments in the CPU implementations (cpu.c): each helper checks one
 * argument's type and value and says what is wrong in the caller's terms.
 */
#ifndef EXAMPLE_HOST_CPU_ARGS_H
#define EXAMPLE_HOST_CPU_ARGS_H

#include <stddef.h>

#include <backend/host.h>

/* A float32 vector argument: data points into the call or, if it was unaligned, at owned. */
struct eh_floats {
  const float *data;
  size_t n;
  float *owned; /* free() it */
};

/* Parameter `name` as a one-dimensional float32 ndarray. Returns 0 or -EINVAL/-ENOMEM with why. */
int eh_arg_floats(const backend_args *a, const char *name, struct eh_floats *out, char *why, size_t why_len);

/* Parameter `name` as one of choices (NULL-terminated): its index, or -EINVAL with why. */
int eh_arg_choice(const backend_args *a, const char *name, const char *const *choices, char *why, size_t why_len);

/* n_jobs: None (0), -1 or a positive integer; -EINVAL with why otherwise. */
int eh_arg_n_jobs(const backend_args *a, int *out, char *why, size_t why_len);

/* Parameter `name` as a boolean (None counts as false); -EINVAL with why otherwise. */
int eh_arg_bool(const backend_args *a, const char *name, int *out, char *why, size_t why_len);

#endif
