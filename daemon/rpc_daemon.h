/* The daemon.* methods: ping, info, methods, reload. */
#ifndef BACKENDD_RPC_DAEMON_H
#define BACKENDD_RPC_DAEMON_H

struct daemon;

/* Registers daemon.* with the router. Returns 0 or a negative error. */
int rpc_daemon_register(struct daemon *d);

#endif
