/* emit_c.c: the printer's entry points. emit_plan_print walks a plan
 * (emit_plan.h) function by function: constants, the workspace size, the
 * entry with its kernels, the packed form, the prototypes; then the helpers
 * the code needs, the source file and the header. emit_c_module runs the
 * phases of the plan, then prints. */
#define _POSIX_C_SOURCE 200809L
#include "emit_print.h"
#include "emit_model.h"
#include "emit_ddp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Constant tensors: constant arrays in the source file
 * ------------------------------------------------------------------------ */

/* Element i of a dense array of type t. */
static void print_element(const emit_target *tg, FILE *out, const void *data, ir_type t, int64_t i)
{
  switch (t) {
  case IR_F32:
    emit_print_float_literal(tg, out, ((const float *)data)[i], IR_F32);
    return;
  case IR_F64:
    emit_print_float_literal(tg, out, ((const double *)data)[i], IR_F64);
    return;
  case IR_BOOL:
    fputs(((const bool *)data)[i] ? "1" : "0", out);
    return;
  case IR_I8:
    emit_print_i64(out, ((const int8_t *)data)[i]);
    return;
  case IR_U8:
    emit_print_i64(out, ((const uint8_t *)data)[i]);
    return;
  case IR_I16:
    emit_print_i64(out, ((const int16_t *)data)[i]);
    return;
  case IR_U16:
    emit_print_i64(out, ((const uint16_t *)data)[i]);
    return;
  case IR_I32:
    emit_print_i64(out, ((const int32_t *)data)[i]);
    return;
  case IR_U32:
    emit_print_i64(out, ((const uint32_t *)data)[i]);
    return;
  case IR_I64:
    emit_print_i64(out, ((const int64_t *)data)[i]);
    return;
  default:
    fprintf(out, "UINT64_C(%llu)", (unsigned long long)((const uint64_t *)data)[i]);
    return;
  }
}

static bool print_constant(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  int64_t n = emit_abi_const_numel(T);
  if (n < 0 || (!T->data && n > 0)) {
    aotc_error(E->em->plan->ctx, T->loc, "%s: constant '%s' has no data of a constant shape", E->f->name, T->name);
    return false;
  }
  if (!emit_target_is_gpu(E->em->tg) &&
      emit_model_constant(E->out, E->f, t, E->tensor_c[t], E->name, n, E->blob))
    return true;
  fprintf(E->out, "%s %s %s[%lld] = {", E->em->tg->const_data, emit_type_name(E, T->type), E->tensor_c[t],
          (long long)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    fputs(i % 8 ? " " : "\n  ", E->out);
    print_element(E->em->tg, E->out, T->data, T->type, i);
    fputc(',', E->out);
  }
  fputs(n > 0 ? "\n};\n\n" : "0};\n\n", E->out);
  return true;
}

static bool print_constants(emit_fn *E)
{
  bool ok = true;
  emit_model_declare_blob(E->out, E->f, E->name, E->blob);
  for (int t = 0; ok && t < E->f->n_tensors; t++)
    if (E->f->tensors[t]->role == IR_CONSTANT && !emit_prepack_replaces(E, t))
      ok = print_constant(E, t);
  return ok && emit_prepack_print(E);
}


/* ------------------------------------------------------------------------
 * Per-function setup: spellings of sizes, computed dimensions, reads
 * ------------------------------------------------------------------------ */

static void mark_reads(bool *is_read, const ir_expr *e)
{
  if (!e)
    return;
  if (e->kind == IR_ACCESS)
    is_read[e->tensor] = true;
  for (int i = 0; i < e->n_args; i++)
    mark_reads(is_read, e->args[i]);
}

static void mark_stmt_reads(bool *is_read, const ir_stmt *s)
{
  mark_reads(is_read, s->rhs);
  for (int j = 0; !ir_stmt_is_plain(s) && j < s->n_lhs; j++)
    mark_reads(is_read, s->lhs_expr[j]);
}

static bool is_simple_size(const ir_size *s)
{
  return s && (s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM);
}

/* The plan's names; a size fixed by --size is spelled as its value. */
static bool setup_names(emit_fn *E)
{
  aotc_ctx *ctx = E->em->plan->ctx;
  const int64_t *fixed = E->em->plan->opt->fixed_sizes;
  E->param_c = E->pf->param_c;
  E->tensor_c = E->pf->tensor_c;
  E->param_use = IR_NEW_ARRAY(ctx, const char *, E->f->n_params);
  if (!E->param_use)
    return false;
  for (int p = 0; p < E->f->n_params; p++)
    E->param_use[p] = fixed && fixed[p] >= 0 ? ir_sprintf(ctx, "%lld", (long long)fixed[p]) : E->param_c[p];
  return !ctx->oom;
}

/* Locals for the dimensions that are expressions of the sizes. */
static bool setup_dims(emit_fn *E)
{
  aotc_ctx *ctx = E->em->plan->ctx;
  const ir_func *f = E->f;
  E->dim = IR_NEW_ARRAY(ctx, const char **, f->n_tensors);
  E->is_read = IR_NEW_ARRAY(ctx, bool, f->n_tensors);
  if (!E->dim || !E->is_read)
    return false;
  for (int t = 0; t < f->n_tensors; t++) {
    const ir_tensor *T = f->tensors[t];
    E->dim[t] = IR_NEW_ARRAY(ctx, const char *, T->rank);
    for (int j = 0; E->dim[t] && j < T->rank; j++)
      if (!is_simple_size(T->shape[j]))
        E->dim[t][j] = ir_sprintf(ctx, "aotc_%s_d%d", E->tensor_c[t], j);
  }
  for (int i = 0; i < f->n_stmts; i++)
    mark_stmt_reads(E->is_read, f->stmts[i]);
  emit_region_mark_reads(f->body, E->is_read);
  return !ctx->oom;
}

static int max_indices(const ir_func *f)
{
  int n = 1;
  for (int i = 0; i < f->n_stmts; i++)
    n = emit_bound_count(f->stmts[i]) > n ? emit_bound_count(f->stmts[i]) : n;
  return n;
}

static bool setup_func(emit_fn *E)
{
  if (!setup_names(E) || !setup_dims(E))
    return false;
  E->iter = IR_NEW_ARRAY(E->em->plan->ctx, isl_ast_expr *, max_indices(E->f));
  return E->iter != NULL;
}

/* ------------------------------------------------------------------------
 * One function: constants, workspace size, entry, packed form, prototypes
 * ------------------------------------------------------------------------ */

void emit_print_kernel(emit_fn *E, int i)
{
  const emit_kernel *k = &E->pf->kernels[i];
  if (emit_epilogue_print_kernel(E, k) || emit_window_print_kernel(E, k))
    return;
  emit_checks_print_kernel(E, k);
  if (emit_grouped_print_kernel(E, k))
    return;
  if (k->contraction >= 0)
    emit_ukernel_print_contraction(E, k->contraction);
  else {
    E->k = k->poly;
    emit_print_node(E, k->ast);
  }
}

/* The kernels in order (inside the branches and loops of the function's
 * regions, when it has some). */
static void print_kernels(emit_fn *E)
{
  E->indent = 1;
  if (E->f->body) {
    emit_region_print(E, E->f->body);
    return;
  }
  for (int i = 0; i < E->pf->n_kernels; i++) {
    emit_ddp_print_calls(E, E->pf->kernels[i].first);
    emit_print_kernel(E, i);
  }
  emit_ddp_print_calls(E, E->f->n_stmts);
}

static void print_entry(emit_fn *E)
{
  if (emit_outline_print_entry(E, emit_abi_print_entry_open)) {
    fputs("  return 0;\n}\n\n", E->out);
    return;
  }
  emit_abi_print_entry_open(E);
  if (emit_target_is_gpu(E->em->tg))
    emit_cuda_print_launches(E);
  else
    print_kernels(E);
  fputs("  return 0;\n}\n\n", E->out);
}

static int count_contractions(const emit_plan *p)
{
  int n = 0;
  for (int i = 0; i < p->n_funcs; i++)
    n += p->funcs[i].n_contr;
  return n;
}

/* The printer's state for plan p: room for its micro-kernels. */
static bool open_module(emit_module *em, const emit_plan *p)
{
  *em = (emit_module){.plan = p, .tg = p->target};
  em->ukr = IR_NEW_ARRAY(p->ctx, sched_blocks, count_contractions(p) + 1);
  em->ukr_strided = IR_NEW_ARRAY(p->ctx, bool, count_contractions(p) + 1);
  return em->ukr && em->ukr_strided;
}

/* E set up to print function pf of em's plan into out. */
static bool open_func(emit_fn *E, emit_module *em, const emit_plan_fn *pf, FILE *out)
{
  *E = (emit_fn){.em = em, .pf = pf, .out = out, .f = pf->f, .name = pf->name};
  return setup_func(E) && emit_ddp_check(E) && emit_prepack_setup(E);
}

bool emit_outline_plan(const emit_plan *p, const emit_plan_fn *pf, emit_outline_groups *g)
{
  emit_module em;
  emit_fn E;
  *g = (emit_outline_groups){0};
  return emit_outline_qualifies(p, pf) && open_module(&em, p) && open_func(&E, &em, pf, NULL) &&
         emit_outline_kernels(&E, g);
}

/* The definitions of a function into out and its prototypes into h;
 * header_only (the LLVM backend's header): no constants, no code. */
static bool print_func(emit_module *em, const emit_plan_fn *pf, FILE *out, FILE *h, bool header_only)
{
  emit_fn E;
  if (!open_func(&E, em, pf, out) || (!header_only && !print_constants(&E)))
    return false;
  if (!header_only) {
    if (emit_target_is_gpu(em->tg)) {
      emit_cuda_partial_bytes(&E);
      emit_cuda_print_kernels(&E);
    }
    emit_abi_print_workspace_bytes(&E);
    print_entry(&E);
    emit_abi_print_packed(&E);
    if (em->plan->opt->abi_halide && !emit_target_is_gpu(em->tg))
      emit_halide_print(&E);
  }
  E.out = h;
  emit_abi_print_prototypes(&E);
  if (em->plan->opt->abi_halide && !emit_target_is_gpu(em->tg))
    emit_halide_print_prototypes(&E);
  emit_model_io_table(out, h, E.f, E.name, E.blob);
  emit_ddp_print_tables(out, h, E.f, E.name);
  if (E.failed)
    aotc_error(em->plan->ctx, E.f->loc, "%s: cannot print the generated loops as C", E.f->name);
  return !E.failed && (header_only || !E.blob || em->plan->n_funcs != 1 ||
                       emit_prepack_write_blob(&E, em->plan->opt->weights));
}

/* ------------------------------------------------------------------------
 * Module: helpers, header, source file
 * ------------------------------------------------------------------------ */

/* Integer helpers, after their qualifier (EMIT_FN_HELPER). */
static const char *const int_helper_text[] = {
    [EMIT_H_FLOORDIV] = "int64_t aotc_floordiv(int64_t a, int64_t b)\n"
                        "{\n  return (a % b != 0 && ((a < 0) != (b < 0))) ? a / b - 1 : a / b;\n}\n",
    [EMIT_H_CEILDIV] = "int64_t aotc_ceildiv(int64_t a, int64_t b)\n"
                       "{\n  return (a % b != 0 && ((a < 0) == (b < 0))) ? a / b + 1 : a / b;\n}\n",
    [EMIT_H_MIN] = "int64_t aotc_min(int64_t a, int64_t b)\n{\n  return a < b ? a : b;\n}\n",
    [EMIT_H_MAX] = "int64_t aotc_max(int64_t a, int64_t b)\n{\n  return a > b ? a : b;\n}\n",
    [EMIT_H_WS_SIZE] = "size_t aotc_ws_size(size_t bytes)\n"
                       "{\n  return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;\n}\n",
    [EMIT_H_WS_PLAN] = emit_abi_ws_plan_text,
};
_Static_assert(sizeof(int_helper_text) / sizeof(int_helper_text[0]) == EMIT_H_COUNT, "helper texts");

static const char *const int_helper_name[] = {
    [EMIT_H_FLOORDIV] = "floordiv", [EMIT_H_CEILDIV] = "ceildiv", [EMIT_H_MIN] = "min",
    [EMIT_H_MAX] = "max",           [EMIT_H_WS_SIZE] = "ws_size", [EMIT_H_WS_PLAN] = "ws_plan",
};
_Static_assert(sizeof(int_helper_name) / sizeof(int_helper_name[0]) == EMIT_H_COUNT, "helper names");

/* Helpers are guarded so that a file emitted in several calls (one per
 * entry) defines each once; qualifier NULL: text is all. */
static void print_guarded(FILE *out, const char *name, const char *qualifier, const char *text)
{
  fprintf(out, "#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n%s%s%s#endif\n\n", name, name, qualifier ? qualifier : "",
          qualifier ? " " : "", text);
}

static void print_typed_helper(FILE *out, const emit_target *tg, const char *fn, ir_type t, const char *body)
{
  char text[512], name[64];
  const char *ty = tg->type_name[t], *tn = ir_types[t].name;
  if (!strcmp(fn, "abs"))
    snprintf(text, sizeof(text), "%s aotc_abs_%s(%s a)\n{\n  return %s;\n}\n", ty, tn, ty, body);
  else
    snprintf(text, sizeof(text), "%s aotc_%s_%s(%s a, %s b)\n{\n  return %s;\n}\n", ty, fn, tn, ty, ty, body);
  snprintf(name, sizeof(name), "%s_%s", fn, tn);
  print_guarded(out, name, tg->fn_qualifier[EMIT_FN_HELPER], text);
}

static void print_helpers(FILE *out, const emit_module *em)
{
  const emit_target *tg = em->tg;
  if (em->need_thread)
    print_guarded(out, "thread", NULL, tg->thread_num);
  if (em->need_align)
    emit_print_align_macro(out);
  if (em->need_copy_run)
    emit_ukernel_print_copy_run(out);
  if (em->need_immintrin)
    fputs(EMIT_AVX512_GUARD "#include <immintrin.h>\n#endif\n\n", out);
  emit_ukernel_print_defs(out, em);
  emit_vmath_print_defs(out, em);
  for (int h = 0; h < EMIT_H_COUNT; h++)
    if (em->helper[h])
      print_guarded(out, int_helper_name[h], tg->fn_qualifier[EMIT_FN_HELPER], int_helper_text[h]);
  for (int t = 0; t < IR_TYPE_COUNT; t++) {
    if (em->min_of[t])
      print_typed_helper(out, tg, "min", (ir_type)t, "(b < a) ? b : a");
    if (em->max_of[t])
      print_typed_helper(out, tg, "max", (ir_type)t, "(b > a) ? b : a");
    if (em->abs_of[t])
      print_typed_helper(out, tg, "abs", (ir_type)t, "a < 0 ? -a : a");
  }
}

/* At the start of a file (or where that cannot be told)? */
static bool at_start(FILE *out)
{
  return ftell(out) <= 0;
}

static void print_c_file(FILE *c_out, const emit_module *em, const char *protos, const char *defs)
{
  const char *header = em->plan->opt->header_name;
  if (at_start(c_out)) {
    fputs("/* Generated by aotc " AOTC_VERSION ". */\n", c_out);
    fputs(em->tg->source_prologue, c_out);
    if (header)
      fprintf(c_out, "#include \"%s\"\n\n", header);
    fputs(em->tg->source_includes, c_out);
    fputc('\n', c_out);
  }
  if (!header)
    fprintf(c_out, "%s\n", protos);
  print_helpers(c_out, em);
  fputs(defs, c_out);
}

/* AOTC_<HEADER>_H_<entry>: the header's file name and the first entry,
 * so that a header written in several calls guards each part. */
static void print_guard(FILE *out, const emit_plan *p)
{
  const char *header = p->opt->header_name;
  const char *base = header ? strrchr(header, '/') : NULL;
  base = base ? base + 1 : header ? header : "kernels.h";
  fputs("AOTC_", out);
  for (const char *c = base; *c; c++)
    fputc(isalnum((unsigned char)*c) ? toupper((unsigned char)*c) : '_', out);
  fprintf(out, "_%s", p->n_funcs > 0 && p->funcs[0].name ? p->funcs[0].name : "");
}

static void print_header(FILE *h_out, const emit_module *em, const char *protos)
{
  if (at_start(h_out))
    fputs("/* Generated by aotc " AOTC_VERSION ". */\n", h_out);
  fputs("#ifndef ", h_out);
  print_guard(h_out, em->plan);
  fputs("\n#define ", h_out);
  print_guard(h_out, em->plan);
  fprintf(h_out, "\n\n%s\n%s\n", em->tg->header_includes, em->tg->header_open);
  fputs(protos, h_out);
  fprintf(h_out, "\n%s\n#endif\n", em->tg->header_close);
}


static bool print_funcs(emit_module *em, FILE *defs, FILE *protos, bool header_only)
{
  const emit_plan *p = em->plan;
  for (int i = 0; i < p->n_funcs; i++) {
    if (!print_func(em, &p->funcs[i], defs, protos, header_only))
      return false;
    if (i + 1 < p->n_funcs)
      fputc('\n', protos);
  }
  return true;
}

/* Definitions and prototypes go to memory first: the helpers they need,
 * known at the end, come before them in the source. */
bool emit_plan_print(const emit_plan *p, FILE *c_out, FILE *h_out)
{
  emit_module em;
  char *defs = NULL, *protos = NULL;
  size_t defs_len = 0, protos_len = 0;
  bool opened = open_module(&em, p);
  FILE *defs_f = open_memstream(&defs, &defs_len), *protos_f = open_memstream(&protos, &protos_len);
  bool ok = opened && defs_f && protos_f && print_funcs(&em, defs_f, protos_f, !c_out);
  if (defs_f)
    fclose(defs_f);
  if (protos_f)
    fclose(protos_f);
  if (ok && c_out)
    print_c_file(c_out, &em, protos, defs);
  if (ok && h_out)
    print_header(h_out, &em, protos);
  if (!opened || !defs_f || !protos_f)
    aotc_error(p->ctx, (ir_loc){0}, "out of memory in the C backend");
  free(defs);
  free(protos);
  return ok;
}

bool emit_c_module(aotc_ctx *ctx, const ir_module *m, ir_func *const *funcs, int n_funcs,
                   const emit_options *opt, FILE *c_out, FILE *h_out)
{
  (void)m;
  return emit_plan_module(ctx, funcs, n_funcs, opt, &emit_target_c, c_out, h_out);
}

bool emit_plan_module(aotc_ctx *ctx, ir_func *const *funcs, int n_funcs, const emit_options *opt,
                      const emit_target *target, FILE *c_out, FILE *h_out)
{
  emit_plan *p = emit_plan_new(ctx, funcs, n_funcs, opt, target);
  if (!p)
    return false;
  bool ok = emit_plan_build(p) && emit_plan_schedule(p) && emit_plan_ast(p);
  if (p->opt->dump_schedule)
    emit_plan_dump(p, stderr);
  ok = ok && emit_plan_print(p, c_out, h_out);
  emit_plan_free(p);
  return ok;
}
