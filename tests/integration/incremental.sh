#!/bin/bash
# Incremental equals from scratch: a seeded random history of 200 commits (adds, edits,
# deletes, renames of files and folders, modes and exec bits, owners and groups, [file]
# patterns, file <-> symlink and file <-> template <-> secret changes in one commit, file or
# symlink <-> folder over two, vars, includes and bundles, secrets changed or encrypted again,
# unit files and drop-ins) and host fact changes (an address on a veth: host.ipv4) is applied
# step by step to one root by fjordd --once; after every step that root must be the same tree
# (bytes, kinds, modes, uid:gid, symlink targets) as the same commit applied from scratch to a
# fresh root with a fresh state dir, and the two current generations must hold the same
# entries. The generator is incremental_gen.py, the comparison incremental_cmp.py.
#   FJORD_INCR_SEED=N     replays one history (default: a random seed, printed)
#   FJORD_INCR_COMMITS=N  its length (default 200)
#   FJORD_INCR_KEEP=DIR   on a failure, both sides, the repo and the logs are copied there
#   FJORD_INCR_ONE_COMMIT_FOLDERS=1  a file that becomes a folder (or back) does so in one
#                         commit, not over two. Off by default: today fjord refuses such a
#                         commit on a host that has the old kind (make_plan asks the host about
#                         a path below the file the same commit removes, and refuses to write a
#                         file where its own folder still stands), while from scratch it
#                         applies; FJORD_INCR_SEED=42 shows it at step 2.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
export GEN_FILES_PL # incremental_cmp.py reads generations as gen_files does
GEN=$here/incremental_gen.py CMP=$here/incremental_cmp.py

SEED=${FJORD_INCR_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
COMMITS=${FJORD_INCR_COMMITS:-200}
echo "seed $SEED, $COMMITS commits (replay: FJORD_INCR_SEED=$SEED bash tests/integration/incremental.sh BUILD)"

VETH=fji$$a
CMPD_PID=""
stop_all() {
  [ -n "$CMPD_PID" ] && kill "$CMPD_PID" 2>/dev/null && wait "$CMPD_PID" 2>/dev/null
  ip link del "$VETH" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

# The comparison (incremental_cmp.py), served by one python process for the whole run.
coproc CMPD { python3 "$CMP" serve 2>&1; }
compare_sides() { # ROOT_A STATE_A ROOT_B STATE_B SHA: its report in $T/diff; 0 same, 1 not, 3 facts moved
  local line
  : >"$T/diff"
  printf '%s\t%s\t%s\t%s\t%s\n' "$@" >&"${CMPD[1]}"
  while IFS= read -r line <&"${CMPD[0]}"; do
    case $line in "END "*) return "${line#END }" ;; esac
    printf '%s\n' "$line" >>"$T/diff"
  done
  echo "  the comparing process ended" >>"$T/diff"
  return 1
}

R=$T/repo; ID=$T/identity
# Both sides: prerequisites off (time), deletions unbounded (a random commit may drop many
# files), the same age identity (the secrets' HMACs in the generations depend on it).
# drift = "report": a root that does not match its generation fails the next --once.
INC_ROOT=$T/inc/root INC_STATE=$T/inc/state INC_CFG=$T/inc/fjord.toml S=$T/scratch
mkdir -p "$INC_ROOT"
write_config "$INC_CFG" "$R" "$INC_ROOT" "$INC_STATE" '[prerequisites]' 'mode = "off"' '[secrets]' "identity = \"$ID\""
sed -i -e 's|^path = "hosts/web1"|path = "hosts/h1"|' -e 's|^\[apply\]$|[apply]\nmax_deletions = 100000\ndrift = "report"|' "$INC_CFG"

# Owners need root; host facts change through a veth's address (root, and a kernel with veth).
gen_flags=()
[ -n "${FJORD_INCR_ONE_COMMIT_FOLDERS:-}" ] && gen_flags+=(--one-commit-folder-changes)
if [ "$(id -u)" != 0 ]; then
  gen_flags+=(--no-owners)
  echo "NOTE not root: no owner or group changes"
fi
if ip link add "$VETH" type veth peer name "fji$$b" 2>/dev/null; then
  gen_flags+=(--facts)
else
  echo "NOTE no veth pair here: no host fact changes (vars still change)"
fi

RCPT=$("$FJORDCTL" --config "$INC_CFG" identity recipient 2>"$T/id.err") || { fail "identity" "$(cat "$T/id.err")"; finish; exit; }
git init -q -b work "$R"
start=$(date +%s)
if python3 "$GEN" "$R" "$SEED" "$COMMITS" "$FJORDCTL" "$RCPT" "${gen_flags[@]}" >"$T/plan" 2>"$T/gen.err"; then
  pass "the generator made $COMMITS commits from seed $SEED ($(grep -c '^fact' "$T/plan") fact changes, $(($(date +%s) - start)) s)"
else
  fail "generator (seed $SEED)" "$(tail -5 "$T/gen.err")"
  finish; exit
fi

# One step: the incremental side follows main, moved forward to the commit; the other applies
# the commit's own branch (cNNNN) into a fresh root with a fresh state dir. Stops at the first
# difference: every later step would differ too.
# The fresh state dir starts with one thing: a copy of a Git cache that fjordd filled from the
# history's tip. Git objects are content-addressed, so this changes nothing fjord renders or
# applies; fetching the whole history again costs ~0.7 s of CPU a step, 2.5 minutes a run.
INC_TEXT=$(<"$INC_CFG")
side_config() { # BRANCH DIR: the incremental side's config for another branch, root and state
  local c=${INC_TEXT//"$T/inc/"/"$2/"}
  printf '%s\n' "${c/branch = \"main\"/branch = \"$1\"}"
}
mkdir -p "$T/seed/root" "$T/fresh/root" "$T/fresh/state"
chmod 0700 "$T/fresh/state"
side_config work "$T/seed" >"$T/seed/fjord.toml"
if "$FJORDD" --config "$T/seed/fjord.toml" --once >"$T/seed.log" 2>&1 && cp -a "$T/seed/state/repo" "$T/fresh/state/repo"; then
  pass "the history's tip applies; its Git cache is the from-scratch side's"
else
  fail "the history's tip applies (seed $SEED)" "$(tail -5 "$T/seed.log")"
fi
steps=0 bad=""
report() { # STEP COMMIT WHY MUTATIONS
  bad=$1
  fail "incremental equals from scratch (seed $SEED, step $1: commit $2)" "$3"
  echo "  commit's mutations: $4"
  echo "  replay: FJORD_INCR_SEED=$SEED bash tests/integration/incremental.sh BUILD"
  if [ -n "${FJORD_INCR_KEEP:-}" ]; then
    rm -rf "$FJORD_INCR_KEEP" && mkdir -p "$FJORD_INCR_KEEP" && cp -a "$T/inc" "$S" "$T/plan" "$T"/*.log "$R" "$FJORD_INCR_KEEP"/
    echo "  kept in $FJORD_INCR_KEEP: inc/ (root, state, config), scratch/, repo/, plan, the fjordd logs"
  fi
}
while read -r kind a b what; do
  case $kind in
    fact)
      if ip addr "$a" "$b/32" dev "$VETH"; then continue; fi
      report "$steps" "-" "ip addr $a $b failed" ""; break ;;
    apply | refacts) i=$a sha=$b ;;
    *) report "$steps" "-" "bad plan line: $kind $a $b" ""; break ;;
  esac
  steps=$((steps + 1))
  [ "$kind" = refacts ] && what="the same commit, host facts changed"
  printf -v branch c%04d "$i"
  # What `git update-ref refs/heads/main SHA` does (fast-import left no packed main), without
  # a git process: this loop runs 200 times.
  printf '%s\n' "$sha" >"$R/.git/refs/heads/main"
  # The two sides run side by side (2 cores). Up to 3 tries, only when they saw different host
  # facts: an address something else on this machine added or removed meanwhile.
  for try in 1 2 3; do
    "$FJORDD" --config "$INC_CFG" --once >"$T/inc.log" 2>&1 &
    inc_pid=$!
    rm -rf "$S" && cp -a "$T/fresh" "$S"
    side_config "$branch" "$S" >"$S/fjord.toml"
    "$FJORDD" --config "$S/fjord.toml" --once >"$T/scratch.log" 2>&1
    scratch_rc=$?
    wait "$inc_pid"
    inc_rc=$?
    if [ "$inc_rc" != 0 ] && [ "$scratch_rc" != 0 ]; then
      report "$steps" "$i" "both sides refused the commit (one the generator should not have made?): $(tail -3 "$T/scratch.log")" "$what"
      break 2
    elif [ "$inc_rc" != 0 ]; then
      report "$steps" "$i" "incremental fjordd --once failed, from scratch it applied: $(tail -5 "$T/inc.log")" "$what"; break 2
    elif [ "$scratch_rc" != 0 ]; then
      report "$steps" "$i" "from-scratch fjordd --once failed: $(tail -5 "$T/scratch.log")" "$what"; break 2
    fi
    compare_sides "$INC_ROOT" "$INC_STATE" "$S/root" "$S/state" "$sha"
    rc=$?
    [ "$rc" = 3 ] && [ "$try" != 3 ] && echo "NOTE step $steps: $(cat "$T/diff"); again" && continue
    break
  done
  if [ "$rc" != 0 ]; then
    report "$steps" "$i" "the roots or generations differ:
$(cat "$T/diff")" "$what"; break
  fi
done <"$T/plan"
total=$(grep -c -E '^(apply|refacts) ' "$T/plan")
if [ -z "$bad" ] && [ "$steps" = "$total" ]; then
  pass "all $steps steps: the incremental root and generation equal the from-scratch ones ($(($(date +%s) - start)) s)"
elif [ -z "$bad" ]; then
  fail "steps" "ran $steps of $total (seed $SEED)"
fi
gens=$(ls "$INC_STATE/generations" | wc -l)
[ -z "$bad" ] && [ "$gens" -gt 1 ] && pass "the incremental side kept $gens generations (it did change the host)" ||
  [ -n "$bad" ] || fail "generations" "only $gens"

# The incremental side took the partial-render path (only what changed rendered), not only the
# whole-render fallback: otherwise this suite would prove nothing about it.
partials=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("partial_renders_total", 0))' "$INC_STATE/status.json" 2>/dev/null || echo 0)
[ "${partials:-0}" -gt $((COMMITS / 4)) ] && pass "the incremental side rendered only what changed $partials times" ||
  fail "partial renders" "partial_renders_total $partials over $COMMITS commits"

# The comparison can fail: a planted difference of each kind in a copy of the last roots and
# states is reported, naming the path.
if [ -z "$bad" ]; then
  planted() { # NAME CHANGE-COMMAND... (run in the copy of the from-scratch root)
    local name=$1
    shift
    rm -rf "$T/neg" && cp -a "$S" "$T/neg"
    (cd "$T/neg/root" && "$@") 2>"$T/neg.err"
    if compare_sides "$INC_ROOT" "$INC_STATE" "$T/neg/root" "$T/neg/state" "$sha"; then
      fail "planted $name is found" "compare passed: $(cat "$T/neg.err")"
    elif has -F "$P" "$T/diff"; then
      pass "planted $name is found, named"
    else
      fail "planted $name is named" "$(cat "$T/diff")"
    fi
  }
  P=$(cd "$S/root" && find . -type f | sort | head -1 | cut -c2-)
  L=$(cd "$S/root" && find . -type l | sort | head -1 | cut -c2-)
  planted "content change" sh -c "echo x >>'.$P'"
  planted "mode change" chmod 0601 ".$P"
  [ "$(id -u)" = 0 ] && planted "owner change" chown 4242:4242 ".$P"
  [ -n "$L" ] && P=$L planted "symlink target change" sh -c "ln -sfn elsewhere '.$L'"
  P=/planted planted "extra file" touch planted
  gen=$(sed -n 's/^ *"generation": \([0-9]*\),$/\1/p' "$S/state/status.json")
  # A generation's record with one entry more, as a generation from before chunks holds it.
  { gen_files "$S/state" "$gen"; echo 'f /etc/x 0 0644 root root 0 - x'; } >"$T/planted-files"
  g=../state/generations/$gen # in the copy planted() makes
  P=" f /etc/x " planted "generation entry" sh -c "cp '$T/planted-files' '$g/files' && cp '$T/planted-files' '$g/files.copy'"
fi
finish
