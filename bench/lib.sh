# Shell functions the benchmarks share (bench/run.sh, bench/fleet/run.sh): source it.

# stop_pid PID: TERM, up to 5 s, then KILL (nothing for an empty PID).
stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# free_port: a port nobody answers on now; the server binds it next.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

# wait_port PORT PID: until PORT accepts (at most 10 s), or PID died.
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# sshd_config DIR PORT USER: the lines of an own sshd's config on 127.0.0.1:PORT with DIR's
# host_ed25519 and authorized_keys, public keys only, for USER alone. KexAlgorithms: curve25519
# for both clients (OpenSSH's default, sntrup761x25519, costs the client ~80 ms CPU here;
# libssh2 1.10 has no sntrup and prefers curve25519 anyway). SetEnv SHLVL=1: the login shell is
# bash, which sources ~/.bashrc when run by sshd at shell level 1; a heavy one (pyenv init:
# ~0.5 s here) would land in every connection's wall time. Callers add their own lines.
sshd_config() {
    cat <<EOC
Port $2
ListenAddress 127.0.0.1
HostKey $1/host_ed25519
PidFile $1/sshd.pid
AuthorizedKeysFile $1/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $3
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
SetEnv SHLVL=1
EOC
}

# own_netns SCRIPT ARG...: as root, runs SCRIPT again in a network namespace of its own (only lo,
# brought up there; FJORD_BENCH_NETNS=1 in it) and does not return; otherwise (not root, no
# unshare/ip, or already inside) returns 1 when not inside one, 0 when inside. Call it with NETNS
# set; `[ -n "${FJORD_BENCH_NETNS:-}" ]` says afterwards where the run is.
own_netns() {
    local script=$1
    shift
    if [ -n "${FJORD_BENCH_NETNS:-}" ]; then
        ip link set lo up
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
        exec env FJORD_BENCH_NETNS=1 unshare --net -- bash "$script" "$@"
    fi
    return 1
}

# Server CPU: each server in its own cgroup (cgroup v2 cpu.stat usage_usec, or v1 cpuacct.usage,
# ns: the listener and every process it forks, no reaping needed), where root can make one;
# otherwise the listener's own and reaped children's CPU from /proc/PID/stat, in 10 ms ticks.
# Call server_cgroup right after starting the server, before it forks; remove_cgroups at the end,
# once the servers have ended.
CG_ROOT="" CG_KIND="" CGROUPS=()
if [ "$(id -u)" = 0 ]; then
    if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
        CG_ROOT=/sys/fs/cgroup CG_KIND=v2
    elif [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
        CG_ROOT=/sys/fs/cgroup/cpuacct CG_KIND=v1
    fi
fi
# server_cgroup NAME PID: puts PID into a cgroup of its own (nothing if none can be made)
server_cgroup() {
    [ -n "$CG_ROOT" ] || return 0
    local d=$CG_ROOT/fjord-bench-$$-$1
    mkdir "$d" 2>/dev/null && echo "$2" >"$d/cgroup.procs" 2>/dev/null && { CGROUPS+=("$d"); return 0; }
    rmdir "$d" 2>/dev/null || true
    echo "warning: no cgroup for $1: server CPU from /proc/PID/stat in 10 ms ticks" >&2
}
# server_us NAME PID: the server's CPU so far in µs
server_us() {
    local d=$CG_ROOT/fjord-bench-$$-$1
    if [ -n "$CG_ROOT" ] && [ -d "$d" ]; then
        case $CG_KIND in
        v2) awk '$1 == "usage_usec" { print $2 }' "$d/cpu.stat" ;;
        v1) echo $(($(cat "$d/cpuacct.usage") / 1000)) ;;
        esac
    else
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13 + $14 + $15) * 1000000 / hz }' "/proc/$2/stat"
    fi
}
# server_cpu_source NAME: how server_us reads NAME's CPU, for the report
server_cpu_source() {
    local d=$CG_ROOT/fjord-bench-$$-$1
    if [ -n "$CG_ROOT" ] && [ -d "$d" ]; then echo "its own cgroup ($CG_KIND, $([ "$CG_KIND" = v2 ] && echo cpu.stat usage_usec || echo cpuacct.usage)): the listener and every process it forked, ns resolution"
    else echo "/proc/PID/stat of the listener (utime+stime+cutime+cstime: its reaped children), 10 ms ticks"; fi
}
# remove_cgroups: the cgroups server_cgroup made (their processes must have ended)
remove_cgroups() {
    local d
    for d in "${CGROUPS[@]}"; do rmdir "$d" 2>/dev/null || echo "warning: cannot remove the cgroup $d" >&2; done
    CGROUPS=()
}
