//! diesel: one folder per migration, `<version>_<name>/up.sql` and `down.sql`, versions like
//! `2024-05-01-000001` or `20240501000001`, and `metadata.toml` with
//! `run_in_transaction = false` honoured.

use std::path::Path;

use serde::Deserialize;

use super::{
    Migration, Splitter, display_path, in_version_order, read_script, read_text, sorted_entries,
};
use crate::{Error, Result};

#[derive(Deserialize)]
struct Metadata {
    run_in_transaction: Option<bool>,
}

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut migrations: Vec<Migration> = Vec::new();
    for path in sorted_entries(dir)? {
        if !path.is_dir() {
            continue;
        }
        let folder = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let shown = display_path(&path);
        let (version, name) = folder
            .split_once('_')
            .filter(|(v, n)| {
                !v.is_empty() && !n.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            })
            .ok_or_else(|| {
                Error::input(format!(
                    "{}: bad diesel migration folder name; expected <version>_<name> \
                     with a version like 2024-05-01-000001",
                    shown.display()
                ))
            })?;
        let up = path.join("up.sql");
        if !up.is_file() {
            return Err(Error::input(format!("{}: no up.sql", shown.display())));
        }
        let mut migration = Migration::new(version, name, read_script(&up, split)?);
        let down = path.join("down.sql");
        if down.is_file() {
            migration.down = Some(read_script(&down, split)?);
        }
        let metadata = path.join("metadata.toml");
        if metadata.is_file() {
            let text = read_text(&metadata)?;
            let parsed: Metadata = toml::from_str(&text).map_err(|e| Error::InputAt {
                path: display_path(&metadata),
                line: 1,
                message: e.message().to_string(),
            })?;
            if parsed.run_in_transaction == Some(false) {
                migration.up.transactional = false;
                if let Some(d) = &mut migration.down {
                    d.transactional = false;
                }
            }
        }
        migrations.push(migration);
    }
    in_version_order(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    #[test]
    fn reads_folders_metadata_and_order() {
        let d = tempfile::tempdir().unwrap();
        let make = |folder: &str, up: &str, down: Option<&str>, meta: Option<&str>| {
            let f = d.path().join(folder);
            std::fs::create_dir(&f).unwrap();
            std::fs::write(f.join("up.sql"), up).unwrap();
            if let Some(down) = down {
                std::fs::write(f.join("down.sql"), down).unwrap();
            }
            if let Some(meta) = meta {
                std::fs::write(f.join("metadata.toml"), meta).unwrap();
            }
        };
        make(
            "2024-05-01-000002_b",
            "create index concurrently i on t (a);",
            Some(""),
            Some("run_in_transaction = false\n"),
        );
        make(
            "2024-05-01-000001_a",
            "create table t (a int);",
            Some("drop table t;"),
            None,
        );
        let got = read(d.path(), split).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].version.as_str(), got[0].name.as_str()),
            ("2024-05-01-000001", "a")
        );
        assert!(got[0].up.transactional);
        assert!(!got[1].up.transactional);
        assert!(
            got[1].effective_down().is_none(),
            "an empty down.sql is irreversible"
        );
    }

    #[test]
    fn folder_without_up_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("2024-05-01-000001_a")).unwrap();
        assert!(read(d.path(), split).is_err());
    }
}
