//! Comment directives that authors write into migration files.
//!
//! - `-- driftless:no-transaction` (or sqlx's `-- no-transaction` on the first line): run the
//!   script statement by statement, outside a transaction.
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
    pub allows: Vec<Allow>,
}

impl Directives {
    pub fn parse(text: &str) -> Directives {
        let mut directives = Directives::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let Some(comment) = line.strip_prefix("--").or_else(|| line.strip_prefix('#')) else {
                continue;
            };
            let comment = comment.trim();
            if comment == "driftless:no-transaction" || (index == 0 && comment == "no-transaction")
            {
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
        assert!(
            Directives::parse("-- no-transaction\ncreate index concurrently i on t(a);")
                .no_transaction
        );
        assert!(!Directives::parse("select 1;\n-- no-transaction\n").no_transaction);
    }
}
