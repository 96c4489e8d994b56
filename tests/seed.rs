//! `driftless seed` against real PostgreSQL and MariaDB: every constraint kind holds for
//! 10,000 rows, cycles and composite keys, files that load back with psql / mariadb,
//! byte-identical output for a seed, and refusals that leave the target empty.

mod util;

use std::path::{Path, PathBuf};

use sqlx::Connection;
use util::my::My;
use util::pg::Pg;
use util::runtime;
use util::{Run, driftless};

const PG_KITCHEN: &str = "tests/fixtures/postgres/seed_kitchen";
const MYSQL_KITCHEN: &str = "tests/fixtures/mysql/seed_kitchen";

/// The `*.up.sql` files of a folder, in order.
fn ups(dir: &str) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(util::repo().join(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

impl Pg {
    /// Creates `db` with the schema of the migrations in `dir`.
    fn database(&self, db: &str, dir: Option<&str>) -> String {
        self.exec("postgres", &format!("CREATE DATABASE {db}"));
        for up in dir.map(ups).unwrap_or_default() {
            self.exec(db, &up);
        }
        self.url(db)
    }

    fn count(&self, db: &str, sql: &str) -> i64 {
        let url = self.url(db);
        self.runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"))
        })
    }

    /// Runs a psql script from `dir` (where it finds its CSV files).
    fn psql_file(&self, db: &str, dir: &Path, file: &str) {
        let out = std::process::Command::new(self.bin_dir.join("psql"))
            .current_dir(dir)
            .args(["-q", "-v", "ON_ERROR_STOP=1", &self.url(db), "-f", file])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql -f {file} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn seed(args: &[&str]) -> Run {
    let mut all = vec!["seed"];
    all.extend_from_slice(args);
    driftless(&all)
}

/// Row counts per table from the summary on stderr (`  public.users: 1000 rows`).
fn summary_counts(stderr: &str) -> Vec<(String, i64)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (table, rest) = l.trim().split_once(": ")?;
            let n = rest.strip_suffix(" rows")?.parse().ok()?;
            Some((table.to_string(), n))
        })
        .collect()
}

#[test]
fn postgres_every_constraint_kind_holds_for_10k_rows() {
    let pg = Pg::start();
    let url = pg.database("app", Some(PG_KITCHEN));
    let run = seed(&["--url", &url, "--rows", "10000", "--seed", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let count = |sql: &str| pg.count("app", sql);
    for table in [
        "companies",
        "departments",
        "employees",
        "products",
        "orders",
        "order_lines",
        "events",
        "accounts",
    ] {
        assert_eq!(
            count(&format!("SELECT count(*) FROM {table}")),
            10_000,
            "{table}"
        );
    }
    // Cycles and self-references got their keys after the fact, with NULLs kept.
    let heads = count("SELECT count(head_id) FROM departments");
    assert!((7_500..10_000).contains(&heads), "{heads} heads");
    let managers = count("SELECT count(manager_id) FROM employees");
    assert!((7_500..10_000).contains(&managers), "{managers} managers");
    // Every row of the partitioned tables found a partition, and both partitions are used.
    for partition in [
        "events_2024",
        "events_2025",
        "accounts_europe",
        "accounts_us",
    ] {
        assert!(
            count(&format!("SELECT count(*) FROM {partition}")) > 1000,
            "{partition}"
        );
    }
    // A query per constraint (the server enforced them; these prove the data is not vacuous).
    let none = |sql: &str| assert_eq!(count(sql), 0, "{sql}");
    none("SELECT count(*) FROM employees WHERE age NOT BETWEEN 18 AND 70");
    none("SELECT count(*) FROM employees WHERE salary <= 1000 OR salary >= 250000");
    none("SELECT count(*) FROM employees WHERE sku NOT LIKE 'EMP-%' OR ref !~ '^R[0-9]'");
    none("SELECT count(*) FROM employees WHERE left_on <= hired_on");
    none("SELECT count(*) FROM employees WHERE length(badge) < 3 OR length(badge) > 8");
    none("SELECT count(*) FROM employees WHERE email NOT LIKE '%@example.%'");
    none("SELECT count(*) FROM orders WHERE ends_at <= starts_at");
    none("SELECT count(*) FROM order_lines WHERE qty NOT BETWEEN 1 AND 1000");
    none(
        "SELECT count(*) FROM (SELECT order_id, company_id, sku FROM order_lines GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    );
    assert_eq!(count("SELECT count(DISTINCT level) FROM employees"), 3);
    assert!(count("SELECT count(*) FROM employees WHERE left_on IS NOT NULL") > 5_000);
    assert!(
        count("SELECT count(*) FROM employees WHERE age IS NULL") > 500,
        "nullable columns get NULLs"
    );
    assert!(
        count("SELECT count(DISTINCT status) FROM orders") == 4,
        "every enum label is used"
    );
    assert!(
        count("SELECT count(*) FROM employees WHERE tags IS NOT NULL AND cardinality(tags) > 0")
            > 1000
    );
    assert_eq!(
        count("SELECT count(*) FROM companies WHERE iban IS NOT NULL AND iban !~ '^DE[0-9]{20}$'"),
        0
    );

    // A second run leaves tables that have rows alone.
    let again = seed(&["--url", &url, "--rows", "10"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("left alone (they already have rows)"),
        "{}",
        again.stderr
    );
    assert_eq!(count("SELECT count(*) FROM employees"), 10_000);
}

#[test]
fn postgres_file_outputs_load_back_with_psql() {
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    let run = seed(&[
        "--migrations",
        PG_KITCHEN,
        "--rows",
        "2000,order_lines=3000",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts = summary_counts(&run.stderr);
    assert_eq!(counts.len(), 8, "{}", run.stderr);
    pg.database("from_csv", Some(PG_KITCHEN));
    pg.psql_file("from_csv", &csv, "load.sql");
    for (table, n) in &counts {
        assert_eq!(
            pg.count("from_csv", &format!("SELECT count(*) FROM {table}")),
            *n,
            "{table}"
        );
    }
    // Keys written explicitly moved their sequences along: new rows do not collide.
    pg.exec(
        "from_csv",
        "INSERT INTO companies (name, country_code) VALUES ('New', 'DE')",
    );
    assert!(pg.count("from_csv", "SELECT count(manager_id) FROM employees") > 1000);

    let sql = dir.path().join("seed.sql");
    let run = seed(&[
        "--migrations",
        PG_KITCHEN,
        "--rows",
        "2000",
        "--out",
        sql.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    pg.database("from_sql", Some(PG_KITCHEN));
    pg.psql_file("from_sql", dir.path(), "seed.sql");
    for (table, n) in summary_counts(&run.stderr) {
        assert_eq!(
            pg.count("from_sql", &format!("SELECT count(*) FROM {table}")),
            n,
            "{table}"
        );
    }

    let jsonl = dir.path().join("jsonl");
    let run = seed(&[
        "--migrations",
        PG_KITCHEN,
        "--rows",
        "500",
        "--out",
        jsonl.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(jsonl.join("employees.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 500);
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(row["email"].as_str().unwrap().contains('@'));
        assert!(row["salary"].is_number());
    }
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str, seed_value: &str, engine: &str, fixture: &str| {
        let path = dir.path().join(name);
        let run = seed(&[
            "--engine",
            engine,
            "--migrations",
            fixture,
            "--rows",
            "3000",
            "--seed",
            seed_value,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        std::fs::read(&path).unwrap()
    };
    let a = out("a.sql", "7", "postgres", PG_KITCHEN);
    let b = out("b.sql", "7", "postgres", PG_KITCHEN);
    let c = out("c.sql", "8", "postgres", PG_KITCHEN);
    assert!(a.len() > 100_000);
    assert!(a == b, "same seed, same bytes");
    assert!(a != c, "another seed, other data");
    let m1 = out("m1.sql", "7", "mysql", MYSQL_KITCHEN);
    let m2 = out("m2.sql", "7", "mysql", MYSQL_KITCHEN);
    assert!(m1 == m2, "same seed, same bytes on MariaDB");
}

#[test]
fn an_unsatisfiable_constraint_exits_2_and_writes_nothing() {
    let pg = Pg::start();
    let url = pg.database("bad", None);
    pg.exec(
        "bad",
        "CREATE TABLE parents (id int PRIMARY KEY);
         CREATE TABLE t (id int PRIMARY KEY, parent int REFERENCES parents (id),
                         q int NOT NULL CHECK (q > 10 AND q < 5));",
    );
    let run = seed(&["--url", &url, "--rows", "100"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("public.t.q"), "{}", run.stderr);
    assert!(
        run.stderr.contains("q > 10") && run.stderr.contains("CHECK"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert_eq!(pg.count("bad", "SELECT count(*) FROM parents"), 0);
    assert_eq!(pg.count("bad", "SELECT count(*) FROM t"), 0);

    // Files: nothing is left half-written either.
    let migrations = util::migration_dir(&[
        (
            "1_t.up.sql",
            b"CREATE TABLE t (id int PRIMARY KEY, code char(1) UNIQUE);",
        ),
        ("1_t.down.sql", b"DROP TABLE t;"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("seed");
    let run = seed(&[
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--rows",
        "100",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("code must be unique and has room for only 36 values"),
        "{}",
        run.stderr
    );
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "no staging left"
    );
}

#[test]
fn explain_names_generators_reasons_and_personal_columns() {
    let run = seed(&["--migrations", PG_KITCHEN, "--explain"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    for expected in [
        "public.employees (1000 rows)",
        "email          email (column name); unique; looks personal",
        "left_on        after hired_on (CHECK (left_on IS NULL OR left_on > hired_on))",
        "manager_id     foreign key employees_manager_id_fkey → public.employees(id), set after every table has rows",
        "sku            text matching `EMP-…`",
        "parents combined with the table's other keys so that no combination repeats",
        "happened_at  timestamp values within the existing partitions",
        "full_name      left to the server",
        "Columns that look personal",
        "public.companies.iban",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
}

#[test]
fn overrides_choose_values_cardinalities_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("seed.toml");
    std::fs::write(
        &overrides,
        "[employees]\nrows = 300\n\n[employees.level]\nvalues = [\"junior\", \"senior\"]\nweights = [9, 1]\n\n\
         [employees.age]\nnull_ratio = 0\n\n[orders.employee_id]\nper_parent = \"1..4\"\nmean = 2\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = seed(&[
        "--migrations",
        PG_KITCHEN,
        "--rows",
        "100",
        "--overrides",
        overrides.to_str().unwrap(),
        "--format",
        "jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = |table: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.join(format!("{table}.jsonl")))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let employees = rows("employees");
    assert_eq!(employees.len(), 300);
    let juniors = employees.iter().filter(|e| e["level"] == "junior").count();
    assert!(
        (240..=295).contains(&juniors),
        "{juniors} juniors of 300 at 9:1"
    );
    assert!(
        employees
            .iter()
            .all(|e| e["level"] == "junior" || e["level"] == "senior")
    );
    assert!(employees.iter().all(|e| !e["age"].is_null()));
    let orders = rows("orders");
    assert!(
        (300..=1200).contains(&orders.len()),
        "{} orders",
        orders.len()
    );
    let mut per_employee = std::collections::BTreeMap::new();
    for o in &orders {
        *per_employee
            .entry(o["employee_id"].to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(per_employee.len(), 300, "every employee has 1..4 orders");
    assert!(per_employee.values().all(|n| (1..=4).contains(n)));

    // A mistake in the file is reported at its line.
    std::fs::write(
        &overrides,
        "[employees]\nrows = 3\n\n[employees.email]\ngenerator = \"emial\"\n",
    )
    .unwrap();
    let run = seed(&[
        "--migrations",
        PG_KITCHEN,
        "--overrides",
        overrides.to_str().unwrap(),
        "--explain",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("seed.toml:4"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown generator `emial`"),
        "{}",
        run.stderr
    );
}

#[test]
fn mariadb_every_constraint_kind_holds_for_10k_rows() {
    let my = My::start();
    let url = my.database("app", &ups(MYSQL_KITCHEN));
    let run = seed(&["--url", &url, "--rows", "10000", "--seed", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let count = |sql: &str| my.count("app", sql);
    for table in [
        "companies",
        "departments",
        "employees",
        "products",
        "orders",
        "order_lines",
        "events",
    ] {
        assert_eq!(
            count(&format!("SELECT count(*) FROM {table}")),
            10_000,
            "{table}"
        );
    }
    let heads = count("SELECT count(head_id) FROM departments");
    assert!((7_500..10_000).contains(&heads), "{heads} heads");
    assert!(count("SELECT count(manager_id) FROM employees") > 7_500);
    assert!(count("SELECT count(*) FROM events PARTITION (p2024)") > 1000);
    assert!(count("SELECT count(*) FROM events PARTITION (p2025)") > 1000);
    let none = |sql: &str| assert_eq!(count(sql), 0, "{sql}");
    none("SELECT count(*) FROM employees WHERE age NOT BETWEEN 18 AND 70");
    none("SELECT count(*) FROM employees WHERE sku NOT LIKE 'EMP-%'");
    none("SELECT count(*) FROM employees WHERE left_on <= hired_on");
    none("SELECT count(*) FROM orders WHERE ends_at <= starts_at");
    none(
        "SELECT count(*) FROM products WHERE attributes IS NOT NULL AND NOT JSON_VALID(attributes)",
    );
    assert!(
        count("SELECT count(*) FROM employees WHERE skills LIKE '%,%'") > 100,
        "SET columns get several labels"
    );
    assert!(count("SELECT count(*) FROM employees WHERE flags IS NOT NULL") > 5_000);
    assert_eq!(count("SELECT count(DISTINCT level) FROM employees"), 3);
}

#[test]
fn mariadb_file_outputs_load_back_with_the_client() {
    let my = My::start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    let run = seed(&[
        "--engine",
        "mysql",
        "--migrations",
        MYSQL_KITCHEN,
        "--rows",
        "2000",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts = summary_counts(&run.stderr);
    assert_eq!(counts.len(), 7, "{}", run.stderr);
    my.database("from_csv", &ups(MYSQL_KITCHEN));
    my.client_file("from_csv", &csv, "load.sql");
    for (table, n) in &counts {
        let plain = table.rsplit('.').next().unwrap();
        assert_eq!(
            my.count("from_csv", &format!("SELECT count(*) FROM {plain}")),
            *n,
            "{table}"
        );
    }

    let sql = dir.path().join("seed.sql");
    let run = seed(&[
        "--engine",
        "mysql",
        "--migrations",
        MYSQL_KITCHEN,
        "--rows",
        "2000",
        "--out",
        sql.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    my.database("from_sql", &ups(MYSQL_KITCHEN));
    my.client_file("from_sql", dir.path(), "seed.sql");
    for (table, n) in summary_counts(&run.stderr) {
        let plain = table.rsplit('.').next().unwrap().to_string();
        assert_eq!(
            my.count("from_sql", &format!("SELECT count(*) FROM {plain}")),
            n,
            "{table}"
        );
    }
    // The disposable server's own load path (LOAD DATA from a pipe) with --keep is covered by
    // the demo; here the remote path (INSERTs) loaded everything above.
    assert!(
        my.count(
            "from_sql",
            "SELECT count(*) FROM employees WHERE manager_id IS NOT NULL"
        ) > 1000
    );
}

#[test]
fn mariadb_keep_loads_the_disposable_server_through_a_pipe() {
    let tmp = util::sandbox_dir();
    let out = util::command(tmp.path())
        .args([
            "seed",
            "--engine",
            "mysql",
            "--migrations",
            MYSQL_KITCHEN,
            "--rows",
            "5000",
            "--keep",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let url = util::url_in(&stderr, "mysql").to_string();
    let stop = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("stop it with: "))
        .expect("how to stop it")
        .to_string();
    let counts = runtime().block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        let mut counts = Vec::new();
        for table in ["employees", "order_lines", "events"] {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            counts.push(n);
        }
        counts
    });
    let stopped = std::process::Command::new("sh")
        .args(["-c", &stop])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert_eq!(counts, vec![5000, 5000, 5000]);
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn a_row_the_server_refuses_rolls_back_its_table_or_everything_with_atomic() {
    let pg = Pg::start();
    // `n % 7 = 3` is beyond what the seeder reads from CHECKs: the server refuses most rows.
    let schema = "CREATE TABLE a (id int PRIMARY KEY);
                  CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));
                  CREATE TABLE c (id int PRIMARY KEY, b_id int REFERENCES b (id), n int NOT NULL CHECK (n % 7 = 3));";
    let per_table = pg.database("per_table", None);
    pg.exec("per_table", schema);
    let run = seed(&["--url", &per_table, "--rows", "500"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot load rows into public.c: the server refused a row"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("c_n_check"),
        "names the constraint: {}",
        run.stderr
    );
    assert_eq!(
        pg.count("per_table", "SELECT count(*) FROM a"),
        500,
        "earlier tables stay committed"
    );
    assert_eq!(pg.count("per_table", "SELECT count(*) FROM b"), 500);
    assert_eq!(
        pg.count("per_table", "SELECT count(*) FROM c"),
        0,
        "the failing table is rolled back"
    );

    let atomic = pg.database("atomic", None);
    pg.exec("atomic", schema);
    let run = seed(&["--url", &atomic, "--rows", "500", "--atomic"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for table in ["a", "b", "c"] {
        assert_eq!(
            pg.count("atomic", &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

#[test]
fn mariadb_unsatisfiable_constraint_exits_2_with_an_empty_target() {
    let my = My::start();
    let url = my.database("bad", &[]);
    my.exec(
        "bad",
        "CREATE TABLE parents (id INT PRIMARY KEY);
         CREATE TABLE t (id INT PRIMARY KEY, level ENUM('a', 'b') NOT NULL UNIQUE);",
    );
    let run = seed(&["--url", &url, "--rows", "10"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("level must be unique and has room for only 2 values"),
        "{}",
        run.stderr
    );
    assert_eq!(my.count("bad", "SELECT count(*) FROM parents"), 0);
    assert_eq!(my.count("bad", "SELECT count(*) FROM t"), 0);
}

#[test]
fn interrupting_a_large_seed_leaves_no_server_and_no_files() {
    use std::time::Duration;
    let tmp = util::sandbox_dir();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("big");
    let mut child = util::spawn(
        tmp.path(),
        &[
            "seed",
            "--migrations",
            PG_KITCHEN,
            "--rows",
            "20000000",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    // Wait until rows are being written (the staging dir exists), then interrupt.
    assert!(util::wait_for(Duration::from_secs(30), || {
        std::fs::read_dir(out.path()).unwrap().count() > 0
    }));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "staging removed"
    );
    util::assert_no_leftovers(tmp.path());
}
