/* dropout.c: dropout in the training step (train.h), and the counter-based
 * generator it draws its masks from.
 *
 * A dropout lowers to the identity y(i...) = x(i...); in the step it
 * becomes
 *
 *   y(i...) = x(i...) * (bits(seed, counter) >= ratio 2^32 ? 1 / (1 - ratio) : 0)
 *
 * with counter = ((step 64 + layer) 2^32 + the element's row-major index),
 * seed and step read from the step's hyper-parameters (TRAIN_HYPER_SEED,
 * TRAIN_HYPER_STEP), layer the dropout's number in the model. bits is
 * Widynski's "Squares" counter-based generator (arXiv:2004.06278) with the
 * key (2 seed + 1) * 0x9E3779B97F4A7C15: four rounds of square, add and
 * swap the 32-bit halves, all in uint64 arithmetic that wraps, so it has no
 * state besides the counter and gives the same bits on every platform (no
 * libc rand). The generator's rounds are statements over uint64
 * temporaries, so an element's value is not recomputed from scratch in
 * every round. NAME_forward keeps the identity. */
#include "train.h"

#define TRAIN_MAX_RANK 16

static const ir_loc noloc;

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)
#define HALF UINT64_C(4294967296)

static uint64_t swap_halves(uint64_t x)
{
  return (x >> 32) | (x << 32);
}

uint32_t train_random_bits(uint64_t seed, uint64_t counter)
{
  uint64_t key = (2 * seed + 1) * GOLDEN;
  uint64_t x = counter * key, y = x, z = y + key;
  x = swap_halves(x * x + y);
  x = swap_halves(x * x + z);
  x = swap_halves(x * x + y);
  return (uint32_t)((x * x + z) >> 32);
}

/* ------------------------------------------------------------------------
 * The same generator as uint64 expressions
 * ------------------------------------------------------------------------ */

static ir_expr *u64(aotc_ctx *ctx, uint64_t v)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_INT, IR_U64, noloc, 0);
  if (e)
    e->ival = (int64_t)v;
  return e;
}

static ir_expr *cast64(aotc_ctx *ctx, ir_expr *a)
{
  ir_expr *e = a ? ir_expr_new(ctx, IR_CAST, IR_U64, noloc, 1) : NULL;
  if (e)
    e->args[0] = a;
  return e;
}

static ir_expr *clone(aotc_ctx *ctx, const ir_expr *e)
{
  return e ? grad_clone(ctx, e, NULL, NULL) : NULL;
}

/* The halves of x swapped: x / 2^32 + x 2^32 (the bits do not overlap). */
static ir_expr *swapped(aotc_ctx *ctx, ir_expr *x)
{
  return grad_bin(ctx, IR_ADD, grad_bin(ctx, IR_DIV, x, u64(ctx, HALF)), grad_bin(ctx, IR_MUL, clone(ctx, x), u64(ctx, HALF)));
}

/* square(swapped(read)) + add */
static ir_expr *round_of(aotc_ctx *ctx, ir_expr *read, ir_expr *add)
{
  ir_expr *s = swapped(ctx, read);
  return grad_bin(ctx, IR_ADD, grad_bin(ctx, IR_MUL, s, clone(ctx, s)), add);
}

static ir_expr *hyper_at(aotc_ctx *ctx, const ir_func *f, int hyper, int slot)
{
  ir_expr *i = ir_expr_new(ctx, IR_CONST_INT, IR_I64, noloc, 0);
  if (!i)
    return NULL;
  i->ival = slot;
  return cast64(ctx, grad_access(ctx, f, hyper, &i, noloc));
}

/* The row-major index of the element statement s writes. */
static ir_expr *element(aotc_ctx *ctx, const ir_stmt *s)
{
  ir_expr *lin = NULL;
  for (int d = 0; d < s->n_index; d++) {
    ir_size *stride = ir_size_const(ctx, 1);
    for (int e = d + 1; e < s->n_index; e++)
      stride = ir_size_bin(ctx, IR_SZ_MUL, stride, s->index[e].hi);
    ir_expr *sz = ir_expr_new(ctx, IR_SIZE, IR_I64, noloc, 0);
    if (!sz || !stride)
      return NULL;
    sz->size = stride;
    ir_expr *term = grad_bin(ctx, IR_MUL, grad_index(ctx, d, noloc), sz);
    lin = lin ? grad_bin(ctx, IR_ADD, lin, term) : term;
  }
  return cast64(ctx, lin);
}

typedef struct gen {
  aotc_ctx *ctx;
  ir_func *c;
  const ir_stmt *s;
  int origin, hyper, layer;
} gen;

/* counter * key, counter and key from the hyper-parameters. */
static ir_expr *first(const gen *g)
{
  aotc_ctx *ctx = g->ctx;
  ir_expr *step = hyper_at(ctx, g->c, g->hyper, TRAIN_HYPER_STEP);
  ir_expr *row = grad_bin(ctx, IR_ADD, grad_bin(ctx, IR_MUL, step, u64(ctx, 64)), u64(ctx, (uint64_t)g->layer));
  ir_expr *counter = grad_bin(ctx, IR_ADD, grad_bin(ctx, IR_MUL, row, u64(ctx, HALF)), element(ctx, g->s));
  ir_expr *seed = hyper_at(ctx, g->c, g->hyper, TRAIN_HYPER_SEED);
  ir_expr *key = grad_bin(ctx, IR_MUL, grad_bin(ctx, IR_ADD, grad_bin(ctx, IR_MUL, seed, u64(ctx, 2)), u64(ctx, 1)),
                      u64(ctx, GOLDEN));
  return grad_bin(ctx, IR_MUL, counter, key);
}

/* first + key, the generator's z. */
static ir_expr *first_plus_key(const gen *g)
{
  ir_expr *x = first(g);
  return x ? grad_bin(g->ctx, IR_ADD, x, clone(g->ctx, x->args[1])) : NULL;
}

/* t(i...) = rhs over s's indices, t a new uint64 temporary; t's number. */
static int push_round(const gen *g, const char *suffix, ir_expr *rhs)
{
  const ir_tensor *y = g->c->tensors[g->s->tensor];
  ir_stmt *st = IR_NEW(g->ctx, ir_stmt);
  int t = st && rhs ? train_new_tensor(g->ctx, g->c, ir_sprintf(g->ctx, "%s%s", y->name, suffix), IR_U64, y->rank,
                                       y->shape)
                    : -1;
  if (t < 0)
    return -1;
  *st = *g->s;
  st->tensor = t;
  st->rhs = rhs;
  train_push_stmt(g->c, st, g->origin);
  return t;
}

static ir_expr *read(const gen *g, int t)
{
  ir_expr *args[TRAIN_MAX_RANK];
  for (int d = 0; d < g->s->n_index && d < TRAIN_MAX_RANK; d++)
    args[d] = grad_index(g->ctx, d, noloc);
  return grad_access(g->ctx, g->c, t, args, noloc);
}

/* The generator's 32 bits for the element s writes (three rounds stored). */
static ir_expr *bits(const gen *g)
{
  ir_expr *x = first(g);
  int a1 = push_round(g, "_rng1", x ? grad_bin(g->ctx, IR_ADD, grad_bin(g->ctx, IR_MUL, x, clone(g->ctx, x)),
                                           clone(g->ctx, x))
                                    : NULL);
  int a2 = a1 >= 0 ? push_round(g, "_rng2", round_of(g->ctx, read(g, a1), first_plus_key(g))) : -1;
  int a3 = a2 >= 0 ? push_round(g, "_rng3", round_of(g->ctx, read(g, a2), first(g))) : -1;
  if (a3 < 0)
    return NULL;
  return grad_bin(g->ctx, IR_DIV, round_of(g->ctx, read(g, a3), first_plus_key(g)), u64(g->ctx, HALF));
}

/* The threshold below which an element is dropped: ratio 2^32, rounded. */
static uint64_t threshold(double ratio)
{
  double t = ratio * 4294967296.0 + 0.5;
  return t >= 4294967296.0 ? HALF : (uint64_t)t;
}

bool train_dropout_rewrite(aotc_ctx *ctx, ir_func *c, const ir_stmt *s, int origin, double ratio, int layer,
                           int hyper)
{
  gen g = {ctx, c, s, origin, hyper, layer};
  ir_type type = c->tensors[s->tensor]->type;
  if (layer >= 64 || !ir_stmt_is_plain(s) || s->n_index > TRAIN_MAX_RANK) {
    aotc_error(ctx, noloc, "train: dropout '%s' is not in the expected form (or more than 64 dropouts)",
               c->tensors[s->tensor]->name);
    return false;
  }
  ir_expr *keep = grad_bin(ctx, IR_GE, bits(&g), u64(ctx, threshold(ratio)));
  ir_expr *scale = grad_select(ctx, keep, grad_fconst(ctx, type, ratio < 1 ? 1 / (1 - ratio) : 0, noloc),
                               grad_fconst(ctx, type, 0, noloc));
  ir_stmt *st = IR_NEW(ctx, ir_stmt);
  if (!st || !scale)
    return false;
  *st = *s;
  st->rhs = grad_bin(ctx, IR_MUL, grad_clone(ctx, s->rhs, NULL, NULL), scale);
  if (!st->rhs)
    return false;
  train_push_stmt(c, st, origin);
  return true;
}
