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
mod rows;
mod sandbox;
mod sequences;
mod split;
mod statements;

pub use sandbox::{LocalServer, MySqlBinaries, find_binaries, short_version};
pub use split::split;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};

use std::str::FromStr;

use super::session::{Limits, RunnerSession, Settings};
use super::sql_common::{self, ThrowawaySql, UrlServer};
use super::{
    Applied, BoxFuture, Capabilities, CheckOutcome, Engine, EngineSpec, ReadQuery, RowStore,
    SqlCopy, StartOptions, Words,
};
use crate::checks::{Check, CheckFormat};
use crate::data::{DataFingerprint, RowDiff, SequencePosition, Survival};
use crate::error::Context;
use crate::migrations::Script;
use crate::report::StatementTrace;
use crate::sandbox::{CONNECT_TIMEOUT, Instance, ThrowawayDatabase, within};
use crate::schema::{SchemaSnapshot, Table};
use crate::{Error, Result};

/// MySQL commits each statement of a multi-statement request, and its DDL (marked by the
/// splitter) commits implicitly.
pub const TRANSACTIONS: crate::migrations::ServerTransactions =
    crate::migrations::ServerTransactions {
        one_request_is_one: false,
        flagged_statements_commit: true,
    };

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
    transactions: TRANSACTIONS,
    start,
    clean,
};

fn start(options: &StartOptions) -> BoxFuture<'_, Result<Box<dyn Engine>>> {
    super::boxed_start(MySql::start(options))
}

/// The local server, the throwaway database on `--url`, or the user's own database
/// (`seed --url`, `drift`: left as it is at the end).
type Server = Instance<LocalServer>;

/// Where the engine's sessions connect, before they do.
struct Target {
    server: Server,
    connect: MySqlConnectOptions,
    /// How mariadb-dump reaches the database, where it can.
    tool: Option<copy::ToolConnection>,
}

/// A MySQL / MariaDB session pair on a database driftless created.
pub struct MySql {
    // Field order is drop order: connections close before the server goes away.
    migrator: MySqlConnection,
    observer: MySqlConnection,
    /// More sessions like the observer's, opened on the first fingerprint scan that can use
    /// them (see `fingerprint::scan`).
    scanners: Vec<MySqlConnection>,
    /// How the observer connected, and how many connections a fingerprint scan may use.
    scanning: Scanning,
    server: Server,
    version: String,
    sql_mode: String,
    captured: HashMap<String, fingerprint::Captured>,
    /// How mariadb-dump reaches this database, where it can.
    tool: Option<copy::ToolConnection>,
    /// Tables the schema leaves out (the migration tool's tracking tables).
    hidden: Vec<String>,
    /// The runner's settings on the migrator and the clean state they leave.
    session: RunnerSession,
    /// `--statement-timeout`, `--lock-timeout`.
    limits: Limits,
}

/// Connection options as a migration tool would use them: no `PIPES_AS_CONCAT`, no forced
/// time zone; the server's defaults stay.
fn plain(options: MySqlConnectOptions) -> MySqlConnectOptions {
    options
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
}

/// How more observer sessions are opened for fingerprint scans.
struct Scanning {
    connect: MySqlConnectOptions,
    read_only: bool,
    /// Connections a scan may use, the observer's included.
    connections: usize,
}

impl MySql {
    /// A fingerprint with the hashing this server's version allows; `(capture, counts)`.
    async fn fingerprint_with(
        &mut self,
        schema: &SchemaSnapshot,
        mode: (bool, bool),
    ) -> Result<DataFingerprint> {
        let hashing = fingerprint::Hashing::of(&self.version);
        if !mode.0 {
            self.open_scanners().await;
        }
        let wanted = self.scanning.connections.saturating_sub(1);
        let opened = self.scanners.len();
        let scanners = &mut self.scanners[..wanted.min(opened)];
        fingerprint::fingerprint(
            &mut self.observer,
            scanners,
            schema,
            &mut self.captured,
            mode,
            hashing,
        )
        .await
    }

    /// Starts a disposable server, creates a throwaway database on `options.url`, or (in place)
    /// works in the database of `options.url`.
    pub async fn start(options: &StartOptions) -> Result<MySql> {
        if options.version.is_some() {
            return Err(Error::input(
                "--pg-version picks a PostgreSQL version; it does not apply to this engine",
            ));
        }
        if options.migration_role.is_some() && options.url.is_some() {
            return Err(Error::input(
                "--migration-role works on the disposable server; with --url, put the user in the URL",
            ));
        }
        let target = match &options.url {
            Some(url) if options.in_place => in_place(url)?,
            Some(url) => throwaway(url).await?,
            None => local(options).await?,
        };
        let migrate = match options
            .migration_role
            .as_deref()
            .filter(|_| !options.read_only)
        {
            Some(role) => migrate_as(&target.connect, role).await?,
            None => target.connect.clone(),
        };
        let mut migrator = open_migrator(&migrate, options.sql_mode.as_deref()).await?;
        let mut observer = open_observer(target.connect.clone()).await?;
        let (version, sql_mode): (String, String) =
            sqlx::query_as("SELECT CAST(VERSION() AS CHAR), CAST(@@SESSION.sql_mode AS CHAR)")
                .fetch_one(&mut migrator)
                .await
                .context(|| "cannot read the server version".into())?;
        let read_only_sessions = options.read_only && options.in_place;
        if read_only_sessions {
            for conn in [&mut migrator, &mut observer] {
                read_only(conn).await?;
            }
        }
        let session = if options.read_only {
            RunnerSession::default()
        } else {
            let runner = runner_statements(options, version.contains("MariaDB"));
            statements::open_session(&mut migrator, &runner).await?
        };
        Ok(MySql {
            session,
            limits: Limits::of(options),
            migrator,
            observer,
            scanners: Vec::new(),
            scanning: Scanning {
                connect: target.connect,
                read_only: read_only_sessions,
                // One query runs on one server thread: a scan can keep as many cores busy as
                // it has connections.
                connections: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            },
            server: target.server,
            version: short_version(&version),
            sql_mode,
            captured: HashMap::new(),
            tool: target.tool,
            hidden: options.hidden_tables.clone(),
        })
    }

    /// Opens the scan sessions still missing. A server that refuses more connections (its
    /// `max_connections` reached) leaves the scan with fewer: slower, never wrong.
    async fn open_scanners(&mut self) {
        while self.scanners.len() + 1 < self.scanning.connections {
            let opened = match open_observer(self.scanning.connect.clone()).await {
                Ok(mut conn) if self.scanning.read_only => read_only(&mut conn).await.map(|_| conn),
                other => other,
            };
            match opened {
                Ok(conn) => self.scanners.push(conn),
                Err(e) => {
                    crate::debug!(
                        "fingerprint scans stay on {} connections: {e}",
                        self.scanners.len() + 1
                    );
                    self.scanning.connections = self.scanners.len() + 1;
                }
            }
        }
    }

    /// How many connections a fingerprint scan may use (the observer's included; at least 1).
    /// Benchmarks compare one with several.
    pub fn set_scan_connections(&mut self, connections: usize) {
        self.scanning.connections = connections.max(1);
    }

    /// The URL of the disposable server (for `--keep` and benchmarks).
    pub fn url(&self) -> Option<String> {
        self.server.local().map(LocalServer::url)
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

/// What the migration session runs first: the time limits (MariaDB's `max_statement_time`
/// holds for every statement; MySQL's `max_execution_time` only for `SELECT`s), then the
/// runner's settings.
fn runner_statements(options: &StartOptions, mariadb: bool) -> Vec<String> {
    let mut statements = Vec::new();
    if let Some(limit) = options.statement_timeout {
        statements.push(if mariadb {
            format!(
                "SET SESSION max_statement_time = {:.3}",
                limit.as_secs_f64()
            )
        } else {
            format!(
                "SET SESSION max_execution_time = {}",
                limit.as_millis().max(1)
            )
        });
    }
    if let Some(limit) = options.lock_timeout {
        let seconds = limit.as_secs().max(1);
        statements.push(format!("SET SESSION lock_wait_timeout = {seconds}"));
        statements.push(format!("SET SESSION innodb_lock_wait_timeout = {seconds}"));
    }
    statements.extend(options.session.iter().cloned());
    statements
}

/// `--migration-role`: creates the user `role` with a random password and every privilege on
/// the database but none on the server (no FILE, no SUPER), and returns how to connect as it.
async fn migrate_as(admin: &MySqlConnectOptions, role: &str) -> Result<MySqlConnectOptions> {
    use crate::sql::mysql::{ident, literal};
    let password = crate::sandbox::password();
    let database = admin.get_database().unwrap_or_default().to_string();
    let user = format!("{}@'%'", literal(role));
    let sql = format!(
        "CREATE USER {user} IDENTIFIED BY {p}; GRANT ALL PRIVILEGES ON {d}.* TO {user}",
        p = literal(&password),
        d = ident(&database),
    );
    let mut conn = admin
        .connect()
        .await
        .context(|| "cannot connect to create --migration-role".into())?;
    let created = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await;
    let _ = sqlx::Connection::close(conn).await;
    created.map_err(|e| Error::input(format!("--migration-role {role}: {e}")))?;
    Ok(admin.clone().username(role).password(&password))
}

/// The user's own database (`seed --url`, `drift`).
fn in_place(url: &str) -> Result<Target> {
    let connect = MySqlConnectOptions::from_str(url)
        .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
    Ok(Target {
        server: Instance::InPlace,
        connect,
        tool: copy::ToolConnection::from_url(url).ok(),
    })
}

/// How MySQL makes and removes a throwaway database on a `--url` server.
static THROWAWAY: ThrowawaySql = ThrowawaySql {
    create: |name| format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
    drop: |name| format!("DROP DATABASE IF EXISTS `{name}`"),
    privilege: "CREATE and DROP",
    list: "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA \
           WHERE SCHEMA_NAME LIKE 'driftless%'",
    busy: "SELECT DISTINCT CAST(DB AS CHAR) FROM information_schema.PROCESSLIST \
           WHERE DB LIKE 'driftless%' AND ID <> CONNECTION_ID()",
};

/// Drops what killed runs left on the `--url` server (`driftless clean`).
fn clean(url: &str) -> BoxFuture<'_, Result<Vec<String>>> {
    Box::pin(async move {
        let admin = MySqlConnectOptions::from_str(url)
            .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
        crate::sandbox::sweep(&UrlServer::new(admin, url, &THROWAWAY)).await
    })
}

/// A throwaway database on the `--url` server.
async fn throwaway(url: &str) -> Result<Target> {
    let admin = MySqlConnectOptions::from_str(url)
        .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
    let server = UrlServer::new(admin, url, &THROWAWAY);
    let db = ThrowawayDatabase::create(server.clone()).await?;
    Ok(Target {
        connect: server.admin().clone().database(db.name()),
        server: Instance::Throwaway(db),
        tool: None,
    })
}

/// A disposable server; with `trace_locks` it records metadata locks (`dry-run`).
async fn local(options: &StartOptions) -> Result<Target> {
    let bins = find_binaries(options.bin_dir.as_deref())?;
    let local = LocalServer::start_with(&bins, options.keep, options.trace_locks)?;
    // The first connection doubles as the readiness probe and creates the database.
    drop(local.connect().await?);
    Ok(Target {
        connect: local.connect_options().database(sandbox::DATABASE),
        tool: Some(local.tool_connection()),
        server: Instance::Local(local),
    })
}

/// The session that applies migrations, in the `sql_mode` a migration tool would have.
async fn open_migrator(
    connect: &MySqlConnectOptions,
    sql_mode: Option<&str>,
) -> Result<MySqlConnection> {
    let opening = async {
        plain(connect.clone())
            .connect()
            .await
            .context(|| "cannot open the migration connection".into())
    };
    let what = || "cannot open the migration connection".to_string();
    let mut migrator = within(CONNECT_TIMEOUT, what, opening).await?;
    // sqlx announces CLIENT_IGNORE_SPACE, which adds IGNORE_SPACE to the session (and makes
    // built-in function names reserved words); migration tools do not, so start from the
    // server's own sql_mode, or the one driftless.toml asks for.
    let mode = match sql_mode {
        Some(mode) => crate::sql::literal(mode),
        None => "@@GLOBAL.sql_mode".to_string(),
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET SESSION sql_mode = {mode}"
    )))
    .execute(&mut migrator)
    .await
    .map_err(|e| Error::input(format!("invalid sql_mode {mode} in driftless.toml: {e}")))?;
    Ok(migrator)
}

async fn read_only(conn: &mut MySqlConnection) -> Result<()> {
    sqlx::raw_sql("SET SESSION TRANSACTION READ ONLY")
        .execute(&mut *conn)
        .await
        .context(|| "cannot make the session read-only".into())?;
    Ok(())
}

/// The session that introspects, fingerprints, seeds and runs checks, in UTC.
async fn open_observer(connect: MySqlConnectOptions) -> Result<MySqlConnection> {
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
    Ok(observer)
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

    fn rows(&mut self) -> Option<&mut dyn RowStore> {
        Some(self)
    }

    fn copier(&mut self) -> Option<&mut dyn SqlCopy> {
        Some(self)
    }

    /// As the tool's runner runs it (`sql_common::apply`); DDL commits implicitly in MySQL,
    /// so a script with DDL is never atomic, even in the runner's transaction, and a failure
    /// leaves the statements before it applied (the roundtrip then shows what was left
    /// behind).
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
        copy::apply_traced(&mut self.migrator, &mut self.observer, script).await
    }

    async fn restore(&mut self, path: &std::path::Path) -> Result<()> {
        copy::restore(self.tool()?, path).await
    }

    async fn query_rows(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        copy::query_rows(&mut self.observer, sql).await.map(Some)
    }

    async fn schema(&mut self) -> Result<SchemaSnapshot> {
        introspect::snapshot(&mut self.observer, &self.hidden).await
    }

    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        self.fingerprint_with(schema, (capture, false)).await
    }

    async fn fingerprint_before(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        self.fingerprint_with(schema, (capture, true)).await
    }

    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>> {
        fingerprint::row_diff(&mut self.observer, &self.captured, before, now).await
    }

    async fn captured_rows(&mut self, before: &Table) -> Result<Vec<crate::data::MissingRow>> {
        fingerprint::captured_rows(&mut self.observer, &self.captured, before).await
    }

    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival> {
        fingerprint::survival(&mut self.observer, &self.captured, before, now, column).await
    }

    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome> {
        statements::run_check(&mut self.observer, check, self.limits.statement).await
    }

    async fn sequences(&mut self, schema: &SchemaSnapshot) -> Result<Vec<SequencePosition>> {
        sequences::positions(&mut self.observer, schema).await
    }

    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>> {
        let this = *self;
        let sessions = [this.migrator, this.observer]
            .into_iter()
            .chain(this.scanners);
        sql_common::teardown(sessions, this.server, keep).await
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
