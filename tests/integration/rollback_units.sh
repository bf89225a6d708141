#!/bin/bash
# Issue 16, defects 8 and 9, against a real systemd booted in a container (TESTENV.md): fjordd
# runs inside as fjord.service from the bind-mounted build tree and pulls over git:// from a git
# daemon on the host's loopback.
#  1. fjordctl rollback GEN (fjordd stopped, and through the running fjordd) converges the
#     target's units (a unit file, a watched file, a unit stopped by hand) and runs the target's
#     health checks; a rollback whose checks fail leaves the host where it was, and pinned.
#  2. A commit that fails for a reason of its own is quarantined, never looped: a [unit] table
#     whose units/ file the commit removes, one for a unit that exists nowhere (both refused
#     before anything changes), a unit that cannot start (rolled back once); then a good commit
#     applies at the next poll.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"

container_suite fjordrbunits

WEB=$(free_port)
S=/var/lib/fjord

R=$T/repo
H=$R/hosts/c1
new_repo "$R"
mkdir -p "$H/units" "$H/files/srv/www"

# web_unit DESCRIPTION [EXECSTART]: units/web.service. Generation 1's reads its document root
# from /etc/default/web, a file of the host's own (not in Git); later ones name it.
web_unit() {
  {
    printf '[Unit]\nDescription=%s\n[Service]\n' "$1"
    if [ -n "${2:-}" ]; then printf 'ExecStart=%s\n' "$2"
    else printf 'EnvironmentFile=/etc/default/web\nExecStart=/bin/busybox httpd -f -p 127.0.0.1:%s -h ${WEB_ROOT}\n' "$WEB"; fi
    printf '[Install]\nWantedBy=multi-user.target\n'
  } >"$H/units/web.service"
}
# manifest EXPECT_BODY [MORE TOML]: the host's fjord.toml, one http check on web.service.
manifest() {
  cat >"$H/fjord.toml" <<TOML
[unit."web.service"]
watch = ["/srv/www/**"]
on_change = "restart"

[[check]]
name = "web"
http = "http://127.0.0.1:$WEB/"
expect_status = 200
expect_body = "$1"
initial_delay = "200ms"
period = "300ms"
timeout = "1s"
failure_threshold = 3
${2:-}
TOML
}
# side.service: the same in every generation; stopped by hand before the rollback.
printf '[Unit]\nDescription=side\n[Service]\nExecStart=/bin/sh -c "while :; do sleep 1; done"\n[Install]\nWantedBy=multi-user.target\n' >"$H/units/side.service"

web_unit "web v1"
echo "<p>web v1</p>" >"$H/files/srv/www/index.html"
manifest "web v1"
commit_all "$R" "1: web v1"
c1=$(git -C "$R" rev-parse HEAD)

start_git_daemon "$T"
boot_fjord_container "$MACHINE"
in_c sh -c 'echo WEB_ROOT=/srv/www >/etc/default/web'
# conf POLL: the agent config; checks fail fast, the Git remote is not a check (exact counts).
conf() {
  cat <<TOML | in_c sh -c 'cat >/etc/fjord/fjord.toml'
[source]
url = "git://127.0.0.1:$GITD_PORT/repo"
path = "hosts/c1"
poll_interval = "$1"
[apply]
drift_interval = "1h"
[health]
timeout = "15s"
require_source_reachable = false
[prerequisites]
mode = "off"
[metrics]
textfile = ""
TOML
}
conf 1h
in_c systemctl daemon-reload
in_c systemctl enable --now fjord.service >/dev/null 2>&1

ctl() { in_c /opt/fjord/fjordctl "$@"; }
sync_c() { ctl sync >"$T/sync.out" 2>&1; }
page() { curl -s -m 1 "http://127.0.0.1:$WEB/"; }
show() { in_c systemctl show "$1" -p "$2" --value; }
active() { [ "$(in_c systemctl is-active "$1")" = active ]; }
gens() { in_c ls $S/generations | grep -cE '^[0-9]+$'; }
jour() { in_c journalctl -u fjord --no-pager "$@"; }
host_state() {
  echo "current $(in_c cat $S/current); web $(in_c systemctl is-active web.service) '$(show web.service Description)'; side $(in_c systemctl is-active side.service); page '$(page)'; index '$(in_c cat /srv/www/index.html)'"
}
marked_good() { jour -o verbose MESSAGE_ID=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a68 | has "GENERATION=$1"; }
for _ in $(seq 150); do marked_good 1 && break; sleep 0.1; done
if marked_good 1 && page | has "web v1" && active side.service; then
  pass "generation 1 (web v1, side) applied and marked good"
else
  fail "first apply" "$(host_state); $(jour -n 15)"; finish; exit 1
fi

# --- 1. manual rollback ----------------------------------------------------------------------
# 2: a page the commit's own check does not find: rolled back.
echo "<p>web v2</p>" >"$H/files/srv/www/index.html"
manifest "web v2 ready"
commit_all "$R" "2: a page its check rejects"
sync_c
grep -q "check web: .*lacks \"web v2 ready\".*restored generation 1 passed its health checks again" "$T/sync.out" &&
  page | has "web v1" && pass "commit 2 (check fails) is rolled back" ||
  fail "commit 2" "$(cat "$T/sync.out"); $(host_state)"
# 3: good; the unit file changes (its own document root, a new description).
web_unit "web v3" "/bin/busybox httpd -f -p 127.0.0.1:$WEB -h /srv/www"
echo "<p>web v3</p>" >"$H/files/srv/www/index.html"
manifest "web v3"
commit_all "$R" "3: web v3"
sync_c
grep -q "applied" "$T/sync.out" && page | has "web v3" && pass "commit 3 applied as generation 3" ||
  fail "commit 3" "$(cat "$T/sync.out"); $(host_state)"
# 4: the unit cannot start.
web_unit "web v4" "/nonexistent/httpd -f -p 127.0.0.1:$WEB -h /srv/www"
echo "<p>web v4</p>" >"$H/files/srv/www/index.html"
manifest "web v4"
commit_all "$R" "4: web cannot start"
sync_c
if grep -q "apply generation 4: .*restored generation 3 passed its health checks again" "$T/sync.out" && page | has "web v3" && active web.service &&
  [ "$(show web.service Description)" = "web v3" ]; then
  pass "commit 4 (web.service cannot start) is rolled back: web v3 runs"
else
  fail "commit 4" "$(cat "$T/sync.out"); $(host_state)"
fi
ctl history >"$T/history" 2>&1
if grep -qE "^2 .*rolled-back" "$T/history" && grep -qE "^3 .*good" "$T/history" && grep -qE "^4 .*rolled-back" "$T/history"; then
  pass "history: 1 good, 2 rolled back, 3 good, 4 rolled back"
else
  fail "history 1-4" "$(cat "$T/history")"
fi

# fjordd stopped: fjordctl rollback 1 works on the state dir itself. side.service is stopped by
# hand first: generation 1 wants it started.
in_c systemctl stop fjord.service
in_c systemctl stop side.service
inv=$(show web.service InvocationID)
ctl rollback 1 >"$T/rb1.out" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "rolled back to generation 1 (now generation 5)" "$T/rb1.out" &&
  pass "fjordctl rollback 1 (fjordd stopped): rolled back to generation 1, now generation 5" ||
  fail "offline rollback" "exit $rc: $(cat "$T/rb1.out")"
if page | has "web v1" && active web.service && [ "$(show web.service Description)" = "web v1" ] &&
  [ "$(show web.service InvocationID)" != "$inv" ] && [ "$(show web.service NeedDaemonReload)" = no ]; then
  pass "web.service runs generation 1's unit file again (reloaded, restarted) and serves v1"
else
  fail "web converged" "$(host_state); NeedDaemonReload=$(show web.service NeedDaemonReload)"
fi
active side.service && pass "side.service, unchanged but stopped by hand, is started again (units converge to the target)" ||
  fail "side converged" "$(host_state)"
if grep -q "generation 5 marked good (3 health checks passed)" "$T/rb1.out"; then
  pass "generation 5 is marked good after generation 1's http check passed"
else
  fail "rollback ran checks" "$(cat "$T/rb1.out")"
fi
ctl history >"$T/history" 2>&1
ctl status >"$T/status" 2>&1
if grep -qE "^5 +${c1:0:12} .*good" "$T/history" && [ "$(in_c cat $S/current)" = 5 ] &&
  grep -q "paused: pinned to generation 5 by fjordctl rollback" "$T/status"; then
  pass "history: generation 5 is commit 1, good; status: pinned to generation 5"
else
  fail "pinned 5" "$(cat "$T/history"); $(cat "$T/status")"
fi

# fjordd starts again: still pinned, applies nothing.
in_c systemctl start fjord.service
sync_c
if grep -q "pinned to generation 5" "$T/sync.out" && [ "$(in_c cat $S/current)" = 5 ] && page | has "web v1"; then
  pass "fjordd started again keeps the pin: a sync applies nothing"
else
  fail "pin after start" "$(cat "$T/sync.out"); $(host_state)"
fi

# Resume, and a good commit 5 (generation 6).
ctl resume >/dev/null 2>&1
web_unit "web v5" "/bin/busybox httpd -f -p 127.0.0.1:$WEB -h /srv/www"
echo "<p>web v5</p>" >"$H/files/srv/www/index.html"
manifest "web v5"
commit_all "$R" "5: web v5"
sync_c
grep -q "as generation 6" "$T/sync.out" && page | has "web v5" && pass "after resume commit 5 applies as generation 6" ||
  fail "commit 5" "$(cat "$T/sync.out"); $(host_state)"

# Generation 1's check cannot pass now: its unit reads the document root from the host's
# /etc/default/web, which the operator has since pointed elsewhere. The rollback (through the
# running fjordd) fails, the host stays on generation 6, pinned there.
in_c sh -c 'mkdir -p /srv/empty && echo WEB_ROOT=/srv/empty >/etc/default/web'
inv=$(show web.service InvocationID)
ctl rollback 1 >"$T/rb2.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "rollback to generation 1 failed: " "$T/rb2.out" && grep -q "check web" "$T/rb2.out" &&
  grep -q "the host is on generation 6" "$T/rb2.out"; then
  pass "a rollback whose target's check fails reports it (exit 1, check web, host on generation 6)"
else
  fail "failed rollback report" "exit $rc: $(cat "$T/rb2.out")"
fi
if [ "$(in_c cat $S/current)" = 6 ] && page | has "web v5" && active web.service &&
  [ "$(show web.service Description)" = "web v5" ] && [ "$(in_c cat /srv/www/index.html)" = "<p>web v5</p>" ] &&
  active side.service; then
  pass "the host is back where it was: generation 6, web v5's unit and page, both units active"
else
  fail "host after failed rollback" "$(host_state)"
fi
[ "$(show web.service InvocationID)" != "$inv" ] && pass "(the rollback did restart web.service with generation 1's unit, then back)" ||
  fail "rollback tried" "web.service was never restarted: the rollback did not converge units"
ctl history >"$T/history" 2>&1
ctl status >"$T/status" 2>&1
if grep -qE "^7 +${c1:0:12} .*rolled-back" "$T/history" && grep -q "paused: pinned to generation 6" "$T/status"; then
  pass "history: generation 7 (commit 1) rolled back; status: pinned to generation 6"
else
  fail "pinned 6" "$(cat "$T/history"); $(cat "$T/status")"
fi
sync_c
grep -q "pinned to generation 6" "$T/sync.out" && pass "still pinned: a sync applies nothing" || fail "pin kept" "$(cat "$T/sync.out")"

# Pinned, the running fjordd rolls back to generation 3 (its own unit file, check web v3): good.
ctl rollback 3 >"$T/rb3.out" 2>&1
rc=$?
for _ in $(seq 30); do marked_good 8 && break; sleep 0.1; done
if [ $rc = 0 ] && grep -q "rolled back to generation 3 (now generation 8)" "$T/rb3.out" && marked_good 8 &&
  jour | has -E "generation 8 marked good \([0-9]+ health checks passed\)" && page | has "web v3" &&
  [ "$(show web.service Description)" = "web v3" ] && active side.service; then
  pass "through the running fjordd, rollback 3 (while pinned): generation 8 checked and good, web v3 runs"
else
  fail "daemon rollback" "exit $rc: $(cat "$T/rb3.out"); $(host_state); $(jour -n 4)"
fi
{ ctl status 2>&1 || true; } | has "paused: pinned to generation 8" && pass "status: pinned to generation 8" ||
  fail "pinned 8" "$(ctl status 2>&1)"

# --- 2. quarantine, never a loop ---------------------------------------------------------------
ctl resume >/dev/null 2>&1
mkdir -p "$H/files/etc/hello"
printf '[Unit]\nDescription=hello\n[Service]\nExecStart=/bin/sh -c "while :; do sleep 1; done"\n[Install]\nWantedBy=multi-user.target\n' >"$H/units/hello.service"
cp "$H/units/hello.service" "$T/hello.service"
echo "hello v1" >"$H/files/etc/hello/hello.conf"
HELLO='[unit."hello.service"]
limits = { memory = "64Mi" }
watch = ["/etc/hello/**"]'
manifest "web v5" "$HELLO"
commit_all "$R" "6: hello"
sync_c
if grep -q "as generation 9" "$T/sync.out" && active hello.service && [ "$(show hello.service MemoryMax)" = 67108864 ]; then
  pass "hello.service with its [unit] table applied (generation 9, MemoryMax 64Mi)"
else
  fail "hello" "$(cat "$T/sync.out"); hello $(in_c systemctl is-active hello.service)"
fi

# From here fjordd polls by itself every 2 s.
conf 2s
in_c systemctl restart fjord.service
hello_id() { echo "$(show hello.service MainPID) $(show hello.service ExecMainStartTimestampMonotonic)"; }
h0=$(hello_id)
g0=$(gens)
# refused_ok NAME WHAT MESSAGE: nothing of the commit reached the host, hello untouched, at most
# one generation recorded for it, and the refusal is named.
refused_ok() {
  local g
  g=$(gens)
  if in_c test -e "/etc/$1-marker"; then fail "$1: nothing changed" "/etc/$1-marker was written"
  elif [ "$(in_c cat /etc/hello/hello.conf)" != "hello v1" ] || ! in_c test -e /etc/systemd/system/hello.service; then
    fail "$1: nothing changed" "hello.conf '$(in_c cat /etc/hello/hello.conf)', unit file $(in_c ls /etc/systemd/system/hello.service 2>&1)"
  else pass "$1: refused before anything changed (no marker file, hello.conf and hello.service as they were)"; fi
  [ "$(hello_id)" = "$h0" ] && active hello.service && pass "$1: hello.service never restarted (MainPID, start time: $h0)" ||
    fail "$1: hello untouched" "before $h0, now $(hello_id) $(in_c systemctl is-active hello.service)"
  [ "$g" -le $((g0 + 1)) ] && pass "$1: at most one generation recorded ($g0 -> $g)" ||
    fail "$1: no loop" "generations $g0 -> $g: $(ctl history 2>&1 | tail -8)"
  g0=$g
  # The journal keeps the reason; status's last error says "failed before and is not retried"
  # from the next poll on.
  local n
  n=$(jour | grep -cF "$3")
  [ "$n" = 1 ] && pass "$1: the journal names $2, once (not at every poll)" || fail "$1: logged $n times" "$(jour -n 10)"
}

# A commit drops units/hello.service but keeps its table (and changes a watched file).
git -C "$R" rm -q "$H/units/hello.service"
echo "hello v2" >"$H/files/etc/hello/hello.conf"
echo q1 >"$H/files/etc/dropped-marker"
commit_all "$R" "7: units/hello.service removed, its [unit] table kept"
sleep 16
refused_ok dropped '[unit."hello.service"] and the file this commit removes' \
  '[unit."hello.service"]: no units/hello.service in the commit, and systemd knows it only from that file, which this commit removes'

# A [unit] table for a unit that exists nowhere.
cp "$T/hello.service" "$H/units/hello.service"
echo "hello v1" >"$H/files/etc/hello/hello.conf"
rm "$H/files/etc/dropped-marker"
echo q2 >"$H/files/etc/ghost-marker"
manifest "web v5" "$HELLO
[unit.\"ghost.service\"]
on_change = \"restart\""
commit_all "$R" "8: a [unit] table for ghost.service, which exists nowhere"
sleep 8
refused_ok ghost '[unit."ghost.service"], a unit that exists nowhere' \
  '[unit."ghost.service"]: no units/ghost.service in the commit, and systemd has no such unit'

# Not over-eager: a [unit] table for the host's own unit, whose file in /etc/systemd/system
# fjord never wrote (an operator's, not in Git), is applied.
printf '[Unit]\nDescription=local\n[Service]\nExecStart=/bin/sh -c "while :; do sleep 1; done"\n' |
  in_c sh -c 'cat >/etc/systemd/system/local.service'
in_c systemctl daemon-reload
in_c systemctl start local.service
rm "$H/files/etc/ghost-marker"
mkdir -p "$H/files/etc/local"
echo "local v1" >"$H/files/etc/local/local.conf"
manifest "web v5" "$HELLO
[unit.\"local.service\"]
enable = false
watch = [\"/etc/local/**\"]"
commit_all "$R" "9: a [unit] table for the host's own local.service"
c=$(git -C "$R" rev-parse HEAD)
t0=$(date +%s)
for _ in $(seq 50); do ctl history 2>/dev/null | has -E "^[0-9]+ +${c:0:12} .*(good|rolled-back|refused)" && break; sleep 0.2; done
t=$(($(date +%s) - t0))
if ctl history 2>/dev/null | has -E "^[0-9]+ +${c:0:12} .*good" && in_c test -e /etc/local/local.conf &&
  active local.service && in_c test -e /etc/systemd/system/local.service; then
  pass "a [unit] table for the host's own unit (its file not from Git) applies (${t} s), local.service runs"
else
  fail "host's own unit" "after ${t} s: local $(in_c systemctl is-active local.service); $(jour -n 4 | tail -3)"
fi
g0=$(gens)

# hello.service's own file, changed so that it cannot start: rolled back once, then quarantined.
sed -i 's|^ExecStart=.*|ExecStart=/nonexistent/hello|' "$H/units/hello.service"
commit_all "$R" "10: hello.service cannot start"
c9=$(git -C "$R" rev-parse HEAD)
for _ in $(seq 100); do ctl history 2>/dev/null | has -E "^[0-9]+ +${c9:0:12} .*rolled-back" && break; sleep 0.2; done
sleep 1
g1=$(gens)
h1=$(hello_id)
if ctl history 2>/dev/null | has -E "^[0-9]+ +${c9:0:12} .*rolled-back" && active hello.service &&
  [ "$(show hello.service ExecStart | grep -o 'path=[^ ;]*')" = "path=/bin/sh" ]; then
  pass "hello.service that cannot start: the commit is rolled back (hello runs its old file)"
else
  fail "unit cannot start" "$(ctl history 2>&1 | tail -4); hello $(in_c systemctl is-active hello.service) $(show hello.service ExecStart)"
fi
sleep 8
if [ "$(gens)" = "$g1" ] && [ "$g1" -le $((g0 + 1)) ] && [ "$(hello_id)" = "$h1" ]; then
  pass "and quarantined: no new generation ($g0 -> $g1 -> $(gens)), hello not restarted in 8 s of polls"
else
  fail "rolled back once" "generations $g0 -> $g1 -> $(gens); hello $h1 -> $(hello_id); $(ctl history 2>&1 | tail -6)"
fi

# A good commit applies at the next poll.
cp "$T/hello.service" "$H/units/hello.service"
echo "hello v3" >"$H/files/etc/hello/hello.conf"
echo good >"$H/files/etc/good-marker"
commit_all "$R" "11: good again"
t0=$(date +%s)
for _ in $(seq 80); do in_c test -e /etc/good-marker && break; sleep 0.1; done
t=$(($(date +%s) - t0))
for _ in $(seq 30); do [ "$(hello_id)" != "$h1" ] && active hello.service && break; sleep 0.1; done
if in_c test -e /etc/good-marker && [ "$(in_c cat /etc/hello/hello.conf)" = "hello v3" ] && active hello.service &&
  [ "$(hello_id)" != "$h1" ]; then
  pass "a following good commit applies at the next poll (${t} s; hello.service restarted by its watched file)"
else
  fail "good commit" "$(ctl status 2>&1); $(jour -n 10)"
fi

finish
