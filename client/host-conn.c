/*
 * The host's daemon connection: made on first need, the host declared on it before its
 * first request (a declaration lives as long as the connection), dropped when it breaks so
 * that the next request reconnects and declares again. Guarded by the host's conn_lock.
 */
#include "host-private.h"

#include <errno.h>
#include <string.h>

/* Whether the connection is still good after err (a client handle is unusable after most errors). */
static bool usable_after(int err) {
  return err == 0 || err == BACKEND_EREMOTE || err == -ETIMEDOUT || err == BACKEND_EINVAL;
}

static void drop(backend_host *h) {
  backend_client_free(h->client);
  h->client = NULL;
  h->declared = false;
}

/* The daemon answers a request that breaks the protocol's limits, then closes the connection. */
static bool is_protocol_error(const char *code) {
  return code && strncmp(code, "Protocol.", 9) == 0;
}

/* Connects and declares as needed, by the deadline. A refused declaration: BACKEND_EREMOTE with its
 * answer in *out. */
static int ready(backend_host *h, int64_t deadline, backend_reply **out) {
  backend_reply *r;
  int err;

  if (!h->client &&
      (err = backend_client_connect_timeout(h->socket_path, client_remaining_ms(deadline), &h->client)) != 0) {
    h->client = NULL;
    return err;
  }
  if (h->declared)
    return 0;
  err = backend_client_call(h->client, "host.declare", h->decl.data, h->decl.size, client_remaining_ms(deadline), &r);
  if (err == BACKEND_EREMOTE)
    *out = r;
  else if (err == 0) {
    backend_reply_free(r);
    h->declared = true;
  }
  return err;
}

int host_rpc(backend_host *h, const char *method, const void *params, size_t params_len, int timeout_ms,
             backend_reply **out) {
  struct client_part part = {params, params_len};

  return host_rpc_parts(h, method, &part, params_len > 0 ? 1 : 0, timeout_ms, out);
}

int host_rpc_parts(backend_host *h, const char *method, const struct client_part *parts, size_t n_parts,
                   int timeout_ms, backend_reply **out) {
  int64_t deadline = client_deadline(timeout_ms); /* one timeout for connecting, declaring and calling */
  bool reused;
  int err;

  *out = NULL;
  pthread_mutex_lock(&h->conn_lock);
  do {
    reused = h->client != NULL && h->declared;
    err = ready(h, deadline, out);
    if (err == 0)
      err = client_call_parts(h->client, method, parts, n_parts, client_remaining_ms(deadline), out);
    if (usable_after(err) && !(err == BACKEND_EREMOTE && *out && is_protocol_error((*out)->error_code)))
      break;
    /* A daemon that restarted since the last call closed the connection: the request, not sent
     * at all, goes once more on a new one. (Looking first would cost a system call per call.) */
    reused = reused && err == BACKEND_ECLOSED && client_last_call_unsent(h->client);
    drop(h);
  } while (reused);
  pthread_mutex_unlock(&h->conn_lock);
  return err;
}

void host_conn_close(backend_host *h) {
  drop(h);
}
