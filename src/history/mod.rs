//! Migration tools' tracking tables in a database: where a database is in its migration
//! history, read from the tool's own table (sqlx, golang-migrate, popx, dbmate / Rails, goose,
//! Flyway, diesel, sqitch and Liquibase on SQL engines, through [`Engine::query_rows`]; or
//! golang-migrate's collection on MongoDB, through its [`crate::engine::DocumentStore`]), and
//! creating that table the way the tool's runner does before its first migration
//! (`tables.rs`). Matching what a table says with the folder is
//! `migrations::tracking::history`.

mod tables;

pub use tables::{create_tracking_table, tracking_ddl};

use crate::Result;
use crate::engine::Engine;
use crate::migrations::MigrationFormat;
use crate::migrations::tracking::{AppliedRecord, Tracking};
use crate::sql::{Dialect, literal};

/// Reads the tracking table that fits `format` (the first that exists).
pub async fn read(engine: &mut dyn Engine, format: MigrationFormat) -> Result<Option<Tracking>> {
    if let Some(documents) = engine.documents() {
        return documents.read_tracking().await;
    }
    let Some(dialect) = engine.rows().map(|rows| rows.dialect()) else {
        return Ok(None);
    };
    let mut db = Sql { engine, dialect };
    for &table in candidates(format) {
        if !db.exists(table).await? {
            continue;
        }
        let tracking = match table {
            "_sqlx_migrations" => db.sqlx().await?,
            "schema_migrations" if db.has_column(table, "dirty").await? => {
                db.golang_migrate().await?
            }
            "schema_migrations" => db.listed(table, "dbmate", "version").await?,
            "schema_migration" => db.listed(table, "popx", "version").await?,
            "goose_db_version" => db.goose().await?,
            "flyway_schema_history" => db.flyway().await?,
            "__diesel_schema_migrations" => db.listed(table, "diesel", "version").await?,
            "sqitch.changes" => db.listed(table, "sqitch", "change").await?,
            "databasechangelog" => db.listed(table, "liquibase", "id").await?,
            _ => continue,
        };
        return Ok(Some(tracking));
    }
    Ok(None)
}

/// The tables a run that reads `format`'s history from a database (`dry-run`, `drift`) leaves
/// out of its schema: the tool's own, and every table [`read`] may find its history in (a
/// folder read as sqlx may be golang-migrate's): whichever holds the history is the tool's.
pub fn history_tables(format: MigrationFormat) -> Vec<String> {
    let mut tables: Vec<String> = format
        .tracking_tables()
        .iter()
        .chain(candidates(format))
        .filter(|t| !t.contains('.'))
        .map(|t| t.to_string())
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

/// The tracking tables a tool of `format` may have written, most specific first. A folder
/// read as sqlx without a sign of which tool it belongs to may be golang-migrate's.
fn candidates(format: MigrationFormat) -> &'static [&'static str] {
    match format {
        MigrationFormat::Sqlx => &["_sqlx_migrations", "schema_migrations"],
        MigrationFormat::GolangMigrate => &["schema_migrations"],
        MigrationFormat::Popx => &["schema_migration"],
        MigrationFormat::Dotted => &[],
        MigrationFormat::Dbmate => &["schema_migrations"],
        MigrationFormat::Goose => &["goose_db_version"],
        MigrationFormat::Flyway => &["flyway_schema_history"],
        MigrationFormat::Diesel => &["__diesel_schema_migrations"],
        MigrationFormat::Sqitch => &["sqitch.changes"],
        MigrationFormat::Liquibase => &["databasechangelog"],
    }
}

fn truthy(value: Option<&str>) -> bool {
    matches!(value, Some("t" | "true" | "1"))
}

fn empty(table: &'static str, tool: &'static str) -> Tracking {
    Tracking {
        table,
        tool,
        applied: Vec::new(),
        dirty: None,
        up_to: None,
    }
}

fn record(
    version: Option<String>,
    checksum: Option<String>,
    success: bool,
) -> Option<AppliedRecord> {
    version.map(|version| AppliedRecord {
        version,
        checksum,
        success,
    })
}

/// A SQL engine's tracking tables, read in its dialect.
struct Sql<'a> {
    engine: &'a mut dyn Engine,
    dialect: Dialect,
}

impl Sql<'_> {
    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        Ok(self.engine.query_rows(sql).await?.unwrap_or_default())
    }

    /// `expr` as text in the engine's SQL.
    fn text(&self, expr: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("({expr})::text"),
            Dialect::MySql => format!("CAST({expr} AS CHAR)"),
        }
    }

    /// A `count(*)` over the catalog's `relation` (`tables` or `columns`) that is non-zero.
    async fn counted(&mut self, relation: &str, condition: String) -> Result<bool> {
        let sql = match self.dialect {
            Dialect::Postgres => {
                format!("SELECT count(*) FROM information_schema.{relation} WHERE {condition}")
            }
            Dialect::MySql => format!(
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.{relation} \
                 WHERE table_schema = DATABASE() AND {condition}"
            ),
        };
        let rows = self.rows(&sql).await?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .is_some_and(|n| n != "0"))
    }

    async fn exists(&mut self, table: &str) -> Result<bool> {
        let (schema, name) = table.split_once('.').unwrap_or(("", table));
        let mut condition = format!("table_name = {}", literal(name));
        if !schema.is_empty() && self.dialect == Dialect::Postgres {
            condition.push_str(&format!(" AND table_schema = {}", literal(schema)));
        }
        self.counted("tables", condition).await
    }

    async fn has_column(&mut self, table: &str, column: &str) -> Result<bool> {
        let condition = format!(
            "table_name = {} AND column_name = {}",
            literal(table),
            literal(column)
        );
        self.counted("columns", condition).await
    }

    /// Tools that keep a row per applied migration and nothing to check it against (dbmate,
    /// diesel, sqitch, Liquibase): the versions one column lists, each applied.
    async fn listed(
        &mut self,
        table: &'static str,
        tool: &'static str,
        column: &str,
    ) -> Result<Tracking> {
        let sql = format!("SELECT {} FROM {table}", self.text(column));
        let mut tracking = empty(table, tool);
        tracking.applied = self
            .rows(&sql)
            .await?
            .into_iter()
            .filter_map(|row| record(row.into_iter().next().flatten(), None, true))
            .collect();
        Ok(tracking)
    }

    /// Rows of (version, checksum, success), as sqlx and Flyway keep them.
    async fn checked(
        &mut self,
        table: &'static str,
        tool: &'static str,
        sql: String,
    ) -> Result<Tracking> {
        let mut tracking = empty(table, tool);
        for row in self.rows(&sql).await? {
            let mut row = row.into_iter();
            let (v, c, s) = (
                row.next().flatten(),
                row.next().flatten(),
                row.next().flatten(),
            );
            tracking.applied.extend(record(v, c, truthy(s.as_deref())));
        }
        Ok(tracking)
    }

    async fn sqlx(&mut self) -> Result<Tracking> {
        let checksum = match self.dialect {
            Dialect::Postgres => "encode(checksum, 'hex')",
            Dialect::MySql => "LOWER(HEX(checksum))",
        };
        let sql = format!(
            "SELECT {}, {checksum}, {} FROM _sqlx_migrations ORDER BY version",
            self.text("version"),
            self.text("success")
        );
        self.checked("_sqlx_migrations", "sqlx", sql).await
    }

    async fn flyway(&mut self) -> Result<Tracking> {
        let sql = format!(
            "SELECT version, {}, {} FROM flyway_schema_history WHERE version IS NOT NULL \
             ORDER BY installed_rank",
            self.text("checksum"),
            self.text("success")
        );
        self.checked("flyway_schema_history", "flyway", sql).await
    }

    /// golang-migrate keeps one row: the current version, and whether it is dirty.
    async fn golang_migrate(&mut self) -> Result<Tracking> {
        let sql = format!(
            "SELECT {}, {} FROM schema_migrations",
            self.text("version"),
            self.text("dirty")
        );
        let mut tracking = empty("schema_migrations", "golang-migrate");
        if let Some(row) = self.rows(&sql).await?.into_iter().next() {
            let mut row = row.into_iter();
            let (v, dirty) = (row.next().flatten(), row.next().flatten());
            if truthy(dirty.as_deref()) {
                tracking.dirty = v.clone();
            }
            tracking.up_to = v;
        }
        Ok(tracking)
    }

    /// goose logs every apply and rollback; the latest row of a version says whether it is
    /// applied now.
    async fn goose(&mut self) -> Result<Tracking> {
        let sql = format!(
            "SELECT {}, {} FROM goose_db_version ORDER BY id",
            self.text("version_id"),
            self.text("is_applied")
        );
        let mut state: Vec<(String, bool)> = Vec::new();
        for row in self.rows(&sql).await? {
            let mut row = row.into_iter();
            let (Some(v), applied) = (
                row.next().flatten(),
                truthy(row.next().flatten().as_deref()),
            ) else {
                continue;
            };
            state.retain(|(x, _)| *x != v);
            state.push((v, applied));
        }
        let mut tracking = empty("goose_db_version", "goose");
        for (v, applied) in state {
            if applied && v != "0" {
                tracking.applied.extend(record(Some(v), None, true));
            }
        }
        Ok(tracking)
    }
}
