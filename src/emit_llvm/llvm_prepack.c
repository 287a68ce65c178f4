/* llvm_prepack.c: constant operands of contractions packed when the code
 * is built, as the C path packs them (emit_prepack.c): P[lane panel][depth]
 * [lane], lanes past the end zero, so that the micro-kernel reads panel q
 * at depth block pc at P + q * width * K + pc * width and the packed loops
 * neither gather nor copy a weight at run time. Here only a constant that
 * nothing else reads is packed (the packed array replaces it in .rodata). */
#include "llvm_priv.h"

#include <stdlib.h>

#define MAX_INDEX 32

static bool eval_index(const ir_expr *e, const int64_t *x, int64_t *out)
{
  int64_t a, b;
  if (e->kind == IR_INDEX) {
    *out = e->index >= 0 && e->index < MAX_INDEX ? x[e->index] : 0;
    return e->index >= 0 && e->index < MAX_INDEX;
  }
  if (e->kind == IR_CONST_INT) {
    *out = e->ival;
    return true;
  }
  if (e->kind != IR_BINARY || !eval_index(e->args[0], x, &a) || !eval_index(e->args[1], x, &b))
    return false;
  *out = e->op == IR_ADD ? a + b : e->op == IR_SUB ? a - b : a * b;
  return e->op == IR_ADD || e->op == IR_SUB || e->op == IR_MUL;
}

static bool uses_only(const ir_expr *e, unsigned allowed)
{
  if (e->kind == IR_INDEX)
    return e->index >= 0 && e->index < MAX_INDEX && (allowed >> e->index & 1u);
  if (e->kind != IR_CONST_INT && e->kind != IR_BINARY)
    return false;
  for (int k = 0; k < e->n_args; k++)
    if (!uses_only(e->args[k], allowed))
      return false;
  return true;
}

static bool const_extent(const ir_stmt *s, const int *set, int n, int64_t *out)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_is_const(s->index[set[t]].hi, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return false;
  *out = v;
  return v > 0 && v < ((int64_t)1 << 31);
}

static int count_reads(const ir_expr *e, int t)
{
  int n = e->kind == IR_ACCESS && e->tensor == t;
  for (int k = 0; k < e->n_args; k++)
    n += count_reads(e->args[k], t);
  return n;
}

/* Operand op (0: a, rows; 1: b, columns) of contraction ci. */
static const ir_expr *operand(const lw_fn *F, int ci, int op)
{
  return op ? F->pf->contr[ci].b : F->pf->contr[ci].a;
}

static void lanes_of(const sched_contraction *c, int op, const int **set, int *n)
{
  *set = op ? c->cols : c->rows;
  *n = op ? c->n_cols : c->n_rows;
}

/* A float32 constant read only here, with subscripts of its lane and depth
 * indices, constant extents. */
static bool packable(const lw_fn *F, int ci, int op)
{
  const sched_contraction *c = &F->pf->contr[ci];
  const ir_stmt *s = F->f->stmts[c->stmt];
  const ir_expr *e = operand(F, ci, op);
  const ir_tensor *T = F->f->tensors[e->tensor];
  const int *lanes;
  int n_lanes, reads = 0;
  int64_t m, k, d;
  unsigned allowed = 0;
  lanes_of(c, op, &lanes, &n_lanes);
  if (T->role != IR_CONSTANT || T->type != IR_F32 || !T->data || s->n_index > MAX_INDEX || T->rank > MAX_INDEX ||
      !const_extent(s, lanes, n_lanes, &m) || !const_extent(s, c->depth, c->n_depth, &k))
    return false;
  for (int j = 0; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &d))
      return false;
  for (int t = 0; t < n_lanes; t++)
    allowed |= 1u << lanes[t];
  for (int t = 0; t < c->n_depth; t++)
    allowed |= 1u << c->depth[t];
  for (int j = 0; j < e->n_args; j++)
    if (!uses_only(e->args[j], allowed))
      return false;
  for (int i = 0; i < F->f->n_stmts; i++)
    reads += count_reads(F->f->stmts[i]->rhs, e->tensor);
  return reads == 1;
}

bool lw_prepack_setup(lw_fn *F)
{
  int n = 2 * F->pf->n_contr + 1;
  F->prepack = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, n);
  F->prepack_ok = IR_NEW_ARRAY(F->L->ctx, bool, n);
  for (int q = 0; F->prepack_ok && q < 2 * F->pf->n_contr; q++)
    F->prepack_ok[q] = packable(F, q / 2, q % 2);
  return F->prepack && F->prepack_ok;
}

bool lw_prepack_replaces(const lw_fn *F, int t)
{
  for (int q = 0; F->prepack_ok && q < 2 * F->pf->n_contr; q++)
    if (F->prepack_ok[q] && operand(F, q / 2, q % 2)->tensor == t)
      return true;
  return false;
}

static void decompose(const ir_stmt *s, const int *set, int n, int64_t v, int64_t *x)
{
  for (int t = n - 1; t >= 0; t--) {
    int64_t d = 1;
    ir_size_is_const(s->index[set[t]].hi, &d);
    x[set[t]] = v % d;
    v /= d;
  }
}

/* The element of T that e reads at x; 0 outside T (a padded read). */
static float element(const ir_tensor *T, const ir_expr *e, const int64_t *x)
{
  int64_t off = 0, v, d;
  for (int j = 0; j < e->n_args; j++) {
    ir_size_is_const(T->shape[j], &d);
    if (!eval_index(e->args[j], x, &v) || v < 0 || v >= d)
      return 0.0f;
    off = off * d + v;
  }
  return ((const float *)T->data)[off];
}

/* P[q][p][l] = operand at lane q * width + l and depth p (malloc'ed). */
static float *packed_values(const lw_fn *F, int ci, int op, int width, int64_t *n_out)
{
  const sched_contraction *c = &F->pf->contr[ci];
  const ir_stmt *s = F->f->stmts[c->stmt];
  const ir_expr *e = operand(F, ci, op);
  const int *lanes;
  int n_lanes;
  int64_t m, k, x[MAX_INDEX] = {0};
  lanes_of(c, op, &lanes, &n_lanes);
  const_extent(s, lanes, n_lanes, &m);
  const_extent(s, c->depth, c->n_depth, &k);
  int64_t mp = (m + width - 1) / width * width;
  float *v = calloc((size_t)(mp * k), sizeof(float));
  for (int64_t r = 0; v && r < m; r++) {
    decompose(s, lanes, n_lanes, r, x);
    for (int64_t p = 0; p < k; p++) {
      decompose(s, c->depth, c->n_depth, p, x);
      v[(r / width) * width * k + p * width + r % width] = element(F->f->tensors[e->tensor], e, x);
    }
  }
  *n_out = mp * k;
  return v;
}

LLVMValueRef lw_prepacked(lw_fn *F, int ci, int op)
{
  int q = 2 * ci + op;
  if (!F->prepack_ok || !F->prepack_ok[q])
    return NULL;
  if (F->prepack[q])
    return F->prepack[q];
  int64_t n;
  float *v = packed_values(F, ci, op, op ? F->pf->blocks[ci].nr : F->pf->blocks[ci].mr, &n);
  if (!v) {
    lw_fail(F, "out of memory packing a weight");
    return NULL;
  }
  LLVMValueRef init = LLVMConstStringInContext(F->L->c, (const char *)v, (unsigned)(n * 4), 1);
  free(v);
  LLVMValueRef g = LLVMAddGlobal(F->L->m, LLVMTypeOf(init), ir_sprintf(F->L->ctx, "aotc_pk%d%c_%s", ci, op ? 'b' : 'a',
                                                                      F->pf->name));
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, 64);
  return F->prepack[q] = g;
}
