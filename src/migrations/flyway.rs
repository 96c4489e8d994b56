//! Flyway: `V<version>__<description>.sql` (versions like `1`, `1.2.3` or `1_2`), undo
//! `U<version>__<description>.sql`, repeatable `R__<description>.sql` (applied after all
//! versioned migrations, in description order), found in the locations of `flyway.conf` /
//! `flyway.toml` when the folder has one (searched recursively, as Flyway does). A
//! `<script>.sql.conf` with `executeInTransaction=false` is honoured, and so is Flyway's own
//! choice: a migration whose statements all cannot run in a transaction runs outside one, one
//! that mixes both is refused unless `flyway.mixed=true`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{
    Migration, Splitter, compare_versions, display_path, in_version_order, read_script, read_text,
};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Versioned(String),
    Undo(String),
    Repeatable,
}

/// `V1.2__add_users.sql` → (Versioned("1.2"), "add_users").
fn parse_name(file: &str) -> Option<(Kind, String)> {
    let stem = file.strip_suffix(".sql")?;
    let (prefix, rest) = stem.split_at(1);
    let (version, description) = rest.split_once("__")?;
    if description.is_empty() {
        return None;
    }
    let numeric = !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    match prefix {
        "V" if numeric => Some((Kind::Versioned(version.into()), description.into())),
        "U" if numeric => Some((Kind::Undo(version.into()), description.into())),
        "R" if version.is_empty() => Some((Kind::Repeatable, description.into())),
        _ => None,
    }
}

/// The folders to read: `flyway.locations` of a config file in `dir`, else `dir`.
fn locations(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let conf = dir.join("flyway.conf");
    if conf.is_file() {
        for line in read_text(&conf)?.lines() {
            if let Some(value) = line.trim().strip_prefix("flyway.locations") {
                let value = value.trim_start().trim_start_matches('=');
                found.extend(value.split(',').map(str::trim).map(str::to_string));
            }
        }
    }
    let toml_file = dir.join("flyway.toml");
    if toml_file.is_file() {
        let text = read_text(&toml_file)?;
        let parsed: toml::Table = toml::from_str(&text).map_err(|e| Error::InputAt {
            path: display_path(&toml_file),
            line: 1,
            message: e.message().to_string(),
        })?;
        if let Some(list) = parsed
            .get("flyway")
            .and_then(|f| f.get("locations"))
            .and_then(|l| l.as_array())
        {
            found.extend(list.iter().filter_map(|v| v.as_str()).map(str::to_string));
        }
    }
    let dirs: Vec<PathBuf> = found
        .iter()
        .filter_map(|l| {
            l.strip_prefix("filesystem:")
                .or((!l.contains(':')).then_some(l.as_str()))
        })
        .map(|l| dir.join(l))
        .collect();
    Ok(if dirs.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        dirs
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for path in super::sorted_entries(dir)? {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut files = Vec::new();
    for location in locations(dir)? {
        if !location.is_dir() {
            return Err(Error::input(format!(
                "Flyway location {} does not exist",
                display_path(&location).display()
            )));
        }
        walk(&location, &mut files)?;
    }
    let mixed = mixed_allowed(dir)?;
    let mut versioned: Vec<Migration> = Vec::new();
    let mut undo: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut repeatable: Vec<Migration> = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some((kind, description)) = parse_name(file) else {
            if file.starts_with(['V', 'U', 'R']) && file.contains("__") {
                return Err(Error::input(format!(
                    "{}: bad Flyway migration file name; expected V<version>__<description>.sql, \
                     U<version>__<description>.sql or R__<description>.sql. {}",
                    display_path(&path).display(),
                    super::KNOWN_LAYOUTS
                )));
            }
            continue;
        };
        match kind {
            Kind::Versioned(version) => {
                let mut m = Migration::new(version, description, read_script(&path, split)?);
                apply_conf(&path, &mut m.up, mixed)?;
                versioned.push(m);
            }
            Kind::Undo(version) => {
                undo.insert(version, path);
            }
            Kind::Repeatable => {
                let mut m = Migration::new("R", description, read_script(&path, split)?);
                m.repeatable = true;
                apply_conf(&path, &mut m.up, mixed)?;
                repeatable.push(m);
            }
        }
    }
    let mut versioned = in_version_order(versioned)?;
    for (version, path) in undo {
        let Some(m) = versioned
            .iter_mut()
            .find(|m| compare_versions(&m.version, &version).is_eq())
        else {
            return Err(Error::input(format!(
                "{}: undo migration without a versioned migration {version}",
                display_path(&path).display()
            )));
        };
        let mut down = read_script(&path, split)?;
        apply_conf(&path, &mut down, mixed)?;
        m.down = Some(down);
    }
    repeatable.sort_by(|a, b| a.name.cmp(&b.name));
    versioned.extend(repeatable);
    Ok(versioned)
}

/// `<script>.sql.conf` next to a script: `executeInTransaction=false`; without it, Flyway's
/// own decision from the statements ([`flyway_decides`]).
fn apply_conf(script_path: &Path, script: &mut super::Script, mixed: bool) -> Result<()> {
    let conf = PathBuf::from(format!("{}.conf", script_path.display()));
    if conf.is_file() {
        let text = read_text(&conf)?;
        if text.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.eq_ignore_ascii_case("executeInTransaction=false")
        }) {
            script.transactional = false;
            return Ok(());
        }
    }
    flyway_decides(script, mixed);
    Ok(())
}

/// Flyway's parser marks the PostgreSQL statements that cannot run in a transaction; a
/// migration of only such statements runs outside one, and one mixing them with others is
/// refused before anything runs, unless `mixed` is set (then it runs outside a transaction).
fn flyway_decides(script: &mut super::Script, mixed: bool) {
    let outside: Vec<usize> = script
        .statements
        .iter()
        .filter(|s| s.needs_autocommit && non_transactional(&s.sql))
        .map(|s| s.line)
        .collect();
    let Some(&first) = outside.first() else {
        return;
    };
    if outside.len() == script.statements.len() || mixed {
        script.transactional = false;
    } else {
        script.refused = Some((
            first,
            "Flyway refuses a migration that mixes statements that cannot run in a transaction \
             with statements that can (flyway.mixed is false)"
                .into(),
        ));
    }
}

/// The statements Flyway's PostgreSQL parser says cannot run in a transaction (MySQL's DDL,
/// which the splitter also marks, commits implicitly and is not among them).
fn non_transactional(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(5)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["VACUUM", ..]
            | ["REINDEX", ..]
            | ["ALTER", "SYSTEM", ..]
            | ["DISCARD", "ALL", ..]
            | [
                "CREATE" | "DROP",
                "DATABASE" | "TABLESPACE" | "SUBSCRIPTION",
                ..
            ]
    ) || w.windows(2).any(|p| p == ["INDEX", "CONCURRENTLY"])
}

/// `flyway.mixed=true` in `flyway.conf`, or `mixed = true` under `[flyway]` in `flyway.toml`.
fn mixed_allowed(dir: &Path) -> Result<bool> {
    let conf = dir.join("flyway.conf");
    if conf.is_file()
        && read_text(&conf)?.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.eq_ignore_ascii_case("flyway.mixed=true")
        })
    {
        return Ok(true);
    }
    let toml_file = dir.join("flyway.toml");
    if !toml_file.is_file() {
        return Ok(false);
    }
    let parsed: toml::Table =
        toml::from_str(&read_text(&toml_file)?).map_err(|e| Error::InputAt {
            path: display_path(&toml_file),
            line: 1,
            message: e.message().to_string(),
        })?;
    Ok(parsed
        .get("flyway")
        .and_then(|f| f.get("mixed"))
        .and_then(|m| m.as_bool())
        .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    #[test]
    fn names() {
        assert_eq!(
            parse_name("V1.2.3__add_users.sql"),
            Some((Kind::Versioned("1.2.3".into()), "add_users".into()))
        );
        assert_eq!(
            parse_name("U1_1__x.sql"),
            Some((Kind::Undo("1_1".into()), "x".into()))
        );
        assert_eq!(
            parse_name("R__views.sql"),
            Some((Kind::Repeatable, "views".into()))
        );
        assert_eq!(parse_name("V1_x.sql"), None);
        assert_eq!(parse_name("Vx__y.sql"), None);
        assert_eq!(parse_name("R1__y.sql"), None);
    }

    #[test]
    fn order_undo_repeatables_and_locations() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("flyway.conf"),
            "flyway.locations=filesystem:sql\n",
        )
        .unwrap();
        let sql = d.path().join("sql");
        std::fs::create_dir_all(sql.join("nested")).unwrap();
        std::fs::write(sql.join("V1.10__c.sql"), "select 3;").unwrap();
        std::fs::write(sql.join("V1.2__b.sql"), "select 2;").unwrap();
        std::fs::write(sql.join("nested/V1__a.sql"), "select 1;").unwrap();
        std::fs::write(sql.join("U1.2__b.sql"), "select 22;").unwrap();
        std::fs::write(sql.join("R__z_views.sql"), "select 9;").unwrap();
        std::fs::write(sql.join("V1.2__b.sql.conf"), "executeInTransaction=false\n").unwrap();
        let got = read(d.path(), split).unwrap();
        let order: Vec<&str> = got.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(order, vec!["1", "1.2", "1.10", "R"]);
        assert!(got[1].down.is_some() && got[0].down.is_none());
        assert!(!got[1].up.transactional);
        assert!(got[3].repeatable);
    }
}

#[cfg(test)]
mod transaction_tests {
    use super::*;
    use crate::migrations::pg_split as split;

    #[test]
    fn flyway_runs_non_transactional_migrations_outside_and_refuses_mixed_ones() {
        let d = tempfile::tempdir().unwrap();
        let cic = "CREATE INDEX CONCURRENTLY i ON t (a);\n";
        std::fs::write(d.path().join("V1__alone.sql"), cic).unwrap();
        std::fs::write(
            d.path().join("V2__mixed.sql"),
            format!("CREATE TABLE u (a int);\n{cic}"),
        )
        .unwrap();
        std::fs::write(d.path().join("V3__plain.sql"), "CREATE TABLE v (a int);\n").unwrap();
        let got = read(d.path(), split).unwrap();
        assert!(!got[0].up.transactional && got[0].up.refused.is_none());
        assert!(got[1].up.transactional);
        let (line, why) = got[1].up.refused.clone().unwrap();
        assert_eq!(line, 2);
        assert!(why.contains("flyway.mixed"), "{why}");
        assert!(got[2].up.transactional && got[2].up.refused.is_none());
        std::fs::write(d.path().join("flyway.conf"), "flyway.mixed = true\n").unwrap();
        let got = read(d.path(), split).unwrap();
        assert!(!got[1].up.transactional && got[1].up.refused.is_none());
    }
}
