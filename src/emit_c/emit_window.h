/* emit_window.h: small 2-D windows (depthwise convolutions, pools) as
 * recognised by emit_window.c, shared by the C printer's row and plane
 * kernels and the LLVM backend's masked sums (llvm_window.c). */
#ifndef AOTC_EMIT_WINDOW_H
#define AOTC_EMIT_WINDOW_H

#include "emit_print.h"

#define WIN_MAX_TAPS 64
#define WIN_MAX_STRIDE 4

typedef struct win_tap {
  const ir_stmt *s;
  int64_t off[2], lo[2], hi[2]; /* input row/column o * str + off, over outputs [lo, hi) */
  const ir_expr *w;             /* the factor (a depthwise weight), or NULL */
  int group;                    /* its row of taps */
} win_tap;

typedef struct win_kernel {
  const ir_func *f;
  int first, taps_end, end; /* the taps first..taps_end-1, then the pointwise statements */
  int x, y;                 /* the window's input, the tensor the taps write */
  ir_reduction red;         /* IR_RED_ADD or IR_RED_MAX */
  const ir_expr *start;     /* the first statement's value when it reads no tap, else NULL */
  const ir_expr *add;       /* the first tap's added term (a bias), or NULL */
  int64_t str[2], dim[4], in[2];
  int n_taps; /* tap[0] is the first statement when it reads a tap */
  win_tap tap[WIN_MAX_TAPS];
  int n_groups;
  bool plane;        /* printed as strips of padded planes (the plane kernel) */
  int64_t omin[2];   /* plane kernel: the smallest tap offset per dimension */
  int64_t umax[2];   /* plane kernel: the largest shift (offset - omin) / stride */
  int64_t q1, strip; /* plane kernel: the planes' row length, output rows per strip */
  int64_t lanes;     /* plane kernel: the sums run in whole vectors of this many floats */
  int64_t rows;      /* plane kernel: output rows summed in one pass (a multiple divides strip) */
  bool fused;        /* plane kernel: each pass's rows end (pointwise statements, stores) from its sums */
  bool phase[WIN_MAX_STRIDE][WIN_MAX_STRIDE]; /* plane kernel: the (row, column) phases the taps read */
  int n_phases;
  int cur; /* while printing: the pointwise statement being printed */
  int pool_end; /* statements end..pool_end-1: a global average pool of a stored tensor (SE), or end */
  int pool_src, pool_t; /* the tensor it sums, the pooled (batch, channel) tensor */
} win_kernel;

/* Whether kernel ek of pf (with the statements after it in its partition)
 * is a window, and its plan in *k (gpu: the target is CUDA's, never). */
bool emit_window_recognise(const ir_func *f, const emit_plan_fn *pf, const emit_kernel *ek, bool gpu, win_kernel *k);
/* Whether a window of the plane kernel sums by masked 16-lane loads of its
 * input (AVX-512, stride 1, a plane of at most WIN_MASKED_FLOATS outputs
 * whose rows are no whole number of vectors). */
bool emit_window_masked(const emit_plan_fn *pf, const win_kernel *k);
/* The lanes of vector v (flat outputs 16 v ... 16 v + 15) inside tap t's box. */
unsigned emit_window_tap_mask(const win_kernel *k, const win_tap *t, int64_t v);
/* Whether a statement of k before end writes tensor t. */
bool emit_window_written(const win_kernel *k, int t, int end);
/* Whether tensor t, written by the kernel, is read after it (or might be:
 * arguments, views, regions): it is stored. */
bool emit_window_stored(const win_kernel *k, int t);

#endif
