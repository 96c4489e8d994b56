//! `driftless check --engine mysql` against real MariaDB: every finding kind, the clean set,
//! MySQL's silent losses (precision, charset, truncation), partial failure, DELIMITER files,
//! and nothing left behind.

mod util;

use serde_json::Value;
use util::{check_json, driftless, findings, kinds, statuses};

const NO_CHECKS: &str = "tests/fixtures/no_checks";

fn mysql_set(name: &str) -> String {
    format!("migrations-under-test/mysql/{name}")
}

fn check(set: &str) -> util::Run {
    check_dir(&mysql_set(set))
}

/// `check` of one of the MySQL fixtures under `tests/fixtures/mysql`.
fn check_fixture(name: &str) -> util::Run {
    check_dir(&format!("tests/fixtures/mysql/{name}"))
}

fn check_dir(dir: &str) -> util::Run {
    check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        dir,
        "--checks",
        NO_CHECKS,
    ])
}

#[test]
fn clean_set_with_delimiter_files_has_no_findings() {
    let run = check("clean");
    let report = run.json();
    assert_eq!(report["findings"], Value::Array(vec![]), "{}", run.stdout);
    assert_eq!(run.code, 0);
    assert_eq!(report["engine"], "mysql");
    assert!(
        report["server_version"]
            .as_str()
            .unwrap()
            .ends_with("-MariaDB"),
        "{}",
        report["server_version"]
    );
    assert!(
        report["server_settings"]["sql_mode"]
            .as_str()
            .unwrap()
            .contains("STRICT_TRANS_TABLES")
    );
    assert_eq!(statuses(&report), vec!["ok"; 10]);
    let seeded: u64 = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rows_seeded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        seeded,
        3 * 200,
        "users, products and orders, with edge rows"
    );
}

fn loss_in(report: &Value, object: &str) -> i64 {
    let loss = findings(report, "data_loss");
    assert_eq!(loss.len(), 1, "{loss:?}");
    assert_eq!(loss[0]["object"], object);
    assert_eq!(loss[0]["direction"], "down");
    loss[0]["details"]["values_changed"].as_i64().unwrap()
}

#[test]
fn fractional_seconds_rounded_away_are_data_loss_even_in_strict_mode() {
    let run = check("data_loss");
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["data_loss", "destructive_change"]);
    assert!(loss_in(&report, "driftless.events.happened_at") > 0);
    let narrowing = findings(&report, "destructive_change")[0];
    assert_eq!(narrowing["details"]["type_before"], "datetime(6)");
    assert_eq!(narrowing["details"]["type_after"], "datetime");
}

#[test]
fn charset_round_trip_through_latin1_is_data_loss() {
    let run = check("charset_roundtrip");
    let report = run.json();
    assert_eq!(run.code, 1);
    // Only rows with characters latin1 lacks are lost; plain and accented text survives.
    let lost = loss_in(&report, "driftless.posts.title");
    assert!(lost > 0 && lost < 200, "{lost}");
    assert_eq!(
        report["server_settings"]["sql_mode"],
        "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
    );
}

#[test]
fn truncating_narrowing_is_data_loss() {
    let run = check("truncating_narrowing");
    let report = run.json();
    assert_eq!(run.code, 1);
    let lost = loss_in(&report, "driftless.profiles.bio");
    assert!(lost > 0, "values longer than 50 characters were cut");
    assert_eq!(findings(&report, "destructive_change")[0]["column"], "bio");
}

#[test]
fn forgotten_index_is_schema_drift() {
    let run = check("schema_drift");
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["schema_drift"]);
    let f = findings(&report, "schema_drift")[0];
    assert_eq!(f["object"], "driftless.tickets");
    assert!(
        f["details"]["diff"]
            .as_str()
            .unwrap()
            .contains("+  index `tickets_priority_idx`")
    );
}

#[test]
fn forgotten_table_is_drift_and_reup_failure() {
    let run = check("reup_failure");
    let report = run.json();
    assert_eq!(kinds(&report), vec!["reup_failure", "schema_drift"]);
    assert_eq!(
        findings(&report, "reup_failure")[0]["details"]["code"],
        "1050"
    );
    assert_eq!(statuses(&report), vec!["ok", "finding", "skipped"]);
}

#[test]
fn missing_and_empty_downs_are_irreversible() {
    let run = check("irreversible");
    let report = run.json();
    assert_eq!(run.code, 0);
    assert_eq!(findings(&report, "irreversible").len(), 2);
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn half_applied_up_shows_what_it_left_behind() {
    let run = check("migration_error");
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&report), vec!["migration_error"]);
    let f = findings(&report, "migration_error")[0];
    assert_eq!(f["line"], 6, "statement 3 of the up, where it failed");
    assert_eq!(f["details"]["code"], "1054");
    let left = f["details"]["left_behind"].as_str().unwrap();
    assert!(left.contains("+  column `currency`"), "{left}");
    assert!(left.contains("+  index `accounts_currency_idx`"), "{left}");
    assert_eq!(statuses(&report), vec!["ok", "error", "skipped"]);
}

#[test]
fn broken_invariant_is_reported() {
    let run = check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        &mysql_set("invariant_violation/migrations"),
        "--checks",
        &mysql_set("invariant_violation/checks"),
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    let f = findings(&report, "invariant_violation")[0];
    assert_eq!(f["check"], "no_negative_balance");
    assert!(f["details"]["rows"].as_i64().unwrap() > 0);
}

#[test]
fn dropping_a_column_is_destructive_change_only() {
    let run = check("destructive_change");
    let report = run.json();
    assert_eq!(run.code, 0);
    assert_eq!(kinds(&report), vec!["destructive_change"]);
    assert_eq!(
        findings(&report, "destructive_change")[0]["object"],
        "driftless.members.notes"
    );
}

#[test]
fn sql_mode_from_config_applies_to_the_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftless.toml");
    std::fs::write(&config, "sql_mode = \"STRICT_ALL_TABLES\"\n").unwrap();
    let run = check_json(&[
        "--engine",
        "mysql",
        "--migrations",
        &mysql_set("clean"),
        "--checks",
        NO_CHECKS,
        "--config",
        config.to_str().unwrap(),
    ]);
    let report = run.json();
    assert_eq!(report["server_settings"]["sql_mode"], "STRICT_ALL_TABLES");
}

#[test]
fn missing_server_binary_is_exit_3() {
    let empty = tempfile::tempdir().unwrap();
    let run = driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "mysql",
        "--migrations",
        &mysql_set("clean"),
        "--mysql-bin",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("make setup"));
}

#[test]
fn unreachable_url_is_exit_3() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &mysql_set("clean"),
        "--url",
        "mysql://root:hunter2@127.0.0.1:1/app",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("mysql://root:***@127.0.0.1:1/app"));
    assert!(!run.stderr.contains("hunter2"));
}

#[test]
fn url_mode_uses_and_drops_a_throwaway_database() {
    let server = util::servers::mariadb();
    let runtime = util::runtime();
    drop(runtime.block_on(server.connect()).expect("server answers"));
    let url = server.url();
    let databases = || -> Vec<String> {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(
                "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
        })
    };
    let before = databases();
    let run = check_json(&["--migrations", &mysql_set("data_loss"), "--url", &url]);
    let report = run.json();
    assert_eq!(report["engine"], "mysql", "inferred from the URL");
    assert_eq!(kinds(&report), vec!["data_loss", "destructive_change"]);
    assert_eq!(databases(), before, "the throwaway database is gone");
    server.stop();
}

#[test]
fn sigint_mid_run_leaves_no_mariadbd_behind() {
    use std::time::Duration;
    let slow = tempfile::tempdir().unwrap();
    std::fs::write(
        slow.path().join("1_t.up.sql"),
        "CREATE TABLE t (id INT PRIMARY KEY);",
    )
    .unwrap();
    std::fs::write(slow.path().join("1_t.down.sql"), "DROP TABLE t;").unwrap();
    std::fs::write(slow.path().join("2_slow.up.sql"), "SELECT SLEEP(60);").unwrap();
    let output = util::interrupt_mid_run(
        &[
            "check",
            "--no-lint",
            "--engine",
            "mysql",
            "--migrations",
            slow.path().to_str().unwrap(),
        ],
        libc::SIGINT,
        Duration::from_millis(1000),
    );
    assert_eq!(output.status.code(), Some(130));
}

#[test]
fn kitchen_sink_of_mysql_features_runs_clean() {
    // SET, BIT, YEAR, latin1 and ascii columns, self-referencing FK, composite PK, stored
    // generated and invisible columns, ON UPDATE timestamps, RANGE partitions, a sequence, a
    // stored function in a DELIMITER block, an event (its start time is creation time), a
    // MERGE view, a DML-only migration in a transaction, ADD COLUMN ... AFTER.
    let run = check_fixture("kitchen_sink");
    let report = run.json();
    let noteworthy: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(noteworthy.is_empty(), "{noteworthy:#?}");
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
        "categories, prices, measurements: every type seeded"
    );
}

#[test]
fn bad_mysql_input_is_exit_2_with_file_and_line() {
    let dir = util::migration_dir(&[(
        "1_a.up.sql",
        b"CREATE TABLE a (id INT);\n\nINSERT INTO a VALUES ('oops);\n",
    )]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "mysql",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("1_a.up.sql:3:"), "{}", run.stderr);
    let dir = util::migration_dir(&[("1_a.up.sql", b"SELECT 1;\nDELIMITER\nSELECT 2;\n")]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "mysql",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("1_a.up.sql:2: DELIMITER without a delimiter"),
        "{}",
        run.stderr
    );
}

#[test]
fn keep_leaves_a_reachable_mysql_server() {
    let tmp = util::sandbox_dir();
    let output = util::command(tmp.path())
        .args([
            "check",
            "--no-lint",
            "--engine",
            "mysql",
            "--migrations",
            &mysql_set("clean"),
            "--keep",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let url = util::url_in(&stderr, "mysql");
    let runtime = util::runtime();
    let tables: i64 = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'driftless' AND TABLE_NAME = 'orders'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    });
    assert_eq!(tables, 1);
    let stop = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("stop it with: "))
        .unwrap_or_else(|| panic!("no stop command in: {stderr}"));
    assert!(
        std::process::Command::new("sh")
            .args(["-c", stop])
            .status()
            .unwrap()
            .success()
    );
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn data_loss_shows_the_values_lost() {
    util::assert_lost_values_are_shown("mariadb");
}

#[test]
fn a_goose_down_finding_quotes_the_down_statement_and_a_missing_column_is_named() {
    // Up and down share one goose file: the data loss is found at the down's line and must
    // quote the down's statement there, not the up's last one. The next up modifies a
    // column the previous one dropped: the help says it does not exist, not "backfill".
    let run = check_fixture("goose_down_section");
    let report = run.json();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1, "{loss:#?}");
    assert!(
        loss[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("20240301000002_drop_weight.sql"),
        "{:#?}",
        loss[0]
    );
    assert_eq!(loss[0]["line"], 8, "{:#?}", loss[0]);
    assert_eq!(
        loss[0]["statement"], "ALTER TABLE crates ADD COLUMN weight int DEFAULT NULL",
        "{:#?}",
        loss[0]
    );
    let errors = findings(&report, "migration_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["details"]["code"], "1054", "{:#?}", errors[0]);
    let help = errors[0]["help"].as_str().unwrap();
    assert!(help.contains("does not exist"), "{help}");
    assert!(!help.contains("backfill"), "{help}");
}

#[test]
fn mysql_only_json_operator_is_named_with_the_mariadb_spelling() {
    let run = check_fixture("mysql_only_json");
    let report = run.json();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let errors = findings(&report, "migration_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["details"]["code"], "1064");
    // The server names the statement's second line; the finding names it in the file.
    assert_eq!(errors[0]["line"], 3, "{:#?}", errors[0]);
    let help = errors[0]["help"].as_str().unwrap();
    assert!(help.contains("JSON_UNQUOTE(JSON_EXTRACT("), "{help}");
}

#[test]
fn an_on_update_timestamp_moved_by_a_reversible_down_is_a_warning_not_data_loss() {
    // touched_at is ON UPDATE CURRENT_TIMESTAMP: any UPDATE of a row stamps it, so a down
    // that restores every value it writes still leaves new times there. That is said as a
    // warning; a value the down does not restore stays an error.
    let run = check_fixture("on_update_stamp");
    let report = run.json();
    let loss = findings(&report, "data_loss");
    let of = |version: &str| -> Vec<(&str, &str)> {
        loss.iter()
            .filter(|f| f["migration"] == version)
            .map(|f| {
                (
                    f["column"].as_str().unwrap_or_default(),
                    f["severity"].as_str().unwrap_or_default(),
                )
            })
            .collect()
    };
    assert_eq!(
        of("20240401000002"),
        vec![("touched_at", "warning")],
        "{loss:#?}"
    );
    let stamped = loss
        .iter()
        .find(|f| f["migration"] == "20240401000002")
        .unwrap();
    assert_eq!(stamped["details"]["auto_updated"], true);
    assert!(
        stamped["help"].as_str().unwrap().contains("ON UPDATE"),
        "{stamped:#?}"
    );
    let mut shouted = of("20240401000003");
    shouted.sort();
    assert_eq!(
        shouted,
        vec![("brand", "error"), ("touched_at", "warning")],
        "{loss:#?}"
    );
    assert_eq!(run.code, 1, "the lost spelling fails the run");
}

#[test]
fn a_table_that_cannot_be_seeded_is_reported_once_not_passed_in_silence() {
    // depots has a NOT NULL POINT column, which no generator fills: the table stays empty
    // and nothing done to its data can be seen. The run says so (once), and still checks
    // the table it could seed.
    let run = check_fixture("unseeded_geometry");
    let report = run.json();
    let unseeded: Vec<&Value> = findings(&report, "seed_conflict")
        .into_iter()
        .filter(|f| f["details"]["unseeded"] == true)
        .collect();
    assert_eq!(unseeded.len(), 1, "{unseeded:#?}");
    let f = unseeded[0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["migration"], "20240601000002");
    assert!(
        f["details"]["table"].as_str().unwrap().ends_with("depots"),
        "{f:#?}"
    );
    assert!(f["message"].as_str().unwrap().contains("spot"), "{f:#?}");
    let loss = findings(&report, "data_loss");
    assert_eq!(loss.len(), 1, "{loss:#?}");
    assert_eq!(loss[0]["column"], "name");
    assert_eq!(run.code, 1);
}

#[test]
fn narrowing_a_medium_text_or_blob_fails_on_values_it_holds_today() {
    // One seeded row per table holds more than a TEXT or a BLOB can (65,535 bytes), so
    // MEDIUMTEXT → TEXT and MEDIUMBLOB → BLOB fail as they would on production rows; widening
    // to LONGBLOB (and its down back to MEDIUMBLOB) stays clean.
    let run = check_fixture("huge_columns_narrowed");
    let report = run.json();
    let failed: Vec<(&str, bool)> = findings(&report, "migration_error")
        .iter()
        .map(|f| {
            (
                f["migration"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default().contains("1406"),
            )
        })
        .collect();
    assert_eq!(
        failed,
        vec![("20240801000002", true), ("20240801000004", true)],
        "{}",
        run.stdout
    );
    assert_eq!(
        statuses(&report),
        vec!["ok", "finding", "ok", "finding"],
        "{}",
        run.stdout
    );
}
