/* test_onnx.c: Criterion unit tests of the ONNX frontend: Debian's ONNX
 * backend node tests through the op library and the reference interpreter,
 * clear errors for unsupported operators, the TensorProto reader (typed
 * fields, external data kept inside the model's folder), and hostile input:
 * truncated and corrupted models give errors, never crashes. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../onnx/onnx_testdata.h"
#include "ir.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node/"

static bool have_testdata(void)
{
  return access(NODE_DIR "test_add/model.onnx", R_OK) == 0;
}

static void expect_pass(const char *name)
{
  char dir[512], msg[1024];
  snprintf(dir, sizeof(dir), NODE_DIR "%s", name);
  ot_result r = onnx_testdata_run(dir, msg, sizeof(msg));
  cr_expect(r == OT_PASS, "%s: %s", name, msg);
}

static const char *const node_tests[] = {
    "test_add", "test_add_bcast", "test_sub_bcast", "test_mul", "test_div_bcast", "test_pow", "test_relu",
    "test_sigmoid", "test_tanh", "test_erf", "test_sqrt", "test_clip", "test_leakyrelu", "test_elu", "test_selu",
    "test_softmax_axis_0", "test_softmax_large_number", "test_logsoftmax_axis_1", "test_conv_with_strides_padding",
    "test_conv_with_autopad_same", "test_basic_conv_without_padding", "test_convtranspose", "test_convtranspose_pads",
    "test_gemm_all_attributes", "test_gemm_default_no_bias", "test_matmul_2d", "test_matmul_3d", "test_matmul_4d",
    "test_maxpool_2d_pads", "test_maxpool_2d_ceil", "test_maxpool_2d_dilations", "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_same_upper", "test_globalaveragepool",
    "test_batchnorm_example", "test_batchnorm_epsilon", "test_instancenorm_example",
    "test_layer_normalization_4d_axis1", "test_layer_normalization_default_axis",
    "test_layer_normalization_2d_axis_negative_1_expanded", "test_flatten_axis2", "test_reshape_negative_dim",
    "test_reshape_allowzero_reordered", "test_transpose_all_permutations_3", "test_concat_3d_axis_negative_1",
    "test_slice_neg_steps", "test_gather_1", "test_gather_negative_indices", "test_gather_elements_negative_indices", "test_expand_dim_changed",
    "test_tile", "test_edge_pad", "test_reflect_pad", "test_constant_pad", "test_split_variable_parts_2d",
    "test_squeeze_negative_axes", "test_unsqueeze_two_axes", "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_sum_keepdims_random", "test_reduce_max_do_not_keepdims_example", "test_reduce_log_sum_exp_keepdims_random",
    "test_argmax_keepdims_random_select_last_index", "test_argmin_no_keepdims_example", "test_hardmax_axis_1",
    "test_where_long_example", "test_equal_bcast", "test_less_equal", "test_not_2d", "test_cast_FLOAT_to_DOUBLE",
    "test_shape_start_1_end_negative_1", "test_size", "test_constantofshape_int_zeros", "test_range_float_type_positive_delta",
    "test_depthtospace_crd_mode_example", "test_spacetodepth", "test_cumsum_1d_reverse_exclusive", "test_tril_neg",
    "test_eyelike_with_dtype", "test_round", "test_mod_mixed_sign_int32", "test_sign", "test_isinf_negative",
    "test_hardswish", "test_celu_expanded", "test_prelu_broadcast", "test_sum_example",
    "test_mean_one_input",
};

Test(onnx, node_tests_through_the_interpreter)
{
  if (!have_testdata())
    cr_skip_test("libonnx-testdata is not installed");
  for (size_t k = 0; k < sizeof(node_tests) / sizeof(node_tests[0]); k++)
    expect_pass(node_tests[k]);
}

/* ------------------------------------------------------------------------
 * Unsupported operators
 * ------------------------------------------------------------------------ */

static bool diags_mention(const aotc_ctx *ctx, const char *a, const char *b)
{
  for (int k = 0; k < ctx->n_diags; k++)
    if (strstr(ctx->diags[k].msg, a) && strstr(ctx->diags[k].msg, b))
      return true;
  return false;
}

Test(onnx, unsupported_operator_names_op_and_node)
{
  if (!have_testdata())
    cr_skip_test("libonnx-testdata is not installed");
  size_t len;
  unsigned char *buf = onnx_testdata_slurp(NODE_DIR "test_nonzero_example/model.onnx", &len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_assert(buf && len);
  cr_expect_null(onnx_compile(ctx, "model.onnx", buf, len, "model"));
  cr_expect(ctx->n_errors > 0);
  cr_expect(diags_mention(ctx, "NonZero", "not supported"), "the error names the operator");
  aotc_ctx_free(ctx);
  free(buf);
}

Test(onnx, compile_names_function_and_orders_io)
{
  if (!have_testdata())
    cr_skip_test("libonnx-testdata is not installed");
  size_t len;
  unsigned char *buf = onnx_testdata_slurp(NODE_DIR "test_gemm_all_attributes/model.onnx", &len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_module *m = onnx_compile(ctx, "dir/model.onnx", buf, len, "gemm");
  cr_assert_not_null(m);
  cr_expect_eq(m->n_funcs, 1);
  const ir_func *f = m->funcs[0];
  cr_expect_str_eq(f->name, "gemm");
  cr_expect_eq(f->n_params, 0);
  cr_expect_eq(f->n_inputs, 3);
  cr_expect_eq(f->n_outputs, 1);
  cr_expect_str_eq(f->tensors[f->inputs[0]]->name, "a");
  cr_expect_eq(f->tensors[f->outputs[0]]->role, IR_OUTPUT);
  aotc_ctx_free(ctx);
  free(buf);
}

/* ------------------------------------------------------------------------
 * TensorProto reader: a tiny protobuf writer builds the messages
 * ------------------------------------------------------------------------ */

typedef struct pbuf {
  unsigned char b[512];
  size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v)
{
  do {
    p->b[p->n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
}

static void pb_int(pbuf *p, int field, uint64_t v)
{
  pb_varint(p, (uint64_t)field << 3);
  pb_varint(p, v);
}

static void pb_bytes(pbuf *p, int field, const void *data, size_t len)
{
  pb_varint(p, (uint64_t)field << 3 | 2);
  pb_varint(p, len);
  memcpy(p->b + p->n, data, len);
  p->n += len;
}

/* TensorProto: dims (1), data_type (2), raw_data (9), external_data (13),
 * data_location (14). */
static pbuf external_tensor(const char *location)
{
  pbuf t = {.n = 0}, e = {.n = 0};
  pb_int(&t, 1, 2);
  pb_int(&t, 2, 1);
  pb_bytes(&e, 1, "location", 8);
  pb_bytes(&e, 2, location, strlen(location));
  pb_bytes(&t, 13, e.b, e.n);
  pb_int(&t, 14, 1);
  return t;
}

Test(onnx, read_tensor_raw_data)
{
  pbuf t = {.n = 0};
  float v[3] = {1.5f, -2.0f, 4.25f};
  pb_int(&t, 1, 3);
  pb_int(&t, 2, 1);
  pb_bytes(&t, 9, v, sizeof(v));
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_type type;
  int rank;
  int64_t shape[16];
  void *data;
  cr_assert(onnx_read_tensor(ctx, "t.pb", t.b, t.n, &type, &rank, shape, &data));
  cr_expect_eq(type, IR_F32);
  cr_expect_eq(rank, 1);
  cr_expect_eq(shape[0], 3);
  cr_expect(!memcmp(data, v, sizeof(v)));
  free(data);
  aotc_ctx_free(ctx);
}

Test(onnx, read_tensor_checks_sizes_against_dims)
{
  pbuf t = {.n = 0};
  float v[2] = {1, 2};
  pb_int(&t, 1, 3);
  pb_int(&t, 2, 1);
  pb_bytes(&t, 9, v, sizeof(v));
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_type type;
  int rank;
  int64_t shape[16];
  void *data;
  cr_expect_not(onnx_read_tensor(ctx, "t.pb", t.b, t.n, &type, &rank, shape, &data));
  cr_expect(ctx->n_errors > 0);
  aotc_ctx_free(ctx);
}

Test(onnx, external_data_must_stay_in_the_folder)
{
  const char *bad[] = {"../secret.bin", "/etc/passwd", "a/../../b", ".."};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    pbuf t = external_tensor(bad[k]);
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    ir_type type;
    int rank;
    int64_t shape[16];
    void *data;
    cr_expect_not(onnx_read_tensor(ctx, "/tmp/t.pb", t.b, t.n, &type, &rank, shape, &data), "%s", bad[k]);
    cr_expect(diags_mention(ctx, "relative path", "folder"), "%s", bad[k]);
    aotc_ctx_free(ctx);
  }
}

Test(onnx, external_data_next_to_the_file)
{
  char dir[] = "/tmp/aotc_onnx_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], pb[256];
  float v[2] = {3.0f, -1.0f};
  snprintf(path, sizeof(path), "%s/w.bin", dir);
  snprintf(pb, sizeof(pb), "%s/t.pb", dir);
  FILE *f = fopen(path, "wb");
  fwrite(v, sizeof(v), 1, f);
  fclose(f);
  pbuf t = external_tensor("w.bin");
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_type type;
  int rank;
  int64_t shape[16];
  void *data = NULL;
  cr_expect(onnx_read_tensor(ctx, pb, t.b, t.n, &type, &rank, shape, &data));
  cr_expect(data && !memcmp(data, v, sizeof(v)));
  free(data);
  aotc_ctx_free(ctx);
  remove(path);
  rmdir(dir);
}

/* ------------------------------------------------------------------------
 * Hostile input
 * ------------------------------------------------------------------------ */

static void compile_bytes(const unsigned char *buf, size_t len)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_module *m = onnx_compile(ctx, "fuzz.onnx", buf, len, "model");
  cr_expect(m != NULL || ctx->n_errors > 0, "a NULL result comes with an error");
  aotc_ctx_free(ctx);
}

Test(onnx, truncated_and_corrupted_models_give_errors)
{
  if (!have_testdata())
    cr_skip_test("libonnx-testdata is not installed");
  size_t len;
  unsigned char *buf = onnx_testdata_slurp(NODE_DIR "test_conv_with_strides_padding/model.onnx", &len);
  cr_assert(buf && len);
  for (size_t cut = 0; cut < len; cut += 1 + cut / 16)
    compile_bytes(buf, cut);
  unsigned char *copy = malloc(len);
  srand(1234);
  for (int trial = 0; trial < 400; trial++) {
    memcpy(copy, buf, len);
    for (int k = 0; k < 1 + trial % 4; k++)
      copy[(size_t)rand() % len] = (unsigned char)rand();
    compile_bytes(copy, len);
  }
  free(copy);
  free(buf);
}
