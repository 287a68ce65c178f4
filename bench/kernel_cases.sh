# shellcheck shell=bash
# kernel_cases.sh: the kernels of bench/kernels.tc and their sizes that
# bench/tune_rate.sh and bench/llvm_kernels.sh both measure ("ENTRY SIZES"),
# one list so that the two tables stay about the same cases. Sourced.
# shellcheck disable=SC2034
cases=("mm M=256,N=256,K=256" "bmm B=8,M=64,N=64,K=64" "conv3x3 N=1,C=32,H=28,W=28,F=32"
  "conv3x3s2 N=1,C=64,H=28,W=28,F=64" "softmax N=256,D=1024" "layernorm N=256,D=1024")
