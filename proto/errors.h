/* Error codes shared by daemon and client: negative ints inside the code, stable strings on the wire. */
#ifndef BACKENDD_PROTO_ERRORS_H
#define BACKENDD_PROTO_ERRORS_H

/* Decoder and validation results (negative, libuv convention). */
enum proto_err {
  PROTO_EPARSE = -4001,      /* bytes are not MessagePack */
  PROTO_ETOOBIG = -4002,     /* message larger than max_message_size */
  PROTO_EDEPTH = -4003,      /* nesting deeper than max_depth */
  PROTO_ESTRLEN = -4004,     /* a str longer than max_string_length */
  PROTO_EINVALID = -4005,    /* valid MessagePack, not a valid MessagePack-RPC message */
  PROTO_EPARAMS = -4006,     /* params not [] or [map] */
  PROTO_ENOMEM = -4007,
  PROTO_ETOOMANY = -4008,    /* more elements than max_elements */
};

/* Wire error codes: {"code": <one of these>, "message": ..., "data": ...}. Listed in doc/protocol.md. */
#define PROTO_CODE_PARSE_ERROR "Protocol.ParseError"
#define PROTO_CODE_INVALID_REQUEST "Protocol.InvalidRequest"
#define PROTO_CODE_INVALID_PARAMS "Protocol.InvalidParams"
#define PROTO_CODE_MESSAGE_TOO_LARGE "Protocol.MessageTooLarge"
#define PROTO_CODE_TOO_DEEP "Protocol.TooDeep"
#define PROTO_CODE_STRING_TOO_LONG "Protocol.StringTooLong"
#define PROTO_CODE_TOO_MANY_ELEMENTS "Protocol.TooManyElements"
#define PROTO_CODE_TOO_MANY_REQUESTS "Protocol.TooManyRequests"
#define PROTO_CODE_TOO_MANY_CONNECTIONS "Protocol.TooManyConnections"
#define PROTO_CODE_METHOD_NOT_FOUND "Method.NotFound"
#define PROTO_CODE_INTERNAL "Daemon.Internal"
/* Backend dispatch (doc/backends.md). */
#define PROTO_CODE_HOST_INVALID_DECLARATION "Host.InvalidDeclaration"
#define PROTO_CODE_HOST_UNKNOWN "Host.Unknown"
#define PROTO_CODE_HOST_UNKNOWN_FUNCTION "Host.UnknownFunction"
#define PROTO_CODE_HOST_CALL_FAILED "Host.CallFailed" /* the client library's: the host's own implementation failed */
#define PROTO_CODE_BACKEND_UNKNOWN "Backend.Unknown"
#define PROTO_CODE_BACKEND_NOT_INSTALLED "Backend.NotInstalled"
#define PROTO_CODE_BACKEND_RESERVED "Backend.Reserved"
#define PROTO_CODE_BACKEND_INVALID_ARGUMENTS "Backend.InvalidArguments"
#define PROTO_CODE_BACKEND_LOAD_FAILED "Backend.LoadFailed"
#define PROTO_CODE_BACKEND_CALL_FAILED "Backend.CallFailed"

/* One-line human description of a proto_err (or "unknown error"). */
const char *proto_strerror(int err);
/* Wire code for a proto_err, e.g. PROTO_ETOOBIG -> "Protocol.MessageTooLarge". */
const char *proto_err_code(int err);

#endif
