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

/* The .cu of src's defs. */
static char *emit_cuda(const char *src)
{
  aotc_source s = {"t.tc", src, strlen(src)};
  ir_module *m = tc_compile(ctx, &s);
  cr_assert_not_null(m);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  emit_options opt = {.fuse = true};
  emit_plan *p = emit_plan_new(ctx, m->funcs, m->n_funcs, &opt, &emit_target_cuda);
  cr_assert(p && emit_plan_build(p) && emit_plan_schedule(p) && emit_plan_ast(p) && emit_plan_print(p, out, out));
  emit_plan_free(p);
  fclose(out);
  return text;
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

Test(cuda, scalar_reduction_runs_on_one_thread)
{
  char *cu = emit_cuda("def total(float(N) A) -> (s) { s +=! A(n) }\n");
  cr_assert(strstr(cu, "dim3(1, 1, 1), dim3(1, 1, 1)"), "%s", cu);
  free(cu);
}
