//! `dry-run` on PostgreSQL: restoring a dump, and applying migrations statement by statement
//! while another session watches `pg_locks` of the migrating backend.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgConnection;

use crate::engine::sql_common::{
    LockWatch, SqlSession, failure, last_statement, lost_connection, watched,
};
use crate::engine::{Applied, StatementTrace};
use crate::error::Context;
use crate::migrations::{Script, Statement};
use crate::report::TableLock;
use crate::sandbox::run_tool;
use crate::{Error, Result};

/// How often the watching session looks at the locks.
const POLL: Duration = Duration::from_millis(20);

/// User relations: not catalogs, not TOAST, not temp.
const USER_RELATION: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// PostgreSQL's table lock modes, weakest first.
const MODES: &[&str] = &[
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

fn rank(mode: &str) -> usize {
    MODES.iter().position(|m| *m == mode).unwrap_or(0)
}

/// What a lock mode blocks for ordinary reads (`SELECT`) and writes (`INSERT`, `UPDATE`,
/// `DELETE`) of other sessions.
pub fn blocks(mode: &str) -> Option<&'static str> {
    match rank(mode) {
        7 => Some("reads and writes"),
        4..=6 => Some("writes"),
        _ => None,
    }
}

/// A lock the migrating backend holds on a user table or index: its mode, and for an index
/// the table it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    mode: String,
    index_of: Option<String>,
}

/// Relation locks the backend `pid` holds on user tables and their indexes: relation →
/// strongest mode. Only relations committed before show (the watcher cannot see a table or
/// index the migrating transaction creates, which nobody else can use either).
async fn held(conn: &mut PgConnection, pid: i32) -> Result<HashMap<String, Held>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.mode::text, n.nspname::text || '.' || c.relname::text,
                tn.nspname::text || '.' || t.relname::text
         FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_index x ON x.indexrelid = c.oid AND c.relkind IN ('i', 'I')
         LEFT JOIN pg_class t ON t.oid = x.indrelid
         LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
         WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation'
           AND c.relkind IN ('r', 'p', 'm', 'i', 'I') AND {USER_RELATION}"
    )))
    .bind(pid)
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read pg_locks".into())?;
    let mut out: HashMap<String, Held> = HashMap::new();
    for row in rows {
        let mode: String = row.try_get(0).unwrap_or_default();
        let relation: String = row.try_get(1).unwrap_or_default();
        let index_of: Option<String> = row.try_get(2).unwrap_or_default();
        let stronger = out
            .get(&relation)
            .is_none_or(|h| rank(&mode) > rank(&h.mode));
        if stronger {
            out.insert(relation, Held { mode, index_of });
        }
    }
    Ok(out)
}

/// The session's `lock_timeout` in ms, where one is set (by the migration, the runner's
/// session or `--lock-timeout`). `statement_timeout` is left out: driftless sets its own.
async fn lock_timeout(conn: &mut PgConnection) -> Result<Option<u64>> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT NULLIF(setting::bigint, 0) FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'",
    )
    .fetch_one(&mut *conn)
    .await
    .context(|| "cannot read the session's lock_timeout".into())?;
    Ok(ms.map(|ms| ms.max(0) as u64))
}

/// Whether the backend `pid` is inside a transaction block (one a script opened itself).
async fn in_transaction(conn: &mut PgConnection, pid: i32) -> Result<bool> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state::text FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_optional(&mut *conn)
            .await
            .context(|| "cannot read pg_stat_activity".into())?
            .flatten();
    Ok(state.is_some_and(|s| s.starts_with("idle in transaction")))
}

/// Storage file of every user table, seen from the migrating session (its own transaction).
async fn filenodes(conn: &mut PgConnection) -> Result<HashMap<i64, (i64, String)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.oid::int8, c.relfilenode::int8, n.nspname::text || '.' || c.relname::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'm') AND {USER_RELATION}"
    )))
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read table files".into())?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.try_get::<i64, _>(0).unwrap_or_default(),
                (
                    r.try_get::<i64, _>(1).unwrap_or_default(),
                    r.try_get::<String, _>(2).unwrap_or_default(),
                ),
            )
        })
        .collect())
}

/// What the migrating backend takes while a statement runs, as the watching session sees
/// it: per relation the strongest mode beyond what its transaction already held when the
/// statement started (those locks are an earlier statement's).
struct PgLocks<'a> {
    watcher: &'a mut PgConnection,
    pid: i32,
    before: HashMap<String, Held>,
    seen: HashMap<String, Held>,
}

#[async_trait]
impl LockWatch for PgLocks<'_> {
    async fn look(&mut self) -> Result<()> {
        for (relation, lock) in held(self.watcher, self.pid).await? {
            let beyond =
                |other: Option<&Held>| other.is_none_or(|h| rank(&lock.mode) > rank(&h.mode));
            if beyond(self.before.get(&relation)) && beyond(self.seen.get(&relation)) {
                self.seen.insert(relation, lock);
            }
        }
        Ok(())
    }
}

impl PgLocks<'_> {
    /// Starts watching a statement of the backend: what it holds now is not the statement's.
    async fn start<'a>(watcher: &'a mut PgConnection, pid: i32) -> Result<PgLocks<'a>> {
        let before = held(watcher, pid).await?;
        Ok(PgLocks {
            watcher,
            pid,
            before,
            seen: HashMap::new(),
        })
    }

    /// Every lock the statement took, the most blocking first: each table's, and an index's
    /// where it is stronger than what the statement took on the index's table (`REINDEX`).
    fn taken(self) -> Vec<TableLock> {
        let on_table = |table: &str| {
            self.seen
                .get(table)
                .or_else(|| self.before.get(table))
                .map_or(0, |h| rank(&h.mode))
        };
        let mut locks: Vec<TableLock> = self
            .seen
            .iter()
            .filter(|(_, h)| {
                h.index_of
                    .as_deref()
                    .is_none_or(|table| rank(&h.mode) > on_table(table))
            })
            .map(|(relation, h)| TableLock {
                relation: relation.clone(),
                index_of: h.index_of.clone(),
                lock: h.mode.clone(),
                blocks: blocks(&h.mode).map(str::to_string),
            })
            .collect();
        locks.sort_by(|a, b| {
            rank(&b.lock)
                .cmp(&rank(&a.lock))
                .then(a.index_of.is_some().cmp(&b.index_of.is_some()))
                .then(a.relation.cmp(&b.relation))
        });
        locks
    }
}

/// Applies `script` on `migrator` as `sql_common::apply` does, tracing each statement: its
/// time, rows, the locks `watcher` saw it take and the tables it rewrote.
pub async fn apply_traced(
    migrator: &mut PgConnection,
    watcher: &mut PgConnection,
    script: &Script,
) -> Result<(Applied, Vec<StatementTrace>)> {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis() as u64;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *migrator)
        .await
        .context(|| "cannot identify the migrating session".into())?;
    let context = lost_connection(script);
    let wrapped = crate::migrations::runs_in_transaction(script, super::TRANSACTIONS);
    if wrapped {
        migrator.run("BEGIN").await.context(context)?;
    }
    let mut traces = Vec::new();
    let mut starts = Vec::new();
    for statement in &script.statements {
        crate::activity::statement(&script.path, statement.line, &statement.sql);
        // A statement on its own is its own transaction, whose locks end with it, often
        // before the watcher's first look: it runs in an explicit one, so that what it took
        // can be seen before the commit. Statements that refuse a transaction block, that
        // behave otherwise in one (`LOCK`, `DECLARE` fail outside one, as the runner would
        // have them), that may commit themselves, and transaction control, run as written.
        let alone = !wrapped
            && !statement.needs_autocommit
            && !statement.transaction_control
            && !starts_with_any(&statement.sql, &["CALL", "DO", "LOCK", "DECLARE"])
            && !in_transaction(watcher, pid).await?;
        let (trace, error) = if alone {
            trace_alone(migrator, watcher, pid, statement).await?
        } else {
            let watch = PgLocks::start(watcher, pid).await?;
            trace_statement(migrator, watch, statement).await?
        };
        starts.push(Instant::now() - Duration::from_millis(trace.ms));
        traces.push(trace);
        if let Some(e) = error {
            let failed = failure::<PgConnection>(e, statement, &context, ms())?;
            let _ = migrator.run("ROLLBACK").await;
            return Ok((failed, traces));
        }
    }
    if wrapped && let Err(e) = migrator.run("COMMIT").await {
        let failed = failure::<PgConnection>(e, &last_statement(script), &context, ms())?;
        let _ = migrator.run("ROLLBACK").await;
        return Ok((failed, traces));
    }
    if wrapped {
        // Locks of a transaction are held until it ends.
        let end = Instant::now();
        for (trace, t0) in traces.iter_mut().zip(&starts) {
            trace.held_ms = end.duration_since(*t0).as_millis() as u64;
        }
    }
    Ok((Applied::Done { ms: ms() }, traces))
}

fn starts_with_any(sql: &str, words: &[&str]) -> bool {
    let first = crate::migrations::first_code_line(sql)
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    words.iter().any(|w| first.eq_ignore_ascii_case(w))
}

/// A statement outside any transaction, in one of its own: `BEGIN`, the statement, what it
/// holds, `COMMIT`. One the server refuses in a transaction block (a `CONCURRENTLY` the
/// splitter did not mark, a procedure that commits) is rolled back and run as written.
async fn trace_alone(
    migrator: &mut PgConnection,
    watcher: &mut PgConnection,
    pid: i32,
    statement: &Statement,
) -> Result<(StatementTrace, Option<sqlx::Error>)> {
    migrator
        .run("BEGIN")
        .await
        .context(|| "lost the database connection".into())?;
    let watch = PgLocks::start(watcher, pid).await?;
    let (mut trace, error) = trace_statement(migrator, watch, statement).await?;
    let refused_in_block = |e: &sqlx::Error| {
        matches!(e, sqlx::Error::Database(d)
            if matches!(d.code().as_deref(), Some("25001" | "2D000")))
    };
    match error {
        Some(e) if refused_in_block(&e) => {
            let _ = migrator.run("ROLLBACK").await;
            let watch = PgLocks::start(watcher, pid).await?;
            trace_statement(migrator, watch, statement).await
        }
        Some(e) => {
            let _ = migrator.run("ROLLBACK").await;
            Ok((trace, Some(e)))
        }
        None => {
            let t0 = Instant::now();
            if let Err(e) = migrator.run("COMMIT").await {
                let _ = migrator.run("ROLLBACK").await;
                return Ok((trace, Some(e)));
            }
            trace.held_ms = trace.ms + t0.elapsed().as_millis() as u64;
            Ok((trace, None))
        }
    }
}

/// Runs one statement while `watch` looks at its locks. Returns its trace, and the error it
/// failed with (the trace then only says how long it ran).
async fn trace_statement(
    migrator: &mut PgConnection,
    mut watch: PgLocks<'_>,
    statement: &Statement,
) -> Result<(StatementTrace, Option<sqlx::Error>)> {
    let files_before = filenodes(migrator).await?;
    let t0 = Instant::now();
    let result = watched(migrator.run(&statement.sql), POLL, Some(&mut watch)).await?;
    let ms = t0.elapsed().as_millis() as u64;
    let mut trace = StatementTrace {
        line: statement.line,
        sql: StatementTrace::full(&statement.sql),
        ms,
        ..StatementTrace::default()
    };
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => return Ok((trace, Some(e))),
    };
    // A transaction keeps its locks: what it holds now and did not before is this
    // statement's, even when the statement finished between two looks.
    watch.look().await?;
    let locks = watch.taken();
    let files_after = filenodes(migrator).await?;
    let mut rewrote: Vec<String> = files_after
        .iter()
        .filter(|(oid, (node, _))| files_before.get(oid).is_some_and(|(b, _)| b != node))
        .map(|(_, (_, name))| name.clone())
        .collect();
    rewrote.sort();
    trace.rows = Some(rows);
    if let Some(first) = locks.first() {
        trace.lock = Some(first.lock.clone());
        trace.lock_on = Some(first.relation.clone());
        trace.blocks = first.blocks.clone();
    }
    trace.locks = locks;
    trace.lock_timeout_ms = lock_timeout(migrator).await?;
    trace.held_ms = ms;
    trace.rewrote = rewrote;
    Ok((trace, None))
}

/// What kind of dump a file is.
fn is_archive(path: &Path) -> Result<bool> {
    if path.is_dir() {
        return Ok(path.join("toc.dat").is_file());
    }
    let mut head = [0u8; 512];
    let n = {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(|e| {
            Error::input(format!("cannot read the snapshot {}: {e}", path.display()))
        })?;
        file.read(&mut head).unwrap_or(0)
    };
    // Custom format starts with PGDMP; tar has `ustar` at 257.
    Ok(head[..n].starts_with(b"PGDMP") || (n > 262 && &head[257..262] == b"ustar"))
}

/// `pg_restore -j2` for custom, directory and tar archives; `psql -f` for plain SQL.
pub async fn restore(bin_dir: &Path, url: &str, path: &Path) -> Result<()> {
    if is_archive(path)? {
        let mut command = super::sandbox::tool_command(&bin_dir.join("pg_restore"), url)?;
        command
            .args([
                "--jobs=2",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
            ])
            .arg(path);
        run_tool(command, "pg_restore").await.map(|_| ())
    } else {
        let mut command = super::sandbox::tool_command(&bin_dir.join("psql"), url)?;
        command
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-X", "-f"])
            .arg(path);
        run_tool(command, "psql").await.map(|_| ())
    }
}

/// Any read-only query, every value as COPY text.
pub async fn query_rows(conn: &mut PgConnection, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    use futures_util::TryStreamExt;
    let mut stream = conn
        .copy_out_raw(&format!("COPY ({sql}) TO STDOUT"))
        .await
        .context(|| format!("cannot run {sql}"))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .context(|| format!("cannot run {sql}"))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(super::copy::parse_line)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_behave_otherwise_in_a_transaction_block_are_told_by_their_first_word() {
        let kept = ["CALL", "DO", "LOCK", "DECLARE"];
        assert!(starts_with_any(
            "-- take it first\nlock table t in exclusive mode",
            &kept
        ));
        assert!(starts_with_any("DO $$ BEGIN COMMIT; END $$", &kept));
        assert!(!starts_with_any("ALTER TABLE locks ADD x int", &kept));
        assert!(!starts_with_any("DOMAIN", &kept));
    }

    #[test]
    fn what_a_mode_blocks() {
        assert_eq!(blocks("AccessExclusiveLock"), Some("reads and writes"));
        assert_eq!(blocks("ShareLock"), Some("writes"));
        assert_eq!(blocks("ShareUpdateExclusiveLock"), None);
        assert_eq!(blocks("RowExclusiveLock"), None);
    }
}
