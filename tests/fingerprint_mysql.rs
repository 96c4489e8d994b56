//! MariaDB data fingerprints on a real server, through the engine API: byte-exact per column
//! (not collation-equal), a value moved to another row counts on keyed tables, equal values in
//! several rows all count without a key, and the capture path (kept for drill-downs) gives
//! exactly what the direct scan gives, since fingerprints from both are compared; a scan shared
//! out over several connections by key ranges gives what one scan gives.

mod util;

use std::collections::BTreeSet;

use driftless::data::{DataFingerprint, TableFingerprint};
use driftless::engine::mysql::MySql;
use driftless::engine::{Engine, StartOptions};

struct Db {
    engine: Option<MySql>,
    runtime: tokio::runtime::Runtime,
}

impl Db {
    fn start(setup: &str) -> Db {
        let runtime = util::runtime();
        let engine = runtime
            .block_on(MySql::start(&StartOptions::default()))
            .expect("MariaDB sandbox (run `make setup`)");
        let mut db = Db {
            engine: Some(engine),
            runtime,
        };
        db.exec(setup);
        db
    }

    fn exec(&mut self, sql: &str) {
        let engine = self.engine.as_mut().unwrap();
        self.runtime
            .block_on(
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(engine.observer()),
            )
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    fn fingerprint(&mut self, capture: bool) -> DataFingerprint {
        let engine = self.engine.as_mut().unwrap();
        self.runtime.block_on(async {
            let schema = engine.schema().await.unwrap();
            engine.fingerprint(&schema, capture).await.unwrap()
        })
    }

    /// The direct scan as a baseline takes it: every column counted.
    fn counted(&mut self) -> DataFingerprint {
        let engine = self.engine.as_mut().unwrap();
        self.runtime.block_on(async {
            let schema = engine.schema().await.unwrap();
            engine.fingerprint_before(&schema, false).await.unwrap()
        })
    }

    /// The columns of `table` whose fingerprint `sql` changes; `undo` must restore every value
    /// (the fingerprint is then checked to be what it was).
    fn changed_by(&mut self, table: &str, sql: &str, undo: &str) -> BTreeSet<String> {
        let before = self.fingerprint(false);
        self.exec(sql);
        let after = self.fingerprint(false);
        self.exec(undo);
        assert_eq!(self.fingerprint(false), before, "undo of {sql}");
        let (b, a) = (table_of(&before, table), table_of(&after, table));
        b.columns
            .iter()
            .filter(|(c, f)| a.columns.get(*c) != Some(*f))
            .map(|(c, _)| c.clone())
            .collect()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            let _ = self.runtime.block_on(Box::new(engine).teardown(false));
        }
    }
}

fn table_of<'a>(fp: &'a DataFingerprint, table: &str) -> &'a TableFingerprint {
    fp.tables
        .get(&format!("driftless.{table}"))
        .unwrap_or_else(|| panic!("{table} in {:?}", fp.tables.keys()))
}

fn set(columns: &[&str]) -> BTreeSet<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

/// A keyed table with an integer key, one with a two-column key, one without a key; NULLs,
/// NOT NULL columns, every kind of value the fingerprint converts.
const TABLES: &str = "
    CREATE TABLE k (id BIGINT PRIMARY KEY, txt VARCHAR(40), nn VARCHAR(40) NOT NULL,
                    amount DECIMAL(12,2), at DATETIME(6), doc JSON, raw BLOB, n INT)
        DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
    INSERT INTO k VALUES
        (1, 'alice', 'a', 1.50, '2024-01-01 10:00:00.5', '{\"a\": 1}', X'00FF', 7),
        (2, 'bobby', 'b', NULL, NULL, NULL, NULL, NULL),
        (3, 'café', 'c ', 2.00, '2024-01-02', '[1, 2]', X'', -3),
        (4, NULL, 'd', 0.00, '1999-12-31 23:59:59', '\"x\"', X'41', 0),
        (4294967301, 'far', 'e', 9.99, '2030-01-01', 'null', X'42', 1);
    CREATE TABLE ck (a INT, b VARCHAR(10), v VARCHAR(40), w INT NOT NULL, PRIMARY KEY (a, b))
        DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
    INSERT INTO ck VALUES (1, 'x', 'alice', 1), (1, 'y', 'bobby', 2), (2, 'x', 'café', 3),
                          (2, 'y', NULL, 4);
    CREATE TABLE nk (v VARCHAR(40), w INT) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
    INSERT INTO nk VALUES ('same', 1), ('same', 1), ('same', 2), ('café', NULL), (NULL, NULL);
";

#[test]
fn capture_and_direct_scan_give_the_same_fingerprint() {
    let mut db = Db::start(TABLES);
    let direct = db.counted();
    let captured = db.fingerprint(true);
    assert_eq!(direct, captured);
    assert_eq!(db.counted(), direct, "a capture changes nothing");
    let k = table_of(&direct, "k");
    assert_eq!(k.rows, 5);
    assert_eq!(k.columns["id"].non_null, Some(5));
    assert_eq!(k.columns["nn"].non_null, Some(5), "NOT NULL: every row");
    assert_eq!(k.columns["txt"].non_null, Some(4));
    assert_eq!(k.columns["amount"].non_null, Some(4));
    assert_eq!(table_of(&direct, "nk").columns["w"].non_null, Some(3));
    assert!(table_of(&direct, "nk").row_sum.is_some() && k.row_sum.is_none());
    // A fingerprint only compared leaves nullable columns uncounted, with the same sums.
    let compared = db.fingerprint(false);
    let c = table_of(&compared, "k");
    assert_eq!(c.columns["txt"].non_null, None);
    assert_eq!(
        c.columns["nn"].non_null,
        Some(5),
        "NOT NULL: the row count, free"
    );
    for (name, t) in &compared.tables {
        assert!(
            driftless::data::same_columns(&t.columns, &direct.tables[name].columns),
            "{name}"
        );
    }
    // A changed value: both paths see the same new fingerprint, again.
    db.exec("UPDATE k SET txt = 'Alice' WHERE id = 1; UPDATE nk SET w = 5 WHERE w = 2");
    assert_eq!(db.counted(), db.fingerprint(true));
}

#[test]
fn changes_are_byte_exact_not_collation_equal() {
    let mut db = Db::start(TABLES);
    let cases = [
        (
            "k",
            "UPDATE k SET txt = 'Alice' WHERE id = 1",
            "UPDATE k SET txt = 'alice' WHERE id = 1",
            "txt",
        ),
        (
            "k",
            "UPDATE k SET txt = 'cafe' WHERE id = 3",
            "UPDATE k SET txt = 'café' WHERE id = 3",
            "txt",
        ),
        (
            "k",
            "UPDATE k SET txt = 'caf?' WHERE id = 3",
            "UPDATE k SET txt = 'café' WHERE id = 3",
            "txt",
        ),
        (
            "k",
            "UPDATE k SET nn = 'c' WHERE id = 3",
            "UPDATE k SET nn = 'c ' WHERE id = 3",
            "nn",
        ),
        (
            "k",
            "UPDATE k SET amount = 1.5 WHERE id = 4",
            "UPDATE k SET amount = 0.00 WHERE id = 4",
            "amount",
        ),
        (
            "k",
            "UPDATE k SET at = '2024-01-01 10:00:00' WHERE id = 1",
            "UPDATE k SET at = '2024-01-01 10:00:00.5' WHERE id = 1",
            "at",
        ),
        (
            "k",
            "UPDATE k SET raw = X'00FE' WHERE id = 1",
            "UPDATE k SET raw = X'00FF' WHERE id = 1",
            "raw",
        ),
        (
            "k",
            "UPDATE k SET txt = NULL WHERE id = 4294967301",
            "UPDATE k SET txt = 'far' WHERE id = 4294967301",
            "txt",
        ),
        (
            "k",
            "UPDATE k SET id = 6 WHERE id = 3",
            "UPDATE k SET id = 3 WHERE id = 6",
            "",
        ),
        (
            "ck",
            "UPDATE ck SET v = 'ALICE' WHERE a = 1 AND b = 'x'",
            "UPDATE ck SET v = 'alice' WHERE a = 1 AND b = 'x'",
            "v",
        ),
        (
            "nk",
            "UPDATE nk SET v = 'cafe' WHERE w IS NULL AND v IS NOT NULL",
            "UPDATE nk SET v = 'café' WHERE w IS NULL AND v IS NOT NULL",
            "v",
        ),
        (
            "nk",
            "UPDATE nk SET v = 'Same' WHERE w = 2",
            "UPDATE nk SET v = 'same' WHERE w = 2",
            "v",
        ),
    ];
    for (table, change, undo, column) in cases {
        let changed = db.changed_by(table, change, undo);
        if column.is_empty() {
            // A row under another key: every column of the row moved.
            assert!(
                changed.contains("id") && changed.contains("txt"),
                "{change}: {changed:?}"
            );
        } else {
            assert_eq!(changed, set(&[column]), "{change}");
        }
    }
}

#[test]
fn values_moved_between_rows_and_pairs_changed_alike_count() {
    let mut db = Db::start(TABLES);
    // Equal-length values swapped between two rows: same multiset, other rows.
    let swap = "UPDATE k SET txt = CASE id WHEN 1 THEN 'bobby' ELSE 'alice' END WHERE id IN (1, 2)";
    let back = "UPDATE k SET txt = CASE id WHEN 1 THEN 'alice' ELSE 'bobby' END WHERE id IN (1, 2)";
    assert_eq!(db.changed_by("k", swap, back), set(&["txt"]));
    // With a key past 2^32, too.
    let far =
        "UPDATE k SET n = CASE id WHEN 4294967301 THEN 7 ELSE 1 END WHERE id IN (1, 4294967301)";
    let near =
        "UPDATE k SET n = CASE id WHEN 4294967301 THEN 1 ELSE 7 END WHERE id IN (1, 4294967301)";
    assert_eq!(db.changed_by("k", far, near), set(&["n"]));
    let swap = "UPDATE ck SET v = CASE b WHEN 'x' THEN 'bobby' ELSE 'alice' END WHERE a = 1";
    let back = "UPDATE ck SET v = CASE b WHEN 'x' THEN 'alice' ELSE 'bobby' END WHERE a = 1";
    assert_eq!(db.changed_by("ck", swap, back), set(&["v"]));
    // Two rows changed the same way at the same place: a linear hash would cancel them out.
    let upper =
        "UPDATE k SET txt = CONCAT(UPPER(LEFT(txt, 1)), SUBSTRING(txt, 2)) WHERE id IN (1, 2)";
    let lower = "UPDATE k SET txt = LOWER(txt) WHERE id IN (1, 2)";
    assert_eq!(db.changed_by("k", upper, lower), set(&["txt"]));
    // Without a key, each of several equal values counts.
    let one = "UPDATE nk SET v = 'other' WHERE w = 1 LIMIT 1";
    let again = "UPDATE nk SET v = 'same' WHERE v = 'other'";
    assert_eq!(db.changed_by("nk", one, again), set(&["v"]));
    let both = "UPDATE nk SET v = 'other' WHERE w = 1";
    assert_eq!(db.changed_by("nk", both, again), set(&["v"]));
    let before = db.fingerprint(false);
    db.exec("DELETE FROM nk WHERE w = 1 LIMIT 1");
    let after = db.fingerprint(false);
    assert_eq!(table_of(&after, "nk").rows, 4);
    assert_ne!(
        table_of(&before, "nk").row_sum,
        table_of(&after, "nk").row_sum
    );
}

/// A table whose integer keys span far more than a split needs, in sparse and dense stretches
/// (parts of unequal size, one empty), and a small one scanned whole beside it.
const SPREAD: &str = "
    CREATE TABLE big (id BIGINT PRIMARY KEY, txt VARCHAR(40), n INT NOT NULL, d DECIMAL(8,2))
        DEFAULT CHARSET=utf8mb4;
    INSERT INTO big
        SELECT seq * 1000, CONCAT('v', seq), seq % 7, IF(seq % 5 = 0, NULL, seq / 3)
        FROM seq_1_to_400;
    INSERT INTO big SELECT 900000 + seq, CONCAT('w', seq), seq, NULL FROM seq_1_to_300;
    CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(10));
    INSERT INTO small VALUES (1, 'a'), (2, 'b');
";

#[test]
fn a_scan_split_over_connections_gives_the_one_scan_fingerprint() {
    let mut db = Db::start(SPREAD);
    let by = |db: &mut Db, connections: usize, counted: bool| {
        db.engine
            .as_mut()
            .unwrap()
            .set_scan_connections(connections);
        if counted {
            db.counted()
        } else {
            db.fingerprint(false)
        }
    };
    let one = by(&mut db, 1, true);
    assert_eq!(table_of(&one, "big").rows, 700);
    assert_eq!(table_of(&one, "big").columns["d"].non_null, Some(320));
    for connections in [2, 3, 4] {
        assert_eq!(
            by(&mut db, connections, true),
            one,
            "{connections} connections"
        );
    }
    let uncounted = by(&mut db, 1, false);
    assert_eq!(by(&mut db, 3, false), uncounted);
    // The capture (one session, kept for drill-downs) agrees with the split scan.
    assert_eq!(db.fingerprint(true), by(&mut db, 3, true));
    // Values swapped between rows in different parts, and a change in the last part only,
    // still show, each in its own column.
    db.engine.as_mut().unwrap().set_scan_connections(2);
    let swap = "UPDATE big SET txt = CASE id WHEN 1000 THEN 'v400' ELSE 'v1' END \
                WHERE id IN (1000, 400000)";
    let back = "UPDATE big SET txt = CASE id WHEN 1000 THEN 'v1' ELSE 'v400' END \
                WHERE id IN (1000, 400000)";
    assert_eq!(db.changed_by("big", swap, back), set(&["txt"]));
    let last = "UPDATE big SET n = n + 1 WHERE id = 900300";
    let undo = "UPDATE big SET n = n - 1 WHERE id = 900300";
    assert_eq!(db.changed_by("big", last, undo), set(&["n"]));
    db.exec("DELETE FROM big WHERE id = 900300");
    let after = by(&mut db, 2, true);
    assert_eq!(table_of(&after, "big").rows, 699);
    assert_eq!(after, by(&mut db, 1, true));
}
