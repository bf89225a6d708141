#!/bin/bash
# Fleet reports (issue 20) end to end: the real fjordd pushes its report and marker to a status
# repository served by a real git daemon (receive-pack enabled) and a real sshd on loopback
# (TESTENV.md), with the report key fjordd makes at its start. Checks the refs and report.json,
# the marker ids against ones computed here with git hash-object, a failing commit's marker, a
# status repository that does not answer (the apply goes on, --once waits at most
# report.timeout, the log names it once), its return, a wrong host key, and a second host.
# Usage: fleet_reports.sh BUILD_DIR. Needs root (sshd, the fjordgit account); stops exactly the
# servers it started.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
[ "$(id -u)" = 0 ] || { echo "needs root: sshd and the fjordgit account" >&2; exit 2; }
chmod 755 "$T" # the fjordgit account reads its repo and authorized_keys below it

PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  stop_gitd
  cleanup_dirs
}
trap stop_all EXIT

# --- the config repo: one host folder per host, the same files ---
R=$T/repo
new_repo "$R"
for h in web1 web2; do mkdir -p "$R/hosts/$h/files/etc"; echo "v1" >"$R/hosts/$h/files/etc/motd"; done
commit_all "$R" v1
C1=$(git -C "$R" rev-parse HEAD)

# --- the status repositories: one for git://, one for ssh ---
mkdir -p "$T/gitsrv" "$T/sshsrv"
git init -q --bare "$T/gitsrv/status.git"
git init -q --bare "$T/sshsrv/status.git"
STATUS=$T/gitsrv/status.git
SSH_STATUS=$T/sshsrv/status.git

GITD_PORT2=$(free_port)
GITD2=""
start_gitd() {
  git daemon --reuseaddr --listen=127.0.0.1 --port="$GITD_PORT2" --base-path="$T/gitsrv" --export-all \
    --enable=receive-pack "$T/gitsrv" >"$T/gitd.log" 2>&1 &
  GITD2=$!
  wait_port "$GITD_PORT2" "$GITD2"
}
stop_gitd() { [ -n "$GITD2" ] && kill "$GITD2" 2>/dev/null && wait "$GITD2" 2>/dev/null; GITD2=""; }
start_gitd || { echo "git daemon did not start"; cat "$T/gitd.log"; exit 1; }
GIT_URL="git://127.0.0.1:$GITD_PORT2/status.git"

# --- sshd with its own host key, letting fjordgit in (no key authorized yet) ---
S=$T/ssh
start_sshd "$S" fjordgit || { echo "sshd did not start:"; cat "$S/sshd.log"; exit 1; }
chown -R fjordgit "$T/sshsrv"
SSH_PORT=$SSHD_PORT
ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/other_host"
cp "$S/known_hosts" "$S/kh_good"
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/other_host.pub")" >"$S/kh_wrong"
SSH_URL="ssh://fjordgit@127.0.0.1:$SSH_PORT$SSH_STATUS"

# host_config NAME URL [extra lines]: a config for host NAME, its own root and state dir.
host_config() {
  local h=$1 url=$2
  shift 2
  mkdir -p "$T/$h/root" "$T/$h/prom"
  write_config "$T/$h/fjord.toml" "$R" "$T/$h/root" "$T/$h/state" \
    "[report]" "url = \"$url\"" "host = \"$h\"" "timeout = \"3s\"" "$@"
  sed -i "s|hosts/web1|hosts/$h|; s|^textfile = \"\"|textfile = \"$T/$h/prom/fjord.prom\"|" "$T/$h/fjord.toml"
}
once() { "$FJORDD" --config "$T/$1/fjord.toml" --once >"$T/$1/log" 2>&1; }

# The marker id, computed here as DESIGN says, without fjord.
marker() {
  printf 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor fjord <fjord@invalid> 0 +0000\ncommitter fjord <fjord@invalid> 0 +0000\n\nfjord marker\n\ncommit %s\nstate %s\n' "$1" "$2" |
    git hash-object -t commit --stdin
}
ref_of() { git --git-dir="$1" rev-parse -q --verify "$2" 2>/dev/null; }
# report_field REPO HOST EXPR: a Python expression over the parsed report.json `r`.
report_field() {
  git --git-dir="$1" show "refs/fjord/hosts/$2:report.json" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(eval(sys.argv[1]))' "$3" 2>/dev/null
}

# 1. git daemon: the report and the good marker.
host_config web1 "$GIT_URL"
if once web1 && [ "$(cat "$T/web1/root/etc/motd")" = v1 ] &&
  [ "$(ref_of "$STATUS" refs/fjord/waves/all/web1)" = "$(marker "$C1" good)" ]; then
  pass "git://: after fjordd --once, refs/fjord/waves/all/web1 is marker_id(commit, good)"
else
  fail "git:// marker" "$(git --git-dir="$STATUS" for-each-ref 2>&1; cat "$T/web1/log")"
fi
rep="$(report_field "$STATUS" web1 '(r["schema"], r["host"], r["commit"], r["generation"], r["wave"], r["state"], r["judged"][0]["outcome"])')"
parents=$(git --git-dir="$STATUS" rev-list --parents -n1 refs/fjord/hosts/web1 2>/dev/null | wc -w)
[ "$rep" = "(1, 'web1', '$C1', 1, 'all', 'good', 'good')" ] && [ "$parents" = 1 ] &&
  pass "refs/fjord/hosts/web1: a root commit whose report.json says schema 1, host, commit, generation, wave all, good" ||
  fail "report.json" "$rep parents=$parents"
[ -f "$T/web1/state/ssh/report_ed25519" ] && [ -f "$T/web1/state/ssh/report_ed25519.pub" ] &&
  "$FJORDCTL" --config "$T/web1/fjord.toml" identity 2>&1 | has -x "report key:     $(cat "$T/web1/state/ssh/report_ed25519.pub")" &&
  pass "the report key is made at the first start and fjordctl identity shows it" ||
  fail "report key" "$("$FJORDCTL" --config "$T/web1/fjord.toml" identity 2>&1)"
grep -q '^fjord_report_push_failures_total 0$' "$T/web1/prom/fjord-report.prom" &&
  grep -qE '^fjord_report_last_push_timestamp_seconds [1-9][0-9]+$' "$T/web1/prom/fjord-report.prom" &&
  pass "metrics: push failures 0 and the last push time" || fail "report metrics" "$(cat "$T/web1/prom/fjord-report.prom" 2>&1)"

# 2. A commit whose health check fails: rolled back, and the marker says failed.
printf '[[check]]\nname = "fails"\nexec = ["false"]\nperiod = "100ms"\ntimeout = "1s"\nfailure_threshold = 1\n' >"$R/hosts/web1/fjord.toml"
echo v2 >"$R/hosts/web1/files/etc/motd"
commit_all "$R" "v2 fails"
C2=$(git -C "$R" rev-parse HEAD)
once web1
if [ "$(cat "$T/web1/root/etc/motd")" = v1 ] && [ "$(ref_of "$STATUS" refs/fjord/waves/all/web1)" = "$(marker "$C2" failed)" ] &&
  [ "$(report_field "$STATUS" web1 '(r["state"], r["commit"], [j["outcome"] for j in r["judged"]])')" = "('failed', '$C1', ['failed', 'good'])" ]; then
  pass "a failing commit: rolled back, marker_id(commit, failed), report state failed with both judged commits"
else
  fail "failed marker" "$(report_field "$STATUS" web1 'r'); $(cat "$T/web1/log")"
fi

# 3. The status repository does not answer (a port that accepts and says nothing): the apply
# goes on, fjordd --once waits at most report.timeout (3 s) for it, the log names it once.
rm "$R/hosts/web1/fjord.toml"
echo v3 >"$R/hosts/web1/files/etc/motd"
commit_all "$R" v3
C3=$(git -C "$R" rev-parse HEAD)
stop_gitd
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(600)' "$GITD_PORT2" &
SILENT=$!
PIDS+=($SILENT)
wait_port "$GITD_PORT2" "$SILENT"
start=$(date +%s%N)
once web1
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
n=$(grep -c "report: " "$T/web1/log")
if [ $rc = 0 ] && [ "$(cat "$T/web1/root/etc/motd")" = v3 ] && [ "$took" -lt 8000 ] && [ "$n" = 1 ] &&
  grep -q "report: $GIT_URL: .*timed out\|report: .*$GIT_URL.*" "$T/web1/log"; then
  pass "status repository silent: v3 applied, fjordd --once took ${took} ms (timeout 3 s), the log names it once"
else
  fail "silent status repository" "rc=$rc took=${took}ms lines=$n $(cat "$T/web1/log")"
fi
[ "$(ref_of "$STATUS" refs/fjord/waves/all/web1)" = "$(marker "$C2" failed)" ] &&
  grep -q '^fjord_report_push_failures_total 1$' "$T/web1/prom/fjord-report.prom" &&
  pass "nothing pushed meanwhile, and fjord_report_push_failures_total counts it" ||
  fail "failure metric" "$(cat "$T/web1/prom/fjord-report.prom" 2>&1)"
# ... and down altogether (connection refused): the same, at once.
kill "$SILENT" 2>/dev/null; wait "$SILENT" 2>/dev/null
start=$(date +%s%N)
once web1
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
[ $rc = 0 ] && [ "$took" -lt 5000 ] && grep -q "report: push to $GIT_URL: " "$T/web1/log" &&
  pass "status repository down: fjordd --once ends well in ${took} ms and names the push's failure" ||
  fail "down status repository" "rc=$rc took=${took}ms $(cat "$T/web1/log")"

# 4. Back again: the next run pushes what is new.
start_gitd
once web1
[ "$(ref_of "$STATUS" refs/fjord/waves/all/web1)" = "$(marker "$C3" good)" ] &&
  [ "$(report_field "$STATUS" web1 'r["commit"]')" = "$C3" ] &&
  pass "the status repository back: the report and marker for v3 are pushed" ||
  fail "back again" "$(cat "$T/web1/log")"

# 5. ssh: the report key fjordd made is refused until authorized, then pushes.
host_config web2 "$SSH_URL" "known_hosts = \"$S/kh_good\""
once web2
[ -f "$T/web2/state/ssh/report_ed25519.pub" ] && [ "$(cat "$T/web2/root/etc/motd")" = v1 ] &&
  grep -q "report: push to $SSH_URL: the server refused ssh key $T/web2/state/ssh/report_ed25519 for user fjordgit" "$T/web2/log" &&
  pass "ssh: a report key not yet authorized is named, the apply goes on" ||
  fail "ssh unauthorized" "$(cat "$T/web2/log")"
cat "$T/web2/state/ssh/report_ed25519.pub" >>"$S/authorized_keys"
once web2
[ "$(ref_of "$SSH_STATUS" refs/fjord/waves/all/web2)" = "$(marker "$C3" good)" ] &&
  [ "$(report_field "$SSH_STATUS" web2 'r["host"]')" = web2 ] &&
  pass "ssh: once authorized, web2's report and marker are pushed" || fail "ssh push" "$(cat "$T/web2/log")"

# 6. A wrong host key: refused and named; nothing pushed.
before=$(git --git-dir="$SSH_STATUS" for-each-ref)
sed -i "s|^known_hosts = .*|known_hosts = \"$S/kh_wrong\"|" "$T/web2/fjord.toml"
echo v4 >"$R/hosts/web2/files/etc/motd"
commit_all "$R" v4
C4=$(git -C "$R" rev-parse HEAD)
once web2
[ "$(cat "$T/web2/root/etc/motd")" = v4 ] &&
  grep -q "report: push to $SSH_URL: host key for \[127.0.0.1\]:$SSH_PORT does not match $S/kh_wrong" "$T/web2/log" &&
  [ "$(git --git-dir="$SSH_STATUS" for-each-ref)" = "$before" ] &&
  pass "a wrong host key: the push is refused and named, the status repository untouched" ||
  fail "wrong host key" "$(cat "$T/web2/log")"

# 7. A second host on the same status repository leaves the first host's refs alone.
host_config web3 "$SSH_URL" "known_hosts = \"$S/kh_good\"" "ssh_key = \"$T/web2/state/ssh/report_ed25519\""
sed -i "s|hosts/web3|hosts/web1|" "$T/web3/fjord.toml"
sed -i "s|^known_hosts = .*|known_hosts = \"$S/kh_good\"|" "$T/web2/fjord.toml"
once web2
w2_before=$(git --git-dir="$SSH_STATUS" for-each-ref refs/fjord/hosts/web2 refs/fjord/waves/all/web2)
once web3
w2_after=$(git --git-dir="$SSH_STATUS" for-each-ref refs/fjord/hosts/web2 refs/fjord/waves/all/web2)
[ -n "$w2_before" ] && [ "$w2_before" = "$w2_after" ] && [ "$(ref_of "$SSH_STATUS" refs/fjord/waves/all/web3)" = "$(marker "$C4" good)" ] &&
  pass "a second host's push adds its refs and leaves the first host's alone" ||
  fail "second host" "$w2_before / $w2_after / $(git --git-dir="$SSH_STATUS" for-each-ref) $(cat "$T/web3/log")"

# 7b. A status repository on this machine (a path, and file://): the push child may write there
# (and, by Landlock where the kernel has it, only there and into its own cache).
mkdir -p "$T/local"
git init -q --bare "$T/local/status.git"
host_config web5 "$T/local/status.git"
sed -i "s|hosts/web5|hosts/web1|" "$T/web5/fjord.toml"
once web5
host_config web6 "file://$T/local/status.git"
sed -i "s|hosts/web6|hosts/web1|" "$T/web6/fjord.toml"
once web6
[ "$(ref_of "$T/local/status.git" refs/fjord/waves/all/web5)" = "$(marker "$C4" good)" ] &&
  [ "$(ref_of "$T/local/status.git" refs/fjord/waves/all/web6)" = "$(marker "$C4" good)" ] &&
  pass "a local status repository, as a path and as file://, receives both hosts' reports" ||
  fail "local status repository" "$(cat "$T/web5/log" "$T/web6/log")"

# 8. fjordd running: the status repository down at its start is logged once however often the
# push is retried (the backoff is cut to a 2 s heartbeat here), once when it works again; a new
# commit is reported without waiting for the heartbeat, and heartbeats replace the report.
host_config web4 "$GIT_URL" 'heartbeat = "2s"'
sed -i "s|hosts/web4|hosts/web1|" "$T/web4/fjord.toml"
stop_gitd
"$FJORDD" --config "$T/web4/fjord.toml" >"$T/web4/daemon.log" 2>&1 &
DPID=$!
PIDS+=($DPID)
# until CMD (at most 20 s)
until_ok() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.1; done; return 1; }
until_ok '[ "$(cat "$T/web4/root/etc/motd" 2>/dev/null)" = v3 ]' && sleep 5
fails=$(grep -c "warning report: push to $GIT_URL" "$T/web4/daemon.log")
tries=$(sed -n 's/^fjord_report_push_failures_total //p' "$T/web4/prom/fjord-report.prom" 2>/dev/null)
[ "$fails" = 1 ] && [ "${tries:-0}" -ge 2 ] &&
  pass "fjordd: the status repository down, $tries failed pushes, logged once" ||
  fail "daemon down" "fails=$fails tries=$tries $(cat "$T/web4/daemon.log")"
start_gitd
until_ok '[ "$(ref_of "$STATUS" refs/fjord/waves/all/web4)" = "$(marker "$C4" good)" ]' &&
  [ "$(grep -c "report: push to $GIT_URL works again" "$T/web4/daemon.log")" = 1 ] &&
  pass "fjordd: back again, pushed and logged once" || fail "daemon back" "$(cat "$T/web4/daemon.log")"
first=$(ref_of "$STATUS" refs/fjord/hosts/web4)
until_ok '[ "$(ref_of "$STATUS" refs/fjord/hosts/web4)" != "$first" ]' &&
  [ "$(git --git-dir="$STATUS" rev-list --count refs/fjord/hosts/web4)" = 1 ] &&
  pass "fjordd: a heartbeat replaces the report (still one root commit)" || fail "heartbeat" "$(cat "$T/web4/daemon.log")"
echo v5 >"$R/hosts/web1/files/etc/motd"
commit_all "$R" v5
C5=$(git -C "$R" rev-parse HEAD)
until_ok '[ "$(ref_of "$STATUS" refs/fjord/waves/all/web4)" = "$(marker "$C5" good)" ]' &&
  [ "$(cat "$T/web4/root/etc/motd")" = v5 ] &&
  pass "fjordd: a new commit applied is reported at once" || fail "daemon new commit" "$(cat "$T/web4/daemon.log")"
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null

finish
