//! MongoDB: a disposable `mongod` (or FerretDB where mongod cannot be installed), or a
//! throwaway database on `--url`, behind the same engine seam as the SQL engines.
//!
//! Collections are the engine's tables (`db.<collection>`), their top-level fields its
//! columns; the schema adds collection options, indexes and each collection's inferred
//! document shape. Migrations are JSON arrays of commands (see `split.rs`), run one by one
//! with `runCommand`, never in a transaction (as golang-migrate does).

mod archive;
#[cfg(test)]
mod extjson_test;
mod fingerprint;
mod restore;
pub mod sandbox;
mod schema;
mod split;

pub use sandbox::{Flavour, LocalServer, MongoBinary, find_binary};
pub use split::split;

use std::collections::HashMap;
use std::time::Instant;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::{Client, Database};

use super::{
    Applied, BoxFuture, Capabilities, CheckOutcome, Collection, CollectionDef, DocumentStore,
    Engine, EngineSpec, StartOptions, Words,
};
use crate::checks::{Check, CheckFormat};
use crate::data::{DataFingerprint, RowDiff, Survival};
use crate::error::{Context, mongo_message};
use crate::migrations::Script;
use crate::migrations::tracking::Tracking;
use crate::report::StatementTrace;
use crate::sandbox::{Instance, ThrowawayDatabase};
use crate::schema::{SchemaSnapshot, Table};
use crate::{Error, Result};

/// MongoDB commands run one by one, each on its own.
pub const TRANSACTIONS: crate::migrations::ServerTransactions =
    crate::migrations::ServerTransactions {
        one_request_is_one: false,
        flagged_statements_commit: true,
    };

pub static SPEC: EngineSpec = EngineSpec {
    name: "mongo",
    aliases: &["mongodb"],
    display: "MongoDB",
    dbms: &["mongodb"],
    url_schemes: &["mongodb"],
    split,
    words: Words {
        table: "collection",
        column: "field",
        rows: "documents",
    },
    checks: CheckFormat::Pipeline,
    can: Capabilities {
        rows: false,
        mask: true,
        documents: true,
    },
    transactions: TRANSACTIONS,
    start,
    clean,
};

/// Documents read per collection to infer its shape (the fingerprint always reads all).
pub const DEFAULT_SAMPLE: usize = 100_000;
/// Check results kept as samples in findings.
const CHECK_SAMPLE: usize = 5;

/// Drops what killed runs left on the `--url` server (`driftless clean`).
fn clean(url: &str) -> BoxFuture<'_, Result<Vec<String>>> {
    Box::pin(async move { crate::sandbox::sweep(&sandbox::UrlServer::new(url).await?).await })
}

fn start(options: &StartOptions) -> BoxFuture<'_, Result<Box<dyn Engine>>> {
    super::boxed_start(Mongo::start(options))
}

/// The local server, the throwaway database on `--url`, or the user's own database (`--url`
/// used in place: left as it is).
type Server = Instance<LocalServer>;

pub struct Mongo {
    client: Client,
    db: Database,
    server: Server,
    version: String,
    captured: HashMap<String, fingerprint::Captured>,
    sample: usize,
    /// The last shape seen of each collection that had documents, as a `$jsonSchema`.
    seen_shapes: HashMap<String, serde_json::Value>,
    /// Collections the schema leaves out (the migration tool's history).
    hidden: Vec<String>,
}

impl Mongo {
    pub async fn start(options: &StartOptions) -> Result<Mongo> {
        if options.migration_role.is_some() {
            return Err(Error::input(
                "--migration-role applies to PostgreSQL and MySQL / MariaDB, not MongoDB",
            ));
        }
        if options.version.is_some() {
            return Err(Error::input(
                "--pg-version picks a PostgreSQL version; it does not apply to this engine",
            ));
        }
        let (client, db_name, server) = match &options.url {
            Some(url) if options.in_place => in_place(url).await?,
            Some(url) => throwaway(url).await?,
            None => local(options).await?,
        };
        let version = server_version(&client, options.url.as_deref()).await?;
        let db = client.database(&db_name);
        Ok(Mongo {
            client,
            db,
            server,
            version,
            captured: HashMap::new(),
            sample: options.sample.unwrap_or(DEFAULT_SAMPLE),
            seen_shapes: HashMap::new(),
            hidden: options.hidden_tables.clone(),
        })
    }

    /// Whether the server is FerretDB (some MongoDB features are missing there).
    pub fn is_ferretdb(&self) -> bool {
        self.version.starts_with("FerretDB")
    }

    /// Parses one command of a migration (Extended JSON v2, key order kept) for this database.
    fn command(&self, text: &str) -> std::result::Result<(Document, bool), String> {
        let mut command: Document =
            serde_json::from_str(text).map_err(|e| format!("invalid command: {e}"))?;
        normalize(&mut command);
        // renameCollection runs on `admin` with full namespaces; the migration's database
        // name is the production one, so namespaces are moved to this database.
        let admin = command
            .keys()
            .next()
            .is_some_and(|k| k == "renameCollection");
        if admin {
            let db = self.db.name().to_string();
            for key in ["renameCollection", "to"] {
                if let Ok(ns) = command.get_str(key) {
                    let collection = ns.split_once('.').map_or(ns, |(_, c)| c).to_string();
                    command.insert(key, format!("{db}.{collection}"));
                }
            }
        }
        Ok((command, admin))
    }

    async fn run(
        &self,
        command: Document,
        admin: bool,
    ) -> std::result::Result<Document, (String, String)> {
        let db = if admin {
            self.client.database("admin")
        } else {
            self.db.clone()
        };
        let reply = db.run_command(command).await.map_err(|e| match &*e.kind {
            mongodb::error::ErrorKind::Command(c) => (
                if c.code_name.is_empty() {
                    c.code.to_string()
                } else {
                    c.code_name.clone()
                },
                c.message.clone(),
            ),
            _ => ("error".to_string(), mongo_message(&e)),
        })?;
        // Writes report per-document failures in the reply, not as a command error.
        if let Ok(errors) = reply.get_array("writeErrors")
            && let Some(first) = errors.first().and_then(Bson::as_document)
        {
            let code = first
                .get_str("codeName")
                .map(str::to_string)
                .unwrap_or_else(|_| first.get("code").map(|c| c.to_string()).unwrap_or_default());
            return Err((
                code,
                format!(
                    "{} ({} write error{})",
                    first.get_str("errmsg").unwrap_or("write failed"),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        if let Ok(wc) = reply.get_document("writeConcernError") {
            return Err((
                "WriteConcernFailed".into(),
                wc.get_str("errmsg")
                    .unwrap_or("write concern failed")
                    .to_string(),
            ));
        }
        Ok(reply)
    }
}

/// The user's own database, named by the URL.
async fn in_place(url: &str) -> Result<(Client, String, Server)> {
    let options = sandbox::client_options(url).await?;
    let name = options
        .default_database
        .clone()
        .ok_or_else(|| Error::input("--url must name a database: mongodb://host/DATABASE"))?;
    Ok((sandbox::client(options)?, name, Instance::InPlace))
}

/// A throwaway database on the `--url` server.
async fn throwaway(url: &str) -> Result<(Client, String, Server)> {
    let server = sandbox::UrlServer::new(url).await?;
    let db = ThrowawayDatabase::create(server.clone()).await?;
    let name = db.name().to_string();
    Ok((server.client()?, name, Instance::Throwaway(db)))
}

/// A disposable `mongod` or FerretDB.
async fn local(options: &StartOptions) -> Result<(Client, String, Server)> {
    let binary = find_binary(options.bin_dir.as_deref())?;
    let server = LocalServer::start(&binary, options.keep)?;
    let client = sandbox::client(sandbox::client_options(&server.url()).await?)?;
    Ok((client, "driftless".to_string(), Instance::Local(server)))
}

/// The server's version; FerretDB says which MongoDB it stands in for.
async fn server_version(client: &Client, url: Option<&str>) -> Result<String> {
    let info = client
        .database("admin")
        .run_command(doc! {"buildInfo": 1})
        .await
        .map_err(|e| {
            let at = url.map(|u| format!(" at {}", crate::sandbox::redact_url(u)));
            Error::infra(format!(
                "cannot reach MongoDB{}: {}",
                at.unwrap_or_default(),
                mongo_message(&e)
            ))
        })?;
    Ok(match info.get_str("ferretdbVersion") {
        Ok(ferret) => format!(
            "FerretDB {ferret} (MongoDB {})",
            info.get_str("version").unwrap_or("?")
        ),
        Err(_) => info.get_str("version").unwrap_or("unknown").to_string(),
    })
}

/// Integers of JSON become int32 where they fit (as relaxed Extended JSON and the shell
/// read them); serde hands negative numbers over as 64-bit.
fn normalize(doc: &mut Document) {
    for (_, value) in doc.iter_mut() {
        normalize_value(value);
    }
}

fn normalize_value(value: &mut Bson) {
    match value {
        Bson::Int64(i) if *i < 0 && *i >= i64::from(i32::MIN) => *value = Bson::Int32(*i as i32),
        Bson::Document(d) => normalize(d),
        Bson::Array(items) => items.iter_mut().for_each(normalize_value),
        _ => {}
    }
}

/// A mongo check file: `{ "collection": …, "pipeline": [ … ] }`.
#[derive(serde::Deserialize)]
struct CheckQuery {
    collection: String,
    pipeline: Vec<serde_json::Value>,
}

#[async_trait]
impl Engine for Mongo {
    fn spec(&self) -> &'static EngineSpec {
        &SPEC
    }

    fn server_version(&self) -> &str {
        &self.version
    }

    async fn apply(&mut self, script: &Script) -> Result<Applied> {
        self.apply_traced(script).await.map(|(applied, _)| applied)
    }

    /// Command by command: duration and documents written (`n`, or `nModified` of an update).
    /// MongoDB's locks are per operation and short (index builds hold an exclusive lock only
    /// at their start and end), so no lock is recorded.
    async fn apply_traced(&mut self, script: &Script) -> Result<(Applied, Vec<StatementTrace>)> {
        let started = Instant::now();
        let mut traces = Vec::new();
        for statement in &script.statements {
            crate::activity::statement(&script.path, statement.line, &statement.sql);
            let failed = |code: String, message: String| Applied::Failed {
                ms: started.elapsed().as_millis() as u64,
                line: statement.line,
                code,
                message,
            };
            let (command, admin) = match self.command(&statement.sql) {
                Ok(parsed) => parsed,
                Err(message) => return Ok((failed("BadValue".into(), message), traces)),
            };
            let began = Instant::now();
            let reply = self.run(command, admin).await;
            let mut trace = StatementTrace {
                line: statement.line,
                sql: StatementTrace::full(&statement.sql),
                ms: began.elapsed().as_millis() as u64,
                ..StatementTrace::default()
            };
            match reply {
                Ok(reply) => {
                    trace.rows = ["nModified", "n"]
                        .iter()
                        .find_map(|k| reply.get(*k))
                        .and_then(|n| match n {
                            Bson::Int32(n) => u64::try_from(*n).ok(),
                            Bson::Int64(n) => u64::try_from(*n).ok(),
                            Bson::Double(n) => Some(*n as u64),
                            _ => None,
                        });
                    traces.push(trace);
                }
                Err((code, message)) => {
                    traces.push(trace);
                    return Ok((failed(code, message), traces));
                }
            }
        }
        Ok((
            Applied::Done {
                ms: started.elapsed().as_millis() as u64,
            },
            traces,
        ))
    }

    async fn restore(&mut self, path: &std::path::Path) -> Result<()> {
        let restored = restore::restore(&self.db, path).await?;
        crate::debug!(
            "restored database {} of the dump: {} collections, {} documents",
            restored.database,
            restored.collections,
            restored.documents
        );
        for skipped in &restored.skipped {
            eprintln!("driftless: warning: not restored, the server refused {skipped}");
        }
        Ok(())
    }

    async fn query_rows(&mut self, _sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        Ok(None)
    }

    async fn schema(&mut self) -> Result<SchemaSnapshot> {
        let (snapshot, seen) = schema::snapshot(&self.db, self.sample, &self.hidden).await?;
        self.seen_shapes.extend(seen);
        Ok(snapshot)
    }

    async fn fingerprint(
        &mut self,
        schema: &SchemaSnapshot,
        capture: bool,
    ) -> Result<DataFingerprint> {
        if capture {
            self.captured.clear();
        }
        fingerprint::all(&self.db, schema, capture, &mut self.captured).await
    }

    async fn row_diff(&mut self, before: &Table, now: &Table) -> Result<Option<RowDiff>> {
        let Some(captured) = self.captured.get(&before.qualified()) else {
            return Ok(None);
        };
        fingerprint::row_diff(&self.db, captured, now)
            .await
            .map(Some)
    }

    async fn captured_rows(&mut self, before: &Table) -> Result<Vec<crate::data::MissingRow>> {
        Ok(self
            .captured
            .get(&before.qualified())
            .map(fingerprint::captured_rows)
            .unwrap_or_default())
    }

    async fn survival(&mut self, before: &Table, now: &Table, column: &str) -> Result<Survival> {
        let Some(captured) = self.captured.get(&before.qualified()) else {
            return Ok(Survival::Unknown);
        };
        fingerprint::survival(&self.db, captured, before, now, column).await
    }

    async fn run_check(&mut self, check: &Check) -> Result<CheckOutcome> {
        let query: CheckQuery = serde_json::from_str(&check.sql)
            .map_err(|e| Error::input(format!("{}: {e}", check.path.display())))?;
        let exists = schema::collections(&self.db)
            .await?
            .iter()
            .any(|c| c.name == query.collection);
        if !exists {
            return Ok(CheckOutcome::NotApplicable {
                reason: format!("collection {} does not exist", query.collection),
            });
        }
        let mut pipeline = Vec::with_capacity(query.pipeline.len());
        for stage in &query.pipeline {
            let mut stage: Document = serde_json::from_value(stage.clone()).map_err(|e| {
                Error::input(format!(
                    "{}: a stage is not a document: {e}",
                    check.path.display()
                ))
            })?;
            normalize(&mut stage);
            pipeline.push(stage);
        }
        let cursor = match self
            .db
            .collection::<Document>(&query.collection)
            .aggregate(pipeline)
            .await
        {
            Ok(cursor) => cursor,
            Err(e) => return Ok(check_failed(&e)),
        };
        let docs: Vec<Document> = match cursor.try_collect().await {
            Ok(docs) => docs,
            Err(e) => return Ok(check_failed(&e)),
        };
        if docs.is_empty() {
            return Ok(CheckOutcome::Passed);
        }
        Ok(CheckOutcome::Violated {
            rows: docs.len() as i64,
            sample: docs
                .iter()
                .take(CHECK_SAMPLE)
                .map(|d| Bson::Document(d.clone()).into_relaxed_extjson().to_string())
                .collect(),
        })
    }

    fn documents(&mut self) -> Option<&mut dyn DocumentStore> {
        Some(self)
    }

    async fn teardown(self: Box<Self>, keep: bool) -> Result<Option<String>> {
        let Mongo {
            client, db, server, ..
        } = *self;
        drop(db);
        // A kept server or database stays reachable; otherwise the client's connections
        // end before the server goes (the throwaway database is dropped on a session of its
        // own).
        if !keep {
            client.shutdown().immediate(true).await;
        }
        server.finish(keep).await
    }
}

#[async_trait]
impl DocumentStore for Mongo {
    async fn collections(&mut self, schema: &SchemaSnapshot) -> Result<Vec<Collection>> {
        let mut infos = schema::collections(&self.db).await?;
        infos.retain(|info| {
            info.kind == "collection"
                && schema
                    .tables
                    .contains_key(&format!("{}.{}", schema::SCHEMA, info.name))
        });
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            let empty = self
                .db
                .collection::<Document>(&info.name)
                .find_one(doc! {})
                .await
                .context(|| format!("cannot read {}", info.name))?
                .is_none();
            let validator = info
                .options
                .get_document("validator")
                .ok()
                .and_then(|v| v.get_document("$jsonSchema").ok())
                .cloned();
            out.push(Collection {
                seen_shape: self.seen_shapes.get(&info.name).cloned(),
                name: info.name,
                empty,
                validator,
            });
        }
        Ok(out)
    }

    async fn clear(&mut self, collections: &[String]) -> Result<()> {
        for name in collections {
            self.db
                .collection::<Document>(name)
                .delete_many(doc! {})
                .await
                .context(|| format!("cannot empty {name}"))?;
        }
        Ok(())
    }

    async fn insert_documents(
        &mut self,
        collection: &str,
        documents: Vec<Document>,
    ) -> Result<(u64, u64)> {
        let size = documents.len() as u64;
        let target = self.db.collection::<Document>(collection);
        match target.insert_many(documents).ordered(false).await {
            Ok(done) => Ok((done.inserted_ids.len() as u64, 0)),
            Err(e) => match &*e.kind {
                mongodb::error::ErrorKind::InsertMany(m) => {
                    let failed = m.write_errors.as_ref().map_or(0, Vec::len) as u64;
                    if let Some(first) = m.write_errors.as_ref().and_then(|w| w.first()) {
                        crate::debug!("seeding {collection}: {failed} rejected: {}", first.message);
                    }
                    Ok((size - failed, failed))
                }
                _ => Err(Error::infra(format!(
                    "cannot seed {collection}: {}",
                    mongo_message(&e)
                ))),
            },
        }
    }

    async fn read_tracking(&mut self) -> Result<Option<Tracking>> {
        // golang-migrate's MongoDB driver: one document {version, dirty} in schema_migrations.
        let exists = self
            .db
            .list_collection_names()
            .await
            .context(|| "cannot list collections".to_string())?
            .iter()
            .any(|c| c == "schema_migrations");
        if !exists {
            return Ok(None);
        }
        let current = self
            .db
            .collection::<Document>("schema_migrations")
            .find_one(doc! {})
            .await
            .context(|| "cannot read schema_migrations".to_string())?;
        let version = current.as_ref().and_then(|d| match d.get("version") {
            Some(Bson::Int32(v)) => Some(v.to_string()),
            Some(Bson::Int64(v)) => Some(v.to_string()),
            Some(Bson::Double(v)) => Some((*v as i64).to_string()),
            Some(Bson::String(v)) => Some(v.clone()),
            _ => None,
        });
        let dirty = current
            .as_ref()
            .and_then(|d| d.get_bool("dirty").ok())
            .unwrap_or(false);
        Ok(Some(Tracking {
            table: "schema_migrations",
            tool: "golang-migrate",
            applied: Vec::new(),
            dirty: if dirty { version.clone() } else { None },
            up_to: version,
        }))
    }

    async fn definitions(&mut self) -> Result<Vec<CollectionDef>> {
        let mut infos = schema::collections(&self.db).await?;
        infos.retain(|info| {
            !self
                .hidden
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&info.name))
        });
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            let view = info.kind == "view";
            let indexes = if view {
                Vec::new()
            } else {
                schema::indexes(&self.db, &info.name).await?
            };
            out.push(CollectionDef {
                name: info.name,
                view,
                options: info.options,
                indexes,
            });
        }
        Ok(out)
    }

    async fn read_documents(
        &mut self,
        collection: &str,
        limit: Option<usize>,
        out: tokio::sync::mpsc::Sender<Vec<Document>>,
    ) -> Result<u64> {
        const BATCH: usize = 1000;
        let source = self.db.collection::<Document>(collection);
        let mut find = source.find(doc! {});
        if let Some(limit) = limit {
            find = find.limit(limit as i64);
        }
        let mut cursor = find.await.context(|| format!("cannot read {collection}"))?;
        let (mut batch, mut read) = (Vec::with_capacity(BATCH), 0u64);
        while let Some(document) = cursor
            .try_next()
            .await
            .context(|| format!("cannot read {collection}"))?
        {
            batch.push(document);
            read += 1;
            if batch.len() >= BATCH && out.send(std::mem::take(&mut batch)).await.is_err() {
                return Ok(read);
            }
        }
        if !batch.is_empty() {
            let _ = out.send(batch).await;
        }
        Ok(read)
    }

    async fn create(&mut self, def: &CollectionDef, indexes: bool) -> Result<()> {
        let name = &def.name;
        if !indexes {
            let mut command = doc! {"create": name};
            command.extend(def.options.clone());
            command.remove("uuid");
            return self
                .db
                .run_command(command)
                .await
                .map(|_| ())
                .map_err(|e| Error::infra(format!("cannot create {name}: {}", mongo_message(&e))));
        }
        let specs = restore::index_specs(&def.indexes);
        if def.view || specs.is_empty() {
            return Ok(());
        }
        self.db
            .run_command(doc! {"createIndexes": name, "indexes": specs})
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::infra(format!(
                    "cannot build the indexes of {name}: {}",
                    mongo_message(&e)
                ))
            })
    }

    async fn drop_collections(&mut self, names: &[String]) -> Result<()> {
        for name in names {
            self.db
                .collection::<Document>(name)
                .drop()
                .await
                .context(|| format!("cannot drop {name}"))?;
        }
        Ok(())
    }

    async fn dump(&mut self, path: &std::path::Path) -> Result<()> {
        let defs = self.definitions().await?;
        archive::write(&self.db, &defs, &self.version, path).await
    }
}

fn check_failed(e: &mongodb::error::Error) -> CheckOutcome {
    match &*e.kind {
        mongodb::error::ErrorKind::Command(c) => CheckOutcome::Failed {
            code: if c.code_name.is_empty() {
                c.code.to_string()
            } else {
                c.code_name.clone()
            },
            message: c.message.clone(),
        },
        _ => CheckOutcome::Failed {
            code: "error".into(),
            message: mongo_message(e),
        },
    }
}
