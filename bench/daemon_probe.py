#!/usr/bin/env python3
"""Measures a running fjordd's CPU per pass of one of its timers, for bench/run.sh.

  daemon_probe.py --dir STATE_DIR --pidfile FILE --ready FILE --skip S --count K --timeout SEC
                  [--log FILE --match TEXT]

Set up before fjordd starts (it touches --ready once its inotify watch is up; run.sh then starts
fjordd and writes its pid to --pidfile), it counts events:
  default      renames of STATE_DIR/status.json (fjordd writes status.json.tmp and renames it):
               fjordd saves its status at the end of every drift pass (once per pass at this
               revision: Recorder::record_drift), so with poll_interval 1h each is a drift pass;
  --log/--match  lines holding TEXT appended to FILE: a server's log line for each connection
               (git daemon --verbose: "Request upload-pack for", sshd: "Accepted publickey"), so
               each is one poll whatever fjordd saves per poll.
The first S events are skipped (start-up: the first poll, the first pass); then the CPU of fjordd
and its reaped children is read, K more events are waited for, and it is read again: the window
holds K whole cycles. Prints one line of key=value pairs:

  passes       events counted in the window (K, or fewer on timeout)
  window_s     wall time of the window
  cpu_s        utime+stime+cutime+cstime of fjordd (/proc/PID/stat, clock ticks) over the window
  self_s       utime+stime alone; children_s = cutime+cstime (the sandboxed children, reaped)
  sched_s      fjordd's own threads from /proc/PID/task/*/schedstat (ns resolution; cross-check of self_s)
  renames      renames of status.json in the window (whatever the events counted)
  renders      renders of a commit in the window (status.json's renders_total): 0 on the idle
               path; more when the host's facts changed (other jobs' network interfaces)
  start_* end_*  VmRSS RssAnon RssFile VmHWM (/proc/PID/status), private_dirty, private_clean
               and pss (/proc/PID/smaps_rollup), KiB, 0.3 s after the window's
               first and last event: fjordd renames status.json before it releases what the
               pass loaded, so memory read at the event would not be the idle daemon's
  status       ok | timeout | died
"""
import argparse
import ctypes
import json
import os
import select
import struct
import sys
import time

SETTLE = 0.3  # s after a pass's event: fjordd has released its memory (Engine::release_memory) by then
IN_MODIFY = 0x00000002
IN_MOVED_TO = 0x00000080
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()  # rest[0] is field 3 (state)
    ut, st, cut, cst = (int(x) for x in rest[11:15])
    return (ut + st) / TICK, (cut + cst) / TICK


def sched(pid: int) -> float:
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def memory(pid: int) -> dict:
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                v[k] = int(rest.split()[0])
    dirty = clean = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k == "Private_Dirty":
                    dirty = int(rest.split()[0])
                elif k == "Private_Clean":
                    clean = int(rest.split()[0])
                elif k == "Pss":
                    pss = int(rest.split()[0])
    except OSError:
        dirty = clean = pss = -1
    v["private_dirty"], v["private_clean"], v["pss"] = dirty, clean, pss
    return v


def renders(state_dir: str):
    """fjordd's count of renders so far (status.json), or None."""
    try:
        with open(os.path.join(state_dir, "status.json")) as f:
            return int(json.load(f).get("renders_total", 0))
    except (OSError, ValueError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--file", default="status.json")
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--skip", type=int, default=2)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--log")
    ap.add_argument("--match")
    a = ap.parse_args()
    if bool(a.log) != bool(a.match):
        ap.error("--log and --match go together")

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    dir_wd = libc.inotify_add_watch(fd, a.dir.encode(), IN_MOVED_TO)
    log_wd = libc.inotify_add_watch(fd, a.log.encode(), IN_MODIFY) if a.log else -2
    if fd < 0 or dir_wd < 0 or log_wd == -1:
        print(f"inotify on {a.dir} {a.log or ''}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    log = open(a.log, "rb") if a.log else None
    if log:
        log.seek(0, os.SEEK_END)
    tail = b""
    match = a.match.encode() if a.match else None
    open(a.ready, "w").close()
    deadline = time.monotonic() + a.timeout
    pid = 0
    buf = b""
    seen = 0
    want = a.skip + a.count
    start = None  # (t, cpu, sched)
    mem0 = None
    renders0 = None
    status = "ok"
    renames = 0
    while seen < want:
        if not pid:
            try:
                with open(a.pidfile) as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
        if pid and not os.path.exists(f"/proc/{pid}"):
            status = "died"
            break
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        wait = min(left, 0.25)
        if start and mem0 is None:
            settle = start[0] + SETTLE - time.monotonic()
            if settle <= 0:
                mem0 = memory(pid)
                continue
            wait = min(wait, settle)
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            continue
        buf += os.read(fd, 65536)
        while len(buf) >= 16:
            wd, mask, _cookie, n = struct.unpack_from("iIII", buf)
            if len(buf) < 16 + n:
                break
            name = buf[16:16 + n].rstrip(b"\0").decode(errors="replace")
            buf = buf[16 + n:]
            events = 0
            if wd == dir_wd and mask & IN_MOVED_TO and name == a.file:
                if start:
                    renames += 1
                if not log:
                    events = 1
            elif wd == log_wd and mask & IN_MODIFY:
                tail += log.read()
                lines = tail.split(b"\n")
                tail = lines.pop()
                events = sum(match in line for line in lines)
            for _ in range(events):
                if seen >= want:
                    break
                seen += 1
                if seen == a.skip and pid:
                    start = (time.monotonic(), cpu(pid), sched(pid))
                    renders0 = renders(a.dir)
        if seen >= a.skip and start is None and pid:
            start = (time.monotonic(), cpu(pid), sched(pid))
            renders0 = renders(a.dir)
    out = {"status": status, "passes": max(0, seen - a.skip) if start else 0, "renames": renames}
    if start and pid and os.path.exists(f"/proc/{pid}"):
        t1, (s1, c1), sc1 = time.monotonic(), cpu(pid), sched(pid)
        t0, (s0, c0), sc0 = start
        time.sleep(SETTLE)
        m1 = memory(pid)
        m0 = mem0 or m1
        out.update(window_s=f"{t1 - t0:.3f}", cpu_s=f"{s1 + c1 - s0 - c0:.3f}", self_s=f"{s1 - s0:.3f}",
                   children_s=f"{c1 - c0:.3f}", sched_s=f"{sc1 - sc0:.6f}")
        for k, v in m0.items():
            out["start_" + k] = v
        for k, v in m1.items():
            out["end_" + k] = v
    r1 = renders(a.dir)
    out["renders"] = r1 - renders0 if r1 is not None and renders0 is not None else "?"
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
