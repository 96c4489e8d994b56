//! Liquibase formatted SQL: a file starting with `--liquibase formatted sql`, changesets
//! `--changeset author:id` with `runInTransaction`, `splitStatements`, `endDelimiter`,
//! `stripComments`, `rollbackSplitStatements`, `rollbackEndDelimiter` and `dbms`; rollbacks as
//! `--rollback` lines or `/* liquibase rollback … */` blocks; `--comment` and precondition
//! lines. Marker lines inside statements (a dollar-quoted body) are text.

use std::path::Path;

use super::sql::{self, SqlOptions, dbms_allows};
use crate::migrations::{Migration, Script, Splitter, at, display_path, read_text};
use crate::{Error, Result};

/// Whether a file's first non-blank line is `--liquibase formatted sql`.
pub fn is_formatted(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            let words: Vec<String> = l
                .to_lowercase()
                .split_whitespace()
                .map(String::from)
                .collect();
            let joined = words.join(" ");
            joined.starts_with("--liquibase formatted sql")
                || joined.starts_with("-- liquibase formatted sql")
        })
}

/// What a `--changeset` line says.
#[derive(Debug)]
struct Header {
    author: String,
    id: String,
    run_in_transaction: bool,
    dbms: Option<String>,
    options: SqlOptions,
    rollback: SqlOptions,
}

fn header(line: &str) -> Option<Header> {
    let rest = line.strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("changeset")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace();
    let (author, id) = words.next()?.split_once(':')?;
    let mut header = Header {
        author: author.to_string(),
        id: id.to_string(),
        run_in_transaction: true,
        dbms: None,
        options: SqlOptions::default(),
        rollback: SqlOptions::default(),
    };
    for word in words {
        let Some((key, value)) = word.split_once(':') else {
            continue;
        };
        let yes = !value.eq_ignore_ascii_case("false");
        match key {
            "runInTransaction" => header.run_in_transaction = yes,
            "splitStatements" => header.options.split_statements = yes,
            "stripComments" => header.options.strip_comments = value.eq_ignore_ascii_case("true"),
            "endDelimiter" => header.options.end_delimiter = Some(value.to_string()),
            "rollbackSplitStatements" => header.rollback.split_statements = yes,
            "rollbackEndDelimiter" => header.rollback.end_delimiter = Some(value.to_string()),
            "dbms" => header.dbms = Some(value.to_string()),
            _ => {}
        }
    }
    Some(header)
}

/// The changesets of a formatted SQL file that run on `dbms` (all when it is not known).
pub fn read(path: &Path, split: Splitter, dbms: Option<&[&str]>) -> Result<Vec<Migration>> {
    let text = read_text(path)?;
    let shown = display_path(path);
    if !is_formatted(&text) {
        return Err(Error::InputAt {
            path: shown,
            line: 1,
            message: "not a Liquibase formatted SQL file (first line must be `--liquibase formatted sql`)".into(),
        });
    }
    // Lines inside statements (a dollar-quoted body) are text, never markers. Liquibase reads
    // every `--` line as a comment, whatever the database: MySQL's lexer does not (its comments
    // need a space after `--`), and would take `--changeset a:1` for the start of a statement.
    let masked: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("--") {
                ""
            } else {
                l
            }
        })
        .collect();
    let spans: Vec<(usize, usize)> = split(&masked.join("\n"))
        .map_err(|e| at(&shown, e))?
        .iter()
        .map(|s| (s.line, s.line + s.sql.matches('\n').count()))
        .collect();
    let inside = |n: usize| spans.iter().any(|(a, b)| *a <= n && n <= *b);
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = (1..=lines.len())
        .filter(|&n| !inside(n) && header(lines[n - 1].trim()).is_some())
        .collect();
    let mut migrations = Vec::new();
    for (k, &start) in headers.iter().enumerate() {
        let end = headers.get(k + 1).copied().unwrap_or(lines.len() + 1);
        let Some(header) = header(lines[start - 1].trim()) else {
            continue;
        };
        if !dbms_allows(header.dbms.as_deref(), dbms) {
            continue;
        }
        let section = Section::of(&lines, start, end, &inside);
        let script = |lines: &[&str], options: &SqlOptions| -> Result<Script> {
            let text = lines[start..end - 1].join("\n");
            let mut script = sql::script(shown.clone(), &text, start + 1, options, split)
                .map_err(|e| at(&shown, e))?;
            script.transactional &= header.run_in_transaction;
            Ok(script)
        };
        let mut migration = Migration::new(
            header.id.clone(),
            header.author.clone(),
            script(&section.body, &header.options)?,
        );
        migration.declared_at = Some((shown.clone(), start));
        if section.has_rollback {
            migration.down = Some(script(&section.rollback, &header.rollback)?);
        }
        migrations.push(migration);
    }
    Ok(migrations)
}

/// The lines of one changeset, sorted into body and rollback; both are as long as the file,
/// with blank lines elsewhere, so that statement lines stay file lines.
struct Section<'a> {
    body: Vec<&'a str>,
    rollback: Vec<&'a str>,
    has_rollback: bool,
}

impl<'a> Section<'a> {
    /// Lines `header + 1 .. end` (1-based); `inside(n)` says line `n` is inside a statement.
    fn of(lines: &[&'a str], header: usize, end: usize, inside: &dyn Fn(usize) -> bool) -> Self {
        let mut section = Section {
            body: vec![""; lines.len()],
            rollback: vec![""; lines.len()],
            has_rollback: false,
        };
        let mut in_block = false;
        for n in header + 1..end {
            let line = lines[n - 1];
            let trimmed = line.trim();
            if in_block {
                if trimmed.starts_with("*/") {
                    in_block = false;
                } else {
                    section.rollback[n - 1] = line;
                }
            } else if inside(n) {
                section.body[n - 1] = line;
            } else if let Some(sql) = trimmed.strip_prefix("--rollback") {
                section.has_rollback = true;
                let sql = sql.trim();
                if !(sql.eq_ignore_ascii_case("empty") || sql.eq_ignore_ascii_case("not required"))
                {
                    section.rollback[n - 1] = sql;
                }
            } else if trimmed.to_lowercase().starts_with("/* liquibase rollback") {
                section.has_rollback = true;
                in_block = !trimmed.ends_with("*/");
            } else if !is_metadata(trimmed) {
                section.body[n - 1] = line;
            }
        }
        section
    }
}

/// Comment lines that Liquibase reads as changeset metadata, not SQL.
fn is_metadata(line: &str) -> bool {
    [
        "--comment",
        "--precondition",
        "--validCheckSum",
        "--ignoreLines",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    fn parse(text: &str) -> Vec<Migration> {
        parse_for(text, None)
    }

    fn parse_for(text: &str, dbms: Option<&[&str]>) -> Vec<Migration> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("changes.sql");
        std::fs::write(&p, text).unwrap();
        read(&p, split, dbms).unwrap()
    }

    #[test]
    fn changesets_rollbacks_and_options() {
        let got = parse(
            "--liquibase formatted sql\n\n--changeset alice:1\n--comment: users\nCREATE TABLE users (id int);\n--rollback DROP TABLE users;\n\n\
             --changeset bob:2 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON users (id);\n\n\
             --changeset bob:3 splitStatements:false\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* liquibase rollback\nDROP FUNCTION f();\n*/\n",
        );
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].version.as_str(), got[0].name.as_str()),
            ("1", "alice")
        );
        assert_eq!(got[0].up.statements[0].line, 5);
        let down = got[0].down.as_ref().unwrap();
        assert_eq!(down.statements[0].sql, "DROP TABLE users");
        assert_eq!(down.statements[0].line, 6);
        assert!(got[1].down.is_none(), "no rollback: irreversible");
        assert_eq!(got[1].declared_at.as_ref().unwrap().1, 8);
        assert!(!got[1].up.transactional);
        assert_eq!(got[2].up.statements.len(), 1);
        assert_eq!(
            got[2].down.as_ref().unwrap().statements[0].sql,
            "DROP FUNCTION f()"
        );
    }

    #[test]
    fn marker_text_in_a_dollar_quoted_body_is_text() {
        let got = parse(
            "--liquibase formatted sql\n--changeset a:1\nCREATE FUNCTION f() RETURNS text AS $$\nSELECT '\n--changeset x:9\n--rollback nope\n'::text\n$$ LANGUAGE sql;\n--rollback DROP FUNCTION f();\n",
        );
        assert_eq!(got.len(), 1);
        assert!(got[0].up.statements[0].sql.contains("--changeset x:9"));
        assert_eq!(got[0].down.as_ref().unwrap().statements.len(), 1);
    }

    #[test]
    fn end_delimiter_and_empty_rollback() {
        let got = parse(
            "--liquibase formatted sql\r\n--changeset a:1 endDelimiter:GO\r\nSELECT 1\r\nGO\r\nSELECT 2\r\nGO\r\n--rollback empty\r\n",
        );
        assert_eq!(got[0].up.statements.len(), 2);
        assert_eq!(got[0].up.statements[1].line, 5);
        assert!(got[0].effective_down().is_none());
        assert!(got[0].down.is_some());
    }

    #[test]
    fn markers_are_markers_for_mysql_too() {
        let mysql = crate::engine::find("mysql").expect("the mysql engine is registered");
        let text = "--liquibase formatted sql\n--changeset a:1\nCREATE TABLE t (id INT);\n--rollback DROP TABLE t;\n--changeset a:2\nCREATE TABLE u (id INT);\n";
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("changes.sql");
        std::fs::write(&p, text).unwrap();
        let got = read(&p, mysql.split, Some(&["mysql"])).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].up.statements[0].sql, "CREATE TABLE t (id INT)");
        assert_eq!(got[0].up.statements[0].line, 3);
        let down = got[0].down.as_ref().unwrap();
        assert_eq!(down.statements[0].sql, "DROP TABLE t");
    }

    #[test]
    fn dbms_filters_changesets_when_the_database_is_known() {
        let text = "--liquibase formatted sql\n--changeset a:1 dbms:mysql\nSELECT 1;\n--changeset a:2 dbms:postgresql\nSELECT 2;\n";
        let got = parse_for(text, Some(&["postgresql"]));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].version, "2");
        assert_eq!(parse(text).len(), 2);
    }
}
