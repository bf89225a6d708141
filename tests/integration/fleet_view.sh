#!/bin/bash
# fjordctl fleet (issue 20) against a real status repository served by git daemon, its refs
# written by git itself as hosts push them (fleet/marker.hpp, fleet/report.hpp): one line a host,
# the counts of each recent commit wave by wave, a halted rollout named, stale hosts flagged, bad
# reports named without failing, --json, --commit, --url; no status repo: exit 2; unreachable: 1.
# Usage: fleet_view.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDCTL" ] || { echo "no $FJORDCTL"; exit 2; }

SRV=$T/srv
S=$SRV/status.git
git init -q --bare "$S"
start_git_daemon "$SRV"
URL=git://127.0.0.1:$GITD_PORT/status.git
A=$(printf 'a%.0s' {1..40}) B=$(printf 'b%.0s' {1..40})
NOW=$(date +%s)
EMPTY=$(git -C "$S" hash-object -t tree -w /dev/null)
# marker COMMIT STATE: the marker commit's id (written into the status repo), as every host makes it.
marker() {
  printf 'tree %s\nauthor fjord <fjord@invalid> 0 +0000\ncommitter fjord <fjord@invalid> 0 +0000\n\nfjord marker\n\ncommit %s\nstate %s\n' \
    "$EMPTY" "$1" "$2" | git -C "$S" hash-object -t commit -w --stdin
}
# report HOST JSON: a root commit holding report.json at refs/fjord/hosts/HOST.
report() {
  local blob tree c
  blob=$(printf '%s' "$2" | git -C "$S" hash-object -w --stdin)
  tree=$(printf '100644 blob %s\treport.json\n' "$blob" | git -C "$S" mktree)
  c=$(git -C "$S" commit-tree "$tree" -m "report of $1")
  git -C "$S" update-ref "refs/fjord/hosts/$1" "$c"
}
rj() { # HOST COMMIT WAVE STATE TIME JUDGED-JSON
  printf '{"schema":1,"host":"%s","fjord_version":"t","time":%s,"commit":"%s","generation":4,"wave":"%s","state":"%s","reason":"","judged":%s}' \
    "$1" "$5" "$2" "$3" "$4" "$6"
}
report c1 "$(rj c1 "$B" canary good "$NOW" "[{\"commit\":\"$B\",\"outcome\":\"good\",\"reason\":\"\",\"time\":$NOW}]")"
report c2 "$(rj c2 "$A" canary failed "$NOW" "[{\"commit\":\"$B\",\"outcome\":\"failed\",\"reason\":\"health check http failed\",\"time\":$NOW}]")"
report w1 "$(rj w1 "$A" rest waiting "$NOW" "[{\"commit\":\"$A\",\"outcome\":\"good\",\"reason\":\"\",\"time\":$((NOW - 100))}]")"
report w2 "$(rj w2 "$A" rest good $((NOW - 7200)) "[{\"commit\":\"$A\",\"outcome\":\"good\",\"reason\":\"\",\"time\":$((NOW - 7200))}]")"
git -C "$S" update-ref refs/fjord/waves/canary/c1 "$(marker "$B" good)"
git -C "$S" update-ref refs/fjord/waves/canary/c2 "$(marker "$B" failed)"
git -C "$S" update-ref refs/fjord/waves/rest/w1 "$(marker "$B" waiting)"
git -C "$S" update-ref refs/fjord/waves/rest/w2 "$(marker "$A" good)"
# A report that is not JSON, and a blob where a report commit belongs.
report junk "$(printf '\001\002 not json')"
git -C "$S" update-ref refs/fjord/hosts/blob "$(printf 'x' | git -C "$S" hash-object -w --stdin)"

CFG=$T/fjord.toml
write_config "$CFG" "git://127.0.0.1:$GITD_PORT/fleet.git" "$T/root" "$T/state" '[report]' "url = \"$URL\"" 'host = "viewer"' 'heartbeat = "10m"'
out=$("$FJORDCTL" --config "$CFG" fleet 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
[ "$rc" = 0 ] && pass "fleet: exit 0" || fail "fleet: exit 0" "exit $rc"
echo "$out" | has -E "^c2 +aaaaaaa +4 +canary +failed +[0-9]+s" && pass "fleet: a line a host (commit, generation, wave, state, age)" ||
  fail "fleet: host lines" "no c2 line"
echo "$out" | has -E "^w2 .* STALE" && ! echo "$out" | has -E "^w1 .* STALE" && pass "fleet: a host silent for 3 heartbeats is STALE, the others not" ||
  fail "fleet: stale" "w2 not flagged, or w1 flagged"
echo "$out" | has "commit bbbbbbb: 1 good, 1 failed, 1 waiting, 1 not yet reporting; halted in wave canary (c2 failed)" &&
  pass "fleet: the newest commit's counts and its halted rollout" || fail "fleet: commit B" "no summary line for B"
echo "$out" | has -E "^  wave canary +1/2 good, 1 failed" && echo "$out" | has -E "^  wave rest +0/2 good, 1 waiting, 1 not yet" &&
  pass "fleet: counts wave by wave" || fail "fleet: waves" "no wave lines"
echo "$out" | has "warning: refs/fjord/hosts/junk" && echo "$out" | has "warning: refs/fjord/hosts/blob" &&
  pass "fleet: unreadable reports are named, the rest shown" || fail "fleet: bad reports" "not named"
js=$("$FJORDCTL" --config "$CFG" fleet --json 2>/dev/null)
echo "$js" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [h["host"] for h in d["hosts"]]==["c1","c2","w1","w2"]; assert d["commits"][0]["failed"]==1; assert d["commits"][0]["rollout"].startswith("halted")' &&
  pass "fleet --json: hosts and commits" || fail "fleet --json" "$(echo "$js" | head -5)"
out=$("$FJORDCTL" --config "$CFG" fleet --commit aaaaaaa 2>&1)
echo "$out" | has "commit aaaaaaa: 2 good, 0 failed, 0 waiting, 2 not yet reporting; in progress: wave canary" && ! echo "$out" | has "commit bbbbbbb" &&
  pass "fleet --commit: that commit only" || fail "fleet --commit" "$(echo "$out" | grep commit)"
"$FJORDCTL" --config "$CFG" fleet --commit zz >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] && pass "fleet --commit zz: a usage error (exit 2)" || fail "fleet --commit zz" "exit $rc"
# --url over the configured one; a config without [report] and no --url: nothing to read.
write_config "$T/plain.toml" "git://127.0.0.1:$GITD_PORT/fleet.git" "$T/root" "$T/state"
out=$("$FJORDCTL" --config "$T/plain.toml" fleet 2>&1); rc=$?
[ "$rc" = 2 ] && echo "$out" | has "no status repository" && pass "fleet without [report] url: exit 2, says what to set" || fail "fleet without url" "exit $rc: $out"
out=$("$FJORDCTL" --config "$T/plain.toml" fleet --url "$URL" 2>&1); rc=$?
[ "$rc" = 0 ] && echo "$out" | has -E "^c1 " && pass "fleet --url: reads that status repository" || fail "fleet --url" "exit $rc: $out"
port=$(free_port)
out=$("$FJORDCTL" --config "$CFG" fleet --url "git://127.0.0.1:$port/status.git" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | has "127.0.0.1:$port" && pass "fleet: an unreachable status repository: exit 1, named" || fail "fleet unreachable" "exit $rc: $out"
# Waves in rollout order: fleet.toml of the newest commit, from this machine's Git cache (a
# host's state.dir/repo) when it has it; by name, and said so, when it does not.
W=$T/w
new_repo "$W"
printf '[[wave]]\nname = "rest"\nhosts = ["w*"]\n[[wave]]\nname = "canary"\n' >"$W/fleet.toml"
commit_all "$W" waves
F=$(git -C "$W" rev-parse HEAD)
report c1 "$(rj c1 "$F" canary good $((NOW + 5)) "[{\"commit\":\"$F\",\"outcome\":\"good\",\"reason\":\"\",\"time\":$((NOW + 5))}]")"
out=$("$FJORDCTL" --config "$CFG" fleet --commit "${F:0:7}" 2>&1)
echo "$out" | has "waves are listed by name: fleet.toml of commit ${F:0:7} is not in this machine's Git cache" &&
  [ "$(echo "$out" | grep -oE '^  wave [a-z]+' | tr '\n' ' ')" = "  wave canary   wave rest " ] &&
  pass "fleet: without the commit in a Git cache, waves by name, and it says so" || fail "fleet: wave order without cache" "$out"
git init -q --bare "$T/state/repo"
git -C "$W" push -q "$T/state/repo" HEAD:refs/fjord/remote
out=$("$FJORDCTL" --config "$CFG" fleet --commit "${F:0:7}" 2>&1)
[ "$(echo "$out" | grep -oE '^  wave [a-z]+' | tr '\n' ' ')" = "  wave rest   wave canary " ] && ! echo "$out" | has "listed by name" &&
  pass "fleet: with the commit in the host's Git cache, waves in fleet.toml's order" || fail "fleet: wave order from fleet.toml" "$out"
ls -d /tmp/fjord-fleet-* >/dev/null 2>&1 && fail "fleet: scratch cache removed" "$(ls -d /tmp/fjord-fleet-*)" || pass "fleet: its scratch cache is gone after"
finish
