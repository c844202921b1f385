/*
 * Running one routed call of a backend function (backend.call, DESIGN §7): on a worker
 * thread; one at a time per loaded adapter file unless it is thread-safe; a plugin's code
 * loaded by one worker while the other calls that need it wait (in both cases on the loop
 * thread, holding no worker); cancelled while queued or waiting if the client goes away; and
 * the answer every dispatched call gets (doc/protocol.md).
 */
#ifndef BACKENDD_DISPATCH_H
#define BACKENDD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "route.h"

struct backend;
struct host;
struct plugin;
struct request;

/*
 * Runs function number fn of backend b, one of host h's, with the arguments in *route
 * (moved: the job owns it from here, also on error) and answers req. An untrusted backend's
 * first answered call on the connection carries the first-use warning. Returns 0, or a
 * negative error after which the caller still answers req.
 */
int dispatch_submit(struct request *req, struct host *h, const struct backend *b, size_t fn, struct route *route);

/*
 * For an answer about to be sent on req's connection: the warning the first one about
 * untrusted backend `backend` (plugin p) of host h carries, naming who provides it, and the
 * connection counts as told. NULL when trusted, already told, or out of memory.
 */
char *dispatch_first_use_warning(struct request *req, const struct host *h, const char *backend, bool trusted,
                                 const struct plugin *p);

/*
 * Answers req with an error decided once the backend was selected: data is {backend: its
 * canonical name, trusted}, as a successful answer says them.
 */
void dispatch_fail(struct request *req, const char *backend, bool trusted, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));

/*
 * Answers req without running a backend function: the host's implementation must run
 * (fallback says why). Warnings are route's plus first_warning.
 */
void dispatch_reply_fallback(struct request *req, const char *backend, bool trusted, const char *fallback,
                             const char *first_warning, const struct route *route);

#endif
