/* onnx_sizes.c: the named sizes of an ONNX model: the dim_param names of
 * its inputs (exporters write them for dynamic axes) or the names of --shape
 * specs, which replace an input's whole shape. The graph passes infer shapes
 * with numbers, so the pipeline reads the model once per probe value of the
 * names (ir_probe_sizes) with the input shapes of onnx_sizes_given, lowers
 * each, and generalizes the functions (src/ir/generalize.c). */
#include "onnx_internal.h"

#include <string.h>

typedef struct onnx_sizes onnx_sizes;

/* One model input as the model (and --shape) declares it. */
typedef struct input_decl {
  const char *name;
  bool overrides; /* --shape gave its shape */
  ir_type type;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int param[IR_MAX_RANK]; /* named size of dimension d, or -1 */
} input_decl;

struct onnx_sizes {
  aotc_ctx *ctx;
  ir_loc loc;
  input_decl *in;
  int n_in;
  const char *names[IR_PROBES_MAX];
  int n_params;
  onnx_given *given;
  int64_t (*shapes)[IR_MAX_RANK];
};

static int param_of(onnx_sizes *s, const char *name)
{
  for (int i = 0; i < s->n_params; i++)
    if (!strcmp(s->names[i], name))
      return i;
  if (s->n_params == IR_PROBES_MAX) {
    aotc_error(s->ctx, s->loc, "more than %d named dimensions ('%s')", IR_PROBES_MAX, name);
    return -2;
  }
  s->names[s->n_params] = ir_strdup(s->ctx, name);
  return s->n_params++;
}

static bool spec_names(aotc_ctx *ctx, const onnx_shape_spec *spec, const char *name)
{
  const char *c_name = ir_c_identifier(ctx, name);
  return !strcmp(spec->input, name) || (c_name && !strcmp(spec->input, c_name));
}

static const onnx_shape_spec *find_spec(aotc_ctx *ctx, const onnx_shape_spec *specs, int n, const char *name)
{
  for (int k = 0; k < n; k++)
    if (spec_names(ctx, &specs[k], name))
      return &specs[k];
  return NULL;
}

static bool is_dim_param(const Onnx__TensorShapeProto__Dimension *dim)
{
  return dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
         *dim->dim_param;
}

/* Dimension d of an input: the --shape spec's, else the model's. */
static bool decl_dim(onnx_sizes *s, input_decl *in, int d, const Onnx__TensorShapeProto__Dimension *dim,
                     const onnx_shape_spec *spec)
{
  const char *named = spec ? spec->names[d] : is_dim_param(dim) ? dim->dim_param : NULL;
  in->param[d] = named ? param_of(s, named) : -1;
  if (spec && !named)
    in->dims[d] = spec->dims[d];
  else if (!named)
    in->dims[d] = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : -1;
  return in->param[d] != -2;
}

static bool decl_input(onnx_sizes *s, const Onnx__ValueInfoProto *vi, const onnx_shape_spec *spec,
                       input_decl *in)
{
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
      !onnx_ir_type(tp->tensor_type->elem_type, &in->type))
    return false;
  const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
  in->name = ir_strdup(s->ctx, vi->name);
  in->overrides = spec != NULL;
  in->rank = spec ? spec->rank : sp ? (int)sp->n_dim : -1;
  if (!spec && sp && sp->n_dim > IR_MAX_RANK) {
    aotc_error(s->ctx, s->loc, "input '%s': rank %zu is not supported (at most %d)", vi->name, sp->n_dim,
               IR_MAX_RANK);
    return false;
  }
  if (in->rank < 0 || in->rank > IR_MAX_RANK || (spec && sp && (size_t)spec->rank != sp->n_dim)) {
    aotc_error(s->ctx, s->loc, "input '%s': the shape given has rank %d, the model's %d", vi->name, in->rank,
               sp ? (int)sp->n_dim : -1);
    return false;
  }
  for (int d = 0; d < in->rank; d++)
    if (!decl_dim(s, in, d, sp && (size_t)d < sp->n_dim ? sp->dim[d] : NULL, spec))
      return false;
  return true;
}

static bool is_initializer(const Onnx__GraphProto *gp, const char *name)
{
  for (size_t j = 0; j < gp->n_initializer; j++)
    if (gp->initializer[j] && gp->initializer[j]->name && !strcmp(gp->initializer[j]->name, name))
      return true;
  return false;
}

/* Every --shape names an input of the model. */
static bool check_specs(onnx_sizes *s, const onnx_shape_spec *specs, int n_specs)
{
  for (int k = 0; k < n_specs; k++) {
    bool found = false;
    for (int i = 0; i < s->n_in && !found; i++)
      found = spec_names(s->ctx, &specs[k], s->in[i].name);
    if (!found) {
      aotc_error(s->ctx, s->loc, "--shape %s: the model has no input '%s'", specs[k].input, specs[k].input);
      return false;
    }
  }
  return true;
}

/* The model's inputs with their named dimensions; inputs the reader cannot
 * describe are left to the full reader, which reports them. */
static bool read_decls(onnx_sizes *s, const Onnx__GraphProto *gp, const onnx_shape_spec *specs, int n_specs)
{
  s->in = IR_NEW_ARRAY(s->ctx, input_decl, (int)gp->n_input);
  if (!s->in)
    return false;
  for (size_t k = 0; k < gp->n_input; k++) {
    const Onnx__ValueInfoProto *vi = gp->input[k];
    if (!vi || !vi->name || is_initializer(gp, vi->name))
      continue;
    input_decl *in = &s->in[s->n_in];
    if (decl_input(s, vi, find_spec(s->ctx, specs, n_specs, vi->name), in))
      s->n_in++;
    else if (s->ctx->n_errors)
      return false;
  }
  return check_specs(s, specs, n_specs);
}

onnx_sizes *onnx_sizes_read(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                            const onnx_shape_spec *specs, int n_specs)
{
  onnx_sizes *s = IR_NEW(ctx, onnx_sizes);
  if (!s)
    return NULL;
  s->ctx = ctx;
  s->loc = (ir_loc){aotc_add_source(ctx, path ? path : "<onnx>", "", 0), 0, 0};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
  if (!mp || !mp->graph) {
    if (mp)
      onnx__model_proto__free_unpacked(mp, NULL);
    return s;
  }
  bool ok = read_decls(s, mp->graph, specs, n_specs);
  onnx__model_proto__free_unpacked(mp, NULL);
  s->given = ok ? IR_NEW_ARRAY(ctx, onnx_given, s->n_in) : NULL;
  s->shapes = ok ? ir_alloc(ctx, sizeof(int64_t[IR_MAX_RANK]) * (size_t)(s->n_in ? s->n_in : 1)) : NULL;
  return ok && s->given && s->shapes ? s : NULL;
}

int onnx_sizes_count(const onnx_sizes *s)
{
  return s->n_params;
}

const char *const *onnx_sizes_names(const onnx_sizes *s)
{
  return s->names;
}

/* Input k at the given sizes; false when a dimension stays unknown. */
static bool shape_at(onnx_sizes *s, int k, const int64_t *sizes)
{
  const input_decl *in = &s->in[k];
  for (int d = 0; d < in->rank; d++) {
    s->shapes[k][d] = in->param[d] >= 0 ? sizes[in->param[d]] : in->dims[d];
    if (s->shapes[k][d] < 0)
      return false;
  }
  return true;
}

const onnx_given *onnx_sizes_given(onnx_sizes *s, const int64_t *sizes, int *n_given)
{
  *n_given = 0;
  for (int k = 0; s->given && k < s->n_in; k++) {
    const input_decl *in = &s->in[k];
    if (shape_at(s, k, sizes))
      s->given[(*n_given)++] = (onnx_given){in->name, in->type, in->rank, s->shapes[k], NULL, in->overrides};
  }
  return s->given;
}
