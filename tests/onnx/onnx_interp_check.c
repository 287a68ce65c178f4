/* onnx_interp_check.c: runs ONNX backend test directories through the ONNX
 * frontend and the reference interpreter; prints one line per test and the
 * passed / failed / unsupported counts.
 *
 *   onnx_interp_check [-q] DIR...   (each DIR holds model.onnx and test_data_set_0/) */
#include "onnx_testdata.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  static const char *const label[] = {"PASS", "FAIL", "UNSUPPORTED"};
  int counts[3] = {0, 0, 0};
  bool quiet = argc > 1 && !strcmp(argv[1], "-q");
  char msg[1024];
  for (int k = quiet ? 2 : 1; k < argc; k++) {
    ot_result r = onnx_testdata_run(argv[k], msg, sizeof(msg));
    counts[r]++;
    if (!quiet || r != OT_PASS)
      printf("%s %s: %s\n", label[r], argv[k], msg);
  }
  printf("passed %d failed %d unsupported %d\n", counts[0], counts[1], counts[2]);
  return counts[1] ? 1 : 0;
}
