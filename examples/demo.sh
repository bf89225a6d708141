#!/bin/bash
# fjord demo: installs the build dependencies, builds fjord into build/, makes the example
# fleet (examples/fleet) a Git repo in a scratch folder, and lets fjordd apply host web1 of it
# into a scratch root. Then it commits a change, applies again, and shows what fjord did.
#
#   sudo bash examples/demo.sh
#
# Run it as root on Debian 12: it installs packages, and the example sets owners and groups
# (root, www-data) that only root can give. It writes nothing outside build/ and the scratch
# folder under /tmp, which it keeps and names at the end. Any failing step stops it, non-zero.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

section() { printf '\n==== %s ====\n' "$*"; }
# Prints a command, then runs it (its stderr too, so fjordd's log lines show in order).
run() {
    printf '$ %s\n' "$*"
    "$@" 2>&1
}
die() {
    echo "demo.sh: $*" >&2
    exit 1
}
# The tree under apply.root: type+mode, owner:group, path (-> link target).
show_tree() {
    (cd "$1" && find . -mindepth 1 \( -type l -printf '%M %u:%g %P -> %l\n' \) -o -printf '%M %u:%g %P\n' | sort -k3)
}

[ "$(id -u)" -eq 0 ] || die "run as root (sudo bash examples/demo.sh): it installs packages and sets owners like www-data"

section "1. Build dependencies (tests/deps.sh)"
bash tests/deps.sh
echo "build dependencies are installed"

section "2. Build fjord into build/"
if [ ! -f build/build.ninja ]; then
    meson setup build
fi
# Only the two binaries: the unit tests are tests/run.sh's business (it builds them in build-test/).
ninja -C build fjordd fjordctl
FJORDD=$here/build/fjordd
FJORDCTL=$here/build/fjordctl

work=$(mktemp -d /tmp/fjord-demo-XXXXXX)
repo=$work/fleet
root=$work/root
state=$work/state
cfg=$work/fjord.toml
# Commits carry a fixed identity, so the demo needs (and changes) no git configuration.
export GIT_AUTHOR_NAME="fjord demo" GIT_AUTHOR_EMAIL=demo@fjord.invalid
export GIT_COMMITTER_NAME="fjord demo" GIT_COMMITTER_EMAIL=demo@fjord.invalid

section "3. The fleet repo: examples/fleet as a Git repo in $repo"
cp -a examples/fleet "$repo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
# The exec bit is recorded in Git even if this checkout lost it (a tarball, a Windows editor).
git -C "$repo" update-index --chmod=+x bundles/base/files/usr/local/bin/fleet-info
git -C "$repo" commit -qm "web1 and db1 on the base bundle"
run git --no-pager -C "$repo" log --oneline
echo
echo "Git modes (100755 = executable, 120000 = symlink):"
run git -C "$repo" ls-tree -r HEAD
echo
run cat "$repo/hosts/web1/fjord.toml"

section "4. The scratch root, with one file that is already there"
# A host is never empty: /etc/motd exists before fjord. fjord adopts it (keeps the original)
# and puts it back when Git stops managing the file.
mkdir -p "$root/etc"
printf 'Debian GNU/Linux 12 (the original /etc/motd, from before fjord)\n' >"$root/etc/motd"
run cat "$root/etc/motd"

section "5. The agent config: $cfg"
cat >"$cfg" <<EOF
[source]
url = "$repo"
branch = "main"
path = "hosts/web1"

[apply]
root = "$root"

[state]
dir = "$state"

[metrics]
textfile = ""
EOF
run cat "$cfg"

section "6. First sync: fjordd --once"
run "$FJORDD" --config "$cfg" --once

section "7. What landed in the scratch root"
show_tree "$root"
echo
run cat "$root/etc/app/motd-extra"
echo
echo "Rendered from shop.conf.tmpl with [vars] (one server line per element of upstreams):"
run cat "$root/etc/nginx/sites-available/shop.conf"
echo
run "$FJORDCTL" --config "$cfg" history

section "8. A change in Git: edit app.env, add an upstream var, stop managing /etc/motd"
sed -i 's/^APP_WORKERS=4$/APP_WORKERS=8/' "$repo/hosts/web1/files/etc/app/app.env"
grep -q '^APP_WORKERS=8$' "$repo/hosts/web1/files/etc/app/app.env" || die "examples/fleet: app.env has no APP_WORKERS=4 to change"
sed -i 's/^upstreams = \["127.0.0.1:8080", "127.0.0.1:8081"\]/upstreams = ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]/' "$repo/hosts/web1/fjord.toml"
grep -q '"127.0.0.1:8082"' "$repo/hosts/web1/fjord.toml" || die "examples/fleet: hosts/web1/fjord.toml has no upstreams list to change"
git -C "$repo" rm -q bundles/base/files/etc/motd
git -C "$repo" commit -qam "web1: 8 app workers, a third upstream; leave /etc/motd to the distro"
run git --no-pager -C "$repo" show --stat --format='commit %h %s' HEAD

section "9. What the next sync would do: fjordd --once --dry-run"
run "$FJORDD" --config "$cfg" --once --dry-run

section "10. Second sync: fjordd --once"
run "$FJORDD" --config "$cfg" --once

section "11. What changed"
run "$FJORDCTL" --config "$cfg" history
echo
run "$FJORDCTL" --config "$cfg" status
echo
run cat "$root/etc/app/app.env"
echo
echo "/etc/motd is the original again:"
run cat "$root/etc/motd"
grep -q '^APP_WORKERS=8$' "$root/etc/app/app.env" || die "app.env was not updated"
echo
echo "The var change re-rendered shop.conf:"
run grep -A4 '^upstream' "$root/etc/nginx/sites-available/shop.conf"
grep -q 'server 127.0.0.1:8082;' "$root/etc/nginx/sites-available/shop.conf" || die "shop.conf was not re-rendered with the new upstream"
grep -q 'from before fjord' "$root/etc/motd" || die "the original /etc/motd did not come back"

section "12. Drift: a live edit to a managed file is corrected"
echo "PasswordAuthentication yes" >>"$root/etc/ssh/sshd_config.d/50-hardening.conf"
run tail -n 2 "$root/etc/ssh/sshd_config.d/50-hardening.conf"
run "$FJORDD" --config "$cfg" --once
run tail -n 2 "$root/etc/ssh/sshd_config.d/50-hardening.conf"
! grep -q '^PasswordAuthentication yes' "$root/etc/ssh/sshd_config.d/50-hardening.conf" ||
    die "the drifted file was not corrected"

section "Done"
echo "Everything is in $work:"
echo "  fleet/       the Git repo (edit, commit, run fjordd --once again)"
echo "  root/        apply.root, what host web1 got"
echo "  state/       fjord's state: generations, objects, Git cache"
echo "  fjord.toml   the agent config"
echo "Try: $FJORDCTL --config $cfg history"
echo "Remove it with: rm -rf $work"
