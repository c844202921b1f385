/* The plugins.* methods: what every installed distribution and entry point is, and its state. */
#ifndef BACKENDD_RPC_PLUGINS_H
#define BACKENDD_RPC_PLUGINS_H

struct daemon;

int rpc_plugins_register(struct daemon *d);

#endif
