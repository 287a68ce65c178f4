/* llvm_module.c: the LLVM module of the backend and what is done with it:
 * the target machine for a triple and CPU, the O2/O3 pipeline (the new pass
 * manager), an ELF object, or in-process compilation with ORC's LLJIT
 * (libm and the process's symbols resolved from the process). */
#include "llvm_priv.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

bool emit_llvm_available(void)
{
  return true;
}

/* LLVM's targets, and its options that the C API has no other way to set,
 * once for the process (LLVM's options are the process's: a program that
 * links aotc and LLVM shares them). An epilogue vectorised at a smaller
 * width after main loops of 8 lanes too (LLVM's default starts at 16): a
 * short simd loop at 8 lanes ran its remainder scalar, as 6 of the 14
 * iterations of each of Winograd's transform rows in ResNet-18's layer1
 * (ResNet-18 15.1 -> 14.7 ms on one thread, 8.5 -> 8.2 on two,
 * bench/RESULTS.md 2026-12-06 11:00). */
static const char *const llvm_options[] = {"aotc", "-epilogue-vectorization-minimum-VF=8"};
#define N_LLVM_OPTIONS ((int)(sizeof llvm_options / sizeof llvm_options[0]))

static void init_once(void)
{
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  LLVMParseCommandLineOptions(N_LLVM_OPTIONS, llvm_options, NULL);
}

static void init_targets(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_once);
}

/* Reports an LLVM error (consumed) on ctx; false. */
bool lw_llvm_failed(aotc_ctx *ctx, LLVMErrorRef err, const char *what)
{
  char *msg = LLVMGetErrorMessage(err);
  aotc_error(ctx, (ir_loc){0}, "LLVM: %s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return false;
}

/* The target machine is this machine's (its CPU and features): no triple
 * given; --cpu then names only the schedule's row. */
static bool on_host(const emit_llvm_options *o)
{
  return !o->triple;
}

/* The target machine for opt (NULL: reported). The triple is normalised:
 * thumbv7em-none-eabihf is otherwise read as OS "eabihf" and no
 * environment, and code for it gets the soft-float calling convention. */
LLVMTargetMachineRef lw_target_machine(aotc_ctx *ctx, const emit_llvm_options *o)
{
  init_targets();
  char *def = LLVMGetDefaultTargetTriple(), *err = NULL;
  char *triple = LLVMNormalizeTargetTriple(o->triple ? o->triple : def);
  LLVMTargetRef target;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    aotc_error(ctx, (ir_loc){0}, "LLVM: no target for '%s': %s", triple, err ? err : "");
  } else {
    bool host = on_host(o);
    char *cpu = host ? LLVMGetHostCPUName() : NULL, *feat = host ? LLVMGetHostCPUFeatures() : NULL;
    const char *c = cpu ? cpu : o->cpu && strcmp(o->cpu, "native") ? o->cpu : "generic";
    bool on_linux = strstr(triple, "linux") != NULL;
    tm = LLVMCreateTargetMachine(target, triple, c, feat ? feat : o->features ? o->features : "",
                                 o->opt_level >= 3 ? LLVMCodeGenLevelAggressive : LLVMCodeGenLevelDefault,
                                 on_linux ? LLVMRelocPIC : LLVMRelocStatic, LLVMCodeModelDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(feat);
  }
  LLVMDisposeMessage(err);
  LLVMDisposeMessage(def);
  LLVMDisposeMessage(triple);
  return tm;
}

/* The CPU row's vector width in bits on an x86 target (this machine's row
 * when the target machine is this machine's, else --cpu's), 0 elsewhere or
 * without a row (a triple without --cpu). LLVM's tuning of some AVX-512
 * CPUs (cooperlake, skylake-avx512, icelake) prefers 256-bit vectors, which
 * its loop vectoriser then uses; gcc -march=native on the same machine uses
 * 512, and the C path's code is written for the row's width (vbytes=):
 * exp and sigmoid loops ran at half the C path's lanes. */
static int vector_bits(const emit_llvm_options *o, LLVMTargetMachineRef tm)
{
  char *triple = LLVMGetTargetMachineTriple(tm);
  bool x86 = !strncmp(triple, "x86_64", 6) || (triple[0] == 'i' && !strncmp(triple + 2, "86", 2));
  LLVMDisposeMessage(triple);
  const sched_cpu *row = !x86 ? NULL : on_host(o) ? sched_cpu_native() : o->cpu ? sched_cpu_find(o->cpu) : NULL;
  return row && row->vector_bytes >= 16 ? 8 * row->vector_bytes : 0;
}

static void init_types(emit_llvm *L)
{
  L->i1 = LLVMInt1TypeInContext(L->c);
  L->i8 = LLVMInt8TypeInContext(L->c);
  L->i32 = LLVMInt32TypeInContext(L->c);
  L->i64 = LLVMInt64TypeInContext(L->c);
  L->idx = L->i64;
  L->idx_ir = IR_I64;
  L->f32 = LLVMFloatTypeInContext(L->c);
  L->f64 = LLVMDoubleTypeInContext(L->c);
  L->ptr = LLVMPointerTypeInContext(L->c, 0);
  L->size_t_ty = LLVMIntPtrTypeInContext(L->c, L->td);
}

/* LLVM's diagnostics go to the context, not to stderr: errors become aotc
 * errors; warnings and remarks are dropped (a loop that llvm.loop.
 * vectorize.enable asked for and that the vectoriser found illegal, say:
 * the code is right, only slower). */
static void diagnostic(LLVMDiagnosticInfoRef info, void *data)
{
  emit_llvm *L = data;
  if (LLVMGetDiagInfoSeverity(info) != LLVMDSError)
    return;
  char *msg = LLVMGetDiagInfoDescription(info);
  aotc_error(L->ctx, (ir_loc){0}, "LLVM: %s", msg ? msg : "an error without a description");
  LLVMDisposeMessage(msg);
}

emit_llvm *emit_llvm_new(aotc_ctx *ctx, const emit_llvm_options *opt)
{
  emit_llvm *L = calloc(1, sizeof *L);
  if (!L) {
    aotc_error(ctx, (ir_loc){0}, "out of memory in the LLVM backend");
    return NULL;
  }
  init_targets();
  L->ctx = ctx;
  L->opt = opt ? *opt : (emit_llvm_options){.opt_level = 2};
  L->tm = lw_target_machine(ctx, &L->opt);
  if (!L->tm) {
    free(L);
    return NULL;
  }
  L->vector_bits = vector_bits(&L->opt, L->tm);
  L->tsc = LLVMOrcCreateNewThreadSafeContext();
  L->c = LLVMOrcThreadSafeContextGetContext(L->tsc);
  LLVMContextSetDiagnosticHandler(L->c, diagnostic, L);
  L->m = LLVMModuleCreateWithNameInContext("aotc", L->c);
  char *triple = LLVMGetTargetMachineTriple(L->tm);
  LLVMSetTarget(L->m, triple);
  LLVMDisposeMessage(triple);
  L->td = LLVMCreateTargetDataLayout(L->tm);
  LLVMSetModuleDataLayout(L->m, L->td);
  init_types(L);
  return L;
}

/* $AOTC_LLVM_IR=FILE: the optimised module's text there;
 * $AOTC_LLVM_IR_RAW=FILE: the module before the pipeline (debugging). */
static void dump_ir(emit_llvm *L, const char *var)
{
  const char *path = getenv(var);
  char *err = NULL;
  if (path && *path && LLVMPrintModuleToFile(L->m, path, &err))
    aotc_warning(L->ctx, (ir_loc){0}, "AOTC_LLVM_IR: %s", err ? err : "cannot write");
  LLVMDisposeMessage(err);
}

bool lw_verify(emit_llvm *L)
{
  char *msg = NULL;
  bool bad = LLVMVerifyModule(L->m, LLVMReturnStatusAction, &msg);
  if (bad)
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: the module does not verify: %.2000s", msg ? msg : "");
  LLVMDisposeMessage(msg);
  return !bad;
}

/* The pipeline's settings (docs/llvm.md, "optimisation"): loop and SLP
 * vectorisation and interleaving on, unrolling off. */
static const struct {
  bool loop_vectorize, slp_vectorize, unroll, interleave;
} pipeline = {true, true, false, true};

/* "default<On>", the pass pipeline's text. */
static void passes_text(const emit_llvm *L, char *out, size_t cap)
{
  snprintf(out, cap, "default<O%d>", L->opt.opt_level > 3 ? 3 : L->opt.opt_level);
}

void lw_pipeline_name(const emit_llvm *L, char *out, size_t cap)
{
  char passes[32];
  passes_text(L, passes, sizeof passes);
  int n = snprintf(out, cap, "%s lv%d slp%d unroll%d il%d", passes, pipeline.loop_vectorize, pipeline.slp_vectorize,
                   pipeline.unroll, pipeline.interleave);
  for (int i = 1; i < N_LLVM_OPTIONS && n >= 0 && (size_t)n < cap; i++)
    n += snprintf(out + n, cap - (size_t)n, " %s", llvm_options[i]);
  if (L->vector_bits && n >= 0 && (size_t)n < cap)
    snprintf(out + n, cap - (size_t)n, " prefer-vector-width=%d", L->vector_bits);
}

/* Every function defined in m asks for the row's vector width (vector_bits). */
static void prefer_vector_width(const emit_llvm *L, LLVMModuleRef m)
{
  char bits[16];
  int n = snprintf(bits, sizeof bits, "%d", L->vector_bits);
  for (LLVMValueRef fn = LLVMGetFirstFunction(m); L->vector_bits && fn; fn = LLVMGetNextFunction(fn))
    if (!LLVMIsDeclaration(fn))
      LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(L->c, "prefer-vector-width", 19, bits, (unsigned)n));
}

bool lw_run_pipeline(emit_llvm *L, LLVMModuleRef m)
{
  char passes[32];
  passes_text(L, passes, sizeof passes);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(po, pipeline.loop_vectorize);
  LLVMPassBuilderOptionsSetSLPVectorization(po, pipeline.slp_vectorize);
  LLVMPassBuilderOptionsSetLoopUnrolling(po, pipeline.unroll);
  LLVMPassBuilderOptionsSetLoopInterleaving(po, pipeline.interleave);
  prefer_vector_width(L, m);
  LLVMErrorRef err = LLVMRunPasses(m, passes, L->tm, po);
  LLVMDisposePassBuilderOptions(po);
  return err ? lw_llvm_failed(L->ctx, err, "optimisation") : true;
}

/* Verifies, then runs default<On> on the module and on each micro-kernel
 * apart (llvm_split.c), linked back after. */
bool lw_optimise(emit_llvm *L)
{
  lw_ukr u[LW_MAX_UKR];
  dump_ir(L, "AOTC_LLVM_IR_RAW");
  if (!lw_verify(L))
    return false;
  if (L->opt.opt_level <= 0)
    return true;
  int n = lw_split_ukernels(L, false, u, LW_MAX_UKR);
  if (n < 0) {
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: cannot move the micro-kernels apart");
    return false;
  }
  bool ok = lw_run_pipeline(L, L->m);
  for (int i = 0; i < n; i++)
    ok = ok && lw_run_pipeline(L, u[i].m);
  ok = lw_link_ukernels(L, u, n) && ok;
  if (ok)
    dump_ir(L, "AOTC_LLVM_IR");
  return ok;
}

bool emit_llvm_write_object(emit_llvm *L, FILE *f, const char *name)
{
  char *err = NULL;
  LLVMMemoryBufferRef code = NULL;
  if (!L->m || !lw_optimise(L))
    return false;
  if (LLVMTargetMachineEmitToMemoryBuffer(L->tm, L->m, LLVMObjectFile, &err, &code)) {
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: cannot write '%s': %s", name, err ? err : "");
    LLVMDisposeMessage(err);
    return false;
  }
  size_t n = LLVMGetBufferSize(code);
  bool ok = fwrite(LLVMGetBufferStart(code), 1, n, f) == n;
  LLVMDisposeMemoryBuffer(code);
  if (!ok)
    aotc_error(L->ctx, (ir_loc){0}, "cannot write '%s'", name);
  return ok;
}

char *emit_llvm_ir_text(emit_llvm *L)
{
  return L->m ? LLVMPrintModuleToString(L->m) : NULL;
}

/* OpenMP's runtime (libgomp), which llvm_parallel.c's loops call: defined
 * in the JIT as this process's own functions (aotc links libgomp), so that
 * they resolve whether or not the dynamic symbol table exports them. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);

static bool add_openmp_symbols(aotc_ctx *ctx, LLVMOrcLLJITRef jit)
{
  static const struct {
    const char *name;
    void (*fn)(void);
  } rows[] = {
      {"GOMP_parallel", (void (*)(void))GOMP_parallel},
      {"omp_get_thread_num", (void (*)(void))omp_get_thread_num},
      {"omp_get_num_threads", (void (*)(void))omp_get_num_threads},
  };
  LLVMOrcCSymbolMapPair pairs[sizeof rows / sizeof rows[0]];
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, rows[i].name);
    pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)rows[i].fn;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    pairs[i].Sym.Flags.TargetFlags = 0;
  }
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, sizeof rows / sizeof rows[0]);
  LLVMErrorRef err = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
  return err ? lw_llvm_failed(ctx, err, "OpenMP's symbols") : true;
}

static bool add_process_symbols(aotc_ctx *ctx, LLVMOrcLLJITRef jit)
{
  if (!add_openmp_symbols(ctx, jit))
    return false;
  LLVMOrcDefinitionGeneratorRef gen;
  LLVMErrorRef err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(jit),
                                                                          NULL, NULL);
  if (err)
    return lw_llvm_failed(ctx, err, "process symbols");
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
  return true;
}

LLVMOrcLLJITRef lw_lljit(aotc_ctx *ctx, const emit_llvm_options *opt)
{
  LLVMTargetMachineRef tm = lw_target_machine(ctx, opt);
  LLVMOrcLLJITRef jit = NULL;
  if (!tm)
    return NULL;
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&jit, builder);
  if (err)
    return lw_llvm_failed(ctx, err, "LLJIT"), NULL;
  if (!add_process_symbols(ctx, jit)) {
    LLVMOrcDisposeLLJIT(jit);
    return NULL;
  }
  return jit;
}

bool emit_llvm_jit(emit_llvm *L)
{
  if (!L->m || !lw_optimise(L))
    return false;
  if (!(L->jit = lw_lljit(L->ctx, &L->opt)))
    return false;
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(L->m, L->tsc);
  L->m = NULL;
  LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModule(L->jit, LLVMOrcLLJITGetMainJITDylib(L->jit), tsm);
  if (err) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    return lw_llvm_failed(L->ctx, err, "adding the module");
  }
  return true;
}

void *emit_llvm_lookup(emit_llvm *L, const char *name)
{
  LLVMOrcExecutorAddress addr = 0;
  if (!L->jit) {
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: nothing compiled to look '%s' up in", name);
    return NULL;
  }
  LLVMErrorRef err = LLVMOrcLLJITLookup(L->jit, &addr, name);
  if (err) {
    lw_llvm_failed(L->ctx, err, name);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void emit_llvm_free(emit_llvm *L)
{
  if (!L)
    return;
  if (L->jit)
    LLVMOrcDisposeLLJIT(L->jit);
  if (L->m)
    LLVMDisposeModule(L->m);
  if (L->td)
    LLVMDisposeTargetData(L->td);
  if (L->tsc)
    LLVMOrcDisposeThreadSafeContext(L->tsc);
  if (L->tm)
    LLVMDisposeTargetMachine(L->tm);
  free(L);
}
