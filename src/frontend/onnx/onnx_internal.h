/* onnx_internal.h: what the ONNX reader's files share. */
#ifndef AOTC_ONNX_INTERNAL_H
#define AOTC_ONNX_INTERNAL_H

#include "graph.h"
#include "onnx.pb-c.h"


/* The decoded contents of a TensorProto: element type, shape and dense
 * row-major data in the context's arena. dir is the model's folder, for
 * external data (NULL: external data refused). Reports on ctx naming what. */
bool onnx_tensor_decode(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, const char *dir,
                        ir_type *type, int *rank, int64_t *shape, void **data);

/* The name of an ONNX data type code, for messages. */
const char *onnx_type_name(int64_t code);

#endif
