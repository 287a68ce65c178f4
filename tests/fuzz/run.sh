#!/usr/bin/env bash
# run.sh: runs each libFuzzer target (tests/fuzz/build.sh builds them) for a
# fixed time from the seed corpus (tests/fuzz/seeds.sh), after replaying the
# regression inputs of tests/fuzz/regress/<target>/ (crashes found earlier).
#
#   tests/fuzz/run.sh [--time SECONDS] [--jobs N] [--parallel N] [--keep DIR] [TARGET...]
#
# --parallel N fuzzes N targets at once (each still for SECONDS; their lines
# are printed in order when all are done).
# TARGET is tc, onnx, npy or ts (TorchScript; default: all four); SECONDS per target
# (default 30, or $FUZZ_TIME). A target passes when the regression inputs
# and the run end without a crash, a leak, a timeout (20 s per input) or
# more than 2 GiB of memory. Prints one line per target with its execution
# count, then `N passed, N failed`; a crash is left in build-fuzz/crashes/
# for `build-fuzz/fuzz_TARGET FILE` to reproduce. For a long run:
#   tests/fuzz/run.sh --time 3600 --keep build-fuzz/corpus
# (--keep keeps the grown corpus there for the next run.)
# libFuzzer starts from seed $FUZZ_SEED (default 1, so the CI budget
# replays the same search; set another for longer runs).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
time_s=${FUZZ_TIME:-30}
keep=""
jobs=1 parallel=1
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --time) time_s=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(tc onnx npy ts)
if ! command -v clang >/dev/null; then
  echo "clang is not installed: fuzzing skipped"
  echo "0 passed, 0 failed, ${#targets[@]} skipped"
  exit 0
fi
tests/fuzz/build.sh >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tests/fuzz/seeds.sh "$tmp/seeds" >/dev/null
mkdir -p build-fuzz/crashes
passed=0 failed=0
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# fuzz_target T: the regression inputs and the timed run of target T; its
# lines on stdout, exit status 1 when it failed.
fuzz_target() {
  local t=$1 bin corpus log regress ok start par runs
  bin=build-fuzz/fuzz_$t
  corpus=${keep:+$(mkdir -p "$keep" && cd "$keep" && pwd)/$t}
  corpus=${corpus:-$tmp/corpus_$t}
  mkdir -p "$corpus"
  log=$tmp/$t.log
  regress=()
  [ -d tests/fuzz/regress/$t ] && regress=(tests/fuzz/regress/$t/*)
  ok=1
  if [ ${#regress[@]} -gt 0 ] && [ -e "${regress[0]}" ]; then
    "$bin" -timeout=20 -rss_limit_mb=2048 "${regress[@]}" >"$log.regress" 2>&1 || { ok=0; tail -n 30 "$log.regress"; }
  fi
  start=$(date +%s)
  par=()
  [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
  [ "$t" = ts ] && par+=(-max_len=262144)
  mkdir -p "$tmp/run_$t"
  (cd "$tmp/run_$t" && "$root/$bin" -max_total_time="$time_s" -seed="${FUZZ_SEED:-1}" -timeout=20 -rss_limit_mb=2048 "${par[@]}" \
    -artifact_prefix="$root/build-fuzz/crashes/${t}-" -print_final_stats=1 \
    "$corpus" "$tmp/seeds/$t") >"$log" 2>&1 || ok=0
  runs=$(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" "$tmp/run_$t"/fuzz-*.log 2>/dev/null | grep -o '[0-9]*$' |
         awk '{s += $1} END {print s + 0}')
  if [ "$ok" -eq 1 ]; then
    printf 'PASS fuzz_%s: %s executions in %ss, no crash\n' "$t" "$runs" "$(( $(date +%s) - start ))"
  else
    printf 'FAIL fuzz_%s: after %s executions\n' "$t" "$runs"
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" "$tmp/run_$t"/fuzz-*.log 2>/dev/null | head -n 10
    return 1
  fi
}

pids=()
for t in "${targets[@]}"; do
  fuzz_target "$t" >"$tmp/$t.out" 2>&1 &
  pids+=($!)
  [ $(jobs -rp | wc -l) -ge "$parallel" ] && wait -n
done
for i in "${!targets[@]}"; do
  if wait "${pids[$i]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  cat "$tmp/${targets[$i]}.out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
