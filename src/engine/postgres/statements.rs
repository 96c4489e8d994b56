//! Running SQL on PostgreSQL: migration scripts, check queries and seed rows.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgDatabaseError, PgErrorPosition};

use crate::checks::Check;
use crate::engine::session::{self, RunnerSession, Settings};
use crate::engine::sql_common::SqlSession;
use crate::engine::{Applied, CheckOutcome};
use crate::error::Context;
use crate::migrations::Statement;
use crate::{Error, Result};
use sqlx::error::DatabaseError;

/// Violating rows shown per check finding.
const CHECK_SAMPLE: usize = 5;
/// SQLSTATEs meaning "this object does not exist (yet)": a check referring to them is not
/// applicable at this step.
const MISSING_OBJECT: &[&str] = &["42P01", "42703", "3F000", "42883", "42704"];

#[async_trait]
impl SqlSession for PgConnection {
    const TRANSACTIONS: crate::migrations::ServerTransactions = super::TRANSACTIONS;
    const BEGIN: &'static str = "BEGIN";

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

    /// PostgreSQL says where in the statement it failed, and often a detail.
    fn failed(db: &dyn DatabaseError, statement: &Statement, ms: u64) -> Applied {
        let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() else {
            return Applied::Failed {
                ms,
                line: statement.line,
                code: db.code().map(|c| c.into_owned()).unwrap_or_default(),
                message: db.message().to_string(),
            };
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
        let message = match pg.detail() {
            Some(detail) => format!("{} ({detail})", pg.message()),
            None => pg.message().to_string(),
        };
        Applied::Failed {
            ms,
            line,
            code: pg.code().to_string(),
            message,
        }
    }
}

/// Runs a check query in a read-only transaction on the observer connection.
pub async fn run_check(
    conn: &mut PgConnection,
    check: &Check,
    limit: Option<std::time::Duration>,
) -> Result<CheckOutcome> {
    conn.run("BEGIN READ ONLY")
        .await
        .context(|| "cannot start a read-only transaction for checks".into())?;
    if let Some(limit) = limit {
        let set = format!(
            "SET LOCAL statement_timeout = '{}ms'",
            limit.as_millis().max(1)
        );
        conn.run(&set)
            .await
            .context(|| "cannot limit the check's time".into())?;
    }
    let sql = format!(
        "SELECT count(*) OVER ()::int8, row_to_json(q)::text FROM (\n{}\n) q LIMIT {CHECK_SAMPLE}",
        check.sql
    );
    let result = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await;
    let _ = conn.run("ROLLBACK").await;
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

/// Every setting of the session (`pg_settings`), and the current role as `role`, which
/// `pg_settings` does not show.
pub async fn settings(conn: &mut PgConnection) -> Result<Settings> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name::text, coalesce(setting, '') FROM pg_settings \
         UNION ALL SELECT 'role', current_user::text",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read the migration session's settings".into())?;
    Ok(rows.into_iter().collect())
}

/// Runs the runner's `statements` on the migrator and remembers the clean state they leave.
pub async fn open_session(conn: &mut PgConnection, statements: &[String]) -> Result<RunnerSession> {
    session::run_statements(conn, statements).await?;
    Ok(RunnerSession {
        statements: statements.to_vec(),
        clean: settings(conn).await?,
    })
}

/// Back to the clean state: `RESET ALL` (and the role, which it leaves), the runner's
/// statements again, then what is `carried`.
pub async fn reset(
    conn: &mut PgConnection,
    session: &RunnerSession,
    carried: &Settings,
) -> Result<()> {
    conn.run("RESET ALL; RESET SESSION AUTHORIZATION; RESET ROLE")
        .await
        .context(|| "cannot reset the migration session".into())?;
    session::run_statements(conn, &session.statements).await?;
    for (name, value) in carried {
        let set = if name == "role" {
            conn.run(&format!("SET ROLE {}", crate::sql::pg::ident(value)))
                .await
                .map(drop)
        } else {
            sqlx::query("SELECT set_config($1, $2, false)")
                .bind(name)
                .bind(value)
                .execute(&mut *conn)
                .await
                .map(drop)
        };
        set.context(|| format!("cannot set {name} again on the migration session"))?;
    }
    Ok(())
}
