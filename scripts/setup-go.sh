#!/usr/bin/env bash
# Prints the path of a Go toolchain new enough to build FerretDB (1.24+), installing one into
# driftless's cache when none is on PATH. Debian's golang-go (1.19 on bookworm) is too old, so
# the toolchain comes from the Go module proxy, the way `go` itself fetches toolchains
# (golang.org/toolchain), checked against a pinned SHA-256.
set -euo pipefail

GO_VERSION=1.24.11
GO_SHA256_LINUX_AMD64=8a9685c09d449928863152512648530dafde05e7d41fcbb21baba3a852e84ef4
CACHE="${DRIFTLESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/driftless}"
DEST="$CACHE/tools/go-$GO_VERSION"

new_enough() {
	# go1.24.3 → 1 24; anything from 1.24 on will do.
	local v
	v=$("$1" env GOVERSION 2>/dev/null) || return 1
	v=${v#go}
	local major=${v%%.*} rest=${v#*.}
	local minor=${rest%%.*}
	[ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "${minor%%[!0-9]*}" -ge 24 ]; }
}

if command -v go >/dev/null 2>&1 && new_enough "$(command -v go)"; then
	command -v go
	exit 0
fi
if [ -x "$DEST/bin/go" ] && new_enough "$DEST/bin/go"; then
	echo "$DEST/bin/go"
	exit 0
fi
if [ "${1:-}" = "--installed-only" ]; then
	echo "setup: no Go 1.24+ on PATH or in $DEST" >&2
	exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
	echo "setup: Go 1.24+ is needed to build FerretDB; install it from https://go.dev/dl/" >&2
	exit 1
fi
for tool in curl unzip; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "setup: $tool is needed to fetch Go; installing it" >&2
		SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
		$SUDO apt-get update -q >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl unzip ca-certificates >&2
	fi
done
echo "setup: fetching Go $GO_VERSION from the Go module proxy into $DEST (once)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip"
curl -fsSL --retry 3 -o "$work/go.zip" "$url"
echo "$GO_SHA256_LINUX_AMD64  $work/go.zip" | sha256sum -c --quiet - >&2
unzip -q "$work/go.zip" -d "$work/unpacked"
mkdir -p "$CACHE/tools"
rm -rf "$DEST.partial"
mv "$work/unpacked/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64" "$DEST.partial"
chmod -R u+w "$DEST.partial"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
echo "$DEST/bin/go"
