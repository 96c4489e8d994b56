//! PostgreSQL as a [`RowStore`]: the tables seeding can fill, the keys foreign keys can point
//! at, seed rows inserted in batches, and bulk loads through `COPY … FROM STDIN` on the
//! observer session.

use async_trait::async_trait;
use sqlx::Row;

use super::Postgres;
use crate::engine::sql_common::{self, InsertStatements, SqlSession};
use crate::engine::{Inserted, RowStore};
use crate::error::Context;
use crate::schema::{Column, SchemaSnapshot, Table};
use crate::sql::pg::{ident, literal, table_ref};
use crate::sql::{Dialect, Encoding};
use crate::{Error, Result};

/// Rows per multi-row INSERT.
const INSERT_BATCH: usize = 500;

#[async_trait]
impl RowStore for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn load_encoding(&self) -> Encoding {
        Encoding::PgCopy
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
                    "SELECT {} WHERE NOT EXISTS (SELECT 1 FROM {})",
                    literal(&t.qualified()),
                    table_ref(t)
                )
            })
            .collect();
        if selects.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(selects.join("\nUNION ALL\n")))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .context(|| "cannot find empty tables".into())?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .context(|| "empty table name".into())
            })
            .collect()
    }

    /// Distinct non-NULL tuples of `columns` in `table`.
    async fn sample_keys(
        &mut self,
        table: &Table,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<Vec<String>>> {
        let conn = &mut self.observer;
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("t.{}::text", ident(c)))
            .collect();
        let select = format!("ARRAY[{}]", list.join(", "));
        let table_name = table_ref(table);
        let sql =
            sql_common::sample_keys_query(Dialect::Postgres, &select, &table_name, columns, limit);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .context(|| format!("cannot read keys of {}", table.qualified()))?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            keys.push(
                row.try_get::<Vec<String>, _>(0)
                    .context(|| "key values".into())?,
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// Inserts seed rows; a batch that fails is retried row by row and bad rows are skipped
    /// (so are rows whose key is taken: `ON CONFLICT DO NOTHING`).
    async fn insert_rows(
        &mut self,
        table: &Table,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<Inserted> {
        let how = InsertStatements {
            dialect: Dialect::Postgres,
            tail: " ON CONFLICT DO NOTHING",
            batch: INSERT_BATCH,
            // PostgreSQL casts quoted text to each column's type.
            value: &|_, v| v.map(literal).unwrap_or_else(|| "NULL".into()),
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
        let fail = |e: sqlx::Error| seed_error(&name, e);
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
        let ran = self.observer.run(sql).await;
        ran.map(|_| ())
            .map_err(|e| seed_error("the seeded tables", e))
    }

    async fn clear(&mut self, tables: &[Table]) -> Result<()> {
        if tables.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = tables.iter().map(table_ref).collect();
        // CASCADE: tables pointing at these are emptied too, as the caller asked.
        let sql = format!("TRUNCATE {} CASCADE", list.join(", "));
        self.observer
            .run(&sql)
            .await
            .map(|_| ())
            .context(|| format!("cannot empty {}", list.join(", ")))
    }
}

/// A server's refusal of seeded rows: an input error naming the table and the constraint;
/// anything else (a lost connection) is an infrastructure error.
pub fn seed_error(table: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let detail = pg
                .and_then(|p| p.detail())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            Error::input(format!(
                "cannot load rows into {table}: the server refused a row: {}{detail}",
                db.message()
            ))
        }
        _ => Error::Database {
            context: format!("cannot load rows into {table}"),
            source: e,
        },
    }
}
