//! Splitting MySQL / MariaDB scripts into statements.
//!
//! Understands what the `mysql` client understands: `DELIMITER` lines that change the
//! statement terminator (for procedures, triggers and events), `#`, `-- ` and `/* */`
//! comments, backtick identifiers, strings with backslash escapes and doubled quotes, and
//! `/*! … */` version comments, which the server executes and are therefore kept as statement
//! text. Without a `DELIMITER`, the `BEGIN … END` body of `CREATE PROCEDURE/FUNCTION/TRIGGER/
//! EVENT` stays whole too (several migration tools parse it that way). Every statement keeps
//! its start line.
//!
//! The lexer is a small one of our own rather than `sqlparser`'s: `DELIMITER` is a client
//! command no SQL tokenizer knows, and sqlparser expands `/*! … */` into tokens whose
//! locations cannot be mapped back onto the source.

use crate::migrations::{SplitError, Statement};

/// Splits a MySQL script; see the module documentation.
pub fn split(source: &str) -> Result<Vec<Statement>, SplitError> {
    let mut statements = Vec::new();
    let mut delimiter = ";".to_string();
    let mut region_start = 0usize;
    let mut region_line = 1usize;
    let mut offset = 0usize;
    for (index, line) in source.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        let mut words = trimmed.splitn(2, char::is_whitespace);
        let is_delimiter = words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("delimiter"));
        if is_delimiter {
            split_region(
                &source[region_start..offset],
                region_line,
                &delimiter,
                &mut statements,
            )?;
            let new = words.next().unwrap_or_default().trim();
            if new.is_empty() {
                return Err(SplitError {
                    line: index + 1,
                    message: "DELIMITER without a delimiter".into(),
                });
            }
            delimiter = new.to_string();
            region_start = offset + line.len();
            region_line = index + 2;
        }
        offset += line.len();
    }
    split_region(
        &source[region_start..],
        region_line,
        &delimiter,
        &mut statements,
    )?;
    Ok(statements)
}

/// What a byte range of a script is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Code,
    /// A string or quoted identifier: no delimiter inside, no keywords inside.
    Quoted,
    /// `/*! … */`: executed by the server, but no delimiter inside.
    Version,
    Comment,
}

/// Cuts `text` into parts; an unterminated string or comment is an error at its start line.
fn lex(text: &str, first_line: usize) -> Result<Vec<(Part, usize, usize)>, SplitError> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    let mut code_start = 0;
    let line_at = |at: usize| first_line + text[..at].matches('\n').count();
    let push = |parts: &mut Vec<(Part, usize, usize)>, code_start: usize, part, from, to| {
        if code_start < from {
            parts.push((Part::Code, code_start, from));
        }
        parts.push((part, from, to));
    };
    while i < bytes.len() {
        let rest = &bytes[i..];
        let (part, end) = match rest[0] {
            q @ (b'\'' | b'"' | b'`') => {
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => {
                            return Err(SplitError {
                                line: line_at(i),
                                message: format!("unterminated {} literal", q as char),
                            });
                        }
                        Some(b'\\') if q != b'`' => j += 2,
                        Some(&c) if c == q && bytes.get(j + 1) == Some(&q) => j += 2,
                        Some(&c) if c == q => break (Part::Quoted, j + 1),
                        Some(_) => j += 1,
                    }
                }
            }
            b'#' => (Part::Comment, line_end(bytes, i)),
            b'-' if rest.starts_with(b"--")
                && rest.get(2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                (Part::Comment, line_end(bytes, i))
            }
            b'/' if rest.starts_with(b"/*") => {
                let Some(close) = text[i + 2..].find("*/") else {
                    return Err(SplitError {
                        line: line_at(i),
                        message: "unterminated /* comment".into(),
                    });
                };
                let kind = if rest.starts_with(b"/*!") {
                    Part::Version
                } else {
                    Part::Comment
                };
                (kind, i + 2 + close + 2)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        push(&mut parts, code_start, part, i, end);
        i = end;
        code_start = end;
    }
    if code_start < bytes.len() {
        parts.push((Part::Code, code_start, bytes.len()));
    }
    Ok(parts)
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

fn split_region(
    text: &str,
    first_line: usize,
    delimiter: &str,
    out: &mut Vec<Statement>,
) -> Result<(), SplitError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let parts = lex(text, first_line)?;
    let mut open = vec![true; text.len()];
    for &(part, from, to) in &parts {
        if part != Part::Code {
            open[from..to].iter_mut().for_each(|o| *o = false);
        }
    }
    let mut cuts = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(delimiter) {
        let at = from + found;
        if open[at..at + delimiter.len()].iter().all(|o| *o) {
            cuts.push(at);
        }
        from = at + delimiter.len();
    }
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(text.len())) {
        let words = words(text, &parts, start, cut);
        if delimiter == ";" && cut < text.len() && inside_compound(&words) {
            // The `;` ends a statement inside a routine body: keep going.
            continue;
        }
        if let Some((from, to)) = significant_range(text, &parts, start, cut) {
            let words: Vec<&str> = words.iter().take(12).map(String::as_str).collect();
            out.push(Statement {
                sql: text[from..to].to_string(),
                line: first_line + text[..from].matches('\n').count(),
                needs_autocommit: implicit_commit(&words),
                transaction_control: transaction_control(&words),
            });
        }
        start = cut + delimiter.len();
    }
    Ok(())
}

/// Upper-cased words of the code (not strings, not comments) between `from` and `to`.
fn words(text: &str, parts: &[(Part, usize, usize)], from: usize, to: usize) -> Vec<String> {
    parts
        .iter()
        .filter(|(part, s, e)| *part == Part::Code && *e > from && *s < to)
        .flat_map(|&(_, s, e)| {
            text[s.max(from)..e.min(to)]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_uppercase)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The range from the first to the last byte that is neither whitespace nor an ordinary
/// comment; `None` for a segment of only whitespace and comments.
fn significant_range(
    text: &str,
    parts: &[(Part, usize, usize)],
    from: usize,
    to: usize,
) -> Option<(usize, usize)> {
    let mut first = None;
    let mut last = None;
    for &(part, s, e) in parts {
        let (s, e) = (s.max(from), e.min(to));
        if s >= e || part == Part::Comment {
            continue;
        }
        let piece = &text[s..e];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if lead == piece.len() {
            continue;
        }
        first.get_or_insert(s + lead);
        last = Some(e - trail);
    }
    Some((first?, last?))
}

/// Whether the statement so far is a stored program whose `BEGIN … END` body is still open.
fn inside_compound(words: &[String]) -> bool {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let program = matches!(words.first(), Some(&"CREATE"))
        && words
            .iter()
            .take(8)
            .any(|w| matches!(*w, "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT"));
    if !program {
        return false;
    }
    let (mut blocks, mut cases) = (0i32, 0i32);
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        match *word {
            "BEGIN" if !matches!(next, Some("WORK" | "TRANSACTION")) => blocks += 1,
            "CASE" if !matches!(words.get(i.wrapping_sub(1)), Some(&"END")) => cases += 1,
            "END" => match next {
                Some("IF" | "LOOP" | "WHILE" | "REPEAT") => {}
                Some("CASE") => cases -= 1,
                _ if cases > 0 => cases -= 1,
                _ => blocks -= 1,
            },
            _ => {}
        }
    }
    blocks > 0
}

/// Statements after which MySQL commits implicitly (DDL and account management): a script
/// holding one cannot be made atomic with a transaction.
fn implicit_commit(words: &[&str]) -> bool {
    matches!(
        words.first().copied(),
        Some(
            "CREATE"
                | "ALTER"
                | "DROP"
                | "RENAME"
                | "TRUNCATE"
                | "GRANT"
                | "REVOKE"
                | "LOCK"
                | "UNLOCK"
                | "ANALYZE"
                | "OPTIMIZE"
                | "REPAIR"
                | "INSTALL"
                | "UNINSTALL"
                | "FLUSH"
        )
    )
}

fn transaction_control(words: &[&str]) -> bool {
    matches!(
        words,
        ["BEGIN"]
            | ["BEGIN", "WORK", ..]
            | ["START", "TRANSACTION", ..]
            | ["COMMIT", ..]
            | ["ROLLBACK"]
            | ["ROLLBACK", "WORK", ..]
            | ["XA", ..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sql_common::assert_splits;

    fn sql(source: &str) -> Vec<(usize, String)> {
        crate::engine::sql_common::split_lines(split, source)
    }

    #[test]
    fn splits_and_keeps_lines() {
        assert_splits(
            split,
            "CREATE TABLE a (id INT);\n\n# hash comment; here\nINSERT INTO a VALUES (1);\n",
            &[
                (1, "CREATE TABLE a (id INT)"),
                (4, "INSERT INTO a VALUES (1)"),
            ],
        );
    }

    #[test]
    fn strings_backticks_and_comments_hide_semicolons() {
        let got = sql(
            "INSERT INTO `we;ird` VALUES ('a;b', 'it\\'s;', \"x;y\"); -- trailing; comment\n/* c; */ SELECT 1;",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0].1,
            "INSERT INTO `we;ird` VALUES ('a;b', 'it\\'s;', \"x;y\")"
        );
        assert_eq!(got[1], (2, "SELECT 1".to_string()));
    }

    #[test]
    fn delimiter_blocks_keep_routine_bodies_whole() {
        let source = "CREATE TABLE t (id INT);\n\
                      DELIMITER $$\n\
                      CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\n\
                      BEGIN\n  SET NEW.id = NEW.id + 1;\nEND$$\n\
                      CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END $$\n\
                      DELIMITER ;\n\
                      INSERT INTO t VALUES (1);";
        let got = sql(source);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[1].0, 3);
        assert!(got[1].1.starts_with("CREATE TRIGGER") && got[1].1.ends_with("END"));
        assert!(got[1].1.contains("SET NEW.id = NEW.id + 1;"));
        assert_eq!(
            got[2].1,
            "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"
        );
        assert_eq!(got[3], (9, "INSERT INTO t VALUES (1)".to_string()));
    }

    #[test]
    fn routine_bodies_stay_whole_without_delimiter() {
        let body = "CREATE PROCEDURE p(x INT)\nBEGIN\n  IF x > 0 THEN\n    SELECT CASE WHEN x > 1 THEN 'a' ELSE 'b' END;\n  END IF;\nEND";
        let source = format!("{body};\nSELECT 3;");
        assert_splits(split, &source, &[(1, body), (7, "SELECT 3")]);
    }

    #[test]
    fn version_comments_are_statements() {
        let expected = [(1, "/*!40101 SET NAMES utf8mb4 */"), (2, "SELECT 1")];
        assert_splits(
            split,
            "/*!40101 SET NAMES utf8mb4 */;\nSELECT 1;",
            &expected,
        );
    }

    #[test]
    fn flags_ddl_and_transaction_control() {
        let got =
            split("ALTER TABLE t ADD c INT;\nUPDATE t SET c = 1;\nSTART TRANSACTION;\nCOMMIT;")
                .unwrap();
        let ddl: Vec<bool> = got.iter().map(|s| s.needs_autocommit).collect();
        let tx: Vec<bool> = got.iter().map(|s| s.transaction_control).collect();
        assert_eq!(ddl, vec![true, false, false, false]);
        assert_eq!(tx, vec![false, false, true, true]);
    }

    #[test]
    fn comment_only_and_crlf() {
        assert!(sql("-- nothing\r\n# still nothing\r\n").is_empty());
        assert_splits(
            split,
            "SELECT 1;\r\nSELECT 2;\r\n",
            &[(1, "SELECT 1"), (2, "SELECT 2")],
        );
    }

    #[test]
    fn unterminated_string_reports_its_line() {
        let err = split("SELECT 1;\nSELECT 'oops;\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
