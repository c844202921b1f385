/* The variant.* methods: plugins, configs, validate, build_setup, resolve. */
#ifndef BACKENDD_RPC_VARIANT_H
#define BACKENDD_RPC_VARIANT_H

struct daemon;

int rpc_variant_register(struct daemon *d);

#endif
