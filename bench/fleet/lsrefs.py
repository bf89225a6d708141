#!/usr/bin/env python3
"""A tiny Git client for bench/fleet/run.sh: what fjord's gate check does on the wire (one protocol
v2 `ls-refs` with one `ref-prefix` per earlier wave, no object fetched), and the size of a
receive-pack advertisement (what every push reads first).

  lsrefs.py [--ssh CMD] URL ls-refs PREFIX... [--commit C]
  lsrefs.py [--ssh CMD] URL advertise upload-pack|receive-pack

URL: git://HOST[:PORT]/PATH, ssh://[USER@]HOST[:PORT]/PATH (CMD is the ssh command, split on
blanks; `-o SetEnv=GIT_PROTOCOL=version=2` is added, so sshd needs `AcceptEnv GIT_PROTOCOL`), or a
local PATH (git-upload-pack run directly with GIT_PROTOCOL=version=2).
Prints one JSON line: bytes sent and received (Git's payload: pkt-lines, without TCP/ssh framing),
the refs listed, and for ls-refs how many markers say C good / waiting / something else.
"""
import json
import os
import shlex
import socket
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_status import DEFAULT_COMMIT, marker_id  # noqa: E402


class Conn:
    def __init__(self, url, service, ssh_cmd, v2):
        self.sent = self.recv = 0
        self.sock = self.proc = None
        self.buf = b""
        u = urllib.parse.urlsplit(url)
        if u.scheme == "git":
            self.sock = socket.create_connection((u.hostname, u.port or 9418), timeout=30)
            extra = b"\0version=2\0" if v2 else b""
            self.write_pkt(b"git-%s %s\0host=%s\0%s" % (service.encode(), u.path.encode(), u.netloc.encode(), extra))
        elif u.scheme == "ssh":
            cmd = shlex.split(ssh_cmd or "ssh")
            if v2:
                cmd += ["-o", "SetEnv=GIT_PROTOCOL=version=2"]
            if u.port:
                cmd += ["-p", str(u.port)]
            cmd += [(u.username + "@" if u.username else "") + u.hostname, "git-%s '%s'" % (service, u.path)]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        elif u.scheme in ("", "file"):
            env = dict(os.environ, GIT_PROTOCOL="version=2" if v2 else "")
            self.proc = subprocess.Popen(["git", service, u.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        else:
            sys.exit("unknown URL scheme " + u.scheme)

    def write(self, data):
        self.sent += len(data)
        if self.sock:
            self.sock.sendall(data)
        else:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def write_pkt(self, payload):
        self.write(b"%04x" % (len(payload) + 4) + payload)

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536) if self.sock else self.proc.stdout.read1(65536)
            if not chunk:
                sys.exit("the server closed the connection early")
            self.recv += len(chunk)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_pkt(self):
        """A pkt-line's payload, or None for flush (0000) / delim (0001) / response-end (0002)."""
        n = int(self.read(4), 16)
        return None if n < 4 else self.read(n - 4)

    def lines(self):
        while (p := self.read_pkt()) is not None:
            yield p

    def close(self):
        if self.sock:
            self.sock.close()
        else:
            self.proc.stdin.close()
            self.proc.stdout.read()
            if self.proc.wait() != 0:
                sys.exit("the transport exited %d" % self.proc.returncode)


def main(argv):
    ssh_cmd = None
    if argv[:1] == ["--ssh"]:
        ssh_cmd, argv = argv[1], argv[2:]
    commit = DEFAULT_COMMIT
    if "--commit" in argv:
        i = argv.index("--commit")
        commit = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) < 2 or argv[1] not in ("ls-refs", "advertise"):
        sys.exit(__doc__)
    url, what, args = argv[0], argv[1], argv[2:]
    res = {}
    if what == "ls-refs":
        c = Conn(url, "upload-pack", ssh_cmd, v2=True)
        caps = list(c.lines())
        if not caps or caps[0].rstrip(b"\n") != b"version 2" or not any(x.startswith(b"ls-refs") for x in caps):
            sys.exit("the server does not speak protocol v2 with ls-refs: %r" % caps[:1])
        c.write_pkt(b"command=ls-refs\n")
        c.write(b"0001")
        for p in args:
            c.write_pkt(b"ref-prefix %s\n" % p.encode())
        c.write(b"0000")
        good, waiting = marker_id(commit, "good"), marker_id(commit, "waiting")
        tally = {"good": 0, "waiting": 0, "other": 0}
        refs = 0
        for line in c.lines():
            oid = line[:40].decode()
            refs += 1
            tally["good" if oid == good else "waiting" if oid == waiting else "other"] += 1
        c.write(b"0000")
        c.close()
        res = {"refs": refs, "markers": tally}
    else:
        if args not in (["upload-pack"], ["receive-pack"]):
            sys.exit(__doc__)
        c = Conn(url, args[0], ssh_cmd, v2=False)
        res = {"refs": sum(1 for _ in c.lines())}
        c.write(b"0000")  # no wants / no commands: the server ends
        c.close()
    res.update(sent=c.sent, received=c.recv)
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv[1:])
