/* onnx_attr.h: what the decoders of onnx_ops.c use: the node being decoded
 * and typed readers of its attributes. A reader returns false after
 * reporting an error that names the node and the attribute (a wrong type, a
 * list too long, a value out of range); an absent attribute gives the
 * default. */
#ifndef AOTC_ONNX_ATTR_H
#define AOTC_ONNX_ATTR_H

#include "onnx_internal.h"

typedef struct onnx_decoder {
  onnx_reader *r;
  const Onnx__NodeProto *np;
  ir_node *n;
  int opset; /* of the default domain */
} onnx_decoder;

/* The attribute called name, NULL when absent. */
const Onnx__AttributeProto *onnx_attr_find(const onnx_decoder *d, const char *name);
/* Reports "node 'N' (Op): attribute 'name' <message>"; false. */
bool onnx_attr_fail(onnx_decoder *d, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool onnx_attr_int(onnx_decoder *d, const char *name, int64_t dflt, int64_t *out);
/* An int attribute read as a flag (non-zero: true). */
bool onnx_attr_bool(onnx_decoder *d, const char *name, bool dflt, bool *out);
/* A float attribute (an int is taken as its value). */
bool onnx_attr_float(onnx_decoder *d, const char *name, double dflt, double *out);
/* A string attribute, copied to the arena (dflt when absent). */
bool onnx_attr_string(onnx_decoder *d, const char *name, const char *dflt, const char **out);
/* A string attribute that must be one of names[0 .. n-1]: its position. */
bool onnx_attr_enum(onnx_decoder *d, const char *name, const char *const *names, int n, int dflt, int *out);
/* A list of at most max ints; *count -1 when absent. */
bool onnx_attr_ints(onnx_decoder *d, const char *name, int max, int64_t *out, int *count);
/* An ONNX data type code, as an element type (*given: whether present). */
bool onnx_attr_type(onnx_decoder *d, const char *name, bool required, ir_type *out, bool *given);
/* A one-element tensor attribute: its type and its element's bytes (left
 * as they are when absent). */
bool onnx_attr_scalar(onnx_decoder *d, const char *name, ir_type *type, unsigned char *bytes);
/* kernel_shape, strides, dilations, pads and auto_pad (and ConvTranspose's
 * output_padding when output_padding is not NULL) as a window. */
bool onnx_attr_window(onnx_decoder *d, graph_window *w, int64_t *output_padding);

/* An ints (floats) attribute, when present, as a constant int64 (float32)
 * vector that becomes input k of the node. */
bool onnx_attr_list_input(onnx_decoder *d, const char *name, int k);
bool onnx_attr_floats_input(onnx_decoder *d, const char *name, int k);
/* A subgraph attribute (If's branches, Loop's and Scan's body); NULL
 * (reported) when absent or not a graph. */
const Onnx__GraphProto *onnx_attr_graph(onnx_decoder *d, const char *name);
/* A float32 scalar constant as input k (what names it). */
bool onnx_input_float(onnx_decoder *d, int k, const char *what, double v);

#endif
