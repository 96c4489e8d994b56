//! goose SQL migrations: `<version>_<name>.sql` with `-- +goose Up` and `-- +goose Down`
//! sections, `-- +goose StatementBegin` / `StatementEnd` around statements that must not be
//! split, and `-- +goose NO TRANSACTION`. Go migrations (`.go`) cannot be run by driftless:
//! they are reported by name.

use std::path::Path;

use super::{
    Migration, Script, Splitter, Statement, at, display_path, in_version_order, marker_lines,
    named_entries, numbered, read_text,
};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Annotation {
    Up,
    Down,
    Begin,
    End,
    NoTransaction,
    Other,
}

fn annotation(line: &str) -> Option<Annotation> {
    let rest = line
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("+goose")?
        .trim();
    let word = rest.to_ascii_lowercase();
    Some(match word.as_str() {
        "up" => Annotation::Up,
        "down" => Annotation::Down,
        "statementbegin" => Annotation::Begin,
        "statementend" => Annotation::End,
        "no transaction" => Annotation::NoTransaction,
        _ => Annotation::Other,
    })
}

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut migrations: Vec<Migration> = Vec::new();
    for (path, file) in named_entries(dir)? {
        let (stem, go) = match (file.strip_suffix(".sql"), file.strip_suffix(".go")) {
            (Some(stem), _) => (stem, false),
            (None, Some(stem)) if !stem.ends_with("_test") => (stem, true),
            _ => continue,
        };
        let shown = display_path(&path);
        let Some((version, name)) = numbered(stem) else {
            if go {
                continue; // helper Go files in the folder are not migrations
            }
            return Err(Error::input(format!(
                "{}: bad goose migration file name; expected <version>_<name>.sql. {}",
                shown.display(),
                super::KNOWN_LAYOUTS
            )));
        };
        if go {
            migrations.push(Migration::unsupported(
                version,
                name,
                shown,
                "goose Go migration: driftless runs SQL migrations only",
            ));
            continue;
        }
        let text = read_text(&path)?;
        migrations.push(parse(&shown, version, name, &text, split)?);
    }
    in_version_order(migrations)
}

fn parse(path: &Path, version: &str, name: &str, text: &str, split: Splitter) -> Result<Migration> {
    // Annotations inside a StatementBegin block are still annotations; the only ones that could
    // be confused with text are inside dollar-quoted bodies, which the split protects.
    let annotations = marker_lines(text, split, |l| annotation(l).is_some())
        .or_else(|_| {
            // A file that only splits correctly along its StatementBegin blocks: trust the
            // annotations as they are.
            Ok::<_, super::SplitError>(
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| annotation(l.trim()).is_some())
                    .map(|(i, l)| (i + 1, l))
                    .collect(),
            )
        })
        .map_err(|e| at(path, e))?;
    let no_transaction = annotations
        .iter()
        .any(|(_, l)| annotation(l.trim()) == Some(Annotation::NoTransaction));
    let up_line = annotations
        .iter()
        .find(|(_, l)| annotation(l.trim()) == Some(Annotation::Up))
        .map(|(n, _)| *n)
        .ok_or_else(|| Error::InputAt {
            path: path.to_path_buf(),
            line: 1,
            message: "no `-- +goose Up` annotation".into(),
        })?;
    let down_line = annotations
        .iter()
        .find(|(_, l)| annotation(l.trim()) == Some(Annotation::Down))
        .map(|(n, _)| *n);
    let lines: Vec<&str> = text.lines().collect();
    let up_end = down_line
        .filter(|d| *d > up_line)
        .unwrap_or(lines.len() + 1);
    let up = section(path, &lines, up_line + 1, up_end, split)?;
    let mut migration = Migration::new(version, name, up);
    migration.declared_at = Some((path.to_path_buf(), up_line));
    if let Some(down_line) = down_line {
        let end = if down_line < up_line {
            up_line
        } else {
            lines.len() + 1
        };
        migration.down = Some(section(path, &lines, down_line + 1, end, split)?);
    }
    if no_transaction {
        migration.up.transactional = false;
        if let Some(d) = &mut migration.down {
            d.transactional = false;
        }
    }
    Ok(migration)
}

/// Lines `from..to` (1-based) as a script: StatementBegin/End blocks are single statements,
/// the rest is split by the engine's splitter.
fn section(path: &Path, lines: &[&str], from: usize, to: usize, split: Splitter) -> Result<Script> {
    let mut statements: Vec<Statement> = Vec::new();
    let mut plain_start = from;
    let mut n = from;
    let flush = |statements: &mut Vec<Statement>, start: usize, end: usize| -> Result<()> {
        if start >= end {
            return Ok(());
        }
        let text = lines[start - 1..end - 1].join("\n");
        let script = Script::parse_section(path.to_path_buf(), &text, start, split)
            .map_err(|e| at(path, e))?;
        statements.extend(script.statements);
        Ok(())
    };
    while n < to {
        if annotation(lines[n - 1].trim()) == Some(Annotation::Begin) {
            flush(&mut statements, plain_start, n)?;
            let end = (n + 1..to)
                .find(|&k| annotation(lines[k - 1].trim()) == Some(Annotation::End))
                .ok_or_else(|| Error::InputAt {
                    path: path.to_path_buf(),
                    line: n,
                    message: "`-- +goose StatementBegin` without StatementEnd".into(),
                })?;
            let body = lines[n..end - 1].join("\n");
            let block = Script::empty(path.to_path_buf()).single_statement(&body, n + 1);
            statements.extend(block.statements);
            n = end + 1;
            plain_start = n;
        } else {
            n += 1;
        }
    }
    flush(&mut statements, plain_start, to)?;
    let body = super::line_range(&lines.join("\n"), from, to);
    Ok(Script {
        path: path.to_path_buf(),
        transactional: true,
        whole: false,
        refused: None,
        statements,
        blank: body.trim().is_empty(),
        directives: super::Directives::parse(&body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    const FILE: &str = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nCREATE TABLE t (a int);\n\n-- +goose Down\nDROP TABLE t;\nDROP FUNCTION f();\n";

    #[test]
    fn blocks_stay_whole_and_lines_are_file_lines() {
        let m = parse(Path::new("1_a.sql"), "1", "a", FILE, split).unwrap();
        assert_eq!(m.up.statements.len(), 2);
        assert_eq!(m.up.statements[0].line, 3);
        assert!(m.up.statements[0].sql.contains("RETURN 1;"));
        assert_eq!(m.up.statements[1].line, 9);
        let down = m.down.unwrap();
        assert_eq!(down.statements.len(), 2);
        assert_eq!(down.statements[0].line, 12);
        assert!(m.up.transactional);
    }

    #[test]
    fn no_transaction_and_missing_down() {
        let text =
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
        let m = parse(Path::new("1_a.sql"), "1", "a", text, split).unwrap();
        assert!(!m.up.transactional);
        assert!(m.down.is_none());
        assert!(parse(Path::new("1_a.sql"), "1", "a", "SELECT 1;", split).is_err());
    }

    #[test]
    fn go_migrations_are_reported_by_name() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("00001_a.sql"), "-- +goose Up\nSELECT 1;\n").unwrap();
        std::fs::write(d.path().join("00002_seed.go"), "package migrations\n").unwrap();
        let got = read(d.path(), split).unwrap();
        assert_eq!(got.len(), 2);
        assert!(
            got[1]
                .unsupported
                .as_deref()
                .unwrap()
                .contains("Go migration")
        );
        assert_eq!(got[1].name, "seed");
    }
}
