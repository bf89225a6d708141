#!/bin/bash
# The man pages and the bash completion against the code: the pages build from man/*.scd,
# render without warnings, and name every fjordctl verb and flag (from `fjordctl --help`),
# every fjordd flag (from `fjordd --help`), every key of config/fjord.toml with its default,
# and every journal MESSAGE_ID of units/fjord.catalog. So they cannot drift from the code.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$here/../lib.sh" "$1"

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

# fjordctl: every verb and every flag of its usage text.
help=$("$FJORDCTL" --help 2>&1)
verbs=$(printf '%s\n' "$help" | sed -nE 's/^  ([a-z]+)( \| ([a-z]+))?( .*|$)/\1 \3/p' | tr ' ' '\n' | sed '/^$/d')
flags=$(printf '%s\n' "$help" | grep -oE -- '(^| |\[)--?[a-z][a-z-]*' | sed 's/^[ []//' | sort -u)
[ "$(echo "$verbs" | wc -l)" -ge 12 ] || fail "fjordctl verbs" "could not read the verbs from fjordctl --help: $verbs"
missing=""; missing_c=""
for v in $verbs; do
  grep -qE "^ +$v( |$)" "$T/fjordctl.1.txt" || missing+=" $v"
  grep -qw -- "$v" "$src/completions/fjordctl" || missing_c+=" $v"
done
[ -z "$missing" ] && pass "fjordctl(1) documents every verb ($(echo $verbs | wc -w))" || fail "fjordctl(1) verbs" "missing:$missing"
[ -z "$missing_c" ] && pass "bash completion knows every verb" || fail "completion verbs" "missing:$missing_c"
missing=""; missing_c=""
for f in $flags; do
  grep -qw -- "$f" "$T/fjordctl.1.txt" || missing+=" $f"
  [ "$f" = "--config" ] || [ "$f" = "-r" ] || [ "$f" = "-a" ] || has -- "$f" "$src/completions/fjordctl" || missing_c+=" $f"
done
[ -z "$missing" ] && pass "fjordctl(1) documents every flag ($(echo $flags | wc -w))" || fail "fjordctl(1) flags" "missing:$missing"
[ -z "$missing_c" ] && pass "bash completion knows every flag" || fail "completion flags" "missing:$missing_c"
if bash -n "$src/completions/fjordctl" 2>"$T/bashn"; then pass "completion parses"
else fail "completion parses" "$(head -3 "$T/bashn")"; fi
if [ -f /usr/share/bash-completion/bash_completion ]; then
  got=$(bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"
    COMP_WORDS=(fjordctl sy); COMP_CWORD=1; COMP_LINE="fjordctl sy"; COMP_POINT=${#COMP_LINE}
    _fjordctl fjordctl sy fjordctl; echo "${COMPREPLY[*]}"' _ "$src/completions/fjordctl" 2>&1)
  [ "$got" = "sync" ] && pass "completion completes a verb" || fail "completion completes a verb" "got '$got'"
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
  for f in share/man/man8/fjordd.8 share/man/man1/fjordctl.1 share/man/man5/fjord.toml.5 share/bash-completion/completions/fjordctl; do
    [ -n "$(find "$T/dest" -path "*/$f" 2>/dev/null | head -1)" ] || miss+=" $f"
  done
  [ -z "$miss" ] && pass "meson install puts the pages and completion in place" || fail "install" "missing:$miss"
else
  fail "install" "meson install failed: $(tail -3 "$T/install.log")"
fi

# toml++ only through util/toml.hpp: its asserts must be off in every translation unit, or one
# that includes toml++ directly brings back the abort on "[}" (and two inline definitions: ODR).
direct=$(grep -rln '#include <toml++' src fuzz tests --include='*.?pp' | grep -v '^src/util/toml.hpp$' || true)
[ -z "$direct" ] && pass "toml++ is included only through util/toml.hpp" || fail "toml++ include" "direct in: $direct"
finish
