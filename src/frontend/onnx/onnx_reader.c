/* onnx_reader.c: the ONNX frontend: decodes a ModelProto with the protobuf-c
 * code generated from onnx.proto, builds the model graph (initializers as
 * constants, inputs, nodes with their attributes, outputs), then runs the
 * graph passes and lowers it to one IR function. */
#include "onnx_internal.h"

#include <string.h>

/* Opsets 1-6 differ from 7 in broadcasting (handled) and attributes nobody
 * reads at inference (consumed_inputs, is_test). */
#define ONNX_MIN_OPSET 1
#define ONNX_MAX_OPSET 18

typedef struct reader {
  aotc_ctx *ctx;
  ir_graph *g;
  ir_loc loc;
  const char *dir; /* the model's folder, for external data */
  int opset;
  const onnx_given *given;
  int n_given;
} reader;

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

static int add_constant(reader *r, const char *name, const Onnx__TensorProto *tp)
{
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
      ok = add_constant(r, safe_name(gp->initializer[k]->name), gp->initializer[k]) >= 0 && ok;
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
  if (!ir_type_from_onnx(tp->tensor_type->elem_type, &v->type)) {
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
  size_t rank = sp ? sp->n_dim : (size_t)gv->rank;
  if (rank > IR_MAX_RANK || (gv && (size_t)gv->rank != rank)) {
    aotc_error(r->ctx, r->loc, "input '%s': rank %zu is not supported (at most %d) or does not match the value given",
               v->name, rank, IR_MAX_RANK);
    return false;
  }
  v->rank = (int)rank;
  for (int d = 0; d < v->rank; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = sp ? sp->dim[d] : NULL;
    bool fixed = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    v->shape[d] = fixed ? dim->dim_value : gv ? gv->shape[d] : 1;
    if (v->shape[d] < 0 || (fixed && gv && gv->shape[d] != v->shape[d])) {
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

/* ------------------------------------------------------------------------
 * Nodes and attributes
 * ------------------------------------------------------------------------ */

static bool read_tensor_attr(reader *r, const Onnx__AttributeProto *a, ir_attr *out, const char *node)
{
  const char *what = ir_sprintf(r->ctx, "attribute '%s' of node '%s'", out->name, node);
  out->kind = IR_ATTR_TENSOR;
  out->value = add_constant(r, what ? what : "", a->t);
  return out->value >= 0;
}

static bool read_list_attr(reader *r, const Onnx__AttributeProto *a, ir_attr *out)
{
  bool floats = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  size_t n = floats ? a->n_floats : a->n_ints;
  if (n > (1 << 24))
    return false;
  out->kind = floats ? IR_ATTR_FLOATS : IR_ATTR_INTS;
  out->n = (int)n;
  if (floats) {
    out->floats = IR_NEW_ARRAY(r->ctx, double, out->n);
    for (int k = 0; out->floats && k < out->n; k++)
      out->floats[k] = a->floats[k];
    return out->floats != NULL;
  }
  out->ints = IR_NEW_ARRAY(r->ctx, int64_t, out->n);
  if (out->ints && n)
    memcpy(out->ints, a->ints, sizeof(int64_t) * n);
  return out->ints != NULL;
}

static bool read_attr(reader *r, const Onnx__AttributeProto *a, ir_attr *out, const char *node)
{
  out->name = ir_strdup(r->ctx, safe_name(a->name));
  switch (a->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: out->kind = IR_ATTR_INT; out->i = a->i; return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: out->kind = IR_ATTR_FLOAT; out->f = a->f; return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    out->kind = IR_ATTR_STRING;
    out->s = ir_strndup(r->ctx, a->s.data ? (const char *)a->s.data : "", a->s.len);
    return out->s != NULL;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return read_list_attr(r, a, out);
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return a->t && read_tensor_attr(r, a, out, node);
  default: out->kind = IR_ATTR_OTHER; return true;
  }
}

static bool read_attrs(reader *r, const Onnx__NodeProto *np, ir_node *n)
{
  n->attrs = IR_NEW_ARRAY(r->ctx, ir_attr, (int)np->n_attribute);
  if (!n->attrs)
    return false;
  for (size_t k = 0; k < np->n_attribute; k++) {
    if (!np->attribute[k])
      continue;
    if (!read_attr(r, np->attribute[k], &n->attrs[n->n_attrs++], n->name)) {
      aotc_error(r->ctx, r->loc, "node '%s' (%s): attribute '%s' is malformed", n->name, ir_node_op_names[n->op],
                 safe_name(np->attribute[k]->name));
      return false;
    }
  }
  return true;
}

static bool link_inputs(reader *r, const Onnx__NodeProto *np, ir_node *n)
{
  for (size_t k = 0; k < np->n_input; k++) {
    const char *name = safe_name(np->input[k]);
    if (!*name)
      continue;
    n->in[k] = ir_graph_find_value(r->g, name);
    if (n->in[k] < 0) {
      aotc_error(r->ctx, r->loc, "node '%s' (%s) reads '%s', which no earlier node, input or initializer defines",
                 n->name, ir_node_op_names[n->op], name);
      return false;
    }
  }
  return true;
}

static bool link_outputs(reader *r, const Onnx__NodeProto *np, ir_node *n, int node_index)
{
  for (size_t k = 0; k < np->n_output; k++) {
    const char *name = safe_name(np->output[k]);
    if (!*name)
      continue;
    n->out[k] = ir_graph_add_value(r->g, ir_strdup(r->ctx, name));
    if (n->out[k] < 0)
      return false;
    r->g->values[n->out[k]].producer = node_index;
  }
  return true;
}

static const char *node_name(reader *r, const Onnx__NodeProto *np)
{
  if (np->name && *np->name)
    return ir_strdup(r->ctx, np->name);
  if (np->n_output && np->output[0] && *np->output[0])
    return ir_strdup(r->ctx, np->output[0]);
  return ir_sprintf(r->ctx, "#%d", r->g->n_nodes);
}

static bool read_node(reader *r, const Onnx__NodeProto *np)
{
  ir_node_op op;
  const char *name = node_name(r, np), *type = safe_name(np->op_type);
  if (!is_default_domain(np->domain)) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): domain '%s' is not supported", name, type, np->domain);
    return false;
  }
  if (!ir_node_op_from_name(type, &op)) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): operator is not supported", name, type);
    return false;
  }
  if (np->n_input > 1024 || np->n_output > 1024) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): too many inputs or outputs", name, type);
    return false;
  }
  int index = r->g->n_nodes;
  ir_node *n = ir_graph_add_node(r->g, op, name, (int)np->n_input, (int)np->n_output);
  if (!n)
    return false;
  n->opset = r->opset;
  return read_attrs(r, np, n) && link_inputs(r, np, n) && link_outputs(r, np, n, index);
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

static bool read_graph(reader *r, const Onnx__GraphProto *gp)
{
  bool ok = read_initializers(r, gp) && read_inputs(r, gp);
  for (size_t k = 0; ok && k < gp->n_node; k++)
    if (!gp->node[k] || !read_node(r, gp->node[k]))
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

static ir_module *module_of(aotc_ctx *ctx, ir_func *f)
{
  ir_module *m = IR_NEW(ctx, ir_module);
  if (!m || !f)
    return NULL;
  m->funcs = IR_NEW_ARRAY(ctx, ir_func *, 1);
  if (!m->funcs)
    return NULL;
  m->funcs[0] = f;
  m->n_funcs = 1;
  return m;
}

/* Every graph output got a type and shape from the node producing it (a
 * node may name more outputs than its operator has). */
static bool outputs_inferred(reader *r)
{
  for (int k = 0; k < r->g->n_outputs; k++) {
    const ir_value *v = &r->g->values[r->g->outputs[k]];
    const ir_node *p = v->producer >= 0 ? &r->g->nodes[v->producer] : NULL;
    if (v->rank >= 0)
      continue;
    aotc_error(r->ctx, r->loc, "graph output '%s' is not computed%s%s%s", v->name, p ? " by node '" : "",
               p ? p->name : "", p ? "': its operator has fewer outputs" : "");
    return false;
  }
  return true;
}

static ir_func *compile_model(reader *r, const Onnx__ModelProto *mp, const char *func_name)
{
  if (!mp->graph) {
    aotc_error(r->ctx, r->loc, "the model has no graph");
    return NULL;
  }
  r->g = ir_graph_new(r->ctx, r->loc);
  if (!r->g || !read_opset(r, mp) || !read_graph(r, mp->graph) || !ir_graph_infer(r->g) || !outputs_inferred(r) ||
      !ir_graph_fold_batchnorm(r->g))
    return NULL;
  ir_graph_dce(r->g);
  return ir_graph_lower(r->g, func_name);
}

ir_module *onnx_compile_given(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                              const char *func_name, const onnx_given *given, int n_given)
{
  const aotc_source *src = aotc_add_source(ctx, path ? path : "<onnx>", "", 0);
  reader r = {.ctx = ctx, .loc = {src, 0, 0}, .dir = dir_of(ctx, path), .given = given, .n_given = n_given};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
  if (!mp) {
    aotc_error(ctx, r.loc, "not a valid ONNX model (the protobuf cannot be decoded)");
    return NULL;
  }
  ir_func *f = compile_model(&r, mp, func_name ? func_name : "model");
  onnx__model_proto__free_unpacked(mp, NULL);
  if (!f || ctx->n_errors)
    return NULL;
  return module_of(ctx, f);
}

ir_module *onnx_compile(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                        const char *func_name)
{
  return onnx_compile_given(ctx, path, data, len, func_name, NULL, 0);
}

const char **onnx_model_inputs(aotc_ctx *ctx, const unsigned char *data, size_t len, int *n)
{
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
  const char **names = NULL;
  *n = 0;
  if (!mp || !mp->graph) {
    if (mp)
      onnx__model_proto__free_unpacked(mp, NULL);
    return IR_NEW_ARRAY(ctx, const char *, 0);
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
  onnx__model_proto__free_unpacked(mp, NULL);
  return names;
}
