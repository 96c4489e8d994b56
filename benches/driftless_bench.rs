//! `make bench`: driftless's speed figures, each printed beside a baseline measured in the
//! same run on the same machine. Targets are printed as met or not; nothing here fails the
//! build on a timing.
//!
//! Scale with `DRIFTLESS_BENCH_MIGRATIONS` (default 300), `DRIFTLESS_BENCH_ROWS` (rows of the
//! fingerprint table, default 1000000) and `DRIFTLESS_BENCH_SEED_ROWS` (seed and mask tables,
//! default 1000000); pick groups with `DRIFTLESS_BENCH_ONLY=seed,mask`.

#[path = "../tests/util/history.rs"]
mod history;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use driftless::engine::postgres::{LocalServer, PgBinaries, Postgres, find_binaries};
use driftless::engine::{Engine, RowStore, StartOptions};
use driftless::sandbox::{ServiceUser, free_port, service_user};

fn main() {
    let bins = find_binaries(None).expect("PostgreSQL binaries (run `make setup`)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "driftless bench · PostgreSQL {} in {}",
        bins.version,
        bins.bin_dir.display()
    );
    println!("{}", "-".repeat(100));
    let mut report = Report::default();
    if wanted("sandbox") {
        sandbox(&bins, &runtime, &mut report);
    }
    if wanted("check") {
        demo_check(&mut report);
        history_check(&bins, &runtime, &mut report);
        lookahead(&mut report);
        changed_since(&mut report);
    }
    if wanted("fingerprint") {
        fingerprint(&runtime, &mut report);
    }
    if wanted("seed") {
        seed_speed(&bins, &runtime, &mut report);
    }
    if wanted("mask") {
        mask_speed(&bins, &runtime, &mut report);
    }
    if wanted("dryrun") {
        dry_run_speed(&bins, &runtime, &mut report);
    }
    if wanted("mysql") {
        match driftless::engine::mysql::find_binaries(None) {
            Ok(mysql) => {
                mysql_sandbox(&mysql, &runtime, &mut report);
                mysql_fingerprint(&runtime, &mut report);
            }
            Err(e) => println!("MySQL figures skipped: {e}"),
        }
    }
    if wanted("mongo") {
        match driftless::engine::mongo::find_binary(None) {
            Ok(binary) => mongo_figures(&binary, &runtime, &mut report),
            Err(e) => println!("MongoDB figures skipped: {e}"),
        }
    }
    println!("{}", "-".repeat(100));
    report.print();
}

/// Disposable MongoDB (FerretDB here) ready time, and fingerprint speed on 1,000,000 small
/// documents vs streaming them all through the driver with a plain `find()`.
fn mongo_figures(
    binary: &driftless::engine::mongo::MongoBinary,
    runtime: &tokio::runtime::Runtime,
    report: &mut Report,
) {
    use driftless::engine::mongo::LocalServer as MongoServer;
    use futures_util::TryStreamExt;
    use mongodb::bson::{Document, doc};
    drop(MongoServer::start(binary, false).expect("server"));
    let mut starts = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let server = MongoServer::start(binary, false).expect("server");
        runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(server.url()).await.unwrap();
            client
                .database("admin")
                .run_command(doc! {"ping": 1})
                .await
                .unwrap();
        });
        starts.push(started.elapsed());
        server.stop();
    }
    let start = median(starts);
    report.figure(
        &format!("disposable MongoDB ready ({:?})", binary.flavour),
        ms(start),
        "-".into(),
        verdict(start <= Duration::from_millis(1000), "<= 1 s"),
    );

    let docs: usize = std::env::var("DRIFTLESS_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server = MongoServer::start(binary, false).expect("server");
    let url = format!("mongodb://127.0.0.1:{}/bench", server.port);
    let loaded = Instant::now();
    runtime.block_on(async {
        let client = mongodb::Client::with_uri_str(&url).await.unwrap();
        let coll = client.database("bench").collection::<Document>("events");
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..docs {
            batch.push(doc! {"_id": i as i64, "user": format!("u{}", i % 5000), "kind": if i % 3 == 0 { "click" } else { "view" }, "n": (i % 97) as i32, "at": i as f64 * 0.5});
            if batch.len() == 10_000 {
                coll.insert_many(std::mem::take(&mut batch)).await.unwrap();
            }
        }
        if !batch.is_empty() {
            coll.insert_many(batch).await.unwrap();
        }
    });
    println!(
        "loaded {docs} documents in {:.1} s",
        loaded.elapsed().as_secs_f64()
    );
    let mut plain = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let n = runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(&url).await.unwrap();
            let coll = client.database("bench").collection::<Document>("events");
            let all: Vec<Document> = coll
                .find(doc! {})
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            all.len()
        });
        assert_eq!(n, docs);
        plain.push(started.elapsed());
        let rows = runtime.block_on(async {
            let options = StartOptions {
                url: Some(url.clone()),
                in_place: true,
                read_only: true,
                ..StartOptions::default()
            };
            let mut engine = (driftless::engine::mongo::SPEC.start)(&options)
                .await
                .unwrap();
            let mut schema = driftless::schema::SchemaSnapshot::default();
            let table = engine.schema().await.unwrap().tables["db.events"].clone();
            schema.tables.insert("db.events".into(), table);
            let timed = Instant::now();
            let fp = engine.fingerprint(&schema, false).await.unwrap();
            let took = timed.elapsed();
            engine.teardown(false).await.unwrap();
            (fp.tables["db.events"].rows, took)
        });
        assert_eq!(rows.0 as usize, docs);
        ours.push(rows.1);
    }
    server.stop();
    let (plain, ours) = (median(plain), median(ours));
    let rate = |d: Duration| docs as f64 / d.as_secs_f64() / 1e6;
    let share = plain.as_secs_f64() / ours.as_secs_f64() * 100.0;
    report.figure(
        "MongoDB fingerprint (M docs/s)",
        format!("{:.3}", rate(ours)),
        format!("find() to Documents {:.3}", rate(plain)),
        verdict(share >= 50.0, &format!(">= 50% of find(); {share:.0}%")),
    );
}

/// Whether a group of figures runs: all, or those named in `DRIFTLESS_BENCH_ONLY`
/// (comma-separated: sandbox, check, fingerprint, seed, mask, dryrun, mysql, mongo).
fn wanted(group: &str) -> bool {
    std::env::var("DRIFTLESS_BENCH_ONLY")
        .map(|only| only.split(',').any(|g| g.trim() == group))
        .unwrap_or(true)
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
}

impl Report {
    fn figure(&mut self, name: &str, value: String, baseline: String, verdict: String) {
        let line = format!("{name:<44} {value:>14}  vs {baseline:<30} {verdict}");
        println!("{line}");
        self.lines.push(line);
    }

    fn print(&self) {
        println!("summary:");
        for line in &self.lines {
            println!("  {line}");
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn verdict(met: bool, target: &str) -> String {
    format!("[{}: {target}]", if met { "met" } else { "NOT met" })
}

/// Disposable server from the template vs cold initdb + `pg_ctl start -w`.
fn sandbox(bins: &PgBinaries, runtime: &tokio::runtime::Runtime, report: &mut Report) {
    // Warm the template cache once (the first run of driftless on a machine pays initdb).
    let warm = LocalServer::start(bins, false).expect("server");
    drop(runtime.block_on(warm.connect()).expect("ready"));
    warm.stop();

    let mut starts = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let server = LocalServer::start(bins, false).expect("server");
        drop(runtime.block_on(server.connect()).expect("ready"));
        starts.push(started.elapsed());
        let stopping = Instant::now();
        server.stop();
        stops.push(stopping.elapsed());
    }
    let user = service_user(&["postgres"]).expect("service user");
    let mut colds = Vec::new();
    for _ in 0..3 {
        colds.push(cold_start(bins, user.as_ref()));
    }
    let (start, stop, cold) = (median(starts), median(stops), median(colds));
    let ratio = cold.as_secs_f64() / start.as_secs_f64();
    report.figure(
        "disposable postgres ready (template)",
        ms(start),
        format!("cold initdb+start {}", ms(cold)),
        verdict(
            start <= Duration::from_millis(150) && ratio >= 5.0,
            &format!("<= 150 ms and >= 5x; {ratio:.1}x"),
        ),
    );
    report.figure(
        "teardown (SIGQUIT, wait, rm -rf)",
        ms(stop),
        "-".into(),
        verdict(stop <= Duration::from_millis(50), "<= 50 ms"),
    );
}

fn as_user(command: &mut Command, user: Option<&ServiceUser>) {
    if let Some(user) = user {
        command.uid(user.uid).gid(user.gid);
    }
}

/// `initdb` + `pg_ctl start -w`, then `pg_ctl stop` (not timed).
fn cold_start(bins: &PgBinaries, user: Option<&ServiceUser>) -> Duration {
    let dir = tempfile::Builder::new()
        .prefix("driftless-bench-cold-")
        .tempdir_in(driftless::sandbox::base_dir())
        .expect("temp dir");
    if let Some(user) = user {
        user.chown(dir.path()).expect("chown");
    }
    let data = dir.path().join("data");
    let port = free_port().expect("port").to_string();
    let started = Instant::now();
    let mut initdb = Command::new(bins.tool("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .stdout(std::process::Stdio::null());
    as_user(&mut initdb, user);
    assert!(initdb.status().expect("initdb").success());
    let options = format!(
        "-F -k {} -p {port} -c listen_addresses=127.0.0.1",
        dir.path().display()
    );
    let mut start = Command::new(bins.tool("pg_ctl"));
    start
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.path().join("log"))
        .args(["-w", "start"])
        .stdout(std::process::Stdio::null());
    as_user(&mut start, user);
    assert!(start.status().expect("pg_ctl start").success());
    let elapsed = started.elapsed();
    let mut stop = Command::new(bins.tool("pg_ctl"));
    stop.arg("-D")
        .arg(&data)
        .args(["-m", "immediate", "-w", "stop"])
        .stdout(std::process::Stdio::null());
    as_user(&mut stop, user);
    let _ = stop.status();
    elapsed
}

fn driftless_check(migrations: &Path) -> Duration {
    driftless_check_with(migrations, &[])
}

fn driftless_check_with(migrations: &Path, extra: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args([
            "check",
            "--quiet",
            "--checks",
            "tests/fixtures/no_checks",
            "--migrations",
        ])
        .arg(migrations)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("driftless runs");
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "driftless failed: {status}"
    );
    started.elapsed()
}

/// `check` of the bundled clean set (10 migrations, 200 rows per table), end to end.
fn demo_check(report: &mut Report) {
    let set = PathBuf::from("migrations-under-test/postgres/clean");
    let runs: Vec<Duration> = (0..5).map(|_| driftless_check(&set)).collect();
    let time = median(runs);
    report.figure(
        "check of the demo set (10 migrations)",
        ms(time),
        "-".into(),
        verdict(time < Duration::from_secs(5), "< 5 s"),
    );
}

/// `check` of a generated history vs a shell loop doing only the schema part of the same
/// staircase (up, dump, down, dump, up, dump) with psql and pg_dump --schema-only.
fn history_check(bins: &PgBinaries, runtime: &tokio::runtime::Runtime, report: &mut Report) {
    let count: usize = std::env::var("DRIFTLESS_BENCH_MIGRATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    history::write_history(dir.path(), count);
    let out = tempfile::tempdir().expect("temp dir");
    let json = out.path().join("report.json");
    let ours = driftless_check_with(
        dir.path(),
        &[
            "--format",
            "json",
            "--output",
            json.to_str().expect("utf-8"),
        ],
    );
    let phases = phases_of(&json);

    let server = LocalServer::start_on_tcp(bins).expect("server");
    drop(runtime.block_on(server.connect()).expect("ready"));
    let script = format!(
        r#"set -e
for up in "{dir}"/*.up.sql; do
  down="${{up%.up.sql}}.down.sql"
  psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -f "$up" >/dev/null
  "{bin}/pg_dump" --schema-only -d "$URL" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -f "$down" >/dev/null
  "{bin}/pg_dump" --schema-only -d "$URL" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -f "$up" >/dev/null
  "{bin}/pg_dump" --schema-only -d "$URL" >/dev/null
done"#,
        dir = dir.path().display(),
        bin = bins.bin_dir.display()
    );
    let started = Instant::now();
    let status = Command::new("bash")
        .args(["-c", &script])
        .env("URL", server.url())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bins.bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .status()
        .expect("bash");
    let baseline = started.elapsed();
    server.stop();
    assert!(status.success(), "baseline loop failed");
    let per = |d: Duration| {
        format!(
            "{:.0} ms/migration",
            d.as_secs_f64() * 1000.0 / count as f64
        )
    };
    report.figure(
        &format!("check of a {count}-migration history, 200 rows"),
        format!("{:.1} s", ours.as_secs_f64()),
        format!("psql+pg_dump loop {:.1} s", baseline.as_secs_f64()),
        verdict(
            ours.as_secs_f64() <= baseline.as_secs_f64() / 2.0,
            &format!("under half; {} vs {}", per(ours), per(baseline)),
        ),
    );
    let total = ours.as_secs_f64() * 1000.0;
    for (phase, ms) in phases {
        report.figure(
            &format!("  phase {phase}"),
            format!("{:.1} s", ms as f64 / 1000.0),
            format!("of {:.1} s", total / 1000.0),
            format!("{:.0}%", ms as f64 * 100.0 / total),
        );
    }
}

/// The per-phase times (`phases_ms`) of a check's JSON report.
fn phases_of(json: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(json).expect("the report was written");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    report["phases_ms"]
        .as_object()
        .map(|phases| {
            phases
                .iter()
                .map(|(name, ms)| (name.clone(), ms.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// What seeding ahead costs before a run: reading every up of the generated history for what
/// later migrations demand (`seed::future::collect`) vs reading and splitting the folder.
fn lookahead(report: &mut Report) {
    let count: usize = std::env::var("DRIFTLESS_BENCH_MIGRATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    history::write_history(dir.path(), count);
    let read = || {
        let format = driftless::migrations::detect(dir.path()).expect("layout");
        driftless::migrations::read(dir.path(), format, driftless::engine::postgres::split)
            .expect("migrations")
    };
    let migrations = read();
    let reading = median((0..5).map(|_| timed(|| drop(read()))).collect());
    let dialect = driftless::sql::Dialect::Postgres;
    let collecting = median(
        (0..5)
            .map(|_| timed(|| drop(driftless::seed::future::collect(&migrations, dialect))))
            .collect(),
    );
    report.figure(
        &format!("seeding ahead: demands of {count} migrations"),
        ms(collecting),
        format!("reading the folder {}", ms(reading)),
        verdict(
            collecting.as_secs_f64() < 1.0,
            "under 1 s, a small part of a check",
        ),
    );
}

fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

/// `--changed-since` on a 200-migration history with one changed migration vs a full check.
fn changed_since(report: &mut Report) {
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path().join("migrations");
    std::fs::create_dir(&dir).expect("dir");
    history::write_history(&dir, 200);
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .current_dir(repo.path())
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "history"]);
    let mut ups: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    ups.sort();
    let changed = &ups[150];
    let text = std::fs::read_to_string(changed).expect("read") + "-- reviewed\n";
    std::fs::write(changed, text).expect("write");
    let full = driftless_check(&dir);
    let quick = driftless_check_with(&dir, &["--changed-since", "HEAD"]);
    let ratio = full.as_secs_f64() / quick.as_secs_f64();
    report.figure(
        "--changed-since, 1 of 200 migrations changed",
        format!("{:.2} s", quick.as_secs_f64()),
        format!("full check {:.1} s", full.as_secs_f64()),
        verdict(ratio >= 5.0, &format!(">= 5x faster; {ratio:.1}x")),
    );
}

/// Fingerprint of a 1,000,000-row, 6-column table vs a raw whole-row hash scan.
fn fingerprint(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    let rows: u64 = std::env::var("DRIFTLESS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    runtime.block_on(async {
        let mut engine = Postgres::start(&StartOptions::default())
            .await
            .expect("engine");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, email text, name text, created_at timestamptz,
                             amount numeric(12,2), payload jsonb);
             INSERT INTO t SELECT i, 'user' || i || '@example.com', 'Name ' || i,
                    timestamptz '2024-01-01' + i * interval '1 minute', (i % 100000) / 100.0,
                    jsonb_build_object('n', i, 'tag', 'x' || (i % 7))
             FROM generate_series(1, {rows}) i"
        )))
        .execute(engine.observer())
        .await
        .expect("load");
        sqlx::raw_sql("VACUUM ANALYZE t")
            .execute(engine.observer())
            .await
            .expect("vacuum");
        let mut raw = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            sqlx::raw_sql("SELECT sum(hashtextextended(t::text, 0)) FROM t")
                .execute(engine.observer())
                .await
                .expect("raw scan");
            raw.push(started.elapsed());
        }
        let schema = engine.schema().await.expect("schema");
        let mut ours = Vec::new();
        for i in 0..3 {
            // One written row makes the whole table count as changed: a full hash scan.
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "UPDATE t SET name = name WHERE id = {}",
                i + 1
            )))
            .execute(engine.observer())
            .await
            .expect("touch");
            let started = Instant::now();
            let fp = engine
                .fingerprint(&schema, false)
                .await
                .expect("fingerprint");
            ours.push(started.elapsed());
            assert_eq!(fp.tables["public.t"].rows as u64, rows);
        }
        // Nothing written since: only the probe scan runs.
        let started = Instant::now();
        engine
            .fingerprint(&schema, false)
            .await
            .expect("fingerprint");
        let unchanged = started.elapsed();
        let started = Instant::now();
        engine.fingerprint(&schema, true).await.expect("capture");
        let capture = started.elapsed();
        let _ = Box::new(engine).teardown(false).await;
        let (raw, ours) = (median(raw), median(ours));
        let rate = |d: Duration| rows as f64 / d.as_secs_f64() / 1e6;
        let share = rate(ours) / rate(raw) * 100.0;
        report.figure(
            &format!("fingerprint of {rows} rows x 6 columns"),
            format!("{:.2} Mrows/s", rate(ours)),
            format!("raw t::text hash {:.2} Mrows/s", rate(raw)),
            verdict(share >= 80.0, &format!(">= 80%; {share:.0}%")),
        );
        report.figure(
            "  same table, nothing written since",
            format!("{:.2} Mrows/s", rate(unchanged)),
            "(informational: probe only)".into(),
            String::new(),
        );
        report.figure(
            "  same with row capture for drill-down",
            format!("{:.2} Mrows/s", rate(capture)),
            "(informational)".into(),
            String::new(),
        );
    });
}

/// Disposable MariaDB from the template vs cold `mariadb-install-db` + start.
fn mysql_sandbox(
    bins: &driftless::engine::mysql::MySqlBinaries,
    runtime: &tokio::runtime::Runtime,
    report: &mut Report,
) {
    use driftless::engine::mysql::LocalServer as MySqlServer;
    let warm = MySqlServer::start(bins, false).expect("server");
    drop(runtime.block_on(warm.connect()).expect("ready"));
    warm.stop();
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let server = MySqlServer::start(bins, false).expect("server");
        drop(runtime.block_on(server.connect()).expect("ready"));
        starts.push(started.elapsed());
        let stopping = Instant::now();
        server.stop();
        stops.push(stopping.elapsed());
    }
    let mut colds = Vec::new();
    for _ in 0..3 {
        colds.push(mysql_cold_start(bins, runtime));
    }
    let (start, stop, cold) = (median(starts), median(stops), median(colds));
    let ratio = cold.as_secs_f64() / start.as_secs_f64();
    report.figure(
        "disposable MariaDB ready (template)",
        ms(start),
        format!("cold install-db+start {}", ms(cold)),
        verdict(
            start <= Duration::from_millis(300) && ratio >= 4.0,
            &format!("<= 300 ms and >= 4x; {ratio:.1}x"),
        ),
    );
    report.figure(
        "MariaDB teardown (SIGKILL, wait, rm -rf)",
        ms(stop),
        "-".into(),
        verdict(stop <= Duration::from_millis(50), "<= 50 ms"),
    );
}

/// `mariadb-install-db` into a fresh dir, start `mariadbd`, wait for a real connection.
fn mysql_cold_start(
    bins: &driftless::engine::mysql::MySqlBinaries,
    runtime: &tokio::runtime::Runtime,
) -> Duration {
    let dir = tempfile::Builder::new()
        .prefix("driftless-bench-cold-")
        .tempdir_in(driftless::sandbox::base_dir())
        .expect("temp dir");
    let data = dir.path().join("data");
    let root = unsafe { libc::geteuid() } == 0;
    let started = Instant::now();
    let mut install = Command::new(bins.install_db.as_ref().expect("mariadb-install-db"));
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if root {
        install.arg("--user=root");
    }
    assert!(install.status().expect("install-db").success());
    let socket = dir.path().join("mysqld.sock");
    let mut server = Command::new(&bins.server);
    server
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--tmpdir={}", dir.path().display()))
        .arg("--skip-networking")
        .arg("--skip-log-bin")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if root {
        server.arg("--user=root");
    }
    let mut child = server.spawn().expect("mariadbd");
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .socket(&socket)
        .username("root");
    runtime.block_on(async {
        use sqlx::ConnectOptions;
        while options.connect().await.is_err() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

/// MariaDB fingerprint of a 1,000,000-row table vs a raw `sum(crc32(concat_ws(...)))` scan.
fn mysql_fingerprint(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    use driftless::engine::mysql::MySql;
    let rows: u64 = std::env::var("DRIFTLESS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    runtime.block_on(async {
        let mut engine = MySql::start(&StartOptions::default()).await.expect("engine");
        let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                      UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                      UNION ALL SELECT 8 UNION ALL SELECT 9)";
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, email VARCHAR(100), name VARCHAR(100),
                             created_at DATETIME(6), amount DECIMAL(12,2), payload JSON);
             INSERT INTO t
             SELECT i, CONCAT('user', i, '@example.com'), CONCAT('Name ', i),
                    TIMESTAMPADD(MINUTE, i, '2024-01-01'), (i % 100000) / 100.0,
                    JSON_OBJECT('n', i, 'tag', CONCAT('x', i % 7))
             FROM (SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS i
                   FROM {digits} a, {digits} b, {digits} c, {digits} e, {digits} f, {digits} g) s
             WHERE i <= {rows}"
        )))
        .execute(engine.observer())
        .await
        .expect("load");
        // Raw scan and fingerprint taken in turns, so that a busy machine slows both alike;
        // the server's own CPU time per scan is measured too, which other processes on a
        // shared machine do not inflate.
        let schema = engine.schema().await.expect("schema");
        let pid_file: String = sqlx::query_scalar("SELECT CAST(@@pid_file AS CHAR)")
            .fetch_one(engine.observer())
            .await
            .expect("pid file");
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        let connections = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let (mut raw, mut ours, mut one) = (Vec::new(), Vec::new(), Vec::new());
        let (mut raw_cpu, mut ours_cpu, mut one_cpu) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5 {
            let (started, cpu) = (Instant::now(), server_cpu(pid));
            sqlx::raw_sql(
                "SELECT SUM(CRC32(CONCAT_WS('|', id, email, name, created_at, amount, payload))) FROM t",
            )
            .execute(engine.observer())
            .await
            .expect("raw scan");
            raw.push(started.elapsed());
            raw_cpu.push(server_cpu(pid).saturating_sub(cpu));
            // As driftless runs it (the scan shared out over a connection per core), then on
            // the one connection the raw scan has.
            for (connections, wall, used) in
                [(connections, &mut ours, &mut ours_cpu), (1, &mut one, &mut one_cpu)]
            {
                engine.set_scan_connections(connections);
                let (started, cpu) = (Instant::now(), server_cpu(pid));
                let fp = engine.fingerprint(&schema, false).await.expect("fingerprint");
                wall.push(started.elapsed());
                used.push(server_cpu(pid).saturating_sub(cpu));
                assert_eq!(fp.tables["driftless.t"].rows as u64, rows);
            }
        }
        let _ = Box::new(engine).teardown(false).await;
        // Best of the runs, not the median: both scans cost about the same per row (most of
        // it is InnoDB reading the rows and making text of the values), so what a busy 2-core
        // machine adds to one run or the other decides a median; interference only ever adds
        // time, and the least each scan took is its own cost. Server CPU time counts every
        // thread of the server (purge, flushing) in 10 ms ticks, so it is taken the same way.
        let best = |d: &[Duration]| d.iter().min().copied().unwrap_or_default();
        let rate = |d: Duration| rows as f64 / d.as_secs_f64() / 1e6;
        let share = |ours: Duration| rate(ours) / rate(best(&raw)) * 100.0;
        let fast = share(best(&ours));
        report.figure(
            &format!("MariaDB fingerprint of {rows} rows x 6 columns (best of 5, {connections} connections)"),
            format!("{:.2} Mrows/s", rate(best(&ours))),
            format!("raw crc32 scan {:.2} Mrows/s", rate(best(&raw))),
            verdict(fast >= 100.0, &format!(">= 100%; {fast:.0}%")),
        );
        report.figure(
            "  same, one connection",
            format!("{:.2} Mrows/s", rate(best(&one))),
            format!("raw crc32 scan {:.2} Mrows/s", rate(best(&raw))),
            format!("[{:.0}%]", share(best(&one))),
        );
        if pid.is_some() {
            // The server's work per fingerprint, whatever the number of connections: per row,
            // the hashing costs about what the raw scan's does.
            let cpu = |ours: &[Duration]| {
                best(&raw_cpu).as_secs_f64() / best(ours).as_secs_f64().max(1e-9) * 100.0
            };
            report.figure(
                "  server CPU time per scan",
                format!("{} / {}", ms(best(&ours_cpu)), ms(best(&one_cpu))),
                format!("raw crc32 scan {}", ms(best(&raw_cpu))),
                format!("[{:.0}% / {:.0}% of its speed]", cpu(&ours_cpu), cpu(&one_cpu)),
            );
        }
    });
}

/// CPU time the server process has used so far (user + system, from `/proc`), zero when it
/// cannot be read.
fn server_cpu(pid: Option<u32>) -> Duration {
    let Some(stat) = pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
    else {
        return Duration::ZERO;
    };
    // The fields after the command name (which may hold spaces) start at its closing `)`;
    // utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The issue's seed table.
const SEED_TABLE: &str = "CREATE TABLE t (id bigint PRIMARY KEY, email text UNIQUE, name text, \
     created_at timestamptz, amount numeric(12,2), payload jsonb);";

fn seed_rows() -> usize {
    std::env::var("DRIFTLESS_BENCH_SEED_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// `driftless seed`: generation alone (into a sink), loading into PostgreSQL against psql's
/// `\copy` of the same rows as CSV, and peak memory for ten times as many rows.
fn seed_speed(bins: &PgBinaries, runtime: &tokio::runtime::Runtime, report: &mut Report) {
    use driftless::seed::encode::{Dialect, Encoding};
    use driftless::seed::run::{RunOptions, to_writer};
    use driftless::seed::{Overrides, PlanRequest, SeedStyle, plan::plan};

    let rows = seed_rows();
    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("1_t.up.sql"), SEED_TABLE).unwrap();
    std::fs::write(migrations.join("1_t.down.sql"), "DROP TABLE t;").unwrap();

    // 1. Generation and COPY encoding alone, in process, into a sink.
    let mut engine = runtime
        .block_on(Postgres::start(&StartOptions::default()))
        .expect("postgres");
    runtime
        .block_on(engine.execute(SEED_TABLE))
        .expect("seed table");
    let schema = runtime.block_on(engine.schema()).expect("schema");
    runtime
        .block_on(Box::new(engine).teardown(false))
        .expect("teardown");
    let tables = schema.tables.keys().cloned().collect();
    let overrides = Overrides::default();
    let seed_plan = plan(&PlanRequest {
        schema: &schema,
        tables: &tables,
        rows,
        table_rows: &Default::default(),
        overrides: &overrides,
        explicit_keys: false,
        demands: None,
    })
    .expect("plan");
    let mut generated = Vec::new();
    for _ in 0..3 {
        let mut progress = |_: &str, _: u64, _: u64| {};
        let options = RunOptions {
            seed: 1,
            style: SeedStyle::Realistic,
            schema: &schema,
            progress: &mut progress,
        };
        let started = Instant::now();
        runtime
            .block_on(to_writer(
                Dialect::Postgres,
                &seed_plan,
                options,
                Encoding::PgCopy,
                &mut std::io::sink(),
            ))
            .expect("generate");
        generated.push(started.elapsed());
    }
    let generation = rows as f64 / median(generated).as_secs_f64();
    report.figure(
        "seed: generate + encode (COPY text), sink",
        format!("{:.2} Mrows/s", generation / 1e6),
        format!(
            "{rows} rows, {} threads",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        verdict(generation >= 2e6, ">= 2 M rows/s"),
    );

    // 2. Loading: driftless seed --url vs psql \copy of the same rows from a CSV file.
    let server = LocalServer::start_on_tcp(bins).expect("server");
    drop(runtime.block_on(server.connect()).expect("ready"));
    let url = server.url();
    let psql = bins.bin_dir.join("psql");
    let sql = |statement: &str| {
        let status = Command::new(&psql)
            .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-c", statement])
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql failed: {statement}");
    };
    sql(SEED_TABLE);
    let csv = dir.path().join("csv");
    let status = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["seed", "-q", "--rows", &rows.to_string(), "--migrations"])
        .arg(&migrations)
        .arg("--out")
        .arg(&csv)
        .status()
        .expect("driftless runs");
    assert!(status.success());
    let copy = format!(
        "\\copy t FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv.join("t.csv").display()
    );
    let (mut copies, mut seeds) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        sql("TRUNCATE t");
        let started = Instant::now();
        sql(&copy);
        copies.push(started.elapsed());
        sql("TRUNCATE t");
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args(["seed", "-q", "--rows", &rows.to_string(), "--url", &url])
            .status()
            .expect("driftless runs");
        assert!(status.success());
        seeds.push(started.elapsed());
    }
    server.stop();
    let (copy_rate, seed_rate) = (
        rows as f64 / median(copies).as_secs_f64(),
        rows as f64 / median(seeds).as_secs_f64(),
    );
    let ratio = seed_rate / copy_rate;
    report.figure(
        "seed --url into postgres (COPY FROM STDIN)",
        format!("{:.3} Mrows/s", seed_rate / 1e6),
        format!("psql \\copy csv {:.3} Mrows/s", copy_rate / 1e6),
        verdict(
            ratio >= 0.8,
            &format!(">= 80% of \\copy; {:.0}%", ratio * 100.0),
        ),
    );

    // 3. Peak memory of a run ten times as large, into /dev/null.
    let big = rows * 10;
    let started = Instant::now();
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args([
            "seed",
            "-q",
            "--format",
            "sql",
            "--out",
            "/dev/null",
            "--rows",
            &big.to_string(),
            "--migrations",
        ])
        .arg(&migrations)
        .spawn()
        .expect("driftless runs");
    // wait4 reaps the child itself (std's wait would lose its rusage), giving its own peak (and that of what it waited for: its server).
    // SAFETY: wait4 only writes into the status and struct it is given.
    let (status, peak_kb) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let mut status = 0;
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        (status, usage.ru_maxrss)
    };
    assert_eq!(status, 0, "driftless seed failed");
    let elapsed = started.elapsed();
    let peak_mb = peak_kb as f64 / 1024.0;
    report.figure(
        "seed peak memory (driftless or its server)",
        format!("{peak_mb:.0} MB"),
        format!("{big} rows in {:.1} s", elapsed.as_secs_f64()),
        verdict(peak_mb < 200.0, "< 200 MB"),
    );
}

/// Peak resident memory of a child process run to the end (and what it waited for).
fn peak_of(mut command: Command) -> (Duration, f64) {
    let started = Instant::now();
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("runs");
    // SAFETY: wait4 only writes into the status and struct it is given.
    let (status, peak_kb) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let mut status = 0;
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        (status, usage.ru_maxrss)
    };
    assert_eq!(status, 0, "{command:?} failed");
    (started.elapsed(), peak_kb as f64 / 1024.0)
}

/// `driftless mask` of a table with four masked columns into an empty database, against
/// psql's `\copy … to stdout | \copy … from stdin` of the same table on the same server.
fn mask_speed(bins: &PgBinaries, runtime: &tokio::runtime::Runtime, report: &mut Report) {
    let rows = seed_rows();
    let server = LocalServer::start_on_tcp(bins).expect("server");
    drop(runtime.block_on(server.connect()).expect("ready"));
    let base = server.url();
    let root = base.rsplit_once('/').unwrap().0.to_string();
    let psql = bins.bin_dir.join("psql");
    let sql = |db: &str, statement: &str| {
        let status = Command::new(&psql)
            .args([
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                &format!("{root}/{db}"),
                "-c",
                statement,
            ])
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql failed: {statement}");
    };
    let table = "CREATE TABLE t (id bigint PRIMARY KEY, email text NOT NULL, name text, phone text, \
                 ssn text, amount numeric(12,2), created_at timestamptz)";
    let fill = |db: &str, n: usize| {
        sql("postgres", &format!("CREATE DATABASE {db}"));
        sql(db, table);
        sql(
            db,
            &format!(
                "INSERT INTO t SELECT i, 'user' || i || '@corp.example', 'Name ' || i, '+1 555 ' || lpad(i::text, 7, '0'), \
                 lpad((i % 1000)::text, 3, '0') || '-55-' || lpad((i % 10000)::text, 4, '0'), i % 1000 + 0.5, \
                 timestamptz '2020-01-01' + i * interval '1 minute' FROM generate_series(1, {n}) i"
            ),
        );
    };
    fill("source", rows);
    fill("small", rows / 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[t.email]\ntransform = \"email\"\n[t.name]\ntransform = \"fake\"\ngenerator = \"name\"\n\
         [t.phone]\ntransform = \"fake\"\ngenerator = \"phone\"\n[t.ssn]\ntransform = \"hash\"\n",
    )
    .unwrap();
    let mask = |from: &str, to: &str| {
        sql("postgres", &format!("DROP DATABASE IF EXISTS {to}"));
        sql("postgres", &format!("CREATE DATABASE {to}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
        command
            .args([
                "mask",
                "-q",
                "--from",
                &format!("{root}/{from}"),
                "--to",
                &format!("{root}/{to}"),
            ])
            .arg("--rules")
            .arg(&rules)
            .env("DRIFTLESS_MASK_KEY", "bench-key-0123456789abcdef")
            .stdout(std::process::Stdio::null());
        peak_of(command)
    };
    let copy = || {
        sql("postgres", "DROP DATABASE IF EXISTS plain");
        sql("postgres", "CREATE DATABASE plain");
        sql("plain", table);
        let started = Instant::now();
        let pipeline = format!(
            "{psql} -q {root}/source -c '\\copy t to stdout' | {psql} -q {root}/plain -c '\\copy t from stdin'",
            psql = psql.display()
        );
        let status = Command::new("sh")
            .args(["-c", &pipeline])
            .status()
            .expect("sh runs");
        assert!(status.success());
        started.elapsed()
    };
    let (mut masks, mut copies) = (Vec::new(), Vec::new());
    let mut peak = 0.0f64;
    for _ in 0..3 {
        copies.push(copy());
        let (time, mb) = mask("source", "masked");
        masks.push(time);
        peak = peak.max(mb);
    }
    let (_, small_peak) = mask("small", "masked_small");
    server.stop();
    let (mask_rate, copy_rate) = (
        rows as f64 / median(masks).as_secs_f64(),
        rows as f64 / median(copies).as_secs_f64(),
    );
    let ratio = mask_rate / copy_rate;
    report.figure(
        "mask, 4 of 7 columns masked, into postgres",
        format!("{:.3} Mrows/s", mask_rate / 1e6),
        format!("psql \\copy pipe {:.3} Mrows/s", copy_rate / 1e6),
        verdict(
            ratio >= 0.5,
            &format!(">= 50% of the plain copy; {:.0}%", ratio * 100.0),
        ),
    );
    report.figure(
        "mask peak memory",
        format!("{peak:.0} MB"),
        format!("{small_peak:.0} MB for a quarter of the rows"),
        verdict(peak < small_peak * 1.5 + 10.0, "flat as the table grows"),
    );
}

/// `driftless dry-run` of a snapshot with two pending migrations against doing the same by
/// hand: `pg_restore -j2` into a database, then `psql -f` of each pending up. Twice: the
/// issue's deploy (a column and an index: schema only, so no table is hashed), and one whose
/// second migration is a backfill `UPDATE`, which makes driftless hash every table before and
/// after.
fn dry_run_speed(bins: &PgBinaries, runtime: &tokio::runtime::Runtime, report: &mut Report) {
    dry_run_deploy(
        bins,
        runtime,
        report,
        ("3_amount_index", "CREATE INDEX t_amount_idx ON t (amount);"),
        Some(0.2),
    );
    dry_run_deploy(
        bins,
        runtime,
        report,
        (
            "3_backfill",
            "UPDATE t SET note = 'checked' WHERE id % 100 = 0;",
        ),
        None,
    );
}

fn dry_run_deploy(
    bins: &PgBinaries,
    runtime: &tokio::runtime::Runtime,
    report: &mut Report,
    second: (&str, &str),
    target: Option<f64>,
) {
    let rows = seed_rows();
    let server = LocalServer::start_on_tcp(bins).expect("server");
    drop(runtime.block_on(server.connect()).expect("ready"));
    let root = server.url().rsplit_once('/').unwrap().0.to_string();
    let tool = |name: &str| bins.bin_dir.join(name);
    let psql = |db: &str, args: &[&str]| {
        let status = Command::new(tool("psql"))
            .args(["-q", "-X", "-v", "ON_ERROR_STOP=1", &format!("{root}/{db}")])
            .args(args)
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql {args:?} failed");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let first = "CREATE TABLE t (id bigint PRIMARY KEY, email text NOT NULL, amount numeric(12,2), created_at timestamptz);";
    let pending = [("2_note", "ALTER TABLE t ADD COLUMN note text;"), second];
    std::fs::write(migrations.join("1_t.up.sql"), first).unwrap();
    std::fs::write(migrations.join("1_t.down.sql"), "DROP TABLE t;").unwrap();
    for (name, sql) in pending {
        std::fs::write(migrations.join(format!("{name}.up.sql")), sql).unwrap();
        std::fs::write(migrations.join(format!("{name}.down.sql")), "SELECT 1;").unwrap();
    }
    psql("postgres", &["-c", "CREATE DATABASE prod"]);
    psql("prod", &["-c", first]);
    psql(
        "prod",
        &[
            "-c",
            &format!(
                "INSERT INTO t SELECT i, 'user' || i || '@corp.example', i % 1000 + 0.5, \
                 timestamptz '2020-01-01' + i * interval '1 minute' FROM generate_series(1, {rows}) i"
            ),
        ],
    );
    psql(
        "prod",
        &[
            "-c",
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
             execution_time BIGINT NOT NULL); INSERT INTO _sqlx_migrations VALUES (1, 't', now(), true, '\\x00', 1)",
        ],
    );
    let dump = dir.path().join("prod.dump");
    let status = Command::new(tool("pg_dump"))
        .args([
            "--format=custom",
            &format!("--file={}", dump.display()),
            &format!("{root}/prod"),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let by_hand = || {
        psql("postgres", &["-c", "DROP DATABASE IF EXISTS restored"]);
        psql("postgres", &["-c", "CREATE DATABASE restored"]);
        let started = Instant::now();
        let status = Command::new(tool("pg_restore"))
            .args([
                "--jobs=2",
                "--no-owner",
                &format!("--dbname={root}/restored"),
            ])
            .arg(&dump)
            .status()
            .unwrap();
        assert!(status.success());
        for (name, _) in pending {
            psql(
                "restored",
                &[
                    "-f",
                    migrations.join(format!("{name}.up.sql")).to_str().unwrap(),
                ],
            );
        }
        started.elapsed()
    };
    let with_driftless = || {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args([
                "dry-run",
                "-q",
                "--format",
                "json",
                "--checks",
                "tests/fixtures/no_checks",
            ])
            .arg("--snapshot")
            .arg(&dump)
            .arg("--migrations")
            .arg(&migrations)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("driftless runs");
        assert!(status.code().is_some_and(|c| c <= 1));
        started.elapsed()
    };
    let (mut hand, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        hand.push(by_hand());
        ours.push(with_driftless());
    }
    server.stop();
    let (hand, ours) = (median(hand), median(ours));
    let overhead = ours.as_secs_f64() / hand.as_secs_f64() - 1.0;
    report.figure(
        &format!("dry-run, {rows}-row snapshot, 2 pending ({})", second.0),
        format!("{:.2} s", ours.as_secs_f64()),
        format!("pg_restore -j2 + psql -f {:.2} s", hand.as_secs_f64()),
        match target {
            Some(target) => verdict(
                overhead <= target,
                &format!(
                    "<= {:.0}% overhead; {:+.0}%",
                    target * 100.0,
                    overhead * 100.0
                ),
            ),
            None => format!("[no target; {:+.0}%]", overhead * 100.0),
        },
    );
}
