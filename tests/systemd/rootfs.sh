#!/bin/bash
# Makes (once) the Debian 12 root filesystem the systemd tests boot with systemd-nspawn, with
# the libraries fjordd links against, and prints its path. Idempotent: a cached rootfs with
# every package is reused; TESTENV.md: "debootstrap ... ~45 s, ~240 MB; cache it".
set -euo pipefail
ROOTFS=${FJORD_TEST_ROOTFS:-/var/cache/fjord-test/rootfs}
pkgs=(systemd systemd-sysv dbus procps libgit2-1.5 libspdlog1.10 libfmt9 libsodium23 libseccomp2 busybox-static libcurl4
  openssh-client)  # openssh-client: the .deb's Depends (package.sh installs it offline)
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -oE 'https?://deb\.debian\.org/debian/?' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
  rm -rf "$ROOTFS.tmp"
  mkdir -p "$(dirname "$ROOTFS")"
  debootstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" bookworm "$ROOTFS.tmp" "$mirror" >&2
  rm -rf "$ROOTFS"
  mv "$ROOTFS.tmp" "$ROOTFS"
fi
missing=()
for p in "${pkgs[@]}"; do
  chroot "$ROOTFS" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
  chroot "$ROOTFS" apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >&2
  chroot "$ROOTFS" apt-get clean
fi
# A machine-id makes journald and D-Bus happy in every throwaway overlay.
[ -s "$ROOTFS/etc/machine-id" ] || chroot "$ROOTFS" systemd-machine-id-setup >/dev/null 2>&1 || true
echo "$ROOTFS"
