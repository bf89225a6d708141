#!/bin/bash
# A simulated rollout (issue 20): N fjordd instances on this machine (each its own apply root,
# state dir and host name) poll one fleet repo and report to one status repo, both served by
# git daemon (git://) or an own sshd (ssh://) on 127.0.0.1. A commit is pushed that changes a
# file; measured: the time from the push until each host applied it (per wave: first and last
# host), the Git server's CPU over the rollout (its own cgroup, as in bench/fleet/run.sh), the
# fjordd instances' CPU, and whether any host of a later wave applied the commit before every
# host of the earlier waves had. Two rollouts in the same run, each from the same start:
#   waves    fleet.toml: canary = hosts fleet01, fleet02; early = percent 30, after AFTER,
#            require 100 %; rest, after AFTER
#   all      the same commit with fleet.toml's mode = "all" (every host at its next poll):
#            the obvious alternative, and the floor for the time to the last host
# The section "## Fleet rollout (issue 20)" of bench/results.md is (re)written.
#
# It needs a fjord with the [report] keys and fleet.toml's gate (issue 20: branches wip-reports
# and wip-gates; bench/results.md's run used a scratch merge of the two, named there). With a
# fjordd that refuses the [report] table it stops and says so; --no-fleet runs the harness without
# [report] and gates (the "all" rollout alone, fleet.toml ignored).
#
# Usage: bench/fleet/rollout.sh [--hosts 50] [--poll 5s] [--after 10s] [--remote git|ssh]
#                               [--timeout 600] [--no-fleet] [--out FILE] [--keep] [--no-netns] [BUILD_DIR]
#   BUILD_DIR     first argument, or $BUILD, or build/ in the project root (a release build)
#   --hosts N     fjordd instances (default 50; host names fleet01 ..)
#   --poll D      source.poll_interval of every host (default 5s); --after D: the waves' after
#   --timeout S   seconds a rollout may take before the run gives up on it (default 600)
#   --out FILE    default bench/results.md; "-" for stdout only
# Cost: N idle daemons polling every 5 s take ~N x 14 ms / 5 s of CPU (0.14 of a core at 50).
set -euo pipefail
export LC_ALL=C

FLEET=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$FLEET")
PROJECT=$(dirname "$BENCH")
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh" # stop_pid, free_port, wait_port, sshd_config, own_netns, server_cgroup, server_us
HOSTS=50 POLL=5s AFTER=10s RM=git TIMEOUT=600 FLEETMODE=1 OUT=$BENCH/results.md KEEP="" NETNS=1 BUILD_ARG=""
ARGS=("$@")
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
    case $1 in
    --hosts) HOSTS=${2:?}; shift 2 ;;
    --poll) POLL=${2:?}; shift 2 ;;
    --after) AFTER=${2:?}; shift 2 ;;
    --remote) RM=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --no-fleet) FLEETMODE=""; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-netns) NETNS=""; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD_ARG=$1; shift ;;
    esac
done
[ "$OUT" != - ] || OUT=""
[[ $HOSTS =~ ^[1-9][0-9]?$ ]] || { echo "--hosts must be 1 to 99" >&2; exit 2; }
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "--timeout must be a number of seconds" >&2; exit 2; }
[[ $RM =~ ^(git|ssh)$ ]] || { echo "--remote must be git or ssh" >&2; exit 2; }
BUILD=${BUILD_ARG:-${BUILD:-$PROJECT/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build dir ${BUILD_ARG:-${BUILD:-$PROJECT/build}}" >&2; exit 2; }
for b in fjordd fjordctl; do
    [ -x "$BUILD/$b" ] || { echo "no $BUILD/$b (meson setup $BUILD --buildtype=release && ninja -C $BUILD fjordd fjordctl)" >&2; exit 2; }
done
if [ -n "$NETNS" ] && ! own_netns "${BASH_SOURCE[0]}" "${ARGS[@]}"; then
    echo "warning: not root (or no unshare/ip): the host's network namespace" >&2
    NETNS=""
fi

W=$(mktemp -d /var/tmp/fjord-rollout-XXXXXX)
GITD_PID="" SSHD_PID="" DPIDS=() SERVER="" SERVER_PID=""
cleanup() {
    trap - EXIT INT TERM HUP
    local p
    for p in "${DPIDS[@]}"; do stop_pid "$p"; done
    stop_pid "$GITD_PID"
    stop_pid "$SSHD_PID"
    remove_cgroups
    if [ -n "$KEEP" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "interrupted, cleaning up" >&2; exit 130' INT TERM HUP
die() { echo "error: $*" >&2; exit 1; }

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=fjord-bench GIT_AUTHOR_EMAIL=bench@fjord.invalid
export GIT_COMMITTER_NAME=fjord-bench GIT_COMMITTER_EMAIL=bench@fjord.invalid
# The interpreter itself, not a shim (pyenv's bash shim costs ~50 ms a start).
PY=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$W/bin" "$W/srv"
cp "$BUILD/fjordd" "$BUILD/fjordctl" "$W/bin/"
FJORDD=$W/bin/fjordd

# --- the Git server, in a cgroup of its own (bench/lib.sh: all it forks, its CPU in ns) ----------
case $RM in
git)
    PORT=$(free_port) || die "no free port"
    "$(git --exec-path)/git-daemon" --reuseaddr --export-all --enable=receive-pack --base-path="$W/srv" \
        --listen=127.0.0.1 --port="$PORT" "$W/srv" >>"$W/gitd.log" 2>&1 &
    GITD_PID=$! SERVER=gitd SERVER_PID=$GITD_PID
    server_cgroup gitd "$GITD_PID"
    wait_port "$PORT" "$GITD_PID" || { GITD_PID=""; die "git daemon did not start"; }
    FLEET_URL=git://127.0.0.1:$PORT/fleet STATUS_URL=git://127.0.0.1:$PORT/status
    ;;
ssh)
    S=$W/ssh
    mkdir -m 700 "$S"
    ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/host_ed25519"
    ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/id_ed25519"
    cp "$S/id_ed25519.pub" "$S/authorized_keys"
    PORT=$(free_port) || die "no free port"
    [ "$(id -u)" != 0 ] || mkdir -p /run/sshd
    { sshd_config "$S" "$PORT" "$(id -un)"; echo "AcceptEnv GIT_PROTOCOL"; } >"$S/sshd_config"
    /usr/sbin/sshd -D -f "$S/sshd_config" -E "$S/sshd.log" &
    SSHD_PID=$! SERVER=sshd SERVER_PID=$SSHD_PID
    server_cgroup sshd "$SSHD_PID"
    wait_port "$PORT" "$SSHD_PID" || { SSHD_PID=""; die "sshd did not start"; }
    echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/host_ed25519.pub")" >"$S/known_hosts"
    FLEET_URL=ssh://$(id -un)@127.0.0.1:$PORT$W/srv/fleet STATUS_URL=ssh://$(id -un)@127.0.0.1:$PORT$W/srv/status
    ;;
esac

# --- the repos ----------------------------------------------------------------------------------
WORK=$W/work
git init -q -b main "$WORK"
mkdir -p "$WORK/hosts/all/files/etc"
fleet_toml() { # MODE
    printf 'mode = "%s"\n\n[[wave]]\nname = "canary"\nhosts = ["fleet01", "fleet02"]\n\n' "$1"
    printf '[[wave]]\nname = "early"\npercent = 30\nafter = "%s"\nrequire = "100%%"\n\n' "$AFTER"
    printf '[[wave]]\nname = "rest"\nafter = "%s"\nrequire = "100%%"\n' "$AFTER"
}
commit() { # MODE MESSAGE: a new commit changing /etc/motd, with fleet.toml in MODE
    fleet_toml "$1" >"$WORK/fleet.toml"
    echo "$2" >"$WORK/hosts/all/files/etc/motd"
    git -C "$WORK" add -A
    git -C "$WORK" commit -qm "$2"
    git -C "$WORK" rev-parse HEAD
}
# The start commit rolls out in the same waves, so that every host has a marker in its own wave
# before the measured push: the gate's denominator is the hosts with a marker in the previous wave.
C0=$(commit waves "start")
git clone -q --bare "$WORK" "$W/srv/fleet"
git -C "$W/srv/fleet" config gc.auto 0

# --- the hosts ----------------------------------------------------------------------------------
for i in $(seq "$HOSTS"); do
    h=fleet$(printf '%02d' "$i")
    d=$W/hosts/$h
    mkdir -p "$d/root" "$d/state"
    {
        printf '[source]\nurl = "%s"\nbranch = "main"\npath = "hosts/all"\npoll_interval = "%s"\n' "$FLEET_URL" "$POLL"
        [ "$RM" != ssh ] || printf 'ssh_key = "%s"\nknown_hosts = "%s"\n' "$S/id_ed25519" "$S/known_hosts"
        printf '[apply]\nroot = "%s"\ndrift_interval = "1h"\n' "$d/root"
        printf '[state]\ndir = "%s"\n[metrics]\ntextfile = ""\n' "$d/state"
        printf '[prerequisites]\nmode = "off"\n[podman]\nregistry_poll_interval = "24h"\n'
        if [ -n "$FLEETMODE" ]; then
            printf '[report]\nurl = "%s"\nhost = "%s"\nheartbeat = "15m"\n' "$STATUS_URL" "$h"
            [ "$RM" != ssh ] || printf 'ssh_key = "%s"\nknown_hosts = "%s"\n' "$S/id_ed25519" "$S/known_hosts"
        fi
    } >"$d/fjord.toml"
done
HOSTLIST=$(ls "$W/hosts")

start_all() {
    local h
    DPIDS=()
    for h in $HOSTLIST; do
        "$FJORDD" --config "$W/hosts/$h/fjord.toml" >>"$W/hosts/$h/fjordd.log" 2>&1 &
        DPIDS+=("$!")
    done
    sleep 1
    for i in "${!DPIDS[@]}"; do
        kill -0 "${DPIDS[$i]}" 2>/dev/null && continue
        h=$(sed -n "$((i + 1))p" <<<"$HOSTLIST")
        if grep -qi 'report' "$W/hosts/$h/fjordd.log"; then
            die "fjordd refused the [report] table: this fjord has no fleets yet (issue 20: wip-reports and wip-gates); --no-fleet runs the harness alone. Its log: $(tail -n 3 "$W/hosts/$h/fjordd.log")"
        fi
        die "fjordd of $h ended: $(tail -n 5 "$W/hosts/$h/fjordd.log")"
    done
}
stop_all() { local p; for p in "${DPIDS[@]}"; do stop_pid "$p"; done; DPIDS=(); }
fjordd_ticks() { local p t=0; for p in "${DPIDS[@]}"; do t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }

# wait_all COMMIT T0 TIMEOUT TSV: until every host applied COMMIT (bench/fleet/watch.py; times from T0)
wait_all() {
    local h dirs=()
    for h in $HOSTLIST; do dirs+=("$W/hosts/$h/state"); done
    "$PY" "$FLEET/watch.py" "$1" "$2" "$3" "$4" "${dirs[@]}"
}

# --- the rollouts -------------------------------------------------------------------------------
: >"$W/rollouts.tsv" # rollout seconds_to_last server_cpu_ms fjordd_cpu_ms hosts
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MODES=(all)
[ -z "$FLEETMODE" ] || MODES=(waves all)
for mode in "${MODES[@]}"; do
    echo "== rollout: $mode" >&2
    # Every host starts from C0 applied (through the waves), its report pushed, from a fresh state.
    for h in $HOSTLIST; do rm -rf "$W/hosts/$h/state" "$W/hosts/$h/root"; mkdir -p "$W/hosts/$h/state" "$W/hosts/$h/root"; done
    git -C "$W/srv/fleet" update-ref refs/heads/main "$C0"
    rm -rf "$W/srv/status"
    git init -q --bare "$W/srv/status"
    start_all
    wait_all "$C0" "$EPOCHREALTIME" "$TIMEOUT" "$W/start-$mode.tsv" || die "the hosts did not apply the first commit"
    sleep 2 # the first reports land
    c=$(commit "$mode" "rollout $mode") # fleet.toml's mode: "waves" or "all"
    s0=$(server_us "$SERVER" "$SERVER_PID") f0=$(fjordd_ticks)
    t0=$EPOCHREALTIME # the clock starts before the push
    git -C "$WORK" push -q "$W/srv/fleet" HEAD:main
    : >"$W/applied-$mode.tsv"
    ok="every host applied it"
    wait_all "$c" "$t0" "$TIMEOUT" "$W/applied-$mode.tsv" || ok="**TIMEOUT** after $TIMEOUT s"
    s1=$(server_us "$SERVER" "$SERVER_PID") f1=$(fjordd_ticks)
    last=$(sort -t$'\t' -k3,3n "$W/applied-$mode.tsv" | tail -n 1 | cut -f3)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "${last:-}" "$(((s1 - s0) / 1000))" "$(((f1 - f0) * 1000 / $(getconf CLK_TCK)))" \
        "$(wc -l <"$W/applied-$mode.tsv")" "$ok" >>"$W/rollouts.tsv"
    stop_all
done

# --- report -------------------------------------------------------------------------------------
{
    echo "## Fleet rollout (issue 20)"
    echo ""
    if [ -z "$FLEETMODE" ]; then echo "**Not yet run with fleets** (reports and wave gates are on branches wip-reports and wip-gates, not merged when this was written): this is \`--no-fleet\`, the harness alone, every host at its next poll. Once they are merged, \`bench/fleet/rollout.sh\` adds the rollout in waves to this table."; echo ""; fi
    echo "\`bench/fleet/rollout.sh\`: $HOSTS fjordd instances on this machine (own apply roots, state dirs and host names), poll_interval $POLL, one fleet repo$([ -z "$FLEETMODE" ] || echo " and one status repo") over $RM:// on 127.0.0.1; a commit changing one file pushed$([ -z "$FLEETMODE" ] || echo "; the waves' \`after\` $AFTER")."
    echo ""
    src=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' "$BUILD/meson-info/meson-info.json" 2>/dev/null || true)
    echo "- fjord: $("$FJORDD" --version | awk '{ print $2 }') (\`fjordd --version\`) from $BUILD$([ -z "$src" ] || echo ", built from $src at $(git -C "$src" log -1 --format='%h "%s"' 2>/dev/null || echo '?')")"
    echo "- this script: $(git -C "$PROJECT" describe --always --dirty 2>/dev/null || echo unknown); $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(($(date +%s) - T_START)) s"
    echo "- Git server CPU, from the push until the last host applied: $(server_cpu_source "$SERVER")"
    echo ""
    echo "| rollout | hosts | push to last host | Git server CPU | fjordd CPU (all hosts) | result |"
    echo "|---|---:|---:|---:|---:|---|"
    awk -F'\t' '{ printf "| %s | %s | %s s | %.0f ms | %.0f ms | %s |\n", $1 == "waves" ? "waves (canary, early 30 %, rest)" : "all at once (mode = \"all\")", $5, $2, $3, $4, $6 }' "$W/rollouts.tsv"
    echo ""
    for mode in "${MODES[@]}"; do
        echo "Rollout *$mode*, per wave (seconds after the push; the wave as status.json names it):"
        echo ""
        echo "| wave | hosts | first host | last host |"
        echo "|---|---:|---:|---:|"
        awk -F'\t' '{ w = $2 == "" ? "(none)" : $2; n[w]++; if (!(w in lo) || $3 < lo[w]) lo[w] = $3; if ($3 > hi[w]) hi[w] = $3 }
            END { for (w in n) printf "| %s | %d | %.1f s | %.1f s |\n", w, n[w], lo[w], hi[w] }' "$W/applied-$mode.tsv" | sort -t'|' -k5,5n
        echo ""
    done
    if [ -n "$FLEETMODE" ]; then
        # Order: no host of a later wave before the last host of an earlier one.
        "$PY" - "$W/applied-waves.tsv" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
order = ["canary", "early", "rest"]
last = {w: max((float(r[2]) for r in rows if r[1] == w), default=None) for w in order}
first = {w: min((float(r[2]) for r in rows if r[1] == w), default=None) for w in order}
bad = [f"{order[i + 1]} began at {first[order[i + 1]]:.1f} s, before {order[i]} ended at {last[order[i]]:.1f} s"
       for i in range(2) if first[order[i + 1]] is not None and last[order[i]] is not None and first[order[i + 1]] < last[order[i]]]
print("- wave order: " + ("**VIOLATED**: " + "; ".join(bad) if bad else "kept (no host applied before every host of the waves before it)"))
EOF
    else
        echo "- **--no-fleet**: no reports, no gates (fleet.toml ignored): the harness alone."
    fi
} >"$W/section.md"
cat "$W/section.md"
if [ -n "$OUT" ]; then
    "$PY" - "$OUT" "$W/section.md" <<'EOF'
import sys
out, sec = sys.argv[1], open(sys.argv[2]).read()
try:
    lines = open(out).read().splitlines(keepends=True)
except FileNotFoundError:
    lines = []
start = next((i for i, l in enumerate(lines) if l.startswith("## Fleet rollout")), None)
if start is None:
    text = "".join(lines) + ("\n" if lines else "") + sec
else:
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    text = "".join(lines[:start]) + sec + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
open(out, "w").write(text)
EOF
fi
