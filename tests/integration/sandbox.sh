#!/bin/bash
# Privilege separation in the real binaries: the children that poll, fetch and render the
# untrusted repo run under seccomp (Seccomp: 2, NoNewPrivs: 1 in /proc), the repo's files are
# opened only by a filtered child, and a child dies with fjordd (SIGKILL, as crash_torture does).
# The children hold none of fjordd's sockets, and their stdio is /dev/null; where the kernel has
# Landlock, each child restricts itself with it (landlock_restrict_self).
# The forbidden-call cases (socket families, execve, file writes outside the Git cache, setuid
# modes, TIOCSTI) are unit tests: tests/sandbox/sandbox_test.cpp.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
command -v strace >/dev/null || { echo "needs strace (tests/deps.sh --test)" >&2; exit 2; }

DAEMON_PID=""
stop_all() {
  [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

# Process ids (thread-group ids) that installed a seccomp filter in an strace -f log.
filtered_pids() { awk '/seccomp\(SECCOMP_SET_MODE_FILTER/ && /= 0$/ { print $1 }' "$1" | sort -u; }

# 1. A first apply: the poll, the fetch and the render each run in their own filtered child.
R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml
new_repo "$R"
mkdir -p "$R/hosts/web1/files/etc" "$ROOT"
printf '[vars]\nname = "web"\n' >"$R/hosts/web1/fjord.toml"
echo "hello {{name}}" >"$R/hosts/web1/files/etc/motd.tmpl"
commit_all "$R" first
write_config "$CFG" "$R" "$ROOT" "$STATE"
strace -f -qq -e trace=seccomp,landlock_restrict_self -e signal=none -o "$T/once.trace" "$FJORDD" --config "$CFG" --once >"$T/once.log" 2>&1
rc=$?
landlocked=$(awk '/landlock_restrict_self\(/ && /= 0$/ { print $1 }' "$T/once.trace" | sort -u | wc -l)
n=$(filtered_pids "$T/once.trace" | wc -l)
main=$(awk 'NR == 1 { print $1 }' "$T/once.trace")
if [ "$rc" = 0 ] && [ "$(cat "$ROOT/etc/motd" 2>/dev/null)" = "hello web" ] && [ "$n" -ge 3 ] &&
  ! filtered_pids "$T/once.trace" | has -x "$main"; then
  pass "a first apply runs poll, fetch and render in $n filtered children, fjordd itself unfiltered"
else
  fail "first apply in filtered children" "rc=$rc children=$n $(cat "$T/once.log") $(head -5 "$T/once.trace")"
fi
if ! python3 -c 'import ctypes, sys; sys.exit(ctypes.CDLL(None).syscall(444, None, 0, 1) < 1)'; then
  echo "SKIP each child restricted by Landlock: the kernel has no Landlock"
elif [ "$landlocked" = "$n" ]; then
  pass "each of the $n children restricted itself with Landlock"
else
  fail "children under Landlock" "$landlocked of $n children called landlock_restrict_self"
fi

# 2. An idle poll: one filtered child (the poll), nothing fetched or rendered, no file touched.
before=$(stat -c %Y.%Z "$ROOT/etc/motd")
strace -f -qq -e trace=seccomp -e signal=none -o "$T/idle.trace" "$FJORDD" --config "$CFG" --once >"$T/idle.log" 2>&1
rc=$?
n=$(filtered_pids "$T/idle.trace" | wc -l)
if [ "$rc" = 0 ] && [ "$n" = 1 ] && [ "$(stat -c %Y.%Z "$ROOT/etc/motd")" = "$before" ]; then
  pass "an idle poll runs one filtered child and touches nothing"
else
  fail "idle poll" "rc=$rc children=$n $(cat "$T/idle.log")"
fi

# 3. fjordctl render: the checkout's files are opened only by the filtered render child.
strace -f -qq -e trace=seccomp,openat -e signal=none -o "$T/render.trace" \
  "$FJORDCTL" --config "$CFG" render "$R/hosts/web1" >"$T/render.out" 2>&1
rc=$?
child=$(filtered_pids "$T/render.trace")
openers=$(grep '"motd.tmpl"' "$T/render.trace" | grep -v ENOENT | awk '{ print $1 }' | sort -u)
if [ "$rc" = 0 ] && grep -q "/etc/motd" "$T/render.out" && [ -n "$child" ] && [ -n "$openers" ] &&
  [ "$openers" = "$child" ]; then
  pass "fjordctl render reads the checkout only in its filtered child"
else
  fail "fjordctl render in a filtered child" "rc=$rc child=[$child] openers=[$openers] $(cat "$T/render.out")"
fi

# 4. A poll that hangs (the remote's packed-refs is a FIFO nobody writes): the child is filtered,
# and when fjordd is SIGKILLed the child dies with it (PR_SET_PDEATHSIG), leaving nothing behind.
H=$T/hang
new_repo "$H"
echo x >"$H/x"
commit_all "$H" one
rm -f "$H/.git/packed-refs"
mkfifo "$H/.git/packed-refs"
write_config "$T/hang.toml" "$H" "$T/hang-root" "$T/hang-state"
mkdir -p "$T/hang-root"
# fjordd holds an inheritable unix socket (a stand-in for its sd-bus connection or fjordctl's
# control connection); python execs it, so $! is fjordd.
python3 -c 'import os, socket, sys
a, b = socket.socketpair()
os.set_inheritable(a.fileno(), True)
os.execv(sys.argv[1], sys.argv[1:])' "$FJORDD" --config "$T/hang.toml" --once >"$T/hang.log" 2>&1 &
DAEMON_PID=$!
child=""
for _ in $(seq 100); do
  child=$(ps --ppid "$DAEMON_PID" -o pid= | tr -d ' ' | head -1)
  [ -n "$child" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$child/status" 2>/dev/null && break
  sleep 0.05
done
status=$(grep -E '^(Seccomp|NoNewPrivs):' "/proc/$child/status" 2>/dev/null | tr -s '\t\n' ' ')
if [ -n "$child" ] && [ "$status" = "NoNewPrivs: 1 Seccomp: 2 " ]; then
  pass "the poll child of a running fjordd is filtered ($status)"
else
  fail "poll child filtered" "child=[$child] status=[$status] $(cat "$T/hang.log")"
fi
parent_socks=$(ls -l "/proc/$DAEMON_PID/fd" 2>/dev/null | grep -c 'socket:')
child_socks=$(ls -l "/proc/$child/fd" 2>/dev/null | grep -c 'socket:')
stdio=$(readlink "/proc/$child/fd/0" "/proc/$child/fd/1" "/proc/$child/fd/2" 2>/dev/null | tr '\n' ' ')
if [ -n "$child" ] && [ "$parent_socks" -ge 1 ] && [ "$child_socks" = 0 ] && [ "$stdio" = "/dev/null /dev/null /dev/null " ]; then
  pass "the poll child holds none of fjordd's $parent_socks sockets; its stdio is /dev/null"
else
  fail "poll child's descriptors" "fjordd sockets=$parent_socks child sockets=$child_socks stdio=[$stdio] $(ls -l "/proc/$child/fd" 2>&1)"
fi
{ kill -9 "$DAEMON_PID"; wait "$DAEMON_PID"; } 2>/dev/null
DAEMON_PID=""
gone=0
for _ in $(seq 100); do
  state=$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null)
  if [ -z "$state" ] || [ "$state" = Z ]; then gone=1; break; fi
  sleep 0.02
done
if [ -n "$child" ] && [ "$gone" = 1 ]; then
  pass "a child dies with fjordd when fjordd is SIGKILLed"
else
  fail "child dies with fjordd" "child $child still $(cat "/proc/$child/stat" 2>/dev/null)"
  kill -9 "$child" 2>/dev/null
fi

finish
