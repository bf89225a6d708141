#!/bin/bash
# fjordctl diff (issue 19, items 1 and 2) with the real fjordd and fjordctl against a real Git
# repo: content as unified hunks against the live files, mode and type changes, a unit, a secret
# whose plaintext never shows, --stat, --exit-code 0/1/2, a huge file bounded, --local DIR (a
# checkout's edits before a commit, nothing written); and previews of
# commits an apply would refuse (max_deletions, a force-push): the changes, then the refusal,
# exit 3 (diff, sync --dry-run, fjordd --once --dry-run alike).
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
new_repo "$R"
mkdir -p "$H/files/etc/app" "$ROOT"
write_config "$CFG" "$R" "$ROOT" "$STATE"
sed -i 's|^\[apply\]$|[apply]\nmax_deletions = 1|' "$CFG"
RCPT=$("$FJORDCTL" --config "$CFG" identity recipient)
printf 'one\ntwo\nthree\nfour\nfive\n' >"$H/files/etc/app/app.conf"
echo "motd" >"$H/files/etc/motd"
echo "keep a" >"$H/files/etc/app/a.conf"
echo "keep b" >"$H/files/etc/app/b.conf"
printf 'PLAINTEXT-OLD-4711\n' | "$FJORDCTL" encrypt -r "$RCPT" >"$H/files/etc/app/token.age"
commit_all "$R" "first"
"$FJORDD" --config "$CFG" --once >"$LOG" 2>&1 || fail "first apply" "$(cat "$LOG")"
[ "$(cat "$ROOT/etc/app/token")" = "PLAINTEXT-OLD-4711" ] || fail "secret applied" "$(cat "$LOG")"

"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$STATE/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$CFG" suspend >/dev/null 2>&1 # previews go on; nothing is applied

# 1. No changes: --exit-code 0.
"$FJORDCTL" --config "$CFG" diff --exit-code >"$T/out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "nothing would change" "$T/out" && pass "diff --exit-code: 0 when nothing would change" ||
  fail "exit-code 0" "exit $rc: $(cat "$T/out")"

# 2. Content, mode, type, a unit, a secret.
printf 'one\ntwo\nTHREE\nfour\nfive\n' >"$H/files/etc/app/app.conf"
printf '[file."/etc/app/app.conf"]\nmode = "0600"\nowner = "nobody"\n[unit."hello.service"]\nstate = "stopped"\n' >"$H/fjord.toml"
mkdir -p "$H/units" && printf '[Service]\nExecStart=/bin/true\n' >"$H/units/hello.service"
rm "$H/files/etc/motd" && ln -s app/app.conf "$H/files/etc/motd"
printf 'PLAINTEXT-NEW-4712\n' | "$FJORDCTL" encrypt -r "$RCPT" >"$H/files/etc/app/token.age"
commit_all "$R" "second"
fp=$(fingerprint "$ROOT"); sfp=$(fingerprint "$STATE/generations")
"$FJORDCTL" --config "$CFG" diff >"$T/diff" 2>"$T/diff.err"
rc=$?
want=$(printf '~ /etc/app/app.conf\n  mode 0644 -> 0600\n  owner root:root -> nobody:root\n--- /etc/app/app.conf (live)\n+++ /etc/app/app.conf (%s)\n@@ -1,5 +1,5 @@\n one\n two\n-three\n+THREE\n four\n five' \
  "$(git -C "$R" rev-parse HEAD | cut -c1-12)")
if [ "$rc" = 0 ] && [[ $(cat "$T/diff") == *"$want"* ]]; then pass "diff shows a changed file as an exact unified hunk against the live file, with its mode and owner changes"
else fail "content diff" "exit $rc: $(cat "$T/diff" "$T/diff.err")"; fi
grep -qxF "~ /etc/motd" "$T/diff" && grep -qxF "  type file -> symlink" "$T/diff" && grep -qxF "  link -> app/app.conf" "$T/diff" &&
  pass "diff shows a file becoming a symlink, with its target" || fail "type change" "$(cat "$T/diff")"
grep -qxF "+ unit hello.service" "$T/diff" && grep -qF "+++ /etc/systemd/system/hello.service" "$T/diff" && grep -qxF "+ExecStart=/bin/true" "$T/diff" &&
  pass "diff shows a new unit and its unit file" || fail "unit" "$(cat "$T/diff")"
if grep -qxF "~ /etc/app/token (secret changed)" "$T/diff" && ! grep -rq "PLAINTEXT" "$T/diff" "$T/diff.err" "$T/daemon.log"; then
  pass "a secret shows as \"secret changed\", neither plaintext printed nor logged"
else fail "secret" "$(cat "$T/diff")"; fi
[ "$fp" = "$(fingerprint "$ROOT")" ] && [ "$sfp" = "$(fingerprint "$STATE/generations")" ] && pass "diff changes nothing on the host nor in the generations" ||
  fail "diff wrote" "the root or the generations changed"
"$FJORDCTL" --config "$CFG" diff --stat >"$T/stat" 2>&1
if grep -qxF "~ /etc/app/app.conf" "$T/stat" && grep -qxF "~ /etc/motd" "$T/stat" && grep -qxF "+ unit hello.service" "$T/stat" &&
  ! grep -q '^@@' "$T/stat"; then pass "diff --stat: one line a change (units included), no content"
else fail "--stat" "$(cat "$T/stat")"; fi
"$FJORDCTL" --config "$CFG" diff --exit-code >/dev/null 2>&1
rc=$?
[ "$rc" = 1 ] && pass "diff --exit-code: 1 when something would change" || fail "exit-code 1" "exit $rc"

# 3. A huge file: the output is bounded.
seq 1 100000 >"$H/files/etc/app/huge.txt"
commit_all "$R" "huge"
"$FJORDCTL" --config "$CFG" diff >"$T/huge" 2>&1
n=$(wc -l <"$T/huge")
[ "$n" -lt 5000 ] && grep -qE '^\.\.\. [0-9]+ more lines$' "$T/huge" && pass "a 100,000-line file is cut ($n lines printed, then how many more)" ||
  fail "bounded" "$n lines: $(tail -3 "$T/huge")"
# A line of 600,000 control characters: JSON sends each as six bytes, past what the control
# socket once took (1 MiB); the preview arrives, escaped for the terminal.
head -c 600000 /dev/zero | tr '\0' '\1' >"$H/files/etc/app/ctl.txt"
commit_all "$R" "control characters"
"$FJORDCTL" --config "$CFG" diff >"$T/ctl" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -qF "+++ /etc/app/ctl.txt (" "$T/ctl" && ! grep -q $'\x01' "$T/ctl" &&
  pass "a preview of 600,000 control characters comes through the control socket, escaped" || fail "control characters" "exit $rc: $(head -c 300 "$T/ctl")"
git -C "$R" rm -q "hosts/web1/files/etc/app/huge.txt" "hosts/web1/files/etc/app/ctl.txt" && commit_all "$R" "no huge"

# 4. Over max_deletions: the changes, then why an apply would refuse them; exit 3.
git -C "$R" rm -q hosts/web1/files/etc/app/a.conf hosts/web1/files/etc/app/b.conf && commit_all "$R" "two deletions"
"$FJORDCTL" --config "$CFG" diff --exit-code >"$T/del" 2>&1
rc=$?
if [ "$rc" = 3 ] && grep -qxF -- "- /etc/app/a.conf" "$T/del" && grep -q "^+THREE$" "$T/del" &&
  grep -q "^would be refused: commit [0-9a-f]*: .*max_deletions" "$T/del" &&
  [ "$(grep -n '^would be refused' "$T/del" | cut -d: -f1)" -gt "$(grep -n '^- /etc/app/a.conf' "$T/del" | cut -d: -f1)" ]; then
  pass "a preview over max_deletions shows the changes, then \"would be refused\", exit 3"
else fail "max_deletions preview" "exit $rc: $(cat "$T/del")"; fi
"$FJORDCTL" --config "$CFG" sync --dry-run >"$T/del" 2>&1
rc=$?
[ "$rc" = 3 ] && grep -qxF -- "- /etc/app/a.conf" "$T/del" && grep -q "^would be refused: .*max_deletions" "$T/del" &&
  pass "sync --dry-run: the same, exit 3" || fail "sync --dry-run refused" "exit $rc: $(cat "$T/del")"
[ -e "$ROOT/etc/app/a.conf" ] || fail "refused preview" "a.conf was deleted"

# 5. A force-push: the rewritten commit's changes, then the refusal.
git -C "$R" reset -q --hard HEAD~5
git --no-pager -C "$R" log --oneline | grep -q first || fail "reset" "$(git --no-pager -C "$R" log --oneline)"
printf 'one\ntwo\nthree\nfour\nfive\nsix\n' >"$H/files/etc/app/app.conf"
git -C "$R" add -A && git -C "$R" commit -q --amend -m "first, rewritten"
"$FJORDCTL" --config "$CFG" diff >"$T/fp" 2>&1
rc=$?
if [ "$rc" = 3 ] && grep -q "^+six$" "$T/fp" && grep -q "^would be refused: history rewritten" "$T/fp"; then
  pass "a force-push preview shows the changes, then \"would be refused: history rewritten\", exit 3"
else fail "force-push preview" "exit $rc: $(cat "$T/fp")"; fi
kill "$DAEMON_PID" && wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
"$FJORDD" --config "$CFG" --once --dry-run >"$T/once" 2>"$LOG"
rc=$?
[ "$rc" = 3 ] && grep -q "^+six$" "$T/once" && grep -q "^would be refused: history rewritten" "$T/once" &&
  pass "fjordd --once --dry-run: the changes, then the refusal, exit 3" || fail "fjordd dry run" "exit $rc: $(cat "$T/once" "$LOG")"

# 6. --local DIR: the checkout's edits, not committed, against this host; nothing written.
echo "seven" >>"$H/files/etc/app/app.conf"
printf 'PLAINTEXT-LOCAL-4713\n' | "$FJORDCTL" encrypt -r "$RCPT" >"$H/files/etc/app/token.age"
fp=$(fingerprint "$ROOT"); sfp=$(fingerprint "$STATE")
"$FJORDCTL" --config "$CFG" diff --local "$R" --exit-code >"$T/local" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -qF -- "+++ /etc/app/app.conf (local)" "$T/local" && grep -q "^+six$" "$T/local" && grep -q "^+seven$" "$T/local" &&
  grep -qxF "~ /etc/app/token (secret changed)" "$T/local" && ! grep -q PLAINTEXT "$T/local"; then
  pass "diff --local DIR previews the checkout's uncommitted edits against the host (exit 1: changes), secrets unshown"
else fail "diff --local" "exit $rc: $(cat "$T/local")"; fi
[ "$fp" = "$(fingerprint "$ROOT")" ] && [ "$sfp" = "$(fingerprint "$STATE")" ] &&
  pass "diff --local leaves apply.root and the state dir byte-identical" || fail "diff --local wrote" "$(diff <(echo "$sfp") <(fingerprint "$STATE"))"
rm "$H/files/etc/app/a.conf" "$H/files/etc/app/b.conf"
"$FJORDCTL" --config "$CFG" diff --local "$R" --stat >"$T/local" 2>&1
rc=$?
if [ "$rc" = 3 ] && grep -qxF -- "- /etc/app/a.conf" "$T/local" && grep -qxF "~ /etc/app/app.conf" "$T/local" && ! grep -q '^@@' "$T/local" &&
  grep -q "^would be refused: .*max_deletions = 1" "$T/local"; then
  pass "diff --local --stat over max_deletions: the changes a line each, then \"would be refused\", exit 3"
else fail "diff --local refused" "exit $rc: $(cat "$T/local")"; fi
"$FJORDCTL" --config "$CFG" diff --local "$T/nowhere" >/dev/null 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && grep -q "diff --local: $T/nowhere: not a folder" "$T/err" && pass "diff --local names a folder that is not there" ||
  fail "--local missing" "exit $rc: $(cat "$T/err")"

# 7. --exit-code: 2 on an error (no daemon).
"$FJORDCTL" --config "$CFG" diff --exit-code >/dev/null 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -q "fjordd is not running" "$T/err" && pass "diff --exit-code: 2 on an error" || fail "exit-code 2" "exit $rc: $(cat "$T/err")"

finish
