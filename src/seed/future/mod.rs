//! What later migrations will demand of the rows seeded now.
//!
//! `check` seeds every empty table before each migration. A later up that adds a unique index,
//! a NOT NULL, a CHECK or a foreign key, or casts a text column to JSON, a number, a uuid, a
//! timestamp or a boolean, fails on synthetic values that real data would satisfy, and the run
//! would end there. So before the run every up is read with sqlparser, from the last migration
//! to the first, and what each statement demands of columns that already exist is carried back
//! through renames (and dropped where the table or column is created): [`collect`] gives, for
//! every migration `i`, the demands on the tables as they are named when rows are seeded before
//! `i` (its own statements included: its up runs on those rows). [`Demands::view`] turns them,
//! with the unique indexes the schema holds but its tables cannot say ([`Demands::in_schema`]),
//! into the schema the seed plan works from. Statements sqlparser cannot read are skipped (a
//! debug line); nothing here is an error.

mod statements;
mod view;

pub use view::{ColumnDemands, View};

use std::collections::{BTreeMap, BTreeSet};

use crate::migrations::Migration;
use crate::schema::{ColumnKind, SchemaSnapshot};
use crate::sql::Dialect;

/// What later migrations demand, by table. Names are bare (no schema) and folded the way the
/// engine folds them (PostgreSQL: unquoted names in lower case; MySQL: all in lower case,
/// compared without case).
#[derive(Debug, Clone, PartialEq)]
pub struct Demands {
    dialect: Dialect,
    tables: BTreeMap<String, TableDemands>,
    /// Constraints added `NOT VALID` and validated later: their demands count.
    validated: BTreeSet<String>,
    /// Unique indexes a later `ADD CONSTRAINT … PRIMARY KEY USING INDEX` turns into a primary
    /// key (true) or `UNIQUE USING INDEX` into a constraint (false), by index name: when the
    /// index is built (often `CONCURRENTLY`, earlier), its columns must also be NOT NULL for
    /// a primary key.
    promoted: BTreeMap<String, bool>,
}

/// What later migrations demand of one table's existing columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableDemands {
    /// Column sets that become unique: unique constraints and indexes (partial ones too, and
    /// the columns of expression indexes), primary keys.
    pub unique: Vec<Vec<String>>,
    /// MySQL prefix keys (`name(10)`): values must differ within their first n characters.
    pub prefixes: BTreeMap<String, usize>,
    pub not_null: BTreeSet<String>,
    /// `CHECK (…)` definitions, in the column names of the seeding point.
    pub checks: Vec<String>,
    pub foreign_keys: Vec<FutureKey>,
    /// Columns that get a foreign key to a table (or key column) that does not exist yet when
    /// rows are seeded: only NULL satisfies it once it is added.
    pub orphans: BTreeSet<String>,
    /// Text columns cast to another type later, by column.
    pub casts: BTreeMap<String, Cast>,
}

/// A foreign key added to existing columns by a later migration.
#[derive(Debug, Clone, PartialEq)]
pub struct FutureKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    /// Bare name of the parent table.
    pub parent: String,
    /// Empty: the parent's primary key.
    pub parent_columns: Vec<String>,
}

/// A later cast of a text column: the values to seed are of `kind` (and one of `allowed`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub kind: ColumnKind,
    pub allowed: Option<Vec<String>>,
    /// The type as the migration writes it, for `--explain`.
    pub type_name: String,
}

impl Demands {
    pub fn new(dialect: Dialect) -> Demands {
        Demands {
            dialect,
            tables: BTreeMap::new(),
            validated: BTreeSet::new(),
            promoted: BTreeMap::new(),
        }
    }

    /// Whether no table has a demand.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|t| *t == TableDemands::default())
    }

    /// The demands on the table called `name` (bare, as the schema spells it).
    pub fn table(&self, name: &str) -> Option<&TableDemands> {
        match self.dialect {
            Dialect::Postgres => self.tables.get(name),
            Dialect::MySql => self.tables.get(&name.to_lowercase()),
        }
    }

    fn entry(&mut self, table: &str) -> &mut TableDemands {
        self.tables.entry(table.to_string()).or_default()
    }

    /// Undoes `ALTER TABLE old RENAME TO new`: what is demanded of `new` was demanded of `old`.
    fn rename_table(&mut self, old: &str, new: &str) {
        if let Some(moved) = self.tables.remove(new) {
            let target = self.entry(old);
            merge(target, moved);
        }
        for t in self.tables.values_mut() {
            for fk in t.foreign_keys.iter_mut().filter(|f| f.parent == new) {
                fk.parent = old.to_string();
            }
        }
    }

    /// Undoes `RENAME COLUMN old TO new` on `table`, in its demands, its CHECKs and the foreign
    /// keys that point at it.
    fn rename_column(&mut self, table: &str, old: &str, new: &str) {
        let dialect = self.dialect;
        if let Some(t) = self.tables.get_mut(table) {
            t.rename_column(old, new, dialect);
        }
        for t in self.tables.values_mut() {
            for fk in t.foreign_keys.iter_mut().filter(|f| f.parent == table) {
                rename_in(&mut fk.parent_columns, old, new);
            }
        }
    }

    /// Before `table` is created nothing of it can be demanded, and foreign keys that will
    /// point at it only accept NULL.
    fn created(&mut self, table: &str) {
        self.tables.remove(table);
        self.orphan_keys(|fk| fk.parent == table);
    }

    /// Before `column` is added to `table` nothing of it can be demanded, and foreign keys
    /// that will point at it only accept NULL.
    fn column_added(&mut self, table: &str, column: &str) {
        if let Some(t) = self.tables.get_mut(table) {
            t.forget_column(column);
        }
        self.orphan_keys(|fk| {
            fk.parent == table
                && (fk.parent_columns.iter().any(|c| c == column) || fk.parent_columns.is_empty())
        });
    }

    fn orphan_keys(&mut self, orphaned: impl Fn(&FutureKey) -> bool) {
        for t in self.tables.values_mut() {
            let (gone, kept): (Vec<FutureKey>, Vec<FutureKey>) =
                t.foreign_keys.drain(..).partition(|fk| orphaned(fk));
            t.foreign_keys = kept;
            t.orphans.extend(gone.into_iter().flat_map(|fk| fk.columns));
        }
    }
}

impl TableDemands {
    /// Demands are found last to first: each goes in front, so that they read in the order
    /// the migrations make them.
    fn add_unique(&mut self, columns: Vec<String>) {
        if !columns.is_empty() && !self.unique.contains(&columns) {
            self.unique.insert(0, columns);
        }
    }

    fn rename_column(&mut self, old: &str, new: &str, dialect: Dialect) {
        for key in &mut self.unique {
            rename_in(key, old, new);
        }
        for fk in &mut self.foreign_keys {
            rename_in(&mut fk.columns, old, new);
        }
        rename_key(&mut self.prefixes, old, new);
        rename_key(&mut self.casts, old, new);
        for set in [&mut self.not_null, &mut self.orphans] {
            if set.remove(new) {
                set.insert(old.to_string());
            }
        }
        for check in &mut self.checks {
            *check = statements::rename_in_check(check, old, new, dialect);
        }
    }

    fn forget_column(&mut self, column: &str) {
        self.unique.retain(|k| !k.iter().any(|c| c == column));
        self.foreign_keys
            .retain(|f| !f.columns.iter().any(|c| c == column));
        self.prefixes.remove(column);
        self.casts.remove(column);
        self.not_null.remove(column);
        self.orphans.remove(column);
    }
}

fn rename_in(columns: &mut [String], old: &str, new: &str) {
    for c in columns.iter_mut().filter(|c| *c == new) {
        *c = old.to_string();
    }
}

fn rename_key<V>(map: &mut BTreeMap<String, V>, old: &str, new: &str) {
    if let Some(v) = map.remove(new) {
        map.insert(old.to_string(), v);
    }
}

fn merge(target: &mut TableDemands, from: TableDemands) {
    for key in from.unique.into_iter().rev() {
        target.add_unique(key);
    }
    target.prefixes.extend(from.prefixes);
    target.not_null.extend(from.not_null);
    target.checks.extend(from.checks);
    target.foreign_keys.extend(from.foreign_keys);
    target.orphans.extend(from.orphans);
    target.casts.extend(from.casts);
}

impl Demands {
    /// What the schema already holds that its tables cannot say: unique indexes over
    /// expressions or with a `WHERE` (PostgreSQL; they are kept as definitions among the
    /// schema's objects, not as unique keys of their table).
    pub fn in_schema(schema: &SchemaSnapshot, dialect: Dialect) -> Demands {
        let mut demands = Demands::new(dialect);
        let definitions = schema
            .objects
            .values()
            .filter(|o| o.kind == "index")
            .flat_map(|o| o.text.lines())
            .map(str::trim)
            .filter(|line| line.starts_with("CREATE UNIQUE INDEX"));
        for definition in definitions {
            for statement in statements::parse(definition, dialect) {
                demands.before(&statement);
            }
        }
        demands
    }

    /// These demands and `other`'s.
    fn merged(&self, other: Demands) -> Demands {
        let mut all = self.clone();
        for (table, demands) in other.tables {
            merge(all.entry(&table), demands);
        }
        all
    }
}

/// For every migration `i`, what it and the migrations after it demand of the tables as they
/// are named before `i` runs.
pub fn collect(migrations: &[Migration], dialect: Dialect) -> Vec<Demands> {
    let mut demands = Demands::new(dialect);
    let mut out = vec![Demands::new(dialect); migrations.len()];
    for (index, m) in migrations.iter().enumerate().rev() {
        for statement in m.up.statements.iter().rev() {
            for parsed in statements::parse(&statement.sql, dialect).iter().rev() {
                demands.before(parsed);
            }
        }
        out[index] = demands.clone();
    }
    out
}

#[cfg(test)]
mod tests;
