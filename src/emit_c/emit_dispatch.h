/* emit_dispatch.h: the entry of a model compiled with --size-hint (see
 * emit_dispatch.c). */
#ifndef AOTC_EMIT_DISPATCH_H
#define AOTC_EMIT_DISPATCH_H

#include "emit_target.h"

#include <stdio.h>

/* What the dispatching entry NAME chooses between: `fast`, compiled for the
 * sizes hint[] (one per size parameter of `generic`, which it takes none
 * of), and `generic`, size-generic code with generic's signature. */
typedef struct emit_dispatch {
  const char *name;      /* the entry the caller sees */
  const char *fast;      /* the entry specialised to the hinted sizes */
  const char *generic;   /* the size-generic entry */
  const ir_func *func;   /* the generic function: sizes, inputs, outputs */
  const int64_t *hint;   /* per size parameter */
  const char *const *size_c; /* per size parameter: its C name */
  const emit_target *tg; /* type names */
} emit_dispatch;

/* NAME, NAME_workspace_bytes, NAME_call and NAME_call_workspace_bytes into
 * c; their prototypes, and the input/output tables of the generic entry
 * under NAME's names, into h (may be c). */
void emit_dispatch_print(const emit_dispatch *d, FILE *c, FILE *h);

#endif
