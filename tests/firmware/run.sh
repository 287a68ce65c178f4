#!/usr/bin/env bash
# Runs the Cortex-M4 firmware example (examples/firmware) under QEMU:
#
#   AOTC=build/aotc tests/firmware/run.sh
#
# Builds the image (emitted matmul, conv2d_bias_relu, softmax, the MLP and the
# keyword-spotting CNN, inputs embedded) and the same harness for the host,
# runs the image on `qemu-system-arm -M mps2-an386` with semihosting and
# `-icount shift=0` under a timeout, and checks every printed output against
# the host build (|d| <= 1e-5 + 1e-4 |host|) and against the independent
# reference (numpy fixtures of tests/kernels, PyTorch outputs of the models:
# |d| <= 1e-4 + 1e-3 |ref|). Prints PASS/FAIL per case, a flash/RAM/cycles
# table, and `N passed, N failed, N skipped`; skipped when qemu-system-arm,
# arm-none-eabi-gcc or newlib's rdimon.specs is absent.
# When aotc has the LLVM backend (docs/llvm.md), the same image is built a
# second time with every kernel an object of `aotc --emit obj --triple
# thumbv7em-none-eabihf --cpu cortex-m4` (the Makefile's OBJ_<kernel>), run
# under QEMU and checked the same way (cases llvm:NAME).
# Environment: AOTC, ARM_CC, QEMU, HOST_CC, KEEP=1 keeps the scratch folder.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
QEMU=${QEMU:-qemu-system-arm}
HOST_CC=${HOST_CC:-cc}
cases="matmul conv softmax mlp kws"

skip() {
  echo "SKIP: $1"
  echo "0 passed, 0 failed, 5 skipped"
  exit 0
}
command -v "$ARM_CC" >/dev/null 2>&1 || skip "$ARM_CC not found"
command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU not found"
command -v make >/dev/null 2>&1 || skip "make not found"
specs=$("$ARM_CC" -print-file-name=rdimon.specs)
[ -f "$specs" ] || skip "newlib's rdimon.specs not found (libnewlib-arm-none-eabi)"
[ -x "$AOTC" ] || { echo "error: AOTC=$AOTC is not an executable" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-fw.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then echo "scratch: $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

if ! make -s -C "$root/examples/firmware" ROOT="$root" AOTC="$AOTC" OUT="$tmp" ARM_CC="$ARM_CC" \
     HOST_CC="$HOST_CC" all "$tmp/reference.txt" >"$tmp/make.log" 2>&1; then
  echo "FAIL build"; sed 's/^/    /' "$tmp/make.log" | head -n 30
  echo "0 passed, 1 failed"; exit 1
fi
"$tmp/fw_host" >"$tmp/host.txt" 2>&1 || { echo "FAIL host harness"; tail -n 5 "$tmp/host.txt"; }
# Runs image $1/fw.elf under QEMU into $1/m4.txt.
run_image() {
  timeout 300 "$QEMU" -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -icount shift=0 -no-reboot -kernel "$1/fw.elf" </dev/null >"$1/m4.txt" 2>&1
  local qrc=$?
  [ $qrc = 0 ] || { echo "qemu exited with status $qrc (124: timeout, 99: fault)"; tail -n 5 "$1/m4.txt"; }
}

# Prints `CASE N BAD MAXH MAXR` per case of $1/m4.txt.
compare() {
  awk -v hostf="$tmp/host.txt" -v reff="$tmp/reference.txt" '
    function abs(x) { return x < 0 ? -x : x }
    BEGIN {
      while ((getline l < hostf) > 0) { split(l, f, " "); if (f[1] == "OUT") host[f[2] " " f[3]] = f[4] }
      while ((getline l < reff) > 0) { split(l, f, " "); ref[f[1] " " f[2]] = f[3]; nref[f[1]]++ }
    }
    $1 == "OUT" {
      k = $2 " " $3; split($2, c, "."); n[c[1]]++
      if (!(k in host) || !(k in ref)) { bad[c[1]]++; next }
      dh = abs($4 - host[k]); dr = abs($4 - ref[k])
      if (dh > mh[c[1]]) mh[c[1]] = dh
      if (dr > mr[c[1]]) mr[c[1]] = dr
      if (dh > 1e-5 + 1e-4 * abs(host[k]) || dr > 1e-4 + 1e-3 * abs(ref[k])) bad[c[1]]++
      seen[$2]++
    }
    END {
      for (o in nref) { split(o, c, "."); if (seen[o] != nref[o]) bad[c[1]]++ }
      for (c2 in n) printf "%s %d %d %g %g\n", c2, n[c2], bad[c2], mh[c2], mr[c2]
    }' "$1/m4.txt"
}

pass=0 fail=0 skip=0
# Checks the image of $1 (label prefix $2) case by case.
check_image() {
  compare "$1" >"$1/cmp.txt"
  for c in $cases; do
    line=$(grep "^$c " "$1/cmp.txt")
    stat=$(grep "^STAT $c " "$1/m4.txt")
    if [ -n "$line" ] && [ -n "$stat" ] && [ "$(cut -d' ' -f3 <<<"$line")" = 0 ]; then
      read -r _ n _ mh mr <<<"$line"
      printf 'PASS %-13s %5d outputs, max |m4-host| %-10s max |m4-ref| %s\n' "$2$c" "$n" "$mh" "$mr"
      pass=$((pass + 1))
    else
      echo "FAIL $2$c (${line:-no outputs}) $(grep -m1 "ERROR $c" "$1/m4.txt")"
      fail=$((fail + 1))
    fi
  done
}

run_image "$tmp"
check_image "$tmp" ""

# Sums the sizes of an object's sections whose names match a pattern.
secsize() {
  "${ARM_CC%gcc}size" -A "$1" | awk -v p="$2" '$1 ~ p { s += $2 } END { print s + 0 }'
}

# The flash/RAM/cycles table of image $1 built by $3, objects $1/$2 (%s: case).
table() {
  local src obj
  src=$(awk '$1 == "CYCLES" { print $2 }' "$1/m4.txt")
  echo
  echo "Cortex-M4 (QEMU mps2-an386), $3, cycles: $([ "$src" = icount ] &&
    echo 'QEMU -icount shift=0 instruction count (DWT CYCCNT reads 0 in QEMU; resolution 40)' || echo "$src")"
  printf '%-8s %10s %12s %11s %10s %12s\n' case "code B" "const B" "workspace B" "stack B" cycles
  for c in $cases; do
    read -r _ _ cyc stk ws <<<"$(grep "^STAT $c " "$1/m4.txt")"
    obj=$1/$(printf "$2" "$c")
    printf '%-8s %10s %12s %11s %10s %12s\n' "$c" "$(secsize "$obj" '^\.text')" \
      "$(secsize "$obj" '^\.rodata')" "${ws:-?}" "${stk:-?}" "${cyc:-?}"
  done
  echo "(code and const per emitted object, before --gc-sections; stack: high-water of the call)"
  "${ARM_CC%gcc}size" -A "$1/fw.elf" | awk -v st="$(awk '$1 == "STACK" { print $3 }' "$1/m4.txt")" '
    $1 == ".text" || $1 == ".init_fini" || $1 == ".ARM.exidx" { code += $2 }
    $1 == ".rodata" { ro = $2 } $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 }
    END {
      printf "image fw.elf: flash %d B (code %d + const %d + .data image %d); ", code + ro + d, code, ro, d
      printf "RAM %d B (.data %d + .bss %d incl. workspaces + stack high-water %d)\n", d + b + st, d, b, st
    }'
}

# ---- the same image with the kernels as objects of aotc's LLVM backend
# (the Makefile's aotc arguments, --emit obj for thumbv7em)
llvm_objects() {
  local o="--emit obj --triple thumbv7em-none-eabihf --cpu cortex-m4" k=$root/tests/kernels
  "$AOTC" "$k/matmul.tc" --entry matmul $o -o "$1/matmul.o" &&
    "$AOTC" "$k/conv.tc" --entry conv2d_bias_relu $o -o "$1/conv.o" &&
    "$AOTC" "$k/softmax.tc" --entry softmax $o -o "$1/softmax.o" &&
    "$AOTC" "$root/tests/models/mlp.onnx" $o -o "$1/mlp.o" &&
    "$AOTC" "$root/tests/firmware/kws.onnx" $o -o "$1/kws.o"
}

mkdir -p "$tmp/llvm" "$tmp/llvm/obj"
if "$AOTC" "$root/tests/kernels/matmul.tc" --entry matmul --emit obj -o "$tmp/llvm/probe.o" 2>&1 |
  grep -q "built without LLVM"; then
  echo "SKIP llvm: aotc was built without LLVM (5 cases)"
  skip=5
elif ! llvm_objects "$tmp/llvm/obj" >"$tmp/llvm/aotc.log" 2>&1; then
  echo "FAIL llvm: aotc --emit obj"; sed 's/^/    /' "$tmp/llvm/aotc.log" | head -n 20
  fail=$((fail + 5))
elif ! make -s -C "$root/examples/firmware" ROOT="$root" AOTC="$AOTC" OUT="$tmp/llvm" ARM_CC="$ARM_CC" \
  HOST_CC="$HOST_CC" $(for c in $cases; do echo "OBJ_$c=$tmp/llvm/obj/$c.o"; done) "$tmp/llvm/fw.elf" \
  >"$tmp/llvm/make.log" 2>&1; then
  echo "FAIL llvm: the image does not link"; sed 's/^/    /' "$tmp/llvm/make.log" | head -n 20
  fail=$((fail + 5))
else
  run_image "$tmp/llvm"
  check_image "$tmp/llvm" "llvm:"
fi

table "$tmp" "%s.arm.o" "arm-none-eabi-gcc -O2"
[ -f "$tmp/llvm/m4.txt" ] && table "$tmp/llvm" "obj/%s.o" "aotc's LLVM backend (--emit obj, thumbv7em-none-eabihf, cortex-m4)"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
