/* llvm_nest.c: control flow for the LLVM backend: counted and stepped
 * loops, branches, variables in the entry block, loop nests over a
 * statement's own index ranges, the run-time checks of indices read from
 * data (emit_checks.c's meaning: before the kernel, the entry returns
 * AOTC_RC_INDEX), and a kernel: packed loops (llvm_contr.c) or isl's
 * (llvm_ast.c). */
#include "llvm_priv.h"

#include <llvm-c/DebugInfo.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Loops and branches
 * ------------------------------------------------------------------------ */

/* !{self, ops...}: a node that refers to itself (distinct: a loop's
 * properties, an alias scope or domain); n <= LW_SELF_NODE_OPS. */
LLVMMetadataRef lw_self_node(LLVMContextRef c, LLVMMetadataRef *ops, int n)
{
  LLVMMetadataRef all[LW_SELF_NODE_OPS + 1];
  LLVMMetadataRef self = LLVMTemporaryMDNode(c, NULL, 0);
  all[0] = self;
  for (int i = 0; i < n; i++)
    all[i + 1] = ops[i];
  LLVMMetadataRef node = LLVMMDNodeInContext2(c, all, (size_t)n + 1);
  LLVMMetadataReplaceAllUsesWith(self, node);
  return node;
}

static LLVMMetadataRef md_pair(LLVMContextRef c, const char *key, LLVMValueRef v)
{
  LLVMMetadataRef ops[] = {LLVMMDStringInContext2(c, key, strlen(key)), LLVMValueAsMetadata(v)};
  return LLVMMDNodeInContext2(c, ops, 2);
}

/* !llvm.loop !{self, properties...}: "llvm.loop.unroll.count" n (unroll > 1:
 * the pipeline unrolls it n times even where it does not unroll on its own),
 * "llvm.loop.unroll.full" (unroll < 0: the pipeline runs with unrolling off,
 * and its full unroll pass then unrolls only the loops that ask),
 * "llvm.loop.vectorize.enable" true (simd: a loop the C path marks omp
 * simd, vectorised even where the cost model would not; legality is still
 * checked) and "llvm.loop.vectorize.width" (width > 1: a simd loop that
 * reduces into a local, which omp simd reduction lets the C compiler
 * reorder; LLVM reorders a float reduction only when a width is given)
 * and "llvm.loop.vectorize.predicate.enable" (fold_tail: masked vectors
 * to the end, for loops of fewer iterations than the vectoriser's
 * unrolled step, which would otherwise run its scalar remainder alone).
 * The node (NULL when no property applies). */
static LLVMMetadataRef loop_hints(lw_fn *F, LLVMValueRef latch_br, int unroll, bool simd, int width, bool fold_tail)
{
  LLVMContextRef c = F->L->c;
  LLVMMetadataRef ops[LW_SELF_NODE_OPS];
  int n = 0;
  if (unroll < 0) {
    LLVMMetadataRef full[] = {LLVMMDStringInContext2(c, "llvm.loop.unroll.full", 21)};
    ops[n++] = LLVMMDNodeInContext2(c, full, 1);
  } else if (unroll > 1) {
    ops[n++] = md_pair(c, "llvm.loop.unroll.count", LLVMConstInt(F->L->i32, (unsigned)unroll, 0));
  }
  if (simd)
    ops[n++] = md_pair(c, "llvm.loop.vectorize.enable", LLVMConstInt(F->L->i1, 1, 0));
  if (simd && width > 1)
    ops[n++] = md_pair(c, "llvm.loop.vectorize.width", LLVMConstInt(F->L->i32, (unsigned)width, 0));
  if (simd && fold_tail)
    ops[n++] = md_pair(c, "llvm.loop.vectorize.predicate.enable", LLVMConstInt(F->L->i1, 1, 0));
  if (n == 0)
    return NULL;
  LLVMMetadataRef loop = lw_self_node(c, ops, n);
  LLVMSetMetadata(latch_br, LLVMGetMDKindIDInContext(c, "llvm.loop", 9), LLVMMetadataAsValue(c, loop));
  return loop;
}

/* Float lanes of the plan's vectors (1: none). */
static int float_lanes(const lw_fn *F)
{
  const sched_cpu *cpu = F->p->opt && F->p->opt->cpu ? F->p->opt->cpu : sched_cpu_native();
  return cpu && cpu->vector_bytes > 4 ? cpu->vector_bytes / 4 : 1;
}

/* The longest innermost loop of constant trip count unrolled whole. */
#define LW_FULL_UNROLL_MAX 4

void lw_loop(lw_fn *F, LLVMValueRef init, lw_cond_fn cond, lw_inc_fn inc, lw_body_fn body, void *data)
{
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(F->b), head = lw_block(F, "loop"), in = lw_block(F, "body"),
                    out = lw_block(F, "exit");
  LLVMBuildBr(F->b, head);
  LLVMPositionBuilderAtEnd(F->b, head);
  LLVMValueRef i = LLVMBuildPhi(F->b, F->L->idx, "i");
  LLVMBuildCondBr(F->b, cond(F, i, data), in, out);
  LLVMPositionBuilderAtEnd(F->b, in);
  int loops = ++F->L->n_loops;
  bool simd = F->simd_next, reduces = F->acc != NULL, fold_tail = F->fold_tail_next;
  int trip = F->trip_next;
  F->simd_next = F->fold_tail_next = false;
  F->trip_next = 0;
  LLVMMetadataRef outer = F->par_loop;
  F->par_loop = simd ? LLVMTemporaryMDNode(F->L->c, NULL, 0) : NULL;
  body(F, i, data);
  LLVMValueRef next = LLVMBuildNSWAdd(F->b, i, inc(F, data), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(F->b);
  LLVMValueRef br = LLVMBuildBr(F->b, head);
  bool innermost = F->L->n_loops == loops;
  /* An innermost loop of 2 to 4 iterations (a 3x3 window's taps, a
   * Winograd tile's) is unrolled whole, as gcc -O3 does. */
  LLVMMetadataRef loop = loop_hints(F, br, !innermost ? 0 : trip >= 2 && trip <= LW_FULL_UNROLL_MAX ? -1 : F->L->unroll,
                                    simd, reduces ? float_lanes(F) : 1, fold_tail);
  if (F->par_loop)
    LLVMMetadataReplaceAllUsesWith(F->par_loop, loop);
  F->par_loop = outer;
  LLVMValueRef vals[] = {init, next};
  LLVMBasicBlockRef blocks[] = {pre, latch};
  LLVMAddIncoming(i, vals, blocks, 2);
  LLVMPositionBuilderAtEnd(F->b, out);
}

typedef struct counted {
  LLVMValueRef hi;
  lw_body_fn body;
  void *data;
  int64_t step;
} counted;

static LLVMValueRef counted_cond(lw_fn *F, LLVMValueRef i, void *data)
{
  return LLVMBuildICmp(F->b, LLVMIntSLT, i, ((counted *)data)->hi, "");
}

static LLVMValueRef counted_inc(lw_fn *F, void *data)
{
  return lw_idx(F->L, ((counted *)data)->step);
}

static void counted_body(lw_fn *F, LLVMValueRef i, void *data)
{
  counted *c = data;
  c->body(F, i, c->data);
}

void lw_stepped_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, int64_t step, lw_body_fn body, void *data)
{
  counted c = {hi, body, data, step};
  lw_loop(F, lo, counted_cond, counted_inc, counted_body, &c);
}

void lw_counted_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, lw_body_fn body, void *data)
{
  lw_stepped_loop(F, lo, hi, 1, body, data);
}

void lw_if_else(lw_fn *F, LLVMValueRef cond, lw_then_fn then, lw_then_fn other, void *data)
{
  LLVMBasicBlockRef yes = lw_block(F, "then"), no = other ? lw_block(F, "else") : NULL, join = lw_block(F, "endif");
  LLVMBuildCondBr(F->b, cond, yes, no ? no : join);
  LLVMPositionBuilderAtEnd(F->b, yes);
  then(F, data);
  LLVMBuildBr(F->b, join);
  if (no) {
    LLVMPositionBuilderAtEnd(F->b, no);
    other(F, data);
    LLVMBuildBr(F->b, join);
  }
  LLVMPositionBuilderAtEnd(F->b, join);
}

void lw_fail_if(lw_fn *F, LLVMValueRef bad)
{
  if (!F->fail_index) {
    LLVMBasicBlockRef here = LLVMGetInsertBlock(F->b);
    F->fail_index = lw_block(F, "index_fail");
    LLVMPositionBuilderAtEnd(F->b, F->fail_index);
    LLVMBuildRet(F->b, LLVMConstInt(F->L->i32, AOTC_RC_INDEX, 0));
    LLVMPositionBuilderAtEnd(F->b, here);
  }
  LLVMBasicBlockRef ok = lw_block(F, "index_ok");
  LLVMBuildCondBr(F->b, bad, F->fail_index, ok);
  LLVMPositionBuilderAtEnd(F->b, ok);
}

LLVMValueRef lw_entry_alloca(lw_fn *F, LLVMTypeRef ty, const char *name)
{
  LLVMBuilderRef b = LLVMCreateBuilderInContext(F->L->c);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(F->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(b, first);
  else
    LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef a = LLVMBuildAlloca(b, ty, name);
  LLVMDisposeBuilder(b);
  return a;
}

LLVMValueRef lw_min(lw_fn *F, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, LLVMIntSLT, a, b, ""), a, b, "");
}

LLVMValueRef lw_masked_load(lw_fn *F, LLVMTypeRef vt, LLVMValueRef addr, LLVMValueRef mask, LLVMValueRef passthru)
{
  LLVMTypeRef tys[] = {vt, F->L->ptr};
  unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
  LLVMValueRef args[] = {addr, LLVMConstInt(F->L->i32, 4, 0), mask, passthru};
  return LLVMBuildCall2(F->b, LLVMIntrinsicGetType(F->L->c, id, tys, 2), LLVMGetIntrinsicDeclaration(F->L->m, id, tys, 2),
                        args, 4, "");
}

LLVMValueRef lw_masked_store(lw_fn *F, LLVMValueRef v, LLVMValueRef addr, LLVMValueRef mask)
{
  LLVMTypeRef tys[] = {LLVMTypeOf(v), F->L->ptr};
  unsigned id = LLVMLookupIntrinsicID("llvm.masked.store", 17);
  LLVMValueRef args[] = {v, addr, LLVMConstInt(F->L->i32, 4, 0), mask};
  return LLVMBuildCall2(F->b, LLVMIntrinsicGetType(F->L->c, id, tys, 2), LLVMGetIntrinsicDeclaration(F->L->m, id, tys, 2),
                        args, 4, "");
}

LLVMValueRef lw_splat(lw_fn *F, LLVMValueRef v, unsigned w)
{
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), w);
  LLVMValueRef one = LLVMBuildInsertElement(F->b, LLVMGetUndef(vt), v, LLVMConstInt(F->L->i32, 0, 0), "");
  return LLVMBuildShuffleVector(F->b, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(F->L->i32, w)), "");
}

LLVMValueRef lw_f32_at(lw_fn *F, LLVMValueRef base, LLVMValueRef i)
{
  return LLVMBuildGEP2(F->b, F->L->f32, base, &i, 1, "");
}

/* Lanes 0..w-1 below n (of the index type) as a vector of i1. */
LLVMValueRef lw_lanes_below(lw_fn *F, unsigned w, LLVMValueRef n)
{
  /* Compared in 32-bit lanes, n clamped to w first (unsigned: the same
   * lanes on): 64-bit lanes took two compares per 16 lanes and a merge of
   * the two masks on AVX-512 (RegNetY's and ResNet-18's packing runs). */
  LLVMTypeRef t = F->L->i32;
  if (LLVMGetIntTypeWidth(LLVMTypeOf(n)) > 32) {
    LLVMValueRef cap = LLVMConstInt(LLVMTypeOf(n), w, 0);
    n = LLVMBuildTrunc(F->b, LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, LLVMIntULT, n, cap, ""), n, cap, ""), t, "");
  }
  LLVMValueRef lane[2 * 64];
  for (unsigned l = 0; l < w && l < 2 * 64; l++)
    lane[l] = LLVMConstInt(t, l, 0);
  return LLVMBuildICmp(F->b, LLVMIntULT, LLVMConstVector(lane, w), lw_splat(F, n, w), "");
}

/* ------------------------------------------------------------------------
 * Loop nests over a statement's own index ranges
 * ------------------------------------------------------------------------ */

static void nest_level(lw_fn *F, lw_nest *n);

static void nest_body(lw_fn *F, LLVMValueRef i, void *data)
{
  lw_nest *n = data;
  F->iter[n->order[n->depth]] = i;
  n->depth++;
  nest_level(F, n);
  n->depth--;
}

static void nest_level(lw_fn *F, lw_nest *n)
{
  if (n->depth == n->n) {
    n->inner(F, n);
    return;
  }
  const ir_index *x = &n->s->index[n->order[n->depth]];
  lw_counted_loop(F, lw_size(F, x->lo), lw_size(F, x->hi), nest_body, n);
}

void lw_run_nest(lw_fn *F, lw_nest *n)
{
  F->stmt = n->s;
  n->depth = 0;
  nest_level(F, n);
  lw_unbind(F, n->s);
}

/* ------------------------------------------------------------------------
 * Index checks
 * ------------------------------------------------------------------------ */

static void check_tests(lw_fn *F, lw_nest *n)
{
  const emit_checked_access *a = n->data;
  for (int j = 0; j < a->n; j++) {
    if (!emit_checks_reads_data(a->subs[j]))
      continue;
    LLVMValueRef v = lw_subscript(F, a->subs[j]);
    lw_fail_if(F, LLVMBuildICmp(F->b, LLVMIntUGE, v, F->dim[a->t][j], ""));
  }
}

typedef struct check_job {
  const emit_checked_access *a;
  bool *used;
} check_job;

static void check_loops(lw_fn *F, void *data)
{
  check_job *job = data;
  const ir_stmt *s = job->a->s;
  int order[64], k = 0;
  for (int x = 0; x < s->n_index && k < 64; x++)
    if (job->used[x])
      order[k++] = x;
  lw_nest n = {.s = s, .order = order, .n = k, .inner = check_tests, .data = job->a};
  lw_run_nest(F, &n);
}

/* The statement runs somewhere: every range the check does not loop over
 * is non-empty. */
static LLVMValueRef runs(lw_fn *F, const ir_stmt *s, const bool *used)
{
  LLVMValueRef ok = LLVMConstInt(F->L->i1, 1, 0);
  for (int x = 0; x < s->n_index; x++)
    if (!used[x])
      ok = LLVMBuildAnd(
          F->b, ok, LLVMBuildICmp(F->b, LLVMIntSGT, lw_size(F, s->index[x].hi), lw_size(F, s->index[x].lo), ""), "");
  return ok;
}

static void check_access(void *data, const emit_checked_access *a)
{
  lw_fn *F = data;
  bool used[64] = {0};
  if (a->s->n_index > 64) {
    lw_fail(F, "a checked statement with too many indices");
    return;
  }
  emit_checks_mark_used(a, used);
  check_job job = {a, used};
  F->stmt = a->s;
  lw_if_else(F, runs(F, a->s, used), check_loops, NULL, &job);
  F->stmt = NULL;
}

void lw_kernel(lw_fn *F, int i)
{
  const emit_kernel *k = &F->pf->kernels[i];
  if (lw_epilogue_fused(F, i))
    return;
  for (int s = k->first; !F->p->opt->unchecked_indices && s < k->end; s++)
    emit_checks_visit_stmt(F->f->stmts[s], check_access, F);
  if (k->contraction >= 0) {
    if (!lw_grouped(F, i))
      lw_contraction(F, k->contraction);
    return;
  }
  if (lw_window(F, i))
    return;
  F->k = k->poly;
  lw_ast(F, k->ast);
}
