//! Reading a database driftless must not change (the source of `mask`): a consistent
//! read-only snapshot, rows streamed as text, the schema through `mariadb-dump --no-data`,
//! and a SQL dump of a finished copy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};

use crate::engine::sql_common::{LockWatch, failure, lost_connection, watched};
use crate::engine::{Applied, ReadQuery, StatementTrace};
use crate::error::Context;
use crate::migrations::{Script, Statement};
use crate::report::TableLock;
use crate::sandbox::{find_program, run_tool};
use crate::schema::{ColumnKind, Table};
use crate::sql::mysql::ident;
use crate::{Error, Result};

const BATCH: usize = 4096;

/// How mariadb-dump reaches the database.
#[derive(Debug, Clone)]
pub struct ToolConnection {
    pub host: String,
    /// The server's unix socket; TCP to `host` and `port` without one.
    pub socket: Option<PathBuf>,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

impl ToolConnection {
    /// From a `mysql://user:pass@host:port/db` URL.
    pub fn from_url(url: &str) -> Result<ToolConnection> {
        let options = MySqlConnectOptions::from_str(url)
            .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
        let password = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .map(|(_, p)| percent_decode(p));
        Ok(ToolConnection {
            host: options.get_host().to_string(),
            socket: options.get_socket().cloned(),
            port: options.get_port(),
            user: options.get_username().to_string(),
            password,
            database: options
                .get_database()
                .ok_or_else(|| Error::input("the MySQL URL names no database"))?
                .to_string(),
        })
    }

    fn command(&self, tool: &Path) -> Command {
        let mut command = crate::sandbox::command(tool);
        command.arg("--no-defaults");
        match &self.socket {
            Some(socket) => command
                .arg("--protocol=SOCKET")
                .arg(format!("--socket={}", socket.display())),
            None => command.args([
                "--protocol=TCP",
                "-h",
                &self.host,
                "-P",
                &self.port.to_string(),
            ]),
        };
        command.args(["-u", &self.user]);
        // The password goes through the environment, never the command line.
        if let Some(password) = &self.password {
            command.env("MYSQL_PWD", password);
        }
        command
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mariadb-dump` (or `mysqldump`) on PATH or in /usr/bin.
pub fn dump_tool() -> Result<PathBuf> {
    find_program(&["mariadb-dump", "mysqldump"], &["/usr/bin"]).ok_or_else(|| {
        Error::infra("mariadb-dump / mysqldump not found (Debian: the mariadb-client package)")
    })
}

pub async fn begin_snapshot(conn: &mut MySqlConnection) -> Result<()> {
    sqlx::raw_sql(
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;
         START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    )
    .execute(&mut *conn)
    .await
    .context(|| "cannot start a read-only snapshot".into())?;
    Ok(())
}

/// Rows as text: binary values as `\x` + hex, bits as binary digits (what seeding's MySQL
/// encoders expect back).
pub async fn read_rows(
    conn: &mut MySqlConnection,
    table: &Table,
    columns: &[String],
    query: &ReadQuery,
    rows: tokio::sync::mpsc::Sender<Vec<Vec<Option<String>>>>,
) -> Result<u64> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| {
            let name = ident(c);
            match table.column(c).map(|c| &c.kind) {
                Some(ColumnKind::Bytes { .. }) => format!("CONCAT('\\\\x', HEX({name}))"),
                Some(ColumnKind::Bit { .. }) => format!("BIN({name})"),
                _ => format!("CAST({name} AS CHAR)"),
            }
        })
        .collect();
    let mut sql = format!("SELECT {} FROM {}", list.join(", "), ident(&table.name));
    if let Some(filter) = &query.filter {
        sql.push_str(&format!(" WHERE {filter}"));
    }
    if !query.order.is_empty() {
        let order: Vec<String> = query.order.iter().map(|c| ident(c)).collect();
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let what = || format!("cannot read {}", table.qualified());
    let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut batch = Vec::with_capacity(BATCH);
    let mut count = 0u64;
    let mut open = true;
    while let Some(row) = stream.try_next().await.context(what)? {
        if !open {
            continue;
        }
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(row.try_get::<Option<String>, _>(i).context(what)?);
        }
        batch.push(values);
        if batch.len() == BATCH {
            count += batch.len() as u64;
            if rows.send(std::mem::take(&mut batch)).await.is_err() {
                open = false;
            }
        }
    }
    if open && !batch.is_empty() {
        count += batch.len() as u64;
        let _ = rows.send(batch).await;
    }
    Ok(count)
}

/// `mariadb-dump --no-data`: tables and views before the rows (with foreign key checks off
/// for the load), triggers and routines after.
pub async fn schema_ddl(connection: &ToolConnection) -> Result<(String, String)> {
    let tool = dump_tool()?;
    let mut pre = connection.command(&tool);
    pre.args([
        "--no-data",
        "--skip-triggers",
        "--skip-comments",
        "--skip-add-drop-table",
        "--single-transaction",
        "--skip-set-charset",
        &connection.database,
    ]);
    let mut post = connection.command(&tool);
    post.args([
        "--no-data",
        "--no-create-info",
        "--no-create-db",
        "--triggers",
        "--routines",
        "--skip-comments",
        "--single-transaction",
        &connection.database,
    ]);
    let pre = String::from_utf8_lossy(&run_tool(pre, "mariadb-dump").await?).into_owned();
    let post = String::from_utf8_lossy(&run_tool(post, "mariadb-dump").await?).into_owned();
    Ok((
        format!("{pre}\nSET FOREIGN_KEY_CHECKS = 0;\n"),
        format!("SET FOREIGN_KEY_CHECKS = 1;\n{post}"),
    ))
}

/// A SQL dump of the whole database.
pub async fn dump(connection: &ToolConnection, path: &Path) -> Result<()> {
    let tool = dump_tool()?;
    let mut command = connection.command(&tool);
    command.args([
        "--single-transaction",
        "--routines",
        "--triggers",
        "--hex-blob",
        &format!("--result-file={}", path.display()),
        &connection.database,
    ]);
    run_tool(command, "mariadb-dump").await.map(|_| ())
}

/// Metadata-lock types from weakest to strongest (performance_schema's names).
const MDL_ORDER: &[&str] = &[
    "INTENTION_EXCLUSIVE",
    "SHARED",
    "SHARED_HIGH_PRIO",
    "SHARED_READ",
    "SHARED_WRITE",
    "SHARED_UPGRADABLE",
    "SHARED_READ_ONLY",
    "SHARED_NO_WRITE",
    "SHARED_NO_READ_WRITE",
    "EXCLUSIVE",
];

fn mdl_rank(kind: &str) -> usize {
    MDL_ORDER.iter().position(|k| *k == kind).unwrap_or(0)
}

/// What holding a metadata lock of `kind` blocks for other sessions.
fn mdl_blocks(kind: &str) -> Option<&'static str> {
    match kind {
        "EXCLUSIVE" | "SHARED_NO_READ_WRITE" => Some("reads and writes"),
        "SHARED_NO_WRITE" | "SHARED_READ_ONLY" => Some("writes"),
        _ => None,
    }
}

/// The performance_schema thread of this session, when metadata locks are instrumented.
async fn mdl_thread(conn: &mut MySqlConnection) -> Option<u64> {
    let instrumented: Option<String> = sqlx::query_scalar(
        "SELECT CAST(ENABLED AS CHAR) FROM performance_schema.setup_instruments \
         WHERE NAME = 'wait/lock/metadata/sql/mdl'",
    )
    .fetch_optional(&mut *conn)
    .await
    .ok()
    .flatten();
    if instrumented.as_deref() != Some("YES") {
        return None;
    }
    sqlx::query_scalar(
        "SELECT CAST(THREAD_ID AS UNSIGNED) FROM performance_schema.threads \
         WHERE PROCESSLIST_ID = CONNECTION_ID()",
    )
    .fetch_optional(conn)
    .await
    .ok()
    .flatten()
}

/// Table metadata locks `thread` holds now: `schema.table` → lock type.
async fn mdl_held(watcher: &mut MySqlConnection, thread: u64) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT CAST(CONCAT(OBJECT_SCHEMA, '.', OBJECT_NAME) AS CHAR), CAST(LOCK_TYPE AS CHAR) \
         FROM performance_schema.metadata_locks \
         WHERE OWNER_THREAD_ID = ? AND OBJECT_TYPE = 'TABLE' AND LOCK_STATUS = 'GRANTED'",
    )
    .bind(thread)
    .fetch_all(watcher)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|(table, kind)| (table, kind.to_ascii_uppercase().replace(' ', "_")))
    .collect()
}

/// The metadata locks the migrating session takes, as performance_schema shows them to
/// another session: the strongest type seen per table while a statement runs, beyond what the
/// session already held when it started (an open transaction keeps an earlier statement's).
struct MetadataLocks<'a> {
    watcher: &'a mut MySqlConnection,
    thread: u64,
    before: BTreeMap<String, String>,
    seen: BTreeMap<String, String>,
}

#[async_trait]
impl LockWatch for MetadataLocks<'_> {
    async fn look(&mut self) -> Result<()> {
        for (table, kind) in mdl_held(self.watcher, self.thread).await {
            let beyond =
                |other: Option<&String>| other.is_none_or(|k| mdl_rank(&kind) > mdl_rank(k));
            if beyond(self.before.get(&table)) && beyond(self.seen.get(&table)) {
                self.seen.insert(table, kind);
            }
        }
        Ok(())
    }
}

impl MetadataLocks<'_> {
    async fn start<'a>(watcher: &'a mut MySqlConnection, thread: u64) -> MetadataLocks<'a> {
        let before = mdl_held(watcher, thread).await.into_iter().collect();
        MetadataLocks {
            watcher,
            thread,
            before,
            seen: BTreeMap::new(),
        }
    }

    /// Every metadata lock seen on a user table, the strongest first: table and lock type.
    fn taken(self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .seen
            .into_iter()
            .filter(|(table, _)| {
                !table.starts_with("performance_schema.") && !table.starts_with("mysql.")
            })
            .collect();
        all.sort_by(|a, b| mdl_rank(&b.1).cmp(&mdl_rank(&a.1)).then(a.0.cmp(&b.0)));
        all
    }
}

/// How often the watching session looks at metadata locks.
const MDL_POLL: Duration = Duration::from_millis(20);

/// Applies `script` statement by statement, tracing each: time, rows, the InnoDB tables
/// rebuilt (a new table id: `ALGORITHM=COPY`, or an `INPLACE` rebuild), the algorithm an
/// `ALTER TABLE` ran with, and — where performance_schema instruments them (the disposable
/// server of `dry-run`) — the strongest metadata lock the session held, watched from `watcher`.
pub async fn apply_traced(
    conn: &mut MySqlConnection,
    watcher: &mut MySqlConnection,
    script: &Script,
) -> Result<(Applied, Vec<StatementTrace>)> {
    let started = Instant::now();
    let thread = mdl_thread(conn).await;
    let context = lost_connection(script);
    let mut traces = Vec::new();
    for statement in &script.statements {
        crate::activity::statement(&script.path, statement.line, &statement.sql);
        let watch = match thread {
            Some(thread) => Some(MetadataLocks::start(&mut *watcher, thread).await),
            None => None,
        };
        let (trace, error) = trace_statement(conn, watch, statement).await?;
        if let Some(e) = error {
            let ms = started.elapsed().as_millis() as u64;
            let failed = failure::<MySqlConnection>(e, statement, &context, ms)?;
            traces.push(trace);
            return Ok((failed, traces));
        }
        traces.push(trace);
    }
    let ms = started.elapsed().as_millis() as u64;
    Ok((Applied::Done { ms }, traces))
}

/// Runs one statement (an `ALTER` with the least disruptive algorithm the server accepts)
/// while `watch` looks at its metadata locks. Returns its trace, and the error it failed
/// with (the trace then only says how long it ran).
async fn trace_statement(
    conn: &mut MySqlConnection,
    mut watch: Option<MetadataLocks<'_>>,
    statement: &Statement,
) -> Result<(StatementTrace, Option<sqlx::Error>)> {
    let before = table_ids(conn).await;
    let t0 = Instant::now();
    let looking = watch.as_mut().map(|w| w as &mut dyn LockWatch);
    let running = execute_alter_aware(&mut *conn, &statement.sql);
    let (result, algorithm) = watched(running, MDL_POLL, looking).await?;
    let ms = t0.elapsed().as_millis() as u64;
    if result.is_ok()
        && let Some(w) = watch.as_mut()
    {
        // What an open transaction or LOCK TABLES still holds is this statement's, even when
        // it finished before the first look.
        w.look().await?;
    }
    let metadata_locks = watch.map(MetadataLocks::taken).unwrap_or_default();
    let metadata_lock = metadata_locks.first().cloned();
    let mut trace = StatementTrace {
        line: statement.line,
        sql: StatementTrace::full(&statement.sql),
        ms,
        ..StatementTrace::default()
    };
    let done = match result {
        Ok(done) => done,
        Err(e) => return Ok((trace, Some(e))),
    };
    let after = table_ids(conn).await;
    let mut rewrote: Vec<String> = after
        .iter()
        .filter(|(name, id)| before.get(*name).is_some_and(|b| b != *id))
        .map(|(name, _)| name.replace('/', "."))
        .collect();
    rewrote.sort();
    let (lock, blocks) = algorithm_lock(algorithm, !rewrote.is_empty());
    let lock_on = lock.as_ref().and_then(|_| {
        rewrote
            .first()
            .cloned()
            .or_else(|| altered_table(&statement.sql))
            .or_else(|| indexed_table(&statement.sql))
    });
    let by_algorithm = lock
        .clone()
        .zip(lock_on.clone())
        .map(|(lock, on)| TableLock {
            relation: on,
            index_of: None,
            lock,
            blocks: blocks.clone(),
        });
    let (lock, lock_on, blocks) = with_metadata_lock(metadata_lock, (lock, lock_on, blocks));
    trace.locks = locks_taken(by_algorithm, &metadata_locks);
    trace.rows = Some(done.rows_affected());
    trace.lock = lock;
    trace.lock_on = lock_on;
    trace.blocks = blocks;
    trace.held_ms = ms;
    trace.rewrote = rewrote;
    Ok((trace, None))
}

/// What the ALTER's algorithm (or a rebuild without one) lets other sessions do while it
/// runs: the lock's description and what it blocks.
fn algorithm_lock(algorithm: Option<Algorithm>, rebuilt: bool) -> (Option<String>, Option<String>) {
    let writes = || Some("writes".to_string());
    match algorithm {
        Some(Algorithm::Instant) => (Some("ALGORITHM=INSTANT".to_string()), None),
        Some(Algorithm::InplaceNoLock) => (Some("ALGORITHM=INPLACE, LOCK=NONE".to_string()), None),
        Some(Algorithm::InplaceShared) => {
            (Some("ALGORITHM=INPLACE, LOCK=SHARED".to_string()), writes())
        }
        Some(Algorithm::Copy) => (Some("ALGORITHM=COPY".to_string()), writes()),
        None if rebuilt => (Some("table rebuild".to_string()), writes()),
        None => (None, None),
    }
}

/// A trace's lock, table and what it blocks.
type LockSummary = (Option<String>, Option<String>, Option<String>);

/// The metadata lock seen while the statement ran adds to what its algorithm says: the
/// stronger of the two blocks, and its table when the algorithm named none.
fn with_metadata_lock(seen: Option<(String, String)>, algorithm: LockSummary) -> LockSummary {
    let (lock, lock_on, blocks) = algorithm;
    let Some((table, kind)) = seen else {
        return (lock, lock_on, blocks);
    };
    let stronger = match (blocks.as_deref(), mdl_blocks(&kind)) {
        (_, Some("reads and writes")) => Some("reads and writes".to_string()),
        (None, Some(b)) => Some(b.to_string()),
        (b, _) => b.map(str::to_string),
    };
    let text = match lock {
        Some(algorithm) => format!("{algorithm}; metadata lock {kind}"),
        None => format!("metadata lock {kind}"),
    };
    (Some(text), lock_on.or(Some(table)), stronger)
}

/// Every table a statement locked: the algorithm's table (the metadata lock on it added),
/// then each other table's metadata lock, the most blocking first.
fn locks_taken(algorithm: Option<TableLock>, metadata: &[(String, String)]) -> Vec<TableLock> {
    let plain = |t: &str| t.rsplit('.').next().unwrap_or(t).to_string();
    let mut locks: Vec<TableLock> = Vec::new();
    if let Some(mut first) = algorithm {
        if let Some((table, kind)) = metadata
            .iter()
            .find(|(t, _)| plain(t) == plain(&first.relation))
        {
            let (lock, on, blocks) = with_metadata_lock(
                Some((table.clone(), kind.clone())),
                (Some(first.lock.clone()), None, first.blocks.clone()),
            );
            first.lock = lock.unwrap_or_default();
            first.relation = on.unwrap_or(first.relation);
            first.blocks = blocks;
        }
        locks.push(first);
    }
    for (table, kind) in metadata {
        if locks.iter().any(|l| plain(&l.relation) == plain(table)) {
            continue;
        }
        locks.push(TableLock {
            relation: table.clone(),
            index_of: None,
            lock: format!("metadata lock {kind}"),
            blocks: mdl_blocks(kind).map(str::to_string),
        });
    }
    let weight = |b: &Option<String>| match b.as_deref() {
        Some("reads and writes") => 2,
        Some(_) => 1,
        None => 0,
    };
    locks.sort_by_key(|l| std::cmp::Reverse(weight(&l.blocks)));
    locks
}

/// How an `ALTER TABLE` ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Instant,
    InplaceNoLock,
    InplaceShared,
    Copy,
}

/// The table an `ALTER TABLE` names.
fn altered_table(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper: Vec<String> = words
        .iter()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    if upper.first().map(String::as_str) != Some("ALTER") {
        return None;
    }
    let at = upper.iter().position(|w| w == "TABLE")? + 1;
    let at = if upper.get(at).map(String::as_str) == Some("ONLINE") {
        at + 1
    } else {
        at
    };
    words
        .get(at)
        .map(|w| w.trim_matches('`').trim_end_matches(';').to_string())
}

/// The table a `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX … ON t` or `DROP INDEX … ON t` names.
fn indexed_table(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let first = upper.first()?.as_str();
    let index_at = upper.iter().position(|w| w == "INDEX")?;
    let create = first == "CREATE"
        && upper[1..index_at].iter().all(|w| {
            matches!(
                w.as_str(),
                "UNIQUE" | "FULLTEXT" | "SPATIAL" | "OR" | "REPLACE"
            )
        });
    let drop = first == "DROP" && index_at == 1;
    if !create && !drop {
        return None;
    }
    let on = upper.iter().position(|w| w == "ON")?;
    words.get(on + 1).map(|w| {
        let w = w.split('(').next().unwrap_or(w);
        w.trim_matches('`').trim_end_matches(';').to_string()
    })
}

/// Runs a statement; an `ALTER TABLE` without an explicit algorithm is run with the least
/// disruptive one the server accepts (what it would pick by itself): `INSTANT`, then `INPLACE`
/// without and with a shared lock, then as written (`COPY`). The server refuses an algorithm
/// before doing any work (errors 1845/1846), so each try costs nothing, and the algorithm
/// that ran says what other sessions could do meanwhile.
async fn execute_alter_aware(
    conn: &mut MySqlConnection,
    sql: &str,
) -> (
    std::result::Result<sqlx::mysql::MySqlQueryResult, sqlx::Error>,
    Option<Algorithm>,
) {
    let trimmed = sql.trim().trim_end_matches(';').trim_end();
    let upper = trimmed.to_ascii_uppercase();
    // ALTER TABLE takes the clauses as list items; CREATE / DROP INDEX after a space.
    let separator = if altered_table(trimmed).is_some() {
        ", "
    } else if indexed_table(trimmed).is_some() {
        " "
    } else {
        return (run(conn, sql.to_string()).await, None);
    };
    if upper.contains("ALGORITHM") || upper.contains(" LOCK") {
        return (run(conn, sql.to_string()).await, None);
    }
    for (clause, algorithm) in [
        ("ALGORITHM=INSTANT", Algorithm::Instant),
        ("ALGORITHM=INPLACE, LOCK=NONE", Algorithm::InplaceNoLock),
        ("ALGORITHM=INPLACE, LOCK=SHARED", Algorithm::InplaceShared),
    ] {
        let clause = if separator == " " {
            clause.replace(", ", " ")
        } else {
            clause.to_string()
        };
        match run(conn, format!("{trimmed}{separator}{clause}")).await {
            Ok(done) => return (Ok(done), Some(algorithm)),
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("0A000"))
                    || e.message().contains("ALGORITHM")
                    || e.message().contains("LOCK=") => {}
            // Anything else (a syntax the clause broke, the statement's own error): as written.
            Err(_) => return (run(conn, sql.to_string()).await, None),
        }
    }
    (run(conn, sql.to_string()).await, Some(Algorithm::Copy))
}

async fn run(
    conn: &mut MySqlConnection,
    text: String,
) -> std::result::Result<sqlx::mysql::MySqlQueryResult, sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(text)).execute(conn).await
}

/// InnoDB table ids by `db/table` (MariaDB's INNODB_SYS_TABLES, MySQL 8's INNODB_TABLES).
async fn table_ids(conn: &mut MySqlConnection) -> std::collections::BTreeMap<String, String> {
    for sql in [
        "SELECT CAST(NAME AS CHAR), CAST(TABLE_ID AS CHAR) FROM information_schema.INNODB_SYS_TABLES WHERE NAME LIKE CONCAT(DATABASE(), '/%')",
        "SELECT CAST(NAME AS CHAR), CAST(TABLE_ID AS CHAR) FROM information_schema.INNODB_TABLES WHERE NAME LIKE CONCAT(DATABASE(), '/%')",
    ] {
        if let Ok(rows) = sqlx::query(sql).fetch_all(&mut *conn).await {
            return rows
                .iter()
                .filter_map(|r| {
                    Some((
                        r.try_get::<String, _>(0).ok()?,
                        r.try_get::<String, _>(1).ok()?,
                    ))
                })
                .collect();
        }
    }
    std::collections::BTreeMap::new()
}

/// The `mariadb` (or `mysql`) client.
fn client_tool() -> Result<PathBuf> {
    find_program(&["mariadb", "mysql"], &["/usr/bin"]).ok_or_else(|| {
        Error::infra("the mariadb / mysql client was not found (Debian: mariadb-client)")
    })
}

/// Feeds a SQL dump to the `mariadb` client, through `for_the_work_database`: a default that
/// calls a sequence names it with the dumped database's name (`DEFAULT nextval(`shop`.`ids`)`)
/// and its table's rows are loaded under a `LOCK TABLES` that leaves the sequence out, which
/// MariaDB refuses ("Table 'ids' was not locked with LOCK TABLES", 10.11: its own dump does
/// not load back).
pub async fn restore(connection: &ToolConnection, path: &Path) -> Result<()> {
    let open = || {
        std::fs::File::open(path)
            .map_err(|e| Error::input(format!("cannot read the snapshot {}: {e}", path.display())))
    };
    let mut command = connection.command(&client_tool()?);
    command.arg(&connection.database);
    let source = dumped_database(open()?).filter(|db| *db != connection.database);
    let (reader, writer) = std::io::pipe()
        .map_err(|e| Error::infra(format!("cannot open a pipe to the mariadb client: {e}")))?;
    let file = open()?;
    let copier = std::thread::spawn(move || for_the_work_database(file, writer, source.as_deref()));
    let fed = std::fs::File::from(std::os::fd::OwnedFd::from(reader));
    let restored = crate::sandbox::run_tool_with_input(command, "the mariadb client", Some(fed))
        .await
        .map(|_| ());
    let copied = copier.join().unwrap_or(Ok(()));
    restored?;
    copied.map_err(|e| Error::input(format!("cannot read the snapshot {}: {e}", path.display())))
}

/// The database a mariadb-dump / mysqldump file was dumped from: its header's
/// `-- Host: … Database: shop` line.
fn dumped_database(file: std::fs::File) -> Option<String> {
    use std::io::{BufRead, Read};
    std::io::BufReader::new(file.take(4096))
        .lines()
        .take(10)
        .map_while(std::result::Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix("-- Host:")?;
            let db = rest.split_once("Database:")?.1.trim();
            (!db.is_empty()).then(|| db.to_string())
        })
}

/// Copies the dump to `out` without its `LOCK TABLES` / `UNLOCK TABLES` lines (the work
/// database is driftless's own: nobody to lock out) and, when it was dumped from `source`,
/// with each column line's `nextval(`source`.`…`)` made `nextval(`…`)` (and `lastval`).
/// Data lines are left alone. A closed pipe (the client stopped on an error it reports
/// itself) ends the copy quietly.
fn for_the_work_database(
    file: std::fs::File,
    mut out: impl std::io::Write,
    source: Option<&str>,
) -> std::io::Result<()> {
    use std::io::BufRead;
    let calls: Vec<(Vec<u8>, Vec<u8>)> = source
        .map(|db| format!("`{}`.", db.replace('`', "``")))
        .iter()
        .flat_map(|quoted| {
            ["nextval(", "lastval("]
                .map(|f| (format!("{f}{quoted}").into_bytes(), f.as_bytes().to_vec()))
        })
        .collect();
    let mut input = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let written = if line.starts_with(b"LOCK TABLES `") || line.starts_with(b"UNLOCK TABLES;") {
            Ok(())
        } else if line.starts_with(b"  `") && !calls.is_empty() {
            out.write_all(&unqualified(&line, &calls))
        } else {
            out.write_all(&line)
        };
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
}

/// `line` with every `from` of `calls` replaced by its `to`.
fn unqualified(line: &[u8], calls: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    'scan: while i < line.len() {
        for (from, to) in calls {
            if line[i..].starts_with(from) {
                out.extend_from_slice(to);
                i += from.len();
                continue 'scan;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// Any read-only query; the SQL casts what is not text.
pub async fn query_rows(conn: &mut MySqlConnection, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *conn)
        .await
        .context(|| format!("cannot run {sql}"))?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).ok().flatten())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod algorithm_tests {
    use super::*;

    #[test]
    fn tables_of_alter_and_index_statements() {
        assert_eq!(
            altered_table("ALTER TABLE `orders` ADD x INT").as_deref(),
            Some("orders")
        );
        assert_eq!(
            altered_table("ALTER ONLINE TABLE t DROP y").as_deref(),
            Some("t")
        );
        assert_eq!(
            indexed_table("CREATE INDEX i ON orders (a)").as_deref(),
            Some("orders")
        );
        assert_eq!(
            indexed_table("CREATE UNIQUE INDEX i ON `t`(a);").as_deref(),
            Some("t")
        );
        assert_eq!(indexed_table("DROP INDEX i ON t").as_deref(), Some("t"));
        assert_eq!(indexed_table("CREATE TABLE t (a INT, INDEX i (a))"), None);
        assert_eq!(indexed_table("UPDATE t SET a = 1"), None);
    }
}

#[cfg(test)]
mod restore_tests {
    use super::*;

    #[test]
    fn a_dump_loads_into_the_work_database_without_locks_or_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("shop.sql");
        std::fs::write(
            &dump,
            "-- MariaDB dump 10.19\n--\n-- Host: localhost    Database: shop\n\
             CREATE TABLE `t` (\n  `n` bigint(20) DEFAULT nextval(`shop`.`ids`),\n\
             \x20 `m` bigint(20) DEFAULT (nextval(`other`.`ids`) + 1)\n);\n\
             LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES ('nextval(`shop`.`ids`)');\n\
             UNLOCK TABLES;\n",
        )
        .unwrap();
        let file = || std::fs::File::open(&dump).unwrap();
        assert_eq!(dumped_database(file()).as_deref(), Some("shop"));
        let mut out = Vec::new();
        for_the_work_database(file(), &mut out, Some("shop")).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("  `n` bigint(20) DEFAULT nextval(`ids`),\n"),
            "{out}"
        );
        // Another database's sequence, and data, stay as they are.
        assert!(out.contains("nextval(`other`.`ids`)"), "{out}");
        assert!(out.contains("VALUES ('nextval(`shop`.`ids`)')"), "{out}");
        // The sequence is not in the table's LOCK TABLES, which MariaDB refuses.
        assert!(!out.contains("LOCK TABLES"), "{out}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_connections_come_from_urls() {
        let c = ToolConnection::from_url("mysql://app:p%40ss@db.local:3307/shop").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.user.as_str()),
            ("db.local", 3307, "app")
        );
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(c.database, "shop");
    }
}
