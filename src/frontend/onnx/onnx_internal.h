/* onnx_internal.h: what the ONNX reader's files share. */
#ifndef AOTC_ONNX_INTERNAL_H
#define AOTC_ONNX_INTERNAL_H

#include "graph.h"
#include "onnx.pb-c.h"


/* The reader's state while it builds the graph of one model. */
typedef struct onnx_reader {
  aotc_ctx *ctx;
  ir_graph *g;
  ir_loc loc;
  const char *dir; /* the model's folder, for external data */
  int opset;       /* of the default domain */
  const onnx_given *given;
  int n_given;
  bool weights_as_params; /* --weights-as-inputs */
  struct onnx_scope *scope; /* reading a subgraph (onnx_control.c): the graph around it */
} onnx_reader;

/* The value called name as a node of r's graph sees it: its own, or one of
 * a graph around it (a subgraph reads it through a new input); -1 when no
 * graph defines it. */
int onnx_find_value(onnx_reader *r, const char *name);
/* Whether type is If, Loop or Scan; onnx_read_control reads such a node
 * and its subgraphs (onnx_control.c). */
bool onnx_is_control(const char *type);
bool onnx_read_control(onnx_reader *r, const Onnx__NodeProto *np, const char *name, const char *type);

/* A constant value named name holding the decoded tensor tp; -1 (reported)
 * when it cannot be decoded. */
int onnx_add_constant(onnx_reader *r, const char *name, const Onnx__TensorProto *tp);

/* Adds the node (onnx_ops.c): its graph op, typed parameters and inputs
 * from the ONNX op type, attributes and opset; a Constant node becomes a
 * constant value. Errors name the node. */
bool onnx_read_node(onnx_reader *r, const Onnx__NodeProto *np);

/* ONNX TensorProto.DataType codes (also Cast's `to` attribute); false for
 * types the IR does not have (strings, float16, complex). */
bool onnx_ir_type(int64_t code, ir_type *out);

/* The decoded contents of a TensorProto: element type, shape and dense
 * row-major data in the context's arena. dir is the model's folder, for
 * external data (NULL: external data refused). Reports on ctx naming what. */
bool onnx_tensor_decode(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, const char *dir,
                        ir_type *type, int *rank, int64_t *shape, void **data);

/* The name of an ONNX data type code, for messages. */
const char *onnx_type_name(int64_t code);

#endif
