#!/bin/bash
# Installs the Debian packages fjord needs to build (and, with --test, to run its test suite).
# Idempotent: apt-get skips what is installed.
set -euo pipefail
build_pkgs=(meson ninja-build pkg-config g++ git ca-certificates libgit2-dev libsystemd-dev libspdlog-dev libtomlplusplus-dev libkainjow-mustache-dev
  libseccomp-dev doctest-dev libexpected-dev nlohmann-json3-dev libsodium-dev scdoc bash-completion
  libcurl4-openssl-dev  # libcurl: HTTP health checks (a well-kept Debian library for HTTP)
  libssl-dev  # libcrypto: SHA-1 of Git blob ids (util/hash.cpp)
  libcli11-dev)  # CLI11: fjordctl's and fjordd's command lines, one subcommand a verb
test_pkgs=(rsync sudo openssh-server openssh-client procps psmisc strace time python3 debootstrap systemd-container fio age
  debhelper dpkg-dev build-essential fakeroot  # package.sh builds the .deb; sandbox.sh watches children with strace
  podman catatonit docker-registry busybox-static openssl curl  # containers.sh, registry.sh: podman's API, init, a registry, an image
  prometheus  # observe.sh: promtool check metrics on the textfile
  clang libclang-rt-14-dev  # fuzz.sh: libFuzzer + ASan/UBSan runtimes for clang 14
  zsh)  # docs.sh: the zsh completion parses
pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi
