//! Splitting PostgreSQL scripts into statements.
//!
//! Built on `sqlparser`'s tokenizer, which already knows dollar quoting (`$$`, `$tag$`),
//! `E''` strings, quoted identifiers, `--` and nested `/* */` comments, and reports the line
//! and column of every token. A statement ends at a `;` outside parentheses and outside a
//! SQL-standard function body (`BEGIN ATOMIC ... END`). Each statement keeps its start line and
//! the exact source text between its first and last token.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::migrations::{SplitError, Statement};

/// Splits a PostgreSQL script; see the module documentation.
pub fn split(source: &str) -> Result<Vec<Statement>, SplitError> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, source)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| SplitError {
            line: e.location.line.max(1) as usize,
            message: e.message,
        })?;
    let offsets = Offsets::new(source);

    let mut statements = Vec::new();
    let mut current: Vec<&TokenWithSpan> = Vec::new();
    let mut parens = 0usize;
    let mut atomic = 0usize;
    let mut case_in_atomic = 0usize;
    let mut previous_word: Option<String> = None;

    for token in &tokens {
        match &token.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen => parens += 1,
            Token::RParen => parens = parens.saturating_sub(1),
            Token::Word(word) if word.quote_style.is_none() => {
                let upper = word.value.to_ascii_uppercase();
                if upper == "ATOMIC" && previous_word.as_deref() == Some("BEGIN") {
                    atomic += 1;
                } else if atomic > 0 && upper == "CASE" {
                    case_in_atomic += 1;
                } else if atomic > 0 && upper == "END" {
                    if case_in_atomic > 0 {
                        case_in_atomic -= 1;
                    } else {
                        atomic -= 1;
                    }
                }
                previous_word = Some(upper);
                current.push(token);
                continue;
            }
            Token::SemiColon if parens == 0 && atomic == 0 => {
                if !current.is_empty() {
                    statements.push(statement(source, &offsets, &current));
                    current.clear();
                }
                previous_word = None;
                continue;
            }
            _ => {}
        }
        previous_word = None;
        current.push(token);
    }
    if !current.is_empty() {
        statements.push(statement(source, &offsets, &current));
    }
    Ok(statements)
}

fn statement(source: &str, offsets: &Offsets, tokens: &[&TokenWithSpan]) -> Statement {
    let first = tokens[0];
    let last = tokens[tokens.len() - 1];
    let start = offsets.byte(first.span.start);
    let end = offsets.byte(last.span.end);
    let keywords: Vec<String> = tokens
        .iter()
        .take(12)
        .filter_map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        })
        .collect();
    let words: Vec<&str> = keywords.iter().map(String::as_str).collect();
    Statement {
        sql: source[start..end].to_string(),
        line: first.span.start.line as usize,
        needs_autocommit: needs_autocommit(&words),
        transaction_control: is_transaction_control(&words),
    }
}

/// Statements PostgreSQL refuses to run inside a transaction block.
fn needs_autocommit(words: &[&str]) -> bool {
    let has = |w: &str| words.contains(&w);
    match words {
        ["VACUUM", ..] | ["ALTER", "SYSTEM", ..] => true,
        [
            "CREATE" | "DROP",
            "DATABASE" | "TABLESPACE" | "SUBSCRIPTION",
            ..,
        ] => true,
        ["ALTER", "SUBSCRIPTION", ..] => true,
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..]
        | ["DROP", "INDEX", "CONCURRENTLY", ..] => true,
        ["REINDEX", ..] => has("CONCURRENTLY") || has("SYSTEM") || has("DATABASE"),
        ["ALTER", "TABLE", ..] => has("DETACH") && has("CONCURRENTLY"),
        _ => false,
    }
}

fn is_transaction_control(words: &[&str]) -> bool {
    matches!(
        words,
        ["BEGIN"]
            | ["BEGIN", "TRANSACTION" | "WORK" | "ISOLATION" | "READ", ..]
            | ["START", "TRANSACTION", ..]
            | ["COMMIT" | "END" | "ROLLBACK" | "ABORT", ..]
    ) && !matches!(words, ["ROLLBACK", "TO", ..])
}

/// Maps tokenizer locations (line, column in characters) to byte offsets.
struct Offsets<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(source: &'a str) -> Self {
        let mut line_starts = vec![0];
        let bytes = source.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line_starts.push(i + 1),
                // The tokenizer counts a lone `\r` and `\r\n` as one line break each.
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => line_starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Offsets {
            source,
            line_starts,
        }
    }

    fn byte(&self, location: Location) -> usize {
        let line = (location.line.max(1) as usize - 1).min(self.line_starts.len() - 1);
        let start = self.line_starts[line];
        let column = location.column.max(1) as usize - 1;
        self.source[start..]
            .char_indices()
            .nth(column)
            .map(|(offset, _)| start + offset)
            .unwrap_or(self.source.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sql_common::assert_splits;

    #[test]
    fn splits_on_semicolons_and_keeps_lines() {
        assert_splits(
            split,
            "create table a (id int);\n\ncreate table b (id int);\n",
            &[
                (1, "create table a (id int)"),
                (3, "create table b (id int)"),
            ],
        );
    }

    #[test]
    fn strings_and_comments_hide_semicolons() {
        let source = "-- a comment; with a semicolon\n\
                      insert into t values ('a;b', E'it\\'s;');\n\
                      /* outer /* nested; */ still comment; */\n\
                      select 2;";
        let insert = "insert into t values ('a;b', E'it\\'s;')";
        assert_splits(split, source, &[(2, insert), (4, "select 2")]);
    }

    #[test]
    fn function_bodies_stay_whole() {
        let dollar =
            "create function f() returns int as $$\nbegin\n  return 1;\nend;\n$$ language plpgsql";
        let block = "do $body$ begin perform 1; end $body$";
        let atomic = "create function g(a int) returns int language sql\nbegin atomic\n  select case when a > 0 then 1 else 0 end;\n  select 2;\nend";
        let source = format!("{dollar};\n{block};\n{atomic};\nselect 3;");
        let expected = [(1, dollar), (6, block), (7, atomic), (12, "select 3")];
        assert_splits(split, &source, &expected);
    }

    #[test]
    fn non_ascii_text_is_sliced_on_char_boundaries() {
        let expected = [(1, "insert into t values ('größe → ✓')"), (2, "select 'ü'")];
        assert_splits(
            split,
            "insert into t values ('größe → ✓');\nselect 'ü';",
            &expected,
        );
    }

    #[test]
    fn comment_only_script_has_no_statements() {
        assert_splits(split, "-- nothing to undo\n/* really */\n", &[]);
    }

    #[test]
    fn flags_statements_that_cannot_run_in_a_transaction() {
        let got =
            split("create index concurrently i on t (a);\ncreate index j on t (b);\nvacuum t;")
                .unwrap();
        let flags: Vec<bool> = got.iter().map(|s| s.needs_autocommit).collect();
        assert_eq!(flags, vec![true, false, true]);
    }

    #[test]
    fn flags_transaction_control() {
        let got = split("begin;\nselect 1;\ncommit;\nrollback to savepoint a;").unwrap();
        let flags: Vec<bool> = got.iter().map(|s| s.transaction_control).collect();
        assert_eq!(flags, vec![true, false, true, false]);
    }

    #[test]
    fn unterminated_string_reports_its_line() {
        let err = split("select 1;\nselect 'oops;\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
