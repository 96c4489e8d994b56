//! What driftless knows about an engine before starting it: its names, URL schemes, splitter,
//! vocabulary, check files, the jobs it can do, and how to start it. Commands ask the spec,
//! never an engine's name.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::Engine;
use crate::checks::CheckFormat;
use crate::migrations::Splitter;
use crate::sandbox::WantedVersion;
use crate::{Error, Result};

/// How to find, describe and start one engine.
pub struct EngineSpec {
    /// The `--engine` value and the `engine` field of reports.
    pub name: &'static str,
    /// Other names people type for it (`postgresql`, `pg`; `mariadb`; `mongodb`).
    pub aliases: &'static [&'static str],
    /// How reports and messages name it (`PostgreSQL`).
    pub display: &'static str,
    /// What migration tools call it (Liquibase's `dbms`: `postgresql`, `mysql`, `mariadb`).
    pub dbms: &'static [&'static str],
    /// URL schemes of `--url` that select this engine.
    pub url_schemes: &'static [&'static str],
    /// The engine's statement splitter (its SQL dialect, or MongoDB's JSON commands).
    pub split: crate::migrations::Splitter,
    /// What findings call its tables, columns and rows.
    pub words: Words,
    /// The files its invariant checks are written in.
    pub checks: CheckFormat,
    /// What the engine can do beyond the roundtrip.
    pub can: Capabilities,
    /// What its server does with a script's transactions: how a migration runs as its tool
    /// runs it (`migrations::runs_in_transaction`).
    pub transactions: crate::migrations::ServerTransactions,
    /// Starts a disposable instance, or a throwaway database on `--url`.
    pub start: StartFn,
    /// Drops the throwaway databases on a `--url` server that killed runs of this host left
    /// (`sandbox::sweep`); returns their names. `driftless clean --url` calls it.
    pub clean: CleanFn,
}

/// What findings call tables, columns and rows (MongoDB: collections, fields, documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub table: &'static str,
    pub column: &'static str,
    pub rows: &'static str,
}

impl Words {
    pub const SQL: Words = Words {
        table: "table",
        column: "column",
        rows: "rows",
    };
}

/// The jobs beyond the roundtrip an engine can do, known before it starts, so that a command
/// refuses at once with one message ([`EngineSpec::require`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Tables filled from rows: SQL seeding and `mask`'s target ([`super::RowStore`]).
    pub rows: bool,
    /// A source `mask` can read: in one snapshot ([`super::SqlCopy`]), or collection by
    /// collection ([`super::DocumentStore`]) on engines of documents.
    pub mask: bool,
    /// Collections of documents seeded from their validators ([`super::DocumentStore`]).
    pub documents: bool,
}

/// A job that needs a capability, for [`EngineSpec::require`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Rows,
    Mask,
    Documents,
}

impl EngineSpec {
    /// Whether the engine can do `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::Rows => self.can.rows,
            Capability::Mask => self.can.mask,
            Capability::Documents => self.can.documents,
        }
    }

    /// An input error unless the engine can do `capability`: `driftless <command>` says what
    /// it would need and which engines have it.
    pub fn require(&self, capability: Capability, command: &str) -> Result<()> {
        if self.can(capability) {
            return Ok(());
        }
        Err(self.unsupported(capability, command))
    }

    /// The error of [`EngineSpec::require`].
    pub fn unsupported(&self, capability: Capability, command: &str) -> Error {
        let able: Vec<&str> = ENGINES
            .iter()
            .filter(|e| e.can(capability))
            .map(|e| e.display)
            .collect();
        Error::input(format!(
            "`driftless {command}` does not support {} yet; it supports {}",
            self.display,
            able.join(" and ")
        ))
    }
}

/// Starts an engine: a disposable instance, or a throwaway database on `--url`.
pub type StartFn = for<'a> fn(&'a StartOptions) -> BoxFuture<'a, Result<Box<dyn Engine>>>;

pub type CleanFn = for<'a> fn(&'a str) -> BoxFuture<'a, Result<Vec<String>>>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a [`StartFn`] returns, from an engine's own `start` that makes a `T`.
pub fn boxed_start<'a, T: Engine + 'static>(
    start: impl Future<Output = Result<T>> + Send + 'a,
) -> BoxFuture<'a, Result<Box<dyn Engine>>> {
    Box::pin(async move { Ok(Box::new(start.await?) as Box<dyn Engine>) })
}

/// Every engine driftless knows, in the order `--help` lists them.
pub static ENGINES: &[&EngineSpec] = &[
    &super::postgres::SPEC,
    &super::mysql::SPEC,
    &super::mongo::SPEC,
];

/// Looks an engine up by its `--engine` name or one of its aliases, in any case.
pub fn find(name: &str) -> Option<&'static EngineSpec> {
    let name = name.trim().to_ascii_lowercase();
    ENGINES
        .iter()
        .copied()
        .find(|e| e.name == name || e.aliases.contains(&name.as_str()))
}

/// The engine whose URL scheme `url` uses.
pub fn for_url(url: &str) -> Option<&'static EngineSpec> {
    let scheme = url.split_once("://")?.0;
    ENGINES
        .iter()
        .copied()
        .find(|e| e.url_schemes.contains(&scheme))
}

/// Names of all engines, for messages.
pub fn names() -> Vec<&'static str> {
    ENGINES.iter().map(|e| e.name).collect()
}

/// The splitter of the engine called `name` (for readers and tests that need one).
pub fn splitter(name: &str) -> Option<Splitter> {
    find(name).map(|e| e.split)
}

/// What the user asked for about the server.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Work in a throwaway database on this server instead of a disposable instance.
    pub url: Option<String>,
    /// Leave the disposable instance running at the end and print how to reach it.
    pub keep: bool,
    /// Directory with the engine's server binaries (`--pg-bin` / `--mysql-bin`).
    pub bin_dir: Option<PathBuf>,
    /// MySQL: `sql_mode` for the migration session; `None` keeps the server's.
    pub sql_mode: Option<String>,
    /// Statements the migration tool's runner runs on its session before migrations
    /// (`SET lock_timeout = '5s'`, `SET FOREIGN_KEY_CHECKS = 0`): run once the migration
    /// session connects, and again whenever it is reset.
    pub session: Vec<String>,
    /// A statement of a migration or a check running longer is cancelled by the server.
    pub statement_timeout: Option<std::time::Duration>,
    /// A migration's statement waiting longer for a lock is cancelled by the server.
    pub lock_timeout: Option<std::time::Duration>,
    /// Work in the database `url` names itself, and leave it in place at the end (`seed
    /// --url`: the user explicitly pointed driftless at it).
    pub in_place: bool,
    /// With `in_place`: every session of driftless is read-only (`drift`, `mask --from`), so
    /// not even a mistake can write.
    pub read_only: bool,
    /// MongoDB: documents read per collection to infer its shape (`--sample`).
    pub sample: Option<usize>,
    /// The disposable server records the locks statements take (`dry-run`; MySQL turns on
    /// performance_schema's metadata-lock instrument for it).
    pub trace_locks: bool,
    /// The server version wanted (`--pg-version`); `None`: the newest installed.
    pub version: Option<WantedVersion>,
    /// Never download server binaries; say what would be needed instead.
    pub offline: bool,
    /// No progress output on stderr (fetching binaries).
    pub quiet: bool,
    /// Tables (lower case) the engine's schema leaves out, with what is theirs (indexes,
    /// triggers, owned sequences): the tracking tables of the migration tool in use.
    pub hidden_tables: Vec<String>,
    /// `--migration-role`: migrations run as this new role (not a superuser; owner of the
    /// database) on a disposable server, the way applications run them in production.
    pub migration_role: Option<String>,
}

/// Shapes of collections to seed, by collection name (MongoDB `--fixtures`).
pub type Shapes = BTreeMap<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_found_by_the_names_people_type() {
        for (typed, name) in [
            ("postgres", "postgres"),
            ("PostgreSQL", "postgres"),
            ("pg", "postgres"),
            ("mysql", "mysql"),
            ("mariadb", "mysql"),
            ("mongo", "mongo"),
            ("mongodb", "mongo"),
        ] {
            assert_eq!(find(typed).map(|e| e.name), Some(name), "{typed}");
        }
        assert!(find("oracle").is_none());
    }

    #[test]
    fn a_missing_capability_names_the_engines_that_have_it() {
        let mongo = find("mongo").unwrap();
        let err = mongo.require(Capability::Rows, "seed").unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        let text = err.to_string();
        assert!(
            text.contains("MongoDB") && text.contains("PostgreSQL"),
            "{text}"
        );
        assert!(
            find("postgres")
                .unwrap()
                .require(Capability::Mask, "mask")
                .is_ok()
        );
    }
}
