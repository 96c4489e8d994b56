#!/usr/bin/env bash
# Compares `driftless lint` with squawk (the static PostgreSQL migration linter) on squawk's
# documented bad / good examples, re-typed as short SQL files in tests/fixtures/lint-peer/
# (`<squawk-rule>.bad<N>.sql`, `<squawk-rule>.good<N>.sql`). Not part of the test suite.
#
# Each example runs alone, as squawk assumes by default: a file its runner does not wrap in a
# transaction (for driftless: a goose migration with `-- +goose NO TRANSACTION`).
#
# Two counts per tool:
#   any      the tool reports anything at all on the file (its default rules, any severity);
#   on-topic the tool reports the hazard the example is about (squawk: that rule; driftless:
#            the rule of its own that covers it, from the table below).
# "caught" is counted on bad examples, "flagged" on good ones.
#
# Usage: scripts/compare-squawk.sh [SQUAWK] [DRIFTLESS]
#   SQUAWK     default: squawk on PATH (pip install squawk-cli)
#   DRIFTLESS  default: target/release/driftless
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
squawk="${1:-squawk}"
driftless="${2:-$here/target/release/driftless}"
cases="$here/tests/fixtures/lint-peer"
work="$(mktemp -d "${TMPDIR:-/tmp}/compare-squawk.XXXXXX")"
trap 'rm -rf "$work"' EXIT

command -v "$squawk" >/dev/null || { echo "squawk not found (pip install squawk-cli)" >&2; exit 2; }
[ -x "$driftless" ] || { echo "build driftless first: cargo build --release --locked" >&2; exit 2; }
echo "squawk: $("$squawk" --version)  driftless: $("$driftless" --version)"

results="$work/results.tsv"
for file in "$cases"/*.sql; do
    base="$(basename "$file" .sql)"
    rule="${base%.*}"
    kind="${base##*.}"
    kind="${kind%%[0-9]*}"
    squawk_rules="$("$squawk" --reporter gcc "$file" 2>/dev/null \
        | sed -n 's/.*: \(warning\|error\): \([a-z-]*\) .*/\2/p' | sort -u | paste -sd, -)" || true
    dir="$work/$base"
    mkdir -p "$dir"
    { printf -- '-- +goose Up\n-- +goose NO TRANSACTION\n'; cat "$file"; } > "$dir/00001_case.sql"
    # Exit 1 (a finding at --fail-on) is a result here, not a failure.
    "$driftless" lint --migrations "$dir" --migration-format goose --format json --quiet \
        --color never > "$dir/report.json" 2>"$dir/stderr" || [ $? -eq 1 ] \
        || { echo "driftless failed on $base: $(cat "$dir/stderr")" >&2; exit 3; }
    driftless_rules="$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(",".join(sorted({f.get("rule") or (f.get("details") or {}).get("rule") or f["kind"] for f in r["findings"]})))' < "$dir/report.json")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$rule" "$kind" "$base" "$squawk_rules" "$driftless_rules" >> "$results"
done

python3 - "$results" <<'EOF'
import sys

# squawk rule -> the driftless rules that cover its hazard
COVER = {
    "adding-field-with-default": {"adding-column-volatile-default"},
    "adding-foreign-key-constraint": {"adding-constraint-without-not-valid"},
    "adding-not-nullable-field": {"setting-not-null"},
    "adding-required-field": {"adding-required-column"},
    "adding-serial-primary-key-field": {"adding-unique-constraint"},
    "ban-alter-domain-with-add-constraint": {"domain-constraint"},
    "ban-create-domain-with-constraint": {"domain-constraint"},
    "ban-char-field": {"avoid-char"},
    "ban-concurrent-index-creation-in-transaction": {"concurrently-in-transaction"},
    "ban-drop-column": {"dropping-column"},
    "ban-drop-database": {"dropping-database"},
    "ban-drop-not-null": {"dropping-not-null"},
    "ban-drop-table": {"dropping-table"},
    "ban-truncate-cascade": {"truncating-cascade"},
    "ban-uncommitted-transaction": {"transaction-left-open"},
    "changing-column-type": {"changing-column-type"},
    "constraint-missing-not-valid": {"adding-constraint-without-not-valid"},
    "disallowed-unique-constraint": {"adding-unique-constraint"},
    "identifier-too-long": {"identifier-too-long"},
    "prefer-bigint-over-int": {"prefer-bigint"},
    "prefer-bigint-over-smallint": {"prefer-bigint"},
    "prefer-identity": {"prefer-identity"},
    "prefer-robust-stmts": {"not-rerunnable"},
    "prefer-text-field": {"prefer-text"},
    "prefer-timestamptz": {"prefer-timestamptz"},
    "renaming-column": {"renaming-column"},
    "renaming-table": {"renaming-table"},
    "require-concurrent-index-creation": {"adding-index-non-concurrently"},
    "require-concurrent-index-deletion": {"dropping-index-non-concurrently"},
    "require-concurrent-reindex": {"reindex-non-concurrently"},
    "require-lock-timeout": {"require-lock-timeout"},
    "require-timeout-settings": {"require-lock-timeout"},
    "transaction-nesting": {"nested-transaction"},
}
# squawk's own names for a documented rule in the version run (renamed or split since)
SQUAWK_ALIASES = {
    "prefer-timestamptz": {"prefer-timestamptz", "prefer-timestamp-tz"},
    "require-timeout-settings": {"require-timeout-settings", "require-lock-timeout", "require-statement-timeout"},
}

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
count = {(tool, kind, how): 0 for tool in ("squawk", "driftless") for kind in ("bad", "good") for how in ("any", "on-topic")}
total = {"bad": 0, "good": 0}
misses = []
for rule, kind, base, squawk, driftless in rows:
    s = set(filter(None, squawk.split(",")))
    d = set(filter(None, driftless.split(",")))
    total[kind] += 1
    s_topic = bool(s & SQUAWK_ALIASES.get(rule, {rule}))
    d_topic = bool(d & COVER[rule])
    for tool, found, topic in (("squawk", s, s_topic), ("driftless", d, d_topic)):
        count[(tool, kind, "any")] += bool(found)
        count[(tool, kind, "on-topic")] += topic
    if (kind == "bad" and not d_topic) or (kind == "good" and d_topic):
        misses.append(f"  {base}: driftless {sorted(d) or '-'}; squawk {sorted(s) or '-'}")

print(f"\n{total['bad']} bad and {total['good']} good examples over {len({r[0] for r in rows})} squawk rules\n")
print(f"{'':10} {'bad caught (any)':>17} {'bad caught (on-topic)':>22} {'good flagged (any)':>19} {'good flagged (on-topic)':>24}")
for tool in ("squawk", "driftless"):
    print(f"{tool:10} {count[(tool,'bad','any')]:>17} {count[(tool,'bad','on-topic')]:>22} {count[(tool,'good','any')]:>19} {count[(tool,'good','on-topic')]:>24}")
if misses:
    print("\ndriftless on-topic misses (bad) and flags (good):")
    print("\n".join(misses))
EOF
