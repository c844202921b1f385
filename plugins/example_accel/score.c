/*
 * compute_score on example_accel: the sum of squares over batches on several threads, each
 * batch a vectorised kernel (kernels.c); the batch sums are combined in batch order with
 * compensated summation. "robust" (a median) is left to the host.
 */
#include <stdlib.h>

#include "args.h"
#include "batches.h"
#include "impl.h"
#include "kernels.h"

enum { FAST, EXACT, ROBUST };
static const char *const methods[] = {"fast", "exact", "robust", NULL};

struct score_job {
  const float *x;
  double (*kernel)(const float *, size_t);
  double *partials; /* one per batch */
};

static void score_batch(void *ctx, size_t index, size_t begin, size_t end) {
  struct score_job *job = ctx;
  job->partials[index] = job->kernel(job->x + begin, end - begin);
}

/* Neumaier's compensated sum of the batch sums, in batch order. */
static double combine(const double *v, size_t n) {
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double t = s + v[i];
    c += (s >= 0 ? s : -s) >= (v[i] >= 0 ? v[i] : -v[i]) ? (s - t) + v[i] : (v[i] - t) + s;
    s = t;
  }
  return s + c;
}

int example_accel_compute_score(void *self, backend_call *call) {
  struct ea_floats x;
  struct ea_batches plan;
  struct score_job job;
  size_t batch_size;
  int method, copy, err;
  (void)self;
  /* Options first, so that a bad batch_size fails even when the host would take the call over.
   * copy is checked and otherwise ignored: nothing here writes to data. */
  if ((err = ea_arg_batch_size(call, &batch_size)) < 0 || (err = ea_arg_bool(call, "copy", &copy)) < 0 ||
      (method = err = ea_arg_choice(call, "method", methods)) < 0)
    return err;
  if (method == ROBUST)
    return backend_call_not_implemented(call, "method 'robust' is not implemented on example_accel");
  if ((err = ea_arg_floats(call, &x)) < 0)
    return err;
  if (x.n == 0) {
    free(x.owned);
    return backend_call_fail(call, "data is empty: the score of no values is undefined");
  }
  ea_batches_plan(x.n, batch_size, &plan);
  job = (struct score_job){x.data, method == FAST ? ea_sumsq_f32 : ea_sumsq_f64, malloc(plan.count * sizeof(double))};
  if (job.partials == NULL) {
    free(x.owned);
    return backend_call_fail(call, "out of memory for %zu batches (batch_size %zu)", plan.count, plan.size);
  }
  ea_batches_run(&plan, score_batch, &job);
  err = msgpack_pack_double(backend_call_result(call), combine(job.partials, plan.count) / (double)x.n);
  free(job.partials);
  free(x.owned);
  return err == 0 ? 0 : backend_call_fail(call, "cannot pack the result");
}
