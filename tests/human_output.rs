//! Snapshots of the human report (timings masked): review changes like code.

mod util;

use util::{demo, driftless};

fn human(args: &[&str]) -> String {
    let mut all = vec!["check", "--no-lint"];
    all.extend_from_slice(args);
    let run = driftless(&all);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    run.stdout
}

fn assert_human_snapshot(name: &str, output: &str) {
    insta::with_settings!({
        filters => vec![
            // The run's total is `N ms` under a second and `N.N s` above; a loaded machine
            // crosses that line.
            (r"(?m) · (\d+ ms|\d+\.\d s)$", " · [duration]"),
            (r"\d+ ms", "[ms]"),
            (r"\d+\.\d s", "[s]"),
            (r"postgres \d+\.\d+", "postgres [version]"),
        ],
    }, {
        insta::assert_snapshot!(name, output);
    });
}

#[test]
fn human_report_of_a_lossy_down() {
    assert_human_snapshot("data_loss", &human(&["--migrations", &demo("data_loss")]));
}

#[test]
fn human_report_of_drift_and_reup_failure() {
    assert_human_snapshot(
        "reup_failure",
        &human(&["--migrations", &demo("reup_failure")]),
    );
}

#[test]
fn human_report_of_a_clean_history() {
    assert_human_snapshot(
        "clean",
        &human(&["--migrations", &demo("clean"), "--checks", "checks"]),
    );
}

#[test]
fn human_report_of_irreversible_and_failing_migrations() {
    assert_human_snapshot(
        "irreversible",
        &human(&["--migrations", &demo("irreversible")]),
    );
    assert_human_snapshot(
        "migration_error",
        &human(&["--migrations", &demo("migration_error")]),
    );
}

#[test]
fn color_always_colours_a_pipe_and_never_wins_over_a_terminal() {
    let coloured = driftless(&[
        "check",
        "--no-lint",
        "--color",
        "always",
        "--migrations",
        &demo("data_loss"),
    ]);
    assert_eq!(coloured.code, 1, "{}", coloured.stderr);
    assert!(coloured.stdout.contains("\u{1b}["), "{}", coloured.stdout);
    let plain = driftless(&[
        "check",
        "--no-lint",
        "--color",
        "never",
        "--migrations",
        &demo("data_loss"),
    ]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(!plain.stdout.contains('\u{1b}'));
}
