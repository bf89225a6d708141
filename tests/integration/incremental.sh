#!/bin/bash
# Incremental equals from scratch: a seeded random history of 200 commits (adds, edits,
# deletes, renames of files and folders, modes, owners, file <-> symlink <-> folder and
# file <-> template <-> secret changes, vars, includes and bundles, secrets encrypted again,
# unit files and drop-ins) and host fact changes (an address on a veth: host.ipv4) is applied
# step by step to one root by fjordd --once; after every step that root must be the same tree
# (bytes, kinds, modes, uid:gid, symlink targets) as the same commit applied from scratch to a
# fresh root with a fresh state dir, and the two current generations must hold the same
# entries. The generator and the comparison are incremental_gen.py.
#   FJORD_INCR_SEED=N     replays one history (default: a random seed, printed)
#   FJORD_INCR_COMMITS=N  its length (default 200)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
GEN=$here/incremental_gen.py

SEED=${FJORD_INCR_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
COMMITS=${FJORD_INCR_COMMITS:-200}
echo "seed $SEED, $COMMITS commits (replay: FJORD_INCR_SEED=$SEED bash tests/integration/incremental.sh BUILD)"

VETH=fji$$a
stop_all() {
  ip link del "$VETH" 2>/dev/null
  cleanup_dirs
}
trap stop_all EXIT

R=$T/repo; ID=$T/identity
# Both sides: prerequisites off (time), deletions unbounded (a random commit may drop many
# files), the same age identity (the secrets' HMACs in the generations depend on it).
config() { # FILE BRANCH ROOT STATE
  write_config "$1" "$R" "$3" "$4" '[prerequisites]' 'mode = "off"' '[secrets]' "identity = \"$ID\""
  sed -i -e "s|^branch = \"main\"|branch = \"$2\"|" -e 's|^path = "hosts/web1"|path = "hosts/h1"|' \
    -e 's|^\[apply\]$|[apply]\nmax_deletions = 100000\ndrift = "report"|' "$1"
}
INC_ROOT=$T/inc/root INC_STATE=$T/inc/state INC_CFG=$T/inc/fjord.toml
mkdir -p "$INC_ROOT"
config "$INC_CFG" main "$INC_ROOT" "$INC_STATE"

# Owners need root; host facts change through a veth's address (root, and a kernel with veth).
gen_flags=()
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
if python3 "$GEN" gen "$R" "$SEED" "$COMMITS" "$FJORDCTL" "$RCPT" "${gen_flags[@]}" >"$T/plan" 2>"$T/gen.err"; then
  pass "the generator made $COMMITS commits from seed $SEED ($(grep -c '^fact' "$T/plan") fact changes, $(($(date +%s) - start)) s)"
else
  fail "generator (seed $SEED)" "$(tail -5 "$T/gen.err")"
  finish; exit
fi

# One step: the incremental side follows main, moved forward to the commit; the other applies
# the commit's own branch (cNNNN) into a fresh root with a fresh state dir. Stops at the first
# difference: every later step would differ too.
steps=0 bad=""
report() { # STEP WHY
  bad=$1
  fail "incremental equals from scratch (seed $SEED, step $1: commit $2)" "$3"
  echo "  commit's mutations: $4"
  echo "  replay: FJORD_INCR_SEED=$SEED bash tests/integration/incremental.sh BUILD"
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
  git -C "$R" update-ref refs/heads/main "$sha"
  if ! "$FJORDD" --config "$INC_CFG" --once >"$T/inc.log" 2>&1; then
    report "$steps" "$i" "incremental fjordd --once failed: $(tail -5 "$T/inc.log")" "$what"; break
  fi
  S=$T/scratch
  rm -rf "$S" && mkdir -p "$S/root"
  config "$S/fjord.toml" "$(printf c%04d "$i")" "$S/root" "$S/state"
  if ! "$FJORDD" --config "$S/fjord.toml" --once >"$T/scratch.log" 2>&1; then
    report "$steps" "$i" "from-scratch fjordd --once failed: $(tail -5 "$T/scratch.log")" "$what"; break
  fi
  if ! python3 "$GEN" compare "$INC_ROOT" "$INC_STATE" "$S/root" "$S/state" "$sha" >"$T/diff" 2>&1; then
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

# The comparison can fail: a planted difference of each kind in a copy of the last roots and
# states is reported, naming the path.
if [ -z "$bad" ]; then
  planted() { # NAME CHANGE-COMMAND... (run in the copy of the from-scratch root)
    local name=$1
    shift
    rm -rf "$T/neg" && cp -a "$S" "$T/neg"
    (cd "$T/neg/root" && "$@") 2>"$T/neg.err"
    if python3 "$GEN" compare "$INC_ROOT" "$INC_STATE" "$T/neg/root" "$T/neg/state" "$sha" >"$T/neg.diff" 2>&1; then
      fail "planted $name is found" "compare passed: $(cat "$T/neg.err")"
    elif has -F "$P" "$T/neg.diff"; then
      pass "planted $name is found, named"
    else
      fail "planted $name is named" "$(cat "$T/neg.diff")"
    fi
  }
  P=$(cd "$S/root" && find . -type f | sort | head -1 | cut -c2-)
  L=$(cd "$S/root" && find . -type l | sort | head -1 | cut -c2-)
  planted "content change" sh -c "echo x >>'.$P'"
  planted "mode change" chmod 0601 ".$P"
  [ "$(id -u)" = 0 ] && planted "owner change" chown 4242:4242 ".$P"
  [ -n "$L" ] && P=$L planted "symlink target change" sh -c "ln -sfn elsewhere '.$L'"
  P=/planted planted "extra file" touch planted
  P=" f /etc/x " planted "generation entry" sh -c "f=../state/generations/\$(python3 -c 'import json;print(json.load(open(\"../state/status.json\"))[\"generation\"])')/files; echo 'f /etc/x 0 0644 root root 0 - x' >>\"\$f\""
fi
finish
