/* backendctl's human-readable printers: one per command, plus the shared value formatting. */
#ifndef BACKENDCTL_PRINT_H
#define BACKENDCTL_PRINT_H

#include <stdio.h>

#include <msgpack.h>

/* What a printer may want to know about the call besides its result. */
struct ctl_call {
  const char *method;
  double elapsed_ms; /* round trip, as the client saw it */
};

/* A str object as the arguments of "%.*s": "" when absent or not a string. */
#define CTL_STR(o)                                                                                 \
  (int)((o) != NULL && (o)->type == MSGPACK_OBJECT_STR ? (o)->via.str.size : 0),                   \
      ((o) != NULL && (o)->type == MSGPACK_OBJECT_STR ? (o)->via.str.ptr : "")

/* Prints a result for humans. Returns 0 or -ENOMEM. */
typedef int ctl_printer(FILE *out, const msgpack_object *result, const struct ctl_call *call);

ctl_printer ctl_print_ping;    /* daemon.ping */
ctl_printer ctl_print_info;    /* daemon.info */
ctl_printer ctl_print_methods; /* daemon.methods */
ctl_printer ctl_print_reload;  /* daemon.reload */
ctl_printer ctl_print_plugins; /* plugins.list */
ctl_printer ctl_print_configs;     /* variant.configs */
ctl_printer ctl_print_validate;    /* variant.validate */
ctl_printer ctl_print_build_setup; /* variant.build_setup */
ctl_printer ctl_print_resolve;     /* variant.resolve */
ctl_printer ctl_print_backends;    /* backend.list */
ctl_printer ctl_print_describe;    /* backend.describe */

#endif
