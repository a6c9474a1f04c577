#!/usr/bin/env bash
# Generates what both packages install beside the jars, into OUT:
#   man/man1/vmmig*.1.gz  picocli-codegen's ManPageGenerator (vmmig and each subcommand), asciidoctor -b manpage
#   man/man5/vmmig.conf.5.gz  packaging/man/vmmig.conf.5.adoc with the keys of packaging/vmmig.conf.example
#   completion/vmmig      picocli's AutoComplete (bash)
#   changelog.Debian.gz, changelog.rpm   from CHANGELOG.md (each "## VERSION - YYYY-MM-DD" section)
# Usage: generate.sh CLASSPATH OUT PKG_VERSION PKG_RELEASE BASE_VERSION SOURCE_ROOT MAINTAINER
set -euo pipefail
cp=$1 out=$2 version=$3 release=$4 base=$5 root=$6 maintainer=$7
export LC_ALL=C
command -v asciidoctor >/dev/null || { echo "generate.sh: the man pages need asciidoctor (apt-get install asciidoctor)" >&2; exit 1; }
rm -rf "$out/adoc" "$out/man" "$out/completion"
mkdir -p "$out/adoc" "$out/man/man1" "$out/man/man5" "$out/completion"

java -cp "$cp" picocli.codegen.docgen.manpage.ManPageGenerator --outdir="$out/adoc" io.vmmig.agent.Main
asciidoctor -b manpage -a release-version="$version" -D "$out/man/man1" "$out"/adoc/vmmig.adoc "$out"/adoc/vmmig-*.adoc
# vmmig.conf(5): the hand-written page around the keys of the shipped example config, each paragraph of
# "# text" lines ending in "# key = value" lines becoming one entry
cp "$root/packaging/man/vmmig.conf.5.adoc" "$out/adoc/"
awk '
  function flush() { if (nkeys > 0) printf "%s::\n  +%s+\n\n", terms, desc; desc = ""; terms = ""; nkeys = 0 }
  /^# ?[a-z][a-z0-9.-]* = / { line = $0; sub(/^# ?/, "", line); t = "*+" line "+*"; terms = (nkeys++ ? terms ", " t : t); next }
  /^#/ { if (nkeys > 0) flush(); line = $0; sub(/^# ?/, "", line); desc = (desc == "" ? line : desc " " line); next }
  /^[[:space:]]*$/ { flush(); next }
  END { flush() }' "$root/packaging/vmmig.conf.example" > "$out/adoc/vmmig.conf.keys.adoc"
grep -q '^\*+control-socket = ' "$out/adoc/vmmig.conf.keys.adoc" || { echo "generate.sh: no keys found in vmmig.conf.example" >&2; exit 1; }
asciidoctor -b manpage -a release-version="$version" -D "$out/man/man5" "$out/adoc/vmmig.conf.5.adoc"
gzip -9nf "$out"/man/man1/*.1 "$out"/man/man5/*.5

java -cp "$cp" picocli.AutoComplete --force --name=vmmig --completionScript="$out/completion/vmmig" io.vmmig.agent.Main
sed -i '1{/^#!/d}' "$out/completion/vmmig"   # sourced by bash-completion, not executed

# CHANGELOG.md -> "VERSION|DATE|item" lines (an item's indented continuation lines joined)
items=$(awk '
  /^## / { split(substr($0, 4), h, " - "); v = h[1]; d = h[2]; next }
  v == "" { next }
  /^- / { if (it != "") print v "|" d "|" it; it = substr($0, 3); next }
  /^  +[^ ]/ && it != "" { sub(/^ +/, ""); it = it " " $0; next }
  { if (it != "") print v "|" d "|" it; it = "" }
  END { if (it != "") print v "|" d "|" it }' "$root/CHANGELOG.md")
[ -n "$items" ] || { echo "generate.sh: no '## VERSION - DATE' section with '- ' items in CHANGELOG.md" >&2; exit 1; }

pkgversion() { if [ "$1" = "$base" ]; then echo "$version-$release"; else echo "$1-1"; fi; }
deb=$out/changelog.Debian rpm=$out/changelog.rpm
: > "$deb"; : > "$rpm"
prev=
while IFS='|' read -r v d it; do
  if [ "$v" != "$prev" ]; then
    if [ -n "$prev" ]; then
      printf '\n -- %s  %s\n\n' "$maintainer" "$(date -u -d "$pd" '+%a, %d %b %Y 00:00:00 +0000')" >> "$deb"
    fi
    printf 'vmmig (%s) unstable; urgency=medium\n\n' "$(pkgversion "$v")" >> "$deb"
    [ -s "$rpm" ] && echo >> "$rpm"
    printf '* %s %s - %s\n' "$(date -u -d "$d" '+%a %b %d %Y')" "$maintainer" "$(pkgversion "$v")" >> "$rpm"
    prev=$v pd=$d
  fi
  printf '%s\n' "$it" | fold -s -w 72 | sed -e '1s/^/  * /' -e '2,$s/^/    /' -e 's/ *$//' >> "$deb"
  printf '%s\n' "$it" | fold -s -w 72 | sed -e '1s/^/- /' -e '2,$s/^/  /' -e 's/ *$//' >> "$rpm"
done <<< "$items"
printf '\n -- %s  %s\n' "$maintainer" "$(date -u -d "$pd" '+%a, %d %b %Y 00:00:00 +0000')" >> "$deb"
gzip -9nf "$deb"
echo "generate.sh: $(ls "$out"/man/man1 | wc -l) man pages in section 1, vmmig.conf(5), bash completion, changelogs"
