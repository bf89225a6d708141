#!/bin/bash
# Names at the host's limits (issue 16), with the real fjordd against a real Git repo served by
# git daemon. A 255-byte name, a 4095-byte host path and a 100-level tree are each applied,
# changed, pruned by a commit and rolled back after a failing check, leaving no folder behind;
# a 256-byte name and a 4096-byte path are refused at render, naming the repo path, with the
# root untouched; after every failure the next good commit applies at the next run (§7.8).
# Then fjordd is killed at random instants while it applies the long names: `fjordd --recover`
# must leave the root as before or as after (§7.1), no temp file, and the next run applies.
# The repo is built with Git's plumbing: its paths are longer than a checkout could hold here.
# Usage: long_names.sh BUILD_DIR   (env: TRIALS=30, SEED=<random>)
set -uo pipefail
export LC_ALL=C # ${#s} counts bytes, as git fast-import's data lengths do
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

TRIALS=${TRIALS:-30}
SEED=${SEED:-$(( $(date +%s%N) % 1000000 ))}
RANDOM=$SEED
echo "INFO seed=$SEED trials=$TRIALS (rerun with SEED=$SEED to repeat the kill delays)"

# On a tmpfs when root may mount one, as crash_torture.sh does: a SIGKILL keeps the page cache,
# so only the order of operations is under test, and the 200 folder fsyncs of a run cost nothing.
M=$T/tmpfs
mkdir -p "$M"
MOUNTED=0
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256m,mode=0755 fjord-names "$M" 2>/dev/null; then MOUNTED=1
else echo "INFO no tmpfs (not root, or mount refused): running on $(df --output=fstype "$T" | tail -1), slower"; fi
R=$M/repo.git ROOT=$M/root STATE=$M/state CFG=$M/fjord.toml LOG=$T/fjordd.log SNAP=$M/snap
BGPID=
stop_all() {
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  stop_git_daemon
  cd /
  [ "$MOUNTED" = 1 ] && umount "$M"
  rm -rf "$T"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# n CHAR LEN: CHAR repeated LEN times.
n() { printf "%${2}s" "" | tr ' ' "$1"; }

# The repo: FILES and LINKS (paths below hosts/web1 -> content, link target) are what the next
# commit holds, exactly. git fast-import builds it without a work tree, one process a commit.
git init -q --bare -b main "$R"
declare -A FILES=() LINKS=()
commit() {
  local p parent
  parent=$(git -C "$R" rev-parse -q --verify refs/heads/main)
  {
    printf 'commit refs/heads/main\ncommitter %s <%s> %s +0000\ndata %d\n%s\n' \
      "$GIT_COMMITTER_NAME" "$GIT_COMMITTER_EMAIL" "$EPOCHSECONDS" "${#1}" "$1"
    [ -n "$parent" ] && printf 'from %s\n' "$parent"
    printf 'deleteall\n'
    for p in "${!FILES[@]}"; do printf 'M 100644 inline hosts/web1/%s\ndata %d\n%s\n' "$p" "${#FILES[$p]}" "${FILES[$p]}"; done
    for p in "${!LINKS[@]}"; do printf 'M 120000 inline hosts/web1/%s\ndata %d\n%s\n' "$p" "${#LINKS[$p]}" "${LINKS[$p]}"; done
  } | git -C "$R" fast-import --quiet || { echo "commit $1: git fast-import failed"; exit 2; }
}
base_only() { FILES=([files/etc/motd]="base") LINKS=(); }

# deep_cat ROOT PATH: a file's content, reached a folder at a time (its path may be longer than
# PATH_MAX under ROOT, which cat cannot open). Perl: it starts in milliseconds, python3 does not.
deep_cat() {
  perl -e 'my ($root, $path) = @ARGV; chdir $root or die "$root: $!";
    my @parts = grep { length } split m{/}, $path; my $last = pop @parts;
    for (@parts) { chdir $_ or die "$_: $!" }
    open(my $f, "<", $last) or die "$last: $!"; local $/; print scalar <$f>;' "$1" "$2"
}
# deep_fp ROOT: lib.sh's fingerprint (kind and mode, link target, content hash of every path)
# for trees with paths longer than PATH_MAX, walked a folder at a time.
deep_fp() {
  perl -MDigest::SHA -e 'my @out;
    sub walk { my ($rel) = @_;
      opendir(my $d, ".") or die "$rel: $!"; my @names = grep { !/^\.\.?$/ } readdir $d; closedir $d;
      for my $n (@names) {
        my @st = lstat $n or die "$rel/$n: $!"; my ($link, $file, $dir) = (-l _, -f _, -d _);
        my $line = sprintf "%o %s/%s", $st[2], $rel, $n;
        if ($link) { $line .= " -> " . readlink $n }
        elsif ($file) { open(my $f, "<", $n) or die "$rel/$n: $!"; $line .= " " . Digest::SHA->new(1)->addfile($f)->hexdigest }
        push @out, $line;
        if ($dir) { chdir $n or die "$rel/$n: $!"; walk("$rel/$n"); chdir ".." or die }
      }
    }
    chdir $ARGV[0] or die "$ARGV[0]: $!"; walk(""); print join("\n", sort @out), "\n";' "$1"
}
temps() { find "$ROOT" -name '*fjord-tmp*' | head -3; }
empty_dirs() { find "$ROOT" -mindepth 1 -type d -empty | head -3 | cut -c1-200; }
once() { "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1; }
why() { tail -3 "$LOG" | cut -c1-400; }

# The three shapes. Each sets its files in FILES/LINKS with content naming VERSION; PROBE_*
# is one of its host paths, whose content is "$PROBE_TEXT VERSION".
N255A=$(n a 255) N255B=$(n b 255) N255L=$(n l 255)
shape_name() { # a 255-byte folder, a 255-byte file in it and in /etc, a 255-byte symlink to it
  FILES["files/srv/$N255A/$N255B"]="a 255-byte name $1"
  FILES["files/etc/$N255B"]="a 255-byte name in /etc $1"
  LINKS["files/srv/$N255L"]="$N255A/$N255B"
}
PROBE_name=/srv/$N255A/$N255B TEXT_name="a 255-byte name"
P4095=""
for c in c d e f g h i j k l m n o p q; do P4095+="/$(n "$c" 255)"; done
P4095+="/$(n z 254)"
shape_path() { # a host path of 4095 bytes: 15 folders of 255 bytes and a file of 254
  FILES["files$P4095"]="a 4095-byte path $1"
  FILES["files${P4095:0:2048}/$(n y 200)"]="a sibling half-way $1"
}
PROBE_path=$P4095 TEXT_path="a 4095-byte path"
D100=""
for i in $(seq 100); do D100+="/d$i"; done
shape_deep() { # 100 folders, a file at the bottom and a few on the way
  local i
  FILES["files/opt$D100/file"]="100 levels down $1"
  for i in 10 50 99; do FILES["files/opt${D100%%/d$((i + 1))*}/f$i"]="level $i $1"; done
}
PROBE_deep=/opt$D100/file TEXT_deep="100 levels down"

FAILING_CHECK=$'[[check]]\nname = "nothing listens"\ntcp = "127.0.0.1:1"\ntimeout = "200ms"\nperiod = "100ms"\nfailure_threshold = 1\n'

base_only
commit "base"
start_git_daemon "$M"
mkdir -p "$ROOT"
write_config "$CFG" "git://127.0.0.1:$GITD_PORT/repo.git" "$ROOT" "$STATE" \
  '[health]' 'timeout = "10s"' 'require_source_reachable = false' '[prerequisites]' 'mode = "off"'
once && pass "base applied" || { fail "base applied" "$(why)"; finish; exit 1; }
FP0=$(fingerprint "$ROOT")

# ---------------------------------------------------------------------------------------------
# Each shape: applied, changed, pruned, rolled back, and a good commit after the rollback.
for shape in name path deep; do
  probe=PROBE_$shape text=TEXT_$shape
  probe=${!probe} text=${!text}
  base_only; "shape_$shape" v1; commit "$shape v1"
  if once && [ "$(deep_cat "$ROOT" "$probe")" = "$text v1" ]; then pass "$shape: applied"; else fail "$shape: applied" "$(why)"; fi
  base_only; "shape_$shape" v2; commit "$shape v2"
  if once && [ "$(deep_cat "$ROOT" "$probe")" = "$text v2" ] && [ -z "$(temps)" ]; then pass "$shape: changed"
  else fail "$shape: changed" "$(why) $(temps)"; fi
  base_only; commit "$shape removed"
  if once && [ "$(fingerprint "$ROOT")" = "$FP0" ] && [ -z "$(empty_dirs)" ]; then pass "$shape: removed by a commit, pruned with every folder"
  else fail "$shape: removed" "$(why) $(empty_dirs)"; fi

  base_only; "shape_$shape" v3; FILES[fjord.toml]=$FAILING_CHECK; commit "$shape v3, failing its check"
  if ! once && grep -q "failed its health checks, rolled back" "$LOG" && [ "$(fingerprint "$ROOT")" = "$FP0" ] &&
    [ -z "$(empty_dirs)" ] && [ -z "$(temps)" ] && [ ! -e "$STATE/journal" ]; then
    pass "$shape: a failing commit is rolled back, no folder left, the root byte-identical"
  else
    fail "$shape: rollback" "$(why) $(empty_dirs) $(temps) $(ls "$STATE")"
  fi
  base_only; "shape_$shape" v4; commit "$shape v4, good"
  if once && [ "$(deep_cat "$ROOT" "$probe")" = "$text v4" ] && [ ! -e "$STATE/journal" ]; then
    pass "$shape: after the rollback the next good commit applies at the next run"
  else
    fail "$shape: liveness after the rollback" "$(why)"
  fi
  base_only; commit "$shape gone"
  once && [ "$(fingerprint "$ROOT")" = "$FP0" ] || fail "$shape: back to the base" "$(why) $(empty_dirs)"
done

# ---------------------------------------------------------------------------------------------
# Names the host cannot hold: refused at render with the repo path and the reason, nothing
# changed, and the next good commit applies.
refuse() { # WHAT REPO_PATH MESSAGE
  base_only; FILES[$2]="cannot be"; commit "$1"
  local fp cur
  fp=$(fingerprint "$ROOT") cur=$(cat "$STATE/current")
  if ! once && grep -qF -- "$3" "$LOG" && [ "$(fingerprint "$ROOT")" = "$fp" ] &&
    [ "$(cat "$STATE/current")" = "$cur" ] && [ ! -e "$STATE/journal" ]; then
    pass "$1: refused at render, naming the repo path and the reason; the root unchanged"
  else
    fail "$1: refused" "$(why)"
  fi
  base_only; FILES[files/etc/motd]="after: $1"; commit "good after $1"
  if once && [ "$(cat "$ROOT/etc/motd")" = "after: $1" ] &&
    { "$FJORDCTL" --config "$CFG" status --json 2>&1 || true; } | has '"last_result": "applied"'; then # exit 3: fjordd not running
    pass "$1: the next good commit applies at the next run"
  else
    fail "$1: liveness" "$(why)"
  fi
}
X256=files/srv/$(n x 256)/file
refuse "a 256-byte name" "$X256" \
  "hosts/web1/$X256: a name of 256 bytes in its host path; a file or folder name on Linux is at most 255 bytes (NAME_MAX)"
# So long a repo path is shown by its two ends, so that the reason is not cut off.
P4096=hosts/web1/files${P4095}z
refuse "a 4096-byte host path" "files${P4095}z" \
  "${P4096:0:400}...${P4096: -400}: its host path is 4096 bytes; a host path is at most 4095 bytes (PATH_MAX less its NUL)"

# ---------------------------------------------------------------------------------------------
# Crash torture: all three shapes in one commit, applied by fjordd --once killed with SIGKILL at
# a random instant. Odd trials draw the instant in [0, D] ms after the start (D: 1.2 x a clean
# run), even ones in [0, W] ms after the journal appears (W: the clean transaction's length).
base_only; commit "base for the trials"
once || fail "base before the trials" "$(why)"
rm -rf "$SNAP" && mkdir "$SNAP" && cp -a "$ROOT" "$STATE" "$SNAP/"
GEN_BEFORE=$(cat "$STATE/current") FP_BEFORE=$(deep_fp "$ROOT")
base_only; shape_name v5; shape_path v5; shape_deep v5; commit "every long name"
restore() { rm -rf "$ROOT" "$STATE" && cp -a "$SNAP/root" "$SNAP/state" "$M/"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# nap SECONDS: a sleep without a process (read on a pipe no one writes), so that waiting for the
# journal neither spins on a core fjordd needs nor forks every few milliseconds.
exec {NAP}<> <(:)
nap() { read -rt "$1" -u "$NAP"; }
mtime_ms() { local t; t=$(stat -c %.3Y "$1") && echo "${t/./}"; }
restore
s=$(now_ms)
once || fail "clean apply of every long name" "$(why)"
E=$(( $(now_ms) - s ))
GEN_AFTER=$(cat "$STATE/current") FP_AFTER=$(deep_fp "$ROOT")
W=$(( $(mtime_ms "$STATE/current") - $(mtime_ms "$STATE/generations/$GEN_AFTER/files") + 1 ))
D=$(( E * 12 / 10 ))
echo "INFO clean run $E ms, transaction about $W ms; generation before $GEN_BEFORE, after $GEN_AFTER"
bad_recover=0 bad_root=0 bad_tmp=0 bad_next=0 mid=0 shown=0 ok=0
detail() { shown=$((shown + 1)); [ "$shown" -le 3 ] && echo "  trial $trial (+$delay ms): $1" | cut -c1-600; return 0; }
for trial in $(seq "$TRIALS"); do
  restore
  r30=$(( RANDOM * 32768 + RANDOM ))
  "$FJORDD" --config "$CFG" --once >"$LOG" 2>&1 &
  BGPID=$!
  if [ $((trial % 2)) = 1 ]; then delay=$(( r30 % (D + 1) ))
  else
    delay=$(( r30 % (W + 1) ))
    while [ ! -e "$STATE/journal" ] && kill -0 "$BGPID" 2>/dev/null; do nap 0.002; done
  fi
  printf -v secs '%d.%03d' $((delay / 1000)) $((delay % 1000))
  [ "$delay" -gt 0 ] && nap "$secs"
  kill -9 "$BGPID" 2>/dev/null
  wait "$BGPID" 2>/dev/null
  BGPID=
  [ -e "$STATE/journal" ] && mid=$((mid + 1))
  if ! "$FJORDD" --config "$CFG" --recover >"$LOG" 2>&1; then
    bad_recover=$((bad_recover + 1)); detail "fjordd --recover failed: $(why)"; continue
  fi
  ok=$((ok + 1))
  cur=$(cat "$STATE/current") got=$(deep_fp "$ROOT")
  want=$FP_BEFORE; [ "$cur" = "$GEN_AFTER" ] && want=$FP_AFTER
  if [ -e "$STATE/journal" ] || { [ "$cur" != "$GEN_BEFORE" ] && [ "$cur" != "$GEN_AFTER" ]; } || [ "$got" != "$want" ]; then
    bad_root=$((bad_root + 1)); detail "after recovery current=$cur, root differs: $(diff <(echo "$want") <(echo "$got") | head -4)"
  fi
  [ -z "$(temps)" ] || { bad_tmp=$((bad_tmp + 1)); detail "temp files left: $(temps)"; }
  if ! once || [ "$(deep_fp "$ROOT")" != "$FP_AFTER" ] || [ -n "$(temps)" ]; then
    bad_next=$((bad_next + 1)); detail "the next run did not apply: $(why)"
  fi
done
echo "INFO $TRIALS kills, $mid of them mid-transaction (journal present)"
[ "$bad_recover" = 0 ] && pass "fjordd --recover succeeds after every kill ($TRIALS trials)" || fail "recover" "$bad_recover of $TRIALS failed"
[ "$bad_root" = 0 ] && pass "after recovery the root is as before or as after, as current says ($ok recoveries)" || fail "recovered root" "$bad_root of $ok"
[ "$bad_tmp" = 0 ] && pass "no temp file left after recovery ($ok recoveries)" || fail "temp files" "$bad_tmp of $ok"
[ "$bad_next" = 0 ] && pass "the next fjordd --once applies every long name ($ok recoveries)" || fail "next run" "$bad_next of $ok"
[ "$mid" -gt 0 ] && pass "kills landed mid-transaction: $mid of $TRIALS" || fail "kills mid-transaction" "none of $TRIALS"
finish
