#!/usr/bin/env bash
# Makes sure node and npm are on PATH for the tests that run the vendors' own Node clients
# against the simulators (connectors/*/sim/client_test.go). Those tests install their pinned
# packages themselves, once per lock file, into the user cache directory.
#
# When node or npm is missing and apt-get can run (as root, or through password-less sudo),
# this installs Debian's nodejs and npm. Otherwise it says what to do and succeeds: outside
# CI the vendor-client tests then skip; in CI (CI set) they fail, naming the missing tool.
set -euo pipefail

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	exit 0
fi

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
	echo "installing ${missing[*]} for the vendor-client tests (apt-get)"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	node --version >/dev/null && npm --version >/dev/null
	exit 0
fi

echo "note: ${missing[*]} not found and cannot be installed here; the vendor-client tests" \
	"(connectors/*/sim/client_test.go) skip, or fail when CI is set. Install Node.js 18 or newer with npm." >&2
