#!/bin/bash
# Benchmarks `fjordd --once` against the obvious alternative, in the same run, on the same disk:
#   git fetch + git checkout -f (a local clone) + rsync -a --delete --checksum --fsync
# for generated host-config repos (hosts/h1/files/..., ~20 files per folder, 200 B - 8 KiB each).
#
# Scenarios per size: initial apply (fresh state, clone and root each run), no change (nothing new
# in the repo), one file changed (a new commit changing one file before each run), then no change
# again (no-change-warm). Each run is measured with /usr/bin/time; the table shows medians. Then
# fjordd's idle RSS in daemon mode.
#
# Usage: bench/run.sh [--sizes 1000,10000] [--runs 5] [--remote local|git] [BUILD_DIR]
#        BUILD_DIR: first argument, or $BUILD, or build/ in the project root
#        --remote local: both fetch from the repo's path (default). libgit2 then builds the pack
#                 in-process, so fjordd's CPU includes the server's side of the fetch, git's not.
#        --remote git: both fetch from a `git daemon` on 127.0.0.1 (the server's work is in
#                 neither tool's numbers), closer to a real ssh/https remote.
# Prints a markdown table and writes it to bench/results.md. Targets are informational: the exit
# status is 0 whenever the benchmark itself ran.
# Everything lives in one temp dir under /var/tmp (not tmpfs: fsync cost matters; about 1.5 GB for
# 10,000 files x 5 runs, as earlier runs' trees are kept until the end), removed at the end, also
# on Ctrl-C; what it leaves running between steps (fjordd in daemon mode, git-daemon for
# --remote git) is stopped by pid.
set -euo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(dirname "$BENCH")
SIZES=1000,10000
RUNS=5
REMOTE=local
BUILD_ARG=""

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
    --sizes=*) SIZES=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --remote) REMOTE=${2:?--remote needs a value}; shift 2 ;;
    --remote=*) REMOTE=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD_ARG=$1; shift ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive number" >&2; exit 2; }
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--sizes must be a list like 1000,10000" >&2; exit 2; }
[[ $REMOTE == local || $REMOTE == git ]] || { echo "--remote must be local or git" >&2; exit 2; }
IFS=, read -r -a SIZE_LIST <<<"$SIZES"

BUILD=${BUILD_ARG:-${BUILD:-$PROJECT/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build dir ${BUILD_ARG:-${BUILD:-$PROJECT/build}}" >&2; exit 2; }
FJORDD=$BUILD/fjordd
FJORDCTL=$BUILD/fjordctl
for b in "$FJORDD" "$FJORDCTL"; do
    [ -x "$b" ] || { echo "no $b (build first: meson setup $BUILD --buildtype=release && ninja -C $BUILD)" >&2; exit 2; }
done
for t in git rsync python3 awk; do command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 2; }; done
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time" >&2
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends time >&2 ||
        { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
fi
[[ $(rsync --help 2>&1) == *--fsync* ]] || { echo "rsync has no --fsync (needs >= 3.2.4)" >&2; exit 2; }

BUILDTYPE=$(python3 - "$BUILD" <<'EOF' 2>/dev/null || echo unknown
import json, sys
for o in json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json")):
    if o["name"] == "buildtype":
        print(o["value"])
EOF
)
[ "$BUILDTYPE" = release ] || echo "warning: $BUILD is a '$BUILDTYPE' build, not release; numbers will be pessimistic" >&2

# --- scratch space and cleanup ------------------------------------------------------------------
W=$(mktemp -d /var/tmp/fjord-bench-XXXXXX)
DAEMON_PID=""
GITD_PID=""
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}
cleanup() {
    trap - EXIT INT TERM HUP
    stop_daemon
    if [ -n "$GITD_PID" ]; then
        kill -TERM "$GITD_PID" 2>/dev/null || true
        wait "$GITD_PID" 2>/dev/null || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "interrupted, cleaning up" >&2; exit 130' INT TERM HUP

FSTYPE=$(findmnt -no FSTYPE --target "$W" 2>/dev/null || stat -f -c %T "$W")
[ "$FSTYPE" != tmpfs ] || echo "warning: $W is on tmpfs; fsync costs nothing there" >&2
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=fjord-bench GIT_AUTHOR_EMAIL=bench@fjord.invalid
export GIT_COMMITTER_NAME=fjord-bench GIT_COMMITTER_EMAIL=bench@fjord.invalid

RAW=$W/raw.tsv # size scenario tool run wall_s cpu_s rss_kib time_e time_cpu rc
IDLE=$W/idle.tsv
: >"$RAW"
: >"$IDLE"
LOG=$W/run.log
: >"$LOG"

# cpu_of FILE: the children's user+sys seconds from the output of bash's `times` ("0m1.234s 0m0.056s").
cpu_of() {
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.3f", t }' "$1"
}
# rss_row PID SIZE WHAT: VmRSS, RssAnon, RssFile and VmHWM (KiB) of PID as a line of $IDLE.
rss_row() {
    awk -v n="$2" -v w="$3" '{ v[$1] = $2 } END { printf "%s\t%s\t%s\t%s\t%s\t%s\n", n, w, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"] }' \
        "/proc/$1/status" >>"$IDLE"
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

# record SIZE SCENARIO TOOL RUN: appends the last measurement.
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$M_WALL" "$M_CPU" "$M_RSS" "$M_TE" "$M_TCPU" "$M_RC" >>"$RAW"; }

die_log() {
    echo "error: $1" >&2
    echo "--- last lines of the log ---" >&2
    tail -n 30 "$LOG" >&2
    exit 1
}

# run_fjord SIZE SCENARIO RUN EXPECT: fjordd --once; its log must say EXPECT (applied / up to date).
run_fjord() {
    local mark
    mark=$(wc -l <"$LOG")
    sync
    measure "$FJORDD" --config "$CFG" --once
    record "$1" "$2" fjord "$3"
    [ "$M_RC" = 0 ] || die_log "fjordd --once exited $M_RC ($1 files, $2, run $3)"
    tail -n +"$((mark + 1))" "$LOG" | grep -c "$4" >/dev/null ||
        die_log "fjordd --once did not report '$4' ($1 files, $2, run $3)"
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
        [ "$M_RC" = 0 ] || die_log "baseline $phase exited $M_RC ($1 files, $2, run $3)"
        w=$(awk -v a="$w" -v b="$M_WALL" 'BEGIN { printf "%.6f", a + b }')
        c=$(awk -v a="$c" -v b="$M_CPU" 'BEGIN { printf "%.3f", a + b }')
        te=$(awk -v a="$te" -v b="$M_TE" 'BEGIN { printf "%.2f", a + b }')
        tc=$(awk -v a="$tc" -v b="$M_TCPU" 'BEGIN { printf "%.2f", a + b }')
        [ "$M_RSS" -gt "$r" ] && r=$M_RSS
    done
    M_WALL=$w M_CPU=$c M_RSS=$r M_TE=$te M_TCPU=$tc M_RC=0
    record "$1" "$2" baseline "$3"
}

# Both roots must hold the same tree after every scenario, or the comparison means nothing.
check_same() {
    diff -r -q "$ROOT" "$ROOT2" >>"$LOG" 2>&1 || die_log "fjord's root and the baseline's root differ after $1 ($2 files)"
}

# Trees of earlier runs are moved aside, not deleted, until the end: on ext4 without a journal
# (as here) the inode allocator skips inodes freed in the last 60-300 s one by one, so creating
# 10,000 files right after deleting 10,000 costs seconds of kernel CPU that a real first apply
# on a host never pays (find_inode_bit -> recently_deleted in perf).
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

# --- the overhead of the measuring itself -------------------------------------------------------
OVERHEAD_MS=$(
    for _ in $(seq 11); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%e' -o /dev/null true
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
    done | sort -n | sed -n 6p
)

# --- the git daemon for --remote git ------------------------------------------------------------
if [ "$REMOTE" = git ]; then
    for _ in $(seq 100); do
        GITD_PORT=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$GITD_PORT") 2>/dev/null || break
    done
    # git-daemon itself, not the `git` wrapper, whose pid would leave the daemon behind when killed
    "$(git --exec-path)/git-daemon" --reuseaddr --export-all --base-path="$W" --listen=127.0.0.1 --port="$GITD_PORT" "$W" >>"$W/gitd.log" 2>&1 &
    GITD_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$GITD_PORT") 2>/dev/null && break
        kill -0 "$GITD_PID" 2>/dev/null || { cat "$W/gitd.log" >&2; GITD_PID=""; echo "git daemon did not start" >&2; exit 1; }
        sleep 0.1
    done
fi

# --- per size -----------------------------------------------------------------------------------
for N in "${SIZE_LIST[@]}"; do
    D=$W/n$N
    REPO=$D/repo CLONE=$D/clone STATE=$D/state ROOT=$D/root ROOT2=$D/root2 CFG=$D/fjord.toml
    mkdir -p "$D"
    if [ "$REMOTE" = git ]; then URL=git://127.0.0.1:$GITD_PORT/n$N/repo; else URL=$REPO; fi
    echo "== $N files: generating the repo" >&2
    python3 "$BENCH/gen_repo.py" create "$REPO" "$N"
    git init -q -b main "$REPO"
    git -C "$REPO" config gc.auto 0
    git -C "$REPO" add -A
    git -C "$REPO" commit -q -m "$N files"
    git -C "$REPO" gc -q # a server's repo is packed
    {
        printf '[source]\nurl = "%s"\nbranch = "main"\npath = "hosts/h1"\npoll_interval = "1h"\n' "$URL"
        printf '[apply]\nroot = "%s"\n' "$ROOT"
        printf '[state]\ndir = "%s"\n' "$STATE"
        printf '[metrics]\ntextfile = ""\n'
    } >"$CFG"

    echo "== $N files: initial apply x $RUNS" >&2
    for i in $(seq "$RUNS"); do
        fresh_fjord
        run_fjord "$N" initial "$i" applied
        fresh_baseline
        run_baseline "$N" initial "$i"
    done
    check_same initial "$N"

    echo "== $N files: no change x $RUNS" >&2
    for i in $(seq "$RUNS"); do
        run_fjord "$N" no-change "$i" "up to date"
        run_baseline "$N" no-change "$i"
    done
    check_same no-change "$N"

    echo "== $N files: one file changed x $RUNS" >&2
    for i in $(seq "$RUNS"); do
        f=$(python3 "$BENCH/gen_repo.py" change "$REPO" "$N" "$i")
        git -C "$REPO" commit -q -m "change $i: $f" -- "$f"
        run_fjord "$N" one-file "$i" applied
        run_baseline "$N" one-file "$i"
    done
    check_same one-file "$N"

    echo "== $N files: no change again x $RUNS" >&2
    for i in $(seq "$RUNS"); do
        run_fjord "$N" no-change-warm "$i" "up to date"
        run_baseline "$N" no-change-warm "$i"
    done
    check_same no-change-warm "$N"

    echo "== $N files: idle RSS of the daemon" >&2
    "$FJORDD" --config "$CFG" >>"$D/daemon.log" 2>&1 &
    DAEMON_PID=$!
    polled=""
    for _ in $(seq 300); do # up to 30 s; the first poll sets next_poll about 1 h ahead
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        np=$("$FJORDCTL" --config "$CFG" status --json 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin).get("next_poll", 0))' 2>/dev/null || echo 0)
        if [ "${np:-0}" -gt "$(($(date +%s) + 1800))" ]; then polled=1; break; fi
        sleep 0.1
    done
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$D/daemon.log" >&2; DAEMON_PID=""; die_log "fjordd (daemon) exited early"; }
    [ -n "$polled" ] || echo "warning: no first poll seen within 30 s; measuring anyway" >&2
    sleep 1
    rss_row "$DAEMON_PID" "$N" idle_after_first_poll
    # Informational: the daemon applying a change itself (drift pass + fetch + apply), then idle.
    f=$(python3 "$BENCH/gen_repo.py" change "$REPO" "$N" 1000)
    git -C "$REPO" commit -q -m "daemon change: $f" -- "$f"
    "$FJORDCTL" --config "$CFG" sync >>"$LOG" 2>&1 || echo "warning: fjordctl sync failed (see the daemon log)" >&2
    sleep 1
    rss_row "$DAEMON_PID" "$N" idle_after_sync
    stop_daemon

done

# --- report -------------------------------------------------------------------------------------
FJORD_REV=$(git -C "$PROJECT" describe --always --dirty 2>/dev/null || echo unknown)
ENV_LINE="Remote: $([ "$REMOTE" = git ] && echo "git daemon on 127.0.0.1 (git://)" || echo "the repo's local path"). fjord $FJORD_REV ($BUILDTYPE build), $(nproc) CPUs, load average $LOAD_START at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(uname -r), $FSTYPE on $(df --output=source "$W" | tail -1), $(git --version), $(rsync --version | awk 'NR == 1 { print "rsync", $3 }'), /usr/bin/time overhead ~${OVERHEAD_MS} ms wall per command"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v a="${LOAD_START%% *}" -v b="${LOAD_END%% *}" -v n="$(nproc)" 'BEGIN { exit !(a > n / 2 || b > n / 2) }'; then
    ENV_LINE="$ENV_LINE. The machine was busy (1-minute load average above half the CPUs): wall times, fsync-bound ones most, are noisy; the CPU columns hold up better"
fi
python3 "$BENCH/report.py" --raw "$RAW" --idle "$IDLE" --runs "$RUNS" --env "$ENV_LINE" --out "$BENCH/results.md"
