//! JUnit XML: a test suite per migration, a test case per phase (up, checks, down, re-up).
//! Error findings are failures carrying the message and file:line; warnings and infos go to
//! `system-out`; phases that did not run are skipped. Findings of no migration make a
//! `general` suite. The shape is the one Jenkins and GitLab read; quick-junit writes it.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::phases::{Phase, findings_of};
use super::{Finding, MigrationResult, MigrationStatus, Report, Severity};

pub fn render_junit(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut junit = quick_junit::Report::new(format!("driftless {}", report.command));
    junit.set_time(Duration::from_millis(report.duration_ms));
    // A start time that does not parse (reports are ours, so it does) only loses the attribute.
    let started = DateTime::parse_from_rfc3339(&report.started_at).ok();
    for m in &report.migrations {
        junit.add_test_suite(migration_suite(report, m, started));
    }
    let general: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.migration.is_none())
        .collect();
    if !general.is_empty() {
        let mut suite = TestSuite::new("general");
        suite.set_time(Duration::ZERO);
        suite.add_test_case(case("general", "driftless.general", None, &general, None));
        junit.add_test_suite(suite);
    }
    junit.serialize(out).map_err(std::io::Error::other)
}

/// A migration's suite: one case per phase, with the findings of that phase.
fn migration_suite(
    report: &Report,
    m: &MigrationResult,
    started: Option<DateTime<FixedOffset>>,
) -> TestSuite {
    let name = format!("{} {}", m.version, m.name);
    let classname = format!("driftless.{}", name.replace(' ', "_"));
    let mut suite = TestSuite::new(&name);
    if let Some(started) = started {
        suite.set_timestamp(started);
    }
    let ms: u64 = [m.up_ms, m.down_ms, m.reup_ms].iter().flatten().sum();
    suite.set_time(Duration::from_millis(ms));
    let found = findings_of(&report.findings, m);
    for phase in Phase::ALL {
        let mine: Vec<&Finding> = found
            .iter()
            .copied()
            .filter(|f| Phase::of(f) == phase)
            .collect();
        let skipped = skip_reason(m, phase, report.interrupted.is_some());
        suite.add_test_case(case(
            phase.name(),
            &classname,
            phase.millis(m),
            &mine,
            skipped,
        ));
    }
    suite
}

/// Why a phase did not run, if it did not.
fn skip_reason(m: &MigrationResult, phase: Phase, stopped: bool) -> Option<&'static str> {
    match (m.status, phase.millis(m)) {
        (MigrationStatus::Skipped, _) if stopped => Some("not run: the run was stopped"),
        (MigrationStatus::Skipped, _) => Some("not run: an earlier migration failed"),
        (MigrationStatus::Interrupted, _) => Some("the run was stopped while this migration ran"),
        (_, None) => Some(match phase {
            Phase::Down => "no down step ran",
            Phase::Reup => "not applied again",
            _ => "did not run",
        }),
        _ => None,
    }
}

/// A case of `findings`: failed when any is an error (whatever else is said about the phase),
/// else skipped with `skipped`'s reason, else passed; the other findings in `system-out`.
fn case(
    name: &str,
    classname: &str,
    ms: Option<u64>,
    findings: &[&Finding],
    skipped: Option<&str>,
) -> TestCase {
    let (errors, notes): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.severity == Severity::Error);
    let status = match (errors.first(), skipped) {
        (Some(first), _) => {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!("{}{more}", first.message))
                .set_type(first.kind.id())
                .set_description(described(&errors));
            status
        }
        (None, Some(reason)) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason);
            status
        }
        (None, None) => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(classname)
        .set_time(Duration::from_millis(ms.unwrap_or(0)));
    if !notes.is_empty() {
        case.set_system_out(described(&notes));
    }
    case
}

/// Each finding as `file:line: message [severity kind]` and its diff, a blank line between.
fn described(findings: &[&Finding]) -> String {
    let texts: Vec<String> = findings.iter().map(|f| describe(f)).collect();
    texts.join("\n\n")
}

fn describe(f: &Finding) -> String {
    let place = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}: "),
        (Some(file), None) => format!("{file}: "),
        _ => String::new(),
    };
    let mut text = format!(
        "{place}{} [{} {}]",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FindingKind, fixtures};

    fn xml(report: &Report) -> String {
        let mut out = Vec::new();
        render_junit(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_suite_per_migration_and_a_case_per_phase() {
        insta::assert_snapshot!("junit", xml(&fixtures::check()));
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        let mut report = fixtures::clean("check");
        report.findings = vec![
            Finding::new(FindingKind::Lint, "<a href=\"x\">&'\u{1}'</a>").severity(Severity::Error),
        ];
        let text = xml(&report);
        assert!(
            text.contains("message=\"&lt;a href=&quot;x&quot;&gt;&amp;&apos;&apos;&lt;/a&gt;\""),
            "{text}"
        );
        assert!(!text.contains('\u{1}'));
    }
}
