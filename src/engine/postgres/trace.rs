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

/// Relation locks the backend `pid` holds on user tables: relation → strongest mode.
async fn held(conn: &mut PgConnection, pid: i32) -> Result<HashMap<String, String>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.mode::text, n.nspname::text || '.' || c.relname::text
         FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation' AND c.relkind IN ('r', 'p', 'm')
           AND {USER_RELATION}"
    )))
    .bind(pid)
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read pg_locks".into())?;
    let mut out: HashMap<String, String> = HashMap::new();
    for row in rows {
        let mode: String = row.try_get(0).unwrap_or_default();
        let relation: String = row.try_get(1).unwrap_or_default();
        let stronger = out.get(&relation).is_none_or(|m| rank(&mode) > rank(m));
        if stronger {
            out.insert(relation, mode);
        }
    }
    Ok(out)
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

/// What the migrating backend holds, as the watching session sees it: the strongest mode
/// seen per relation while a statement runs.
struct PgLocks<'a> {
    watcher: &'a mut PgConnection,
    pid: i32,
    seen: HashMap<String, String>,
}

#[async_trait]
impl LockWatch for PgLocks<'_> {
    async fn look(&mut self) -> Result<()> {
        for (relation, mode) in held(self.watcher, self.pid).await? {
            if self
                .seen
                .get(&relation)
                .is_none_or(|m| rank(&mode) > rank(m))
            {
                self.seen.insert(relation, mode);
            }
        }
        Ok(())
    }
}

impl PgLocks<'_> {
    /// A transaction keeps its locks: what it holds now that it did not hold before (`held`
    /// before this statement, updated here) is this statement's, even when the statement
    /// finished between two looks.
    async fn taken_since(&mut self, held_before: &mut HashMap<String, String>) -> Result<()> {
        for (relation, mode) in held(self.watcher, self.pid).await? {
            let new = held_before
                .get(&relation)
                .is_none_or(|m| rank(&mode) > rank(m));
            if new
                && self
                    .seen
                    .get(&relation)
                    .is_none_or(|m| rank(&mode) > rank(m))
            {
                self.seen.insert(relation.clone(), mode.clone());
            }
            held_before.insert(relation, mode);
        }
        Ok(())
    }

    /// The strongest lock seen: relation and mode.
    fn strongest(self) -> Option<(String, String)> {
        self.seen.into_iter().max_by_key(|(_, mode)| rank(mode))
    }
}

/// Applies `script` on `migrator` as `sql_common::apply` does, tracing each statement: its
/// time, rows, the strongest lock `watcher` saw it take and the tables it rewrote.
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
    // Locks the transaction held before each statement: only new or stronger ones are its own.
    let mut held_before = HashMap::new();
    let mut starts = Vec::new();
    for statement in &script.statements {
        crate::activity::statement(&script.path, statement.line, &statement.sql);
        let watch = PgLocks {
            watcher: &mut *watcher,
            pid,
            seen: HashMap::new(),
        };
        let held_before = wrapped.then_some(&mut held_before);
        let (trace, error) =
            trace_statement(migrator, watch, statement, held_before, &mut starts).await?;
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

/// Runs one statement while `watch` looks at its locks. Returns its trace, and the error it
/// failed with (the trace then only says how long it ran). In a transaction, `held_before`
/// is what the transaction held before the statement. When it started goes on `starts`.
async fn trace_statement(
    migrator: &mut PgConnection,
    mut watch: PgLocks<'_>,
    statement: &Statement,
    held_before: Option<&mut HashMap<String, String>>,
    starts: &mut Vec<Instant>,
) -> Result<(StatementTrace, Option<sqlx::Error>)> {
    let files_before = filenodes(migrator).await?;
    let t0 = Instant::now();
    starts.push(t0);
    let result = watched(migrator.run(&statement.sql), POLL, Some(&mut watch)).await?;
    let ms = t0.elapsed().as_millis() as u64;
    let mut trace = StatementTrace {
        line: statement.line,
        sql: StatementTrace::headline(&statement.sql),
        ms,
        ..StatementTrace::default()
    };
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => return Ok((trace, Some(e))),
    };
    if let Some(held_before) = held_before {
        watch.taken_since(held_before).await?;
    }
    let strongest = watch.strongest();
    let files_after = filenodes(migrator).await?;
    let mut rewrote: Vec<String> = files_after
        .iter()
        .filter(|(oid, (node, _))| files_before.get(oid).is_some_and(|(b, _)| b != node))
        .map(|(_, (_, name))| name.clone())
        .collect();
    rewrote.sort();
    trace.rows = Some(rows);
    trace.blocks = strongest
        .as_ref()
        .and_then(|(_, m)| blocks(m))
        .map(str::to_string);
    trace.lock = strongest.as_ref().map(|(_, m)| m.clone());
    trace.lock_on = strongest.map(|(r, _)| r);
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
