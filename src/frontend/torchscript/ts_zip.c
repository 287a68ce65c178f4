/* ts_zip.c: the zip reader under the TorchScript frontend. It reads the
 * central directory (torch writes flag 0x808: sizes and CRC-32 live in data
 * descriptors, so they come from the central directory), the Zip64 end
 * record and extra fields, and hands out stored and DEFLATE entries (zlib)
 * with their CRC-32 checked. A hostile archive meets limits on the entry
 * count, names, sizes and compression ratio, overlapping entries and
 * truncation, and fails with one error on the context. */
#include "ts.h"

#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define LOCAL_LEN 30
#define CENTRAL_LEN 46
#define EOCD_LEN 22
#define LOCATOR64_LEN 20
#define EOCD64_LEN 56
#define MAX_COMMENT 65535
#define ZIP64_EXTRA 0x0001
#define FLAG_ENCRYPTED 0x0001
#define FLAG_STRONG_ENCRYPTION 0x0040
#define INFLATE_CHUNK (1u << 30)

const ts_zip_limits ts_zip_default_limits = {
    .max_entries = 65536,
    .max_name_len = 4096,
    .max_entry_bytes = 4ull << 30,
    .max_total_bytes = 16ull << 30,
    .max_ratio = 100,
    .ratio_slack = 4096,
};

/* Where the central directory is, from the end records. */
typedef struct cdir {
  uint64_t offset, size, count;
  uint64_t end; /* where the end records start: nothing of an entry lies past it */
} cdir;

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool fail(ts_zip *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(ts_zip *z, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(z->ctx, AOTC_ERROR, z->loc, fmt, ap);
  va_end(ap);
  return false;
}

/* True when [off, off + n) lies inside the archive. */
static bool in_bounds(const ts_zip *z, uint64_t off, uint64_t n)
{
  return off <= z->len && n <= z->len - off;
}

bool ts_is_archive(const unsigned char *bytes, size_t len)
{
  return len >= 4 && rd32(bytes) == SIG_LOCAL;
}

/* ------------------------------------------------------------------------
 * End records
 * ------------------------------------------------------------------------ */

/* The offset of the end of central directory record (the last one whose
 * comment fits), or -1. */
static int64_t find_eocd(const ts_zip *z)
{
  if (z->len < EOCD_LEN)
    return -1;
  size_t lowest = z->len - EOCD_LEN > MAX_COMMENT ? z->len - EOCD_LEN - MAX_COMMENT : 0;
  for (size_t pos = z->len - EOCD_LEN + 1; pos-- > lowest;)
    if (rd32(z->bytes + pos) == SIG_EOCD && pos + EOCD_LEN + rd16(z->bytes + pos + 20) <= z->len)
      return (int64_t)pos;
  return -1;
}

static bool read_eocd64(ts_zip *z, uint64_t locator, cdir *d)
{
  const unsigned char *l = z->bytes + locator;
  uint64_t off = rd64(l + 8);
  if (rd32(l + 4) != 0 || rd32(l + 16) > 1)
    return fail(z, "multi-disk zip archives are not supported");
  if (off > locator || locator - off < EOCD64_LEN || rd32(z->bytes + off) != SIG_EOCD64)
    return fail(z, "the Zip64 end of central directory record is missing or out of place");
  const unsigned char *e = z->bytes + off;
  if (rd32(e + 16) != 0 || rd32(e + 20) != 0 || rd64(e + 24) != rd64(e + 32))
    return fail(z, "multi-disk zip archives are not supported");
  d->count = rd64(e + 32);
  d->size = rd64(e + 40);
  d->offset = rd64(e + 48);
  d->end = off;
  return true;
}

static bool read_end_records(ts_zip *z, cdir *d)
{
  int64_t pos = find_eocd(z);
  if (pos < 0)
    return fail(z, "not a zip archive (no end of central directory record; truncated?)");
  const unsigned char *e = z->bytes + pos;
  if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10))
    return fail(z, "multi-disk zip archives are not supported");
  d->count = rd16(e + 10);
  d->size = rd32(e + 12);
  d->offset = rd32(e + 16);
  d->end = (uint64_t)pos;
  uint64_t locator = (uint64_t)pos - LOCATOR64_LEN;
  if (pos >= LOCATOR64_LEN && rd32(z->bytes + locator) == SIG_LOCATOR64)
    return read_eocd64(z, locator, d);
  if (d->count == 0xffff || d->size == 0xffffffffu || d->offset == 0xffffffffu)
    return fail(z, "the zip archive needs a Zip64 end record but has none");
  return true;
}

static bool check_cdir(ts_zip *z, const cdir *d)
{
  if (d->offset > d->end || d->size > d->end - d->offset)
    return fail(z, "the central directory lies outside the archive (truncated?)");
  if (d->count > (uint64_t)z->limits.max_entries)
    return fail(z, "the archive has %llu entries (limit %d)", (unsigned long long)d->count, z->limits.max_entries);
  if (d->count * CENTRAL_LEN > d->size)
    return fail(z, "the central directory is shorter than its %llu entries", (unsigned long long)d->count);
  return true;
}

/* ------------------------------------------------------------------------
 * Central directory entries
 * ------------------------------------------------------------------------ */

static bool has_dotdot(const char *s, size_t len)
{
  for (size_t i = 0; i + 1 < len; i++)
    if (s[i] == '.' && s[i + 1] == '.' && (i == 0 || s[i - 1] == '/') && (i + 2 == len || s[i + 2] == '/'))
      return true;
  return false;
}

static bool has_control(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return true;
  return false;
}

/* Why an entry name is refused, or NULL when it is safe. */
static const char *bad_name(const char *s, size_t len)
{
  if (len == 0)
    return "is empty";
  if (memchr(s, 0, len))
    return "holds a NUL byte";
  if (s[0] == '/' || (len >= 2 && s[1] == ':'))
    return "is an absolute path";
  if (memchr(s, '\\', len))
    return "holds a backslash";
  if (has_control(s, len))
    return "holds a control character";
  if (has_dotdot(s, len))
    return "has a '..' component";
  return NULL;
}

static bool read_name(ts_zip *z, const unsigned char *p, size_t len, ts_zip_entry *e)
{
  if (len > (size_t)z->limits.max_name_len)
    return fail(z, "an entry name is %zu bytes long (limit %d)", len, z->limits.max_name_len);
  const char *why = bad_name((const char *)p, len);
  if (why) {
    size_t shown = len > 200 ? 200 : len;
    char *copy = ir_strndup(z->ctx, (const char *)p, shown);
    for (size_t i = 0; copy && i < shown; i++)
      if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
        copy[i] = '?';
    return copy && fail(z, "zip entry '%s' %s", copy, why);
  }
  e->name = ir_strndup(z->ctx, (const char *)p, len);
  return e->name != NULL;
}

/* Replaces the 0xffffffff fields by the Zip64 extra field's values. */
static bool read_zip64_field(ts_zip *z, ts_zip_entry *e, const unsigned char *p, size_t n, bool need_offset)
{
  uint64_t *fields[3] = {&e->size, &e->comp_size, &e->header};
  bool needed[3] = {e->size == 0xffffffffu, e->comp_size == 0xffffffffu, need_offset};
  size_t at = 0;
  for (int k = 0; k < 3; k++) {
    if (!needed[k])
      continue;
    if (at + 8 > n)
      return fail(z, "zip entry '%s': its Zip64 extra field is too short", e->name);
    *fields[k] = rd64(p + at);
    at += 8;
  }
  return true;
}

static bool read_extras(ts_zip *z, ts_zip_entry *e, const unsigned char *p, size_t len)
{
  bool need_offset = e->header == 0xffffffffu, zip64 = e->size == 0xffffffffu || e->comp_size == 0xffffffffu || need_offset;
  for (size_t at = 0; at + 4 <= len;) {
    uint16_t id = rd16(p + at), n = rd16(p + at + 2);
    if (at + 4 + n > len)
      return fail(z, "zip entry '%s': an extra field runs past its end", e->name);
    if (id == ZIP64_EXTRA) {
      if (!read_zip64_field(z, e, p + at + 4, n, need_offset))
        return false;
      zip64 = false;
    }
    at += 4 + (size_t)n;
  }
  return !zip64 || fail(z, "zip entry '%s' needs a Zip64 extra field but has none", e->name);
}

static bool check_method(ts_zip *z, const ts_zip_entry *e, uint16_t flags)
{
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
    return fail(z, "zip entry '%s' is encrypted", e->name);
  if (e->method != 0 && e->method != 8)
    return fail(z, "zip entry '%s' uses compression method %d (only stored and DEFLATE are supported)", e->name,
                e->method);
  if (e->method == 0 && e->comp_size != e->size)
    return fail(z, "zip entry '%s' is stored but its sizes differ (%llu and %llu)", e->name,
                (unsigned long long)e->comp_size, (unsigned long long)e->size);
  return true;
}

/* Reads the central directory entry at *pos (below end) into e. */
static bool read_central(ts_zip *z, uint64_t *pos, uint64_t end, ts_zip_entry *e)
{
  const unsigned char *c = z->bytes + *pos;
  if (end - *pos < CENTRAL_LEN || rd32(c) != SIG_CENTRAL)
    return fail(z, "central directory entry %d is malformed", (int)(e - z->entries));
  size_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
  if (end - *pos - CENTRAL_LEN < nlen + xlen + clen)
    return fail(z, "central directory entry %d runs past the directory", (int)(e - z->entries));
  e->method = rd16(c + 10);
  e->crc = rd32(c + 16);
  e->comp_size = rd32(c + 20);
  e->size = rd32(c + 24);
  e->header = rd32(c + 42);
  *pos += CENTRAL_LEN + nlen + xlen + clen;
  return read_name(z, c + CENTRAL_LEN, nlen, e) && read_extras(z, e, c + CENTRAL_LEN + nlen, xlen) &&
         check_method(z, e, rd16(c + 8));
}

/* ------------------------------------------------------------------------
 * Local headers and limits
 * ------------------------------------------------------------------------ */

/* Finds where the entry's data starts from its local header, whose name
 * must be the central directory's. */
static bool read_local(ts_zip *z, ts_zip_entry *e, uint64_t cdir_offset)
{
  if (!in_bounds(z, e->header, LOCAL_LEN) || rd32(z->bytes + e->header) != SIG_LOCAL)
    return fail(z, "zip entry '%s': no local header at offset %llu", e->name, (unsigned long long)e->header);
  const unsigned char *l = z->bytes + e->header;
  size_t nlen = rd16(l + 26), xlen = rd16(l + 28);
  e->data = e->header + LOCAL_LEN + nlen + xlen;
  if (nlen != strlen(e->name) || !in_bounds(z, e->header + LOCAL_LEN, nlen) ||
      memcmp(l + LOCAL_LEN, e->name, nlen))
    return fail(z, "zip entry '%s': its local header names another entry", e->name);
  if (e->data > cdir_offset || e->comp_size > cdir_offset - e->data)
    return fail(z, "zip entry '%s' runs past the end of the data (truncated?)", e->name);
  return true;
}

static bool check_sizes(ts_zip *z, const ts_zip_entry *e, uint64_t *total)
{
  const ts_zip_limits *lim = &z->limits;
  if (e->size > lim->max_entry_bytes)
    return fail(z, "zip entry '%s' is %llu bytes uncompressed (limit %llu)", e->name, (unsigned long long)e->size,
                (unsigned long long)lim->max_entry_bytes);
  if (e->method == 8 && e->size > lim->ratio_slack && (e->size - lim->ratio_slack) / lim->max_ratio >= e->comp_size + 1)
    return fail(z, "zip entry '%s' expands %llu bytes to %llu, past the compression ratio limit %u:1 (zip bomb?)",
                e->name, (unsigned long long)e->comp_size, (unsigned long long)e->size, lim->max_ratio);
  *total += e->size;
  if (*total > lim->max_total_bytes)
    return fail(z, "the archive's entries hold more than %llu bytes uncompressed (zip bomb?)",
                (unsigned long long)lim->max_total_bytes);
  return true;
}

/* ------------------------------------------------------------------------
 * Sorting (merge sort on the arena: no allocation outside the context)
 * ------------------------------------------------------------------------ */

typedef int (*entry_cmp)(const ts_zip_entry *, const ts_zip_entry *);

static int by_name(const ts_zip_entry *a, const ts_zip_entry *b) { return strcmp(a->name, b->name); }
static int by_offset(const ts_zip_entry *a, const ts_zip_entry *b) { return (a->header > b->header) - (a->header < b->header); }

static void merge_sort(ts_zip_entry *v, ts_zip_entry *tmp, int n, entry_cmp cmp)
{
  if (n < 2)
    return;
  int h = n / 2, i = 0, j = h, k = 0;
  merge_sort(v, tmp, h, cmp);
  merge_sort(v + h, tmp, n - h, cmp);
  while (i < h || j < n)
    tmp[k++] = j >= n || (i < h && cmp(&v[i], &v[j]) <= 0) ? v[i++] : v[j++];
  memcpy(v, tmp, sizeof(*v) * (size_t)n);
}

static bool sort_entries(ts_zip *z, entry_cmp cmp)
{
  ts_zip_entry *tmp = IR_NEW_ARRAY(z->ctx, ts_zip_entry, z->n_entries);
  if (!tmp)
    return false;
  merge_sort(z->entries, tmp, z->n_entries, cmp);
  return true;
}

/* Entries whose bytes overlap are the trick of non-recursive zip bombs. */
static bool check_overlaps(ts_zip *z)
{
  if (!sort_entries(z, by_offset))
    return false;
  for (int i = 0; i + 1 < z->n_entries; i++) {
    const ts_zip_entry *a = &z->entries[i], *b = &z->entries[i + 1];
    if (a->data + a->comp_size > b->header)
      return fail(z, "zip entries '%s' and '%s' overlap (zip bomb?)", a->name, b->name);
  }
  return true;
}

static bool check_duplicates(ts_zip *z)
{
  if (!sort_entries(z, by_name))
    return false;
  for (int i = 0; i + 1 < z->n_entries; i++)
    if (!strcmp(z->entries[i].name, z->entries[i + 1].name))
      return fail(z, "zip entry '%s' appears twice", z->entries[i].name);
  return true;
}

/* The top folder every entry shares ("model/"), or "". */
static void find_top(ts_zip *z)
{
  z->top = "";
  const char *first = z->n_entries ? z->entries[0].name : "", *slash = strchr(first, '/');
  if (!slash)
    return;
  size_t n = (size_t)(slash - first) + 1;
  for (int i = 0; i < z->n_entries; i++)
    if (strncmp(z->entries[i].name, first, n))
      return;
  z->top = ir_strndup(z->ctx, first, n);
  for (int i = 0; z->top && i < z->n_entries; i++)
    z->entries[i].path = z->entries[i].name + n;
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

static bool read_entries(ts_zip *z, const cdir *d)
{
  z->n_entries = (int)d->count;
  z->entries = IR_NEW_ARRAY(z->ctx, ts_zip_entry, z->n_entries);
  if (!z->entries)
    return false;
  uint64_t pos = d->offset, end = d->offset + d->size, total = 0;
  for (int i = 0; i < z->n_entries; i++) {
    ts_zip_entry *e = &z->entries[i];
    if (!read_central(z, &pos, end, e) || !read_local(z, e, d->offset) || !check_sizes(z, e, &total))
      return false;
    e->path = e->name;
  }
  return true;
}

ts_zip *ts_zip_open_limited(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len,
                            const ts_zip_limits *limits)
{
  ts_zip *z = IR_NEW(ctx, ts_zip);
  const aotc_source *src = aotc_add_source(ctx, name, "", 0);
  if (!z || !src)
    return NULL;
  *z = (ts_zip){.ctx = ctx, .loc = {src, 0, 0}, .name = src->name, .bytes = bytes, .len = len, .limits = *limits};
  cdir d = {0};
  if (!read_end_records(z, &d) || !check_cdir(z, &d) || !read_entries(z, &d) || !check_overlaps(z) ||
      !check_duplicates(z))
    return NULL;
  find_top(z);
  return ctx->oom ? NULL : z;
}

ts_zip *ts_zip_open(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len)
{
  return ts_zip_open_limited(ctx, name, bytes, len, &ts_zip_default_limits);
}

/* strcmp(name, top + path) without building the string. */
static int cmp_joined(const char *name, const char *top, const char *path)
{
  size_t n = strlen(top);
  int c = strncmp(name, top, n);
  return c ? c : strlen(name) < n ? -1 : strcmp(name + n, path);
}

static const ts_zip_entry *search(const ts_zip *z, const char *top, const char *path)
{
  int lo = 0, hi = z->n_entries;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2, c = cmp_joined(z->entries[mid].name, top, path);
    if (!c)
      return &z->entries[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const ts_zip_entry *ts_zip_find(const ts_zip *z, const char *path)
{
  const ts_zip_entry *e = search(z, z->top, path);
  return e ? e : search(z, "", path);
}

/* ------------------------------------------------------------------------
 * Reading entries
 * ------------------------------------------------------------------------ */

/* zlib allocates through the context's hook; a size header lets the free
 * side report the size, as the hook expects. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
  aotc_ctx *ctx = opaque;
  size_t n = (size_t)items * size + 16;
  unsigned char *p = ctx->alloc(ctx->alloc_ud, NULL, 0, n);
  if (!p) {
    ctx->oom = true;
    return Z_NULL;
  }
  memcpy(p, &n, sizeof(n));
  return p + 16;
}

static void zlib_free(voidpf opaque, voidpf q)
{
  aotc_ctx *ctx = opaque;
  unsigned char *p = (unsigned char *)q - 16;
  size_t n;
  memcpy(&n, p, sizeof(n));
  ctx->alloc(ctx->alloc_ud, p, n, 0);
}

/* Moves up to INFLATE_CHUNK bytes of a 64-bit span into zlib's 32-bit window. */
static void refill(Bytef **next, uInt *avail, unsigned char **from, uint64_t *left)
{
  if (*avail || !*left)
    return;
  uInt n = *left > INFLATE_CHUNK ? INFLATE_CHUNK : (uInt)*left;
  *next = *from;
  *avail = n;
  *from += n;
  *left -= n;
}

static int run_inflate(z_stream *s, const ts_zip *z, const ts_zip_entry *e, unsigned char *out)
{
  unsigned char *in = (unsigned char *)z->bytes + e->data;
  uint64_t in_left = e->comp_size, out_left = e->size;
  int rc;
  do {
    refill(&s->next_in, &s->avail_in, &in, &in_left);
    refill(&s->next_out, &s->avail_out, &out, &out_left);
    rc = inflate(s, Z_NO_FLUSH);
  } while (rc == Z_OK);
  return rc;
}

static bool inflate_entry(ts_zip *z, const ts_zip_entry *e, unsigned char *out)
{
  z_stream s = {.zalloc = zlib_alloc, .zfree = zlib_free, .opaque = z->ctx};
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
    return z->ctx->oom = true, false;
  int rc = run_inflate(&s, z, e, out);
  uint64_t produced = s.total_out;
  inflateEnd(&s);
  if (rc == Z_STREAM_END && produced == e->size)
    return true;
  if (rc == Z_MEM_ERROR)
    return z->ctx->oom = true, false;
  if (rc == Z_DATA_ERROR)
    return fail(z, "zip entry '%s': corrupt DEFLATE data", e->name);
  if (produced < e->size)
    return fail(z, "zip entry '%s': its DEFLATE data ends after %llu of its %llu bytes", e->name,
                (unsigned long long)produced, (unsigned long long)e->size);
  return fail(z, "zip entry '%s' inflates to more than its declared %llu bytes", e->name,
              (unsigned long long)e->size);
}

static uint32_t crc_of(const unsigned char *p, uint64_t n)
{
  uLong crc = crc32_z(0, Z_NULL, 0);
  return (uint32_t)crc32_z(crc, p, (z_size_t)n);
}

static bool count_read(ts_zip *z, const ts_zip_entry *e)
{
  z->read_bytes += e->size;
  if (z->read_bytes <= z->limits.max_total_bytes)
    return true;
  return fail(z, "reading '%s' passes the limit of %llu bytes read from one archive", e->name,
              (unsigned long long)z->limits.max_total_bytes);
}

const unsigned char *ts_zip_read(ts_zip *z, const ts_zip_entry *e, size_t *len)
{
  if (!count_read(z, e))
    return NULL;
  const unsigned char *data = z->bytes + e->data;
  if (e->method == 8) {
    unsigned char *out = ir_alloc(z->ctx, (size_t)e->size + 1);
    if (!out || !inflate_entry(z, e, out))
      return NULL;
    data = out;
  }
  uint32_t crc = crc_of(data, e->size);
  if (crc != e->crc) {
    fail(z, "zip entry '%s': CRC-32 mismatch (recorded %08x, computed %08x)", e->name, e->crc, crc);
    return NULL;
  }
  *len = (size_t)e->size;
  return data;
}
