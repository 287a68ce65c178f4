/* ddp_check.c: data-parallel training against one process (tests/train/
 * ddp.sh). Built with two emitted training steps of one model: REF
 * (aotc train) and DP (aotc train --ddp), and runtime/aotc_ddp.c. Every
 * rank takes the same STEPS global batches of BATCH rows (deterministic
 * pseudo-random inputs and class targets); the DP step trains on the
 * rank's shard (rows r, r + P, r + 2P, ... of each batch), and, beside it,
 * the REF step trains one copy on the whole batch without any
 * communication. Then: the DP parameters and optimizer state must be
 * bitwise the same on every rank, and within TOL of the REF ones:
 * max |dp - ref| <= TOL * max |ref| over each tensor.
 *
 *   mpirun -np P ddp_check [--steps N] [--batch B] [--bucket-bytes N] [--tol X] [--lr X]
 *
 * Prints one line per check; exit 0 when all pass, 1 otherwise. */
#include REF_HEADER
#include DP_HEADER
#include "aotc_ddp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define R(suffix) CAT(REF, suffix)
#define D(suffix) CAT(DP, suffix)

enum { N_OUT = R(_train_step_NUM_OUTPUTS), N_PARAMS = R(_forward_NUM_PARAMS) };

typedef struct options {
  int steps, batch;
  size_t bucket_bytes;
  double tol, lr;
} options;

typedef struct model {
  void *out[N_OUT];   /* the step's outputs: parameters, state, loss */
  size_t bytes[N_OUT];
  void *workspace;
} model;

static uint64_t rng = 88172645463325252u;

static double uniform(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static size_t numel(const aotc_io_info *io, int64_t n)
{
  size_t k = 1;
  for (int d = 0; d < io->rank; d++)
    k *= (size_t)(io->shape[d] < 0 ? n : io->shape[d]);
  return k;
}

static int alloc_model(model *m, const aotc_io_info *outs, size_t ws)
{
  for (int k = 0; k < N_OUT; k++) {
    m->bytes[k] = numel(&outs[k], 1) * (size_t)outs[k].element_bytes;
    if (!(m->out[k] = calloc(1, m->bytes[k])))
      return 1;
  }
  return !(m->workspace = malloc(ws + 1));
}

static void free_model(model *m)
{
  for (int k = 0; k < N_OUT; k++)
    free(m->out[k]);
  free(m->workspace);
}

static int parse(int argc, char **argv, options *o)
{
  *o = (options){.steps = 5, .batch = 16, .bucket_bytes = 512, .tol = 1e-5, .lr = 0.1};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--steps"))
      o->steps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch"))
      o->batch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--bucket-bytes"))
      o->bucket_bytes = (size_t)atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--tol"))
      o->tol = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--lr"))
      o->lr = atof(argv[i + 1]);
    else
      return 1;
  }
  return o->steps < 1 || o->batch < 1 || o->tol < 0;
}

/* One global batch: x (batch rows of `features`) and class targets. */
static void make_batch(float *x, int64_t *t, int batch, size_t features, int classes)
{
  for (size_t i = 0; i < (size_t)batch * features; i++)
    x[i] = (float)(2 * uniform() - 1);
  for (int b = 0; b < batch; b++)
    t[b] = (int64_t)(uniform() * classes) % classes;
}

/* Rows rank, rank + P, ... of the global batch. */
static int shard(const float *x, const int64_t *t, int batch, size_t features, float *lx, int64_t *lt)
{
  int n = 0, p = aotc_ddp_size();
  for (int b = aotc_ddp_rank(); b < batch; b += p, n++) {
    memcpy(lx + (size_t)n * features, x + (size_t)b * features, sizeof(float) * features);
    lt[n] = t[b];
  }
  return n;
}

static int step(int (*call)(const int64_t *, void *const *, void *), model *m, int64_t n, float *x, int64_t *t,
                float *hyper)
{
  void *args[3 + N_OUT] = {x, t, hyper};
  memcpy(args + 3, m->out, sizeof m->out);
  return call(&n, args, m->workspace);
}

typedef struct data {
  float *x, *lx;
  int64_t *t, *lt;
  size_t features;
  int classes;
} data;

static int train(const options *o, model *ref, model *dp, data *d)
{
  float hyper[16] = {(float)o->lr, 0.9f, 0.999f, 1e-8f, 1e-3f, 0}; /* TRAIN_HYPER_*; room for more, zero */
  for (int s = 0; s < o->steps; s++) {
    hyper[5] = (float)(s + 1);
    make_batch(d->x, d->t, o->batch, d->features, d->classes);
    int n = shard(d->x, d->t, o->batch, d->features, d->lx, d->lt);
    int rc = step(R(_train_step_call), ref, o->batch, d->x, d->t, hyper);
    int rd = step(D(_train_step_call), dp, n, d->lx, d->lt, hyper);
    double local = *(float *)dp->out[N_OUT - 1], mean = aotc_ddp_mean(local);
    if (aotc_ddp_rank() == 0)
      printf("     step %d: loss %.6f (one process), %.6f (mean over %d ranks)\n", s + 1,
             *(float *)ref->out[N_OUT - 1], mean, aotc_ddp_size());
    if (rc || rd) {
      fprintf(stderr, "step %d failed: %d %d\n", s + 1, rc, rd);
      return 1;
    }
  }
  return 0;
}

/* max |a - b| / max |b| (max |a - b| when b is all zeros): the error
 * relative to the tensor's scale, as rounding errors of sums are. */
static double max_rel(const float *a, const float *b, size_t n)
{
  double diff = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]);
    diff = e > diff || e != e ? e : diff;
    scale = fabs((double)b[i]) > scale ? fabs((double)b[i]) : scale;
  }
  return scale > 0 ? diff / scale : diff;
}

static int compare(const options *o, const model *ref, const model *dp, const model *init)
{
  int fails = 0;
  for (int k = 0; k < N_OUT - 1; k++) {
    const aotc_io_info *io = &R(_train_step_outputs)[k];
    size_t n = numel(io, 1);
    int same = aotc_ddp_same_on_all_ranks(dp->out[k], dp->bytes[k]);
    double err = max_rel(dp->out[k], ref->out[k], n), moved = max_rel(ref->out[k], init->out[k], n);
    int ok = same == 1 && err <= o->tol;
    fails += !ok;
    if (aotc_ddp_rank() == 0)
      printf("%s %-24s identical on %d ranks: %s; max|ddp - one| / max|one| = %.1e (tol %.0e; training moved it %.1e)\n",
             ok ? "ok  " : "FAIL", io->name, aotc_ddp_size(), same == 1 ? "yes" : "NO", err, o->tol, moved);
  }
  return fails;
}

static int init_model(int (*call)(const int64_t *, void *const *, void *), size_t ws, model *m)
{
  int64_t n = 1;
  void *w = malloc(ws + 1);
  int rc = !w || call(&n, m->out, w);
  free(w);
  return rc;
}

/* The same outputs, in the same order, in both steps. */
static int same_layout(void)
{
  for (int k = 0; k < N_OUT; k++)
    if (strcmp(R(_train_step_outputs)[k].name, D(_train_step_outputs)[k].name))
      return 0;
  return D(_train_step_NUM_OUTPUTS) == N_OUT;
}

static void print_plan(void)
{
  if (aotc_ddp_rank() != 0)
    return;
  printf("     %d ranks, %d gradients in %d buckets (slot:bucket", aotc_ddp_size(), D(_train_step_DDP_GRADS),
         aotc_ddp_n_buckets());
  for (int s = 0; s < D(_train_step_DDP_GRADS); s++)
    printf(" %s:%d", R(_train_step_outputs)[D(_train_step_ddp_param)[s]].name, aotc_ddp_bucket_of(s));
  printf(")\n");
}

static int setup(const options *o, model *ref, model *dp, model *init, data *d)
{
  int64_t nb = o->batch, nl = o->batch / aotc_ddp_size();
  d->features = numel(&R(_train_step_inputs)[0], 1);
  d->classes = (int)R(_forward_outputs)[0].shape[1];
  d->x = malloc(sizeof(float) * d->features * (size_t)o->batch);
  d->lx = malloc(sizeof(float) * d->features * (size_t)o->batch);
  d->t = malloc(sizeof(int64_t) * (size_t)o->batch);
  d->lt = malloc(sizeof(int64_t) * (size_t)o->batch);
  if (!d->x || !d->lx || !d->t || !d->lt || alloc_model(ref, R(_train_step_outputs), R(_train_step_call_workspace_bytes)(&nb)) ||
      alloc_model(dp, R(_train_step_outputs), D(_train_step_call_workspace_bytes)(&nl)) ||
      alloc_model(init, R(_train_step_outputs), 0))
    return 1;
  if (init_model(R(_init_call), R(_init_call_workspace_bytes)(&nb), ref) ||
      init_model(D(_init_call), D(_init_call_workspace_bytes)(&nl), dp))
    return 1;
  for (int k = 0; k < N_OUT; k++)
    memcpy(init->out[k], ref->out[k], ref->bytes[k]);
  return aotc_ddp_broadcast(dp->out, dp->bytes, N_OUT - 1);
}

static int run(const options *o)
{
  model ref = {0}, dp = {0}, init = {0};
  data d = {0};
  if (!same_layout() || o->batch % aotc_ddp_size()) {
    fprintf(stderr, "ddp_check: the steps differ, or %d ranks do not divide the batch %d\n", aotc_ddp_size(), o->batch);
    return 1;
  }
  int rc = setup(o, &ref, &dp, &init, &d);
  print_plan();
  rc = rc || train(o, &ref, &dp, &d) || compare(o, &ref, &dp, &init);
  free_model(&ref);
  free_model(&dp);
  free_model(&init);
  free(d.x), free(d.lx), free(d.t), free(d.lt);
  return rc != 0;
}

int main(int argc, char **argv)
{
  options o;
  MPI_Init(&argc, &argv);
  if (parse(argc, argv, &o)) {
    fprintf(stderr, "usage: ddp_check [--steps N] [--batch B] [--bucket-bytes N] [--tol X] [--lr X]\n");
    MPI_Finalize();
    return 2;
  }
  int rc = aotc_ddp_init(MPI_COMM_WORLD, D(_train_step_DDP_GRADS), D(_train_step_ddp_numel), o.bucket_bytes);
  if (rc)
    fprintf(stderr, "ddp_check: aotc_ddp_init failed\n");
  rc = rc || run(&o);
  aotc_ddp_finalize();
  MPI_Finalize();
  return rc;
}
