/* Batches over threads (batches.h). Threads are started per call: the daemon's worker
 * threads call us concurrently, and a pool shared by them would need its own scheduler. */
#include "batches.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 8
/* Below this many values per batch a thread costs more than the work it takes over. */
#define MIN_AUTO_BATCH 32768
/* Batches per thread when chosen automatically: some slack for threads that run slower. */
#define AUTO_BATCHES_PER_THREAD 4
#define BATCH_ROUNDING 4096

struct run {
  const struct ea_batches *b;
  ea_batch_fn fn;
  void *ctx;
  atomic_size_t next;
};

size_t ea_threads(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    return 1;
  return cpus < MAX_THREADS ? (size_t)cpus : MAX_THREADS;
}

void ea_batches_plan(size_t n, size_t batch_size, struct ea_batches *b) {
  size_t size = batch_size;
  if (size == 0) {
    size_t per = AUTO_BATCHES_PER_THREAD * ea_threads();
    size = (n + per - 1) / per;
    size = (size + BATCH_ROUNDING - 1) / BATCH_ROUNDING * BATCH_ROUNDING;
    if (size < MIN_AUTO_BATCH)
      size = MIN_AUTO_BATCH;
  }
  b->n = n;
  b->size = size;
  b->count = n / size + (n % size != 0);
}

static void *work(void *arg) {
  struct run *r = arg;
  size_t k;
  while ((k = atomic_fetch_add(&r->next, 1)) < r->b->count) {
    size_t begin = k * r->b->size, end = r->b->n - begin > r->b->size ? begin + r->b->size : r->b->n;
    r->fn(r->ctx, k, begin, end);
  }
  return NULL;
}

void ea_batches_run(const struct ea_batches *b, ea_batch_fn fn, void *ctx) {
  struct run r = {b, fn, ctx, 0};
  pthread_t threads[MAX_THREADS];
  size_t want = ea_threads(), started = 0;
  if (want > b->count)
    want = b->count;
  for (size_t t = 1; t < want; t++) /* the calling thread is the first worker */
    if (pthread_create(&threads[started], NULL, work, &r) == 0)
      started++;
  work(&r);
  for (size_t t = 0; t < started; t++)
    pthread_join(threads[t], NULL);
}
