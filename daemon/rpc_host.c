#include "rpc_host.h"

#include <errno.h>
#include <stdio.h>

#include "conn.h"
#include "daemon.h"
#include "errors.h"
#include "host.h"
#include "hosts.h"
#include "message.h"
#include "request.h"
#include "router.h"

static void host_declare(struct request *req) {
  char source[64], why[512];
  struct host *h;
  msgpack_packer *pk;
  int err;
  if (req->conn == NULL) { /* the client has gone: nobody to declare for */
    request_fail(req, PROTO_CODE_INTERNAL, "connection closed");
    return;
  }
  snprintf(source, sizeof source, "client pid %d", (int)conn_pid(req->conn));
  if ((err = host_parse(req->params, source, &h, why, sizeof why)) < 0) {
    request_fail(req, err == -EINVAL ? PROTO_CODE_HOST_INVALID_DECLARATION : PROTO_CODE_INTERNAL, "%s", why);
    return;
  }
  if ((err = hosts_declare(req->daemon, req->conn, h)) < 0) {
    if (err == -E2BIG)
      request_fail(req, PROTO_CODE_HOST_INVALID_DECLARATION, "a connection may declare at most %d hosts",
                   HOSTS_PER_CONNECTION);
    else
      request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    host_unref(h);
    return;
  }
  pk = request_reply_begin(req);
  msgpack_pack_map(pk, 3);
  proto_pack_cstr(pk, "name");
  proto_pack_cstr(pk, h->name);
  proto_pack_cstr(pk, "group");
  proto_pack_cstr(pk, h->group);
  proto_pack_cstr(pk, "functions");
  msgpack_pack_array(pk, (uint32_t)h->n_functions);
  for (size_t i = 0; i < h->n_functions; i++)
    proto_pack_cstr(pk, h->functions[i].name);
  request_reply_end(req);
  host_unref(h);
}

static const struct method_param declare_params[] = {
  {"name", PARAM_STR, true, "the host's name"},
  {"group", PARAM_STR, false, "entry-point group of its backends (default <name>.backends)"},
  {"functions", PARAM_ARRAY, true, "[{name, params: [{name, kind, default?}], doc}]"},
  {"trusted", PARAM_MAP, false, "{backend: {package, aliases?, distributions?, entrypoints?, object_refs?, module_prefixes?}}"},
  {"reserved", PARAM_MAP, false, "{name: reason}"},
};

static const struct method host_methods[] = {
  {"host.declare", host_declare,
   "declare a host library for this connection: its functions with signatures and docs, trusted and reserved backends",
   declare_params, sizeof declare_params / sizeof declare_params[0]},
};

int rpc_host_register(struct daemon *d) { return router_add(&d->router, host_methods, 1); }
