/* Limits on what a peer may send, enforced while decoding (before memory is spent). */
#ifndef BACKENDD_PROTO_LIMITS_H
#define BACKENDD_PROTO_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* msgpack-c's unpacker keeps a fixed stack of 32 containers; deeper input cannot be decoded. */
#define PROTO_MAX_DEPTH_CEILING 32u

#define PROTO_DEFAULT_MAX_MESSAGE_SIZE ((size_t)128 << 20) /* 64 MiB arrays must fit (Dispatch issue) */
#define PROTO_DEFAULT_MAX_DEPTH 32u
#define PROTO_DEFAULT_MAX_STRING_LENGTH ((size_t)1 << 20)
/* msgpack-c spends 24 bytes per decoded element: 1 Mi elements is 24 MiB per message. */
#define PROTO_DEFAULT_MAX_ELEMENTS ((uint64_t)1 << 20)

struct proto_limits {
  size_t max_message_size;  /* bytes of one encoded message */
  unsigned max_depth;       /* nesting of arrays and maps; 1 = the message array itself */
  size_t max_string_length; /* bytes of one str value (bin and ext are bounded by message size) */
  uint64_t max_elements;    /* array elements and map keys and values in one message, all levels */
};

/* Fills *l with the defaults above. */
void proto_limits_default(struct proto_limits *l);

#endif
