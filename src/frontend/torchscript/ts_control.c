/* ts_control.c: TorchScript control flow that depends on a tensor's value
 * (ts_graph.h): an `if` becomes the graph's if op, a `while` or a
 * `for i in range(n)` its loop op (graph.h: graph_if, graph_loop). Each
 * branch or loop body is run once at compile time into a subgraph of its
 * own (a scope): the tensors it reads from around it (variables,
 * parameters, constants) become the subgraph's inputs, captured in the
 * order it meets them. The variables a branch assigns and that are
 * defined after it become the if's outputs; the variables a loop body
 * assigns that exist before the loop are its carried values. Numbers that
 * differ between the branches, or that a loop changes, become 0-d
 * tensors. A branch that raises an exception (a check, torch._assert) is
 * taken to be one the inputs never take: the other runs unconditionally.
 * Conditions known at compile time never come here (ts_eval.c folds
 * them). */
#include "ts_graph.h"

#include <stdio.h>
#include <string.h>

#define MAX_NESTING 32 /* branches and loops inside one another */

struct ts_scope {
  ts_scope *outer;
  ir_graph *outer_g, *inner_g;
  ts_map outer_tensors, inner_tensors; /* archive tensors made in each graph */
  ts_map memo;                         /* an outer slot ("%p"): the value standing for it */
  int n_caps, cap;
  int *outer_v;   /* per captured input: the outer value */
  int *inner_v;   /* the input */
  ts_x **inner_x; /* the value standing for it inside (its slot may change in place) */
};

/* The node's outputs as they are collected: the value each subgraph
 * returns, and the slot that receives the node's output. */
typedef struct ts_outs {
  int n, cap;
  int *v[2];
  ts_slot **slot;
} ts_outs;

/* ------------------------------------------------------------------------
 * Scopes and captured values
 * ------------------------------------------------------------------------ */

static void enter(ts_interp *I, ts_scope *s)
{
  s->outer = I->scope;
  s->outer_g = I->g;
  s->outer_tensors = I->tensors;
  I->g = s->inner_g;
  I->tensors = s->inner_tensors;
  I->scope = s;
}

static void leave(ts_interp *I, ts_scope *s)
{
  s->inner_tensors = I->tensors;
  I->g = s->outer_g;
  I->tensors = s->outer_tensors;
  I->scope = s->outer;
}

static bool new_scope(ts_interp *I, ts_scope *s, const ts_node *at)
{
  int depth = 0;
  for (const ts_scope *o = I->scope; o; o = o->outer)
    depth++;
  *s = (ts_scope){0};
  if (depth >= MAX_NESTING) {
    ts_fail(I, at, "data-dependent branches and loops nested more than %d deep are not supported", MAX_NESTING);
    return false;
  }
  s->inner_g = ir_graph_new(I->ctx, at->loc);
  return s->inner_g != NULL;
}

static bool grow_caps(ts_interp *I, ts_scope *s)
{
  if (s->n_caps < s->cap)
    return true;
  int cap = s->cap ? 2 * s->cap : 8;
  int *ov = IR_NEW_ARRAY(I->ctx, int, cap), *iv = IR_NEW_ARRAY(I->ctx, int, cap);
  ts_x **ix = IR_NEW_ARRAY(I->ctx, ts_x *, cap);
  if (!ov || !iv || !ix)
    return false;
  if (s->n_caps) {
    memcpy(ov, s->outer_v, sizeof(int) * (size_t)s->n_caps);
    memcpy(iv, s->inner_v, sizeof(int) * (size_t)s->n_caps);
    memcpy(ix, s->inner_x, sizeof(ts_x *) * (size_t)s->n_caps);
  }
  s->outer_v = ov;
  s->inner_v = iv;
  s->inner_x = ix;
  s->cap = cap;
  return true;
}

static const char *slot_key(ts_interp *I, const ts_slot *t)
{
  return ir_sprintf(I->ctx, "%p", (const void *)t);
}

/* The value of s's subgraph standing for outer tensor o: a new input the
 * first time (a constant stays one inside). */
static ts_x *capture(ts_interp *I, ts_scope *s, ts_x *o)
{
  const char *key = slot_key(I, o->u.t);
  ts_x *x = key ? ts_map_get(&s->memo, key) : NULL;
  if (x || !key || !grow_caps(I, s))
    return x;
  const ir_value *ov = &s->outer_g->values[o->u.t->v];
  const char *name = ir_sprintf(I->ctx, "outer%d_%s", s->n_caps, ov->name ? ov->name : "v");
  int v = name ? graph_input(s->inner_g, name, ov->type, ov->rank, ov->shape) : -1;
  if (v < 0 || !(x = ts_tensor_x(I, v)) || !ts_map_put(I->ctx, &s->memo, key, x))
    return NULL;
  s->inner_g->values[v].data = s->outer_g->values[o->u.t->v].data;
  s->outer_v[s->n_caps] = o->u.t->v;
  s->inner_v[s->n_caps] = v;
  s->inner_x[s->n_caps++] = x;
  return x;
}

ts_x *ts_control_archive_tensor(ts_interp *I, const ts_tensor *t, const char *name, const ts_node *at)
{
  ts_scope *s = I->scope;
  leave(I, s);
  ts_x *o = ts_archive_tensor(I, t, name, at);
  enter(I, s);
  return o ? capture(I, s, o) : NULL;
}

/* Whether capture j of s was changed in place inside (its slot moved). */
static bool capture_changed(const ts_scope *s, int j)
{
  return s->inner_x[j]->u.t->v != s->inner_v[j];
}

static bool holds_tensor(const ts_x *x)
{
  if (x->kind == TS_X_TENSOR)
    return true;
  if (x->kind != TS_X_LIST && x->kind != TS_X_TUPLE && x->kind != TS_X_DICT)
    return false;
  for (int i = 0; i < x->u.seq.n; i++)
    if (holds_tensor(x->u.seq.items[i]))
      return true;
  return false;
}

/* Outer value x as seen inside s: its tensors captured. */
static ts_x *copy_in(ts_interp *I, ts_scope *s, ts_x *x)
{
  if (x->kind == TS_X_TENSOR)
    return capture(I, s, x);
  if (!holds_tensor(x))
    return x;
  ts_x *r = ts_seq_x(I, x->kind, x->u.seq.n);
  for (int i = 0; r && i < x->u.seq.n; i++)
    if (!(r->u.seq.items[i] = copy_in(I, s, x->u.seq.items[i])))
      return NULL;
  return r;
}

/* The frame inside s: f's variables, those holding tensors only when the
 * code names them (reads), none of those in skip. */
static bool copy_frame(ts_interp *I, ts_scope *s, const ts_frame *f, ts_frame *in, const ts_map *reads,
                       const ts_map *skip)
{
  for (int i = 0; i < f->vars.cap; i++) {
    const char *name = f->vars.keys[i];
    ts_x *x = name ? f->vars.values[i] : NULL;
    if (!x || (skip && ts_map_get(skip, name)) || (holds_tensor(x) && !ts_map_get(reads, name)))
      continue;
    if (!(x = copy_in(I, s, x)) || !ts_frame_set(I, in, name, x))
      return false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * What the code names (a syntactic pass over a body)
 * ------------------------------------------------------------------------ */

static bool names_in(ts_interp *I, ts_map *m, const ts_node *n);

static bool names_in_list(ts_interp *I, ts_map *m, const ts_node_list *l)
{
  for (int i = 0; i < l->n; i++)
    if (!names_in(I, m, l->items[i]))
      return false;
  return true;
}

/* Every name the code under n mentions. */
static bool names_in(ts_interp *I, ts_map *m, const ts_node *n)
{
  if (!n)
    return true;
  if (n->kind == TS_N_NAME && !ts_map_put(I->ctx, m, n->name, (void *)n))
    return false;
  return names_in(I, m, n->lhs) && names_in(I, m, n->rhs) && names_in(I, m, n->extra) &&
         names_in_list(I, m, &n->items) && names_in_list(I, m, &n->body) && names_in_list(I, m, &n->orelse);
}

/* The names a target (a name, tuple or list of names) binds. */
static bool target_names(ts_interp *I, ts_map *m, const ts_node *t)
{
  if (t->kind == TS_N_NAME)
    return ts_map_put(I->ctx, m, t->name, (void *)t);
  for (int i = 0; (t->kind == TS_N_TUPLE || t->kind == TS_N_LIST) && i < t->items.n; i++)
    if (!target_names(I, m, t->items.items[i]))
      return false;
  return true;
}

/* The receiver of an in-place call (`torch.add_(x, y)`, `x.relu_()`). */
static const ts_node *inplace_receiver(const ts_node *call)
{
  const ts_node *fn = call->lhs;
  if (fn->kind != TS_N_ATTR || !fn->name || fn->name[0] == '_' || fn->name[strlen(fn->name) - 1] != '_')
    return NULL;
  bool qualified = fn->lhs->kind == TS_N_NAME && (!strcmp(fn->lhs->name, "torch") || !strcmp(fn->lhs->name, "ops"));
  const ts_node *r = qualified || fn->lhs->kind == TS_N_ATTR ? (call->items.n ? call->items.items[0] : NULL) : fn->lhs;
  return r && r->kind == TS_N_NAME ? r : NULL;
}

static bool assigned_in(ts_interp *I, ts_map *m, const ts_node *n);

static bool assigned_in_list(ts_interp *I, ts_map *m, const ts_node_list *l)
{
  for (int i = 0; i < l->n; i++)
    if (!assigned_in(I, m, l->items[i]))
      return false;
  return true;
}

/* Every name the code under n binds or changes in place. */
static bool assigned_in(ts_interp *I, ts_map *m, const ts_node *n)
{
  if (!n || n->kind == TS_N_DEF || n->kind == TS_N_CLASS)
    return true;
  bool ok = true;
  bool binds = n->kind == TS_N_ASSIGN || n->kind == TS_N_AUGASSIGN || (n->kind == TS_N_ANNASSIGN && n->extra);
  for (int i = 0; binds && ok && i < n->items.n; i++)
    ok = target_names(I, m, n->items.items[i]);
  if (ok && n->kind == TS_N_FOR)
    ok = target_names(I, m, n->lhs);
  const ts_node *r = n->kind == TS_N_CALL ? inplace_receiver(n) : NULL;
  if (ok && r)
    ok = ts_map_put(I->ctx, m, r->name, (void *)r);
  return ok && assigned_in(I, m, n->lhs) && assigned_in(I, m, n->rhs) && assigned_in(I, m, n->extra) &&
         assigned_in_list(I, m, &n->items) && assigned_in_list(I, m, &n->body) &&
         assigned_in_list(I, m, &n->orelse);
}

/* A `return`, or a `break` or `continue` outside the loops inside: what a
 * data-dependent branch or body cannot hold. */
static const ts_node *jump_in(const ts_node_list *l, bool in_loop)
{
  for (int i = 0; i < l->n; i++) {
    const ts_node *s = l->items[i], *j = NULL;
    if (s->kind == TS_N_RETURN || (!in_loop && (s->kind == TS_N_BREAK || s->kind == TS_N_CONTINUE)))
      return s;
    if (s->kind == TS_N_IF || s->kind == TS_N_WITH)
      j = jump_in(&s->body, in_loop) ? jump_in(&s->body, in_loop) : jump_in(&s->orelse, in_loop);
    else if (s->kind == TS_N_FOR || s->kind == TS_N_WHILE)
      j = jump_in(&s->body, true);
    if (j)
      return j;
  }
  return NULL;
}

static const char *jump_name(const ts_node *j)
{
  return j->kind == TS_N_RETURN ? "return" : j->kind == TS_N_BREAK ? "break" : "continue";
}

static bool refuse_jumps(ts_interp *I, const ts_node *s, const char *what)
{
  const ts_node *j = jump_in(&s->body, false);
  if (!j && s->kind == TS_N_IF)
    j = jump_in(&s->orelse, false);
  if (j)
    ts_fail(I, j, "`%s` inside a data-dependent %s is not supported", jump_name(j), what);
  return !j;
}

/* ------------------------------------------------------------------------
 * Values made for the node
 * ------------------------------------------------------------------------ */

/* Shape inference of the node that made v, located at `at`. */
static int made(ts_interp *I, const ts_node *at, const char *op, int v)
{
  ts_x *x = ts_made(I, &(ts_call){.node = at, .op = op}, v);
  return x ? x->u.t->v : -1;
}

/* A 0-d tensor of type t holding number x, made inside s. */
static int number_tensor(ts_interp *I, ts_scope *s, const ts_x *x, ir_type t)
{
  double d = x->kind == TS_X_FLOAT ? x->u.f : x->kind == TS_X_INT ? (double)x->u.i : x->u.b;
  if (s)
    enter(I, s);
  int v = ts_scalar_const(I, t, d);
  if (s)
    leave(I, s);
  return v;
}

static bool is_number(const ts_x *x)
{
  return x->kind == TS_X_INT || x->kind == TS_X_FLOAT || x->kind == TS_X_BOOL;
}

/* The type a number takes as a tensor (as torch promotes Python numbers). */
static ir_type number_type(const ts_x *x)
{
  return x->kind == TS_X_FLOAT ? IR_F32 : x->kind == TS_X_BOOL ? IR_BOOL : IR_I64;
}

/* v as a subgraph output: a copy when it is an input, a constant or
 * already an output. */
static int output_value(ts_interp *I, ts_scope *s, int v, const ts_node *at)
{
  const ir_value *val = &s->inner_g->values[v];
  if (!val->is_input && !val->data && !val->is_output)
    return v;
  enter(I, s);
  int r = made(I, at, "copy", graph_unary(I->g, GRAPH_OP_IDENTITY, v));
  leave(I, s);
  return r;
}

static bool push_out(ts_interp *I, ts_outs *o, int v0, int v1, ts_slot *slot)
{
  if (o->n == o->cap) {
    int cap = o->cap ? 2 * o->cap : 8;
    int *a = IR_NEW_ARRAY(I->ctx, int, cap), *b = IR_NEW_ARRAY(I->ctx, int, cap);
    ts_slot **sl = IR_NEW_ARRAY(I->ctx, ts_slot *, cap);
    if (!a || !b || !sl)
      return false;
    if (o->n) {
      memcpy(a, o->v[0], sizeof(int) * (size_t)o->n);
      memcpy(b, o->v[1], sizeof(int) * (size_t)o->n);
      memcpy(sl, o->slot, sizeof(ts_slot *) * (size_t)o->n);
    }
    o->v[0] = a, o->v[1] = b, o->slot = sl, o->cap = cap;
  }
  o->v[0][o->n] = v0;
  o->v[1][o->n] = v1;
  o->slot[o->n++] = slot;
  return true;
}

/* The node's outputs given to the slots waiting for them. */
static void fill_slots(const ts_outs *o, const int *outs)
{
  for (int k = 0; k < o->n; k++)
    o->slot[k]->v = outs[k];
}

static const char *type_text(ts_interp *I, const ir_value *v)
{
  char buf[256] = "";
  size_t at = 0;
  for (int d = 0; d < v->rank && at < sizeof buf - 24; d++)
    at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%lld", d ? "," : "", (long long)v->shape[d]);
  return ir_sprintf(I->ctx, "%s[%s]", ir_types[v->type].name, buf);
}

static bool same_type_shape(const ir_value *a, const ir_value *b)
{
  return a->type == b->type && a->rank == b->rank && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank);
}

/* A one-element condition as a bool value of the current graph. */
static int condition(ts_interp *I, const ts_node *at, ts_x *c)
{
  const ir_value *v = &I->g->values[c->u.t->v];
  if (ir_value_numel(v) != 1) {
    ts_fail(I, at, "the condition is a tensor of %lld elements: its truth needs exactly one",
            (long long)ir_value_numel(v));
    return -1;
  }
  if (v->type == IR_BOOL)
    return c->u.t->v;
  return made(I, at, "bool", graph_cast(I->g, c->u.t->v, IR_BOOL));
}

ts_x *ts_control_scalar(ts_interp *I, const ts_call *c, ts_x *x, ir_type t)
{
  const ir_value *v = ts_value_of(I, x->u.t->v);
  int r = x->u.t->v;
  if (!v)
    return NULL;
  if (ir_value_numel(v) != 1)
    return ts_fail(I, c->node, "%s() of a tensor of %lld elements: it needs exactly one", c->op,
                   (long long)ir_value_numel(v));
  if (v->rank > 0)
    r = ts_reshape(I, c, r, 0, NULL);
  if (r >= 0 && I->g->values[r].type != t)
    r = made(I, c->node, c->op, graph_cast(I->g, r, t));
  return r >= 0 ? ts_tensor_x(I, r) : NULL;
}

/* ------------------------------------------------------------------------
 * if
 * ------------------------------------------------------------------------ */

typedef struct branch {
  ts_scope sc;
  ts_frame *f;
} branch;

/* What merging the branches' values of one variable needs. */
typedef struct merging {
  branch *b[2];
  ts_outs *outs;
  const char *name; /* the variable */
  const ts_node *at;
} merging;

static bool run_branch(ts_interp *I, const ts_frame *f, const ts_node *s, const ts_node_list *body, branch *b)
{
  ts_map reads = {0};
  if (!new_scope(I, &b->sc, s) || !(b->f = ts_frame_new(I)) || !names_in_list(I, &reads, body))
    return false;
  enter(I, &b->sc);
  bool ok = copy_frame(I, &b->sc, f, b->f, &reads, NULL) && ts_exec_list(I, b->f, body);
  leave(I, &b->sc);
  return ok;
}

/* The subgraph value of tensor x in branch m->b[k] (outer: x is a value
 * around the branch, captured now). */
static int branch_tensor(ts_interp *I, merging *m, int k, ts_x *x, bool outer)
{
  if (outer && !(x = capture(I, &m->b[k]->sc, x)))
    return -1;
  return x->u.t->v;
}

static ts_x *merge(ts_interp *I, merging *m, ts_x *const x[2], const bool outer[2]);

static const char *kind_name(const ts_x *x)
{
  switch (x->kind) {
  case TS_X_TENSOR: return "a tensor";
  case TS_X_NONE: return "None";
  case TS_X_BOOL:
  case TS_X_INT:
  case TS_X_FLOAT: return "a number";
  case TS_X_STR: return "a string";
  case TS_X_LIST: return "a list";
  case TS_X_TUPLE: return "a tuple";
  case TS_X_MODULE: return "a module";
  default: return "a value";
  }
}

/* The subgraph value of branch k's x: a tensor, or a number as a 0-d
 * tensor of type t (IR_TYPE_COUNT: the number's own). */
static int leaf_value(ts_interp *I, merging *m, int k, ts_x *x, bool outer, ir_type t)
{
  if (x->kind == TS_X_TENSOR)
    return branch_tensor(I, m, k, x, outer);
  return number_tensor(I, &m->b[k]->sc, x, t == IR_TYPE_COUNT ? number_type(x) : t);
}

/* Both values as tensors of the same type and shape (a number beside a
 * 0-d tensor becomes one of its type): one output. */
static ts_x *merge_tensors(ts_interp *I, merging *m, ts_x *const x[2], const bool outer[2])
{
  int v[2] = {-1, -1}, first = x[0]->kind == TS_X_TENSOR ? 0 : 1;
  if (!(x[0]->kind == TS_X_TENSOR || is_number(x[0])) || !(x[1]->kind == TS_X_TENSOR || is_number(x[1])))
    return ts_fail(I, m->at, "variable '%s' is %s in the then branch of this data-dependent `if` and %s in the else "
                   "branch: not supported", m->name, kind_name(x[0]), kind_name(x[1]));
  if ((v[first] = leaf_value(I, m, first, x[first], outer[first], IR_TYPE_COUNT)) < 0)
    return NULL;
  const ir_value *fv = &m->b[first]->sc.inner_g->values[v[first]];
  if (x[1 - first]->kind != TS_X_TENSOR && fv->rank != 0 && x[first]->kind == TS_X_TENSOR)
    return ts_fail(I, m->at, "variable '%s' is a tensor of rank %d in one branch of this data-dependent `if` and a "
                   "number in the other", m->name, fv->rank);
  if ((v[1 - first] = leaf_value(I, m, 1 - first, x[1 - first], outer[1 - first], fv->type)) < 0)
    return NULL;
  for (int k = 0; k < 2; k++)
    if ((v[k] = output_value(I, &m->b[k]->sc, v[k], m->at)) < 0)
      return NULL;
  const ir_value *t = &m->b[0]->sc.inner_g->values[v[0]], *e = &m->b[1]->sc.inner_g->values[v[1]];
  if (!same_type_shape(t, e))
    return ts_fail(I, m->at, "variable '%s' is %s in the then branch and %s in the else branch: the branches of a "
                   "data-dependent `if` must agree", m->name, type_text(I, t), type_text(I, e));
  ts_x *r = ts_tensor_x(I, 0);
  return r && push_out(I, m->outs, v[0], v[1], r->u.t) ? r : NULL;
}

static bool same_value(const ts_x *a, const ts_x *b)
{
  if (a == b)
    return true;
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case TS_X_NONE: return true;
  case TS_X_BOOL: return a->u.b == b->u.b;
  case TS_X_INT: return a->u.i == b->u.i;
  case TS_X_FLOAT: return a->u.f == b->u.f;
  case TS_X_STR: return !strcmp(a->u.s, b->u.s);
  case TS_X_MODULE: return a->u.m == b->u.m;
  case TS_X_FUNC: return a->u.def == b->u.def;
  default: return false;
  }
}

static ts_x *merge_seq(ts_interp *I, merging *m, ts_x *const x[2], const bool outer[2])
{
  ts_x *r = ts_seq_x(I, x[0]->kind, x[0]->u.seq.n);
  for (int i = 0; r && i < x[0]->u.seq.n; i++) {
    ts_x *items[2] = {x[0]->u.seq.items[i], x[1]->u.seq.items[i]};
    if (!(r->u.seq.items[i] = merge(I, m, items, outer)))
      return NULL;
  }
  return r;
}

/* The value of a variable after the branch, from its value in each. */
static ts_x *merge(ts_interp *I, merging *m, ts_x *const x[2], const bool outer[2])
{
  bool seqs = x[0]->kind == x[1]->kind && (x[0]->kind == TS_X_LIST || x[0]->kind == TS_X_TUPLE);
  if (seqs && x[0]->u.seq.n == x[1]->u.seq.n)
    return merge_seq(I, m, x, outer);
  if (x[0]->kind == TS_X_TENSOR || x[1]->kind == TS_X_TENSOR)
    return merge_tensors(I, m, x, outer);
  if (same_value(x[0], x[1]))
    return x[0];
  if (is_number(x[0]) && is_number(x[1]))
    return merge_tensors(I, m, x, outer);
  return ts_fail(I, m->at, "variable '%s' is %s in the then branch of this data-dependent `if` and %s in the else "
                 "branch: only tensors and numbers may differ", m->name, kind_name(x[0]), kind_name(x[1]));
}

/* Variable `name` in branch b: its own value, else (*outer) the one before. */
static ts_x *branch_var(const branch *b, const ts_frame *f, const char *name, bool *outer)
{
  ts_x *x = ts_map_get(&b->f->vars, name);
  *outer = !x;
  return x ? x : ts_map_get(&f->vars, name);
}

/* The capture of tensor o in b, when b captured it. */
static int capture_of(ts_interp *I, const branch *b, const ts_x *o, const ts_x *x)
{
  const char *key = slot_key(I, o->u.t);
  if (!key || ts_map_get(&b->sc.memo, key) != x)
    return -1;
  for (int j = 0; j < b->sc.n_caps; j++)
    if (b->sc.inner_x[j] == x)
      return j;
  return -1;
}

/* Whether b leaves the variable (o before the branch) as it was. */
static bool left_alone(ts_interp *I, const branch *b, const ts_x *o, const ts_x *x, bool outer)
{
  if (outer || x == o)
    return true;
  int j = o && o->kind == TS_X_TENSOR ? capture_of(I, b, o, x) : -1;
  return j >= 0 && !capture_changed(&b->sc, j);
}

/* Whether b only changes tensor o in place (or leaves it alone). */
static bool in_place_only(ts_interp *I, const branch *b, const ts_x *o, const ts_x *x, bool outer)
{
  return outer || (o && o->kind == TS_X_TENSOR && capture_of(I, b, o, x) >= 0);
}

/* Variable `name` after the branches: unchanged, its slot updated in
 * place (every alias sees it), or bound to the merged value. */
static bool merge_var(ts_interp *I, ts_frame *f, merging *m, const char *name)
{
  bool outer[2];
  ts_x *x[2] = {branch_var(m->b[0], f, name, &outer[0]), branch_var(m->b[1], f, name, &outer[1])};
  ts_x *o = ts_map_get(&f->vars, name);
  if (!x[0] || !x[1])
    return true;
  if (left_alone(I, m->b[0], o, x[0], outer[0]) && left_alone(I, m->b[1], o, x[1], outer[1]))
    return true;
  m->name = name;
  if (in_place_only(I, m->b[0], o, x[0], outer[0]) && in_place_only(I, m->b[1], o, x[1], outer[1])) {
    int n = m->outs->n;
    ts_x *r = merge_tensors(I, m, x, outer);
    if (r)
      m->outs->slot[n] = o->u.t;
    return r != NULL;
  }
  ts_x *r = merge(I, m, x, outer);
  return r && ts_frame_set(I, f, name, r);
}

static bool merge_frames(ts_interp *I, ts_frame *f, merging *m)
{
  for (int k = 0; k < 2; k++) {
    const ts_map *vars = &m->b[k]->f->vars;
    for (int i = 0; i < vars->cap; i++) {
      const char *name = vars->keys[i];
      if (name && (k == 0 || !ts_map_get(&m->b[0]->f->vars, name)) && !merge_var(I, f, m, name))
        return false;
    }
  }
  return true;
}

static bool graph_outputs(ts_scope *s, const int *v, int n)
{
  for (int k = 0; k < n; k++)
    if (!graph_output(s->inner_g, v[k]))
      return false;
  return true;
}

/* Shape inference of the node whose first output is first_out, located
 * at s and named after op. */
static bool finish_node(ts_interp *I, const ts_node *s, const char *op, int first_out)
{
  ir_node *n = first_out >= 0 ? &I->g->nodes[I->g->values[first_out].producer] : NULL;
  if (!n)
    return false;
  n->loc = s->loc;
  n->source_op = op;
  return graph_op_infer(I->g, n);
}

/* Whether statements raise an exception (`raise`,
 * `ops.prim.RaiseException(...)`, what torch._assert becomes). */
static bool raises(const ts_node_list *body)
{
  for (int i = 0; i < body->n; i++) {
    const ts_node *s = body->items[i], *fn = s->kind == TS_N_EXPR_STMT && s->lhs->kind == TS_N_CALL ? s->lhs->lhs : NULL;
    bool raise_call = fn && fn->kind == TS_N_ATTR && !strcmp(fn->name, "RaiseException") && fn->lhs->kind == TS_N_ATTR &&
                      !strcmp(fn->lhs->name, "prim");
    if (s->kind == TS_N_RAISE || raise_call)
      return true;
  }
  return false;
}

bool ts_control_if(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *c)
{
  bool r0 = raises(&s->body), r1 = raises(&s->orelse);
  if (r0 != r1)
    return ts_exec_list(I, f, r0 ? &s->orelse : &s->body);
  branch b[2];
  ts_outs outs = {0};
  merging m = {.b = {&b[0], &b[1]}, .outs = &outs, .at = s};
  int cond = refuse_jumps(I, s, "`if`") ? condition(I, s, c) : -1;
  if (cond < 0 || !run_branch(I, f, s, &s->body, &b[0]) || !run_branch(I, f, s, &s->orelse, &b[1]) ||
      !merge_frames(I, f, &m))
    return false;
  if (!outs.n)
    return true;
  int *node_outs = IR_NEW_ARRAY(I->ctx, int, outs.n);
  if (!node_outs || !graph_outputs(&b[0].sc, outs.v[0], outs.n) || !graph_outputs(&b[1].sc, outs.v[1], outs.n))
    return false;
  int first = graph_if(I->g, cond, b[0].sc.inner_g, b[0].sc.outer_v, b[1].sc.inner_g, b[1].sc.outer_v, node_outs);
  if (!finish_node(I, s, "if", first))
    return false;
  fill_slots(&outs, node_outs);
  return true;
}

/* ------------------------------------------------------------------------
 * Loops
 * ------------------------------------------------------------------------ */

typedef struct loop {
  const ts_node *s;
  ts_scope sc;
  ts_frame *f;         /* the body's frame */
  ts_map carried_map;  /* carried names */
  const char **names;  /* the carried variables */
  ts_x **init;         /* their values before the loop */
  ts_x **in;           /* the body inputs standing for them */
  int n, cap;
} loop;

static bool add_carried(ts_interp *I, loop *L, const char *name, ts_x *x)
{
  if (L->n == L->cap) {
    int cap = L->cap ? 2 * L->cap : 8;
    const char **names = IR_NEW_ARRAY(I->ctx, const char *, cap);
    ts_x **init = IR_NEW_ARRAY(I->ctx, ts_x *, cap);
    if (!names || !init)
      return false;
    if (L->n) {
      memcpy(names, L->names, sizeof(const char *) * (size_t)L->n);
      memcpy(init, L->init, sizeof(ts_x *) * (size_t)L->n);
    }
    L->names = names, L->init = init, L->cap = cap;
  }
  L->names[L->n] = name;
  L->init[L->n++] = x;
  return ts_map_put(I->ctx, &L->carried_map, name, x);
}

/* The carried values: the tensors and numbers defined before the loop
 * that its body assigns (the loop's own target aside). */
static bool find_carried(ts_interp *I, const ts_frame *f, loop *L)
{
  ts_map assigned = {0};
  if (!assigned_in_list(I, &assigned, &L->s->body))
    return false;
  for (int i = 0; i < assigned.cap; i++) {
    const char *name = assigned.keys[i];
    ts_x *x = name ? ts_map_get(&f->vars, name) : NULL;
    if (!x)
      continue;
    bool target = L->s->kind == TS_N_FOR && L->s->lhs->kind == TS_N_NAME && !strcmp(L->s->lhs->name, name);
    if (x && !target && (x->kind == TS_X_TENSOR || is_number(x)) && !add_carried(I, L, name, x))
      return false;
  }
  return true;
}

/* The body's inputs: iteration number, condition, carried values. */
static bool body_inputs(ts_interp *I, loop *L, ts_x **iter)
{
  ir_graph *g = L->sc.inner_g;
  int it = graph_input(g, "iteration", IR_I64, 0, NULL), cond = graph_input(g, "condition", IR_BOOL, 0, NULL);
  L->in = IR_NEW_ARRAY(I->ctx, ts_x *, L->n + 1);
  if (it < 0 || cond < 0 || !L->in || !(*iter = ts_tensor_x(I, it)))
    return false;
  for (int k = 0; k < L->n; k++) {
    const ts_x *x = L->init[k];
    const ir_value *o = x->kind == TS_X_TENSOR ? &L->sc.outer_g->values[x->u.t->v] : NULL;
    ir_value num = {.type = is_number(x) ? number_type(x) : IR_F32, .rank = 0};
    if (!o)
      o = &num;
    int v = graph_input(g, ir_sprintf(I->ctx, "carried_%s", L->names[k]), o->type, o->rank, o->shape);
    if (v < 0 || !(L->in[k] = ts_tensor_x(I, v)) || !ts_frame_set(I, L->f, L->names[k], L->in[k]))
      return false;
  }
  return true;
}

/* The next condition: the `while` condition evaluated after the body, or
 * (`for`) the condition input passed on. */
static int next_condition(ts_interp *I, loop *L)
{
  const ts_node *s = L->s;
  if (s->kind == TS_N_FOR)
    return made(I, s, "copy", graph_unary(I->g, GRAPH_OP_IDENTITY, I->g->inputs[1]));
  ts_x *c = ts_eval(I, L->f, s->rhs);
  if (!c)
    return -1;
  if (c->kind == TS_X_TENSOR)
    return condition(I, s, c);
  if (!is_number(c)) {
    ts_fail(I, s, "the condition of this data-dependent `while` is not a number or a tensor after the body");
    return -1;
  }
  return made(I, s, "copy", graph_unary(I->g, GRAPH_OP_IDENTITY, number_tensor(I, NULL, c, IR_BOOL)));
}

/* Carried value k after the body, as a value of the input's type. */
static int carried_out(ts_interp *I, loop *L, int k)
{
  ts_x *x = ts_map_get(&L->f->vars, L->names[k]);
  const ir_value *in = &I->g->values[L->in[k]->u.t->v];
  ir_type t = in->type;
  int v = x && x->kind == TS_X_TENSOR ? x->u.t->v : x && is_number(x) ? number_tensor(I, NULL, x, t) : -1;
  if (v < 0) {
    ts_fail(I, L->s, "variable '%s' is not a tensor or a number after the body of this data-dependent loop",
            L->names[k]);
    return -1;
  }
  if (I->g->values[v].type != t)
    v = made(I, L->s, "cast", graph_cast(I->g, v, t));
  in = &I->g->values[L->in[k]->u.t->v];
  if (v >= 0 && !same_type_shape(in, &I->g->values[v])) {
    ts_fail(I, L->s, "variable '%s' enters this data-dependent loop as %s and leaves its body as %s: it must keep "
            "its type and shape", L->names[k], type_text(I, in), type_text(I, &I->g->values[v]));
    return -1;
  }
  return v;
}

/* The body's outputs: the next condition, then the carried values. */
static bool body_outputs(ts_interp *I, loop *L)
{
  int c = next_condition(I, L);
  if (c < 0 || !graph_output(I->g, c))
    return false;
  for (int k = 0; k < L->n; k++) {
    int v = carried_out(I, L, k);
    leave(I, &L->sc);
    v = v >= 0 ? output_value(I, &L->sc, v, L->s) : -1;
    enter(I, &L->sc);
    if (v < 0 || !graph_output(I->g, v))
      return false;
  }
  return true;
}

/* Values from around the loop that its body changed in place. */
static bool refuse_changed_captures(ts_interp *I, loop *L)
{
  for (int j = 0; j < L->sc.n_caps; j++)
    if (capture_changed(&L->sc, j)) {
      ts_fail(I, L->s, "a tensor from before this data-dependent loop (not assigned in its body) is changed in "
              "place inside it: not supported");
      return false;
    }
  return true;
}

static bool run_body(ts_interp *I, const ts_frame *f, loop *L)
{
  ts_map reads = {0};
  ts_x *iter = NULL;
  if (!new_scope(I, &L->sc, L->s) || !(L->f = ts_frame_new(I)) || !names_in_list(I, &reads, &L->s->body) ||
      !names_in(I, &reads, L->s->kind == TS_N_WHILE ? L->s->rhs : NULL))
    return false;
  enter(I, &L->sc);
  bool ok = body_inputs(I, L, &iter) && copy_frame(I, &L->sc, f, L->f, &reads, &L->carried_map);
  if (ok && L->s->kind == TS_N_FOR)
    ok = L->s->lhs->kind == TS_N_NAME ? ts_frame_set(I, L->f, L->s->lhs->name, iter)
                                      : (ts_fail(I, L->s->lhs, "a data-dependent `for` loop needs one name as its target"), false);
  ok = ok && ts_exec_list(I, L->f, &L->s->body) && body_outputs(I, L) && refuse_changed_captures(I, L);
  leave(I, &L->sc);
  return ok;
}

/* The carried values' initial values as values of the graph around. */
static int *initial_values(ts_interp *I, loop *L)
{
  int *v = IR_NEW_ARRAY(I->ctx, int, L->n + 1);
  for (int k = 0; v && k < L->n; k++) {
    const ts_x *x = L->init[k];
    v[k] = x->kind == TS_X_TENSOR ? x->u.t->v : number_tensor(I, NULL, x, number_type(x));
    if (v[k] < 0)
      return NULL;
  }
  return v;
}

/* The variables after the loop: the loop's outputs; a variable the body
 * only changed in place keeps its slot (every alias sees the change). */
static bool bind_results(ts_interp *I, ts_frame *f, loop *L, const int *outs)
{
  for (int k = 0; k < L->n; k++) {
    ts_x *last = ts_map_get(&L->f->vars, L->names[k]);
    if (last == L->in[k] && L->init[k]->kind == TS_X_TENSOR) {
      L->init[k]->u.t->v = outs[k];
      continue;
    }
    ts_x *x = ts_tensor_x(I, outs[k]);
    if (!x || !ts_frame_set(I, f, L->names[k], x))
      return false;
  }
  return true;
}

static bool build_loop(ts_interp *I, ts_frame *f, loop *L, int trip, int cond)
{
  const char *what = L->s->kind == TS_N_FOR ? "`for` loop" : "`while` loop";
  if (!refuse_jumps(I, L->s, what) || !find_carried(I, f, L) || !run_body(I, f, L))
    return false;
  if (!L->n)
    return true;
  int *init = initial_values(I, L), *outs = IR_NEW_ARRAY(I->ctx, int, L->n);
  if (!init || !outs)
    return false;
  int first = graph_loop(I->g, trip, cond, init, L->n, L->sc.inner_g, L->sc.outer_v, outs);
  return finish_node(I, L->s, L->s->kind == TS_N_FOR ? "for" : "while", first) && bind_results(I, f, L, outs);
}

bool ts_control_while(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *c)
{
  loop L = {.s = s};
  int cond = condition(I, s, c);
  return cond >= 0 && build_loop(I, f, &L, -1, cond);
}

bool ts_control_for(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *n)
{
  loop L = {.s = s};
  ts_x *trip = ts_control_scalar(I, &(ts_call){.node = s->rhs, .op = "range"}, n, IR_I64);
  return trip && build_loop(I, f, &L, trip->u.t->v, -1);
}
