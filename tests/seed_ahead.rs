//! Seeding ahead of a history, on real PostgreSQL and MariaDB through the binary: rows seeded
//! before a migration already satisfy what later migrations demand (unique indexes, casts,
//! foreign keys, NOT NULL, CHECKs, through renames), self-references form trees, and cycles of
//! foreign keys through a nullable or DEFERRABLE column are seeded. Each history runs at
//! default settings to its last migration with its data checks: the seeded rows reach the
//! planted data loss, and nothing else is found. The fixtures do reproduce the patterns: rows
//! seeded without looking ahead make their later ups fail.

mod util;

use std::path::Path;

use serde_json::Value;
use sqlx::Connection;
use util::my::My;
use util::pg::Pg;
use util::{check_json, driftless, findings, kinds, migration_dir, statuses};

fn history(engine: &str, name: &str) -> String {
    match engine {
        "mysql" => format!("tests/fixtures/mysql/{name}"),
        _ => format!("tests/fixtures/histories/{name}"),
    }
}

/// `check` of a history at default settings (no checks folder).
fn check(engine: &str, name: &str) -> Value {
    let run = check_json(&[
        "--engine",
        engine,
        "--migrations",
        &history(engine, name),
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    assert!(
        run.code <= 1,
        "{engine} {name}: {}{}",
        run.stdout,
        run.stderr
    );
    run.json()
}

/// Every migration ran, up to the last one, without an error or a conflict with the seed,
/// and `rows` rows were seeded before the second one (the tables the first creates).
fn ran_to_the_end(report: &Value, rows: u64) {
    let statuses = statuses(report);
    assert!(
        statuses.iter().all(|s| s == "ok" || s == "finding"),
        "{statuses:?}: {report}"
    );
    for kind in ["migration_error", "seed_conflict"] {
        assert!(findings(report, kind).is_empty(), "{kind}: {report}");
    }
    assert_eq!(report["migrations"][1]["rows_seeded"], rows, "{report}");
}

/// The data loss planted in the last migration was found in seeded rows, and nothing else:
/// the seeded values go through every up and down as real data would (text cast to jsonb
/// and back reads the same).
fn found_only_the_planted_loss(report: &Value, object: &str) {
    let last = report["migrations"].as_array().unwrap().len() - 1;
    let loss = findings(report, "data_loss");
    let planted = loss
        .iter()
        .find(|f| f["object"] == object)
        .unwrap_or_else(|| panic!("no data_loss on {object}: {report}"));
    assert_eq!(planted["migration"], report["migrations"][last]["version"]);
    assert!(planted["details"]["values_changed"].as_i64().unwrap() > 0);
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["object"], object, "an unplanted finding: {f}");
    }
    assert_eq!(kinds(report), ["data_loss", "destructive_change"]);
}

fn schema(engine: &str) -> &'static str {
    if engine == "mysql" {
        "driftless"
    } else {
        "public"
    }
}

#[test]
fn unique_keys_that_come_later_get_distinct_values() {
    // A partial expression index, NOT NULL and a composite key on PostgreSQL; a prefix key
    // (`name(20)`), MODIFY … NOT NULL and a composite key on MariaDB.
    for engine in ["postgres", "mysql"] {
        let report = check(engine, "ahead_unique");
        ran_to_the_end(&report, 200);
        found_only_the_planted_loss(&report, &format!("{}.tags.note", schema(engine)));
    }
}

#[test]
fn text_cast_later_holds_values_of_the_later_type() {
    // jsonb, integer, uuid, timestamptz, boolean and numeric through USING casts on
    // PostgreSQL; JSON, INT, UUID, DATETIME, BOOLEAN and DECIMAL through MODIFY on MariaDB.
    // The downs cast back to text: no value changes on the way.
    for engine in ["postgres", "mysql"] {
        let report = check(engine, "ahead_casts");
        ran_to_the_end(&report, 200);
        found_only_the_planted_loss(&report, &format!("{}.events.note", schema(engine)));
    }
}

#[test]
fn foreign_keys_not_null_and_checks_that_come_later_hold_through_renames() {
    // The tables and the key column are renamed between seeding and the constraints.
    for engine in ["postgres", "mysql"] {
        let report = check(engine, "ahead_keys");
        ran_to_the_end(&report, 400);
        found_only_the_planted_loss(&report, &format!("{}.orders.note", schema(engine)));
    }
}

#[test]
fn a_linters_safe_forms_of_constraints_pass_on_seeded_rows() {
    // squawk's fixes for a populated table: a foreign key added NOT VALID and validated in
    // the same migration, a CHECK added NOT VALID and validated by a later one, a unique
    // index over two nullable columns built CONCURRENTLY and promoted to the PRIMARY KEY (its
    // columns become NOT NULL: seeded without that demand, NULLs make it a seed_conflict) by
    // a later migration, and one promoted to a UNIQUE constraint in its own.
    let report = check("postgres", "ahead_squawk_fixes");
    ran_to_the_end(&report, 800);
    found_only_the_planted_loss(&report, "public.emails.note");
}

#[test]
fn self_references_form_trees_that_recursive_queries_walk_to_their_roots() {
    // A later up walks every thread from its root and sets NOT NULL on the result: a comment
    // in a cycle would be left out. The NOT NULL self-reference (categories) is seeded too:
    // 200 comments and 200 categories.
    for engine in ["postgres", "mysql"] {
        let report = check(engine, "ahead_tree");
        ran_to_the_end(&report, 400);
        found_only_the_planted_loss(&report, &format!("{}.comments.note", schema(engine)));
    }
}

#[test]
fn cycles_through_nullable_or_deferrable_keys_are_seeded() {
    // tenants(id, owner_id) → users(tenant_id, id) → tenants(id), on both engines; on
    // PostgreSQL also teams.lead_id NOT NULL DEFERRABLE → members → teams.
    for (engine, rows) in [("postgres", 800), ("mysql", 400)] {
        let report = check(engine, "ahead_cycle");
        ran_to_the_end(&report, rows);
        found_only_the_planted_loss(&report, &format!("{}.users.note", schema(engine)));
    }
}

#[test]
fn not_null_over_rows_that_cannot_have_a_value_is_still_an_error() {
    // 002 sets NOT NULL on a column that existed when rows were seeded: the seed leaves no
    // NULL there, as the application did. 004 sets NOT NULL on a column 003 added without a
    // default, so every row that existed holds NULL, and 005 adds a NOT NULL column without a
    // default: both fail on any table with rows, production's too, and stay errors (MariaDB
    // fills a NOT NULL column added without a default with '' by itself: no 005 there).
    for (engine, failing) in [
        ("postgres", vec![("004", "23502"), ("005", "23502")]),
        ("mysql", vec![("004", "1265")]),
    ] {
        let report = check(engine, "ahead_not_null");
        let statuses = statuses(&report);
        assert!(statuses.iter().all(|s| s != "skipped"), "{statuses:?}");
        assert_eq!(report["migrations"][1]["status"], "ok", "{report}");
        assert_eq!(report["migrations"][1]["rows_seeded"], 200);
        assert!(findings(&report, "seed_conflict").is_empty(), "{report}");
        let errors: Vec<(&str, &str)> = findings(&report, "migration_error")
            .iter()
            .map(|f| {
                assert_eq!(f["severity"], "error");
                (
                    f["migration"].as_str().unwrap(),
                    f["details"]["code"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(errors, failing, "{engine}: {report}");
        assert_eq!(kinds(&report), ["migration_error"], "{report}");
    }
}

fn count(pg: &Pg, db: &str, sql: &str) -> i64 {
    let url = pg.url(db);
    pg.runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
    })
}

/// The up files of `dir`, in order.
fn ups(dir: &str) -> Vec<std::path::PathBuf> {
    let mut ups: Vec<_> = std::fs::read_dir(util::repo().join(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    ups.sort();
    ups
}

/// A database `db` with the schema the first up in `dir` creates.
fn database(pg: &Pg, db: &str, dir: &str) {
    database_after(pg, db, dir, 1);
}

/// A database `db` with the schema the first `count` ups in `dir` create.
fn database_after(pg: &Pg, db: &str, dir: &str, count: usize) {
    pg.exec("postgres", &format!("CREATE DATABASE {db}"));
    for up in ups(dir).iter().take(count) {
        pg.exec(db, &std::fs::read_to_string(up).unwrap());
    }
}

fn psql_file(pg: &Pg, db: &str, file: &Path) {
    let out = std::process::Command::new(pg.bin_dir.join("psql"))
        .args(["-q", "-v", "ON_ERROR_STOP=1", &pg.url(db), "-f"])
        .arg(file)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql -f failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `seed` left in the tenants/users and teams/members cycles of `db`: the server checked
/// every key; these prove the keys are set, and set right.
fn assert_cycles_filled(pg: &Pg, db: &str, rows: i64) {
    let count = |sql: &str| count(pg, db, sql);
    for table in ["tenants", "users", "teams", "members"] {
        assert_eq!(
            count(&format!("SELECT count(*) FROM {table}")),
            rows,
            "{table}"
        );
    }
    let owners = count("SELECT count(owner_id) FROM tenants");
    assert!(owners > rows / 3, "{owners} tenants have an owner");
    // An owner is a user of the tenant it owns.
    assert_eq!(
        count(
            "SELECT count(*) FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.id = t.owner_id"
        ),
        owners
    );
    assert_eq!(
        count("SELECT count(*) FROM teams t JOIN members m ON m.id = t.lead_id"),
        rows
    );
}

#[test]
fn seed_fills_composite_and_deferrable_cycles_into_a_database_and_into_files() {
    let pg = Pg::start();
    let dir = history("postgres", "ahead_cycle");
    database(&pg, "live", &dir);
    let run = driftless(&["seed", "--url", &pg.url("live"), "--rows", "300"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_cycles_filled(&pg, "live", 300);

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("seed.sql");
    let file_arg = file.to_string_lossy().into_owned();
    let run = driftless(&[
        "seed",
        "--migrations",
        &dir,
        "--out",
        &file_arg,
        "--rows",
        "300",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let script = std::fs::read_to_string(&file).unwrap();
    assert!(script.contains("SET CONSTRAINTS ALL DEFERRED;"));
    database(&pg, "files", &dir);
    psql_file(&pg, "files", &file);
    assert_cycles_filled(&pg, "files", 300);
}

#[test]
fn seed_writes_trees_whose_every_chain_reaches_a_root() {
    let pg = Pg::start();
    let dir = history("postgres", "ahead_tree");
    database(&pg, "trees", &dir);
    let run = driftless(&["seed", "--url", &pg.url("trees"), "--rows", "5000"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let count = |sql: &str| count(&pg, "trees", sql);
    let reachable = count(
        "WITH RECURSIVE down AS (SELECT id FROM comments WHERE parent_id IS NULL \
         UNION ALL SELECT c.id FROM comments c JOIN down d ON c.parent_id = d.id) \
         SELECT count(*) FROM down",
    );
    assert_eq!(reachable, 5000, "every comment hangs from a root");
    assert!(count("SELECT count(parent_id) FROM comments") > 3000);
    // NOT NULL: roots point at themselves, one per chunk of rows, the rest at earlier rows.
    let roots = count("SELECT count(*) FROM categories WHERE parent_id = id");
    assert!((1..=2).contains(&roots), "{roots} roots");
    let below = count(
        "WITH RECURSIVE down AS (SELECT id FROM categories WHERE parent_id = id \
         UNION ALL SELECT c.id FROM categories c JOIN down d ON c.parent_id = d.id AND c.id <> c.parent_id) \
         SELECT count(*) FROM down",
    );
    assert_eq!(below, 5000);
}

/// The error `seed` gives for the cycle the folder's one up creates.
fn seed_refusal(up: &[u8]) -> String {
    let dir = migration_dir(&[("001_cycle.up.sql", up), ("001_cycle.down.sql", b"")]);
    let run = driftless(&[
        "seed",
        "--migrations",
        dir.path().to_str().unwrap(),
        "--out",
        "-",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr
}

#[test]
fn an_unseedable_cycle_names_the_not_null_columns_that_close_it() {
    let message = seed_refusal(
        b"CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL, note text);
          CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL);
          CREATE TABLE c (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a (id));
          ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b (id);
          ALTER TABLE b ADD FOREIGN KEY (a_id) REFERENCES a (id);",
    );
    assert!(
        message.contains("public.a.b_id → public.b (NOT NULL, and the key is not DEFERRABLE)")
            && message.contains("public.b.a_id → public.a (NOT NULL"),
        "{message}"
    );
    assert!(
        !message.contains("public.c"),
        "c only points into the cycle: {message}"
    );

    // The composite cycle of `ahead_cycle` with a NOT NULL owner and no DEFERRABLE: the
    // owner is what closes it; the users' tenant is part of their primary key.
    let message = seed_refusal(
        b"CREATE TABLE tenants (id int PRIMARY KEY, owner_id int NOT NULL);
          CREATE TABLE users (tenant_id int NOT NULL REFERENCES tenants (id), id int NOT NULL,
                              PRIMARY KEY (tenant_id, id));
          ALTER TABLE tenants ADD FOREIGN KEY (id, owner_id) REFERENCES users (tenant_id, id);",
    );
    assert!(
        message.contains(
            "public.tenants.owner_id → public.users (NOT NULL, and the key is not DEFERRABLE)"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "public.users.tenant_id → public.tenants (each also in the primary key or in \
             another foreign key)"
        ),
        "{message}"
    );
    assert!(!message.contains("public.tenants.id"), "{message}");
}

/// Applies the ups of `dir` after the first to `db` with psql; the SQLSTATE of the first
/// failure (`Ok` when all ran).
fn later_ups(pg: &Pg, db: &str, dir: &str) -> Result<(), String> {
    for up in ups(dir).iter().skip(1) {
        let out = std::process::Command::new(pg.bin_dir.join("psql"))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"])
            .arg(pg.url(db))
            .arg("-f")
            .arg(up)
            .output()
            .expect("psql runs");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let code = stderr
                .split("ERROR:  ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .unwrap_or(&stderr);
            return Err(code.to_string());
        }
    }
    Ok(())
}

#[test]
fn without_looking_ahead_the_same_rows_break_the_later_ups() {
    // The fixtures reproduce the patterns: `seed --url` without migrations knows nothing of
    // what comes later, and the ups after the first fail on its rows; seeded ahead (as
    // `seed --migrations` and `check` do) they run.
    let pg = Pg::start();
    for (name, code) in [
        ("ahead_unique", "23505"),
        ("ahead_casts", "22P02"),
        ("ahead_keys", "23503"),
        ("ahead_squawk_fixes", "23503"),
    ] {
        let dir = history("postgres", name);
        let db = name.replace("ahead_", "blind_");
        database(&pg, &db, &dir);
        let run = driftless(&["seed", "--url", &pg.url(&db), "--rows", "200"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(later_ups(&pg, &db, &dir), Err(code.to_string()), "{name}");
    }
}

#[test]
fn seed_keeps_unique_indexes_over_expressions_and_with_a_where() {
    // lower(name) and (tenant_id, slug) WHERE deleted_at IS NULL are no unique keys of the
    // table in the schema model: `seed` reads them from the index definitions. A repeated
    // value would fail the COPY.
    let pg = Pg::start();
    let dir = history("postgres", "ahead_unique");
    database_after(&pg, "tags", &dir, usize::MAX);
    let run = driftless(&["seed", "--url", &pg.url("tags"), "--rows", "3000"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        count(&pg, "tags", "SELECT count(DISTINCT lower(name)) FROM tags"),
        3000
    );
}

#[test]
fn seed_fills_the_composite_cycle_and_trees_on_mariadb() {
    let my = My::start();
    let first_up = |name: &str| std::fs::read_to_string(&ups(&history("mysql", name))[0]).unwrap();
    let url = my.database("cycle", &[first_up("ahead_cycle")]);
    let run = driftless(&["seed", "--url", &url, "--rows", "300"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let count = |db: &str, sql: &str| my.count(db, sql);
    assert_eq!(count("cycle", "SELECT count(*) FROM users"), 300);
    let owners = count("cycle", "SELECT count(owner_id) FROM tenants");
    assert!(owners > 100, "{owners} tenants have an owner");
    assert_eq!(
        count(
            "cycle",
            "SELECT count(*) FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.id = t.owner_id"
        ),
        owners,
        "an owner is a user of the tenant it owns"
    );

    let url = my.database("trees", &[first_up("ahead_tree")]);
    let run = driftless(&["seed", "--url", &url, "--rows", "5000"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reachable = count(
        "trees",
        "WITH RECURSIVE down AS (SELECT id FROM comments WHERE parent_id IS NULL \
         UNION ALL SELECT c.id FROM comments c JOIN down d ON c.parent_id = d.id) \
         SELECT count(*) FROM down",
    );
    assert_eq!(reachable, 5000, "every comment hangs from a root");
    assert!(count("trees", "SELECT count(parent_id) FROM comments") > 3000);
    let below = count(
        "trees",
        "WITH RECURSIVE down AS (SELECT id FROM categories WHERE parent_id = id \
         UNION ALL SELECT c.id FROM categories c JOIN down d ON c.parent_id = d.id AND c.id <> c.parent_id) \
         SELECT count(*) FROM down",
    );
    assert_eq!(below, 5000, "every category hangs from a top-level one");
}
