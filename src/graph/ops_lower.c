/* ops_lower.c: the lowering state and the builders every lowering uses:
 * tensors for values and temporaries (named as C identifiers), expressions
 * and statements. */
#include "ops_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Lowering state and builders
 * ------------------------------------------------------------------------ */

ir_lower *ir_lower_new(ir_graph *g, const char *func_name)
{
  ir_lower *L = IR_NEW(g->ctx, ir_lower);
  if (!L)
    return NULL;
  L->ctx = g->ctx;
  L->g = g;
  L->name = func_name;
  L->tensor_of = IR_NEW_ARRAY(g->ctx, int, g->n_values);
  if (!L->tensor_of)
    return NULL;
  for (int k = 0; k < g->n_values; k++)
    L->tensor_of[k] = -1;
  return L;
}

/* A C identifier made from a model's name, unique among the tensors. */
static const char *tensor_name(ir_lower *L, const char *raw)
{
  return ir_c_name_unique(L->ctx, &L->names, raw);
}

static int add_tensor(ir_lower *L, const char *raw, ir_type type, int rank, const int64_t *shape, ir_role role)
{
  ir_tensor *t = IR_NEW(L->ctx, ir_tensor);
  if (!t)
    return -1;
  t->name = tensor_name(L, raw);
  t->type = type;
  t->role = role;
  t->rank = rank;
  t->loc = L->g->loc;
  t->shape = IR_NEW_ARRAY(L->ctx, ir_size *, rank);
  if (!t->name || !t->shape)
    return -1;
  for (int d = 0; d < rank; d++)
    if (!(t->shape[d] = ir_size_const(L->ctx, shape[d])))
      return -1;
  if (!ir_vec_push(L->ctx, &L->tensors, t))
    return -1;
  return L->tensors.n - 1;
}

/* An operand left out (an empty name) that the operator needs: an error, not a read at index -1. */
static int absent_operand(ir_lower *L)
{
  const ir_node *n = L->node;
  aotc_error(L->ctx, n ? n->loc : L->g->loc, "node '%s' (%s): an input or output it needs is absent (an empty name)",
             n ? n->name : "?", n ? (n->source_op ? n->source_op : graph_op_names[n->op]) : "?");
  return -1;
}

int ir_lower_tensor(ir_lower *L, int v, ir_role role)
{
  if (v < 0 || v >= L->g->n_values)
    return absent_operand(L);
  if (L->tensor_of[v] >= 0)
    return L->tensor_of[v];
  const ir_value *val = &L->g->values[v];
  if (role == IR_CONSTANT && ir_value_is_weight(L->g, v))
    role = IR_PARAMETER;
  int t = add_tensor(L, val->name, val->type, val->rank, val->shape, role);
  if (t < 0)
    return -1;
  if (role == IR_CONSTANT || role == IR_PARAMETER)
    ((ir_tensor *)L->tensors.items[t])->data = val->data;
  return L->tensor_of[v] = t;
}

int graph_lw_in(ir_lower *L, int v)
{
  if (v < 0 || v >= L->g->n_values)
    return absent_operand(L);
  const ir_value *val = &L->g->values[v];
  if (L->tensor_of[v] < 0 && !val->data && !val->is_input) {
    aotc_error(L->ctx, L->g->loc, "value '%s' is read before it is written", val->name);
    return -1;
  }
  return ir_lower_tensor(L, v, val->data ? IR_CONSTANT : IR_INPUT);
}

int graph_lw_out(ir_lower *L, int v)
{
  return ir_lower_tensor(L, v, IR_TEMP);
}

int graph_lw_temp(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape)
{
  const char *base = L->node && L->node->n_out > 0 && L->node->out[0] >= 0 ? L->g->values[L->node->out[0]].name : "tmp";
  return add_tensor(L, ir_sprintf(L->ctx, "%s_%s", base, suffix), type, rank, shape, IR_TEMP);
}

int graph_lw_const(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape, const void *data)
{
  int t = graph_lw_temp(L, suffix, type, rank, shape);
  if (t >= 0) {
    ((ir_tensor *)L->tensors.items[t])->role = IR_CONSTANT;
    ((ir_tensor *)L->tensors.items[t])->data = data;
  }
  return t;
}

const ir_tensor *graph_lw_tensor(ir_lower *L, int t)
{
  return L->tensors.items[t];
}

static ir_loc node_loc(ir_lower *L)
{
  return L->node ? L->node->loc : L->g->loc;
}

ir_expr *graph_ex_int(ir_lower *L, int64_t v)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_CONST_INT, IR_I64, node_loc(L), 0);
  if (e)
    e->ival = v;
  return e;
}

ir_expr *graph_ex_flt(ir_lower *L, double v, ir_type t)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_CONST_FLOAT, ir_types[t].is_float ? t : IR_F32, node_loc(L), 0);
  if (e)
    e->fval = v;
  return e;
}

ir_expr *graph_ex_idx(ir_lower *L, int k)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_INDEX, IR_I64, node_loc(L), 0);
  if (e)
    e->index = k;
  return e;
}

static bool is_logical(ir_op op)
{
  return op >= IR_LT && op <= IR_OR;
}

ir_expr *graph_ex_bin(ir_lower *L, ir_op op, ir_expr *a, ir_expr *b)
{
  if (!a || !b)
    return NULL;
  ir_type t = is_logical(op) ? IR_BOOL : ir_promote(a->type, b->type);
  ir_expr *e = ir_expr_new(L->ctx, IR_BINARY, t, node_loc(L), 2);
  if (!e)
    return NULL;
  e->op = op;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static ir_expr *unary_expr(ir_lower *L, ir_op op, ir_type t, ir_expr *a)
{
  if (!a)
    return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_UNARY, t, node_loc(L), 1);
  if (!e)
    return NULL;
  e->op = op;
  e->args[0] = a;
  return e;
}

ir_expr *graph_ex_neg(ir_lower *L, ir_expr *a)
{
  return a ? unary_expr(L, IR_NEG, a->type, a) : NULL;
}

ir_expr *graph_ex_not(ir_lower *L, ir_expr *a)
{
  return unary_expr(L, IR_NOT, IR_BOOL, a);
}

ir_expr *graph_ex_fn(ir_lower *L, ir_builtin fn, ir_type t, ir_expr *a, ir_expr *b)
{
  return ir_expr_call(L->ctx, fn, t, node_loc(L), a, b);
}

ir_expr *graph_ex_const(ir_lower *L, double v, ir_type t)
{
  return ir_types[t].is_float ? graph_ex_flt(L, v, t) : graph_ex_cast(L, t, graph_ex_int(L, ir_saturate_i64(v)));
}

ir_expr *graph_ex_call(ir_lower *L, ir_builtin fn, ir_expr *a, ir_expr *b)
{
  if (!a || (ir_builtins[fn].arity == 2 && !b))
    return NULL;
  return graph_ex_fn(L, fn, b ? ir_promote(a->type, b->type) : a->type, a, b);
}

ir_expr *graph_ex_sel(ir_lower *L, ir_expr *c, ir_expr *a, ir_expr *b)
{
  if (!c || !a || !b)
    return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_SELECT, ir_promote(a->type, b->type), node_loc(L), 3);
  if (!e)
    return NULL;
  e->args[0] = c;
  e->args[1] = a;
  e->args[2] = b;
  return e;
}

ir_expr *graph_ex_cast(ir_lower *L, ir_type t, ir_expr *a)
{
  if (!a)
    return NULL;
  if (a->type == t)
    return a;
  ir_expr *e = ir_expr_new(L->ctx, IR_CAST, t, node_loc(L), 1);
  if (e)
    e->args[0] = a;
  return e;
}

ir_expr *graph_ex_read(ir_lower *L, int tensor, ir_expr *const *idx, bool padded)
{
  if (tensor < 0)
    return NULL;
  const ir_tensor *t = graph_lw_tensor(L, tensor);
  for (int d = 0; d < t->rank; d++)
    if (!idx[d])
      return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_ACCESS, t->type, node_loc(L), t->rank);
  if (!e)
    return NULL;
  e->tensor = tensor;
  e->padded = padded;
  for (int d = 0; d < t->rank; d++)
    e->args[d] = idx[d];
  return e;
}

int64_t graph_lw_dim(ir_lower *L, int t, int d)
{
  int64_t v = 0;
  ir_size_is_const(graph_lw_tensor(L, t)->shape[d], &v);
  return v;
}

ir_expr *graph_ex_bcast(ir_lower *L, int t, int out_rank, int first)
{
  if (t < 0)
    return NULL;
  int r = graph_lw_tensor(L, t)->rank;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    idx[d] = graph_lw_dim(L, t, d) == 1 ? graph_ex_int(L, 0) : graph_ex_idx(L, first + d + out_rank - r);
  return graph_ex_read(L, t, idx, false);
}

ir_expr *graph_ex_at(ir_lower *L, int t, int first)
{
  if (t < 0)
    return NULL;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < graph_lw_tensor(L, t)->rank; d++)
    idx[d] = graph_ex_idx(L, first + d);
  return graph_ex_read(L, t, idx, false);
}

ir_expr *graph_ex_in_range(ir_lower *L, ir_expr *e, int64_t lo, int64_t hi)
{
  return graph_ex_bin(L, IR_AND, graph_ex_bin(L, IR_GE, e, graph_ex_int(L, lo)),
                      graph_ex_bin(L, IR_LT, e, graph_ex_int(L, hi)));
}

ir_stmt *graph_st_new(ir_lower *L, int t, int n_lhs, int n_red, const int64_t *hi)
{
  ir_stmt *s = IR_NEW(L->ctx, ir_stmt);
  if (!s || t < 0)
    return NULL;
  s->loc = node_loc(L);
  s->tensor = t;
  s->n_index = n_lhs + n_red;
  s->n_lhs = n_lhs;
  s->index = IR_NEW_ARRAY(L->ctx, ir_index, s->n_index);
  s->lhs = IR_NEW_ARRAY(L->ctx, int, n_lhs);
  if (!s->index || !s->lhs)
    return NULL;
  for (int k = 0; k < s->n_index; k++) {
    s->index[k].name = k < n_lhs ? ir_sprintf(L->ctx, "i%d", k) : ir_sprintf(L->ctx, "r%d", k - n_lhs);
    s->index[k].lo = ir_size_const(L->ctx, 0);
    s->index[k].hi = ir_size_const(L->ctx, hi[k]);
    s->index[k].reduction = k >= n_lhs;
    s->index[k].explicit_range = true;
  }
  for (int k = 0; k < n_lhs; k++)
    s->lhs[k] = k;
  return s;
}

void graph_st_range(ir_stmt *s, ir_lower *L, int k, int64_t lo, int64_t hi)
{
  if (!s)
    return;
  s->index[k].lo = ir_size_const(L->ctx, lo);
  s->index[k].hi = ir_size_const(L->ctx, hi);
}

bool graph_st_emit(ir_lower *L, ir_stmt *s, ir_reduction red, bool init, ir_expr *rhs)
{
  if (!s || !rhs) {
    aotc_error(L->ctx, node_loc(L), "out of memory while lowering");
    return false;
  }
  s->red = red;
  s->init = init;
  s->rhs = rhs;
  return ir_vec_push(L->ctx, &L->stmts, s);
}

bool graph_st_map(ir_lower *L, int t, ir_expr *rhs)
{
  if (t < 0)
    return false;
  const ir_tensor *ts = graph_lw_tensor(L, t);
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < ts->rank; d++)
    hi[d] = graph_lw_dim(L, t, d);
  return graph_st_emit(L, graph_st_new(L, t, ts->rank, 0, hi), IR_RED_NONE, false, rhs);
}

ir_func *ir_lower_finish(ir_lower *L)
{
  ir_func *f = IR_NEW(L->ctx, ir_func);
  if (!f || L->ctx->oom)
    return NULL;
  f->name = ir_strdup(L->ctx, L->name);
  f->loc = L->g->loc;
  f->n_tensors = L->tensors.n;
  f->tensors = (ir_tensor **)L->tensors.items;
  f->n_stmts = L->stmts.n;
  f->stmts = (ir_stmt **)L->stmts.items;
  f->body = graph_blocks_finish(L);
  f->inputs = IR_NEW_ARRAY(L->ctx, int, f->n_tensors);
  f->outputs = IR_NEW_ARRAY(L->ctx, int, f->n_tensors);
  if (!f->inputs || !f->outputs)
    return NULL;
  for (int t = 0; t < f->n_tensors; t++) {
    if (f->tensors[t]->role == IR_INPUT)
      f->inputs[f->n_inputs++] = t;
    if (f->tensors[t]->role == IR_OUTPUT)
      f->outputs[f->n_outputs++] = t;
  }
  for (int v = 0; v < L->g->n_values; v++)
    if (L->tensor_of[v] >= 0 && f->tensors[L->tensor_of[v]]->role == IR_PARAMETER)
      f->inputs[f->n_inputs++] = L->tensor_of[v];
  return f;
}

int ir_lower_copy_output(ir_lower *L, int v)
{
  int src = graph_lw_in(L, v);
  const ir_value *val = &L->g->values[v];
  int t = add_tensor(L, val->name, val->type, val->rank, val->shape, IR_OUTPUT);
  L->node = NULL;
  if (src < 0 || t < 0 || !graph_st_map(L, t, graph_ex_at(L, src, 0)))
    return -1;
  return t;
}
