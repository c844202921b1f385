/* The host declaration: its functions, their signatures and docs, whom it trusts (decl.c). */
#ifndef EXAMPLE_HOST_DECL_H
#define EXAMPLE_HOST_DECL_H

#include <backend/host.h>

extern const struct backend_host_decl eh_decl;

#endif
