#!/bin/bash
# validate, [file] patterns and [[hook]]s end to end with the real fjordd against a real Git
# repo and a temp apply.root: a sudoers drop-in that the real visudo rejects is refused with the
# host unchanged; each hook kind fires with its FJORD_* environment; a hook that hangs is killed
# at its timeout with its children, and counts as a failed health check; systemd's watchdog is
# fed while a slow hook runs; a hook timeout over 1 h is refused.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
new_repo "$R"
mkdir -p "$H/files/etc/sudoers.d" "$H/files/etc/app" "$ROOT"
printf 'ops ALL=(ALL) NOPASSWD: /usr/bin/systemctl\n' >"$H/files/etc/sudoers.d/ops"
echo "A=1" >"$H/files/etc/app/app.env"
hook() { # hook WHEN NAME: a hook writing its environment to $T/NAME.env
  printf '[[hook]]\nwhen = "%s"\nexec = ["sh", "-c", "env | sort >%s/%s.env"]\ntimeout = "5s"\n' "$1" "$T" "$2"
}
{
  printf '[file."/etc/sudoers.d/*"]\nmode = "0440"\nvalidate = ["visudo", "-cf", "%%s"]\n'
  hook pre-apply pre; hook post-apply post; hook post-rollback rb
} >"$H/fjord.toml"
commit_all "$R" "sudoers"
write_config "$CFG" "$R" "$ROOT" "$STATE" '[health]' 'require_source_reachable = false'
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
c1=$(git -C "$R" rev-parse HEAD)

# 1. A good drop-in passes visudo (the pattern applies mode and validate); pre- and post-apply
#    hooks fire with the environment they are promised, and nothing else of fjordd's.
if ! command -v visudo >/dev/null; then fail "visudo" "visudo is not installed (tests/deps.sh installs sudo)"; fi
if once && [ "$(stat -c %a "$ROOT/etc/sudoers.d/ops")" = 440 ] && grep -q "ops ALL" "$ROOT/etc/sudoers.d/ops"; then
  pass "a sudoers drop-in visudo accepts is applied, mode from the [file.\"/etc/sudoers.d/*\"] pattern"
else
  fail "good sudoers" "$(cat "$LOG")"
fi
want_env() { # FILE COMMIT PREV GEN RESULT
  printf 'FJORD_COMMIT=%s\nFJORD_GENERATION=%s\nFJORD_PREVIOUS_COMMIT=%s\nFJORD_RESULT=%s\nFJORD_ROOT=%s\nLANG=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\nPWD=/\n' \
    "$2" "$4" "$3" "$5" "$ROOT" | diff - "$1" >"$T/envdiff" 2>&1
}
if want_env "$T/pre.env" "$c1" "" 1 pending && want_env "$T/post.env" "$c1" "" 1 applied && [ ! -e "$T/rb.env" ]; then
  pass "pre-apply and post-apply hooks fire with FJORD_COMMIT, FJORD_PREVIOUS_COMMIT, FJORD_GENERATION, FJORD_RESULT only"
else
  fail "hook env" "$(cat "$T/envdiff"); $(cat "$LOG")"
fi
grep -q "hook post-apply \[2\] sh -c 'env | sort >$T/post.env': exit status 0" "$LOG" &&
  pass "each hook run is logged with its status" || fail "hook log" "$(cat "$LOG")"

# 2. A drop-in visudo rejects: refused before anything changes, output in status, history and log.
rm -f "$T"/*.env
fingerprint "$ROOT" >"$T/before"
printf 'ops ALL=(ALL NOPASSWD: ALL\n' >"$H/files/etc/sudoers.d/ops"
echo "A=2" >"$H/files/etc/app/app.env"
commit_all "$R" "broken sudoers"
c2=$(git -C "$R" rev-parse HEAD)
once; rc=$?
fingerprint "$ROOT" >"$T/after"
if [ $rc -ne 0 ] && cmp -s "$T/before" "$T/after" && [ "$(cat "$STATE/current")" = 1 ]; then
  pass "a drop-in visudo -c rejects refuses the whole generation: the host keeps the old one (and app.env)"
else
  fail "refused" "rc=$rc; $(diff "$T/before" "$T/after"); $(cat "$LOG")"
fi
if grep -q "validate /etc/sudoers.d/ops (hosts/web1/files/etc/sudoers.d/ops): visudo -cf %s: exit status 1: .*syntax error" "$LOG"; then
  pass "the journal/log line names the file, the command and visudo's own output"
else
  fail "log" "$(cat "$LOG")"
fi
"$FJORDCTL" --config "$CFG" status >"$T/st" 2>&1
"$FJORDCTL" --config "$CFG" history >"$T/h" 2>&1
if grep -q "syntax error" "$T/st" && grep -qE "^2 +${c2:0:12} .* refused +validate /etc/sudoers.d/ops .*syntax error" "$T/h"; then
  pass "fjordctl status and history show the refusal with visudo's output"
else
  fail "status/history" "$(cat "$T/st" "$T/h")"
fi
[ ! -e "$T/pre.env" ] && [ ! -e "$STATE/validate" ] &&
  pass "no hook ran for the refused generation, and the staging folder is gone" ||
  fail "after refusal" "$(ls "$T" "$STATE")"
once
grep -q "failed before and is not retried" "$LOG" && pass "the refused commit is marked bad, not retried" || fail "bad" "$(cat "$LOG")"

# 3. A post-apply hook that hangs (and leaves a child) is killed at its timeout with the child;
#    that fails the generation like a health check; post-rollback hooks then fire.
printf 'ops ALL=(ALL) NOPASSWD: ALL\n' >"$H/files/etc/sudoers.d/ops"
{
  printf '[file."/etc/sudoers.d/*"]\nmode = "0440"\nvalidate = ["visudo", "-cf", "%%s"]\n'
  hook pre-apply pre; hook post-rollback rb
  printf '[[hook]]\nwhen = "post-apply"\nexec = ["sh", "-c", "sleep 300 & echo $! >%s/child.pid; sleep 300"]\ntimeout = "1s"\n' "$T"
} >"$H/fjord.toml"
commit_all "$R" "hanging hook"
c3=$(git -C "$R" rev-parse HEAD)
t0=$(date +%s%N)
once; rc=$?
took=$(( ($(date +%s%N) - t0) / 1000000 ))
child=$(cat "$T/child.pid" 2>/dev/null)
# Killed means gone, or a zombie waiting for PID 1 to reap it.
dead() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ]; }
if [ $rc -ne 0 ] && [ "$took" -lt 10000 ] && [ -n "$child" ] && dead "$child" &&
  grep -q "hook post-apply \[3\] .*timed out after 1000 ms" "$LOG"; then
  pass "a hanging post-apply hook is killed at its 1s timeout with its child (sync took ${took} ms)"
else
  fail "hang" "rc=$rc took=$took child=$child state=$(cat /proc/"$child"/stat 2>/dev/null); $(cat "$LOG")"
fi
if grep -q "A=1" "$ROOT/etc/app/app.env" && grep -q "NOPASSWD: /usr/bin/systemctl" "$ROOT/etc/sudoers.d/ops" && [ "$(cat "$STATE/current")" = 1 ]; then
  pass "the failed post-apply hook rolled the generation back"
else
  fail "rollback" "$(cat "$ROOT/etc/app/app.env" "$ROOT/etc/sudoers.d/ops"); $(cat "$LOG")"
fi
if want_env "$T/rb.env" "$c3" "$c1" 3 rolled-back && want_env "$T/pre.env" "$c3" "$c1" 3 pending; then
  pass "post-rollback hooks fire after the rollback, with FJORD_RESULT=rolled-back"
else
  fail "post-rollback env" "$(cat "$T/envdiff"); $(cat "$LOG")"
fi

# 4. A failing pre-apply hook is a gate: nothing changes, the commit is not marked bad.
{
  printf '[[hook]]\nwhen = "pre-apply"\nexec = ["sh", "-c", "test -e %s/open || { echo maintenance window closed; exit 1; }"]\n' "$T"
} >"$H/fjord.toml"
commit_all "$R" "gate"
fingerprint "$ROOT" >"$T/before"
rollbacks() { "$FJORDCTL" --config "$CFG" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rollbacks_total"])'; }
rb=$(rollbacks)
last=$(ls "$STATE/generations" | sort -n | tail -1)
hline=$("$FJORDCTL" --config "$CFG" history | grep "^$last ")
once; rc=$?
once
fingerprint "$ROOT" >"$T/after"
if [ $rc -ne 0 ] && cmp -s "$T/before" "$T/after" && grep -q "hook pre-apply \[1\] .*exit status 1: maintenance window closed; nothing was changed" "$LOG"; then
  pass "a failing pre-apply hook refuses the generation; nothing changes"
else
  fail "pre-apply gate" "rc=$rc; $(cat "$LOG")"
fi
if [ "$(rollbacks)" = "$rb" ] && [ "$(ls "$STATE/generations" | sort -n | tail -1)" = "$last" ] &&
  [ "$("$FJORDCTL" --config "$CFG" history | grep "^$last ")" = "$hline" ]; then
  pass "a pre-apply refusal is not counted as a rollback ($rb) and saves no generation"
else
  fail "refusal counted" "rollbacks $rb -> $(rollbacks); $("$FJORDCTL" --config "$CFG" history)"
fi
touch "$T/open"
once && grep -q "NOPASSWD: ALL" "$ROOT/etc/sudoers.d/ops" &&
  pass "the same commit applies at the next sync once the pre-apply hook passes" || fail "gate opens" "$(cat "$LOG")"

# 5. A staging folder that a crash during validate left behind (it may hold a secret's
#    plaintext) is removed when fjordd starts.
mkdir -p "$STATE/validate/1"
echo "password=hunter2" >"$STATE/validate/1/app.conf"
once
[ ! -e "$STATE/validate" ] && pass "a stale validate staging folder is removed at start" || fail "stale staging" "$(ls -R "$STATE/validate")"

# 6. systemd's watchdog is fed during a long step: fjordd under WATCHDOG_USEC=2 s, its
#    NOTIFY_SOCKET read by a small listener; a post-apply hook sleeps 5 s (the whole sync runs
#    in one event-loop callback), and WATCHDOG=1 datagrams keep arriving meanwhile.
NPID="" DPID=""
stop_watch() { for p in $DPID $NPID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup_dirs; }
trap stop_watch EXIT
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        d = s.recv(4096).decode(errors="replace")
        for line in d.split("\n"): print("%.3f %s" % (time.time(), line), file=out, flush=True)
' "$T/notify.sock" "$T/notify.log" &
NPID=$!
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
printf '[[hook]]\nwhen = "post-apply"\nexec = ["sh", "-c", "date +%%s.%%N >%s/h.start; sleep 5; date +%%s.%%N >%s/h.end"]\ntimeout = "1m"\n' "$T" "$T" >"$H/fjord.toml"
echo "A=6" >"$H/files/etc/app/app.env"
commit_all "$R" "slow post-apply hook"
WATCHDOG_USEC=2000000 NOTIFY_SOCKET=$T/notify.sock "$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 200); do [ -s "$T/h.end" ] && break; sleep 0.1; done
sleep 0.5
fed=$(awk -v a="$(cat "$T/h.start" 2>/dev/null)" -v b="$(cat "$T/h.end" 2>/dev/null)" '$2 == "WATCHDOG=1" && $1 > a + 0.1 && $1 < b { n++ } END { print n + 0 }' "$T/notify.log")
if [ -s "$T/h.end" ] && [ "$fed" -ge 3 ] && grep -q "^[0-9.]* READY=1" "$T/notify.log"; then
  pass "WATCHDOG=1 keeps coming during a 5 s hook under a 2 s watchdog ($fed pings)"
else
  fail "watchdog fed" "fed=$fed start=$(cat "$T/h.start" 2>/dev/null) end=$(cat "$T/h.end" 2>/dev/null); $(tail -20 "$T/notify.log"); $(tail -5 "$T/daemon.log")"
fi
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=""

# 7. A hook timeout over 1 h is refused with the file, the key and the limit.
printf '[[hook]]\nwhen = "post-apply"\nexec = ["true"]\ntimeout = "2h"\n' >"$H/fjord.toml"
commit_all "$R" "hook timeout too long"
once
grep -q "hosts/web1/fjord.toml:4:11: hook\[1\]: timeout: over the limit of 1h" "$LOG" &&
  pass "a hook timeout over 1h is refused, naming the file and key" || fail "hook timeout cap" "$(cat "$LOG")"

finish
