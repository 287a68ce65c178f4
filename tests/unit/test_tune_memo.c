/* test_tune_memo.c: the tuner's memo of isl schedules (poly_memo.c) and its
 * planning threads. A candidate planned with the memo (isl's schedule read
 * back from the text an earlier plan recorded) must emit the same C, byte
 * for byte, as one planned without it, under options that change isl's
 * scheduling options (fuse=), the tiling and the annotations (sr=); and
 * plans made on two threads at once with one memo must be the same too. */
#define _GNU_SOURCE
#include "ir.h"
#include "poly.h"
#include "../../src/schedule/schedule.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kernels[] =
    "def softmax(float(N, D) X) -> (Y) {\n"
    "  mx(n) max=! X(n, d)\n  ex(n, d) = exp(X(n, d) - mx(n))\n  s(n) +=! ex(n, d)\n  Y(n, d) = ex(n, d) / s(n)\n}\n"
    "def layernorm(float(N, D) X, float(D) gamma, float(D) beta, float eps) -> (Y) {\n"
    "  s1(n) +=! X(n, d)\n  mu(n) = s1(n) / float(D)\n"
    "  s2(n) +=! (X(n, d) - mu(n)) * (X(n, d) - mu(n))\n  rstd(n) = rsqrt(s2(n) / float(D) + eps)\n"
    "  Y(n, d) = (X(n, d) - mu(n)) * rstd(n) * gamma(d) + beta(d)\n}\n"
    "def conv(float(N, C, H, W) I, float(F, C, 3, 3) Wt) -> (O) {\n"
    "  O(n, f, h, w) +=! padded(I(n, c, h + kh - 1, w + kw - 1)) * Wt(f, c, kh, kw)\n"
    "    where h in 0:H, w in 0:W\n}\n"
    "def mlp(float(M, K) A, float(K, N) B, float(N) bias) -> (Y) {\n"
    "  C(m, n) +=! A(m, r_k) * B(r_k, n)\n  Y(m, n) = fmax(C(m, n) + bias(n), 0.0)\n}\n";

static const char *const options[] = {
    "tile=0 reg=0 order=0 fuse=min unroll=0 vec=1 vbytes=64 threads=1 pack=0 sr=1 mk=0",
    "tile=4,4 reg=0 order=0 fuse=min unroll=0 vec=1 vbytes=64 threads=1 pack=0 sr=1 mk=0",
    "tile=16,8 reg=0 order=1,0 fuse=max unroll=4 vec=0 vbytes=32 threads=2 pack=1 sr=0 mk=0",
    "tile=0 reg=8,4 order=0 fuse=keep unroll=0 vec=1 vbytes=64 threads=1 pack=0 sr=1 mk=0",
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

static ir_module *module(aotc_ctx *ctx)
{
  ir_module *m = tc_compile(ctx, aotc_add_source(ctx, "k.tc", kernels, strlen(kernels)));
  cr_assert_not_null(m, "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  return m;
}

/* 24 for every size parameter but the first (64). */
static const int64_t sizes[] = {64, 24, 24, 24, 24, 24};

/* The C text and header of f under options text o (malloc'ed). */
static char *emit(ir_func *f, const char *o, poly_memo *memo)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  sched_options so;
  char err[256], *c = NULL;
  size_t len = 0;
  cr_assert(sched_options_parse(o, &so, err, sizeof err), "%s", err);
  emit_options opt = {.sched = &so, .fixed_sizes = sizes, .fuse = true, .header_name = "k.h", .memo = memo};
  FILE *out = open_memstream(&c, &len);
  cr_assert(emit_c_module(ctx, NULL, &f, 1, &opt, out, out), "%s: %s", f->name,
            ctx->n_diags ? ctx->diags[0].msg : "?");
  fclose(out);
  aotc_ctx_free(ctx);
  return c;
}

Test(tune_memo, memo_schedules_emit_the_same_code, .timeout = 600)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_module *m = module(ctx);
  poly_memo *memo = poly_memo_new();
  for (int fi = 0; fi < m->n_funcs; fi++)
    for (int i = 0; i < N_OPTIONS; i++) {
      char *plain = emit(m->funcs[fi], options[i], NULL);
      for (int pass = 0; pass < 2; pass++) {
        char *memoed = emit(m->funcs[fi], options[i], memo);
        cr_expect_str_eq(memoed, plain, "%s under %s (pass %d)", m->funcs[fi]->name, options[i], pass);
        free(memoed);
      }
      free(plain);
    }
  cr_expect_geq(poly_memo_hits(memo), (long)(m->n_funcs * N_OPTIONS), "the memo was used");
  poly_memo_free(memo);
  aotc_ctx_free(ctx);
}

typedef struct job {
  ir_func *f;
  poly_memo *memo;
  int first;
  char *texts[N_OPTIONS];
} job;

static void *plan_all(void *data)
{
  job *j = data;
  for (int k = 0; k < N_OPTIONS; k++) {
    int i = (j->first + k) % N_OPTIONS;
    j->texts[i] = emit(j->f, options[i], j->memo);
  }
  return NULL;
}

Test(tune_memo, two_threads_plan_the_same_code, .timeout = 600)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_module *m = module(ctx);
  for (int fi = 0; fi < m->n_funcs; fi++) {
    poly_memo *memo = poly_memo_new();
    job a = {m->funcs[fi], memo, 0, {0}}, b = {m->funcs[fi], memo, N_OPTIONS / 2, {0}};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, plan_all, &a), 0);
    plan_all(&b);
    pthread_join(th, NULL);
    for (int i = 0; i < N_OPTIONS; i++) {
      char *plain = emit(m->funcs[fi], options[i], NULL);
      cr_expect_str_eq(a.texts[i], plain, "%s under %s, thread 1", m->funcs[fi]->name, options[i]);
      cr_expect_str_eq(b.texts[i], plain, "%s under %s, thread 2", m->funcs[fi]->name, options[i]);
      free(plain);
      free(a.texts[i]);
      free(b.texts[i]);
    }
    poly_memo_free(memo);
  }
  aotc_ctx_free(ctx);
}
