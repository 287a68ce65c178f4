/* emit_plan.c: the phases before printing (emit_plan.h): names, the
 * polyhedral model of every kernel, the options and contractions of every
 * function, isl's schedules and ASTs. The decisions are made by poly.c
 * and src/schedule; this file records them in the plan. */
#include "emit_plan.h"

#include <isl/id.h>
#include <isl/options.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Names: one scheme for every user name, ir_c_name (src/ir/names.c)
 * ------------------------------------------------------------------------ */

/* The entry's name: the def's name unless it clashes with the target. */
static const char *entry_name(const emit_plan *p, const ir_func *f)
{
  const char *name = ir_c_name(p->ctx, f->name, NULL, 0);
  if (name && strcmp(name, f->name))
    aotc_warning(p->ctx, f->loc, "'%s' is a reserved name in C; the entry is emitted as '%s'", f->name, name);
  return name;
}

/* Names of parameters and tensors, distinct and clear of the target's words;
 * constants are named after the entry, so that entries never share one. */
static bool name_params_and_tensors(const emit_plan *p, emit_plan_fn *pf)
{
  const ir_func *f = pf->f;
  ir_name_set taken = {0};
  pf->param_c = IR_NEW_ARRAY(p->ctx, const char *, f->n_params);
  pf->tensor_c = IR_NEW_ARRAY(p->ctx, const char *, f->n_tensors);
  if (!pf->param_c || !pf->tensor_c)
    return false;
  for (int i = 0; i < f->n_params; i++)
    pf->param_c[i] = ir_c_name_unique(p->ctx, &taken, f->param_names[i]);
  for (int t = 0; t < f->n_tensors; t++)
    pf->tensor_c[t] = f->tensors[t]->role == IR_CONSTANT
                          ? ir_sprintf(p->ctx, "aotc_k_%s_%s", pf->name, f->tensors[t]->name)
                          : ir_c_name_unique(p->ctx, &taken, f->tensors[t]->name);
  return !p->ctx->oom;
}

/* ------------------------------------------------------------------------
 * Build: kernels and their polyhedral models
 * ------------------------------------------------------------------------ */

static bool check_shapes(const emit_plan *p, const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    for (int j = 0; j < f->tensors[t]->rank; j++)
      if (!f->tensors[t]->shape[j]) {
        aotc_error(p->ctx, f->tensors[t]->loc, "%s: the shape of '%s' is unknown", f->name, f->tensors[t]->name);
        return false;
      }
  return true;
}

static int count_kernels(const ir_func *f)
{
  int n = 0;
  for (int first = 0; first < f->n_stmts; first = poly_kernel_end(f, first))
    n++;
  return n;
}

static bool list_kernels(const emit_plan *p, emit_plan_fn *pf)
{
  pf->n_kernels = count_kernels(pf->f);
  pf->kernels = IR_NEW_ARRAY(p->ctx, emit_kernel, pf->n_kernels > 0 ? pf->n_kernels : 1);
  if (!pf->kernels)
    return false;
  for (int i = 0, first = 0; i < pf->n_kernels; first = pf->kernels[i++].end)
    pf->kernels[i] =
        (emit_kernel){.first = first, .end = poly_kernel_end(pf->f, first), .contraction = -1, .transpose = -1};
  return true;
}

static unsigned long max_ops(const emit_plan *p)
{
  return p->ctx->isl_max_ops > 0 ? (unsigned long)p->ctx->isl_max_ops : POLY_DEFAULT_MAX_OPS;
}

static bool build_models(const emit_plan *p, emit_plan_fn *pf)
{
  for (int i = 0; i < pf->n_kernels; i++) {
    emit_kernel *k = &pf->kernels[i];
    k->poly = poly_kernel_build(p->ctx, p->isl, pf->f, k->first, k->end, max_ops(p), pf->param_c, pf->tensor_c,
                                p->opt->fixed_sizes);
    if (!k->poly)
      return false;
    k->poly->cache = pf->cache;
    k->poly->memo = p->opt->memo;
  }
  return true;
}

static bool build_fn(emit_plan *p, emit_plan_fn *pf)
{
  if (!pf->cache && !(pf->cache = poly_cache_new())) {
    aotc_error(p->ctx, pf->f->loc, "out of memory in the C backend");
    return false;
  }
  return check_shapes(p, pf->f) && name_params_and_tensors(p, pf) && list_kernels(p, pf) && build_models(p, pf);
}

bool emit_plan_build(emit_plan *p)
{
  for (int i = 0; i < p->n_funcs; i++)
    if (!(p->funcs[i].name = entry_name(p, p->funcs[i].f)))
      return false;
  for (int i = 0; i < p->n_funcs; i++)
    if (!emit_checks_constant_indices(p->ctx, p->funcs[i].f) || !build_fn(p, &p->funcs[i]))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Schedule: options, contractions, isl's schedules
 * ------------------------------------------------------------------------ */

static void choose_options(const emit_plan *p, emit_plan_fn *pf)
{
  pf->heuristic = !p->opt->sched;
  if (p->opt->sched)
    pf->sched = *p->opt->sched;
  else if (emit_target_is_gpu(p->target))
    sched_gpu_options_heuristic(&pf->sched);
  else
    sched_options_heuristic(pf->f, p->opt->threads, p->opt->cpu, &pf->sched);
  if (emit_target_is_gpu(p->target))
    pf->sched.microkernel = false;
}

/* The contractions the options send to the micro-kernel path. */
static bool find_contractions(const emit_plan *p, emit_plan_fn *pf)
{
  const ir_func *f = pf->f;
  sched_contraction c;
  int n = 0;
  bool wanted = emit_target_is_gpu(p->target) ? pf->sched.gpu_promote : pf->sched.microkernel;
  for (int i = 0; wanted && i < f->n_stmts; i++)
    n += sched_find_contraction(f, i, &c);
  pf->n_contr = 0;
  pf->contr = IR_NEW_ARRAY(p->ctx, sched_contraction, n > 0 ? n : 1);
  pf->blocks = IR_NEW_ARRAY(p->ctx, sched_blocks, n > 0 ? n : 1);
  if (!pf->contr || !pf->blocks)
    return false;
  for (int i = 0; pf->n_contr < n && i < f->n_stmts; i++)
    if (sched_find_contraction(f, i, &pf->contr[pf->n_contr])) {
      if (pf->heuristic)
        sched_contraction_heuristic(f, &pf->contr[pf->n_contr], &pf->sched, p->opt->cpu, &pf->blocks[pf->n_contr]);
      else
        sched_contraction_blocks(&pf->contr[pf->n_contr], &pf->sched, &pf->blocks[pf->n_contr]);
      pf->n_contr++;
    }
  return true;
}

static int contraction_of(const emit_plan_fn *pf, const emit_kernel *k)
{
  for (int i = 0; k->end == k->first + 1 && i < pf->n_contr; i++)
    if (pf->contr[i].stmt == k->first)
      return i;
  return -1;
}

/* A contraction keeps its blocks; the other kernels get isl's schedule. */
static void schedule_kernel(const emit_plan *p, emit_plan_fn *pf, emit_kernel *k)
{
  k->contraction = contraction_of(pf, k);
  k->transpose = -1;
  if (k->contraction < 0 && emit_target_is_gpu(p->target) && pf->sched.gpu_promote_reads &&
      k->end == k->first + 1 && emit_cuda_transposed_read(pf->f, pf->f->stmts[k->first]))
    k->transpose = k->first;
  if (k->contraction >= 0) {
    poly_kernel_free(k->poly);
    k->poly = NULL;
    return;
  }
  sched_options o = pf->sched;
  if (pf->heuristic) {
    o.threads = sched_kernel_threads(pf->f, k->first, k->end, o.threads);
    o.fusion = sched_kernel_fusion(pf->f, k->first, k->end, o.fusion);
  }
  sched_set_isl_options(p->isl, &o);
  poly_kernel_schedule(k->poly, p->opt->fuse);
  if (k->poly->scheduled && !k->poly->from_cache && emit_target_is_gpu(p->target))
    k->poly->schedule = sched_gpu_map(p->ctx, k->poly->schedule, &pf->sched);
  else if (pf->heuristic && !k->poly->from_cache && sched_row_prefix(pf->f, k->first, k->end) > 0)
    k->poly->schedule = sched_row_schedule(k->poly->schedule, pf->f, k->first, k->end, &o);
  else if (k->poly->scheduled && !k->poly->from_cache)
    k->poly->schedule = sched_apply(k->poly->schedule, &o);
  if (pf->heuristic && k->poly->scheduled && !k->poly->from_cache && sched_kernel_taps(pf->f, k->first, k->end))
    k->poly->schedule = sched_separate(k->poly->schedule);
  poly_kernel_cache_schedule(k->poly);
}

bool emit_plan_schedule(emit_plan *p)
{
  for (int i = 0; i < p->n_funcs; i++) {
    emit_plan_fn *pf = &p->funcs[i];
    choose_options(p, pf);
    if (!find_contractions(p, pf))
      return false;
    emit_ukernel_warn_fallbacks(p, pf);
    pf->scheduled = true;
    for (int j = 0; j < pf->n_kernels; j++)
      schedule_kernel(p, pf, &pf->kernels[j]);
    emit_epilogue_plan(p, pf);
  }
  return true;
}

/* ------------------------------------------------------------------------
 * AST: isl's loops; with sr=1 the loops whose accumulator can live in a
 * local are annotated EMIT_PLAN_ACC
 * ------------------------------------------------------------------------ */

bool emit_ast_mentions(__isl_keep isl_ast_expr *e, const char *name)
{
  bool found = false;
  if (isl_ast_expr_get_type(e) == isl_ast_expr_id) {
    isl_id *id = isl_ast_expr_id_get_id(e);
    found = !strcmp(isl_id_get_name(id), name);
    isl_id_free(id);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_op) {
    for (int i = 0; !found && i < isl_ast_expr_op_get_n_arg(e); i++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(e, i);
      found = emit_ast_mentions(arg, name);
      isl_ast_expr_free(arg);
    }
  }
  return found;
}

/* Does the statement call `call` (S_k(i0, i1, ...)) write an element that
 * stays the same for every value of the loop iterator `it`? */
static bool lhs_uses_index(const ir_stmt *s, int x)
{
  for (int j = 0; j < s->n_lhs; j++)
    if (ir_stmt_is_plain(s) ? s->lhs[j] == x : ir_expr_uses_index(s->lhs_expr[j], x))
      return true;
  return false;
}

static bool lhs_stays(const ir_stmt *s, __isl_keep isl_ast_expr *call, const char *it)
{
  for (int x = 0; x < s->n_index; x++) {
    if (!lhs_uses_index(s, x))
      continue;
    isl_ast_expr *v = x + 1 < isl_ast_expr_op_get_n_arg(call) ? isl_ast_expr_op_get_arg(call, x + 1) : NULL;
    bool moves = !v || emit_ast_mentions(v, it);
    isl_ast_expr_free(v);
    if (moves)
      return false;
  }
  return true;
}

/* Whether node is a statement's call whose left-hand side does not move
 * with loop's iterator; *ps: the statement. */
static bool call_stays(const poly_kernel *k, __isl_keep isl_ast_node *node, __isl_keep isl_ast_node *loop,
                       poly_stmt *ps)
{
  const ir_func *f = k->f;
  isl_ast_expr *call = node && isl_ast_node_get_type(node) == isl_ast_node_user ? isl_ast_node_user_get_expr(node)
                                                                                : NULL;
  isl_ast_expr *name = call ? isl_ast_expr_op_get_arg(call, 0) : NULL;
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_id *id = name ? isl_ast_expr_id_get_id(name) : NULL, *it_id = it ? isl_ast_expr_id_get_id(it) : NULL;
  bool ok = id && it_id && poly_kernel_stmt(k, isl_id_get_name(id), ps) && ps->stmt < f->n_stmts &&
            lhs_stays(f->stmts[ps->stmt], call, isl_id_get_name(it_id));
  isl_id_free(id);
  isl_id_free(it_id);
  isl_ast_expr_free(it);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
  return ok;
}

/* A loop whose body is one reduction (not its initialisation) into an
 * element that does not move with the loop. */
static bool is_replaceable(const poly_kernel *k, __isl_keep isl_ast_node *loop)
{
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  poly_stmt ps;
  bool ok = call_stays(k, body, loop, &ps) && !ps.init && k->f->stmts[ps.stmt]->red != IR_RED_NONE;
  isl_ast_node_free(body);
  return ok;
}

static bool has_annotation(__isl_keep isl_ast_node *node, const char *name)
{
  isl_id *id = isl_ast_node_get_annotation(node);
  bool yes = id && isl_id_get_name(id) && !strcmp(isl_id_get_name(id), name);
  isl_id_free(id);
  return yes;
}

/* A loop whose body is an accumulator loop (or a nest of them) reducing
 * into an element that does not move with this loop either. */
static bool is_nest(const poly_kernel *k, __isl_keep isl_ast_node *loop)
{
  isl_ast_node *node = isl_ast_node_for_get_body(loop);
  if (!node || isl_ast_node_get_type(node) != isl_ast_node_for ||
      !(has_annotation(node, EMIT_PLAN_ACC) || has_annotation(node, EMIT_PLAN_ACC_NEST))) {
    isl_ast_node_free(node);
    return false;
  }
  while (node && isl_ast_node_get_type(node) == isl_ast_node_for) {
    isl_ast_node *body = isl_ast_node_for_get_body(node);
    isl_ast_node_free(node);
    node = body;
  }
  poly_stmt ps;
  bool ok = call_stays(k, node, loop, &ps);
  isl_ast_node_free(node);
  return ok;
}

static __isl_give isl_ast_node *annotate(__isl_take isl_ast_node *node, const char *name)
{
  return isl_ast_node_set_annotation(node, isl_id_alloc(isl_ast_node_get_ctx(node), name, NULL));
}

static __isl_give isl_ast_node *annotate_for(__isl_take isl_ast_node *node, __isl_keep isl_ast_build *build,
                                             void *user)
{
  (void)build;
  if (!node || !is_replaceable(user, node))
    return node;
  return annotate(node, EMIT_PLAN_ACC);
}

/* GPU: also the nests around accumulator loops. */
static __isl_give isl_ast_node *annotate_for_gpu(__isl_take isl_ast_node *node, __isl_keep isl_ast_build *build,
                                                 void *user)
{
  node = annotate_for(node, build, user);
  if (!node || has_annotation(node, EMIT_PLAN_ACC) || !is_nest(user, node))
    return node;
  return annotate(node, EMIT_PLAN_ACC_NEST);
}

bool emit_plan_ast(emit_plan *p)
{
  for (int i = 0; i < p->n_funcs; i++) {
    emit_plan_fn *pf = &p->funcs[i];
    for (int j = 0; j < pf->n_kernels; j++) {
      emit_kernel *k = &pf->kernels[j];
      if (k->contraction >= 0)
        continue;
      k->poly->after_each_for = !pf->sched.scalar_replace       ? NULL
                                : emit_target_is_gpu(p->target) ? annotate_for_gpu
                                                                : annotate_for;
      k->poly->after_each_for_user = k->poly;
      k->ast = poly_kernel_ast(k->poly);
      if (!k->ast) {
        aotc_error(p->ctx, pf->f->stmts[k->first]->loc, "%s: isl could not generate the loops", pf->f->name);
        return false;
      }
    }
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Dump (--dump=schedule)
 * ------------------------------------------------------------------------ */

static void dump_options(const emit_plan_fn *pf, FILE *out)
{
  char buf[512];
  sched_options_print(buf, sizeof(buf), &pf->sched);
  fprintf(out, "# %s: options %s%s\n", pf->f->name, buf, pf->heuristic ? " (heuristic)" : "");
}

static void dump_contraction(const emit_plan_fn *pf, int ci, FILE *out)
{
  const sched_contraction *c = &pf->contr[ci];
  const sched_blocks *b = &pf->blocks[ci];
  const ir_stmt *s = pf->f->stmts[c->stmt];
  fprintf(out, "# %s: statement %d is a contraction: rows %s, columns %s, depth %s; packed micro-kernel "
          "%dx%d (vector %d), blocks mc=%d nc=%d kc=%d, threads %d\n", pf->f->name, c->stmt, s->index[c->i].name,
          s->index[c->j].name, s->index[c->k].name, b->mr, b->nr, b->vw, b->mc, b->nc, b->kc, b->threads);
}

static void dump_schedule(const emit_plan_fn *pf, const emit_kernel *k, FILE *out)
{
  char *s = isl_schedule_to_str(k->poly->schedule);
  char *c = k->ast ? isl_ast_node_to_C_str(k->ast) : NULL;
  fprintf(out, "# %s: %s schedule\n%s\n# %s: AST\n%s\n", pf->f->name,
          k->poly->scheduled ? "isl" : "program-order", s ? s : "(none)", pf->f->name, c ? c : "(none)");
  free(s);
  free(c);
}

void emit_plan_dump(const emit_plan *p, FILE *out)
{
  for (int i = 0; i < p->n_funcs && p->funcs[i].scheduled; i++) {
    const emit_plan_fn *pf = &p->funcs[i];
    dump_options(pf, out);
    for (int j = 0; j < pf->n_kernels; j++) {
      const emit_kernel *k = &pf->kernels[j];
      if (k->contraction >= 0)
        dump_contraction(pf, k->contraction, out);
      else if (k->poly && k->poly->schedule)
        dump_schedule(pf, k, out);
      if (k->contraction < 0 && !k->ast)
        return;
    }
  }
}

/* ------------------------------------------------------------------------
 * Plan
 * ------------------------------------------------------------------------ */

static isl_ctx *new_isl_ctx(void)
{
  isl_ctx *isl = isl_ctx_alloc();
  if (!isl)
    return NULL;
  isl_options_set_on_error(isl, ISL_ON_ERROR_CONTINUE);
  return isl;
}

emit_plan *emit_plan_new(aotc_ctx *ctx, ir_func *const *funcs, int n_funcs, const emit_options *opt,
                         const emit_target *target)
{
  static const emit_options defaults = {.fuse = true};
  emit_plan *p = IR_NEW(ctx, emit_plan);
  emit_plan_fn *fns = IR_NEW_ARRAY(ctx, emit_plan_fn, n_funcs > 0 ? n_funcs : 1);
  isl_ctx *isl = p && fns ? new_isl_ctx() : NULL;
  if (!isl) {
    aotc_error(ctx, (ir_loc){0}, "out of memory in the C backend");
    return NULL;
  }
  *p = (emit_plan){.ctx = ctx, .opt = opt ? opt : &defaults, .target = target, .isl = isl, .n_funcs = n_funcs,
                   .funcs = fns};
  for (int i = 0; i < n_funcs; i++)
    fns[i] = (emit_plan_fn){.f = funcs[i]};
  return p;
}

void emit_plan_free(emit_plan *p)
{
  if (!p)
    return;
  for (int i = 0; i < p->n_funcs; i++)
    for (int j = 0; j < p->funcs[i].n_kernels; j++) {
      isl_ast_node_free(p->funcs[i].kernels[j].ast);
      poly_kernel_free(p->funcs[i].kernels[j].poly);
    }
  for (int i = 0; i < p->n_funcs; i++)
    poly_cache_free(p->funcs[i].cache);
  isl_ctx_free(p->isl);
  memset(p, 0, sizeof(*p));
}

/* Whether e selects on index x: a select whose condition is x == v. */
static bool selects_on(const ir_expr *e, int x)
{
  if (!e)
    return false;
  if (e->kind == IR_SELECT && e->args[0]->kind == IR_BINARY && e->args[0]->op == IR_EQ &&
      e->args[0]->args[0]->kind == IR_INDEX && e->args[0]->args[0]->index == x &&
      e->args[0]->args[1]->kind == IR_CONST_INT)
    return true;
  for (int k = 0; k < e->n_args; k++)
    if (selects_on(e->args[k], x))
      return true;
  return false;
}

/* The constant value of an AST expression, into *v. */
bool emit_ast_int(__isl_keep isl_ast_expr *e, long *v)
{
  if (!e || isl_ast_expr_get_type(e) != isl_ast_expr_int)
    return false;
  isl_val *val = isl_ast_expr_int_get_val(e);
  bool ok = val && isl_val_is_int(val);
  if (ok)
    *v = isl_val_get_num_si(val);
  isl_val_free(val);
  return ok;
}

bool emit_ast_loop_range(__isl_keep isl_ast_expr *init, __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc,
                         long *lo, long *end, long *step)
{
  if (!emit_ast_int(init, lo) || !emit_ast_int(inc, step) || *step <= 0 || !cond ||
      isl_ast_expr_get_type(cond) != isl_ast_expr_op || isl_ast_expr_op_get_n_arg(cond) != 2)
    return false;
  enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(cond);
  if (op != isl_ast_expr_op_le && op != isl_ast_expr_op_lt)
    return false;
  isl_ast_expr *bound = isl_ast_expr_op_get_arg(cond, 1);
  bool ok = emit_ast_int(bound, end);
  isl_ast_expr_free(bound);
  *end += ok && op == isl_ast_expr_op_le;
  return ok;
}

#define SELECT_UNROLL_MAX 8

bool emit_select_loop(const poly_kernel *k, const ir_func *f, __isl_keep isl_ast_node *node, long *lo, long *hi)
{
  isl_ast_expr *init = isl_ast_node_for_get_init(node), *cond = isl_ast_node_for_get_cond(node);
  isl_ast_expr *inc = isl_ast_node_for_get_inc(node), *it = isl_ast_node_for_get_iterator(node);
  isl_ast_node *inner = isl_ast_node_for_get_body(node);
  while (inner && isl_ast_node_get_type(inner) == isl_ast_node_mark) {
    isl_ast_node *child = isl_ast_node_mark_get_node(inner);
    isl_ast_node_free(inner);
    inner = child;
  }
  isl_ast_node *body = inner && isl_ast_node_get_type(inner) == isl_ast_node_for ? isl_ast_node_for_get_body(inner) : NULL;
  isl_ast_expr *call = body && isl_ast_node_get_type(body) == isl_ast_node_user ? isl_ast_node_user_get_expr(body) : NULL;
  long end = 0, step = 0;
  bool ok = emit_ast_loop_range(init, cond, inc, lo, &end, &step) && step == 1 && end > *lo &&
            end - *lo <= SELECT_UNROLL_MAX && call;
  *hi = end - 1;
  if (ok) {
    isl_ast_expr *name = isl_ast_expr_op_get_arg(call, 0);
    isl_id *id = isl_ast_expr_id_get_id(name);
    poly_stmt ps;
    ok = poly_kernel_stmt(k, isl_id_get_name(id), &ps) && ps.stmt < f->n_stmts && !ps.init;
    int x = -1;
    for (int j = 1; ok && j < isl_ast_expr_op_get_n_arg(call); j++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(call, j);
      if (isl_ast_expr_is_equal(arg, it) == isl_bool_true)
        x = j - 1;
      isl_ast_expr_free(arg);
    }
    ok = ok && x >= 0 && selects_on(f->stmts[ps.stmt]->rhs, x);
    isl_id_free(id);
    isl_ast_expr_free(name);
  }
  isl_ast_expr_free(call);
  isl_ast_node_free(body);
  isl_ast_node_free(inner);
  isl_ast_expr_free(it);
  isl_ast_expr_free(inc);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(init);
  return ok;
}
