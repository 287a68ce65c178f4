/* npy.h: reading and writing NumPy .npy files (format versions 1-3). */
#ifndef AOTC_NPY_H
#define AOTC_NPY_H

#include "ir.h"

#define NPY_MAX_RANK 16

typedef struct npy_array {
  ir_type type;
  int rank;
  int64_t shape[NPY_MAX_RANK];
  int64_t numel;
  void *data; /* numel elements of type, little-endian, C order */
  aotc_ctx *ctx; /* data comes from this context's hook (aotc_malloc); NULL: from malloc */
} npy_array;

/* Parses a whole .npy file held in memory. Reports on ctx, naming `name`.
 * Never reads past len; refuses Fortran order, big-endian and object data. */
bool driver_npy_parse(aotc_ctx *ctx, const char *name, const unsigned char *buf, size_t len, npy_array *out);
bool driver_npy_load(aotc_ctx *ctx, const char *path, npy_array *out);
/* Whether a file is meant as .npy: it starts with the magic string, or its
 * name ends with .npy (so an empty or truncated one gets the .npy reader's
 * message). */
bool driver_npy_looks_like(const char *path, const unsigned char *buf, size_t len);
bool driver_npy_save(aotc_ctx *ctx, const char *path, const npy_array *a);
void driver_npy_free(npy_array *a);
/* Converts a's elements to type `to` in place (reallocating through
 * a->ctx's hook, or malloc when a->ctx is NULL). */
bool driver_npy_convert(npy_array *a, ir_type to);

/* Reads a whole file (NUL-terminated); NULL (reported on ctx) on failure.
 * The caller frees it with aotc_free(ctx, ...). */
unsigned char *driver_read_file(aotc_ctx *ctx, const char *path, size_t *len);

#endif
