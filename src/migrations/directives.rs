//! Comment directives that authors write into migration files.
//!
//! - `-- driftless:no-transaction`: the runner does not wrap this script in a transaction,
//!   whatever its tool's rule says (for projects' own runners); a tool's own opt-out (sqlx's
//!   `-- no-transaction` as the file's first bytes, kept in `first_line_no_transaction`) is
//!   honoured by that tool's reader only.
//! - `-- driftless:allow <kind> <reason>`: findings of that kind for this migration become
//!   `info`, carrying the reason.

/// A suppression written in a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub kind: String,
    pub reason: String,
    pub line: usize,
}

/// Directives found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub no_transaction: bool,
    /// The text starts with `-- no-transaction` (sqlx's opt-out: `starts_with`, so nothing,
    /// not even a blank line, may come before it).
    pub first_line_no_transaction: bool,
    pub allows: Vec<Allow>,
}

impl Directives {
    pub fn parse(text: &str) -> Directives {
        let mut directives = Directives {
            first_line_no_transaction: text.starts_with("-- no-transaction"),
            ..Directives::default()
        };
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let Some(comment) = line.strip_prefix("--").or_else(|| line.strip_prefix('#')) else {
                continue;
            };
            let comment = comment.trim();
            if comment == "driftless:no-transaction" {
                directives.no_transaction = true;
            } else if let Some(rest) = comment.strip_prefix("driftless:allow") {
                let mut parts = rest.trim().splitn(2, char::is_whitespace);
                let kind = parts.next().unwrap_or_default().trim().to_string();
                if kind.is_empty() {
                    continue;
                }
                let reason = parts.next().unwrap_or_default().trim().to_string();
                directives.allows.push(Allow {
                    kind,
                    reason: if reason.is_empty() {
                        "allowed in the migration file".into()
                    } else {
                        reason
                    },
                    line: index + 1,
                });
            }
        }
        directives
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_allow_with_reason() {
        let d = Directives::parse("-- driftless:allow data_loss the column was unused\nselect 1;");
        assert_eq!(d.allows.len(), 1);
        assert_eq!(d.allows[0].kind, "data_loss");
        assert_eq!(d.allows[0].reason, "the column was unused");
        assert_eq!(d.allows[0].line, 1);
        assert!(!d.no_transaction);
    }

    #[test]
    fn reads_no_transaction_forms() {
        assert!(Directives::parse("-- driftless:no-transaction\n").no_transaction);
        let sqlx = Directives::parse("-- no-transaction\ncreate index concurrently i on t(a);");
        assert!(sqlx.first_line_no_transaction && !sqlx.no_transaction);
        assert!(!Directives::parse("select 1;\n-- no-transaction\n").first_line_no_transaction);
        assert!(!Directives::parse("\n-- no-transaction\n").first_line_no_transaction);
    }
}
