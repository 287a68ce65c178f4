/* llvm_ukernel.c: the register-tile micro-kernels of the LLVM backend, the
 * C path's (emit_ukernel.c) built as IR: mr x nr/vw accumulator vectors of
 * vw floats, per depth step nr/vw vector loads of the packed panel of B and
 * one broadcast of the packed panel of A per row, fmuladd; a full tile of a
 * row-major C is stored (first) or added as vectors, an edge tile goes
 * through a local tile of the accumulators. vw = 1: scalar accumulators. */
#include "llvm_priv.h"

#include <stdio.h>

typedef struct ukr {
  lw_fn F;
  const sched_blocks *b;
  int nv;                 /* accumulators per row */
  LLVMTypeRef vt;         /* an accumulator's type */
  LLVMValueRef acc[LW_UKR_MAX_ACC];
  LLVMValueRef kc, a, bp, c, rs, cs, mr, nr, first;
} ukr;

static LLVMValueRef param(ukr *u, unsigned i)
{
  return LLVMGetParam(u->F.fn, i);
}

/* p[at] as an element (vw 1) or vector of u's type. */
static LLVMValueRef at(ukr *u, LLVMValueRef p, LLVMValueRef at)
{
  return LLVMBuildGEP2(u->F.b, u->F.L->f32, p, &at, 1, "");
}

static LLVMValueRef load_vec(ukr *u, LLVMValueRef addr)
{
  LLVMValueRef v = LLVMBuildLoad2(u->F.b, u->vt, addr, "");
  LLVMSetAlignment(v, 4);
  return v;
}

static void store_vec(ukr *u, LLVMValueRef v, LLVMValueRef addr)
{
  LLVMSetAlignment(LLVMBuildStore(u->F.b, v, addr), 4);
}

static LLVMValueRef splat(ukr *u, LLVMValueRef x)
{
  if (u->b->vw == 1)
    return x;
  LLVMValueRef zero = LLVMConstNull(LLVMVectorType(u->F.L->i32, (unsigned)u->b->vw));
  LLVMValueRef one = LLVMBuildInsertElement(u->F.b, LLVMGetUndef(u->vt), x, LLVMConstInt(u->F.L->i32, 0, 0), "");
  return LLVMBuildShuffleVector(u->F.b, one, LLVMGetUndef(u->vt), zero, "");
}

static LLVMValueRef mul_i64(ukr *u, LLVMValueRef x, int64_t k)
{
  return LLVMBuildMul(u->F.b, x, lw_i64(u->F.L, k), "");
}

static LLVMValueRef add_i64(ukr *u, LLVMValueRef x, int64_t k)
{
  return LLVMBuildAdd(u->F.b, x, lw_i64(u->F.L, k), "");
}

/* One depth step p: acc[r][v] += a[mr * p + r] * b[nr * p + v * vw]. */
static void depth_step(lw_fn *F, LLVMValueRef p, void *data)
{
  ukr *u = data;
  LLVMValueRef bv[LW_UKR_MAX_ACC], brow = mul_i64(u, p, u->b->nr), arow = mul_i64(u, p, u->b->mr);
  for (int v = 0; v < u->nv; v++)
    bv[v] = load_vec(u, at(u, u->bp, add_i64(u, brow, (int64_t)v * u->b->vw)));
  for (int r = 0; r < u->b->mr; r++) {
    LLVMValueRef a = LLVMBuildLoad2(F->b, F->L->f32, at(u, u->a, add_i64(u, arow, r)), "");
    LLVMValueRef s = splat(u, a);
    for (int v = 0; v < u->nv; v++) {
      LLVMValueRef *slot = &u->acc[r * u->nv + v];
      LLVMBuildStore(F->b, lw_fmuladd(F, s, bv[v], LLVMBuildLoad2(F->b, u->vt, *slot, ""), IR_F32), *slot);
    }
  }
}

/* The address of row r, vector v of the tile in C (row-major, cs = 1). */
static LLVMValueRef c_addr(ukr *u, int r, int v)
{
  return at(u, u->c, add_i64(u, mul_i64(u, u->rs, r), (int64_t)v * u->b->vw));
}

static void store_full(lw_fn *F, void *data)
{
  ukr *u = data;
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->nv; v++)
      store_vec(u, LLVMBuildLoad2(F->b, u->vt, u->acc[r * u->nv + v], ""), c_addr(u, r, v));
}

static void add_full(lw_fn *F, void *data)
{
  ukr *u = data;
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->nv; v++) {
      LLVMValueRef addr = c_addr(u, r, v), old = load_vec(u, addr);
      LLVMValueRef x = LLVMBuildLoad2(F->b, u->vt, u->acc[r * u->nv + v], "");
      store_vec(u, LLVMBuildFAdd(F->b, old, x, ""), addr);
    }
}

static void full_tile(lw_fn *F, void *data)
{
  ukr *u = data;
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntNE, u->first, LLVMConstInt(F->L->i32, 0, 0), ""), store_full, add_full,
             u);
  LLVMBuildRetVoid(F->b);
  LLVMPositionBuilderAtEnd(F->b, lw_block(F, "dead"));
}

typedef struct edge {
  ukr *u;
  LLVMValueRef t, i;
} edge;

/* c[i * rs + j * cs] = (first ? 0 : c[..]) + t[i * NR + j] */
static void edge_elem(lw_fn *F, LLVMValueRef j, void *data)
{
  edge *e = data;
  ukr *u = e->u;
  LLVMValueRef off = LLVMBuildAdd(F->b, LLVMBuildMul(F->b, e->i, u->rs, ""), LLVMBuildMul(F->b, j, u->cs, ""), "");
  LLVMValueRef addr = at(u, u->c, off), zero = LLVMConstReal(F->L->f32, 0.0);
  LLVMValueRef old = LLVMBuildLoad2(F->b, F->L->f32, addr, "");
  LLVMValueRef first = LLVMBuildICmp(F->b, LLVMIntNE, u->first, LLVMConstInt(F->L->i32, 0, 0), "");
  LLVMValueRef tv = LLVMBuildLoad2(F->b, F->L->f32, at(u, e->t, LLVMBuildAdd(F->b, mul_i64(u, e->i, u->b->nr), j, "")), "");
  LLVMBuildStore(F->b, LLVMBuildFAdd(F->b, LLVMBuildSelect(F->b, first, zero, old, ""), tv, ""), addr);
}

static void edge_row(lw_fn *F, LLVMValueRef i, void *data)
{
  edge *e = data;
  e->i = i;
  lw_counted_loop(F, lw_i64(F->L, 0), e->u->nr, edge_elem, e);
}

/* The tile through a local array t, for the rows and columns that exist. */
static void edge_tile(ukr *u)
{
  lw_fn *F = &u->F;
  edge e = {u, lw_entry_alloca(F, LLVMArrayType(F->L->f32, (unsigned)(u->b->mr * u->b->nr)), "t"), NULL};
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->nv; v++)
      store_vec(u, LLVMBuildLoad2(F->b, u->vt, u->acc[r * u->nv + v], ""),
                at(u, e.t, lw_i64(F->L, (int64_t)r * u->b->nr + (int64_t)v * u->b->vw)));
  lw_counted_loop(F, lw_i64(F->L, 0), u->mr, edge_row, &e);
}

static void body(ukr *u)
{
  lw_fn *F = &u->F;
  u->kc = param(u, 0), u->a = param(u, 1), u->bp = param(u, 2), u->c = param(u, 3), u->rs = param(u, 4);
  u->cs = param(u, 5), u->mr = param(u, 6), u->nr = param(u, 7), u->first = param(u, 8);
  for (int x = 0; x < u->b->mr * u->nv; x++) {
    u->acc[x] = lw_entry_alloca(F, u->vt, "acc");
    LLVMBuildStore(F->b, LLVMConstNull(u->vt), u->acc[x]);
  }
  lw_counted_loop(F, lw_i64(F->L, 0), u->kc, depth_step, u);
  LLVMValueRef full = LLVMBuildAnd(F->b, LLVMBuildICmp(F->b, LLVMIntEQ, u->mr, lw_i64(F->L, u->b->mr), ""),
                                   LLVMBuildICmp(F->b, LLVMIntEQ, u->nr, lw_i64(F->L, u->b->nr), ""), "");
  full = LLVMBuildAnd(F->b, full, LLVMBuildICmp(F->b, LLVMIntEQ, u->cs, lw_i64(F->L, 1), ""), "");
  lw_if_else(F, full, full_tile, NULL, u);
  edge_tile(u);
  LLVMBuildRetVoid(F->b);
}

static LLVMTypeRef ukr_type(emit_llvm *L)
{
  LLVMTypeRef ty[] = {L->i64, L->ptr, L->ptr, L->ptr, L->i64, L->i64, L->i64, L->i64, L->i32};
  return LLVMFunctionType(LLVMVoidTypeInContext(L->c), ty, 9, 0);
}

LLVMValueRef lw_ukernel(emit_llvm *L, const sched_blocks *b, LLVMTypeRef *ty)
{
  char name[64];
  snprintf(name, sizeof name, "aotc_ukr_f32_%dx%d_v%d", b->mr, b->nr, b->vw);
  *ty = ukr_type(L);
  LLVMValueRef fn = LLVMGetNamedFunction(L->m, name);
  if (fn)
    return fn;
  ukr u = {.F = {.L = L}, .b = b, .nv = b->nr / b->vw};
  u.vt = b->vw > 1 ? LLVMVectorType(L->f32, (unsigned)b->vw) : L->f32;
  u.F.fn = fn = LLVMAddFunction(L->m, name, *ty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  u.F.b = LLVMCreateBuilderInContext(L->c);
  LLVMPositionBuilderAtEnd(u.F.b, lw_block(&u.F, "entry"));
  body(&u);
  LLVMDisposeBuilder(u.F.b);
  return fn;
}
