#!/bin/bash
# Reasons that stay (issue 19 items 3 and 4), with the real fjordd, fjordctl and a real Git repo:
# `fjordctl show` of a good generation (files changed, checks with results and output, timings);
# a commit whose template does not render and one whose health check fails both in `history`
# and `show` with their whole reason; `status` keeping the failure's reason across later polls,
# with the remote head and the attempted commit (text and --json); status with a typo in the
# config while fjordd runs (warning, status, exit 0); exit 1 while the newest commit failed,
# exit 3 with fjordd stopped; history's NOTE cut to the terminal's width under a pseudo-terminal.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_daemon() { [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
trap 'stop_daemon; cleanup_dirs' EXIT

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml
H=$R/hosts/web1
new_repo "$R"
mkdir -p "$H/files/etc/app" "$ROOT"
echo one >"$H/files/etc/app/one.conf"
echo keep >"$H/files/etc/app/keep.conf"
check() { printf '[[check]]\nname = "probe"\nexec = ["sh", "-c", "%s"]\nperiod = "200ms"\ntimeout = "2s"\nfailure_threshold = 2\n' "$1" >"$H/fjord.toml"; }
check "echo CHECK-SAYS-HELLO"
commit_all "$R" "first"
write_config "$CFG" "$R" "$ROOT" "$STATE" '[health]' 'timeout = "10s"' 'require_source_reachable = false' '[prerequisites]' 'mode = "off"'
sed -i 's|^poll_interval = "1s"|poll_interval = "1h"|' "$CFG"
ctl() { "$FJORDCTL" --config "$CFG" "$@"; }
"$FJORDD" --config "$CFG" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$STATE/control.sock" ] && ctl status --json 2>/dev/null | has '"last_result": "[a-z]' && break; sleep 0.1; done
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j[sys.argv[2]])' "$@"; }

# --- a good generation in full ---------------------------------------------------------------------
echo two >"$H/files/etc/app/one.conf"
echo new >"$H/files/etc/app/added.conf"
chmod 755 "$H/files/etc/app/keep.conf"
commit_all "$R" "second: change one, add one"
ctl sync >"$T/sync2" 2>&1
ctl show 2 >"$T/show2" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q '^generation 2 (current)$' "$T/show2" && grep -q '^outcome:     good$' "$T/show2" &&
  grep -q '^commit:      [0-9a-f]\{40\} "second: change one, add one"$' "$T/show2" &&
  grep -q '^changes:     against generation 1$' "$T/show2" &&
  grep -A1 '^files added (1):$' "$T/show2" | has '^  /etc/app/added.conf$' &&
  grep -A2 '^files changed (2):$' "$T/show2" | has '^  /etc/app/one.conf (content)$' &&
  grep -A2 '^files changed (2):$' "$T/show2" | has '^  /etc/app/keep.conf (mode)$' &&
  grep -qE '^  check probe exec sh -c .*: passed \(1 attempt\), [0-9]+ ms$' "$T/show2" && grep -q '^    | exit status 0: CHECK-SAYS-HELLO$' "$T/show2" &&
  grep -qE '^timings:     poll [0-9]+ ms, gates .*render [0-9]+ ms, plan .*transact [0-9]+ ms \(total [0-9]+ ms\)$' "$T/show2"; then
  pass "show 2: header, files added and changed against generation 1, the check with its result and output, stage timings"
else fail "show good generation" "rc=$rc $(cat "$T/sync2" "$T/show2")"; fi
ctl show 2 --json >"$T/show2.json" 2>&1
python3 - "$T/show2.json" <<'PY' >"$T/s2j.out" 2>&1 && pass "show --json: files, checks and stages as data (numbers for times)" || fail "show --json" "$(cat "$T/s2j.out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["generation"] == 2 and j["outcome"] == "good" and j["compared_with"] == 1, j
assert j["files_added"] == ["/etc/app/added.conf"], j["files_added"]
assert sorted(j["files_changed"]) == ["/etc/app/keep.conf (mode)", "/etc/app/one.conf (content)"], j["files_changed"]
[c] = [s for s in j["steps"] if s["kind"] == "check"]
assert c["result"].startswith("passed") and isinstance(c["ms"], int) and "CHECK-SAYS-HELLO" in c["output"], c
assert [s["stage"] for s in j["stages"]][-1] == "transact" and all(isinstance(s["ms"], int) for s in j["stages"]), j["stages"]
PY
C2=$(git -C "$R" rev-parse HEAD)

# --- status: remote head, attempted; exit 0; a typo in the config ------------------------------------
ctl status >"$T/st2" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^remote head: ${C2:0:12} (applied)$" "$T/st2" && grep -qE "^attempted:   ${C2:0:12} applied \(.*\), generation 2$" "$T/st2" &&
  ! grep -q '^reason:' "$T/st2" && pass "status: the remote head and the last attempted commit beside the applied one, exit 0" ||
  fail "status good" "rc=$rc $(cat "$T/st2")"
sed 's/^branch = "main"$/branch = "main"\nbrnach = "typo"/' "$CFG" >"$T/typo.toml"
"$FJORDCTL" --config "$T/typo.toml" status >"$T/typo.out" 2>"$T/typo.err"; rc=$?
[ $rc = 0 ] && grep -q 'typo.toml:[0-9]*:[0-9]*: .*brnach' "$T/typo.err" && grep -q '^fjordctl: warning: ' "$T/typo.err" &&
  grep -q '^fjordd:      running$' "$T/typo.out" && grep -q '^generation:  2 ' "$T/typo.out" &&
  pass "status with a typo in the config asks the running fjordd: the config error as a warning, its status, exit 0" ||
  fail "status with a typo" "rc=$rc $(cat "$T/typo.err" "$T/typo.out")"

"$FJORDCTL" --config "$T/missing.toml" status >"$T/missing.out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'missing.toml' "$T/missing.out" && pass "status with a config file that is not there: exit 2 (a usage error, not a typo)" ||
  fail "status missing config" "rc=$rc $(cat "$T/missing.out")"

# --- a template that does not render ------------------------------------------------------------------
printf 'a\nb\nport={{prot}}\n' >"$H/files/etc/app/bad.conf.tmpl"
commit_all "$R" "third: a bad template"
C3=$(git -C "$R" rev-parse HEAD)
ctl sync >"$T/sync3" 2>&1
ctl sync >"$T/sync3b" 2>&1 # a later poll: "failed before and is not retried"
ctl sync >"$T/sync3c" 2>&1
ctl history >"$T/hist3" 2>&1
if grep -qE "^-     ${C3:0:12} [0-9T:+-]{25} -  +failed +render: commit ${C3:0:12}: .*bad.conf.tmpl:3:6: undefined variable .?\"prot" "$T/hist3" &&
  [ "$(grep -c "${C3:0:12}" "$T/hist3")" = 1 ]; then
  pass "a render failure is in history (GEN -, failed, the stage and the reason), once however often it was polled"
else fail "history render failure" "$(cat "$T/sync3" "$T/sync3b" "$T/hist3")"; fi
ctl show "${C3:0:9}" >"$T/show3" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^attempt on commit $C3 (no generation" "$T/show3" && grep -q '^outcome:     failed (in stage render)$' "$T/show3" &&
  grep -q 'hosts/web1/files/etc/app/bad.conf.tmpl:3:6: undefined variable' "$T/show3" && grep -q '^subject:     third: a bad template$' "$T/show3" &&
  pass "show COMMIT-PREFIX of the render failure: its whole reason" || fail "show render failure" "rc=$rc $(cat "$T/show3")"
ctl show "$C3" --json >"$T/show3.json" 2>&1
python3 - "$T/show3.json" "$C3" <<'PY' >"$T/s3sj.out" 2>&1 && pass "show --json of an attempt: generation null, outcome, stage, reason" || fail "show attempt --json" "$(cat "$T/s3sj.out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["generation"] is None and j["commit"] == sys.argv[2] and j["outcome"] == "failed" and j["stage"] == "render", j
assert "bad.conf.tmpl:3:6: undefined variable" in j["reason"] and j["repeats"] == 1 and isinstance(j["stages"], list), j
PY
ctl status >"$T/st3" 2>&1; rc=$?
[ $rc = 1 ] && grep -qE "^attempted:   ${C3:0:12} failed " "$T/st3" && grep -q '^reason:      commit .*bad.conf.tmpl:3:6: undefined variable' "$T/st3" &&
  grep -q "^remote head: ${C3:0:12}$" "$T/st3" &&
  pass "status keeps the failure's reason across later polls, exit 1 (the newest commit failed)" || fail "status keeps reason" "rc=$rc $(cat "$T/st3")"
ctl status --json >"$T/st3.json" 2>/dev/null
python3 - "$T/st3.json" "$C3" "$C2" <<'PY' >"$T/s3j.out" 2>&1 && pass "status --json: remote_head, attempted_* (numbers for time and generation)" || fail "status --json" "$(cat "$T/s3j.out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["remote_head"] == sys.argv[2] and j["attempted_commit"] == sys.argv[2] and j["commit"] == sys.argv[3], j
assert j["attempted_outcome"] == "failed" and "undefined variable" in j["attempted_reason"], j
assert isinstance(j["attempted_time"], int) and j["attempted_time"] > 0 and j["attempted_generation"] == 0, j
PY

# --- a health check that fails --------------------------------------------------------------------------
git -C "$R" rm -q hosts/web1/files/etc/app/bad.conf.tmpl
check "echo CHECK-SAYS-NO; exit 1"
commit_all "$R" "fourth: a failing check"
C4=$(git -C "$R" rev-parse HEAD)
ctl sync >"$T/sync4" 2>&1
ctl sync >/dev/null 2>&1
ctl history >"$T/hist4" 2>&1
ctl show "$C4" >"$T/show4" 2>&1; rc=$?
if grep -qE "^3 +${C4:0:12} .* rolled-back +.*check probe" "$T/hist4" && [ $rc = 0 ] && grep -q '^generation 3$' "$T/show4" &&
  grep -q '^outcome:     rolled-back$' "$T/show4" && grep -A3 '^reason:$' "$T/show4" | has 'check probe' &&
  grep -qE '^  check probe exec sh -c .*: failed \(2 attempts\), [0-9]+ ms$' "$T/show4" && grep -q '^    | exit status 1: CHECK-SAYS-NO$' "$T/show4"; then
  pass "a failed health check: history and show with the reason, the check's result and output"
else fail "check failure" "rc=$rc $(cat "$T/sync4" "$T/hist4" "$T/show4")"; fi
ctl status >"$T/st4" 2>&1
grep -qE "^attempted:   ${C4:0:12} rolled-back .*, generation 3$" "$T/st4" && grep -q '^reason:      .*check probe' "$T/st4" &&
  pass "status after a later poll still names the rolled-back commit and why" || fail "status after rollback" "$(cat "$T/st4")"

# --- show refuses what it cannot pick ---------------------------------------------------------------------
ctl show zz >"$T/sz" 2>&1; rc1=$?
ctl show 99 >"$T/s99" 2>&1; rc2=$?
[ $rc1 = 2 ] && [ $rc2 = 1 ] && grep -q 'neither a generation number nor a commit' "$T/sz" && grep -q 'generation 99 is not in the history' "$T/s99" &&
  pass "show: a word that is no GEN or COMMIT exits 2, an unknown generation 1" || fail "show errors" "$rc1 $rc2 $(cat "$T/sz" "$T/s99")"

# --- NOTE cut to the terminal's width ----------------------------------------------------------------------
python3 - "$FJORDCTL" "$CFG" >"$T/pty.out" 2>&1 <<'PY'
import os, pty, sys
os.environ["COLUMNS"] = "100"
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--config", sys.argv[2], "history"])
out = b""
while True:
    try: d = os.read(fd, 65536)
    except OSError: break
    if not d: break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode().replace("\r\n", "\n"))
PY
long_piped=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/hist4")
long_tty=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/pty.out")
[ "$long_piped" -gt 100 ] && [ "$long_tty" -le 100 ] && grep -q '\.\.\.$' "$T/pty.out" && grep -c "${C3:0:12}" "$T/pty.out" | has 1 &&
  pass "history's NOTE is cut to the terminal's width ($long_tty <= 100 columns), whole when piped ($long_piped)" ||
  fail "NOTE width" "tty=$long_tty piped=$long_piped $(cat "$T/pty.out")"

# --- fjordd stopped -------------------------------------------------------------------------------------------
stop_daemon
ctl status >"$T/st5" 2>&1; rc=$?
ctl status --json >"$T/st5.json" 2>&1; rcj=$?
[ $rc = 3 ] && [ $rcj = 3 ] && grep -q '^fjordd:      not running' "$T/st5" && grep -qE "^attempted:   ${C4:0:12} rolled-back" "$T/st5" &&
  pass "status with fjordd stopped: exit 3, the saved status (and the attempted commit) still shown" || fail "status stopped" "rc=$rc/$rcj $(cat "$T/st5")"
ctl history --json >"$T/hist.json" 2>&1
python3 - "$T/hist.json" "$C3" <<'PY' >"$T/hj.out" 2>&1 && pass "history --json carries the attempt (generation null, outcome, stage, whole reason)" || fail "history --json" "$(cat "$T/hj.out")"
import json, sys
h = json.load(open(sys.argv[1]))
[a] = [e for e in h if e["commit"] == sys.argv[2]]
assert a["generation"] is None and a["outcome"] == "failed" and a["stage"] == "render" and "undefined variable" in a["message"], a
assert a["repeats"] == 1 and a["changes"] is None, a
assert [e["generation"] for e in h if e["generation"]] == [1, 2, 3], h
order = [e["generation"] or e["commit"][:7] for e in h]
assert order == [1, 2, sys.argv[2][:7], 3], order  # by when it was judged, exactly, within a second too
PY
finish
