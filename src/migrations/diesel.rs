//! diesel: one folder per migration, `<version>_<name>/up.sql` and `down.sql`, versions like
//! `2024-05-01-000001`, `2024-05-01-000001-0000` (diesel 2.2 adds a counter) or
//! `20240501000001`, and `metadata.toml` with `run_in_transaction = false` honoured.
//!
//! diesel's runner takes the version as the folder name up to the first `_` with every `-`
//! removed and sorts those as text ([`VersionOrder::Diesel`]): a history may mix both
//! spellings, and two folders that give the same text are one version to diesel (it would run
//! only one of them), which is an input error here.

use std::path::Path;

use serde::Deserialize;

use super::{
    Migration, Splitter, VersionOrder, display_path, in_order, read_script, read_text,
    sorted_entries,
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
                     with a version like 2024-05-01-000001. {}",
                    shown.display(),
                    super::KNOWN_LAYOUTS
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
    in_order(migrations, VersionOrder::Diesel)
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
    fn mixed_version_styles_run_in_diesels_order() {
        let d = tempfile::tempdir().unwrap();
        for folder in [
            "2017-08-31-230457_b",
            "20140924113530_a",
            "2024-01-01-120000-0001_e",
            "2024-01-01-120000-0000_d",
            "20180101000000_c",
        ] {
            let f = d.path().join(folder);
            std::fs::create_dir(&f).unwrap();
            std::fs::write(f.join("up.sql"), "select 1;").unwrap();
        }
        let names: Vec<String> = read(d.path(), split)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn one_version_in_two_spellings_is_a_duplicate() {
        let d = tempfile::tempdir().unwrap();
        for folder in ["2017-08-31-230457_a", "20170831230457_b"] {
            let f = d.path().join(folder);
            std::fs::create_dir(&f).unwrap();
            std::fs::write(f.join("up.sql"), "select 1;").unwrap();
        }
        let Err(crate::Error::Input(message)) = read(d.path(), split) else {
            panic!("a duplicate version")
        };
        assert!(
            message.contains("diesel reads") && message.contains("20170831230457"),
            "{message}"
        );
    }

    #[test]
    fn folder_without_up_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("2024-05-01-000001_a")).unwrap();
        assert!(read(d.path(), split).is_err());
    }
}
