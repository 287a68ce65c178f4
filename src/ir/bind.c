/* bind.c: stub, to be replaced by its owner. */
#include "ir.h"

bool ir_bind_sizes(aotc_ctx *ctx, const ir_func *f, const int64_t *const *shapes, const int *ranks, int64_t *sizes) { (void)ctx; (void)f; (void)shapes; (void)ranks; (void)sizes; return false; }
bool ir_tensor_shape(const ir_func *f, int t, const int64_t *sizes, int64_t *shape) { (void)f; (void)t; (void)sizes; (void)shape; return false; }
int64_t ir_tensor_numel(const ir_func *f, int t, const int64_t *sizes) { (void)f; (void)t; (void)sizes; return -1; }
