#!/bin/bash
# The gate check's ls-refs client (src/fleet/ls_refs.*) against real Git servers on loopback:
# git daemon (git://), an own sshd with `AcceptEnv GIT_PROTOCOL` (v2) and one without (v0
# fallback), and git-upload-pack for file:// and a path, each through the sandboxed child fjordd
# uses. A status repo of 900 refs: a prefix lists exactly what `git for-each-ref` lists under it,
# and reads far fewer bytes than the v0 advertisement.
# Usage: ls_refs.sh BUILD_DIR. Needs root (sshd, the fjordgit account).
set -u
. "$(dirname "$0")/../lib.sh"
PROBE=$BUILD/tests/ls_refs_probe
[ -x "$PROBE" ] || { echo "no $PROBE (ninja -C $BUILD tests/ls_refs_probe)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root: sshd and the fjordgit account" >&2; exit 2; }
chmod 755 "$T"
SSHD_PIDS=()
trap 'for p in "${SSHD_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup_dirs' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# --- the status repo: 300 hosts, each with a report ref and a marker in one of three waves ---
git init -q --bare "$T/srv/status.git"
C=$(git -C "$T/srv/status.git" commit-tree -m r "$(git -C "$T/srv/status.git" mktree </dev/null)")
for i in $(seq 1 300); do
    w=rest; [ "$i" -le 10 ] && w=canary; [ "$i" -gt 10 ] && [ "$i" -le 60 ] && w=early
    echo "create refs/fjord/hosts/host$i $C"
    echo "create refs/fjord/waves/$w/host$i $C"
    echo "create refs/heads/h$i $C"
done | git -C "$T/srv/status.git" update-ref --stdin
listed() { git -C "$T/srv/status.git" for-each-ref --format='%(objectname) %(refname)' "$@" | sort; }
V0_BYTES=$(git-upload-pack --advertise-refs "$T/srv/status.git" | wc -c)
start_git_daemon "$T/srv" || { echo "git daemon did not start"; exit 1; }
GIT_URL="git://127.0.0.1:$GITD_PORT/status.git"

# --- two sshd: one passes GIT_PROTOCOL on (v2), one does not (the server speaks v0) ---
id fjordgit >/dev/null 2>&1 || useradd -m -s /usr/bin/git-shell fjordgit
usermod -p '*' fjordgit
mkdir -p /run/sshd
# sshd's copy belongs to its account (git refuses a repo of another owner; so would root's).
mkdir "$T/sshsrv"
cp -a "$T/srv/status.git" "$T/sshsrv/"
chown -R fjordgit "$T/sshsrv"
S=$T/ssh
mkdir "$S"
for k in host other_host client; do ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/$k"; done
cp "$S/client.pub" "$S/authorized_keys"
chmod 644 "$S/authorized_keys"
start_sshd() { # NAME EXTRA-LINE: sets SSH_PORT
    SSH_PORT=$(free_port)
    printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAllowUsers fjordgit\n%s\n' \
        "$SSH_PORT" "$S/host" "$S/$1.pid" "$S/authorized_keys" "$2" >"$S/$1.conf"
    /usr/sbin/sshd -D -e -f "$S/$1.conf" 2>"$S/$1.log" &
    SSHD_PIDS+=($!)
    wait_port "$SSH_PORT" "$!" || { echo "sshd $1 did not start:"; cat "$S/$1.log"; exit 1; }
    echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/host.pub")" >"$S/kh_$1"
    echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/other_host.pub")" >"$S/kh_wrong_$1"
}
start_sshd v2 'AcceptEnv GIT_PROTOCOL'
SSH_URL="ssh://fjordgit@127.0.0.1:$SSH_PORT$T/sshsrv/status.git"
KH=$S/kh_v2
KH_WRONG=$S/kh_wrong_v2
start_sshd v0 ''
SSH0_URL="ssh://fjordgit@127.0.0.1:$SSH_PORT$T/sshsrv/status.git"
KH0=$S/kh_v0

# same NAME WANT-VERSION ARGS...: the probe's refs equal for-each-ref's under the prefixes.
same() {
    local name=$1 version=$2 out
    shift 2
    out=$(timeout 60 "$PROBE" "$@" 2>&1)
    local rc=$? prefixes=() a
    for ((a = 1; a <= $#; a++)); do [ "${!a}" = --prefix ] && { a=$((a + 1)); prefixes+=("${!a}"); }; done
    local head bytes
    head=$(head -1 <<<"$out")
    bytes=${head#* }
    if [ $rc != 0 ]; then fail "$name" "exit $rc: $out"; return; fi
    if [ "${head%% *}" != "$version" ]; then fail "$name" "spoke ${head%% *}, wanted $version"; return; fi
    if ! diff <(tail -n +2 <<<"$out" | sort) <(listed "${prefixes[@]}") >"$T/diff"; then
        fail "$name" "refs differ from for-each-ref: $(head -5 "$T/diff")"
        return
    fi
    pass "$name ($(($(wc -l <<<"$out") - 1)) refs, $bytes bytes read; the v0 advertisement is $V0_BYTES)"
    LAST_BYTES=$bytes
}

same git-daemon-v2-one-prefix v2 --url "$GIT_URL" --prefix refs/fjord/waves/canary/
[ "${LAST_BYTES:-999999}" -lt $((V0_BYTES / 20)) ] && pass "git-daemon-v2-reads-under-5%-of-v0 ($LAST_BYTES < $V0_BYTES/20)" ||
    fail git-daemon-v2-reads-under-5%-of-v0 "read ${LAST_BYTES:-?} bytes, v0 advertises $V0_BYTES"
same git-daemon-v2-two-prefixes v2 --url "$GIT_URL" --prefix refs/fjord/waves/canary/ --prefix refs/fjord/waves/early/
same git-daemon-v2-in-process v2 --isolated 0 --url "$GIT_URL" --prefix refs/fjord/waves/early/
same git-daemon-v2-no-match v2 --url "$GIT_URL" --prefix refs/fjord/waves/none/
same ssh-v2 v2 --url "$SSH_URL" --key "$S/client" --known-hosts "$KH" --prefix refs/fjord/waves/early/
[ "${LAST_BYTES:-999999}" -lt $((V0_BYTES / 5)) ] && pass "ssh-v2-reads-under-20%-of-v0 ($LAST_BYTES)" ||
    fail ssh-v2-reads-under-20%-of-v0 "read ${LAST_BYTES:-?} bytes, v0 advertises $V0_BYTES"
same ssh-v0-fallback v0 --url "$SSH0_URL" --key "$S/client" --known-hosts "$KH0" --prefix refs/fjord/waves/early/
[ "${LAST_BYTES:-0}" -ge $((V0_BYTES * 9 / 10)) ] && pass "ssh-v0-fallback-reads-the-whole-advertisement ($LAST_BYTES)" ||
    fail ssh-v0-fallback-reads-the-whole-advertisement "read ${LAST_BYTES:-?} bytes, v0 advertises $V0_BYTES"
same file-url v2 --url "file://$T/srv/status.git" --prefix refs/fjord/waves/rest/
same local-path v2 --url "$T/srv/status.git" --prefix refs/fjord/hosts/

# errors: each names the URL and why
err() {
    local name=$1 want=$2 out
    shift 2
    out=$(timeout 60 "$PROBE" "$@" 2>&1)
    local rc=$?
    if [ $rc = 1 ] && grep -qE "$want" <<<"$out"; then pass "$name"; else fail "$name" "exit $rc: $out"; fi
}
err ssh-wrong-host-key "error: $SSH_URL: .*Host key verification failed" \
    --url "$SSH_URL" --key "$S/client" --known-hosts "$KH_WRONG" --prefix refs/fjord/waves/early/
err ssh-unknown-key "error: $SSH_URL: .*Permission denied" \
    --url "$SSH_URL" --key "$S/other_host" --known-hosts "$KH" --prefix refs/fjord/waves/early/
err git-daemon-no-repo "error: git://127.0.0.1:$GITD_PORT/absent.git: the server says: access denied or repository not exported" \
    --url "git://127.0.0.1:$GITD_PORT/absent.git" --prefix refs/
err git-daemon-down "error: git://127.0.0.1:1/status.git: connect: Connection refused" --url "git://127.0.0.1:1/status.git" --prefix refs/
err max-refs "error: $GIT_URL: the server listed more than 100 refs" --url "$GIT_URL" --prefix refs/ --max-refs 100
err max-bytes "error: $GIT_URL: the server sent more than 2000 bytes" --url "$GIT_URL" --prefix refs/ --max-bytes 2000

# A server that answers garbage, and one that never answers.
GPORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    c.recv(4096)
    if sys.argv[2] == "garbage": c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    else: time.sleep(30)
    c.close()
' "$GPORT" garbage &
SSHD_PIDS+=($!)
wait_port "$GPORT" "$!"
err garbage-server "error: git://127.0.0.1:$GPORT/status.git: the server answered with garbage: not a pkt-line \(\"HTTP/1.0 400 Bad\"\)" \
    --url "git://127.0.0.1:$GPORT/status.git" --prefix refs/
SPORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept(); time.sleep(30)
' "$SPORT" &
SSHD_PIDS+=($!)
wait_port "$SPORT" "$!"
err silent-server "error: git://127.0.0.1:$SPORT/status.git: timed out after 1000 ms" \
    --url "git://127.0.0.1:$SPORT/status.git" --prefix refs/ --timeout-ms 1000

finish
