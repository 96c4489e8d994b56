//! Data fingerprints computed inside MySQL / MariaDB, byte-exact.
//!
//! Per table, one scan computes `COUNT(*)` and per nullable column `COUNT(col)` (a `NOT NULL`
//! column holds a value in every row) plus an aggregate of the value's CRC bound to its row's
//! key (`BIT_XOR` of mixed hashes on keyed tables, `SUM` without a key; see [`Hashing`] and
//! `hash_of`). The CRC is taken over the value's stored bytes, so values are compared as
//! bytes, not collation-equal strings: `'a'` becoming `'A'`, `'é'` becoming `'?'` or a lost
//! trailing space all change the sum. The key is the row's primary key, so a value moving to
//! another row changes it too. Tables without a primary key also get a sum of whole-row hashes
//! (multiset comparison).
//!
//! With capture, the per-row, per-column hashes go into a temporary table of the observer
//! session (one row per value: MySQL has no arrays), which drill-downs join against.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;
use sqlx::mysql::{MySqlConnection, MySqlRow};

use crate::data::{
    ColumnFingerprint, ColumnRowDiff, DataFingerprint, EXAMPLE_CHARS, EXAMPLES, MissingRow,
    RowDiff, RowValues, Survival, TableFingerprint,
};
use crate::engine::sql_common::{captured_columns, empty_fingerprint, key_labels, keyed, samples};
use crate::error::Context;
use crate::schema::{Column, ColumnKind, SchemaSnapshot, Table};
use crate::sql::mysql::{ident, literal, table_ref};
use crate::{Error, Result};

/// Tables per UNION ALL statement.
const CHUNK: usize = 100;
/// Sample keys kept per changed column.
const SAMPLES: usize = 10;

/// What was captured for one table: its columns in capture order (1-based `col` numbers), and
/// the hashing the captured values used (drill-downs hash the current rows the same way).
#[derive(Debug, Clone)]
pub struct Captured {
    columns: Vec<String>,
    keyed: bool,
    hashing: Hashing,
}

/// Which hash functions a value's hash is built from: what the server offers.
///
/// Both bind a value to its row's key and then multiply by an odd constant (the exact 64-bit
/// product of two 32-bit numbers): CRCs are affine over GF(2), so without a non-linear step
/// the `BIT_XOR` of keyed hashes would not change when two equal-length values swap rows, and
/// two rows changed the same way (`'alice'`→`'Alice'`, `'bobby'`→`'Bobby'`) would cancel out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// MariaDB 10.8 and later: `CRC32C(key, value)`, the CRC seeded with an integer key, no
    /// text made of the key, no `XOR` or mask per value: the fewest items per value and row.
    Seeded,
    /// MySQL and older MariaDB: `CRC32(value)`, the key `XOR`ed in (or concatenated in front).
    Plain,
}

impl Hashing {
    /// What a server of `version` (`10.11.19-MariaDB`, `8.0.36`) offers.
    pub fn of(version: &str) -> Hashing {
        if !version.contains("MariaDB") {
            return Hashing::Plain;
        }
        let mut numbers = version
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        if (major, minor) >= (10, 8) {
            Hashing::Seeded
        } else {
            Hashing::Plain
        }
    }

    fn crc(self) -> &'static str {
        match self {
            Hashing::Seeded => "CRC32C",
            Hashing::Plain => "CRC32",
        }
    }
}

/// `CONCAT('id=', t.id)` or `CONCAT('a=', t.a, ',b=', t.b)`.
fn key_text(table: &Table) -> String {
    let parts: Vec<String> = key_labels(table)
        .map(|(label, c)| format!("{}, t.{}", literal(&label), ident(c)))
        .collect();
    format!("CONCAT({})", parts.join(", "))
}

/// How a value's hash is bound to its row.
#[derive(Debug, Clone)]
enum Key {
    /// A single integer primary key: mixed in arithmetically, no text conversion.
    Int(String),
    /// Any other key: its text (`a=1,b=x`) is hashed with the value.
    Text(String),
}

/// The hash key of `table`'s rows, `None` without a usable primary key. The key expression
/// follows the given table's definition (the *before* table in comparisons, so keys hash as
/// they did at capture).
fn row_key(table: &Table) -> Option<Key> {
    if !keyed(table) {
        return None;
    }
    match table.primary_key.as_slice() {
        [single]
            if matches!(
                table.column(single).map(|c| &c.kind),
                Some(ColumnKind::Int { .. })
            ) =>
        {
            Some(Key::Int(format!("t.{}", ident(single))))
        }
        _ => Some(Key::Text(key_text(table))),
    }
}

/// Hash of each of `columns` as it is in `now` (missing columns hash to NULL); `key` is
/// `keys`'s row key (the *before* table in comparisons).
fn column_hashes(
    columns: &[&Column],
    now: &Table,
    keys: &Table,
    key: Option<&Key>,
    hashing: Hashing,
) -> Vec<String> {
    columns
        .iter()
        .map(|c| match now.column(&c.name) {
            Some(_) => value_hash(
                &c.name,
                &format!("t.{}", ident(&c.name)),
                keys,
                key,
                hashing,
            ),
            None => "NULL".into(),
        })
        .collect()
}

/// Hash of column `column` (value expression `value`) of a row of `keys`. With a seeded CRC the
/// single integer key column hashes as its key alone: the value *is* the key, and no text is
/// made of it.
fn value_hash(
    column: &str,
    value: &str,
    keys: &Table,
    key: Option<&Key>,
    hashing: Hashing,
) -> String {
    match (hashing, key) {
        (Hashing::Seeded, Some(Key::Int(id))) if keys.primary_key == [column] => {
            format!("(CRC32C({id}, '') * 2654435761)")
        }
        _ => hash_of(value, key, hashing),
    }
}

/// CRC of the value's bytes (in its column's character set: byte-exact, not
/// collation-equal), bound to the row by `key`. NULL stays NULL.
///
/// Keyed hashes are combined with `BIT_XOR` (see [`column_sum`]): integer work only, where
/// `SUM` accumulates in decimals. A CRC is linear over XOR, so each row's hash is multiplied
/// by an odd constant (see [`Hashing`]) after the key is mixed in, so swapping two values
/// between rows changes the result. A key makes every row's hash distinct, so pairs do not
/// cancel out. An integer key takes part modulo 2^32 (as the seed, or masked).
fn hash_of(value: &str, key: Option<&Key>, hashing: Hashing) -> String {
    match (hashing, key) {
        (Hashing::Seeded, Some(Key::Int(id))) => {
            format!("(CRC32C({id}, {value}) * 2654435761)")
        }
        (Hashing::Seeded, Some(Key::Text(key))) => {
            format!("(CRC32C(CRC32C({key}), {value}) * 2654435761)")
        }
        (Hashing::Plain, Some(Key::Int(id))) => {
            format!("((CRC32({value}) ^ ({id} & 4294967295)) * 2654435761)")
        }
        (Hashing::Plain, Some(Key::Text(key))) => {
            format!("(CRC32(CONCAT({key}, X'1F', {value})) * 2654435761)")
        }
        (_, None) => format!("{}({value})", hashing.crc()),
    }
}

/// The aggregate of a column's value hashes: `BIT_XOR` for keyed rows (each row's hash is
/// distinct), `SUM` without a key, where equal values in several rows must all count.
fn column_sum(hash: &str, keyed: bool) -> String {
    if keyed {
        format!("BIT_XOR({hash})")
    } else {
        format!("COALESCE(SUM({hash}), 0)")
    }
}

fn row_hash(columns: &[&Column], now: &Table, hashing: Hashing) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|c| match now.column(&c.name) {
            Some(_) => format!("QUOTE(t.{})", ident(&c.name)),
            None => "'NULL'".into(),
        })
        .collect();
    let crc = hashing.crc();
    if parts.is_empty() {
        return format!("{crc}('')");
    }
    format!("{crc}(CONCAT_WS(X'1E', {}))", parts.join(", "))
}

/// The text of each of `columns` as it is in `now`, cut to [`EXAMPLE_CHARS`] characters
/// (missing ones are NULL).
fn value_texts(columns: &[&Column], now: &Table) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let value = format!("t.{}", ident(&c.name));
            // Bytes are not text in any character set: casting them would fail the INSERT in
            // strict mode, so they are shown in hex, bits in binary.
            match now.column(&c.name).map(|c| &c.kind) {
                None => "NULL".into(),
                Some(ColumnKind::Bytes { .. } | ColumnKind::Other(_)) => {
                    format!("CONCAT('0x', LEFT(HEX({value}), {EXAMPLE_CHARS}))")
                }
                Some(ColumnKind::Bit { .. }) => format!("CONCAT('b''', BIN({value}), '''')"),
                Some(_) => format!("LEFT(CAST({value} AS CHAR), {EXAMPLE_CHARS})"),
            }
        })
        .collect()
}

/// The 0-based column of a capture row's 1-based `col` (value `i` of `row`), `None` outside
/// the `width` captured columns (0 is the whole-row hash).
fn column_index(row: &MySqlRow, i: usize, width: usize) -> Result<Option<usize>> {
    Ok((number(row, i)? as usize)
        .checked_sub(1)
        .filter(|c| *c < width))
}

/// A value that may hold any bytes, as text (invalid UTF-8 replaced).
fn lossy_cell(row: &MySqlRow, i: usize) -> Result<Option<String>> {
    let bytes: Option<Vec<u8>> = row.try_get_unchecked(i).context(|| format!("value {i}"))?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// A text value of a text-protocol row, whatever the column type.
fn cell(row: &MySqlRow, i: usize) -> Result<Option<String>> {
    let raw = row.try_get_raw(i).context(|| format!("value {i}"))?;
    if sqlx::ValueRef::is_null(&raw) {
        return Ok(None);
    }
    row.try_get_unchecked::<Option<String>, _>(i)
        .context(|| format!("value {i}"))
}

fn number(row: &MySqlRow, i: usize) -> Result<i64> {
    Ok(cell(row, i)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

async fn rows(conn: &mut MySqlConnection, sql: String, what: &str) -> Result<Vec<MySqlRow>> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot {what}"))
}

/// Fingerprints every data table of `schema`; with `capture`, keeps per-row hashes (in a
/// temporary table of `conn`'s session). Without, the scans are shared out over `conn` and
/// `scanners` (see [`scan`]).
pub async fn fingerprint(
    conn: &mut MySqlConnection,
    scanners: &mut [MySqlConnection],
    schema: &SchemaSnapshot,
    captured: &mut HashMap<String, Captured>,
    (capture, counts): (bool, bool),
    hashing: Hashing,
) -> Result<DataFingerprint> {
    let tables: Vec<&Table> = schema.data_tables().collect();
    let mut out = DataFingerprint::default();
    if capture {
        captured.clear();
        sqlx::raw_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS driftless_rows (
                 tbl VARCHAR(400) NOT NULL, pk VARBINARY(3000) NULL, col INT NOT NULL,
                 h BIGINT UNSIGNED NULL, v VARBINARY(800) NULL, KEY (tbl, col, pk(255)))",
        )
        .execute(&mut *conn)
        .await
        .context(|| "cannot prepare the row capture table".into())?;
        sqlx::raw_sql("DELETE FROM driftless_rows")
            .execute(&mut *conn)
            .await
            .context(|| "cannot clear the row capture table".into())?;
        for chunk in tables.chunks(CHUNK) {
            capture_rows(conn, chunk, captured, hashing).await?;
        }
        sums_from_capture(conn, &tables, captured, &mut out).await?;
    } else {
        scan(conn, scanners, &tables, &mut out, (counts, hashing)).await?;
    }
    Ok(out)
}

/// Key spans at least this wide are scanned in parts, one connection each (see [`scan`]).
const SPLIT_SPAN: i128 = 100_000;

/// A share of the fingerprint scan that one connection takes.
enum Part<'a> {
    /// Whole tables, in one `UNION ALL` statement.
    Tables(Vec<&'a Table>),
    /// The rows of one table whose integer key lies in `lo..=hi`.
    Range(&'a Table, i128, i128),
}

/// Fingerprints `tables` over `conn` and `scanners` at once, each connection taking the next
/// part left: a chunk of whole tables, or a key range of a large table.
///
/// MariaDB runs a query on one thread, so one connection keeps one core busy however large
/// the table; the hashing is the work (reading a million rows costs about a third of it).
/// Keyed hashes are combined with `BIT_XOR` and counts add up, so a table split by ranges of
/// its single integer key gives exactly the fingerprint of one scan. Tables without such a key
/// are scanned whole.
async fn scan(
    conn: &mut MySqlConnection,
    scanners: &mut [MySqlConnection],
    tables: &[&Table],
    out: &mut DataFingerprint,
    how: (bool, Hashing),
) -> Result<()> {
    let connections = 1 + scanners.len();
    let mut parts = Vec::new();
    let mut whole = Vec::new();
    let spans = if connections > 1 {
        key_spans(conn, tables).await?
    } else {
        HashMap::new()
    };
    for table in tables {
        match spans.get(&table.qualified()) {
            Some(&(lo, hi)) if hi - lo >= SPLIT_SPAN => {
                // Twice as many parts as connections: keys are rarely spread evenly, and a
                // connection done early takes the next part.
                let count = 2 * connections as i128;
                let step = (hi - lo) / count + 1;
                let mut from = lo;
                while from <= hi {
                    let to = (from + step - 1).min(hi);
                    parts.push(Part::Range(table, from, to));
                    from = to + 1;
                }
            }
            _ => whole.push(*table),
        }
    }
    parts.extend(whole.chunks(CHUNK).map(|c| Part::Tables(c.to_vec())));
    let queue = std::sync::Mutex::new(std::collections::VecDeque::from(parts));
    let workers = std::iter::once(conn)
        .chain(scanners.iter_mut())
        .map(|c| scan_parts(c, &queue, how));
    let mut split: HashMap<String, TableFingerprint> = HashMap::new();
    for done in futures_util::future::join_all(workers).await {
        for (name, fingerprint, ranged) in done? {
            if ranged {
                match split.get_mut(&name) {
                    Some(sofar) => add_range(sofar, &fingerprint)?,
                    None => {
                        split.insert(name, fingerprint);
                    }
                }
            } else {
                out.tables.insert(name, fingerprint);
            }
        }
    }
    out.tables.extend(split);
    Ok(())
}

/// Takes parts from `queue` until none is left; each table's fingerprint, and whether it is
/// only one key range's. On an error the queue is emptied, so the other connections stop too.
async fn scan_parts(
    conn: &mut MySqlConnection,
    queue: &std::sync::Mutex<std::collections::VecDeque<Part<'_>>>,
    (counts, hashing): (bool, Hashing),
) -> Result<Vec<(String, TableFingerprint, bool)>> {
    let mut out = Vec::new();
    loop {
        let Some(part) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            return Ok(out);
        };
        let (tables, range) = match &part {
            Part::Tables(tables) => (tables.clone(), None),
            Part::Range(table, lo, hi) => (vec![*table], Some((*lo, *hi))),
        };
        match direct(conn, &tables, range, counts, hashing).await {
            Ok(done) => out.extend(done.into_iter().map(|(n, f)| (n, f, range.is_some()))),
            Err(e) => {
                if let Ok(mut q) = queue.lock() {
                    q.clear();
                }
                return Err(e);
            }
        }
    }
}

/// `MIN` and `MAX` of the single integer key of each of `tables` that has one (index ends,
/// not scans).
async fn key_spans(
    conn: &mut MySqlConnection,
    tables: &[&Table],
) -> Result<HashMap<String, (i128, i128)>> {
    let selects: Vec<String> = tables
        .iter()
        .filter_map(|t| match row_key(t) {
            Some(Key::Int(id)) => Some(format!(
                "SELECT {} AS tbl, CAST(MIN({id}) AS CHAR), CAST(MAX({id}) AS CHAR) FROM {} t",
                literal(&t.qualified()),
                table_ref(t)
            )),
            _ => None,
        })
        .collect();
    let mut spans = HashMap::new();
    for chunk in selects.chunks(CHUNK) {
        for row in rows(conn, chunk.join("\nUNION ALL\n"), "read key ranges").await? {
            let bound =
                |i| -> Result<Option<i128>> { Ok(cell(&row, i)?.and_then(|v| v.parse().ok())) };
            if let (Some(name), Some(lo), Some(hi)) = (cell(&row, 0)?, bound(1)?, bound(2)?) {
                spans.insert(name, (lo, hi));
            }
        }
    }
    Ok(spans)
}

/// Adds one key range's fingerprint of a table to the ranges' so far.
fn add_range(sofar: &mut TableFingerprint, part: &TableFingerprint) -> Result<()> {
    sofar.rows += part.rows;
    for (name, column) in &part.columns {
        let Some(into) = sofar.columns.get_mut(name) else {
            continue;
        };
        into.non_null = into.non_null.zip(column.non_null).map(|(a, b)| a + b);
        let xor = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| Error::infra(format!("unexpected fingerprint sum {s:?} of {name}")))
        };
        into.sum = (xor(&into.sum)? ^ xor(&column.sum)?).to_string();
    }
    Ok(())
}

/// One scan per table (of the rows whose key lies in `range`, when given). Without `counts`,
/// nullable columns are not counted (one aggregate less per row and column): a fingerprint
/// only compared for equality does not need them.
async fn direct(
    conn: &mut MySqlConnection,
    tables: &[&Table],
    range: Option<(i128, i128)>,
    counts: bool,
    hashing: Hashing,
) -> Result<Vec<(String, TableFingerprint)>> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = tables
        .iter()
        .map(|t| {
            let columns: Vec<&Column> = t.columns.iter().collect();
            let key = row_key(t);
            let mut parts = Vec::new();
            let hashes = column_hashes(&columns, t, t, key.as_ref(), hashing);
            for (c, hash) in columns.iter().zip(hashes) {
                // A NOT NULL column holds a value in every row: its count is the row count,
                // one aggregate less per row (see `counted`).
                if c.nullable && counts {
                    parts.push(format!("COUNT(t.{})", ident(&c.name)));
                }
                parts.push(column_sum(&hash, key.is_some()));
            }
            let row_sum = if key.is_some() {
                "NULL".to_string()
            } else {
                format!("COALESCE(SUM({}), 0)", row_hash(&columns, t, hashing))
            };
            let values = if parts.is_empty() {
                "''".to_string()
            } else {
                format!("CONCAT_WS(',', {})", parts.join(", "))
            };
            let within = match (range, &key) {
                (Some((lo, hi)), Some(Key::Int(id))) => {
                    format!(" WHERE {id} BETWEEN {lo} AND {hi}")
                }
                _ => String::new(),
            };
            format!(
                "SELECT {} AS tbl, COUNT(*) AS n, {row_sum} AS r, {values} AS c FROM {} t{within}",
                literal(&t.qualified()),
                table_ref(t)
            )
        })
        .collect();
    let by_name: HashMap<String, &Table> = tables.iter().map(|t| (t.qualified(), *t)).collect();
    let mut out = Vec::new();
    for row in rows(
        conn,
        selects.join("\nUNION ALL\n"),
        "compute data fingerprints",
    )
    .await?
    {
        let name = cell(&row, 0)?.unwrap_or_default();
        let Some(table) = by_name.get(&name) else {
            continue;
        };
        let rows = number(&row, 1)?;
        let text = cell(&row, 3)?.unwrap_or_default();
        let mut values = text.split(',');
        let mut columns = BTreeMap::new();
        for c in &table.columns {
            let non_null = match (c.nullable, counts) {
                (true, true) => Some(values.next().and_then(|v| v.parse().ok()).unwrap_or(0)),
                (true, false) => None,
                (false, _) => Some(rows),
            };
            let sum = values.next().unwrap_or_default().to_string();
            columns.insert(c.name.clone(), ColumnFingerprint { non_null, sum });
        }
        out.push((
            name,
            TableFingerprint {
                rows,
                row_sum: cell(&row, 2)?,
                columns,
            },
        ));
    }
    Ok(out)
}

/// `(SELECT 1 AS n UNION ALL SELECT 2 …)`: one output row per column of each table row.
fn numbers(from: usize, to: usize) -> String {
    let parts: Vec<String> = (from..=to).map(|n| format!("SELECT {n} AS n")).collect();
    format!("({})", parts.join(" UNION ALL "))
}

/// `CASE i.n WHEN 1 THEN … END` over `hashes` (1-based), plus `0` → `zero` when given.
fn by_number(hashes: &[String], zero: Option<&str>) -> String {
    let mut arms: Vec<String> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| format!("WHEN {} THEN {h}", i + 1))
        .collect();
    if let Some(z) = zero {
        arms.push(format!("WHEN 0 THEN {z}"));
    }
    format!("CASE i.n {} END", arms.join(" "))
}

async fn capture_rows(
    conn: &mut MySqlConnection,
    tables: &[&Table],
    captured: &mut HashMap<String, Captured>,
    hashing: Hashing,
) -> Result<()> {
    for t in tables {
        let columns: Vec<&Column> = t.columns.iter().collect();
        let is_keyed = keyed(t);
        let key = row_key(t);
        let hashes = column_hashes(&columns, t, t, key.as_ref(), hashing);
        let pk = is_keyed.then(|| key_text(t));
        let row = (!is_keyed).then(|| row_hash(&columns, t, hashing));
        captured.insert(
            t.qualified(),
            Captured {
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                keyed: is_keyed,
                hashing,
            },
        );
        let first = if is_keyed { 1 } else { 0 };
        if columns.is_empty() && is_keyed {
            continue;
        }
        // The values themselves, for the examples of findings (keyed rows only).
        let values = match is_keyed {
            true => by_number(&value_texts(&columns, t), None),
            false => "NULL".into(),
        };
        let sql = format!(
            "INSERT INTO driftless_rows (tbl, pk, col, h, v)
             SELECT {}, {}, i.n, {}, {values} FROM {} t CROSS JOIN {} i",
            literal(&t.qualified()),
            pk.as_deref().unwrap_or("NULL"),
            by_number(&hashes, row.as_deref()),
            table_ref(t),
            numbers(first, columns.len())
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .context(|| format!("cannot capture rows of {}", t.qualified()))?;
    }
    Ok(())
}

async fn sums_from_capture(
    conn: &mut MySqlConnection,
    tables: &[&Table],
    captured: &HashMap<String, Captured>,
    out: &mut DataFingerprint,
) -> Result<()> {
    // Empty tables have no captured rows: start everyone at zero.
    for t in tables {
        let keyed = captured[&t.qualified()].keyed;
        out.tables
            .insert(t.qualified(), empty_fingerprint(t, keyed));
    }
    // Both aggregates of `column_sum`: keyed tables' columns take the `BIT_XOR`.
    let sql =
        "SELECT CAST(tbl AS CHAR), col, COUNT(*), COUNT(h), CAST(COALESCE(SUM(h), 0) AS CHAR),
                      CAST(BIT_XOR(h) AS CHAR)
               FROM driftless_rows GROUP BY tbl, col"
            .to_string();
    for row in rows(conn, sql, "sum captured rows").await? {
        let name = cell(&row, 0)?.unwrap_or_default();
        let index = number(&row, 1)?;
        let (Some(fp), Some(capture)) = (out.tables.get_mut(&name), captured.get(&name)) else {
            continue;
        };
        fp.rows = number(&row, 2)?;
        let sum = cell(&row, 4)?.unwrap_or_else(|| "0".into());
        if index == 0 {
            fp.row_sum = Some(sum);
        } else if let Some(column) = capture.columns.get(index as usize - 1) {
            let sum = match capture.keyed {
                true => cell(&row, 5)?.unwrap_or_else(|| "0".into()),
                false => sum,
            };
            fp.columns.insert(
                column.clone(),
                ColumnFingerprint {
                    non_null: Some(number(&row, 3)?),
                    sum,
                },
            );
        }
    }
    Ok(())
}

/// Row-level comparison of `now` against what was captured for `before`.
pub async fn row_diff(
    conn: &mut MySqlConnection,
    captured: &HashMap<String, Captured>,
    before: &Table,
    now: &Table,
) -> Result<Option<RowDiff>> {
    let Some(capture) = captured.get(&before.qualified()) else {
        return Ok(None);
    };
    let Some(columns) = captured_columns(&capture.columns, before) else {
        return Ok(None);
    };
    if !capture.keyed {
        return multiset_diff(conn, before, now, &columns, capture.hashing)
            .await
            .map(Some);
    }
    if !before.primary_key.iter().all(|c| now.column(c).is_some()) {
        return Ok(None);
    }
    let mut diff = keyed_rows_diff(conn, before, now).await?;
    diff.columns = changed_values(conn, before, now, &columns, capture.hashing).await?;
    let keys = diff.example_keys();
    if !keys.is_empty() {
        let values = row_values(conn, before, now, &columns, &keys).await?;
        diff.attach_examples(&values);
    }
    Ok(Some(diff))
}

/// The first rows captured for `before` by key (shortest first), as they were.
pub async fn captured_rows(
    conn: &mut MySqlConnection,
    captured: &HashMap<String, Captured>,
    before: &Table,
) -> Result<Vec<MissingRow>> {
    let Some(capture) = captured.get(&before.qualified()).filter(|c| c.keyed) else {
        return Ok(Vec::new());
    };
    let name = literal(&before.qualified());
    let keys_sql = format!(
        "SELECT CAST(pk AS CHAR) FROM driftless_rows WHERE tbl = {name} AND col = 1
         ORDER BY LENGTH(pk), pk LIMIT {EXAMPLES}"
    );
    let mut keys = Vec::new();
    for row in rows(conn, keys_sql, "read captured keys").await? {
        keys.extend(cell(&row, 0)?);
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = keys.iter().map(|k| literal(k)).collect();
    let sql = format!(
        "SELECT CAST(pk AS CHAR), col, v FROM driftless_rows
         WHERE tbl = {name} AND col >= 1 AND pk IN ({})",
        list.join(", ")
    );
    let width = capture.columns.len();
    let mut values: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for row in rows(conn, sql, "read captured rows").await? {
        let key = cell(&row, 0)?.unwrap_or_default();
        let Some(i) = column_index(&row, 1, width)? else {
            continue;
        };
        values.entry(key).or_insert_with(|| vec![None; width])[i] = lossy_cell(&row, 2)?;
    }
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            let row = values.remove(&key)?;
            Some(MissingRow::from_text(key, &capture.columns, row))
        })
        .collect())
}

/// The captured and current values of the rows with `keys`.
async fn row_values(
    conn: &mut MySqlConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
    keys: &[String],
) -> Result<RowValues> {
    let key = key_text(before);
    let list: Vec<String> = keys.iter().map(|k| literal(k)).collect();
    let list = list.join(", ");
    let sql = format!(
        "SELECT CAST(b.pk AS CHAR), b.col, b.v, n.v, n.pk IS NOT NULL
         FROM driftless_rows b
         LEFT JOIN (SELECT {key} AS pk, i.n AS col, {values} AS v
                    FROM {table} t CROSS JOIN {numbers} i WHERE {key} IN ({list})) n
           ON n.pk = b.pk AND n.col = b.col
         WHERE b.tbl = {name} AND b.col >= 1 AND b.pk IN ({list})",
        values = by_number(&value_texts(columns, now), None),
        table = table_ref(now),
        numbers = numbers(1, columns.len().max(1)),
        name = literal(&before.qualified()),
    );
    let width = columns.len();
    let mut out = RowValues {
        columns: columns.iter().map(|c| c.name.clone()).collect(),
        ..RowValues::default()
    };
    for row in rows(conn, sql, "read example values").await? {
        let key = cell(&row, 0)?.unwrap_or_default();
        let Some(i) = column_index(&row, 1, width)? else {
            continue;
        };
        out.before
            .entry(key.clone())
            .or_insert_with(|| vec![None; width])[i] = lossy_cell(&row, 2)?;
        if number(&row, 4)? == 1 {
            out.now.entry(key).or_insert_with(|| vec![None; width])[i] = lossy_cell(&row, 3)?;
        }
    }
    Ok(out)
}

/// The single row of a comparison query.
async fn one_row(conn: &mut MySqlConnection, sql: String) -> Result<MySqlRow> {
    rows(conn, sql, "compare rows")
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::infra("no result comparing rows"))
}

/// Tables without a key compare as multisets of whole-row hashes.
async fn multiset_diff(
    conn: &mut MySqlConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
    hashing: Hashing,
) -> Result<RowDiff> {
    let name = literal(&before.qualified());
    let table = table_ref(now);
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM driftless_rows WHERE tbl = {name} AND col = 0),
                (SELECT COUNT(*) FROM {table}),
                (SELECT COUNT(*) FROM (SELECT h FROM driftless_rows WHERE tbl = {name} AND col = 0
                                       EXCEPT ALL SELECT {hash} FROM {table} t) x),
                (SELECT COUNT(*) FROM (SELECT {hash} FROM {table} t
                                       EXCEPT ALL SELECT h FROM driftless_rows WHERE tbl = {name} AND col = 0) y)",
        hash = row_hash(columns, now, hashing),
    );
    let row = &one_row(conn, sql).await?;
    Ok(RowDiff {
        keyed: false,
        rows_before: number(row, 0)?,
        rows_after: number(row, 1)?,
        rows_missing: number(row, 2)?,
        rows_added: number(row, 3)?,
        ..RowDiff::default()
    })
}

/// `GROUP_CONCAT` of up to [`SAMPLES`] captured keys, shortest first.
fn key_samples() -> String {
    format!(
        "SUBSTRING_INDEX(GROUP_CONCAT(CAST(b.pk AS CHAR) ORDER BY LENGTH(b.pk), b.pk SEPARATOR 0x1f), CHAR(31), {SAMPLES})"
    )
}

/// Rows by key: how many there were and are, which went missing and how many came.
async fn keyed_rows_diff(
    conn: &mut MySqlConnection,
    before: &Table,
    now: &Table,
) -> Result<RowDiff> {
    let name = literal(&before.qualified());
    let table = table_ref(now);
    let key = key_text(before);
    let samples_sql = key_samples();
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM driftless_rows WHERE tbl = {name} AND col = 1),
                (SELECT COUNT(*) FROM {table}),
                (SELECT COUNT(*) FROM driftless_rows b LEFT JOIN (SELECT {key} AS pk FROM {table} t) n
                   ON n.pk = b.pk WHERE b.tbl = {name} AND b.col = 1 AND n.pk IS NULL),
                (SELECT COUNT(*) FROM (SELECT {key} AS pk FROM {table} t) n LEFT JOIN driftless_rows b
                   ON b.tbl = {name} AND b.col = 1 AND b.pk = n.pk WHERE b.pk IS NULL),
                (SELECT {samples_sql} FROM driftless_rows b LEFT JOIN (SELECT {key} AS pk FROM {table} t) n
                   ON n.pk = b.pk WHERE b.tbl = {name} AND b.col = 1 AND n.pk IS NULL)"
    );
    let row = &one_row(conn, sql).await?;
    Ok(RowDiff {
        keyed: true,
        rows_before: number(row, 0)?,
        rows_after: number(row, 1)?,
        rows_missing: number(row, 2)?,
        rows_added: number(row, 3)?,
        missing_sample: samples(cell(row, 4)?),
        ..RowDiff::default()
    })
}

/// Per column, the rows (by key) whose value changed, with sample keys.
async fn changed_values(
    conn: &mut MySqlConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
    hashing: Hashing,
) -> Result<BTreeMap<String, ColumnRowDiff>> {
    let hashes = column_hashes(columns, now, before, row_key(before).as_ref(), hashing);
    let sql = format!(
        "SELECT b.col, COUNT(*), {samples_sql}
         FROM driftless_rows b
         JOIN (SELECT {key} AS pk, i.n AS col, {case} AS h FROM {table} t CROSS JOIN {numbers} i) n
           ON n.pk = b.pk AND n.col = b.col
         WHERE b.tbl = {name} AND NOT (b.h <=> n.h)
         GROUP BY b.col",
        samples_sql = key_samples(),
        key = key_text(before),
        case = by_number(&hashes, None),
        table = table_ref(now),
        numbers = numbers(1, columns.len()),
        name = literal(&before.qualified()),
    );
    let mut changed = BTreeMap::new();
    for row in rows(conn, sql, "compare values").await? {
        let index = number(&row, 0)? as usize;
        if let Some(c) = columns.get(index.wrapping_sub(1)) {
            let diff = ColumnRowDiff {
                changed: number(&row, 1)?,
                sample: samples(cell(&row, 2)?),
                ..ColumnRowDiff::default()
            };
            changed.insert(c.name.clone(), diff);
        }
    }
    Ok(changed)
}

/// An expression converting the current value of a column back to the column's old type.
fn converted_back(old: &Column) -> Option<String> {
    let value = format!("t.{}", ident(&old.name));
    let charset = old
        .data_type
        .split(" character set ")
        .nth(1)
        .map(str::to_string);
    Some(match &old.kind {
        ColumnKind::Text { .. } | ColumnKind::Char { .. } => match charset {
            Some(cs) => format!("CONVERT({value} USING {cs})"),
            None => value,
        },
        ColumnKind::Decimal {
            precision: Some(p),
            scale,
        } => format!("CAST({value} AS DECIMAL({p},{scale}))"),
        ColumnKind::Int { unsigned: true, .. } => format!("CAST({value} AS UNSIGNED)"),
        ColumnKind::Int { .. } => format!("CAST({value} AS SIGNED)"),
        ColumnKind::Float => format!("CAST({value} AS DOUBLE)"),
        ColumnKind::Timestamp { fraction, .. } => {
            format!("CAST({value} AS DATETIME({}))", fraction.unwrap_or(0))
        }
        ColumnKind::Date => format!("CAST({value} AS DATE)"),
        ColumnKind::Time => format!("CAST({value} AS TIME)"),
        _ => return None,
    })
}

/// How the captured values of `column` fared after the up changed its type.
pub async fn survival(
    conn: &mut MySqlConnection,
    captured: &HashMap<String, Captured>,
    before: &Table,
    now: &Table,
    column: &str,
) -> Result<Survival> {
    let Some(capture) = captured.get(&before.qualified()) else {
        return Ok(Survival::Unknown);
    };
    let (Some(index), Some(old)) = (
        capture.columns.iter().position(|c| c == column),
        before.column(column),
    ) else {
        return Ok(Survival::Unknown);
    };
    if !capture.keyed || !before.primary_key.iter().all(|c| now.column(c).is_some()) {
        return Ok(Survival::Unknown);
    }
    let Some(value) = converted_back(old) else {
        return Ok(Survival::Unknown);
    };
    let key = key_text(before);
    let sql = format!(
        "SELECT COUNT(*) FROM driftless_rows b
         JOIN (SELECT {key} AS pk, {hash} AS h FROM {table} t) n ON n.pk = b.pk
         WHERE b.tbl = {name} AND b.col = {col} AND NOT (b.h <=> n.h)",
        hash = value_hash(
            column,
            &value,
            before,
            row_key(before).as_ref(),
            capture.hashing
        ),
        table = table_ref(now),
        name = literal(&before.qualified()),
        col = index + 1,
    );
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
    {
        Ok(result) => {
            let lost = match result.first() {
                Some(row) => number(row, 0)?,
                None => 0,
            };
            Ok(if lost == 0 {
                Survival::Kept
            } else {
                Survival::Lost(lost)
            })
        }
        Err(sqlx::Error::Database(e)) => Ok(Survival::NotConvertible(e.message().to_string())),
        Err(e) => Err(Error::Database {
            context: format!("cannot compare converted values of {}", before.qualified()),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_crc_from_mariadb_10_8_on() {
        assert_eq!(Hashing::of("10.11.19-MariaDB"), Hashing::Seeded);
        assert_eq!(Hashing::of("10.8.1-MariaDB"), Hashing::Seeded);
        assert_eq!(Hashing::of("11.4.2-MariaDB"), Hashing::Seeded);
        assert_eq!(Hashing::of("10.6.18-MariaDB"), Hashing::Plain);
        assert_eq!(Hashing::of("8.0.36"), Hashing::Plain);
        assert_eq!(Hashing::of("8.4.0"), Hashing::Plain);
    }
}
