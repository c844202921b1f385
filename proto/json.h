/*
 * msgpack <-> JSON (jansson): msgpack -> JSON for backendctl --json and for rendering nested
 * values; JSON -> msgpack for documents passed as request parameters (backendctl resolve),
 * declaration files and signature defaults written as JSON text.
 */
#ifndef BACKENDD_PROTO_JSON_H
#define BACKENDD_PROTO_JSON_H

#include <jansson.h>
#include <msgpack.h>

/*
 * A new JSON value for o (NULL only when out of memory). str -> string (invalid UTF-8
 * replaced by U+FFFD), bin -> lowercase hex string, ext -> {"ext_type": n, "data": hex},
 * map keys that are not strings -> their compact JSON text, NaN/inf -> null,
 * integers beyond int64 -> real.
 */
json_t *proto_json_from_msgpack(const msgpack_object *o);

/*
 * Packs j: objects -> maps (keys in the object's order, which jansson keeps as inserted,
 * i.e. document order), arrays, strings (may hold NUL), integers, reals, true/false/null.
 * Returns 0, or -1 when the packer's writer fails (out of memory) or j is NULL.
 */
int proto_msgpack_from_json(json_t *j, msgpack_packer *pk);

#endif
