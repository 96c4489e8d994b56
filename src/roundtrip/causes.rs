//! One finding per statement and cause. A `DELETE` whose `ON DELETE CASCADE` empties eleven
//! tables is one statement doing one thing: the table-by-table findings about rows removed
//! (`destructive_change` after an up, `data_loss` after a down) are grouped by the statement
//! that removed them, found by name (`DELETE FROM t`, `TRUNCATE t`, `DROP TABLE t`) or through
//! the foreign keys of a table whose rows it removed, and each group is one finding at that
//! statement's line listing every table with its counts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::migrations::{Script, Statement};
use crate::report::Finding;
use crate::schema::SchemaSnapshot;

/// A finding about rows removed from `table`: `removed` of `before`.
pub struct Removal {
    pub table: String,
    pub before: i64,
    pub removed: i64,
    pub finding: Finding,
}

/// The tables a statement removes rows from by name (lower case, unqualified): the target of
/// `DELETE FROM`, the list of `TRUNCATE`, the list of `DROP TABLE`.
fn removal_targets(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let name = |w: &str| {
        let last = w.rsplit('.').next().unwrap_or(w);
        last.trim_matches(|c| c == '"' || c == '`').to_string()
    };
    let skip = [
        "table",
        "only",
        "if",
        "exists",
        "from",
        "ignore",
        "quick",
        "low_priority",
    ];
    let list = |from: usize| -> Vec<String> {
        words[from..]
            .iter()
            .skip_while(|w| skip.contains(&w.as_str()))
            .take_while(|w| !matches!(w.as_str(), "where" | "cascade" | "restrict" | "using"))
            .take_while(|w| !matches!(w.as_str(), "restart" | "continue" | "returning"))
            .map(|w| name(w))
            .collect()
    };
    match words.first().map(String::as_str) {
        Some("delete") => list(1).into_iter().take(1).collect(),
        Some("truncate") => list(1),
        Some("drop") if words.get(1).map(String::as_str) == Some("table") => list(2),
        _ => Vec::new(),
    }
}

/// The first statement of `script` that removes rows of `table` by name.
fn removing<'s>(script: &'s Script, table: &str) -> Option<&'s Statement> {
    let own = table
        .rsplit('.')
        .next()
        .unwrap_or(table)
        .to_ascii_lowercase();
    script
        .statements
        .iter()
        .find(|s| removal_targets(&s.sql).contains(&own))
}

/// The tables `table` references, directly or through others, nearest first.
fn ancestors(table: &str, schema: &SchemaSnapshot) -> Vec<String> {
    let mut seen = BTreeSet::from([table.to_string()]);
    let mut queue = vec![table.to_string()];
    let mut out = Vec::new();
    while let Some(next) = (!queue.is_empty()).then(|| queue.remove(0)) {
        let Some(t) = schema.tables.get(&next) else {
            continue;
        };
        for fk in &t.foreign_keys {
            if seen.insert(fk.ref_table.clone()) {
                out.push(fk.ref_table.clone());
                queue.push(fk.ref_table.clone());
            }
        }
    }
    out
}

/// Where the rows of `table` went: the statement of one of `scripts` that removes them, and
/// the table it names when that is another one (a cascade through foreign keys).
fn cause<'s>(
    table: &str,
    scripts: &[&'s Script],
    schema: &SchemaSnapshot,
) -> Option<(&'s Script, &'s Statement, Option<String>)> {
    for script in scripts {
        if let Some(s) = removing(script, table) {
            return Some((script, s, None));
        }
        for parent in ancestors(table, schema) {
            if let Some(s) = removing(script, &parent) {
                return Some((script, s, Some(parent)));
            }
        }
    }
    None
}

/// `removals` grouped by the statement of `scripts` (searched in order) that removed them:
/// each group is one finding at that statement, the first of its tables named by the
/// statement as the finding's object, the others listed; `describe(table, removed, before)`
/// words one table (`public.posts (96 of 200 rows)`). Removals no statement explains keep
/// their own finding.
pub fn grouped(
    removals: Vec<Removal>,
    scripts: &[&Script],
    schema: &SchemaSnapshot,
    describe: &dyn Fn(&Removal) -> String,
) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, usize), Vec<(Removal, bool)>> = BTreeMap::new();
    let mut out = Vec::new();
    for removal in removals {
        match cause(&removal.table, scripts, schema) {
            Some((script, statement, via)) => {
                let key = (script.path.display().to_string(), statement.line);
                let line = statement.line;
                let mut removal = removal;
                removal.finding = removal.finding.at(&script.path, Some(line));
                groups
                    .entry(key)
                    .or_default()
                    .push((removal, via.is_none()));
            }
            None => out.push(removal.finding),
        }
    }
    for ((_, _), mut members) in groups {
        // The tables the statement names first, then the ones reached through foreign keys.
        members.sort_by_key(|(r, direct)| (!*direct, r.table.clone()));
        out.push(merge(members, describe));
    }
    out
}

/// One finding for the removals of one statement.
fn merge(members: Vec<(Removal, bool)>, describe: &dyn Fn(&Removal) -> String) -> Finding {
    let tables: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .map(|(r, _)| {
            let counts = json!({"rows_before": r.before, "rows_removed": r.removed});
            (r.table.clone(), counts)
        })
        .collect();
    let through: Vec<&(Removal, bool)> = members.iter().filter(|(_, d)| !d).collect();
    let mut iter = members.iter();
    let Some((first, _)) = iter.next() else {
        unreachable!("a group has a member");
    };
    let mut finding = first.finding.clone();
    if members.len() == 1 {
        return finding;
    }
    let named: Vec<String> = members
        .iter()
        .skip(1)
        .filter(|(_, d)| *d)
        .map(|(r, _)| describe(r))
        .collect();
    if !named.is_empty() {
        finding
            .message
            .push_str(&format!("; also {}", named.join(", ")));
    }
    if !through.is_empty() {
        let rows: i64 = through.iter().map(|(r, _)| r.removed).sum();
        let listed: Vec<String> = through.iter().map(|(r, _)| describe(r)).collect();
        finding.message.push_str(&format!(
            "; and through foreign keys {rows} rows of {} more tables: {}",
            through.len(),
            listed.join(", ")
        ));
    }
    finding.detail("tables", tables).detail(
        "through_foreign_keys",
        through
            .iter()
            .map(|(r, _)| r.table.clone())
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_the_tables_they_remove_rows_from() {
        assert_eq!(removal_targets("DELETE FROM users WHERE id > 1"), ["users"]);
        assert_eq!(
            removal_targets("delete from \"public\".\"users\""),
            ["users"]
        );
        assert_eq!(
            removal_targets("TRUNCATE TABLE ONLY a, public.b RESTART IDENTITY CASCADE"),
            ["a", "b"]
        );
        assert_eq!(removal_targets("DROP TABLE IF EXISTS a, b"), ["a", "b"]);
        assert!(removal_targets("UPDATE users SET a = 1").is_empty());
        assert!(removal_targets("DROP INDEX users_name").is_empty());
    }
}
