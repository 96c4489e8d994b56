//! The static rules where a server runs the migrations too: `check` runs them first (and
//! leaves out what its roundtrip reports itself), and `dry-run` puts what it observed beside
//! each rule's finding, downgrading a rewrite rule the run disproves. Real PostgreSQL.

mod util;

use serde_json::Value;
use util::pg::Pg;
use util::{driftless, findings};

fn rule<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    findings(report, "lint")
        .into_iter()
        .filter(|f| f["rule"] == name)
        .collect()
}

#[test]
fn check_runs_the_rules_first_without_reporting_twice_what_it_ran() {
    let dir = util::migration_dir(&[
        (
            "1_init.sql",
            b"CREATE TABLE items (id bigint PRIMARY KEY, label varchar(50), qty int);\n",
        ),
        (
            "2_rename.sql",
            b"SET LOCAL lock_timeout = '2s';\nALTER TABLE items RENAME COLUMN label TO title;\n",
        ),
        // sqlx wraps the file in a transaction: the roundtrip reports the nested BEGIN.
        (
            "3_nested.sql",
            b"BEGIN;\nALTER TABLE items ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;\n",
        ),
    ]);
    let path = dir.path().to_str().unwrap();
    let run = driftless(&["check", "--format", "json", "--migrations", path]);
    let report = run.json();
    let renamed = rule(&report, "renaming-column");
    assert_eq!(renamed.len(), 1, "{}", run.stdout);
    assert_eq!(renamed[0]["line"], 2);
    assert_eq!(renamed[0]["migration"], "2");
    assert_eq!(rule(&report, "prefer-text").len(), 1, "{}", run.stdout);
    // The SET LOCAL before the rename counts; the nested migration has none.
    let unlocked: Vec<&Value> = rule(&report, "require-lock-timeout");
    assert_eq!(unlocked.len(), 1, "{}", run.stdout);
    assert_eq!(unlocked[0]["migration"], "3");
    // Once, from running it (the roundtrip's `nested_transaction`), not again from the rules.
    let nested: Vec<&Value> = findings(&report, "lint")
        .into_iter()
        .filter(|f| {
            f["details"]["rule"] == "nested_transaction" || f["rule"] == "nested-transaction"
        })
        .collect();
    assert_eq!(nested.len(), 1, "{}", run.stdout);
    assert_eq!(nested[0]["details"]["rule"], "nested_transaction");

    let run = driftless(&[
        "check",
        "--format",
        "json",
        "--no-lint",
        "--migrations",
        path,
    ]);
    let report = run.json();
    assert!(
        findings(&report, "lint")
            .iter()
            .all(|f| f.get("rule").is_none()),
        "{}",
        run.stdout
    );
}

#[test]
fn dry_run_puts_the_observed_lock_and_rewrite_beside_each_rule() {
    let pg = Pg::start();
    pg.exec("postgres", "CREATE DATABASE lintprod");
    let init = "CREATE TABLE items (id bigint PRIMARY KEY, label varchar(50) NOT NULL, qty int NOT NULL);\n";
    pg.exec("lintprod", init);
    pg.exec(
        "lintprod",
        "INSERT INTO items SELECT g, 'item ' || g, g % 100 FROM generate_series(1, 20000) g;
         CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
           installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
           checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);",
    );
    let sum = driftless::migrations::tracking::sqlx_checksum(init.as_bytes());
    pg.exec(
        "lintprod",
        &format!("INSERT INTO _sqlx_migrations VALUES (1, 'init', now(), true, decode('{sum}', 'hex'), 1)"),
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.dump");
    pg.dump("lintprod", &dump, "custom");
    let migrations = util::migration_dir(&[
        ("1_init.sql", init.as_bytes()),
        // varchar(50) -> text: a catalog change, no rewrite.
        (
            "2_label_text.sql",
            b"ALTER TABLE items ALTER COLUMN label TYPE text;\n",
        ),
        // int -> bigint: every row rewritten.
        (
            "3_qty_bigint.sql",
            b"ALTER TABLE items ALTER COLUMN qty TYPE bigint;\n",
        ),
        ("4_index.sql", b"CREATE INDEX items_qty ON items (qty);\n"),
    ]);
    let run = driftless(&[
        "dry-run",
        "--format",
        "json",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    assert!(
        run.code == 0 || run.code == 1,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let report = run.json();
    let types = rule(&report, "changing-column-type");
    assert_eq!(types.len(), 2, "{}", run.stdout);
    let by_migration = |m: &str| *types.iter().find(|f| f["migration"] == m).unwrap();

    let text = by_migration("2");
    assert_eq!(text["severity"], "info", "{text}");
    assert!(text["details"]["disproved"].is_string(), "{text}");
    let observed = &text["details"]["observed"];
    assert_eq!(observed["rewrote"], Value::Array(vec![]), "{text}");
    assert!(observed["lock"].is_string(), "{text}");

    let bigint = by_migration("3");
    assert_eq!(bigint["severity"], "warning", "{bigint}");
    assert!(bigint["details"].get("disproved").is_none(), "{bigint}");
    let rewrote = bigint["details"]["observed"]["rewrote"].as_array().unwrap();
    assert!(
        rewrote
            .iter()
            .any(|t| t.as_str().unwrap().ends_with("items")),
        "{bigint}"
    );
    assert!(
        bigint["message"].as_str().unwrap().contains("observed"),
        "{bigint}"
    );

    let index = rule(&report, "adding-index-non-concurrently");
    assert_eq!(index.len(), 1, "{}", run.stdout);
    let observed = &index[0]["details"]["observed"];
    assert!(
        observed["lock"].as_str().unwrap().contains("Share"),
        "{}",
        index[0]
    );
    assert!(observed["held_ms"].is_u64() && observed["ms"].is_u64());
    // The migration already applied in production is not linted again.
    assert!(
        findings(&report, "lint")
            .iter()
            .all(|f| f["migration"] != "1"),
        "{}",
        run.stdout
    );
}

/// `check` runs the ups its rules flagged statement by statement, so each rule's finding
/// carries what the run showed: a type change that did not rewrite the table is downgraded to
/// info, one that did stays a warning naming the rewritten table.
#[test]
fn check_puts_what_it_ran_beside_each_rule() {
    let dir = util::migration_dir(&[
        (
            "1_init.up.sql",
            b"CREATE TABLE items (id bigint PRIMARY KEY, label varchar(50), qty int);\n",
        ),
        ("1_init.down.sql", b"DROP TABLE items;\n"),
        (
            "2_types.up.sql",
            b"ALTER TABLE items ALTER COLUMN label TYPE text;\nALTER TABLE items ALTER COLUMN qty TYPE bigint;\n",
        ),
        (
            "2_types.down.sql",
            b"ALTER TABLE items ALTER COLUMN qty TYPE int;\nALTER TABLE items ALTER COLUMN label TYPE varchar(50);\n",
        ),
    ]);
    let path = dir.path().to_str().unwrap();
    let run = driftless(&["check", "--format", "json", "--migrations", path]);
    let report = run.json();
    let types = rule(&report, "changing-column-type");
    let at = |line: u64| {
        types
            .iter()
            .find(|f| f["line"] == line)
            .unwrap_or_else(|| panic!("no type-change finding at line {line}: {}", run.stdout))
    };
    let text = at(1);
    assert_eq!(text["severity"], "info", "{text}");
    assert!(text["details"]["disproved"].is_string(), "{text}");
    assert_eq!(text["details"]["observed"]["rewrote"], Value::Array(vec![]));
    let bigint = at(2);
    assert_eq!(bigint["severity"], "warning", "{bigint}");
    let rewrote = bigint["details"]["observed"]["rewrote"].as_array().unwrap();
    assert!(rewrote.iter().any(|t| t == "public.items"), "{bigint}");
    // The migrations no rule flagged ran as before: nothing traced for them.
    assert!(
        rule(&report, "changing-column-type")
            .iter()
            .all(|f| f["migration"] == "2")
    );
}

/// The lock a run observed is told in the message of the rule about that lock; a design rule
/// on the same statement (a varchar column added beside a unique one) keeps its own message,
/// with the evidence in `details` only.
#[test]
fn the_observed_lock_is_told_by_lock_rules_only() {
    let dir = util::migration_dir(&[
        (
            "1_init.up.sql",
            b"CREATE TABLE crates (id bigint PRIMARY KEY, qty int);\n",
        ),
        ("1_init.down.sql", b"DROP TABLE crates;\n"),
        (
            "2_label.up.sql",
            b"ALTER TABLE crates ADD COLUMN label varchar(40), ADD COLUMN tag bigint UNIQUE;\n",
        ),
        (
            "2_label.down.sql",
            b"ALTER TABLE crates DROP COLUMN tag, DROP COLUMN label;\n",
        ),
    ]);
    let path = dir.path().to_str().unwrap();
    let run = driftless(&["check", "--format", "json", "--migrations", path]);
    let report = run.json();
    let unique = rule(&report, "adding-unique-constraint");
    assert_eq!(unique.len(), 1, "{}", run.stdout);
    assert!(
        unique[0]["message"]
            .as_str()
            .unwrap()
            .contains("(observed: "),
        "{}",
        unique[0]
    );
    let text = rule(&report, "prefer-text");
    let label = text
        .iter()
        .find(|f| f["migration"] == "2")
        .unwrap_or_else(|| panic!("no prefer-text on the label: {}", run.stdout));
    assert_eq!(
        label["message"],
        "crates.label is varchar with a length: prefer text with a CHECK on its length"
    );
    assert!(label["details"]["observed"]["lock"].is_string(), "{label}");
}
