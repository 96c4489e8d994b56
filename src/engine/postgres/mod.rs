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
mod rows;
mod sandbox;
mod sequences;
mod split;
mod statements;
mod trace;

pub use sandbox::{LocalServer, PgBinaries, find_binaries, template};
pub use split::split;

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::session::{Limits, RunnerSession, Settings};
use super::sql_common::{self, ThrowawaySql, UrlServer};
use super::{
    Applied, BoxFuture, Capabilities, CheckOutcome, Engine, EngineSpec, ReadQuery, RowStore,
    SqlCopy, StartOptions, Words,
};
use std::str::FromStr;

use crate::checks::{Check, CheckFormat};
use crate::data::{DataFingerprint, RowDiff, SequencePosition, Survival};
use crate::error::Context;
use crate::migrations::Script;
use crate::report::StatementTrace;
use crate::sandbox::{CONNECT_TIMEOUT, Instance, ThrowawayDatabase, within};
use crate::schema::{SchemaSnapshot, Table};
use crate::{Error, Result};

/// PostgreSQL runs a request of several statements as one implicit transaction, and refuses
/// the statements the splitter marks inside one.
pub const TRANSACTIONS: crate::migrations::ServerTransactions =
    crate::migrations::ServerTransactions {
        one_request_is_one: true,
        flagged_statements_commit: false,
    };

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
    transactions: TRANSACTIONS,
    start,
    clean,
};

fn start(options: &StartOptions) -> BoxFuture<'_, Result<Box<dyn Engine>>> {
    super::boxed_start(Postgres::start(options))
}

/// Settings of the observer session: how values print when they are compared.
const OBSERVER_SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
     SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; \
     SET client_min_messages = warning";

/// The local server, the throwaway database on `--url`, or the user's own database
/// (`seed --url`, `drift`: left as it is at the end).
type Server = Instance<LocalServer>;

/// Where the engine's sessions connect, before they do.
struct Target {
    server: Server,
    /// The first session (the migrator); for a local server also the readiness probe.
    first: PgConnection,
    connect: PgConnectOptions,
    /// A URL pg_dump and pg_restore can use, where there is one.
    tool_url: Option<String>,
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
    /// Tables the schema leaves out (the migration tool's tracking tables).
    hidden: Vec<String>,
    /// The runner's settings on the migrator and the clean state they leave.
    session: RunnerSession,
    /// `--statement-timeout`, `--lock-timeout`.
    limits: Limits,
}

impl Postgres {
    /// Starts a disposable server, creates a throwaway database on `options.url`, or (in place)
    /// works in the database of `options.url`.
    pub async fn start(options: &StartOptions) -> Result<Postgres> {
        if options.migration_role.is_some() && options.url.is_some() {
            return Err(Error::input(
                "--migration-role works on the disposable server; with --url, put the role in the URL",
            ));
        }
        let target = match &options.url {
            Some(url) if options.in_place => in_place(url).await?,
            Some(url) => throwaway(url).await?,
            None => local(options).await?,
        };
        let connect = target.connect.clone();
        let mut engine =
            Self::with_connections(target.server, target.first, target.connect).await?;
        if let Some(role) = options
            .migration_role
            .as_deref()
            .filter(|_| !options.read_only)
        {
            engine.migrator = migrate_as(&mut engine.observer, &connect, role).await?;
        }
        if options.in_place && options.read_only {
            for conn in [&mut engine.migrator, &mut engine.observer] {
                sqlx::raw_sql("SET default_transaction_read_only = on")
                    .execute(conn)
                    .await
                    .context(|| "cannot make the session read-only".into())?;
            }
        }
        engine.tool_url = target.tool_url;
        engine.bin_dir = options.bin_dir.clone();
        engine.hidden = options.hidden_tables.clone();
        if !options.read_only {
            let runner = runner_statements(options);
            engine.session = statements::open_session(&mut engine.migrator, &runner).await?;
        }
        engine.limits = Limits::of(options);
        Ok(engine)
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
            hidden: Vec::new(),
            session: RunnerSession::default(),
            limits: Limits::default(),
        })
    }

    /// The URL of the disposable server (for `--keep` and benchmarks).
    pub fn url(&self) -> Option<String> {
        self.server.local().map(LocalServer::url)
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

/// What the migration session runs first: the time limits, then the runner's settings.
fn runner_statements(options: &StartOptions) -> Vec<String> {
    let ms = |d: std::time::Duration| d.as_millis().max(1);
    let mut statements = Vec::new();
    if let Some(limit) = options.statement_timeout {
        statements.push(format!("SET statement_timeout = '{}ms'", ms(limit)));
    }
    if let Some(limit) = options.lock_timeout {
        statements.push(format!("SET lock_timeout = '{}ms'", ms(limit)));
    }
    statements.extend(options.session.iter().cloned());
    statements
}

/// `--migration-role`: creates `role` (a login with a random password, no superuser, no
/// CREATEDB or CREATEROLE), gives it the database and its `public` schema, and returns a
/// session as it, which becomes the migrator.
async fn migrate_as(
    admin: &mut PgConnection,
    connect: &PgConnectOptions,
    role: &str,
) -> Result<PgConnection> {
    use crate::sql::pg::{ident, literal};
    let password = crate::sandbox::password();
    let database = connect.get_database().unwrap_or("postgres");
    let sql = format!(
        "CREATE ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {p}; \
         ALTER DATABASE {d} OWNER TO {r}; ALTER SCHEMA public OWNER TO {r}",
        r = ident(role),
        p = literal(&password),
        d = ident(database),
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *admin)
        .await
        .map_err(|e| Error::input(format!("--migration-role {role}: {e}")))?;
    connect
        .clone()
        .username(role)
        .password(&password)
        .connect()
        .await
        .context(|| format!("cannot connect as --migration-role {role}"))
}

/// The user's own database (`seed --url`, `drift`).
async fn in_place(url: &str) -> Result<Target> {
    let connect = PgConnectOptions::from_str(url)
        .map_err(|e| Error::input(format!("invalid --url: {e}")))?
        .application_name("driftless");
    let shown = crate::sandbox::redact_url(url);
    let first = within(
        CONNECT_TIMEOUT,
        || format!("cannot connect to {shown}"),
        async {
            connect
                .connect()
                .await
                .map_err(|e| Error::infra(format!("cannot connect to {shown}: {e}")))
        },
    )
    .await?;
    Ok(Target {
        server: Instance::InPlace,
        first,
        connect,
        tool_url: Some(url.to_string()),
    })
}

/// How PostgreSQL makes and removes a throwaway database on a `--url` server (`WITH (FORCE)`
/// ends the sessions still connected to it).
static THROWAWAY: ThrowawaySql = ThrowawaySql {
    create: |name| format!("CREATE DATABASE {name}"),
    drop: |name| format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    privilege: "CREATEDB",
    list: "SELECT datname::text FROM pg_database WHERE datname LIKE 'driftless%'",
    busy: "SELECT DISTINCT datname::text FROM pg_stat_activity \
           WHERE datname LIKE 'driftless%' AND pid <> pg_backend_pid()",
};

/// Drops what killed runs left on the `--url` server (`driftless clean`).
fn clean(url: &str) -> BoxFuture<'_, Result<Vec<String>>> {
    Box::pin(async move {
        let admin = PgConnectOptions::from_str(url)
            .map_err(|e| Error::input(format!("invalid --url: {e}")))?
            .application_name("driftless");
        crate::sandbox::sweep(&UrlServer::new(admin, url, &THROWAWAY)).await
    })
}

/// A throwaway database on the `--url` server.
async fn throwaway(url: &str) -> Result<Target> {
    let admin = PgConnectOptions::from_str(url)
        .map_err(|e| Error::input(format!("invalid --url: {e}")))?
        .application_name("driftless");
    let server = UrlServer::new(admin, url, &THROWAWAY);
    let db = ThrowawayDatabase::create(server.clone()).await?;
    let connect = server.admin().clone().database(db.name());
    let first = connect
        .connect()
        .await
        .context(|| "cannot connect to the throwaway database".into())?;
    Ok(Target {
        server: Instance::Throwaway(db),
        first,
        connect,
        tool_url: None,
    })
}

/// A disposable server of the version `options` asks for.
async fn local(options: &StartOptions) -> Result<Target> {
    let bins = sandbox::binaries_for(options).await?;
    let local = LocalServer::start(&bins, options.keep)?;
    // The first connection doubles as the readiness probe.
    let first = local.connect().await?;
    Ok(Target {
        connect: local.connect_options(),
        tool_url: Some(local.socket_url()),
        server: Instance::Local(local),
        first,
    })
}

#[async_trait]
impl Engine for Postgres {
    fn spec(&self) -> &'static EngineSpec {
        &SPEC
    }

    fn server_version(&self) -> &str {
        &self.version
    }

    fn rows(&mut self) -> Option<&mut dyn RowStore> {
        Some(self)
    }

    fn copier(&mut self) -> Option<&mut dyn SqlCopy> {
        Some(self)
    }

    async fn apply(&mut self, script: &Script) -> Result<Applied> {
        let applied = sql_common::apply(&mut self.migrator, script).await?;
        Ok(self.limits.name_the_limit(applied))
    }

    async fn session_settings(&mut self) -> Result<Settings> {
        let now = statements::settings(&mut self.migrator).await?;
        Ok(self.session.changed(&now))
    }

    async fn reset_session(&mut self, carried: &Settings) -> Result<()> {
        statements::reset(&mut self.migrator, &self.session, carried).await
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
        introspect::snapshot(&mut self.observer, &self.hidden).await
    }

    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        self.fingerprints
            .fingerprint(&mut self.observer, schema, capture)
            .await
    }

    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>> {
        self.fingerprints
            .row_diff(&mut self.observer, before, now)
            .await
    }

    async fn captured_rows(&mut self, before: &Table) -> Result<Vec<crate::data::MissingRow>> {
        self.fingerprints
            .captured_rows(&mut self.observer, before)
            .await
    }

    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival> {
        self.fingerprints
            .survival(&mut self.observer, before, now, column)
            .await
    }

    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome> {
        statements::run_check(&mut self.observer, check, self.limits.statement).await
    }

    async fn sequences(&mut self, schema: &SchemaSnapshot) -> Result<Vec<SequencePosition>> {
        sequences::positions(&mut self.observer, schema).await
    }

    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>> {
        let this = *self;
        sql_common::teardown([this.migrator, this.observer], this.server, keep).await
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
