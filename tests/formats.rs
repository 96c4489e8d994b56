//! Every migration tool's folder layout, end to end on real PostgreSQL: the same planted
//! defect (a lossy name split) gives the same findings in every format.

mod util;

use serde_json::Value;
use util::{check_json, demo, driftless, findings, statuses};

const NO_CHECKS: &str = "tests/fixtures/no_checks";

/// (kind, severity, direction, object, column) of every finding, sorted.
fn essence(report: &Value) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (
                s("kind"),
                s("severity"),
                s("direction"),
                s("object"),
                s("column"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_format_reports_the_planted_data_loss_like_sqlx_does() {
    let reference = check_json(&["--migrations", &demo("data_loss"), "--checks", NO_CHECKS]);
    let expected = essence(&reference.json());
    assert_eq!(expected.len(), 2, "data_loss and destructive_change");
    let layouts = [
        // Told apart from sqlx by the go.mod beside the folder.
        ("golang_migrate/migrations", "golang-migrate"),
        ("popx", "popx"),
        ("dotted", "dotted"),
        ("diesel", "diesel"),
        ("dbmate", "dbmate"),
        ("goose", "goose"),
        ("flyway", "flyway"),
        ("liquibase", "liquibase"),
        ("liquibase_xml", "liquibase"),
        ("liquibase_yaml", "liquibase"),
        ("liquibase_json", "liquibase"),
        ("sqitch", "sqitch"),
    ];
    for (folder, format) in layouts {
        let run = check_json(&[
            "--migrations",
            &demo(&format!("formats/{folder}")),
            "--checks",
            NO_CHECKS,
        ]);
        let report = run.json();
        assert_eq!(
            report["migration_format"], format,
            "{folder}: detected layout"
        );
        assert_eq!(essence(&report), expected, "{folder}:\n{}", run.stdout);
        assert_eq!(run.code, 1, "{folder}");
        let loss = findings(&report, "data_loss")[0];
        assert!(
            loss["line"].as_u64().is_some(),
            "{folder}: file:line of the down"
        );
        assert_eq!(
            loss["details"]["values_changed"],
            reference.json()["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == "data_loss")
                .unwrap()["details"]["values_changed"]
        );
    }
}

#[test]
fn sqlx_layout_is_reported_as_such() {
    let report = check_json(&["--migrations", &demo("data_loss")]).json();
    assert_eq!(report["migration_format"], "sqlx");
}

#[test]
fn failing_sqitch_verify_is_a_finding_at_its_line() {
    let run = check_json(&[
        "--migrations",
        "tests/fixtures/postgres/formats_extra/sqitch_verify",
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    let f = findings(&report, "invariant_violation");
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert_eq!(f[0]["check"], "verify");
    assert_eq!(f[0]["migration"], "widget_color");
    assert_eq!(f[0]["line"], 3);
    assert!(
        f[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("verify/widget_color.sql")
    );
}

#[test]
fn goose_go_migrations_are_reported_by_name_not_skipped_silently() {
    let run = check_json(&[
        "--migrations",
        "tests/fixtures/postgres/formats_extra/goose_go",
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 0, "a warning");
    let lint = findings(&report, "lint");
    assert_eq!(lint.len(), 1);
    assert_eq!(lint[0]["details"]["rule"], "unsupported_migration");
    assert_eq!(lint[0]["migration_name"], "backfill_gadgets");
    assert_eq!(statuses(&report), vec!["ok", "skipped", "ok"]);
}

#[test]
fn flyway_repeatable_must_apply_again() {
    let run = check_json(&[
        "--migrations",
        "tests/fixtures/postgres/formats_extra/flyway_repeatable",
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    let f = findings(&report, "reup_failure");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["migration"], "R");
    assert_eq!(f[0]["migration_name"], "part_names");
    assert!(
        findings(&report, "irreversible").is_empty(),
        "repeatables have no down by design"
    );
}

#[test]
fn migration_format_flag_forces_a_layout() {
    let run = check_json(&[
        "--migrations",
        &demo("formats/dbmate"),
        "--migration-format",
        "sqlx",
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(report["migration_format"], "sqlx");
    // Read as sqlx, each file is an up-only migration holding both sections.
    assert!(!findings(&report, "irreversible").is_empty());
}

#[test]
fn format_errors_name_file_and_line() {
    let dbmate = util::migration_dir(&[
        (
            "1_a.sql",
            b"-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
        ),
        ("2_b.sql", b"create table b (id int);\n"),
    ]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        dbmate.path().to_str().unwrap(),
        "--migration-format",
        "dbmate",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("2_b.sql:1: no `-- migrate:up` marker"),
        "{}",
        run.stderr
    );

    let sqitch = util::migration_dir(&[(
        "sqitch.plan",
        b"%project=x\n\ngone 2024-01-01T00:00:00Z A <a@x>\n",
    )]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        sqitch.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sqitch.plan:3: change `gone` has no deploy script"),
        "{}",
        run.stderr
    );
}

#[test]
fn liquibase_changeset_without_rollback_is_irreversible_at_its_line() {
    let dir = util::migration_dir(&[(
        "changes.sql",
        b"--liquibase formatted sql\n\n--changeset ann:1\nCREATE TABLE t (id int PRIMARY KEY);\n--rollback DROP TABLE t;\n\n--changeset ann:2\nALTER TABLE t ADD COLUMN note text;\n",
    )]);
    let run = check_json(&[
        "--migrations",
        dir.path().to_str().unwrap(),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let f = findings(&report, "irreversible");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["migration"], "2");
    assert_eq!(f[0]["line"], 7);
}

/// Where the data_loss of a Liquibase demo set points: (file, line) of the rollback's UPDATE.
fn loss_at(folder: &str) -> (String, u64) {
    let run = check_json(&[
        "--migrations",
        &demo(&format!("formats/{folder}")),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1, "{folder}:\n{}", run.stdout);
    let file = loss[0]["file"].as_str().unwrap_or_default().to_string();
    (file, loss[0]["line"].as_u64().unwrap_or_default())
}

#[test]
fn liquibase_xml_yaml_and_json_changelogs_read_includes_sql_files_and_rollbacks() {
    // XML: the master's comment holds `<include …>` and `->` (not followed: that file does
    // not exist); the rollback SQL is inline, so its lines are lines of the XML file.
    let (file, line) = loss_at("liquibase_xml");
    assert!(
        file.ends_with("liquibase_xml/changelog/later/002_split_full_name.xml"),
        "{file}"
    );
    assert_eq!(line, 9, "the UPDATE inside <rollback>");
    // YAML: includeAll of changelogs whose changeSet runs a sqlFile and rolls back with one.
    let (file, line) = loss_at("liquibase_yaml");
    assert!(
        file.ends_with("liquibase_yaml/sql/002_split_full_name.rollback.sql"),
        "{file}"
    );
    assert_eq!(line, 2);
    // JSON: a string holds its statements on one line of the file.
    let (file, line) = loss_at("liquibase_json");
    assert!(
        file.ends_with("liquibase_json/db.changelog-master.json"),
        "{file}"
    );
    assert_eq!(line, 28, "the rollback's UPDATE string");

    let run = check_json(&[
        "--migrations",
        &demo("formats/liquibase_yaml"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let read: Vec<(&str, &str)> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![("create-customers", "ok"), ("split-full-name", "finding")],
        "{}",
        run.stdout
    );
}

#[test]
fn liquibase_generated_change_types_are_exit_2_naming_change_set_file_and_line() {
    let xml = util::migration_dir(&[(
        "db.changelog-master.xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\">\n  <changeSet id=\"add-users\" author=\"bob\">\n    <!-- generated by Liquibase: <sql> would be runnable -->\n    <createTable tableName=\"users\">\n      <column name=\"id\" type=\"int\"/>\n    </createTable>\n  </changeSet>\n</databaseChangeLog>\n",
    )]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        xml.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("db.changelog-master.xml:5:"),
        "file and line of <createTable>: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`add-users`") && run.stderr.contains("`bob`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("createTable"), "{}", run.stderr);

    let yaml = util::migration_dir(&[(
        "changelog.yaml",
        b"databaseChangeLog:\n  - changeSet:\n      id: 7\n      author: eve\n      changes:\n        - addColumn:\n            tableName: users\n",
    )]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        yaml.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("changelog.yaml:6:") && run.stderr.contains("addColumn"),
        "{}",
        run.stderr
    );
}
