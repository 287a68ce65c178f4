/* llvm_prepack.c: constant operands of contractions packed when the code
 * is built, as the C path packs them (emit_prepack.c): P[lane panel][depth]
 * [lane], lanes past the end zero, so that the micro-kernel reads panel q
 * at depth block pc at P + q * width * K + pc * width and the packed loops
 * neither gather nor copy a weight at run time. Here only a constant that
 * nothing but contractions reads is packed (the packed arrays replace it in
 * .rodata); contractions that pack it alike share one array. */
#include "llvm_priv.h"

#include <stdlib.h>
#include <string.h>

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

/* A constant that emit_pack_operand_ok accepts and that only contractions
 * read, each through an operand emit_pack_operand_ok accepts (the chunks of
 * src/graph/batch_chunks.c read one weight from several). */
static bool packable(const lw_fn *F, int ci, int op)
{
  int reads = 0, packs = 0, t = operand(F, ci, op)->tensor;
  if (!emit_pack_operand_ok(F->f, &F->pf->contr[ci], op))
    return false;
  for (int i = 0; i < F->f->n_stmts; i++)
    reads += count_reads(F->f->stmts[i]->rhs, t);
  for (int q = 0; q < 2 * F->pf->n_contr; q++)
    packs += operand(F, q / 2, q % 2)->tensor == t && emit_pack_operand_ok(F->f, &F->pf->contr[q / 2], q % 2);
  return reads == packs;
}

bool lw_prepack_setup(lw_fn *F)
{
  int n = 2 * F->pf->n_contr + 1;
  F->prepack = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, n);
  F->prepack_ok = IR_NEW_ARRAY(F->L->ctx, bool, n);
  F->prepack_same = IR_NEW_ARRAY(F->L->ctx, int, n);
  for (int q = 0; F->prepack_ok && q < 2 * F->pf->n_contr; q++)
    F->prepack_ok[q] = packable(F, q / 2, q % 2);
  return F->prepack && F->prepack_ok && F->prepack_same &&
         emit_pack_same(F->f, F->pf, F->prepack_ok, F->prepack_same);
}

bool lw_prepack_replaces(const lw_fn *F, int t)
{
  for (int q = 0; F->prepack_ok && q < 2 * F->pf->n_contr; q++)
    if (F->prepack_ok[q] && operand(F, q / 2, q % 2)->tensor == t)
      return true;
  return false;
}

LLVMValueRef lw_prepacked(lw_fn *F, int ci, int op)
{
  int q = 2 * ci + op;
  if (!F->prepack_ok || !F->prepack_ok[q])
    return NULL;
  if (F->prepack_same[q] >= 0) /* the same floats packed for another contraction: one global */
    return F->prepack[q] = lw_prepacked(F, F->prepack_same[q] / 2, F->prepack_same[q] % 2);
  if (F->prepack[q])
    return F->prepack[q];
  int64_t n;
  float *v = emit_pack_operand(F->f, &F->pf->contr[ci], op, op ? F->pf->blocks[ci].nr : F->pf->blocks[ci].mr, &n);
  if (!v) {
    lw_fail(F, "out of memory packing a weight");
    return NULL;
  }
  LLVMValueRef init = LLVMConstStringInContext(F->L->c, (const char *)v, (unsigned)(n * 4), 1);
  free(v);
  LLVMValueRef g = LLVMAddGlobal(F->L->m, LLVMTypeOf(init), emit_prepack_name(F->L->ctx, F->pf->name, ci, op));
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, 64);
  return F->prepack[q] = g;
}
