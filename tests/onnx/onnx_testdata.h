/* onnx_testdata.h: runs one directory of the ONNX backend test data
 * (model.onnx, test_data_set_0/input_k.pb and output_k.pb) through the ONNX
 * frontend and the reference interpreter, and compares the outputs. Shared
 * by the unit tests and the interpreter conformance tool. */
#ifndef AOTC_ONNX_TESTDATA_H
#define AOTC_ONNX_TESTDATA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  OT_PASS,        /* every output matches */
  OT_FAIL,        /* wrong answer, or an error while running */
  OT_UNSUPPORTED, /* the frontend refused the model: unsupported op or attribute */
} ot_result;

/* A whole file (malloc'ed; NULL when it cannot be read); *len its size. */
unsigned char *onnx_testdata_slurp(const char *path, size_t *len);

/* Reads everything under dir and runs it; msg receives a one-line reason. */
ot_result onnx_testdata_run(const char *dir, char *msg, size_t msg_len);

/* Whether a and b (n elements of the given ONNX-loaded IR type) agree
 * within 1e-4 relative (and 1e-5 absolute); exact for integers. */
bool onnx_testdata_close(int type, const void *a, const void *b, long long n, long long *bad);

#endif
