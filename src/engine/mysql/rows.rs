//! MySQL / MariaDB as a [`RowStore`]: the tables seeding can fill, the keys foreign keys can
//! point at, seed rows inserted in batches (edge-case rows: MySQL silently truncates and
//! converts, and those rows are where it shows), and bulk loads: `LOAD DATA` from a named pipe
//! in a local server's directory, INSERT statements on a `--url` server.

use async_trait::async_trait;

use super::MySql;
use super::statements::cell;
use crate::engine::sql_common::{self, InsertStatements, SqlSession};
use crate::engine::{Inserted, RowStore, SeedStyle};
use crate::error::Context;
use crate::sandbox::Instance;
use crate::schema::{Column, ColumnKind, SchemaSnapshot, Table};
use crate::sql::mysql::{ident, literal, table_ref};
use crate::sql::{Dialect, Encoding};
use crate::{Error, Result};

/// Rows per multi-row INSERT.
const INSERT_BATCH: usize = 200;

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
            Instance::Local(_) => Encoding::Csv(Dialect::MySql),
            _ => Encoding::Sql(Dialect::MySql),
        }
    }

    /// Tables of `schema` that can be seeded and have no rows.
    async fn empty_tables(&mut self, schema: &SchemaSnapshot) -> Result<Vec<String>> {
        let conn = &mut self.observer;
        let selects: Vec<String> = schema
            .tables
            .values()
            .filter(|t| t.seed_directly)
            .map(|t| {
                format!(
                    "SELECT {} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM {}.{})",
                    literal(&t.qualified()),
                    ident(&t.schema),
                    ident(&t.name)
                )
            })
            .collect();
        if selects.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(selects.join("\nUNION ALL\n")))
            .fetch_all(&mut *conn)
            .await
            .context(|| "cannot find empty tables".into())?;
        Ok(rows.iter().filter_map(|r| cell(r, 0)).collect())
    }

    /// Distinct non-NULL tuples of `columns` in `table`, as text.
    async fn sample_keys(
        &mut self,
        table: &Table,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<Vec<String>>> {
        let conn = &mut self.observer;
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST(t.{} AS CHAR)", ident(c)))
            .collect();
        let table_name = format!("{}.{}", ident(&table.schema), ident(&table.name));
        let select = list.join(", ");
        let sql =
            sql_common::sample_keys_query(Dialect::MySql, &select, &table_name, columns, limit);
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .context(|| format!("cannot read keys of {}", table.qualified()))?;
        let mut keys: Vec<Vec<String>> = rows
            .iter()
            .map(|r| (0..columns.len()).filter_map(|i| cell(r, i)).collect())
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Inserts seed rows; a batch that fails is retried row by row and bad rows are skipped.
    async fn insert_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<Inserted> {
        let kinds: Vec<Option<&ColumnKind>> = columns
            .iter()
            .map(|c| table.column(c).map(|c| &c.kind))
            .collect();
        let how = InsertStatements {
            dialect: Dialect::MySql,
            tail: "",
            batch: INSERT_BATCH,
            value: &|i, v| value_literal(v, kinds.get(i).copied().flatten()),
        };
        sql_common::insert_rows(&mut self.observer, table, columns, rows, &how).await
    }

    async fn load(
        &mut self,
        table: &Table,
        columns: &[Column],
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64> {
        let name = table.qualified();
        let Instance::Local(local) = &self.server else {
            // INSERT statements, one chunk at a time.
            let mut rows = 0;
            while let Some(bytes) = chunks.recv().await {
                let sql = String::from_utf8_lossy(&bytes).into_owned();
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut self.observer)
                    .await
                    .map_err(|e| seed_error(&name, e))?;
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
        let loaded = loaded.map_err(|e| seed_error(&name, e))?;
        written?;
        Ok(loaded.rows_affected())
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        let ran = self.observer.run(sql).await;
        ran.map(|_| ())
            .map_err(|e| seed_error("the seeded tables", e))
    }

    async fn clear(&mut self, tables: &[Table]) -> Result<()> {
        // The caller includes the tables that point at these; with foreign key checks off the
        // order of the deletes does not matter.
        let mut statements = vec!["SET FOREIGN_KEY_CHECKS = 0".to_string()];
        statements.extend(
            tables
                .iter()
                .map(|t| format!("DELETE FROM {}", table_ref(t))),
        );
        statements.push("SET FOREIGN_KEY_CHECKS = 1".to_string());
        for sql in &statements {
            let ran = self.observer.run(sql).await;
            ran.map(|_| ())
                .context(|| format!("cannot empty the tables ({sql})"))?;
        }
        Ok(())
    }
}

/// A server's refusal of seeded rows: an input error naming the table and the constraint;
/// anything else (a lost connection) is an infrastructure error.
pub fn seed_error(table: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => Error::input(format!(
            "cannot load rows into {table}: the server refused a row: {}",
            db.message()
        )),
        _ => Error::Database {
            context: format!("cannot load rows into {table}"),
            source: e,
        },
    }
}

/// A value as a MySQL literal for a column of `kind`.
fn value_literal(value: Option<&str>, kind: Option<&ColumnKind>) -> String {
    let Some(value) = value else {
        return "NULL".into();
    };
    match kind {
        Some(ColumnKind::Bytes { .. }) => match value.strip_prefix("\\x") {
            Some(hex) => format!("X'{hex}'"),
            None => literal(value),
        },
        Some(ColumnKind::Bit { .. }) => format!("b'{value}'"),
        Some(ColumnKind::Bool) => (if value == "true" { "1" } else { "0" }).to_string(),
        _ => literal(value),
    }
}
