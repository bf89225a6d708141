#!/usr/bin/env python3
"""Generates a fleet status repository as issue 20's design lays it out (docs: /work/notes is the
lead's; the code is src/fleet/marker.cpp), for bench/fleet/run.sh.

  gen_status.py create REPO N [--commit C]   a bare repo with N hosts:
      refs/fjord/hosts/<host>          a root commit whose tree holds a ~600-byte report.json
      refs/fjord/waves/<wave>/<host>   the deterministic marker commit for (C, state)
    hosts web00001 .. webNNNNN; waves as fleet.toml's `canary` percent = 1, `early` percent = 10,
    `rest` (everyone left), placed by src/fleet's bucket(): the first 8 bytes of SHA-256(host),
    big-endian, mod 100. The rollout of C is mid-way: canary and early hosts report C good, the
    rest waiting. Objects come from one `git fast-import` stream (the three marker commits and the
    empty tree by `git hash-object -w`); refs are loose as fast-import leaves them.
  gen_status.py marker C STATE                prints marker_id(C, STATE)
  gen_status.py wave HOST                     prints the host's wave
  gen_status.py report HOST C N               prints a report.json (the N-th of that host)
"""
import hashlib
import json
import subprocess
import sys

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
WAVES = (("canary", 1), ("early", 10), ("rest", 100))
DEFAULT_COMMIT = hashlib.sha1(b"fjord fleet bench: the commit being rolled out").hexdigest()


def marker_body(commit, state):
    # byte for byte src/fleet/marker.cpp's marker_body()
    return ("tree " + EMPTY_TREE + "\n"
            "author fjord <fjord@invalid> 0 +0000\n"
            "committer fjord <fjord@invalid> 0 +0000\n"
            "\n"
            "fjord marker\n\ncommit " + commit + "\nstate " + state + "\n").encode()


def object_id(kind, body):
    return hashlib.sha1(kind.encode() + b" " + str(len(body)).encode() + b"\0" + body).hexdigest()


def marker_id(commit, state):
    return object_id("commit", marker_body(commit, state))


def bucket(host):
    return int.from_bytes(hashlib.sha256(host.encode()).digest()[:8], "big") % 100


def wave_of(host):
    b = bucket(host)
    return next(name for name, pct in WAVES if b < pct)


def host_name(i):
    return "web%05d" % i


def report(host, commit, n, wave, state):
    """A report.json as the design's schema 1 has it, ~600 bytes."""
    t = 1764800000 + n * 900
    judged = [{"commit": hashlib.sha1(b"%d" % k).hexdigest(), "outcome": "good", "reason": "", "time": t - 3600 * k}
              for k in range(1, 4)]
    r = {"schema": 1, "host": host, "fjord_version": "0.9.0", "time": t, "commit": commit, "generation": 40 + n,
         "wave": wave, "state": state, "reason": "" if state == "good" else "waiting: wave rest needs early 100% good",
         "judged": judged, "health": {"passed": 4, "failed": 0}, "prerequisites": {"pass": 7, "warn": 0, "fail": 0}}
    return json.dumps(r, separators=(",", ":")) + "\n"


def git(repo, *args, data=None):
    return subprocess.run(["git", "-C", repo, *args], input=data, stdout=subprocess.PIPE, check=True).stdout


def create(repo, n, commit):
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    git(repo, "config", "gc.auto", "0")
    if git(repo, "hash-object", "-t", "tree", "-w", "--stdin", data=b"").decode().strip() != EMPTY_TREE:
        sys.exit("the empty tree's id is not " + EMPTY_TREE)
    marks = {}
    for state in ("waiting", "good"):
        got = git(repo, "hash-object", "-t", "commit", "-w", "--stdin", data=marker_body(commit, state)).decode().strip()
        if got != marker_id(commit, state):
            sys.exit("git hash-object gives %s for the %s marker, we computed %s" % (got, state, marker_id(commit, state)))
        marks[state] = got
    out = []
    counts = {name: 0 for name, _ in WAVES}
    for i in range(1, n + 1):
        host = host_name(i)
        wave = wave_of(host)
        counts[wave] += 1
        state = "waiting" if wave == "rest" else "good"
        blob = report(host, commit, 0, wave, state).encode()
        msg = ("fjord report " + host + "\n").encode()
        t = 1764800000 + i
        out.append(b"blob\nmark :%d\ndata %d\n%s\n" % (i, len(blob), blob))
        out.append(b"commit refs/fjord/hosts/%s\nauthor fjord <fjord@invalid> %d +0000\n"
                   b"committer fjord <fjord@invalid> %d +0000\ndata %d\n%s"
                   b"M 100644 :%d report.json\n\n" % (host.encode(), t, t, len(msg), msg, i))
        out.append(b"reset refs/fjord/waves/%s/%s\nfrom %s\n\n" % (wave.encode(), host.encode(), marks[state].encode()))
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet", "--force"], input=b"".join(out), check=True)
    print(json.dumps({"hosts": n, "commit": commit, "waves": counts, "markers": marks}))


def main(argv):
    if len(argv) >= 3 and argv[0] == "create":
        commit = argv[argv.index("--commit") + 1] if "--commit" in argv else DEFAULT_COMMIT
        create(argv[1], int(argv[2]), commit)
    elif len(argv) == 3 and argv[0] == "marker":
        print(marker_id(argv[1], argv[2]))
    elif len(argv) == 2 and argv[0] == "wave":
        print(wave_of(argv[1]))
    elif len(argv) == 4 and argv[0] == "report":
        host = argv[1]
        wave = wave_of(host)
        sys.stdout.write(report(host, argv[2], int(argv[3]), wave, "waiting" if wave == "rest" else "good"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
