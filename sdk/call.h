/*
 * What one backend function call holds (include/backend/plugin.h, backend_call_*): the
 * arguments bound by name, the packed result, and what the function reported. The daemon
 * fills and reads it; plugins only see the opaque type.
 */
#ifndef BACKENDD_SDK_CALL_H
#define BACKENDD_SDK_CALL_H

#include <stddef.h>

#include "backend/plugin.h"

/* A function may add this many warnings; more are counted, not kept. */
#define BACKEND_CALL_MAX_WARNINGS 32

struct backend_call {
  const char *const *names;        /* the bound arguments, by parameter name */
  const msgpack_object *const *values;
  size_t n;
  msgpack_sbuffer result;
  msgpack_packer pk;
  char *error;                     /* backend_call_fail */
  char *not_implemented;           /* backend_call_not_implemented */
  char *warnings[BACKEND_CALL_MAX_WARNINGS];
  size_t n_warnings, dropped_warnings;
};

/* Daemon side (exported from libbackend-plugin, but not part of the plugin API). */
void backend_call_init(backend_call *call, const char *const *names, const msgpack_object *const *values, size_t n);
void backend_call_clear(backend_call *call);

#endif
