#!/usr/bin/env python3
"""Helper of incremental.sh: compares the incremental side with the from-scratch one.

  incremental_cmp.py ROOT_A STATE_A ROOT_B STATE_B SHA   (or: serve, with those five
                                                          tab-separated on each line of stdin)
      Exit 0 when both roots are the same tree (kind, mode, uid:gid, bytes, link targets),
      both sides synced commit SHA and their current generations hold the same entries;
      otherwise prints the differing paths and exits 1. Exit 3: the two sides saw different
      host facts (something else changed an address): no verdict.
"""
import difflib
import hashlib
import json
import os
import subprocess
import stat
import sys


def tree(root):
    """Every path below root: kind, mode, uid:gid, and the content's hash or the link target."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            rel = p[len(root):]
            if stat.S_ISLNK(st.st_mode):
                what = "link -> " + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                what = "dir"
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    what = "file sha256:" + hashlib.sha256(fh.read()).hexdigest()[:16]
            else:
                what = "other type %o" % stat.S_IFMT(st.st_mode)
            out[rel] = "%s mode %04o %d:%d" % (what, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return out


def status(state):
    with open(os.path.join(state, "status.json")) as fh:
        return json.load(fh)


# ON-DISK FORMAT: no command prints a generation's file list, so this reads it as tests/lib.sh's
# gen_files does (GEN_FILES_PL, exported by incremental.sh): generations/N/files is an index of
# chunks under STATE/chunks (src/apply/chunks.cpp), or the whole text in generations from before
# chunks; either way "fjord-files 2" and one line per path, folder, unit, check, hook,
# container. N is status.json's "generation".
def generation(state, number):
    text = subprocess.run(["perl", "-e", os.environ["GEN_FILES_PL"], "files", state, str(number)],
                          check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    out = []
    for l in lines:
        f = l.split(" ")
        # A secret encrypted again with the same plaintext changes nothing on the host, so a
        # commit that only does that makes no generation: the current one keeps the old
        # ciphertext's id. The keyed digest of the plaintext (field 7) is what must match.
        if f[0] == "f" and len(f) == 9 and f[6] != "0":
            f[2] = "(ciphertext)"
        if l and f[0] != "fjord-files":
            out.append(" ".join(f))
    return sorted(out)


def text_diff(a, b):
    """The first lines of a diff of two small text files, else nothing."""
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            da, db = fa.read(4097), fb.read(4097)
        la, lb = da.decode().splitlines(), db.decode().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    if max(len(da), len(db)) > 4096:
        return []
    return ["    " + l for l in list(difflib.unified_diff(la, lb, "incremental", "from scratch", lineterm=""))[:12]]


def compare(root_a, state_a, root_b, state_b, sha):
    """0: the same; 1: different (printed); 3: the host's facts moved between the two runs (an
    address added by something else): no verdict, the caller runs the step again."""
    sta, stb = status(state_a), status(state_b)
    # status.json's "synced_commit" is the newest commit each side dealt with (a commit that
    # changes nothing makes no generation), "facts_key" a digest of the facts it rendered with.
    if sta.get("facts_key") != stb.get("facts_key"):
        print("  the host facts differ between the two runs (facts_key %s, %s)" %
              (sta.get("facts_key"), stb.get("facts_key")))
        return 3
    bad = []
    for side, st in (("incremental", sta), ("from scratch", stb)):
        if st.get("synced_commit") != sha:
            bad.append("status.json: the %s side synced commit %s, not %s" % (side, st.get("synced_commit"), sha))
    ta, tb = tree(root_a), tree(root_b)
    for p in sorted(set(ta) | set(tb)):
        if ta.get(p) != tb.get(p):
            bad.append("root %s: incremental [%s] from scratch [%s]" % (p, ta.get(p, "missing"), tb.get(p, "missing")))
            if p in ta and p in tb and ta[p].startswith("file") and tb[p].startswith("file"):
                bad += text_diff(root_a + p, root_b + p)
    sa, sb = set(generation(state_a, sta["generation"])), set(generation(state_b, stb["generation"]))
    for l in sorted(sa - sb):
        bad.append("generation entry only incremental: " + l)
    for l in sorted(sb - sa):
        bad.append("generation entry only from scratch: " + l)
    for b in bad[:40]:
        print("  " + b)
    if len(bad) > 40:
        print("  ... and %d more" % (len(bad) - 40))
    return 1 if bad else 0


def serve():
    """compare, for each line of stdin (its five arguments, tab-separated); its output, then
    "END RC". One process for the whole run: a python start costs more than a compare."""
    for line in sys.stdin:
        try:
            rc = compare(*line.rstrip("\n").split("\t"))
        except Exception as e:  # a missing status.json or generation: a difference too
            print("  compare: %r" % e)
            rc = 1
        print("END %d" % rc, flush=True)


def main(argv):
    if len(argv) == 5:
        return compare(*argv)
    if argv == ["serve"]:
        serve()
        return 0
    sys.exit("usage: incremental_cmp.py ROOT_A STATE_A ROOT_B STATE_B SHA | serve")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
