/* print.c: stub, to be replaced by its owner. */
#include "ir.h"

void ir_print_func(FILE *out, const ir_func *f) { (void)out; (void)f; }
void ir_print_expr(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e) { (void)out; (void)f; (void)s; (void)e; }
void ir_print_ranges(FILE *out, const ir_func *f) { (void)out; (void)f; }
