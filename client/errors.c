/* backend_strerror(): text for the library's own codes and for -errno. */
#define _GNU_SOURCE /* strerrordesc_np */
#include "client-private.h"

#include <string.h>

BACKEND_EXPORT const char *backend_strerror(int err) {
  const char *s = NULL;

  switch (err) {
  case 0:
    return "success";
  case BACKEND_EREMOTE:
    return "the daemon answered with an error";
  case BACKEND_EPROTO:
    return "invalid response from the daemon (protocol error)";
  case BACKEND_ECLOSED:
    return "the daemon closed the connection";
  case BACKEND_EINVAL:
    return "invalid argument";
  }
  if (err < 0) {
#ifdef __GLIBC__
    /* Unlike strerror(), never formats into a shared buffer: safe from any thread. */
    s = strerrordesc_np(-err);
#else
    s = strerror(-err);
#endif
  }
  return s ? s : "unknown error";
}
