/*
 * Gathering the supported configs of several namespaces for one request: static answers
 * from variants_ensure_static, dynamic ones from their plugins (with the request's known
 * properties of their namespace) in one worker job. Used by variant.configs and
 * variant.resolve.
 */
#ifndef BACKENDD_VGATHER_H
#define BACKENDD_VGATHER_H

#include <stddef.h>

#include "variants.h"

struct request;

struct vgather_item {
  struct vnamespace *entry;
  const struct vprop *known; /* for a dynamic provider: the properties of its namespace */
  size_t n_known;
  struct vconfigs dynamic;   /* a dynamic provider's answer */
  char *error;               /* why this item has no answer (beyond a static provider's own failure) */
};

struct vgather {
  struct request *req;
  struct vtable *table;
  struct vgather_item *items;
  size_t n;
  int waiting;
  void (*finish)(struct vgather *g); /* on the loop, once every answer is in; frees nothing */
  void *data;
};

/* Sets up g for req on the current variant table (taking a reference that the caller drops). */
void vgather_init(struct vgather *g, struct request *req, void (*finish)(struct vgather *g), void *data);

/* The answer for item i: its configs, or NULL with *why (static or dynamic failure). */
const struct vconfigs *vgather_configs(const struct vgather *g, size_t i, const char **why);

/* Starts gathering; g->finish runs exactly once, when done (possibly before this returns). */
void vgather_start(struct vgather *g);

/* Frees the items' answers and the items array (not g itself, not the known properties). */
void vgather_clear(struct vgather *g);

#endif
