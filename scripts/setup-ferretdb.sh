#!/usr/bin/env bash
# Builds FerretDB (a MongoDB wire-protocol server on SQLite) into driftless's cache, once.
# Used when no `mongod` is on PATH: mongod cannot be installed on these machines.
#
# `go install …@v1.24.2` builds a binary that panics at start: the module zip lacks the
# build/version/version.txt that its release builds generate. So: fetch the module with
# `go mod download`, copy it, write that file, and `go build` there.
set -euo pipefail

VERSION=v1.24.2
CACHE="${DRIFTLESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/driftless}"
DEST="$CACHE/tools/ferretdb-$VERSION"
BIN="$DEST/ferretdb"

if command -v mongod >/dev/null 2>&1; then
	echo "setup: mongod found on PATH; FerretDB not needed"
	exit 0
fi
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
	echo "setup: FerretDB $VERSION cached at $BIN"
	exit 0
fi
# With --if-go, only build when a new enough Go is already installed (`make demo`: the
# PostgreSQL part must not need Go).
if [ "${1:-}" = "--if-go" ]; then
	if ! "$(dirname "$0")/setup-go.sh" --installed-only >/dev/null 2>&1; then
		echo "setup: MongoDB part skipped: building FerretDB (mongod is not installed) needs Go 1.24+;" \
			"\`make setup-mongo\` (run by \`make test\`) fetches Go and builds it" >&2
		exit 3
	fi
fi
go=$("$(dirname "$0")/setup-go.sh")
export GOTOOLCHAIN=local
echo "setup: building FerretDB $VERSION into $DEST with $("$go" version | cut -d' ' -f3) (once; about a minute)"
mod_dir=$(cd /tmp && GOFLAGS=-mod=mod "$go" mod download -json "github.com/FerretDB/FerretDB@$VERSION" \
	| sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$mod_dir" ] || [ ! -d "$mod_dir" ]; then
	echo "setup: go mod download of FerretDB $VERSION failed" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$mod_dir" "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$work/src/build/version"
echo "$VERSION" > "$work/src/build/version/version.txt"
(cd "$work/src" && CGO_ENABLED=0 "$go" build -trimpath -o "$work/ferretdb" ./cmd/ferretdb)
mkdir -p "$DEST"
mv "$work/ferretdb" "$BIN.partial"
mv "$BIN.partial" "$BIN"
# Not `| head`: with pipefail, the SIGPIPE it may send the binary fails the script.
version=$("$BIN" --version)
echo "setup: FerretDB ready at $BIN (${version%%$'\n'*})"
