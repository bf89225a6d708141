# Sourced by the tests that boot a real systemd in a container (TESTENV.md): the cached rootfs
# from rootfs.sh under a throwaway overlay, sharing the host's network. Needs $T and $ROOTFS.
NSPAWN_PID=""
L="" # the container's PID 1 (systemd), for nsenter

# boot_container NAME [NSPAWN-ARGS...]: boots it and waits until systemd runs (at most ~20 s);
# returns non-zero when no systemd came up (the reason is in $T/nspawn.log).
boot_container() {
  local name=$1 s c
  shift
  systemd-nspawn --boot -D "$ROOTFS" -M "$name" --register=no --keep-unit --console=passive \
    --volatile=overlay "$@" >"$T/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  L=""
  for _ in $(seq 100); do
    for c in $(pgrep -P "$NSPAWN_PID") $(pgrep -P "$(pgrep -P "$NSPAWN_PID" | head -1)" 2>/dev/null); do
      [ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ] && L=$c
    done
    [ -n "$L" ] && break
    sleep 0.1
  done
  [ -n "$L" ] || return 1
  for _ in $(seq 100); do
    s=$(in_c systemctl is-system-running 2>/dev/null)
    [ "$s" = running ] || [ "$s" = degraded ] && break
    sleep 0.1
  done
}

# boot_fjord_container NAME: boots with the build tree read-only at /opt/fjord and installs
# fjord.service from it (ExecStart=/opt/fjord/fjordd), not started; fails the test and exits
# when no systemd comes up.
boot_fjord_container() {
  if ! boot_container "$1" --bind-ro="$BUILD":/opt/fjord; then
    fail "boot" "no systemd in the container: $(tail -5 "$T/nspawn.log")"
    finish
    exit 1
  fi
  in_c mkdir -p /etc/fjord
  sed 's|^ExecStart=.*/fjordd|ExecStart=/opt/fjord/fjordd|' "$BUILD/fjord.service" | in_c sh -c 'cat >/etc/systemd/system/fjord.service'
}

# stop_container: a clean shutdown (~1.5 s), killed if it takes longer than 5 s.
stop_container() {
  [ -n "$NSPAWN_PID" ] || return 0
  kill -TERM "$NSPAWN_PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$NSPAWN_PID" 2>/dev/null
  wait "$NSPAWN_PID" 2>/dev/null
  NSPAWN_PID=""
}

# use_rootfs: sets ROOTFS to the cached rootfs (made once by rootfs.sh), or fails the test.
use_rootfs() {
  ROOTFS=$(bash "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh" 2>"$T/rootfs.log") && return 0
  fail "rootfs" "could not make the container rootfs: $(tail -3 "$T/rootfs.log")"
  finish
  exit 1
}

# container_suite NAME: what a suite with one container and nothing else to stop begins with:
# MACHINE named after it, an EXIT trap that stops the container and removes the temp dirs and
# servers, and the rootfs.
container_suite() {
  MACHINE=$1$$
  trap 'stop_container; cleanup_dirs' EXIT
  use_rootfs
}

# in_c CMD...: runs a command inside the container.
in_c() { nsenter -t "$L" -a -- "$@"; }
