/* conv_grouped.c: grouped convolutions (ResNeXt, RegNet: groups > 1 with
 * several input channels per group) as one contraction batched over the
 * images and the groups, which the backend runs on the packed micro-kernel
 * path (sched_find_contraction: the group is a batch index of both
 * operands):
 *
 *   yg(n, g, m, oh, ow) +=! w(g * Mg + m, c, kh, kw) * xp(n, g * Cg + c, oh * s + kh * d, ow * s + kw * d)
 *   y(n, co, oh, ow) = yg(n, co / Mg, co % Mg, oh, ow) (+ b(co))
 *
 * yg has y's layout with the channel split into (group, member): its
 * left-hand side must be plain indices. The second statement, which also
 * adds the bias, is the pass over y that the bias took alone before. */
#include "ops_conv.h"

bool graph_conv_is_grouped(ir_lower *L, const ir_node *n, const conv_geom *cg)
{
  const ir_value *x = &L->g->values[n->in[0]], *w = &L->g->values[n->in[1]];
  int64_t groups = n->p.conv.groups;
  return cg->nsp == 2 && groups > 1 && x->type == IR_F32 && w->type == IR_F32 && w->shape[1] > 1;
}

/* The contraction into yg, the grouped output [N, G, Mg, OH, OW]. */
static bool grouped_product(ir_lower *L, int xp, int w, int yg, const conv_geom *cg)
{
  const ir_tensor *T = graph_lw_tensor(L, yg);
  int64_t mg = graph_lw_dim(L, yg, 2), cgrp = graph_lw_dim(L, w, 1);
  int64_t hi[8] = {graph_lw_dim(L, yg, 0), graph_lw_dim(L, yg, 1), mg, cg->out[0], cg->out[1], cgrp, cg->k[0], cg->k[1]};
  ir_expr *iw[4] = {graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 1), graph_ex_int(L, mg)),
                                 graph_ex_idx(L, 2)),
                    graph_ex_idx(L, 5), graph_ex_idx(L, 6), graph_ex_idx(L, 7)};
  ir_expr *ix[4] = {graph_ex_idx(L, 0), graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 1),
                                                                             graph_ex_int(L, cgrp)),
                                                      graph_ex_idx(L, 5))};
  for (int i = 0; i < 2; i++)
    ix[2 + i] = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 3 + i), graph_ex_int(L, cg->s[i])),
                             graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 6 + i), graph_ex_int(L, cg->d[i])));
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, graph_ex_read(L, w, iw, false), graph_ex_read(L, xp, ix, false));
  return T && graph_st_emit(L, graph_st_new(L, yg, 5, 3, hi), IR_RED_ADD, true, rhs);
}

/* y(n, co, oh, ow) = yg(n, co / Mg, co % Mg, oh, ow) (+ b(co)). */
static bool ungroup(ir_lower *L, const ir_node *n, int yg, int y)
{
  ir_expr *mg = graph_ex_int(L, graph_lw_dim(L, yg, 2));
  ir_expr *ig[5] = {graph_ex_idx(L, 0), graph_ex_bin(L, IR_DIV, graph_ex_idx(L, 1), mg),
                    graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 1), mg), graph_ex_idx(L, 2), graph_ex_idx(L, 3)};
  return graph_conv_store_biased(L, n, graph_ex_read(L, yg, ig, false), y);
}

bool graph_lower_conv_grouped(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  int w = graph_lw_in(L, n->in[1]), xp = graph_conv_explicit_padding(L, x, cg);
  if (w < 0 || xp < 0)
    return false;
  int64_t groups = n->p.conv.groups, m = graph_lw_dim(L, w, 0);
  int64_t shape[5] = {graph_lw_dim(L, y, 0), groups, m / groups, cg->out[0], cg->out[1]};
  int yg = graph_lw_temp(L, "groups", IR_F32, 5, shape);
  return yg >= 0 && grouped_product(L, xp, w, yg, cg) && ungroup(L, n, yg, y);
}
