#!/usr/bin/env bash
# Builds the release archive driftless-<version>-<target>.tar.gz from a built binary:
#   scripts/dist.sh BINARY OUT_DIR
# The archive holds one folder: the binary, both licenses, README, the report's JSON Schema and
# contract, shell completions, man pages and a bundled example; beside it goes a .sha256 file.
# The archive appears whole or not at all (written as .partial, then renamed).
set -euo pipefail

bin=${1:?usage: scripts/dist.sh BINARY OUT_DIR}
out=${2:?usage: scripts/dist.sh BINARY OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$("$bin" --version | awk '{print $2}')
target=${DRIFTLESS_TARGET:-$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')}
target=${target:-$(uname -m)-unknown-linux-gnu}
name="driftless-$version-$target"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/$name"
mkdir -p "$root/completions" "$root/man" "$root/schema" "$root/docs" "$root/examples/postgres"
install -m 0755 "$bin" "$root/driftless"
cp "$repo/LICENSE-MIT" "$repo/LICENSE-APACHE" "$repo/README.md" "$root/"
"$root/driftless" schema > "$root/schema/report.schema.json"
cp "$repo/docs/report.md" "$root/docs/"
"$root/driftless" completions bash > "$root/completions/driftless.bash"
"$root/driftless" completions zsh > "$root/completions/_driftless"
"$root/driftless" completions fish > "$root/completions/driftless.fish"
"$root/driftless" completions powershell > "$root/completions/_driftless.ps1"
"$root/driftless" man --out-dir "$root/man"
cp -r "$repo/migrations-under-test/postgres/data_loss" "$root/examples/postgres/"

mkdir -p "$out"
archive="$out/$name.tar.gz"
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$archive.partial" "$name"
mv "$archive.partial" "$archive"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256.partial" && mv "$name.tar.gz.sha256.partial" "$name.tar.gz.sha256")
echo "$archive"
