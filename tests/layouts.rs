//! Migration layouts of real projects, end to end on real PostgreSQL and MariaDB: diesel's
//! version order, each tool's tracking table created before the first migration (and hidden
//! only for that tool), popx's and the dot-separated layout's files per database, and the error
//! for a folder no layout fits.

mod util;

use serde_json::Value;
use util::{check_json, driftless, findings, statuses};

const NO_CHECKS: &str = "tests/fixtures/no_checks";

/// The engines, with the schema their findings name objects in.
const ENGINES: [(&str, &str); 2] = [("postgres", "public"), ("mysql", "driftless")];

fn layout(name: &str) -> String {
    format!("tests/fixtures/layouts/{name}")
}

fn check(engine: &str, dir: &str, extra: &[&str]) -> util::Run {
    let mut args = vec![
        "--engine",
        engine,
        "--migrations",
        dir,
        "--checks",
        NO_CHECKS,
    ];
    args.extend_from_slice(extra);
    check_json(&args)
}

/// (version, name) of every migration in the report, in run order.
fn migrations(report: &Value) -> Vec<(String, String)> {
    report["migrations"]
        .as_array()
        .expect("migrations array")
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
            (s("version"), s("name"))
        })
        .collect()
}

/// (kind, migration, direction, object, column) of every finding, sorted.
fn essence(report: &Value) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (
                s("kind"),
                s("migration"),
                s("direction"),
                s("object"),
                s("column"),
            )
        })
        .collect();
    out.sort();
    out
}

fn finding(
    kind: &str,
    migration: &str,
    direction: &str,
    object: &str,
    column: &str,
) -> [String; 5] {
    [kind, migration, direction, object, column].map(str::to_string)
}

fn as_tuples(list: &[[String; 5]]) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|[a, b, c, d, e]| (a.clone(), b.clone(), c.clone(), d.clone(), e.clone()))
        .collect();
    out.sort();
    out
}

#[test]
fn diesel_runs_mixed_version_spellings_in_its_runners_order() {
    for (engine, schema) in ENGINES {
        let run = check(engine, &layout("diesel_order"), &[]);
        let report = run.json();
        assert_eq!(report["migration_format"], "diesel");
        // Numerically by segment, 2017-… would run before 20140924113530 (no users yet) and
        // 20190304151617 after 2024-… (no posts yet): every up ran, in diesel's order.
        let versions: Vec<String> = migrations(&report).into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            versions,
            [
                "20140924113530",
                "2017-08-31-230457",
                "20190304151617",
                "2024-01-01-120000-0000",
                "2024-01-01-120000-0001",
            ],
            "{engine}"
        );
        assert_eq!(
            statuses(&report),
            ["ok", "ok", "ok", "ok", "finding"],
            "{engine}: {}",
            run.stdout
        );
        // The two same-second versions are two migrations: the planted drift is the second's.
        assert_eq!(
            essence(&report),
            as_tuples(&[finding(
                "schema_drift",
                "2024-01-01-120000-0001",
                "down",
                &format!("{schema}.tags"),
                ""
            )]),
            "{engine}: {}",
            run.stdout
        );
    }
}

#[test]
fn two_folders_diesel_reads_as_one_version_are_an_input_error() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &layout("diesel_same_version"),
        "--checks",
        NO_CHECKS,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("diesel reads 2017-08-31-230457 and 20170831230457 as the same version"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2017-08-31-230457_create_a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("20170831230457_create_b"),
        "{}",
        run.stderr
    );
}

/// The fixture folders of `tracking/<engine>/`, with the format each is read as. The first
/// migration of each puts a trigger on the tool's tracking table and a view over the runner's
/// columns, so it fails unless the table is there, as its runner makes it.
const TOOLS: [(&str, &str); 7] = [
    ("sqlx", "sqlx"),
    ("golang_migrate", "golang-migrate"),
    ("dbmate", "dbmate"),
    ("popx", "popx"),
    ("goose", "goose"),
    ("flyway", "flyway"),
    ("liquibase", "liquibase"),
];

fn tracking_tables_exist_before_the_first_migration(engine: &str) {
    for (folder, format) in TOOLS {
        let dir = layout(&format!("tracking/{engine}/{folder}"));
        let run = check(engine, &dir, &[]);
        let report = run.json();
        assert_eq!(report["migration_format"], format, "{engine} {folder}");
        assert!(
            statuses(&report).iter().all(|s| s == "ok"),
            "{engine} {folder}: {}",
            run.stdout
        );
        // The tool's table is not the user's: no finding about it, none at all here.
        assert_eq!(
            report["findings"],
            Value::Array(vec![]),
            "{engine} {folder}: {}",
            run.stdout
        );
        assert_eq!(run.code, 0, "{engine} {folder}");
        let second = &report["migrations"][1];
        assert!(
            second["rows_seeded"].as_u64().unwrap() > 0,
            "{engine} {folder}: migration_log was seeded before the second: {second}"
        );
    }
}

#[test]
fn each_tools_tracking_table_exists_before_the_first_migration_on_postgres() {
    tracking_tables_exist_before_the_first_migration("postgres");
}

#[test]
fn each_tools_tracking_table_exists_before_the_first_migration_on_mariadb() {
    tracking_tables_exist_before_the_first_migration("mysql");
}

#[test]
fn a_diesel_projects_own_schema_migrations_table_is_seeded_and_its_drift_reported() {
    for (engine, schema) in ENGINES {
        let run = check(engine, &layout(&format!("tracking/{engine}/diesel")), &[]);
        let report = run.json();
        assert_eq!(report["migration_format"], "diesel");
        // The trigger on __diesel_schema_migrations ran; schema_migrations (Rails' table in
        // another project) is this project's own: seeded, compared, its drift reported.
        assert_eq!(
            statuses(&report),
            ["ok", "ok", "ok", "finding"],
            "{engine}: {}",
            run.stdout
        );
        assert!(
            report["migrations"][3]["rows_seeded"].as_u64().unwrap() > 0,
            "{engine}: schema_migrations was seeded"
        );
        assert_eq!(
            essence(&report),
            as_tuples(&[finding(
                "schema_drift",
                "2024-01-01-000004",
                "down",
                &format!("{schema}.schema_migrations"),
                "imported"
            )]),
            "{engine}: {}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("__diesel_schema_migrations"),
            "{engine}: diesel's own table is never a finding"
        );
    }
}

#[test]
fn popx_runs_each_databases_file_and_autocommit_files_outside_a_transaction() {
    let dir = layout("popx");
    // 20240101000004 has CockroachDB files only; the cockroach and sqlite3 files of
    // 20240101000001 would fail on either engine.
    let expected_versions = [
        ("20240101000001", "identities"),
        ("20240101000002", "identity_names"),
        ("20240101000003", "ecstatic"),
    ]
    .map(|(v, n)| (v.to_string(), n.to_string()));

    // PostgreSQL: the postgres down of 2 (no data loss) wins over the generic one; 3 is an
    // .autocommit. file that fails with 55P04 inside a transaction. PostgreSQL cannot drop
    // the enum label the up added: that is the one finding.
    let run = check("postgres", &dir, &[]);
    let report = run.json();
    assert_eq!(report["migration_format"], "popx");
    assert_eq!(migrations(&report), expected_versions);
    assert!(
        findings(&report, "migration_error").is_empty(),
        "{}",
        run.stdout
    );
    assert_eq!(
        essence(&report),
        as_tuples(&[finding(
            "schema_drift",
            "20240101000003",
            "down",
            "type:public.identity_state",
            ""
        )]),
        "{}",
        run.stdout
    );

    // MariaDB: its own up of 1 and both files of 3; the generic down of 2 (no mysql file)
    // with its planted loss.
    let run = check("mysql", &dir, &[]);
    let report = run.json();
    assert_eq!(migrations(&report), expected_versions);
    assert_eq!(
        essence(&report),
        as_tuples(&[finding(
            "data_loss",
            "20240101000002",
            "down",
            "driftless.identities.state",
            "state"
        )]),
        "{}",
        run.stdout
    );
}

#[test]
fn dot_separated_files_are_read_with_their_version_name_and_database() {
    let dir = layout("dotted");
    let expected = [
        ("0001", "Initial_Schema"),
        ("0002", "Add_Currency"),
        ("0003", "Index_Names"),
    ]
    .map(|(v, n)| (v.to_string(), n.to_string()));

    // PostgreSQL: V0001's postgres up (name text) and V0002's postgres down (which turns it
    // into varchar) win; V0003's generic down is PostgreSQL's spelling.
    let run = check("postgres", &dir, &[]);
    let report = run.json();
    assert_eq!(report["migration_format"], "dotted");
    assert_eq!(migrations(&report), expected);
    let drift = findings(&report, "schema_drift");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        drift.len(),
        "{}",
        run.stdout
    );
    assert!(
        drift.iter().any(|f| f["direction"] == "down"),
        "{}",
        run.stdout
    );
    for f in drift {
        assert_eq!(
            (&f["migration"], &f["object"], &f["column"]),
            (
                &Value::from("0002"),
                &Value::from("public.accounts"),
                &Value::from("name")
            ),
            "{}",
            run.stdout
        );
    }

    // MariaDB: the generic files, and V0003's mysql down (the generic one fails there).
    let run = check("mysql", &dir, &[]);
    let report = run.json();
    assert_eq!(migrations(&report), expected);
    assert_eq!(statuses(&report), ["ok", "ok", "ok"], "{}", run.stdout);
    assert_eq!(report["findings"], Value::Array(vec![]), "{}", run.stdout);
}

#[test]
fn a_folder_driftless_cannot_read_names_the_layouts_it_knows() {
    let unreadable = layout("unreadable");
    let popx = layout("popx");
    let dotted = layout("dotted");
    // (folder, flags, what the message names, whether it lists every layout)
    let cases: [(&str, &[&str], &str, bool); 4] = [
        (&unreadable, &[], "create_users.sql", true),
        (
            &dotted,
            &["--migration-format", "popx"],
            "V0001.Initial_Schema",
            true,
        ),
        (
            &dotted,
            &["--migration-format", "golang-migrate"],
            "V0001.Initial_Schema",
            true,
        ),
        // Files of one migration for several databases are not a duplicate version.
        (
            &popx,
            &["--migration-format", "sqlx"],
            "--migration-format popx",
            false,
        ),
    ];
    for (dir, extra, named, lists_layouts) in cases {
        let mut args = vec![
            "check",
            "--no-lint",
            "--migrations",
            dir,
            "--checks",
            NO_CHECKS,
        ];
        args.extend_from_slice(extra);
        let run = driftless(&args);
        assert_eq!(run.code, 2, "{dir} {extra:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(named),
            "{dir} {extra:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("duplicate migration version"),
            "{dir} {extra:?}: {}",
            run.stderr
        );
        if !lists_layouts {
            continue;
        }
        for layout in [
            "sqlx",
            "golang-migrate",
            "popx",
            "dotted",
            "diesel",
            "dbmate",
            "goose",
            "flyway",
            "liquibase",
            "sqitch",
        ] {
            assert!(
                run.stderr.contains(&format!("{layout} (")),
                "{dir} {extra:?}: {layout}: {}",
                run.stderr
            );
        }
    }
}
