/* test_names.c: the C-name mangling scheme of src/ir/names.c, checked
 * against names written out here by hand, and TC programs whose names used
 * to send the emitter into an endless loop. */
#include "ir.h"

#include <criterion/criterion.h>
#include <string.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(names, .init = setup, .fini = teardown);

static void expect_name(const char *raw, const char *want)
{
  const char *got = ir_c_name(ctx, raw, NULL, 0);
  cr_assert(got, "NULL for '%s'", raw);
  cr_assert_str_eq(got, want, "'%s' gave '%s', want '%s'", raw, got, want);
}

Test(names, mangling_steps)
{
  expect_name("x", "x");
  expect_name("A_1", "A_1");
  expect_name("__", "u__");
  expect_name("__A", "u__A");
  expect_name("_A", "u_A");
  expect_name("_a", "_a");
  expect_name("..", "u__");
  expect_name("../x", "u___x");
  expect_name("a.b", "a_b");
  expect_name("", "t");
  expect_name("0", "t0");
  expect_name("9lives", "t9lives");
  expect_name("aotc_k", "uaotc_k");
  expect_name("AOTC_X", "uAOTC_X");
  expect_name("int", "int_");
  expect_name("class", "class_");
  expect_name("expf", "expf_");
  expect_name("sqrtl", "sqrtl_");
  expect_name("isnan", "isnan_");
  expect_name("c0", "c0_");
  expect_name("c12", "c12_");
  expect_name("c", "c");
  expect_name("workspace", "workspace_");
  expect_name("INT64_MAX", "INT64_MAX_");
  expect_name("\xc3\xa9t\xc3\xa9", "u__t__");
}

/* Names whose suffixed forms would be reserved ("__1", "aotc_1") get a
 * stem that is not (this used to loop forever, found by fuzz_onnx). */
Test(names, suffixes_never_reserved)
{
  const char *one[] = {"_"}, *two[] = {"aotc"};
  cr_assert_str_eq(ir_c_name(ctx, "_", NULL, 0), "_");
  cr_assert_str_eq(ir_c_name(ctx, "\xff", one, 1), "u__1");
  cr_assert_str_eq(ir_c_name(ctx, "aotc", two, 1), "uaotc_1");
  ir_name_set set = {0};
  for (int i = 0; i < 100; i++) {
    const char *s = ir_c_name_unique(ctx, &set, i % 2 ? "_" : "aotc");
    cr_assert(s && !ir_c_name_reserved(s), "%s", s ? s : "NULL");
  }
}

Test(names, unique_among_taken)
{
  const char *taken[] = {"a_b", "a_b_1", "int_", NULL};
  cr_assert_str_eq(ir_c_name(ctx, "a.b", taken, 4), "a_b_2");
  cr_assert_str_eq(ir_c_name(ctx, "a_b", taken, 2), "a_b_2");
  cr_assert_str_eq(ir_c_name(ctx, "int", taken, 4), "int__1");
  cr_assert_str_eq(ir_c_name(ctx, "b", taken, 4), "b");
}

/* Mangling many colliding names gives distinct valid identifiers, never a
 * reserved one, and ends. */
Test(names, many_collisions_stay_distinct)
{
  enum { N = 300 };
  const char *taken[N];
  const char *raw[] = {"__", "..", "../x", "a.b", "a_b", "int", "int_", "c0", "", "0", "_", "\xff", "aotc", "AOTC"};
  for (int i = 0; i < N; i++) {
    taken[i] = ir_c_name(ctx, raw[i % 14], taken, i);
    cr_assert(taken[i]);
    cr_assert(!ir_c_name_reserved(taken[i]), "'%s' is reserved", taken[i]);
    for (const char *p = taken[i]; *p; p++)
      cr_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", *p));
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(taken[i], taken[j]);
  }
}

Test(names, entry_clashes)
{
  int other = -1;
  const char *c = NULL;
  const char *ok[] = {"mm", "conv", "__f", "int"};
  cr_assert_eq(ir_c_entry_clash(ctx, ok, 4, &other, &c), -1);
  const char *call[] = {"mm", "conv", "mm_call"};
  cr_assert_eq(ir_c_entry_clash(ctx, call, 3, &other, &c), 2);
  cr_assert_eq(other, 0);
  cr_assert_str_eq(c, "mm_call");
  const char *prefix[] = {"u__f", "__f"};
  cr_assert_eq(ir_c_entry_clash(ctx, prefix, 2, &other, &c), 1);
  const char *ws[] = {"f_call", "f"};
  cr_assert_eq(ir_c_entry_clash(ctx, ws, 2, &other, &c), 1);
  cr_assert_str_eq(c, "f_call");
}

static ir_module *compile_tc(const char *text)
{
  const aotc_source *src = aotc_add_source(ctx, "t.tc", text, strlen(text));
  return tc_compile(ctx, src);
}

/* A tensor `__A` and a def `__f` compile and are emitted under the
 * documented names (this used to loop forever). */
Test(names, tc_reserved_prefixes_emit)
{
  ir_module *m = compile_tc("def __f(float(N) __A) -> (B) {\n  B(i) = __A(i)\n}\n");
  cr_assert(m);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len), *hdr = fopen("/dev/null", "w");
  emit_options opt = {.fuse = true};
  cr_assert(emit_c_module(ctx, m, m->funcs, m->n_funcs, &opt, out, hdr));
  fclose(out);
  fclose(hdr);
  cr_assert(strstr(buf, "int u__f(int64_t N, const float *u__A, float *B, void *workspace)"), "%s", buf);
  free(buf);
}

Test(names, tc_clashing_defs_are_errors)
{
  cr_assert_null(compile_tc("def mm(float(N) A) -> (B) { B(i) = A(i) }\n"
                            "def mm_call(float(N) A) -> (B) { B(i) = A(i) }\n"));
  cr_assert_eq(ctx->n_errors, 1);
  cr_assert(strstr(ctx->diags[0].msg, "both declare 'mm_call'"), "%s", ctx->diags[0].msg);
}

/* Every word of the sorted tables is found (bsearch needs them sorted). */
Test(names, reserved_tables_searchable)
{
  const char *words[] = {"INFINITY", "NULL", "SIZE_MAX", "UINT64_MAX", "_Bool", "alignas", "and", "args", "asm",
                         "bool", "char8_t", "double_t", "errno", "fpclassify", "main", "math_errhandling",
                         "omp_get_thread_num", "sizes", "uintptr_t", "while", "xor_eq", "acos", "acosf", "y1l",
                         "yn", "ynf", "trunc", "lgammal"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    cr_assert(ir_c_name_reserved(words[i]), "'%s' should be reserved", words[i]);
  cr_assert(!ir_c_name_reserved("acosx"));
  cr_assert(!ir_c_name_reserved("W"));
}

/* The hashed set gives the same names as ir_c_name with an array, in linear
 * time for many names. */
Test(names, name_set_unique)
{
  ir_name_set set = {0};
  const char *taken[1000];
  for (int i = 0; i < 1000; i++) {
    const char *raw = i % 4 == 0 ? "x" : i % 4 == 1 ? "x.1" : i % 4 == 2 ? "int" : "_";
    const char *a = ir_c_name_unique(ctx, &set, raw);
    const char *b = ir_c_name(ctx, raw, taken, i);
    cr_assert_str_eq(a, b);
    taken[i] = a;
  }
  cr_assert_eq(set.n, 1000);
  cr_assert(ir_name_set_has(&set, "u__249"));
  cr_assert(!ir_name_set_has(&set, "u__250"));
  cr_assert(!ir_name_set_add(ctx, &set, "x"));
}
