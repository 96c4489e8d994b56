//! Reading migration folders into [`Migration`] values.
//!
//! One reader per tool's folder layout (sqlx / golang-migrate, popx and the dot-separated
//! layout, diesel, dbmate, goose, Flyway, Liquibase changelogs, sqitch) turns a folder into an
//! ordered list of migrations, each with an up [`Script`] and an optional down script;
//! [`detect`] recognises the layout. Splitting a script into statements is the engine's
//! business (its SQL dialect), so readers receive a [`Splitter`]. Everything here is pure file
//! work: no database is touched, so bad input fails fast with exit 2 before any server is
//! started.

mod changes;
mod dbmate;
mod diesel;
mod directives;
mod flyway;
mod format;
mod goose;
mod liquibase;
mod popx;
mod sqitch;
mod sqlx_layout;
pub mod tracking;
mod transactions;
mod version;

pub use changes::{Changes, changed_since};
pub use directives::{Allow, Directives};
pub use format::{
    KNOWN_LAYOUTS, MigrationFormat, SessionCarry, detect, every_tracking_table, read,
    read_for_engine,
};
pub use sqlx_layout::read_sqlx_layout;
pub use transactions::{
    Outside, ServerTransactions, Shape, TransactionRule, advice, atomic, refused_in_transaction,
    runs_in_transaction, shape,
};
pub use version::{VersionOrder, compare_versions, diesel_version};

use std::path::{Path, PathBuf};

/// One statement of a script, with the 1-based line where it starts in its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Whether the tool's runner wraps the script in one transaction (its rule and opt-outs,
    /// `transactions.rs`), not whether the statements could run in one.
    pub transactional: bool,
    /// Outside a transaction, the runner sends the whole script as one request (PostgreSQL
    /// then runs its statements as one implicit transaction).
    pub whole: bool,
    /// Why the tool's runner refuses to run the script at all, at which line (Flyway: a
    /// migration mixing statements that can and cannot run in a transaction).
    pub refused: Option<(usize, String)>,
    pub directives: Directives,
    /// Nothing at all was written in it, not even a comment: a file created and forgotten,
    /// unlike one whose author wrote "not reversible".
    pub blank: bool,
}

impl Script {
    /// Builds a script from a file's text, deciding whether it can run in one transaction.
    pub fn parse(path: PathBuf, text: &str, split: Splitter) -> Result<Script, SplitError> {
        Script::parse_section(path, text, 1, split)
    }

    /// Builds a script from a section of a file that starts at line `first_line`: statement
    /// lines are lines of the file.
    pub fn parse_section(
        path: PathBuf,
        text: &str,
        first_line: usize,
        split: Splitter,
    ) -> Result<Script, SplitError> {
        let offset = first_line.saturating_sub(1);
        let mut statements = split(text).map_err(|e| SplitError {
            line: e.line + offset,
            message: e.message,
        })?;
        for s in &mut statements {
            s.line += offset;
        }
        Ok(Script::from_statements(path, statements, text, first_line))
    }

    /// A script of `statements` already found in `text`, a section of a file that starts at
    /// line `first_line` (statement lines are file lines): reads its directives and decides
    /// whether it can run in one transaction.
    pub fn from_statements(
        path: PathBuf,
        statements: Vec<Statement>,
        text: &str,
        first_line: usize,
    ) -> Script {
        let mut directives = Directives::parse(text);
        for a in &mut directives.allows {
            a.line += first_line.saturating_sub(1);
        }
        // The runner's transaction unless the author says otherwise; each reader applies its
        // tool's own opt-out, `transactions::follow_runner` the rest of the tool's rule.
        let transactional = !directives.no_transaction;
        Script {
            path,
            statements,
            transactional,
            whole: false,
            refused: None,
            directives,
            blank: text.trim().is_empty(),
        }
    }

    /// A script without statements at `path` (for migrations driftless cannot run).
    pub fn empty(path: PathBuf) -> Script {
        Script {
            path,
            statements: Vec::new(),
            transactional: true,
            whole: false,
            refused: None,
            directives: Directives::default(),
            blank: true,
        }
    }

    /// A script whose text is taken as one statement (a tool's "do not split" option).
    pub fn single_statement(mut self, text: &str, first_line: usize) -> Script {
        let sql = text.trim();
        self.statements = if sql.is_empty() {
            Vec::new()
        } else {
            let leading = text[..text.find(sql).unwrap_or(0)].matches('\n').count();
            vec![Statement {
                sql: sql.trim_end_matches(';').to_string(),
                line: first_line + leading,
                needs_autocommit: false,
                transaction_control: false,
            }]
        };
        self
    }

    /// A script without statements (empty or only comments): the author's way to say
    /// "this cannot be undone".
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The first statement that may change a session setting (`SET`, `RESET`, MySQL's `USE`,
    /// PostgreSQL's `set_config`): only after such a script does the roundtrip look at what
    /// the session holds, since reading every setting after every step would cost more.
    pub fn session_statement(&self) -> Option<&Statement> {
        self.statements.iter().find(|s| {
            let first = first_code_line(&s.sql).to_ascii_lowercase();
            // MySQL runs `/*!40101 SET … */` (mariadb-dump's preamble) as a statement.
            let first = first
                .strip_prefix("/*!")
                .map_or(first.as_str(), |rest| {
                    rest.trim_start_matches(|c: char| c.is_ascii_digit())
                })
                .trim_start();
            let word = first
                .split(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap_or_default();
            matches!(word, "set" | "reset" | "use")
                || s.sql.to_ascii_lowercase().contains("set_config")
        })
    }

    /// Line of the first statement that mentions all of `words` (case-insensitive, as whole
    /// identifiers). Used to point findings at the statement most likely at fault.
    pub fn line_mentioning(&self, words: &[&str]) -> Option<usize> {
        self.statements
            .iter()
            .find(|s| mentions(&s.sql, words))
            .map(|s| s.line)
    }

    /// Line of the first statement that mentions all of `words` and one of `verbs` (`drop`,
    /// `type`): the statement that does something to an object rather than the first one
    /// that names it; else of the first that mentions `words`.
    pub fn line_doing(&self, words: &[&str], verbs: &[&str]) -> Option<usize> {
        self.line_only_doing(words, verbs)
            .or_else(|| self.line_mentioning(words))
    }

    /// Line of the first statement that mentions all of `words` and one of `verbs`, if any.
    pub fn line_only_doing(&self, words: &[&str], verbs: &[&str]) -> Option<usize> {
        self.statements
            .iter()
            .find(|s| mentions(&s.sql, words) && verbs.iter().any(|v| mentions(&s.sql, &[v])))
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

/// The first line of `sql` that is not blank or a line comment (`--`, MySQL's `#`), trimmed.
pub fn first_code_line(sql: &str) -> &str {
    sql.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--") && !l.starts_with('#'))
        .unwrap_or_default()
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
    /// Exactly as written in the file name (sqitch and Liquibase: the change or changeset id;
    /// Flyway repeatables: `R`).
    pub version: String,
    pub name: String,
    pub up: Script,
    /// `None` when there is no down at all.
    pub down: Option<Script>,
    /// sqitch: a script that must succeed after the up (its failure is a finding).
    pub verify: Option<Script>,
    /// Flyway repeatable migration: applied after the versioned ones and re-applied when it
    /// changes; it has no down by design.
    pub repeatable: bool,
    /// Where the migration is declared when that is not simply its up file (a changeset line,
    /// an up marker), for findings about the migration as a whole.
    pub declared_at: Option<(PathBuf, usize)>,
    /// Why driftless cannot run this migration (a goose Go migration).
    pub unsupported: Option<String>,
}

impl Migration {
    /// A migration with an up script only; the readers fill in the rest.
    pub fn new(version: impl Into<String>, name: impl Into<String>, up: Script) -> Migration {
        Migration {
            version: version.into(),
            name: name.into(),
            up,
            down: None,
            verify: None,
            repeatable: false,
            declared_at: None,
            unsupported: None,
        }
    }

    /// A migration driftless cannot run, reported by name.
    pub fn unsupported(
        version: impl Into<String>,
        name: impl Into<String>,
        path: PathBuf,
        reason: impl Into<String>,
    ) -> Migration {
        let mut m = Migration::new(version, name, Script::empty(path));
        m.unsupported = Some(reason.into());
        m
    }

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
    // Opening a FIFO would block until something writes to it (and ignore Ctrl-C meanwhile):
    // only regular files are read.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a pipe, socket or device)"
        };
        return Err(crate::Error::input(format!(
            "{} is {what}; migrations are read from regular files only",
            display_path(path).display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|source| crate::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(crate::Error::InputAt {
            path: path.to_path_buf(),
            line,
            message: "file holds a NUL byte: not a text file".into(),
        });
    }
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

/// A pipe, socket or device among the migrations would block the reader that opens it (and
/// Ctrl-C with it): an input error naming it.
pub(crate) fn refuse_special_files(entries: &[std::fs::DirEntry]) -> crate::Result<()> {
    let special = entries.iter().find(|e| {
        e.file_type()
            .is_ok_and(|t| !t.is_file() && !t.is_dir() && !t.is_symlink())
    });
    match special {
        Some(odd) => Err(crate::Error::input(format!(
            "{} is not a regular file (a pipe, socket or device); migrations are read from \
             regular files only",
            display_path(&odd.path()).display()
        ))),
        None => Ok(()),
    }
}

/// `path` relative to the working directory when it lies below it, for messages and reports.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// The entries of `dir`, sorted by name, without hidden ones; unreadable dirs are input errors.
fn sorted_entries(dir: &Path) -> crate::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        crate::Error::input(format!(
            "cannot read migrations directory {}: {e}",
            display_path(dir).display()
        ))
    })?;
    let entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    refuse_special_files(&entries)?;
    let mut paths: Vec<PathBuf> = entries
        .into_iter()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// `<version>_<name>` with an all-digit version (sqlx, dbmate, goose file names).
fn numbered(stem: &str) -> Option<(&str, &str)> {
    stem.split_once('_').filter(|(version, name)| {
        !version.is_empty() && !name.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Migrations in version order. Two with the same version (`compare_versions`: `01` is `1`)
/// are an input error naming both files: a tool would refuse them, or run only one.
fn in_version_order(migrations: Vec<Migration>) -> crate::Result<Vec<Migration>> {
    in_order(migrations, VersionOrder::Numeric)
}

/// Migrations sorted the way their tool sorts versions; two that the tool cannot tell apart
/// are an input error naming both files.
fn in_order(mut migrations: Vec<Migration>, order: VersionOrder) -> crate::Result<Vec<Migration>> {
    migrations.sort_by(|a, b| order.compare(&a.version, &b.version));
    if let Some(pair) = migrations
        .windows(2)
        .find(|pair| order.compare(&pair[0].version, &pair[1].version).is_eq())
    {
        let (first, second) = (&pair[0], &pair[1]);
        let same_number = match order {
            _ if first.version == second.version => String::new(),
            VersionOrder::Diesel => format!(
                "; diesel reads {} and {} as the same version {}",
                first.version,
                second.version,
                version::diesel_version(&first.version)
            ),
            _ => format!(
                "; {} and {} are the same number",
                first.version, second.version
            ),
        };
        return Err(crate::Error::input(format!(
            "{}: duplicate migration version {} (also used by {}{same_number})",
            second.up.path.display(),
            second.version,
            first.up.path.display()
        )));
    }
    Ok(migrations)
}

/// The PostgreSQL splitter for unit tests, found through the engine registry (nothing outside
/// `engine/` names an engine module).
#[cfg(test)]
fn pg_split(text: &str) -> Result<Vec<Statement>, SplitError> {
    let postgres = crate::engine::find("postgres").expect("the postgres engine is registered");
    (postgres.split)(text)
}

/// [`sorted_entries`] with their file names; names that are not UTF-8 are no migration's.
fn named_entries(dir: &Path) -> crate::Result<Vec<(PathBuf, String)>> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            Some((path, name))
        })
        .collect())
}

/// Reads a file and splits the whole of it; errors become input errors at file:line.
fn read_script(path: &Path, split: Splitter) -> crate::Result<Script> {
    let text = read_text(path)?;
    let shown = display_path(path);
    Script::parse(shown.clone(), &text, split).map_err(|e| at(&shown, e))
}

/// A split error as an input error in `path`.
fn at(path: &Path, e: SplitError) -> crate::Error {
    crate::Error::InputAt {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    }
}

/// Lines of `text` (1-based numbers) for which `is_marker` holds and that are not inside a
/// statement, e.g. a `-- migrate:down` line inside a dollar-quoted function body is text, not
/// a marker. Statement spans come from splitting the whole file.
fn marker_lines(
    text: &str,
    split: Splitter,
    is_marker: impl Fn(&str) -> bool,
) -> Result<Vec<(usize, &str)>, SplitError> {
    let spans: Vec<(usize, usize)> = split(text)?
        .iter()
        .map(|s| (s.line, s.line + s.sql.matches('\n').count()))
        .collect();
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(n, line)| {
            is_marker(line.trim()) && !spans.iter().any(|(from, to)| from <= n && n <= to)
        })
        .collect())
}

/// The text of lines `from..to` (1-based, `to` exclusive) of `text`.
fn line_range(text: &str, from: usize, to: usize) -> String {
    text.lines()
        .skip(from.saturating_sub(1))
        .take(to.saturating_sub(from))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_may_change_a_session_setting_are_found() {
        let line = |text: &str| {
            Script::parse(PathBuf::from("x.sql"), text, pg_split)
                .unwrap()
                .session_statement()
                .map(|s| s.line)
        };
        assert_eq!(
            line("CREATE TABLE t (id int);\nSET search_path = app;"),
            Some(2)
        );
        assert_eq!(line("-- first\nset lock_timeout = '1s';"), Some(2));
        assert_eq!(line("SELECT set_config('x.y', '1', false);"), Some(1));
        assert_eq!(line("RESET ALL;"), Some(1));
        let mysql = crate::engine::find("mysql").unwrap().split;
        let dump = Script::parse(
            PathBuf::from("x.sql"),
            "/*!40014 SET FOREIGN_KEY_CHECKS=0 */;",
            mysql,
        );
        assert_eq!(dump.unwrap().session_statement().map(|s| s.line), Some(1));
        assert_eq!(line("UPDATE t SET a = 1;"), None);
        assert_eq!(
            line(
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = app AS 'select 1';"
            ),
            None
        );
        assert_eq!(line("SELECT 'setting';"), None);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("1_a.sql");
        std::fs::write(&p, b"\xEF\xBB\xBF-- migrate:up\r\nselect 1;\r\n").unwrap();
        let text = read_text(&p).unwrap();
        assert!(text.starts_with("-- migrate:up"));
    }

    #[test]
    fn every_version_numbered_reader_rejects_duplicate_versions() {
        let up = "-- migrate:up\n-- +goose Up\nselect 1;\n";
        let cases: &[(MigrationFormat, [&str; 2])] = &[
            (MigrationFormat::Sqlx, ["1_a.sql", "01_b.sql"]),
            (
                MigrationFormat::Diesel,
                ["2024-01-01-000001_a/up.sql", "20240101000001_b/up.sql"],
            ),
            (MigrationFormat::Dbmate, ["1_a.sql", "001_b.sql"]),
            (MigrationFormat::Goose, ["1_a.sql", "1_b.sql"]),
            (MigrationFormat::Flyway, ["V1_1__a.sql", "V1.1__b.sql"]),
        ];
        for (format, files) in cases {
            let d = tempfile::tempdir().unwrap();
            for file in files {
                let path = d.path().join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, up).unwrap();
            }
            let message = match read(d.path(), *format, pg_split) {
                Err(crate::Error::Input(message)) => message,
                other => panic!("{format:?}: {other:?}"),
            };
            assert!(message.contains("duplicate migration version"), "{message}");
            let [a, b] = files.map(|f| f.split('/').next().unwrap_or(f));
            assert!(message.contains(a) && message.contains(b), "{message}");
        }
    }
}
