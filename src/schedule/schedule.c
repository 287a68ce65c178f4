/* schedule.c: the schedule options (defaults, heuristics, text form), the
 * recognition of contractions for the micro-kernel path, and the
 * transformations of a kernel's isl schedule tree (tiling, point-loop order,
 * parallel and vector marks) before the AST is built. */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <isl/aff.h>
#include <isl/ctx.h>
#include <isl/id.h>
#include <isl/options.h>
#include <isl/schedule_node.h>
#include <isl/union_set.h>
#include <isl/val.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Defaults and heuristics
 * ------------------------------------------------------------------------ */

void sched_options_default(sched_options *o)
{
  memset(o, 0, sizeof(*o));
  for (int i = 0; i < SCHED_MAX_DIMS; i++)
    o->order[i] = i;
  o->fusion = SCHED_FUSE_MAX;
  o->threads = 1;
  o->vector_bytes = 16;
}

/* The first statement of f that is a contraction alone in its kernel. */
static bool first_contraction(const ir_func *f, sched_contraction *c)
{
  for (int i = 0; i < f->n_stmts; i++)
    if (sched_find_contraction(f, i, c))
      return true;
  return false;
}

/* Register tile (rows, columns) for a vector of vb bytes: 24 accumulator
 * vectors out of 32 with AVX-512 (12 x 32: two column vectors, so that
 * narrow matrices waste little on padding), 12 of 16 otherwise. */
static void register_tile(int vb, int *mr, int *nr)
{
  int vw = vb / 4;
  *mr = vb >= 64 ? 12 : 6;
  *nr = 2 * vw;
}

static void contraction_heuristic(const sched_contraction *c, const sched_cpu *cpu, sched_options *o)
{
  int vw = cpu->vector_bytes / 4 > 1 ? cpu->vector_bytes / 4 : 1;
  o->microkernel = true;
  o->pack = true;
  o->scalar_replace = true;
  o->tile[c->i] = cpu->mr * cpu->mc_tiles;
  o->tile[c->j] = cpu->nc;
  o->tile[c->k] = cpu->kc;
  o->reg_tile[c->i] = cpu->mr;
  o->reg_tile[c->j] = cpu->nr_vectors * vw;
  o->reg_tile[c->k] = 1;
}

void sched_options_heuristic(const ir_func *f, int threads, const sched_cpu *cpu, sched_options *o)
{
  sched_contraction c;
  if (!cpu)
    cpu = sched_cpu_native();
  sched_options_default(o);
  o->threads = threads > 0 ? threads : 1;
  o->vector_bytes = cpu->vector_bytes;
  o->vectorize = cpu->vector_bytes > 4;
  o->scalar_replace = true;
  o->fusion = SCHED_FUSE_MIN;
  if (cpu->microkernel && f && first_contraction(f, &c) && c.i < SCHED_MAX_DIMS && c.j < SCHED_MAX_DIMS &&
      c.k < SCHED_MAX_DIMS)
    contraction_heuristic(&c, cpu, o);
}

/* ------------------------------------------------------------------------
 * Text form
 * ------------------------------------------------------------------------ */

static const char *const fusion_name[] = {
    [SCHED_FUSE_MAX] = "max", [SCHED_FUSE_KEEP_PARALLEL] = "keep", [SCHED_FUSE_MIN] = "min"};
_Static_assert(sizeof(fusion_name) / sizeof(fusion_name[0]) == SCHED_FUSE_COUNT, "fusion names");

/* Members up to the last one that differs from the default value. */
static int list_len(const int *v, bool is_order)
{
  int n = SCHED_MAX_DIMS;
  while (n > 1 && v[n - 1] == (is_order ? n - 1 : 0))
    n--;
  return n;
}

typedef struct strbuf {
  char *buf;
  size_t cap, len;
} strbuf;

static void put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(strbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->len < b->cap ? b->buf + b->len : NULL, b->len < b->cap ? b->cap - b->len : 0, fmt, ap);
  va_end(ap);
  b->len += n > 0 ? (size_t)n : 0;
}

static void put_list(strbuf *b, const char *key, const int *v, bool is_order)
{
  int n = list_len(v, is_order);
  put(b, "%s=", key);
  for (int i = 0; i < n; i++)
    put(b, i ? ",%d" : "%d", v[i]);
  put(b, " ");
}

/* " block=32,8": a CUDA list, only when set. */
static void put_gpu(strbuf *b, const char *key, const int *v)
{
  int n = 3;
  while (n > 0 && v[n - 1] == 0)
    n--;
  if (n > 0)
    put(b, " %s=", key);
  for (int i = 0; i < n; i++)
    put(b, i ? ",%d" : "%d", v[i]);
}

int sched_options_print(char *buf, size_t n, const sched_options *o)
{
  strbuf b = {buf, n, 0};
  if (buf && n)
    buf[0] = 0;
  put_list(&b, "tile", o->tile, false);
  put_list(&b, "reg", o->reg_tile, false);
  put_list(&b, "order", o->order, true);
  put(&b, "fuse=%s unroll=%d vec=%d vbytes=%d threads=%d pack=%d sr=%d mk=%d",
      o->fusion < SCHED_FUSE_COUNT ? fusion_name[o->fusion] : "max", o->unroll, o->vectorize, o->vector_bytes,
      o->threads, o->pack, o->scalar_replace, o->microkernel);
  put_gpu(&b, "block", o->gpu_block);
  put_gpu(&b, "grid", o->gpu_grid);
  if (o->gpu_promote)
    put(&b, " shared=1");
  if (o->gpu_reduce)
    put(&b, " reduce=%d", o->gpu_reduce);
  if (o->gpu_split)
    put(&b, " split=%d", o->gpu_split);
  if (o->gpu_promote_reads)
    put(&b, " promote=1");
  return (int)b.len;
}

static bool fail(char *err, size_t err_len, const char *fmt, const char *what, size_t what_len)
{
  if (err && err_len)
    snprintf(err, err_len, fmt, (int)what_len, what);
  return false;
}

/* A decimal integer in [lo, hi] spanning exactly s[0..len-1]. */
static bool parse_int(const char *s, size_t len, long lo, long hi, int *out)
{
  char tmp[32];
  if (len == 0 || len >= sizeof(tmp))
    return false;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  char *end;
  errno = 0;
  long v = strtol(tmp, &end, 10);
  if (*end || errno || v < lo || v > hi || !(isdigit((unsigned char)tmp[0]) || tmp[0] == '-'))
    return false;
  *out = (int)v;
  return true;
}

/* "a,b,c" into v[0..]; the rest is the default; n_out: entries given. */
static bool parse_list(const char *s, size_t len, long lo, long hi, int *v, bool is_order, int *n_out)
{
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != ',')
      continue;
    if (n == SCHED_MAX_DIMS || !parse_int(s + start, i - start, lo, hi, &v[n]))
      return false;
    n++;
    start = i + 1;
  }
  for (int i = n; i < SCHED_MAX_DIMS; i++)
    v[i] = is_order ? i : 0;
  *n_out = n;
  return true;
}

static bool is_permutation(const int *v, int n)
{
  bool seen[SCHED_MAX_DIMS] = {false};
  for (int i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] >= n || seen[v[i]])
      return false;
    seen[v[i]] = true;
  }
  return true;
}

static bool parse_bool(const char *s, size_t len, bool *out)
{
  int v;
  if (!parse_int(s, len, 0, 1, &v))
    return false;
  *out = v;
  return true;
}

static bool parse_fusion(const char *s, size_t len, sched_fusion *out)
{
  for (int i = 0; i < SCHED_FUSE_COUNT; i++)
    if (strlen(fusion_name[i]) == len && !strncmp(s, fusion_name[i], len)) {
      *out = (sched_fusion)i;
      return true;
    }
  return false;
}

/* Up to three entries (x, y, z) in [0, hi]. */
static bool parse_gpu_list(const char *s, size_t len, long hi, int *v)
{
  int tmp[SCHED_MAX_DIMS], n;
  if (!parse_list(s, len, 0, hi, tmp, false, &n) || n > 3)
    return false;
  for (int i = 0; i < 3; i++)
    v[i] = tmp[i];
  return true;
}

/* One key=value pair. */
static bool parse_pair(const char *key, size_t klen, const char *val, size_t vlen, sched_options *o)
{
  int n;
#define KEY(name) (klen == strlen(name) && !strncmp(key, name, klen))
  if (KEY("tile"))
    return parse_list(val, vlen, 0, 1 << 20, o->tile, false, &n);
  if (KEY("reg"))
    return parse_list(val, vlen, 0, 256, o->reg_tile, false, &n);
  if (KEY("order"))
    return parse_list(val, vlen, 0, SCHED_MAX_DIMS - 1, o->order, true, &n) && is_permutation(o->order, n);
  if (KEY("fuse"))
    return parse_fusion(val, vlen, &o->fusion);
  if (KEY("unroll"))
    return parse_int(val, vlen, 0, 1024, &o->unroll);
  if (KEY("vec"))
    return parse_bool(val, vlen, &o->vectorize);
  if (KEY("vbytes"))
    return parse_int(val, vlen, 4, 256, &o->vector_bytes) && !(o->vector_bytes & (o->vector_bytes - 1));
  if (KEY("threads"))
    return parse_int(val, vlen, 1, 1024, &o->threads);
  if (KEY("pack"))
    return parse_bool(val, vlen, &o->pack);
  if (KEY("sr"))
    return parse_bool(val, vlen, &o->scalar_replace);
  if (KEY("mk"))
    return parse_bool(val, vlen, &o->microkernel);
  if (KEY("block"))
    return parse_gpu_list(val, vlen, 1024, o->gpu_block);
  if (KEY("grid"))
    return parse_gpu_list(val, vlen, 1 << 30, o->gpu_grid);
  if (KEY("shared"))
    return parse_bool(val, vlen, &o->gpu_promote);
  if (KEY("reduce"))
    return parse_int(val, vlen, 0, SCHED_GPU_MAX_THREADS, &o->gpu_reduce) && !(o->gpu_reduce & (o->gpu_reduce - 1));
  if (KEY("split"))
    return parse_int(val, vlen, 0, SCHED_GPU_MAX_SPLIT, &o->gpu_split);
  if (KEY("promote"))
    return parse_bool(val, vlen, &o->gpu_promote_reads);
#undef KEY
  return false;
}

bool sched_options_parse(const char *s, sched_options *o, char *err, size_t err_len)
{
  sched_options r;
  sched_options_default(&r);
  if (err && err_len)
    err[0] = 0;
  if (!s)
    s = "";
  while (*s) {
    while (isspace((unsigned char)*s))
      s++;
    size_t len = 0;
    while (s[len] && !isspace((unsigned char)s[len]))
      len++;
    if (len == 0)
      break;
    const char *eq = memchr(s, '=', len);
    if (!eq && len == 4 && !strncmp(s, "none", 4)) {
      s += len;
      continue;
    }
    if (!eq)
      return fail(err, err_len, "schedule option '%.*s' is not key=value", s, len);
    if (!parse_pair(s, (size_t)(eq - s), eq + 1, len - (size_t)(eq - s) - 1, &r))
      return fail(err, err_len, "bad schedule option '%.*s'", s, len);
    s += len;
  }
  *o = r;
  return true;
}

/* ------------------------------------------------------------------------
 * Contractions
 * ------------------------------------------------------------------------ */

/* The index variables e mentions, as a bit set; false when e reads a
 * tensor (an indirect subscript) or is not integer arithmetic. */
static bool index_uses(const ir_expr *e, unsigned *used)
{
  if (e->kind == IR_INDEX) {
    if (e->index < 0 || e->index > 31)
      return false;
    *used |= 1u << e->index;
    return true;
  }
  if (e->kind == IR_ACCESS || e->kind == IR_CALL || e->kind == IR_SELECT || ir_types[e->type].is_float)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!index_uses(e->args[j], used))
      return false;
  return true;
}

/* The indices an operand's subscripts use; false if it is not a float32
 * read with arithmetic subscripts. */
static bool operand_uses(const ir_func *f, const ir_expr *e, unsigned *used)
{
  *used = 0;
  if (e->kind != IR_ACCESS || e->type != IR_F32 || f->tensors[e->tensor]->rank != e->n_args)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!index_uses(e->args[j], used))
      return false;
  return true;
}

static int lhs_position(const ir_stmt *s, int x)
{
  for (int j = 0; j < s->n_lhs; j++)
    if (s->lhs[j] == x)
      return j;
  return -1;
}

/* Sorts a role's indices by their position in C and keeps the longest
 * tail that flattens: consecutive positions, every inner one spanning its
 * whole dimension of C. The others become batch indices of c. */
static void flatten_role(const ir_func *f, const ir_stmt *s, int *set, int *n, sched_contraction *c)
{
  for (int a = 0; a < *n; a++)
    for (int b = a + 1; b < *n; b++)
      if (lhs_position(s, set[b]) < lhs_position(s, set[a])) {
        int t = set[a];
        set[a] = set[b];
        set[b] = t;
      }
  const ir_tensor *C = f->tensors[s->tensor];
  int first = *n - 1;
  while (first > 0) {
    int pos = lhs_position(s, set[first]);
    if (pos != lhs_position(s, set[first - 1]) + 1 || !C->shape[pos] ||
        !ir_size_equal(C->shape[pos], s->index[set[first]].hi))
      break;
    first--;
  }
  for (int a = 0; a < first && *n > 0 && c->n_batch < SCHED_MAX_DIMS; a++)
    c->batch[c->n_batch++] = set[a];
  memmove(set, set + first, sizeof(int) * (size_t)(*n - first));
  *n -= first;
}

static void add_to(int *set, int *n, int x)
{
  set[(*n)++] = x;
}

/* Role of every index: row, column, depth or batch; false when one fits
 * none. */
static bool assign_roles(const ir_func *f, const ir_stmt *s, unsigned in_a, unsigned in_b, sched_contraction *c)
{
  c->n_rows = c->n_cols = c->n_depth = c->n_batch = 0;
  for (int x = 0; x < s->n_index; x++) {
    bool a = in_a >> x & 1u, b = in_b >> x & 1u, in_c = lhs_position(s, x) >= 0;
    int64_t lo;
    if (!ir_size_is_const(s->index[x].lo, &lo) || lo != 0 || c->n_batch == SCHED_MAX_DIMS)
      return false;
    if (c->n_rows == SCHED_MAX_DIMS || c->n_cols == SCHED_MAX_DIMS || c->n_depth == SCHED_MAX_DIMS)
      return false;
    if (in_c && a && !b)
      add_to(c->rows, &c->n_rows, x);
    else if (in_c && b && !a)
      add_to(c->cols, &c->n_cols, x);
    else if (!in_c && a && b && s->index[x].reduction)
      add_to(c->depth, &c->n_depth, x);
    else if (in_c && !s->index[x].reduction)
      add_to(c->batch, &c->n_batch, x);
    else
      return false;
  }
  if (!c->n_rows || !c->n_cols || !c->n_depth || c->n_batch + c->n_rows + c->n_cols > SCHED_MAX_DIMS)
    return false;
  flatten_role(f, s, c->rows, &c->n_rows, c);
  flatten_role(f, s, c->cols, &c->n_cols, c);
  c->i = c->rows[c->n_rows - 1];
  c->j = c->cols[c->n_cols - 1];
  c->k = c->depth[c->n_depth - 1];
  return true;
}

static bool alone_in_kernel(const ir_func *f, int stmt)
{
  return !f->stmt_kernel ? f->n_stmts == 1
                         : !((stmt > 0 && f->stmt_kernel[stmt - 1] == f->stmt_kernel[stmt]) ||
                             (stmt + 1 < f->n_stmts && f->stmt_kernel[stmt + 1] == f->stmt_kernel[stmt]));
}

/* A product of fewer columns than this (two 32-wide register tiles) and
 * four times as many rows has its operands trade places when the one
 * holding the columns has them as its last subscripts in order (its panels
 * then pack as contiguous runs): the columns become the rows of the
 * register tile, the vector lanes run over the old rows, and C is stored
 * across (rs 1, cs the old row stride). Winograd's product at 14x14 (49
 * tiles by 256 channels): 0.85 ms, against 1.03 with 49 columns. An
 * implicit im2col (ResNet-18's layer4, 49 pixels) stays as it is: its
 * pixels are not plain subscripts (1.5 ms swapped, 1.2 not). */
#define SWAP_MAX_COLS 64
/* ... and when the operand that becomes B (depth x old rows) fits in L2 (256
 * KiB): B's block is read again for every row panel, where A's panel was
 * read once for every column panel. ResNeXt-50's 1x1 convolutions at 7x7
 * (2048 x 49 x 1024: 8 MB of weights) went from 1.0 to 1.4 ms swapped. */
#define SWAP_MAX_B_FLOATS (64 * 1024)

/* Whether the last n subscripts of operand e are the indices set[0..n-1]. */
static bool rows_last(const ir_expr *e, const int *set, int n)
{
  if (e->n_args < n)
    return false;
  for (int t = 0; t < n; t++) {
    const ir_expr *x = e->args[e->n_args - n + t];
    if (x->kind != IR_INDEX || x->index != set[t])
      return false;
  }
  return true;
}

bool sched_find_contraction(const ir_func *f, int stmt, sched_contraction *out)
{
  const ir_stmt *s = f->stmts[stmt];
  const ir_expr *e = s->rhs;
  sched_contraction c = {.stmt = stmt, .init = s->init};
  unsigned in_a, in_b;
  if (!ir_stmt_is_plain(s) || s->red != IR_RED_ADD || s->n_index > 31 || s->n_lhs < 2 ||
      f->tensors[s->tensor]->type != IR_F32 || !alone_in_kernel(f, stmt))
    return false;
  if (e->kind != IR_BINARY || e->op != IR_MUL || e->type != IR_F32)
    return false;
  if (!operand_uses(f, e->args[0], &in_a) || !operand_uses(f, e->args[1], &in_b))
    return false;
  if (e->args[0]->tensor == s->tensor || e->args[1]->tensor == s->tensor)
    return false;
  c.a = e->args[0];
  c.b = e->args[1];
  unsigned last = 1u << s->lhs[s->n_lhs - 1];
  if ((in_a & last) && !(in_b & last)) {
    unsigned t = in_a;
    in_a = in_b;
    in_b = t;
    c.a = e->args[1];
    c.b = e->args[0];
  }
  if (!assign_roles(f, s, in_a, in_b, &c))
    return false;
  int64_t m = sched_role_extent(s, c.rows, c.n_rows), n = sched_role_extent(s, c.cols, c.n_cols);
  int64_t k = sched_role_extent(s, c.depth, c.n_depth), b_floats;
  sched_contraction t = c;
  t.a = c.b;
  t.b = c.a;
  if (n > 0 && n < SWAP_MAX_COLS && m >= 4 * n && k > 0 && !__builtin_mul_overflow(k, m, &b_floats) &&
      b_floats <= SWAP_MAX_B_FLOATS && assign_roles(f, s, in_b, in_a, &t) && rows_last(t.a, t.rows, t.n_rows))
    c = t;
  *out = c;
  return true;
}

static int round_up(int v, int m)
{
  return (v + m - 1) / m * m;
}

static int pick(const int *v, int x, int dflt)
{
  return x < SCHED_MAX_DIMS && v[x] > 0 ? v[x] : dflt;
}

void sched_contraction_blocks(const sched_contraction *c, const sched_options *o, sched_blocks *b)
{
  int mr, nr;
  register_tile(o->vector_bytes, &mr, &nr);
  b->mr = pick(o->reg_tile, c->i, mr);
  b->nr = pick(o->reg_tile, c->j, nr);
  b->mr = b->mr > 32 ? 32 : b->mr;
  b->nr = b->nr > 256 ? 256 : b->nr;
  b->vw = 1;
  for (int vw = o->vector_bytes / 4; o->vectorize && vw > 1 && b->vw == 1; vw /= 2)
    if (b->nr % vw == 0 && b->nr / vw <= 8)
      b->vw = vw;
  b->kc = pick(o->tile, c->k, 256);
  b->mc = round_up(pick(o->tile, c->i, b->mr * 32), b->mr);
  b->nc = round_up(pick(o->tile, c->j, 1024), b->nr);
  b->threads = o->threads > 0 ? o->threads : 1;
}

/* Iterations of statement s, -1 when a range is not constant. */
static int64_t stmt_points(const ir_stmt *s)
{
  int64_t n = 1, lo, hi;
  for (int x = 0; x < s->n_index; x++) {
    if (!ir_size_is_const(s->index[x].lo, &lo) || !ir_size_is_const(s->index[x].hi, &hi) ||
        __builtin_mul_overflow(n, hi > lo ? hi - lo : 0, &n))
      return -1;
  }
  return n;
}

int sched_kernel_threads(const ir_func *f, int first, int end, int threads)
{
  int64_t total = 0;
  for (int i = first; i < end; i++) {
    int64_t n = stmt_points(f->stmts[i]);
    if (n < 0 || __builtin_add_overflow(total, n, &total))
      return threads;
  }
  return total < SCHED_SERIAL_POINTS ? 1 : threads;
}

/* Whether statements a and b run over the same box with no reduction. */
static bool same_pointwise_box(const ir_stmt *a, const ir_stmt *b)
{
  if (a->n_index != b->n_index || a->n_index != a->n_lhs || b->n_index != b->n_lhs)
    return false;
  for (int x = 0; x < a->n_index; x++)
    if (!ir_size_equal(a->index[x].lo, b->index[x].lo) || !ir_size_equal(a->index[x].hi, b->index[x].hi))
      return false;
  return true;
}

/* Whether statement a runs over a constant box inside b's, with no
 * reduction index (a window's tap over the outputs it reaches). */
static bool pointwise_box_within(const ir_stmt *a, const ir_stmt *b)
{
  int64_t alo, ahi, blo, bhi;
  if (a->n_index != b->n_index || a->n_index != a->n_lhs || b->n_index != b->n_lhs)
    return false;
  for (int x = 0; x < a->n_index; x++)
    if (!ir_size_is_const(a->index[x].lo, &alo) || !ir_size_is_const(a->index[x].hi, &ahi) ||
        !ir_size_is_const(b->index[x].lo, &blo) || !ir_size_is_const(b->index[x].hi, &bhi) || alo < blo ||
        ahi > bhi)
      return false;
  return true;
}

/* Whether every statement runs inside the first one's box, some strictly
 * (the taps of a pooling window or a depthwise convolution, then their
 * pointwise consumers): one pass, each tap over its own range. */
static bool taps_within_first(const ir_func *f, int first, int end)
{
  bool smaller = false;
  for (int i = first + 1; i < end; i++) {
    if (!ir_stmt_is_plain(f->stmts[i]) || !pointwise_box_within(f->stmts[i], f->stmts[first]))
      return false;
    smaller = smaller || !same_pointwise_box(f->stmts[i], f->stmts[first]);
  }
  return smaller;
}

bool sched_kernel_taps(const ir_func *f, int first, int end)
{
  return end - first >= 2 && ir_stmt_is_plain(f->stmts[first]) && taps_within_first(f, first, end);
}

sched_fusion sched_kernel_fusion(const ir_func *f, int first, int end, sched_fusion fusion)
{
  if (sched_kernel_taps(f, first, end))
    return SCHED_FUSE_MAX;
  if (end - first == 2 && ir_stmt_is_plain(f->stmts[first]) && ir_stmt_is_plain(f->stmts[first + 1]) &&
      same_pointwise_box(f->stmts[first], f->stmts[first + 1]))
    return SCHED_FUSE_MAX; /* two maps over one box (a batch norm and its ReLU): one pass */
  if (end - first < 3)
    return fusion;
  for (int i = first; i < end; i++)
    if (!ir_stmt_is_plain(f->stmts[i]) || f->stmts[i]->n_index != f->stmts[i]->n_lhs)
      return fusion;
  for (int i = first + 2; i < end; i++)
    if (!same_pointwise_box(f->stmts[first + 1], f->stmts[i]))
      return fusion;
  return SCHED_FUSE_MAX;
}

/* Rows up to a quarter past the row block take one block: a second block
 * of a few rows would stream every panel of B again (ViT's 197 tokens
 * against 192-row blocks). */
static void widen_row_block(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  int64_t m = 1, d;
  for (int t = 0; t < c->n_rows; t++)
    if (!ir_size_is_const(f->stmts[c->stmt]->index[c->rows[t]].hi, &d) || __builtin_mul_overflow(m, d, &m))
      return;
  if (m > b->mc && m <= b->mc + b->mc / 4)
    b->mc = round_up((int)m, b->mr);
}

void sched_contraction_heuristic(const ir_func *f, const sched_contraction *c, const sched_options *o,
                                 const sched_cpu *cpu, sched_blocks *b)
{
  sched_options own = *o;
  memset(own.tile, 0, sizeof(own.tile));
  memset(own.reg_tile, 0, sizeof(own.reg_tile));
  if (!cpu)
    cpu = sched_cpu_native();
  if (c->i < SCHED_MAX_DIMS && c->j < SCHED_MAX_DIMS && c->k < SCHED_MAX_DIMS)
    contraction_heuristic(c, cpu, &own);
  own.threads = sched_kernel_threads(f, c->stmt, c->stmt + 1, o->threads);
  sched_contraction_blocks(c, &own, b);
  sched_contraction_fit_tile(f, c, b);
  widen_row_block(f, c, b);
}

/* ------------------------------------------------------------------------
 * Schedule tree transformations
 * ------------------------------------------------------------------------ */

void sched_set_isl_options(isl_ctx *isl, const sched_options *o)
{
  isl_options_set_schedule_serialize_sccs(isl, o->fusion == SCHED_FUSE_MIN);
  isl_options_set_schedule_outer_coincidence(isl, o->fusion == SCHED_FUSE_KEEP_PARALLEL);
  isl_options_set_schedule_whole_component(isl, 0);
}

/* The sizes v[0..n-1] as a multi_val on the band's space; NULL when one is
 * 0 (that band is left alone). */
static __isl_give isl_multi_val *band_sizes(__isl_keep isl_schedule_node *band, const int *v, int n)
{
  if (n > SCHED_MAX_DIMS)
    return NULL;
  for (int i = 0; i < n; i++)
    if (v[i] <= 0)
      return NULL;
  isl_space *space = isl_schedule_node_band_get_space(band);
  isl_multi_val *mv = isl_multi_val_zero(space);
  for (int i = 0; i < n; i++)
    mv = isl_multi_val_set_val(mv, i, isl_val_int_from_si(isl_schedule_node_get_ctx(band), v[i]));
  return mv;
}

static bool all_coincident(__isl_keep isl_schedule_node *band, int n, bool *coincident)
{
  bool all = true;
  for (int i = 0; i < n; i++) {
    coincident[i] = isl_schedule_node_band_member_get_coincident(band, i) == isl_bool_true;
    all = all && coincident[i];
  }
  return all;
}

/* Reorders the members of a permutable band: member i becomes order[i]. */
static __isl_give isl_schedule_node *permute_band(__isl_take isl_schedule_node *band, const int *order, int n)
{
  bool identity = true, coincident[SCHED_MAX_DIMS];
  for (int i = 0; i < n; i++)
    identity = identity && order[i] == i;
  if (identity || n > SCHED_MAX_DIMS || n < 2 || !is_permutation(order, n))
    return band;
  all_coincident(band, n, coincident);
  isl_multi_union_pw_aff *old = isl_schedule_node_band_get_partial_schedule(band);
  isl_multi_union_pw_aff *mupa = isl_multi_union_pw_aff_copy(old);
  for (int i = 0; i < n; i++)
    mupa = isl_multi_union_pw_aff_set_union_pw_aff(mupa, i, isl_multi_union_pw_aff_get_union_pw_aff(old, order[i]));
  isl_multi_union_pw_aff_free(old);
  band = isl_schedule_node_delete(band);
  band = isl_schedule_node_insert_partial_schedule(band, mupa);
  band = isl_schedule_node_band_set_permutable(band, 1);
  for (int i = 0; i < n; i++)
    band = isl_schedule_node_band_member_set_coincident(band, i, coincident[order[i]]);
  return band;
}

static __isl_give isl_schedule_node *mark(__isl_take isl_schedule_node *node, const char *name)
{
  return isl_schedule_node_insert_mark(node, isl_id_alloc(isl_schedule_node_get_ctx(node), name, NULL));
}

/* Unrolls the register tile loops (the band at node) when their iterations
 * are at most o->unroll in all. */
static __isl_give isl_schedule_node *unroll_band(__isl_take isl_schedule_node *node, const int *reg, int n,
                                                 const sched_options *o)
{
  long product = 1;
  for (int i = 0; i < n; i++)
    product *= reg[i] > 0 ? reg[i] : 1 << 20;
  if (o->unroll <= 0 || product > o->unroll)
    return node;
  for (int i = 0; i < n; i++)
    node = isl_schedule_node_band_member_set_ast_loop_type(node, i, isl_ast_loop_unroll);
  return node;
}

/* Whether node is a leaf, or a sequence of filters over leaves (fused
 * statements in one loop body). */
static bool is_loop_body(__isl_keep isl_schedule_node *node)
{
  if (!node)
    return false;
  if (isl_schedule_node_get_type(node) == isl_schedule_node_leaf)
    return true;
  if (isl_schedule_node_get_type(node) != isl_schedule_node_sequence)
    return false;
  isl_size n = isl_schedule_node_n_children(node);
  bool body = n > 0;
  for (int i = 0; body && i < n; i++) {
    isl_schedule_node *filter = isl_schedule_node_get_child(node, i);
    isl_schedule_node *child = filter ? isl_schedule_node_get_child(filter, 0) : NULL;
    body = child && isl_schedule_node_get_type(child) == isl_schedule_node_leaf;
    isl_schedule_node_free(child);
    isl_schedule_node_free(filter);
  }
  return body;
}

/* Marks the last member of the band at node "aotc_simd" when it is
 * coincident and innermost (the band's child is a leaf, or fused
 * statements). */
static __isl_give isl_schedule_node *mark_simd(__isl_take isl_schedule_node *node, const sched_options *o)
{
  isl_size n = isl_schedule_node_band_n_member(node);
  if (!o->vectorize || n < 1 || isl_schedule_node_band_member_get_coincident(node, n - 1) != isl_bool_true)
    return node;
  isl_schedule_node *child = isl_schedule_node_get_child(node, 0);
  bool leaf = is_loop_body(child);
  isl_schedule_node_free(child);
  if (!leaf || isl_schedule_node_band_member_get_ast_loop_type(node, n - 1) == isl_ast_loop_unroll)
    return node;
  if (n > 1)
    node = isl_schedule_node_child(isl_schedule_node_band_split(node, n - 1), 0);
  node = mark(node, "aotc_simd");
  return n > 1 ? isl_schedule_node_parent(node) : node;
}

/* Marks the first member of band (coincident) to be spread over the
 * threads. The printer spreads the loop right under the mark; when that
 * member's loop has one iteration isl prints none, and the loop under the
 * mark would be the next member's, which may carry a reduction (rowsum with
 * 2 rows: each thread added into both sums). So the first member gets a
 * band of its own and the rest sit under a mark of their own: a degenerate
 * first loop leaves a mark, not a loop, under aotc_parallel. */
static __isl_give isl_schedule_node *mark_parallel(__isl_take isl_schedule_node *band)
{
  if (isl_schedule_node_band_n_member(band) > 1) {
    band = isl_schedule_node_child(isl_schedule_node_band_split(band, 1), 0);
    band = isl_schedule_node_parent(mark(band, "aotc_serial"));
  }
  return mark(band, "aotc_parallel");
}

/* Tiles, reorders, unrolls and marks one outermost band; returns the node
 * at the same place (the outermost new node). */
static __isl_give isl_schedule_node *transform_band(__isl_take isl_schedule_node *band, const sched_options *o)
{
  isl_size n = isl_schedule_node_band_n_member(band);
  bool coincident[SCHED_MAX_DIMS] = {false};
  if (n < 1 || n > SCHED_MAX_DIMS || isl_schedule_node_band_get_permutable(band) != isl_bool_true)
    return band;
  all_coincident(band, n, coincident);
  int depth = 0;
  isl_multi_val *tile = band_sizes(band, o->tile, n);
  bool permuted = n <= SCHED_MAX_DIMS && is_permutation(o->order, n);
  bool parallel = o->threads > 1 && coincident[tile || !permuted ? 0 : o->order[0]];
  if (tile) {
    band = isl_schedule_node_child(isl_schedule_node_band_tile(band, tile), 0);
    depth++;
  }
  band = permute_band(band, o->order, n);
  int reg[SCHED_MAX_DIMS];
  for (int i = 0; i < n; i++)
    reg[i] = o->reg_tile[permuted ? o->order[i] : i];
  isl_multi_val *rt = band_sizes(band, reg, n);
  if (rt) {
    band = isl_schedule_node_child(isl_schedule_node_band_tile(band, rt), 0);
    depth++;
    band = unroll_band(band, reg, n, o);
  }
  band = mark_simd(band, o);
  for (; depth > 0; depth--)
    band = isl_schedule_node_parent(band);
  return parallel ? mark_parallel(band) : band;
}

/* The outermost bands, found top-down: each is transformed once. */
static __isl_give isl_schedule_node *transform_outermost(__isl_take isl_schedule_node *node, const sched_options *o)
{
  if (!node)
    return NULL;
  if (isl_schedule_node_get_type(node) == isl_schedule_node_band)
    return transform_band(node, o);
  isl_size n = isl_schedule_node_n_children(node);
  for (int i = 0; i < n && node; i++) {
    node = isl_schedule_node_child(node, i);
    node = transform_outermost(node, o);
    node = isl_schedule_node_parent(node);
  }
  return node;
}

__isl_give isl_schedule *sched_apply(__isl_take isl_schedule *schedule, const sched_options *o)
{
  if (!schedule || !o)
    return schedule;
  /* Tile loops step by 1 (floor(i / T)), not by T: the same loops, and
   * isl generates them in half the time (no existential variable for the
   * multiple of T), which is most of a tuning candidate's planning. */
  isl_ctx *isl = isl_schedule_get_ctx(schedule);
  int scale = isl_options_get_tile_scale_tile_loops(isl);
  isl_options_set_tile_scale_tile_loops(isl, 0);
  isl_schedule *copy = isl_schedule_copy(schedule);
  isl_schedule_node *root = transform_outermost(isl_schedule_get_root(schedule), o);
  isl_options_set_tile_scale_tile_loops(isl, scale);
  isl_schedule_free(schedule);
  if (!root)
    return copy;
  isl_schedule_free(copy);
  isl_schedule *result = isl_schedule_node_get_schedule(root);
  isl_schedule_node_free(root);
  return result;
}

/* Every member of the band at node generated as separate loops per set of
 * active statements (unrolled members stay unrolled). */
static __isl_give isl_schedule_node *separate_band(__isl_take isl_schedule_node *node, void *user)
{
  (void)user;
  if (!node || isl_schedule_node_get_type(node) != isl_schedule_node_band)
    return node;
  isl_size n = isl_schedule_node_band_n_member(node);
  for (int i = 0; i < n; i++)
    if (isl_schedule_node_band_member_get_ast_loop_type(node, i) != isl_ast_loop_unroll)
      node = isl_schedule_node_band_member_set_ast_loop_type(node, i, isl_ast_loop_separate);
  return node;
}

__isl_give isl_schedule *sched_separate(__isl_take isl_schedule *schedule)
{
  return isl_schedule_map_schedule_node_bottom_up(schedule, separate_band, NULL);
}
