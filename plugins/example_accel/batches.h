/*
 * Splitting one call's work: the array is cut into batches of batch_size values, and up to
 * ea_threads() threads (the calling one included) take batches until none is left. Each
 * batch writes its own partial result, which the caller combines in batch order, so results
 * do not depend on how the threads were scheduled.
 */
#ifndef EXAMPLE_ACCEL_BATCHES_H
#define EXAMPLE_ACCEL_BATCHES_H

#include <stddef.h>

struct ea_batches {
  size_t n;     /* values */
  size_t size;  /* values per batch (the last may have fewer) */
  size_t count; /* batches: 0 for no values */
};

/* Threads a call may use: the online CPUs, at most 8. */
size_t ea_threads(void);

/* Plans n values in batches of batch_size (0: chosen from n and ea_threads()). */
void ea_batches_plan(size_t n, size_t batch_size, struct ea_batches *b);

/* Runs fn(ctx, index, begin, end) once per batch. A thread that cannot be started leaves its
 * share to the others, so this cannot fail. */
typedef void (*ea_batch_fn)(void *ctx, size_t index, size_t begin, size_t end);
void ea_batches_run(const struct ea_batches *b, ea_batch_fn fn, void *ctx);

#endif
