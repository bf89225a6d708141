#!/bin/bash
# Issue 16, defect 5 (the input half): commits built to exhaust the render child fail fast with
# a clear error naming the file and the limit, instead of crashing it on every poll. Each bomb
# is committed to a real Git repo served by git daemon; `fjordd --once` must exit 1 with the
# file and the limit in stderr, leave the apply root as it was, and the good commit that follows
# must apply with the next `fjordd --once`. Each bomb's run is measured with /usr/bin/time -v
# (wall time and peak RSS, which covers the render child: fjordd waits for it).
#   a  20 templates expanding a 1 MiB var 60 times each (1.2 GB of output)
#   b  a 45 MB [vars] with 2.5M keys in the host's fjord.toml
#   b2 a bundle's and the host's [vars] together over the var limit (110,000)
#   c  a 200,000-deep dotted key in fjord.toml (toml++'s stack)
#   d  a template nesting 100,000 sections (kainjow's stack)
# Usage: render_bombs.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

R=$T/repo H=$T/repo/hosts/web1 ROOT=$T/root STATE=$T/state CFG=$T/fjord.toml
ERR=$T/stderr TIMES=$T/time
mkdir -p "$ROOT" "$H/files/etc"
new_repo "$R"
printf '[vars]\ngreeting = "hello"\n' >"$H/fjord.toml"
printf '{{greeting}} 0\n' >"$H/files/etc/good.txt.tmpl"
commit_all "$R" good
start_git_daemon "$T"
# Debug logging: fjordd logs how long each phase took, the render's among them.
write_config "$CFG" "git://127.0.0.1:$GITD_PORT/repo" "$ROOT" "$STATE" '[log]' 'level = "debug"'

# once: one `fjordd --once` under /usr/bin/time; sets RC, WALL (s), RSS (MB) and RENDER (ms, the
# render phase alone, from fjordd's debug log).
once() {
  /usr/bin/time -v -o "$TIMES" "$FJORDD" --config "$CFG" --once >/dev/null 2>"$ERR"
  RC=$?
  WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$TIMES" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  RSS=$(($(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TIMES") / 1024))
  RENDER=$(sed -n 's/.*render: \([0-9]*\)\.[0-9]* ms$/\1/p' "$ERR" | tail -1)
}

once
if [ "$RC" = 0 ] && [ "$(cat "$ROOT/etc/good.txt")" = "hello 0" ]; then pass "the first good commit applies"
else fail "the first good commit applies" "exit $RC: $(tail -3 "$ERR")"; fi

GOOD=0
# bomb NAME PATTERN: commits what the caller put in the tree, runs fjordd --once, checks the
# refusal (exit 1, PATTERN in stderr, the root unchanged), then removes the bomb (bombs/ and
# the host's fjord.toml back to the good one), commits a good change and checks that it applies.
bomb() {
  local name=$1 pattern=$2 fp0
  fp0=$(fingerprint "$ROOT")
  commit_all "$R" "bomb $name"
  once
  echo "  $name: fjordd --once exit $RC, ${WALL}s wall (render ${RENDER:-?} ms), peak RSS ${RSS} MB"
  if [ "$RC" != 1 ]; then fail "bomb $name refused" "exit $RC: $(tail -3 "$ERR")"
  elif ! has -E "$pattern" "$ERR"; then fail "bomb $name refused" "stderr lacks /$pattern/: $(tail -3 "$ERR")"
  elif [ "$(fingerprint "$ROOT")" != "$fp0" ]; then fail "bomb $name refused" "the apply root changed"
  else pass "bomb $name refused, naming the file and the limit ($(grep -oE "$pattern" "$ERR" | head -1))"; fi

  GOOD=$((GOOD + 1))
  rm -rf "$H/files/etc/bombs" "$R/bundles"
  printf '[vars]\ngreeting = "hello"\n' >"$H/fjord.toml"
  printf '{{greeting}} %s\n' "$GOOD" >"$H/files/etc/good.txt.tmpl"
  commit_all "$R" "good $GOOD"
  once
  if [ "$RC" = 0 ] && [ "$(cat "$ROOT/etc/good.txt")" = "hello $GOOD" ]; then pass "the good commit after bomb $name applies"
  else fail "the good commit after bomb $name applies" "exit $RC: $(tail -3 "$ERR")"; fi
}

# a: 20 templates, each 60 times a 1 MiB var: 60 MiB each, under apply.max_file_size, and each
# different (the same content would be kept once).
mkdir -p "$H/files/etc/bombs"
{ printf '[vars]\ngreeting = "hello"\nbig = "'; head -c 1048576 /dev/zero | tr '\0' x; printf '"\n'; } >"$H/fjord.toml"
for i in $(seq -w 1 20); do
  { echo "template $i"; for _ in $(seq 60); do echo '{{big}}'; done; } >"$H/files/etc/bombs/t$i.txt.tmpl"
done
bomb a 'files/etc/bombs/t[0-9]+\.txt\.tmpl: .*67108864 bytes'

# b: 2.5M keys, 45 MB.
awk 'BEGIN { print "[vars]"; for (i = 0; i < 2500000; i++) printf "v%07d = %d\n", i, 1000000 + i }' >"$H/fjord.toml"
bomb b 'hosts/web1/fjord.toml: [0-9]+ bytes, more than a manifest may have \(33554432 bytes'

# b2: 60,000 vars in a bundle and 50,000 in the host: each under the limit, together over it.
mkdir -p "$R/bundles/many"
awk 'BEGIN { print "[vars]"; for (i = 0; i < 60000; i++) printf "b%06d = %d\n", i, i }' >"$R/bundles/many/fjord.toml"
awk 'BEGIN { print "include = [\"../../bundles/many\"]\n[vars]\ngreeting = \"hello\""; for (i = 0; i < 50000; i++) printf "h%06d = %d\n", i, i }' >"$H/fjord.toml"
bomb b2 'bundles/many/fjord.toml: \[vars\]: [0-9]+ values .*more than 100000'

# c: a.a.a... 200,000 deep.
{ printf '[vars]\n'; awk 'BEGIN { for (i = 0; i < 199999; i++) printf "a."; print "a = 1" }'; } >"$H/fjord.toml"
bomb c 'hosts/web1/fjord.toml:2:[0-9]+: nests deeper than 64 levels'

# d: 100,000 nested sections of a true var.
mkdir -p "$H/files/etc/bombs"
printf '[vars]\ngreeting = "hello"\non = true\n' >"$H/fjord.toml"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "{{#on}}"; printf "x"; for (i = 0; i < 100000; i++) printf "{{/on}}"; print "" }' \
  >"$H/files/etc/bombs/deep.txt.tmpl"
bomb d 'files/etc/bombs/deep\.txt\.tmpl:1:449: sections nest deeper than 64'

finish
