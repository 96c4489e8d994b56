//! Turning a [`TablePlan`] into rows, a chunk at a time.
//!
//! Every chunk has its own random generator, seeded from the seed, the table and the chunk
//! number: chunks can be generated in any order, on any number of threads, and still come out
//! byte for byte the same.

use std::sync::Arc;

use fake::rand::rngs::StdRng;
use fake::rand::{RngExt, SeedableRng};

use super::plan::{ColumnPlan, Source, TablePlan};
use super::values::{self, Request};
use super::{SeedStyle, stable_hash};
use crate::{Error, Result};

/// Rows per chunk: the unit of generation, encoding and loading.
pub const CHUNK_ROWS: usize = 4096;

/// Every this many rows, one is an edge row under [`SeedStyle::EdgeCases`].
pub(crate) const EDGE_EVERY: usize = 5;

/// One row: text values (`None` = NULL) in the order of `TablePlan::columns`.
pub type Row = Vec<Option<String>>;

/// Key tuples of a parent table (the referenced columns, as text).
pub type Keys = Arc<Vec<Vec<String>>>;

/// A join table's key: parents combined so that no combination repeats.
#[derive(Debug)]
struct Combo {
    fks: Vec<usize>,
    /// Parents per foreign key, in `fks` order.
    sizes: Vec<u64>,
    total: u64,
    /// Coprime with `total`: row `i` takes combination `i * stride mod total`, which looks
    /// random and never repeats.
    stride: u64,
}

/// Generates the rows of one table.
#[derive(Debug)]
pub struct TableGen {
    plan: TablePlan,
    seed: u64,
    style: SeedStyle,
    /// Per foreign key: the parent's keys; `None` when the key is filled later (a cycle).
    parents: Vec<Option<Keys>>,
    /// The foreign key whose cardinality decides the rows, and the end row of each parent's
    /// children.
    driver: Option<(usize, Vec<u64>)>,
    combos: Vec<Combo>,
    rows: usize,
    /// Columns in the order they are computed: those that follow another column come last,
    /// then references to an earlier row of the same table.
    order: Vec<usize>,
    /// Per foreign key filled within the chunk ([`super::plan::FkPlan::in_chunk`]): the
    /// planned column of each referenced key column.
    own_keys: Vec<Option<Vec<usize>>>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Combo {
    /// The combinations of the parents of the foreign keys in `group`.
    fn new(group: &[usize], parents: &[Option<Keys>]) -> Combo {
        let sizes: Vec<u64> = group
            .iter()
            .map(|i| parents[*i].as_ref().map_or(0, |k| k.len() as u64))
            .collect();
        let total = sizes.iter().product::<u64>();
        let mut stride = (total as f64 * 0.618_033_988_7) as u64 | 1;
        while total > 1 && gcd(stride, total) != 1 {
            stride += 1;
        }
        Combo {
            fks: group.to_vec(),
            sizes,
            total,
            stride: stride.max(1),
        }
    }
}

/// The foreign key whose `per_parent` cardinality decides the rows (the first one not
/// deferred), with the end row of each parent's children, drawn from the table's seed.
fn driver(
    plan: &TablePlan,
    parents: &[Option<Keys>],
    table_seed: u64,
) -> Option<(usize, Vec<u64>)> {
    let index = plan
        .fks
        .iter()
        .position(|f| f.per_parent.is_some() && f.reads_parent_keys())?;
    let fk = &plan.fks[index];
    let (lo, hi) = fk.per_parent.unwrap_or((0, 0));
    let parents = parents[index].as_ref().map_or(0, |k| k.len());
    let mut rng = StdRng::seed_from_u64(table_seed ^ 0x5eed_c0de);
    let mut end = 0u64;
    let ends: Vec<u64> = (0..parents)
        .map(|_| {
            end += children(lo, hi, fk.mean, &mut rng);
            end
        })
        .collect();
    Some((index, ends))
}

impl TableGen {
    /// `parents[i]` are the keys of the parent of `plan.fks[i]` (`None` for deferred keys).
    /// Fails when a NOT NULL foreign key has no parent rows to point at.
    pub fn new(
        plan: TablePlan,
        parents: Vec<Option<Keys>>,
        seed: u64,
        style: SeedStyle,
    ) -> Result<TableGen> {
        let table_seed = seed ^ stable_hash(plan.qualified().as_bytes());
        let mut rows = plan.rows;
        for (fk, keys) in plan.fks.iter().zip(&parents) {
            let count = keys.as_ref().map_or(0, |k| k.len());
            if !fk.reads_parent_keys() {
                continue;
            }
            if count == 0 && !fk.nullable && rows > 0 {
                return Err(Error::input(format!(
                    "cannot seed {}: foreign key {} needs rows in {}, which has none",
                    plan.qualified(),
                    fk.name,
                    fk.parent
                )));
            }
            if fk.one_to_one && !fk.nullable {
                rows = rows.min(count);
            }
        }
        let driver = driver(&plan, &parents, table_seed);
        if let Some((_, ends)) = &driver {
            rows = ends.last().copied().unwrap_or(0) as usize;
        }
        let combos: Vec<Combo> = plan
            .combos
            .iter()
            .map(|group| Combo::new(group, &parents))
            .collect();
        for combo in &combos {
            rows = rows.min(combo.total as usize);
        }
        let own_keys = own_keys(&plan);
        let own = |i: &usize| matches!(plan.columns[*i].source, Source::Key { fk, .. } if own_keys[fk].is_some());
        let after = |i: &usize| matches!(plan.columns[*i].source, Source::After { .. });
        let mut order: Vec<usize> = (0..plan.columns.len())
            .filter(|i| !after(i) && !own(i))
            .collect();
        order.extend((0..plan.columns.len()).filter(after));
        order.extend((0..plan.columns.len()).filter(own));
        Ok(TableGen {
            plan,
            seed: table_seed,
            style,
            parents,
            driver,
            combos,
            rows,
            order,
            own_keys,
        })
    }

    pub fn plan(&self) -> &TablePlan {
        &self.plan
    }

    /// Rows this table gets (after cardinalities and key limits).
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn chunks(&self) -> usize {
        self.rows.div_ceil(CHUNK_ROWS)
    }

    /// The rows of chunk `index`: rows `index * CHUNK_ROWS ..` up to the end.
    pub fn chunk(&self, index: usize) -> Vec<Row> {
        let start = index * CHUNK_ROWS;
        let end = (start + CHUNK_ROWS).min(self.rows);
        let mut rng = StdRng::seed_from_u64(
            self.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let mut rows = Vec::with_capacity(end - start);
        for i in start..end {
            let row = self.row(i, &mut rng, &rows);
            rows.push(row);
        }
        rows
    }

    /// Which parent (index into its keys) each foreign key of row `i` points at; for a key
    /// filled within the chunk, which of the `earlier` rows (`None`: the row itself).
    fn parents_of(&self, i: usize, rng: &mut StdRng, earlier: usize) -> Vec<Option<usize>> {
        let mut chosen: Vec<Option<usize>> = vec![None; self.plan.fks.len()];
        for combo in &self.combos {
            let mut code = (i as u64 % combo.total.max(1)) * combo.stride % combo.total.max(1);
            for (fk, size) in combo.fks.iter().zip(&combo.sizes) {
                chosen[*fk] = Some((code % size) as usize);
                code /= size;
            }
        }
        for (index, fk) in self.plan.fks.iter().enumerate() {
            if chosen[index].is_some() {
                continue;
            }
            if fk.in_chunk {
                chosen[index] = (earlier > 0).then(|| rng.random_range(0..earlier));
                continue;
            }
            let Some(keys) = self.parents[index].as_ref().filter(|k| !k.is_empty()) else {
                continue;
            };
            if fk.deferred {
                continue;
            }
            let null_ratio = self
                .plan
                .columns
                .iter()
                .find(|c| c.column.name == fk.columns[0])
                .map_or(0.0, |c| c.null_ratio);
            let driving = self.driver.as_ref().is_some_and(|(d, _)| *d == index);
            if !driving && fk.nullable && null_ratio > 0.0 && rng.random_bool(null_ratio) {
                continue;
            }
            let n = keys.len();
            chosen[index] = if let Some((_, ends)) = self.driver.as_ref().filter(|_| driving) {
                Some(ends.partition_point(|end| *end <= i as u64).min(n - 1))
            } else if fk.one_to_one {
                (i < n).then_some(i)
            } else if fk.skew > 0.0 {
                let u: f64 = rng.random();
                Some(((n as f64) * u.powf(1.0 + fk.skew * 2.0)) as usize % n)
            } else {
                Some(rng.random_range(0..n))
            };
        }
        chosen
    }

    /// Row `i`, after the `earlier` rows of its chunk.
    fn row(&self, i: usize, rng: &mut StdRng, earlier: &[Row]) -> Row {
        let chosen = self.parents_of(i, rng, earlier.len());
        let edge = self.style == SeedStyle::EdgeCases && i % EDGE_EVERY == EDGE_EVERY - 1;
        let mut row: Row = vec![None; self.plan.columns.len()];
        for &j in &self.order {
            let c = &self.plan.columns[j];
            if let Source::Key { fk, position } = &c.source {
                row[j] = match &self.own_keys[*fk] {
                    Some(key) => match chosen[*fk] {
                        Some(p) => earlier[p][key[*position]].clone(),
                        None => row[key[*position]].clone(),
                    },
                    None => chosen[*fk]
                        .and_then(|p| self.parents[*fk].as_ref().map(|k| k[p][*position].clone())),
                };
                continue;
            }
            // Edge rows keep their values, except in columns that must stay NULL.
            if c.null_ratio > 0.0 && (!edge || c.null_ratio >= 1.0) && rng.random_bool(c.null_ratio)
            {
                continue;
            }
            row[j] = self.value(c, i, &row, edge, rng);
        }
        row
    }

    /// The value of column `c` (not a key) in row `i`, whose earlier columns are in `row`.
    fn value(
        &self,
        c: &ColumnPlan,
        i: usize,
        row: &Row,
        edge: bool,
        rng: &mut StdRng,
    ) -> Option<String> {
        let request = |column, hint, rules, edge| Request {
            column,
            hint,
            rules,
            row: i,
            unique: c.unique,
            edge,
        };
        match &c.source {
            Source::OneOf { values, cumulative } => {
                let index = if c.unique {
                    i % values.len()
                } else {
                    let u: f64 = rng.random();
                    cumulative.partition_point(|w| *w < u).min(values.len() - 1)
                };
                Some(values[index].clone())
            }
            Source::After {
                column,
                inclusive,
                rules,
            } => row[*column]
                .as_deref()
                .and_then(|earlier| values::after(&c.column.kind, earlier, *inclusive, rng))
                .or_else(|| {
                    let r = request(&c.column, values::Hint::None, rules, edge);
                    values::value(&r, rng)
                }),
            Source::Value { hint, rules } => {
                values::value(&request(&c.column, *hint, rules, edge), rng)
            }
            // The limits of the later type are not edge cases of the text column holding them.
            Source::Cast {
                column,
                hint,
                rules,
            } => values::value(&request(column, *hint, rules, false), rng)
                .and_then(|v| values::shortened(v, &column.kind, &c.column.kind, i)),
            Source::Key { .. } => None,
        }
    }
}

/// For each foreign key filled within the chunk, the planned columns of the keys it points at.
fn own_keys(plan: &TablePlan) -> Vec<Option<Vec<usize>>> {
    plan.fks
        .iter()
        .map(|fk| {
            if !fk.in_chunk {
                return None;
            }
            fk.parent_columns
                .iter()
                .map(|c| plan.columns.iter().position(|p| p.column.name == *c))
                .collect()
        })
        .collect()
}

/// Children of one parent: uniform in `lo..=hi`, or around `mean` (Poisson, clipped).
fn children(lo: usize, hi: usize, mean: Option<f64>, rng: &mut StdRng) -> u64 {
    let n = match mean {
        Some(mean) if mean > 0.0 => {
            if mean < 30.0 {
                // Knuth's method.
                let limit = (-mean).exp();
                let (mut k, mut p) = (0usize, 1.0f64);
                loop {
                    p *= rng.random::<f64>();
                    if p <= limit {
                        break k;
                    }
                    k += 1;
                }
            } else {
                // Normal approximation (Box-Muller).
                let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                (mean + z * mean.sqrt()).round().max(0.0) as usize
            }
        }
        Some(_) => 0,
        None => rng.random_range(lo..=hi),
    };
    n.clamp(lo, hi) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_stay_in_bounds_near_the_mean() {
        let mut rng = StdRng::seed_from_u64(3);
        let counts: Vec<u64> = (0..5000)
            .map(|_| children(0, 20, Some(3.0), &mut rng))
            .collect();
        assert!(counts.iter().all(|c| *c <= 20));
        let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
        assert!((2.8..3.2).contains(&mean), "{mean}");
        assert!(counts.contains(&0));
        let uniform: Vec<u64> = (0..1000).map(|_| children(2, 4, None, &mut rng)).collect();
        assert!(uniform.iter().all(|c| (2..=4).contains(c)));
    }
}
