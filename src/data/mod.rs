//! Data fingerprints and their comparison.
//!
//! An engine computes a [`DataFingerprint`] inside the server in one scan per table: the row
//! count and, per column, the number of non-NULL values and an order-independent sum of value
//! hashes. On tables with a primary key every value hash is keyed by its row's key, so a value
//! that moved to another row changes the sum too. Comparing two fingerprints is cheap; only
//! tables that differ are drilled down row by row (see [`RowDiff`]).

use std::collections::BTreeMap;

use serde_json::Value;

mod sequences;
pub mod writes;

pub use sequences::{Collision, SequencePosition, SequenceUser, collisions};

/// Fingerprints of every data-holding table, by qualified name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataFingerprint {
    pub tables: BTreeMap<String, TableFingerprint>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFingerprint {
    pub rows: i64,
    /// Order-independent sum of whole-row hashes (tables without a primary key).
    pub row_sum: Option<String>,
    pub columns: BTreeMap<String, ColumnFingerprint>,
}

/// Non-NULL count and hash sum of one column; equal values in equal rows give equal sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ColumnFingerprint {
    /// `None` where the engine did not count (MySQL's comparison-only fingerprints of
    /// nullable columns: a value turned NULL changes the sum anyway). Fingerprints taken
    /// *before* a change always count, since a column gone later reports how many it held.
    pub non_null: Option<i64>,
    pub sum: String,
}

impl ColumnFingerprint {
    /// The same values: equal sums, and equal counts where both sides counted.
    pub fn same_as(&self, other: &ColumnFingerprint) -> bool {
        self.sum == other.sum
            && match (self.non_null, other.non_null) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    /// Whether the column held any value (the sum of no values is 0).
    pub fn held_values(&self) -> bool {
        match self.non_null {
            Some(n) => n > 0,
            None => self.sum != "0",
        }
    }
}

/// Whether two tables' columns hold the same values, column by column (see
/// [`ColumnFingerprint::same_as`]).
pub fn same_columns(
    a: &BTreeMap<String, ColumnFingerprint>,
    b: &BTreeMap<String, ColumnFingerprint>,
) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(name, fa)| b.get(name).is_some_and(|fb| fa.same_as(fb)))
}

/// How one table's data differs between two fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    Disappeared {
        rows: i64,
    },
    Appeared {
        rows: i64,
    },
    Changed {
        rows_before: i64,
        rows_after: i64,
        /// Columns on both sides whose fingerprints differ.
        changed_columns: Vec<String>,
        /// Columns that held values before and are gone now (with their non-NULL count).
        gone_columns: Vec<(String, Option<i64>)>,
        /// Whole-row sums differ (only tables without a primary key have them).
        rows_differ: bool,
    },
}

/// Compares two fingerprints; tables that are equal are left out.
pub fn compare(before: &DataFingerprint, after: &DataFingerprint) -> BTreeMap<String, TableChange> {
    let mut changes = BTreeMap::new();
    for (name, b) in &before.tables {
        let Some(a) = after.tables.get(name) else {
            changes.insert(name.clone(), TableChange::Disappeared { rows: b.rows });
            continue;
        };
        let mut changed_columns = Vec::new();
        let mut gone_columns = Vec::new();
        for (column, bc) in &b.columns {
            match a.columns.get(column) {
                Some(ac) if !ac.same_as(bc) => changed_columns.push(column.clone()),
                Some(_) => {}
                None if bc.held_values() => gone_columns.push((column.clone(), bc.non_null)),
                None => {}
            }
        }
        let rows_differ = b.row_sum.is_some() && a.row_sum.is_some() && b.row_sum != a.row_sum;
        if b.rows != a.rows
            || !changed_columns.is_empty()
            || !gone_columns.is_empty()
            || rows_differ
        {
            changes.insert(
                name.clone(),
                TableChange::Changed {
                    rows_before: b.rows,
                    rows_after: a.rows,
                    changed_columns,
                    gone_columns,
                    rows_differ,
                },
            );
        }
    }
    for (name, a) in &after.tables {
        if !before.tables.contains_key(name) {
            changes.insert(name.clone(), TableChange::Appeared { rows: a.rows });
        }
    }
    changes
}

/// Row-level differences of one table against the rows captured before the up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowDiff {
    /// Rows were matched by primary key (else compared as multisets of whole rows).
    pub keyed: bool,
    pub rows_before: i64,
    pub rows_after: i64,
    /// Rows present before and not after (by key, or by whole-row value without a key).
    pub rows_missing: i64,
    /// Rows present after and not before.
    pub rows_added: i64,
    /// Keys of some missing rows (`id=17`).
    pub missing_sample: Vec<String>,
    /// The first few missing rows as they were, column by column.
    pub missing_rows: Vec<MissingRow>,
    /// Per column: values changed in rows present on both sides, with sample keys.
    pub columns: BTreeMap<String, ColumnRowDiff>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnRowDiff {
    pub changed: i64,
    pub sample: Vec<String>,
    /// The first few changed values, before and after, so a reader sees the loss.
    pub examples: Vec<ValueChange>,
}

/// One value of a column in one row, as it was before the up and as it is now; `None` is
/// NULL, or no value at all. SQL values are the server's text (cut to [`EXAMPLE_CHARS`]);
/// MongoDB's keep their JSON type, so `"1234"` and `1234` read differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueChange {
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A row that is gone: its key and its values as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissingRow {
    pub key: String,
    pub values: Vec<(String, Option<Value>)>,
}

impl MissingRow {
    /// A row of a SQL capture: `values` are the server's text of `columns`, in order.
    pub fn from_text(key: String, columns: &[String], values: Vec<Option<String>>) -> MissingRow {
        let values = values.into_iter().map(|v| v.map(Value::String));
        MissingRow {
            key,
            values: columns.iter().cloned().zip(values).collect(),
        }
    }
}

/// Before/after examples shown per changed column, and missing rows shown per table.
pub const EXAMPLES: usize = 3;
/// Characters of a value kept for examples (the servers cut there; renderers may cut more).
pub const EXAMPLE_CHARS: usize = 200;

/// The values of some rows before the up and now, by key, in `columns` order, as an engine
/// read them for [`RowDiff::attach_examples`]. A key missing from `now` is a missing row.
#[derive(Debug, Default)]
pub struct RowValues {
    pub columns: Vec<String>,
    pub before: BTreeMap<String, Vec<Option<String>>>,
    pub now: BTreeMap<String, Vec<Option<String>>>,
}

impl RowDiff {
    /// The keys whose values [`RowDiff::attach_examples`] needs: the first [`EXAMPLES`]
    /// sample keys of every changed column and of the missing rows.
    pub fn example_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .columns
            .values()
            .flat_map(|c| c.sample.iter().take(EXAMPLES))
            .chain(self.missing_sample.iter().take(EXAMPLES))
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Fills each changed column's `examples` and `missing_rows` from `values`.
    pub fn attach_examples(&mut self, values: &RowValues) {
        let at = |side: &BTreeMap<String, Vec<Option<String>>>, key: &str, i: usize| {
            side.get(key)
                .and_then(|v| v.get(i).cloned().flatten())
                .map(Value::String)
        };
        for (column, diff) in self.columns.iter_mut() {
            let Some(i) = values.columns.iter().position(|c| c == column) else {
                continue;
            };
            diff.examples = diff
                .sample
                .iter()
                .take(EXAMPLES)
                .filter(|key| values.before.contains_key(*key))
                .map(|key| ValueChange {
                    key: key.clone(),
                    before: at(&values.before, key, i),
                    after: at(&values.now, key, i),
                })
                .collect();
        }
        self.missing_rows = self
            .missing_sample
            .iter()
            .take(EXAMPLES)
            .filter_map(|key| {
                let row = values.before.get(key)?;
                Some(MissingRow::from_text(
                    key.clone(),
                    &values.columns,
                    row.clone(),
                ))
            })
            .collect();
    }
}

/// How the values of a column fared when the up changed its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Survival {
    /// Every value converts back to the old type unchanged.
    Kept,
    /// This many values come back different.
    Lost(i64),
    /// Converting back to the old type fails: the old values cannot be restored.
    NotConvertible(String),
    /// Not measurable (nothing captured, or no primary key to match rows).
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: i64, cols: &[(&str, i64, &str)]) -> TableFingerprint {
        TableFingerprint {
            rows,
            row_sum: None,
            columns: cols
                .iter()
                .map(|(n, c, s)| {
                    (
                        n.to_string(),
                        ColumnFingerprint {
                            non_null: Some(*c),
                            sum: s.to_string(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn fp(tables: &[(&str, TableFingerprint)]) -> DataFingerprint {
        DataFingerprint {
            tables: tables
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
        }
    }

    #[test]
    fn uncounted_columns_compare_by_their_sums() {
        let counted = |n: i64, sum: &str| ColumnFingerprint {
            non_null: Some(n),
            sum: sum.into(),
        };
        let uncounted = |sum: &str| ColumnFingerprint {
            non_null: None,
            sum: sum.into(),
        };
        assert!(counted(3, "9").same_as(&uncounted("9")));
        assert!(uncounted("9").same_as(&counted(3, "9")));
        assert!(!counted(3, "9").same_as(&uncounted("8")));
        assert!(!counted(3, "9").same_as(&counted(2, "9")));
        // Gone later: a column held values if it counted some, or (uncounted) if its sum moved.
        assert!(uncounted("9").held_values() && !uncounted("0").held_values());
        assert!(!counted(0, "0").held_values());
        let before = fp(&[("t", table(2, &[("id", 2, "5"), ("a", 2, "7")]))]);
        let mut after = before.clone();
        for c in after.tables.get_mut("t").unwrap().columns.values_mut() {
            c.non_null = None;
        }
        assert!(compare(&before, &after).is_empty());
        after
            .tables
            .get_mut("t")
            .unwrap()
            .columns
            .get_mut("a")
            .unwrap()
            .sum = "6".into();
        assert!(matches!(
            &compare(&before, &after)["t"],
            TableChange::Changed { changed_columns, .. } if changed_columns == &["a".to_string()]
        ));
    }

    #[test]
    fn equal_fingerprints_have_no_changes() {
        let a = fp(&[("public.t", table(2, &[("id", 2, "5")]))]);
        assert!(compare(&a, &a.clone()).is_empty());
    }

    #[test]
    fn reports_changed_gone_and_disappeared() {
        let before = fp(&[
            (
                "public.t",
                table(2, &[("id", 2, "5"), ("a", 2, "9"), ("b", 1, "3")]),
            ),
            ("public.u", table(4, &[])),
        ]);
        let after = fp(&[
            ("public.t", table(2, &[("id", 2, "5"), ("a", 2, "8")])),
            ("public.v", table(1, &[])),
        ]);
        let changes = compare(&before, &after);
        assert_eq!(
            changes["public.t"],
            TableChange::Changed {
                rows_before: 2,
                rows_after: 2,
                changed_columns: vec!["a".into()],
                gone_columns: vec![("b".into(), Some(1))],
                rows_differ: false,
            }
        );
        assert_eq!(changes["public.u"], TableChange::Disappeared { rows: 4 });
        assert_eq!(changes["public.v"], TableChange::Appeared { rows: 1 });
    }

    #[test]
    fn a_gone_column_without_values_is_not_a_change() {
        let before = fp(&[("public.t", table(2, &[("id", 2, "5"), ("b", 0, "0")]))]);
        let after = fp(&[("public.t", table(2, &[("id", 2, "5")]))]);
        assert!(compare(&before, &after).is_empty());
    }
}
