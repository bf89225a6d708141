#!/bin/bash
# The loop guards of health rollback, against a real systemd booted in a container
# (TESTENV.md) and a real busybox httpd: fjordd runs inside as fjord.service from the
# bind-mounted build tree and pulls over git:// from a git daemon on the host's loopback.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"

container_suite fjordloops

WEB=$(free_port)

# The fleet repo: a busybox httpd checked over HTTP, and slow.service, a oneshot that takes 3 s
# to start: every apply and every rollback that touches it restarts it, which holds the
# transaction (and its intent journal) open long enough to kill fjordd in the middle.
R=$T/repo
H=$R/hosts/c1
new_repo "$R"
mkdir -p "$H/units" "$H/files/etc/web" "$H/files/srv/www"
cat >"$H/units/web.service" <<UNIT
[Unit]
Description=web v1
[Service]
EnvironmentFile=/etc/web/web.env
ExecStart=/bin/busybox httpd -f -p 127.0.0.1:$WEB -h \${WEB_ROOT}
[Install]
WantedBy=multi-user.target
UNIT
cat >"$H/units/slow.service" <<UNIT
[Unit]
Description=slow v1
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sleep 3
[Install]
WantedBy=multi-user.target
UNIT
echo "WEB_ROOT=/srv/www" >"$H/files/etc/web/web.env"
echo "<p>hello v1</p>" >"$H/files/srv/www/index.html"
cat >"$H/fjord.toml" <<TOML
[unit."web.service"]
on_change = "restart"
watch = ["/etc/web/**"]

[unit."slow.service"]
on_change = "restart"

[[check]]
name = "web"
http = "http://127.0.0.1:$WEB/"
expect_status = 200
expect_body = "hello"
initial_delay = "200ms"
period = "500ms"
timeout = "1s"
failure_threshold = 3
TOML
commit_all "$R" "web v1"

start_git_daemon "$T"
port=$GITD_PORT

boot_fjord_container "$MACHINE"

# fjord.service from the build tree, restarted 1 s after a crash (the packaged 5 s, shortened).
in_c mkdir -p /etc/systemd/system/fjord.service.d
printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nRestartSec=1s\n' | in_c sh -c 'cat >/etc/systemd/system/fjord.service.d/test.conf'
cat >"$T/fjord.toml" <<TOML
[source]
url = "git://127.0.0.1:$port/repo"
path = "hosts/c1"
poll_interval = "1h"
[apply]
drift_interval = "1h"
[health]
timeout = "60s"
require_source_reachable = false
[prerequisites]
mode = "off"
[metrics]
textfile = ""
TOML
in_c sh -c 'cat >/etc/fjord/fjord.toml' <"$T/fjord.toml"
in_c systemctl daemon-reload
in_c systemctl enable --now fjord.service >/dev/null 2>&1
S=/var/lib/fjord
page() { in_c /bin/busybox wget -qO- "http://127.0.0.1:$WEB/" 2>/dev/null; }
show() { in_c systemctl show "$1" -p "$2" --value; }
jour() { in_c journalctl -u fjord --no-pager -o verbose "$@"; }
marked_good() { jour MESSAGE_ID=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a68 | has "GENERATION=$1"; }
on_gen1() { # the host is as generation 1 has it
  [ "$(in_c cat $S/current)" = 1 ] && [ "$(in_c cat /etc/web/web.env)" = "WEB_ROOT=/srv/www" ] &&
    [ "$(show web.service Description)" = "web v1" ] && [ "$(show slow.service Description)" = "slow v1" ] && page | has "hello v1"
}
host_state() { echo "current $(in_c cat $S/current); env $(in_c cat /etc/web/web.env); web $(show web.service Description); slow $(show slow.service Description); page $(page); attempts $(in_c cat $S/attempts 2>&1)"; }
kill_fjordd() { in_c systemctl kill -s KILL fjord.service; }
for _ in $(seq 150); do marked_good 1 && break; sleep 0.1; done
if on_gen1 && marked_good 1; then pass "generation 1 (web and slow.service) is applied and marked good"
else fail "first apply" "$(host_state); $(in_c journalctl -u fjord --no-pager -n 15)"; finish; exit 1; fi

# A commit breaks the web root (404) and changes slow.service, so the rollback restarts it (3 s).
# fjordd is killed while that rollback runs: the files are back, the journal is still there.
echo "WEB_ROOT=/etc/web" >"$H/files/etc/web/web.env"
sed -i 's/^Description=.*/Description=slow v2/' "$H/units/slow.service"
commit_all "$R" "break web"
bad=$(git -C "$R" rev-parse HEAD)
in_c /opt/fjord/fjordctl sync >"$T/sync1.out" 2>&1 &
SYNC_PID=$!
killed=""
for _ in $(seq 300); do
  if in_c test -e $S/journal && [ "$(in_c cat /etc/web/web.env)" = "WEB_ROOT=/srv/www" ] &&
    [ "$(show slow.service ActiveState)" = activating ]; then
    kill_fjordd && killed=1
    break
  fi
  sleep 0.05
done
wait "$SYNC_PID" 2>/dev/null
if [ -n "$killed" ] && in_c test -e $S/journal; then pass "fjordd killed with SIGKILL mid-rollback (journal left behind)"
else fail "kill mid-rollback" "killed=$killed; $(host_state); $(cat "$T/sync1.out")"; in_c journalctl -u fjord --no-pager -n 80 -o short-monotonic; in_c coredumpctl list 2>&1 | tail -3; fi

# fjordd comes back: recovers, tries the commit once more (the kill left it unmarked), sees the
# check fail again, rolls back and checks generation 1 again, which passes.
for _ in $(seq 400); do
  in_c /opt/fjord/fjordctl history 2>/dev/null | has "passed its health checks again" && ! in_c test -e $S/journal && break
  sleep 0.1
done
in_c /opt/fjord/fjordctl history >"$T/history" 2>&1
if on_gen1 && ! in_c test -e $S/journal; then pass "after the restart the host ends on the last good generation (1)"
else fail "end state" "$(host_state); $(cat "$T/history")"; fi
if grep -E "${bad:0:12} .*rolled-back .*check web: .*restored generation 1 passed its health checks again" "$T/history" >/dev/null; then
  pass "history records the restored generation's checks passing again"
else fail "history" "$(cat "$T/history")"; fi
if jour MESSAGE_ID=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a68 | has "restored generation 1 passed its health checks again" &&
  ! in_c test -e $S/attempts; then
  pass "the journal says so (marked_good) and the attempt counter is cleared"
else fail "recheck journal" "attempts: $(in_c cat $S/attempts 2>&1); $(in_c journalctl -u fjord --no-pager -n 15)"; fi

# The counter trips: every attempt to apply a commit is killed mid-transaction, three times;
# the fourth start recovers the host and then refuses to try again.
echo "<p>hello v4</p>" >"$H/files/srv/www/index.html"
commit_all "$R" "broken again"
c2=$(git -C "$R" rev-parse HEAD)
in_c /opt/fjord/fjordctl sync >"$T/sync2.out" 2>&1 &
SYNC_PID=$!
kills=0
for i in 1 2 3; do
  for _ in $(seq 600); do
    if [ "$(in_c cat $S/attempts 2>/dev/null)" = "$c2 $i" ] && in_c test -e $S/journal; then
      kill_fjordd && kills=$((kills + 1))
      break
    fi
    sleep 0.05
  done
done
wait "$SYNC_PID" 2>/dev/null
for _ in $(seq 300); do { in_c /opt/fjord/fjordctl status 2>/dev/null || true; } | has halted && break; sleep 0.1; done
in_c /opt/fjord/fjordctl status >"$T/status" 2>&1
if [ "$kills" = 3 ] && grep -q "paused: halted: 3 attempts to apply commit ${c2:0:12} were interrupted" "$T/status"; then
  pass "3 interrupted attempts trip the counter: fjordctl status says why"
else fail "counter trips" "kills=$kills; $(cat "$T/status"); $(host_state)"; fi
if show fjord.service StatusText | has "halted: 3 attempts" &&
  in_c journalctl -u fjord --no-pager | has "applies halted until fjordctl resume"; then
  pass "STATUS= and the journal say why applies stopped"
else fail "status text" "$(show fjord.service StatusText); $(in_c journalctl -u fjord --no-pager -n 10)"; fi
if on_gen1 && ! in_c test -e $S/journal; then pass "the halted host was still recovered to generation 1"
else fail "recovered" "$(host_state)"; fi
in_c /opt/fjord/fjordctl sync >"$T/sync3.out" 2>&1
if grep -q "halted" "$T/sync3.out" && [ "$(in_c cat $S/attempts 2>/dev/null)" = "$c2 3" ]; then
  pass "a sync while halted applies nothing"
else fail "halted sync" "$(cat "$T/sync3.out"); attempts: $(in_c cat $S/attempts 2>&1)"; fi

# The operator resumes: the halt and the counter are gone, and the commit is tried (and, being
# broken, rolled back whole with generation 1 checked again).
in_c /opt/fjord/fjordctl resume >"$T/resume.out" 2>&1
if ! { in_c /opt/fjord/fjordctl status || true; } | has "paused: halted" && ! in_c test -e $S/attempts && ! in_c test -e $S/halted; then
  pass "fjordctl resume clears the halt and the counter"
else fail "resume" "$(cat "$T/resume.out"); $(in_c /opt/fjord/fjordctl status 2>&1)"; fi
in_c /opt/fjord/fjordctl sync >"$T/sync4.out" 2>&1
if grep -q "restored generation 1 passed its health checks again" "$T/sync4.out" && on_gen1; then
  pass "after resume the commit is tried again and rolled back cleanly"
else fail "after resume" "$(cat "$T/sync4.out"); $(host_state)"; fi

finish
