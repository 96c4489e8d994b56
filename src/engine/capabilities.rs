//! What an engine can do beyond the roundtrip, each reached through the engine
//! ([`super::Engine::rows`], [`super::Engine::copier`], [`super::Engine::documents`]). An engine
//! that cannot do a job returns `None` and its [`super::EngineSpec`] says so up front; nothing
//! is stubbed.

use std::path::Path;

use async_trait::async_trait;
use tokio::sync::mpsc::{Receiver, Sender};

use crate::Result;
use crate::migrations::tracking::Tracking;
use crate::schema::{Column, SchemaSnapshot, Table};
use crate::sql::{Dialect, Encoding};

/// How seeded rows should look on an engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeedStyle {
    /// Realistic values only.
    #[default]
    Realistic,
    /// Realistic values, plus every fifth row at the limits of each column's type (longest
    /// strings with non-ASCII text, extreme numbers, all fractional-second digits): engines that
    /// silently truncate or convert lose exactly these on a narrowing round trip.
    EdgeCases,
}

/// Result of inserting seed rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inserted {
    pub rows: u64,
    /// Rows the server rejected (constraint violations); they are left out.
    pub skipped: u64,
}

/// Tables filled with rows: seeding for `check` and `seed`, and `mask`'s target.
#[async_trait]
pub trait RowStore: Send {
    /// The SQL dialect seeding writes for this engine.
    fn dialect(&self) -> Dialect;

    /// How seeded rows should look on this engine.
    fn seed_style(&self) -> SeedStyle {
        SeedStyle::Realistic
    }

    /// The encoding [`RowStore::load`] wants its chunks in.
    fn load_encoding(&self) -> Encoding;

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

    /// Bulk-loads rows of `columns` of `table` arriving on `chunks` in
    /// [`RowStore::load_encoding`] (COPY FROM STDIN, LOAD DATA from a pipe, or INSERT
    /// statements), on the session of [`RowStore::execute`]. Returns the rows loaded; a row the
    /// server rejects fails the load, naming the table and constraint.
    async fn load(
        &mut self,
        table: &Table,
        columns: &[Column],
        chunks: Receiver<Vec<u8>>,
    ) -> Result<u64>;

    /// Runs one statement of seeding or loading (transaction control, foreign keys of cycles,
    /// DDL of a copied schema).
    async fn execute(&mut self, sql: &str) -> Result<()>;

    /// Removes every row of `tables` (the caller includes the tables whose foreign keys point
    /// at them), so that an up that failed on seeded rows can be tried again.
    async fn clear(&mut self, tables: &[Table]) -> Result<()>;
}

/// Which rows [`SqlCopy::read_rows`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadQuery {
    /// A SQL condition on the table's columns (a subset).
    pub filter: Option<String>,
    /// Columns to order by (for reads that must line up with each other).
    pub order: Vec<String>,
    pub limit: Option<usize>,
}

/// A database `mask` copies (read in one consistent snapshot, its schema as DDL) and the dump
/// of the copy it writes.
#[async_trait]
pub trait SqlCopy: Send {
    /// Opens a consistent read-only snapshot on the session [`SqlCopy::read_rows`] uses, for
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
        rows: Sender<Vec<Vec<Option<String>>>>,
    ) -> Result<u64>;

    /// The schema as DDL in two parts: what must exist before rows are loaded (types, tables,
    /// sequences, views) and what comes after (indexes, constraints, triggers, sequence
    /// positions). `snapshot` is the id from [`SqlCopy::begin_snapshot`].
    async fn schema_ddl(&mut self, snapshot: Option<&str>) -> Result<(String, String)>;

    /// Writes a dump of the whole database to `path`: PostgreSQL custom format (for
    /// `pg_restore`), MySQL / MariaDB SQL.
    async fn dump(&mut self, path: &Path) -> Result<()>;
}

/// A collection seeding may fill, with what the engine knows of its documents' shape.
#[derive(Debug, Clone)]
pub struct Collection {
    pub name: String,
    /// No document yet.
    pub empty: bool,
    /// Its `$jsonSchema` validator, when it has one.
    pub validator: Option<mongodb::bson::Document>,
    /// The shape its documents had when this run last saw some (a `$jsonSchema`).
    pub seen_shape: Option<serde_json::Value>,
}

/// A collection (or view) as `mask` recreates it in its target: `listCollections` options and
/// `listIndexes` specifications.
#[derive(Debug, Clone, Default)]
pub struct CollectionDef {
    pub name: String,
    pub view: bool,
    pub options: mongodb::bson::Document,
    pub indexes: Vec<mongodb::bson::Document>,
}

/// Collections of documents (MongoDB): seeded from their validators or shapes, with the
/// migration history kept in a collection; read, recreated and dumped by `mask`.
#[async_trait]
pub trait DocumentStore: Send {
    /// The collections of `schema` that seeding may fill (collections, not views).
    async fn collections(&mut self, schema: &SchemaSnapshot) -> Result<Vec<Collection>>;

    /// Inserts `documents` into `collection`, unordered: returns how many went in and how
    /// many the server rejected (a validator, a unique index).
    async fn insert_documents(
        &mut self,
        collection: &str,
        documents: Vec<mongodb::bson::Document>,
    ) -> Result<(u64, u64)>;

    /// Removes every document of `collections`, so that an up that failed on seeded documents
    /// can be tried again.
    async fn clear(&mut self, collections: &[String]) -> Result<()>;

    /// golang-migrate's history collection (`schema_migrations`: one `{version, dirty}`), if
    /// the database has one.
    async fn read_tracking(&mut self) -> Result<Option<Tracking>>;

    /// Every collection and view (the hidden history left out), in name order.
    async fn definitions(&mut self) -> Result<Vec<CollectionDef>>;

    /// Streams the documents of `collection` in batches, at most `limit`; returns how many
    /// were read. Stops early, without error, when the receiver is dropped.
    async fn read_documents(
        &mut self,
        collection: &str,
        limit: Option<usize>,
        out: Sender<Vec<mongodb::bson::Document>>,
    ) -> Result<u64>;

    /// Creates a collection with its options (a view with its pipeline); with `indexes`, builds
    /// its indexes but `_id`'s (after its documents are in: cheaper).
    async fn create(&mut self, def: &CollectionDef, indexes: bool) -> Result<()>;

    /// Drops `names` (collections or views), so that a failed `mask` leaves its target as
    /// empty as it found it.
    async fn drop_collections(&mut self, names: &[String]) -> Result<()>;

    /// Writes the whole database to `path` as a `mongodump --archive` file (gzipped when the
    /// name ends in `.gz`), which `mongorestore --archive` and `driftless` read.
    async fn dump(&mut self, path: &Path) -> Result<()>;
}
