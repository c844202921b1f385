/* backendctl: building a command's named parameters from its arguments. */
#ifndef BACKENDCTL_PARAMS_H
#define BACKENDCTL_PARAMS_H

#include <stddef.h>

#include <msgpack.h>

/*
 * Packs one map of named parameters (or nothing, for none) from argv[0..argc). Returns 0, or
 * -1 with a one-line reason in why.
 */
typedef int ctl_params(msgpack_packer *pk, int argc, char **argv, char *why, size_t why_len);

ctl_params ctl_params_configs;    /* [NS...] -> {namespaces} when any is given */
ctl_params ctl_params_properties; /* PROP... -> {properties} */
ctl_params ctl_params_resolve;    /* FILE (a *-variants.json) -> {variants, default-priorities} */
ctl_params ctl_params_host;       /* HOST -> {host} */
ctl_params ctl_params_describe;   /* HOST FUNCTION -> {host, function} */

#endif
