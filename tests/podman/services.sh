# Shared by the container suites (source it after tests/lib.sh): a podman service on its own
# socket and a docker-registry on a free loopback port, listed as insecure in
# registries.conf.d (fjord itself never turns TLS verification off). Set PFX (a name prefix
# unique to the run, e.g. fjt5i-$$) first; call services_stop from the suite's EXIT trap.
# Sets SOCK, REG (127.0.0.1:PORT), PODMAN_PID, REG_PID.
PODMAN_PID="" REG_PID=""
REGCONF=/etc/containers/registries.conf.d/50-$PFX.conf

start_podman() {
  podman system service --time=0 "unix://$SOCK" >>"$T/podman.log" 2>&1 &
  PODMAN_PID=$!
  for _ in $(seq 100); do curl -sf --unix-socket "$SOCK" http://d/v4.0.0/libpod/_ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

start_registry() {
  docker-registry serve "$T/reg.yml" >>"$T/reg.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -sf "http://$REG/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

stop_registry() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  REG_PID=""
}

# Everything the suite made: containers and images named $PFX-*, the services, the config.
services_stop() {
  for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^$PFX-"); do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  for i in $(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -E "$PFX" | grep -v '<none>'); do podman rmi -f "$i" >/dev/null 2>&1; done
  for i in $(podman images --format '{{.Repository}}@{{.Digest}}' 2>/dev/null | grep -E "$PFX"); do podman rmi -f "$i" >/dev/null 2>&1; done
  [ -n "$PODMAN_PID" ] && kill "$PODMAN_PID" 2>/dev/null && wait "$PODMAN_PID" 2>/dev/null
  stop_registry
  rm -f "$REGCONF"
}

# services_start: the host fixes, the podman service and the registry. Returns 1 with a reason.
services_start() {
  bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" || { echo "tests/podman/setup.sh failed"; return 1; }
  SOCK=$T/podman.sock
  REG=127.0.0.1:$(free_port)
  mkdir -p /etc/containers/registries.conf.d "$T/reg"
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >"$REGCONF"
  start_podman || { echo "podman service: $(tail -3 "$T/podman.log")"; return 1; }
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' "$T/reg" "$REG" >"$T/reg.yml"
  start_registry || { echo "docker-registry: $(tail -3 "$T/reg.log")"; return 1; }
}

# The manifest digest the registry serves for REPO:TAG (as a HEAD request reports it).
registry_digest() { # REPO TAG
  curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/$1/manifests/$2" | sed -n 's/^docker-content-digest: *//ip' | tr -d '\r'
}
