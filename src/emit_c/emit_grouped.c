/* emit_grouped.c: stride-1 grouped convolutions as a direct kernel in C.
 *
 * conv_grouped.c lowers a grouped convolution to one contraction batched
 * over the images and the groups, over the explicit padded copy xp:
 *
 *   y(n, g, m, oh, ow) +=! w(g * Mg + m, c, kh, kw) * xp(n, g * Cg + c, oh + kh * d, ow + kw * d)
 *
 * which the packed path runs per group as an (Mg x Cg*KH*KW) by
 * (Cg*KH*KW x OH*OW) product. With 16 or 32 channels a group on 14x14 or
 * 7x7 outputs (ResNeXt-50's layer3 and layer4) that product is small in
 * every dimension and re-packs its B (runs of 14 or 7 columns) for every
 * group: 24 GFLOP/s against ONNX Runtime's 82. Here, at stride 1, output q
 * = oh * Wp + ow (Wp the padded copy's row length, columns from OW on
 * being sums nobody reads) is the sum over the group's channels and taps of
 * w * xp_plane[q + (kh * Wp + kw) * d]: unit-stride reads of the padded
 * planes, no packing. A pass holds GRP_M output channels by GRP_Q vectors
 * of q in registers over all Cg * KH * KW taps (a plane vector loaded once
 * for GRP_M channels, a weight once for GRP_Q vectors), then stores them
 * into a local plane; the outputs' rows are copied out at the end. The
 * last pass of a plane starts GRP_Q vectors before its end, so that no
 * read passes the plane. C backend on CPUs with vectors only; otherwise,
 * at other strides, and where a channel count is no multiple of GRP_M,
 * the packed path stays. */
#include "emit_grouped.h"

#include <string.h>


/* e's coefficients over the statement's n indices and its constant;
 * false when it is not affine (index arithmetic of +, - and * by a
 * constant). */
static bool affine(const ir_expr *e, int n, int64_t *coef, int64_t *c0)
{
  int64_t a[GRP_MAX_INDEX], a0, b[GRP_MAX_INDEX], b0;
  memset(coef, 0, sizeof(int64_t) * (size_t)n);
  *c0 = 0;
  if (e->kind == IR_INDEX && e->index < n) {
    coef[e->index] = 1;
    return true;
  }
  if (e->kind == IR_CONST_INT) {
    *c0 = e->ival;
    return true;
  }
  if (e->kind != IR_BINARY || n > GRP_MAX_INDEX || !affine(e->args[0], n, a, &a0) ||
      !affine(e->args[1], n, b, &b0))
    return false;
  bool ca = true, cb = true;
  for (int i = 0; i < n; i++)
    ca = ca && !a[i], cb = cb && !b[i];
  for (int i = 0; i < n; i++)
    coef[i] = e->op == IR_ADD ? a[i] + b[i] : e->op == IR_SUB ? a[i] - b[i] : ca ? a0 * b[i] : b0 * a[i];
  *c0 = e->op == IR_ADD ? a0 + b0 : e->op == IR_SUB ? a0 - b0 : a0 * b0;
  return e->op == IR_ADD || e->op == IR_SUB || (e->op == IR_MUL && (ca || cb));
}

/* Whether subscript e of s is exactly k1 * index x1 + k2 * index x2 (x2
 * may be -1: one term). */
static bool subscript_is(const ir_stmt *s, const ir_expr *e, int x1, int64_t k1, int x2, int64_t k2)
{
  int64_t coef[GRP_MAX_INDEX], c0;
  if (s->n_index > GRP_MAX_INDEX || !affine(e, s->n_index, coef, &c0) || c0)
    return false;
  for (int i = 0; i < s->n_index; i++)
    if (coef[i] != (i == x1 ? k1 : 0) + (i == x2 ? k2 : 0))
      return false;
  return true;
}

/* The index a subscript names alone, or -1. */
static int lone_index(const ir_expr *e)
{
  return e->kind == IR_INDEX ? e->index : -1;
}

static bool dims_of(const ir_tensor *T, int rank, int64_t *d)
{
  if (T->rank != rank)
    return false;
  for (int i = 0; i < rank; i++)
    if (!T->shape[i] || !ir_size_is_const(T->shape[i], &d[i]) || d[i] <= 0)
      return false;
  return true;
}

/* Whether index x of s runs over [0, hi). */
static bool runs_to(const ir_stmt *s, int x, int64_t hi)
{
  int64_t lo, h;
  return x >= 0 && ir_size_is_const(s->index[x].lo, &lo) && ir_size_is_const(s->index[x].hi, &h) && lo == 0 &&
         h == hi;
}

/* The weights w(g * Mg + m, c, kh, kw): their dimensions and the
 * reduction indices r[0..2] (c, kh, kw). */
static bool match_weights(const ir_func *f, const ir_stmt *s, const ir_expr *e, grp_conv *k, int *r)
{
  int64_t wd[4];
  if (e->kind != IR_ACCESS || e->padded || e->n_args != 4 || !dims_of(f->tensors[e->tensor], 4, wd))
    return false;
  for (int i = 0; i < 3; i++) {
    r[i] = lone_index(e->args[i + 1]);
    if (r[i] < 0 || !s->index[r[i]].reduction || (i && r[i] == r[i - 1]) || (i == 2 && r[2] == r[0]))
      return false;
  }
  k->w = e->tensor;
  k->cg = wd[1], k->kh = wd[2], k->kw = wd[3];
  return wd[0] == k->g * k->mg && subscript_is(s, e->args[0], s->lhs[1], k->mg, s->lhs[2], 1) &&
         runs_to(s, r[0], k->cg) && runs_to(s, r[1], k->kh) && runs_to(s, r[2], k->kw);
}

/* The padded input xp(n, g * Cg + c, oh + kh * d, ow + kw * d). */
static bool match_input(const ir_func *f, const ir_stmt *s, const ir_expr *e, grp_conv *k, const int *r)
{
  int64_t xd[4], coef[GRP_MAX_INDEX], c0;
  if (e->kind != IR_ACCESS || e->padded || e->n_args != 4 || !dims_of(f->tensors[e->tensor], 4, xd) ||
      s->n_index > GRP_MAX_INDEX || !affine(e->args[2], s->n_index, coef, &c0))
    return false;
  k->x = e->tensor;
  k->c = xd[1], k->hp = xd[2], k->wp = xd[3];
  k->d = coef[r[1]];
  return xd[0] == k->n && k->c == k->g * k->cg && k->d >= 1 && subscript_is(s, e->args[0], s->lhs[0], 1, -1, 0) &&
         subscript_is(s, e->args[1], s->lhs[1], k->cg, r[0], 1) &&
         subscript_is(s, e->args[2], s->lhs[3], 1, r[1], k->d) && subscript_is(s, e->args[3], s->lhs[4], 1, r[2], k->d);
}

/* Whether no other kernel is applied in the contraction's store. */
static bool no_epilogue(const emit_plan_fn *pf, const emit_kernel *ek)
{
  for (int i = 0; i < pf->n_kernels; i++)
    if (pf->kernels[i].epilogue_of == ek->contraction)
      return false;
  return true;
}

bool emit_grouped_recognise(const ir_func *f, const emit_plan_fn *pf, const emit_kernel *ek, bool gpu, grp_conv *k)
{
  const ir_stmt *s = f->stmts[ek->first];
  int64_t yd[5];
  int r[3];
  *k = (grp_conv){.y = s->tensor};
  if (gpu || ek->contraction < 0 || !pf->sched.vectorize || pf->sched.vector_bytes < 16 || ek->end != ek->first + 1 ||
      !ir_stmt_is_plain(s) || s->n_lhs != 5 || s->n_index != 8 || s->red != IR_RED_ADD || !s->init ||
      s->rhs->kind != IR_BINARY || s->rhs->op != IR_MUL || !dims_of(f->tensors[s->tensor], 5, yd) ||
      !no_epilogue(pf, ek))
    return false;
  k->n = yd[0], k->g = yd[1], k->mg = yd[2], k->oh = yd[3], k->ow = yd[4];
  for (int i = 0; i < 5; i++)
    if (!runs_to(s, s->lhs[i], yd[i]))
      return false;
  if (!match_weights(f, s, s->rhs->args[0], k, r) || !match_input(f, s, s->rhs->args[1], k, r))
    return false;
  k->lanes = (pf->sched.vector_bytes > 64 ? 64 : pf->sched.vector_bytes) / 4;
  k->len = (k->oh - 1) * k->wp + k->ow;
  return k->mg % GRP_M == 0 && k->len >= GRP_Q * k->lanes && k->len <= GRP_MAX_PLANE && (k->oh - 1) + (k->kh - 1) * k->d < k->hp && (k->ow - 1) + (k->kw - 1) * k->d < k->wp;
}

/* ------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------ */

/* The pass's sums as explicit vectors: aotc_a<j>_<v> for output channel
 * j and vector v, over the group's channels and taps. */
static void print_vector_pass(emit_fn *E, const grp_conv *k)
{
  long long vw = k->lanes, taps = k->kh * k->kw;
  fputs(E->em->tg->vector_guard, E->out);
  emit_indent(E);
  fprintf(E->out, E->em->tg->vector_type, (int)vw, (int)vw * 4);
  for (int j = 0; j < GRP_M; j++)
    for (int v = 0; v < GRP_Q; v++)
      emit_line(E, "aotc_vf%lld aotc_a%d_%d = (aotc_vf%lld){0};", vw, j, v, vw);
  emit_open_block(E, "for (int64_t aotc_c = 0; aotc_c < %lld; aotc_c++)", (long long)k->cg);
  emit_line(E, "const float *aotc_xc = aotc_xg + aotc_c * %lld + aotc_q0;", (long long)(k->hp * k->wp));
  emit_line(E, "const float *aotc_wc = aotc_wg + aotc_c * %lld;", taps);
  emit_open_block(E, "for (int64_t aotc_t = 0; aotc_t < %lld; aotc_t++)", taps);
  emit_line(E, "const float *aotc_xt = aotc_xc + aotc_t / %lld * %lld + aotc_t %% %lld * %lld;", (long long)k->kw,
            (long long)(k->d * k->wp), (long long)k->kw, (long long)k->d);
  for (int v = 0; v < GRP_Q; v++)
    emit_line(E, "const aotc_vf%lld aotc_x%d = *(const aotc_vf%lld *)(aotc_xt + %lld);", vw, v, vw, v * vw);
  for (int j = 0; j < GRP_M; j++) {
    emit_line(E, "const float aotc_w%d = aotc_wc[aotc_t + %lld];", j, j * k->cg * taps);
    for (int v = 0; v < GRP_Q; v++)
      emit_line(E, "aotc_a%d_%d += aotc_x%d * aotc_w%d;", j, v, v, j);
  }
  emit_close_block(E);
  emit_close_block(E);
  for (int j = 0; j < GRP_M; j++)
    for (int v = 0; v < GRP_Q; v++)
      emit_line(E, "*(aotc_vf%lld *)&aotc_o[%d][aotc_q0 + %lld] = aotc_a%d_%d;", vw, j, v * vw, j, v);
  fputs("#else\n", E->out);
}

/* The same pass as loops, for compilers without vector types. */
static void print_scalar_pass(emit_fn *E, const grp_conv *k)
{
  long long w = GRP_Q * k->lanes, taps = k->kh * k->kw;
  emit_open_block(E, "for (int64_t aotc_j = 0; aotc_j < %d; aotc_j++)", GRP_M);
  emit_line(E, "float *aotc_oj = &aotc_o[aotc_j][aotc_q0];");
  emit_open_block(E, "for (int64_t aotc_v = 0; aotc_v < %lld; aotc_v++)", w);
  emit_line(E, "aotc_oj[aotc_v] = 0.0f;");
  emit_close_block(E);
  emit_open_block(E, "for (int64_t aotc_p = 0; aotc_p < %lld; aotc_p++)", (long long)k->cg * taps);
  emit_line(E, "const float *aotc_xt = aotc_xg + aotc_p / %lld * %lld + aotc_q0 + aotc_p %% %lld / %lld * %lld + "
            "aotc_p %% %lld * %lld;", taps, (long long)(k->hp * k->wp), taps, (long long)k->kw,
            (long long)(k->d * k->wp), (long long)k->kw, (long long)k->d);
  emit_line(E, "const float aotc_wt = aotc_wg[aotc_j * %lld + aotc_p];", (long long)k->cg * taps);
  if (E->pf->sched.vectorize)
    fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t aotc_v = 0; aotc_v < %lld; aotc_v++)", w);
  emit_line(E, "aotc_oj[aotc_v] += aotc_wt * aotc_xt[aotc_v];");
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
  fputs("#endif\n", E->out);
}

/* The outputs' rows of the pass's GRP_M channels, out of the local planes. */
static void print_copy_out(emit_fn *E, const grp_conv *k)
{
  emit_open_block(E, "for (int64_t aotc_j = 0; aotc_j < %d; aotc_j++)", GRP_M);
  emit_line(E, "float *aotc_y = &%s[((aotc_gn * %lld + aotc_gg) * %lld + aotc_gm + aotc_j) * %lld];", E->tensor_c[k->y],
            (long long)k->g, (long long)k->mg, (long long)(k->oh * k->ow));
  emit_open_block(E, "for (int64_t aotc_h = 0; aotc_h < %lld; aotc_h++)", (long long)k->oh);
  if (E->pf->sched.vectorize)
    fputs(E->em->tg->simd_for, E->out);
  emit_open_block(E, "for (int64_t aotc_w = 0; aotc_w < %lld; aotc_w++)", (long long)k->ow);
  emit_line(E, "aotc_y[aotc_h * %lld + aotc_w] = aotc_o[aotc_j][aotc_h * %lld + aotc_w];", (long long)k->ow,
            (long long)k->wp);
  emit_close_block(E);
  emit_close_block(E);
  emit_close_block(E);
}

/* One work item: image aotc_gn, group aotc_gg, output channels aotc_gm..+GRP_M. */
static void print_item(emit_fn *E, const grp_conv *k)
{
  long long per = k->mg / GRP_M, w = GRP_Q * k->lanes;
  emit_line(E, "const int64_t aotc_gn = aotc_gq / %lld, aotc_gg = aotc_gq / %lld %% %lld, aotc_gm = aotc_gq %% %lld * %d;",
            (long long)k->g * per, per, (long long)k->g, per, GRP_M);
  emit_line(E, "float aotc_o[%d][%lld];", GRP_M, (long long)k->len);
  emit_line(E, "const float *aotc_xg = &%s[(aotc_gn * %lld + aotc_gg * %lld) * %lld];", E->tensor_c[k->x],
            (long long)k->c, (long long)k->cg, (long long)(k->hp * k->wp));
  emit_line(E, "const float *aotc_wg = &%s[(aotc_gg * %lld + aotc_gm) * %lld];", E->tensor_c[k->w], (long long)k->mg,
            (long long)(k->cg * k->kh * k->kw));
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < %lld; aotc_q += %lld)", (long long)k->len, w);
  emit_line(E, "const int64_t aotc_q0 = aotc_q + %lld <= %lld ? aotc_q : %lld;", w, (long long)k->len,
            (long long)k->len - w);
  print_vector_pass(E, k);
  print_scalar_pass(E, k);
  emit_close_block(E);
  print_copy_out(E, k);
}

bool emit_grouped_print_kernel(emit_fn *E, const emit_kernel *ek)
{
  grp_conv k;
  if (!emit_grouped_recognise(E->f, E->pf, ek, emit_target_is_gpu(E->em->tg), &k))
    return false;
  int th = E->pf->blocks[ek->contraction].threads;
  emit_line(E, "/* statement %d: a stride-1 grouped convolution, %lld groups of %lld x %lld channels, %lldx%lld taps, "
            "as a direct kernel (emit_grouped.c) */", ek->first, (long long)k.g, (long long)k.mg, (long long)k.cg,
            (long long)k.kh, (long long)k.kw);
  emit_line(E, "(void)aotc_pack; /* the packed path's buffer: unused when every contraction is direct */");
  if (th > 1)
    fprintf(E->out, E->em->tg->parallel_for, th);
  emit_open_block(E, "for (int64_t aotc_gq = 0; aotc_gq < %lld; aotc_gq++)", (long long)(k.n * k.g * (k.mg / GRP_M)));
  print_item(E, &k);
  emit_close_block(E);
  return true;
}
