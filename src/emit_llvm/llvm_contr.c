/* llvm_contr.c: the contractions of a plan on the LLVM backend, packed as
 * the C path packs them (emit_ukernel.c): rows, columns and depth
 * flattened; columns in blocks of nc, depth in blocks of kc (B's block
 * packed in panels of nr columns), rows in blocks of mc (A's block packed in
 * panels of mr rows), and the micro-kernel (llvm_ukernel.c) on each mr x nr
 * tile of C. The packing buffers are the workspace's, after the
 * temporaries, the same bytes as the C path's: with several threads, the
 * products run on OpenMP's team (llvm_parallel.c) as the C path's
 * `parallel for` over threads, each with its own buffers and its batches or
 * its slice of C (print_thread_loops and print_thread_slice there), or, where
 * the C path splits a product's depth, a team for the threads' partial
 * products and a second summing them (print_depth_split). The C path's
 * shared B panel (AOTC_SHARED_B=1) is not built: such products take the
 * thread loop. */
#include "llvm_priv.h"

typedef struct contr {
  lw_fn *F;
  const sched_contraction *c;
  const sched_blocks *b;
  const ir_stmt *s;
  int ci;
  LLVMValueRef m, n, k, nb, rs, cs; /* extents, C's row and column strides */
  LLVMValueRef ap, bp;              /* packing buffers of A and B */
  LLVMValueRef apk, bpk;            /* A and B packed when built (llvm_prepack.c); NULL: packed here */
  int bpos;                         /* B's full panels read in place: its depth subscript (emit_b_in_place_pos); -1 */
  LLVMValueRef ldb;                 /* then the distance of B's rows */
  LLVMValueRef jc, nc, pc, kc, ic, mc, jr;
  LLVMValueRef i0, i1, j0, j1; /* the thread's slice of C's rows and columns */
  LLVMValueRef k0, k1;         /* and of the depth */
  LLVMValueRef sk, t;          /* a depth split's partial products; its thread (NULL: no split) */
  LLVMValueRef q; /* the batch */
  LLVMValueRef ukr;
  LLVMTypeRef ukr_ty;
} contr;

/* Widest panel packed with vector loads (one_run). */
#define LW_PACK_MAX_WIDTH 64

/* One panel being packed: d[p * width + lane] = read. */
typedef struct panel {
  contr *x;
  const ir_expr *read;
  int width;
  const int *lanes;
  int n_lanes;
  LLVMValueRef end, d, l0, p, l, s0, run;
  LLVMValueRef lim; /* runs: the lanes read, from 0 (the rest zero) */
  LLVMValueRef p0;  /* by_lane: the first depth step (after the transposed ones) */
  LLVMValueRef rows[LW_PACK_MAX_WIDTH]; /* transposed: each lane's first float at depth pc */
  LLVMValueRef a0, step; /* one_run: the address of the run's first lane, floats between lanes */
  LLVMValueRef od[SCHED_MAX_DIMS]; /* the depth indices' odometer (several of them), or NULL */
} panel;

static LLVMValueRef add(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildAdd(F->b, a, b, "");
}

static LLVMValueRef mul(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildMul(F->b, a, b, "");
}

static LLVMValueRef hi(lw_fn *F, const ir_stmt *s, int x)
{
  return lw_size(F, s->index[x].hi);
}

static LLVMValueRef extent(lw_fn *F, const ir_stmt *s, const int *set, int n)
{
  LLVMValueRef v = lw_idx(F->L, 1);
  for (int t = 0; t < n; t++)
    v = mul(F, v, hi(F, s, set[t]));
  return v;
}


/* Binds the indices set[0..n-1] from their flattened value flat. */
static void decompose(lw_fn *F, const ir_stmt *s, const int *set, int n, LLVMValueRef flat)
{
  for (int t = n - 1; t >= 0; t--) {
    LLVMValueRef h = hi(F, s, set[t]);
    F->iter[set[t]] = t > 0 ? LLVMBuildURem(F->b, flat, h, "") : flat;
    if (t > 0)
      flat = LLVMBuildUDiv(F->b, flat, h, "");
  }
}

/* ---- the packing buffers' size: emit_ukernel.c's pack_floats_value */

static LLVMValueRef round_up(lw_fn *F, LLVMValueRef v, int step)
{
  LLVMValueRef s = lw_idx(F->L, step);
  return mul(F, LLVMBuildSDiv(F->b, add(F, v, lw_idx(F->L, step - 1)), s, ""), s);
}

/* Rows of A's packing buffer: min(mc, m) rounded up to mr. */
static LLVMValueRef a_rows(lw_fn *F, const sched_blocks *b, LLVMValueRef m)
{
  return round_up(F, lw_min(F, lw_idx(F->L, b->mc), m), b->mr);
}

/* Whether contraction ci splits its depth over its threads, as the C path
 * decides (emit_ukernel_splits_depth; B shared where the C path would
 * share it: not built here, the product then takes the thread loop). */
static bool splits_depth(const lw_fn *F, int ci)
{
  bool b_packed = F->prepack_ok && F->prepack_ok[2 * ci + 1];
  bool shared = F->pf->blocks[ci].threads > 1 && !b_packed && emit_ukernel_shared_b_on();
  return emit_ukernel_splits_depth(F->f, F->pf, ci, shared);
}

static LLVMValueRef pack_floats(lw_fn *F, const sched_contraction *c, const sched_blocks *b)
{
  const ir_stmt *s = F->f->stmts[c->stmt];
  LLVMValueRef m = extent(F, s, c->rows, c->n_rows), n = extent(F, s, c->cols, c->n_cols);
  LLVMValueRef k = extent(F, s, c->depth, c->n_depth);
  LLVMValueRef cols = round_up(F, lw_min(F, lw_idx(F->L, b->nc), n), b->nr);
  LLVMValueRef v = mul(F, add(F, a_rows(F, b, m), cols), lw_min(F, lw_idx(F->L, b->kc), k));
  return add(F, v, lw_idx(F->L, 32));
}

/* Thread t's packing buffers (the C path's aotc_ap, aotc_bp): A's at t
 * times the buffers' floats from the workspace's, B's after A's block. */
static void thread_buffers(lw_fn *F, contr *x, LLVMValueRef t)
{
  x->ap = t ? lw_f32_at(F, F->pack, mul(F, t, pack_floats(F, x->c, x->b))) : F->pack;
  x->bp = lw_f32_at(F, x->ap, mul(F, a_rows(F, x->b, x->m), lw_min(F, lw_idx(F->L, x->b->kc), x->k)));
}

/* The whole of C and of the depth (one thread, a depth split's partials). */
static void whole(lw_fn *F, contr *x)
{
  x->i0 = x->j0 = x->k0 = lw_idx(F->L, 0);
  x->i1 = x->m, x->j1 = x->n, x->k1 = x->k;
}

/* A depth split's partial products of threads 1..T-1, after the T threads'
 * buffers. */
static LLVMValueRef partials(lw_fn *F, const contr *x)
{
  return lw_f32_at(F, F->pack, mul(F, lw_idx(F->L, x->b->threads), pack_floats(F, x->c, x->b)));
}

LLVMValueRef lw_pack_bytes(lw_fn *F)
{
  LLVMValueRef most = lw_idx(F->L, 0);
  for (int i = 0; i < F->pf->n_contr; i++) {
    const sched_contraction *c = &F->pf->contr[i];
    const sched_blocks *b = &F->pf->blocks[i];
    LLVMValueRef v = mul(F, pack_floats(F, c, b), lw_idx(F->L, (int64_t)b->threads * 4));
    if (splits_depth(F, i)) { /* the partial products of threads 1..T-1 */
      const ir_stmt *s = F->f->stmts[c->stmt];
      LLVMValueRef mn = mul(F, extent(F, s, c->rows, c->n_rows), extent(F, s, c->cols, c->n_cols));
      v = add(F, v, mul(F, mn, lw_idx(F->L, (int64_t)(b->threads - 1) * 4)));
    }
    most = LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, LLVMIntSGT, v, most, ""), v, most, "");
  }
  return most;
}

/* ---- packing */

/* A loop over a panel's lanes, which the C path marks omp simd: every
 * iteration writes its own lane. A run of lanes along one index (fold_tail)
 * runs as masked vectors to its end: a run is shorter than the
 * vectoriser's unrolled step (28 pixels of a 28-wide image, against 8
 * lanes interleaved 4 times) and would otherwise take the scalar
 * remainder whole (the packing of B of bench/kernels.tc's conv3x3: 216 ->
 * 137 us a call with it; conv3x3s2, gathered: 190 -> 177 us). */
static void lanes_loop(lw_fn *F, LLVMValueRef hi, lw_body_fn body, void *data, bool fold_tail)
{
  F->simd_next = true;
  F->fold_tail_next = fold_tail;
  lw_counted_loop(F, lw_idx(F->L, 0), hi, body, data);
}

static void store_read(panel *q, LLVMValueRef at)
{
  lw_fn *F = q->x->F;
  lw_parallel_access(F, LLVMBuildStore(F->b, lw_expr_as(F, q->read, IR_F32), lw_f32_at(F, q->d, at)));
}

static LLVMValueRef panel_at(panel *q, LLVMValueRef p, LLVMValueRef l)
{
  lw_fn *F = q->x->F;
  return add(F, mul(F, p, lw_idx(F->L, q->width)), l);
}

static void lane_read(lw_fn *F, void *data)
{
  panel *q = data;
  (void)F;
  store_read(q, panel_at(q, q->p, q->l));
}

static void lane_zero(lw_fn *F, void *data)
{
  panel *q = data;
  lw_parallel_access(F, LLVMBuildStore(F->b, LLVMConstReal(F->L->f32, 0.0), lw_f32_at(F, q->d, panel_at(q, q->p, q->l))));
}

static LLVMValueRef run_cond(lw_fn *F, LLVMValueRef l, void *data)
{
  return LLVMBuildICmp(F->b, LLVMIntSLT, l, ((panel *)data)->lim, "");
}

static void run_elem(lw_fn *F, LLVMValueRef r, void *data)
{
  panel *q = data;
  F->iter[q->lanes[q->n_lanes - 1]] = add(F, q->s0, r);
  store_read(q, panel_at(q, q->p, add(F, q->l, r)));
}

/* A run starting at panel lane l: the outer lane indices and the inner
 * one's first value q->s0 from the flat lane l0 + l; returns the inner
 * index's extent. */
static LLVMValueRef run_start(lw_fn *F, panel *q, LLVMValueRef l)
{
  const ir_stmt *s = q->x->s;
  LLVMValueRef flat = add(F, q->l0, l), inner = hi(F, s, q->lanes[q->n_lanes - 1]);
  decompose(F, s, q->lanes, q->n_lanes - 1, LLVMBuildUDiv(F->b, flat, inner, ""));
  q->s0 = LLVMBuildURem(F->b, flat, inner, "");
  q->l = l;
  return inner;
}

/* Whether q's runs may be read as vectors: an unpadded float read, a
 * panel of at most LW_PACK_MAX_WIDTH lanes. */
static bool vector_read(panel *q)
{
  return !q->read->padded && q->x->F->f->tensors[q->read->tensor]->type == IR_F32 && q->width <= LW_PACK_MAX_WIDTH;
}

/* The address of the run's first lane (q->a0, the inner lane index at
 * q->s0) and the floats between its lanes (q->step, known when the code
 * runs). */
static void run_address(lw_fn *F, panel *q)
{
  int inner_lane = q->lanes[q->n_lanes - 1];
  F->iter[inner_lane] = q->s0;
  q->a0 = lw_access_address(F, q->read);
  F->iter[inner_lane] = add(F, q->s0, lw_idx(F->L, 1));
  q->step = LLVMBuildPtrDiff2(F->b, F->L->f32, lw_access_address(F, q->read), q->a0, "");
}

/* The run of q->run lanes from panel lane q->l, read at unit stride: one
 * masked load and store (emit_ukernel.c's aotc_copy_run). */
static void masked_run1(lw_fn *F, void *data)
{
  panel *q = data;
  unsigned w = (unsigned)q->width;
  LLVMTypeRef vt = LLVMVectorType(F->L->f32, w);
  LLVMValueRef mask = lw_lanes_below(F, w, q->run);
  LLVMValueRef v = lw_masked_load(F, vt, q->a0, mask, LLVMGetUndef(vt));
  lw_masked_store(F, v, lw_f32_at(F, q->d, panel_at(q, q->p, q->l)), mask);
}

/* Read at stride 2: twice the lanes loaded, none past the run's last float,
 * the even ones kept (aotc_copy_run_s2). */
static void masked_run2(lw_fn *F, void *data)
{
  panel *q = data;
  unsigned w = (unsigned)q->width;
  LLVMValueRef even[LW_PACK_MAX_WIDTH];
  for (unsigned l = 0; l < w; l++)
    even[l] = LLVMConstInt(F->L->i32, 2 * l, 0);
  LLVMTypeRef vt = LLVMVectorType(F->L->f32, 2 * w);
  LLVMValueRef floats = LLVMBuildSub(F->b, add(F, q->run, q->run), lw_idx(F->L, 1), "");
  LLVMValueRef v = lw_masked_load(F, vt, q->a0, lw_lanes_below(F, 2 * w, floats), LLVMGetUndef(vt));
  v = LLVMBuildShuffleVector(F->b, v, LLVMGetUndef(vt), LLVMConstVector(even, w), "");
  lw_masked_store(F, v, lw_f32_at(F, q->d, panel_at(q, q->p, q->l)), lw_lanes_below(F, w, q->run));
}

static void run_lanes(lw_fn *F, void *data)
{
  panel *q = data;
  lanes_loop(F, q->run, run_elem, q, true);
}

static void masked_run_other(lw_fn *F, void *data)
{
  panel *q = data;
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntEQ, q->step, lw_idx(F->L, 2), ""), masked_run2, run_lanes, q);
}

/* The run of lanes from l along the innermost lane index, up to q->lim;
 * its length is the increment. Where vector_read on a target with vectors,
 * a run read at stride 1 or 2 is masked vectors (the loop vectoriser took gathers of 8 lanes at
 * stride 2: a stride-2 convolution's runs across rows). */
static void pack_run(lw_fn *F, LLVMValueRef l, void *data)
{
  panel *q = data;
  LLVMValueRef inner = run_start(F, q, l);
  q->run = lw_min(F, LLVMBuildSub(F->b, q->lim, l, ""), LLVMBuildSub(F->b, inner, q->s0, ""));
  if (!vector_read(q) || q->x->b->vw < 2) {
    run_lanes(F, q);
    return;
  }
  run_address(F, q);
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntEQ, q->step, lw_idx(F->L, 1), ""), masked_run1, masked_run_other, q);
}

static LLVMValueRef run_inc(lw_fn *F, void *data)
{
  (void)F;
  return ((panel *)data)->run;
}

static void runs(lw_fn *F, void *data)
{
  lw_loop(F, lw_idx(F->L, 0), run_cond, run_inc, pack_run, data);
}

static void run_loop(lw_fn *F, void *data)
{
  lanes_loop(F, lw_idx(F->L, ((panel *)data)->width), run_elem, data, false);
}

static void store_panel_row(lw_fn *F, panel *q, LLVMValueRef v)
{
  LLVMSetAlignment(LLVMBuildStore(F->b, v, lw_f32_at(F, q->d, panel_at(q, q->p, lw_idx(F->L, 0)))), 4);
}

/* The run read at unit stride: one vector load. */
static void run_stride1(lw_fn *F, void *data)
{
  panel *q = data;
  LLVMValueRef v = LLVMBuildLoad2(F->b, LLVMVectorType(F->L->f32, (unsigned)q->width), q->a0, "");
  LLVMSetAlignment(v, 4);
  store_panel_row(F, q, v);
}

/* The run read at stride 2 (a stride-2 convolution's im2col): twice the
 * width loaded (masked: the last float is not the run's and may be past
 * the tensor), its even lanes kept. The loop vectoriser took gathers of 8
 * lanes with 64-bit indices here. */
static void run_stride2(lw_fn *F, void *data)
{
  panel *q = data;
  unsigned w = (unsigned)q->width;
  LLVMValueRef mask[2 * LW_PACK_MAX_WIDTH], even[LW_PACK_MAX_WIDTH];
  for (unsigned l = 0; l < 2 * w; l++)
    mask[l] = LLVMConstInt(F->L->i1, l + 1 < 2 * w, 0);
  for (unsigned l = 0; l < w; l++)
    even[l] = LLVMConstInt(F->L->i32, 2 * l, 0);
  LLVMTypeRef vt = LLVMVectorType(F->L->f32, 2 * w);
  LLVMValueRef v = lw_masked_load(F, vt, q->a0, LLVMConstVector(mask, 2 * w), LLVMGetUndef(vt));
  store_panel_row(F, q, LLVMBuildShuffleVector(F->b, v, LLVMGetUndef(vt), LLVMConstVector(even, w), ""));
}

static void run_other_stride(lw_fn *F, void *data)
{
  panel *q = data;
  LLVMValueRef two = LLVMBuildICmp(F->b, LLVMIntEQ, q->step, lw_idx(F->L, 2), "");
  lw_if_else(F, two, run_stride2, run_loop, q);
}

/* A panel inside one run: one loop of the panel's width (emit_ukernel.c's
 * print_pack_runs), its trip count a constant; for an unpadded float read
 * whose lanes are 1 or 2 floats apart (the distance is known when the code
 * runs), vector loads instead. */
static void one_run(lw_fn *F, void *data)
{
  panel *q = data;
  run_start(F, q, lw_idx(F->L, 0));
  if (!vector_read(q)) {
    run_loop(F, q);
    return;
  }
  run_address(F, q);
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntEQ, q->step, lw_idx(F->L, 1), ""), run_stride1, run_other_stride, q);
}

static void full_runs(lw_fn *F, void *data)
{
  panel *q = data;
  LLVMValueRef inner = hi(F, q->x->s, q->lanes[q->n_lanes - 1]);
  LLVMValueRef end = add(F, LLVMBuildURem(F->b, q->l0, inner, ""), lw_idx(F->L, q->width));
  q->lim = lw_idx(F->L, q->width);
  lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntSLE, end, inner, ""), one_run, runs, q);
}

static void one_lane(lw_fn *F, LLVMValueRef l, void *data)
{
  panel *q = data;
  q->l = l;
  F->iter[q->lanes[0]] = add(F, q->l0, l);
  lane_read(F, q);
}

static void copy_lane(lw_fn *F, LLVMValueRef l, void *data)
{
  panel *q = data;
  LLVMValueRef v = LLVMBuildLoad2(F->b, F->L->f32, lw_f32_at(F, q->s0, l), "");
  lw_parallel_access(F, v);
  lw_parallel_access(F, LLVMBuildStore(F->b, v, lw_f32_at(F, q->d, panel_at(q, q->p, l))));
}

/* One depth step of a full panel of such an operand: width floats from the
 * lane l0 on, one copy. */
static void contiguous_lanes(lw_fn *F, panel *q)
{
  decompose(F, q->x->s, q->lanes, q->n_lanes, q->l0);
  q->s0 = lw_access_address(F, q->read);
  lanes_loop(F, lw_idx(F->L, q->width), copy_lane, q, false);
}

static void full_lanes(lw_fn *F, void *data)
{
  panel *q = data;
  if (q->n_lanes > 1 && F->f->tensors[q->read->tensor]->type == IR_F32 &&
      emit_lanes_contiguous(F->f, q->x->s, q->read, q->lanes, q->n_lanes))
    contiguous_lanes(F, q);
  else if (q->n_lanes > 1)
    full_runs(F, q);
  else
    lanes_loop(F, lw_idx(F->L, q->width), one_lane, q, false);
}

static void zero_lane(lw_fn *F, LLVMValueRef l, void *data)
{
  panel *q = data;
  q->l = l;
  lane_zero(F, q);
}

/* A panel past the end of its lanes: the lanes that exist in runs (as a
 * full panel's, emit_ukernel.c's masked runs), the rest zero; a run of
 * lanes decomposed one by one took the scalar loads of a stride-2
 * convolution's last panel. */
static void edge_lanes(lw_fn *F, void *data)
{
  panel *q = data;
  q->lim = lw_min(F, lw_idx(F->L, q->width), LLVMBuildSub(F->b, q->end, q->l0, ""));
  runs(F, q);
  lw_counted_loop(F, q->lim, lw_idx(F->L, q->width), zero_lane, q);
}

static LLVMValueRef panel_full(panel *q)
{
  lw_fn *F = q->x->F;
  return LLVMBuildICmp(F->b, LLVMIntSLE, add(F, q->l0, lw_idx(F->L, q->width)), q->end, "");
}

/* Steps the depth indices' odometer by one (emit_ukernel.c's
 * print_odometer_step): the last wraps to 0 at its end, carrying. */
static void odometer_step(lw_fn *F, panel *q, const LLVMValueRef *at)
{
  const sched_contraction *c = q->x->c;
  LLVMValueRef carry = lw_idx(F->L, 1);
  for (int t = c->n_depth - 1; t >= 0; t--) {
    LLVMValueRef v = add(F, at[t], carry);
    if (t > 0) {
      LLVMValueRef wrap = LLVMBuildICmp(F->b, LLVMIntEQ, v, hi(F, q->x->s, c->depth[t]), "");
      v = LLVMBuildSelect(F->b, wrap, lw_idx(F->L, 0), v, "");
      carry = LLVMBuildZExt(F->b, wrap, LLVMTypeOf(v), "");
    }
    LLVMBuildStore(F->b, v, q->od[t]);
  }
}

/* Depth step p: the depth indices (divided out of pc + p, or read from the
 * odometer), then the lanes. */
static void pack_step(lw_fn *F, LLVMValueRef p, void *data)
{
  panel *q = data;
  contr *x = q->x;
  LLVMValueRef at[SCHED_MAX_DIMS];
  q->p = p;
  if (q->od[0])
    for (int t = 0; t < x->c->n_depth; t++)
      F->iter[x->c->depth[t]] = at[t] = LLVMBuildLoad2(F->b, F->L->idx, q->od[t], "");
  else
    decompose(F, x->s, x->c->depth, x->c->n_depth, add(F, x->pc, p));
  lw_if_else(F, panel_full(q), full_lanes, edge_lanes, q);
  if (q->od[0])
    odometer_step(F, q, at);
}

static void by_lane_step(lw_fn *F, LLVMValueRef p, void *data)
{
  panel *q = data;
  F->iter[q->x->c->depth[0]] = add(F, q->x->pc, p);
  store_read(q, panel_at(q, p, q->l));
}

static void by_lane(lw_fn *F, LLVMValueRef l, void *data)
{
  panel *q = data;
  decompose(F, q->x->s, q->lanes, q->n_lanes, add(F, q->l0, l));
  q->l = l;
  lw_counted_loop(F, q->p0, q->x->kc, by_lane_step, q);
}

/* Whether such a panel packs by transpositions (emit_ukernel.c's
 * depth_vec): a plain float read, a target with vectors of 16 floats. */
static bool depth_vec(panel *q)
{
  const ir_expr *r = q->read;
  const ir_tensor *T = q->x->F->f->tensors[r->tensor];
  return q->x->b->vw >= 16 && r->kind == IR_ACCESS && !r->padded && T->type == IR_F32 && T->rank == r->n_args &&
         q->width <= LW_PACK_MAX_WIDTH;
}

/* A two-vector shuffle of 16 floats: within 128-bit lanes, element i of
 * each takes pick[i] (0-3: a's element of the same 128-bit lane, 4-7:
 * b's); else 128-bit lane k of the result is lane pick[k] (0-3: a's, 4-7:
 * b's). */
static LLVMValueRef shuffle16(lw_fn *F, LLVMValueRef a, LLVMValueRef b, const int pick[4], bool within)
{
  LLVMValueRef m[16];
  for (int e = 0; e < 16; e++) {
    int k = e / 4, i = e % 4, v;
    if (within)
      v = (pick[i] >= 4 ? 16 : 0) + 4 * k + pick[i] % 4;
    else
      v = (pick[k] >= 4 ? 16 : 0) + 4 * (pick[k] % 4) + i;
    m[e] = LLVMConstInt(F->L->i32, (unsigned)v, 0);
  }
  return LLVMBuildShuffleVector(F->b, a, b, LLVMConstVector(m, 16), "");
}

/* Sixteen depth steps from p of lanes h..h+n-1 (n <= 16): one load of 16
 * floats per lane, a 16x16 transposition in four rounds of shuffles
 * (emit_ukernel.c's aotc_pack_depth: unpack, shuffle, 128-bit lanes
 * twice), one masked store of n lanes per depth step. */
static void transpose_block(lw_fn *F, panel *q, LLVMValueRef p, int h, int n)
{
  static const int lo[4] = {0, 4, 1, 5}, hi2[4] = {2, 6, 3, 7}, s44[4] = {0, 1, 4, 5}, see[4] = {2, 3, 6, 7};
  static const int f88[4] = {0, 2, 4, 6}, fdd[4] = {1, 3, 5, 7};
  LLVMTypeRef vt = LLVMVectorType(F->L->f32, 16);
  LLVMValueRef r[16], t[16];
  for (int i = 0; i < 16; i++) {
    if (i >= n) {
      r[i] = LLVMConstNull(vt);
      continue;
    }
    r[i] = LLVMBuildLoad2(F->b, vt, lw_f32_at(F, q->rows[h + i], p), "");
    LLVMSetAlignment(r[i], 4);
  }
  for (int i = 0; i < 16; i += 2) {
    t[i] = shuffle16(F, r[i], r[i + 1], lo, true);
    t[i + 1] = shuffle16(F, r[i], r[i + 1], hi2, true);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = shuffle16(F, t[i], t[i + 2], s44, true);
    r[i + 1] = shuffle16(F, t[i], t[i + 2], see, true);
    r[i + 2] = shuffle16(F, t[i + 1], t[i + 3], s44, true);
    r[i + 3] = shuffle16(F, t[i + 1], t[i + 3], see, true);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = shuffle16(F, r[i], r[i + 4], f88, false);
    t[i + 4] = shuffle16(F, r[i], r[i + 4], fdd, false);
    t[i + 8] = shuffle16(F, r[i + 8], r[i + 12], f88, false);
    t[i + 12] = shuffle16(F, r[i + 8], r[i + 12], fdd, false);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = shuffle16(F, t[i], t[i + 8], f88, false);
    r[i + 8] = shuffle16(F, t[i], t[i + 8], fdd, false);
  }
  LLVMValueRef mask = lw_lanes_below(F, 16, lw_idx(F->L, n));
  for (int j = 0; j < 16; j++) {
    LLVMValueRef at = add(F, mul(F, add(F, p, lw_idx(F->L, j)), lw_idx(F->L, q->width)), lw_idx(F->L, h));
    lw_parallel_access(F, lw_masked_store(F, r[j], lw_f32_at(F, q->d, at), mask));
  }
}

static void transposed_step(lw_fn *F, LLVMValueRef p, void *data)
{
  panel *q = data;
  for (int h = 0; h < q->width; h += 16)
    transpose_block(F, q, p, h, q->width - h < 16 ? q->width - h : 16);
}

/* A full panel of an operand contiguous along its single depth index: lane
 * by lane, contiguous reads along the depth; where depth_vec, the depth
 * steps in blocks of 16 by transpositions first (lane by lane moved one
 * float at a time: A's packing in sgemm). */
static void pack_by_lane(lw_fn *F, void *data)
{
  panel *q = data;
  q->p0 = lw_idx(F->L, 0);
  if (depth_vec(q)) {
    for (int l = 0; l < q->width; l++) {
      decompose(F, q->x->s, q->lanes, q->n_lanes, add(F, q->l0, lw_idx(F->L, l)));
      F->iter[q->x->c->depth[0]] = q->x->pc;
      q->rows[l] = lw_access_address(F, q->read);
    }
    q->p0 = LLVMBuildAnd(F->b, q->x->kc, lw_idx(F->L, -16), "");
    lw_stepped_loop(F, lw_idx(F->L, 0), q->p0, 16, transposed_step, q);
  }
  lw_counted_loop(F, lw_idx(F->L, 0), lw_idx(F->L, q->width), by_lane, q);
}

static void pack_steps(lw_fn *F, void *data)
{
  panel *q = data;
  const sched_contraction *c = q->x->c;
  q->od[0] = NULL;
  if (c->n_depth > 1) { /* an implicit im2col's channel, row and column of the window */
    decompose(F, q->x->s, c->depth, c->n_depth, q->x->pc);
    for (int t = 0; t < c->n_depth; t++) {
      q->od[t] = lw_entry_alloca(F, F->L->idx, "od");
      LLVMBuildStore(F->b, F->iter[c->depth[t]], q->od[t]);
    }
  }
  lw_counted_loop(F, lw_idx(F->L, 0), q->x->kc, pack_step, data);
}

/* emit_ukernel.c's depth_contiguous. */
static bool depth_contiguous(const sched_contraction *c, const ir_expr *read)
{
  const ir_expr *last = read->n_args > 0 ? read->args[read->n_args - 1] : NULL;
  return c->n_depth == 1 && last && last->kind == IR_INDEX && last->index == c->depth[0];
}

static void pack_panel_here(panel *q)
{
  lw_fn *F = q->x->F;
  if (depth_contiguous(q->x->c, q->read))
    lw_if_else(F, panel_full(q), pack_by_lane, pack_steps, q);
  else
    pack_steps(F, q);
}

/* Whether e reads a tensor (a data-dependent index). */
static bool reads_data(const ir_expr *e)
{
  for (int i = 0; e && i < e->n_args; i++)
    if (e->args[i] && (e->args[i]->kind == IR_ACCESS || reads_data(e->args[i])))
      return true;
  return false;
}

/* The panel packed by a function of its own (pack_apart: the tuner's
 * candidates) when everything it reads but the tensor, the batch, the
 * panel's place and the depth block is a constant: its IR is then the same
 * in every candidate that packs the operand the same way (whatever its
 * cache blocks), and llvm_jit.c compiles it once per search as it does the
 * micro-kernels (packing was two thirds of the time LLVM took over a
 * convolution candidate). At most half of a module's room for functions
 * split apart (LW_MAX_UKR) goes to packing; the panels past it pack inline. */
static bool outlinable(const panel *q)
{
  const lw_fn *F = q->x->F;
  const ir_tensor *T = F->f->tensors[q->read->tensor];
  if (!F->L->opt.pack_apart || F->L->n_packs >= LW_MAX_UKR / 2 || reads_data(q->read) || !LLVMIsConstant(q->end) ||
      LLVMGetTypeKind(LLVMTypeOf(F->tensor[q->read->tensor])) != LLVMPointerTypeKind)
    return false;
  for (int p = 0; p < F->f->n_params; p++)
    if (!LLVMIsConstant(F->param[p]))
      return false;
  for (int j = 0; j < T->rank; j++)
    if (!LLVMIsConstant(F->dim[q->read->tensor][j]))
      return false;
  return true;
}

/* void aotc_ukr_packN(float *d, idx l0, idx pc, idx kc, idx batch..., const float *t) */
static bool pack_panel_apart(panel *q)
{
  lw_fn *F = q->x->F;
  emit_llvm *L = F->L;
  const sched_contraction *c = q->x->c;
  LLVMTypeRef ty[4 + SCHED_MAX_DIMS + 1];
  unsigned n = 0;
  ty[n++] = L->ptr;
  for (int i = 0; i < 3 + c->n_batch; i++)
    ty[n++] = L->idx;
  ty[n++] = L->ptr;
  char name[64];
  snprintf(name, sizeof name, LW_PACK_PREFIX "%d", L->n_packs++);
  LLVMValueRef fn = LLVMAddFunction(L->m, name, LLVMFunctionType(LLVMVoidTypeInContext(L->c), ty, n, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(L->c, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
  lw_fn G = *F;
  G.fn = fn;
  G.b = LLVMCreateBuilderInContext(L->c);
  G.iter = calloc((size_t)F->n_iter, sizeof *G.iter);
  G.tensor = calloc((size_t)F->f->n_tensors, sizeof *G.tensor);
  G.fail_index = NULL;
  G.acc = NULL;
  G.par_loop = NULL;
  G.simd_next = G.fold_tail_next = G.epi_on = false;
  G.trip_next = 0;
  if (!G.iter || !G.tensor) {
    free(G.iter);
    free(G.tensor);
    LLVMDisposeBuilder(G.b);
    LLVMDeleteFunction(fn);
    return false;
  }
  LLVMPositionBuilderAtEnd(G.b, LLVMAppendBasicBlockInContext(L->c, fn, "entry"));
  contr x = *q->x;
  x.F = &G;
  x.pc = LLVMGetParam(fn, 2);
  x.kc = LLVMGetParam(fn, 3);
  for (int i = 0; i < c->n_batch; i++)
    G.iter[c->batch[i]] = LLVMGetParam(fn, 4 + (unsigned)i);
  G.tensor[q->read->tensor] = LLVMGetParam(fn, n - 1);
  panel p = *q;
  p.x = &x;
  p.d = LLVMGetParam(fn, 0);
  p.l0 = LLVMGetParam(fn, 1);
  pack_panel_here(&p);
  LLVMBuildRetVoid(G.b);
  LLVMDisposeBuilder(G.b);
  free(G.iter);
  free(G.tensor);
  if (G.failed) {
    F->failed = true;
    F->why = G.why;
  }
  LLVMValueRef args[4 + SCHED_MAX_DIMS + 1];
  unsigned k = 0;
  args[k++] = q->d;
  args[k++] = q->l0;
  args[k++] = q->x->pc;
  args[k++] = q->x->kc;
  for (int i = 0; i < c->n_batch; i++)
    args[k++] = F->iter[c->batch[i]];
  args[k++] = F->tensor[q->read->tensor];
  LLVMBuildCall2(F->b, LLVMGlobalGetValueType(fn), fn, args, k, "");
  return true;
}

static void pack_panel(panel *q)
{
  if (!outlinable(q) || !pack_panel_apart(q))
    pack_panel_here(q);
}

static void pack_b_now(lw_fn *F, void *data)
{
  contr *x = data;
  panel q = {.x = x, .read = x->c->b, .width = x->b->nr, .lanes = x->c->cols, .n_lanes = x->c->n_cols, .end = x->n};
  q.d = lw_f32_at(F, x->bp, mul(F, x->jr, x->kc));
  q.l0 = add(F, x->jc, x->jr);
  pack_panel(&q);
}

/* Whether the panel at column jc + jr is full (B read in place there). */
static LLVMValueRef b_full(contr *x)
{
  lw_fn *F = x->F;
  return LLVMBuildICmp(F->b, LLVMIntSLE, add(F, add(F, x->jc, x->jr), lw_idx(F->L, x->b->nr)), x->n, "");
}

/* Panel jr of B's block packed; with B read in place, only a partial one. */
static void pack_b_panel(lw_fn *F, LLVMValueRef jr, void *data)
{
  contr *x = data;
  x->jr = jr;
  if (x->bpos >= 0)
    lw_if_else(F, LLVMBuildNot(F->b, b_full(x), ""), pack_b_now, NULL, x);
  else
    pack_b_now(F, x);
}

static void pack_a_panel(lw_fn *F, LLVMValueRef ir, void *data)
{
  contr *x = data;
  panel q = {.x = x, .read = x->c->a, .width = x->b->mr, .lanes = x->c->rows, .n_lanes = x->c->n_rows, .end = x->m};
  q.d = lw_f32_at(F, x->ap, mul(F, ir, x->kc));
  q.l0 = add(F, x->ic, ir);
  pack_panel(&q);
}

/* ---- the blocked loops */

static LLVMValueRef lhs_index(lw_fn *F, const void *data, int j)
{
  return F->iter[((const ir_stmt *)data)->lhs[j]];
}

/* The panel of operand op the micro-kernel reads at lane offset r of the
 * block: the packing buffer, or the array packed when built (emit_ukernel.c's
 * print_panel). */
static LLVMValueRef panel_of(contr *x, int op, LLVMValueRef r)
{
  lw_fn *F = x->F;
  LLVMValueRef pk = op ? x->bpk : x->apk, l0 = add(F, op ? x->jc : x->ic, r);
  int width = op ? x->b->nr : x->b->mr;
  if (op && x->bpos >= 0) { /* B's full panel in place at depth pc (the column indices are bound) */
    F->iter[x->c->depth[0]] = x->pc;
    return LLVMBuildSelect(F->b, b_full(x), lw_access_address(F, x->c->b), lw_f32_at(F, x->bp, mul(F, r, x->kc)), "");
  }
  if (!pk)
    return lw_f32_at(F, op ? x->bp : x->ap, mul(F, r, x->kc));
  LLVMValueRef at = add(F, mul(F, l0, x->k), mul(F, x->pc, lw_idx(F->L, width)));
  int64_t per = emit_pack_batch_stride(F->f, x->c, op, width);
  if (per > 0)
    at = add(F, at, mul(F, x->q, lw_idx(F->L, per)));
  return lw_f32_at(F, pk, at);
}

static void tile(lw_fn *F, LLVMValueRef ir, void *data)
{
  contr *x = data;
  const sched_blocks *b = x->b;
  decompose(F, x->s, x->c->rows, x->c->n_rows, add(F, x->ic, ir));
  decompose(F, x->s, x->c->cols, x->c->n_cols, add(F, x->jc, x->jr));
  LLVMValueRef first = x->c->init ? LLVMBuildZExt(F->b, LLVMBuildICmp(F->b, LLVMIntEQ, x->pc, x->k0, ""), F->L->i32, "")
                                  : LLVMConstInt(F->L->i32, 0, 0);
  LLVMValueRef off = lw_linear(F, x->s->tensor, x->s->n_lhs, lhs_index, x->s);
  lw_tile t = {.ci = x->ci, .off = off, .rs = x->rs, .cs = x->cs, .nr_full = b->nr};
  t.c = lw_f32_at(F, F->tensor[x->s->tensor], off);
  if (x->sk) { /* thread t > 0 of a depth split: its partial product, m x n dense */
    LLVMValueRef own = LLVMBuildICmp(F->b, LLVMIntEQ, x->t, lw_idx(F->L, 0), "");
    LLVMValueRef at = add(F, mul(F, LLVMBuildSub(F->b, x->t, lw_idx(F->L, 1), ""), mul(F, x->m, x->n)),
                          add(F, mul(F, add(F, x->ic, ir), x->n), add(F, x->jc, x->jr)));
    t.c = LLVMBuildSelect(F->b, own, t.c, lw_f32_at(F, x->sk, at), "");
    t.rs = LLVMBuildSelect(F->b, own, x->rs, x->n, "");
    t.cs = LLVMBuildSelect(F->b, own, x->cs, lw_idx(F->L, 1), "");
  }
  t.mr = lw_min(F, lw_idx(F->L, b->mr), LLVMBuildSub(F->b, x->mc, ir, ""));
  t.nr = lw_min(F, lw_idx(F->L, b->nr), LLVMBuildSub(F->b, x->nc, x->jr, ""));
  LLVMValueRef ldb = x->bpos >= 0 ? LLVMBuildSelect(F->b, b_full(x), x->ldb, lw_idx(F->L, b->nr), "") : lw_idx(F->L, b->nr);
  LLVMValueRef args[] = {x->kc, panel_of(x, 0, ir), panel_of(x, 1, x->jr), ldb, t.c, t.rs, t.cs, t.mr, t.nr, first};
  LLVMBuildCall2(F->b, x->ukr_ty, x->ukr, args, LW_UKR_ARGS, "");
  if (x->sk) /* the epilogue after the sums */
    return;
  t.last = LLVMBuildICmp(F->b, LLVMIntEQ, add(F, x->pc, x->kc), x->k, "");
  lw_epilogue_tile(F, &t);
}

static void tile_column(lw_fn *F, LLVMValueRef jr, void *data)
{
  contr *x = data;
  x->jr = jr;
  lw_stepped_loop(F, lw_idx(F->L, 0), x->mc, x->b->mr, tile, x);
}

static void row_block(lw_fn *F, LLVMValueRef ic, void *data)
{
  contr *x = data;
  x->ic = ic;
  x->mc = lw_min(F, lw_idx(F->L, x->b->mc), LLVMBuildSub(F->b, x->i1, ic, ""));
  if (!x->apk)
    lw_stepped_loop(F, lw_idx(F->L, 0), x->mc, x->b->mr, pack_a_panel, x);
  lw_stepped_loop(F, lw_idx(F->L, 0), x->nc, x->b->nr, tile_column, x);
}

static void depth_block(lw_fn *F, LLVMValueRef pc, void *data)
{
  contr *x = data;
  x->pc = pc;
  x->kc = lw_min(F, lw_idx(F->L, x->b->kc), LLVMBuildSub(F->b, x->k1, pc, ""));
  if (!x->bpk)
    lw_stepped_loop(F, lw_idx(F->L, 0), x->nc, x->b->nr, pack_b_panel, x);
  lw_stepped_loop(F, x->i0, x->i1, x->b->mc, row_block, x);
}

static void column_block(lw_fn *F, LLVMValueRef jc, void *data)
{
  contr *x = data;
  x->jc = jc;
  x->nc = lw_min(F, lw_idx(F->L, x->b->nc), LLVMBuildSub(F->b, x->j1, jc, ""));
  lw_stepped_loop(F, x->k0, x->k1, x->b->kc, depth_block, x);
}

/* C = 0 where the depth is empty (`+=!` only). */
static void zero_column(lw_fn *F, LLVMValueRef j, void *data)
{
  contr *x = data;
  decompose(F, x->s, x->c->cols, x->c->n_cols, j);
  LLVMValueRef addr = lw_address(F, x->s->tensor, x->s->n_lhs, lhs_index, x->s);
  LLVMBuildStore(F->b, LLVMConstReal(F->L->f32, 0.0), addr);
}

static void zero_row(lw_fn *F, LLVMValueRef i, void *data)
{
  contr *x = data;
  decompose(F, x->s, x->c->rows, x->c->n_rows, i);
  lw_counted_loop(F, x->j0, x->j1, zero_column, x);
}

static void zero_all(lw_fn *F, void *data)
{
  contr *x = data;
  lw_counted_loop(F, x->i0, x->i1, zero_row, data);
}

static void batch(lw_fn *F, LLVMValueRef q, void *data)
{
  contr *x = data;
  x->q = q;
  decompose(F, x->s, x->c->batch, x->c->n_batch, q);
  lw_stepped_loop(F, x->j0, x->j1, x->b->nc, column_block, x);
  if (x->c->init)
    lw_if_else(F, LLVMBuildICmp(F->b, LLVMIntEQ, x->k, lw_idx(F->L, 0), ""), zero_all, NULL, x);
}

/* The product of the dimensions of tensor t after position pos. */
static LLVMValueRef stride(lw_fn *F, int t, int pos)
{
  LLVMValueRef v = lw_idx(F->L, 1);
  for (int j = pos + 1; j < F->f->tensors[t]->rank; j++)
    v = mul(F, v, F->dim[t][j]);
  return v;
}

static int lhs_pos(const ir_stmt *s, int x)
{
  for (int j = 0; j < s->n_lhs; j++)
    if (s->lhs[j] == x)
      return j;
  return 0;
}

static LLVMValueRef sdiv(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSDiv(F->b, a, b, "");
}

static LLVMValueRef lt(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildICmp(F->b, LLVMIntSLT, a, b, "");
}

/* (v + step - 1) / step * step rounded as the C path's slices are. */
static LLVMValueRef width(lw_fn *F, LLVMValueRef v, int64_t parts, int64_t step)
{
  LLVMValueRef w = mul(F, sdiv(F, add(F, v, lw_idx(F->L, parts * step - 1)), lw_idx(F->L, parts * step)),
                       lw_idx(F->L, step));
  return lw_min(F, v, w);
}

/* Thread t's slice of C's rows or columns when there are fewer batches
 * than threads (emit_print.h's EMIT_SPLIT_GAIN_PCT: the C path's
 * print_thread_slice, value for value); all of C otherwise. */
static void thread_slice(lw_fn *F, contr *x, LLVMValueRef t, LLVMValueRef few)
{
  const sched_blocks *b = x->b;
  int64_t T = b->threads, vw = b->vw > 1 ? b->vw : 1;
  LLVMValueRef m = x->m, n = x->n, k = x->k;
  LLVMValueRef wc = width(F, n, T, b->nr), wr = width(F, m, T, b->mr);
  LLVMValueRef up_mr = sdiv(F, add(F, m, lw_idx(F->L, b->mr - 1)), lw_idx(F->L, b->mr));
  LLVMValueRef by_cols = add(F, mul(F, mul(F, mul(F, sdiv(F, add(F, wc, lw_idx(F->L, vw - 1)), lw_idx(F->L, vw)), up_mr),
                                           lw_idx(F->L, b->mr)), k),
                             mul(F, add(F, m, wc), k));
  LLVMValueRef by_rows = add(F, mul(F, mul(F, mul(F, sdiv(F, add(F, wr, lw_idx(F->L, b->mr - 1)), lw_idx(F->L, b->mr)),
                                                  sdiv(F, add(F, n, lw_idx(F->L, vw - 1)), lw_idx(F->L, vw))),
                                           lw_idx(F->L, b->mr)), k),
                             mul(F, add(F, wr, n), k));
  LLVMValueRef keep = lw_idx(F->L, 100 - EMIT_SPLIT_GAIN_PCT), hundred = lw_idx(F->L, 100);
  LLVMValueRef cols = LLVMBuildSelect(
      F->b, LLVMBuildICmp(F->b, LLVMIntSGE, n, m, ""),
      LLVMBuildICmp(F->b, LLVMIntSGE, mul(F, by_rows, hundred), mul(F, by_cols, keep), ""),
      lt(F, mul(F, by_cols, hundred), mul(F, by_rows, keep)), "");
  LLVMValueRef zero = lw_idx(F->L, 0);
  LLVMValueRef by_c = LLVMBuildAnd(F->b, few, cols, ""), by_r = LLVMBuildAnd(F->b, few, LLVMBuildNot(F->b, cols, ""), "");
  LLVMValueRef j0 = lw_min(F, n, mul(F, t, wc)), i0 = lw_min(F, m, mul(F, t, wr));
  x->j0 = LLVMBuildSelect(F->b, by_c, j0, zero, "");
  x->j1 = LLVMBuildSelect(F->b, by_c, lw_min(F, n, add(F, j0, wc)), n, "");
  x->i0 = LLVMBuildSelect(F->b, by_r, i0, zero, "");
  x->i1 = LLVMBuildSelect(F->b, by_r, lw_min(F, m, add(F, i0, wr)), m, "");
}

/* Thread t of the product (the C path's print_thread_loops): its packing
 * buffers, then its block of whole batches, or every batch and its slice
 * of C when there are fewer batches than threads. */
static void thread_share(lw_fn *F, LLVMValueRef t, void *data)
{
  contr *x = data;
  const sched_blocks *b = x->b;
  lw_fn *caller = x->F;
  x->F = F; /* the team's function: x's helpers build through x->F */
  LLVMValueRef T = lw_idx(F->L, b->threads);
  thread_buffers(F, x, t);
  LLVMValueRef few = lt(F, x->nb, T);
  thread_slice(F, x, t, few);
  x->k0 = lw_idx(F->L, 0), x->k1 = x->k;
  LLVMValueRef q0 = LLVMBuildSelect(F->b, few, lw_idx(F->L, 0), sdiv(F, mul(F, t, x->nb), T), "");
  LLVMValueRef q1 = LLVMBuildSelect(F->b, few, x->nb, sdiv(F, mul(F, add(F, t, lw_idx(F->L, 1)), x->nb), T), "");
  lw_counted_loop(F, q0, q1, batch, x);
  x->F = caller;
}

/* Thread t's partial product of a depth split (the C path's
 * print_split_partials): its buffers, its slice of the depth (ceil(k / T)
 * each) over all of C, into C (t = 0) or its m x n floats at sk (t - 1),
 * no epilogue. One batch. */
static void split_partial(lw_fn *F, LLVMValueRef t, void *data)
{
  contr *x = data;
  const sched_blocks *b = x->b;
  lw_fn *caller = x->F;
  x->F = F;
  thread_buffers(F, x, t);
  whole(F, x);
  LLVMValueRef wk = sdiv(F, add(F, x->k, lw_idx(F->L, b->threads - 1)), lw_idx(F->L, b->threads));
  x->k0 = lw_min(F, x->k, mul(F, t, wk));
  x->k1 = lw_min(F, x->k, add(F, x->k0, wk));
  x->sk = partials(F, x);
  x->t = t;
  x->q = lw_idx(F->L, 0);
  decompose(F, x->s, x->c->batch, x->c->n_batch, x->q);
  lw_stepped_loop(F, x->j0, x->j1, b->nc, column_block, x);
  x->sk = x->t = NULL;
  x->F = caller;
}

typedef struct split_sum {
  contr *x;
  LLVMValueRef ic, mc, ir, jr, c, smr, snr, u, si;
} split_sum;

static void sum_col(lw_fn *F, LLVMValueRef sj, void *data)
{
  split_sum *y = data;
  contr *x = y->x;
  LLVMValueRef d = lw_f32_at(F, y->c, add(F, mul(F, y->si, x->rs), mul(F, sj, x->cs)));
  LLVMValueRef at = add(F, mul(F, LLVMBuildSub(F->b, y->u, lw_idx(F->L, 1), ""), mul(F, x->m, x->n)),
                        add(F, mul(F, add(F, add(F, y->ic, y->ir), y->si), x->n), add(F, y->jr, sj)));
  LLVMValueRef v = LLVMBuildFAdd(F->b, LLVMBuildLoad2(F->b, F->L->f32, d, ""),
                                 LLVMBuildLoad2(F->b, F->L->f32, lw_f32_at(F, x->sk, at), ""), "");
  LLVMBuildStore(F->b, v, d);
}

static void sum_row(lw_fn *F, LLVMValueRef si, void *data)
{
  split_sum *y = data;
  y->si = si;
  lw_counted_loop(F, lw_idx(F->L, 0), y->snr, sum_col, y);
}

static void sum_partial(lw_fn *F, LLVMValueRef u, void *data)
{
  split_sum *y = data;
  y->u = u;
  lw_counted_loop(F, lw_idx(F->L, 0), y->smr, sum_row, y);
}

static void sum_tile(lw_fn *F, LLVMValueRef jr, void *data)
{
  split_sum *y = data;
  contr *x = y->x;
  const sched_blocks *b = x->b;
  y->jr = jr;
  decompose(F, x->s, x->c->rows, x->c->n_rows, add(F, y->ic, y->ir));
  decompose(F, x->s, x->c->cols, x->c->n_cols, jr);
  LLVMValueRef off = lw_linear(F, x->s->tensor, x->s->n_lhs, lhs_index, x->s);
  y->c = lw_f32_at(F, F->tensor[x->s->tensor], off);
  y->smr = lw_min(F, lw_idx(F->L, b->mr), LLVMBuildSub(F->b, y->mc, y->ir, ""));
  y->snr = lw_min(F, lw_idx(F->L, b->nr), LLVMBuildSub(F->b, x->n, jr, ""));
  lw_counted_loop(F, lw_idx(F->L, 1), lw_idx(F->L, b->threads), sum_partial, y);
  lw_tile t = {.ci = x->ci, .off = off, .rs = x->rs, .cs = x->cs, .c = y->c, .mr = y->smr, .nr = y->snr,
               .nr_full = b->nr, .last = LLVMConstInt(F->L->i1, 1, 0)};
  lw_epilogue_tile(F, &t);
}

static void sum_row_tile(lw_fn *F, LLVMValueRef ir, void *data)
{
  split_sum *y = data;
  y->ir = ir;
  lw_stepped_loop(F, lw_idx(F->L, 0), y->x->n, y->x->b->nr, sum_tile, y);
}

/* Thread t's rows of C after the partial products (print_split_sums):
 * each register tile gets the other threads' partials added, then the
 * fused epilogue. */
static void split_sums(lw_fn *F, LLVMValueRef t, void *data)
{
  contr *x = data;
  const sched_blocks *b = x->b;
  lw_fn *caller = x->F;
  x->F = F;
  x->sk = partials(F, x);
  decompose(F, x->s, x->c->batch, x->c->n_batch, lw_idx(F->L, 0));
  int64_t step = (int64_t)b->threads * b->mr;
  LLVMValueRef w = mul(F, sdiv(F, add(F, x->m, lw_idx(F->L, step - 1)), lw_idx(F->L, step)), lw_idx(F->L, b->mr));
  split_sum y = {.x = x};
  y.ic = lw_min(F, x->m, mul(F, t, w));
  y.mc = LLVMBuildSub(F->b, lw_min(F, x->m, add(F, y.ic, w)), y.ic, "");
  lw_stepped_loop(F, lw_idx(F->L, 0), y.mc, b->mr, sum_row_tile, &y);
  x->sk = NULL;
  x->F = caller;
}

/* body(F, t, x) for each thread t of the product, on the team. */
static void team(lw_fn *F, contr *x, lw_body_fn body)
{
  LLVMValueRef T = lw_idx(F->L, x->b->threads);
  lw_parallel_loop(F, x->b->threads, lw_idx(F->L, 0), T, 1, body, x);
}

void lw_contraction(lw_fn *F, int ci)
{
  const sched_contraction *c = &F->pf->contr[ci];
  const sched_blocks *b = &F->pf->blocks[ci];
  const ir_stmt *s = F->f->stmts[c->stmt];
  if (!F->pack || b->mr < 1 || b->nr < 1 || b->vw < 1 || b->nr % b->vw) {
    lw_fail(F, "a contraction's blocks the micro-kernel cannot take");
    return;
  }
  contr x = {.F = F, .c = c, .b = b, .s = s, .ci = ci};
  F->stmt = s;
  x.m = extent(F, s, c->rows, c->n_rows), x.n = extent(F, s, c->cols, c->n_cols);
  x.k = extent(F, s, c->depth, c->n_depth), x.nb = extent(F, s, c->batch, c->n_batch);
  x.rs = stride(F, s->tensor, lhs_pos(s, c->i)), x.cs = stride(F, s->tensor, lhs_pos(s, c->j));
  x.apk = lw_prepacked(F, ci, 0), x.bpk = lw_prepacked(F, ci, 1);
  x.bpos = x.bpk ? -1 : emit_b_in_place_pos(F->f, c, b); /* this backend shares no B panel */
  if (x.bpos >= 0)
    x.ldb = stride(F, c->b->tensor, x.bpos);
  x.ukr = lw_ukernel(F->L, b, x.bpos >= 0, &x.ukr_ty);
  if (b->threads > 1 && splits_depth(F, ci)) {
    team(F, &x, split_partial);
    team(F, &x, split_sums);
  } else if (b->threads > 1) {
    team(F, &x, thread_share);
  } else {
    whole(F, &x);
    thread_buffers(F, &x, NULL);
    lw_counted_loop(F, lw_idx(F->L, 0), x.nb, batch, &x);
  }
  lw_unbind(F, s);
}
