/* interp.c: stub, to be replaced by its owner. */
#include "ir.h"

int ir_interpret(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args) { (void)ctx; (void)f; (void)sizes; (void)args; return 1; }
