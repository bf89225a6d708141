#!/bin/bash
# State-dir fault injection (DESIGN.md §7.8, issue 16): every file and folder fjord keeps in
# state.dir is deleted, truncated and filled with garbage, both at rest (fjordd stopped between
# two runs) and between the steps of an apply (fjordd SIGKILLed while its journal is there,
# then the fault, then the next start). The next start finds a good commit D waiting. The rule:
#   - fjordd recovers by itself: it exits 0 with the root equal to D (checked against
#     `git archive` over the host's own files, not against fjord's record); or
#   - it refuses, naming the damaged file and `fjordctl repair`; `fjordctl repair --yes` then
#     lets the next good commit apply;
#   - never a silent fresh start: generation numbers only grow, and the generation that applies
#     the next good commit still knows /etc/issue as adopted (its host original kept) and
#     adopts nothing else (a fresh start would adopt every file fjord wrote as an "original");
#   - never a write outside the root: a canary folder next to it keeps its fingerprint.
#   - a record lost in both its copies (LOST_ITEMS: the current or the pending generation's
#     files, or every chunk) loses what fjord knew it wrote: then fjord must refuse naming it,
#     and after `fjordctl repair --yes` D applies with every path of D right; files the lost
#     generation wrote may stay (adopted as the host's own), as a fresh start leaves them.
#   - `pinned` filled with garbage may keep the host pinned (the flag's presence is the
#     operator's `fjordctl rollback`): then the log must say so, and after `fjordctl resume`
#     the good commit applies.
# The items: current, journal, statcache, status.json, bad, attempts, pinned, root, images,
# render_deaths, prereq.json, lock, generations/N/{info,files} of the current (3), an older good
# (1) and a rolled-back (2) generation (and of the pending one, 4, mid-apply), the chunks their
# files indexes name (chunks/ whole; a chunk of each, one copy, the other, and both: ITEM+copy),
# objects/ whole and the adopted original's object, the Git cache repo/ whole and in part
# (objects/pack, HEAD, refs, config), age/identity. Absent files are only filled with garbage.
# `current` is also set to the number of another generation (older good, rolled back, pending) or 0.
# Then a bounded random part: TRIALS (200) trials flip random bytes in 1-3 random state files,
# at rest or mid-apply, with the same rule (seeded: SEED=N repeats a run); a trial that flips both
# copies of one record is judged as a LOST_ITEMS case.
# Usage: faults.sh BUILD_DIR   (env: TRIALS=200 SEED=<random> VERBOSE=1 ONLY=REGEX (fixed cases
# whose name matches; no random part) SHOW=5 (failing trials shown) DIFFN=4 (diff lines shown)
# TRIAL_LIST="N..." (only these random trials; with SEED, the same flips))
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

TRIALS=${TRIALS:-200}
SEED=${SEED:-$(( $(date +%s%N) % 1000000 ))}
echo "INFO seed=$SEED trials=$TRIALS (rerun with SEED=$SEED to repeat the random part)"
T0=$(date +%s)
declare -A MAXGEN

M=$T/tmpfs
mkdir -p "$M"
MOUNTED=0
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256m,mode=0755 fjord-faults "$M" 2>/dev/null; then MOUNTED=1; fi
BGPID=
cleanup_all() {
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  cd /
  [ "$MOUNTED" = 1 ] && umount "$M"
  rm -rf "$T"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

REPO=$M/repo H=$M/repo/hosts/web1 ROOT=$M/root STATE=$M/state CFG=$M/fjord.toml CANARY=$M/canary SNAP=$M/snap
F=$H/files
LOGS=$T/logs
mkdir -p "$LOGS" "$CANARY" "$SNAP"
echo "never fjord's" >"$CANARY/keep"
mkdir -p "$CANARY/sub" && echo "deeper" >"$CANARY/sub/file" && ln -s ../root "$CANARY/to-root"

# ---- the repo: A (20 files), X (a failing check: marked bad), B, C (30 new files), D ----------
new_repo "$REPO"
mkdir -p "$F/etc/app" "$F/srv/www"
echo "issue from Git" >"$F/etc/issue"
echo "motd A" >"$F/etc/motd"
for i in 1 2 3 4 5; do echo "app $i A" >"$F/etc/app/$i.conf"; done
for i in $(seq 1 10); do echo "page $i" >"$F/srv/www/$i.html"; done
printf '#!/bin/sh\necho tool\n' >"$F/srv/www/tool.sh" && chmod 755 "$F/srv/www/tool.sh"
ln -s app/1.conf "$F/etc/app.link"
commit_all "$REPO" A
A=$(git -C "$REPO" rev-parse HEAD)
printf '[[check]]\nname = "fails"\nexec = ["false"]\nperiod = "100ms"\ntimeout = "1s"\nfailure_threshold = 1\n' >"$H/fjord.toml"
echo "motd X" >"$F/etc/motd"
commit_all "$REPO" "X: its check fails"
X=$(git -C "$REPO" rev-parse HEAD)
rm "$H/fjord.toml"
echo "motd B" >"$F/etc/motd"; echo "app 1 B" >"$F/etc/app/1.conf"; echo "new in B" >"$F/etc/app/6.conf"
commit_all "$REPO" B
B=$(git -C "$REPO" rev-parse HEAD)
for d in 1 2 3; do mkdir -p "$F/srv/bulk/$d"; for i in $(seq 1 10); do echo "bulk $d/$i" >"$F/srv/bulk/$d/$i"; done; done
for i in 1 2 3 4 5; do echo "app $i C" >"$F/etc/app/$i.conf"; done
commit_all "$REPO" C
C=$(git -C "$REPO" rev-parse HEAD)
git -C "$REPO" checkout -q "$B" -- hosts/web1 && rm -rf "$F/srv/bulk"
git -C "$REPO" rm -q "$F/srv/www/9.html" "$F/srv/www/10.html"
echo "motd D" >"$F/etc/motd"; echo "app 2 D" >"$F/etc/app/2.conf"; echo "marker D" >"$F/etc/marker"
commit_all "$REPO" D
D=$(git -C "$REPO" rev-parse HEAD)
branch() { git -C "$REPO" update-ref refs/heads/main "$1"; }
maxgen() { ls "$STATE/generations" 2>/dev/null | grep -oE '^[0-9]+' | sort -n | tail -1; }

# The host before fjord: /etc/issue (adopted by A) and a file fjord never manages.
HOST0=$M/host0
mkdir -p "$HOST0/etc" "$HOST0/var/unmanaged"
echo "the host's own issue" >"$HOST0/etc/issue"
echo "not fjord's" >"$HOST0/var/unmanaged/data.txt"
ORIG_ID=$(git hash-object "$HOST0/etc/issue")
cp -a "$HOST0" "$ROOT"

# One perl process does a case's checks (python's start-up alone costs most of a second on two
# busy cores; git needs perl, so it is there):
#   fp DIR: the tree's fingerprint: kind, mode (not for folders: tar does not give fjord's),
#     path, link target, and every file's sha1;
#   check ROOT WANT CANARY CANARY_WANT GENFILES ORIG_ID ADOPTION(0|1) [EXTRA_OK]: the root's fingerprint
#     is WANT's (EXTRA_OK=1: paths WANT lacks are allowed), no fjord temp file (*fjord-tmp*) under it, the canary
#     unchanged, and (ADOPTION=1) the generation's files text GENFILES (gen_files) keeps /etc/issue adopted with
#     the original ORIG_ID and adopts nothing else;
#   flip STATE SEED TRIAL: flips 1-8 random bits in each of 1-3 random files of STATE; prints
#     their paths, |-separated.
cat >"$T/fp.pl" <<'PL'
use strict; use warnings; use File::Find; use Digest::SHA qw(sha1_hex);
sub slurp { my ($p) = @_; open(my $f, '<:raw', $p) or return ''; local $/; my $d = <$f>; close $f; return defined $d ? $d : ''; }
sub fp {
    my ($d) = @_; my @out;
    find({ no_chdir => 1, wanted => sub {
        my $p = $File::Find::name; return if $p eq $d;
        my $rel = "." . substr($p, length $d); my @st = lstat $p;
        if (-l _) { push @out, sprintf("l %o %s %s", $st[2] & 07777, $rel, readlink $p) }
        elsif (-d _) { push @out, "d - $rel" }
        else { push @out, sprintf("f %o %s %s", $st[2] & 07777, $rel, sha1_hex(slurp($p))) }
    } }, $d);
    return join("\n", sort @out);
}
my $cmd = shift @ARGV;
if ($cmd eq 'fp') { print fp($ARGV[0]); exit 0 }
if ($cmd eq 'flip') {
    my ($state, $seed, $trial) = @ARGV; srand($seed * 100003 + $trial); my @files;
    find({ no_chdir => 1, wanted => sub { push @files, $File::Find::name if -f $File::Find::name && !-l $File::Find::name && -s _ } }, $state);
    @files = sort @files; my @out;
    for (1 .. 1 + int(rand(3))) {
        last unless @files;
        my $p = splice(@files, int(rand(@files)), 1); my $d = slurp($p);
        for (1 .. 1 + int(rand(8))) { my $i = int(rand(length $d)); substr($d, $i, 1) = chr(ord(substr($d, $i, 1)) ^ (1 << int(rand(8)))) }
        open(my $f, '>:raw', $p) or die "$p: $!"; print $f $d; close $f;
        push @out, substr($p, length($state) + 1);
    }
    print join('|', @out); exit 0;
}
my ($root, $want, $canary, $canary_want, $genfiles, $orig, $adoption, $extra_ok) = @ARGV;
my @got = split /\n/, fp($root); my @exp = split /\n/, slurp($want);
my %g = map { $_ => 1 } @got; my %e = map { $_ => 1 } @exp;
# A path of D's, kind, mode or content otherwise, shows as "-": never allowed.
my %wanted = map { (split / /)[2] => 1 } @exp;
my @d = ((map { "- $_" } grep { !$g{$_} } @exp), (map { "+ $_" } grep { !$e{$_} && !($extra_ok && !$wanted{(split / /)[2]}) } @got));
if (@d) { my $n = $ENV{DIFFN} || 4; $n = @d if $n > @d; print "the root is not D (- missing, + extra): ", join('; ', @d[0 .. $n - 1]); exit 1 }
if (my @t = grep { /fjord-tmp/ } @got) { print "a temp file is left under the root: $t[0]"; exit 1 }
if (fp($canary) ne slurp($canary_want)) { print "the canary next to the root changed"; exit 1 }
if ($adoption) {
    my @lines = map { [split / /] } split /\n/, slurp($genfiles);
    my ($issue) = grep { @$_ > 7 && $_->[0] eq 'f' && $_->[1] eq '/etc/issue' } @lines;
    if (!$issue || index($issue->[7], "f,$orig,") != 0) { print "the generation lost the adopted original of /etc/issue: ", ($issue ? join(' ', @$issue) : 'no entry'); exit 1 }
    my @adopted = map { $_->[1] } grep { (@$_ > 7 && $_->[0] eq 'f' && $_->[1] ne '/etc/issue' && $_->[7] ne '-') || (@$_ > 5 && $_->[0] eq 'l' && $_->[5] ne '-') } @lines;
    if (@adopted) { print "the generation adopted files fjord itself wrote: ", join(' ', @adopted[0 .. ($#adopted < 2 ? $#adopted : 2)]); exit 1 }
}
exit 0;
PL
fp() { perl "$T/fp.pl" fp "$1"; }
declare -A EXP
for c in B C D; do
  cp -a "$HOST0" "$M/exp$c"
  git -C "$REPO" archive "${!c}" hosts/web1/files | (umask 022 && tar -x --no-same-permissions -C "$M/exp$c" --strip-components=3)
  EXP[$c]=$(fp "$M/exp$c")
  printf '%s' "${EXP[$c]}" >"$M/exp$c.fp"
done

printf '%s' "$(fp "$CANARY")" >"$M/canary.fp"
write_config "$CFG" "$REPO" "$ROOT" "$STATE" '[health]' 'timeout = "3s"' '[prerequisites]' 'mode = "off"'
sed -i 's|^\[apply\]$|[apply]\nmax_deletions = 1000|' "$CFG"

# ---- the good state at rest: generation 1 = A, 2 = X (rolled back, bad), 3 = B ----------------
setup_ok=1
for c in A X B; do
  branch "${!c}"
  "$FJORDD" --config "$CFG" --once >"$LOGS/setup-$c.log" 2>&1
  rc=$?
  if [ "$c" = X ]; then [ "$rc" != 0 ] || setup_ok=0; else [ "$rc" = 0 ] || setup_ok=0; fi
done
if [ "$setup_ok" = 1 ] && [ "$(cat "$STATE/current")" = 3 ] && [ -s "$STATE/bad" ] && [ "$(fp "$ROOT")" = "${EXP[B]}" ] &&
  gen_files "$STATE" 3 | has "^f /etc/issue .* f,$ORIG_ID,"; then
  pass "setup: A, X (rolled back, marked bad) and B applied; B adopted /etc/issue; the root is B"
else
  fail "setup" "current=$(cat "$STATE/current" 2>&1) $(tail -2 "$LOGS"/setup-*.log)"
  finish; exit 1
fi
cp -a "$ROOT" "$SNAP/rest-root" && cp -a "$STATE" "$SNAP/rest-state"
MAXGEN[rest]=$(maxgen)
echo "INFO state at rest: $(cd "$STATE" && find . -path ./repo -prune -o -type f -print | sort | tr '\n' ' ')"

# ---- the state mid-apply: B -> C, SIGKILL while the journal is there --------------------------
# restore rest|mid: that root and state; the branch at D (the next good commit); MAX0 = the
# highest generation number in that state.
restore() {
  rm -rf "$ROOT" "$STATE" && cp -a "$SNAP/$1-root" "$ROOT" && cp -a "$SNAP/$1-state" "$STATE"
  MAX0=${MAXGEN[$1]:-0}
  [ -n "$D" ] && branch "$D"
}
# The first kill that leaves the journal is kept; one that lands between the first and the
# last of C's new files is preferred (up to 30 tries).
mid_ok=0
for try in $(seq 1 30); do
  restore rest
  branch "$C"
  "$FJORDD" --config "$CFG" --once >"$LOGS/kill.log" 2>&1 &
  BGPID=$!
  while [ ! -e "$STATE/journal" ] && kill -0 "$BGPID" 2>/dev/null; do :; done
  [ $((try % 3)) = 0 ] && sleep 0.00$((try % 7))
  kill -9 "$BGPID" 2>/dev/null
  wait "$BGPID" 2>/dev/null
  BGPID=
  if [ -e "$STATE/journal" ] && [ "$(cat "$STATE/current")" = 3 ] && [ -d "$STATE/generations/4" ]; then
    n=$(find "$ROOT/srv/bulk" -type f 2>/dev/null | wc -l)
    if [ "$mid_ok" = 0 ] || { [ "$n" -gt 0 ] && [ "$n" -lt 30 ]; }; then
      mid_ok=1 written=$n
      rm -rf "$SNAP/mid-root" "$SNAP/mid-state" && cp -a "$ROOT" "$SNAP/mid-root" && cp -a "$STATE" "$SNAP/mid-state"
      [ "$n" -gt 0 ] && [ "$n" -lt 30 ] && break
    fi
  fi
done
if [ "$mid_ok" = 1 ]; then
  MAXGEN[mid]=$(ls "$SNAP/mid-state/generations" | grep -oE '^[0-9]+' | sort -n | tail -1)
  pass "setup: fjordd SIGKILLed mid-apply B -> C (journal there, current 3, pending generation 4; $written of C's 30 new files written)"
else
  fail "setup: SIGKILL mid-apply" "no try of 20 caught the journal"
fi

# ---- the faults --------------------------------------------------------------------------------
# inject ITEM FAULT: ITEM is a path under state.dir (a file or a folder). Returns 1 when the
# fault does not apply (deleting or truncating what is not there). A folder's fault hits
# every file in it.
inject() {
  local p=$STATE/$1 f
  if [[ $1 == *+copy ]]; then # both copies of a record: NAME and NAME.copy
    inject "${1%+copy}" "$2" && inject "${1%+copy}.copy" "$2"
    return
  fi
  case $2 in
    delete) [ -e "$p" ] || [ -L "$p" ] || return 1; rm -rf "$p" ;;
    truncate)
      [ -e "$p" ] || return 1
      find "$p" -type f -print0 | while IFS= read -r -d '' f; do truncate -s $(( $(stat -c %s "$f") / 2 )) "$f"; done ;;
    garbage)
      if [ -e "$p" ]; then
        find "$p" -type f -print0 | while IFS= read -r -d '' f; do
          local n; n=$(stat -c %s "$f"); [ "$n" -lt 16 ] && n=16
          head -c "$n" /dev/urandom >"$f.g" && chmod --reference="$f" "$f.g" 2>/dev/null; mv -f "$f.g" "$f"
        done
      else
        mkdir -p "$(dirname "$p")" && head -c 64 /dev/urandom >"$p"
      fi ;;
    rot2) # both copies (NAME, NAME.copy) flipped, each in other bytes: bit rot on both
      [ -f "$p" ] && [ -f "$p.copy" ] || return 1
      perl -e 'for my $i (0, 1) { my $f = $ARGV[$i]; open(my $h, "+<:raw", $f) or die; my $n = -s $f;
        for my $at (int($n * (1 + $i) / 3), int($n * (1 + $i) / 3) + 7) { seek($h, $at, 0); read($h, my $c, 1); seek($h, $at, 0); print $h chr(ord($c) ^ 4) } close $h }' "$p" "$p.copy" ;;
    set:*) # a plausible value: the number of another generation (a flipped digit)
      [ -f "$p" ] || return 1; echo "${2#set:}" >"$p" ;;
  esac
  return 0
}
ctl() { "$FJORDCTL" --config "$CFG" "$@"; }
OUTCOMES=()

# judge NAME NAMES: after a fault, with the good commit D waiting. Run 1 must exit 0 with the
# root = D, or refuse naming one of NAMES (|-separated) and fjordctl repair; then `fjordctl
# repair` changes nothing, `fjordctl repair --yes` repairs, and run 2 must exit 0 with the
# root = D. Sets JUDGED (recovered | refused | paused) and returns 1 on a failure (PROBLEM).
judge() {
  local name=$1 names=$2 rc log=$LOGS/run1.log afresh=0 nm named=0 s0 cur out
  PROBLEM= JUDGED=
  "$FJORDD" --config "$CFG" --once >"$log" 2>&1
  rc=$?
  IFS='|' read -ra nms <<<"$names"
  for nm in "${nms[@]}"; do grep -aqF -- "$nm" "$log" && named=1; done
  if [ "$rc" = 0 ]; then
    JUDGED=recovered
  elif grep -aq "fjordctl repair" "$log" && [ "$named" = 1 ]; then
    JUDGED=refused
    s0=$(cd "$STATE" && find . -path ./repo -prune -o -path ./lock -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha1sum)
    ctl repair >"$LOGS/repair-dry.log" 2>&1
    rc=$?
    [ "$rc" = 1 ] && grep -q "repair would" "$LOGS/repair-dry.log" || { PROBLEM="fjordctl repair (no --yes) exit $rc: $(head -3 "$LOGS/repair-dry.log" | tr '\n' ' ')"; return 1; }
    [ "$s0" = "$(cd "$STATE" && find . -path ./repo -prune -o -path ./lock -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha1sum)" ] ||
      { PROBLEM="fjordctl repair without --yes changed the state dir"; return 1; }
    ctl repair --yes >"$LOGS/repair.log" 2>&1 || { PROBLEM="fjordctl repair --yes failed: $(tail -2 "$LOGS/repair.log" | tr '\n' ' ')"; return 1; }
    grep -q "afresh" "$LOGS/repair.log" && afresh=1
  elif [ "$LOST" = 1 ]; then
    PROBLEM="run 1 exit $rc: a record lost in both copies, and fjordd did not refuse naming ${names//|/ or } and fjordctl repair: $(grep -avE 'prerequisites' "$log" | tail -3 | tr '\n' ' ')"
    return 1
  elif grep -aqE "pinned to generation|suspended|halted" "$log" && [[ $name == *pinned* ]]; then
    JUDGED=paused
    ctl resume >/dev/null 2>&1
  else
    PROBLEM="run 1 exit $rc: neither recovered nor refused naming ${names//|/ or } and fjordctl repair: $(grep -avE 'prerequisites' "$log" | tail -3 | tr '\n' ' ')"
    return 1
  fi
  if [ "$JUDGED" != recovered ]; then
    "$FJORDD" --config "$CFG" --once >"$LOGS/run2.log" 2>&1
    rc=$?
    [ "$rc" = 0 ] || { PROBLEM="$JUDGED, then the good commit D did not apply: exit $rc: $(grep -avE 'prerequisites' "$LOGS/run2.log" | tail -3 | tr '\n' ' ')"; return 1; }
  fi
  read -r cur <"$STATE/current" 2>/dev/null
  [ "${cur:-0}" -gt "$MAX0" ] 2>/dev/null || { PROBLEM="$JUDGED; D applied as generation $cur, not above $MAX0 (numbers must only grow)"; return 1; }
  [ ! -e "$STATE/journal" ] || { PROBLEM="$JUDGED; a journal is left after D"; return 1; }
  gen_files "$STATE" "$cur" >"$M/genfiles"
  [ "$LOST" = 1 ] && afresh=1
  out=$(perl "$T/fp.pl" check "$ROOT" "$M/expD.fp" "$CANARY" "$M/canary.fp" "$M/genfiles" "$ORIG_ID" $((1 - afresh)) "$LOST") ||
    { PROBLEM="$JUDGED; $out"; return 1; }
  return 0
}

LOST=0
scenario() { # SNAPNAME ITEM FAULT
  local name="$1: $2 ${3}"
  [ "$LOST" = 1 ] && name="$name (record lost)"
  [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]] && return 0
  SNAPNAME=$1
  restore "$1"
  inject "$2" "$3" || return 0
  if judge "$name" "${2%+copy}|$STATE/${2%+copy}"; then
    pass "$name: $JUDGED, then D applies"
  else
    fail "$name" "$PROBLEM"
  fi
  OUTCOMES+=("$JUDGED")
  [ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$LOGS/run1.log" | grep -v prerequisites
  return 0
}

# The chunks of the generations' files records (STATE/chunks/ID, twice): the one holding the
# adopted /etc/issue in generation 3 and the path chunks of 1 and 2 (each its own: A, X and B
# differ), and the meta chunk of 2 (its failing check); of the pending 4 mid-apply, below.
chunk() { local c; c=$(gen_chunk "$1" "$2" "$3") && echo "chunks/${c##*/}"; }
C3=$(chunk "$STATE" 3 '^f /etc/issue ') C1=$(chunk "$STATE" 1 '^f /etc/motd ') C2=$(chunk "$STATE" 2 '^f /etc/motd ')
K2=$(chunk "$STATE" 2 '^k ')
[ -n "$C3" ] && [ -n "$C1" ] && [ -n "$C2" ] && [ -n "$K2" ] && [ "$C3" != "$C1" ] && [ "$C1" != "$C2" ] &&
  pass "setup: generations 1, 2 and 3 keep their files in chunks of their own ($C1 $C2 $C3, the check in $K2)" ||
  fail "setup: chunks" "C1=$C1 C2=$C2 C3=$C3 K2=$K2: $(ls "$STATE/chunks" | head -5 | tr '\n' ' ')"
ITEMS="current journal statcache status.json bad attempts pinned root images render_deaths prereq.json lock
generations/3/info generations/3/files generations/1/info generations/1/files
generations/2/info generations/2/files $C3 $C3.copy $C1 $C1+copy $C2.copy $C2+copy $K2 $K2+copy
objects objects/${ORIG_ID:0:2}/${ORIG_ID:2} repo repo/objects/pack repo/HEAD repo/refs repo/config age/identity"
LOST_ITEMS="chunks $C3+copy generations/3/files+copy"
for item in $ITEMS; do for fault in delete truncate garbage; do scenario rest "$item" "$fault"; done; done
# `current` naming another generation that exists: the older good one, the rolled-back one.
for fault in set:0 set:1 set:2; do scenario rest current "$fault"; done
LOST=1
for item in $LOST_ITEMS; do for fault in delete truncate garbage; do scenario rest "$item" "$fault"; done; done
LOST=0
# Both copies of a record rotted in other bytes: fjord mends them from each other, by itself.
for item in generations/3/files generations/3/info generations/2/files $C3 $K2; do
  scenario rest "$item" rot2
  [ -n "${ONLY:-}" ] && ! [[ "rest: $item rot2" =~ $ONLY ]] && continue
  [ "${OUTCOMES[-1]:-}" = recovered ] || fail "rest: $item rot2: mended by itself" "judged ${OUTCOMES[-1]:-nothing}, not recovered"
done
if [ "$mid_ok" = 1 ]; then
  C4=$(chunk "$SNAP/mid-state" 4 '^f /srv/bulk/')
  [ -n "$C4" ] || fail "setup: the pending generation's chunks" "no chunk of generation 4 holds /srv/bulk/"
  for item in $ITEMS generations/4/info generations/4/files $C4 $C4.copy; do
    for fault in delete truncate garbage; do scenario mid "$item" "$fault"; done
  done
  # Mid-apply, `current` naming the older good generation, the rolled-back one or the pending
  # one (random trials found the first: recovery went back to 3 while fjord went on from 1).
  for fault in set:0 set:1 set:2 set:4; do scenario mid current "$fault"; done
  LOST=1
  for item in $LOST_ITEMS $C4+copy generations/4/files+copy; do
    for fault in delete truncate garbage; do scenario mid "$item" "$fault"; done
  done
  LOST=0
fi
r=0 f=0 p=0
for o in "${OUTCOMES[@]}"; do case $o in recovered) r=$((r + 1)) ;; refused) f=$((f + 1)) ;; paused) p=$((p + 1)) ;; esac; done
echo "INFO fixed faults: ${#OUTCOMES[@]} cases: $r recovered by themselves, $f refused naming the file (fjordctl repair), $p paused; $(( $(date +%s) - T0 )) s so far"

# ---- the random part --------------------------------------------------------------------------
[ -n "${ONLY:-}" ] && TRIALS=0
bad_trials=0 shown=0
declare -A rnd badfiles
for trial in ${TRIAL_LIST:-$(seq 1 "$TRIALS")}; do
  snap=rest
  [ "$mid_ok" = 1 ] && [ $((trial % 2)) = 0 ] && snap=mid
  SNAPNAME=$snap
  restore "$snap"
  flipped=$(perl "$T/fp.pl" flip "$STATE" "$SEED" "$trial")
  # Both copies of one record flipped (NAME and NAME.copy), where the flips cannot be told apart
  # from the record, is a record lost in both copies: the LOST_ITEMS rule (what it knew fjord
  # wrote may stay, adopted) holds for the trial.
  LOST=0
  for nm in ${flipped//|/ }; do case "|$flipped|" in *"|$nm.copy|"*) LOST=1 ;; esac; done
  if [ -n "${VERBOSE:-}" ]; then
    for nm in ${flipped//|/ }; do
      case $nm in repo/objects/*|objects/*) continue ;; esac
      echo "  trial $trial: $nm: $(diff <(cat -v "$SNAP/$snap-state/$nm") <(cat -v "$STATE/$nm") | grep '^[<>]' | head -4 | cut -c1-200 | tr '\n' ' ')"
    done
  fi
  judge "random trial $trial" "$flipped"
  ok=$?
  LOST=0
  if [ "$ok" = 0 ]; then
    rnd[$JUDGED]=$(( ${rnd[$JUDGED]:-0} + 1 ))
    [ -n "${VERBOSE:-}" ] && echo "  trial $trial ($snap, flipped ${flipped//|/ }): $JUDGED"
  else
    bad_trials=$((bad_trials + 1))
    for nm in ${flipped//|/ }; do nm=${nm%%/*}; badfiles[$nm]=$(( ${badfiles[$nm]:-0} + 1 )); done
    shown=$((shown + 1))
    [ "$shown" -le "${SHOW:-5}" ] && echo "  trial $trial (seed $SEED, $snap, flipped ${flipped//|/ }): $PROBLEM"
  fi
done
if [ "$TRIALS" -gt 0 ]; then
  echo "INFO random: $TRIALS trials: ${rnd[recovered]:-0} recovered by themselves, ${rnd[refused]:-0} refused naming the file, ${rnd[paused]:-0} paused"
  [ "$bad_trials" = 0 ] || { echo -n "INFO the failing trials had flipped bytes in (first path part: trials):"; for nm in "${!badfiles[@]}"; do echo -n " $nm: ${badfiles[$nm]}"; done; echo; }
  [ "$bad_trials" = 0 ] && pass "random byte flips in state files: $TRIALS trials (seed $SEED) meet the rule" ||
    fail "random byte flips in state files" "$bad_trials of $TRIALS trials broke the rule (seed $SEED; SEED=$SEED repeats them)"
fi
echo "INFO $(( $(date +%s) - T0 )) s in all"
finish
