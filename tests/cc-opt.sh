#!/bin/sh
# cc-opt.sh: the C compiler for `aotc run` in suites that check results only
# (CC=tests/cc-opt.sh): runs ${AOTC_TEST_CC:-cc} with aotc's arguments and
# then $AOTC_TEST_OPT (default -O0), whose -O level, last, wins over aotc's
# -O2. scripts/test.sh uses it where the emitted code's optimisation level
# is not what a suite tests, and says so in the suite's name.
exec "${AOTC_TEST_CC:-cc}" "$@" ${AOTC_TEST_OPT:--O0}
