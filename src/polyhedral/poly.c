/* poly.c: IR -> isl. Each IR statement becomes an isl statement S_k over a
 * box of its index ranges (plus S_k_init over the left-hand indices for the
 * `!` reductions); accesses to tensors written in the function become access
 * relations; isl's dataflow analysis gives the dependences and isl's
 * scheduler a schedule, with the program order as the fallback. */
#include "poly.h"

#include <isl/aff.h>
#include <isl/ast_build.h>
#include <isl/constraint.h>
#include <isl/flow.h>
#include <isl/id.h>
#include <isl/local_space.h>
#include <isl/map.h>
#include <isl/options.h>
#include <isl/schedule_node.h>
#include <isl/space.h>
#include <isl/val.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Spaces, sizes and affine index expressions
 * ------------------------------------------------------------------------ */

static bool param_fixed(const poly_kernel *k, int p)
{
  return k->fixed_sizes && k->fixed_sizes[p] >= 0;
}

/* The size parameters that are not fixed: a fixed size is a constant in
 * every set and map (isl's AST generation costs more with parameters, even
 * ones the context pins). */
static __isl_give isl_space *param_space(const poly_kernel *k)
{
  int n = 0;
  for (int i = 0; i < k->f->n_params; i++)
    n += !param_fixed(k, i);
  isl_space *space = isl_space_params_alloc(k->isl, n);
  for (int i = 0, j = 0; i < k->f->n_params; i++)
    if (!param_fixed(k, i))
      space = isl_space_set_dim_id(space, isl_dim_param, j++, isl_id_alloc(k->isl, k->param_ids[i], NULL));
  return space;
}

/* Parameter p's position in param_space. */
static int param_pos(const poly_kernel *k, int p)
{
  int j = 0;
  for (int i = 0; i < p; i++)
    j += !param_fixed(k, i);
  return j;
}

/* The set space NAME[i0, ..., i(n-1)] with the size parameters not fixed. */
static __isl_give isl_space *named_set_space(const poly_kernel *k, const char *name, int n)
{
  isl_space *space = isl_space_set_from_params(param_space(k));
  space = isl_space_add_dims(space, isl_dim_set, n);
  return isl_space_set_tuple_name(space, isl_dim_set, name);
}

static __isl_give isl_pw_aff *const_on(__isl_keep isl_space *space, int64_t v)
{
  isl_local_space *ls = isl_local_space_from_space(isl_space_copy(space));
  return isl_pw_aff_from_aff(isl_aff_val_on_domain(ls, isl_val_int_from_si(isl_space_get_ctx(space), v)));
}

static __isl_give isl_pw_aff *var_on(__isl_keep isl_space *space, enum isl_dim_type type, int pos)
{
  return isl_pw_aff_var_on_domain(isl_local_space_from_space(isl_space_copy(space)), type, pos);
}

static __isl_give isl_pw_aff *size_param(const poly_kernel *k, __isl_keep isl_space *space, int p)
{
  if (param_fixed(k, p))
    return const_on(space, k->fixed_sizes[p]);
  return var_on(space, isl_dim_param, param_pos(k, p));
}

/* floor(a / b) or ceil(a / b) for a constant b. */
static __isl_give isl_pw_aff *div_by(__isl_take isl_pw_aff *a, __isl_take isl_pw_aff *b, bool ceil)
{
  isl_pw_aff *q = isl_pw_aff_div(a, b);
  return ceil ? isl_pw_aff_ceil(q) : isl_pw_aff_floor(q);
}

/* A size expression as a piecewise affine function on space. */
static __isl_give isl_pw_aff *size_to_pw_aff(const poly_kernel *k, __isl_keep isl_space *space,
                                             const ir_size *s)
{
  if (!s)
    return NULL;
  if (s->kind == IR_SZ_CONST)
    return const_on(space, s->value);
  if (s->kind == IR_SZ_PARAM)
    return size_param(k, space, (int)s->value);
  isl_pw_aff *a = size_to_pw_aff(k, space, s->a);
  isl_pw_aff *b = size_to_pw_aff(k, space, s->b);
  switch (s->kind) {
  case IR_SZ_ADD:
    return isl_pw_aff_add(a, b);
  case IR_SZ_SUB:
    return isl_pw_aff_sub(a, b);
  case IR_SZ_MUL:
    return isl_pw_aff_mul(a, b);
  case IR_SZ_FLOORDIV:
    return div_by(a, b, false);
  case IR_SZ_CEILDIV:
    return div_by(a, b, true);
  case IR_SZ_MIN:
    return isl_pw_aff_min(a, b);
  default:
    return isl_pw_aff_max(a, b);
  }
}

static bool is_cst(__isl_keep isl_pw_aff *pa)
{
  return pa && isl_pw_aff_is_cst(pa) == isl_bool_true;
}

/* a op b for an affine binary operator; NULL when the result is not affine.
 * Division and remainder are only affine by a positive constant. */
static __isl_give isl_pw_aff *affine_binary(ir_op op, __isl_take isl_pw_aff *a, __isl_take isl_pw_aff *b,
                                            bool positive_const_b)
{
  bool ok = a && b;
  if (ok && op == IR_MUL)
    ok = is_cst(a) || is_cst(b);
  if (ok && (op == IR_DIV || op == IR_MOD))
    ok = positive_const_b;
  if (ok && op == IR_ADD)
    return isl_pw_aff_add(a, b);
  if (ok && op == IR_SUB)
    return isl_pw_aff_sub(a, b);
  if (ok && op == IR_MUL)
    return isl_pw_aff_mul(a, b);
  if (ok && op == IR_DIV)
    return isl_pw_aff_tdiv_q(a, b);
  if (ok && op == IR_MOD)
    return isl_pw_aff_tdiv_r(a, b);
  isl_pw_aff_free(a);
  isl_pw_aff_free(b);
  return NULL;
}

/* An integer index expression as an affine function of the statement's
 * index variables (dimension j of space is index j); NULL if not affine. */
static __isl_give isl_pw_aff *expr_to_pw_aff(const poly_kernel *k, __isl_keep isl_space *space,
                                             const ir_expr *e)
{
  if (ir_types[e->type].is_float)
    return NULL;
  switch (e->kind) {
  case IR_CONST_INT:
    return const_on(space, e->ival);
  case IR_INDEX:
    return var_on(space, isl_dim_set, e->index);
  case IR_SIZE:
    return size_to_pw_aff(k, space, e->size);
  case IR_CAST:
    return expr_to_pw_aff(k, space, e->args[0]);
  case IR_UNARY:
    return e->op == IR_NEG ? isl_pw_aff_neg(expr_to_pw_aff(k, space, e->args[0])) : NULL;
  case IR_BINARY:
    return affine_binary(e->op, expr_to_pw_aff(k, space, e->args[0]), expr_to_pw_aff(k, space, e->args[1]),
                         e->args[1]->kind == IR_CONST_INT && e->args[1]->ival > 0);
  default:
    return NULL;
  }
}

/* ------------------------------------------------------------------------
 * Domains and accesses
 * ------------------------------------------------------------------------ */

/* { x : lo <= x_pos }, a max of bounds as the intersection of its bounds
 * (isl's max of many terms has exponentially many pieces). */
static __isl_give isl_set *at_least(const poly_kernel *k, __isl_keep isl_space *space, int pos, const ir_size *lo)
{
  if (lo && lo->kind == IR_SZ_MAX)
    return isl_set_intersect(at_least(k, space, pos, lo->a), at_least(k, space, pos, lo->b));
  return isl_pw_aff_le_set(size_to_pw_aff(k, space, lo), var_on(space, isl_dim_set, pos));
}

/* { x : x_pos < hi }, a min of bounds as the intersection of its bounds. */
static __isl_give isl_set *below(const poly_kernel *k, __isl_keep isl_space *space, int pos, const ir_size *hi)
{
  if (hi && hi->kind == IR_SZ_MIN)
    return isl_set_intersect(below(k, space, pos, hi->a), below(k, space, pos, hi->b));
  return isl_pw_aff_lt_set(var_on(space, isl_dim_set, pos), size_to_pw_aff(k, space, hi));
}

/* The isl name of tensor t in the kernel: T<j> for the j-th tensor the
 * kernel mentions (so that repeated layers print alike), A<t> past 64. */
static const char *tensor_id(poly_kernel *k, int t, char *buf, size_t size)
{
  int j = 0;
  while (j < k->n_names && k->names[j] != t)
    j++;
  if (j == k->n_names && k->n_names < (int)(sizeof(k->names) / sizeof(k->names[0])))
    k->names[k->n_names++] = t;
  if (j < k->n_names)
    snprintf(buf, size, "T%d", j);
  else
    snprintf(buf, size, "A%d", t);
  return buf;
}

/* {T[o] : 0 <= o_j < shape_j} */
static __isl_give isl_set *tensor_bounds(poly_kernel *k, int t)
{
  const ir_tensor *T = k->f->tensors[t];
  char name[32];
  isl_space *space = named_set_space(k, tensor_id(k, t, name, sizeof(name)), T->rank);
  isl_set *set = isl_set_universe(isl_space_copy(space));
  for (int j = 0; j < T->rank; j++) {
    set = isl_set_intersect(set, isl_pw_aff_ge_set(var_on(space, isl_dim_set, j), const_on(space, 0)));
    if (T->shape[j])
      set = isl_set_intersect(set, below(k, space, j, T->shape[j]));
  }
  isl_space_free(space);
  return set;
}

/* lo_j <= i_j < hi_j for the indices idx[0..n-1] of s (set dimension j). */
static __isl_give isl_set *box_domain(const poly_kernel *k, const char *name, const ir_stmt *s,
                                      const int *idx, int n)
{
  isl_space *space = named_set_space(k, name, n);
  isl_set *set = isl_set_universe(isl_space_copy(space));
  for (int j = 0; j < n; j++) {
    const ir_index *x = &s->index[idx ? idx[j] : j];
    set = isl_set_intersect(set, at_least(k, space, j, x->lo));
    set = isl_set_intersect(set, below(k, space, j, x->hi));
  }
  isl_space_free(space);
  return isl_set_intersect_params(set, isl_set_copy(k->context));
}

/* {S[i] -> [o]} for one tensor dimension: o = idx(i), or any o. */
static __isl_give isl_map *access_dim(const poly_kernel *k, __isl_keep isl_space *space, const ir_expr *idx)
{
  isl_pw_aff *pa = expr_to_pw_aff(k, space, idx);
  if (pa)
    return isl_map_from_pw_aff(pa);
  isl_ctx_reset_error(k->isl);
  isl_map *m = isl_map_from_domain(isl_set_universe(isl_space_copy(space)));
  return isl_map_add_dims(m, isl_dim_out, 1);
}

/* {S[i] -> T[idx(i)]} for a read T(args...), bounded by T's shape. */
static __isl_give isl_map *read_access(poly_kernel *k, __isl_keep isl_space *space, const ir_expr *e)
{
  char name[32];
  isl_map *m = isl_map_from_domain(isl_set_universe(isl_space_copy(space)));
  for (int j = 0; j < e->n_args; j++)
    m = isl_map_flat_range_product(m, access_dim(k, space, e->args[j]));
  m = isl_map_set_tuple_name(m, isl_dim_out, tensor_id(k, e->tensor, name, sizeof(name)));
  return isl_map_intersect_range(m, tensor_bounds(k, e->tensor));
}

/* {S[i] -> [o]} for dimension j of the element written: set dimension j
 * (an initialisation), index lhs[j] (plain form), or subscript j (general
 * form: exact when affine, any o otherwise). */
static __isl_give isl_map *lhs_dim(poly_kernel *k, __isl_keep isl_space *space, const ir_stmt *s, int j,
                                   bool init)
{
  if (!init && !ir_stmt_is_plain(s))
    return access_dim(k, space, s->lhs_expr[j]);
  return isl_map_from_pw_aff(var_on(space, isl_dim_set, init ? j : s->lhs[j]));
}

/* {S[i] -> T[lhs(i)]}. A general left-hand side is bounded by T's shape, so
 * that an indirect subscript writes (conservatively) the whole tensor. */
static __isl_give isl_map *lhs_access(poly_kernel *k, __isl_keep isl_space *space, const ir_stmt *s, bool init)
{
  char name[32];
  isl_map *m = isl_map_from_domain(isl_set_universe(isl_space_copy(space)));
  for (int j = 0; j < s->n_lhs; j++)
    m = isl_map_flat_range_product(m, lhs_dim(k, space, s, j, init));
  m = isl_map_set_tuple_name(m, isl_dim_out, tensor_id(k, s->tensor, name, sizeof(name)));
  return ir_stmt_is_plain(s) ? m : isl_map_intersect_range(m, tensor_bounds(k, s->tensor));
}

/* Is tensor t written by some statement of the kernel? */
static bool is_written(const poly_kernel *k, int t)
{
  for (int i = k->first; i < k->end; i++)
    if (k->f->stmts[i]->tensor == t)
      return true;
  return false;
}

/* Adds every read of a written tensor in e (nested index reads included). */
static __isl_give isl_union_map *collect_reads(poly_kernel *k, __isl_keep isl_space *space,
                                               const ir_expr *e, __isl_take isl_union_map *reads)
{
  if (!e)
    return reads;
  if (e->kind == IR_ACCESS && is_written(k, e->tensor))
    reads = isl_union_map_add_map(reads, read_access(k, space, e));
  for (int j = 0; j < e->n_args; j++)
    reads = collect_reads(k, space, e->args[j], reads);
  return reads;
}

/* The program order of one statement: its loops in index order. */
static __isl_give isl_schedule *stmt_order(__isl_take isl_set *dom)
{
  isl_size n = isl_set_dim(dom, isl_dim_set);
  isl_space *space = isl_set_get_space(dom);
  isl_schedule *s = isl_schedule_from_domain(isl_union_set_from_set(dom));
  if (n <= 0) {
    isl_space_free(space);
    return s;
  }
  isl_multi_aff *ma = isl_multi_aff_identity(isl_space_map_from_set(space));
  ma = isl_multi_aff_reset_tuple_id(ma, isl_dim_out);
  isl_union_map *um = isl_union_map_from_map(isl_map_from_multi_aff(ma));
  return isl_schedule_insert_partial_schedule(s, isl_multi_union_pw_aff_from_union_map(um));
}

static __isl_give isl_schedule *sequence(__isl_take isl_schedule *a, __isl_take isl_schedule *b)
{
  return a ? isl_schedule_sequence(a, b) : b;
}

/* Adds isl statement name (domain dom) with its accesses to k. */
static void add_stmt(poly_kernel *k, __isl_take isl_set *dom, __isl_take isl_union_map *reads,
                     __isl_take isl_map *write)
{
  k->domain = isl_union_set_add_set(k->domain, isl_set_copy(dom));
  k->reads = isl_union_map_union(k->reads, isl_union_map_intersect_domain(reads, isl_union_set_from_set(isl_set_copy(dom))));
  k->writes = isl_union_map_add_map(k->writes, isl_map_intersect_domain(write, isl_set_copy(dom)));
  k->order = sequence(k->order, stmt_order(dom));
}

/* The points a `!` initialisation writes: the box of the left-hand indices
 * (plain form) or the whole tensor (general form). */
static __isl_give isl_set *init_domain(poly_kernel *k, const char *name, const ir_stmt *s)
{
  if (ir_stmt_is_plain(s))
    return box_domain(k, name, s, s->lhs, s->n_lhs);
  isl_set *set = isl_set_set_tuple_name(tensor_bounds(k, s->tensor), name);
  return isl_set_intersect_params(set, isl_set_copy(k->context));
}

/* S_n_init[lhs] for a `!` reduction: writes the left-hand side. */
static void add_init_stmt(poly_kernel *k, const ir_stmt *s, int n)
{
  char name[32];
  snprintf(name, sizeof(name), "S_%d_init", n - k->first);
  isl_set *dom = init_domain(k, name, s);
  isl_space *space = isl_set_get_space(dom);
  isl_map *write = lhs_access(k, space, s, true);
  isl_union_map *reads = isl_union_map_empty(isl_space_params(isl_space_copy(space)));
  isl_space_free(space);
  add_stmt(k, dom, reads, write);
}

/* S_n[index]: reads its right-hand side (and the left for reductions). */
static void add_main_stmt(poly_kernel *k, const ir_stmt *s, int n)
{
  char name[32];
  snprintf(name, sizeof(name), "S_%d", n - k->first);
  isl_set *dom = box_domain(k, name, s, NULL, s->n_index);
  isl_space *space = isl_set_get_space(dom);
  isl_map *write = lhs_access(k, space, s, false);
  isl_union_map *reads = isl_union_map_empty(isl_space_params(isl_space_copy(space)));
  reads = collect_reads(k, space, s->rhs, reads);
  for (int j = 0; !ir_stmt_is_plain(s) && j < s->n_lhs; j++)
    reads = collect_reads(k, space, s->lhs_expr[j], reads);
  if (s->red != IR_RED_NONE)
    reads = isl_union_map_add_map(reads, isl_map_copy(write));
  isl_space_free(space);
  add_stmt(k, dom, reads, write);
}

/* Size parameters >= 0; specialised ones equal to their value. */
static __isl_give isl_set *build_context(const poly_kernel *k)
{
  isl_space *space = param_space(k);
  isl_set *set = isl_set_universe(isl_space_copy(space));
  for (int p = 0; p < k->f->n_params; p++)
    if (!param_fixed(k, p))
      set = isl_set_lower_bound_si(set, isl_dim_param, param_pos(k, p), 0);
  isl_space_free(space);
  return set;
}

static bool check_sizes(aotc_ctx *ctx, const ir_func *f, int first, int end)
{
  for (int i = first; i < end; i++)
    for (int j = 0; j < f->stmts[i]->n_index; j++)
      if (!f->stmts[i]->index[j].lo || !f->stmts[i]->index[j].hi) {
        aotc_error(ctx, f->stmts[i]->loc, "index '%s' has no inferred range", f->stmts[i]->index[j].name);
        return false;
      }
  return true;
}

/* Whether e holds a subscript (a read's, when e is one) that reads a tensor
 * written by statements first..end-1. */
static bool subscript_reads(const ir_func *f, const ir_expr *e, int first, int end, bool in_subscript)
{
  if (e->kind == IR_ACCESS && in_subscript)
    for (int i = first; i < end; i++)
      if (f->stmts[i]->tensor == e->tensor)
        return true;
  for (int k = 0; k < e->n_args; k++)
    if (subscript_reads(f, e->args[k], first, end, in_subscript || e->kind == IR_ACCESS))
      return true;
  return false;
}

/* Whether statement j indexes with data written earlier in its kernel: it
 * starts a kernel of its own, so that its indices are complete when the
 * checks before the kernel read them (emit_checks.c). */
static bool indexes_with_kernel_data(const ir_func *f, int first, int j)
{
  const ir_stmt *s = f->stmts[j];
  if (subscript_reads(f, s->rhs, first, j, false))
    return true;
  for (int d = 0; !ir_stmt_is_plain(s) && d < s->n_lhs; d++)
    if (subscript_reads(f, s->lhs_expr[d], first, j, true))
      return true;
  return false;
}

int poly_kernel_end(const ir_func *f, int first)
{
  int end = first + 1, limit = f->n_stmts - first > POLY_MAX_KERNEL_STMTS ? first + POLY_MAX_KERNEL_STMTS : f->n_stmts;
  while (end < limit && (!f->stmt_kernel || f->stmt_kernel[end] == f->stmt_kernel[first]) &&
         !indexes_with_kernel_data(f, first, end))
    end++;
  return end;
}

/* Bytes of temporary t at the sizes fixed in k, or -1 when unknown. */
static int64_t temp_bytes(const poly_kernel *k, int t)
{
  const ir_tensor *T = k->f->tensors[t];
  int64_t n = ir_types[T->type].bytes, d;
  for (int j = 0; j < T->rank; j++) {
    if (!T->shape[j] || !ir_size_eval(T->shape[j], k->fixed_sizes, &d) || d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  }
  return n;
}

static bool has_param(const ir_size *s)
{
  return s && (s->kind == IR_SZ_PARAM || has_param(s->a) || has_param(s->b));
}

/* Do memory-planned temporaries a and b share bytes? */
static bool temps_overlap(const poly_kernel *k, int a, int b)
{
  const ir_tensor *A = k->f->tensors[a], *B = k->f->tensors[b];
  for (int j = 0; !k->fixed_sizes && j < A->rank; j++)
    if (has_param(A->shape[j]))
      return true;
  for (int j = 0; !k->fixed_sizes && j < B->rank; j++)
    if (has_param(B->shape[j]))
      return true;
  int64_t na = temp_bytes(k, a), nb = temp_bytes(k, b);
  return na < 0 || nb < 0 || (A->ws_offset < B->ws_offset + nb && B->ws_offset < A->ws_offset + na);
}

/* Appends to used[] the temporaries e reads that are not there yet. */
static void collect_temps(const ir_func *f, const ir_expr *e, ir_vec *used, aotc_ctx *ctx)
{
  if (!e)
    return;
  for (int j = 0; j < e->n_args; j++)
    collect_temps(f, e->args[j], used, ctx);
  if (e->kind != IR_ACCESS || f->tensors[e->tensor]->role != IR_TEMP)
    return;
  for (int i = 0; i < used->n; i++)
    if ((intptr_t)used->items[i] == e->tensor)
      return;
  ir_vec_push(ctx, used, (void *)(intptr_t)e->tensor);
}

/* The temporaries the statements first..end-1 read or write. */
static ir_vec kernel_temps(aotc_ctx *ctx, const poly_kernel *k)
{
  ir_vec used = {0};
  for (int i = k->first; i < k->end; i++) {
    const ir_stmt *s = k->f->stmts[i];
    ir_expr lhs = {.kind = IR_ACCESS, .tensor = s->tensor};
    collect_temps(k->f, &lhs, &used, ctx);
    collect_temps(k->f, s->rhs, &used, ctx);
    for (int j = 0; !ir_stmt_is_plain(s) && j < s->n_lhs; j++)
      collect_temps(k->f, s->lhs_expr[j], &used, ctx);
  }
  return used;
}

/* A temporary written in the kernel that shares workspace bytes with
 * another temporary the kernel uses. Linear in the kernel's size (times the
 * temporaries it uses), not in the function's. */
static bool find_shared_storage(aotc_ctx *ctx, const poly_kernel *k)
{
  const ir_func *f = k->f;
  if (!f->memory_planned)
    return false;
  ir_vec used = kernel_temps(ctx, k);
  for (int i = k->first; i < k->end; i++) {
    int a = f->stmts[i]->tensor;
    for (int j = 0; f->tensors[a]->role == IR_TEMP && j < used.n; j++) {
      int b = (int)(intptr_t)used.items[j];
      if (b != a && temps_overlap(k, a, b))
        return true;
    }
  }
  return false;
}

poly_kernel *poly_kernel_build(aotc_ctx *ctx, isl_ctx *isl, const ir_func *f, int first, int end,
                               unsigned long max_ops, const char *const *param_ids, const char *const *tensor_ids,
                               const int64_t *fixed_sizes)
{
  if (!check_sizes(ctx, f, first, end))
    return NULL;
  poly_kernel *k = IR_NEW(ctx, poly_kernel);
  if (!k)
    return NULL;
  *k = (poly_kernel){.ctx = ctx, .isl = isl, .f = f, .param_ids = param_ids, .tensor_ids = tensor_ids,
                     .fixed_sizes = fixed_sizes, .first = first, .end = end, .max_ops = max_ops};
  k->shared_storage = find_shared_storage(ctx, k);
  return k;
}

/* Domains, accesses and program order of the kernel's statements as isl
 * objects (done only when the cache does not have the kernel's loops). */
static bool build_model(poly_kernel *k)
{
  const ir_func *f = k->f;
  isl_ctx_reset_error(k->isl);
  isl_ctx_set_max_operations(k->isl, 0);
  k->context = build_context(k);
  k->domain = isl_union_set_empty(param_space(k));
  k->reads = isl_union_map_empty(param_space(k));
  k->writes = isl_union_map_empty(param_space(k));
  for (int i = k->first; i < k->end; i++) {
    if (f->stmts[i]->init && f->stmts[i]->red != IR_RED_NONE)
      add_init_stmt(k, f->stmts[i], i);
    add_main_stmt(k, f->stmts[i], i);
  }
  if (!k->order)
    k->order = isl_schedule_empty(param_space(k));
  if (k->context && k->domain && k->reads && k->writes && k->order)
    return true;
  aotc_error(k->ctx, f->loc, "%s: cannot build the polyhedral model (isl: %s)", f->name,
             isl_ctx_last_error_msg(k->isl) ? isl_ctx_last_error_msg(k->isl) : "unknown error");
  return false;
}

/* ------------------------------------------------------------------------
 * Dependences and scheduling
 * ------------------------------------------------------------------------ */

/* Dependences to sink from must_src (and may_src) under the program order. */
static __isl_give isl_union_map *flow_deps(const poly_kernel *k, __isl_keep isl_union_map *sink,
                                           __isl_keep isl_union_map *must_src, __isl_keep isl_union_map *may_src)
{
  isl_union_access_info *ai = isl_union_access_info_from_sink(isl_union_map_copy(sink));
  ai = isl_union_access_info_set_must_source(ai, isl_union_map_copy(must_src));
  if (may_src)
    ai = isl_union_access_info_set_may_source(ai, isl_union_map_copy(may_src));
  ai = isl_union_access_info_set_schedule(ai, isl_schedule_copy(k->order));
  isl_union_flow *flow = isl_union_access_info_compute_flow(ai);
  isl_union_map *deps = isl_union_flow_get_may_dependence(flow);
  isl_union_flow_free(flow);
  return deps;
}

/* The statement of the kernel that writes t, -1 when none, -2 when several. */
static int writer_of(const poly_kernel *k, int t)
{
  int found = -1;
  for (int i = k->first; i < k->end; i++)
    if (k->f->stmts[i]->tensor == t)
      found = found == -1 ? i : -2;
  return found;
}

/* Whether every read in e of a tensor written in the kernel reads what one
 * statement before statement j wrote. */
static bool reads_earlier_writes(const poly_kernel *k, const ir_expr *e, int j)
{
  if (!e)
    return true;
  if (e->kind == IR_ACCESS) {
    int w = writer_of(k, e->tensor);
    if (w == -2 || w >= j)
      return false;
  }
  for (int a = 0; a < e->n_args; a++)
    if (!reads_earlier_writes(k, e->args[a], j))
      return false;
  return true;
}

/* A kernel whose dependences follow from its text: no reductions, every
 * tensor written by one statement (once per element: a left-hand side lists
 * distinct indices) and read only by later statements. */
static bool has_simple_dependences(const poly_kernel *k)
{
  for (int i = k->first; i < k->end; i++) {
    const ir_stmt *s = k->f->stmts[i];
    if (s->red != IR_RED_NONE || !ir_stmt_is_plain(s) || writer_of(k, s->tensor) != i ||
        !reads_earlier_writes(k, s->rhs, i))
      return false;
  }
  return true;
}

/* RAW into dep_raw; RAW, WAR and WAW into dep_all. In a kernel with simple
 * dependences, the flow dependences are writes . reads^-1 and there are no
 * others: no need for isl's dataflow analysis, the costliest step of small
 * kernels. */
static bool compute_dependences(poly_kernel *k)
{
  if (has_simple_dependences(k)) {
    k->dep_raw = isl_union_map_apply_range(isl_union_map_copy(k->writes), isl_union_map_reverse(isl_union_map_copy(k->reads)));
    k->dep_all = isl_union_map_copy(k->dep_raw);
    return k->dep_raw && k->dep_all;
  }
  k->dep_raw = flow_deps(k, k->reads, k->writes, NULL);
  isl_union_map *false_deps = flow_deps(k, k->writes, k->writes, k->reads);
  k->dep_all = isl_union_map_union(isl_union_map_copy(k->dep_raw), false_deps);
  return k->dep_raw && k->dep_all;
}

static __isl_give isl_schedule *isl_scheduler(poly_kernel *k, bool fuse)
{
  if (!fuse)
    isl_options_set_schedule_serialize_sccs(k->isl, 1);
  isl_options_set_schedule_whole_component(k->isl, 0);
  isl_schedule_constraints *sc = isl_schedule_constraints_on_domain(isl_union_set_copy(k->domain));
  sc = isl_schedule_constraints_set_context(sc, isl_set_copy(k->context));
  sc = isl_schedule_constraints_set_validity(sc, isl_union_map_copy(k->dep_all));
  sc = isl_schedule_constraints_set_coincidence(sc, isl_union_map_copy(k->dep_all));
  sc = isl_schedule_constraints_set_proximity(sc, isl_union_map_copy(k->dep_raw));
  return isl_schedule_constraints_compute_schedule(sc);
}

/* ------------------------------------------------------------------------
 * The cache of loops, by model text
 * ------------------------------------------------------------------------ */

typedef struct cache_entry {
  char *key;
  isl_schedule *schedule; /* the final one, after the schedule options */
  isl_ast_node *ast;
  bool scheduled; /* isl's scheduler made it */
} cache_entry;

struct poly_cache {
  cache_entry *slot; /* open addressing, cap a power of two */
  size_t n, cap;
};

poly_cache *poly_cache_new(void)
{
  return calloc(1, sizeof(poly_cache));
}

void poly_cache_free(poly_cache *c)
{
  for (size_t i = 0; c && i < c->cap; i++)
    if (c->slot[i].key) {
      free(c->slot[i].key);
      isl_schedule_free(c->slot[i].schedule);
      isl_ast_node_free(c->slot[i].ast);
    }
  if (c)
    free(c->slot);
  free(c);
}

/* The slot holding key, or the empty slot where it goes. */
static cache_entry *cache_slot(poly_cache *c, const char *key)
{
  size_t i = ir_hash_str(key) & (c->cap - 1);
  while (c->slot[i].key && strcmp(c->slot[i].key, key))
    i = (i + 1) & (c->cap - 1);
  return &c->slot[i];
}

static bool cache_grow(poly_cache *c)
{
  poly_cache bigger = {calloc(c->cap ? 2 * c->cap : 64, sizeof(cache_entry)), 0, c->cap ? 2 * c->cap : 64};
  if (!bigger.slot)
    return false;
  for (size_t i = 0; i < c->cap; i++)
    if (c->slot[i].key)
      *cache_slot(&bigger, c->slot[i].key) = c->slot[i];
  free(c->slot);
  c->slot = bigger.slot;
  c->cap = bigger.cap;
  return true;
}

static void key_size(FILE *out, const ir_size *s)
{
  if (!s)
    fputs("?", out);
  else if (s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM)
    fprintf(out, "%c%lld", s->kind == IR_SZ_CONST ? 'c' : 'p', (long long)s->value);
  else {
    fprintf(out, "(%d ", (int)s->kind);
    key_size(out, s->a);
    fputc(' ', out);
    key_size(out, s->b);
    fputc(')', out);
  }
}

/* Tensor t as the kernel numbers it (in order of first mention), with its
 * shape; a tensor the kernel does not write is only "x". */
static void key_tensor(FILE *out, poly_kernel *k, int t)
{
  char name[32];
  if (!is_written(k, t)) {
    fputs("x", out);
    return;
  }
  fputs(tensor_id(k, t, name, sizeof(name)), out);
  for (int j = 0; j < k->f->tensors[t]->rank; j++) {
    fputc(j ? ',' : '[', out);
    key_size(out, k->f->tensors[t]->shape[j]);
  }
  fputc(']', out);
}

/* An expression tree as text: everything the model takes from it. */
static void key_expr(FILE *out, poly_kernel *k, const ir_expr *e)
{
  fprintf(out, "(%d %d ", (int)e->kind, (int)e->type);
  if (e->kind == IR_CONST_INT || e->kind == IR_INDEX || e->kind == IR_UNARY || e->kind == IR_BINARY)
    fprintf(out, "%lld ", (long long)(e->kind == IR_CONST_INT ? e->ival : e->kind == IR_INDEX ? e->index : (int)e->op));
  if (e->kind == IR_SIZE)
    key_size(out, e->size);
  if (e->kind == IR_ACCESS) {
    key_tensor(out, k, e->tensor);
    fputs(e->padded ? "p" : "", out);
  }
  for (int a = 0; a < e->n_args; a++)
    key_expr(out, k, e->args[a]);
  fputc(')', out);
}

static void key_stmt(FILE *out, poly_kernel *k, const ir_stmt *s)
{
  fprintf(out, "{%d %d %d %d ", (int)s->red, s->init, s->n_index, s->n_lhs);
  for (int j = 0; j < s->n_index; j++) {
    key_size(out, s->index[j].lo);
    fputc(':', out);
    key_size(out, s->index[j].hi);
    fputc(' ', out);
  }
  for (int j = 0; ir_stmt_is_plain(s) && j < s->n_lhs; j++)
    fprintf(out, "%d,", s->lhs[j]);
  for (int j = 0; !ir_stmt_is_plain(s) && j < s->n_lhs; j++)
    key_expr(out, k, s->lhs_expr[j]);
  key_tensor(out, k, s->tensor);
  key_expr(out, k, s->rhs);
  fputs("}\n", out);
}

/* The kernel as text: everything the polyhedral model, the schedule and
 * the loops are made from (the function's sizes, parameters and schedule
 * options are the same for every kernel of the cache). NULL on failure. */
static char *model_key(poly_kernel *k, bool fuse)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (!out)
    return NULL;
  fprintf(out, "fuse=%d shared=%d ops=%lu\n", fuse, k->shared_storage, k->max_ops);
  for (int i = k->first; i < k->end; i++)
    key_stmt(out, k, k->f->stmts[i]);
  if (fclose(out) != 0) {
    free(buf);
    return NULL;
  }
  k->n_names = 0;
  return buf;
}

/* The kernel's entry in its cache, or NULL. */
static cache_entry *cache_find(const poly_kernel *k)
{
  if (!k->cache || !k->key || !k->cache->cap)
    return NULL;
  cache_entry *e = cache_slot(k->cache, k->key);
  return e->key ? e : NULL;
}

/* Looks the kernel up: on a hit, its final schedule (and its AST once an
 * earlier kernel of the same text has built it). */
static bool cache_lookup(poly_kernel *k, bool fuse)
{
  if (!k->cache || !(k->key = model_key(k, fuse)))
    return false;
  cache_entry *e = cache_find(k);
  if (!e || !e->schedule)
    return false;
  k->schedule = isl_schedule_copy(e->schedule);
  k->from_cache = k->schedule != NULL;
  k->scheduled = e->scheduled;
  return k->from_cache;
}

void poly_kernel_cache_schedule(poly_kernel *k)
{
  poly_cache *c = k->cache;
  if (!c || !k->key || !k->schedule || k->from_cache || cache_find(k) || ((c->n + 1) * 2 > c->cap && !cache_grow(c)))
    return;
  char *key = strdup(k->key);
  if (!key)
    return;
  *cache_slot(c, key) = (cache_entry){key, isl_schedule_copy(k->schedule), NULL, k->scheduled};
  c->n++;
}

static void cache_store_ast(poly_kernel *k, __isl_keep isl_ast_node *ast)
{
  cache_entry *e = cache_find(k);
  if (e && ast && !e->ast)
    e->ast = isl_ast_node_copy(ast);
}

/* The memo's key: the model, its context and isl's scheduling options. */
static char *memo_key(const poly_kernel *k)
{
  char *context = isl_set_to_str(k->context), *key = NULL;
  size_t len = 0;
  FILE *out = context && k->key ? open_memstream(&key, &len) : NULL;
  if (out) {
    fprintf(out, "%s\n%s\nsccs=%d outer=%d whole=%d\n", k->key, context,
            isl_options_get_schedule_serialize_sccs(k->isl), isl_options_get_schedule_outer_coincidence(k->isl),
            isl_options_get_schedule_whole_component(k->isl));
    if (fclose(out)) {
      free(key);
      key = NULL;
    }
  }
  free(context);
  return key;
}

/* isl's schedule of an earlier plan with the same key, or NULL. */
static __isl_give isl_schedule *memo_schedule(poly_kernel *k, const char *key)
{
  char *text = key ? poly_memo_get(k->memo, key) : NULL;
  isl_schedule *s = text ? isl_schedule_read_from_str(k->isl, text) : NULL;
  free(text);
  return s;
}

static void memo_record(poly_kernel *k, const char *key)
{
  char *text = key && k->schedule ? isl_schedule_to_str(k->schedule) : NULL;
  if (text)
    poly_memo_put(k->memo, key, text);
  free(text);
}

/* Dependences and isl's scheduler, or the memo's schedule when it has one. */
static void run_scheduler(poly_kernel *k, bool fuse)
{
  char *key = k->memo && !k->shared_storage ? memo_key(k) : NULL;
  if ((k->schedule = memo_schedule(k, key))) {
    free(key);
    return;
  }
  if (!k->shared_storage && compute_dependences(k))
    k->schedule = isl_scheduler(k, fuse);
  memo_record(k, key);
  free(key);
}

void poly_kernel_schedule(poly_kernel *k, bool fuse)
{
  if (cache_lookup(k, fuse) || !build_model(k))
    return;
  isl_ctx_reset_error(k->isl);
  isl_ctx_set_max_operations(k->isl, k->max_ops);
  isl_ctx_reset_operations(k->isl);
  run_scheduler(k, fuse);
  k->scheduled = k->schedule != NULL;
  if (!k->schedule)
    k->schedule = isl_schedule_copy(k->order);
  isl_ctx_reset_error(k->isl);
}

static __isl_give isl_ast_node *build_ast(poly_kernel *k, unsigned long max_ops)
{
  isl_ctx_reset_error(k->isl);
  isl_ctx_set_max_operations(k->isl, max_ops);
  isl_ctx_reset_operations(k->isl);
  isl_ast_build *build = isl_ast_build_from_context(isl_set_copy(k->context));
  if (k->after_each_for)
    build = isl_ast_build_set_after_each_for(build, k->after_each_for, k->after_each_for_user);
  isl_ast_node *ast = isl_ast_build_node_from_schedule(build, isl_schedule_copy(k->schedule));
  isl_ast_build_free(build);
  isl_ctx_reset_error(k->isl);
  return ast;
}

static __isl_give isl_ast_node *new_ast(poly_kernel *k)
{
  isl_ast_node *ast = build_ast(k, k->scheduled ? k->max_ops : 0);
  if (ast || !k->scheduled)
    return ast;
  isl_schedule_free(k->schedule);
  k->schedule = isl_schedule_copy(k->order);
  k->scheduled = false;
  return build_ast(k, 0);
}

__isl_give isl_ast_node *poly_kernel_ast(poly_kernel *k)
{
  cache_entry *e = k->from_cache ? cache_find(k) : NULL;
  if (k->from_cache)
    return e && e->ast ? isl_ast_node_copy(e->ast) : NULL;
  if (!k->schedule)
    return NULL;
  isl_ast_node *ast = new_ast(k);
  cache_store_ast(k, ast);
  return ast;
}

void poly_kernel_free(poly_kernel *k)
{
  if (!k)
    return;
  isl_set_free(k->context);
  isl_union_set_free(k->domain);
  isl_union_map_free(k->reads);
  isl_union_map_free(k->writes);
  isl_schedule_free(k->order);
  isl_union_map_free(k->dep_raw);
  isl_union_map_free(k->dep_all);
  isl_schedule_free(k->schedule);
  free(k->key);
  memset(k, 0, sizeof(*k));
}

bool poly_kernel_stmt(const poly_kernel *k, const char *name, poly_stmt *out)
{
  if (!poly_stmt_from_name(name, out) || out->stmt < 0 || out->stmt >= k->end - k->first)
    return false;
  out->stmt += k->first;
  return true;
}

bool poly_stmt_from_name(const char *name, poly_stmt *out)
{
  if (!name || strncmp(name, "S_", 2))
    return false;
  char *end;
  long n = strtol(name + 2, &end, 10);
  if (end == name + 2 || (*end && strcmp(end, "_init")))
    return false;
  out->stmt = (int)n;
  out->init = *end != 0;
  return true;
}
