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

#endif
