//! Up and down files per migration with files for one database beside the generic ones:
//!
//! - popx (the layout of Ory Hydra, Kratos and Keto):
//!   `<version>_<name>[.<database>][.autocommit].(up|down).(sql|fizz)`, versions compared as
//!   text, as popx does;
//! - the dot-separated layout: `V<version>.<name>[.<database>][.autocommit].(up|down).sql` (the
//!   `V` is optional), versions compared as numbers.
//!
//! For each version and direction the file for the engine's database wins over the generic one,
//! even when it is empty or holds only comments: that is how these histories say "nothing to do
//! on this database". Files for other databases are left out. `.autocommit.` files run outside
//! a transaction. popx's `.fizz` files are written in pop's own language, which pop turns into
//! SQL itself: such a migration is reported by name and not run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{
    Migration, Splitter, VersionOrder, display_path, in_order, named_entries, read_script,
};
use crate::{Error, Result};

/// Which of the two spellings a folder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Popx,
    Dotted,
}

impl Style {
    fn pattern(self) -> &'static str {
        match self {
            Style::Popx => "<version>_<name>[.<database>][.autocommit].(up|down).sql",
            Style::Dotted => "V<version>.<name>[.<database>][.autocommit].(up|down).sql",
        }
    }
}

/// The `dbms` name (the vocabulary of `EngineSpec::dbms`) of a database as popx and pop spell
/// it in file names (pop's canonical names and their synonyms).
pub fn dbms_of(database: &str) -> Option<&'static str> {
    match database {
        "postgres" | "postgresql" | "pg" => Some("postgresql"),
        "mysql" => Some("mysql"),
        "cockroach" | "cockroachdb" | "crdb" => Some("cockroachdb"),
        "sqlite" | "sqlite3" => Some("sqlite"),
        "mssql" | "sqlserver" => Some("mssql"),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// A parsed file name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileName {
    version: String,
    name: String,
    /// The `dbms` name of the database the file is for; `None`: every database.
    database: Option<&'static str>,
    autocommit: bool,
    direction: Direction,
    fizz: bool,
}

/// Parses `file`; `Ok(None)` for files that are no migration (READMEs), `Err` with the reason
/// for a migration-like file whose name does not fit.
fn parse(file: &str, style: Style) -> std::result::Result<Option<FileName>, String> {
    let (stem, fizz) = match (file.strip_suffix(".sql"), file.strip_suffix(".fizz")) {
        (Some(stem), _) => (stem, false),
        (None, Some(stem)) if style == Style::Popx => (stem, true),
        _ => return Ok(None),
    };
    let (stem, direction) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
        (Some(s), _) => (s, Direction::Up),
        (None, Some(s)) => (s, Direction::Down),
        _ => return Err("the name does not end in .up.sql or .down.sql".into()),
    };
    let (stem, autocommit) = match stem.strip_suffix(".autocommit") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (version, rest) = match style {
        Style::Popx => stem.split_once('_'),
        Style::Dotted => stem.trim_start_matches(['V', 'v']).split_once('.'),
    }
    .ok_or("there is no version before the name")?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the version `{version}` is not all digits"));
    }
    let (name, database) = match rest.split_once('.') {
        None => (rest, None),
        Some((name, database)) => {
            let dbms = dbms_of(database).ok_or_else(|| {
                format!(
                    "`{database}` is no database these files are named for (postgres, mysql, \
                     cockroach, sqlite3)"
                )
            })?;
            (name, Some(dbms))
        }
    };
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if fizz && database.is_some() {
        return Err("a .fizz file is for every database; it cannot name one".into());
    }
    Ok(Some(FileName {
        version: version.to_string(),
        name: name.to_string(),
        database,
        autocommit,
        direction,
        fizz,
    }))
}

/// Whether `file` is named the way `style` names migrations: `Some(true)` when the name has a
/// part only popx names have (a database, `.autocommit`, `.fizz`), `None` when it does not fit.
pub fn fits(file: &str, style: Style) -> Option<bool> {
    let f = parse(file, style).ok()??;
    Some(f.database.is_some() || f.autocommit || f.fizz)
}

/// The files one version has for the engine's database: generic and specific, per direction.
#[derive(Default)]
struct Slots {
    up: [Option<(FileName, PathBuf)>; 2],
    down: [Option<(FileName, PathBuf)>; 2],
}

impl Slots {
    /// The file that runs: the database's own, else the generic one.
    fn chosen(slots: &[Option<(FileName, PathBuf)>; 2]) -> Option<&(FileName, PathBuf)> {
        slots[1].as_ref().or(slots[0].as_ref())
    }
}

/// Reads every migration of `dir` for the database `dbms` names (`None`: generic files only).
pub fn read(
    dir: &Path,
    split: Splitter,
    dbms: Option<&[&str]>,
    style: Style,
) -> Result<Vec<Migration>> {
    let mut versions: BTreeMap<String, Slots> = BTreeMap::new();
    for (path, file) in named_entries(dir)? {
        if path.is_dir() {
            continue;
        }
        let parsed = parse(&file, style).map_err(|why| {
            Error::input(format!(
                "{}: bad migration file name ({why}); the {} layout names files {}. {}",
                display_path(&path).display(),
                match style {
                    Style::Popx => "popx",
                    Style::Dotted => "dotted",
                },
                style.pattern(),
                super::KNOWN_LAYOUTS
            ))
        })?;
        let Some(parsed) = parsed else { continue };
        let specific = match parsed.database {
            None => 0,
            Some(db) if dbms.is_some_and(|names| names.contains(&db)) => 1,
            Some(_) => continue,
        };
        let slots = versions.entry(parsed.version.clone()).or_default();
        let slot = match parsed.direction {
            Direction::Up => &mut slots.up[specific],
            Direction::Down => &mut slots.down[specific],
        };
        if let Some((_, other)) = slot {
            return Err(Error::input(format!(
                "{}: a second file for the same migration and database (also {}); the tool \
                 would run both under one version",
                display_path(&path).display(),
                display_path(other).display()
            )));
        }
        *slot = Some((parsed, path));
    }
    let mut migrations = Vec::new();
    for (version, slots) in versions {
        if let Some(m) = migration(version, &slots, split)? {
            migrations.push(m);
        }
    }
    let order = match style {
        Style::Popx => VersionOrder::Text,
        Style::Dotted => VersionOrder::Numeric,
    };
    in_order(migrations, order)
}

/// The migration of one version, `None` when it has no file for this database.
fn migration(version: String, slots: &Slots, split: Splitter) -> Result<Option<Migration>> {
    let down = Slots::chosen(&slots.down);
    let Some((up, up_path)) = Slots::chosen(&slots.up) else {
        return match down {
            Some((_, path)) => Err(Error::input(format!(
                "{}: down migration without a matching up file",
                display_path(path).display()
            ))),
            None => Ok(None),
        };
    };
    if up.fizz || down.is_some_and(|(d, _)| d.fizz) {
        return Ok(Some(Migration::unsupported(
            version,
            up.name.clone(),
            display_path(up_path),
            "a pop fizz migration: pop turns fizz into SQL itself, driftless runs SQL files only",
        )));
    }
    let mut m = Migration::new(version, up.name.clone(), read_script(up_path, split)?);
    m.up.transactional &= !up.autocommit;
    if let Some((d, path)) = down {
        let mut script = read_script(path, split)?;
        script.transactional &= !d.autocommit;
        m.down = Some(script);
    }
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn parses_popx_names_as_popx_does() {
        let f = parse("20190611004000_create_providers.pg.up.sql", Style::Popx)
            .unwrap()
            .unwrap();
        assert_eq!(
            (f.version.as_str(), f.name.as_str(), f.database),
            ("20190611004000", "create_providers", Some("postgresql"))
        );
        let f = parse("1_a.autocommit.up.sql", Style::Popx)
            .unwrap()
            .unwrap();
        assert_eq!((f.database, f.autocommit), (None, true));
        let f = parse("1_a.mysql.autocommit.down.sql", Style::Popx)
            .unwrap()
            .unwrap();
        assert_eq!(
            (f.database, f.autocommit, f.direction),
            (Some("mysql"), true, Direction::Down)
        );
        assert!(parse("1_a.up.fizz", Style::Popx).unwrap().unwrap().fizz);
        assert!(parse("1_a.postgres.up.fizz", Style::Popx).is_err());
        assert!(parse("1_a.index.up.sql", Style::Popx).is_err());
        assert!(parse("1_a.sql", Style::Popx).is_err());
        assert!(parse("x_a.up.sql", Style::Popx).is_err());
        assert_eq!(parse("README.md", Style::Popx), Ok(None));
    }

    #[test]
    fn parses_dotted_names() {
        let f = parse("V0001.Initial_Schema.up.sql", Style::Dotted)
            .unwrap()
            .unwrap();
        assert_eq!(
            (f.version.as_str(), f.name.as_str(), f.database),
            ("0001", "Initial_Schema", None)
        );
        let f = parse("V0001.Initial_Schema.postgres.down.sql", Style::Dotted)
            .unwrap()
            .unwrap();
        assert_eq!(
            (f.database, f.direction),
            (Some("postgresql"), Direction::Down)
        );
        assert!(parse("V0001_Initial_Schema.up.sql", Style::Dotted).is_err());
        assert_eq!(parse("V0001.a.up.fizz", Style::Dotted), Ok(None));
    }

    #[test]
    fn the_databases_file_wins_even_when_empty_and_others_are_left_out() {
        let d = dir(&[
            ("1_a.up.sql", "create table a (id int);"),
            ("1_a.down.sql", "drop table a;"),
            ("1_a.postgres.up.sql", "create table a (id bigint);"),
            ("1_a.mysql.up.sql", "create table a (id int) engine=innodb;"),
            ("2_b.up.sql", "create index b on a (id);"),
            ("2_b.down.sql", "drop index b;"),
            ("2_b.postgres.up.sql", "-- nothing on PostgreSQL\n"),
            ("2_b.postgres.down.sql", ""),
            ("3_c.cockroach.up.sql", "select 1;"),
            ("3_c.cockroach.down.sql", "select 1;"),
            (
                "4_d.postgres.autocommit.up.sql",
                "create index d on a (id);",
            ),
            ("4_d.postgres.down.sql", "drop index d;"),
        ]);
        let pg = read(d.path(), split, Some(&["postgresql"]), Style::Popx).unwrap();
        let versions: Vec<&str> = pg.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["1", "2", "4"], "no cockroach-only migration");
        assert!(pg[0].up.statements[0].sql.contains("bigint"));
        assert!(
            pg[0].down.as_ref().unwrap().statements[0]
                .sql
                .contains("drop table")
        );
        assert!(pg[1].up.is_empty() && pg[1].down.as_ref().unwrap().is_empty());
        assert!(!pg[2].up.transactional && pg[2].down.as_ref().unwrap().transactional);
        let my = read(d.path(), split, Some(&["mysql", "mariadb"]), Style::Popx).unwrap();
        assert!(my[0].up.statements[0].sql.contains("innodb"));
        assert_eq!(my[1].up.statements.len(), 1, "the generic file");
        assert_eq!(my.len(), 2, "4_d has no file for MySQL");
    }

    #[test]
    fn popx_orders_versions_as_text_and_dotted_as_numbers() {
        let files = [("9_a.up.sql", "select 1;"), ("10_b.up.sql", "select 1;")];
        let d = dir(&files);
        let names: Vec<String> = read(d.path(), split, None, Style::Popx)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["b", "a"]);
        let d = dir(&[("V9.a.up.sql", "select 1;"), ("V10.b.up.sql", "select 1;")]);
        let names: Vec<String> = read(d.path(), split, None, Style::Dotted)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn two_files_for_one_slot_and_fizz_are_reported() {
        let d = dir(&[("1_a.up.sql", "select 1;"), ("1_b.up.sql", "select 1;")]);
        let Err(Error::Input(message)) = read(d.path(), split, None, Style::Popx) else {
            panic!("two ups for version 1")
        };
        assert!(message.contains("1_a.up.sql") && message.contains("1_b.up.sql"));
        let d = dir(&[
            ("1_a.up.fizz", "create_table(\"a\") {}"),
            ("1_a.down.fizz", ""),
        ]);
        let got = read(d.path(), split, None, Style::Popx).unwrap();
        assert!(got[0].unsupported.as_deref().unwrap().contains("fizz"));
    }
}
