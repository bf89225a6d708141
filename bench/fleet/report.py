#!/usr/bin/env python3
"""Turns bench/fleet/run.sh's raw measurements into the "## Fleets" section of bench/results.md
(stdout, and --out: that section of the file replaced, or appended; the rest of the file kept).

--ops:   remote size refs op run wall_us user_us sys_us maxrss_kib rc wire_bytes payload_sent payload_recv refs
--batch: remote size refs op runs server_cpu_ms_per_run git_part_us_median git_part_runs
--gen:   size refs repo_kib packed_refs_bytes gen_s
--env:   markdown lines about the machine and the run
"""
import argparse
import statistics

OPS = {
    "gate": "gate check: v2 ls-refs, prefixes canary+early (lsrefs.py)",
    "gate-fjord": "gate check, fjord's client in its sandboxed child (ls_refs_probe)",
    "v0-adv": "v0 advertisement (`git -c protocol.version=0 ls-remote`)",
    "v2-all": "v2 ls-refs without prefix (`git ls-remote`)",
    "fetch-all": "`git fetch` of refs/fjord/* into an empty repo",
    "rp-adv": "receive-pack advertisement (lsrefs.py)",
    "push": "`git push` of one report + marker",
    "poll": "config repo poll (v0 `git ls-remote`, 1 branch)",
    "py-start": "`python3 -c pass` (no network)",
}
REMOTE = {"git": "git://", "ssh": "ssh://", "local": "—"}
GATE_BYTES, GATE_MS = 100_000, 50.0  # issue 20's targets at 10,000 hosts
POLL_S, HEARTBEAT_S = 60, 900


def fmt_bytes(b):
    if b is None:
        return "—"
    if b >= 1_000_000:
        return f"{b / 1_000_000:.2f} MB"
    if b >= 10_000:
        return f"{b / 1000:.0f} KB"
    if b >= 1000:
        return f"{b / 1000:.1f} KB"
    return f"{b:.0f} B"


def fmt_ms(ms):
    if ms is None:
        return "—"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms >= 1 else f"{ms * 1000:.0f} µs"


def fmt_n(x):
    return "—" if x is None else f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    for k in ("ops", "batch", "gen", "env"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--out")
    a = ap.parse_args()

    ops = {}
    for line in open(a.ops):
        f = line.rstrip("\n").split("\t")
        rm, size, refs, op = f[:4]
        wall, user, sys_, rss, rc, wire = (int(x) for x in f[5:11])
        rec = ops.setdefault((rm, size, refs, op), {"wall": [], "cpu": [], "wire": [], "recv": [], "sent": [], "refs": []})
        rec["wall"].append(wall / 1000)
        rec["cpu"].append((user + sys_) / 1000)
        rec["wire"].append(wire)
        if f[12] != "-":
            if f[11] != "-":
                rec["sent"].append(int(f[11]))
            rec["recv"].append(int(f[12]))
            rec["refs"].append(int(f[13]))
    batch = {}
    for line in open(a.batch):
        f = line.rstrip("\n").split("\t")
        batch[tuple(f[:4])] = {"runs": int(f[4]), "server": None if f[5] == "-" else float(f[5]),
                               "git": None if f[6] == "-" else float(f[6]) / 1000}
    med = lambda v: statistics.median(v) if v else None  # noqa: E731

    def get(rm, size, refs, op):
        r, b = ops.get((rm, size, refs, op)), batch.get((rm, size, refs, op))
        if not r:
            return None
        return {"runs": len(r["wall"]), "wire": med(r["wire"]), "recv": med(r["recv"]), "sent": med(r["sent"]),
                "refs": med(r["refs"]), "cpu": med(r["cpu"]), "wall": med(r["wall"]),
                "server": b and b["server"], "git": b and b["git"]}

    out = []
    p = out.append
    p("## Fleets (issue 20)")
    p("")
    p("What a fleet costs the Git server and each host (`bench/fleet/run.sh`): status repos with one report ref "
      "(`refs/fjord/hosts/<host>`, a root commit with a ~600-byte report.json) and one wave marker ref "
      "(`refs/fjord/waves/<wave>/<host>`, deterministic marker commits) per host, waves canary 1 %, early 10 %, rest, "
      "mid-rollout (canary and early report the commit good). Served by git daemon and an own sshd on 127.0.0.1.")
    p("")
    p("### Machine and run")
    p("")
    out.extend(line.rstrip("\n") for line in open(a.env))
    p("")
    gen = [line.rstrip("\n").split("\t") for line in open(a.gen)]
    if gen:
        p("Status repos: " + "; ".join(f"{int(g[0]):,} hosts, {g[1]} refs: {int(g[2]) / 1024:.1f} MiB on disk"
                                        + (f" (packed-refs {fmt_bytes(int(g[3]))})" if int(g[3]) else "") for g in gen)
          + f". Generating one took {gen[-1][4]} s at {int(gen[-1][0]):,} hosts (`git fast-import`).")
        p("")

    sizes = sorted({k[1] for k in ops if k[1] != "-"}, key=int)
    layouts = [x for x in ("packed", "loose") if any(k[2] == x for k in ops)]
    remotes = [x for x in ("git", "ssh") if any(k[0] == x for k in ops)]

    p("### Per operation")
    p("")
    p("| remote | hosts | refs | operation | runs | bytes on the wire | Git payload in | refs listed | client CPU | client wall "
      "| server CPU | of it git (ssh) | bytes vs v0 | server CPU vs v0 |")
    p("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [("local", "-", "-", "py-start")] + [(rm, "-", "-", "poll") for rm in remotes]
    for size in sizes:
        for refs in layouts:
            for rm in remotes:
                rows += [(rm, size, refs, op) for op in ("gate", "gate-fjord", "v0-adv", "v2-all", "fetch-all", "rp-adv", "push")]
    for key in rows:
        m = get(*key)
        if not m:
            continue
        rm, size, refs, op = key
        v0 = get(rm, size, refs, "v0-adv") if op in ("gate", "gate-fjord", "v2-all", "fetch-all") else None
        rb = f"{m['wire'] / v0['wire']:.3f}x" if v0 and v0["wire"] else "—"
        rs = f"{m['server'] / v0['server']:.2f}x" if v0 and v0["server"] and m["server"] is not None else "—"
        p(f"| {REMOTE[rm]} | {'—' if size == '-' else f'{int(size):,}'} | {'—' if refs == '-' else refs} | {OPS[op]} | {m['runs']} "
          f"| {fmt_bytes(m['wire']) if rm != 'local' else '—'} | {fmt_bytes(m['recv'])} | {fmt_n(m['refs'])} | {fmt_ms(m['cpu'])} | {fmt_ms(m['wall'])} "
          f"| {fmt_ms(m['server'])} | {fmt_ms(m['git'])} | {rb} | {rs} |")
    p("")
    p("- Medians over the runs, except *server CPU*: the server's CPU over all runs of the batch, divided by the runs "
      "(how it was read: *server CPU* under *Machine and run*). For git:// that is the listener, "
      "the forked `git daemon --serve` and upload-pack / receive-pack (with its index-pack or unpack-objects and `gc --auto`); "
      "for ssh:// everything sshd does for the connection (key exchange, authentication, the login shell) plus the git "
      "process. *Of it git*: the git-upload-pack / git-receive-pack alone (sshd's ForceCommand runs it under "
      "bench/fleet/rusage.c; wait4(), µs).")
    p("- *Bytes on the wire*: the loopback device's rx_bytes over the run: both directions, TCP/IP headers and, for ssh, the "
      "handshake and encryption. *Git payload in*: the pkt-lines lsrefs.py read (server to client). *Client CPU*: user+sys "
      "of the command and all it waited for (wait4()), the ssh client included; lsrefs.py's includes Python's start-up "
      "(first row). *gate check, fjord's client*: src/fleet/ls_refs as fjordd runs it, in a sandboxed child "
      "(tests/ls_refs_probe --isolated 1; its client CPU includes the child's sandbox set-up); its payload is what it read.")
    p("- *push*: each run pushes one new report commit for one host of wave rest and the marker of a new commit, "
      "`--force`, both refs in one push; the push first reads the receive-pack advertisement (*rp-adv*), which lists "
      "every ref of the repo (push has no protocol v2).")
    p("")

    # targets
    big = sizes[-1] if sizes else None
    p("### Targets (issue 20; informational)")
    p("")
    p("| at | target | measured | result |")
    p("|---|---|---|---|")
    for refs in layouts:
        for rm, op in ((rm, op) for rm in remotes for op in ("gate-fjord", "gate")):
            m = get(rm, big, refs, op) if big else None
            if not m:
                continue
            ok_b = m["wire"] <= GATE_BYTES
            srv = m["server"]
            ok_c = srv is not None and srv <= GATE_MS
            git = f"; of it git-upload-pack {fmt_ms(m['git'])}" if m["git"] is not None else ""
            p(f"| gate check ({'fjord' if op == 'gate-fjord' else 'lsrefs.py'}), {int(big):,} hosts, {refs} refs, {REMOTE[rm]} | <= ~100 KB and <= ~50 ms server CPU "
              f"| {fmt_bytes(m['wire'])} on the wire ({fmt_bytes(m['recv'])} Git payload, {fmt_n(m['refs'])} refs); server CPU {fmt_ms(srv)}{git} "
              f"| {'**MET**' if ok_b and ok_c else '**MISSED**' + (' (bytes)' if not ok_b else '') + (' (CPU)' if not ok_c else '')} |")
    p("")

    # what follows from the numbers (computed, so a new run keeps it true)
    notes = []
    for rm in remotes:
        g = get(rm, big, "packed", "gate") if big else None
        if g and g["refs"] and g["recv"]:
            per_ref = g["recv"] / g["refs"]
            fit = GATE_BYTES / per_ref
            notes.append(f"Gate bytes grow with the hosts in the earlier waves, not with the fleet: {per_ref:.0f} B of Git payload per "
                         f"listed marker ref ({REMOTE[rm]}, {int(big):,} hosts: {fmt_n(g['refs'])} refs, canary+early = "
                         f"{100 * g['refs'] / int(big):.0f} % of the fleet). The ~100 KB target holds while a gate check lists at most "
                         f"~{fit:,.0f} marker refs"
                         + (f": at {int(big):,} hosts, while the waves before the last hold at most ~{100 * fit / int(big):.0f} % of the fleet"
                            if fit < int(big) else "")
                         + (f" (an `early` wave of 20 % would miss it: ~{0.21 * int(big) * per_ref / 1000:.0f} KB)"
                            if 0.21 * int(big) * per_ref > GATE_BYTES else "") + ".")
            break
    s_gate = get("ssh", big, "packed", "gate") if big else None
    if s_gate and s_gate["server"] is not None and s_gate["git"] is not None:
        notes.append(f"Over ssh:// the server's cost is the connection: of the gate check's {fmt_ms(s_gate['server'])} server CPU "
                     f"at {int(big):,} hosts, git-upload-pack is {fmt_ms(s_gate['git'])}; sshd's key exchange, authentication and "
                     f"login shell are the rest, about the same at every size (the config poll costs {fmt_ms((get('ssh', '-', '-', 'poll') or {}).get('server'))}).")
    parts = []
    for rm in remotes:
        for size in sizes:
            rp, pu = get(rm, size, "packed", "rp-adv"), get(rm, size, "packed", "push")
            if not (rp and pu and rp["recv"] and pu["server"] is not None):
                continue
            n = int(size)
            parts.append(f"{REMOTE[rm]} at {n:,} hosts: an advertisement of {fmt_bytes(rp['recv'])} ({fmt_n(rp['refs'])} refs); "
                         f"the fleet moves {fmt_bytes(n * pu['wire'] / HEARTBEAT_S)}/s ({8 * n * pu['wire'] / HEARTBEAT_S / 1e6:.0f} Mbit/s) "
                         f"and keeps {n * pu['server'] / 1000 / HEARTBEAT_S:.2f} of a server core busy with pushes alone")
    if parts:
        notes.append(f"Reports cost the server in proportion to the square of the fleet: every push first reads the receive-pack "
                     f"advertisement, which lists every ref of the status repo (two per host), and every host pushes once per "
                     f"{HEARTBEAT_S // 60} min heartbeat at least. " + "; ".join(parts) + ". Past a few thousand hosts, the "
                     "heartbeat or the status repo must be split (e.g. one status repo per few thousand hosts) or the push "
                     "must not read every ref (Git 2.39's receive-pack has no protocol v2, and a ref hidden from its advertisement "
                     "with receive.hideRefs cannot be pushed).")
    for rm in remotes:
        lp, ll = get(rm, big, "packed", "push"), get(rm, big, "loose", "push")
        if lp and ll and lp["server"] and ll["server"] is not None:
            notes.append(f"Loose refs cost the server {ll['server'] / lp['server']:.1f}x as much per push and "
                         f"{(get(rm, big, 'loose', 'v0-adv') or {}).get('server', 0) / max((get(rm, big, 'packed', 'v0-adv') or {}).get('server') or 1e-9, 1e-9):.0f}x per "
                         f"full advertisement as packed ones ({REMOTE[rm]}, {int(big):,} hosts). A pushed ref is written loose: after "
                         "one heartbeat round every host ref is loose until the next `git gc` (or `git pack-refs --all`) on the "
                         "server packs them; `gc --auto` after a push runs only once ~6,700 loose objects pile up (a push adds 4). "
                         "Run `git pack-refs --all` on the status repo from cron; the cost of gc itself is not measured here.")
            break
    if notes:
        p("What follows from these numbers:")
        p("")
        for n in notes:
            p("- " + n)
        p("")

    # sizing
    p("### Sizing: hosts per Git-server core")
    p("")
    p(f"Server CPU per operation from the table above, at a {POLL_S} s poll and a {HEARTBEAT_S // 60} min report heartbeat; gate "
      "checks only while a commit waits for its wave (one per poll per waiting host). Hosts per core = the seconds between "
      "operations / server CPU per operation; *steady* = polls + reports, *in a rollout* = polls + reports + a gate check every poll. "
      "Measured one connection at a time on loopback: a real server also pays for TCP over a real network, and many "
      "connections at once contend for caches.")
    p("")
    p("| remote | hosts in the status repo | refs | poll CPU | push CPU | gate CPU | hosts/core: polls | hosts/core: reports | hosts/core: gate checks | hosts/core: steady | hosts/core: in a rollout |")
    p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rm in remotes:
        poll = get(rm, "-", "-", "poll")
        for size in sizes:
            for refs in layouts:
                push, gate = get(rm, size, refs, "push"), get(rm, size, refs, "gate-fjord") or get(rm, size, refs, "gate")
                if not (poll and push and gate) or None in (poll["server"], push["server"], gate["server"]):
                    continue
                pc, uc, gc = poll["server"] / 1000, push["server"] / 1000, gate["server"] / 1000
                per = lambda *loads: 1 / sum(loads) if sum(loads) > 0 else None  # noqa: E731
                cells = [per(pc / POLL_S), per(uc / HEARTBEAT_S), per(gc / POLL_S), per(pc / POLL_S, uc / HEARTBEAT_S),
                         per(pc / POLL_S, uc / HEARTBEAT_S, gc / POLL_S)]
                p(f"| {REMOTE[rm]} | {int(size):,} | {refs} | {fmt_ms(poll['server'])} | {fmt_ms(push['server'])} | {fmt_ms(gate['server'])} | "
                  + " | ".join(fmt_n(c) for c in cells) + " |")
    p("")

    text = "\n".join(out) + "\n"
    print(text, end="")
    if a.out:
        try:
            old = open(a.out).read()
        except FileNotFoundError:
            old = ""
        lines = old.splitlines(keepends=True)
        start = next((i for i, ln in enumerate(lines) if ln.startswith("## Fleets")), None)
        if start is None:
            new = old + ("\n" if old and not old.endswith("\n\n") else "") + text
        else:
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
            new = "".join(lines[:start]) + text + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
        with open(a.out, "w") as f:
            f.write(new)


if __name__ == "__main__":
    main()
