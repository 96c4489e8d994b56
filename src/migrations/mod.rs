//! Reading migration folders into [`Migration`] values.
//!
//! A reader turns a folder layout (today: sqlx / golang-migrate) into an ordered list of
//! migrations, each with an up [`Script`] and an optional down script. Splitting a script into
//! statements is the engine's business (its SQL dialect), so readers receive a [`Splitter`].
//! Everything here is pure file work: no database is touched, so bad input fails fast with
//! exit 2 before any server is started.

mod directives;
mod sqlx_layout;
mod version;

pub use directives::{Allow, Directives};
pub use sqlx_layout::read_sqlx_layout;
pub use version::compare_versions;

use std::path::{Path, PathBuf};

/// Tables in which migration tools keep their bookkeeping: never part of schema or data diffs.
pub const TRACKING_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "schema_migrations",
    "goose_db_version",
    "flyway_schema_history",
    "__diesel_schema_migrations",
    "databasechangelog",
    "databasechangeloglock",
    "schema_version",
];

/// One statement of a script, with the 1-based line where it starts in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
    /// The statement cannot run inside a transaction block (e.g. `CREATE INDEX CONCURRENTLY`).
    pub needs_autocommit: bool,
    /// The statement is itself transaction control (`BEGIN`, `COMMIT`, ...).
    pub transaction_control: bool,
}

/// The statements of one migration file in one direction.
#[derive(Debug, Clone)]
pub struct Script {
    /// Path as the user should see it (relative to the working directory when possible).
    pub path: PathBuf,
    pub statements: Vec<Statement>,
    /// Whether driftless wraps the script in one transaction.
    pub transactional: bool,
    pub directives: Directives,
}

impl Script {
    /// Builds a script from a file's text, deciding whether it can run in one transaction.
    pub fn parse(path: PathBuf, text: &str, split: Splitter) -> Result<Script, SplitError> {
        let statements = split(text)?;
        let directives = Directives::parse(text);
        let transactional = !directives.no_transaction
            && !statements
                .iter()
                .any(|s| s.needs_autocommit || s.transaction_control);
        Ok(Script {
            path,
            statements,
            transactional,
            directives,
        })
    }

    /// A script without statements (empty or only comments): the author's way to say
    /// "this cannot be undone".
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Line of the first statement that mentions all of `words` (case-insensitive, as whole
    /// identifiers). Used to point findings at the statement most likely at fault.
    pub fn line_mentioning(&self, words: &[&str]) -> Option<usize> {
        self.statements
            .iter()
            .find(|s| mentions(&s.sql, words))
            .map(|s| s.line)
    }

    /// Line of the first `UPDATE` or `INSERT` that mentions `words` (the statement that wrote
    /// the values), else of the first statement that mentions them.
    pub fn line_writing(&self, words: &[&str]) -> Option<usize> {
        let writes = |sql: &str| {
            let head = sql
                .trim_start()
                .get(..6)
                .unwrap_or_default()
                .to_ascii_uppercase();
            head == "UPDATE" || head == "INSERT"
        };
        self.statements
            .iter()
            .find(|s| writes(&s.sql) && mentions(&s.sql, words))
            .map(|s| s.line)
            .or_else(|| self.line_mentioning(words))
    }
}

fn mentions(sql: &str, words: &[&str]) -> bool {
    let idents: Vec<String> = sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .iter()
        .all(|w| idents.iter().any(|i| *i == w.to_lowercase()))
}

/// A migration: a version, a name, an up script and maybe a down script.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Exactly as written in the file name.
    pub version: String,
    pub name: String,
    pub up: Script,
    /// `None` when there is no down file at all.
    pub down: Option<Script>,
}

impl Migration {
    /// The down script when it exists and has at least one statement.
    pub fn effective_down(&self) -> Option<&Script> {
        self.down.as_ref().filter(|d| !d.is_empty())
    }

    /// Suppressions written in either file of this migration.
    pub fn allows(&self) -> impl Iterator<Item = &Allow> {
        self.up
            .directives
            .allows
            .iter()
            .chain(self.down.iter().flat_map(|d| d.directives.allows.iter()))
    }
}

/// A statement splitter for one SQL dialect.
pub type Splitter = fn(&str) -> Result<Vec<Statement>, SplitError>;

/// Why a script could not be split, with the line where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SplitError {
    pub line: usize,
    pub message: String,
}

/// Reads a file as UTF-8 text; a file that is not valid UTF-8 is an input error at the line
/// of the first bad byte.
pub fn read_text(path: &Path) -> crate::Result<String> {
    let bytes = std::fs::read(path).map_err(|source| crate::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        crate::Error::InputAt {
            path: path.to_path_buf(),
            line,
            message: "file is not valid UTF-8".into(),
        }
    })
}

/// `path` relative to the working directory when it lies below it, for messages and reports.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
