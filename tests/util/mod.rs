//! The one helper every integration test uses: run the real `driftless` binary against real
//! PostgreSQL servers, in a temp dir of its own, and prove nothing was left behind.

#![allow(dead_code)]

pub mod history;
pub mod my;
pub mod pg;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A current-thread runtime for the tests' own database sessions.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The first `scheme://…` URL in `text` (what `--keep` prints); panics showing `text`.
pub fn url_in<'a>(text: &'a str, scheme: &str) -> &'a str {
    text.split_whitespace()
        .find(|w| w.starts_with(&format!("{scheme}://")))
        .unwrap_or_else(|| panic!("no {scheme} URL in: {text}"))
}

/// The repository root (tests run with it as the working directory).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A demo set under `migrations-under-test/postgres/`, as a path relative to the repo.
pub fn demo(name: &str) -> String {
    format!("migrations-under-test/postgres/{name}")
}

/// A fixture folder under `tests/fixtures/postgres/`, relative to the repo.
pub fn fixture(name: &str) -> String {
    format!("tests/fixtures/postgres/{name}")
}

/// A fresh directory for driftless's servers (`DRIFTLESS_TMPDIR`), on tmpfs when possible,
/// so that leftovers of this test can be told apart from everyone else's.
pub fn sandbox_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("driftless-test-");
        b
    };
    if shm.is_dir() {
        builder.tempdir_in(shm).expect("temp dir in /dev/shm")
    } else {
        builder.tempdir().expect("temp dir")
    }
}

/// The outcome of one driftless run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The JSON report on stdout, validated against the contract schema.
    pub fn json(&self) -> Value {
        let report: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert_valid_report(&report);
        report
    }
}

/// A `driftless` command with the repo as working directory and `tmp` as its sandbox base.
pub fn command(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftless"));
    cmd.current_dir(repo())
        .env("DRIFTLESS_TMPDIR", tmp)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env("CI", "true");
    cmd
}

/// Runs driftless with `args` and asserts that it left no server or temp dir behind.
pub fn driftless(args: &[&str]) -> Run {
    let tmp = sandbox_dir();
    let output = command(tmp.path())
        .args(args)
        .output()
        .expect("driftless runs");
    let run = Run::from(output);
    assert_no_leftovers(tmp.path());
    run
}

/// `driftless mask` plus `args`, with `key` as `DRIFTLESS_MASK_KEY` (or none at all), and no
/// server or temp dir left behind.
pub fn mask(key: Option<&str>, args: &[&str]) -> Run {
    let tmp = sandbox_dir();
    let mut command = command(tmp.path());
    command.arg("mask").args(args);
    match key {
        Some(k) => command.env("DRIFTLESS_MASK_KEY", k),
        None => command.env_remove("DRIFTLESS_MASK_KEY"),
    };
    let run = Run::from(command.output().expect("driftless runs"));
    assert_no_leftovers(tmp.path());
    run
}

/// `driftless check --format json --no-lint` plus `args`: what running the migrations finds.
/// The static rules `check` runs first are tests/lint.rs's (with and without a server).
pub fn check_json(args: &[&str]) -> Run {
    let mut all = vec!["check", "--format", "json", "--no-lint"];
    all.extend_from_slice(args);
    driftless(&all)
}

/// Asserts that `dir` is empty and no process mentions it (no server survived).
pub fn assert_no_leftovers(dir: &Path) {
    // The binary has exited; give a SIGQUIT'd server's backends a moment to be reaped.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let procs = processes_mentioning(dir);
        let entries: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if procs.is_empty() && entries.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "leftovers in {}: entries {entries:?}, processes {procs:?}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Command lines of running processes that mention `dir`.
pub fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(cmdline.trim().to_string());
        }
    }
    found
}

/// Spawns driftless in the background (for signal tests).
pub fn spawn(tmp: &Path, args: &[&str]) -> Child {
    command(tmp)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("driftless starts")
}

/// Waits until `condition` holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn schema_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = repo().join("schema/report.schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the report contract schema {} is needed to validate reports: {e}",
                path.display()
            )
        });
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("schema compiles")
    })
}

/// Asserts that `report` satisfies `schema/report.schema.json`, the repository's contract.
pub fn assert_valid_report(report: &Value) {
    let errors: Vec<String> = schema_validator()
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report violates the contract schema:\n{}",
        errors.join("\n")
    );
}

/// Findings of `kind` in a report.
pub fn findings<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// The distinct kinds found, sorted.
pub fn kinds(report: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Statuses of the migrations, in order.
pub fn statuses(report: &Value) -> Vec<String> {
    report["migrations"]
        .as_array()
        .expect("migrations array")
        .iter()
        .map(|m| m["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Writes `files` (name, content) into a new temp dir; for bad-input tests.
pub fn migration_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).expect("write fixture");
    }
    dir
}

/// Starts driftless with `args`, waits until its server runs (a process mentions the sandbox
/// dir) and `settle` more, sends `signal`, and returns its output once it has exited, after
/// asserting that nothing was left behind.
pub fn interrupt_mid_run(args: &[&str], signal: libc::c_int, settle: Duration) -> Output {
    let tmp = sandbox_dir();
    let mut child = spawn(tmp.path(), args);
    assert!(
        wait_for(Duration::from_secs(20), || !processes_mentioning(
            tmp.path()
        )
        .is_empty()),
        "the server never started"
    );
    std::thread::sleep(settle);
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let exited = wait_for(Duration::from_secs(10), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
        panic!("driftless did not exit after the signal");
    }
    let output = child.wait_with_output().unwrap();
    assert_no_leftovers(tmp.path());
    output
}

/// Loads `page` (with a URL fragment) in headless Chromium and returns the DOM after scripts.
pub fn chromium_dom(page: &Path, fragment: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let mut command = Command::new(tool("chromium"));
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=2000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(path) => {
            command.arg(format!("--screenshot={}", path.display()));
            command.arg("--window-size=1200,1600");
        }
        None => {
            command.arg("--dump-dom");
        }
    }
    let output = command.arg(&url).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A program on PATH, or a panic saying `make test` installs it.
pub fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!("`{name}` is needed for this test; `make test` installs it (Debian package: see the Makefile)")
    })
}

/// `check` on `engine` of a column the down gives back empty and of rows the up deletes:
/// the findings show what was lost, as it was (check's seeded values are not masked).
pub fn assert_lost_values_are_shown(engine: &str) {
    let dir = migration_dir(&[
        (
            "1_notes.up.sql",
            b"CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(50), kind VARCHAR(10) NOT NULL);\n\
              CREATE TABLE tags (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL);\n",
        ),
        ("1_notes.down.sql", b"DROP TABLE tags;\nDROP TABLE notes;\n"),
        ("2_body.up.sql", b"ALTER TABLE notes DROP COLUMN body;\n"),
        (
            "2_body.down.sql",
            b"ALTER TABLE notes ADD COLUMN body VARCHAR(50);\n",
        ),
        ("3_prune.up.sql", b"DELETE FROM notes WHERE id % 2 = 0;\n"),
        ("3_prune.down.sql", b"SELECT 1;\n"),
        ("4_empty.up.sql", b"DELETE FROM notes;\n"),
        ("4_empty.down.sql", b"SELECT 1;\n"),
        ("5_tags.up.sql", b"DROP TABLE tags;\n"),
        ("5_tags.down.sql", b"SELECT 1;\n"),
    ]);
    let run = check_json(&[
        "--engine",
        engine,
        "--migrations",
        dir.path().to_str().unwrap(),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let lost = findings(&report, "data_loss");
    let body = lost
        .iter()
        .find(|f| f["migration"] == "2" && f["column"] == "body")
        .unwrap_or_else(|| panic!("no data_loss for body: {report:#}"));
    let examples = body["details"]["examples"].as_array().expect("examples");
    assert_eq!(examples.len(), 3, "{body}");
    for e in examples {
        assert!(e["key"].as_str().unwrap().starts_with("id="), "{e}");
        assert!(e["before"].as_str().is_some_and(|v| !v.is_empty()), "{e}");
        assert!(e["after"].is_null(), "{e}");
    }
    let pruned = lost
        .iter()
        .find(|f| f["migration"] == "3")
        .unwrap_or_else(|| panic!("no data_loss for the deleted rows: {report:#}"));
    let rows = pruned["details"]["sample"].as_array().expect("sample rows");
    assert!(!rows.is_empty() && rows.len() <= 3, "{pruned}");
    let keys = pruned["details"]["sample_keys"].as_array().unwrap();
    for (row, key) in rows.iter().zip(keys) {
        // Each row is the one its key names, with every column as it was.
        let id = row["id"].as_str().unwrap();
        assert_eq!(key.as_str().unwrap(), format!("id={id}"), "{row}");
        assert_eq!(id.parse::<i64>().unwrap() % 2, 0, "{row}");
        // Every column the table had (the re-up of 2 dropped `body` again).
        assert!(row["kind"].as_str().is_some(), "{row}");
    }
    // A table left empty shows a few of the rows it lost.
    let emptied = lost
        .iter()
        .find(|f| f["migration"] == "4")
        .unwrap_or_else(|| panic!("no data_loss for the emptied table: {report:#}"));
    assert_eq!(emptied["details"]["recreated_empty"], true, "{emptied}");
    let rows = emptied["details"]["sample"]
        .as_array()
        .expect("sample rows");
    assert_eq!(rows.len(), 3, "{emptied}");
    assert!(
        rows.iter()
            .all(|r| r["id"].is_string() && r["kind"].is_string())
    );
    // A table dropped: the up's finding and the down's both show a few of its rows.
    let dropped = findings(&report, "destructive_change");
    let dropped = dropped
        .iter()
        .find(|f| f["migration"] == "5")
        .unwrap_or_else(|| panic!("no destructive_change for the dropped table: {report:#}"));
    let gone = lost
        .iter()
        .find(|f| f["migration"] == "5")
        .unwrap_or_else(|| panic!("no data_loss for the dropped table: {report:#}"));
    for f in [dropped, gone] {
        let rows = f["details"]["sample"].as_array().expect("sample rows");
        assert_eq!(rows.len(), 3, "{f}");
        assert!(rows.iter().all(|r| r["label"].is_string()), "{f}");
    }
}
