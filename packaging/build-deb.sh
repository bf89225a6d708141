#!/bin/bash
# Builds fjord_*.deb from this checkout: copies the source (without build folders) to a
# scratch folder, puts packaging/debian in as debian/, runs dpkg-buildpackage -us -uc -b and
# copies the .deb to OUTDIR (default: packaging/out). Prints the .deb's path.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/packaging/out}" && cd "${1:-$src/packaging/out}" && pwd)
work=$(mktemp -d /tmp/fjord-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/fjord"
tar -C "$src" --exclude='./build*' --exclude='./packaging/out' --exclude='./debian' -cf - . | tar -C "$work/fjord" -xf -
cp -r "$src/packaging/debian" "$work/fjord/debian"
(cd "$work/fjord" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
cp "$work"/fjord_*.deb "$out/"
ls "$out"/fjord_*.deb | tail -1
