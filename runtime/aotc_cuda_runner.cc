/* aotc_cuda_runner.cc: the program `aotc run --target cuda-sim` (and cuda) builds around an
 * emitted .cu: it reads a spec and the inputs written by aotc, copies them to the device,
 * calls the entry's packed form NAME_call on a stream, copies the outputs back and writes
 * them for aotc. Compiled with g++ -DAOTC_CUDA_SIM against the simulator, or with nvcc
 * (-x cu) for a GPU; linked with the emitted code and -rdynamic, it finds the entry with
 * dlsym, so one object serves every entry.
 *
 *   runner SPEC INPUTS OUTPUTS [REPS TIMES]
 *   runner --device INFO
 *
 * With REPS, the entry is called REPS more times after the checked call, each bracketed by
 * CUDA events (aotc_cuda_timer), and the median seconds of one call written as text to TIMES
 * (the tuner's timing; on the simulator the events hold wall time). --device writes the
 * device's name, then `SM_MAJOR SM_MINOR RUNTIME_VERSION DRIVER_VERSION` (the tuning cache's
 * key) to INFO.
 *
 * SPEC is text: `entry NAME`, `sizes N v1 .. vN`, then one line per argument in order,
 * `in BYTES`, `scalar BYTES` (a rank-0 input, passed by value) or `out BYTES`. INPUTS holds
 * the inputs' bytes one after the other, OUTPUTS receives the outputs'. Exit status 0, or
 * 2 (bad spec or files), 3 (a CUDA error or a non-zero return, printed on stderr). */
#include "aotc_cuda.h"

#include <algorithm>
#include <dlfcn.h>
#include <vector>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace, cudaStream_t stream);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

enum { MAX_ARGS = 4096, MAX_SIZES = 1024 };

struct runner_arg {
  char kind[8];
  size_t bytes;
  void *host, *dev;
};

struct runner {
  char entry[512];
  int n_sizes, n_args;
  int reps;          /* timed calls after the checked one; 0: none */
  const char *times; /* where their median goes */
  int64_t sizes[MAX_SIZES];
  runner_arg args[MAX_ARGS];
};

static bool read_spec(const char *path, runner *r) {
  FILE *in = fopen(path, "r");
  unsigned long long bytes;
  bool ok = in && fscanf(in, " entry %511s sizes %d", r->entry, &r->n_sizes) == 2 && r->n_sizes >= 0 &&
            r->n_sizes <= MAX_SIZES;
  for (int i = 0; ok && i < r->n_sizes; i++)
    ok = fscanf(in, " %lld", (long long *)&r->sizes[i]) == 1;
  r->n_args = 0;
  while (ok && r->n_args < MAX_ARGS && fscanf(in, " %7s %llu", r->args[r->n_args].kind, &bytes) == 2)
    r->args[r->n_args++].bytes = (size_t)bytes;
  if (in)
    fclose(in);
  return ok;
}

static bool read_inputs(const char *path, runner *r) {
  FILE *in = fopen(path, "rb");
  bool ok = in != NULL;
  for (int i = 0; ok && i < r->n_args; i++) {
    runner_arg *a = &r->args[i];
    a->host = calloc(a->bytes ? a->bytes : 1, 1);
    ok = a->host && (strcmp(a->kind, "out") == 0 || fread(a->host, 1, a->bytes, in) == a->bytes);
  }
  if (in)
    fclose(in);
  return ok;
}

static int copy_in(runner *r, void **call_args) {
  for (int i = 0; i < r->n_args; i++) {
    runner_arg *a = &r->args[i];
    if (strcmp(a->kind, "scalar") == 0) {
      call_args[i] = a->host;
      continue;
    }
    AOTC_CUDA_TRY(cudaMalloc(&a->dev, a->bytes ? a->bytes : 1));
    call_args[i] = a->dev;
    if (strcmp(a->kind, "in") == 0 && a->bytes)
      AOTC_CUDA_TRY(cudaMemcpy(a->dev, a->host, a->bytes, cudaMemcpyHostToDevice));
  }
  return 0;
}

static int copy_out(runner *r) {
  for (int i = 0; i < r->n_args; i++)
    if (strcmp(r->args[i].kind, "out") == 0 && r->args[i].bytes)
      AOTC_CUDA_TRY(cudaMemcpy(r->args[i].host, r->args[i].dev, r->args[i].bytes, cudaMemcpyDeviceToHost));
  return 0;
}

static bool write_outputs(const char *path, const runner *r) {
  FILE *out = fopen(path, "wb");
  bool ok = out != NULL;
  for (int i = 0; ok && i < r->n_args; i++)
    if (strcmp(r->args[i].kind, "out") == 0)
      ok = fwrite(r->args[i].host, 1, r->args[i].bytes, out) == r->args[i].bytes;
  if (out && fclose(out))
    ok = false;
  return ok;
}

/* reps calls, each timed by events; the median to r->times. */
static int time_entry(runner *r, packed_fn fn, void **call_args, void *ws, cudaStream_t stream) {
  std::vector<float> ms((size_t)r->reps);
  aotc_cuda_timer t;
  int rc = aotc_cuda_timer_create(&t);
  for (int i = 0; rc == 0 && i < r->reps; i++) {
    rc = aotc_cuda_timer_start(&t, stream);
    if (rc == 0)
      rc = fn(r->sizes, call_args, ws, stream);
    if (rc == 0)
      rc = aotc_cuda_timer_stop(&t, stream, &ms[(size_t)i]);
  }
  aotc_cuda_timer_destroy(&t);
  if (rc)
    return rc;
  std::sort(ms.begin(), ms.end());
  FILE *out = fopen(r->times, "w");
  if (!out || fprintf(out, "%.9g\n", ms[ms.size() / 2] * 1e-3) < 0 || fclose(out)) {
    fprintf(stderr, "aotc-runner: cannot write %s\n", r->times);
    return 2;
  }
  return 0;
}

static int write_device(const char *path) {
  aotc_cuda_device_info d;
  int rc = aotc_cuda_device_info_get(0, &d);
  FILE *out = rc == 0 ? fopen(path, "w") : NULL;
  if (rc)
    aotc_cuda_print_error(stderr, "aotc-runner", rc);
  if (!out)
    return rc ? 3 : 2;
  fprintf(out, "%s\n%d %d %d %d\n", d.name, d.sm_major, d.sm_minor, d.runtime_version, d.driver_version);
  return fclose(out) ? 2 : 0;
}

/* The entry on the device: workspace, stream, call, wait. */
static int call_entry(runner *r, packed_fn fn, packed_ws_fn ws_fn, void **call_args) {
  void *ws = NULL;
  cudaStream_t stream = NULL;
  size_t ws_bytes = ws_fn(r->sizes);
  int rc = copy_in(r, call_args);
  if (rc == 0 && ws_bytes)
    rc = (int)cudaMalloc(&ws, ws_bytes);
  if (rc == 0)
    rc = aotc_cuda_stream_create(&stream);
  if (rc == 0 && (rc = fn(r->sizes, call_args, ws, stream)) != 0)
    fprintf(stderr, "aotc-runner: %s returned %d (%s)\n", r->entry, rc, aotc_cuda_error_name(rc));
  else if (rc == 0 && (rc = aotc_cuda_stream_sync(stream)) == 0)
    rc = copy_out(r);
  if (rc == 0 && r->reps > 0)
    rc = time_entry(r, fn, call_args, ws, stream);
  aotc_cuda_stream_destroy(stream);
  cudaFree(ws);
  for (int i = 0; i < r->n_args; i++)
    cudaFree(r->args[i].dev);
  return rc;
}

static void free_host(runner *r) {
  for (int i = 0; i < r->n_args; i++)
    free(r->args[i].host);
}

int main(int argc, char **argv) {
  static runner r;
  static void *call_args[MAX_ARGS];
  char name[600];
  if (argc == 3 && strcmp(argv[1], "--device") == 0)
    return write_device(argv[2]);
  r.reps = argc == 6 ? atoi(argv[4]) : 0;
  r.times = argc == 6 ? argv[5] : NULL;
  if ((argc != 4 && argc != 6) || !read_spec(argv[1], &r) || !read_inputs(argv[2], &r)) {
    fprintf(stderr, "aotc-runner: bad spec or inputs\n");
    free_host(&r);
    return 2;
  }
  snprintf(name, sizeof name, "%s_call", r.entry);
  packed_fn fn = (packed_fn)dlsym(RTLD_DEFAULT, name);
  snprintf(name, sizeof name, "%s_call_workspace_bytes", r.entry);
  packed_ws_fn ws_fn = (packed_ws_fn)dlsym(RTLD_DEFAULT, name);
  if (!fn || !ws_fn) {
    fprintf(stderr, "aotc-runner: the program lacks %s_call\n", r.entry);
    free_host(&r);
    return 2;
  }
  int rc = call_entry(&r, fn, ws_fn, call_args);
  if (rc)
    aotc_cuda_print_error(stderr, "aotc-runner", rc);
  bool ok = rc == 0 && write_outputs(argv[3], &r);
  free_host(&r);
  return ok ? 0 : rc ? 3 : 2;
}
