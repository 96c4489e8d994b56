//! `driftless mask`: a copy of a real database with keyed, consistent masking.
//!
//! The source is only read, in one snapshot. Each table's rows stream through the column
//! transformers into the target (COPY / LOAD DATA), parents before children so that unique
//! keys resolve their collisions before the foreign keys that follow them need the answer.

mod copy;
pub mod detect;
pub mod documents;
pub mod key;
pub mod rules;
pub mod subset;
pub mod transform;

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc;

use crate::engine::{ReadQuery, SqlCopy};
use crate::schema::{Column, ColumnKind, SchemaSnapshot, Table};
use crate::seed::rules_for;
use crate::seed::values::Hint;
use crate::{Error, Result};
pub use copy::copy;
use detect::{Dictionary, Evidence, PiiKind};
use rules::{Rule, Rules, Transform};
use transform::ColumnMask;

/// Rows sampled per table for PII detection.
pub const SAMPLE_ROWS: usize = 1000;

/// How one table is copied.
#[derive(Debug, Clone)]
pub struct TableMask {
    pub table: Table,
    /// The columns copied (generated columns are left to the target).
    pub columns: Vec<String>,
    /// Per copied column: its mask, or `None` to keep it.
    pub masks: Vec<Option<ColumnMask>>,
    /// Per copied column: it follows a masked parent key through a foreign key.
    pub follows: Vec<bool>,
    /// The subset condition, if any.
    pub filter: Option<String>,
}

impl TableMask {
    fn has(&self, f: impl Fn(&Transform) -> bool) -> bool {
        self.masks.iter().flatten().any(|m| f(&m.transform))
    }
}

/// The whole job, in copy order.
#[derive(Debug, Clone, Default)]
pub struct MaskPlan {
    pub tables: Vec<TableMask>,
}

/// The tables `mask` copies: those that take rows directly (partitions come through their
/// parent).
pub fn copied_tables(schema: &SchemaSnapshot) -> BTreeSet<String> {
    schema
        .tables
        .values()
        .filter(|t| t.seed_directly)
        .map(|t| t.qualified())
        .collect()
}

/// Samples every copied table and judges every column.
pub async fn detect_all(
    engine: &mut dyn SqlCopy,
    schema: &SchemaSnapshot,
) -> Result<BTreeMap<(String, String), Evidence>> {
    let mut found = BTreeMap::new();
    let mut sampled = Vec::new();
    for name in copied_tables(schema) {
        let table = &schema.tables[&name];
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let rows = read_all(
            engine,
            table,
            &columns,
            &ReadQuery {
                limit: Some(SAMPLE_ROWS),
                ..ReadQuery::default()
            },
        )
        .await?;
        for (i, column) in table.columns.iter().enumerate() {
            let samples: Vec<&str> = rows.iter().filter_map(|r| r[i].as_deref()).collect();
            if let Some(evidence) = detect::detect(&table.name, column, &samples) {
                found.insert((name.clone(), column.name.clone()), evidence);
            }
        }
        sampled.push((name, rows));
    }
    // Free text that mentions the sampled values of personal columns (a surname, an email, a
    // customer number) is personal too, even when nothing in it looks personal by shape.
    let mut kinds: BTreeMap<String, PiiKind> = BTreeMap::new();
    for (name, rows) in &sampled {
        let table = &schema.tables[name];
        for (i, column) in table.columns.iter().enumerate() {
            let Some(e) = found.get(&(name.clone(), column.name.clone())) else {
                continue;
            };
            if names_people(e.kind) {
                for value in rows.iter().filter_map(|r| r[i].as_deref()) {
                    kinds.entry(value.to_string()).or_insert(e.kind);
                }
            }
        }
    }
    let known = known_dictionary(&kinds);
    for (name, rows) in &sampled {
        let table = &schema.tables[name];
        for (i, column) in table.columns.iter().enumerate() {
            let key = (name.clone(), column.name.clone());
            if found.contains_key(&key)
                || !matches!(
                    column.kind,
                    ColumnKind::Text { .. } | ColumnKind::Char { .. }
                )
            {
                continue;
            }
            let samples: Vec<&str> = rows.iter().filter_map(|r| r[i].as_deref()).collect();
            if let Some(e) = mentions(&samples, &known, &kinds) {
                found.insert(key, e);
            }
        }
    }
    Ok(found)
}

/// Kinds whose values, found inside free text, make it personal.
pub fn names_people(kind: PiiKind) -> bool {
    matches!(
        kind,
        PiiKind::Email
            | PiiKind::Phone
            | PiiKind::FirstName
            | PiiKind::LastName
            | PiiKind::Name
            | PiiKind::Address
            | PiiKind::NationalId
            | PiiKind::Iban
            | PiiKind::Card
    )
}

/// A dictionary of known personal values (their kind as the replacement text).
pub fn known_dictionary(kinds: &BTreeMap<String, PiiKind>) -> Dictionary {
    let mut known = Dictionary::default();
    for value in kinds.keys() {
        known.add(value, value);
    }
    known
}

/// Free text whose samples mention known personal values: at least three values, or 2%.
pub fn mentions(
    samples: &[&str],
    known: &Dictionary,
    kinds: &BTreeMap<String, PiiKind>,
) -> Option<Evidence> {
    if known.is_empty() || samples.is_empty() {
        return None;
    }
    let mut with = 0;
    let mut inside = std::collections::BTreeSet::new();
    for value in samples {
        // Text, not a value of the same kind (a column repeating another's values is found by
        // its own name or shape).
        if kinds.contains_key(value.trim()) {
            continue;
        }
        let found = known.find(value);
        if !found.is_empty() {
            with += 1;
            for (_, original) in found {
                if let Some(kind) = kinds.get(original) {
                    inside.insert(*kind);
                }
            }
        }
    }
    (with >= 3 || (with > 0 && with * 50 >= samples.len())).then(|| Evidence {
        kind: PiiKind::FreeText,
        by_name: false,
        matched: with,
        sampled: samples.len(),
        inside: inside.into_iter().collect(),
    })
}

/// The transformer suggested for a kind, and its TOML lines.
pub fn suggestion(kind: PiiKind) -> (&'static str, &'static str) {
    match kind {
        PiiKind::Email => ("email", "transform = \"email\""),
        PiiKind::Phone => ("fake", "transform = \"fake\"\ngenerator = \"phone\""),
        PiiKind::FirstName => ("fake", "transform = \"fake\"\ngenerator = \"first_name\""),
        PiiKind::LastName => ("fake", "transform = \"fake\"\ngenerator = \"last_name\""),
        PiiKind::Name => ("fake", "transform = \"fake\"\ngenerator = \"name\""),
        PiiKind::Address => ("fake", "transform = \"fake\"\ngenerator = \"street\""),
        PiiKind::City => ("fake", "transform = \"fake\"\ngenerator = \"city\""),
        PiiKind::Zip => ("fake", "transform = \"fake\"\ngenerator = \"zip\""),
        PiiKind::BirthDate => ("noise", "transform = \"noise\"\ndays = 180"),
        PiiKind::NationalId | PiiKind::Iban | PiiKind::Ip => ("hash", "transform = \"hash\""),
        PiiKind::Card => ("partial", "transform = \"partial\"\nkeep_last = 4"),
        PiiKind::Secret => ("redact", "transform = \"redact\""),
        PiiKind::Salary => ("noise", "transform = \"noise\"\nrelative = 0.1"),
        PiiKind::FreeText => ("scrub", "transform = \"scrub\""),
    }
}

async fn read_all(
    engine: &mut dyn SqlCopy,
    table: &Table,
    columns: &[String],
    query: &ReadQuery,
) -> Result<Vec<Vec<Option<String>>>> {
    gathered(|tx| engine.read_rows(table, columns, query, tx)).await
}

/// Everything `read` sends in batches on the channel it is given, gathered while it reads
/// (the SQL reader's rows, the document reader's documents).
pub async fn gathered<T, N, F>(read: impl FnOnce(mpsc::Sender<Vec<T>>) -> F) -> Result<Vec<T>>
where
    F: std::future::Future<Output = Result<N>>,
{
    let (tx, mut rx) = mpsc::channel(4);
    let collect = async {
        let mut all = Vec::new();
        while let Some(batch) = rx.recv().await {
            all.extend(batch);
        }
        all
    };
    let (read, all) = tokio::join!(read(tx), collect);
    read?;
    Ok(all)
}

/// Plans the copy: rules checked against the schema (unknown tables and columns, transformers
/// that do not fit the type are errors at the rule's line), foreign keys following their
/// parent's mask, unique columns marked.
pub fn plan(
    schema: &SchemaSnapshot,
    rules: &Rules,
    filters: &BTreeMap<String, String>,
) -> Result<MaskPlan> {
    check_rules_exist(schema, rules)?;
    let wanted = copied_tables(schema);
    let order = crate::seed::plan::fill_order(schema, &wanted, true)?;
    // Masks by (qualified table, column), filled in parent-first order.
    let mut effective: BTreeMap<(String, String), ColumnMask> = BTreeMap::new();
    let mut tables = Vec::new();
    for (name, _) in order {
        let table = &schema.tables[&name];
        let columns: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !c.generated)
            .map(|c| c.name.clone())
            .collect();
        let mut masks = Vec::new();
        let mut follows = Vec::new();
        for column_name in &columns {
            let (mask, follow) = column_mask(table, column_name, rules, &effective)?;
            if let Some(mask) = &mask {
                effective.insert((name.clone(), column_name.clone()), mask.clone());
            }
            masks.push(mask);
            follows.push(follow);
        }
        tables.push(TableMask {
            table: table.clone(),
            columns,
            masks,
            follows,
            filter: filters.get(&name).cloned(),
        });
    }
    Ok(MaskPlan { tables })
}

/// An error about the rule at `line` of the rules file.
fn rule_error(rules: &Rules, line: usize, message: String) -> Error {
    match &rules.path {
        Some(path) => Error::InputAt {
            path: path.clone(),
            line,
            message,
        },
        None => Error::input(message),
    }
}

/// Every rule must name a table and column that exist.
fn check_rules_exist(schema: &SchemaSnapshot, rules: &Rules) -> Result<()> {
    for (table, columns) in &rules.tables {
        let found = schema
            .tables
            .values()
            .find(|t| t.qualified() == *table || t.name == *table);
        for (column, rule) in columns {
            let message = match found {
                None => format!("no table `{table}` in the source database"),
                Some(t) if t.column(column).is_none() => {
                    format!("no column `{column}` in {}", t.qualified())
                }
                _ => continue,
            };
            return Err(rule_error(rules, rule.line, message));
        }
    }
    Ok(())
}

/// How one column is copied: its mask (`None`: as it is) and whether it follows a masked
/// parent key. `effective` holds the masks of the tables planned before (parents first).
fn column_mask(
    table: &Table,
    column_name: &str,
    rules: &Rules,
    effective: &BTreeMap<(String, String), ColumnMask>,
) -> Result<(Option<ColumnMask>, bool)> {
    let name = table.qualified();
    let column = table.column(column_name).expect("listed column exists");
    let own = rules.get(&table.schema, &table.name, column_name);
    // A foreign key column takes its parent's mask, so that joins still match.
    let parent = table.foreign_keys.iter().find_map(|fk| {
        let i = fk.columns.iter().position(|c| c == column_name)?;
        effective
            .get(&(fk.ref_table.clone(), fk.ref_columns[i].clone()))
            .map(|m| (m, fk))
    });
    if let Some((parent_mask, fk)) = parent {
        if let Some(rule) = own
            && rule.transform != parent_mask.transform
        {
            return Err(rule_error(
                rules,
                rule.line,
                format!(
                    "{name}.{column_name} is a foreign key to {}: it is masked like its parent ({}); remove its rule",
                    fk.ref_table,
                    parent_mask.transform.describe()
                ),
            ));
        }
        let mut mask = parent_mask.clone();
        mask.column = column.clone();
        mask.unique = false;
        mask.max_len = max_len(&column.kind);
        return Ok((Some(mask), true));
    }
    let Some(rule) = own.filter(|r| r.transform != Transform::Keep) else {
        return Ok((None, false));
    };
    Ok((Some(own_mask(table, column, rule, rules)?), false))
}

/// The mask of a column's own rule, checked against the column's type and the table.
fn own_mask(table: &Table, column: &Column, rule: &Rule, rules: &Rules) -> Result<ColumnMask> {
    let name = table.qualified();
    let column_name = &column.name;
    transform::validate(column, &rule.transform)
        .map_err(|m| rule_error(rules, rule.line, format!("{name}.{column_name} {m}")))?;
    if let Transform::Template(template) = &rule.transform
        && let Some(reference) = template_columns(template)
            .into_iter()
            .find(|r| table.column(r).is_none())
    {
        return Err(rule_error(
            rules,
            rule.line,
            format!(
                "the template of {name}.{column_name} names `{reference}`, which {name} does not have"
            ),
        ));
    }
    let mut column_rules = rules_for(table, column_name);
    if let Transform::Fake { locale, .. } = &rule.transform {
        column_rules.locale = *locale;
    }
    let unique = std::iter::once(&table.primary_key)
        .chain(table.unique_keys.iter())
        .any(|k| k.len() == 1 && k[0] == *column_name);
    Ok(ColumnMask {
        column: column.clone(),
        domain: rule.transform.domain(),
        transform: rule.transform.clone(),
        rules: column_rules,
        hint: Hint::for_column(&table.name, column_name),
        unique,
        max_len: max_len(&column.kind),
        dictionary: None,
    })
}

fn max_len(kind: &ColumnKind) -> Option<usize> {
    match kind {
        ColumnKind::Text { max_len, .. } => max_len.map(|m| m as usize),
        ColumnKind::Char { len, .. } => Some(*len as usize),
        _ => None,
    }
}

/// `{first_name} {last_name}` → `first_name`, `last_name`.
fn template_columns(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// Columns that look personal and are copied as they are without a rule saying so (an
/// explicit `keep` is the user's decision).
pub fn unmasked<'a>(
    plan: &MaskPlan,
    rules: &Rules,
    evidence: &'a BTreeMap<(String, String), Evidence>,
) -> Vec<(&'a (String, String), &'a Evidence)> {
    evidence
        .iter()
        .filter(|((table, column), _)| {
            plan.tables.iter().any(|t| {
                t.table.qualified() == *table
                    && rules.get(&t.table.schema, &t.table.name, column).is_none()
                    && t.columns
                        .iter()
                        .position(|c| c == column)
                        .is_some_and(|i| t.masks[i].is_none())
            })
        })
        .collect()
}
