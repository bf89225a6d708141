#!/bin/bash
# Fleet rollouts in waves (issue 20) end to end: 12 fjordd instances (each its own apply root,
# state dir and report.host) in 3 waves, against a real git daemon serving the fleet repo
# (read) and the status repo (receive-pack). Every "round" runs `fjordd --once` on every host at
# once, as their polls would. Checks, from the hosts' own roots and generations and from
# `fjordctl fleet`:
#   - mode = "all" applies everywhere at once;
#   - a good commit reaches the waves in order, each only after the one before is good for
#     `after` (require = 100%);
#   - a commit whose health check fails on the canaries is rolled back there and NO host of a
#     later wave ever has a generation of it; fjordctl fleet and the waiting hosts' status say
#     why; a fixing commit then rolls through;
#   - the status repo unreachable: the canaries still apply (a failing push never blocks), the
#     later waves keep their generation and say so; back again, reports resume and it rolls on;
#   - bad reports (garbage refs, a forged marker over a canary's, an oversize report) never make
#     a host apply early beyond the trust rule, never crash it, and are named;
#   - a failing commit that renames the first wave: later waves wait while nobody in it has
#     reported, and never apply it;
#   - --skip-waves applies at once.
# Usage: fleet_rollout.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

SRV=$T/srv
mkdir -p "$SRV"
REPO=$SRV/fleet.git.d
new_repo "$REPO"
git init -q --bare "$SRV/status.git"
git -C "$SRV/status.git" config daemon.receivepack true
GITD_PORT=$(free_port)
start_status_server() {
  git daemon --reuseaddr --listen=127.0.0.1 --port="$GITD_PORT" --base-path="$SRV" --export-all "$SRV" >/dev/null 2>&1 &
  GITD_PID=$!
  wait_port "$GITD_PORT" "$GITD_PID"
}
start_status_server
FLEET_URL=git://127.0.0.1:$GITD_PORT/fleet.git.d
STATUS_URL=git://127.0.0.1:$GITD_PORT/status.git

CANARY="c1 c2" EARLY="e1 e2 e3 e4" REST="r1 r2 r3 r4 r5 r6"
ALL="$CANARY $EARLY $REST"
for h in $ALL; do
  mkdir -p "$T/h/$h/root"
  cat >"$T/h/$h/fjord.toml" <<TOML
[source]
url = "$FLEET_URL"
branch = "main"
path = "hosts/all"
poll_interval = "1s"
[apply]
root = "$T/h/$h/root"
[state]
dir = "$T/h/$h/state"
[metrics]
textfile = ""
[report]
url = "$STATUS_URL"
host = "$h"
heartbeat = "1h"
timeout = "5s"
TOML
done
cfg() { echo "$T/h/$1/fjord.toml"; }

WAVES='[[wave]]
name = "canary"
hosts = ["c*"]
[[wave]]
name = "early"
hosts = ["e*"]
after = "3s"
require = "100%"
[[wave]]
name = "rest"
after = "3s"
require = "100%"'
# commit NAME FLEET_TOML [bad]: the fleet repo at a new commit: etc/app.conf says NAME; "bad"
# adds a health check that fails. Sets COMMIT.
commit() {
  mkdir -p "$REPO/hosts/all/files/etc"
  echo "release $1" >"$REPO/hosts/all/files/etc/app.conf"
  printf '%s\n' "$2" >"$REPO/fleet.toml"
  if [ "${3:-}" = bad ]; then
    printf '[[check]]\nname = "app"\nexec = ["/bin/false"]\ninitial_delay = "0s"\nperiod = "1s"\nfailure_threshold = 1\n' >"$REPO/hosts/all/fjord.toml"
  else
    rm -f "$REPO/hosts/all/fjord.toml"
  fi
  commit_all "$REPO" "$1"
  COMMIT=$(git -C "$REPO" rev-parse HEAD)
}
# round: fjordd --once on every host at once; their logs in $T/h/H/once.log (appended).
round() {
  local h pids=()
  for h in $ALL; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1 & pids+=($!); done
  wait "${pids[@]}"
}
# on HOST: what release the host's root holds now.
on() { sed 's/^release //' "$T/h/$1/root/etc/app.conf" 2>/dev/null || echo none; }
# hosts_on RELEASE HOSTS...: true when each holds RELEASE; says who does not in $WHO.
hosts_on() {
  local want=$1 h
  shift
  WHO=""
  for h in "$@"; do [ "$(on "$h")" = "$want" ] || WHO+=" $h=$(on "$h")"; done
  [ -z "$WHO" ]
}
fleet() { "$FJORDCTL" --config "$(cfg c1)" fleet "$@" 2>&1; }
status_of() { "$FJORDCTL" --config "$(cfg "$1")" status 2>&1; }
# ever_had HOST COMMIT: true when any generation of HOST was made from COMMIT.
ever_had() { grep -rqs "$2" "$T/h/$1/state/generations"/*/info; }

# ---- mode = "all": everyone at once ----
commit r0 'mode = "all"'
R0=$COMMIT
round
hosts_on r0 $ALL && pass "mode all: every host applies the first commit in one round" || fail "mode all" "not on r0:$WHO"
out=$(fleet)
echo "$out" | has "commit ${R0:0:7}: 12 good, 0 failed, 0 waiting, 0 not yet reporting; complete" &&
  pass "fleet: 12 hosts good, rollout complete" || fail "fleet after mode all" "$(echo "$out" | grep -E '^commit|warning' | head -3)"

# ---- a good commit, wave by wave ----
commit r1 "$WAVES"
R1=$COMMIT
round
hosts_on r1 $CANARY && hosts_on r0 $EARLY $REST && pass "waves: round 1, only the canaries apply r1" || fail "waves round 1" "$WHO"
st=$(status_of e1)
echo "$st" | has -i "waiting" && pass "waves: an early host's status says it waits ($(echo "$st" | grep -i waiting | head -1 | cut -c1-100))" ||
  fail "waves: status of a waiting host" "$(echo "$st" | head -20)"
out=$(fleet)
echo "$out" | has -E "^commit ${R1:0:7}: 2 good" && echo "$out" | has -E "^  wave canary +2/2 good" &&
  pass "fleet: r1 good on the 2 canaries, the rest not yet" || fail "fleet after round 1" "$(echo "$out" | grep -A4 "^commit ${R1:0:7}")"
round
hosts_on r0 $EARLY && pass "waves: right after the canaries are good, early still waits out after = 3s" || fail "waves: after" "$WHO"
sleep 3.5
round
hosts_on r1 $EARLY && hosts_on r0 $REST && pass "waves: 3 s after the canaries were seen good, early applies; rest waits" || fail "waves round 3" "$WHO"
round
hosts_on r0 $REST && pass "waves: rest waits out its own after" || fail "waves: rest after" "$WHO"
sleep 3.5
round
hosts_on r1 $ALL && pass "waves: r1 reached every host, wave by wave" || fail "waves: all on r1" "$WHO"
out=$(fleet --commit "${R1:0:7}")
echo "$out" | has "commit ${R1:0:7}: 12 good, 0 failed, 0 waiting, 0 not yet reporting; complete" && pass "fleet: r1 complete" ||
  fail "fleet: r1 complete" "$(echo "$out" | grep -A4 '^commit')"

# ---- a commit whose health check fails on the canaries ----
commit bad "$WAVES" bad
BAD=$COMMIT
round
hosts_on r1 $ALL && pass "bad commit: rolled back on the canaries, no later host moved" || fail "bad commit" "$WHO"
for i in 1 2; do sleep 3.5; round; done
ever_had c1 "$BAD" && ever_had c2 "$BAD" && pass "bad commit: the canaries' generations hold it (so the next check can see one)" ||
  fail "bad commit: canaries" "no generation of $BAD on c1 and c2"
later=""
for h in $EARLY $REST; do ever_had "$h" "$BAD" && later+=" $h"; done
[ -z "$later" ] && pass "bad commit: no host of a later wave ever has a generation of it (3 rounds, 7 s)" || fail "bad commit reached later waves" "$later"
st=$(status_of r3)
echo "$st" | has -iE "halted|waiting" && echo "$st" | has -E "canary|c1|c2" && pass "bad commit: a later host says it is held back, and by which wave" ||
  fail "bad commit: status of a later host" "$(echo "$st" | head -20)"
out=$(fleet)
echo "$out" | has -E "^commit ${BAD:0:7}: 0 good, 2 failed.*halted in wave canary" && pass "fleet: the bad commit halted in wave canary" ||
  fail "fleet: halted" "$(echo "$out" | grep -A4 "^commit ${BAD:0:7}")"

# ---- a fixing commit rolls through ----
commit fix "$WAVES"
FIX=$COMMIT
round; round; sleep 3.5; round; round; sleep 3.5; round
hosts_on fix $ALL && pass "fix: the fixing commit rolls through every wave" || fail "fix" "$WHO"

# ---- the status repo unreachable ----
# The fleet repo must stay up: a second git daemon serves it alone on another port.
kill "$GITD_PID" 2>/dev/null; wait "$GITD_PID" 2>/dev/null
mkdir -p "$T/only"
mv "$SRV/status.git" "$T/only/status.git.away"
start_status_server
commit r2 "$WAVES"
t0=$(date +%s)
round
dt=$(( $(date +%s) - t0 ))
hosts_on r2 $CANARY && hosts_on fix $EARLY $REST && pass "status repo gone: the canaries apply r2 anyway, the later waves keep theirs" ||
  fail "status repo gone" "$WHO"
[ "$dt" -le 20 ] && pass "status repo gone: a round still takes ${dt}s (pushes do not block)" || fail "status repo gone: slow" "${dt}s"
st=$(status_of e2)
echo "$st" | has -i "unreachable" && pass "status repo gone: a waiting host says the status repository is unreachable" ||
  fail "status repo gone: status" "$(echo "$st" | grep -i -E 'wait|halt|report' | head -3)"
mv "$T/only/status.git.away" "$SRV/status.git"
round; round; sleep 3.5; round; round; sleep 3.5; round
hosts_on r2 $ALL && pass "status repo back: reports resume and r2 rolls through" || fail "status repo back" "$WHO"

# ---- bad reports ----
commit r3 "$WAVES"
R3=$COMMIT
S=$SRV/status.git
junk=$(printf '\001garbage' | git -C "$S" hash-object -w --stdin)
git -C "$S" update-ref refs/fjord/hosts/zz-junk "$junk"
git -C "$S" update-ref refs/fjord/waves/canary/zz-junk "$junk"
big=$(head -c 200000 /dev/zero | tr '\0' 'x' | git -C "$S" hash-object -w --stdin)
git -C "$S" update-ref refs/fjord/hosts/zz-big "$big"
# Round with the canaries only: they apply r3 and push good markers; then a forged marker
# over c1's (another host writing c1's ref) says c1 is on some other commit.
for h in $CANARY; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1; done
git -C "$S" update-ref refs/fjord/waves/canary/c1 "$junk"
for h in $EARLY $REST; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1 || true; done
sleep 3.5
for h in $EARLY $REST; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1 || true; done
hosts_on r2 $EARLY $REST && pass "bad reports: a forged marker over a canary's holds early back (never early)" || fail "bad reports: applied early" "$WHO"
crashed=""
for h in $ALL; do grep -aqE "Segmentation|Aborted|terminate called" "$T/h/$h/once.log" && crashed+=" $h"; done
[ -z "$crashed" ] && pass "bad reports: no fjordd crashed" || fail "bad reports: crash" "$crashed"
out=$(fleet)
echo "$out" | has "warning: refs/fjord/hosts/zz-junk" && echo "$out" | has "warning: refs/fjord/hosts/zz-big" &&
  pass "bad reports: fjordctl fleet names them" || fail "bad reports: fleet" "$(echo "$out" | grep warning)"
# c1 pushes again (its heartbeat, or any change): its marker is its own again and r3 rolls on.
"$FJORDD" --config "$(cfg c1)" --once >>"$T/h/c1/once.log" 2>&1
round; sleep 3.5; round; round; sleep 3.5; round
hosts_on r3 $ALL && pass "bad reports: once c1's marker is its own again, r3 rolls through" || fail "bad reports: r3" "$WHO"

# ---- a failing commit that renames the first wave: nobody in it has reported yet ----
# Markers sit under the wave names of the commit each host last dealt with; the later waves
# poll first and must wait, not take "nobody reported" for "nothing failed".
commit pilot-bad "${WAVES/\"canary\"/\"pilot\"}" bad
PB=$COMMIT
for i in 1 2; do
  for h in $EARLY $REST; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1; done
  sleep 3.5
done
st=$(status_of e2)
echo "$st" | has "no host of wave pilot has reported" && pass "renamed first wave: an early host waits while nobody in it has reported" ||
  fail "renamed first wave: status" "$(echo "$st" | grep -iE 'rollout|wait|halt' | head -3)"
for h in $CANARY; do "$FJORDD" --config "$(cfg "$h")" --once >>"$T/h/$h/once.log" 2>&1; done
round; sleep 3.5; round
ever_had c1 "$PB" || fail "renamed first wave: setup" "c1 has no generation of the failing commit"
later=""
for h in $EARLY $REST; do ever_had "$h" "$PB" && later+=" $h"; done
[ -z "$later" ] && pass "renamed first wave: the failing commit never reached a later wave" || fail "renamed first wave reached later waves" "$later"

# ---- --skip-waves ----
commit r4 "$WAVES"
round
hosts_on r3 $EARLY $REST || fail "--skip-waves: setup" "a later wave applied r4 in its first round:$WHO"
"$FJORDD" --config "$(cfg r6)" >"$T/h/r6/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$T/h/r6/state/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$(cfg r6)" sync --skip-waves >"$T/skip.out" 2>&1
rc=$?
kill "$DPID"; wait "$DPID" 2>/dev/null
[ "$rc" = 0 ] && [ "$(on r6)" = r4 ] && hosts_on r3 $EARLY && pass "--skip-waves: one rest host applies r4 at once, early did not" ||
  fail "--skip-waves" "rc=$rc r6=$(on r6)$WHO: $(tail -3 "$T/skip.out")"

finish
