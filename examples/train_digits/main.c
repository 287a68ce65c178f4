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
 *   ./train DIGITS.csv.gz [EPOCHS] */
#include MODEL_HEADER

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

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

static int alloc_outputs(void)
{
  for (int k = 0; k < FN(_train_step_NUM_OUTPUTS); k++) {
    const aotc_io_info *io = &FN(_train_step_outputs)[k];
    size_t n = 1;
    for (int d = 0; d < io->rank; d++)
      n *= (size_t)io->shape[d];
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
  for (int b = 0; b < BATCH; b++) {
    memcpy(x[b], images[idx[b]], sizeof x[b]);
    target[b] = labels[idx[b]];
  }
  int64_t sizes[] = {BATCH};
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
      sum += loss;
    }
    if (e == 0 || (e + 1) % 5 == 0 || e + 1 == epochs)
      printf("epoch %2d: mean loss %.4f\n", e + 1, sum / steps);
  }
  free(perm);
}

int main(int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  int epochs = argc > 2 ? atoi(argv[2]) : 20;
  int64_t sizes[] = {BATCH};
  if (!load_digits(path)) {
    fprintf(stderr, "cannot read the digits from %s (Debian: apt-get install python3-sklearn)\n", path);
    return 1;
  }
  for (int i = 0; i < N_IMAGES; i++)
    order[i] = i;
  shuffle(order, N_IMAGES);
  workspace = malloc(FN(_train_step_call_workspace_bytes)(sizes) + 1);
  if (!alloc_outputs() || !workspace || FN(_init_call)(sizes, outputs, NULL))
    return 1;
  printf("%s: %d parameter tensors, training step workspace %zu bytes (batch %d)\n", MODEL_NAME,
         FN(_forward_NUM_PARAMS), FN(_train_step_call_workspace_bytes)(sizes), BATCH);
  double t0 = now();
  train(epochs, order + N_TEST, N_IMAGES - N_TEST);
  double t1 = now();
  double acc = accuracy(order, N_TEST);
  printf("%s: %d epochs in %.2f s; train accuracy %.2f%%, test accuracy %.2f%% (%d images)\n", MODEL_NAME, epochs,
         t1 - t0, 100 * accuracy(order + N_TEST, N_IMAGES - N_TEST), 100 * acc, N_TEST);
  return acc >= 0.95 ? 0 : 2;
}
