//! The statement at fault, quoted: a finding that points at `file:line` of a migration gets
//! the first lines of the statement written there, so a reader sees the SQL without opening
//! the file.

use super::Finding;
use crate::migrations::{Migration, Script};

/// Lines of a statement quoted; the rest is cut with an ellipsis.
const QUOTED_LINES: usize = 4;

/// The first lines of `sql`, trailing blanks removed, `…` when there is more.
pub fn quote(sql: &str) -> String {
    let lines: Vec<&str> = sql.trim().lines().map(str::trim_end).collect();
    let mut text = lines
        .iter()
        .take(QUOTED_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > QUOTED_LINES {
        text.push_str("\n…");
    }
    text
}

/// The statement of `scripts` that `line` falls in: the one starting closest at or before
/// it. The scripts are those of one file, which holds both the up and the down in the
/// single-file layouts (dbmate, goose, Liquibase), so a line of the down must not fall in the
/// up's last statement.
fn statement_at<'a>(scripts: &[&'a Script], line: usize) -> Option<&'a str> {
    scripts
        .iter()
        .flat_map(|s| &s.statements)
        .filter(|s| s.line <= line)
        .max_by_key(|s| s.line)
        .map(|s| s.sql.as_str())
}

/// Gives every finding that points at a line of one of `migrations`' files, and has no
/// quote yet, the statement written there.
pub fn quote_statements(findings: &mut [Finding], migrations: &[Migration]) {
    let scripts: Vec<&Script> = migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(m.down.as_ref()))
        .collect();
    for f in findings.iter_mut().filter(|f| f.statement.is_none()) {
        let (Some(file), Some(line)) = (&f.file, f.line) else {
            continue;
        };
        let in_file: Vec<&Script> = scripts
            .iter()
            .copied()
            .filter(|s| s.path.display().to_string() == *file)
            .collect();
        f.statement = statement_at(&in_file, line).map(quote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_cut_after_four_lines() {
        let sql = "UPDATE users\nSET a = 1,\n  b = 2,\n  c = 3,\n  d = 4\nWHERE x;  ";
        assert_eq!(
            quote(sql),
            "UPDATE users\nSET a = 1,\n  b = 2,\n  c = 3,\n…"
        );
        assert_eq!(quote("  DROP TABLE t;\n"), "DROP TABLE t;");
    }

    #[test]
    fn the_statement_a_line_falls_in_is_quoted() {
        let statements = vec![
            crate::migrations::Statement {
                sql: "CREATE TABLE t (id int);".into(),
                line: 1,
                needs_autocommit: false,
                transaction_control: false,
            },
            crate::migrations::Statement {
                sql: "ALTER TABLE t\n  ADD COLUMN a int NOT NULL;".into(),
                line: 3,
                needs_autocommit: false,
                transaction_control: false,
            },
        ];
        let script = Script {
            path: "migrations/1_a.up.sql".into(),
            statements,
            transactional: true,
            directives: Default::default(),
            blank: false,
            whole: false,
            refused: None,
        };
        assert_eq!(
            statement_at(&[&script], 4),
            Some(script.statements[1].sql.as_str())
        );
        assert_eq!(
            statement_at(&[&script], 1),
            Some("CREATE TABLE t (id int);")
        );
    }
}
