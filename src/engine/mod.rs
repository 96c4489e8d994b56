//! The engine seam: one trait every database engine implements, and the registry of engines.
//!
//! The roundtrip, the report and the CLI only ever talk to `dyn Engine`. Adding an engine
//! means a folder `engine/<name>/` implementing [`Engine`] and one line in [`ENGINES`].

pub mod mongo;
pub mod mysql;
pub mod postgres;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use async_trait::async_trait;

use crate::Result;
use crate::checks::Check;
use crate::data::{DataFingerprint, RowDiff, Survival};
use crate::migrations::{Script, Splitter};
use crate::schema::{SchemaSnapshot, Table};
use crate::seed::SeedStyle;
use crate::seed::TablePlan;
use crate::seed::encode::{Dialect, Encoding};

/// Every engine driftless knows, in the order `--help` lists them.
pub static ENGINES: &[&EngineSpec] = &[&postgres::SPEC, &mysql::SPEC, &mongo::SPEC];

/// How to find and start one engine.
pub struct EngineSpec {
    /// The `--engine` value and the `engine` field of reports.
    pub name: &'static str,
    /// URL schemes of `--url` that select this engine.
    pub url_schemes: &'static [&'static str],
    /// The engine's statement splitter (its SQL dialect).
    pub split: Splitter,
    /// Starts a disposable instance, or a throwaway database on `--url`.
    pub start: StartFn,
}

/// Starts an engine: a disposable instance, or a throwaway database on `--url`.
pub type StartFn = for<'a> fn(&'a StartOptions) -> BoxFuture<'a, Result<Box<dyn Engine>>>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Looks an engine up by its `--engine` name.
pub fn find(name: &str) -> Option<&'static EngineSpec> {
    ENGINES.iter().copied().find(|e| e.name == name)
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
}

/// A server version the user asked for (`--pg-version`): a major (`17`) or a major and minor
/// (`17.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedVersion {
    pub major: u32,
    pub minor: Option<u32>,
}

impl std::str::FromStr for WantedVersion {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<WantedVersion, String> {
        let bad =
            || format!("`{text}` is not a server version; use a major version like 17, or 17.5");
        let mut parts = text.trim().split('.');
        let major = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(bad)?;
        let minor = match parts.next() {
            Some(p) => Some(p.parse::<u32>().map_err(|_| bad())?),
            None => None,
        };
        if parts.next().is_some() || !(10..100).contains(&major) {
            return Err(bad());
        }
        Ok(WantedVersion { major, minor })
    }
}

impl std::fmt::Display for WantedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}", self.major),
        }
    }
}

impl WantedVersion {
    /// Whether a server version string (`15.18`, `17.7.0`, `18beta1`) is this version.
    pub fn matches(&self, version: &str) -> bool {
        let numbers: Vec<Option<u32>> = version
            .split(|c: char| !c.is_ascii_digit())
            .take(2)
            .map(|p| p.parse().ok())
            .collect();
        numbers.first().copied().flatten() == Some(self.major)
            && self
                .minor
                .is_none_or(|minor| numbers.get(1).copied().flatten() == Some(minor))
    }
}

/// Which rows [`Engine::read_rows`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadQuery {
    /// A SQL condition on the table's columns (a subset).
    pub filter: Option<String>,
    /// Columns to order by (for reads that must line up with each other).
    pub order: Vec<String>,
    pub limit: Option<usize>,
}

/// What one statement of a traced apply did (`dry-run`'s timeline).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatementTrace {
    /// 1-based line in the file.
    pub line: usize,
    /// The statement's first line, shortened.
    pub sql: String,
    pub ms: u64,
    /// Rows the statement affected, where the server says.
    pub rows: Option<u64>,
    /// The strongest table lock the statement took (PostgreSQL's lock mode names), and on what.
    pub lock: Option<String>,
    pub lock_on: Option<String>,
    /// What that lock blocks for other sessions: `reads and writes`, `writes`, or nothing.
    pub blocks: Option<String>,
    /// How long the lock was held: to the end of the statement, or of its transaction.
    pub held_ms: u64,
    /// Tables whose storage was rewritten (a new relfilenode, a rebuilt InnoDB table).
    pub rewrote: Vec<String>,
}

impl StatementTrace {
    /// A statement's first line, at most 100 characters, as the timeline shows it.
    pub fn headline(sql: &str) -> String {
        let first = sql.trim().lines().next().unwrap_or("").trim();
        if first.chars().count() > 100 {
            format!("{}…", first.chars().take(99).collect::<String>())
        } else {
            first.to_string()
        }
    }
}

/// Outcome of applying one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done {
        ms: u64,
    },
    /// A statement failed; with a transaction everything was rolled back.
    Failed {
        ms: u64,
        /// 1-based line in the file of the statement (or of the error position in it).
        line: usize,
        /// The server's error code (SQLSTATE for PostgreSQL).
        code: String,
        message: String,
    },
}

/// Outcome of one check query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    Violated {
        rows: i64,
        /// A few violating rows as JSON objects.
        sample: Vec<String>,
    },
    /// The check refers to objects that do not exist (yet): not a finding.
    NotApplicable {
        reason: String,
    },
    /// The query failed for another reason.
    Failed {
        code: String,
        message: String,
    },
}

/// Result of inserting seed rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inserted {
    pub rows: u64,
    /// Rows the server rejected (constraint violations); they are left out.
    pub skipped: u64,
}

/// A connection to one database that driftless created, with everything the roundtrip
/// needs from the engine.
#[async_trait]
pub trait Engine: Send {
    /// The server's version string as reported in the JSON report.
    fn server_version(&self) -> &str;

    /// Server settings worth showing in the report (MySQL: `sql_mode`).
    fn server_settings(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// How seeded rows should look on this engine.
    fn seed_style(&self) -> SeedStyle {
        SeedStyle::Realistic
    }

    /// The schema includes facts about the data (MongoDB's inferred document shapes), so it
    /// must be read again after seeding.
    fn schema_reflects_data(&self) -> bool {
        false
    }

    /// Engines without column lists (MongoDB) seed their empty collections themselves:
    /// `Some((inserted, rejected))`. `None`: the generic, plan-based seeding applies.
    /// `shapes`: seed shapes by collection name (from `--fixtures`).
    /// `rows` says how many documents each (empty) collection gets.
    async fn seed_documents(
        &mut self,
        _schema: &SchemaSnapshot,
        _rows: &(dyn Fn(String) -> usize + Sync),
        _seed: u64,
        _shapes: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }

    /// The documents [`Engine::seed_documents`] would insert into every collection, handed to
    /// `sink` one at a time as canonical Extended JSON (`seed --out`): `(collection, None)`
    /// starts a collection, `(collection, Some(line))` is one document. `false`: not an
    /// engine of documents.
    async fn generate_documents(
        &mut self,
        _schema: &SchemaSnapshot,
        _rows: &(dyn Fn(String) -> usize + Sync),
        _seed: u64,
        _shapes: &BTreeMap<String, serde_json::Value>,
        _sink: &mut (dyn FnMut(String, Option<String>) -> Result<()> + Send),
    ) -> Result<bool> {
        Ok(false)
    }

    /// What [`Engine::seed_documents`] would generate, per collection, for `seed --explain`.
    async fn explain_documents(
        &mut self,
        _schema: &SchemaSnapshot,
        _shapes: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    /// Engines whose migration tools keep their history outside SQL tables (MongoDB:
    /// golang-migrate's `schema_migrations` collection) read it themselves: `Some(tracking)`.
    /// `None`: the SQL tracking tables are read through [`Engine::query_rows`].
    async fn read_tracking(
        &mut self,
    ) -> Result<Option<Option<crate::migrations::tracking::Tracking>>> {
        Ok(None)
    }

    /// Applies a migration script as the migration tool would (in one transaction when
    /// `script.transactional`). A failing statement is an `Applied::Failed`, not an `Err`.
    async fn apply(&mut self, script: &Script) -> Result<Applied>;

    /// Like [`Engine::apply`], statement by statement, recording for each its duration, rows,
    /// the locks it took and the tables it rewrote.
    async fn apply_traced(&mut self, script: &Script) -> Result<(Applied, Vec<StatementTrace>)> {
        self.apply(script)
            .await
            .map(|applied| (applied, Vec::new()))
    }

    /// Loads a dump into this (disposable) database: `pg_restore` / `psql`, or the `mariadb`
    /// client. A dump the tool refuses is an infrastructure error carrying its message.
    async fn restore(&mut self, path: &std::path::Path) -> Result<()>;

    /// Runs a read-only query and returns every value as text (cast in the SQL where the engine
    /// needs it: MySQL).
    async fn query_rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>>;

    /// Introspects the catalog.
    async fn schema(&mut self) -> Result<SchemaSnapshot>;

    /// Qualified names of the tables (among those that can be seeded) without rows.
    async fn empty_tables(&mut self, schema: &SchemaSnapshot) -> Result<Vec<String>>;

    /// Up to `limit` distinct non-NULL value tuples of `columns` in `table`, as text.
    async fn sample_keys(
        &mut self,
        table: &Table,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<Vec<String>>>;

    /// Inserts rows given as text values (`None` = NULL) into `columns` of `table`.
    async fn insert_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<Inserted>;

    /// The SQL dialect seeding writes for this engine.
    fn dialect(&self) -> Dialect;

    /// The encoding [`Engine::load`] wants its chunks in.
    fn load_encoding(&self) -> Encoding;

    /// Bulk-loads the rows of `plan`'s table arriving on `chunks` (COPY FROM STDIN, LOAD DATA
    /// from a pipe, or INSERT statements), on the session of [`Engine::execute`]. Returns the
    /// rows loaded; a row the server rejects fails the load, naming the table and constraint.
    async fn load(
        &mut self,
        plan: &TablePlan,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64>;

    /// Runs one statement of seeding (transaction control, foreign keys of cycles).
    async fn execute(&mut self, sql: &str) -> Result<()>;

    /// Opens a consistent read-only snapshot on the session [`Engine::read_rows`] uses, for
    /// reading a database driftless must not change (`mask --from`). Returns an id other tools
    /// can share it with (PostgreSQL's exported snapshot), if the engine has one.
    async fn begin_snapshot(&mut self) -> Result<Option<String>>;

    /// Streams the rows of `table` as text values in `columns` order, in batches; returns how
    /// many were read. Stops early, without error, when the receiver is dropped.
    async fn read_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        query: &ReadQuery,
        rows: tokio::sync::mpsc::Sender<Vec<Vec<Option<String>>>>,
    ) -> Result<u64>;

    /// The schema as DDL in two parts: what must exist before rows are loaded (types, tables,
    /// sequences, views) and what comes after (indexes, constraints, triggers, sequence
    /// positions). `snapshot` is the id from [`Engine::begin_snapshot`].
    async fn schema_ddl(&mut self, snapshot: Option<&str>) -> Result<(String, String)>;

    /// Writes a dump of the whole database to `path`: PostgreSQL custom format (for
    /// `pg_restore`), MySQL / MariaDB SQL.
    async fn dump(&mut self, path: &std::path::Path) -> Result<()>;

    /// Fingerprints every data table of `schema`. With `capture`, also keeps per-row hashes
    /// in the server so that later [`Engine::row_diff`] calls can drill down.
    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint>;

    /// Compares `now` row by row with the rows captured for `before`; `None` when nothing
    /// was captured for it.
    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>>;

    /// After the up changed the type of `column`, how many captured values survive
    /// converting the new values back to the old type.
    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival>;

    /// Runs a check query read-only.
    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome>;

    /// Ends the session. Without `keep`, everything driftless created is removed; with it,
    /// the instance is left running and the returned text says how to reach and stop it.
    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>>;
}

#[cfg(test)]
mod tests {
    use super::WantedVersion;

    #[test]
    fn wanted_versions_parse_and_match() {
        let v17: WantedVersion = "17".parse().unwrap();
        assert!(v17.matches("17.7") && v17.matches("17.7.0") && v17.matches("17beta1"));
        assert!(!v17.matches("15.18") && !v17.matches("170.1"));
        let v175: WantedVersion = "17.5".parse().unwrap();
        assert!(v175.matches("17.5.0") && !v175.matches("17.6"));
        for bad in ["", "x", "17.x", "1.2.3", "9"] {
            assert!(bad.parse::<WantedVersion>().is_err(), "{bad}");
        }
    }
}
