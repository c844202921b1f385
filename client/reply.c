/* Turning one framed response into a self-contained backend_reply, and freeing it. */
#include "client-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "message.h"

/* Sized to the message so that small replies do not pay for msgpack's 8 KiB default. */
static size_t zone_chunk_size(size_t len) {
  size_t size = len * 2;
  if (size < 256)
    return 256;
  return size > 65536 ? 65536 : size;
}

/* Fills r->pub from the validated message m; returns 0, BACKEND_EPROTO or -ENOMEM. */
static int fill(struct client_reply *r, const struct proto_msg *m) {
  backend_reply *pub = &r->pub;
  struct proto_error e;

  pub->msgid = m->msgid;
  pub->error_data.type = MSGPACK_OBJECT_NIL;
  if (!m->error) {
    pub->status = 0;
    pub->result = *m->result;
    pub->error_code = NULL;
    pub->error_message = NULL;
    return 0;
  }
  if (proto_error_parse(m->error, &e) != 0)
    return BACKEND_EPROTO;
  pub->status = BACKEND_EREMOTE;
  pub->result.type = MSGPACK_OBJECT_NIL;
  pub->error_code = proto_zone_strndup(&r->zone, e.code, e.code_len);
  pub->error_message = proto_zone_strndup(&r->zone, e.message, e.message_len);
  if (!pub->error_code || !pub->error_message)
    return -ENOMEM;
  if (e.data)
    pub->error_data = *e.data;
  return 0;
}

int client_reply_build(const char *msg, size_t len, struct client_reply **out) {
  struct client_reply *r;
  struct proto_msg m;
  msgpack_object o;
  const char *why;
  int err;

  *out = NULL;
  r = malloc(sizeof *r + len);
  if (!r)
    return -ENOMEM;
  memcpy(r->data, msg, len);
  r->next = NULL;
  if (!msgpack_zone_init(&r->zone, zone_chunk_size(len))) {
    free(r);
    return -ENOMEM;
  }

  err = proto_decode(r->data, len, &r->zone, &o);
  if (err == 0)
    err = proto_msg_parse(&o, &m, &why);
  if (err == 0 && m.type == PROTO_NOTIFICATION) {
    backend_reply_free(&r->pub);
    return 0;
  }
  if (err == 0)
    err = m.type == PROTO_RESPONSE ? fill(r, &m) : BACKEND_EPROTO;
  else
    err = err == PROTO_ENOMEM ? -ENOMEM : BACKEND_EPROTO;
  if (err) {
    backend_reply_free(&r->pub);
    return err;
  }
  *out = r;
  return 0;
}

BACKEND_EXPORT void backend_reply_free(backend_reply *reply) {
  struct client_reply *r;

  if (!reply)
    return;
  r = (struct client_reply *)((char *)reply - offsetof(struct client_reply, pub));
  msgpack_zone_destroy(&r->zone);
  free(r);
}
