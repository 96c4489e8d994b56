//! `--subset 'users:id < 1000'` or `'users:10%'`: the rows kept of a table, and what the
//! foreign keys need besides: rows of other tables are kept when the parents they point at are
//! kept, and a subsetted parent also keeps the rows its subsetted children point at.

use std::collections::BTreeMap;

use crate::schema::{SchemaSnapshot, Table};
use crate::seed::encode::{Dialect, ident, table_ref};
use crate::{Error, Result};

/// One `--subset` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Subset {
    pub table: String,
    pub rule: SubsetRule,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubsetRule {
    /// A SQL condition on the table's columns.
    Condition(String),
    /// A share of the rows, picked by a hash of the primary key (the same rows every time).
    Percent(f64),
}

impl Subset {
    pub fn parse(text: &str) -> std::result::Result<Subset, String> {
        let (table, rule) = text
            .split_once(':')
            .ok_or_else(|| format!("expected TABLE:CONDITION or TABLE:N%, got `{text}`"))?;
        let rule = rule.trim();
        if table.trim().is_empty() || rule.is_empty() {
            return Err(format!(
                "expected TABLE:CONDITION or TABLE:N%, got `{text}`"
            ));
        }
        let rule = match rule.strip_suffix('%').map(|p| p.trim().parse::<f64>()) {
            Some(Ok(p)) if (0.0..=100.0).contains(&p) => SubsetRule::Percent(p),
            Some(_) => return Err(format!("`{rule}` is not a percentage between 0 and 100")),
            None => SubsetRule::Condition(rule.to_string()),
        };
        Ok(Subset {
            table: table.trim().to_string(),
            rule,
        })
    }
}

fn own_condition(dialect: Dialect, table: &Table, rule: &SubsetRule) -> String {
    match rule {
        SubsetRule::Condition(c) => format!("({c})"),
        SubsetRule::Percent(p) => {
            let key = if table.primary_key.is_empty() {
                table.columns.iter().map(|c| c.name.clone()).collect()
            } else {
                table.primary_key.clone()
            };
            let threshold = (p * 100.0).round() as u64;
            match dialect {
                Dialect::Postgres => {
                    let parts: Vec<String> = key
                        .iter()
                        .map(|c| format!("{}::text", ident(dialect, c)))
                        .collect();
                    format!(
                        "(mod(abs(hashtext(concat_ws(',', {}))::bigint), 10000) < {threshold})",
                        parts.join(", ")
                    )
                }
                Dialect::MySql => {
                    let parts: Vec<String> = key.iter().map(|c| ident(dialect, c)).collect();
                    format!(
                        "(MOD(CRC32(CONCAT_WS(',', {})), 10000) < {threshold})",
                        parts.join(", ")
                    )
                }
            }
        }
    }
}

/// The condition (`WHERE` text) of every table that does not keep all its rows.
pub fn filters(
    dialect: Dialect,
    schema: &SchemaSnapshot,
    order: &[String],
    subsets: &[Subset],
) -> Result<BTreeMap<String, String>> {
    let mut own: BTreeMap<String, String> = BTreeMap::new();
    for subset in subsets {
        let table = schema
            .tables
            .values()
            .find(|t| t.qualified() == subset.table || t.name == subset.table)
            .ok_or_else(|| {
                Error::input(format!(
                    "--subset names table `{}`, which does not exist",
                    subset.table
                ))
            })?;
        own.insert(
            table.qualified(),
            own_condition(dialect, table, &subset.rule),
        );
    }
    if own.is_empty() {
        return Ok(own);
    }
    // Parents first: a subsetted table also keeps the rows its subsetted children point at.
    let mut filters: BTreeMap<String, String> = own.clone();
    for name in order.iter().rev() {
        let Some(child_condition) = own.get(name) else {
            continue;
        };
        let child = &schema.tables[name];
        for fk in &child.foreign_keys {
            if fk.ref_table == *name || !own.contains_key(&fk.ref_table) {
                continue;
            }
            let parent = &schema.tables[&fk.ref_table];
            let refs: Vec<String> = fk.ref_columns.iter().map(|c| ident(dialect, c)).collect();
            let cols: Vec<String> = fk.columns.iter().map(|c| ident(dialect, c)).collect();
            let extra = format!(
                "({}) IN (SELECT {} FROM {} WHERE {child_condition})",
                refs.join(", "),
                cols.join(", "),
                table_ref(dialect, child)
            );
            let current = filters.remove(&parent.qualified()).unwrap_or_default();
            filters.insert(parent.qualified(), format!("({current} OR {extra})"));
        }
    }
    // Children: rows whose parents are not kept go too (their foreign keys would dangle).
    for name in order {
        let table = &schema.tables[name];
        let mut conditions: Vec<String> = filters.get(name).cloned().into_iter().collect();
        for fk in &table.foreign_keys {
            if fk.ref_table == *name {
                continue;
            }
            let Some(parent_condition) = filters.get(&fk.ref_table).cloned() else {
                continue;
            };
            let parent = &schema.tables[&fk.ref_table];
            let cols: Vec<String> = fk.columns.iter().map(|c| ident(dialect, c)).collect();
            let refs: Vec<String> = fk.ref_columns.iter().map(|c| ident(dialect, c)).collect();
            let nulls: Vec<String> = cols.iter().map(|c| format!("{c} IS NULL")).collect();
            conditions.push(format!(
                "({} OR ({}) IN (SELECT {} FROM {} WHERE {parent_condition}))",
                nulls.join(" OR "),
                cols.join(", "),
                refs.join(", "),
                table_ref(dialect, parent)
            ));
        }
        if !conditions.is_empty() {
            conditions.dedup();
            filters.insert(name.clone(), conditions.join(" AND "));
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_parse() {
        assert_eq!(
            Subset::parse("users:id < 1000").unwrap().rule,
            SubsetRule::Condition("id < 1000".into())
        );
        assert_eq!(
            Subset::parse("users: 10%").unwrap().rule,
            SubsetRule::Percent(10.0)
        );
        assert!(Subset::parse("users").is_err());
        assert!(Subset::parse("users:150%").is_err());
    }
}
