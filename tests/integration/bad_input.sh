#!/bin/bash
# Invariant 5 (DESIGN.md §7.5) and the repo rules of §4: bad input gives a clear error naming the
# file and the reason, and changes nothing on the host.
# Every case starts from a good applied state (a fresh repo, root and state dir, a good commit
# applied by `fjordd --once`), notes the root's fingerprint (paths, kinds, modes, link targets,
# content) and `current`, then makes the bad change, usually in a commit that also carries good
# changes (so a half-applied commit would show), and runs `fjordd --once`. It must exit 1 (2 for
# a bad agent config), its stderr must hold the expected text, and the root, `current` and the
# list of generations must be unchanged, with no journal and no temp file left behind.
# Then (§7.8: no bad input wedges the agent) every case is followed by a good commit: the last
# good tree again plus a new marker file, after the agent config is put back where the case
# broke it (and the host where the case planted something on it); the next `fjordd --once` must
# exit 0 with the marker and every file of that commit on the host.
# Usage: bad_input.sh BUILD_DIR   (VERBOSE=1 shows what each case printed)
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

SSHD_PID=
cleanup_all() {
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

N=0
# new_case NAME: a fresh repo, root and state with the good commit applied; sets C REPO H ROOT
# STATE CFG. The good commit: files, a manifest mode, a relative symlink, an adopted host file.
new_case() {
  CASE=$1
  N=$((N + 1))
  C=$T/case$N
  REPO=$C/repo H=$C/repo/hosts/web1 ROOT=$C/root STATE=$C/state CFG=$C/fjord.toml
  mkdir -p "$ROOT/etc" "$STATE"
  echo "the host's own issue" >"$ROOT/etc/issue"
  echo "not managed" >"$ROOT/etc/hostname"
  new_repo "$REPO"
  mkdir -p "$H/files/etc/app" "$H/files/srv/www"
  echo "good app" >"$H/files/etc/app/app.conf"
  echo "good motd" >"$H/files/etc/motd"
  echo "issue from Git" >"$H/files/etc/issue"
  echo "<h1>hi</h1>" >"$H/files/srv/www/index.html"
  ln -s app/app.conf "$H/files/etc/app.link"
  printf '[file."/etc/app/app.conf"]\nmode = "0640"\n' >"$H/fjord.toml"
  commit_all "$REPO" good
  write_config "$CFG" "$REPO" "$ROOT" "$STATE"
  GOOD_FAILED=
  if ! "$FJORDD" --config "$CFG" --once >"$C/good.log" 2>&1; then
    GOOD_FAILED="the good commit did not apply: $(tail -2 "$C/good.log")"
  fi
  cp "$CFG" "$C/fjord.toml.good"
  HOST_FIX=
  snapshot
}
# cfg_add SECTION LINE: adds a key to a section of the agent config.
cfg_add() { sed -i "/^\[$1\]\$/a $2" "$CFG"; }
cfg_set_url() { sed -i "s|^url = .*|url = \"$1\"|" "$CFG"; }
# Notes the state a refused run must leave alone.
snapshot() {
  FP0=$(fingerprint "$ROOT")
  CUR0=$(cat "$STATE/current" 2>/dev/null)
  GENS0=$(ls "$STATE/generations" 2>/dev/null | sort | tr '\n' ' ')
  GOODC=$(git -C "$REPO" rev-parse HEAD)   # the last good commit: its tree comes back in then_good
}
# Good changes that ride along in a bad commit: a replaced file and a new one.
noise() {
  echo "motd of a bad commit ($CASE)" >"$H/files/etc/motd"
  echo "new page" >"$H/files/srv/www/new.html"
}
bad_commit() { noise; commit_all "$REPO" "bad: $CASE"; }

# expect RC PATTERN...: runs fjordd --once and checks exit status, stderr and that nothing
# changed. A pattern is a fixed string, or "re:REGEX" (grep -E). Prints one PASS/FAIL line.
# SKIP_JOURNAL=1 leaves out the journal check (a case that checks it on its own line).
expect() {
  local rc_want=$1 p problems=() out rc
  shift
  if [ -n "$GOOD_FAILED" ]; then fail "$CASE" "$GOOD_FAILED"; return; fi
  "$FJORDD" --config "$CFG" --once >"$C/out" 2>"$C/err"
  rc=$?
  out=$(cat "$C/err")
  [ "$rc" = "$rc_want" ] || problems+=("exit $rc, want $rc_want")
  for p in "$@"; do
    if [[ $p == re:* ]]; then grep -qE -- "${p#re:}" <<<"$out" || problems+=("stderr lacks /${p#re:}/")
    else grep -qF -- "$p" <<<"$out" || problems+=("stderr lacks \"$p\""); fi
  done
  [ "$(fingerprint "$ROOT")" = "$FP0" ] || problems+=("the root changed: $(diff <(echo "$FP0") <(fingerprint "$ROOT") | grep '^[<>]' | head -4 | tr '\n' ' ')")
  [ "$(cat "$STATE/current" 2>/dev/null)" = "$CUR0" ] || problems+=("current changed: $CUR0 -> $(cat "$STATE/current" 2>/dev/null)")
  [ "$(ls "$STATE/generations" 2>/dev/null | sort | tr '\n' ' ')" = "$GENS0" ] || problems+=("a generation was recorded")
  [ -n "${SKIP_JOURNAL:-}" ] || [ ! -e "$STATE/journal" ] || problems+=("a journal was left in the state dir")
  [ -z "$(find "$ROOT" -name '*fjord-tmp*' 2>/dev/null | head -1)" ] || problems+=("a temp file was left under the root")
  if [ ${#problems[@]} = 0 ]; then
    pass "$CASE"
    [ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$C/err"
  else
    fail "$CASE" "$(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
    sed 's/^/    /' "$C/err" | head -8
  fi
  [ -n "${NO_GOOD:-}" ] || then_good
  return 0
}

# then_good: the agent config as saved after the good apply, the host put right where the case
# planted something ($HOST_FIX), then a good commit (the last good tree plus a marker) that the
# next `fjordd --once` must apply: exit 0, the marker and every file of the commit on the host.
then_good() {
  local problems=() rc f want got name="$CASE: then a good commit applies at the next fjordd --once"
  [ -z "$GOOD_FAILED" ] || return 0
  cp "$C/fjord.toml.good" "$C/fjord.toml"
  [ -n "${HOST_FIX:-}" ] && eval "$HOST_FIX"
  rm -rf "$H"
  git -C "$REPO" checkout -q "$GOODC" -- hosts/web1
  echo "marker after $CASE" >"$H/files/etc/marker"
  commit_all "$REPO" "good again after: $CASE"
  "$FJORDD" --config "$C/fjord.toml" --once >"$C/then-good.log" 2>&1
  rc=$?
  [ "$rc" = 0 ] || problems+=("exit $rc")
  [ "$(cat "$ROOT/etc/marker" 2>/dev/null)" = "marker after $CASE" ] || problems+=("no marker on the host")
  while read -r mode type id f; do
    f=${f#hosts/web1/files}
    if [ "$mode" = 120000 ]; then want=$(git -C "$REPO" cat-file blob "$id"); got=$(readlink "$ROOT$f")
    else want=$(git -C "$REPO" cat-file blob "$id" | sha1sum); got=$(sha1sum <"$ROOT$f" 2>/dev/null); fi
    [ "$want" = "$got" ] || problems+=("$f differs from the commit")
  done < <(git -C "$REPO" ls-tree -r HEAD hosts/web1/files)
  [ ! -e "$STATE/journal" ] || problems+=("a journal is left")
  if [ ${#problems[@]} = 0 ]; then pass "$name"
  else
    fail "$name" "$(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
    tail -4 "$C/then-good.log" | sed 's/^/    /'
  fi
  return 0
}

# ---- the manifest and the repo's files ------------------------------------------------------
new_case "malformed TOML manifest"
printf '[file."/etc/motd"\nmode = "0600"\n' >"$H/fjord.toml"; bad_commit
expect 1 "re:hosts/web1/fjord\.toml:1:[0-9]+: .*expected '\]'"

new_case "unknown manifest key in a table"
printf '[file."/etc/motd"]\nmodee = "0600"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:2:1: file."/etc/motd": modee: unknown key'

new_case "unknown manifest key at the top"
printf 'colour = "blue"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:1:1:' 'colour' 'unknown key'

new_case "wrong type in the manifest"
printf '[file."/etc/motd"]\nmode = 644\n' >"$H/fjord.toml"; bad_commit
expect 1 're:hosts/web1/fjord\.toml:2:[0-9]+: file\."/etc/motd": mode: ' 'string'

new_case "path traversal: include leaving the repo"
printf 'include = ["../../../.."]\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:1:12: include "../../../..": leaves the repo'

new_case "path traversal: absolute include"
printf 'include = ["/etc"]\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:1:12: include "/etc": absolute'

new_case "path traversal: [file.\"/../etc/x\"]"
printf '[file."/../etc/x"]\nmode = "0600"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:1:7: file."/../etc/x": ".." is not allowed in a host path'

new_case "[file] for a path no files/ provides"
printf '[file."/etc/nothere"]\nmode = "0600"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/fjord.toml:1:1: file."/etc/nothere": no files/ of the merged folders provides /etc/nothere'

new_case "absolute symlink in files/"
ln -s /etc/passwd "$H/files/etc/pw"; bad_commit
expect 1 'hosts/web1/files/etc/pw: symlink escapes apply.root (target "/etc/passwd" is absolute)'

new_case "symlink escaping apply.root via ../.."
ln -s ../../../etc/passwd "$H/files/etc/app/esc"; bad_commit
expect 1 'hosts/web1/files/etc/app/esc: symlink escapes apply.root (target "../../../etc/passwd" leaves /)'

new_case "setuid mode in [file]"
printf '[file."/etc/motd"]\nmode = "4755"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/files/etc/motd: setuid/setgid/sticky bits are refused (mode "4755" at hosts/web1/fjord.toml:2:8)'

new_case "setgid+sticky mode in [file]"
printf '[file."/etc/motd"]\nmode = "3644"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/files/etc/motd: setuid/setgid/sticky bits are refused (mode "3644"'

new_case "unknown owner in [file]"
printf '[file."/etc/motd"]\nowner = "nosuchuser-fjord"\n' >"$H/fjord.toml"; bad_commit
expect 1 'hosts/web1/files/etc/motd: owner "nosuchuser-fjord": no such user on this host'

new_case "protected path: files/etc/fjord/x"
mkdir -p "$H/files/etc/fjord"; echo x >"$H/files/etc/fjord/x"; bad_commit
expect 1 'hosts/web1/files/etc/fjord/x: /etc/fjord/x is protected (apply.protect has /etc/fjord)'

new_case "protected path: files/etc/shadow"
echo "root::0:0:::::" >"$H/files/etc/shadow"; bad_commit
expect 1 'hosts/web1/files/etc/shadow: /etc/shadow is protected (apply.protect has /etc/shadow)'

new_case "oversized file (apply.max_file_size = 1KiB)"
cfg_add apply 'max_file_size = "1KiB"'
head -c 5000 /dev/urandom >"$H/files/etc/big.bin"; bad_commit
expect 1 'hosts/web1/files/etc/big.bin: 5000 bytes, larger than apply.max_file_size (1024 bytes)'

new_case "too many files (apply.max_files = 6)"
cfg_add apply 'max_files = 6'
echo 1 >"$H/files/etc/n1"; echo 2 >"$H/files/etc/n2"; bad_commit   # 5 good + new.html + 2 = 8
expect 1 'hosts/web1/files: 8 files, more than apply.max_files (6)'

new_case "submodule (gitlink) in files/"
noise
git -C "$REPO" add -A
git -C "$REPO" update-index --add --cacheinfo "160000,$(git -C "$REPO" rev-parse HEAD),hosts/web1/files/sub"
git -C "$REPO" commit -qm "bad: submodule"
expect 1 'hosts/web1/files/sub: submodules are refused'

new_case "a .age file that is not age"
echo "not really age" >"$H/files/etc/token.age"; bad_commit
expect 1 'hosts/web1/files/etc/token.age: not an age file'

# ---- the source -----------------------------------------------------------------------------
new_case "missing repo (url: a local path that does not exist)"
bad_commit; cfg_set_url "$C/no-such-repo"
# The reason must say what is wrong: the path is not there (libgit2 says "unsupported URL
# protocol" for a missing local path, which is not the reason).
expect 1 "$C/no-such-repo" 're:([Nn]o such|does not exist|not found|cannot find|missing)'

new_case "missing repo (url: file:// of a path that does not exist)"
bad_commit; cfg_set_url "file://$C/no-such-repo"
expect 1 "file://$C/no-such-repo" "No such file or directory"

new_case "unreadable repo (url: a folder that is not a Git repository)"
bad_commit; mkdir "$C/not-a-repo"; echo hi >"$C/not-a-repo/README"; cfg_set_url "$C/not-a-repo"
expect 1 "could not find repository from '$C/not-a-repo'"

new_case "unreachable server (git://127.0.0.1:1/x)"
bad_commit; cfg_set_url "git://127.0.0.1:1/x"
expect 1 'poll git://127.0.0.1:1/x: failed to connect to 127.0.0.1' 'Connection refused'

new_case "source.path not in the repo"
bad_commit; sed -i 's|^path = .*|path = "hosts/web9"|' "$CFG"
expect 1 'host folder hosts/web9 is not in the repo' '(source.path)'

# Auth failures against an own sshd on loopback (the account need not exist: the key is refused).
if [ -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
  S=$T/ssh
  mkdir -p "$S" /run/sshd
  ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/host"
  ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/client"
  PORT=$(free_port)
  printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n' \
    "$PORT" "$S/host" "$S/sshd.pid" "$S/authorized_keys" >"$S/sshd_config"
  : >"$S/authorized_keys"
  /usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
  SSHD_PID=$!
  wait_port "$PORT" "$SSHD_PID"
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/host.pub")" >"$S/known_hosts"
  echo "# nothing for this server" >"$S/known_hosts_empty"
  SSH_URL="ssh://git@127.0.0.1:$PORT/srv/fleet.git"

  new_case "auth failure (ssh key refused)"
  bad_commit; cfg_set_url "$SSH_URL"
  cfg_add source "ssh_key = \"$S/client\""; cfg_add source "known_hosts = \"$S/known_hosts\""
  expect 1 "poll $SSH_URL: the server refused ssh key $S/client for user git"

  new_case "auth failure (server's host key not in known_hosts)"
  bad_commit; cfg_set_url "$SSH_URL"
  cfg_add source "ssh_key = \"$S/client\""; cfg_add source "known_hosts = \"$S/known_hosts_empty\""
  expect 1 "no entry for [127.0.0.1]:$PORT in $S/known_hosts_empty"
else
  echo "INFO no sshd or not root: the ssh auth failure cases are not run"
fi

new_case "force-push (history rewritten after a good apply)"
echo "second good motd" >"$H/files/etc/motd"; commit_all "$REPO" good2
APPLIED=$(git -C "$REPO" rev-parse HEAD)
"$FJORDD" --config "$CFG" --once >"$C/good2.log" 2>&1 || GOOD_FAILED="the second good commit did not apply: $(tail -2 "$C/good2.log")"
snapshot
git -C "$REPO" reset -q --hard HEAD~1
bad_commit
NO_GOOD=1 expect 1 "history rewritten: refs/heads/main at $(git -C "$REPO" rev-parse --short=12 HEAD) does not contain the applied commit ${APPLIED:0:12}" \
  "accept_history_rewrite" "--accept-rewrite"
cfg_add source 'accept_history_rewrite = true'
if "$FJORDD" --config "$CFG" --once >"$C/accept.log" 2>&1 && grep -qx "motd of a bad commit ($CASE)" "$ROOT/etc/motd"; then
  pass "force-push: applied once source.accept_history_rewrite = true"
else
  fail "force-push: applied once source.accept_history_rewrite = true" "$(tail -2 "$C/accept.log")"
fi
then_good   # with the saved config again: accept_history_rewrite is off, the history is linear again

new_case "deletions over apply.max_deletions (25 > 20)"
mkdir -p "$H/files/srv/www/many"
for i in $(seq 1 25); do echo "$i" >"$H/files/srv/www/many/p$i.html"; done
commit_all "$REPO" good2
"$FJORDD" --config "$CFG" --once >"$C/good2.log" 2>&1 || GOOD_FAILED="the second good commit did not apply: $(tail -2 "$C/good2.log")"
snapshot
rm -r "$H/files/srv/www/many"; bad_commit
expect 1 "the plan deletes 25 files, more than apply.max_deletions = 20; nothing was changed" "fjordctl sync --allow-deletions 25"

# ---- the host -------------------------------------------------------------------------------
new_case "a file where the host has a folder"
mkdir -p "$ROOT/etc/conf.d/sub"; echo "host data" >"$ROOT/etc/conf.d/sub/f"; snapshot
echo "a file" >"$H/files/etc/conf.d"; bad_commit
expect 1 "/etc/conf.d: is a folder on the host; fjord does not replace folders with files"

new_case "a folder where the host has a file"
echo "host data" >"$ROOT/etc/hostfile"; snapshot
mkdir -p "$H/files/etc/hostfile"; echo x >"$H/files/etc/hostfile/x"; bad_commit
expect 1 "/etc/hostfile/x: /etc/hostfile is a symlink or not a folder on the host; fjord does not write through it"

new_case "a fifo where the repo has a file (device files)"
mkfifo "$ROOT/etc/fifo"; snapshot
echo "a file" >"$H/files/etc/fifo"; bad_commit
expect 1 "/etc/fifo: is a device, socket or fifo on the host; fjord leaves it alone"

new_case "host symlink planted at a new folder (root/opt -> outside)"
mkdir -p "$C/outside"; ln -s "$C/outside" "$ROOT/opt"; snapshot
mkdir -p "$H/files/opt/app"; echo x >"$H/files/opt/app/x"; bad_commit
NO_GOOD=1 expect 1 "/opt/app/x: /opt is a symlink or not a folder on the host; fjord does not write through it"
[ -z "$(ls -A "$C/outside")" ] && pass "root/opt -> outside: nothing written outside" || fail "root/opt -> outside: nothing written outside" "$(ls -A "$C/outside")"
then_good   # the good tree has no /opt: the link may stay

new_case "host symlink planted in a parent path (root/etc -> outside)"
mkdir -p "$C/outside"; mv "$ROOT/etc" "$C/etc.real"; ln -s "$C/outside" "$ROOT/etc"; snapshot
HOST_FIX='rm "$ROOT/etc" && mv "$C/etc.real" "$ROOT/etc"'   # the good tree writes /etc: the host is put right first
mkdir -p "$H/files/etc/newdir"; echo x >"$H/files/etc/newdir/f"; bad_commit   # + /etc/motd changed
NO_GOOD=1 SKIP_JOURNAL=1 expect 1 "/etc is a symlink or not a folder on the host; fjord does not write through it"
[ -z "$(ls -A "$C/outside")" ] && pass "root/etc -> outside: nothing written outside" || fail "root/etc -> outside: nothing written outside" "$(ls -A "$C/outside")"
# The drift pass of that run finds every managed file under /etc unreachable and tries to
# correct them. Nothing was written, so nothing may be left to recover: no journal, and the
# next start must not fail in recovery (a daemon that cannot start is wedged until a human
# removes the link).
"$FJORDD" --config "$CFG" --once >"$C/out2" 2>"$C/err2"
rc2=$?
if [ ! -e "$STATE/journal" ] && ! grep -q "recover:" "$C/err2" && [ "$rc2" = 1 ] && [ "$(fingerprint "$ROOT")" = "$FP0" ]; then
  pass "root/etc -> outside: no journal left, the next start is not wedged in recovery"
else
  fail "root/etc -> outside: no journal left, the next start is not wedged in recovery" \
    "journal $( [ -e "$STATE/journal" ] && echo left || echo absent); next run exit $rc2: $(grep -m1 -E 'recover|error' "$C/err2" || tail -1 "$C/err2")"
fi
then_good

new_case "host symlink planted in a parent path, no new commit (drift only)"
mkdir -p "$C/outside"; mv "$ROOT/etc" "$C/etc.real"; ln -s "$C/outside" "$ROOT/etc"; snapshot
HOST_FIX='rm "$ROOT/etc" && mv "$C/etc.real" "$ROOT/etc"'
# The managed files under /etc are out of reach: the host is not on its good generation, so
# --once must not exit 0 ("exit 0 when the host ends on the newest good state, 1 otherwise").
NO_GOOD=1 SKIP_JOURNAL=1 expect 1 "/etc is a symlink or not a folder on the host; fjord does not write through it"
[ -z "$(ls -A "$C/outside")" ] && pass "root/etc -> outside, drift only: nothing written outside" || fail "root/etc -> outside, drift only: nothing written outside" "$(ls -A "$C/outside")"
then_good

new_case "host symlink planted at a managed file (etc/motd -> outside/motd)"
mkdir -p "$C/outside"; echo "outside, not fjord's" >"$C/outside/motd"
rm "$ROOT/etc/motd"; ln -s "$C/outside/motd" "$ROOT/etc/motd"
bad_commit
"$FJORDD" --config "$CFG" --once >"$C/out" 2>"$C/err"
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$C/outside/motd")" = "outside, not fjord's" ] && [ -f "$ROOT/etc/motd" ] && [ ! -L "$ROOT/etc/motd" ] &&
  grep -qx "motd of a bad commit ($CASE)" "$ROOT/etc/motd"; then
  pass "$CASE: the link is replaced, nothing written through it"
else
  fail "$CASE: the link is replaced, nothing written through it" "exit $rc; outside: $(cat "$C/outside/motd"); $(ls -l "$ROOT/etc/motd")"
fi
snapshot   # the bad commit applied here (it was good): its tree is the last good one
then_good
[ "$(cat "$C/outside/motd")" = "outside, not fjord's" ] && pass "$CASE: still nothing written outside after the good commit" ||
  fail "$CASE: still nothing written outside after the good commit" "$(cat "$C/outside/motd")"

# ---- the agent config -----------------------------------------------------------------------
# config_case NAME SED-EXPR PATTERN...: a bad edit of the agent config; exit 2 with FILE:LINE:COL.
# @CFG@ in a pattern stands for the config file's path.
config_case() {
  local name=$1 expr=$2 p pats=()
  shift 2
  new_case "bad agent config: $name"
  bad_commit                      # a new commit waits: a config error must not apply it
  sed -i "$expr" "$CFG"
  for p in "$@"; do pats+=("${p//@CFG@/$CFG}"); done
  expect 2 "${pats[@]}"
}
config_case "TOML syntax" 's/^\[apply\]$/[apply/' "re:^fjordd: @CFG@:6:7: .*expected '\]'"
config_case "unknown key" 's/^root = /roto = /' "fjordd: @CFG@:7:1: apply.roto: unknown key"
config_case "wrong type" 's/^root = .*/root = 5/' "fjordd: @CFG@:7:8: apply.root: must be a string"
config_case "bad duration" 's/^poll_interval = .*/poll_interval = "soon"/' \
  "fjordd: @CFG@:5:17: source.poll_interval: bad duration \"soon\""
config_case "relative apply.root" 's|^root = .*|root = "relative/root"|' "re:^fjordd: @CFG@:7:8: apply.root: .*absolute"
# Every problem of the config, a line each, in file order (issue 19: only the first was named).
config_case "three problems, every one named" 's/^poll_interval = .*/poll_interval = "soon"/; s/^root = /roto = /; s/^textfile = .*/textfile = 5/' \
  "fjordd: @CFG@:5:17: source.poll_interval: bad duration \"soon\"" "fjordd: @CFG@:7:1: apply.roto: unknown key" \
  "fjordd: @CFG@:11:12: metrics.textfile: must be a string"
lines=$(grep -c '' "$C/err")
[ "$lines" = 3 ] && [ "$(grep -n 'apply.roto' "$C/err" | cut -d: -f1)" = 2 ] && pass "a config with three problems prints three lines, in file order" ||
  fail "config problems: three lines" "$lines lines: $(cat "$C/err")"
# fjordctl reads the same config: the same three lines, exit 2.
sed 's/^poll_interval = .*/poll_interval = "soon"/; s/^root = /roto = /; s/^textfile = .*/textfile = 5/' "$C/fjord.toml.good" >"$C/bad3.toml"
"$FJORDCTL" --config "$C/bad3.toml" history >"$C/ctl.out" 2>"$C/ctl.err"; rc=$?
[ "$rc" = 2 ] && [ "$(grep -c '' "$C/ctl.err")" = 3 ] && grep -qF "fjordctl: $C/bad3.toml:11:12: metrics.textfile: must be a string" "$C/ctl.err" &&
  pass "fjordctl with a config of three problems prints three lines and exits 2" || fail "fjordctl config problems" "rc=$rc $(cat "$C/ctl.err")"
new_case "bad agent config: missing file"
bad_commit
CFG=$C/absent.toml expect 2 "$C/absent.toml" "No such file or directory"

finish
