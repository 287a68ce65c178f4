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
  if (!driver_gpu_present())
    aotc_error(ctx, noloc, "%s --target %s needs an NVIDIA GPU and this machine has none%s", command, target,
               strcmp(command, "run") ? "" : " (--target cuda-sim runs the emitted CUDA on the CPU simulator)");
  else
    aotc_error(ctx, noloc, "%s --target %s: tuning on a GPU is not supported yet", command, target);
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

static size_t array_bytes(const npy_array *a)
{
  return (size_t)(a->numel > 0 ? a->numel : 0) * (size_t)ir_types[a->type].bytes;
}

static bool write_spec(const char *path, const ir_func *f, const int64_t *sizes, const npy_array *arrays, int n)
{
  FILE *out = fopen(path, "w");
  if (!out)
    return false;
  fprintf(out, "entry %s\nsizes %d", f->name, f->n_params);
  for (int p = 0; p < f->n_params; p++)
    fprintf(out, " %lld", (long long)sizes[p]);
  fputc('\n', out);
  for (int k = 0; k < n; k++)
    fprintf(out, "%s %zu\n", k >= f->n_inputs ? "out" : is_scalar_input(f, k) ? "scalar" : "in",
            array_bytes(&arrays[k]));
  return fclose(out) == 0;
}

static bool write_inputs(const char *path, const ir_func *f, const npy_array *arrays)
{
  FILE *out = fopen(path, "wb");
  bool ok = out != NULL;
  for (int k = 0; ok && k < f->n_inputs; k++)
    ok = fwrite(arrays[k].data, 1, array_bytes(&arrays[k]), out) == array_bytes(&arrays[k]);
  if (out && fclose(out))
    ok = false;
  return ok;
}

static bool read_outputs(const char *path, const ir_func *f, npy_array *arrays, int n)
{
  FILE *in = fopen(path, "rb");
  bool ok = in != NULL;
  for (int k = f->n_inputs; ok && k < n; k++)
    ok = fread(arrays[k].data, 1, array_bytes(&arrays[k]), in) == array_bytes(&arrays[k]);
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

static int sim_argv(aotc_ctx *ctx, const char **argv, const char *dir, const char *rt)
{
  const char *cxx = getenv("CXX"), *objs = getenv("AOTC_CUDA_SIM_OBJS");
  int n = 0;
  argv[n++] = cxx && *cxx ? cxx : "g++";
  argv[n++] = "-std=c++17";
  argv[n++] = "-O2";
  argv[n++] = "-DAOTC_CUDA_SIM";
  argv[n++] = ir_sprintf(ctx, "-I%s", rt);
  n = push_words(ctx, argv, n, getenv("AOTC_CUDA_SIM_FLAGS"));
  argv[n++] = "-x";
  argv[n++] = "c++";
  argv[n++] = ir_sprintf(ctx, "%s/kernel.cu", dir);
  if (objs && *objs) {
    argv[n++] = "-x";
    argv[n++] = "none";
    n = push_words(ctx, argv, n, objs);
  } else {
    argv[n++] = ir_sprintf(ctx, "%s/aotc_cuda_runner.cc", rt);
    argv[n++] = ir_sprintf(ctx, "%s/cuda_sim.cc", rt);
    argv[n++] = ir_sprintf(ctx, "%s/cuda_sim_exec.cc", rt);
  }
  argv[n++] = "-rdynamic";
  return n;
}

static int nvcc_argv(aotc_ctx *ctx, const char **argv, const char *dir, const char *rt)
{
  const char *nvcc = getenv("NVCC");
  int n = 0;
  argv[n++] = nvcc && *nvcc ? nvcc : "nvcc";
  argv[n++] = "-O2";
  argv[n++] = "-arch=native";
  argv[n++] = ir_sprintf(ctx, "-I%s", rt);
  argv[n++] = "-x";
  argv[n++] = "cu";
  argv[n++] = ir_sprintf(ctx, "%s/kernel.cu", dir);
  argv[n++] = ir_sprintf(ctx, "%s/aotc_cuda_runner.cc", rt);
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

/* Runs argv; its stderr to log (NULL: inherited). The exit status, -1 when
 * it could not run or died of a signal. */
static int spawn(const char *const *argv, const char *log, bool verbose)
{
  if (verbose)
    print_argv(argv);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    if (log && (fd < 0 || dup2(fd, 2) < 0))
      _exit(126);
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

static bool build_runner(aotc_ctx *ctx, const run_request *req, const char *dir, bool sim)
{
  const char *argv[MAX_ARGV], *rt = runtime_dir();
  int n = sim ? sim_argv(ctx, argv, dir, rt) : nvcc_argv(ctx, argv, dir, rt);
  argv[n++] = "-o";
  argv[n++] = ir_sprintf(ctx, "%s/runner", dir);
  argv[n++] = "-lpthread";
  argv[n++] = "-ldl";
  argv[n] = NULL;
  char *log = ir_sprintf(ctx, "%s/build.log", dir), line[256];
  driver_tmp_track(log);
  if (spawn(argv, log, req->verbose) == 0)
    return true;
  driver_build_log_line(log, line, sizeof line);
  aotc_error(ctx, noloc, "'%s' failed on the emitted CUDA%s%s", argv[0], line[0] ? ": " : "", line);
  return false;
}

bool driver_run_cuda(aotc_ctx *ctx, const run_request *req, const char *dir, const int64_t *sizes,
                     npy_array *arrays, int n_arrays)
{
  const ir_func *f = req->module->plans[0].func;
  bool sim = !req->target || strcmp(req->target, "cuda");
  char *spec = ir_sprintf(ctx, "%s/spec.txt", dir), *in = ir_sprintf(ctx, "%s/inputs.bin", dir);
  char *out = ir_sprintf(ctx, "%s/outputs.bin", dir), *runner = ir_sprintf(ctx, "%s/runner", dir);
  if (!spec || !in || !out || !runner)
    return false;
  driver_tmp_track(spec);
  driver_tmp_track(in);
  driver_tmp_track(out);
  driver_tmp_track(runner);
  if (!write_spec(spec, f, sizes, arrays, n_arrays) || !write_inputs(in, f, arrays)) {
    aotc_error(ctx, noloc, "cannot write the inputs in '%s'", dir);
    return false;
  }
  if (!build_runner(ctx, req, dir, sim))
    return false;
  const char *argv[] = {runner, spec, in, out, NULL};
  int rc = spawn(argv, NULL, req->verbose);
  if (rc != 0) {
    aotc_error(ctx, noloc, "the emitted CUDA failed on the %s (exit status %d)", sim ? "simulator" : "GPU", rc);
    return false;
  }
  if (!read_outputs(out, f, arrays, n_arrays)) {
    aotc_error(ctx, noloc, "cannot read the outputs of the emitted CUDA");
    return false;
  }
  return true;
}
