//! SQL text into statements the way Liquibase's options say, for every changelog syntax:
//! `splitStatements` (default true), `endDelimiter` (default `;`) and `stripComments`
//! (default false), and the `dbms` filter.
//!
//! With the default delimiter the engine's splitter does the work (it knows the dialect's
//! quoting, which Liquibase's own splitter approximates). Another delimiter ends a statement
//! at the end of a line; a word (`GO`) or `/` must stand on a line of its own, as Liquibase
//! requires for them.

use std::path::PathBuf;

use crate::migrations::{Script, SplitError, Splitter, Statement};

/// How a piece of SQL is cut into statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlOptions {
    pub split_statements: bool,
    pub strip_comments: bool,
    pub end_delimiter: Option<String>,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            split_statements: true,
            strip_comments: false,
            end_delimiter: None,
        }
    }
}

/// The statements of `text`, which starts at line `first_line` of `path`.
pub fn script(
    path: PathBuf,
    text: &str,
    first_line: usize,
    options: &SqlOptions,
    split: Splitter,
) -> Result<Script, SplitError> {
    let stripped;
    let text = if options.strip_comments {
        stripped = blank_comment_lines(text);
        stripped.as_str()
    } else {
        text
    };
    let delimiter = options
        .end_delimiter
        .as_deref()
        .map(str::trim)
        .filter(|d| *d != ";");
    if options.split_statements && delimiter.is_none() {
        return Script::parse_section(path, text, first_line, split);
    }
    let chunks = match delimiter {
        Some(d) if options.split_statements && !d.is_empty() => by_delimiter(text, d),
        _ => vec![(0, text.to_string())],
    };
    let statements = chunks
        .iter()
        .filter_map(|(offset, chunk)| whole(chunk, first_line + offset, split))
        .collect();
    Ok(Script::from_statements(path, statements, text, first_line))
}

/// Line offsets and texts of the pieces of `text` that `delimiter` ends.
fn by_delimiter(text: &str, delimiter: &str) -> Vec<(usize, String)> {
    let own_line = delimiter == "/" || delimiter.chars().all(char::is_alphanumeric);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut chunk: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        let ends = if own_line {
            trimmed.trim_start().eq_ignore_ascii_case(delimiter)
        } else {
            trimmed.ends_with(delimiter)
        };
        if !ends {
            chunk.push(line);
            continue;
        }
        if !own_line {
            chunk.push(&trimmed[..trimmed.len() - delimiter.len()]);
        }
        chunks.push((start, chunk.join("\n")));
        chunk.clear();
        start = i + 1;
    }
    chunks.push((start, chunk.join("\n")));
    chunks
}

/// `chunk` as one statement starting at `first_line` (its first line), or nothing when it
/// holds only comments. The engine's splitter, where it can read the chunk, says where the
/// first statement starts and whether it cannot run in a transaction.
fn whole(chunk: &str, first_line: usize, split: Splitter) -> Option<Statement> {
    let sql = chunk.trim().trim_end_matches(';').trim_end();
    if sql.is_empty() {
        return None;
    }
    let found = split(chunk).ok();
    if found.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    let found = found.unwrap_or_default();
    let leading = chunk[..chunk.find(sql).unwrap_or(0)].matches('\n').count() + 1;
    Some(Statement {
        sql: sql.to_string(),
        line: first_line + found.first().map_or(leading, |s| s.line) - 1,
        needs_autocommit: found.iter().any(|s| s.needs_autocommit),
        transaction_control: found.iter().any(|s| s.transaction_control),
    })
}

/// `text` without its whole-line `--` comments (blank lines keep the numbering).
fn blank_comment_lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("--") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a Liquibase `dbms` list (`postgresql`, `!mysql`, `all`, `none`, comma-separated)
/// lets a change run on a database known by `names`; with no known database, everything runs.
pub fn dbms_allows(list: Option<&str>, names: Option<&[&str]>) -> bool {
    let (Some(list), Some(names)) = (list, names) else {
        return true;
    };
    let entries: Vec<String> = list
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    let is = |e: &str| e == "all" || names.contains(&e);
    if entries.iter().any(|e| e == "none")
        || entries
            .iter()
            .filter_map(|e| e.strip_prefix('!'))
            .any(|e| is(e.trim()))
    {
        return false;
    }
    let wanted: Vec<&String> = entries.iter().filter(|e| !e.starts_with('!')).collect();
    wanted.is_empty() || wanted.iter().any(|e| is(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    fn statements(text: &str, options: &SqlOptions) -> Vec<(usize, String)> {
        script(PathBuf::from("x.sql"), text, 10, options, split)
            .unwrap()
            .statements
            .into_iter()
            .map(|s| (s.line, s.sql))
            .collect()
    }

    #[test]
    fn default_options_use_the_engine_splitter() {
        let got = statements("\nSELECT 1;\nSELECT ';';\n", &SqlOptions::default());
        assert_eq!(
            got,
            vec![(11, "SELECT 1".into()), (12, "SELECT ';'".into())]
        );
    }

    #[test]
    fn end_delimiters_words_on_their_own_line_and_symbols_at_line_ends() {
        let go = SqlOptions {
            end_delimiter: Some("go".into()),
            ..SqlOptions::default()
        };
        let got = statements("SELECT 1; SELECT 2\nGO\n-- cargo\nSELECT 3\n", &go);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (10, "SELECT 1; SELECT 2".into()));
        assert_eq!(got[1], (13, "-- cargo\nSELECT 3".into()));
        let slashes = SqlOptions {
            end_delimiter: Some("$$".into()),
            ..SqlOptions::default()
        };
        let got = statements("SELECT 1$$\n\nSELECT 2$$\n", &slashes);
        assert_eq!(got, vec![(10, "SELECT 1".into()), (12, "SELECT 2".into())]);
    }

    #[test]
    fn unsplit_text_is_one_statement_and_comments_alone_are_none() {
        let whole = SqlOptions {
            split_statements: false,
            ..SqlOptions::default()
        };
        let got = statements(
            "-- make it\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            &whole,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 11, "the line of the first token");
        let s = script(
            PathBuf::from("x.sql"),
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            1,
            &whole,
            split,
        )
        .unwrap();
        assert!(
            s.transactional,
            "the changeSet's runInTransaction decides, not the statement"
        );
        assert!(statements("-- nothing to undo\n", &whole).is_empty());
        let stripped = SqlOptions {
            strip_comments: true,
            ..whole
        };
        assert_eq!(
            statements("-- make it\nSELECT 1\n", &stripped),
            vec![(11, "SELECT 1".into())]
        );
    }

    #[test]
    fn dbms_lists() {
        let pg: &[&str] = &["postgresql"];
        assert!(dbms_allows(None, Some(pg)));
        assert!(dbms_allows(Some("postgresql, h2"), Some(pg)));
        assert!(dbms_allows(Some("all"), Some(pg)));
        assert!(dbms_allows(Some("!mysql"), Some(pg)));
        assert!(!dbms_allows(Some("mysql,mariadb"), Some(pg)));
        assert!(!dbms_allows(Some("!postgresql"), Some(pg)));
        assert!(!dbms_allows(Some("none"), Some(pg)));
        assert!(dbms_allows(Some("mysql"), None), "unknown database: runs");
    }
}
