/* grad.h: reverse-mode differentiation of the IR (grad.c, grad_rules.c).
 *
 * A gradient function g is built from a function f in three steps:
 * grad_begin copies f's statements into g (the forward part; a tensor
 * overwritten in full by a later statement gets a new version, so every
 * value the backward part reads is still there), the caller may append
 * statements (a loss), and grad_backward appends, statement by statement in
 * reverse order, the adjoint statements: dA(I(p)) += dT(L(p)) * dT/dA for
 * every read A(I(p)) of a statement T(L(p)) op= rhs(p). A read whose
 * subscripts are distinct index variables gives a plain statement (the
 * other indices summed); a strided, broadcast, padded or indirect read gives
 * a scatter-add (general left-hand side; padded reads clamp the subscript
 * and mask the value). max/min reductions pass the adjoint to the points
 * equal to the result; selects, max and min of two values pass it to the
 * side chosen; the derivatives of the builtins are in grad_rules.c.
 *
 * `aotc kernels.tc --grad NAME` (grad_func) emits, for
 *   def NAME(A_1, ..., A_n) -> (Y_1, ..., Y_m)
 * the function
 *   def NAME_grad(A_1, ..., A_n, d_Y_1, ..., d_Y_m) -> (d_A_1, ..., d_A_k)
 * with the same size parameters: the inputs (a model's parameters
 * included, in order), the adjoint of every floating-point output, and the
 * adjoint of every floating-point input in input order (integer inputs
 * such as indices get none). Each d_X has X's shape and type. */
#ifndef AOTC_GRAD_H
#define AOTC_GRAD_H

#include "ir.h"

typedef struct grad_builder grad_builder;

/* g named name: f's tensors (same numbers; outputs become temporaries,
 * parameters inputs), its statements with versions, no inputs or outputs
 * yet. active[t] (f's numbering) marks the tensors differentiated against
 * (NULL: every floating-point input and parameter). NULL on error
 * (reported: a read of a value a later statement changes in place). */
grad_builder *grad_begin(aotc_ctx *ctx, const ir_func *f, const char *name, const bool *active);
ir_func *grad_func_of(grad_builder *b);
aotc_ctx *grad_ctx(grad_builder *b);
/* The tensor of g holding f's tensor t after the forward part. */
int grad_final(const grad_builder *b, int t);
/* A new tensor of g (rank dims of shape, role); its number, -1 on OOM. */
int grad_add_tensor(grad_builder *b, const char *name, ir_type type, ir_role role, int rank,
                    ir_size *const *shape);
/* prefix + base + suffix, made distinct from every tensor name of g. */
const char *grad_fresh_name(grad_builder *b, const char *prefix, const char *base, const char *suffix);
/* Appends a forward statement (g's numbering). */
bool grad_add_stmt(grad_builder *b, ir_stmt *s);
/* A statement over the whole shape of tensor t, T(i0, ...) red= rhs, whose
 * rhs is built by the caller with the indices 0..rank-1 (and more reduction
 * indices when n_index > rank, each over [0, extra_hi[k])). */
ir_stmt *grad_stmt_over(grad_builder *b, int t, int n_index, ir_size *const *extra_hi, ir_reduction red,
                        bool init);
/* Appends the backward part: adjoints zeroed, seeds added (the adjoint of
 * seed[i] gets seed_value[i], a tensor of the same shape, or 1 when -1),
 * then the adjoint statements. Adjoints of the active inputs are outputs of
 * g when inputs_adjoint_out, else temporaries. */
bool grad_backward(grad_builder *b, const int *seed, const int *seed_value, int n_seeds, bool inputs_adjoint_out);
/* The adjoint tensor of g's tensor t, -1 when it has none (inactive). */
int grad_adjoint(const grad_builder *b, int t);
/* Finishes g: the tensor, input and output arrays. */
ir_func *grad_finish(grad_builder *b);

/* NAME_grad of f (the signature above). NULL on error (reported). */
ir_func *grad_func(aotc_ctx *ctx, const ir_func *f);

/* ------------------------------------------------------------------------
 * Expression helpers and the derivative rules (grad_rules.c)
 * ------------------------------------------------------------------------ */

/* A deep copy of e; accesses to tensor t become tmap[t] (tmap NULL: the
 * same), index variable k becomes imap[k] (imap NULL: the same). */
ir_expr *grad_clone(aotc_ctx *ctx, const ir_expr *e, const int *tmap, const int *imap);
ir_expr *grad_fconst(aotc_ctx *ctx, ir_type type, double v, ir_loc loc);
ir_expr *grad_bin(aotc_ctx *ctx, ir_op op, ir_expr *a, ir_expr *b);
ir_expr *grad_call(aotc_ctx *ctx, ir_builtin fn, ir_type type, ir_expr *a, ir_expr *b);
ir_expr *grad_select(aotc_ctx *ctx, ir_expr *c, ir_expr *a, ir_expr *b);
ir_expr *grad_access(aotc_ctx *ctx, const ir_func *f, int t, ir_expr *const *args, ir_loc loc);
ir_expr *grad_index(aotc_ctx *ctx, int k, ir_loc loc);

/* Called at every access leaf reached with its seed (the adjoint of the
 * value read, an expression of the statement's indices). */
typedef bool (*grad_leaf_fn)(void *ud, const ir_expr *access, ir_expr *seed);
/* Whether a leaf access is differentiated (its tensor is active). */
typedef bool (*grad_active_fn)(void *ud, const ir_expr *access);
/* Distributes seed (the adjoint of e's value) over the accesses of e by the
 * chain rule; false on OOM. */
bool grad_expr(aotc_ctx *ctx, const ir_expr *e, ir_expr *seed, grad_active_fn active, grad_leaf_fn leaf,
               void *ud);

#endif
