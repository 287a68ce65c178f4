/* onnx_sizes.c: ONNX models with named dimensions (dim_param, as exporters
 * write for dynamic axes, or names given with --shape) compiled once into
 * size-generic code. The graph passes infer shapes with numbers, so the
 * model is compiled at the probe sizes of ir_probe_sizes and the functions
 * are generalized (src/ir/generalize.c); a model without named dimensions
 * is compiled once, as before. */
#include "onnx_internal.h"

#include <string.h>

/* One model input as the model (and --shape) declares it. */
typedef struct input_decl {
  const char *name;
  bool given; /* --shape named it */
  ir_type type;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int param[IR_MAX_RANK]; /* size parameter of dimension d, or -1 */
} input_decl;

typedef struct sizes_reader {
  aotc_ctx *ctx;
  ir_loc loc;
  const onnx_options *opt;
  input_decl *in;
  int n_in;
  const char *names[IR_PROBES_MAX];
  int n_params;
} sizes_reader;

static int param_of(sizes_reader *s, const char *name)
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

/* Dimension d of an input: the --shape spec's, else the model's. */
static bool decl_dim(sizes_reader *s, input_decl *in, int d, const Onnx__TensorShapeProto__Dimension *dim,
                     const onnx_shape_spec *spec)
{
  const char *named = spec ? spec->names[d] : NULL;
  if (!spec && dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
      *dim->dim_param)
    named = dim->dim_param;
  in->param[d] = named ? param_of(s, named) : -1;
  if (spec && !named)
    in->dims[d] = spec->dims[d];
  else if (!named)
    in->dims[d] = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : -1;
  return in->param[d] != -2;
}

static bool decl_input(sizes_reader *s, const Onnx__ValueInfoProto *vi, const onnx_shape_spec *spec,
                       input_decl *in)
{
  const Onnx__TypeProto *tp = vi->type;
  const Onnx__TensorShapeProto *sp = tp && tp->tensor_type ? tp->tensor_type->shape : NULL;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
      !ir_type_from_onnx(tp->tensor_type->elem_type, &in->type))
    return false;
  in->name = ir_strdup(s->ctx, vi->name);
  in->given = spec != NULL;
  in->rank = spec ? spec->rank : sp ? (int)sp->n_dim : -1;
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
static bool check_specs(sizes_reader *s, const onnx_shape_spec *specs, int n_specs)
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
static bool read_decls(sizes_reader *s, const Onnx__GraphProto *gp, const onnx_shape_spec *specs, int n_specs)
{
  s->in = IR_NEW_ARRAY(s->ctx, input_decl, (int)gp->n_input);
  if (!s->in)
    return false;
  for (size_t k = 0; k < gp->n_input; k++) {
    const Onnx__ValueInfoProto *vi = gp->input[k];
    if (!vi || !vi->name || is_initializer(gp, vi->name))
      continue;
    const onnx_shape_spec *spec = find_spec(s->ctx, specs, n_specs, vi->name);
    input_decl *in = &s->in[s->n_in];
    if (decl_input(s, vi, spec, in))
      s->n_in++;
    else if (s->ctx->n_errors)
      return false;
  }
  return check_specs(s, specs, n_specs);
}

/* ------------------------------------------------------------------------
 * Compiling at fixed sizes and at the probes
 * ------------------------------------------------------------------------ */

/* The inputs' shapes with the named sizes set to sizes[] (NULL: fixed
 * dimensions only); unknown dimensions stay to the reader (1, warned). */
static onnx_given *givens_at(sizes_reader *s, const int64_t *sizes, int64_t (*shapes)[IR_MAX_RANK])
{
  onnx_given *given = IR_NEW_ARRAY(s->ctx, onnx_given, s->n_in);
  int n = 0;
  for (int k = 0; given && k < s->n_in; k++) {
    const input_decl *in = &s->in[k];
    bool known = true;
    for (int d = 0; d < in->rank; d++) {
      shapes[k][d] = in->param[d] >= 0 ? sizes[in->param[d]] : in->dims[d];
      known = known && shapes[k][d] >= 0;
    }
    if (known)
      given[n++] = (onnx_given){in->name, in->type, in->rank, shapes[k], NULL, in->given};
  }
  return given;
}

static int count_known(const sizes_reader *s, const onnx_given *given)
{
  int n = 0;
  while (n < s->n_in && given[n].name)
    n++;
  return n;
}

static ir_func *compile_at(sizes_reader *s, const char *path, const unsigned char *data, size_t len,
                           const char *func_name, const int64_t *sizes)
{
  int64_t (*shapes)[IR_MAX_RANK] = ir_alloc(s->ctx, sizeof(int64_t[IR_MAX_RANK]) * (size_t)(s->n_in ? s->n_in : 1));
  onnx_given *given = shapes ? givens_at(s, sizes, shapes) : NULL;
  if (!given && s->n_in)
    return NULL;
  onnx_options opt = *s->opt;
  opt.given = given;
  opt.n_given = given ? count_known(s, given) : 0;
  opt.shapes = NULL;
  opt.n_shapes = 0;
  ir_module *m = onnx_compile_opts(s->ctx, path, data, len, func_name, &opt);
  return m ? m->funcs[0] : NULL;
}

/* Compiles at every probe; the diagnostics of the probes after the first
 * (the same warnings again) are dropped. */
static bool compile_probes(sizes_reader *s, const char *path, const unsigned char *data, size_t len,
                           const char *func_name, ir_func **fs, int64_t *values)
{
  int n = s->n_params + 2;
  for (int k = 0; k < n; k++) {
    int before = s->ctx->n_diags, errors = s->ctx->n_errors;
    ir_probe_sizes(s->n_params, k, values + (size_t)k * (size_t)s->n_params);
    fs[k] = compile_at(s, path, data, len, func_name, values + (size_t)k * (size_t)s->n_params);
    if (!fs[k])
      return false;
    if (k > 0 && s->ctx->n_errors == errors)
      s->ctx->n_diags = before;
  }
  return true;
}

static ir_module *one_func_module(aotc_ctx *ctx, ir_func *f)
{
  ir_module *m = IR_NEW(ctx, ir_module);
  ir_func **funcs = IR_NEW_ARRAY(ctx, ir_func *, 1);
  if (!m || !funcs || !f)
    return NULL;
  funcs[0] = f;
  m->funcs = funcs;
  m->n_funcs = 1;
  return m;
}

static ir_module *compile_generic(sizes_reader *s, const char *path, const unsigned char *data, size_t len,
                                  const char *func_name)
{
  int n = s->n_params + 2;
  ir_func **fs = IR_NEW_ARRAY(s->ctx, ir_func *, n);
  int64_t *values = IR_NEW_ARRAY(s->ctx, int64_t, n * s->n_params);
  if (!fs || !values || !compile_probes(s, path, data, len, func_name, fs, values))
    return NULL;
  ir_probes p = {.n_params = s->n_params, .names = s->names, .n = n, .values = values};
  return one_func_module(s->ctx, ir_generalize(s->ctx, fs, &p));
}

ir_module *onnx_compile_shaped(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                               const char *func_name, const onnx_options *opt)
{
  const aotc_source *src = aotc_add_source(ctx, path ? path : "<onnx>", "", 0);
  sizes_reader s = {.ctx = ctx, .loc = {src, 0, 0}, .opt = opt};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
  if (!mp || !mp->graph) {
    if (mp)
      onnx__model_proto__free_unpacked(mp, NULL);
    return onnx_compile_opts(ctx, path, data, len, func_name, opt);
  }
  bool ok = read_decls(&s, mp->graph, opt->shapes, opt->n_shapes);
  onnx__model_proto__free_unpacked(mp, NULL);
  if (!ok)
    return NULL;
  if (!s.n_params) {
    ir_func *f = compile_at(&s, path, data, len, func_name, NULL);
    return f ? one_func_module(ctx, f) : NULL;
  }
  return compile_generic(&s, path, data, len, func_name);
}
