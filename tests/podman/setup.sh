#!/bin/bash
# The two host fixes podman 4.3 needs on these test machines (TESTENV.md), idempotent and safe
# to run from parallel suites: a hugetlb cgroup mount (this kernel's cgroup v1 layout lacks it)
# and default ulimits that fit this kernel's limits. Changes nothing when already done.
set -euo pipefail
if [ -d /sys/fs/cgroup ] && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null && ! grep -q ' cgroup2 ' <(grep ' /sys/fs/cgroup ' /proc/mounts); then
  mkdir -p /sys/fs/cgroup/hugetlb 2>/dev/null || true
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null || mountpoint -q /sys/fs/cgroup/hugetlb
fi
conf=/etc/containers/containers.conf
if ! grep -q '^default_ulimits' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  if [ -s "$conf" ]; then
    echo "tests/podman/setup.sh: $conf exists without default_ulimits; add them by hand (TESTENV.md)" >&2
    exit 1
  fi
  tmp=$(mktemp /etc/containers/.containers.conf.XXXXXX)
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n' >"$tmp"
  chmod 0644 "$tmp"
  mv -n "$tmp" "$conf" 2>/dev/null || true
  rm -f "$tmp"
fi
