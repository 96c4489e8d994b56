//! The migrator's session settings, shared by the SQL engines: the runner's own settings
//! (`driftless.toml` `[postgres]` / `[mysql]` `session`, `--session-sql`) run once the
//! migrator connects, the *clean state* they leave is remembered, and every step of the
//! roundtrip can start from it again. What a migration's own `SET` changed is the difference
//! between the session's settings now and that clean state.
//!
//! Each engine says how to read its settings and how to go back: PostgreSQL has `RESET ALL`
//! and runs the runner's statements again; MySQL has no such statement, so every variable
//! that differs is set back to its clean value.

use std::collections::BTreeMap;

use crate::Error;

/// Settings by name (lower case), as text.
pub type Settings = BTreeMap<String, String>;

/// The runner's settings and the state they left the migrator in.
#[derive(Debug, Default)]
pub struct RunnerSession {
    /// The runner's statements, in order.
    pub statements: Vec<String>,
    /// Every setting of the migrator right after them.
    pub clean: Settings,
}

impl RunnerSession {
    /// The settings of `now` that differ from the clean state (or that it did not have).
    pub fn changed(&self, now: &Settings) -> Settings {
        now.iter()
            .filter(|(name, value)| self.clean.get(*name) != Some(*value))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
}

/// Runs the runner's `statements` on a SQL session, in order; one the server refuses is the
/// user's input error.
pub async fn run_statements<S: super::sql_common::SqlSession>(
    conn: &mut S,
    statements: &[String],
) -> crate::Result<()> {
    for statement in statements {
        conn.run(statement)
            .await
            .map_err(|e| refused(statement, e))?;
    }
    Ok(())
}

/// The error of a runner setting the server refused: the user's input, exit 2.
pub fn refused(statement: &str, error: impl std::fmt::Display) -> Error {
    Error::input(format!(
        "the session setting `{statement}` (driftless.toml `session` or --session-sql) was \
         refused: {error}"
    ))
}

/// The time limits a session runs migrations and checks under (`--statement-timeout`,
/// `--lock-timeout`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub statement: Option<std::time::Duration>,
    pub lock: Option<std::time::Duration>,
}

/// Server error codes of a statement cancelled for running too long (PostgreSQL
/// `query_canceled`, MariaDB `max_statement_time`, MySQL `max_execution_time`).
pub const STATEMENT_TIMEOUT: &[&str] = &["57014", "1969", "3024"];
/// … and for waiting too long for a lock (PostgreSQL `lock_not_available`, MySQL lock wait).
pub const LOCK_TIMEOUT: &[&str] = &["55P03", "1205"];

impl Limits {
    pub fn of(options: &super::StartOptions) -> Limits {
        Limits {
            statement: options.statement_timeout,
            lock: options.lock_timeout,
        }
    }

    /// A failure the limits caused says which limit it met, and how to change it.
    pub fn name_the_limit(&self, applied: super::Applied) -> super::Applied {
        let super::Applied::Failed {
            ms,
            line,
            code,
            message,
        } = applied
        else {
            return applied;
        };
        let shown = |d: std::time::Duration| humantime::format_duration(d).to_string();
        let message = match (self.statement, self.lock) {
            (Some(limit), _) if STATEMENT_TIMEOUT.contains(&code.as_str()) => format!(
                "{message} (it ran longer than the statement timeout of {}; raise it with \
                 --statement-timeout or statement_timeout in driftless.toml if it must)",
                shown(limit)
            ),
            (_, Some(limit)) if LOCK_TIMEOUT.contains(&code.as_str()) => format!(
                "{message} (it waited longer than the lock timeout of {} for a lock)",
                shown(limit)
            ),
            _ => message,
        };
        super::Applied::Failed {
            ms,
            line,
            code,
            message,
        }
    }
}
