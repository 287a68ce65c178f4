/* emit_halide.c: `--abi halide` (docs/halide.md). For each entry NAME it
 * prints NAME_halide(halide_buffer_t *in..., halide_buffer_t *out...), which
 * checks every buffer against the entry (type, dimensions, extents), reads
 * the size parameters from the extents, gathers strided inputs into and
 * scatters strided outputs from a scratch region, and calls NAME; plus
 * NAME_halide_argv and NAME_halide_metadata (Halide's filter metadata) so
 * that RunGen or a Halide extern stage can drive it. The scratch and NAME's
 * own workspace come from a static array when every shape is constant
 * (NAME_HALIDE_WORKSPACE_BYTES), else from NAME_halide_set_workspace. A
 * buffer without memory is a bounds query, answered with the whole tensor.
 * Halide dimension 0 is the tensor's last (fastest) index. Only emitted C under this
 * flag includes HalideRuntime.h. */
#include "emit_print.h"

#include <string.h>

#define HB_MAX_RANK 16

/* The helpers every NAME_halide shares, printed once per file. */
static const char runtime_text[] =
    "#ifndef AOTC_HAVE_halide\n"
    "#define AOTC_HAVE_halide\n"
    "#include \"HalideRuntime.h\"\n"
    "#include <string.h>\n\n"
    "/* 0, or the Halide error code that refuses buffer b for an argument of\n"
    " * the given type and rank. */\n"
    "static inline int aotc_hb_check(const struct halide_buffer_t *b, int code, int bits, int rank)\n"
    "{\n"
    "  if (b == NULL)\n"
    "    return halide_error_code_buffer_argument_is_null;\n"
    "  if (b->type.code != code || b->type.bits != bits || b->type.lanes != 1)\n"
    "    return halide_error_code_bad_type;\n"
    "  if (b->dimensions != rank)\n"
    "    return halide_error_code_bad_dimensions;\n"
    "  for (int d = 0; d < rank; d++)\n"
    "    if (b->dim[d].extent < 0)\n"
    "      return halide_error_code_buffer_extents_negative;\n"
    "  if (b->host == NULL && b->device != 0)\n"
    "    return halide_error_code_host_is_null;\n"
    "  if (b->flags & halide_buffer_flag_device_dirty)\n"
    "    return halide_error_code_device_dirty_with_no_device_support;\n"
    "  return 0;\n"
    "}\n\n"
    "/* A bounds query: no memory behind the buffer (Halide's convention). */\n"
    "static inline int aotc_hb_query(const struct halide_buffer_t *b)\n"
    "{\n"
    "  return b->host == NULL && b->device == 0;\n"
    "}\n\n"
    "/* Answers a bounds query on b: mins 0, the extents (Halide's order), dense strides. */\n"
    "static inline void aotc_hb_fill(struct halide_buffer_t *b, const int64_t *extent)\n"
    "{\n"
    "  int32_t s = 1;\n"
    "  for (int d = 0; d < b->dimensions; d++) {\n"
    "    b->dim[d].min = 0;\n"
    "    b->dim[d].extent = (int32_t)extent[d];\n"
    "    b->dim[d].stride = s;\n"
    "    s *= (int32_t)extent[d];\n"
    "  }\n"
    "}\n\n"
    "static inline size_t aotc_hb_round(size_t n)\n"
    "{\n"
    "  return (n + 63) / 64 * 64;\n"
    "}\n\n"
    "static inline int64_t aotc_hb_numel(const struct halide_buffer_t *b)\n"
    "{\n"
    "  int64_t n = 1;\n"
    "  for (int d = 0; d < b->dimensions; d++)\n"
    "    n *= b->dim[d].extent;\n"
    "  return n;\n"
    "}\n\n"
    "/* Whether b's elements lie densely in row-major order (dimension 0 fastest). */\n"
    "static inline int aotc_hb_dense(const struct halide_buffer_t *b)\n"
    "{\n"
    "  int64_t s = 1;\n"
    "  for (int d = 0; d < b->dimensions; d++) {\n"
    "    if (b->dim[d].extent > 1 && b->dim[d].stride != s)\n"
    "      return 0;\n"
    "    s *= b->dim[d].extent;\n"
    "  }\n"
    "  return 1;\n"
    "}\n\n"
    "/* Scratch bytes b needs: none when dense. */\n"
    "static inline size_t aotc_hb_scratch(const struct halide_buffer_t *b)\n"
    "{\n"
    "  return aotc_hb_dense(b) ? 0 : aotc_hb_round((size_t)aotc_hb_numel(b) * ((b->type.bits + 7u) / 8u));\n"
    "}\n\n"
    "/* Copies between b and a dense array: to_b, dense -> b; else b -> dense. */\n"
    "static inline void aotc_hb_copy(const struct halide_buffer_t *b, unsigned char *dense, int to_b)\n"
    "{\n"
    "  int64_t i[16] = {0}, n = aotc_hb_numel(b);\n"
    "  size_t elem = (b->type.bits + 7u) / 8u;\n"
    "  for (int64_t k = 0; k < n; k++) {\n"
    "    int64_t off = 0;\n"
    "    for (int d = 0; d < b->dimensions; d++)\n"
    "      off += i[d] * b->dim[d].stride;\n"
    "    unsigned char *p = b->host + off * (int64_t)elem;\n"
    "    if (to_b)\n"
    "      memcpy(p, dense + k * (int64_t)elem, elem);\n"
    "    else\n"
    "      memcpy(dense + k * (int64_t)elem, p, elem);\n"
    "    for (int d = 0; d < b->dimensions && ++i[d] == b->dim[d].extent; d++)\n"
    "      i[d] = 0;\n"
    "  }\n"
    "}\n\n"
    "/* b's data as a dense array: its own memory, or a copy at *next in the\n"
    " * scratch (gathered from b for an input). */\n"
    "static inline void *aotc_hb_data(const struct halide_buffer_t *b, unsigned char **next, int gather)\n"
    "{\n"
    "  unsigned char *p = *next;\n"
    "  if (aotc_hb_dense(b))\n"
    "    return b->host;\n"
    "  *next += aotc_hb_scratch(b);\n"
    "  if (gather)\n"
    "    aotc_hb_copy(b, p, 0);\n"
    "  return p;\n"
    "}\n"
    "#endif\n\n";

_Static_assert(HB_MAX_RANK == 16, "the rank bound is spelled 16 in runtime_text");

/* Halide's type code and bits of an element type. */
static void halide_type_of(ir_type t, int *code, int *bits)
{
  *code = ir_types[t].is_float ? 2 : ir_types[t].is_signed ? 0 : 1;
  *bits = t == IR_BOOL ? 1 : 8 * ir_types[t].bytes;
}

static bool is_scalar_input(const ir_func *f, int t)
{
  return f->tensors[t]->rank == 0 && f->tensors[t]->role == IR_INPUT;
}

/* Argument i of NAME_halide: inputs, then outputs. */
static int arg_tensor(const ir_func *f, int i)
{
  return i < f->n_inputs ? f->inputs[i] : f->outputs[i - f->n_inputs];
}

static int n_args(const ir_func *f)
{
  return f->n_inputs + f->n_outputs;
}

/* The buffer argument and dimension whose extent is size parameter p;
 * false when none is exactly p. */
static bool find_param(const ir_func *f, int p, int *arg, int *j)
{
  for (int i = 0; i < n_args(f); i++) {
    const ir_tensor *T = f->tensors[arg_tensor(f, i)];
    for (int k = 0; k < T->rank; k++)
      if (T->shape[k] && T->shape[k]->kind == IR_SZ_PARAM && T->shape[k]->value == p) {
        *arg = i;
        *j = k;
        return true;
      }
  }
  return false;
}

/* Every size parameter readable from an extent, every rank in bounds. */
static bool supported(emit_fn *E)
{
  int a, j;
  for (int p = 0; p < E->f->n_params; p++)
    if (!find_param(E->f, p, &a, &j)) {
      aotc_error(E->em->plan->ctx, E->f->loc, "--abi halide: size %s of '%s' is not the extent of a buffer",
                 E->param_c[p], E->f->name);
      return false;
    }
  for (int i = 0; i < n_args(E->f); i++)
    if (E->f->tensors[arg_tensor(E->f, i)]->rank > HB_MAX_RANK) {
      aotc_error(E->em->plan->ctx, E->f->loc, "--abi halide: '%s' has a tensor of rank over %d", E->f->name,
                 HB_MAX_RANK);
      return false;
    }
  return true;
}

/* Scratch bytes of every buffer argument when all are strided; -1 unless
 * every shape is constant. */
static int64_t const_scratch_bytes(const ir_func *f)
{
  int64_t total = 0;
  for (int i = 0; i < n_args(f); i++) {
    int t = arg_tensor(f, i);
    int64_t n = emit_abi_const_numel(f->tensors[t]);
    if (is_scalar_input(f, t))
      continue;
    if (n < 0 || n > INT64_MAX / 64)
      return -1;
    total += (n * ir_types[f->tensors[t]->type].bytes + 63) / 64 * 64;
  }
  return total;
}

static void print_halide_signature(emit_fn *E)
{
  fprintf(E->out, "int %s_halide(", E->name);
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    fputs(i ? ", " : "", E->out);
    if (is_scalar_input(E->f, t))
      fprintf(E->out, "%s %s", emit_type_name(E, E->f->tensors[t]->type), E->tensor_c[t]);
    else
      fprintf(E->out, "struct halide_buffer_t *%s", E->tensor_c[t]);
  }
  fputs(n_args(E->f) ? ")" : "void)", E->out);
}

static void print_size_params(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%sint64_t %s", p ? ", " : "", E->param_c[p]);
  if (E->f->n_params == 0)
    fputs("void", E->out);
}

static void print_size_args(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%s%s", p ? ", " : "", E->param_c[p]);
}

/* The header: prototypes and NAME_HALIDE_WORKSPACE_BYTES. */
void emit_halide_print_prototypes(emit_fn *E)
{
  int64_t scratch = const_scratch_bytes(E->f);
  fputs("#ifndef AOTC_HALIDE_TYPES\n#define AOTC_HALIDE_TYPES\nstruct halide_buffer_t;\n"
        "struct halide_filter_metadata_t;\n#endif\n",
        E->out);
  print_halide_signature(E);
  fprintf(E->out, ";\nint %s_halide_argv(void **args);\n", E->name);
  fprintf(E->out, "const struct halide_filter_metadata_t *%s_halide_metadata(void);\n", E->name);
  fprintf(E->out, "size_t %s_halide_workspace_bytes(", E->name);
  print_size_params(E);
  fprintf(E->out, ");\nint %s_halide_set_workspace(void *workspace, size_t bytes);\n", E->name);
  if (scratch >= 0 && E->f->n_params == 0)
    fprintf(E->out, "#ifdef %s_WORKSPACE_BYTES\n#define %s_HALIDE_WORKSPACE_BYTES ((%s_WORKSPACE_BYTES + 63) / 64 * 64 + %lld)\n#endif\n",
            E->name, E->name, E->name, (long long)scratch);
}

/* The scratch: a static array when its size is a constant, else NULL until
 * NAME_halide_set_workspace (which NULL restores to the static array). */
static void print_workspace_statics(emit_fn *E)
{
  const char *n = E->name;
  fprintf(E->out,
          "#ifdef %s_HALIDE_WORKSPACE_BYTES\n"
          "static union { double d; int64_t i; unsigned char b[%s_HALIDE_WORKSPACE_BYTES]; } aotc_hb_static_%s;\n"
          "static unsigned char *aotc_hb_ws_%s = aotc_hb_static_%s.b;\n"
          "static size_t aotc_hb_ws_bytes_%s = sizeof(aotc_hb_static_%s.b);\n"
          "#else\nstatic unsigned char *aotc_hb_ws_%s;\nstatic size_t aotc_hb_ws_bytes_%s;\n#endif\n\n",
          n, n, n, n, n, n, n, n, n);
  fprintf(E->out, "int %s_halide_set_workspace(void *workspace, size_t bytes)\n{\n", n);
  fprintf(E->out,
          "#ifdef %s_HALIDE_WORKSPACE_BYTES\n  if (workspace == NULL) {\n    workspace = aotc_hb_static_%s.b;\n"
          "    bytes = sizeof(aotc_hb_static_%s.b);\n  }\n#endif\n",
          n, n, n);
  fprintf(E->out, "  aotc_hb_ws_%s = workspace;\n  aotc_hb_ws_bytes_%s = workspace ? bytes : 0;\n  return 0;\n}\n\n", n,
          n);
}

/* Bytes of tensor t, from its shape. */
static void print_tensor_bytes(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  fputs("aotc_hb_round(", E->out);
  for (int j = 0; j < T->rank; j++) {
    fputs("(size_t)(", E->out);
    emit_print_size(E, T->shape[j]);
    fputs(") * ", E->out);
  }
  fprintf(E->out, "sizeof(%s))", emit_type_name(E, T->type));
}

/* NAME_halide_workspace_bytes(sizes): NAME's workspace and every buffer's
 * scratch (the most a call with these sizes can need). */
static void print_workspace_bytes(emit_fn *E)
{
  fprintf(E->out, "size_t %s_halide_workspace_bytes(", E->name);
  print_size_params(E);
  fputs(")\n{\n", E->out);
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "  (void)%s;\n", E->param_c[p]);
  fprintf(E->out, "  return aotc_hb_round(%s_workspace_bytes(", E->name);
  print_size_args(E);
  fputs("))", E->out);
  for (int i = 0; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i))) {
      fputs(" + ", E->out);
      print_tensor_bytes(E, arg_tensor(E->f, i));
    }
  fputs(";\n}\n\n", E->out);
}

/* if ((aotc_rc = aotc_hb_check(X, code, bits, rank)) != 0) return aotc_rc; */
static void print_buffer_checks(emit_fn *E)
{
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i), code, bits;
    if (is_scalar_input(E->f, t))
      continue;
    halide_type_of(E->f->tensors[t]->type, &code, &bits);
    fprintf(E->out, "  if ((aotc_rc = aotc_hb_check(%s, %s, %d, %d)) != 0)\n    return aotc_rc;\n", E->tensor_c[t],
            code == 2 ? "halide_type_float" : code ? "halide_type_uint" : "halide_type_int", bits,
            E->f->tensors[t]->rank);
  }
}

/* const int64_t M = A->dim[1].extent; for each size parameter. */
static void print_param_reads(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++) {
    int a = 0, j = 0;
    find_param(E->f, p, &a, &j);
    int t = arg_tensor(E->f, a);
    fprintf(E->out, "  const int64_t %s = %s->dim[%d].extent;\n", E->param_c[p], E->tensor_c[t],
            E->f->tensors[t]->rank - 1 - j);
  }
}

/* Whether dimension j of argument i is where a size parameter is read. */
static bool is_param_source(const ir_func *f, int i, int j)
{
  const ir_size *s = f->tensors[arg_tensor(f, i)]->shape[j];
  int a, k;
  return s->kind == IR_SZ_PARAM && find_param(f, (int)s->value, &a, &k) && a == i && k == j;
}

/* Every other extent against the entry's shape: constraint_violated otherwise. */
static void print_extent_checks(emit_fn *E)
{
  const char *sep = "  if (";
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    const ir_tensor *T = E->f->tensors[t];
    for (int j = 0; j < T->rank; j++) {
      if (is_param_source(E->f, i, j))
        continue;
      fprintf(E->out, "%s%s->dim[%d].extent != (", sep, E->tensor_c[t], T->rank - 1 - j);
      emit_print_size(E, T->shape[j]);
      fputs(")", E->out);
      sep = "\n      || ";
    }
  }
  if (strcmp(sep, "  if ("))
    fputs(")\n    return halide_error_code_constraint_violated;\n", E->out);
}

/* The scratch this call needs against the workspace's bytes. */
static void print_scratch_check(emit_fn *E)
{
  const char *n = E->name;
  fprintf(E->out, "  const size_t aotc_ws = aotc_hb_round(%s_workspace_bytes(", n);
  print_size_args(E);
  fputs("));\n  const size_t aotc_need = aotc_ws", E->out);
  for (int i = 0; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i)))
      fprintf(E->out, " + aotc_hb_scratch(%s)", E->tensor_c[arg_tensor(E->f, i)]);
  fprintf(E->out, ";\n  if (aotc_need > aotc_hb_ws_bytes_%s)\n    return halide_error_code_out_of_memory;\n", n);
  fprintf(E->out, "  unsigned char *aotc_next = aotc_hb_ws_%s ? aotc_hb_ws_%s + aotc_ws : NULL;\n", n, n);
}

/* T *aotc_X = (T *)aotc_hb_data(X, &aotc_next, gather); per buffer. */
static void print_data_pointers(emit_fn *E)
{
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    bool in = i < E->f->n_inputs;
    const char *ty = emit_type_name(E, E->f->tensors[t]->type);
    if (is_scalar_input(E->f, t))
      continue;
    fprintf(E->out, "  %s%s *aotc_%s = (%s%s *)aotc_hb_data(%s, &aotc_next, %d);\n", in ? "const " : "", ty,
            E->tensor_c[t], in ? "const " : "", ty, E->tensor_c[t], in);
  }
}

static void print_kernel_call(emit_fn *E)
{
  fprintf(E->out, "  aotc_rc = %s(", E->name);
  print_size_args(E);
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    fputs(E->f->n_params || i ? ", " : "", E->out);
    fprintf(E->out, is_scalar_input(E->f, t) ? "%s" : "aotc_%s", E->tensor_c[t]);
  }
  fprintf(E->out, "%saotc_hb_ws_%s);\n", E->f->n_params || n_args(E->f) ? ", " : "", E->name);
  fputs("  if (aotc_rc != 0)\n    return halide_error_code_generic_error;\n", E->out);
}

static void print_scatters(emit_fn *E)
{
  for (int i = 0; i < E->f->n_outputs; i++) {
    const char *c = E->tensor_c[E->f->outputs[i]];
    fprintf(E->out, "  if (!aotc_hb_dense(%s))\n    aotc_hb_copy(%s, (unsigned char *)aotc_%s, 1);\n", c, c, c);
  }
}

/* aotc_hb_query(A) || ...: whether any buffer argument is a query. */
static void print_any_query(emit_fn *E)
{
  const char *sep = "";
  for (int i = 0; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i))) {
      fprintf(E->out, "%saotc_hb_query(%s)", sep, E->tensor_c[arg_tensor(E->f, i)]);
      sep = " || ";
    }
  if (!*sep)
    fputs("0", E->out);
}

/* const int64_t M = the extent of the first buffer holding M that is not a
 * query, else -1. */
static void print_query_param(emit_fn *E, int p)
{
  fprintf(E->out, "  const int64_t %s = ", E->param_c[p]);
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    const ir_tensor *T = E->f->tensors[t];
    for (int j = 0; j < T->rank; j++)
      if (T->shape[j]->kind == IR_SZ_PARAM && T->shape[j]->value == p)
        fprintf(E->out, "!aotc_hb_query(%s) ? (int64_t)%s->dim[%d].extent : ", E->tensor_c[t], E->tensor_c[t],
                T->rank - 1 - j);
  }
  fputs("-1;\n", E->out);
}

/* if (aotc_hb_query(X)) { int64_t e[] = {...}; aotc_hb_fill(X, e); } */
static void print_query_fill(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  fprintf(E->out, "  if (aotc_hb_query(%s)) {\n    const int64_t aotc_e[%d] = {", E->tensor_c[t], T->rank ? T->rank : 1);
  for (int d = 0; d < T->rank; d++) {
    fputs(d ? ", " : "", E->out);
    emit_print_size(E, T->shape[T->rank - 1 - d]);
  }
  fprintf(E->out, "%s};\n    aotc_hb_fill(%s, aotc_e);\n  }\n", T->rank ? "" : "0", E->tensor_c[t]);
}

/* The answer to a bounds query: every query buffer gets the whole tensor
 * (sizes from the other buffers' extents), nothing is computed. */
static void print_bounds_query(emit_fn *E)
{
  fprintf(E->out, "static int aotc_hb_bounds_%s(", E->name);
  for (int i = 0, first = 1; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i))) {
      fprintf(E->out, "%sstruct halide_buffer_t *%s", first ? "" : ", ", E->tensor_c[arg_tensor(E->f, i)]);
      first = 0;
    }
  fputs(")\n{\n", E->out);
  for (int p = 0; p < E->f->n_params; p++)
    print_query_param(E, p);
  if (E->f->n_params) {
    fputs("  if (", E->out);
    for (int p = 0; p < E->f->n_params; p++)
      fprintf(E->out, "%s%s < 0", p ? " || " : "", E->param_c[p]);
    fputs(")\n    return halide_error_code_constraint_violated;\n", E->out);
  }
  for (int i = 0; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i)))
      print_query_fill(E, arg_tensor(E->f, i));
  fputs("  return 0;\n}\n\n", E->out);
}

static void print_bounds_call(emit_fn *E)
{
  fputs("  if (", E->out);
  print_any_query(E);
  fprintf(E->out, ")\n    return aotc_hb_bounds_%s(", E->name);
  for (int i = 0, first = 1; i < n_args(E->f); i++)
    if (!is_scalar_input(E->f, arg_tensor(E->f, i))) {
      fprintf(E->out, "%s%s", first ? "" : ", ", E->tensor_c[arg_tensor(E->f, i)]);
      first = 0;
    }
  fputs(");\n", E->out);
}

static void print_entry(emit_fn *E)
{
  print_bounds_query(E);
  print_halide_signature(E);
  fputs("\n{\n  int aotc_rc;\n", E->out);
  print_buffer_checks(E);
  print_bounds_call(E);
  print_param_reads(E);
  print_extent_checks(E);
  print_scratch_check(E);
  print_data_pointers(E);
  print_kernel_call(E);
  print_scatters(E);
  fputs("  return 0;\n}\n\n", E->out);
}
/* NAME_halide_argv(args): Halide's argv form, a pointer per argument. */
static void print_argv(emit_fn *E)
{
  fprintf(E->out, "int %s_halide_argv(void **args)\n{\n", E->name);
  if (n_args(E->f) == 0)
    fputs("  (void)args;\n", E->out);
  fprintf(E->out, "  return %s_halide(", E->name);
  for (int i = 0; i < n_args(E->f); i++) {
    int t = arg_tensor(E->f, i);
    fputs(i ? ", " : "", E->out);
    if (is_scalar_input(E->f, t))
      fprintf(E->out, "*(const %s *)args[%d]", emit_type_name(E, E->f->tensors[t]->type), i);
    else
      fprintf(E->out, "(struct halide_buffer_t *)args[%d]", i);
  }
  fputs(");\n}\n\n", E->out);
}

/* The (min, extent) estimates of a buffer with a constant shape, in
 * Halide's dimension order; false (no estimates) otherwise. */
static bool print_estimates(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  int64_t v;
  if (T->rank == 0 || emit_abi_const_numel(T) < 0)
    return false;
  fprintf(E->out, "static const int64_t aotc_hb_e_%s_%s[%d] = {", E->name, E->tensor_c[t], 2 * T->rank);
  for (int d = 0; d < T->rank; d++) {
    ir_size_is_const(T->shape[T->rank - 1 - d], &v);
    fprintf(E->out, "%s0, %lld", d ? ", " : "", (long long)v);
  }
  fprintf(E->out, "};\nstatic const int64_t *const aotc_hb_est_%s_%s[%d] = {", E->name, E->tensor_c[t], 2 * T->rank);
  for (int k = 0; k < 2 * T->rank; k++)
    fprintf(E->out, "%s&aotc_hb_e_%s_%s[%d]", k ? ", " : "", E->name, E->tensor_c[t], k);
  fputs("};\n", E->out);
  return true;
}

/* {"A", kind, dimensions, {code, bits, 1}, NULL x 4, estimates} */
static void print_argument(emit_fn *E, int i, const bool *est)
{
  int t = arg_tensor(E->f, i), code, bits;
  const ir_tensor *T = E->f->tensors[t];
  int kind = is_scalar_input(E->f, t) ? 0 : i < E->f->n_inputs ? 1 : 2;
  static const char *const kinds[] = {"halide_argument_kind_input_scalar", "halide_argument_kind_input_buffer",
                                      "halide_argument_kind_output_buffer"};
  static const char *const codes[] = {"halide_type_int", "halide_type_uint", "halide_type_float"};
  halide_type_of(T->type, &code, &bits);
  fprintf(E->out, "    {\"%s\", %s, %d, {%s, %d, 1}, NULL, NULL, NULL, NULL, ", E->tensor_c[t], kinds[kind],
          kind ? T->rank : 0, codes[code], bits);
  if (est[i])
    fprintf(E->out, "aotc_hb_est_%s_%s},\n", E->name, E->tensor_c[t]);
  else
    fputs("NULL},\n", E->out);
}

/* Halide's filter metadata and NAME_halide_metadata(). */
static void print_metadata(emit_fn *E)
{
  int n = n_args(E->f);
  bool *est = IR_NEW_ARRAY(E->em->plan->ctx, bool, n + 1);
  if (!est)
    return;
  for (int i = 0; i < n; i++)
    est[i] = !is_scalar_input(E->f, arg_tensor(E->f, i)) && print_estimates(E, arg_tensor(E->f, i));
  fprintf(E->out, "static const struct halide_filter_argument_t aotc_hb_args_%s[%d] = {\n", E->name, n ? n : 1);
  for (int i = 0; i < n; i++)
    print_argument(E, i, est);
  fprintf(E->out, "};\nstatic const struct halide_filter_metadata_t aotc_hb_meta_%s = {1, %d, aotc_hb_args_%s, "
          "\"host\", \"%s_halide\"};\n\n", E->name, n, E->name, E->name);
  fprintf(E->out, "const struct halide_filter_metadata_t *%s_halide_metadata(void)\n{\n  return &aotc_hb_meta_%s;\n}\n\n",
          E->name, E->name);
}

/* The definitions of --abi halide for entry E, after NAME itself. */
void emit_halide_print(emit_fn *E)
{
  if (!supported(E)) {
    E->failed = true;
    return;
  }
  fputs(runtime_text, E->out);
  print_workspace_statics(E);
  print_workspace_bytes(E);
  print_entry(E);
  print_argv(E);
  print_metadata(E);
}
