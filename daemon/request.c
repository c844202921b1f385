#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "daemon.h"
#include "message.h"

const msgpack_object *request_param(const struct request *req, const char *name) {
  return proto_map_get(req->params, name);
}

int request_connected(const struct request *req) { return req->conn != NULL; }

/* Answers to a client that has gone are packed into nothing. */
static int discard_write(void *data, const char *buf, size_t len) { return 0; }
static msgpack_packer discard_packer = {NULL, discard_write};

static msgpack_packer *packer_for(struct request *req) {
  return req->conn != NULL ? conn_packer(req->conn) : &discard_packer;
}

static msgpack_packer *answer_begin(struct request *req) {
  return req->conn != NULL ? conn_answer_begin(req->conn) : &discard_packer;
}

msgpack_packer *request_reply_begin(struct request *req) {
  msgpack_packer *pk = answer_begin(req);
  proto_pack_response_begin(pk, req->msgid);
  return pk;
}

void request_reply_end(struct request *req) {
  if (req->failed)
    msgpack_pack_nil(packer_for(req)); /* the result of an error response */
  if (req->conn != NULL)
    conn_request_done(req->conn, req);
  request_discard(req);
}

void request_discard(struct request *req) {
  msgpack_zone_destroy(&req->zone);
  free(req->owned_bytes);
  free(req);
}

msgpack_packer *request_fail_begin(struct request *req, const char *code, const char *message) {
  msgpack_packer *pk = answer_begin(req);
  req->daemon->stats.errors++;
  req->failed = 1;
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint8(pk, 1);
  msgpack_pack_uint32(pk, req->msgid);
  msgpack_pack_map(pk, 3);
  proto_pack_cstr(pk, "code");
  proto_pack_cstr(pk, code);
  proto_pack_cstr(pk, "message");
  proto_pack_cstr(pk, message);
  proto_pack_cstr(pk, "data");
  return pk;
}

msgpack_packer *request_fail_beginv(struct request *req, const char *code, const char *fmt, va_list ap) {
  char message[1024];
  vsnprintf(message, sizeof message, fmt, ap);
  return request_fail_begin(req, code, message);
}

void request_fail(struct request *req, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  msgpack_pack_nil(request_fail_beginv(req, code, fmt, ap));
  va_end(ap);
  request_reply_end(req);
}
