/* demo.c: calls the code aotc emitted for examples/mlp.tc and checks it
 * against plain loops. Built by scripts/example.sh. */
#include "mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 8, K = 256, N = 128 };

static float X[B * K], W[K * N], bias[N], Y[B * N], P[B * N];

static double reference_error(void)
{
  double err = 0;
  for (int b = 0; b < B; b++)
    for (int n = 0; n < N; n++) {
      double acc = 0;
      for (int k = 0; k < K; k++)
        acc += (double)X[b * K + k] * W[k * N + n];
      acc = fmax(acc + bias[n], 0.0);
      err = fmax(err, fabs(acc - Y[b * N + n]) / (1 + fabs(acc)));
    }
  return err;
}

int main(void)
{
  srand(1);
  for (int i = 0; i < B * K; i++) X[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < K * N; i++) W[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < N; i++) bias[i] = (float)rand() / RAND_MAX - 0.5f;
  size_t ws1 = dense_relu_workspace_bytes(B, K, N), ws2 = softmax_workspace_bytes(B, N);
  void *ws = malloc(ws1 > ws2 ? ws1 : ws2);
  if (dense_relu(B, K, N, X, W, bias, Y, ws) || softmax(B, N, Y, P, ws)) {
    fprintf(stderr, "demo: the emitted code rejected the sizes\n");
    return 1;
  }
  double row = 0;
  for (int n = 0; n < N; n++) row += P[n];
  double err = reference_error();
  printf("dense_relu %dx%d * %dx%d: max relative error vs plain loops %.2e\n", B, K, K, N, err);
  printf("softmax row 0 sums to %.6f\n", row);
  free(ws);
  return err < 1e-4 && fabs(row - 1) < 1e-4 ? 0 : 1;
}
