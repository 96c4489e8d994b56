//! Data fingerprints computed inside PostgreSQL.
//!
//! Per table, one scan computes `count(*)` and per column `count(col)` plus the sum of
//! `hashtextextended(normalized text, key)`, where `key` is the row's primary key (so a value
//! moved to another row changes the sum). Normalization makes equal values compare equal
//! across representations: numeric scale (`1.50` = `1.5`), json key order; timestamps print
//! in UTC because the observer session runs with `TimeZone = UTC`. Tables without a primary
//! key also get a sum of whole-row hashes, i.e. they compare as multisets of rows.
//!
//! With `capture`, the per-row hashes go into a temp table of the observer session instead,
//! and the sums are computed from there; [`row_diff`] later joins the current rows against
//! them by key to count and sample what changed.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;
use sqlx::postgres::PgConnection;

use crate::data::{
    ColumnFingerprint, ColumnRowDiff, DataFingerprint, EXAMPLE_CHARS, EXAMPLES, MissingRow,
    RowDiff, RowValues, Survival, TableFingerprint,
};
use crate::engine::sql_common::{captured_columns, empty_fingerprint, key_labels, keyed, samples};
use crate::error::Context;
use crate::schema::{Column, ColumnKind, SchemaSnapshot, Table};
use crate::sql::pg::{ident, literal, table_ref};
use crate::{Error, Result};

/// Tables per UNION ALL statement.
const CHUNK: usize = 200;
/// Sample keys kept per changed column.
const SAMPLES: usize = 10;
const CAPTURE: &str = "pg_temp.driftless_rows";

/// What the engine remembers between fingerprints, so that tables nothing wrote to are not
/// hashed again: the latest fingerprint of each table, and what the capture table holds.
#[derive(Debug, Default)]
pub struct FingerprintCache {
    known: HashMap<String, Known>,
    captured: HashMap<String, Captured>,
}

/// A fingerprint and the state it describes.
#[derive(Debug, Clone)]
struct Known {
    identity: String,
    /// Per column, what shapes its values (see [`column_id`]); with the filenode and key,
    /// what lets unchanged columns of a table keep their sums when others are added.
    columns: BTreeMap<String, String>,
    filenode: i64,
    primary_key: Vec<String>,
    /// Transaction id from which on writes are newer than this fingerprint.
    marker: String,
    fingerprint: TableFingerprint,
}

/// What the capture table holds for one table: its columns in hash-array order.
#[derive(Debug, Clone)]
pub struct Captured {
    columns: Vec<String>,
    keyed: bool,
    known: Known,
}

/// What the probe says about a table now.
struct Probe {
    filenode: i64,
    rows: i64,
    newer_than_known: i64,
    newer_than_captured: i64,
}

/// The normalized text of `expr`, an expression of `column`'s type, in the `C` collation: a
/// text column keeps its own collation through `::text`, and hashing under a nondeterministic
/// one (ICU `deterministic = false`) hashes its sort key, so `'A'` and `'a'` would hash alike.
fn normalized(expr: &str, column: &Column) -> String {
    match &column.kind {
        ColumnKind::Decimal { .. } => format!("trim_scale({expr})::text"),
        ColumnKind::Json if column.data_type == "json" => format!("({expr})::jsonb::text"),
        _ => format!("(({expr})::text COLLATE \"C\")"),
    }
}

/// The text of a row's key as shown in reports: `id=17` or `a=1,b=x`.
fn key_text(table: &Table, alias: &str) -> String {
    let parts: Vec<String> = key_labels(table)
        .map(|(label, c)| format!("{} || ({alias}.{})::text", literal(&label), ident(c)))
        .collect();
    parts.join(" || ")
}

/// The hash key of a row: the integer primary key itself, or a hash of the key text.
fn row_key(table: &Table, alias: &str) -> String {
    match table.primary_key.as_slice() {
        [single]
            if matches!(
                table.column(single).map(|c| &c.kind),
                Some(ColumnKind::Int { .. })
            ) =>
        {
            format!("({alias}.{})::int8", ident(single))
        }
        [] => "0::int8".into(),
        _ => format!("hashtextextended({}, 0)", key_text(table, alias)),
    }
}

/// Hash expression of each of `columns` (looked up in `now`; missing ones hash to NULL).
fn column_hashes(columns: &[&Column], now: &Table, key: &str, alias: &str) -> Vec<String> {
    columns
        .iter()
        .map(|c| match now.column(&c.name) {
            Some(current) => format!(
                "hashtextextended({}, {key})",
                normalized(&format!("{alias}.{}", ident(&c.name)), current)
            ),
            None => "NULL::int8".into(),
        })
        .collect()
}

/// Whole-row hash over `columns` as they are in `now`.
fn row_hash(columns: &[&Column], now: &Table, alias: &str) -> String {
    if columns.is_empty() {
        return "hashtextextended('()', 0)".into();
    }
    let parts: Vec<String> = columns
        .iter()
        .map(|c| match now.column(&c.name) {
            Some(current) => normalized(&format!("{alias}.{}", ident(&c.name)), current),
            None => "NULL::text".into(),
        })
        .collect();
    format!("hashtextextended(ROW({})::text, 0)", parts.join(", "))
}

/// The text of each of `columns` as it is in `now`, cut to [`EXAMPLE_CHARS`] (missing ones
/// are NULL), as one `text[]`.
fn value_texts(columns: &[&Column], now: &Table, alias: &str) -> String {
    if columns.is_empty() {
        return "ARRAY[]::text[]".into();
    }
    let parts: Vec<String> = columns
        .iter()
        .map(|c| match now.column(&c.name) {
            Some(_) => format!("left(({alias}.{})::text, {EXAMPLE_CHARS})", ident(&c.name)),
            None => "NULL::text".into(),
        })
        .collect();
    format!("ARRAY[{}]::text[]", parts.join(", "))
}

fn only(table: &Table) -> &'static str {
    if table.holds_rows { "ONLY " } else { "" }
}

/// A table's identity for reuse: its storage (a rewrite or TRUNCATE gives a new filenode) and
/// everything about its columns that shapes the fingerprint (a fast-default column, a renamed
/// enum label or a changed type change values without writing rows).
fn identity(table: &Table, filenode: i64) -> String {
    let columns: Vec<String> = table.columns.iter().map(column_id).collect();
    format!("{filenode}|{}|{:?}", columns.join(","), table.primary_key)
}

/// What shapes one column's values: name, type and kind.
fn column_id(c: &Column) -> String {
    format!("{}:{}:{:?}", c.name, c.data_type, c.kind)
}

/// The next transaction id (mod 2^32): every row written from now on has an xmin at or after it.
async fn marker(conn: &mut PgConnection) -> Result<String> {
    sqlx::query_scalar(
        "SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::text",
    )
    .fetch_one(&mut *conn)
    .await
    .context(|| "cannot read the current transaction id".into())
}

/// One cheap scan per table (no value hashing): storage, row count, and how many rows were
/// written after the markers of what the cache holds for it.
async fn probe(
    conn: &mut PgConnection,
    tables: &[&Table],
    cache: &FingerprintCache,
) -> Result<HashMap<String, Probe>> {
    let newer = |marker: Option<&String>| match marker {
        Some(m) => format!(
            "count(*) FILTER (WHERE age(t.xmin) <= age({}::xid))::int8",
            literal(m)
        ),
        None => "count(*)::int8 + 1".into(),
    };
    let select = |t: &&Table| {
        let name = t.qualified();
        let storage = format!(
            "coalesce(pg_relation_filenode({}::regclass), 0)::int8",
            literal(&table_ref(t))
        );
        if cache.known.contains_key(&name) || cache.captured.contains_key(&name) {
            format!(
                "SELECT {}, {storage}, count(*)::int8, {}, {} FROM {}{} t",
                literal(&name),
                newer(cache.known.get(&name).map(|k| &k.marker)),
                newer(cache.captured.get(&name).map(|c| &c.known.marker)),
                only(t),
                table_ref(t)
            )
        } else {
            // The cache knows nothing about it, so it is hashed anyway: only its storage is
            // looked up, without a scan (rows unknown, written since: yes).
            format!(
                "SELECT {}, {storage}, -1::int8, 1::int8, 1::int8",
                literal(&name)
            )
        }
    };
    let mut probes = HashMap::new();
    for chunk in tables.chunks(CHUNK) {
        let selects: Vec<String> = chunk.iter().map(select).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(selects.join("\nUNION ALL\n")))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .context(|| "cannot probe tables for changes".into())?;
        for row in rows {
            let name: String = row.try_get(0).context(|| "probe table".into())?;
            probes.insert(
                name,
                Probe {
                    filenode: row.try_get(1).context(|| "probe filenode".into())?,
                    rows: row.try_get(2).context(|| "probe rows".into())?,
                    newer_than_known: row.try_get(3).context(|| "probe writes".into())?,
                    newer_than_captured: row.try_get(4).context(|| "probe writes".into())?,
                },
            );
        }
    }
    Ok(probes)
}

impl FingerprintCache {
    /// Fingerprints every data table of `schema`, hashing only tables written to (or changed in
    /// shape) since the cache last saw them. With `capture`, the per-row hashes of every table are
    /// in the capture table afterwards, for [`row_diff`] and [`survival`].
    pub async fn fingerprint(
        &mut self,
        conn: &mut PgConnection,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        let cache = self;
        let tables: Vec<&Table> = schema.data_tables().collect();
        let marker = marker(conn).await?;
        let probes = probe(conn, &tables, cache).await?;
        let plan = Plan::new(&tables, &probes, cache, capture);
        crate::debug!(
            "fingerprint: {} of {} tables changed{}",
            plan.stale.len(),
            tables.len(),
            if capture { " (capturing rows)" } else { "" }
        );
        let mut out = DataFingerprint::default();
        out.tables.extend(plan.unchanged);
        let mut computed = DataFingerprint::default();
        computed.tables.extend(plan.complete);
        hash_new_columns(conn, &plan.partial, &mut computed).await?;
        if capture {
            recapture(conn, &tables, &plan.stale, cache, &mut computed).await?;
        } else {
            for chunk in plan.stale.chunks(CHUNK) {
                direct(conn, chunk, &mut computed).await?;
            }
        }
        let state = State {
            tables: &tables,
            identities: &plan.identities,
            probes: &probes,
            marker: &marker,
        };
        for (name, fingerprint) in computed.tables {
            let known = state.known(&name, &fingerprint);
            if let Some(c) = cache.captured.get_mut(&name).filter(|_| capture) {
                c.known = known.clone();
            }
            cache.known.insert(name.clone(), known);
            out.tables.insert(name, fingerprint);
        }
        Ok(out)
    }
}

/// How each table's fingerprint is had this time, from what the probe says and the cache
/// remembers.
#[derive(Default)]
struct Plan<'t> {
    /// Tables nothing changed: the cached fingerprint as it is.
    unchanged: Vec<(String, TableFingerprint)>,
    /// Tables whose columns are all known without a scan, though not as one fingerprint.
    complete: Vec<(String, TableFingerprint)>,
    /// Tables only some of whose columns must be hashed, with the columns that are known.
    partial: Vec<(&'t Table, BTreeMap<String, ColumnFingerprint>)>,
    /// Tables to hash in full.
    stale: Vec<&'t Table>,
    /// The identity of every probed table now.
    identities: HashMap<String, String>,
}

impl<'t> Plan<'t> {
    fn new(
        tables: &[&'t Table],
        probes: &HashMap<String, Probe>,
        cache: &FingerprintCache,
        capture: bool,
    ) -> Plan<'t> {
        let mut plan = Plan::default();
        for t in tables {
            let name = t.qualified();
            let Some(p) = probes.get(&name) else {
                plan.stale.push(t);
                continue;
            };
            let id = identity(t, p.filenode);
            let (known, newer) = if capture {
                let captured = cache.captured.get(&name).map(|c| &c.known);
                (captured, p.newer_than_captured)
            } else {
                (cache.known.get(&name), p.newer_than_known)
            };
            let untouched = |k: &&Known| k.fingerprint.rows == p.rows && newer == 0;
            // No row written and the same storage and key: columns that did not change keep
            // their sums; only new or changed ones are hashed (`ADD COLUMN`).
            let reusable = |k: &&Known| {
                !capture && keyed(t) && k.filenode == p.filenode && k.primary_key == t.primary_key
            };
            if let Some(k) = known.filter(|k| k.identity == id && untouched(k)) {
                plan.unchanged.push((name.clone(), k.fingerprint.clone()));
            } else if let Some(k) = known.filter(|k| untouched(k) && reusable(k)) {
                let kept = kept_columns(t, k);
                if t.columns.iter().all(|c| kept.contains_key(&c.name)) {
                    let fingerprint = TableFingerprint {
                        rows: k.fingerprint.rows,
                        row_sum: k.fingerprint.row_sum.clone(),
                        columns: kept,
                    };
                    plan.complete.push((name.clone(), fingerprint));
                } else {
                    plan.partial.push((t, kept));
                }
            } else {
                plan.stale.push(t);
            }
            plan.identities.insert(name, id);
        }
        plan
    }
}

/// The fingerprints of `t`'s columns that `k` still tells without a scan: those whose shape
/// did not change, and new columns every row must hold NULL in.
fn kept_columns(t: &Table, k: &Known) -> BTreeMap<String, ColumnFingerprint> {
    let mut kept: BTreeMap<String, ColumnFingerprint> = t
        .columns
        .iter()
        .filter(|c| k.columns.get(&c.name) == Some(&column_id(c)))
        .filter_map(|c| {
            k.fingerprint
                .columns
                .get(&c.name)
                .map(|f| (c.name.clone(), f.clone()))
        })
        .collect();
    // A column added since, without a default, to a table no row was written to: every row
    // predates it, so it is NULL everywhere (what a scan would find: no values, sum 0). Only
    // when every known column is still there as it was: a new name might be a renamed column
    // with its values, and a known name may now be a new column that took it over.
    let none_gone = k
        .columns
        .iter()
        .all(|(name, id)| t.column(name).is_some_and(|c| column_id(c) == *id));
    for c in &t.columns {
        if none_gone
            && !k.columns.contains_key(&c.name)
            && !c.has_default
            && !c.server_filled
            && !c.generated
        {
            let empty = ColumnFingerprint {
                non_null: Some(0),
                sum: "0".into(),
            };
            kept.insert(c.name.clone(), empty);
        }
    }
    kept
}

/// Partly known tables: hashes the other columns (and the key, which the hashes need) and
/// adds the known ones.
async fn hash_new_columns(
    conn: &mut PgConnection,
    partial: &[(&Table, BTreeMap<String, ColumnFingerprint>)],
    computed: &mut DataFingerprint,
) -> Result<()> {
    let trimmed: Vec<Table> = partial
        .iter()
        .map(|(t, kept)| {
            let mut t = (*t).clone();
            t.columns
                .retain(|c| !kept.contains_key(&c.name) || t.primary_key.contains(&c.name));
            t
        })
        .collect();
    let trimmed_refs: Vec<&Table> = trimmed.iter().collect();
    let mut fresh = DataFingerprint::default();
    for chunk in trimmed_refs.chunks(CHUNK) {
        direct(conn, chunk, &mut fresh).await?;
    }
    for (t, kept) in partial {
        let name = t.qualified();
        if let Some(mut f) = fresh.tables.remove(&name) {
            for (column, fingerprint) in kept {
                f.columns.insert(column.clone(), fingerprint.clone());
            }
            computed.tables.insert(name, f);
        }
    }
    Ok(())
}

/// What the cache remembers of a fingerprint just computed.
struct State<'a> {
    tables: &'a [&'a Table],
    identities: &'a HashMap<String, String>,
    probes: &'a HashMap<String, Probe>,
    marker: &'a str,
}

impl State<'_> {
    fn known(&self, name: &str, fingerprint: &TableFingerprint) -> Known {
        let table = self.tables.iter().find(|t| t.qualified() == name);
        Known {
            identity: self.identities.get(name).cloned().unwrap_or_default(),
            columns: table
                .map(|t| {
                    t.columns
                        .iter()
                        .map(|c| (c.name.clone(), column_id(c)))
                        .collect()
                })
                .unwrap_or_default(),
            filenode: self.probes.get(name).map_or(0, |p| p.filenode),
            primary_key: table.map(|t| t.primary_key.clone()).unwrap_or_default(),
            marker: self.marker.to_string(),
            fingerprint: fingerprint.clone(),
        }
    }
}

/// Replaces the captured rows of `stale` tables (and drops those of vanished tables).
async fn recapture(
    conn: &mut PgConnection,
    tables: &[&Table],
    stale: &[&Table],
    cache: &mut FingerprintCache,
    out: &mut DataFingerprint,
) -> Result<()> {
    let stale_names: Vec<String> = stale.iter().map(|t| t.qualified()).collect();
    let keep: Vec<String> = tables
        .iter()
        .map(|t| t.qualified())
        .filter(|n| !stale_names.contains(n) && cache.captured.contains_key(n))
        .collect();
    cache.captured.retain(|name, _| keep.contains(name));
    sqlx::raw_sql(
        "CREATE TEMP TABLE IF NOT EXISTS driftless_rows (tbl text, pk text, h int8[], v text[])",
    )
    .execute(&mut *conn)
    .await
    .context(|| "cannot prepare the row capture table".into())?;
    sqlx::query("DELETE FROM pg_temp.driftless_rows WHERE tbl <> ALL($1)")
        .bind(&keep)
        .execute(&mut *conn)
        .await
        .context(|| "cannot clear the row capture table".into())?;
    for chunk in stale.chunks(CHUNK) {
        capture_rows(conn, chunk, &mut cache.captured).await?;
    }
    sums_from_capture(conn, stale, &cache.captured, out).await
}

async fn direct(
    conn: &mut PgConnection,
    tables: &[&Table],
    out: &mut DataFingerprint,
) -> Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    let selects: Vec<String> = tables
        .iter()
        .map(|t| {
            let columns: Vec<&Column> = t.columns.iter().collect();
            let key = if keyed(t) { row_key(t, "t") } else { "0::int8".into() };
            let mut parts = Vec::new();
            for (c, hash) in columns.iter().zip(column_hashes(&columns, t, &key, "t")) {
                parts.push(format!("count(t.{})::text", ident(&c.name)));
                parts.push(format!("coalesce(sum({hash})::text, '0')"));
            }
            let row_sum = if keyed(t) {
                "NULL::text".to_string()
            } else {
                format!("coalesce(sum({})::text, '0')", row_hash(&columns, t, "t"))
            };
            format!(
                "SELECT {} AS tbl, count(*)::int8 AS n, {row_sum} AS r, ARRAY[{}]::text[] AS c FROM {}{} t",
                literal(&t.qualified()),
                parts.join(", "),
                only(t),
                table_ref(t)
            )
        })
        .collect();
    let sql = selects.join("\nUNION ALL\n");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot compute data fingerprints".into())?;
    let by_name: HashMap<String, &Table> = tables.iter().map(|t| (t.qualified(), *t)).collect();
    for row in rows {
        let name: String = row.try_get(0).context(|| "fingerprint table".into())?;
        let Some(table) = by_name.get(&name) else {
            continue;
        };
        let values: Vec<String> = row.try_get(3).context(|| "fingerprint values".into())?;
        let mut columns = BTreeMap::new();
        for (i, c) in table.columns.iter().enumerate() {
            columns.insert(
                c.name.clone(),
                ColumnFingerprint {
                    non_null: Some(values[2 * i].parse().unwrap_or(0)),
                    sum: values[2 * i + 1].clone(),
                },
            );
        }
        out.tables.insert(
            name,
            TableFingerprint {
                rows: row.try_get(1).context(|| "fingerprint rows".into())?,
                row_sum: row.try_get(2).context(|| "fingerprint row sum".into())?,
                columns,
            },
        );
    }
    Ok(())
}

async fn capture_rows(
    conn: &mut PgConnection,
    tables: &[&Table],
    captured: &mut HashMap<String, Captured>,
) -> Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    let selects: Vec<String> = tables
        .iter()
        .map(|t| {
            let columns: Vec<&Column> = t.columns.iter().collect();
            let is_keyed = keyed(t);
            let (pk, key) = if is_keyed {
                (key_text(t, "t"), row_key(t, "t"))
            } else {
                ("NULL::text".to_string(), "0::int8".to_string())
            };
            let mut hashes = column_hashes(&columns, t, &key, "t");
            if !is_keyed {
                hashes.push(row_hash(&columns, t, "t"));
            }
            // The values themselves, for the examples of findings: keyed rows only, where a
            // finding can say which row a value belonged to.
            let values = match is_keyed {
                true => value_texts(&columns, t, "t"),
                false => "NULL::text[]".into(),
            };
            captured.insert(
                t.qualified(),
                Captured {
                    columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                    keyed: is_keyed,
                    // Filled in by `fingerprint` once the sums are known.
                    known: Known {
                        identity: String::new(),
                        columns: BTreeMap::new(),
                        filenode: 0,
                        primary_key: Vec::new(),
                        marker: String::new(),
                        fingerprint: TableFingerprint::default(),
                    },
                },
            );
            format!(
                "SELECT {}, {pk}, ARRAY[{}]::int8[], {values} FROM {}{} t",
                literal(&t.qualified()),
                hashes.join(", "),
                only(t),
                table_ref(t)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO {CAPTURE} (tbl, pk, h, v)\n{}",
        selects.join("\nUNION ALL\n")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .context(|| "cannot capture rows for the data diff".into())?;
    Ok(())
}

async fn sums_from_capture(
    conn: &mut PgConnection,
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
    if tables.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = tables.iter().map(|t| t.qualified()).collect();
    let rows = sqlx::query(
        "SELECT r.tbl, u.i::int4, count(*)::int8, count(u.x)::int8, coalesce(sum(u.x)::text, '0')
         FROM pg_temp.driftless_rows r, unnest(r.h) WITH ORDINALITY u(x, i)
         WHERE r.tbl = ANY($1)
         GROUP BY r.tbl, u.i",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot sum captured rows".into())?;
    for row in rows {
        let name: String = row.try_get(0).context(|| "capture table".into())?;
        let index: i32 = row.try_get(1).context(|| "capture index".into())?;
        let Some(fp) = out.tables.get_mut(&name) else {
            continue;
        };
        let Some(capture) = captured.get(&name) else {
            continue;
        };
        let rows: i64 = row.try_get(2).context(|| "capture rows".into())?;
        let non_null: i64 = row.try_get(3).context(|| "capture count".into())?;
        let sum: String = row.try_get(4).context(|| "capture sum".into())?;
        fp.rows = rows;
        match capture.columns.get(index as usize - 1) {
            Some(column) => {
                let non_null = Some(non_null);
                fp.columns
                    .insert(column.clone(), ColumnFingerprint { non_null, sum });
            }
            None => fp.row_sum = Some(sum),
        }
    }
    Ok(())
}

impl FingerprintCache {
    /// Row-level comparison of `now` against what was captured for `before`.
    pub async fn row_diff(
        &self,
        conn: &mut PgConnection,
        before: &Table,
        now: &Table,
    ) -> Result<Option<RowDiff>> {
        let Some(capture) = self.captured.get(&before.qualified()) else {
            return Ok(None);
        };
        let Some(columns) = captured_columns(&capture.columns, before) else {
            return Ok(None);
        };
        let current_keyed = before.primary_key.iter().all(|c| now.column(c).is_some());
        if capture.keyed && current_keyed {
            keyed_diff(conn, before, now, &columns).await.map(Some)
        } else if !capture.keyed {
            multiset_diff(conn, before, now, &columns).await.map(Some)
        } else {
            Ok(None)
        }
    }
}

async fn keyed_diff(
    conn: &mut PgConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
) -> Result<RowDiff> {
    // The key expression follows the *before* table, so keys hash as they did at capture.
    let key = row_key(before, "t");
    let hashes = column_hashes(columns, now, &key, "t");
    let changed = |i: usize| {
        format!("b.pk IS NOT NULL AND n.pk IS NOT NULL AND b.h[{i}] IS DISTINCT FROM n.h[{i}]")
    };
    let sample = |condition: &str| {
        format!(
            "array_to_string((array_agg(b.pk ORDER BY length(b.pk), b.pk) FILTER (WHERE {condition}))[1:{SAMPLES}], chr(31))"
        )
    };
    let counts: Vec<String> = (1..=columns.len())
        .map(|i| format!("count(*) FILTER (WHERE {})::text", changed(i)))
        .collect();
    let sample_lists: Vec<String> = (1..=columns.len()).map(|i| sample(&changed(i))).collect();
    let sql = format!(
        "WITH b AS (SELECT pk, h FROM {CAPTURE} WHERE tbl = {name}),
              n AS (SELECT {pk} AS pk, ARRAY[{hashes}]::int8[] AS h FROM {only}{table} t)
         SELECT (SELECT count(*) FROM b)::int8, (SELECT count(*) FROM n)::int8,
                count(*) FILTER (WHERE n.pk IS NULL)::int8, count(*) FILTER (WHERE b.pk IS NULL)::int8,
                {missing},
                ARRAY[{counts}]::text[], ARRAY[{sample_lists}]::text[]
         FROM b FULL JOIN n ON b.pk = n.pk",
        name = literal(&before.qualified()),
        pk = key_text(before, "t"),
        hashes = hashes.join(", "),
        only = only(now),
        table = table_ref(now),
        missing = sample("n.pk IS NULL"),
        counts = if counts.is_empty() { "NULL".into() } else { counts.join(", ") },
        sample_lists = if sample_lists.is_empty() { "NULL".into() } else { sample_lists.join(", ") },
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .context(|| format!("cannot compare rows of {}", before.qualified()))?;
    let counts: Vec<Option<String>> = row.try_get(5).unwrap_or_default();
    let sampled: Vec<Option<String>> = row.try_get(6).unwrap_or_default();
    let mut diff = RowDiff {
        keyed: true,
        rows_before: row.try_get(0).context(|| "rows before".into())?,
        rows_after: row.try_get(1).context(|| "rows after".into())?,
        rows_missing: row.try_get(2).context(|| "rows missing".into())?,
        rows_added: row.try_get(3).context(|| "rows added".into())?,
        missing_sample: samples(row.try_get(4).context(|| "missing sample".into())?),
        ..RowDiff::default()
    };
    for (i, c) in columns.iter().enumerate() {
        let changed: i64 = counts
            .get(i)
            .cloned()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if changed > 0 {
            diff.columns.insert(
                c.name.clone(),
                ColumnRowDiff {
                    changed,
                    sample: samples(sampled.get(i).cloned().flatten()),
                    ..ColumnRowDiff::default()
                },
            );
        }
    }
    let keys = diff.example_keys();
    if !keys.is_empty() {
        let values = row_values(conn, before, now, columns, &keys).await?;
        diff.attach_examples(&values);
    }
    Ok(diff)
}

impl FingerprintCache {
    /// The first rows captured for `before` by key (shortest first), as they were.
    pub async fn captured_rows(
        &self,
        conn: &mut PgConnection,
        before: &Table,
    ) -> Result<Vec<MissingRow>> {
        let Some(capture) = self.captured.get(&before.qualified()).filter(|c| c.keyed) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT pk, v FROM pg_temp.driftless_rows WHERE tbl = $1 AND pk IS NOT NULL
             ORDER BY length(pk), pk LIMIT $2",
        )
        .bind(before.qualified())
        .bind(EXAMPLES as i64)
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot read captured rows of {}", before.qualified()))?;
        let mut out = Vec::new();
        for row in rows {
            let key: String = row.try_get(0).context(|| "captured key".into())?;
            let values: Option<Vec<Option<String>>> =
                row.try_get(1).context(|| "captured values".into())?;
            let values = values.unwrap_or_default();
            out.push(MissingRow::from_text(key, &capture.columns, values));
        }
        Ok(out)
    }
}

/// The captured and current values of the rows with `keys`.
async fn row_values(
    conn: &mut PgConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
    keys: &[String],
) -> Result<RowValues> {
    let pk = key_text(before, "t");
    let sql = format!(
        "SELECT b.pk, b.v, n.v FROM {CAPTURE} b
         LEFT JOIN (SELECT {pk} AS pk, {values} AS v FROM {only}{table} t WHERE {pk} = ANY($2)) n
           ON n.pk = b.pk
         WHERE b.tbl = $1 AND b.pk = ANY($2)",
        values = value_texts(columns, now, "t"),
        only = only(now),
        table = table_ref(now),
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .bind(before.qualified())
        .bind(keys)
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot read example values of {}", before.qualified()))?;
    let mut out = RowValues {
        columns: columns.iter().map(|c| c.name.clone()).collect(),
        ..RowValues::default()
    };
    for row in rows {
        let key: String = row.try_get(0).context(|| "example key".into())?;
        let was: Option<Vec<Option<String>>> = row.try_get(1).context(|| "example".into())?;
        let is: Option<Vec<Option<String>>> = row.try_get(2).context(|| "example".into())?;
        if let Some(is) = is {
            out.now.insert(key.clone(), is);
        }
        out.before.insert(key, was.unwrap_or_default());
    }
    Ok(out)
}

async fn multiset_diff(
    conn: &mut PgConnection,
    before: &Table,
    now: &Table,
    columns: &[&Column],
) -> Result<RowDiff> {
    let index = columns.len() + 1;
    let sql = format!(
        "WITH b AS (SELECT h[{index}] AS r FROM {CAPTURE} WHERE tbl = {name}),
              n AS (SELECT {hash} AS r FROM {only}{table} t)
         SELECT (SELECT count(*) FROM b)::int8, (SELECT count(*) FROM n)::int8,
                (SELECT count(*) FROM (SELECT r FROM b EXCEPT ALL SELECT r FROM n) x)::int8,
                (SELECT count(*) FROM (SELECT r FROM n EXCEPT ALL SELECT r FROM b) y)::int8",
        name = literal(&before.qualified()),
        hash = row_hash(columns, now, "t"),
        only = only(now),
        table = table_ref(now),
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .context(|| format!("cannot compare rows of {}", before.qualified()))?;
    Ok(RowDiff {
        keyed: false,
        rows_before: row.try_get(0).context(|| "rows before".into())?,
        rows_after: row.try_get(1).context(|| "rows after".into())?,
        rows_missing: row.try_get(2).context(|| "rows missing".into())?,
        rows_added: row.try_get(3).context(|| "rows added".into())?,
        ..RowDiff::default()
    })
}

impl FingerprintCache {
    /// Counts captured values of `column` that do not survive converting its current values back
    /// to the type it had in `before`.
    pub async fn survival(
        &self,
        conn: &mut PgConnection,
        before: &Table,
        now: &Table,
        column: &str,
    ) -> Result<Survival> {
        let Some(capture) = self.captured.get(&before.qualified()) else {
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
        let converted = format!("(t.{})::{}", ident(column), old.data_type);
        let sql = format!(
        "SELECT count(*)::int8 FROM {CAPTURE} b
         JOIN (SELECT {pk} AS pk, hashtextextended({value}, {key}) AS h FROM {only}{table} t) n ON n.pk = b.pk
         WHERE b.tbl = {name} AND b.h[{i}] IS DISTINCT FROM n.h",
        pk = key_text(before, "t"),
        value = normalized(&converted, old),
        key = row_key(before, "t"),
        only = only(now),
        table = table_ref(now),
        name = literal(&before.qualified()),
        i = index + 1,
    );
        match sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
        {
            Ok(row) => {
                let lost: i64 = row.try_get(0).context(|| "lost values".into())?;
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
}
