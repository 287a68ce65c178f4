/* context.c: the compilation context: allocation hook, arena, sources and
 * collected diagnostics. Library code reports here and never exits. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)

typedef struct arena_block {
  struct arena_block *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
} arena_block;

struct ir_arena {
  arena_block *head;
};

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static void *ctx_raw_alloc(aotc_ctx *ctx, size_t n)
{
  void *p = ctx->alloc(ctx->alloc_ud, NULL, 0, n);
  if (!p)
    ctx->oom = true;
  return p;
}

static void ctx_raw_free(aotc_ctx *ctx, void *p, size_t n)
{
  if (p)
    ctx->alloc(ctx->alloc_ud, p, n, 0);
}

aotc_ctx *aotc_ctx_new(aotc_alloc_fn alloc, void *ud)
{
  if (!alloc)
    alloc = default_alloc;
  aotc_ctx *ctx = alloc(ud, NULL, 0, sizeof(aotc_ctx));
  if (!ctx)
    return NULL;
  memset(ctx, 0, sizeof(*ctx));
  ctx->alloc = alloc;
  ctx->alloc_ud = ud;
  ctx->arena = alloc(ud, NULL, 0, sizeof(ir_arena));
  if (!ctx->arena) {
    alloc(ud, ctx, sizeof(aotc_ctx), 0);
    return NULL;
  }
  ctx->arena->head = NULL;
  ctx->isl_max_ops = 0;
  return ctx;
}

int64_t aotc_max_bytes(const aotc_ctx *ctx)
{
  return ctx->max_bytes > 0 ? ctx->max_bytes : AOTC_DEFAULT_MAX_BYTES;
}

void aotc_ctx_free(aotc_ctx *ctx)
{
  if (!ctx)
    return;
  for (arena_block *b = ctx->arena->head; b;) {
    arena_block *next = b->next;
    ctx_raw_free(ctx, b, sizeof(arena_block) + b->size);
    b = next;
  }
  ctx_raw_free(ctx, ctx->arena, sizeof(ir_arena));
  ctx->alloc(ctx->alloc_ud, ctx, sizeof(aotc_ctx), 0);
}

void *ir_alloc(aotc_ctx *ctx, size_t size)
{
  size = (size + 15) & ~(size_t)15;
  arena_block *b = ctx->arena->head;
  if (!b || b->size - b->used < size) {
    size_t bsize = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    b = ctx_raw_alloc(ctx, sizeof(arena_block) + bsize);
    if (!b)
      return NULL;
    b->size = bsize;
    b->used = 0;
    b->next = ctx->arena->head;
    ctx->arena->head = b;
  }
  void *p = b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

/* ------------------------------------------------------------------------
 * Heap blocks through the hook, for memory freed before the context (file
 * buffers, arrays of `aotc run`, the tuner's buffers): 64-byte aligned; the
 * 16 bytes before a block hold the hook's size and the offset into it.
 * ------------------------------------------------------------------------ */

#define HEAP_ALIGN 64
#define HEAP_EXTRA (HEAP_ALIGN + 16)

void *aotc_malloc(aotc_ctx *ctx, size_t n)
{
  if (n > SIZE_MAX - HEAP_EXTRA) {
    ctx->oom = true;
    return NULL;
  }
  unsigned char *raw = ctx_raw_alloc(ctx, n + HEAP_EXTRA);
  if (!raw)
    return NULL;
  unsigned char *p = raw + 16 + (HEAP_ALIGN - (uintptr_t)(raw + 16) % HEAP_ALIGN) % HEAP_ALIGN;
  size_t head[2] = {n + HEAP_EXTRA, (size_t)(p - raw)};
  memcpy(p - 16, head, sizeof head);
  return p;
}

static size_t heap_head(const void *p, int k)
{
  size_t head[2];
  memcpy(head, (const unsigned char *)p - 16, sizeof head);
  return head[k];
}

void aotc_free(aotc_ctx *ctx, void *p)
{
  if (p)
    ctx_raw_free(ctx, (unsigned char *)p - heap_head(p, 1), heap_head(p, 0));
}

void *aotc_realloc(aotc_ctx *ctx, void *p, size_t n)
{
  void *q = aotc_malloc(ctx, n);
  if (!q || !p)
    return q;
  size_t old = heap_head(p, 0) - HEAP_EXTRA;
  memcpy(q, p, old < n ? old : n);
  aotc_free(ctx, p);
  return q;
}

char *ir_strndup(aotc_ctx *ctx, const char *s, size_t n)
{
  char *p = ir_alloc(ctx, n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *ir_strdup(aotc_ctx *ctx, const char *s)
{
  return ir_strndup(ctx, s, strlen(s));
}

static char *ir_vsprintf(aotc_ctx *ctx, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return NULL;
  char *p = ir_alloc(ctx, (size_t)n + 1);
  if (p)
    vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

uint64_t ir_hash_bytes(const void *p, size_t n)
{
  const unsigned char *b = p;
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

uint64_t ir_hash_str(const char *s)
{
  return ir_hash_bytes(s, strlen(s));
}

char *ir_sprintf(aotc_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *p = ir_vsprintf(ctx, fmt, ap);
  va_end(ap);
  return p;
}

bool ir_vec_push(aotc_ctx *ctx, ir_vec *v, void *item)
{
  if (v->n == v->cap) {
    int cap = v->cap ? v->cap * 2 : 8;
    void **items = IR_NEW_ARRAY(ctx, void *, cap);
    if (!items)
      return false;
    if (v->n)
      memcpy(items, v->items, sizeof(void *) * (size_t)v->n);
    v->items = items;
    v->cap = cap;
  }
  v->items[v->n++] = item;
  return true;
}

const aotc_source *aotc_add_source(aotc_ctx *ctx, const char *name, const char *text, size_t len)
{
  aotc_source *src = IR_NEW(ctx, aotc_source);
  aotc_source **list = IR_NEW_ARRAY(ctx, aotc_source *, ctx->n_sources + 1);
  char *copy = ir_strndup(ctx, text, len);
  const char *nm = ir_strdup(ctx, name);
  if (!src || !list || !copy || !nm)
    return NULL;
  src->name = nm;
  src->text = copy;
  src->len = len;
  if (ctx->n_sources)
    memcpy(list, ctx->sources, sizeof(*list) * (size_t)ctx->n_sources);
  list[ctx->n_sources++] = src;
  ctx->sources = list;
  return src;
}

void aotc_vdiag(aotc_ctx *ctx, aotc_severity sev, ir_loc loc, const char *fmt, va_list ap)
{
  if (ctx->n_diags == ctx->cap_diags) {
    int cap = ctx->cap_diags ? ctx->cap_diags * 2 : 16;
    aotc_diag *d = IR_NEW_ARRAY(ctx, aotc_diag, cap);
    if (!d)
      return;
    if (ctx->n_diags)
      memcpy(d, ctx->diags, sizeof(*d) * (size_t)ctx->n_diags);
    ctx->diags = d;
    ctx->cap_diags = cap;
  }
  char *msg = ir_vsprintf(ctx, fmt, ap);
  if (!msg)
    return;
  aotc_diag *d = &ctx->diags[ctx->n_diags++];
  d->severity = sev;
  d->loc = loc;
  d->msg = msg;
  if (sev == AOTC_ERROR)
    ctx->n_errors++;
}

#define DEFINE_DIAG(fname, sev)                                  \
  void fname(aotc_ctx *ctx, ir_loc loc, const char *fmt, ...)     \
  {                                                               \
    va_list ap;                                                   \
    va_start(ap, fmt);                                            \
    aotc_vdiag(ctx, sev, loc, fmt, ap);                           \
    va_end(ap);                                                   \
  }
DEFINE_DIAG(aotc_error, AOTC_ERROR)
DEFINE_DIAG(aotc_warning, AOTC_WARNING)
DEFINE_DIAG(aotc_note, AOTC_NOTE)

static const char *const severity_names[] = {"error", "warning", "note"};

/* The source line holding loc, and its length. */
static const char *source_line(const ir_loc *loc, size_t *len)
{
  const char *p = loc->src->text, *end = p + loc->src->len;
  for (int line = 1; line < loc->line && p < end; p++)
    if (*p == '\n')
      line++;
  const char *q = p;
  while (q < end && *q != '\n')
    q++;
  *len = (size_t)(q - p);
  return p;
}

static void print_caret_line(FILE *out, const ir_loc *loc)
{
  size_t len;
  const char *line = source_line(loc, &len);
  fprintf(out, "%.*s\n", (int)len, line);
  for (int i = 1; i < loc->col && (size_t)(i - 1) < len; i++)
    fputc(line[i - 1] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

void aotc_print_diags(const aotc_ctx *ctx, FILE *out)
{
  for (int i = 0; i < ctx->n_diags; i++) {
    const aotc_diag *d = &ctx->diags[i];
    if (d->loc.src && d->loc.line > 0)
      fprintf(out, "%s:%d:%d: %s: %s\n", d->loc.src->name, d->loc.line, d->loc.col,
              severity_names[d->severity], d->msg);
    else if (d->loc.src)
      fprintf(out, "%s: %s: %s\n", d->loc.src->name, severity_names[d->severity], d->msg);
    else
      fprintf(out, "aotc: %s: %s\n", severity_names[d->severity], d->msg);
    if (d->loc.src && d->loc.line > 0)
      print_caret_line(out, &d->loc);
  }
  if (ctx->oom)
    fprintf(out, "aotc: error: out of memory\n");
}

void aotc_clear_diags(aotc_ctx *ctx)
{
  ctx->n_diags = 0;
  ctx->n_errors = 0;
}
