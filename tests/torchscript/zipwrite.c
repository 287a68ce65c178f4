/* zipwrite.c: the test-side zip writer (see zipwrite.h). Written from the
 * zip specification (APPNOTE 4.3, 4.4, 4.5.3), independently of ts_zip.c. */
#include "zipwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct out {
  unsigned char *p;
  size_t len, cap;
} out;

static void reserve(out *o, size_t n)
{
  if (o->len + n <= o->cap)
    return;
  while (o->len + n > o->cap)
    o->cap = o->cap ? o->cap * 2 : 4096;
  o->p = realloc(o->p, o->cap);
  if (!o->p) {
    fprintf(stderr, "zipwrite: out of memory\n");
    exit(2);
  }
}

static void put(out *o, const void *p, size_t n)
{
  reserve(o, n);
  if (n)
    memcpy(o->p + o->len, p, n);
  o->len += n;
}

static void put16(out *o, uint32_t v)
{
  unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
  put(o, b, 2);
}

static void put32(out *o, uint32_t v)
{
  put16(o, v & 0xffff);
  put16(o, v >> 16);
}

static void put64(out *o, uint64_t v)
{
  put32(o, (uint32_t)v);
  put32(o, (uint32_t)(v >> 32));
}

/* Raw DEFLATE of data (malloc'ed). */
static unsigned char *deflate_raw(const void *data, size_t len, size_t *out_len)
{
  z_stream s = {0};
  deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  size_t cap = deflateBound(&s, len) + 16;
  unsigned char *buf = malloc(cap);
  s.next_in = (Bytef *)data;
  s.avail_in = (uInt)len;
  s.next_out = buf;
  s.avail_out = (uInt)cap;
  deflate(&s, Z_FINISH);
  *out_len = s.total_out;
  deflateEnd(&s);
  return buf;
}

typedef struct written {
  uint32_t crc;
  size_t comp, offset;
} written;

static void put_zip64_extra(out *o, uint64_t size, uint64_t comp, uint64_t offset, bool with_offset)
{
  put16(o, 0x0001);
  put16(o, with_offset ? 24 : 16);
  put64(o, size);
  put64(o, comp);
  if (with_offset)
    put64(o, offset);
}

static void put_local(out *o, const zw_entry *e, size_t nlen, const written *w, bool zip64)
{
  put32(o, 0x04034b50);
  put16(o, zip64 ? 45 : 20);
  put16(o, 0x0800);
  put16(o, e->deflate ? 8 : 0);
  put16(o, 0);
  put16(o, 0x21);
  put32(o, w->crc);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)w->comp);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)e->len);
  put16(o, (uint32_t)nlen);
  put16(o, zip64 ? 20 : 0);
  put(o, e->name, nlen);
  if (zip64)
    put_zip64_extra(o, e->len, w->comp, 0, false);
}

static void put_central(out *o, const zw_entry *e, size_t nlen, const written *w, bool zip64)
{
  put32(o, 0x02014b50);
  put16(o, zip64 ? 45 : 20);
  put16(o, zip64 ? 45 : 20);
  put16(o, 0x0808);
  put16(o, e->deflate ? 8 : 0);
  put16(o, 0);
  put16(o, 0x21);
  put32(o, w->crc);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)w->comp);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)e->len);
  put16(o, (uint32_t)nlen);
  put16(o, zip64 ? 28 : 0);
  put16(o, 0);
  put16(o, 0);
  put16(o, 0);
  put32(o, 0);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)w->offset);
  put(o, e->name, nlen);
  if (zip64)
    put_zip64_extra(o, e->len, w->comp, w->offset, true);
}

static void put_end(out *o, int n, size_t cd_offset, size_t cd_size, bool zip64)
{
  if (zip64) {
    size_t eocd64 = o->len;
    put32(o, 0x06064b50);
    put64(o, 44);
    put16(o, 45);
    put16(o, 45);
    put32(o, 0);
    put32(o, 0);
    put64(o, (uint64_t)n);
    put64(o, (uint64_t)n);
    put64(o, cd_size);
    put64(o, cd_offset);
    put32(o, 0x07064b50);
    put32(o, 0);
    put64(o, eocd64);
    put32(o, 1);
  }
  put32(o, 0x06054b50);
  put16(o, 0);
  put16(o, 0);
  put16(o, zip64 ? 0xffff : (uint32_t)n);
  put16(o, zip64 ? 0xffff : (uint32_t)n);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)cd_size);
  put32(o, zip64 ? 0xffffffffu : (uint32_t)cd_offset);
  put16(o, 0);
}

unsigned char *zw_build(const zw_entry *entries, int n, bool zip64, size_t *len, zw_layout *layout)
{
  out o = {0};
  written *w = calloc((size_t)n + 1, sizeof(*w));
  for (int i = 0; i < n; i++) {
    const zw_entry *e = &entries[i];
    size_t nlen = e->name_len ? e->name_len : strlen(e->name), comp = e->len;
    unsigned char *packed = e->deflate ? deflate_raw(e->data, e->len, &comp) : NULL;
    w[i] = (written){(uint32_t)crc32(0, e->data, (uInt)e->len), comp, o.len};
    if (layout && i < 64)
      layout->local[i] = o.len;
    put_local(&o, e, nlen, &w[i], zip64);
    if (layout && i < 64)
      layout->data[i] = o.len;
    put(&o, packed ? packed : e->data, comp);
    free(packed);
  }
  size_t cd = o.len;
  for (int i = 0; i < n; i++) {
    if (layout && i < 64)
      layout->central[i] = o.len;
    put_central(&o, &entries[i], entries[i].name_len ? entries[i].name_len : strlen(entries[i].name), &w[i], zip64);
  }
  size_t cd_size = o.len - cd;
  put_end(&o, n, cd, cd_size, zip64);
  if (layout)
    layout->eocd = o.len - 22;
  free(w);
  *len = o.len;
  return o.p;
}

unsigned char *zw_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}
