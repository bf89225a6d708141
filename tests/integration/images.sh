#!/bin/bash
# Image automation end to end (issue 5, item 4) against a real podman service and a real
# docker-registry on loopback, with fjordd running (registry_poll_interval = "2s") and with
# fjordd --once: the registry gains 1.2.1 and the container is updated to it; 1.3.0 is ignored
# under glob:1.2.*; a broken 1.2.2 (its server exits) fails its checks, the host returns to
# 1.2.1 by digest and 1.2.2 is marked bad and not retried; status and history show
# "NAME: 1.2.1 -> 1.2.2 (glob:1.2.*)"; the chosen tag survives other commits and restarts; a
# commit changing the image restarts automation from its tag; the registry down is one clear
# error and changes nothing; podman down during a deploy is retried, the tag not marked bad.
# Everything it creates is removed on exit.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

if ! command -v podman >/dev/null || ! command -v docker-registry >/dev/null || ! [ -x /bin/busybox ]; then
  echo "images: podman, docker-registry and busybox-static are needed (tests/deps.sh --test)"
  fail "setup" "missing packages"
  finish
  exit 1
fi
PFX=fjt5i-$$
source "$here/../podman/services.sh"
DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  services_stop
  cleanup_dirs
}
trap stop_all EXIT
services_start >"$T/setup.err" || { fail "setup" "$(cat "$T/setup.err")"; finish; exit 1; }
REPO=demo/$PFX
IMG=$REG/$REPO
WP=$(free_port)

# Busybox images: /start.sh serves /www with httpd, or (broken) exits at once.
push_image() { # TAG GOOD
  local d=$T/img-$1
  mkdir -p "$d/bin" "$d/www"
  cp /bin/busybox "$d/bin/busybox"
  for a in sh httpd test cat sleep; do ln -sf busybox "$d/bin/$a"; done
  echo "$1" >"$d/www/index.html"
  if [ "$2" = yes ]; then printf '#!/bin/sh\nexec httpd -f -p 80 -h /www\n' >"$d/start.sh"; else printf '#!/bin/sh\necho broken\nexit 1\n' >"$d/start.sh"; fi
  tar -C "$d" -cf "$d.tar" .
  podman import -q --change 'CMD ["/bin/sh"]' "$d.tar" "$IMG:$1" >/dev/null &&
    podman push -q --tls-verify=false "$IMG:$1" >/dev/null 2>&1 && podman rmi "$IMG:$1" >/dev/null
}
push_image 1.2.0 yes || { fail "setup" "push to the registry failed"; finish; exit 1; }

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
WEB=$PFX-web
new_repo "$R"
mkdir -p "$H/containers" "$H/files/etc/app" "$ROOT"
spec() { # IMAGE POLICY
  cat >"$H/containers/$WEB.toml" <<SPEC
image = "$1"
update = "$2"
command = ["/bin/sh", "/start.sh"]
ports = ["127.0.0.1:$WP:80"]
restart = "no"
SPEC
}
spec "$IMG:1.2.0" "glob:1.2.*"
cat >"$H/fjord.toml" <<TOML
[[check]]
name = "web"
container = "$WEB"
period = "500ms"
[[check]]
name = "page"
http = "http://127.0.0.1:$WP/"
period = "500ms"
failure_threshold = 8
TOML
echo "A=1" >"$H/files/etc/app/app.env"
commit_all "$R" "web 1.2.0"
write_config "$CFG" "$R" "$ROOT" "$STATE" '[podman]' "socket = \"$SOCK\"" 'registry_poll_interval = "2s"' '[health]' 'timeout = "20s"'
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
page() { curl -s --max-time 2 "http://127.0.0.1:$WP/"; }
page_is() { [ "$(page)" = "$1" ]; }
gen_is() { [ "$(cat "$STATE/current")" = "$1" ]; }
rolled_back_122() { "$FJORDCTL" --config "$CFG" history | has 'rolled-back.*1\.2\.1 -> 1\.2\.2'; }
env_is() { [ "$(cat "$ROOT/etc/app/app.env" 2>/dev/null)" = "$1" ]; }
cid() { podman inspect -f '{{.Id}}' "$WEB" 2>/dev/null; }
img_digest() { podman inspect -f '{{.ImageDigest}}' "$WEB" 2>/dev/null; }
gen() { cat "$STATE/current"; }
last_gen() { ls "$STATE/generations" | sort -n | tail -1; }
pinned() { gen_files "$STATE" "$1" | sed -n "s/^c $WEB \([^ ]*\) .*/\1/p"; } # GEN
history() { "$FJORDCTL" --config "$CFG" history; }
start_daemon() {
  "$FJORDD" --config "$CFG" >>"$T/daemon.log" 2>&1 &
  DAEMON_PID=$!
}
stop_daemon() { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
  local n=$(($1 * 10)); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# 0. The commit's own tag runs; no newer tag yet, so --once ends good.
if once && [ "$(page)" = 1.2.0 ] && [ "$(gen)" = 1 ]; then
  pass "the committed tag 1.2.0 runs; the registry check finds nothing newer (fjordd --once exits 0)"
else
  fail "first apply" "$(cat "$LOG")"
fi

# 1. The registry gains 1.2.1: the running daemon deploys it by itself, pinned by digest.
push_image 1.2.1 yes
d121=$(registry_digest "$REPO" 1.2.1)
start_daemon
if wait_for 30 page_is 1.2.1; then
  pass "the registry gains 1.2.1: fjordd deploys it within a few registry polls"
else
  fail "auto-update" "$(tail -20 "$T/daemon.log")"
fi
wait_for 10 gen_is 2
g2=$(gen)
if [ -n "$d121" ] && [ "$(pinned "$g2")" = "$IMG@$d121" ] && [ "$(img_digest)" = "$d121" ]; then
  pass "generation $g2 pins 1.2.1 by the registry's digest, and the container runs that digest"
else
  fail "pin 1.2.1" "registry=$d121 generation=$(pinned "$g2") container=$(img_digest)"
fi
history >"$T/h"
grep -E "^$g2 .*good .*$WEB: 1\.2\.0 -> 1\.2\.1 \(glob:1\.2\.\*\)" "$T/h" >/dev/null &&
  pass "history notes the generation as \"$WEB: 1.2.0 -> 1.2.1 (glob:1.2.*)\"" || fail "history 1.2.1" "$(cat "$T/h")"
grep -q "image update $WEB: 1.2.0 -> 1.2.1 (glob:1.2.\*) applied as generation $g2" "$T/daemon.log" &&
  pass "the daemon logs the update" || fail "update log" "$(tail -20 "$T/daemon.log")"

# 2. 1.3.0 is pushed: not allowed by glob:1.2.*, so nothing changes over several checks.
push_image 1.3.0 yes
t0=$(date +%s)
sleep 5
checked=$("$FJORDCTL" --config "$CFG" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_registry_check"])')
if [ "$(gen)" = "$g2" ] && [ "$(last_gen)" = "$g2" ] && [ "$(page)" = 1.2.1 ] && [ "$checked" -gt "$t0" ]; then
  pass "1.3.0 is ignored under glob:1.2.* (registries checked again, no new generation)"
else
  fail "1.3.0 ignored" "gen=$(gen) last=$(last_gen) page=$(page) checked=$checked t0=$t0"
fi

# 3. A broken 1.2.2 (its server exits): deployed, fails its checks, rolled back to 1.2.1 by
#    digest; 1.2.2 is marked bad and not tried again at the next registry polls.
id_before=$(cid)
push_image 1.2.2 no
if wait_for 60 rolled_back_122; then
  pass "the broken 1.2.2 is deployed and its generation rolled back"
else
  fail "1.2.2 deployed" "$(tail -30 "$T/daemon.log")"
fi
wait_for 10 page_is 1.2.1
g3=$(last_gen)
d122=$(registry_digest "$REPO" 1.2.2)
if [ "$(gen)" = "$g2" ] && [ "$(page)" = 1.2.1 ] && [ "$(img_digest)" = "$d121" ] && [ "$(pinned "$g3")" = "$IMG@$d122" ] &&
  [ "$d122" != "$d121" ] && [ "$(cid)" != "$id_before" ]; then
  pass "the host is back on 1.2.1 by digest ($d121), recreated; the failed generation $g3 recorded 1.2.2's digest"
else
  fail "back to 1.2.1" "gen=$(gen) page=$(page) container=$(img_digest) d121=$d121 g3=$(pinned "$g3") d122=$d122"
fi
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["containers"][sys.argv[2]]; sys.exit(0 if "1.2.2" in s["bad_tags"] and s["current_tag"]=="1.2.1" else 1)' \
  "$STATE/images" "$WEB" && pass "1.2.2 is marked bad in STATE_DIR/images; 1.2.1 stays the chosen tag" ||
  fail "marked bad" "$(cat "$STATE/images")"
sleep 6 # three more registry polls
tries=$(grep -c "image update $WEB: 1.2.1 -> 1.2.2" "$T/daemon.log")
if [ "$(last_gen)" = "$g3" ] && [ "$tries" = 1 ] && [ "$(gen)" = "$g2" ]; then
  pass "1.2.2 is not retried at the next registry polls"
else
  fail "not retried" "last=$(last_gen) g3=$g3 tries=$tries"
fi
grep -q "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a6a\|image update $WEB: 1.2.1 -> 1.2.2 (glob:1.2.\*) failed: .*rolled back to generation $g2; tag 1.2.2 marked bad" "$T/daemon.log" &&
  pass "the journal line says it failed, was rolled back and the tag marked bad" || fail "failure log" "$(grep 1.2.2 "$T/daemon.log")"
history >"$T/h"
grep -E "^$g3 .*rolled-back +$WEB: 1\.2\.1 -> 1\.2\.2 \(glob:1\.2\.\*\): .*tag 1\.2\.2 marked bad" "$T/h" >/dev/null &&
  pass "history shows \"$WEB: 1.2.1 -> 1.2.2 (glob:1.2.*)\" on the rolled-back generation" || fail "history 1.2.2" "$(cat "$T/h")"
"$FJORDCTL" --config "$CFG" status >"$T/s" 2>&1
grep -q "^images: *$WEB: 1.2.1 -> 1.2.2 (glob:1.2.\*): failed, rolled back to generation $g2; tag 1.2.2 marked bad" "$T/s" &&
  pass "status shows the update line and its outcome" || fail "status" "$(cat "$T/s")"

# 4. The chosen tag survives a commit that keeps the image, and a restart of fjordd (the fast
#    path stays idle: no re-render, no new generation).
id_now=$(cid)
echo "A=2" >"$H/files/etc/app/app.env"
commit_all "$R" "app env 2"
new_env_applied() { env_is A=2 && ! gen_is "$g2"; } # the file lands before the generation is marked good
wait_for 30 new_env_applied
g4=$(gen)
if [ "$(cat "$ROOT/etc/app/app.env")" = A=2 ] && [ "$(cid)" = "$id_now" ] && [ "$(page)" = 1.2.1 ] && [ "$(pinned "$g4")" = "$IMG@$d121" ]; then
  pass "a commit that keeps the image keeps the chosen 1.2.1 (container untouched)"
else
  fail "survives commit" "env=$(cat "$ROOT/etc/app/app.env") gen=$g4 pinned=$(pinned "$g4") $(tail -20 "$T/daemon.log")"
fi
stop_daemon
if once && grep -q "up to date" "$LOG" && [ "$(gen)" = "$g4" ] && [ "$(last_gen)" = "$g4" ] && [ "$(cid)" = "$id_now" ]; then
  pass "after a restart (fjordd --once) the chosen tag stays; nothing re-rendered or replaced; 1.2.2 still not tried"
else
  fail "restart" "gen=$(gen) last=$(last_gen) $(cat "$LOG")"
fi

# 5. A commit that changes the image itself wins; automation starts again from its tag.
spec "$IMG:1.3.0" "glob:1.3.*"
commit_all "$R" "web 1.3"
if once && [ "$(page)" = 1.3.0 ] &&
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["containers"][sys.argv[2]]; sys.exit(0 if s["current_tag"]=="" and s["image"].endswith(":1.3.0") else 1)' "$STATE/images" "$WEB"; then
  pass "a commit changing image to 1.3.0 runs 1.3.0; automation starts again from the commit's tag"
else
  fail "image changed by Git" "page=$(page) $(cat "$STATE/images") $(cat "$LOG")"
fi

# 6. The registry down: one clear error (logged once, not at every poll), shown by status;
#    nothing changes; fjordd --once exits 1.
stop_registry
g6=$(gen)
id6=$(cid)
: >"$T/daemon.log"
start_daemon
sleep 7 # three registry polls or more
down=$(grep -c "image automation: container $WEB: .*$REG.*; nothing changed" "$T/daemon.log")
"$FJORDCTL" --config "$CFG" status >"$T/s" 2>&1
if [ "$down" = 1 ] && grep -q "^registry: *container $WEB: .*$REG" "$T/s" && [ "$(gen)" = "$g6" ] && [ "$(cid)" = "$id6" ] && [ "$(page)" = 1.3.0 ]; then
  pass "registry down: one error naming container and registry, in status too; nothing changed"
else
  fail "registry down (daemon)" "logged=$down $(cat "$T/s") $(cat "$T/daemon.log")"
fi
stop_daemon
once
rc=$?
if [ $rc = 1 ] && grep -q "container $WEB: .*$REG" "$LOG" && [ "$(gen)" = "$g6" ] && [ "$(cid)" = "$id6" ]; then
  pass "registry down: fjordd --once says why and exits 1, nothing changed"
else
  fail "registry down (once)" "rc=$rc $(cat "$LOG")"
fi
grep "container $WEB" "$LOG" | head -1 | sed 's/^/  error: /'
start_registry || fail "registry back" "$(tail -3 "$T/reg.log")"
once && ! grep -q "^registry:" <("$FJORDCTL" --config "$CFG" status) && pass "registry back: the error clears" ||
  fail "registry back" "$(cat "$LOG")"


# 7. A transient failure during a deploy (podman's service down between the registry check and
#    the pull) is not the tag's fault: the tag is not marked bad, no rollback is counted, the
#    history line of an older failed generation is left alone, and it is deployed once podman
#    is back. First a broken 1.3.1 fails and rolls back, so a failed generation sits above.
rollbacks() { "$FJORDCTL" --config "$CFG" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rollbacks_total"])'; }
bad_tag() { python3 -c 'import json,sys; sys.exit(0 if sys.argv[3] in json.load(open(sys.argv[1]))["containers"][sys.argv[2]]["bad_tags"] else 1)' "$STATE/images" "$WEB" "$1"; }
push_image 1.3.1 no
once
g7=$(gen); g7f=$(last_gen)
if bad_tag 1.3.1 && [ "$g7f" -gt "$g7" ] && [ "$(page)" = 1.3.0 ]; then
  pass "a broken 1.3.1 rolls back (generation $g7f) and is marked bad"
else
  fail "broken 1.3.1" "gen=$g7 last=$g7f $(cat "$STATE/images") $(cat "$LOG")"
fi
rb7=$(rollbacks)
hline=$(history | grep "^$g7f ")
push_image 1.3.2 yes
kill "$PODMAN_PID"; wait "$PODMAN_PID" 2>/dev/null; PODMAN_PID=""
once; once
if ! bad_tag 1.3.2 && [ "$(rollbacks)" = "$rb7" ] && [ "$(gen)" = "$g7" ] && [ "$(last_gen)" = "$g7f" ] &&
  [ "$(history | grep "^$g7f ")" = "$hline" ] && grep -q "1.3.0 -> 1.3.2 .*failed: .*nothing changed; tried again at the next registry check" "$LOG"; then
  pass "podman down during the deploy of 1.3.2: not marked bad, no rollback counted, generation $g7f's history untouched"
else
  fail "transient deploy failure" "rollbacks $rb7 -> $(rollbacks) gen=$(gen) last=$(last_gen) images=$(cat "$STATE/images") history: $hline / $(history | grep "^$g7f ") $(cat "$LOG")"
fi
start_podman || fail "podman back" "$(tail -3 "$T/podman.log")"
if once && [ "$(page)" = 1.3.2 ] && [ "$(rollbacks)" = "$rb7" ]; then
  pass "podman back: 1.3.2 is deployed at the next check"
else
  fail "retry after podman back" "page=$(page) $(cat "$LOG")"
fi

finish
