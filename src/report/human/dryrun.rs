//! The human text of `dry-run`: where production stood, the deploy statement by statement with
//! its locks and rewrites, what it did to the data, the findings, and a verdict.

use std::fmt::Write as _;

use crate::report::deploy::{describe, notes};
use crate::report::{Finding, FindingKind, Report, TimelineEntry, plural};

/// What the text says beside the report: facts of the run the JSON report does not carry.
pub struct DryRunFacts {
    pub restore_ms: u64,
    /// What the tracking table said (`_sqlx_migrations (sqlx): 3 applied, 1 pending`).
    pub tracking: String,
    /// Tables whose data was compared, of how many.
    pub compared: (usize, usize),
}

pub fn render_dry_run(report: &Report, facts: &DryRunFacts) -> String {
    let mut out = format!(
        "driftless dry-run · {} {}\n  restored in {} ms · {}\n\n",
        report.engine,
        report.server_version.as_deref().unwrap_or(""),
        facts.restore_ms,
        facts.tracking
    );
    if report.timeline.is_empty() {
        out.push_str("  nothing to deploy: no pending migration\n");
    }
    for entry in &report.timeline {
        write_migration(&mut out, entry);
    }
    write_data(&mut out, report, facts.compared);
    write_findings(&mut out, report);
    let _ = writeln!(
        out,
        "\n{}: {} · {} · {} · {} · {:.1} s",
        report.status.as_str(),
        plural(report.summary.errors, "error"),
        plural(report.summary.warnings, "warning"),
        plural(report.timeline.len(), "pending migration"),
        plural(report.summary.checks_run, "check"),
        report.duration_ms as f64 / 1000.0
    );
    out
}

/// A pending migration and its statements, each with what it did beside it.
fn write_migration(out: &mut String, entry: &TimelineEntry) {
    let _ = writeln!(
        out,
        "  {} {}  {} ms",
        entry.migration, entry.migration_name, entry.ms
    );
    for s in &entry.statements {
        let notes = notes(s);
        // The whole statement: its later lines under its first.
        let sql = s
            .sql
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join(&format!("\n{INDENT}"));
        let _ = writeln!(
            out,
            "    line {:<4} {:>7} ms  {}{}",
            s.line,
            s.ms,
            sql,
            if notes.is_empty() {
                String::new()
            } else {
                format!("\n{INDENT}{}", notes.join(" · "))
            }
        );
    }
}

/// Where a statement's text and notes start under `    line N    12 ms  `.
const INDENT: &str = "                          ";

/// How many tables were compared (only after a deploy), then a line per table whose data
/// changed.
fn write_data(out: &mut String, report: &Report, (hashed, tables): (usize, usize)) {
    if !report.timeline.is_empty() {
        let _ = writeln!(
            out,
            "\n  data: compared {hashed} of {}{}",
            plural(tables, "table"),
            if hashed < tables {
                " (the deploy's statements cannot write the others)"
            } else {
                ""
            }
        );
        if report.data_changes.is_empty() {
            out.push_str("    no rows or values changed\n");
        }
    }
    for change in &report.data_changes {
        let _ = writeln!(
            out,
            "    {}  {}",
            change.table,
            describe(change).join(" · ")
        );
    }
}

/// The findings but the pending migrations (the timeline shows those), with file and line.
fn write_findings(out: &mut String, report: &Report) {
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::PendingMigration)
        .collect();
    if shown.is_empty() {
        return;
    }
    out.push('\n');
    for f in shown {
        let severity = f.severity.as_str();
        let place = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!("  {file}:{line}"),
            (Some(file), None) => format!("  {file}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {severity:7} {}{place}\n          {}",
            f.kind.id(),
            f.message
        );
        for line in super::quote_lines(f)
            .into_iter()
            .chain(super::lesson_lines(f))
        {
            let _ = writeln!(out, "          {line}");
        }
    }
}
