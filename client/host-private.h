/* Internals of the host side of backend dispatch (<backend/host.h>), shared by client/host*.c. */
#ifndef BACKEND_HOST_PRIVATE_H
#define BACKEND_HOST_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "backend/host.h"
#include "client-private.h"
#include "hostdecl.h"
#include "signature.h"

#define HOST_CPU "cpu"

/* One declared function, copied from the caller's declaration. */
struct host_fn {
  char *name;
  char *doc;
  struct sig_param *params; /* names malloc'd; defaults in the host's zone */
  size_t n_params;
  struct sig sig;           /* over params, for sig_bind */
  bool var_keyword;         /* takes **kwargs: extra keywords are its own */
  backend_host_impl impl;
};

struct backend_host {
  char *name;
  char *group;         /* NULL: the daemon's default, "<name>.backends" */
  char *env_var;
  char *socket_path;   /* NULL: backend_default_socket() when connecting */
  void *user;
  struct host_fn *fns; /* declaration order */
  struct host_fn **by_name; /* sorted, for lookups */
  size_t n_fns;
  msgpack_zone zone;   /* the defaults, unpacked */
  msgpack_sbuffer decl; /* the host.declare parameter map, packed once */

  pthread_mutex_t lock; /* guards current: held briefly, never across a round trip */
  char current[HOSTDECL_BACKEND_NAME_MAX + 1];
  pthread_mutex_t conn_lock; /* guards the connection: held for a whole round trip */
  backend_client *client;    /* NULL until needed, and after the connection broke */
  bool declared;             /* host.declare answered on this client */
};

/* ---- host-check.c ---- */

/* Checks a declaration as the daemon's host.declare would. Returns 0 or BACKEND_EINVAL with why. */
int host_check_decl(const struct backend_host_decl *d, char *why, size_t why_len);

/* ---- host.c ---- */

const struct host_fn *host_find_fn(const backend_host *h, const char *name);

/* ---- host-decl.c ---- */

/* Packs the host.declare parameter map into out (functions from h, trust from d). 0 or -ENOMEM. */
int host_decl_pack(const backend_host *h, const struct backend_host_decl *d, msgpack_sbuffer *out);

/* ---- host-conn.c ---- */

/*
 * Calls method on the host's daemon connection, connecting and declaring the host first
 * when needed (under the host's lock). Returns as backend_client_call; when the declaration
 * itself is refused, BACKEND_EREMOTE with that answer in *out.
 */
int host_rpc(backend_host *h, const char *method, const void *params, size_t params_len, int timeout_ms,
             backend_reply **out);
/* The same with the params map in pieces (client_call_parts): large arguments are copied once. */
int host_rpc_parts(backend_host *h, const char *method, const struct client_part *parts, size_t n_parts,
                   int timeout_ms, backend_reply **out);
/* Closes the daemon connection (backend_host_free). */
void host_conn_close(backend_host *h);

/* ---- host-result.c ---- */

/* A backend_result and the zone holding everything it points to. */
struct host_result {
  backend_result pub;
  msgpack_zone zone;
};

/* A new result for backend (copied) with a nil value and no error. 0 or -ENOMEM. */
int host_result_new(const char *backend, int trusted, struct host_result **out);
/* Sets the error (copied); returns BACKEND_ECALL, or -ENOMEM. */
int host_result_fail(struct host_result *r, const char *code, const char *message);
__attribute__((format(printf, 3, 4))) int host_result_failf(struct host_result *r, const char *code,
                                                             const char *fmt, ...);
/* Takes over a malloc'd buffer holding exactly one packed value as the result's value. */
int host_result_take_value(struct host_result *r, char *data, size_t len);

/* ---- host-args.c ---- */

/*
 * Runs fn's own implementation with args (an array or NULL) and kwargs (a map or NULL),
 * bound to its signature. strict: a keyword argument that is not fn's is an error (cpu
 * calls); otherwise it is a backend's and is ignored (fallback after the daemon accepted it).
 * Returns 0 with r's value set, BACKEND_ECALL with r's error set, or -ENOMEM.
 */
int host_run_impl(const backend_host *h, const struct host_fn *fn, const msgpack_object *args,
                  const msgpack_object *kwargs, bool strict, struct host_result *r);

#endif
