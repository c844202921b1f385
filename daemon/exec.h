/*
 * Running plugin code off the loop thread (DESIGN §7): a job's work runs on a libuv worker,
 * its completion back on the loop. A job tied to a request is cancelled if its client goes
 * away before the work starts.
 */
#ifndef BACKENDD_EXEC_H
#define BACKENDD_EXEC_H

#include <uv.h>

struct request;

/* Runs on a worker thread. Must not touch loop-thread state. */
typedef void (*exec_work_fn)(void *ctx);
/* Runs on the loop thread after work (status 0), or instead of it (status UV_ECANCELED). */
typedef void (*exec_done_fn)(void *ctx, int status);

/*
 * Queues work(ctx) then done(ctx, status). With req not NULL, the job becomes req's cancel
 * hook: if the client disconnects before the work starts, the work is skipped and done runs
 * with UV_ECANCELED (it must still answer req, which then only frees it). Returns 0 or a
 * negative libuv error (done is then not called).
 */
int exec_submit(uv_loop_t *loop, struct request *req, exec_work_fn work, exec_done_fn done, void *ctx);

#endif
