/* llvm_driver.h: the command line's LLVM paths (llvm_driver.c). */
#ifndef AOTC_LLVM_DRIVER_H
#define AOTC_LLVM_DRIVER_H

#include "driver.h"
#include "emit_llvm.h"
#include "pipeline.h"

/* --emit obj: OUT.o for opt's triple and CPU, and OUT.h beside it; both
 * or neither. m has run up to select. */
bool driver_llvm_object(aotc_ctx *ctx, driver_module *m, const char *out, const emit_llvm_options *opt);
/* run --backend llvm: m's functions compiled in-process for this machine
 * (O3); NULL (reported) on failure. */
emit_llvm *driver_llvm_jit(aotc_ctx *ctx, driver_module *m);

#endif
