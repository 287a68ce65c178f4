/* emit_vmath.h: the constants of the inline float math (emit_vmath.c),
 * one copy for both backends: the C printer spells them into its helpers'
 * text (VM_STR, exactly as written here) and the LLVM backend
 * (llvm_vmath.c) builds the same operations from their values. The
 * polynomials' coefficients come from tests/vmath/fit.py; a name ending in
 * _Mk is the magnitude of a coefficient the polynomial subtracts. */
#ifndef AOTC_EMIT_VMATH_H
#define AOTC_EMIT_VMATH_H

#define VM_STR_(x) #x
#define VM_STR(x) VM_STR_(x)

/* exp: the argument's clamp, Cody-Waite's ln 2 in two parts, 1.5 * 2^23
 * (adding it rounds to an integer in the low bits), e^r's polynomial from
 * r^5 down to r^0 (p * r * r + r + 1 then). */
#define VM_EXP_LO -104.0f
#define VM_EXP_HI 89.0f
#define VM_EXP_NEG_LO -87.3f
#define VM_LOG2E 1.44269504089f
#define VM_SHIFT 12582912.0f
#define VM_SHIFT_BITS 0x4b400000u
#define VM_LN2_HI 0.693359375f
#define VM_LN2_LO 2.12194440e-4f
#define VM_EXP_P5 1.9875691500e-4f
#define VM_EXP_P4 1.3981999507e-3f
#define VM_EXP_P3 8.3334519073e-3f
#define VM_EXP_P2 4.1665795894e-2f
#define VM_EXP_P1 1.6666665459e-1f
#define VM_EXP_P0 5.0000001201e-1f

/* exp's 16-lane AVX-512 form (emit_vmath_vec_print): x = (32 m + j) ln2/32
 * + r, |r| <= ln2/64, e^x = 2^m 2^(j/32) (1 + r + r^2/2 + r^3/6): the
 * argument clamped from below (below it exp rounds to 0), n = 32 m + j by
 * the same shift, ln2/32 in two parts, 2^(j/32) from a 32-entry table
 * (one two-register permute) and 2^m by scalef, which gives subnormal
 * results and 0 without a compare. */
#define VM_EXP16_LO -104.0f
#define VM_EXP16_K 46.16624130844683f
#define VM_EXP16_LN2_HI 2.1667480469e-02f
#define VM_EXP16_LN2_LO -6.6310763032e-06f
#define VM_EXP16_TABLE /* 2^(j/32), j = 0 .. 31, as C text */ \
  "1.000000000e+00f, 1.021897197e+00f, 1.044273734e+00f, 1.067140460e+00f," \
  "1.090507746e+00f, 1.114386797e+00f, 1.138788581e+00f, 1.163724899e+00f," \
  "1.189207077e+00f, 1.215247393e+00f, 1.241857767e+00f, 1.269050956e+00f," \
  "1.296839595e+00f, 1.325236678e+00f, 1.354255557e+00f, 1.383909941e+00f," \
  "1.414213538e+00f, 1.445180774e+00f, 1.476826191e+00f, 1.509164453e+00f," \
  "1.542210817e+00f, 1.575980902e+00f, 1.610490322e+00f, 1.645755529e+00f," \
  "1.681792855e+00f, 1.718619347e+00f, 1.756252170e+00f, 1.794709086e+00f," \
  "1.834008098e+00f, 1.874167681e+00f, 1.915206552e+00f, 1.957144141e+00f"

/* erf: x P(x^2) below VM_ERF_SMALL (S6 down to S0, alternating signs);
 * above, 1 - e^(-x^2) Q(1/x) (Q8 down to Q0) up to VM_ERF_ONE. */
#define VM_ERF_SMALL 0.875f
#define VM_ERF_ONE 3.925f
#define VM_ERF_S6 8.714060095e-05f
#define VM_ERF_S5_M 8.220518357e-04f
#define VM_ERF_S4 5.207621492e-03f
#define VM_ERF_S3_M 2.686196938e-02f
#define VM_ERF_S2 1.128374115e-01f
#define VM_ERF_S1_M 3.761263788e-01f
#define VM_ERF_S0 1.128379226e+00f
#define VM_ERF_Q8 7.072105538e-03f
#define VM_ERF_Q7_M 5.993933603e-02f
#define VM_ERF_Q6 2.275880575e-01f
#define VM_ERF_Q5_M 5.054230094e-01f
#define VM_ERF_Q4 7.059048414e-01f
#define VM_ERF_Q3_M 5.756156445e-01f
#define VM_ERF_Q2 7.369392365e-02f
#define VM_ERF_Q1 5.536369681e-01f
#define VM_ERF_Q0 6.656673504e-04f

/* tanh: x (1 + x^2 P(x^2)) below VM_TANH_SMALL (P6 down to P0); above,
 * 1 - 2 / (e^(2|x|) + 1), 1 from VM_TANH_ONE on. */
#define VM_TANH_SMALL 0.625f
#define VM_TANH_ONE 9.1f
#define VM_TANH_P6_M 8.678099257e-04f
#define VM_TANH_P5 3.313198686e-03f
#define VM_TANH_P4_M 8.794299327e-03f
#define VM_TANH_P3 2.186063491e-02f
#define VM_TANH_P2_M 5.396771803e-02f
#define VM_TANH_P1 1.333333254e-01f
#define VM_TANH_P0_M 3.333333433e-01f

#endif
