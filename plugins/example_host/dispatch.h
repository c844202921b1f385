/*
 * What every typed function does (api.c): pack the array and the keyword arguments, call
 * through backend_host_call, hand the result's metadata to the caller or free it.
 */
#ifndef EXAMPLE_HOST_DISPATCH_H
#define EXAMPLE_HOST_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "example_host.h"

/* One keyword argument a typed function passes. */
struct eh_kwarg {
  const char *name;
  enum { EH_KW_STR, EH_KW_INT, EH_KW_BOOL } type;
  const char *s; /* EH_KW_STR */
  int64_t i;     /* EH_KW_INT, EH_KW_BOOL */
};

/*
 * Calls function(data, **kw, **call->kwargs) on h. call may be NULL. Returns as
 * backend_host_call; *out is the result when there is one (0 and BACKEND_ECALL), else NULL.
 */
int eh_dispatch(backend_host *h, const char *function, const float *data, size_t n, const struct eh_kwarg *kw,
                size_t n_kw, const struct example_host_call *call, backend_result **out);

/* Gives r to *call->info, or frees it when the caller did not ask; returns rc. */
int eh_finish(backend_result *r, int rc, const struct example_host_call *call);

#endif
