//! dbmate: one file `<version>_<name>.sql` with a `-- migrate:up` section and an optional
//! `-- migrate:down` section; `transaction:false` after a marker runs that section outside a
//! transaction. Markers inside statements (a dollar-quoted function body) are text.

use std::path::Path;

use super::{
    Migration, Script, Splitter, at, display_path, in_version_order, line_range, marker_lines,
    named_entries, numbered, read_text,
};
use crate::{Error, Result};

fn marker(line: &str) -> Option<(&'static str, bool)> {
    let rest = line.strip_prefix("--")?.trim_start();
    let (direction, options) = if let Some(o) = rest.strip_prefix("migrate:up") {
        ("up", o)
    } else if let Some(o) = rest.strip_prefix("migrate:down") {
        ("down", o)
    } else {
        return None;
    };
    if !options.is_empty() && !options.starts_with(char::is_whitespace) {
        return None;
    }
    let no_transaction = options
        .split_whitespace()
        .any(|o| o.eq_ignore_ascii_case("transaction:false"));
    Some((direction, no_transaction))
}

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut migrations: Vec<Migration> = Vec::new();
    for (path, file) in named_entries(dir)? {
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let shown = display_path(&path);
        let (version, name) = numbered(stem).ok_or_else(|| {
            Error::input(format!(
                "{}: bad dbmate migration file name; expected <version>_<name>.sql. {}",
                shown.display(),
                super::KNOWN_LAYOUTS
            ))
        })?;
        let text = read_text(&path)?;
        migrations.push(parse(&shown, version, name, &text, split)?);
    }
    in_version_order(migrations)
}

fn parse(path: &Path, version: &str, name: &str, text: &str, split: Splitter) -> Result<Migration> {
    let markers = marker_lines(text, split, |l| marker(l).is_some()).map_err(|e| at(path, e))?;
    let total = text.lines().count() + 1;
    let find = |direction: &str| {
        markers
            .iter()
            .find(|(_, line)| marker(line.trim()).is_some_and(|(d, _)| d == direction))
            .map(|(n, line)| (*n, marker(line.trim()).map(|(_, nt)| nt).unwrap_or(false)))
    };
    let Some((up_line, up_no_tx)) = find("up") else {
        return Err(Error::InputAt {
            path: path.to_path_buf(),
            line: 1,
            message: "no `-- migrate:up` marker".into(),
        });
    };
    let down = find("down");
    let up_end = down
        .map(|(n, _)| n)
        .filter(|n| *n > up_line)
        .unwrap_or(total);
    let section = |from: usize, to: usize, no_tx: bool| -> Result<Script> {
        let mut script =
            Script::parse_section(path.to_path_buf(), &line_range(text, from, to), from, split)
                .map_err(|e| at(path, e))?;
        if no_tx {
            script.transactional = false;
        }
        Ok(script)
    };
    let mut migration = Migration::new(version, name, section(up_line + 1, up_end, up_no_tx)?);
    migration.declared_at = Some((path.to_path_buf(), up_line));
    if let Some((down_line, down_no_tx)) = down {
        let end = if down_line < up_line { up_line } else { total };
        migration.down = Some(section(down_line + 1, end, down_no_tx)?);
    }
    Ok(migration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    #[test]
    fn sections_with_lines_and_options() {
        let text = "-- migrate:up transaction:false\ncreate index concurrently i on t (a);\n\n-- migrate:down\ndrop index i;\n";
        let m = parse(Path::new("1_a.sql"), "1", "a", text, split).unwrap();
        assert!(!m.up.transactional);
        assert_eq!(m.up.statements[0].line, 2);
        let down = m.down.unwrap();
        assert!(down.transactional);
        assert_eq!(down.statements[0].line, 5);
        assert_eq!(down.statements[0].sql, "drop index i");
    }

    #[test]
    fn marker_text_inside_a_function_body_is_not_a_marker() {
        let text = "-- migrate:up\ncreate function f() returns text language sql as $$\nselect '\n-- migrate:down\n'::text\n$$;\n-- migrate:down\ndrop function f();\n";
        let m = parse(Path::new("1_a.sql"), "1", "a", text, split).unwrap();
        assert_eq!(m.up.statements.len(), 1);
        assert!(m.up.statements[0].sql.contains("-- migrate:down"));
        assert_eq!(m.down.unwrap().statements[0].line, 8);
    }

    #[test]
    fn empty_down_section_is_irreversible() {
        let text = "-- migrate:up\nupdate t set a = 1;\n-- migrate:down\n\n-- nothing to undo\n";
        let m = parse(Path::new("1_a.sql"), "1", "a", text, split).unwrap();
        assert!(m.down.is_some() && m.effective_down().is_none());
    }

    #[test]
    fn crlf_bom_and_missing_down() {
        let text = "-- migrate:up\r\ncreate table t (a int);\r\n";
        let m = parse(Path::new("1_a.sql"), "1", "a", text, split).unwrap();
        assert_eq!(m.up.statements[0].sql, "create table t (a int)");
        assert!(m.down.is_none());
        assert_eq!(m.declared_at.unwrap().1, 1);
        assert!(parse(Path::new("1_a.sql"), "1", "a", "select 1;", split).is_err());
    }
}
