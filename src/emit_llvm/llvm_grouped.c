/* llvm_grouped.c: stride-1 grouped convolutions on the LLVM backend as the
 * C path's direct kernel (emit_grouped.c, emit_grouped_recognise): one work
 * item per (image, group, GRP_M output channels), spread over the
 * contraction's threads; output q = oh * Wp + ow (Wp the padded copy's row
 * length, columns from OW on sums nobody reads) summed over the group's
 * channels and taps from unit-stride vector loads of the padded planes, a
 * pass holding GRP_M channels by GRP_Q vectors in registers (a plane vector
 * loaded once for GRP_M channels, a weight once for GRP_Q vectors), stored
 * into local planes whose rows are copied out at the end. The last pass of
 * a plane starts GRP_Q vectors before its end. Where the packed path would
 * re-pack B for every small group, no packing at all. */
#include "llvm_priv.h"

#include "emit_grouped.h"

typedef struct lgrp {
  grp_conv k;
  LLVMTypeRef vt;
  LLVMValueRef gn, gg, gm, xg, wg, o, acc, q0, xc, wc;
} lgrp;

static LLVMValueRef idx(lw_fn *F, int64_t v)
{
  return lw_idx(F->L, v);
}


static LLVMValueRef add(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildAdd(F->b, a, b, "");
}

static LLVMValueRef mul(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildMul(F->b, a, b, "");
}

/* Accumulator (j, v) of the pass: a local vector (promoted to a register). */
static LLVMValueRef acc_at(lw_fn *F, lgrp *x, int j, int v)
{
  LLVMValueRef i[] = {LLVMConstInt(F->L->i32, 0, 0), LLVMConstInt(F->L->i32, (unsigned)(j * GRP_Q + v), 0)};
  return LLVMBuildGEP2(F->b, LLVMArrayType(x->vt, GRP_M * GRP_Q), x->acc, i, 2, "");
}

/* Tap t of channel c: GRP_Q plane vectors, each times GRP_M weights. */
static void tap(lw_fn *F, LLVMValueRef t, void *data)
{
  lgrp *x = data;
  const grp_conv *k = &x->k;
  LLVMValueRef kw = idx(F, k->kw);
  LLVMValueRef off = add(F, mul(F, LLVMBuildSDiv(F->b, t, kw, ""), idx(F, k->d * k->wp)),
                         mul(F, LLVMBuildSRem(F->b, t, kw, ""), idx(F, k->d)));
  LLVMValueRef xt = lw_f32_at(F, x->xc, off), xv[GRP_Q];
  for (int v = 0; v < GRP_Q; v++) {
    xv[v] = LLVMBuildLoad2(F->b, x->vt, lw_f32_at(F, xt, idx(F, v * k->lanes)), "");
    LLVMSetAlignment(xv[v], 4);
  }
  for (int j = 0; j < GRP_M; j++) {
    LLVMValueRef wj = LLVMBuildLoad2(F->b, F->L->f32, lw_f32_at(F, x->wc, add(F, t, idx(F, j * k->cg * k->kh * k->kw))), "");
    LLVMValueRef ws = lw_splat(F, wj, (unsigned)k->lanes);
    for (int v = 0; v < GRP_Q; v++) {
      LLVMValueRef a = acc_at(F, x, j, v);
      LLVMBuildStore(F->b, lw_fmuladd(F, xv[v], ws, LLVMBuildLoad2(F->b, x->vt, a, ""), IR_F32), a);
    }
  }
}

static void channel(lw_fn *F, LLVMValueRef c, void *data)
{
  lgrp *x = data;
  const grp_conv *k = &x->k;
  x->xc = lw_f32_at(F, x->xg, add(F, mul(F, c, idx(F, k->hp * k->wp)), x->q0));
  x->wc = lw_f32_at(F, x->wg, mul(F, c, idx(F, k->kh * k->kw)));
  lw_counted_loop(F, idx(F, 0), idx(F, k->kh * k->kw), tap, x);
}

/* The pass at q: its sums over the group's channels, stored into the
 * local planes at q0 (q, or GRP_Q vectors before the plane's end). */
static void pass(lw_fn *F, LLVMValueRef q, void *data)
{
  lgrp *x = data;
  const grp_conv *k = &x->k;
  int64_t w = GRP_Q * k->lanes;
  LLVMValueRef fits = LLVMBuildICmp(F->b, LLVMIntSLE, add(F, q, idx(F, w)), idx(F, k->len), "");
  x->q0 = LLVMBuildSelect(F->b, fits, q, idx(F, k->len - w), "");
  for (int j = 0; j < GRP_M; j++)
    for (int v = 0; v < GRP_Q; v++)
      LLVMBuildStore(F->b, LLVMConstNull(x->vt), acc_at(F, x, j, v));
  lw_counted_loop(F, idx(F, 0), idx(F, k->cg), channel, x);
  for (int j = 0; j < GRP_M; j++)
    for (int v = 0; v < GRP_Q; v++) {
      LLVMValueRef at = lw_f32_at(F, x->o, add(F, idx(F, j * k->len + v * k->lanes), x->q0));
      LLVMValueRef st = LLVMBuildStore(F->b, LLVMBuildLoad2(F->b, x->vt, acc_at(F, x, j, v), ""), at);
      LLVMSetAlignment(st, 4);
    }
}

typedef struct copy_row {
  lgrp *x;
  LLVMValueRef y, o, h;
} copy_row;

static void copy_col(lw_fn *F, LLVMValueRef w, void *data)
{
  copy_row *r = data;
  const grp_conv *k = &r->x->k;
  LLVMValueRef v = LLVMBuildLoad2(F->b, F->L->f32, lw_f32_at(F, r->o, add(F, mul(F, r->h, idx(F, k->wp)), w)), "");
  lw_parallel_access(F, v);
  lw_store(F, k->y, lw_f32_at(F, r->y, add(F, mul(F, r->h, idx(F, k->ow)), w)), v);
}

static void copy_h(lw_fn *F, LLVMValueRef h, void *data)
{
  copy_row *r = data;
  r->h = h;
  F->simd_next = true;
  lw_counted_loop(F, idx(F, 0), idx(F, r->x->k.ow), copy_col, r);
}

/* Work item gq: image gn, group gg, output channels gm..gm+GRP_M-1. */
static void item(lw_fn *F, LLVMValueRef gq, void *data)
{
  lgrp *x = data;
  const grp_conv *k = &x->k;
  int64_t per = k->mg / GRP_M;
  x->gn = LLVMBuildSDiv(F->b, gq, idx(F, k->g * per), "");
  x->gg = LLVMBuildSRem(F->b, LLVMBuildSDiv(F->b, gq, idx(F, per), ""), idx(F, k->g), "");
  x->gm = mul(F, LLVMBuildSRem(F->b, gq, idx(F, per), ""), idx(F, GRP_M));
  x->o = lw_entry_alloca(F, LLVMArrayType(F->L->f32, (unsigned)(GRP_M * k->len)), "grouped_planes");
  x->acc = lw_entry_alloca(F, LLVMArrayType(x->vt, GRP_M * GRP_Q), "grouped_acc");
  x->xg = lw_f32_at(F, F->tensor[k->x], mul(F, add(F, mul(F, x->gn, idx(F, k->c)), mul(F, x->gg, idx(F, k->cg))),
                                         idx(F, k->hp * k->wp)));
  x->wg = lw_f32_at(F, F->tensor[k->w], mul(F, add(F, mul(F, x->gg, idx(F, k->mg)), x->gm), idx(F, k->cg * k->kh * k->kw)));
  lw_stepped_loop(F, idx(F, 0), idx(F, k->len), GRP_Q * k->lanes, pass, x);
  for (int j = 0; j < GRP_M; j++) {
    LLVMValueRef ch = add(F, mul(F, add(F, mul(F, x->gn, idx(F, k->g)), x->gg), idx(F, k->mg)), add(F, x->gm, idx(F, j)));
    copy_row r = {x, lw_f32_at(F, F->tensor[k->y], mul(F, ch, idx(F, k->oh * k->ow))),
                  lw_f32_at(F, x->o, idx(F, j * k->len)), NULL};
    lw_counted_loop(F, idx(F, 0), idx(F, k->oh), copy_h, &r);
  }
}

bool lw_grouped(lw_fn *F, int kernel)
{
  const emit_kernel *ek = &F->pf->kernels[kernel];
  lgrp x = {0};
  if (!emit_grouped_recognise(F->f, F->pf, ek, false, &x.k) || x.k.lanes > 64 ||
      F->f->tensors[x.k.x]->type != IR_F32 || F->f->tensors[x.k.w]->type != IR_F32 ||
      F->f->tensors[x.k.y]->type != IR_F32 || !F->tensor[x.k.x] || !F->tensor[x.k.w] || !F->tensor[x.k.y])
    return false; /* (weights packed when built replace the tensor: the packed path) */
  x.vt = LLVMVectorType(F->L->f32, (unsigned)x.k.lanes);
  int64_t items = x.k.n * x.k.g * (x.k.mg / GRP_M);
  lw_parallel_loop(F, F->pf->blocks[ek->contraction].threads, idx(F, 0), idx(F, items), 1, item, &x);
  return true;
}
