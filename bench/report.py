#!/usr/bin/env python3
"""Turns bench/run.sh's raw measurements into the markdown report (stdout and --out).

raw TSV columns: size scenario tool run wall_s cpu_s rss_kib time_e time_cpu rc
  tool: fjord | baseline (sum of the phases) | b_fetch | b_checkout | b_rsync
idle TSV columns: size what vmrss rssanon rssfile vmhwm (KiB; what: idle_after_first_poll | idle_after_sync)
"""
import argparse
import collections
import statistics

SCENARIOS = ("initial", "no-change", "one-file", "no-change-warm")
TARGETS = {"initial": 1.2, "no-change": 0.2, "one-file": 0.2}  # fjord/baseline wall, at 10,000 files
TARGET_SIZE = 10000
TARGET_IDLE_MIB = 12.0


def fmt_s(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def ratio(a: float, b: float) -> str:
    if b <= 0:
        return "n/a"
    return f"{a / b:.2f}x" if a / b >= 0.1 else f"{a / b:.3f}x"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--idle", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--env", default="")
    ap.add_argument("--out")
    a = ap.parse_args()

    runs = collections.defaultdict(list)  # (size, scenario, tool) -> [(wall, cpu, rss)]
    with open(a.raw) as f:
        for line in f:
            size, scen, tool, _run, wall, cpu, rss, *_ = line.rstrip("\n").split("\t")
            runs[(int(size), scen, tool)].append((float(wall), float(cpu), float(rss or 0)))
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in runs.items()}
    sizes = sorted({k[0] for k in runs})

    idle = {}  # (size, what) -> (vmrss, rssanon, rssfile, vmhwm)
    with open(a.idle) as f:
        for line in f:
            size, what, *kib = line.rstrip("\n").split("\t")
            idle[(int(size), what)] = tuple(float(k) if k else 0.0 for k in kib)

    out = []
    p = out.append
    p("# fjord benchmark: `fjordd --once` vs `git fetch` + `git checkout -f` + `rsync -a --delete --checksum --fsync`")
    p("")
    if a.env:
        p(a.env + ".")
        p("")
    p(f"Median of {a.runs} runs each. Wall: the shell's clock around each command; CPU: user+sys of the "
      "command's process tree (bash `times`, ms resolution); RSS: peak RSS of its largest process "
      "(GNU time `%M`). Baseline: wall and CPU summed over its three commands, RSS the largest of them. "
      "Each scenario alternates fjord and baseline runs, with `sync` before each measured command.")
    p("")
    p("| files | scenario | fjord wall | fjord CPU | fjord RSS | baseline wall | baseline CPU | baseline RSS | wall fjord/baseline | CPU fjord/baseline |")
    p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        for s in SCENARIOS:
            fj, bl = med.get((n, s, "fjord")), med.get((n, s, "baseline"))
            if not fj or not bl:
                continue
            p(f"| {n:,} | {s} | {fmt_s(fj[0])} | {fmt_s(fj[1])} | {fmt_mib(fj[2])} | {fmt_s(bl[0])} | {fmt_s(bl[1])} | "
              f"{fmt_mib(bl[2])} | {ratio(fj[0], bl[0])} | {ratio(fj[1], bl[1])} |")
    p("")
    p("`no-change-warm`: the no-change runs again, after the one-file runs (same commit as the last of them). "
      "It differs from `no-change` where a tool's caches were left in another state by an initial apply than by an update.")
    p("")

    p(f"Targets (informational, at {TARGET_SIZE:,} files):")
    p("")
    for s in SCENARIOS[:3]:
        fj, bl = med.get((TARGET_SIZE, s, "fjord")), med.get((TARGET_SIZE, s, "baseline"))
        if not fj or not bl:
            p(f"- {s}: wall <= {TARGETS[s]}x baseline: not measured (add {TARGET_SIZE} to --sizes)")
            continue
        r = fj[0] / bl[0]
        p(f"- {s}: fjord wall {r:.3f}x baseline (target <= {TARGETS[s]}x): {'MET' if r <= TARGETS[s] else 'MISSED'}")
    k = (TARGET_SIZE, "idle_after_first_poll")
    if k in idle:
        mib = idle[k][0] / 1024
        p(f"- idle RSS of fjordd after its first poll: {mib:.1f} MiB (target <= {TARGET_IDLE_MIB:g} MiB): "
          f"{'MET' if mib <= TARGET_IDLE_MIB else 'MISSED'}")
    else:
        p(f"- idle RSS <= {TARGET_IDLE_MIB:g} MiB: not measured (add {TARGET_SIZE} to --sizes)")
    p("")

    p("fjordd in daemon mode (poll_interval 1h), from /proc/PID/status: VmRSS (= RssAnon + RssFile + RssShmem; "
      "RssFile is mapped files: shared libraries, Git pack files), and VmHWM (peak RSS so far):")
    p("")
    p("| files | state | VmRSS | RssAnon | RssFile | VmHWM |")
    p("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        for w, label in (("idle_after_first_poll", "idle, after its first poll (nothing new)"),
                         ("idle_after_sync", "idle, after applying one change (`fjordctl sync`)")):
            v = idle.get((n, w))
            if v:
                p(f"| {n:,} | {label} | " + " | ".join(fmt_mib(x) for x in v) + " |")
    p("")

    p("Baseline by phase (median wall / CPU):")
    p("")
    p("| files | scenario | git fetch | git checkout -f | rsync |")
    p("|---:|---|---:|---:|---:|")
    for n in sizes:
        for s in SCENARIOS:
            cells = []
            for t in ("b_fetch", "b_checkout", "b_rsync"):
                m = med.get((n, s, t))
                cells.append(f"{fmt_s(m[0])} / {fmt_s(m[1])}" if m else "n/a")
            p(f"| {n:,} | {s} | " + " | ".join(cells) + " |")
    p("")

    p("Spread of wall time over the runs (min - max):")
    p("")
    p("| files | scenario | fjord | baseline |")
    p("|---:|---|---:|---:|")
    for n in sizes:
        for s in SCENARIOS:
            cells = []
            for t in ("fjord", "baseline"):
                v = [x[0] for x in runs.get((n, s, t), [])]
                cells.append(f"{fmt_s(min(v))} - {fmt_s(max(v))}" if v else "n/a")
            p(f"| {n:,} | {s} | " + " | ".join(cells) + " |")

    text = "\n".join(out) + "\n"
    print(text, end="")
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
