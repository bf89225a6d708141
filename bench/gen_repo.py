#!/usr/bin/env python3
"""Deterministic test content for bench/run.sh.

  gen_repo.py create DIR N [--seed S]
      Writes N files under DIR/hosts/h1/files/etc/..., about 20 per folder, each 200 B - 8 KiB of
      config-like text. The same N and seed always give the same bytes.
  gen_repo.py change DIR N RUN [--seed S]
      Rewrites one of those N files (chosen from RUN and the seed) with new content, prints its
      path relative to DIR. Each RUN gives a different, deterministic change.
  gen_repo.py change-many DIR N RUN COUNT [--seed S]
      Rewrites COUNT distinct files of those N (chosen from RUN and the seed), prints their paths
      relative to DIR, one a line. bench/run.sh's "1 %" scenario: COUNT = N / 100.
"""
import argparse
import os
import random
import sys

PER_FOLDER = 20
SUBDIRS = 25  # folders per etc/appNN/, so 10,000 files -> 20 x 25 folders of 20 files
MIN_SIZE, MAX_SIZE = 200, 8192
KEYS = ("listen", "server_name", "root", "user", "workers", "timeout", "log_level", "path",
        "max_conn", "include", "upstream", "cache", "limit", "backend", "socket", "port")


def rel_path(i: int) -> str:
    folder, idx = divmod(i, PER_FOLDER)
    app, sub = divmod(folder, SUBDIRS)
    return f"hosts/h1/files/etc/app{app:03d}/conf{sub:02d}/file{idx:02d}.conf"


def content(rng: random.Random, size: int, tag: str) -> bytes:
    parts = [f"# {tag}\n".encode()]
    n = len(parts[0])
    while n < size:
        key = KEYS[rng.randrange(len(KEYS))]
        val = rng.randbytes(rng.randint(4, 40)).hex()
        line = f"{key}_{rng.randrange(1000):03d} = {val}\n".encode()
        parts.append(line)
        n += len(line)
    data = b"".join(parts)[: size - 1]
    return data + b"\n"


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("create", "change", "change-many"))
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("run", type=int, nargs="?", default=0)
    ap.add_argument("count", type=int, nargs="?", default=1)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.mode == "create":
        rng = random.Random(a.seed * 1_000_003 + a.n)
        for i in range(a.n):
            size = rng.randint(MIN_SIZE, MAX_SIZE)
            write(os.path.join(a.dir, rel_path(i)), content(rng, size, f"file {i}"))
        return 0
    if a.mode == "change-many":
        if not 1 <= a.count <= a.n:
            ap.error("COUNT must be between 1 and N")
        rng = random.Random(a.seed * 6_700_417 + a.run * 104_729 + a.n)
        for i in sorted(rng.sample(range(a.n), a.count)):
            p = rel_path(i)
            write(os.path.join(a.dir, p), content(rng, rng.randint(MIN_SIZE, MAX_SIZE), f"file {i}, change-many {a.run}"))
            print(p)
        return 0
    rng = random.Random(a.seed * 7919 + a.run * 104_729 + a.n)
    i = rng.randrange(a.n)
    p = rel_path(i)
    write(os.path.join(a.dir, p), content(rng, rng.randint(MIN_SIZE, MAX_SIZE), f"file {i}, change {a.run}"))
    print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
