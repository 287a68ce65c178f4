/* region.c: control flow over a function's statements (ir.h, "Regions"):
 * building the region tree, checking it, printing it for --dump-after, and
 * what the passes after lowering ask of it (where blocks start, for
 * kernels; how long a tensor used inside a loop or branch stays live, for
 * the memory plan). */
#include "ir.h"

#include <string.h>

ir_region *ir_region_new(aotc_ctx *ctx, ir_region_kind kind, int first)
{
  ir_region *r = IR_NEW(ctx, ir_region);
  if (r) {
    r->kind = kind;
    r->first = r->end = first;
    r->cond = r->trip = -1;
    r->max_trip = -1;
  }
  return r;
}

bool ir_region_add(aotc_ctx *ctx, ir_region *parent, ir_region *child)
{
  ir_region **items = IR_NEW_ARRAY(ctx, ir_region *, parent->n_children + 1);
  if (!items || !child)
    return false;
  if (parent->n_children)
    memcpy(items, parent->children, sizeof(*items) * (size_t)parent->n_children);
  items[parent->n_children++] = child;
  parent->children = items;
  if (parent->n_children == 1)
    parent->first = child->first;
  parent->end = child->end;
  return true;
}

/* ------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------ */

static bool region_fail(aotc_ctx *ctx, const ir_func *f, const ir_region *r, const char *what)
{
  aotc_error(ctx, r->loc.src ? r->loc : f->loc, "IR: function '%s': region over statements %d..%d: %s", f->name,
             r->first, r->end - 1, what);
  return false;
}

static int64_t const_numel(const ir_tensor *T)
{
  int64_t n = 1, d;
  for (int j = 0; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &d) || __builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

/* A control tensor: -1 (none, when allowed) or one element. */
static bool control_ok(const ir_func *f, int t, bool optional, bool integer)
{
  if (t < 0)
    return optional && t == -1;
  if (t >= f->n_tensors || const_numel(f->tensors[t]) != 1)
    return false;
  return !integer || !ir_types[f->tensors[t]->type].is_float;
}

static int expected_children(ir_region_kind kind)
{
  return kind == IR_REGION_IF ? 2 : kind == IR_REGION_LOOP ? 1 : -1;
}

static bool check_region(aotc_ctx *ctx, const ir_func *f, const ir_region *r);

static bool check_children(aotc_ctx *ctx, const ir_func *f, const ir_region *r)
{
  int want = expected_children(r->kind), at = r->first;
  if (r->kind == IR_REGION_STMTS ? r->n_children != 0 : want >= 0 && r->n_children != want)
    return region_fail(ctx, f, r, "wrong number of children");
  for (int k = 0; k < r->n_children; k++) {
    const ir_region *c = r->children[k];
    if (!c || c->first != at || !check_region(ctx, f, c))
      return c ? region_fail(ctx, f, r, "children do not cover it in order") : false;
    at = c->end;
  }
  return r->kind == IR_REGION_STMTS || at == r->end || region_fail(ctx, f, r, "children do not cover it");
}

static bool check_region(aotc_ctx *ctx, const ir_func *f, const ir_region *r)
{
  if (r->first < 0 || r->end < r->first || r->end > f->n_stmts)
    return region_fail(ctx, f, r, "statements out of range");
  if (r->kind == IR_REGION_IF && !control_ok(f, r->cond, false, false))
    return region_fail(ctx, f, r, "the condition is not a one-element tensor");
  if (r->kind == IR_REGION_LOOP &&
      (!control_ok(f, r->cond, true, false) || !control_ok(f, r->trip, true, true)))
    return region_fail(ctx, f, r, "the condition or trip count is not a one-element tensor");
  if (r->kind == IR_REGION_LOOP && r->trip < 0 && r->max_trip < 0 && r->cond < 0)
    return region_fail(ctx, f, r, "a loop without a trip count or a condition");
  return check_children(ctx, f, r);
}

bool ir_region_verify(aotc_ctx *ctx, const ir_func *f)
{
  const ir_region *b = f->body;
  if (!b)
    return true;
  if (b->kind != IR_REGION_SEQ || b->first != 0 || b->end != f->n_stmts)
    return region_fail(ctx, f, b, "the body is not a sequence over every statement");
  if (!check_region(ctx, f, b))
    return false;
  for (int i = 1; f->stmt_kernel && i < f->n_stmts; i++)
    if (ir_region_starts_block(f, i) && f->stmt_kernel[i] == f->stmt_kernel[i - 1]) {
      aotc_error(ctx, f->loc, "IR: function '%s': kernel %d crosses a region's boundary at statement %d", f->name,
                 f->stmt_kernel[i], i);
      return false;
    }
  return true;
}

bool ir_region_same(const ir_region *a, const ir_region *b)
{
  if (!a || !b)
    return a == b;
  if (a->kind != b->kind || a->first != b->first || a->end != b->end || a->n_children != b->n_children ||
      a->cond != b->cond || a->trip != b->trip || a->max_trip != b->max_trip)
    return false;
  for (int k = 0; k < a->n_children; k++)
    if (!ir_region_same(a->children[k], b->children[k]))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Blocks and lifetimes
 * ------------------------------------------------------------------------ */

static bool is_control(const ir_region *r)
{
  return r->kind == IR_REGION_IF || r->kind == IR_REGION_LOOP;
}

/* Whether i is the first or end statement of a control region or of one
 * of its children, anywhere below r. */
static bool boundary_in(const ir_region *r, int i)
{
  if (i < r->first || i > r->end)
    return false;
  if (is_control(r) && (i == r->first || i == r->end))
    return true;
  for (int k = 0; k < r->n_children; k++) {
    const ir_region *c = r->children[k];
    if ((is_control(r) && (i == c->first || i == c->end)) || boundary_in(c, i))
      return true;
  }
  return false;
}

bool ir_region_starts_block(const ir_func *f, int i)
{
  return f->body && boundary_in(f->body, i);
}

/* Whether t is the condition or trip count of r or a region inside it. */
static bool controls(const ir_region *r, int t)
{
  if (r->cond == t || r->trip == t)
    return true;
  for (int k = 0; k < r->n_children; k++)
    if (controls(r->children[k], t))
      return true;
  return false;
}

static int kernel_at(const ir_func *f, int i)
{
  if (i >= f->n_stmts)
    i = f->n_stmts - 1;
  return f->stmt_kernel && i >= 0 ? f->stmt_kernel[i] : 0;
}

static void widen_over(const ir_func *f, const ir_region *r, int t, int *first, int *last)
{
  if (!is_control(r)) {
    for (int k = 0; k < r->n_children; k++)
      widen_over(f, r->children[k], t, first, last);
    return;
  }
  int a = kernel_at(f, r->first), b = kernel_at(f, r->end > r->first ? r->end - 1 : r->first);
  bool inside = *first >= 0 && *first <= b && a <= *last;
  if (!inside && !controls(r, t))
    return;
  if (*first < 0 || a < *first)
    *first = a;
  if (b > *last)
    *last = b;
}

void ir_region_widen_live(const ir_func *f, int t, int *first, int *last)
{
  if (f->body && f->n_stmts > 0)
    widen_over(f, f->body, t, first, last);
}

bool ir_region_starts_leaf(const ir_func *f, int i)
{
  const ir_region *r = f->body;
  while (r && r->kind != IR_REGION_STMTS) {
    const ir_region *next = NULL;
    for (int k = 0; k < r->n_children && !next; k++)
      if (i >= r->children[k]->first && i < r->children[k]->end)
        next = r->children[k];
    r = next;
  }
  return r && r->first == i;
}

/* ------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------ */

static const char *tensor_name(const ir_func *f, int t)
{
  return t >= 0 && t < f->n_tensors ? f->tensors[t]->name : "?";
}

static void print_region(FILE *out, const ir_func *f, const ir_region *r, int depth)
{
  fprintf(out, "%*s", 2 * depth + 2, "");
  switch (r->kind) {
  case IR_REGION_STMTS:
    fprintf(out, "stmts %d..%d\n", r->first, r->end - 1);
    return;
  case IR_REGION_SEQ:
    fprintf(out, "seq (stmts %d..%d)\n", r->first, r->end - 1);
    break;
  case IR_REGION_IF:
    fprintf(out, "if %s (stmts %d..%d): then, else\n", tensor_name(f, r->cond), r->first, r->end - 1);
    break;
  case IR_REGION_LOOP:
    fputs("loop ", out);
    if (r->trip >= 0)
      fprintf(out, "at most %s times", tensor_name(f, r->trip));
    else if (r->max_trip >= 0)
      fprintf(out, "at most %lld times", (long long)r->max_trip);
    if (r->cond >= 0)
      fprintf(out, "%swhile %s", r->trip >= 0 || r->max_trip >= 0 ? " " : "", tensor_name(f, r->cond));
    fprintf(out, " (stmts %d..%d)\n", r->first, r->end - 1);
    break;
  }
  for (int k = 0; k < r->n_children; k++)
    print_region(out, f, r->children[k], depth + 1);
}

void ir_region_print(FILE *out, const ir_func *f)
{
  if (!f->body)
    return;
  fprintf(out, "regions of '%s':\n", f->name);
  print_region(out, f, f->body, 0);
}
