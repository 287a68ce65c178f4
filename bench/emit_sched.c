/* emit_sched.c: emits one TC entry with a schedule given as text (the form
 * of sched_options_print), for benchmarks that compare option sets by hand:
 *
 *   emit_sched FILE.tc ENTRY OUT.c "tile=... reg=... threads=2" [M=1024,...]
 *
 * OUT.h is written beside OUT.c; "heuristic[:THREADS]" asks for the
 * heuristics; optional sizes specialise the code. */
#include "ir.h"
#include "../src/schedule/schedule.h"

#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
  FILE *in = fopen(path, "rb");
  if (!in)
    return NULL;
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, in) != (size_t)n)
    n = 0;
  if (s)
    s[n] = 0;
  fclose(in);
  *len = (size_t)n;
  return s;
}

/* M=1024,N=512 into fixed[] by parameter name. */
static void parse_sizes(const ir_func *f, const char *s, int64_t *fixed)
{
  for (int p = 0; p < f->n_params; p++) {
    const char *at = s;
    size_t n = strlen(f->param_names[p]);
    while ((at = strstr(at, f->param_names[p])) && !((at == s || at[-1] == ',') && at[n] == '='))
      at++;
    fixed[p] = at ? atoll(at + n + 1) : -1;
  }
}

int main(int argc, char **argv)
{
  if (argc < 5) {
    fprintf(stderr, "usage: emit_sched FILE.tc ENTRY OUT.c SCHEDULE [SIZES]\n");
    return 2;
  }
  size_t len;
  char *text = slurp(argv[1], &len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  const aotc_source *src = text ? aotc_add_source(ctx, argv[1], text, len) : NULL;
  ir_module *m = src ? tc_compile(ctx, src) : NULL;
  ir_func *f = m ? ir_module_find(m, argv[2]) : NULL;
  if (!f) {
    aotc_print_diags(ctx, stderr);
    fprintf(stderr, "emit_sched: no entry %s\n", argv[2]);
    return 1;
  }
  sched_options so;
  char err[256];
  if (!strncmp(argv[4], "heuristic", 9)) {
    sched_options_heuristic(f, argv[4][9] == ':' ? atoi(argv[4] + 10) : 1, NULL, &so);
  } else if (!sched_options_parse(argv[4], &so, err, sizeof(err))) {
    fprintf(stderr, "emit_sched: %s\n", err);
    return 1;
  }
  int64_t fixed[64];
  if (argc > 5)
    parse_sizes(f, argv[5], fixed);
  char hname[512];
  snprintf(hname, sizeof(hname), "%.*s.h", (int)strlen(argv[3]) - 2, argv[3]);
  const char *base = strrchr(hname, '/');
  emit_options opt = {.fuse = true, .sched = &so, .header_name = base ? base + 1 : hname,
                      .dump_schedule = getenv("DUMP") != NULL,
                      .fixed_sizes = argc > 5 ? fixed : NULL};
  FILE *c = fopen(argv[3], "w"), *h = fopen(hname, "w");
  bool ok = c && h && emit_c_module(ctx, m, &f, 1, &opt, c, h);
  aotc_print_diags(ctx, stderr);
  if (c)
    fclose(c);
  if (h)
    fclose(h);
  aotc_ctx_free(ctx);
  free(text);
  return ok ? 0 : 1;
}
