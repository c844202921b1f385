/*
 * Routing one call to one backend function, by the table of spec/backends.md
 * (doc/backends.md, "Routing a call"): which arguments the backend gets, which are dropped
 * and with what warning, and which calls are refused.
 */
#ifndef BACKENDD_ROUTE_H
#define BACKENDD_ROUTE_H

#include <stddef.h>

#include <msgpack.h>

#include "signature.h"

struct host;
struct host_function;
struct plugin_function;

#define ROUTE_MAX_ARGS (2 * SIG_MAX_PARAMS)

/* What the backend function gets, by its own parameter names. */
struct route {
  const char *names[ROUTE_MAX_ARGS];
  const msgpack_object *values[ROUTE_MAX_ARGS]; /* point into the request or the defaults */
  size_t n;
  size_t n_forwarded; /* the first n_forwarded came from the caller; the rest are the backend's defaults */
  char *warnings[SIG_MAX_PARAMS];
  size_t n_warnings;
  char *owned[SIG_MAX_PARAMS]; /* names copied from the request (**kwargs backends) */
  size_t n_owned;
};

/*
 * Binds args (array or NULL) and kwargs (map or NULL) to the host function, then routes
 * them to the backend function bf of the backend called `backend`. With bf NULL the call
 * runs on the host's implementation (cpu, or a backend lacking the function): the arguments
 * are only checked against the host's signature.
 * Returns 0, -EINVAL with the reason in why (Backend.InvalidArguments), or -ENOMEM.
 * route_clear frees what *r holds, also after an error.
 */
int route_call(const struct host *h, const struct host_function *hf, const char *backend,
               const struct plugin_function *bf, const msgpack_object *args, const msgpack_object *kwargs,
               struct route *r, char *why, size_t why_len);
void route_clear(struct route *r);

#endif
