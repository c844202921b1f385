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

/* Prints a result for humans. Returns 0 or -ENOMEM. */
typedef int ctl_printer(FILE *out, const msgpack_object *result, const struct ctl_call *call);

ctl_printer ctl_print_ping;    /* daemon.ping */
ctl_printer ctl_print_info;    /* daemon.info */
ctl_printer ctl_print_methods; /* daemon.methods */
ctl_printer ctl_print_reload;  /* daemon.reload */
ctl_printer ctl_print_plugins; /* plugins.list */

#endif
