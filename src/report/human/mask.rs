//! The human text of `mask`: a line per copied table with how its columns were masked, the
//! findings with their diffs, and a verdict.

use std::fmt::Write as _;

use crate::report::{Report, plural};

/// `target` is where the copy went.
pub fn render_mask(report: &Report, target: &str) -> String {
    let mut out = format!(
        "driftless mask · {} {} → {target}\n\n",
        report.engine,
        report.server_version.as_deref().unwrap_or("")
    );
    let width = report
        .tables
        .iter()
        .map(|t| t.table.len())
        .max()
        .unwrap_or(0);
    for t in &report.tables {
        let masked: Vec<String> = t
            .columns
            .iter()
            .map(|(c, how)| format!("{c}: {how}"))
            .collect();
        let _ = writeln!(
            out,
            "  {:width$}  {:>14}  {:>6} ms  {}",
            t.table,
            plural(t.rows, "row"),
            t.ms,
            if masked.is_empty() {
                "(copied as it is)".to_string()
            } else {
                masked.join(", ")
            }
        );
    }
    if !report.findings.is_empty() {
        out.push('\n');
        for f in &report.findings {
            let severity = f.severity.as_str();
            let _ = writeln!(out, "  {severity:7} {:14} {}", f.kind.id(), f.message);
            if let Some(diff) = f.get_detail("diff").and_then(|d| d.as_str()) {
                for line in diff.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
            for line in super::quote_lines(f)
                .into_iter()
                .chain(super::lesson_lines(f))
            {
                let _ = writeln!(out, "          {line}");
            }
        }
    }
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    let _ = writeln!(
        out,
        "\n{}: {} · {} · {} · {} · {:.1} s",
        report.status.as_str(),
        plural(report.tables.len(), "table"),
        plural(rows, "row"),
        plural(report.summary.errors, "error"),
        plural(report.summary.warnings, "warning"),
        report.duration_ms as f64 / 1000.0
    );
    out
}
