/* parser.c: stub, to be replaced by its owner. */
#include "ir.h"

ir_module *tc_compile(aotc_ctx *ctx, const aotc_source *src) { aotc_error(ctx, (ir_loc){src, 1, 1}, "TC frontend not implemented"); return NULL; }
