/* msgpack -> JSON (jansson) for backendctl --json and for rendering nested values. */
#ifndef BACKENDCTL_JSON_H
#define BACKENDCTL_JSON_H

#include <jansson.h>
#include <msgpack.h>

/*
 * A new JSON value for o (NULL only when out of memory). str -> string (invalid UTF-8
 * replaced by U+FFFD), bin -> lowercase hex string, ext -> {"ext_type": n, "data": hex},
 * map keys that are not strings -> their compact JSON text, NaN/inf -> null,
 * integers beyond int64 -> real.
 */
json_t *ctl_json_from_msgpack(const msgpack_object *o);

#endif
