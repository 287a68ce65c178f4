/* dyn_ws_main.c: the workspace of a size-generic model at given sizes, split
 * into its parts (bench/dynamic_ws.sh). Includes the emitted MODEL.c with its
 * aotc_ws_plan wrapped: the wrapper records the sum of the temporaries' sizes
 * (what the workspace was before the per-call plan: each temporary in a slot
 * of its own) and what the plan places them in. Prints
 * `unplanned_sum planned_temps total` in bytes.
 *
 *   sed ... MODEL.c >plan.inc   (aotc_ws_plan renamed real_ws_plan, see dynamic_ws.sh)
 *   cc -DMODEL=name -I DIR dyn_ws_main.c -lm && ./a.out SIZE... */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static size_t unplanned_sum, planned_temps;

#include "plan.inc"

static size_t aotc_ws_plan(int n, const int live[][2], size_t *p)
{
  size_t sum = 0;
  for (int i = 0; i < n; i++)
    sum += p[i];
  unplanned_sum = sum;
  return planned_temps = real_ws_plan(n, live, p);
}

#define AOTC_HAVE_ws_plan
#include STR(MODEL.c)

int main(int argc, char **argv)
{
  int64_t sizes[8] = {0};
  for (int i = 1; i < argc && i < 9; i++)
    sizes[i - 1] = atoll(argv[i]);
  size_t total = CAT(MODEL, _call_workspace_bytes)(sizes);
  printf("%zu %zu %zu\n", unplanned_sum, planned_temps, total);
  return 0;
}
