#!/bin/bash
# Containers end to end against a real podman service (libpod REST API on its unix socket) and a
# real docker-registry on loopback: a committed spec runs and answers on its port; a spec change
# replaces it; a container fjord did not make is left alone (same name: refused); a failing
# container check rolls back to the previous container by digest although the tag moved in the
# registry; a crash mid-transaction is recovered; the socket gone is a clear error with nothing
# changed; a removed spec removes its container. Everything it creates is removed on exit.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

if ! command -v podman >/dev/null || ! command -v docker-registry >/dev/null || ! [ -x /bin/busybox ]; then
  echo "containers: podman, docker-registry and busybox-static are needed (tests/deps.sh --test)"
  fail "setup" "missing packages"
  finish
  exit 1
fi
PFX=fjt5-$$
BG_PID=""
source "$here/../podman/services.sh"   # the host fixes, a podman service and a registry
stop_all() {
  [ -n "$BG_PID" ] && kill -9 "$BG_PID" 2>/dev/null
  for i in $V1_ID $V2_ID; do podman rmi -f "$i" >/dev/null 2>&1; done
  services_stop
  cleanup_dirs
}
V1_ID="" V2_ID=""
trap stop_all EXIT
WP=$(free_port)
services_start >"$T/services.log" || { fail "setup" "$(tail -1 "$T/services.log")"; finish; exit 1; }
IMG=$REG/demo/$PFX

# Two images of busybox: v1 serves "v1" and is healthy (/www/healthy), v2 serves "v2" and is not.
build_image() { # NAME TEXT HEALTHY
  local d=$T/img-$1
  mkdir -p "$d/bin" "$d/www"
  cp /bin/busybox "$d/bin/busybox"
  for a in sh httpd test cat sleep env; do ln -sf busybox "$d/bin/$a"; done
  echo "$2" >"$d/www/index.html"
  [ "$3" = yes ] && echo ok >"$d/www/healthy"
  tar -C "$d" -cf "$d.tar" .
  podman import -q --change 'CMD ["/bin/sh"]' "$d.tar" "localhost/$PFX-img:$1"
}
V1_ID=$(build_image v1 v1 yes | sed 's/^sha256://')
V2_ID=$(build_image v2 v2 no | sed 's/^sha256://')
push() { # LOCAL TAG
  podman tag "localhost/$PFX-img:$1" "$IMG:$2" && podman push -q --tls-verify=false "$IMG:$2" >/dev/null 2>&1 && podman rmi "$IMG:$2" >/dev/null
}
push v1 1 || { fail "setup" "push to the registry failed"; finish; exit 1; }

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
WEB=$PFX-web
new_repo "$R"
mkdir -p "$H/containers" "$H/files/etc/app" "$ROOT"
spec() { # MODE
  cat >"$H/containers/$WEB.toml" <<SPEC
image = "$IMG:1"
command = ["httpd", "-f", "-p", "80", "-h", "/www"]
ports = ["127.0.0.1:$WP:80"]
volumes = ["/srv/data:/data:ro"]
env = { MODE = "$1" }
memory = "64Mi"
cpus = "0.5"
labels = { team = "web" }
[healthcheck]
command = ["test", "-f", "/www/healthy"]
timeout = "2s"
SPEC
}
spec a
cat >"$H/fjord.toml" <<TOML
[[check]]
name = "web"
container = "$WEB"
period = "500ms"
[[check]]
name = "page"
http = "http://127.0.0.1:$WP/"
period = "500ms"
failure_threshold = 20
TOML
echo "A=1" >"$H/files/etc/app/app.env"
mkdir -p "$H/files/srv/data"
echo hello >"$H/files/srv/data/hello" # the volume's host side, a file fjord writes below apply.root
commit_all "$R" "web a"
write_config "$CFG" "$R" "$ROOT" "$STATE" '[podman]' "socket = \"$SOCK\"" '[health]' 'timeout = "20s"'
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
label() { podman inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }
envof() { podman inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null | sed -n 's/^MODE=//p'; }
page() { curl -s --max-time 2 "http://127.0.0.1:$WP/"; }

# 1. A committed spec runs and answers on its port, labelled as fjord's, pinned by digest.
if once && [ "$(page)" = v1 ] && [ "$(label $WEB io.fjord.managed-by)" = fjord ] && [ "$(label $WEB team)" = web ] &&
  gen_files "$STATE" 1 | has "^c $WEB $IMG@sha256:" && [ "$(envof $WEB)" = a ]; then
  pass "a container from a committed spec runs, answers on its port, labelled and pinned by digest"
else
  fail "first apply" "$(cat "$LOG"; podman ps -a | grep $PFX)"
fi
"$FJORDCTL" --config "$CFG" history >"$T/h" 2>&1
grep -q "container $WEB: create $IMG@sha256:" "$T/h" && pass "history shows the container created, with its digest" || fail "history" "$(cat "$T/h")"
[ "$(podman inspect -f '{{.HostConfig.Memory}}' $WEB)" = $((64 << 20)) ] && pass "memory limit reaches podman" ||
  fail "memory" "$(podman inspect -f '{{.HostConfig.Memory}}' $WEB)"

# 1b. A volume's host side is below apply.root, as files are (this suite's root is a temp dir:
#     podman mounts $ROOT/srv/data, not /srv/data). A volume with ".." or holding a protected
#     path (the default apply.protect has /etc/passwd) refuses the commit with file:key:reason;
#     nothing changes.
src=$(podman inspect -f '{{range .Mounts}}{{.Source}}{{end}}' $WEB 2>/dev/null)
if [ "$src" = "$ROOT/srv/data" ] && [ "$(podman exec $WEB cat /data/hello 2>/dev/null)" = hello ]; then
  pass "a volume's host path is mounted from below apply.root ($src)"
else
  fail "volume under apply.root" "source=[$src] $(podman exec $WEB cat /data/hello 2>&1)"
fi
good_id=$(podman inspect -f '{{.Id}}' $WEB)
for bad in '/srv/../etc:/x|volumes: \"/srv/../etc:/x\" is not /HOST/PATH:/CONTAINER/PATH\[:ro\] \(absolute, no \"\.\.\"\)' \
  '/etc:/hostetc:ro|container\.'"$WEB"': volumes: \"/etc:/hostetc\": /etc contains the protected /etc/passwd \(apply.protect\)'; do
  vol=${bad%%|*} want=${bad#*|}
  spec a
  sed -i "s|^volumes = .*|volumes = [\"$vol\"]|" "$H/containers/$WEB.toml"
  echo "A=9" >"$H/files/etc/app/app.env"
  commit_all "$R" "bad volume $vol"
  once
  rc=$?
  if [ $rc -ne 0 ] && grep -qE "hosts/web1/containers/$WEB\.toml[:0-9]*: .*$want" "$LOG" &&
    [ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && [ "$(cat "$STATE/current")" = 1 ] &&
    [ "$(podman inspect -f '{{.Id}}' $WEB)" = "$good_id" ]; then
    pass "volume $vol refused with file:key:reason; nothing changed"
  else
    fail "volume $vol refused" "rc=$rc $(cat "$LOG")"
  fi
done
echo "A=1" >"$H/files/etc/app/app.env"

# 2. A spec change replaces it.
old_id=$(podman inspect -f '{{.Id}}' $WEB)
spec b
commit_all "$R" "web b"
"$FJORDD" --config "$CFG" --once --dry-run >"$T/diff" 2>&1
grep -q "container $WEB: replace $IMG:1 (spec changed)" "$T/diff" && [ "$(podman inspect -f '{{.Id}}' $WEB)" = "$old_id" ] &&
  pass "a dry run shows the replacement and changes nothing" || fail "dry run" "$(cat "$T/diff")"
if once && [ "$(envof $WEB)" = b ] && [ "$(podman inspect -f '{{.Id}}' $WEB)" != "$old_id" ] && [ "$(page)" = v1 ] &&
  [ "$(podman ps -a --format '{{.Names}}' | grep -c "^$WEB")" = 1 ]; then
  pass "a spec change replaces the container (one container of that name, answering)"
else
  fail "replace" "$(cat "$LOG")"
fi

# 3. Containers fjord did not make: one of another name is left alone; one holding a name a
#    spec wants refuses the commit, and nothing of that commit is applied.
podman run -d --name "$PFX-other" "localhost/$PFX-img:v1" sleep 600 >/dev/null
podman create --name "$PFX-mine" "localhost/$PFX-img:v1" sleep 600 >/dev/null
sed "s/MODE = \"b\"/MODE = \"m\"/" "$H/containers/$WEB.toml" | sed "s/$WP:80/$(free_port):80/" >"$H/containers/$PFX-mine.toml"
echo "A=2" >"$H/files/etc/app/app.env"
commit_all "$R" "mine"
once
if grep -q "container $PFX-mine: a container of that name exists and was not made by fjord" "$LOG" &&
  [ "$(cat "$ROOT/etc/app/app.env")" = "A=1" ] && [ "$(cat "$STATE/current")" = 2 ] && [ -z "$(label $PFX-mine io.fjord.managed-by)" ] &&
  [ "$(podman inspect -f '{{.State.Status}}' $PFX-mine)" = created ]; then
  pass "a container of the same name not made by fjord refuses the commit; nothing of it applied, the container untouched"
else
  fail "foreign same name" "$(cat "$LOG")"
fi
git -C "$R" rm -q "hosts/web1/containers/$PFX-mine.toml"
commit_all "$R" "no mine"
once && [ "$(cat "$ROOT/etc/app/app.env")" = "A=2" ] && pass "without the clash the commit applies" || fail "after clash" "$(cat "$LOG")"

# 4. The tag moves to other bits; a spec change pulls them, the container check fails (no
#    /www/healthy in v2), and the rollback recreates the previous container by digest.
push v2 1
spec c
commit_all "$R" "web c on moved tag"
once
rc=$?
img_now=$(podman inspect -f '{{.Image}}' $WEB)
if [ $rc -ne 0 ] && grep -q "check web: container $WEB: running, healthcheck unhealthy" "$LOG" && [ "$(envof $WEB)" = b ] &&
  [ "$(page)" = v1 ] && [ "$img_now" = "$V1_ID" ] && [ "$(cat "$STATE/current")" = 3 ] &&
  grep -q "rolled-back" <("$FJORDCTL" --config "$CFG" history); then
  pass "a failing container check rolls back to the previous container by digest although the tag moved"
else
  fail "rollback by digest" "rc=$rc img=$img_now v1=$V1_ID env=$(envof $WEB) page=$(page) $(cat "$LOG")"
fi
gen4=$(ls "$STATE/generations" | sort -n | tail -1)
d3=$(gen_files "$STATE" 3 | sed -n "s/^c $WEB \([^ ]*\) .*/\1/p")
d4=$(gen_files "$STATE" "$gen4" | sed -n "s/^c $WEB \([^ ]*\) .*/\1/p")
[ -n "$d3" ] && [ -n "$d4" ] && [ "$d3" != "$d4" ] && pass "the failed generation recorded the moved tag's other digest" ||
  fail "digests" "$d3 / $d4"
push v1 1 # the tag back to good bits for the rest
spec b     # and the repo back to what runs, so that the crash below starts from it
commit_all "$R" "back to b"
once || fail "back to b" "$(cat "$LOG")"

# 5. Crash: fjordd is killed while the new container runs and its checks wait; the next start
#    recovers the previous generation's container, and converges.
spec d
cat >>"$H/fjord.toml" <<TOML
[[check]]
name = "gate"
exec = ["test", "-e", "$T/release"]
period = "200ms"
failure_threshold = 1000
TOML
commit_all "$R" "web d, gated"
"$FJORDD" --config "$CFG" --once >"$LOG" 2>&1 &
BG_PID=$!
for _ in $(seq 200); do [ "$(envof $WEB)" = d ] && break; sleep 0.1; done
sleep 0.3
kill -9 "$BG_PID"; wait "$BG_PID" 2>/dev/null; BG_PID=""
if [ "$(envof $WEB)" = d ] && [ -f "$STATE/journal" ]; then
  pass "fjordd killed mid-transaction (container replaced, journal present)"
else
  fail "crash setup" "env=$(envof $WEB) $(ls "$STATE")"
fi
git -C "$R" revert --no-edit HEAD >/dev/null
once
if [ "$(envof $WEB)" = b ] && [ ! -f "$STATE/journal" ] && [ "$(page)" = v1 ] && grep -q "unfinished transaction found" "$LOG" &&
  [ "$(label $WEB io.fjord.managed-by)" = fjord ] && [ "$(podman ps -a --format '{{.Names}}' | grep -c "^$WEB")" = 1 ]; then
  pass "recovery after the crash brings back the previous container and converges"
else
  fail "recovery" "env=$(envof $WEB) $(cat "$LOG")"
fi

# 6. The podman socket gone: a clear error, and nothing of the commit changes (files either).
kill "$PODMAN_PID"; wait "$PODMAN_PID" 2>/dev/null; PODMAN_PID=""
rm -f "$SOCK"
spec e
echo "A=3" >"$H/files/etc/app/app.env"
commit_all "$R" "web e while podman is down"
cur=$(cat "$STATE/current")
once
if grep -q "container $WEB.*podman socket $SOCK: cannot connect" "$LOG" && [ "$(cat "$ROOT/etc/app/app.env")" = "A=2" ] &&
  [ "$(cat "$STATE/current")" = "$cur" ] && [ ! -f "$STATE/journal" ] && [ "$(envof $WEB)" = b ]; then
  pass "podman socket gone: a clear error naming the container and socket; nothing changed, files included"
else
  fail "socket gone" "$(cat "$LOG")"
fi
start_podman || fail "restart podman" "$(tail -3 "$T/podman.log")"
once && [ "$(envof $WEB)" = e ] && [ "$(cat "$ROOT/etc/app/app.env")" = "A=3" ] && pass "with podman back the commit applies" ||
  fail "podman back" "$(cat "$LOG")"

# 7. Removing the spec removes its container; the container fjord did not make stays.
git -C "$R" rm -q "hosts/web1/containers/$WEB.toml"
sed -i '/^\[\[check\]\]$/,$d' "$H/fjord.toml"
commit_all "$R" "no web"
if once && ! podman container exists $WEB && [ "$(podman inspect -f '{{.State.Status}}' $PFX-other)" = running ] &&
  podman container exists $PFX-mine; then
  pass "a removed spec stops and removes its container; containers not made by fjord are left alone"
else
  fail "remove" "$(cat "$LOG"; podman ps -a | grep $PFX)"
fi
"$FJORDCTL" --config "$CFG" history >"$T/h" 2>&1
grep -q "container $WEB: remove $IMG@sha256:" "$T/h" && pass "history shows the removal" || fail "history remove" "$(cat "$T/h")"

finish
