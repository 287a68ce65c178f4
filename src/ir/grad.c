/* grad.c: reverse-mode autodiff as a pass on the IR (the design is in
 * grad.h). The forward statements are copied with versions (a tensor
 * overwritten in full gets a fresh temporary), the active tensors are found
 * by a forward sweep, and every statement, last to first, gets adjoint
 * statements built by grad_expr (grad_rules.c): plain ones where a read's
 * subscripts are distinct index variables, scatter-adds otherwise. */
#include "grad.h"

#include <string.h>

struct grad_builder {
  aotc_ctx *ctx;
  const ir_func *f;
  ir_func *g;
  ir_vec tensors, stmts;
  int *cur;        /* per tensor of f: the tensor of g holding its value now */
  int n_forward;   /* statements of g before the backward part */
  int cap;         /* entries of active, adjoint */
  bool *active;    /* per tensor of g: depends on an active input */
  int *adjoint;    /* per tensor of g: its adjoint, or -1 */
  const ir_stmt *s; /* the statement being differentiated */
};

static const ir_loc noloc;

/* ------------------------------------------------------------------------
 * Tensors and names
 * ------------------------------------------------------------------------ */

static ir_tensor *tensor_of(const grad_builder *b, int t)
{
  return (ir_tensor *)b->tensors.items[t];
}

static bool name_taken(const grad_builder *b, const char *name)
{
  for (int t = 0; t < b->tensors.n; t++)
    if (!strcmp(tensor_of(b, t)->name, name))
      return true;
  return false;
}

/* prefix + base + suffix, with _2, _3, ... until no tensor has it. */
const char *grad_fresh_name(grad_builder *b, const char *prefix, const char *base, const char *suffix)
{
  const char *name = ir_sprintf(b->ctx, "%s%s%s", prefix, base, suffix);
  for (int k = 2; name && name_taken(b, name); k++)
    name = ir_sprintf(b->ctx, "%s%s%s_%d", prefix, base, suffix, k);
  return name;
}

static bool grow_maps(grad_builder *b, int n)
{
  if (n <= b->cap)
    return true;
  int cap = 2 * n + 16;
  bool *active = IR_NEW_ARRAY(b->ctx, bool, cap);
  int *adjoint = IR_NEW_ARRAY(b->ctx, int, cap);
  if (!active || !adjoint)
    return false;
  for (int t = 0; t < cap; t++)
    adjoint[t] = -1;
  if (b->cap) {
    memcpy(active, b->active, sizeof(bool) * (size_t)b->cap);
    memcpy(adjoint, b->adjoint, sizeof(int) * (size_t)b->cap);
  }
  b->active = active;
  b->adjoint = adjoint;
  b->cap = cap;
  return true;
}

static int push_tensor(grad_builder *b, ir_tensor *x)
{
  if (!x || !grow_maps(b, b->tensors.n + 1) || !ir_vec_push(b->ctx, &b->tensors, x))
    return -1;
  b->g->tensors = (ir_tensor **)b->tensors.items;
  b->g->n_tensors = b->tensors.n;
  return b->tensors.n - 1;
}

int grad_add_tensor(grad_builder *b, const char *name, ir_type type, ir_role role, int rank,
                    ir_size *const *shape)
{
  ir_tensor *x = IR_NEW(b->ctx, ir_tensor);
  ir_size **sh = IR_NEW_ARRAY(b->ctx, ir_size *, rank);
  if (!x || !sh)
    return -1;
  for (int d = 0; d < rank; d++)
    sh[d] = shape[d];
  *x = (ir_tensor){.name = name, .type = type, .role = role, .rank = rank, .shape = sh};
  return push_tensor(b, x);
}

/* A tensor like t (shape, type), named prefix+name(t)+suffix. */
static int like(grad_builder *b, int t, const char *prefix, const char *suffix, ir_role role)
{
  const ir_tensor *x = tensor_of(b, t);
  const char *name = grad_fresh_name(b, prefix, x->name, suffix);
  return name ? grad_add_tensor(b, name, x->type, role, x->rank, x->shape) : -1;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

bool grad_add_stmt(grad_builder *b, ir_stmt *s)
{
  if (!s || !ir_vec_push(b->ctx, &b->stmts, s))
    return false;
  b->g->stmts = (ir_stmt **)b->stmts.items;
  b->g->n_stmts = b->stmts.n;
  return true;
}

static ir_stmt *new_stmt(grad_builder *b, int t, int n_index, ir_loc loc)
{
  ir_stmt *s = IR_NEW(b->ctx, ir_stmt);
  if (!s)
    return NULL;
  s->loc = loc;
  s->tensor = t;
  s->n_index = n_index;
  s->index = IR_NEW_ARRAY(b->ctx, ir_index, n_index);
  s->n_lhs = tensor_of(b, t)->rank;
  s->lhs = IR_NEW_ARRAY(b->ctx, int, s->n_lhs);
  return s->index && s->lhs ? s : NULL;
}

ir_stmt *grad_stmt_over(grad_builder *b, int t, int n_index, ir_size *const *extra_hi, ir_reduction red,
                        bool init)
{
  const ir_tensor *x = tensor_of(b, t);
  ir_stmt *s = new_stmt(b, t, n_index, noloc);
  for (int k = 0; s && k < n_index; k++) {
    bool r = k >= x->rank;
    s->index[k] = (ir_index){.name = ir_sprintf(b->ctx, r ? "r%d" : "i%d", r ? k - x->rank : k),
                             .lo = ir_size_const(b->ctx, 0), .hi = r ? extra_hi[k - x->rank] : x->shape[k],
                             .reduction = r};
    if (!r)
      s->lhs[k] = k;
  }
  if (s) {
    s->red = red;
    s->init = init;
  }
  return s;
}

/* t(i...) = 0 over the whole of t. */
static bool zero_fill(grad_builder *b, int t)
{
  ir_stmt *s = grad_stmt_over(b, t, tensor_of(b, t)->rank, NULL, IR_RED_NONE, false);
  if (!s)
    return false;
  s->rhs = grad_fconst(b->ctx, tensor_of(b, t)->type, 0, noloc);
  return s->rhs && grad_add_stmt(b, s);
}

/* ------------------------------------------------------------------------
 * Forward part: f's statements with versions
 * ------------------------------------------------------------------------ */

static bool index_covers(const ir_index *ix, const ir_size *dim)
{
  int64_t lo;
  return ir_size_is_const(ix->lo, &lo) && lo == 0 && ir_size_equal(ix->hi, dim);
}

/* Whether s writes every element of its tensor, dropping what was there. */
static bool overwrites_all(const ir_func *f, const ir_stmt *s)
{
  if (!ir_stmt_is_plain(s) || (s->red != IR_RED_NONE && !s->init))
    return false;
  const ir_tensor *x = f->tensors[s->tensor];
  for (int d = 0; d < s->n_lhs; d++)
    if (!index_covers(&s->index[s->lhs[d]], x->shape[d]))
      return false;
  return true;
}

static bool written_before(const ir_func *f, int k, int t)
{
  for (int j = 0; j < k; j++)
    if (f->stmts[j]->tensor == t)
      return true;
  return false;
}

static ir_stmt *copy_stmt(grad_builder *b, const ir_stmt *s, int written)
{
  ir_stmt *c = IR_NEW(b->ctx, ir_stmt);
  if (!c)
    return NULL;
  *c = *s;
  c->tensor = written;
  c->rhs = grad_clone(b->ctx, s->rhs, b->cur, NULL);
  if (!ir_stmt_is_plain(s)) {
    c->lhs_expr = IR_NEW_ARRAY(b->ctx, ir_expr *, s->n_lhs);
    for (int d = 0; c->lhs_expr && d < s->n_lhs; d++)
      c->lhs_expr[d] = grad_clone(b->ctx, s->lhs_expr[d], b->cur, NULL);
  }
  return c->rhs ? c : NULL;
}

/* Statement k of f into g: reads from the current versions; a full
 * overwrite of a tensor written before goes to a new version. */
static bool forward_stmt(grad_builder *b, int k)
{
  const ir_stmt *s = b->f->stmts[k];
  int t = s->tensor, written = b->cur[t];
  if (overwrites_all(b->f, s) && written_before(b->f, k, t)) {
    char suffix[24];
    snprintf(suffix, sizeof suffix, "_v%d", k);
    if ((written = like(b, b->cur[t], "", suffix, IR_TEMP)) < 0)
      return false;
  }
  ir_stmt *c = copy_stmt(b, s, written);
  b->cur[t] = written;
  return c && grad_add_stmt(b, c);
}

static bool copy_tensors(grad_builder *b)
{
  for (int t = 0; t < b->f->n_tensors; t++) {
    ir_tensor *x = IR_NEW(b->ctx, ir_tensor);
    if (!x)
      return false;
    *x = *b->f->tensors[t];
    if (x->role == IR_OUTPUT)
      x->role = IR_TEMP;
    if (x->role == IR_PARAMETER)
      x->role = IR_INPUT;
    if (push_tensor(b, x) != t)
      return false;
    b->cur[t] = t;
  }
  return true;
}

static void mark_inputs(grad_builder *b, const bool *active)
{
  const ir_func *f = b->f;
  for (int i = 0; i < f->n_inputs; i++) {
    int t = f->inputs[i];
    b->active[t] = active ? active[t] : ir_types[f->tensors[t]->type].is_float;
  }
}

/* A function whose copies the views pass removed reads through aliases its
 * statements do not show: its adjoint would miss those paths. */
static bool has_views(aotc_ctx *ctx, const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->view) {
      aotc_error(ctx, f->loc, "cannot differentiate '%s': '%s' is a view (the views pass ran); differentiate before it",
                 f->name, f->tensors[t]->name);
      return true;
    }
  return false;
}

grad_builder *grad_begin(aotc_ctx *ctx, const ir_func *f, const char *name, bool const *active)
{
  if (has_views(ctx, f))
    return NULL;
  grad_builder *b = IR_NEW(ctx, grad_builder);
  ir_func *g = IR_NEW(ctx, ir_func);
  if (!b || !g || !(b->cur = IR_NEW_ARRAY(ctx, int, f->n_tensors)))
    return NULL;
  *g = (ir_func){.name = name, .loc = f->loc, .n_params = f->n_params, .param_names = f->param_names};
  b->ctx = ctx;
  b->f = f;
  b->g = g;
  if (!copy_tensors(b))
    return NULL;
  mark_inputs(b, active);
  for (int k = 0; k < f->n_stmts; k++)
    if (!forward_stmt(b, k))
      return NULL;
  return b;
}

ir_func *grad_func_of(grad_builder *b)
{
  return b->g;
}

aotc_ctx *grad_ctx(grad_builder *b)
{
  return b->ctx;
}

int grad_final(const grad_builder *b, int t)
{
  return b->cur[t];
}

int grad_adjoint(const grad_builder *b, int t)
{
  return t >= 0 && t < b->cap ? b->adjoint[t] : -1;
}

/* ------------------------------------------------------------------------
 * Activity and the values the backward part reads
 * ------------------------------------------------------------------------ */

static bool reads_active(const grad_builder *b, const ir_expr *e)
{
  if (!e || !ir_types[e->type].is_float)
    return false;
  if (e->kind == IR_ACCESS)
    return b->active[e->tensor];
  for (int k = 0; k < e->n_args; k++)
    if (reads_active(b, e->args[k]))
      return true;
  return false;
}

static void sweep_activity(grad_builder *b)
{
  for (int k = 0; k < b->n_forward; k++) {
    const ir_stmt *s = b->g->stmts[k];
    if (ir_types[tensor_of(b, s->tensor)->type].is_float && reads_active(b, s->rhs))
      b->active[s->tensor] = true;
  }
}

static int later_writer(const grad_builder *b, int k, int t)
{
  for (int j = k + 1; j < b->n_forward; j++)
    if (b->g->stmts[j]->tensor == t)
      return j;
  return -1;
}

static bool reads_changed(grad_builder *b, int k, const ir_expr *e)
{
  if (e->kind == IR_ACCESS && b->active[e->tensor] && later_writer(b, k, e->tensor) >= 0) {
    aotc_error(b->ctx, e->loc, "cannot differentiate: '%s' is read here and changed in place later",
               tensor_of(b, e->tensor)->name);
    return true;
  }
  for (int a = 0; a < e->n_args; a++)
    if (reads_changed(b, k, e->args[a]))
      return true;
  return false;
}

/* The backward part reads the values each statement read; a statement
 * that reads what a later one changes (not a full overwrite, which got a
 * version) cannot be differentiated. max, min and * reductions read their
 * own result too. */
static bool check_values(grad_builder *b)
{
  for (int k = 0; k < b->n_forward; k++) {
    const ir_stmt *s = b->g->stmts[k];
    if (!b->active[s->tensor])
      continue;
    if (reads_changed(b, k, s->rhs))
      return false;
    if (ir_expr_reads(s->rhs, s->tensor)) {
      aotc_error(b->ctx, s->loc, "cannot differentiate: this statement reads '%s', which it updates in place",
                 tensor_of(b, s->tensor)->name);
      return false;
    }
    bool own = s->red == IR_RED_MAX || s->red == IR_RED_MIN || s->red == IR_RED_MUL;
    if (own && later_writer(b, k, s->tensor) >= 0) {
      aotc_error(b->ctx, s->loc, "cannot differentiate: the result of this reduction into '%s' is changed later",
                 tensor_of(b, s->tensor)->name);
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Adjoint statements
 * ------------------------------------------------------------------------ */

static bool adjoint_plain_ok(const ir_expr *a)
{
  if (a->padded)
    return false;
  for (int d = 0; d < a->n_args; d++) {
    if (a->args[d]->kind != IR_INDEX)
      return false;
    for (int e = 0; e < d; e++)
      if (a->args[e]->index == a->args[d]->index)
        return false;
  }
  return true;
}

/* dA(i...) += seed with the read's index variables first (plain form). */
static ir_stmt *adjoint_plain(grad_builder *b, const ir_expr *a, int dA, const ir_expr *seed)
{
  const ir_stmt *s = b->s;
  int *perm = IR_NEW_ARRAY(b->ctx, int, s->n_index), *inv = IR_NEW_ARRAY(b->ctx, int, s->n_index);
  ir_stmt *c = perm && inv ? new_stmt(b, dA, s->n_index, s->loc) : NULL;
  if (!c)
    return NULL;
  int n = 0;
  for (int d = 0; d < a->n_args; d++)
    perm[n++] = a->args[d]->index;
  for (int k = 0; k < s->n_index; k++)
    if (!ir_expr_uses_index(a, k))
      perm[n++] = k;
  for (int k = 0; k < s->n_index; k++) {
    inv[perm[k]] = k;
    c->index[k] = s->index[perm[k]];
    c->index[k].reduction = k >= a->n_args;
  }
  for (int d = 0; d < a->n_args; d++)
    c->lhs[d] = d;
  c->red = IR_RED_ADD;
  c->rhs = grad_clone(b->ctx, seed, NULL, inv);
  return c->rhs ? c : NULL;
}

static ir_expr *size_expr(grad_builder *b, ir_size *sz, ir_loc loc)
{
  ir_expr *e = ir_expr_new(b->ctx, IR_SIZE, IR_I64, loc, 0);
  if (e)
    e->size = sz;
  return e;
}

static ir_expr *int_const(grad_builder *b, int64_t v, ir_loc loc)
{
  ir_expr *e = ir_expr_new(b->ctx, IR_CONST_INT, IR_I64, loc, 0);
  if (e)
    e->ival = v;
  return e;
}

/* 0 <= x < n, and x clamped into [0, n-1]. */
static ir_expr *in_range(grad_builder *b, const ir_expr *x, ir_size *n)
{
  ir_expr *lo = grad_bin(b->ctx, IR_GE, grad_clone(b->ctx, x, NULL, NULL), int_const(b, 0, x->loc));
  ir_expr *hi = grad_bin(b->ctx, IR_LT, grad_clone(b->ctx, x, NULL, NULL), size_expr(b, n, x->loc));
  return grad_bin(b->ctx, IR_AND, lo, hi);
}

static ir_expr *clamp(grad_builder *b, const ir_expr *x, ir_size *n)
{
  ir_size *last = ir_size_bin(b->ctx, IR_SZ_SUB, n, ir_size_const(b->ctx, 1));
  ir_expr *hi = grad_call(b->ctx, IR_FN_MIN, IR_I64, grad_clone(b->ctx, x, NULL, NULL), size_expr(b, last, x->loc));
  return grad_call(b->ctx, IR_FN_MAX, IR_I64, hi, int_const(b, 0, x->loc));
}

static void mark_general_reductions(ir_stmt *c)
{
  for (int k = 0; k < c->n_index; k++) {
    bool on = false;
    for (int d = 0; d < c->n_lhs; d++)
      on |= ir_expr_uses_index(c->lhs_expr[d], k);
    c->index[k].reduction = !on;
  }
}

/* dA(I(p)) += seed (a scatter-add); a padded read clamps I and adds 0
 * where it was out of bounds. */
static ir_stmt *adjoint_general(grad_builder *b, const ir_expr *a, int dA, ir_expr *seed)
{
  const ir_stmt *s = b->s;
  const ir_tensor *x = tensor_of(b, dA);
  ir_stmt *c = new_stmt(b, dA, s->n_index, s->loc);
  if (!c || !(c->lhs_expr = IR_NEW_ARRAY(b->ctx, ir_expr *, a->n_args)))
    return NULL;
  c->lhs = NULL;
  memcpy(c->index, s->index, sizeof(ir_index) * (size_t)s->n_index);
  ir_expr *inside = NULL;
  for (int d = 0; d < a->n_args; d++) {
    c->lhs_expr[d] = a->padded ? clamp(b, a->args[d], x->shape[d]) : grad_clone(b->ctx, a->args[d], NULL, NULL);
    if (a->padded)
      inside = inside ? grad_bin(b->ctx, IR_AND, inside, in_range(b, a->args[d], x->shape[d]))
                      : in_range(b, a->args[d], x->shape[d]);
    if (!c->lhs_expr[d])
      return NULL;
  }
  mark_general_reductions(c);
  c->red = IR_RED_ADD;
  c->rhs = inside ? grad_select(b->ctx, inside, seed, grad_fconst(b->ctx, seed->type, 0, s->loc)) : seed;
  return c->rhs ? c : NULL;
}

static bool leaf_active(void *ud, const ir_expr *a)
{
  grad_builder *b = ud;
  return b->active[a->tensor] && b->adjoint[a->tensor] >= 0;
}

static bool leaf_stmt(void *ud, const ir_expr *a, ir_expr *seed)
{
  grad_builder *b = ud;
  int dA = b->adjoint[a->tensor];
  if (!seed)
    return false;
  ir_stmt *c = adjoint_plain_ok(a) ? adjoint_plain(b, a, dA, seed) : adjoint_general(b, a, dA, seed);
  return grad_add_stmt(b, c);
}

/* T(L(p)) as an expression of s's indices. */
static ir_expr *lhs_access(grad_builder *b, const ir_stmt *s, int t)
{
  ir_expr **args = IR_NEW_ARRAY(b->ctx, ir_expr *, s->n_lhs);
  for (int d = 0; args && d < s->n_lhs; d++)
    args[d] = ir_stmt_is_plain(s) ? grad_index(b->ctx, s->lhs[d], s->loc)
                                  : grad_clone(b->ctx, s->lhs_expr[d], NULL, NULL);
  return args ? grad_access(b->ctx, b->g, t, args, s->loc) : NULL;
}

/* The adjoint of one evaluation of the right-hand side: dT(L(p)), masked
 * to the points equal to a max or min, times T / rhs for a product. */
static ir_expr *rhs_seed(grad_builder *b, const ir_stmt *s)
{
  ir_expr *seed = lhs_access(b, s, b->adjoint[s->tensor]);
  ir_expr *rhs = grad_clone(b->ctx, s->rhs, NULL, NULL);
  if (s->red == IR_RED_MAX || s->red == IR_RED_MIN) {
    ir_expr *hit = grad_bin(b->ctx, IR_EQ, rhs, lhs_access(b, s, s->tensor));
    return grad_select(b->ctx, hit, seed, grad_fconst(b->ctx, seed ? seed->type : IR_F32, 0, s->loc));
  }
  if (s->red == IR_RED_MUL)
    return grad_bin(b->ctx, IR_DIV, grad_bin(b->ctx, IR_MUL, seed, lhs_access(b, s, s->tensor)), rhs);
  return seed;
}

static bool written_before_g(const grad_builder *b, int k, int t)
{
  for (int j = 0; j < k; j++)
    if (b->g->stmts[j]->tensor == t)
      return true;
  return false;
}

/* After an overwrite, what was there before has no adjoint: dT(L(p)) = 0
 * (plain: over the left-hand indices; general: dT(L(p)) *= 0). */
static bool zero_overwritten(grad_builder *b, const ir_stmt *s)
{
  int dT = b->adjoint[s->tensor];
  ir_expr *zero = grad_fconst(b->ctx, tensor_of(b, dT)->type, 0, s->loc);
  if (!ir_stmt_is_plain(s)) {
    ir_expr lhs = {.kind = IR_ACCESS, .n_args = s->n_lhs, .args = s->lhs_expr};
    ir_stmt *g = zero ? adjoint_general(b, &lhs, dT, zero) : NULL;
    if (g)
      g->red = IR_RED_MUL;
    return g && grad_add_stmt(b, g);
  }
  ir_stmt *c = new_stmt(b, dT, s->n_lhs, s->loc);
  if (!c)
    return false;
  for (int d = 0; d < s->n_lhs; d++) {
    c->index[d] = s->index[s->lhs[d]];
    c->index[d].reduction = false;
    c->lhs[d] = d;
  }
  c->rhs = zero;
  return c->rhs && grad_add_stmt(b, c);
}

static bool adjoint_of(grad_builder *b, int k)
{
  const ir_stmt *s = b->g->stmts[k];
  if (!b->active[s->tensor] || b->adjoint[s->tensor] < 0)
    return true;
  b->s = s;
  if (!grad_expr(b->ctx, s->rhs, rhs_seed(b, s), leaf_active, leaf_stmt, b))
    return false;
  bool overwrite = s->red == IR_RED_NONE || s->init;
  return !overwrite || !written_before_g(b, k, s->tensor) || zero_overwritten(b, s);
}

/* ------------------------------------------------------------------------
 * The backward part
 * ------------------------------------------------------------------------ */

static bool is_input(const grad_builder *b, int t)
{
  return t < b->f->n_tensors && (b->f->tensors[t]->role == IR_INPUT || b->f->tensors[t]->role == IR_PARAMETER);
}

/* Adjoints: the active inputs' first (in signature order), then the rest. */
static bool make_adjoints(grad_builder *b, bool inputs_out)
{
  for (int i = 0; i < b->f->n_inputs; i++) {
    int t = b->f->inputs[i];
    int d = b->active[t] ? like(b, t, "d_", "", inputs_out ? IR_OUTPUT : IR_TEMP) : -1;
    if (b->active[t] && d < 0)
      return false;
    b->adjoint[t] = d;
  }
  int n = b->tensors.n;
  for (int t = 0; t < n; t++) {
    if (!b->active[t] || is_input(b, t) || tensor_of(b, t)->role == IR_CONSTANT)
      continue;
    int d = like(b, t, "d_", "", IR_TEMP);
    if (d < 0)
      return false;
    b->adjoint[t] = d;
  }
  return true;
}

static ir_expr *seed_value(grad_builder *b, int src, ir_stmt *s)
{
  ir_expr **args = IR_NEW_ARRAY(b->ctx, ir_expr *, s->n_lhs);
  for (int d = 0; args && d < s->n_lhs; d++)
    args[d] = grad_index(b->ctx, d, noloc);
  return args ? grad_access(b->ctx, b->g, src, args, noloc) : NULL;
}

static ir_expr *one(grad_builder *b, int t, ir_stmt *s)
{
  (void)s;
  return grad_fconst(b->ctx, tensor_of(b, t)->type, 1, noloc);
}

static bool add_seed(grad_builder *b, int t, int value)
{
  int dT = b->adjoint[t];
  if (dT < 0)
    return true;
  ir_stmt *s = grad_stmt_over(b, dT, tensor_of(b, dT)->rank, NULL, IR_RED_ADD, false);
  if (!s)
    return false;
  s->rhs = value >= 0 ? seed_value(b, value, s) : one(b, dT, s);
  return s->rhs && grad_add_stmt(b, s);
}

bool grad_backward(grad_builder *b, const int *seed, const int *seed_value_t, int n_seeds, bool inputs_adjoint_out)
{
  b->n_forward = b->stmts.n;
  sweep_activity(b);
  if (!check_values(b) || !make_adjoints(b, inputs_adjoint_out))
    return false;
  for (int t = 0; t < b->tensors.n; t++)
    if (b->adjoint[t] >= 0 && !zero_fill(b, b->adjoint[t]))
      return false;
  for (int i = 0; i < n_seeds; i++)
    if (!add_seed(b, seed[i], seed_value_t[i]))
      return false;
  for (int k = b->n_forward - 1; k >= 0; k--)
    if (!adjoint_of(b, k))
      return false;
  return !b->ctx->oom;
}

/* ------------------------------------------------------------------------
 * Finishing: signature and operator groups
 * ------------------------------------------------------------------------ */

/* Per statement, the operator group partitioning fuses within: the forward
 * statements keep f's, every later statement is a group of its own. */
static bool set_origins(grad_builder *b)
{
  ir_func *g = b->g;
  const ir_func *f = b->f;
  if (!(g->stmt_origin = IR_NEW_ARRAY(b->ctx, int, g->n_stmts)))
    return false;
  int next = 0;
  for (int k = 0; k < g->n_stmts; k++) {
    bool fwd = k < f->n_stmts && f->stmt_origin;
    g->stmt_origin[k] = fwd ? f->stmt_origin[k] : next;
    next = g->stmt_origin[k] + 1;
  }
  return true;
}

static int *collect_role(grad_builder *b, ir_role role, int skip_below, int *n)
{
  int *list = IR_NEW_ARRAY(b->ctx, int, b->tensors.n);
  *n = 0;
  for (int t = skip_below; list && t < b->tensors.n; t++)
    if (tensor_of(b, t)->role == role)
      list[(*n)++] = t;
  return list;
}

ir_func *grad_finish(grad_builder *b)
{
  ir_func *g = b->g;
  int n_extra, n_out;
  int *extra = collect_role(b, IR_INPUT, b->f->n_tensors, &n_extra);
  int *outs = collect_role(b, IR_OUTPUT, 0, &n_out);
  g->inputs = IR_NEW_ARRAY(b->ctx, int, b->f->n_inputs + n_extra);
  if (!extra || !outs || !g->inputs || !set_origins(b))
    return NULL;
  memcpy(g->inputs, b->f->inputs, sizeof(int) * (size_t)b->f->n_inputs);
  memcpy(g->inputs + b->f->n_inputs, extra, sizeof(int) * (size_t)n_extra);
  g->n_inputs = b->f->n_inputs + n_extra;
  g->outputs = outs;
  g->n_outputs = n_out;
  return g;
}

/* The adjoint inputs d_Y of f's floating-point outputs. */
static bool add_output_seeds(grad_builder *b, int *seed, int *value, int *n)
{
  const ir_func *f = b->f;
  *n = 0;
  for (int i = 0; i < f->n_outputs; i++) {
    int y = f->outputs[i];
    if (!ir_types[f->tensors[y]->type].is_float)
      continue;
    seed[*n] = grad_final(b, y);
    value[*n] = like(b, y, "d_", "", IR_INPUT);
    if (value[(*n)++] < 0)
      return false;
  }
  return true;
}

ir_func *grad_func(aotc_ctx *ctx, const ir_func *f)
{
  const char *name = ir_sprintf(ctx, "%s_grad", f->name);
  grad_builder *b = name ? grad_begin(ctx, f, name, NULL) : NULL;
  int *seed = IR_NEW_ARRAY(ctx, int, f->n_outputs), *value = IR_NEW_ARRAY(ctx, int, f->n_outputs), n;
  if (!b || !seed || !value || !add_output_seeds(b, seed, value, &n))
    return NULL;
  if (!grad_backward(b, seed, value, n, true))
    return NULL;
  return grad_finish(b);
}
