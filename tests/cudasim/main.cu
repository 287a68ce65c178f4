/* main.cu: the harness for the hand-written .cu tests, built for the CPU simulator (g++
 * -DAOTC_CUDA_SIM) by tests/cudasim/run.sh and for a GPU (nvcc) by tests/gpu/run.sh.
 *
 *   cudasim_test TEST SIZE...
 *
 * runs one entry of kernels.h on seeded inputs, compares the output with a plain C reference
 * computed in double with an error bound, and prints `TEST: ok max_err=E hash=H` (H: a hash
 * of the output's bits, which run.sh compares across thread orders); exit status 0, or 1
 * with a message. The bug tests run one buggy kernel and print the error code it returned. */
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

typedef std::vector<float> floats;
typedef std::vector<double> doubles;

/* ------------------------------------------------------------------ data */

/* Values in [-1, 1) with 24 significant bits: products are exact in double. */
static floats random_floats(size_t n, uint32_t seed) {
  floats v(n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
  }
  return v;
}

static uint64_t hash_bits(const floats &v) {
  uint64_t h = 0xcbf29ce484222325ull;
  const unsigned char *p = (const unsigned char *)v.data();
  for (size_t i = 0; i < v.size() * sizeof(float); i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* ------------------------------------------------------------------ device buffers */

struct device {
  std::vector<void *> buffers;
  cudaStream_t stream = nullptr;
  ~device() {
    for (void *p : buffers)
      cudaFree(p);
    aotc_cuda_stream_destroy(stream);
  }
};

static float *upload(device *d, const floats &h) {
  void *p = nullptr;
  size_t bytes = h.size() * sizeof(float);
  if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess)
    return nullptr;
  d->buffers.push_back(p);
  if (bytes && cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice) != cudaSuccess)
    return nullptr;
  return (float *)p;
}

static float *device_zeros(device *d, size_t n) { return upload(d, floats(n, 0.0f)); }

static int download(floats *h, const float *p, cudaStream_t stream) {
  cudaError_t e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess)
    e = cudaMemcpy(h->data(), p, h->size() * sizeof(float), cudaMemcpyDeviceToHost);
  return (int)e;
}

/* ------------------------------------------------------------------ checking */

static int report_code(const char *test, int code) {
  aotc_cuda_print_error(stderr, test, code);
  return 1;
}

/* |out - ref| <= bound elementwise (NaN fails); prints the summary line. */
static int check(const char *test, const floats &out, const doubles &ref, const doubles &bound) {
  double max_err = 0.0;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < out.size(); i++) {
    double err = fabs((double)out[i] - ref[i]);
    if (!(err <= bound[i]) && bad++ == 0)
      first = i;
    if (err > max_err || err != err)
      max_err = err;
  }
  if (bad) {
    fprintf(stderr,
            "%s: %zu of %zu wrong; first [%zu] = %.9g, expected %.9g (bound %.3g) hash=%016llx\n",
            test, bad, out.size(), first, (double)out[first], ref[first], bound[first],
            (unsigned long long)hash_bits(out));
    return 1;
  }
  printf("%s: ok max_err=%.3g hash=%016llx\n", test, max_err,
         (unsigned long long)hash_bits(out));
  return 0;
}

/* A float sum of n terms is within (n + 2) * 2^-23 * (sum of |terms|) of the exact sum. */
static double sum_bound(int64_t n, double abs_sum) {
  return (double)(n + 2) * 1.2e-7 * abs_sum + 1e-30;
}

static int64_t arg(char **argv, int i) { return strtoll(argv[i], nullptr, 10); }

/* ------------------------------------------------------------------ tests */

typedef int (*matmul_fn)(int64_t, int64_t, int64_t, const float *, const float *, float *,
                         void *, cudaStream_t);

static void matmul_reference(int64_t M, int64_t K, int64_t N, const floats &A, const floats &B,
                             doubles *ref, doubles *bound) {
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double s = 0.0, a = 0.0;
      for (int64_t k = 0; k < K; k++) {
        s += (double)A[m * K + k] * B[k * N + n];
        a += fabs((double)A[m * K + k] * B[k * N + n]);
      }
      (*ref)[m * N + n] = s;
      (*bound)[m * N + n] = sum_bound(K, a);
    }
}

static int test_matmul(const char *name, matmul_fn fn, char **argv) {
  int64_t M = arg(argv, 0), K = arg(argv, 1), N = arg(argv, 2);
  floats A = random_floats(M * K, 1), B = random_floats(K * N, 2), C(M * N);
  doubles ref(M * N), bound(M * N);
  device d;
  float *dA = upload(&d, A), *dB = upload(&d, B), *dC = device_zeros(&d, M * N);
  if (!dA || !dB || !dC)
    return report_code(name, (int)cudaGetLastError());
  int e = fn(M, K, N, dA, dB, dC, nullptr, d.stream);
  if (e || (e = download(&C, dC, d.stream)))
    return report_code(name, e);
  matmul_reference(M, K, N, A, B, &ref, &bound);
  return check(name, C, ref, bound);
}

static int test_reduce(char **argv) {
  int64_t N = arg(argv, 0);
  floats X = random_floats(N, 3), Y(1);
  double s = 0.0, a = 0.0;
  device d;
  float *dX = upload(&d, X), *dY = device_zeros(&d, 1);
  float *ws = device_zeros(&d, reduce_sum_workspace_bytes(N) / sizeof(float));
  if (!dX || !dY || !ws)
    return report_code("reduce", (int)cudaGetLastError());
  int e = reduce_sum(N, dX, dY, ws, d.stream);
  if (e || (e = download(&Y, dY, d.stream)))
    return report_code("reduce", e);
  for (float x : X)
    s += x, a += fabs(x);
  return check("reduce", Y, doubles{s}, doubles{sum_bound(N, a)});
}

static void softmax_reference(int64_t R, int64_t C, const floats &X, doubles *ref) {
  for (int64_t r = 0; r < R; r++) {
    double m = -INFINITY, s = 0.0;
    for (int64_t c = 0; c < C; c++)
      m = fmax(m, X[r * C + c]);
    for (int64_t c = 0; c < C; c++)
      s += exp(X[r * C + c] - m);
    for (int64_t c = 0; c < C; c++)
      (*ref)[r * C + c] = exp(X[r * C + c] - m) / s;
  }
}

static int test_softmax(char **argv) {
  int64_t R = arg(argv, 0), C = arg(argv, 1);
  floats X = random_floats(R * C, 4), Y(R * C);
  doubles ref(R * C), bound(R * C);
  device d;
  float *dX = upload(&d, X), *dY = device_zeros(&d, R * C);
  if (!dX || !dY)
    return report_code("softmax", (int)cudaGetLastError());
  int e = softmax(R, C, dX, dY, nullptr, d.stream);
  if (e || (e = download(&Y, dY, d.stream)))
    return report_code("softmax", e);
  softmax_reference(R, C, X, &ref);
  for (size_t i = 0; i < ref.size(); i++)
    bound[i] = 1e-5 * ref[i] + 1e-9;
  return check("softmax", Y, ref, bound);
}

static double bias_act_reference(double v) {
  return fmax(v, 0.0) / sqrt(1.0 + v * v) + exp(-fabs(v)) - fmin(v, 0.5);
}

static int test_bias_act(char **argv) {
  int64_t N = arg(argv, 0), C = arg(argv, 1);
  floats X = random_floats(N * C, 5), bias = random_floats(C, 6), Y(N * C);
  doubles ref(N * C), bound(N * C);
  device d;
  float *dX = upload(&d, X), *db = upload(&d, bias), *dY = device_zeros(&d, N * C);
  if (!dX || !db || !dY)
    return report_code("bias_act", (int)cudaGetLastError());
  int e = bias_act(N, C, dX, db, dY, nullptr, d.stream);
  if (e || (e = download(&Y, dY, d.stream)))
    return report_code("bias_act", e);
  for (int64_t i = 0; i < N * C; i++) {
    ref[i] = bias_act_reference((double)(X[i] + bias[i % C]));
    bound[i] = 1e-5 * fabs(ref[i]) + 1e-6;
  }
  return check("bias_act", Y, ref, bound);
}

static int test_block_reverse(char **argv) {
  int64_t N = arg(argv, 0), B = arg(argv, 1);
  floats X = random_floats(N, 7), Y(N);
  doubles ref(N), bound(N, 0.0);
  device d;
  float *dX = upload(&d, X), *dY = device_zeros(&d, N);
  if (!dX || !dY)
    return report_code("block_reverse", (int)cudaGetLastError());
  int e = block_reverse(N, B, dX, dY, nullptr, d.stream);
  if (e || (e = download(&Y, dY, d.stream)))
    return report_code("block_reverse", e);
  for (int64_t i = 0; i < N; i++) {
    int64_t j = i / B * B + (B - 1 - i % B);
    ref[i] = j < N ? X[j] : 0.0;
  }
  return check("block_reverse", Y, ref, bound);
}

typedef int (*bug_fn)(int64_t, const float *, float *, cudaStream_t);

/* Runs a buggy kernel; prints the code it (or the next synchronisation) returned. */
static int test_bug(const char *name, bug_fn fn, char **argv) {
  int64_t N = arg(argv, 0);
  floats X = random_floats(N, 8), Y(N);
  device d;
  float *dX = upload(&d, X), *dY = device_zeros(&d, N);
  if (!dX || !dY)
    return report_code(name, (int)cudaGetLastError());
  int e = fn(N, dX, dY, d.stream);
  if (e || (e = download(&Y, dY, d.stream)))
    return report_code(name, e);
  printf("%s: no error reported, hash=%016llx\n", name, (unsigned long long)hash_bits(Y));
  return 0;
}

#include "api_test.h"

/* ------------------------------------------------------------------ main */

static const struct {
  const char *name;
  int sizes;
} tests[] = {
    {"matmul", 3},     {"matmul_reg", 3},        {"reduce", 1},
    {"softmax", 2},    {"bias_act", 2},          {"block_reverse", 2},
    {"shared_oob", 1}, {"divergent_barrier", 1}, {"exit_before_barrier", 1},
    {"two_barriers", 1}, {"partial_warp_shuffle", 1}, {"api", 0},
};

static int run_test(const char *name, char **argv) {
  if (!strcmp(name, "matmul"))
    return test_matmul(name, matmul, argv);
  if (!strcmp(name, "matmul_reg"))
    return test_matmul(name, matmul_reg, argv);
  if (!strcmp(name, "reduce"))
    return test_reduce(argv);
  if (!strcmp(name, "softmax"))
    return test_softmax(argv);
  if (!strcmp(name, "bias_act"))
    return test_bias_act(argv);
  if (!strcmp(name, "block_reverse"))
    return test_block_reverse(argv);
  if (!strcmp(name, "shared_oob"))
    return test_bug(name, bug_shared_oob, argv);
  if (!strcmp(name, "divergent_barrier"))
    return test_bug(name, bug_divergent_barrier, argv);
  if (!strcmp(name, "exit_before_barrier"))
    return test_bug(name, bug_exit_before_barrier, argv);
  if (!strcmp(name, "two_barriers"))
    return test_bug(name, bug_two_barriers, argv);
  if (!strcmp(name, "partial_warp_shuffle"))
    return test_bug(name, bug_partial_warp_shuffle, argv);
  return test_api();
}

int main(int argc, char **argv) {
  for (const auto &t : tests)
    if (argc == t.sizes + 2 && !strcmp(argv[1], t.name))
      return run_test(t.name, argv + 2);
  fprintf(stderr, "usage: %s TEST SIZE...; tests:", argv[0]);
  for (const auto &t : tests)
    fprintf(stderr, " %s(%d sizes)", t.name, t.sizes);
  fprintf(stderr, "\n");
  return 2;
}
