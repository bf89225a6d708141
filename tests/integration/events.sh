#!/bin/bash
# fjord's log and its journal events, for real (issue 19 items 7, 8): fjordd as fjord.service
# under a real systemd in a container (TESTENV.md) writes structured entries (MESSAGE_ID,
# COMMIT=, GENERATION=, PRIORITY, SYSLOG_IDENTIFIER) through its spdlog journal sink;
# `fjordctl events` and `events --json` read them back from that journal with sd-journal;
# `events --follow` prints a new event within seconds; `--since` picks the start. Outside
# journald, fjordd's stderr lines carry an ISO 8601 time with the zone's offset.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"

container_suite fjordev
APPLIED=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a62

# --- outside journald: plain lines on stderr ------------------------------------------------
R=$T/repo
H=$R/hosts/c1
new_repo "$R"
mkdir -p "$H/files/etc/ev"
echo "one" >"$H/files/etc/ev/a.conf"
commit_all "$R" "first"
c1=$(git -C "$R" rev-parse HEAD)
mkdir -p "$T/root"
write_config "$T/host.toml" "$R" "$T/root" "$T/state" '[prerequisites]' 'mode = "off"'
sed -i 's|hosts/web1|hosts/c1|' "$T/host.toml"
TZ=IST-5:30 JOURNAL_STREAM=1:2 "$FJORDD" --config "$T/host.toml" --once >"$T/once.out" 2>"$T/once.err"
lines=$(wc -l <"$T/once.err")
bad=$(grep -vcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+05:30 (debug|info|warning|error) ' "$T/once.err")
if [ "$lines" -ge 2 ] && [ "$bad" = 0 ] && grep -qE ' info applied .*generation 1' "$T/once.err"; then
  pass "outside journald, fjordd's $lines stderr lines are '<ISO 8601 time>.mmm+05:30 <level> <message>'"
else
  fail "plain format" "$(head -5 "$T/once.err")"
fi

# --- under systemd: the journal ---------------------------------------------------------------
start_git_daemon "$T"
boot_fjord_container "$MACHINE"
pass "a real systemd booted in the container ($(in_c systemctl is-system-running))"
cat >"$T/fjord.toml" <<TOML
[source]
url = "git://127.0.0.1:$GITD_PORT/repo"
path = "hosts/c1"
poll_interval = "1h"
[apply]
drift_interval = "1h"
[prerequisites]
mode = "off"
[metrics]
textfile = ""
TOML
in_c sh -c 'cat >/etc/fjord/fjord.toml' <"$T/fjord.toml"
in_c systemctl daemon-reload
in_c systemctl enable --now fjord.service >/dev/null 2>&1
ctl() { in_c /opt/fjord/fjordctl "$@"; }
for _ in $(seq 100); do in_c test -f /etc/ev/a.conf && break; sleep 0.1; done
# The entry is written right after the apply: wait until the journal has it.
for _ in $(seq 50); do in_c journalctl -u fjord -o verbose --no-pager MESSAGE_ID=$APPLIED | has "GENERATION=1" && break; sleep 0.1; done
in_c journalctl -u fjord -o verbose --no-pager MESSAGE_ID=$APPLIED >"$T/verbose" 2>&1
if has "GENERATION=1" "$T/verbose" && has "COMMIT=$c1" "$T/verbose" && has "SYSLOG_IDENTIFIER=fjordd" "$T/verbose" &&
  has "PRIORITY=6" "$T/verbose" && has -E "MESSAGE=.*generation 1" "$T/verbose"; then
  pass "an apply is a journal entry with MESSAGE_ID, COMMIT=, GENERATION=, PRIORITY=6 and SYSLOG_IDENTIFIER=fjordd"
else
  fail "journal fields" "$(head -40 "$T/verbose")"
fi

ctl events >"$T/events" 2>&1
rc=$?
if [ $rc = 0 ] && grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} applied +1 +${c1:0:12} .*generation 1" "$T/events" &&
  grep -qE "^[^ ]+ marked_good +1 " "$T/events" && ! grep -qvE '^[^ ]+ [a-z_]+ +([0-9]+|-) +([0-9a-f]{12}|-) ' "$T/events"; then
  pass "fjordctl events: one line an event (time with zone, event, generation, commit, message): $(wc -l <"$T/events") lines"
else
  fail "fjordctl events" "rc=$rc: $(cat "$T/events")"
fi
ctl events --json >"$T/events.json" 2>&1
python3 - "$T/events.json" "$c1" "$APPLIED" <<'PY' >"$T/ej.out" 2>&1 && pass "events --json: an object a line, numbers as numbers, the MESSAGE_ID and fields" || fail "events --json" "$(cat "$T/ej.out"; head -3 "$T/events.json")"
import json, sys, time
lines = open(sys.argv[1]).read().splitlines()
evs = [json.loads(l) for l in lines]
ap = [e for e in evs if e["event"] == "applied"]
assert len(ap) == 1, evs
a = ap[0]
assert a["message_id"] == sys.argv[3] and a["generation"] == 1 and a["commit"] == sys.argv[2], a
assert isinstance(a["time"], int) and abs(a["time"] - time.time()) < 600, a
assert isinstance(a["time_us"], int) and a["time_us"] // 1000000 == a["time"], a
assert a["priority"] == 6 and "generation 1" in a["message"], a
assert all(not k.startswith("_") and k not in ("MESSAGE", "COMMIT", "GENERATION") for k in a["fields"]), a
PY

# --follow: a new apply shows up within a few seconds, on its own line.
sleep 1.1 # so that t_before, whole seconds, is after generation 1's entries
t_before=$(date +%s)
in_c timeout 20 /opt/fjord/fjordctl events --follow >"$T/follow" 2>&1 &
FOLLOW=$!
for _ in $(seq 50); do has ' applied ' "$T/follow" && break; sleep 0.1; done
echo "two" >"$H/files/etc/ev/a.conf"
commit_all "$R" "second"
c2=$(git -C "$R" rev-parse HEAD)
ctl sync >"$T/sync.out" 2>&1
got=""
for _ in $(seq 50); do grep -qE " applied +2 +${c2:0:12} " "$T/follow" && got=1 && break; sleep 0.1; done
if [ -n "$got" ] && grep -qE " applied +1 +${c1:0:12} " "$T/follow"; then
  pass "events --follow prints the last events, then a new apply within 5 s"
else
  fail "events --follow" "sync: $(cat "$T/sync.out"); follow: $(cat "$T/follow")"
fi
kill "$FOLLOW" 2>/dev/null
in_c pkill -f 'fjordctl events --follow' 2>/dev/null
wait "$FOLLOW" 2>/dev/null

# A user who writes an entry with fjord's MESSAGE_ID into the journal does not make an event:
# fjordctl events reads only entries written by root (_UID, set by journald).
printf 'MESSAGE_ID=%s\nMESSAGE=forged by nobody\nGENERATION=99\n' "$APPLIED" |
  in_c setpriv --reuid=65534 --regid=65534 --clear-groups logger --journald 2>"$T/forge.err"
for _ in $(seq 30); do in_c journalctl --no-pager MESSAGE_ID=$APPLIED | has "forged by nobody" && break; sleep 0.1; done
if in_c journalctl --no-pager MESSAGE_ID=$APPLIED | has "forged by nobody" && ! ctl events | has "forged by nobody" &&
  ! ctl events --json | has "forged"; then
  pass "an entry with fjord's MESSAGE_ID written by another user is in the journal, not in fjordctl events"
else
  fail "forged event" "$(cat "$T/forge.err"; in_c journalctl --no-pager MESSAGE_ID=$APPLIED | tail -3; ctl events | tail -3)"
fi

# --since: from a time on; every form it documents, and a bad one refused.
ctl events --since "@$t_before" >"$T/since" 2>&1
if grep -qE " applied +2 " "$T/since" && ! grep -qE " applied +1 " "$T/since"; then
  pass "events --since @EPOCH starts there (generation 2's apply, not generation 1's)"
else
  fail "events --since @EPOCH" "$(cat "$T/since")"
fi
ctl events --since "1h ago" | has -E " applied +1 " && ctl events --since -1h | has -E " applied +2 " &&
  ctl events --since "$(date -d @"$t_before" '+%Y-%m-%d %H:%M:%S')" | has -E " applied +2 " &&
  [ -z "$(ctl events --since "$(date -d '+1 day' '+%Y-%m-%d')")" ] &&
  pass "events --since '1h ago', -1h, 'YYYY-MM-DD HH:MM:SS', a day ahead (nothing)" || fail "events --since forms" "$(ctl events --since '1h ago' 2>&1)"
ctl events --since soon >"$T/bad" 2>&1
rc=$?
[ $rc = 2 ] && has 'since "soon"' "$T/bad" && pass "events --since soon: exit 2, naming the value" || fail "bad --since" "rc=$rc $(cat "$T/bad")"

# status and history: times carry their zone; history --json carries numbers.
ctl history >"$T/history" 2>&1
grep -qE "^2 +${c2:0:12} [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} \+0 ~1 -0, 0 units +good" "$T/history" &&
  { ctl status || true; } | has -E '^last sync: .*\([0-9-]{10}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}\)$' &&
  pass "history's TIME and status' last sync carry the zone's offset" || fail "times with zone" "$(cat "$T/history"; ctl status)"
ctl history --json >"$T/history.json" 2>&1
python3 - "$T/history.json" <<'PY' >"$T/hj.out" 2>&1 && pass "history --json: time in epoch seconds, changes as numbers" || fail "history --json" "$(cat "$T/hj.out")"
import json, sys
h = {g["generation"]: g for g in json.load(open(sys.argv[1]))}
assert h[1]["changes"] == {"added": 1, "changed": 0, "removed": 0, "units": 0}, h[1]
assert h[2]["changes"] == {"added": 0, "changed": 1, "removed": 0, "units": 0}, h[2]
assert isinstance(h[2]["time"], int) and h[2]["time"] > 1700000000, h[2]
PY
finish
