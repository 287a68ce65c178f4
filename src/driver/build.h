/* build.h: building emitted C with the system compiler, shared by `aotc
 * run` (run.c) and the tuner's candidates (src/autotune/evaluate.c), and
 * the temporary files and folders they use: tracked so that they are
 * removed on a fatal signal (SIGINT, SIGTERM, SIGHUP) as well as on the
 * normal path.
 *
 * The compiler is $CC (default cc), run as
 *   $CC -O2 -march=native -std=gnu11 -fopenmp [-fPIC -shared] -o OUT SRC... -lm
 * with -fPIC -shared for a shared object (README.md, "Building emitted
 * code"). -fopenmp at any thread count: 1-thread code has no parallel
 * region but its omp simd pragmas (and omp simd reduction, without which
 * gcc keeps a float sum scalar) are read only under it; bench/ builds
 * the same way, so tuned times are those of the code users build.
 * -O2, not -O3: gcc 12 at -O3 with AVX-512VL vectorises the select of
 * ONNX's test_prelu_example (x < 0 ? slope * x : x) into wrong code. */
#ifndef AOTC_BUILD_H
#define AOTC_BUILD_H

#include "ir.h"

#include <sys/types.h>

#define DRIVER_CFLAGS "-O2", "-march=native", "-std=gnu11"

typedef enum {
  DRIVER_BUILD_SHARED,     /* a shared object to dlopen */
  DRIVER_BUILD_EXECUTABLE, /* a program */
} driver_build_kind;

typedef struct driver_build_request {
  const char *cc; /* NULL or "": driver_compiler's choice */
  driver_build_kind kind;
  const char *const *sources;
  int n_sources;
  const char *output;
  const char *log;     /* the compiler's messages go to this file; NULL: to stderr */
  unsigned time_limit; /* seconds the compiler may run; 0: no limit */
  bool verbose;        /* print the command on stderr */
} driver_build_request;

/* The C compiler: cc when given, else $CC, else "cc". */
const char *driver_compiler(const char *cc);
/* The compiler's command line (NULL-terminated) in argv (cap entries);
 * the number of arguments. */
int driver_build_argv(const driver_build_request *r, const char **argv, int cap);
/* Starts the compiler in a child process; its pid, or -1 (errno set). */
pid_t driver_build_start(const driver_build_request *r);
/* Waits for any child started by driver_build_start (or other children);
 * the pid (-1 when none is left) and its wait status. */
pid_t driver_build_wait_any(int *status);
/* The first line of a build's log (path may be NULL), "" when none. */
void driver_build_log_line(const char *path, char *line, size_t cap);
/* Builds and waits; false with an error on ctx (naming the compiler and
 * the first line of its log) when it fails. */
bool driver_build(aotc_ctx *ctx, const driver_build_request *r);

/* ------------------------------------------------------------------------
 * Temporary files and folders
 * ------------------------------------------------------------------------ */

/* A new private folder $TMPDIR/aotc-PURPOSE-XXXXXX (TMPDIR default /tmp)
 * in dir (cap bytes), tracked. False with an error on ctx. */
bool driver_tmpdir_new(aotc_ctx *ctx, const char *purpose, char *dir, size_t cap);
/* Whether path exists and is not a regular file or a folder (/dev/null, a
 * FIFO, a terminal): an output written in place, since renaming a
 * temporary over it would replace the device. */
bool driver_is_special_file(const char *path);
/* Tracks path (a file about to be written, or a folder just made) for
 * removal on a fatal signal. When the table is full or the path too long,
 * the path is simply not removed on a signal. */
void driver_tmp_track(const char *path);
/* Removes path (a file, or an empty folder once its tracked files are
 * gone) and every tracked path under it, and forgets them. */
void driver_tmp_remove(const char *path);
/* Forgets path and every tracked path under it without removing them
 * (--keep-temps, or a temporary file renamed to its final name). */
void driver_tmp_keep(const char *path);

#endif
