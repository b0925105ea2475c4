#!/bin/sh
# build-connectors.sh builds every connector guest (each connectors/<name>/ directory whose Go
# files are package main) into build/connectors/<name>.wasm as a WASI reactor.
# Usage: scripts/build-connectors.sh [out-dir]   (run from the module root; `make connectors`)
set -eu
out="${1:-build/connectors}"
mkdir -p "$out"
status=0
for dir in connectors/*/; do
	name=$(basename "$dir")
	# Only guests: package main with Go files directly in the directory (not sim/, simkit).
	if ! grep -qs '^package main$' "$dir"*.go; then
		continue
	fi
	echo "building $name -> $out/$name.wasm"
	if ! GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' \
		-o "$out/$name.wasm.tmp" "./$dir"; then
		echo "build-connectors: $name failed" >&2
		status=1
		continue
	fi
	# Rename into place so a watching hub never reads a half-written module.
	mv "$out/$name.wasm.tmp" "$out/$name.wasm"
done
exit $status
