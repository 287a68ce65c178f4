/* test_tc.c: Criterion unit tests (stub until its owner fills it). */
#include <criterion/criterion.h>
