#!/bin/bash
# Health checks and whole-generation rollback against a real systemd booted in a container
# (TESTENV.md) and a real busybox httpd: fjordd runs inside as fjord.service from the
# bind-mounted build tree and pulls over git:// from a git daemon on the host's loopback.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"

container_suite fjordhealth

WEB=$(free_port)

# The fleet repo: a busybox httpd whose document root comes from /etc/web/web.env, checked
# over HTTP for a page that says hello.
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
echo "WEB_ROOT=/srv/www" >"$H/files/etc/web/web.env"
echo "<p>hello v1</p>" >"$H/files/srv/www/index.html"
cat >"$H/fjord.toml" <<TOML
[unit."web.service"]
on_change = "restart"
watch = ["/etc/web/**"]

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

# The agent config; health.timeout is long so that a fast failure shows.
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
sync_c() { in_c /opt/fjord/fjordctl sync >"$T/sync.out" 2>&1; }
page() { in_c /bin/busybox wget -qO- "http://127.0.0.1:$WEB/" 2>/dev/null; }
show() { in_c systemctl show "$1" -p "$2" --value; }
marked_good() { in_c journalctl -u fjord --no-pager -o verbose MESSAGE_ID=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a68 | has "GENERATION=$1"; }
for _ in $(seq 100); do marked_good 1 && break; sleep 0.1; done

if page | has "hello v1" && marked_good 1; then
  pass "generation 1 passes its http check and is marked good (journal MESSAGE_ID marked_good)"
else
  fail "first apply" "page: $(page); $(in_c journalctl -u fjord --no-pager -n 15)"
fi

# A commit breaks the config (a document root without the page: 404) and changes the unit.
echo "WEB_ROOT=/etc/web" >"$H/files/etc/web/web.env"
sed -i 's/^Description=.*/Description=web v2 (broken)/' "$H/units/web.service"
commit_all "$R" "break web"
bad=$(git -C "$R" rev-parse HEAD)
t0=$(date +%s%N)
sync_c
took=$(( ($(date +%s%N) - t0) / 1000000 ))
if grep -q "check web: http://127.0.0.1:$WEB/: status 404, want 200 (3 failures)" "$T/sync.out"; then
  pass "the http check fails, naming the check and its last result"
else
  fail "check fails" "$(cat "$T/sync.out")"
fi
if [ "$took" -lt 15000 ]; then
  pass "failure_threshold fails fast: rolled back in ${took} ms with health.timeout 60s"
else
  fail "fail fast" "the sync took ${took} ms"
fi
if [ "$(in_c cat /etc/web/web.env)" = "WEB_ROOT=/srv/www" ] && [ "$(show web.service Description)" = "web v1" ] &&
  page | has "hello v1"; then
  pass "the old config and unit come back and the service answers again"
else
  fail "rollback" "env: $(in_c cat /etc/web/web.env); desc: $(show web.service Description); page: $(page)"
fi
in_c /opt/fjord/fjordctl history >"$T/history" 2>&1
if grep -E "^2 +${bad:0:12} .*rolled-back +check web: http" "$T/history" >/dev/null && grep -E "^1 .*\(current\)" "$T/history" >/dev/null; then
  pass "fjordctl history shows the bad commit rolled back, the check named; generation 1 current"
else
  fail "history" "$(cat "$T/history")"
fi
if in_c journalctl -u fjord --no-pager -o verbose MESSAGE_ID=6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a67 | has "COMMIT=$bad"; then
  pass "the failure is a journal entry with MESSAGE_ID health_failed and COMMIT="
else
  fail "journal" "$(in_c journalctl -u fjord --no-pager -n 10)"
fi
sync_c
if grep -q "failed before and is not retried" "$T/sync.out" && [ "$(in_c cat /etc/web/web.env)" = "WEB_ROOT=/srv/www" ]; then
  pass "the next sync does not retry the bad commit"
else
  fail "no retry" "$(cat "$T/sync.out")"
fi

# A unit that starts and dies a moment later: its start job succeeds, the implicit unit check
# catches it. (The web service is back as generation 1 had it.)
echo "WEB_ROOT=/srv/www" >"$H/files/etc/web/web.env"
sed -i 's/^Description=.*/Description=web v1/' "$H/units/web.service"
printf '[Service]\nExecStart=/bin/sh -c "sleep 0.3; exit 1"\n' >"$H/units/flaky.service"
commit_all "$R" "flaky unit"
sync_c
if grep -q "check flaky.service: unit flaky.service: ActiveState failed" "$T/sync.out" && ! in_c test -e /etc/systemd/system/flaky.service; then
  pass "a unit the generation starts is checked implicitly; one that dies is rolled back"
else
  fail "implicit unit check" "$(cat "$T/sync.out")"
fi
git -C "$R" rm -q "$H/units/flaky.service"

# A container check naming no container of the generation is refused before anything changes.
printf '\n[[check]]\nname = "box"\ncontainer = "web"\n' >>"$H/fjord.toml"
commit_all "$R" "container check"
sync_c
if grep -q "check box: container web: no such container in this generation" "$T/sync.out" && [ "$(show web.service Description)" = "web v1" ]; then
  pass "a check naming a container the generation lacks is refused clearly, nothing changed"
else
  fail "container check" "$(cat "$T/sync.out")"
fi
sed -i '/^\[\[check\]\]$/{N;/box/{N;d}}' "$H/fjord.toml"

# A newer good commit applies.
sed -i 's/^Description=.*/Description=web v3/' "$H/units/web.service"
echo "<p>hello v3</p>" >"$H/files/srv/www/index.html"
commit_all "$R" "web v3"
sync_c
if grep -q "applied" "$T/sync.out" && page | has "hello v3" && [ "$(show web.service Description)" = "web v3" ]; then
  pass "a newer good commit applies"
else
  fail "newer commit" "$(cat "$T/sync.out"); page: $(page)"
fi

# The dead-man's switch: fjord reaches its Git server by a name a managed /etc/hosts provides;
# a commit points the name elsewhere; fjord cannot reach the remote after the apply and rolls
# /etc/hosts back once health.timeout (4 s here) has passed.
in_c sh -c 'echo "127.0.0.1 fjordgit" >>/etc/hosts'
sed -e "s|git://127.0.0.1:|git://fjordgit:|" -e "s/^require_source_reachable = false/require_source_reachable = true/" -e 's|^timeout = "60s"|timeout = "4s"|' "$T/fjord.toml" | in_c sh -c 'cat >/etc/fjord/fjord.toml'
in_c systemctl reload fjord.service
for _ in $(seq 50); do in_c journalctl -u fjord --no-pager | has "configuration reloaded" && break; sleep 0.1; done
printf '127.0.0.1 localhost\n127.0.0.1 fjordgit\n' >"$H/files/etc/hosts"
commit_all "$R" "managed /etc/hosts"
sync_c
grep -q applied "$T/sync.out" || fail "hosts" "$(cat "$T/sync.out")"
printf '127.0.0.1 localhost\n127.0.0.2 fjordgit\n' >"$H/files/etc/hosts"
commit_all "$R" "point fjordgit elsewhere"
sync_c
if grep -q "check source: Git remote git://fjordgit:$port/repo: .*not passed within health.timeout 4s" "$T/sync.out" &&
  in_c grep -q "^127.0.0.1 fjordgit" /etc/hosts; then
  pass "a commit that cuts fjord off from its remote is rolled back (dead-man's switch)"
else
  fail "dead-man's switch" "$(cat "$T/sync.out"); hosts: $(in_c cat /etc/hosts); $(in_c journalctl -u fjord --no-pager -n 12)"
fi

finish
