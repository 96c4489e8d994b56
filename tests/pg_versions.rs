//! `--pg-version`: the bundled example on several PostgreSQL major versions — the one Debian
//! installs, and versions driftless fetches from Maven Central (zonky's embedded-postgres
//! binaries) into its cache once and reuses.

mod util;

use std::os::unix::fs::PermissionsExt;

use util::{check_json, demo, findings};

/// The major version of the installed PostgreSQL (`make setup` installs Debian's).
fn installed_major() -> String {
    let bins = driftless::engine::postgres::find_binaries(None)
        .expect("PostgreSQL binaries (make setup installs them)");
    bins.version.split('.').next().unwrap().to_string()
}

#[test]
fn the_example_runs_on_the_installed_and_two_fetched_major_versions() {
    let installed = installed_major();
    let mut majors = vec![installed.clone()];
    majors.extend(
        ["17", "18"]
            .into_iter()
            .filter(|m| *m != installed)
            .map(String::from),
    );
    for major in &majors {
        let run = check_json(&["--pg-version", major, "--migrations", &demo("data_loss")]);
        assert_eq!(run.code, 1, "PostgreSQL {major}: {}", run.stderr);
        let report = run.json();
        let version = report["server_version"].as_str().unwrap();
        assert!(
            version.starts_with(&format!("{major}.")),
            "asked for {major}, ran on {version}"
        );
        assert_eq!(
            findings(&report, "data_loss").len(),
            1,
            "PostgreSQL {major}"
        );
    }
}

#[test]
fn a_fetched_version_is_downloaded_once_then_reused_and_offline_never_fetches() {
    // A cache of its own, so the first run must fetch; others can enter it (as root the
    // server runs as the postgres user).
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |extra: &[&str]| {
        let tmp = util::sandbox_dir();
        let mut args = vec!["check", "--no-lint", "--format", "json", "--migrations"];
        let dir = demo("clean");
        args.push(&dir);
        args.extend_from_slice(extra);
        let output = util::command(tmp.path())
            .env("DRIFTLESS_CACHE_DIR", cache.path())
            .args(&args)
            .output()
            .unwrap();
        util::assert_no_leftovers(tmp.path());
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = run(&["--pg-version", "16", "--offline"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("--offline")
            && stderr.contains("Maven Central")
            && !stderr.contains("fetched"),
        "offline says what it would fetch: {stderr}"
    );
    let (code, stdout, stderr) = run(&["--pg-version", "16"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("fetching PostgreSQL 16."),
        "first run fetches: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        report["server_version"]
            .as_str()
            .unwrap()
            .starts_with("16.")
    );
    let (code, _, stderr) = run(&["--pg-version", "16", "--offline"]);
    assert_eq!(code, 0, "the cached version needs no network: {stderr}");
    assert!(
        !stderr.contains("fetching"),
        "second run reuses the cache: {stderr}"
    );
}

#[test]
fn bad_versions_are_usage_errors() {
    let run = util::driftless(&[
        "check",
        "--no-lint",
        "--pg-version",
        "seventeen",
        "--migrations",
        &demo("clean"),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a server version"),
        "{}",
        run.stderr
    );
    let run = util::driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "mysql",
        "--pg-version",
        "17",
        "--migrations",
        "migrations-under-test/mysql/clean",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--pg-version"), "{}", run.stderr);
}
