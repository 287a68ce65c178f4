#include "ir.h"
int main(void) { return 0; }
