/* emit_vmath.c: vector-friendly float math for the emitted C. expf, erff
 * and tanhf (and sigmoid, an expression of exp) become static inline
 * branch-free polynomials, printed once and only when the code calls them,
 * so that gcc vectorises the loops that call them (libm's are opaque calls
 * that keep a loop scalar); pow with a constant exponent of 2 or 3 becomes
 * multiplications on every target. The polynomials are within a few ulp of
 * libm (tests/vmath/run.sh sweeps them against it; the coefficients come
 * from tests/vmath/fit.py). They are written in plain C99 (a union for the
 * bits of a float, selects as conditional expressions) and are used for the
 * CPUs with vector units; double, CUDA, --cpu generic and cortex-m4 keep
 * libm. */
#include "emit_print.h"
#include "emit_vmath.h"
#include "../schedule/schedule.h"

#include <string.h>

/* S: a constant of emit_vmath.h as written there. */
#define S VM_STR

/* exp's reduction, shared by aotc_expf and aotc_expf_neg: c (the clamped
 * argument) = n ln2 + r, t the bits of n + 1.5 * 2^23, e^r = p r r + r + 1. */
#define EXP_REDUCTION                                                                                          \
  "  t.f = c * " S(VM_LOG2E) " + " S(VM_SHIFT) ";\n"                                                          \
  "  float n = t.f - " S(VM_SHIFT) ";\n"                                                                      \
  "  float r = c - n * " S(VM_LN2_HI) " + n * " S(VM_LN2_LO) ";\n"                                            \
  "  float p = ((((" S(VM_EXP_P5) " * r + " S(VM_EXP_P4) ") * r + " S(VM_EXP_P3) ") * r + " S(VM_EXP_P2)       \
  ") * r +\n"                                                                                                 \
  "             " S(VM_EXP_P1) ") * r + " S(VM_EXP_P0) ";\n"

/* exp: x = n ln2 + r, |r| <= ln2/2 (Cody-Waite), e^r by Cephes' expf
 * polynomial, 2^n as two halves so that subnormal results and the top of
 * the range stay exact; clamped so that n fits, NaN passes through. */
static const char vm_exp_text[] =
    "float aotc_expf(float x)\n"
    "{\n"
    "  union { float f; uint32_t u; } t, h, s1, s2;\n"
    "  float c = aotc_pickf(x < " S(VM_EXP_LO) ", " S(VM_EXP_LO) ", aotc_pickf(x > " S(VM_EXP_HI) ", " S(VM_EXP_HI)
    ", x));\n"
    EXP_REDUCTION
    "  h.f = (n * 0.5f - 0.25f) + " S(VM_SHIFT) ";\n"
    "  uint32_t k = t.u - " S(VM_SHIFT_BITS) ", k1 = h.u - " S(VM_SHIFT_BITS) ";\n"
    "  s1.u = (k1 + 127u) << 23;\n"
    "  s2.u = (k - k1 + 127u) << 23;\n"
    "  return (p * r * r + r + 1.0f) * s1.f * s2.f;\n"
    "}\n";

/* exp of an argument known to be at most 0 (x - max x: softmax, log-sum-exp):
 * the same reduction and polynomial, 2^n in one piece (n >= -126 once the
 * argument is clamped at -87.3, where expf's results turn subnormal), and 0
 * below that. A third fewer operations than aotc_expf; NaN passes through. */
static const char vm_exp_neg_text[] =
    "float aotc_expf_neg(float x)\n"
    "{\n"
    "  union { float f; uint32_t u; } t, s;\n"
    "  float c = aotc_pickf(x < " S(VM_EXP_NEG_LO) ", " S(VM_EXP_NEG_LO) ", x);\n"
    EXP_REDUCTION
    "  s.u = (t.u - " S(VM_SHIFT_BITS) " + 127u) << 23;\n"
    "  return aotc_pickf(x < " S(VM_EXP_NEG_LO) ", 0.0f, (p * r * r + r + 1.0f) * s.f);\n"
    "}\n";

/* erf: x P(x^2) below 0.875; above, 1 - e^(-x^2) Q(1/x) (Q ~ erfcx) up to
 * 3.925, where erff rounds to 1; the sign of x. */
static const char vm_erf_text[] =
    "float aotc_erff(float x)\n"
    "{\n"
    "  float a = aotc_pickf(x < 0.0f, -x, x), z = x * x;\n"
    "  float small = x * ((((((" S(VM_ERF_S6) " * z - " S(VM_ERF_S5_M) ") * z + " S(VM_ERF_S4) ") * z -\n"
    "                      " S(VM_ERF_S3_M) ") * z + " S(VM_ERF_S2) ") * z - " S(VM_ERF_S1_M) ") * z +\n"
    "                    " S(VM_ERF_S0) ");\n"
    "  float b = aotc_pickf(a < " S(VM_ERF_SMALL) ", " S(VM_ERF_SMALL) ", aotc_pickf(a > " S(VM_ERF_ONE) ", "
    S(VM_ERF_ONE) ", a)), t = 1.0f / b;\n"
    "  float q = (((((((" S(VM_ERF_Q8) " * t - " S(VM_ERF_Q7_M) ") * t + " S(VM_ERF_Q6) ") * t - " S(VM_ERF_Q5_M)
    ") * t +\n"
    "               " S(VM_ERF_Q4) ") * t - " S(VM_ERF_Q3_M) ") * t + " S(VM_ERF_Q2) ") * t + " S(VM_ERF_Q1) ") * t +\n"
    "            " S(VM_ERF_Q0) ";\n"
    "  float big = aotc_pickf(a >= " S(VM_ERF_ONE) ", 1.0f, 1.0f - aotc_expf(-(b * b)) * q);\n"
    "  return aotc_pickf(a < " S(VM_ERF_SMALL) ", small, aotc_pickf(x < 0.0f, -big, big));\n"
    "}\n";

/* tanh: x (1 + x^2 P(x^2)) below 0.625 (-0 stays -0); above, 1 - 2 / (e^(2|x|) + 1) with the
 * sign of x (9.1 and past round to 1). */
static const char vm_tanh_text[] =
    "float aotc_tanhf(float x)\n"
    "{\n"
    "  float a = aotc_pickf(x < 0.0f, -x, x), z = x * x;\n"
    "  float small = x * (1.0f + z * ((((((-" S(VM_TANH_P6_M) " * z + " S(VM_TANH_P5) ") * z - " S(VM_TANH_P4_M)
    ") * z +\n"
    "                                   " S(VM_TANH_P3) ") * z - " S(VM_TANH_P2_M) ") * z + " S(VM_TANH_P1) ") * z -\n"
    "                                 " S(VM_TANH_P0_M) "));\n"
    "  float b = aotc_pickf(a > " S(VM_TANH_ONE) ", " S(VM_TANH_ONE) ", a);\n"
    "  float big = 1.0f - 2.0f / (aotc_expf(2.0f * b) + 1.0f);\n"
    "  return aotc_pickf(a < " S(VM_TANH_SMALL) ", small, aotc_pickf(x < 0.0f, -big, big));\n"
    "}\n";

/* exp of an argument at most 0, 16 lanes (emit_vmath.h: VM_EXP16_*). The
 * max keeps NaN (its second operand); -inf and anything below the clamp
 * give 0. */
static const char vm_exp_neg16_text[] =
    "__m512 aotc_expf_neg16(__m512 x)\n"
    "{\n"
    "  static const float aotc_p2[32] = {" VM_EXP16_TABLE "};\n"
    "  const __m512 c = _mm512_max_ps(_mm512_set1_ps(" S(VM_EXP16_LO) "), x);\n"
    "  const __m512 t = _mm512_fmadd_ps(c, _mm512_set1_ps(" S(VM_EXP16_K) "), _mm512_set1_ps(" S(VM_SHIFT) "));\n"
    "  const __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(" S(VM_SHIFT) "));\n"
    "  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(" S(VM_EXP16_LN2_HI) "), c);\n"
    "  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(" S(VM_EXP16_LN2_LO) "), r);\n"
    "  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.16666667f), r, _mm512_set1_ps(0.5f));\n"
    "  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));\n"
    "  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));\n"
    "  const __m512 j = _mm512_permutex2var_ps(_mm512_loadu_ps(aotc_p2), _mm512_castps_si512(t), "
    "_mm512_loadu_ps(aotc_p2 + 16));\n"
    "  return _mm512_scalef_ps(_mm512_mul_ps(j, p), _mm512_mul_ps(n, _mm512_set1_ps(0.03125f)));\n"
    "}\n";
/* erf in 16 lanes: aotc_erff's polynomials and split (emit_vmath.h), the
 * exponential by aotc_expf_neg16 (its argument -b^2 is at most 0), the
 * selects as masked blends (min and max return their second operand when
 * one is NaN: NaN passes through, as in aotc_erff). For GELU's epilogue
 * (emit_epilogue.c), where gcc's vector form of aotc_erff took 1.6 times
 * as long. */
static const char vm_erf16_text[] =
    "__m512 aotc_erff16(__m512 x)\n"
    "{\n"
    "  const __m512 sign = _mm512_set1_ps(-0.0f), a = _mm512_andnot_ps(sign, x), z = _mm512_mul_ps(x, x);\n"
    "  __m512 s = _mm512_fmadd_ps(_mm512_set1_ps(" S(VM_ERF_S6) "), z, _mm512_set1_ps(-" S(VM_ERF_S5_M) "));\n"
    "  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(" S(VM_ERF_S4) "));\n"
    "  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(-" S(VM_ERF_S3_M) "));\n"
    "  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(" S(VM_ERF_S2) "));\n"
    "  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(-" S(VM_ERF_S1_M) "));\n"
    "  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(" S(VM_ERF_S0) "));\n"
    "  const __m512 small = _mm512_mul_ps(x, s);\n"
    "  const __m512 b = _mm512_min_ps(_mm512_set1_ps(" S(VM_ERF_ONE) "), _mm512_max_ps(_mm512_set1_ps("
    S(VM_ERF_SMALL) "), a));\n"
    "  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), b);\n"
    "  __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(" S(VM_ERF_Q8) "), t, _mm512_set1_ps(-" S(VM_ERF_Q7_M) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(" S(VM_ERF_Q6) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-" S(VM_ERF_Q5_M) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(" S(VM_ERF_Q4) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-" S(VM_ERF_Q3_M) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(" S(VM_ERF_Q2) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(" S(VM_ERF_Q1) "));\n"
    "  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(" S(VM_ERF_Q0) "));\n"
    "  const __m512 e = aotc_expf_neg16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(b, b)));\n"
    "  __m512 big = _mm512_fnmadd_ps(e, q, _mm512_set1_ps(1.0f));\n"
    "  big = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(" S(VM_ERF_ONE)
    "), _CMP_GE_OQ), big, _mm512_set1_ps(1.0f));\n"
    "  big = _mm512_or_ps(big, _mm512_and_ps(x, sign));\n"
    "  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(" S(VM_ERF_SMALL)
    "), _CMP_LT_OQ), big, small);\n"
    "}\n";
#undef EXP_REDUCTION
#undef S

/* c ? a : b on the bits: both computed, no branch for the vectoriser to
 * give up on (with -ftrapping-math gcc does not turn a conditional
 * expression with arithmetic in an arm into a select). */
static const char vm_pick_text[] =
    "float aotc_pickf(int c, float a, float b)\n"
    "{\n"
    "  union { float f; uint32_t u; } x, y;\n"
    "  uint32_t m = 0u - (uint32_t)c;\n"
    "  x.f = a;\n"
    "  y.f = b;\n"
    "  x.u = (x.u & m) | (y.u & ~m);\n"
    "  return x.f;\n"
    "}\n";

/* Whole powers, float and double. */
static const char vm_pow2f_text[] = "float aotc_pow2f(float x)\n{\n  return x * x;\n}\n";
static const char vm_pow3f_text[] = "float aotc_pow3f(float x)\n{\n  return x * x * x;\n}\n";
static const char vm_pow2_text[] = "double aotc_pow2(double x)\n{\n  return x * x;\n}\n";
static const char vm_pow3_text[] = "double aotc_pow3(double x)\n{\n  return x * x * x;\n}\n";

static const struct {
  const char *name; /* C name, and AOTC_HAVE_<name> guards it */
  const char *text; /* after the helper qualifier */
  int needs;        /* another helper printed before it, or -1 */
} vm_defs[] = {
    [EMIT_VM_PICK] = {"aotc_pickf", vm_pick_text, -1},
    [EMIT_VM_EXP] = {"aotc_expf", vm_exp_text, EMIT_VM_PICK},
    [EMIT_VM_EXP_NEG] = {"aotc_expf_neg", vm_exp_neg_text, EMIT_VM_PICK},
    [EMIT_VM_ERF] = {"aotc_erff", vm_erf_text, EMIT_VM_EXP},
    [EMIT_VM_TANH] = {"aotc_tanhf", vm_tanh_text, EMIT_VM_EXP},
    [EMIT_VM_POW2F] = {"aotc_pow2f", vm_pow2f_text, -1},
    [EMIT_VM_POW3F] = {"aotc_pow3f", vm_pow3f_text, -1}, [EMIT_VM_POW2] = {"aotc_pow2", vm_pow2_text, -1},
    [EMIT_VM_POW3] = {"aotc_pow3", vm_pow3_text, -1},
};
_Static_assert(sizeof(vm_defs) / sizeof(vm_defs[0]) == EMIT_VM_COUNT, "vector math helpers");

/* The 16-lane forms (AVX-512 intrinsics) of some of them, for the loops
 * printed with explicit vectors (emit_vmath_vec_print); NULL: none. */
static const struct {
  const char *name, *text;
  int needs; /* another 16-lane helper printed before it, or -1 */
} vm_vec_defs[EMIT_VM_COUNT] = {
    [EMIT_VM_EXP_NEG] = {"aotc_expf_neg16", vm_exp_neg16_text, -1},
    [EMIT_VM_ERF] = {"aotc_erff16", vm_erf16_text, EMIT_VM_EXP_NEG},
};

/* Whether the module's code is written for a CPU with vector units (not
 * --cpu generic or cortex-m4) in C. */
static bool vmath_wanted(const emit_plan *p, const emit_target *tg)
{
  const sched_cpu *cpu = p->opt && p->opt->cpu ? p->opt->cpu : sched_cpu_native();
  return !emit_target_is_gpu(tg) && cpu && !strncmp(cpu->name, "x86-64", 6);
}

static const char *use(emit_module *em, emit_vmath_fn v)
{
  em->vmath[v] = true;
  if (vm_defs[v].needs >= 0)
    use(em, (emit_vmath_fn)vm_defs[v].needs);
  return vm_defs[v].name;
}

/* The 16-lane form of v and the 16-lane helpers it calls. */
static const char *use_vec(emit_module *em, emit_vmath_fn v)
{
  em->vmath_vec[v] = true;
  if (vm_vec_defs[v].needs >= 0)
    use_vec(em, (emit_vmath_fn)vm_vec_defs[v].needs);
  return vm_vec_defs[v].name;
}

static bool same_expr(const ir_expr *a, const ir_expr *b)
{
  if (a->kind != b->kind || a->n_args != b->n_args || a->type != b->type)
    return false;
  switch (a->kind) {
  case IR_INDEX:
    return a->index == b->index;
  case IR_CONST_INT:
    return a->ival == b->ival;
  case IR_ACCESS:
    if (a->tensor != b->tensor || a->padded != b->padded)
      return false;
    break;
  case IR_BINARY:
  case IR_UNARY:
    if (a->op != b->op)
      return false;
    break;
  case IR_SIZE:
    if (!ir_size_equal(a->size, b->size))
      return false;
    break;
  default:
    return false;
  }
  for (int k = 0; k < a->n_args; k++)
    if (!same_expr(a->args[k], b->args[k]))
      return false;
  return true;
}

/* Whether index k of s runs over all of 0 .. size-1. */
static bool covers(const ir_stmt *s, int k, const ir_size *size)
{
  int64_t lo;
  return ir_size_is_const(s->index[k].lo, &lo) && lo == 0 && ir_size_equal(s->index[k].hi, size);
}

/* Whether arg can never be above 0: x(a) - m(b) where m is the maximum of x
 * over some of its dimensions (softmax's and log-sum-exp's shift), so
 * x(a) <= m(b). Proved on the statements: m is written by constant
 * assignments and then one plain `max=` reduction m(l...) max= x(v...),
 * each v a left-hand index (whose subscript in a equals the matching one
 * of b) or a reduction index over all of x's dimension; every left-hand
 * index covers all of m; x is written only before that reduction, and the
 * statement that reads arg, user, comes after it; no control flow. */
static bool at_most_zero(const ir_func *f, const ir_stmt *user, const ir_expr *arg)
{
  if (arg->kind != IR_BINARY || arg->op != IR_SUB || f->body)
    return false;
  const ir_expr *xa = arg->args[0], *mb = arg->args[1];
  if (xa->kind != IR_ACCESS || mb->kind != IR_ACCESS || xa->padded || mb->padded || xa->tensor == mb->tensor)
    return false;
  int x = xa->tensor, m = mb->tensor, at = -1;
  for (int i = 0; i < f->n_stmts; i++) {
    const ir_stmt *s = f->stmts[i];
    if (s->tensor == x && at >= 0)
      return false;
    if (s->tensor != m)
      continue;
    bool constant = s->rhs->kind == IR_CONST_FLOAT || s->rhs->kind == IR_CONST_INT;
    if (at < 0 && s->red == IR_RED_NONE && constant)
      continue;
    if (at >= 0 || s->red != IR_RED_MAX || !ir_stmt_is_plain(s) || s->rhs->kind != IR_ACCESS || s->rhs->tensor != x ||
        s->rhs->padded)
      return false;
    at = i;
  }
  int from = at;
  while (from >= 0 && from < f->n_stmts && f->stmts[from] != user)
    from++;
  if (at < 0 || from >= f->n_stmts)
    return false;
  const ir_stmt *s = f->stmts[at];
  const ir_tensor *X = f->tensors[x], *M = f->tensors[m];
  if (s->rhs->n_args != X->rank || xa->n_args != X->rank || mb->n_args != M->rank || s->n_lhs != M->rank)
    return false;
  for (int i = 0; i < s->n_lhs; i++)
    if (!covers(s, s->lhs[i], M->shape[i]))
      return false;
  for (int d = 0; d < X->rank; d++) {
    const ir_expr *v = s->rhs->args[d];
    if (v->kind != IR_INDEX)
      return false;
    int i = 0;
    while (i < s->n_lhs && s->lhs[i] != v->index)
      i++;
    if (i < s->n_lhs ? !same_expr(xa->args[d], mb->args[i]) : !covers(s, v->index, X->shape[d]))
      return false;
    for (int e = 0; e < d; e++)
      if (s->rhs->args[e]->index == v->index)
        return false;
  }
  return true;
}

int emit_vmath_pick(const emit_plan *p, const emit_target *tg, const ir_func *f, const ir_stmt *user,
                    const ir_expr *call, ir_builtin fn, ir_type t)
{
  if (t != IR_F32 || !vmath_wanted(p, tg))
    return -1;
  switch (fn) {
  case IR_FN_EXP:
    if (call && f && user && call->n_args == 1 && at_most_zero(f, user, call->args[0]))
      return EMIT_VM_EXP_NEG;
    return EMIT_VM_EXP;
  case IR_FN_ERF:
    return EMIT_VM_ERF;
  case IR_FN_TANH:
    return EMIT_VM_TANH;
  default:
    return -1;
  }
}

const char *emit_vmath_name(emit_module *em, const ir_func *f, const ir_stmt *user, const ir_expr *call, ir_builtin fn,
                            ir_type t)
{
  int v = emit_vmath_pick(em->plan, em->tg, f, user, call, fn, t);
  return v < 0 ? NULL : use(em, (emit_vmath_fn)v);
}

/* The value of e when it is a number or a read of a one-element constant
 * tensor of floats. */
static bool constant_value(const ir_func *f, const ir_expr *e, double *v)
{
  if (e->kind == IR_CONST_FLOAT || e->kind == IR_CONST_INT) {
    *v = e->kind == IR_CONST_FLOAT ? e->fval : (double)e->ival;
    return true;
  }
  if (e->kind == IR_CAST)
    return constant_value(f, e->args[0], v);
  if (e->kind != IR_ACCESS)
    return false;
  const ir_tensor *T = f->tensors[e->tensor];
  int64_t d;
  for (int j = 0; j < T->rank; j++)
    if (!ir_size_is_const(T->shape[j], &d) || d != 1)
      return false;
  if (T->role != IR_CONSTANT || !T->data || (T->type != IR_F32 && T->type != IR_F64))
    return false;
  *v = T->type == IR_F32 ? (double)*(const float *)T->data : *(const double *)T->data;
  return true;
}

const char *emit_vmath_power(emit_fn *E, const ir_expr *e)
{
  double k;
  bool f32 = e->type != IR_F64;
  if (e->kind != IR_CALL || e->fn != IR_FN_POW || e->n_args != 2 || !ir_types[e->type].is_float ||
      !constant_value(E->f, e->args[1], &k) || (k != 2 && k != 3))
    return NULL;
  return use(E->em, k == 2 ? (f32 ? EMIT_VM_POW2F : EMIT_VM_POW2) : (f32 ? EMIT_VM_POW3F : EMIT_VM_POW3));
}

void emit_vmath_print_defs(FILE *out, const emit_module *em)
{
  const char *qualifier = em->tg->fn_qualifier[EMIT_FN_HELPER];
  bool any = false;
  for (int v = 0; v < EMIT_VM_COUNT; v++)
    any |= em->vmath[v];
  /* Inlined whatever the -O level: at -O2 gcc keeps erf's and tanh's
   * calls of aotc_expf as calls (too large for its inliner), and a loop
   * with a call in it stays scalar (ConvNeXt's GELU epilogues). */
  if (any)
    fputs("#ifndef AOTC_VMATH_INLINE\n#if defined(__GNUC__)\n#define AOTC_VMATH_INLINE __attribute__((always_inline))\n"
          "#else\n#define AOTC_VMATH_INLINE\n#endif\n#endif\n\n",
          out);
  for (int v = 0; v < EMIT_VM_COUNT; v++)
    if (em->vmath[v])
      fprintf(out, "#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n%s AOTC_VMATH_INLINE %s#endif\n\n", vm_defs[v].name,
              vm_defs[v].name, qualifier, vm_defs[v].text);
  for (int v = 0; v < EMIT_VM_COUNT; v++)
    if (em->vmath_vec[v])
      fprintf(out, EMIT_AVX512_GUARD "#include <immintrin.h>\n#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n"
                   "%s AOTC_VMATH_INLINE %s#endif\n#endif\n\n",
              vm_vec_defs[v].name, vm_vec_defs[v].name, qualifier, vm_vec_defs[v].text);
}

/* ------------------------------------------------------------------------
 * Float expressions 16 lanes at a time (AVX-512 intrinsics), for loops
 * that call a helper gcc cannot turn into its best vector form itself
 * (exp's table and scalef: no compare for the range); the caller prints
 * them under EMIT_AVX512_GUARD beside the portable loop.
 * ------------------------------------------------------------------------ */

static const char *const vec_op[IR_OP_COUNT] = {
    [IR_ADD] = "_mm512_add_ps", [IR_SUB] = "_mm512_sub_ps", [IR_MUL] = "_mm512_mul_ps", [IR_DIV] = "_mm512_div_ps"};

/* The vector helper of a call of s, or -1. */
static int vec_helper(const emit_fn *E, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind != IR_CALL || e->type != IR_F32)
    return -1;
  int v = emit_vmath_pick(E->em->plan, E->em->tg, E->f, s, e, e->fn, e->type);
  return v >= 0 && vm_vec_defs[v].name ? v : -1;
}

bool emit_vmath_vec_ok(const emit_fn *E, const ir_stmt *s, const ir_expr *e, int x, int *calls)
{
  if (e->type != IR_F32)
    return false;
  if (!ir_expr_uses_index(e, x))
    return true; /* one value for every lane */
  switch (e->kind) {
  case IR_ACCESS:
    for (int j = 0; j + 1 < e->n_args; j++)
      if (ir_expr_uses_index(e->args[j], x))
        return false;
    return !e->padded && e->n_args > 0 && e->args[e->n_args - 1]->kind == IR_INDEX &&
           e->args[e->n_args - 1]->index == x;
  case IR_UNARY:
    return e->op == IR_NEG && emit_vmath_vec_ok(E, s, e->args[0], x, calls);
  case IR_BINARY:
    return vec_op[e->op] && e->args[0]->type == IR_F32 && e->args[1]->type == IR_F32 &&
           emit_vmath_vec_ok(E, s, e->args[0], x, calls) && emit_vmath_vec_ok(E, s, e->args[1], x, calls);
  case IR_CALL:
    if (vec_helper(E, s, e) < 0 || e->n_args != 1 || !emit_vmath_vec_ok(E, s, e->args[0], x, calls))
      return false;
    ++*calls;
    return true;
  default:
    return false;
  }
}

void emit_vmath_vec_print(emit_fn *E, const ir_stmt *s, const ir_expr *e, int x)
{
  FILE *out = E->out;
  if (!ir_expr_uses_index(e, x)) {
    fputs("_mm512_set1_ps(", out);
    emit_print_value(E, e, IR_F32);
    fputc(')', out);
    return;
  }
  switch (e->kind) {
  case IR_ACCESS:
    if (E->epi_on && e->tensor == E->epi_tensor) {
      fputs("aotc_vv", out); /* a fused epilogue's running value (emit_epilogue.c) */
      return;
    }
    fputs("_mm512_loadu_ps(&", out);
    emit_print_read(E, e);
    fputc(')', out);
    return;
  case IR_UNARY:
    fputs("_mm512_sub_ps(_mm512_setzero_ps(), ", out);
    emit_vmath_vec_print(E, s, e->args[0], x);
    fputc(')', out);
    return;
  case IR_BINARY:
    fprintf(out, "%s(", vec_op[e->op]);
    emit_vmath_vec_print(E, s, e->args[0], x);
    fputs(", ", out);
    emit_vmath_vec_print(E, s, e->args[1], x);
    fputc(')', out);
    return;
  case IR_CALL: {
    emit_vmath_fn v = (emit_vmath_fn)vec_helper(E, s, e);
    use(E->em, v); /* the portable loop beside it calls the scalar form */
    fprintf(out, "%s(", use_vec(E->em, v));
    emit_vmath_vec_print(E, s, e->args[0], x);
    fputc(')', out);
    return;
  }
  default:
    E->failed = true;
    return;
  }
}
