/* partition.c: kernel partitioning of a lowered model. The statements of
 * one node form one kernel (a group isl schedules on its own); a node whose
 * statements only read the current kernel's results pointwise (elementwise
 * consumers: bias, batch normalisation, activations, residual adds) joins
 * that kernel. A contraction (C += A * B over plain accesses) stays alone so
 * that the backend can give it the packed micro-kernel path. A statement
 * that reads a result of its kernel at another point (a convolution's taps
 * over its padded copy) starts a new kernel: the rest can then be fused into
 * one pass without shifted loops. */
#include "graph.h"
#include "../schedule/schedule.h"

#include <string.h>

#define KERNEL_MAX_STMTS 32 /* fusion stops here: isl's work and the temporaries live at once grow with it */

/* Whether subscript a reads left-hand index x of s: x itself, or 0 where x
 * only takes the value 0 (a broadcast read of a size-1 dimension). */
static bool reads_lhs_index(const ir_stmt *s, const ir_expr *a, int x)
{
  int64_t lo, hi;
  if (a->kind == IR_INDEX)
    return a->index == x;
  return a->kind == IR_CONST_INT && a->ival == 0 && ir_size_is_const(s->index[x].lo, &lo) &&
         ir_size_is_const(s->index[x].hi, &hi) && lo == 0 && hi == 1;
}

static bool is_identity_access(const ir_stmt *s, const ir_expr *e)
{
  if (e->padded || e->n_args != s->n_lhs)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!reads_lhs_index(s, e->args[j], s->lhs[j]))
      return false;
  return true;
}

/* Whether e reads the tensors marked in `written` only at the statement's
 * own point; *reads counts such reads. */
static bool reads_pointwise(const ir_stmt *s, const ir_expr *e, const bool *written, int *reads)
{
  if (e->kind == IR_ACCESS && written[e->tensor]) {
    if (!is_identity_access(s, e))
      return false;
    ++*reads;
  }
  for (int k = 0; k < e->n_args; k++)
    if (!reads_pointwise(s, e->args[k], written, reads))
      return false;
  return true;
}

/* A subscript of indices, integer constants, sums and products (the
 * window positions of a convolution). */
static bool index_arith(const ir_expr *e)
{
  if (e->kind == IR_INDEX || e->kind == IR_CONST_INT)
    return true;
  return e->kind == IR_BINARY && (e->op == IR_ADD || e->op == IR_MUL) && index_arith(e->args[0]) &&
         index_arith(e->args[1]);
}

static bool is_plain_access(const ir_expr *e)
{
  if (e->kind != IR_ACCESS || e->padded)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!index_arith(e->args[j]))
      return false;
  return true;
}

/* Elements of the statement's left-hand side; -1 when not constant. */
static int64_t lhs_points(const ir_stmt *s)
{
  int64_t n = 1, lo, hi;
  for (int j = 0; j < s->n_lhs; j++) {
    const ir_index *x = &s->index[s->lhs[j]];
    if (!ir_size_is_const(x->lo, &lo) || !ir_size_is_const(x->hi, &hi))
      return -1;
    n *= hi - lo;
  }
  return n;
}

/* A contraction with an output worth a packed matrix multiplication (a
 * batch-1 matrix-vector product is not: it stays with its bias). */
static bool is_contraction(const ir_func *f, const ir_stmt *s)
{
  const ir_expr *e = s->rhs;
  int64_t points = ir_stmt_is_plain(s) ? lhs_points(s) : 0;
  return ir_stmt_is_plain(s) && s->red == IR_RED_ADD && s->n_index > s->n_lhs &&
         f->tensors[s->tensor]->type == IR_F32 &&
         (points < 0 || points >= SCHED_PACKED_MIN_OUTPUT) &&
         e->kind == IR_BINARY && e->op == IR_MUL && is_plain_access(e->args[0]) && is_plain_access(e->args[1]);
}

/* Whether the statements first..end-1 (one node) can join the kernel whose
 * written tensors are marked. */
static bool fuses(const ir_func *f, int first, int end, const bool *written)
{
  int reads = 0;
  for (int i = first; i < end; i++) {
    const ir_stmt *s = f->stmts[i];
    if (!ir_stmt_is_plain(s) || s->red != IR_RED_NONE || s->n_index != s->n_lhs || is_contraction(f, s) ||
        !reads_pointwise(s, s->rhs, written, &reads))
      return false;
  }
  return reads > 0;
}

/* Whether e reads a tensor marked in `written` at other than the
 * statement's own point (a stencil over a result of the kernel, such as a
 * convolution's taps over its padded copy). */
static bool reads_shifted(const ir_stmt *s, const ir_expr *e, const bool *written)
{
  if (e->kind == IR_ACCESS && written[e->tensor] && !is_identity_access(s, e))
    return true;
  for (int k = 0; k < e->n_args; k++)
    if (reads_shifted(s, e->args[k], written))
      return true;
  return false;
}

/* Whether a gradient-synchronisation call (ir_sync) comes before
 * statement i: a kernel starts there. */
static bool sync_before(const ir_func *f, int i)
{
  for (int k = 0; k < f->n_syncs; k++)
    if (f->syncs[k].before == i)
      return true;
  return false;
}

/* Whether a row kernel's node (statements i..end-1: softmax, a layer norm)
 * can join the kernel first..i-1 of maps over the same rows (attention's
 * scale and mask before its softmax): the rows then pass through the
 * cache once. */
static bool joins_rows(const ir_func *f, int first, int i, int end)
{
  if (first >= i || end - first > KERNEL_MAX_STMTS || sched_row_prefix(f, i, end) <= 0)
    return false;
  for (int j = first; j < i; j++) {
    const ir_stmt *s = f->stmts[j];
    if (!ir_stmt_is_plain(s) || s->red != IR_RED_NONE || s->n_index != s->n_lhs || is_contraction(f, s))
      return false;
  }
  return sched_row_prefix(f, first, end) > 0;
}

static void new_kernel(const ir_func *f, int *k, bool *written)
{
  ++*k;
  memset(written, 0, sizeof(bool) * (size_t)f->n_tensors);
}

bool ir_partition(aotc_ctx *ctx, ir_func *f, const int *stmt_node)
{
  int *kernel = IR_NEW_ARRAY(ctx, int, f->n_stmts);
  bool *written = IR_NEW_ARRAY(ctx, bool, f->n_tensors);
  if (!kernel || !written)
    return false;
  int k = -1, first = 0;
  bool alone = false;
  for (int i = 0, end; i < f->n_stmts; i = end) {
    for (end = i + 1; end < f->n_stmts && stmt_node[end] == stmt_node[i] && !ir_region_starts_leaf(f, end) &&
                          !sync_before(f, end);
         end++)
      ;
    if (k < 0 || alone || end - first > KERNEL_MAX_STMTS || ir_region_starts_block(f, i) ||
        sync_before(f, i) || (!fuses(f, i, end, written) && !joins_rows(f, first, i, end))) {
      new_kernel(f, &k, written);
      first = i;
    }
    bool rows = sched_row_prefix(f, i, end) > 0;
    for (int j = i; j < end; j++) {
      const ir_stmt *s = f->stmts[j];
      bool contraction = is_contraction(f, s);
      if (j > i && (contraction || alone || (!rows && ir_stmt_is_plain(s) && reads_shifted(s, s->rhs, written)))) {
        new_kernel(f, &k, written);
        first = j;
      }
      kernel[j] = k;
      written[f->stmts[j]->tensor] = true;
      alone = contraction;
    }
  }
  f->stmt_kernel = kernel;
  return true;
}

/* A function written in TC (no operator per statement) stays one kernel
 * for isl to schedule and fuse, except that each contraction worth the
 * packed micro-kernel is a kernel of its own: the statements before it, the
 * contraction, and the statements after it (its bias and activation, which
 * the C backend applies in the contraction's store when the epilogue pass
 * marked them). Nothing changes for a function without such a contraction
 * or of one statement. */
bool ir_partition_contractions(aotc_ctx *ctx, ir_func *f)
{
  int n = 0;
  for (int i = 0; i < f->n_stmts; i++)
    n += is_contraction(f, f->stmts[i]);
  if (!n || f->n_stmts < 2 || f->body || f->n_syncs)
    return true;
  int *kernel = IR_NEW_ARRAY(ctx, int, f->n_stmts);
  if (!kernel)
    return false;
  for (int i = 0, k = 0; i < f->n_stmts; i++) {
    bool c = is_contraction(f, f->stmts[i]);
    if (i > 0 && (c || is_contraction(f, f->stmts[i - 1])))
      k++;
    kernel[i] = k;
  }
  f->stmt_kernel = kernel;
  return true;
}
