#!/bin/bash
# Host prerequisites (issue 6) against the real host: `fjordctl check` and the apply gate.
#   - virtualization: what the CPU says (CPUID leaf 0x40000000, asked by the test's own little
#     program), whatever /.dockerenv makes systemd-detect-virt say; machines of this kind are KVM
#     or bhyve guests, so the name and verdict expected come from the CPU, never a fixed one
#   - disks: a real loop device with an ext4 on it, its queue set to a scheduler this kernel
#     offers outside prerequisites.schedulers (bfq, kyber...; else mq-deadline against ["none"]),
#     to an allowed one, and rotational 1 / 0: fail with the udev rule, warn for a spinning disk,
#     pass; the remedy's one-off command really fixes it
#   - the apply gate: mode = block refuses `fjordd --once` (exit 1, the failing check named,
#     root untouched), mode = warn applies with a warning; the daemon holds applies back while a
#     check fails and applies by itself once it passes; `fjordctl status` shows it
#   - accuracy: fjord's fdatasync p50/p99 against fio's etcd test on the same folder
#   - bad input: a missing path, a tmpfs, an empty /sys (in a private mount namespace)
# Usage: prereq.sh BUILD_DIR   (needs root: losetup, mount, unshare; VERBOSE=1 shows fjordd's logs)
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$FJORDCTL" ] || { echo "no $FJORDCTL"; exit 2; }
export LC_ALL=C

LOOP= MNT= DAEMON_PID=
cleanup_all() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [ -n "$MNT" ] && mountpoint -q "$MNT" && { umount "$MNT" || umount -l "$MNT"; }
  [ -n "$LOOP" ] && losetup -d "$LOOP"
  rm -rf "$T"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# A case this machine cannot show at all: said, and counted neither as a pass nor a failure.
skip() { echo "SKIP $1: $2"; }

# jq-less JSON queries: py 'python expression over j' FILE
py() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$2"; }
# check_json CFG OUT [args]: fjordctl check --json; sets RC
check_json() { local cfg=$1 out=$2; shift 2; "$FJORDCTL" --config "$cfg" check --json "$@" >"$out" 2>"$out.err"; RC=$?; }
# row FILE CHECK SUBJECT FIELD: one field of one check's row
row() { py "[c for c in j['checks'] if c['check']=='$2' and c['subject']=='$3'][0]$4" "$1" 2>/dev/null; }

# --- virtualization, and the shape of --json ---------------------------------------------------
CFG0=$T/base.toml
printf '[state]\ndir = "%s/state0"\n[apply]\nroot = "%s/root0"\n[metrics]\ntextfile = ""\n' "$T" "$T" >"$CFG0"
check_json "$CFG0" "$T/fast.json" --fast
# The CPU asked directly, by code that is not fjord's: the hypervisor bit of leaf 1 and the id at
# 0x40000000 (and at 0x40000100 behind Hyper-V's, where KVM puts its own when it fronts as Hyper-V).
cat >"$T/cpuid.c" <<'EOF'
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
static void id(unsigned leaf, char out[13]) {
  unsigned a, b, c, d;
  __cpuid(leaf, a, b, c, d);
  memcpy(out, &b, 4), memcpy(out + 4, &c, 4), memcpy(out + 8, &d, 4), out[12] = 0;
}
int main(void) {
  unsigned a, b, c, d;
  char first[13], second[13] = "";
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 1;
  if (!(c >> 31 & 1)) return puts("none"), 0;
  id(0x40000000, first);
  if (!strcmp(first, "Microsoft Hv")) id(0x40000100, second);
  printf("%s\n%s\n", first, second);
  return 0;
}
EOF
virt_row() { py "[c for c in j['checks'] if c['check']=='virtualization'][0]$1" "$T/fast.json"; }
sdv=$(systemd-detect-virt --vm 2>/dev/null || true)
id= id2= asked=
case $(uname -m) in
  x86_64 | i?86)
    if cc -o "$T/cpuid" "$T/cpuid.c" 2>"$T/cpuid.err" && "$T/cpuid" >"$T/cpuid.out"; then
      id=$(sed -n 1p "$T/cpuid.out" | sed 's/ *$//') id2=$(sed -n 2p "$T/cpuid.out" | sed 's/ *$//') asked=CPUID
    else
      # No C compiler: systemd's own reading of the same leaf, by its names.
      asked="systemd-detect-virt --vm"
      case $sdv in
        none) id=none ;; kvm) id=KVMKVMKVM ;; bhyve) id="bhyve bhyve" ;; qemu) id=TCGTCGTCGTCG ;;
        vmware) id=VMwareVMware ;; xen) id=XenVMMXenVMM ;; oracle) id=VBoxVBoxVBox ;; microsoft) id="Microsoft Hv" ;;
        *) fail "virtualization" "cannot ask the CPU: $(head -1 "$T/cpuid.err"); systemd-detect-virt --vm says '${sdv:-nothing}'" ;;
      esac
    fi ;;
  *) skip "virtualization" "no CPUID on $(uname -m): nothing independent of fjord to compare with" ;;
esac
if [ -n "$id" ]; then
  # want: kind, name, evidence, status, as virt.cpp's tables and evaluate.cpp's verdicts have
  # them; "" is not compared.
  case "$id" in
    none)
      if [ -e /sys/class/dmi/id/sys_vendor ]; then want=("" "" "" "") # the firmware may name a hidden hypervisor
      else want=(none "bare metal" "no hypervisor bit in CPUID" pass); fi ;;
    KVMKVMKVM) want=(kvm KVM "CPUID KVMKVMKVM" pass) ;;
    "bhyve bhyve") want=(other bhyve "CPUID bhyve bhyve" warn) ;;
    TCGTCGTCGTCG) want=(tcg QEMU/TCG "CPUID TCGTCGTCGTCG" fail) ;;
    VMwareVMware) want=(other VMware "CPUID VMwareVMware" warn) ;;
    XenVMMXenVMM) want=(other Xen "CPUID XenVMMXenVMM" warn) ;;
    VBoxVBoxVBox) want=(other VirtualBox "CPUID VBoxVBoxVBox" warn) ;;
    "Microsoft Hv") # KVM may front as Hyper-V and put its own id at the next base
      if [ "$id2" = KVMKVMKVM ]; then want=(kvm KVM "CPUID KVMKVMKVM" pass)
      else want=(other Hyper-V "CPUID Microsoft Hv" warn); fi ;;
    *) want=(other "" "" warn) ;; # an id this test does not name: still a hypervisor, not KVM
  esac
  kind=$(virt_row "['data']['kind']") status=$(virt_row "['status']")
  name=$(virt_row "['data']['name']") evidence=$(virt_row "['data']['evidence']")
  bit=$(virt_row "['data']['hypervisor_bit']")
  "$FJORDCTL" --config "$CFG0" check --fast >"$T/fast.txt" 2>&1
  line=$(grep -E '^[a-z]+ +virtualization ' "$T/fast.txt")
  problems=()
  [ "$bit" = "$([ "$id" = none ] && echo False || echo True)" ] || problems+=("hypervisor_bit $bit")
  [ -z "${want[0]}" ] || [ "$kind" = "${want[0]}" ] || problems+=("kind $kind, want ${want[0]}")
  [ -z "${want[1]}" ] || [ "$name" = "${want[1]}" ] || problems+=("name '$name', want '${want[1]}'")
  [ -z "${want[2]}" ] || [ "$evidence" = "${want[2]}" ] || problems+=("evidence '$evidence', want '${want[2]}'")
  [ -z "${want[3]}" ] || [ "$status" = "${want[3]}" ] || problems+=("status $status, want ${want[3]}")
  [[ $line == "$status "*" $name ($evidence)"* ]] || problems+=("fjordctl check prints '$line'")
  if [ "$id" != none ] && [ "$asked" = CPUID ] && [ "$(virt_row "['data']['cpuid_signatures'][0]")" != "$id" ]; then
    problems+=("first CPUID id is not '$id'")
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    pass "virtualization: $asked: '$id'; fjord: $status $name ($evidence) (systemd-detect-virt --vm: '${sdv:-?}'$([ -e /.dockerenv ] && echo ', /.dockerenv present'))"
  else
    fail "virtualization" "$asked: '$id'${id2:+ then '$id2'}: $(printf '%s; ' "${problems[@]}")"
  fi
fi
shape=$(python3 - "$T/fast.json" "$RC" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); rc = int(sys.argv[2]); bad = []
if set(j) != {"status", "counts", "checks", "mode", "fast"}: bad.append("top keys %s" % sorted(j))
for c in j["checks"]:
    if set(c) != {"check", "subject", "status", "value", "threshold", "problem", "remedy", "data"}: bad.append("keys of %s" % c["check"])
    if c["status"] not in ("pass", "warn", "fail"): bad.append("status %s" % c["status"])
    if c["status"] != "pass" and not (c["problem"] and c["remedy"]): bad.append("%s: %s without problem/remedy" % (c["check"], c["status"]))
checks = [c["check"] for c in j["checks"]]
for want in ("virtualization", "disk", "memory", "disk_space"):
    if want not in checks: bad.append("no " + want)
if "fdatasync" in checks or "steal" in checks: bad.append("--fast measured slow checks")
worst = max((["pass", "warn", "fail"].index(c["status"]) for c in j["checks"]), default=0)
if j["status"] != ["pass", "warn", "fail"][worst]: bad.append("status is not the worst")
if rc != (1 if worst == 2 else 0): bad.append("exit %d with worst %d" % (rc, worst))
print("; ".join(bad))
EOF
)
[ -z "$shape" ] && pass "--json: documented keys, statuses and exit status" || fail "--json shape" "$shape"

# --- a loop device: scheduler and rotational ----------------------------------------------------
# Big enough that free space (>= 1 GiB) passes; sparse, so it costs little.
truncate -s 1536M "$T/disk.img"
if ! LOOP=$(losetup -f --show "$T/disk.img" 2>"$T/losetup.err"); then
  LOOP=
  fail "losetup" "$(cat "$T/losetup.err") (no loop device: the disk cases cannot run)"
  finish
  exit
fi
L=${LOOP#/dev/}
MNT=$T/mnt
mkdir -p "$MNT"
mkfs.ext4 -q -F "$LOOP" && mount "$LOOP" "$MNT" || fail "mkfs/mount" "$LOOP"
Q=/sys/block/$L/queue
# set_queue SCHEDULER ROTATIONAL: a write the kernel refuses is a failure of its own, said here,
# rather than a case that goes on to judge a queue other than the one it meant.
set_queue() {
  echo "$1" >"$Q/scheduler" 2>"$T/queue.err" && echo "$2" >"$Q/rotational" 2>>"$T/queue.err" ||
    fail "set /dev/$L's queue" "scheduler $1, rotational $2: $(cat "$T/queue.err") (offered: $(cat "$Q/scheduler"))"
}
# The wrong scheduler: one this kernel offers for the loop device but prerequisites.schedulers
# leaves out: bfq, else kyber or any other outside the default [none mq-deadline] (which ones
# this kernel has differs between machines of this kind); with none such, the allow-list is
# narrowed to ["none"] and mq-deadline is the wrong one. none is offered by every blk-mq queue and allowed in both
# lists; GOOD is the other allowed one where there is one, to show any allowed one passes.
offered=" $(tr -d '[]' <"$Q/scheduler" | xargs) "
BAD= SCHEDS= ALLOW="none mq-deadline" GOOD=mq-deadline
for s in bfq $offered; do
  case $s in none | mq-deadline) ;; *) [[ $offered == *" $s "* ]] && { BAD=$s; break; } ;; esac
done
if [ -z "$BAD" ] && [[ $offered == *" mq-deadline "* ]]; then
  BAD=mq-deadline SCHEDS='schedulers = ["none"]' ALLOW=none GOOD=none
fi
echo "INFO /dev/$L offers [$(echo $offered)], allowed [$ALLOW], wrong scheduler: ${BAD:-none to set}"
CFGL=$T/loop.toml
printf '[state]\ndir = "%s/state"\n[apply]\nroot = "%s/root"\n[metrics]\ntextfile = ""\n[prerequisites]\nprobe_size = "1MiB"\nsteal_window = "200ms"\n%s\n' \
  "$MNT" "$MNT" "$SCHEDS" >"$CFGL"

rule="ACTION==\"add|change\", KERNEL==\"$L\", ATTR{queue/scheduler}=\"none\""
if [ -z "$BAD" ]; then
  skip "wrong scheduler" "/dev/$L offers only [$(echo $offered)]: there is no second scheduler to set"
  skip "remedy command" "no wrong scheduler to fix"
else
  set_queue "$BAD" 1
  check_json "$CFGL" "$T/wrong.json" --fast
  "$FJORDCTL" --config "$CFGL" check --fast >"$T/wrong.txt" 2>&1
  if [ "$RC" = 1 ] && [ "$(row "$T/wrong.json" disk "/dev/$L" "['status']")" = fail ] &&
     grep -qE "^fail +disk /dev/$L +loop, scheduler $BAD, rotational" "$T/wrong.txt" &&
     grep -qF "scheduler $BAD not in [$ALLOW]" "$T/wrong.txt" &&
     grep -qF "$rule in /etc/udev/rules.d/60-fjord-scheduler.rules" "$T/wrong.txt"; then
    pass "wrong scheduler: $BAD on /dev/$L fails (exit 1) with the udev rule"
  else
    fail "wrong scheduler" "rc=$RC $(cat "$T/wrong.txt")"
  fi
  # The remedy's one-off part is a real command: run it, and the check passes the scheduler.
  oneoff=$(row "$T/wrong.json" disk "/dev/$L" "['remedy']" | sed -n 's/^\(echo [a-z-]* > \/sys\/block\/[a-z0-9]*\/queue\/scheduler\) now;.*/\1/p')
  if [ -n "$oneoff" ] && grep -qF "[$BAD]" "$Q/scheduler" && sh -c "$oneoff" && grep -q '\[none\]' "$Q/scheduler"; then
    pass "the remedy's command sets the scheduler: $oneoff"
  else
    fail "remedy command" "'$oneoff': $(cat "$Q/scheduler")"
  fi
fi

set_queue none 1
check_json "$CFGL" "$T/rot.json" --fast
if [ "$RC" = 0 ] && [ "$(row "$T/rot.json" disk "/dev/$L" "['status']")" = warn ] &&
   row "$T/rot.json" disk "/dev/$L" "['problem']" | has "rotational disk" &&
   row "$T/rot.json" disk "/dev/$L" "['remedy']" | has -F "KERNEL==\"$L\", ATTR{queue/rotational}=\"0\""; then
  pass "spinning disk: rotational=1 on /dev/$L warns (exit 0)"
else
  fail "spinning disk" "rc=$RC $(row "$T/rot.json" disk "/dev/$L" "")"
fi

set_queue none 0
check_json "$CFGL" "$T/ok.json" --fast
paths=$(row "$T/ok.json" disk "/dev/$L" "['data']['paths']")
if [ "$(row "$T/ok.json" disk "/dev/$L" "['status']")" = pass ] && [ "$paths" = "['$MNT/root', '$MNT/state']" ]; then
  pass "none + non-rotational passes; apply.root and state.dir (not created yet) are judged on /dev/$L"
else
  fail "good disk" "paths=$paths $(row "$T/ok.json" disk "/dev/$L" "")"
fi

# --- the apply gate: fjordd --once ----------------------------------------------------------------
# Every case here must see a failing check and then a passing one: without a wrong scheduler
# to set there is no failing check to gate on.
if [ -z "$BAD" ]; then
  for c in "warn applies" "logged once" "block refuses" "status" "daemon gate"; do skip "$c" "no wrong scheduler to set on /dev/$L"; done
else
  REPO=$T/repo
  new_repo "$REPO"
  mkdir -p "$REPO/hosts/web1/files/etc"
  echo "from git" >"$REPO/hosts/web1/files/etc/motd"
  commit_all "$REPO" first
  GATE=$T/gate.toml
  # Only the scheduler is under test here: this shared disk's fdatasync and steal must not decide.
  write_config "$GATE" "$REPO" "$MNT/root" "$MNT/state" '[prerequisites]' 'mode = "block"' 'probe_size = "1MiB"' 'steal_window = "200ms"' \
    'max_fdatasync_p99 = "10s"' 'max_steal = "100%"' "$SCHEDS"
  mkdir -p "$MNT/root"
  set_queue "$BAD" 0
  want="prerequisites: disk /dev/$L: scheduler $BAD not in [$ALLOW]; refusing to apply (prerequisites.mode = block)"
  sed -i 's/^mode = "block"/mode = "warn"/' "$GATE"
  "$FJORDD" --config "$GATE" --once >"$T/warn.out" 2>"$T/warn.err"
  rc=$?
  if [ "$rc" = 0 ] && [ "$(cat "$MNT/root/etc/motd" 2>/dev/null)" = "from git" ] &&
     grep -qF "prerequisites: disk /dev/$L: scheduler $BAD not in [$ALLOW]" "$T/warn.err" &&
     grep -qF "$rule in /etc/udev/rules.d/60-fjord-scheduler.rules" "$T/warn.err" && ! grep -qF "refusing" "$T/warn.err"; then
    pass "mode = warn: fjordd --once applies, with the warning and its remedy"
  else
    fail "warn applies" "rc=$rc $(cat "$T/warn.err")"
  fi
  echo "changed" >"$REPO/hosts/web1/files/etc/motd"
  commit_all "$REPO" changed
  "$FJORDD" --config "$GATE" --once >"$T/warn2.out" 2>"$T/warn2.err"
  if [ "$(cat "$MNT/root/etc/motd")" = changed ] && ! grep -qF "prerequisites:" "$T/warn2.err"; then
    pass "mode = warn: an unchanged result is not logged again"
  else
    fail "logged once" "$(cat "$T/warn2.err")"
  fi

  sed -i 's/^mode = "warn"/mode = "block"/' "$GATE"
  echo "second" >"$REPO/hosts/web1/files/etc/motd"
  commit_all "$REPO" second
  fp0=$(fingerprint "$MNT/root")
  cur0=$(cat "$MNT/state/current")
  "$FJORDD" --config "$GATE" --once >"$T/block.out" 2>"$T/block.err"
  rc=$?
  if [ "$rc" = 1 ] && grep -qF "$want" "$T/block.err" && [ "$(fingerprint "$MNT/root")" = "$fp0" ] &&
     [ "$(cat "$MNT/state/current")" = "$cur0" ]; then
    pass "mode = block: fjordd --once refuses (exit 1), names the check, root and current unchanged"
  else
    fail "block refuses" "rc=$rc $(cat "$T/block.err")"
  fi
  "$FJORDCTL" --config "$GATE" status >"$T/status.txt" 2>&1
  if grep -qF "last error:  $want" "$T/status.txt" && grep -qE "^prereqs: .*1 fail" "$T/status.txt" &&
     grep -qF "fail disk /dev/$L: scheduler $BAD" "$T/status.txt"; then
    pass "fjordctl status shows the refusal and the failing check"
  else
    fail "status" "$(cat "$T/status.txt")"
  fi

  # --- the daemon: holds applies back while a check fails, applies when it passes ------------------
  sed -i 's/^mode = "block"/mode = "block"\ncheck_interval = "1s"/' "$GATE"
  "$FJORDD" --config "$GATE" >"$T/daemon.log" 2>&1 &
  DAEMON_PID=$!
  refused=
  for _ in $(seq 1 100); do
    grep -qF "$want" "$T/daemon.log" && { refused=1; break; }
    sleep 0.1
  done
  motd=$(cat "$MNT/root/etc/motd")
  set_queue "$GOOD" 0
  applied=
  for _ in $(seq 1 100); do
    [ "$(cat "$MNT/root/etc/motd")" = second ] && { applied=1; break; }
    sleep 0.1
  done
  kill "$DAEMON_PID" && wait "$DAEMON_PID"
  DAEMON_PID=
  [ -n "${VERBOSE:-}" ] && sed 's/^/  | /' "$T/warn.err" "$T/block.err" "$T/daemon.log"
  if [ -n "$refused" ] && [ "$motd" = changed ] && [ -n "$applied" ] && grep -qF "passes again" "$T/daemon.log"; then
    pass "fjordd (block): refuses while $BAD is set, applies by itself once $GOOD passes"
  else
    fail "daemon gate" "refused=$refused motd=$motd applied=$applied; $(tail -5 "$T/daemon.log")"
  fi
fi

# --- bad input: a missing path, a tmpfs, no /sys ---------------------------------------------------
BAD=$T/bad.toml
printf '[state]\ndir = "%s/state0"\n[metrics]\ntextfile = ""\n[prerequisites]\npaths = ["%s/nope", "/dev/shm"]\nprobe_size = "100KiB"\nsteal_window = "100ms"\n' \
  "$T" "$T" >"$BAD"
check_json "$BAD" "$T/bad.json"
if [ "$RC" -le 1 ] && [ "$(row "$T/bad.json" disk "$T/nope" "['status']")" = warn ] &&
   row "$T/bad.json" disk "$T/nope" "['problem']" | has "No such file" &&
   [ "$(row "$T/bad.json" fdatasync "$T/nope" "['status']")" = warn ] &&
   [ "$(row "$T/bad.json" disk /dev/shm "['value']")" = "no block device" ] &&
   row "$T/bad.json" disk /dev/shm "['problem']" | has tmpfs; then
  pass "a missing path and a tmpfs are warns with the reason"
else
  fail "bad paths" "rc=$RC $(cat "$T/bad.json" "$T/bad.json.err" | head -40)"
fi
if unshare -m sh -c "mount -t tmpfs none /sys && exec '$FJORDCTL' --config '$CFG0' check --fast --json" >"$T/nosys.json" 2>&1; then rc=0; else rc=$?; fi
nosys=$(py "[(c['status'], c['problem']) for c in j['checks'] if c['check']=='disk'][0]" "$T/nosys.json" 2>&1)
if [ "$rc" = 0 ] && [[ $nosys == "('warn', "*"/dev/block/"*"No such file"* ]]; then
  pass "an empty /sys: the disk check warns with the reason ($nosys)"
else
  fail "no /sys" "rc=$rc $nosys"
fi

# --- accuracy: fjord's fdatasync probe against fio's etcd test --------------------------------------
if ! command -v fio >/dev/null; then
  fail "fio" "not installed (tests/deps.sh --test installs it)"
  finish
  exit
fi
D=$T/probe
mkdir -p "$D"
PCFG=$T/probe.toml
# compare SIZE: fio then fjord on $D; sets FIO/FJ (p50 p99 in ms) and OK when both are within 2x
compare() {
  fio --rw=write --ioengine=sync --fdatasync=1 --directory="$D" --size="$1"m --bs=2300 --name=etcd --output-format=json >"$T/fio.json" 2>/dev/null
  rm -f "$D"/etcd.*
  FIO=$(py "'%.3f %.3f' % tuple(j['jobs'][0]['sync']['lat_ns']['percentile'][k] / 1e6 for k in ('50.000000', '99.000000'))" "$T/fio.json")
  printf '[state]\ndir = "%s"\n[metrics]\ntextfile = ""\n[prerequisites]\nprobe_size = "%sMiB"\nsteal_window = "100ms"\n' "$D" "$1" >"$PCFG"
  check_json "$PCFG" "$T/fj.json"
  FJ=$(py "'%.3f %.3f' % tuple([c for c in j['checks'] if c['check']=='fdatasync'][0]['data'][k] for k in ('p50_ms', 'p99_ms'))" "$T/fj.json")
  WRITES=$(row "$T/fj.json" fdatasync "$D" "['data']['writes']")
  OK=$(python3 -c "
import sys; a = list(map(float, sys.argv[1].split())); b = list(map(float, sys.argv[2].split()))
print(all(0.5 <= y / x <= 2 for x, y in zip(a, b) if x > 0))" "$FIO" "$FJ")
  echo "INFO $1 MiB: fio p50/p99 $FIO ms, fjord p50/p99 $FJ ms ($WRITES writes)"
}
compare 22
# One pair on a shared disk can catch a burst of someone else's I/O; a probe that measured
# something else would miss in every pair, so up to four more pairs (4 MiB) may confirm (a p99
# of 1,800 writes is the 18th slowest: a neighbour's burst moves it, on either side).
tries=1
while [ "$OK" != True ] && [ $tries -lt 5 ]; do compare 4; tries=$((tries + 1)); done
if [ "$OK" = True ] && [ -z "$(ls -A "$D")" ]; then
  pass "fdatasync: fjord p50/p99 $FJ ms vs fio $FIO ms, within 2x (pair $tries); no probe file left"
else
  fail "fdatasync vs fio" "fjord $FJ ms, fio $FIO ms after $tries pairs; left: $(ls -A "$D")"
fi
[ "$(row "$T/fj.json" fdatasync "$D" "['data']['block_size']")" = 2300 ] && pass "the probe writes 2300-byte blocks" ||
  fail "block size" "$(row "$T/fj.json" fdatasync "$D" "['data']")"

finish
