#!/bin/bash
# GitSource against real Git servers on loopback (TESTENV.md): git daemon for git://, an own
# sshd for ssh, plus file:// and a local path, driven by tests/source_probe.
# Usage: [VERBOSE=1] source_servers.sh BUILD_DIR (VERBOSE shows what passing cases printed). Needs root (sshd, the fjordgit account). Everything it
# makes lives in one temp dir; it stops exactly the servers it started.
set -u

BUILD=$(realpath "${1:?usage: $0 BUILD_DIR}")
PROBE=$BUILD/tests/source_probe
[ -x "$PROBE" ] || { echo "no $PROBE (ninja -C $BUILD tests/source_probe)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root: sshd and the fjordgit account" >&2; exit 2; }

T=$(mktemp -d /tmp/fjord-source-servers-XXXXXX)
chmod 755 "$T" # the fjordgit account reads its repo and authorized_keys below it
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody answers on now; the servers bind it next.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}
# Waits (at most 10 s) until PORT accepts, or gives up early when PID died.
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=fjord GIT_AUTHOR_EMAIL=fjord@example.net
export GIT_COMMITTER_NAME=fjord GIT_COMMITTER_EMAIL=fjord@example.net

# --- the repository: main, and tags release-9 (light) and release-10 (annotated) ---
git init -q -b main "$T/work"
echo hello > "$T/work/motd"
git -C "$T/work" add motd
git -C "$T/work" commit -q -m first
git -C "$T/work" tag -a -m ten release-10
echo again >> "$T/work/motd"
git -C "$T/work" commit -q -am second
git -C "$T/work" tag release-9
HEAD=$(git -C "$T/work" rev-parse HEAD)
TEN=$(git -C "$T/work" rev-parse 'release-10^{commit}')
mkdir -p "$T/srv" "$T/sshsrv"
git clone -q --bare "$T/work" "$T/srv/repo.git"
git clone -q --bare "$T/work" "$T/sshsrv/repo.git"

# --- git daemon ---
GIT_PORT=$(free_port) || { echo "no free port" >&2; exit 1; }
git daemon --reuseaddr --listen=127.0.0.1 --port="$GIT_PORT" --base-path="$T/srv" --export-all "$T/srv" \
    2>"$T/git-daemon.log" &
PIDS+=($!)
wait_port "$GIT_PORT" "${PIDS[-1]}" || { echo "git daemon did not start:"; cat "$T/git-daemon.log"; exit 1; }

# --- sshd with its own config, host key and authorized_keys, as user fjordgit ---
id fjordgit >/dev/null 2>&1 || useradd -m -s /usr/bin/git-shell fjordgit
usermod -p '*' fjordgit # '*' is no password but not locked; sshd refuses a locked account
mkdir -p /run/sshd      # sshd's privilege separation directory
chown -R fjordgit "$T/sshsrv"
S=$T/ssh
mkdir "$S"
for k in host_ed25519:ed25519 other_host:ed25519 ed25519:ed25519 ecdsa:ecdsa rsa:rsa stranger:ed25519; do
    ssh-keygen -q -N '' -C '' -t "${k#*:}" -f "$S/${k%%:*}"
done
cat "$S/ed25519.pub" "$S/ecdsa.pub" "$S/rsa.pub" > "$S/authorized_keys"
chmod 644 "$S/authorized_keys"
SSH_PORT=$(free_port) || { echo "no free port" >&2; exit 1; }
cat > "$S/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/host_ed25519
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers fjordgit
EOF
/usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
PIDS+=($!)
wait_port "$SSH_PORT" "${PIDS[-1]}" || { echo "sshd did not start:"; cat "$S/sshd.log"; exit 1; }

HOSTNAME_KH="[127.0.0.1]:$SSH_PORT"
echo "$HOSTNAME_KH $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" > "$S/kh_good"
cp "$S/kh_good" "$S/kh_hashed" && ssh-keygen -q -H -f "$S/kh_hashed" >/dev/null 2>&1
echo "$HOSTNAME_KH $(cut -d' ' -f1,2 "$S/other_host.pub")" > "$S/kh_wrong"
echo "# only other hosts here" > "$S/kh_empty"
echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" >> "$S/kh_empty"
SSH_URL="ssh://fjordgit@127.0.0.1:$SSH_PORT$T/sshsrv/repo.git"

# --- the cases (each through the sandboxed poll and fetch children, as fjordd runs them) ---
PASSED=0
FAILED=0
N=0
# check NAME WANT PROBE-ARGS...: WANT is "ok:COMMIT[:REF]" or a grep -E pattern for the error line.
check() {
    local name=$1 want=$2 out rc good=0
    shift 2
    N=$((N + 1))
    # --isolated 1: poll and fetch in the sandboxed children, under the filters fjordd uses.
    out=$(timeout 60 "$PROBE" --cache "$T/cache-$N" --isolated 1 "$@" 2>&1)
    rc=$?
    if [[ $want == ok:* ]]; then
        local spec=${want#ok:}
        local commit=${spec%%:*} ref=refs/heads/main
        [[ $spec == *:* ]] && ref=${spec#*:}
        [ $rc = 0 ] && grep -qx "commit $commit ref $ref" <<<"$out" && good=1
    else
        [ $rc = 1 ] && grep -qE "$want" <<<"$out" && good=1
    fi
    if [ $good = 1 ]; then
        PASSED=$((PASSED + 1))
        echo "PASS $name"
        [ -n "${VERBOSE:-}" ] && sed 's/^/    /' <<<"$out"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name (exit $rc)"
        sed 's/^/    /' <<<"$out"
    fi
}

check git-daemon "ok:$HEAD" --url "git://127.0.0.1:$GIT_PORT/repo.git"
# A name, not an address: glibc's resolver in the poll/fetch child, whose AF_UNIX (nscd) and
# AF_NETLINK (AI_ADDRCONFIG) sockets the filter refuses with EAFNOSUPPORT; it falls back to /etc/hosts.
check git-daemon-localhost "ok:$HEAD" --url "git://localhost:$GIT_PORT/repo.git"
check git-daemon-tag "ok:$TEN:refs/tags/release-10" --url "git://127.0.0.1:$GIT_PORT/repo.git" --tag 'release-*'
check git-daemon-missing-branch "error\[not_found\]: poll git://.*no branch 'prod'" \
    --url "git://127.0.0.1:$GIT_PORT/repo.git" --branch prod
check ssh-ed25519 "ok:$HEAD" --url "$SSH_URL" --ssh-key "$S/ed25519" --known-hosts "$S/kh_good"
check ssh-ecdsa "ok:$HEAD" --url "$SSH_URL" --ssh-key "$S/ecdsa" --known-hosts "$S/kh_good"
check ssh-hashed-known-hosts "ok:$HEAD" --url "$SSH_URL" --ssh-key "$S/ed25519" --known-hosts "$S/kh_hashed"
check ssh-wrong-host-key "error\[auth\]: poll $SSH_URL: host key for \[127\.0\.0\.1\]:$SSH_PORT does not match $S/kh_wrong" \
    --url "$SSH_URL" --ssh-key "$S/ed25519" --known-hosts "$S/kh_wrong"
check ssh-no-entry "error\[auth\]: .*no entry for \[127\.0\.0\.1\]:$SSH_PORT in $S/kh_empty; add it with ssh-keyscan -p $SSH_PORT 127\.0\.0\.1 >> $S/kh_empty" \
    --url "$SSH_URL" --ssh-key "$S/ed25519" --known-hosts "$S/kh_empty"
check ssh-missing-known-hosts "error\[auth\]: .*cannot verify the host key of \[127\.0\.0\.1\]:$SSH_PORT: known_hosts $S/absent" \
    --url "$SSH_URL" --ssh-key "$S/ed25519" --known-hosts "$S/absent"
check ssh-rsa-key "error\[auth\]: .*ssh key $S/rsa is RSA: libssh2 1\.10 signs only with SHA-1, which current sshd refuses; use an ed25519 or ecdsa key" \
    --url "$SSH_URL" --ssh-key "$S/rsa" --known-hosts "$S/kh_good"
check ssh-unauthorized-key "error\[auth\]: poll $SSH_URL" \
    --url "$SSH_URL" --ssh-key "$S/stranger" --known-hosts "$S/kh_good"
check ssh-default-user-git "error\[auth\]: .*for user git$" \
    --url "ssh://127.0.0.1:$SSH_PORT$T/sshsrv/repo.git" --ssh-key "$S/ed25519" --known-hosts "$S/kh_good"
check ssh-missing-key "error\[auth\]: .*ssh key $S/nokey" \
    --url "$SSH_URL" --ssh-key "$S/nokey" --known-hosts "$S/kh_good"
check git-daemon-down "error\[network\]: poll git://127\.0\.0\.1:1/repo\.git" --url "git://127.0.0.1:1/repo.git"
check file-url "ok:$HEAD" --url "file://$T/srv/repo.git"
check local-path "ok:$HEAD" --url "$T/srv/repo.git"

# Memory over many polls on one remote (libgit2 leaks ~40 KB per remote created; fjord makes one).
N=$((N + 1))
out=$(timeout 300 "$PROBE" --cache "$T/cache-$N" --url "git://127.0.0.1:$GIT_PORT/repo.git" --polls 1000 2>&1)
read -r first last < <(sed -n 's/^polls 1000 rss_kib_after_first \([0-9]*\) rss_kib_after_last \([0-9]*\)$/\1 \2/p' <<<"$out")
if [ -n "${first:-}" ] && [ $((last - first)) -lt 2048 ]; then
    PASSED=$((PASSED + 1))
    echo "PASS git-daemon-1000-polls-rss-flat (${first} KiB -> ${last} KiB)"
else
    FAILED=$((FAILED + 1))
    echo "FAIL git-daemon-1000-polls-rss-flat"
    sed 's/^/    /' <<<"$out"
fi

echo "RESULT passed=$PASSED failed=$FAILED"
[ "$FAILED" = 0 ]
