//! PostgreSQL: a disposable server (or a throwaway database on `--url`) and everything the
//! roundtrip asks of an engine.
//!
//! Two connections: the *migrator* applies migrations exactly as a migration tool would (one
//! session for the whole history, so session settings carry over as they do in production);
//! the *observer* introspects, fingerprints, seeds and runs checks with its own fixed
//! settings (UTC, ISO dates), so nothing a migration sets changes how data is compared.

mod copy;
mod fetch;
mod fingerprint;
mod introspect;
mod sandbox;
mod split;
mod statements;
mod trace;

pub use sandbox::{LocalServer, PgBinaries, find_binaries, template};
pub use split::split;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::{
    Applied, BoxFuture, Capabilities, CheckOutcome, Engine, EngineSpec, Inserted, ReadQuery,
    RowStore, SqlCopy, StartOptions, Words,
};
use std::str::FromStr;

use crate::checks::{Check, CheckFormat};
use crate::data::{DataFingerprint, RowDiff, Survival};
use crate::error::Context;
use crate::migrations::Script;
use crate::report::StatementTrace;
use crate::schema::{Column, SchemaSnapshot, Table};
use crate::sql::{Dialect, Encoding};
use crate::{Error, Result};

pub static SPEC: EngineSpec = EngineSpec {
    name: "postgres",
    aliases: &["postgresql", "pg"],
    display: "PostgreSQL",
    dbms: &["postgresql"],
    url_schemes: &["postgres", "postgresql"],
    split,
    words: Words::SQL,
    checks: CheckFormat::Sql,
    can: Capabilities {
        rows: true,
        mask: true,
        documents: false,
    },
    start,
};

fn start(options: &StartOptions) -> BoxFuture<'_, Result<Box<dyn Engine>>> {
    Box::pin(async move {
        let engine = Postgres::start(options).await?;
        Ok(Box::new(engine) as Box<dyn Engine>)
    })
}

/// Settings of the observer session: how values print when they are compared.
const OBSERVER_SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
     SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; \
     SET client_min_messages = warning";

enum Server {
    Local(LocalServer),
    Remote(Box<sandbox::RemoteDatabase>),
    /// The user's own database (`seed --url`): left as it is at the end.
    InPlace,
}

/// A PostgreSQL session pair on a database driftless created.
pub struct Postgres {
    // Field order is drop order: connections close before the server goes away.
    migrator: PgConnection,
    observer: PgConnection,
    server: Server,
    version: String,
    fingerprints: fingerprint::FingerprintCache,
    /// A URL external tools (pg_dump) can use for this database, where there is one.
    tool_url: Option<String>,
    /// `--pg-bin`, for finding pg_dump.
    bin_dir: Option<std::path::PathBuf>,
}

impl Postgres {
    /// Starts a disposable server, or creates a throwaway database on `options.url`.
    pub async fn start(options: &StartOptions) -> Result<Postgres> {
        let (server, connect) = match &options.url {
            Some(url) if options.in_place => {
                let connect = PgConnectOptions::from_str(url)
                    .map_err(|e| Error::input(format!("invalid --url: {e}")))?
                    .application_name("driftless");
                let first = connect.connect().await.map_err(|e| {
                    Error::infra(format!(
                        "cannot connect to {}: {e}",
                        crate::sandbox::redact_url(url)
                    ))
                })?;
                let mut engine = Self::with_connections(Server::InPlace, first, connect).await?;
                if options.read_only {
                    for conn in [&mut engine.migrator, &mut engine.observer] {
                        sqlx::raw_sql("SET default_transaction_read_only = on")
                            .execute(conn)
                            .await
                            .context(|| "cannot make the session read-only".into())?;
                    }
                }
                engine.tool_url = Some(url.clone());
                engine.bin_dir = options.bin_dir.clone();
                return Ok(engine);
            }
            Some(url) => {
                let (db, connect) = sandbox::RemoteDatabase::create(url).await?;
                (Server::Remote(Box::new(db)), connect)
            }
            None => {
                let bins = sandbox::binaries_for(options).await?;
                let local = LocalServer::start(&bins, options.keep)?;
                // The first connection doubles as the readiness probe.
                let first = local.connect().await?;
                let connect = local.connect_options();
                let url = local.url();
                let server = Server::Local(local);
                let mut engine = Self::with_connections(server, first, connect).await?;
                engine.tool_url = Some(url);
                engine.bin_dir = options.bin_dir.clone();
                return Ok(engine);
            }
        };
        let first = connect
            .connect()
            .await
            .context(|| "cannot connect to the throwaway database".into())?;
        Self::with_connections(server, first, connect).await
    }

    async fn with_connections(
        server: Server,
        migrator: PgConnection,
        connect: PgConnectOptions,
    ) -> Result<Postgres> {
        let mut observer = connect
            .connect()
            .await
            .context(|| "cannot open the observer connection".into())?;
        sqlx::raw_sql(OBSERVER_SETTINGS)
            .execute(&mut observer)
            .await
            .context(|| "cannot configure the observer session".into())?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut observer)
            .await
            .context(|| "cannot read the server version".into())?;
        let version = version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Postgres {
            migrator,
            observer,
            server,
            version,
            fingerprints: fingerprint::FingerprintCache::default(),
            tool_url: None,
            bin_dir: None,
        })
    }

    /// The URL of the disposable server (for `--keep` and benchmarks).
    pub fn url(&self) -> Option<String> {
        match &self.server {
            Server::Local(local) => Some(local.url()),
            Server::Remote(_) | Server::InPlace => None,
        }
    }

    fn tool_url(&self) -> Result<String> {
        self.tool_url
            .clone()
            .ok_or_else(|| Error::infra("pg_dump cannot reach a throwaway database on --url"))
    }

    /// The observer connection, for benchmarks and tests that need raw SQL.
    pub fn observer(&mut self) -> &mut PgConnection {
        &mut self.observer
    }
}

#[async_trait]
impl Engine for Postgres {
    fn spec(&self) -> &'static EngineSpec {
        &SPEC
    }

    fn server_version(&self) -> &str {
        &self.version
    }

    async fn apply(&mut self, script: &Script) -> Result<Applied> {
        statements::apply(&mut self.migrator, script).await
    }

    async fn apply_traced(&mut self, script: &Script) -> Result<(Applied, Vec<StatementTrace>)> {
        trace::apply_traced(&mut self.migrator, &mut self.observer, script).await
    }

    async fn restore(&mut self, path: &std::path::Path) -> Result<()> {
        let url = self.tool_url()?;
        let bins = find_binaries(self.bin_dir.as_deref())?;
        trace::restore(&bins.bin_dir, &url, path).await
    }

    async fn query_rows(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        trace::query_rows(&mut self.observer, sql).await.map(Some)
    }

    async fn schema(&mut self) -> Result<SchemaSnapshot> {
        introspect::snapshot(&mut self.observer).await
    }

    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        fingerprint::fingerprint(&mut self.observer, schema, &mut self.fingerprints, capture).await
    }

    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>> {
        fingerprint::row_diff(&mut self.observer, &self.fingerprints, before, now).await
    }

    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival> {
        fingerprint::survival(&mut self.observer, &self.fingerprints, before, now, column).await
    }

    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome> {
        statements::run_check(&mut self.observer, check).await
    }

    fn rows(&mut self) -> Option<&mut dyn RowStore> {
        Some(self)
    }

    fn copier(&mut self) -> Option<&mut dyn SqlCopy> {
        Some(self)
    }

    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>> {
        let Postgres {
            migrator,
            observer,
            server,
            ..
        } = *self;
        let _ = migrator.close().await;
        let _ = observer.close().await;
        match server {
            Server::Local(local) if keep => Ok(Some(local.keep())),
            Server::Local(local) => {
                local.stop();
                Ok(None)
            }
            Server::Remote(db) if keep => Ok(Some(db.keep())),
            Server::Remote(db) => db.drop_database().await.map(|()| None),
            Server::InPlace => Ok(None),
        }
    }
}

#[async_trait]
impl RowStore for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn load_encoding(&self) -> Encoding {
        Encoding::PgCopy
    }
    async fn empty_tables(&mut self, schema: &SchemaSnapshot) -> Result<Vec<String>> {
        statements::empty_tables(&mut self.observer, schema).await
    }
    async fn sample_keys(
        &mut self,
        table: &Table,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<Vec<String>>> {
        statements::sample_keys(&mut self.observer, table, columns, limit).await
    }
    async fn insert_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<Inserted> {
        statements::insert_rows(&mut self.observer, table, columns, rows).await
    }
    async fn load(
        &mut self,
        table: &Table,
        columns: &[Column],
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64> {
        let name = table.qualified();
        let fail = |e: sqlx::Error| statements::seed_error(&name, e);
        let mut copy = self
            .observer
            .copy_in_raw(&crate::sql::pg_copy_from_stdin(table, columns))
            .await
            .map_err(fail)?;
        while let Some(bytes) = chunks.recv().await {
            if let Err(e) = copy.send(bytes).await {
                let _ = copy.abort("driftless stopped sending rows").await;
                return Err(fail(e));
            }
        }
        copy.finish().await.map_err(fail)
    }
    async fn execute(&mut self, sql: &str) -> Result<()> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut self.observer)
            .await
            .map(|_| ())
            .map_err(|e| statements::seed_error("the seeded tables", e))
    }
}

#[async_trait]
impl SqlCopy for Postgres {
    async fn begin_snapshot(&mut self) -> Result<Option<String>> {
        copy::begin_snapshot(&mut self.observer).await.map(Some)
    }
    async fn read_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        query: &ReadQuery,
        rows: tokio::sync::mpsc::Sender<Vec<Vec<Option<String>>>>,
    ) -> Result<u64> {
        copy::read_rows(&mut self.observer, table, columns, query, rows).await
    }
    async fn schema_ddl(&mut self, snapshot: Option<&str>) -> Result<(String, String)> {
        let url = self.tool_url()?;
        let pg_dump = copy::pg_dump(self.bin_dir.as_deref())?;
        copy::schema_ddl(&pg_dump, &url, snapshot, &mut self.observer).await
    }
    async fn dump(&mut self, path: &std::path::Path) -> Result<()> {
        let url = self.tool_url()?;
        let pg_dump = copy::pg_dump(self.bin_dir.as_deref())?;
        copy::dump(&pg_dump, &url, path).await
    }
}
