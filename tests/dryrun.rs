//! `driftless dry-run` and `driftless drift` against real PostgreSQL and MariaDB: a
//! "production" database with data and applied migrations (sqlx and golang-migrate tracking
//! tables), dumped; pending migrations with a table rewrite and an index built without
//! CONCURRENTLY; the pending list, the timeline, lock_risk, checks, an untouched dump; drift
//! of an out-of-band ALTER, with the server's statement log proving drift wrote nothing.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlx::Connection;
use util::pg::Pg;
use util::{Run, driftless, findings};

const CLEAN: &str = "migrations-under-test/postgres/clean";

fn md5(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The clean demo set plus three pending migrations: a table rewrite, an index without
/// CONCURRENTLY, and an update that breaks a check.
fn migrations_with_pending() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(util::repo().join(CLEAN))
        .unwrap()
        .flatten()
    {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let files: &[(&str, &str)] = &[
        (
            "20240301000001_orders_noted_at.up.sql",
            "ALTER TABLE orders ADD COLUMN noted_at timestamptz DEFAULT clock_timestamp();\n",
        ),
        (
            "20240301000001_orders_noted_at.down.sql",
            "ALTER TABLE orders DROP COLUMN noted_at;\n",
        ),
        (
            "20240301000002_index_status.up.sql",
            "CREATE INDEX orders_status_idx ON orders (status);\n",
        ),
        (
            "20240301000002_index_status.down.sql",
            "DROP INDEX orders_status_idx;\n",
        ),
        (
            "20240301000003_redact_emails.up.sql",
            "UPDATE users SET email = 'redacted-' || id WHERE id % 10 = 0;\n",
        ),
        ("20240301000003_redact_emails.down.sql", "SELECT 1;\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn checks_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("emails_have_at.sql"),
        "-- every user has a real email\nSELECT id, email FROM users WHERE email NOT LIKE '%@%';\n",
    )
    .unwrap();
    dir
}

impl Pg {
    /// "Production": the first eight clean migrations applied and recorded by `tool`, with data.
    fn production(&self, db: &str, tool: &str) -> String {
        self.exec("postgres", &format!("CREATE DATABASE {db}"));
        let mut ups: Vec<PathBuf> = std::fs::read_dir(util::repo().join(CLEAN))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
            .collect();
        ups.sort();
        for up in &ups[..8] {
            self.exec(db, &std::fs::read_to_string(up).unwrap());
        }
        match tool {
            "sqlx" => {
                self.exec(
                    db,
                    "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                     installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
                     checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
                );
                for up in &ups[..8] {
                    let name = up.file_name().unwrap().to_string_lossy().into_owned();
                    let version = name.split('_').next().unwrap();
                    let sum =
                        driftless::migrations::tracking::sqlx_checksum(&std::fs::read(up).unwrap());
                    self.exec(
                        db,
                        &format!("INSERT INTO _sqlx_migrations VALUES ({version}, 'm', now(), true, decode('{sum}', 'hex'), 1)"),
                    );
                }
            }
            _ => {
                let last = ups[7]
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .split('_')
                    .next()
                    .unwrap()
                    .to_string();
                self.exec(
                    db,
                    &format!(
                        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
                         INSERT INTO schema_migrations VALUES ({last}, {})",
                        tool == "golang-migrate-dirty"
                    ),
                );
            }
        }
        let url = self.url(db);
        let seeded = driftless(&["seed", "--url", &url, "--rows", "2000", "-q"]);
        assert_eq!(seeded.code, 0, "{}", seeded.stderr);
        url
    }
}

/// The report's `data_changes` entry of `table`.
fn data_change<'a>(report: &'a Value, table: &str) -> &'a Value {
    report["data_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == table)
        .unwrap_or_else(|| panic!("{table} changed: {report:#}"))
}

/// The same deploy as an HTML page, loaded in headless Chromium: the statement chart with its
/// locks and the data changes are there, and a screenshot is kept for a look.
fn html_shows_the_deploy(dump: &Path, migrations: &Path, checks: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("dry-run.html");
    let run = driftless(&[
        "dry-run",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.to_str().unwrap(),
        "--checks",
        checks.to_str().unwrap(),
        "--lock-threshold",
        "0ms",
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let dom = util::chromium_dom(&page, "", None);
    assert!(dom.contains("<section id=\"deploy\">"), "the deploy chart");
    assert!(
        dom.contains("AccessExclusiveLock on public.orders"),
        "locks beside statements"
    );
    assert!(dom.contains("rewrote public.orders"));
    assert!(
        dom.contains("class=\"bar lock-rw\""),
        "a bar coloured by its lock"
    );
    assert!(dom.contains("public.users</code>"), "the data changes");
    let artifacts = std::path::PathBuf::from("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dry_run_report.png");
    util::chromium_dom(&page, "", Some(&shot));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
}

fn dry_run(args: &[&str]) -> Run {
    let mut all = vec!["dry-run", "--format", "json"];
    all.extend_from_slice(args);
    driftless(&all)
}

#[test]
fn postgres_dry_run_reports_pending_timeline_locks_and_checks() {
    let pg = Pg::start();
    pg.production("prod", "sqlx");
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.dump");
    pg.dump("prod", &dump, "custom");
    let before = md5(&dump);
    let migrations = migrations_with_pending();
    let checks = checks_dir();
    let run = dry_run(&[
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--checks",
        checks.path().to_str().unwrap(),
        "--lock-threshold",
        "0ms",
    ]);
    assert_eq!(
        run.code, 1,
        "the broken check fails the run: {}\n{}",
        run.stdout, run.stderr
    );
    let report = run.json();
    assert_eq!(report["command"], "dry-run");
    let pending: Vec<&str> = findings(&report, "pending_migration")
        .iter()
        .map(|f| f["migration"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending,
        vec![
            "20240101000009",
            "20240101000010",
            "20240301000001",
            "20240301000002",
            "20240301000003"
        ]
    );
    let timeline = report["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 5);
    let statement = |version: &str| -> &Value {
        &timeline.iter().find(|e| e["migration"] == version).unwrap()["statements"][0]
    };
    let rewrite = statement("20240301000001");
    assert_eq!(rewrite["rewrote"], serde_json::json!(["public.orders"]));
    assert_eq!(rewrite["lock"], "AccessExclusiveLock");
    assert_eq!(rewrite["blocks"], "reads and writes");
    let index = statement("20240301000002");
    assert_eq!(index["lock"], "ShareLock");
    assert_eq!(index["blocks"], "writes");
    assert_eq!(statement("20240301000003")["rows"], 200);
    let risks = findings(&report, "lock_risk");
    assert!(risks.iter().any(
        |f| f["migration"] == "20240301000001" && f["details"]["lock"] == "AccessExclusiveLock"
    ));
    // Structured fields, not only the message: the locked relation and its table.
    assert!(
        risks
            .iter()
            .all(|f| f["table"].is_string() && f["object"].is_string()),
        "{risks:#?}"
    );
    assert!(
        risks
            .iter()
            .any(|f| f["migration"] == "20240301000001" && f["table"] == "public.orders"),
        "{risks:#?}"
    );
    assert!(
        risks
            .iter()
            .any(|f| f["migration"] == "20240301000002" && f["line"] == 1)
    );
    let violations = findings(&report, "invariant_violation");
    assert_eq!(violations.len(), 1, "{}", run.stdout);
    assert_eq!(violations[0]["check"], "emails_have_at");
    assert_eq!(violations[0]["details"]["rows"], 200);
    assert_eq!(md5(&dump), before, "the snapshot is only read");
    html_shows_the_deploy(&dump, migrations.path(), checks.path());
    // The data summary: the redaction changed emails and nothing else in users.
    let users = data_change(&report, "public.users");
    assert_eq!(users["rows_before"], 2000);
    assert_eq!(users["rows_after"], 2000);
    // (users_updated_at's trigger stamps every updated row.)
    assert_eq!(
        users["columns_differ"],
        serde_json::json!(["email", "updated_at"])
    );

    // An applied migration edited afterwards no longer matches sqlx's checksum.
    let edited = migrations
        .path()
        .join("20240101000003_create_orders.up.sql");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("-- edited after it shipped\n");
    std::fs::write(&edited, text).unwrap();
    let run = dry_run(&[
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    let report = run.json();
    let modified: Vec<&Value> = findings(&report, "lint")
        .into_iter()
        .filter(|f| f["details"]["rule"] == "modified_migration")
        .collect();
    assert_eq!(modified.len(), 1, "{}", run.stdout);
    assert_eq!(modified[0]["migration"], "20240101000003");
}

#[test]
fn golang_migrate_state_plain_dumps_and_dirty_versions() {
    let pg = Pg::start();
    pg.production("gm", "golang-migrate");
    pg.production("gm_dirty", "golang-migrate-dirty");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("gm.sql");
    pg.dump("gm", &plain, "plain");
    let migrations = migrations_with_pending();
    let run = dry_run(&[
        "--snapshot",
        plain.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--roundtrip",
    ]);
    let report = run.json();
    assert_eq!(
        findings(&report, "pending_migration").len(),
        5,
        "{}",
        run.stdout
    );
    assert!(
        findings(&report, "migration_error").is_empty(),
        "{}",
        run.stdout
    );
    // The pending ups and their downs: the redaction's down does not give the emails back,
    // judged as `check` judges a down: the column, how many values, a sentence, not a dump of
    // an internal struct.
    let lost = findings(&report, "data_loss");
    let lost = lost
        .iter()
        .find(|f| f["column"] == "email")
        .unwrap_or_else(|| panic!("no data_loss of users.email: {}", run.stdout));
    assert_eq!(lost["table"], "users", "{lost}");
    // The down that should have given the emails back: the redaction's.
    assert_eq!(lost["migration"], "20240301000003", "{lost}");
    let message = lost["message"].as_str().unwrap();
    assert!(
        message.contains("values in public.users.email") && !message.contains('{'),
        "{message}"
    );
    assert!(
        lost["details"]["values_changed"].as_i64().unwrap() > 0,
        "{lost}"
    );
    assert!(
        lost["file"]
            .as_str()
            .unwrap()
            .ends_with("20240301000003_redact_emails.down.sql"),
        "{lost}"
    );

    let dirty = dir.path().join("dirty.dump");
    pg.dump("gm_dirty", &dirty, "custom");
    let run = dry_run(&[
        "--snapshot",
        dirty.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    let report = run.json();
    let errors = findings(&report, "migration_error");
    assert!(
        errors
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("dirty")),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 1);
}

/// A deploy of schema statements only hashes no table; `--row-diff` counts what an update
/// changed; an event trigger (which runs on DDL) makes every table compared again.
#[test]
fn dry_run_compares_only_the_tables_a_deploy_may_write() {
    let pg = Pg::start();
    pg.production("prod", "golang-migrate");
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.dump");
    pg.dump("prod", &dump, "custom");
    let migrations = migrations_with_pending();
    let pending = |name: &str| migrations.path().join(name);
    // Schema only: a column, an index, a constraint, a view, a comment.
    std::fs::write(
        pending("20240301000003_redact_emails.up.sql"),
        "ALTER TABLE users ADD COLUMN nickname text DEFAULT 'none';\n\
         ALTER TABLE orders ADD CONSTRAINT orders_id_positive CHECK (id > 0) NOT VALID;\n\
         COMMENT ON TABLE users IS 'people';\n",
    )
    .unwrap();
    std::fs::write(
        pending("20240301000001_orders_noted_at.up.sql"),
        "ALTER TABLE orders ADD COLUMN noted_at timestamptz;\n",
    )
    .unwrap();
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut all: Vec<String> = vec![
            "--snapshot".into(),
            dump.to_str().unwrap().into(),
            "--migrations".into(),
            migrations.path().to_str().unwrap().into(),
            "--checks".into(),
            "tests/fixtures/no_checks".into(),
        ];
        all.extend(extra.iter().map(|s| s.to_string()));
        all
    };
    let human = |extra: &[&'static str]| -> Run {
        let mut all = vec!["dry-run".to_string()];
        all.extend(args(extra));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        driftless(&refs)
    };
    let run = human(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Only products, whose pending column rename moves values (they are found again).
    assert!(
        run.stdout.contains("data: compared 1 of 5 tables"),
        "only products hashed: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no rows or values changed"),
        "{}",
        run.stdout
    );

    // An update: with --row-diff, exact counts per column.
    std::fs::write(
        pending("20240301000003_redact_emails.up.sql"),
        "UPDATE users SET email = 'redacted-' || id WHERE id % 10 = 0;\n",
    )
    .unwrap();
    let mut all = vec!["dry-run".to_string(), "--format".into(), "json".into()];
    all.extend(args(&["--row-diff"]));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let run = driftless(&refs);
    let report = run.json();
    let users = data_change(&report, "public.users");
    assert_eq!(
        users["values_changed"],
        serde_json::json!({"email": 200, "updated_at": 200})
    );
    assert_eq!(users["rows_added"], 0);
    assert_eq!(users["rows_removed"], 0);

    // A narrowing type change is destructive: the fractions are rounded away.
    std::fs::write(
        pending("20240301000003_redact_emails.up.sql"),
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,0);\n",
    )
    .unwrap();
    let run = dry_run(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    let report = run.json();
    assert!(
        findings(&report, "destructive_change").iter().any(|f| {
            f["object"] == "public.orders.total" && f["details"]["type_after"] == "numeric(12,0)"
        }),
        "{}",
        run.stdout
    );
    // With --row-diff the finding shows values as they were and as the deploy left them.
    let mut all = vec!["dry-run".to_string(), "--format".into(), "json".into()];
    all.extend(args(&["--row-diff"]));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let report = driftless(&refs).json();
    let total = findings(&report, "destructive_change")
        .into_iter()
        .find(|f| f["object"] == "public.orders.total")
        .expect("the type change");
    let examples = total["details"]["examples"].as_array().expect("examples");
    assert!(!examples.is_empty(), "{total}");
    for e in examples {
        let (before, after) = (e["before"].as_str().unwrap(), e["after"].as_str().unwrap());
        assert!(before.contains('.') && !after.contains('.'), "{e}");
    }
    // Rows deleted: a few of them as they were, personal columns masked.
    std::fs::write(
        pending("20240301000003_redact_emails.up.sql"),
        "DELETE FROM users WHERE id % 10 = 0;\n",
    )
    .unwrap();
    let report = driftless(&refs).json();
    let deleted = findings(&report, "destructive_change")
        .into_iter()
        .find(|f| f["object"] == "public.users")
        .expect("the delete");
    let rows = deleted["details"]["sample"]
        .as_array()
        .expect("sample rows");
    assert!(!rows.is_empty() && rows.len() <= 3, "{deleted}");
    for row in rows {
        let id: i64 = row["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(id % 10, 0, "{row}");
        assert!(row["email"].as_str().unwrap().contains("***"), "{row}");
    }

    // An event trigger that logs DDL into a table: schema statements now write that table.
    pg.exec(
        "prod",
        "CREATE TABLE ddl_log (id serial PRIMARY KEY, tag text);
         CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO ddl_log (tag) VALUES (tg_tag); END $$;
         CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();",
    );
    pg.dump("prod", &dump, "custom");
    std::fs::write(
        pending("20240301000003_redact_emails.up.sql"),
        "COMMENT ON TABLE users IS 'people';\n",
    )
    .unwrap();
    let run = dry_run(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    let report = run.json();
    let log = data_change(&report, "public.ddl_log");
    assert_eq!(log["rows_before"], 0);
    assert!(log["rows_after"].as_i64().unwrap() > 0, "{log}");
}

#[test]
fn a_corrupt_dump_exits_3_with_the_tool_message_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("broken.dump");
    let mut bytes = b"PGDMP".to_vec();
    bytes.extend(std::iter::repeat_n(0xAB, 4000));
    std::fs::write(&dump, bytes).unwrap();
    let run = driftless(&[
        "dry-run",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        CLEAN,
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("pg_restore failed"), "{}", run.stderr);
    let missing = driftless(&[
        "dry-run",
        "--snapshot",
        "/nonexistent.dump",
        "--migrations",
        CLEAN,
    ]);
    assert_eq!(missing.code, 2);
}

#[test]
fn drift_reports_an_out_of_band_alter_and_writes_nothing() {
    let pg = Pg::start();
    let url = pg.production("live", "sqlx");
    let run = driftless(&[
        "drift",
        "--url",
        &url,
        "--migrations",
        CLEAN,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.json()["findings"].as_array().unwrap().is_empty(),
        "{}",
        run.stdout
    );

    pg.exec("live", "ALTER TABLE users ADD COLUMN nickname text; CREATE INDEX users_name_idx ON users (full_name)");
    // Every statement from here on is logged.
    pg.exec("postgres", "ALTER SYSTEM SET log_statement = 'all'");
    pg.exec("postgres", "SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = pg.server.dir().join("postgres.log");
    let mark = std::fs::read_to_string(&log).unwrap_or_default().len();
    let run = driftless(&[
        "drift",
        "--url",
        &url,
        "--migrations",
        CLEAN,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let objects: Vec<&str> = findings(&report, "schema_drift")
        .iter()
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert!(objects.contains(&"public.users"), "{objects:?}");
    assert!(objects.contains(&"public.users_name_idx"), "{objects:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let statements: Vec<&str> = logged[mark..]
        .lines()
        .filter(|l| l.contains("statement: "))
        .collect();
    assert!(!statements.is_empty(), "the log shows drift's statements");
    for line in &statements {
        let sql = line
            .split("statement: ")
            .nth(1)
            .unwrap()
            .trim_start()
            .to_uppercase();
        for write in [
            "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT",
        ] {
            assert!(!sql.starts_with(write), "drift wrote: {line}");
        }
        assert!(
            !sql.starts_with("COPY") || sql.ends_with("TO STDOUT"),
            "drift wrote: {line}"
        );
    }

    let ignored = driftless(&[
        "drift",
        "--url",
        &url,
        "--migrations",
        CLEAN,
        "--ignore",
        "public.users*",
        "--format",
        "json",
    ]);
    assert_eq!(ignored.code, 0, "{}", ignored.stdout);
}

#[test]
fn mariadb_dry_run_of_a_sql_dump() {
    let my = util::my::My::start();
    let exec = |db: &str, sql: &str| my.exec(db, sql);
    exec("mysql", "CREATE DATABASE prod");
    let migrations = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        (
            "1_customers.up.sql",
            "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL);",
        ),
        ("1_customers.down.sql", "DROP TABLE customers;"),
        (
            "2_orders.up.sql",
            "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL);",
        ),
        ("2_orders.down.sql", "DROP TABLE orders;"),
        (
            "3_widen_total.up.sql",
            "ALTER TABLE orders MODIFY total DECIMAL(14,2) NOT NULL;",
        ),
        (
            "3_widen_total.down.sql",
            "ALTER TABLE orders MODIFY total DECIMAL(10,2) NOT NULL;",
        ),
        (
            "4_customer_index.up.sql",
            "CREATE INDEX orders_customer_idx ON orders (customer_id);",
        ),
        (
            "4_customer_index.down.sql",
            "DROP INDEX orders_customer_idx ON orders;",
        ),
        (
            "5_nickname.up.sql",
            "ALTER TABLE customers ADD COLUMN nickname VARCHAR(40) NULL;",
        ),
        (
            "5_nickname.down.sql",
            "ALTER TABLE customers DROP COLUMN nickname;",
        ),
        (
            "6_touch.up.sql",
            "UPDATE orders SET total = total WHERE id <= 3 AND SLEEP(0.1) = 0;",
        ),
        ("6_touch.down.sql", "SELECT 1;"),
    ];
    for (name, text) in files {
        std::fs::write(migrations.path().join(name), text).unwrap();
    }
    exec("prod", files[0].1);
    exec("prod", files[2].1);
    exec(
        "prod",
        "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL);
         INSERT INTO schema_migrations VALUES (2, 0);
         INSERT INTO customers (email) SELECT CONCAT('c', seq, '@example.com') FROM seq_1_to_500;
         INSERT INTO orders (customer_id, total) SELECT 1 + seq % 500, seq / 10 FROM seq_1_to_3000;",
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.sql");
    util::my::dump(&my.server, "prod", &dump);
    let before = md5(&dump);
    let run = dry_run(&[
        "--engine",
        "mysql",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--lock-threshold",
        "0ms",
    ]);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let pending: Vec<&str> = findings(&report, "pending_migration")
        .iter()
        .map(|f| f["migration"].as_str().unwrap())
        .collect();
    assert_eq!(pending, vec!["3", "4", "5", "6"], "{}", run.stdout);
    let timeline = report["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 4);
    let index = &timeline[1]["statements"][0];
    assert_eq!(
        index["lock"], "ALGORITHM=INPLACE, LOCK=NONE",
        "an online index build: {index}"
    );
    assert!(index["blocks"].is_null());
    // A statement that runs long enough to be watched: its metadata lock is seen.
    let touch = &timeline[3]["statements"][0];
    assert_eq!(touch["lock"], "metadata lock SHARED_WRITE", "{touch}");
    assert!(
        touch["lock_on"].as_str().unwrap().ends_with(".orders"),
        "{touch}"
    );
    assert!(touch["blocks"].is_null(), "{touch}");
    let widen = &timeline[0]["statements"][0];
    assert!(
        widen["lock"].as_str().unwrap().starts_with("ALGORITHM="),
        "{widen}"
    );
    assert_eq!(widen["blocks"], "writes", "{widen}");
    assert!(
        findings(&report, "lock_risk")
            .iter()
            .any(|f| f["migration"] == "3"),
        "{}",
        run.stdout
    );
    let nickname = &timeline[2]["statements"][0];
    assert!(
        nickname["lock"]
            .as_str()
            .unwrap()
            .starts_with("ALGORITHM=INSTANT"),
        "adding a column is instant: {nickname}"
    );
    assert!(nickname["blocks"].is_null());
    assert!(
        timeline[0]["statements"][0]["rewrote"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().ends_with("orders")),
        "changing the decimal's precision rebuilds the table: {}",
        run.stdout
    );
    assert_eq!(md5(&dump), before);
    my.server.stop();
}

/// A "production" database `db` made by `sql`, without a tracking table (every migration is
/// pending), dumped to `dir/db.dump`; and a migrations folder with `files`.
fn snapshot_and_migrations(
    pg: &Pg,
    db: &str,
    sql: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
    pg.exec("postgres", &format!("CREATE DATABASE {db}"));
    pg.exec(db, sql);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join(format!("{db}.dump"));
    pg.dump(db, &dump, "custom");
    let migrations = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(migrations.path().join(name), text).unwrap();
    }
    (dir, dump, migrations)
}

/// The `n`th statement of the timeline entry of `version`.
fn traced<'a>(report: &'a Value, version: &str, n: usize) -> &'a Value {
    let entry = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["migration"] == version)
        .unwrap_or_else(|| panic!("no timeline entry {version}: {report:#}"));
    &entry["statements"][n]
}

/// `relation → lock` of a traced statement's `locks`.
fn locks(statement: &Value) -> Vec<(String, String)> {
    statement["locks"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|l| {
                    (
                        l["relation"].as_str().unwrap().to_string(),
                        l["lock"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const LOCKS_SNAPSHOT: &str = "
    CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL, note text);
    CREATE TABLE audit (id int PRIMARY KEY, what text);
    CREATE TABLE owners (id int PRIMARY KEY);
    CREATE TABLE pets (id int PRIMARY KEY, owner_id int NOT NULL REFERENCES owners (id) ON DELETE CASCADE);
    CREATE TABLE old_tags (id int PRIMARY KEY, label text NOT NULL);
    CREATE TABLE plain (id int PRIMARY KEY);
    INSERT INTO parents SELECT g, 'p' || g FROM generate_series(1, 5000) g;
    INSERT INTO children SELECT g, 1 + g % 5000, 'c' || g FROM generate_series(1, 20000) g;
    INSERT INTO audit SELECT g, 'a' || g FROM generate_series(1, 1000) g;
    INSERT INTO owners SELECT g FROM generate_series(1, 100) g;
    INSERT INTO pets SELECT g, 1 + g % 100 FROM generate_series(1, 400) g;
    INSERT INTO old_tags SELECT g, 't' || g FROM generate_series(1, 300) g;
    INSERT INTO plain SELECT g FROM generate_series(1, 100) g;
";

const LOCKS_MIGRATIONS: &[(&str, &str)] = &[
    (
        "1_children_parent_fk.up.sql",
        "ALTER TABLE children\n    ADD CONSTRAINT children_parent_fk\n    FOREIGN KEY (parent_id) REFERENCES parents (id);\nUPDATE audit SET what = what WHERE id <= 10;\n",
    ),
    (
        "1_children_parent_fk.down.sql",
        "ALTER TABLE children DROP CONSTRAINT children_parent_fk;\n",
    ),
    (
        "2_reindex.up.sql",
        "REINDEX TABLE children;\nREINDEX INDEX parents_pkey;\n",
    ),
    ("2_reindex.down.sql", "SELECT 1;\n"),
    (
        "3_rename_tags.up.sql",
        "ALTER TABLE old_tags RENAME TO tags;\n",
    ),
    (
        "3_rename_tags.down.sql",
        "ALTER TABLE tags RENAME TO old_tags;\n",
    ),
    (
        "4_retire.up.sql",
        "DROP TABLE audit;\nDELETE FROM owners WHERE id <= 10;\n",
    ),
    ("4_retire.down.sql", "SELECT 1;\n"),
    (
        "5_plain_column.up.sql",
        "-- no-transaction\nALTER TABLE plain ADD COLUMN extra int;\n",
    ),
    (
        "5_plain_column.down.sql",
        "ALTER TABLE plain DROP COLUMN extra;\n",
    ),
    (
        "6_nickname.up.sql",
        "SET lock_timeout = '2s';\nALTER TABLE parents ADD COLUMN nick text;\n",
    ),
    (
        "6_nickname.down.sql",
        "ALTER TABLE parents DROP COLUMN nick;\n",
    ),
];

#[test]
fn postgres_locks_belong_to_their_statement_and_name_every_table() {
    let pg = Pg::start();
    let (_dir, dump, migrations) =
        snapshot_and_migrations(&pg, "locks", LOCKS_SNAPSHOT, LOCKS_MIGRATIONS);
    // The default threshold (1 s): every statement here is far shorter.
    let run = dry_run(&[
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(util::repo().join("schema/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "the report contract: {errors:?}");

    // The whole statement, over three lines, and both tables it locks.
    let fk = traced(&report, "1", 0);
    assert_eq!(
        fk["sql"].as_str().unwrap().trim_end_matches(';'),
        "ALTER TABLE children\n    ADD CONSTRAINT children_parent_fk\n    FOREIGN KEY (parent_id) REFERENCES parents (id)"
    );
    let fk_locks = locks(fk);
    for table in ["public.children", "public.parents"] {
        assert!(
            fk_locks.iter().any(|(r, _)| r == table),
            "{table} in {fk_locks:?}"
        );
    }
    // The next statement of the same transaction: only its own table, though the
    // transaction still holds the locks of the first.
    let update = traced(&report, "1", 1);
    assert_eq!(
        locks(update),
        [("public.audit".to_string(), "RowExclusiveLock".to_string())],
        "{update}"
    );
    assert_eq!(update["lock_on"], "public.audit");

    // REINDEX: ACCESS EXCLUSIVE on the index (reads of the table plan through it), SHARE on
    // the table.
    let reindex = traced(&report, "2", 0);
    assert_eq!(reindex["blocks"], "reads and writes", "{reindex}");
    let all = reindex["locks"].as_array().unwrap();
    assert!(
        all.iter().any(|l| l["relation"] == "public.children_pkey"
            && l["index_of"] == "public.children"
            && l["lock"] == "AccessExclusiveLock"
            && l["blocks"] == "reads and writes"),
        "{reindex}"
    );
    assert!(
        all.iter()
            .any(|l| l["relation"] == "public.children" && l["lock"] == "ShareLock"),
        "{reindex}"
    );
    let second = traced(&report, "2", 1);
    assert!(
        locks(second)
            .iter()
            .all(|(r, _)| r.starts_with("public.parents")),
        "REINDEX INDEX parents_pkey is not blamed for children's locks: {second}"
    );
    assert_eq!(second["blocks"], "reads and writes", "{second}");

    // Exclusive locks on tables with rows are warnings however short, with time and rows.
    let risks = findings(&report, "lock_risk");
    let risk = |version: &str, line: u64| {
        risks
            .iter()
            .find(|f| f["migration"] == version && f["line"] == line)
            .unwrap_or_else(|| panic!("no lock_risk at {version}:{line}: {}", run.stdout))
    };
    for (version, line, table, rows) in [
        ("2", 1, "public.children", 20000),
        ("2", 2, "public.parents", 5000),
        ("3", 1, "public.old_tags", 300),
        ("4", 1, "public.audit", 1000),
        ("5", 2, "public.plain", 100),
        ("6", 2, "public.parents", 5000),
    ] {
        let f = risk(version, line);
        assert_eq!(f["severity"], "warning", "{f}");
        assert_eq!(f["details"]["rows"], rows, "{f}");
        assert_eq!(f["details"]["queues_behind_reads"], true, "{f}");
        assert!(f["details"]["held_ms"].as_u64().unwrap() < 1000, "{f}");
        assert!(
            f["details"]["tables"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == table),
            "{f}"
        );
        assert!(f["message"].as_str().unwrap().contains("rows"), "{f}");
    }
    // A lock_timeout bounds the wait: the finding says so.
    assert_eq!(risk("6", 2)["details"]["lock_timeout_ms"], 2000);
    assert!(risk("5", 2)["details"]["lock_timeout_ms"].is_null());
    // A statement outside any transaction is seen too (it runs in one of its own).
    let plain = traced(&report, "5", 0);
    assert_eq!(
        locks(plain),
        [(
            "public.plain".to_string(),
            "AccessExclusiveLock".to_string()
        )],
        "{plain}"
    );
    // The foreign key blocks only writes, briefly: no finding.
    assert!(
        risks.iter().all(|f| f["migration"] != "1"),
        "{}",
        run.stdout
    );

    // A rename keeps every row: no destructive change, the data change says where they went.
    assert_eq!(
        data_change(&report, "public.old_tags")["renamed_to"],
        "public.tags"
    );
    let destructive = findings(&report, "destructive_change");
    assert!(
        destructive
            .iter()
            .all(|f| !f["message"].as_str().unwrap().contains("tags")),
        "{}",
        run.stdout
    );
    // The human timeline: the statement whole, its later lines under its first; every lock.
    let human = driftless(&[
        "dry-run",
        "--format",
        "human",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    assert!(
        human.stdout.contains(
            "  ALTER TABLE children\n                              ADD CONSTRAINT children_parent_fk\n                              FOREIGN KEY (parent_id) REFERENCES parents (id)"
        ),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("AccessExclusiveLock on index public.children_pkey of public.children, blocks reads and writes"),
        "{}",
        human.stdout
    );
    // Each destructive change at its statement: named there, or (a cascade) locked there.
    for (table, line) in [
        ("public.audit", 1),
        ("public.owners", 2),
        ("public.pets", 2),
    ] {
        let f = destructive
            .iter()
            .find(|f| f["object"] == table)
            .unwrap_or_else(|| panic!("no destructive_change on {table}: {}", run.stdout));
        assert!(
            f["file"].as_str().unwrap().ends_with("4_retire.up.sql"),
            "{f}"
        );
        assert_eq!(f["line"], line, "{f}");
        assert_eq!(f["migration"], "4", "{f}");
    }
}

/// While a session holds what `holder` takes (in an open transaction), what another
/// session's read and write of `t` fail with (`55P03`: lock_timeout), `None` when they ran.
fn blocked(pg: &Pg, url: &str, holder: &str) -> (Option<String>, Option<String>) {
    pg.runtime.block_on(async {
        let mut a = sqlx::PgConnection::connect(url).await.unwrap();
        let mut b = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {holder}")))
            .execute(&mut a)
            .await
            .unwrap();
        sqlx::raw_sql("SET lock_timeout = '300ms'")
            .execute(&mut b)
            .await
            .unwrap();
        let code = |r: Result<sqlx::postgres::PgQueryResult, sqlx::Error>| {
            r.err().map(|e| {
                e.as_database_error()
                    .and_then(|d| d.code().map(|c| c.into_owned()))
                    .unwrap_or_else(|| e.to_string())
            })
        };
        let read = code(
            sqlx::raw_sql("SELECT count(*) FROM t WHERE v <> ''")
                .execute(&mut b)
                .await,
        );
        let write = code(
            sqlx::raw_sql("INSERT INTO t VALUES (100000, 'x')")
                .execute(&mut b)
                .await,
        );
        sqlx::raw_sql("ROLLBACK").execute(&mut a).await.unwrap();
        (read, write)
    })
}

#[test]
fn postgres_reindex_blocks_reads_and_create_index_does_not() {
    // What the timeline says of REINDEX, measured: while one session holds what REINDEX
    // takes, another's SELECT of the table waits (here: fails on its lock_timeout); while it
    // holds what CREATE INDEX takes, the SELECT runs and only writes wait.
    let pg = Pg::start();
    pg.exec("postgres", "CREATE DATABASE measured");
    pg.exec(
        "measured",
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;",
    );
    let url = pg.url("measured");
    let lock_timeout = Some("55P03".to_string());
    for holder in ["REINDEX TABLE t", "REINDEX INDEX t_pkey"] {
        assert_eq!(
            blocked(&pg, &url, holder),
            (lock_timeout.clone(), lock_timeout.clone()),
            "{holder} blocks reads and writes"
        );
    }
    assert_eq!(
        blocked(&pg, &url, "CREATE INDEX t_v ON t (v)"),
        (None, lock_timeout.clone()),
        "CREATE INDEX blocks only writes"
    );
}

#[test]
fn mariadb_renames_drops_and_each_statements_own_metadata_locks() {
    let my = util::my::My::start();
    let exec = |db: &str, sql: &str| my.exec(db, sql);
    exec("mysql", "CREATE DATABASE shop");
    exec(
        "shop",
        "CREATE TABLE old_tags (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL);
         CREATE TABLE audit (id INT PRIMARY KEY, what VARCHAR(20));
         CREATE TABLE a (id INT PRIMARY KEY, v INT);
         CREATE TABLE b (id INT PRIMARY KEY, v INT);
         INSERT INTO old_tags SELECT seq, CONCAT('t', seq) FROM seq_1_to_300;
         INSERT INTO audit SELECT seq, CONCAT('a', seq) FROM seq_1_to_1000;
         INSERT INTO a SELECT seq, seq FROM seq_1_to_100;
         INSERT INTO b SELECT seq, seq FROM seq_1_to_100;",
    );
    let migrations = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        ("1_rename.up.sql", "RENAME TABLE old_tags TO tags;"),
        ("1_rename.down.sql", "RENAME TABLE tags TO old_tags;"),
        (
            "2_touch.up.sql",
            "START TRANSACTION;\nUPDATE a SET v = v WHERE id <= 3 AND SLEEP(0.1) = 0;\nUPDATE b SET v = v WHERE id <= 3 AND SLEEP(0.1) = 0;\nCOMMIT;",
        ),
        ("2_touch.down.sql", "SELECT 1;"),
        (
            "3_retire.up.sql",
            "-- the audit trail moved\nDROP TABLE audit;",
        ),
        ("3_retire.down.sql", "SELECT 1;"),
        (
            "4_locked.up.sql",
            "LOCK TABLES b WRITE;\nUPDATE b SET v = v WHERE id <= 3;\nUNLOCK TABLES;",
        ),
        ("4_locked.down.sql", "SELECT 1;"),
    ];
    for (name, text) in files {
        std::fs::write(migrations.path().join(name), text).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("shop.sql");
    util::my::dump(&my.server, "shop", &dump);
    let run = dry_run(&[
        "--engine",
        "mysql",
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let renamed = report["data_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"].as_str().unwrap().ends_with(".old_tags"))
        .unwrap_or_else(|| panic!("old_tags in data_changes: {report:#}"));
    assert!(
        renamed["renamed_to"].as_str().unwrap().ends_with(".tags"),
        "{renamed}"
    );
    assert_eq!(renamed["rows_after"], 300);
    let destructive = findings(&report, "destructive_change");
    assert_eq!(destructive.len(), 1, "only the drop: {}", run.stdout);
    assert!(
        destructive[0]["message"]
            .as_str()
            .unwrap()
            .contains("holding 1000 rows"),
        "{}",
        destructive[0]
    );
    assert!(
        destructive[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("3_retire.up.sql")
    );
    assert_eq!(destructive[0]["line"], 2);
    // The second UPDATE of the transaction: its own table's lock, not the first's.
    let second = traced(&report, "2", 2);
    let tables: Vec<String> = locks(second).into_iter().map(|(t, _)| t).collect();
    assert!(
        !tables.is_empty() && tables.iter().all(|t| t.ends_with(".b")),
        "{second}"
    );
    let first = traced(&report, "2", 1);
    assert!(
        locks(first).iter().any(|(t, _)| t.ends_with(".a")),
        "{first}"
    );
    // LOCK TABLES … WRITE: a metadata lock that blocks reads and writes of a table with rows,
    // a warning however short; the UPDATE under it is not blamed for it.
    let lock = traced(&report, "4", 0);
    assert_eq!(lock["blocks"], "reads and writes", "{lock}");
    let risk = findings(&report, "lock_risk")
        .into_iter()
        .find(|f| f["migration"] == "4")
        .unwrap_or_else(|| panic!("a lock_risk for LOCK TABLES: {}", run.stdout));
    assert_eq!(risk["line"], 1, "{risk}");
    assert_eq!(risk["severity"], "warning", "{risk}");
    assert_eq!(risk["details"]["rows"], 100, "{risk}");
    assert_eq!(risk["details"]["queues_behind_reads"], true, "{risk}");
    let update = traced(&report, "4", 1);
    assert!(update["blocks"].is_null(), "{update}");
    my.server.stop();
}

#[test]
fn postgres_an_exclusive_lock_on_a_table_the_deploy_does_not_hash_counts_its_rows() {
    // Adding a column writes no row, so the table is not hashed: its rows are counted when
    // the statement locks it against reads.
    let pg = Pg::start();
    let (_dir, dump, migrations) = snapshot_and_migrations(
        &pg,
        "unhashed",
        "CREATE TABLE t (id int PRIMARY KEY);
         INSERT INTO t SELECT g FROM generate_series(1, 500) g;",
        &[
            ("1_flag.up.sql", "ALTER TABLE t ADD COLUMN flag boolean;\n"),
            ("1_flag.down.sql", "ALTER TABLE t DROP COLUMN flag;\n"),
        ],
    );
    let run = dry_run(&[
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
    ]);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(
        report["data_changes"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{report:#}"
    );
    let risks = findings(&report, "lock_risk");
    assert_eq!(risks.len(), 1, "{}", run.stdout);
    assert_eq!(risks[0]["details"]["rows"], 500, "{}", risks[0]);
    assert_eq!(risks[0]["details"]["relation"], "public.t");
}

#[test]
fn postgres_roundtrip_shows_lost_values_masked_from_the_snapshot() {
    // The down gives the column back empty: the finding shows a few values as they were and
    // as they are, and since they come from a snapshot, personal-looking ones are masked.
    let pg = Pg::start();
    let (_dir, dump, migrations) = snapshot_and_migrations(
        &pg,
        "examples",
        "CREATE TABLE users (id int PRIMARY KEY, email text, score int);
         INSERT INTO users SELECT g, 'person' || g || '@example.org', g * 10
         FROM generate_series(1, 50) g;",
        &[
            (
                "1_drop.up.sql",
                "ALTER TABLE users DROP COLUMN email;\nALTER TABLE users DROP COLUMN score;\n",
            ),
            (
                "1_drop.down.sql",
                "ALTER TABLE users ADD COLUMN email text;\nALTER TABLE users ADD COLUMN score int;\n",
            ),
        ],
    );
    let run = dry_run(&[
        "--snapshot",
        dump.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--roundtrip",
    ]);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let lost = findings(&report, "data_loss");
    let of = |column: &str| {
        lost.iter()
            .find(|f| f["column"] == column)
            .unwrap_or_else(|| panic!("no data_loss for {column}: {report:#}"))["details"]
            ["examples"]
            .clone()
    };
    let email = of("email");
    assert_eq!(email.as_array().unwrap().len(), 3, "{email}");
    assert_eq!(
        email[0],
        serde_json::json!({"key": "id=1", "before": "p***@example.org", "after": null})
    );
    // Not personal: shown as it was.
    assert_eq!(
        of("score")[0],
        serde_json::json!({"key": "id=1", "before": "10", "after": null})
    );
    assert!(
        !run.stdout.contains("person1@example.org"),
        "{}",
        run.stdout
    );
}
