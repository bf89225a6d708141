#!/bin/bash
# Invariant 8 (DESIGN.md §7.8, issue 16): no commit and no fault wedges the agent. Against a real
# git daemon serving the fleet repo (git://), every case starts from a good applied state (a good
# commit applied by `fjordd --once`), then applies a bad commit or a fault and runs
# `fjordd --once`: it must not exit 0 while the host is not on the newest good state, and the
# root must stay byte-identical to the last good generation (except where the fault itself is on
# the host). Then a good commit is pushed (the good tree again plus a new marker file) and ONE
# `fjordd --once` must exit 0 and leave the root equal to that commit (checked against
# `git archive`, not against fjord's own record). No manual step in between, except the
# documented `fjordctl repair --yes` for damage fjord cannot rebuild (asserted on its own: before
# it, fjordd refuses naming the file and "fjordctl repair") and `fjordctl resume` after an
# operator's own `fjordctl rollback` (which pins the host on purpose).
# Usage: liveness.sh BUILD_DIR   (VERBOSE=1 shows each run's output)
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

BGPID=
cleanup_all() {
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  cleanup_dirs
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

SRV=$T/srv
mkdir -p "$SRV"
start_git_daemon "$SRV"

# EXCL: lines of a fingerprint left out (the self-protection case keeps state.dir and the agent
# config under the root: fjord's own files there change at every run, by design).
EXCL='^$'
# The root's fingerprint (lib.sh's: kinds, modes, link targets, content), less EXCL.
rootfp() { fingerprint "$ROOT" | grep -vE "$EXCL"; }
# The same without folder modes (tar does not give fjord's), fixed sort order.
fp() {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sed -E 's/^d [0-7]+ /d - /' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha1sum) | grep -vE "$EXCL"
}
# What the root must hold at COMMIT: its host folder's files/, as git archive gives them.
want_fp() {
  local d=$C/want.$RANDOM
  mkdir -p "$d"
  git -C "$REPO" archive "$1" hosts/web1/files | (umask 022 && tar -x --no-same-permissions -C "$d" --strip-components=3)
  fp "$d"
  rm -rf "$d"
}

N=0
# new_case NAME [CONFIG LINES...]: ("apply:KEY = V" goes into [apply]) a fresh repo (served over git://), root, state and canary with
# the good commit applied; sets C REPO H ROOT STATE CFG GOOD.
new_case() {
  CASE=$1
  shift
  N=$((N + 1))
  C=$T/case$N
  REPO=$SRV/case$N H=$SRV/case$N/hosts/web1 ROOT=$C/root STATE=${STATE_OVERRIDE:-$C/state} CFG=${CFG_OVERRIDE:-$C/fjord.toml}
  URL=git://127.0.0.1:$GITD_PORT/case$N
  mkdir -p "$ROOT" "$C/canary" "$(dirname "$CFG")"
  echo "next to the root, never fjord's" >"$C/canary/keep"
  new_repo "$REPO"
  mkdir -p "$H/files/etc/app" "$H/files/srv/www"
  echo "good app" >"$H/files/etc/app/app.conf"
  echo "good motd" >"$H/files/etc/motd"
  echo "<h1>hi</h1>" >"$H/files/srv/www/index.html"
  printf '#!/bin/sh\necho tool\n' >"$H/files/srv/www/tool.sh" && chmod 755 "$H/files/srv/www/tool.sh"
  ln -s app/app.conf "$H/files/etc/app.link"
  commit_all "$REPO" good
  GOOD=$(git -C "$REPO" rev-parse HEAD)
  local l extra=()
  for l in "$@"; do [[ $l == apply:* ]] || extra+=("$l"); done
  write_config "$CFG" "$URL" "$ROOT" "$STATE" "${extra[@]}"
  for l in "$@"; do [[ $l == apply:* ]] && sed -i "/^\[apply\]\$/a ${l#apply:}" "$CFG"; done
  MARK=0 BADN=0
  SETUP_FAILED=
  if ! "$FJORDD" --config "$CFG" --once >"$C/good.log" 2>&1; then
    SETUP_FAILED="the good commit did not apply: $(tail -2 "$C/good.log" | tr '\n' ' ')"
    fail "$CASE: setup" "$SETUP_FAILED"
  fi
  CANARY=$(fingerprint "$C/canary")
  snapshot
}
snapshot() {
  FP0=$(rootfp)
  CUR0=$(cat "$STATE/current" 2>/dev/null)
}
gens() { ls "$STATE/generations" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tr '\n' ' '; }
maxgen() { ls "$STATE/generations" 2>/dev/null | grep -oE '^[0-9]+' | sort -n | tail -1; }

# once TAG: fjordd --once; its exit status in $RC, stderr+stdout in $C/TAG.log.
once() {
  "$FJORDD" --config "$CFG" --once >"$C/$1.log" 2>&1
  RC=$?
  [ -n "${VERBOSE:-}" ] && sed "s/^/    [$1 rc=$RC] /" "$C/$1.log"
  return 0
}
logof() { tail -4 "$C/$1.log" | tr '\n' ' '; }

# bad_run NAME [PATTERN...]: the run after a bad commit or fault. Not exit 0, the root unchanged
# (byte for byte: lib.sh fingerprint), current unchanged, the log holds each PATTERN.
bad_run() {
  local name=$1 p problems=()
  shift
  BADN=$((BADN + 1))
  once bad$BADN
  [ "$RC" != 0 ] || problems+=("exit 0")
  for p in "$@"; do grep -qF -- "$p" "$C/bad$BADN.log" || problems+=("log lacks \"$p\""); done
  [ "$(rootfp)" = "$FP0" ] || problems+=("the root changed: $(diff <(echo "$FP0") <(rootfp) | grep '^[<>]' | head -4 | tr '\n' ' ')")
  [ "$(cat "$STATE/current" 2>/dev/null)" = "$CUR0" ] || problems+=("current $CUR0 -> $(cat "$STATE/current" 2>/dev/null)")
  if [ ${#problems[@]} = 0 ]; then pass "$CASE: $name"
  else fail "$CASE: $name" "$(printf '%s; ' "${problems[@]}")$(logof bad$BADN)"; fi
}

# good_commit: the good tree again plus a new marker file.
good_commit() {
  MARK=$((MARK + 1))
  rm -rf "$H"
  git -C "$REPO" checkout -q "$GOOD" -- hosts/web1
  echo "marker $MARK of case $N" >"$H/files/etc/marker"
  commit_all "$REPO" "good again ($MARK)"
}
# recovers [NAME]: one fjordd --once after a good commit: exit 0, the marker on the host, the
# root equal to the commit, generation numbers only grew, nothing outside the root touched.
recovers() { good_commit; applies "$@"; }
# applies [NAME]: the same for the commit already waiting at the head of main.
applies() {
  local name=${1:-the next good commit applies at the next fjordd --once} problems=() before after head
  before=$(maxgen)
  head=$(git -C "$REPO" rev-parse HEAD)
  once good$MARK
  [ "$RC" = 0 ] || problems+=("exit $RC")
  [ "$(cat "$ROOT/etc/marker" 2>/dev/null)" = "marker $MARK of case $N" ] || problems+=("the marker is not on the host")
  [ "$(fp "$ROOT")" = "$(want_fp "$head")" ] || problems+=("the root is not the commit: $(diff <(want_fp "$head") <(fp "$ROOT") | grep '^[<>]' | head -4 | tr '\n' ' ')")
  after=$(cat "$STATE/current" 2>/dev/null)
  [ -n "$after" ] && [ "$after" -gt "${before:-0}" ] 2>/dev/null || problems+=("current is $after, not above the highest generation before ($before)")
  [ "$(fingerprint "$C/canary")" = "$CANARY" ] || problems+=("the canary next to the root changed")
  [ ! -e "$STATE/journal" ] || problems+=("a journal is left")
  if [ ${#problems[@]} = 0 ]; then pass "$CASE: $name"
  else fail "$CASE: $name" "$(printf '%s; ' "${problems[@]}")$(logof good$MARK)"; fi
  snapshot
}
# check NAME COND...: a one-line assertion with the last log as detail.
check() {
  local name=$1
  shift
  if "$@"; then pass "$CASE: $name"; else fail "$CASE: $name" "$(ls -t "$C"/*.log | head -1 | xargs tail -3 | tr '\n' ' ')"; fi
}

# ---- commits that fail for their own reason --------------------------------------------------
new_case "a failing health check" '[health]' 'timeout = "3s"'
printf '[[check]]\nname = "always-fails"\nexec = ["false"]\nperiod = "100ms"\ntimeout = "1s"\nfailure_threshold = 1\n' >"$H/fjord.toml"
echo "motd of a commit whose check fails" >"$H/files/etc/motd"
commit_all "$REPO" "bad: failing check"
g0=$(gens)
bad_run "rolled back, root as before" "always-fails"
g1=$(gens)
[ "$(echo $g1 | wc -w)" = $(($(echo $g0 | wc -w) + 1)) ] && pass "$CASE: one generation recorded for the attempt ($g1)" ||
  fail "$CASE: one generation recorded for the attempt" "before: $g0 after: $g1"
bad_run "a second fjordd --once does not apply it again" "not retried"
[ "$(gens)" = "$g1" ] && pass "$CASE: the second run made no generation (still: $g1)" || fail "$CASE: the second run made no generation" "$g1 -> $(gens)"
recovers

new_case "a failing post-apply hook" '[health]' 'timeout = "3s"'
printf '[[hook]]\nwhen = "post-apply"\nexec = ["sh", "-c", "exit 3"]\ntimeout = "5s"\n' >"$H/fjord.toml"
echo "motd of a commit whose hook fails" >"$H/files/etc/motd"
commit_all "$REPO" "bad: failing hook"
bad_run "rolled back, root as before" "exit status 3"
g1=$(gens)
bad_run "not applied again by the next run" "not retried"
[ "$(gens)" = "$g1" ] && pass "$CASE: the second run made no generation" || fail "$CASE: the second run made no generation" "$g1 -> $(gens)"
recovers

# A managed path that changes between file and folder in one commit. Today it is refused before
# the host is touched (the plan asks the host about a path below a file the commit removes;
# a transaction, its recovery included, would have to order removes before creates across the
# type change); in two commits it applies (tests/integration/incremental.sh). Either way the
# next good commit must apply.
new_case "a file that becomes a folder in one commit"
rm "$H/files/etc/motd" && mkdir "$H/files/etc/motd" && echo "inside" >"$H/files/etc/motd/inner"
commit_all "$REPO" "bad: file to folder"
bad_run "refused, root as before" "/etc/motd"
recovers
new_case "a folder fjord made that becomes a file in one commit"
rm -r "$H/files/srv/www" && echo "now a file" >"$H/files/srv/www"
commit_all "$REPO" "bad: folder to file"
bad_run "refused, root as before" "/srv/www"
recovers

# ---- self-protection: state.dir and the agent config under apply.root ------------------------
EXCL='^d [-0-7]+ \./(var|var/lib|opt) $| \./(var/lib/fjord|opt/fjordcfg)(/| |$)'
STATE_OVERRIDE=$T/case$((N + 1))/root/var/lib/fjord CFG_OVERRIDE=$T/case$((N + 1))/root/opt/fjordcfg/fjord.toml \
  new_case "self-protection (state.dir and the config under apply.root)"
own_state() { (cd "$STATE" && sha1sum current age/identity generations/*/files generations/*/info 2>/dev/null; find objects -type f | sort | xargs -r sha1sum) ; sha1sum "$CFG"; }
OWN0=$(own_state)
OBJ=$(cd "$STATE" && find objects -type f | head -1)
for target in var/lib/fjord/current var/lib/fjord/age/identity var/lib/fjord/generations/1/files "var/lib/fjord/$OBJ" opt/fjordcfg/fjord.toml; do
  rm -rf "$H"; git -C "$REPO" checkout -q "$GOOD" -- hosts/web1
  mkdir -p "$(dirname "$H/files/$target")"
  echo "written by a commit" >"$H/files/$target"
  echo "motd riding along" >"$H/files/etc/motd"
  commit_all "$REPO" "bad: writes /$target"
  bad_run "a commit writing /$target is refused" "/$target" "fjord's own"
  [ "$(own_state)" = "$OWN0" ] && pass "$CASE: /$target: fjord's own files unchanged" || fail "$CASE: /$target: fjord's own files unchanged" "$(diff <(echo "$OWN0") <(own_state) | head -3 | tr '\n' ' ')"
  recovers "after /$target, the next good commit applies"
  OWN0=$(own_state)
done
# A container whose volume mounts the state dir: refused at render (no podman needed to see it).
rm -rf "$H"; git -C "$REPO" checkout -q "$GOOD" -- hosts/web1
mkdir -p "$H/containers"
printf 'image = "localhost/bb:latest"\nvolumes = ["/var/lib/fjord:/data"]\n' >"$H/containers/thief.toml"
commit_all "$REPO" "bad: a container mounting the state dir"
bad_run "a container mounting /var/lib/fjord is refused" "fjord's own"
recovers "after the container, the next good commit applies"
EXCL='^$'

# ---- a render bomb ---------------------------------------------------------------------------
for where in top vars; do
new_case "a render bomb (a 100,000-deep dotted key, $where)"
python3 -c 'import sys; sys.stdout.write(("[vars]\n" if sys.argv[1] == "vars" else "") + ".".join(["a"] * 100000) + " = 1\n")' "$where" >"$H/fjord.toml"
commit_all "$REPO" "bad: 100,000-deep dotted key"
bad_run "the first run fails, root as before"
r1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("renders_total"))' "$STATE/status.json" 2>/dev/null)
bad_run "the second run fails too"
bad_run "the third run fails too"
r3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("renders_total"))' "$STATE/status.json" 2>/dev/null)
echo "INFO render bomb: renders_total $r1 after the first run, $r3 after the third; first run said: $(grep -m1 -E 'fjord.toml|render|killed' "$C/bad1.log" | cut -c1-300)"
# Bounded: two renders at most for a commit that kills the renderer, one for a refused one.
[ -n "$r3" ] && [ $((r3 - ${r1:-0})) -le 1 ] && grep -qE "not retried|marked bad" "$C/bad3.log" &&
  pass "$CASE: the bomb is rendered a bounded number of times, then quarantined (renders_total $r1 -> $r3)" ||
  fail "$CASE: the bomb is rendered a bounded number of times, then quarantined" "renders_total $r1 -> $r3; last: $(logof bad3)"
recovers
done

# The render child killed by a signal (SIGKILL from outside, as the OOM killer would) on the same
# commit twice: the commit is marked bad, a third run renders nothing. fjord names its sandboxed
# children after their work (fjord-poll, fjord-fetch, fjord-history, fjord-render): the
# fjord-render child of fjordd is killed as soon as it is seen. A commit of 10,000 templates
# keeps it alive long enough (~0.5 s) to be seen.
new_case "the render child killed twice on the same commit" 'apply:max_files = 100000'
for d in $(seq 1 40); do mkdir -p "$H/files/srv/t/$d"; for i in $(seq 1 250); do echo "$d/$i {{x}}" >"$H/files/srv/t/$d/$i.tmpl"; done; done
printf '[vars]\nx = "y"\n' >"$H/fjord.toml"
commit_all "$REPO" "10,000 templates"
kill_render() { # TAG: fjordd --once with its render child SIGKILLed; KILLED = what was killed
  local p k
  "$FJORDD" --config "$CFG" --once >"$C/$1.log" 2>&1 &
  p=$!
  BGPID=$p KILLED=
  while kill -0 "$p" 2>/dev/null; do
    for k in $(cat /proc/$p/task/*/children 2>/dev/null); do
      [ "$(cat /proc/$k/comm 2>/dev/null)" = fjord-render ] && kill -9 "$k" 2>/dev/null && KILLED="$KILLED $k"
    done
    sleep 0.01
  done
  wait "$p"
  RC=$?
  BGPID=
}
kill_render kill1
kill_render kill2
rt2=$(sed -nE 's/.*"renders_total": ([0-9]+).*/\1/p' "$STATE/status.json")
once kill3
rt3=$(sed -nE 's/.*"renders_total": ([0-9]+).*/\1/p' "$STATE/status.json")
if grep -q "render sandbox: child killed by SIGKILL" "$C/kill1.log" && grep -q "render sandbox: child killed by SIGKILL" "$C/kill2.log"; then
  pass "$CASE: both runs saw the render child killed (SIGKILL)"
else
  fail "$CASE: both runs saw the render child killed" "killed:$KILLED; $(logof kill1) / $(logof kill2)"
fi
grep -q "marked bad" "$C/kill2.log" && grep -q "not retried" "$C/kill3.log" && [ "$rt2" = "$rt3" ] && [ "$RC" != 0 ] &&
  pass "$CASE: the second death marks the commit bad; the third run renders nothing (renders_total $rt2 -> $rt3)" ||
  fail "$CASE: the second death marks the commit bad" "renders_total $rt2 -> $rt3; $(logof kill2) / $(logof kill3)"
[ "$(rootfp)" = "$FP0" ] && pass "$CASE: the root is unchanged" || fail "$CASE: the root is unchanged" "$(diff <(echo "$FP0") <(rootfp) | head -3)"
recovers

# ---- the Git cache ---------------------------------------------------------------------------
new_case "STATE/repo deleted" 'apply:drift = "correct"'
rm -rf "$STATE/repo"
once idle
[ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] && pass "$CASE: with no new commit: exit 0, root unchanged" ||
  fail "$CASE: with no new commit: exit 0, root unchanged" "exit $RC $(logof idle)"
recovers
# Drift correction with the cache gone: the content comes from fjord's object store.
rm -rf "$STATE/repo"
echo "edited by hand" >"$ROOT/etc/app/app.conf"
once drift
[ "$RC" = 0 ] && [ "$(cat "$ROOT/etc/app/app.conf")" = "good app" ] && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: drift is corrected with the Git cache deleted" || fail "$CASE: drift is corrected with the Git cache deleted" "exit $RC, app.conf: $(cat "$ROOT/etc/app/app.conf") $(logof drift)"
# fjordctl rollback 1 with the cache gone: generation 1's content comes back (restored, not deleted).
echo "changed app" >"$H/files/etc/app/app.conf"; git -C "$REPO" rm -q "$H/files/etc/motd"; commit_all "$REPO" "change app, drop motd"
once change
rm -rf "$STATE/repo"
"$FJORDCTL" --config "$CFG" rollback 1 >"$C/rollback.log" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$ROOT/etc/app/app.conf" 2>/dev/null)" = "good app" ] && [ "$(cat "$ROOT/etc/motd" 2>/dev/null)" = "good motd" ] &&
  [ "$(fp "$ROOT")" = "$(want_fp "$GOOD")" ]; then
  pass "$CASE: fjordctl rollback 1 with the Git cache deleted restores generation 1's files"
else
  fail "$CASE: fjordctl rollback 1 with the Git cache deleted restores generation 1's files" "exit $rc: $(cat "$C/rollback.log") app.conf=$(cat "$ROOT/etc/app/app.conf" 2>&1) motd=$(cat "$ROOT/etc/motd" 2>&1)"
fi
# The rollback pins the host on purpose (the operator's own step): resume, then Git again.
"$FJORDCTL" --config "$CFG" resume >/dev/null 2>&1
recovers "after fjordctl resume, the next good commit applies"

new_case "pack files and objects deleted from STATE/repo"
echo "second motd" >"$H/files/etc/motd"; commit_all "$REPO" "second"; once second; GOOD=$(git -C "$REPO" rev-parse HEAD); snapshot
n=$(find "$STATE/repo/objects" -type f \( -path '*/pack/*' -o -regex '.*/objects/[0-9a-f][0-9a-f]/.*' \) | wc -l)
find "$STATE/repo/objects" -type f \( -path '*/pack/*' -o -regex '.*/objects/[0-9a-f][0-9a-f]/.*' \) -delete
echo "INFO $CASE: deleted $n files from $STATE/repo/objects"
once idle
[ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] && pass "$CASE: with no new commit: exit 0, root unchanged" ||
  fail "$CASE: with no new commit: exit 0, root unchanged" "exit $RC $(logof idle)"
recovers
grep -q "failed an integrity check" "$C"/good*.log && pass "$CASE: the log says the cache failed its check and was cloned again" ||
  fail "$CASE: the log says the cache failed its check and was cloned again" "$(logof good1)"
find "$STATE/repo/objects" -type f \( -path '*/pack/*' -o -regex '.*/objects/[0-9a-f][0-9a-f]/.*' \) -delete
recovers "a second time"
if grep -l "history rewritten" "$C"/*.log >/dev/null 2>&1; then fail "$CASE: no poll says \"history rewritten\"" "$(grep -h "history rewritten" "$C"/*.log | head -2)"
else pass "$CASE: no poll says \"history rewritten\""; fi

new_case "garbage in a pack file"
for p in "$STATE"/repo/objects/pack/*.pack; do
  python3 - "$p" <<'EOF'
import sys, os
p = sys.argv[1]
n = os.path.getsize(p)
with open(p, 'r+b') as f:
    f.seek(12)                      # past the header: every object's bytes
    f.write(os.urandom(max(0, n - 12 - 20)))
EOF
done
ls "$STATE"/repo/objects/pack/*.pack >/dev/null 2>&1 || echo "INFO $CASE: no pack file in the cache (loose objects only): damaging those"
find "$STATE/repo/objects" -type f -regex '.*/objects/[0-9a-f][0-9a-f]/.*' -exec sh -c 'head -c 64 /dev/urandom >"$1"' _ {} \;
recovers
if grep -l "history rewritten" "$C"/*.log >/dev/null 2>&1; then fail "$CASE: no poll says \"history rewritten\"" "$(grep -h "history rewritten" "$C"/*.log | head -2)"
else pass "$CASE: no poll says \"history rewritten\""; fi

# ---- the state dir ---------------------------------------------------------------------------
new_case "STATE/current deleted"
rm "$STATE/current"
once idle
grep -q "rebuilt as generation 1" "$C/idle.log" && [ "$(cat "$STATE/current" 2>/dev/null)" = 1 ] && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: rebuilt as generation 1, said in the log, root unchanged (exit $RC)" || fail "$CASE: rebuilt" "exit $RC $(logof idle)"
recovers

new_case "garbage in STATE/current"
printf 'x\0\377garbage 17\n' >"$STATE/current"
once idle
grep -q "rebuilt as generation 1" "$C/idle.log" && [ "$(cat "$STATE/current" 2>/dev/null)" = 1 ] && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: rebuilt as generation 1, said in the log, root unchanged (exit $RC)" || fail "$CASE: rebuilt" "exit $RC $(logof idle)"
recovers

new_case "generations/N/info of the current generation deleted"
echo "second motd" >"$H/files/etc/motd"; commit_all "$REPO" "second"; once second; GOOD=$(git -C "$REPO" rev-parse HEAD); snapshot
# One copy of the record lost: rewritten from the other, said in the log.
rm "$STATE/generations/$CUR0/info"
once healed
cmp -s "$STATE/generations/$CUR0/info" "$STATE/generations/$CUR0/info.copy" && grep -q "state: .*rewritten from the sound one" "$C/healed.log" &&
  [ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: one copy lost: rewritten from the other, said in the log" || fail "$CASE: one copy lost: rewritten from the other" "exit $RC $(logof healed)"
# Both copies lost: the header is rebuilt from the files list and status.json.
rm "$STATE/generations/$CUR0/info" "$STATE/generations/$CUR0/info.copy"
once idle
[ -f "$STATE/generations/$CUR0/info" ] && grep -q "state: .*rebuilt" "$C/idle.log" && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: the header is rebuilt, said in the log (exit $RC)" || fail "$CASE: the header is rebuilt" "exit $RC $(logof idle)"
"$FJORDCTL" --config "$CFG" history >"$C/history" 2>&1
grep -qE "^$CUR0 +${GOOD:0:12} .*good" "$C/history" && pass "$CASE: history shows generation $CUR0 good with its commit" ||
  fail "$CASE: history shows generation $CUR0 good with its commit" "$(cat "$C/history")"
recovers

new_case "garbage in status.json"
once idle   # a second run: counters to lose
head -c 3000 /dev/urandom >"$STATE/status.json"
once idle2
st=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s=%s" % (k, d.get(k)) for k in ("generation","commit","last_result","renders_total","rollbacks_total","changes_total","managed")))' "$STATE/status.json" 2>&1)
echo "INFO $CASE: after the rebuild status.json says: $st"
[ -f "$STATE/status.json.broken" ] && grep -q "status.json" "$C/idle2.log" && [[ $st == *"generation=1 commit=$GOOD"* ]] && [ "$RC" = 0 ] &&
  pass "$CASE: moved to status.json.broken, rebuilt with generation and commit, exit 0" || fail "$CASE: status.json rebuilt" "exit $RC; $st; $(logof idle2)"
"$FJORDCTL" --config "$CFG" status >"$C/status" 2>&1; src=$? # 3: fjordd is not running (systemctl's code)
[ "$src" = 3 ] && grep -q "generation 1\|generation: *1\|^generation" "$C/status" &&
  pass "$CASE: fjordctl status works (exit 3: fjordd not running)" || fail "$CASE: fjordctl status works" "$(cat "$C/status")"
recovers

# kill_mid_apply: a big commit (1,500 new files) applied by fjordd --once, SIGKILLed while its
# journal is there. Returns 1 when no try (of 4) caught the transaction.
big_commit() {
  local d
  for d in $(seq 1 30); do mkdir -p "$H/files/srv/bulk/$d"; for f in $(seq 1 50); do echo "$d/$f" >"$H/files/srv/bulk/$d/$f"; done; done
  commit_all "$REPO" "big"
  BIG=$(git -C "$REPO" rev-parse HEAD)
}
kill_mid_apply() {
  local try
  rm -rf "$C/snap" && mkdir "$C/snap" && cp -a "$ROOT" "$STATE" "$C/snap/"
  for try in 1 2 3 4; do
    "$FJORDD" --config "$CFG" --once >"$C/killed.log" 2>&1 &
    BGPID=$!
    while [ ! -e "$STATE/journal" ] && kill -0 "$BGPID" 2>/dev/null; do :; done
    sleep 0.0$((RANDOM % 5))
    kill -9 "$BGPID" 2>/dev/null
    wait "$BGPID" 2>/dev/null
    BGPID=
    [ -e "$STATE/journal" ] && return 0
    rm -rf "$ROOT" "$STATE" && cp -a "$C/snap/root" "$C/snap/$(basename "$STATE")" "$C/"
  done
  return 1
}
journal_case() { # NAME DAMAGE-COMMAND
  new_case "$1" 'apply:max_deletions = 5000'
  big_commit
  if ! kill_mid_apply; then fail "$CASE: SIGKILL mid-apply" "no try caught the journal"; return; fi
  cur_k=$(cat "$STATE/current")
  eval "$2"
  "$FJORDD" --config "$CFG" --recover >"$C/recover.log" 2>&1
  rc=$?
  want=$GOOD; [ "$(cat "$STATE/current" 2>/dev/null)" != "$CUR0" ] && want=$BIG
  if [ "$rc" = 0 ] && [ ! -e "$STATE/journal" ] && [ "$(fp "$ROOT")" = "$(want_fp "$want")" ] && grep -q "every path" "$C/recover.log" &&
    [ -z "$(find "$ROOT" -name '*fjord-tmp*' | head -1)" ]; then
    pass "$CASE: fjordd --recover puts back every path: root = generation $(cat "$STATE/current") exactly, no journal, no temp file"
  else
    fail "$CASE: fjordd --recover puts back every path" "exit $rc, current $cur_k -> $(cat "$STATE/current" 2>&1), journal $( [ -e "$STATE/journal" ] && echo left || echo gone): $(diff <(want_fp "$want") <(fp "$ROOT") | grep '^[<>]' | head -3 | tr '\n' ' ') $(tail -3 "$C/recover.log" | tr '\n' ' ')"
  fi
  once big
  [ "$RC" = 0 ] && [ "$(fp "$ROOT")" = "$(want_fp "$BIG")" ] && pass "$CASE: the next fjordd --once applies the big commit" ||
    fail "$CASE: the next fjordd --once applies the big commit" "exit $RC $(logof big)"
  snapshot
  recovers
}
journal_case "garbage journal after a SIGKILL mid-apply" 'head -c 500 /dev/urandom >"$STATE/journal"'
journal_case "truncated journal after a SIGKILL mid-apply" 'truncate -s $(( $(stat -c %s "$STATE/journal") / 2 )) "$STATE/journal"'

new_case "objects of the current generation deleted" 'apply:drift = "correct"'
rm -rf "$STATE"/objects/*
echo "edited by hand" >"$ROOT/etc/app/app.conf"
once drift
[ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] && pass "$CASE: drift is corrected (content from the Git cache)" ||
  fail "$CASE: drift is corrected (content from the Git cache)" "exit $RC, app.conf: $(cat "$ROOT/etc/app/app.conf") $(logof drift)"
recovers

new_case "objects of the current generation full of garbage" 'apply:drift = "correct"'
find "$STATE/objects" -type f -exec sh -c 'head -c 100 /dev/urandom >"$1"' _ {} \;
echo "edited by hand" >"$ROOT/etc/app/app.conf"
once drift
[ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] && ! grep -qa "edited by hand" "$ROOT/etc/app/app.conf" &&
  pass "$CASE: drift is corrected with the right content (garbage objects are not used)" ||
  fail "$CASE: drift is corrected with the right content" "exit $RC, app.conf: $(head -c 60 "$ROOT/etc/app/app.conf" | tr -dc '[:print:]') $(logof drift)"
recovers

new_case "objects and the Git cache both gone" 'apply:drift = "correct"'
rm -rf "$STATE"/objects/* "$STATE/repo"
echo "edited by hand" >"$ROOT/etc/app/app.conf"
once drift
echo "INFO $CASE: the drift run exited $RC: $(grep -m2 -E 'drift|object|cache' "$C/drift.log" | tr '\n' ' ' | cut -c1-300)"
check "the drift run exits 0 only when the file was put right" test "$RC" != 0 -o "$(cat "$ROOT/etc/app/app.conf")" = "good app"
recovers

new_case "the current generation's files list full of garbage"
echo "second motd" >"$H/files/etc/motd"; commit_all "$REPO" "second"; once second; GOOD=$(git -C "$REPO" rev-parse HEAD); snapshot
# One copy damaged: the other tells what fjord applied; the damaged one is rewritten.
head -c 2000 /dev/urandom >"$STATE/generations/$CUR0/files.copy"
once healed
cmp -s "$STATE/generations/$CUR0/files" "$STATE/generations/$CUR0/files.copy" && grep -q "rewritten from the sound one" "$C/healed.log" &&
  [ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ] &&
  pass "$CASE: one copy damaged: rewritten from the other, root unchanged" || fail "$CASE: one copy damaged: rewritten from the other" "exit $RC $(logof healed)"
# Both damaged: what the host holds is not known any more.
head -c 2000 /dev/urandom >"$STATE/generations/$CUR0/files"
head -c 2000 /dev/urandom >"$STATE/generations/$CUR0/files.copy"
bad_run "fjordd --once refuses, naming the file and fjordctl repair" "generations/$CUR0/files" "fjordctl repair"
good_commit   # a good commit waits: it must not apply over damage
bad_run "a waiting good commit is not applied over the damage" "generations/$CUR0/files" "fjordctl repair"
"$FJORDCTL" --config "$CFG" status >"$C/status" 2>&1
grep -q "fjordctl repair" "$C/status" && grep -q "generations/$CUR0/files" "$C/status" &&
  pass "$CASE: fjordctl status shows the damage and the repair command" || fail "$CASE: fjordctl status shows the damage" "$(cat "$C/status")"
state_fp() { (cd "$STATE" && find . -path ./repo -prune -o -path ./lock -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha1sum); }
s0=$(state_fp)
"$FJORDCTL" --config "$CFG" repair >"$C/repair-dry.log" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "generations/$CUR0/files" "$C/repair-dry.log" && grep -q "repair would" "$C/repair-dry.log" && [ "$(state_fp)" = "$s0" ] &&
  [ "$(rootfp)" = "$FP0" ] && pass "$CASE: fjordctl repair (no --yes) says what is damaged and what it would do, exit 1, changes nothing" ||
  fail "$CASE: fjordctl repair (no --yes)" "exit $rc: $(cat "$C/repair-dry.log") $( [ "$(state_fp)" = "$s0" ] || echo '(the state dir changed)')"
"$FJORDCTL" --config "$CFG" repair --yes >"$C/repair.log" 2>&1
rc=$?
[ "$rc" = 0 ] && [ -d "$STATE/generations/$CUR0.broken" ] && pass "$CASE: fjordctl repair --yes sets generation $CUR0 aside ($(head -2 "$C/repair.log" | tr '\n' ' '))" ||
  fail "$CASE: fjordctl repair --yes" "exit $rc: $(cat "$C/repair.log")"
set_aside=$CUR0
applies "after repair --yes, the waiting good commit applies"
g=$(cat "$STATE/current")
[ "$g" -gt "$set_aside" ] 2>/dev/null && pass "$CASE: generation numbers grow past the one set aside ($set_aside -> $g)" || fail "$CASE: generation numbers grow" "set aside $set_aside, current $g"

# The same damage with fjordd running as a daemon: it stays up applying nothing, status says
# why; fjordctl repair goes through it; then a sync applies the waiting good commit.
new_case "the current generation's files list full of garbage, fjordd running"
sed -i 's|^poll_interval = "1s"|poll_interval = "1h"|' "$CFG"
head -c 2000 /dev/urandom >"$STATE/generations/1/files"
head -c 2000 /dev/urandom >"$STATE/generations/1/files.copy"
good_commit
"$FJORDD" --config "$CFG" >"$C/daemon.log" 2>&1 &
BGPID=$!
for _ in $(seq 100); do [ -S "$STATE/control.sock" ] && { "$FJORDCTL" --config "$CFG" status >"$C/status" 2>&1; grep -q "fjordctl repair" "$C/status"; } && break; sleep 0.1; done
sleep 0.5
if kill -0 "$BGPID" 2>/dev/null && grep -q "generations/1/files" "$C/status" && grep -q "fjordctl repair" "$C/status" && [ "$(rootfp)" = "$FP0" ]; then
  pass "$CASE: fjordd stays up, applies nothing, fjordctl status names the file and fjordctl repair"
else
  fail "$CASE: fjordd stays up, applies nothing, status says why" "$(kill -0 "$BGPID" 2>/dev/null && echo running || echo exited): $(tail -3 "$C/status" | tr '\n' ' ') $(tail -2 "$C/daemon.log" | tr '\n' ' ')"
fi
"$FJORDCTL" --config "$CFG" repair >"$C/repair-dry.log" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "repair would" "$C/repair-dry.log" && [ -f "$STATE/generations/1/files" ] &&
  pass "$CASE: fjordctl repair through the daemon says what it would do, exit 1" || fail "$CASE: fjordctl repair through the daemon" "exit $rc: $(cat "$C/repair-dry.log")"
"$FJORDCTL" --config "$CFG" repair --yes >"$C/repair.log" 2>&1
rc=$?
"$FJORDCTL" --config "$CFG" sync >"$C/sync.log" 2>&1
rcs=$?
if [ "$rc" = 0 ] && [ "$rcs" = 0 ] && [ "$(cat "$ROOT/etc/marker" 2>/dev/null)" = "marker $MARK of case $N" ] && [ "$(fp "$ROOT")" = "$(want_fp "$(git -C "$REPO" rev-parse HEAD)")" ]; then
  pass "$CASE: fjordctl repair --yes through the daemon, then fjordctl sync applies the good commit"
else
  fail "$CASE: repair --yes, then sync applies" "repair exit $rc: $(tail -2 "$C/repair.log" | tr '\n' ' '); sync exit $rcs: $(tail -2 "$C/sync.log" | tr '\n' ' ')"
fi
kill -TERM "$BGPID"; wait "$BGPID" 2>/dev/null; BGPID=

# ---- the operator's records (issue 19): attempts, generation reports, a notifier's token ------
new_case "attempts.json and a generation's report.json replaced by garbage"
head -c 4096 /dev/urandom >"$STATE/attempts.json"
printf '{"not": "a report"' >"$STATE/generations/1/report.json"
echo "{{ undefined_here }}" >"$H/files/etc/app/broken.tmpl"
commit_all "$REPO" "bad: an undefined template variable"
bad_run "a render failure over a damaged attempts log: refused, root as before" "undefined"
check "the failure is in the attempts log again, readable" python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a and "undefined" in a[-1]["reason"]' "$STATE/attempts.json"
check "status and history still answer" sh -c '"$1" --config "$2" history >/dev/null 2>&1; [ $? -le 1 ]' sh "$FJORDCTL" "$CFG"
recovers

new_case "a notifier whose token_file is a FIFO"
mkfifo "$C/token"
printf '[[notify]]\nurl = "http://127.0.0.1:9/hook"\ntoken_file = "%s"\nevents = ["applied", "failed"]\n' "$C/token" >>"$CFG"
good_commit
timeout 60 "$FJORDD" --config "$CFG" --once >"$C/fifo.log" 2>&1
RC=$?
check "fjordd --once ends (exit $RC, not the 124 of a hang) and names the token file" sh -c '[ "$1" != 124 ] && grep -q "not a regular file" "$2"' sh "$RC" "$C/fifo.log"
recovers

# ---- small damage that still parses -----------------------------------------------------------
# One character changed in a state file that still reads as valid: fjord must not take the
# damaged value for the truth (a false "history rewritten", a drift "correction" to content
# nobody has, a managed file taken for the host's own).
new_case "one digit of status.json's synced_commit changed"
perl -0pi -e 's/("synced_commit": ")([0-9a-f])/$1 . ($2 eq "0" ? "1" : "0")/e' "$STATE/status.json"
recovers
if grep -l "history rewritten" "$C"/*.log >/dev/null 2>&1; then fail "$CASE: no \"history rewritten\"" "$(grep -h "history rewritten" "$C"/*.log | head -1)"
else pass "$CASE: no \"history rewritten\""; fi

new_case "garbage in the Git cache's HEAD"
echo "garbage" >"$STATE/repo/HEAD"
recovers

new_case "garbage in the Git cache's refs/fjord/remote"
echo "garbage" >"$STATE/repo/refs/fjord/remote"
recovers

new_case "the state/root flag cut short"
truncate -s $(( $(stat -c %s "$STATE/root") / 2 )) "$STATE/root"
good_commit
once cut
if [ "$RC" = 0 ] || { grep -q "$STATE/root" "$C/cut.log" && grep -q "fjordctl repair" "$C/cut.log"; }; then
  pass "$CASE: fjordd applies, or refuses naming $STATE/root and fjordctl repair (exit $RC)"
else
  fail "$CASE: fjordd applies, or refuses naming $STATE/root and fjordctl repair" "exit $RC: $(logof cut)"
fi
if [ "$RC" = 0 ]; then
  # fjordd rebuilt the flag by itself and applied the waiting commit in that same run.
  [ "$(cat "$ROOT/etc/marker" 2>/dev/null)" = "marker $MARK of case $N" ] && pass "$CASE: the good commit applied in that run" ||
    fail "$CASE: the good commit applied in that run" "$(logof cut)"
  recovers
else
  "$FJORDCTL" --config "$CFG" repair --yes >"$C/repair.log" 2>&1
  applies "the good commit applies (after fjordctl repair --yes where fjordd asked for it)"
fi

new_case "one hex digit of an object id in the current generation's files list changed"
# In the chunk holding that path (its first copy), as damage at rest would change it.
perl -pi -e 's{^(f /etc/app/app\.conf )([0-9a-f])}{$1 . ($2 eq "0" ? "1" : "0")}e' "$(gen_chunk "$STATE" 1 '^f /etc/app/app\.conf ')"
once idle
if { [ "$RC" = 0 ] && [ "$(rootfp)" = "$FP0" ]; } || { grep -q "generations/1/files" "$C/idle.log" && grep -q "fjordctl repair" "$C/idle.log"; }; then
  pass "$CASE: with no new commit: exit 0 with the root unchanged, or a refusal naming the file and fjordctl repair (exit $RC)"
else
  fail "$CASE: with no new commit: exit 0 with the root unchanged, or a refusal naming the file" "exit $RC: $(logof idle)"
fi
grep -q "fjordctl repair" "$C/idle.log" && "$FJORDCTL" --config "$CFG" repair --yes >"$C/repair.log" 2>&1
recovers

new_case "a path in the current generation's files list changed (/etc/motd -> /etc/motD)"
sed -i 's|^f /etc/motd |f /etc/motD |' "$(gen_chunk "$STATE" 1 '^f /etc/motd ')"
once idle
grep -q "fjordctl repair" "$C/idle.log" && "$FJORDCTL" --config "$CFG" repair --yes >"$C/repair.log" 2>&1
recovers
g=$(cat "$STATE/current")
adopted=$(gen_files "$STATE" "$g" | awk '$1 == "f" && $8 != "-" { print $2 }')
[ -z "$adopted" ] && pass "$CASE: the good commit's generation adopts none of the files fjord wrote" ||
  fail "$CASE: the good commit's generation adopts none of the files fjord wrote" "adopted as the host's originals: $adopted"

finish
