//! The sqlx / golang-migrate folder layout:
//!
//! - `<version>_<name>.up.sql` with `<version>_<name>.down.sql` (reversible), or
//! - `<version>_<name>.sql` (up only, sqlx's "simple" migrations; golang-migrate has none).
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

/// Whether `file` is named like a migration of this layout.
pub fn fits(file: &str) -> bool {
    parse_file_name(file).is_some()
}

/// Whether `file` is a `<version>_<name>.sql` (up only) migration, which only sqlx has.
pub fn is_up_only(file: &str) -> bool {
    parse_file_name(file).is_some_and(|f| f.direction == Direction::UpOnly)
}

/// The up and down files of one migration.
#[derive(Default)]
struct Pair {
    up: Option<PathBuf>,
    down: Option<PathBuf>,
    /// The up, when it is a `<version>_<name>.sql` file.
    up_only: Option<PathBuf>,
}

/// Files of one migration for different databases (`1_a.up.sql`, `1_a.postgres.up.sql`) are
/// popx's layout, not two migrations of one version: say so instead of "duplicate version".
fn per_database_files(pairs: &BTreeMap<(String, String), Pair>) -> Result<()> {
    /// The name without a popx `.<database>` and `.autocommit` part.
    fn base(name: &str) -> &str {
        let name = name.strip_suffix(".autocommit").unwrap_or(name);
        match name.rsplit_once('.') {
            Some((base, database)) if super::popx::dbms_of(database).is_some() => base,
            _ => name,
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for ((version, name), pair) in pairs {
        if seen.insert((version, base(name))) {
            continue;
        }
        let path = pair
            .up
            .as_ref()
            .or(pair.down.as_ref())
            .cloned()
            .unwrap_or_default();
        return Err(Error::input(format!(
            "{}: files of migration {version} for different databases are popx's layout \
             (<version>_<name>[.<database>].up.sql); read the folder with \
             --migration-format popx",
            display_path(&path).display()
        )));
    }
    Ok(())
}

/// Reads every migration of `dir`, ordered by version.
pub fn read_sqlx_layout(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    read_layout(dir, split, true)
}

/// [`read_sqlx_layout`] for golang-migrate, which reads `.up.` and `.down.` files only: a
/// `<version>_<name>.sql` file is an input error rather than a migration it would never run.
pub fn read_golang_migrate(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    read_layout(dir, split, false)
}

fn read_layout(dir: &Path, split: Splitter, up_only_files: bool) -> Result<Vec<Migration>> {
    let pairs = pairs(migration_files(dir)?)?;
    if let Some(path) = pairs.values().find_map(|p| p.up_only.as_ref())
        && !up_only_files
    {
        return Err(Error::input(format!(
            "{}: golang-migrate reads only <version>_<name>.up.sql and .down.sql files \
             (--migration-format sqlx reads this one as an up-only migration)",
            display_path(path).display()
        )));
    }
    per_database_files(&pairs)?;
    let mut migrations = Vec::new();
    for ((version, name), pair) in pairs {
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
        // sqlx's opt-out: the file's text starts with `-- no-transaction`.
        for script in std::iter::once(&mut migration.up).chain(migration.down.as_mut()) {
            script.transactional &= !script.directives.first_line_no_transaction;
        }
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
                 .down.json) with an all-digit version. {}",
                shown.display(),
                super::format::KNOWN_LAYOUTS
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
        if parsed.direction == Direction::UpOnly {
            pair.up_only = Some(path.clone());
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

    fn dir(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for name in files {
            std::fs::write(d.path().join(name), "select 1;").unwrap();
        }
        d
    }

    #[test]
    fn per_database_files_point_at_popx_not_at_a_duplicate_version() {
        let split = crate::migrations::pg_split;
        let d = dir(&["1_a.up.sql", "1_a.postgres.up.sql", "1_a.mysql.up.sql"]);
        let Err(Error::Input(message)) = read_sqlx_layout(d.path(), split) else {
            panic!("per-database files")
        };
        assert!(message.contains("--migration-format popx"), "{message}");
        assert!(!message.contains("duplicate"), "{message}");
    }

    #[test]
    fn golang_migrate_has_no_up_only_files() {
        let split = crate::migrations::pg_split;
        let d = dir(&["1_a.up.sql", "1_a.down.sql", "2_b.sql"]);
        assert_eq!(read_sqlx_layout(d.path(), split).unwrap().len(), 2);
        let Err(Error::Input(message)) = read_golang_migrate(d.path(), split) else {
            panic!("2_b.sql is no golang-migrate file")
        };
        assert!(message.contains("2_b.sql"), "{message}");
    }
}
