#include "call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SDK_EXPORT __attribute__((visibility("default")))

/* Messages a plugin writes end up in answers and logs: bounded, whatever it passes. */
#define MESSAGE_MAX 4096

SDK_EXPORT void backend_call_init(backend_call *call, const char *const *names, const msgpack_object *const *values,
                                  size_t n) {
  memset(call, 0, sizeof *call);
  call->names = names;
  call->values = values;
  call->n = n;
  msgpack_sbuffer_init(&call->result);
  msgpack_packer_init(&call->pk, &call->result, msgpack_sbuffer_write);
}

SDK_EXPORT void backend_call_clear(backend_call *call) {
  msgpack_sbuffer_destroy(&call->result);
  free(call->error);
  free(call->not_implemented);
  for (size_t i = 0; i < call->n_warnings; i++)
    free(call->warnings[i]);
  memset(call, 0, sizeof *call);
}

SDK_EXPORT const msgpack_object *backend_call_arg(const backend_call *call, const char *name) {
  if (call == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < call->n; i++)
    if (strcmp(call->names[i], name) == 0)
      return call->values[i];
  return NULL;
}

SDK_EXPORT msgpack_packer *backend_call_result(backend_call *call) { return &call->pk; }

static char *vformat(const char *fmt, va_list ap) {
  char *s = malloc(MESSAGE_MAX);
  if (s != NULL && vsnprintf(s, MESSAGE_MAX, fmt != NULL ? fmt : "(no message)", ap) < 0)
    strcpy(s, "(unprintable message)");
  return s;
}

/* Keeps the first message: a function that reports twice most likely means the first. */
static void set_once(char **slot, const char *fmt, va_list ap) {
  if (*slot == NULL)
    *slot = vformat(fmt, ap);
}

SDK_EXPORT int backend_call_fail(backend_call *call, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_once(&call->error, fmt, ap);
  va_end(ap);
  return -EIO;
}

SDK_EXPORT int backend_call_not_implemented(backend_call *call, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_once(&call->not_implemented, fmt, ap);
  va_end(ap);
  return BACKEND_CALL_NOT_IMPLEMENTED;
}

SDK_EXPORT int backend_call_warn(backend_call *call, const char *fmt, ...) {
  va_list ap;
  char *w;
  if (call->n_warnings == BACKEND_CALL_MAX_WARNINGS) {
    call->dropped_warnings++;
    return 0;
  }
  va_start(ap, fmt);
  w = vformat(fmt, ap);
  va_end(ap);
  if (w == NULL)
    return -ENOMEM;
  call->warnings[call->n_warnings++] = w;
  return 0;
}
