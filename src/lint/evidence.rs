//! What a run observed, beside the lint finding of the statement it ran: `dry-run`'s
//! statement traces (lock, tables, time held, rows, rewrites), matched by file and line.
//! A rule whose hazard the run disproves (a type change that did not rewrite the table) is
//! downgraded to `info`, with the evidence, so the gate does not cry wolf.

use serde_json::{Map, Value};

use crate::report::{Finding, FindingKind, Severity, StatementTrace, TimelineEntry};

/// The rules whose hazard is a rewrite of the table: disproved by a run that rewrote nothing.
const REWRITE_RULES: &[&str] = &["changing-column-type", "adding-column-volatile-default"];

/// Attaches `details.observed` to every lint finding whose statement the timeline traced, and
/// downgrades the ones the run disproves.
pub fn attach_evidence(findings: &mut [Finding], timeline: &[TimelineEntry]) {
    for f in findings.iter_mut().filter(|f| f.kind == FindingKind::Lint) {
        let (Some(rule), Some(file), Some(line)) = (f.rule.clone(), f.file.clone(), f.line) else {
            continue;
        };
        let Some(trace) = timeline
            .iter()
            .filter(|e| e.file == file)
            .flat_map(|e| &e.statements)
            .find(|s| s.line == line)
        else {
            continue;
        };
        let observed = observed(trace);
        let disproved = REWRITE_RULES.contains(&rule.as_str())
            && match f.table.as_deref() {
                Some(table) => !rewrote(trace, table),
                None => trace.rewrote.is_empty(),
            };
        f.details
            .get_or_insert_with(Map::new)
            .insert("observed".into(), observed);
        if disproved {
            f.severity = Severity::Info;
            f.message = format!(
                "{} — but the run did not rewrite the table ({} ms, {} held {} ms), so this change is metadata only",
                f.message,
                trace.ms,
                trace.lock.as_deref().unwrap_or("no lock"),
                trace.held_ms
            );
            f.details.get_or_insert_with(Map::new).insert(
                "disproved".into(),
                Value::String("no table rewrite observed".into()),
            );
        } else if let Some(lock) = trace.lock.as_ref().filter(|_| about_locks(&rule)) {
            f.message = format!(
                "{} (observed: {lock}{}, held {} ms{})",
                f.message,
                trace
                    .lock_on
                    .as_deref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default(),
                trace.held_ms,
                if trace.rewrote.is_empty() {
                    String::new()
                } else {
                    format!(", rewrote {}", trace.rewrote.join(", "))
                }
            );
        }
    }
}

/// Whether `rule` is about locks and rewrites, so the lock a run observed belongs in its
/// message; a design rule on the same statement (`prefer-text`) keeps it in `details` only.
fn about_locks(rule: &str) -> bool {
    crate::report::rules::find(rule)
        .is_some_and(|r| r.group == crate::report::rules::RuleGroup::Locks)
}

fn rewrote(trace: &StatementTrace, table: &str) -> bool {
    trace
        .rewrote
        .iter()
        .any(|r| r == table || r.rsplit('.').next() == Some(table))
}

fn observed(trace: &StatementTrace) -> Value {
    serde_json::json!({
        "ms": trace.ms,
        "lock": trace.lock,
        "lock_on": trace.lock_on,
        "blocks": trace.blocks,
        "held_ms": trace.held_ms,
        "rows": trace.rows,
        "rewrote": trace.rewrote,
    })
}
