//! Nothing piles up: what a SIGKILLed run leaves (a throwaway database on the `--url` server,
//! a staging folder) is removed by the next run and by `driftless clean`, and nothing whose
//! creator still runs, or that driftless did not make, is ever touched.

mod util;

use std::time::Duration;

use sqlx::Connection;
use util::my::My;
use util::pg::Pg;
use util::{demo, driftless, sandbox_dir, spawn, wait_for};

impl Pg {
    fn names(&self, sql: &str) -> Vec<String> {
        let url = self.url("postgres");
        self.runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"))
        })
    }

    fn throwaways(&self) -> Vec<String> {
        self.names("SELECT datname::text FROM pg_database WHERE datname LIKE 'driftless%'")
    }
}

/// A creator tag of this host whose process has ended: this test process's id with another
/// start time.
fn ended_creator() -> String {
    let me = driftless::sandbox::Creator::me().tag();
    let (rest, started) = me.rsplit_once('_').unwrap();
    format!("{rest}_{}", started.parse::<u64>().unwrap() + 1)
}

/// Starts `check --url` on a migration that sleeps, SIGKILLs it while the statement runs, and
/// returns the throwaway database it left once its session has ended (the statement timeout
/// ends the orphaned backend).
fn killed_check(pg: &Pg) -> String {
    let before = pg.throwaways();
    let tmp = sandbox_dir();
    let url = pg.url("postgres");
    let mut child = spawn(
        tmp.path(),
        &[
            "check",
            "--url",
            &url,
            "--migrations",
            "tests/fixtures/histories/never_ends",
            "--statement-timeout",
            "3s",
        ],
    );
    let active = "SELECT datname::text FROM pg_stat_activity \
                  WHERE datname LIKE 'driftless%' AND query LIKE '%pg_sleep%' AND state = 'active'";
    let running = wait_for(Duration::from_secs(60), || !pg.names(active).is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running, "the migration never ran");
    let mut left = pg.throwaways();
    left.retain(|db| !before.contains(db));
    assert_eq!(left.len(), 1, "the killed run's database is left: {left:?}");
    let sessions = "SELECT datname::text FROM pg_stat_activity WHERE datname LIKE 'driftless%'";
    assert!(
        wait_for(Duration::from_secs(30), || pg.names(sessions).is_empty()),
        "the orphaned session never ended"
    );
    left[0].clone()
}

#[test]
fn a_killed_url_runs_database_is_dropped_by_the_next_run_and_by_clean() {
    let pg = Pg::start();
    let url = pg.url("postgres");
    // Not driftless's: a name it did not make, and one whose creator (this test) still runs.
    let mine = format!(
        "driftless_{}_abcdef",
        driftless::sandbox::Creator::me().tag()
    );
    pg.exec("postgres", "CREATE DATABASE driftless_prod");
    pg.exec("postgres", &format!("CREATE DATABASE {mine}"));

    let left = killed_check(&pg);
    let next = driftless(&["check", "--url", &url, "--migrations", &demo("data_loss")]);
    assert_eq!(next.code, 1, "{}", next.stderr);
    let now = pg.throwaways();
    assert!(!now.contains(&left), "the next run dropped {left}: {now:?}");

    let left = killed_check(&pg);
    let clean = driftless(&["clean", "--url", &url]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(
        clean.stdout.contains(&format!("removed database {left}")),
        "{}",
        clean.stdout
    );
    let mut now = pg.throwaways();
    now.sort();
    assert_eq!(
        now,
        vec![mine, "driftless_prod".to_string()],
        "only those are left"
    );
}

#[test]
fn clean_drops_an_ended_runs_database_on_mariadb_and_nothing_else() {
    let my = My::start();
    let ended = format!("driftless_{}_abcdef", ended_creator());
    let alive = format!(
        "driftless_{}_abcdef",
        driftless::sandbox::Creator::me().tag()
    );
    for db in [&ended, &alive, &"driftless_prod".to_string()] {
        my.exec("", &format!("CREATE DATABASE `{db}`"));
    }
    let clean = driftless(&["clean", "--url", &my.url("")]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(clean.stdout.contains(&ended), "{}", clean.stdout);
    let count = |db: &str| {
        my.count(
            "",
            &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"),
        )
    };
    assert_eq!(count(&ended), 0, "dropped");
    assert_eq!(count(&alive), 1, "its creator runs");
    assert_eq!(count("driftless_prod"), 1, "not driftless's");
}

#[test]
fn clean_removes_a_killed_seed_runs_staging_folder_only() {
    let dir = tempfile::tempdir().unwrap();
    let ended = dir
        .path()
        .join(format!(".driftless-seed-{}-Xy12", ended_creator()));
    std::fs::create_dir(&ended).unwrap();
    std::fs::write(ended.join("users.csv"), "1,a\n").unwrap();
    let users = dir.path().join("users.csv");
    std::fs::write(&users, "mine").unwrap();
    let clean = driftless(&["clean", dir.path().to_str().unwrap()]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(clean.stdout.contains("removed"), "{}", clean.stdout);
    assert!(!ended.exists() && users.exists());
    let again = driftless(&["clean", dir.path().to_str().unwrap()]);
    assert!(
        again.stdout.contains("nothing to clean"),
        "{}",
        again.stdout
    );
}
