#!/bin/bash
# Signed commits (source.allowed_signers) with commits signed by the real
# `git -c gpg.format=ssh commit -S`, each verdict cross-checked with OpenSSH's own
# `ssh-keygen -Y verify` (directly, and through git verify-commit): a commit by an allowed
# ed25519 key applies; unsigned, foreign-key, rsa-key, wrong-namespace and tampered commits are
# refused with the signer's fingerprint and leave the host unchanged; a refusal is not looked at
# again by polls until a new commit, only when the operator asks.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log; AS=$T/allowed_signers
H=$R/hosts/web1
mkdir -p "$ROOT" "$T/keys"
for k in alice mallory; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$T/keys/$k"; done
ssh-keygen -q -t rsa -b 3072 -N '' -C rsa -f "$T/keys/rsa"
fp() { ssh-keygen -lf "$T/keys/$1.pub" | awk '{print $2}'; }
# The principal is the committer's address, as git verify-commit looks it up.
{
  echo "# fjord test signers"
  echo "t@fjord.invalid namespaces=\"git\" $(cat "$T/keys/alice.pub")"
  echo "t@fjord.invalid $(cat "$T/keys/rsa.pub")"
} >"$AS"

new_repo "$R"
git -C "$R" config gpg.format ssh
git -C "$R" config gpg.ssh.allowedSignersFile "$AS"
mkdir -p "$H/files/etc"
# commit_signed KEY MESSAGE: a real SSH-signed commit of the work tree.
commit_signed() { git -C "$R" add -A && git -C "$R" -c user.signingkey="$T/keys/$1" commit -q -S -m "$2" --allow-empty; }
write_config "$CFG" "$R" "$ROOT" "$STATE"
sed -i "s|^\[source\]$|[source]\nallowed_signers = \"$AS\"|" "$CFG"
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }

# ssh-keygen -Y verify on the commit's own signature: the gpgsig header is the signature, the
# commit without it is the signed data (what git verify-commit hands ssh-keygen too).
sshkeygen_verify() {
  local c; c=$(git -C "$R" rev-parse "${1:-HEAD}")
  git -C "$R" cat-file commit "$c" | awk '/^gpgsig /{s=1; sub(/^gpgsig /,""); print > "/dev/stderr"; next}
    s && /^ /{sub(/^ /,""); print > "/dev/stderr"; next} {s=0; print}' >"$T/payload" 2>"$T/sig"
  ssh-keygen -Y verify -f "$AS" -I t@fjord.invalid -n git -s "$T/sig" <"$T/payload" >"$T/skv" 2>&1
}

# 1. Signed by the allowed ed25519 key: applied.
echo one >"$H/files/etc/motd"
commit_signed alice "signed by alice"
if sshkeygen_verify && git -C "$R" verify-commit HEAD >/dev/null 2>&1; then
  pass "ssh-keygen -Y verify and git verify-commit accept alice's commit"
else
  fail "reference verify of alice's commit" "$(cat "$T/skv")"
fi
if once && [ "$(cat "$ROOT/etc/motd" 2>/dev/null)" = one ] && grep -q "signed by $(fp alice)" "$LOG"; then
  pass "a commit signed by an allowed ed25519 key is applied, and the log names the key"
else
  fail "signed commit applies" "$(cat "$LOG")"
fi
good=$(fingerprint "$ROOT")

# refused NAME WANT: fjordd --once refuses HEAD with WANT in its output and in status, exits 1,
# and the host is exactly as before.
refused() {
  if once; then fail "$1" "fjordd --once exited 0: $(cat "$LOG")"; return; fi
  "$FJORDCTL" --config "$CFG" status >"$T/st" 2>&1
  if ! grep -qF -- "$2" "$LOG"; then fail "$1" "log lacks '$2': $(cat "$LOG")"
  elif ! grep -qF -- "$2" "$T/st"; then fail "$1" "status lacks '$2': $(cat "$T/st")"
  elif [ "$(fingerprint "$ROOT")" != "$good" ]; then fail "$1" "the host changed"
  else pass "$1"; fi
}

# 2. Unsigned.
echo two >"$H/files/etc/motd"
commit_all "$R" "unsigned"
git -C "$R" verify-commit HEAD >/dev/null 2>&1 && fail "git verify-commit on an unsigned commit" "accepted"
refused "an unsigned commit is refused, host unchanged" "not signed"

# 3. Signed by a key that is not allowed.
commit_signed mallory "signed by mallory"
! sshkeygen_verify && ! git -C "$R" verify-commit HEAD >/dev/null 2>&1 &&
  pass "ssh-keygen -Y verify refuses mallory's commit too" || fail "reference verify of mallory" "$(cat "$T/skv")"
refused "a commit signed by an unknown key is refused, naming its fingerprint" "signed by $(fp mallory), a key that is not in $AS"

# 4. Signed by an RSA key the allowed-signers file lists: OpenSSH accepts it, fjord does not.
commit_signed rsa "signed by rsa"
sshkeygen_verify && pass "ssh-keygen -Y verify accepts the rsa commit (allowed there)" || fail "reference verify of rsa" "$(cat "$T/skv")"
refused "an rsa-signed commit is refused (only ssh-ed25519)" "signed with ssh-rsa key (key $(fp rsa)); fjord accepts only ssh-ed25519 keys"

# 5. Signed by alice's key for another namespace (git's signing program swapped for one that
#    signs with -n other).
cat >"$T/sign-other" <<'EOF'
#!/bin/bash
args=(); prev=""
for a in "$@"; do [ "$prev" = -n ] && a=other; args+=("$a"); prev=$a; done
exec ssh-keygen "${args[@]}"
EOF
chmod +x "$T/sign-other"
git -C "$R" add -A && git -C "$R" -c gpg.ssh.program="$T/sign-other" -c user.signingkey="$T/keys/alice" commit -q -S -m "namespace other" --allow-empty
grep -q 'other' <(git -C "$R" cat-file commit HEAD | sed -n '/^gpgsig/,/END SSH/p' | sed 's/^gpgsig //; s/^ //' | sed '1d;$d' | base64 -d 2>/dev/null | strings) ||
  fail "namespace fixture" "the signature is not for namespace other"
! sshkeygen_verify && pass "ssh-keygen -Y verify -n git refuses the namespace-other commit too" || fail "reference verify of namespace" "$(cat "$T/skv")"
refused "a signature for namespace 'other' is refused" "signed for namespace 'other', not 'git' (key $(fp alice))"

# 6. Tampered: alice's signed commit with its message changed, same signature.
commit_signed alice "the real message"
git -C "$R" cat-file commit HEAD | sed 's/^the real message$/a forged message/' >"$T/forged"
forged=$(git -C "$R" hash-object -t commit -w "$T/forged")
git -C "$R" update-ref refs/heads/main "$forged"
! sshkeygen_verify && pass "ssh-keygen -Y verify refuses the tampered commit too" || fail "reference verify of tampered" "$(cat "$T/skv")"
refused "a tampered commit is refused" "the signature (key $(fp alice)) does not verify"

# 7. A refused head is not looked at again by polls (even once the file would allow it), only when
#    the operator asks: mallory becomes allowed, the running daemon keeps refusing, fjordctl sync applies.
commit_signed mallory "mallory again"
echo three >"$H/files/etc/motd"
commit_signed mallory "mallory with content"
cp "$AS" "$AS.orig"
"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do grep -q "signed by $(fp mallory)" "$T/daemon.log" && break; sleep 0.1; done
echo "t@fjord.invalid $(cat "$T/keys/mallory.pub")" >>"$AS"
sleep 2.5 # two more polls
if [ "$(fingerprint "$ROOT")" = "$good" ] && [ "$(grep -c "signed by $(fp mallory)" "$T/daemon.log")" = 1 ]; then
  pass "polls do not check a refused commit again"
else
  fail "refusal remembered" "$(cat "$T/daemon.log")"
fi
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
[ "$(cat "$ROOT/etc/motd")" = three ] && pass "fjordctl sync looks again and applies once the key is allowed" ||
  fail "manual sync after allowing" "$(cat "$T/sync") $(cat "$T/daemon.log")"
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
cp "$AS.orig" "$AS"
good=$(fingerprint "$ROOT")

# 8. A malformed allowed-signers file: the error names FILE:LINE, nothing changes.
echo four >"$H/files/etc/motd"
commit_signed alice "alice after"
printf '# ok\nt@fjord.invalid\n' >"$T/bad_signers"
sed -i "s|^allowed_signers = .*|allowed_signers = \"$T/bad_signers\"|" "$CFG"
! once && grep -qF "$T/bad_signers:2: a principal but no key" "$LOG" && [ "$(fingerprint "$ROOT")" = "$good" ] &&
  pass "a malformed allowed_signers names file:line and changes nothing" || fail "malformed signers" "$(cat "$LOG")"
sed -i "s|^allowed_signers = .*|allowed_signers = \"$T/missing\"|" "$CFG"
! once && grep -qF "$T/missing" "$LOG" && [ "$(fingerprint "$ROOT")" = "$good" ] &&
  pass "a missing allowed_signers file is a clear error" || fail "missing signers" "$(cat "$LOG")"
sed -i "s|^allowed_signers = .*|allowed_signers = \"$AS\"|" "$CFG"
once && [ "$(cat "$ROOT/etc/motd")" = four ] && pass "the next commit signed by alice applies" || fail "alice after" "$(cat "$LOG")"

finish
