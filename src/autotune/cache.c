/* cache.c: the tuning cache, a text file of tab-separated lines keyed by the
 * kernel, sizes, threads, CPU and compiler (docs/tuning-cache.md). Reading
 * treats the file as hostile: a malformed line is skipped with a warning.
 * Writing goes to a temporary file renamed over the old one. */
#define _GNU_SOURCE
#include "tune.h"
#include "../driver/build.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_VERSION "aotc1"
#define CACHE_FIELDS 9
#define CACHE_MAX_BYTES (64L << 20)
#define CACHE_MAX_WARNINGS 5

static const ir_loc noloc;

uint64_t tune_hash(const void *data, size_t len)
{
  return ir_hash_bytes(data, len);
}

/* ------------------------------------------------------------------------
 * Keys: kernel text, sizes, machine, compiler
 * ------------------------------------------------------------------------ */

/* Copies s into a field: control characters become spaces, outer blanks go. */
static void set_field(char *dst, size_t cap, const char *s, size_t len)
{
  while (len && (*s == ' ' || *s == '\t'))
    s++, len--;
  while (len && (unsigned char)s[len - 1] <= ' ')
    len--;
  size_t n = len < cap - 1 ? len : cap - 1;
  for (size_t i = 0; i < n; i++)
    dst[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? ' ' : s[i];
  dst[n] = 0;
  if (!n)
    snprintf(dst, cap, "-");
}

static bool kernel_field(const ir_func *f, char *dst, size_t cap)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem)
    return false;
  ir_print_func(mem, f);
  if (fclose(mem)) {
    free(text);
    return false;
  }
  snprintf(dst, cap, "%016llx:%s", (unsigned long long)tune_hash(text, len), f->name);
  free(text);
  return true;
}

static void sizes_field(const ir_func *f, const int64_t *sizes, char *dst, size_t cap)
{
  size_t at = 0;
  dst[0] = 0;
  for (int p = 0; p < f->n_params && at < cap; p++)
    at += (size_t)snprintf(dst + at, cap - at, "%s%s=%lld", p ? "," : "", f->param_names[p], (long long)sizes[p]);
  if (!f->n_params)
    snprintf(dst, cap, "-");
}

/* The value of the first /proc/cpuinfo line starting with key, or NULL. */
static char *cpuinfo_value(const char *key, char *line, size_t cap)
{
  FILE *in = fopen("/proc/cpuinfo", "r");
  char *value = NULL;
  size_t n = strlen(key);
  while (in && !value && fgets(line, (int)cap, in)) {
    char *colon = strchr(line, ':');
    if (!strncmp(line, key, n) && colon && (line[n] == ' ' || line[n] == '\t' || line[n] == ':'))
      value = colon + 1;
  }
  if (in)
    fclose(in);
  return value;
}

static bool has_word(const char *list, const char *word)
{
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)); p += n)
    if ((p == list || p[-1] == ' ' || p[-1] == '\t') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
      return true;
  return false;
}

static void isa_field(aotc_ctx *ctx, char *dst, size_t cap)
{
  static const char *const flags[] = {"avx2", "avx512f", "asimd", "sve"};
  char *line = aotc_malloc(ctx, 1 << 16);
  char *list = line ? cpuinfo_value("flags", line, 1 << 16) : NULL;
  if (line && !list)
    list = cpuinfo_value("Features", line, 1 << 16);
  size_t at = 0;
  dst[0] = 0;
  for (size_t i = 0; list && i < sizeof flags / sizeof flags[0]; i++)
    if (has_word(list, flags[i]) && at < cap)
      at += (size_t)snprintf(dst + at, cap - at, "%s%s", at ? "," : "", flags[i]);
  if (!at)
    snprintf(dst, cap, "-");
  aotc_free(ctx, line);
}

static void cpu_field(char *dst, size_t cap)
{
  char line[1024];
  const char *v = cpuinfo_value("model name", line, sizeof line);
  set_field(dst, cap, v ? v : "unknown", v ? strlen(v) : 7);
}

/* First line of `CC --version`: names the vendor and the version. */
static void compiler_field(const char *cc, char *dst, size_t cap)
{
  char cmd[1024], line[512] = "";
  cc = driver_compiler(cc);
  snprintf(cmd, sizeof cmd, "%s --version 2>/dev/null", cc);
  fflush(NULL);
  FILE *p = popen(cmd, "r");
  if (p) {
    if (!fgets(line, sizeof line, p))
      line[0] = 0;
    while (fgetc(p) != EOF)
      ;
    pclose(p);
  }
  set_field(dst, cap, line[0] ? line : cc, strlen(line[0] ? line : cc));
}

bool tune_key_make(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, int threads, const char *cc, tune_key *key)
{
  memset(key, 0, sizeof *key);
  if (!kernel_field(f, key->kernel, sizeof key->kernel)) {
    aotc_error(ctx, noloc, "out of memory printing '%s'", f->name);
    return false;
  }
  sizes_field(f, sizes, key->sizes, sizeof key->sizes);
  key->threads = threads;
  cpu_field(key->cpu, sizeof key->cpu);
  isa_field(ctx, key->isa, sizeof key->isa);
  compiler_field(cc, key->compiler, sizeof key->compiler);
  return true;
}

void tune_key_for_cpu(tune_key *key, const sched_cpu *cpu)
{
  size_t n = strlen(key->isa);
  if (cpu && n < sizeof key->isa)
    snprintf(key->isa + n, sizeof key->isa - n, "@%s", cpu->name);
}

void tune_key_for_gpu(tune_key *key, const char *name, int sm_major, int sm_minor, int runtime_version,
                      int driver_version)
{
  char text[TUNE_FIELD];
  set_field(key->cpu, sizeof key->cpu, name, strlen(name));
  if (sm_major > 0)
    snprintf(text, sizeof text, "sm_%d%d", sm_major, sm_minor);
  else
    snprintf(text, sizeof text, "cuda-sim");
  set_field(key->isa, sizeof key->isa, text, strlen(text));
  snprintf(text, sizeof text, "CUDA runtime %d, driver %d", runtime_version, driver_version);
  set_field(key->compiler, sizeof key->compiler, text, strlen(text));
}

bool tune_key_equal(const tune_key *a, const tune_key *b)
{
  return a->threads == b->threads && !strcmp(a->kernel, b->kernel) && !strcmp(a->sizes, b->sizes) &&
         !strcmp(a->cpu, b->cpu) && !strcmp(a->isa, b->isa) && !strcmp(a->compiler, b->compiler);
}

/* ------------------------------------------------------------------------
 * Entries in memory
 * ------------------------------------------------------------------------ */

const tune_entry *tune_cache_lookup(const tune_cache *cache, const tune_key *key)
{
  for (int i = 0; i < cache->n; i++)
    if (tune_key_equal(&cache->entries[i].key, key))
      return &cache->entries[i];
  return NULL;
}

static bool cache_grow(aotc_ctx *ctx, tune_cache *cache)
{
  int cap = cache->cap ? 2 * cache->cap : 16;
  tune_entry *e = IR_NEW_ARRAY(ctx, tune_entry, cap);
  if (!e)
    return false;
  if (cache->n)
    memcpy(e, cache->entries, sizeof *e * (size_t)cache->n);
  cache->entries = e;
  cache->cap = cap;
  return true;
}

bool tune_cache_record(aotc_ctx *ctx, tune_cache *cache, const tune_entry *e)
{
  tune_entry *old = (tune_entry *)tune_cache_lookup(cache, &e->key);
  if (old) {
    if (e->seconds < old->seconds)
      *old = *e;
    return true;
  }
  if (cache->n == cache->cap && !cache_grow(ctx, cache))
    return false;
  cache->entries[cache->n++] = *e;
  return true;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* Splits line (len bytes, no newline) at tabs into at most max fields. */
static int split_tabs(char *line, size_t len, char **fields, size_t *lens, int max)
{
  int n = 0;
  char *start = line;
  for (size_t i = 0; i <= len; i++)
    if (i == len || line[i] == '\t') {
      if (n == max)
        return max + 1;
      fields[n] = start;
      lens[n++] = (size_t)(line + i - start);
      start = line + i + 1;
    }
  return n;
}

static bool copy_field(char *dst, size_t cap, const char *s, size_t len)
{
  if (!len || len >= cap)
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
      return false;
  memcpy(dst, s, len);
  dst[len] = 0;
  return true;
}

static bool parse_threads(const char *s, size_t len, int *out)
{
  char buf[16];
  char *end;
  if (!copy_field(buf, sizeof buf, s, len))
    return false;
  errno = 0;
  long v = strtol(buf, &end, 10);
  *out = (int)v;
  return !errno && *end == 0 && v >= 1 && v <= 4096;
}

static bool parse_seconds(const char *s, size_t len, double *out)
{
  char buf[64];
  char *end;
  if (!copy_field(buf, sizeof buf, s, len))
    return false;
  errno = 0;
  *out = strtod(buf, &end);
  return !errno && *end == 0 && isfinite(*out) && *out > 0;
}

static bool parse_entry(char *line, size_t len, tune_entry *e)
{
  char *f[CACHE_FIELDS];
  size_t n[CACHE_FIELDS];
  memset(e, 0, sizeof *e);
  if (split_tabs(line, len, f, n, CACHE_FIELDS) != CACHE_FIELDS)
    return false;
  if (n[0] != strlen(CACHE_VERSION) || memcmp(f[0], CACHE_VERSION, n[0]))
    return false;
  return copy_field(e->key.kernel, sizeof e->key.kernel, f[1], n[1]) &&
         copy_field(e->key.sizes, sizeof e->key.sizes, f[2], n[2]) && parse_threads(f[3], n[3], &e->key.threads) &&
         copy_field(e->key.cpu, sizeof e->key.cpu, f[4], n[4]) &&
         copy_field(e->key.isa, sizeof e->key.isa, f[5], n[5]) &&
         copy_field(e->key.compiler, sizeof e->key.compiler, f[6], n[6]) && parse_seconds(f[7], n[7], &e->seconds) &&
         copy_field(e->options, sizeof e->options, f[8], n[8]);
}

static bool is_blank_or_comment(const char *line, size_t len)
{
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
    i++;
  return i == len || line[i] == '#';
}

static void warn_malformed(aotc_ctx *ctx, const char *path, int line_no, int *warned)
{
  if (++*warned <= CACHE_MAX_WARNINGS)
    aotc_warning(ctx, noloc, "%s:%d: malformed tuning cache line skipped", path, line_no);
}

static bool parse_cache_text(aotc_ctx *ctx, const char *path, char *text, size_t len, tune_cache *cache)
{
  int line_no = 0, warned = 0;
  for (size_t at = 0; at < len;) {
    char *nl = memchr(text + at, '\n', len - at);
    size_t end = nl ? (size_t)(nl - text) : len;
    tune_entry e;
    line_no++;
    if (is_blank_or_comment(text + at, end - at))
      ;
    else if (!parse_entry(text + at, end - at, &e))
      warn_malformed(ctx, path, line_no, &warned);
    else if (!tune_cache_record(ctx, cache, &e))
      return false;
    at = end + 1;
  }
  if (warned > CACHE_MAX_WARNINGS)
    aotc_warning(ctx, noloc, "%s: %d malformed lines skipped in all", path, warned);
  return true;
}

static char *read_all(aotc_ctx *ctx, const char *path, FILE *in, size_t *len)
{
  size_t cap = 1 << 16, n = 0;
  char *buf = aotc_malloc(ctx, cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, in);
    if (n < cap || ferror(in))
      break;
    char *grown = cap < (size_t)CACHE_MAX_BYTES ? aotc_realloc(ctx, buf, cap * 2) : NULL;
    if (!grown) {
      aotc_error(ctx, noloc, "'%s': tuning cache too large or out of memory", path);
      aotc_free(ctx, buf);
      return NULL;
    }
    buf = grown;
    cap *= 2;
  }
  if (!buf || ferror(in)) {
    aotc_error(ctx, noloc, "cannot read '%s': %s", path, buf ? strerror(errno) : "out of memory");
    aotc_free(ctx, buf);
    return NULL;
  }
  *len = n;
  return buf;
}

bool tune_cache_load(aotc_ctx *ctx, const char *path, tune_cache *cache)
{
  memset(cache, 0, sizeof *cache);
  FILE *in = fopen(path, "rb");
  if (!in) {
    if (errno == ENOENT)
      return true;
    aotc_error(ctx, noloc, "cannot open '%s': %s", path, strerror(errno));
    return false;
  }
  size_t len;
  char *text = read_all(ctx, path, in, &len);
  fclose(in);
  bool ok = text && parse_cache_text(ctx, path, text, len, cache);
  aotc_free(ctx, text);
  return ok;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

static void write_entry(FILE *out, const tune_entry *e)
{
  const tune_key *k = &e->key;
  fprintf(out, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%.9g\t%s\n", CACHE_VERSION, k->kernel, k->sizes, k->threads, k->cpu,
          k->isa, k->compiler, e->seconds, e->options);
}

static bool write_cache_file(const char *tmp, const tune_cache *cache)
{
  FILE *out = fopen(tmp, "w");
  if (!out)
    return false;
  fputs("# aotc tuning cache (docs/tuning-cache.md): version kernel sizes threads cpu isa compiler seconds "
        "options\n",
        out);
  for (int i = 0; i < cache->n; i++)
    write_entry(out, &cache->entries[i]);
  bool ok = !fflush(out) && !ferror(out) && !fsync(fileno(out));
  return !fclose(out) && ok;
}

bool tune_cache_save(aotc_ctx *ctx, const char *path, const tune_cache *cache)
{
  char *tmp = ir_sprintf(ctx, "%s.tmp%ld", path, (long)getpid());
  if (!tmp)
    return false;
  if (!write_cache_file(tmp, cache) || rename(tmp, path)) {
    aotc_error(ctx, noloc, "cannot write the tuning cache '%s': %s", path, strerror(errno));
    remove(tmp);
    return false;
  }
  return true;
}

static bool entry_is_clean(const tune_entry *e)
{
  const tune_key *k = &e->key;
  const char *fields[] = {k->kernel, k->sizes, k->cpu, k->isa, k->compiler, e->options};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (!fields[i][0] || strpbrk(fields[i], "\t\n\r"))
      return false;
  return k->threads >= 1 && isfinite(e->seconds) && e->seconds > 0;
}

bool tune_cache_update(aotc_ctx *ctx, const char *path, const tune_entry *e)
{
  tune_cache cache;
  if (!entry_is_clean(e)) {
    aotc_error(ctx, noloc, "internal: a tuning cache entry holds a tab, a newline or an empty field");
    return false;
  }
  return tune_cache_load(ctx, path, &cache) && tune_cache_record(ctx, &cache, e) &&
         tune_cache_save(ctx, path, &cache);
}

bool tune_cache_find_key(aotc_ctx *ctx, const char *path, const tune_key *key, sched_options *o)
{
  tune_cache cache;
  char err[256];
  if (!tune_cache_load(ctx, path, &cache))
    return false;
  const tune_entry *e = tune_cache_lookup(&cache, key);
  if (!e)
    return false;
  sched_options parsed;
  if (!sched_options_parse(e->options, &parsed, err, sizeof err)) {
    aotc_warning(ctx, noloc, "%s: the entry for '%s' holds bad options (%s): ignored", path, key->kernel, err);
    return false;
  }
  *o = parsed;
  return true;
}

bool tune_cache_find(aotc_ctx *ctx, const char *path, const ir_func *f, const int64_t *sizes, int threads,
                     const char *cc, const sched_cpu *cpu, sched_options *o)
{
  tune_key key;
  if (!tune_key_make(ctx, f, sizes, threads, cc, &key))
    return false;
  tune_key_for_cpu(&key, cpu);
  return tune_cache_find_key(ctx, path, &key, o);
}
