/*
 * The msgids a handle is waiting for, and why: a set of uint32 keys with a small state,
 * sized for hundreds of thousands of pipelined requests.
 */
#ifndef BACKEND_CLIENT_MSGID_TABLE_H
#define BACKEND_CLIENT_MSGID_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum msgid_state {
  MSGID_NONE = 0,  /* not in the table */
  MSGID_ASYNC,     /* sent with backend_client_send(): the reply goes to the recv queue */
  MSGID_SYNC,      /* the backend_client_call() in progress */
  MSGID_ABANDONED, /* its call timed out: drop the reply when it comes */
};

struct msgid_slot {
  uint32_t id;
  uint8_t state; /* enum msgid_state; MSGID_NONE marks a free slot */
};

struct msgid_table {
  struct msgid_slot *slots;
  size_t mask;    /* capacity - 1 (capacity is a power of two, or 0 before the first add) */
  unsigned shift; /* 32 - log2(capacity): the hash keeps the top bits */
  size_t count;
};

void msgid_table_init(struct msgid_table *t);
void msgid_table_free(struct msgid_table *t);
/* Adds id with a state other than MSGID_NONE. Returns 0, -EEXIST or -ENOMEM. */
int msgid_table_add(struct msgid_table *t, uint32_t id, enum msgid_state state);
/* Changes the state of an id that is present. */
void msgid_table_set(struct msgid_table *t, uint32_t id, enum msgid_state state);
/* Removes id and returns the state it had (MSGID_NONE when absent). */
enum msgid_state msgid_table_take(struct msgid_table *t, uint32_t id);

#endif
