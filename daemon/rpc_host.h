/* host.declare: a host library declares itself for its connection (doc/backends.md). */
#ifndef BACKENDD_RPC_HOST_H
#define BACKENDD_RPC_HOST_H

struct daemon;

int rpc_host_register(struct daemon *d);

#endif
