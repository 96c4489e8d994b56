//! What `dry-run`'s deploy did, in words every format shows alike: a statement's rows, lock
//! and rewrites beside its time, and a table's data change in parts. The human text, Markdown
//! and HTML all say it with these.

use crate::report::{DataChange, StatementTrace, plural};

/// What a statement did besides taking time: rows, the lock it held, tables it rewrote.
pub fn notes(s: &StatementTrace) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(rows) = s.rows.filter(|r| *r > 0) {
        notes.push(plural(rows, "row"));
    }
    if let Some(locks) = s.lock_text() {
        notes.push(format!("{locks}, held {} ms", s.held_ms));
    }
    if !s.rewrote.is_empty() {
        notes.push(format!("rewrote {}", s.rewrote.join(", ")));
    }
    notes
}

/// A table's data change in parts: rows before and after, then per column.
pub fn describe(change: &DataChange) -> Vec<String> {
    let count = |n: Option<i64>| n.map_or("-".to_string(), |n| n.to_string());
    if let Some(new) = &change.renamed_to {
        return vec![format!(
            "renamed to {new}, {} and their values kept",
            plural(count(change.rows_before), "row")
        )];
    }
    let mut parts = vec![match (change.rows_before, change.rows_after) {
        (None, after) => format!("new, {}", plural(count(after), "row")),
        (before, None) => format!("dropped, held {}", plural(count(before), "row")),
        (before, after) => format!("{} → {}", count(before), plural(count(after), "row")),
    }];
    if change.rows_before.is_some() && change.rows_after.is_some() {
        if let Some(added) = change.rows_added.filter(|n| *n > 0) {
            parts.push(format!("{added} added"));
        }
        if let Some(removed) = change.rows_removed.filter(|n| *n > 0) {
            parts.push(format!("{removed} removed"));
        }
    }
    for (column, n) in &change.values_changed {
        parts.push(format!("{column}: {} changed", plural(n, "value")));
    }
    if !change.columns_differ.is_empty() {
        parts.push(format!(
            "values differ in {}",
            change.columns_differ.join(", ")
        ));
    }
    for (column, n) in &change.columns_dropped {
        parts.push(format!("{column}: dropped with {}", plural(n, "value")));
    }
    for (old, new) in &change.columns_renamed {
        parts.push(format!("{old}: renamed to {new}, values kept"));
    }
    parts
}
