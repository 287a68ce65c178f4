/* emit_cuda_transp.c: CUDA kernels for an elementwise statement that reads
 * a tensor transposed, O(.., i, j) = f(A(.., j, i), ...): mapped as isl's
 * kernels are (j, the innermost loop, to threadIdx.x; i to threadIdx.y),
 * the read's fastest subscript i would be the thread's y, and a warp would
 * read 32 rows. The read is promoted through a shared tile instead: the
 * block loads a TT x TT tile of it with threadIdx.x along i (coalesced),
 * waits at a barrier, then every thread computes its elements with
 * threadIdx.x along j (coalesced writes), taking the read from the tile
 * (padded by one column: no bank conflicts either way), and waits again
 * before the next tile overwrites it. Elements outside the sizes are
 * guarded inside the loops; every loop around a barrier depends only on
 * blockIdx and the sizes, so all threads of a block reach each barrier.
 * The indices left of i and j go to blockIdx.z, one slice at a time. */
#include "emit_print.h"

/* The tile's side; threads along y (each runs TT / TT_Y rows of it). */
enum { TT = 32, TT_Y = 8 };

int emit_cuda_transpose_shared_bytes(void)
{
  return TT * (TT + 1) * (int)sizeof(float);
}

void emit_cuda_transpose_block(int block[3])
{
  block[0] = TT;
  block[1] = TT_Y;
  block[2] = 1;
}

/* ------------------------------------------------------------------------
 * Which statements
 * ------------------------------------------------------------------------ */

static bool promotable(const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  int y = s->lhs[s->n_lhs - 2], x = s->lhs[s->n_lhs - 1];
  if (e->tensor == s->tensor || f->tensors[e->tensor]->type != IR_F32 || e->n_args < 2)
    return false;
  bool uses_x = false;
  for (int j = 0; j < e->n_args; j++) {
    if (e->args[j]->kind != IR_INDEX)
      return false;
    uses_x = uses_x || e->args[j]->index == x;
  }
  return uses_x && e->args[e->n_args - 1]->index == y;
}

/* The first promotable read of e, outside subscripts. */
static const ir_expr *find_read(const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  if (!e)
    return NULL;
  if (e->kind == IR_ACCESS)
    return promotable(f, s, e) ? e : NULL;
  for (int j = 0; j < e->n_args; j++) {
    const ir_expr *r = find_read(f, s, e->args[j]);
    if (r)
      return r;
  }
  return NULL;
}

const ir_expr *emit_cuda_transposed_read(const ir_func *f, const ir_stmt *s)
{
  if (!ir_stmt_is_plain(s) || s->red != IR_RED_NONE || s->init || s->n_lhs < 2 || s->n_index != s->n_lhs ||
      ir_expr_reads(s->rhs, s->tensor))
    return NULL;
  return find_read(f, s, s->rhs);
}

/* ------------------------------------------------------------------------
 * The kernel
 * ------------------------------------------------------------------------ */

/* The points of index x of the statement being printed: hi, or (hi - lo). */
static void print_range(emit_fn *E, int x)
{
  int64_t lo;
  if (ir_size_is_const(E->stmt->index[x].lo, &lo) && lo == 0) {
    emit_print_size(E, E->stmt->index[x].hi);
    return;
  }
  fputs("(", E->out);
  emit_print_size(E, E->stmt->index[x].hi);
  fputs(" - ", E->out);
  emit_print_size(E, E->stmt->index[x].lo);
  fputs(")", E->out);
}

/* lo + of index x: nothing when lo is 0. */
static void print_lo(emit_fn *E, int x)
{
  int64_t lo;
  if (ir_size_is_const(E->stmt->index[x].lo, &lo) && lo == 0)
    return;
  emit_print_size(E, E->stmt->index[x].lo);
  fputs(" + ", E->out);
}

/* 1 * range * range ... over the batch indices (left of the last two). */
static void print_batches(emit_fn *E)
{
  fputs("(int64_t)1", E->out);
  for (int j = 0; j < E->stmt->n_lhs - 2; j++) {
    fputs(" * ", E->out);
    print_range(E, E->stmt->lhs[j]);
  }
}

/* The batch indices from the slice number aotc_q, the last fastest. */
static void print_batch_indices(emit_fn *E)
{
  const ir_stmt *s = E->stmt;
  for (int j = 0; j < s->n_lhs - 2; j++) {
    emit_indent(E);
    fprintf(E->out, "const int64_t aotc_x%d = ", s->lhs[j]);
    print_lo(E, s->lhs[j]);
    fputs("aotc_q", E->out);
    for (int u = j + 1; u < s->n_lhs - 2; u++) {
      fputs(" / ", E->out);
      print_range(E, s->lhs[u]);
    }
    if (j > 0) {
      fputs(" % ", E->out);
      print_range(E, s->lhs[j]);
    }
    fputs(";\n", E->out);
  }
}

/* The block's rows of the tile: load (threadIdx.x along i, the read's
 * fastest subscript) into aotc_t[j][i], or compute (threadIdx.x along j)
 * reading aotc_t. */
static void print_phase(emit_fn *E, const ir_expr *read, bool load)
{
  const ir_stmt *s = E->stmt;
  int y = s->lhs[s->n_lhs - 2], x = s->lhs[s->n_lhs - 1];
  const char *oy = load ? "aotc_tx" : "aotc_r", *ox = load ? "aotc_r" : "aotc_tx";
  emit_open_block(E, "for (int aotc_r = aotc_ty; aotc_r < %d; aotc_r += %d)", TT, TT_Y);
  emit_open_block(E, "if (aotc_i0 + %s < aotc_ni && aotc_j0 + %s < aotc_nj)", oy, ox);
  emit_indent(E);
  fprintf(E->out, "const int64_t aotc_x%d = ", y);
  print_lo(E, y);
  fprintf(E->out, "aotc_i0 + %s, aotc_x%d = ", oy, x);
  print_lo(E, x);
  fprintf(E->out, "aotc_j0 + %s;\n", ox);
  emit_indent(E);
  if (load) {
    fputs("aotc_t[aotc_r][aotc_tx] = ", E->out);
    emit_print_read(E, read);
  } else {
    E->tile_read = read;
    emit_print_update(E, s);
    E->tile_read = NULL;
  }
  fputs(";\n", E->out);
  emit_close_block(E);
  emit_close_block(E);
  emit_line(E, "%s", E->em->tg->barrier);
}

void emit_cuda_print_transpose_body(emit_fn *E, int stmt)
{
  const ir_stmt *s = E->f->stmts[stmt];
  const ir_expr *read = emit_cuda_transposed_read(E->f, s);
  E->stmt = s;
  for (int x = 0; x < s->n_index; x++)
    emit_bind_index(E, x);
  E->indent = 1;
  emit_line(E, "%s float aotc_t[%d][%d];", E->em->tg->shared_data, TT, TT + 1);
  emit_line(E, "const int aotc_tx = (int)threadIdx.x, aotc_ty = (int)threadIdx.y;");
  emit_indent(E);
  fputs("const int64_t aotc_ni = ", E->out);
  print_range(E, s->lhs[s->n_lhs - 2]);
  fputs(", aotc_nj = ", E->out);
  print_range(E, s->lhs[s->n_lhs - 1]);
  fputs(", aotc_nb = ", E->out);
  print_batches(E);
  fputs(";\n", E->out);
  emit_open_block(E, "for (int64_t aotc_q = blockIdx.z; aotc_q < aotc_nb; aotc_q += gridDim.z)");
  print_batch_indices(E);
  emit_open_block(E, "for (int64_t aotc_i0 = (int64_t)blockIdx.y * %d; aotc_i0 < aotc_ni; "
                     "aotc_i0 += (int64_t)gridDim.y * %d)", TT, TT);
  emit_open_block(E, "for (int64_t aotc_j0 = (int64_t)blockIdx.x * %d; aotc_j0 < aotc_nj; "
                     "aotc_j0 += (int64_t)gridDim.x * %d)", TT, TT);
  print_phase(E, read, true);
  print_phase(E, read, false);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  emit_unbind_indices(E, s);
  E->stmt = NULL;
}

/* dim3(column tiles, row tiles, slices) for the entry's launch. */
void emit_cuda_print_transpose_grid(emit_fn *E, int stmt)
{
  const ir_stmt *s = E->f->stmts[stmt];
  E->stmt = s;
  fputs("dim3(aotc_cuda_grid_dim((", E->out);
  print_range(E, s->lhs[s->n_lhs - 1]);
  fprintf(E->out, " + %d) / %d, 2147483647), aotc_cuda_grid_dim((", TT - 1, TT);
  print_range(E, s->lhs[s->n_lhs - 2]);
  fprintf(E->out, " + %d) / %d, 65535), aotc_cuda_grid_dim(", TT - 1, TT);
  print_batches(E);
  fputs(", 65535))", E->out);
  E->stmt = NULL;
}
