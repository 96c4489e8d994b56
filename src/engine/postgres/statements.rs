//! Running SQL on PostgreSQL: migration scripts, check queries and seed rows.

use std::time::Instant;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgDatabaseError, PgErrorPosition};

use super::fingerprint::table_ref;
use crate::checks::Check;
use crate::engine::{Applied, CheckOutcome, Inserted};
use crate::error::Context;
use crate::migrations::{Script, Statement};
use crate::schema::{SchemaSnapshot, Table};
use crate::sql::pg::{ident, literal};
use crate::{Error, Result};

/// Rows per multi-row INSERT.
const INSERT_BATCH: usize = 500;
/// Violating rows shown per check finding.
const CHECK_SAMPLE: usize = 5;
/// SQLSTATEs meaning "this object does not exist (yet)": a check referring to them is not
/// applicable at this step.
const MISSING_OBJECT: &[&str] = &["42P01", "42703", "3F000", "42883", "42704"];

async fn exec(conn: &mut PgConnection, sql: &str) -> std::result::Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Applies `script` on the migration connection; see [`crate::engine::Engine::apply`].
pub async fn apply(conn: &mut PgConnection, script: &Script) -> Result<Applied> {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis() as u64;
    let context = || {
        format!(
            "lost the database connection while applying {}",
            script.path.display()
        )
    };
    if script.transactional {
        exec(conn, "BEGIN").await.context(context)?;
    }
    for statement in &script.statements {
        if let Err(e) = exec(conn, &statement.sql).await {
            let failure = failure(e, statement, context)?;
            // Leave no aborted transaction behind, whether ours or one the script opened.
            let _ = exec(conn, "ROLLBACK").await;
            return Ok(failure.into_applied(ms()));
        }
    }
    if script.transactional
        && let Err(e) = exec(conn, "COMMIT").await
    {
        // Deferred constraints are checked at commit; blame the last statement.
        let last = script.statements.last().cloned().unwrap_or(Statement {
            sql: String::new(),
            line: 1,
            needs_autocommit: false,
            transaction_control: false,
        });
        let failure = failure(e, &last, context)?;
        let _ = exec(conn, "ROLLBACK").await;
        return Ok(failure.into_applied(ms()));
    }
    Ok(Applied::Done { ms: ms() })
}

pub(super) struct Failure {
    line: usize,
    code: String,
    message: String,
}

impl Failure {
    pub(super) fn into_applied(self, ms: u64) -> Applied {
        Applied::Failed {
            ms,
            line: self.line,
            code: self.code,
            message: self.message,
        }
    }
}

/// [`failure`] for the traced apply.
pub(super) fn failure_of(
    error: sqlx::Error,
    statement: &Statement,
    context: impl FnOnce() -> String,
) -> Result<Failure> {
    failure(error, statement, context)
}

/// A database error of a statement becomes a failure at its line; anything else (a lost
/// connection) is an infrastructure error.
fn failure(
    error: sqlx::Error,
    statement: &Statement,
    context: impl FnOnce() -> String,
) -> Result<Failure> {
    let sqlx::Error::Database(db) = error else {
        return Err(Error::Database {
            context: context(),
            source: error,
        });
    };
    let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() else {
        return Ok(Failure {
            line: statement.line,
            code: db.code().map(|c| c.into_owned()).unwrap_or_default(),
            message: db.message().to_string(),
        });
    };
    let mut line = statement.line;
    if let Some(PgErrorPosition::Original(position)) = pg.position() {
        line += statement
            .sql
            .chars()
            .take(position.saturating_sub(1))
            .filter(|&c| c == '\n')
            .count();
    }
    let mut message = pg.message().to_string();
    if let Some(detail) = pg.detail() {
        message = format!("{message} ({detail})");
    }
    Ok(Failure {
        line,
        code: pg.code().to_string(),
        message,
    })
}

/// Runs a check query in a read-only transaction on the observer connection.
pub async fn run_check(conn: &mut PgConnection, check: &Check) -> Result<CheckOutcome> {
    exec(conn, "BEGIN READ ONLY")
        .await
        .context(|| "cannot start a read-only transaction for checks".into())?;
    let sql = format!(
        "SELECT count(*) OVER ()::int8, row_to_json(q)::text FROM (\n{}\n) q LIMIT {CHECK_SAMPLE}",
        check.sql
    );
    let result = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await;
    let _ = exec(conn, "ROLLBACK").await;
    match result {
        Ok(rows) if rows.is_empty() => Ok(CheckOutcome::Passed),
        Ok(rows) => {
            let total: i64 = rows[0].try_get(0).context(|| "check row count".into())?;
            let sample = rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>(1).ok())
                .collect();
            Ok(CheckOutcome::Violated {
                rows: total,
                sample,
            })
        }
        Err(sqlx::Error::Database(db)) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_string();
            if MISSING_OBJECT.contains(&code.as_str()) {
                Ok(CheckOutcome::NotApplicable { reason: message })
            } else {
                Ok(CheckOutcome::Failed { code, message })
            }
        }
        Err(e) => Err(Error::Database {
            context: format!("lost the connection while running check {}", check.name),
            source: e,
        }),
    }
}

/// Tables of `schema` that can be seeded and have no rows.
pub async fn empty_tables(conn: &mut PgConnection, schema: &SchemaSnapshot) -> Result<Vec<String>> {
    let selects: Vec<String> = schema
        .tables
        .values()
        .filter(|t| t.seed_directly)
        .map(|t| {
            format!(
                "SELECT {} WHERE NOT EXISTS (SELECT 1 FROM {})",
                literal(&t.qualified()),
                table_ref(t)
            )
        })
        .collect();
    if selects.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(selects.join("\nUNION ALL\n")))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot find empty tables".into())?;
    rows.iter()
        .map(|r| {
            r.try_get::<String, _>(0)
                .context(|| "empty table name".into())
        })
        .collect()
}

/// Distinct non-NULL tuples of `columns` in `table`.
pub async fn sample_keys(
    conn: &mut PgConnection,
    table: &Table,
    columns: &[String],
    limit: usize,
) -> Result<Vec<Vec<String>>> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{}::text", ident(c)))
        .collect();
    let not_null: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{} IS NOT NULL", ident(c)))
        .collect();
    let sql = format!(
        "SELECT DISTINCT ARRAY[{}] FROM {} t WHERE {} LIMIT {limit}",
        list.join(", "),
        table_ref(table),
        not_null.join(" AND ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot read keys of {}", table.qualified()))?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        keys.push(
            row.try_get::<Vec<String>, _>(0)
                .context(|| "key values".into())?,
        );
    }
    keys.sort();
    Ok(keys)
}

/// A server's refusal of seeded rows: an input error naming the table and the constraint;
/// anything else (a lost connection) is an infrastructure error.
pub fn seed_error(table: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let detail = pg
                .and_then(|p| p.detail())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            Error::input(format!(
                "cannot load rows into {table}: the server refused a row: {}{detail}",
                db.message()
            ))
        }
        _ => Error::Database {
            context: format!("cannot load rows into {table}"),
            source: e,
        },
    }
}

/// Inserts seed rows; a batch that fails is retried row by row and bad rows are skipped.
pub async fn insert_rows(
    conn: &mut PgConnection,
    table: &Table,
    columns: &[String],
    rows: &[Vec<Option<String>>],
) -> Result<Inserted> {
    let mut inserted = Inserted::default();
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        table_ref(table),
        columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let render = |row: &Vec<Option<String>>| {
        let values: Vec<String> = row
            .iter()
            .map(|v| v.as_deref().map(literal).unwrap_or_else(|| "NULL".into()))
            .collect();
        format!("({})", values.join(", "))
    };
    for batch in rows.chunks(INSERT_BATCH) {
        let values: Vec<String> = batch.iter().map(render).collect();
        let sql = format!("{head}{} ON CONFLICT DO NOTHING", values.join(", "));
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
        {
            Ok(done) => {
                inserted.rows += done.rows_affected();
                inserted.skipped += batch.len() as u64 - done.rows_affected();
            }
            Err(sqlx::Error::Database(_)) => {
                for row in batch {
                    let sql = format!("{head}{} ON CONFLICT DO NOTHING", render(row));
                    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await
                    {
                        Ok(done) if done.rows_affected() == 1 => inserted.rows += 1,
                        Ok(_) | Err(sqlx::Error::Database(_)) => inserted.skipped += 1,
                        Err(e) => {
                            return Err(Error::Database {
                                context: format!("cannot seed {}", table.qualified()),
                                source: e,
                            });
                        }
                    }
                }
            }
            Err(e) => {
                return Err(Error::Database {
                    context: format!("cannot seed {}", table.qualified()),
                    source: e,
                });
            }
        }
    }
    Ok(inserted)
}
