/*
 * The method table: wire name -> handler, with the named parameters each method takes.
 * Modules register their methods at start-up (router_add); the connection code only
 * calls router_dispatch, so new methods never touch the loop.
 */
#ifndef BACKENDD_ROUTER_H
#define BACKENDD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

struct request;

enum param_type { PARAM_ANY, PARAM_STR, PARAM_INT, PARAM_BOOL, PARAM_ARRAY, PARAM_MAP };

struct method_param {
  const char *name;
  enum param_type type;
  bool required;
  const char *doc;
};

/*
 * A handler must eventually answer the request exactly once (request_reply_* or
 * request_fail), on the loop thread, now or later. Parameters have been checked against
 * `params` before it runs: required ones are present and every one has its declared type.
 */
typedef void (*method_handler)(struct request *req);

struct method {
  const char *name; /* "domain.verb" */
  method_handler handler;
  const char *doc;  /* one line, for daemon.methods */
  const struct method_param *params; /* array of n_params */
  size_t n_params;
};

struct router {
  const struct method **methods; /* sorted by name */
  size_t n;
};

void router_init(struct router *r);
void router_free(struct router *r);

/* Registers n methods (static storage, at most 64 parameters each). Returns 0, -EEXIST for a
 * duplicate name, -E2BIG, or -ENOMEM. */
int router_add(struct router *r, const struct method *methods, size_t n);

const struct method *router_find(const struct router *r, const char *name, size_t len);

/*
 * Checks a request's named parameters (a map, or NULL for none) against m's table.
 * Returns 0, or -EINVAL with a one-line reason written into why.
 */
int router_check_params(const struct method *m, const msgpack_object *params, char *why, size_t why_len);

const char *param_type_name(enum param_type t);

#endif
