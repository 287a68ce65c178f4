/* emit_cuda_contr.c: CUDA kernels for contractions (sched_find_contraction:
 * C(b.., I.., J..) (+)=(!) A(.. I .. K ..) * B(.. K .. J ..), flattened to a
 * matrix product of M rows, N columns and depth K), with the operands'
 * tiles promoted to shared memory. A block of 16 x 16 threads computes a
 * 64 x 64 tile of C, each thread a 4 x 4 register tile (rows ty + 16 i,
 * columns tx + 16 j); the depth goes in steps of 16: the block loads the
 * 64 x 16 tile of A and the 16 x 64 tile of B into shared memory (guarded
 * reads: zero outside the matrices; padded reads bounds-checked by the
 * printer), waits at a barrier, accumulates, and waits again before the
 * next step overwrites the tiles. Every loop around a barrier depends only
 * on blockIdx and the sizes, so all threads of a block reach each barrier. */
#include "emit_print.h"

/* Tile sizes: the block's rows, columns, depth step; threads per side. */
enum { CT_BM = 64, CT_BN = 64, CT_BK = 16, CT_T = 16, CT_R = CT_BM / CT_T };

int emit_cuda_contraction_shared_bytes(void)
{
  return (CT_BK * CT_BM + CT_BK * CT_BN) * (int)sizeof(float);
}

void emit_cuda_contraction_block(int block[3])
{
  block[0] = CT_T;
  block[1] = CT_T;
  block[2] = 1;
}

/* ------------------------------------------------------------------------
 * Sizes and indices
 * ------------------------------------------------------------------------ */

/* 1 * |x0| * |x1| ... over the indices set[0..n-1]. */
static void print_extent(emit_fn *E, const int *set, int n)
{
  fputs("(int64_t)1", E->out);
  for (int t = 0; t < n; t++) {
    fputs(" * ", E->out);
    emit_print_size(E, E->stmt->index[set[t]].hi);
  }
}

static void print_extent_line(emit_fn *E, const char *name, const int *set, int n)
{
  emit_indent(E);
  fprintf(E->out, "const int64_t %s = ", name);
  print_extent(E, set, n);
  fputs(";\n", E->out);
}

/* Declares the indices set[0..n-1] from their flattened value `flat`. */
static void print_decompose(emit_fn *E, const int *set, int n, const char *flat)
{
  for (int t = 0; t < n; t++) {
    emit_indent(E);
    fprintf(E->out, "const int64_t aotc_x%d = (%s)", set[t], flat);
    for (int u = t + 1; u < n; u++) {
      fputs(" / ", E->out);
      emit_print_size(E, E->stmt->index[set[u]].hi);
    }
    if (t > 0) {
      fputs(" % ", E->out);
      emit_print_size(E, E->stmt->index[set[t]].hi);
    }
    fputs(";\n", E->out);
  }
}

/* ------------------------------------------------------------------------
 * The kernel
 * ------------------------------------------------------------------------ */

/* A loop over the thread's register tile, unrolled so that the tile stays
 * in registers. */
static void print_unrolled(emit_fn *E, const char *var)
{
  emit_line(E, "AOTC_UNROLL(%d)", CT_R);
  emit_open_block(E, "for (int %s = 0; %s < %d; %s++)", var, var, CT_R, var);
}

/* One operand's tile into shared memory: tile[kk][lane] for lane < width,
 * kk < CT_BK; element l of the block's 256 threads' walk has its lane
 * fastest when the lanes are contiguous (B), its depth fastest otherwise (A). */
static void print_load(emit_fn *E, const sched_contraction *c, const ir_expr *read, const char *tile,
                       const int *lanes, int n_lanes, const char *lane0, const char *lane_end, bool lane_fastest)
{
  int width = CT_BM;
  emit_open_block(E, "for (int aotc_l = aotc_tid; aotc_l < %d; aotc_l += %d)", width * CT_BK, CT_T * CT_T);
  if (lane_fastest)
    emit_line(E, "const int aotc_lane = aotc_l %% %d, aotc_kk = aotc_l / %d;", width, width);
  else
    emit_line(E, "const int aotc_lane = aotc_l / %d, aotc_kk = aotc_l %% %d;", CT_BK, CT_BK);
  emit_line(E, "const int64_t aotc_fl = %s + aotc_lane, aotc_fk = aotc_p0 + aotc_kk;", lane0);
  emit_line(E, "float aotc_v = 0.0f;");
  emit_open_block(E, "if (aotc_fl < %s && aotc_fk < aotc_k)", lane_end);
  print_decompose(E, lanes, n_lanes, "aotc_fl");
  print_decompose(E, c->depth, c->n_depth, "aotc_fk");
  emit_indent(E);
  fputs("aotc_v = ", E->out);
  emit_print_read(E, read);
  fputs(";\n", E->out);
  emit_close_block(E);
  emit_line(E, "%s[aotc_kk][aotc_lane] = aotc_v;", tile);
  emit_close_block(E);
}

static void print_products(emit_fn *E)
{
  const char *barrier = E->em->tg->barrier;
  emit_line(E, "%s", barrier);
  emit_line(E, "AOTC_UNROLL(%d)", CT_BK);
  emit_open_block(E, "for (int aotc_kk = 0; aotc_kk < %d; aotc_kk++)", CT_BK);
  emit_line(E, "float aotc_a[%d], aotc_b[%d];", CT_R, CT_R);
  print_unrolled(E, "aotc_r");
  emit_line(E, "aotc_a[aotc_r] = aotc_As[aotc_kk][aotc_ty + %d * aotc_r];", CT_T);
  emit_line(E, "aotc_b[aotc_r] = aotc_Bs[aotc_kk][aotc_tx + %d * aotc_r];", CT_T);
  emit_close_block(E);
  print_unrolled(E, "aotc_r");
  print_unrolled(E, "aotc_s");
  emit_line(E, "aotc_acc[aotc_r][aotc_s] += aotc_a[aotc_r] * aotc_b[aotc_s];");
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  emit_line(E, "%s", barrier);
}

/* C = acc (+=!) or C += acc, for the thread's elements inside C. */
static void print_store(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  print_unrolled(E, "aotc_r");
  print_unrolled(E, "aotc_s");
  emit_line(E, "const int64_t aotc_fi = aotc_i0 + aotc_ty + %d * aotc_r, aotc_fj = aotc_j0 + aotc_tx + %d * aotc_s;",
            CT_T, CT_T);
  emit_open_block(E, "if (aotc_fi < aotc_m && aotc_fj < aotc_n)");
  print_decompose(E, c->rows, c->n_rows, "aotc_fi");
  print_decompose(E, c->cols, c->n_cols, "aotc_fj");
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(c->init ? " = aotc_acc[aotc_r][aotc_s];\n" : " += aotc_acc[aotc_r][aotc_s];\n", E->out);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

static void print_batch_indices(emit_fn *E, const sched_contraction *c)
{
  if (c->n_batch > 0)
    print_decompose(E, c->batch, c->n_batch, "aotc_q");
}

static void print_tile_loops(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  emit_open_block(E, "for (int64_t aotc_q = blockIdx.z; aotc_q < aotc_nb; aotc_q += gridDim.z)");
  print_batch_indices(E, c);
  emit_open_block(E, "for (int64_t aotc_i0 = (int64_t)blockIdx.y * %d; aotc_i0 < aotc_m; aotc_i0 += (int64_t)gridDim.y "
                     "* %d)", CT_BM, CT_BM);
  emit_open_block(E, "for (int64_t aotc_j0 = (int64_t)blockIdx.x * %d; aotc_j0 < aotc_n; aotc_j0 += (int64_t)gridDim.x "
                     "* %d)", CT_BN, CT_BN);
  emit_line(E, "float aotc_acc[%d][%d] = {{0.0f}};", CT_R, CT_R);
  emit_open_block(E, "for (int64_t aotc_p0 = 0; aotc_p0 < aotc_k; aotc_p0 += %d)", CT_BK);
  print_load(E, c, c->a, "aotc_As", c->rows, c->n_rows, "aotc_i0", "aotc_m", false);
  print_load(E, c, c->b, "aotc_Bs", c->cols, c->n_cols, "aotc_j0", "aotc_n", true);
  print_products(E);
  emit_close_block(E);
  print_store(E, c, s);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

/* The body of the kernel of contraction ci (inside its braces). */
void emit_cuda_print_contraction_body(emit_fn *E, int ci)
{
  const sched_contraction *c = &E->pf->contr[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  const char *shared = E->em->tg->shared_data;
  E->stmt = s;
  for (int x = 0; x < s->n_index; x++)
    emit_bind_index(E, x);
  E->indent = 1;
  emit_line(E, "%s float aotc_As[%d][%d];", shared, CT_BK, CT_BM);
  emit_line(E, "%s float aotc_Bs[%d][%d];", shared, CT_BK, CT_BN);
  emit_line(E, "const int aotc_tx = (int)threadIdx.x, aotc_ty = (int)threadIdx.y, aotc_tid = aotc_ty * %d + aotc_tx;",
            CT_T);
  print_extent_line(E, "aotc_m", c->rows, c->n_rows);
  print_extent_line(E, "aotc_n", c->cols, c->n_cols);
  print_extent_line(E, "aotc_k", c->depth, c->n_depth);
  print_extent_line(E, "aotc_nb", c->batch, c->n_batch);
  print_tile_loops(E, c, s);
  emit_unbind_indices(E, s);
  E->stmt = NULL;
}

/* dim3(column tiles, row tiles, batches) for the entry's launch. */
void emit_cuda_print_contraction_grid(emit_fn *E, int ci)
{
  const sched_contraction *c = &E->pf->contr[ci];
  E->stmt = E->f->stmts[c->stmt];
  fputs("dim3(aotc_cuda_grid_dim((", E->out);
  print_extent(E, c->cols, c->n_cols);
  fprintf(E->out, " + %d) / %d, 2147483647), aotc_cuda_grid_dim((", CT_BN - 1, CT_BN);
  print_extent(E, c->rows, c->n_rows);
  fprintf(E->out, " + %d) / %d, 65535), aotc_cuda_grid_dim(", CT_BM - 1, CT_BM);
  print_extent(E, c->batch, c->n_batch);
  fputs(", 65535))", E->out);
  E->stmt = NULL;
}
