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

/// The error of a runner setting the server refused: the user's input, exit 2.
pub fn refused(statement: &str, error: impl std::fmt::Display) -> Error {
    Error::input(format!(
        "the session setting `{statement}` (driftless.toml `session` or --session-sql) was \
         refused: {error}"
    ))
}
