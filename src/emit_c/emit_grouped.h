/* emit_grouped.h: stride-1 grouped convolutions as a direct kernel
 * (emit_grouped.c), recognised apart from the C printer's state so that the
 * LLVM backend builds the same kernel (llvm_grouped.c). */
#ifndef AOTC_EMIT_GROUPED_H
#define AOTC_EMIT_GROUPED_H

#include "emit_print.h"

#define GRP_M 4          /* output channels of a pass */
#define GRP_Q 2          /* vectors of outputs of a pass */
#define GRP_MAX_INDEX 16  /* index variables of the statement (8 for a 2-D convolution) */
#define GRP_MAX_PLANE 2048 /* floats of an output channel's local plane (GRP_M of them: 32 KiB of stack) */

typedef struct grp_conv {
  int y, w, x;                  /* the tensors: output (5-D), weights, padded input */
  int64_t n, g, mg, oh, ow;     /* the output's dimensions */
  int64_t cg, kh, kw, d;        /* the channels of a group and the taps, the dilation */
  int64_t c, hp, wp;            /* the padded input's channels, rows and columns */
  int64_t lanes, len;           /* vector lanes, the sums of a plane: (OH - 1) * Wp + OW */
} grp_conv;

/* Whether kernel ek of pf is a stride-1 grouped convolution the direct
 * kernel takes (gpu: the target is CUDA's, never); its plan in *k. */
bool emit_grouped_recognise(const ir_func *f, const emit_plan_fn *pf, const emit_kernel *ek, bool gpu, grp_conv *k);

#endif
