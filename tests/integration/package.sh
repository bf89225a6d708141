#!/bin/bash
# The Debian package end to end (issue 9): build fjord_*.deb (cached by the source tree's
# hash under /var/cache/fjord-test/deb), install it with apt in a freshly booted real-systemd
# container (TESTENV.md), follow README's "Quick start" as written (the commands are read
# from README.md, so it cannot drift from what works) against an sshd with a deploy-key
# account on the host's loopback, then `apt-get purge` and check nothing of fjord is left.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$here/../lib.sh" "$1"
source "$here/../systemd/container.sh"
[ "$(id -u)" = 0 ] || { echo "needs root: systemd-nspawn, sshd and the fjordgit account" >&2; exit 2; }
chmod 755 "$T" # the fjordgit account reads the repo below it

SSHD_PID=""
MACHINE=fjordpkg$$
stop_all() {
  stop_container
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT
t0=$(date +%s)

# --- the .deb, built once per source tree (HEAD, uncommitted changes and new files; tests/
# and the *.md files are not in the package, so they are not in the key) ---
tree_key() {
  (cd "$src" && {
    git rev-parse HEAD
    git --no-pager diff HEAD --binary -- . ':!build*' ':!packaging/out' ':!tests' ':!*.md'
    git ls-files -o --exclude-standard -z -- . ':!build*' ':!packaging/out' ':!tests' ':!*.md' | xargs -0r sha1sum
  } | sha256sum | cut -c1-16)
}
key=$(tree_key)
DEBDIR=/var/cache/fjord-test/deb/$key
if ! ls "$DEBDIR"/fjord_*.deb >/dev/null 2>&1; then
  rm -rf /var/cache/fjord-test/deb # one cached build is enough
  mkdir -p "$DEBDIR.tmp"
  if ! bash "$src/packaging/build-deb.sh" "$DEBDIR.tmp" >"$T/deb.log" 2>&1; then
    rm -rf "$DEBDIR.tmp"
    fail "deb build" "$(tail -15 "$T/deb.log")"
    finish
    exit 1
  fi
  if [ "$(tree_key)" = "$key" ]; then
    mv "$DEBDIR.tmp" "$DEBDIR"
  else # the tree changed while it was built: use this .deb once, cache nothing
    mv "$DEBDIR.tmp" "$T/deb"
    DEBDIR=$T/deb
  fi
fi
DEB=$(ls "$DEBDIR"/fjord_*.deb | tail -1)
pass "built $(basename "$DEB") ($(($(date +%s) - t0)) s)"

use_rootfs

# --- README's Quick start, as shell lines of its fenced blocks, by step number ---
step_block() { # step_block N LANG: the first ```LANG block of step N of "Quick start"
  awk -v n="$1" -v lang="$2" '
    /^## Quick start/ { q = 1; next }
    q && /^## / { exit }
    q && $0 ~ "^" n "\\. " { s = 1; next }
    q && /^[0-9]+\. / { s = 0 }
    s && !inb && $0 ~ "^ *```" lang "$" { inb = 1; next }
    s && inb && /^ *```/ { exit }
    inb { sub(/^   /, ""); print }' "$src/README.md"
}
readme_cmd() { step_block "$1" sh | sed 's/ *#.*$//' | grep -E "$2" | head -1; }
IDENT_CMD=$(readme_cmd 2 '^fjordctl identity')
KEYSCAN_CMD=$(readme_cmd 3 '^ssh-keyscan ')
RELOAD_CMD=$(readme_cmd 5 '^systemctl reload fjord$')
step_block 4 toml >"$T/readme.toml"
ENABLE_CMD=$(grep -oE '`systemctl enable --now fjord`' "$src/README.md" | head -1 | tr -d '`')
if [ -n "$IDENT_CMD" ] && [ -n "$KEYSCAN_CMD" ] && [ -n "$RELOAD_CMD" ] && [ -n "$ENABLE_CMD" ] &&
  grep -q '^url = "ssh://' "$T/readme.toml" && grep -q '^path = ' "$T/readme.toml"; then
  pass "README's Quick start has the identity, ssh-keyscan, config, enable and reload steps"
else
  fail "README steps" "identity='$IDENT_CMD' keyscan='$KEYSCAN_CMD' reload='$RELOAD_CMD' enable='$ENABLE_CMD' toml=$(tr '\n' ' ' <"$T/readme.toml")"
  finish
  exit 1
fi

# --- sshd on the loopback with a git-shell account; the deploy key is added later ---
id fjordgit >/dev/null 2>&1 || useradd -m -s /usr/bin/git-shell fjordgit
usermod -p '*' fjordgit # no password, but not locked: sshd refuses a locked account
mkdir -p /run/sshd
S=$T/ssh
mkdir "$S"
ssh-keygen -q -N '' -C '' -t ed25519 -f "$S/host_ed25519"
: >"$S/authorized_keys"
chmod 644 "$S/authorized_keys"
SSH_PORT=$(free_port)
cat >"$S/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/host_ed25519
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers fjordgit
EOF
/usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
SSHD_PID=$!
wait_port "$SSH_PORT" "$SSHD_PID"

# --- boot a fresh container with the .deb bind-mounted, and install it with apt ---
boot_container "$MACHINE" --bind-ro="$DEBDIR":/opt/pkg
sh_c() { in_c env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 sh -c "$1"; }
if [ -z "$L" ]; then
  fail "boot" "no systemd in the container: $(tail -5 "$T/nspawn.log")"
  finish
  exit 1
fi
pass "a fresh real systemd booted in the container ($(in_c systemctl is-system-running))"

if sh_c "DEBIAN_FRONTEND=noninteractive apt-get install -y /opt/pkg/$(basename "$DEB")" >"$T/apt.log" 2>&1 &&
  grep -q " 1 newly installed" "$T/apt.log" && in_c test -x /usr/sbin/fjordd && in_c test -x /usr/bin/fjordctl; then
  pass "apt-get install of the .deb works offline in the container"
else
  fail "apt install" "$(tail -15 "$T/apt.log")"
  finish
  exit 1
fi

# The package made the state folder and the keys, enabled fjord, which waits for source.url.
perms=$(in_c stat -c '%n %a' /var/lib/fjord /var/lib/fjord/ssh/id_ed25519 /var/lib/fjord/age/identity 2>&1 | tr '\n' ' ')
if [ "$perms" = "/var/lib/fjord 700 /var/lib/fjord/ssh/id_ed25519 600 /var/lib/fjord/age/identity 600 " ]; then
  pass "postinst made /var/lib/fjord (0700), the deploy key and the age identity (0600)"
else
  fail "state and keys" "$perms"
fi
for _ in $(seq 50); do
  in_c systemctl status fjord --no-pager >"$T/status" 2>&1
  grep -q 'Status: "inactive: source.url is not set' "$T/status" && break
  sleep 0.1
done
if [ "$(in_c systemctl is-enabled fjord 2>&1)" = enabled ] && grep -q 'Status: "inactive: source.url is not set' "$T/status"; then
  pass "fjord.service is enabled, its STATUS says \"inactive: source.url is not set\""
else
  fail "enabled, waiting" "enabled=$(in_c systemctl is-enabled fjord 2>&1) $(head -12 "$T/status")"
fi

# Step 2: the identity; the SSH deploy key goes to the Git host (our sshd's authorized_keys).
sh_c "$IDENT_CMD" >"$T/identity" 2>&1
pub=$(in_c cat /var/lib/fjord/ssh/id_ed25519.pub | cut -d' ' -f1,2)
if [ -n "$pub" ] && grep -qF "$pub" "$T/identity" && grep -q 'age1' "$T/identity"; then
  pass "\`$IDENT_CMD\` prints the deploy key and the age recipient"
else
  fail "identity" "$(cat "$T/identity")"
fi
in_c cat /var/lib/fjord/ssh/id_ed25519.pub >>"$S/authorized_keys"

# The fleet repo on the Git host, with a folder for this host (README: path = "hosts/%H").
HOST=$(in_c hostname)
W=$T/work
new_repo "$W"
mkdir -p "$W/hosts/$HOST/files/etc/motd.d"
echo "managed by fjord" >"$W/hosts/$HOST/files/etc/motd.d/fjord"
commit_all "$W" "first commit"
git clone -q --bare "$W" "$T/fleet.git"
chown -R fjordgit "$T/fleet.git"
URL="ssh://fjordgit@127.0.0.1:$SSH_PORT$T/fleet.git"

# Step 3: the server's host key into /etc/fjord/known_hosts, README's line on our server.
KEYSCAN=$(echo "$KEYSCAN_CMD" | sed -E "s/-p [0-9]+/-p $SSH_PORT/; s/git\.example\.net/127.0.0.1/")
sh_c "$KEYSCAN" 2>"$T/keyscan.err"
hk=$(cut -d' ' -f1,2 "$S/host_ed25519.pub")
if in_c grep -qF "[127.0.0.1]:$SSH_PORT $hk" /etc/fjord/known_hosts; then
  pass "\`$KEYSCAN\` records the sshd's host key"
else
  fail "ssh-keyscan" "$(cat "$T/keyscan.err"); known_hosts: $(in_c cat /etc/fjord/known_hosts 2>&1)"
fi

# Step 4: README's [source] keys into /etc/fjord/fjord.toml (url: our server).
in_c cat /etc/fjord/fjord.toml >"$T/fjord.toml"
python3 - "$T/readme.toml" "$T/fjord.toml" "$URL" <<'PY'
import re, sys
readme, conf, url = sys.argv[1:4]
keys = {}
for line in open(readme):
    m = re.match(r'^(\w+)\s*=\s*(".*?")', line)
    if m:
        keys[m.group(1)] = m.group(2)
keys['url'] = '"%s"' % url
out, section, done = [], None, set()
for line in open(conf).read().splitlines():
    m = re.match(r'^\[(\w+)\]', line)
    if m:
        section = m.group(1)
    m = re.match(r'^#?(\w+)\s*=', line)
    if section == 'source' and m and m.group(1) in keys and m.group(1) not in done:
        line = '%s = %s' % (m.group(1), keys[m.group(1)])
        done.add(m.group(1))
    out.append(line)
missing = set(keys) - done
if missing:
    sys.exit('not in fjord.toml [source]: %s' % ', '.join(sorted(missing)))
open(conf, 'w').write('\n'.join(out) + '\n')
PY
[ $? -eq 0 ] || fail "config edit" "README's [source] keys do not fit /etc/fjord/fjord.toml"
in_c sh -c 'cat >/etc/fjord/fjord.toml' <"$T/fjord.toml"

# Step 5: `systemctl reload fjord` (enable --now is done by the package; doing it again is
# harmless), then README's `fjordctl sync` rather than waiting for the next poll (60 s).
sh_c "$ENABLE_CMD" >/dev/null 2>&1
sh_c "$RELOAD_CMD" 2>"$T/reload.err"
for _ in $(seq 50); do
  in_c journalctl -u fjord --no-pager | has "configuration reloaded" && break
  sleep 0.1
done
# README: a reload that sets source.url polls at once (no fjordctl sync, no waiting out
# poll_interval).
for _ in $(seq 300); do in_c test -e /etc/motd.d/fjord && break; sleep 0.1; done
if [ "$(in_c cat /etc/motd.d/fjord 2>&1)" = "managed by fjord" ]; then
  pass "\`$RELOAD_CMD\` with source.url set polls at once: the commit is applied over ssh with the deploy key"
else
  fail "first apply" "$(cat "$T/reload.err") $(in_c journalctl -u fjord --no-pager -n 15)"
fi
for _ in $(seq 50); do
  in_c systemctl status fjord --no-pager >"$T/status" 2>&1
  grep -q 'Status: "idle: generation 1' "$T/status" && break
  sleep 0.1
done
grep -q 'Status: "idle: generation 1' "$T/status" && in_c fjordctl history >"$T/history" 2>&1 &&
  grep -q "first commit\|$(git -C "$W" rev-parse --short HEAD)" "$T/history" &&
  pass "systemctl status and fjordctl history show generation 1" ||
  fail "status after apply" "$(head -12 "$T/status"); $(cat "$T/history" 2>/dev/null)"

in_c systemctl stop fjord
if ! in_c systemctl is-active --quiet fjord && ! in_c pgrep -x fjordd >/dev/null; then
  pass "systemctl stop fjord stops fjordd"
else
  fail "stop" "$(in_c systemctl status fjord --no-pager 2>&1 | head -8)"
fi

# apt-get purge leaves nothing of fjord behind.
sh_c "DEBIAN_FRONTEND=noninteractive apt-get purge -y fjord" >"$T/purge.log" 2>&1 || fail "purge" "$(tail -10 "$T/purge.log")"
left=$(in_c sh -c 'for p in /var/lib/fjord /etc/fjord /run/fjord /usr/sbin/fjordd /usr/bin/fjordctl \
  /lib/systemd/system/fjord.service /usr/lib/systemd/system/fjord.service \
  /etc/systemd/system/multi-user.target.wants/fjord.service /usr/share/doc/fjord \
  /usr/share/bash-completion/completions/fjordctl; do [ -e "$p" ] && echo "$p"; done
  find / -xdev \( -path /proc -o -path /sys -o -path /opt/pkg \) -prune -o -name "*fjord*" -print 2>/dev/null
  dpkg -l fjord 2>/dev/null | grep -E "^(ii|rc)"' | grep -v '^/etc/motd.d/fjord$' | sort -u)
if [ -z "$left" ]; then
  pass "apt-get purge -y fjord leaves nothing of fjord behind"
else
  fail "purge leftovers" "$(echo "$left" | tr '\n' ' ')"
fi

echo "took $(($(date +%s) - t0)) s"
finish
