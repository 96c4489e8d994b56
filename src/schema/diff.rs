//! Comparing two schema snapshots: which objects differ (with a unified diff of their
//! canonical text), what changed inside each, one short line per change (`column favorite:
//! default false added`), and which tables and views only list their columns in another order.
//! An object that only changed its name is one rename (`Change::Renamed`), with the objects
//! whose text only follows the new name folded into it: one cause, one change.

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
    /// added`, `index t_fav added`); empty for objects added or removed whole. A rename:
    /// the other objects that only follow the new name (`table public.items: refers to
    /// public.item_ids`).
    pub changes: Vec<LineChange>,
    /// A rename: the object's reference after it (`reference` is the one before).
    pub renamed_to: Option<String>,
}

/// One change inside an object: the part it is about and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// `column favorite`, `index t_fav`, `constraint t_pkey`, or the line itself.
    pub part: String,
    /// The column the part is, when it is one.
    pub column: Option<String>,
    /// The constraint the part is, when it is one (`items_pkey`; MySQL's primary key is
    /// `PRIMARY`, its unique indexes and foreign keys by name).
    pub constraint: Option<String>,
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

impl LineChange {
    /// The change as said after the object's own name (`type public.mood`): a change of the
    /// object's header line is about the object itself, so its part is not said twice.
    pub fn within(&self, object: &str) -> String {
        match self.part == object {
            true => self.what.clone(),
            false => self.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Modified,
    /// The same object under another name.
    Renamed,
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
            renamed_to: None,
        });
    }
    let objects = fold_renames(objects, before, after, labels);

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

/// The last part of a reference, the object's own name: `public.items_id_seq` →
/// `items_id_seq`, `public.f(integer)` → `f`.
fn own_name(reference: &str) -> &str {
    let name = reference.split_once(':').map_or(reference, |(_, n)| n);
    let name = name.split('(').next().unwrap_or(name);
    name.rsplit('.').next().unwrap_or(name)
}

/// `text` with every whole identifier `from` written `to`.
fn rename_in(text: &str, from: &str, to: &str) -> String {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before_ok = !rest[..at].chars().next_back().is_some_and(is_ident);
        let after = &rest[at + from.len()..];
        let after_ok = !after.chars().next().is_some_and(is_ident);
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Pairs of an object removed and one of the same kind added whose text differs only by its
/// name become one rename; modified objects whose text only follows the new names fold into
/// the rename they follow.
fn fold_renames(
    objects: Vec<ObjectChange>,
    before: &SchemaSnapshot,
    after: &SchemaSnapshot,
    labels: (&str, &str),
) -> Vec<ObjectChange> {
    let text = |snapshot: &SchemaSnapshot, key: &str| {
        snapshot
            .objects
            .get(key)
            .map(|o| o.text.clone())
            .unwrap_or_default()
    };
    let mut renames: Vec<(usize, usize)> = Vec::new();
    for (r, removed) in objects.iter().enumerate() {
        if removed.change != Change::Removed {
            continue;
        }
        let old_text = text(before, &removed.key);
        let found = objects.iter().enumerate().find(|(a, added)| {
            added.change == Change::Added
                && added.kind == removed.kind
                && !renames.iter().any(|(_, taken)| taken == a)
                && rename_in(
                    &text(after, &added.key),
                    own_name(&added.reference),
                    own_name(&removed.reference),
                ) == old_text
        });
        if let Some((a, _)) = found {
            renames.push((r, a));
        }
    }
    if renames.is_empty() {
        return objects;
    }
    let names: Vec<(String, String)> = renames
        .iter()
        .map(|(r, a)| {
            let (from, to) = (&objects[*r].reference, &objects[*a].reference);
            (own_name(to).to_string(), own_name(from).to_string())
        })
        .collect();
    // Which rename a modified object only follows, if one.
    let follows = |change: &ObjectChange| -> Option<usize> {
        if change.change != Change::Modified {
            return None;
        }
        let mut new = text(after, &change.key);
        for (to, from) in &names {
            new = rename_in(&new, to, from);
        }
        if new != text(before, &change.key) {
            return None;
        }
        let now = text(after, &change.key);
        names
            .iter()
            .position(|(to, _)| rename_in(&now, to, "\u{0}") != now)
    };
    let mut folded: Vec<Vec<LineChange>> = vec![Vec::new(); renames.len()];
    let mut keep = Vec::new();
    for (i, change) in objects.iter().enumerate() {
        if let Some(which) = follows(change) {
            let (r, a) = renames[which];
            folded[which].push(LineChange {
                part: format!("{} {}", change.kind, shown(&change.reference)),
                column: None,
                constraint: None,
                what: format!(
                    "refers to {} instead of {}",
                    shown(&objects[a].reference),
                    shown(&objects[r].reference)
                ),
            });
        } else if !renames.iter().any(|(r, a)| *r == i || *a == i) {
            keep.push(change.clone());
        }
    }
    for ((r, a), dependents) in renames.into_iter().zip(folded) {
        let (removed, added) = (&objects[r], &objects[a]);
        let (old, new) = (text(before, &removed.key), text(after, &added.key));
        let diff = TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(labels.0, labels.1)
            .to_string();
        keep.push(ObjectChange {
            change: Change::Renamed,
            renamed_to: Some(added.reference.clone()),
            changes: dependents,
            diff,
            ..removed.clone()
        });
    }
    keep
}

/// A reference as a sentence shows it: `type:public.mood` → `public.mood`.
pub fn shown(reference: &str) -> &str {
    reference
        .split_once(':')
        .map_or(reference, |(_, name)| name)
}

/// What a canonical line is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    /// `column favorite`, `constraint t_pkey`, `unique index t_email`, `primary key`, or the
    /// line's first two words.
    name: String,
    /// How many of the line's words `name` took.
    words: usize,
    column: Option<String>,
    constraint: Option<String>,
    /// Whether `name` is a member's kind and name; otherwise it is the line's first two words,
    /// which pair two versions of a line but say too little of a line added or removed alone
    /// (`row level added` for `row level security enabled`).
    named: bool,
}

impl Part {
    /// What a line added or removed alone is called: the member, or the whole line.
    fn alone(self, line: &str) -> String {
        if self.named {
            self.name
        } else {
            line.to_string()
        }
    }
}

/// A name as a canonical line writes it at the start of `text`: bare, `"quoted"` or
/// `` `quoted` `` (doubled quotes inside), unquoted; and the words it took.
fn leading_name(text: &str) -> Option<(String, usize)> {
    let text = text.trim_start();
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '`');
    let Some(quote) = quote else {
        let word = text.split_whitespace().next()?;
        return Some((word.to_string(), 1));
    };
    let mut name = String::new();
    let mut chars = text[1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().map(|(_, n)| *n) == Some(quote) {
                chars.next();
                name.push(quote);
                continue;
            }
            let taken = &text[..i + 2];
            return Some((name, taken.split_whitespace().count()));
        }
        name.push(c);
    }
    None
}

/// What a canonical line is about: a column, a constraint (PostgreSQL `constraint NAME`;
/// MySQL's `primary key`, `unique index NAME`, `foreign key NAME`, `check NAME`), another
/// member by kind and name (`index`, `trigger`, `policy`, `rule`, `partition`), or its first
/// two words.
fn part_of(line: &str) -> Part {
    let line = line.trim();
    // A MongoDB document shape line, `address.city: string|null (85%)`: about the field path,
    // a column of its top-level field.
    if let Some(path) = line
        .split_whitespace()
        .next()
        .and_then(|w| w.strip_suffix(':'))
        .filter(|p| !p.is_empty() && line.ends_with("%)"))
    {
        let field = path.split('.').next().unwrap_or(path);
        return Part {
            name: path.to_string(),
            words: 1,
            column: Some(field.trim_end_matches("[]").to_string()),
            constraint: None,
            named: true,
        };
    }
    if line.starts_with("primary key") {
        return Part {
            name: "primary key".into(),
            words: 2,
            column: None,
            constraint: Some("PRIMARY".into()),
            named: true,
        };
    }
    const MEMBERS: &[(&str, Option<bool>)] = &[
        ("column ", Some(false)),
        ("constraint ", Some(true)),
        ("foreign key ", Some(true)),
        ("unique index ", Some(true)),
        ("check ", Some(true)),
        ("index ", None),
        ("trigger ", None),
        ("policy ", None),
        ("rule ", None),
        ("partition ", None),
        ("statistics ", None),
    ];
    for (prefix, constraint) in MEMBERS {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let Some((name, taken)) = leading_name(rest) else {
            continue;
        };
        return Part {
            name: format!("{prefix}{name}"),
            words: prefix.split_whitespace().count() + taken,
            column: (*constraint == Some(false)).then(|| name.clone()),
            constraint: (*constraint == Some(true)).then_some(name),
            named: true,
        };
    }
    let words: Vec<String> = line
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_matches(|c| c == '`' || c == '"').to_string())
        .collect();
    let name = match words.as_slice() {
        [kind, name] => format!("{kind} {name}"),
        _ => line.to_string(),
    };
    Part {
        words: words.len(),
        name,
        column: None,
        constraint: None,
        named: false,
    }
}

/// What changed between two lines about the same part (`skip`: the words naming it): the
/// words between their common start and common end (`default false added`,
/// `varchar(100) → varchar(50)`).
fn describe(old: &str, new: &str, skip: usize) -> String {
    let o: Vec<&str> = old.split_whitespace().skip(skip).collect();
    let n: Vec<&str> = new.split_whitespace().skip(skip).collect();
    if let Some(said) = enum_labels(&o.join(" "), &n.join(" ")) {
        return said;
    }
    let prefix = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let suffix = o[prefix..]
        .iter()
        .rev()
        .zip(n[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    // A value after its keyword (`deterministic false`, `default 0`) is said with it.
    let keyword = prefix
        .checked_sub(1)
        .map(|i| o[i])
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    let with_keyword = |words: &[&str]| match keyword {
        Some(k) if words.len() == 1 => format!("{k} {}", words[0]),
        _ => words.join(" "),
    };
    let (o, n) = (&o[prefix..o.len() - suffix], &n[prefix..n.len() - suffix]);
    let (gone, came) = match o.is_empty() || n.is_empty() {
        true => (o.join(" "), n.join(" ")),
        false => (with_keyword(o), with_keyword(n)),
    };
    match (gone.is_empty(), came.is_empty()) {
        (true, false) => format!("{came} added"),
        (false, true) => format!("{gone} removed"),
        _ => format!("{gone} → {came}"),
    }
}

/// A PostgreSQL enum's labels that came or went (`label 'meh' added`), or their new order:
/// the words of `enum ('happy', 'sad')` cut at their commas say little (`'sad') → 'sad',
/// 'meh')`). `None` for anything else.
fn enum_labels(old: &str, new: &str) -> Option<String> {
    let labels = |text: &str| -> Option<Vec<String>> {
        let inner = text.strip_prefix("enum (")?.strip_suffix(')')?;
        Some(inner.split(", ").map(str::to_string).collect())
    };
    let (o, n) = (labels(old)?, labels(new)?);
    let said = |list: Vec<&String>, what: &str| -> Option<String> {
        let names: Vec<&str> = list.iter().map(|l| l.as_str()).collect();
        match names.len() {
            0 => None,
            1 => Some(format!("label {} {what}", names[0])),
            _ => Some(format!("labels {} {what}", names.join(", "))),
        }
    };
    let gone = said(o.iter().filter(|l| !n.contains(l)).collect(), "removed");
    let came = said(n.iter().filter(|l| !o.contains(l)).collect(), "added");
    let parts: Vec<String> = gone.into_iter().chain(came).collect();
    Some(match parts.is_empty() {
        true => format!("labels reordered: {old} → {new}"),
        false => parts.join("; "),
    })
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
        let part = part_of(old);
        let (what, name) = match added.iter().position(|new| part_of(new).name == part.name) {
            Some(i) => (describe(old, &added.remove(i), part.words), part.name),
            None => ("removed".into(), part.clone().alone(old)),
        };
        out.push(LineChange {
            what,
            part: name,
            column: part.column,
            constraint: part.constraint,
        });
    }
    for new in added {
        let part = part_of(&new);
        out.push(LineChange {
            part: part.clone().alone(&new),
            column: part.column,
            constraint: part.constraint,
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
                    auto_updated: false,
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
    fn a_line_that_is_no_member_is_said_whole_when_added_or_removed_alone() {
        let a = snapshot(
            "table public.t\n  replica identity full\n  column a int\n",
            &["a"],
        );
        let b = snapshot(
            "table public.t\n  row level security enabled\n  column a int\n  index t_a (a)\n",
            &["a"],
        );
        let d = diff(&a, &b, ("a", "b"));
        let lines: Vec<String> = d.objects[0].changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "replica identity full removed",
                "row level security enabled added",
                "index t_a added",
            ]
        );
    }

    #[test]
    fn an_enums_labels_that_came_or_went_are_named() {
        assert_eq!(
            enum_labels("enum ('new', 'paid')", "enum ('new', 'paid', 'void')").as_deref(),
            Some("label 'void' added")
        );
        assert_eq!(
            enum_labels("enum ('a', 'b', 'c')", "enum ('a', 'd')").as_deref(),
            Some("labels 'b', 'c' removed; label 'd' added")
        );
        assert_eq!(
            enum_labels("enum ('a', 'b')", "enum ('b', 'a')").as_deref(),
            Some("labels reordered: enum ('a', 'b') → enum ('b', 'a')")
        );
        assert_eq!(enum_labels("varchar(10)", "text"), None);
        let a = SchemaSnapshot {
            objects: [(
                "type public.state".to_string(),
                SchemaObject {
                    kind: "type".into(),
                    reference: "public.state".into(),
                    table: None,
                    text: "type public.state enum ('new', 'paid')\n".into(),
                },
            )]
            .into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.objects.get_mut("type public.state").unwrap().text =
            "type public.state enum ('new', 'paid', 'void')\n".into();
        let d = diff(&a, &b, ("a", "b"));
        let lines: Vec<String> = d.objects[0].changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(lines, ["type public.state: label 'void' added"]);
        assert_eq!(
            d.objects[0].changes[0].within("type public.state"),
            "label 'void' added"
        );
    }

    #[test]
    fn each_change_names_its_column_or_constraint() {
        let a = snapshot(
            "table public.t\n  column \"first name\" text\n  constraint t_pkey PRIMARY KEY (id)\n  constraint t_a_check CHECK (a > 0)\n",
            &["first name"],
        );
        let b = snapshot(
            "table public.t\n  column \"first name\" varchar(10)\n  constraint t_pkey PRIMARY KEY (id, a)\n",
            &["first name"],
        );
        let d = diff(&a, &b, ("a", "b"));
        let changes = &d.objects[0].changes;
        let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "column first name: text → varchar(10)",
                "constraint t_pkey: (id) → (id, a)",
                "constraint t_a_check removed",
            ]
        );
        assert_eq!(changes[0].column.as_deref(), Some("first name"));
        assert_eq!(changes[1].constraint.as_deref(), Some("t_pkey"));
        assert_eq!(changes[1].column, None);
        assert_eq!(changes[2].constraint.as_deref(), Some("t_a_check"));
    }

    #[test]
    fn a_document_field_whose_type_changed_is_one_change_of_its_field() {
        let a = snapshot(
            "document shape of db.users\n  _id: objectId (100%)\n  address.city: string (90%)\n  phone: string (100%)\n  tags[]: string (60%)\n",
            &["_id", "address", "phone", "tags"],
        );
        let b = snapshot(
            "document shape of db.users\n  _id: objectId (100%)\n  address.city: string|null (90%)\n  phone: null (100%)\n",
            &["_id", "address", "phone", "tags"],
        );
        let d = diff(&a, &b, ("a", "b"));
        let changes = &d.objects[0].changes;
        let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "address.city: string → string|null",
                "phone: string → null",
                "tags[] removed",
            ]
        );
        let columns: Vec<Option<&str>> = changes.iter().map(|c| c.column.as_deref()).collect();
        assert_eq!(columns, [Some("address"), Some("phone"), Some("tags")]);
    }

    #[test]
    fn mysql_keys_are_told_apart_by_name() {
        let a = snapshot(
            "table shop.t\n  primary key BTREE (`id`)\n  unique index `t_a` BTREE (`a`)\n  unique index `t_b` BTREE (`b`)\n  foreign key `fk_x` (x) references shop.x (id) on update restrict on delete restrict\n",
            &["id"],
        );
        let b = snapshot(
            "table shop.t\n  primary key BTREE (`id`, `a`)\n  unique index `t_b` BTREE (`b`, `a`)\n  foreign key `fk_x` (x) references shop.x (id) on update restrict on delete cascade\n",
            &["id"],
        );
        let d = diff(&a, &b, ("a", "b"));
        let changes = &d.objects[0].changes;
        let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "primary key: (`id`) → (`id`, `a`)",
                "unique index t_a removed",
                "unique index t_b: (`b`) → (`b`, `a`)",
                "foreign key fk_x: delete restrict → delete cascade",
            ]
        );
        let names: Vec<Option<&str>> = changes.iter().map(|c| c.constraint.as_deref()).collect();
        assert_eq!(
            names,
            [Some("PRIMARY"), Some("t_a"), Some("t_b"), Some("fk_x")]
        );
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
