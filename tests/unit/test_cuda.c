/* test_cuda.c: the CUDA target's options and the shape of what it prints. The emitted
 * code is run on the simulator and compiled by nvcc in tests/cudasim (emitted.sh); here,
 * the options' text form, the block heuristics, and that a TC def prints as kernels
 * launched on a stream by an entry with the C signature plus a stream. */
#define _GNU_SOURCE
#include "ir.h"
#include "emit_plan.h"
#include "../../src/schedule/schedule.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(cuda, .init = setup, .fini = teardown);

Test(cuda, options_round_trip)
{
  sched_options o, p;
  char buf[512], err[128];
  cr_assert(sched_options_parse("block=64,4 grid=100,0,7 shared=1 sr=1", &o, err, sizeof err), "%s", err);
  cr_assert(o.gpu_block[0] == 64 && o.gpu_block[1] == 4 && o.gpu_block[2] == 0);
  cr_assert(o.gpu_grid[0] == 100 && o.gpu_grid[2] == 7 && o.gpu_promote);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert(strstr(buf, " block=64,4") && strstr(buf, " grid=100,0,7") && strstr(buf, " shared=1"), "%s", buf);
  cr_assert(sched_options_parse(buf, &p, err, sizeof err), "%s: %s", buf, err);
  cr_assert_eq(memcmp(&o, &p, sizeof o), 0, "%s", buf);
  sched_options_default(&o);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert_null(strstr(buf, "block="), "defaults print no CUDA keys: %s", buf);
  cr_assert_not(sched_options_parse("block=1,2,3,4", &o, err, sizeof err));
  cr_assert_not(sched_options_parse("block=2000", &o, err, sizeof err));
  cr_assert_not(sched_options_parse("shared=2", &o, err, sizeof err));
  cr_assert(sched_options_parse("reduce=64", &o, err, sizeof err) && o.gpu_reduce == 64, "%s", err);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert(strstr(buf, " reduce=64"), "%s", buf);
  cr_assert(sched_options_parse(buf, &p, err, sizeof err) && p.gpu_reduce == 64, "%s: %s", buf, err);
  cr_assert_not(sched_options_parse("reduce=48", &o, err, sizeof err), "not a power of two");
  cr_assert_not(sched_options_parse("reduce=2048", &o, err, sizeof err));
  cr_assert(sched_options_parse("split=64", &o, err, sizeof err) && o.gpu_split == 64, "%s", err);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert(strstr(buf, " split=64"), "%s", buf);
  cr_assert(sched_options_parse(buf, &p, err, sizeof err) && p.gpu_split == 64, "%s: %s", buf, err);
  cr_assert_not(sched_options_parse("split=4096", &o, err, sizeof err));
  cr_assert(sched_options_parse("promote=1 shared=0", &o, err, sizeof err) && o.gpu_promote_reads && !o.gpu_promote,
            "%s", err);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert(strstr(buf, " promote=1") && !strstr(buf, "shared="), "%s", buf);
  cr_assert(sched_options_parse(buf, &p, err, sizeof err), "%s: %s", buf, err);
  cr_assert_eq(memcmp(&o, &p, sizeof o), 0, "%s", buf);
  cr_assert(sched_options_parse("promote=0", &o, err, sizeof err) && !o.gpu_promote_reads, "%s", err);
  sched_options_print(buf, sizeof buf, &o);
  cr_assert_null(strstr(buf, "promote="), "promote=0 is the default: %s", buf);
  cr_assert_not(sched_options_parse("promote=2", &o, err, sizeof err));
  sched_gpu_options_heuristic(&o);
  cr_assert(o.gpu_promote_reads && o.gpu_promote, "the CUDA heuristic promotes");
}

Test(cuda, block_sizes_fit_1024_threads)
{
  sched_options o;
  int b[3];
  sched_gpu_options_heuristic(&o);
  sched_gpu_block_sizes(&o, 2, b);
  cr_assert(b[0] == 32 && b[1] == 8 && b[2] == 1);
  sched_gpu_block_sizes(&o, 3, b);
  cr_assert(b[0] * b[1] * b[2] == 256);
  o.gpu_block[0] = 1024;
  o.gpu_block[1] = 1024;
  sched_gpu_block_sizes(&o, 2, b);
  cr_assert(b[0] * b[1] <= 1024, "%d x %d", b[0], b[1]);
}

/* The .cu of src's defs; with schedule, those options instead of the
 * heuristics. */
static char *emit_cuda_with(const char *src, const char *schedule)
{
  aotc_source s = {"t.tc", src, strlen(src)};
  ir_module *m = tc_compile(ctx, &s);
  cr_assert_not_null(m);
  char *text = NULL, err[128];
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  sched_options o;
  sched_gpu_options_heuristic(&o);
  cr_assert(!schedule || sched_options_parse(schedule, &o, err, sizeof err), "%s", err);
  emit_options opt = {.fuse = true, .sched = schedule ? &o : NULL};
  emit_plan *p = emit_plan_new(ctx, m->funcs, m->n_funcs, &opt, &emit_target_cuda);
  cr_assert(p && emit_plan_build(p) && emit_plan_schedule(p) && emit_plan_ast(p) && emit_plan_print(p, out, out));
  emit_plan_free(p);
  fclose(out);
  return text;
}

static char *emit_cuda(const char *src)
{
  return emit_cuda_with(src, NULL);
}

Test(cuda, elementwise_maps_to_blocks_and_threads)
{
  char *cu = emit_cuda("def add(float(N, M) A, float(N, M) B) -> (C) { C(n, m) = A(n, m) + B(n, m) }\n");
  cr_assert(strstr(cu, "__global__ void __launch_bounds__(256, 1) aotc_add_kernel0("), "%s", cu);
  cr_assert(strstr(cu, "blockIdx.x") && strstr(cu, "threadIdx.y") && strstr(cu, "gridDim.x"), "%s", cu);
  cr_assert(strstr(cu, "void *workspace, cudaStream_t stream)"), "%s", cu);
  cr_assert(strstr(cu, "AOTC_CUDA_TRY(AOTC_LAUNCH(aotc_add_kernel0, dim3("), "%s", cu);
  cr_assert_null(strstr(cu, "__syncthreads"), "%s", cu);
  free(cu);
}

Test(cuda, contraction_promotes_tiles_to_shared_memory)
{
  char *cu = emit_cuda("def mm(float(M, K) A, float(K, N) B) -> (C) { C(m, n) +=! A(m, k) * B(k, n) }\n");
  cr_assert(strstr(cu, "__shared__ float aotc_As[16][64];"), "%s", cu);
  cr_assert(strstr(cu, "__syncthreads();"), "%s", cu);
  cr_assert(strstr(cu, "block 16x16x1, shared 8192 bytes"), "%s", cu);
  cr_assert_null(strstr(cu, "aotc_pack"), "%s", cu);
  free(cu);
}

/* The cross-thread path: a block's threads each accumulate a strided part,
 * then each warp folds its lanes by shuffles, lane 0 of each warp into a
 * shared slot, and the first warp folds those; thread 0 writes. */
#define RED_WARP "aotc_acc = aotc_acc + __shfl_down_sync(0xffffffffu, aotc_acc, aotc_s);"
#define RED_SPLIT "+ (int64_t)threadIdx.x * 1; c0 < N; c0 += (int64_t)blockDim.x * 1)"

Test(cuda, scalar_reduction_is_shared_by_a_block)
{
  char *cu = emit_cuda_with("def total(float(N) A) -> (s) { s +=! A(n) }\n", "sr=1 split=1");
  cr_assert(strstr(cu, "dim3(1, 1, 1), dim3(256, 1, 1)"), "%s", cu);
  cr_assert(strstr(cu, "block 256x1x1, shared 64 bytes"), "%s", cu);
  cr_assert(strstr(cu, "__shared__ double aotc_red_mem[8];"), "%s", cu);
  cr_assert(strstr(cu, RED_SPLIT) && strstr(cu, RED_WARP), "%s", cu);
  cr_assert(strstr(cu, "aotc_acc = threadIdx.x < 8 ? aotc_red[threadIdx.x] : aotc_acc;"), "%s", cu);
  cr_assert(strstr(cu, "if (threadIdx.x == 0)\n      s[0] = s[0] + aotc_acc;"), "%s", cu);
  cr_assert_null(strstr(cu, "aotc_part"), "split=1: one kernel\n%s", cu);
  free(cu);
}

/* A long reduction into few outputs: two kernels, the first over
 * SCHED_GPU_FILL_BLOCKS blocks leaving a partial result per block in the
 * workspace, the second folding them in order. */
Test(cuda, scalar_reduction_takes_two_stages)
{
  char *cu = emit_cuda("def total(float(N) A) -> (s) { s +=! A(n) }\n");
  cr_assert(strstr(cu, "kernel1, dim3(128, 1, 1), dim3(256, 1, 1), 0, stream, N, A, s, aotc_part_mem)"), "%s", cu);
  cr_assert(strstr(cu, "kernel2, dim3(1, 1, 1), dim3(256, 1, 1), 0, stream, N, A, s, aotc_part_mem)"), "%s", cu);
  cr_assert(strstr(cu, "+ (int64_t)(blockIdx.x * blockDim.x + threadIdx.x) * 1; c0 < N; "
                       "c0 += (int64_t)(gridDim.x * blockDim.x) * 1)"),
            "%s", cu);
  cr_assert(strstr(cu, "aotc_part[blockIdx.x] = aotc_acc;"), "%s", cu);
  cr_assert(strstr(cu, "for (int64_t aotc_g = threadIdx.x; aotc_g < 128; aotc_g += blockDim.x) {\n"
                       "      aotc_acc = aotc_acc + aotc_part[aotc_g];"),
            "%s", cu);
  cr_assert(strstr(cu, "return 0 + 1024;"), "128 partial results of 8 bytes\n%s", cu);
  free(cu);
}

/* Two reductions in one part, the second reading the first's result: the
 * part cannot be cut into stages (emit_split_ok) and stays one kernel. */
Test(cuda, dependent_reductions_stay_one_stage)
{
  char *cu = emit_cuda("def sn(float(2, N) X) -> (s) { m(i) max=! X(i, j)\n s(i) +=! exp(X(i, j) - m(i)) }\n");
  cr_assert(strstr(cu, "aotc_sn_kernel0: block 256x1x1, shared 64 bytes */"), "%s", cu);
  cr_assert_null(strstr(cu, "aotc_part"), "%s", cu);
  cr_assert_null(strstr(cu, "aotc_sn_kernel1"), "%s", cu);
  free(cu);
}

Test(cuda, few_long_rows_take_a_block_each)
{
  char *cu = emit_cuda_with("def rmax(float(3, N) A) -> (O) { O(i) max=! A(i, j) }\n", "sr=1 split=1");
  cr_assert(strstr(cu, "dim3(aotc_cuda_grid_dim(3, 2147483647), 1, 1), dim3(256, 1, 1)"), "%s", cu);
  cr_assert(strstr(cu, "(int64_t)blockIdx.x * 1; c0 <= 2; c0 += (int64_t)gridDim.x * 1)"), "%s", cu);
  cr_assert(strstr(cu, "aotc_acc = aotc_max_float(aotc_acc, __shfl_down_sync(0xffffffffu, aotc_acc, aotc_s));"),
            "%s", cu);
  cr_assert(strstr(cu, "if (threadIdx.x == 0) O[c0] = (-INFINITY);"), "%s", cu);
  free(cu);
  cu = emit_cuda("def rmax(float(3, N) A) -> (O) { O(i) max=! A(i, j) }\n");
  cr_assert(strstr(cu, "dim3(aotc_cuda_grid_dim(3, 2147483647), 32, 1), dim3(256, 1, 1)"), "split over y\n%s", cu);
  cr_assert(strstr(cu, "aotc_part[blockIdx.x + gridDim.x * blockIdx.y] = aotc_acc;"), "%s", cu);
  cr_assert(strstr(cu, "aotc_part[blockIdx.x + gridDim.x * aotc_g]"), "%s", cu);
  cr_assert(strstr(cu, "return 0 + 768;"), "3 x 32 partial results of 8 bytes\n%s", cu);
  free(cu);
}

Test(cuda, many_rows_keep_a_thread_per_row_unless_reduce_is_set)
{
  const char *tc = "def rsum(float(M, N) A) -> (O) { O(i) +=! A(i, j) }\n";
  char *cu = emit_cuda(tc);
  cr_assert_null(strstr(cu, "aotc_red_mem"), "%s", cu);
  free(cu);
  cu = emit_cuda_with(tc, "sr=1 reduce=64");
  cr_assert(strstr(cu, "block 64x1x1, shared 16 bytes"), "%s", cu);
  cr_assert(strstr(cu, "for (int aotc_s = 16; aotc_s > 0; aotc_s /= 2)"), "%s", cu);
  cr_assert(strstr(cu, "for (int aotc_s = 1; aotc_s > 0; aotc_s /= 2)"), "two warps\n%s", cu);
  cr_assert_null(strstr(cu, "aotc_part"), "rows for every size: no split\n%s", cu);
  free(cu);
  cu = emit_cuda_with(tc, "sr=1 reduce=16");
  cr_assert(strstr(cu, "block 16x1x1, shared 0 bytes") && !strstr(cu, "aotc_red_mem"), "%s", cu);
  cr_assert(strstr(cu, "__shfl_down_sync(0x0000ffffu, aotc_acc, aotc_s)"), "half a warp\n%s", cu);
  free(cu);
  cu = emit_cuda_with("def total(float(N) A) -> (s) { s +=! A(n) }\n", "sr=1 reduce=1");
  cr_assert(strstr(cu, "dim3(1, 1, 1), dim3(1, 1, 1)") && !strstr(cu, "aotc_red_mem"), "reduce=1: off\n%s", cu);
  free(cu);
}

/* A nest of reduction loops into one element: the threads split the
 * innermost loop, every thread runs the loops around it, one tree. */
Test(cuda, reduction_nest_has_one_tree)
{
  char *cu = emit_cuda_with("def all(float(M, N) A) -> (O) { O(z) +=! A(i, j) where z in 0:1 }\n", "sr=1 split=1");
  cr_assert(strstr(cu, "for (int64_t c0 = 0; c0 < M; c0 += 1) {\n"
                       "      for (int64_t c1 = 0 + (int64_t)threadIdx.x * 1; c1 < N; "
                       "c1 += (int64_t)blockDim.x * 1) {"),
            "%s", cu);
  const char *tree = strstr(cu, "aotc_s /= 2");
  tree = tree ? strstr(tree + 1, "aotc_s /= 2") : NULL;
  cr_assert(tree && !strstr(tree + 1, "aotc_s /= 2"), "one tree (warps, then their totals)\n%s", cu);
  free(cu);
}

/* unroll= marks a thread's innermost loop; C has no such mark. */
Test(cuda, unroll_marks_a_threads_inner_loop)
{
  const char *tc = "def mv(float(M, K) A, float(K) x) -> (y) { y(i) +=! A(i, k) * x(k) }\n";
  char *cu = emit_cuda_with(tc, "sr=1 unroll=4");
  cr_assert(strstr(cu, "AOTC_UNROLL(4)\n        for (int64_t c2 = 0; c2 < K; c2 += 1) {"), "%s", cu);
  free(cu);
  cu = emit_cuda_with(tc, "sr=1");
  cr_assert_null(strstr(cu, "AOTC_UNROLL"), "%s", cu);
  free(cu);
}

/* In a reduction kernel, a loop of one elementwise statement goes to the
 * block's threads between barriers; the statements around run on thread 0. */
Test(cuda, reduction_kernel_spreads_elementwise_loops)
{
  char *cu = emit_cuda("def rn(float(2, N) X) -> (Y) { s(i) +=! X(i, j)\n Y(i, j) = X(i, j) / s(i) }\n");
  cr_assert(strstr(cu, "if (threadIdx.x == 0) s[c0] = 0.0f;"), "%s", cu);
  cr_assert(strstr(cu, "    __syncthreads();\n"
                       "    for (int64_t c1 = N + (int64_t)threadIdx.x * 1; c1 < (2 * N); "
                       "c1 += (int64_t)blockDim.x * 1) {\n"
                       "      Y[c0 * N + ((-N) + c1)] = X[c0 * N + ((-N) + c1)] / s[c0];\n"
                       "    }\n"
                       "    __syncthreads();\n"),
            "%s", cu);
  free(cu);
}
