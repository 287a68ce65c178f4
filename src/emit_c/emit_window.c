/* emit_window.c: small 2-D windows (depthwise convolutions, max and average
 * pooling) as row kernels in C.
 *
 * window_taps.c lowers a window to one statement per kernel tap over the
 * outputs the tap reaches, and the pointwise statements after it (bias,
 * batch normalisation, activations, the pool's division) fall into the same
 * kernel. Printed by isl's loops that is one pass over the output plane per
 * tap. Here such a kernel is recognised from its statements and printed as:
 * for each (batch, channel), spread over the threads, the weights in
 * locals; for each output row, a local row accumulator set by the first
 * statement; for each row of taps whose input row exists, that input row
 * split once into its stride's phases (so that every read is unit-stride),
 * the columns where every tap of the row reads inside the input in one loop
 * (the taps' terms added in order, one store) and the few others per tap;
 * then the pointwise statements on the row and one store of every tensor
 * read outside the kernel. Column ranges come from the statements' boxes,
 * so no element tests padding. Outputs narrower than WIN_MIN_WIDTH keep
 * the per-tap loops (measured on MobileNetV2: at 14 and 7 columns the row
 * kernel's per-row work costs more than the passes it saves; at 28 they
 * break even, at 56 and 112 it takes 0.6-0.8 of the time), and so do
 * pools (ResNet-18's stride-2 max pool measured 0.63 ms per tap against
 * 0.75 ms here: a maximum per element leaves the phase copies nothing to
 * hide behind). C backend on CPUs only (the LLVM backend and CUDA keep the
 * per-tap loops); AOTC_WINDOW=0 turns it off, AOTC_WINDOW=1 takes every
 * window of every width.
 *
 * Where the code has vectors, the same kernels print as the plane kernel
 * instead: for each (batch, channel), strips of output rows; per strip the
 * input rows it reads copied once into padded planes, one per phase of the
 * stride (plane (a, b) holds input (y * s + a + omin, x * s + b + omin), so
 * that every tap reads a plane at unit stride: no gathers at stride 2),
 * zeros (-inf under max) outside the input; then the taps summed over the
 * flattened planes (q = row * q1 + column, the columns past the output's
 * being sums nobody reads) in passes of four output rows, each pass in
 * whole vectors (WIN_VECTOR_BYTES; 64 bytes over wide rows, wide_rows):
 * explicit GCC vectors where the target has them (a weight
 * loaded once a pass, a plane vector once for the taps of the pass that
 * read it), else an omp simd loop; then per row the pointwise statements
 * and the stores, as in the row kernel (on narrow outputs, the pointwise
 * statements first in one flat pass over the strip's sums, in whole
 * vectors, then per row the stores; on outputs whose rows are whole
 * vectors, each pass's rows end where they are summed: the pass's vectors
 * go to a vector's worth of locals per row, then through the pointwise
 * statements to the output, so no pass reads a strip of sums back:
 * MobileNetV2's stride-1 windows at 112 and 56 columns, 1 thread,
 * 0.14-0.17 to 0.12-0.14 ms, its stride-2 window 0.26-0.33 to 0.23-0.28
 * ms; fused_plan). No column ranges, no scalar tails
 * (measured on MobileNetV2's and ConvNeXt's depthwise windows alone: 0.3-0.6
 * of the row kernel's and the per-tap loops' time, at every width from 7 to
 * 112). It needs every tap's box to be exactly the outputs whose read lies
 * inside the input (true of padding), and takes depthwise windows of every
 * width; AOTC_WINDOW=rows keeps the row kernel.
 *
 * Where the C has AVX-512, a stride-1 window over a small plane whose rows
 * are no whole number of vectors (7, 14, 28 columns) skips the padded
 * planes: its sums run flat over the output plane in 16-lane vectors, each
 * tap a masked load of the input itself (emit_window_masked); the padded planes
 * stay under #else for other compilers and flags.
 *
 * A global average pool of the window's output right after it (the squeeze
 * of an SE block: the `+=!` sum over the plane and the division, one kernel
 * of the partition) is taken into either kernel: each (batch, channel) sums
 * its plane once it is stored, while it is in cache, and stores the pooled
 * value; the pool's own pass, which read the plane back row by row, goes. */
#include "emit_window.h"

#include <isl/id.h>
#include <stdlib.h>
#include <string.h>

#define WIN_MAX_ROW 8192
#define WIN_MIN_WIDTH 24
#define WIN_STRIP_FLOATS 8192 /* a strip's planes and sums: 32 KiB of stack */
#define WIN_PASS_ROWS 4       /* output rows of one pass of the plane kernel's sums */
#define WIN_SPLIT_TAPS 16     /* windows of this many taps sum in two chains */
#define WIN_FLAT_WIDTH 32     /* outputs narrower than this run their pointwise statements flat over the strip */
#define WIN_FLAT_ROUND 16     /* over a whole plane, in whole 64-byte vectors (MobileNetV2's 7x7 windows of 960
                                 channels: 0.042-0.044 to 0.038-0.040 ms each, the 63 sums' scalar tail gone) */
#define WIN_VECTOR_BYTES 32   /* the plane kernel's widest vector: of 64-byte loads at every column
                                 15 in 16 cross a cache line (measured on a 7x7 window: 0.53 ms
                                 against 0.68 at 64 bytes, 0.10 against 0.17 on 7x7 planes) */
#define WIN_WIDE_TAPS 9       /* but a window of at most 9 taps over rows of at least WIN_WIDE_MIN */
#define WIN_WIDE_MIN 64       /* outputs, a multiple of 16, takes 64-byte vectors (MobileNetV2's
                                 3x3 at 112x112: 0.120 ms against 0.141), as do some others (wide_rows) */
#define WIN_PREFETCH_BYTES (32 << 20) /* a plane kernel's input past this (a last-level cache) prefetches
                                         the next plane's rows as it copies this one's (next_plane) */
#define WIN_ROW_VEC_COLS 64     /* plane rows at stride 2 up to this many columns fill from registers (plane_row_vec) */
#define WIN_MASKED_FLOATS 1024 /* stride-1 planes of at most this many floats sum by masked loads (emit_window_masked), */
#define WIN_MASKED_GROUP 16    /* this many vectors at a time, */
#define WIN_MASKED_LOADS 512   /* at most this many loads (vectors x taps): each its own instruction, where a
                                  7x7 window over 28x28 (2401, ConvNeXt-Tiny) ran at 1.5x the padded planes'
                                  time, out of the instruction cache; over 14x14 (637) no faster */


/* ------------------------------------------------------------------------
 * Recognition
 * ------------------------------------------------------------------------ */

static int64_t round_up(int64_t v, int64_t m)
{
  return (v + m - 1) / m * m;
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bool const_dims(const ir_tensor *T, int64_t *dim)
{
  if (T->rank != 4 || T->type != IR_F32)
    return false;
  for (int j = 0; j < 4; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &dim[j]) || dim[j] <= 0 || dim[j] > WIN_MAX_ROW)
      return false;
  return true;
}

/* Whether s is plain over four index variables, all of them on its left. */
static bool plain4(const ir_stmt *s)
{
  return ir_stmt_is_plain(s) && s->n_lhs == 4 && s->n_index == 4 && !s->init;
}

/* The constant range of s's left-hand dimension d. */
static bool range_of(const ir_stmt *s, int d, int64_t *lo, int64_t *hi)
{
  const ir_index *x = &s->index[s->lhs[d]];
  return ir_size_is_const(x->lo, lo) && ir_size_is_const(x->hi, hi);
}

/* Whether s runs over the whole of dim[0..3]. */
static bool full_box(const ir_stmt *s, const int64_t *dim)
{
  int64_t lo, hi;
  for (int d = 0; d < 4; d++)
    if (!range_of(s, d, &lo, &hi) || lo != 0 || hi != dim[d])
      return false;
  return true;
}

static bool is_index(const ir_expr *e, int x)
{
  return e->kind == IR_INDEX && e->index == x;
}

/* e as x * *str + *off. */
static bool affine_of(const ir_expr *e, int x, int64_t *str, int64_t *off)
{
  *str = 1;
  *off = 0;
  if (e->kind == IR_BINARY && (e->op == IR_ADD || e->op == IR_SUB) && e->args[1]->kind == IR_CONST_INT) {
    *off = e->op == IR_ADD ? e->args[1]->ival : -e->args[1]->ival;
    e = e->args[0];
  }
  if (e->kind == IR_BINARY && e->op == IR_MUL && e->args[1]->kind == IR_CONST_INT) {
    *str = e->args[1]->ival;
    e = e->args[0];
  } else if (e->kind == IR_BINARY && e->op == IR_MUL && e->args[0]->kind == IR_CONST_INT) {
    *str = e->args[0]->ival;
    e = e->args[1];
  }
  return is_index(e, x) && *str >= 1 && *str <= WIN_MAX_STRIDE;
}

/* Whether subscript e of dimension d is s's own index there (or 0 where
 * the dimension has one element). */
static bool own_subscript(const ir_stmt *s, const ir_expr *e, int d)
{
  int64_t lo, hi;
  return is_index(e, s->lhs[d]) ||
         (e->kind == IR_CONST_INT && e->ival == 0 && range_of(s, d, &lo, &hi) && lo == 0 && hi == 1);
}

/* Whether e is a read x(n, c, h * s + a, w * s + b) of s (any x). */
static bool is_tap_read(const ir_stmt *s, const ir_expr *e)
{
  int64_t str, off;
  return e->kind == IR_ACCESS && !e->padded && e->n_args == 4 && own_subscript(s, e->args[0], 0) &&
         own_subscript(s, e->args[1], 1) && affine_of(e->args[2], s->lhs[2], &str, &off) &&
         affine_of(e->args[3], s->lhs[3], &str, &off);
}

bool emit_window_written(const win_kernel *k, int t, int end)
{
  for (int i = k->first; i < end; i++)
    if (k->f->stmts[i]->tensor == t)
      return true;
  return false;
}

/* Whether no subscript of e reads data. */
static bool plain_subscripts(const ir_expr *e)
{
  for (int j = 0; j < e->n_args; j++)
    if ((e->kind == IR_ACCESS && emit_checks_reads_data(e->args[j])) || !plain_subscripts(e->args[j]))
      return false;
  return true;
}

/* Whether e is a value of the (batch, channel) alone: a weight, a bias. */
static bool channel_value(const win_kernel *k, const ir_stmt *s, const ir_expr *e)
{
  for (int t = 0; t < k->f->n_tensors; t++)
    if (ir_expr_reads(e, t) && emit_window_written(k, t, k->end))
      return false;
  return !ir_expr_uses_index(e, s->lhs[2]) && !ir_expr_uses_index(e, s->lhs[3]) && plain_subscripts(e);
}

/* rhs as read [* factor] [+ add] (add only where add is not NULL). */
static bool tap_parts(const win_kernel *k, const ir_stmt *s, const ir_expr *rhs, const ir_expr **read,
                      const ir_expr **w, const ir_expr **add)
{
  *w = NULL;
  if (add && rhs->kind == IR_BINARY && rhs->op == IR_ADD && channel_value(k, s, rhs->args[1])) {
    *add = rhs->args[1];
    rhs = rhs->args[0];
  }
  if (rhs->kind == IR_BINARY && rhs->op == IR_MUL && is_tap_read(s, rhs->args[0]) &&
      channel_value(k, s, rhs->args[1])) {
    *w = rhs->args[1];
    rhs = rhs->args[0];
  } else if (rhs->kind == IR_BINARY && rhs->op == IR_MUL && is_tap_read(s, rhs->args[1]) &&
             channel_value(k, s, rhs->args[0])) {
    *w = rhs->args[0];
    rhs = rhs->args[1];
  }
  *read = rhs;
  return is_tap_read(s, rhs);
}

/* Whether the tap reads inside the input for every output of its box. */
static bool tap_inside(const win_kernel *k, const win_tap *t)
{
  for (int i = 0; i < 2; i++)
    if (t->lo[i] < 0 || t->hi[i] > k->dim[2 + i] || t->lo[i] >= t->hi[i] ||
        t->lo[i] * k->str[i] + t->off[i] < 0 || (t->hi[i] - 1) * k->str[i] + t->off[i] >= k->in[i])
      return false;
  return true;
}

/* Tap t from statement s reading rd; the first fixes x and the strides. */
static bool add_tap(win_kernel *k, const ir_stmt *s, const ir_expr *rd, const ir_expr *w)
{
  int64_t d[4], lo, hi, str[2];
  if (k->n_taps == WIN_MAX_TAPS || (k->x >= 0 && rd->tensor != k->x) || !const_dims(k->f->tensors[rd->tensor], d))
    return false;
  win_tap *t = &k->tap[k->n_taps++];
  *t = (win_tap){.s = s, .w = w};
  for (int i = 0; i < 2; i++) {
    if (!affine_of(rd->args[2 + i], s->lhs[2 + i], &str[i], &t->off[i]) || !range_of(s, 2 + i, &t->lo[i], &t->hi[i]) ||
        (k->x >= 0 && str[i] != k->str[i]))
      return false;
    k->str[i] = str[i];
    k->in[i] = d[2 + i];
  }
  for (int dd = 0; dd < 2; dd++)
    if (!range_of(s, dd, &lo, &hi) || lo != 0 || hi != k->dim[dd] || d[dd] != k->dim[dd])
      return false;
  k->x = rd->tensor;
  return tap_inside(k, t);
}

/* The first statement: a tap (plus a bias) over every output, or a start
 * value of the channel alone. */
static bool first_stmt(win_kernel *k, const ir_stmt *s)
{
  const ir_expr *rd, *w;
  if (!plain4(s) || s->red != IR_RED_NONE || !const_dims(k->f->tensors[s->tensor], k->dim) ||
      !full_box(s, k->dim))
    return false;
  k->y = s->tensor;
  if (channel_value(k, s, s->rhs)) {
    k->start = s->rhs;
    return true;
  }
  return tap_parts(k, s, s->rhs, &rd, &w, &k->add) && add_tap(k, s, rd, w);
}

/* The taps after the first statement, up to the first other statement. */
static bool more_taps(win_kernel *k)
{
  const ir_expr *rd, *w;
  k->taps_end = k->first + 1;
  for (int i = k->first + 1; i < k->end; i++, k->taps_end = i) {
    const ir_stmt *s = k->f->stmts[i];
    if (!plain4(s) || s->tensor != k->y || (s->red != IR_RED_ADD && s->red != IR_RED_MAX))
      break;
    if ((k->red != IR_RED_NONE && s->red != k->red) || !tap_parts(k, s, s->rhs, &rd, &w, NULL) ||
        (w && s->red != IR_RED_ADD) || !add_tap(k, s, rd, w))
      return false;
    k->red = s->red;
  }
  return k->red != IR_RED_NONE;
}

/* Whether every read in e of a tensor the kernel writes is at s's own
 * point, written by an earlier statement of the kernel. */
static bool reads_ok(const win_kernel *k, const ir_stmt *s, int i, const ir_expr *e)
{
  if (e->kind == IR_ACCESS && emit_window_written(k, e->tensor, k->end)) {
    if (e->padded || e->n_args != 4 || !emit_window_written(k, e->tensor, i))
      return false;
    for (int d = 0; d < 4; d++)
      if (!own_subscript(s, e->args[d], d))
        return false;
    return true;
  }
  if (e->kind == IR_ACCESS && !plain_subscripts(e))
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!reads_ok(k, s, i, e->args[j]))
      return false;
  return true;
}

/* The pointwise statements after the taps: over the taps' whole box, in
 * tensors of its shape. */
static bool pointwise_stmts(const win_kernel *k)
{
  int64_t d[4];
  for (int i = k->taps_end; i < k->end; i++) {
    const ir_stmt *s = k->f->stmts[i];
    if (!plain4(s) || s->red != IR_RED_NONE || !const_dims(k->f->tensors[s->tensor], d) ||
        memcmp(d, k->dim, sizeof(d)) || !full_box(s, k->dim) || s->tensor == k->x || !reads_ok(k, s, i, s->rhs))
      return false;
  }
  return true;
}

/* Groups of taps by input row: the first statement's first. */
static void group_taps(win_kernel *k)
{
  k->n_groups = 0;
  for (int a = 0; a < k->n_taps; a++) {
    win_tap *t = &k->tap[a];
    t->group = -1;
    for (int b = 0; b < a && t->group < 0; b++)
      if (k->tap[b].off[0] == t->off[0] && k->tap[b].lo[0] == t->lo[0] && k->tap[b].hi[0] == t->hi[0])
        t->group = k->tap[b].group;
    if (t->group < 0)
      t->group = k->n_groups++;
  }
}

/* ------------------------------------------------------------------------
 * The plane kernel's plan
 * ------------------------------------------------------------------------ */

/* Whether tap t's box is every output whose read lies inside the input, so
 * that a padded plane (zeros, or -inf under max) reads right everywhere. */
static bool tap_box_exact(const win_kernel *k, const win_tap *t)
{
  for (int d = 0; d < 2; d++) {
    int64_t s = k->str[d], lo = -floor_div(t->off[d], s), hi = floor_div(k->in[d] - 1 - t->off[d], s) + 1;
    lo = lo > 0 ? lo : 0;
    hi = hi < k->dim[2 + d] ? hi : k->dim[2 + d];
    if (lo != t->lo[d] || hi != t->hi[d])
      return false;
  }
  return true;
}

/* Tap t's shift in planes along dimension d, and its phase. */
static int64_t tap_shift(const win_kernel *k, const win_tap *t, int d)
{
  return (t->off[d] - k->omin[d]) / k->str[d];
}

static int64_t tap_phase(const win_kernel *k, const win_tap *t, int d)
{
  return (t->off[d] - k->omin[d]) % k->str[d];
}

/* The offsets, shifts and phases of the taps. */
static bool plane_shape(win_kernel *k)
{
  for (int d = 0; d < 2; d++) {
    k->omin[d] = k->tap[0].off[d];
    k->umax[d] = 0;
    for (int t = 0; t < k->n_taps; t++)
      k->omin[d] = k->tap[t].off[d] < k->omin[d] ? k->tap[t].off[d] : k->omin[d];
  }
  memset(k->phase, 0, sizeof(k->phase));
  k->n_phases = 0;
  for (int t = 0; t < k->n_taps; t++) {
    const win_tap *tp = &k->tap[t];
    if (!tap_box_exact(k, tp))
      return false;
    for (int d = 0; d < 2; d++)
      k->umax[d] = tap_shift(k, tp, d) > k->umax[d] ? tap_shift(k, tp, d) : k->umax[d];
    bool *ph = &k->phase[tap_phase(k, tp, 0)][tap_phase(k, tp, 1)];
    k->n_phases += !*ph;
    *ph = true;
  }
  return true;
}

/* Whether rows of w outputs of a window of n taps sum in 64-byte vectors:
 * a multiple of 16 from WIN_WIDE_MIN, at most WIN_WIDE_TAPS taps; or no
 * multiple of 8, in fewer 64-byte vectors than twice the 32-byte ones,
 * any window (1 thread, best of several rounds: MobileNetV2's 3x3 over 28
 * columns 0.059 to 0.050 ms, over 14 columns 0.031 to 0.025 and 0.047 to
 * 0.037; EfficientNet-B0's 5x5 0.149-0.206 to 0.098-0.133, the model 8.7
 * to 8.0 ms; ConvNeXt-Tiny's 7x7 over 28 columns 0.255 to 0.164, over 14
 * 0.148 to 0.077). A multiple of 8 stays in whole 32-byte vectors (56
 * columns at stride 2: 0.20 ms, 0.23 in 64-byte ones, which no longer end
 * the passes in registers). */
static bool wide_rows(int64_t w, int n)
{
  if (w % 16 == 0)
    return w >= WIN_WIDE_MIN && n <= WIN_WIDE_TAPS;
  return w % 8 != 0 && round_up(w, 16) < 2 * round_up(w, 8);
}

/* The plane kernel where the code has vectors (not on cortex-m4, whose
 * stack is small: the row kernel there) and a strip of one output row fits
 * WIN_STRIP_FLOATS: a plane per phase of (strip + umax[0]) rows of q1
 * floats and a vector, and the sums (strip rows of q1 and a vector); the
 * strip a multiple of the rows of a pass. */
static bool plane_plan(const emit_plan_fn *pf, win_kernel *k)
{
  if (!pf->sched.vectorize || pf->sched.vector_bytes <= 4 || !plane_shape(k))
    return false;
  k->q1 = k->dim[3] + k->umax[1];
  k->lanes = (pf->sched.vector_bytes < WIN_VECTOR_BYTES ? pf->sched.vector_bytes : WIN_VECTOR_BYTES) / 4;
  if (pf->sched.vector_bytes >= 64 && wide_rows(k->dim[3], k->n_taps))
    k->lanes = 16;
  k->strip = ((WIN_STRIP_FLOATS - (k->n_phases + 1) * k->lanes) / k->q1 - k->n_phases * k->umax[0]) / (k->n_phases + 1);
  k->rows = k->strip >= WIN_PASS_ROWS ? WIN_PASS_ROWS : 1;
  k->strip = k->strip < k->dim[2] + k->rows - 1 ? k->strip : k->dim[2] + k->rows - 1;
  k->strip -= k->strip % k->rows;
  return k->strip >= 1;
}

/* AOTC_WINDOW: "0" off (0), "1" every width (1), "rows" every width and
 * the row kernel only (2), else the heuristic (-1). */
static int window_env(void)
{
  const char *env = getenv("AOTC_WINDOW");
  if (!env)
    return -1;
  return !strcmp(env, "0") ? 0 : !strcmp(env, "1") ? 1 : !strcmp(env, "rows") ? 2 : -1;
}

static bool window_off(bool gpu, const emit_kernel *ek)
{
  return window_env() == 0 || gpu || ek->contraction >= 0 || ek->epilogue_of >= 0 || ek->end - ek->first < 2;
}

/* The end of the partition's kernel that statement first opens: the plan
 * splits one in pieces of POLY_MAX_KERNEL_STMTS for isl (a 7x7 window has
 * 49 taps), the window takes them all. */
static int partition_end(const ir_func *f, int first, int end)
{
  while (f->stmt_kernel && end < f->n_stmts && f->stmt_kernel[end] == f->stmt_kernel[first])
    end++;
  return end;
}

/* Whether e reads the plane of tensor t at s's (batch, channel): t(i0,
 * i1, r0, r1) with r0, r1 over the whole plane (dim[2], dim[3]). */
static bool plane_read(const win_kernel *k, const ir_stmt *s, const ir_expr *e, int t)
{
  if (e->kind != IR_ACCESS || e->tensor != t || e->padded || e->n_args != 4 || !is_index(e->args[0], s->lhs[0]) ||
      !is_index(e->args[1], s->lhs[1]))
    return false;
  for (int d = 2; d < 4; d++) {
    const ir_expr *a = e->args[d];
    int64_t lo, hi;
    if (a->kind != IR_INDEX || !s->index[a->index].reduction || !ir_size_is_const(s->index[a->index].lo, &lo) ||
        !ir_size_is_const(s->index[a->index].hi, &hi) || lo != 0 || hi != k->dim[d])
      return false;
    if (d == 3 && a->index == e->args[2]->index)
      return false;
  }
  return true;
}

/* Whether tensors a and b are the same bytes (one a view of the other at
 * its start, or both views at one place of a third). */
static bool same_bytes(const ir_func *f, int a, int b)
{
  const ir_tensor *A = f->tensors[a], *B = f->tensors[b];
  int oa = A->view ? A->view_of : a, ob = B->view ? B->view_of : b;
  return oa == ob && (A->view ? A->view_offset : 0) == (B->view ? B->view_offset : 0);
}

/* The tensor the window writes whose plane e reads at s's (batch,
 * channel): plane_read, or e reads a [batch, channel, plane] view of it
 * over one reduction index (GlobalAveragePool over a temporary, ops_nn.c);
 * -1 otherwise. */
static int pooled_source(const win_kernel *k, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind != IR_ACCESS)
    return -1;
  if (plane_read(k, s, e, e->tensor))
    return emit_window_written(k, e->tensor, k->end) ? e->tensor : -1;
  int64_t d[3], lo, hi;
  const ir_tensor *F = k->f->tensors[e->tensor];
  if (e->padded || e->n_args != 3 || F->rank != 3 || F->type != IR_F32)
    return -1;
  for (int j = 0; j < 3; j++)
    if (!F->shape[j] || !ir_size_is_const(F->shape[j], &d[j]))
      return -1;
  if (d[0] != k->dim[0] || d[1] != k->dim[1] || d[2] != k->dim[2] * k->dim[3] || !is_index(e->args[0], s->lhs[0]) ||
      !is_index(e->args[1], s->lhs[1]))
    return -1;
  const ir_expr *a = e->args[2];
  if (a->kind != IR_INDEX || !s->index[a->index].reduction || !ir_size_is_const(s->index[a->index].lo, &lo) ||
      !ir_size_is_const(s->index[a->index].hi, &hi) || lo != 0 || hi != d[2])
    return -1;
  for (int i = k->first; i < k->end; i++) {
    int t = k->f->stmts[i]->tensor;
    if (t != e->tensor && k->f->tensors[t]->rank == 4 && same_bytes(k->f, t, e->tensor))
      return e->tensor;
  }
  return -1;
}

/* Whether s, over (batch, channel, 0, 0) of a (dim[0], dim[1], 1, 1)
 * tensor, is of the shape the pool needs; reduction: the `+=!` sum. */
static bool pool_shape(const win_kernel *k, const ir_stmt *s, bool reduction)
{
  int64_t d[4], lo, hi;
  if (!ir_stmt_is_plain(s) || s->n_lhs != 4 || (reduction ? s->n_index != 6 && s->n_index != 5 : s->n_index != 4) ||
      s->red != (reduction ? IR_RED_ADD : IR_RED_NONE) || s->init != reduction || !const_dims(k->f->tensors[s->tensor], d))
    return false;
  if (d[0] != k->dim[0] || d[1] != k->dim[1] || d[2] != 1 || d[3] != 1)
    return false;
  for (int i = 0; i < 4; i++)
    if (!range_of(s, i, &lo, &hi) || lo != 0 || hi != d[i])
      return false;
  return true;
}

/* Whether e, in the pool's pointwise statement s, reads the pooled tensor
 * at s's point and otherwise values of the (batch, channel) alone. */
static bool pool_value(const win_kernel *k, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind == IR_ACCESS && e->tensor == k->pool_t) {
    for (int d = 0; d < 4; d++)
      if (!own_subscript(s, e->args[d], d))
        return false;
    return !e->padded;
  }
  if (e->kind == IR_ACCESS)
    return channel_value(k, s, e) && !emit_window_written(k, e->tensor, k->end);
  if (e->kind == IR_INDEX)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!pool_value(k, s, e->args[j]))
      return false;
  return true;
}

/* The global average pool of an SE block after the window, taken into it
 * (its whole kernel: the `+=!` sum of a tensor the window writes over the
 * plane, then pointwise statements on the pooled tensor, the division): each
 * (batch, channel) sums its plane once it is stored, instead of a pass that
 * reads the plane back row by row. Not in functions with regions (whose
 * kernels print inside branches and loops). */
static void pool_plan(win_kernel *k)
{
  int j = k->end, end = partition_end(k->f, j, j + 1);
  k->pool_end = k->end;
  if (k->f->body || j >= k->f->n_stmts || !pool_shape(k, k->f->stmts[j], true) || k->f->stmts[j]->rhs->kind != IR_ACCESS)
    return;
  const ir_stmt *s = k->f->stmts[j];
  k->pool_src = pooled_source(k, s, s->rhs);
  k->pool_t = s->tensor;
  if (k->pool_src < 0)
    return;
  for (int i = j + 1; i < end; i++)
    if (!pool_shape(k, k->f->stmts[i], false) || k->f->stmts[i]->tensor != k->pool_t ||
        !pool_value(k, k->f->stmts[i], k->f->stmts[i]->rhs))
      return;
  k->pool_end = end;
}

bool emit_window_recognise(const ir_func *f, const emit_plan_fn *pf, const emit_kernel *ek, bool gpu, win_kernel *k)
{
  *k = (win_kernel){.f = f, .first = ek->first, .end = partition_end(f, ek->first, ek->end), .x = -1, .y = -1};
  if (window_off(gpu, ek) || !first_stmt(k, f->stmts[ek->first]) || !more_taps(k) || !pointwise_stmts(k))
    return false;
  if (k->n_taps < 2 && !(k->start && k->n_taps == 1))
    return false;
  group_taps(k);
  k->plane = window_env() != 2 && plane_plan(pf, k);
  if (!(window_env() > 0 || (k->tap[k->n_taps - 1].w && (k->plane || k->dim[3] >= WIN_MIN_WIDTH))))
    return false;
  pool_plan(k);
  return true;
}

/* ------------------------------------------------------------------------
 * Printing: names and values
 * ------------------------------------------------------------------------ */

static void bind_name(emit_fn *E, int x, const char *name)
{
  isl_ast_expr_free(E->iter[x]);
  E->iter[x] = isl_ast_expr_from_id(isl_id_alloc(E->em->plan->isl, name, NULL));
}

/* s's indices bound to the kernel's names (the first n of them). */
static void bind_window(emit_fn *E, const ir_stmt *s, int n)
{
  static const char *const names[4] = {"aotc_wn", "aotc_wc", "aotc_wh", "aotc_ww"};
  E->stmt = s;
  for (int d = 0; d < n; d++)
    bind_name(E, s->lhs[d], names[d]);
}

/* e of statement s at the (batch, channel), as a float. */
static void print_channel_value(emit_fn *E, const ir_stmt *s, const ir_expr *e)
{
  bind_window(E, s, 2);
  emit_print_value(E, e, IR_F32);
  emit_unbind_indices(E, s);
}

/* The locals of a (batch, channel): the taps' factors aotc_k<t>, the start
 * or bias aotc_kb, the input plane aotc_xp. */
static void print_channel_locals(emit_fn *E, const win_kernel *k)
{
  for (int t = 0; t < k->n_taps; t++) {
    if (!k->tap[t].w)
      continue;
    emit_indent(E);
    fprintf(E->out, "const float aotc_k%d = ", t);
    print_channel_value(E, k->tap[t].s, k->tap[t].w);
    fputs(";\n", E->out);
  }
  if (k->start || k->add) {
    emit_indent(E);
    fputs("const float aotc_kb = ", E->out);
    print_channel_value(E, E->f->stmts[k->first], k->start ? k->start : k->add);
    fputs(";\n", E->out);
  }
  int64_t xd[4];
  const_dims(E->f->tensors[k->x], xd);
  emit_line(E, "const float *aotc_xp = &%s[(aotc_wn * %lld + aotc_wc) * %lld];", E->tensor_c[k->x], (long long)xd[1],
            (long long)(xd[2] * xd[3]));
}

/* Tap t's input at column `col` of the output: a phase of the row (stride
 * > 1) or the row itself. */
static void print_tap_read(emit_fn *E, const win_kernel *k, int t, const char *col)
{
  int64_t off = k->tap[t].off[1], s = k->str[1];
  int64_t shift = s > 1 ? floor_div(off, s) : off;
  if (s > 1)
    fprintf(E->out, "aotc_p%lld[%s", (long long)(off - shift * s), col);
  else
    fprintf(E->out, "aotc_r[%s", col);
  if (shift)
    fprintf(E->out, " %c %lld", shift < 0 ? '-' : '+', (long long)(shift < 0 ? -shift : shift));
  fputc(']', E->out);
}

/* Tap t's term at column col: the read times its factor. */
static void print_term(emit_fn *E, const win_kernel *k, int t, const char *col)
{
  print_tap_read(E, k, t, col);
  if (k->tap[t].w)
    fprintf(E->out, " * aotc_k%d", t);
}

static void print_max_open(emit_fn *E)
{
  E->em->max_of[IR_F32] = true;
  fprintf(E->out, "aotc_max_%s(", ir_types[IR_F32].name);
}

static void print_simd(emit_fn *E)
{
  if (E->pf->sched.vectorize)
    fputs(E->em->tg->simd_for, E->out);
}

/* for (aotc_ww = lo; aotc_ww < hi; ...) opened (with its simd pragma). */
static void open_columns(emit_fn *E, int64_t lo, int64_t hi)
{
  print_simd(E);
  emit_open_block(E, "for (int64_t aotc_ww = %lld; aotc_ww < %lld; aotc_ww++)", (long long)lo, (long long)hi);
}

/* ------------------------------------------------------------------------
 * Printing: a row of taps
 * ------------------------------------------------------------------------ */

/* The columns where every tap of group g reads inside the input. */
static void group_columns(const win_kernel *k, int g, int64_t *lo, int64_t *hi)
{
  *lo = 0;
  *hi = k->dim[3];
  for (int t = 0; t < k->n_taps; t++)
    if (k->tap[t].group == g) {
      *lo = k->tap[t].lo[1] > *lo ? k->tap[t].lo[1] : *lo;
      *hi = k->tap[t].hi[1] < *hi ? k->tap[t].hi[1] : *hi;
    }
  if (*lo >= *hi)
    *lo = *hi = 0;
}

static bool phase_used(const win_kernel *k, int g, int64_t p)
{
  for (int t = 0; t < k->n_taps; t++)
    if (k->tap[t].group == g && k->tap[t].off[1] - floor_div(k->tap[t].off[1], k->str[1]) * k->str[1] == p)
      return true;
  return false;
}

static int64_t phase_len(const win_kernel *k, int64_t p)
{
  return p < k->in[1] ? (k->in[1] - p + k->str[1] - 1) / k->str[1] : 0;
}

/* The phases aotc_p<p>[j] = aotc_r[j * s + p] of the input row that the
 * group's taps read, in one loop over their common length. */
static void print_phases(emit_fn *E, const win_kernel *k, int g)
{
  int64_t s = k->str[1], common = k->in[1];
  for (int64_t p = 0; p < s; p++)
    if (phase_used(k, g, p)) {
      emit_line(E, "float aotc_p%lld[%lld] AOTC_ALIGN(64);", (long long)p, (long long)(phase_len(k, 0)));
      E->em->need_align = true;
      common = phase_len(k, p) < common ? phase_len(k, p) : common;
    }
  print_simd(E);
  emit_open_block(E, "for (int64_t aotc_wj = 0; aotc_wj < %lld; aotc_wj++)", (long long)common);
  for (int64_t p = 0; p < s; p++)
    if (phase_used(k, g, p))
      emit_line(E, "aotc_p%lld[aotc_wj] = aotc_r[aotc_wj * %lld + %lld];", (long long)p, (long long)s, (long long)p);
  emit_close_block(E);
  for (int64_t p = 0; p < s; p++)
    if (phase_used(k, g, p) && phase_len(k, p) > common)
      emit_line(E, "aotc_p%lld[%lld] = aotc_r[%lld];", (long long)p, (long long)common,
                (long long)(common * s + p));
}

/* Whether tap t is the first statement (an assignment, not an update). */
static bool is_first(const win_kernel *k, int t)
{
  return t == 0 && !k->start;
}

/* aotc_acc[aotc_ww] = first tap's term (+ bias), over [lo, hi). */
static void print_first_assign(emit_fn *E, const win_kernel *k, int64_t lo, int64_t hi)
{
  if (lo >= hi)
    return;
  open_columns(E, lo, hi);
  emit_indent(E);
  fputs("aotc_acc[aotc_ww] = ", E->out);
  print_term(E, k, 0, "aotc_ww");
  fputs(k->add ? " + aotc_kb;\n" : ";\n", E->out);
  emit_close_block(E);
}

/* acc op= the group's taps in order, one expression: (first + bias) + a
 * + b ..., acc + a + b ..., or max(max(acc, a), b) ...; the base is the
 * first statement's term when first, else the accumulator. */
static void print_fold(emit_fn *E, const win_kernel *k, int g, bool first)
{
  for (int t = 0; t < k->n_taps; t++)
    if (k->tap[t].group == g && !is_first(k, t) && k->red == IR_RED_MAX)
      print_max_open(E);
  if (first) {
    fputs("(", E->out);
    print_term(E, k, 0, "aotc_ww");
    fputs(k->add ? " + aotc_kb)" : ")", E->out);
  } else {
    fputs("aotc_acc[aotc_ww]", E->out);
  }
  for (int t = 0; t < k->n_taps; t++) {
    if (k->tap[t].group != g || is_first(k, t))
      continue;
    fputs(k->red == IR_RED_MAX ? ", " : " + ", E->out);
    print_term(E, k, t, "aotc_ww");
    if (k->red == IR_RED_MAX)
      fputc(')', E->out);
  }
}

/* The columns [lo, hi) where every tap of the group reads: one loop. */
static void print_inner(emit_fn *E, const win_kernel *k, int g, int64_t lo, int64_t hi)
{
  if (lo >= hi)
    return;
  open_columns(E, lo, hi);
  emit_indent(E);
  fputs("aotc_acc[aotc_ww] = ", E->out);
  print_fold(E, k, g, !k->start && k->tap[0].group == g);
  fputs(";\n", E->out);
  emit_close_block(E);
}

/* Tap t alone over [lo, hi). */
static void print_tap_alone(emit_fn *E, const win_kernel *k, int t, int64_t lo, int64_t hi)
{
  if (lo >= hi)
    return;
  open_columns(E, lo, hi);
  emit_indent(E);
  fputs("aotc_acc[aotc_ww] = ", E->out);
  if (k->red == IR_RED_MAX)
    print_max_open(E);
  fputs(k->red == IR_RED_MAX ? "aotc_acc[aotc_ww], " : "aotc_acc[aotc_ww] + ", E->out);
  print_term(E, k, t, "aotc_ww");
  fputs(k->red == IR_RED_MAX ? ");\n" : ";\n", E->out);
  emit_close_block(E);
}

/* The input row of group g (its phases), then its taps. */
static void print_group_body(emit_fn *E, const win_kernel *k, int g)
{
  int64_t lo, hi;
  const win_tap *t0 = NULL;
  for (int t = 0; t < k->n_taps && !t0; t++)
    t0 = k->tap[t].group == g ? &k->tap[t] : NULL;
  emit_line(E, "const float *aotc_r = aotc_xp + (aotc_wh * %lld + %lld) * %lld;", (long long)k->str[0],
            (long long)t0->off[0], (long long)k->in[1]);
  if (k->str[1] > 1)
    print_phases(E, k, g);
  group_columns(k, g, &lo, &hi);
  if (!k->start && k->tap[0].group == g) {
    print_first_assign(E, k, 0, lo);
    print_first_assign(E, k, hi, k->dim[3]);
  }
  print_inner(E, k, g, lo, hi);
  for (int t = 0; t < k->n_taps; t++)
    if (k->tap[t].group == g && !is_first(k, t)) {
      print_tap_alone(E, k, t, k->tap[t].lo[1], hi > lo && lo < k->tap[t].hi[1] ? lo : k->tap[t].hi[1]);
      print_tap_alone(E, k, t, hi > lo && hi > k->tap[t].lo[1] ? hi : k->tap[t].hi[1], k->tap[t].hi[1]);
    }
}

/* Group g inside the output rows whose input row exists. */
static void print_group(emit_fn *E, const win_kernel *k, int g)
{
  const win_tap *t0 = NULL;
  for (int t = 0; t < k->n_taps && !t0; t++)
    t0 = k->tap[t].group == g ? &k->tap[t] : NULL;
  if (t0->lo[0] == 0 && t0->hi[0] == k->dim[2])
    emit_line(E, "{");
  else
    emit_open_block(E, "if (aotc_wh >= %lld && aotc_wh < %lld)", (long long)t0->lo[0], (long long)t0->hi[0]);
  if (t0->lo[0] == 0 && t0->hi[0] == k->dim[2])
    E->indent++;
  print_group_body(E, k, g);
  emit_close_block(E);
}

/* ------------------------------------------------------------------------
 * Printing: the pointwise statements and the stores
 * ------------------------------------------------------------------------ */

/* The local holding tensor t at the current pointwise statement (written
 * by an earlier one, or the accumulator), or NULL. */
static void local_of(const win_kernel *k, int t, int before, char *buf, size_t n)
{
  buf[0] = 0;
  for (int i = before - 1; i >= k->taps_end; i--)
    if (k->f->stmts[i]->tensor == t) {
      snprintf(buf, n, "aotc_v%d", i - k->first);
      return;
    }
  if (t == k->y)
    snprintf(buf, n, k->fused ? "aotc_acc[aotc_ww - aotc_x0]" : "aotc_acc[aotc_ww]");
}

bool emit_window_print_read(emit_fn *E, const ir_expr *e)
{
  char buf[32];
  const win_kernel *k = E->win;
  if (k->cur > k->end && e->tensor == k->pool_t) {
    fprintf(E->out, "aotc_g%d", k->cur - 1 - k->first);
    return true;
  }
  if (!emit_window_written(k, e->tensor, k->end))
    return false;
  local_of(k, e->tensor, k->cur, buf, sizeof(buf));
  fputs(buf, E->out);
  return buf[0] != 0;
}

/* Whether tensor t, written by the kernel, is read after it (or might be:
 * arguments, views, regions). */
bool emit_window_stored(const win_kernel *k, int t)
{
  const ir_func *f = k->f;
  const ir_tensor *T = f->tensors[t];
  if (T->role != IR_TEMP || T->view || f->body)
    return true;
  for (int u = 0; u < f->n_tensors; u++)
    if (u != t && f->tensors[u]->view && f->tensors[u]->view_of == t)
      return true;
  for (int i = 0; i < f->n_stmts; i++)
    if ((i < k->first || i >= k->end) && ir_stmt_reads(f->stmts[i], t))
      return true;
  return false;
}

/* The pointwise statements' values at column aotc_ww: aotc_v<i>. */
static void print_pointwise(emit_fn *E, win_kernel *k)
{
  for (k->cur = k->taps_end; k->cur < k->end; k->cur++) {
    const ir_stmt *s = E->f->stmts[k->cur];
    emit_indent(E);
    fprintf(E->out, "const float aotc_v%d = ", k->cur - k->first);
    bind_window(E, s, 4);
    emit_print_value(E, s->rhs, IR_F32);
    emit_unbind_indices(E, s);
    fputs(";\n", E->out);
  }
}

/* The stores at column aotc_ww of the tensors read after the kernel:
 * their locals, or aotc_acc[aotc_ww] (the flat pass left them there). */
static void print_stores(emit_fn *E, const win_kernel *k, bool flat)
{
  char buf[32];
  for (int i = k->first; i < k->end; i++) {
    int t = E->f->stmts[i]->tensor;
    if (emit_window_written(k, t, i) || !emit_window_stored(k, t))
      continue;
    local_of(k, t, k->end, buf, sizeof(buf));
    emit_line(E, "%s[aotc_wo + aotc_ww] = %s;", E->tensor_c[t], flat ? "aotc_acc[aotc_ww]" : buf);
  }
}

/* The pool's statements after the channel's plane is stored: its sum,
 * read back in one loop while the plane is in cache (summed per row as
 * it was stored, rows of 7 and 14 columns made EfficientNet-B0's windows
 * 1.6 ms slower, more than the pool's passes took), then its pointwise
 * statements (the division) as locals aotc_g<i>, the last stored at the
 * (batch, channel). */
static void print_pool_end(emit_fn *E, win_kernel *k)
{
  if (k->pool_end == k->end)
    return;
  long long plane = (long long)(k->dim[2] * k->dim[3]);
  emit_line(E, "float aotc_acc = 0.0f;");
  if (E->pf->sched.vectorize)
    fprintf(E->out, E->em->tg->simd_reduction, "+");
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < %lld; aotc_q++)", plane);
  emit_line(E, "aotc_acc += %s[aotc_wq * %lld + aotc_q];", E->tensor_c[k->pool_src], plane);
  emit_close_block(E);
  emit_line(E, "const float aotc_g%d = aotc_acc;", k->end - k->first);
  for (k->cur = k->end + 1; k->cur < k->pool_end; k->cur++) {
    const ir_stmt *s = E->f->stmts[k->cur];
    emit_indent(E);
    fprintf(E->out, "const float aotc_g%d = ", k->cur - k->first);
    bind_window(E, s, 2);
    emit_print_value(E, s->rhs, IR_F32);
    emit_unbind_indices(E, s);
    fputs(";\n", E->out);
  }
  emit_line(E, "%s[aotc_wq] = aotc_g%d;", E->tensor_c[k->pool_t], k->pool_end - 1 - k->first);
}

/* The pointwise statements at each column of the row (of the vector at
 * column aotc_x0 when the pass's ends are fused), then the stores. */
static void print_row_end(emit_fn *E, win_kernel *k, bool flat)
{
  emit_line(E, "const int64_t aotc_wo = ((aotc_wn * %lld + aotc_wc) * %lld + aotc_wh) * %lld;", (long long)k->dim[1],
            (long long)k->dim[2], (long long)k->dim[3]);
  if (k->fused) {
    print_simd(E);
    emit_open_block(E, "for (int64_t aotc_ww = aotc_x0; aotc_ww < aotc_x0 + %lld; aotc_ww++)", (long long)k->lanes);
  } else
    open_columns(E, 0, k->dim[3]);
  if (!flat)
    print_pointwise(E, k);
  print_stores(E, k, flat);
  emit_close_block(E);
}

/* ------------------------------------------------------------------------
 * Printing: the plane kernel
 * ------------------------------------------------------------------------ */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* The value outside the input: the fold's identity. */
static const char *pad_value(const emit_fn *E, const win_kernel *k)
{
  return k->red == IR_RED_MAX ? E->em->tg->type_min[IR_F32] : "0.0f";
}

/* Row `row` of the planes of phase (a, b) over their columns [lo, hi),
 * of every phase (a, b) the taps read when b < 0: the padding, or input
 * row aotc_r at columns x * stride + b + omin. */
static void print_plane_run(emit_fn *E, const win_kernel *k, int64_t a, int64_t b, const char *row, int64_t lo,
                            int64_t hi, bool pad)
{
  if (lo >= hi)
    return;
  print_simd(E);
  emit_open_block(E, "for (int64_t aotc_x = %lld; aotc_x < %lld; aotc_x++)", (long long)lo, (long long)hi);
  for (int64_t p = b < 0 ? 0 : b; p < (b < 0 ? k->str[1] : b + 1); p++) {
    if (!k->phase[a][p])
      continue;
    emit_indent(E);
    fprintf(E->out, "aotc_p%lld_%lld[%s * %lld + aotc_x] = ", (long long)a, (long long)p, row, (long long)k->q1);
    if (pad)
      fprintf(E->out, "%s;\n", pad_value(E, k));
    else
      fprintf(E->out, "aotc_r[aotc_x * %lld + %lld];\n", (long long)k->str[1], (long long)(p + k->omin[1]));
  }
  emit_close_block(E);
}

/* The columns [lo, hi) of phase (a, b)'s plane that read the input. */
static void phase_columns(const win_kernel *k, int64_t b, int64_t *lo, int64_t *hi)
{
  int64_t c = b + k->omin[1];
  *lo = clamp64(-floor_div(c, k->str[1]), 0, k->q1);
  *hi = clamp64(-floor_div(c - k->in[1], k->str[1]), *lo, k->q1);
}

/* A row of the planes of row phase a from input row aotc_r: the columns
 * every phase reads in one loop (one pass over the input row for all its
 * column phases), then each phase's other columns and padding. */
static void print_plane_row(emit_fn *E, const win_kernel *k, int64_t a)
{
  int64_t lo, hi, all_lo = 0, all_hi = k->q1;
  for (int64_t b = 0; b < k->str[1]; b++)
    if (k->phase[a][b]) {
      phase_columns(k, b, &lo, &hi);
      all_lo = lo > all_lo ? lo : all_lo;
      all_hi = hi < all_hi ? hi : all_hi;
    }
  all_hi = all_hi > all_lo ? all_hi : all_lo;
  for (int64_t b = 0; b < k->str[1]; b++)
    if (k->phase[a][b]) {
      phase_columns(k, b, &lo, &hi);
      print_plane_run(E, k, a, b, "aotc_y", 0, lo, true);
      print_plane_run(E, k, a, b, "aotc_y", lo, all_lo < hi ? all_lo : hi, false);
      print_plane_run(E, k, a, b, "aotc_y", all_hi > lo ? all_hi : lo, hi, false);
      print_plane_run(E, k, a, b, "aotc_y", hi, k->q1, true);
    }
  print_plane_run(E, k, a, -1, "aotc_y", all_lo, all_hi, false);
}

/* Whether the window is a sum printed for a CPU with 64-byte vectors: its
 * AVX-512 forms (under EMIT_AVX512_GUARD) pad with zeros, as a sum does. */
static bool avx512_sums(const emit_plan_fn *pf, const win_kernel *k)
{
  return pf->sched.vectorize && pf->sched.vector_bytes >= 64 && k->red == IR_RED_ADD;
}

/* Whether a row of the planes of a strided window fills from AVX-512
 * registers where the C has them: the input row (at most 32 floats) in two
 * masked loads, each column phase's plane row one masked permutation of
 * them (zero where the phase reads outside the row: sums only, a max pads
 * with -inf) and one masked store, instead of a loop of strided reads per
 * phase. MobileNetV2's stride-2 windows (1 thread, kernel_times, three
 * rounds): on 28 columns 0.045-0.050 -> 0.032-0.037 ms, on 14 columns
 * 0.052-0.056 -> 0.044-0.052. */
static bool plane_row_vec(const emit_fn *E, const win_kernel *k)
{
  return avx512_sums(E->pf, k) && k->str[1] > 1 &&
         ((k->in[1] <= 32 && k->q1 <= 16) || (k->str[1] == 2 && k->q1 <= WIN_ROW_VEC_COLS));
}

static unsigned low_bits(int64_t n)
{
  return n <= 0 ? 0u : n >= 16 ? 0xffffu : (1u << n) - 1u;
}

/* Columns [16 s, 16 s + 16) of column phase b's plane row: c[x], the input
 * column each reads; returned, the mask of those inside the plane row and
 * the input row (the others are the zero padding). */
static unsigned phase_lanes(const win_kernel *k, int64_t b, int64_t s, int64_t *c)
{
  unsigned valid = 0;
  for (int x = 0; x < 16; x++) {
    int64_t col = 16 * s + x;
    c[x] = col * k->str[1] + b + k->omin[1];
    valid |= col < k->q1 && c[x] >= 0 && c[x] < k->in[1] ? 1u << x : 0u;
  }
  return valid;
}

/* Of a wider row at stride 2, 16 columns [16 s, 16 s + 16) of phase b's
 * plane row: the 31 floats they read from their first, in two masked loads
 * (none past the row), one masked permutation and one masked store. */
static void print_plane_row_part(emit_fn *E, const win_kernel *k, int64_t a, int64_t b, int64_t s)
{
  int64_t c[16];
  unsigned valid = phase_lanes(k, b, s, c);
  int64_t base = valid ? c[__builtin_ctz(valid)] : -1;
  emit_indent(E);
  fprintf(E->out, "_mm512_mask_storeu_ps(&aotc_p%lld_%lld[aotc_y * %lld + %lld], (__mmask16)0x%04x, ", (long long)a,
          (long long)b, (long long)k->q1, (long long)(16 * s), low_bits(k->q1 - 16 * s));
  if (!valid) {
    fputs("_mm512_setzero_ps());\n", E->out);
    return;
  }
  fprintf(E->out, "_mm512_maskz_permutex2var_ps((__mmask16)0x%04x, _mm512_maskz_loadu_ps((__mmask16)0x%04x, aotc_r + %lld), "
          "_mm512_set_epi32(", valid, low_bits(k->in[1] - base), (long long)base);
  for (int x = 15; x >= 0; x--)
    fprintf(E->out, "%lld%s", (long long)(valid >> x & 1u ? c[x] - base : 0), x ? ", " : "");
  fprintf(E->out, "), _mm512_maskz_loadu_ps((__mmask16)0x%04x, aotc_r + %lld)));\n", low_bits(k->in[1] - base - 16),
          (long long)(base + 16));
}

/* The plane rows of row phase a from input row aotc_r (plane_row_vec). */
static void print_plane_row_vec(emit_fn *E, const win_kernel *k, int64_t a)
{
  E->em->need_immintrin = true;
  if (k->in[1] > 32 || k->q1 > 16) {
    for (int64_t b = 0; b < k->str[1]; b++)
      for (int64_t s = 0; k->phase[a][b] && 16 * s < k->q1; s++)
        print_plane_row_part(E, k, a, b, s);
    return;
  }
  emit_line(E, "const __m512 aotc_v0 = _mm512_maskz_loadu_ps((__mmask16)0x%04x, aotc_r);", low_bits(k->in[1]));
  emit_line(E, "const __m512 aotc_v1 = _mm512_maskz_loadu_ps((__mmask16)0x%04x, aotc_r + 16);",
            low_bits(k->in[1] - 16));
  for (int64_t b = 0; b < k->str[1]; b++) {
    if (!k->phase[a][b])
      continue;
    int64_t c[16];
    unsigned valid = phase_lanes(k, b, 0, c);
    emit_indent(E);
    fprintf(E->out, "_mm512_mask_storeu_ps(&aotc_p%lld_%lld[aotc_y * %lld], (__mmask16)0x%04x, "
            "_mm512_maskz_permutex2var_ps((__mmask16)0x%04x, aotc_v0, _mm512_set_epi32(",
            (long long)a, (long long)b, (long long)k->q1, low_bits(k->q1), valid);
    for (int x = 15; x >= 0; x--)
      fprintf(E->out, "%lld%s", (long long)(valid >> x & 1u ? c[x] : 0), x ? ", " : "");
    fputs("), aotc_v1));\n", E->out);
  }
}

/* Whether the plane kernel's input is past WIN_PREFETCH_BYTES: it comes
 * from memory, not from the caches, and each row copied prefetches the same
 * row of the next plane (the next channel's, in NCHW order). MobileNetV2 at
 * batch 8, 1 thread (bench/kernel_times.py): features.2's window over a
 * 38.5 MB input 3.12-3.18 -> 2.04-2.12 ms; with inputs of 12.8-14.4 MB,
 * which the last-level cache holds, as much faster as slower (features.3
 * 1.10 -> 1.02-1.05, features.4 0.58-0.63 -> 0.69-0.72), and at batch 1
 * slower (features.2 0.140 -> 0.158). */
static bool next_plane(const win_kernel *k)
{
  return k->dim[0] * k->dim[1] * k->in[0] * k->in[1] * (int64_t)sizeof(float) > (int64_t)WIN_PREFETCH_BYTES;
}

/* Plane row aotc_y of row phase a: input row (aotc_h0 + y) * stride + a +
 * omin, the padding outside the input. */
static void print_plane_fill(emit_fn *E, const win_kernel *k, int64_t a)
{
  emit_line(E, "{");
  E->indent++;
  emit_line(E, "const int64_t aotc_sr = (aotc_h0 + aotc_y) * %lld + %lld;", (long long)k->str[0],
            (long long)(a + k->omin[0]));
  emit_open_block(E, "if (aotc_sr >= 0 && aotc_sr < %lld)", (long long)k->in[0]);
  emit_line(E, "const float *aotc_r = aotc_xp + aotc_sr * %lld;", (long long)k->in[1]);
  if (next_plane(k)) {
    fputs("#if defined(__GNUC__)\n", E->out);
    emit_open_block(E, "if (aotc_wq + 1 < %lld)", (long long)(k->dim[0] * k->dim[1]));
    emit_open_block(E, "for (int64_t aotc_pf = 0; aotc_pf < %lld; aotc_pf += 16)", (long long)k->in[1]);
    emit_line(E, "__builtin_prefetch(aotc_r + %lld + aotc_pf);", (long long)(k->in[0] * k->in[1]));
    emit_close_block(E);
    emit_close_block(E);
    fputs("#endif\n", E->out);
  }
  if (plane_row_vec(E, k)) {
    fputs(EMIT_AVX512_GUARD, E->out);
    print_plane_row_vec(E, k, a);
    fputs("#else\n", E->out);
    print_plane_row(E, k, a);
    fputs("#endif\n", E->out);
  } else
    print_plane_row(E, k, a);
  emit_close_block(E);
  emit_open_block(E, "else");
  print_plane_run(E, k, a, -1, "aotc_y", 0, k->q1, true);
  emit_close_block(E);
  emit_close_block(E);
}

/* The planes of the strip, row by row and in a row the row phases in
 * order, so that the input is read in order (a pass per row phase read
 * MobileNetV2's 112x112 planes at stride 2 at a third of the speed), then
 * a vector of padding that the last pass's sums read past the end. */
static void print_plane_fills(emit_fn *E, const win_kernel *k)
{
  emit_open_block(E, "for (int64_t aotc_y = 0; aotc_y < aotc_nb + %lld; aotc_y++)", (long long)k->umax[0]);
  for (int a = 0; a < WIN_MAX_STRIDE; a++)
    if (memchr(k->phase[a], true, sizeof(k->phase[a])))
      print_plane_fill(E, k, a);
  emit_close_block(E);
  for (int a = 0; a < WIN_MAX_STRIDE; a++)
    if (memchr(k->phase[a], true, sizeof(k->phase[a])))
      print_plane_run(E, k, a, -1, "(aotc_nb + aotc_umax)", 0, k->lanes, true);
}

/* Tap t's term at sum aotc_q + r * q1 (row r of the pass): its phase's
 * plane, shifted. */
static void print_plane_term(emit_fn *E, const win_kernel *k, int t, int64_t r)
{
  const win_tap *tp = &k->tap[t];
  fprintf(E->out, "aotc_p%lld_%lld[aotc_q + %lld]", (long long)tap_phase(k, tp, 0), (long long)tap_phase(k, tp, 1),
          (long long)((tap_shift(k, tp, 0) + r) * k->q1 + tap_shift(k, tp, 1)));
  if (tp->w)
    fprintf(E->out, " * aotc_k%d", t);
}

/* The terms of groups [g0, g1) but the first statement's, after what is
 * printed: + a + b ..., or , a) , b) ... inside max( openings. */
static void print_plane_terms(emit_fn *E, const win_kernel *k, int g0, int g1, int64_t r, bool open)
{
  for (int t = 0; t < k->n_taps; t++) {
    if (k->tap[t].group < g0 || k->tap[t].group >= g1 || is_first(k, t))
      continue;
    fputs(k->red == IR_RED_MAX ? ", " : open ? " + " : "", E->out);
    open = true;
    print_plane_term(E, k, t, r);
    if (k->red == IR_RED_MAX)
      fputc(')', E->out);
  }
}

/* aotc_o[q + r * q1] = the window there, row r of the pass: one chain of
 * multiply-adds, two (the second over the later rows of taps) from
 * WIN_SPLIT_TAPS taps, whose latency the rows of a pass do not hide. */
static void print_plane_sum(emit_fn *E, const win_kernel *k, int64_t r)
{
  int split = k->red == IR_RED_ADD && k->n_taps >= WIN_SPLIT_TAPS ? k->n_groups / 2 : k->n_groups;
  emit_indent(E);
  fprintf(E->out, "aotc_o[aotc_q + %lld] = ", (long long)(r * k->q1));
  for (int t = 0; t < k->n_taps && k->red == IR_RED_MAX; t++)
    if (!is_first(k, t))
      print_max_open(E);
  if (!k->start)
    print_plane_term(E, k, 0, r);
  if (k->start || k->add)
    fputs(k->start ? "aotc_kb" : " + aotc_kb", E->out);
  print_plane_terms(E, k, 0, split, r, true);
  if (split < k->n_groups) {
    fputs(" + (", E->out);
    print_plane_terms(E, k, split, k->n_groups, r, false);
    fputc(')', E->out);
  }
  fputs(";\n", E->out);
}

/* The ends of the pass's rows (its pointwise statements and stores) at
 * the vector of columns from aotc_x0, row r's sums at sums[r * stride]:
 * the sums go from registers to the output with no pass over a strip of
 * them (fused). Rows past aotc_nr, summed for whole passes, end nowhere. */
static void print_pass_ends(emit_fn *E, win_kernel *k, const char *sums, int64_t stride)
{
  bool ragged = k->dim[2] % k->rows != 0;
  for (int64_t r = 0; r < k->rows; r++) {
    if (ragged)
      emit_open_block(E, "if (aotc_h + %lld < aotc_nr)", (long long)r);
    else {
      emit_line(E, "{");
      E->indent++;
    }
    emit_line(E, "const int64_t aotc_wh = aotc_h0 + aotc_h + %lld;", (long long)r);
    emit_line(E, "const float *aotc_acc = &%s[%lld];", sums, (long long)(r * stride));
    print_row_end(E, k, false);
    emit_close_block(E);
  }
}

/* The accumulators of a pass in explicit vectors: per row one, two from
 * WIN_SPLIT_TAPS taps (the later rows of taps in the second). */
static int plane_chains(const win_kernel *k)
{
  return k->n_taps >= WIN_SPLIT_TAPS ? 2 : 1;
}

/* The sums of a pass at aotc_q as explicit vectors (GCC's vector types):
 * per tap its weight times the plane's vector for each row of the pass,
 * so that a weight is loaded once a pass and a plane vector once for the
 * taps that read it. Sums (max reads the scalar loop). */
static void print_plane_vectors(emit_fn *E, win_kernel *k)
{
  int ch = plane_chains(k);
  long long vw = k->lanes;
  for (int64_t r = 0; r < k->rows; r++)
    for (int c = 0; c < ch; c++)
      emit_line(E, "aotc_vf%lld aotc_a%lld_%d = (aotc_vf%lld){0} + %s;", vw, (long long)r, c, vw,
                c == 0 && (k->start || k->add) ? "aotc_kb" : "0.0f");
  for (int t = 0; t < k->n_taps; t++)
    for (int64_t r = 0; r < k->rows; r++) {
      emit_indent(E);
      fprintf(E->out, "aotc_a%lld_%d += *(const aotc_vf%lld *)&", (long long)r,
              ch > 1 && k->tap[t].group >= k->n_groups / 2, vw);
      print_plane_term(E, k, t, r);
      fputs(";\n", E->out);
    }
  if (k->fused)
    emit_line(E, "float aotc_t[%lld] AOTC_ALIGN(64);", (long long)(k->rows * vw));
  for (int64_t r = 0; r < k->rows; r++) {
    emit_indent(E);
    fprintf(E->out, "*(aotc_vf%lld *)&%s[%s%lld] = aotc_a%lld_0", vw, k->fused ? "aotc_t" : "aotc_o",
            k->fused ? "" : "aotc_q + ", (long long)(r * (k->fused ? vw : k->q1)), (long long)r);
    for (int c = 1; c < ch; c++)
      fprintf(E->out, " + aotc_a%lld_%d", (long long)r, c);
    fputs(";\n", E->out);
  }
  if (k->fused) {
    emit_line(E, "const int64_t aotc_x0 = aotc_q - aotc_h * %lld;", (long long)k->q1);
    print_pass_ends(E, k, "aotc_t", vw);
  }
}

/* The columns of a row the sums compute: the output's, in whole vectors. */
static int64_t plane_width(const win_kernel *k)
{
  return round_up(k->dim[3], k->lanes);
}

/* aotc_o[q] = the window at q = row * q1 + column for the strip's rows in
 * passes of k->rows rows, each row in whole vectors (the columns from
 * dim[3] on, and the rows of the last pass past aotc_nr, are sums nobody
 * reads): a pass loads each weight once for its rows and each plane row
 * once for the taps of its rows that read it, and no scalar tail repeats
 * every tap. Explicit vectors where the target has them, else one loop
 * for the compiler to vectorise. */
static void print_plane_sums(emit_fn *E, win_kernel *k)
{
  int64_t width = plane_width(k);
  bool vec = k->red == IR_RED_ADD && k->lanes > 1;
  emit_open_block(E, "for (int64_t aotc_h = 0; aotc_h < aotc_nb; aotc_h += %lld)", (long long)k->rows);
  if (vec) {
    fputs(E->em->tg->vector_guard, E->out);
    emit_indent(E);
    fprintf(E->out, E->em->tg->vector_type, (int)k->lanes, (int)k->lanes * 4);
    emit_open_block(E, "for (int64_t aotc_q = aotc_h * %lld; aotc_q < aotc_h * %lld + %lld; aotc_q += %lld)",
                    (long long)k->q1, (long long)k->q1, (long long)width, (long long)k->lanes);
    print_plane_vectors(E, k);
    emit_close_block(E);
    fputs("#else\n", E->out);
  }
  print_simd(E);
  emit_open_block(E, "for (int64_t aotc_q = aotc_h * %lld; aotc_q < aotc_h * %lld + %lld; aotc_q++)",
                  (long long)k->q1, (long long)k->q1, (long long)width);
  for (int64_t r = 0; r < k->rows; r++)
    print_plane_sum(E, k, r);
  emit_close_block(E);
  if (k->fused) {
    emit_open_block(E, "for (int64_t aotc_x0 = 0; aotc_x0 < %lld; aotc_x0 += %lld)", (long long)k->dim[3],
                    (long long)k->lanes);
    emit_line(E, "const float *aotc_s = &aotc_o[aotc_h * %lld + aotc_x0];", (long long)k->q1);
    print_pass_ends(E, k, "aotc_s", k->q1);
    emit_close_block(E);
  }
  if (vec)
    fputs("#endif\n", E->out);
  emit_close_block(E);
}

/* Whether e, in pointwise statement s, reads the kernel's own values and
 * values of the (batch, channel) alone: no other tensor at the point, no
 * row or column index. */
static bool flat_value(const win_kernel *k, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind == IR_ACCESS && emit_window_written(k, e->tensor, k->end))
    return true;
  if (e->kind == IR_ACCESS)
    return channel_value(k, s, e);
  if (e->kind == IR_INDEX && (e->index == s->lhs[2] || e->index == s->lhs[3]))
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!flat_value(k, s, e->args[j]))
      return false;
  return true;
}

/* Whether the plane kernel's pointwise statements run as one flat pass
 * over the strip's sums (in place, the rows' padding columns included):
 * they read nothing of the row or column, and the one tensor stored is the
 * last statement's, on outputs narrower than WIN_FLAT_WIDTH. A row of 7,
 * 14 or 28 columns is no whole number of vectors (AVX-512: 16 floats), so
 * per row the activation (SiLU's exponential) ran mostly scalar: on
 * EfficientNet-B0's depthwise kernels (1 thread) 0.185 -> 0.107 ms at 14x14,
 * 0.405 -> 0.327 at 28x28, 0.21 -> 0.19 at 7x7; at 56 and 112 columns the
 * extra pass over the sums cost more (0.41 -> 0.55, 0.39 -> 0.54). */
static bool flat_plan(const emit_fn *E, const win_kernel *k)
{
  if (k->taps_end == k->end || k->dim[3] >= WIN_FLAT_WIDTH)
    return false;
  for (int i = k->first; i < k->end; i++) {
    int t = E->f->stmts[i]->tensor;
    if (!emit_window_written(k, t, i) && emit_window_stored(k, t) && t != E->f->stmts[k->end - 1]->tensor)
      return false;
  }
  for (int i = k->taps_end; i < k->end; i++)
    if (!flat_value(k, E->f->stmts[i], E->f->stmts[i]->rhs))
      return false;
  return true;
}

/* The sums the flat pass runs over when one strip holds the plane: the
 * plane's, rounded up to WIN_FLAT_ROUND (the ones past it set to zero
 * first, never stored); else 0 (the strip's, aotc_nr * q1). */
static int64_t flat_length(const win_kernel *k)
{
  return k->strip >= k->dim[2] ? round_up(k->dim[2] * k->q1, WIN_FLAT_ROUND) : 0;
}

/* The pointwise statements over the strip's sums in one pass, the last
 * value stored in place; the columns no pass summed (from the sums' whole
 * vectors to the row length q1) set to zero first. */
static void print_flat_pointwise(emit_fn *E, win_kernel *k)
{
  int64_t width = plane_width(k), len = flat_length(k);
  if (width < k->q1) {
    emit_open_block(E, "for (int64_t aotc_y = 0; aotc_y < aotc_nr; aotc_y++)");
    emit_open_block(E, "for (int64_t aotc_x = %lld; aotc_x < %lld; aotc_x++)", (long long)width, (long long)k->q1);
    emit_line(E, "aotc_o[aotc_y * %lld + aotc_x] = 0.0f;", (long long)k->q1);
    emit_close_block(E);
    emit_close_block(E);
  }
  if (len > k->dim[2] * k->q1) {
    emit_open_block(E, "for (int64_t aotc_x = %lld; aotc_x < %lld; aotc_x++)", (long long)(k->dim[2] * k->q1),
                    (long long)len);
    emit_line(E, "aotc_o[aotc_x] = 0.0f;");
    emit_close_block(E);
  }
  emit_line(E, "{");
  E->indent++;
  emit_line(E, "float *aotc_acc = aotc_o;");
  print_simd(E);
  if (len)
    emit_open_block(E, "for (int64_t aotc_ww = 0; aotc_ww < %lld; aotc_ww++)", (long long)len);
  else
    emit_open_block(E, "for (int64_t aotc_ww = 0; aotc_ww < aotc_nr * %lld; aotc_ww++)", (long long)k->q1);
  print_pointwise(E, k);
  emit_line(E, "aotc_acc[aotc_ww] = aotc_v%d;", k->end - 1 - k->first);
  emit_close_block(E);
  emit_close_block(E);
}

/* Whether e calls no function but min, max and abs: pointwise work cheap
 * enough to end the passes in registers in 32-byte vectors. A row of 8
 * floats at a time keeps an exponential's (SiLU's, the sigmoid's) long
 * chain from overlapping the next: EfficientNet-B0's SiLU window at 56
 * columns took 0.356-0.396 ms so, 0.280-0.328 with its per-row pass over
 * 56; in 64-byte vectors (112 columns) ending in registers stays ahead,
 * 0.262-0.278 against 0.281-0.306. */
static bool cheap_value(const ir_expr *e)
{
  if (e->kind == IR_CALL && e->fn != IR_FN_FMAX && e->fn != IR_FN_FMIN && e->fn != IR_FN_MAX && e->fn != IR_FN_MIN &&
      e->fn != IR_FN_ABS && e->fn != IR_FN_FABS)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!cheap_value(e->args[j]))
      return false;
  return true;
}

/* Whether the pass's rows end where they are summed (k->fused). */
static bool fused_plan(const win_kernel *k, bool flat)
{
  if (flat || k->red != IR_RED_ADD || k->lanes <= 1 || plane_width(k) != k->dim[3])
    return false;
  if (k->lanes >= 16)
    return true;
  for (int i = k->taps_end; i < k->end; i++)
    if (!cheap_value(k->f->stmts[i]->rhs))
      return false;
  return true;
}

/* Per row of the strip, from its sums in aotc_o (rows q1 apart), the
 * pointwise statements (unless the flat pass ran them) and the stores. */
static void print_strip_ends(emit_fn *E, win_kernel *k, bool flat)
{
  emit_open_block(E, "for (int64_t aotc_wh = aotc_h0; aotc_wh < aotc_h0 + aotc_nr; aotc_wh++)");
  emit_line(E, "const float *aotc_acc = &aotc_o[(aotc_wh - aotc_h0) * %lld];", (long long)k->q1);
  print_row_end(E, k, flat);
  emit_close_block(E);
}

/* Whether the plane kernel sums by masked loads where the code has
 * AVX-512: a stride-1 sum over a plane of at most WIN_MASKED_FLOATS floats,
 * as wide and as high as the output, in one strip. The sums then run flat
 * over the plane (q = row * width + column, no padding columns) in whole
 * 16-lane vectors, every tap one load of the input itself at the tap's flat
 * offset, masked to the outputs of the tap's box (the lanes whose read
 * would cross a row or leave the plane read nothing): no padded copy of
 * the plane, no sums past the row's end. Rows of whole vectors keep the
 * plane kernel, whose passes end in registers (fused_plan). MobileNetV2's
 * 3x3 windows (1 thread, bench/kernel_times.py, three rounds): over 7x7
 * planes of 960 channels 0.062-0.088 ms each as padded planes, 0.022-0.029
 * so; 14x14 0.044-0.085 to 0.028-0.058; 28x28 0.094-0.114 to 0.060-0.079;
 * at 56x56 (WIN_MASKED_FLOATS 4096) no gain. */
bool emit_window_masked(const emit_plan_fn *pf, const win_kernel *k)
{
  return k->plane && avx512_sums(pf, k) && k->str[0] == 1 && k->str[1] == 1 && k->in[0] == k->dim[2] && k->in[1] == k->dim[3] &&
         k->strip >= k->dim[2] && k->dim[3] % 16 != 0 && k->dim[2] * k->dim[3] <= WIN_MASKED_FLOATS &&
         (k->dim[2] * k->dim[3] + 15) / 16 * k->n_taps <= WIN_MASKED_LOADS;
}

/* The lanes of vector v (flat outputs 16 v ...) inside tap t's box. */
unsigned emit_window_tap_mask(const win_kernel *k, const win_tap *t, int64_t v)
{
  unsigned m = 0;
  for (int l = 0; l < 16; l++) {
    int64_t q = 16 * v + l, y = q / k->dim[3], x = q % k->dim[3];
    if (q < k->dim[2] * k->dim[3] && y >= t->lo[0] && y < t->hi[0] && x >= t->lo[1] && x < t->hi[1])
      m |= 1u << l;
  }
  return m;
}

/* Vectors [v0, nv) of the masked sums (emit_window_masked) into aotc_o, rows
 * k->dim[3] apart: per vector an accumulator from the start or bias, per
 * tap its weight times the masked load of the input at the tap's flat
 * offset. */
static void print_masked_group(emit_fn *E, const win_kernel *k, int64_t v0, int64_t nv)
{
  for (int64_t v = v0; v < nv; v++)
    emit_line(E, "__m512 aotc_m%lld = %s;", (long long)v,
              k->start || k->add ? "_mm512_set1_ps(aotc_kb)" : "_mm512_setzero_ps()");
  for (int t = 0; t < k->n_taps; t++) {
    const win_tap *tp = &k->tap[t];
    unsigned mask[WIN_MASKED_GROUP], any = 0;
    for (int64_t v = v0; v < nv; v++)
      any |= mask[v - v0] = emit_window_tap_mask(k, tp, v);
    if (tp->w && any)
      emit_line(E, "const __m512 aotc_w%d = _mm512_set1_ps(aotc_k%d);", t, t);
    for (int64_t v = v0; v < nv; v++) {
      unsigned m = mask[v - v0];
      long long off = (long long)(16 * v + tp->off[0] * k->in[1] + tp->off[1]);
      char at[48], load[96];
      if (!m)
        continue;
      snprintf(at, sizeof at, "aotc_xp %c %lld", off < 0 ? '-' : '+', off < 0 ? -off : off);
      if (m == 0xffffu)
        snprintf(load, sizeof load, "_mm512_loadu_ps(%s)", at);
      else
        snprintf(load, sizeof load, "_mm512_maskz_loadu_ps((__mmask16)0x%04x, %s)", m, at);
      if (tp->w)
        emit_line(E, "aotc_m%lld = _mm512_fmadd_ps(%s, aotc_w%d, aotc_m%lld);", (long long)v, load, t, (long long)v);
      else
        emit_line(E, "aotc_m%lld = _mm512_add_ps(aotc_m%lld, %s);", (long long)v, (long long)v, load);
    }
  }
  for (int64_t v = v0; v < nv; v++)
    emit_line(E, "_mm512_storeu_ps(&aotc_o[%lld], aotc_m%lld);", (long long)(16 * v), (long long)v);
}

/* The masked sums, WIN_MASKED_GROUP vectors at a time (their accumulators
 * in registers). */
static void print_masked_sums(emit_fn *E, const win_kernel *k)
{
  int64_t nv = (k->dim[2] * k->dim[3] + 15) / 16;
  for (int64_t v0 = 0; v0 < nv; v0 += WIN_MASKED_GROUP) {
    emit_line(E, "{");
    E->indent++;
    print_masked_group(E, k, v0, nv - v0 < WIN_MASKED_GROUP ? nv : v0 + WIN_MASKED_GROUP);
    emit_close_block(E);
  }
}

/* The masked plane kernel's strip (the whole plane): the sums, then the
 * pointwise statements and the stores as the plane kernel's, over rows of
 * the output's width. */
static void print_masked(emit_fn *E, win_kernel *k, bool flat)
{
  int64_t q1 = k->q1;
  k->q1 = k->dim[3];
  E->em->need_immintrin = true;
  emit_line(E, "(void)aotc_nb;");
  for (int a = 0; a < WIN_MAX_STRIDE; a++)
    for (int b = 0; b < WIN_MAX_STRIDE; b++)
      if (k->phase[a][b])
        emit_line(E, "(void)aotc_p%d_%d;", a, b);
  print_masked_sums(E, k);
  if (flat)
    print_flat_pointwise(E, k);
  print_strip_ends(E, k, flat);
  k->q1 = q1;
}

/* One strip of output rows: the planes, the sums, then per row the
 * pointwise statements and the stores. */
static void print_plane(emit_fn *E, win_kernel *k)
{
  emit_open_block(E, "for (int64_t aotc_h0 = 0; aotc_h0 < %lld; aotc_h0 += %lld)", (long long)k->dim[2],
                  (long long)k->strip);
  emit_line(E, "const int64_t aotc_nr = aotc_h0 + %lld <= %lld ? %lld : %lld - aotc_h0;", (long long)k->strip,
            (long long)k->dim[2], (long long)k->strip, (long long)k->dim[2]);
  emit_line(E, "const int64_t aotc_nb = (aotc_nr + %lld) / %lld * %lld;", (long long)(k->rows - 1),
            (long long)k->rows, (long long)k->rows);
  for (int a = 0; a < WIN_MAX_STRIDE; a++)
    for (int b = 0; b < WIN_MAX_STRIDE; b++)
      if (k->phase[a][b])
        emit_line(E, "float aotc_p%d_%d[%lld] AOTC_ALIGN(64);", a, b,
                  (long long)((k->strip + k->umax[0]) * k->q1 + k->lanes));
  emit_line(E, "float aotc_o[%lld] AOTC_ALIGN(64);",
            (long long)(k->strip * k->q1 + (k->lanes > WIN_FLAT_ROUND ? k->lanes : WIN_FLAT_ROUND)));
  E->em->need_align = true;
  bool flat = flat_plan(E, k), masked = emit_window_masked(E->pf, k);
  if (masked) {
    fputs(EMIT_AVX512_GUARD, E->out);
    print_masked(E, k, flat);
    fputs("#else\n", E->out);
  }
  emit_line(E, "const int64_t aotc_umax = %lld;", (long long)k->umax[0]);
  print_plane_fills(E, k);
  k->fused = fused_plan(k, flat);
  if (k->fused) /* with vectors its passes end in registers: only the scalar loops use aotc_o */
    emit_line(E, "(void)aotc_o;");
  print_plane_sums(E, k);
  if (flat)
    print_flat_pointwise(E, k);
  if (!k->fused)
    print_strip_ends(E, k, flat);
  k->fused = false;
  if (masked)
    fputs("#endif\n", E->out);
  emit_close_block(E);
}

/* ------------------------------------------------------------------------
 * Printing: the kernel
 * ------------------------------------------------------------------------ */

static int kernel_threads(const emit_fn *E, const win_kernel *k)
{
  int th = E->pf->sched.threads;
  return E->pf->heuristic ? sched_kernel_threads(E->f, k->first, k->end, th) : th;
}

/* One output row: the accumulator, its taps by input row, its end. */
static void print_row(emit_fn *E, win_kernel *k)
{
  emit_open_block(E, "for (int64_t aotc_wh = 0; aotc_wh < %lld; aotc_wh++)", (long long)k->dim[2]);
  emit_line(E, "float aotc_acc[%lld] AOTC_ALIGN(64);", (long long)k->dim[3]);
  E->em->need_align = true;
  if (k->start) {
    open_columns(E, 0, k->dim[3]);
    emit_line(E, "aotc_acc[aotc_ww] = aotc_kb;");
    emit_close_block(E);
  }
  if (!k->start)
    print_group(E, k, k->tap[0].group);
  for (int g = 0; g < k->n_groups; g++)
    if (k->start || g != k->tap[0].group)
      print_group(E, k, g);
  print_row_end(E, k, false);
  emit_close_block(E);
}

/* (void)T; for the temporaries the kernel writes no more (their
 * workspace pointers are declared all the same). */
static void print_unstored(emit_fn *E, const win_kernel *k)
{
  for (int i = k->first; i < k->end; i++) {
    int t = E->f->stmts[i]->tensor;
    if (!emit_window_written(k, t, i) && !emit_window_stored(k, t))
      emit_line(E, "(void)%s;", E->tensor_c[t]);
  }
}

static void print_window(emit_fn *E, win_kernel *k)
{
  const ir_stmt *s0 = E->f->stmts[k->first];
  emit_line(E, "/* statements %d..%d: a window of %d taps, stride %lldx%lld, as a %s kernel (emit_window.c) */",
            k->first, k->end - 1, k->n_taps, (long long)k->str[0], (long long)k->str[1], k->plane ? "plane" : "row");
  print_unstored(E, k);
  int th = kernel_threads(E, k);
  if (th > 1)
    fprintf(E->out, E->em->tg->parallel_for, th);
  emit_open_block(E, "for (int64_t aotc_wq = 0; aotc_wq < %lld; aotc_wq++)", (long long)(k->dim[0] * k->dim[1]));
  emit_line(E, "const int64_t aotc_wn = aotc_wq / %lld, aotc_wc = aotc_wq %% %lld;", (long long)k->dim[1],
            (long long)k->dim[1]);
  emit_line(E, "(void)aotc_wn;");
  print_channel_locals(E, k);
  if (k->plane)
    print_plane(E, k);
  else
    print_row(E, k);
  print_pool_end(E, k);
  emit_close_block(E);
  E->stmt = s0;
}

bool emit_window_print_kernel(emit_fn *E, const emit_kernel *ek)
{
  win_kernel k;
  if (ek->first < E->win_end) {
    emit_line(E, "/* statements %d..%d: in the window row kernel above */", ek->first, ek->end - 1);
    return true;
  }
  if (!emit_window_recognise(E->f, E->pf, ek, emit_target_is_gpu(E->em->tg), &k))
    return false;
  E->win = &k;
  print_window(E, &k);
  E->win = NULL;
  E->win_end = k.pool_end;
  return true;
}
