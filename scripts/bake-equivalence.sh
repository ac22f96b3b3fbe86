#!/usr/bin/env bash
# Records what Docker's own `buildx bake --print` makes of every single-file
# bake fixture under testdata/rules/DWF50x, as JSON under
# testdata/bake-equivalence/<RULE>/<fixture>.json. A test in
# engine/input/bake compares dwf-policy's evaluation with these, target by
# target, so our inherits/groups/matrix code is held to buildx's.
#
#   BUILDX=/path/to/buildx scripts/bake-equivalence.sh
#
# buildx is not needed to run the tests, only to refresh the records; build
# it with: GOBIN=/tmp/bin go install github.com/docker/buildx/cmd/buildx@v0.38.2
# `--print` evaluates offline: no builder or daemon is contacted.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
buildx=${BUILDX:?set BUILDX to a buildx binary}
out=$root/testdata/bake-equivalence
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
for f in "$root"/testdata/rules/DWF50[0-9]/*.hcl "$root"/testdata/rules/DWF50[0-9]/*.json; do
	[[ -f $f ]] || continue
	rule=$(basename "$(dirname "$f")")
	name=$(basename "$f")
	rm -rf "$work"/*
	cp "$f" "$work/$name"
	if ! targets=$(cd "$work" && "$buildx" bake --list type=targets,format=json -f "$name" 2>/dev/null | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))'); then
		echo "skip $rule/$name: buildx cannot list its targets" >&2
		continue
	fi
	[[ -n $targets ]] || continue
	mkdir -p "$out/$rule"
	# shellcheck disable=SC2086 # target names are words
	if ! (cd "$work" && "$buildx" bake --print -f "$name" $targets 2>/dev/null) >"$out/$rule/$name.json"; then
		rm -f "$out/$rule/$name.json"
		echo "skip $rule/$name: buildx bake --print fails" >&2
	fi
done
echo "recorded $(find "$out" -name '*.json' | wc -l) files under ${out#"$root"/}" >&2
