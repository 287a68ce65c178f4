/* blob_check.c: NAME_params_save / NAME_params_load of the emitted training
 * code (tests/train/run.sh builds it with AddressSanitizer against the MLP
 * with Adam, "mlp", and the CNN with SGD, "cnn"): a round trip is bit-exact;
 * a truncated blob (in a buffer of exactly its size, so a read past it
 * faults; the tensors are described by the step's output table, which
 * lists them first in the same order), a corrupted one (data, checksum, magic, version, count, sizes,
 * model) and another model's blob are refused with their error codes and
 * leave the tensors untouched. */
#include "cnn.h"
#include "mlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                                      \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      printf("blob_check: " __VA_ARGS__);                                                                     \
      printf("\n");                                                                                           \
      failures++;                                                                                             \
    }                                                                                                         \
  } while (0)

typedef struct model {
  int n;
  const aotc_io_info *info;
  int (*init)(const int64_t *, void *const *, void *);
  int (*save)(const void *const *, void *, size_t);
  int (*load)(void *const *, const void *, size_t);
  size_t bytes;
} model;

static size_t tensor_bytes(const aotc_io_info *t)
{
  size_t n = (size_t)t->element_bytes;
  for (int d = 0; d < t->rank; d++)
    n *= (size_t)t->shape[d];
  return n;
}

/* Tensors of m, filled with a pattern (fill 1) or a sentinel byte. */
static void **tensors(const model *m, int fill)
{
  void **t = calloc((size_t)m->n, sizeof *t);
  for (int k = 0; k < m->n; k++) {
    size_t b = tensor_bytes(&m->info[k]);
    t[k] = malloc(b ? b : 1);
    if (fill)
      for (size_t i = 0; i < b / 4; i++)
        ((float *)t[k])[i] = (float)(k * 1000 + (int)i) * 0.37f - 11.0f;
    else
      memset(t[k], 0x5a, b);
  }
  return t;
}

static int same(const model *m, void **a, void **b)
{
  for (int k = 0; k < m->n; k++)
    if (memcmp(a[k], b[k], tensor_bytes(&m->info[k])))
      return 0;
  return 1;
}

static int untouched(const model *m, void **t)
{
  for (int k = 0; k < m->n; k++)
    for (size_t i = 0; i < tensor_bytes(&m->info[k]); i++)
      if (((unsigned char *)t[k])[i] != 0x5a)
        return 0;
  return 1;
}

/* Loads a copy of blob[0..len) in a buffer of exactly len bytes. */
static int load_copy(const model *m, void **t, const unsigned char *blob, size_t len)
{
  unsigned char *c = malloc(len ? len : 1);
  memcpy(c, blob, len);
  int rc = m->load(t, len ? c : c, len);
  free(c);
  return rc;
}

static void refuse(const model *m, const unsigned char *blob, size_t len, int want, const char *what)
{
  void **t = tensors(m, 0);
  int rc = load_copy(m, t, blob, len);
  CHECK(rc == want, "%s: load returned %d, expected %d", what, rc, want);
  CHECK(untouched(m, t), "%s: the tensors were written", what);
}

/* A copy of blob with byte at xor-ed with 0x01, refused with want. */
static void flipped(const model *m, const unsigned char *blob, size_t at, int want, const char *what)
{
  unsigned char *c = malloc(m->bytes);
  memcpy(c, blob, m->bytes);
  c[at] ^= 1;
  refuse(m, c, m->bytes, want, what);
  free(c);
}

static unsigned char *saved(const model *m, void **t)
{
  unsigned char *blob = malloc(m->bytes);
  CHECK(m->save((const void *const *)t, blob, m->bytes - 1) == 1, "save into a buffer one byte short accepted");
  CHECK(m->save((const void *const *)t, blob, m->bytes) == 0, "save failed");
  return blob;
}

static void check_model(const model *m, const model *other)
{
  int64_t sizes[1] = {0};
  void **a = tensors(m, 1), **b = tensors(m, 0);
  CHECK(m->init(sizes, a, NULL) == 0, "init failed");
  for (int k = 0; k < m->n; k++)
    ((float *)a[k])[0] += 0.25f * (float)k;
  unsigned char *blob = saved(m, a);
  CHECK(m->load(b, blob, m->bytes) == 0 && same(m, a, b), "round trip not bit-exact");
  size_t header = 16 + 8 * (size_t)m->n, lens[] = {0, 3, 15, 16, header - 1, header, m->bytes - 1};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    refuse(m, blob, lens[i], 1, "truncated blob");
  flipped(m, blob, 0, 2, "bad magic");
  flipped(m, blob, 4, 2, "bad version");
  flipped(m, blob, 8, 3, "other model identity");
  flipped(m, blob, 12, 3, "other count");
  flipped(m, blob, 16, 3, "other tensor size");
  flipped(m, blob, header + 5, 4, "corrupted data");
  flipped(m, blob, m->bytes - 1, 4, "corrupted checksum");
  void **o = tensors(other, 1);
  CHECK(other->init(sizes, o, NULL) == 0, "init of the other model failed");
  unsigned char *theirs = saved(other, o);
  refuse(m, theirs, other->bytes, 3, "another model's blob");
  free(theirs);
  free(blob);
}

int main(void)
{
  model mlp = {mlp_PARAMS_COUNT, mlp_train_step_outputs, mlp_init_call, mlp_params_save, mlp_params_load,
               mlp_PARAMS_BLOB_BYTES};
  model cnn = {cnn_PARAMS_COUNT, cnn_train_step_outputs, cnn_init_call, cnn_params_save, cnn_params_load,
               cnn_PARAMS_BLOB_BYTES};
  CHECK(mlp_params_blob_bytes() == mlp_PARAMS_BLOB_BYTES, "blob size");
  check_model(&mlp, &cnn);
  check_model(&cnn, &mlp);
  printf("blob_check: %s (mlp %zu bytes, cnn %zu bytes)\n", failures ? "FAILED" : "ok", mlp.bytes, cnn.bytes);
  return failures != 0;
}
