//! Comparing two schema snapshots.

use similar::TextDiff;

use super::{SchemaObject, SchemaSnapshot};

/// An object whose canonical text differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    pub key: String,
    pub kind: String,
    pub reference: String,
    pub table: Option<String>,
    pub change: Change,
    /// Unified diff of the object's canonical text.
    pub diff: String,
    /// First changed line, for one-line messages.
    pub headline: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Modified,
}

/// A table whose shared columns come in another order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnOrderChange {
    pub table: String,
    pub schema: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    pub objects: Vec<ObjectChange>,
    pub column_order: Vec<ColumnOrderChange>,
}

impl SchemaDiff {
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.column_order.is_empty()
    }

    /// All object diffs in one text, for reports.
    pub fn unified(&self) -> String {
        self.objects.iter().map(|o| o.diff.as_str()).collect()
    }
}

/// Compares `before` with `after`; `labels` name the two states in diff headers.
pub fn diff(before: &SchemaSnapshot, after: &SchemaSnapshot, labels: (&str, &str)) -> SchemaDiff {
    let mut objects = Vec::new();
    let keys: std::collections::BTreeSet<&String> =
        before.objects.keys().chain(after.objects.keys()).collect();
    for key in keys {
        let (b, a) = (before.objects.get(key), after.objects.get(key));
        let change = match (b, a) {
            (Some(b), Some(a)) if b.text == a.text => continue,
            (Some(_), Some(_)) => Change::Modified,
            (Some(_), None) => Change::Removed,
            (None, Some(_)) => Change::Added,
            (None, None) => continue,
        };
        let object: &SchemaObject = a.or(b).expect("one side exists");
        let old = b.map(|o| o.text.as_str()).unwrap_or("");
        let new = a.map(|o| o.text.as_str()).unwrap_or("");
        let text_diff = TextDiff::from_lines(old, new);
        let diff = text_diff
            .unified_diff()
            .context_radius(3)
            .header(labels.0, labels.1)
            .to_string();
        let headline = text_diff
            .iter_all_changes()
            .find(|c| c.tag() != similar::ChangeTag::Equal)
            .map(|c| format!("{}{}", c.tag(), c.value().trim()))
            .unwrap_or_default();
        objects.push(ObjectChange {
            key: key.clone(),
            kind: object.kind.clone(),
            reference: object.reference.clone(),
            table: object.table.clone(),
            change,
            diff,
            headline,
        });
    }

    let mut column_order = Vec::new();
    let tables = if before.ordered_columns || after.ordered_columns {
        Default::default()
    } else {
        before.tables.clone()
    };
    for (name, old) in &tables {
        let Some(new) = after.tables.get(name) else {
            continue;
        };
        let shared = |cols: &[super::Column], other: &super::Table| -> Vec<String> {
            cols.iter()
                .filter(|c| other.column(&c.name).is_some())
                .map(|c| c.name.clone())
                .collect()
        };
        let b = shared(&old.columns, new);
        let a = shared(&new.columns, old);
        if a != b {
            column_order.push(ColumnOrderChange {
                table: old.name.clone(),
                schema: old.schema.clone(),
                before: old.columns.iter().map(|c| c.name.clone()).collect(),
                after: new.columns.iter().map(|c| c.name.clone()).collect(),
            });
        }
    }
    SchemaDiff {
        objects,
        column_order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnKind, Table};

    fn object(text: &str) -> SchemaObject {
        SchemaObject {
            kind: "table".into(),
            reference: "public.t".into(),
            table: Some("t".into()),
            text: text.into(),
        }
    }

    fn table(columns: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: "t".into(),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    data_type: "int".into(),
                    kind: ColumnKind::Int {
                        bytes: 4,
                        unsigned: false,
                    },
                    nullable: true,
                    has_default: false,
                    server_filled: false,
                    generated: false,
                })
                .collect(),
            primary_key: vec![],
            unique_keys: vec![],
            foreign_keys: vec![],
            checks: vec![],
            holds_rows: true,
            seed_directly: true,
            partitioning: None,
        }
    }

    fn snapshot(text: &str, columns: &[&str]) -> SchemaSnapshot {
        let mut s = SchemaSnapshot::default();
        s.objects.insert("table public.t".into(), object(text));
        s.tables.insert("public.t".into(), table(columns));
        s
    }

    #[test]
    fn identical_snapshots_have_no_diff() {
        let a = snapshot("table public.t\n  column a int\n", &["a"]);
        assert!(diff(&a, &a.clone(), ("a", "b")).is_empty());
    }

    #[test]
    fn changed_text_gives_a_unified_diff() {
        let a = snapshot("table public.t\n  column a int\n", &["a"]);
        let b = snapshot("table public.t\n  column a bigint\n", &["a"]);
        let d = diff(&a, &b, ("before up", "after down"));
        assert_eq!(d.objects.len(), 1);
        assert!(d.objects[0].diff.contains("--- before up"));
        assert!(d.objects[0].diff.contains("+  column a bigint"));
        assert_eq!(d.objects[0].headline, "-column a int");
        assert!(d.column_order.is_empty());
    }

    #[test]
    fn column_order_is_reported_apart() {
        let a = snapshot("same\n", &["id", "name", "email"]);
        let b = snapshot("same\n", &["id", "email", "name"]);
        let d = diff(&a, &b, ("a", "b"));
        assert!(d.objects.is_empty());
        assert_eq!(d.column_order.len(), 1);
        // A column that only exists on one side is not an order change.
        let c = snapshot("other\n", &["id", "name", "email", "extra"]);
        assert!(diff(&a, &c, ("a", "b")).column_order.is_empty());
    }
}
