/* llvm_region.c: a function with regions (ir.h): its kernels inside the
 * branches and loops its regions become, as emit_region.c prints them: a
 * loop's trip count is read once, its condition before every iteration. */
#include "llvm_priv.h"

static void region(lw_fn *F, const ir_region *r);

/* Element 0 of a control tensor as a value of its type (a scalar input is
 * passed by value). */
static LLVMValueRef control(lw_fn *F, int t)
{
  const ir_tensor *T = F->f->tensors[t];
  if (T->rank == 0 && T->role == IR_INPUT)
    return T->type == IR_BOOL ? LLVMBuildTrunc(F->b, F->tensor[t], F->L->i1, "") : F->tensor[t];
  return lw_load(F, t, F->tensor[t]);
}

static LLVMValueRef control_true(lw_fn *F, int t)
{
  return lw_convert(F, control(F, t), F->f->tensors[t]->type, IR_BOOL);
}

static void leaf(lw_fn *F, const ir_region *r)
{
  for (int i = 0; i < F->pf->n_kernels; i++)
    if (F->pf->kernels[i].first >= r->first && F->pf->kernels[i].first < r->end)
      lw_kernel(F, i);
}

static void if_region(lw_fn *F, const ir_region *r)
{
  LLVMBasicBlockRef yes = lw_block(F, "rif.then"), no = lw_block(F, "rif.else"), join = lw_block(F, "rif.end");
  LLVMBuildCondBr(F->b, control_true(F, r->cond), yes, no);
  LLVMPositionBuilderAtEnd(F->b, yes);
  region(F, r->children[0]);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, no);
  region(F, r->children[1]);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, join);
}

/* for (i = 0; (bounded ? i < trip : 1) && (cond ? cond[0] : 1); i++) body */
static void loop_region(lw_fn *F, const ir_region *r)
{
  bool bounded = r->trip >= 0 || r->max_trip >= 0;
  LLVMValueRef trip = r->trip >= 0 ? lw_to_idx(F, control(F, r->trip), F->f->tensors[r->trip]->type)
                                   : lw_idx(F->L, r->max_trip);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(F->b), head = lw_block(F, "rloop"), in = lw_block(F, "rloop.body"),
                    out = lw_block(F, "rloop.exit");
  LLVMBuildBr(F->b, head);
  LLVMPositionBuilderAtEnd(F->b, head);
  LLVMValueRef i = LLVMBuildPhi(F->b, F->L->idx, "iter");
  LLVMValueRef go = bounded ? LLVMBuildICmp(F->b, LLVMIntSLT, i, trip, "") : LLVMConstInt(F->L->i1, 1, 0);
  if (r->cond >= 0)
    go = LLVMBuildAnd(F->b, go, control_true(F, r->cond), "");
  LLVMBuildCondBr(F->b, go, in, out);
  LLVMPositionBuilderAtEnd(F->b, in);
  region(F, r->children[0]);
  LLVMValueRef next = LLVMBuildAdd(F->b, i, lw_idx(F->L, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(F->b);
  LLVMBuildBr(F->b, head);
  LLVMValueRef vals[] = {lw_idx(F->L, 0), next};
  LLVMBasicBlockRef blocks[] = {pre, latch};
  LLVMAddIncoming(i, vals, blocks, 2);
  LLVMPositionBuilderAtEnd(F->b, out);
}

static void region(lw_fn *F, const ir_region *r)
{
  switch (r->kind) {
  case IR_REGION_STMTS:
    leaf(F, r);
    return;
  case IR_REGION_SEQ:
    for (int k = 0; k < r->n_children; k++)
      region(F, r->children[k]);
    return;
  case IR_REGION_IF:
    if_region(F, r);
    return;
  case IR_REGION_LOOP:
    loop_region(F, r);
    return;
  }
}

void lw_region(lw_fn *F, const ir_region *r)
{
  region(F, r);
}
