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

# in_c CMD...: runs a command inside the container.
in_c() { nsenter -t "$L" -a -- "$@"; }
