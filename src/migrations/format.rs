//! Which migration tool's layout a folder uses, and reading it.

use std::path::Path;

use super::popx::{self, Style};
use super::{Migration, Splitter, display_path, sqlx_layout};
use crate::{Error, Result};

/// The migration tools whose folders driftless reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationFormat {
    /// sqlx: `<version>_<name>.up.sql` + `.down.sql`, or `<version>_<name>.sql` (up only).
    Sqlx,
    /// golang-migrate: `<version>_<name>.up.sql` + `.down.sql` (MongoDB: `.up.json` /
    /// `.down.json`).
    #[value(name = "golang-migrate")]
    #[serde(rename = "golang-migrate")]
    GolangMigrate,
    /// popx (Ory): `<version>_<name>[.<database>][.autocommit].up.sql` + `.down.sql`.
    Popx,
    /// `V<version>.<name>[.<database>].up.sql` + `.down.sql`.
    Dotted,
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

/// What an input error says when a folder's layout cannot be read: every layout driftless
/// knows, as file names.
pub const KNOWN_LAYOUTS: &str = "driftless reads these layouts (--migration-format picks one): \
     sqlx (<version>_<name>.up.sql + .down.sql, or <version>_<name>.sql), golang-migrate \
     (<version>_<name>.up.sql + .down.sql), popx (<version>_<name>[.<database>][.autocommit].up.sql \
     + .down.sql), dotted (V<version>.<name>[.<database>].up.sql + .down.sql), diesel \
     (<version>_<name>/up.sql + down.sql), dbmate (<version>_<name>.sql with -- migrate:up), \
     goose (<version>_<name>.sql with -- +goose Up), flyway (V<version>__<description>.sql), \
     liquibase (changelogs) and sqitch (sqitch.plan)";

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
    /// Every format, in `--help` order.
    pub const ALL: [MigrationFormat; 10] = [
        MigrationFormat::Sqlx,
        MigrationFormat::GolangMigrate,
        MigrationFormat::Popx,
        MigrationFormat::Dotted,
        MigrationFormat::Diesel,
        MigrationFormat::Dbmate,
        MigrationFormat::Goose,
        MigrationFormat::Flyway,
        MigrationFormat::Liquibase,
        MigrationFormat::Sqitch,
    ];

    /// How this tool's runner keeps its session between migrations. sqlx-cli, golang-migrate
    /// and diesel hold one connection for the whole run; dbmate, goose, popx and Liquibase run
    /// migrations one after another through a pool that hands back the same idle connection
    /// (the dotted layout's runners are projects' own: taken to do the same);
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
            MigrationFormat::GolangMigrate => "golang-migrate",
            MigrationFormat::Popx => "popx",
            MigrationFormat::Dotted => "dotted",
            MigrationFormat::Diesel => "diesel",
            MigrationFormat::Dbmate => "dbmate",
            MigrationFormat::Goose => "goose",
            MigrationFormat::Flyway => "flyway",
            MigrationFormat::Liquibase => "liquibase",
            MigrationFormat::Sqitch => "sqitch",
        }
    }

    /// The tables the tool's runner keeps its bookkeeping in (lower case): never part of a
    /// run's schema or data when this tool is the one in use. The dotted layout belongs to
    /// projects' own runners, whose tables driftless cannot know; sqitch keeps its registry
    /// apart (a `sqitch` schema, or a database of its own on MySQL).
    pub fn tracking_tables(self) -> &'static [&'static str] {
        match self {
            MigrationFormat::Sqlx => &["_sqlx_migrations"],
            MigrationFormat::GolangMigrate | MigrationFormat::Dbmate => &["schema_migrations"],
            MigrationFormat::Popx => &["schema_migration"],
            MigrationFormat::Diesel => &["__diesel_schema_migrations"],
            MigrationFormat::Goose => &["goose_db_version"],
            // `schema_version`: Flyway's table before version 5.
            MigrationFormat::Flyway => &["flyway_schema_history", "schema_version"],
            MigrationFormat::Liquibase => &["databasechangelog", "databasechangeloglock"],
            MigrationFormat::Dotted | MigrationFormat::Sqitch => &[],
        }
    }
}

/// Every tool's tracking tables, for the commands that work on a database without knowing its
/// tool (`seed --url`, `mask`): none of them is seeded or copied.
pub fn every_tracking_table() -> Vec<String> {
    let mut all: Vec<String> = MigrationFormat::ALL
        .iter()
        .flat_map(|f| f.tracking_tables())
        .map(|t| t.to_string())
        .collect();
    all.sort();
    all.dedup();
    all
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
    super::refuse_special_files(&entries)?;
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
    if let Some(format) = named_like(&names) {
        return Ok(format);
    }
    if heads.iter().any(|h| h.contains("-- +goose up")) || names.iter().any(|n| n.ends_with(".go"))
    {
        return Ok(MigrationFormat::Goose);
    }
    if heads.iter().any(|h| h.contains("-- migrate:up")) {
        return Ok(MigrationFormat::Dbmate);
    }
    refuse_sql_migrate(&entries)?;
    file_layout(dir, &names, &heads)
}

/// sql-migrate's files (`-- +migrate Up` / `-- +migrate Down` sections in one `<id>.sql`)
/// look like sqlx's up-only files: read as those, each down section would run inside its up.
/// driftless does not read that layout, so it says so, naming the file.
fn refuse_sql_migrate(entries: &[std::fs::DirEntry]) -> Result<()> {
    let marked = entries.iter().find(|e| {
        e.file_name().to_string_lossy().ends_with(".sql")
            && std::fs::read_to_string(e.path()).is_ok_and(|text| {
                text.lines().any(|l| {
                    let l = l.trim().to_ascii_lowercase();
                    l.starts_with("-- +migrate up") || l.starts_with("-- +migrate down")
                })
            })
    });
    match marked {
        Some(e) => Err(Error::input(format!(
            "{}: holds sql-migrate's `-- +migrate Up` / `-- +migrate Down` sections, a layout \
             driftless does not read (as plain up files, each down would run inside its up). \
             {KNOWN_LAYOUTS}",
            display_path(&e.path()).display()
        ))),
        None => Ok(()),
    }
}

/// The layouts whose file names no other layout has: a dot-separated version
/// (`V0001.Initial_Schema.up.sql`), or popx's database and `.autocommit` parts and `.fizz`
/// files (`20240101_a.postgres.up.sql`).
fn named_like(names: &[String]) -> Option<MigrationFormat> {
    if names.iter().any(|f| popx::fits(f, Style::Dotted).is_some()) {
        return Some(MigrationFormat::Dotted);
    }
    if names
        .iter()
        .any(|f| popx::fits(f, Style::Popx) == Some(true))
    {
        return Some(MigrationFormat::Popx);
    }
    None
}

/// Which tool a folder of `<version>…` up and down files belongs to: sqlx, golang-migrate and
/// popx share a layout but not a tracking table. The signs, strongest first: names only one
/// layout has ([`named_like`]; golang-migrate's MongoDB `.json` files, sqlx's up-only `.sql`
/// files), then the one tracking table the migrations mention, then the project around the
/// folder (`go.mod` or `Cargo.toml`); without any sign the folder is read as sqlx. A folder
/// whose files fit no layout is an input error naming the layouts driftless knows.
fn file_layout(dir: &Path, names: &[String], heads: &[String]) -> Result<MigrationFormat> {
    let files: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| [".sql", ".json", ".fizz"].iter().any(|e| n.ends_with(e)))
        .filter(|n| !n.starts_with('.'))
        .collect();
    if files.is_empty() {
        return Ok(MigrationFormat::Sqlx);
    }
    if files
        .iter()
        .any(|f| f.ends_with(".up.json") || f.ends_with(".down.json"))
    {
        return Ok(MigrationFormat::GolangMigrate);
    }
    if files.iter().any(|f| sqlx_layout::is_up_only(f)) {
        return Ok(MigrationFormat::Sqlx);
    }
    if let Some(found) = mentioned_tool(heads).or_else(|| project_tool(dir)) {
        return Ok(found);
    }
    match files.iter().find(|f| !sqlx_layout::fits(f)) {
        None => Ok(MigrationFormat::Sqlx),
        Some(odd) => Err(Error::input(format!(
            "{}: bad migration file name: it fits no layout, so the tool this folder belongs \
             to is unknown. {KNOWN_LAYOUTS}",
            display_path(&dir.join(odd)).display()
        ))),
    }
}

/// The tool of the project the folder lives in: the nearest `go.mod` (popx when it requires
/// Ory's `x` or pop, else golang-migrate) or `Cargo.toml` (sqlx when it depends on it), in the
/// folder or above it, up to the repository's root.
fn project_tool(dir: &Path) -> Option<MigrationFormat> {
    let start = dir.canonicalize().ok()?;
    for folder in start.ancestors().take(8) {
        if let Ok(text) = std::fs::read_to_string(folder.join("go.mod")) {
            let requires = |module: &str| {
                text.split_whitespace()
                    .any(|w| w == module || w.starts_with(&format!("{module}/")))
            };
            let popx = !requires("github.com/golang-migrate/migrate")
                && (requires("github.com/ory/x") || requires("github.com/gobuffalo/pop"));
            return Some(if popx {
                MigrationFormat::Popx
            } else {
                MigrationFormat::GolangMigrate
            });
        }
        if let Ok(text) = std::fs::read_to_string(folder.join("Cargo.toml")) {
            let sqlx = text.lines().map(str::trim_start).any(|l| {
                l.strip_prefix("sqlx")
                    .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
                    || l.contains("dependencies.sqlx]")
            });
            return sqlx.then_some(MigrationFormat::Sqlx);
        }
        if folder.join(".git").exists() {
            break;
        }
    }
    None
}

/// The one tool whose tracking table the migrations mention (a trigger on it, an insert into
/// it), if exactly one is.
fn mentioned_tool(heads: &[String]) -> Option<MigrationFormat> {
    let tools = [
        MigrationFormat::Sqlx,
        MigrationFormat::GolangMigrate,
        MigrationFormat::Popx,
    ];
    let mentioned: Vec<MigrationFormat> = tools
        .into_iter()
        .filter(|t| {
            let table = t.tracking_tables()[0];
            heads.iter().any(|h| super::mentions(h, &[table]))
        })
        .collect();
    match mentioned.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
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
    let mut migrations = match format {
        MigrationFormat::Sqlx => super::read_sqlx_layout(dir, split),
        MigrationFormat::GolangMigrate => sqlx_layout::read_golang_migrate(dir, split),
        MigrationFormat::Popx => popx::read(dir, split, dbms, Style::Popx),
        MigrationFormat::Dotted => popx::read(dir, split, dbms, Style::Dotted),
        MigrationFormat::Diesel => super::diesel::read(dir, split),
        MigrationFormat::Dbmate => super::dbmate::read(dir, split),
        MigrationFormat::Goose => super::goose::read(dir, split),
        MigrationFormat::Flyway => super::flyway::read(dir, split),
        MigrationFormat::Liquibase => super::liquibase::read(dir, split, dbms),
        MigrationFormat::Sqitch => super::sqitch::read(dir, split),
    }?;
    super::transactions::follow_runner(format, &mut migrations);
    Ok(migrations)
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
            (
                &[("1_a.up.json", "[]"), ("1_a.down.json", "[]")],
                MigrationFormat::GolangMigrate,
            ),
            (
                &[
                    ("1_a.up.sql", "select 1;"),
                    ("1_a.postgres.up.sql", "select 1;"),
                ],
                MigrationFormat::Popx,
            ),
            (
                &[("1_a.cockroach.autocommit.up.sql", "select 1;")],
                MigrationFormat::Popx,
            ),
            (
                &[("V0001.Initial_Schema.up.sql", "select 1;")],
                MigrationFormat::Dotted,
            ),
            (
                &[("V0001.Initial_Schema.postgres.down.sql", "select 1;")],
                MigrationFormat::Dotted,
            ),
        ];
        for (files, expected) in cases {
            let d = dir(files);
            assert_eq!(detect(d.path()).unwrap(), *expected, "{files:?}");
        }
    }

    #[test]
    fn sql_migrate_sections_are_refused_naming_the_file() {
        let d = dir(&[(
            "0001_lanes.sql",
            "-- +migrate Up
create table lanes (id int);

-- +migrate Down
drop table lanes;
",
        )]);
        let e = detect(d.path()).unwrap_err().to_string();
        assert!(e.contains("0001_lanes.sql"), "{e}");
        assert!(e.contains("sql-migrate"), "{e}");
        // The words in a comment elsewhere in a line are not the marker.
        let d = dir(&[(
            "0001_lanes.sql",
            "select 1; -- +migrate Up later
",
        )]);
        assert_eq!(detect(d.path()).unwrap(), MigrationFormat::Sqlx);
    }

    #[test]
    fn up_and_down_files_name_their_tool_by_the_signs_they_give() {
        let plain = [
            ("1_a.up.sql", "create table a (id int);"),
            ("1_a.down.sql", "drop table a;"),
        ];
        // No sign at all: sqlx, as before.
        assert_eq!(detect(dir(&plain).path()).unwrap(), MigrationFormat::Sqlx);
        // An up-only file is sqlx's alone.
        let d = dir(&[plain[0], plain[1], ("2_b.sql", "select 1;")]);
        assert_eq!(detect(d.path()).unwrap(), MigrationFormat::Sqlx);
        // The project around the folder.
        let d = dir(&[
            (
                "go.mod",
                "module x\n\nrequire github.com/golang-migrate/migrate/v4 v4.17.0\n",
            ),
            ("db/1_a.up.sql", "select 1;"),
        ]);
        assert_eq!(
            detect(&d.path().join("db")).unwrap(),
            MigrationFormat::GolangMigrate
        );
        let d = dir(&[
            (
                "go.mod",
                "module x\n\nrequire (\n\tgithub.com/ory/x v0.0.600\n)\n",
            ),
            ("db/1_a.up.sql", "select 1;"),
        ]);
        assert_eq!(detect(&d.path().join("db")).unwrap(), MigrationFormat::Popx);
        let d = dir(&[
            (
                "Cargo.toml",
                "[dependencies]\nsqlx = { version = \"0.8\" }\n",
            ),
            ("db/1_a.up.sql", "select 1;"),
        ]);
        assert_eq!(detect(&d.path().join("db")).unwrap(), MigrationFormat::Sqlx);
        // The one tracking table the migrations mention.
        let d = dir(&[
            plain[0],
            (
                "2_t.up.sql",
                "CREATE TRIGGER t AFTER INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION f();",
            ),
        ]);
        assert_eq!(detect(d.path()).unwrap(), MigrationFormat::GolangMigrate);
        let d = dir(&[
            plain[0],
            (
                "2_t.up.sql",
                "INSERT INTO schema_migration (version) VALUES ('x');",
            ),
        ]);
        assert_eq!(detect(d.path()).unwrap(), MigrationFormat::Popx);
    }

    #[test]
    fn a_folder_of_no_layout_is_an_error_naming_the_layouts() {
        let d = dir(&[
            ("create_users.sql", "select 1;"),
            ("1_a.up.sql", "select 1;"),
        ]);
        let Err(Error::Input(message)) = detect(d.path()) else {
            panic!("no layout fits create_users.sql")
        };
        assert!(message.contains("create_users.sql"), "{message}");
        for layout in [
            "sqlx",
            "golang-migrate",
            "popx",
            "dotted",
            "diesel",
            "flyway",
        ] {
            assert!(message.contains(layout), "{layout}: {message}");
        }
    }

    #[test]
    fn every_tracking_table_is_one_tools() {
        let all = every_tracking_table();
        assert!(all.contains(&"schema_migration".to_string()));
        assert!(all.contains(&"__diesel_schema_migrations".to_string()));
        assert_eq!(
            MigrationFormat::Diesel.tracking_tables(),
            ["__diesel_schema_migrations"],
            "a diesel project's schema_migrations is a user table"
        );
    }
}
