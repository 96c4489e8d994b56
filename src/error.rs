//! Errors that stop driftless from doing its job, and the exit codes they map to.
//!
//! A problem *found* in a migration is never an error here: it is a `Finding` in the report.
//! `Error` is for "could not do the job": bad input (exit 2) or broken infrastructure (exit 3).

use std::path::PathBuf;

/// Process exit codes, as documented in docs/report.md and `driftless --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Ran to the end, no finding at or above the fail threshold.
    Pass = 0,
    /// Ran to the end, at least one finding at or above the fail threshold.
    Findings = 1,
    /// Usage or input error: bad flag, invalid config, unparsable migration file.
    Usage = 2,
    /// Infrastructure error: a database could not be started or reached, a binary is missing.
    Infrastructure = 3,
    /// Interrupted by SIGINT (128 + 2), after cleaning up.
    Interrupted = 130,
    /// Terminated by SIGTERM (128 + 15), after cleaning up.
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input that the user can fix: exit 2.
    #[error("{0}")]
    Input(String),

    /// Bad input in a file, with the place where it was found: exit 2.
    #[error("{}:{line}: {message}", path.display())]
    InputAt {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A file could not be read: exit 2.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A database could not be started, reached or set up; a binary is missing: exit 3.
    #[error("{0}")]
    Infra(String),

    /// A database query that driftless itself issued failed: exit 3.
    #[error("{context}: {source}")]
    Database {
        context: String,
        #[source]
        source: sqlx::Error,
    },

    /// I/O on driftless's own files (temp dirs, cache, output): exit 3.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// SIGINT or SIGTERM arrived; everything was cleaned up.
    #[error("interrupted")]
    Interrupted(ExitCode),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Input(_) | Error::InputAt { .. } | Error::Read { .. } => ExitCode::Usage,
            Error::Infra(_) | Error::Database { .. } | Error::Io { .. } => ExitCode::Infrastructure,
            Error::Interrupted(code) => *code,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    pub fn infra(message: impl Into<String>) -> Self {
        Error::Infra(message.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds a context line to errors from the database driver and the file system.
pub trait Context<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Database {
            context: context(),
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, mongodb::error::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Infra(format!("{}: {}", context(), mongo_message(&source))))
    }
}

/// A MongoDB driver error in one line (the driver's Display includes labels and source chains).
pub fn mongo_message(error: &mongodb::error::Error) -> String {
    match &*error.kind {
        mongodb::error::ErrorKind::Command(c) => {
            format!("{} ({}): {}", c.code_name, c.code, c.message)
        }
        mongodb::error::ErrorKind::ServerSelection { message, .. } => {
            // The driver's text embeds the whole topology; the I/O error is what matters.
            let cause = message
                .split("I/O error: ")
                .nth(1)
                .and_then(|rest| rest.split([',', '}']).next())
                .map(str::trim);
            match cause {
                Some(cause) => format!("no server answered: {cause}"),
                None => "no server answered before the server selection timeout".to_string(),
            }
        }
        _ => error
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
