/* mutate_ts.c: mutation smoke test of the TorchScript readers.
 *
 *   mutate_ts [N] [--seed S] [--only K] [--save FILE] [--verbose] [DIR ...]
 *
 * Reads every *.pt archive of the DIRs (default: the fixture folders of
 * tests/torchscript/fixtures, or the TS_FIXTURE_DIR macro), makes N
 * (default 2000) mutants, and opens each with ts_archive_open in a fresh
 * context, then builds its model graph with ts_read_graph (the shapes of the
 * fixture it came from, by name) in another. A mutant edits either the archive's bytes (bit flips, bytes set
 * to 0x00/0xff/0x80, 0xffffffff words, deleted and duplicated ranges,
 * truncation) or one entry's contents before zipping it again with valid
 * CRCs (so the edits reach the pickle reader and the code parser): pickles
 * get opcode bytes inserted, replaced, deleted or duplicated; code files get
 * lines deleted, duplicated, swapped or re-indented and tokens inserted;
 * entries are dropped or storages truncated.
 *
 * A mutant passes when nothing crashes (build with -fsanitize=address,undefined
 * so memory errors abort) and the readers and the graph builder keep their
 * contract: NULL exactly when an error was reported (or memory ran out); printing the archive
 * (ts_print_archive) and the diagnostics works. Mutant K depends only on
 * (S, K): `--only K --save FILE` writes it out; --verbose prints every
 * mutant's diagnostics and listing. The last line is
 * `N passed, N failed`; the exit status is 1 when any mutant failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts.h"
#include "zipwrite.h"

#ifndef TS_FIXTURE_DIR
#define TS_FIXTURE_DIR "tests/torchscript/fixtures"
#endif

#define MAX_ARCHIVES 128
#define MAX_ENTRIES 256

typedef struct entry {
  char *name;
  unsigned char *data;
  size_t len;
  bool deflate;
} entry;

typedef struct archive {
  char *path;
  unsigned char *bytes;
  size_t len;
  entry entries[MAX_ENTRIES];
  int n_entries;
} archive;

typedef struct buf {
  unsigned char *p;
  size_t len;
} buf;

/* ------------------------------------------------------------------ rng */

static uint64_t rng_state;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "mutate_ts: out of memory\n");
    exit(2);
  }
  return p;
}

/* Replaces len bytes at pos by s[0..n). */
static void splice(buf *b, size_t pos, size_t len, const void *s, size_t n)
{
  if (pos > b->len)
    pos = b->len;
  if (len > b->len - pos)
    len = b->len - pos;
  unsigned char *p = xmalloc(b->len - len + n + 1);
  memcpy(p, b->p, pos);
  memcpy(p + pos, s, n);
  memcpy(p + pos + n, b->p + pos + len, b->len - pos - len);
  free(b->p);
  b->p = p;
  b->len = b->len - len + n;
}

/* ------------------------------------------------------------------ loading */

static bool load_entries(archive *a)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_zip *z = ts_zip_open(ctx, a->path, a->bytes, a->len);
  for (int i = 0; z && i < z->n_entries && i < MAX_ENTRIES; i++) {
    size_t n;
    const unsigned char *d = ts_zip_read(z, &z->entries[i], &n);
    if (!d)
      break;
    entry *e = &a->entries[a->n_entries++];
    e->name = strdup(z->entries[i].name);
    e->data = xmalloc(n);
    memcpy(e->data, d, n);
    e->len = n;
    e->deflate = z->entries[i].method == 8;
  }
  bool ok = z && ctx->n_errors == 0;
  aotc_ctx_free(ctx);
  return ok;
}

static void load_dir(const char *dir, archive *as, int *n)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) && *n < MAX_ARCHIVES) {
    size_t len = strlen(de->d_name);
    if (len < 4 || strcmp(de->d_name + len - 3, ".pt"))
      continue;
    archive *a = &as[*n];
    memset(a, 0, sizeof(*a));
    a->path = xmalloc(strlen(dir) + len + 2);
    sprintf(a->path, "%s/%s", dir, de->d_name);
    a->bytes = zw_read_file(a->path, &a->len);
    if (a->bytes && load_entries(a))
      (*n)++;
    else
      fprintf(stderr, "mutate_ts: cannot read '%s'\n", a->path);
  }
  if (d)
    closedir(d);
}

static void load_default(archive *as, int *n)
{
  DIR *d = opendir(TS_FIXTURE_DIR);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.') {
      char path[1024];
      snprintf(path, sizeof(path), "%s/%s", TS_FIXTURE_DIR, de->d_name);
      load_dir(path, as, n);
    }
  if (d)
    closedir(d);
}

/* ------------------------------------------------------------------ byte edits */

static const unsigned char pickle_ops[] = {'(', ')', '.', 'N', 'K', 'J', 'M', 'X', 'G', 'Q', 'R', 'b', 'c', 'e',
                                           'h', 'j', 'q', 'r', 's', 't', 'u', ']', '}', 0x80, 0x81, 0x85, 0x86,
                                           0x87, 0x88, 0x89, 0x8a, 0x8c, 0x93, 0x94, 0x95, 0xff, 0x00};

static void byte_edit(buf *b, bool pickle)
{
  size_t pos = below(b->len + 1), n = 1 + below(16);
  unsigned char c = pickle && below(2) ? pickle_ops[below(sizeof(pickle_ops))] : (unsigned char)rnd();
  static const unsigned char words[][4] = {{0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0}, {0xff, 0xff, 0, 0},
                                           {0, 0, 0, 0x80}, {0xff, 0xff, 0xff, 0x7f}};
  switch (below(8)) {
  case 0: if (b->len) b->p[below(b->len)] ^= (unsigned char)(1u << below(8)); break;
  case 1: if (b->len) b->p[below(b->len)] = c; break;
  case 2: splice(b, pos, 0, &c, 1); break;
  case 3: splice(b, pos, n, "", 0); break;
  case 4: if (pos < b->len) splice(b, below(b->len + 1), 0, b->p + pos, n > b->len - pos ? b->len - pos : n); break;
  case 5: b->len = below(b->len + 1); break;
  case 6: splice(b, pos, 4, words[below(5)], 4); break;
  default: if (b->len) b->p[below(b->len)] = below(2) ? 0xff : 0x80; break;
  }
}

/* ------------------------------------------------------------------ code edits */

static const char *const code_words[] = {
    "def", "class", "if", "else:", "elif", "for", "in", "while", "return", "(", ")", "[", "]", "{", "}", ",", ":",
    ".", "=", "==", "->", "\n", "    ", "  ", "\t", "#", "\"", "'", "\\", "-", "not", "None", "True", "self",
    "torch.", "ops.prim.", "CONSTANTS.c99", "1e999", "99999999999999999999", "0x", "1.", "__torch__.",
    "forward", "Tensor", "x", "__parameters__ = [", "\xc3\xa9", "\x00", "lambda", "**", "//", "+=", ";",
};

/* The start of line k (0-based) of b, or b->len. */
static size_t line_start(const buf *b, size_t k)
{
  size_t pos = 0;
  for (size_t line = 0; line < k && pos < b->len; pos++)
    if (b->p[pos] == '\n')
      line++;
  return pos;
}

static size_t count_lines(const buf *b)
{
  size_t n = 1;
  for (size_t i = 0; i < b->len; i++)
    n += b->p[i] == '\n';
  return n;
}

static void line_edit(buf *b)
{
  size_t lines = count_lines(b), k = below(lines), s = line_start(b, k), e = line_start(b, k + 1);
  const char *w = code_words[below(sizeof(code_words) / sizeof(code_words[0]))];
  unsigned char *copy;
  switch (below(6)) {
  case 0: splice(b, s, e - s, "", 0); break;
  case 1:
    copy = xmalloc(e - s);
    memcpy(copy, b->p + s, e - s);
    splice(b, line_start(b, below(lines)), 0, copy, e - s);
    free(copy);
    break;
  case 2: splice(b, s, 0, " ", 1); break;
  case 3: if (e > s && b->p[s] == ' ') splice(b, s, 1, "", 0); break;
  case 4: splice(b, below(b->len + 1), 0, w, w[0] ? strlen(w) : 1); break;
  default: byte_edit(b, false); break;
  }
}

/* ------------------------------------------------------------------ mutants */

static bool is_code(const char *name) { return strstr(name, "/code/") && strstr(name, ".py") && !strstr(name, "debug"); }
static bool is_pickle(const char *name) { return strstr(name, ".pkl") && !strstr(name, "debug"); }

/* An entry worth editing: pickles and code files most often. */
static int pick_entry(const archive *a)
{
  for (int tries = 0; tries < 16; tries++) {
    int i = (int)below((size_t)a->n_entries);
    const char *n = a->entries[i].name;
    if (is_code(n) || is_pickle(n) || below(4) == 0)
      return i;
  }
  return (int)below((size_t)a->n_entries);
}

static buf rezip(const archive *a, int target, const buf *data, bool drop)
{
  zw_entry es[MAX_ENTRIES];
  int n = 0;
  for (int i = 0; i < a->n_entries; i++) {
    if (i == target && drop)
      continue;
    const entry *e = &a->entries[i];
    es[n++] = i == target ? (zw_entry){e->name, 0, data->p, data->len, e->deflate}
                          : (zw_entry){e->name, 0, e->data, e->len, e->deflate};
  }
  buf out;
  out.p = zw_build(es, n, below(4) == 0, &out.len, NULL);
  return out;
}

static buf entry_mutant(const archive *a)
{
  int target = pick_entry(a);
  const entry *e = &a->entries[target];
  buf data = {xmalloc(e->len + 1), e->len};
  memcpy(data.p, e->data, e->len);
  int edits = 1 + (int)below(4);
  for (int k = 0; k < edits; k++)
    if (is_code(e->name))
      line_edit(&data);
    else
      byte_edit(&data, is_pickle(e->name));
  buf out = rezip(a, target, &data, below(40) == 0);
  free(data.p);
  return out;
}

static const archive *mutant_source; /* the archive the last mutant came from */

static buf make_mutant(const archive *as, int n_archives)
{
  const archive *a = &as[below((size_t)n_archives)];
  mutant_source = a;
  if (below(10) >= 3)
    return entry_mutant(a);
  buf b = {xmalloc(a->len + 1), a->len};
  memcpy(b.p, a->bytes, a->len);
  int edits = 1 + (int)below(4);
  for (int k = 0; k < edits; k++)
    byte_edit(&b, false);
  return b;
}

/* ------------------------------------------------------------------ graphs */

/* The forward arguments' shapes of each fixture, by the archive's name. */
typedef struct shape_row {
  const char *prefix, *arg;
  int rank;
  int64_t dims[4];
} shape_row;

static const shape_row shape_rows[] = {
    {"mlp_", "input", 2, {2, 32}},      {"cnn_", "x", 4, {1, 3, 32, 32}}, {"transformer_", "x", 3, {1, 8, 32}},
    {"attn_", "x", 3, {2, 8, 32}},      {"zoo_", "x", 4, {1, 4, 8, 8}},   {"zoo_", "ids", 2, {2, 5}},
    {"scripted_", "x", 2, {3, 8}},      {"reuse_", "x", 2, {2, 8}},       {"loop_", "x", 2, {2, 8}},
    {"encoder_", "src", 3, {2, 8, 32}}, {"tensors_", "x", 2, {4, 6}},     {"attrs_", "x", 1, {2}},
    {"unsupported_", "x", 2, {2, 3}},
};

static int shapes_of(const archive *a, onnx_shape_spec *specs)
{
  const char *base = strrchr(a->path, '/') ? strrchr(a->path, '/') + 1 : a->path;
  int n = 0;
  for (size_t i = 0; i < sizeof shape_rows / sizeof shape_rows[0]; i++)
    if (!strncmp(base, shape_rows[i].prefix, strlen(shape_rows[i].prefix)))
      specs[n++] = (onnx_shape_spec){shape_rows[i].arg, shape_rows[i].rank, shape_rows[i].dims, NULL};
  return n;
}

/* Builds a mutant's model graph; true when the builder kept its contract. */
static bool graph_mutant(const buf *b, FILE *sink)
{
  onnx_shape_spec specs[4];
  ts_graph_options opt = {.shapes = specs, .n_shapes = shapes_of(mutant_source, specs)};
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  struct ir_graph *g = ts_read_graph(ctx, "mutant.pt", b->p, b->len, &opt);
  bool ok = (g == NULL) == (ctx->n_errors > 0 || ctx->oom);
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
  return ok;
}

/* Opens a mutant; true when the readers kept their contract. */
static bool run_mutant(const buf *b, FILE *sink)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_archive *a = ts_archive_open(ctx, "mutant.pt", b->p, b->len);
  bool ok = (a == NULL) == (ctx->n_errors > 0 || ctx->oom), opened = a != NULL;
  if (a)
    ts_print_archive(sink, a);
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
  return ok && (!opened || graph_mutant(b, sink));
}

static void save(const char *path, const buf *b)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(b->p, 1, b->len, f) != b->len)
    fprintf(stderr, "mutate_ts: cannot write '%s'\n", path);
  if (f)
    fclose(f);
}

int main(int argc, char **argv)
{
  static archive as[MAX_ARCHIVES];
  int n_archives = 0;
  long n = 2000, only = -1;
  uint64_t seed = 1;
  const char *save_path = NULL;
  bool verbose = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--save") && i + 1 < argc)
      save_path = argv[++i];
    else if (!strcmp(argv[i], "--verbose"))
      verbose = true;
    else if (argv[i][0] >= '0' && argv[i][0] <= '9')
      n = strtol(argv[i], NULL, 10);
    else
      load_dir(argv[i], as, &n_archives);
  }
  if (!n_archives)
    load_default(as, &n_archives);
  if (!n_archives) {
    fprintf(stderr, "mutate_ts: no archives found\n");
    return 1;
  }
  FILE *sink = verbose ? stdout : fopen("/dev/null", "w");
  long passed = 0, failed = 0;
  clock_t start = clock();
  for (long k = only >= 0 ? only : 0; k < (only >= 0 ? only + 1 : n); k++) {
    rng_state = seed * 0x100000001b3ull ^ (uint64_t)k * 0x9e3779b97f4a7c15ull;
    buf b = make_mutant(as, n_archives);
    if (save_path)
      save(save_path, &b);
    if (run_mutant(&b, sink))
      passed++;
    else {
      failed++;
      printf("mutant %ld (seed %llu): result and errors disagree\n", k, (unsigned long long)seed);
    }
    free(b.p);
  }
  if (!verbose)
    fclose(sink);
  printf("%d archives, %.1f s\n", n_archives, (double)(clock() - start) / CLOCKS_PER_SEC);
  printf("%ld passed, %ld failed\n", passed, failed);
  return failed ? 1 : 0;
}
