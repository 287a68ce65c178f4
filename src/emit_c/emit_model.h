/* emit_model.h: the parts of the emitted C that only models have: large
 * constants (weights) in a compact encoding and the table describing a
 * model's inputs and outputs. Called by emit_c.c. */
#ifndef AOTC_EMIT_MODEL_H
#define AOTC_EMIT_MODEL_H

#include "ir.h"

#include <stdio.h>

/* Constants of at least this many bytes are emitted as string literals. */
#define EMIT_MODEL_BLOB_BYTES 1024

/* Prints constant tensor T under the C name `name` as a union of a byte
 * string (octal escapes, printable characters as themselves) and an array of
 * its element type, plus `#define name (name_u.v)`. gcc reads a string
 * literal an order of magnitude faster, and in far less memory, than one
 * initializer per element. False (nothing printed) for constants smaller
 * than EMIT_MODEL_BLOB_BYTES: the caller prints those as literals. */
bool emit_model_constant(FILE *out, const ir_tensor *T, const char *name, int64_t numel);

/* The table of a model's inputs and outputs (name, element type, shape):
 * declarations in h, definitions in c. Only for functions with a kernel
 * partition (models). */
void emit_model_io_table(FILE *c, FILE *h, const ir_func *f, const char *name);

#endif
