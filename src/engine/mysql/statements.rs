//! Running SQL on MySQL / MariaDB: migration scripts, check queries and seed rows.

use std::time::Instant;

use serde_json::{Map, Value};
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::{Column as _, Row};

use crate::checks::Check;
use crate::engine::{Applied, CheckOutcome, Inserted};
use crate::error::Context;
use crate::migrations::{Script, Statement};
use crate::schema::{ColumnKind, SchemaSnapshot, Table};
use crate::sql::mysql::{ident, literal};
use crate::{Error, Result};

const INSERT_BATCH: usize = 200;
const CHECK_SAMPLE: usize = 5;
/// Error numbers meaning "this object does not exist (yet)": the check is not applicable.
const MISSING_OBJECT: &[u16] = &[1146, 1054, 1049, 1305, 1109];

async fn exec(conn: &mut MySqlConnection, sql: &str) -> std::result::Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Applies a script. DDL commits implicitly in MySQL, so only scripts without DDL run in a
/// transaction; the others run statement by statement, and a failure leaves the statements
/// before it applied (the roundtrip then shows what was left behind).
pub async fn apply(conn: &mut MySqlConnection, script: &Script) -> Result<Applied> {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis() as u64;
    let context = || {
        format!(
            "lost the database connection while applying {}",
            script.path.display()
        )
    };
    if script.transactional {
        exec(conn, "START TRANSACTION").await.context(context)?;
    }
    for statement in &script.statements {
        if let Err(e) = exec(conn, &statement.sql).await {
            let failed = failure(e, statement, context, ms())?;
            let _ = exec(conn, "ROLLBACK").await;
            return Ok(failed);
        }
    }
    if script.transactional
        && let Err(e) = exec(conn, "COMMIT").await
    {
        let last = script.statements.last().cloned().unwrap_or(Statement {
            sql: String::new(),
            line: 1,
            needs_autocommit: false,
            transaction_control: false,
        });
        let failed = failure(e, &last, context, ms())?;
        let _ = exec(conn, "ROLLBACK").await;
        return Ok(failed);
    }
    Ok(Applied::Done { ms: ms() })
}

pub(super) fn failure(
    error: sqlx::Error,
    statement: &Statement,
    context: impl FnOnce() -> String,
    ms: u64,
) -> Result<Applied> {
    let sqlx::Error::Database(db) = error else {
        return Err(Error::Database {
            context: context(),
            source: error,
        });
    };
    let (code, message) = match db.try_downcast_ref::<MySqlDatabaseError>() {
        Some(my) => (my.number().to_string(), my.message().to_string()),
        None => (
            db.code().map(|c| c.into_owned()).unwrap_or_default(),
            db.message().to_string(),
        ),
    };
    // Syntax errors say "... at line N" of the statement.
    let offset = message
        .rsplit_once("at line ")
        .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        .map_or(0, |n| n.saturating_sub(1));
    Ok(Applied::Failed {
        ms,
        line: statement.line + offset,
        code,
        message,
    })
}

/// A text value of a text-protocol row, whatever the column type.
fn cell(row: &MySqlRow, i: usize) -> Option<String> {
    row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()
}

/// Runs a check in a read-only transaction.
pub async fn run_check(conn: &mut MySqlConnection, check: &Check) -> Result<CheckOutcome> {
    exec(conn, "START TRANSACTION READ ONLY")
        .await
        .context(|| "cannot start a read-only transaction for checks".into())?;
    let count = format!("SELECT COUNT(*) FROM (\n{}\n) q", check.sql);
    let sample = format!("SELECT * FROM (\n{}\n) q LIMIT {CHECK_SAMPLE}", check.sql);
    let counted = sqlx::raw_sql(sqlx::AssertSqlSafe(count))
        .fetch_all(&mut *conn)
        .await;
    let sampled = match &counted {
        Ok(_) => Some(
            sqlx::raw_sql(sqlx::AssertSqlSafe(sample))
                .fetch_all(&mut *conn)
                .await,
        ),
        Err(_) => None,
    };
    let _ = exec(conn, "ROLLBACK").await;
    let rows = match counted {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(db)) => {
            let number = db
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(|e| e.number())
                .unwrap_or_default();
            let message = db.message().to_string();
            return Ok(if MISSING_OBJECT.contains(&number) {
                CheckOutcome::NotApplicable { reason: message }
            } else {
                CheckOutcome::Failed {
                    code: number.to_string(),
                    message,
                }
            });
        }
        Err(e) => {
            return Err(Error::Database {
                context: format!("lost the connection while running check {}", check.name),
                source: e,
            });
        }
    };
    let total: i64 = rows
        .first()
        .and_then(|r| cell(r, 0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if total == 0 {
        return Ok(CheckOutcome::Passed);
    }
    let sample = match sampled {
        Some(Ok(rows)) => rows.iter().map(row_json).collect(),
        _ => Vec::new(),
    };
    Ok(CheckOutcome::Violated {
        rows: total,
        sample,
    })
}

fn row_json(row: &MySqlRow) -> String {
    let mut object = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let value = cell(row, i).map(Value::String).unwrap_or(Value::Null);
        object.insert(column.name().to_string(), value);
    }
    Value::Object(object).to_string()
}

/// Tables of `schema` that can be seeded and have no rows.
pub async fn empty_tables(
    conn: &mut MySqlConnection,
    schema: &SchemaSnapshot,
) -> Result<Vec<String>> {
    let selects: Vec<String> = schema
        .tables
        .values()
        .filter(|t| t.seed_directly)
        .map(|t| {
            format!(
                "SELECT {} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM {}.{})",
                literal(&t.qualified()),
                ident(&t.schema),
                ident(&t.name)
            )
        })
        .collect();
    if selects.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(selects.join("\nUNION ALL\n")))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot find empty tables".into())?;
    Ok(rows.iter().filter_map(|r| cell(r, 0)).collect())
}

/// Distinct non-NULL tuples of `columns` in `table`, as text.
pub async fn sample_keys(
    conn: &mut MySqlConnection,
    table: &Table,
    columns: &[String],
    limit: usize,
) -> Result<Vec<Vec<String>>> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST(t.{} AS CHAR)", ident(c)))
        .collect();
    let not_null: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{} IS NOT NULL", ident(c)))
        .collect();
    let sql = format!(
        "SELECT DISTINCT {} FROM {}.{} t WHERE {} LIMIT {limit}",
        list.join(", "),
        ident(&table.schema),
        ident(&table.name),
        not_null.join(" AND ")
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot read keys of {}", table.qualified()))?;
    let mut keys: Vec<Vec<String>> = rows
        .iter()
        .map(|r| (0..columns.len()).filter_map(|i| cell(r, i)).collect())
        .collect();
    keys.sort();
    Ok(keys)
}

/// A value as a MySQL literal for a column of `kind`.
fn value_literal(value: Option<&String>, kind: Option<&ColumnKind>) -> String {
    let Some(value) = value else {
        return "NULL".into();
    };
    match kind {
        Some(ColumnKind::Bytes { .. }) => match value.strip_prefix("\\x") {
            Some(hex) => format!("X'{hex}'"),
            None => literal(value),
        },
        Some(ColumnKind::Bit { .. }) => format!("b'{value}'"),
        Some(ColumnKind::Bool) => (if value == "true" { "1" } else { "0" }).to_string(),
        _ => literal(value),
    }
}

/// A server's refusal of seeded rows: an input error naming the table and the constraint;
/// anything else (a lost connection) is an infrastructure error.
pub fn seed_error(table: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => Error::input(format!(
            "cannot load rows into {table}: the server refused a row: {}",
            db.message()
        )),
        _ => Error::Database {
            context: format!("cannot load rows into {table}"),
            source: e,
        },
    }
}

/// Inserts seed rows; a batch that fails is retried row by row and bad rows are skipped.
pub async fn insert_rows(
    conn: &mut MySqlConnection,
    table: &Table,
    columns: &[String],
    rows: &[Vec<Option<String>>],
) -> Result<Inserted> {
    let kinds: Vec<Option<&ColumnKind>> = columns
        .iter()
        .map(|c| table.column(c).map(|c| &c.kind))
        .collect();
    let head = format!(
        "INSERT INTO {}.{} ({}) VALUES ",
        ident(&table.schema),
        ident(&table.name),
        columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let render = |row: &Vec<Option<String>>| {
        let values: Vec<String> = row
            .iter()
            .zip(&kinds)
            .map(|(v, k)| value_literal(v.as_ref(), *k))
            .collect();
        format!("({})", values.join(", "))
    };
    let mut inserted = Inserted::default();
    for batch in rows.chunks(INSERT_BATCH) {
        let values: Vec<String> = batch.iter().map(render).collect();
        let sql = format!("{head}{}", values.join(", "));
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
        {
            Ok(done) => {
                inserted.rows += done.rows_affected();
                inserted.skipped +=
                    batch.len() as u64 - done.rows_affected().min(batch.len() as u64);
            }
            Err(sqlx::Error::Database(_)) => {
                for row in batch {
                    let sql = format!("{head}{}", render(row));
                    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await
                    {
                        Ok(_) => inserted.rows += 1,
                        Err(sqlx::Error::Database(e)) => {
                            crate::debug!(
                                "seed row rejected by {}: {}",
                                table.qualified(),
                                e.message()
                            );
                            inserted.skipped += 1;
                        }
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
