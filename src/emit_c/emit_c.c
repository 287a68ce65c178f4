/* emit_c.c: stub, to be replaced by its owner. */
#include "ir.h"

bool emit_c_module(aotc_ctx *ctx, const ir_module *m, ir_func *const *funcs, int n_funcs, const emit_options *opt, FILE *c_out, FILE *h_out) { (void)m; (void)funcs; (void)n_funcs; (void)opt; (void)c_out; (void)h_out; aotc_error(ctx, (ir_loc){0}, "C backend not implemented"); return false; }
