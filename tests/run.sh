#!/bin/bash
# Installs what the tests need, builds fjord and runs every suite: the doctest unit tests and
# the integration scripts against real Git servers. The last line sums up every suite:
#   tests: N passed, N failed
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash tests/deps.sh --test >/dev/null || { echo "tests: 0 passed, 1 failed"; exit 1; }
build=${BUILD:-build-test}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=true >/dev/null || { echo "meson setup failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$build" >"$build.log" 2>&1; then
  tail -50 "$build.log"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0
log=$(mktemp -d /tmp/fjord-tests-XXXXXX)
for t in "$build"/tests/test_*; do
  [ -f "$t" ] && [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" >"$log/$name.out" 2>&1
  line=$(grep -E '^\[doctest\] test cases:' "$log/$name.out" | tail -1)
  p=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) passed.*/\1/p')
  f=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) failed.*/\1/p')
  if [ -z "$p" ]; then p=0; f=1; fi
  echo "$name: $p passed, $f failed"
  [ "$f" -gt 0 ] && grep -B2 -A8 'ERROR' "$log/$name.out" | head -60
  passed=$((passed + p)); failed=$((failed + f))
done
for t in tests/integration/*.sh; do
  name=$(basename "$t" .sh)
  start=$(date +%s)
  bash "$t" "$build" >"$log/$name.out" 2>&1
  rc=$?
  line=$(grep -E '^RESULT passed=' "$log/$name.out" | tail -1)
  p=$(echo "$line" | sed -nE 's/RESULT passed=([0-9]+).*/\1/p')
  f=$(echo "$line" | sed -nE 's/.*failed=([0-9]+).*/\1/p')
  if [ -z "$p" ]; then p=0; f=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  echo "$name: $p passed, $f failed ($(($(date +%s) - start)) s)"
  [ "$f" -gt 0 ] && grep -E '^FAIL' "$log/$name.out" | head -20 && tail -5 "$log/$name.out"
  passed=$((passed + p)); failed=$((failed + f))
done
rm -rf "$log"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
