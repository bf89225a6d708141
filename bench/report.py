#!/usr/bin/env python3
"""Turns bench/run.sh's raw measurements into the markdown report (stdout and --out).

raw TSV:    remote size scenario tool run wall_s cpu_s rss_kib time_e time_cpu rc
  tool: fjord | baseline (sum of the phases) | b_fetch | b_checkout | b_rsync | floor | ls-remote
  (scenario drift, tool floor: wall and CPU per pass from the floor's own clocks, run = passes)
daemon TSV: remote size phase passes window_s cpu_s self_s children_s sched_s status
idle TSV:   remote size what vmrss rssanon rssfile vmhwm private_dirty private_clean pss (KiB)
--env:      markdown lines about the machine and the run
"""
import argparse
import collections
import statistics

ONCE = ("initial", "no-change", "one-file", "one-percent", "no-change-warm")
LABEL = {"initial": "initial", "no-change": "no-change", "one-file": "one file changed",
         "one-percent": "1 % changed", "no-change-warm": "no-change, warm", "drift": "drift pass (daemon)",
         "idle-poll": "idle poll (daemon); baseline: `git ls-remote`"}
REMOTE = {"git": "git://", "ssh": "ssh://", "local": "local path"}
IDLE_STATES = (("drift_start", "after its first poll and drift pass"),
               ("drift_end", "after the drift passes"),
               ("idle_after_sync", "after applying one change (`fjordctl sync`)"),
               ("idle-poll_start", "poll daemon, after its first two polls"),
               ("idle-poll_end", "poll daemon, after the idle polls"))
TS = 10000   # the size of the issue's targets
BIG = 100000
RSS_MAX_MIB = 64
PRIVATE_MAX_MIB = 4
POLL_CPU_MS = {"git": 2, "ssh": 25}


def fmt_s(s):
    if s is None:
        return "—"
    if s < 0.001:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_mib(kib):
    return "—" if kib is None or kib < 0 else f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    if a is None or not b:
        return "—"
    r = a / b
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def verdict(ok):
    return "**MET**" if ok else "**MISSED**"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--idle", required=True)
    ap.add_argument("--env")
    ap.add_argument("--out")
    a = ap.parse_args()

    runs = collections.defaultdict(list)  # (remote, size, scenario, tool) -> [(wall, cpu, rss, run)]
    order = []
    with open(a.raw) as f:
        for line in f:
            rm, size, scen, tool, run, wall, cpu, rss, *_ = line.rstrip("\n").split("\t")
            if rm not in order:
                order.append(rm)
            runs[(rm, int(size), scen, tool)].append((float(wall), float(cpu), float(rss) if rss else None, int(run)))

    def median(xs):
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    med = {k: tuple(median(x[i] for x in v) for i in range(3)) for k, v in runs.items()}
    peak = {k: max((x[2] for x in v if x[2] is not None), default=None) for k, v in runs.items()}
    sizes = sorted({k[1] for k in runs})

    daemon = {}  # (remote, size, phase) -> dict
    with open(a.daemon) as f:
        for line in f:
            rm, size, phase, passes, window, cpu, self_s, children, sched, renames, renders, status = line.rstrip("\n").split("\t")
            daemon[(rm, int(size), phase)] = dict(passes=int(passes), window=float(window), cpu=float(cpu),
                                                   self=float(self_s), children=float(children),
                                                   sched=float(sched), renames=int(renames), renders=renders, status=status)
    idle = {}  # (remote, size, what) -> (vmrss, rssanon, rssfile, vmhwm, private_dirty, private_clean, pss)
    with open(a.idle) as f:
        for line in f:
            rm, size, what, *kib = line.rstrip("\n").split("\t")
            idle[(rm, int(size), what)] = tuple(float(k) if k else None for k in kib)

    def per_pass(rm, n, phase):
        d = daemon.get((rm, n, phase))
        return d["cpu"] / d["passes"] if d and d["passes"] else None

    out = []
    p = out.append
    p("# fjord benchmark (issue 18)")
    p("")
    p("`fjordd --once` against the obvious alternative, `git fetch` + `git checkout -f` + "
      "`rsync -a --delete --checksum --fsync` (the *baseline*), and against the *floor*, the least work that "
      "can tell a tree still matches what was applied: `bench/floor.c`, one `lstat()` per file against a "
      "manifest of size, mtime and mode. All in one run of `bench/run.sh`, on the same disk, over git:// "
      "(git daemon) and ssh:// (an own sshd), both on 127.0.0.1.")
    p("")
    if a.env:
        p("## Machine and run")
        p("")
        with open(a.env) as f:
            out.extend(line.rstrip("\n") for line in f)
        p("")

    p("## Results")
    p("")
    p("| remote | files | scenario | runs | fjord wall | fjord CPU | fjord peak RSS | baseline wall | baseline CPU | "
      "baseline peak RSS | wall fjord/baseline | CPU fjord/baseline | floor wall | floor CPU | wall fjord/floor | CPU fjord/floor |")
    p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rm in order:
        for n in sizes:
            for s in ONCE:
                fj, bl, fl = (med.get((rm, n, s, t)) for t in ("fjord", "baseline", "floor"))
                if not fj:
                    continue
                cells = [str(len(runs[(rm, n, s, "fjord")])), fmt_s(fj[0]), fmt_s(fj[1]), fmt_mib(fj[2])]
                cells += [fmt_s(bl[0]), fmt_s(bl[1]), fmt_mib(bl[2]), ratio(fj[0], bl[0]), ratio(fj[1], bl[1])] if bl else ["—"] * 5
                cells += [fmt_s(fl[0]), fmt_s(fl[1]), ratio(fj[0], fl[0]), ratio(fj[1], fl[1])] if fl else ["—"] * 4
                p(f"| {REMOTE.get(rm, rm)} | {n:,} | {LABEL[s]} | " + " | ".join(cells) + " |")
            c = per_pass(rm, n, "drift")
            if c is not None:
                fl = med.get((rm, n, "drift", "floor"))
                cells = [str(daemon[(rm, n, "drift")]["passes"]), "—", fmt_s(c), "—"] + ["—"] * 5
                cells += [fmt_s(fl[0]), fmt_s(fl[1]), "—", ratio(c, fl[1])] if fl else ["—"] * 4
                p(f"| {REMOTE.get(rm, rm)} | {n:,} | {LABEL['drift']} | " + " | ".join(cells) + " |")
            c = per_pass(rm, n, "idle-poll")
            if c is not None:
                bl = med.get((rm, n, "idle-poll", "ls-remote"))
                cells = [str(daemon[(rm, n, "idle-poll")]["passes"]), "—", fmt_s(c), "—"]
                cells += [fmt_s(bl[0]), fmt_s(bl[1]), fmt_mib(bl[2]), "—", ratio(c, bl[1])] if bl else ["—"] * 5
                cells += ["—"] * 4
                p(f"| {REMOTE.get(rm, rm)} | {n:,} | {LABEL['idle-poll']} | " + " | ".join(cells) + " |")
    p("")
    p("- Medians over the runs. *Wall*: the shell's clock around each command (µs), including what "
      "`/usr/bin/time` itself costs (see above); *CPU*: user+sys of the command's whole process tree (bash `times`, ms resolution); "
      "*peak RSS*: the largest process of the tree (GNU time `%M`). Baseline: wall and CPU summed over its "
      "three commands, RSS the largest of them. Each scenario alternates fjord, baseline (and floor) runs, "
      "with `sync` before each measured command.")
    p("- *1 % changed*: N/100 files rewritten in one commit. *no-change, warm*: no change again, after the "
      "updates. The floor runs as its own process in the no-change scenarios (and finds 0 differences).")
    p("- *drift pass*: fjordd as a daemon with `drift_interval = \"1s\"`, `poll_interval = \"1h\"`; *idle poll*: "
      "`poll_interval = \"1s\"`, nothing new in the repo. Both with `[prerequisites] mode = \"off\"` (the fdatasync "
      "probe at start would land in the window). Their CPU is per pass: utime+stime+cutime+cstime of fjordd "
      "(/proc/PID/stat: the sandboxed children, reaped, are in cutime/cstime) over the window, divided by the "
      "passes in it (`bench/daemon_probe.py`): drift passes counted from the renames of status.json that end "
      "each one, polls from the server's log line for each connection; the window opens after start-up. "
      "runs = passes. /proc's clock ticks "
      "are 10 ms, so the error per pass is at most 20 ms / passes. The drift pass's floor is the floor's own "
      "CPU and wall per pass (manifest read each pass), over twice as many passes in one process.")
    p("")

    p("## Targets (issue 18; informational)")
    p("")
    p("Ratios are wall-time ratios fjord/baseline (and fjord/floor); CPU ratios in parentheses.")
    p("")
    p("| at | target | measured | result |")
    p("|---|---|---|---|")

    def once_target(rm, n, s, limit, floor_limit=None):
        fj, bl, fl = (med.get((rm, n, s, t)) for t in ("fjord", "baseline", "floor"))
        if not fj or not bl:
            return None, "not measured"
        r = fj[0] / bl[0]
        text = f"{r:.3f}x baseline ({fj[1] / bl[1]:.2f}x CPU)" if bl[1] else f"{r:.3f}x baseline"
        ok = r <= limit
        if floor_limit is not None:
            if not fl:
                return None, text + "; floor not measured"
            rf = fj[0] / fl[0]
            text += f", {rf:.2f}x the floor ({fj[1] / fl[1]:.1f}x CPU)" if fl[1] else f", {rf:.2f}x the floor"
            ok = ok and rf <= floor_limit
        return ok, text

    def row(at, target, res):
        ok, text = res
        p(f"| {at} | {target} | {text} | {'not measured' if ok is None else verdict(ok)} |")

    for rm in order:
        R = REMOTE.get(rm, rm)
        row(f"{TS:,} files, no-change, {R}", "<= 0.2x baseline and <= 3x the floor", once_target(rm, TS, "no-change", 0.2, 3))
        row(f"{TS:,} files, one file changed, {R}", "<= 0.2x baseline", once_target(rm, TS, "one-file", 0.2))
        row(f"{TS:,} files, 1 % changed, {R}", "<= 0.3x baseline", once_target(rm, TS, "one-percent", 0.3))
        row(f"{TS:,} files, initial (every file fsynced), {R}", "<= 1.2x baseline", once_target(rm, TS, "initial", 1.2))
        nc, of = once_target(rm, BIG, "no-change", 0.2), once_target(rm, BIG, "one-file", 0.2)
        pk = [peak.get((rm, BIG, s, "fjord")) for s in ("no-change", "one-file")]
        if nc[0] is None or of[0] is None or None in pk:
            row(f"{BIG:,} files, no-change / one file, {R}", f"<= 0.2x baseline; peak RSS <= {RSS_MAX_MIB} MiB", (None, "not measured"))
        else:
            rss_ok = max(pk) / 1024 <= RSS_MAX_MIB
            row(f"{BIG:,} files, no-change / one file, {R}", f"<= 0.2x baseline; peak RSS <= {RSS_MAX_MIB} MiB",
                (nc[0] and of[0] and rss_ok, f"no-change {nc[1]}; one file {of[1]}; peak RSS {fmt_mib(pk[0])} / {fmt_mib(pk[1])}"))
        if rm in POLL_CPU_MS:
            c = [(n, per_pass(rm, n, "idle-poll")) for n in sizes if per_pass(rm, n, "idle-poll") is not None]
            if c:
                worst = max(x for _, x in c)
                row(f"idle poll, daemon, {R}", f"<= {POLL_CPU_MS[rm]} ms CPU",
                    (worst * 1000 <= POLL_CPU_MS[rm], ", ".join(f"{fmt_s(x)} at {n:,} files" for n, x in c)))
            else:
                row(f"idle poll, daemon, {R}", f"<= {POLL_CPU_MS[rm]} ms CPU", (None, "not measured"))
        states = [(idle[(rm, TS, w)][4], label) for w, label in IDLE_STATES if idle.get((rm, TS, w), (None,) * 7)[4] is not None]
        if states:
            worst = max(states)
            row(f"idle daemon, {TS:,} files, {R}", f"private RSS <= {PRIVATE_MAX_MIB} MiB",
                (worst[0] / 1024 <= PRIVATE_MAX_MIB, f"Private_Dirty {fmt_mib(worst[0])} at most ({worst[1]}); "
                 + ", ".join(f"{fmt_mib(v)}" for v, _ in states) + " in the states below"))
        else:
            row(f"idle daemon, {TS:,} files, {R}", f"private RSS <= {PRIVATE_MAX_MIB} MiB", (None, "not measured"))
    p("")

    p("## The daemon")
    p("")
    p("CPU per pass, split into fjordd's own (utime+stime; *sched* is the same from its threads' "
      "/proc/PID/task/*/schedstat, ns resolution) and its sandboxed children's (cutime+cstime), and the "
      "mean time between passes; and how many times fjordd saved status.json per pass (drift passes are "
      "counted by those saves, polls by the server's log line for each connection); and how many times it "
      "rendered a commit in the window (0 on the idle path; more when the host's facts changed under it):")
    p("")
    p("| remote | files | daemon | passes | CPU per pass | fjordd itself | sched | children | period | status.json saves per pass | renders |")
    p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rm in order:
        for n in sizes:
            for ph in ("drift", "idle-poll"):
                d = daemon.get((rm, n, ph))
                if not d or not d["passes"]:
                    continue
                k = d["passes"]
                p(f"| {REMOTE.get(rm, rm)} | {n:,} | {ph}{'' if d['status'] == 'ok' else ' (' + d['status'] + ')'} | {k} | "
                  f"{fmt_s(d['cpu'] / k)} | {fmt_s(d['self'] / k)} | {fmt_s(d['sched'] / k)} | "
                  f"{fmt_s(d['children'] / k)} | {fmt_s(d['window'] / k)} | {d['renames'] / k:.1f} | {d['renders']} |")
    p("")
    p("Memory of fjordd in daemon mode, from /proc/PID/status (VmRSS = RssAnon + RssFile + RssShmem; RssFile "
      "is mapped files: shared libraries, Git pack files; VmHWM is the peak so far) and /proc/PID/smaps_rollup "
      "(*private dirty* = Private_Dirty: heap, stack and written data, what the daemon alone costs the machine, "
      "the *private RSS* of the target; *private clean*: file pages no other process maps right now, e.g. "
      "libgit2's or libcrypto's text when no other process uses them, and the benchmark's copy of fjordd: it "
      "depends on what else runs; Pss). Read 0.3 s after a pass, once fjordd has released what it loaded:")
    p("")
    p("| remote | files | state | VmRSS | private dirty | private clean | RssAnon | RssFile | Pss | VmHWM |")
    p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for rm in order:
        for n in sizes:
            for w, label in IDLE_STATES:
                v = idle.get((rm, n, w))
                if v:
                    vm, anon, fil, hwm, dirty, clean, pss = v
                    p(f"| {REMOTE.get(rm, rm)} | {n:,} | {label} | " + " | ".join(fmt_mib(x) for x in (vm, dirty, clean, anon, fil, pss, hwm)) + " |")
    p("")

    p("## Baseline by phase")
    p("")
    p("Median wall / CPU:")
    p("")
    p("| remote | files | scenario | git fetch | git checkout -f | rsync |")
    p("|---|---:|---|---:|---:|---:|")
    for rm in order:
        for n in sizes:
            for s in ONCE:
                cells = []
                for t in ("b_fetch", "b_checkout", "b_rsync"):
                    m = med.get((rm, n, s, t))
                    cells.append(f"{fmt_s(m[0])} / {fmt_s(m[1])}" if m else "—")
                if any(c != "—" for c in cells):
                    p(f"| {REMOTE.get(rm, rm)} | {n:,} | {LABEL[s]} | " + " | ".join(cells) + " |")
    p("")

    p("## Spread of wall time over the runs (min - max)")
    p("")
    p("| remote | files | scenario | fjord | baseline | floor |")
    p("|---|---:|---|---:|---:|---:|")
    for rm in order:
        for n in sizes:
            for s in ONCE + ("idle-poll",):
                cells = []
                for t in ("fjord", "ls-remote" if s == "idle-poll" else "baseline", "floor"):
                    v = [x[0] for x in runs.get((rm, n, s, t), [])]
                    cells.append(f"{fmt_s(min(v))} - {fmt_s(max(v))}" if v else "—")
                if any(c != "—" for c in cells):
                    p(f"| {REMOTE.get(rm, rm)} | {n:,} | {LABEL[s] if s != 'idle-poll' else '`git ls-remote`'} | " + " | ".join(cells) + " |")

    text = "\n".join(out) + "\n"
    print(text, end="")
    if a.out:
        # bench/fleet/run.sh's "## Fleets" section (its own run) is kept, at the end.
        try:
            with open(a.out) as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        at = old.find("\n## Fleets")
        with open(a.out, "w") as f:
            f.write(text + (old[at:] if at >= 0 else ""))


if __name__ == "__main__":
    main()
