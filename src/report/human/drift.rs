//! The human text of `drift`: which database was compared with how many migrations, each
//! difference with its diff, and a verdict.

use crate::report::{Report, plural};

/// What the text says beside the report: facts of the run the JSON report does not carry.
pub struct DriftFacts {
    /// The live database's URL, its password already taken out.
    pub url: String,
    /// How many migrations the expected schema was built from.
    pub compared: usize,
    /// The tracking table that said which migrations are applied; `None` means all of them.
    pub tracking_table: Option<String>,
}

pub fn render_drift(report: &Report, facts: &DriftFacts) -> String {
    let mut out = format!(
        "driftless drift · {} {} · {}\n  compared with {}{}\n\n",
        report.engine,
        report.server_version.as_deref().unwrap_or(""),
        facts.url,
        plural(facts.compared, "migration"),
        facts
            .tracking_table
            .as_ref()
            .map(|t| format!(" (applied per {t})"))
            .unwrap_or_default()
    );
    if report.findings.is_empty() {
        out.push_str("  no drift: the live schema is what the migrations produce\n");
    }
    for f in &report.findings {
        out.push_str(&format!("  {} {}\n", f.kind.id(), f.message));
        if let Some(diff) = f.get_detail("diff").and_then(|d| d.as_str()) {
            for line in diff.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
        for line in super::lesson_lines(f) {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out.push_str(&format!(
        "\n{}: {} · {:.1} s\n",
        report.status.as_str(),
        plural(report.findings.len(), "difference"),
        report.duration_ms as f64 / 1000.0
    ));
    out
}
