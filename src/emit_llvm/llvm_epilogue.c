/* llvm_epilogue.c: fused epilogues of packed contractions on the LLVM
 * backend, emit_epilogue.c's meaning: the kernels the plan marks
 * (emit_kernel.epilogue_of) are not built on their own; their statements
 * are applied to each register tile of the contraction's tensor T right
 * after the micro-kernel has stored it for the last depth block, while the
 * tile is in L1. At a tile's element the contraction's batch indices, its
 * row index (one row index) and column index (one column index) are bound;
 * a read of T at the element is the value being computed, a read of a
 * tensor of T's shape at the element's point is a load at its offset. */
#include "llvm_priv.h"

typedef struct epi {
  const sched_contraction *c;
  const lw_tile *t;
  int first, end;      /* the epilogue statements */
  LLVMValueRef *saved; /* the contraction's index values at the tile */
  LLVMValueRef ei, row, cs;
} epi;

/* The statements of the kernels fused into contraction ci: [*first, *end). */
static void epilogue_stmts(const emit_plan_fn *pf, int ci, int *first, int *end)
{
  *first = *end = 0;
  for (int j = 0; j < pf->n_kernels; j++)
    if (pf->kernels[j].epilogue_of == ci) {
      if (*end == 0)
        *first = pf->kernels[j].first;
      *end = pf->kernels[j].end;
    }
}

bool lw_epilogue_fused(const lw_fn *F, int kernel)
{
  return F->pf->kernels[kernel].epilogue_of >= 0;
}

LLVMValueRef lw_epilogue_read(lw_fn *F, const ir_expr *e)
{
  if (e->tensor == F->epi_tensor)
    return F->epi_v;
  if (!emit_same_shape(F->f->tensors[e->tensor], F->f->tensors[F->epi_tensor]))
    return NULL;
  LLVMValueRef addr = LLVMBuildGEP2(F->b, lw_mem_type(F->L, F->f->tensors[e->tensor]->type), F->tensor[e->tensor],
                                    &F->epi_eo, 1, "");
  return lw_load(F, e->tensor, addr);
}

/* The contraction's index standing for index x of epilogue statement s. */
static int contraction_index(const lw_fn *F, const sched_contraction *c, const ir_stmt *s, int x)
{
  const ir_stmt *s0 = F->f->stmts[c->stmt];
  for (int d = 0; d < s->n_lhs; d++)
    if (s->lhs[d] == x)
      return s0->lhs[d];
  return -1;
}

/* s's indices bound at the element (ei, ej) of the tile. */
static void bind(lw_fn *F, const epi *x, const ir_stmt *s, LLVMValueRef ej)
{
  for (int i = 0; i < s->n_index; i++) {
    int x0 = contraction_index(F, x->c, s, i);
    LLVMValueRef v = x0 >= 0 ? x->saved[x0] : NULL;
    if (x0 >= 0 && x->c->n_rows == 1 && x->c->rows[0] == x0)
      v = LLVMBuildNSWAdd(F->b, v, x->ei, "");
    else if (x0 >= 0 && x->c->n_cols == 1 && x->c->cols[0] == x0)
      v = LLVMBuildNSWAdd(F->b, v, ej, "");
    F->iter[i] = v;
  }
  F->stmt = s;
}

/* v = T's element; then v = rhs (or v += rhs) for each statement; stored. */
static void element(lw_fn *F, LLVMValueRef ej, void *data)
{
  epi *x = data;
  LLVMValueRef col = LLVMBuildNSWMul(F->b, ej, x->cs, "");
  LLVMValueRef addr = LLVMBuildGEP2(F->b, F->L->f32, x->row, &col, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(F->b, F->L->f32, addr, "");
  F->epi_eo = LLVMBuildNSWAdd(F->b, LLVMBuildNSWAdd(F->b, x->t->off, LLVMBuildNSWMul(F->b, x->ei, x->t->rs, ""), ""),
                              col, "");
  F->epi_tensor = F->f->stmts[x->c->stmt]->tensor;
  for (int i = x->first; i < x->end; i++) {
    const ir_stmt *s = F->f->stmts[i];
    bind(F, x, s, ej);
    F->epi_v = v;
    F->epi_on = true;
    LLVMValueRef r = lw_expr_as(F, s->rhs, IR_F32);
    F->epi_on = false;
    v = s->red == IR_RED_ADD ? LLVMBuildFAdd(F->b, v, r, "") : r;
  }
  LLVMBuildStore(F->b, v, addr);
}

/* A full row of a stride-1 tile: a constant trip count (it vectorises). */
static void full_row(lw_fn *F, void *data)
{
  epi *x = data;
  LLVMValueRef cs = x->cs;
  x->cs = lw_idx(F->L, 1);
  lw_counted_loop(F, lw_idx(F->L, 0), lw_idx(F->L, x->t->nr_full), element, x);
  x->cs = cs;
}

static void edge_row(lw_fn *F, void *data)
{
  epi *x = data;
  lw_counted_loop(F, lw_idx(F->L, 0), x->t->nr, element, x);
}

static void row(lw_fn *F, LLVMValueRef ei, void *data)
{
  epi *x = data;
  LLVMValueRef off = LLVMBuildNSWMul(F->b, ei, x->t->rs, "");
  x->ei = ei;
  x->row = LLVMBuildGEP2(F->b, F->L->f32, x->t->c, &off, 1, "");
  LLVMValueRef full = LLVMBuildAnd(F->b, LLVMBuildICmp(F->b, LLVMIntEQ, x->t->nr, lw_idx(F->L, x->t->nr_full), ""),
                                   LLVMBuildICmp(F->b, LLVMIntEQ, x->cs, lw_idx(F->L, 1), ""), "");
  lw_if_else(F, full, full_row, edge_row, x);
}

static void rows(lw_fn *F, void *data)
{
  epi *x = data;
  lw_counted_loop(F, lw_idx(F->L, 0), x->t->mr, row, x);
}

void lw_epilogue_tile(lw_fn *F, const lw_tile *t)
{
  epi x = {.c = &F->pf->contr[t->ci], .t = t, .cs = t->cs};
  const ir_stmt *s0 = F->f->stmts[x.c->stmt];
  epilogue_stmts(F->pf, t->ci, &x.first, &x.end);
  if (x.end == 0)
    return;
  if (!(x.saved = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, s0->n_index))) {
    lw_fail(F, "out of memory");
    return;
  }
  for (int i = 0; i < s0->n_index; i++)
    x.saved[i] = F->iter[i];
  lw_if_else(F, t->last, rows, NULL, &x);
  for (int i = 0; i < s0->n_index; i++)
    F->iter[i] = x.saved[i];
  F->stmt = s0;
}
