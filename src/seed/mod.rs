//! Seeding empty tables with deterministic, constraint-aware synthetic rows.
//!
//! Before each migration every empty table gets `rows` rows: parents before children (foreign
//! key values are picked from the parent's real keys), unique and primary key values derived
//! from the row number so they cannot collide, simple CHECK constraints respected, NULLs in
//! about 15% of nullable values, realistic values chosen by column name (email, phone, city,
//! ...). The same `seed` gives the same rows. Rows the server still rejects are counted and
//! skipped: seeding never aborts a run.

mod rules;
mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use fake::rand::rngs::StdRng;
use fake::rand::{RngExt, SeedableRng};

use crate::Result;
use crate::engine::Engine;
use crate::schema::{SchemaSnapshot, Table};

pub use rules::{ColumnRules, rules_for};

/// How seeded data looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeedStyle {
    /// Realistic values only.
    #[default]
    Realistic,
    /// Realistic values, plus every fifth row at the limits of each column's type (longest
    /// strings with non-ASCII text, extreme numbers, all fractional-second digits): engines that
    /// silently truncate or convert lose exactly these on a narrowing round trip.
    EdgeCases,
}

/// Every this many rows, one is an edge row under [`SeedStyle::EdgeCases`].
const EDGE_EVERY: usize = 5;

/// Parent keys read per foreign key.
const KEY_SAMPLE: usize = 1000;
/// Share of NULLs in nullable columns, in percent.
const NULL_PERCENT: u32 = 15;

/// What seeding did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedStats {
    pub tables: usize,
    pub rows: u64,
    /// Rows the server rejected.
    pub skipped: u64,
}

/// FNV-1a: a hash that is the same in every build, for seeds and cache keys.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How much and what kind of data to seed.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    /// Rows per empty table.
    pub rows: usize,
    pub seed: u64,
    pub style: SeedStyle,
}

/// Rows generated and inserted at a time (bounded memory, progress for large tables).
const CHUNK: usize = 5_000;

/// Fills every empty seedable table of `schema` with `options.rows` rows; `progress` hears
/// (table, rows done, rows wanted) after every chunk.
pub async fn seed_empty_tables(
    engine: &mut dyn Engine,
    schema: &SchemaSnapshot,
    options: SeedOptions,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<SeedStats> {
    let SeedOptions { rows, seed, style } = options;
    let mut stats = SeedStats::default();
    if rows == 0 {
        return Ok(stats);
    }
    let empty: BTreeSet<String> = engine.empty_tables(schema).await?.into_iter().collect();
    for name in fill_order(schema, &empty) {
        let table = &schema.tables[&name];
        let plan = TablePlan::new(table);
        let mut parent_keys = HashMap::new();
        for fk in &table.foreign_keys {
            if fk.ref_table == name {
                continue;
            }
            let keys = match schema.tables.get(&fk.ref_table) {
                Some(parent) => {
                    engine
                        .sample_keys(parent, &fk.ref_columns, KEY_SAMPLE)
                        .await?
                }
                None => Vec::new(),
            };
            parent_keys.insert(fk.name.clone(), keys);
        }
        if plan.columns.is_empty() {
            continue;
        }
        let mut rng = StdRng::seed_from_u64(seed ^ stable_hash(name.as_bytes()));
        let (mut done, mut skipped) = (0u64, 0u64);
        for start in (0..rows).step_by(CHUNK) {
            let end = (start + CHUNK).min(rows);
            let generated = plan.rows(start..end, &parent_keys, style, &mut rng);
            let inserted = engine.insert_rows(table, &plan.columns, &generated).await?;
            done += inserted.rows;
            skipped += inserted.skipped;
            progress(&name, end as u64, rows as u64);
        }
        crate::debug!("seeded {name}: {done} rows, {skipped} skipped");
        stats.tables += 1;
        stats.rows += done;
        stats.skipped += skipped;
    }
    Ok(stats)
}

/// The empty tables in an order where parents come before their children; cycles are
/// broken arbitrarily (the foreign key columns of the late side then stay NULL or skip).
fn fill_order(schema: &SchemaSnapshot, empty: &BTreeSet<String>) -> Vec<String> {
    let mut order = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    let mut remaining: Vec<&String> = empty.iter().collect();
    while !remaining.is_empty() {
        let ready: Vec<&String> = remaining
            .iter()
            .copied()
            .filter(|name| {
                schema.tables[*name].foreign_keys.iter().all(|fk| {
                    fk.ref_table == **name
                        || !empty.contains(&fk.ref_table)
                        || done.contains(fk.ref_table.as_str())
                })
            })
            .collect();
        // In a cycle nobody is ready: take the first to break it.
        let batch = if ready.is_empty() {
            vec![remaining[0]]
        } else {
            ready
        };
        for name in batch {
            done.insert(name);
            order.push(name.clone());
            remaining.retain(|n| *n != name);
        }
    }
    order
}

/// How to generate the rows of one table.
struct TablePlan<'a> {
    table: &'a Table,
    /// Columns driftless fills (server-filled and unknown types are left to the server).
    columns: Vec<String>,
    rules: HashMap<String, ColumnRules>,
    /// Columns whose values must not repeat.
    unique: HashSet<String>,
    /// Column → (foreign key name, position in the key).
    fk_of: HashMap<String, (String, usize)>,
    /// Foreign keys whose columns are unique as a whole (one-to-one): keys are dealt out.
    one_to_one: HashSet<String>,
}

impl<'a> TablePlan<'a> {
    fn new(table: &'a Table) -> TablePlan<'a> {
        let columns: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !c.server_filled && values::can_generate(&c.kind))
            .map(|c| c.name.clone())
            .collect();
        let mut fk_of = HashMap::new();
        for fk in &table.foreign_keys {
            for (i, c) in fk.columns.iter().enumerate() {
                fk_of.entry(c.clone()).or_insert((fk.name.clone(), i));
            }
        }
        // Each unique key needs one column that never repeats; prefer one that is not a
        // foreign key (those values come from the parent).
        let mut unique = HashSet::new();
        let mut one_to_one = HashSet::new();
        let keys = std::iter::once(&table.primary_key)
            .filter(|k| !k.is_empty())
            .chain(table.unique_keys.iter());
        for key in keys {
            if let Some(free) = key
                .iter()
                .find(|c| !fk_of.contains_key(*c) && columns.contains(c))
            {
                unique.insert(free.clone());
            } else if let Some(fk) = table
                .foreign_keys
                .iter()
                .find(|fk| fk.columns.iter().all(|c| key.contains(c)))
            {
                one_to_one.insert(fk.name.clone());
            }
        }
        let rules = table
            .columns
            .iter()
            .map(|c| (c.name.clone(), rules_for(table, &c.name)))
            .collect();
        TablePlan {
            table,
            columns,
            rules,
            unique,
            fk_of,
            one_to_one,
        }
    }

    fn rows(
        &self,
        range: std::ops::Range<usize>,
        parent_keys: &HashMap<String, Vec<Vec<String>>>,
        style: SeedStyle,
        rng: &mut StdRng,
    ) -> Vec<Vec<Option<String>>> {
        let in_key: HashSet<&String> = self.table.primary_key.iter().collect();
        let mut rows = Vec::with_capacity(range.len());
        for i in range {
            // One parent per foreign key and row, shared by the key's columns.
            let mut chosen: BTreeMap<&str, Option<&Vec<String>>> = BTreeMap::new();
            for (fk, keys) in parent_keys {
                let pick = if keys.is_empty() {
                    None
                } else if self.one_to_one.contains(fk) {
                    keys.get(i)
                } else {
                    Some(&keys[rng.random_range(0..keys.len())])
                };
                chosen.insert(fk.as_str(), pick);
            }
            let edge = style == SeedStyle::EdgeCases && i % EDGE_EVERY == EDGE_EVERY - 1;
            let mut row = Vec::with_capacity(self.columns.len());
            for name in &self.columns {
                let column = self.table.column(name).expect("planned column exists");
                let nullable = column.nullable && !in_key.contains(name);
                if let Some((fk, position)) = self.fk_of.get(name) {
                    let value = chosen
                        .get(fk.as_str())
                        .copied()
                        .flatten()
                        .filter(|_| !(nullable && rng.random_ratio(NULL_PERCENT, 100)))
                        .map(|key| key[*position].clone());
                    row.push(value);
                    continue;
                }
                let unique = self.unique.contains(name);
                if nullable && !unique && !edge && rng.random_ratio(NULL_PERCENT, 100) {
                    row.push(None);
                    continue;
                }
                let request = values::Request {
                    column,
                    rules: &self.rules[name],
                    row: i,
                    unique,
                    edge,
                };
                row.push(values::value(&request, rng));
            }
            rows.push(row);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnKind, ForeignKey, Repertoire};

    fn column(name: &str, kind: ColumnKind, nullable: bool) -> Column {
        Column {
            name: name.into(),
            data_type: String::new(),
            kind,
            nullable,
            has_default: false,
            server_filled: false,
        }
    }

    fn table(name: &str, columns: Vec<Column>, pk: &[&str], fks: Vec<ForeignKey>) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns,
            primary_key: pk.iter().map(|s| s.to_string()).collect(),
            unique_keys: vec![],
            foreign_keys: fks,
            checks: vec![],
            holds_rows: true,
            seed_directly: true,
        }
    }

    fn schema(tables: Vec<Table>) -> SchemaSnapshot {
        let mut s = SchemaSnapshot::default();
        for t in tables {
            s.tables.insert(t.qualified(), t);
        }
        s
    }

    #[test]
    fn parents_come_first() {
        let fk = |name: &str, parent: &str| ForeignKey {
            name: name.into(),
            columns: vec!["p".into()],
            ref_table: format!("public.{parent}"),
            ref_columns: vec!["id".into()],
        };
        let s = schema(vec![
            table("a_child", vec![], &[], vec![fk("f1", "b_parent")]),
            table("b_parent", vec![], &[], vec![fk("f2", "c_root")]),
            table("c_root", vec![], &[], vec![]),
        ]);
        let empty: BTreeSet<String> = s.tables.keys().cloned().collect();
        assert_eq!(
            fill_order(&s, &empty),
            vec!["public.c_root", "public.b_parent", "public.a_child"]
        );
    }

    #[test]
    fn unique_values_do_not_repeat_and_seed_is_deterministic() {
        let t = table(
            "users",
            vec![
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
            &["id"],
            vec![],
        );
        let mut t = t;
        t.unique_keys.push(vec!["email".into()]);
        let plan = TablePlan::new(&t);
        let style = SeedStyle::Realistic;
        let rows = plan.rows(
            0..300,
            &HashMap::new(),
            style,
            &mut StdRng::seed_from_u64(7),
        );
        let mut rng = StdRng::seed_from_u64(7);
        let mut again = plan.rows(0..120, &HashMap::new(), style, &mut rng);
        again.extend(plan.rows(120..300, &HashMap::new(), style, &mut rng));
        assert_eq!(rows, again);
        let emails: HashSet<&String> = rows.iter().map(|r| r[1].as_ref().unwrap()).collect();
        assert_eq!(emails.len(), 300);
        assert!(emails.iter().all(|e| e.len() <= 40 && e.contains('@')));
        let ids: HashSet<&String> = rows.iter().map(|r| r[0].as_ref().unwrap()).collect();
        assert_eq!(ids.len(), 300);
        let nulls = rows.iter().filter(|r| r[2].is_none()).count();
        assert!(
            (15..=90).contains(&nulls),
            "about 15% NULLs, got {nulls}/300"
        );
    }
}
