/* main.c: trains a model on the scikit-learn digits (1,797 8x8 images of
 * 0..16, read from digits.csv.gz with zlib) entirely in the C that
 * `aotc train` emitted, then classifies the held-out images through the
 * inference entry on the trained parameters.
 *
 * Built once per model with -DMODEL=mlp (or cnn) and -DMODEL_HEADER='"mlp_train.h"'
 * (see run.sh). It calls the packed entries MODEL_init_call,
 * MODEL_train_step_call and MODEL_forward_call and sizes every buffer from
 * the emitted tables (MODEL_train_step_outputs), so one program serves
 * every model. A fixed shuffle splits the set 80/20 (1,437 / 360).
 *
 *   ./train DIGITS.csv.gz [EPOCHS]
 *   mpirun -np P ./train --ddp [--check] [--bucket-bytes N] DIGITS.csv.gz [EPOCHS]
 *
 * --ddp (built with -DAOTC_DDP, ddp.h): data-parallel over MPI, each rank
 * on its shard of every batch; --check then trains again in one process
 * on the whole batches and prints how far the parameters are apart. */
#include MODEL_HEADER

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "ddp.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(MODEL, suffix)

enum { N_IMAGES = 1797, N_PIXELS = 64, N_CLASSES = 10, BATCH = 32, N_TEST = 360 };

static float images[N_IMAGES][N_PIXELS];
static int64_t labels[N_IMAGES];
static int order[N_IMAGES];
static uint64_t rng = 20240601;

static uint64_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void shuffle(int *a, int n)
{
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next() % (uint64_t)(i + 1)), t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/* One CSV line: 64 pixels (0..16, scaled to 0..1) then the label. */
static int parse_line(char *line, int k)
{
  char *p = line;
  for (int j = 0; j <= N_PIXELS; j++) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p)
      return 0;
    if (j < N_PIXELS)
      images[k][j] = (float)v / 16.0f;
    else
      labels[k] = v;
    p = *end == ',' ? end + 1 : end;
  }
  return labels[k] >= 0 && labels[k] < N_CLASSES;
}

static int load_digits(const char *path)
{
  gzFile f = gzopen(path, "rb");
  char line[1024];
  int n = 0;
  if (!f)
    return 0;
  while (n < N_IMAGES && gzgets(f, line, sizeof line))
    if (!parse_line(line, n++))
      break;
  gzclose(f);
  return n == N_IMAGES;
}

/* Every output of the training step (parameters, state, loss), sized from
 * its table. */
static void *outputs[FN(_train_step_NUM_OUTPUTS)];
static size_t output_bytes[FN(_train_step_NUM_OUTPUTS)];

static int alloc_outputs(void)
{
  for (int k = 0; k < FN(_train_step_NUM_OUTPUTS); k++) {
    const aotc_io_info *io = &FN(_train_step_outputs)[k];
    size_t n = 1;
    for (int d = 0; d < io->rank; d++)
      n *= (size_t)io->shape[d];
    output_bytes[k] = n * (size_t)io->element_bytes;
    if (!(outputs[k] = calloc(n, (size_t)io->element_bytes)))
      return 0;
  }
  return 1;
}

static void *workspace;

static int train_batch(const int *idx, float *hyper, float *loss)
{
  static float x[BATCH][N_PIXELS];
  static int64_t target[BATCH];
  int n = 0;
  for (int b = ddp_rank(); b < BATCH; b += ddp_size(), n++) {
    memcpy(x[n], images[idx[b]], sizeof x[n]);
    target[n] = labels[idx[b]];
  }
  int64_t sizes[] = {n};
  void *args[3 + FN(_train_step_NUM_OUTPUTS)] = {x, target, hyper};
  memcpy(args + 3, outputs, sizeof outputs);
  int rc = FN(_train_step_call)(sizes, args, workspace);
  *loss = *(float *)outputs[FN(_train_step_NUM_OUTPUTS) - 1];
  return rc;
}

/* The fraction of images idx[0..n-1] the forward entry classifies right. */
static double accuracy(const int *idx, int n)
{
  float *x = malloc(sizeof(float) * N_PIXELS * (size_t)n), *y = malloc(sizeof(float) * N_CLASSES * (size_t)n);
  int64_t sizes[] = {n};
  void *args[2 + FN(_forward_NUM_PARAMS)];
  void *ws = malloc(FN(_forward_call_workspace_bytes)(sizes) + 1);
  for (int i = 0; i < n; i++)
    memcpy(x + (size_t)i * N_PIXELS, images[idx[i]], sizeof(float) * N_PIXELS);
  args[0] = x;
  memcpy(args + 1, outputs, sizeof(void *) * FN(_forward_NUM_PARAMS));
  args[1 + FN(_forward_NUM_PARAMS)] = y;
  int right = 0;
  if (FN(_forward_call)(sizes, args, ws) == 0)
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int c = 1; c < N_CLASSES; c++)
        if (y[i * N_CLASSES + c] > y[i * N_CLASSES + best])
          best = c;
      right += best == labels[idx[i]];
    }
  free(x);
  free(y);
  free(ws);
  return (double)right / n;
}

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void train(int epochs, const int *train_idx, int n_train)
{
  float hyper[7] = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f, 0.0f};
  int *perm = malloc(sizeof(int) * (size_t)n_train);
  memcpy(perm, train_idx, sizeof(int) * (size_t)n_train);
  for (int e = 0; e < epochs; e++) {
    double sum = 0;
    int steps = 0;
    shuffle(perm, n_train);
    for (int b = 0; b + BATCH <= n_train; b += BATCH, steps++) {
      float loss;
      hyper[5] += 1.0f;
      if (train_batch(perm + b, hyper, &loss)) {
        fprintf(stderr, "train step failed\n");
        exit(1);
      }
      sum += ddp_mean(loss);
    }
    if (ddp_rank() == 0 && (e == 0 || (e + 1) % 5 == 0 || e + 1 == epochs))
      printf("epoch %2d: mean loss %.4f\n", e + 1, sum / steps);
  }
  free(perm);
}

#ifdef AOTC_DDP
#define DDP_GRADS FN(_train_step_DDP_GRADS), FN(_train_step_ddp_numel)
#else
#define DDP_GRADS 0, NULL
#endif

/* max |a - b| / max |b| over n floats */
static double rel_diff(const float *a, const float *b, size_t n)
{
  double d = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    d = fabs((double)a[i] - b[i]) > d ? fabs((double)a[i] - b[i]) : d;
    m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
  }
  return m > 0 ? d / m : d;
}

/* --check (rank 0): the same epochs again in one process on whole batches
 * (the runtime stopped, the step's hooks do nothing), from the same
 * initial values and shuffles (rng as it was before training); the worst
 * rel_diff of the data-parallel parameters from those. */
static double check_one_process(int epochs, uint64_t rng_before)
{
  int64_t sizes[] = {BATCH};
  double worst = 0;
  void *trained[FN(_forward_NUM_PARAMS)];
  for (int k = 0; k < FN(_forward_NUM_PARAMS); k++)
    if ((trained[k] = malloc(output_bytes[k])))
      memcpy(trained[k], outputs[k], output_bytes[k]);
  printf("%s: the same epochs in one process on whole batches (--check)\n", MODEL_NAME);
  rng = rng_before;
  if (FN(_init_call)(sizes, outputs, NULL))
    return INFINITY;
  train(epochs, order + N_TEST, N_IMAGES - N_TEST);
  for (int k = 0; k < FN(_forward_NUM_PARAMS); k++) {
    double d = trained[k] ? rel_diff(trained[k], outputs[k], output_bytes[k] / sizeof(float)) : INFINITY;
    worst = d > worst ? d : worst;
    free(trained[k]);
  }
  return worst;
}

/* Data-parallel: the parameters and state of every rank compared with
 * rank 0's; with --check, against one process. */
static int report_ddp(int epochs, uint64_t rng_before)
{
  int differ = ddp_count_different(outputs, output_bytes, FN(_train_step_NUM_OUTPUTS) - 1);
  if (ddp_rank() == 0)
    printf("%s: %d ranks; parameters and optimizer state identical on every rank (bitwise): %s\n", MODEL_NAME,
           ddp_size(), differ ? "NO" : "yes");
  int rank = ddp_rank(), size = ddp_size();
  ddp_stop();
  if (ddp_check_requested && rank == 0)
    printf("%s: one process, whole batches: the %d-rank parameters are within %.2e of it (max |ddp - one| / max "
           "|one|, worst tensor)\n", MODEL_NAME, size, check_one_process(epochs, rng_before));
  return differ;
}

int main(int argc, char **argv)
{
  if (ddp_start(&argc, argv, DDP_GRADS))
    return 1;
  const char *path = argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  int epochs = argc > 2 ? atoi(argv[2]) : 20;
  int64_t sizes[] = {BATCH}, local[] = {BATCH / ddp_size()};
  if (BATCH % ddp_size() || !load_digits(path)) {
    fprintf(stderr, "cannot read the digits from %s (Debian: apt-get install python3-sklearn), or %d ranks do not "
            "divide the batch\n", path, ddp_size());
    return 1;
  }
  for (int i = 0; i < N_IMAGES; i++)
    order[i] = i;
  shuffle(order, N_IMAGES);
  size_t ws = FN(_train_step_call_workspace_bytes)(sizes), ws_local = FN(_train_step_call_workspace_bytes)(local);
  workspace = malloc((ws > ws_local ? ws : ws_local) + 1);
  if (!alloc_outputs() || !workspace || FN(_init_call)(sizes, outputs, NULL) ||
      ddp_broadcast(outputs, output_bytes, FN(_train_step_NUM_OUTPUTS) - 1))
    return 1;
  if (ddp_rank() == 0)
    printf("%s: %d parameter tensors, training step workspace %zu bytes (batch %d)\n", MODEL_NAME,
           FN(_forward_NUM_PARAMS), FN(_train_step_call_workspace_bytes)(local), (int)local[0]);
  uint64_t rng_before = rng;
  double t0 = now();
  train(epochs, order + N_TEST, N_IMAGES - N_TEST);
  double t1 = now();
  int steps = epochs * ((N_IMAGES - N_TEST) / BATCH), rank = ddp_rank();
  double acc = accuracy(order, N_TEST);
  if (rank == 0)
    printf("%s: %d epochs in %.2f s; train accuracy %.2f%%, test accuracy %.2f%% (%d images)\n", MODEL_NAME, epochs,
           t1 - t0, 100 * accuracy(order + N_TEST, N_IMAGES - N_TEST), 100 * acc, N_TEST);
  if (rank == 0 && ddp_requested)
    printf("%s: %.3f ms a step of %d images on each of %d ranks\n", MODEL_NAME, 1e3 * (t1 - t0) / steps,
           (int)local[0], ddp_size());
  int differ = ddp_requested ? report_ddp(epochs, rng_before) : 0;
  ddp_end();
  return differ ? 3 : rank != 0 || acc >= 0.95 ? 0 : 2;
}
