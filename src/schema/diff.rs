//! Comparing two schema snapshots: which objects differ (with a unified diff of their
//! canonical text), what changed inside each, one short line per change (`column favorite:
//! default false added`), and which tables and views only list their columns in another order.

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
    /// Each change inside a modified object, said in a line (`column favorite: default false
    /// added`, `index t_fav added`); empty for objects added or removed whole.
    pub changes: Vec<LineChange>,
}

/// One change inside an object: the part it is about and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// `column favorite`, `index t_fav`, `constraint t_pkey`, or the line itself.
    pub part: String,
    /// The column the part is, when it is one.
    pub column: Option<String>,
    /// `default false added`, `varchar(100) → varchar(50)`, `added`, `removed`.
    pub what: String,
}

impl std::fmt::Display for LineChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.what.as_str() {
            "added" | "removed" => write!(f, "{} {}", self.part, self.what),
            what => write!(f, "{}: {what}", self.part),
        }
    }
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
    let mut column_order = Vec::new();
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
        if change == Change::Modified
            && let Some(order) = reordered(object, old, new, (before, after))
        {
            column_order.push(order);
            continue;
        }
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
        let changes = match change {
            Change::Modified => line_changes(&text_diff),
            _ => Vec::new(),
        };
        objects.push(ObjectChange {
            key: key.clone(),
            kind: object.kind.clone(),
            reference: object.reference.clone(),
            table: object.table.clone(),
            change,
            diff,
            headline,
            changes,
        });
    }

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

/// An object whose text only lists the same lines in another order (trailing commas aside):
/// a table of an engine whose text keeps column positions (MySQL), or a view over `SELECT *`.
/// Its column-order change, with the columns (a table) or select-list lines (a view) in order.
fn reordered(
    object: &SchemaObject,
    old: &str,
    new: &str,
    (before, after): (&SchemaSnapshot, &SchemaSnapshot),
) -> Option<ColumnOrderChange> {
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.trim().trim_end_matches(',').trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (b, a) = (lines(old), lines(new));
    let (mut sb, mut sa) = (b.clone(), a.clone());
    sb.sort();
    sa.sort();
    if sb != sa || b == a {
        return None;
    }
    let (schema, name) = object
        .reference
        .split_once(':')
        .map_or(object.reference.as_str(), |(_, n)| n)
        .rsplit_once('.')
        .map_or((String::new(), object.reference.clone()), |(s, n)| {
            (s.to_string(), n.to_string())
        });
    let table_columns = |snapshot: &SchemaSnapshot| {
        snapshot
            .tables
            .get(&format!("{schema}.{name}"))
            .map(|t| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
    };
    let (before_cols, after_cols) = match (table_columns(before), table_columns(after)) {
        (Some(b), Some(a)) => (b, a),
        // A view: the lines that moved, in each order.
        _ => {
            let moved = |list: &[String], other: &[String]| -> Vec<String> {
                list.iter()
                    .enumerate()
                    .filter(|(i, l)| other.get(*i) != Some(*l))
                    .map(|(_, l)| l.clone())
                    .collect()
            };
            (moved(&b, &a), moved(&a, &b))
        }
    };
    Some(ColumnOrderChange {
        table: name,
        schema,
        before: before_cols,
        after: after_cols,
    })
}

/// What a canonical line is about: `column favorite`, `index t_fav`, … (its first two words,
/// quotes dropped), or the whole line when it has one word.
fn part_of(line: &str) -> (String, Option<String>) {
    let words: Vec<String> = line
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_matches(|c| c == '`' || c == '"').to_string())
        .collect();
    match words.as_slice() {
        [kind, name] if kind == "column" => (format!("column {name}"), Some(name.clone())),
        [kind, name] => (format!("{kind} {name}"), None),
        _ => (line.trim().to_string(), None),
    }
}

/// What changed between two lines about the same part: the words between their common start
/// and common end (`default false added`, `varchar(100) → varchar(50)`).
fn describe(old: &str, new: &str) -> String {
    let o: Vec<&str> = old.split_whitespace().skip(2).collect();
    let n: Vec<&str> = new.split_whitespace().skip(2).collect();
    let prefix = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let suffix = o[prefix..]
        .iter()
        .rev()
        .zip(n[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let gone = o[prefix..o.len() - suffix].join(" ");
    let came = n[prefix..n.len() - suffix].join(" ");
    match (gone.is_empty(), came.is_empty()) {
        (true, false) => format!("{came} added"),
        (false, true) => format!("{gone} removed"),
        _ => format!("{gone} → {came}"),
    }
}

/// Every change of a modified object's text, a line each: lines about the same part on both
/// sides are one change, the others are parts added or removed.
fn line_changes(text_diff: &TextDiff<'_, '_, str>) -> Vec<LineChange> {
    let mut removed: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    for change in text_diff.iter_all_changes() {
        let line = change.value().trim().to_string();
        match change.tag() {
            similar::ChangeTag::Delete => removed.push(line),
            similar::ChangeTag::Insert => added.push(line),
            similar::ChangeTag::Equal => {}
        }
    }
    let mut out = Vec::new();
    for old in &removed {
        let (part, column) = part_of(old);
        match added.iter().position(|new| part_of(new).0 == part) {
            Some(i) => {
                let new = added.remove(i);
                out.push(LineChange {
                    what: describe(old, &new),
                    part,
                    column,
                });
            }
            None => out.push(LineChange {
                part,
                column,
                what: "removed".into(),
            }),
        }
    }
    for new in added {
        let (part, column) = part_of(&new);
        out.push(LineChange {
            part,
            column,
            what: "added".into(),
        });
    }
    out
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
    fn each_change_is_said_in_a_line() {
        let a = snapshot(
            "table public.t\n  column favorite boolean not null\n  column name varchar(100)\n  index t_name (name)\n",
            &["favorite", "name"],
        );
        let b = snapshot(
            "table public.t\n  column favorite boolean not null default false\n  column name varchar(50)\n  index t_fav (favorite)\n",
            &["favorite", "name"],
        );
        let d = diff(&a, &b, ("a", "b"));
        let lines: Vec<String> = d.objects[0].changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "column favorite: default false added",
                "column name: varchar(100) → varchar(50)",
                "index t_name removed",
                "index t_fav added",
            ]
        );
        assert_eq!(d.objects[0].changes[0].column.as_deref(), Some("favorite"));
    }

    #[test]
    fn a_text_that_only_reorders_lines_is_a_column_order_change() {
        let mut a = snapshot(
            "table public.t\n  column `id` int\n  column `a` int\n  column `b` int\n",
            &["id", "a", "b"],
        );
        let mut b = snapshot(
            "table public.t\n  column `id` int\n  column `b` int\n  column `a` int\n",
            &["id", "b", "a"],
        );
        a.ordered_columns = true;
        b.ordered_columns = true;
        let d = diff(&a, &b, ("a", "b"));
        assert!(d.objects.is_empty(), "{:?}", d.objects);
        assert_eq!(d.column_order[0].before, ["id", "a", "b"]);
        assert_eq!(d.column_order[0].after, ["id", "b", "a"]);
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
