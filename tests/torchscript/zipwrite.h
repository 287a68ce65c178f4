/* zipwrite.h: a small zip writer for the TorchScript tests. It builds
 * archives with stored or DEFLATE entries (optionally Zip64 end records and
 * extra fields) so the unit tests can craft hostile archives and the
 * mutation test can re-zip entries it edited. Test code: it uses malloc
 * and exits on out-of-memory. */
#ifndef ZIPWRITE_H
#define ZIPWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zw_entry {
  const char *name;
  size_t name_len; /* 0: strlen(name) */
  const void *data;
  size_t len;
  bool deflate;
} zw_entry;

/* Where the writer put things, for tests that patch the archive. */
typedef struct zw_layout {
  size_t local[64];   /* offset of each entry's local header (first 64) */
  size_t data[64];    /* offset of each entry's data */
  size_t central[64]; /* offset of each entry's central directory record */
  size_t eocd;        /* offset of the end of central directory record */
} zw_layout;

/* The archive (malloc'ed) and its length in *len. zip64 writes Zip64
 * extra fields (sizes and offsets 0xffffffff) and the Zip64 end records.
 * layout may be NULL. */
unsigned char *zw_build(const zw_entry *entries, int n, bool zip64, size_t *len, zw_layout *layout);

/* Reads a whole file (malloc'ed); NULL when it cannot. */
unsigned char *zw_read_file(const char *path, size_t *len);

#endif
