//! `driftless explain`: a page per finding kind (what it means, a migration that triggers it,
//! the fix, how to accept it), and the list of kinds. docs/kinds.md is these pages, kept equal
//! by a test, so `help_url` and the terminal say the same.

use std::fmt::Write as _;

use super::FindingKind;

/// A migration that makes the finding, and what to do instead.
struct Lesson {
    example: &'static str,
    fix: &'static str,
}

fn lesson(kind: FindingKind) -> Lesson {
    use FindingKind::*;
    let (example, fix) = match kind {
        DataLoss => (
            "-- up\nALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = first_name || ' ' || last_name;\nALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name;\n-- down\nALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text;\nUPDATE users SET first_name = split_part(full_name, ' ', 1),\n                 last_name = split_part(full_name, ' ', 2);\nALTER TABLE users DROP COLUMN full_name;",
            "Keep what the up replaces until the next release (here: leave first_name and last_name in place and drop them in a later migration), so the down restores from the originals instead of guessing. A down that deletes rows should delete only the rows its up added.",
        ),
        SchemaDrift => (
            "-- up\nCREATE INDEX users_email ON users (email);\nALTER TABLE users ADD COLUMN nickname text;\n-- down\nALTER TABLE users DROP COLUMN nickname;   -- forgets DROP INDEX users_email",
            "Add to the down a statement for each line of the diff: the DROP INDEX, DROP TYPE or constraint it leaves behind or forgets to restore. With `drift`, write a migration for the change made by hand on the live database, or undo it there.",
        ),
        ReupFailure => (
            "-- up\nCREATE TYPE mood AS ENUM ('ok', 'sad');\nALTER TABLE users ADD COLUMN mood mood;\n-- down\nALTER TABLE users DROP COLUMN mood;          -- the type stays, the next up fails",
            "Make the down undo everything the up creates (DROP TYPE mood), or let the up tolerate what is there (IF NOT EXISTS).",
        ),
        Irreversible => (
            "-- 20240101_backfill.up.sql exists, 20240101_backfill.down.sql does not",
            "Write the down: the statements that undo the up, in reverse order. If the change cannot be undone (a one-way data fix), accept it with a reason.",
        ),
        MigrationError => (
            "-- up, on a table that has rows with NULL emails\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            "Fix the statement quoted; the help line names the cause: backfill before SET NOT NULL, add a DEFAULT to a new NOT NULL column, remove duplicates before a unique index, run CREATE INDEX CONCURRENTLY outside a transaction.",
        ),
        InvariantViolation => (
            "-- checks/orders_have_customers.sql\nSELECT o.id FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL;\n-- up\nDELETE FROM customers WHERE last_seen < now() - interval '2 years';",
            "Change the migration so the data it leaves passes the check (delete the dependent rows too, or narrow the WHERE), or update the check if the rule itself changed.",
        ),
        DestructiveChange => (
            "-- up\nALTER TABLE users DROP COLUMN legacy_id;",
            "Keep the column until the next release: stop reading and writing it in this release's code, drop it in a later migration. For a type change, add a column of the new type, backfill, switch, then drop the old one.",
        ),
        Lint => (
            "-- 3_add_flag.up.sql was edited after the database applied it (its checksum differs)",
            "Never edit an applied migration: revert the edit and write a new migration with the change. `details.rule` names the rule.",
        ),
        UnmaskedPii => (
            "-- a column named email, phone or iban (or holding values that look like them)\n-- and no rule for it in the masking rules file",
            "Add a masking rule for the column (the finding suggests a transformer), or a rule that keeps it as it is if it is not personal.",
        ),
        PendingMigration => (
            "-- 7_add_audit.up.sql is in the folder; the snapshot's tracking table does not list it",
            "Nothing to fix: it runs on the next deploy. Read its statements, locks and durations in the dry-run timeline.",
        ),
        LockRisk => (
            "-- up, on a large table\nCREATE INDEX orders_customer ON orders (customer_id);",
            "Avoid long locks: CREATE INDEX CONCURRENTLY and REINDEX ... CONCURRENTLY (outside a transaction), constraints added NOT VALID and validated in a second statement, new columns backfilled in batches instead of a rewriting ALTER ... TYPE. Before a statement that takes ACCESS EXCLUSIVE on a busy table, however short, SET lock_timeout (e.g. '2s') so it gives up instead of queueing every query behind a long read, and retry the deploy.",
        ),
        SeedConflict => (
            "-- up; the seeded names repeat, real ones do not\nCREATE UNIQUE INDEX users_name ON users (name);",
            "Describe real values with a seed override (--overrides), so the seeded rows look like production's; or make the statement hold for any rows.",
        ),
        SessionSetting => (
            "-- up, with a runner that keeps one connection\nSET FOREIGN_KEY_CHECKS = 0;\nALTER TABLE orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id);",
            "Put the setting back at the end of the up (SET FOREIGN_KEY_CHECKS = 1, RESET search_path), so later migrations run as they will on a fresh connection.",
        ),
        SequenceCollision => (
            "-- up: serial to identity, the values kept\nALTER TABLE items ALTER id DROP DEFAULT;\nDROP SEQUENCE items_id_seq;\nALTER TABLE items ALTER id ADD GENERATED BY DEFAULT AS IDENTITY;\nSELECT setval(pg_get_serial_sequence('items', 'id'), max(id)) FROM items;\n-- down: back to serial, but the new sequence starts at 1\nALTER TABLE items ALTER id DROP IDENTITY;\nCREATE SEQUENCE items_id_seq OWNED BY items.id;\nALTER TABLE items ALTER id SET DEFAULT nextval('items_id_seq');",
            "Wherever a step creates, recreates or restarts a sequence that fills a column holding rows, move it past the highest value in use: SELECT setval('items_id_seq', max(id)) FROM items (PostgreSQL), ALTER TABLE … ALTER id RESTART WITH … (identity), ALTER SEQUENCE … RESTART WITH … (MariaDB).",
        ),
    };
    Lesson { example, fix }
}

/// The page of `kind`, as `driftless explain KIND` prints it.
pub fn page(kind: FindingKind) -> String {
    let lesson = lesson(kind);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} (default severity: {})\n",
        kind.id(),
        kind.default_severity().as_str()
    );
    let doc: Vec<&str> = kind.doc().lines().map(str::trim).collect();
    let _ = writeln!(text, "{}", doc.join("\n").trim());
    let _ = writeln!(text, "\nExample:\n");
    for line in lesson.example.lines() {
        let _ = writeln!(text, "    {line}");
    }
    let _ = writeln!(text, "\nFix:\n\n{}", lesson.fix);
    let _ = writeln!(
        text,
        "\nAllow it:\n\n    -- driftless:allow {id} <reason>\n\nin the migration's up or down file, or in driftless.toml:\n\n    [[allow]]\n    kind = \"{id}\"\n    reason = \"<reason>\"\n\nAn allowed finding stays in the report as info, with its reason.",
        id = kind.id()
    );
    text
}

/// Every kind with its default severity and first sentence: `driftless explain` alone.
pub fn list() -> String {
    let mut text = String::from("Finding kinds (driftless explain KIND prints one):\n\n");
    for kind in FindingKind::ALL {
        let doc = kind.doc().split_whitespace().collect::<Vec<_>>().join(" ");
        let first = doc.split(". ").next().unwrap_or(&doc).trim();
        let _ = writeln!(
            text,
            "  {:<20} {:<8} {}",
            kind.id(),
            kind.default_severity().as_str(),
            first.trim_end_matches('.')
        );
    }
    text.push('\n');
    text.push_str(&super::rules::list());
    text
}

/// docs/kinds.md: every page under a heading named by its id (the `help_url` anchors).
pub fn markdown() -> String {
    let mut text = String::from(
        "# Finding kinds\n\nWhat `driftless explain KIND` prints, one section per kind (generated from \
         `src/report/explain.rs`; a test keeps this file equal to it).\n",
    );
    for kind in FindingKind::ALL {
        let _ = write!(text, "\n## {}\n\n```text\n{}```\n", kind.id(), page(*kind));
    }
    text.push_str("\n# Lint rules\n\nThe rules of `lint` findings (`driftless lint`, and `check` / `dry-run`, which run it too); each finding names its rule in `rule`.\n");
    for rule in super::rules::RULES {
        let _ = write!(
            text,
            "\n## {}\n\n```text\n{}```\n",
            rule.name,
            super::rules::page(rule)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_page_with_an_example_a_fix_and_the_allow_line() {
        for kind in FindingKind::ALL {
            let page = page(*kind);
            assert!(page.starts_with(kind.id()), "{page}");
            assert!(page.contains("Example:\n\n    "), "{page}");
            let lesson = lesson(*kind);
            assert!(lesson.fix.len() > 40 && page.contains(lesson.fix));
            assert!(page.contains(&format!("-- driftless:allow {} <reason>", kind.id())));
            assert!(list().contains(kind.id()));
        }
    }

    #[test]
    fn docs_kinds_md_is_the_pages() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/kinds.md");
        let written = std::fs::read_to_string(path).unwrap_or_default();
        if written != markdown() && std::env::var_os("DRIFTLESS_WRITE_DOCS").is_some() {
            std::fs::write(path, markdown()).unwrap();
            return;
        }
        assert_eq!(
            written,
            markdown(),
            "docs/kinds.md is stale: run with DRIFTLESS_WRITE_DOCS=1"
        );
    }
}
