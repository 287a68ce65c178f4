/* llvm_window.c: stride-1 depthwise windows on the LLVM backend as the C
 * path's masked plane kernel (emit_window.c, emit_window_masked): where the
 * plan has 64-byte vectors and the input plane is the output's size, each
 * (batch, channel), spread over the threads, sums its taps over the
 * flattened output plane in 16-lane vectors, each tap a masked load of the
 * input plane at the tap's flat offset (the lanes whose read lies outside
 * the input masked off), into local sums; then one pass over the plane
 * applies the pointwise statements after the taps (bias, batch
 * normalisation, activation: reads of the kernel's own tensors are the
 * element's values) and stores the tensors read after the kernel. On planes
 * of at most WIN_MASKED_FLOATS outputs whose rows are no whole number of
 * vectors (7x7, 14x14, 28x28) the masks are known when the code is built
 * and the vectors unrolled; on others (112x112, 56x56) each vector's masks
 * come from its lanes' rows and columns when run, LW_WIN_CHUNK vectors at a
 * time. Isl's loops, which such kernels otherwise run as, read each row's
 * few columns with scalar remainders and border cases.
 *
 * Strided depthwise windows over small planes are summed per output row
 * from masked loads of every s-th input float (strided_vector below).
 *
 * Float windows only; a window the plan split in several kernels for isl
 * (a 7x7 window's 49 taps) is built by its first, the others build
 * nothing; a global pool after the window stays a kernel of its own (the C
 * path takes it into the window). */
#include "llvm_priv.h"

#include "emit_window.h"

typedef struct lwin {
  win_kernel k;
  LLVMValueRef n, c, base; /* the (batch, channel) and its plane's first element */
  LLVMValueRef xp, sums;   /* the input plane, the local sums (of the plane or a chunk) */
  LLVMValueRef e0, v0;     /* the chunk's first element and vector (run-time masks) */
  LLVMValueRef w[WIN_MAX_TAPS], kb;
  LLVMValueRef *val; /* per statement taps_end..end-1: its value at the element */
  LLVMValueRef sum;  /* the taps' sum at the element */
  int cur;           /* the pointwise statement being built */
  bool masked;       /* masks known when built (emit_window_masked), else run-time masks */
  int64_t sum_row;   /* strided windows: the sums' row length (whole vectors); 0: the sums are flat */
} lwin;

static LLVMValueRef idx(lw_fn *F, int64_t v)
{
  return lw_idx(F->L, v);
}

static bool all_float(const lw_fn *F, const win_kernel *k)
{
  if (F->f->tensors[k->x]->type != IR_F32)
    return false;
  for (int i = k->first; i < k->end; i++)
    if (F->f->tensors[F->f->stmts[i]->tensor]->type != IR_F32)
      return false;
  return true;
}

/* e of statement s at the (batch, channel), as a float. */
static LLVMValueRef channel_value(lw_fn *F, lwin *w, const ir_stmt *s, const ir_expr *e)
{
  F->iter[s->lhs[0]] = w->n;
  F->iter[s->lhs[1]] = w->c;
  F->stmt = s;
  LLVMValueRef v = lw_expr_as(F, e, IR_F32);
  lw_unbind(F, s);
  return v;
}

/* The start (or bias) of a vector of sums. */
static LLVMValueRef start_sum(lw_fn *F, const lwin *w)
{
  return w->kb ? lw_splat(F, w->kb, 16) : LLVMConstNull(LLVMVectorType(F->L->f32, 16));
}

/* acc plus tap t's term given the 16 inputs x it reads: x times its weight,
 * or x (a tap without one). */
static LLVMValueRef tap_term(lw_fn *F, const lwin *w, int t, LLVMValueRef x, LLVMValueRef acc)
{
  return w->k.tap[t].w ? lw_fmuladd(F, x, lw_splat(F, w->w[t], 16), acc, IR_F32) : LLVMBuildFAdd(F->b, acc, x, "");
}

/* acc plus tap t's term for the 16 outputs from flat output `first`: its
 * weight times the input at the tap's flat offset, the lanes of mask loaded
 * (NULL: all of them). */
static LLVMValueRef add_tap(lw_fn *F, const lwin *w, int t, LLVMValueRef first, LLVMValueRef mask, LLVMValueRef acc)
{
  const win_tap *tp = &w->k.tap[t];
  LLVMTypeRef vt = LLVMVectorType(F->L->f32, 16);
  LLVMValueRef at = lw_f32_at(F, w->xp, LLVMBuildAdd(F->b, first, idx(F, tp->off[0] * w->k.in[1] + tp->off[1]), ""));
  LLVMValueRef x;
  if (mask) {
    x = lw_masked_load(F, vt, at, mask, LLVMConstNull(vt));
  } else {
    x = LLVMBuildLoad2(F->b, vt, at, "");
    LLVMSetAlignment(x, 4);
  }
  return tap_term(F, w, t, x, acc);
}

static void store_sum(lw_fn *F, const lwin *w, LLVMValueRef at, LLVMValueRef acc)
{
  LLVMSetAlignment(LLVMBuildStore(F->b, acc, lw_f32_at(F, w->sums, at)), 4);
}

/* Vector v of the sums, its masks known (emit_window.c's
 * print_masked_group): a tap that reaches none of its lanes is left out. */
static void sum_vector(lw_fn *F, lwin *w, int64_t v)
{
  const win_kernel *k = &w->k;
  LLVMValueRef acc = start_sum(F, w);
  for (int t = 0; t < k->n_taps; t++) {
    unsigned m = emit_window_tap_mask(k, &k->tap[t], v);
    LLVMValueRef bits[16];
    for (int l = 0; l < 16; l++)
      bits[l] = LLVMConstInt(F->L->i1, (m >> l) & 1u, 0);
    if (m)
      acc = add_tap(F, w, t, idx(F, 16 * v), m == 0xffffu ? NULL : LLVMConstVector(bits, 16), acc);
  }
  store_sum(F, w, idx(F, 16 * v), acc);
}

/* The value of tensor t at the element before statement `before`: the last
 * pointwise statement writing it, else (the taps' tensor) the sum. */
static LLVMValueRef latest(const lwin *w, int t, int before)
{
  const win_kernel *k = &w->k;
  for (int i = before - 1; i >= k->taps_end; i--)
    if (k->f->stmts[i]->tensor == t)
      return w->val[i - k->taps_end];
  return t == k->y ? w->sum : NULL;
}

static LLVMValueRef own_read(lw_fn *F, const ir_expr *e, void *data)
{
  const lwin *w = data;
  (void)F;
  return emit_window_written(&w->k, e->tensor, w->k.end) ? latest(w, e->tensor, w->cur) : NULL;
}

/* Element e of the plane: the pointwise statements, then the stores. */
static void element(lw_fn *F, LLVMValueRef e, void *data)
{
  lwin *w = data;
  const win_kernel *k = &w->k;
  LLVMValueRef h = LLVMBuildUDiv(F->b, e, idx(F, k->dim[3]), ""), col = LLVMBuildURem(F->b, e, idx(F, k->dim[3]), "");
  LLVMValueRef si = w->sum_row ? LLVMBuildAdd(F->b, LLVMBuildMul(F->b, h, idx(F, w->sum_row), ""), col, "")
                               : LLVMBuildSub(F->b, e, w->e0, "");
  LLVMValueRef s = LLVMBuildLoad2(F->b, F->L->f32, lw_f32_at(F, w->sums, si), "");
  lw_parallel_access(F, s);
  w->sum = s;
  for (w->cur = k->taps_end; w->cur < k->end; w->cur++) {
    const ir_stmt *st = F->f->stmts[w->cur];
    LLVMValueRef at[4] = {w->n, w->c, h, col};
    for (int d = 0; d < 4; d++)
      F->iter[st->lhs[d]] = at[d];
    F->stmt = st;
    F->read_hook = own_read;
    F->read_data = w;
    w->val[w->cur - k->taps_end] = lw_expr_as(F, st->rhs, IR_F32);
    F->read_hook = NULL;
    lw_unbind(F, st);
  }
  LLVMValueRef off = LLVMBuildAdd(F->b, w->base, e, "");
  for (int i = k->first; i < k->end; i++) {
    int t = F->f->stmts[i]->tensor;
    if (emit_window_written(k, t, i) || !emit_window_stored(k, t))
      continue;
    lw_store(F, t, lw_f32_at(F, F->tensor[t], off), latest(w, t, k->end));
  }
}

/* Windows past the masked plan's planes (more than WIN_MASKED_FLOATS
 * outputs, or rows of whole vectors: MobileNetV2's 112x112 and 56x56) at
 * stride 1 over an input plane of the output's size: the same sums, their
 * masks computed when run from each lane's row and column, a chunk of
 * LW_WIN_CHUNK vectors at a time (the sums of a chunk in a local of 4 KiB,
 * then the chunk's elements). */
#define LW_WIN_CHUNK 64

/* A sum of depthwise taps (not a max) in the plane kernel, on a plan with
 * 64-byte vectors: what the run-time masks and the strided sums build. */
static bool vector_sums(const lw_fn *F, const win_kernel *k)
{
  return k->plane && F->pf->sched.vectorize && F->pf->sched.vector_bytes >= 64 && k->red == IR_RED_ADD;
}

static bool runtime_masks(const lw_fn *F, const win_kernel *k)
{
  return vector_sums(F, k) && k->str[0] == 1 && k->str[1] == 1 && k->in[0] == k->dim[2] && k->in[1] == k->dim[3];
}

static LLVMValueRef const_i32(lw_fn *F, int64_t v)
{
  LLVMValueRef c[16];
  for (int l = 0; l < 16; l++)
    c[l] = LLVMConstInt(F->L->i32, (unsigned long long)v, 1);
  return LLVMConstVector(c, 16);
}

/* lanes of (rows or columns) at or past lo and before hi; trivially true
 * bounds left out. */
static LLVMValueRef inside(lw_fn *F, LLVMValueRef m, LLVMValueRef at, int64_t lo, int64_t hi, int64_t n)
{
  if (lo > 0)
    m = LLVMBuildAnd(F->b, m, LLVMBuildICmp(F->b, LLVMIntSGE, at, const_i32(F, lo), ""), "");
  if (hi < n)
    m = LLVMBuildAnd(F->b, m, LLVMBuildICmp(F->b, LLVMIntSLT, at, const_i32(F, hi), ""), "");
  return m;
}

static void runtime_vector(lw_fn *F, LLVMValueRef v, void *data)
{
  lwin *w = data;
  const win_kernel *k = &w->k;
  LLVMValueRef iota[16];
  for (int l = 0; l < 16; l++)
    iota[l] = LLVMConstInt(F->L->i32, (unsigned)l, 0);
  LLVMValueRef first = LLVMBuildMul(F->b, v, idx(F, 16), "");
  LLVMValueRef q = LLVMBuildAdd(F->b, lw_splat(F, LLVMBuildTrunc(F->b, first, F->L->i32, ""), 16), LLVMConstVector(iota, 16), "");
  LLVMValueRef y = LLVMBuildUDiv(F->b, q, const_i32(F, k->dim[3]), ""), x = LLVMBuildURem(F->b, q, const_i32(F, k->dim[3]), "");
  LLVMValueRef in_plane = LLVMBuildICmp(F->b, LLVMIntSLT, q, const_i32(F, k->dim[2] * k->dim[3]), "");
  LLVMValueRef acc = start_sum(F, w);
  for (int t = 0; t < k->n_taps; t++) {
    const win_tap *tp = &k->tap[t];
    LLVMValueRef m = inside(F, inside(F, in_plane, y, tp->lo[0], tp->hi[0], k->dim[2]), x, tp->lo[1], tp->hi[1], k->dim[3]);
    acc = add_tap(F, w, t, first, m, acc);
  }
  store_sum(F, w, LLVMBuildMul(F->b, LLVMBuildSub(F->b, v, w->v0, ""), idx(F, 16), ""), acc);
}

static void runtime_chunk(lw_fn *F, LLVMValueRef v0, void *data)
{
  lwin *w = data;
  int64_t plane = w->k.dim[2] * w->k.dim[3], nv = (plane + 15) / 16;
  w->v0 = v0;
  w->e0 = LLVMBuildMul(F->b, v0, idx(F, 16), "");
  LLVMValueRef v1 = lw_min(F, LLVMBuildAdd(F->b, v0, idx(F, LW_WIN_CHUNK), ""), idx(F, nv));
  lw_counted_loop(F, v0, v1, runtime_vector, w);
  F->simd_next = true;
  lw_counted_loop(F, w->e0, lw_min(F, LLVMBuildMul(F->b, v1, idx(F, 16), ""), idx(F, plane)), element, w);
}

/* Windows of stride 2 to 4 (MobileNetV2's and EfficientNet-B0's
 * downsampling depthwise windows) whose output plane's sums fit
 * LW_WIN_STRIDED_FLOATS: per output row, per vector of 16 outputs along
 * it, each tap one masked load of the 16 s input floats its lanes read
 * every s-th of (only those lanes on: nothing outside the input is read)
 * and a shuffle keeping them; the tap's rows outside the input turn the
 * whole mask off. Isl's loops read such taps with gathers and scalar
 * remainders, one pass over the output per tap. */
#define LW_WIN_STRIDED_FLOATS 4096

static int64_t strided_row(const win_kernel *k)
{
  return (k->dim[3] + 15) / 16 * 16;
}

static bool strided(const lw_fn *F, const win_kernel *k)
{
  return vector_sums(F, k) && k->str[0] == k->str[1] && k->str[0] >= 2 && k->str[0] <= WIN_MAX_STRIDE &&
         k->dim[2] * strided_row(k) <= LW_WIN_STRIDED_FLOATS;
}

/* Row y's vector of outputs x0..x0+15. */
static void strided_vector(lw_fn *F, lwin *w, LLVMValueRef y, int64_t x0)
{
  const win_kernel *k = &w->k;
  int64_t s = k->str[0];
  unsigned wide = (unsigned)(16 * s);
  LLVMTypeRef wt = LLVMVectorType(F->L->f32, wide), mt = LLVMVectorType(F->L->i1, 16);
  LLVMValueRef spread[64], take[16];
  for (unsigned j = 0; j < wide; j++)
    spread[j] = LLVMConstInt(F->L->i32, j % (unsigned)s ? 16 : j / (unsigned)s, 0);
  for (unsigned l = 0; l < 16; l++)
    take[l] = LLVMConstInt(F->L->i32, l * (unsigned)s, 0);
  LLVMValueRef acc = start_sum(F, w);
  for (int t = 0; t < k->n_taps; t++) {
    const win_tap *tp = &k->tap[t];
    LLVMValueRef bits[16];
    bool any = false;
    for (int64_t l = 0; l < 16; l++) {
      bool on = x0 + l < k->dim[3] && x0 + l >= tp->lo[1] && x0 + l < tp->hi[1];
      bits[l] = LLVMConstInt(F->L->i1, on, 0);
      any |= on;
    }
    if (!any)
      continue;
    LLVMValueRef rows = LLVMBuildAnd(F->b, LLVMBuildICmp(F->b, LLVMIntSGE, y, idx(F, tp->lo[0]), ""),
                                     LLVMBuildICmp(F->b, LLVMIntSLT, y, idx(F, tp->hi[0]), ""), "");
    LLVMValueRef m = LLVMBuildSelect(F->b, rows, LLVMConstVector(bits, 16), LLVMConstNull(mt), "");
    LLVMValueRef wm = LLVMBuildShuffleVector(F->b, m, LLVMConstNull(mt), LLVMConstVector(spread, wide), "");
    LLVMValueRef row = LLVMBuildAdd(F->b, LLVMBuildMul(F->b, y, idx(F, s), ""), idx(F, tp->off[0]), "");
    LLVMValueRef at = LLVMBuildAdd(F->b, LLVMBuildMul(F->b, row, idx(F, k->in[1]), ""), idx(F, s * x0 + tp->off[1]), "");
    LLVMValueRef x = lw_masked_load(F, wt, lw_f32_at(F, w->xp, at), wm, LLVMConstNull(wt));
    acc = tap_term(F, w, t, LLVMBuildShuffleVector(F->b, x, LLVMGetUndef(wt), LLVMConstVector(take, 16), ""), acc);
  }
  store_sum(F, w, LLVMBuildAdd(F->b, LLVMBuildMul(F->b, y, idx(F, w->sum_row), ""), idx(F, x0), ""), acc);
}

static void strided_row_sums(lw_fn *F, LLVMValueRef y, void *data)
{
  lwin *w = data;
  for (int64_t x0 = 0; x0 < w->k.dim[3]; x0 += 16)
    strided_vector(F, w, y, x0);
}

/* The local sums: floats of them, 64-byte aligned, in the entry block. */
static LLVMValueRef local_sums(lw_fn *F, int64_t floats, const char *name)
{
  LLVMValueRef a = lw_entry_alloca(F, LLVMArrayType(F->L->f32, (unsigned)floats), name);
  LLVMSetAlignment(a, 64);
  return a;
}

static void channel(lw_fn *F, LLVMValueRef q, void *data)
{
  lwin *w = data;
  const win_kernel *k = &w->k;
  const ir_tensor *X = F->f->tensors[k->x];
  int64_t plane = k->dim[2] * k->dim[3], nv = (plane + 15) / 16;
  w->n = LLVMBuildUDiv(F->b, q, idx(F, k->dim[1]), "");
  w->c = LLVMBuildURem(F->b, q, idx(F, k->dim[1]), "");
  w->base = LLVMBuildMul(F->b, q, idx(F, plane), "");
  int64_t xc, xh, xw;
  if (X->rank != 4 || !ir_size_is_const(X->shape[1], &xc) || !ir_size_is_const(X->shape[2], &xh) ||
      !ir_size_is_const(X->shape[3], &xw)) {
    lw_fail(F, "a window's input of unknown size");
    return;
  }
  LLVMValueRef xq = LLVMBuildAdd(F->b, LLVMBuildMul(F->b, w->n, idx(F, xc), ""), w->c, "");
  w->xp = lw_f32_at(F, F->tensor[k->x], LLVMBuildMul(F->b, xq, idx(F, xh * xw), ""));
  for (int t = 0; t < k->n_taps; t++)
    w->w[t] = k->tap[t].w ? channel_value(F, w, k->tap[t].s, k->tap[t].w) : NULL;
  const ir_stmt *s0 = F->f->stmts[k->first];
  w->kb = k->start || k->add ? channel_value(F, w, s0, k->start ? k->start : k->add) : NULL;
  if (w->sum_row) {
    w->sums = local_sums(F, k->dim[2] * w->sum_row, "window_strided_sums");
    lw_counted_loop(F, idx(F, 0), idx(F, k->dim[2]), strided_row_sums, w);
    F->simd_next = true;
    lw_counted_loop(F, idx(F, 0), idx(F, plane), element, w);
    return;
  }
  if (!w->masked) {
    w->sums = local_sums(F, LW_WIN_CHUNK * 16, "window_sums");
    lw_stepped_loop(F, idx(F, 0), idx(F, nv), LW_WIN_CHUNK, runtime_chunk, w);
    return;
  }
  w->sums = local_sums(F, nv * 16, "window_sums");
  w->e0 = idx(F, 0);
  for (int64_t v = 0; v < nv; v++)
    sum_vector(F, w, v);
  F->simd_next = true;
  lw_counted_loop(F, idx(F, 0), idx(F, plane), element, w);
}

static bool masked_window(lw_fn *F, int kernel, win_kernel *k)
{
  return emit_window_recognise(F->f, F->pf, &F->pf->kernels[kernel], false, k) &&
         (emit_window_masked(F->pf, k) || runtime_masks(F, k) || strided(F, k)) && all_float(F, k);
}

/* The first kernel of kernel i's partition (the plan splits a window of
 * many taps in several kernels for isl; the window takes them all). */
static int partition_start(const lw_fn *F, int i)
{
  const int *part = F->f->stmt_kernel;
  while (part && i > 0 && part[F->pf->kernels[i - 1].first] == part[F->pf->kernels[i].first])
    i--;
  return i;
}

bool lw_window(lw_fn *F, int kernel)
{
  const emit_kernel *ek = &F->pf->kernels[kernel];
  lwin w = {0};
  int start = partition_start(F, kernel);
  if (start < kernel) /* built with the window an earlier kernel opens */
    return masked_window(F, start, &w.k) && w.k.end >= ek->end;
  if (!masked_window(F, kernel, &w.k))
    return false;
  w.masked = emit_window_masked(F->pf, &w.k);
  w.sum_row = !w.masked && !runtime_masks(F, &w.k) ? strided_row(&w.k) : 0;
  w.k.pool_end = w.k.end;
  w.val = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, w.k.end - w.k.taps_end + 1);
  if (!w.val)
    return false;
  int th = F->pf->sched.threads;
  if (F->pf->heuristic)
    th = sched_kernel_threads(F->f, w.k.first, w.k.end, th);
  lw_parallel_loop(F, th, idx(F, 0), idx(F, w.k.dim[0] * w.k.dim[1]), 1, channel, &w);
  return true;
}
