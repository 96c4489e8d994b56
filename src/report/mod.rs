//! The report model, the registry of finding kinds, and one renderer per output format.
//!
//! Renderers are functions from `&Report` to a writer; none of them recomputes anything.

mod codeclimate;
mod deploy;
mod examples;
pub mod explain;
#[cfg(test)]
mod fixtures;
mod github;
mod help;
mod html;
mod human;
mod json;
mod junit;
mod kinds;
mod markdown;
pub mod masking;
mod model;
mod phases;
mod progress;
mod quote;
pub mod rules;
#[cfg(test)]
mod same_everywhere;
mod sarif;

pub use codeclimate::render_codeclimate;
pub use github::render_github;
pub use html::render_html;
pub use human::{DriftFacts, DryRunFacts, HumanText, Look, render_human};
pub use json::render_json;
pub use junit::render_junit;
pub use kinds::{FindingKind, Severity};
pub use markdown::render_markdown;
pub use model::{
    DataChange, Direction, Finding, Interruption, MigrationResult, MigrationStatus, Report,
    RunningStatement, StatementTrace, Status, Summary, TableCopy, TableLock, TimelineEntry,
    tool_name,
};
pub use progress::{Observer, Progress, Quiet};
pub use quote::{quote, quote_statements};
pub use sarif::{render_sarif, sarif_value};

/// The JSON Schema of the report (`schema/report.schema.json`, the contract of docs/report.md).
pub const SCHEMA: &str = include_str!("../../schema/report.schema.json");

/// `n` and `word`, in the plural unless `n` is 1: `1 error`, `2 warnings`, `3 entries`. Every
/// count a report or a command prints goes through here.
pub fn plural(n: impl std::fmt::Display, word: &str) -> String {
    let n = n.to_string();
    // "info" is a mass noun: "3 info", as "3 errors · 2 warnings · 3 info".
    if n == "1" || word == "info" {
        return format!("{n} {word}");
    }
    let consonant_y = word.ends_with('y')
        && !word.ends_with("ay")
        && !word.ends_with("ey")
        && !word.ends_with("oy");
    let plural = if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| word.ends_with(e)) {
        format!("{word}es")
    } else {
        format!("{word}s")
    };
    format!("{n} {plural}")
}

/// Output formats for stdout or `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable text: one line per migration, then the findings, then a summary.
    Human,
    /// The versioned JSON report (docs/report.md; `driftless schema` prints its JSON Schema).
    Json,
    /// JUnit XML: a test suite per migration, a test case per phase.
    Junit,
    /// Markdown for a PR comment or CI step summary.
    Markdown,
    /// GitHub Actions annotations (`::error file=…,line=…::`).
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// One self-contained HTML page.
    Html,
    /// Code Climate issues JSON: GitLab's Code Quality report.
    Codeclimate,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Html => "html",
            Format::Codeclimate => "codeclimate",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        [
            Format::Human,
            Format::Json,
            Format::Junit,
            Format::Markdown,
            Format::Github,
            Format::Sarif,
            Format::Html,
            Format::Codeclimate,
        ]
        .into_iter()
        .find(|f| f.name() == text)
    }
}

/// Renders `report` in `format`; `human` says which command's text `Format::Human` is, and
/// `look` (colour, detail) only affects that text.
pub fn render(
    report: &Report,
    format: Format,
    human: HumanText,
    out: &mut dyn std::io::Write,
    look: Look,
) -> std::io::Result<()> {
    match format {
        Format::Human => human.render(report, out, look),
        Format::Json => render_json(report, out),
        Format::Junit => render_junit(report, out),
        Format::Markdown => render_markdown(report, out),
        Format::Github => render_github(report, out),
        Format::Sarif => render_sarif(report, out),
        Format::Html => render_html(report, out),
        Format::Codeclimate => render_codeclimate(report, out),
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(0usize, "error"), "0 errors");
        assert_eq!(plural(2u64, "warning"), "2 warnings");
        assert_eq!(plural(3, "entry"), "3 entries");
        assert_eq!(plural(3, "key"), "3 keys");
        assert_eq!(plural(3, "info"), "3 info");
        assert_eq!(plural(2, "index"), "2 indexes");
        assert_eq!(plural(-1i64, "row"), "-1 rows");
    }
}
