//! Seeding empty tables with deterministic, constraint-aware synthetic rows.
//!
//! Before each migration every empty table gets `rows` rows: parents before children (foreign
//! key values are picked from the parent's real keys), unique and primary key values derived
//! from the row number so they cannot collide, simple CHECK constraints respected, NULLs in
//! about 15% of nullable values, realistic values chosen by column name (email, phone, city,
//! ...). The same `seed` gives the same rows. Rows the server still rejects are counted and
//! skipped: seeding never aborts a run.

pub mod documents;
pub mod encode;
pub mod future;
pub mod generate;
pub mod overrides;
pub mod plan;
pub mod rules;
pub mod run;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::Result;
use crate::engine::RowStore;
use crate::schema::SchemaSnapshot;

pub use crate::engine::SeedStyle;

pub use generate::{Keys, TableGen};
pub use overrides::Overrides;
pub use plan::{PlanRequest, SeedPlan, TablePlan};
pub use rules::{ColumnRules, rules_for};

/// Parent keys read per foreign key when seeding for `check`.
const KEY_SAMPLE: usize = 1000;

/// What seeding did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedStats {
    pub tables: usize,
    pub rows: u64,
    /// Rows the server rejected.
    pub skipped: u64,
    /// Empty tables that could not be seeded, each with why.
    pub unseeded: Vec<(String, String)>,
}

/// FNV-1a: a hash that is the same in every build, for seeds and cache keys.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How much and what kind of data to seed.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions<'a> {
    /// Rows per empty table.
    pub rows: usize,
    pub seed: u64,
    pub style: SeedStyle,
    /// What later migrations will demand of the rows (see [`future`]).
    pub demands: Option<&'a future::Demands>,
}

/// Fills every empty seedable table of `schema` with `options.rows` rows for `check`: the same
/// plan and generators as `driftless seed`, but lenient. Tables whose constraints cannot be
/// met are left empty, and rows the server still rejects are counted and skipped: seeding never
/// aborts a run. `progress` hears (table, rows done, rows wanted) after every chunk.
pub async fn seed_empty_tables(
    store: &mut dyn RowStore,
    schema: &SchemaSnapshot,
    options: SeedOptions<'_>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<SeedStats> {
    if options.rows == 0 {
        return Ok(SeedStats::default());
    }
    let empty: BTreeSet<String> = store
        .empty_tables(schema)
        .await?
        .into_iter()
        .filter(|t| schema.tables.get(t).is_some_and(|t| t.seed_directly))
        .collect();
    let overrides = Overrides::default();
    let request = PlanRequest {
        schema,
        tables: &empty,
        rows: options.rows,
        table_rows: &BTreeMap::new(),
        overrides: &overrides,
        explicit_keys: false,
        demands: options.demands,
    };
    let mut plan = plan::plan_lenient(&request);
    let unseeded = std::mem::take(&mut plan.unseeded);
    // Keys that wait for the end of a transaction: from the first table that has one, rows go
    // in inside one transaction with constraints deferred.
    let deferring = plan.tables.iter().position(TablePlan::needs_deferral);
    let filled = fill_tables(store, schema, plan, deferring, options, progress).await;
    let mut seeded = match filled {
        Ok(seeded) => seeded,
        Err(e) => {
            // The transaction must not outlive the failure: the session serves the run on.
            if deferring.is_some() {
                let _ = store.execute("ROLLBACK").await;
            }
            return Err(e);
        }
    };
    fill_deferred_keys(store, schema, &seeded).await;
    if deferring.is_some() {
        commit_deferred(store, schema, &mut seeded).await?;
    }
    let stats = SeedStats {
        unseeded,
        ..SeedStats::default()
    };
    Ok(seeded.iter().fold(stats, |mut stats, t| {
        stats.tables += 1;
        stats.rows += t.rows;
        stats.skipped += t.skipped;
        stats
    }))
}

/// One seeded table: its generator and what the server took of its rows.
struct Seeded {
    generator: TableGen,
    rows: u64,
    skipped: u64,
}

/// Inserts the rows of every planned table, opening the transaction of deferred keys before
/// the table at `deferring`.
async fn fill_tables(
    store: &mut dyn RowStore,
    schema: &SchemaSnapshot,
    plan: SeedPlan,
    deferring: Option<usize>,
    options: SeedOptions<'_>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Vec<Seeded>> {
    let mut seeded = Vec::new();
    for (index, table) in plan.tables.into_iter().enumerate() {
        if Some(index) == deferring {
            store.execute("BEGIN").await?;
            store.execute("SET CONSTRAINTS ALL DEFERRED").await?;
        }
        if table.columns.is_empty() {
            continue;
        }
        let Some(generator) = generator(store, schema, table, options).await? else {
            continue;
        };
        let (rows, skipped) = insert_all(store, &generator, progress).await?;
        seeded.push(Seeded {
            generator,
            rows,
            skipped,
        });
    }
    Ok(seeded)
}

/// Commits the transaction of deferred keys. When the server refuses (a key still points
/// nowhere) the rows inserted inside it are gone: they count as skipped, not seeded.
async fn commit_deferred(
    store: &mut dyn RowStore,
    schema: &SchemaSnapshot,
    seeded: &mut [Seeded],
) -> Result<()> {
    if let Err(e) = store.execute("COMMIT").await {
        crate::debug!("seeded rows with deferred keys rolled back: {e}");
        let _ = store.execute("ROLLBACK").await;
    }
    // PostgreSQL answers COMMIT in a failed transaction with a rollback, not an error: which
    // tables are empty again says what was lost either way.
    let empty: BTreeSet<String> = store.empty_tables(schema).await?.into_iter().collect();
    for table in seeded {
        if empty.contains(&table.generator.plan().qualified()) {
            table.skipped += table.rows;
            table.rows = 0;
        }
    }
    Ok(())
}

/// The row generator of one planned table, with its parents' keys read from the database;
/// `None` (and a debug line) when its constraints cannot be met.
async fn generator(
    store: &mut dyn RowStore,
    schema: &SchemaSnapshot,
    table: TablePlan,
    options: SeedOptions<'_>,
) -> Result<Option<TableGen>> {
    let mut parents = Vec::new();
    for fk in &table.fks {
        parents.push(match schema.tables.get(&fk.parent) {
            Some(parent) if fk.reads_parent_keys() => Some(Arc::new(
                store
                    .sample_keys(parent, &fk.parent_columns, KEY_SAMPLE)
                    .await?,
            )),
            _ => None,
        });
    }
    let name = table.qualified();
    match TableGen::new(table, parents, options.seed, options.style) {
        Ok(generator) => Ok(Some(generator)),
        Err(e) => {
            crate::debug!("not seeding {name}: {e}");
            Ok(None)
        }
    }
}

/// Inserts every chunk of `generator`; returns (rows inserted, rows the server rejected).
async fn insert_all(
    store: &mut dyn RowStore,
    generator: &TableGen,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<(u64, u64)> {
    let name = generator.plan().qualified();
    let (mut done, mut skipped) = (0u64, 0u64);
    let columns = generator.plan().column_names();
    let wanted = generator.rows() as u64;
    for index in 0..generator.chunks() {
        let rows = generator.chunk(index);
        let inserted = store
            .insert_rows(&generator.plan().table, &columns, &rows)
            .await?;
        done += inserted.rows;
        skipped += inserted.skipped;
        progress(&name, (done + skipped).min(wanted), wanted);
    }
    crate::debug!("seeded {name}: {done} rows, {skipped} skipped");
    Ok((done, skipped))
}

/// Foreign keys of cycles (and self-references) get their values once every table has rows;
/// if the server refuses, they stay NULL.
async fn fill_deferred_keys(store: &mut dyn RowStore, schema: &SchemaSnapshot, seeded: &[Seeded]) {
    let dialect = store.dialect();
    for seeded in seeded {
        let table = seeded.generator.plan();
        for fk in table.fks.iter().filter(|f| f.deferred) {
            let Some(parent) = schema.tables.get(&fk.parent) else {
                continue;
            };
            let null_percent = plan::null_percent(table, fk);
            if let Some(sql) = encode::deferred_fk_update(dialect, table, fk, parent, null_percent)
                && let Err(e) = store.execute(&sql).await
            {
                crate::debug!(
                    "foreign key {} of {} stays NULL: {e}",
                    fk.name,
                    table.qualified()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnKind, Repertoire, Table};

    fn column(name: &str, kind: ColumnKind, nullable: bool) -> Column {
        Column {
            name: name.into(),
            data_type: String::new(),
            kind,
            nullable,
            has_default: false,
            server_filled: false,
            generated: false,
            auto_updated: false,
        }
    }

    fn users() -> SchemaSnapshot {
        let t = Table {
            schema: "public".into(),
            name: "users".into(),
            columns: vec![
                column(
                    "id",
                    ColumnKind::Int {
                        bytes: 4,
                        unsigned: false,
                    },
                    false,
                ),
                column(
                    "email",
                    ColumnKind::Text {
                        max_len: Some(40),
                        repertoire: Repertoire::Full,
                    },
                    false,
                ),
                column(
                    "nickname",
                    ColumnKind::Text {
                        max_len: None,
                        repertoire: Repertoire::Full,
                    },
                    true,
                ),
            ],
            primary_key: vec!["id".into()],
            unique_keys: vec![vec!["email".into()]],
            foreign_keys: vec![],
            checks: vec![],
            holds_rows: true,
            seed_directly: true,
            partitioning: None,
        };
        let mut s = SchemaSnapshot::default();
        s.tables.insert(t.qualified(), t);
        s
    }

    fn generator(schema: &SchemaSnapshot, rows: usize, seed: u64) -> TableGen {
        let wanted: BTreeSet<String> = schema.tables.keys().cloned().collect();
        let overrides = Overrides::default();
        let plan = plan::plan(&PlanRequest {
            schema,
            tables: &wanted,
            rows,
            table_rows: &BTreeMap::new(),
            overrides: &overrides,
            explicit_keys: false,
            demands: None,
        })
        .unwrap();
        let table = plan.tables.into_iter().next().unwrap();
        TableGen::new(table, vec![], seed, SeedStyle::Realistic).unwrap()
    }

    #[test]
    fn unique_values_do_not_repeat_and_seed_is_deterministic() {
        let schema = users();
        let g = generator(&schema, 10_000, 7);
        let rows: Vec<_> = (0..g.chunks()).flat_map(|i| g.chunk(i)).collect();
        assert_eq!(rows.len(), 10_000);
        // Chunks do not depend on each other: generating them backwards gives the same rows.
        let again: Vec<_> = (0..g.chunks())
            .rev()
            .flat_map(|i| g.chunk(i).into_iter().rev())
            .collect();
        assert!(rows.iter().eq(again.iter().rev()));
        let other = generator(&schema, 10_000, 8);
        assert_ne!(
            rows[..100],
            other.chunk(0)[..100],
            "another seed, other data"
        );
        let emails: BTreeSet<&String> = rows.iter().map(|r| r[1].as_ref().unwrap()).collect();
        assert_eq!(emails.len(), 10_000);
        assert!(emails.iter().all(|e| e.len() <= 40 && e.contains('@')));
        let ids: BTreeSet<&String> = rows.iter().map(|r| r[0].as_ref().unwrap()).collect();
        assert_eq!(ids.len(), 10_000);
        let nulls = rows.iter().filter(|r| r[2].is_none()).count();
        assert!(
            (1200..=1800).contains(&nulls),
            "about 15% NULLs, got {nulls}"
        );
    }
}
