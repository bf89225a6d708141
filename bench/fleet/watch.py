#!/usr/bin/env python3
"""watch.py COMMIT T0 TIMEOUT_S TSV STATE_DIR...: for bench/fleet/rollout.sh. Reads every
STATE_DIR's status.json (fjordd's) ten times a second until each names COMMIT as applied
("commit"), and appends "host<TAB>wave<TAB>seconds since T0" to TSV as each host gets there (T0:
Unix time, e.g. bash's $EPOCHREALTIME before the push; host: the state dir's parent folder's
name; wave: status.json's "wave"). Exit 0 when all did, 1 TIMEOUT_S after T0."""
import json
import os
import sys
import time


def main(commit, t0, timeout, tsv, dirs):
    left = {os.path.basename(os.path.dirname(os.path.abspath(d))): d for d in dirs}
    with open(tsv, "a") as out:
        while left:
            for host, d in list(left.items()):
                try:
                    st = json.load(open(os.path.join(d, "status.json")))
                except (OSError, ValueError):
                    continue
                if st.get("commit") == commit:
                    out.write("%s\t%s\t%.2f\n" % (host, st.get("wave") or "", time.time() - t0))
                    out.flush()
                    del left[host]
            if left and time.time() - t0 > timeout:
                print("%d hosts did not apply %s within %d s: %s" % (len(left), commit[:7], timeout, " ".join(sorted(left)[:10])), file=sys.stderr)
                return 1
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5:]))
