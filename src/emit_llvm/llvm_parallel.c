/* llvm_parallel.c: loops spread over threads through OpenMP's runtime, as
 * gcc builds the C path's `#pragma omp parallel for schedule(static)
 * num_threads(T)`: the loop's body becomes a function of its own,
 * NAME_aotc_pN(ctx), that GOMP_parallel runs on a team of T threads; each
 * takes the static schedule's share of the iterations (contiguous, the
 * first n % nt threads one more), found from omp_get_thread_num and
 * omp_get_num_threads, so a team smaller than asked still covers them.
 *
 * The body is built by the same builders as a serial loop, into the new
 * function; the values of the enclosing function it uses (tensor pointers,
 * sizes, outer loops' iterators) are then found among its instructions'
 * operands and passed through ctx, a struct on the caller's stack: each
 * operand is replaced by a load from ctx at the top of the new function. A
 * local of the caller it uses (a reduction's accumulator) gets a local of
 * its own there, as a variable declared inside the C loop is private. A body
 * that branches to the caller's blocks (an index check's return) or does
 * not verify is deleted and the loop built serially.
 *
 * Objects that use it need OpenMP's runtime at link time (-fopenmp or
 * -lgomp); `aotc run` and `aotc tune --backend llvm` resolve it in the
 * process (llvm_module.c). One thread, or a bare-metal triple (no OS:
 * thumbv7em-none-eabihf), serial;
 * AOTC_LLVM_SERIAL=1 builds every such loop serially (measurements). */
#include "llvm_priv.h"

#include <llvm-c/Analysis.h>
#include <stdlib.h>
#include <string.h>

/* A function of the runtime (declared once per module). */
static LLVMValueRef runtime_fn(emit_llvm *L, const char *name, LLVMTypeRef ret, LLVMTypeRef *args, unsigned n,
                               LLVMTypeRef *ty)
{
  *ty = LLVMFunctionType(ret, args, n, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(L->m, name);
  return fn ? fn : LLVMAddFunction(L->m, name, *ty);
}

static LLVMValueRef call0(lw_fn *F, const char *name)
{
  LLVMTypeRef ty;
  LLVMValueRef fn = runtime_fn(F->L, name, F->L->i32, NULL, 0, &ty);
  return LLVMBuildCall2(F->b, ty, fn, NULL, 0, "");
}

static LLVMValueRef as_idx(lw_fn *F, LLVMValueRef v)
{
  return LLVMBuildSExt(F->b, v, F->L->idx, "");
}

typedef struct par_loop {
  LLVMValueRef lo, n;
  int64_t step;
  lw_body_fn body;
  void *data;
} par_loop;

static void par_iteration(lw_fn *F, LLVMValueRef k, void *data)
{
  par_loop *p = data;
  p->body(F, LLVMBuildAdd(F->b, p->lo, LLVMBuildMul(F->b, k, lw_idx(F->L, p->step), ""), ""), p->data);
}

/* This thread's share of iterations 0..n-1: libgomp's static schedule. */
static void thread_share(lw_fn *F, par_loop *p)
{
  LLVMValueRef t = as_idx(F, call0(F, "omp_get_thread_num")), nt = as_idx(F, call0(F, "omp_get_num_threads"));
  LLVMValueRef q = LLVMBuildSDiv(F->b, p->n, nt, ""), r = LLVMBuildSRem(F->b, p->n, nt, "");
  LLVMValueRef more = LLVMBuildICmp(F->b, LLVMIntSLT, t, r, "");
  LLVMValueRef count = LLVMBuildAdd(F->b, q, LLVMBuildZExt(F->b, more, F->L->idx, ""), "");
  LLVMValueRef start = LLVMBuildSelect(F->b, more, LLVMBuildMul(F->b, t, count, ""),
                                       LLVMBuildAdd(F->b, LLVMBuildMul(F->b, t, q, ""), r, ""), "");
  lw_counted_loop(F, start, LLVMBuildAdd(F->b, start, count, ""), par_iteration, p);
}

/* The values of other functions that fn's instructions use. */
typedef struct captures {
  LLVMValueRef *v;
  int n, cap;
  bool foreign_block; /* a branch to another function's block */
  LLVMTypeRef ctx_ty; /* the struct that passes them (outline) */
} captures;

static bool foreign(LLVMValueRef v, LLVMValueRef fn)
{
  if (LLVMIsAInstruction(v))
    return LLVMGetBasicBlockParent(LLVMGetInstructionParent(v)) != fn;
  if (LLVMIsAArgument(v))
    return LLVMGetParamParent(v) != fn;
  return false;
}

static int capture_slot(emit_llvm *L, captures *c, LLVMValueRef v)
{
  for (int i = 0; i < c->n; i++)
    if (c->v[i] == v)
      return i;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 16;
    LLVMValueRef *grown = IR_NEW_ARRAY(L->ctx, LLVMValueRef, cap);
    if (!grown)
      return -1;
    for (int i = 0; i < c->n; i++)
      grown[i] = c->v[i];
    c->v = grown;
    c->cap = cap;
  }
  c->v[c->n] = v;
  return c->n++;
}

static void find_captures(emit_llvm *L, LLVMValueRef fn, captures *c)
{
  for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
      int n = LLVMGetNumOperands(in);
      for (int i = 0; i < n; i++) {
        LLVMValueRef v = LLVMGetOperand(in, (unsigned)i);
        if (v && LLVMValueIsBasicBlock(v) && LLVMGetBasicBlockParent(LLVMValueAsBasicBlock(v)) != fn)
          c->foreign_block = true;
        else if (v && foreign(v, fn) && capture_slot(L, c, v) < 0)
          c->foreign_block = true; /* out of memory: give up the same way */
      }
    }
}

/* In fn (whose entry block starts with the loads' place): each captured
 * value as a load from ctx (a private local for the caller's locals), its
 * uses in fn replaced. */
static void rewrite_captures(emit_llvm *L, LLVMValueRef fn, const captures *c, LLVMTypeRef ctx_ty,
                             LLVMValueRef *local)
{
  LLVMBuilderRef b = LLVMCreateBuilderInContext(L->c);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
  LLVMPositionBuilderBefore(b, LLVMGetFirstInstruction(entry));
  LLVMValueRef ctx = LLVMGetParam(fn, 0);
  for (int i = 0; i < c->n; i++) {
    if (LLVMIsAAllocaInst(c->v[i])) {
      local[i] = LLVMBuildAlloca(b, LLVMGetAllocatedType(c->v[i]), "private");
      continue;
    }
    LLVMValueRef at = LLVMBuildStructGEP2(b, ctx_ty, ctx, (unsigned)i, "");
    local[i] = LLVMBuildLoad2(b, LLVMTypeOf(c->v[i]), at, "");
  }
  LLVMDisposeBuilder(b);
  for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
      int n = LLVMGetNumOperands(in);
      for (int k = 0; k < n; k++) {
        LLVMValueRef v = LLVMGetOperand(in, (unsigned)k);
        for (int i = 0; v && i < c->n; i++)
          if (c->v[i] == v) {
            LLVMSetOperand(in, (unsigned)k, local[i]);
            break;
          }
      }
    }
}

/* The loop's body in a function of its own; NULL when it cannot stand
 * alone (deleted). The caller's builder then stands where the call goes. */
static LLVMValueRef outline(lw_fn *F, par_loop *p, captures *c)
{
  emit_llvm *L = F->L;
  LLVMTypeRef args[] = {L->ptr};
  LLVMValueRef fn = LLVMAddFunction(L->m, ir_sprintf(L->ctx, "%s_aotc_p%d", F->pf->name, L->n_parallel++),
                                    LLVMFunctionType(LLVMVoidTypeInContext(L->c), args, 1, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  lw_fn G = *F;
  G.fn = fn;
  G.b = LLVMCreateBuilderInContext(L->c);
  G.fail_index = NULL;
  G.par_loop = NULL;
  G.failed = false;
  LLVMPositionBuilderAtEnd(G.b, lw_block(&G, "entry"));
  thread_share(&G, p);
  LLVMBuildRetVoid(G.b);
  LLVMDisposeBuilder(G.b);
  find_captures(L, fn, c);
  if (G.failed || c->foreign_block) {
    if (G.failed) {
      F->failed = true;
      F->why = G.why;
    }
    LLVMDeleteFunction(fn);
    return NULL;
  }
  LLVMTypeRef *types = IR_NEW_ARRAY(L->ctx, LLVMTypeRef, c->n + 1);
  LLVMValueRef *local = IR_NEW_ARRAY(L->ctx, LLVMValueRef, c->n + 1);
  if (!types || !local) {
    LLVMDeleteFunction(fn);
    return NULL;
  }
  for (int i = 0; i < c->n; i++)
    types[i] = LLVMTypeOf(c->v[i]);
  c->ctx_ty = LLVMStructTypeInContext(L->c, types, (unsigned)c->n, 0);
  rewrite_captures(L, fn, c, c->ctx_ty, local);
  if (LLVMVerifyFunction(fn, LLVMReturnStatusAction)) {
    LLVMDeleteFunction(fn);
    return NULL;
  }
  return fn;
}

/* The caller's side: the captured values stored into ctx (outline's
 * struct), then GOMP_parallel(fn, ctx, threads, 0). */
static void call_team(lw_fn *F, LLVMValueRef fn, const captures *c, int threads)
{
  emit_llvm *L = F->L;
  LLVMValueRef ctx = lw_entry_alloca(F, c->ctx_ty, "team_ctx");
  for (int i = 0; i < c->n; i++)
    if (!LLVMIsAAllocaInst(c->v[i]))
      LLVMBuildStore(F->b, c->v[i], LLVMBuildStructGEP2(F->b, c->ctx_ty, ctx, (unsigned)i, ""));
  LLVMTypeRef pargs[] = {L->ptr, L->ptr, L->i32, L->i32}, ty;
  LLVMValueRef gomp = runtime_fn(L, "GOMP_parallel", LLVMVoidTypeInContext(L->c), pargs, 4, &ty);
  LLVMValueRef args[] = {fn, ctx, LLVMConstInt(L->i32, (unsigned)threads, 0), LLVMConstInt(L->i32, 0, 0)};
  LLVMBuildCall2(F->b, ty, gomp, args, 4, "");
}

/* A target with an operating system (libgomp's): not bare metal, whose
 * triples name no OS ("none", as thumbv7em-none-eabihf). */
static bool hosted(const emit_llvm *L)
{
  return !L->opt.triple || !strstr(L->opt.triple, "-none");
}

void lw_parallel_loop(lw_fn *F, int threads, LLVMValueRef lo, LLVMValueRef n, int64_t step, lw_body_fn body,
                      void *data)
{
  par_loop p = {lo, n, step, body, data};
  if (threads > 1 && !F->acc && !F->failed && hosted(F->L) && !getenv("AOTC_LLVM_SERIAL")) {
    captures c = {0};
    LLVMValueRef fn = outline(F, &p, &c);
    if (fn) {
      call_team(F, fn, &c, threads);
      return;
    }
    if (F->failed)
      return;
  }
  lw_counted_loop(F, lw_idx(F->L, 0), n, par_iteration, &p);
}
