/*
 * normalize on example_accel: statistics over batches on several threads (sums in float64
 * per batch, combined in batch order), then the affine map, also in batches.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <backend/ndarray.h>

#include "args.h"
#include "batches.h"
#include "impl.h"
#include "kernels.h"

enum { ZSCORE, MINMAX };
static const char *const methods[] = {"zscore", "minmax", NULL};

struct norm_job {
  const float *x;
  float *out;
  double mean, shift, scale;
  double *sums; /* per batch */
  float *lo, *hi;
};

static void sum_batch(void *ctx, size_t k, size_t begin, size_t end) {
  struct norm_job *j = ctx;
  j->sums[k] = ea_sum_f64(j->x + begin, end - begin);
}

static void sqdev_batch(void *ctx, size_t k, size_t begin, size_t end) {
  struct norm_job *j = ctx;
  j->sums[k] = ea_sqdev_f64(j->x + begin, end - begin, j->mean);
}

static void minmax_batch(void *ctx, size_t k, size_t begin, size_t end) {
  struct norm_job *j = ctx;
  ea_minmax(j->x + begin, end - begin, &j->lo[k], &j->hi[k]);
}

static void affine_batch(void *ctx, size_t k, size_t begin, size_t end) {
  struct norm_job *j = ctx;
  (void)k;
  ea_affine(j->x + begin, end - begin, j->shift, j->scale, j->out + begin);
}

static double total(const double *v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += v[i];
  return s;
}

/* Sets shift and scale so that (x - shift) * scale is the z-score; scale 0 when std is 0. */
static void zscore_params(const struct ea_batches *plan, struct norm_job *j) {
  double std;
  ea_batches_run(plan, sum_batch, j);
  j->mean = total(j->sums, plan->count) / (double)plan->n;
  ea_batches_run(plan, sqdev_batch, j);
  std = sqrt(total(j->sums, plan->count) / (double)plan->n);
  j->shift = j->mean;
  j->scale = std > 0 ? 1.0 / std : 0.0;
}

static void minmax_params(const struct ea_batches *plan, struct norm_job *j) {
  float lo, hi;
  ea_batches_run(plan, minmax_batch, j);
  lo = j->lo[0];
  hi = j->hi[0];
  for (size_t k = 1; k < plan->count; k++) {
    lo = j->lo[k] < lo ? j->lo[k] : lo;
    hi = j->hi[k] > hi ? j->hi[k] : hi;
  }
  j->shift = lo;
  j->scale = (double)hi - (double)lo > 0 ? 1.0 / ((double)hi - (double)lo) : 0.0;
}

static int normalize(backend_call *call, int method, const struct ea_floats *x, size_t batch_size) {
  struct ea_batches plan;
  struct norm_job j = {.x = x->data};
  uint64_t shape[1] = {x->n};
  int err = 0;
  ea_batches_plan(x->n, batch_size, &plan);
  j.out = malloc(x->n > 0 ? x->n * sizeof *j.out : 1);
  j.sums = malloc((plan.count + 1) * sizeof *j.sums);
  j.lo = malloc((plan.count + 1) * sizeof *j.lo);
  j.hi = malloc((plan.count + 1) * sizeof *j.hi);
  if (j.out == NULL || j.sums == NULL || j.lo == NULL || j.hi == NULL) {
    err = backend_call_fail(call, "out of memory for %zu values in %zu batches", x->n, plan.count);
  } else if (x->n > 0) {
    if (method == ZSCORE)
      zscore_params(&plan, &j);
    else
      minmax_params(&plan, &j);
    if (j.scale > 0)
      ea_batches_run(&plan, affine_batch, &j);
    else
      memset(j.out, 0, x->n * sizeof *j.out); /* all values equal: they are all at the centre */
  }
  if (err == 0 && backend_ndarray_pack(backend_call_result(call), BACKEND_DTYPE_FLOAT32, 1, shape, j.out) < 0)
    err = backend_call_fail(call, "cannot pack the result");
  free(j.out);
  free(j.sums);
  free(j.lo);
  free(j.hi);
  return err;
}

int example_accel_normalize(void *self, backend_call *call) {
  struct ea_floats x;
  size_t batch_size;
  int method, err;
  (void)self;
  if ((err = ea_arg_batch_size(call, &batch_size)) < 0 || (method = err = ea_arg_choice(call, "method", methods)) < 0 ||
      (err = ea_arg_floats(call, &x)) < 0)
    return err;
  err = normalize(call, method, &x, batch_size);
  free(x.owned);
  return err;
}
