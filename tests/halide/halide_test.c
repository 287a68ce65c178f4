/* halide_test.c: drives code emitted with `aotc --abi halide` through
 * halide_buffer_t (tests/halide/run.sh builds it with matmul, matmul_alpha, permute3d
 * from tests/kernels and the MLP of tests/models). Dense, transposed,
 * strided and cropped (non-zero min) buffers are checked against closed
 * forms (a naive matrix product, the permutation) and, for the MLP, against
 * PyTorch's output and the plain entry; wrong types, ranks, extents, null
 * buffers and a short workspace must be refused with Halide's error codes;
 * the filter metadata and the argv form are checked. Prints PASS/FAIL per
 * check and `N passed, N failed`. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "HalideRuntime.h"
#include "matmul.h"
#include "mlp.h"
#include "mlp_data.h"
#include "perm.h"

#define M 7
#define K 9
#define N 5

static int passed, failed;
static unsigned char workspace[1 << 16];

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

/* Uniform values in [-1, 1) from a fixed linear congruential sequence. */
static float next_value(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 23) - 1.0f;
}

static void fill(float *x, int n, unsigned seed)
{
    for (int i = 0; i < n; i++)
        x[i] = next_value(&seed);
}

/* A buffer of rank r over host: dims given innermost first as
 * (min, extent, stride) triples. */
static halide_buffer_t make_buffer(void *host, int code, int bits, int r, halide_dimension_t *dim, const int *mes)
{
    halide_buffer_t b;
    memset(&b, 0, sizeof b);
    b.host = host;
    b.type.code = (uint8_t)code;
    b.type.bits = (uint8_t)bits;
    b.type.lanes = 1;
    b.dimensions = r;
    b.dim = dim;
    for (int d = 0; d < r; d++) {
        dim[d].min = mes[3 * d];
        dim[d].extent = mes[3 * d + 1];
        dim[d].stride = mes[3 * d + 2];
        dim[d].flags = 0;
    }
    return b;
}

static halide_buffer_t float_buffer(void *host, int r, halide_dimension_t *dim, const int *mes)
{
    return make_buffer(host, halide_type_float, 32, r, dim, mes);
}

static void naive_matmul(const float *a, const float *b, float *c)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)a[m * K + k] * b[k * N + n];
            c[m * N + n] = (float)s;
        }
}

static int close_to(float x, float ref, float tol)
{
    return fabsf(x - ref) <= tol * (1.0f + fabsf(ref));
}

static float a_dense[M * K], b_dense[K * N], c_ref[M * N];

/* Dense A, B and C. */
static void test_matmul_dense(void)
{
    float c[M * N];
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    int rc = matmul_halide(&A, &B, &C), ok = rc == 0;
    for (int i = 0; ok && i < M * N; i++)
        ok = close_to(c[i], c_ref[i], 1e-5f);
    check(ok, "matmul: dense buffers match the naive product");
}

/* A stored transposed (K x M in memory), C written into a padded, cropped
 * window of a larger array with non-zero mins. */
static void test_matmul_strided(void)
{
    enum { LD = N + 3, ROWS = M + 4 };
    float at[K * M], big[ROWS * LD];
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            at[k * M + m] = a_dense[m * K + k];
    for (int i = 0; i < ROWS * LD; i++)
        big[i] = -7.0f;
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(at, 2, da, (const int[]){0, K, M, 0, M, 1});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(big + 2 * LD + 1, 2, dc, (const int[]){1, N, 1, 2, M, LD});
    int rc = matmul_halide(&A, &B, &C), ok = rc == 0, untouched = 1;
    for (int r = 0; r < ROWS; r++)
        for (int x = 0; x < LD; x++) {
            int in = r >= 2 && r < 2 + M && x >= 1 && x < 1 + N;
            if (in)
                ok = ok && close_to(big[r * LD + x], c_ref[(r - 2) * N + x - 1], 1e-5f);
            else
                untouched = untouched && big[r * LD + x] == -7.0f;
        }
    check(ok, "matmul: transposed A, cropped strided C with non-zero min");
    check(untouched, "matmul: nothing written outside the cropped C");
}

/* B read from a cropped window (non-zero min) of a larger array. */
static void test_matmul_cropped_input(void)
{
    enum { LD = N + 2 };
    float big[(K + 3) * LD], c[M * N];
    for (int i = 0; i < (K + 3) * LD; i++)
        big[i] = 1000.0f;
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++)
            big[(k + 3) * LD + n + 2] = b_dense[k * N + n];
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t B = float_buffer(big + 3 * LD + 2, 2, db, (const int[]){2, N, 1, 3, K, LD});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    int ok = matmul_halide(&A, &B, &C) == 0;
    for (int i = 0; ok && i < M * N; i++)
        ok = close_to(c[i], c_ref[i], 1e-5f);
    check(ok, "matmul: cropped strided B (min 2, 3)");
}

/* rc of matmul_halide on dense buffers with one buffer changed by `edit`. */
static int matmul_rc_with(void (*edit)(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C))
{
    float c[M * N];
    halide_dimension_t da[3], db[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    edit(&A, &B, &C);
    return matmul_halide(&A, &B, &C);
}

static void int_type(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)A, (void)C;
    B->type.code = halide_type_int;
}

static void double_type(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)A, (void)B;
    C->type.bits = 64;
}

static void vector_type(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)B, (void)C;
    A->type.lanes = 4;
}

static void rank3(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)B, (void)C;
    A->dimensions = 3;
    A->dim[2].min = 0;
    A->dim[2].extent = 1;
    A->dim[2].stride = M * K;
    A->dim[2].flags = 0;
}

static void wrong_k(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)A, (void)C;
    B->dim[1].extent = K - 1;
}

static void wrong_out(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)A, (void)B;
    C->dim[0].extent = N + 1;
}

static void negative(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)B, (void)C;
    A->dim[0].extent = -1;
}

static void device_only(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)A, (void)B;
    C->host = NULL;
    C->device = 1;
}

static void device_dirty(halide_buffer_t *A, halide_buffer_t *B, halide_buffer_t *C)
{
    (void)B, (void)C;
    A->flags = halide_buffer_flag_device_dirty;
}

static void test_matmul_refusals(void)
{
    static const struct {
        void (*edit)(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *);
        int rc;
        const char *what;
    } cases[] = {
        {int_type, halide_error_code_bad_type, "int32 B refused: bad_type"},
        {double_type, halide_error_code_bad_type, "float64 C refused: bad_type"},
        {vector_type, halide_error_code_bad_type, "4-lane A refused: bad_type"},
        {rank3, halide_error_code_bad_dimensions, "rank-3 A refused: bad_dimensions"},
        {wrong_k, halide_error_code_constraint_violated, "B with K-1 rows refused: constraint_violated"},
        {wrong_out, halide_error_code_constraint_violated, "C with N+1 columns refused: constraint_violated"},
        {negative, halide_error_code_buffer_extents_negative, "negative extent refused"},
        {device_only, halide_error_code_host_is_null, "device-only C refused: host_is_null"},
        {device_dirty, halide_error_code_device_dirty_with_no_device_support, "device-dirty A refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = matmul_rc_with(cases[i].edit);
        char what[160];
        snprintf(what, sizeof what, "matmul: %s (rc %d)", cases[i].what, rc);
        check(rc == cases[i].rc, what);
    }
    float c[M * N];
    halide_dimension_t da[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    check(matmul_halide(&A, NULL, &C) == halide_error_code_buffer_argument_is_null,
          "matmul: NULL B refused: buffer_argument_is_null");
}

/* A bounds query (input buffers without memory, as a Halide extern stage
 * asks before the call): the whole tensors, dense, nothing computed. */
static void test_matmul_bounds_query(void)
{
    float c[M * N];
    for (int i = 0; i < M * N; i++)
        c[i] = 5.0f;
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(NULL, 2, da, (const int[]){3, 1, 1, 4, 1, 1});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    int rc = matmul_halide(&A, &B, &C);
    int ok = rc == 0 && da[0].min == 0 && da[1].min == 0 && da[0].extent == K && da[1].extent == M;
    ok = ok && da[0].stride == 1 && da[1].stride == K && c[0] == 5.0f && A.host == NULL;
    check(ok, "matmul: bounds query on A answered (M from C, K from B; dense; nothing computed)");
    halide_buffer_t B2 = float_buffer(NULL, 2, db, (const int[]){0, 1, 1, 0, 1, 1});
    check(matmul_halide(&A, &B2, &C) == halide_error_code_constraint_violated,
          "matmul: bounds query with no buffer giving K refused: constraint_violated");
}

/* A strided buffer needs scratch: a workspace too small is refused. */
static void test_matmul_workspace(void)
{
    static float at[K * M], c[M * N];
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(at, 2, da, (const int[]){0, K, M, 0, M, 1});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    matmul_halide_set_workspace(workspace, 16);
    check(matmul_halide(&A, &B, &C) == halide_error_code_out_of_memory,
          "matmul: strided A with a 16-byte workspace refused: out_of_memory");
    matmul_halide_set_workspace(workspace, matmul_halide_workspace_bytes(M, K, N));
}

static void test_matmul_argv_metadata(void)
{
    float c[M * N];
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    void *args[3] = {&A, &B, &C};
    int ok = matmul_halide_argv(args) == 0;
    for (int i = 0; ok && i < M * N; i++)
        ok = close_to(c[i], c_ref[i], 1e-5f);
    check(ok, "matmul: matmul_halide_argv");
    const struct halide_filter_metadata_t *md = matmul_halide_metadata();
    const struct halide_filter_argument_t *a = md->arguments;
    ok = md->version == 1 && md->num_arguments == 3 && !strcmp(md->name, "matmul_halide") && md->target;
    ok = ok && !strcmp(a[0].name, "A") && !strcmp(a[1].name, "B") && !strcmp(a[2].name, "C");
    ok = ok && a[0].kind == halide_argument_kind_input_buffer && a[2].kind == halide_argument_kind_output_buffer;
    ok = ok && a[1].dimensions == 2 && a[1].type.code == halide_type_float && a[1].type.bits == 32;
    ok = ok && a[1].type.lanes == 1 && a[0].buffer_estimates == NULL;
    check(ok, "matmul: filter metadata (version, names, kinds, types)");
}

/* C = alpha A B: a scalar argument by value, and by pointer in the argv form. */
static void test_matmul_alpha(void)
{
    float c[M * N], alpha = 2.5f;
    halide_dimension_t da[2], db[2], dc[2];
    halide_buffer_t A = float_buffer(a_dense, 2, da, (const int[]){0, K, 1, 0, M, K});
    halide_buffer_t B = float_buffer(b_dense, 2, db, (const int[]){0, N, 1, 0, K, N});
    halide_buffer_t C = float_buffer(c, 2, dc, (const int[]){0, N, 1, 0, M, N});
    matmul_alpha_halide_set_workspace(workspace, matmul_alpha_halide_workspace_bytes(M, K, N));
    int ok = matmul_alpha_halide(&A, &B, alpha, &C) == 0;
    for (int i = 0; ok && i < M * N; i++)
        ok = close_to(c[i], alpha * c_ref[i], 1e-5f);
    memset(c, 0, sizeof c);
    void *args[4] = {&A, &B, &alpha, &C};
    ok = ok && matmul_alpha_halide_argv(args) == 0;
    for (int i = 0; ok && i < M * N; i++)
        ok = close_to(c[i], alpha * c_ref[i], 1e-5f);
    const struct halide_filter_argument_t *a = matmul_alpha_halide_metadata()->arguments;
    ok = ok && !strcmp(a[2].name, "alpha") && a[2].kind == halide_argument_kind_input_scalar && a[2].dimensions == 0;
    ok = ok && a[2].type.code == halide_type_float && a[2].type.bits == 32;
    check(ok, "matmul_alpha: scalar by value, argv by pointer, input_scalar metadata");
}

/* O(k, i, j) = A(i, j, k), A of P x Q x R, read through permuted strides. */
static void test_permute3d(void)
{
    enum { P = 3, Q = 4, R = 5 };
    float a[P * Q * R], a_rqp[R * Q * P], o[R * P * Q];
    fill(a, P * Q * R, 11);
    for (int i = 0; i < P; i++)
        for (int j = 0; j < Q; j++)
            for (int k = 0; k < R; k++)
                a_rqp[(k * Q + j) * P + i] = a[(i * Q + j) * R + k];
    halide_dimension_t da[3], db[3], dobuf[3];
    halide_buffer_t A = float_buffer(a, 3, da, (const int[]){0, R, 1, 0, Q, R, 0, P, Q * R});
    halide_buffer_t As = float_buffer(a_rqp, 3, db, (const int[]){0, R, Q * P, 0, Q, P, 0, P, 1});
    halide_buffer_t O = float_buffer(o, 3, dobuf, (const int[]){0, Q, 1, 0, P, Q, 0, R, P * Q});
    permute3d_halide_set_workspace(workspace, permute3d_halide_workspace_bytes(P, Q, R));
    for (int pass = 0; pass < 2; pass++) {
        memset(o, 0, sizeof o);
        int ok = permute3d_halide(pass ? &As : &A, &O) == 0;
        for (int i = 0; i < P; i++)
            for (int j = 0; j < Q; j++)
                for (int k = 0; k < R; k++)
                    ok = ok && o[(k * P + i) * Q + j] == a[(i * Q + j) * R + k];
        check(ok, pass ? "permute3d: input stored R x Q x P (strides Q*P, P, 1)" : "permute3d: dense buffers");
    }
}

/* The MLP (constant shapes: static scratch, no set_workspace) on an input
 * read with stride 2, against PyTorch's output and the plain entry. */
static void test_mlp(void)
{
    float in2[2 * mlp_input_COUNT], out[mlp_output_COUNT], plain[mlp_output_COUNT];
    static unsigned char ws[mlp_WORKSPACE_BYTES + 64];
    for (int i = 0; i < mlp_input_COUNT; i++) {
        in2[2 * i] = mlp_input[i];
        in2[2 * i + 1] = 99.0f;
    }
    halide_dimension_t di[2], dout[2];
    halide_buffer_t I = float_buffer(in2, 2, di, (const int[]){0, mlp_input_D1, 2, 0, 1, 2 * mlp_input_D1});
    halide_buffer_t O = float_buffer(out, 2, dout, (const int[]){0, mlp_output_D1, 1, 0, 1, mlp_output_D1});
    int ok = mlp_halide(&I, &O) == 0 && mlp(mlp_input, plain, ws) == 0;
    for (int i = 0; ok && i < mlp_output_COUNT; i++)
        ok = close_to(out[i], mlp_output[i], 1e-4f) && out[i] == plain[i];
    check(ok, "mlp: strided input, static scratch: matches PyTorch and the plain entry");
    const struct halide_filter_argument_t *a = mlp_halide_metadata()->arguments;
    ok = a[0].buffer_estimates && *a[0].buffer_estimates[1] == mlp_input_D1 && *a[0].buffer_estimates[3] == 1;
    check(ok, "mlp: metadata carries the constant shapes as estimates");
    halide_buffer_t W = make_buffer(in2, halide_type_float, 32, 2, di,
                                    (const int[]){0, mlp_input_D1 + 1, 1, 0, 1, mlp_input_D1 + 1});
    check(mlp_halide(&W, &O) == halide_error_code_constraint_violated, "mlp: 257-wide input refused");
    halide_dimension_t dq[2];
    halide_buffer_t Q = float_buffer(NULL, 2, dq, (const int[]){0, 0, 0, 0, 0, 0});
    ok = mlp_halide(&Q, &O) == 0 && dq[0].extent == mlp_input_D1 && dq[1].extent == 1 && dq[1].stride == mlp_input_D1;
    check(ok, "mlp: bounds query on the input answered with the constant shape");
}

int main(void)
{
    fill(a_dense, M * K, 1);
    fill(b_dense, K * N, 2);
    naive_matmul(a_dense, b_dense, c_ref);
    matmul_halide_set_workspace(workspace, matmul_halide_workspace_bytes(M, K, N));
    test_matmul_dense();
    test_matmul_strided();
    test_matmul_cropped_input();
    test_matmul_refusals();
    test_matmul_bounds_query();
    test_matmul_workspace();
    test_matmul_argv_metadata();
    test_matmul_alpha();
    test_permute3d();
    test_mlp();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
