//! JUnit XML: a test suite per migration, a test case per phase (up, checks, down, re-up).
//! Error findings are failures carrying the message and file:line; warnings and infos go to
//! `system-out`; phases that did not run are skipped. The shape is the one Jenkins and GitLab
//! read (`testsuites/testsuite/testcase` with `failure`, `skipped`, `system-out`).

use std::fmt::Write as _;
use std::io::Write;

use super::phases::{Phase, findings_of};
use super::{Finding, MigrationStatus, Report, Severity};

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: Option<u64>) -> String {
    format!("{:.3}", ms.unwrap_or(0) as f64 / 1000.0)
}

fn place(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}: "),
        (Some(file), None) => format!("{file}: "),
        _ => String::new(),
    }
}

fn describe(f: &Finding) -> String {
    let mut text = format!(
        "{}{} [{} {}]",
        place(f),
        f.message,
        f.severity.as_str(),
        f.kind.id()
    );
    if let Some(diff) = f.get_detail("diff").and_then(|d| d.as_str()) {
        text.push('\n');
        text.push_str(diff);
    }
    text
}

struct Case {
    name: &'static str,
    time: String,
    failures: Vec<String>,
    notes: Vec<String>,
    first_failure: Option<(String, String)>,
    skipped: Option<String>,
}

pub fn render_junit(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut suites = String::new();
    let (mut total, mut failures, mut skipped) = (0, 0, 0);
    for m in &report.migrations {
        let found = findings_of(&report.findings, m);
        let mut cases = Vec::new();
        for phase in Phase::ALL {
            let mine: Vec<&&Finding> = found.iter().filter(|f| Phase::of(f) == phase).collect();
            let errors: Vec<&&Finding> = mine
                .iter()
                .copied()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            let skip = match (m.status, phase.millis(m)) {
                (MigrationStatus::Skipped, _) => {
                    Some("not run: an earlier migration failed".to_string())
                }
                (_, None) if errors.is_empty() => Some(match phase {
                    Phase::Down => "no down step ran".to_string(),
                    Phase::Reup => "not applied again".to_string(),
                    _ => "did not run".to_string(),
                }),
                _ => None,
            };
            cases.push(Case {
                name: phase.name(),
                time: seconds(phase.millis(m)),
                failures: errors.iter().map(|f| describe(f)).collect(),
                notes: mine
                    .iter()
                    .filter(|f| f.severity != Severity::Error)
                    .map(|f| describe(f))
                    .collect(),
                first_failure: errors
                    .first()
                    .map(|f| (f.message.clone(), f.kind.id().to_string())),
                skipped: skip,
            });
        }
        let suite_failures = cases.iter().filter(|c| !c.failures.is_empty()).count();
        let suite_skipped = cases
            .iter()
            .filter(|c| c.skipped.is_some() && c.failures.is_empty())
            .count();
        let time: u64 = [m.up_ms, m.down_ms, m.reup_ms].iter().flatten().sum();
        total += cases.len();
        failures += suite_failures;
        skipped += suite_skipped;
        let suite_name = format!("{} {}", m.version, m.name);
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"0\" skipped=\"{suite_skipped}\" time=\"{}\" timestamp=\"{}\">",
            xml(&suite_name),
            cases.len(),
            seconds(Some(time)),
            xml(report.started_at.trim_end_matches('Z'))
        );
        for case in cases {
            let _ = write!(
                suites,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                xml(&format!("driftless.{}", suite_name.replace(' ', "_"))),
                case.name,
                case.time
            );
            if case.failures.is_empty() && case.skipped.is_none() && case.notes.is_empty() {
                suites.push_str("/>\n");
                continue;
            }
            suites.push_str(">\n");
            if let Some((message, kind)) = &case.first_failure {
                let more = if case.failures.len() > 1 {
                    format!(" (and {} more)", case.failures.len() - 1)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    suites,
                    "      <failure message=\"{}{more}\" type=\"{}\">{}</failure>",
                    xml(message),
                    xml(kind),
                    xml(&case.failures.join("\n\n"))
                );
            } else if let Some(reason) = &case.skipped {
                let _ = writeln!(suites, "      <skipped message=\"{}\"/>", xml(reason));
            }
            if !case.notes.is_empty() {
                let _ = writeln!(
                    suites,
                    "      <system-out>{}</system-out>",
                    xml(&case.notes.join("\n\n"))
                );
            }
            suites.push_str("    </testcase>\n");
        }
        suites.push_str("  </testsuite>\n");
    }
    let general: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.migration.is_none())
        .collect();
    if !general.is_empty() {
        let errors: Vec<&&Finding> = general
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        total += 1;
        failures += usize::from(!errors.is_empty());
        let _ = writeln!(
            suites,
            "  <testsuite name=\"general\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n    <testcase classname=\"driftless.general\" name=\"general\" time=\"0.000\">",
            usize::from(!errors.is_empty())
        );
        if let Some(first) = errors.first() {
            let text: Vec<String> = errors.iter().map(|f| describe(f)).collect();
            let _ = writeln!(
                suites,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml(&first.message),
                first.kind.id(),
                xml(&text.join("\n\n"))
            );
        }
        suites.push_str("    </testcase>\n  </testsuite>\n");
    }
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"driftless {}\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
        xml(&report.command),
        seconds(Some(report.duration_ms))
    )?;
    out.write_all(suites.as_bytes())?;
    writeln!(out, "</testsuites>")
}
