/* onnx_reader.c: the ONNX frontend: decodes a ModelProto with the protobuf-c
 * code generated from onnx.proto (allocating through the context's hook) and
 * builds the model graph: initializers as constants, inputs, nodes through
 * onnx_ops.c, outputs. The passes that follow are the pipeline's
 * (src/driver/pipeline.c): onnx_compile runs them up to verification. */
#include "onnx_internal.h"
#include "pipeline.h"

#include <string.h>

/* Opsets 1-6 differ from 7 in broadcasting (handled) and attributes nobody
 * reads at inference (consumed_inputs, is_test). */
#define ONNX_MIN_OPSET 1
#define ONNX_MAX_OPSET 18
#define ONNX_MAX_NODES 200000 /* nodes (and initializers, inputs, outputs) of one graph */

typedef onnx_reader reader;

static bool is_default_domain(const char *d)
{
  return !d || !*d || !strcmp(d, "ai.onnx");
}

static bool read_opset(reader *r, const Onnx__ModelProto *m)
{
  int64_t version = -1;
  for (size_t k = 0; k < m->n_opset_import; k++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[k];
    if (o && is_default_domain(o->domain) && o->has_version)
      version = o->version;
  }
  if (version == -1) {
    aotc_error(r->ctx, r->loc, "a model without an opset of the default domain (ai.onnx) is not supported");
    return false;
  }
  if (version < ONNX_MIN_OPSET || version > ONNX_MAX_OPSET) {
    aotc_error(r->ctx, r->loc, "opset %lld of the default domain is not supported (supported: %d to %d)",
               (long long)version, ONNX_MIN_OPSET, ONNX_MAX_OPSET);
    return false;
  }
  r->opset = (int)version;
  return true;
}

static const char *safe_name(const char *s)
{
  return s ? s : "";
}

/* ------------------------------------------------------------------------
 * Initializers and inputs
 * ------------------------------------------------------------------------ */

int onnx_add_constant(reader *r, const char *name, const Onnx__TensorProto *tp)
{
  if (ir_graph_find_value(r->g, name) >= 0) {
    aotc_error(r->ctx, r->loc, "tensor '%s' is defined twice", name);
    return -1;
  }
  int v = ir_graph_add_value(r->g, ir_strdup(r->ctx, name));
  if (v < 0)
    return -1;
  ir_value *val = &r->g->values[v];
  void *data;
  const char *what = ir_sprintf(r->ctx, "tensor '%s'", name);
  if (!onnx_tensor_decode(r->ctx, r->loc, what ? what : name, tp, r->dir, &val->type, &val->rank, val->shape, &data))
    return -1;
  val->data = data;
  return v;
}

static bool read_initializers(reader *r, const Onnx__GraphProto *gp)
{
  bool ok = true;
  for (size_t k = 0; k < gp->n_initializer; k++)
    if (gp->initializer[k])
      ok = onnx_add_constant(r, safe_name(gp->initializer[k]->name), gp->initializer[k]) >= 0 && ok;
  if (gp->n_sparse_initializer) {
    aotc_error(r->ctx, r->loc, "sparse initializers are not supported");
    return false;
  }
  return ok;
}

static const onnx_given *find_given(const reader *r, const char *name)
{
  for (int k = 0; k < r->n_given; k++)
    if (r->given[k].name && (!strcmp(r->given[k].name, name) || !strcmp(r->given[k].name, ir_c_identifier(r->ctx, name))))
      return &r->given[k];
  return NULL;
}

static bool input_type(reader *r, const Onnx__ValueInfoProto *vi, ir_value *v)
{
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
      !tp->tensor_type->has_elem_type) {
    aotc_error(r->ctx, r->loc, "input '%s': inputs other than tensors (sequences, optionals, maps) are not supported", v->name);
    return false;
  }
  if (!onnx_ir_type(tp->tensor_type->elem_type, &v->type)) {
    aotc_error(r->ctx, r->loc, "input '%s': element type %s is not supported", v->name,
               onnx_type_name(tp->tensor_type->elem_type));
    return false;
  }
  return true;
}

/* Static dimensions from the model; dynamic ones from the given value, or
 * 1 with a warning. */
static bool input_dims(reader *r, const Onnx__TensorShapeProto *sp, ir_value *v, const onnx_given *gv)
{
  if (!sp && !gv) {
    aotc_error(r->ctx, r->loc, "input '%s' has no shape", v->name);
    return false;
  }
  size_t rank = sp && !(gv && gv->overrides) ? sp->n_dim : (size_t)gv->rank;
  if (rank > IR_MAX_RANK || (gv && (size_t)gv->rank != rank)) {
    aotc_error(r->ctx, r->loc, "input '%s': rank %zu is not supported (at most %d) or does not match the value given",
               v->name, rank, IR_MAX_RANK);
    return false;
  }
  v->rank = (int)rank;
  for (int d = 0; d < v->rank; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = sp ? sp->dim[d] : NULL;
    bool fixed = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    v->shape[d] = fixed && !(gv && gv->overrides) ? dim->dim_value : gv ? gv->shape[d] : 1;
    if (v->shape[d] < 0 || (fixed && gv && !gv->overrides && gv->shape[d] != v->shape[d])) {
      aotc_error(r->ctx, r->loc, "input '%s': dimension %d is negative or does not match the value given", v->name, d);
      return false;
    }
    if (!fixed && !gv)
      aotc_warning(r->ctx, r->loc, "input '%s': dimension %d is dynamic; compiled for size 1", v->name, d);
  }
  return true;
}

static bool read_input(reader *r, const Onnx__ValueInfoProto *vi)
{
  const char *name = safe_name(vi ? vi->name : NULL);
  int v = ir_graph_find_value(r->g, name);
  if (v >= 0 && r->g->values[v].data)
    return true;
  if (v >= 0) {
    aotc_error(r->ctx, r->loc, "input '%s' is declared twice", name);
    return false;
  }
  v = ir_graph_add_value(r->g, ir_strdup(r->ctx, name));
  if (v < 0)
    return false;
  ir_value *val = &r->g->values[v];
  const onnx_given *gv = find_given(r, name);
  val->is_input = true;
  if (!input_type(r, vi, val) ||
      !input_dims(r, vi->type->tensor_type->shape, val, gv))
    return false;
  if (gv && gv->type != val->type) {
    aotc_error(r->ctx, r->loc, "input '%s' is %s, the value given is %s", name, ir_types[val->type].name,
               ir_types[gv->type].name);
    return false;
  }
  val->given = gv ? gv->data : NULL;
  return true;
}

static bool read_inputs(reader *r, const Onnx__GraphProto *gp)
{
  bool ok = true;
  r->g->inputs = IR_NEW_ARRAY(r->ctx, int, (int)gp->n_input);
  if (!r->g->inputs)
    return false;
  for (size_t k = 0; k < gp->n_input; k++) {
    if (!gp->input[k] || !read_input(r, gp->input[k])) {
      ok = false;
      continue;
    }
    int v = ir_graph_find_value(r->g, safe_name(gp->input[k]->name));
    if (!r->g->values[v].data)
      r->g->inputs[r->g->n_inputs++] = v;
  }
  return ok;
}

static bool read_outputs(reader *r, const Onnx__GraphProto *gp)
{
  r->g->outputs = IR_NEW_ARRAY(r->ctx, int, (int)gp->n_output);
  if (!r->g->outputs)
    return false;
  for (size_t k = 0; k < gp->n_output; k++) {
    const char *name = safe_name(gp->output[k] ? gp->output[k]->name : NULL);
    int v = ir_graph_find_value(r->g, name);
    if (v < 0) {
      aotc_error(r->ctx, r->loc, "graph output '%s' is not defined", name);
      return false;
    }
    r->g->values[v].is_output = true;
    r->g->outputs[r->g->n_outputs++] = v;
  }
  if (!gp->n_output)
    aotc_error(r->ctx, r->loc, "the graph has no outputs");
  return gp->n_output > 0;
}

/* Bounds on the work one model may ask for (compile time is near-linear in
 * these, memory too). */
static bool within_limits(reader *r, const Onnx__GraphProto *gp)
{
  size_t n[] = {gp->n_node, gp->n_initializer, gp->n_input, gp->n_output};
  static const char *const what[] = {"nodes", "initializers", "inputs", "outputs"};
  for (int k = 0; k < 4; k++)
    if (n[k] > ONNX_MAX_NODES) {
      aotc_error(r->ctx, r->loc, "the model has %zu %s; at most %d are supported", n[k], what[k], ONNX_MAX_NODES);
      return false;
    }
  return true;
}

static bool read_graph(reader *r, const Onnx__GraphProto *gp)
{
  bool ok = within_limits(r, gp) && read_initializers(r, gp) && read_inputs(r, gp);
  for (size_t k = 0; ok && k < gp->n_node; k++)
    if (!gp->node[k] || !onnx_read_node(r, gp->node[k]))
      ok = false;
  return ok && read_outputs(r, gp);
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

static char *dir_of(aotc_ctx *ctx, const char *path)
{
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? ir_strndup(ctx, path, (size_t)(slash - path)) : ir_strdup(ctx, ".");
}

/* protobuf-c allocates through the context's hook, so out-of-memory
 * injection reaches the decoder too. */
static void *pb_alloc(void *ctx, size_t size)
{
  return aotc_malloc(ctx, size);
}

static void pb_free(void *ctx, void *p)
{
  aotc_free(ctx, p);
}

static Onnx__ModelProto *unpack_model(aotc_ctx *ctx, const unsigned char *data, size_t len,
                                      ProtobufCAllocator *pa)
{
  *pa = (ProtobufCAllocator){.alloc = pb_alloc, .free = pb_free, .allocator_data = ctx};
  return onnx__model_proto__unpack(pa, len, data);
}

static bool read_model(reader *r, const Onnx__ModelProto *mp)
{
  if (!mp->graph) {
    aotc_error(r->ctx, r->loc, "the model has no graph");
    return false;
  }
  r->g = ir_graph_new(r->ctx, r->loc);
  if (r->g)
    r->g->weights_as_params = r->weights_as_params;
  return r->g && read_opset(r, mp) && read_graph(r, mp->graph);
}

ir_graph *onnx_read_graph(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                          const onnx_options *opt)
{
  const aotc_source *src = aotc_add_source(ctx, path ? path : "<onnx>", "", 0);
  reader r = {.ctx = ctx, .loc = {src, 0, 0}, .dir = dir_of(ctx, path), .given = opt ? opt->given : NULL,
              .n_given = opt ? opt->n_given : 0, .weights_as_params = opt && opt->weights_as_params};
  ProtobufCAllocator pa;
  Onnx__ModelProto *mp = unpack_model(ctx, data, len, &pa);
  if (!mp) {
    aotc_error(ctx, r.loc, ctx->oom ? "out of memory decoding the ONNX model"
                                    : "not a valid ONNX model (the protobuf cannot be decoded)");
    return NULL;
  }
  bool ok = read_model(&r, mp);
  onnx__model_proto__free_unpacked(mp, &pa);
  return ok && !ctx->n_errors && !ctx->oom ? r.g : NULL;
}

ir_module *onnx_compile_opts(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                             const char *func_name, const onnx_options *opt)
{
  return driver_compile_onnx(ctx, path, data, len, func_name, opt);
}

ir_module *onnx_compile_given(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                              const char *func_name, const onnx_given *given, int n_given)
{
  onnx_options opt = {.given = given, .n_given = n_given};
  return onnx_compile_opts(ctx, path, data, len, func_name, &opt);
}

ir_module *onnx_compile(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                        const char *func_name)
{
  return onnx_compile_opts(ctx, path, data, len, func_name, NULL);
}

const char **onnx_model_inputs(aotc_ctx *ctx, const unsigned char *data, size_t len, int *n)
{
  ProtobufCAllocator pa;
  Onnx__ModelProto *mp = unpack_model(ctx, data, len, &pa);
  const char **names = NULL;
  *n = 0;
  if (!mp || !mp->graph) {
    if (mp)
      onnx__model_proto__free_unpacked(mp, &pa);
    return ctx->oom ? NULL : IR_NEW_ARRAY(ctx, const char *, 0);
  }
  const Onnx__GraphProto *gp = mp->graph;
  names = IR_NEW_ARRAY(ctx, const char *, (int)gp->n_input);
  for (size_t k = 0; names && k < gp->n_input; k++) {
    const char *name = safe_name(gp->input[k] ? gp->input[k]->name : NULL);
    bool init = false;
    for (size_t j = 0; j < gp->n_initializer; j++)
      init |= gp->initializer[j] && !strcmp(safe_name(gp->initializer[j]->name), name);
    if (!init)
      names[(*n)++] = ir_strdup(ctx, name);
  }
  onnx__model_proto__free_unpacked(mp, &pa);
  return names;
}
