/*
 * Running plugin code off the loop thread (DESIGN §7): a job's work runs on one of the
 * pool's worker threads, its completion back on the loop. A job tied to a request is
 * cancelled if its client goes away before the work starts.
 *
 * The pool exists for latency as much as for isolation: handing a call to a sleeping thread
 * and waking the loop for its answer costs two thread wake-ups, more than a whole daemon.ping
 * round trip on a VM. So an idle worker spins briefly for the next job before it sleeps, and
 * the loop polls its sockets without sleeping while a few jobs it just queued are running
 * (doc/backends.md, "Execution").
 */
#ifndef BACKENDD_EXEC_H
#define BACKENDD_EXEC_H

#include <uv.h>

struct exec_pool;
struct request;

/* Runs on a worker thread. Must not touch loop-thread state. */
typedef void (*exec_work_fn)(void *ctx);
/* Runs on the loop thread after work (status 0), or instead of it (status UV_ECANCELED). */
typedef void (*exec_done_fn)(void *ctx, int status);

/*
 * Starts the pool's threads: max(EXEC_MIN_THREADS, online CPUs). Spinning is off on a
 * single CPU, where it could only delay the thread it waits for. Returns 0 or a negative errno.
 */
#define EXEC_MIN_THREADS 4
int exec_pool_new(uv_loop_t *loop, struct exec_pool **out);

/*
 * Queues work(ctx) then done(ctx, status). With req not NULL, the job becomes req's cancel
 * hook: if the client disconnects before the work starts, the work is skipped and done runs
 * with UV_ECANCELED (it must still answer req, which then only frees it). Returns 0 or a
 * negative libuv error (done is then not called).
 */
int exec_submit(struct exec_pool *pool, struct request *req, exec_work_fn work, exec_done_fn done, void *ctx);

/* Loop thread: runs the loop until every submitted job's done has run (a hung plugin call keeps it waiting). */
void exec_pool_drain(struct exec_pool *pool);

/* After exec_pool_drain and once its handles are closed (uv_walk): stops the threads and frees the pool. */
void exec_pool_free(struct exec_pool *pool);

#endif
