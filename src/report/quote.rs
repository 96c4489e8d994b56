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

/// The statement of `scripts` (one file's, which may hold several scripts: goose's and
/// dbmate's up and down sections, Liquibase's changeSets) that `line` falls in: the one
/// starting last at or before it, whichever script it belongs to.
fn statement_at<'a>(scripts: &[&'a Script], line: usize) -> Option<&'a str> {
    scripts
        .iter()
        .flat_map(|s| s.statements.iter())
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
        // An up and its down can share a file: a line of the down section must not be
        // answered with the up's last statement.
        let same_file: Vec<&Script> = scripts
            .iter()
            .copied()
            .filter(|s| s.path.display().to_string() == *file)
            .collect();
        f.statement = statement_at(&same_file, line).map(quote);
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
        let script = script(
            "migrations/1_a.up.sql",
            vec![
                statement("CREATE TABLE t (id int);", 1),
                statement("ALTER TABLE t\n  ADD COLUMN a int NOT NULL;", 3),
            ],
        );
        assert_eq!(
            statement_at(&[&script], 4),
            Some(script.statements[1].sql.as_str())
        );
        assert_eq!(
            statement_at(&[&script], 1),
            Some("CREATE TABLE t (id int);")
        );
    }

    fn statement(sql: &str, line: usize) -> crate::migrations::Statement {
        crate::migrations::Statement {
            sql: sql.into(),
            line,
            needs_autocommit: false,
            transaction_control: false,
        }
    }

    fn script(path: &str, statements: Vec<crate::migrations::Statement>) -> Script {
        Script {
            path: path.into(),
            statements,
            transactional: true,
            directives: Default::default(),
            blank: false,
            whole: false,
            refused: None,
        }
    }

    /// goose and dbmate keep the up and the down in one file: a finding at a line of the
    /// down section quotes the down's statement, not the up's last one.
    #[test]
    fn a_down_section_line_quotes_the_down_statement_of_a_shared_file() {
        let up = script(
            "db/1_parcels.sql",
            vec![
                statement("ALTER TABLE parcels DROP COLUMN weight;", 3),
                statement("ALTER TABLE parcels MODIFY label varchar(40) NOT NULL;", 4),
            ],
        );
        let down = script(
            "db/1_parcels.sql",
            vec![
                statement("ALTER TABLE parcels ADD COLUMN weight int;", 7),
                statement("ALTER TABLE parcels MODIFY label text;", 8),
            ],
        );
        let at = |line| {
            let mut f = Finding::new(crate::report::FindingKind::DataLoss, "lost");
            f.file = Some("db/1_parcels.sql".into());
            f.line = Some(line);
            f
        };
        let mut findings = vec![at(8), at(7), at(4)];
        let mut migration = Migration::new("1", "parcels", up);
        migration.down = Some(down);
        quote_statements(&mut findings, &[migration]);
        let quoted: Vec<_> = findings.iter().map(|f| f.statement.clone()).collect();
        assert_eq!(
            quoted,
            vec![
                Some("ALTER TABLE parcels MODIFY label text;".to_string()),
                Some("ALTER TABLE parcels ADD COLUMN weight int;".to_string()),
                Some("ALTER TABLE parcels MODIFY label varchar(40) NOT NULL;".to_string()),
            ]
        );
    }
}
