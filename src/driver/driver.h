/* driver.h: what the command-line driver's files share. */
#ifndef AOTC_DRIVER_H
#define AOTC_DRIVER_H

#include "ir.h"
#include "npy.h"
#include "pipeline.h"

typedef struct run_input {
  const char *name;
  const char *path;
} run_input;

typedef struct run_request {
  driver_module *module; /* after the select pass: one plan; run emits it */
  int n_inputs;
  const run_input *inputs;
  const char *output_dir;
  const char *const *model_inputs; /* a model's input names (some may have been folded into constants) */
  int n_model_inputs;
  npy_array *loaded; /* NULL, or inputs[i] already read: taken over (data set to NULL) */
  bool interpret;   /* run the reference interpreter instead of compiled code */
  bool keep_temps;  /* leave the temporary build directory in place */
  bool verbose;
  const char *target; /* --target: NULL or "c"; "cuda-sim" (run_cuda.c); "cuda" */
  bool llvm;          /* --backend llvm: compiled in-process by the LLVM backend (llvm_driver.c) */
} run_request;

/* Loads an array from a .npy file or a serialized ONNX TensorProto (.pb),
 * told apart by content; its data comes from ctx's allocation hook. */
bool driver_load_array(aotc_ctx *ctx, const char *path, npy_array *out);

/* Parses --shape NAME=D0,D1,... (shape_spec.c). */
#define DRIVER_MAX_SHAPE_RANK 16
bool driver_parse_shape(aotc_ctx *ctx, const char *spec, onnx_shape_spec *out);

/* `aotc run`: binds sizes from the inputs, runs the backend passes into a
 * temporary folder, builds and runs the code (build.h), and writes one
 * .npy per output, all or none. Returns 0 on success. */
int driver_run(aotc_ctx *ctx, const run_request *req);
/* The backend passes of m (after select) write cpath and hpath, the .c
 * including header_name; both are tracked as temporaries. */
bool driver_emit_files(aotc_ctx *ctx, driver_module *m, const char *cpath, const char *hpath, const char *header_name);

/* run_cuda.c: `aotc run --target cuda-sim` (and cuda, on a machine with a
 * GPU): the emitted .cu built with a runner (runtime/aotc_cuda_runner.cc)
 * by g++ against the simulator (or by nvcc), run on the inputs in a child
 * process. args: inputs then outputs, sizes: the size parameters. */
bool driver_run_cuda(aotc_ctx *ctx, const run_request *req, const char *tmpdir, const int64_t *sizes,
                     npy_array *arrays, int n_arrays);
/* The steps of driver_run_cuda, shared with the tuner (src/autotune):
 * DIR/spec.txt and DIR/inputs.bin for the runner (data: inputs then
 * outputs, bytes each); DIR/kernel.cu and kernel.h built with the runner
 * into DIR/runner (g++ and the simulator when sim, else nvcc; the first
 * line of the compiler's messages reported on ctx); DIR/runner run on the
 * spec and inputs in IO_DIR,
 * the outputs into outputs, and with reps > 0 the entry called reps more
 * times and the median seconds of one call (CUDA events; the simulator: wall
 * time) written as text to times; limit_s > 0: stopped after that many
 * seconds. The exit status, -1 when it died (or was stopped);
 * the outputs read back into data. */
bool driver_cuda_write_args(const char *dir, const ir_func *f, const int64_t *sizes, void *const *data,
                            const size_t *bytes, int n);
bool driver_cuda_build(aotc_ctx *ctx, const char *dir, bool sim, const char *objs, bool verbose);
/* The runtime's part of every runner (the runner, and the simulator for
 * sim) compiled once into DIR ($AOTC_CUDA_SIM_OBJS when set, for the
 * simulator): the objects' paths, separated by spaces, for
 * driver_cuda_build's objs (NULL there: $AOTC_CUDA_SIM_OBJS for the
 * simulator, else the sources compiled with each kernel); NULL (reported
 * on ctx) on failure. */
const char *driver_cuda_build_runtime(aotc_ctx *ctx, const char *dir, bool sim, bool verbose);
int driver_cuda_exec(const char *dir, const char *io_dir, const char *outputs, int reps, const char *times,
                     unsigned limit_s, bool verbose);
bool driver_cuda_read_outputs(const char *path, const ir_func *f, void *const *data, const size_t *bytes, int n);
/* What the tuning cache keys CUDA code on. */
typedef struct driver_cuda_device {
  char name[256];        /* cudaDeviceProp.name; "cuda-sim" for the simulator */
  int sm_major, sm_minor; /* compute capability; 0 for the simulator */
  int runtime_version, driver_version;
} driver_cuda_device;
/* sim: the simulator's fixed identity; else the GPU's, asked through a
 * runner built for the purpose (false, reported on ctx, when that fails). */
bool driver_cuda_device_get(aotc_ctx *ctx, bool sim, bool verbose, driver_cuda_device *dev);
/* One line saying that `aotc COMMAND --target TARGET` needs a GPU and
 * there is none; returns 1. */
int driver_cuda_unavailable(aotc_ctx *ctx, const char *command, const char *target);
/* Does this machine have an NVIDIA GPU the driver can open? */
bool driver_gpu_present(void);
/* ------------------------------------------------------------------------
 * Training (train.c): aotc train, aotc run --train
 * ------------------------------------------------------------------------ */

typedef struct driver_train {
  bool on;         /* aotc train, or run --train */
  int loss;        /* train_loss (src/train/train.h) */
  int optimizer;   /* train_optimizer */
  double hyper[7]; /* TRAIN_HYPER_*: lr, momentum or beta1, beta2, eps, weight decay, (step), seed */
  bool given[7];   /* which of them the command line gave */
  int steps;       /* run --train: steps to take (default 1) */
  int init;           /* train_init: --init kaiming|xavier (model: the initializers) */
  double bn_momentum; /* --bn-momentum (PyTorch's convention, default 0.1) */
  bool bn_momentum_given;
  bool bn_eval;       /* --batchnorm eval: running statistics frozen */
  bool ddp;        /* train --ddp: gradient-synchronisation hooks (docs/ddp.md) */
} driver_train;

/* The running statistics the training step updates (2 per batch
 * normalisation in training mode): they follow the parameters among the
 * step's outputs (train.c). */
int driver_train_buffers(const driver_module *m);
/* The print pass of a training module: NAME_params_save/_load (blob.c). */
bool driver_train_emit_blob(driver_module *m);
/* The value of an option given as `--opt V` or `--opt=V`; advances *i;
 * NULL (reported) when it is missing (train.c; main.c uses it too). */
const char *driver_option_value(aotc_ctx *ctx, int argc, char **argv, int *i, const char *name);

/* Parses a training option at argv[*i] (--loss, --optimizer, --lr,
 * --momentum, --beta1, --beta2, --eps, --weight-decay, --steps, --train,
 * --ddp);
 * 1: parsed, 0: not a training option, -1: bad value (reported). */
int driver_parse_train_option(aotc_ctx *ctx, driver_train *t, int argc, char **argv, int *i);
/* --seed S (shared with tune): the training seed (init, dropout). */
void driver_train_seed(driver_train *t, double seed);
/* The defaults (PyTorch's) for what the command line did not give. */
void driver_train_defaults(driver_train *t);
/* aotc run MODEL --train: compiles the training step and takes t->steps
 * steps on the inputs (x..., target), starting from the initializers;
 * writes DIR/loss.npy (one loss per step) and DIR/<parameter>.npy. */
int driver_run_train(aotc_ctx *ctx, driver_module *m, const driver_train *t, const run_input *inputs, int n_inputs,
                     const char *output_dir, bool interpret, bool keep_temps, bool verbose);

#endif
