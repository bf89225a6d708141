#!/bin/bash
# fleet.toml's wave gate end to end: several fjordd (each its own apply root, state dir and
# [report] host name) follow one fleet repo and read a real status repo over git:// (git
# daemon), whose wave markers this test writes with git itself (as the report pusher would).
# Wave 0 applies at once; a later wave waits until the markers say good and `after` passed; a
# failed marker halts the commit for good; mode = "all" and fjordctl sync --skip-waves apply at
# once; an unreachable status repo only delays; fjordctl validate checks fleet.toml; a commit
# with a broken fleet.toml is refused and the next good commit applies (liveness).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

R=$T/repo
new_repo "$R"
mkdir -p "$R/hosts/web1/files/etc"
echo zero >"$R/hosts/web1/files/etc/motd"
commit_all "$R" zero

# The status repo, served by git daemon.
mkdir -p "$T/srv"
git init -q --bare "$T/srv/status.git"
S=$T/srv/status.git
EMPTY=$(git -C "$S" mktree </dev/null)
start_git_daemon "$T/srv" || { echo "git daemon did not start"; exit 1; }
STATUS_URL="git://127.0.0.1:$GITD_PORT/status.git"

# mark WAVE HOST COMMIT STATE: the host's marker, as every host computes it (fleet/marker.hpp).
mark() {
  local id
  id=$(printf 'tree %s\nauthor fjord <fjord@invalid> 0 +0000\ncommitter fjord <fjord@invalid> 0 +0000\n\nfjord marker\n\ncommit %s\nstate %s\n' \
    "$EMPTY" "$3" "$4" | git -C "$S" hash-object -t commit -w --stdin)
  git -C "$S" update-ref "refs/fjord/waves/$1/$2" "$id"
}

# host NAME [URL]: a config for host NAME (own root and state), reporting to URL.
host() {
  local n=$1 url=${2:-$STATUS_URL}
  mkdir -p "$T/$n/root"
  write_config "$T/$n/fjord.toml" "$R" "$T/$n/root" "$T/$n/state" "[report]" "url = \"$url\"" "host = \"$n\""
}
once() { "$FJORDD" --config "$T/$1/fjord.toml" --once >"$T/$1/log" 2>&1; }
motd() { cat "$T/$1/root/etc/motd" 2>/dev/null; }

for n in canary1 web2 web3; do host "$n"; done
for n in canary1 web2 web3; do once "$n"; done
[ "$(motd canary1)$(motd web2)$(motd web3)" = zerozerozero ] && pass "no fleet.toml: every host applies at once" ||
  fail "no fleet.toml" "$(cat "$T/web2/log")"

# fjordctl validate reads the fleet repo root's fleet.toml.
cat >"$R/fleet.toml" <<'TOML'
[[wave]]
name = "canary"
hosts = ["canary*"]
[[wave]]
name = "early"
hosts = ["web*"]
after = "3s"
require = "100%"
TOML
out=$("$FJORDCTL" --config "$T/web2/fjord.toml" validate "$R" 2>&1)
rc=$?
[ $rc = 0 ] && grep -qF "fleet.toml: ok (2 waves, then \"rest\" for hosts in none)" <<<"$out" && pass "validate: a good fleet.toml" || fail "validate good" "rc=$rc $out"
cp "$R/fleet.toml" "$T/fleet.good"
printf '[[wave]]\nname = "canary"\nafter = "1m"\nspeed = 3\n' >"$R/fleet.toml"
out=$("$FJORDCTL" --config "$T/web2/fjord.toml" validate "$R" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q "fleet.toml:3:9: wave\[0\].after: the first wave has no gate" <<<"$out" &&
  grep -q "fleet.toml:4:1: wave\[0\].speed: unknown key" <<<"$out" && pass "validate: every fleet.toml error, with file, line, key and reason" ||
  fail "validate bad" "rc=$rc $out"
cp "$T/fleet.good" "$R/fleet.toml"

# 1. A commit with waves: the canary applies at once, the early wave waits.
echo one >"$R/hosts/web1/files/etc/motd"
commit_all "$R" one
C1=$(git -C "$R" rev-parse HEAD)
once canary1
[ "$(motd canary1)" = one ] && pass "wave 0 applies at once" || fail "wave 0" "$(cat "$T/canary1/log")"
mark canary canary1 "$C1" waiting
once web2
rc=$?
st=$("$FJORDCTL" --config "$T/web2/fjord.toml" status 2>&1)
if [ $rc = 0 ] && [ "$(motd web2)" = zero ] && grep -q "rollout:     waiting: wave early needs canary 1/1 good, has 0 (canary1: waiting)" <<<"$st" &&
  grep -q "^wave:        early" <<<"$st"; then
  pass "a later wave keeps its generation while the canary is not good (fjordd --once exits 0; status says why)"
else
  fail "early waits" "rc=$rc motd=$(motd web2) $st $(cat "$T/web2/log")"
fi
js=$("$FJORDCTL" --config "$T/web2/fjord.toml" status --json 2>&1)
grep -q '"rollout": "waiting"' <<<"$js" && grep -q "\"rollout_commit\": \"$C1\"" <<<"$js" &&
  pass "status --json carries the rollout" || fail "status json" "$js"

# 2. The canary good: `after` runs from when web2 first saw it, on web2's clock.
mark canary canary1 "$C1" good
once web2
[ "$(motd web2)" = zero ] && grep -q "waiting: wave early is due in" "$T/web2/state/status.json" &&
  pass "the canary good: the early wave waits out after" || fail "after" "$(motd web2) $(cat "$T/web2/log")"
sleep 3
once web2
[ "$(motd web2)" = one ] && pass "after passed: the early wave applies" || fail "early applies" "$(cat "$T/web2/log")"
st=$("$FJORDCTL" --config "$T/web2/fjord.toml" status 2>&1)
grep -q "^rollout:" <<<"$st" && fail "rollout line gone" "$st" || pass "applied: no rollout line in status"

# 3. A failed marker in the canary halts the next commit for the early wave, for good.
echo two >"$R/hosts/web1/files/etc/motd"
commit_all "$R" two
C2=$(git -C "$R" rev-parse HEAD)
mark canary canary1 "$C2" failed
once web2
rc=$?
if [ $rc = 1 ] && [ "$(motd web2)" = one ] && grep -q "halted: commit ${C2:0:7} failed in wave canary (canary1)" "$T/web2/log"; then
  pass "a failed canary halts the commit (fjordd --once exits 1, names the wave and host)"
else
  fail "halt" "rc=$rc $(motd web2) $(cat "$T/web2/log")"
fi
mark canary canary1 "$C2" good
sleep 3
once web2
[ "$(motd web2)" = one ] && grep -q "halted: commit ${C2:0:7}" "$T/web2/log" "$T/web2/state/status.json" &&
  grep -q '"halts"' "$T/web2/state/fleet.json" && pass "the halt is sticky (STATE/fleet.json) when the marker turns good" ||
  fail "sticky halt" "$(motd web2) $(cat "$T/web2/log")"

# 4. fjordctl sync --skip-waves applies the held commit on this host, once, and logs it.
"$FJORDD" --config "$T/web2/fjord.toml" >"$T/web2/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$T/web2/state/control.sock" ] && break; sleep 0.1; done
out=$("$FJORDCTL" --config "$T/web2/fjord.toml" sync --skip-waves 2>&1)
rc=$?
[ $rc = 0 ] && [ "$(motd web2)" = two ] && grep -q "applied outside wave early's gate (fjordctl sync --skip-waves)" "$T/web2/daemon.log" &&
  pass "sync --skip-waves applies the held commit and logs it" || fail "skip-waves" "rc=$rc $out $(cat "$T/web2/daemon.log")"
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""

# 5. mode = "all": every host applies at once, whatever the markers say.
{ echo 'mode = "all"'; cat "$T/fleet.good"; } >"$R/fleet.toml"
echo three >"$R/hosts/web1/files/etc/motd"
commit_all "$R" three
once web3
[ "$(motd web3)" = three ] && pass "mode all: a later wave applies at once" || fail "mode all" "$(cat "$T/web3/log")"

# 6. The status repo unreachable: the host keeps its generation and says so.
cp "$T/fleet.good" "$R/fleet.toml"
echo four >"$R/hosts/web1/files/etc/motd"
commit_all "$R" four
host web4 "git://127.0.0.1:1/status.git"
once web4
once web4
rc=$?
st=$("$FJORDCTL" --config "$T/web4/fjord.toml" status 2>&1)
[ $rc = 0 ] && [ "$(motd web4)" != four ] && grep -q "waiting: status repository unreachable: git://127.0.0.1:1/status.git: connect" <<<"$st" &&
  pass "an unreachable status repo only delays" || fail "unreachable" "$(motd web4) $st"

# 7. Liveness: a commit whose fleet.toml does not parse is refused on a host with [report] (the
# root untouched, the file named), and the next good commit applies in one run.
echo five >"$R/hosts/web1/files/etc/motd"
printf 'mode = "sometimes"\n' >"$R/fleet.toml"
commit_all "$R" bad-fleet-toml
before=$(motd web3)
once web3
rc=$?
[ $rc != 0 ] && [ "$(motd web3)" = "$before" ] && grep -q "fleet.toml" "$T/web3/log" &&
  pass "a commit with a broken fleet.toml is refused, naming it, the root untouched" || fail "broken fleet.toml" "rc=$rc $(motd web3) $(tail -3 "$T/web3/log")"
printf 'mode = "all"\n' >"$R/fleet.toml"
echo six >"$R/hosts/web1/files/etc/motd"
commit_all "$R" fixed-fleet-toml
once web3
rc=$?
[ $rc = 0 ] && [ "$(motd web3)" = six ] && pass "the next good commit applies after a broken fleet.toml" || fail "after broken fleet.toml" "rc=$rc $(motd web3) $(tail -3 "$T/web3/log")"

finish
