//! MySQL and MariaDB: a disposable server (or a throwaway database on `--url`) and everything
//! the roundtrip asks of an engine.
//!
//! As for PostgreSQL, a *migrator* connection applies migrations like a migration tool (one
//! session, the server's `sql_mode` unless `driftless.toml` sets one, no client-side tweaks)
//! and an *observer* introspects, fingerprints, seeds and runs checks with fixed settings.
//! Seeding uses edge-case rows here: MySQL silently truncates and converts, and those rows are
//! where it shows.

mod copy;
mod fingerprint;
mod introspect;
mod sandbox;
mod split;
mod statements;

pub use sandbox::{LocalServer, MySqlBinaries, find_binaries, short_version};
pub use split::split;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Connection};

use std::str::FromStr;

use super::{
    Applied, BoxFuture, Capabilities, CheckOutcome, Engine, EngineSpec, Inserted, ReadQuery,
    RowStore, SeedStyle, SqlCopy, StartOptions, Words,
};
use crate::checks::{Check, CheckFormat};
use crate::data::{DataFingerprint, RowDiff, Survival};
use crate::error::Context;
use crate::migrations::Script;
use crate::report::StatementTrace;
use crate::schema::{Column, SchemaSnapshot, Table};
use crate::sql::{Dialect, Encoding};
use crate::{Error, Result};

pub static SPEC: EngineSpec = EngineSpec {
    name: "mysql",
    aliases: &["mariadb"],
    display: "MySQL / MariaDB",
    dbms: &["mysql", "mariadb"],
    url_schemes: &["mysql", "mariadb"],
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
        let engine = MySql::start(options).await?;
        Ok(Box::new(engine) as Box<dyn Engine>)
    })
}

enum Server {
    Local(LocalServer),
    Remote(Box<sandbox::RemoteDatabase>),
    /// The user's own database (`seed --url`): left as it is at the end.
    InPlace,
}

/// A MySQL / MariaDB session pair on a database driftless created.
pub struct MySql {
    // Field order is drop order: connections close before the server goes away.
    migrator: MySqlConnection,
    observer: MySqlConnection,
    server: Server,
    version: String,
    sql_mode: String,
    captured: HashMap<String, fingerprint::Captured>,
    /// How mariadb-dump reaches this database, where it can.
    tool: Option<copy::ToolConnection>,
}

/// Connection options as a migration tool would use them: no `PIPES_AS_CONCAT`, no forced
/// time zone; the server's defaults stay.
fn plain(options: MySqlConnectOptions) -> MySqlConnectOptions {
    options
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
}

impl MySql {
    pub async fn start(options: &StartOptions) -> Result<MySql> {
        if options.version.is_some() {
            return Err(Error::input(
                "--pg-version picks a PostgreSQL version; it does not apply to this engine",
            ));
        }
        let mut tool = None;
        let (server, connect) = match &options.url {
            Some(url) if options.in_place => {
                let connect = MySqlConnectOptions::from_str(url)
                    .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
                tool = copy::ToolConnection::from_url(url).ok();
                (Server::InPlace, connect)
            }
            Some(url) => {
                let (db, connect) = sandbox::RemoteDatabase::create(url).await?;
                (Server::Remote(Box::new(db)), connect)
            }
            None => {
                let bins = find_binaries(options.bin_dir.as_deref())?;
                let local = LocalServer::start_with(&bins, options.keep, options.trace_locks)?;
                // The first connection doubles as the readiness probe and creates the database.
                drop(local.connect().await?);
                let connect = local.connect_options().database(sandbox::DATABASE);
                tool = Some(copy::ToolConnection {
                    host: "127.0.0.1".into(),
                    port: local.port,
                    user: "root".into(),
                    password: None,
                    database: sandbox::DATABASE.into(),
                });
                (Server::Local(local), connect)
            }
        };
        let mut migrator = plain(connect.clone())
            .connect()
            .await
            .context(|| "cannot open the migration connection".into())?;
        // sqlx announces CLIENT_IGNORE_SPACE, which adds IGNORE_SPACE to the session (and makes
        // built-in function names reserved words); migration tools do not, so start from the
        // server's own sql_mode, or the one driftless.toml asks for.
        let mode = match &options.sql_mode {
            Some(mode) => crate::sql::literal(mode),
            None => "@@GLOBAL.sql_mode".to_string(),
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET SESSION sql_mode = {mode}"
        )))
        .execute(&mut migrator)
        .await
        .map_err(|e| Error::input(format!("invalid sql_mode {mode} in driftless.toml: {e}")))?;
        let mut observer = plain(connect)
            .timezone(Some("+00:00".to_string()))
            .connect()
            .await
            .context(|| "cannot open the observer connection".into())?;
        // Seed literals double quotes only, and sample keys may be long.
        sqlx::raw_sql(
            "SET SESSION sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES');
             SET SESSION group_concat_max_len = 1048576",
        )
        .execute(&mut observer)
        .await
        .context(|| "cannot configure the observer session".into())?;
        let row: (String, String) =
            sqlx::query_as("SELECT CAST(VERSION() AS CHAR), CAST(@@SESSION.sql_mode AS CHAR)")
                .fetch_one(&mut migrator)
                .await
                .context(|| "cannot read the server version".into())?;
        if options.read_only && options.in_place {
            for conn in [&mut migrator, &mut observer] {
                sqlx::raw_sql("SET SESSION TRANSACTION READ ONLY")
                    .execute(&mut *conn)
                    .await
                    .context(|| "cannot make the session read-only".into())?;
            }
        }
        Ok(MySql {
            migrator,
            observer,
            server,
            version: short_version(&row.0),
            sql_mode: row.1,
            captured: HashMap::new(),
            tool,
        })
    }

    /// The URL of the disposable server (for `--keep` and benchmarks).
    pub fn url(&self) -> Option<String> {
        match &self.server {
            Server::Local(local) => Some(local.url()),
            Server::Remote(_) | Server::InPlace => None,
        }
    }

    fn tool(&self) -> Result<&copy::ToolConnection> {
        self.tool
            .as_ref()
            .ok_or_else(|| Error::infra("mariadb-dump cannot reach a throwaway database on --url"))
    }

    /// The observer connection, for benchmarks and tests that need raw SQL.
    pub fn observer(&mut self) -> &mut MySqlConnection {
        &mut self.observer
    }
}

#[async_trait]
impl Engine for MySql {
    fn spec(&self) -> &'static EngineSpec {
        &SPEC
    }

    fn server_version(&self) -> &str {
        &self.version
    }

    fn server_settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("sql_mode".to_string(), self.sql_mode.clone())])
    }

    async fn apply(&mut self, script: &Script) -> Result<Applied> {
        statements::apply(&mut self.migrator, script).await
    }

    async fn schema(&mut self) -> Result<SchemaSnapshot> {
        introspect::snapshot(&mut self.observer).await
    }

    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        fingerprint::fingerprint(&mut self.observer, schema, &mut self.captured, capture).await
    }

    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>> {
        fingerprint::row_diff(&mut self.observer, &self.captured, before, now).await
    }

    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival> {
        fingerprint::survival(&mut self.observer, &self.captured, before, now, column).await
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
        let MySql {
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

    async fn apply_traced(&mut self, script: &Script) -> Result<(Applied, Vec<StatementTrace>)> {
        copy::apply_traced(&mut self.migrator, &mut self.observer, script).await
    }

    async fn restore(&mut self, path: &std::path::Path) -> Result<()> {
        copy::restore(self.tool()?, path).await
    }

    async fn query_rows(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        copy::query_rows(&mut self.observer, sql).await.map(Some)
    }
}

#[async_trait]
impl RowStore for MySql {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn seed_style(&self) -> SeedStyle {
        SeedStyle::EdgeCases
    }

    fn load_encoding(&self) -> Encoding {
        match self.server {
            // The server can read a pipe in its own directory.
            Server::Local(_) => Encoding::Csv(Dialect::MySql),
            _ => Encoding::Sql(Dialect::MySql),
        }
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
        let Server::Local(local) = &self.server else {
            // INSERT statements, one chunk at a time.
            let mut rows = 0;
            while let Some(bytes) = chunks.recv().await {
                let sql = String::from_utf8_lossy(&bytes).into_owned();
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut self.observer)
                    .await
                    .map_err(|e| statements::seed_error(&name, e))?;
                rows += done.rows_affected();
            }
            return Ok(rows);
        };
        let pipe = local.pipe()?;
        let writer = pipe.feed(chunks);
        let path = pipe.path().to_string_lossy().into_owned();
        let sql = crate::sql::mysql_load_data(table, columns, &path, false, false);
        let loaded = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut self.observer)
            .await;
        // Whatever happened, the writer must not wait for a reader that will not come.
        pipe.release();
        let written = writer.await;
        let loaded = loaded.map_err(|e| statements::seed_error(&name, e))?;
        written?;
        Ok(loaded.rows_affected())
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
impl SqlCopy for MySql {
    async fn begin_snapshot(&mut self) -> Result<Option<String>> {
        copy::begin_snapshot(&mut self.observer)
            .await
            .map(|()| None)
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

    async fn schema_ddl(&mut self, _snapshot: Option<&str>) -> Result<(String, String)> {
        copy::schema_ddl(self.tool()?).await
    }

    async fn dump(&mut self, path: &std::path::Path) -> Result<()> {
        copy::dump(self.tool()?, path).await
    }
}
