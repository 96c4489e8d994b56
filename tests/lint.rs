//! `driftless lint`'s static rules: for every rule a migration it fires on and one it stays
//! silent on (the rule's own page examples, and cases of our own written differently: quoted
//! and qualified names, several actions in one ALTER, other spellings), read through the real
//! sqlx reader so each file runs as sqlx runs it; severities and allows through the config;
//! and the command itself (reporters, exit codes, bad input). No server.

mod util;

use std::collections::BTreeSet;

use driftless::migrations::{Migration, MigrationFormat};
use driftless::report::Finding;
use driftless::report::rules::RULES;

/// Writes `ups` as consecutive sqlx migrations and reads them back.
fn read(ups: &[&str]) -> (tempfile::TempDir, Vec<Migration>) {
    let dir = tempfile::tempdir().unwrap();
    for (i, sql) in ups.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{}_case.sql", i + 1)), sql).unwrap();
    }
    let split = driftless::engine::splitter("postgres").unwrap();
    let list = driftless::migrations::read(dir.path(), MigrationFormat::Sqlx, split).unwrap();
    (dir, list)
}

fn lint_all(ups: &[&str], session: &[&str]) -> Vec<Finding> {
    let (_dir, list) = read(ups);
    let engine = driftless::engine::find("postgres").unwrap();
    driftless::lint::lint(
        &list,
        &driftless::lint::Options {
            dialect: driftless::sql::Dialect::Postgres,
            transactions: engine.transactions,
            session: session.iter().map(|s| s.to_string()).collect(),
            in_check: false,
        },
    )
}

/// The rules that fire on the last of `ups` (the earlier ones set the scene).
fn rules(ups: &[&str]) -> BTreeSet<String> {
    let last = ups.len().to_string();
    lint_all(ups, &[])
        .into_iter()
        .filter(|f| f.migration.as_deref() == Some(last.as_str()))
        .map(|f| f.rule.expect("every static finding names its rule"))
        .collect()
}

fn fires(rule: &str, ups: &[&str]) {
    let found = rules(ups);
    assert!(
        found.contains(rule),
        "{rule} did not fire on {ups:?}; found {found:?}"
    );
}

fn silent(rule: &str, ups: &[&str]) {
    let found = rules(ups);
    assert!(!found.contains(rule), "{rule} fired on {ups:?}");
}

#[test]
fn every_rule_fires_on_its_page_example_and_not_on_the_fix() {
    // A page example that says "-- next migration:" is two migrations.
    let migrations =
        |text: &'static str| -> Vec<&'static str> { text.split("-- next migration:\n").collect() };
    for rule in RULES {
        fires(rule.name, &migrations(rule.bad));
        let good = migrations(rule.good);
        for last in 1..=good.len() {
            silent(rule.name, &good[..last]);
        }
    }
}

/// Our own bad and good case per rule, written unlike the page examples.
const CASES: &[(&str, &str, &str)] = &[
    (
        "require-lock-timeout",
        "ALTER TABLE ONLY public.\"Orders\" DROP CONSTRAINT orders_check;",
        "SET LOCAL statement_timeout TO '30s';\nALTER TABLE ONLY public.\"Orders\" DROP CONSTRAINT orders_check;",
    ),
    (
        "adding-index-non-concurrently",
        "CREATE UNIQUE INDEX IF NOT EXISTS sku_idx ON shop.products USING btree (lower(sku));",
        "CREATE TABLE products (sku text);\nCREATE UNIQUE INDEX sku_idx ON products (lower(sku));",
    ),
    (
        "dropping-index-non-concurrently",
        "DROP INDEX IF EXISTS shop.sku_idx;",
        "-- no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS shop.sku_idx;",
    ),
    (
        "reindex-non-concurrently",
        "REINDEX TABLE products;",
        "-- no-transaction\nREINDEX (VERBOSE) TABLE CONCURRENTLY products;",
    ),
    (
        "concurrently-in-transaction",
        "DROP INDEX CONCURRENTLY sku_idx;",
        "-- no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS sku_idx;",
    ),
    (
        "adding-constraint-without-not-valid",
        "ALTER TABLE items ADD CHECK (qty > 0), ADD COLUMN note text;",
        "ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;",
    ),
    (
        "adding-constraint-without-not-valid",
        "ALTER TABLE items ADD CONSTRAINT fk FOREIGN KEY (order_id) REFERENCES orders NOT VALID;\nALTER TABLE items VALIDATE CONSTRAINT fk;",
        "ALTER TABLE items VALIDATE CONSTRAINT fk;",
    ),
    (
        "adding-unique-constraint",
        "ALTER TABLE accounts ADD PRIMARY KEY (id);",
        "ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx;",
    ),
    (
        "changing-column-type",
        "ALTER TABLE accounts ALTER balance SET DATA TYPE numeric(14, 2) USING balance::numeric;",
        "CREATE TABLE accounts (balance int);\nALTER TABLE accounts ALTER balance TYPE bigint;",
    ),
    (
        "adding-column-volatile-default",
        "ALTER TABLE accounts ADD COLUMN created timestamptz NOT NULL DEFAULT clock_timestamp();",
        "ALTER TABLE accounts ADD COLUMN created timestamptz NOT NULL DEFAULT now();",
    ),
    (
        "adding-column-volatile-default",
        "ALTER TABLE accounts ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;",
        "ALTER TABLE accounts ADD COLUMN total numeric;",
    ),
    (
        "adding-required-column",
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS region text NOT NULL;",
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS region text NOT NULL DEFAULT 'eu';",
    ),
    (
        "setting-not-null",
        "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;",
        "ALTER TABLE accounts ADD CONSTRAINT region_nn CHECK (region IS NOT NULL);\nALTER TABLE accounts ALTER COLUMN region SET NOT NULL;",
    ),
    (
        "domain-constraint",
        "CREATE DOMAIN positive AS int CHECK (VALUE > 0);",
        "CREATE DOMAIN label AS text;",
    ),
    (
        "renaming-column",
        "ALTER TABLE \"Users\" RENAME \"Name\" TO full_name;",
        "ALTER TABLE users RENAME CONSTRAINT a TO b;",
    ),
    (
        "renaming-table",
        "ALTER TABLE IF EXISTS public.users RENAME TO people;",
        "CREATE TABLE tmp (a int);\nALTER TABLE tmp RENAME TO people;",
    ),
    (
        "dropping-column",
        "ALTER TABLE users DROP COLUMN IF EXISTS nickname CASCADE;",
        "ALTER TABLE users DROP CONSTRAINT users_nick_key;",
    ),
    (
        "dropping-table",
        "DROP TABLE IF EXISTS audit, audit_old CASCADE;",
        "CREATE TABLE scratch (a int);\nDROP TABLE scratch;",
    ),
    (
        "dropping-not-null",
        "ALTER TABLE users ALTER email DROP NOT NULL;",
        "ALTER TABLE users ALTER email SET DEFAULT '';",
    ),
    (
        "dropping-database",
        "drop database if exists legacy;",
        "drop schema if exists legacy;",
    ),
    (
        "truncating-cascade",
        "TRUNCATE TABLE ONLY orders RESTART IDENTITY CASCADE;",
        "TRUNCATE TABLE orders RESTART IDENTITY;",
    ),
    (
        "transaction-left-open",
        "-- no-transaction\nSTART TRANSACTION;\nUPDATE users SET a = 1;\nCOMMIT;\nBEGIN;\nUPDATE users SET b = 2;",
        "-- no-transaction\nSTART TRANSACTION;\nUPDATE users SET a = 1;\nEND;",
    ),
    (
        "nested-transaction",
        "UPDATE users SET a = 1;\nBEGIN;\nUPDATE users SET b = 2;\nCOMMIT;",
        "UPDATE users SET a = 1;\nUPDATE users SET b = 2;",
    ),
    (
        "not-rerunnable",
        "-- no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_a ON users (a);",
        "-- no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS a text;\nCOMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_a ON users (a);",
    ),
    (
        "identifier-too-long",
        "ALTER TABLE t ADD CONSTRAINT \"a_constraint_name_that_goes_on_and_on_well_past_what_postgres_keeps\" CHECK (a > 0) NOT VALID;",
        "ALTER TABLE t ADD CONSTRAINT a_short_name CHECK (a > 0) NOT VALID;",
    ),
    (
        "prefer-bigint",
        "CREATE TABLE line (order_id integer, qty int);",
        "CREATE TABLE line (order_id bigint, qty int);",
    ),
    (
        "prefer-bigint",
        "CREATE TABLE line (a smallint, b int, PRIMARY KEY (a, b));",
        "CREATE TABLE line (a bigint, b bigint, PRIMARY KEY (a, b));",
    ),
    (
        "prefer-identity",
        "ALTER TABLE line ADD COLUMN seq smallserial;",
        "ALTER TABLE line ADD COLUMN seq bigint GENERATED BY DEFAULT AS IDENTITY;",
    ),
    (
        "prefer-text",
        "CREATE TABLE t (code character varying (12) NOT NULL);",
        "CREATE TABLE t (code character varying NOT NULL);",
    ),
    (
        "prefer-timestamptz",
        "CREATE TABLE t (at timestamp(3) without time zone);",
        "CREATE TABLE t (at timestamp(3) with time zone);",
    ),
    (
        "avoid-char",
        "CREATE TABLE t (flag character(1));",
        "CREATE TABLE t (flag boolean, code char varying(3));",
    ),
];

#[test]
fn statements_that_fail_the_second_time_only_matter_outside_the_runners_transaction() {
    for sql in [
        "ALTER TABLE t DROP CONSTRAINT c;",
        "CREATE TABLE t (a text);",
        "DROP TABLE t;",
        "ALTER TABLE t ADD COLUMN a text;",
    ] {
        // One statement is enough: the runner records the migration after it, outside.
        fires("not-rerunnable", &[&format!("-- no-transaction\n{sql}")]);
        silent("not-rerunnable", &[sql]);
        silent(
            "not-rerunnable",
            &[&format!("-- no-transaction\nBEGIN;\n{sql}\nCOMMIT;")],
        );
    }
}

#[test]
fn every_rule_has_an_own_bad_and_good_case() {
    let covered: BTreeSet<&str> = CASES.iter().map(|(r, _, _)| *r).collect();
    for rule in RULES {
        assert!(covered.contains(rule.name), "no own case for {}", rule.name);
    }
    for (rule, bad, good) in CASES {
        fires(rule, &[bad]);
        silent(rule, &[good]);
    }
}

#[test]
fn findings_point_at_the_statement_and_name_the_object() {
    let found = lint_all(
        &["-- a comment\n\nALTER TABLE users\n  RENAME COLUMN name TO full_name;"],
        &[],
    );
    let f = found
        .iter()
        .find(|f| f.rule.as_deref() == Some("renaming-column"))
        .unwrap();
    assert_eq!(f.line, Some(3));
    assert_eq!(f.table.as_deref(), Some("users"));
    assert_eq!(f.column.as_deref(), Some("name"));
    assert_eq!(f.explain, "driftless explain renaming-column");
    assert_eq!(
        f.get_detail("rule").and_then(|v| v.as_str()),
        Some("renaming-column")
    );
}

#[test]
fn a_check_validated_in_an_earlier_migration_makes_set_not_null_silent() {
    let add = "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;";
    let validate = "ALTER TABLE users VALIDATE CONSTRAINT email_nn;";
    let set = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
    silent("setting-not-null", &[add, validate, set]);
    // Added but never validated: it proves nothing.
    fires("setting-not-null", &[add, set]);
    // Validated, but for another column.
    fires(
        "setting-not-null",
        &[
            add,
            validate,
            "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
        ],
    );
}

#[test]
fn the_runner_session_lock_timeout_counts_and_one_finding_per_migration() {
    let sql = "ALTER TABLE a ADD COLUMN x text;\nALTER TABLE b ADD COLUMN y text;";
    let count = |session: &[&str]| {
        lint_all(&[sql], session)
            .iter()
            .filter(|f| f.rule.as_deref() == Some("require-lock-timeout"))
            .count()
    };
    assert_eq!(count(&[]), 1);
    assert_eq!(count(&["SET lock_timeout = '3s'"]), 0);
    assert_eq!(count(&["SET lock_timeout = 0"]), 1);
}

#[test]
fn severities_remap_and_allows_work_by_rule_name() {
    let (_dir, list) = read(&[
        "-- driftless:allow renaming-column the old name is unused since 2.3\nALTER TABLE users RENAME COLUMN a TO b;\nCREATE TABLE t (c varchar(5), d timestamp);",
    ]);
    let engine = driftless::engine::find("postgres").unwrap();
    let mut found = driftless::lint::lint(
        &list,
        &driftless::lint::Options {
            dialect: driftless::sql::Dialect::Postgres,
            transactions: engine.transactions,
            session: Vec::new(),
            in_check: false,
        },
    );
    let config = driftless::config::Config::parse(
        "[severity]\nprefer-text = \"error\"\ndropping-column = \"error\"\n",
    )
    .unwrap();
    driftless::policy::apply(&mut found, &config, &list);
    let by = |rule: &str| {
        found
            .iter()
            .find(|f| f.rule.as_deref() == Some(rule))
            .unwrap()
    };
    use driftless::report::Severity;
    assert_eq!(by("prefer-text").severity, Severity::Error);
    assert_eq!(by("prefer-timestamptz").severity, Severity::Info);
    let renamed = by("renaming-column");
    assert_eq!(renamed.severity, Severity::Info);
    assert_eq!(
        renamed.get_detail("allowed").and_then(|v| v.as_str()),
        Some("the old name is unused since 2.3")
    );
    let (line, message) =
        driftless::config::Config::parse("[severity]\nrenaming-colum = \"info\"\n").unwrap_err();
    assert_eq!(line, 2);
    assert!(message.contains("renaming-colum"), "{message}");
}

#[test]
fn mysql_rules_read_its_own_statements() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("1_case.sql"),
        "ALTER TABLE users CHANGE COLUMN name full_name varchar(50);\nRENAME TABLE orders TO purchases;\nALTER TABLE users DROP COLUMN legacy, DROP INDEX idx_a;\n",
    )
    .unwrap();
    let split = driftless::engine::splitter("mysql").unwrap();
    let list = driftless::migrations::read(dir.path(), MigrationFormat::Sqlx, split).unwrap();
    let engine = driftless::engine::find("mysql").unwrap();
    let found: BTreeSet<String> = driftless::lint::lint(
        &list,
        &driftless::lint::Options {
            dialect: driftless::sql::Dialect::MySql,
            transactions: engine.transactions,
            session: Vec::new(),
            in_check: false,
        },
    )
    .into_iter()
    .filter_map(|f| f.rule)
    .collect();
    let want: BTreeSet<String> = ["renaming-column", "renaming-table", "dropping-column"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}

#[test]
fn the_lint_command_reports_in_every_format_with_the_usual_exit_codes() {
    let dir = util::migration_dir(&[
        (
            "1_init.sql",
            b"CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
        ),
        (
            "2_rename.sql",
            b"SET lock_timeout = '1s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n",
        ),
    ]);
    let path = dir.path().to_str().unwrap();
    let run = util::driftless(&["lint", "--migrations", path, "--format", "json"]);
    assert_eq!(
        run.code, 0,
        "warnings do not fail by default: {}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["command"], "lint");
    let lints = util::findings(&report, "lint");
    assert_eq!(lints.len(), 1, "{lints:?}");
    assert_eq!(lints[0]["rule"], "renaming-column");
    assert_eq!(lints[0]["line"], 2);
    assert_eq!(
        lints[0]["allow"],
        "-- driftless:allow renaming-column <reason>"
    );
    assert!(
        lints[0]["statement"]
            .as_str()
            .unwrap()
            .contains("RENAME COLUMN")
    );

    let run = util::driftless(&["lint", "--migrations", path, "--fail-on", "warning"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("renaming-column"), "{}", run.stdout);

    let sarif = dir.path().join("lint.sarif");
    let run = util::driftless(&[
        "lint",
        "--migrations",
        path,
        "--report",
        &format!("sarif={}", sarif.display()),
        "--format",
        "github",
    ]);
    assert_eq!(run.code, 0);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["rule"], "renaming-column", "{result}");
    assert!(
        result["partialFingerprints"]["driftless/v1"]
            .as_str()
            .unwrap()
            .starts_with("lint/renaming-column:2:"),
        "{result}"
    );

    let run = util::driftless(&["lint", "--migrations", "/nonexistent/driftless-lint"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    let run = util::driftless(&["explain", "renaming-column"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("renaming-column"), "{}", run.stdout);
    let run = util::driftless(&["explain"]);
    assert!(run.stdout.contains("adding-index-non-concurrently"));
}

#[test]
fn each_constraint_one_alter_adds_is_named_in_its_finding() {
    // One ALTER that swaps two foreign keys gives two findings on one line: each names its
    // constraint, in the message and in `constraint` (which `[[allow]]` rules match).
    let findings = lint_all(
        &[
            "CREATE TABLE shelf (id bigint PRIMARY KEY);\nCREATE TABLE crate (id bigint PRIMARY KEY, shelf_id bigint, owner_id bigint);",
            "ALTER TABLE crate\n  ADD CONSTRAINT crate_shelf_fk FOREIGN KEY (shelf_id) REFERENCES shelf (id),\n  ADD CONSTRAINT crate_owner_fk FOREIGN KEY (owner_id) REFERENCES shelf (id),\n  ADD CONSTRAINT crate_owner_set CHECK (owner_id > 0),\n  ADD FOREIGN KEY (id) REFERENCES shelf (id);",
        ],
        &[],
    );
    let named: Vec<(Option<String>, String)> = findings
        .into_iter()
        .filter(|f| f.rule.as_deref() == Some("adding-constraint-without-not-valid"))
        .map(|f| (f.constraint, f.message))
        .collect();
    let on = "to crate without NOT VALID: every existing row is checked while crate is locked against writes";
    assert_eq!(
        named,
        vec![
            (
                Some("crate_shelf_fk".to_string()),
                format!("adds foreign key crate_shelf_fk {on}")
            ),
            (
                Some("crate_owner_fk".to_string()),
                format!("adds foreign key crate_owner_fk {on}")
            ),
            (
                Some("crate_owner_set".to_string()),
                format!("adds CHECK crate_owner_set {on}")
            ),
            (None, format!("adds a foreign key {on}")),
        ]
    );
}

#[test]
fn leaving_the_runners_transaction_is_said_in_the_projects_own_tools_words() {
    // The same index built without CONCURRENTLY, in a goose, a dbmate and a golang-migrate
    // project: each help says how that tool's runner is told to leave its transaction.
    let parts = "CREATE TABLE crates (id bigint PRIMARY KEY, shelf text);";
    let index = "CREATE INDEX crates_shelf_idx ON crates (shelf);";
    /// A tool, its files (name, SQL) and what its help must say.
    type Case = (&'static str, Vec<(String, String)>, &'static str);
    let cases: [Case; 3] = [
        (
            "goose",
            vec![
                ("1_crates.sql".into(), format!("-- +goose Up\n{parts}\n")),
                ("2_shelf.sql".into(), format!("-- +goose Up\n{index}\n")),
            ],
            "(goose: add `-- +goose NO TRANSACTION` to the file)",
        ),
        (
            "dbmate",
            vec![
                (
                    "1_crates.sql".into(),
                    format!("-- migrate:up\n{parts}\n-- migrate:down\n"),
                ),
                (
                    "2_shelf.sql".into(),
                    format!("-- migrate:up\n{index}\n-- migrate:down\n"),
                ),
            ],
            "(dbmate: write `-- migrate:up transaction:false`",
        ),
        (
            "golang-migrate",
            vec![
                ("1_crates.up.sql".into(), parts.to_string()),
                ("2_shelf.up.sql".into(), index.to_string()),
            ],
            "(golang-migrate: move the statement into a migration file of its own)",
        ),
    ];
    for (tool, files, said) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, sql) in &files {
            std::fs::write(dir.path().join(name), sql).unwrap();
        }
        let path = dir.path().to_str().unwrap();
        let run = util::driftless(&[
            "lint",
            "--migrations",
            path,
            "--migration-format",
            tool,
            "--format",
            "json",
        ]);
        let report = run.json();
        let help: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "adding-index-non-concurrently")
            .map(|f| f["help"].as_str().unwrap())
            .collect();
        assert_eq!(help.len(), 1, "{tool}: {}", run.stdout);
        assert!(help[0].contains(said), "{tool}: {}", help[0]);
        assert!(!help[0].contains("sqlx"), "{tool}: {}", help[0]);
    }
}
