/* emit_model.h: the parts of the emitted C that only models have: large
 * constants (weights) in a compact encoding and the table describing a
 * model's inputs and outputs. Called by emit_c.c. */
#ifndef AOTC_EMIT_MODEL_H
#define AOTC_EMIT_MODEL_H

#include "ir.h"

#include <stdio.h>

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
                         bool external);

/* n floats v (n > 0) as a constant array `name` in the same encoding. */
void emit_model_float_array(FILE *out, const char *name, const float *v, int64_t n);

/* The tables of a model's inputs, parameters (IR_PARAMETER inputs) and
 * outputs (name, element type, shape):
 * declarations in h, definitions in c. Only for functions with a kernel
 * partition (models). */
void emit_model_io_table(FILE *c, FILE *h, const ir_func *f, const char *name, bool external);

/* With external weights: the entry's first statement, which fails with 3
 * until FNAME_set_weights accepted a blob. */
void emit_model_entry_check(FILE *out, const ir_func *f, const char *name, bool external);

/* The weights blob of f (--weights FILE): a 64-byte header ("AOTCWTS1",
 * the total size as a little-endian uint64, zeros) then every constant of
 * at least EMIT_MODEL_BLOB_BYTES at a 64-byte aligned offset, in tensor
 * order. Reports on ctx. */
bool emit_model_write_weights(aotc_ctx *ctx, const ir_func *f, const char *path);

#endif
