/* backend_result: one zone holds every string and object a result points to. */
#include "host-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "message.h"

int host_result_new(const char *backend, int trusted, struct host_result **out) {
  struct host_result *r = calloc(1, sizeof *r);

  *out = NULL;
  if (!r)
    return -ENOMEM;
  /* Small: most results are a number or a short array; big values get their own chunk. */
  if (!msgpack_zone_init(&r->zone, 512)) {
    free(r);
    return -ENOMEM;
  }
  r->pub.value.type = MSGPACK_OBJECT_NIL;
  r->pub.error_data.type = MSGPACK_OBJECT_NIL;
  r->pub.trusted = trusted;
  if (!(r->pub.backend = proto_zone_strndup(&r->zone, backend, strlen(backend)))) {
    backend_result_free(&r->pub);
    return -ENOMEM;
  }
  *out = r;
  return 0;
}

int host_result_fail(struct host_result *r, const char *code, const char *message) {
  r->pub.value.type = MSGPACK_OBJECT_NIL;
  if (!(r->pub.error_code = proto_zone_strndup(&r->zone, code, strlen(code))) ||
      !(r->pub.error_message = proto_zone_strndup(&r->zone, message, strlen(message))))
    return -ENOMEM;
  return BACKEND_ECALL;
}

int host_result_failf(struct host_result *r, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return host_result_fail(r, code, msg);
}

int host_result_take_value(struct host_result *r, char *data, size_t len) {
  int err;

  /* The unpacked strings point into data: the zone frees it with everything else. */
  if (!msgpack_zone_push_finalizer(&r->zone, free, data)) {
    free(data);
    return -ENOMEM;
  }
  err = proto_decode(data, len, &r->zone, &r->pub.value);
  if (err) {
    r->pub.value.type = MSGPACK_OBJECT_NIL;
    return err == PROTO_ENOMEM ? -ENOMEM : BACKEND_EINVAL;
  }
  return 0;
}

BACKEND_EXPORT void backend_result_free(backend_result *pub) {
  struct host_result *r;

  if (!pub)
    return;
  r = (struct host_result *)((char *)pub - offsetof(struct host_result, pub));
  msgpack_zone_destroy(&r->zone);
  free(r);
}
