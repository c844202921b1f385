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

/*
 * Most arguments one call binds (sig_bind): a value for each of the host function's
 * SIG_MAX_PARAMS parameters, and SIG_MAX_PARAMS keywords naming none of them. Each is
 * forwarded, dropped with at most one warning, or refused, so this also bounds the warnings
 * and the names copied for a **kwargs backend.
 */
#define ROUTE_MAX_CALL_ARGS (2 * SIG_MAX_PARAMS)
/* Most arguments a backend function gets: the call's, and its own defaults for the rest of its parameters. */
#define ROUTE_MAX_ARGS (ROUTE_MAX_CALL_ARGS + SIG_MAX_PARAMS)
/* A dropped value is shown in its warning cut to this many bytes (then "…"). */
#define ROUTE_MAX_SHOWN 200

/* What the backend function gets, by its own parameter names. */
struct route {
  const char *names[ROUTE_MAX_ARGS];
  const msgpack_object *values[ROUTE_MAX_ARGS]; /* point into the request or the defaults */
  size_t n;
  size_t n_forwarded; /* the first n_forwarded came from the caller; the rest are the backend's defaults */
  char *warnings[ROUTE_MAX_CALL_ARGS];
  size_t n_warnings;
  char *owned[ROUTE_MAX_CALL_ARGS]; /* names copied from the request (**kwargs backends) */
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
