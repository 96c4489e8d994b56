//! A real-sized history: 300 generated migrations run in one go without a false positive.

mod util;

use util::{check_json, history::write_history};

#[test]
fn three_hundred_migrations_run_clean_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    write_history(dir.path(), 300);
    let run = check_json(&[
        "--migrations",
        dir.path().to_str().unwrap(),
        "--checks",
        "checks",
    ]);
    let report = run.json();
    assert_eq!(
        report["findings"],
        serde_json::Value::Array(vec![]),
        "a correct history must not produce findings"
    );
    assert_eq!(run.code, 0);
    assert_eq!(report["summary"]["migrations"], 300);
    assert!(util::statuses(&report).iter().all(|s| s == "ok"));
}
