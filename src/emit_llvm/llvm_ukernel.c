/* llvm_ukernel.c: the register-tile micro-kernels of the LLVM backend, the
 * C path's (emit_ukernel.c) built as IR: mr x nr/vw accumulator vectors of
 * vw floats, per depth step nr/vw vector loads of the packed panel of B and
 * one broadcast of the packed panel of A per row, fmuladd; a full tile of a
 * row-major C is stored (first) or added as vectors, an edge tile goes
 * through a local tile of the accumulators. vw = 1: scalar accumulators;
 * a tile of more than LW_UKR_MAX_ACC of them: the C path's portable loops
 * over a local tile. */
#include "llvm_priv.h"

#include <stdio.h>

typedef struct ukr {
  lw_fn F;
  const sched_blocks *b;
  int nv;                 /* accumulators per row */
  LLVMTypeRef vt;         /* an accumulator's type */
  LLVMValueRef acc[LW_UKR_MAX_ACC];
  bool strided;           /* B read in place, its rows ldb floats apart (the _s variant) */
  LLVMValueRef kc, a, bp, ldb, c, rs, cs, mr, nr, first;
  LLVMValueRef t, i, p; /* the local tile; the loops' row and depth step */
  bool add;             /* the edge store adds to C (first is 0) */
  int q;                /* a narrow tile's column vectors (narrow_tile) */
  LLVMValueRef n[4];    /* its UKR_NARROW columns, vectors over the rows */
} ukr;

/* Columns a narrow tile computes with vectors down A's rows (emit_ukernel.c's
 * UKR_NARROW). */
#define UKR_NARROW 4

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
  return u->b->vw == 1 ? x : lw_splat(&u->F, x, (unsigned)u->b->vw);
}

static LLVMValueRef mul_idx(ukr *u, LLVMValueRef x, int64_t k)
{
  return LLVMBuildMul(u->F.b, x, lw_idx(u->F.L, k), "");
}

static LLVMValueRef add_idx(ukr *u, LLVMValueRef x, int64_t k)
{
  return LLVMBuildAdd(u->F.b, x, lw_idx(u->F.L, k), "");
}

/* __builtin_prefetch(addr, rw): kept in every cache level. */
static void prefetch(lw_fn *F, LLVMValueRef addr, int rw)
{
  LLVMTypeRef ptr = F->L->ptr;
  unsigned id = LLVMLookupIntrinsicID("llvm.prefetch", 13);
  LLVMValueRef args[] = {addr, LLVMConstInt(F->L->i32, (unsigned long long)rw, 0), LLVMConstInt(F->L->i32, 3, 0),
                         LLVMConstInt(F->L->i32, 1, 0)};
  LLVMBuildCall2(F->b, LLVMIntrinsicGetType(F->L->c, id, &ptr, 1), LLVMGetIntrinsicDeclaration(F->L->m, id, &ptr, 1),
                 args, 4, "");
}

/* One depth step p: acc[r][v] += a[mr * p + r] * b[ldb * p + v * vw]; A's
 * panel asked for SCHED_UKR_PREFETCH_STEPS steps ahead, as the C path's
 * __builtin_prefetch(ap + ...): without it the vector loop waits on A at
 * every new panel. B read in place asks for the same row's lines of the
 * next panel, which the next call reads (emit_ukernel.c's print_ukr_vector). */
static void depth_step(lw_fn *F, LLVMValueRef p, void *data)
{
  ukr *u = data;
  LLVMValueRef bv[LW_UKR_MAX_ACC], brow = LLVMBuildMul(F->b, p, u->ldb, ""), arow = mul_idx(u, p, u->b->mr);
  for (int v = 0; v < u->nv; v++)
    bv[v] = load_vec(u, at(u, u->bp, add_idx(u, brow, (int64_t)v * u->b->vw)));
  if (u->b->vw > 1)
    prefetch(F, at(u, u->a, add_idx(u, arow, SCHED_UKR_PREFETCH_STEPS * (int64_t)u->b->mr)), 0);
  for (int v = 0; u->strided && v < u->b->nr; v += 16)
    prefetch(F, at(u, u->bp, add_idx(u, brow, (int64_t)u->b->nr + v)), 0);
  for (int r = 0; r < u->b->mr; r++) {
    LLVMValueRef a = LLVMBuildLoad2(F->b, F->L->f32, at(u, u->a, add_idx(u, arow, r)), "");
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
  return at(u, u->c, add_idx(u, mul_idx(u, u->rs, r), (int64_t)v * u->b->vw));
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

/* c[off] = (add ? c[off] : 0) + t[i * NR + j], off = i * rs + j * cs */
static void edge_store(ukr *u, LLVMValueRef i, LLVMValueRef off, LLVMValueRef j)
{
  lw_fn *F = &u->F;
  LLVMValueRef addr = at(u, u->c, off);
  LLVMValueRef tv = LLVMBuildLoad2(F->b, F->L->f32, at(u, u->t, LLVMBuildAdd(F->b, mul_idx(u, i, u->b->nr), j, "")), "");
  if (u->add)
    tv = LLVMBuildFAdd(F->b, LLVMBuildLoad2(F->b, F->L->f32, addr, ""), tv, "");
  LLVMBuildStore(F->b, tv, addr);
}

static void edge_elem(lw_fn *F, LLVMValueRef j, void *data)
{
  ukr *u = data;
  edge_store(u, u->i, LLVMBuildAdd(F->b, LLVMBuildMul(F->b, u->i, u->rs, ""), LLVMBuildMul(F->b, j, u->cs, ""), ""), j);
}

static void edge_row(lw_fn *F, LLVMValueRef i, void *data)
{
  ukr *u = data;
  u->i = i;
  lw_counted_loop(F, lw_idx(F->L, 0), u->nr, edge_elem, u);
}

static void edge_rows(lw_fn *F, void *data)
{
  ukr *u = data;
  lw_counted_loop(F, lw_idx(F->L, 0), u->mr, edge_row, u);
}

/* Column j of a tile of all MR rows, contiguous in C (rs 1), the rows
 * unrolled: a swapped product's C (schedule.c's SWAP_MAX_COLS, stored
 * across) as MR contiguous floats a column, where the loop over single
 * elements row by row cost ResNet-18's layer3 Winograd products (7 x 32
 * tiles) 40% over the C path's (whose compiler specialises the micro-kernel
 * for the call's strides). */
static void edge_col(lw_fn *F, LLVMValueRef j, void *data)
{
  ukr *u = data;
  LLVMValueRef base = LLVMBuildMul(F->b, j, u->cs, "");
  for (int r = 0; r < u->b->mr; r++)
    edge_store(u, lw_idx(F->L, r), add_idx(u, base, r), j);
}

static void edge_cols(lw_fn *F, void *data)
{
  ukr *u = data;
  lw_counted_loop(F, lw_idx(F->L, 0), u->nr, edge_col, u);
}

static void edge_pass(lw_fn *F, void *data)
{
  ukr *u = data;
  LLVMValueRef cols = LLVMBuildAnd(F->b, LLVMBuildICmp(F->b, LLVMIntEQ, u->mr, lw_idx(F->L, u->b->mr), ""),
                                   LLVMBuildICmp(F->b, LLVMIntEQ, u->rs, lw_idx(F->L, 1), ""), "");
  lw_if_else(F, cols, edge_cols, edge_rows, u);
}

static void edge_first(lw_fn *F, void *data)
{
  ((ukr *)data)->add = false;
  edge_pass(F, data);
}

static void edge_add(lw_fn *F, void *data)
{
  ((ukr *)data)->add = true;
  edge_pass(F, data);
}

/* The rows and columns of the local tile that exist, into C: stored when
 * first, else added, the test outside the loops. */
static void store_tile(ukr *u)
{
  lw_fn *F = &u->F;
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntNE, u->first, LLVMConstInt(F->L->i32, 0, 0), ""), edge_first, edge_add, u);
}

static void accumulators_to_tile(ukr *u)
{
  lw_fn *F = &u->F;
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->nv; v++)
      store_vec(u, LLVMBuildLoad2(F->b, u->vt, u->acc[r * u->nv + v], ""),
                at(u, u->t, lw_idx(F->L, (int64_t)r * u->b->nr + (int64_t)v * u->b->vw)));
}

/* A full tile's lines of C, asked for before the depth loop so that they
 * arrive while it runs (emit_ukernel.c's print_ukr_prefetch_c). */
static void prefetch_c(lw_fn *F, void *data)
{
  ukr *u = data;
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->b->nr; v += 16)
      prefetch(F, at(u, u->c, add_idx(u, mul_idx(u, u->rs, r), v)), 1);
}

/* mr, nr and cs those of a full tile of a row-major C. */
static LLVMValueRef is_full(ukr *u)
{
  lw_fn *F = &u->F;
  LLVMValueRef full = LLVMBuildAnd(F->b, LLVMBuildICmp(F->b, LLVMIntEQ, u->mr, lw_idx(F->L, u->b->mr), ""),
                                   LLVMBuildICmp(F->b, LLVMIntEQ, u->nr, lw_idx(F->L, u->b->nr), ""), "");
  return LLVMBuildAnd(F->b, full, LLVMBuildICmp(F->b, LLVMIntEQ, u->cs, lw_idx(F->L, 1), ""), "");
}

/* The register tile: accumulators over the depth, a full tile stored
 * directly, an edge tile through the local tile. */
static void register_tile(ukr *u)
{
  lw_fn *F = &u->F;
  for (int x = 0; x < u->b->mr * u->nv; x++) {
    u->acc[x] = lw_entry_alloca(F, u->vt, "acc");
    LLVMBuildStore(F->b, LLVMConstNull(u->vt), u->acc[x]);
  }
  if (u->b->vw > 1)
    lw_if_else(F, is_full(u), prefetch_c, NULL, u);
  lw_counted_loop(F, lw_idx(F->L, 0), u->kc, depth_step, u);
  lw_if_else(F, is_full(u), full_tile, NULL, u);
  accumulators_to_tile(u);
}

/* ---- Narrow tiles (emit_ukernel.c's print_ukr_narrow): a tile of at most
 * q * vw + UKR_NARROW columns pays q column vectors and UKR_NARROW vectors
 * over A's rows (lanes = rows), not nr / vw column vectors: the last tile
 * of 196 = 6 * 32 + 4 columns, 4 FMAs a depth step, not 2 mr. */

/* Whether the micro-kernel has narrow tiles (emit_ukernel.c's
 * ukr_has_narrow): vectors, A's panel of mr rows read in vectors of vw
 * within it, more than one vector of columns (and a vector's mask of at most
 * 64 lanes, a_rows). */
static bool has_narrow(const sched_blocks *b)
{
  return b->vw > 1 && b->vw <= 64 && b->mr <= b->vw && 2 * b->mr >= b->vw && b->nr > b->vw;
}

/* A's mr rows at depth p as a vector of vw lanes: loaded whole before the
 * last step (vw <= 2 mr keeps the read inside the panel), the last step's
 * mr lanes alone (masked, the rest 0). */
static LLVMValueRef a_rows(ukr *u, LLVMValueRef addr, bool last)
{
  lw_fn *F = &u->F;
  if (!last)
    return load_vec(u, addr);
  LLVMValueRef mask[64];
  for (int l = 0; l < u->b->vw; l++)
    mask[l] = LLVMConstInt(LLVMInt1TypeInContext(F->L->c), l < u->b->mr, 0);
  return lw_masked_load(F, u->vt, addr, LLVMConstVector(mask, (unsigned)u->b->vw), LLVMConstNull(u->vt));
}

static void accumulate(ukr *u, LLVMValueRef slot, LLVMValueRef a, LLVMValueRef b)
{
  lw_fn *F = &u->F;
  LLVMBuildStore(F->b, lw_fmuladd(F, a, b, LLVMBuildLoad2(F->b, u->vt, slot, ""), IR_F32), slot);
}

static void narrow_step_at(ukr *u, LLVMValueRef p, bool last)
{
  lw_fn *F = &u->F;
  LLVMValueRef bv[LW_UKR_MAX_ACC], brow = LLVMBuildMul(F->b, p, u->ldb, ""), arow = mul_idx(u, p, u->b->mr);
  LLVMValueRef av = a_rows(u, at(u, u->a, arow), last);
  for (int v = 0; v < u->q; v++)
    bv[v] = load_vec(u, at(u, u->bp, add_idx(u, brow, (int64_t)v * u->b->vw)));
  for (int r = 0; r < u->b->mr; r++) {
    LLVMValueRef s = splat(u, LLVMBuildLoad2(F->b, F->L->f32, at(u, u->a, add_idx(u, arow, r)), ""));
    for (int v = 0; v < u->q; v++)
      accumulate(u, u->acc[r * u->nv + v], s, bv[v]);
  }
  for (int j = 0; j < UKR_NARROW; j++) {
    LLVMValueRef bj = at(u, u->bp, add_idx(u, brow, (int64_t)u->q * u->b->vw + j));
    accumulate(u, u->n[j], av, splat(u, LLVMBuildLoad2(F->b, F->L->f32, bj, "")));
  }
}

static void narrow_step(lw_fn *F, LLVMValueRef p, void *data)
{
  (void)F;
  narrow_step_at(data, p, false);
}

/* The narrow tile of u->q column vectors into the local tile. */
static void narrow_tile(lw_fn *F, void *data)
{
  ukr *u = data;
  LLVMValueRef zero = LLVMConstNull(u->vt), last = LLVMBuildSub(F->b, u->kc, lw_idx(F->L, 1), "");
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->q; v++)
      LLVMBuildStore(F->b, zero, u->acc[r * u->nv + v] = lw_entry_alloca(F, u->vt, "acc"));
  for (int j = 0; j < UKR_NARROW; j++)
    LLVMBuildStore(F->b, zero, u->n[j] = lw_entry_alloca(F, u->vt, "nacc"));
  lw_counted_loop(F, lw_idx(F->L, 0), last, narrow_step, u);
  narrow_step_at(u, last, true);
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < u->q; v++)
      store_vec(u, LLVMBuildLoad2(F->b, u->vt, u->acc[r * u->nv + v], ""),
                at(u, u->t, lw_idx(F->L, (int64_t)r * u->b->nr + (int64_t)v * u->b->vw)));
  for (int j = 0; j < UKR_NARROW; j++) {
    LLVMValueRef n = LLVMBuildLoad2(F->b, u->vt, u->n[j], "");
    for (int r = 0; r < u->b->mr; r++)
      LLVMBuildStore(F->b, LLVMBuildExtractElement(F->b, n, LLVMConstInt(F->L->i32, (unsigned long long)r, 0), ""),
                     at(u, u->t, lw_idx(F->L, (int64_t)r * u->b->nr + (int64_t)u->q * u->b->vw + j)));
  }
}

static void tiles(lw_fn *F, void *data);

static void wider_tiles(lw_fn *F, void *data)
{
  ukr *u = data;
  u->q++;
  tiles(F, data);
}

/* if (nr <= UKR_NARROW) narrow tile of 0 vectors, else if (nr <= vw +
 * UKR_NARROW) of 1, ..., else the full register tile. */
static void tiles(lw_fn *F, void *data)
{
  ukr *u = data;
  if (!has_narrow(u->b) || u->q == u->nv) {
    register_tile(u);
    return;
  }
  LLVMValueRef narrow = LLVMBuildICmp(F->b, LLVMIntSLE, u->nr, lw_idx(F->L, (int64_t)u->q * u->b->vw + UKR_NARROW), "");
  lw_if_else(F, narrow, narrow_tile, wider_tiles, u);
}

/* t[i * NR + j] += a[MR * p + i] * b[ldb * p + j] */
static void loop_elem(lw_fn *F, LLVMValueRef j, void *data)
{
  ukr *u = data;
  LLVMValueRef a = LLVMBuildLoad2(F->b, F->L->f32, at(u, u->a, LLVMBuildAdd(F->b, mul_idx(u, u->p, u->b->mr), u->i, "")), "");
  LLVMValueRef b = LLVMBuildLoad2(F->b, F->L->f32, at(u, u->bp, LLVMBuildAdd(F->b, LLVMBuildMul(F->b, u->p, u->ldb, ""), j, "")), "");
  LLVMValueRef addr = at(u, u->t, LLVMBuildAdd(F->b, mul_idx(u, u->i, u->b->nr), j, ""));
  LLVMBuildStore(F->b, lw_fmuladd(F, a, b, LLVMBuildLoad2(F->b, F->L->f32, addr, ""), IR_F32), addr);
}

static void loop_row(lw_fn *F, LLVMValueRef i, void *data)
{
  ukr *u = data;
  u->i = i;
  lw_counted_loop(F, lw_idx(F->L, 0), lw_idx(F->L, u->b->nr), loop_elem, u);
}

static void loop_step(lw_fn *F, LLVMValueRef p, void *data)
{
  ukr *u = data;
  u->p = p;
  lw_counted_loop(F, lw_idx(F->L, 0), lw_idx(F->L, u->b->mr), loop_row, u);
}

static void zero_elem(lw_fn *F, LLVMValueRef i, void *data)
{
  ukr *u = data;
  LLVMBuildStore(F->b, LLVMConstReal(F->L->f32, 0.0), at(u, u->t, i));
}

/* The portable loops: the tile accumulated in the local tile. */
static void loop_tile(ukr *u)
{
  lw_fn *F = &u->F;
  lw_counted_loop(F, lw_idx(F->L, 0), lw_idx(F->L, (int64_t)u->b->mr * u->b->nr), zero_elem, u);
  lw_counted_loop(F, lw_idx(F->L, 0), u->kc, loop_step, u);
}

static void body(ukr *u)
{
  lw_fn *F = &u->F;
  u->kc = param(u, 0), u->a = param(u, 1), u->bp = param(u, 2), u->c = param(u, 4), u->rs = param(u, 5);
  u->cs = param(u, 6), u->mr = param(u, 7), u->nr = param(u, 8), u->first = param(u, 9);
  u->ldb = u->strided ? param(u, 3) : lw_idx(F->L, u->b->nr); /* packed: nr, a constant */
  u->t = lw_entry_alloca(F, LLVMArrayType(F->L->f32, (unsigned)(u->b->mr * u->b->nr)), "t");
  if (u->b->mr * u->nv <= LW_UKR_MAX_ACC)
    tiles(&u->F, u);
  else
    loop_tile(u);
  store_tile(u);
  LLVMBuildRetVoid(F->b);
}

static LLVMTypeRef ukr_type(emit_llvm *L)
{
  LLVMTypeRef ty[] = {L->idx, L->ptr, L->ptr, L->idx, L->ptr, L->idx, L->idx, L->idx, L->idx, L->i32};
  return LLVMFunctionType(LLVMVoidTypeInContext(L->c), ty, LW_UKR_ARGS, 0);
}

LLVMValueRef lw_ukernel(emit_llvm *L, const sched_blocks *b, bool strided, LLVMTypeRef *ty)
{
  char name[64];
  snprintf(name, sizeof name, "aotc_ukr_f32_%dx%d_v%d%s", b->mr, b->nr, b->vw, strided ? "_s" : "");
  *ty = ukr_type(L);
  LLVMValueRef fn = LLVMGetNamedFunction(L->m, name);
  if (fn)
    return fn;
  ukr u = {.F = {.L = L}, .b = b, .nv = b->nr / b->vw, .strided = strided};
  u.vt = b->vw > 1 ? LLVMVectorType(L->f32, (unsigned)b->vw) : L->f32;
  u.F.fn = fn = LLVMAddFunction(L->m, name, *ty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  u.F.b = LLVMCreateBuilderInContext(L->c);
  LLVMPositionBuilderAtEnd(u.F.b, lw_block(&u.F, "entry"));
  body(&u);
  LLVMDisposeBuilder(u.F.b);
  return fn;
}
