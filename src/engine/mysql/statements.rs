//! Running SQL on MySQL / MariaDB: migration scripts, check queries and seed rows.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::{Column as _, Row};

use crate::checks::Check;
use crate::engine::session::{self, RunnerSession, Settings};
use crate::engine::sql_common::SqlSession;
use crate::engine::{Applied, CheckOutcome};
use crate::error::Context;
use crate::migrations::Statement;
use crate::{Error, Result};
use sqlx::error::DatabaseError;

const CHECK_SAMPLE: usize = 5;
/// Error numbers meaning "this object does not exist (yet)": the check is not applicable.
const MISSING_OBJECT: &[u16] = &[1146, 1054, 1049, 1305, 1109];

#[async_trait]
impl SqlSession for MySqlConnection {
    const TRANSACTIONS: crate::migrations::ServerTransactions = super::TRANSACTIONS;
    const BEGIN: &'static str = "START TRANSACTION";

    async fn run(&mut self, sql: &str) -> std::result::Result<u64, sqlx::Error> {
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn texts(&mut self, sql: &str) -> std::result::Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(self)
            .await
    }

    /// MySQL's error number is the code; a syntax error says the line inside the statement.
    fn failed(db: &dyn DatabaseError, statement: &Statement, ms: u64) -> Applied {
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
        Applied::Failed {
            ms,
            line: statement.line + offset,
            code,
            message,
        }
    }
}

/// A text value of a text-protocol row, whatever the column type.
pub(super) fn cell(row: &MySqlRow, i: usize) -> Option<String> {
    row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()
}

/// Runs a check in a read-only transaction.
pub async fn run_check(
    conn: &mut MySqlConnection,
    check: &Check,
    limit: Option<std::time::Duration>,
) -> Result<CheckOutcome> {
    // MariaDB's per-session limit, for the check only (the observer also fingerprints large
    // tables); MySQL has no such variable, and then the check runs without one.
    if let Some(limit) = limit {
        let set = format!(
            "SET SESSION max_statement_time = {:.3}",
            limit.as_secs_f64()
        );
        let _ = conn.run(&set).await;
    }
    let outcome = check_in_transaction(conn, check).await;
    if limit.is_some() {
        let _ = conn.run("SET SESSION max_statement_time = 0").await;
    }
    outcome
}

async fn check_in_transaction(conn: &mut MySqlConnection, check: &Check) -> Result<CheckOutcome> {
    conn.run("START TRANSACTION READ ONLY")
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
    let _ = conn.run("ROLLBACK").await;
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

/// Session variables that change by themselves (the clock, counters, the last id): never a
/// setting a migration made.
const VOLATILE: &[&str] = &[
    "timestamp",
    "last_insert_id",
    "insert_id",
    "identity",
    "rand_seed1",
    "rand_seed2",
    "warning_count",
    "error_count",
    "last_gtid",
    "gtid_seq_no",
    "in_transaction",
    "pseudo_thread_id",
    "sql_last_value",
    "rowcount",
];

/// Every session variable of the migrator, and the current database as `database`.
pub async fn settings(conn: &mut MySqlConnection) -> Result<Settings> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(LOWER(VARIABLE_NAME) AS CHAR), CAST(COALESCE(VARIABLE_VALUE, '') AS CHAR) \
         FROM information_schema.SESSION_VARIABLES \
         UNION ALL SELECT 'database', CAST(COALESCE(DATABASE(), '') AS CHAR)",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read the migration session's variables".into())?;
    Ok(rows
        .into_iter()
        .filter(|(name, _)| !VOLATILE.contains(&name.as_str()))
        .collect())
}

/// Runs the runner's `statements` on the migrator and remembers the clean state they leave.
pub async fn open_session(
    conn: &mut MySqlConnection,
    statements: &[String],
) -> Result<RunnerSession> {
    session::run_statements(conn, statements).await?;
    Ok(RunnerSession {
        statements: statements.to_vec(),
        clean: settings(conn).await?,
    })
}

/// Back to the clean state with `carried` on top: MySQL has no `RESET ALL`, so every variable
/// that differs from it is set back one by one (the current database with `USE`).
pub async fn reset(
    conn: &mut MySqlConnection,
    session: &RunnerSession,
    carried: &Settings,
) -> Result<()> {
    let now = settings(conn).await?;
    for (name, clean) in &session.clean {
        let wanted = carried.get(name).unwrap_or(clean);
        if now.get(name) == Some(wanted) {
            continue;
        }
        let statement = if name == "database" {
            format!("USE {}", crate::sql::mysql::ident(wanted))
        } else {
            format!("SET SESSION {name} = {}", variable_value(wanted))
        };
        // A variable the server will not set back (read-only in this session) stays as is:
        // a migration could not have changed it either.
        if let Err(e) = conn.run(&statement).await {
            crate::debug!("cannot reset {name} on the migration session: {e}");
        }
    }
    Ok(())
}

/// A variable's value as `SET` takes it: numbers bare, everything else quoted.
fn variable_value(value: &str) -> String {
    if !value.is_empty() && value.parse::<f64>().is_ok() {
        value.to_string()
    } else {
        crate::sql::literal(value)
    }
}
