/* llvm_vmath.c: the inline float math of the C path (emit_vmath.c) built
 * as LLVM IR: exp, exp of an argument at most 0, erf and tanh as
 * branch-free polynomials with the constants of emit_vmath.h, the same
 * operations in the same order (a multiply-add where the C compiler may
 * contract one), so that the loop vectoriser vectorises the loops that call
 * them; libm's expf, erff and tanhf are opaque calls that keep a loop
 * scalar. The C path's choice of helper (emit_vmath_pick) is the choice
 * here: one row per helper in `builders`. */
#include "emit_vmath.h"
#include "llvm_priv.h"

static LLVMValueRef num(lw_fn *F, float v)
{
  return LLVMConstReal(F->L->f32, (double)v);
}

static LLVMValueRef bits(lw_fn *F, uint32_t v)
{
  return LLVMConstInt(F->L->i32, v, 0);
}

/* aotc_pickf: c ? a : b, both computed. */
static LLVMValueRef pick(lw_fn *F, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSelect(F->b, c, a, b, "");
}

static LLVMValueRef cmp(lw_fn *F, LLVMRealPredicate p, LLVMValueRef a, float b)
{
  return LLVMBuildFCmp(F->b, p, a, num(F, b), "");
}

static LLVMValueRef fma_(lw_fn *F, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
  return lw_fmuladd(F, a, b, c, IR_F32);
}

/* c[0] x^(n-1) + ... + c[n-1], by Horner's rule. */
static LLVMValueRef horner(lw_fn *F, LLVMValueRef x, const float *c, int n)
{
  LLVMValueRef acc = num(F, c[0]);
  for (int i = 1; i < n; i++)
    acc = fma_(F, acc, x, num(F, c[i]));
  return acc;
}

static LLVMValueRef as_int(lw_fn *F, LLVMValueRef v)
{
  return LLVMBuildBitCast(F->b, v, F->L->i32, "");
}

/* 2^(k + 127 - 127): the float with biased exponent k + 127. */
static LLVMValueRef power_of_two(lw_fn *F, LLVMValueRef k)
{
  LLVMValueRef e = LLVMBuildShl(F->b, LLVMBuildAdd(F->b, k, bits(F, 127), ""), bits(F, 23), "");
  return LLVMBuildBitCast(F->b, e, F->L->f32, "");
}

/* e^c = 2^n e^r: the polynomial p r r + r + 1 of r; *t is c log2(e) + 1.5
 * 2^23 (n in its low bits), *n the integer n. */
static LLVMValueRef exp_reduced(lw_fn *F, LLVMValueRef c, LLVMValueRef *t, LLVMValueRef *n)
{
  static const float p[] = {VM_EXP_P5, VM_EXP_P4, VM_EXP_P3, VM_EXP_P2, VM_EXP_P1, VM_EXP_P0};
  LLVMBuilderRef b = F->b;
  *t = fma_(F, c, num(F, VM_LOG2E), num(F, VM_SHIFT));
  *n = LLVMBuildFSub(b, *t, num(F, VM_SHIFT), "");
  LLVMValueRef r = fma_(F, LLVMBuildFNeg(b, *n, ""), num(F, VM_LN2_HI), c);
  r = fma_(F, *n, num(F, VM_LN2_LO), r);
  LLVMValueRef pr = LLVMBuildFMul(b, horner(F, r, p, 6), r, "");
  return LLVMBuildFAdd(b, fma_(F, pr, r, r), num(F, 1.0f), "");
}

/* aotc_expf: 2^n in two halves, so that subnormal results and the top of
 * the range stay exact. */
static LLVMValueRef vm_exp(lw_fn *F, LLVMValueRef x)
{
  LLVMBuilderRef b = F->b;
  LLVMValueRef c = pick(F, cmp(F, LLVMRealOLT, x, VM_EXP_LO), num(F, VM_EXP_LO),
                        pick(F, cmp(F, LLVMRealOGT, x, VM_EXP_HI), num(F, VM_EXP_HI), x));
  LLVMValueRef t, n, e = exp_reduced(F, c, &t, &n);
  LLVMValueRef h = LLVMBuildFAdd(b, fma_(F, n, num(F, 0.5f), num(F, -0.25f)), num(F, VM_SHIFT), "");
  LLVMValueRef k = LLVMBuildSub(b, as_int(F, t), bits(F, VM_SHIFT_BITS), "");
  LLVMValueRef k1 = LLVMBuildSub(b, as_int(F, h), bits(F, VM_SHIFT_BITS), "");
  LLVMValueRef s2 = power_of_two(F, LLVMBuildSub(b, k, k1, ""));
  return LLVMBuildFMul(b, LLVMBuildFMul(b, e, power_of_two(F, k1), ""), s2, "");
}

/* aotc_expf_neg: x <= 0, 2^n in one piece, 0 below the clamp. */
static LLVMValueRef vm_exp_neg(lw_fn *F, LLVMValueRef x)
{
  LLVMBuilderRef b = F->b;
  LLVMValueRef under = cmp(F, LLVMRealOLT, x, VM_EXP_NEG_LO);
  LLVMValueRef t, n, e = exp_reduced(F, pick(F, under, num(F, VM_EXP_NEG_LO), x), &t, &n);
  LLVMValueRef s = power_of_two(F, LLVMBuildSub(b, as_int(F, t), bits(F, VM_SHIFT_BITS), ""));
  return pick(F, under, num(F, 0.0f), LLVMBuildFMul(b, e, s, ""));
}

/* |x| and x < 0. */
static LLVMValueRef magnitude(lw_fn *F, LLVMValueRef x, LLVMValueRef *neg)
{
  *neg = cmp(F, LLVMRealOLT, x, 0.0f);
  return pick(F, *neg, LLVMBuildFNeg(F->b, x, ""), x);
}

/* aotc_erff: x P(x^2) near 0, 1 - e^(-x^2) Q(1/x) beyond, 1 past VM_ERF_ONE. */
static LLVMValueRef vm_erf(lw_fn *F, LLVMValueRef x)
{
  static const float s[] = {VM_ERF_S6, -VM_ERF_S5_M, VM_ERF_S4, -VM_ERF_S3_M, VM_ERF_S2, -VM_ERF_S1_M, VM_ERF_S0};
  static const float q[] = {VM_ERF_Q8, -VM_ERF_Q7_M, VM_ERF_Q6, -VM_ERF_Q5_M, VM_ERF_Q4,
                            -VM_ERF_Q3_M, VM_ERF_Q2,  VM_ERF_Q1,   VM_ERF_Q0};
  LLVMBuilderRef b = F->b;
  LLVMValueRef neg, a = magnitude(F, x, &neg), z = LLVMBuildFMul(b, x, x, "");
  LLVMValueRef small = LLVMBuildFMul(b, x, horner(F, z, s, 7), "");
  LLVMValueRef near = cmp(F, LLVMRealOLT, a, VM_ERF_SMALL);
  LLVMValueRef bb = pick(F, near, num(F, VM_ERF_SMALL),
                         pick(F, cmp(F, LLVMRealOGT, a, VM_ERF_ONE), num(F, VM_ERF_ONE), a));
  LLVMValueRef t = LLVMBuildFDiv(b, num(F, 1.0f), bb, "");
  LLVMValueRef e = vm_exp(F, LLVMBuildFNeg(b, LLVMBuildFMul(b, bb, bb, ""), ""));
  LLVMValueRef big = pick(F, cmp(F, LLVMRealOGE, a, VM_ERF_ONE), num(F, 1.0f),
                          fma_(F, LLVMBuildFNeg(b, e, ""), horner(F, t, q, 9), num(F, 1.0f)));
  return pick(F, near, small, pick(F, neg, LLVMBuildFNeg(b, big, ""), big));
}

/* aotc_tanhf: x (1 + x^2 P(x^2)) near 0, 1 - 2 / (e^(2|x|) + 1) beyond. */
static LLVMValueRef vm_tanh(lw_fn *F, LLVMValueRef x)
{
  static const float p[] = {-VM_TANH_P6_M, VM_TANH_P5, -VM_TANH_P4_M, VM_TANH_P3,
                            -VM_TANH_P2_M, VM_TANH_P1, -VM_TANH_P0_M};
  LLVMBuilderRef b = F->b;
  LLVMValueRef neg, a = magnitude(F, x, &neg), z = LLVMBuildFMul(b, x, x, "");
  LLVMValueRef small = LLVMBuildFMul(b, x, fma_(F, z, horner(F, z, p, 7), num(F, 1.0f)), "");
  LLVMValueRef bb = pick(F, cmp(F, LLVMRealOGT, a, VM_TANH_ONE), num(F, VM_TANH_ONE), a);
  LLVMValueRef e = vm_exp(F, LLVMBuildFMul(b, num(F, 2.0f), bb, ""));
  LLVMValueRef big = LLVMBuildFSub(
      b, num(F, 1.0f), LLVMBuildFDiv(b, num(F, 2.0f), LLVMBuildFAdd(b, e, num(F, 1.0f), ""), ""), "");
  return pick(F, cmp(F, LLVMRealOLT, a, VM_TANH_SMALL), small, pick(F, neg, LLVMBuildFNeg(b, big, ""), big));
}

static LLVMValueRef (*const builders[EMIT_VM_COUNT])(lw_fn *, LLVMValueRef) = {
    [EMIT_VM_EXP] = vm_exp,
    [EMIT_VM_EXP_NEG] = vm_exp_neg,
    [EMIT_VM_ERF] = vm_erf,
    [EMIT_VM_TANH] = vm_tanh,
};

LLVMValueRef lw_vmath(lw_fn *F, const ir_expr *call, ir_builtin fn, ir_type t, LLVMValueRef x)
{
  int v = emit_vmath_pick(F->p, &emit_target_c, F->f, F->stmt, call, fn, t);
  return v >= 0 && builders[v] ? builders[v](F, x) : NULL;
}
