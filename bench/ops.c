/* ops.c: times aotc's emitted kernels of bench/kernels.tc against a
 * reference in the same process, alternating runs, median of repeats:
 *   bmm B M K N        against B calls of OpenBLAS cblas_sgemm
 *   conv N C H W F S   (3x3, pad 1, stride S) against im2col + cblas_sgemm
 *   softmax N D        against the bandwidth bound: memcpy of the same bytes
 *   layernorm N D      likewise
 * Usage: ops KERNEL SIZES... [threads] (threads also sets OpenBLAS's). */
#include "bmm.h"
#include "conv3x3.h"
#include "conv3x3s2.h"
#include "layernorm.h"
#include "softmax.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

void openblas_set_num_threads(int);

#define REPS 9

static float *randv(size_t n)
{
  float *v = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  for (size_t i = 0; i < n; i++)
    v[i] = (float)rand() / RAND_MAX - 0.5f;
  return v;
}

static void *ws_of(size_t n)
{
  return n ? aligned_alloc(64, (n + 63) / 64 * 64) : NULL;
}

static double max_err(const float *a, const float *b, size_t n)
{
  double e = 0;
  for (size_t i = 0; i < n; i++)
    e = fmax(e, fabs(a[i] - b[i]) / (1 + fabs(b[i])));
  return e;
}

static int threads_used = 1;

/* Times f (aotc) and g (reference); medians in ta, tb. Alternating runs on
 * one thread; with more (or BLOCKED=1) all of f's runs, then all of g's, so
 * that neither library's idle spinning threads take a core from the other. */
typedef void (*runner)(void *);
static void timeit(runner f, runner g, void *arg, double *ta, double *tb)
{
  double a[REPS], b[REPS];
  const char *env = getenv("BLOCKED");
  int blocked = env ? atoi(env) : threads_used > 1;
  for (int r = -1; r < REPS; r++) {
    double t0 = now();
    f(arg);
    double t1 = now();
    if (!blocked)
      g(arg);
    double t2 = now();
    if (r >= 0) {
      a[r] = t1 - t0;
      b[r] = t2 - t1;
    }
  }
  for (int r = -1; blocked && r < REPS; r++) {
    double t1 = now();
    g(arg);
    double t2 = now();
    if (r >= 0)
      b[r] = t2 - t1;
  }
  *ta = median(a, REPS);
  *tb = median(b, REPS);
}

/* ---- batched matmul */
typedef struct { int B, M, K, N; float *X, *Y, *Z1, *Z2; void *ws; } bmm_arg;
static void bmm_aotc(void *p) { bmm_arg *a = p; if (bmm(a->B, a->M, a->K, a->N, a->X, a->Y, a->Z1, a->ws)) abort(); }
static void bmm_blas(void *p)
{
  bmm_arg *a = p;
  for (int b = 0; b < a->B; b++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->M, a->N, a->K, 1.0f, a->X + (size_t)b * a->M * a->K,
                a->K, a->Y + (size_t)b * a->K * a->N, a->N, 0.0f, a->Z2 + (size_t)b * a->M * a->N, a->N);
}

/* ---- convolution: im2col + sgemm */
typedef struct { int N, C, H, W, F, S, OH, OW; float *in, *Wt, *O1, *O2, *col; void *ws; } conv_arg;
static void conv_aotc(void *p)
{
  conv_arg *a = p;
  int rc = a->S == 1 ? conv3x3(a->N, a->C, a->H, a->W, a->F, a->in, a->Wt, a->O1, a->ws)
                     : conv3x3s2(a->N, a->C, a->H, a->W, a->F, a->in, a->Wt, a->O1, a->ws);
  if (rc)
    abort();
}
static void im2col(const conv_arg *a, const float *in, float *col)
{
  for (int c = 0; c < a->C; c++)
    for (int kh = 0; kh < 3; kh++)
      for (int kw = 0; kw < 3; kw++) {
        float *row = col + ((size_t)(c * 9 + kh * 3 + kw)) * a->OH * a->OW;
        for (int h = 0; h < a->OH; h++) {
          int ih = h * a->S + kh - 1;
          for (int w = 0; w < a->OW; w++) {
            int iw = w * a->S + kw - 1;
            row[h * a->OW + w] =
                ih >= 0 && ih < a->H && iw >= 0 && iw < a->W ? in[((size_t)c * a->H + ih) * a->W + iw] : 0.0f;
          }
        }
      }
}
static void conv_blas(void *p)
{
  conv_arg *a = p;
  for (int n = 0; n < a->N; n++) {
    im2col(a, a->in + (size_t)n * a->C * a->H * a->W, a->col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->F, a->OH * a->OW, a->C * 9, 1.0f, a->Wt, a->C * 9,
                a->col, a->OH * a->OW, 0.0f, a->O2 + (size_t)n * a->F * a->OH * a->OW, a->OH * a->OW);
  }
}

/* ---- softmax and layernorm against a copy of the same bytes */
typedef struct { int N, D; float *X, *Y, *Y2, *g, *b; void *ws; int which; } row_arg;
static void rows_aotc(void *p)
{
  row_arg *a = p;
  int rc = a->which == 0 ? softmax(a->N, a->D, a->X, a->Y, a->ws)
                         : layernorm(a->N, a->D, a->X, a->g, a->b, 1e-5f, a->Y, a->ws);
  if (rc)
    abort();
}
static void rows_copy(void *p)
{
  row_arg *a = p;
  memcpy(a->Y2, a->X, (size_t)a->N * a->D * sizeof(float));
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return 2;
  const char *k = argv[1];
  double ta, tb;
  srand(1);
  if (!strcmp(k, "bmm") && argc >= 6) {
    int threads = threads_used = argc > 6 ? atoi(argv[6]) : 1;
    openblas_set_num_threads(threads);
    bmm_arg a = {atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5])};
    size_t nz = (size_t)a.B * a.M * a.N;
    a.X = randv((size_t)a.B * a.M * a.K);
    a.Y = randv((size_t)a.B * a.K * a.N);
    a.Z1 = randv(nz);
    a.Z2 = randv(nz);
    a.ws = ws_of(bmm_workspace_bytes(a.B, a.M, a.K, a.N));
    timeit(bmm_aotc, bmm_blas, &a, &ta, &tb);
    double flop = 2.0 * a.B * a.M * a.K * a.N;
    printf("bmm B=%d M=%d K=%d N=%d threads=%d: aotc %.1f GFLOP/s, OpenBLAS %.1f GFLOP/s, ratio %.2f (max rel err %.1e)\n",
           a.B, a.M, a.K, a.N, threads, flop / ta * 1e-9, flop / tb * 1e-9, tb / ta, max_err(a.Z1, a.Z2, nz));
    return 0;
  }
  if (!strcmp(k, "conv") && argc >= 8) {
    int threads = threads_used = argc > 8 ? atoi(argv[8]) : 1;
    openblas_set_num_threads(threads);
    conv_arg a = {atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7])};
    a.OH = a.S == 1 ? a.H : (a.H + 1) / 2;
    a.OW = a.S == 1 ? a.W : (a.W + 1) / 2;
    size_t no = (size_t)a.N * a.F * a.OH * a.OW;
    a.in = randv((size_t)a.N * a.C * a.H * a.W);
    a.Wt = randv((size_t)a.F * a.C * 9);
    a.O1 = randv(no);
    a.O2 = randv(no);
    a.col = randv((size_t)a.C * 9 * a.OH * a.OW);
    a.ws = ws_of(a.S == 1 ? conv3x3_workspace_bytes(a.N, a.C, a.H, a.W, a.F)
                          : conv3x3s2_workspace_bytes(a.N, a.C, a.H, a.W, a.F));
    timeit(conv_aotc, conv_blas, &a, &ta, &tb);
    double flop = 2.0 * a.N * a.F * a.OH * a.OW * a.C * 9;
    printf("conv N=%d C=%d H=%d W=%d F=%d 3x3 stride %d threads=%d: aotc %.1f GFLOP/s, im2col+OpenBLAS %.1f GFLOP/s, "
           "ratio %.2f (max rel err %.1e)\n", a.N, a.C, a.H, a.W, a.F, a.S, threads, flop / ta * 1e-9,
           flop / tb * 1e-9, tb / ta, max_err(a.O1, a.O2, no));
    return 0;
  }
  if ((!strcmp(k, "softmax") || !strcmp(k, "layernorm")) && argc >= 4) {
    row_arg a = {atoi(argv[2]), atoi(argv[3])};
    a.which = !strcmp(k, "layernorm");
    size_t n = (size_t)a.N * a.D;
    a.X = randv(n);
    a.Y = randv(n);
    a.Y2 = randv(n);
    a.g = randv((size_t)a.D);
    a.b = randv((size_t)a.D);
    a.ws = ws_of(a.which ? layernorm_workspace_bytes(a.N, a.D) : softmax_workspace_bytes(a.N, a.D));
    timeit(rows_aotc, rows_copy, &a, &ta, &tb);
    double bytes = 2.0 * n * sizeof(float);
    printf("%s N=%d D=%d: aotc %.2f ms (%.1f GB/s of input+output), memcpy %.2f ms (%.1f GB/s), ratio %.2f of the "
           "bandwidth bound\n", k, a.N, a.D, ta * 1e3, bytes / ta * 1e-9, tb * 1e3, bytes / tb * 1e-9, tb / ta);
    return 0;
  }
  fprintf(stderr, "usage: ops bmm B M K N [T] | conv N C H W F S [T] | softmax N D | layernorm N D\n");
  return 2;
}
