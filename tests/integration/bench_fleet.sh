#!/bin/bash
# The parts of bench/fleet (issue 20's scale benchmark) that its numbers rest on, in seconds and
# without servers (bench/fleet/run.sh --quick runs the whole thing):
# - gen_status.py's marker commits are fjord's: the id src/fleet's unit test pins, and every marker
#   of a generated repo is what `git hash-object` makes of marker_body (checked while generating);
#   one report ref and one marker ref per host, in the waves of src/fleet's bucket();
# - lsrefs.py's protocol v2 ls-refs with ref-prefix lists exactly the canary and early markers
#   (all good for the commit), and its receive-pack advertisement counts every ref; fjord's own
#   client (tests/ls_refs_probe, if built) lists the same refs with the same ids;
# - rusage.c reports a command's exit status and a line of numbers;
# - report.py writes the Fleets section and replaces it in place, keeping the rest of the file;
#   bench/report.py keeps it when it rewrites results.md; the scripts' usage and bad options.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$here/../lib.sh" "$1"
F=$src/bench/fleet
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# marker ids
got=$(python3 "$F/gen_status.py" marker 0123456789abcdef0123456789abcdef01234567 good)
[ "$got" = 3b850c5b4ece6a565576430f5e90b64b6ef8928a ] && pass "marker id as tests/fleet/marker_test.cpp pins it" ||
  fail "marker id" "got $got"

# buckets as the design defines them: the first 8 bytes of SHA-256(host), big-endian, mod 100
bad=""
for h in web00001 web00002 web00003 db-1 x; do
  want=$(python3 -c 'import sys; print(int(sys.argv[1][:16], 16) % 100)' "$(printf %s "$h" | sha256sum | cut -c1-16)")
  got=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import gen_status as g; print(g.bucket(sys.argv[2]))' "$F" "$h")
  [ "$want" = "$got" ] || bad+="$h: $got, want $want; "
done
[ -z "$bad" ] && pass "buckets from sha256sum" || fail "buckets" "$bad"

# the generated repo
R=$T/status
if python3 "$F/gen_status.py" create "$R" 300 >"$T/gen.json" 2>"$T/gen.err"; then
  pass "gen_status.py create (markers checked against git hash-object)"
else
  fail "gen_status.py create" "$(cat "$T/gen.err")"
fi
n_hosts=$(git -C "$R" for-each-ref refs/fjord/hosts/ | wc -l)
n_marks=$(git -C "$R" for-each-ref refs/fjord/waves/ | wc -l)
[ "$n_hosts" = 300 ] && [ "$n_marks" = 300 ] && pass "one report ref and one marker ref per host" ||
  fail "refs per host" "$n_hosts report refs, $n_marks marker refs"
tree=$(git -C "$R" ls-tree refs/fjord/hosts/web00001 | awk '{ print $4 }')
size=$(git -C "$R" cat-file -s refs/fjord/hosts/web00001:report.json)
parents=$(git -C "$R" rev-list --parents -n 1 refs/fjord/hosts/web00001 | wc -w)
[ "$tree" = report.json ] && [ "$size" -gt 450 ] && [ "$size" -lt 800 ] && [ "$parents" = 1 ] &&
  git -C "$R" cat-file -p refs/fjord/hosts/web00001:report.json | python3 -c 'import json, sys; j = json.load(sys.stdin); assert j["schema"] == 1 and j["host"] == "web00001"' &&
  pass "a report is a root commit holding a ~600-byte report.json ($size bytes)" ||
  fail "report commit" "tree '$tree', report.json $size bytes, $parents words in rev-list --parents"
read -r canary early rest < <(python3 -c 'import json, sys; w = json.load(open(sys.argv[1]))["waves"]; print(w["canary"], w["early"], w["rest"])' "$T/gen.json")
wrong=$(git -C "$R" for-each-ref --format='%(refname)' refs/fjord/waves/ | python3 -c '
import sys; sys.path.insert(0, sys.argv[1]); import gen_status as g
for ref in sys.stdin.read().split():
    wave, host = ref.split("/")[3:5]
    if g.wave_of(host) != wave: print(host, "in", wave)' "$F" | head -3)
[ -z "$wrong" ] && [ $((canary + early + rest)) = 300 ] && [ "$canary" -lt "$early" ] && [ "$early" -lt "$rest" ] &&
  pass "marker refs sit in the host's wave ($canary canary, $early early, $rest rest)" ||
  fail "waves" "$wrong; $canary/$early/$rest"
git -C "$R" pack-refs --all

# the gate check's ls-refs
out=$(python3 "$F/lsrefs.py" "$R" ls-refs refs/fjord/waves/canary/ refs/fjord/waves/early/ 2>&1)
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); n = int(sys.argv[2]); assert r["refs"] == n and r["markers"] == {"good": n, "waiting": 0, "other": 0}, r' \
  "$out" $((canary + early)) 2>/dev/null && pass "v2 ls-refs with two prefixes lists the canary and early markers, all good" ||
  fail "ls-refs" "$out (want $((canary + early)) good)"
out=$(python3 "$F/lsrefs.py" "$R" ls-refs refs/fjord/waves/rest/ --commit 1111111111111111111111111111111111111111 2>&1)
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["markers"]["other"] == r["refs"] == int(sys.argv[2]), r' "$out" "$rest" 2>/dev/null &&
  pass "markers of another commit count as other" || fail "ls-refs --commit" "$out"
out=$(python3 "$F/lsrefs.py" "$R" advertise receive-pack 2>&1)
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["refs"] == 600 and r["received"] > 600 * 60, r' "$out" 2>/dev/null &&
  pass "the receive-pack advertisement lists every ref" || fail "receive-pack advertisement" "$out"
if [ -x "$BUILD/tests/ls_refs_probe" ]; then
  ours=$(python3 - "$R" <<'PY'
import subprocess, sys
out = subprocess.run(["git", "-C", sys.argv[1], "for-each-ref", "--format=%(objectname) %(refname)", "refs/fjord/waves/canary/", "refs/fjord/waves/early/"], capture_output=True, text=True).stdout
print("\n".join(sorted(out.split("\n")[:-1])))
PY
)
  theirs=$("$BUILD/tests/ls_refs_probe" --url "$R" --prefix refs/fjord/waves/canary/ --prefix refs/fjord/waves/early/ --isolated 0 2>&1 | tail -n +2 | sort)
  [ -n "$ours" ] && [ "$ours" = "$theirs" ] && pass "fjord's ls_refs lists the same markers" ||
    fail "fjord's ls_refs" "$(diff <(echo "$ours") <(echo "$theirs") | head -5)"
fi

# rusage.c
cc -O2 -o "$T/rusage" "$F/rusage.c" 2>"$T/cc.err" || fail "rusage.c builds" "$(cat "$T/cc.err")"
"$T/rusage" -o "$T/ru.log" -- sh -c 'exit 3'
rc=$?
[ "$rc" = 3 ] && [[ $(cat "$T/ru.log") =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+\ 3$ ]] && pass "rusage passes the exit status on and logs a line" ||
  fail "rusage" "exit $rc, log '$(cat "$T/ru.log")'"

# report.py and bench/report.py with results.md
printf 'git\t10000\tpacked\tgate\t1\t1000\t1000\t1000\t100\t0\t80000\t100\t77000\t995\n' >"$T/ops.tsv"
printf 'git\t10000\tpacked\tgate\t1\t60.000\t-\t0\n' >"$T/batch.tsv"
printf '10000\tpacked\t5000\t1400000\t3.0\n' >"$T/gen.tsv"
echo "- machine: test" >"$T/env.md"
printf '# bench\n\n## Results\n\nold table\n\n## Fleets (issue 20)\n\nold fleet table\n\n## Fleet rollout (issue 20)\n\nrollout table\n' >"$T/results.md"
python3 "$F/report.py" --ops "$T/ops.tsv" --batch "$T/batch.tsv" --gen "$T/gen.tsv" --env "$T/env.md" --out "$T/results.md" >"$T/report.out" 2>&1
if has -F 'old table' "$T/results.md" && has -F 'rollout table' "$T/results.md" && ! has -F 'old fleet table' "$T/results.md" &&
  [ "$(grep -c '^## Fleets' "$T/results.md")" = 1 ] && has -F '**MISSED** (CPU)' "$T/results.md"; then
  pass "report.py replaces the Fleets section in place and judges the target (60 ms: missed)"
else
  fail "report.py" "$(head -c 600 "$T/results.md")"
fi
: >"$T/e1"; : >"$T/e2"; : >"$T/e3"
python3 "$src/bench/report.py" --raw "$T/e1" --daemon "$T/e2" --idle "$T/e3" --env "$T/env.md" --out "$T/results.md" >/dev/null 2>&1
has -F 'rollout table' "$T/results.md" && has -F '## Fleets (issue 20)' "$T/results.md" && ! has -F 'old table' "$T/results.md" &&
  pass "bench/report.py rewrites results.md and keeps the fleet sections" || fail "bench/report.py" "$(grep '^#' "$T/results.md")"

# usage
for s in run.sh rollout.sh; do
  bash "$F/$s" --help | has -F "Usage: bench/fleet/$s" && pass "$s --help" || fail "$s --help" "no usage"
  bash "$F/$s" --no-such-option >/dev/null 2>&1
  [ $? = 2 ] && pass "$s refuses an unknown option (exit 2)" || fail "$s unknown option" "exit not 2"
done
finish
