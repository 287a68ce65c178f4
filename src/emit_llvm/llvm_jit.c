/* llvm_jit.c: the tuner's in-process compiler. A candidate's plan is
 * compiled to an object in memory (IR, the pipeline, code generation, with
 * a target machine of its own: safe on several threads at once, one
 * candidate per thread), then loaded into the one ORC LLJIT of the search
 * (made once, resolving the process's symbols) under names of its own,
 * with a resource tracker; its code is freed when dropped. Its
 * micro-kernels are compiled apart (llvm_split.c), each distinct one once
 * per search, and stay loaded for the candidates that call them. With a
 * cache directory (`aotc tune --llvm-cache DIR`) each of those objects is
 * also kept in DIR under the hash of what made it (its IR before the
 * pipeline, the target machine, the pipeline and its settings, LLVM's
 * version) and read from there instead of compiled again by later
 * searches. */
#include "llvm_priv.h"

#include <errno.h>
#include <limits.h>
#include <llvm/Config/llvm-config.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JIT_MAX_LIVE 4096
#define JIT_MAX_UKR 1024 /* micro-kernels and packing functions of a search */
#define CACHE_MAX_BYTES (64 << 20) /* a cached object larger than this is not read */
#define CACHE_FORMAT "aotc-llvm-cache-1" /* part of every key: a new format, new keys */

/* A micro-kernel (or packing function, pack_apart) of the search: compiled
 * by the first candidate that needs it, loaded before the first candidate
 * that calls it. */
typedef struct jit_ukr {
  char name[256];
  LLVMMemoryBufferRef code; /* compiled, not loaded yet */
  bool loaded;
} jit_ukr;

struct emit_llvm_session {
  aotc_ctx *ctx;
  emit_llvm_options opt;
  LLVMOrcLLJITRef jit;
  LLVMOrcResourceTrackerRef rt[JIT_MAX_LIVE];
  void *call[JIT_MAX_LIVE], *call_ws[JIT_MAX_LIVE];
  pthread_mutex_t lock; /* ukr, n_ukr and the cache counts, from the compiling threads */
  jit_ukr ukr[JIT_MAX_UKR];
  int n_ukr;
  char *cache_dir;      /* NULL: no cache */
  int n_cache_read, n_cache_written;
};

struct emit_llvm_object {
  char name[256];            /* the entry's name in the JIT */
  LLVMMemoryBufferRef code;  /* the ELF object; NULL once loaded */
};

/* The cache directory, made when missing (its parent must exist). */
static bool open_cache(aotc_ctx *ctx, emit_llvm_session *J, const char *dir)
{
  struct stat st;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    aotc_error(ctx, (ir_loc){0}, "--llvm-cache: cannot make the directory '%s': %s", dir, strerror(errno));
    return false;
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    aotc_error(ctx, (ir_loc){0}, "--llvm-cache: '%s' is not a directory", dir);
    return false;
  }
  if (!(J->cache_dir = strdup(dir))) {
    aotc_error(ctx, (ir_loc){0}, "out of memory in the LLVM backend");
    return false;
  }
  return true;
}

emit_llvm_session *emit_llvm_session_new(aotc_ctx *ctx, int opt_level, const char *cache_dir)
{
  emit_llvm_session *J = calloc(1, sizeof *J);
  if (!J) {
    aotc_error(ctx, (ir_loc){0}, "out of memory in the LLVM backend");
    return NULL;
  }
  J->ctx = ctx;
  J->opt = (emit_llvm_options){.opt_level = opt_level, .pack_apart = true};
  pthread_mutex_init(&J->lock, NULL);
  if ((cache_dir && !open_cache(ctx, J, cache_dir)) || !(J->jit = lw_lljit(ctx, &J->opt))) {
    emit_llvm_session_free(J);
    return NULL;
  }
  return J;
}

/* The slot for micro-kernel name when no candidate compiled it yet; -1
 * when one did (or is doing so); -2 when there is no room (the candidate
 * then keeps its own copy). */
static int claim_ukr(emit_llvm_session *J, const char *name)
{
  int slot = -2;
  pthread_mutex_lock(&J->lock);
  for (int i = 0; i < J->n_ukr && slot == -2; i++)
    slot = strcmp(J->ukr[i].name, name) ? -2 : -1;
  if (slot == -2 && J->n_ukr < JIT_MAX_UKR) {
    slot = J->n_ukr++;
    snprintf(J->ukr[slot].name, sizeof J->ukr[slot].name, "%.255s", name);
  }
  pthread_mutex_unlock(&J->lock);
  return slot;
}

static LLVMMemoryBufferRef to_object(emit_llvm *L, LLVMModuleRef m)
{
  LLVMMemoryBufferRef code = NULL;
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(L->tm, m, LLVMObjectFile, &err, &code)) {
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: code generation: %s", err ? err : "");
    code = NULL;
  }
  LLVMDisposeMessage(err);
  return code;
}

/* DIR/KEY.o for module m (before the pipeline) compiled by L's target
 * machine: two 64-bit hashes of the IR's text, the triple, CPU and
 * features, the pipeline with its settings and LLVM's options
 * (lw_pipeline_name), LLVM's version and the cache's format. */
static bool cache_path(const emit_llvm_session *J, emit_llvm *L, LLVMModuleRef m, char *path, size_t cap)
{
  char *ir = LLVMPrintModuleToString(m), *triple = LLVMGetTargetMachineTriple(L->tm);
  char *cpu = LLVMGetTargetMachineCPU(L->tm), *feat = LLVMGetTargetMachineFeatureString(L->tm);
  char passes[256];
  lw_pipeline_name(L, passes, sizeof passes);
  char *key = ir_sprintf(L->ctx, "%s\n;%s;%s;%s;%s;LLVM %s;%s", ir, triple, cpu, feat, passes, LLVM_VERSION_STRING,
                         CACHE_FORMAT);
  LLVMDisposeMessage(ir);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(feat);
  if (!key)
    return false;
  uint64_t h1 = ir_hash_str(key);
  char *salted = ir_sprintf(L->ctx, "%016llx:%s", (unsigned long long)h1, key);
  if (!salted)
    return false;
  int n = snprintf(path, cap, "%s/%016llx%016llx.o", J->cache_dir, (unsigned long long)h1,
                   (unsigned long long)ir_hash_str(salted));
  return n > 0 && (size_t)n < cap;
}

/* The object at path when it is one (an ELF file of a sane size), else NULL. */
static LLVMMemoryBufferRef cache_read(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  LLVMMemoryBufferRef code = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  char *bytes = n >= 4 && n <= CACHE_MAX_BYTES ? malloc((size_t)n) : NULL;
  if (bytes && fseek(f, 0, SEEK_SET) == 0 && fread(bytes, 1, (size_t)n, f) == (size_t)n && !memcmp(bytes, "\177ELF", 4))
    code = LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, (size_t)n, path);
  free(bytes);
  fclose(f);
  return code;
}

/* code written to path through a file of this thread's own, renamed: a
 * reader sees the whole object or none. */
static bool cache_write(const char *path, int slot, LLVMMemoryBufferRef code)
{
  char tmp[PATH_MAX + 64];
  snprintf(tmp, sizeof tmp, "%s.%ld.%d.tmp", path, (long)getpid(), slot);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return false;
  size_t n = LLVMGetBufferSize(code);
  bool ok = fwrite(LLVMGetBufferStart(code), 1, n, f) == n;
  ok = fclose(f) == 0 && ok;
  ok = ok && rename(tmp, path) == 0;
  if (!ok)
    remove(tmp);
  return ok;
}

static bool compile_ukr(emit_llvm_session *J, emit_llvm *L, int slot, LLVMModuleRef m)
{
  char path[PATH_MAX];
  bool cached = J->cache_dir && cache_path(J, L, m, path, sizeof path);
  LLVMMemoryBufferRef code = cached ? cache_read(path) : NULL;
  bool read = code != NULL, written = false;
  if (!code && (code = lw_run_pipeline(L, m) ? to_object(L, m) : NULL) && cached)
    written = cache_write(path, slot, code);
  pthread_mutex_lock(&J->lock);
  J->ukr[slot].code = code;
  J->n_cache_read += read;
  J->n_cache_written += written;
  pthread_mutex_unlock(&J->lock);
  LLVMDisposeModule(m);
  return code != NULL;
}

/* L's micro-kernels moved apart; those no candidate compiled before are
 * compiled for the session, those there is no room for linked back. */
static bool share_ukernels(emit_llvm_session *J, emit_llvm *L)
{
  lw_ukr u[LW_MAX_UKR];
  int n = lw_split_ukernels(L, true, u, LW_MAX_UKR), kept = 0;
  bool ok = n >= 0;
  for (int i = 0; i < n; i++) {
    int slot = ok ? claim_ukr(J, u[i].name) : -1;
    if (slot >= 0)
      ok = compile_ukr(J, L, slot, u[i].m);
    else if (slot == -2)
      u[kept++] = u[i];
    else
      LLVMDisposeModule(u[i].m);
  }
  return lw_link_ukernels(L, u, kept) && ok;
}

/* The plan's functions under the entry name `name`, optimised, as an object. */
static LLVMMemoryBufferRef compile(emit_llvm_session *J, const emit_plan *p, const char *name)
{
  emit_llvm *L = emit_llvm_new(p->ctx, &J->opt);
  emit_plan_fn *pf = &p->funcs[0];
  const char *saved = pf->name;
  pf->name = name;
  bool ok = L && emit_llvm_add_plan(L, p) && lw_verify(L) && share_ukernels(J, L) && lw_run_pipeline(L, L->m);
  pf->name = saved;
  LLVMMemoryBufferRef code = ok ? to_object(L, L->m) : NULL;
  emit_llvm_free(L);
  return code;
}

emit_llvm_object *emit_llvm_session_compile(emit_llvm_session *J, const emit_plan *p, int id)
{
  emit_llvm_object *o = calloc(1, sizeof *o);
  if (!o || p->n_funcs != 1) {
    aotc_error(p->ctx, (ir_loc){0}, "LLVM: a candidate of one function expected");
    free(o);
    return NULL;
  }
  snprintf(o->name, sizeof o->name, "%.200s__aotc_cand%d", p->funcs[0].name, id);
  if (!(o->code = compile(J, p, o->name))) {
    free(o);
    return NULL;
  }
  return o;
}

static int free_slot(const emit_llvm_session *J)
{
  for (int i = 0; i < JIT_MAX_LIVE; i++)
    if (!J->rt[i])
      return i;
  return -1;
}

static void *lookup(emit_llvm_session *J, const char *name, const char *suffix, char *msg, size_t cap)
{
  char sym[600];
  LLVMOrcExecutorAddress addr = 0;
  snprintf(sym, sizeof sym, "%s%s", name, suffix);
  LLVMErrorRef err = LLVMOrcLLJITLookup(J->jit, &addr, sym);
  if (err) {
    char *m = LLVMGetErrorMessage(err);
    snprintf(msg, cap, "LLVM: %s: %s", sym, m);
    LLVMDisposeErrorMessage(m);
  }
  return (void *)(uintptr_t)addr;
}

static void remove_code(LLVMOrcResourceTrackerRef rt)
{
  LLVMErrorRef err = LLVMOrcResourceTrackerRemove(rt);
  if (err)
    LLVMConsumeError(err);
  LLVMOrcReleaseResourceTracker(rt);
}

/* The micro-kernels compiled since the last load, added for good. */
static bool load_ukernels(emit_llvm_session *J, char *msg, size_t cap)
{
  LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(J->jit);
  for (int i = 0; i < J->n_ukr; i++) {
    if (J->ukr[i].loaded || !J->ukr[i].code)
      continue;
    LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(J->jit, main, J->ukr[i].code);
    J->ukr[i].code = NULL;
    J->ukr[i].loaded = true;
    if (err) {
      char *m = LLVMGetErrorMessage(err);
      snprintf(msg, cap, "LLVM: adding the micro-kernel %s: %s", J->ukr[i].name, m);
      LLVMDisposeErrorMessage(m);
      return false;
    }
  }
  return true;
}

int emit_llvm_session_load(emit_llvm_session *J, emit_llvm_object *o, void **call, void **call_ws, char *msg,
                           size_t cap)
{
  int slot = free_slot(J);
  if (!load_ukernels(J, msg, cap))
    return -1;
  *call = *call_ws = NULL;
  if (slot < 0 || !o->code) {
    snprintf(msg, cap, "LLVM: %s", slot < 0 ? "too many candidates loaded" : "loaded before");
    return -1;
  }
  LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(J->jit));
  LLVMErrorRef err = LLVMOrcLLJITAddObjectFileWithRT(J->jit, rt, o->code);
  o->code = NULL;
  if (err) {
    char *m = LLVMGetErrorMessage(err);
    snprintf(msg, cap, "LLVM: adding the object: %s", m);
    LLVMDisposeErrorMessage(m);
    LLVMOrcReleaseResourceTracker(rt);
    return -1;
  }
  *call = lookup(J, o->name, "_call", msg, cap);
  *call_ws = *call ? lookup(J, o->name, "_call_workspace_bytes", msg, cap) : NULL;
  if (!*call || !*call_ws) {
    remove_code(rt);
    return -1;
  }
  J->rt[slot] = rt;
  J->call[slot] = *call;
  J->call_ws[slot] = *call_ws;
  return slot;
}

bool emit_llvm_session_entry(const emit_llvm_session *J, int handle, void **call, void **call_ws)
{
  if (!J || handle < 0 || handle >= JIT_MAX_LIVE || !J->rt[handle])
    return false;
  *call = J->call[handle];
  *call_ws = J->call_ws[handle];
  return true;
}

void emit_llvm_session_shared(const emit_llvm_session *J, emit_llvm_shared *out)
{
  *out = (emit_llvm_shared){0};
  for (int i = 0; J && i < J->n_ukr; i++)
    ++*(strncmp(J->ukr[i].name, LW_PACK_PREFIX, strlen(LW_PACK_PREFIX)) ? &out->kernels : &out->packs);
  if (J) {
    out->cache_read = J->n_cache_read;
    out->cache_written = J->n_cache_written;
  }
}

void emit_llvm_object_free(emit_llvm_object *o)
{
  if (o && o->code)
    LLVMDisposeMemoryBuffer(o->code);
  free(o);
}

void emit_llvm_session_drop(emit_llvm_session *J, int handle)
{
  if (!J || handle < 0 || handle >= JIT_MAX_LIVE || !J->rt[handle])
    return;
  remove_code(J->rt[handle]);
  J->rt[handle] = NULL;
}

void emit_llvm_session_free(emit_llvm_session *J)
{
  if (!J)
    return;
  for (int i = 0; i < JIT_MAX_LIVE; i++)
    emit_llvm_session_drop(J, i);
  if (J->jit)
    LLVMOrcDisposeLLJIT(J->jit);
  for (int i = 0; i < J->n_ukr; i++)
    if (J->ukr[i].code)
      LLVMDisposeMemoryBuffer(J->ukr[i].code);
  pthread_mutex_destroy(&J->lock);
  free(J->cache_dir);
  free(J);
}
