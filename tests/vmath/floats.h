/* floats.h: floats in their order, for the sweeps (sweep_neg.c,
 * sweep_softmax.c): ordinal(f) is f's position on the number line in ulps
 * (the bits' order, signed: -0 and +0 both 0), float_at(k) the float there,
 * float_of_bits(u) the float whose bits are u. */
#ifndef AOTC_TESTS_VMATH_FLOATS_H
#define AOTC_TESTS_VMATH_FLOATS_H

#include <stdint.h>
#include <string.h>

static inline float float_of_bits(uint32_t u)
{
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline int64_t ordinal(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u & 0x80000000u ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

static inline float float_at(int64_t k)
{
  return float_of_bits(k < 0 ? (uint32_t)(-k) | 0x80000000u : (uint32_t)k);
}

#endif
