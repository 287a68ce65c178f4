/* shape_spec.c: the --shape NAME=D0,D1,... option: each dimension a number
 * or a name (a size parameter of the emitted code). */
#include "driver.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_name(const char *s, size_t n)
{
  if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_')
      return false;
  return true;
}

/* One dimension: a whole number >= 0, or a name. */
static bool parse_dim(aotc_ctx *ctx, const char *spec, const char *s, size_t n, int64_t *dim, const char **name)
{
  *name = NULL;
  *dim = -1;
  if (is_name(s, n))
    return (*name = ir_strndup(ctx, s, n)) != NULL;
  char buf[32], *end;
  if (n > 0 && n < sizeof(buf) && isdigit((unsigned char)s[0])) {
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (!*end && !errno)
      return (*dim = v), true;
  }
  aotc_error(ctx, (ir_loc){0}, "--shape %s: '%.*s' is neither a dimension (a whole number) nor a name", spec,
             (int)n, s);
  return false;
}

static int count_dims(const char *s)
{
  int n = 1;
  for (; *s; s++)
    n += *s == ',';
  return n;
}

bool driver_parse_shape(aotc_ctx *ctx, const char *spec, onnx_shape_spec *out)
{
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || !eq[1]) {
    aotc_error(ctx, (ir_loc){0}, "--shape expects NAME=D0,D1,... (numbers or names), got '%s'", spec);
    return false;
  }
  int rank = count_dims(eq + 1);
  int64_t *dims = IR_NEW_ARRAY(ctx, int64_t, rank);
  const char **names = IR_NEW_ARRAY(ctx, const char *, rank);
  if (!dims || !names || rank > DRIVER_MAX_SHAPE_RANK) {
    if (rank > DRIVER_MAX_SHAPE_RANK)
      aotc_error(ctx, (ir_loc){0}, "--shape %s: more than %d dimensions", spec, DRIVER_MAX_SHAPE_RANK);
    return false;
  }
  const char *p = eq + 1;
  for (int d = 0; d < rank; d++) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (!parse_dim(ctx, spec, p, n, &dims[d], &names[d]))
      return false;
    p += n + 1;
  }
  *out = (onnx_shape_spec){ir_strndup(ctx, spec, (size_t)(eq - spec)), rank, dims, names};
  return out->input != NULL;
}
