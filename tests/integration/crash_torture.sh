#!/bin/bash
# Invariant 1 (DESIGN.md §7.1) under fire: a change of more than 2,000 files (replaced, new and
# deleted ones, a mode change, new folders, a removed folder, adopted host files) is applied by
# `fjordd --once`, which is killed with SIGKILL at a random instant, TRIALS times. After each kill
#   - `fjordd --recover` must leave apply.root byte-for-byte equal to the generation `current`
#     names: the last good one (A) or, when the kill came after the commit, the new one (B);
#     no journal, no temp file (*fjord-tmp*) anywhere under the root;
#   - the next `fjordd --once` must leave the root equal to B.
# Usage: crash_torture.sh BUILD_DIR   (env: TRIALS=100, SEED=<random>, VERBOSE=1)
#
# Root and state dir live on a tmpfs for speed. That does not weaken the test: a SIGKILL leaves
# the kernel's page cache intact, so what kill -9 can break is the order of operations (rename
# vs. journal vs. `current`), never durability; fsync only matters for power loss, which this
# test does not simulate.
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDD" ] || { echo "no $FJORDD"; exit 2; }

TRIALS=${TRIALS:-100}
SEED=${SEED:-$(( $(date +%s%N) % 1000000 ))}
RANDOM=$SEED
echo "INFO seed=$SEED trials=$TRIALS (rerun with SEED=$SEED to repeat the delays)"

M=$T/tmpfs
mkdir -p "$M"
MOUNTED=0
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=768m,mode=0755 fjord-crash "$M" 2>/dev/null; then
  MOUNTED=1
else
  echo "INFO no tmpfs (not root, or mount refused): running on $(df --output=fstype "$T" | tail -1), slower"
fi
BGPID=
cleanup_all() {
  [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
  cd /
  [ "$MOUNTED" = 1 ] && umount "$M"
  rm -rf "$T"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

REPO=$M/repo
ROOT=$M/root
STATE=$M/state
SNAP=$M/snap
CFG=$M/fjord.toml
LOGS=$T/logs
mkdir -p "$LOGS" "$SNAP"

# Fingerprint of a tree (lib.sh's, with a fixed sort order): every path with its kind, mode
# and link target, then a content hash of every file. Times are ignored.
fp() {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha1sum)
}
# The same without folder modes: compares with trees that tar extracted.
fp_content() { fp "$1" | sed -E 's/^d [0-7]+ /d - /' | LC_ALL=C sort; }

# ---------------------------------------------------------------------------------------------
# The repo. Commit A: 2,500 files in 100 folders under srv/app, a few bigger ones, an executable,
# a relative symlink, and two host files that exist before fjord (adopted by A).
# Commit B: 1,200 replaced, 512 new (12 in old folders, 500 in 20 new nested folders),
# 400 deleted (15 whole folders, which go too), a mode change by Git's executable bit and one by
# the manifest, the symlink retargeted, an adopted file dropped (its original comes back), a
# third host file adopted.
new_repo "$REPO"
F=$REPO/hosts/web1/files
gen_a() {
  local d i
  for d in $(seq -w 0 99); do
    mkdir -p "$F/srv/app/d0$d"
    for i in $(seq -w 0 24); do printf 'folder %s file %s\ncontent of A\n' "$d" "$i" >"$F/srv/app/d0$d/f$i.conf"; done
  done
  for d in $(seq 0 9); do yes "big file $d of A" | head -c $((64 * 1024 + d)) >"$F/srv/app/d00$d/f00.conf"; done
  printf '#!/bin/sh\necho run\n' >"$F/srv/app/d001/f01.conf" && chmod 755 "$F/srv/app/d001/f01.conf"
  ln -s d000 "$F/srv/app/current"
  mkdir -p "$F/etc/app"
  echo "motd from Git A" >"$F/etc/motd"
  echo "legacy from Git" >"$F/etc/app/legacy.conf"
  printf '[file."/srv/app/d002/f02.conf"]\nmode = "0640"\n' >"$REPO/hosts/web1/fjord.toml"
}
gen_b() {
  local d i
  for d in $(seq -w 0 47); do
    for i in $(seq -w 0 24); do printf 'folder %s file %s\ncontent of B, longer than A\n' "$d" "$i" >"$F/srv/app/d0$d/f$i.conf"; done
  done
  for d in $(seq 0 9); do yes "big file $d of B" | head -c $((96 * 1024 + d)) >"$F/srv/app/d00$d/f00.conf"; done
  for d in $(seq -w 48 59); do echo "new in $d" >"$F/srv/app/d0$d/f25.conf"; done
  for d in $(seq -w 60 84); do rm "$F/srv/app/d0$d/f24.conf"; done
  for d in $(seq -w 85 99); do rm -r "$F/srv/app/d0$d"; done
  for d in $(seq -w 0 19); do
    mkdir -p "$F/srv/app/d1$d/sub/deeper"
    for i in $(seq -w 0 9); do echo "new $d/$i" >"$F/srv/app/d1$d/f$i.conf"; done
    for i in $(seq -w 10 19); do echo "new $d/$i" >"$F/srv/app/d1$d/sub/f$i.conf"; done
    for i in $(seq -w 20 24); do echo "new $d/$i" >"$F/srv/app/d1$d/sub/deeper/f$i.conf"; done
  done
  chmod 644 "$F/srv/app/d001/f01.conf"                 # was 0755: Git's executable bit goes
  printf '#!/bin/sh\necho run\n' >"$F/srv/app/d051/f01.conf" && chmod 755 "$F/srv/app/d051/f01.conf"
  rm "$F/srv/app/current" && ln -s d100/sub "$F/srv/app/current"
  echo "motd from Git B" >"$F/etc/motd"
  rm "$F/etc/app/legacy.conf"                         # adopted by A: the original comes back
  echo "issue from Git B" >"$F/etc/issue"             # a host file B adopts
  printf '[file."/srv/app/d002/f02.conf"]\nmode = "0600"\n' >"$REPO/hosts/web1/fjord.toml"
}
t0=${EPOCHREALTIME/./}; t0=$((t0 / 1000))
gen_a
commit_all "$REPO" A
A=$(git -C "$REPO" rev-parse HEAD)
gen_b
commit_all "$REPO" B
B=$(git -C "$REPO" rev-parse HEAD)
git -C "$REPO" update-ref refs/heads/main "$A" # the branch points at A until the good state is built
CHANGED=$(git --no-pager -C "$REPO" diff --name-only --no-renames "$A" "$B" | wc -l)
echo "INFO commit A ${A:0:12}: $(git -C "$REPO" ls-tree -r "$A" | wc -l) files; B ${B:0:12}: $CHANGED paths differ from A"
[ "$CHANGED" -ge 2000 ] && pass "B changes $CHANGED paths (>= 2000)" || fail "B changes >= 2000 paths" "only $CHANGED"

# The host before fjord: files A adopts, one B adopts, and files fjord never manages.
HOST0=$M/host0
mkdir -p "$HOST0/etc/app" "$HOST0/var/lib/unmanaged" "$HOST0/srv/app/d050"
echo "original motd of the host" >"$HOST0/etc/motd"
echo "original legacy.conf of the host" >"$HOST0/etc/app/legacy.conf" && chmod 600 "$HOST0/etc/app/legacy.conf"
echo "original issue of the host" >"$HOST0/etc/issue"
echo "not fjord's" >"$HOST0/var/lib/unmanaged/data.txt"
echo "not fjord's either, in a folder fjord writes to" >"$HOST0/srv/app/d050/host-only.txt"
ln -s ../etc/motd "$HOST0/var/lib/unmanaged/link"
cp -a "$HOST0" "$ROOT"
# The guardrail must let B's 400 deletions through.
cat >"$CFG" <<CFGEOF
[source]
url = "$REPO"
branch = "main"
path = "hosts/web1"
[apply]
root = "$ROOT"
max_deletions = 1000
[state]
dir = "$STATE"
[metrics]
textfile = ""
CFGEOF

# Independent expectations: what the host must look like at A and at B, built with git archive
# from the commits (content only: tar does not give folders fjord's modes).
expect() { # COMMIT DIR
  cp -a "$HOST0" "$2"
  git -C "$REPO" archive "$1" hosts/web1/files | (umask 022 && tar -x --no-same-permissions -C "$2" --strip-components=3)
}
expect "$A" "$M/expA"
expect "$B" "$M/expB"
cp -a "$HOST0/etc/app/legacy.conf" "$M/expB/etc/app/legacy.conf"  # B dropped it: the original is back
chmod 644 "$M/expA/etc/app/legacy.conf"
chmod 640 "$M/expA/srv/app/d002/f02.conf"
chmod 600 "$M/expB/srv/app/d002/f02.conf"

# ---------------------------------------------------------------------------------------------
# The good state: A applied. Then a clean A -> B apply, timed, gives B's fingerprint.
if "$FJORDD" --config "$CFG" --once >"$LOGS/applyA.log" 2>&1; then
  pass "apply A"
else
  fail "apply A" "exit $?: $(tail -3 "$LOGS/applyA.log")"; finish; exit 1
fi
GEN_A=$(cat "$STATE/current")
FP_A=$(fp "$ROOT")
if [ "$(fp_content "$ROOT")" = "$(fp_content "$M/expA")" ]; then pass "A on the host matches commit A + the host's own files"
else fail "A matches commit A" "$(diff <(fp_content "$M/expA") <(fp_content "$ROOT") | head -10)"; fi
rm -rf "$SNAP" && mkdir "$SNAP" && cp -a "$ROOT" "$STATE" "$SNAP/"
git -C "$REPO" update-ref refs/heads/main "$B"

# Five timed clean runs, watched by nothing (a polling loop would steal a core and skew them):
# the run's wall time E; when the transaction began (J0: the new generation's manifest is saved
# just before the journal) and when it committed (J1: `current` is renamed into place), both
# read from the files' mtimes, in ms from the start.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
mtime_ms() { local t; t=$(stat -c %.3Y "$1") && echo "${t/./}"; }
restore_good() { rm -rf "$ROOT" "$STATE" && cp -a "$SNAP/root" "$SNAP/state" "$M/"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
j0s=() j1s=() es=()
for run in 1 2 3 4 5; do
  restore_good
  s=$(now_ms)
  "$FJORDD" --config "$CFG" --once >"$LOGS/applyB.log" 2>&1
  rc=$?
  e=$(( $(now_ms) - s ))
  [ "$rc" = 0 ] || break
  g=$(cat "$STATE/current")
  j0s+=($(( $(mtime_ms "$STATE/generations/$g/files") - s ))) j1s+=($(( $(mtime_ms "$STATE/current") - s ))) es+=("$e")
done
if [ "$rc" = 0 ]; then pass "clean apply A -> B ($(grep -o 'applied [^"]*' "$LOGS/applyB.log" | head -1))"
else fail "clean apply A -> B" "exit $rc: $(tail -3 "$LOGS/applyB.log")"; finish; exit 1; fi
GEN_B=$(cat "$STATE/current")
FP_B=$(fp "$ROOT")
if [ "$(fp_content "$ROOT")" = "$(fp_content "$M/expB")" ]; then pass "B on the host matches commit B + the host's own files (originals restored)"
else fail "B matches commit B" "$(diff <(fp_content "$M/expB") <(fp_content "$ROOT") | head -10)"; fi
[ "$GEN_A" != "$GEN_B" ] || fail "generations" "A and B are both generation $GEN_A"
J0=$(median "${j0s[@]}") J1=$(median "${j1s[@]}") E=$(median "${es[@]}")
echo "INFO generation A=$GEN_A B=$GEN_B; clean A -> B runs (ms): journal written at ${j0s[*]}, removed at ${j1s[*]}, exit at ${es[*]}"
echo "INFO setup $(( $(now_ms) - t0 )) ms"

# ---------------------------------------------------------------------------------------------
# The trials. The transaction proper (journal written .. journal removed) is a short part of a
# run: most of it goes to fetching, rendering and storing content first. So the kill instants
# come from two draws, alternately:
#   "run":  uniform in [0, D] ms after fjordd starts, D = 1.1 x the median run. Covers every
#           phase (start-up, fetch, object store, generation save, transaction, commit, exit).
#   "txn":  uniform in [0, W] ms after the journal appears, W = the median transaction at first.
#           Lands mid-transaction or just after the commit; W adapts as the trials go (below).
D_MS=${D_MS:-$(( E * 11 / 10 ))}
W_MS=${W_MS:-$(( J1 - J0 + 1 ))}
echo "INFO kill delays: odd trials uniform in [0, $D_MS] ms after start, even trials uniform in [0, $W_MS] ms after the journal appears"
declare -A cnt
bad_recover=0 bad_state=0 bad_root=0 bad_tmp=0 bad_next=0 shown=0 state_tmp=0
declare -A seen_gen
fail_detail() { # shown at most for the first 3 failing trials
  shown=$((shown + 1))
  [ "$shown" -le 3 ] || return 0
  echo "  trial $trial ($mode +$delay ms, $where): $1"
  [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2" | head -15
  return 0
}
restore_good() { rm -rf "$ROOT" "$STATE" && cp -a "$SNAP/root" "$SNAP/state" "$M/"; }
ts=$(date +%s)
for trial in $(seq 1 "$TRIALS"); do
  restore_good
  # A delay in [0, D] ms, with 1 ms resolution (RANDOM has 15 bits).
  r30=$(( RANDOM * 32768 + RANDOM ))
  "$FJORDD" --config "$CFG" --once >"$LOGS/kill.log" 2>&1 &
  BGPID=$!
  if [ $((trial % 2)) = 1 ]; then
    mode=run delay=$(( r30 % (D_MS + 1) ))
  else
    mode=txn delay=$(( r30 % (W_MS + 1) ))
    while [ ! -e "$STATE/journal" ] && kill -0 "$BGPID" 2>/dev/null; do :; done
  fi
  printf -v secs '%d.%03d' $((delay / 1000)) $((delay % 1000))
  sleep "$secs"
  kill -9 "$BGPID" 2>/dev/null
  wait "$BGPID" 2>/dev/null
  rc=$?
  BGPID=
  cur_after_kill=$(cat "$STATE/current" 2>/dev/null)
  if [ "$rc" != 137 ]; then key=done where="finished before the kill (exit $rc)"
  elif [ -e "$STATE/journal" ] && [ "$cur_after_kill" = "$GEN_B" ]; then key=committed where="after the commit, journal still there"
  elif [ -e "$STATE/journal" ]; then key=mid where="mid-transaction"
  elif [ "$cur_after_kill" = "$GEN_B" ]; then key=after where="after the commit"
  else key=before where="before the journal"; fi
  cnt[$mode,$key]=$(( ${cnt[$mode,$key]:-0} + 1 ))
  # W follows the commit instant as this machine's load moves it: a txn kill that came after the
  # commit pulls W in towards it, one near W that still hit the transaction pushes W out.
  if [ "$mode" = txn ]; then
    case $key in
      done | after | committed) [ "$delay" -lt "$W_MS" ] && W_MS=$(( (W_MS + delay) / 2 + 2 )) ;;
      mid) [ $((delay * 10)) -ge $((W_MS * 8)) ] && W_MS=$(( W_MS * 11 / 10 + 1 )) ;;
    esac
  fi
  [ -n "${VERBOSE:-}" ] && echo "  trial $trial: $mode +$delay ms, $where"

  # Recovery.
  if ! "$FJORDD" --config "$CFG" --recover >"$LOGS/recover.log" 2>&1; then
    bad_recover=$((bad_recover + 1))
    fail_detail "fjordd --recover failed" "$(cat "$LOGS/recover.log")"
    cp "$LOGS/recover.log" "$LOGS/recover-fail-$trial.log"
    continue
  fi
  cur=$(cat "$STATE/current" 2>/dev/null)
  seen_gen[$cur]=$(( ${seen_gen[$cur]:-0} + 1 ))
  if [ -e "$STATE/journal" ] || { [ "$cur" != "$GEN_A" ] && [ "$cur" != "$GEN_B" ]; }; then
    bad_state=$((bad_state + 1))
    fail_detail "after recovery current=$cur (want $GEN_A or $GEN_B), journal $( [ -e "$STATE/journal" ] && echo present || echo absent)"
  fi
  tmps=$(find "$ROOT" -name '*fjord-tmp*' | head -5)
  if [ -n "$tmps" ]; then bad_tmp=$((bad_tmp + 1)); fail_detail "temp files left under the root" "$tmps"; fi
  # Leftovers of the state dir's own tmp -> rename writes: reported, not a failure of §7.1.
  state_tmp=$(( state_tmp + $(find "$STATE" -name '*.tmp' | wc -l) ))
  want=$FP_A; [ "$cur" = "$GEN_B" ] && want=$FP_B
  got=$(fp "$ROOT")
  if [ "$got" != "$want" ]; then
    bad_root=$((bad_root + 1))
    fail_detail "root after recovery is not generation $cur's" "$(diff <(echo "$want") <(echo "$got"))"
  fi

  # The next run brings B.
  if ! "$FJORDD" --config "$CFG" --once >"$LOGS/next.log" 2>&1; then
    bad_next=$((bad_next + 1))
    fail_detail "the next fjordd --once failed" "$(tail -5 "$LOGS/next.log")"
    continue
  fi
  got=$(fp "$ROOT")
  if [ "$got" != "$FP_B" ] || [ -e "$STATE/journal" ] || [ -n "$(find "$ROOT" -name '*fjord-tmp*' | head -1)" ]; then
    bad_next=$((bad_next + 1))
    fail_detail "after the next run the root is not B (current=$(cat "$STATE/current"))" "$(diff <(echo "$FP_B") <(echo "$got"))"
  fi
done
te=$(($(date +%s) - ts))
c() { echo "${cnt[$1,$2]:-0}"; }
echo "INFO $TRIALS trials in $te s (W ended at $W_MS ms). Where the kills landed (journal present after the kill = mid-transaction):"
printf 'INFO   %-5s %8s %6s %10s %7s %9s\n' draw before mid committed after finished
for mode in run txn; do
  printf 'INFO   %-5s %8s %6s %10s %7s %9s\n' "$mode" "$(c $mode before)" "$(c $mode mid)" "$(c $mode committed)" "$(c $mode after)" "$(c $mode done)"
done
mid=$(( $(c run mid) + $(c txn mid) ))
gens=""; for g in "${!seen_gen[@]}"; do gens+=" gen$g=${seen_gen[$g]}"; done
echo "INFO current after recovery:$gens; stale *.tmp files in the state dir over all trials: $state_tmp"

[ "$bad_recover" = 0 ] && pass "fjordd --recover succeeds after every kill ($TRIALS trials)" || fail "recover" "$bad_recover of $TRIALS recoveries failed"
[ "$bad_state" = 0 ] && pass "after recovery: no journal, current is A's or B's generation ($TRIALS trials)" || fail "recovered state" "$bad_state of $TRIALS trials"
[ "$bad_root" = 0 ] && pass "after recovery the root equals the generation current names, byte for byte ($TRIALS trials)" || fail "recovered root" "$bad_root of $TRIALS trials differ"
[ "$bad_tmp" = 0 ] && pass "no temp file (*fjord-tmp*) left under the root ($TRIALS trials)" || fail "temp files" "$bad_tmp of $TRIALS trials left some"
[ "$bad_next" = 0 ] && pass "the next fjordd --once leaves the root equal to B ($TRIALS trials)" || fail "next run" "$bad_next of $TRIALS trials"
# The test proves something only if enough kills hit the transaction itself.
if [ $((mid * 100)) -ge $((TRIALS * 30)) ]; then pass "kills mid-transaction (journal present): $mid of $TRIALS (>= 30%)"
else fail "kills mid-transaction" "only $mid of $TRIALS hit the transaction (want >= 30%); tune W_MS (now $W_MS) / D_MS (now $D_MS)"; fi
finish
