#!/bin/bash
# The docs against the code, so they cannot drift from it:
# - README.md and docs/*.md: every usage text they quote (a fenced block after a marker line
#   `<!-- usage: fjordctl -->`, `<!-- usage: fjordd -->` or `<!-- usage: fjordctl VERB... -->`)
#   is the binaries' real output, verbatim; an unmarked block starting "usage: fjord" is an
#   error. Every relative link names a file that exists (and a heading, for #anchor), every
#   repository path they quote exists, and every `section.key` they name is a key of
#   config/fjord.toml. The checker is first run on a scratch tree with one planted fault of
#   each kind, and must catch them all.
# - The man pages and the bash completion: the pages build from man/*.scd, render without
#   warnings, and name every fjordctl verb and flag (from `fjordctl --help`), every fjordd flag
#   (from `fjordd --help`), every key of config/fjord.toml with its default, and every journal
#   MESSAGE_ID of units/fjord.catalog.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$here/../lib.sh" "$1"

# check_docs ROOT: checks ROOT/README.md and ROOT/docs/*.md (repository paths are looked up
# under ROOT, config keys in $src/config/fjord.toml). Prints "OK name count" for each kind of
# check and "BAD kind file:line: why" for each fault found.
check_docs() {
  python3 - "$1" "$src/config/fjord.toml" "$FJORDCTL" "$FJORDD" <<'PY'
import difflib, glob, os, re, subprocess, sys, urllib.parse

root, config, fjordctl, fjordd = sys.argv[1:5]
files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
files = [f for f in files if os.path.isfile(f)]
faults = []
counts = {"usage": 0, "links": 0, "paths": 0, "keys": 0}

def bad(kind, f, n, why):
    faults.append(f"BAD {kind} {os.path.relpath(f, root)}:{n}: {why}")

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
MARKER = re.compile(r"^\s*<!--\s*usage:\s*(fjordctl|fjordd)((?:\s+[a-z]+)*)\s*-->\s*$")

def parse(path):
    """All lines; lines outside fences (number, text); fenced blocks (the fence's line number,
    the lines inside, de-indented); usage markers (line number, program, verbs)."""
    prose, blocks, markers = [], [], []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            indent, fence = len(m.group(1)), m.group(2)
            body, j = [], i + 1
            while j < len(lines) and not re.match(r"^\s*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$", lines[j]):
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j].lstrip())
                j += 1
            blocks.append((i + 1, body))
            i = j + 1
            continue
        mk = MARKER.match(lines[i])
        if mk:
            markers.append((i + 1, mk.group(1), mk.group(2).split()))
        prose.append((i + 1, lines[i]))
        i += 1
    return lines, prose, blocks, markers

def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr

def expected_usage(prog, verbs):
    if not verbs:
        rc, out, err = run([fjordctl if prog == "fjordctl" else fjordd, "--help"])
        return out if rc == 0 and out else None
    got = []
    for v in verbs:
        rc, out, err = run([fjordctl, v, "--no-such-option"])
        usage = [l for l in err.split("\n") if l.startswith("usage: ")]
        if rc != 2 or not usage:
            return None
        got.append(usage[-1])
    return "\n".join(got) + "\n"

def slug(text):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")

anchor_cache = {}
def anchors(path):
    if path not in anchor_cache:
        _, prose, _, _ = parse(path)
        seen, out = {}, set()
        for _, l in prose:
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", l)
            if m:
                s = slug(m.group(1))
                out.add(s if s not in seen else f"{s}-{seen[s]}")
                seen[s] = seen.get(s, 0) + 1
            for a in re.findall(r'<a\s+(?:id|name)="([^"]+)"', l):
                out.add(a)
        anchor_cache[path] = out
    return anchor_cache[path]

def code_spans_out(line):
    return re.sub(r"(`+)(.+?)\1", " ", line)

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
# Repository paths: these top folders of the repo. A host folder's units/ (repo-layout.md)
# shares a name with the repo's units/, so only units/fjord.* is taken for a repo path.
REPO_PATH = re.compile(r"(?<![\w./-])((?:src|tests|man|examples|packaging|bench|fuzz|completions|config|docs|\.ci)/[\w./*<>{},-]*|units/fjord\.[\w.]+)")
config_keys, section = set(), None
for l in open(config, encoding="utf-8"):
    m = re.match(r"^#?\[\[?([a-z]+)\]\]?\s*$", l)
    if m:
        section = m.group(1)
        continue
    m = re.match(r"^#?([a-z_]+) = ", l)
    if m and section:
        config_keys.add(f"{section}.{m.group(1)}")
sections = sorted({k.split(".")[0] for k in config_keys})
CONFIG_KEY = re.compile(r"(?<![\w./-])(" + "|".join(sections) + r")\.([a-z_]+)(?![\w-])")
NOT_KEYS = {"md", "toml", "sh", "hpp", "cpp", "json", "service", "conf", "txt", "py", "d"}

for f in files:
    lines, prose, blocks, markers = parse(f)
    # Usage blocks.
    marked = set()
    for n, prog, verbs in markers:
        nxt = n  # the marker's own index in `lines` is n - 1; the fence must come next
        while nxt < len(lines) and lines[nxt].strip() == "":
            nxt += 1
        block = next((b for b in blocks if b[0] == nxt + 1), None)
        if block is None:
            bad("usage", f, n, f"usage marker for {prog} {' '.join(verbs)} is not followed by a fenced block")
            continue
        marked.add(block[0])
        counts["usage"] += 1
        want = expected_usage(prog, verbs)
        cmd = f"{prog} --help" if not verbs else f"fjordctl {' '.join(verbs)} (usage lines)"
        if want is None:
            bad("usage", f, n, f"{cmd}: the binary printed no usage text")
            continue
        have = "\n".join(block[1]).rstrip("\n") + "\n"
        if have != want.rstrip("\n") + "\n":
            diff = difflib.unified_diff(want.rstrip("\n").split("\n"), have.rstrip("\n").split("\n"),
                                        f"{prog} (the binary)", os.path.relpath(f, root), lineterm="", n=0)
            bad("usage", f, block[0], f"the block differs from {cmd}: " + " | ".join(list(diff)[:8]))
    for start, body in blocks:
        first = next((l for l in body if l.strip()), "")
        if start not in marked and re.match(r"^\s*usage: fjord", first):
            bad("usage", f, start, "a usage text without a <!-- usage: PROG --> marker line before it, so nothing checks it")
    # Links, outside code.
    for n, l in prose:
        text = code_spans_out(l)
        targets = LINK.findall(text) + [m.group(1) for m in [REFDEF.match(text)] if m]
        for t in targets:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t):
                continue  # http:, https:, mailto:
            counts["links"] += 1
            path, _, anchor = t.partition("#")
            path = urllib.parse.unquote(path)
            if path.startswith("/"):
                bad("link", f, n, f"{t}: an absolute path (links must be relative)")
                continue
            dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            if os.path.relpath(dest, root).startswith(".."):
                bad("link", f, n, f"{t}: leaves the repository")
            elif not os.path.exists(dest):
                bad("link", f, n, f"{t}: no such file")
            elif anchor and dest.endswith(".md") and os.path.isfile(dest) and anchor not in anchors(dest):
                bad("link", f, n, f"{t}: no heading #{anchor} in {os.path.relpath(dest, root)}")
    # Repository paths and config keys, in prose and code alike.
    for n, l in enumerate(lines, 1):
        for p in REPO_PATH.findall(l):
            p = p.rstrip(".")
            if p.endswith("/...") or re.search(r"[*<>{}]", p) or re.search(r"[A-Z]", p.split("/", 1)[1] if "/" in p else ""):
                continue  # a pattern or a placeholder, not a path
            counts["paths"] += 1
            if not os.path.exists(os.path.join(root, p)):
                bad("path", f, n, f"{p}: no such file in the repository")
        for sec, key in CONFIG_KEY.findall(l):
            if key in NOT_KEYS:
                continue
            counts["keys"] += 1
            if f"{sec}.{key}" not in config_keys:
                bad("key", f, n, f"{sec}.{key}: not a key of config/fjord.toml")

for k, v in counts.items():
    print(f"OK {k} {v}")
print("\n".join(faults))
PY
}

# The checker must catch each kind of fault: a scratch tree with one of each.
B=$T/docs-bad
mkdir -p "$B/docs" "$B/tests"
cat >"$B/README.md" <<'MD'
# Bad

See [the guide](docs/guide.md#no-such-heading), [nothing](docs/missing.md) and `tests/no-such.sh`.
Set `apply.no_such_key`.

<!-- usage: fjordctl -->
```
usage: fjordctl [--config FILE] VERB [ARGS]
  an old copy
```

```
usage: fjordd --an-unmarked-copy
```
MD
printf '# Guide\n\n## A heading\n\nBack to [the top](../README.md#bad) and [here](#a-heading).\n' >"$B/docs/guide.md"
check_docs "$B" >"$T/docs-bad.out" 2>&1
caught=""
for want in "BAD link README.md:3: docs/guide.md#no-such-heading: no heading" "BAD link README.md:3: docs/missing.md: no such file" \
  "BAD path README.md:3: tests/no-such.sh" "BAD key README.md:4: apply.no_such_key" "BAD usage README.md:7: the block differs from fjordctl --help" \
  "BAD usage README.md:12: a usage text without a"; do
  grep -qF -- "$want" "$T/docs-bad.out" || caught+=" [$want]"
done
extra=$(grep '^BAD' "$T/docs-bad.out" | grep -v 'README.md:[347]:\|README.md:12:')
if [ -z "$caught" ] && [ -z "$extra" ]; then pass "the docs checker catches a broken link, anchor, path, key and usage block (and nothing else)"
else fail "docs checker self-test" "missed:$caught; unexpected: $extra; output: $(head -20 "$T/docs-bad.out")"; fi

check_docs "$src" >"$T/docs.out" 2>&1
for kind in usage link path key; do
  n=$(sed -nE "s/^OK ${kind}s? ([0-9]+)$/\1/p" "$T/docs.out")
  what=$(case $kind in usage) echo "usage blocks quoted in README.md and docs/ match the binaries";; link) echo "relative links in README.md and docs/ resolve";;
         path) echo "repository paths named in README.md and docs/ exist";; key) echo "config keys named in README.md and docs/ are in config/fjord.toml";; esac)
  faults=$(grep "^BAD $kind " "$T/docs.out" | sed "s/^BAD $kind //")
  if [ -z "$n" ]; then fail "$what" "the checker did not run: $(tail -5 "$T/docs.out")"
  elif [ -n "$faults" ]; then fail "$what" "$(echo "$faults" | head -10 | tr '\n' ';')"
  else pass "$what ($n)"; fi
done
[ "$(sed -nE 's/^OK usage ([0-9]+)$/\1/p' "$T/docs.out")" -ge 3 ] 2>/dev/null ||
  fail "usage blocks" "fewer than 3 marked usage blocks in README.md and docs/ (fjordd, fjordctl, the verbs)"

render() { MANWIDTH=200 man --warnings -l "$1" 2>"$T/warn" | col -b; }

pages_ok=1
for p in fjordd.8 fjordctl.1 fjord.toml.5; do
  if [ ! -s "$BUILD/$p" ]; then
    fail "page $p" "$BUILD/$p was not built (is scdoc installed?)"
    pages_ok=0
    continue
  fi
  render "$BUILD/$p" >"$T/$p.txt"
  if [ -s "$T/warn" ]; then fail "page $p" "renders with warnings: $(head -3 "$T/warn")"
  elif ! grep -q "^NAME" "$T/$p.txt"; then fail "page $p" "no NAME section"
  else pass "page $p builds and renders"; fi
done
[ "$pages_ok" -eq 1 ] || { finish; exit 1; }

# fjordctl: every verb and every flag of its usage text. The completions are the ones the
# build made with `fjordctl completion bash|zsh`, which the package installs.
comp=$BUILD/completions/fjordctl
zcomp=$BUILD/completions/_fjordctl
for f in "$comp" "$zcomp"; do [ -s "$f" ] || fail "completion" "$f was not built"; done
cmp -s "$comp" <("$FJORDCTL" completion bash) && cmp -s "$zcomp" <("$FJORDCTL" completion zsh) &&
  pass "the built completions are fjordctl completion bash|zsh" || fail "built completions" "differ from fjordctl completion bash|zsh"
help=$("$FJORDCTL" --help 2>&1)
verbs=$(printf '%s\n' "$help" | sed -nE 's/^  ([a-z]+)( \| ([a-z]+))?( .*|$)/\1 \3/p' | tr ' ' '\n' | sed '/^$/d')
flags=$(printf '%s\n' "$help" | grep -oE -- '(^| |\[)--?[a-z][a-z-]*' | sed 's/^[ []//' | sort -u)
[ "$(echo "$verbs" | wc -l)" -ge 12 ] || fail "fjordctl verbs" "could not read the verbs from fjordctl --help: $verbs"
missing=""; missing_c=""
for v in $verbs; do
  grep -qE "^ +$v( |$)" "$T/fjordctl.1.txt" || missing+=" $v"
  grep -qw -- "$v" "$comp" || missing_c+=" $v"
done
[ -z "$missing" ] && pass "fjordctl(1) documents every verb ($(echo $verbs | wc -w))" || fail "fjordctl(1) verbs" "missing:$missing"
[ -z "$missing_c" ] && pass "bash completion knows every verb" || fail "completion verbs" "missing:$missing_c"
missing=""; missing_c=""
for f in $flags; do
  grep -qw -- "$f" "$T/fjordctl.1.txt" || missing+=" $f"
  [ "$f" = "--config" ] || [ "$f" = "-r" ] || [ "$f" = "-a" ] || has -- "$f" "$comp" || missing_c+=" $f"
done
[ -z "$missing" ] && pass "fjordctl(1) documents every flag ($(echo $flags | wc -w))" || fail "fjordctl(1) flags" "missing:$missing"
[ -z "$missing_c" ] && pass "bash completion knows every flag" || fail "completion flags" "missing:$missing_c"
if bash -n "$comp" 2>"$T/bashn"; then pass "completion parses"
else fail "completion parses" "$(head -3 "$T/bashn")"; fi
if [ -f /usr/share/bash-completion/bash_completion ]; then
  got=$(bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"
    COMP_WORDS=(fjordctl sy); COMP_CWORD=1; COMP_LINE="fjordctl sy"; COMP_POINT=${#COMP_LINE}
    _fjordctl fjordctl sy fjordctl; echo "${COMPREPLY[*]}"' _ "$comp" 2>&1)
  [ "$got" = "sync" ] && pass "completion completes a verb" || fail "completion completes a verb" "got '$got'"
fi

if command -v zsh >/dev/null; then
  if zsh -n "$zcomp" 2>"$T/zshn"; then pass "zsh completion parses"; else fail "zsh completion parses" "$(head -3 "$T/zshn")"; fi
  missing_c=""
  for v in $verbs; do grep -qE "^ +'$v:|^ +$v\)" "$zcomp" || missing_c+=" $v"; done
  [ -z "$missing_c" ] && pass "zsh completion knows every verb" || fail "zsh completion verbs" "missing:$missing_c"
  # zsh expands only braces with a comma: '{--version}' would reach _arguments as it is.
  lone=$(grep -oE "\{-[^,}]*\}" "$zcomp" | tr '\n' ' ')
  [ -z "$lone" ] && pass "zsh completion: no option spec in braces of one name" || fail "zsh option braces" "$lone"
fi

# fjordd: every flag.
missing=""
for f in $("$FJORDD" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
  grep -qw -- "$f" "$T/fjordd.8.txt" || missing+=" $f"
done
[ -z "$missing" ] && pass "fjordd(8) documents every flag" || fail "fjordd(8) flags" "missing:$missing"

# Journal MESSAGE_IDs.
missing=""
for id in $(sed -nE 's/^-- ([0-9a-f]{32})$/\1/p' "$src/units/fjord.catalog"); do
  grep -q "$id" "$T/fjordd.8.txt" || missing+=" $id"
done
[ -z "$missing" ] && pass "fjordd(8) lists every MESSAGE_ID" || fail "fjordd(8) MESSAGE_IDs" "missing:$missing"

# fjord.toml(5): every section, every key (commented-out ones too), every default.
missing=""; wrong=""; n=0
section=""
while IFS= read -r line; do
  if [[ $line =~ ^#?(\[\[?[a-z]+\]\]?)$ ]]; then
    section=${BASH_REMATCH[1]}
    grep -qF -- "$section" "$T/fjord.toml.5.txt" || missing+=" $section"
  elif [[ $line =~ ^(#?)([a-z_]+)\ =\ (.*)$ ]]; then
    key=${BASH_REMATCH[2]}; val=${BASH_REMATCH[3]}; n=$((n + 1))
    grep -qE "^ +$key = " "$T/fjord.toml.5.txt" || { missing+=" $section.$key"; continue; }
    # A key set in the shipped file is set to its default: the page must say the same.
    if [ -z "${BASH_REMATCH[1]}" ] && [ "$section" != "[[notify]]" ]; then
      grep -qF -- "*$key* = _" "$src/man/fjord.toml.5.scd" &&
        grep -F -- "*$key* = _" "$src/man/fjord.toml.5.scd" | has -F -- "(default: $val" || wrong+=" $section.$key=$val"
    fi
  fi
done <"$src/config/fjord.toml"
[ "$n" -ge 30 ] || fail "config keys" "read only $n keys from config/fjord.toml"
[ -z "$missing" ] && pass "fjord.toml(5) documents every key of config/fjord.toml ($n)" || fail "fjord.toml(5) keys" "missing:$missing"
[ -z "$wrong" ] && pass "fjord.toml(5) gives every key's default as config/fjord.toml sets it" || fail "fjord.toml(5) defaults" "differ:$wrong"

# Installed where man and bash-completion look.
if DESTDIR="$T/dest" meson install -C "$BUILD" --no-rebuild >"$T/install.log" 2>&1; then
  miss=""
  for f in share/man/man8/fjordd.8 share/man/man1/fjordctl.1 share/man/man5/fjord.toml.5 share/bash-completion/completions/fjordctl \
    share/zsh/vendor-completions/_fjordctl; do
    [ -n "$(find "$T/dest" -path "*/$f" 2>/dev/null | head -1)" ] || miss+=" $f"
  done
  [ -z "$miss" ] && pass "meson install puts the pages and completion in place" || fail "install" "missing:$miss"
else
  fail "install" "meson install failed: $(tail -3 "$T/install.log")"
fi

# Scripts call git's paging commands with --no-pager: on a minimal Debian (no less) at a
# terminal, git falls back to more, and the demo stopped at --More-- inside git log.
paged=$(cd "$src" && grep -nE '\bgit( -C [^ ]+)* (log|show|diff|blame|grep)\b' examples/*.sh packaging/*.sh bench/*.sh \
  tests/*.sh tests/integration/*.sh .ci/run 2>/dev/null | grep -v -- '--no-pager' | grep -vE ':[0-9]+: *#' || true)
[ -z "$paged" ] && pass "scripts call git log/show/diff with --no-pager" || fail "git pager" "without --no-pager: $paged"

# toml++ only through util/toml.hpp: its asserts must be off in every translation unit, or one
# that includes toml++ directly brings back the abort on "[}" (and two inline definitions: ODR).
direct=$(grep -rln '#include <toml++' src fuzz tests --include='*.?pp' | grep -v '^src/util/toml.hpp$' || true)
[ -z "$direct" ] && pass "toml++ is included only through util/toml.hpp" || fail "toml++ include" "direct in: $direct"
finish
