#!/bin/bash
# pre_restart against a real systemd booted in a container (TESTENV.md): a small script daemon
# (echod, busybox httpd serving a greeting from /etc/echod.conf) whose `-t` mode checks that
# config, as `nginx -t` does. A commit with a broken config rolls back before the restart, and
# the service never stops answering: polled all through the sync, same MainPID. With a secret
# file in the generation, pre_restart's output is hidden.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"

POLL_PID=""
MACHINE=fjordprerestart$$
stop_all() {
  [ -n "$POLL_PID" ] && kill "$POLL_PID" 2>/dev/null && wait "$POLL_PID" 2>/dev/null
  stop_container
  cleanup_dirs
}
trap stop_all EXIT

use_rootfs

WEB=$(free_port)

R=$T/repo
H=$R/hosts/c1
new_repo "$R"
mkdir -p "$H/units" "$H/files/etc" "$H/files/usr/local/bin"
cat >"$H/files/usr/local/bin/echod" <<SH
#!/bin/sh
# echod: answers HTTP with the greeting of /etc/echod.conf; "echod -t" checks that config.
conf=/etc/echod.conf
check() { grep -qx 'greeting=[a-z0-9 ]*' "\$conf"; }
if [ "\$1" = -t ]; then
  check && { echo "echod: \$conf: ok"; exit 0; }
  echo "echod: \$conf: want one line greeting=WORDS, got: \$(head -c 60 "\$conf")"
  exit 1
fi
check || exit 1
mkdir -p /run/echod
sed -n 's/^greeting=//p' "\$conf" >/run/echod/index.html
exec /bin/busybox httpd -f -p 127.0.0.1:$WEB -h /run/echod
SH
chmod 0755 "$H/files/usr/local/bin/echod"
echo "greeting=hello v1" >"$H/files/etc/echod.conf"
printf '[Unit]\nDescription=echod\n[Service]\nExecStart=/usr/local/bin/echod\n[Install]\nWantedBy=multi-user.target\n' >"$H/units/echod.service"
cat >"$H/fjord.toml" <<TOML
[unit."echod.service"]
watch = ["/etc/echod.conf"]
pre_restart = ["/usr/local/bin/echod", "-t"]

[[check]]
name = "echod"
http = "http://127.0.0.1:$WEB/"
expect_body = "hello"
period = "200ms"
TOML
commit_all "$R" "echod v1"

start_git_daemon "$T"
port=$GITD_PORT

boot_fjord_container "$MACHINE"
cat >"$T/fjord.toml" <<TOML
[source]
url = "git://127.0.0.1:$port/repo"
path = "hosts/c1"
poll_interval = "1h"
[apply]
drift_interval = "1h"
[health]
timeout = "20s"
require_source_reachable = false
[prerequisites]
mode = "off"
[metrics]
textfile = ""
TOML
in_c sh -c 'cat >/etc/fjord/fjord.toml' <"$T/fjord.toml"
in_c systemctl daemon-reload
in_c systemctl enable --now fjord.service >/dev/null 2>&1
sync_c() { in_c /opt/fjord/fjordctl sync >"$T/sync.out" 2>&1; }
page() { curl -s -m 1 "http://127.0.0.1:$WEB/"; }
mainpid() { in_c systemctl show echod.service -p MainPID --value; }
for _ in $(seq 100); do page | has "hello v1" && break; sleep 0.1; done
page | has "hello v1" && pass "echod runs, started by fjord (generation 1)" ||
  fail "first apply" "$(in_c journalctl -u fjord --no-pager -n 15)"

# A good config change: pre_restart passes, the unit restarts with it.
pid1=$(mainpid)
echo "greeting=hello v2" >"$H/files/etc/echod.conf"
commit_all "$R" "echod v2"
sync_c
pid2=$(mainpid)
if grep -q applied "$T/sync.out" && page | has "hello v2" && [ "$pid1" != "$pid2" ]; then
  pass "a config echod -t accepts: pre_restart passes and the unit restarts (MainPID $pid1 -> $pid2)"
else
  fail "good change" "$(cat "$T/sync.out"); page $(page); pids $pid1 $pid2"
fi

# A broken config: rolled back before the restart. Poll the service all through the sync.
echo "greeting=<oops>" >"$H/files/etc/echod.conf"
echo "unrelated" >"$H/files/etc/motd"
commit_all "$R" "broken echod config"
bad=$(git -C "$R" rev-parse HEAD)
rm -f "$T/stop"
( ok=0; bad=0
  while [ ! -e "$T/stop" ]; do
    if curl -s -m 1 "http://127.0.0.1:$WEB/" | has "hello v2"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    sleep 0.02
  done
  echo "$ok $bad" >"$T/poll" ) &
POLL_PID=$!
sleep 0.3
sync_c
sleep 0.3
touch "$T/stop"
wait "$POLL_PID"
POLL_PID=""
read -r answered missed <"$T/poll"
pid3=$(mainpid)
if grep -q "pre_restart of echod.service failed before its restart: /usr/local/bin/echod -t: exit status 1: echod: /etc/echod.conf: want one line greeting=WORDS, got: greeting=<oops>" "$T/sync.out"; then
  pass "the sync names the unit, the command and its output"
else
  fail "message" "$(cat "$T/sync.out")"
fi
if [ "$pid3" = "$pid2" ] && [ "$missed" = 0 ] && [ "$answered" -gt 5 ]; then
  pass "the service never stopped answering: same MainPID $pid3, $answered answers and $missed misses during the sync"
else
  fail "no gap" "MainPID $pid2 -> $pid3; answered $answered, missed $missed"
fi
if [ "$(in_c cat /etc/echod.conf)" = "greeting=hello v2" ] &&
  [ "$(in_c cat /etc/motd 2>/dev/null)" != unrelated ]; then
  pass "the whole generation rolled back (config and the unrelated file)"
else
  fail "rollback" "conf: $(in_c cat /etc/echod.conf); motd: $(in_c cat /etc/motd 2>&1)"
fi
in_c /opt/fjord/fjordctl history >"$T/history" 2>&1
if grep -qE "^3 +${bad:0:12} .*rolled-back +.*pre_restart of echod.service" "$T/history"; then
  pass "history shows the generation rolled back by pre_restart"
else
  fail "history" "$(cat "$T/history")"
fi
sync_c
grep -q "failed before and is not retried" "$T/sync.out" && [ "$(mainpid)" = "$pid2" ] &&
  pass "the commit is marked bad: not retried, echod untouched" || fail "marked bad" "$(cat "$T/sync.out")"

# With a secret file in the generation, pre_restart's output (which may print what it read) is
# hidden everywhere: only the exit status, and how to see it.
RCPT=$(in_c /opt/fjord/fjordctl identity recipient)
printf 'token=s3cr3t\n' | in_c /opt/fjord/fjordctl encrypt -r "$RCPT" >"$H/files/etc/echod.token.age"
echo "greeting=<still oops>" >"$H/files/etc/echod.conf"
commit_all "$R" "broken config, with a secret"
sync_c
if grep -q "pre_restart of echod.service failed before its restart: /usr/local/bin/echod -t: exit status 1 (output hidden: this generation has secret files; run the command by hand to see it)" "$T/sync.out" &&
  ! grep -q "want one line" "$T/sync.out" && ! in_c /opt/fjord/fjordctl history | grep "^4 " | has "want one line" &&
  ! in_c journalctl -u fjord --no-pager | has "still oops"; then
  pass "with a secret file in the generation, pre_restart's output is hidden (exit status only)"
else
  fail "pre_restart output hidden" "$(cat "$T/sync.out")"
fi
finish
