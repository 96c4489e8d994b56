//! Session settings as the migration tool's runner has them: every step starts from the
//! runner's clean session, a `SET` an up leaves behind carries only into later ups (one
//! connection per run, as sqlx and golang-migrate keep it) and is a `session_setting`
//! warning, and the runner's own settings come from `--session-sql` or `driftless.toml`.

mod util;

use serde_json::Value;
use util::{check_json, findings};

const PG: &str = "tests/fixtures/histories/session_search_path";
const MYSQL: &str = "tests/fixtures/mysql/session_foreign_keys";

fn down_errors(report: &Value) -> Vec<&Value> {
    findings(report, "migration_error")
        .into_iter()
        .filter(|f| f["direction"] == "down")
        .collect()
}

#[test]
fn a_set_an_up_leaves_behind_is_a_warning_and_a_later_down_runs_without_it() {
    for (engine, dir, line, setting, value, code) in [
        ("postgres", PG, 3, "search_path", "app, public", "42P01"),
        ("mysql", MYSQL, 2, "foreign_key_checks", "OFF", "1451"),
    ] {
        let run = check_json(&["--engine", engine, "--migrations", dir]);
        assert_eq!(run.code, 1, "{engine}: {}", run.stdout);
        let report = run.json();
        util::assert_valid_report(&report);
        let left = findings(&report, "session_setting");
        assert_eq!(left.len(), 1, "{engine}: {}", run.stdout);
        let f = left[0];
        assert_eq!(f["severity"], "warning");
        assert_eq!(f["migration"], "20240101000001");
        assert_eq!(f["line"], line, "{engine}: the SET's line");
        assert_eq!(f["details"]["settings"][setting], value, "{engine}: {f}");
        assert_eq!(f["details"]["tool"], "sqlx");
        // In production `migrate down` is a run of its own, without the setting: the down
        // of the second migration fails there, and so it does here.
        let downs = down_errors(&report);
        assert_eq!(downs.len(), 1, "{engine}: {}", run.stdout);
        assert_eq!(downs[0]["migration"], "20240101000002");
        assert_eq!(downs[0]["details"]["code"], code, "{engine}: {}", downs[0]);
        // The second up ran with the setting its predecessor left (both ups of one run).
        let second = &report["migrations"][1];
        assert!(second["up_ms"].is_u64(), "{engine}: {second}");
    }
}

#[test]
fn a_runner_setting_holds_for_every_step_and_the_same_set_in_a_migration_changes_nothing() {
    for (engine, dir, runner) in [
        ("postgres", PG, "SET search_path = app, public"),
        ("mysql", MYSQL, "SET FOREIGN_KEY_CHECKS = 0"),
    ] {
        let run = check_json(&[
            "--engine",
            engine,
            "--migrations",
            dir,
            "--session-sql",
            runner,
        ]);
        let report = run.json();
        assert!(
            findings(&report, "session_setting").is_empty(),
            "{engine}: {}",
            run.stdout
        );
        assert!(down_errors(&report).is_empty(), "{engine}: {}", run.stdout);
        assert_eq!(report["summary"]["errors"], 0, "{engine}: {}", run.stdout);
    }
}

#[test]
fn runner_settings_come_from_driftless_toml_per_engine() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftless.toml");
    std::fs::write(
        &config,
        "[postgres]\nsession = [\"SET search_path = app, public\"]\n\n\
         [mysql]\nsession = [\"SET FOREIGN_KEY_CHECKS = 0\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (engine, dir) in [("postgres", PG), ("mysql", MYSQL)] {
        let run = check_json(&["--engine", engine, "--migrations", dir, "--config", config]);
        let report = run.json();
        assert!(down_errors(&report).is_empty(), "{engine}: {}", run.stdout);
        assert!(findings(&report, "session_setting").is_empty(), "{engine}");
    }
}

#[test]
fn a_runner_setting_the_server_refuses_is_an_input_error() {
    let run = check_json(&[
        "--migrations",
        PG,
        "--session-sql",
        "SET no_such_setting = 1",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`SET no_such_setting = 1`") && run.stderr.contains("refused"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}
