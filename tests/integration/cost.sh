#!/bin/bash
# What fjord costs its host, counted rather than timed (times are bench/'s): with 2,000 managed
# files, a poll that finds nothing new makes no fsync at all and writes into the state dir only
# status.json (unsynced, times only); one changed file is rendered alone (a partial render),
# written alone into the root, and costs the state dir a bounded number of fsyncs and bytes,
# not a rewrite of every path; an idle daemon's polls make no fsync and write no status.json.
# strace counts the calls.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT
command -v strace >/dev/null || { fail "strace" "not installed (tests/deps.sh installs it)"; echo "RESULT passed=$PASSED failed=$FAILED"; exit 1; }

N=2000
R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
new_repo "$R"
python3 - "$R/hosts/web1/files" "$N" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(top, "etc", "app%02d" % (i // 100), "conf%02d" % (i // 20 % 5))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.conf" % i), "w") as f:
        f.write("key_%d = %s\n" % (i, "v" * (100 + i % 300)))
PY
mkdir -p "$R/hosts/web1/files/etc/tmpl" "$ROOT"
printf '[vars]\nport = 8080\n' >"$R/hosts/web1/fjord.toml"
echo 'listen {{port}} on {{host.name}}' >"$R/hosts/web1/files/etc/tmpl/site.conf.tmpl"
commit_all "$R" "first"
write_config "$CFG" "$R" "$ROOT" "$STATE"
sed -i 's|^poll_interval = "1s"$|poll_interval = "1h"|' "$CFG"

once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
status_num() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], -1))' "$STATE/status.json" "$1"; }
# traced OUT: fjordd --once under strace -f, the file descriptors' paths shown (-y).
traced() {
  strace -f -y -qq -e trace=fsync,fdatasync,syncfs,openat,rename,renameat,renameat2 -o "$1" "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1
}
syncs() { grep -cE '(fsync|fdatasync|syncfs)\(' "$1"; }

once && [ "$(status_num partial_renders_total)" = 0 ] && pass "first apply of $N files (a whole render)" ||
  fail "first apply" "$(tail -3 "$LOG")"

# 1. Nothing new (the second time: the first says "up to date" after "applied", a real change
# of status): no fsync anywhere, nothing written in the state dir but status.json.
once
traced "$T/nc.strace"
n=$(syncs "$T/nc.strace")
writes=$(grep -E 'openat\(.*O_(WRONLY|RDWR)' "$T/nc.strace" | grep -F "$STATE/" | grep -vE '/(status\.json\.tmp|lock)"' | head -5)
if grep -q "up to date" "$LOG" && [ "$n" = 0 ] && [ -z "$writes" ]; then
  pass "a poll that finds nothing new makes no fsync and writes only status.json"
else
  fail "no-change run" "$n fsync calls; writes: $writes; $(grep -E 'fsync|fdatasync|syncfs' "$T/nc.strace" | head -5); $(tail -2 "$LOG")"
fi

# 2. One file changed: rendered alone, written alone, and the state dir's cost bounded.
f=$(cd "$R" && ls hosts/web1/files/etc/app07/conf03/ | head -1)
echo "changed = 1" >>"$R/hosts/web1/files/etc/app07/conf03/$f"
commit_all "$R" "one file"
before=$(status_num partial_renders_total)
touch "$T/mark"; sleep 0.01
traced "$T/one.strace"
after=$(status_num partial_renders_total)
into_root=$(grep -E 'rename(at2?)?\(' "$T/one.strace" | grep -cF "$ROOT/")
n=$(syncs "$T/one.strace")
# The generation's record (index and chunks), journal, flags and status; not the Git cache, the
# object store (the changed content itself) nor the stat cache (40 bytes a file, never fsynced:
# rewritten whole after an apply, said in INFO).
bytes=$(find "$STATE" -type f -newer "$T/mark" ! -path "$STATE/repo/*" ! -path "$STATE/objects/*" ! -name statcache -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
echo "INFO stat cache after one change: $(stat -c %s "$STATE/statcache") bytes"
grep -q "applied" "$LOG" && [ "$after" = $((before + 1)) ] && pass "one changed file is a partial render" ||
  fail "partial render" "partial_renders_total $before -> $after; $(tail -2 "$LOG")"
[ "$into_root" = 1 ] && pass "one changed file: one rename into the root" || fail "writes into the root" "$into_root renames into $ROOT"
[ "$n" -le 40 ] && pass "one changed file: $n fsync calls (bounded, not per managed path)" || fail "fsyncs for one file" "$n"
# The whole files list of $N paths is ~300 KB; a generation of one change must cost far less.
[ "$bytes" -le 65536 ] && pass "one changed file: $bytes bytes written to the state dir (no rewrite of every path)" ||
  fail "state dir bytes for one file" "$bytes bytes: $(find "$STATE" -type f -newer "$T/mark" ! -path "$STATE/repo/*" ! -path "$STATE/objects/*" ! -name statcache -printf '%s %p\n' | sort -rn | head -5)"
cmp -s "$ROOT/etc/app07/conf03/$f" "$R/hosts/web1/files/etc/app07/conf03/$f" && [ "$(cat "$ROOT/etc/tmpl/site.conf")" = "listen 8080 on $(hostname)" ] &&
  pass "the changed file and the template are right after the partial render" || fail "content after a partial render" "$(cat "$ROOT/etc/tmpl/site.conf")"

# 3. An idle daemon: its polls (one a second) make no fsync in the state dir and write no
# status.json (only times change: fjordctl asks the running fjordd for them, and fjordd writes
# them when it stops); they read no /sys/class/dmi file (host.virtualization is read once).
sed -i 's|^poll_interval = "1h"$|poll_interval = "1s"|' "$CFG"
"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
sleep 3
# A window in which the daemon rendered (host facts changed: an address came or went, as other
# programs' interfaces do) is not idle: up to three windows are watched.
for _ in 1 2 3; do
  r0=$(status_num renders_total)
  strace -f -y -qq -p "$DAEMON_PID" -e trace=fsync,fdatasync,syncfs,openat,rename,renameat,renameat2,clone,clone3 -o "$T/idle.strace" >/dev/null 2>&1 &
  SPID=$!
  sleep 4
  kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
  [ "$(status_num renders_total)" = "$r0" ] && break
done
# The prerequisite monitor's first measurement at start (its fdatasync probe on an unlinked
# temp file, "(deleted)", and prereq.json, saved once) is not a poll.
in_state=$(grep -E '(fsync|fdatasync|syncfs)\(' "$T/idle.strace" | grep -F "$STATE/" | grep -vE '\(deleted\)|prereq\.json' | head -3)
polls=$(grep -cE '^[0-9]+ +clone3?\(' "$T/idle.strace")
status_writes=$(grep -F 'status.json' "$T/idle.strace" | grep -E 'O_WRONLY|O_RDWR|rename' | head -3)
dmi=$(grep -cF '/sys/class/dmi/' "$T/idle.strace")
if kill -0 "$DAEMON_PID" 2>/dev/null && [ -z "$in_state" ]; then
  pass "an idle daemon's polls make no fsync in the state dir"
else
  fail "idle polls" "fsyncs in the state dir: $in_state; $(tail -3 "$T/daemon.log")"
fi
[ "$polls" -ge 2 ] && [ -z "$status_writes" ] && pass "an idle daemon's $polls polls write no status.json" ||
  fail "idle polls write status.json" "$polls polls (sandbox children); $status_writes"
[ "$polls" -ge 2 ] && [ "$dmi" = 0 ] && pass "an idle daemon's polls read no /sys/class/dmi file (the virtualization fact is read once)" ||
  fail "idle polls read the virtualization again" "$dmi opens of /sys/class/dmi/ in $polls polls"
# The last poll's time: fresh from the running fjordd, and in status.json once it stopped.
shown=$("$FJORDCTL" --config "$CFG" status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("last_sync", 0))' 2>/dev/null)
now=$(date +%s)
[ "${shown:-0}" -ge $((now - 3)) ] && pass "fjordctl status shows the idle daemon's last poll ($((now - shown)) s ago)" ||
  fail "last poll time" "fjordctl status says last_sync=${shown:-?}, now $now"
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
saved=$(status_num last_sync)
[ "${saved:-0}" -ge "${shown:-1}" ] && pass "fjordd writes the last poll's time into status.json when it stops" ||
  fail "status.json after stop" "last_sync $saved in status.json, fjordctl status showed ${shown:-?} before the stop"
# Full RELRO: every symbol bound at start, so a child forked per poll binds none again.
readelf -d "$FJORDD" 2>/dev/null | grep -qE 'FLAGS.*BIND_NOW|FLAGS_1.*NOW' && pass "fjordd is linked with -z now (full RELRO)" ||
  fail "BIND_NOW" "$(readelf -d "$FJORDD" 2>&1 | grep -i flags)"
echo "RESULT passed=$PASSED failed=$FAILED"
