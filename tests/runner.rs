//! Each migration runs as its tool's runner runs it, against real PostgreSQL and MariaDB: a
//! statement the runner's transaction refuses fails in `check` as in production, with the
//! tool's own fix in the finding; a script that leaves its transaction open, or opens one
//! inside the runner's, is a finding on that migration.

mod util;

use serde_json::Value;
use util::{check_json, findings};

const NO_CHECKS: &str = "tests/fixtures/no_checks";

fn check(engine: &str, fixture: &str, format: &str) -> Value {
    let dir = format!("tests/fixtures/runner/{fixture}");
    let run = check_json(&[
        "--engine",
        engine,
        "--migrations",
        &dir,
        "--migration-format",
        format,
        "--checks",
        NO_CHECKS,
    ]);
    let report = run.json();
    util::assert_valid_report(&report);
    report
}

/// The one `migration_error` of the run, on the up of migration `version`.
fn the_error<'a>(report: &'a Value, version: &str) -> &'a Value {
    let errors = findings(report, "migration_error");
    assert_eq!(errors.len(), 1, "{report:#}");
    let f = errors[0];
    assert_eq!(f["migration"], version, "{f:#}");
    assert_eq!(f["severity"], "error", "{f:#}");
    f
}

/// A statement the runner's transaction refuses: the server's code, the runner named, and
/// the fix (which the message carries too).
fn assert_refused(f: &Value, code: &str, runner: &str, fix: &str) {
    assert_eq!(f["details"]["code"], code, "{f:#}");
    assert_eq!(f["details"]["runner"], runner, "{f:#}");
    let message = f["message"].as_str().unwrap();
    let got_fix = f["details"]["fix"].as_str().unwrap();
    assert!(got_fix.contains(fix), "{got_fix}");
    assert!(message.contains(got_fix), "{message}");
}

#[test]
fn sqlx_wraps_every_migration_unless_it_starts_with_no_transaction() {
    let bad = check("postgres", "sqlx/bad", "sqlx");
    let f = the_error(&bad, "2");
    assert_refused(
        f,
        "25001",
        "sqlx",
        "add `-- no-transaction` as the very first line",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("sqlx runs every migration in a transaction")
    );
    assert_eq!(f["line"], 1);
    let good = check("postgres", "sqlx/good", "sqlx");
    assert_eq!(good["findings"], Value::Array(vec![]), "{good:#}");
    assert_eq!(good["status"], "pass");
}

#[test]
fn golang_migrate_sends_a_file_as_one_request_which_postgres_makes_one_transaction() {
    let report = check("postgres", "golang_migrate", "golang-migrate");
    let f = the_error(&report, "2");
    assert_refused(f, "25001", "golang-migrate", "a migration file of its own");
    assert_eq!(f["line"], 2, "the CREATE INDEX CONCURRENTLY");
}

#[test]
fn diesel_dbmate_goose_and_liquibase_name_their_own_opt_out() {
    let cases = [
        ("diesel", "diesel", "1", "run_in_transaction = false"),
        ("dbmate", "dbmate", "2", "transaction:false"),
        ("goose", "goose", "2", "-- +goose NO TRANSACTION"),
        ("liquibase", "liquibase", "2", "runInTransaction:false"),
    ];
    for (fixture, format, version, fix) in cases {
        let report = check("postgres", fixture, format);
        let errors = findings(&report, "migration_error");
        assert_eq!(errors.len(), 1, "{format}: {report:#}");
        let f = errors[0];
        assert!(
            f["migration"].as_str().unwrap().ends_with(version) || format == "diesel",
            "{format}: {f:#}"
        );
        assert_refused(f, "25001", format, fix);
    }
}

#[test]
fn flyway_refuses_a_migration_mixing_transactional_and_non_transactional_statements() {
    let report = check("postgres", "flyway", "flyway");
    let f = the_error(&report, "2");
    assert_eq!(f["details"]["code"], "runner_refused", "{f:#}");
    assert!(
        f["details"]["fix"]
            .as_str()
            .unwrap()
            .contains("flyway.mixed=true")
    );
    assert_eq!(f["line"], 2);
    // Refused before it ran: nothing of it was applied.
    assert!(f["details"].get("left_behind").is_none(), "{f:#}");
}

#[test]
fn popx_reports_an_enum_value_used_in_the_transaction_that_added_it() {
    let report = check("postgres", "popx", "popx");
    let f = the_error(&report, "2");
    assert_refused(f, "55P04", "popx", "autocommit");
    assert!(
        f["details"]["fix"]
            .as_str()
            .unwrap()
            .contains("before the migration that uses it")
    );
    assert!(f["details"]["fix"].as_str().unwrap().contains("of its own"));
}

#[test]
fn a_deploy_script_that_never_commits_is_an_error_on_that_change() {
    let report = check("postgres", "sqitch", "sqitch");
    let f = the_error(&report, "notes");
    assert_eq!(f["details"]["code"], "unclosed_transaction", "{f:#}");
    assert_eq!(f["line"], 1);
    assert!(f["details"]["fix"].as_str().unwrap().contains("COMMIT"));
    assert!(findings(&report, "schema_drift").is_empty(), "{report:#}");
}

#[test]
fn a_begin_inside_the_runners_transaction_is_a_nested_transaction_warning() {
    let report = check("postgres", "nested", "sqlx");
    let lints = findings(&report, "lint");
    assert_eq!(lints.len(), 1, "{report:#}");
    assert_eq!(lints[0]["details"]["rule"], "nested_transaction");
    assert_eq!(lints[0]["severity"], "warning");
    assert_eq!(lints[0]["line"], 1);
    assert!(findings(&report, "migration_error").is_empty());
}

#[test]
fn mariadb_an_unclosed_transaction_is_an_error_on_that_migration() {
    let report = check("mysql", "mysql/unclosed", "golang-migrate");
    let f = the_error(&report, "2");
    assert_eq!(f["details"]["code"], "unclosed_transaction", "{f:#}");
    assert!(findings(&report, "schema_drift").is_empty(), "{report:#}");
}

#[test]
fn mariadb_ddl_commits_inside_the_runners_transaction() {
    // sqlx wraps the file, but MariaDB commits CREATE TABLE at once: the failure after it
    // leaves the table behind, as production would be left.
    let report = check("mysql", "mysql/ddl_commits", "sqlx");
    let f = the_error(&report, "1");
    let left = f["details"]["left_behind"].as_str().unwrap_or_default();
    assert!(left.contains("items"), "{f:#}");
    assert!(f["details"].get("fix").is_none(), "{f:#}");
}
