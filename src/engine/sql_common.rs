//! What the two SQL engines (PostgreSQL, MySQL) share about a session: applying a script
//! statement by statement (in one transaction when it can be one), inserting seed rows in
//! batches with a row-by-row retry, tracing a statement while another session watches its
//! locks, the throwaway database on a `--url` server, closing at teardown, and the parts of
//! fingerprints and drill-downs that do not depend on the dialect. Each engine gives its
//! dialect: a [`SqlSession`] for its connection type and the statements around these.

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::error::DatabaseError;

use super::{Applied, Inserted};
use crate::data::{ColumnFingerprint, TableFingerprint};
use crate::error::Context;
use crate::migrations::{Script, Statement};
use crate::sandbox::{Disposable, Instance, ThrowawayServer};
use crate::schema::{Column, Table};
use crate::{Error, Result};

/// One engine's database session, as [`apply`] and [`insert_rows`] use it.
#[async_trait]
pub trait SqlSession: Send {
    /// The statement that opens a transaction (`BEGIN`, `START TRANSACTION`).
    const BEGIN: &'static str;

    /// What the server does with a script's transactions (the engine's spec says the same).
    const TRANSACTIONS: crate::migrations::ServerTransactions;

    /// Runs `sql` (one or more statements, not prepared) and returns the rows it affected.
    async fn run(&mut self, sql: &str) -> std::result::Result<u64, sqlx::Error>;

    /// The first column of every row `sql` returns, as text.
    async fn texts(&mut self, sql: &str) -> std::result::Result<Vec<String>, sqlx::Error>;

    /// The server refused `statement`: a failure at its line, or at the line inside it the
    /// server points at.
    fn failed(error: &dyn DatabaseError, statement: &Statement, ms: u64) -> Applied;
}

/// A statement's error as the outcome of applying its script: a database error is a
/// failure at its line ([`SqlSession::failed`]); anything else (a lost connection) is an
/// infrastructure error described by `context`.
pub fn failure<S: SqlSession>(
    error: sqlx::Error,
    statement: &Statement,
    context: &dyn Fn() -> String,
    ms: u64,
) -> Result<Applied> {
    match error {
        sqlx::Error::Database(db) => Ok(S::failed(db.as_ref(), statement, ms)),
        error => Err(Error::Database {
            context: context(),
            source: error,
        }),
    }
}

/// What a failed apply says when the connection, not a statement, failed.
pub fn lost_connection(script: &Script) -> impl Fn() -> String + Copy + '_ {
    move || {
        format!(
            "lost the database connection while applying {}",
            script.path.display()
        )
    }
}

/// The statement a failed `COMMIT` is blamed on: deferred constraints are checked at commit,
/// so the last one.
pub fn last_statement(script: &Script) -> Statement {
    script.statements.last().cloned().unwrap_or(Statement {
        sql: String::new(),
        line: 1,
        needs_autocommit: false,
        transaction_control: false,
    })
}

/// Applies `script` as its tool's runner would, statement by statement: in one transaction
/// when the runner wraps it, or when the runner sends the whole file as one request and the
/// server makes that one transaction (`migrations::runs_in_transaction`). A failing statement
/// is an `Applied::Failed`, and leaves no open transaction behind (whether ours or one the
/// script opened).
pub async fn apply<S: SqlSession>(conn: &mut S, script: &Script) -> Result<Applied> {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis() as u64;
    let context = lost_connection(script);
    let wrapped = crate::migrations::runs_in_transaction(script, S::TRANSACTIONS);
    if wrapped {
        conn.run(S::BEGIN).await.context(context)?;
    }
    for statement in &script.statements {
        crate::activity::statement(&script.path, statement.line, &statement.sql);
        let ran = conn.run(&statement.sql).await;
        crate::activity::statement_done();
        if let Err(e) = ran {
            let failed = failure::<S>(e, statement, &context, ms())?;
            let _ = conn.run("ROLLBACK").await;
            return Ok(failed);
        }
    }
    if wrapped && let Err(e) = conn.run("COMMIT").await {
        let failed = failure::<S>(e, &last_statement(script), &context, ms())?;
        let _ = conn.run("ROLLBACK").await;
        return Ok(failed);
    }
    Ok(Applied::Done { ms: ms() })
}

/// How an engine writes seed rows: `INSERT INTO schema.table (columns) VALUES (…), (…){tail}`,
/// `batch` rows a statement, `value(i, v)` the literal of `v` (`None`: NULL) in the `i`th column.
pub struct InsertStatements<'a> {
    pub dialect: crate::sql::Dialect,
    pub tail: &'static str,
    pub batch: usize,
    pub value: &'a (dyn Fn(usize, Option<&str>) -> String + Sync),
}

/// Rows as [`insert_rows`] writes them: the statement's head and the engine's rendering.
struct Insert<'a> {
    head: String,
    how: &'a InsertStatements<'a>,
}

impl Insert<'_> {
    fn statement<'r>(&self, rows: impl Iterator<Item = &'r Vec<Option<String>>>) -> String {
        let values: Vec<String> = rows.map(|row| self.row(row)).collect();
        format!("{}{}{}", self.head, values.join(", "), self.how.tail)
    }

    fn row(&self, row: &[Option<String>]) -> String {
        let values: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, v)| (self.how.value)(i, v.as_deref()))
            .collect();
        format!("({})", values.join(", "))
    }
}

/// Inserts seed rows into `columns` of `table`; a batch that fails is retried row by row and
/// the rows the server refuses are skipped.
pub async fn insert_rows<S: SqlSession>(
    conn: &mut S,
    table: &Table,
    columns: &[String],
    rows: &[Vec<Option<String>>],
    how: &InsertStatements<'_>,
) -> Result<Inserted> {
    let dialect = how.dialect;
    let names: Vec<String> = columns
        .iter()
        .map(|c| crate::sql::ident(dialect, c))
        .collect();
    let target = crate::sql::qualified(dialect, &table.schema, &table.name);
    let insert = Insert {
        head: format!("INSERT INTO {target} ({}) VALUES ", names.join(", ")),
        how,
    };
    let mut inserted = Inserted::default();
    for batch in rows.chunks(how.batch) {
        match conn.run(&insert.statement(batch.iter())).await {
            Ok(affected) => {
                let affected = affected.min(batch.len() as u64);
                inserted.rows += affected;
                inserted.skipped += batch.len() as u64 - affected;
            }
            Err(sqlx::Error::Database(_)) => {
                insert_one_by_one(conn, table, &insert, batch, &mut inserted).await?;
            }
            Err(e) => return Err(seed_failed(table, e)),
        }
    }
    Ok(inserted)
}

async fn insert_one_by_one<S: SqlSession>(
    conn: &mut S,
    table: &Table,
    insert: &Insert<'_>,
    rows: &[Vec<Option<String>>],
    inserted: &mut Inserted,
) -> Result<()> {
    for row in rows {
        match conn.run(&insert.statement(std::iter::once(row))).await {
            Ok(affected) if affected > 0 => inserted.rows += 1,
            // Skipped by the statement itself (PostgreSQL's ON CONFLICT DO NOTHING).
            Ok(_) => inserted.skipped += 1,
            Err(sqlx::Error::Database(e)) => {
                let rejected = table.qualified();
                crate::debug!("seed row rejected by {rejected}: {}", e.message());
                inserted.skipped += 1;
            }
            Err(e) => return Err(seed_failed(table, e)),
        }
    }
    Ok(())
}

fn seed_failed(table: &Table, e: sqlx::Error) -> Error {
    Error::Database {
        context: format!("cannot seed {}", table.qualified()),
        source: e,
    }
}

/// Ends an engine: closes its sessions, then removes what driftless created (or, with
/// `keep`, leaves it and says how to reach it).
pub async fn teardown<C, L>(
    sessions: impl IntoIterator<Item = C>,
    server: Instance<L>,
    keep: bool,
) -> Result<Option<String>>
where
    C: sqlx::Connection,
    L: Disposable + Send,
{
    for session in sessions {
        let _ = session.close().await;
    }
    server.finish(keep).await
}

/// What a SQL engine says to make and remove a throwaway database.
pub struct ThrowawaySql {
    pub create: fn(&str) -> String,
    /// Also what a user runs to drop a database `--keep` left.
    pub drop: fn(&str) -> String,
    /// What the `--url` user needs to be allowed, for the error when creating fails.
    pub privilege: &'static str,
    /// The names of databases starting with `driftless`.
    pub list: &'static str,
    /// The names of databases a session is connected to.
    pub busy: &'static str,
}

/// A `--url` server where driftless works in a throwaway database: the SQL engines' part of
/// [`crate::sandbox::ThrowawayDatabase`].
#[derive(Clone)]
pub struct UrlServer<O> {
    admin: O,
    shown: String,
    sql: &'static ThrowawaySql,
}

impl<O> UrlServer<O> {
    /// `admin` connects to the server of `url` (shown without its password).
    pub fn new(admin: O, url: &str, sql: &'static ThrowawaySql) -> UrlServer<O> {
        UrlServer {
            admin,
            shown: crate::sandbox::redact_url(url),
            sql,
        }
    }

    /// How to reach the server; `.database(name)` reaches the throwaway database.
    pub fn admin(&self) -> &O {
        &self.admin
    }
}

#[async_trait]
impl<O> ThrowawayServer for UrlServer<O>
where
    O: sqlx::ConnectOptions,
    O::Connection: SqlSession + Sized,
{
    type Session = O::Connection;

    fn shown(&self) -> String {
        self.shown.clone()
    }

    async fn connect(&self) -> Result<O::Connection> {
        self.admin
            .connect()
            .await
            .map_err(|e| Error::infra(format!("cannot connect to {}: {e}", self.shown)))
    }

    async fn create(&self, session: &mut O::Connection, name: &str) -> Result<()> {
        match session.run(&(self.sql.create)(name)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::infra(format!(
                "cannot create a throwaway database on {}: {e} (the user needs {})",
                self.shown, self.sql.privilege
            ))),
        }
    }

    async fn drop_database(&self, session: &mut O::Connection, name: &str) -> Result<()> {
        let dropped = session.run(&(self.sql.drop)(name)).await;
        dropped
            .map(|_| ())
            .context(|| format!("cannot drop throwaway database {name}"))
    }

    async fn close(&self, session: O::Connection) {
        let _ = sqlx::Connection::close(session).await;
    }

    fn drop_hint(&self, name: &str) -> String {
        (self.sql.drop)(name)
    }

    async fn databases(&self, session: &mut O::Connection) -> Result<Vec<String>> {
        let listed = session.texts(self.sql.list).await;
        listed.context(|| format!("cannot list the databases on {}", self.shown))
    }

    async fn busy(&self, session: &mut O::Connection) -> Result<Vec<String>> {
        let listed = session.texts(self.sql.busy).await;
        listed.context(|| format!("cannot list the sessions on {}", self.shown))
    }
}

/// A session that looks at the locks of the migrating session while a statement runs.
#[async_trait]
pub trait LockWatch: Send {
    /// Takes one look; the strongest lock seen per table is kept.
    async fn look(&mut self) -> Result<()>;
}

/// Runs `statement` to its end, letting `watch` look every `every` meanwhile.
pub async fn watched<T>(
    statement: impl Future<Output = T>,
    every: Duration,
    mut watch: Option<&mut dyn LockWatch>,
) -> Result<T> {
    tokio::pin!(statement);
    loop {
        tokio::select! {
            result = &mut statement => return Ok(result),
            () = tokio::time::sleep(every), if watch.is_some() => {
                if let Some(watch) = watch.as_deref_mut() {
                    watch.look().await?;
                }
            }
        }
    }
}

/// `SELECT DISTINCT {select} FROM {table} t` of the rows with a value in each of `columns`,
/// at most `limit`: the key tuples seeding can point foreign keys at.
pub fn sample_keys_query(
    dialect: crate::sql::Dialect,
    select: &str,
    table: &str,
    columns: &[String],
    limit: usize,
) -> String {
    let none_null: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{} IS NOT NULL", crate::sql::ident(dialect, c)))
        .collect();
    let none_null = none_null.join(" AND ");
    format!("SELECT DISTINCT {select} FROM {table} t WHERE {none_null} LIMIT {limit}")
}

/// Whether `table`'s rows have a usable primary key (all its columns still exist).
pub fn keyed(table: &Table) -> bool {
    !table.primary_key.is_empty() && table.primary_key.iter().all(|c| table.column(c).is_some())
}

/// The primary key's columns with the label each one's text starts with in a row's key
/// (`id=17`, `a=1,b=x`: `"id="`; `"a="`, `",b="`).
pub fn key_labels(table: &Table) -> impl Iterator<Item = (String, &String)> {
    table.primary_key.iter().enumerate().map(|(i, c)| {
        let label = if i == 0 {
            format!("{c}=")
        } else {
            format!(",{c}=")
        };
        (label, c)
    })
}

/// A table's fingerprint before any captured row is counted: no rows, every column empty,
/// and a zero whole-row sum for tables compared as multisets (no key).
pub fn empty_fingerprint(table: &Table, keyed: bool) -> TableFingerprint {
    let empty = || ColumnFingerprint {
        non_null: Some(0),
        sum: "0".into(),
    };
    TableFingerprint {
        rows: 0,
        row_sum: (!keyed).then(|| "0".to_string()),
        columns: table
            .columns
            .iter()
            .map(|c| (c.name.clone(), empty()))
            .collect(),
    }
}

/// The columns captured (by name, in capture order) as they were in `before`; `None` when
/// one of them is gone from it, so the capture cannot be compared.
pub fn captured_columns<'t>(names: &[String], before: &'t Table) -> Option<Vec<&'t Column>> {
    names.iter().map(|name| before.column(name)).collect()
}

/// Sample keys aggregated into one text, separated by the unit separator (0x1F).
pub fn samples(text: Option<String>) -> Vec<String> {
    text.filter(|s| !s.is_empty())
        .map(|s| s.split('\u{1f}').map(str::to_string).collect())
        .unwrap_or_default()
}

/// What a splitter made of `source`: each statement's line and text.
#[cfg(test)]
pub fn split_lines(split: crate::migrations::Splitter, source: &str) -> Vec<(usize, String)> {
    split(source)
        .unwrap()
        .into_iter()
        .map(|s| (s.line, s.sql))
        .collect()
}

/// Asserts that `split` cuts `source` into exactly the statements `expected` (line, text).
#[cfg(test)]
#[track_caller]
pub fn assert_splits(split: crate::migrations::Splitter, source: &str, expected: &[(usize, &str)]) {
    let got = split_lines(split, source);
    let got: Vec<(usize, &str)> = got.iter().map(|(l, s)| (*l, s.as_str())).collect();
    assert_eq!(got, expected, "statements of {source:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_split_on_the_unit_separator() {
        assert_eq!(samples(Some("id=1\u{1f}id=2".into())), ["id=1", "id=2"]);
        assert!(samples(Some(String::new())).is_empty());
        assert!(samples(None).is_empty());
    }
}
