//! A run that is stopped still reports: on SIGTERM / SIGINT during a statement that never
//! ends, the progress line has named it, and every requested output holds the migrations
//! finished so far, the one in progress marked `interrupted` with its running statement,
//! and the rest `skipped`; nothing is left behind and the exit code is 143 / 130.

mod util;

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use util::{assert_no_leftovers, assert_valid_report, sandbox_dir, spawn, wait_for};

/// Runs `check` on `dir` until the progress line names the statement that never ends, then
/// sends `signal`; returns the exit code, stderr, the JSON report and the JUnit report.
fn stop_during_the_endless_statement(
    engine: &str,
    dir: &str,
    signal: libc::c_int,
) -> (Option<i32>, String, Value, String) {
    let tmp = sandbox_dir();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let junit = out.path().join("report.xml");
    let report_arg = format!("junit={}", junit.display());
    let mut child = spawn(
        tmp.path(),
        &[
            "check",
            "--no-lint",
            "--engine",
            engine,
            "--migrations",
            dir,
            "--format",
            "json",
            "--output",
            json.to_str().unwrap(),
            "--report",
            &report_arg,
        ],
    );
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let stderr = Arc::clone(&stderr);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = stderr.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        })
    };
    let named = wait_for(Duration::from_secs(60), || {
        stderr.lock().unwrap().contains("still running")
    });
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert!(
        named,
        "the progress line never named the statement: {stderr:?}"
    );
    let exited = wait_for(Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
        panic!("driftless did not exit after the signal");
    }
    let code = child.wait().unwrap().code();
    reader.join().unwrap();
    assert_no_leftovers(tmp.path());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
        .expect("the JSON report was written whole");
    let junit = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let stderr = stderr.lock().unwrap().clone();
    (code, stderr, report, junit)
}

#[test]
fn sigterm_during_a_statement_that_never_ends_writes_the_report_so_far() {
    for (engine, dir, sql) in [
        (
            "postgres",
            "tests/fixtures/histories/never_ends",
            "SELECT pg_sleep(600)",
        ),
        (
            "mysql",
            "tests/fixtures/mysql/never_ends",
            "SELECT SLEEP(600)",
        ),
    ] {
        let (code, stderr, report, junit) =
            stop_during_the_endless_statement(engine, dir, libc::SIGTERM);
        assert_eq!(code, Some(143), "{engine}: {stderr}");
        assert!(
            stderr.contains("20240101000002 backfill up: still running")
                && stderr.contains(&format!(":2 {sql}")),
            "{engine}: the progress line names migration, step, file:line and statement: \
             {stderr}"
        );
        assert_valid_report(&report);
        assert_eq!(
            report["status"], "fail",
            "{engine}: a stopped run never passes"
        );
        let statuses: Vec<&str> = report["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["ok", "interrupted", "skipped"], "{engine}");
        let stop = &report["interrupted"];
        assert_eq!(stop["signal"], "SIGTERM");
        assert_eq!(stop["migration"], "20240101000002");
        assert_eq!(stop["step"], "up");
        assert_eq!(stop["statement"]["line"], 2);
        assert_eq!(stop["statement"]["sql"], sql);
        assert!(
            stop["statement"]["file"]
                .as_str()
                .unwrap()
                .ends_with("20240101000002_backfill.up.sql"),
            "{stop}"
        );
        assert!(stop["statement"]["running_ms"].as_u64().unwrap() >= 3000);
        assert!(
            junit.contains("the run was stopped while this migration ran"),
            "{engine}: {junit}"
        );
    }
}

#[test]
fn sigint_writes_the_report_too_and_exits_130() {
    let (code, stderr, report, _) = stop_during_the_endless_statement(
        "postgres",
        "tests/fixtures/histories/never_ends",
        libc::SIGINT,
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(report["interrupted"]["signal"], "SIGINT");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

/// `mask --out` stopped while the dump is being written leaves no file at the target, and no
/// half-written temp file beside it: the dump only becomes the target when it is whole.
#[test]
fn an_interrupted_mask_out_leaves_no_file_at_the_target() {
    let pg = util::pg::Pg::start();
    pg.exec("postgres", "CREATE DATABASE source");
    let fixture =
        std::fs::read_to_string(util::repo().join("tests/fixtures/postgres/mask_source.sql"))
            .unwrap();
    pg.exec("source", &fixture);
    // Enough rows that the dump takes a moment to write.
    pg.exec(
        "source",
        "CREATE TABLE bulk (id bigint PRIMARY KEY, body text);
         INSERT INTO bulk SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g",
    );
    let tmp = sandbox_dir();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("masked.dump");
    let mut command = util::command(tmp.path());
    command
        .args(["mask", "--from", &pg.url("source"), "--rules"])
        .arg(util::repo().join("tests/fixtures/postgres/masking.toml"))
        .arg("--out")
        .arg(&target)
        .env("DRIFTLESS_MASK_KEY", "test-masking-key-0123456789abcdef")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let partial = || {
        std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    };
    let writing = wait_for(Duration::from_secs(120), || {
        partial() || child.try_wait().ok().flatten().is_some()
    });
    assert!(writing && partial(), "the dump was never being written");
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let exited = wait_for(Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
        panic!("driftless did not exit after the signal");
    }
    let output = child.wait_with_output().unwrap();
    assert_ne!(output.status.code(), Some(0), "the run was stopped");
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in the output folder: {left:?}");
    assert_no_leftovers(tmp.path());
}
