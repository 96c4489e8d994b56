//! `driftless check` against real PostgreSQL: every finding kind, the clean set, the
//! judgement calls for real histories, suppressions, determinism and the report contract.

mod util;

use serde_json::Value;
use util::{check_json, demo, driftless, findings, fixture, kinds, statuses};

/// A checks folder without checks, for tests that isolate one finding kind.
const NO_CHECKS: &str = "tests/fixtures/no_checks";

#[test]
fn clean_set_has_no_findings() {
    let run = check_json(&["--migrations", &demo("clean"), "--checks", "checks"]);
    let report = run.json();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        report["findings"],
        Value::Array(vec![]),
        "false positives are bugs"
    );
    assert_eq!(report["status"], "pass");
    assert_eq!(report["engine"], "postgres");
    assert_eq!(statuses(&report), vec!["ok"; 10]);
    assert_eq!(report["summary"]["migrations"], 10);
    assert_eq!(report["summary"]["checks_run"], 3);
    // Tables created by earlier migrations were seeded before later ones.
    let seeded: u64 = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rows_seeded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        seeded,
        5 * 200,
        "users, products, orders, order_items, addresses"
    );
    for m in report["migrations"].as_array().unwrap() {
        for key in ["up_ms", "down_ms", "reup_ms"] {
            assert!(m[key].is_u64(), "{key} missing in {m}");
        }
    }
}

#[test]
fn lossy_down_is_data_loss_at_the_update_with_sample_keys() {
    let run = check_json(&["--migrations", &demo("data_loss")]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["data_loss", "destructive_change"]);
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1);
    let f = loss[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["migration"], "20240201000002");
    assert_eq!(f["migration_name"], "split_full_name");
    assert_eq!(f["direction"], "down");
    assert_eq!(f["object"], "public.customers.full_name");
    assert_eq!(f["table"], "customers");
    assert_eq!(f["column"], "full_name");
    assert_eq!(
        f["file"],
        "migrations-under-test/postgres/data_loss/20240201000002_split_full_name.down.sql"
    );
    assert_eq!(f["line"], 5, "the UPDATE that writes full_name");
    let changed = f["details"]["values_changed"].as_i64().unwrap();
    assert!(changed > 0 && changed < 200, "{changed}");
    assert_eq!(f["details"]["rows_before"], 200);
    let samples = f["details"]["sample_keys"].as_array().unwrap();
    assert!(!samples.is_empty() && samples.len() <= 10);
    assert!(samples[0].as_str().unwrap().starts_with("id="));
    let destructive = findings(&report, "destructive_change");
    assert_eq!(destructive[0]["severity"], "warning");
    assert_eq!(destructive[0]["object"], "public.customers.full_name");
    assert_eq!(destructive[0]["direction"], "up");
}

#[test]
fn forgotten_index_is_schema_drift_with_a_diff() {
    let run = check_json(&["--migrations", &demo("schema_drift")]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["schema_drift"]);
    let f = findings(&report, "schema_drift")[0];
    assert_eq!(f["object"], "public.events_kind_idx");
    assert_eq!(f["table"], "events");
    assert_eq!(f["direction"], "down");
    let diff = f["details"]["diff"].as_str().unwrap();
    assert!(diff.contains("--- before up"), "{diff}");
    assert!(diff.contains("+index public.events_kind_idx"), "{diff}");
}

#[test]
fn up_that_fails_after_its_down_is_reup_failure_and_stops_the_run() {
    let run = check_json(&["--migrations", &demo("reup_failure")]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["reup_failure", "schema_drift"]);
    let f = findings(&report, "reup_failure")[0];
    assert_eq!(f["direction"], "reup");
    assert!(f["message"].as_str().unwrap().contains("42710"), "{f}");
    assert_eq!(f["line"], 1);
    assert_eq!(
        findings(&report, "schema_drift")[0]["object"],
        "type:public.mood"
    );
    assert_eq!(statuses(&report), vec!["ok", "finding", "skipped"]);
}

#[test]
fn missing_or_empty_down_is_one_irreversible_warning_each() {
    let run = check_json(&["--migrations", &demo("irreversible")]);
    let report = run.json();
    assert_eq!(run.code, 0, "warnings do not fail by default");
    let irreversible = findings(&report, "irreversible");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        2,
        "no drift cascade"
    );
    assert_eq!(irreversible.len(), 2);
    assert!(irreversible.iter().all(|f| f["severity"] == "warning"));
    assert!(
        irreversible[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("add_level.up.sql")
    );
    assert!(
        irreversible[1]["file"]
            .as_str()
            .unwrap()
            .ends_with("backfill_levels.down.sql")
    );
    assert!(report["migrations"][1]["down_ms"].is_null());

    let strict = check_json(&[
        "--migrations",
        &demo("irreversible"),
        "--fail-on",
        "warning",
    ]);
    assert_eq!(strict.code, 1);
    assert_eq!(strict.json()["status"], "fail");
}

#[test]
fn failing_statement_is_migration_error_at_its_line() {
    let run = check_json(&["--migrations", &demo("migration_error")]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["migration_error"]);
    let f = findings(&report, "migration_error")[0];
    assert_eq!(f["direction"], "up");
    assert_eq!(f["line"], 5, "the line of the misspelt column");
    assert_eq!(f["details"]["code"], "42703");
    assert!(f["message"].as_str().unwrap().contains("balanse"));
    assert_eq!(statuses(&report), vec!["ok", "error", "skipped"]);
}

#[test]
fn broken_invariant_is_reported_with_rows() {
    let run = check_json(&[
        "--migrations",
        &demo("invariant_violation/migrations"),
        "--checks",
        &demo("invariant_violation/checks"),
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["invariant_violation"]);
    let f = findings(&report, "invariant_violation")[0];
    assert_eq!(f["check"], "no_negative_balance");
    assert_eq!(f["migration"], "20240701000002");
    let rows = f["details"]["rows"].as_i64().unwrap();
    assert!(rows > 0);
    let sample = f["details"]["sample"].as_array().unwrap();
    assert!(!sample.is_empty() && sample.len() <= 5);
    assert!(sample[0]["balance"].as_f64().unwrap() < 0.0);
    assert_eq!(report["summary"]["checks_run"], 1);
}

#[test]
fn up_dropping_a_column_is_destructive_change_only() {
    let run = check_json(&["--migrations", &demo("destructive_change")]);
    let report = run.json();
    assert_eq!(run.code, 0);
    assert_eq!(kinds(&report), vec!["destructive_change"]);
    let f = findings(&report, "destructive_change")[0];
    assert_eq!(f["object"], "public.members.notes");
    assert_eq!(f["column"], "notes");
    assert!(f["details"]["values_lost"].as_i64().unwrap() > 0);
}

#[test]
fn column_that_comes_back_elsewhere_is_a_column_order_warning() {
    let run = check_json(&[
        "--migrations",
        &fixture("column_order"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 0);
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0]["severity"], "warning");
    assert_eq!(drift[0]["details"]["column_order"], true);
    assert_eq!(drift[0]["object"], "public.contacts");
    assert!(
        findings(&report, "data_loss").is_empty(),
        "values were restored"
    );
}

#[test]
fn column_order_can_be_allowed_in_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftless.toml");
    std::fs::write(
        &config,
        "[[allow]]\nkind = \"schema_drift\"\ncolumn_order = true\nreason = \"no SELECT * here\"\n",
    )
    .unwrap();
    let run = check_json(&[
        "--migrations",
        &fixture("column_order"),
        "--checks",
        "tests",
        "--config",
        config.to_str().unwrap(),
        "--fail-on",
        "warning",
    ]);
    let report = run.json();
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift[0]["severity"], "info");
    assert_eq!(drift[0]["details"]["allowed"], "no SELECT * here");
    // The destructive_change warning still fails the run at --fail-on warning.
    assert_eq!(run.code, 1);
}

#[test]
fn values_frozen_at_creation_are_not_drift() {
    let run = check_json(&[
        "--migrations",
        &fixture("frozen_now"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 0);
    assert_eq!(report["findings"], Value::Array(vec![]));
}

#[test]
fn failed_down_is_reported_and_the_run_goes_on() {
    let run = check_json(&[
        "--migrations",
        &fixture("failed_down"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["migration_error"]);
    let f = findings(&report, "migration_error")[0];
    assert_eq!(f["direction"], "down");
    assert_eq!(
        f["line"], 2,
        "the statement (PostgreSQL gives no position here)"
    );
    assert_eq!(statuses(&report), vec!["ok", "finding", "ok"]);
    assert!(report["migrations"][2]["reup_ms"].is_u64());
}

#[test]
fn a_failed_down_in_a_file_shared_with_its_up_quotes_the_downs_statement() {
    // goose (like dbmate) keeps the up and the down in one file: the line of the down's
    // statement comes after the up's last one, which must not be quoted in its place.
    let run = check_json(&[
        "--migrations",
        &fixture("failed_down_one_file"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(kinds(&report), vec!["migration_error"]);
    let f = findings(&report, "migration_error")[0];
    assert_eq!(f["direction"], "down");
    assert_eq!(
        f["file"],
        "tests/fixtures/postgres/failed_down_one_file/00002_add_bins.sql"
    );
    assert_eq!(f["line"], 14);
    assert_eq!(f["statement"], "DROP TABLE bins");
}

#[test]
fn an_enum_label_a_down_leaves_is_named_once() {
    let run = check_json(&[
        "--migrations",
        &fixture("enum_label_left"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(kinds(&report), vec!["schema_drift"], "{}", run.stdout);
    let f = findings(&report, "schema_drift")[0];
    assert_eq!(f["migration"], "2");
    assert_eq!(
        f["message"],
        "up→down left type public.parcel_state different from before up: label 'lost' added"
    );
}

#[test]
fn table_without_primary_key_compares_as_whole_rows() {
    let run = check_json(&[
        "--migrations",
        &fixture("no_primary_key"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1);
    assert_eq!(loss[0]["object"], "public.audit_log");
    assert!(loss[0]["column"].is_null());
    let missing = loss[0]["details"]["rows_missing"].as_i64().unwrap();
    assert!(missing > 0 && missing < 200);
    assert!(loss[0]["message"].as_str().unwrap().contains("whole rows"));
    let destructive = findings(&report, "destructive_change");
    assert_eq!(destructive[0]["details"]["rows_after"], 200 - missing);
}

#[test]
fn allow_comment_turns_a_finding_into_info_with_its_reason() {
    let run = check_json(&[
        "--migrations",
        &fixture("allow_in_file"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(run.code, 0, "the only error is allowed");
    let loss = findings(&report, "data_loss")[0];
    assert_eq!(loss["severity"], "info");
    assert_eq!(
        loss["details"]["allowed"],
        "names are re-imported from the CRM after a rollback"
    );
    assert_eq!(report["summary"]["infos"], 1);
}

#[test]
fn severity_can_be_remapped_in_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftless.toml");
    std::fs::write(&config, "[severity]\ndestructive_change = \"error\"\n").unwrap();
    let run = check_json(&[
        "--migrations",
        &demo("destructive_change"),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        findings(&run.json(), "destructive_change")[0]["severity"],
        "error"
    );
}

#[test]
fn config_file_supplies_defaults_relative_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = util::repo().join(demo("irreversible"));
    std::fs::write(
        dir.path().join("driftless.toml"),
        format!(
            "migrations = \"{}\"\nrows = 7\nseed = 9\nfail_on = \"warning\"\n",
            migrations.display()
        ),
    )
    .unwrap();
    let run = check_json(&[
        "--config",
        dir.path().join("driftless.toml").to_str().unwrap(),
    ]);
    let report = run.json();
    assert_eq!(run.code, 1, "fail_on = warning from the file");
    assert_eq!(report["seed"], 9);
    assert_eq!(report["migrations"][1]["rows_seeded"], 7);
}

#[test]
fn same_seed_same_findings_and_the_seed_matters() {
    let strip = |mut report: Value| {
        report["duration_ms"] = Value::Null;
        report["started_at"] = Value::Null;
        report["phases_ms"] = Value::Null;
        for m in report["migrations"].as_array_mut().unwrap() {
            for key in ["up_ms", "down_ms", "reup_ms"] {
                m[key] = Value::Null;
            }
        }
        report
    };
    let args = ["--migrations", &demo("data_loss"), "--seed", "7"];
    let a = strip(check_json(&args).json());
    let b = strip(check_json(&args).json());
    assert_eq!(a, b);
    let c = strip(check_json(&["--migrations", &demo("data_loss"), "--seed", "8"]).json());
    assert_ne!(
        a["findings"], c["findings"],
        "another seed gives other data, so other sample keys"
    );
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("schema_drift"),
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    util::assert_valid_report(&report);
    assert_eq!(report["status"], "fail");
}

#[test]
fn values_changed_without_any_row_written_are_still_data_loss() {
    // Renaming an enum label changes every value that uses it without writing a row: the
    // fingerprint cache must not take the table for unchanged.
    let run = check_json(&[
        "--migrations",
        &fixture("enum_rename"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1, "{}", run.stdout);
    assert_eq!(loss[0]["object"], "public.tickets.state");
    assert!(loss[0]["details"]["values_changed"].as_i64().unwrap() > 0);
    assert_eq!(
        kinds(&report),
        vec!["data_loss", "reup_failure", "schema_drift"]
    );
}

#[test]
fn kitchen_sink_of_postgres_features_runs_clean_and_seeds_every_type() {
    // Schemas, extensions, domains, composite and enum types, uuid/identity/generated
    // columns, arrays, json, money, inet, partitions, materialized views, sequences, RLS,
    // a migration with its own BEGIN/COMMIT, renames, BEGIN ATOMIC, widen-then-narrow.
    let run = check_json(&[
        "--migrations",
        &fixture("kitchen_sink"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(report["findings"], Value::Array(vec![]), "{}", run.stdout);
    assert_eq!(run.code, 0);
    let seeded: u64 = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rows_seeded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        seeded,
        3 * 200,
        "accounts, invoices (through its partitions), audit events"
    );
}

#[test]
fn an_extension_a_down_keeps_is_a_warning_and_one_it_drops_an_error() {
    // 1 creates an extension with IF NOT EXISTS and its down keeps it, as projects do on
    // purpose; 2's down drops the extension that was there before its up.
    let run = check_json(&[
        "--migrations",
        &fixture("extension_kept"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    let drift = findings(&report, "schema_drift");
    // 2's down and its re-up each say the extension is gone.
    assert_eq!(drift.len(), 3, "{}", run.stdout);
    let kept = drift
        .iter()
        .find(|f| f["migration"] == "20240701000001")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(kept["severity"], "warning", "{kept}");
    assert_eq!(kept["details"]["extension_kept"], true);
    assert!(kept["help"].as_str().unwrap().contains("on purpose"));
    for dropped in drift.iter().filter(|f| f["migration"] == "20240701000002") {
        assert_eq!(dropped["severity"], "error", "{dropped}");
        assert!(dropped["details"].get("extension_kept").is_none());
    }
    assert_eq!(run.code, 1, "the dropped extension fails the gate");
}

#[test]
fn only_the_tracking_table_of_the_tool_in_use_is_hidden() {
    // The up writes into sqlx's own table, which driftless created before the first
    // migration: no finding about it. It also makes a table named like goose's: in a sqlx
    // project that is the user's table, and the down leaving it behind is drift.
    let run = check_json(&[
        "--migrations",
        &fixture("tracking_table"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    assert_eq!(report["migration_format"], "sqlx");
    assert_eq!(kinds(&report), ["schema_drift"], "{}", run.stdout);
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    assert_eq!(drift[0]["object"], "public.goose_db_version");
}

#[test]
fn data_loss_shows_the_values_lost() {
    util::assert_lost_values_are_shown("postgres");
}
