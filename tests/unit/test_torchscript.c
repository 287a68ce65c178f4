/* test_torchscript.c: Criterion unit tests of the TorchScript readers below
 * the op library: the zip reader on the committed fixtures (torch 1.13 and
 * 2.x) and on hostile archives made here (zip bomb, '..' and absolute
 * names, NUL bytes, truncation at every length, bad CRC, overlapping and
 * duplicate entries, Zip64), the pickle reader (every tensor dtype, strides,
 * offsets, stride 0 and shared storages against the values torch saved as
 * .npy; a hand-made pickle of every scalar opcode; globals outside the
 * whitelist refused by name; truncated and corrupted pickles), the module
 * tree (an MLP's output recomputed from the parameters read, against
 * PyTorch's), and out-of-memory at every allocation. The code parser's
 * tests are in test_torchscript_code.c. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../torchscript/zipwrite.h"
#include "npy.h"
#include "ts.h"

#ifndef TS_FIXTURE_DIR
#define TS_FIXTURE_DIR "tests/torchscript/fixtures"
#endif

static const char *const versions[] = {"torch-1.13", "torch-2.15"};
#define N_VERSIONS 2
static const char *const archives[] = {"mlp_traced",         "mlp_frozen",  "cnn_traced",   "cnn_frozen",
                                       "transformer_traced", "transformer_frozen", "loop_scripted",
                                       "loop_frozen",        "tensors_scripted", "reuse_traced",
                                       "attrs_scripted"};
#define N_ARCHIVES (sizeof(archives) / sizeof(archives[0]))

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char *fixture_path(const char *version, const char *file)
{
  static char path[1024];
  snprintf(path, sizeof(path), "%s/%s/%s", TS_FIXTURE_DIR, version, file);
  return path;
}

static unsigned char *read_fixture(const char *version, const char *name, size_t *len)
{
  char file[256];
  snprintf(file, sizeof(file), "%s.pt", name);
  unsigned char *b = zw_read_file(fixture_path(version, file), len);
  cr_assert(b, "cannot read fixture %s/%s", version, file);
  return b;
}

/* Every diagnostic as aotc_print_diags writes it (malloc'ed). */
static char *diags_text(const aotc_ctx *ctx)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  aotc_print_diags(ctx, f);
  fclose(f);
  return buf;
}

/* Asserts exactly one error whose text contains `want`. */
static void expect_error(aotc_ctx *ctx, const char *want)
{
  char *text = diags_text(ctx);
  cr_expect_eq(ctx->n_errors, 1, "expected one error containing '%s', got %d:\n%s", want, ctx->n_errors, text);
  cr_expect(strstr(text, want), "expected an error containing '%s', got:\n%s", want, text);
  free(text);
}

static ts_zip *open_zip(aotc_ctx *ctx, const unsigned char *b, size_t len)
{
  return ts_zip_open(ctx, "test.pt", b, len);
}

/* ------------------------------------------------------------------------
 * Zip: fixtures
 * ------------------------------------------------------------------------ */

Test(ts_zip, fixtures_open_with_their_top_folder)
{
  for (int v = 0; v < N_VERSIONS; v++)
    for (size_t a = 0; a < N_ARCHIVES; a++) {
      aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
      size_t len, n;
      unsigned char *b = read_fixture(versions[v], archives[a], &len);
      ts_zip *z = open_zip(ctx, b, len);
      cr_assert(z, "%s/%s: %s", versions[v], archives[a], diags_text(ctx));
      char top[128];
      snprintf(top, sizeof(top), "%s/", archives[a]);
      cr_expect_str_eq(z->top, top);
      const ts_zip_entry *e = ts_zip_find(z, "data.pkl");
      cr_assert(e, "%s: no data.pkl", archives[a]);
      const unsigned char *pkl = ts_zip_read(z, e, &n);
      cr_expect(pkl && n > 2 && pkl[0] == 0x80 && pkl[1] == 2 && pkl[n - 1] == '.', "%s: data.pkl", archives[a]);
      cr_expect(ts_zip_find(z, "version") || ts_zip_find(z, ".data/version"));
      free(b);
      aotc_ctx_free(ctx);
    }
}

Test(ts_zip, deflated_code_reads_back)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len, n;
  unsigned char *b = read_fixture("torch-1.13", "mlp_traced", &len);
  ts_zip *z = open_zip(ctx, b, len);
  cr_assert(z);
  const ts_zip_entry *e = ts_zip_find(z, "code/__torch__/torch/nn/modules/container.py");
  cr_assert(e);
  cr_expect_eq(e->method, 8);
  const unsigned char *text = ts_zip_read(z, e, &n);
  cr_assert(text);
  cr_expect_eq(n, e->size);
  cr_expect(!memcmp(text, "class Sequential(Module):\n", 26), "%.*s", (int)n, text);
  cr_expect(ts_zip_find(z, "mlp_traced/version"), "a full name is found too");
  cr_expect_null(ts_zip_find(z, "nothing"));
  free(b);
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Zip: archives made here
 * ------------------------------------------------------------------------ */

static const char text_a[] = "hello, archive\n";
static char text_b[4000];

static void fill_text_b(void)
{
  for (size_t i = 0; i < sizeof(text_b); i++)
    text_b[i] = (char)('a' + (i * 7 + i / 13) % 26);
}

static unsigned char *two_entries(bool zip64, size_t *len, zw_layout *layout)
{
  fill_text_b();
  zw_entry e[] = {{"top/a.txt", 0, text_a, sizeof(text_a) - 1, false}, {"top/b.txt", 0, text_b, sizeof(text_b), true}};
  return zw_build(e, 2, zip64, len, layout);
}

static void expect_two_entries(ts_zip *z)
{
  size_t n;
  cr_assert(z);
  cr_expect_str_eq(z->top, "top/");
  const unsigned char *a = ts_zip_read(z, ts_zip_find(z, "a.txt"), &n);
  cr_expect(a && n == sizeof(text_a) - 1 && !memcmp(a, text_a, n));
  const unsigned char *b = ts_zip_read(z, ts_zip_find(z, "b.txt"), &n);
  cr_expect(b && n == sizeof(text_b) && !memcmp(b, text_b, n));
}

Test(ts_zip, stored_and_deflate_entries)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len;
  unsigned char *b = two_entries(false, &len, NULL);
  expect_two_entries(open_zip(ctx, b, len));
  cr_expect_eq(ctx->n_errors, 0);
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, zip64_records_and_extra_fields)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len;
  zw_layout lay;
  unsigned char *b = two_entries(true, &len, &lay);
  expect_two_entries(open_zip(ctx, b, len));
  cr_expect_eq(ctx->n_errors, 0);
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  b[lay.central[1] + 46 + 9 + 2] = 8;
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "Zip64 extra field is too short");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, zip64_end_record_out_of_place)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len;
  zw_layout lay;
  unsigned char *b = two_entries(true, &len, &lay);
  b[lay.eocd - 20 + 8] ^= 0x40;
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "Zip64 end of central directory record is missing");
  free(b);
  aotc_ctx_free(ctx);
}

/* A valid archive cut at every length fails with one error each. */
Test(ts_zip, truncated_at_every_length)
{
  size_t len;
  unsigned char *b = two_entries(true, &len, NULL);
  for (size_t cut = 0; cut < len; cut++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *copy = malloc(cut + 1);
    memcpy(copy, b, cut);
    ts_zip *z = open_zip(ctx, copy, cut);
    cr_expect_null(z, "cut at %zu of %zu opened", cut, len);
    cr_expect_eq(ctx->n_errors, 1, "cut at %zu: %d errors", cut, ctx->n_errors);
    free(copy);
    aotc_ctx_free(ctx);
  }
  free(b);
}

Test(ts_zip, bad_crc)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len, n;
  zw_layout lay;
  unsigned char *b = two_entries(false, &len, &lay);
  b[lay.data[0] + 3] ^= 1;
  ts_zip *z = open_zip(ctx, b, len);
  cr_assert(z, "the directory is intact");
  cr_expect_null(ts_zip_read(z, ts_zip_find(z, "a.txt"), &n));
  expect_error(ctx, "zip entry 'top/a.txt': CRC-32 mismatch");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, corrupt_deflate_data)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len, n;
  zw_layout lay;
  unsigned char *b = two_entries(false, &len, &lay);
  for (size_t i = lay.data[1]; i < lay.data[1] + 8; i++)
    b[i] = 0xff;
  ts_zip *z = open_zip(ctx, b, len);
  cr_assert(z);
  cr_expect_null(ts_zip_read(z, ts_zip_find(z, "b.txt"), &n));
  expect_error(ctx, "zip entry 'top/b.txt'");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, zip_bomb_by_ratio)
{
  size_t big = 20u << 20, len;
  unsigned char *zeros = calloc(big, 1);
  zw_entry e[] = {{"bomb/data.pkl", 0, zeros, big, true}};
  unsigned char *b = zw_build(e, 1, false, &len, NULL);
  cr_assert_lt(len, big / 500, "20 MiB of zeros deflate to %zu bytes", len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "zip bomb?");
  free(zeros);
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, limits_on_entries_and_total_size)
{
  size_t len;
  unsigned char *b = two_entries(false, &len, NULL);
  ts_zip_limits lim = ts_zip_default_limits;
  lim.max_entries = 1;
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(ts_zip_open_limited(ctx, "test.pt", b, len, &lim));
  expect_error(ctx, "the archive has 2 entries (limit 1)");
  aotc_ctx_free(ctx);
  lim = ts_zip_default_limits;
  lim.max_total_bytes = 1000;
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(ts_zip_open_limited(ctx, "test.pt", b, len, &lim));
  expect_error(ctx, "more than 1000 bytes uncompressed");
  aotc_ctx_free(ctx);
  free(b);
}

static void expect_bad_name(const char *name, size_t name_len, const char *want)
{
  zw_entry e[] = {{"top/ok", 0, "x", 1, false}, {name, name_len, "y", 1, false}};
  size_t len;
  unsigned char *b = zw_build(e, 2, false, &len, NULL);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len), "name %s accepted", name);
  expect_error(ctx, want);
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, hostile_names)
{
  expect_bad_name("top/../etc/passwd", 0, "zip entry 'top/../etc/passwd' has a '..' component");
  expect_bad_name("..", 0, "has a '..' component");
  expect_bad_name("top/data/..", 0, "has a '..' component");
  expect_bad_name("/etc/passwd", 0, "zip entry '/etc/passwd' is an absolute path");
  expect_bad_name("C:/x", 0, "is an absolute path");
  expect_bad_name("top\\..\\x", 0, "holds a backslash");
  expect_bad_name("top/a\0b", 7, "zip entry 'top/a?b' holds a NUL byte");
  expect_bad_name("top/a\nb", 0, "holds a control character");
  expect_bad_name("", 0, "zip entry '' is empty");
}

Test(ts_zip, dotdot_inside_a_name_is_fine)
{
  zw_entry e[] = {{"top/a..b/..c", 0, "x", 1, false}};
  size_t len;
  unsigned char *b = zw_build(e, 1, false, &len, NULL);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect(open_zip(ctx, b, len));
  free(b);
  aotc_ctx_free(ctx);
}

static void patch32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

Test(ts_zip, overlapping_entries)
{
  size_t len;
  zw_layout lay;
  unsigned char *b = two_entries(false, &len, &lay);
  uint32_t span = (uint32_t)(lay.data[1] + 10 - lay.data[0]);
  patch32(b + lay.central[0] + 20, span);
  patch32(b + lay.central[0] + 24, span);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "zip entries 'top/a.txt' and 'top/b.txt' overlap");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, duplicate_and_mismatched_names)
{
  zw_entry e[] = {{"top/a", 0, "x", 1, false}, {"top/a", 0, "y", 1, false}};
  size_t len;
  zw_layout lay;
  unsigned char *b = zw_build(e, 2, false, &len, &lay);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "zip entry 'top/a' appears twice");
  aotc_ctx_free(ctx);
  b[lay.local[1] + 30 + 4] = 'b';
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "its local header names another entry");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, encrypted_and_unknown_methods)
{
  size_t len;
  zw_layout lay;
  unsigned char *b = two_entries(false, &len, &lay);
  b[lay.central[0] + 8] |= 1;
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "zip entry 'top/a.txt' is encrypted");
  aotc_ctx_free(ctx);
  b[lay.central[0] + 8] &= (unsigned char)~1;
  b[lay.central[1] + 10] = 12;
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_zip(ctx, b, len));
  expect_error(ctx, "uses compression method 12");
  free(b);
  aotc_ctx_free(ctx);
}

Test(ts_zip, not_a_zip)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  const unsigned char junk[] = "PK\x03\x04 this is not really a zip archive";
  cr_expect_null(open_zip(ctx, junk, sizeof(junk)));
  expect_error(ctx, "test.pt: error: not a zip archive");
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Pickles: values
 * ------------------------------------------------------------------------ */

/* Every scalar and container opcode of protocol 2 (checked with Python's
 * pickle.loads: [-5, 200, 12345, -1, -2**63, 1.5, 'abc', 'hi', None, True,
 * False, {'k': 7}, (1,), (1, 2), (1, 2, 3), {'k': 7}, {'k': 7}, ()]). */
static const unsigned char scalars_pkl[] =
    "\x80\x02]q\x00("
    "J\xfb\xff\xff\xff" "K\xc8" "M\x39\x30" "\x8a\x01\xff" "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80"
    "G\x3f\xf8\x00\x00\x00\x00\x00\x00" "X\x03\x00\x00\x00" "abc" "\x8c\x02hi" "N\x88\x89"
    "}q\x01" "X\x01\x00\x00\x00" "k" "K\x07" "s"
    "K\x01\x85" "K\x01K\x02\x86" "K\x01K\x02K\x03\x87"
    "h\x01r\x00\x01\x00\x00j\x00\x01\x00\x00)e.";

Test(ts_pickle, scalars_and_containers)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_value *v = ts_unpickle(ctx, "scalars.pkl", scalars_pkl, sizeof(scalars_pkl) - 1, NULL);
  cr_assert(v, "%s", diags_text(ctx));
  cr_assert_eq(v->kind, TS_V_LIST);
  cr_assert_eq(v->u.seq.n, 18);
  ts_value **it = v->u.seq.items;
  cr_expect_eq(it[0]->u.i, -5);
  cr_expect_eq(it[1]->u.i, 200);
  cr_expect_eq(it[2]->u.i, 12345);
  cr_expect_eq(it[3]->u.i, -1);
  cr_expect_eq(it[4]->u.i, INT64_MIN);
  cr_expect_eq(it[5]->kind, TS_V_FLOAT);
  cr_expect_eq(it[5]->u.f, 1.5);
  cr_expect_str_eq(it[6]->u.str.s, "abc");
  cr_expect_str_eq(it[7]->u.str.s, "hi");
  cr_expect_eq(it[8]->kind, TS_V_NONE);
  cr_expect(it[9]->kind == TS_V_BOOL && it[9]->u.b && !it[10]->u.b);
  cr_expect_eq(ts_value_get(it[11], "k")->u.i, 7);
  cr_expect_eq(it[12]->u.seq.n, 1);
  cr_expect_eq(it[13]->u.seq.n, 2);
  cr_expect(it[14]->kind == TS_V_TUPLE && it[14]->u.seq.n == 3 && it[14]->u.seq.items[2]->u.i == 3);
  cr_expect(it[15] == it[11] && it[16] == it[11], "memo gets return the same dict");
  cr_expect(it[17]->kind == TS_V_TUPLE && it[17]->u.seq.n == 0);
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Pickles: the whitelist
 * ------------------------------------------------------------------------ */

static void expect_refused(const char *pkl, size_t len, const char *want)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(ts_unpickle(ctx, "evil.pkl", (const unsigned char *)pkl, len, NULL));
  expect_error(ctx, want);
  aotc_ctx_free(ctx);
}

#define REFUSED(pkl, want) expect_refused(pkl, sizeof(pkl) - 1, want)

Test(ts_pickle, globals_outside_the_whitelist)
{
  REFUSED("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00ls\x85R.",
          "evil.pkl: error: global 'os.system' is not allowed in a TorchScript pickle");
  REFUSED("\x80\x02" "cbuiltins\neval\n.", "global 'builtins.eval' is not allowed");
  REFUSED("\x80\x02" "c__builtin__\ngetattr\n.", "global '__builtin__.getattr' is not allowed");
  REFUSED("\x80\x02" "ctorch._utils\n_rebuild_qtensor\n.", "global 'torch._utils._rebuild_qtensor' is not allowed");
  REFUSED("\x80\x02" "ctorch\nload\n.", "global 'torch.load' is not allowed");
  REFUSED("\x80\x04\x8c\x02os\x8c\x06system\x93.", "global 'os.system' is not allowed");
  REFUSED("\x80\x02" "cos\x00x\nsystem\n.", "a global with an unprintable name is not allowed");
}

Test(ts_pickle, whitelisted_globals_do_only_their_job)
{
  REFUSED("\x80\x02" "c__torch__\nM\n)R.", "'__torch__.M' cannot be called");
  REFUSED("\x80\x02" "ccollections\nOrderedDict\n)\x81.", "NEWOBJ of something that is not a __torch__ class");
  REFUSED("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict is called with arguments");
  REFUSED("\x80\x02" "K\x01)R.", "REDUCE calls a int");
  REFUSED("\x80\x02" "]K\x01" "b.", "BUILD on a list");
  REFUSED("\x80\x02" "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x01tQ.",
          "this pickle may not name storages");
}

Test(ts_pickle, malformed_streams)
{
  REFUSED("\x80\x02", "the pickle ends without STOP");
  REFUSED("\x80\x09.", "pickle protocol 9 is not supported");
  REFUSED("\x80\x02h\x05.", "memo index 5 was never stored");
  REFUSED("\x80\x02K\x01r\xff\xff\xff\x7f.", "memo index 2147483647 is out of range");
  REFUSED("\x80\x02t.", "the pickle has no MARK to pop");
  REFUSED("\x80\x02(.", "the pickle pops an empty stack");
  REFUSED("\x80\x02K\x01(s.", "SETITEM finds fewer than 3 items");
  REFUSED("\x80\x02}K\x01u.", "the pickle has no MARK to pop");
  REFUSED("\x80\x02}(K\x01u.", "a dict's key has no value");
  REFUSED("\x80\x02X\xff\xff\xff\x00" "ab.", "runs past the pickle's end");
  REFUSED("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00.", "an integer of 9 bytes does not fit 64 bits");
  REFUSED("\x80\x02I1\n.", "unsupported pickle opcode 0x49 ('I')");
  REFUSED("\x80\x02\xf0.", "unsupported pickle opcode 0xf0 (pickle byte 2)");
  REFUSED("\x80\x02" "cos", "GLOBAL's name has no end");
}

/* data.pkl of a fixture cut at every length, and with every byte changed:
 * never a crash, NULL exactly when an error was reported. */
Test(ts_pickle, truncated_and_corrupted_fixture_pickle)
{
  aotc_ctx *zctx = aotc_ctx_new(NULL, NULL);
  size_t len, n;
  unsigned char *b = read_fixture("torch-2.15", "mlp_traced", &len);
  ts_zip *z = open_zip(zctx, b, len);
  cr_assert(z);
  const unsigned char *pkl = ts_zip_read(z, ts_zip_find(z, "data.pkl"), &n);
  unsigned char *copy = malloc(n);
  for (size_t cut = 0; cut < n; cut++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    ts_storage_source src = {.zip = z, .folder = "data/"};
    cr_expect_null(ts_unpickle(ctx, "data.pkl", pkl, cut, &src), "cut at %zu unpickled", cut);
    cr_expect_eq(ctx->n_errors, 1, "cut at %zu", cut);
    aotc_ctx_free(ctx);
  }
  static const unsigned char values[] = {0x00, 0xff, '(', 't', 'R', 'Q', 'b', 0x81, 'h', 'q', '.'};
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < sizeof(values); k++) {
      memcpy(copy, pkl, n);
      copy[i] = values[k];
      aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
      ts_storage_source src = {.zip = z, .folder = "data/"};
      ts_value *v = ts_unpickle(ctx, "data.pkl", copy, n, &src);
      cr_expect((v == NULL) == (ctx->n_errors > 0), "byte %zu set to %02x: result and errors disagree", i, values[k]);
      aotc_ctx_free(ctx);
    }
  free(copy);
  free(b);
  aotc_ctx_free(zctx);
}

/* ------------------------------------------------------------------------
 * Tensors: against the values torch saved
 * ------------------------------------------------------------------------ */

static const char *const buffer_names[] = {"base", "transposed", "window", "column", "expanded", "f64", "f16", "bf16",
                                           "i8",   "i16",        "i32",    "i64",    "u8",       "flags", "scalar",
                                           "empty"};
static const ts_dtype buffer_dtypes[] = {TS_F32, TS_F32, TS_F32, TS_F32, TS_F32, TS_F64, TS_F16, TS_BF16,
                                         TS_I8,  TS_I16, TS_I32, TS_I64, TS_U8,  TS_BOOL, TS_F32, TS_F32};

static void expect_tensor_equals_npy(const ts_tensor *t, const char *version, const char *name)
{
  char file[128];
  snprintf(file, sizeof(file), "tensors.%s.npy", name);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  npy_array a;
  cr_assert(driver_npy_load(ctx, fixture_path(version, file), &a), "%s", diags_text(ctx));
  cr_assert(driver_npy_convert(&a, IR_F64));
  cr_expect_eq(t->rank, a.rank, "%s/%s: rank", version, name);
  for (int d = 0; d < t->rank && d < a.rank; d++)
    cr_expect_eq(t->shape[d], a.shape[d], "%s/%s: dim %d", version, name, d);
  for (int64_t i = 0; i < t->numel && t->rank == a.rank; i++)
    cr_expect_eq(ts_tensor_get(t, i), ((double *)a.data)[i], "%s/%s[%lld]", version, name, (long long)i);
  driver_npy_free(&a);
  aotc_ctx_free(ctx);
}

static ts_archive *open_archive(aotc_ctx *ctx, const char *version, const char *name, unsigned char **bytes)
{
  size_t len;
  *bytes = read_fixture(version, name, &len);
  ts_archive *a = ts_archive_open(ctx, name, *bytes, len);
  cr_assert(a, "%s/%s: %s", version, name, diags_text(ctx));
  return a;
}

static const ts_tensor *buffer(const ts_archive *a, const char *name)
{
  const ts_attr *at = ts_module_attr(a->root, name);
  cr_assert(at && at->kind == TS_ATTR_BUFFER && at->value->kind == TS_V_TENSOR, "buffer %s", name);
  return at->value->u.tensor;
}

Test(ts_tensor, every_dtype_and_view_against_numpy)
{
  for (int v = 0; v < N_VERSIONS; v++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *b;
    ts_archive *a = open_archive(ctx, versions[v], "tensors_scripted", &b);
    for (size_t k = 0; k < sizeof(buffer_names) / sizeof(buffer_names[0]); k++) {
      const ts_tensor *t = buffer(a, buffer_names[k]);
      cr_expect_eq(t->dtype, buffer_dtypes[k], "%s: dtype %s", buffer_names[k], ts_dtypes[t->dtype].name);
      expect_tensor_equals_npy(t, versions[v], buffer_names[k]);
    }
    free(b);
    aotc_ctx_free(ctx);
  }
}

Test(ts_tensor, views_share_their_storage)
{
  for (int v = 0; v < N_VERSIONS; v++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *b;
    ts_archive *a = open_archive(ctx, versions[v], "tensors_scripted", &b);
    const ts_tensor *base = buffer(a, "base"), *tr = buffer(a, "transposed"), *win = buffer(a, "window"),
                    *col = buffer(a, "column"), *ex = buffer(a, "expanded");
    cr_expect(base->storage == tr->storage && base->storage == win->storage && base->storage == col->storage);
    cr_expect_eq(base->storage->numel, 24);
    cr_expect(tr->stride[0] == 1 && tr->stride[1] == 6 && tr->offset == 0);
    cr_expect(win->offset == 8 && win->stride[0] == 6 && win->stride[1] == 1);
    cr_expect(col->offset == 3 && col->stride[0] == 6);
    cr_expect(ex->stride[0] == 0 && ex->storage->numel == 6);
    cr_expect(base->storage != ex->storage);
    free(b);
    aotc_ctx_free(ctx);
  }
}

Test(ts_tensor, half_and_bfloat16_widen_to_float)
{
  ts_storage s = {.key = "0", .dtype = TS_F16, .numel = 4, .bytes = (const unsigned char *)"\x00\x3c\x00\xc0\x01\x00\x00\x7c"};
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  int64_t shape[] = {4}, stride[] = {1};
  ts_tensor *t = ts_tensor_view(ctx, (ir_loc){0}, &s, 0, 1, shape, stride);
  cr_assert(t);
  cr_expect_eq(ts_tensor_get(t, 0), 1.0);
  cr_expect_eq(ts_tensor_get(t, 1), -2.0);
  cr_expect_eq(ts_tensor_get(t, 2), ldexp(1, -24));
  cr_expect(isinf(ts_tensor_get(t, 3)));
  s.dtype = TS_BF16;
  t = ts_tensor_view(ctx, (ir_loc){0}, &s, 0, 1, shape, stride);
  cr_expect_eq(ts_tensor_get(t, 0), 0.0078125);
  cr_expect_eq(ts_tensor_get(t, 1), -2.0);
  const float *f = ts_tensor_ir_data(ctx, t);
  cr_expect_eq(f[0], ts_tensor_get(t, 0));
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Archives made here: storages out of bounds, missing classes
 * ------------------------------------------------------------------------ */

static const char model_code[] = "class M(Module):\n"
                                 "  __parameters__ = []\n"
                                 "  __buffers__ = [\"w\", ]\n"
                                 "  w : Tensor\n"
                                 "  def forward(self: __torch__.M,\n"
                                 "    x: Tensor) -> Tensor:\n"
                                 "    return torch.add(x, self.w)\n";

typedef struct pbuf {
  unsigned char b[1024];
  size_t n;
} pbuf;

static void pput(pbuf *p, const char *s, size_t n)
{
  memcpy(p->b + p->n, s, n);
  p->n += n;
}

#define PPUT(p, lit) pput((p), (lit), sizeof(lit) - 1)

static void pint(pbuf *p, int64_t v)
{
  unsigned char b[5] = {'J', (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  pput(p, (const char *)b, 5);
}

static void pints(pbuf *p, int n, const int64_t *v)
{
  PPUT(p, "(");
  for (int i = 0; i < n; i++)
    pint(p, v[i]);
  PPUT(p, "t");
}

/* data.pkl of `cls` with one buffer w viewing storage '0' (numel floats). */
static pbuf tensor_pickle(const char *cls, int64_t numel, int64_t offset, int rank, const int64_t *size,
                          const int64_t *stride)
{
  pbuf p = {.n = 0};
  PPUT(&p, "\x80\x02");
  pput(&p, cls, strlen(cls));
  PPUT(&p, ")\x81}(X\x01\x00\x00\x00w" "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
           "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu");
  pint(&p, numel);
  PPUT(&p, "tQ");
  pint(&p, offset);
  pints(&p, rank, size);
  pints(&p, rank, stride);
  PPUT(&p, "\x89" "ccollections\nOrderedDict\n)RtRub.");
  return p;
}

static const float storage_values[] = {1, 2, 3, 4};

static ts_archive *open_made(aotc_ctx *ctx, const pbuf *pkl, const char *code, bool with_version)
{
  zw_entry e[] = {{"m/data.pkl", 0, pkl->b, pkl->n, false},
                  {"m/data/0", 0, storage_values, sizeof(storage_values), false},
                  {"m/code/__torch__.py", 0, code, code ? strlen(code) : 0, true},
                  {"m/version", 0, "3\n", 2, false}};
  size_t len;
  int n = 2 + (code != NULL);
  if (with_version)
    e[n++] = e[3];
  unsigned char *b = zw_build(e, n, false, &len, NULL);
  ts_archive *a = ts_archive_open(ctx, "m.pt", b, len);
  free(b);
  return a;
}

static ts_archive *open_view(aotc_ctx *ctx, int64_t numel, int64_t offset, int rank, const int64_t *size,
                             const int64_t *stride)
{
  pbuf p = tensor_pickle("c__torch__\nM\n", numel, offset, rank, size, stride);
  return open_made(ctx, &p, model_code, true);
}

static void expect_view(int64_t offset, int rank, const int64_t *size, const int64_t *stride, const float *want, int n)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_archive *a = open_view(ctx, 4, offset, rank, size, stride);
  cr_assert(a, "%s", diags_text(ctx));
  const ts_tensor *t = buffer(a, "w");
  cr_assert_eq(t->numel, n);
  for (int i = 0; i < n; i++)
    cr_expect_eq(ts_tensor_get(t, i), want[i], "element %d", i);
  aotc_ctx_free(ctx);
}

Test(ts_tensor, strided_views_made_dense)
{
  expect_view(0, 2, (int64_t[]){2, 2}, (int64_t[]){2, 1}, (float[]){1, 2, 3, 4}, 4);
  expect_view(0, 2, (int64_t[]){2, 2}, (int64_t[]){1, 2}, (float[]){1, 3, 2, 4}, 4);
  expect_view(1, 1, (int64_t[]){3}, (int64_t[]){1}, (float[]){2, 3, 4}, 3);
  expect_view(0, 2, (int64_t[]){3, 2}, (int64_t[]){0, 3}, (float[]){1, 4, 1, 4, 1, 4}, 6);
  expect_view(3, 0, NULL, NULL, (float[]){4}, 1);
  expect_view(4, 1, (int64_t[]){0}, (int64_t[]){1}, NULL, 0);
}

static void expect_bad_view(int64_t numel, int64_t offset, int rank, const int64_t *size, const int64_t *stride,
                            const char *want)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_view(ctx, numel, offset, rank, size, stride));
  expect_error(ctx, want);
  aotc_ctx_free(ctx);
}

Test(ts_tensor, views_outside_their_storage)
{
  expect_bad_view(5, 0, 1, (int64_t[]){5}, (int64_t[]){1}, "storage 'data/0' holds 16 bytes, fewer than its 5 float32");
  expect_bad_view(4, 1, 2, (int64_t[]){2, 2}, (int64_t[]){2, 1}, "reaches past the storage's elements");
  expect_bad_view(4, 0, 1, (int64_t[]){2}, (int64_t[]){-1}, "has a negative size or stride");
  expect_bad_view(4, -1, 1, (int64_t[]){1}, (int64_t[]){1}, "reaches past the storage's elements");
  expect_bad_view(4, 0, 2, (int64_t[]){1 << 30, 1 << 30}, (int64_t[]){0, 0}, "past the expansion limit");
  expect_bad_view(4, 0, 2, (int64_t[]){0x7fffffff, 3}, (int64_t[]){0x7fffffff, 0x7fffffff}, "reaches past");
}

Test(ts_module, archive_level_errors)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  pbuf p = tensor_pickle("c__torch__.missing\nM\n", 4, 0, 1, (int64_t[]){4}, (int64_t[]){1});
  cr_expect_null(open_made(ctx, &p, model_code, true));
  expect_error(ctx, "m.pt:data.pkl: error: module '<root>' is of class '__torch__.missing.M', which no code file defines");
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  p = tensor_pickle("c__torch__\nM\n", 4, 0, 1, (int64_t[]){4}, (int64_t[]){1});
  cr_expect_null(open_made(ctx, &p, NULL, true));
  expect_error(ctx, "written by torch.save, not torch.jit.save");
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_made(ctx, &p, model_code, false));
  expect_error(ctx, "m.pt: error: the archive has no 'version' entry");
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(open_made(ctx, &p, "class M(Module):\n  def forward(self, x):\n    return x +\n", true));
  expect_error(ctx, "m.pt:code/__torch__.py:3:15: error: expected an expression, found end of line");
  aotc_ctx_free(ctx);
}

Test(ts_module, parameter_that_is_not_a_tensor)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  const char pkl[] = "\x80\x02" "c__torch__\nM\n)\x81}(X\x01\x00\x00\x00wK\x05ub.";
  pbuf p = {.n = sizeof(pkl) - 1};
  memcpy(p.b, pkl, p.n);
  cr_expect_null(open_made(ctx, &p, model_code, true));
  expect_error(ctx, "buffer 'w' of module '' is a int, not a tensor");
  aotc_ctx_free(ctx);
}

Test(ts_module, module_containing_itself)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  const char pkl[] = "\x80\x02" "c__torch__\nM\n)\x81q\x00}(X\x01\x00\x00\x00sh\x00ub.";
  pbuf p = {.n = sizeof(pkl) - 1};
  memcpy(p.b, pkl, p.n);
  cr_expect_null(open_made(ctx, &p, model_code, true));
  expect_error(ctx, "module 's' contains itself");
  aotc_ctx_free(ctx);
}

static const ts_value *attr_value(const ts_module *m, const char *name, ts_value_kind kind)
{
  const ts_attr *at = ts_module_attr(m, name);
  cr_assert(at && at->kind == TS_ATTR_VALUE, "attribute %s", name);
  cr_assert_eq(at->value->kind, kind, "attribute %s is a %s", name, ts_value_kind_names[at->value->kind]);
  return at->value;
}

/* Typed attributes as make_fixtures.py sets them: sizes [1, 2], table
 * {"a": 1}, pair (3, 2.5), name "hello", maybe None, tensors [ones(2)]
 * (torch pickles them through torch.jit._pickle helpers). */
Test(ts_module, typed_attributes)
{
  for (int v = 0; v < N_VERSIONS; v++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *b;
    ts_archive *a = open_archive(ctx, versions[v], "attrs_scripted", &b);
    const ts_value *sizes = attr_value(a->root, "sizes", TS_V_LIST);
    cr_expect(sizes->u.seq.n == 2 && sizes->u.seq.items[0]->u.i == 1 && sizes->u.seq.items[1]->u.i == 2);
    const ts_value *table = attr_value(a->root, "table", TS_V_DICT);
    cr_expect(table->u.seq.n == 2 && ts_value_get(table, "a") && ts_value_get(table, "a")->u.i == 1);
    const ts_value *pair = attr_value(a->root, "pair", TS_V_TUPLE);
    cr_expect(pair->u.seq.n == 2 && pair->u.seq.items[0]->u.i == 3 && pair->u.seq.items[1]->u.f == 2.5);
    cr_expect_str_eq(attr_value(a->root, "name", TS_V_STR)->u.str.s, "hello");
    attr_value(a->root, "maybe", TS_V_NONE);
    const ts_value *list = attr_value(a->root, "tensors", TS_V_LIST);
    cr_assert(list->u.seq.n == 1 && list->u.seq.items[0]->kind == TS_V_TENSOR);
    const ts_tensor *t = list->u.seq.items[0]->u.tensor;
    cr_expect(t->rank == 1 && t->shape[0] == 2 && ts_tensor_get(t, 0) == 1 && ts_tensor_get(t, 1) == 1);
    cr_expect_eq(attr_value(a->root, "training", TS_V_BOOL)->u.b, false);
    free(b);
    aotc_ctx_free(ctx);
  }
}

/* ------------------------------------------------------------------------
 * The module tree: an MLP recomputed from the parameters read
 * ------------------------------------------------------------------------ */

/* y = x W^T + b, then relu when asked; x is (rows, in), W (out, in). */
static float *linear(const float *x, int rows, const ts_tensor *w, const ts_tensor *b, bool relu)
{
  int out = (int)w->shape[0], in = (int)w->shape[1];
  float *y = calloc((size_t)(rows * out), sizeof(float));
  for (int r = 0; r < rows; r++)
    for (int o = 0; o < out; o++) {
      double acc = ts_tensor_get(b, o);
      for (int i = 0; i < in; i++)
        acc += (double)x[r * in + i] * ts_tensor_get(w, (int64_t)o * in + i);
      y[r * out + o] = relu && acc < 0 ? 0 : (float)acc;
    }
  return y;
}

static void expect_mlp_output(const char *version, const ts_tensor *const *wb)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  npy_array x, y;
  cr_assert(driver_npy_load(ctx, fixture_path(version, "mlp.input.npy"), &x));
  cr_assert(driver_npy_load(ctx, fixture_path(version, "mlp.output.npy"), &y));
  float *h = (float *)x.data;
  for (int l = 0; l < 3; l++) {
    float *next = linear(h, (int)x.shape[0], wb[2 * l], wb[2 * l + 1], l < 2);
    if (h != (float *)x.data)
      free(h);
    h = next;
  }
  for (int64_t i = 0; i < y.shape[0] * y.shape[1]; i++)
    cr_expect(fabsf(h[i] - ((float *)y.data)[i]) <= 1e-5f * (1 + fabsf(((float *)y.data)[i])), "%s: y[%lld]", version,
              (long long)i);
  free(h);
  driver_npy_free(&x);
  driver_npy_free(&y);
  aotc_ctx_free(ctx);
}

static const ts_tensor *param(const ts_module *m, const char *name)
{
  const ts_attr *at = ts_module_attr(m, name);
  cr_assert(at && at->kind == TS_ATTR_PARAMETER && at->value->kind == TS_V_TENSOR, "%s.%s", m->path, name);
  return at->value->u.tensor;
}

Test(ts_module, traced_mlp_parameters_reproduce_pytorch)
{
  for (int v = 0; v < N_VERSIONS; v++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *b;
    ts_archive *a = open_archive(ctx, versions[v], "mlp_traced", &b);
    cr_expect_str_eq(a->root->cls->qualname, "__torch__.torch.nn.modules.container.Sequential");
    cr_expect(ts_class_method(a->root->cls, "forward"));
    const ts_tensor *wb[6];
    const char *layers[] = {"0", "2", "4"};
    for (int l = 0; l < 3; l++) {
      const ts_attr *at = ts_module_attr(a->root, layers[l]);
      cr_assert(at && at->kind == TS_ATTR_MODULE);
      cr_expect_str_eq(at->module->path, layers[l]);
      cr_expect_eq(strcmp(at->module->cls->name, "Linear"), 0);
      wb[2 * l] = param(at->module, "weight");
      wb[2 * l + 1] = param(at->module, "bias");
    }
    cr_expect(wb[0]->shape[0] == 64 && wb[0]->shape[1] == 32);
    expect_mlp_output(versions[v], wb);
    free(b);
    aotc_ctx_free(ctx);
  }
}

/* The frozen MLP's weights are constants; the forward's torch.linear calls
 * name them (CONSTANTS.cN), in order. */
Test(ts_module, frozen_mlp_constants_reproduce_pytorch)
{
  for (int v = 0; v < N_VERSIONS; v++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    unsigned char *b;
    ts_archive *a = open_archive(ctx, versions[v], "mlp_frozen", &b);
    const ts_node *fwd = ts_class_method(a->root->cls, "forward");
    cr_assert(fwd);
    const ts_tensor *wb[6];
    int n = 0;
    for (int s = 0; s < fwd->body.n && n < 6; s++) {
      const ts_node *call = fwd->body.items[s]->lhs;
      const char *op = call ? ts_call_op(ctx, call) : NULL;
      if (!op || strcmp(op, "torch.linear"))
        continue;
      for (int k = 1; k <= 2; k++) {
        const ts_node *c = call->items.items[k];
        cr_assert(c->kind == TS_N_ATTR && c->lhs->kind == TS_N_NAME && !strcmp(c->lhs->name, "CONSTANTS"));
        const ts_value *t = ts_archive_constant(a, c->name);
        cr_assert(t && t->kind == TS_V_TENSOR, "CONSTANTS.%s", c->name);
        wb[n++] = t->u.tensor;
      }
    }
    cr_assert_eq(n, 6, "%s: %d constants found in the forward", versions[v], n);
    cr_expect_null(ts_archive_constant(a, "c6"));
    cr_expect_null(ts_archive_constant(a, "c1x"));
    expect_mlp_output(versions[v], wb);
    free(b);
    aotc_ctx_free(ctx);
  }
}

Test(ts_module, check_listing_names_ops_and_shapes)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  unsigned char *b;
  ts_archive *a = open_archive(ctx, "torch-1.13", "cnn_traced", &b);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ts_print_archive(f, a);
  fclose(f);
  cr_expect(strstr(text, "module 0: __torch__.torch.nn.modules.conv.Conv2d (code/__torch__/torch/nn/modules/conv.py)"),
            "%s", text);
  cr_expect(strstr(text, "parameter weight: float32 (16, 3, 3, 3)"));
  cr_expect(strstr(text, "buffer running_var: float32 (32)"));
  cr_expect(strstr(text, "operators: torch._convolution x3, torch.adaptive_avg_pool2d x1, torch.batch_norm x3, "
                         "torch.flatten x1, torch.hardtanh x1, torch.linear x1, torch.max_pool2d x1, torch.relu x2\n"),
            "%s", text);
  free(text);
  free(b);
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Out of memory at every allocation
 * ------------------------------------------------------------------------ */

typedef struct fail_after {
  int left; /* allocations that still succeed */
} fail_after;

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  fail_after *f = ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (f->left-- <= 0)
    return NULL;
  return realloc(ptr, nsize);
}

Test(ts_module, out_of_memory_at_every_allocation)
{
  size_t len;
  unsigned char *b = read_fixture("torch-1.13", "loop_scripted", &len);
  bool opened = false;
  for (int n = 0; n < 2000 && !opened; n++) {
    fail_after f = {n};
    aotc_ctx *ctx = aotc_ctx_new(failing_alloc, &f);
    if (!ctx)
      continue;
    ts_archive *a = ts_archive_open(ctx, "loop_scripted.pt", b, len);
    cr_expect(a || ctx->oom || ctx->n_errors, "allocation %d: NULL without a reason", n);
    cr_expect(!a || !ctx->oom);
    opened = a != NULL;
    aotc_ctx_free(ctx);
  }
  cr_expect(opened, "the archive never opened within 2000 allocations");
  free(b);
}
