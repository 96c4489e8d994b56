//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per
//! finding, with file, line and title, so findings show on the PR diff; then a plain summary.

use std::io::Write;

use super::{Finding, Report, Severity, plural};

/// Escaping of the message part of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value (`file=`, `title=`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotation's text: the message, the statement quoted, what to do, how to accept it.
fn annotation(f: &Finding) -> String {
    let mut text = f.message.clone();
    if let Some(sql) = &f.statement {
        text.push_str("\n\n");
        text.push_str(sql);
    }
    let examples = super::examples::example_lines(f);
    if !examples.is_empty() {
        text.push_str("\n\n");
        text.push_str(&examples.join("\n"));
    }
    if let Some(help) = &f.help {
        text.push_str(&format!("\n\nhelp: {help}"));
    }
    if let Some(allow) = &f.allow {
        text.push_str(&format!("\naccept: {allow}"));
    }
    text.push_str(&format!("\nexplain: {} ({})", f.explain, f.help_url));
    text
}

pub fn render_github(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &report.findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let Some(file) = &f.file {
            properties.push(format!("file={}", escape_property(file)));
            if let Some(line) = f.line {
                properties.push(format!("line={line}"));
            }
        }
        let title = match &f.migration {
            Some(v) => format!("driftless {} ({v})", f.kind.id()),
            None => format!("driftless {}", f.kind.id()),
        };
        properties.push(format!("title={}", escape_property(&title)));
        writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            escape_data(&annotation(f))
        )?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "driftless {}: {}, {}, {} in {}",
        report.status.as_str(),
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        plural(s.migrations, "migration")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_github_documents() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
