/* emit_llvm.h: the LLVM backend (docs/llvm.md). It walks the same plan as
 * the C printer (emit_plan.h: isl's ASTs, contractions, memory plan) and
 * builds LLVM IR through the LLVM C API instead of text, then writes an
 * object file for a triple or compiles the module in-process (ORC LLJIT).
 * The header of an object is the C path's (emit_plan_print with no source).
 * Built without LLVM (meson found no llvm-config-15), every function here
 * reports "aotc was built without LLVM" on the context and fails. */
#ifndef AOTC_EMIT_LLVM_H
#define AOTC_EMIT_LLVM_H

#include "ir.h"

#include <stdio.h>

struct emit_plan;

/* Where and how the code is generated. */
typedef struct emit_llvm_options {
  const char *triple;   /* target triple; NULL: this machine's */
  const char *cpu;      /* LLVM CPU name ("cortex-m4", "x86-64-v3"); NULL or "native": this machine's */
  const char *features; /* LLVM feature string ("+fp-armv8"); NULL: the CPU's */
  int opt_level;        /* 0..3 (the O2/O3 pipeline); 0: none */
  bool pack_apart;      /* each panel's packing a function aotc_ukr_packN of its own,
                         * shared between candidates (the tuner's session, llvm_jit.c) */
} emit_llvm_options;

typedef struct emit_llvm emit_llvm;

/* Whether this aotc was built with LLVM. */
bool emit_llvm_available(void);
/* A module to which plans are added; NULL (reported) on failure. */
emit_llvm *emit_llvm_new(aotc_ctx *ctx, const emit_llvm_options *opt);
/* The functions of a scheduled plan (emit_plan_ast done): each entry,
 * NAME_workspace_bytes, NAME_call and NAME_call_workspace_bytes. */
bool emit_llvm_add_plan(emit_llvm *L, const struct emit_plan *p);
/* Optimises the module and writes an ELF object to f (built in memory
 * first: f may be a pipe); name is f's for messages. */
bool emit_llvm_write_object(emit_llvm *L, FILE *f, const char *name);
/* Optimises the module and compiles it in-process; afterwards
 * emit_llvm_lookup finds its functions. The module is consumed. */
bool emit_llvm_jit(emit_llvm *L);
/* The address of a JIT-compiled function; NULL (reported) if absent. */
void *emit_llvm_lookup(emit_llvm *L, const char *name);
/* tune --backend llvm: candidates compiled in-process for this machine
 * (pipeline opt_level) and loaded into one ORC LLJIT, each kept until
 * dropped. cache_dir (made when missing; NULL: none): the shared functions'
 * objects kept there and read by later sessions (llvm_jit.c). */
typedef struct emit_llvm_session emit_llvm_session;
typedef struct emit_llvm_object emit_llvm_object;
emit_llvm_session *emit_llvm_session_new(aotc_ctx *ctx, int opt_level, const char *cache_dir);
/* The one function of plan p (emit_plan_ast done) compiled to an object
 * under a name of its own (id: unique in the session); NULL with the
 * reason on p's context. Several threads may compile at once, each its own
 * plan. */
emit_llvm_object *emit_llvm_session_compile(emit_llvm_session *J, const struct emit_plan *p, int id);
/* Loads o's code (o keeps its name, not its code); *call and *call_ws are its
 * NAME_call and NAME_call_workspace_bytes. Returns a handle for
 * emit_llvm_session_drop, or -1 with the reason in msg. */
int emit_llvm_session_load(emit_llvm_session *J, emit_llvm_object *o, void **call, void **call_ws, char *msg,
                           size_t cap);
/* The functions of a loaded candidate; false if none. */
bool emit_llvm_session_entry(const emit_llvm_session *J, int handle, void **call, void **call_ws);
void emit_llvm_object_free(emit_llvm_object *o);
/* The functions compiled once for the search and shared by its candidates:
 * micro-kernels and (pack_apart) packing functions; of both, those read
 * from the cache directory and those written to it. */
typedef struct emit_llvm_shared {
  int kernels, packs, cache_read, cache_written;
} emit_llvm_shared;
void emit_llvm_session_shared(const emit_llvm_session *J, emit_llvm_shared *out);
/* Frees the code of a loaded candidate. */
void emit_llvm_session_drop(emit_llvm_session *J, int handle);
void emit_llvm_session_free(emit_llvm_session *J);
/* The textual IR (for --dump-after=print and tests); NULL if none. */
char *emit_llvm_ir_text(emit_llvm *L);
void emit_llvm_free(emit_llvm *L);

#endif
