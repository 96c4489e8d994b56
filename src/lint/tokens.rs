//! A statement as words and symbols, on `sqlparser`'s tokenizer: enough structure to read
//! DDL without a full parse (sqlparser's parser refuses much of PostgreSQL's DDL, and a
//! linter must not give up on a statement it cannot parse).

use sqlparser::dialect::{Dialect as ParserDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::sql::Dialect;

/// One token: a word (keyword or identifier), or anything else as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// `up`: the word in upper case when it is not quoted (so it can be a keyword), else
    /// empty; `text`: the identifier as the server stores it (unquoted words folded to lower
    /// case on PostgreSQL).
    Word { up: String, text: String },
    /// A string literal.
    Str(String),
    /// A number, an operator or punctuation.
    Sym(String),
}

/// The tokens of one statement, comments and whitespace left out. `None` when the tokenizer
/// refuses the text (the splitter accepted it, so this is rare): no rule then applies.
pub fn tokens(sql: &str, dialect: Dialect) -> Option<Vec<Tok>> {
    let parser: &dyn ParserDialect = match dialect {
        Dialect::Postgres => &PostgreSqlDialect {},
        Dialect::MySql => &MySqlDialect {},
    };
    let raw = Tokenizer::new(parser, sql)
        .with_unescape(true)
        .tokenize()
        .ok()?;
    let mut out = Vec::with_capacity(raw.len());
    for token in raw {
        out.push(match token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::Word(w) => match w.quote_style {
                None => Tok::Word {
                    up: w.value.to_ascii_uppercase(),
                    text: match dialect {
                        Dialect::Postgres => w.value.to_lowercase(),
                        Dialect::MySql => w.value,
                    },
                },
                Some(_) => Tok::Word {
                    up: String::new(),
                    text: w.value,
                },
            },
            Token::SingleQuotedString(s)
            | Token::EscapedStringLiteral(s)
            | Token::NationalStringLiteral(s)
            | Token::DoubleQuotedString(s) => Tok::Str(s),
            Token::DollarQuotedString(s) => Tok::Str(s.value),
            other => Tok::Sym(other.to_string()),
        });
    }
    Some(out)
}

/// A statement's tokens with the look-ups the rules use.
pub struct Toks(pub Vec<Tok>);

impl Toks {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The keyword at `i` (upper case), or `""` for anything else.
    pub fn kw(&self, i: usize) -> &str {
        match self.0.get(i) {
            Some(Tok::Word { up, .. }) => up,
            _ => "",
        }
    }

    /// The symbol at `i`, or `""`.
    pub fn sym(&self, i: usize) -> &str {
        match self.0.get(i) {
            Some(Tok::Sym(s)) => s,
            _ => "",
        }
    }

    /// The identifier at `i` as stored, if `i` is a word.
    pub fn ident(&self, i: usize) -> Option<&str> {
        match self.0.get(i) {
            Some(Tok::Word { text, .. }) => Some(text),
            _ => None,
        }
    }

    /// Whether the keywords `seq` start at `i`.
    pub fn at(&self, i: usize, seq: &[&str]) -> bool {
        seq.iter().enumerate().all(|(k, w)| self.kw(i + k) == *w)
    }

    /// After the keywords `seq` at `i`: the index that follows them, or `i` when they are not
    /// there (for optional words).
    pub fn skip(&self, i: usize, seq: &[&str]) -> usize {
        if self.at(i, seq) { i + seq.len() } else { i }
    }

    /// The first index in `from..to` outside parentheses where the keywords `seq` start.
    pub fn find(&self, from: usize, to: usize, seq: &[&str]) -> Option<usize> {
        let mut depth = 0usize;
        for i in from..to.min(self.len()) {
            match self.sym(i) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ if depth == 0 && self.at(i, seq) => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Whether the keywords `seq` occur anywhere in `from..to`, inside parentheses too.
    pub fn contains(&self, from: usize, to: usize, seq: &[&str]) -> bool {
        (from..to.min(self.len())).any(|i| self.at(i, seq))
    }

    /// A possibly qualified name at `i` (`a`, `s.a`, `"S"."A"`): its last part and the index
    /// after it.
    pub fn name(&self, i: usize) -> Option<(String, usize)> {
        let mut last = self.ident(i)?.to_string();
        let mut next = i + 1;
        while self.sym(next) == "." {
            let Some(part) = self.ident(next + 1) else {
                break;
            };
            last = part.to_string();
            next += 2;
        }
        Some((last, next))
    }

    /// `from..to` cut at commas outside parentheses.
    pub fn split_commas(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut parts = Vec::new();
        let mut depth = 0usize;
        let mut start = from;
        for i in from..to.min(self.len()) {
            match self.sym(i) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                "," if depth == 0 => {
                    parts.push((start, i));
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < to.min(self.len()) {
            parts.push((start, to.min(self.len())));
        }
        parts
    }

    /// The index of the `)` that closes the `(` at `open`.
    pub fn closing(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for i in open..self.len() {
            match self.sym(i) {
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_quoted_ones_are_not_keywords() {
        let t = Toks(tokens("ALTER TABLE \"Users\" ADD x int -- c\n;", Dialect::Postgres).unwrap());
        assert!(t.at(0, &["ALTER", "TABLE"]));
        assert_eq!(t.kw(2), "");
        assert_eq!(t.ident(2), Some("Users"));
        assert_eq!(t.ident(4), Some("x"));
        assert_eq!(t.name(2), Some(("Users".into(), 3)));
        let t = Toks(tokens("a.b.c (x, (y, z)), w", Dialect::Postgres).unwrap());
        assert_eq!(t.name(0), Some(("c".into(), 5)));
        assert_eq!(t.split_commas(0, t.len()).len(), 2);
        assert_eq!(t.closing(5), Some(t.len() - 3));
    }
}
