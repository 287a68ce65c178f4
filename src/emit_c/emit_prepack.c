/* emit_prepack.c: constant operands of contractions packed when the code is
 * printed. The packed loops (emit_ukernel.c) copy panels of each operand
 * into the workspace at every call: mr rows (or nr columns) by the depth,
 * lane fastest. For a weight that copy is the same every time, and for the
 * large layers of a network it is a second pass over memory as large as the
 * arithmetic's. Here such an operand is written out once, in that panel
 * order over its whole depth, P[lane panel][depth][lane] (lanes past the end
 * zero), so the micro-kernel reads panel q at depth block pc directly at
 * P + q * width * K + pc * width. The original constant is left out of the
 * file when nothing else reads it; one that something else reads too is
 * packed in advance only up to EMIT_PREPACK_COPY_BYTES (above, it would be
 * stored twice, and is packed at run time instead). With --weights FILE the
 * packed arrays go into the blob after the constants, written when the C is
 * printed (docs/models.md): the C file holds no weights at all, and the
 * run-time code neither packs nor copies them. */
#define _POSIX_C_SOURCE 200809L
#include "emit_print.h"
#include "emit_model.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INDEX 32

/* The operand (0: a, rows; 1: b, columns) of contraction ci. */
static const ir_expr *operand(const emit_fn *E, int ci, int op)
{
  return op ? E->pf->contr[ci].b : E->pf->contr[ci].a;
}

static void lanes_of(const sched_contraction *c, int op, const int **set, int *n)
{
  *set = op ? c->cols : c->rows;
  *n = op ? c->n_cols : c->n_rows;
}

/* A subscript's value at the index values x; false when it is not integer
 * arithmetic of indices and constants. */
static bool eval_index(const ir_expr *e, const int64_t *x, int64_t *out)
{
  int64_t a, b;
  switch (e->kind) {
  case IR_INDEX:
    *out = x[e->index];
    return e->index >= 0 && e->index < MAX_INDEX;
  case IR_CONST_INT:
    *out = e->ival;
    return true;
  case IR_BINARY:
    if (!eval_index(e->args[0], x, &a) || !eval_index(e->args[1], x, &b))
      return false;
    if (e->op == IR_ADD)
      *out = a + b;
    else if (e->op == IR_SUB)
      *out = a - b;
    else if (e->op == IR_MUL)
      *out = a * b;
    else
      return false;
    return true;
  default:
    return false;
  }
}

/* Whether e's subscripts use only the indices in `allowed` (a bit set). */
static bool uses_only(const ir_expr *e, unsigned allowed)
{
  if (e->kind == IR_INDEX)
    return e->index >= 0 && e->index < MAX_INDEX && (allowed >> e->index & 1u);
  if (e->kind != IR_CONST_INT && e->kind != IR_BINARY)
    return false;
  for (int k = 0; k < e->n_args; k++)
    if (!uses_only(e->args[k], allowed))
      return false;
  return true;
}

static bool const_extent(const ir_stmt *s, const int *set, int n, int64_t *out)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_is_const(s->index[set[t]].hi, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return false;
  *out = v;
  return v > 0 && v < ((int64_t)1 << 31);
}

static bool tensor_dims(const ir_tensor *T, int64_t *dims)
{
  for (int j = 0; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &dims[j]) || dims[j] < 0)
      return false;
  return T->rank <= MAX_INDEX;
}

/* The indices e's subscripts use (a bit set). */
static unsigned used_indices(const ir_expr *e)
{
  unsigned u = e->kind == IR_INDEX && e->index >= 0 && e->index < MAX_INDEX ? 1u << e->index : 0u;
  for (int k = 0; k < e->n_args; k++)
    u |= used_indices(e->args[k]);
  return u;
}

static unsigned index_set(const int *set, int n)
{
  unsigned u = 0;
  for (int t = 0; t < n; t++)
    u |= 1u << set[t];
  return u;
}

/* Whether operand e of c has a panel array per batch: it reads every batch
 * index (Winograd's transformed weights, one matrix per tile position). An
 * operand that reads none of them is packed once and shared by the batches. */
static bool per_batch(const sched_contraction *c, const ir_expr *e)
{
  unsigned u = 0;
  for (int j = 0; j < e->n_args; j++)
    u |= used_indices(e->args[j]);
  return c->n_batch > 0 && (u & index_set(c->batch, c->n_batch)) != 0;
}

/* The panel arrays operand op of c is packed into: its batches, or 1. */
static int64_t packed_batches(const ir_stmt *s, const sched_contraction *c, int op)
{
  int64_t nb = 1;
  if (per_batch(c, op ? c->b : c->a))
    const_extent(s, c->batch, c->n_batch, &nb);
  return nb;
}

int64_t emit_pack_batches(const ir_func *f, const sched_contraction *c, int op)
{
  return packed_batches(f->stmts[c->stmt], c, op);
}

bool emit_pack_operand_ok(const ir_func *f, const sched_contraction *c, int op)
{
  const ir_stmt *s = f->stmts[c->stmt];
  const ir_expr *e = op ? c->b : c->a;
  const ir_tensor *T = f->tensors[e->tensor];
  const int *lanes;
  int n_lanes;
  int64_t m, k, nb = 1, dims[MAX_INDEX];
  lanes_of(c, op, &lanes, &n_lanes);
  if (T->role != IR_CONSTANT || T->type != IR_F32 || !T->data || s->n_index > MAX_INDEX || !tensor_dims(T, dims) ||
      !const_extent(s, lanes, n_lanes, &m) || !const_extent(s, c->depth, c->n_depth, &k))
    return false;
  unsigned allowed = index_set(lanes, n_lanes) | index_set(c->depth, c->n_depth), batch = 0, used = 0;
  if (per_batch(c, e)) {
    batch = index_set(c->batch, c->n_batch);
    if (!const_extent(s, c->batch, c->n_batch, &nb) || nb > ((int64_t)1 << 31) / ((m + 63) * k))
      return false;
  }
  for (int j = 0; j < e->n_args; j++) {
    if (!uses_only(e->args[j], allowed | batch))
      return false;
    used |= used_indices(e->args[j]);
  }
  return (used & batch) == batch;
}

int64_t emit_pack_batch_stride(const ir_func *f, const sched_contraction *c, int op, int width)
{
  const ir_stmt *s = f->stmts[c->stmt];
  const int *lanes;
  int n_lanes;
  int64_t m, k;
  lanes_of(c, op, &lanes, &n_lanes);
  if (!per_batch(c, op ? c->b : c->a) || !const_extent(s, lanes, n_lanes, &m) ||
      !const_extent(s, c->depth, c->n_depth, &k))
    return 0;
  return (m + width - 1) / width * width * k;
}

static bool packable(const emit_fn *E, int ci, int op)
{
  return !emit_target_is_gpu(E->em->tg) && emit_pack_operand_ok(E->f, &E->pf->contr[ci], op);
}

#define PACKED_NAME "aotc_pk%d%c_%s" /* contraction, operand ('a' or 'b'), function */

const char *emit_prepack_name(aotc_ctx *ctx, const char *fn, int ci, int op)
{
  return ir_sprintf(ctx, PACKED_NAME, ci, op ? 'b' : 'a', fn);
}

void emit_prepack_print_name(const emit_fn *E, int ci, int op)
{
  fprintf(E->out, PACKED_NAME, ci, op ? 'b' : 'a', E->name);
}

/* Sets x[set[0..n-1]] from the flattened value v (last fastest). */
static void decompose(const ir_stmt *s, const int *set, int n, int64_t v, int64_t *x)
{
  for (int t = n - 1; t >= 0; t--) {
    int64_t d;
    ir_size_is_const(s->index[set[t]].hi, &d);
    x[set[t]] = v % d;
    v /= d;
  }
}

/* The element of T that e reads at x; 0 outside T (a padded read). */
static float element(const ir_tensor *T, const int64_t *dims, const ir_expr *e, const int64_t *x)
{
  int64_t off = 0, v;
  for (int j = 0; j < e->n_args; j++) {
    if (!eval_index(e->args[j], x, &v) || v < 0 || v >= dims[j])
      return 0.0f;
    off = off * dims[j] + v;
  }
  return ((const float *)T->data)[off];
}

float *emit_pack_operand(const ir_func *f, const sched_contraction *c, int op, int width, int64_t *n_out)
{
  const ir_stmt *s = f->stmts[c->stmt];
  const ir_expr *e = op ? c->b : c->a;
  const ir_tensor *T = f->tensors[e->tensor];
  const int *lanes;
  int n_lanes;
  int64_t m, k, dims[MAX_INDEX], x[MAX_INDEX] = {0};
  lanes_of(c, op, &lanes, &n_lanes);
  const_extent(s, lanes, n_lanes, &m);
  const_extent(s, c->depth, c->n_depth, &k);
  tensor_dims(T, dims);
  int64_t mp = (m + width - 1) / width * width, per = emit_pack_batch_stride(f, c, op, width);
  int64_t nb = packed_batches(s, c, op);
  float *v = calloc((size_t)(mp * k * nb), sizeof(float));
  for (int64_t q = 0; v && q < nb; q++) {
    if (per > 0)
      decompose(s, c->batch, c->n_batch, q, x);
    for (int64_t r = 0; r < m; r++) {
      decompose(s, lanes, n_lanes, r, x);
      for (int64_t p = 0; p < k; p++) {
        decompose(s, c->depth, c->n_depth, p, x);
        v[q * per + (r / width) * width * k + p * width + r % width] = element(T, dims, e, x);
      }
    }
  }
  *n_out = mp * k * nb;
  return v;
}

static float *packed_values(const emit_fn *E, int ci, int op, int width, int64_t *n_out)
{
  return emit_pack_operand(E->f, &E->pf->contr[ci], op, width, n_out);
}

static int64_t round64(int64_t n)
{
  return (n + 63) / 64 * 64;
}

/* Floats of operand op's packed array: lanes rounded up to the panel width,
 * times the depth. */
static int64_t packed_floats(const emit_fn *E, int ci, int op)
{
  const sched_contraction *c = &E->pf->contr[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  const int *lanes;
  int n_lanes, width = op ? E->pf->blocks[ci].nr : E->pf->blocks[ci].mr;
  int64_t m, k;
  lanes_of(c, op, &lanes, &n_lanes);
  const_extent(s, lanes, n_lanes, &m);
  const_extent(s, c->depth, c->n_depth, &k);
  return (m + width - 1) / width * width * k * packed_batches(s, c, op);
}

static int64_t tensor_bytes(const ir_tensor *T)
{
  int64_t dims[MAX_INDEX], n = 1;
  if (!tensor_dims(T, dims))
    return -1;
  for (int j = 0; j < T->rank; j++)
    n *= dims[j];
  return n * 4;
}

static void count_reads(const ir_expr *e, int *reads)
{
  if (e && e->kind == IR_ACCESS)
    reads[e->tensor]++;
  for (int k = 0; e && k < e->n_args; k++)
    count_reads(e->args[k], reads);
}

static void count_all_reads(const emit_fn *E, int *reads)
{
  for (int t = 0; t < E->f->n_tensors; t++)
    reads[t] = 0;
  for (int i = 0; i < E->f->n_stmts; i++) {
    const ir_stmt *s = E->f->stmts[i];
    count_reads(s->rhs, reads);
    for (int j = 0; !ir_stmt_is_plain(s) && j < s->n_lhs; j++)
      count_reads(s->lhs_expr[j], reads);
  }
}

/* replaced[t]: every read of constant t goes through a packed array. */
static void mark_replaced(emit_fn *E, const int *reads)
{
  int n = E->pf->n_contr;
  for (int t = 0; t < E->f->n_tensors; t++) {
    int packed = 0;
    for (int q = 0; q < 2 * n; q++)
      packed += E->prepack[q] && operand(E, q / 2, q % 2)->tensor == t;
    E->replaced[t] = reads[t] > 0 && reads[t] == packed;
  }
}

/* A constant that something else also reads would be stored twice: above
 * EMIT_PREPACK_COPY_BYTES it is packed at run time instead. */
static void cap_copies(emit_fn *E)
{
  for (int q = 0; q < 2 * E->pf->n_contr; q++) {
    const ir_tensor *T = E->f->tensors[operand(E, q / 2, q % 2)->tensor];
    if (E->prepack[q] && !E->replaced[operand(E, q / 2, q % 2)->tensor] &&
        tensor_bytes(T) > EMIT_PREPACK_COPY_BYTES)
      E->prepack[q] = false;
  }
}

bool emit_pack_same(const ir_func *f, const emit_plan_fn *pf, const bool *packed, int *same)
{
  int n = 2 * pf->n_contr;
  float **vals = calloc((size_t)n + 1, sizeof *vals);
  int64_t *len = calloc((size_t)n + 1, sizeof *len);
  bool ok = vals && len;
  for (int q = 0; q < n; q++) {
    const sched_contraction *cq = &pf->contr[q / 2];
    same[q] = -1;
    for (int r = 0; ok && packed[q] && r < q && same[q] < 0; r++) {
      const sched_contraction *cr = &pf->contr[r / 2];
      if (!packed[r] || same[r] >= 0 || (r % 2 ? cr->b : cr->a)->tensor != (q % 2 ? cq->b : cq->a)->tensor)
        continue;
      if (!vals[q])
        vals[q] = emit_pack_operand(f, cq, q % 2, q % 2 ? pf->blocks[q / 2].nr : pf->blocks[q / 2].mr, &len[q]);
      if (!vals[r])
        vals[r] = emit_pack_operand(f, cr, r % 2, r % 2 ? pf->blocks[r / 2].nr : pf->blocks[r / 2].mr, &len[r]);
      ok = vals[q] && vals[r];
      if (ok && len[q] == len[r] && !memcmp(vals[q], vals[r], sizeof(float) * (size_t)len[q]))
        same[q] = r;
    }
    if (ok && same[q] >= 0) { /* only the arrays stored are compared again */
      free(vals[q]);
      vals[q] = NULL;
    }
  }
  for (int q = 0; vals && q < n; q++)
    free(vals[q]);
  free(vals);
  free(len);
  return ok;
}

/* pack_same (emit_pack_same): the chunks of src/graph/batch_chunks.c pack
 * one weight alike for several contractions, stored once. */
static bool find_same(emit_fn *E)
{
  E->pack_same = IR_NEW_ARRAY(E->em->plan->ctx, int, 2 * E->pf->n_contr + 1);
  bool ok = E->pack_same && emit_pack_same(E->f, E->pf, E->prepack, E->pack_same);
  if (!ok)
    aotc_error(E->em->plan->ctx, E->f->loc, "out of memory in the C backend");
  return ok;
}

/* Whether packed array q is stored (not the same as an earlier one). */
static bool stored(const emit_fn *E, int q)
{
  return E->prepack[q] && (!E->pack_same || E->pack_same[q] < 0);
}

/* The blob's layout with --weights: the constants not replaced, then the
 * packed arrays. */
static bool setup_blob(emit_fn *E)
{
  emit_blob *b = IR_NEW(E->em->plan->ctx, emit_blob);
  if (!b)
    return false;
  b->left_out = E->replaced;
  b->extra_bytes = 0;
  for (int q = 0; q < 2 * E->pf->n_contr; q++)
    if (stored(E, q))
      b->extra_bytes += round64(packed_floats(E, q / 2, q % 2) * 4);
  E->blob = b;
  return true;
}

/* Embedded weights past EMIT_EMBED_WARN_BYTES: C text about three times
 * their size, which compilers read slowly. */
static void warn_embedded(const emit_fn *E)
{
  int64_t bytes = 0;
  for (int t = 0; t < E->f->n_tensors; t++)
    if (E->f->tensors[t]->role == IR_CONSTANT && E->f->tensors[t]->data && !E->replaced[t])
      bytes += tensor_bytes(E->f->tensors[t]) > 0 ? tensor_bytes(E->f->tensors[t]) : 0;
  for (int q = 0; q < 2 * E->pf->n_contr; q++)
    bytes += stored(E, q) ? packed_floats(E, q / 2, q % 2) * 4 : 0;
  if (bytes > EMIT_EMBED_WARN_BYTES)
    aotc_warning(E->em->plan->ctx, E->f->loc,
                 "%s: %lld MB of weights embedded in the C file (about three times as much C text); "
                 "--weights FILE puts them, packed, in a blob instead",
                 E->f->name, (long long)(bytes >> 20));
}

bool emit_prepack_setup(emit_fn *E)
{
  aotc_ctx *ctx = E->em->plan->ctx;
  int n = E->pf->n_contr, nt = E->f->n_tensors > 0 ? E->f->n_tensors : 1;
  int *reads = aotc_malloc(ctx, sizeof(int) * (size_t)nt);
  E->prepack = IR_NEW_ARRAY(ctx, bool, 2 * n + 1);
  E->replaced = IR_NEW_ARRAY(ctx, bool, nt);
  if (!reads || !E->prepack || !E->replaced) {
    aotc_free(ctx, reads);
    return false;
  }
  for (int q = 0; q < 2 * n; q++)
    E->prepack[q] = packable(E, q / 2, q % 2);
  count_all_reads(E, reads);
  mark_replaced(E, reads);
  cap_copies(E);
  mark_replaced(E, reads);
  aotc_free(ctx, reads);
  if (!find_same(E))
    return false;
  return !E->em->plan->opt->weights || emit_target_is_gpu(E->em->tg) || setup_blob(E);
}

bool emit_prepack_usable(const emit_fn *E, int ci, int op)
{
  return E->prepack && E->prepack[2 * ci + op];
}

bool emit_prepack_replaces(const emit_fn *E, int t)
{
  return E->replaced && E->replaced[t];
}

static bool print_one(emit_fn *E, int ci, int op)
{
  const sched_blocks *b = &E->pf->blocks[ci];
  int64_t n;
  float *v = packed_values(E, ci, op, op ? b->nr : b->mr, &n);
  const char *name = emit_prepack_name(E->em->plan->ctx, E->name, ci, op);
  if (v && name)
    emit_model_float_array(E->out, name, v, n);
  else
    aotc_error(E->em->plan->ctx, E->f->loc, "out of memory in the C backend");
  free(v);
  return v && name;
}

/* With --weights: the packed array is a pointer into the blob. */
static void print_external(emit_fn *E, int ci, int op, int64_t offset)
{
  fputs("#define ", E->out);
  emit_prepack_print_name(E, ci, op);
  fprintf(E->out, " ((const float *)(const void *)(aotc_weights_%s + %lld))\n", E->name, (long long)offset);
}

bool emit_prepack_print(emit_fn *E)
{
  int64_t offset = E->blob ? emit_model_blob_constants_end(E->f, E->blob) : 0;
  if (!E->em->plan->opt->weights && !emit_target_is_gpu(E->em->tg))
    warn_embedded(E);
  for (int q = 0; q < 2 * E->pf->n_contr; q++) {
    if (!emit_prepack_usable(E, q / 2, q % 2))
      continue;
    if (!stored(E, q)) {
      fputs("#define ", E->out);
      emit_prepack_print_name(E, q / 2, q % 2);
      fputc(' ', E->out);
      emit_prepack_print_name(E, E->pack_same[q] / 2, E->pack_same[q] % 2);
      fputc('\n', E->out);
    } else if (E->blob) {
      print_external(E, q / 2, q % 2, offset);
      offset += round64(packed_floats(E, q / 2, q % 2) * 4);
    } else if (!print_one(E, q / 2, q % 2)) {
      return false;
    }
  }
  if (E->blob)
    fputc('\n', E->out);
  return true;
}

/* The packed arrays in the blob after the constants, each 64-byte aligned. */
static bool write_packed(FILE *out, void *arg)
{
  static const unsigned char zeros[64];
  emit_fn *E = arg;
  bool ok = true;
  for (int q = 0; ok && q < 2 * E->pf->n_contr; q++) {
    if (!stored(E, q))
      continue;
    const sched_blocks *b = &E->pf->blocks[q / 2];
    int64_t n;
    float *v = packed_values(E, q / 2, q % 2, q % 2 ? b->nr : b->mr, &n);
    size_t bytes = (size_t)n * 4, pad = (size_t)(round64(n * 4) - n * 4);
    ok = v && fwrite(v, 1, bytes, out) == bytes && fwrite(zeros, 1, pad, out) == pad;
    free(v);
  }
  return ok;
}

bool emit_prepack_write_blob(emit_fn *E, const char *path)
{
  return emit_model_write_weights(E->em->plan->ctx, E->f, E->blob, path, write_packed, E);
}
