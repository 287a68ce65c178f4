/* aotc_blob.h: reads a weights blob written by `aotc --weights FILE` into
 * 64-byte aligned memory, ready for MODEL_set_weights (docs/models.md).
 * Header-only, libc only; the caller frees the memory with free() once the
 * model is no longer used.
 *
 *   size_t n;
 *   void *blob = aotc_blob_load("model.weights", &n);
 *   if (!blob || model_set_weights(blob, n)) ...error... */
#ifndef AOTC_BLOB_H
#define AOTC_BLOB_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes (NULL when it cannot be read); *bytes: its size. */
static inline void *aotc_blob_load(const char *path, size_t *bytes)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  void *blob = n > 0 ? aligned_alloc(64, ((size_t)n + 63) / 64 * 64) : NULL;
  if (blob && (fseek(f, 0, SEEK_SET) != 0 || fread(blob, 1, (size_t)n, f) != (size_t)n)) {
    free(blob);
    blob = NULL;
  }
  fclose(f);
  *bytes = blob ? (size_t)n : 0;
  return blob;
}

#endif
