/* The backend.* methods: a host's backends, its merged docs, and dispatching calls (doc/backends.md). */
#ifndef BACKENDD_RPC_BACKEND_H
#define BACKENDD_RPC_BACKEND_H

struct daemon;

int rpc_backend_register(struct daemon *d);

#endif
