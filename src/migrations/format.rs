//! Which migration tool's layout a folder uses, and reading it.

use std::path::Path;

use super::{Migration, Splitter, display_path};
use crate::{Error, Result};

/// The migration tools whose folders driftless reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationFormat {
    /// `<version>_<name>.up.sql` + `.down.sql`, or `<version>_<name>.sql` (sqlx, golang-migrate).
    Sqlx,
    /// `<version>_<name>/up.sql` + `down.sql` (+ `metadata.toml`).
    Diesel,
    /// `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down` sections.
    Dbmate,
    /// `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down` sections.
    Goose,
    /// `V<version>__<desc>.sql`, undo `U…`, repeatable `R__…` (and `flyway.conf` locations).
    Flyway,
    /// Liquibase changelogs: formatted SQL, XML, YAML or JSON (`sql` and `sqlFile` changes).
    Liquibase,
    /// `sqitch.plan` with `deploy/`, `revert/` and `verify/` scripts.
    Sqitch,
}

/// What a tool's runner does with a session setting a migration changes: whether later
/// migrations of the same run see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCarry {
    /// Every pending migration runs on one connection, so a setting stays for the ones after
    /// it, except those the runner puts back after each migration (`restored`).
    Kept { restored: &'static [&'static str] },
    /// Each migration runs in a session of its own (sqitch starts a client per change).
    Fresh,
}

impl MigrationFormat {
    /// How this tool's runner keeps its session between migrations. sqlx-cli, golang-migrate
    /// and diesel hold one connection for the whole run; dbmate, goose and Liquibase run
    /// migrations one after another through a pool that hands back the same idle connection;
    /// Flyway also keeps its connection but restores the current schema, the role,
    /// `foreign_key_checks`, `sql_safe_updates` and user variables after each migration;
    /// sqitch runs `psql` / `mysql` once per change.
    pub fn session_carry(self) -> SessionCarry {
        match self {
            MigrationFormat::Sqitch => SessionCarry::Fresh,
            MigrationFormat::Flyway => SessionCarry::Kept {
                restored: &[
                    "search_path",
                    "role",
                    "database",
                    "foreign_key_checks",
                    "sql_safe_updates",
                ],
            },
            _ => SessionCarry::Kept { restored: &[] },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MigrationFormat::Sqlx => "sqlx",
            MigrationFormat::Diesel => "diesel",
            MigrationFormat::Dbmate => "dbmate",
            MigrationFormat::Goose => "goose",
            MigrationFormat::Flyway => "flyway",
            MigrationFormat::Liquibase => "liquibase",
            MigrationFormat::Sqitch => "sqitch",
        }
    }
}

/// Recognises the layout of `dir` from its files (and, for look-alike `<version>_<name>.sql`
/// files, from the markers inside them).
pub fn detect(dir: &Path) -> Result<MigrationFormat> {
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(|e| {
            Error::input(format!(
                "cannot read migrations directory {}: {e}",
                display_path(dir).display()
            ))
        })?
        .flatten()
        .collect();
    let names: Vec<String> = entries
        .iter()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    if has("sqitch.plan") {
        return Ok(MigrationFormat::Sqitch);
    }
    if has("flyway.conf") || has("flyway.toml") || names.iter().any(|n| flyway_name(n)) {
        return Ok(MigrationFormat::Flyway);
    }
    let heads: Vec<String> = entries
        .iter()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            [".sql", ".xml", ".yaml", ".yml", ".json"]
                .iter()
                .any(|e| n.ends_with(e))
        })
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|text| text.chars().take(4000).collect::<String>().to_lowercase())
        .collect();
    if heads.iter().any(|h| {
        h.trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with("--liquibase formatted sql")
            || h.contains("databasechangelog")
    }) {
        return Ok(MigrationFormat::Liquibase);
    }
    let diesel = entries.iter().any(|e| e.path().join("up.sql").is_file());
    if diesel {
        return Ok(MigrationFormat::Diesel);
    }
    if heads.iter().any(|h| h.contains("-- +goose up")) || names.iter().any(|n| n.ends_with(".go"))
    {
        return Ok(MigrationFormat::Goose);
    }
    if heads.iter().any(|h| h.contains("-- migrate:up")) {
        return Ok(MigrationFormat::Dbmate);
    }
    Ok(MigrationFormat::Sqlx)
}

fn flyway_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".sql") else {
        return false;
    };
    match stem.as_bytes().first() {
        Some(b'V' | b'U') => stem[1..].split_once("__").is_some_and(|(v, d)| {
            !v.is_empty()
                && !d.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
        }),
        Some(b'R') => stem.starts_with("R__") && stem.len() > 3,
        _ => false,
    }
}

/// Reads the migrations of `dir` in `format`, in the order the tool would apply them.
pub fn read(dir: &Path, format: MigrationFormat, split: Splitter) -> Result<Vec<Migration>> {
    read_as(dir, format, split, None)
}

/// [`read`] for an engine the tools call `dbms` (Liquibase's names: `postgresql`, `mysql`,
/// `mariadb`, `mongodb`): what a tool runs only on some databases is left out when it is not
/// this one.
pub fn read_for_engine(
    dir: &Path,
    format: MigrationFormat,
    dbms: &[&str],
    split: Splitter,
) -> Result<Vec<Migration>> {
    read_as(dir, format, split, Some(dbms))
}

fn read_as(
    dir: &Path,
    format: MigrationFormat,
    split: Splitter,
    dbms: Option<&[&str]>,
) -> Result<Vec<Migration>> {
    match format {
        MigrationFormat::Sqlx => super::read_sqlx_layout(dir, split),
        MigrationFormat::Diesel => super::diesel::read(dir, split),
        MigrationFormat::Dbmate => super::dbmate::read(dir, split),
        MigrationFormat::Goose => super::goose::read(dir, split),
        MigrationFormat::Flyway => super::flyway::read(dir, split),
        MigrationFormat::Liquibase => super::liquibase::read(dir, split, dbms),
        MigrationFormat::Sqitch => super::sqitch::read(dir, split),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = d.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        d
    }

    #[test]
    fn recognises_every_layout() {
        let cases: &[(&[(&str, &str)], MigrationFormat)] = &[
            (&[("1_a.up.sql", "select 1;")], MigrationFormat::Sqlx),
            (&[("1_a.sql", "select 1;")], MigrationFormat::Sqlx),
            (
                &[("2024-05-01-000001_a/up.sql", "select 1;")],
                MigrationFormat::Diesel,
            ),
            (
                &[("1_a.sql", "-- migrate:up\nselect 1;\n-- migrate:down\n")],
                MigrationFormat::Dbmate,
            ),
            (
                &[("1_a.sql", "-- +goose Up\nselect 1;\n")],
                MigrationFormat::Goose,
            ),
            (&[("V1.1__a.sql", "select 1;")], MigrationFormat::Flyway),
            (&[("R__views.sql", "select 1;")], MigrationFormat::Flyway),
            (
                &[(
                    "changes.sql",
                    "--liquibase formatted sql\n--changeset a:1\nselect 1;\n",
                )],
                MigrationFormat::Liquibase,
            ),
            (
                &[("changelog.json", "{\"databaseChangeLog\": []}")],
                MigrationFormat::Liquibase,
            ),
            (&[("sqitch.plan", "%project=x\n")], MigrationFormat::Sqitch),
        ];
        for (files, expected) in cases {
            let d = dir(files);
            assert_eq!(detect(d.path()).unwrap(), *expected, "{files:?}");
        }
    }
}
