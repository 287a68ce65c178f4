/* emit_target.c: the C row of the target table (emit_target.h). Tables
 * indexed by an enum are checked against its _COUNT, so that a new type or
 * builtin cannot be left without a spelling. */
#include "emit_target.h"

#include <string.h>

static const char *const c_type_name[] = {
    [IR_BOOL] = "bool",     [IR_I8] = "int8_t",   [IR_U8] = "uint8_t",   [IR_I16] = "int16_t",
    [IR_U16] = "uint16_t",  [IR_I32] = "int32_t", [IR_U32] = "uint32_t", [IR_I64] = "int64_t",
    [IR_U64] = "uint64_t",  [IR_F32] = "float",   [IR_F64] = "double",
};
_Static_assert(sizeof(c_type_name) / sizeof(c_type_name[0]) == IR_TYPE_COUNT, "C type names");

static const char *const c_type_max[] = {
    [IR_BOOL] = "true", [IR_I8] = "INT8_MAX", [IR_U8] = "UINT8_MAX", [IR_I16] = "INT16_MAX",
    [IR_U16] = "UINT16_MAX", [IR_I32] = "INT32_MAX", [IR_U32] = "UINT32_MAX", [IR_I64] = "INT64_MAX",
    [IR_U64] = "UINT64_MAX", [IR_F32] = "INFINITY", [IR_F64] = "(double)INFINITY",
};
_Static_assert(sizeof(c_type_max) / sizeof(c_type_max[0]) == IR_TYPE_COUNT, "C largest values");

static const char *const c_type_min[] = {
    [IR_BOOL] = "false", [IR_I8] = "INT8_MIN", [IR_U8] = "0", [IR_I16] = "INT16_MIN",
    [IR_U16] = "0", [IR_I32] = "INT32_MIN", [IR_U32] = "0", [IR_I64] = "INT64_MIN",
    [IR_U64] = "0", [IR_F32] = "(-INFINITY)", [IR_F64] = "(-(double)INFINITY)",
};
_Static_assert(sizeof(c_type_min) / sizeof(c_type_min[0]) == IR_TYPE_COUNT, "C smallest values");

/* libm, C99: float and double names; rsqrt and sigmoid are expressions of
 * sqrt and exp, min, max and abs typed helpers (emit_print.c). */
static const char *const c_libm[][2] = {
    [IR_FN_EXP] = {"expf", "exp"},       [IR_FN_LOG] = {"logf", "log"},
    [IR_FN_TANH] = {"tanhf", "tanh"},    [IR_FN_SQRT] = {"sqrtf", "sqrt"},
    [IR_FN_RSQRT] = {NULL, NULL},        [IR_FN_FABS] = {"fabsf", "fabs"},
    [IR_FN_FMAX] = {"fmaxf", "fmax"},    [IR_FN_FMIN] = {"fminf", "fmin"},
    [IR_FN_POW] = {"powf", "pow"},       [IR_FN_ERF] = {"erff", "erf"},
    [IR_FN_FLOOR] = {"floorf", "floor"}, [IR_FN_CEIL] = {"ceilf", "ceil"},
    [IR_FN_ROUND] = {"roundf", "round"}, [IR_FN_TRUNC] = {"truncf", "trunc"},
    [IR_FN_SIN] = {"sinf", "sin"},       [IR_FN_COS] = {"cosf", "cos"},
    [IR_FN_TAN] = {"tanf", "tan"},       [IR_FN_ASIN] = {"asinf", "asin"},
    [IR_FN_ACOS] = {"acosf", "acos"},    [IR_FN_ATAN] = {"atanf", "atan"},
    [IR_FN_SINH] = {"sinhf", "sinh"},    [IR_FN_COSH] = {"coshf", "cosh"},
    [IR_FN_ASINH] = {"asinhf", "asinh"}, [IR_FN_ACOSH] = {"acoshf", "acosh"},
    [IR_FN_ATANH] = {"atanhf", "atanh"}, [IR_FN_EXP2] = {"exp2f", "exp2"},
    [IR_FN_EXPM1] = {"expm1f", "expm1"}, [IR_FN_LOG2] = {"log2f", "log2"},
    [IR_FN_LOG10] = {"log10f", "log10"}, [IR_FN_LOG1P] = {"log1pf", "log1p"},
    [IR_FN_CBRT] = {"cbrtf", "cbrt"},    [IR_FN_ERFC] = {"erfcf", "erfc"},
    [IR_FN_SIGMOID] = {NULL, NULL},      [IR_FN_FMOD] = {"fmodf", "fmod"},
    [IR_FN_ATAN2] = {"atan2f", "atan2"}, [IR_FN_MIN] = {NULL, NULL},
    [IR_FN_MAX] = {NULL, NULL},          [IR_FN_ABS] = {NULL, NULL},
};
_Static_assert(sizeof(c_libm) / sizeof(c_libm[0]) == IR_FN_COUNT, "C libm names");

static const char *const c_fn_qualifier[] = {
    [EMIT_FN_HELPER] = "static inline",
    [EMIT_FN_UKERNEL] = "static",
    [EMIT_FN_ENTRY] = "",
    [EMIT_FN_KERNEL] = NULL,
};
_Static_assert(sizeof(c_fn_qualifier) / sizeof(c_fn_qualifier[0]) == EMIT_FN_COUNT, "C qualifiers");

/* C's keywords and the names of its headers and of the emitted code. */
static const char *const c_reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Imaginary", "bool", "true", "false", "NULL", "INFINITY",
    "NAN", "size_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
    "uint64_t", "INT64_C", "UINT64_C", "INT8_MIN", "INT8_MAX", "INT16_MIN", "INT16_MAX", "INT32_MIN",
    "INT32_MAX", "INT64_MIN", "INT64_MAX", "UINT8_MAX", "UINT16_MAX", "UINT32_MAX", "UINT64_MAX",
    "workspace", "sizes", "args", "main", "errno", "asm", "fortran", NULL,
};

#define OMP(text) "#ifdef _OPENMP\n#pragma omp " text "\n#endif\n"
#define OMP_SIMD(text) "#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp " text "\n#endif\n"

const emit_target emit_target_c = {
    .name = "c",
    .type_name = c_type_name,
    .type_max = c_type_max,
    .type_min = c_type_min,
    .libm = c_libm,
    .fn_qualifier = c_fn_qualifier,
    .restrict_ptr = "",
    .const_data = "static const",
    .shared_data = NULL,
    .parallel_for = OMP("parallel for schedule(static) num_threads(%d)"),
    .parallel_region = OMP("parallel num_threads(%d)"),
    .for_static = OMP("for schedule(static)"),
    .for_static_nowait = OMP("for schedule(static) nowait"),
    .for_dynamic = OMP("for schedule(dynamic, 1)"),
    .simd_for = OMP_SIMD("simd"),
    .simd_reduction = OMP_SIMD("simd reduction(%s:aotc_acc)"),
    .thread_num = "#ifdef _OPENMP\n#include <omp.h>\n#define aotc_thread() omp_get_thread_num()\n"
                  "#else\n#define aotc_thread() 0\n#endif\n",
    .barrier = NULL,
    .thread_index = NULL,
    .block_index = NULL,
    /* AOTC_NO_VECTORS (-D when building the emitted C) takes the scalar
     * loops written beside each use of GCC's vector types */
    .vector_guard = "#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)) && \\\n"
                    "    !defined(AOTC_NO_VECTORS)\n",
    .vector_type = "typedef float aotc_vf%d __attribute__((__vector_size__(%d), __may_alias__, __aligned__(4)));\n",
    .fp_contract = "#if !defined(__clang__)\n__attribute__((optimize(\"fp-contract=fast\")))\n#endif\n",
    /* gcc's -O2 vectorises only loops that need no run-time checks or
     * epilogues ("very cheap" cost model); -O3 and -fopenmp's simd loops
     * take the rest. ResNet-18 built without -fopenmp ran at 50 ms at -O2
     * and 39 ms at -O3; with the dynamic model for this file's functions
     * (headers included after it, so that their inline functions share
     * the options) -O2 runs at 40 ms. */
    .source_prologue = "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC optimize(\"vect-cost-model=dynamic\")\n#endif\n",
    .source_includes = "#include <math.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n",
    .header_includes = "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n",
    .header_open = "#ifdef __cplusplus\nextern \"C\" {\n#endif\n",
    .header_close = "#ifdef __cplusplus\n}\n#endif\n",
    .reserved = c_reserved,
    .entry_extra_param = "",
    .entry_extra_arg = "",
};

/* ------------------------------------------------------------------------
 * CUDA: C++ for nvcc (and g++ with the simulator, runtime/cuda_sim.h)
 * ------------------------------------------------------------------------ */

static const char *const cuda_fn_qualifier[] = {
    [EMIT_FN_HELPER] = "static inline __host__ __device__",
    [EMIT_FN_UKERNEL] = "static __device__",
    [EMIT_FN_ENTRY] = "",
    [EMIT_FN_KERNEL] = "__global__ void",
};
_Static_assert(sizeof(cuda_fn_qualifier) / sizeof(cuda_fn_qualifier[0]) == EMIT_FN_COUNT, "CUDA qualifiers");

/* C's words, CUDA's and C++'s. */
static const char *const cuda_reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Imaginary", "bool", "true", "false", "NULL", "INFINITY",
    "NAN", "size_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
    "uint64_t", "INT64_C", "UINT64_C", "INT8_MIN", "INT8_MAX", "INT16_MIN", "INT16_MAX", "INT32_MIN",
    "INT32_MAX", "INT64_MIN", "INT64_MAX", "UINT8_MAX", "UINT16_MAX", "UINT32_MAX", "UINT64_MAX",
    "workspace", "sizes", "args", "main", "errno", "asm", "fortran", "stream",
    "alignas", "alignof", "and", "and_eq", "bitand", "bitor", "catch", "class", "compl", "concept",
    "constexpr", "consteval", "constinit", "const_cast", "decltype", "delete", "dynamic_cast", "explicit",
    "export", "friend", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator",
    "or", "or_eq", "private", "protected", "public", "reinterpret_cast", "requires", "static_assert",
    "static_cast", "template", "this", "thread_local", "throw", "try", "typeid", "typename", "using",
    "virtual", "wchar_t", "xor", "xor_eq", "char8_t", "char16_t", "char32_t", "co_await", "co_return",
    "co_yield", "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "dim3", "uint3",
    "min", "max", "std", NULL,
};

static const char *const cuda_thread_index[] = {"threadIdx.x", "threadIdx.y", "threadIdx.z"};
static const char *const cuda_block_index[] = {"blockIdx.x", "blockIdx.y", "blockIdx.z"};
static const char *const cuda_block_dim[] = {"blockDim.x", "blockDim.y", "blockDim.z"};
static const char *const cuda_grid_dim[] = {"gridDim.x", "gridDim.y", "gridDim.z"};

const emit_target emit_target_cuda = {
    .name = "cuda",
    .type_name = c_type_name,
    .type_max = c_type_max,
    .type_min = c_type_min,
    .libm = c_libm,
    .fn_qualifier = cuda_fn_qualifier,
    .restrict_ptr = "",
    .const_data = "static __device__ const",
    .shared_data = "__shared__",
    .parallel_for = "",
    .parallel_region = "",
    .for_static = "",
    .for_static_nowait = "",
    .for_dynamic = "",
    .simd_for = "",
    .simd_reduction = "",
    .unroll_for = "AOTC_UNROLL(%d)\n",
    .thread_num = "#define aotc_thread() 0\n",
    .barrier = "__syncthreads();",
    .thread_index = cuda_thread_index,
    .block_index = cuda_block_index,
    .block_dim = cuda_block_dim,
    .grid_dim = cuda_grid_dim,
    .shuffle_down = "__shfl_down_sync",
    .warp_lanes = 32,
    .vector_guard = "#if 0\n",
    .vector_type = "typedef float aotc_vf%d[%d];\n",
    .fp_contract = "",
    .source_prologue = "",
    .source_includes = "#include <math.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n",
    .header_includes = "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include \"aotc_cuda.h\"\n",
    .header_open = "#ifdef __cplusplus\nextern \"C\" {\n#endif\n",
    .header_close = "#ifdef __cplusplus\n}\n#endif\n",
    .reserved = cuda_reserved,
    .entry_extra_param = ", cudaStream_t stream",
    .entry_extra_arg = ", stream",
};

const emit_target *emit_target_find(const char *name)
{
  static const emit_target *const rows[] = {&emit_target_c, &emit_target_cuda};
  for (size_t i = 0; name && i < sizeof rows / sizeof rows[0]; i++)
    if (!strcmp(rows[i]->name, name))
      return rows[i];
  return NULL;
}
