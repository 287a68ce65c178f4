/* ops_conv.h: what the convolution lowerings share (ops_conv.c and the fast
 * paths beside it: conv_grouped.c): the window geometry of one convolution
 * and the explicitly padded copy of its input. */
#ifndef AOTC_OPS_CONV_H
#define AOTC_OPS_CONV_H

#include "ops_internal.h"

typedef struct conv_geom {
  int nsp; /* spatial dimensions */
  int64_t in[IR_MAX_RANK], k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK];
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], out[IR_MAX_RANK];
} conv_geom;

/* x with its padding made explicit (a copy), or x itself without padding;
 * -1 on failure. */
int graph_conv_explicit_padding(ir_lower *L, int x, const conv_geom *cg);

/* y(n, k, ...) = rhs (+ Conv n's bias b(k) when it has one), one statement. */
bool graph_conv_store_biased(ir_lower *L, const ir_node *n, ir_expr *rhs, int y);
/* Whether Conv n (geometry cg) is a 2-D grouped convolution with more than
 * one input channel per group, in float32: conv_grouped.c lowers it. */
bool graph_conv_is_grouped(ir_lower *L, const ir_node *n, const conv_geom *cg);
/* Conv n from x into y as one packed product batched over the groups. */
bool graph_lower_conv_grouped(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg);

/* A window as one statement per kernel tap (window_taps.c): y starts at
 * the first tap that covers every output (plus `add` when not NULL: a
 * bias), else at `start` over every output (-inf, 0, the bias), and every
 * other tap reduces into it with red, reading x (or x times the depthwise
 * weights w(c, 0, tap...) when w >= 0) over the box of outputs whose tap
 * lies inside x: no padding is ever read. */
typedef struct graph_taps {
  int x, y, w;
  ir_reduction red;
  ir_expr *start, *add;
} graph_taps;
/* Whether the window is small enough for one statement per tap. */
bool graph_window_taps_fit(const conv_geom *cg);
bool graph_window_taps(ir_lower *L, const graph_taps *tp, const conv_geom *cg);

/* Conv n marked by the winograd pass, from x into y (winograd.c). */
bool graph_lower_conv_winograd(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg);

#endif
