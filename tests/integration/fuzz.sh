#!/bin/bash
# libFuzzer runs of the parsers that read untrusted input: agent config, repo manifest and
# container files, .tmpl templates, age files, SSH commit signatures with allowed-signers.
# Builds build-fuzz/ with clang and -Dfuzz=true (reused when configured), replays every kept
# crash input under tests/fuzz/TARGET/regressions/, then fuzzes each target for FUZZ_SECONDS
# (default 45; one after another: CI has 2 cores). Any crash, leak, UB or timeout fails the
# suite, and its input is copied into regressions/ so it runs every time from then on.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
SRC=$(cd "$here/../.." && pwd)
FB=${FUZZ_BUILD:-$SRC/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-45}
targets=(config manifest template age sshsig)

if ! command -v clang++ >/dev/null; then
  fail "clang" "clang++ is not installed (tests/deps.sh --test installs clang and libclang-rt-14-dev)"
  finish; exit
fi
if [ ! -f "$FB/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$FB" "$SRC" -Dfuzz=true -Dtests=false >"$T/setup.log" 2>&1 ||
    { fail "configure $FB" "$(tail -20 "$T/setup.log")"; finish; exit; }
fi
if ninja -C "$FB" -j2 "${targets[@]/#/fuzz/fuzz_}" >"$T/build.log" 2>&1; then
  pass "the fuzz targets build with clang and ASan+UBSan+libFuzzer"
else
  fail "build fuzz targets" "$(grep -E 'error|FAILED' "$T/build.log" | head -20)"; finish; exit
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Seeds and kept crash inputs replay first (each is one input, run once); then the targets fuzz
# side by side, one per core (a libFuzzer process is single-threaded): 5 x SECONDS_EACH of
# fuzzing in about half the wall time on CI's 2 cores.
jobs_max=$(nproc)
for t in "${targets[@]}"; do
  bin=$FB/fuzz/fuzz_$t seeds=$SRC/tests/fuzz/$t reg=$SRC/tests/fuzz/$t/regressions
  inputs=("$seeds"/* ); [ -d "$reg" ] && inputs+=("$reg"/*)
  files=(); for f in "${inputs[@]}"; do [ -f "$f" ] && files+=("$f"); done
  if "$bin" -timeout=10 "${files[@]}" >"$T/replay-$t.log" 2>&1; then
    pass "$t: ${#files[@]} seed and regression inputs replay clean"
  else
    fail "$t replay" "$(grep -E 'ERROR|SUMMARY|Running' "$T/replay-$t.log" | tail -5)"
  fi
  # New corpus entries go to a scratch folder; the repo's seeds are only read.
  mkdir -p "$T/corpus/$t" "$T/art/$t"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  ( "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$T/art/$t/" "$T/corpus/$t" "$seeds" >"$T/fuzz-$t.log" 2>&1
    echo $? >"$T/rc-$t" ) &
done
wait
for t in "${targets[@]}"; do
  reg=$SRC/tests/fuzz/$t/regressions
  rc=$(cat "$T/rc-$t" 2>/dev/null || echo 255)
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$T/fuzz-$t.log" | grep -oE '[0-9]+$')
  if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$T/art/$t")" ]; then
    pass "$t: fuzzed ${SECONDS_EACH}s, ${runs:-?} inputs, no crash, leak or timeout"
  else
    mkdir -p "$reg"
    for a in "$T/art/$t"/*; do [ -f "$a" ] && cp "$a" "$reg/$(basename "$a")"; done
    fail "$t fuzzing (rc $rc; inputs kept in tests/fuzz/$t/regressions/)" "$(grep -E 'ERROR|SUMMARY|==[0-9]+==' "$T/fuzz-$t.log" | head -8)"
  fi
done
finish
