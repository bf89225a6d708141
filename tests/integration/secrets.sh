#!/bin/bash
# Secrets end to end: the age authors' test vectors (npm cctv-age 0.2.0) through fjord's
# decryption; interop both ways with Debian's `age`; .age files applied from a real Git repo by
# fjordd --once (content, mode 0600), drift correction and rollback of a secret; plaintext never
# in fjordd's log, status.json, the state dir or `fjordctl diff`; tampered or foreign ciphertext
# refused with the root unchanged.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
PROBE=$BUILD/tests/age_vector_probe

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

# ---------------------------------------------------------------------------------------------
# 1. The age authors' test vectors. Every X25519 vector must meet its `expect:`; passphrase
#    (scrypt) and post-quantum vectors are outside fjord's scope and counted as skipped.
VEC=$T/vectors
mkdir -p "$VEC"
if (cd "$VEC" && timeout 180 npm pack --silent --cache "$VEC/npm-cache" cctv-age@0.2.0 >npm.log 2>&1) &&
  tar -xzf "$VEC"/cctv-age-0.2.0.tgz -C "$VEC" &&
  (cd "$VEC" && node -e 'const v=require("./package/index.js"),fs=require("fs");fs.mkdirSync("vec");for(const k in v)fs.writeFileSync("vec/"+k,Buffer.from(v[k]))'); then
  n=$(find "$VEC/vec" -type f | wc -l)
  [ "$n" = 143 ] && pass "npm cctv-age 0.2.0 gives the 143 test vectors" || fail "test vectors" "found $n, want 143"
  "$PROBE" "$VEC"/vec/* >"$T/probe.out" 2>&1
  p=0 f=0 s=0
  while read -r verdict name rest; do
    case $verdict in
      PASS) pass "age vector $name"; p=$((p + 1)) ;;
      FAIL) fail "age vector ${name%:}" "$rest"; f=$((f + 1)) ;;
      SKIP) echo "SKIP ${name%:} $rest"; s=$((s + 1)) ;;
      *) fail "age vector probe" "unexpected output: $verdict $name $rest"; f=$((f + 1)) ;;
    esac
  done <"$T/probe.out"
  echo "age vectors: $p passed, $f failed, $s skipped (passphrase or post-quantum)"
  [ $((p + f + s)) = "$n" ] && [ "$p" -gt 0 ] && pass "every vector was judged ($p X25519, $s skipped)" ||
    fail "vector count" "$p + $f + $s != $n"
  # The probe can fail: a vector whose expectation is changed must be reported.
  sed '1s/^expect: success$/expect: header failure/' "$VEC/vec/x25519" >"$T/x25519_mislabelled"
  if ! "$PROBE" "$T/x25519_mislabelled" >"$T/probe.neg" 2>&1 && grep -q '^FAIL x25519_mislabelled: expected header failure, got success' "$T/probe.neg"; then
    pass "the vector probe reports a vector it does not meet"
  else
    fail "probe negative control" "$(cat "$T/probe.neg")"
  fi
else
  fail "age test vectors" "could not get them (npm registry unreachable, or npm/node missing): $(tail -3 "$VEC/npm.log" 2>/dev/null)"
fi

# ---------------------------------------------------------------------------------------------
# 2. The host identity and interop with Debian's age, both ways.
R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
ID=$STATE/age/identity
mkdir -p "$ROOT"
new_repo "$R"
mkdir -p "$H/files/etc/app"
echo "port=80" >"$H/files/etc/app/app.conf"
commit_all "$R" "first"
# No [secrets] table: the identity's default follows state.dir into the scratch folder.
write_config "$CFG" "$R" "$ROOT" "$STATE" '[log]' 'level = "debug"'
sed -i "s|^\[source\]$|[source]\nssh_key = \"$T/ssh/id_ed25519\"|" "$CFG"
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }

if command -v age >/dev/null && command -v age-keygen >/dev/null; then
  have_age=1
else
  have_age=0
  fail "age is installed" "Debian's age package is missing (bash tests/deps.sh --test installs it)"
fi

RCPT=$("$FJORDCTL" --config "$CFG" identity recipient 2>"$T/id.err")
if [[ $RCPT == age1* ]] && [ "$(stat -c %a "$ID")" = 600 ] && [ "$(stat -c %a "$STATE/age")" = 700 ] &&
  grep -q '^AGE-SECRET-KEY-1[0-9A-Z]*$' "$ID"; then
  pass "fjordctl identity makes the identity (0600 in a 0700 folder) and prints its age1 recipient"
else
  fail "identity" "$RCPT $(cat "$T/id.err") $(ls -la "$STATE/age" 2>&1)"
fi
[ "$have_age" = 1 ] && { [ "$(age-keygen -y "$ID")" = "$RCPT" ] && pass "age-keygen -y derives the same recipient from fjord's identity" ||
  fail "age-keygen -y" "$(age-keygen -y "$ID" 2>&1) vs $RCPT"; }
before=$(sha256sum "$ID")
once
[ "$before" = "$(sha256sum "$ID")" ] && pass "fjordd's start leaves an existing identity as it is" || fail "identity kept" "it changed"
"$FJORDCTL" --config "$CFG" identity >"$T/id.out" 2>&1
grep -q "^age recipient:  $RCPT$" "$T/id.out" && grep -q "^ssh deploy key: none: $T/ssh/id_ed25519.pub does not exist" "$T/id.out" &&
  pass "fjordctl identity says plainly when there is no SSH deploy key" || fail "identity without ssh key" "$(cat "$T/id.out")"
mkdir -p "$T/ssh" && ssh-keygen -q -t ed25519 -N '' -C fjord-test -f "$T/ssh/id_ed25519"
"$FJORDCTL" --config "$CFG" identity >"$T/id.out" 2>&1
grep -qF "ssh deploy key: $(cat "$T/ssh/id_ed25519.pub")" "$T/id.out" && pass "fjordctl identity prints the SSH deploy public key" ||
  fail "identity ssh" "$(cat "$T/id.out")"

if [ "$have_age" = 1 ]; then
  printf 'laptop secret\n' | "$FJORDCTL" encrypt -r "$RCPT" >"$T/by-fjord.age" &&
    [ "$(age -d -i "$ID" "$T/by-fjord.age")" = "laptop secret" ] && pass "age -d decrypts fjordctl encrypt's output" ||
    fail "fjordctl encrypt -> age" "$(age -d -i "$ID" "$T/by-fjord.age" 2>&1)"
  head -c 200000 /dev/urandom >"$T/big"
  age-keygen -o "$T/other.key" 2>/dev/null
  OTHER=$(age-keygen -y "$T/other.key")
  "$FJORDCTL" encrypt -a -r "$RCPT" -r "$OTHER" <"$T/big" >"$T/big.asc"
  if head -1 "$T/big.asc" | has -- '-----BEGIN AGE ENCRYPTED FILE-----' && age -d -i "$ID" "$T/big.asc" | cmp -s - "$T/big" &&
    age -d -i "$T/other.key" "$T/big.asc" | cmp -s - "$T/big"; then
    pass "fjordctl encrypt -a to two recipients: age decrypts 200 kB (4 chunks) with either identity"
  else
    fail "fjordctl encrypt -a, two recipients" "age could not decrypt it"
  fi
  "$FJORDCTL" encrypt -r age1notarecipient </dev/null >/dev/null 2>"$T/enc.err"
  [ $? = 2 ] && grep -q "not an age X25519 recipient" "$T/enc.err" && pass "fjordctl encrypt refuses a bad recipient (exit 2)" ||
    fail "encrypt bad recipient" "$(cat "$T/enc.err")"
fi

# ---------------------------------------------------------------------------------------------
# 3. .age files made by `age` applied by fjordd from a real Git repo.
S1="DB_PASSWORD=fjord-s3cret-$RANDOM$RANDOM-one"
S2="API_TOKEN=fjord-s3cret-$RANDOM$RANDOM-two"
S3="DB_PASSWORD=fjord-s3cret-$RANDOM$RANDOM-rotated"
S0="DB_PASSWORD=fjord-s3cret-$RANDOM$RANDOM-typed-on-the-host" # there before fjord: adopted, kept sealed
mkdir -p "$ROOT/etc/app" && printf '%s\n' "$S0" >"$ROOT/etc/app/db.env"
if [ "$have_age" = 1 ]; then
  printf '%s\n' "$S1" | age -r "$RCPT" -o "$H/files/etc/app/db.env.age"
  printf '%s\n' "$S2" | age -a -r "$RCPT" -o "$H/files/etc/app/api.token.age"
else
  printf '%s\n' "$S1" | "$FJORDCTL" encrypt -r "$RCPT" >"$H/files/etc/app/db.env.age"
  printf '%s\n' "$S2" | "$FJORDCTL" encrypt -a -r "$RCPT" >"$H/files/etc/app/api.token.age"
fi
printf '[file."/etc/app/api.token"]\nmode = "0640"\n' >"$H/fjord.toml"
commit_all "$R" "secrets"
if once && [ "$(cat "$ROOT/etc/app/db.env")" = "$S1" ] && [ "$(stat -c %a "$ROOT/etc/app/db.env")" = 600 ] &&
  [ "$(cat "$ROOT/etc/app/api.token")" = "$S2" ] && [ "$(stat -c %a "$ROOT/etc/app/api.token")" = 640 ] &&
  [ ! -e "$ROOT/etc/app/db.env.age" ]; then
  pass "fjordd decrypts what age encrypted (binary and armored): suffix dropped, 0600 by default, manifest mode honoured"
else
  fail "apply secrets" "$(cat "$LOG")"
fi

# No plaintext in the state dir (objects, generations, status.json, stat cache), the Git cache's
# objects, or the log.
no_plaintext() { # WHERE...: fails when any secret shows up
  local s
  for s in "$S0" "$S1" "$S2" "$S3"; do
    grep -rqF -- "${s#*=}" "$@" 2>/dev/null && return 1
  done
  git -C "$STATE/repo" cat-file --batch-all-objects --batch 2>/dev/null | has -aF -e "${S0#*=}" -e "${S1#*=}" -e "${S2#*=}" -e "${S3#*=}" && return 1
  return 0
}
no_plaintext "$STATE" "$LOG" && grep -q '"generation": 2' "$STATE/status.json" &&
  pass "no plaintext (nor the adopted original) in the state dir, status.json, the Git cache or fjordd's debug log" ||
  fail "plaintext leak" "found in $STATE or $LOG"
! no_plaintext "$ROOT" && pass "the plaintext check can fail: it finds the secrets in the root" || fail "plaintext check" "blind"
gen_files "$STATE" 2 | has -E "^f /etc/app/db.env [0-9a-f]{40} 0600 root root [0-9a-f]{64} " &&
  pass "the generation keeps the ciphertext's blob id and a 64-hex keyed digest" || fail "generation entry" "$(gen_files "$STATE" 2)"

# Drift: a hand edit of a secret is found by its keyed digest and put back by decrypting again.
echo "DB_PASSWORD=typed-by-hand" >"$ROOT/etc/app/db.env"
once
if [ "$(cat "$ROOT/etc/app/db.env")" = "$S1" ] && grep -q "drift: /etc/app/db.env: content changed" "$LOG" &&
  ! grep -q "typed-by-hand" "$LOG"; then
  pass "drift on a secret is detected by its keyed digest and corrected"
else
  fail "secret drift" "$(cat "$LOG")"
fi

# ---------------------------------------------------------------------------------------------
# 4. fjordctl diff with the daemon running: "secret changed", never content. Suspended first,
#    so the daemon's own first poll does not apply the commit before diff sees it.
printf '%s\n' "$S3" | "$FJORDCTL" encrypt -r "$RCPT" >"$H/files/etc/app/db.env.age"
commit_all "$R" "rotate"
"$FJORDCTL" --config "$CFG" suspend >/dev/null 2>&1
"$FJORDD" --config "$CFG" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$STATE/control.sock" ] && break; sleep 0.1; done
"$FJORDCTL" --config "$CFG" diff >"$T/diff" 2>&1
if grep -q '^~ /etc/app/db.env (secret changed)$' "$T/diff" && no_plaintext "$T/diff" && [ "$(cat "$ROOT/etc/app/db.env")" = "$S1" ]; then
  pass "fjordctl diff says \"secret changed\" and shows no content"
else
  fail "diff" "$(cat "$T/diff")"
fi
"$FJORDCTL" --config "$CFG" resume >/dev/null 2>&1
"$FJORDCTL" --config "$CFG" sync >"$T/sync" 2>&1
[ "$(cat "$ROOT/etc/app/db.env")" = "$S3" ] && no_plaintext "$STATE" "$T/daemon.log" "$T/sync" &&
  pass "the rotated secret is applied; still no plaintext in the state dir or the daemon's log" || fail "rotate" "$(cat "$T/sync")"
"$FJORDCTL" --config "$CFG" render "$H" >"$T/render" 2>&1
grep -q '^f 0600 root:root /etc/app/db.env (secret)$' "$T/render" && no_plaintext "$T/render" &&
  pass "fjordctl render on the host marks secrets and shows no content" || fail "render" "$(cat "$T/render")"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""

# Rollback decrypts the older ciphertext again, from the Git cache.
prev=$(($(cat "$STATE/current") - 1))
"$FJORDCTL" --config "$CFG" rollback "$prev" >"$T/rb" 2>&1
[ "$(cat "$ROOT/etc/app/db.env")" = "$S1" ] && no_plaintext "$STATE" && pass "rollback brings the previous secret back, decrypting again" ||
  fail "rollback" "$(cat "$T/rb")"
"$FJORDCTL" --config "$CFG" resume >/dev/null 2>&1
once

# ---------------------------------------------------------------------------------------------
# 5. Refusals: tampered, truncated, foreign. Nothing of the generation is applied.
refused() { # NAME WHAT: the commit fails, the log names the file and WHAT, the root is unchanged
  local fp cur
  fp=$(fingerprint "$ROOT")
  cur=$(cat "$STATE/current")
  if ! once && grep -q "hosts/web1/files/etc/app/db.env.age: .*$2" "$LOG" && [ "$fp" = "$(fingerprint "$ROOT")" ] &&
    [ "$cur" = "$(cat "$STATE/current")" ] && [ ! -e "$ROOT/etc/app/new.conf" ]; then
    pass "$1: refused, naming the file, the root unchanged"
  else
    fail "$1" "$(cat "$LOG")"
  fi
}
good=$(cat "$H/files/etc/app/db.env.age" | base64 -w0)
echo "new" >"$H/files/etc/app/new.conf"
python3 - "$H/files/etc/app/db.env.age" <<'EOF'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
d[-5] ^= 0x01  # inside the last chunk's tag
open(p, 'wb').write(d)
EOF
commit_all "$R" "tampered"
refused "a tampered chunk" "age payload"
echo "$good" | base64 -d | head -c 150 >"$H/files/etc/app/db.env.age"
commit_all "$R" "truncated"
refused "a truncated .age file" "age"
echo "$good" | base64 -d | sed '2s/^-> X25519 /-> X25519 AAAA/' >"$H/files/etc/app/db.env.age"
commit_all "$R" "bad stanza"
refused "a malformed X25519 stanza" "age header"
echo "$good" | base64 -d | python3 -c 'import sys; d=sys.stdin.buffer.read(); i=d.index(b"\n--- ")+5; sys.stdout.buffer.write(d[:i]+(b"B" if d[i:i+1]!=b"B" else b"C")+d[i+1:])' >"$H/files/etc/app/db.env.age"
commit_all "$R" "bad mac"
refused "a bad header MAC" "MAC does not match"
if [ "$have_age" = 1 ]; then
  printf '%s\n' "$S3" | age -r "$OTHER" -o "$H/files/etc/app/db.env.age"
  commit_all "$R" "foreign"
  refused "a file encrypted to another host" "not encrypted to this host's age recipient ($RCPT)"
fi
no_plaintext "$STATE" "$LOG" && pass "after the refusals, still no plaintext anywhere in the state dir or log" || fail "leak after refusals" ""

# Git drops the secret: the file that was there before fjord comes back, unsealed on the host only.
git -C "$R" rm -q "$H/files/etc/app/db.env.age" && commit_all "$R" "drop the secret"
once && [ "$(cat "$ROOT/etc/app/db.env")" = "$S0" ] && no_plaintext "$STATE" "$LOG" &&
  pass "when Git drops a secret, the adopted original (kept sealed) comes back" || fail "restore sealed original" "$(cat "$LOG")"

finish
