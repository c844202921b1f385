#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP, CPU_COUNT */
#include "exec.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "request.h"

/*
 * How long an idle worker spins for the next job before it sleeps, and how long the loop
 * polls (epoll with a zero timeout) after queuing a job: for the job's answer, and then for
 * the client's next request, which a client calling back to back sends within a round trip.
 * Both windows cover a daemon.ping round trip with room to spare, so that such a client never
 * meets a sleeping thread: waking one costs more than the call itself where a sleeping
 * virtual CPU must be woken by the hypervisor. Both spin with sched_yield(), not a pause
 * instruction: on a machine with few CPUs the thread they wait for (the client, the worker)
 * may be queued on the spinner's own CPU, and in a VM a pause loop makes the hypervisor
 * deschedule the whole virtual CPU. Only dispatched calls start either window; a daemon
 * serving nothing else sleeps.
 */
#define WORKER_SPIN_NS 100000
#define LOOP_POLL_NS 100000
/* The loop polls only while this few jobs run: with more, answers come often enough. */
#define LOOP_POLL_MAX_RUNNING 2

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct exec_job {
  struct exec_job *prev, *next; /* in the queue, then in the done list */
  struct exec_pool *pool;
  struct request *req;
  exec_work_fn fn;
  exec_done_fn done;
  void *ctx;
  enum job_state state;
  int status;
};

struct job_list {
  struct exec_job *head, *tail;
};

struct exec_pool {
  pthread_mutex_t lock; /* the lists, the counters, stopping */
  pthread_cond_t wake;
  struct job_list queue, finished;
  atomic_size_t queued;   /* queue's length, for spinners to watch without the lock */
  atomic_size_t n_finished;
  atomic_bool loop_polling; /* the loop sees finished jobs without being woken */
  atomic_bool stopping;
  unsigned sleepers, spinners;
  bool spin;
  pthread_t *threads;
  unsigned n_threads;
  /* Loop thread only. */
  uv_loop_t *loop;
  uv_async_t async;
  uv_idle_t idle;
  size_t in_flight; /* submitted, done not yet run */
  uint64_t poll_until;
};

static void list_push(struct job_list *l, struct exec_job *j) {
  j->next = NULL;
  j->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = j;
  else
    l->head = j;
  l->tail = j;
}

static void list_remove(struct job_list *l, struct exec_job *j) {
  if (j->prev != NULL)
    j->prev->next = j->next;
  else
    l->head = j->next;
  if (j->next != NULL)
    j->next->prev = j->prev;
  else
    l->tail = j->prev;
}

/* Call with the lock held. */
static void finish(struct exec_pool *pool, struct exec_job *job, int status) {
  job->state = JOB_DONE;
  job->status = status;
  list_push(&pool->finished, job);
  atomic_fetch_add(&pool->n_finished, 1);
}

/* Worker, lock not held: a job ended; wake the loop unless it is polling anyway. */
static void tell_loop(struct exec_pool *pool) {
  /* Pairs with stop_polling(): it clears loop_polling, then looks at n_finished. */
  if (!atomic_load(&pool->loop_polling))
    uv_async_send(&pool->async);
}

/* Worker, lock not held: wait up to WORKER_SPIN_NS for work to be queued. */
static void spin_for_work(struct exec_pool *pool) {
  uint64_t deadline = uv_hrtime() + WORKER_SPIN_NS;
  while (atomic_load_explicit(&pool->queued, memory_order_relaxed) == 0 && !atomic_load(&pool->stopping) &&
         uv_hrtime() < deadline)
    sched_yield();
}

static void *worker(void *arg) {
  struct exec_pool *pool = arg;
  bool spun = false;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    struct exec_job *job = pool->queue.head;
    if (job == NULL) {
      if (atomic_load(&pool->stopping))
        break;
      if (pool->spin && !spun && pool->spinners == 0) { /* one spinner at a time is enough */
        pool->spinners++;
        pthread_mutex_unlock(&pool->lock);
        spin_for_work(pool);
        pthread_mutex_lock(&pool->lock);
        pool->spinners--;
        spun = true;
        continue;
      }
      pool->sleepers++;
      pthread_cond_wait(&pool->wake, &pool->lock);
      pool->sleepers--;
      spun = false;
      continue;
    }
    list_remove(&pool->queue, job);
    atomic_fetch_sub(&pool->queued, 1);
    job->state = JOB_RUNNING;
    if (pool->queue.head != NULL && pool->sleepers > 0)
      pthread_cond_signal(&pool->wake); /* more work than this thread: pass the word on */
    pthread_mutex_unlock(&pool->lock);
    job->fn(job->ctx);
    pthread_mutex_lock(&pool->lock);
    finish(pool, job, 0);
    pthread_mutex_unlock(&pool->lock);
    tell_loop(pool);
    pthread_mutex_lock(&pool->lock);
    spun = false;
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

/* Loop thread: run the done callbacks of every finished job. */
static void run_finished(struct exec_pool *pool) {
  struct exec_job *job, *next;
  if (atomic_load(&pool->n_finished) == 0)
    return;
  pthread_mutex_lock(&pool->lock);
  job = pool->finished.head;
  pool->finished = (struct job_list){NULL, NULL};
  atomic_store(&pool->n_finished, 0);
  pthread_mutex_unlock(&pool->lock);
  for (; job != NULL; job = next) {
    next = job->next;
    pool->in_flight--;
    if (job->req != NULL)
      job->req->cancel = NULL;
    job->done(job->ctx, job->status);
    free(job);
  }
  if (pool->in_flight == 0)
    uv_unref((uv_handle_t *)&pool->async);
}

static void stop_polling(struct exec_pool *pool) {
  uv_idle_stop(&pool->idle);
  atomic_store(&pool->loop_polling, false);
  run_finished(pool); /* jobs that finished while their workers saw the loop polling */
}

/* While polling, libuv runs this once per loop iteration instead of sleeping in epoll. */
static void on_idle(uv_idle_t *idle) {
  struct exec_pool *pool = idle->data;
  run_finished(pool);
  if (pool->in_flight > LOOP_POLL_MAX_RUNNING || uv_hrtime() > pool->poll_until)
    stop_polling(pool);
  else
    sched_yield();
}

static void start_polling(struct exec_pool *pool) {
  if (!pool->spin || pool->in_flight > LOOP_POLL_MAX_RUNNING)
    return;
  pool->poll_until = uv_hrtime() + LOOP_POLL_NS;
  if (!atomic_load(&pool->loop_polling)) {
    atomic_store(&pool->loop_polling, true);
    uv_idle_start(&pool->idle, on_idle);
  }
}

static void on_async(uv_async_t *async) { run_finished(async->data); }

/* The client left: skip the work if it has not started. */
static void cancel(struct request *req) {
  struct exec_job *job = req->data;
  struct exec_pool *pool = job->pool;
  bool cancelled = false;
  pthread_mutex_lock(&pool->lock);
  if (job->state == JOB_QUEUED) {
    list_remove(&pool->queue, job);
    atomic_fetch_sub(&pool->queued, 1);
    finish(pool, job, UV_ECANCELED);
    cancelled = true;
  }
  pthread_mutex_unlock(&pool->lock);
  if (cancelled)
    uv_async_send(&pool->async); /* done runs on a later iteration, as it would after the work */
}

int exec_submit(struct exec_pool *pool, struct request *req, exec_work_fn work, exec_done_fn done, void *ctx) {
  struct exec_job *job = malloc(sizeof *job);
  if (job == NULL)
    return UV_ENOMEM;
  *job = (struct exec_job){.pool = pool, .req = req, .fn = work, .done = done, .ctx = ctx, .state = JOB_QUEUED};
  pthread_mutex_lock(&pool->lock);
  list_push(&pool->queue, job);
  /* A spinner takes one job; anything beyond that needs a sleeper woken. */
  if (atomic_fetch_add(&pool->queued, 1) + 1 > pool->spinners && pool->sleepers > 0)
    pthread_cond_signal(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  if (pool->in_flight++ == 0)
    uv_ref((uv_handle_t *)&pool->async); /* jobs keep the loop alive, as libuv's work requests do */
  if (req != NULL) {
    req->data = job;
    req->cancel = cancel;
  }
  start_polling(pool);
  return 0;
}

static void stop_threads(struct exec_pool *pool, unsigned n) {
  pthread_mutex_lock(&pool->lock);
  atomic_store(&pool->stopping, true);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (unsigned i = 0; i < n; i++)
    pthread_join(pool->threads[i], NULL);
}

static void pool_free(struct exec_pool *pool) {
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->lock);
  free(pool->threads);
  free(pool);
}

int exec_pool_new(uv_loop_t *loop, struct exec_pool **out) {
  struct exec_pool *pool = calloc(1, sizeof *pool);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t usable;
  pthread_mutexattr_t attr;
  int err;
  *out = NULL;
  if (pool == NULL)
    return -ENOMEM;
  pool->loop = loop;
  /* Spinning needs a second CPU to spin on: count those this process may run on. */
  pool->spin = sched_getaffinity(0, sizeof usable, &usable) == 0 ? CPU_COUNT(&usable) > 1 : cpus > 1;
  pool->n_threads = cpus > EXEC_MIN_THREADS ? (unsigned)cpus : EXEC_MIN_THREADS;
  pthread_mutexattr_init(&attr);
  /* Spin briefly on a busy lock: its holders hold it for a few instructions, and sleeping
   * on it would cost the very wake-up the spinning worker is there to avoid. */
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&pool->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_cond_init(&pool->wake, NULL);
  if ((pool->threads = calloc(pool->n_threads, sizeof *pool->threads)) == NULL) {
    pool_free(pool);
    return -ENOMEM;
  }
  for (unsigned i = 0; i < pool->n_threads; i++) {
    if ((err = pthread_create(&pool->threads[i], NULL, worker, pool)) != 0) {
      stop_threads(pool, i);
      pool_free(pool);
      return -err;
    }
  }
  if ((err = uv_async_init(loop, &pool->async, on_async)) < 0) {
    stop_threads(pool, pool->n_threads);
    pool_free(pool);
    return err;
  }
  pool->async.data = pool;
  uv_idle_init(loop, &pool->idle);
  pool->idle.data = pool;
  uv_unref((uv_handle_t *)&pool->async); /* until a job is in flight */
  uv_unref((uv_handle_t *)&pool->idle);
  *out = pool;
  return 0;
}

void exec_pool_drain(struct exec_pool *pool) {
  if (pool == NULL)
    return;
  for (run_finished(pool); pool->in_flight > 0; run_finished(pool))
    uv_run(pool->loop, UV_RUN_ONCE);
}

void exec_pool_free(struct exec_pool *pool) {
  if (pool == NULL)
    return;
  stop_threads(pool, pool->n_threads);
  pool_free(pool);
}
