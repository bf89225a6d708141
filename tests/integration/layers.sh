#!/bin/bash
# The layers of src/ point one way (DESIGN.md §2, STYLE.md 1), checked from the sources, the
# meson files and the built binaries:
# - every folder src/X includes (a quoted "Y/..." include) only the layers that its meson
#   dependency X_deps (src/X/meson.build) declares, and declares only layers it includes;
# - what a folder includes stays within what the map below allows it (the map mirrors
#   DESIGN.md §2 and docs/ARCHITECTURE.md: who may use whom); a new folder must be added;
# - named arrows that once ran the wrong way stay gone: cli -> daemon, health -> apply,
#   manifest -> source, daemon/metrics.hpp -> the engine or the recorder; no cycle;
# - test_plan and test_manifest link no libgit2, libcurl or libseccomp; fjordctl links no daemon
#   library, and of libsystemd only sd-journal, from src/cli/events_cmd.cpp alone (`fjordctl
#   events` reads the journal; fjordctl never drives systemd: no sd-bus, sd-event, sd-daemon).
# The checker is first run on a scratch copy of src/ with one planted fault of each kind, and
# must catch them all.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$here/../lib.sh" "$1"

# check_layers ROOT: checks ROOT/src. Prints "OK kind what" for each check that holds and
# "BAD kind what: why" for each fault.
check_layers() {
  python3 - "$1" <<'PY'
import glob, os, re, sys

root = sys.argv[1]
# Who may use whom: each layer and the layers it may include (DESIGN.md §2).
MAY_USE = {
    "util":     set(),
    "config":   {"util"},
    "control":  {"util", "config"},
    "fleet":    {"util", "config", "source"},
    "secrets":  {"util"},
    "source":   {"util", "config"},
    "images":   {"util"},
    "manifest": {"util"},
    "plan":     {"util", "manifest"},
    "host":     {"util", "manifest"},
    "apply":    {"util", "manifest", "plan", "host"},
    "sandbox":  {"util", "config", "source", "manifest", "fleet"},
    "prereq":   {"util", "config"},
    "facts":    {"util", "config", "manifest", "prereq"},
    "health":   {"util", "manifest", "plan", "host"},
    "daemon":   {"util", "config", "control", "secrets", "source", "images", "manifest", "plan", "host",
                 "apply", "sandbox", "prereq", "facts", "health", "fleet"},
    "cli":      {"util", "config", "control", "secrets", "manifest", "plan", "apply", "sandbox", "prereq",
                 "facts", "fleet"},
}
# Arrows that ran the wrong way once (issue 17), each said by name.
NEVER = [("cli", "daemon"), ("health", "apply"), ("manifest", "source")]
# Single headers that must not include a layer's heavy parts.
NEVER_FILE = [("daemon/metrics.hpp", "daemon/engine.hpp"), ("daemon/metrics.hpp", "daemon/recorder.hpp")]

srcdir = os.path.join(root, "src")
folders = sorted(d for d in os.listdir(srcdir) if os.path.isfile(os.path.join(srcdir, d, "meson.build")))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([^"]+)"', re.M)

includes = {}   # folder -> {layer: first file that includes it}
file_includes = {}
for x in folders:
    includes[x] = {}
    for f in sorted(glob.glob(os.path.join(srcdir, x, "*.[ch]pp"))):
        rel = os.path.relpath(f, srcdir)
        text = open(f, encoding="utf-8", errors="replace").read()
        file_includes[rel] = {a + "/" + b for a, b in INCLUDE.findall(text)}
        for y, _ in INCLUDE.findall(text):
            if y != x and y in folders:
                includes[x].setdefault(y, rel)

def declared(x):
    """The layers named by Y_dep in src/X/meson.build, X's own X_dep and X_deps aside."""
    text = open(os.path.join(srcdir, x, "meson.build"), encoding="utf-8").read()
    text = re.sub(r"#.*", "", text)
    return {m for m in re.findall(r"\b([a-z]+)_dep\b", text) if m in folders and m != x}

out = []
for x in folders:
    decl = declared(x)
    missing = sorted(set(includes[x]) - decl)
    if missing:
        for y in missing:
            out.append(f"BAD undeclared {x}: {includes[x][y]} includes {y}/, which src/{x}/meson.build does not declare ({y}_dep)")
    else:
        out.append(f"OK undeclared {x}")
    unused = sorted(decl - set(includes[x]))
    if unused:
        out.append(f"BAD unused {x}: src/{x}/meson.build declares {', '.join(u + '_dep' for u in unused)}, but no file of src/{x} includes that layer")
    else:
        out.append(f"OK unused {x}")
    if x not in MAY_USE:
        out.append(f"BAD map {x}: src/{x} is not in the map of layers (tests/integration/layers.sh, DESIGN.md §2)")
        continue
    beyond = sorted(set(includes[x]) - MAY_USE[x])
    if beyond:
        for y in beyond:
            out.append(f"BAD map {x}: {includes[x][y]} includes {y}/, which {x} may not use")
    else:
        out.append(f"OK map {x}")
for x, y in NEVER:
    if y in includes.get(x, {}):
        out.append(f"BAD arrow {x}->{y}: {includes[x][y]} includes {y}/")
    else:
        out.append(f"OK arrow {x}->{y}")
for f, h in NEVER_FILE:
    if h in file_includes.get(f, set()):
        out.append(f"BAD arrow {f}->{h}: {f} includes {h}")
    else:
        out.append(f"OK arrow {f}->{h}")
# No cycle between folders: a layer never includes one that uses it.
state, cycle = {}, []
def visit(x, path):
    state[x] = 1
    for y in sorted(includes.get(x, {})):
        if state.get(y) == 1 and not cycle:
            cycle.extend(path[path.index(y):] + [y] if y in path else [x, y])
        elif y not in state:
            visit(y, path + [y])
    state[x] = 2
for x in folders:
    if x not in state:
        visit(x, [x])
out.append(f"BAD cycle: {' -> '.join(cycle)}" if cycle else "OK cycle")
print("\n".join(out))
PY
}

# 1. The checker catches each kind of fault, planted in a scratch copy of src/.
mkdir -p "$T/tree"
cp -r "$src/src" "$T/tree/src"
first_cpp() { ls "$T/tree/src/$1/"*.cpp | head -1; }
sed -i '1a #include "daemon/log.hpp"' "$(first_cpp cli)"          # cli -> daemon: undeclared, beyond the map, a named arrow
sed -i '1a #include "apply/store.hpp"' "$(first_cpp health)"      # health -> apply
sed -i '1a #include "source/git_source.hpp"' "$(first_cpp manifest)" # manifest -> source
sed -i '1a #include "daemon/recorder.hpp"' "$T/tree/src/daemon/metrics.hpp"
sed -i 's/^plan_deps = \[/plan_deps = [secrets_dep, /' "$T/tree/src/plan/meson.build" # declared, never included
sed -i '1a #include "config/config.hpp"' "$(first_cpp util)"     # util -> config -> util: a cycle
mkdir -p "$T/tree/src/newlayer" && echo "newlayer_lib = 1" >"$T/tree/src/newlayer/meson.build"
check_layers "$T/tree" >"$T/planted" 2>&1
while IFS='|' read -r what want; do
  has -E "^$want" "$T/planted" && pass "the checker catches a planted fault: $what" ||
    fail "the checker misses a planted fault: $what" "no line matching '$want' in: $(grep BAD "$T/planted" | head -20)"
done <<'EOF2'
an include of a layer the folder's meson dependency does not declare|BAD undeclared cli: .* includes daemon/
an include beyond the map of layers|BAD map cli: .* daemon/
cli includes daemon/|BAD arrow cli->daemon
health includes apply/|BAD arrow health->apply
manifest includes source/|BAD arrow manifest->source
metrics.hpp includes the recorder|BAD arrow daemon/metrics.hpp->daemon/recorder.hpp
a declared layer no file includes|BAD unused plan: .*secrets_dep
a cycle between layers|BAD cycle: 
a folder not in the map|BAD map newlayer: 
EOF2

# 2. The real tree.
check_layers "$src" >"$T/real" 2>&1
grep -q '^OK ' "$T/real" || fail "layer checker" "it printed no result: $(head -5 "$T/real")"
# Each check as a sentence: "src/cli includes only the layers its meson dependency declares".
say() {
  case "$1" in
    undeclared) echo "src/$2 includes only the layers its meson dependency declares" ;;
    unused) echo "src/$2 declares only layers it includes" ;;
    map) echo "src/$2 uses only the layers the map allows it" ;;
    arrow) echo "no include $2" ;;
    cycle) echo "no cycle between layers" ;;
    *) echo "$1 $2" ;;
  esac
}
while read -r status kind what; do
  case "$status" in
    OK) pass "$(say "$kind" "$what")" ;;
    BAD) fail "$(say "$kind" "${what%%:*}")" "${what#*: }" ;;
    *) fail "layer checker" "$status $kind $what" ;;
  esac
done <"$T/real"

# 3. The binaries link what their layers use, no more.
links() { ldd "$1" 2>/dev/null | awk '{print $1}'; }
for t in test_plan test_manifest; do
  bin=$BUILD/tests/$t
  if [ ! -x "$bin" ]; then fail "$t links" "$bin is not built"; continue; fi
  bad=$(links "$bin" | grep -E '^lib(git2|curl|seccomp)\.' | tr '\n' ' ')
  [ -z "$bad" ] && pass "$t links no libgit2, libcurl or libseccomp" || fail "$t links" "$bad"
done
if [ -x "$FJORDCTL" ]; then
  # Of libsystemd, fjordctl uses sd-journal only (fjordctl events): the libsystemd functions it
  # calls, beyond sd_journal_*, must be none. fjordd (sd-bus, sd-event) shows the check can fail.
  sd_beyond_journal() { nm -D --undefined-only "$1" 2>/dev/null | awk '{print $NF}' | grep -E '^sd_' | grep -vE '^sd_journal_' | tr '\n' ' '; }
  if [ -z "$(sd_beyond_journal "$FJORDD")" ]; then fail "the libsystemd check" "it finds no sd-bus or sd-event call in fjordd either"
  elif bad=$(sd_beyond_journal "$FJORDCTL"); [ -n "$bad" ]; then fail "fjordctl uses libsystemd beyond sd-journal" "$bad"
  elif ! nm -D --undefined-only "$FJORDCTL" | has -E ' sd_journal_open(@|$)'; then fail "fjordctl events" "fjordctl calls no sd_journal_open"
  else pass "fjordctl uses of libsystemd only sd-journal (fjordctl events)"; fi
  bad=$(grep -l '#include <systemd/' "$src"/src/cli/*.[ch]pp | grep -v '/events_cmd\.cpp$' | tr '\n' ' ')
  [ -z "$bad" ] && pass "in src/cli, only events_cmd.cpp includes a libsystemd header" || fail "libsystemd headers in src/cli" "$bad"
  # The static libraries fjordctl is linked from, as ninja knows them.
  inputs=$(ninja -C "$BUILD" -t query fjordctl 2>/dev/null | sed -n '/input:/,/outputs:/p')
  if [ -z "$inputs" ]; then fail "fjordctl's link inputs" "ninja -t query fjordctl said nothing"
  elif ! echo "$inputs" | has 'libfjord_cli\.a'; then fail "fjordctl's link inputs" "no libfjord_cli.a among: $inputs"
  elif echo "$inputs" | has 'libfjord_daemon\.a'; then fail "fjordctl links the daemon library" "$(echo "$inputs" | grep libfjord_)"
  else pass "fjordctl links no daemon library"; fi
else
  fail "fjordctl links" "$FJORDCTL is not built"
fi
finish
