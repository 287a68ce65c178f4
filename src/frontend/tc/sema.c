/* sema.c: stub, to be replaced by its owner. */
#include "ir.h"


