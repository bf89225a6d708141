#!/usr/bin/env python3
"""Helper of incremental.sh: makes a seeded random history of a fleet repo.

  incremental_gen.py REPO SEED COMMITS FJORDCTL RECIPIENT [--facts] [--no-owners]
          [--one-commit-folder-changes] >PLAN
      Writes COMMITS commits to REPO (branch "work"), commit I also as refs/heads/cNNNN, and
      prints the plan the test follows, one step a line:
        apply I SHA WHAT     apply commit I (WHAT: its mutations, for the failure report)
        fact add|del IP      add or remove IP/32 on the test's veth (host.ipv4 changes)
        refacts I SHA        the same commit again, with the changed facts

The model holds one host folder (hosts/h1) that includes bundles/base and, at times,
bundles/extra (before or after base), which may include bundles/deep. Every commit applies 1-5
mutations to it and writes the whole tree again; only valid commits are made (fjord's rules
from docs/repo-layout.md: no path both a file and a folder, [file] tables only for provided
paths, no mode for a symlink, one folder's patterns never setting the same key, templates
naming only defined vars). A file or symlink that becomes a folder, or a folder that becomes
one, is removed in one commit and comes back in the other form in the next, unless
--one-commit-folder-changes: fjord refuses that in one commit today (see incremental.sh).
"""
import grp
import hashlib
import json
import os
import pwd
import random
import subprocess
import sys
import time

HOST, BASE, EXTRA, DEEP = "hosts/h1", "bundles/base", "bundles/extra", "bundles/deep"
FOLDERS = [HOST, BASE, EXTRA, DEEP]
TOPS = ["/etc/app", "/etc/app/conf.d", "/srv/data", "/opt/tool/share", "/usr/local/lib/x"]
NAMES = ["a.conf", "b.txt", "c", "data.json", "run.sh", "sp ace.conf", "\u00fcn\u00ef.txt", "z-last", ".hidden",
         "m.ini", "k"]
SUBDIRS = ["sub", "d2", "inner", "n"]
MODES = ["0600", "0640", "0644", "0664", "0700", "0750", "0755", "0444", "0400", "0500"]
USERS = ["root", "daemon", "bin", "sys", "nobody"]
GROUPS = ["root", "daemon", "bin", "adm", "nogroup", "staff"]
PATTERNS = ["/srv/data/*", "/etc/app/*.conf", "/opt/**", "/etc/app/conf.d/*", "/usr/local/lib/x/*/*"]
UNITS = ["a.service", "b.service", "c.service"]
IPS = ["198.51.100.%d" % i for i in range(10, 14)]
WORDS = ["alpha", "beta", "gamma", "x<>&\"'y", "\u00e6\u00f8\u00e5", "", "a b", "{{not}}", "%2C", "tab\there"]
SNIPPETS = [
    "plain line {r}", "s={{s}}", "n={{n}}", "{{#flag}}flag on{{/flag}}{{^flag}}flag off{{/flag}}",
    "{{#lst}}\n- {{.}}\n{{/lst}}", "a={{tbl.a}} b={{tbl.b}}", "host={{host.name}}",
    "{{#host.ipv4}}\nip {{.}}\n{{/host.ipv4}}", "{{! a comment }}", "raw={{{s}}} amp={{&s}}",
    "{{#tbl}}in table: {{a}}{{/tbl}}",
]
COMMIT_SNIPPET = "commit={{fjord.commit}}"  # changes with every commit: re-rendered each time


def die(msg):
    sys.exit("incremental_gen: " + msg)


def ancestors(path):
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(2, len(parts))]


class Model:
    def __init__(self, rnd, owners, two_step):
        self.r = rnd
        self.owners = owners
        self.two_step = two_step
        self.pending = []
        self.start_paths, self.start_dirs = set(), set()
        self.entries = {f: {} for f in FOLDERS}   # folder -> host path -> entry
        self.tables = {f: {} for f in FOLDERS}    # folder -> [file] key (path or pattern) -> {key: value}
        self.vars = {f: {} for f in FOLDERS}
        self.units = {f: {} for f in FOLDERS}     # folder -> unit -> {"main": entry, "dropins": {conf: entry}}
        self.extra = None                        # host includes extra: None, "before" or "after" base
        self.deep = False                        # extra includes deep
        self.vars[BASE] = {"s": "base", "n": 1, "flag": True, "lst": ["one", "two"], "tbl": {"a": "ta", "b": 2}}
        self.counter = 0

    # -- what fjord merges ------------------------------------------------------------------
    def merged(self):
        """The folders fjord merges, in its order (includes first, depth first; later wins)."""
        out = []
        if self.extra == "before":
            out += ([DEEP] if self.deep else []) + [EXTRA]
        out.append(BASE)
        if self.extra == "after":
            out += ([DEEP] if self.deep else []) + [EXTRA]
        return out + [HOST]

    def all_paths(self):
        return {p for f in FOLDERS for p in self.entries[f]}

    def all_dirs(self):
        return {a for p in self.all_paths() for a in ancestors(p)}

    def count(self):
        return sum(len(self.entries[f]) for f in FOLDERS)

    # -- random values ----------------------------------------------------------------------
    def text(self):
        r = self.r
        k = r.random()
        if k < 0.08:
            return b""
        if k < 0.16:
            return bytes(r.getrandbits(8) for _ in range(r.randint(1, 3000)))
        if k < 0.2:
            return ("big %d\n" % r.getrandbits(32)).encode() * r.randint(500, 3000)
        return "".join("line %d %s\n" % (i, r.choice(WORDS)) for i in range(r.randint(1, 12))).encode()

    def template(self):
        r = self.r
        parts = [r.choice(SNIPPETS).replace("{r}", str(r.getrandbits(16))) for _ in range(r.randint(1, 6))]
        if r.random() < 0.15:
            parts.append(COMMIT_SNIPPET)
        return ("\n".join(parts) + "\n").encode()

    def var_value(self, key, partial=False):
        r = self.r
        if key == "s":
            return r.choice(WORDS) + str(r.randint(0, 9))
        if key == "n":
            return r.randint(-5, 100000)
        if key == "flag":
            return r.random() < 0.5
        if key == "lst":
            return [r.choice(WORDS) for _ in range(r.randint(0, 3))]
        t = {"a": r.choice(WORDS), "b": r.randint(0, 9)}
        if partial and r.random() < 0.5:
            del t[r.choice(["a", "b"])]
        return t

    def new_entry(self, path, kind=None):
        r = self.r
        kind = kind or r.choices(["file", "tmpl", "age", "link"], [40, 25, 15, 20])[0]
        if kind == "link":
            return {"k": "link", "target": self.link_target(path)}
        data = self.template() if kind == "tmpl" else self.text()
        return {"k": kind, "data": data, "x": r.random() < 0.15, "ct": None}

    def link_target(self, path):
        # Only "NAME" or "../NAME": no folder on the way can be a managed symlink (fjord
        # refuses chains), and every path is 3 deep or more, so it stays inside the root.
        own = path.rsplit("/", 1)[1]
        name = self.r.choice([n for n in NAMES + SUBDIRS if n != own])
        return name if self.r.random() < 0.6 else "../" + name

    def free_path(self, folder, moving=None):
        """A host path for a new entry of folder: not already its own, not below any entry
        (of any folder), not a folder of any entry. moving: the (folder, path) of an entry
        that leaves it, so not in the way."""
        paths = {p for g in FOLDERS for p in self.entries[g] if (g, p) != moving}
        dirs = {a for p in paths for a in ancestors(p)}
        parents = sorted(set(TOPS) | {d for d in dirs if d.count("/") >= 2})
        for _ in range(50):
            parent = self.r.choice(parents)
            if self.r.random() < 0.15 and parent.count("/") < 5:
                parent += "/" + self.r.choice(SUBDIRS)
            p = parent + "/" + self.r.choice(NAMES)
            if p in self.entries[folder] and (folder, p) != moving:
                continue
            if p in dirs or any(a in paths for a in ancestors(p)) or self.changes_kind(p):
                continue
            return p
        return None

    def pick_entry(self, kinds=None, folders=FOLDERS):
        cands = [(f, p) for f in folders for p in sorted(self.entries[f])
                 if kinds is None or self.entries[f][p]["k"] in kinds]
        return self.r.choice(cands) if cands else (None, None)

    def folder(self):
        return self.r.choices(FOLDERS, [45, 30, 15, 10])[0]

    # -- mutations: each returns a short description, or None when it found nothing to do ----
    def m_add(self):
        f = self.folder()
        p = self.free_path(f)
        if not p:
            return None
        self.entries[f][p] = self.new_entry(p)
        return "add %s %s:%s" % (self.entries[f][p]["k"], f, p)

    def m_edit(self):
        f, p = self.pick_entry()
        if not f:
            return None
        e = self.entries[f][p]
        if e["k"] == "link":
            e["target"] = self.link_target(p)
        elif e["k"] == "tmpl":
            more = self.r.choice(SNIPPETS).encode() + b"\n"
            e["data"] = self.template() if self.r.random() < 0.5 else e["data"] + more
        else:
            e["data"] = self.text() if self.r.random() < 0.6 else e["data"] + b"more\n"
            e["ct"] = None
        return "edit %s %s:%s" % (e["k"], f, p)

    def m_delete(self):
        f, p = self.pick_entry()
        if not f:
            return None
        del self.entries[f][p]
        return "delete %s:%s" % (f, p)

    def m_rename(self):
        f, p = self.pick_entry()
        if not f:
            return None
        to = self.r.choice([f, f, self.folder()])  # now and then into another folder
        q = self.free_path(to, moving=(f, p))
        if not q or (to == f and q == p) or (to != f and q in self.entries[to]):
            return None
        self.entries[to][q] = self.entries[f].pop(p)
        if p in self.tables[f]:
            self.tables[to][q] = self.tables[f].pop(p)
        return "rename %s:%s -> %s:%s" % (f, p, to, q)

    def m_rename_dir(self):
        f = self.folder()
        dirs = sorted({a for p in self.entries[f] for a in ancestors(p) if a.count("/") >= 3})
        if not dirs:
            return None
        d = self.r.choice(dirs)
        new = d.rsplit("/", 1)[0] + "/" + self.r.choice(SUBDIRS + ["moved", "r%d" % self.r.randint(0, 9)])
        paths = self.all_paths()
        if new == d or new in paths or new in self.all_dirs() or any(a in paths for a in ancestors(new)):
            return None
        moves = [(p, new + p[len(d):]) for p in sorted(self.entries[f]) if p.startswith(d + "/")]
        if any(self.changes_kind(q) for _, q in moves):
            return None
        for p, q in moves:
            self.entries[f][q] = self.entries[f].pop(p)
            if p in self.tables[f]:
                self.tables[f][q] = self.tables[f].pop(p)
        return "rename folder %s:%s -> %s" % (f, d, new)

    def m_exec_bit(self):
        f, p = self.pick_entry(kinds=("file", "tmpl", "age"))
        if not f:
            return None
        e = self.entries[f][p]
        e["x"] = not e["x"]
        return "exec bit %s %s:%s" % ("on" if e["x"] else "off", f, p)

    def table_target(self):
        """A merged folder and a path some merged folder provides."""
        merged = self.merged()
        paths = sorted({p for f in merged for p in self.entries[f]})
        if not paths:
            return None, None
        return self.r.choice(merged), self.r.choice(paths)

    def merged_kind(self, path):
        kind = None
        for f in self.merged():
            if path in self.entries[f]:
                kind = self.entries[f][path]["k"]
        return kind

    def m_mode(self):
        f, p = self.table_target()
        if not f:
            return None
        if self.merged_kind(p) == "link":
            return None
        t = self.tables[f].setdefault(p, {})
        if "mode" in t and self.r.random() < 0.3:
            del t["mode"]
            return "[file] mode unset %s:%s" % (f, p)
        t["mode"] = self.r.choice(MODES)
        return "[file] mode %s %s:%s" % (t["mode"], f, p)

    def m_owner(self):
        if not self.owners:
            return None
        f, p = self.table_target()
        if not f:
            return None
        t = self.tables[f].setdefault(p, {})
        key = self.r.choice(["owner", "group"])
        if key in t and self.r.random() < 0.3:
            del t[key]
            return "[file] %s unset %s:%s" % (key, f, p)
        t[key] = self.r.choice(USERS if key == "owner" else GROUPS)
        return "[file] %s %s %s:%s" % (key, t[key], f, p)

    def m_pattern(self):
        f = self.folder()
        pat = self.r.choice(PATTERNS)
        keys = ["mode"] + (["owner", "group"] if self.owners else [])
        # Two patterns of one folder that set one key for one file are an error: a folder's
        # patterns set disjoint keys.
        taken = {k for q, t in self.tables[f].items() if q != pat and q in PATTERNS for k in t}
        free = [k for k in keys if k not in taken]
        t = self.tables[f].get(pat, {})
        if t and self.r.random() < 0.3:
            del self.tables[f][pat]
            return "[file] pattern removed %s:%s" % (f, pat)
        if not free:
            return None
        k = self.r.choice(free)
        t[k] = self.r.choice({"mode": MODES, "owner": USERS, "group": GROUPS}[k])
        self.tables[f][pat] = t
        return "[file] pattern %s %s=%s" % (pat, k, t[k])

    def m_type(self):
        r = self.r
        how = r.choice(["file<->link", "->folder", "folder->", "tmpl/age/file"])
        if how == "file<->link":
            f, p = self.pick_entry()
            if not f:
                return None
            e = self.entries[f][p]
            self.entries[f][p] = self.new_entry(p, "link" if e["k"] != "link" else r.choice(["file", "tmpl", "age"]))
            return "type %s -> %s %s:%s" % (e["k"], self.entries[f][p]["k"], f, p)
        if how == "->folder":
            f, p = self.pick_entry()
            if not f or p.count("/") >= 6:
                return None
            was = self.entries[f][p]["k"]
            for g in FOLDERS:
                self.entries[g].pop(p, None)

            def fill():
                added = 0
                for _ in range(r.randint(1, 3)):
                    q = p + "/" + r.choice(NAMES)
                    if self.fits(q) and not self.changes_kind(q):
                        self.entries[f][q] = self.new_entry(q)
                        added += 1
                return added and "folder %s:%s filled" % (f, p)
            return self.then(fill, "type %s -> folder %s:%s" % (was, f, p))
        if how == "folder->":
            f = self.folder()
            dirs = sorted({a for p in self.all_paths() for a in ancestors(p) if a.count("/") >= 3 and a not in TOPS})
            if not dirs:
                return None
            d = r.choice(dirs)
            for g in FOLDERS:
                for p in [p for p in self.entries[g] if p.startswith(d + "/")]:
                    del self.entries[g][p]

            def fill():
                if not self.fits(d) or self.changes_kind(d):
                    return None
                self.entries[f][d] = self.new_entry(d)
                return "%s %s:%s in the folder's place" % (self.entries[f][d]["k"], f, d)
            return self.then(fill, "type folder -> file %s:%s" % (f, d))
        f, p = self.pick_entry(kinds=("file", "tmpl", "age"))
        if not f:
            return None
        e = self.entries[f][p]
        k = r.choice([k for k in ("file", "tmpl", "age") if k != e["k"]])
        e["k"], e["ct"] = k, None
        if k == "tmpl":
            e["data"] = self.template()
        return "suffix -> %s %s:%s" % (k, f, p)

    def fits(self, path):
        """True when a new entry at path breaks no folder rule: nothing below it, no file or
        symlink above it."""
        paths = self.all_paths()
        return path not in self.all_dirs() and not any(a in paths for a in ancestors(path))

    def then(self, fill, what):
        """A folder that becomes a file or the other way: the new content in the same commit,
        or (two_step) in the next one. fjord refuses both in one commit today (the plan asks
        the host about the old kind; see incremental.sh)."""
        if not self.two_step:
            done = fill()
            return what + ("; " + done if done else "")
        self.pending.append(fill)
        return what + " (the new content in the next commit)"

    def changes_kind(self, path):
        """two_step: True when an entry at path would make a file of what was a folder when
        this commit began, or a folder of what was a file or symlink."""
        return self.two_step and (path in self.start_dirs or any(a in self.start_paths for a in ancestors(path)))

    def begin_commit(self):
        """The paths as the commit begins, then what the last commit left for this one."""
        self.start_paths, self.start_dirs = self.all_paths(), self.all_dirs()
        done = [fill() for fill in self.pending]
        self.pending = []
        self.repair()
        return [d for d in done if d]

    def m_var(self):
        f = self.r.choice(FOLDERS)
        k = self.r.choice(["s", "n", "flag", "lst", "tbl"])
        if f != BASE and k in self.vars[f] and self.r.random() < 0.35:
            del self.vars[f][k]
            return "var %s unset in %s" % (k, f)
        self.vars[f][k] = self.var_value(k, partial=f != BASE)
        return "var %s=%s in %s" % (k, json.dumps(self.vars[f][k]), f)

    def m_include(self):
        if self.r.random() < 0.7 or self.extra is None:
            self.extra = self.r.choice([x for x in (None, "before", "after") if x != self.extra])
            return "include extra: %s" % self.extra
        self.deep = not self.deep
        return "extra includes deep: %s" % self.deep

    def m_secret(self):
        f, p = self.pick_entry(kinds=("age",))
        if not f:
            return None
        e = self.entries[f][p]
        if self.r.random() < 0.5:
            e["ct"] = None  # the same plaintext encrypted again: new ciphertext, same content
            return "re-encrypt %s:%s" % (f, p)
        e["data"], e["ct"] = self.text(), None
        return "secret changed %s:%s" % (f, p)

    def m_unit(self):
        r = self.r
        f = self.folder()
        u = r.choice(UNITS)
        have = self.units[f].get(u)
        if have is None:
            self.units[f][u] = {"main": self.unit_file(), "dropins": {}}
            return "unit added %s:%s" % (f, u)
        how = r.choice(["edit", "delete", "dropin", "dropin", "undrop"])
        if how == "edit":
            have["main"] = self.unit_file()
        elif how == "delete":
            del self.units[f][u]
        elif how == "dropin":
            have["dropins"][r.choice(["10-a.conf", "20-b.conf"])] = self.unit_file(dropin=True)
        elif have["dropins"]:
            del have["dropins"][r.choice(sorted(have["dropins"]))]
        return "unit %s %s:%s" % (how, f, u)

    def unit_file(self, dropin=False):
        tmpl = self.r.random() < 0.4
        body = "[Service]\n" if dropin else "[Unit]\nDescription=t {r}\n[Service]\nExecStart=/bin/true\n"
        body = body.replace("{r}", str(self.r.getrandbits(16)))
        if tmpl:
            body += "Environment=S={{s}} N={{n}}\n"
        return {"tmpl": tmpl, "data": body.encode()}

    MUTATIONS = [
        ("m_add", 14), ("m_edit", 16), ("m_delete", 8), ("m_rename", 8), ("m_rename_dir", 3), ("m_exec_bit", 4),
        ("m_mode", 6), ("m_owner", 6), ("m_pattern", 3), ("m_type", 9), ("m_var", 9), ("m_include", 4),
        ("m_secret", 5), ("m_unit", 4),
    ]

    def mutate(self):
        names, weights = zip(*self.MUTATIONS)
        n = self.count()
        if n > 80:  # keep the tree at 30-80 files: each from-scratch apply stays cheap
            weights = [w * 4 if m == "m_delete" else w for m, w in self.MUTATIONS]
        elif n < 30:
            weights = [w * 4 if m == "m_add" else w for m, w in self.MUTATIONS]
        for _ in range(20):
            what = getattr(self, self.r.choices(names, weights)[0])()
            if what:
                self.repair()
                return what
        return "nothing"

    def repair(self):
        """Drops [file] settings fjord would refuse: a table for a path no merged folder
        provides, a mode for a symlink."""
        merged = self.merged()
        provided = {}
        for f in merged:
            for p, e in self.entries[f].items():
                provided[p] = e["k"]
        for f in FOLDERS:
            for key in list(self.tables[f]):
                if key in PATTERNS:
                    continue
                t = self.tables[f][key]
                if f in merged and key not in provided:
                    del self.tables[f][key]
                    continue
                if f in merged and provided.get(key) == "link":
                    t.pop("mode", None)
                if not t:
                    del self.tables[f][key]

    # -- the tree in Git -----------------------------------------------------------------------
    def tree(self, fjordctl, recipient):
        """Every file of the repo: path -> (Git mode, bytes); a symlink's bytes are its target."""
        out = {}
        for f in FOLDERS:
            for p, e in sorted(self.entries[f].items()):
                path = f + "/files" + p
                if e["k"] == "link":
                    out[path] = ("120000", e["target"].encode())
                    continue
                data = e["data"]
                if e["k"] == "tmpl":
                    path += ".tmpl"
                elif e["k"] == "age":
                    path += ".age"
                    if e["ct"] is None:
                        args = [fjordctl, "encrypt", "-r", recipient] + (["-a"] if self.r.random() < 0.3 else [])
                        e["ct"] = subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout
                    data = e["ct"]
                out[path] = ("100755" if e["x"] else "100644", data)
            for u, spec in sorted(self.units[f].items()):
                for name, one in [(u, spec["main"])] + [(u + ".d/" + c, x) for c, x in sorted(spec["dropins"].items())]:
                    out[f + "/units/" + name + (".tmpl" if one["tmpl"] else "")] = ("100644", one["data"])
            out[f + "/fjord.toml"] = ("100644", self.manifest(f).encode())
        return out

    def manifest(self, f):
        q = lambda s: json.dumps(s, ensure_ascii=False)  # a TOML basic string
        lines = []
        inc = []
        if f == HOST:
            inc = ["../../bundles/base"]
            if self.extra == "before":
                inc.insert(0, "../../bundles/extra")
            elif self.extra == "after":
                inc.append("../../bundles/extra")
        elif f == EXTRA and self.deep:
            inc = ["../deep"]
        if inc:
            lines.append("include = [%s]" % ", ".join(q(i) for i in inc))
        if self.vars[f]:
            lines.append("[vars]")
            for k, v in sorted(self.vars[f].items()):
                lines.append("%s = %s" % (k, toml_value(v)))
        for key, t in sorted(self.tables[f].items()):
            lines.append("[file.%s]" % q(key))
            for k, v in sorted(t.items()):
                lines.append("%s = %s" % (k, q(v)))
        return "\n".join(lines) + "\n"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join("%s = %s" % (k, toml_value(x)) for k, x in sorted(v.items())) + " }"


def exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


class FastImport:
    """Commits whole trees through one git fast-import: a git process per commit costs ~25 ms
    here, and the 200 commits take a second or two this way."""

    def __init__(self, repo):
        self.marks_file = os.path.join(os.path.abspath(repo), ".git", "incremental-marks")
        self.p = subprocess.Popen(["git", "-C", repo, "fast-import", "--quiet", "--export-marks=" + self.marks_file],
                                  stdin=subprocess.PIPE)
        self.blobs = {}  # content hash -> mark
        self.next = 0

    def mark(self):
        self.next += 1
        return ":%d" % self.next

    def data(self, b):
        self.p.stdin.write(b"data %d\n" % len(b) + b + b"\n")

    def blob(self, b):
        h = hashlib.sha1(b).digest()
        if h not in self.blobs:
            self.blobs[h] = self.mark()
            self.p.stdin.write(b"blob\nmark %s\n" % self.blobs[h].encode())
            self.data(b)
        return self.blobs[h]

    def commit(self, tree, msg, ref):
        marks = {path: self.blob(b) for path, (_, b) in tree.items()}
        m = self.mark()
        who = b"fjord-test <t@fjord.invalid> %d +0000\n" % int(time.time())
        self.p.stdin.write(b"commit refs/heads/work\nmark %s\nauthor %s" % (m.encode(), who) + b"committer " + who)
        self.data(msg.encode())
        self.p.stdin.write(b"deleteall\n")
        for path, (mode, _) in sorted(tree.items()):
            self.p.stdin.write(b"M %s %s %s\n" % (mode.encode(), marks[path].encode(), path.encode()))
        self.p.stdin.write(b"\nreset %s\nfrom %s\n\n" % (ref.encode(), m.encode()))
        return m

    def finish(self):
        self.p.stdin.close()
        if self.p.wait() != 0:
            die("git fast-import failed")
        with open(self.marks_file) as fh:
            return dict(l.split() for l in fh)


def gen(repo, seed, commits, fjordctl, recipient, facts, owners, two_step):
    rnd = random.Random(seed)
    m = Model(rnd, owners, two_step)
    # Only users and groups this host has (Debian's base system has them all).
    USERS[:] = [u for u in USERS if exists(pwd.getpwnam, u)]
    GROUPS[:] = [g for g in GROUPS if exists(grp.getgrnam, g)]
    for f in FOLDERS:  # a first tree of ~40 files
        for _ in range({HOST: 18, BASE: 12, EXTRA: 6, DEEP: 4}[f]):
            p = m.free_path(f)
            if p:
                m.entries[f][p] = m.new_entry(p)
    m.extra, m.deep = "after", True
    m.units[BASE]["a.service"] = {"main": m.unit_file(), "dropins": {}}
    m.repair()
    fi = FastImport(repo)
    plan, present = [], set()
    for i in range(1, commits + 1):
        what = ["first tree"] if i == 1 else m.begin_commit() + [m.mutate() for _ in range(rnd.randint(1, 5))]
        mark = fi.commit(m.tree(fjordctl, recipient), "step %d: %s" % (i, "; ".join(what)), "refs/heads/c%04d" % i)
        # A fact change now and then: before a commit, or on its own after one.
        if facts and i > 1 and rnd.random() < 0.12:
            ip = rnd.choice(IPS)
            plan.append("fact %s %s" % ("del" if ip in present else "add", ip))
            present ^= {ip}
        plan.append("apply %d %s %s" % (i, mark, "; ".join(what)))
        if facts and rnd.random() < 0.06:
            ip = rnd.choice(IPS)
            plan.append("fact %s %s" % ("del" if ip in present else "add", ip))
            present ^= {ip}
            plan.append("refacts %d %s" % (i, mark))
    shas = fi.finish()
    for line in plan:
        w = line.split(" ", 3)
        if w[0] != "fact":
            w[2] = shas[w[2]]
        print(" ".join(w))


def main(argv):
    if len(argv) >= 5:
        repo, seed, commits, fjordctl, recipient = argv[0], int(argv[1]), int(argv[2]), argv[3], argv[4]
        gen(repo, seed, commits, fjordctl, recipient, "--facts" in argv[5:], "--no-owners" not in argv[5:],
            "--one-commit-folder-changes" not in argv[5:])
        return 0
    die("usage: REPO SEED COMMITS FJORDCTL RECIPIENT [--facts] [--no-owners] [--one-commit-folder-changes]")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
