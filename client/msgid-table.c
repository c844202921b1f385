/*
 * Open addressing with linear probing and backward-shift deletion (no tombstones).
 * Ids are placed by Fibonacci hashing: msgids are sequential, and the identity would pack
 * the outstanding ones into one long run that every deletion has to walk.
 */
#include "msgid-table.h"

#include <errno.h>
#include <stdlib.h>

#define MSGID_TABLE_MIN_CAPACITY 64u

void msgid_table_init(struct msgid_table *t) {
  t->slots = NULL;
  t->mask = 0;
  t->shift = 32;
  t->count = 0;
}

void msgid_table_free(struct msgid_table *t) {
  free(t->slots);
  msgid_table_init(t);
}

static size_t home(const struct msgid_table *t, uint32_t id) {
  return (uint32_t)(id * 2654435769u) >> t->shift; /* 2^32 / golden ratio */
}

/* Slot holding id, or the free slot where it would go. */
static size_t find(const struct msgid_table *t, uint32_t id) {
  size_t i = home(t, id);
  while (t->slots[i].state != MSGID_NONE && t->slots[i].id != id)
    i = (i + 1) & t->mask;
  return i;
}

static int grow(struct msgid_table *t) {
  size_t cap = t->slots ? (t->mask + 1) * 2 : MSGID_TABLE_MIN_CAPACITY;
  struct msgid_slot *old = t->slots;
  size_t old_cap = old ? t->mask + 1 : 0;

  t->slots = calloc(cap, sizeof *t->slots);
  if (!t->slots) {
    t->slots = old;
    return -ENOMEM;
  }
  t->mask = cap - 1;
  t->shift = 32;
  for (size_t c = cap; c > 1; c >>= 1)
    t->shift--;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].state != MSGID_NONE)
      t->slots[find(t, old[i].id)] = old[i];
  free(old);
  return 0;
}

int msgid_table_add(struct msgid_table *t, uint32_t id, enum msgid_state state) {
  /* Keep the load factor at most 1/2 so that probes stay short. */
  if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
    int err = grow(t);
    if (err)
      return err;
  }
  size_t i = find(t, id);
  if (t->slots[i].state != MSGID_NONE)
    return -EEXIST;
  t->slots[i].id = id;
  t->slots[i].state = (uint8_t)state;
  t->count++;
  return 0;
}

void msgid_table_set(struct msgid_table *t, uint32_t id, enum msgid_state state) {
  if (!t->slots)
    return;
  size_t i = find(t, id);
  if (t->slots[i].state != MSGID_NONE)
    t->slots[i].state = (uint8_t)state;
}

enum msgid_state msgid_table_take(struct msgid_table *t, uint32_t id) {
  if (!t->slots)
    return MSGID_NONE;
  size_t i = find(t, id);
  enum msgid_state state = t->slots[i].state;
  if (state == MSGID_NONE)
    return MSGID_NONE;
  t->count--;

  /* Backward shift: pull later entries of the probe run into the hole when their home
   * slot does not lie cyclically in (hole, their slot]. */
  for (size_t j = i;;) {
    j = (j + 1) & t->mask;
    if (t->slots[j].state == MSGID_NONE)
      break;
    size_t h = home(t, t->slots[j].id);
    int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (!stays) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i].state = MSGID_NONE;
  return state;
}
