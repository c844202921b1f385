#include "exec.h"

#include <stdlib.h>

#include "request.h"

struct exec_job {
  uv_work_t work;
  struct request *req;
  exec_work_fn fn;
  exec_done_fn done;
  void *ctx;
};

static void on_work(uv_work_t *w) {
  struct exec_job *job = w->data;
  job->fn(job->ctx);
}

static void on_done(uv_work_t *w, int status) {
  struct exec_job *job = w->data;
  if (job->req != NULL)
    job->req->cancel = NULL;
  job->done(job->ctx, status);
  free(job);
}

/* The client left: skip the work if it has not started (uv_cancel fails once it has). */
static void cancel(struct request *req) {
  struct exec_job *job = req->data;
  uv_cancel((uv_req_t *)&job->work);
}

int exec_submit(uv_loop_t *loop, struct request *req, exec_work_fn work, exec_done_fn done, void *ctx) {
  struct exec_job *job = malloc(sizeof *job);
  int err;
  if (job == NULL)
    return UV_ENOMEM;
  *job = (struct exec_job){.req = req, .fn = work, .done = done, .ctx = ctx};
  job->work.data = job;
  if ((err = uv_queue_work(loop, &job->work, on_work, on_done)) < 0) {
    free(job);
    return err;
  }
  if (req != NULL) {
    req->data = job;
    req->cancel = cancel;
  }
  return 0;
}
