#!/bin/bash
# The core loop end to end with the real fjordd and fjordctl against real Git repositories:
# apply, prune, adoption and restore of originals, the max_deletions guardrail, drift
# correct/report, force-push refusal, the daemon's control socket verbs, SIGHUP with a bad
# config, SIGTERM, and the idle poll that touches nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
new_repo "$R"
mkdir -p "$H/files/etc/app" "$H/files/etc/nginx" "$R/bundles/base/files/etc" "$ROOT/etc"
echo "base motd" >"$R/bundles/base/files/etc/issue.net"
printf 'include = ["../../bundles/base"]\n[file."/etc/app/app.env"]\nmode = "0640"\n' >"$H/fjord.toml"
echo "A=1" >"$H/files/etc/app/app.env"
for i in 1 2 3 4; do echo "server $i" >"$H/files/etc/nginx/site$i.conf"; done
commit_all "$R" "first"
echo "the host's own motd" >"$ROOT/etc/motd"
chmod 0600 "$ROOT/etc/motd"
write_config "$CFG" "$R" "$ROOT" "$STATE"
sed -i 's|^\[apply\]$|[apply]\nmax_deletions = 2\ndrift = "correct"|' "$CFG"

once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }

# 1. First apply.
if once && [ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && [ "$(stat -c %a "$ROOT/etc/app/app.env")" = 640 ] &&
  [ -f "$ROOT/etc/issue.net" ] && [ "$(cat "$STATE/current")" = 1 ]; then
  pass "first apply writes the host's files and the bundle's, with manifest modes"
else
  fail "first apply" "$(cat "$LOG")"
fi
"$FJORDCTL" --config "$CFG" history >"$T/h" 2>&1
grep -qE '^1 +[0-9a-f]{12} .* good +\(current\)' "$T/h" && pass "history lists generation 1 as good and current" || fail "history" "$(cat "$T/h")"

# Metrics for node_exporter's textfile collector.
mkdir -p "$T/prom"
sed -i "s|^textfile = \"\"|textfile = \"$T/prom/fjord.prom\"|" "$CFG"
once
grep -q '^fjord_generation 1$' "$T/prom/fjord.prom" && grep -q '^fjord_managed_files 6$' "$T/prom/fjord.prom" &&
  grep -q '^fjord_last_sync_result{result="up-to-date"} 1$' "$T/prom/fjord.prom" &&
  pass "metrics textfile shows generation, managed files and the last result" || fail "metrics" "$(cat "$T/prom/fjord.prom" 2>&1)"

# 2. Idle: a poll that finds no new commit touches no managed file and fetches nothing.
before=$(stat -c '%n %Z %Y' "$ROOT/etc/app/app.env" "$ROOT/etc/nginx/site1.conf"; find "$STATE/repo/objects" -type f | wc -l)
sleep 1.1
once
after=$(stat -c '%n %Z %Y' "$ROOT/etc/app/app.env" "$ROOT/etc/nginx/site1.conf"; find "$STATE/repo/objects" -type f | wc -l)
[ "$before" = "$after" ] && grep -q "up to date" "$LOG" && pass "idle poll touches nothing" || fail "idle poll" "$before / $after / $(cat "$LOG")"
# ... and writes nothing in the state dir: no file created, renamed, removed or fsynced there
# (calls that fail, as mkdir of a folder that is there, change nothing),
# generations and their chunks included (DESIGN.md §7.10). status.json is the one exception
# left: the recorder writes it (with its fsyncs) three times a run, for its timestamps.
strace -f -y -qq -e trace=openat,rename,renameat,renameat2,unlink,unlinkat,mkdir,fsync,fdatasync,syncfs -e signal=none \
  -o "$T/idle.trace" "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1
writes=$(grep -F "$STATE" "$T/idle.trace" | grep -vE '= -1 E[A-Z]+' | grep -E 'O_WRONLY|O_RDWR|O_CREAT|rename|unlink|mkdir|fsync|fdatasync|syncfs' |
  grep -vE "$STATE/lock[\">]" | grep -vE "$STATE/status\.json(\.tmp)?[\">]" | grep -vE "^[0-9]+ +fsync\([0-9]+<$STATE>\)")
dirsyncs=$(grep -cE "^[0-9]+ +fsync\([0-9]+<$STATE>\)" "$T/idle.trace")
statuses=$(grep -cE "rename\(.*status\.json\.tmp" "$T/idle.trace")
if grep -q "up to date" "$LOG" && [ -z "$writes" ] && [ "$dirsyncs" -le "$statuses" ]; then
  pass "idle poll writes and fsyncs nothing in the state dir but status.json ($statuses times)"
else
  fail "idle poll writes nothing in the state dir" "$(echo "$writes" | head -5) ($dirsyncs fsyncs of the state dir, $statuses for status.json) $(cat "$LOG")"
fi

# 3. Adopt a pre-existing file, then give its original back when Git drops it.
echo "managed motd" >"$H/files/etc/motd"
commit_all "$R" "manage motd"
once && [ "$(cat "$ROOT/etc/motd")" = "managed motd" ] && pass "a pre-existing file is adopted and overwritten" || fail "adopt" "$(cat "$LOG")"
git -C "$R" rm -q "$H/files/etc/motd" && commit_all "$R" "drop motd"
once
if [ "$(cat "$ROOT/etc/motd")" = "the host's own motd" ] && [ "$(stat -c %a "$ROOT/etc/motd")" = 600 ]; then
  pass "the adopted file's original comes back, content and mode"
else
  fail "restore original" "$(cat "$ROOT/etc/motd" 2>&1) $(cat "$LOG")"
fi

# 4. Prune: a file Git dropped that fjord created is removed.
git -C "$R" rm -q "$H/files/etc/nginx/site4.conf" && commit_all "$R" "drop site4"
once && [ ! -e "$ROOT/etc/nginx/site4.conf" ] && pass "prune removes a file fjord created" || fail "prune" "$(cat "$LOG")"

# 5. Guardrail: deleting more than max_deletions is refused and changes nothing.
git -C "$R" rm -q "$H/files/etc/nginx/site1.conf" "$H/files/etc/nginx/site2.conf" "$H/files/etc/nginx/site3.conf"
commit_all "$R" "drop three"
fp=$(fingerprint "$ROOT")
cur=$(cat "$STATE/current")
if ! once && grep -q "deletes 3 files, more than apply.max_deletions = 2" "$LOG" && grep -q "allow-deletions 3" "$LOG" &&
  [ "$fp" = "$(fingerprint "$ROOT")" ] && [ "$cur" = "$(cat "$STATE/current")" ]; then
  pass "max_deletions refuses the plan, names the count and the override, changes nothing"
else
  fail "max_deletions" "$(cat "$LOG")"
fi

# 6. The daemon and its control socket.
"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$STATE/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$CFG" status --json >"$T/st" 2>&1
grep -q '"running": true' "$T/st" && pass "status --json reaches the running daemon" || fail "status" "$(cat "$T/st")"
"$FJORDCTL" --config "$CFG" diff >"$T/diff" 2>&1
grep -q '^- /etc/nginx/site1.conf' "$T/diff" && [ -e "$ROOT/etc/nginx/site1.conf" ] && pass "diff shows the plan and applies nothing" || fail "diff" "$(cat "$T/diff")"
if "$FJORDCTL" --config "$CFG" sync --allow-deletions 3 >"$T/sync" 2>&1 && [ ! -e "$ROOT/etc/nginx/site1.conf" ]; then
  pass "sync --allow-deletions N lets the refused plan through"
else
  fail "allow-deletions" "$(cat "$T/sync")"
fi

# 7. Drift: a hand edit is put right by the next sync (apply.drift = correct).
echo "edited at 3 AM" >"$ROOT/etc/app/app.env"
chmod 0666 "$ROOT/etc/app/app.env"
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
if [ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && [ "$(stat -c %a "$ROOT/etc/app/app.env")" = 640 ] &&
  grep -q "drift: /etc/app/app.env: content changed; mode 0666, want 0640, correcting" "$T/daemon.log"; then
  pass "drift is corrected and logged with the path"
else
  fail "drift correct" "$(tail -5 "$T/daemon.log")"
fi

# 8. suspend / resume / rollback.
"$FJORDCTL" --config "$CFG" suspend >/dev/null 2>&1
echo "A=2" >"$H/files/etc/app/app.env" && commit_all "$R" "A=2"
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
[ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && grep -q suspended "$T/sync" && pass "a suspended host polls but applies nothing" || fail "suspend" "$(cat "$T/sync")"
"$FJORDCTL" --config "$CFG" resume >/dev/null 2>&1
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
[ "$(cat "$ROOT/etc/app/app.env")" = "A=2" ] && pass "resume applies the waiting commit" || fail "resume" "$(cat "$T/sync")"
target=$(cat "$STATE/current")
target=$((target - 1))
"$FJORDCTL" --config "$CFG" rollback "$target" >"$T/rb" 2>&1
"$FJORDCTL" --config "$CFG" status >"$T/st" 2>&1
if [ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && grep -q "paused: pinned to generation" "$T/st"; then
  pass "rollback GEN restores that generation's files and pins the host"
else
  fail "rollback" "$(cat "$T/rb") $(cat "$T/st")"
fi
"$FJORDCTL" --config "$CFG" resume >/dev/null 2>&1
"$FJORDCTL" --config "$CFG" sync >/dev/null 2>&1
[ "$(cat "$ROOT/etc/app/app.env")" = "A=2" ] && pass "resume after rollback follows Git again" || fail "resume after rollback" "$(cat "$ROOT/etc/app/app.env")"

# 9. SIGHUP with a bad config keeps the running one.
cp "$CFG" "$CFG.good"
printf '[apply]\nmax_deletions = "many"\n' >>"$CFG"
kill -HUP "$DAEMON_PID"
sleep 0.5
if kill -0 "$DAEMON_PID" 2>/dev/null && grep -q "keeping the running configuration" "$T/daemon.log" &&
  "$FJORDCTL" --config "$CFG.good" status >/dev/null 2>&1; then
  pass "SIGHUP with a bad config logs the error and keeps running on the old one"
else
  fail "sighup" "$(tail -3 "$T/daemon.log")"
fi
# Every problem is logged, a line each; the last says the running one is kept (issue 19).
cp "$CFG.good" "$CFG"
printf '[colour]\nx = 1\n[shade]\ny = 2\n' >>"$CFG"
kill -HUP "$DAEMON_PID"
sleep 0.5
if kill -0 "$DAEMON_PID" 2>/dev/null && grep -q "reload: $CFG:[0-9]*:1: colour: unknown table\$" "$T/daemon.log" &&
  grep -q "reload: $CFG:[0-9]*:1: shade: unknown table; keeping the running configuration" "$T/daemon.log"; then
  pass "SIGHUP with a config of two problems logs both and keeps the old one"
else
  fail "sighup two problems" "$(tail -3 "$T/daemon.log")"
fi
cp "$CFG.good" "$CFG"
sed -i 's|^drift = "correct"|drift = "report"|' "$CFG"
kill -HUP "$DAEMON_PID"
sleep 0.5
grep -q "configuration reloaded" "$T/daemon.log" && pass "SIGHUP with a good config reloads it" || fail "sighup good" "$(tail -3 "$T/daemon.log")"

# 10. Drift report mode: the edit stays, the event is logged.
echo "hand edit" >"$ROOT/etc/issue.net"
"$FJORDCTL" --config "$CFG" sync >/dev/null 2>&1
if [ "$(cat "$ROOT/etc/issue.net")" = "hand edit" ] && grep -q "drift: /etc/issue.net: content changed, reported" "$T/daemon.log"; then
  pass "apply.drift = report logs the drift and leaves the file"
else
  fail "drift report" "$(tail -3 "$T/daemon.log")"
fi

# 11. SIGTERM ends the daemon cleanly.
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=""
[ "$rc" = 0 ] && [ ! -e "$STATE/control.sock" ] && pass "SIGTERM stops fjordd cleanly" || fail "sigterm" "rc=$rc"
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
[ $? = 1 ] && grep -q "fjordd is not running" "$T/sync" && pass "verbs that need the daemon say so" || fail "not running" "$(cat "$T/sync")"
"$FJORDCTL" --config "$CFG" history >/dev/null 2>&1 && pass "history works with the daemon stopped" || fail "history offline" ""

# 12. A force-push is refused until accepted.
sed -i 's|^drift = "report"|drift = "correct"|' "$CFG"
once
git -C "$R" reset -q --hard HEAD~1
echo "rewritten" >"$H/files/etc/app/app.env" && commit_all "$R" "rewritten history"
fp=$(fingerprint "$ROOT")
if ! once && grep -q "history rewritten" "$LOG" && grep -q "accept_history_rewrite" "$LOG" && [ "$fp" = "$(fingerprint "$ROOT")" ]; then
  pass "a force-pushed branch is refused and nothing changes"
else
  fail "force-push" "$(cat "$LOG")"
fi
sed -i 's|^\[source\]$|[source]\naccept_history_rewrite = true|' "$CFG"
once && [ "$(cat "$ROOT/etc/app/app.env")" = "rewritten" ] && pass "accept_history_rewrite lets it through" || fail "accept rewrite" "$(cat "$LOG")"

# 13. SIGTERM while a transaction is in flight: it is finished (or rolled back), never abandoned.
for d in $(seq 40); do mkdir -p "$H/files/srv/bulk/$d"; for f in $(seq 50); do echo "$d/$f" >"$H/files/srv/bulk/$d/$f"; done; done
commit_all "$R" "bulk"
sed -i 's|^max_deletions = 2|max_deletions = 5000|' "$CFG"
"$FJORDD" --config "$CFG" --once >"$LOG" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$STATE/journal" ] && break; sleep 0.01; done
kill -TERM "$pid"
wait "$pid"
rc=$?
n=$(find "$ROOT/srv/bulk" -type f 2>/dev/null | wc -l)
if [ ! -e "$STATE/journal" ] && [ -z "$(find "$ROOT" -name '*fjord-tmp*')" ] && { [ "$n" = 2000 ] || [ "$n" = 0 ]; }; then
  pass "SIGTERM during an apply: the transaction ends whole (rc=$rc, $n of 2000 files, no journal, no temp files)"
else
  fail "sigterm in flight" "rc=$rc files=$n journal=$(ls "$STATE/journal" 2>&1)"
fi

# 14. A commit that fails for its own content is marked bad: not retried until --retry or a newer commit.
printf '[file."/etc/not-there"]\nmode = "0600"\n' >>"$H/fjord.toml"
commit_all "$R" "bad manifest"
once
once
if ! once && grep -q "failed before and is not retried" "$LOG"; then
  pass "a bad commit is not retried on the next poll"
else
  fail "bad commit retried" "$(cat "$LOG")"
fi
"$FJORDD" --config "$CFG" >"$T/daemon2.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$STATE/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$CFG" sync --retry >"$T/sync" 2>&1
grep -q 'no files/ of the merged folders provides /etc/not-there' "$T/sync" && pass "sync --retry tries a bad commit again" || fail "retry" "$(cat "$T/sync")"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=""
sed -i '/not-there/,+1d' "$H/fjord.toml"
commit_all "$R" "fixed manifest"
once && pass "a newer commit after a bad one applies" || fail "newer after bad" "$(cat "$LOG")"

# 15. An adopted original outlives the pruning of the generation that adopted it.
sed -i 's|^\[state\]$|[state]\nkeep_generations = 2|' "$CFG"
echo "the host's issue" >"$ROOT/etc/issue"
echo "managed issue" >"$H/files/etc/issue" && commit_all "$R" "adopt issue" && once
for i in 1 2 3; do echo "v$i" >"$H/files/etc/app/app.env" && commit_all "$R" "v$i" && once; done
gens=$(ls "$STATE/generations" | wc -l)
git -C "$R" rm -q "$H/files/etc/issue" && commit_all "$R" "drop issue" && once
if [ "$gens" -le 3 ] && [ "$(cat "$ROOT/etc/issue")" = "the host's issue" ]; then
  pass "pruned generations ($gens kept) keep the originals later ones still need"
else
  fail "prune keeps originals" "gens=$gens issue=$(cat "$ROOT/etc/issue" 2>&1)"
fi

# 16. A managed file replaced by a folder by hand: reported, not removed, nothing wedged.
rm "$ROOT/etc/app/app.env" && mkdir "$ROOT/etc/app/app.env" && touch "$ROOT/etc/app/app.env/keep"
once
rc=$?
if [ "$rc" = 1 ] && grep -q "replaced by a folder, cannot be corrected" "$LOG" && [ -e "$ROOT/etc/app/app.env/keep" ] &&
  [ ! -e "$STATE/journal" ] && "$FJORDD" --config "$CFG" --recover; then
  pass "a folder in place of a managed file is reported, kept, and wedges nothing"
else
  fail "replaced by folder" "rc=$rc $(cat "$LOG")"
fi
rm -rf "$ROOT/etc/app/app.env"
once

# 17. Another apply.root with the same state.dir is refused (its files were never adopted).
mkdir -p "$T/root2"
sed "s|^root = .*|root = \"$T/root2\"|" "$CFG" >"$T/other-root.toml"
if ! "$FJORDD" --config "$T/other-root.toml" --once >"$LOG" 2>&1 && grep -q "holds generations applied to $ROOT" "$LOG" &&
  [ -z "$(ls -A "$T/root2")" ]; then
  pass "a changed apply.root with the old state.dir is refused"
else
  fail "root change" "$(cat "$LOG")"
fi

# 18. The same loop over git:// from a real git daemon.
start_git_daemon "$T"
port=$GITD_PORT
write_config "$T/g.toml" "git://127.0.0.1:$port/repo" "$T/groot" "$T/gstate"
mkdir -p "$T/groot"
if "$FJORDD" --config "$T/g.toml" --once >"$LOG" 2>&1 && [ "$(cat "$T/groot/etc/app/app.env")" = "$(cat "$H/files/etc/app/app.env")" ]; then
  pass "fjordd --once over git:// from git daemon"
else
  fail "git://" "$(cat "$LOG")"
fi

# 19. A state dir from before chunks (issue 18): generations an older fjord wrote whole (the
# text itself in files and files.copy, sealed; no chunks/) still load; the next generation is
# stored in chunks; a rollback to an old generation puts its files back.
U=$T/upgrade
mkdir -p "$U/root"
write_config "$U/fjord.toml" "$R" "$U/root" "$U/state"
"$FJORDD" --config "$U/fjord.toml" --once >"$LOG" 2>&1
g1=$(cat "$U/state/current" 2>/dev/null)
want1=$(fingerprint "$U/root")
seal() { perl -MDigest::SHA=sha1_hex -0777 -ne 'print "sealed ", sha1_hex("blob " . length($_) . "\0" . $_), "\n", $_'; }
for d in "$U/state"/generations/*/; do
  n=$(basename "$d")
  gen_files "$U/state" "$n" | seal >"$T/whole" && cp "$T/whole" "$d/files" && cp "$T/whole" "$d/files.copy"
done
rm -rf "$U/state/chunks"
echo "A=upgraded" >"$H/files/etc/app/app.env" && commit_all "$R" "after the upgrade"
"$FJORDD" --config "$U/fjord.toml" --once >"$LOG" 2>&1
rc=$?
g2=$(cat "$U/state/current")
if [ "$rc" = 0 ] && [ "$g2" -gt "${g1:-0}" ] && [ "$(cat "$U/root/etc/app/app.env")" = "A=upgraded" ] &&
  head -2 "$U/state/generations/$g1/files" | has '^fjord-files 2$' && head -2 "$U/state/generations/$g2/files" | has '^fjord-index 1$' &&
  [ -n "$(ls "$U/state/chunks")" ]; then
  pass "generations written whole by an older fjord load; the next one is stored in chunks"
else
  fail "upgrade from whole generations" "rc=$rc g1=$g1 g2=$g2 $(cat "$LOG") $(head -2 "$U/state/generations/$g2/files" 2>&1)"
fi
"$FJORDD" --config "$U/fjord.toml" --rollback "$g1" >"$LOG" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(fingerprint "$U/root")" = "$want1" ]; then
  pass "a rollback to a generation written whole puts its files back"
else
  fail "rollback to a generation written whole" "rc=$rc $(cat "$LOG")"
fi
"$FJORDCTL" --config "$U/fjord.toml" resume >/dev/null 2>&1
echo "A=after the rollback" >"$H/files/etc/app/app.env" && commit_all "$R" "after the rollback"
"$FJORDD" --config "$U/fjord.toml" --once >"$LOG" 2>&1 && [ "$(cat "$U/root/etc/app/app.env")" = "A=after the rollback" ] &&
  pass "after resume a new commit applies over it" || fail "a new commit after the rollback to a whole generation" "$(cat "$LOG")"

finish
