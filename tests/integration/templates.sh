#!/bin/bash
# Templates end to end with the real fjordd and fjordctl and a real Git repo: host facts as this
# machine has them (hostname, /etc/machine-id, `ip -j addr`, systemd-detect-virt), bundle vars
# overridden by host vars, list sections, verbatim output, an undefined variable refused with
# file:line and nothing changed, a var change re-applied, fjord.generation settling on one
# generation, a new address re-rendering, and fjordctl render / validate.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

VETH=fjt$$a
stop_all() {
  ip link del "$VETH" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log
H=$R/hosts/web1
new_repo "$R"
mkdir -p "$H/files/etc/app" "$R/bundles/base/files/etc" "$ROOT"
cat >"$R/bundles/base/fjord.toml" <<'EOF'
[vars]
domain = "base.example"
workers = 2
upstreams = ["10.0.0.1:8080"]
raw = "<>&\"'"
EOF
cat >"$H/fjord.toml" <<'EOF'
include = ["../../bundles/base"]
[vars]
domain = "shop.example.no"
upstreams = ["10.0.0.1:8080", "10.0.0.2:8080"]
EOF
cat >"$R/bundles/base/files/etc/facts.txt.tmpl" <<'EOF'
{{! every host fact, one a line }}
name={{host.name}}
machine_id={{host.machine_id}}
virtualization={{host.virtualization}}
{{#host.ipv4}}
ipv4={{.}}
{{/host.ipv4}}
{{#host.ipv6}}
ipv6={{.}}
{{/host.ipv6}}
commit={{fjord.commit}}
EOF
cat >"$H/files/etc/app/app.conf.tmpl" <<'EOF'
server_name {{domain}};
workers {{workers}};
raw {{raw}}
upstream app {
{{#upstreams}}
    server {{.}};
{{/upstreams}}
}
EOF
printf 'generation={{fjord.generation}}\n' >"$H/files/etc/app/gen.txt.tmpl"
commit_all "$R" "templates"
write_config "$CFG" "$R" "$ROOT" "$STATE"
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
gens() { ls "$STATE/generations" | wc -l; }

# 1. Facts, as this machine has them.
if once; then pass "first apply with templates"; else fail "first apply with templates" "$(cat "$LOG")"; fi
F=$ROOT/etc/facts.txt
# The host's own global addresses: not those of container bridges and veth ends (cni-podman*,
# podman*, docker*, br-*, veth*, virbr*), not IPv6 ones that are temporary, deprecated,
# tentative or failed DAD (src/util/host.hpp).
own_addrs() { # FAMILY
  ip -j addr | python3 -c 'import json, sys
skip = ("cni-podman", "podman", "docker", "br-", "veth", "virbr")
unstable = ("temporary", "deprecated", "tentative", "dadfailed")
print("\n".join(sorted({a["local"] for i in json.load(sys.stdin) if not i["ifname"].startswith(skip)
                        for a in i["addr_info"] if a["family"] == sys.argv[1] and a.get("scope") == "global"
                        and not any(a.get(f) for f in unstable)})))' "$1"
}
want_ipv4=$(own_addrs inet)
want_ipv6=$(own_addrs inet6)
got_ipv4=$(sed -n 's/^ipv4=//p' "$F" | sort)
got_ipv6=$(sed -n 's/^ipv6=//p' "$F" | sort)
[ "$(sed -n 's/^name=//p' "$F")" = "$(hostname)" ] && pass "host.name is the hostname" || fail "host.name" "$(cat "$F")"
[ "$(sed -n 's/^machine_id=//p' "$F")" = "$(cat /etc/machine-id)" ] && pass "host.machine_id is /etc/machine-id" || fail "host.machine_id" "$(cat "$F")"
[ -n "$want_ipv4" ] && [ "$got_ipv4" = "$want_ipv4" ] && pass "host.ipv4 lists the host's own global IPv4 addresses of ip addr" ||
  fail "host.ipv4" "got [$got_ipv4] want [$want_ipv4]"
[ "$got_ipv6" = "$want_ipv6" ] && pass "host.ipv6 lists the global IPv6 addresses (no ::1, no fe80::)" ||
  fail "host.ipv6" "got [$got_ipv6] want [$want_ipv6]"
if command -v systemd-detect-virt >/dev/null; then
  [ "$(sed -n 's/^virtualization=//p' "$F")" = "$(systemd-detect-virt --vm)" ] &&
    pass "host.virtualization matches systemd-detect-virt --vm" || fail "host.virtualization" "$(cat "$F") vs $(systemd-detect-virt --vm)"
fi
[ "$(sed -n 's/^commit=//p' "$F")" = "$(git -C "$R" rev-parse HEAD)" ] && pass "fjord.commit is the applied commit" || fail "fjord.commit" "$(cat "$F")"
head -1 "$F" | has '^name=' && pass "a standalone comment leaves no line" || fail "standalone comment" "$(head -2 "$F")"

# 2. Vars: the host over its bundle, lists, verbatim.
want=$'server_name shop.example.no;\nworkers 2;\nraw <>&"\'\nupstream app {\n    server 10.0.0.1:8080;\n    server 10.0.0.2:8080;\n}'
[ "$(cat "$ROOT/etc/app/app.conf")" = "$want" ] && pass "host vars override bundle vars; list section; <>&\"' verbatim" ||
  fail "vars" "$(cat "$ROOT/etc/app/app.conf")"
[ "$(cat "$ROOT/etc/app/gen.txt")" = "generation=1" ] && pass "fjord.generation is the generation that holds the content" ||
  fail "fjord.generation" "$(cat "$ROOT/etc/app/gen.txt")"

# 3. fjord.generation does not make a generation per poll.
for i in 1 2 3; do once; done
[ "$(gens)" = 1 ] && [ "$(cat "$STATE/current")" = 1 ] && grep -q "up to date" "$LOG" &&
  pass "three more polls: still one generation (idle path, no render)" || fail "idle with fjord.generation" "gens=$(gens) $(cat "$LOG")"

# 4. A var change re-renders and applies; fjord.generation follows the new generation, then settles.
sed -i 's/^workers = 2$/workers = 8/' "$R/bundles/base/fjord.toml"
commit_all "$R" "8 workers"
once
grep -q '^workers 8;$' "$ROOT/etc/app/app.conf" && [ "$(cat "$STATE/current")" = 2 ] && [ "$(cat "$ROOT/etc/app/gen.txt")" = "generation=2" ] &&
  pass "a var change applies as generation 2, fjord.generation = 2" || fail "var change" "$(cat "$LOG"; cat "$ROOT/etc/app/gen.txt")"
for i in 1 2; do once; done
[ "$(gens)" = 2 ] && pass "after the change: polls make no more generations" || fail "settles" "gens=$(gens)"

# 5. A new address re-renders (the facts key changed); without one, nothing is rendered.
#    The pair is a veth (this kernel has no dummy driver), but named fjtNNNa, not veth*: fjord
#    leaves out addresses of interfaces named like container bridges and veth ends, and this
#    test needs one it counts as the host's.
if ip link add "$VETH" type veth peer name "fjt$$b" 2>/dev/null && ip addr add 198.51.100.77/32 dev "$VETH"; then
  once
  grep -q '^ipv4=198.51.100.77$' "$F" && [ "$(cat "$STATE/current")" = 3 ] && [ "$(cat "$ROOT/etc/app/gen.txt")" = "generation=3" ] &&
    pass "a new IPv4 address re-renders and applies (generation 3)" || fail "new address" "$(cat "$LOG"; cat "$F")"
  ip link del "$VETH"
  once
  ! grep -q '198.51.100.77' "$F" && [ "$(cat "$STATE/current")" = 4 ] && pass "the address gone: rendered and applied again" ||
    fail "address gone" "$(cat "$LOG")"
  once
  grep -q "up to date" "$LOG" && [ "$(gens)" = 4 ] && pass "facts unchanged: the idle path, no render" || fail "idle after facts" "$(cat "$LOG")"
else
  fail "new address" "cannot make a veth pair here"
fi
# A template that uses no fact is not re-applied when facts change: the plan is empty.
jq_edit() { python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["facts_key"]="stale"; json.dump(d,open(p,"w"))' "$STATE/status.json"; }
jq_edit
once
grep -q "changes nothing" "$LOG" && [ "$(gens)" = 4 ] &&
  pass "facts key changed, content not: re-rendered, no new generation (fjord.generation rendered as the current one)" ||
  fail "re-render without change" "$(cat "$LOG")"

# Drift on a rendered file is corrected back to the rendered content, with no new generation.
echo "tampered" >>"$ROOT/etc/app/app.conf"
once
grep -q '^workers 8;$' "$ROOT/etc/app/app.conf" && ! grep -q tampered "$ROOT/etc/app/app.conf" && [ "$(gens)" = 4 ] &&
  pass "a live edit of a rendered file is corrected to the rendered content" || fail "drift on rendered file" "$(cat "$LOG")"

# 6. An undefined variable: refused with file:line and the variable; the host unchanged.
before=$(fingerprint "$ROOT")
printf 'a\nb\nport={{prot}}\n' >"$H/files/etc/app/bad.conf.tmpl"
echo "changed" >"$H/files/etc/app/other"
commit_all "$R" "typo"
once; rc=$?
after=$(fingerprint "$ROOT")
[ "$rc" = 1 ] && grep -q 'hosts/web1/files/etc/app/bad.conf.tmpl:3:6: undefined variable \\\?"prot\\\?"' "$LOG" &&
  [ "$before" = "$after" ] && [ "$(cat "$STATE/current")" = 4 ] &&
  pass "undefined variable refused with file:line and name; host unchanged" || fail "undefined variable" "rc=$rc $(cat "$LOG")"
"$FJORDCTL" --config "$CFG" status >"$T/st" 2>&1
grep -q 'bad.conf.tmpl:3:6: undefined variable "prot"' "$T/st" && pass "status shows the template error" || fail "status error" "$(cat "$T/st")"
git -C "$R" rm -q hosts/web1/files/etc/app/bad.conf.tmpl && commit_all "$R" "fix"
once && [ "$(cat "$STATE/current")" = 5 ] && pass "the fix applies" || fail "fix" "$(cat "$LOG")"

# 7. fjordctl render: this machine's facts, or another host's name and --var over everything.
"$FJORDCTL" --config "$CFG" render "$H" >"$T/r" 2>"$T/r.err"; rc=$?
[ "$rc" = 0 ] && grep -q '^f 0644 root:root /etc/app/app.conf$' "$T/r" && grep -q '^==> /etc/app/app.conf (from hosts/web1/files/etc/app/app.conf.tmpl) <==$' "$T/r" &&
  grep -q '^workers 8;$' "$T/r" && grep -q "^name=$(hostname)$" "$T/r" &&
  pass "render prints the files and the rendered templates" || fail "render" "rc=$rc $(cat "$T/r" "$T/r.err")"
"$FJORDCTL" --config "$CFG" render "$H" --host web9 --var workers=16 --var 'upstreams=["u1", "u2", "u3"]' --var host.ipv4='["203.0.113.5"]' >"$T/r" 2>"$T/r.err"; rc=$?
[ "$rc" = 0 ] && grep -q '^name=web9$' "$T/r" && grep -q '^workers 16;$' "$T/r" && [ "$(grep -c '^    server u' "$T/r")" = 3 ] &&
  grep -q '^ipv4=203.0.113.5$' "$T/r" && grep -q 'placeholders' "$T/r.err" &&
  pass "render --host NAME --var: host.name, vars and facts set, placeholders said" || fail "render --host --var" "rc=$rc $(cat "$T/r" "$T/r.err")"
"$FJORDCTL" --config "$CFG" render "$H" --var 'bad name=1' >/dev/null 2>&1; [ $? = 2 ] && pass "render --var with a bad name is a usage error" || fail "render bad --var" ""

# 8. fjordctl validate: every host folder, every error.
mkdir -p "$R/hosts/web2/files/etc" "$R/hosts/db1/files/etc"
printf 'include = ["../../bundles/base"]\n' >"$R/hosts/web2/fjord.toml"
printf 'x={{one}}\n' >"$R/hosts/web2/files/etc/a.tmpl"
printf 'ok\n{{#two}}{{/two}}\n' >"$R/hosts/web2/files/etc/b.tmpl"
printf '{{#x}}\n' >"$R/hosts/db1/files/etc/c.tmpl"
"$FJORDCTL" --config "$CFG" validate "$R" >"$T/v" 2>"$T/v.err"; rc=$?
[ "$rc" = 1 ] && grep -q 'web2/files/etc/a.tmpl:1:3: undefined variable "one"' "$T/v.err" &&
  grep -q 'web2/files/etc/b.tmpl:2:1: undefined variable "two"' "$T/v.err" && grep -q 'db1/files/etc/c.tmpl:1:1: {{#x}} is not closed' "$T/v.err" &&
  grep -q 'hosts/web1: ok' "$T/v" && grep -q '3 errors in 3 host folders' "$T/v.err" &&
  pass "validate renders every host folder and reports every error" || fail "validate" "rc=$rc $(cat "$T/v" "$T/v.err")"
rm -rf "$R/hosts/web2" "$R/hosts/db1"

# 9. One run names every error (issue 19): two typos in each of two host folders' manifests
# (one in a containers/ file) and a template with two undefined variables, each FILE:LINE:COL.
mkdir -p "$R/hosts/web2/files/etc" "$R/hosts/db1/containers"
printf '[file."/etc/a"]\nmodee = "0644"\n[unit."app.service"]\nstate = "running"\n' >"$R/hosts/web2/fjord.toml"
printf 'a\nport={{ prot }} name={{nmae}}\n' >"$R/hosts/web2/files/etc/a.tmpl"
printf 'colour = "red"\n' >"$R/hosts/db1/fjord.toml"
printf 'image = "app:1"\nrestart = "sometimes"\n' >"$R/hosts/db1/containers/app.toml"
"$FJORDCTL" --config "$CFG" validate "$R" >"$T/v" 2>"$T/v.err"; rc=$?
want=('hosts/web2/fjord.toml:2:1: file."/etc/a": modee: unknown key'
  'hosts/web2/fjord.toml:4:9: unit."app.service": state: "running" is not one of started, stopped'
  'hosts/web2/files/etc/a.tmpl:2:6: undefined variable "prot"'
  'hosts/web2/files/etc/a.tmpl:2:22: undefined variable "nmae"'
  'hosts/db1/fjord.toml:1:1: colour: unknown key'
  'hosts/db1/containers/app.toml:2:11: restart: "sometimes" is not one of no, on-failure, always, unless-stopped')
missing=""
for w in "${want[@]}"; do grep -qF -- "$w" "$T/v.err" || missing+=" [$w]"; done
[ "$rc" = 1 ] && [ -z "$missing" ] && grep -q '6 errors in 3 host folders' "$T/v.err" &&
  pass "validate names every typo of every file of every host folder in one run" || fail "validate every error" "rc=$rc missing:$missing $(cat "$T/v.err")"
rm -rf "$R/hosts/web2" "$R/hosts/db1"
"$FJORDCTL" --config "$CFG" validate "$R" >"$T/v" 2>&1 && grep -q 'hosts/web1: ok' "$T/v" && pass "validate of a good repo exits 0" || fail "validate good" "$(cat "$T/v")"

finish
