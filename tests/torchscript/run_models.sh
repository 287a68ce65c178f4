#!/usr/bin/env bash
# run_models.sh: TorchScript archives compiled to C and run. For every
# fixture with a NAME.run manifest (line 1: forward's arguments as
# ARG=FILE.npy, line 2: the outputs as OUTPUT=FILE.npy, PyTorch's values),
# each archive NAME_*.pt is
#   - compiled with `aotc NAME_KIND.pt --shape ARG=D0,D1,... -o m.c` (shapes
#     read from the input files) and m.c built with -std=c99 -Wall -Wextra
#     -Werror (the fixtures of the first torch version only, for time);
#   - run with `aotc run NAME_KIND.pt --input ARG=FILE ...` and every output
#     compared with PyTorch's by tests/e2e/npycmp.c: |got - expected| <=
#     1e-4 * (1 + |expected|).
# The committed fixtures (tests/torchscript/fixtures/torch-*/) come from
# torch 1.13 and 2.x; the large ones (ResNet-18 traced, MobileNetV2 frozen,
# SqueezeNet scripted; TS_LARGE=all: traced, frozen and scripted of each,
# TS_LARGE=none: none) are made with /usr/bin/python3's torch and torchvision into
# $TS_MODELS_DIR (default: ts_models beside $AOTC) and skipped when those
# are missing. Then the error cases: one error each, with its text and the
# archive's code file:line:col. Ends with `N passed, N failed, N skipped`
# and what it cost. TS_SAMPLE=N runs 1 committed archive in N (CI's shorter
# variant under the sanitizers): version i takes the archives k of a model
# with (k + i) % N = 0, so each model and, across the models, each kind and
# version still runs; a model none of whose archives was taken runs its
# last one. The summary says how many were left out. TS_WEIGHTS_AS_INPUTS=
# "ARCHIVE..." runs those large archives with --weights-as-inputs (weights
# passed at run time instead of compiled in as constants: on ResNet-18 the C
# compiler then takes 5 s instead of 16 s; tests/models runs the same
# networks with their weights compiled in); the summary names them.
#
#   AOTC=build/aotc tests/torchscript/run_models.sh [NAME...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
TS_MODELS_DIR=${TS_MODELS_DIR:-$(dirname "$AOTC")/ts_models}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
TS_LARGE=${TS_LARGE:-some}
large="resnet18 mobilenet_v2 squeezenet1_1"
only=" ${*:-} "

[ -x "$AOTC" ] || { echo "torchscript models: no aotc at $AOTC (set AOTC)"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-tsmodels.XXXXXX")
trap 'rm -rf "$work"' EXIT
$CC -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || exit 2
passed=0 failed=0 skipped=0 start=$SECONDS
TS_SAMPLE=${TS_SAMPLE:-1} sampled_out=0 run_flags=()
declare -A taken=()

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }

# The shape of a .npy file as D0,D1,... (from its header).
npy_shape() {
  head -c 256 "$1" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)" | sed -E "s/.*\(([0-9, ]*)\).*/\1/; s/ //g; s/,$//"
}

# aotc ARCHIVE --shape ... -o m.c, then m.c built warning-free (a 0-d
# input, a count, as --shape n=1).
check_compile() {
  local dir=$1 pt=$2 ins=$3 out=$4 args=() i shape
  for i in $ins; do
    shape=$(npy_shape "$dir/${i#*=}")
    args+=(--shape "${i%%=*}=${shape:-1}")
  done
  "$AOTC" "$pt" "${args[@]}" -o "$out/m.c" >"$out/compile.log" 2>&1 ||
    { echo "aotc compile: $(grep -m1 error "$out/compile.log")"; return 1; }
  $CC -std=c99 -Wall -Wextra -Werror -c -o "$out/m.o" "$out/m.c" >"$out/cc.log" 2>&1 ||
    { echo "cc -Wall -Wextra -Werror: $(head -n 3 "$out/cc.log")"; return 1; }
}

# aotc run ARCHIVE --input ...; every output compared.
check_run() {
  local dir=$1 pt=$2 ins=$3 outs=$4 out=$5 args=() i o why
  for i in $ins; do args+=(--input "${i%%=*}=$dir/${i#*=}"); done
  "$AOTC" run "$pt" "${args[@]}" ${run_flags[@]+"${run_flags[@]}"} --output-dir "$out" >"$out/run.log" 2>&1 ||
    { echo "aotc run: $(grep -m1 error "$out/run.log")"; return 1; }
  for o in $outs; do
    why=$("$work/npycmp" "$out/${o%%=*}.npy" "$dir/${o#*=}") || { echo "${o%%=*}: $why"; return 1; }
  done
}

# The C statements data-dependent control flow must become in m.c: a
# real branch (if) and loop (for over a run-time trip count, while).
control_expected() {
  case $(basename "$1" .pt) in
  loop_* | branch_*) echo if ;;
  dloop_*) echo for while ;;
  control_*) echo while if ;;
  esac
}

check_control() {
  local c=$1 pt=$2 kind
  for kind in $(control_expected "$pt"); do
    case $kind in
    if) grep -Eq '^ +if \([a-z_0-9]+\[0\] != 0\) \{' "$c" ;;
    for) grep -q 'for (int64_t aotc_iter[0-9]* = 0; aotc_iter[0-9]* < aotc_trip' "$c" ;;
    while) grep -Eq '^ +while \([a-z_0-9]+\[0\] != 0\) \{' "$c" ;;
    esac || { echo "m.c has no data-dependent $kind"; return 1; }
  done
}

# Every input set of NAME.run (a line of inputs, a line of outputs each).
run_sets() {
  local dir=$1 pt=$2 run=$3 out=$4 k ins outs
  for ((k = 1; k < $(wc -l <"$run"); k += 2)); do
    ins=$(sed -n "${k}p" "$run")
    outs=$(sed -n "$((k + 1))p" "$run")
    mkdir -p "$out/set$k"
    check_run "$dir" "$pt" "$ins" "$outs" "$out/set$k" || { echo "(input set $(((k + 1) / 2)))"; return 1; }
  done
}

run_archive() {
  local dir=$1 pt=$2 compile=$3 run=${2%_*}.run out why t0=$SECONDS
  out=$work/$(basename "$dir")/$(basename "$pt" .pt)
  mkdir -p "$out"
  local ins sets
  ins=$(sed -n 1p "$run")
  sets=$(($(wc -l <"$run") / 2))
  if [ "$compile" = yes ] && ! why=$(check_compile "$dir" "$pt" "$ins" "$out" && check_control "$out/m.c" "$pt"); then
    fail "$pt: $why"
    return
  fi
  if why=$(run_sets "$dir" "$pt" "$run" "$out"); then
    pass
    echo "ok   $(basename "$dir")/$(basename "$pt") ($sets input set$([ "$sets" = 1 ] || echo s), $((SECONDS - t0)) s)"
  else
    fail "$pt: $why"
  fi
}

# sampled VERSION_INDEX K LAST NAME: whether TS_SAMPLE takes archive K of NAME
# in that version (LAST: the model's last archive of the last version).
sampled() {
  local vi=$1 k=$2 last=$3 name=$4
  if [ $(((k + vi) % TS_SAMPLE)) -eq 0 ] || { [ "$last" = yes ] && [ -z "${taken[$name]:-}" ]; }; then
    taken[$name]=1
    return 0
  fi
  sampled_out=$((sampled_out + 1))
  return 1
}

# ---- committed fixtures, both torch versions ----
versions=("$here"/fixtures/torch-*)
for vi in "${!versions[@]}"; do
  dir=${versions[$vi]}
  compile=no
  [ "$vi" -eq 0 ] && compile=yes
  for run in "$dir"/*.run; do
    name=$(basename "$run" .run)
    wanted "$name" || continue
    pts=("$dir/${name}"_*.pt)
    for k in "${!pts[@]}"; do
      last=no
      [ "$vi" -eq $((${#versions[@]} - 1)) ] && [ "$k" -eq $((${#pts[@]} - 1)) ] && last=yes
      sampled "$vi" "$k" $last "$name" || continue
      run_archive "$dir" "${pts[$k]}" $compile
    done
  done
done

# ---- size-generic: --shape ARG=N,... compiles once; the fixture's batch and 3 run ----
dynamic_case() {
  local dir=$1 pt=$2 w stem arg shape n
  stem=$(basename "$pt" .pt)_dyn
  w=$work/dyn/$(basename "$dir")/$stem
  mkdir -p "$w"
  arg=$(sed -n 1p "${pt%_*}.run" | cut -d= -f1)
  shape=$(npy_shape "${pt%_*}.input.npy")
  n=${shape%%,*}
  shape=N${shape#$n}
  "$AOTC" "$pt" --shape "$arg=$shape" --name "$stem" -o "$w/$stem.c" || return 1
  grep -q "^int $stem(int64_t N" "$w/$stem.h" || { echo "no size parameter N"; return 1; }
  $CC -std=c11 -O1 -Wall -Wextra -Werror -DMODEL="$stem" -I"$w" -o "$w/main" "$root/tests/models/dynamic_main.c" \
    "$w/$stem.c" -lm || return 1
  "$w/main" "${pt%_*}.input.npy" "${pt%_*}.output.npy" "$n" && "$w/main" "${pt%_*}.batch3.input.npy" "${pt%_*}.batch3.output.npy" 3
}

for input in "$(ls -d "$here"/fixtures/torch-* | tail -n 1)"/*.batch3.input.npy; do
  name=$(basename "$input" .batch3.input.npy)
  wanted "$name" || wanted dynamic || continue
  for pt in "$(dirname "$input")/${name}"_*.pt; do
    if why=$(dynamic_case "$(dirname "$input")" "$pt" 2>&1); then
      pass
      echo "ok   $(basename "$(dirname "$pt")")/$(basename "$pt") at two batch sizes (one size-generic object)"
    else
      fail "$pt --shape N: $(tail -n 3 <<<"$why")"
    fi
  done
done

# ---- large models, made on demand ----
large_archives() {
  case $TS_LARGE in
  all)
    for n in $large; do echo "${n}_traced ${n}_frozen ${n}_scripted"; done ;;
  none) ;;
  *) echo "resnet18_traced mobilenet_v2_frozen squeezenet1_1_scripted" ;;
  esac
}

make_large() {
  local name=$1 archive=$2
  [ -f "$TS_MODELS_DIR/$name.run" ] && [ -f "$TS_MODELS_DIR/$archive.pt" ] && return 0
  "$PYTHON" -c "import torch, torchvision" 2>/dev/null || return 1
  mkdir -p "$TS_MODELS_DIR"
  "$PYTHON" "$here/make_fixtures.py" "$TS_MODELS_DIR" "$name:${archive##*_}" >"$work/$name.make.log" 2>&1
}

for archive in $(large_archives); do
  name=${archive%_*}
  wanted "$name" || continue
  if ! make_large "$name" "$archive"; then
    echo "SKIP $archive (no fixture: $PYTHON lacks torch or torchvision)"
    skipped=$((skipped + 1))
    continue
  fi
  [[ " ${TS_WEIGHTS_AS_INPUTS:-} " == *" $archive "* ]] && run_flags=(--weights-as-inputs)
  run_archive "$TS_MODELS_DIR" "$TS_MODELS_DIR/$archive.pt" no
  run_flags=()
done

# ---- errors: one each, its text and where ----
check_error() {
  local pt=$1 want=$2 err rc n
  shift 2
  err=$(cd "$(dirname "$pt")" && "$AOTC" "$(basename "$pt")" "$@" -o "$work/err.c" 2>&1 >/dev/null)
  rc=$?
  n=$(grep -c ': error: ' <<<"$err")
  if [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && grep -qF -- "$want" <<<"$err" && [ ! -e "$work/err.c" ]; then
    pass
  else
    fail "$pt $* (exit $rc, $n errors)"
    printf '  want: %s\n  got:  %s\n' "$want" "$err"
  fi
}

# aotc run with an input missing: one error naming the --input to give.
check_run_error() {
  local dir=$1 err rc
  err=$("$AOTC" run "$dir/mlp_traced.pt" --input "x=$dir/mlp.input.npy" --output-dir "$work/run-err" 2>&1)
  rc=$?
  if [ "$rc" -eq 1 ] && grep -qF "error: missing --input input=PATH (an argument of forward)" <<<"$err" &&
    [ ! -e "$work/run-err/output.npy" ]; then
    pass
  else
    fail "aotc run $dir/mlp_traced.pt with the wrong input name (exit $rc): $err"
  fi
}

if wanted errors; then
  for v in "$here"/fixtures/torch-*; do
    check_error "$v/refused_break.pt" \
      "refused_break.pt:code/__torch__.py:13:9: error: \`break\` inside a data-dependent \`while\` loop is not supported" \
      --shape x=2,3
    check_error "$v/refused_optional.pt" \
      "refused_optional.pt:code/__torch__.py:8:5: error: variable 'z' is a tensor in the then branch of this data-dependent \`if\` and None in the else branch: not supported" \
      --shape x=2,3
    check_error "$v/unsupported_traced.pt" "error: operator 'torch.erfinv' is not supported" --shape x=2,3
    check_error "$v/unsupported_traced.pt" "unsupported_traced.pt:code/__torch__.py:" --shape x=2,3
    check_error "$v/mlp_traced.pt" "error: input 'input' has no shape: pass --shape input=D0,D1,..."
    check_error "$v/mlp_traced.pt" "--shape x: forward has no argument named 'x'" --shape x=2,32
    check_run_error "$v"
    check_error "$v/mlp_traced.pt" "linear.py:12:24: error: torch.linear: input (..., 31) and weight (out, in) do not fit" \
      --shape input=2,31
  done
fi

echo "torchscript models took $((SECONDS - start)) s$([ "$TS_SAMPLE" -gt 1 ] &&
  echo " (1 committed archive in $TS_SAMPLE: $sampled_out left out, each model run)")$([ -n "${TS_WEIGHTS_AS_INPUTS:-}" ] &&
  echo " (weights as inputs: ${TS_WEIGHTS_AS_INPUTS})")"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
