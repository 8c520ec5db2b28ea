#!/usr/bin/env bash
# docs/configuration.md carries each daemon's key table between markers; this checks that they
# equal what the binaries print (--print-config-reference), or rewrites them with --write.
# Usage: config_reference.sh <fanwatch-producer> <fanwatch-detector> <docs/configuration.md> [--write]
# fanwatch-tagger is $FW_TAGGER, else the one next to fanwatch-producer (the same CMake directory).
set -euo pipefail
producer="$1" detector="$2" doc="$3" mode="${4:-check}"
tagger="${FW_TAGGER:-$(dirname "$producer")/fanwatch-tagger}"
tmp="$(mktemp)"
trap 'rm -f "$tmp" "$tmp.new"' EXIT

# Replace the block between <!-- BEGIN name --> and <!-- END name --> with a file's content.
splice() {
	local name="$1" content="$2" in="$3" out="$4"
	awk -v b="<!-- BEGIN $name -->" -v e="<!-- END $name -->" -v f="$content" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$in" >"$out"
}

cp "$doc" "$tmp.new"
for d in producer detector tagger; do
	grep -qx "<!-- BEGIN $d -->" "$doc" || { echo "$doc: marker <!-- BEGIN $d --> missing"; exit 1; }
	bin="${!d}"
	"$bin" --print-config-reference >"$tmp"
	splice "$d" "$tmp" "$tmp.new" "$tmp.new.2"
	mv "$tmp.new.2" "$tmp.new"
done
if [[ "$mode" == "--write" ]]; then
	cp "$tmp.new" "$doc"
	echo "updated $doc"
elif ! diff -u "$doc" "$tmp.new"; then
	echo "FAIL: $doc differs from the daemons' key tables; regenerate with:"
	echo "  tests/cli/config_reference.sh build/producer/fanwatch-producer build/detector/fanwatch-detector docs/configuration.md --write"
	exit 1
else
	echo "ok: $doc matches the key tables"
fi
