//! The registry of `lint` rules: stable names, default severities and what each one means.
//!
//! A `lint` finding names its rule in `rule` (and `details.rule`); the names are part of the
//! report contract (docs/report.md): never rename one. `src/lint/` finds them; this registry
//! is what `driftless explain RULE`, `[severity]` and `-- driftless:allow RULE` know.

use std::fmt::Write as _;

use super::Severity;

/// What a rule protects against, for grouping in `driftless explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleGroup {
    /// A lock that stops reads or writes on a table for a long time, or a statement that fails
    /// on a table with rows.
    Locks,
    /// A change the previous release's code breaks on while both run during the deploy.
    Compatibility,
    /// How the runner runs the migration: transactions, re-running after a failure.
    Transactions,
    /// Column types and names that cause trouble later; `info` by default.
    Design,
}

impl RuleGroup {
    pub fn title(self) -> &'static str {
        match self {
            RuleGroup::Locks => "locks and table rewrites",
            RuleGroup::Compatibility => "the previous release still runs",
            RuleGroup::Transactions => "transactions and re-runs",
            RuleGroup::Design => "schema design (info by default)",
        }
    }
}

/// One lint rule.
#[derive(Debug, Clone, Copy)]
pub struct LintRule {
    pub name: &'static str,
    pub severity: Severity,
    pub group: RuleGroup,
    /// One sentence: what the rule finds.
    pub summary: &'static str,
    /// Why it matters, a short paragraph.
    pub why: &'static str,
    /// The smallest migration it fires on.
    pub bad: &'static str,
    /// The same change written so that it stays silent.
    pub good: &'static str,
    /// What to do, one line (the finding's `help`).
    pub fix: &'static str,
}

macro_rules! rule {
    ($name:literal, $sev:ident, $group:ident, $summary:literal, $why:literal, $bad:literal, $good:literal, $fix:literal) => {
        LintRule {
            name: $name,
            severity: Severity::$sev,
            group: RuleGroup::$group,
            summary: $summary,
            why: $why,
            bad: $bad,
            good: $good,
            fix: $fix,
        }
    };
}

/// Every rule, grouped.
pub const RULES: &[LintRule] = &[
    rule!(
        "require-lock-timeout",
        Warning,
        Locks,
        "A statement that takes an ACCESS EXCLUSIVE or SHARE lock on an existing table runs without a lock_timeout (or statement_timeout) set before it.",
        "The lock request queues behind any long transaction on the table, and every query that arrives after it queues behind the request: a one-millisecond ALTER can stop the application for as long as the slowest running query. A lock_timeout makes the migration give up (and be retried) instead. A lock_timeout the runner sets on its session counts: list it under [postgres] session in driftless.toml.",
        "ALTER TABLE orders ADD COLUMN note text;",
        "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;",
        "put `SET lock_timeout = '2s';` before the first statement that locks a table (or have the runner set it and list it under [postgres] session)"
    ),
    rule!(
        "adding-index-non-concurrently",
        Warning,
        Locks,
        "CREATE INDEX without CONCURRENTLY on a table that already exists.",
        "A plain index build holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE on the table waits until the index is complete, minutes on a large table.",
        "CREATE INDEX orders_customer ON orders (customer_id);",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer ON orders (customer_id);",
        "build it with CREATE INDEX CONCURRENTLY, outside the runner's transaction (sqlx: `-- no-transaction` as the first line)"
    ),
    rule!(
        "dropping-index-non-concurrently",
        Warning,
        Locks,
        "DROP INDEX without CONCURRENTLY.",
        "A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every running query on the table and blocks all of them, reads included, while it waits.",
        "DROP INDEX orders_customer;",
        "-- no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS orders_customer;",
        "use DROP INDEX CONCURRENTLY, outside the runner's transaction"
    ),
    rule!(
        "reindex-non-concurrently",
        Warning,
        Locks,
        "REINDEX without CONCURRENTLY.",
        "REINDEX locks the table against writes and the index against reads for the whole rebuild: queries that would use the index wait, so reads stop too.",
        "REINDEX INDEX orders_customer;",
        "-- no-transaction\nREINDEX INDEX CONCURRENTLY orders_customer;",
        "use REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside the runner's transaction"
    ),
    rule!(
        "concurrently-in-transaction",
        Error,
        Locks,
        "A CONCURRENTLY statement (or another that refuses a transaction block) in a migration its runner wraps in a transaction.",
        "PostgreSQL refuses CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and VACUUM inside a transaction block, so the deploy fails at this statement.",
        "-- sqlx runs this file in a transaction\nCREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);",
        "take the migration out of the runner's transaction (sqlx: `-- no-transaction` as the first line; goose: `-- +goose NO TRANSACTION`; dbmate: `-- migrate:up transaction:false`)"
    ),
    rule!(
        "adding-constraint-without-not-valid",
        Warning,
        Locks,
        "ALTER TABLE ... ADD CONSTRAINT (FOREIGN KEY or CHECK) on an existing table without NOT VALID, or validated in the same transaction that added it.",
        "Without NOT VALID, PostgreSQL checks every existing row while it holds the lock of ADD CONSTRAINT (ACCESS EXCLUSIVE for a CHECK; SHARE ROW EXCLUSIVE on both tables for a foreign key), so writes stop for the whole scan. VALIDATE CONSTRAINT takes a weaker lock, but only if it runs in a later transaction.",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk\n    FOREIGN KEY (customer_id) REFERENCES customers (id);",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk\n    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
        "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later migration (or after a COMMIT)"
    ),
    rule!(
        "adding-unique-constraint",
        Warning,
        Locks,
        "ALTER TABLE ... ADD UNIQUE or PRIMARY KEY on an existing table without USING INDEX.",
        "The constraint builds its index while holding an ACCESS EXCLUSIVE lock: neither reads nor writes run on the table until the build is done.",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
        "build the unique index CONCURRENTLY first, then attach it: ADD CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX)"
    ),
    rule!(
        "changing-column-type",
        Warning,
        Locks,
        "ALTER COLUMN ... TYPE on an existing table.",
        "Most type changes rewrite the whole table and its indexes under an ACCESS EXCLUSIVE lock (int to bigint, text to int, varchar to a shorter varchar). A few are metadata only (varchar to text, a longer varchar): `check` / `dry-run` tell them apart and downgrade this rule to info when the table was not rewritten.",
        "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE orders ADD COLUMN id_new bigint;\n-- backfill in batches, switch the code, then drop the old column",
        "add a column of the new type, backfill it in batches, switch readers and writers, then drop the old column"
    ),
    rule!(
        "adding-column-volatile-default",
        Warning,
        Locks,
        "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp(), a serial) or a STORED generated column on an existing table.",
        "A constant default (and now()) is stored once in the catalog, but a volatile one or a stored generated column is computed for every row: the table is rewritten under an ACCESS EXCLUSIVE lock.",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();\n-- backfill existing rows in batches",
        "add the column without the default, set the default in a second statement, backfill existing rows in batches"
    ),
    rule!(
        "adding-required-column",
        Warning,
        Locks,
        "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table.",
        "On a table with rows the statement fails (the new column would be NULL in every row); the previous release's INSERTs, which do not name the column, fail too.",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
        "give the column a DEFAULT, or add it nullable, backfill, then enforce NOT NULL"
    ),
    rule!(
        "setting-not-null",
        Warning,
        Locks,
        "ALTER COLUMN ... SET NOT NULL on an existing table without a validated CHECK (column IS NOT NULL) before it.",
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, unless a validated CHECK constraint already proves the column has no NULLs (PostgreSQL 12+).",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n-- next migration:\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later transaction, then SET NOT NULL (which then skips the scan)"
    ),
    rule!(
        "domain-constraint",
        Warning,
        Locks,
        "CREATE DOMAIN with a CHECK, or ALTER DOMAIN ... ADD CONSTRAINT.",
        "Adding a constraint to a domain checks every column of every table that uses it, holding locks on all of them; PostgreSQL has no NOT VALID-then-VALIDATE path for columns added later, and constraints on domains are hard to change afterwards.",
        "ALTER DOMAIN email ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');",
        "ALTER TABLE users ADD CONSTRAINT users_email_has_at CHECK (email LIKE '%@%') NOT VALID;",
        "put the CHECK on the tables' columns (NOT VALID, then VALIDATE) instead of on the domain"
    ),
    rule!(
        "renaming-column",
        Warning,
        Compatibility,
        "ALTER TABLE ... RENAME COLUMN.",
        "During the deploy the previous release still runs, and its queries name the old column: they fail from the moment the migration commits until the new code is everywhere.",
        "ALTER TABLE users RENAME COLUMN name TO full_name;",
        "ALTER TABLE users ADD COLUMN full_name text;\n-- write both, backfill, switch reads, drop name in a later release",
        "add the new column, write both, backfill, switch reads, and drop the old column in a later release"
    ),
    rule!(
        "renaming-table",
        Warning,
        Compatibility,
        "ALTER TABLE ... RENAME TO.",
        "The previous release's queries name the old table and fail as soon as the rename commits.",
        "ALTER TABLE users RENAME TO accounts;",
        "CREATE VIEW accounts AS SELECT * FROM users;\n-- move the code to accounts, rename in a later release",
        "rename in two releases (a view with the new name first), or accept the error window with the allow line"
    ),
    rule!(
        "dropping-column",
        Warning,
        Compatibility,
        "ALTER TABLE ... DROP COLUMN.",
        "The previous release may still read or write the column (SELECT of it, INSERT naming it) and fails once it is gone; its values are lost for a rollback.",
        "ALTER TABLE users DROP COLUMN legacy_id;",
        "-- release 1: stop reading and writing legacy_id\n-- release 2: ALTER TABLE users DROP COLUMN legacy_id;  (allowed with a reason)",
        "stop using the column in one release and drop it in a later one; accept it then with the allow line"
    ),
    rule!(
        "dropping-table",
        Warning,
        Compatibility,
        "DROP TABLE of a table the migration did not create.",
        "The previous release may still use the table, and its rows are gone for a rollback.",
        "DROP TABLE sessions;",
        "-- release 1: stop using sessions; release 2: DROP TABLE sessions;  (allowed with a reason)",
        "stop using the table in one release and drop it in a later one; accept it then with the allow line"
    ),
    rule!(
        "dropping-not-null",
        Warning,
        Compatibility,
        "ALTER COLUMN ... DROP NOT NULL.",
        "The previous release's code assumes the column always has a value; rows the new release writes with NULL there break it (null pointer errors, wrong joins) while both run.",
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        "-- release 1: code that copes with a NULL email; release 2: DROP NOT NULL (allowed with a reason)",
        "ship code that copes with NULL first, then drop the constraint in a later release"
    ),
    rule!(
        "dropping-database",
        Error,
        Compatibility,
        "DROP DATABASE.",
        "A migration that drops a database destroys everything in it; it has no place in a migration history.",
        "DROP DATABASE analytics;",
        "-- done by hand, after a backup, outside the migrations",
        "remove the statement from the migration; drop databases by hand after a backup"
    ),
    rule!(
        "truncating-cascade",
        Warning,
        Compatibility,
        "TRUNCATE ... CASCADE.",
        "CASCADE also empties every table with a foreign key to the truncated one, and theirs in turn: far more data than the statement names.",
        "TRUNCATE orders CASCADE;",
        "TRUNCATE order_lines, orders;",
        "name every table to empty, without CASCADE"
    ),
    rule!(
        "transaction-left-open",
        Error,
        Transactions,
        "A BEGIN with no COMMIT after it, in a migration the runner does not wrap in a transaction.",
        "The runner does not commit what the script opened: the changes are rolled back when its connection closes, or hold their locks until then.",
        "-- no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN plan text;",
        "-- no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;",
        "end the transaction with COMMIT;"
    ),
    rule!(
        "nested-transaction",
        Warning,
        Transactions,
        "A BEGIN inside a transaction already open (the runner's, or the script's own).",
        "PostgreSQL ignores the inner BEGIN with a warning (MySQL commits what came before it); the script's COMMIT then ends the outer transaction early, and what follows is no longer atomic.",
        "-- the runner wraps this file in a transaction\nBEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;",
        "ALTER TABLE users ADD COLUMN plan text;",
        "drop the script's BEGIN and COMMIT, or take the migration out of the runner's transaction"
    ),
    rule!(
        "not-rerunnable",
        Warning,
        Transactions,
        "In a migration its runner does not run in one transaction (with the runner's record of it), a statement that fails when run a second time (CREATE without IF NOT EXISTS, ADD COLUMN without IF NOT EXISTS, DROP without IF EXISTS).",
        "When a later statement fails, or the runner stops before it records the migration as applied, what ran stays; the fix is to run the migration again, and then these statements fail because their objects exist (or are gone). A CONCURRENTLY index build that fails leaves an invalid index behind too.",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer ON orders (customer_id);",
        "write IF NOT EXISTS / IF EXISTS so the migration can run again after a partial failure"
    ),
    rule!(
        "identifier-too-long",
        Warning,
        Compatibility,
        "An identifier longer than the server keeps (63 bytes on PostgreSQL, 64 characters on MySQL).",
        "PostgreSQL silently cuts the name to 63 bytes: later statements that use the full name still work, but two long names with the same first 63 bytes collide, and tools comparing names see a different one.",
        "CREATE INDEX orders_customer_id_created_at_status_shipping_country_region_idx ON orders (customer_id);",
        "CREATE INDEX orders_customer_created_status_idx ON orders (customer_id);",
        "use a name of at most 63 bytes"
    ),
    rule!(
        "prefer-bigint",
        Info,
        Design,
        "A key column (id, *_id, PRIMARY KEY, REFERENCES) of type int or smallint.",
        "A 32-bit key runs out at about 2.1 billion; changing it later rewrites the table and every table that references it.",
        "CREATE TABLE orders (id int PRIMARY KEY);",
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        "use bigint for keys"
    ),
    rule!(
        "prefer-identity",
        Info,
        Design,
        "A serial, smallserial or bigserial column.",
        "serial is a sequence with loose ownership: permissions, dumps and copies of the table handle it separately. An identity column is standard SQL and belongs to its table.",
        "CREATE TABLE orders (id bigserial PRIMARY KEY);",
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        "use bigint GENERATED ALWAYS AS IDENTITY"
    ),
    rule!(
        "prefer-text",
        Info,
        Design,
        "A varchar(n) column.",
        "In PostgreSQL varchar(n) is text with a length check; raising the limit later is cheap but lowering it rewrites the table under an ACCESS EXCLUSIVE lock. A CHECK (length(col) <= n) can be changed NOT VALID.",
        "CREATE TABLE users (email varchar(255));",
        "CREATE TABLE users (email text CHECK (length(email) <= 255));",
        "use text, with a CHECK on its length if the limit matters"
    ),
    rule!(
        "prefer-timestamptz",
        Info,
        Design,
        "A timestamp column without time zone.",
        "timestamp without time zone stores a wall-clock reading with no zone: values written from sessions in different time zones cannot be compared, and daylight-saving changes make some ambiguous.",
        "CREATE TABLE events (at timestamp);",
        "CREATE TABLE events (at timestamptz);",
        "use timestamptz (timestamp with time zone)"
    ),
    rule!(
        "avoid-char",
        Info,
        Design,
        "A char(n) / character(n) column.",
        "char(n) pads values with spaces to n characters, which surprises comparisons and application code, and is no faster than text.",
        "CREATE TABLE countries (code char(2));",
        "CREATE TABLE countries (code text CHECK (length(code) = 2));",
        "use text (with a CHECK on its length if needed)"
    ),
];

/// The rule named `name` (`-` or `_` between words, any case).
pub fn find(name: &str) -> Option<&'static LintRule> {
    let wanted = normalize(name);
    RULES.iter().find(|r| r.name == wanted)
}

/// A rule name as the registry writes it: lower case, words joined by `-`.
pub fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

/// The page of `rule`, as `driftless explain RULE` prints it.
pub fn page(rule: &LintRule) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} (lint rule, {}; default severity: {})\n",
        rule.name,
        rule.group.title(),
        rule.severity.as_str()
    );
    let _ = writeln!(text, "{}\n\n{}", rule.summary, rule.why);
    let _ = writeln!(text, "\nExample:\n");
    for line in rule.bad.lines() {
        let _ = writeln!(text, "    {line}");
    }
    let _ = writeln!(text, "\nInstead:\n");
    for line in rule.good.lines() {
        let _ = writeln!(text, "    {line}");
    }
    let _ = writeln!(text, "\nFix:\n\n{}", rule.fix);
    let _ = writeln!(
        text,
        "\nSeverity: in driftless.toml,\n\n    [severity]\n    {name} = \"error\"   # or warning, info\n\nAllow it:\n\n    -- driftless:allow {name} <reason>\n\nin the migration's file, or in driftless.toml:\n\n    [[allow]]\n    kind = \"{name}\"\n    reason = \"<reason>\"\n\nAn allowed finding stays in the report as info, with its reason.",
        name = rule.name
    );
    text
}

/// Every rule with its default severity and summary, by group.
pub fn list() -> String {
    let mut text = String::from("Lint rules (driftless explain RULE prints one):\n");
    for group in [
        RuleGroup::Locks,
        RuleGroup::Compatibility,
        RuleGroup::Transactions,
        RuleGroup::Design,
    ] {
        let _ = writeln!(text, "\n{}:", group.title());
        for rule in RULES.iter().filter(|r| r.group == group) {
            let first = rule.summary;
            let _ = writeln!(
                text,
                "  {:<36} {:<8} {}",
                rule.name,
                rule.severity.as_str(),
                first.trim_end_matches('.')
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_pages_are_complete() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.name), "{} twice", rule.name);
            assert!(
                rule.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.name
            );
            assert_eq!(
                find(&rule.name.replace('-', "_")).map(|r| r.name),
                Some(rule.name)
            );
            let page = page(rule);
            assert!(page.starts_with(rule.name) && page.contains(rule.fix));
            assert!(page.contains(&format!("-- driftless:allow {} <reason>", rule.name)));
            assert!(list().contains(rule.name));
            // A rule name must never be mistaken for a finding kind.
            assert!(super::super::FindingKind::parse(rule.name).is_none());
        }
        let design = RULES.iter().filter(|r| r.group == RuleGroup::Design);
        assert!(design.clone().count() >= 5);
        assert!(design.into_iter().all(|r| r.severity == Severity::Info));
    }
}
