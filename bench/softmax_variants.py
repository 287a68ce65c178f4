#!/usr/bin/env python3
"""softmax_variants.py: where a softmax row kernel's time goes (issue 10's
"softmax >= 0.8x memcpy"). Compiles a last-axis Softmax with aotc, rewrites
the emitted C by hand into variants, each timed against a memcpy of the same
bytes by bench/norm_main.c (CPU time, 1 thread, median of 15 rounds):

  base     aotc's code as emitted
  fused    exp and the row sum in one loop (one pass fewer)
  exp1     exp with one 2^n scale, clamped to [-87, 88] (inexact below
           FLT_MIN: an upper bound on what a cheaper scaling could gain)
  noexp    y = x - max instead of exp (the passes without the polynomial)
  noexp_vr noexp with max and sum as 512-bit vector-extension reductions
           (two accumulators, one 16-lane horizontal step) instead of
           omp simd reductions over four accumulators
  nt       (ROWS x COLS >= 1M) the last pass's stores non-temporal

  AOTC=build/aotc /usr/bin/python3 bench/softmax_variants.py 197x768 4096x1024
Experiment only (x86-64 with AVX-512, gcc); nothing here is emitted by aotc.
"""
import os, subprocess, sys

AOTC = os.environ.get("AOTC", "build/aotc")
OUT = "build/bench/softmax_variants"
here = os.path.dirname(os.path.abspath(__file__))


def model(shape):
    import onnx
    from onnx import helper as h, TensorProto as T
    tag = "x".join(map(str, shape))
    name = "sv_" + tag
    g = h.make_graph([h.make_node("Softmax", ["x"], ["y"], axis=-1)], name,
                     [h.make_tensor_value_info("x", T.FLOAT, shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, shape)])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), "%s/%s.onnx" % (OUT, name))
    subprocess.run([AOTC, "%s/%s.onnx" % (OUT, name), "-o", "%s/%s.c" % (OUT, name), "--threads", "1"], check=True)
    return name, open("%s/%s.c" % (OUT, name)).read()


def cut(s, start, end):
    i = s.index(start)
    return s[:i] + s[s.index(end, i):]


def variants(s, rows, n):
    w, last = str(n), str(n - 1)
    exp_loop = ("#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd\n#endif\n"
                "      for (int64_t c1 = 0; c1 <= %s; c1 += 1) {\n"
                "        y[c0 * %s + c1] = aotc_expf(x[c0 * %s + c1] - aotc_row0);\n      }\n" % (last, w, w))
    scale = ("#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd\n#endif\n"
             "      for (int64_t c1 = 0; c1 <= %s; c1 += 1) {\n"
             "        y[c0 * %s + c1] = y[c0 * %s + c1] * aotc_row0;\n      }\n" % (last, w, w))
    sum_start, sum_end = "    y_sum[c0 * 1 + 0] = 0.0f;", "    y_sum[c0 * 1 + 0] = 1.0f /"
    assert exp_loop in s and scale in s and sum_start in s
    v = {"base": s}
    v["fused"] = cut(s.replace(exp_loop, (
        "      float aotc_s = 0.0f;\n#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd reduction(+:aotc_s)\n#endif\n"
        "      for (int64_t c1 = 0; c1 <= %s; c1 += 1) {\n"
        "        float aotc_e = aotc_expf(x[c0 * %s + c1] - aotc_row0);\n"
        "        y[c0 * %s + c1] = aotc_e;\n        aotc_s += aotc_e;\n      }\n      y_sum[c0] = aotc_s;\n") % (last, w, w)),
        sum_start, sum_end)
    tail = ("  h.f = (n * 0.5f - 0.25f) + 12582912.0f;\n  uint32_t k = t.u - 0x4b400000u, k1 = h.u - 0x4b400000u;\n"
            "  s1.u = (k1 + 127u) << 23;\n  s2.u = (k - k1 + 127u) << 23;\n  return (p * r * r + r + 1.0f) * s1.f * s2.f;\n")
    assert tail in s
    v["exp1"] = s.replace(tail, "  uint32_t k = t.u - 0x4b400000u;\n  (void)h;\n  (void)s2;\n  s1.u = (k + 127u) << 23;\n"
                          "  return (p * r * r + r + 1.0f) * s1.f;\n").replace(
        "-104.0f, -104.0f", "-87.0f, -87.0f").replace("89.0f, 89.0f", "88.0f, 88.0f")
    v["noexp"] = s.replace("aotc_expf(x[c0 * %s + c1] - aotc_row0)" % w, "(x[c0 * %s + c1] - aotc_row0)" % w)
    if n % 32 == 0:
        red = ("    {\n      typedef float v16 __attribute__((vector_size(64), aligned(4)));\n"
               "      const float *aotc_p = &%s[c0 * %s];\n      v16 a = %s, b = a;\n"
               "      for (int64_t q = %s; q < %s; q += 32) {\n"
               "        v16 u = *(const v16 *)&aotc_p[q], w = *(const v16 *)&aotc_p[q + 16];\n        %s\n      }\n"
               "      %s\n      float m = %s;\n      for (int l = 1; l < 16; l++)\n        m = %s;\n      %s = m;\n    }\n")
        mx = red % ("x", w, "*(const v16 *)aotc_p", "16", w if n % 32 == 16 else str(n - 16),
                    "a = (v16)_mm512_max_ps((__m512)u, (__m512)a);\n        b = (v16)_mm512_max_ps((__m512)w, (__m512)b);",
                    "a = (v16)_mm512_max_ps((__m512)b, (__m512)a);", "a[0]", "a[l] > m ? a[l] : m", "y_max[c0]")
        sm = red % ("y", w, "{0}", "0", w, "a += u;\n        b += w;", "a += b;", "a[0]", "m + a[l]", "y_sum[c0]")
        t = v["noexp"].replace("#include <math.h>", "#include <math.h>\n#include <immintrin.h>")
        t = cut(t, "    {\n      float aotc_a0 = y_max", "    {\n      const float aotc_row0 = y_max")
        t = t.replace("    {\n      const float aotc_row0 = y_max", mx + "    {\n      const float aotc_row0 = y_max", 1)
        t = cut(t, sum_start, sum_end).replace(sum_end, sm + sum_end, 1)
        # the tail loop of the max reduction: 16 elements left when n % 32 == 0
        t = t.replace("v16 a = *(const v16 *)aotc_p, b = a;", "v16 a = *(const v16 *)aotc_p, b = *(const v16 *)&aotc_p[%d];" % (n - 16))
        v["noexp_vr"] = t
    if rows * n >= 1 << 20 and n % 16 == 0:
        v["nt"] = s.replace(scale, (
            "      for (int64_t c1 = 0; c1 <= %s; c1 += 16)\n"
            "        _mm512_stream_ps(&y[c0 * %s + c1], _mm512_mul_ps(_mm512_loadu_ps(&y[c0 * %s + c1]), _mm512_set1_ps(aotc_row0)));\n")
            % (last, w, w)).replace("#include <math.h>", "#include <math.h>\n#include <immintrin.h>").replace(
            "  return 0;\n}", "  _mm_sfence();\n  return 0;\n}", 1)
    return v


def main():
    os.makedirs(OUT, exist_ok=True)
    print("| softmax | variant | kernel us | memcpy us | memcpy / kernel |")
    print("| --- | --- | ---: | ---: | ---: |")
    for arg in sys.argv[1:] or ["197x768", "4096x1024"]:
        shape = [int(d) for d in arg.split("x")]
        name, s = model(shape)
        rows = 1
        for d in shape[:-1]:
            rows *= d
        for tag, text in variants(s, rows, shape[-1]).items():
            src, exe = "%s/%s_%s.c" % (OUT, name, tag), "%s/%s_%s" % (OUT, name, tag)
            open(src, "w").write(text)
            subprocess.run(["cc", "-std=gnu11", "-O2", "-march=native", "-fopenmp", "-DMODEL=" + name, "-I" + OUT,
                            "-I" + here, "-o", exe, os.path.join(here, "norm_main.c"), src, "-lm"], check=True)
            r = subprocess.run([exe], check=True, capture_output=True, text=True,
                               env=dict(os.environ, OMP_NUM_THREADS="1")).stdout.split()
            print("| %s | %s | %s | %s | %s |" % (arg, tag, r[0], r[1], r[2]), flush=True)


main()
