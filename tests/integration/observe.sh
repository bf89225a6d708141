#!/bin/bash
# Observability end to end with the real fjordd and fjordctl (issue 10): the metrics textfile
# after real syncs (promtool check metrics, values that move: generation, rollbacks after a
# failed check, drift corrections after a live edit, poll errors, suspended; counters kept
# across a restart), [[notify]] webhooks against a local python3 receiver that is down, slow
# and up (syncs stay fast in all three; SIGTERM does not hang on a slow receiver; the up one
# gets correct JSON for applied, rolled_back, drift and refused, never file contents), and
# fjordctl status / history / sync progress as an operator sees them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_daemon() { [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
stop_all() {
  stop_daemon
  cleanup_dirs
}
trap stop_all EXIT

NP=$(free_port) # the receiver's port (start_receiver, lib.sh); nothing listens on it while "down"

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; PROM=$T/prom/fjord.prom
H=$R/hosts/web1
new_repo "$R"
mkdir -p "$H/files/etc" "$ROOT" "$T/prom"
echo "CONTENT-MUST-NOT-LEAK-1" >"$H/files/etc/app.conf"
echo "two" >"$H/files/etc/two.conf"
echo "three" >"$H/files/etc/three.conf"
checks() { # checks CMD...: the host folder's manifest with one exec check per argument
  : >"$H/fjord.toml"
  for c in "$@"; do
    printf '[[check]]\nname = "c%s"\nexec = ["sh", "-c", "%s"]\nperiod = "200ms"\ntimeout = "2s"\nfailure_threshold = 2\n' \
      "$RANDOM" "$c" >>"$H/fjord.toml"
  done
}
checks "true"
commit_all "$R" "first: app config"
write_config "$CFG" "$R" "$ROOT" "$STATE" \
  '[health]' 'timeout = "10s"' 'require_source_reachable = false' \
  '[prerequisites]' 'mode = "warn"' 'steal_window = "200ms"' 'probe_size = "1MiB"' \
  '[[notify]]' "url = \"http://127.0.0.1:$NP/hook/SECRET-TOKEN\"" \
  'events = ["applied", "rolled_back", "failed", "drift", "refused"]'
sed -i -e 's|^poll_interval = "1s"|poll_interval = "1h"|' -e "s|^textfile = \"\"|textfile = \"$PROM\"|" \
  -e 's|^\[apply\]$|[apply]\nmax_deletions = 1\ndrift_interval = "1h"|' "$CFG"

metric() { awk -v k="$1" '$1 == k { print $2 }' "$PROM"; }
ctl() { "$FJORDCTL" --config "$CFG" "$@"; }
start_daemon() {
  "$FJORDD" --config "$CFG" >>"$T/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do [ -S "$STATE/control.sock" ] && ctl status --json 2>/dev/null | has '"last_result": "[a-z]' && return; sleep 0.1; done
}
# timed_sync NAME: fjordctl sync, its wall time in ms in $took; fails NAME when over 4 s.
# A normal sync here takes well under a second; the receiver delays by 5 s (down: retries
# 1+2+4 s; slow: a 5 s timeout per attempt), so 4 s is generous and still catches waiting.
timed_sync() {
  local s e
  s=$(date +%s%N)
  ctl sync >"$T/sync.out" 2>&1
  rc=$?
  e=$(date +%s%N)
  took=$(((e - s) / 1000000))
}

# --- bad [[notify]] events are a config error with file:line:col --------------------------------
cp "$CFG" "$T/bad.toml"
sed -i 's/^events = \["applied",/events = ["aplied",/' "$T/bad.toml"
"$FJORDCTL" --config "$T/bad.toml" history >"$T/bad.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -qE "bad.toml:[0-9]+:[0-9]+: notify\[0\]\.events\[0\]: unknown event \"aplied\"" "$T/bad.out"; then
  pass "an unknown [[notify]] event is a config error naming file:line:col"
else
  fail "notify event validation" "rc=$rc $(cat "$T/bad.out")"
fi

# --- receiver down ---------------------------------------------------------------------------------
start_daemon
[ "$(metric fjord_generation)" = 1 ] && pass "the first sync (receiver down) applies generation 1 and writes metrics" ||
  fail "first sync" "$(tail -5 "$T/daemon.log")"
echo "v2" >"$H/files/etc/two.conf" && commit_all "$R" "v2"
timed_sync
if [ $rc = 0 ] && [ $took -lt 4000 ] && [ "$(metric fjord_generation)" = 2 ]; then
  pass "receiver down: sync applies generation 2 in ${took} ms"
else
  fail "receiver down" "rc=$rc ${took} ms $(cat "$T/sync.out")"
fi
promtool check metrics <"$PROM" >"$T/promtool.out" 2>&1 && pass "promtool check metrics passes after real syncs" ||
  fail "promtool" "$(cat "$T/promtool.out")"
if grep -q "SECRET-TOKEN" "$T/daemon.log"; then fail "webhook url in logs" "$(grep SECRET-TOKEN "$T/daemon.log" | head -2)"
else pass "the webhook URL's path (often its secret) never reaches the log"; fi

# --- receiver slow -----------------------------------------------------------------------------------
start_receiver "$NP" "$T/slow.jsonl" slow
echo "v3" >"$H/files/etc/two.conf" && commit_all "$R" "v3"
timed_sync
t3=$took
for _ in $(seq 150); do [ -s "$T/slow.jsonl.arrived" ] && break; sleep 0.1; done
echo "v4" >"$H/files/etc/two.conf" && commit_all "$R" "v4"
timed_sync # the worker is now stuck in a POST to the slow receiver
if [ -s "$T/slow.jsonl.arrived" ] && [ $rc = 0 ] && [ $t3 -lt 4000 ] && [ $took -lt 4000 ] && [ "$(metric fjord_generation)" = 4 ]; then
  pass "receiver slow (sleeps 60 s): syncs apply generations 3 and 4 in ${t3} and ${took} ms while a POST hangs"
else
  fail "receiver slow" "arrived=$(wc -l <"$T/slow.jsonl.arrived" 2>/dev/null) rc=$rc ${t3}/${took} ms $(cat "$T/sync.out")"
fi
changes_before=$(metric fjord_changes_applied_total)
s=$(date +%s%N)
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
stopped=$((($(date +%s%N) - s) / 1000000))
DAEMON_PID=""
# The grace for pending sends is 2 s; curl notices the abort within about a second.
if [ $stopped -lt 5000 ] && grep -q "notification(s) not sent within 2000 ms, dropped\|aborted at shutdown" "$T/daemon.log"; then
  pass "SIGTERM with a POST hanging stops fjordd in ${stopped} ms (grace 2 s, then dropped)"
else
  fail "SIGTERM" "${stopped} ms $(tail -3 "$T/daemon.log")"
fi
stop_receiver

# --- receiver up -------------------------------------------------------------------------------------
start_receiver "$NP" "$T/up.jsonl"
start_daemon
[ -n "$changes_before" ] && [ "$(metric fjord_changes_applied_total)" = "$changes_before" ] &&
  pass "counters survive a restart (changes_applied_total = $changes_before)" ||
  fail "counters after restart" "$changes_before -> $(metric fjord_changes_applied_total)"

echo "v5" >"$H/files/etc/two.conf" && commit_all "$R" "v5: two"
timed_sync
applied_commit=$(git -C "$R" rev-parse HEAD)
gen_applied=$(metric fjord_generation)
[ $rc = 0 ] && [ "$gen_applied" = 5 ] && pass "receiver up: generation 5 applied" || fail "apply v5" "$(cat "$T/sync.out")"

rb_before=$(metric fjord_rollbacks_total)
checks "true" "false"
echo "v6" >"$H/files/etc/two.conf" && commit_all "$R" "v6: failing check"
bad_commit=$(git -C "$R" rev-parse HEAD)
timed_sync
if [ $rc = 1 ] && [ "$(metric fjord_rollbacks_total)" = $((rb_before + 1)) ] && [ "$(metric fjord_generation)" = 5 ] &&
  [ "$(cat "$ROOT/etc/two.conf")" = v5 ]; then
  pass "a failed check rolls back: fjord_rollbacks_total $rb_before -> $((rb_before + 1)), generation stays 5"
else
  fail "rollback metric" "rc=$rc rollbacks=$(metric fjord_rollbacks_total) gen=$(metric fjord_generation) $(cat "$T/sync.out")"
fi
grep -q '^fjord_last_sync_result{result="failed"} 1$' "$PROM" && pass "fjord_last_sync_result says failed" || fail "last result metric" ""

dc_before=$(metric fjord_drift_corrections_total)
echo "edited by hand" >"$ROOT/etc/app.conf"
ctl sync >/dev/null 2>&1
if [ "$(cat "$ROOT/etc/app.conf")" = "CONTENT-MUST-NOT-LEAK-1" ] && [ "$(metric fjord_drift_corrections_total)" = $((dc_before + 1)) ]; then
  pass "a live edit is corrected: fjord_drift_corrections_total $dc_before -> $((dc_before + 1))"
else
  fail "drift metric" "$(metric fjord_drift_corrections_total) $(cat "$ROOT/etc/app.conf")"
fi

checks "true"
git -C "$R" rm -q "$H/files/etc/two.conf" "$H/files/etc/three.conf" && commit_all "$R" "drop two files"
timed_sync
grep -q "more than apply.max_deletions = 1" "$T/sync.out" && pass "deleting 2 files with max_deletions = 1 is refused" ||
  fail "refuse" "$(cat "$T/sync.out")"

# The receiver's view: one JSON object a line. Earlier events (retried from the down phase)
# may arrive too; each expected event must be there with the right fields.
for _ in $(seq 100); do
  n=$(grep -c '"event":"refused"' "$T/up.jsonl" 2>/dev/null)
  [ "${n:-0}" -ge 1 ] && break
  sleep 0.1
done
python3 - "$T/up.jsonl" "$(hostname)" "$applied_commit" "$bad_commit" >"$T/check.out" 2>&1 <<'PY'
import json, re, sys
path, host, applied, bad = sys.argv[1:5]
lines = open(path).read().splitlines()
events = [json.loads(l) for l in lines]
ok = True
def need(cond, what):
    global ok
    if not cond: ok = False; print("MISSING:", what)
for e in events:
    need(set(e) == {"host", "event", "commit", "generation", "time", "summary"}, "exact keys in %s" % e)
    need(e["host"] == host, "host %s" % e)
    need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]) is not None, "RFC 3339 time %s" % e)
by = lambda k: [e for e in events if e["event"] == k]
need(any(e["commit"] == applied and e["generation"] == 5 and "generation 5" in e["summary"] for e in by("applied")), "applied gen 5")
need(any(e["commit"] == bad and "apply generation 6: check" in e["summary"] for e in by("rolled_back")), "rolled_back")
need(any("/etc/app.conf" in e["summary"] and "corrected" in e["summary"] for e in by("drift")), "drift naming the path")
need(any("max_deletions" in e["summary"] for e in by("refused")), "refused")
need(all("CONTENT-MUST-NOT-LEAK" not in l and "edited by hand" not in l for l in lines), "no file contents")
print("events:", [e["event"] for e in events])
sys.exit(0 if ok else 1)
PY
if [ $? = 0 ]; then pass "the up receiver gets JSON for applied, rolled_back, drift and refused, without file contents"
else fail "receiver payloads" "$(cat "$T/check.out") $(head -c 2000 "$T/up.jsonl")"; fi

# --- poll errors, suspended, prerequisites ------------------------------------------------------------
pe_before=$(grep '^fjord_poll_errors_total{reason="network"}' "$PROM" | awk '{print $2}')
mv "$R" "$R.away"
ctl sync >/dev/null 2>&1
pe_after=$(grep '^fjord_poll_errors_total{reason="network"}' "$PROM" | awk '{print $2}')
mv "$R.away" "$R"
[ "$pe_after" = $((pe_before + 1)) ] && pass "an unreachable remote counts in fjord_poll_errors_total{reason=\"network\"}" ||
  fail "poll errors" "$pe_before -> $pe_after"
ctl suspend >/dev/null 2>&1
ctl sync >/dev/null 2>&1
[ "$(metric fjord_suspended)" = 1 ] && pass "fjord_suspended is 1 while suspended" || fail "suspended metric" "$(metric fjord_suspended)"
ctl resume >/dev/null 2>&1
ctl sync >/dev/null 2>&1
[ "$(metric fjord_suspended)" = 0 ] && pass "and 0 after resume" || fail "resumed metric" "$(metric fjord_suspended)"
grep -qE '^fjord_prerequisite_status\{check="[a-z_]+",subject="[^"]*"\} [012]$' "$PROM" &&
  pass "prerequisite checks appear as fjord_prerequisite_status{check,subject}" || fail "prereq metric" "$(grep prereq "$PROM")"
promtool check metrics <"$PROM" >"$T/promtool.out" 2>&1 && pass "promtool check metrics still passes" ||
  fail "promtool at the end" "$(cat "$T/promtool.out")"

# --- status, history, sync progress -----------------------------------------------------------------
ctl status >"$T/status.txt" 2>&1
lines=$(wc -l <"$T/status.txt")
if [ "$lines" -le 15 ] && grep -qF "source:      $R (branch main, path hosts/web1)" "$T/status.txt" &&
  grep -qE '^commit:      [0-9a-f]{12} ".*" \((just now|[0-9]+[smh] ago)\)$' "$T/status.txt" &&
  grep -qE '^generation:  5 ' "$T/status.txt" && grep -qE '^next poll:   in [0-9]+[mh]$' "$T/status.txt" &&
  grep -qE '^applying:    active$' "$T/status.txt" && grep -qE '^drift:       0 drifted .*, [1-9][0-9]* corrected in all$' "$T/status.txt" &&
  grep -qE '^prereqs:     [0-9]+ pass, [0-9]+ warn, [0-9]+ fail' "$T/status.txt" && grep -qE '^last error:  commit [0-9a-f]{12}: ' "$T/status.txt"; then
  pass "fjordctl status: source, commit with subject and age, generation, next poll, drift, prereqs, last error in $lines lines"
else
  fail "status text" "$(cat "$T/status.txt")"
fi
ctl status --json >"$T/status.json" 2>&1
python3 - "$T/status.json" <<'PY' >"$T/sj.out" 2>&1 && pass "status --json keeps its keys and adds source, commit age/subject, counters" || fail "status json" "$(cat "$T/sj.out")"
import json, sys
j = json.load(open(sys.argv[1]))
old = ["generation", "commit", "synced_commit", "last_sync", "next_poll", "last_drift", "last_result", "last_error",
       "suspended", "drifted", "managed", "note", "running", "prerequisites"]
new = ["source", "commit_time", "commit_subject", "last_success", "apply_seconds", "changes_total", "rollbacks_total",
       "drift_corrections_total", "poll_errors"]
missing = [k for k in old + new if k not in j]
assert not missing, missing
assert j["source"]["branch"] == "main" and j["source"]["path"] == "hosts/web1", j["source"]
assert j["commit_subject"] == "v5: two", j["commit_subject"]
assert j["rollbacks_total"] >= 1 and j["poll_errors"]["network"] >= 1, j
PY

# A generation from before the summary was kept still lists (its info file lacks "changes";
# older versions wrote no seal line and no copy either).
sed -i '/^changes /d; /^sealed /d' "$STATE/generations/1/info" 2>/dev/null
rm -f "$STATE/generations/1/info.copy"
ctl history >"$T/history.txt" 2>&1
if grep -qE '^1 +[0-9a-f]{12} .* - +good ' "$T/history.txt" && grep -qE '^2 +[0-9a-f]{12} .* \+0 ~1 -0, 0 units +good ' "$T/history.txt" &&
  grep -qE "^6 +${bad_commit:0:12} .* \+0 ~1 -0, 0 units +rolled-back +.*check" "$T/history.txt" &&
  grep -qE '^5 .* good +\(current\)' "$T/history.txt"; then
  pass "history shows each generation's changes (+added ~changed -removed, units) and outcome; old ones show -"
else
  fail "history" "$(cat "$T/history.txt"; cat "$STATE/generations/1/info")"
fi

# Progress on a terminal (script gives fjordctl a pty), plain output through a pipe.
ctl sync --allow-deletions 2 >/dev/null 2>&1 # past the refused commit
checks "sleep 0.3" "sleep 0.6"
echo "v7" >"$H/files/etc/app.conf" && commit_all "$R" "v7: slow checks"
script -qec "$FJORDCTL --config $CFG sync" /dev/null >"$T/tty.out" 2>&1
if grep -qE "checking generation [0-9]+: checks 0/2 passing" "$T/tty.out" && grep -q "checks 1/2 passing" "$T/tty.out" &&
  grep -q "checks 2/2 passing" "$T/tty.out" && grep -q $'\r' "$T/tty.out" && grep -qE "applied .* as generation [0-9]+" "$T/tty.out"; then
  pass "sync at a terminal shows progress (checks N/2 passing), then the result"
else
  fail "tty progress" "$(cat -v "$T/tty.out")"
fi
echo "v8" >"$H/files/etc/app.conf" && commit_all "$R" "v8"
ctl sync >"$T/pipe.out" 2>&1
if ! grep -q "passing" "$T/pipe.out" && ! grep -q $'\r' "$T/pipe.out" && grep -qE "applied .* as generation [0-9]+" "$T/pipe.out"; then
  pass "sync through a pipe prints only the result"
else
  fail "pipe output" "$(cat -v "$T/pipe.out")"
fi

# --- fjordd --once with the receiver down: the exit waits at most the 2 s grace ---------------------
stop_daemon
stop_receiver
echo "v9" >"$H/files/etc/app.conf" && commit_all "$R" "v9"
s=$(date +%s%N)
"$FJORDD" --config "$CFG" --once >"$T/once.log" 2>&1
rc=$?
took=$((($(date +%s%N) - s) / 1000000))
[ $rc = 0 ] && [ $took -lt 6000 ] && pass "fjordd --once with the receiver down exits in ${took} ms" || fail "--once" "rc=$rc ${took} ms $(cat "$T/once.log")"


# --- a commit subject with terminal escapes is shown escaped by fjordctl status -------------------
R2=$T/esc-repo
new_repo "$R2"
mkdir -p "$R2/hosts/web1/files/etc" "$T/esc-root"
echo x >"$R2/hosts/web1/files/etc/x.conf"
git -C "$R2" add -A && git -C "$R2" commit -qm $'\e[2J\e[31mowned\e[0m \x07subject'
write_config "$T/esc.toml" "$R2" "$T/esc-root" "$T/esc-state"
"$FJORDD" --config "$T/esc.toml" --once >"$T/esc.log" 2>&1
"$FJORDCTL" --config "$T/esc.toml" status >"$T/esc.out" 2>&1
if ! grep -q $'\e' "$T/esc.out" && ! grep -q $'\a' "$T/esc.out" && grep -qF 'commit:      ' "$T/esc.out" &&
  grep -qF '"\x1b[2J\x1b[31mowned\x1b[0m \x07subject"' "$T/esc.out"; then
  pass "fjordctl status escapes control characters of a commit subject (no ESC reaches the terminal)"
else
  fail "status escapes" "$(cat -v "$T/esc.out") $(cat "$T/esc.log")"
fi

finish
