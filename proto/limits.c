#include "limits.h"

void proto_limits_default(struct proto_limits *l) {
  l->max_message_size = PROTO_DEFAULT_MAX_MESSAGE_SIZE;
  l->max_depth = PROTO_DEFAULT_MAX_DEPTH;
  l->max_string_length = PROTO_DEFAULT_MAX_STRING_LENGTH;
  l->max_elements = PROTO_DEFAULT_MAX_ELEMENTS;
}
