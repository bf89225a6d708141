#!/bin/bash
# Benchmarks fjord against the obvious alternative and against the least work possible, in one
# run, on the same disk, and writes one table to bench/results.md:
#   baseline: git fetch + git checkout -f (a local clone) + rsync -a --delete --checksum --fsync
#   floor:    bench/floor.c, lstat() of every applied file against a manifest (size, mtime, mode)
# for generated host-config repos (hosts/h1/files/..., ~20 files per folder, 200 B - 8 KiB each),
# fetched over git:// (a git daemon on 127.0.0.1) and ssh:// (an own sshd on 127.0.0.1).
#
# Scenarios per size and remote, `fjordd --once` against the baseline (medians of the runs):
#   initial      fresh state, clone and root each run (every file written and fsynced)
#   no-change    nothing new in the repo; the floor is measured here too
#   one-file     a new commit changing one file before each run
#   one-percent  a new commit changing N/100 files before each run
#   no-change-warm  no change again, after the updates
# and fjordd in daemon mode, CPU per pass from /proc/PID/stat (utime+stime+cutime+cstime: the
# sandboxed children are reaped, so their CPU is in cutime/cstime), passes counted from
# status.json, which fjordd saves at the end of every poll and drift pass (bench/daemon_probe.py):
#   drift        drift_interval 1s, poll_interval 1h: one drift pass alone (peer: the floor)
#   idle-poll    poll_interval 1s, nothing new in the repo (peer: `git ls-remote`, one round trip)
# plus the daemon's idle RSS and private RSS (Private_Dirty of smaps_rollup; Private_Clean shown apart).
#
# Usage: bench/run.sh [--quick] [--sizes 1000,10000,100000] [--runs 3] [--big-runs 1]
#                     [--remote git,ssh] [--drift-passes 10] [--polls 30] [--keep] [BUILD_DIR]
#   BUILD_DIR       first argument, or $BUILD, or build/ in the project root (use a release build)
#   --runs N        runs of each fjord/baseline scenario (default 3)
#   --big-runs N    runs of the initial scenario at 100,000 files and more (default 1: an initial
#                   apply of 100,000 files takes minutes per tool on a spinning disk); the table's
#                   runs column says how many ran
#   --remote LIST   git and/or ssh (default git,ssh)
#   --drift-passes K, --polls K   daemon passes measured per window (defaults 10 and 30)
#   --quick         smoke test (under ~2 minutes): --sizes 1000 --runs 1 --drift-passes 3 --polls 5,
#                   the report on stdout only (not to bench/results.md unless --out says so)
#   --out FILE      where the report goes besides stdout (default bench/results.md)
#   --no-netns      run in the host's network namespace (by default, as root, the run has its own,
#                   with only lo: fjord's host facts include the host's addresses, and other jobs
#                   adding and removing interfaces would make it render again mid-measurement)
#   --keep          leave the temp dir (trees, logs, configs, raw TSVs) for a look; servers still stopped
# Targets are informational: the exit status is 0 whenever the benchmark itself ran.
# Everything lives in one temp dir under /var/tmp (not tmpfs: fsync cost matters), removed at the
# end and on Ctrl-C; the git daemon, sshd and fjordd it starts are stopped by pid. Trees of earlier
# runs are kept until the size is done (see retire), then deleted: ~8 GB at 100,000 files.
# Takes ~65 minutes with the defaults on a 2-CPU VM with a spinning virtio disk that other jobs kept
# 85 % busy (half of it the 100,000-file size, mostly its initial applies); --quick ~2 minutes.
set -euo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh" # stop_pid, free_port, wait_port, sshd_config, own_netns
PROJECT=$(dirname "$BENCH")
SIZES=1000,10000,100000
RUNS=3
BIG_RUNS=1
REMOTES=git,ssh
DRIFT_PASSES=10
POLLS=30
BUILD_ARG=""
OUT=$BENCH/results.md
QUICK="" OUT_SET="" KEEP="" NETNS=1
ARGS=("$@")
BIG=100000 # sizes from here on run the initial scenario --big-runs times

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
    case $1 in
    --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
    --sizes=*) SIZES=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --big-runs) BIG_RUNS=${2:?--big-runs needs a value}; shift 2 ;;
    --big-runs=*) BIG_RUNS=${1#*=}; shift ;;
    --remote) REMOTES=${2:?--remote needs a value}; shift 2 ;;
    --remote=*) REMOTES=${1#*=}; shift ;;
    --drift-passes) DRIFT_PASSES=${2:?--drift-passes needs a value}; shift 2 ;;
    --drift-passes=*) DRIFT_PASSES=${1#*=}; shift ;;
    --polls) POLLS=${2:?--polls needs a value}; shift 2 ;;
    --polls=*) POLLS=${1#*=}; shift ;;
    --out) OUT=${2:?--out needs a value} OUT_SET=1; shift 2 ;;
    --out=*) OUT=${1#*=} OUT_SET=1; shift ;;
    --quick) SIZES=1000 RUNS=1 BIG_RUNS=1 DRIFT_PASSES=3 POLLS=5 QUICK=1; shift ;; # later options win
    --keep) KEEP=1; shift ;;
    --no-netns) NETNS=""; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD_ARG=$1; shift ;;
    esac
done
[ -z "$QUICK" ] || [ -n "$OUT_SET" ] || OUT=""
for v in RUNS BIG_RUNS DRIFT_PASSES POLLS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "--$(tr 'A-Z_' 'a-z-' <<<"$v") must be a positive number" >&2; exit 2; }
done
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--sizes must be a list like 1000,10000" >&2; exit 2; }
[[ $REMOTES =~ ^(git|ssh)(,(git|ssh))*$ ]] || { echo "--remote must be git, ssh or git,ssh" >&2; exit 2; }
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
IFS=, read -r -a REMOTE_LIST <<<"$REMOTES"
for n in "${SIZE_LIST[@]}"; do
    [ "$n" -ge 100 ] || { echo "--sizes: at least 100 files (the 1 % scenario changes N/100)" >&2; exit 2; }
done

BUILD=${BUILD_ARG:-${BUILD:-$PROJECT/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build dir ${BUILD_ARG:-${BUILD:-$PROJECT/build}}" >&2; exit 2; }
for b in fjordd fjordctl; do
    [ -x "$BUILD/$b" ] || { echo "no $BUILD/$b (build first: meson setup $BUILD --buildtype=release && ninja -C $BUILD fjordd fjordctl)" >&2; exit 2; }
done
for t in git rsync python3 awk cc; do command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 2; }; done
if [[ ,$REMOTES, == *,ssh,* ]]; then
    for t in /usr/sbin/sshd ssh ssh-keygen; do command -v "$t" >/dev/null || { echo "needs $t (openssh-server, openssh-client)" >&2; exit 2; }; done
fi
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time" >&2
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends time >&2 ||
        { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
fi
[[ $(rsync --help 2>&1) == *--fsync* ]] || { echo "rsync has no --fsync (needs >= 3.2.4)" >&2; exit 2; }

BUILDTYPE=unknown FJORD_SRC=""
read -r BUILDTYPE FJORD_SRC < <(python3 - "$BUILD" <<'EOF' 2>/dev/null || true
import json, sys
info = sys.argv[1] + "/meson-info/"
bt = [o["value"] for o in json.load(open(info + "intro-buildoptions.json")) if o["name"] == "buildtype"]
print(bt[0] if bt else "unknown", json.load(open(info + "meson-info.json"))["directories"]["source"])
EOF
)
[ "$BUILDTYPE" = release ] || echo "warning: $BUILD is a '${BUILDTYPE:-unknown}' build, not release; numbers will be pessimistic" >&2

# --- an own network namespace: lo only, the servers and fjord inside it ------------------------
if [ -n "$NETNS" ] && ! own_netns "${BASH_SOURCE[0]}" "${ARGS[@]}"; then
    echo "warning: not root (or no unshare/ip): running in the host's network namespace" >&2
    NETNS=""
fi

# --- scratch space and cleanup ------------------------------------------------------------------
W=$(mktemp -d /var/tmp/fjord-bench-XXXXXX)
DAEMON_PID="" GITD_PID="" SSHD_PID="" PROBE_PID=""
stop_daemon() { stop_pid "$DAEMON_PID"; DAEMON_PID=""; }
cleanup() {
    trap - EXIT INT TERM HUP
    stop_daemon
    stop_pid "$PROBE_PID"
    stop_pid "$GITD_PID"
    stop_pid "$SSHD_PID"
    if [ -n "$KEEP" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "interrupted, cleaning up" >&2; exit 130' INT TERM HUP

# The binaries are copied: a rebuild of BUILD during the run must not change what is measured.
mkdir -p "$W/bin"
cp "$BUILD/fjordd" "$BUILD/fjordctl" "$W/bin/"
FJORDD=$W/bin/fjordd FJORDCTL=$W/bin/fjordctl
FLOOR=$W/bin/floor
cc -O2 -o "$FLOOR" "$BENCH/floor.c"

FSTYPE=$(findmnt -no FSTYPE --target "$W" 2>/dev/null || stat -f -c %T "$W")
[ "$FSTYPE" != tmpfs ] || echo "warning: $W is on tmpfs; fsync costs nothing there" >&2
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_START=$(head -1 /proc/stat)
times >"$W/times.start"
OURS_START=$(awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } } END { printf "%.2f", t }' "$W/times.start")
T_START=$(date +%s)

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=fjord-bench GIT_AUTHOR_EMAIL=bench@fjord.invalid
export GIT_COMMITTER_NAME=fjord-bench GIT_COMMITTER_EMAIL=bench@fjord.invalid

RAW=$W/raw.tsv       # remote size scenario tool run wall_s cpu_s rss_kib time_e time_cpu rc
DAEMON_TSV=$W/daemon.tsv # remote size phase passes window_s cpu_s self_s children_s sched_s renames renders status
IDLE=$W/idle.tsv     # remote size what vmrss rssanon rssfile vmhwm private_dirty private_clean pss (KiB)
RERUNS=0 # no-change runs and daemon windows measured again, as the host's facts had changed
: >"$RAW"
: >"$DAEMON_TSV"
: >"$IDLE"
LOG=$W/run.log
: >"$LOG"

# cpu_of FILE: the children's user+sys seconds from the output of bash's `times` ("0m1.234s 0m0.056s").
cpu_of() {
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.3f", t }' "$1"
}

# measure CMD... : runs CMD under /usr/bin/time; sets M_WALL (s, from EPOCHREALTIME, µs
# resolution), M_CPU (user+sys of CMD and its children, from the shell's `times`, ms resolution),
# M_RSS (peak RSS in KiB from time's %M), M_TE / M_TCPU (time's own 10 ms-resolution numbers), M_RC.
# Must run in the main shell (not in $(...)), so that `times` sees the child.
measure() {
    local tf=$W/time.out t0 t1 c0 c1
    times >"$W/times.0"
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >>"$LOG" 2>&1
    M_RC=$?
    set -e
    t1=$EPOCHREALTIME
    times >"$W/times.1"
    c0=$(cpu_of "$W/times.0")
    c1=$(cpu_of "$W/times.1")
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    M_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    local e u s m
    read -r e u s m < <(tail -n 1 "$tf") || true
    M_TE=$e
    M_TCPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    M_RSS=$m
}

# record SIZE SCENARIO TOOL RUN: appends the last measurement (for the current remote $RM).
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$RM" "$1" "$2" "$3" "$4" "$M_WALL" "$M_CPU" "$M_RSS" "$M_TE" "$M_TCPU" "$M_RC" >>"$RAW"; }

die_log() {
    echo "error: $1" >&2
    echo "--- last lines of the log ---" >&2
    tail -n 30 "$LOG" >&2
    if [ -s "$RAW" ] && [ -z "${REPORTING:-}" ]; then
        REPORTING=1
        stop_daemon
        write_report "$1" >/dev/null || true
        [ -z "$OUT" ] || echo "the measurements so far are in $OUT" >&2
    fi
    exit 1
}

# run_fjord SIZE SCENARIO RUN EXPECT: fjordd --once; its log must say EXPECT (applied / up to date).
# A no-change run that renders and plans the commit again ("changes nothing on this host") is not
# the idle path: the host's facts changed since the last run (other jobs on this machine add and
# remove network interfaces, and host.ipv4/ipv6 are facts). It is measured again, up to 3 times.
run_fjord() {
    local mark try
    for try in 1 2 3 4; do
        mark=$(wc -l <"$LOG")
        sync
        measure "$FJORDD" --config "$CFG" --once
        [ "$M_RC" = 0 ] || die_log "fjordd --once exited $M_RC ($RM, $1 files, $2, run $3)"
        if tail -n +"$((mark + 1))" "$LOG" | grep -q "$4"; then
            record "$1" "$2" fjord "$3"
            return 0
        fi
        [ "$4" = "up to date" ] && [ "$try" -lt 4 ] && tail -n +"$((mark + 1))" "$LOG" | grep -q "changes nothing on this host" ||
            die_log "fjordd --once did not report '$4' ($RM, $1 files, $2, run $3)"
        echo "warning: fjordd --once rendered the commit again (the host's facts changed: network interfaces?); measuring again ($RM, $1 files, $2, run $3)" >&2
        RERUNS=$((RERUNS + 1))
    done
}

# run_baseline SIZE SCENARIO RUN: fetch + checkout -f + rsync; each phase recorded, then the sum.
run_baseline() {
    local w=0 c=0 r=0 te=0 tc=0 phase
    sync
    for phase in fetch checkout rsync; do
        case $phase in
        fetch) measure git -C "$CLONE" fetch -q origin ;;
        checkout) measure git -C "$CLONE" checkout -q -f -B main origin/main ;;
        rsync) measure rsync -a --delete --checksum --fsync "$CLONE/hosts/h1/files/" "$ROOT2/" ;;
        esac
        record "$1" "$2" "b_$phase" "$3"
        [ "$M_RC" = 0 ] || die_log "baseline $phase exited $M_RC ($RM, $1 files, $2, run $3)"
        w=$(awk -v a="$w" -v b="$M_WALL" 'BEGIN { printf "%.6f", a + b }')
        c=$(awk -v a="$c" -v b="$M_CPU" 'BEGIN { printf "%.3f", a + b }')
        te=$(awk -v a="$te" -v b="$M_TE" 'BEGIN { printf "%.2f", a + b }')
        tc=$(awk -v a="$tc" -v b="$M_TCPU" 'BEGIN { printf "%.2f", a + b }')
        [ "$M_RSS" -gt "$r" ] && r=$M_RSS
    done
    M_WALL=$w M_CPU=$c M_RSS=$r M_TE=$te M_TCPU=$tc M_RC=0
    record "$1" "$2" baseline "$3"
}

# make_manifest: the floor's manifest of fjord's root as it is now (path, size, mtime_ns, mode).
make_manifest() {
    python3 - "$ROOT" "$MANIFEST" <<'EOF'
import os, sys
root, out = sys.argv[1:]
rows = []
for d, _dirs, files in os.walk(root):
    for n in files:
        p = os.path.join(d, n)
        s = os.lstat(p)
        rows.append(f"{os.path.relpath(p, root)}\t{s.st_size}\t{s.st_mtime_ns}\t{s.st_mode:o}\n")
with open(out, "w") as f:
    f.writelines(sorted(rows))
EOF
}

# run_floor SIZE SCENARIO RUN: one lstat pass as its own process; it must find no difference.
run_floor() {
    sync
    measure "$FLOOR" "$MANIFEST" "$ROOT"
    record "$1" "$2" floor "$3"
    [ "$M_RC" = 0 ] && [ "$(tail -n 1 "$LOG")" = "differences 0" ] ||
        die_log "the floor found differences or failed ($RM, $1 files, $2, run $3)"
}

# Both roots must hold the same tree after every scenario, or the comparison means nothing.
check_same() {
    diff -r -q "$ROOT" "$ROOT2" >>"$LOG" 2>&1 || die_log "fjord's root and the baseline's root differ after $1 ($RM, $2 files)"
}

# Trees of earlier runs are moved aside, not deleted, until the size is done: on ext4 without a
# journal (as here) the inode allocator skips inodes freed in the last 60-300 s one by one, so
# creating 10,000 files right after deleting 10,000 costs seconds of kernel CPU that a real
# first apply on a host never pays (find_inode_bit -> recently_deleted in perf).
TRASH_N=0
retire() {
    local d
    for d in "$@"; do
        [ -e "$d" ] || continue
        TRASH_N=$((TRASH_N + 1))
        mkdir -p "$W/trash"
        mv "$d" "$W/trash/$TRASH_N"
    done
}
fresh_fjord() { retire "$STATE" "$ROOT"; mkdir -p "$ROOT"; }
fresh_baseline() {
    retire "$CLONE" "$ROOT2"
    mkdir -p "$ROOT2"
    git init -q -b main "$CLONE"
    git -C "$CLONE" remote add origin "$URL"
}

# mem_row WHAT: VmRSS, RssAnon, RssFile, VmHWM, Private_Dirty, Private_Clean and Pss
# (KiB) of the running daemon as a line of $IDLE.
mem_row() {
    awk -v r="$RM" -v n="$N" -v w="$1" '
        FILENAME ~ /status$/ { v[$1] = $2 }
        FILENAME ~ /smaps_rollup$/ { m[$1] = $2 }
        END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r, n, w, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"],
                     m["Private_Dirty:"], m["Private_Clean:"], m["Pss:"] }' \
        "/proc/$DAEMON_PID/status" "/proc/$DAEMON_PID/smaps_rollup" >>"$IDLE"
}

# write_cfg FILE POLL_INTERVAL DRIFT_INTERVAL [daemon]: fjord's configuration for the current
# size and remote. The daemon's turns the host checks off (their fdatasync probe at start would
# land in the measured windows) and the registry timer to a day (no containers here anyway).
write_cfg() {
    {
        printf '[source]\nurl = "%s"\nbranch = "main"\npath = "hosts/h1"\npoll_interval = "%s"\n' "$URL" "$2"
        if [ "$RM" = ssh ]; then printf 'ssh_key = "%s"\nknown_hosts = "%s"\n' "$SSH_KEY" "$KNOWN_HOSTS"; fi
        printf '[apply]\nroot = "%s"\ndrift_interval = "%s"\n' "$ROOT" "$3"
        printf '[state]\ndir = "%s"\n' "$STATE"
        printf '[metrics]\ntextfile = ""\n'
        if [ "${4:-}" = daemon ]; then printf '[prerequisites]\nmode = "off"\n[podman]\nregistry_poll_interval = "24h"\n'; fi
    } >"$1"
}

# daemon_window PHASE CONFIG SKIP PASSES TIMEOUT [LOG TEXT]: starts fjordd with CONFIG, measures
# PASSES passes after the first SKIP (bench/daemon_probe.py: passes are renames of status.json,
# or lines with TEXT in the server's LOG), appends to $DAEMON_TSV and $IDLE. Leaves the daemon
# running (stop_daemon).
daemon_window() {
    local phase=$1 cfg=$2 k=$4 out=$E/probe-$1.out try kv when
    local by=(); [ -z "${6:-}" ] || by=(--log "$6" --match "$7")
    local -A p=()
    for try in 1 2 3; do
        rm -f "$E/daemon.pid" "$E/probe.ready"
        python3 "$BENCH/daemon_probe.py" --dir "$STATE" --pidfile "$E/daemon.pid" --ready "$E/probe.ready" \
            --skip "$3" --count "$k" --timeout "$5" "${by[@]}" >"$out" 2>>"$LOG" &
        PROBE_PID=$!
        for _ in $(seq 100); do [ -e "$E/probe.ready" ] && break; sleep 0.05; done
        [ -e "$E/probe.ready" ] || die_log "daemon_probe.py did not start"
        "$FJORDD" --config "$cfg" >>"$E/daemon.log" 2>&1 &
        DAEMON_PID=$!
        echo "$DAEMON_PID" >"$E/daemon.pid"
        wait "$PROBE_PID" || true
        PROBE_PID=""
        kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n 20 "$E/daemon.log" >&2; DAEMON_PID=""; die_log "fjordd (daemon, $phase) exited early"; }
        p=()
        for kv in $(cat "$out"); do p[${kv%%=*}]=${kv#*=}; done
        [ "${p[status]:-}" = ok ] || echo "warning: $phase window ($RM, $N files): ${p[status]:-no output}, ${p[passes]:-0} of $k passes seen" >&2
        [ "${p[passes]:-0}" -gt 0 ] || die_log "no $phase pass seen ($RM, $N files); see $E/daemon.log"
        # A render in the window is not the idle path (the host's facts changed: see run_fjord).
        [ "${p[renders]:-0}" != 0 ] || break
        echo "warning: $phase window ($RM, $N files): fjordd rendered a commit ${p[renders]} times in it (the host's facts changed?)$([ $try -lt 3 ] && echo "; measuring again")" >&2
        [ $try = 3 ] || { stop_daemon; RERUNS=$((RERUNS + 1)); }
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$RM" "$N" "$phase" "${p[passes]}" "${p[window_s]}" "${p[cpu_s]}" \
        "${p[self_s]}" "${p[children_s]}" "${p[sched_s]}" "${p[renames]}" "${p[renders]}" "${p[status]}" >>"$DAEMON_TSV"
    for when in start end; do
        printf '%s\t%s\t%s_%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$RM" "$N" "$phase" "$when" "${p[${when}_VmRSS]}" "${p[${when}_RssAnon]}" \
            "${p[${when}_RssFile]}" "${p[${when}_VmHWM]}" "${p[${when}_private_dirty]}" "${p[${when}_private_clean]}" "${p[${when}_pss]}" >>"$IDLE"
    done
}

# --- the overhead of the measuring itself -------------------------------------------------------
OVERHEAD_MS=$(
    for _ in $(seq 11); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%e' -o /dev/null true
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
    done | sort -n | sed -n 6p
)

# --- servers ------------------------------------------------------------------------------------
if [[ ,$REMOTES, == *,git,* ]]; then
    GITD_PORT=$(free_port) || { echo "no free port" >&2; exit 1; }
    # git-daemon itself, not the `git` wrapper, whose pid would leave the daemon behind when killed
    "$(git --exec-path)/git-daemon" --verbose --reuseaddr --export-all --base-path="$W" --listen=127.0.0.1 --port="$GITD_PORT" "$W" >>"$W/gitd.log" 2>&1 &
    GITD_PID=$!
    wait_port "$GITD_PORT" "$GITD_PID" || { cat "$W/gitd.log" >&2; GITD_PID=""; echo "git daemon did not start" >&2; exit 1; }
fi
if [[ ,$REMOTES, == *,ssh,* ]]; then
    # sshd as the current user (root here) from its own folder: own host key, an ed25519 client
    # key (libssh2 1.10 cannot sign with RSA keys that current sshd accepts), known_hosts with
    # the host key: both tools verify it (fjord always; ssh with StrictHostKeyChecking=yes).
    S=$W/ssh
    mkdir -m 700 "$S"
    ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/host_ed25519"
    ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/id_ed25519"
    cp "$S/id_ed25519.pub" "$S/authorized_keys"
    SSH_USER=$(id -un)
    SSH_PORT=$(free_port) || { echo "no free port" >&2; exit 1; }
    [ "$(id -u)" != 0 ] || mkdir -p /run/sshd # the privilege separation directory
    # sshd_config (bench/lib.sh) says why curve25519 and SHLVL=1.
    { sshd_config "$S" "$SSH_PORT" "$SSH_USER"; echo "LogLevel DEBUG1"; } >"$S/sshd_config"
    /usr/sbin/sshd -D -f "$S/sshd_config" -E "$S/sshd.log" &
    SSHD_PID=$!
    wait_port "$SSH_PORT" "$SSHD_PID" || { cat "$S/sshd.log" >&2; SSHD_PID=""; echo "sshd did not start" >&2; exit 1; }
    SSH_KEY=$S/id_ed25519
    KNOWN_HOSTS=$S/known_hosts
    echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" >"$KNOWN_HOSTS"
    SSH_CMD="ssh -F /dev/null -i $SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes"
fi

# --- report -------------------------------------------------------------------------------------
# write_report [NOTE]: the machine's details and the tables, to stdout and $OUT. NOTE (a failed
# run's reason) heads the report: a run that failed half-way still reports what it measured.
write_report() {
    local note=${1:-}
    LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
    STAT_END=$(head -1 /proc/stat)
    ELAPSED=$(($(date +%s) - T_START))
    SRC_REV=$( [ -n "$FJORD_SRC" ] && git -C "$FJORD_SRC" describe --always --dirty 2>/dev/null || echo unknown)
    DEV=$(df --output=source "$W" | tail -1)
    BLK=$(lsblk -no PKNAME "$DEV" 2>/dev/null | head -1)
    BLK=${BLK:-$(basename "$DEV")}
    disk_info="$DEV"
    if [ -r "/sys/block/$BLK/queue/rotational" ]; then
        drv=$(readlink -f "/sys/block/$BLK/device/driver" 2>/dev/null || true)
        disk_info="$DEV (${drv:+${drv##*/}, }rotational=$(cat "/sys/block/$BLK/queue/rotational"), scheduler $(cat "/sys/block/$BLK/queue/scheduler"), $(df -h --output=size "$W" | tail -1 | tr -d ' '))"
    fi
    # CPU time of the whole machine over the run (/proc/stat, USER_HZ = 100): how busy it was,
    # how much of that was this benchmark (the shell's and its children's, bash `times`), and
    # how much the hypervisor stole.
    times >"$W/times.end"
    local ours
    ours=$(awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } } END { printf "%.2f", t }' "$W/times.end")
    busy=$(awk -v a="$STAT_START" -v b="$STAT_END" -v ours="$ours" -v ours0="$OURS_START" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); t = 0; for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6]); steal = y[9] - x[9]
        other = (t - idle - steal) - 100 * (ours - ours0); if (other < 0) other = 0
        printf "%.0f %% busy (%.0f %% other than this benchmark), %.1f %% steal", 100 * (t - idle - steal) / t, 100 * other / t, 100 * steal / t }')
    OTHER_PCT=$(awk -v a="$STAT_START" -v b="$STAT_END" -v ours="$ours" -v ours0="$OURS_START" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); t = 0; for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6]); steal = y[9] - x[9]
        printf "%.0f", 100 * ((t - idle - steal) - 100 * (ours - ours0)) / t }')
    kex=""
    if [ -n "${S:-}" ] && [ -f "$S/sshd.log" ]; then
        # Per connection (one after the other): the client's software and the algorithms negotiated.
        kex=$(tr -d '\r' <"$S/sshd.log" | awk '
            /remote software version/ { sub(/.*remote software version /, ""); sw = $1 }
            /kex: algorithm:/ { sub(/.*kex: algorithm: /, ""); k = $1 }
            /kex: client->server cipher:/ { sub(/.*cipher: /, ""); sub(/ compression.*/, ""); sub(/ MAC: <implicit>/, "")
                                            seen[sw ": kex " k ", cipher " $0]++ }
            END { for (s in seen) printf "%s%s (%d connections)", (n++ ? "; " : ""), s, seen[s] }')
    fi
    {
        local ver
        ver=$("$FJORDD" --version | awk '{ print $2 }')
        echo "- fjord: $ver (\`fjordd --version\`), $BUILDTYPE build in $BUILD$([ "$SRC_REV" = "$ver" ] || echo " (its source checkout $FJORD_SRC is at $SRC_REV now)")"
        echo "- machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) (family $(awk -F': ' '/^cpu family/ { print $2; exit }' /proc/cpuinfo) model $(awk -F': ' '/^model\t/ { print $2; exit }' /proc/cpuinfo)), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(systemd-detect-virt --vm 2>/dev/null || echo "unknown") guest, kernel $(uname -r)"
        echo "- network: $([ -n "${FJORD_BENCH_NETNS:-}" ] && echo "the run's own network namespace (only lo, 127.0.0.1): other jobs' interfaces cannot change fjord's host facts mid-run" || echo "the host's network namespace (--no-netns)")"
        echo "- disk: $FSTYPE ($(findmnt -no OPTIONS --target "$W" 2>/dev/null)) on $disk_info"
        echo "- load average $LOAD_START at the start, $LOAD_END at the end; over the run's $((ELAPSED / 60)) min the machine's CPUs were $busy (/proc/stat)"
        echo "- tools: $(git --version), $(rsync --version | awk 'NR == 1 { print "rsync", $3 }'), $(ssh -V 2>&1 | cut -d, -f1), libgit2 $(dpkg-query -W -f '${Version}' libgit2-1.5 2>/dev/null || echo '?'), libssh2 $(dpkg-query -W -f '${Version}' libssh2-1 2>/dev/null || echo '?'); /usr/bin/time costs ~${OVERHEAD_MS} ms wall per command (in every wall time)"
        [ -z "$kex" ] || echo "- ssh as negotiated (sshd's log): $kex"
        [ "$RERUNS" = 0 ] || echo "- $RERUNS times a no-change run or an idle daemon window had fjordd render the commit again, because the host's facts (host.ipv4/ipv6: other jobs on this machine add and remove network interfaces) had changed under it; those were measured again"
        echo "- run: sizes $SIZES, remotes $REMOTES, $RUNS runs per scenario ($BIG_RUNS for the initial apply at >= $BIG files), $DRIFT_PASSES drift passes and $POLLS polls per daemon window"
        if [ "$OTHER_PCT" -gt 15 ]; then
            echo "- **The machine was busy**: other processes used $OTHER_PCT % of its CPUs during the run; wall times, fsync-bound ones most, are noisy, and CPU times are inflated by the contention (caches, frequency) too"
        fi
        [ -z "$note" ] || echo "- **INCOMPLETE RUN**: $note; the tables hold what was measured before"
    } >"$W/env.md"
    python3 "$BENCH/report.py" --raw "$RAW" --daemon "$DAEMON_TSV" --idle "$IDLE" --env "$W/env.md" ${OUT:+--out "$OUT"}
}

# --- per size and remote ------------------------------------------------------------------------
CHANGE=0 # every change commit gets its own number, so no two make the same content
for N in "${SIZE_LIST[@]}"; do
    D=$W/n$N
    REPO=$D/repo
    mkdir -p "$D"
    n_init=$RUNS
    [ "$N" -lt "$BIG" ] || n_init=$BIG_RUNS
    # Each initial run leaves ~5 trees (root, state, clone, root2, the clone's .git) until the size is done.
    need_kib=$((N * 6 * (n_init * ${#REMOTE_LIST[@]} * 5 + 6)))
    avail_kib=$(df --output=avail -k "$W" | tail -1)
    [ "$avail_kib" -gt "$need_kib" ] ||
        die_log "$N files need about $((need_kib / 1048576 + 1)) GiB in $W, $((avail_kib / 1048576)) GiB are free"
    echo "== $N files: generating the repo" >&2
    python3 "$BENCH/gen_repo.py" create "$REPO" "$N"
    git init -q -b main "$REPO"
    git -C "$REPO" config gc.auto 0
    git -C "$REPO" add -A
    git -C "$REPO" commit -q -m "$N files"
    git -C "$REPO" gc -q # a server's repo is packed
    MANY=$((N / 100))

    for RM in "${REMOTE_LIST[@]}"; do
        E=$D/$RM
        CLONE=$E/clone STATE=$E/state ROOT=$E/root ROOT2=$E/root2 CFG=$E/fjord.toml MANIFEST=$E/manifest
        mkdir -p "$E"
        unset GIT_SSH_COMMAND
        case $RM in
        git) URL=git://127.0.0.1:$GITD_PORT/n$N/repo ;;
        ssh) URL=ssh://$SSH_USER@127.0.0.1:$SSH_PORT$REPO; export GIT_SSH_COMMAND=$SSH_CMD ;;
        esac
        write_cfg "$CFG" 1h 5m

        echo "== $N files, $RM: initial apply x $n_init" >&2
        for i in $(seq "$n_init"); do
            fresh_fjord
            run_fjord "$N" initial "$i" applied
            fresh_baseline
            run_baseline "$N" initial "$i"
        done
        check_same initial "$N"

        echo "== $N files, $RM: no change x $RUNS (and the floor)" >&2
        make_manifest
        for i in $(seq "$RUNS"); do
            run_fjord "$N" no-change "$i" "up to date"
            run_baseline "$N" no-change "$i"
            run_floor "$N" no-change "$i"
        done
        check_same no-change "$N"

        echo "== $N files, $RM: one file changed x $RUNS" >&2
        for i in $(seq "$RUNS"); do
            CHANGE=$((CHANGE + 1))
            f=$(python3 "$BENCH/gen_repo.py" change "$REPO" "$N" "$CHANGE")
            git -C "$REPO" commit -q -m "change $CHANGE: $f" -- "$f"
            run_fjord "$N" one-file "$i" applied
            run_baseline "$N" one-file "$i"
        done
        check_same one-file "$N"

        echo "== $N files, $RM: $MANY files (1 %) changed x $RUNS" >&2
        for i in $(seq "$RUNS"); do
            CHANGE=$((CHANGE + 1))
            python3 "$BENCH/gen_repo.py" change-many "$REPO" "$N" "$CHANGE" "$MANY" >/dev/null
            git -C "$REPO" commit -q -a -m "change $CHANGE: $MANY files"
            run_fjord "$N" one-percent "$i" applied
            run_baseline "$N" one-percent "$i"
        done
        check_same one-percent "$N"

        echo "== $N files, $RM: no change again x $RUNS" >&2
        make_manifest
        for i in $(seq "$RUNS"); do
            run_fjord "$N" no-change-warm "$i" "up to date"
            run_baseline "$N" no-change-warm "$i"
            run_floor "$N" no-change-warm "$i"
        done
        check_same no-change-warm "$N"

        echo "== $N files, $RM: daemon, $DRIFT_PASSES drift passes alone" >&2
        write_cfg "$E/daemon-drift.toml" 1h 1s daemon
        # Passes: status.json renames (one per drift pass); the first poll's two and the first pass skipped.
        daemon_window drift "$E/daemon-drift.toml" 3 "$DRIFT_PASSES" $((60 + DRIFT_PASSES * 15))
        stop_daemon
        # The daemon applying a change itself (fjordctl sync: drift pass, fetch, apply), then idle:
        # a daemon with no short timer, so that nothing runs when its memory is read 1 s later.
        write_cfg "$E/daemon-idle.toml" 1h 1h daemon
        "$FJORDD" --config "$E/daemon-idle.toml" >>"$E/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for _ in $(seq 100); do "$FJORDCTL" --config "$E/daemon-idle.toml" status >/dev/null 2>&1 && break; sleep 0.1; done
        CHANGE=$((CHANGE + 1))
        f=$(python3 "$BENCH/gen_repo.py" change "$REPO" "$N" "$CHANGE")
        git -C "$REPO" commit -q -m "daemon change $CHANGE: $f" -- "$f"
        "$FJORDCTL" --config "$E/daemon-idle.toml" sync >>"$LOG" 2>&1 || die_log "fjordctl sync failed ($RM, $N files; see $E/daemon.log)"
        sleep 1
        mem_row idle_after_sync
        stop_daemon
        # The floor of a drift pass: the same lstat passes in one process, the manifest read each
        # pass (as fjord reads its stat cache); per pass, from the floor's own clocks.
        make_manifest
        read -r _ fd _ fk _ fcpu _ fwall < <("$FLOOR" -n "$((DRIFT_PASSES * 2))" "$MANIFEST" "$ROOT")
        [ "$fd" = 0 ] || die_log "the floor found $fd differences in the drift scenario ($RM, $N files)"
        M_WALL=$(awk -v x="$fwall" 'BEGIN { printf "%.6f", x / 1e9 }') M_CPU=$(awk -v x="$fcpu" 'BEGIN { printf "%.6f", x / 1e9 }')
        M_RSS="" M_TE="" M_TCPU="" M_RC=0
        record "$N" drift floor "$fk"

        echo "== $N files, $RM: daemon, $POLLS idle polls" >&2
        write_cfg "$E/daemon-poll.toml" 1s 1h daemon
        # Polls: the server's log line for each connection (fjordd saves its status twice a poll).
        if [ "$RM" = git ]; then
            daemon_window idle-poll "$E/daemon-poll.toml" 2 "$POLLS" $((60 + POLLS * 5)) "$W/gitd.log" "Request upload-pack for '/n$N/repo'"
        else
            daemon_window idle-poll "$E/daemon-poll.toml" 2 "$POLLS" $((60 + POLLS * 5)) "$S/sshd.log" "Accepted publickey"
        fi
        stop_daemon
        for i in $(seq "$((RUNS > 5 ? RUNS : 5))"); do
            measure git ls-remote "$URL" refs/heads/main
            [ "$M_RC" = 0 ] || die_log "git ls-remote exited $M_RC ($RM, $N files)"
            record "$N" idle-poll ls-remote "$i"
        done
    done
    echo "== $N files: $(du -sh "$W" | cut -f1) in $W$([ -n "$KEEP" ] && echo ", kept" || echo "; removing this size's trees")" >&2
    [ -n "$KEEP" ] || rm -rf "$W/trash" "$D"
done

write_report
