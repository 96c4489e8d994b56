//! What `check` sees beyond tables and rows, on real PostgreSQL and MariaDB: sequences left
//! behind the ids in use (`sequence_collision`), collations and inheritance compared as part of
//! the schema, and `schema_drift` findings that name their object, column and constraint.
//! Each planted defect has a control that makes the same changes correctly and stays clean.

mod util;

use serde_json::Value;
use util::{check_json, findings, fixture, kinds};

const NO_CHECKS: &str = "tests/fixtures/no_checks";

fn check_pg(name: &str) -> (util::Run, Value) {
    let run = check_json(&["--migrations", &fixture(name), "--checks", NO_CHECKS]);
    let report = run.json();
    (run, report)
}

fn check_mysql(name: &str) -> (util::Run, Value) {
    let run = check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        &format!("tests/fixtures/mysql/{name}"),
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    (run, report)
}

fn no_findings(run: &util::Run, report: &Value) {
    assert_eq!(report["findings"], Value::Array(vec![]), "{}", run.stdout);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// The one finding of `kind` on `object`.
fn on<'a>(report: &'a Value, kind: &str, object: &str) -> &'a Value {
    let all = findings(report, kind);
    let mut on: Vec<&Value> = all.into_iter().filter(|f| f["object"] == object).collect();
    assert_eq!(on.len(), 1, "{kind} on {object}: {report}");
    on.remove(0)
}

/// A collision names the sequence, the column, the next value and the highest value in use;
/// the next value is at or below it, and the sequence stood past it before the up.
fn assert_collision(f: &Value, column: &str) {
    assert_eq!(f["severity"], "error", "{f}");
    assert_eq!(f["direction"], "down", "{f}");
    assert_eq!(f["column"], column, "{f}");
    let d = &f["details"];
    let (next, highest) = (
        d["next_value"].as_i64().unwrap(),
        d["highest_in_use"].as_i64().unwrap(),
    );
    assert_eq!(next, 1, "{f}");
    assert!(highest >= 100, "the seeded rows hold ids: {f}");
    assert!(d["next_value_before"].as_i64().unwrap() > highest, "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(&format!("at {next}")), "{message}");
    assert!(message.contains(&highest.to_string()), "{message}");
}

#[test]
fn a_down_that_resets_a_sequence_or_an_identity_is_a_collision() {
    let (run, report) = check_pg("sequence_reset");
    assert_eq!(kinds(&report), ["sequence_collision"], "{}", run.stdout);
    assert_eq!(run.code, 1);
    // A serial's sequence created again without setval.
    let items = on(&report, "sequence_collision", "public.items_id_seq");
    assert_collision(items, "id");
    assert_eq!(items["table"], "items");
    assert_eq!(items["migration"], "2");
    assert_eq!(items["details"]["column"], "public.items.id");
    assert_eq!(items["line"], 3, "the CREATE SEQUENCE: {items}");
    assert!(
        items["statement"]
            .as_str()
            .unwrap()
            .starts_with("CREATE SEQUENCE")
    );
    // An identity added again, numbering from 1.
    let tickets = on(&report, "sequence_collision", "public.tickets_id_seq");
    assert_collision(tickets, "id");
    assert_eq!(tickets["table"], "tickets");
    assert_eq!(tickets["migration"], "3");
    assert!(tickets["help"].as_str().unwrap().contains("setval"));
}

#[test]
fn sequences_moved_past_the_ids_in_use_are_clean() {
    let (run, report) = check_pg("sequence_kept");
    no_findings(&run, &report);
}

#[test]
fn a_mariadb_sequence_created_again_collides_and_auto_increment_does_not() {
    let (run, report) = check_mysql("sequence_reset");
    assert_eq!(kinds(&report), ["sequence_collision"], "{}", run.stdout);
    let all = findings(&report, "sequence_collision");
    assert_eq!(all.len(), 1, "{}", run.stdout);
    let f = all[0];
    assert!(
        f["object"].as_str().unwrap().ends_with(".order_numbers"),
        "{f}"
    );
    assert_eq!(f["table"], "orders");
    assert_collision(f, "number");
    // `ALTER TABLE … AUTO_INCREMENT = 1` in the same down: InnoDB puts the counter past
    // max(id), so no collision is claimed for it.
    assert!(!run.stdout.contains("auto_increment:"), "{}", run.stdout);
}

#[test]
fn a_mariadb_sequence_put_back_in_place_is_clean() {
    let (run, report) = check_mysql("sequence_kept");
    no_findings(&run, &report);
}

#[test]
fn drift_inside_a_table_names_its_column_or_constraint() {
    let (run, report) = check_pg("drift_parts");
    assert_eq!(kinds(&report), ["schema_drift"], "{}", run.stdout);
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 2, "{}", run.stdout);
    for f in &drift {
        assert_eq!(f["object"], "public.orders", "{f}");
        assert_eq!(f["table"], "orders", "{f}");
        assert_eq!(f["direction"], "down", "{f}");
    }
    let check = drift
        .iter()
        .find(|f| f["constraint"] == "orders_total_check")
        .unwrap_or_else(|| panic!("no finding on the constraint: {}", run.stdout));
    assert_eq!(check["column"], Value::Null);
    assert!(
        check["details"]["change"]
            .as_str()
            .unwrap()
            .contains("NOT VALID added"),
        "{check}"
    );
    let default = drift
        .iter()
        .find(|f| f["column"] == "status")
        .unwrap_or_else(|| panic!("no finding on the column: {}", run.stdout));
    assert_eq!(default["constraint"], Value::Null);
    assert!(
        default["message"]
            .as_str()
            .unwrap()
            .contains("default 'new'::text removed"),
        "{default}"
    );
}

#[test]
fn a_collation_created_again_differently_is_drift() {
    let (run, report) = check_pg("collation_drift");
    assert_eq!(kinds(&report), ["schema_drift"], "{}", run.stdout);
    let f = on(&report, "schema_drift", "collation:public.case_insensitive");
    assert_eq!(findings(&report, "schema_drift").len(), 1, "{}", run.stdout);
    assert_eq!(f["direction"], "down");
    assert_eq!(f["table"], Value::Null);
    assert!(
        f["details"]["change"]
            .as_str()
            .unwrap()
            .contains("deterministic false → deterministic true"),
        "{f}"
    );
}

#[test]
fn an_inherited_column_that_became_local_is_drift() {
    let (run, report) = check_pg("inherit_local");
    assert_eq!(kinds(&report), ["schema_drift"], "{}", run.stdout);
    let drift = findings(&report, "schema_drift");
    let mut columns: Vec<&str> = drift
        .iter()
        .map(|f| {
            assert_eq!(f["object"], "public.cars", "{f}");
            assert!(
                f["details"]["change"]
                    .as_str()
                    .unwrap()
                    .ends_with("and local added"),
                "{f}"
            );
            f["column"].as_str().unwrap()
        })
        .collect();
    columns.sort();
    assert_eq!(columns, ["id", "name"], "{}", run.stdout);
}

#[test]
fn collations_inheritance_and_constraints_put_back_are_clean() {
    let (run, report) = check_pg("detect_controls");
    no_findings(&run, &report);
}

#[test]
fn every_catalog_kind_a_down_forgets_is_drift() {
    let (run, report) = check_pg("catalog_kinds");
    assert_eq!(kinds(&report), ["schema_drift"], "{}", run.stdout);
    let drift = findings(&report, "schema_drift");
    let of = |version: &str| -> Vec<&Value> {
        drift
            .iter()
            .copied()
            .filter(|f| f["migration"] == version && f["direction"] == "down")
            .collect()
    };
    // Migration → (object, column, what the change says).
    let expected = [
        ("2", "public.t", None, "statistics t_ab removed"),
        ("3", "publication:t_changes", None, ""),
        ("4", "event_trigger:log_ddl", None, ""),
        ("5", "default_privileges:", None, ""),
        ("6", "public.t", Some("a"), "acl {=r/"),
        ("7", "public.t", None, "replica identity"),
        ("8", "public.t", Some("b"), "statistics 500 removed"),
        (
            "8",
            "public.t",
            Some("note"),
            "storage external compression pglz removed",
        ),
    ];
    for (version, object, column, change) in expected {
        let found = of(version).into_iter().any(|f| {
            f["object"].as_str().unwrap().starts_with(object)
                && f["column"].as_str() == column
                && f["message"].as_str().unwrap().contains(change)
        });
        assert!(
            found,
            "migration {version}: no drift on {object} {column:?} ({change}): {}",
            run.stdout
        );
    }
    assert_eq!(
        report["migrations"][0]["status"], "ok",
        "the first down undoes all of it"
    );
}

#[test]
fn mariadb_checks_triggers_events_and_generated_columns_a_down_forgets_are_drift() {
    let (run, report) = check_mysql("catalog_kinds");
    let drift = findings(&report, "schema_drift");
    let at = |version: &str| -> Vec<&Value> {
        drift
            .iter()
            .copied()
            .filter(|f| f["migration"] == version && f["direction"] == "down")
            .collect()
    };
    let check = at("2");
    assert_eq!(check.len(), 1, "{}", run.stdout);
    assert_eq!(check[0]["constraint"], "t_a_positive");
    assert_eq!(check[0]["table"], "t");
    let trigger = at("3");
    assert_eq!(trigger.len(), 1, "{}", run.stdout);
    assert!(
        trigger[0]["message"]
            .as_str()
            .unwrap()
            .contains("trigger t_audit removed")
    );
    let event = at("4");
    assert_eq!(event.len(), 1, "{}", run.stdout);
    assert!(
        event[0]["object"].as_str().unwrap().ends_with(".purge_log"),
        "{}",
        event[0]
    );
    let generated = at("5");
    assert_eq!(generated.len(), 1, "{}", run.stdout);
    assert_eq!(generated[0]["column"], "total");
    assert_eq!(
        report["migrations"][0]["status"], "ok",
        "the first down undoes all of it"
    );
}
