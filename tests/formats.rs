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
    for format in ["diesel", "dbmate", "goose", "flyway", "liquibase", "sqitch"] {
        let run = check_json(&[
            "--migrations",
            &demo(&format!("formats/{format}")),
            "--checks",
            NO_CHECKS,
        ]);
        let report = run.json();
        assert_eq!(report["migration_format"], format, "detected layout");
        assert_eq!(essence(&report), expected, "{format}:\n{}", run.stdout);
        assert_eq!(run.code, 1, "{format}");
        let loss = findings(&report, "data_loss")[0];
        assert!(
            loss["line"].as_u64().is_some(),
            "{format}: file:line of the down"
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
    let run = driftless(&["check", "--migrations", sqitch.path().to_str().unwrap()]);
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
