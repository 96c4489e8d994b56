//! Demands laid over the schema at the seeding point: the tables as the seed plan should see
//! them (unique keys, CHECKs and foreign keys that are coming, as if they were there), and
//! what else their columns must be like (no NULLs, only NULLs, values of a later type, short
//! enough for a prefix key).

use std::collections::{BTreeMap, BTreeSet};

use super::{Cast, Demands, FutureKey, TableDemands};
use crate::schema::{Column, ColumnKind, ForeignKey, SchemaSnapshot, Table};
use crate::sql::Dialect;

/// How seeding sees the schema when later migrations demand something of it.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The tables, with the keys and CHECKs that are coming (no other objects).
    pub schema: SchemaSnapshot,
    /// Per qualified table name, what its columns must be like beyond that.
    pub columns: BTreeMap<String, ColumnDemands>,
}

/// What later migrations demand of one table's columns that the schema cannot say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnDemands {
    /// Nullable now, NOT NULL later: no NULLs.
    pub not_null: BTreeSet<String>,
    /// They get a foreign key to a table that does not exist yet: only NULLs.
    pub orphans: BTreeSet<String>,
    /// Text now, cast later: values of the later type.
    pub casts: BTreeMap<String, Cast>,
    /// Part of a prefix key: values unique within this many characters.
    pub max_len: BTreeMap<String, usize>,
}

impl Demands {
    /// The view of `schema` for seeding, with what the schema holds beyond its tables'
    /// keys; `None` when nothing demanded concerns its tables (seeding then plans from the
    /// schema alone, exactly as without demands).
    pub fn view(&self, schema: &SchemaSnapshot) -> Option<View> {
        let all = self.merged(Demands::in_schema(schema, self.dialect));
        let mut tables = schema.tables.clone();
        let mut columns = BTreeMap::new();
        for (key, table) in &schema.tables {
            let Some(demands) = all.table(&table.name) else {
                continue;
            };
            let mut adjusted = table.clone();
            let extra = all.lay_over(schema, &mut adjusted, demands);
            if adjusted != *table || extra != ColumnDemands::default() {
                tables.insert(key.clone(), adjusted);
                columns.insert(key.clone(), extra);
            }
        }
        if columns.is_empty() {
            return None;
        }
        let schema = SchemaSnapshot {
            tables,
            objects: BTreeMap::new(),
            ordered_columns: schema.ordered_columns,
        };
        Some(View { schema, columns })
    }

    fn column<'t>(&self, table: &'t Table, name: &str) -> Option<&'t Column> {
        table.columns.iter().find(|c| match self.dialect {
            Dialect::Postgres => c.name == name,
            Dialect::MySql => c.name.to_lowercase() == name,
        })
    }

    /// The names `table` gives the demanded `columns`; `None` unless it has all of them.
    fn columns_of(&self, table: &Table, columns: &[String]) -> Option<Vec<String>> {
        columns
            .iter()
            .map(|c| self.column(table, c).map(|c| c.name.clone()))
            .collect()
    }

    /// Adds the coming keys and CHECKs to `table`; returns the rest of what is demanded.
    fn lay_over(
        &self,
        schema: &SchemaSnapshot,
        table: &mut Table,
        demands: &TableDemands,
    ) -> ColumnDemands {
        let mut extra = ColumnDemands::default();
        for key in &demands.unique {
            let Some(key) = self.columns_of(table, key) else {
                continue;
            };
            if table.primary_key != key && !table.unique_keys.contains(&key) {
                table.unique_keys.push(key);
            }
        }
        for check in &demands.checks {
            if !table.checks.contains(check) {
                table.checks.push(check.clone());
            }
        }
        for fk in &demands.foreign_keys {
            match self.foreign_key(schema, table, fk) {
                Ok(Some(key)) => table.foreign_keys.push(key),
                Ok(None) => {}
                Err(()) => extra.orphans.extend(fk.columns.iter().cloned()),
            }
        }
        let orphans = std::mem::take(&mut extra.orphans);
        for name in demands.orphans.iter().chain(&orphans) {
            let Some(c) = self.column(table, name) else {
                continue;
            };
            let has_key = table
                .foreign_keys
                .iter()
                .any(|f| f.columns.contains(&c.name));
            if c.nullable && !has_key {
                extra.orphans.insert(c.name.clone());
            }
        }
        for name in &demands.not_null {
            if let Some(c) = self.column(table, name).filter(|c| c.nullable) {
                extra.not_null.insert(c.name.clone());
            }
        }
        for (name, cast) in &demands.casts {
            if let Some(c) = self.column(table, name).filter(|c| is_text(&c.kind)) {
                extra.casts.insert(c.name.clone(), cast.clone());
            }
        }
        for (name, n) in &demands.prefixes {
            if let Some(c) = self.column(table, name).filter(|c| is_text(&c.kind)) {
                extra.max_len.insert(c.name.clone(), *n);
            }
        }
        extra
    }

    /// The foreign key `fk` of `table` as the schema model writes it; `Ok(None)` when the
    /// table lacks its columns or already has it, `Err` when its parent (or the parent's key
    /// columns) does not exist yet.
    fn foreign_key(
        &self,
        schema: &SchemaSnapshot,
        table: &Table,
        fk: &FutureKey,
    ) -> Result<Option<ForeignKey>, ()> {
        let Some(columns) = self.columns_of(table, &fk.columns) else {
            return Ok(None);
        };
        let same_name = |t: &&Table| match self.dialect {
            Dialect::Postgres => t.name == fk.parent,
            Dialect::MySql => t.name.to_lowercase() == fk.parent,
        };
        let parents: Vec<&Table> = schema.tables.values().filter(same_name).collect();
        let parent = parents
            .iter()
            .find(|p| p.schema == table.schema)
            .or(parents.first())
            .ok_or(())?;
        let ref_columns = if fk.parent_columns.is_empty() {
            parent.primary_key.clone()
        } else {
            self.columns_of(parent, &fk.parent_columns).ok_or(())?
        };
        if ref_columns.len() != columns.len() {
            return Err(());
        }
        let ref_table = parent.qualified();
        let known = table
            .foreign_keys
            .iter()
            .any(|f| f.columns == columns && f.ref_table == ref_table);
        if known {
            return Ok(None);
        }
        let name = fk
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_{}_fkey", table.name, columns.join("_")));
        Ok(Some(ForeignKey {
            name: format!("{name} (added by a later migration)"),
            columns,
            ref_table,
            ref_columns,
            deferrable: false,
        }))
    }
}

fn is_text(kind: &ColumnKind) -> bool {
    matches!(kind, ColumnKind::Text { .. } | ColumnKind::Char { .. })
}
