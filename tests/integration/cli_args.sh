#!/bin/bash
# fjordctl's arguments and what it prints (issue 16): every numeric argument is parsed strictly
# and a wrong word, option or count is refused with exit 2, naming the argument and why, before
# anything is read or fjordd is asked (nothing changes, with fjordd stopped or running);
# `rollback GEN` of a pruned generation names those kept; the control socket is 0600 and a user
# who is not root is told so, not that fjordd is not running; file names with terminal escapes
# reach no terminal raw through render, validate, diff or sync. Issue 19: options of another
# verb, render of a folder that is not a host folder, --version, VERB --help, the completion
# against the parser, diff's hint with fjordd stopped, and who holds the state lock.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
ESC=$'\e'
new_repo "$R"
mkdir -p "$H/files/etc/app" "$ROOT"
write_config "$CFG" "$R" "$ROOT" "$STATE"
sed -i 's|^\[state\]$|[state]\nkeep_generations = 2|' "$CFG"
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
# Four generations, of which 3 and 4 are kept; a file whose name holds ESC from the first.
echo red >"$H/files/etc/${ESC}[31mred"
for i in 1 2 3 4; do echo "A=$i" >"$H/files/etc/app/app.env"; commit_all "$R" "v$i"; once || fail "setup apply $i" "$(cat "$LOG")"; done
gens=$(ls "$STATE/generations" | sort -n | tr '\n' ' ')
[ "$gens" = "3 4 " ] || fail "setup" "generations kept: '$gens', want '3 4 '"

# A control byte other than tab and newline in a file: the check for raw terminal escapes.
raw_controls() { LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$@"; }

state_now() { echo "$(cat "$STATE/current") $(ls "$STATE/generations" | sort -n | tr '\n' ' ') pinned=$(cat "$STATE/pinned" 2>/dev/null) $(fingerprint "$ROOT" | sha1sum)"; }
S0=$(state_now)

# bad_args WHEN PATTERN ARGS...: fjordctl ARGS exits 2, its stderr holds PATTERN (fixed), has
# no raw control byte, and nothing changed.
bad_args() {
  local when=$1 want=$2 rc
  shift 2
  "$FJORDCTL" --config "$CFG" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  local shown
  shown=$(printf '%q ' "$@")
  if [ "$rc" = 2 ] && has -F -- "$want" "$T/err" && ! raw_controls "$T/err" >/dev/null && [ "$S0" = "$(state_now)" ]; then
    pass "$when: fjordctl $shown-> exit 2, \"$want\""
  else
    fail "$when: fjordctl $shown" "exit $rc, stderr: $(head -2 "$T/err"), state $(state_now) (was $S0)"
  fi
}

all_bad_args() {
  local w=$1
  bad_args "$w" 'rollback: GEN "0": less than 1 (generations start at 1' rollback 0
  bad_args "$w" 'rollback: GEN "0x3": not a decimal number (no 0x prefix)' rollback 0x3
  bad_args "$w" 'rollback: GEN "3abc": not a decimal number (digits 0-9 only)' rollback 3abc
  bad_args "$w" 'rollback: GEN "3.5": not a decimal number (a whole number)' rollback 3.5
  bad_args "$w" 'rollback: GEN "+3": not a decimal number (no sign)' rollback +3
  bad_args "$w" 'rollback: GEN " 3": not a decimal number (no blanks)' rollback " 3"
  bad_args "$w" 'rollback: GEN "-1": not a decimal number (no sign)' rollback -1
  bad_args "$w" 'rollback: GEN "03": not a decimal number (no leading zero)' rollback 03
  bad_args "$w" 'rollback: GEN "": empty' rollback ""
  bad_args "$w" 'rollback: GEN "18446744073709551616": too large (at most 18446744073709551615)' rollback 18446744073709551616
  bad_args "$w" 'rollback: GEN "3\x1b[2J": not a decimal number' rollback "3${ESC}[2J"
  bad_args "$w" 'rollback takes at most 1 argument (GEN); "4" is one too many' rollback 3 4
  bad_args "$w" 'rollback takes no option --json' rollback --json
  bad_args "$w" 'history takes no argument (got "2")' history 2
  bad_args "$w" 'status takes no option --dry-run (it takes --json)' status --dry-run
  bad_args "$w" 'diff takes no option --allow-deletions' diff --allow-deletions 3
  bad_args "$w" 'suspend takes no argument (got "now")' suspend now
  bad_args "$w" 'sync: --allow-deletions "-1": not a decimal number (no sign)' sync --allow-deletions -1
  bad_args "$w" 'sync: --allow-deletions "many": not a decimal number (digits 0-9 only)' sync --allow-deletions many
  bad_args "$w" 'sync: --allow-deletions "4294967296": too large (at most 4294967295)' sync --allow-deletions 4294967296
  bad_args "$w" 'sync: --allow-deletions needs N' sync --allow-deletions
  bad_args "$w" 'sync: --allow-deletions is given twice' sync --allow-deletions 3 --allow-deletions 4
  bad_args "$w" 'sync takes no argument (got "3")' sync 3
  bad_args "$w" 'check takes no option --slow' check --slow
  bad_args "$w" 'validate needs DIR' validate
  bad_args "$w" 'render takes at most 1 argument (HOSTDIR)' render "$H" "$H"
  bad_args "$w" 'identity takes at most 1 argument' identity ssh recipient
  bad_args "$w" 'unknown verb frobnicate' frobnicate
  bad_args "$w" 'usage: fjordctl [--config FILE] rollback [GEN]' rollback 1x
  # Issue 19: each verb takes only its own options, parsed per verb (CLI11).
  bad_args "$w" 'diff takes no option --json' diff --json
  bad_args "$w" 'status takes no option --retry (it takes --json)' status --retry
  bad_args "$w" 'sync: --dry-run takes no value' sync --dry-run=yes
  bad_args "$w" 'unknown option --json before the verb' --json status
  bad_args "$w" 'completion: "fish" is not one of bash|zsh' completion fish
  bad_args "$w" 'identity: "both" is not one of recipient|ssh' identity both
  bad_args "$w" "$R: not a host folder (it has no fjord.toml, files/, units/ or containers/); \`fjordctl validate $R\`" render "$R"
  bad_args "$w" "$R/hosts: not a host folder" render "$R/hosts"
}

# 1. fjordd stopped.
all_bad_args "fjordd stopped"
"$FJORDCTL" --config "$CFG" --config >/dev/null 2>"$T/err"
[ $? = 2 ] && has -F -- "--config needs FILE" "$T/err" && pass "--config without FILE: exit 2" || fail "--config without FILE" "$(cat "$T/err")"

# diff without fjordd: the hint previews (fjordd --once alone applies).
"$FJORDCTL" --config "$CFG" diff >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && has -F '`fjordd --once --dry-run` shows the plan without it' "$T/err" && [ "$S0" = "$(state_now)" ] &&
  pass "diff with fjordd stopped suggests fjordd --once --dry-run" || fail "diff hint" "exit $rc: $(cat "$T/err")"

# --version on both binaries; VERB --help prints that verb's usage and only its options.
v=$("$FJORDCTL" --version) && [[ $v == "fjordctl "?* ]] && w=$("$FJORDD" --version) && [ "${w#fjordd }" = "${v#fjordctl }" ] &&
  pass "fjordctl --version and fjordd --version: $v" || fail "--version" "'$v' '$w'"
# The verbs and options the completion offers, against what the parser takes: each verb has
# its own --help, each option it offers is taken, and each option of another verb is refused.
"$FJORDCTL" completion bash >"$T/comp.bash" || fail "completion bash" "exit $?"
comp_verbs=$(sed -nE "s/^    local verbs='(.*)'$/\1/p" "$T/comp.bash")
[ "$(echo $comp_verbs | wc -w)" -ge 13 ] || fail "completion verbs" "read '$comp_verbs' from fjordctl completion bash"
all_opts=$(sed -nE "s/^        [a-z]+\) opts='([^']*)'.*/\1/p" "$T/comp.bash" | tr ' ' '\n' | sort -u)
bad=""; n=0
for verb in $comp_verbs; do
  opts=$(sed -nE "s/^        $verb\) opts='([^']*)'.*/\1/p" "$T/comp.bash")
  "$FJORDCTL" "$verb" --help >"$T/help" 2>&1 || bad+=" $verb --help: exit $?;"
  head -1 "$T/help" | grep -qE "^usage: fjordctl \[--config FILE\] $verb( |$)" || bad+=" $verb --help: $(head -1 "$T/help");"
  help_opts=$(sed -n '/^options:$/,$p' "$T/help" | grep -oE -- '(^  |, )--?[a-z][a-z-]*' | sed 's/^  //; s/^, //' | sort | tr '\n' ' ')
  [ "$help_opts" = "$(echo $opts | tr ' ' '\n' | sort | tr '\n' ' ')" ] || bad+=" $verb: --help lists '$help_opts', completion '$opts';"
  for o in $all_opts; do
    case $o in -h | --help) continue ;; esac
    val=(); grep -qE -- "^  (-[a-z], )?$o [A-Z]|, $o [A-Z]" "$T/help" && val=(1)
    "$FJORDCTL" --config "$T/none.toml" "$verb" "$o" "${val[@]}" </dev/null >/dev/null 2>"$T/err"
    n=$((n + 1))
    if echo " $opts " | grep -qF -- " $o "; then
      has -F "takes no option" "$T/err" && bad+=" $verb $o: offered but refused;"
    else
      has -F "$verb takes no option $o" "$T/err" || bad+=" $verb $o: not offered but not refused ($(head -1 "$T/err"));"
    fi
  done
done
[ -z "$bad" ] && pass "completion offers exactly what the parser takes ($(echo $comp_verbs | wc -w) verbs, $n verb/option pairs)" ||
  fail "completion vs parser" "$bad"

# 2. A pruned generation, and one not made yet, with fjordd stopped (fjordctl refuses a pruned one itself; one not made yet is said by fjordd --rollback).
"$FJORDCTL" --config "$CFG" rollback 1 >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && has -F "rollback: generation 1 is not kept (pruned); kept: 3-4" "$T/err" && ! has "No such file" "$T/err" "$T/out" &&
  [ "$S0" = "$(state_now)" ]; then
  pass "rollback of a pruned generation names the kept ones (fjordd stopped)"
else
  fail "rollback pruned, stopped" "exit $rc: $(cat "$T/err" "$T/out")"
fi
"$FJORDCTL" --config "$CFG" rollback 9 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && has -F "generation 9 does not exist (the newest is 4); kept: 3-4" "$T/err" && [ "$S0" = "$(state_now)" ] &&
  pass "rollback of a generation not made yet says so" || fail "rollback 9" "exit $rc: $(cat "$T/err" "$T/out")"

# 3. fjordd running: the same words never reach it. (It polls once an hour, so the commit of
# part 5 waits for diff and sync.)
sed -i 's|^poll_interval = .*|poll_interval = "1h"|' "$CFG"
"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$STATE/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$CFG" status --json 2>&1 | has '"running": true' || fail "daemon" "did not start: $(tail -3 "$T/daemon.log")"
S0=$(state_now)
all_bad_args "fjordd running"
# A second fjord process is told who holds the lock, and what to run instead.
"$FJORDD" --config "$CFG" --once >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" != 0 ] && has -F "another fjord process (PID $DAEMON_PID, fjordd) holds the lock" "$T/err" && has -F '`fjordctl sync` asks it' "$T/err" &&
  pass "fjordd --once beside a running fjordd names its PID and fjordctl sync" || fail "lock message" "exit $rc: $(cat "$T/err")"
"$FJORDCTL" --config "$CFG" rollback 2 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && has -F "rollback: generation 2 is not kept (pruned); kept: 3-4" "$T/err" && [ "$S0" = "$(state_now)" ] &&
  ! has -i rollback "$T/daemon.log" && pass "rollback of a pruned generation names the kept ones (fjordd running)" ||
  fail "rollback pruned, running" "exit $rc: $(cat "$T/err" "$T/out"); daemon: $(tail -3 "$T/daemon.log")"

# 4. The control socket: 0600, and a user who is not root is told why, not "not running".
mode=$(stat -c %a "$STATE/control.sock")
[ "$mode" = 600 ] && pass "the control socket is 0600" || fail "socket mode" "$mode"
chmod 0755 "$T"
chmod 0644 "$CFG"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody "$FJORDCTL" --config "$CFG" status >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && has -F "permission denied: the control socket $STATE/control.sock is root-only (run as root)" "$T/err" &&
  ! has "not running" "$T/out" "$T/err"; then
  pass "status as nobody: permission denied, root-only (exit 1), not \"not running\""
else
  fail "status as nobody" "exit $rc: $(cat "$T/out" "$T/err" | head -3)"
fi
# With the folder and socket opened up by hand, fjordd's peer-credential check still refuses.
chmod 0755 "$STATE"
chmod 0666 "$STATE/control.sock"
as_nobody "$FJORDCTL" --config "$CFG" status >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && has "uid $(id -u nobody) is not allowed" "$T/err" && ! has "running" "$T/out" &&
  pass "peer credentials: fjordd refuses nobody even through a world-writable socket" ||
  fail "peer credentials" "exit $rc: $(cat "$T/out" "$T/err" | head -3)"
chmod 0700 "$STATE"
chmod 0600 "$STATE/control.sock"

# 5. Terminal escapes in file names: diff and sync (the plan), render, validate.
echo new >"$H/files/etc/${ESC}]0;title${ESC}\\new"
echo del >"$H/files/etc/app/x"$'\x7f'
commit_all "$R" "escapes"
"$FJORDCTL" --config "$CFG" diff >"$T/diff" 2>&1
if has -F '+ /etc/\x1b]0;title\x1b\new' "$T/diff" && has -F '+ /etc/app/x\x7f' "$T/diff" && ! raw_controls "$T/diff" >/dev/null; then
  pass "diff escapes control characters of file names"
else
  fail "diff escapes" "$(raw_controls "$T/diff" | od -c | head -5) $(cat -v "$T/diff")"
fi
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
has -F '+ /etc/\x1b]0;title\x1b\new' "$T/sync" && ! raw_controls "$T/sync" >/dev/null && [ -e "$ROOT/etc/${ESC}]0;title${ESC}\\new" ] &&
  pass "sync escapes them too, and applies the file under its real name" || fail "sync escapes" "$(cat -v "$T/sync")"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=""

"$FJORDCTL" --config "$CFG" render "$H" >"$T/render" 2>&1
rc=$?
[ "$rc" = 0 ] && has -F '/etc/\x1b[31mred' "$T/render" && ! raw_controls "$T/render" >/dev/null &&
  pass "render escapes control characters of file names" || fail "render escapes" "exit $rc: $(cat -v "$T/render")"
# A name with CR is refused by the renderer; the error names it escaped.
H2=$R/hosts/web2
mkdir -p "$H2/files/etc"
echo x >"$H2/files/etc/a"$'\r'"b"
echo x >"$H2/files/etc/${ESC}[31mred"
"$FJORDCTL" --config "$CFG" render "$H2" >"$T/render2" 2>&1
rc=$?
[ "$rc" = 1 ] && has -F 'a\rb: names with line breaks are refused' "$T/render2" && ! raw_controls "$T/render2" >/dev/null &&
  pass "render names a file with CR escaped in its error" || fail "render CR" "exit $rc: $(cat -v "$T/render2")"
# validate names host folders, which come from the repo too.
mkdir -p "$R/hosts/${ESC}[1mweb3/files/etc"
echo x >"$R/hosts/${ESC}[1mweb3/files/etc/${ESC}[31mred"
"$FJORDCTL" --config "$CFG" validate "$R" >"$T/validate" 2>&1
rc=$?
[ "$rc" = 1 ] && has -F 'hosts/\x1b[1mweb3: ok (1 files)' "$T/validate" && has -F 'a\rb: names with line breaks are refused' "$T/validate" &&
  ! raw_controls "$T/validate" >/dev/null && pass "validate escapes folder and file names" || fail "validate escapes" "exit $rc: $(cat -v "$T/validate")"

# Every spelling the parser takes, the verb takes too: --opt=VALUE, -rKEY, -ar KEY.
H4=$T/h4
mkdir -p "$H4/files/etc"
printf 'name = "{{host.name}}" x = "{{x}}"\n' >"$H4/files/etc/who.tmpl"
"$FJORDCTL" --config "$CFG" render "$H4" --host=web9 --var=x=7 >"$T/render=" 2>&1 &&
  "$FJORDCTL" --config "$CFG" render --host web9 --var x=7 "$H4" >"$T/render_" 2>&1 &&
  has 'name = "web9" x = "7"' "$T/render=" && cmp -s "$T/render=" "$T/render_" &&
  pass "render --host=NAME --var=K=V is render --host NAME --var K=V" || fail "render --opt=VALUE" "$(cat "$T/render=")"
RCPT=$("$FJORDCTL" --config "$CFG" identity recipient 2>/dev/null)
for spelling in "--recipient=$RCPT" "-r$RCPT" "-ar $RCPT" "-a --recipient $RCPT"; do
  # shellcheck disable=SC2086 # the spelling is the words it splits into
  if echo hi | "$FJORDCTL" encrypt $spelling >"$T/enc" 2>"$T/enc.err" && head -1 "$T/enc" | grep -q '^age-encryption.org/v1\|^-----BEGIN AGE'; then
    pass "encrypt $spelling"
  else
    fail "encrypt $spelling" "$(cat "$T/enc.err")"
  fi
done

finish
