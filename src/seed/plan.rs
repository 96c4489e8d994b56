//! Deciding, before any row exists, how every column of every table will be filled, and
//! refusing what cannot be satisfied (naming table, column and constraint) before anything is
//! written. `--explain` prints these decisions.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use super::future::{ColumnDemands, Demands};
use super::overrides::{ColumnOverride, Overrides, TableOverride};
use super::rules::{ColumnRules, rules_for};
use super::values::{self, Hint, parse_timestamp};
use crate::schema::{
    Column, ColumnKind, ForeignKey, PartitionBound, Partitioning, SchemaSnapshot, Table,
};
use crate::{Error, Result, pii};

/// Share of NULLs in nullable columns unless overridden.
pub const DEFAULT_NULL_RATIO: f64 = 0.15;

/// The share of rows (in percent) in which the deferred key `fk` stays NULL: that of the
/// first column it sets.
pub fn null_percent(table: &TablePlan, fk: &FkPlan) -> u32 {
    let column = fk
        .set_later
        .first()
        .map_or(&fk.columns[0], |p| &fk.columns[*p]);
    let ratio = table
        .columns
        .iter()
        .find(|c| c.column.name == *column)
        .map_or(DEFAULT_NULL_RATIO, |c| c.null_ratio);
    (ratio * 100.0).round() as u32
}

/// Where a column's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The value generator, guided by the column's name and constraints.
    Value { hint: Hint, rules: ColumnRules },
    /// One of a list of values, with cumulative weights.
    OneOf {
        values: Vec<String>,
        cumulative: Vec<f64>,
    },
    /// The parent key of foreign key `fk` (index into `TablePlan::fks`), column `position`.
    Key { fk: usize, position: usize },
    /// Later than (or equal to, when `inclusive`) the value of another planned column.
    After {
        column: usize,
        inclusive: bool,
        rules: ColumnRules,
    },
    /// Values of another type, written as text: a later migration casts the (text) column to
    /// it. `column` is the column with that type.
    Cast {
        column: Column,
        hint: Hint,
        rules: ColumnRules,
    },
}

/// How one column is filled.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    pub column: Column,
    pub source: Source,
    pub null_ratio: f64,
    pub unique: bool,
    /// Why this source was chosen, for `--explain`.
    pub reason: String,
    /// The column looks like personal data (filled with synthetic values only).
    pub personal: bool,
}

/// How rows of a table choose their parent for one foreign key.
#[derive(Debug, Clone, PartialEq)]
pub struct FkPlan {
    pub name: String,
    pub parent: String,
    pub parent_columns: Vec<String>,
    pub columns: Vec<String>,
    /// Each parent at most once (the key is unique in the child).
    pub one_to_one: bool,
    pub nullable: bool,
    /// Children per parent, with an optional mean.
    pub per_parent: Option<(usize, usize)>,
    pub mean: Option<f64>,
    /// Popularity skew of parents (0 = uniform).
    pub skew: f64,
    /// Part of a cycle, or a reference to its own table: filled with NULL (or placeholders),
    /// then set once every table has rows.
    pub deferred: bool,
    /// Positions (in `columns`) of the columns a deferred key sets once every table has rows.
    /// The others stay as generated and the parent must agree with them (a composite key that
    /// shares a column with the table's primary key or another foreign key). Empty unless
    /// `deferred`.
    pub set_later: Vec<usize>,
    /// Every column it sets later is NOT NULL: rows go in with placeholder values while the
    /// DEFERRABLE constraint waits for the end of the transaction.
    pub deferral: bool,
    /// A NOT NULL reference to its own table whose key seeding generates: each row points at
    /// an earlier row of its chunk, the chunk's first row at itself.
    pub in_chunk: bool,
}

impl FkPlan {
    /// Whether rows choose among the parent's existing keys when they are generated (not
    /// later, and not among their own table's rows).
    pub fn reads_parent_keys(&self) -> bool {
        !self.deferred && !self.in_chunk
    }
}

/// The plan of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    pub table: Table,
    /// Rows wanted; with `per_parent` cardinalities the parents decide instead.
    pub rows: usize,
    pub columns: Vec<ColumnPlan>,
    pub fks: Vec<FkPlan>,
    /// Groups of foreign keys (indexes into `fks`) that together make up a unique key with no
    /// column of its own (a join table's primary key): their parent combinations are dealt out
    /// so that no pair repeats.
    pub combos: Vec<Vec<usize>>,
}

impl TablePlan {
    pub fn qualified(&self) -> String {
        self.table.qualified()
    }

    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.column.name.clone()).collect()
    }

    /// The planned columns as the schema describes them, in plan order.
    pub fn schema_columns(&self) -> Vec<Column> {
        self.columns.iter().map(|c| c.column.clone()).collect()
    }

    /// A plan that only names `columns` of `table` (for loading rows that come from
    /// elsewhere, as `mask` does).
    pub fn for_columns(table: &Table, columns: Vec<Column>) -> TablePlan {
        TablePlan {
            table: table.clone(),
            rows: 0,
            columns: columns
                .into_iter()
                .map(|column| ColumnPlan {
                    column,
                    source: Source::Value {
                        hint: Hint::None,
                        rules: ColumnRules::default(),
                    },
                    null_ratio: 0.0,
                    unique: false,
                    reason: String::new(),
                    personal: false,
                })
                .collect(),
            fks: Vec::new(),
            combos: Vec::new(),
        }
    }

    /// Whether the row count follows the parents (a `per_parent` cardinality).
    pub fn rows_from_parents(&self) -> bool {
        self.fks
            .iter()
            .any(|f| f.per_parent.is_some() && f.reads_parent_keys())
    }

    /// Whether some foreign key waits for the end of the transaction (see
    /// [`FkPlan::deferral`]).
    pub fn needs_deferral(&self) -> bool {
        self.fks.iter().any(|f| f.deferral)
    }
}

/// Tables in fill order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedPlan {
    pub tables: Vec<TablePlan>,
    /// Tables left out by the lenient planner, each with why (a NOT NULL column of a type
    /// without a generator): their data is not checked.
    pub unseeded: Vec<(String, String)>,
}

/// What to plan.
#[derive(Clone, Copy)]
pub struct PlanRequest<'a> {
    pub schema: &'a SchemaSnapshot,
    /// Qualified names of the tables to fill.
    pub tables: &'a BTreeSet<String>,
    /// Rows per table unless overridden.
    pub rows: usize,
    /// Per-table row counts from the command line (`users=1000`), by plain or qualified name.
    pub table_rows: &'a BTreeMap<String, usize>,
    pub overrides: &'a Overrides,
    /// Generate integer keys the server would fill (files have no server to fill them).
    pub explicit_keys: bool,
    /// What later migrations will demand of these tables (`check`, `seed --migrations`).
    pub demands: Option<&'a Demands>,
}

/// Plans every requested table. Errors name the table, column and constraint. When later
/// migrations demand something of the tables and the plan cannot honour it, the tables are
/// planned as the schema describes them.
pub fn plan(request: &PlanRequest<'_>) -> Result<SeedPlan> {
    if let Some(view) = request.demands.and_then(|d| d.view(request.schema)) {
        let ahead = PlanRequest {
            schema: &view.schema,
            ..*request
        };
        match plan_with(&ahead, &view.columns) {
            Ok(plan) => return Ok(plan),
            Err(e) => crate::debug!("seeding without what later migrations demand: {e}"),
        }
    }
    plan_with(request, &BTreeMap::new())
}

fn plan_with(
    request: &PlanRequest<'_>,
    future: &BTreeMap<String, ColumnDemands>,
) -> Result<SeedPlan> {
    let order = fill_order(request.schema, request.tables, false)?;
    let mut tables = Vec::new();
    for (name, deferred) in order {
        let table = &request.schema.tables[&name];
        tables.push(plan_table(request, table, &deferred, future.get(&name))?);
    }
    Ok(SeedPlan {
        tables,
        unseeded: Vec::new(),
    })
}

/// Like [`plan`], for `check`: tables that cannot be planned are left out, and a cycle through
/// NOT NULL keys is broken anyway (its rows are then rejected and counted as skipped). A table
/// that cannot be planned with what later migrations demand is planned without it.
pub fn plan_lenient(request: &PlanRequest<'_>) -> SeedPlan {
    let view = request.demands.and_then(|d| d.view(request.schema));
    let ahead = view.as_ref().map(|v| PlanRequest {
        schema: &v.schema,
        ..*request
    });
    let used = ahead.as_ref().unwrap_or(request);
    let order = fill_order(used.schema, used.tables, true).unwrap_or_default();
    let mut tables = Vec::new();
    let mut unseeded = Vec::new();
    for (name, deferred) in order {
        let future = view.as_ref().and_then(|v| v.columns.get(&name));
        let planned = plan_table(used, &used.schema.tables[&name], &deferred, future).or_else(
            |e| match view {
                Some(_) => {
                    crate::debug!("seeding {name} without what later migrations demand: {e}");
                    plan_table(request, &request.schema.tables[&name], &deferred, None)
                }
                None => Err(e),
            },
        );
        match planned {
            Ok(plan) => tables.push(plan),
            Err(e) => {
                crate::debug!("not seeding {name}: {e}");
                unseeded.push((name, e.to_string()));
            }
        }
    }
    SeedPlan { tables, unseeded }
}

/// The tables in an order where parents come first. In a cycle, the foreign keys that close it
/// must be able to wait: one of their columns can be NULL for a while (a composite key with a
/// NULL column is not checked), or the constraint is DEFERRABLE. They are set once every table
/// has rows (returned per table).
pub fn fill_order(
    schema: &SchemaSnapshot,
    wanted: &BTreeSet<String>,
    lenient: bool,
) -> Result<Vec<(String, BTreeSet<String>)>> {
    let mut order = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    let mut remaining: Vec<&String> = wanted.iter().collect();
    while !remaining.is_empty() {
        let pending = |name: &str| -> Vec<&ForeignKey> {
            schema.tables[name]
                .foreign_keys
                .iter()
                .filter(|fk| {
                    fk.ref_table != name
                        && wanted.contains(&fk.ref_table)
                        && !done.contains(fk.ref_table.as_str())
                })
                .collect()
        };
        if let Some(ready) = remaining.iter().position(|n| pending(n).is_empty()) {
            let name = remaining.remove(ready);
            done.insert(name);
            order.push((name.clone(), BTreeSet::new()));
            continue;
        }
        // A cycle: start with a table whose pending foreign keys can all wait.
        let breakable = remaining.iter().position(|n| {
            let table = &schema.tables[n.as_str()];
            let waits = pending(n);
            waits.iter().all(|fk| can_wait(table, fk, &waits))
        });
        let Some(index) = breakable.or(lenient.then_some(0)) else {
            return Err(cycle_error(schema, &remaining, &pending));
        };
        let name = remaining.remove(index);
        let deferred = pending(name).iter().map(|fk| fk.name.clone()).collect();
        done.insert(name);
        order.push((name.clone(), deferred));
    }
    Ok(order)
}

/// Positions of the columns of `fk` that can be set after the rows are in: not part of the
/// table's primary key, and not filled by another of its foreign keys that does not wait too.
fn settable(table: &Table, fk: &ForeignKey, waits: &dyn Fn(&ForeignKey) -> bool) -> Vec<usize> {
    let elsewhere = |c: &String| {
        table.primary_key.contains(c)
            || table
                .foreign_keys
                .iter()
                .any(|o| o.name != fk.name && !waits(o) && o.columns.contains(c))
    };
    (0..fk.columns.len())
        .filter(|p| !elsewhere(&fk.columns[*p]))
        .collect()
}

/// Whether `fk` can be set after the rows are in, while the keys in `waiting` wait too: one
/// of the columns it sets can be NULL until then, or its constraint can be deferred.
fn can_wait(table: &Table, fk: &ForeignKey, waiting: &[&ForeignKey]) -> bool {
    let waits = |o: &ForeignKey| o.ref_table == table.qualified() || waiting.contains(&o);
    let set = settable(table, fk, &waits);
    let nullable = |p: &usize| table.column(&fk.columns[*p]).is_some_and(|c| c.nullable);
    !set.is_empty() && (fk.deferrable || set.iter().any(nullable))
}

/// The error for tables whose foreign keys wait for one another when none of them can be
/// broken. Each of them has a pending key that cannot wait, so following those keys from the
/// first one comes back to a table already passed: that loop is the cycle that cannot be
/// seeded, and each of its keys is named with the columns that keep it from waiting.
fn cycle_error<'s>(
    schema: &'s SchemaSnapshot,
    remaining: &[&String],
    pending: &dyn Fn(&str) -> Vec<&'s ForeignKey>,
) -> Error {
    let stuck = |name: &str| -> Option<(&'s ForeignKey, String)> {
        let table = &schema.tables[name];
        let waiting = pending(name);
        let fk = waiting
            .iter()
            .copied()
            .find(|fk| !can_wait(table, fk, &waiting))?;
        Some((fk, why_it_cannot_wait(table, fk, &waiting)))
    };
    let mut path: Vec<(&str, String)> = Vec::new();
    let mut at: &str = remaining[0];
    while !path.iter().any(|(t, _)| *t == at) {
        let Some((fk, why)) = stuck(at) else {
            break;
        };
        path.push((at, why));
        at = fk.ref_table.as_str();
    }
    let start = path.iter().position(|(t, _)| *t == at).unwrap_or(0);
    let cycle = &path[start..];
    let tables: Vec<&str> = cycle.iter().map(|(t, _)| *t).collect();
    let keys: Vec<&str> = cycle.iter().map(|(_, why)| why.as_str()).collect();
    Error::input(format!(
        "cannot seed {}: their foreign keys form a cycle and none of them can be set after the \
         rows are in ({}); make one of these columns nullable (or, on PostgreSQL, its foreign \
         key DEFERRABLE)",
        tables.join(", "),
        keys.join("; ")
    ))
}

/// `table.column + … → parent (why)` for a key of a cycle that cannot wait.
fn why_it_cannot_wait(table: &Table, fk: &ForeignKey, waiting: &[&ForeignKey]) -> String {
    let t = table.qualified();
    let waits = |o: &ForeignKey| o.ref_table == t || waiting.contains(&o);
    let set = settable(table, fk, &waits);
    let (positions, why): (Vec<usize>, &str) = if set.is_empty() {
        (
            (0..fk.columns.len()).collect(),
            "each also in the primary key or in another foreign key",
        )
    } else {
        (set, "NOT NULL, and the key is not DEFERRABLE")
    };
    let columns: Vec<String> = positions
        .iter()
        .map(|p| format!("{t}.{}", fk.columns[*p]))
        .collect();
    format!("{} → {} ({why})", columns.join(" + "), fk.ref_table)
}

/// Columns whose name says they come after another: (later, earlier).
const ORDERED_NAMES: &[(&str, &str)] = &[
    ("updated_at", "created_at"),
    ("modified_at", "created_at"),
    ("ends_at", "starts_at"),
    ("ended_at", "started_at"),
    ("finished_at", "started_at"),
    ("end_date", "start_date"),
    ("valid_to", "valid_from"),
    ("closed_at", "opened_at"),
    ("delivered_at", "shipped_at"),
];

fn time_like(kind: &ColumnKind) -> bool {
    matches!(kind, ColumnKind::Date | ColumnKind::Timestamp { .. })
}

fn plan_table(
    request: &PlanRequest<'_>,
    table: &Table,
    deferred: &BTreeSet<String>,
    future: Option<&ColumnDemands>,
) -> Result<TablePlan> {
    let name = table.qualified();
    let overrides = request.overrides.table(&table.schema, &table.name);
    check_override_columns(table, overrides)?;
    let input = TableInput {
        table,
        overrides,
        filled: filled_columns(request, table),
        no_override: ColumnOverride::default(),
        future,
    };
    let fks = plan_fks(&input, deferred);
    let keys = KeyPlan::new(&input, fks);
    let planned: Vec<&Column> = table.columns.iter().filter(|c| input.fills(c)).collect();
    let columns = planned
        .iter()
        .map(|c| plan_column(&input, c, &planned, &keys))
        .collect::<Result<Vec<_>>>()?;
    refuse_unfillable(table)?;
    let rows = request
        .table_rows
        .get(&name)
        .or_else(|| request.table_rows.get(&table.name))
        .copied()
        .or(overrides.and_then(|o| o.rows))
        .unwrap_or(request.rows);
    let plan = TablePlan {
        table: table.clone(),
        rows,
        columns,
        fks: keys.fks,
        combos: keys.combos,
    };
    if !plan.rows_from_parents() {
        check_capacity(&plan)?;
    }
    Ok(plan)
}

/// One table with its overrides and the columns seeding fills, as the planning steps see it.
struct TableInput<'a> {
    table: &'a Table,
    overrides: Option<&'a TableOverride>,
    /// Names of the columns seeding fills (see [`filled_columns`]).
    filled: BTreeSet<String>,
    no_override: ColumnOverride,
    /// What later migrations demand of its columns beyond its keys and CHECKs.
    future: Option<&'a ColumnDemands>,
}

impl TableInput<'_> {
    fn column_override(&self, column: &str) -> &ColumnOverride {
        self.overrides
            .and_then(|o| o.columns.get(column))
            .unwrap_or(&self.no_override)
    }

    fn fills(&self, column: &Column) -> bool {
        self.filled.contains(&column.name)
    }

    /// Whether `column` names a column seeding fills.
    fn fills_named(&self, column: &str) -> bool {
        self.filled.contains(column)
    }
}

/// Overrides may only name columns the table has.
fn check_override_columns(table: &Table, overrides: Option<&TableOverride>) -> Result<()> {
    let Some(o) = overrides else {
        return Ok(());
    };
    match o.columns.keys().find(|c| table.column(c).is_none()) {
        Some(column) => Err(Error::input(format!(
            "seed overrides name {}.{column}, which does not exist",
            table.qualified()
        ))),
        None => Ok(()),
    }
}

/// The columns seeding fills: those of a kind it can generate that the server does not fill,
/// and, when writing files (`explicit_keys`), integer keys other tables point at even if the
/// server would number them.
fn filled_columns(request: &PlanRequest<'_>, table: &Table) -> BTreeSet<String> {
    let name = table.qualified();
    let referenced_keys: BTreeSet<&String> = request
        .schema
        .tables
        .values()
        .flat_map(|t| t.foreign_keys.iter())
        .filter(|fk| fk.ref_table == name)
        .flat_map(|fk| fk.ref_columns.iter())
        .collect();
    table
        .columns
        .iter()
        .filter(|c| {
            let explicit_key = request.explicit_keys
                && !c.generated
                && referenced_keys.contains(&c.name)
                && matches!(c.kind, ColumnKind::Int { .. });
            (!c.server_filled || explicit_key) && values::can_generate(&c.kind)
        })
        .map(|c| c.name.clone())
        .collect()
}

/// The foreign keys whose columns seeding fills, with their cardinality overrides (on the
/// key's first column), whether they wait for a cycle to close (and which of their columns
/// are then set later), and how references to the table itself are filled.
fn plan_fks(input: &TableInput<'_>, deferred: &BTreeSet<String>) -> Vec<FkPlan> {
    let table = input.table;
    let name = table.qualified();
    let nullable = |c: &String| table.column(c).is_some_and(|c| c.nullable);
    let waits = |fk: &ForeignKey| deferred.contains(&fk.name) || fk.ref_table == name;
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.columns.iter().all(|c| input.fills_named(c)))
        .map(|fk| {
            let first = input.column_override(&fk.columns[0]);
            let one_to_one = std::iter::once(&table.primary_key)
                .chain(table.unique_keys.iter())
                .any(|k| !k.is_empty() && k.iter().all(|c| fk.columns.contains(c)));
            let in_chunk = !one_to_one && within_chunks(input, fk, &waits);
            let deferred = waits(fk) && !in_chunk;
            let set_later = if deferred {
                settable(table, fk, &waits)
            } else {
                Vec::new()
            };
            let deferral = fk.deferrable
                && !set_later.is_empty()
                && !set_later.iter().any(|p| nullable(&fk.columns[*p]));
            FkPlan {
                name: fk.name.clone(),
                parent: fk.ref_table.clone(),
                parent_columns: fk.ref_columns.clone(),
                columns: fk.columns.clone(),
                one_to_one,
                nullable: fk.columns.iter().all(nullable),
                per_parent: first.per_parent,
                mean: first.mean,
                skew: first.skew.unwrap_or(0.0),
                deferred,
                set_later,
                deferral,
                in_chunk,
            }
        })
        .collect()
}

/// Whether `fk`, a reference to its own table, can be filled while rows are generated: its
/// columns are NOT NULL (so it cannot wait with NULL), its own (no primary key column or other
/// foreign key fills one), and the keys it points at are values seeding generates.
fn within_chunks(
    input: &TableInput<'_>,
    fk: &ForeignKey,
    waits: &dyn Fn(&ForeignKey) -> bool,
) -> bool {
    let table = input.table;
    let in_any_key = |c: &String| table.foreign_keys.iter().any(|f| f.columns.contains(c));
    fk.ref_table == table.qualified()
        && fk
            .columns
            .iter()
            .all(|c| table.column(c).is_some_and(|c| !c.nullable))
        && settable(table, fk, waits).len() == fk.columns.len()
        && fk
            .ref_columns
            .iter()
            .all(|c| input.fills_named(c) && !in_any_key(c))
}

/// The keys of a table: its planned foreign keys, which of them fill each column, the columns
/// that must never repeat, and the groups of foreign keys whose combinations must not.
struct KeyPlan {
    fks: Vec<FkPlan>,
    /// Column → (foreign key, position in it); the first foreign key naming a column fills it.
    key_of: BTreeMap<String, (usize, usize)>,
    /// NOT NULL columns of a waiting foreign key: a generated value until the key is set
    /// (column → the foreign key).
    placeholders: BTreeMap<String, usize>,
    unique: HashSet<String>,
    combos: Vec<Vec<usize>>,
}

impl KeyPlan {
    fn new(input: &TableInput<'_>, fks: Vec<FkPlan>) -> KeyPlan {
        let nullable = |c: &String| input.table.column(c).is_some_and(|c| c.nullable);
        let mut key_of: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut placeholders = BTreeMap::new();
        for (index, fk) in fks.iter().enumerate() {
            // A waiting key leaves the columns it does not set to their own source, and puts
            // placeholders where NULL is not allowed but the key need not hold yet (a NULL in
            // another of its columns, or a deferred constraint).
            let waits = fk.deferred && !fk.set_later.is_empty();
            let may_hold_placeholders =
                fk.deferral || fk.set_later.iter().any(|p| nullable(&fk.columns[*p]));
            for (position, c) in fk.columns.iter().enumerate() {
                if waits && !fk.set_later.contains(&position) {
                    continue;
                }
                if waits && may_hold_placeholders && !nullable(c) {
                    placeholders.entry(c.clone()).or_insert(index);
                    continue;
                }
                key_of.entry(c.clone()).or_insert((index, position));
            }
        }
        let mut keys = KeyPlan {
            fks,
            key_of,
            placeholders,
            unique: HashSet::new(),
            combos: Vec::new(),
        };
        let table = input.table;
        for key in std::iter::once(&table.primary_key)
            .filter(|k| !k.is_empty())
            .chain(table.unique_keys.iter())
        {
            keys.add_unique_key(input, key);
        }
        keys
    }

    /// Each unique key needs one column that never repeats; prefer one that is not a key of a
    /// parent (those values come from the parent). A key made only of foreign keys needs its
    /// parent combinations dealt out instead.
    fn add_unique_key(&mut self, input: &TableInput<'_>, key: &[String]) {
        if let Some(free) = key
            .iter()
            .find(|c| !self.key_of.contains_key(*c) && input.fills_named(c))
        {
            self.unique.insert(free.clone());
            return;
        }
        let fks = &self.fks;
        let inside: Vec<usize> = (0..fks.len())
            .filter(|i| fks[*i].columns.iter().all(|c| key.contains(c)))
            .collect();
        if inside.iter().any(|i| fks[*i].one_to_one) {
            return;
        }
        let covered = key
            .iter()
            .all(|c| inside.iter().any(|i| fks[*i].columns.contains(c)));
        if covered && inside.len() > 1 && !self.combos.contains(&inside) {
            self.combos.push(inside);
        }
    }
}

fn plan_column(
    input: &TableInput<'_>,
    c: &Column,
    planned: &[&Column],
    keys: &KeyPlan,
) -> Result<ColumnPlan> {
    let o = input.column_override(&c.name);
    let in_pk = input.table.primary_key.contains(&c.name);
    let is_unique = keys.unique.contains(&c.name);
    let rules = column_rules(input, c, o)?;
    let null_ratio = match (c.nullable && !in_pk && !is_unique, o.null_ratio) {
        (false, _) => 0.0,
        (true, Some(r)) => r,
        (true, None) => DEFAULT_NULL_RATIO,
    };
    let (source, reason) = choose_source(input, c, &rules, planned, keys);
    let reason = if o.min.is_some() || o.max.is_some() {
        format!("{reason}; range from overrides")
    } else {
        reason
    };
    let personal =
        pii::kind_of_column(Some(&input.table.name), &c.name).is_some() && !impersonal(&source);
    let mut plan = ColumnPlan {
        column: c.clone(),
        source,
        null_ratio,
        unique: is_unique,
        reason,
        personal,
    };
    if let Some(&fk) = keys.placeholders.get(&c.name) {
        let _ = write!(
            plan.reason,
            "; a placeholder until foreign key {} is set after every table has rows",
            keys.fks[fk].name
        );
    }
    if let Some(future) = input.future {
        ahead(&mut plan, future, in_pk);
    }
    Ok(plan)
}

/// What later migrations demand of a planned column: no NULLs where NOT NULL is coming, only
/// NULLs where a foreign key to a table that does not exist yet is coming, values of the later
/// type where a cast is coming.
fn ahead(plan: &mut ColumnPlan, future: &ColumnDemands, in_pk: bool) {
    let name = plan.column.name.clone();
    if future.not_null.contains(&name) {
        plan.null_ratio = 0.0;
        plan.reason
            .push_str("; no NULLs: a later migration makes it NOT NULL");
    } else if future.orphans.contains(&name) && plan.column.nullable && !in_pk {
        plan.null_ratio = 1.0;
        plan.reason.push_str(
            "; NULL: a later migration points it at a table or key that does not exist yet",
        );
    }
    let Some(cast) = future.casts.get(&name) else {
        return;
    };
    let Source::Value { hint, rules } = &plan.source else {
        return;
    };
    let max_len = match plan.column.kind {
        ColumnKind::Text { max_len, .. } => max_len,
        ColumnKind::Char { len, .. } => Some(len),
        _ => None,
    };
    // The shortest text of each type: a uuid cannot be shortened, a timestamp can be a date.
    let shortest = match cast.kind {
        ColumnKind::Uuid => 36,
        ColumnKind::Timestamp { .. } | ColumnKind::Date => 10,
        ColumnKind::Bool => 5,
        _ => 1,
    };
    if max_len.is_some_and(|m| (m as usize) < shortest) {
        return;
    }
    let mut rules = rules.clone();
    if cast.allowed.is_some() {
        rules.allowed.clone_from(&cast.allowed);
    }
    let column = Column {
        kind: cast.kind.clone(),
        ..plan.column.clone()
    };
    plan.reason = format!(
        "{} as text: a later migration casts it to {}",
        kind_name(&cast.kind),
        cast.type_name
    );
    plan.source = Source::Cast {
        column,
        hint: *hint,
        rules,
    };
}

/// The partitioning of `table` when `c` is its key.
fn partition_key<'t>(table: &'t Table, c: &Column) -> Option<&'t Partitioning> {
    table.partitioning.as_ref().filter(|p| p.column == c.name)
}

/// What the column's values must satisfy: its CHECKs, bounds and locale from overrides, the
/// partitions that exist; refused when no value can.
fn column_rules(input: &TableInput<'_>, c: &Column, o: &ColumnOverride) -> Result<ColumnRules> {
    let table = input.table;
    let mut rules = rules_for(table, &c.name);
    if let Some(min) = o.min {
        rules.min = Some((min, true));
    }
    if let Some(max) = o.max {
        rules.max = Some((max, true));
    }
    if let Some(locale) = o.locale.or(input.overrides.and_then(|t| t.locale)) {
        rules.locale = locale;
    }
    if let Some(p) = partition_key(table, c) {
        route_to_partitions(&p.bounds, &c.kind, &mut rules);
    }
    // A later prefix key: values must differ within their first n characters.
    if let Some(&n) = input.future.and_then(|f| f.max_len.get(&c.name)) {
        rules.max_len = Some(rules.max_len.map_or(n, |m| m.min(n)));
    }
    // MySQL's BOOLEAN is TINYINT(1): 0 or 1, not any byte.
    if c.data_type.eq_ignore_ascii_case("tinyint(1)")
        && rules.allowed.is_none()
        && rules.min.is_none()
    {
        rules.allowed = Some(vec!["0".into(), "1".into()]);
    }
    check_satisfiable(table, c, &rules)?;
    Ok(rules)
}

/// Where the column's values come from, and why, in this order: a parent's key, values from
/// overrides, after another column, a generator from overrides, what the name suggests.
fn choose_source(
    input: &TableInput<'_>,
    c: &Column,
    rules: &ColumnRules,
    planned: &[&Column],
    keys: &KeyPlan,
) -> (Source, String) {
    let o = input.column_override(&c.name);
    if let Some(&(fk, position)) = keys.key_of.get(&c.name) {
        return key_source(fk, position, keys);
    }
    if let Some(values) = &o.values {
        return one_of(values, o.weights.as_deref());
    }
    if let Some((earlier, inclusive, why)) = after_of(input.table, c, rules, planned) {
        let index = planned
            .iter()
            .position(|p| p.name == earlier)
            .expect("the earlier column is planned");
        let source = Source::After {
            column: index,
            inclusive,
            rules: rules.clone(),
        };
        return (source, format!("after {earlier} ({why})"));
    }
    if let Some(generator) = &o.generator {
        let source = Source::Value {
            hint: Hint::named(generator),
            rules: rules.clone(),
        };
        return (source, format!("{generator} (overrides)"));
    }
    value_source(input.table, c, rules)
}

/// Column `position` of foreign key `fk`, and how its parents are chosen.
fn key_source(fk: usize, position: usize, keys: &KeyPlan) -> (Source, String) {
    let f = &keys.fks[fk];
    let in_combo = keys.combos.iter().any(|group| group.contains(&fk));
    let how = if f.deferred {
        "set after every table has rows (a foreign key cycle)"
    } else if f.one_to_one {
        "each parent once"
    } else if in_combo {
        "parents combined with the table's other keys so that no combination repeats"
    } else if f.per_parent.is_some() {
        "children per parent from overrides"
    } else if f.skew > 0.0 {
        "skewed towards popular parents"
    } else {
        "random parents"
    };
    let reason = format!(
        "foreign key {} → {}({}), {how}",
        f.name,
        f.parent,
        f.parent_columns.join(", ")
    );
    (Source::Key { fk, position }, reason)
}

/// One of the listed values, drawn by weight (equal weights when none are given).
fn one_of(values: &[String], weights: Option<&[f64]>) -> (Source, String) {
    let weights = weights.map_or_else(|| vec![1.0; values.len()], <[f64]>::to_vec);
    let total: f64 = weights.iter().sum();
    let cumulative = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w / total;
            Some(*acc)
        })
        .collect();
    let source = Source::OneOf {
        values: values.to_vec(),
        cumulative,
    };
    (source, "values from overrides".to_string())
}

/// The value generator, guided by the column's name and table, with the reason it was chosen.
fn value_source(table: &Table, c: &Column, rules: &ColumnRules) -> (Source, String) {
    let hint = Hint::for_column(&table.name, &c.name);
    let by = if let Some(allowed) = &rules.allowed {
        format!("one of {} allowed values", allowed.len())
    } else if let Some(prefix) = &rules.prefix {
        format!("text matching `{prefix}…`")
    } else if c.server_filled {
        "row numbers, written explicitly (files have no server to fill them)".to_string()
    } else if hint == Hint::None {
        format!("{} values", kind_name(&c.kind))
    } else {
        format!("{} (column name)", hint.name())
    };
    let routed =
        partition_key(table, c).is_some() && (!rules.pieces.is_empty() || rules.allowed.is_some());
    let routed = if routed {
        " within the existing partitions"
    } else {
        ""
    };
    let constraint = rules
        .sources
        .first()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let source = Source::Value {
        hint,
        rules: rules.clone(),
    };
    (source, format!("{by}{routed}{constraint}"))
}

/// Columns that must be filled but cannot be generated.
fn refuse_unfillable(table: &Table) -> Result<()> {
    for c in &table.columns {
        if !c.nullable && !c.has_default && !c.server_filled && !values::can_generate(&c.kind) {
            return Err(Error::input(format!(
                "cannot seed {}.{}: no generator for type {} and the column is NOT NULL \
                 without a default; give it a default or set `values` in the seed overrides",
                table.qualified(),
                c.name,
                c.data_type
            )));
        }
    }
    Ok(())
}

/// Generators whose values describe things, not people (a product's `name`).
fn impersonal(source: &Source) -> bool {
    matches!(
        source,
        Source::Value {
            hint: Hint::Title
                | Hint::Company
                | Hint::Code
                | Hint::Status
                | Hint::Currency
                | Hint::Slug
                | Hint::Url,
            ..
        } | Source::OneOf { .. }
    )
}

/// Rows of a partitioned table must land in a partition that exists: the key column's values
/// are restricted to the partitions' ranges or lists (unless a default or hash partition takes
/// anything).
fn route_to_partitions(bounds: &[PartitionBound], kind: &ColumnKind, rules: &mut ColumnRules) {
    if bounds.is_empty() || bounds.contains(&PartitionBound::Any) {
        return;
    }
    let time = time_like(kind);
    let point = |v: &str| -> Option<f64> {
        if time {
            parse_timestamp(v).map(|(s, _)| s as f64)
        } else {
            v.parse().ok()
        }
    };
    // An open end gets a year of timestamps or a million numbers.
    let span = if time { 365.0 * 86_400.0 } else { 1_000_000.0 };
    let mut listed = Vec::new();
    for bound in bounds {
        match bound {
            PartitionBound::Range { from, to } => {
                let (lo, hi) = (
                    from.as_deref().and_then(point),
                    to.as_deref().and_then(point),
                );
                let piece = match (lo, hi) {
                    (Some(lo), Some(hi)) => (lo, hi),
                    (Some(lo), None) => (lo, lo + span),
                    (None, Some(hi)) => (hi - span, hi),
                    (None, None) => continue,
                };
                if piece.0 < piece.1 {
                    rules.pieces.push(piece);
                }
            }
            PartitionBound::List(values) => {
                listed.extend(values.iter().filter(|v| *v != "NULL").cloned());
            }
            PartitionBound::Any => {}
        }
    }
    if !listed.is_empty() {
        rules.allowed = Some(listed);
    }
}

/// Unique columns must have room for every row.
fn check_capacity(plan: &TablePlan) -> Result<()> {
    for c in plan.columns.iter().filter(|c| c.unique) {
        let (room, what) = match &c.source {
            Source::OneOf { values, .. } => {
                (values.len() as f64, "values from overrides".to_string())
            }
            Source::Value { rules, .. } if rules.allowed.is_some() => (
                rules.allowed.as_ref().map_or(0, Vec::len) as f64,
                rules
                    .sources
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "its allowed values".into()),
            ),
            Source::Value { rules, .. } => match &c.column.kind {
                ColumnKind::Enum(labels) => {
                    (labels.len() as f64, format!("type {}", c.column.data_type))
                }
                ColumnKind::Bool => (2.0, "boolean".into()),
                ColumnKind::Year => (256.0, "year".into()),
                ColumnKind::Int { bytes, unsigned } => {
                    let bits = f64::from(u32::from(*bytes) * 8);
                    let full = 2f64.powf(bits);
                    let (lo, hi) = if *unsigned {
                        (0.0, full - 1.0)
                    } else {
                        (-full / 2.0, full / 2.0 - 1.0)
                    };
                    let lo = rules
                        .min
                        .map_or(1f64.max(lo), |(v, inc)| if inc { v } else { v + 1.0 });
                    let hi = rules
                        .max
                        .map_or(hi, |(v, inc)| if inc { v } else { v - 1.0 });
                    (hi - lo + 1.0, c.column.data_type.clone())
                }
                ColumnKind::Char { len, .. } => {
                    (36f64.powi(*len as i32), c.column.data_type.clone())
                }
                _ => continue,
            },
            _ => continue,
        };
        if (plan.rows as f64) > room {
            return Err(Error::input(format!(
                "cannot seed {} rows into {}: {} must be unique and has room for only {} values ({what})",
                plan.rows,
                plan.qualified(),
                c.column.name,
                room.max(0.0) as u64
            )));
        }
    }
    Ok(())
}

/// The earlier column `c` must come after: from a CHECK, or by name (`updated_at` after
/// `created_at`) when both are dates or timestamps.
fn after_of(
    table: &Table,
    c: &Column,
    rules: &ColumnRules,
    planned: &[&Column],
) -> Option<(String, bool, String)> {
    let planned_has = |n: &str| planned.iter().any(|p| p.name == n);
    if let Some((other, inclusive)) = &rules.after
        && planned_has(other)
        && other != &c.name
    {
        let source = rules.sources.first().cloned().unwrap_or_default();
        return Some((other.clone(), *inclusive, source));
    }
    let lower = c.name.to_ascii_lowercase();
    ORDERED_NAMES.iter().find_map(|(later, earlier)| {
        let other = table
            .columns
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(earlier))?;
        (lower == *later
            && time_like(&c.kind)
            && time_like(&other.kind)
            && planned_has(&other.name))
        .then(|| {
            (
                other.name.clone(),
                true,
                format!("{later} is not before {earlier}"),
            )
        })
    })
}

fn kind_name(kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Int { bytes, unsigned } => {
            format!(
                "{}{}-byte integer",
                if *unsigned { "unsigned " } else { "" },
                bytes
            )
        }
        ColumnKind::Decimal { .. } => "decimal".into(),
        ColumnKind::Float => "floating-point".into(),
        ColumnKind::Text { .. } => "text".into(),
        ColumnKind::Char { .. } => "fixed-length text".into(),
        ColumnKind::Timestamp { .. } => "timestamp".into(),
        ColumnKind::Enum(_) => "enum label".into(),
        ColumnKind::Array(inner) => format!("array of {}", kind_name(inner)),
        other => format!("{other:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("")
            .to_lowercase(),
    }
}

/// Refuses constraints no value can meet.
fn check_satisfiable(table: &Table, c: &Column, rules: &ColumnRules) -> Result<()> {
    let constraint = || {
        rules
            .sources
            .first()
            .cloned()
            .unwrap_or_else(|| "its CHECK constraints".into())
    };
    let fail = |why: String| {
        Err(Error::input(format!(
            "cannot seed {}.{}: {why} ({})",
            table.qualified(),
            c.name,
            constraint()
        )))
    };
    if let (Some((lo, lo_in)), Some((hi, hi_in))) = (rules.min, rules.max)
        && (lo > hi || (lo == hi && !(lo_in && hi_in)))
    {
        return fail(format!("no value is at least {lo} and at most {hi}"));
    }
    let max_len = match &c.kind {
        ColumnKind::Text { max_len, .. } => max_len.map(|m| m as usize),
        ColumnKind::Char { len, .. } => Some(*len as usize),
        _ => None,
    }
    .into_iter()
    .chain(rules.max_len)
    .min();
    if let (Some(min), Some(max)) = (rules.min_len, max_len)
        && min > max
    {
        return fail(format!(
            "values must be at least {min} and at most {max} characters long"
        ));
    }
    if let (Some(prefix), Some(max)) = (&rules.prefix, max_len)
        && prefix.chars().count() > max
    {
        return fail(format!(
            "the prefix `{prefix}` is longer than {max} characters"
        ));
    }
    if let Some(allowed) = &rules.allowed {
        let fits = allowed
            .iter()
            .any(|v| max_len.is_none_or(|m| v.chars().count() <= m));
        if !fits {
            return fail("none of the allowed values fits the column".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ForeignKey, Repertoire};

    fn col(name: &str, kind: ColumnKind, nullable: bool) -> Column {
        Column {
            name: name.into(),
            data_type: "t".into(),
            kind,
            nullable,
            has_default: false,
            server_filled: false,
            generated: false,
            auto_updated: false,
        }
    }

    fn int() -> ColumnKind {
        ColumnKind::Int {
            bytes: 4,
            unsigned: false,
        }
    }

    fn table(name: &str, columns: Vec<Column>, fks: Vec<ForeignKey>, checks: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns,
            primary_key: vec!["id".into()],
            unique_keys: vec![],
            foreign_keys: fks,
            checks: checks.iter().map(|c| c.to_string()).collect(),
            holds_rows: true,
            seed_directly: true,
            partitioning: None,
        }
    }

    fn fk(name: &str, column: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: vec![column.into()],
            ref_table: format!("public.{parent}"),
            ref_columns: vec!["id".into()],
            deferrable: false,
        }
    }

    fn plan_of(tables: Vec<Table>, overrides: &str) -> Result<SeedPlan> {
        let mut schema = SchemaSnapshot::default();
        for t in tables {
            schema.tables.insert(t.qualified(), t);
        }
        let wanted: BTreeSet<String> = schema.tables.keys().cloned().collect();
        let overrides = Overrides::parse(overrides).unwrap();
        plan(&PlanRequest {
            schema: &schema,
            tables: &wanted,
            rows: 10,
            table_rows: &BTreeMap::new(),
            overrides: &overrides,
            explicit_keys: false,
            demands: None,
        })
    }

    /// Tables `a` and `b` pointing at each other; `a.b_id` nullable or not.
    fn cycle(a_to_b_nullable: bool) -> Vec<Table> {
        let a = table(
            "a",
            vec![col("id", int(), false), col("b_id", int(), a_to_b_nullable)],
            vec![fk("a_b", "b_id", "b")],
            &[],
        );
        let b = table(
            "b",
            vec![col("id", int(), false), col("a_id", int(), false)],
            vec![fk("b_a", "a_id", "a")],
            &[],
        );
        vec![a, b]
    }

    #[test]
    fn cycles_through_nullable_keys_are_deferred() {
        let p = plan_of(cycle(true), "").unwrap();
        let order: Vec<String> = p.tables.iter().map(|t| t.table.name.clone()).collect();
        assert_eq!(order, vec!["a", "b"]);
        assert!(p.tables[0].fks[0].deferred);
        assert!(!p.tables[1].fks[0].deferred);
    }

    #[test]
    fn cycles_through_not_null_keys_are_refused() {
        let err = plan_of(cycle(false), "").unwrap_err().to_string();
        assert!(
            err.contains(
                "public.a.b_id → public.b (NOT NULL, and the key is not DEFERRABLE); \
                 public.b.a_id → public.a (NOT NULL"
            ),
            "{err}"
        );
    }

    /// `tenants(id, owner_id) → users(tenant_id, id)` and `users(tenant_id) → tenants(id)`:
    /// a tenant's owner is one of its users.
    fn tenants_and_users(owner_nullable: bool, deferrable: bool) -> Vec<Table> {
        let tenants = table(
            "tenants",
            vec![
                col("id", int(), false),
                col("owner_id", int(), owner_nullable),
            ],
            vec![ForeignKey {
                name: "tenants_owner".into(),
                columns: vec!["id".into(), "owner_id".into()],
                ref_table: "public.users".into(),
                ref_columns: vec!["tenant_id".into(), "id".into()],
                deferrable,
            }],
            &[],
        );
        let mut users = table(
            "users",
            vec![col("tenant_id", int(), false), col("id", int(), false)],
            vec![fk("users_tenant", "tenant_id", "tenants")],
            &[],
        );
        users.primary_key = vec!["tenant_id".into(), "id".into()];
        vec![tenants, users]
    }

    #[test]
    fn composite_cycles_wait_only_on_the_columns_outside_the_primary_key() {
        let p = plan_of(tenants_and_users(true, false), "").unwrap();
        let tenants = &p.tables[0];
        assert_eq!(tenants.table.name, "tenants");
        let owner = &tenants.fks[0];
        assert!(owner.deferred && !owner.deferral);
        // `id` is the tenant's own key: only `owner_id` is set later, matching `id`.
        assert_eq!(owner.set_later, vec![1]);
        assert!(!p.tables[1].fks[0].deferred);
        assert!(!p.tables.iter().any(TablePlan::needs_deferral));
    }

    #[test]
    fn not_null_cycles_through_a_deferrable_key_wait_for_the_commit() {
        let p = plan_of(tenants_and_users(false, true), "").unwrap();
        let owner = &p.tables[0].fks[0];
        assert!(owner.deferred && owner.deferral);
        assert!(p.tables[0].needs_deferral());
        let column = &p.tables[0].columns[1];
        assert_eq!(column.column.name, "owner_id");
        assert!(column.reason.contains("placeholder"), "{}", column.reason);
        assert_eq!(column.null_ratio, 0.0);
    }

    #[test]
    fn an_unseedable_composite_cycle_names_the_columns_that_keep_it_closed() {
        let err = plan_of(tenants_and_users(false, false), "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "public.tenants.owner_id → public.users (NOT NULL, and the key is not DEFERRABLE)"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "public.users.tenant_id → public.tenants (each also in the primary key or in \
                 another foreign key)"
            ),
            "{err}"
        );
        assert!(!err.contains("public.tenants.id"), "{err}");
    }

    #[test]
    fn the_cycle_named_is_the_one_no_key_of_can_wait() {
        // a ⇄ b could be broken at a.b_id, but a also waits for c through NOT NULL a.c_id, and
        // c for a: a ⇄ c is what cannot be seeded; d only points into it.
        let a = table(
            "a",
            vec![
                col("id", int(), false),
                col("b_id", int(), true),
                col("c_id", int(), false),
            ],
            vec![fk("a_b", "b_id", "b"), fk("a_c", "c_id", "c")],
            &[],
        );
        let point_at_a = |name: &str| {
            table(
                name,
                vec![col("id", int(), false), col("a_id", int(), false)],
                vec![fk(&format!("{name}_a"), "a_id", "a")],
                &[],
            )
        };
        let tables = vec![a, point_at_a("b"), point_at_a("c"), point_at_a("d")];
        let err = plan_of(tables, "").unwrap_err().to_string();
        assert!(err.starts_with("cannot seed public.a, public.c:"), "{err}");
        assert!(err.contains("public.a.c_id → public.c"), "{err}");
        assert!(err.contains("public.c.a_id → public.a"), "{err}");
        for innocent in ["b_id", "public.b", "public.d"] {
            assert!(!err.contains(innocent), "{innocent}: {err}");
        }
    }

    #[test]
    fn unsatisfiable_checks_name_table_column_and_constraint() {
        let t = table(
            "t",
            vec![col("id", int(), false), col("q", int(), false)],
            vec![],
            &["CHECK (q > 10 AND q < 5)"],
        );
        let err = plan_of(vec![t], "").unwrap_err().to_string();
        assert!(err.contains("public.t.q"), "{err}");
        assert!(err.contains("CHECK (q > 10 AND q < 5)"), "{err}");
        let text = ColumnKind::Text {
            max_len: Some(2),
            repertoire: Repertoire::Full,
        };
        let t = table(
            "u",
            vec![col("id", int(), false), col("s", text, false)],
            vec![],
            &["CHECK (s IN ('long', 'longer'))"],
        );
        assert!(
            plan_of(vec![t], "")
                .unwrap_err()
                .to_string()
                .contains("none of the allowed values fits")
        );
    }

    #[test]
    fn explains_choices_and_orders_dependent_columns() {
        let ts = ColumnKind::Timestamp {
            tz: true,
            fraction: None,
        };
        let t = table(
            "events",
            vec![
                col("id", int(), false),
                col(
                    "contact_email",
                    ColumnKind::Text {
                        max_len: None,
                        repertoire: Repertoire::Full,
                    },
                    false,
                ),
                col("starts_at", ts.clone(), false),
                col("ends_at", ts.clone(), false),
                col(
                    "status",
                    ColumnKind::Text {
                        max_len: None,
                        repertoire: Repertoire::Full,
                    },
                    true,
                ),
            ],
            vec![],
            &["CHECK (ends_at > starts_at)"],
        );
        let p = plan_of(
            vec![t],
            "[events.status]\nvalues = [\"a\", \"b\"]\nweights = [1, 3]\nnull_ratio = 0\n",
        )
        .unwrap();
        let cols = &p.tables[0].columns;
        assert!(cols[1].personal && cols[1].reason.starts_with("email"));
        assert!(matches!(
            cols[3].source,
            Source::After {
                column: 2,
                inclusive: false,
                ..
            }
        ));
        assert!(cols[3].reason.contains("CHECK (ends_at > starts_at)"));
        assert_eq!(cols[4].null_ratio, 0.0);
        assert!(
            matches!(&cols[4].source, Source::OneOf { cumulative, .. } if (cumulative[0] - 0.25).abs() < 1e-9)
        );
    }

    #[test]
    fn overrides_for_missing_columns_are_errors() {
        let t = table("t", vec![col("id", int(), false)], vec![], &[]);
        assert!(plan_of(vec![t], "[t.nope]\nnull_ratio = 0\n").is_err());
    }
}
