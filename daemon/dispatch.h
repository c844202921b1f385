/*
 * Running one routed call of a backend function (backend.call, DESIGN §7): on a worker
 * thread; one at a time per adapter unless it is thread-safe (later calls wait on the loop
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
struct request;

/*
 * Runs function number fn of backend b with the arguments in *route (moved: the job owns it
 * from here, also on error) and answers req. first_warning (may be NULL) goes before the
 * others. Returns 0, or a negative error after which the caller still answers req.
 */
int dispatch_submit(struct request *req, const struct backend *b, size_t fn, struct route *route,
                    const char *first_warning);

/*
 * Answers req without running a backend function: the host's implementation must run
 * (fallback says why). Warnings are route's plus first_warning.
 */
void dispatch_reply_fallback(struct request *req, const char *backend, bool trusted, const char *fallback,
                             const char *first_warning, const struct route *route);

#endif
