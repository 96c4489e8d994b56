//! The engine seam: one narrow trait every database engine implements, the capabilities some
//! engines add, and the registry of engines.
//!
//! The roundtrip, dry-run and drift only ever talk to `dyn Engine`; seeding, masking and
//! MongoDB's documents reach their capability through it (`engine.rows()`, `engine.copier()`,
//! `engine.documents()`). Nothing outside this folder names an engine: what differs between
//! engines is data in its [`EngineSpec`]. Adding an engine means a folder `engine/<name>/`
//! implementing [`Engine`] (and the capabilities it has) with a `pub static SPEC`, and one line
//! in [`ENGINES`].

mod capabilities;
pub mod mongo;
pub mod mysql;
pub mod postgres;
mod session;
mod spec;
mod sql_common;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::Result;
use crate::checks::Check;
use crate::data::{DataFingerprint, RowDiff, SequencePosition, Survival};
use crate::migrations::Script;
use crate::report::StatementTrace;
use crate::schema::{SchemaSnapshot, Table};

pub use capabilities::{
    Collection, CollectionDef, DocumentStore, Inserted, ReadQuery, RowStore, SeedStyle, SqlCopy,
};
pub use session::Settings;
pub use spec::{
    BoxFuture, Capabilities, Capability, ENGINES, EngineSpec, Shapes, StartFn, StartOptions, Words,
    boxed_start, find, for_url, names, splitter,
};

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

impl Applied {
    /// Whether the server cancelled a statement for running (or waiting for a lock) longer
    /// than its limit: not something emptying tables or trying again would change.
    pub fn timed_out(&self) -> bool {
        matches!(self, Applied::Failed { code, .. }
            if session::STATEMENT_TIMEOUT.contains(&code.as_str())
                || session::LOCK_TIMEOUT.contains(&code.as_str()))
    }

    /// How long the script ran, to the end or to its failure.
    pub fn ms(&self) -> u64 {
        match self {
            Applied::Done { ms } | Applied::Failed { ms, .. } => *ms,
        }
    }
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

/// A connection to one database that driftless created (or was pointed at), with what the
/// roundtrip, `dry-run` and `drift` need from every engine.
#[async_trait]
pub trait Engine: Send {
    /// What this engine is: names, vocabulary, capabilities.
    fn spec(&self) -> &'static EngineSpec;

    /// The server's version string as reported in the JSON report.
    fn server_version(&self) -> &str;

    /// Server settings worth showing in the report (MySQL: `sql_mode`).
    fn server_settings(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// Applies a migration script as the migration tool would (in one transaction when
    /// `migrations::runs_in_transaction` says so for this engine's server). A failing
    /// statement is an `Applied::Failed`, not an `Err`.
    async fn apply(&mut self, script: &Script) -> Result<Applied>;

    /// The settings of the session that applies migrations that differ from its clean state
    /// (as connected, with the runner's settings applied): what migrations' own `SET`s left.
    /// Engines without session settings have none.
    async fn session_settings(&mut self) -> Result<Settings> {
        Ok(Settings::new())
    }

    /// Puts the migration session back in its clean state, then sets `carried` (settings an
    /// earlier migration left that the migration tool's runner keeps for later ones).
    async fn reset_session(&mut self, carried: &Settings) -> Result<()> {
        let _ = carried;
        Ok(())
    }

    /// Like [`Engine::apply`], statement by statement, recording for each its duration, rows,
    /// the locks it took and the tables it rewrote.
    async fn apply_traced(&mut self, script: &Script) -> Result<(Applied, Vec<StatementTrace>)> {
        self.apply(script)
            .await
            .map(|applied| (applied, Vec::new()))
    }

    /// Loads a dump into this (disposable) database: `pg_restore` / `psql`, the `mariadb`
    /// client, a `mongodump` archive. A dump the tool refuses is an infrastructure error
    /// carrying its message.
    async fn restore(&mut self, path: &std::path::Path) -> Result<()>;

    /// Runs a read-only query and returns every value as text (cast in the SQL where the engine
    /// needs it: MySQL): what tracking tables and dry-run's guards read. `None`: the engine
    /// has no SQL (its tracking comes through [`Engine::documents`]).
    async fn query_rows(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>>;

    /// Introspects the catalog.
    async fn schema(&mut self) -> Result<SchemaSnapshot>;

    /// Fingerprints every data table of `schema`. With `capture`, also keeps per-row hashes
    /// in the server so that later [`Engine::row_diff`] calls can drill down.
    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint>;

    /// A fingerprint later ones are compared against: it counts every column's values, since
    /// a column gone later reports how many it held. [`Engine::fingerprint`] may leave counts
    /// out where they cost a scan aggregate (MySQL's nullable columns); with `capture` both
    /// count.
    async fn fingerprint_before(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        self.fingerprint(schema, capture).await
    }

    /// Compares `now` row by row with the rows captured for `before`; `None` when nothing
    /// was captured for it.
    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>>;

    /// The first [`crate::data::EXAMPLES`] rows captured for `before`, by key, as they were:
    /// what a finding about a table that is gone shows. Empty when nothing was captured.
    async fn captured_rows(&mut self, before: &Table) -> Result<Vec<crate::data::MissingRow>>;

    /// After the up changed the type of `column`, how many captured values survive
    /// converting the new values back to the old type.
    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival>;

    /// Where each sequence of `schema`'s tables stands and the highest value in use in each
    /// column it fills (PostgreSQL sequences and identities, MySQL `AUTO_INCREMENT` and
    /// sequences). Engines without sequences have none.
    async fn sequences(&mut self, schema: &SchemaSnapshot) -> Result<Vec<SequencePosition>> {
        let _ = schema;
        Ok(Vec::new())
    }

    /// Runs a check query read-only.
    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome>;

    /// Tables filled from rows (SQL engines).
    fn rows(&mut self) -> Option<&mut dyn RowStore> {
        None
    }

    /// A database `mask` can read in one snapshot and dump.
    fn copier(&mut self) -> Option<&mut dyn SqlCopy> {
        None
    }

    /// Collections of documents (MongoDB).
    fn documents(&mut self) -> Option<&mut dyn DocumentStore> {
        None
    }

    /// Ends the session. Without `keep`, everything driftless created is removed; with it,
    /// the instance is left running and the returned text says how to reach and stop it.
    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>>;
}

/// The engine's [`RowStore`], or the error saying `command` needs one.
pub fn rows_for<'a>(engine: &'a mut dyn Engine, command: &str) -> Result<&'a mut dyn RowStore> {
    let spec = engine.spec();
    engine
        .rows()
        .ok_or_else(|| spec.unsupported(Capability::Rows, command))
}

/// The engine's [`SqlCopy`], or the error saying `command` needs one.
pub fn copier_for<'a>(engine: &'a mut dyn Engine, command: &str) -> Result<&'a mut dyn SqlCopy> {
    let spec = engine.spec();
    engine
        .copier()
        .ok_or_else(|| spec.unsupported(Capability::Mask, command))
}

/// The engine's [`DocumentStore`], or the error saying `command` needs one.
pub fn documents_for<'a>(
    engine: &'a mut dyn Engine,
    command: &str,
) -> Result<&'a mut dyn DocumentStore> {
    let spec = engine.spec();
    engine
        .documents()
        .ok_or_else(|| spec.unsupported(Capability::Documents, command))
}
