//! The report model, the registry of finding kinds, and one renderer per output format.
//!
//! Renderers are functions from `&Report` to a writer; none of them recomputes anything.

mod human;
mod json;
mod kinds;
mod model;
mod progress;

pub use human::render_human;
pub use json::render_json;
pub use kinds::{FindingKind, Severity};
pub use model::{
    Direction, Finding, MigrationResult, MigrationStatus, Report, Status, Summary, tool_name,
};
pub use progress::Progress;

/// Output formats for stdout or `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable text: one line per migration, then the findings, then a summary.
    Human,
    /// The versioned JSON report (see REPORT-CONTRACT.md).
    Json,
}

/// Renders `report` in `format`. `color` only affects human output.
pub fn render(
    report: &Report,
    format: Format,
    out: &mut dyn std::io::Write,
    color: bool,
) -> std::io::Result<()> {
    match format {
        Format::Human => render_human(report, out, color),
        Format::Json => render_json(report, out),
    }
}
