//! The sqlx / golang-migrate folder layout:
//!
//! - `<version>_<name>.up.sql` with `<version>_<name>.down.sql` (reversible), or
//! - `<version>_<name>.sql` (up only, sqlx's "simple" migrations).
//!
//! The version is all digits and sorts numerically. Files not ending in `.sql` are ignored
//! (READMEs, `.gitkeep`); a `.sql` file whose name does not fit is an input error.
//!
//! MongoDB migrations use the same layout with `.up.json` / `.down.json` (golang-migrate's
//! MongoDB driver); other `.json` files are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Migration, Splitter, display_path, in_version_order, numbered, read_script};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
    UpOnly,
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileName {
    version: String,
    name: String,
    direction: Direction,
}

fn parse_file_name(file_name: &str) -> Option<FileName> {
    if let Some(stem) = file_name.strip_suffix(".json") {
        return parse_file_name(&format!("{stem}.sql"))
            .filter(|f| f.direction != Direction::UpOnly);
    }
    let stem = file_name.strip_suffix(".sql")?;
    let (stem, direction) = if let Some(s) = stem.strip_suffix(".up") {
        (s, Direction::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, Direction::Down)
    } else {
        (stem, Direction::UpOnly)
    };
    let (version, name) = numbered(stem)?;
    Some(FileName {
        version: version.to_string(),
        name: name.to_string(),
        direction,
    })
}

/// The up and down files of one migration.
#[derive(Default)]
struct Pair {
    up: Option<PathBuf>,
    down: Option<PathBuf>,
}

/// Reads every migration of `dir`, ordered by version.
pub fn read_sqlx_layout(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    for ((version, name), pair) in pairs(migration_files(dir)?)? {
        let Some(up_path) = &pair.up else {
            let down = pair.down.as_deref().unwrap_or(dir);
            return Err(Error::input(format!(
                "{}: down migration without a matching up file",
                display_path(down).display()
            )));
        };
        let mut migration = Migration::new(version, name, read_script(up_path, split)?);
        migration.down = pair
            .down
            .as_deref()
            .map(|p| read_script(p, split))
            .transpose()?;
        migrations.push(migration);
    }
    in_version_order(migrations)
}

/// The migration files of `dir` (`.sql`, and `.up.json` / `.down.json` for MongoDB) in name
/// order; other files are not migrations (READMEs, `.gitkeep`).
fn migration_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::input(format!(
            "cannot read migrations directory {}: {e}",
            display_path(dir).display()
        ))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let json = file_name.ends_with(".up.json") || file_name.ends_with(".down.json");
        if file_name.starts_with('.')
            || !(file_name.ends_with(".sql") || json)
            || entry.path().is_dir()
        {
            continue;
        }
        files.push((file_name.to_string(), entry.path()));
    }
    files.sort();
    Ok(files)
}

/// Up and down files paired by version and name. Two files for the same direction of one
/// migration (`1_a.up.sql` and `1_a.sql`) are an input error; versions that collide across
/// names are found by `in_version_order`.
fn pairs(files: Vec<(String, PathBuf)>) -> Result<BTreeMap<(String, String), Pair>> {
    let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
    for (file_name, path) in files {
        let shown = display_path(&path);
        let parsed = parse_file_name(&file_name).ok_or_else(|| {
            Error::input(format!(
                "{}: bad migration file name; expected <version>_<name>.up.sql, \
                 <version>_<name>.down.sql or <version>_<name>.sql (MongoDB: .up.json / \
                 .down.json) with an all-digit version",
                shown.display()
            ))
        })?;
        let pair = pairs.entry((parsed.version, parsed.name)).or_default();
        let slot = match parsed.direction {
            Direction::Up | Direction::UpOnly => &mut pair.up,
            Direction::Down => &mut pair.down,
        };
        if let Some(other) = slot {
            return Err(Error::input(format!(
                "{}: a second file for the same migration (also {})",
                shown.display(),
                display_path(other).display()
            )));
        }
        *slot = Some(path);
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        let up = parse_file_name("20240101000001_create_users.up.sql").unwrap();
        assert_eq!(up.version, "20240101000001");
        assert_eq!(up.name, "create_users");
        assert_eq!(up.direction, Direction::Up);
        let down = parse_file_name("1_a_b.down.sql").unwrap();
        assert_eq!(
            (down.name.as_str(), down.direction),
            ("a_b", Direction::Down)
        );
        let simple = parse_file_name("0003_add.index.sql").unwrap();
        assert_eq!(simple.version, "0003");
        assert_eq!(simple.name, "add.index");
        assert_eq!(simple.direction, Direction::UpOnly);
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "create_users.sql",
            "v1_x.up.sql",
            "1.up.sql",
            "1_.sql",
            "_x.sql",
            "12a_x.sql",
            "1_x.txt",
        ] {
            assert!(parse_file_name(bad).is_none(), "{bad} should be rejected");
        }
    }
}
