/* onnx_io_names.c: for one ONNX backend test directory, prints the compiled
 * function's inputs and outputs with the test data file of each:
 *
 *   input NAME DIR/test_data_set_0/input_K.pb
 *   output NAME DIR/test_data_set_0/output_K.pb
 *
 * then `folded 1` when no statement of the compiled function reads an input
 * (shape inference and constant folding computed every output at compile
 * time, so the emitted C only copies constants), else `folded 0`.
 *
 * NAME is the tensor name in the compiled function (the model's name made a
 * C identifier). Every model input is listed, also those that shape
 * inference turns into constants when their values are given (Reshape's
 * shape, ...): `aotc run` passes all --input values to the frontend. Exit status 2 when the model is refused
 * (the first error goes to stderr), 1 on other failures. */
#include "onnx_testdata.h"
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IO 64

typedef struct io_tensor {
  ir_type type;
  int rank;
  int64_t shape[16];
  void *data;
} io_tensor;

static int load_inputs(aotc_ctx *ctx, const char *dir, io_tensor *in)
{
  char path[4096];
  int n = 0;
  for (; n < MAX_IO; n++) {
    size_t len;
    snprintf(path, sizeof(path), "%s/test_data_set_0/input_%d.pb", dir, n);
    unsigned char *buf = onnx_testdata_slurp(path, &len);
    if (!buf)
      break;
    bool ok = onnx_read_tensor(ctx, path, buf, len, &in[n].type, &in[n].rank, in[n].shape, &in[n].data);
    free(buf);
    if (!ok)
      return -1;
  }
  return n;
}

static int fail(aotc_ctx *ctx, int status)
{
  for (int k = 0; k < ctx->n_diags; k++)
    if (ctx->diags[k].severity == AOTC_ERROR) {
      fprintf(stderr, "%s\n", ctx->diags[k].msg);
      break;
    }
  return status;
}

static bool reads_input(const ir_func *f, const ir_expr *e)
{
  if (!e)
    return false;
  if (e->kind == IR_ACCESS && f->tensors[e->tensor]->role == IR_INPUT)
    return true;
  for (int i = 0; i < e->n_args; i++)
    if (reads_input(f, e->args[i]))
      return true;
  return false;
}

/* Whether a branch or loop of region r reads an input (its control). */
static bool region_reads_input(const ir_func *f, const ir_region *r)
{
  for (int k = 0; r && k < r->n_children; k++)
    if (region_reads_input(f, r->children[k]))
      return true;
  return r && ((r->cond >= 0 && f->tensors[r->cond]->role == IR_INPUT) ||
               (r->trip >= 0 && f->tensors[r->trip]->role == IR_INPUT));
}

/* Every output computed at compile time: no statement (or branch) reads
 * an input. */
static bool folded(const ir_func *f)
{
  if (region_reads_input(f, f->body))
    return false;
  for (int i = 0; i < f->n_stmts; i++)
    if (reads_input(f, f->stmts[i]->rhs))
      return false;
  return true;
}

static void print_io(aotc_ctx *ctx, const ir_func *f, const char *dir, const char **names, int n_names)
{
  for (int j = 0; j < n_names; j++)
    printf("input %s %s/test_data_set_0/input_%d.pb\n", ir_c_identifier(ctx, names[j]), dir, j);
  for (int k = 0; k < f->n_outputs; k++)
    printf("output %s %s/test_data_set_0/output_%d.pb\n", f->tensors[f->outputs[k]]->name, dir, k);
  printf("folded %d\n", folded(f));
}

/* The inputs could not be given: the model's own error (a sequence input,
 * say) explains it better than the test data's. */
static int refuse_or_fail(const char *path, const unsigned char *model, size_t len, aotc_ctx *ctx)
{
  aotc_ctx *fresh = aotc_ctx_new(NULL, NULL);
  if (model && !onnx_compile(fresh, path, model, len, "model"))
    return fail(fresh, 2);
  return fail(ctx, 1);
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: onnx_io_names DIR\n");
    return 1;
  }
  char path[4096];
  size_t len;
  io_tensor in[MAX_IO];
  onnx_given given[MAX_IO];
  int n_names = 0;
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  snprintf(path, sizeof(path), "%s/model.onnx", argv[1]);
  unsigned char *model = onnx_testdata_slurp(path, &len);
  const char **names = model ? onnx_model_inputs(ctx, model, len, &n_names) : NULL;
  int n_in = names ? load_inputs(ctx, argv[1], in) : -1;
  if (n_in < 0 || n_in != n_names)
    return refuse_or_fail(path, model, len, ctx);
  for (int k = 0; k < n_in; k++)
    given[k] = (onnx_given){names[k], in[k].type, in[k].rank, in[k].shape, in[k].data};
  ir_module *m = onnx_compile_given(ctx, path, model, len, "model", given, n_in);
  if (!m)
    return fail(ctx, 2);
  print_io(ctx, m->funcs[0], argv[1], names, n_names);
  return 0;
}
