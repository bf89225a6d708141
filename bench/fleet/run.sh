#!/bin/bash
# Measures what fleets (issue 20) cost the Git server and the host, at 1,000 and 10,000 hosts, in
# one run, against the obvious alternatives, and writes the "Fleets" section of bench/results.md:
#   status repos made by bench/fleet/gen_status.py (one report ref and one wave marker ref per
#   host: refs/fjord/hosts/<host>, refs/fjord/waves/<wave>/<host>; waves canary 1 %, early 10 %,
#   rest), refs packed (`git pack-refs --all`) and loose, served by git daemon (git://) and an own
#   sshd (ssh://, ed25519, AcceptEnv GIT_PROTOCOL) on 127.0.0.1.
#
# Per operation, over git:// and ssh://, for each size and ref layout:
#   gate         the gate check of a host in wave rest: ONE protocol v2 ls-refs with
#                `ref-prefix refs/fjord/waves/canary/` and `.../early/`, no object fetched
#                (bench/fleet/lsrefs.py, a pkt-line client in Python)
#   gate-fjord   the same through fjord's own client, src/fleet/ls_refs in the sandboxed child
#                fjordd runs it in (BUILD_DIR/tests/ls_refs_probe --isolated 1), if it is built
#   v0-adv       the alternative a v0 client (libgit2 1.5) has: `git -c protocol.version=0 ls-remote`
#                (every ref advertised)
#   v2-all       `git ls-remote` with protocol v2 and no ref-prefix (what git's ls-remote sends)
#   fetch-all    `git fetch URL '+refs/fjord/*:refs/fjord/*'` into an empty repo (every report)
#   rp-adv       the receive-pack advertisement alone (lsrefs.py: what a push reads first; it
#                lists every ref, as push has no protocol v2)
#   push         `git push --force` of one new report (root commit, report.json) and its marker
#                for a new commit, both refs in one push (fjord pushes with libgit2 over the same
#                receive-pack: the same advertisement, the same pack)
# and once: poll, a v0 `git ls-remote` of a one-branch config repo (what fjordd's idle poll costs the
# server), and py-start, the Python interpreter starting and ending (no network: to read
# lsrefs.py's client CPU against).
#
# Client CPU: user+sys from wait4() around the command and all it waited for (bench/fleet/rusage.c).
# Server CPU: the server's CPU over the batch of runs, divided by the runs: git daemon and sshd each
# run in a cgroup of their own (cgroup v2 cpu.stat or v1 cpuacct, as root), otherwise the listener's
# utime+stime+cutime+cstime from /proc/PID/stat (10 ms ticks). For git:// that is the listener, the
# forked `git daemon --serve` and upload-pack/receive-pack (and index-pack, gc --auto); for ssh://
# everything sshd does for the connection (key exchange, auth, the shell) plus the git process. For ssh:// sshd's
# ForceCommand runs each git-upload-pack / git-receive-pack under rusage.c too: the "git part".
# Bytes: the loopback device's rx_bytes (/proc/net/dev) around each run -- both directions with
# TCP/IP headers and, for ssh, the handshake and encryption -- in the run's own network namespace
# (only this run's traffic; as root), and for lsrefs.py the Git payload it counted itself.
#
# Usage: bench/fleet/run.sh [--sizes 1000,10000] [--runs 20] [--fetch-runs 3] [--remote git,ssh]
#                           [--no-loose] [--quick] [--out FILE] [--keep] [--no-netns] [BUILD_DIR]
#   BUILD_DIR       first argument, or $BUILD, or build/ in the project root: its
#                   tests/ls_refs_probe measures fjord's gate client (skipped when not built:
#                   ninja -C BUILD_DIR tests/ls_refs_probe; a release build)
#   --runs N        runs of each cheap operation (default 20); --fetch-runs N: of fetch-all (3)
#   --no-loose      only the packed-refs repos
#   --quick         smoke test (~1 minute): --sizes 1000 --runs 3 --fetch-runs 1, report on stdout
#   --out FILE      the markdown file whose "## Fleets" section is (re)written (default
#                   bench/results.md; the rest of the file is kept)
#   --keep          keep the temp dir (repos, logs, raw TSVs); servers are stopped anyway
#   --no-netns      run in the host's network namespace (bytes then count other jobs' loopback traffic)
# Targets (issue 20) are informational: the exit status is 0 whenever the benchmark itself ran.
# Takes ~3 minutes and ~2 CPU-minutes with the defaults on a 2-CPU VM.
set -euo pipefail
export LC_ALL=C

FLEET=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$FLEET")
PROJECT=$(dirname "$BENCH")
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh" # stop_pid, free_port, wait_port, sshd_config, own_netns, server_cgroup, server_us
SIZES=1000,10000 RUNS=20 FETCH_RUNS=3 REMOTES=git,ssh LOOSE=1 QUICK="" OUT=$BENCH/results.md OUT_SET="" KEEP="" NETNS=1 BUILD_ARG=""
ARGS=("$@")
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
    case $1 in
    --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --fetch-runs) FETCH_RUNS=${2:?--fetch-runs needs a value}; shift 2 ;;
    --remote) REMOTES=${2:?--remote needs a value}; shift 2 ;;
    --no-loose) LOOSE=""; shift ;;
    --quick) SIZES=1000 RUNS=3 FETCH_RUNS=1 QUICK=1; shift ;;
    --out) OUT=${2:?--out needs a value} OUT_SET=1; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-netns) NETNS=""; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD_ARG=$1; shift ;;
    esac
done
[ -z "$QUICK" ] || [ -n "$OUT_SET" ] || OUT=""
for v in RUNS FETCH_RUNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "--$(tr 'A-Z_' 'a-z-' <<<"$v") must be a positive number" >&2; exit 2; }
done
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--sizes must be a list like 1000,10000" >&2; exit 2; }
[[ $REMOTES =~ ^(git|ssh)(,(git|ssh))*$ ]] || { echo "--remote must be git, ssh or git,ssh" >&2; exit 2; }
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
IFS=, read -r -a REMOTE_LIST <<<"$REMOTES"
for t in git python3 cc awk /usr/sbin/sshd ssh ssh-keygen; do
    command -v "$t" >/dev/null || { echo "needs $t (tests/deps.sh --test installs it)" >&2; exit 2; }
done

if [ -n "$NETNS" ] && ! own_netns "${BASH_SOURCE[0]}" "${ARGS[@]}"; then
    echo "warning: not root (or no unshare/ip): the host's network namespace; bytes include other traffic on lo" >&2
    NETNS=""
fi
BUILD=${BUILD_ARG:-${BUILD:-$PROJECT/build}}
PROBE_SRC=$BUILD/tests/ls_refs_probe
if [ -x "$PROBE_SRC" ]; then
    PROBE_INFO="fjord's client: $PROBE_SRC ($(python3 -c 'import json, sys; print([o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"][0])' "$BUILD/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?') build)"
else
    echo "warning: no $PROBE_SRC: fjord's own gate client is not measured (ninja -C BUILD_DIR tests/ls_refs_probe)" >&2
    PROBE_SRC="" PROBE_INFO="fjord's client: not measured (no tests/ls_refs_probe in $BUILD)"
fi

W=$(mktemp -d /var/tmp/fjord-fleetbench-XXXXXX)
GITD_PID="" SSHD_PID=""
cleanup() {
    trap - EXIT INT TERM HUP
    stop_pid "$GITD_PID"
    stop_pid "$SSHD_PID"
    remove_cgroups
    if [ -n "$KEEP" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "interrupted, cleaning up" >&2; exit 130' INT TERM HUP

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=fjord-bench GIT_AUTHOR_EMAIL=bench@fjord.invalid
export GIT_COMMITTER_NAME=fjord-bench GIT_COMMITTER_EMAIL=bench@fjord.invalid
# The interpreter itself, not a shim (pyenv's bash shim would add ~50 ms to every client run).
PY=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$W/bin" "$W/srv"
RUSAGE=$W/bin/rusage
cc -O2 -o "$RUSAGE" "$FLEET/rusage.c"
PROBE=""
[ -z "$PROBE_SRC" ] || { PROBE=$W/bin/ls_refs_probe; cp "$PROBE_SRC" "$PROBE"; } # a rebuild mid-run changes nothing
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_START=$(head -1 /proc/stat)
T_START=$(date +%s)
OPS=$W/ops.tsv       # remote size refs op run wall_us user_us sys_us maxrss_kib rc wire_bytes payload_sent payload_recv refs
BATCH=$W/batch.tsv   # remote size refs op runs server_cpu_ms_per_run git_part_us_median(ssh) git_part_runs
GEN=$W/gen.tsv       # size refs repo_kib packed_refs_bytes gen_s
LOG=$W/run.log
: >"$OPS"; : >"$BATCH"; : >"$GEN"; : >"$LOG"
die() { echo "error: $*" >&2; tail -n 20 "$LOG" >&2; exit 1; }

lo_bytes() { awk '$1 == "lo:" { print $2 }' /proc/net/dev; }

# --- repos --------------------------------------------------------------------------------------
for N in "${SIZE_LIST[@]}"; do
    echo "== $N hosts: generating the status repo" >&2
    t0=$EPOCHREALTIME
    "$PY" "$FLEET/gen_status.py" create "$W/srv/n$N-loose" "$N" >"$W/gen-$N.json"
    git -C "$W/srv/n$N-loose" repack -adq # a server's objects are packed
    t1=$EPOCHREALTIME
    cp -a "$W/srv/n$N-loose" "$W/srv/n$N-packed"
    git -C "$W/srv/n$N-packed" pack-refs --all
    for r in packed loose; do
        [ "$r" = packed ] || [ -n "$LOOSE" ] || continue
        printf '%s\t%s\t%s\t%s\t%s\n' "$N" "$r" "$(du -sk "$W/srv/n$N-$r" | cut -f1)" \
            "$(stat -c %s "$W/srv/n$N-$r/packed-refs" 2>/dev/null || echo 0)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" >>"$GEN"
    done
    [ -n "$LOOSE" ] || rm -rf "$W/srv/n$N-loose"
done
# The config repo fjordd polls: one branch, a handful of files.
CFG=$W/cfgwork
git init -q -b main "$CFG"
for i in $(seq 20); do echo "file $i" >"$CFG/f$i"; done
git -C "$CFG" add -A && git -C "$CFG" commit -qm config
git clone -q --bare "$CFG" "$W/srv/config"
# The pushing host's repo: report commits and markers are made in it before each push batch.
PUSHER=$W/pusher
git init -q --bare "$PUSHER"

# --- servers ------------------------------------------------------------------------------------
GITD_PORT=$(free_port) || die "no free port"
"$(git --exec-path)/git-daemon" --reuseaddr --export-all --enable=receive-pack --base-path="$W/srv" \
    --listen=127.0.0.1 --port="$GITD_PORT" "$W/srv" >>"$W/gitd.log" 2>&1 &
GITD_PID=$!
server_cgroup gitd "$GITD_PID"
wait_port "$GITD_PORT" "$GITD_PID" || { cat "$W/gitd.log" >&2; GITD_PID=""; die "git daemon did not start"; }

S=$W/ssh
mkdir -m 700 "$S"
ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/host_ed25519"
ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/id_ed25519"
cp "$S/id_ed25519.pub" "$S/authorized_keys"
SSH_USER=$(id -un)
SSH_PORT=$(free_port) || die "no free port"
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
GITPART=$S/git-part.tsv
: >"$GITPART"
# sshd_config (bench/lib.sh) says why curve25519 and SHLVL=1. AcceptEnv GIT_PROTOCOL: protocol v2
# over ssh. ForceCommand: every git command under rusage.c (the "git part" of the server's CPU).
{
    sshd_config "$S" "$SSH_PORT" "$SSH_USER"
    echo "AcceptEnv GIT_PROTOCOL"
    echo "ForceCommand $RUSAGE -o $GITPART -- /bin/sh -c \"\$SSH_ORIGINAL_COMMAND\""
    echo "LogLevel INFO"
} >"$S/sshd_config"
/usr/sbin/sshd -D -f "$S/sshd_config" -E "$S/sshd.log" &
SSHD_PID=$!
server_cgroup sshd "$SSHD_PID"
wait_port "$SSH_PORT" "$SSHD_PID" || { cat "$S/sshd.log" >&2; SSHD_PID=""; die "sshd did not start"; }
KNOWN_HOSTS=$S/known_hosts
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" >"$KNOWN_HOSTS"
SSH_CMD="ssh -F /dev/null -i $S/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes"
export GIT_SSH_COMMAND=$SSH_CMD

url() { # REMOTE REPO
    case $1 in
    git) echo "git://127.0.0.1:$GITD_PORT/$2" ;;
    ssh) echo "ssh://$SSH_USER@127.0.0.1:$SSH_PORT$W/srv/$2" ;;
    esac
}

# batch REMOTE SIZE REFS OP RUNS CMD...: runs CMD RUNS times one after the other; CMD may name
# {RUN} (replaced by the run's number). Records each run (client rusage, wire bytes, lsrefs.py's
# JSON if it printed one) in $OPS and the batch's server CPU in $BATCH.
batch() {
    local rm=$1 size=$2 refs=$3 op=$4 runs=$5 spid c0 c1 g0 i b0 b1 out js
    shift 5
    local sname=""
    case $rm in git) spid=$GITD_PID sname=gitd ;; ssh) spid=$SSHD_PID sname=sshd ;; *) spid="" ;; esac
    c0=$([ -z "$spid" ] || server_us "$sname" "$spid")
    g0=$(wc -l <"$GITPART")
    for i in $(seq "$runs"); do
        local cmd=("${@//\{RUN\}/$i}")
        : >"$W/client.tsv"
        out=$W/out.$op
        b0=$(lo_bytes)
        "$RUSAGE" -o "$W/client.tsv" -- "${cmd[@]}" >"$out" 2>>"$LOG" || die "$op ($rm, $size, $refs) exited $?: ${cmd[*]}"
        b1=$(lo_bytes)
        js=$(tail -n 1 "$out" | grep '^{' || true)
        if [ -z "$js" ] && [[ $(head -n 1 "$out") =~ ^v[02]\ ([0-9]+)$ ]]; then # ls_refs_probe: "v2 BYTES", then the refs
            js="{\"sent\": 0, \"received\": ${BASH_REMATCH[1]}, \"refs\": $(($(wc -l <"$out") - 1))}"
        fi
        read -r wall user sys rss rc <"$W/client.tsv"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rm" "$size" "$refs" "$op" "$i" "$wall" "$user" "$sys" "$rss" "$rc" "$((b1 - b0))" \
            "$( [ -z "$js" ] && echo '-	-	-' || "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print("%s\t%d\t%d" % (j["sent"] or "-", j["received"], j["refs"]))' "$js")" >>"$OPS"
    done
    [ -n "$spid" ] || { printf '%s\t%s\t%s\t%s\t%s\t-\t-\t0\n' "$rm" "$size" "$refs" "$op" "$runs" >>"$BATCH"; return; }
    sleep 0.3 # the last connection's processes end (and are reaped: /proc/PID/stat counts them then)
    c1=$(server_us "$sname" "$spid")
    local gp
    gp=$(tail -n +"$((g0 + 1))" "$GITPART" | awk '{ print $2 + $3 }' | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] "\t" NR; else print "-\t0" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rm" "$size" "$refs" "$op" "$runs" \
        "$(awk -v a="$c0" -v b="$c1" -v n="$runs" 'BEGIN { printf "%.3f", (b - a) / 1000 / n }')" "$gp" >>"$BATCH"
}

# --- measurements -------------------------------------------------------------------------------
batch local - - py-start "$RUNS" "$PY" -c pass
for RM in "${REMOTE_LIST[@]}"; do
    echo "== $RM: config repo poll" >&2
    batch "$RM" - - poll "$RUNS" git -c protocol.version=0 ls-remote "$(url "$RM" config)"
done
PUSHES=0
for N in "${SIZE_LIST[@]}"; do
    COMMIT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["commit"])' "$W/gen-$N.json")
    # a host of wave rest: its gate asks for the markers of canary and early
    HOST=""
    for i in $(seq 1 "$N"); do
        h=$(printf 'web%05d' "$i")
        [ "$("$PY" "$FLEET/gen_status.py" wave "$h")" = rest ] && { HOST=$h; break; }
    done
    for REFS in packed loose; do
        [ "$REFS" = packed ] || [ -n "$LOOSE" ] || continue
        REPO=n$N-$REFS
        for RM in "${REMOTE_LIST[@]}"; do
            U=$(url "$RM" "$REPO")
            echo "== $N hosts, $REFS refs, $RM://" >&2
            SSHARG=()
            [ "$RM" != ssh ] || SSHARG=(--ssh "$SSH_CMD")
            batch "$RM" "$N" "$REFS" gate "$RUNS" "$PY" "$FLEET/lsrefs.py" "${SSHARG[@]}" "$U" ls-refs \
                refs/fjord/waves/canary/ refs/fjord/waves/early/ --commit "$COMMIT"
            # The gate saw what the generator wrote: every canary and early host good for C.
            "$PY" - "$W/gen-$N.json" "$W/out.gate" <<'EOF' || die "the gate check's answer does not match the repo"
import json, sys
g = json.load(open(sys.argv[1])); r = json.loads(open(sys.argv[2]).read().splitlines()[-1])
want = g["waves"]["canary"] + g["waves"]["early"]
if r["refs"] != want or r["markers"]["good"] != want:
    sys.exit("gate check: %d refs, %d good; the repo has %d canary+early hosts, all good" % (r["refs"], r["markers"]["good"], want))
EOF
            if [ -n "$PROBE" ]; then
                PARGS=()
                [ "$RM" != ssh ] || PARGS=(--key "$S/id_ed25519" --known-hosts "$KNOWN_HOSTS")
                batch "$RM" "$N" "$REFS" gate-fjord "$RUNS" "$PROBE" --url "$U" --prefix refs/fjord/waves/canary/ \
                    --prefix refs/fjord/waves/early/ --isolated 1 "${PARGS[@]}"
                [ "$(head -c 3 "$W/out.gate-fjord")" = "v2 " ] || die "fjord's ls-refs fell back to v0 over $RM://"
            fi
            batch "$RM" "$N" "$REFS" v0-adv "$RUNS" git -c protocol.version=0 ls-remote "$U"
            batch "$RM" "$N" "$REFS" v2-all "$RUNS" git -c protocol.version=2 ls-remote "$U"
            for i in $(seq "$FETCH_RUNS"); do rm -rf "$W/fetch.$i"; git init -q --bare "$W/fetch.$i"; done
            batch "$RM" "$N" "$REFS" fetch-all "$FETCH_RUNS" git -C "$W/fetch.{RUN}" fetch -q "$U" '+refs/fjord/*:refs/fjord/*'
            rm -rf "$W"/fetch.*
            batch "$RM" "$N" "$REFS" rp-adv "$RUNS" "$PY" "$FLEET/lsrefs.py" "${SSHARG[@]}" "$U" advertise receive-pack
            # One new report and the marker for a new commit per push, made beforehand.
            : >"$W/push.args"
            for i in $(seq "$RUNS"); do
                PUSHES=$((PUSHES + 1))
                c=$(printf 'bench push %d' "$PUSHES" | sha1sum | cut -c1-40)
                blob=$("$PY" "$FLEET/gen_status.py" report "$HOST" "$c" "$PUSHES" | git -C "$PUSHER" hash-object -w --stdin)
                tree=$(printf '100644 blob %s\treport.json\n' "$blob" | git -C "$PUSHER" mktree)
                rep=$(echo "fjord report $HOST" | git -C "$PUSHER" commit-tree "$tree")
                git -C "$PUSHER" hash-object -t tree -w --stdin </dev/null >/dev/null
                mark=$("$PY" "$FLEET/gen_status.py" marker "$c" good)
                "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import gen_status as g; sys.stdout.buffer.write(g.marker_body(sys.argv[2], "good"))' "$FLEET" "$c" |
                    git -C "$PUSHER" hash-object -t commit -w --stdin >/dev/null
                echo "$rep $mark" >>"$W/push.args"
            done
            batch "$RM" "$N" "$REFS" push "$RUNS" bash -c 'read -r rep mark < <(sed -n "$1p" "$2"); exec git -C "$3" push -q --force "$4" "$rep:refs/fjord/hosts/$5" "$mark:refs/fjord/waves/rest/$5"' \
                push "{RUN}" "$W/push.args" "$PUSHER" "$U" "$HOST"
        done
    done
done

# --- report -------------------------------------------------------------------------------------
STAT_END=$(head -1 /proc/stat)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))
busy=$(awk -v a="$STAT_START" -v b="$STAT_END" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0; for (i = 2; i <= n; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6]); steal = y[9] - x[9]
    printf "%.0f %% busy, %.1f %% steal", 100 * (t - idle - steal) / t, 100 * steal / t }')
{
    echo "- source: $(git -C "$PROJECT" describe --always --dirty 2>/dev/null || echo unknown) (branch $(git -C "$PROJECT" rev-parse --abbrev-ref HEAD 2>/dev/null || echo '?'))"
    echo "- machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(systemd-detect-virt --vm 2>/dev/null || echo "unknown") guest, kernel $(uname -r); repos on $(findmnt -no FSTYPE --target "$W" 2>/dev/null || echo '?') in /var/tmp"
    echo "- network: $([ -n "${FJORD_BENCH_NETNS:-}" ] && echo "the run's own network namespace (only lo): the byte counts are this run's traffic alone" || echo "the host's network namespace (--no-netns): byte counts include other loopback traffic")"
    echo "- load average $LOAD_START at the start, $LOAD_END at the end; over the run's $ELAPSED s the machine's CPUs were $busy (/proc/stat; other jobs share this machine)"
    echo "- server CPU: git daemon from $(server_cpu_source gitd); sshd from $(server_cpu_source sshd)"
    echo "- tools: $(git --version), $(ssh -V 2>&1 | cut -d, -f1), $("$PY" --version); client: bench/fleet/lsrefs.py (Python) for the gate check and the receive-pack advertisement, git for the rest; $PROBE_INFO"
    echo "- run: sizes $SIZES, remotes $REMOTES, ref layouts packed$([ -z "$LOOSE" ] || echo ", loose"), $RUNS runs per operation ($FETCH_RUNS for fetch-all)"
} >"$W/env.md"
"$PY" "$FLEET/report.py" --ops "$OPS" --batch "$BATCH" --gen "$GEN" --env "$W/env.md" ${OUT:+--out "$OUT"}
