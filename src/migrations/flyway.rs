//! Flyway: `V<version>__<description>.sql` (versions like `1`, `1.2.3` or `1_2`), undo
//! `U<version>__<description>.sql`, repeatable `R__<description>.sql` (applied after all
//! versioned migrations, in description order), found in the locations of `flyway.conf` /
//! `flyway.toml` when the folder has one (searched recursively, as Flyway does). A
//! `<script>.sql.conf` with `executeInTransaction=false` is honoured.

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
                apply_conf(&path, &mut m.up)?;
                versioned.push(m);
            }
            Kind::Undo(version) => {
                undo.insert(version, path);
            }
            Kind::Repeatable => {
                let mut m = Migration::new("R", description, read_script(&path, split)?);
                m.repeatable = true;
                apply_conf(&path, &mut m.up)?;
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
        apply_conf(&path, &mut down)?;
        m.down = Some(down);
    }
    repeatable.sort_by(|a, b| a.name.cmp(&b.name));
    versioned.extend(repeatable);
    Ok(versioned)
}

/// `<script>.sql.conf` next to a script: `executeInTransaction=false`.
fn apply_conf(script_path: &Path, script: &mut super::Script) -> Result<()> {
    let conf = PathBuf::from(format!("{}.conf", script_path.display()));
    if conf.is_file() {
        let text = read_text(&conf)?;
        if text.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.eq_ignore_ascii_case("executeInTransaction=false")
        }) {
            script.transactional = false;
        }
    }
    Ok(())
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
