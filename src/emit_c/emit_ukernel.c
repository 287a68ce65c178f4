/* emit_ukernel.c: contractions on the micro-kernel path (emit_plan.h gives
 * each its blocks): the micro-kernels, the size of their packing buffers,
 * and the packed loops around them, in the target's spelling. */
#define _POSIX_C_SOURCE 200809L
#include "emit_print.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Contractions: packed BLIS-like loops around a register-tile micro-kernel
 *
 * C(i, j) (+)= A(.. i .. k ..) * B(.. k .. j ..) is computed block by block:
 * columns of C in blocks of nc, depth in blocks of kc (B's block packed in
 * panels of nr columns, or its full panels read where they lie: see
 * b_in_place_depth), rows in blocks of mc (A's block packed in panels of
 * mr rows), and an mr x nr tile of C accumulated in registers. The
 * micro-kernel reads B's panel rows ldb floats apart (nr when packed). The
 * packing buffers live in the workspace after the temporaries, one set per
 * thread.
 * ------------------------------------------------------------------------ */

/* The micro-kernel's name: aotc_ukr_f32_6x64_v16, and _s after it for the
 * variant that reads B in place (strided: print_ukr_vector). */
static void print_ukr_name(FILE *out, const sched_blocks *b, bool strided)
{
  fprintf(out, "aotc_ukr_f32_%dx%d_v%d%s", b->mr, b->nr, b->vw, strided ? "_s" : "");
}

/* Records a micro-kernel the code calls; em->ukr has room for every
 * contraction of the plan. */
static void use_ukr(emit_module *em, const sched_blocks *b, bool strided)
{
  for (int i = 0; i < em->n_ukr; i++)
    if (em->ukr[i].mr == b->mr && em->ukr[i].nr == b->nr && em->ukr[i].vw == b->vw && em->ukr_strided[i] == strided)
      return;
  em->ukr_strided[em->n_ukr] = strided;
  em->ukr[em->n_ukr++] = *b;
}

/* A full tile's lines of C, asked for before the depth loop so that
 * they arrive while it runs (rows of C are often 4 KiB apart). */
static void print_ukr_prefetch_c(FILE *out, const sched_blocks *b)
{
  fprintf(out, "  if (mr == %d && nr == %d && cs == 1)\n    for (int i = 0; i < %d; i++) {\n", b->mr, b->nr, b->mr);
  for (int v = 0; v < b->nr; v += 16)
    fprintf(out, "      __builtin_prefetch(c + i * rs + %d, 1);\n", v);
  fputs("    }\n", out);
}

/* Columns a narrow tile computes with vectors down A's rows. */
#define UKR_NARROW 4

/* One depth step of a narrow tile: q vectors of columns as in the full
 * path, then UKR_NARROW columns as vectors over the rows (lanes = rows). */
static void print_narrow_step(FILE *out, const sched_blocks *b, int q)
{
  for (int v = 0; v < q; v++)
    fprintf(out, "      const aotc_vf%d b%d = *(const aotc_vf%d *)(b + ldb * p + %d);\n", b->vw, v, b->vw, v * b->vw);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < q; v++)
      fprintf(out, "      c%d_%d += b%d * a[%d * p + %d];\n", r, v, v, b->mr, r);
  for (int j = 0; j < UKR_NARROW; j++)
    fprintf(out, "      n%d += av * b[ldb * p + %d];\n", j, q * b->vw + j);
}

/* A tile of at most q * vw + UKR_NARROW columns (the last tile of a product
 * whose columns are just past a multiple of the vector width: 49 = 32 + 17
 * pays q + 1 column vectors, not nr / vw). A's panel is read a vector at a
 * step (vw <= 2 mr keeps the read inside the panel; the last step copies). */
static void print_ukr_narrow(FILE *out, const sched_blocks *b, int q)
{
  fprintf(out, "  %sif (nr <= %d) {\n    aotc_vf%d av", q ? "} else " : "", q * b->vw + UKR_NARROW, b->vw);
  for (int j = 0; j < UKR_NARROW; j++)
    fprintf(out, ", n%d = {0.0f}", j);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < q; v++)
      fprintf(out, ", c%d_%d = {0.0f}", r, v);
  fputs(";\n    int64_t p = 0;\n    for (; p + 1 < kc; p++) {\n", out);
  fprintf(out, "      av = *(const aotc_vf%d *)(a + %d * p);\n", b->vw, b->mr);
  print_narrow_step(out, b, q);
  fprintf(out, "    }\n    av = (aotc_vf%d){0.0f};\n    __builtin_memcpy(&av, a + %d * p, %d);\n    {\n", b->vw,
          b->mr, b->mr * 4);
  print_narrow_step(out, b, q);
  fputs("    }\n", out);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < q; v++)
      fprintf(out, "    *(aotc_vf%d *)(t + %d) = c%d_%d;\n", b->vw, r * b->nr + v * b->vw, r, v);
  fprintf(out, "    for (int i = 0; i < %d; i++) {\n", b->mr);
  for (int j = 0; j < UKR_NARROW; j++)
    fprintf(out, "      t[i * %d + %d] = n%d[i];\n", b->nr, q * b->vw + j, j);
  fputs("    }\n", out);
}

/* Whether the micro-kernel has narrow tiles: vectors, A's panel of mr rows
 * read in vectors of vw within it, more than one vector of columns. */
static bool ukr_has_narrow(const sched_blocks *b)
{
  return b->vw > 1 && b->mr <= b->vw && 2 * b->mr >= b->vw && b->nr > b->vw;
}

/* The vector path: mr x nr/vw accumulator vectors, one broadcast of A per
 * row and depth, FMAs (contraction asked for with gcc's optimize); narrow
 * last tiles first (print_ukr_narrow). The variant for B read in place
 * (strided) asks at each depth step for the same row's lines of the next
 * panel, which the next call reads: B's rows are far apart and, at batch
 * 8, in memory, where a row's 128 bytes a call left the stream waiting
 * (MobileNetV2 at batch 8: 0.48-0.72 of those products' time with it). */
static void print_ukr_vector(FILE *out, const sched_blocks *b, bool strided)
{
  int nv = b->nr / b->vw;
  for (int q = 0; ukr_has_narrow(b) && q < nv; q++)
    print_ukr_narrow(out, b, q);
  if (ukr_has_narrow(b))
    fputs("  } else {\n", out);
  fprintf(out, "  aotc_vf%d", b->vw);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "%s c%d_%d = {0.0f}", r || v ? "," : "", r, v);
  fputs(";\n", out);
  print_ukr_prefetch_c(out, b);
  fputs("  for (int64_t p = 0; p < kc; p++) {\n", out);
  for (int v = 0; v < nv; v++)
    fprintf(out, "    const aotc_vf%d b%d = *(const aotc_vf%d *)(b + ldb * p + %d);\n", b->vw, v, b->vw, v * b->vw);
  fprintf(out, "    const float *ap = a + %d * p;\n    __builtin_prefetch(ap + %d);\n", b->mr,
          SCHED_UKR_PREFETCH_STEPS * b->mr);
  for (int v = 0; strided && v < b->nr; v += 16)
    fprintf(out, "    __builtin_prefetch(b + ldb * p + %d);\n", b->nr + v);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "    c%d_%d += b%d * ap[%d];\n", r, v, v, r);
  fprintf(out, "  }\n  if (mr == %d && nr == %d && cs == 1) {\n    if (first) {\n", b->mr, b->nr);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "      *(aotc_vf%d *)(c + %d * rs + %d) = c%d_%d;\n", b->vw, r, v * b->vw, r, v);
  fputs("    } else {\n", out);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "      *(aotc_vf%d *)(c + %d * rs + %d) += c%d_%d;\n", b->vw, r, v * b->vw, r, v);
  fputs("    }\n    return;\n  }\n", out);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "  *(aotc_vf%d *)(t + %d) = c%d_%d;\n", b->vw, r * b->nr + v * b->vw, r, v);
  if (ukr_has_narrow(b))
    fputs("  }\n", out);
}

/* The portable path: the tile in a local array. */
static void print_ukr_scalar(FILE *out, const sched_blocks *b)
{
  fprintf(out, "  for (int i = 0; i < %d; i++)\n    t[i] = 0.0f;\n", b->mr * b->nr);
  fprintf(out, "  for (int64_t p = 0; p < kc; p++)\n    for (int i = 0; i < %d; i++)\n", b->mr);
  fprintf(out, "      for (int j = 0; j < %d; j++)\n        t[i * %d + j] += a[%d * p + i] * b[ldb * p + j];\n",
          b->nr, b->nr, b->mr);
}

/* AOTC_ALIGN(n): the tile's alignment, stated. gcc 12 at -O2 for AVX-512
 * vectorises a local tile of 12 floats with aligned stores and, in a leaf
 * function, leaves the stack 8 bytes off them (a crash); asking for the
 * alignment makes it realign the frame (as do the window kernel's planes
 * in an OpenMP region's outlined function, emit_window.c). */
void emit_print_align_macro(FILE *out)
{
  fputs("#ifndef AOTC_ALIGN\n#if defined(__GNUC__)\n#define AOTC_ALIGN(n) __attribute__((__aligned__(n)))\n"
        "#else\n#define AOTC_ALIGN(n)\n#endif\n#endif\n",
        out);
}

static void print_ukr(FILE *out, const emit_target *tg, const sched_blocks *b, bool strided)
{
  char name[64];
  snprintf(name, sizeof(name), "ukr_f32_%dx%d_v%d%s", b->mr, b->nr, b->vw, strided ? "_s" : "");
  fprintf(out, "#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n", name, name);
  bool vec = b->vw > 1;
  if (vec) {
    fputs(tg->vector_guard, out);
    fprintf(out, "#ifndef AOTC_HAVE_vf%d\n#define AOTC_HAVE_vf%d\n", b->vw, b->vw);
    fprintf(out, tg->vector_type, b->vw, b->vw * 4);
    fputs("#endif\n", out);
    fputs(tg->fp_contract, out);
    fputs("#endif\n", out);
  }
  emit_print_align_macro(out);
  fprintf(out, "%s void ", tg->fn_qualifier[EMIT_FN_UKERNEL]);
  print_ukr_name(out, b, strided);
  fputs("(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t rs, int64_t cs,\n"
        "    int64_t mr, int64_t nr, int first)\n{\n", out);
  fprintf(out, "  float t[%d] AOTC_ALIGN(64);\n", b->mr * b->nr);
  if (vec) {
    fputs(tg->vector_guard, out);
    print_ukr_vector(out, b, strided);
    fputs("#else\n", out);
  }
  print_ukr_scalar(out, b);
  if (vec)
    fputs("#endif\n", out);
  fputs("  for (int64_t i = 0; i < mr; i++)\n    for (int64_t j = 0; j < nr; j++)\n", out);
  fprintf(out, "      c[i * rs + j * cs] = (first ? 0.0f : c[i * rs + j * cs]) + t[i * %d + j];\n}\n#endif\n\n",
          b->nr);
}

/* ---- sizes of the packing buffers */

/* The product of the ranges of set[0..n-1] without parameters; false if
 * unknown. */
static bool set_extent_value(const ir_func *f, const sched_contraction *c, const int *set, int n, int64_t *out)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_eval(f->stmts[c->stmt]->index[set[t]].hi, NULL, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return false;
  *out = v;
  return true;
}

/* The product of the ranges of set[0..n-1] as a C expression (malloc'ed). */
static char *set_extent_text(emit_fn *E, const sched_contraction *c, const int *set, int n)
{
  emit_text text;
  if (!emit_text_begin(E, &text))
    return NULL;
  fputc('(', E->out);
  for (int t = 0; t < n; t++) {
    fputs(t ? " * " : "", E->out);
    emit_print_size(E, E->f->stmts[c->stmt]->index[set[t]].hi);
  }
  fputc(')', E->out);
  return emit_text_end(E, &text);
}

/* Floats one thread packs into, for extents m, n, k (C expressions). */
static void print_pack_floats(emit_fn *E, const sched_blocks *b, const char *m, const char *n, const char *k)
{
  E->em->helper[EMIT_H_MIN] = true;
  fprintf(E->out, "((aotc_min(%d, %s) + %d) / %d * %d + (aotc_min(%d, %s) + %d) / %d * %d) * aotc_min(%d, %s) + 32",
          b->mc, m, b->mr - 1, b->mr, b->mr, b->nc, n, b->nr - 1, b->nr, b->nr, b->kc, k);
}

static int64_t min64(int64_t a, int64_t b)
{
  return a < b ? a : b;
}

static int64_t pack_floats_value(const sched_blocks *b, int64_t m, int64_t n, int64_t k)
{
  int64_t rows = (min64(b->mc, m) + b->mr - 1) / b->mr * b->mr;
  int64_t cols = (min64(b->nc, n) + b->nr - 1) / b->nr * b->nr;
  return (rows + cols) * min64(b->kc, k) + 32;
}

/* A product whose threads split its depth, not its rows or columns
 * (print_depth_split): few rows and columns for its depth (at least twice
 * as deep as it has rows, C at most DEPTH_SPLIT_MAX_C floats), one batch,
 * C = the sum (`+=!`). Its input then stays where its producer left it:
 * MobileNetV2's projections (64 x 196 x 384) read a depthwise convolution's
 * output whose channels (their depth) each thread wrote half of; split by
 * rows, every thread read all of it, half from the other core's cache.
 * Split by depth, each reads its own half, and the threads exchange only
 * halves of C (one pass summing the partial products, the fused epilogue
 * on the sum). That product and its producer alone, 2 threads: 0.079-0.088
 * and 0.027-0.031 ms rows split, 0.061-0.064 and 0.019-0.020 depth split
 * (bench/RESULTS.md, 2026-12-05 18:40-19:30 UTC). AOTC_DEPTH_SPLIT=0
 * turns it off (for measurements). */
#define DEPTH_SPLIT_MAX_C (64 * 1024)

static bool depth_split_on(void)
{
  const char *env = getenv("AOTC_DEPTH_SPLIT");
  return !env || strcmp(env, "0") != 0;
}

static bool shares_b(const emit_fn *E, int ci);

bool emit_ukernel_splits_depth(const ir_func *f, const emit_plan_fn *pf, int ci, bool b_shared)
{
  const sched_contraction *c = &pf->contr[ci];
  const sched_blocks *b = &pf->blocks[ci];
  const ir_stmt *s = f->stmts[c->stmt];
  if (b->threads < 2 || !c->init || b_shared || !depth_split_on())
    return false;
  int64_t m = sched_role_extent(s, c->rows, c->n_rows), n = sched_role_extent(s, c->cols, c->n_cols);
  int64_t k = sched_role_extent(s, c->depth, c->n_depth), nb = sched_role_extent(s, c->batch, c->n_batch);
  int64_t t = b->threads;
  /* k > (t - 1)^2: every thread's slice of the depth, ceil(k / t) each, is
   * non-empty, so every partial product is written */
  return nb == 1 && m > 0 && n > 0 && k >= 2 * m && k > (t - 1) * (t - 1) && m <= DEPTH_SPLIT_MAX_C / n;
}

static bool splits_depth(const emit_fn *E, int ci)
{
  return emit_ukernel_splits_depth(E->f, E->pf, ci, shares_b(E, ci));
}

/* Floats of the partial products of threads 1..T-1 after the threads'
 * packing buffers (0 when the product does not split its depth). */
static int64_t split_floats(const emit_fn *E, int ci)
{
  const sched_contraction *c = &E->pf->contr[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  if (!splits_depth(E, ci))
    return 0;
  return (E->pf->blocks[ci].threads - 1) * sched_role_extent(s, c->rows, c->n_rows) *
         sched_role_extent(s, c->cols, c->n_cols);
}

/* Workspace bytes of the packing buffers of all contractions (the largest:
 * kernels run one after the other), for a function without parameters. */
int64_t emit_ukernel_static_pack_bytes(const emit_fn *E)
{
  int64_t most = 0, m, n, k;
  for (int i = 0; i < E->pf->n_contr; i++) {
    const sched_contraction *c = &E->pf->contr[i];
    if (!set_extent_value(E->f, c, c->rows, c->n_rows, &m) || !set_extent_value(E->f, c, c->cols, c->n_cols, &n) ||
        !set_extent_value(E->f, c, c->depth, c->n_depth, &k))
      return -1;
    int64_t v = (pack_floats_value(&E->pf->blocks[i], m, n, k) * E->pf->blocks[i].threads + split_floats(E, i)) * 4;
    most = v > most ? v : most;
  }
  return most;
}

/* (size_t)(threads * 4) * aotc_max(floats of kernel 1, ...) per thread set. */
void emit_ukernel_print_pack_bytes(emit_fn *E)
{
  E->em->helper[EMIT_H_MAX] = true;
  fputs("(size_t)", E->out);
  for (int i = 0; i < E->pf->n_contr; i++)
    fputs("aotc_max(", E->out);
  fputc('0', E->out);
  for (int i = 0; i < E->pf->n_contr; i++) {
    const sched_contraction *c = &E->pf->contr[i];
    fputs(", ", E->out);
    char *m = set_extent_text(E, c, c->rows, c->n_rows), *n = set_extent_text(E, c, c->cols, c->n_cols);
    char *k = set_extent_text(E, c, c->depth, c->n_depth);
    if (!m || !n || !k) {
      E->failed = true;
    } else {
      fprintf(E->out, "%d * (", E->pf->blocks[i].threads * 4);
      print_pack_floats(E, &E->pf->blocks[i], m, n, k);
      fputc(')', E->out);
      int64_t split = split_floats(E, i);
      if (split > 0)
        fprintf(E->out, " + %lld", (long long)split * 4);
    }
    free(m);
    free(n);
    free(k);
    fputc(')', E->out);
  }
}

/* ---- the loops */

/* The product of the dimensions of tensor t after position pos. */
static void print_stride(emit_fn *E, int t, int pos)
{
  fputs("(int64_t)1", E->out);
  for (int j = pos + 1; j < E->f->tensors[t]->rank; j++) {
    fputs(" * ", E->out);
    emit_print_dim(E, t, j);
  }
}

static int lhs_pos(const ir_stmt *s, int x)
{
  for (int j = 0; j < s->n_lhs; j++)
    if (s->lhs[j] == x)
      return j;
  return 0;
}

static void print_extent(emit_fn *E, const char *name, const int *set, int n)
{
  emit_indent(E);
  fprintf(E->out, "const int64_t %s = 1", name);
  for (int t = 0; t < n; t++) {
    fputs(" * ", E->out);
    emit_print_size(E, E->stmt->index[set[t]].hi);
  }
  fputs(";\n", E->out);
}

/* The flattened extents: rows, columns, depth, batches. */
static void print_contraction_extents(emit_fn *E, const sched_contraction *c)
{
  print_extent(E, "aotc_m", c->rows, c->n_rows);
  print_extent(E, "aotc_n", c->cols, c->n_cols);
  print_extent(E, "aotc_k", c->depth, c->n_depth);
  print_extent(E, "aotc_nb", c->batch, c->n_batch);
}

static void print_batch_indices(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  if (c->n_batch > 0)
    emit_line(E, "int64_t aotc_b = aotc_q;");
  for (int b = c->n_batch - 1; b >= 0; b--) {
    emit_indent(E);
    fprintf(E->out, "const int64_t aotc_x%d = aotc_b %% ", c->batch[b]);
    emit_print_size(E, s->index[c->batch[b]].hi);
    fputs(";\n", E->out);
    if (b > 0) {
      emit_indent(E);
      fputs("aotc_b /= ", E->out);
      emit_print_size(E, s->index[c->batch[b]].hi);
      fputs(";\n", E->out);
    }
  }
}

/* Thread t's slice of C when there are fewer batches than threads
 * (EMIT_SPLIT_GAIN_PCT, emit_print.h, says which). */
static void print_thread_slice(emit_fn *E, const sched_blocks *b)
{
  emit_line(E, "int64_t aotc_i0 = 0, aotc_i1 = aotc_m, aotc_j0 = 0, aotc_j1 = aotc_n;");
  if (b->threads <= 1)
    return;
  int T = b->threads, vw = b->vw > 1 ? b->vw : 1;
  emit_line(E, "const int64_t aotc_wc = aotc_min(aotc_n, (aotc_n + %d) / %d * %d);", T * b->nr - 1, T * b->nr, b->nr);
  emit_line(E, "const int64_t aotc_wr = aotc_min(aotc_m, (aotc_m + %d) / %d * %d);", T * b->mr - 1, T * b->mr, b->mr);
  emit_line(E, "const int64_t aotc_by_cols = (aotc_wc + %d) / %d * ((aotc_m + %d) / %d) * %d * aotc_k + (aotc_m + aotc_wc) * aotc_k;",
            vw - 1, vw, b->mr - 1, b->mr, b->mr);
  emit_line(E, "const int64_t aotc_by_rows = (aotc_wr + %d) / %d * ((aotc_n + %d) / %d) * %d * aotc_k + (aotc_wr + aotc_n) * aotc_k;",
            b->mr - 1, b->mr, vw - 1, vw, b->mr);
  emit_line(E, "const int aotc_cols = aotc_n >= aotc_m ? aotc_by_rows * 100 >= aotc_by_cols * %d : aotc_by_cols * 100 < "
               "aotc_by_rows * %d;",
            100 - EMIT_SPLIT_GAIN_PCT, 100 - EMIT_SPLIT_GAIN_PCT);
  emit_open_block(E, "if (aotc_nb < %d && aotc_cols)", T);
  emit_line(E, "aotc_j0 = aotc_min(aotc_n, aotc_t * aotc_wc);");
  emit_line(E, "aotc_j1 = aotc_min(aotc_n, aotc_j0 + aotc_wc);");
  E->indent--;
  emit_open_block(E, "} else if (aotc_nb < %d)", T);
  emit_line(E, "aotc_i0 = aotc_min(aotc_m, aotc_t * aotc_wr);");
  emit_line(E, "aotc_i1 = aotc_min(aotc_m, aotc_i0 + aotc_wr);");
  emit_close_block(E);
}

/* Declares the indices set[0..n-1] from their flattened value `flat`
 * (const unless mutable: an odometer). */
static void print_decompose(emit_fn *E, const int *set, int n, const char *flat, bool is_mutable)
{
  const ir_stmt *s = E->stmt;
  for (int t = 0; t < n; t++) {
    emit_indent(E);
    fprintf(E->out, "%sint64_t aotc_x%d = %s%s", is_mutable ? "" : "const ", set[t], n > 1 ? "(" : "", flat);
    if (n > 1)
      fputc(')', E->out);
    for (int u = t + 1; u < n; u++) {
      fputs(" / ", E->out);
      emit_print_size(E, s->index[set[u]].hi);
    }
    if (t > 0) {
      fputs(" % ", E->out);
      emit_print_size(E, s->index[set[t]].hi);
    }
    fputs(";\n", E->out);
  }
}

/* Steps the odometer set[0..n-1] by one. */
static void print_odometer_step(emit_fn *E, const int *set, int n)
{
  const ir_stmt *s = E->stmt;
  for (int t = n - 1; t > 0; t--) {
    emit_indent(E);
    fprintf(E->out, "if (++aotc_x%d == ", set[t]);
    emit_print_size(E, s->index[set[t]].hi);
    fprintf(E->out, ") {\n");
    E->indent++;
    emit_line(E, "aotc_x%d = 0;", set[t]);
  }
  emit_line(E, "++aotc_x%d;", set[0]);
  for (int t = n - 1; t > 0; t--)
    emit_close_block(E);
}

/* The lanes of one depth step of a panel: dst[p * width + l] = read. */
static void print_pack_lanes(emit_fn *E, const ir_expr *read, int width, const int *lanes, int n_lanes,
                             const char *lane_end, bool edge)
{
  if (n_lanes > 1)
    print_decompose(E, lanes, n_lanes, "aotc_l0", true);
  else
    fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d; aotc_l++)", width);
  if (n_lanes == 1)
    emit_line(E, "const int64_t aotc_x%d = aotc_l0 + aotc_l;", lanes[0]);
  emit_indent(E);
  fprintf(E->out, "aotc_d[aotc_p * %d + aotc_l] = ", width);
  if (edge)
    fprintf(E->out, "aotc_l0 + aotc_l < %s ? ", lane_end);
  emit_print_read(E, read);
  fputs(edge ? " : 0.0f;\n" : ";\n", E->out);
  if (n_lanes > 1)
    print_odometer_step(E, lanes, n_lanes);
  emit_close_block(E);
}

/* One vector loop of a run: for (it = 0; it < trips; it++), the innermost
 * lane index aotc_s + it, into the panel at lane `at` + it. */
static void print_run_loop(emit_fn *E, const ir_expr *read, int width, int inner_lane, const char *it,
                           const char *trips, const char *at)
{
  fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t %s = 0; %s < %s; %s++)", it, it, trips, it);
  emit_line(E, "const int64_t aotc_x%d = aotc_s + %s;", inner_lane, it);
  emit_indent(E);
  fprintf(E->out, "aotc_d[aotc_p * %d + %s] = ", width, at);
  emit_print_read(E, read);
  fputs(";\n", E->out);
  emit_close_block(E);
}

/* The guard of the masked copies: AVX-512's masked loads and stores touch
 * only the lanes of the run (nothing past the operand's end), in GNU C or
 * clang with the vector extensions on. */
#define COPY_RUN_GUARD EMIT_AVX512_GUARD

/* aotc_copy_run copies n contiguous floats; aotc_copy_run_s2 every other
 * float of 2n - 1 (a stride-2 convolution's im2col): per 16 lanes two
 * masked loads, which read no float past the last one copied, and one
 * vpermt2ps picking the even ones, where the compiler's own vector loop
 * gathered them (two 8-wide vgatherqps per 16 lanes). aotc_pack_depth packs
 * n <= 16 lanes whose floats are contiguous along the depth (d[p * ds + r]
 * = s[r][p]): 16 depth steps at a time, one masked load per lane and a
 * 16x16 transposition in registers, where the lane-by-lane loop moved one
 * float at a time (A's packing was 12% of sgemm 1024's time). The three are
 * printed together; AOTC_MAYBE_UNUSED keeps clang quiet about the ones a
 * file does not call (gcc does not warn of unused static inline functions). */
void emit_ukernel_print_copy_run(FILE *out)
{
  fputs("#ifndef AOTC_HAVE_copy_run\n#define AOTC_HAVE_copy_run\n" COPY_RUN_GUARD "#include <immintrin.h>\n"
        "#if defined(__GNUC__)\n#define AOTC_MAYBE_UNUSED __attribute__((unused))\n#else\n#define AOTC_MAYBE_UNUSED\n#endif\n"
        "static inline AOTC_MAYBE_UNUSED void aotc_copy_run(float *d, const float *s, int64_t n)\n{\n"
        "  for (int64_t i = 0; i < n; i += 16) {\n"
        "    const __mmask16 m = (__mmask16)((1u << (n - i < 16 ? n - i : 16)) - 1u);\n"
        "    _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));\n"
        "  }\n}\n\n"
        "static inline AOTC_MAYBE_UNUSED void aotc_copy_run_s2(float *d, const float *s, int64_t n)\n{\n"
        "  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);\n"
        "  for (int64_t i = 0; i < n; i += 16) {\n"
        "    const int64_t k = n - i < 16 ? n - i : 16, e = 2 * k - 1;\n"
        "    const __mmask16 ma = (__mmask16)(e >= 16 ? 0xffffu : (1u << e) - 1u);\n"
        "    const __mmask16 mb = (__mmask16)(e > 16 ? (1u << (e - 16)) - 1u : 0u);\n"
        "    const __m512 a = _mm512_maskz_loadu_ps(ma, s + 2 * i), b = _mm512_maskz_loadu_ps(mb, s + 2 * i + 16);\n"
        "    _mm512_mask_storeu_ps(d + i, (__mmask16)((1u << k) - 1u), _mm512_permutex2var_ps(a, even, b));\n"
        "  }\n}\n\n"
        "static inline AOTC_MAYBE_UNUSED void aotc_pack_depth(float *d, int64_t ds, const float *const *s, int64_t n, int64_t kc)\n{\n"
        "  const __mmask16 mr = (__mmask16)((1u << n) - 1u);\n"
        "  for (int64_t p = 0; p < kc; p += 16) {\n"
        "    const int64_t np = kc - p < 16 ? kc - p : 16;\n"
        "    const __mmask16 mp = (__mmask16)((1u << np) - 1u);\n"
        "    __m512 r[16], t[16];\n"
        "    for (int i = 0; i < 16; i++)\n"
        "      r[i] = i < n ? _mm512_maskz_loadu_ps(mp, s[i] + p) : _mm512_setzero_ps();\n"
        "    for (int i = 0; i < 16; i += 2) {\n"
        "      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);\n"
        "      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);\n"
        "    }\n"
        "    for (int i = 0; i < 16; i += 4) {\n"
        "      r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);\n"
        "      r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);\n"
        "      r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);\n"
        "      r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);\n"
        "    }\n"
        "    for (int i = 0; i < 4; i++) {\n"
        "      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);\n"
        "      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);\n"
        "      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);\n"
        "      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);\n"
        "    }\n"
        "    for (int i = 0; i < 8; i++) {\n"
        "      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);\n"
        "      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);\n"
        "    }\n"
        "    for (int64_t j = 0; j < np; j++)\n"
        "      _mm512_mask_storeu_ps(d + (p + j) * ds, mr, r[j]);\n"
        "  }\n}\n#endif\n#endif\n\n",
        out);
}

/* k when e is k * index plus terms that do not use it (k >= 1), else 0. */
static int64_t coef_in(const ir_expr *e, int index)
{
  if (e->kind == IR_INDEX)
    return e->index == index;
  if (e->kind != IR_BINARY)
    return 0;
  const ir_expr *a = e->args[0], *b = e->args[1];
  switch (e->op) {
  case IR_ADD:
    if (!ir_expr_uses_index(b, index))
      return coef_in(a, index);
    return ir_expr_uses_index(a, index) ? 0 : coef_in(b, index);
  case IR_SUB:
    return ir_expr_uses_index(b, index) ? 0 : coef_in(a, index);
  case IR_MUL:
    if (b->kind == IR_CONST_INT && b->ival >= 1 && b->ival <= 64)
      return coef_in(a, index) * b->ival;
    if (a->kind == IR_CONST_INT && a->ival >= 1 && a->ival <= 64)
      return coef_in(b, index) * a->ival;
    return 0;
  default:
    return 0;
  }
}

/* Whether the code is printed for an x86-64 CPU (the AVX-512 helpers'
 * callers, each under COPY_RUN_GUARD). */
static bool x86_cpu(const emit_fn *E)
{
  const sched_cpu *cpu = E->em->plan->opt && E->em->plan->opt->cpu ? E->em->plan->opt->cpu : sched_cpu_native();
  return !emit_target_is_gpu(E->em->tg) && cpu && !strncmp(cpu->name, "x86-64", 6);
}

/* The stride (1 or 2; 0: neither) of a panel's runs along the innermost
 * lane index `inner` in a plain (unpadded) read, on an x86 CPU. The runs of
 * an implicit im2col whose panels cross rows (14- and 28-pixel images)
 * then copy in masked 16-lane moves instead of a vector loop of variable
 * trip count per run, which was most of the packing of such convolutions:
 * a 3x3 convolution of 128 to 32 channels, 1 thread, 0.19 -> 0.125 ms at
 * 14x14 and 0.047 -> 0.033 at 7x7 (bench/RESULTS.md). Stride 2 (a strided
 * convolution's runs) copies with aotc_copy_run_s2, in whole panels too. */
static int masked_runs(const emit_fn *E, const ir_expr *read, int inner)
{
  if (!x86_cpu(E) || read->kind != IR_ACCESS || read->padded || read->n_args < 1)
    return 0;
  const ir_tensor *T = E->f->tensors[read->tensor];
  int64_t stride = coef_in(read->args[read->n_args - 1], inner);
  if (T->type != IR_F32 || T->rank != read->n_args || stride < 1 || stride > 2)
    return 0;
  for (int a = 0; a + 1 < read->n_args; a++)
    if (ir_expr_uses_index(read->args[a], inner))
      return 0;
  return (int)stride;
}

/* The panel's first lane aotc_l0 as the outer lanes (an odometer) and the
 * innermost one's start aotc_s. */
static void print_run_start(emit_fn *E, const int *lanes, int n_lanes)
{
  const ir_size *inner = E->stmt->index[lanes[n_lanes - 1]].hi;
  emit_indent(E);
  fputs("const int64_t aotc_lo = aotc_l0 / ", E->out);
  emit_print_size(E, inner);
  fputs(";\n", E->out);
  print_decompose(E, lanes, n_lanes - 1, "aotc_lo", true);
  emit_indent(E);
  fputs("int64_t aotc_s = aotc_l0 % ", E->out);
  emit_print_size(E, inner);
  fputs(";\n", E->out);
}

/* One run's copy into the panel at lane `at` on (aotc_p * width + at),
 * count floats from the innermost lane index `inner` at aotc_s: by
 * aotc_copy_run, or aotc_copy_run_s2 at stride 2. */
static void print_copy_call(emit_fn *E, const ir_expr *read, int stride, int inner, int width, const char *at,
                            const char *count)
{
  emit_line(E, "const int64_t aotc_x%d = aotc_s;", inner);
  emit_indent(E);
  fprintf(E->out, "aotc_copy_run%s(&aotc_d[aotc_p * %d%s], &", stride == 2 ? "_s2" : "", width, at);
  emit_print_read(E, read);
  fprintf(E->out, ", %s);\n", count);
}

/* The runs of one depth step of a panel as masked copies (under
 * COPY_RUN_GUARD). Full panels (lane_end NULL): aotc_s and the outer lanes
 * are the caller's (print_pack_runs). The last panel (lane_end its end):
 * decomposed here, and the lanes past the end zeroed. */
static void print_masked_runs(emit_fn *E, const ir_expr *read, int stride, int width, const int *lanes,
                              int n_lanes, const char *lane_end)
{
  const ir_size *inner = E->stmt->index[lanes[n_lanes - 1]].hi;
  E->em->need_copy_run = true;
  E->em->helper[EMIT_H_MIN] = true;
  emit_line(E, "{");
  E->indent++;
  if (lane_end) {
    print_run_start(E, lanes, n_lanes);
    emit_line(E, "const int64_t aotc_ln = aotc_min(%d, %s - aotc_l0);", width, lane_end);
  } else {
    emit_line(E, "const int64_t aotc_ln = %d;", width);
  }
  emit_line(E, "int64_t aotc_l = 0;");
  emit_open_block(E, "while (aotc_l < aotc_ln)");
  emit_indent(E);
  fputs("const int64_t aotc_run = aotc_min(aotc_ln - aotc_l, ", E->out);
  emit_print_size(E, inner);
  fputs(" - aotc_s);\n", E->out);
  print_copy_call(E, read, stride, lanes[n_lanes - 1], width, " + aotc_l", "aotc_run");
  emit_line(E, "aotc_l += aotc_run;");
  emit_line(E, "aotc_s = 0;");
  print_odometer_step(E, lanes, n_lanes - 1);
  emit_close_block(E);
  if (lane_end) {
    emit_line(E, "for (; aotc_l < %d; aotc_l++)", width);
    E->indent++;
    emit_line(E, "aotc_d[aotc_p * %d + aotc_l] = 0.0f;", width);
    E->indent--;
  }
  emit_close_block(E);
}

/* The lanes of one depth step of a full panel in runs along the innermost
 * lane index: no odometer inside a run, and a vector loop (contiguous reads
 * where the operand is stride-1 in that index, as an implicit im2col is).
 * A panel inside one run (most of them: 32 lanes of a 112-pixel row) takes
 * one loop of constant trip count instead, which the compiler vectorises
 * whole: the run loop's variable trips and per-run set-up were most of
 * ResNet-18 conv1's packing (0.4 of its 1.3 ms, 147 depth steps of 392
 * panels; bench/RESULTS.md). */
static void print_pack_runs(emit_fn *E, const ir_expr *read, int width, const int *lanes, int n_lanes)
{
  const ir_size *inner = E->stmt->index[lanes[n_lanes - 1]].hi;
  char w[16];
  snprintf(w, sizeof(w), "%d", width);
  int stride = masked_runs(E, read, lanes[n_lanes - 1]);
  print_run_start(E, lanes, n_lanes);
  emit_indent(E);
  fprintf(E->out, "if (aotc_s + %d <= ", width);
  emit_print_size(E, inner);
  fputs(") {\n", E->out);
  E->indent++;
  if (stride == 2) {
    E->em->need_copy_run = true;
    fputs(COPY_RUN_GUARD, E->out);
    print_copy_call(E, read, 2, lanes[n_lanes - 1], width, "", w);
    fputs("#else\n", E->out);
  }
  print_run_loop(E, read, width, lanes[n_lanes - 1], "aotc_l", w, "aotc_l");
  if (stride == 2)
    fputs("#endif\n", E->out);
  E->indent--;
  emit_open_block(E, "} else");
  bool masked = stride > 0;
  if (masked) {
    fputs(COPY_RUN_GUARD, E->out);
    print_masked_runs(E, read, stride, width, lanes, n_lanes, NULL);
    fputs("#else\n", E->out);
  }
  emit_open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d;)", width);
  emit_indent(E);
  fprintf(E->out, "const int64_t aotc_run = aotc_min(%d - aotc_l, ", width);
  emit_print_size(E, inner);
  fputs(" - aotc_s);\n", E->out);
  print_run_loop(E, read, width, lanes[n_lanes - 1], "aotc_r", "aotc_run", "aotc_l + aotc_r");
  emit_line(E, "aotc_l += aotc_run;");
  emit_line(E, "aotc_s = 0;");
  print_odometer_step(E, lanes, n_lanes - 1);
  emit_close_block(E);
  if (masked)
    fputs("#endif\n", E->out);
  emit_close_block(E);
}

/* Whether the lanes set[0..n-1] (n > 1) of s's read are its last
 * subscripts, plain indices in order over whole inner dimensions, no other
 * subscript using them: consecutive lanes are consecutive floats (a 1x1
 * convolution's pixels, Winograd's tiles), so a panel's row is one
 * contiguous copy. Shared with the LLVM backend's packing. */
bool emit_lanes_contiguous(const ir_func *f, const ir_stmt *s, const ir_expr *read, const int *set, int n)
{
  const ir_tensor *T = f->tensors[read->tensor];
  int first = read->n_args - n;
  if (read->kind != IR_ACCESS || read->padded || first < 0 || T->rank != read->n_args)
    return false;
  for (int t = 0; t < n; t++) {
    const ir_expr *x = read->args[first + t];
    if (x->kind != IR_INDEX || x->index != set[t])
      return false;
    if (t > 0 && (!T->shape[first + t] || !ir_size_equal(T->shape[first + t], s->index[set[t]].hi)))
      return false;
  }
  for (int a = 0; a < first; a++)
    for (int t = 0; t < n; t++)
      if (ir_expr_uses_index(read->args[a], set[t]))
        return false;
  return true;
}

/* One depth step of a full panel of such an operand: width floats from
 * the lane aotc_l0 on. */
static void print_pack_contiguous(emit_fn *E, const ir_expr *read, int width, const int *lanes, int n_lanes)
{
  print_decompose(E, lanes, n_lanes, "aotc_l0", false);
  emit_indent(E);
  fputs("const float *aotc_src = &", E->out);
  emit_print_read(E, read);
  fputs(";\n", E->out);
  fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d; aotc_l++)", width);
  emit_line(E, "aotc_d[aotc_p * %d + aotc_l] = aotc_src[aotc_l];", width);
  emit_close_block(E);
}

/* Whether the operand's last subscript is the (only) depth index: its
 * elements are contiguous along the depth, not along the lanes (the
 * activations of a linear layer, K of Q.K^T). */
static bool depth_contiguous(const sched_contraction *c, const ir_expr *read)
{
  const ir_expr *last = read->n_args > 0 ? read->args[read->n_args - 1] : NULL;
  return c->n_depth == 1 && last && last->kind == IR_INDEX && last->index == c->depth[0];
}

/* Whether such an operand's full panels pack by aotc_pack_depth (under
 * COPY_RUN_GUARD): a plain float read on an x86 CPU, whose lanes' addresses
 * are taken where the depth starts. */
static bool depth_vec(const emit_fn *E, const ir_expr *read)
{
  return x86_cpu(E) && read->kind == IR_ACCESS && !read->padded && E->f->tensors[read->tensor]->type == IR_F32 &&
         E->f->tensors[read->tensor]->rank == read->n_args;
}

/* A full panel of such an operand lane by lane: a contiguous read along
 * the depth for each lane (strided stores into the panel) instead of one
 * gather across the lanes per depth step. */
static void print_pack_by_lane(emit_fn *E, const sched_contraction *c, const ir_expr *read, int width,
                               const int *lanes, int n_lanes)
{
  bool vec = depth_vec(E, read);
  if (vec) {
    E->em->need_copy_run = true;
    fputs(COPY_RUN_GUARD, E->out);
    emit_line(E, "{");
    E->indent++;
    emit_line(E, "const float *aotc_rows[%d];", width);
    emit_open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d; aotc_l++)", width);
    print_decompose(E, lanes, n_lanes, "aotc_l0 + aotc_l", false);
    emit_line(E, "const int64_t aotc_x%d = aotc_pc;", c->depth[0]);
    emit_indent(E);
    fputs("aotc_rows[aotc_l] = &", E->out);
    emit_print_read(E, read);
    fputs(";\n", E->out);
    emit_close_block(E);
    for (int h = 0; h < width; h += 16)
      emit_line(E, "aotc_pack_depth(aotc_d + %d, %d, aotc_rows + %d, %d, aotc_kc);", h, width, h,
                width - h < 16 ? width - h : 16);
    emit_close_block(E);
    fputs("#else\n", E->out);
  }
  emit_open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d; aotc_l++)", width);
  print_decompose(E, lanes, n_lanes, "aotc_l0 + aotc_l", false);
  fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t aotc_p = 0; aotc_p < aotc_kc; aotc_p++)");
  emit_line(E, "const int64_t aotc_x%d = aotc_pc + aotc_p;", c->depth[0]);
  emit_indent(E);
  fprintf(E->out, "aotc_d[aotc_p * %d + aotc_l] = ", width);
  emit_print_read(E, read);
  fputs(";\n", E->out);
  emit_close_block(E);
  emit_close_block(E);
  if (vec)
    fputs("#endif\n", E->out);
}

/* dst[p * width + lane] = read, zero beyond the end (a panel of B or A). */
static void print_pack_panel(emit_fn *E, const sched_contraction *c, const ir_expr *read, int width,
                             const int *lanes, int n_lanes, const char *lane_end)
{
  if (depth_contiguous(c, read)) {
    emit_open_block(E, "if (aotc_l0 + %d <= %s)", width, lane_end);
    print_pack_by_lane(E, c, read, width, lanes, n_lanes);
    E->indent--;
    emit_open_block(E, "} else");
  }
  bool odometer = c->n_depth > 1; /* the depth indices stepped, not divided out at every step */
  if (odometer) {
    emit_line(E, "{");
    E->indent++;
    print_decompose(E, c->depth, c->n_depth, "aotc_pc", true);
  }
  emit_open_block(E, "for (int64_t aotc_p = 0; aotc_p < aotc_kc; aotc_p++)");
  if (!odometer)
    print_decompose(E, c->depth, c->n_depth, "aotc_pc + aotc_p", false);
  emit_open_block(E, "if (aotc_l0 + %d <= %s)", width, lane_end);
  if (n_lanes > 1 && emit_lanes_contiguous(E->f, E->stmt, read, lanes, n_lanes))
    print_pack_contiguous(E, read, width, lanes, n_lanes);
  else if (n_lanes > 1)
    print_pack_runs(E, read, width, lanes, n_lanes);
  else
    print_pack_lanes(E, read, width, lanes, n_lanes, lane_end, false);
  E->indent--;
  emit_open_block(E, "} else");
  int stride = n_lanes > 1 ? masked_runs(E, read, lanes[n_lanes - 1]) : 0;
  bool masked = stride > 0;
  if (masked) {
    fputs(COPY_RUN_GUARD, E->out);
    print_masked_runs(E, read, stride, width, lanes, n_lanes, lane_end);
    fputs("#else\n", E->out);
  }
  print_pack_lanes(E, read, width, lanes, n_lanes, lane_end, true);
  if (masked)
    fputs("#endif\n", E->out);
  emit_close_block(E);
  if (odometer)
    print_odometer_step(E, c->depth, c->n_depth);
  emit_close_block(E);
  if (odometer)
    emit_close_block(E);
  if (depth_contiguous(c, read))
    emit_close_block(E);
}

/* AOTC_B_IN_PLACE=0 packs every panel of B (for measuring). */
static bool b_in_place_on(void)
{
  const char *env = getenv("AOTC_B_IN_PLACE");
  return !env || strcmp(env, "0");
}

#define IN_PLACE_ROW_TILES 16 /* at most this many register tiles of rows read a panel */
#define IN_PLACE_SET_ROWS 12  /* at most this many of a panel's rows start in one set of a 64-set L1 */

/* Whether the rows of a panel, kc rows ldb floats apart, spread over the
 * sets of the first-level cache: rows a multiple of 4 KiB apart all fall
 * into one set of a 64-set, 64-byte-line cache, where the prefetched lines
 * of one call evict each other (sgemm 1024, 256 rows: 0.85 of OpenBLAS
 * against 0.97 packed). */
static bool rows_spread(int64_t ldb, int kc)
{
  int64_t lines = ldb * 4 % 64 ? 1 : ldb * 4 / 64, sets = 64;
  while (sets > 1 && lines % 2 == 0) {
    sets /= 2;
    lines /= 2;
  }
  return (kc + sets - 1) / sets <= IN_PLACE_SET_ROWS;
}

/* Where B's full panels are read in place, the position of the depth
 * index among B's subscripts, else -1. That needs B's row of a panel to be
 * nr consecutive floats (emit_lanes_contiguous: the pixels of a 1x1
 * convolution's input) and its rows a fixed stride apart (one depth index,
 * a plain subscript of its own): the micro-kernel then reads the panel
 * with B's row stride instead of a copy. Packing B copies the whole
 * operand per column block, and a product of few rows of A (MobileNetV2's
 * projections, 16-32 output channels over 3136-12544 pixels) reads each
 * panel once or twice: 0.69-0.80 of those products' time without the
 * copy, 0.89-0.96 for 64 and 96 rows; at 144-192 rows 0.95-1.05 at batch 1
 * and 0.86-0.91 at batch 8, where B comes from memory (with the next
 * panel's prefetch, print_ukr_vector; bench/RESULTS.md). A product of many
 * rows reads each panel many times, where the packed panel's contiguous
 * stream wins (sgemm 1000: 0.89 of OpenBLAS in place, 0.95 packed): only
 * up to IN_PLACE_ROW_TILES tiles of rows (192 rows of 12), of constant
 * extents, with rows that spread over the cache (rows_spread). The last panel of a block,
 * when partial, is still packed (zeros past the columns). Not for B
 * packed in advance, nor for the shared panels of AOTC_SHARED_B: the
 * caller's (this file's b_in_place_depth, llvm_contr.c). */
int emit_b_in_place_pos(const ir_func *f, const sched_contraction *c, const sched_blocks *b)
{
  const ir_stmt *s = f->stmts[c->stmt];
  const ir_expr *read = c->b;
  int64_t m = sched_role_extent(s, c->rows, c->n_rows);
  if (c->n_depth != 1 || m < 0 || m > (int64_t)IN_PLACE_ROW_TILES * b->mr || !b_in_place_on() ||
      !emit_lanes_contiguous(f, s, read, c->cols, c->n_cols))
    return -1;
  int pos = -1;
  for (int a = 0; a < read->n_args; a++) {
    const ir_expr *x = read->args[a];
    if (x->kind == IR_INDEX && x->index == c->depth[0] && pos < 0)
      pos = a;
    else if (ir_expr_uses_index(x, c->depth[0]))
      return -1;
  }
  if (pos < 0 || pos >= read->n_args - c->n_cols)
    return -1;
  const ir_tensor *T = f->tensors[read->tensor];
  int64_t ldb = 1, d;
  for (int j = pos + 1; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &d) || __builtin_mul_overflow(ldb, d, &ldb))
      return -1;
  int64_t k = sched_role_extent(s, c->depth, 1);
  return k >= 0 && rows_spread(ldb, k < b->kc ? (int)k : b->kc) ? pos : -1;
}

static int b_in_place_depth(const emit_fn *E, int ci)
{
  if (emit_prepack_usable(E, ci, 1) || shares_b(E, ci))
    return -1;
  return emit_b_in_place_pos(E->f, &E->pf->contr[ci], &E->pf->blocks[ci]);
}

static void print_pack_b(emit_fn *E, int ci, const sched_contraction *c, const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_jr = 0; aotc_jr < aotc_nc; aotc_jr += %d)", b->nr);
  if (b_in_place_depth(E, ci) >= 0)
    emit_line(E, "if (aotc_jc + aotc_jr + %d <= aotc_j1)\n%*s  continue; /* read in place */", b->nr,
              2 * E->indent, "");
  emit_line(E, "float *aotc_d = aotc_bp + aotc_jr * aotc_kc;");
  emit_line(E, "const int64_t aotc_l0 = aotc_jc + aotc_jr;");
  print_pack_panel(E, c, c->b, b->nr, c->cols, c->n_cols, "aotc_j1");
  emit_close_block(E);
}

static void print_pack_a(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_ir = 0; aotc_ir < aotc_mc; aotc_ir += %d)", b->mr);
  emit_line(E, "float *aotc_d = aotc_ap + aotc_ir * aotc_kc;");
  emit_line(E, "const int64_t aotc_l0 = aotc_ic + aotc_ir;");
  print_pack_panel(E, c, c->a, b->mr, c->rows, c->n_rows, "aotc_i1");
  emit_close_block(E);
}

/* The first float of operand op's panel at lane `lane` (an expression) and
 * depth aotc_pc in the array packed in advance (emit_prepack.c). */
static void print_prepacked_panel(emit_fn *E, int ci, int op, const char *lane)
{
  const sched_blocks *b = &E->pf->blocks[ci];
  int width = op ? b->nr : b->mr;
  emit_prepack_print_name(E, ci, op);
  int64_t per = emit_pack_batch_stride(E->f, &E->pf->contr[ci], op, width);
  if (per > 0)
    fprintf(E->out, " + aotc_q * (int64_t)%lld", (long long)per);
  fprintf(E->out, " + (%s) * aotc_k + aotc_pc * %d", lane, width);
}

/* The panel of operand op the micro-kernel reads and the distance of its
 * rows: the packing buffer, the array packed in advance (emit_prepack.c)
 * at the panel's first lane and the depth block, or for B read in place
 * aotc_panel_b and aotc_ldb (print_in_place_b). */
static void print_panel(emit_fn *E, int ci, int op)
{
  const sched_blocks *b = &E->pf->blocks[ci];
  if (op && b_in_place_depth(E, ci) >= 0) {
    fputs("aotc_panel_b, aotc_ldb", E->out);
    return;
  }
  if (!emit_prepack_usable(E, ci, op)) {
    if (op)
      fprintf(E->out, "aotc_bp + aotc_jr * aotc_kc, %d", b->nr);
    else
      fputs("aotc_ap + aotc_ir * aotc_kc", E->out);
    return;
  }
  print_prepacked_panel(E, ci, op, op ? "aotc_jc + aotc_jr" : "aotc_ic + aotc_ir");
  if (op)
    fprintf(E->out, ", %d", b->nr); /* B's rows, packed */
}

/* For B read in place: its panel's first float at depth aotc_pc
 * (aotc_panel_b), the packed panel when the panel is partial, and the
 * distance of its rows (aotc_ldb). The column indices are bound. */
static void print_in_place_b(emit_fn *E, int ci, const sched_contraction *c, const sched_blocks *b)
{
  int pos = b_in_place_depth(E, ci);
  if (pos < 0)
    return;
  emit_line(E, "const int64_t aotc_x%d = aotc_pc;", c->depth[0]);
  emit_line(E, "const int aotc_full = aotc_jc + aotc_jr + %d <= aotc_j1;", b->nr);
  emit_indent(E);
  fputs("const float *aotc_panel_b = aotc_full ? &", E->out);
  emit_print_read(E, c->b);
  fputs(" : aotc_bp + aotc_jr * aotc_kc;\n", E->out);
  emit_indent(E);
  fputs("const int64_t aotc_ldb = aotc_full ? ", E->out);
  print_stride(E, c->b->tensor, pos);
  fprintf(E->out, " : %d;\n", b->nr);
}

/* The bytes of B beyond which it is read from memory at every call (it
 * does not stay in L2 from one call to the next). A B with a matrix per
 * batch (Winograd's transformed weights) counts all of them: ResNet-18's
 * layer3 has 16 of 256 KB, each read from L3 by the first row of tiles in
 * rows-outer order (7-9% slower than columns outer, 1 and 2 threads). */
#define STREAMED_B_BYTES (1 << 20)

/* B packed in advance (weights, emit_prepack.c), larger than L2, and A
 * packed here: the column tiles go outer, so each panel of B is read from
 * memory once per block and stays in L1 across the row tiles, while the
 * next panel is prefetched into L2 a slice per row tile (a token product's
 * weights are used by few rows: read in rows-outer order, the first row of
 * tiles waited on memory for every panel). Weights that stay in the caches
 * keep the rows-outer order, with no prefetch to pay for. */
static bool columns_outer(const emit_fn *E, int ci)
{
  const sched_contraction *c = &E->pf->contr[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  int64_t k = sched_role_extent(s, c->depth, c->n_depth), n = sched_role_extent(s, c->cols, c->n_cols);
  return emit_prepack_usable(E, ci, 1) && !emit_prepack_usable(E, ci, 0) && k > 0 && n > 0 &&
         (double)emit_pack_batches(E->f, c, 1) * (double)k * (double)n * sizeof(float) > STREAMED_B_BYTES;
}

/* The next panel of B (columns_outer), its lines spread over the row tiles
 * of the block. */
static void print_prefetch_next_b(emit_fn *E, int ci, const sched_blocks *b)
{
  fputs("#if defined(__GNUC__)\n", E->out);
  emit_open_block(E, "if (aotc_jc + aotc_jr + %d < aotc_j1)", b->nr);
  char lane[64];
  snprintf(lane, sizeof lane, "aotc_jc + aotc_jr + %d", b->nr);
  emit_indent(E);
  fputs("const char *aotc_nx = (const char *)(", E->out);
  print_prepacked_panel(E, ci, 1, lane);
  fputs(");\n", E->out);
  emit_line(E, "const int64_t aotc_lines = aotc_kc * %d / 16, aotc_tiles = (aotc_mc + %d) / %d;", b->nr, b->mr - 1,
            b->mr);
  emit_line(E, "const int64_t aotc_step = (aotc_lines + aotc_tiles - 1) / aotc_tiles, aotc_z0 = aotc_ir / %d * aotc_step;",
            b->mr);
  emit_line(E, "for (int64_t aotc_z = aotc_z0; aotc_z < aotc_z0 + aotc_step && aotc_z < aotc_lines; aotc_z++)");
  emit_line(E, "  __builtin_prefetch(aotc_nx + aotc_z * 64, 0, 2);");
  emit_close_block(E);
  fputs("#endif\n", E->out);
}

static void open_row_tiles(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_ir = 0; aotc_ir < aotc_mc; aotc_ir += %d)", b->mr);
  print_decompose(E, c->rows, c->n_rows, "aotc_ic + aotc_ir", false);
}

static void open_column_tiles(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_jr = 0; aotc_jr < aotc_nc; aotc_jr += %d)", b->nr);
  print_decompose(E, c->cols, c->n_cols, "aotc_jc + aotc_jr", false);
}

/* The tile's first element of C, aotc_c; in a depth split's partial
 * products (E->depth_split), thread t > 0's partial product instead. */
static void print_tile_c(emit_fn *E, const ir_stmt *s)
{
  emit_indent(E);
  fputs("float *aotc_c = ", E->out);
  if (E->depth_split)
    fputs("aotc_t > 0 ? aotc_sk + (aotc_t - 1) * aotc_m * aotc_n + (aotc_ic + aotc_ir) * aotc_n + aotc_jc + aotc_jr : ",
          E->out);
  fputc('&', E->out);
  emit_print_lhs(E, s);
  fputs(";\n", E->out);
}

/* The register tiles of one block, rows outer: a panel of A (mr x kc,
 * broadcast) stays in L1 while the panels of B (the vector operand) stream
 * from L2 along a row of tiles of C (columns outer: columns_outer); per
 * tile, C's address, strides and the micro-kernel. */
static void print_tiles(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s, const sched_blocks *b)
{
  bool cols = columns_outer(E, ci);
  if (cols)
    open_column_tiles(E, c, b);
  open_row_tiles(E, c, b);
  if (!cols)
    open_column_tiles(E, c, b);
  else
    print_prefetch_next_b(E, ci, b);
  print_tile_c(E, s);
  print_in_place_b(E, ci, c, b);
  emit_indent(E);
  print_ukr_name(E->out, b, b_in_place_depth(E, ci) >= 0);
  fputs("(aotc_kc, ", E->out);
  print_panel(E, ci, 0);
  fputs(", ", E->out);
  print_panel(E, ci, 1);
  fputs(E->depth_split ? ", aotc_c, aotc_trs, aotc_tcs,\n" : ", aotc_c, aotc_rs, aotc_cs,\n", E->out);
  emit_indent(E);
  fprintf(E->out, "    aotc_min(%d, aotc_mc - aotc_ir), aotc_min(%d, aotc_nc - aotc_jr), %s);\n", b->mr, b->nr,
          !c->init ? "0" : E->depth_split ? "aotc_pc == aotc_k0" : "aotc_pc == 0");
  if (!E->depth_split)
    emit_epilogue_print_tile(E, ci);
  emit_close_block(E);
  emit_close_block(E);
}

/* C = 0 over the slice when the depth is empty (`+=!` only). */
static void print_empty_depth(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  if (!c->init)
    return;
  emit_open_block(E, "if (aotc_k == 0)");
  emit_open_block(E, "for (int64_t aotc_fi = aotc_i0; aotc_fi < aotc_i1; aotc_fi++)");
  emit_open_block(E, "for (int64_t aotc_fj = aotc_j0; aotc_fj < aotc_j1; aotc_fj++)");
  print_decompose(E, c->rows, c->n_rows, "aotc_fi", false);
  print_decompose(E, c->cols, c->n_cols, "aotc_fj", false);
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(" = 0.0f;\n", E->out);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

/* The row blocks of one depth block of the slice: A's block packed (when
 * not packed in advance), then its register tiles. */
static void print_row_blocks(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                             const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_ic = aotc_i0; aotc_ic < aotc_i1; aotc_ic += %d)", b->mc);
  emit_line(E, "const int64_t aotc_mc = aotc_min(%d, aotc_i1 - aotc_ic);", b->mc);
  if (!emit_prepack_usable(E, ci, 0))
    print_pack_a(E, c, b);
  print_tiles(E, ci, c, s, b);
  emit_close_block(E);
}

/* The column and depth blocks over columns aotc_j0..aotc_j1. */
static void print_col_depth_blocks(emit_fn *E, const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_jc = aotc_j0; aotc_jc < aotc_j1; aotc_jc += %d)", b->nc);
  emit_line(E, "const int64_t aotc_nc = aotc_min(%d, aotc_j1 - aotc_jc);", b->nc);
  if (E->depth_split) {
    emit_open_block(E, "for (int64_t aotc_pc = aotc_k0; aotc_pc < aotc_k1; aotc_pc += %d)", b->kc);
    emit_line(E, "const int64_t aotc_kc = aotc_min(%d, aotc_k1 - aotc_pc);", b->kc);
    return;
  }
  emit_open_block(E, "for (int64_t aotc_pc = 0; aotc_pc < aotc_k; aotc_pc += %d)", b->kc);
  emit_line(E, "const int64_t aotc_kc = aotc_min(%d, aotc_k - aotc_pc);", b->kc);
}

/* The blocked loops over one thread's slice. */
static void print_blis_loops(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                             const sched_blocks *b)
{
  print_col_depth_blocks(E, b);
  if (!emit_prepack_usable(E, ci, 1))
    print_pack_b(E, ci, c, b);
  print_row_blocks(E, ci, c, s, b);
  emit_close_block(E);
  emit_close_block(E);
}

/* Extents, strides of C's rows and columns, floats per thread's buffers. */
static void print_contraction_sizes(emit_fn *E, const sched_contraction *c, const ir_stmt *s, const sched_blocks *b)
{
  print_contraction_extents(E, c);
  emit_indent(E);
  fputs("const int64_t aotc_rs = ", E->out);
  print_stride(E, s->tensor, lhs_pos(s, c->i));
  fputs(", aotc_cs = ", E->out);
  print_stride(E, s->tensor, lhs_pos(s, c->j));
  fputs(";\n", E->out);
  emit_indent(E);
  fputs("const int64_t aotc_per = ", E->out);
  print_pack_floats(E, b, "aotc_m", "aotc_n", "aotc_k");
  fputs(";\n", E->out);
}

/* Thread t's buffers for A and B (B's is declared outside when shared). */
static void print_thread_buffers(emit_fn *E, int ci, const sched_blocks *b, bool shared_b)
{
  emit_line(E, "float *aotc_ap = aotc_pack + aotc_t * aotc_per;");
  if (!shared_b)
    emit_line(E, "float *aotc_bp = aotc_ap + (aotc_min(%d, aotc_m) + %d) / %d * %d * aotc_min(%d, aotc_k);", b->mc,
              b->mr - 1, b->mr, b->mr, b->kc);
  if (emit_prepack_usable(E, ci, 0) || emit_prepack_usable(E, ci, 1))
    emit_line(E, "(void)aotc_ap;\n%*s(void)aotc_bp;", 2 * E->indent, "");
}

/* AOTC_SHARED_B=1: threads that split the rows of C share B's panel.
 * Off by default: it saves a few percent of those products on idle cores,
 * but its barrier per depth block cost more than the packing it saves on
 * the shared 2-vCPU machine issue 10 is measured on (bench/RESULTS.md,
 * 2026-12-03 10:07-10:46), where each thread packing the whole panel
 * needs no barrier. */
bool emit_ukernel_shared_b_on(void)
{
  const char *env = getenv("AOTC_SHARED_B");
  return env && !strcmp(env, "1");
}

/* Whether the threads share one packed panel of B when they split the
 * rows of C (fewer batches than threads, fewer columns than rows): B is
 * packed here, not in advance, there is more than one thread, and
 * AOTC_SHARED_B=1. */
static bool shares_b(const emit_fn *E, int ci)
{
  return E->pf->blocks[ci].threads > 1 && !emit_prepack_usable(E, ci, 1) && emit_ukernel_shared_b_on();
}

/* Rows split over threads that share B's panel, in one parallel region:
 * per column and depth block, the threads pack B's panels (a share each,
 * into thread 0's B buffer for even blocks, thread 1's for odd ones) and,
 * after the barrier that ends the packing loop, each computes its whole
 * register tiles of rows against it. One barrier per block: a thread
 * packing block b + 1 writes the buffer of block b - 1, which every
 * thread has left before reaching the barrier after block b's packing.
 * Without OpenMP the loops run one after the other, which is the same. */
static void print_shared_b_loops(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                                 const sched_blocks *b)
{
  const emit_target *tg = E->em->tg;
  emit_line(E, "float *const aotc_bs = aotc_pack + (aotc_min(%d, aotc_m) + %d) / %d * %d * aotc_min(%d, aotc_k);",
            b->mc, b->mr - 1, b->mr, b->mr, b->kc);
  fprintf(E->out, tg->parallel_region, b->threads);
  emit_line(E, "{");
  E->indent++;
  emit_line(E, "int64_t aotc_blk = 0;");
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nb; aotc_q++)");
  print_batch_indices(E, c, s);
  emit_line(E, "const int64_t aotc_j0 = 0, aotc_j1 = aotc_n;");
  print_col_depth_blocks(E, b);
  emit_line(E, "float *const aotc_bp = aotc_bs + (aotc_blk++ & 1) * aotc_per;");
  fputs(tg->for_static, E->out);
  print_pack_b(E, ci, c, b);
  fputs(tg->for_static_nowait, E->out);
  emit_open_block(E, "for (int64_t aotc_t = 0; aotc_t < %d; aotc_t++)", b->threads);
  print_thread_buffers(E, ci, b, true);
  emit_line(E, "const int64_t aotc_w = (aotc_m + %d) / %d * %d;", b->threads * b->mr - 1, b->threads * b->mr, b->mr);
  emit_line(E, "const int64_t aotc_i0 = aotc_min(aotc_m, aotc_t * aotc_w);");
  emit_line(E, "const int64_t aotc_i1 = aotc_min(aotc_m, aotc_i0 + aotc_w);");
  print_row_blocks(E, ci, c, s, b);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

/* The indices of a depth split's one batch (all 0). */
static void print_one_batch(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  emit_line(E, "const int64_t aotc_q = 0;\n%*s(void)aotc_q;", 2 * E->indent, "");
  print_batch_indices(E, c, s);
}

/* Thread t's share of a depth split: its slice of the depth, into C (t =
 * 0) or its partial product at aotc_sk (t - 1: m x n, dense), over all of
 * C, with no epilogue. */
static void print_split_partials(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                                 const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_t = 0; aotc_t < %d; aotc_t++)", b->threads);
  print_thread_buffers(E, ci, b, false);
  print_one_batch(E, c, s);
  emit_line(E, "const int64_t aotc_i0 = 0, aotc_i1 = aotc_m, aotc_j0 = 0, aotc_j1 = aotc_n;");
  emit_line(E, "const int64_t aotc_wk = (aotc_k + %d) / %d;", b->threads - 1, b->threads);
  emit_line(E, "const int64_t aotc_k0 = aotc_min(aotc_k, aotc_t * aotc_wk), aotc_k1 = aotc_min(aotc_k, aotc_k0 + aotc_wk);");
  emit_line(E, "const int64_t aotc_trs = aotc_t > 0 ? aotc_n : aotc_rs, aotc_tcs = aotc_t > 0 ? 1 : aotc_cs;");
  E->depth_split = true;
  print_blis_loops(E, ci, c, s, b);
  E->depth_split = false;
  emit_close_block(E);
}

/* Thread t's slice of C's rows (whole register tiles) after the partial
 * products: each tile gets the other threads' partials added, then the
 * fused epilogue, as the last depth block of a product applies it. */
static void print_split_sums(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                             const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_t = 0; aotc_t < %d; aotc_t++)", b->threads);
  print_one_batch(E, c, s);
  emit_line(E, "const int64_t aotc_w = (aotc_m + %d) / %d * %d;", b->threads * b->mr - 1, b->threads * b->mr, b->mr);
  emit_line(E, "const int64_t aotc_ic = aotc_min(aotc_m, aotc_t * aotc_w);");
  emit_line(E, "const int64_t aotc_mc = aotc_min(aotc_m, aotc_ic + aotc_w) - aotc_ic;");
  emit_line(E, "const int64_t aotc_jc = 0, aotc_nc = aotc_n, aotc_j1 = aotc_n, aotc_pc = 0, aotc_kc = aotc_k;");
  emit_line(E, "(void)aotc_j1;\n%*s(void)aotc_pc;\n%*s(void)aotc_kc;", 2 * E->indent, "", 2 * E->indent, "");
  open_row_tiles(E, c, b);
  open_column_tiles(E, c, b);
  print_tile_c(E, s);
  emit_line(E, "const int64_t aotc_smr = aotc_min(%d, aotc_mc - aotc_ir), aotc_snr = aotc_min(%d, aotc_nc - aotc_jr);",
            b->mr, b->nr);
  emit_open_block(E, "for (int64_t aotc_u = 1; aotc_u < %d; aotc_u++)", b->threads);
  emit_line(E, "const float *aotc_s = aotc_sk + (aotc_u - 1) * aotc_m * aotc_n + (aotc_ic + aotc_ir) * aotc_n + aotc_jc + aotc_jr;");
  emit_open_block(E, "for (int64_t aotc_si = 0; aotc_si < aotc_smr; aotc_si++)");
  emit_open_block(E, "for (int64_t aotc_sj = 0; aotc_sj < aotc_snr; aotc_sj++)");
  emit_line(E, "aotc_c[aotc_si * aotc_rs + aotc_sj * aotc_cs] += aotc_s[aotc_si * aotc_n + aotc_sj];");
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  emit_epilogue_print_tile(E, ci);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

/* The depth split (splits_depth) in one parallel region: the partial
 * products, then (after the barrier that ends their loop) the sums. */
static void print_depth_split(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                              const sched_blocks *b)
{
  const emit_target *tg = E->em->tg;
  emit_line(E, "float *const aotc_sk = aotc_pack + %d * aotc_per;", b->threads);
  emit_line(E, "(void)aotc_nb;");
  fprintf(E->out, tg->parallel_region, b->threads);
  emit_line(E, "{");
  E->indent++;
  fputs(tg->for_static, E->out);
  print_split_partials(E, ci, c, s, b);
  fputs(tg->for_static, E->out);
  print_split_sums(E, ci, c, s, b);
  E->indent--;
  emit_line(E, "}");
}

/* Thread t of T takes a block of whole batches (batches t * nb / T to
 * (t + 1) * nb / T, as OpenMP's static schedule gives a loop over images
 * and channels: a depthwise convolution at batch 8 leaves images 0-3 with
 * thread 0, and the product after it reads them there), or a slice of each
 * (print_thread_slice). */
static void print_thread_loops(emit_fn *E, int ci, const sched_contraction *c, const ir_stmt *s,
                               const sched_blocks *b)
{
  emit_open_block(E, "for (int64_t aotc_t = 0; aotc_t < %d; aotc_t++)", b->threads);
  print_thread_buffers(E, ci, b, false);
  if (b->threads > 1)
    emit_open_block(E, "for (int64_t aotc_q = aotc_nb < %d ? 0 : aotc_t * aotc_nb / %d; "
                       "aotc_q < (aotc_nb < %d ? aotc_nb : (aotc_t + 1) * aotc_nb / %d); aotc_q++)",
                    b->threads, b->threads, b->threads, b->threads);
  else
    emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nb; aotc_q++)");
  print_batch_indices(E, c, s);
  print_thread_slice(E, b);
  print_blis_loops(E, ci, c, s, b);
  print_empty_depth(E, c, s);
  emit_close_block(E);
  emit_close_block(E);
}

void emit_ukernel_print_contraction(emit_fn *E, int ci)
{
  const sched_contraction *c = &E->pf->contr[ci];
  const sched_blocks *b = &E->pf->blocks[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  E->stmt = s;
  E->em->helper[EMIT_H_MIN] = true;
  use_ukr(E->em, b, b_in_place_depth(E, ci) >= 0);
  for (int x = 0; x < s->n_index; x++)
    emit_bind_index(E, x);
  emit_line(E, "/* %s: packed %dx%d register tiles, blocks %d x %d x %d, %d thread(s) */", E->f->name, b->mr, b->nr,
            b->mc, b->nc, b->kc, b->threads);
  emit_line(E, "{");
  E->indent++;
  print_contraction_sizes(E, c, s, b);
  if (shares_b(E, ci)) {
    emit_open_block(E, "if (aotc_nb < %d && aotc_n < aotc_m && aotc_k > 0)", b->threads);
    print_shared_b_loops(E, ci, c, s, b);
    E->indent--;
    emit_open_block(E, "} else");
  }
  if (splits_depth(E, ci)) {
    print_depth_split(E, ci, c, s, b);
  } else {
    if (b->threads > 1)
      fprintf(E->out, E->em->tg->parallel_for, b->threads);
    print_thread_loops(E, ci, c, s, b);
  }
  if (shares_b(E, ci))
    emit_close_block(E);
  emit_close_block(E);
  emit_unbind_indices(E, s);
  E->stmt = NULL;
}

void emit_ukernel_print_defs(FILE *out, const emit_module *em)
{
  /* For the fused epilogues' full-tile test (emit_epilogue.c): gcc at -O2
   * predicts an equality false and keeps a loop it thinks cold scalar. */
  if (em->n_ukr > 0)
    fputs("#ifndef AOTC_LIKELY\n#if defined(__GNUC__)\n#define AOTC_LIKELY(c) __builtin_expect(!!(c), 1)\n#else\n"
          "#define AOTC_LIKELY(c) (c)\n#endif\n#endif\n\n",
          out);
  for (int i = 0; i < em->n_ukr; i++)
    print_ukr(out, em->tg, &em->ukr[i], em->ukr_strided[i]);
}

/* ---- products left to plain loops */

/* The reduction indices e's subscripts mention, as a bit set. */
static unsigned reduction_uses(const ir_stmt *s, const ir_expr *e)
{
  unsigned used = 0;
  if (e->kind == IR_INDEX && e->index >= 0 && e->index < 32 && s->index[e->index].reduction)
    used |= 1u << e->index;
  for (int k = 0; k < e->n_args; k++)
    used |= reduction_uses(s, e->args[k]);
  return used;
}

/* Elements the statement writes, when its ranges are constant. */
static bool small_output(const ir_stmt *s)
{
  int64_t n = 1, lo, hi;
  for (int j = 0; j < s->n_lhs; j++) {
    const ir_index *x = &s->index[s->lhs[j]];
    if (!ir_size_is_const(x->lo, &lo) || !ir_size_is_const(x->hi, &hi))
      return false;
    n *= hi - lo;
  }
  return n < SCHED_PACKED_MIN_OUTPUT;
}

/* A float sum over products (times a constant or not) of two tensor reads
 * sharing a reduction index,
 * with a matrix (two or more indices, SCHED_PACKED_MIN_OUTPUT elements or
 * more: a smaller one stays with its bias on purpose) on the left. */
static bool is_product(const ir_func *f, const ir_stmt *s)
{
  const ir_expr *e = s->rhs;
  if (e->kind == IR_BINARY && e->op == IR_MUL && e->args[0]->kind == IR_CONST_FLOAT)
    e = e->args[1];
  else if (e->kind == IR_BINARY && e->op == IR_MUL && e->args[1]->kind == IR_CONST_FLOAT)
    e = e->args[0];
  if (!ir_stmt_is_plain(s) || s->red != IR_RED_ADD || s->n_lhs < 2 || f->tensors[s->tensor]->type != IR_F32 ||
      e->kind != IR_BINARY || e->op != IR_MUL || e->type != IR_F32 || small_output(s))
    return false;
  if (e->args[0]->kind != IR_ACCESS || e->args[1]->kind != IR_ACCESS)
    return false;
  return (reduction_uses(s, e->args[0]) & reduction_uses(s, e->args[1])) != 0;
}

static bool is_packed(const emit_plan_fn *pf, int stmt)
{
  for (int i = 0; i < pf->n_contr; i++)
    if (pf->contr[i].stmt == stmt)
      return true;
  return false;
}

void emit_ukernel_warn_fallbacks(const emit_plan *p, const emit_plan_fn *pf)
{
  const ir_func *f = pf->f;
  const sched_cpu *cpu = p->opt->cpu ? p->opt->cpu : sched_cpu_native();
  if (emit_target_is_gpu(p->target) || !(pf->sched.microkernel || (pf->heuristic && cpu->microkernel)))
    return;
  for (int i = 0; i < f->n_stmts; i++)
    if (is_product(f, f->stmts[i]) && !is_packed(pf, i))
      aotc_warning(p->ctx, f->stmts[i]->loc,
                   "%s: the matrix product writing '%s' runs as plain loops, not on the packed micro-kernel path "
                   "(its operands' subscripts or its kernel do not fit)",
                   f->name, f->tensors[f->stmts[i]->tensor]->name);
}
