//! Running SQL on MySQL / MariaDB: migration scripts, check queries and seed rows.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::{Column as _, Row};

use crate::checks::Check;
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
    const BEGIN: &'static str = "START TRANSACTION";

    async fn run(&mut self, sql: &str) -> std::result::Result<u64, sqlx::Error> {
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(self)
            .await?;
        Ok(done.rows_affected())
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
pub async fn run_check(conn: &mut MySqlConnection, check: &Check) -> Result<CheckOutcome> {
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
