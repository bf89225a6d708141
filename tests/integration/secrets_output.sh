#!/bin/bash
# Invariant 6 (DESIGN.md §7.6) for what commands print: [[check]] exec commands and [[hook]]s
# that `cat` a decrypted .age file (made by Debian's `age` for the host identity in
# STATE/age/identity). With any .age file in the generation their output is never logged or
# kept: only "exit status N (output hidden: this generation has secret files; ...)". The
# plaintext must appear nowhere fjord writes or prints: the state dir (grep -r), fjordd's
# stderr, `fjordctl status [--json]`, `history [--json]`, `show GEN`, status.json, the metrics
# textfile and a webhook receiver's bodies. Exec checks get FJORD_COMMIT, FJORD_PREVIOUS_COMMIT,
# FJORD_GENERATION, FJORD_RESULT and FJORD_ROOT. Then fjordd is SIGKILLed while a validate
# command runs on a secret file: the validator is gone right after (pgrep), and no plaintext is
# left under /run or the state dir.
# Usage: secrets_output.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID="" BGPID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

if ! command -v age >/dev/null; then
  fail "age is installed" "Debian's age package is missing (bash tests/deps.sh --test installs it)"
  finish; exit 1
fi

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; PROM=$T/prom/fjord.prom; LOG=$T/daemon.log
H=$R/hosts/web1
mkdir -p "$ROOT" "$T/prom" "$H/files/etc/app"
new_repo "$R"

# The webhook receiver: every POST body, one per line.
NP=$(free_port)
start_receiver "$NP" "$T/webhook.jsonl"

write_config "$CFG" "$R" "$ROOT" "$STATE" '[health]' 'timeout = "4s"' 'require_source_reachable = false' \
  '[log]' 'level = "debug"' \
  '[[notify]]' "url = \"http://127.0.0.1:$NP/hook\"" 'events = ["applied", "rolled_back", "failed", "drift", "refused"]'
sed -i -e 's|^poll_interval = "1s"|poll_interval = "1h"|' -e "s|^textfile = \"\"|textfile = \"$PROM\"|" "$CFG"
RCPT=$("$FJORDCTL" --config "$CFG" identity recipient 2>"$T/id.err")
[[ $RCPT == age1* ]] && [ -f "$STATE/age/identity" ] || { fail "host identity" "$RCPT $(cat "$T/id.err")"; finish; exit 1; }

S="fjord-plaintext-$RANDOM$RANDOM$RANDOM" # the secret; only its decryption can print it
printf 'DB_PASSWORD=%s\n' "$S" | age -r "$RCPT" -o "$H/files/etc/app/db.env.age"
echo "port=80" >"$H/files/etc/app/app.conf"
cat_secret='cat \"$FJORD_ROOT/etc/app/db.env\"'
# manifest CHECK_EXIT HOOK_EXIT: an exec check and a post-apply, pre-apply and post-rollback hook,
# each printing the secret; the check and the post-apply hook end with the given exit status.
manifest() {
  cat >"$H/fjord.toml" <<EOF
[[check]]
name = "reads-the-secret"
exec = ["sh", "-c", "env | grep ^FJORD_ | sort >$T/check-env.\$FJORD_GENERATION; $cat_secret; exit $1"]
period = "100ms"
timeout = "2s"
failure_threshold = 1

[[hook]]
when = "post-apply"
exec = ["sh", "-c", "$cat_secret; exit $2"]
timeout = "5s"

[[hook]]
when = "pre-apply"
exec = ["sh", "-c", "test -e \"\$FJORD_ROOT/etc/app/db.env\" && $cat_secret; true"]
timeout = "5s"

[[hook]]
when = "post-rollback"
exec = ["sh", "-c", "$cat_secret"]
timeout = "5s"
EOF
}
manifest 0 0
commit_all "$R" "secret, and commands that print it"
C1=$(git -C "$R" rev-parse HEAD)

ctl() { "$FJORDCTL" --config "$CFG" "$@"; }
"$FJORDD" --config "$CFG" >>"$LOG" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$STATE/control.sock" ] && ctl status --json 2>/dev/null | has '"generation": 1' && break; sleep 0.1; done
if [ "$(cat "$ROOT/etc/app/db.env" 2>/dev/null)" = "DB_PASSWORD=$S" ] && [ "$(cat "$STATE/current" 2>/dev/null)" = 1 ]; then
  pass "generation 1 applied: the secret decrypted on the host, its check and hooks passed"
else
  fail "generation 1" "$(tail -5 "$LOG")"
fi
want_env() { printf 'FJORD_COMMIT=%s\nFJORD_GENERATION=%s\nFJORD_PREVIOUS_COMMIT=%s\nFJORD_RESULT=%s\nFJORD_ROOT=%s\n' "$@" "$ROOT"; }
if [ "$(cat "$T/check-env.1" 2>/dev/null)" = "$(want_env "$C1" 1 "" applied)" ]; then
  pass "exec checks get FJORD_COMMIT, FJORD_PREVIOUS_COMMIT, FJORD_GENERATION, FJORD_RESULT, FJORD_ROOT"
else
  fail "exec check environment" "$(diff <(want_env "$C1" 1 "" applied) "$T/check-env.1" 2>&1 | tr '\n' ' ')"
fi

# 2. The check fails (printing the secret): rolled back; the post-rollback hook prints it too.
manifest 3 0
echo "port=81" >"$H/files/etc/app/app.conf"
commit_all "$R" "the check fails"
C2=$(git -C "$R" rev-parse HEAD)
ctl sync >"$T/sync2" 2>&1
if [ "$(cat "$STATE/current")" = 1 ] && [ "$(cat "$ROOT/etc/app/app.conf")" = "port=80" ] && grep -q "exit status 3 (output hidden: this generation has secret files" "$T/sync2" "$LOG"; then
  pass "a failing check that prints the secret: rolled back, its failure shown as \"exit status 3 (output hidden: ...)\""
else
  fail "failing check" "$(cat "$T/sync2") $(tail -3 "$LOG")"
fi
if [ "$(cat "$T/check-env.2" 2>/dev/null)" = "$(want_env "$C2" 2 "$C1" applied)" ]; then
  pass "the second generation's check got FJORD_PREVIOUS_COMMIT = the first commit"
else
  fail "exec check environment (generation 2)" "$(diff <(want_env "$C2" 2 "$C1" applied) "$T/check-env.2" 2>&1 | tr '\n' ' ')"
fi

# 3. The post-apply hook fails (printing the secret): rolled back.
manifest 0 4
echo "port=82" >"$H/files/etc/app/app.conf"
commit_all "$R" "the post-apply hook fails"
ctl sync >"$T/sync3" 2>&1
if [ "$(cat "$STATE/current")" = 1 ] && grep -q "exit status 4 (output hidden: this generation has secret files" "$T/sync3" "$LOG"; then
  pass "a failing post-apply hook that prints the secret: rolled back, \"exit status 4 (output hidden: ...)\""
else
  fail "failing post-apply hook" "$(cat "$T/sync3") $(tail -3 "$LOG")"
fi

# 4. A commit that drops the .age file. Its pre-apply hook runs while the old plaintext is still
#    on the host; its check fails, so the rollback brings the secret back and its post-rollback
#    hook prints it. That generation has no secret file, but the host does.
git -C "$R" rm -q "$H/files/etc/app/db.env.age"
manifest 5 0
echo "port=83" >"$H/files/etc/app/app.conf"
commit_all "$R" "drop the secret; the check fails"
ctl sync >"$T/sync4" 2>&1
[ "$(cat "$ROOT/etc/app/db.env" 2>/dev/null)" = "DB_PASSWORD=$S" ] && [ "$(cat "$STATE/current")" = 1 ] &&
  pass "a commit dropping the secret whose check fails: rolled back, the secret is back on the host" ||
  fail "drop the secret, rolled back" "$(cat "$T/sync4")"

# 5. A good commit (the secret again, commands that pass) so history has a mix.
printf 'DB_PASSWORD=%s\n' "$S" | age -r "$RCPT" -o "$H/files/etc/app/db.env.age"
manifest 0 0
echo "port=84" >"$H/files/etc/app/app.conf"
commit_all "$R" "good again"
ctl sync >"$T/sync5" 2>&1
[ "$(cat "$ROOT/etc/app/app.conf")" = "port=84" ] && pass "a good commit with the secret applies" || fail "good again" "$(cat "$T/sync5")"
sleep 1 # notifications are sent by a worker

# ---- where the plaintext must not be -----------------------------------------------------------
OUT=$T/outputs
mkdir -p "$OUT"
ctl status >"$OUT/status" 2>&1
ctl status --json >"$OUT/status.json" 2>&1
ctl history >"$OUT/history" 2>&1
ctl history --json >"$OUT/history.json" 2>&1
for g in $(ls "$STATE/generations"); do ctl show "$g" >"$OUT/show-$g" 2>&1; done
cp "$T"/sync* "$OUT/"
leaks() { # WHERE...: the files under WHERE holding the plaintext
  grep -rlaF -- "$S" "$@" 2>/dev/null
}
check_where() { # NAME PATH...
  local name=$1 l
  shift
  l=$(leaks "$@")
  if [ -z "$l" ]; then pass "no plaintext in $name"
  else fail "no plaintext in $name" "found in: $(echo "$l" | head -5 | tr '\n' ' ') — in: $(grep -haF -B3 -- "$S" $l | grep -v "^DB_PASSWORD" | grep -aE 'hook|check' | head -3 | cut -c1-160 | tr '\n' ' ')"; fi
}
check_where "the state dir (grep -r)" "$STATE"
[ -n "${SAVE_LOG:-}" ] && cp "$LOG" "$SAVE_LOG"
check_where "fjordd's stderr (debug level)" "$LOG"
check_where "fjordctl status / status --json" "$OUT/status" "$OUT/status.json"
check_where "fjordctl history / history --json" "$OUT/history" "$OUT/history.json"
check_where "fjordctl show GEN (every generation)" "$OUT"/show-*
check_where "fjordctl sync's output" "$OUT"/sync*
check_where "status.json" "$STATE/status.json"
check_where "the metrics textfile" "$PROM"
check_where "the webhook receiver's bodies" "$T/webhook.jsonl"
[ -s "$T/webhook.jsonl" ] && [ -s "$PROM" ] && pass "the webhook receiver got $(wc -l <"$T/webhook.jsonl") bodies; the metrics textfile is written" ||
  fail "webhook and metrics were written" "$(ls -la "$T/webhook.jsonl" "$PROM" 2>&1)"
# The negative control: the same grep finds the plaintext where it belongs.
[ -n "$(leaks "$ROOT")" ] && pass "the plaintext check can fail: it finds the secret in the root" || fail "the plaintext check" "blind"
grep -q "output hidden: this generation has secret files" "$OUT/show-2" "$OUT/history" "$LOG" &&
  pass "history / show / log say the output was hidden" || fail "output hidden shown" "$(cat "$OUT/show-2" | head -20)"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""

# ---- SIGKILL while a validator runs on a secret file --------------------------------------------
# Two validators: one that is the command itself (sh execs sleep), and a shell whose child
# (sleep) holds the staged file open on its stdin. Each sleeps a unique time, for pgrep.
V1="3$RANDOM.5" V2="3$RANDOM.25"
RUNDIR=/run/fjord-$(printf '%s' "$STATE" | git hash-object --stdin | cut -c1-12)
validate_case() { # NAME VALIDATE-ARRAY MARK
  local name=$1 arr=$2 mark=$3 pid staged left fjordd_pid
  manifest 0 0
  printf '\n[file."/etc/app/db.env"]\nvalidate = %s\n' "$arr" >>"$H/fjord.toml"
  printf 'DB_PASSWORD=%s\nrotated=%s\n' "$S" "$RANDOM" | age -r "$RCPT" -o "$H/files/etc/app/db.env.age"
  commit_all "$R" "validate: $name"
  "$FJORDD" --config "$CFG" --once >"$T/validate.log" 2>&1 &
  BGPID=$!
  pid=
  for _ in $(seq 150); do pid=$(pgrep -f "sleep $mark" | head -1); [ -n "$pid" ] && break; sleep 0.1; done
  if [ -z "$pid" ]; then fail "$name: the validator runs" "no process 'sleep $mark': $(tail -3 "$T/validate.log")"; kill -9 "$BGPID"; wait "$BGPID" 2>/dev/null; BGPID=; return; fi
  staged=$(find "$RUNDIR/validate" "$STATE/validate" -mindepth 1 2>/dev/null | grep -v '/[0-9]*$' | head -1)
  if [ -n "$staged" ] && [ -L "$staged" ] && [ -z "$(find "$RUNDIR" "$STATE" -path "$STATE/repo" -prune -o -type f -print0 2>/dev/null | xargs -0r grep -laF -- "$S")" ]; then
    pass "$name: while it runs, the staged file is a symlink ($staged -> $(readlink "$staged")), no plaintext file anywhere under $RUNDIR or the state dir"
  else
    fail "$name: the staged file" "staged=$staged ($(ls -la "$staged" 2>&1)); files with plaintext: $(find "$RUNDIR" "$STATE" -type f -print0 2>/dev/null | xargs -0r grep -laF -- "$S" | head -3)"
  fi
  kill -9 "$BGPID"
  wait "$BGPID" 2>/dev/null
  BGPID=
  sleep 0.3
  left=$(pgrep -af "sleep $mark")
  if [ -z "$left" ]; then pass "$name: SIGKILL fjordd: the validator is gone right after"
  else
    local fds; fds=$(for p in $(pgrep -f "sleep $mark"); do ls -l /proc/$p/fd 2>/dev/null | grep -o 'memfd:[^ ]*'; done | sort -u | tr '\n' ' ')
    fail "$name: SIGKILL fjordd: the validator is gone right after" "still running: $left${fds:+ (holding $fds open: the plaintext lives on in memory)}"
    pkill -9 -f "sleep $mark"
  fi
  left=$(grep -rlaF -- "$S" /run "$STATE" 2>/dev/null | head -3)
  [ -z "$left" ] && pass "$name: no plaintext left under /run or the state dir" || fail "$name: no plaintext left under /run or the state dir" "$left"
  "$FJORDD" --config "$CFG" --recover >"$T/recover.log" 2>&1
  [ ! -e "$RUNDIR/validate" ] && [ ! -e "$STATE/validate" ] && pass "$name: the next start removes the staging folder" ||
    fail "$name: the next start removes the staging folder" "$(find "$RUNDIR/validate" "$STATE/validate" 2>&1 | head -3)"
}
validate_case "a validator command" "[\"sh\", \"-c\", 'exec sleep $V1', \"%s\"]" "$V1"
validate_case "a shell validator whose child holds the file" "[\"sh\", \"-c\", 'sleep $V2 <\"\$0\"; true', \"%s\"]" "$V2"

finish
