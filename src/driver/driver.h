/* driver.h: what the command-line driver's files share. */
#ifndef AOTC_DRIVER_H
#define AOTC_DRIVER_H

#include "ir.h"
#include "npy.h"

typedef struct run_input {
  const char *name;
  const char *path;
} run_input;

typedef struct run_request {
  const ir_func *func;
  const emit_options *emit;
  int n_inputs;
  const run_input *inputs;
  const char *output_dir;
  const char *const *model_inputs; /* a model's input names (some may have been folded into constants) */
  int n_model_inputs;
  npy_array *loaded; /* NULL, or inputs[i] already read: taken over (data set to NULL) */
  bool interpret;   /* run the reference interpreter instead of compiled code */
  bool keep_temps;  /* leave the temporary build directory in place */
  bool verbose;
} run_request;

/* Loads an array from a .npy file or a serialized ONNX TensorProto (.pb),
 * told apart by content. */
bool driver_load_array(aotc_ctx *ctx, const char *path, npy_array *out);

/* Parses --shape NAME=D0,D1,... (shape_spec.c). */
#define IR_MAX_RANK_SPEC 16
bool driver_parse_shape(aotc_ctx *ctx, const char *spec, onnx_shape_spec *out);

/* `aotc run`: binds sizes from the inputs, builds and runs the code, and
 * writes one .npy per output. Returns 0 on success. */
int driver_run(aotc_ctx *ctx, const ir_module *m, const run_request *req);

#endif
