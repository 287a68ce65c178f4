/* run_cuda.c: `aotc run --target cuda-sim` and `--target cuda`. run.c emits
 * kernel.cu and kernel.h into its temporary folder; this file writes the
 * inputs and a spec, builds the emitted code with the runner
 * (runtime/aotc_cuda_runner.cc) into a program, by g++ against the CPU
 * simulator or by nvcc for a GPU, runs it in a child process and reads the
 * outputs back. The runtime's folder is $AOTC_RUNTIME_DIR, else the source
 * tree's runtime/ (AOTC_RUNTIME_DIR at build time). For the simulator,
 * $CXX (default g++) compiles; $AOTC_CUDA_SIM_FLAGS adds flags (sanitizers)
 * and $AOTC_CUDA_SIM_OBJS, when set, names prebuilt objects of the runner
 * and the simulator to link instead of compiling them (tests build them
 * once). $NVCC (default nvcc) compiles for a GPU. */
#define _POSIX_C_SOURCE 200809L
#include "driver.h"
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AOTC_RUNTIME_DIR
#define AOTC_RUNTIME_DIR "runtime"
#endif

#define MAX_ARGV 256

static const ir_loc noloc;

bool driver_gpu_present(void)
{
  return access("/dev/nvidiactl", F_OK) == 0 && access("/dev/nvidia0", F_OK) == 0;
}

int driver_cuda_unavailable(aotc_ctx *ctx, const char *command, const char *target)
{
  aotc_error(ctx, noloc, "%s --target %s needs an NVIDIA GPU and this machine has none (--target cuda-sim %s the "
             "emitted CUDA on the CPU simulator)", command, target, strcmp(command, "run") ? "tunes" : "runs");
  return 1;
}

static const char *runtime_dir(void)
{
  const char *env = getenv("AOTC_RUNTIME_DIR");
  return env && *env ? env : AOTC_RUNTIME_DIR;
}

/* ------------------------------------------------------------------------
 * Files exchanged with the runner
 * ------------------------------------------------------------------------ */

static bool is_scalar_input(const ir_func *f, int k)
{
  return k < f->n_inputs && f->tensors[f->inputs[k]]->rank == 0 && f->tensors[f->inputs[k]]->role == IR_INPUT;
}

bool driver_cuda_write_args(const char *dir, const ir_func *f, const int64_t *sizes, void *const *data,
                            const size_t *bytes, int n)
{
  char spec[512], in[512];
  snprintf(spec, sizeof spec, "%s/spec.txt", dir);
  snprintf(in, sizeof in, "%s/inputs.bin", dir);
  driver_tmp_track(spec);
  driver_tmp_track(in);
  FILE *out = fopen(spec, "w");
  if (!out)
    return false;
  fprintf(out, "entry %s\nsizes %d", f->name, f->n_params);
  for (int p = 0; p < f->n_params; p++)
    fprintf(out, " %lld", (long long)sizes[p]);
  fputc('\n', out);
  for (int k = 0; k < n; k++)
    fprintf(out, "%s %zu\n", k >= f->n_inputs ? "out" : is_scalar_input(f, k) ? "scalar" : "in", bytes[k]);
  bool ok = fclose(out) == 0;
  FILE *bin = ok ? fopen(in, "wb") : NULL;
  ok = bin != NULL;
  for (int k = 0; ok && k < f->n_inputs; k++)
    ok = fwrite(data[k], 1, bytes[k], bin) == bytes[k];
  if (bin && fclose(bin))
    ok = false;
  return ok;
}

bool driver_cuda_read_outputs(const char *path, const ir_func *f, void *const *data, const size_t *bytes, int n)
{
  FILE *in = fopen(path, "rb");
  bool ok = in != NULL;
  for (int k = f->n_inputs; ok && k < n; k++)
    ok = fread(data[k], 1, bytes[k], in) == bytes[k];
  if (in)
    fclose(in);
  return ok;
}

/* ------------------------------------------------------------------------
 * Building and running
 * ------------------------------------------------------------------------ */

/* Appends the words of text (split at spaces) to argv. */
static int push_words(aotc_ctx *ctx, const char **argv, int n, const char *text)
{
  char *copy = text ? ir_strndup(ctx, text, strlen(text)) : NULL;
  for (char *save = NULL, *w = copy ? strtok_r(copy, " \t", &save) : NULL; w && n < MAX_ARGV - 16;
       w = strtok_r(NULL, " \t", &save))
    argv[n++] = w;
  return n;
}

/* The compiler and its flags, sources not yet named. */
static int compiler_argv(aotc_ctx *ctx, const char **argv, bool sim, const char *rt)
{
  const char *cxx = getenv("CXX"), *nvcc = getenv("NVCC");
  int n = 0;
  argv[n++] = sim ? (cxx && *cxx ? cxx : "g++") : (nvcc && *nvcc ? nvcc : "nvcc");
  if (sim)
    argv[n++] = "-std=c++17";
  argv[n++] = "-O2";
  argv[n++] = sim ? "-DAOTC_CUDA_SIM" : "-arch=native";
  argv[n++] = ir_sprintf(ctx, "-I%s", rt);
  if (sim)
    n = push_words(ctx, argv, n, getenv("AOTC_CUDA_SIM_FLAGS"));
  return n;
}

/* The runtime's sources a runner links: the runner itself, and the
 * simulator for sim. */
static const char *const runtime_sources[] = {"aotc_cuda_runner.cc", "cuda_sim.cc", "cuda_sim_exec.cc"};

static int runtime_count(bool sim)
{
  return sim ? (int)(sizeof runtime_sources / sizeof runtime_sources[0]) : 1;
}

/* The emitted DIR/kernel.cu (as C++ for the simulator, CUDA for nvcc),
 * then objs (words), else $AOTC_CUDA_SIM_OBJS for the simulator, else the
 * runtime's sources. */
static int build_argv(aotc_ctx *ctx, const char **argv, const char *dir, bool sim, const char *rt, const char *objs)
{
  const char *env = sim ? getenv("AOTC_CUDA_SIM_OBJS") : NULL;
  int n = compiler_argv(ctx, argv, sim, rt);
  objs = objs && *objs ? objs : env && *env ? env : NULL;
  if (sim || !objs) {
    argv[n++] = "-x";
    argv[n++] = sim ? "c++" : "cu";
  }
  argv[n++] = ir_sprintf(ctx, "%s/kernel.cu", dir);
  if (objs && sim) {
    argv[n++] = "-x";
    argv[n++] = "none";
  }
  if (objs)
    n = push_words(ctx, argv, n, objs);
  for (int k = 0; !objs && k < runtime_count(sim); k++)
    argv[n++] = ir_sprintf(ctx, "%s/%s", rt, runtime_sources[k]);
  if (!sim)
    argv[n++] = "-Xcompiler";
  argv[n++] = "-rdynamic";
  return n;
}

static void print_argv(const char *const *argv)
{
  for (int i = 0; argv[i]; i++)
    fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
  fputc('\n', stderr);
}

/* Runs argv; its stderr to log (NULL: inherited); limit_s > 0: killed by
 * SIGALRM after that many seconds (an alarm survives exec). The exit
 * status, -1 when it could not run or died of a signal. */
static int spawn(const char *const *argv, const char *log, bool verbose, unsigned limit_s)
{
  if (verbose)
    print_argv(argv);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    if (log && (fd < 0 || dup2(fd, 2) < 0))
      _exit(126);
    if (limit_s)
      alarm(limit_s);
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  pid_t got;
  while (pid > 0 && (got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *driver_cuda_build_runtime(aotc_ctx *ctx, const char *dir, bool sim, bool verbose)
{
  const char *objs = "", *rt = runtime_dir(), *env = sim ? getenv("AOTC_CUDA_SIM_OBJS") : NULL;
  if (env && *env)
    return env;
  for (int k = 0; objs && k < runtime_count(sim); k++) {
    const char *argv[MAX_ARGV];
    int n = compiler_argv(ctx, argv, sim, rt);
    char *o = ir_sprintf(ctx, "%s/%s.o", dir, runtime_sources[k]), *log = ir_sprintf(ctx, "%s/runtime.log", dir);
    argv[n++] = "-x";
    argv[n++] = sim ? "c++" : "cu";
    argv[n++] = "-c";
    argv[n++] = ir_sprintf(ctx, "%s/%s", rt, runtime_sources[k]);
    argv[n++] = "-o";
    argv[n++] = o;
    argv[n] = NULL;
    driver_tmp_track(o);
    driver_tmp_track(log);
    if (spawn(argv, log, verbose, 0) != 0) {
      char line[256];
      driver_build_log_line(log, line, sizeof line);
      aotc_error(ctx, noloc, "'%s' failed on %s%s%s", argv[0], runtime_sources[k], line[0] ? ": " : "", line);
      return NULL;
    }
    objs = ir_sprintf(ctx, "%s%s%s", objs, *objs ? " " : "", o);
  }
  return objs;
}

bool driver_cuda_build(aotc_ctx *ctx, const char *dir, bool sim, const char *objs, bool verbose)
{
  const char *argv[MAX_ARGV], *rt = runtime_dir();
  int n = build_argv(ctx, argv, dir, sim, rt, objs);
  argv[n++] = "-o";
  argv[n++] = ir_sprintf(ctx, "%s/runner", dir);
  argv[n++] = "-lpthread";
  argv[n++] = "-ldl";
  argv[n] = NULL;
  char *log = ir_sprintf(ctx, "%s/build.log", dir), line[256];
  driver_tmp_track(log);
  if (spawn(argv, log, verbose, 0) == 0)
    return true;
  driver_build_log_line(log, line, sizeof line);
  aotc_error(ctx, noloc, "'%s' failed on the emitted CUDA%s%s", argv[0], line[0] ? ": " : "", line);
  return false;
}

int driver_cuda_exec(const char *dir, const char *io_dir, const char *outputs, int reps, const char *times,
                     unsigned limit_s, bool verbose)
{
  char runner[512], spec[512], in[512], nreps[16];
  snprintf(runner, sizeof runner, "%s/runner", dir);
  snprintf(spec, sizeof spec, "%s/spec.txt", io_dir);
  snprintf(in, sizeof in, "%s/inputs.bin", io_dir);
  snprintf(nreps, sizeof nreps, "%d", reps);
  const char *argv[] = {runner, spec, in, outputs, reps > 0 ? nreps : NULL, times, NULL};
  return spawn(argv, NULL, verbose, limit_s);
}

/* The simulator's identity: fixed, its version that of the CUDA runtime it
 * mimics (cudaRuntimeGetVersion in runtime/cuda_sim.cc). */
#define CUDA_SIM_VERSION 13000

/* Builds a runner around an empty kernel file and asks it (runner --device
 * FILE) what aotc_cuda_device_info_get says. */
static bool query_gpu(aotc_ctx *ctx, driver_cuda_device *dev, bool verbose)
{
  char dir[256], *cu, *info;
  if (!driver_tmpdir_new(ctx, "gpu", dir, sizeof dir) || !(cu = ir_sprintf(ctx, "%s/kernel.cu", dir)) ||
      !(info = ir_sprintf(ctx, "%s/device.txt", dir)))
    return false;
  driver_tmp_track(cu);
  driver_tmp_track(info);
  driver_tmp_track(ir_sprintf(ctx, "%s/runner", dir));
  FILE *f = fopen(cu, "w");
  bool ok = f && fclose(f) == 0 && driver_cuda_build(ctx, dir, false, NULL, verbose);
  const char *argv[] = {ir_sprintf(ctx, "%s/runner", dir), "--device", info, NULL};
  ok = ok && spawn(argv, NULL, verbose, 60) == 0;
  FILE *in = ok ? fopen(info, "r") : NULL;
  ok = in && fgets(dev->name, sizeof dev->name, in) &&
       fscanf(in, "%d %d %d %d", &dev->sm_major, &dev->sm_minor, &dev->runtime_version, &dev->driver_version) == 4;
  if (in)
    fclose(in);
  dev->name[strcspn(dev->name, "\t\n")] = 0;
  driver_tmp_remove(dir);
  if (!ok && !ctx->n_errors)
    aotc_error(ctx, noloc, "cannot ask the GPU for its name and versions (runner --device)");
  return ok;
}

bool driver_cuda_device_get(aotc_ctx *ctx, bool sim, bool verbose, driver_cuda_device *dev)
{
  memset(dev, 0, sizeof *dev);
  if (!sim)
    return query_gpu(ctx, dev, verbose);
  snprintf(dev->name, sizeof dev->name, "cuda-sim");
  dev->runtime_version = dev->driver_version = CUDA_SIM_VERSION;
  return true;
}

static size_t array_bytes(const npy_array *a)
{
  return (size_t)(a->numel > 0 ? a->numel : 0) * (size_t)ir_types[a->type].bytes;
}

bool driver_run_cuda(aotc_ctx *ctx, const run_request *req, const char *dir, const int64_t *sizes,
                     npy_array *arrays, int n_arrays)
{
  const ir_func *f = req->module->plans[0].func;
  bool sim = !req->target || strcmp(req->target, "cuda");
  char *out = ir_sprintf(ctx, "%s/outputs.bin", dir), *runner = ir_sprintf(ctx, "%s/runner", dir);
  void **data = IR_NEW_ARRAY(ctx, void *, n_arrays ? n_arrays : 1);
  size_t *bytes = IR_NEW_ARRAY(ctx, size_t, n_arrays ? n_arrays : 1);
  if (!out || !runner || !data || !bytes)
    return false;
  driver_tmp_track(out);
  driver_tmp_track(runner);
  for (int k = 0; k < n_arrays; k++)
    data[k] = arrays[k].data, bytes[k] = array_bytes(&arrays[k]);
  if (!driver_cuda_write_args(dir, f, sizes, data, bytes, n_arrays)) {
    aotc_error(ctx, noloc, "cannot write the inputs in '%s'", dir);
    return false;
  }
  if (!driver_cuda_build(ctx, dir, sim, NULL, req->verbose))
    return false;
  int rc = driver_cuda_exec(dir, dir, out, 0, NULL, 0, req->verbose);
  if (rc != 0) {
    aotc_error(ctx, noloc, "the emitted CUDA failed on the %s (exit status %d)", sim ? "simulator" : "GPU", rc);
    return false;
  }
  if (!driver_cuda_read_outputs(out, f, data, bytes, n_arrays)) {
    aotc_error(ctx, noloc, "cannot read the outputs of the emitted CUDA");
    return false;
  }
  return true;
}
