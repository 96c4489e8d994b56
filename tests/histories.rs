//! Real migration histories run to the end with data: an up that fails only because of the
//! seeded rows is tried again on emptied tables and the run goes on, with a finding that says
//! what happened; a NOT NULL column without a default is an error (production has rows); a
//! failure on rows the migrations wrote themselves still stops the run.

mod util;

use serde_json::Value;
use util::{check_json, findings, statuses};

fn history(name: &str) -> String {
    format!("tests/fixtures/histories/{name}")
}

/// Every migration ran (none skipped), with data: the tables the first one creates were
/// seeded before the second.
fn ran_to_the_end_with_data(report: &Value) {
    assert!(
        statuses(report).iter().all(|s| s != "skipped"),
        "a migration was skipped: {report}"
    );
    let second = &report["migrations"][1];
    assert!(
        second["rows_seeded"].as_u64().unwrap() > 0,
        "no rows seeded for {second}"
    );
}

#[test]
fn an_insert_select_colliding_with_seeded_rows_is_a_seed_conflict_and_the_run_goes_on() {
    for (engine, dir, table, code) in [
        (
            "postgres",
            history("insert_select_collides"),
            "public.settings",
            "23505",
        ),
        (
            "mysql",
            "tests/fixtures/mysql/insert_select_collides".to_string(),
            "driftless.settings",
            "1062",
        ),
    ] {
        let run = check_json(&["--engine", engine, "--migrations", &dir]);
        assert_eq!(
            run.code, 0,
            "{engine}: a seed conflict does not fail the gate: {}",
            run.stdout
        );
        let report = run.json();
        ran_to_the_end_with_data(&report);
        let conflicts = findings(&report, "seed_conflict");
        assert_eq!(conflicts.len(), 1, "{engine}: {}", run.stdout);
        let f = conflicts[0];
        assert_eq!(f["severity"], "warning");
        assert_eq!(f["migration"], "20240101000002");
        assert_eq!(f["line"], 3, "the INSERT's line");
        assert_eq!(f["details"]["code"], code);
        // Only the table the insert writes was emptied, not the users it reads.
        assert_eq!(
            f["details"]["tables_emptied"],
            serde_json::json!([table]),
            "{engine}"
        );
        assert_eq!(report["summary"]["errors"], 0, "{engine}: {}", run.stdout);
    }
}

#[test]
fn a_quoted_schema_qualified_target_is_emptied_alone() {
    // `ALTER TABLE "stock"."parcels" ADD … REFERENCES "public"."couriers"` fails on parcels
    // seeded before couriers existed: emptying parcels is enough, and the couriers the
    // statement only reads keep their rows.
    let run = check_json(&["--migrations", &history("quoted_qualified_target")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.json();
    ran_to_the_end_with_data(&report);
    let conflicts = findings(&report, "seed_conflict");
    assert_eq!(conflicts.len(), 1, "{}", run.stdout);
    let f = conflicts[0];
    assert_eq!(f["migration"], "20240301000003");
    assert_eq!(f["details"]["code"], "23503");
    assert_eq!(
        f["details"]["tables_emptied"],
        serde_json::json!(["stock.parcels"])
    );
}

#[test]
fn a_not_null_column_without_a_default_is_an_error_and_the_run_goes_on() {
    let run = check_json(&["--migrations", &history("not_null_without_default")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    ran_to_the_end_with_data(&report);
    let errors = findings(&report, "migration_error");
    assert_eq!(errors.len(), 1, "{}", run.stdout);
    let f = errors[0];
    assert_eq!(f["migration"], "20240101000002");
    assert_eq!(f["line"], 2);
    assert_eq!(f["details"]["code"], "23502");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("fails on any table with rows"),
        "{message}"
    );
    assert_eq!(f["details"]["tables_emptied"][0], "public.accounts");
    // The migration after it was checked as usual.
    assert_eq!(report["migrations"][2]["status"], "ok", "{}", run.stdout);
    assert!(findings(&report, "seed_conflict").is_empty());
}

#[test]
fn a_failure_on_rows_the_migrations_wrote_still_stops_the_run() {
    let run = check_json(&["--migrations", &history("real_duplicates")]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(
        statuses(&report),
        ["ok", "error", "skipped"],
        "{}",
        run.stdout
    );
    let f = findings(&report, "migration_error")[0];
    assert_eq!(f["details"]["code"], "23505");
    assert!(
        f["details"]["tables_emptied"].is_null(),
        "the migration's own rows are never emptied: {f}"
    );
    assert!(findings(&report, "seed_conflict").is_empty());
}

#[test]
fn a_blank_down_beside_a_schema_change_is_an_error_that_lists_what_would_stay() {
    let run = check_json(&["--migrations", &history("empty_downs")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    let irreversible = findings(&report, "irreversible");
    assert_eq!(irreversible.len(), 2, "{}", run.stdout);
    // The blank down of an up that adds a column and an index: an error naming both.
    let forgotten = irreversible[0];
    assert_eq!(forgotten["migration"], "20240101000002");
    assert_eq!(forgotten["severity"], "error");
    assert_eq!(forgotten["details"]["empty_down"], true);
    let message = forgotten["message"].as_str().unwrap();
    assert!(
        message.contains("column pinned added") && message.contains("index public.notes_pinned"),
        "{message}"
    );
    // A down that says "not reversible" in a comment stays a warning.
    let commented = irreversible[1];
    assert_eq!(commented["migration"], "20240101000003");
    assert_eq!(commented["severity"], "warning");
    assert!(
        commented["message"]
            .as_str()
            .unwrap()
            .contains("only comments")
    );
    // An empty up with an empty down is nothing at all.
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["migration"] != "20240101000004"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_history_of_up_files_only_gets_one_line_about_its_downs() {
    let run = check_json(&[
        "--migrations",
        &history("up_only"),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let irreversible = findings(&report, "irreversible");
    assert_eq!(irreversible.len(), 1, "{}", run.stdout);
    assert!(irreversible[0]["migration"].is_null());
    assert_eq!(irreversible[0]["details"]["up_only"], true);
    assert!(
        irreversible[0]["message"]
            .as_str()
            .unwrap()
            .contains("none of the 3 migrations")
    );
    assert_eq!(statuses(&report), ["ok", "ok", "ok"], "{}", run.stdout);
}

#[test]
fn a_drift_line_says_what_changed_one_finding_per_change() {
    let run = check_json(&["--migrations", &history("drift_lines")]);
    let report = run.json();
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    let f = drift[0];
    assert_eq!(f["column"], "favorite", "the structured column: {f}");
    assert_eq!(
        f["details"]["change"],
        "column favorite: default false added"
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .ends_with("column favorite: default false added"),
        "{f}"
    );
    assert!(
        f["details"]["diff"]
            .as_str()
            .unwrap()
            .contains("+  column favorite")
    );
}

#[test]
fn columns_that_come_back_in_another_order_are_one_warning_on_every_engine() {
    // PostgreSQL: the table, and the `SELECT *` view over it.
    let run = check_json(&["--migrations", &history("view_order")]);
    let report = run.json();
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 2, "{}", run.stdout);
    for f in &drift {
        assert_eq!(f["severity"], "warning", "{f}");
        assert_eq!(f["details"]["column_order"], true, "{f}");
    }
    let view = drift
        .iter()
        .find(|f| f["object"] == "public.items_all")
        .expect("the view");
    assert_eq!(
        view["details"]["columns_after"],
        serde_json::json!(["items.b", "items.a"])
    );
    // MariaDB: a column added back at the end is a column-order warning, not a `+column` diff.
    let run = check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        "tests/fixtures/mysql/column_position",
    ]);
    let report = run.json();
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    assert_eq!(drift[0]["severity"], "warning");
    assert_eq!(
        drift[0]["details"]["columns_after"],
        serde_json::json!(["id", "b", "a"])
    );
    assert_eq!(
        drift[0]["details"]["columns_before"],
        serde_json::json!(["id", "a", "b"])
    );
}

/// The findings of one migration of a report.
fn of<'a>(report: &'a Value, kind: &str, version: &str) -> Vec<&'a Value> {
    findings(report, kind)
        .into_iter()
        .filter(|f| f["migration"] == version)
        .collect()
}

#[test]
fn one_cause_is_one_finding_at_the_statement_that_does_it() {
    for (engine, dir, schema) in [
        ("postgres", history("one_cause"), "public"),
        (
            "mysql",
            "tests/fixtures/mysql/one_cause".to_string(),
            "driftless",
        ),
    ] {
        let run = check_json(&[
            "--engine",
            engine,
            "--migrations",
            &dir,
            "--checks",
            "tests/fixtures/no_checks",
        ]);
        let report = run.json();
        util::assert_valid_report(&report);
        // A DELETE whose ON DELETE CASCADE reaches three more tables: one finding after the
        // up, one after the down, both at the DELETE, listing every table.
        let purge = "20240101000002";
        let destroyed = of(&report, "destructive_change", purge);
        assert_eq!(destroyed.len(), 1, "{engine}: {}", run.stdout);
        let lost: Vec<&Value> = of(&report, "data_loss", purge)
            .into_iter()
            .filter(|f| f["details"]["tables"].is_object())
            .collect();
        assert_eq!(lost.len(), 1, "{engine}: {}", run.stdout);
        for f in [destroyed[0], lost[0]] {
            assert_eq!(f["line"], 3, "{engine}: the DELETE's line: {f}");
            assert_eq!(f["table"], "users", "{engine}");
            let tables = f["details"]["tables"].as_object().unwrap();
            assert_eq!(tables.len(), 4, "{engine}: {f}");
            assert_eq!(tables[&format!("{schema}.users")]["rows_removed"], 100);
            let through = f["details"]["through_foreign_keys"].as_array().unwrap();
            assert_eq!(through.len(), 3, "{engine}: {f}");
        }
        // The values the up's UPDATE overwrote: at the UPDATE, in the up file.
        let notes: Vec<&Value> = of(&report, "data_loss", purge)
            .into_iter()
            .filter(|f| f["column"] == "note")
            .collect();
        assert_eq!(notes.len(), 1, "{engine}: {}", run.stdout);
        assert_eq!(notes[0]["line"], 2, "{engine}");
        assert!(notes[0]["file"].as_str().unwrap().ends_with("purge.up.sql"));
        // A column renamed and a new one under the old name: no type change, nothing lost.
        let price = "20240101000003";
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["migration"] != price),
            "{engine}: {}",
            run.stdout
        );
        // A table renamed and not renamed back: one drift finding, no lost rows.
        let audit = "20240101000004";
        let drift = of(&report, "schema_drift", audit);
        assert_eq!(drift.len(), 1, "{engine}: {}", run.stdout);
        assert_eq!(
            drift[0]["details"]["renamed_to"],
            format!("{schema}.audit_log"),
            "{engine}"
        );
        assert!(of(&report, "data_loss", audit).is_empty(), "{engine}");
    }
}

#[test]
fn a_renamed_sequence_not_renamed_back_is_one_finding() {
    let run = check_json(&[
        "--migrations",
        &history("one_cause"),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let drift = of(&report, "schema_drift", "20240101000005");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    let f = drift[0];
    assert_eq!(f["details"]["renamed_to"], "public.item_ids");
    // The column default that follows the new name is part of the same finding.
    let follows = f["details"]["follows_the_rename"].as_array().unwrap();
    assert_eq!(follows.len(), 1, "{f}");
    assert!(
        follows[0]
            .as_str()
            .unwrap()
            .starts_with("table public.items")
    );
}

#[test]
fn a_table_dropped_and_created_again_empty_is_one_data_loss() {
    let run = check_json(&[
        "--migrations",
        &history("recreated_empty"),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let lost = findings(&report, "data_loss");
    assert_eq!(lost.len(), 1, "{}", run.stdout);
    assert_eq!(lost[0]["details"]["recreated_empty"], true);
    assert_eq!(lost[0]["details"]["rows_before"], 200);
    assert_eq!(lost[0]["line"], 2, "the DROP TABLE's line");
}

#[test]
fn a_failed_down_outside_a_transaction_says_what_it_left_behind() {
    let run = check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        "tests/fixtures/mysql/half_down",
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let failed: Vec<&Value> = findings(&report, "migration_error")
        .into_iter()
        .filter(|f| f["direction"] == "down")
        .collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    let f = failed[0];
    assert_eq!(f["line"], 3, "the failing statement");
    let left = f["details"]["left_behind"].as_str().unwrap_or_default();
    assert!(left.contains("tags"), "what the DROP before it did: {f}");
}
