//! Every wait is bounded: a statement of a migration or a check that runs longer than
//! `--statement-timeout` is cancelled by the server and becomes a finding naming the statement
//! and the limit, on PostgreSQL and MariaDB, and the run ends in seconds.

mod util;

use std::time::{Duration, Instant};

use util::{check_json, findings};

#[test]
fn a_statement_longer_than_the_timeout_is_a_finding_naming_the_limit() {
    for (engine, dir, code) in [
        ("postgres", "tests/fixtures/histories/never_ends", "57014"),
        ("mysql", "tests/fixtures/mysql/never_ends", "1969"),
    ] {
        let started = Instant::now();
        let run = check_json(&[
            "--engine",
            engine,
            "--migrations",
            dir,
            "--checks",
            "tests/fixtures/no_checks",
            "--statement-timeout",
            "2s",
        ]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{engine}: the run ended {:?} after it started",
            started.elapsed()
        );
        assert_eq!(run.code, 1, "{engine}: {}", run.stdout);
        let report = run.json();
        util::assert_valid_report(&report);
        let errors = findings(&report, "migration_error");
        assert_eq!(errors.len(), 1, "{engine}: {}", run.stdout);
        let f = errors[0];
        assert_eq!(f["migration"], "20240101000002");
        assert_eq!(f["line"], 2, "{engine}: the statement that ran too long");
        assert_eq!(f["details"]["code"], code, "{engine}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("statement timeout of 2s"),
            "{engine}: {f}"
        );
        // Cancelled for its time, it is not tried again on emptied tables.
        assert!(f["details"]["retried_on_empty_tables"].is_null(), "{f}");
    }
}

#[test]
fn a_check_longer_than_the_timeout_is_a_finding_too() {
    let run = check_json(&[
        "--migrations",
        "tests/fixtures/histories/one_cause",
        "--checks",
        "tests/fixtures/slow_checks",
        "--statement-timeout",
        "1s",
    ]);
    let report = run.json();
    let stuck: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "never_ends")
        .collect();
    assert!(!stuck.is_empty(), "{}", run.stdout);
    assert!(
        stuck[0].to_string().contains("statement timeout"),
        "{}",
        stuck[0]
    );
}

#[test]
fn a_timeout_that_is_not_a_duration_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftless.toml");
    std::fs::write(&config, "rows = 10\nstatement_timeout = \"soon\"\n").unwrap();
    let run = check_json(&[
        "--migrations",
        "tests/fixtures/histories/never_ends",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("driftless.toml:2") && run.stderr.contains("statement_timeout"),
        "{}",
        run.stderr
    );
}
