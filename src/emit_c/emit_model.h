/* emit_model.h: the parts of the emitted C that only models have: large
 * constants (weights) in a compact encoding and the table describing a
 * model's inputs and outputs. Called by emit_c.c. */
#ifndef AOTC_EMIT_MODEL_H
#define AOTC_EMIT_MODEL_H

#include "ir.h"

#include <stdio.h>

/* With --weights FILE, the blob's layout: left_out[t] marks a constant the
 * blob does not hold (read only through arrays packed in advance,
 * emit_prepack.c); extra_bytes more follow the constants (those arrays). */
typedef struct emit_blob {
  const bool *left_out;
  int64_t extra_bytes;
} emit_blob;

/* Constants of at least this many bytes are emitted as string literals. */
#define EMIT_MODEL_BLOB_BYTES 1024

/* Prints constant tensor t of f under the C name `name` as a union of a byte
 * string (octal escapes, printable characters as themselves) and an array of
 * its element type, plus `#define name (name_u.v)`. gcc reads a string
 * literal an order of magnitude faster, and in far less memory, than one
 * initializer per element. False (nothing printed) for constants smaller
 * than EMIT_MODEL_BLOB_BYTES: the caller prints those as literals.
 * external: the data lies in a weights blob handed over at run time by
 * FNAME_set_weights (fname: the entry's C name) instead: `#define name`
 * points into it. */
bool emit_model_constant(FILE *out, const ir_func *f, int t, const char *name, const char *fname, int64_t numel,
                         const emit_blob *external);
/* With external weights: `static const unsigned char *aotc_weights_FNAME;`
 * when the blob holds anything. */
void emit_model_declare_blob(FILE *out, const ir_func *f, const char *fname, const emit_blob *external);
/* The offset in the blob after its constants (where extra bytes begin). */
int64_t emit_model_blob_constants_end(const ir_func *f, const emit_blob *external);

/* n floats v (n > 0) as a constant array `name` in the same encoding. */
void emit_model_float_array(FILE *out, const char *name, const float *v, int64_t n);

/* The tables of a model's inputs, parameters (IR_PARAMETER inputs) and
 * outputs (name, element type, shape):
 * declarations in h, definitions in c. Only for functions with a kernel
 * partition (models). */
void emit_model_io_table(FILE *c, FILE *h, const ir_func *f, const char *name, const emit_blob *external);

/* With external weights: the entry's first statement, which fails with 3
 * until FNAME_set_weights accepted a blob. */
void emit_model_entry_check(FILE *out, const ir_func *f, const char *name, const emit_blob *external);

/* The weights blob of f (--weights FILE): a 64-byte header ("AOTCWTS1",
 * the total size as a little-endian uint64, zeros) then every constant of
 * at least EMIT_MODEL_BLOB_BYTES at a 64-byte aligned offset, in tensor
 * order (but those left out), then the extra bytes that extra(out, arg)
 * writes. Reports on ctx. */
bool emit_model_write_weights(aotc_ctx *ctx, const ir_func *f, const emit_blob *external, const char *path,
                              bool (*extra)(FILE *out, void *arg), void *arg);

#endif
