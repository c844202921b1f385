#include "errors.h"

#include <stddef.h>

struct err_entry {
  int err;
  const char *text;
  const char *code;
};

static const struct err_entry err_table[] = {
  { PROTO_EPARSE, "message is not valid MessagePack", PROTO_CODE_PARSE_ERROR },
  { PROTO_ETOOBIG, "message larger than the size limit", PROTO_CODE_MESSAGE_TOO_LARGE },
  { PROTO_EDEPTH, "message nested deeper than the depth limit", PROTO_CODE_TOO_DEEP },
  { PROTO_ESTRLEN, "string longer than the length limit", PROTO_CODE_STRING_TOO_LONG },
  { PROTO_EINVALID, "not a valid MessagePack-RPC message", PROTO_CODE_INVALID_REQUEST },
  { PROTO_EPARAMS, "params must be [] or [map]", PROTO_CODE_INVALID_PARAMS },
  { PROTO_ENOMEM, "out of memory", PROTO_CODE_INTERNAL },
  { PROTO_ETOOMANY, "message holds more elements than the element limit", PROTO_CODE_TOO_MANY_ELEMENTS },
};

static const struct err_entry *err_find(int err) {
  for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
    if (err_table[i].err == err)
      return &err_table[i];
  return NULL;
}

const char *proto_strerror(int err) {
  const struct err_entry *e = err_find(err);
  return e ? e->text : "unknown error";
}

const char *proto_err_code(int err) {
  const struct err_entry *e = err_find(err);
  return e ? e->code : PROTO_CODE_INTERNAL;
}
