//! The streaming copy of `mask`: per table, rows are read from the source's snapshot,
//! masked, encoded and loaded into the target, all at once. Columns a worker thread can mask
//! on its own (no uniqueness, no other rows or columns) are masked in parallel; the rest
//! (unique keys, values following a parent key, shuffles, templates) in row order on one
//! task, since they depend on what came before.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use fake::rand::SeedableRng;
use fake::rand::rngs::StdRng;
use fake::rand::seq::SliceRandom;
use tokio::sync::mpsc;

use super::detect::Dictionary;
use super::key::MaskKey;
use super::rules::Transform;
use super::transform::{ColumnMask, Uniqueness};
use super::{MaskPlan, TableMask, read_all};
use crate::engine::{ReadQuery, RowStore, SqlCopy};
use crate::report::TableCopy;
use crate::seed::encode::Encoder;
use crate::seed::plan::TablePlan;
use crate::{Error, Result};

type Rows = Vec<Vec<Option<String>>>;

/// Copies every table of the plan from `source` (its snapshot open) into `target` (its
/// schema in place). `progress` hears (table, rows copied).
pub async fn copy(
    source: &mut dyn SqlCopy,
    target: &mut dyn RowStore,
    plan: &MaskPlan,
    key: &MaskKey,
    progress: &mut (dyn FnMut(&str, u64) + Send),
) -> Result<Vec<TableCopy>> {
    let mut uniqueness = Uniqueness::default();
    let plan = &with_dictionary(source, plan, key, &mut uniqueness).await?;
    let mut copied = Vec::new();
    for table in &plan.tables {
        let started = Instant::now();
        let rows = copy_table(source, target, table, key, &mut uniqueness, progress).await?;
        copied.push(TableCopy {
            table: table.table.qualified(),
            rows,
            ms: started.elapsed().as_millis() as u64,
            columns: described(table),
        });
    }
    Ok(copied)
}

/// With a `scrub` column in the plan: the values every other masked text column holds, read
/// first with their masked values (through `uniqueness`, as the copy will mask them), so that
/// `scrub` replaces a surname, an email or a customer number inside free text the way its own
/// column has it.
async fn with_dictionary(
    source: &mut dyn SqlCopy,
    plan: &MaskPlan,
    key: &MaskKey,
    uniqueness: &mut Uniqueness,
) -> Result<MaskPlan> {
    let mut plan = plan.clone();
    if !plan
        .tables
        .iter()
        .any(|t| t.has(|t| *t == Transform::Scrub))
    {
        return Ok(plan);
    }
    let mut dictionary = Dictionary::default();
    for table in &plan.tables {
        let wanted: Vec<usize> = (0..table.columns.len())
            .filter(|i| {
                !table.follows[*i]
                    && table.masks[*i].as_ref().is_some_and(|m| {
                        !matches!(
                            m.transform,
                            Transform::Keep
                                | Transform::Scrub
                                | Transform::Shuffle
                                | Transform::Template(_)
                        )
                    })
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let columns: Vec<String> = wanted.iter().map(|i| table.columns[*i].clone()).collect();
        let query = ReadQuery {
            filter: table.filter.clone(),
            ..ReadQuery::default()
        };
        let rows = read_all(source, &table.table, &columns, &query).await?;
        for row in rows {
            for (j, value) in row.iter().enumerate() {
                let Some(original) = value.as_deref() else {
                    continue;
                };
                if !Dictionary::worth(original) {
                    continue;
                }
                let mask = table.masks[wanted[j]].as_ref().expect("a masked column");
                let masked = uniqueness.apply(mask, key, original, mask.unique)?;
                let masked = masked.unwrap_or_else(|| "[redacted]".to_string());
                if masked != original {
                    dictionary.add(original, &masked);
                }
            }
        }
    }
    let dictionary = Arc::new(dictionary);
    for table in &mut plan.tables {
        for mask in table.masks.iter_mut().flatten() {
            if mask.transform == Transform::Scrub {
                mask.dictionary = Some(dictionary.clone());
            }
        }
    }
    Ok(plan)
}

/// The transformer of each masked column, as the report shows it.
fn described(table: &TableMask) -> BTreeMap<String, String> {
    table
        .columns
        .iter()
        .zip(&table.masks)
        .zip(&table.follows)
        .filter_map(|((c, m), follows)| {
            m.as_ref().map(|m| {
                let mut how = m.transform.describe();
                if *follows {
                    how.push_str(" (follows its parent key)");
                }
                (c.clone(), how)
            })
        })
        .collect()
}

/// What the in-order pass needs for one table.
struct InOrder<'a> {
    table: &'a TableMask,
    key: &'a MaskKey,
    /// Per column: masked by a worker already.
    independent: &'a [bool],
    /// Shuffled columns' values, permuted, in read order.
    shuffled: BTreeMap<usize, Vec<Option<String>>>,
    templates: Vec<(usize, String)>,
}

async fn copy_table(
    source: &mut dyn SqlCopy,
    target: &mut dyn RowStore,
    table: &TableMask,
    key: &MaskKey,
    uniqueness: &mut Uniqueness,
    progress: &mut (dyn FnMut(&str, u64) + Send),
) -> Result<u64> {
    let name = table.table.qualified();
    let query = read_query(table);
    let shuffled = shuffled_columns(source, table, &query, key).await?;
    let columns = table
        .columns
        .iter()
        .filter_map(|c| table.table.column(c).cloned())
        .collect();
    let load_plan = TablePlan::for_columns(&table.table, columns);
    let encoder = Encoder::new(target.load_encoding(), &load_plan);
    let independent = independent(table);
    let order = InOrder {
        table,
        key,
        independent: &independent,
        shuffled,
        templates: templates(table),
    };
    let workers = Workers::spawn(&table.masks, &independent, key);
    let (rows_tx, rows_rx) = mpsc::channel::<Rows>(2);
    let (bytes_tx, bytes_rx) = mpsc::channel::<Vec<u8>>(2);
    let Workers { to, from } = workers;
    let dispatch = dispatch(rows_rx, to);
    let transform = async {
        let mut from = from;
        let (mut index, mut seq) = (0usize, 0usize);
        let count = from.len();
        while let Some(mut batch) = from[seq % count].recv().await {
            seq += 1;
            for row in &mut batch {
                order.mask(row, index, uniqueness)?;
                index += 1;
            }
            let mut bytes = Vec::new();
            encoder.encode(&batch, &mut bytes);
            progress(&name, index as u64);
            if bytes_tx.send(bytes).await.is_err() {
                break;
            }
        }
        drop(bytes_tx);
        Ok::<u64, Error>(index as u64)
    };
    let read = source.read_rows(&table.table, &table.columns, &query, rows_tx);
    let load_columns = load_plan.schema_columns();
    let load = target.load(&load_plan.table, &load_columns, bytes_rx);
    let (read, (), transformed, loaded) = tokio::join!(read, dispatch, transform, load);
    read?;
    transformed?;
    loaded
}

/// Shuffled columns are read twice, so both reads must come in the same order.
fn read_query(table: &TableMask) -> ReadQuery {
    let order = if !table.has(|t| *t == Transform::Shuffle) {
        Vec::new()
    } else if table.table.primary_key.is_empty() {
        table.columns.clone()
    } else {
        table.table.primary_key.clone()
    };
    ReadQuery {
        filter: table.filter.clone(),
        order,
        limit: None,
    }
}

/// Every shuffled column's values, read first and permuted with the key.
async fn shuffled_columns(
    source: &mut dyn SqlCopy,
    table: &TableMask,
    query: &ReadQuery,
    key: &MaskKey,
) -> Result<BTreeMap<usize, Vec<Option<String>>>> {
    let name = table.table.qualified();
    let mut shuffled = BTreeMap::new();
    for (i, mask) in table.masks.iter().enumerate() {
        if !mask
            .as_ref()
            .is_some_and(|m| m.transform == Transform::Shuffle)
        {
            continue;
        }
        let values = read_all(source, &table.table, &table.columns[i..=i], query).await?;
        let mut values: Vec<Option<String>> = values.into_iter().map(|mut r| r.remove(0)).collect();
        let seed = key.number("shuffle", format!("{name}.{}", table.columns[i]).as_bytes());
        values.shuffle(&mut StdRng::seed_from_u64(seed));
        shuffled.insert(i, values);
    }
    Ok(shuffled)
}

fn templates(table: &TableMask) -> Vec<(usize, String)> {
    table
        .masks
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m.as_ref().map(|m| &m.transform) {
            Some(Transform::Template(t)) => Some((i, t.clone())),
            _ => None,
        })
        .collect()
}

/// Per column: a worker can mask it alone (no uniqueness, no parent key, no other column).
fn independent(table: &TableMask) -> Vec<bool> {
    table
        .masks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.as_ref().is_some_and(|m| {
                !m.unique
                    && !table.follows[i]
                    && !matches!(m.transform, Transform::Shuffle | Transform::Template(_))
            })
        })
        .collect()
}

/// Worker threads masking the independent columns of batches, in and out in turn.
struct Workers {
    to: Vec<mpsc::Sender<Rows>>,
    from: Vec<mpsc::Receiver<Rows>>,
}

impl Workers {
    fn spawn(masks: &[Option<ColumnMask>], independent: &[bool], key: &MaskKey) -> Workers {
        let count = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        let shared = Arc::new((masks.to_vec(), independent.to_vec(), key.clone()));
        let (mut to, mut from) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let (to_tx, mut to_rx) = mpsc::channel::<Rows>(2);
            let (from_tx, from_rx) = mpsc::channel::<Rows>(2);
            to.push(to_tx);
            from.push(from_rx);
            let shared = shared.clone();
            std::thread::spawn(move || {
                let (masks, independent, key) = &*shared;
                while let Some(mut batch) = to_rx.blocking_recv() {
                    for row in &mut batch {
                        for (i, value) in row.iter_mut().enumerate() {
                            if let (true, Some(mask), Some(original)) =
                                (independent[i], &masks[i], value.as_deref())
                            {
                                *value = mask.apply(key, original, 0);
                            }
                        }
                    }
                    if from_tx.blocking_send(batch).is_err() {
                        return;
                    }
                }
            });
        }
        Workers { to, from }
    }
}

/// Hands the batches read to the workers in turn (the in-order pass takes them back in the
/// same turn, so row order is kept).
async fn dispatch(mut rows: mpsc::Receiver<Rows>, to: Vec<mpsc::Sender<Rows>>) {
    let mut seq = 0usize;
    while let Some(batch) = rows.recv().await {
        if to[seq % to.len()].send(batch).await.is_err() {
            break;
        }
        seq += 1;
    }
}

impl InOrder<'_> {
    /// Masks what depends on order in row `index`: unique and following columns through
    /// `uniqueness`, shuffles, then templates over the row's masked values.
    fn mask(
        &self,
        row: &mut [Option<String>],
        index: usize,
        uniqueness: &mut Uniqueness,
    ) -> Result<()> {
        let table = self.table;
        for (i, value) in row.iter_mut().enumerate() {
            let Some(mask) = &table.masks[i] else {
                continue;
            };
            if self.independent[i] {
                continue;
            }
            match &mask.transform {
                Transform::Shuffle => {
                    *value = self
                        .shuffled
                        .get(&i)
                        .and_then(|v| v.get(index).cloned())
                        .flatten();
                }
                Transform::Template(_) => {}
                _ => {
                    let Some(original) = value.as_deref() else {
                        continue;
                    };
                    let unique = mask.unique && !table.follows[i];
                    *value = uniqueness.apply(mask, self.key, original, unique)?;
                }
            }
        }
        self.fill_templates(row);
        Ok(())
    }

    fn fill_templates(&self, row: &mut [Option<String>]) {
        let table = self.table;
        for (i, template) in &self.templates {
            let mut text = template.clone();
            for (j, column) in table.columns.iter().enumerate() {
                let needle = format!("{{{column}}}");
                if text.contains(&needle) {
                    text = text.replace(&needle, row[j].as_deref().unwrap_or(""));
                }
            }
            if row[*i].is_some() {
                let max = table.masks[*i].as_ref().and_then(|m| m.max_len);
                row[*i] = Some(match max {
                    Some(max) => text.chars().take(max).collect(),
                    None => text,
                });
            }
        }
    }
}
