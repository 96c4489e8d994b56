//! Values under a nondeterministic collation, on real PostgreSQL with ICU: `'alice'` and
//! `'ALICE'` are equal under `und-u-ks-level2` (its own hash of both is the same, measured on
//! PostgreSQL 15), yet a down that leaves the names in capitals has lost what they were. The
//! fingerprint hashes text in the `C` collation, so `check` names the column; a down that
//! gives the exact values back stays clean.

mod util;

use serde_json::Value;
use util::{Run, check_json, findings, fixture, kinds};

fn check(name: &str) -> Option<(Run, Value)> {
    let run = check_json(&[
        "--migrations",
        &fixture(name),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let text = format!("{}{}", run.stdout, run.stderr);
    if text.contains("ICU is not supported") {
        println!("skipped: this PostgreSQL build has no ICU ({name})");
        return None;
    }
    let report = run.json();
    Some((run, report))
}

#[test]
fn a_down_that_changes_the_case_of_values_under_a_case_insensitive_collation_loses_them() {
    let Some((run, report)) = check("collation_case") else {
        return;
    };
    assert_eq!(kinds(&report), ["data_loss"], "{}", run.stdout);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lost = findings(&report, "data_loss");
    assert_eq!(lost.len(), 1, "{}", run.stdout);
    let f = lost[0];
    assert_eq!(f["table"], "users", "{f}");
    assert_eq!(f["column"], "name", "only the names changed: {f}");
    assert_eq!(f["migration"], "2", "{f}");
    assert_eq!(f["direction"], "down", "{f}");
    let d = &f["details"];
    let changed = d["values_changed"].as_i64().unwrap();
    assert!(changed > 0, "{f}");
    assert_eq!(d["rows_before"], d["rows_after"], "no row gone: {f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("values in public.users.name"),
        "{f}"
    );
}

#[test]
fn a_down_that_gives_the_exact_values_back_under_that_collation_is_clean() {
    let Some((run, report)) = check("collation_case_kept") else {
        return;
    };
    assert_eq!(report["findings"], Value::Array(vec![]), "{}", run.stdout);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
