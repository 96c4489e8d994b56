//! Bad input, missing infrastructure, signals, `--keep` and `--url`: driftless says what is
//! wrong in one line with the documented exit code, and leaves nothing behind.

mod util;

use std::time::Duration;

use util::{demo, driftless, fixture, migration_dir, sandbox_dir, wait_for};

/// Asserts exit `code` with a one-line error on stderr mentioning `needle`, no panic.
fn assert_error(run: &util::Run, code: i32, needle: &str) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line of error, got: {}", run.stderr);
    assert!(lines[0].starts_with("driftless: error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "`{needle}` not in: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

fn check_dir(dir: &std::path::Path) -> util::Run {
    driftless(&["check", "--no-lint", "--migrations", dir.to_str().unwrap()])
}

#[test]
fn missing_migrations_dir_is_exit_2() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        "/nonexistent/driftless/migrations",
    ]);
    assert_error(&run, 2, "/nonexistent/driftless/migrations");
}

#[test]
fn empty_migrations_dir_is_exit_2() {
    let dir = migration_dir(&[("README.md", b"nothing here")]);
    assert_error(&check_dir(dir.path()), 2, "no migrations in");
}

#[test]
fn bad_file_name_is_exit_2_naming_the_file() {
    let dir = migration_dir(&[
        ("1_ok.up.sql", b"select 1;"),
        ("create_users.sql", b"create table users (id int);"),
    ]);
    assert_error(
        &check_dir(dir.path()),
        2,
        "create_users.sql: bad migration file name",
    );
}

#[test]
fn duplicate_version_is_exit_2_naming_both_files() {
    let dir = migration_dir(&[("1_a.up.sql", b"select 1;"), ("1_b.up.sql", b"select 1;")]);
    let run = check_dir(dir.path());
    assert_error(&run, 2, "duplicate migration version 1");
    assert!(run.stderr.contains("1_a.up.sql") && run.stderr.contains("1_b.up.sql"));

    let zeros = migration_dir(&[("1_a.sql", b"select 1;"), ("01_b.sql", b"select 1;")]);
    assert_error(&check_dir(zeros.path()), 2, "the same number");
}

#[test]
fn non_utf8_file_is_exit_2_with_file_and_line() {
    let dir = migration_dir(&[("1_a.up.sql", b"select 1;\nselect '\xff\xfe';\n")]);
    assert_error(
        &check_dir(dir.path()),
        2,
        "1_a.up.sql:2: file is not valid UTF-8",
    );
}

#[test]
fn down_without_up_is_exit_2() {
    let dir = migration_dir(&[("1_a.down.sql", b"select 1;")]);
    assert_error(
        &check_dir(dir.path()),
        2,
        "down migration without a matching up file",
    );
}

#[test]
fn unterminated_string_is_exit_2_with_its_line() {
    let dir = migration_dir(&[("1_a.up.sql", b"select 1;\n\nselect 'oops;\n")]);
    assert_error(&check_dir(dir.path()), 2, "1_a.up.sql:3:");
}

#[test]
fn invalid_config_is_exit_2_with_line() {
    let dir = migration_dir(&[("driftless.toml", b"rows = 10\nrowz = 11\n")]);
    let config = dir.path().join("driftless.toml");
    let run = driftless(&["check", "--no-lint", "--config", config.to_str().unwrap()]);
    assert_error(&run, 2, "driftless.toml:2:");
}

#[test]
fn unknown_engine_and_bad_flag_are_exit_2() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "oracle",
        "--migrations",
        &demo("clean"),
    ]);
    assert_error(&run, 2, "unknown engine `oracle`");
    let run = driftless(&["check", "--no-lint", "--no-such-flag"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--no-such-flag"));
}

#[test]
fn missing_server_binaries_is_exit_3_with_a_hint() {
    let empty = tempfile::tempdir().unwrap();
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("clean"),
        "--pg-bin",
        empty.path().to_str().unwrap(),
    ]);
    assert_error(&run, 3, "make setup");
}

#[test]
fn unreachable_url_is_exit_3() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("clean"),
        "--url",
        "postgres://nobody:secret@127.0.0.1:1/app",
    ]);
    assert_error(
        &run,
        3,
        "cannot connect to postgres://nobody:***@127.0.0.1:1/app",
    );
    assert!(!run.stderr.contains("secret"), "passwords never appear");
}

/// A MongoDB `--url` nobody answers on: driftless gives up within seconds with exit 3 (the
/// driver alone would wait 30 s, and dropping the throwaway database another 30).
fn assert_mongo_url_fails_fast(url: &str) {
    let started = std::time::Instant::now();
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        "migrations-under-test/mongo/clean",
        "--url",
        url,
    ]);
    let took = started.elapsed();
    assert_error(&run, 3, "cannot connect to mongodb://127.0.0.1:");
    assert!(
        took < Duration::from_secs(10),
        "gave up only after {took:?}"
    );
}

#[test]
fn mongo_url_to_a_closed_port_fails_within_seconds() {
    assert_mongo_url_fails_fast("mongodb://127.0.0.1:1/");
}

#[test]
fn mongo_url_to_a_silent_server_fails_within_seconds() {
    // The kernel completes connections into the listener's backlog; nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    assert_mongo_url_fails_fast(&format!("mongodb://127.0.0.1:{port}/"));
}

#[test]
fn help_explains_the_command_and_exit_codes() {
    let run = driftless(&["check", "--no-lint", "--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "--migrations",
        "--fail-on",
        "--keep",
        "--url",
        "Exit codes",
        "130",
    ] {
        assert!(run.stdout.contains(needle), "{needle} missing from help");
    }
    let version = driftless(&["--version"]);
    assert_eq!(
        version.stdout.trim(),
        format!("driftless {}", env!("CARGO_PKG_VERSION"))
    );
}

fn interrupt_mid_run(signal: libc::c_int, expected: i32) {
    let output = util::interrupt_mid_run(
        &[
            "check",
            "--no-lint",
            "--migrations",
            &fixture("slow"),
            "--checks",
            "tests/fixtures/no_checks",
        ],
        signal,
        Duration::from_millis(700),
    );
    assert_eq!(output.status.code(), Some(expected));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn sigint_mid_run_leaves_nothing_behind() {
    interrupt_mid_run(libc::SIGINT, 130);
}

#[test]
fn sigterm_mid_run_leaves_nothing_behind() {
    interrupt_mid_run(libc::SIGTERM, 143);
}

#[test]
fn killed_driftless_is_cleaned_up_by_the_kernel_and_the_next_run() {
    let tmp = sandbox_dir();
    let mut child = util::spawn(
        tmp.path(),
        &[
            "check",
            "--no-lint",
            "--migrations",
            &fixture("slow"),
            "--checks",
            "tests/fixtures/no_checks",
        ],
    );
    assert!(wait_for(Duration::from_secs(20), || {
        !util::processes_mentioning(tmp.path()).is_empty()
    }));
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL: nothing of driftless runs any more
    child.wait().unwrap();
    // The parent-death signal stops the server...
    assert!(
        wait_for(Duration::from_secs(10), || util::processes_mentioning(
            tmp.path()
        )
        .is_empty()),
        "server outlived a killed driftless: {:?}",
        util::processes_mentioning(tmp.path())
    );
    // ...and the next run in the same place removes the orphaned dir.
    let run = util::command(tmp.path())
        .args(["check", "--no-lint", "--migrations", &demo("irreversible")])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn keep_leaves_a_reachable_server_and_says_how_to_stop_it() {
    let tmp = sandbox_dir();
    let output = util::command(tmp.path())
        .args([
            "check",
            "--no-lint",
            "--migrations",
            &demo("clean"),
            "--keep",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let url = util::url_in(&stderr, "postgres");
    assert!(
        !util::processes_mentioning(tmp.path()).is_empty(),
        "server kept"
    );
    // The URL carries the server's own password, and a private file holds it too.
    assert!(
        url.contains("postgres:") && url.contains("@127.0.0.1:"),
        "{url}"
    );
    let saved = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("the URL is also in "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL file in: {stderr}"));
    assert_eq!(std::fs::read_to_string(saved).unwrap().trim(), url);
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(saved).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);
    // The kept database holds the migrated schema.
    let runtime = util::runtime();
    let tables: i64 = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'orders'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    });
    assert_eq!(tables, 1);
    // A later run in the same place does not sweep the kept server away.
    let later = util::command(tmp.path())
        .args(["check", "--no-lint", "--migrations", &demo("irreversible")])
        .output()
        .unwrap();
    assert_eq!(later.status.code(), Some(0));
    assert!(
        !util::processes_mentioning(tmp.path()).is_empty(),
        "still kept"
    );
    let stop = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("stop it with: "))
        .unwrap_or_else(|| panic!("no stop command in: {stderr}"));
    let status = std::process::Command::new("sh")
        .args(["-c", stop])
        .status()
        .unwrap();
    assert!(status.success());
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn url_mode_works_in_a_throwaway_database_and_drops_it() {
    let server = util::servers::postgres();
    let url = server.url();
    let runtime = util::runtime();
    // Ready once it accepts a connection.
    drop(runtime.block_on(server.connect()).expect("server answers"));
    let databases = |runtime: &tokio::runtime::Runtime| -> Vec<String> {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar("SELECT datname::text FROM pg_database ORDER BY 1")
                .fetch_all(&mut conn)
                .await
                .unwrap()
        })
    };
    let before = databases(&runtime);

    let run = driftless(&[
        "check",
        "--no-lint",
        "--format",
        "json",
        "--migrations",
        &demo("data_loss"),
        "--url",
        &url,
    ]);
    let report = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(
        util::kinds(&report),
        vec!["data_loss", "destructive_change"]
    );
    assert_eq!(
        databases(&runtime),
        before,
        "the throwaway database is gone"
    );
    // Nothing was written to the database the URL names.
    let user_tables: i64 = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(user_tables, 0);
    server.stop();
}

#[test]
fn panic_with_a_running_server_stops_it_and_removes_its_dir() {
    let payload = std::panic::catch_unwind(|| {
        let server = util::servers::postgres();
        let where_ = (server.dir().to_path_buf(), server.pid().expect("pid"));
        std::panic::panic_any(where_);
    })
    .expect_err("the closure panics");
    let (dir, pid) = *payload
        .downcast::<(std::path::PathBuf, u32)>()
        .expect("payload");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
    // SAFETY: signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    assert!(!alive, "postgres {pid} survived the panic");
}

#[test]
fn a_fifo_among_the_migrations_is_exit_2_at_once() {
    let dir = migration_dir(&[
        ("1_a.up.sql", b"create table a (id int);"),
        ("1_a.down.sql", b"drop table a;"),
    ]);
    let fifo = std::ffi::CString::new(dir.path().join("2_b.up.sql").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a path we own, with a valid NUL-terminated string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    let run = check_dir(dir.path());
    assert!(started.elapsed() < Duration::from_secs(10), "it blocked");
    assert_error(&run, 2, "not a regular file");
}

#[test]
fn a_nul_byte_in_a_migration_is_exit_2_with_its_line() {
    let dir = migration_dir(&[
        ("1_a.up.sql", b"create table a (id int);\nselect '\0';\n"),
        ("1_a.down.sql", b"drop table a;"),
    ]);
    let run = check_dir(dir.path());
    assert_error(&run, 2, "1_a.up.sql:2");
    assert!(run.stderr.contains("NUL byte"), "{}", run.stderr);
}

#[test]
fn migrations_pointing_at_a_file_says_so() {
    let dir = migration_dir(&[("1_a.up.sql", b"create table a (id int);")]);
    let file = dir.path().join("1_a.up.sql");
    let run = check_dir(&file);
    assert_error(&run, 2, "is a file, not a folder");
}

#[test]
fn a_check_that_writes_is_exit_2() {
    let checks = migration_dir(&[("purge.sql", b"-- severity: error\ndelete from a;\n")]);
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("clean"),
        "--checks",
        checks.path().to_str().unwrap(),
    ]);
    assert_error(&run, 2, "purge.sql:2");
    assert!(
        run.stderr.contains("would change the database"),
        "{}",
        run.stderr
    );
}

/// An output path that cannot be written is an input error before any work: with a `--url`
/// nothing answers on, the run would otherwise fail to connect (exit 3) first.
#[test]
fn unwritable_outputs_are_exit_2_before_any_work() {
    let url = "postgres://driftless@127.0.0.1:1/none";
    let lossy = demo("data_loss");
    let run = driftless(&[
        "check",
        "--url",
        url,
        "--migrations",
        &lossy,
        "--output",
        "/nonexistent/x.json",
    ]);
    assert_error(&run, 2, "folder /nonexistent does not exist");
    let run = driftless(&[
        "check",
        "--url",
        url,
        "--migrations",
        &lossy,
        "--report",
        "junit=/nonexistent/x.xml",
    ]);
    assert_error(&run, 2, "cannot write /nonexistent/x.xml");
    let dir = tempfile::tempdir().unwrap();
    let run = driftless(&[
        "check",
        "--url",
        url,
        "--migrations",
        &lossy,
        "--output",
        dir.path().to_str().unwrap(),
    ]);
    assert_error(&run, 2, "it is a folder");
    let run = driftless(&["mask", "--from", url, "--out", "/nonexistent/masked.dump"]);
    assert_error(&run, 2, "folder /nonexistent does not exist");
}

/// A seed that cannot fit where it goes is refused before the first row, with the estimate and
/// the free space, and writes nothing.
#[test]
fn a_seed_too_large_for_its_disk_is_exit_2_before_any_row() {
    let out = tempfile::tempdir().unwrap();
    let avail = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(out.path())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .and_then(|l| l.trim().parse::<u64>().ok())
        });
    // Two billion rows in each of the demo's tables is hundreds of GiB even at the estimate's
    // low widths.
    if avail.is_none_or(|a| a > 500 << 30) {
        eprintln!("skipped: {avail:?} bytes free here, too much to prove the refusal");
        return;
    }
    let target = out.path().join("seed");
    let run = driftless(&[
        "seed",
        "--migrations",
        &demo("clean"),
        "--rows",
        "2000000000",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_error(&run, 2, "GiB free");
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// A PostgreSQL or MySQL `--url` to a port that accepts and never answers: exit 3 within
/// seconds, saying nothing answered.
#[test]
fn sql_url_to_a_silent_server_fails_within_seconds() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    for (scheme, migrations) in [
        ("postgres", "migrations-under-test/postgres/data_loss"),
        ("mysql", "migrations-under-test/mysql/data_loss"),
    ] {
        let started = std::time::Instant::now();
        let run = driftless(&[
            "check",
            "--no-lint",
            "--migrations",
            migrations,
            "--url",
            &format!("{scheme}://someone:secret@127.0.0.1:{port}/app"),
        ]);
        let took = started.elapsed();
        assert_error(&run, 3, "no answer within");
        assert!(!run.stderr.contains("secret"), "passwords never appear");
        assert!(
            took < Duration::from_secs(10),
            "{scheme}: gave up only after {took:?}"
        );
    }
}
