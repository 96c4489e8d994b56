//! Every format says the same thing: one fixture report rendered in each format shows the
//! same findings (kind and severity), in the same order, with the same counts.

use serde_json::Value;

use super::{Format, HumanText, Report, Severity, fixtures, plural, render};

fn rendered(report: &Report, format: Format) -> String {
    let mut out = Vec::new();
    render(
        report,
        format,
        HumanText::Check,
        &mut out,
        Default::default(),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The text between `start` and the next `end` after it, for each `start` in `text`.
fn between<'t>(text: &'t str, start: &str, end: &str) -> Vec<&'t str> {
    text.split(start)
        .skip(1)
        .filter_map(|rest| rest.split(end).next())
        .collect()
}

/// (severity, kind) of each finding, in the order `format` shows them.
fn shown(report: &Report, format: Format) -> Vec<(String, String)> {
    let text = rendered(report, format);
    let pair = |s: &str, k: &str| (s.to_string(), k.to_string());
    match format {
        Format::Json => {
            let v: Value = serde_json::from_str(&text).unwrap();
            let findings = v["findings"].as_array().unwrap().iter();
            findings
                .map(|f| pair(f["severity"].as_str().unwrap(), f["kind"].as_str().unwrap()))
                .collect()
        }
        Format::Sarif => {
            let v: Value = serde_json::from_str(&text).unwrap();
            let results = v["runs"][0]["results"].as_array().unwrap().iter();
            let severity = |l: &str| if l == "note" { "info" } else { l }.to_string();
            results
                .map(|r| {
                    (
                        severity(r["level"].as_str().unwrap()),
                        r["ruleId"].to_string(),
                    )
                })
                .map(|(s, k)| (s, k.trim_matches('"').to_string()))
                .collect()
        }
        Format::Codeclimate => {
            let v: Value = serde_json::from_str(&text).unwrap();
            let severity = |s: &str| match s {
                "critical" => "error",
                "minor" => "warning",
                _ => "info",
            };
            let issues = v.as_array().unwrap().iter();
            issues
                .map(|i| {
                    pair(
                        severity(i["severity"].as_str().unwrap()),
                        i["check_name"].as_str().unwrap(),
                    )
                })
                .collect()
        }
        Format::Human => text
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let severity = words.next()?;
                let known = ["error", "warning", "info"].contains(&severity);
                (known && l.starts_with("  ")).then(|| pair(severity, words.next().unwrap_or("")))
            })
            .collect(),
        Format::Markdown => between(&text, "<details><summary>", "</summary>")
            .into_iter()
            .map(|s| {
                pair(
                    between(s, "<b>", "</b>")[0],
                    between(s, "<code>", "</code>")[0],
                )
            })
            .collect(),
        Format::Html => between(&text, "<article class=\"finding\" data-kind=\"", ">")
            .into_iter()
            .map(|a| {
                pair(
                    between(a, "data-severity=\"", "\"")[0],
                    a.split('"').next().unwrap(),
                )
            })
            .collect(),
        Format::Github => text
            .lines()
            .filter(|l| l.starts_with("::"))
            .map(|l| {
                let command = l[2..].split(' ').next().unwrap();
                let severity = if command == "notice" { "info" } else { command };
                let title = between(l, "title=driftless ", "::")[0];
                pair(severity, title.split(' ').next().unwrap())
            })
            .collect(),
        Format::Junit => unreachable!("JUnit shows findings per migration and phase"),
    }
}

const FORMATS: [Format; 7] = [
    Format::Json,
    Format::Human,
    Format::Markdown,
    Format::Html,
    Format::Github,
    Format::Sarif,
    Format::Codeclimate,
];

#[test]
fn every_format_shows_the_same_findings_in_the_same_order() {
    let report = fixtures::check();
    let expected: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.severity.as_str().to_string(), f.kind.id().to_string()))
        .collect();
    assert!(expected.len() >= 5);
    let ranks: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "errors, warnings, info: {ranks:?}"
    );
    for format in FORMATS {
        let mut shown = shown(&report, format);
        let mut expected = expected.clone();
        if format == Format::Html {
            // The page groups findings by migration (errors' groups first, open): the same
            // findings, in another order.
            shown.sort();
            expected.sort();
        }
        assert_eq!(shown, expected, "{}", format.name());
    }
}

#[test]
fn every_summary_counts_with_correct_plurals() {
    let report = fixtures::check();
    let s = &report.summary;
    // The fixture has counts of 1 and of more, so both forms are asserted.
    assert!([s.errors, s.warnings, s.infos].contains(&1));
    assert!([s.errors, s.warnings, s.infos].iter().any(|n| *n > 1));
    let counts = [
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
    ];
    for format in [
        Format::Human,
        Format::Markdown,
        Format::Html,
        Format::Github,
    ] {
        let text = rendered(&report, format);
        for count in &counts {
            assert!(
                text.contains(count.as_str()),
                "{}: no {count}",
                format.name()
            );
        }
        assert!(!text.contains(" 1 errors") && !text.contains(" 1 warnings"));
    }
}

#[test]
fn every_finding_teaches_in_every_format() {
    let report = fixtures::check();
    let taught = report
        .findings
        .iter()
        .find(|f| f.statement.is_some())
        .expect("a fixture finding quotes its statement");
    let first_line = taught.statement.as_deref().unwrap().lines().next().unwrap();
    let help = taught.help.as_deref().unwrap();
    for format in FORMATS {
        let text = rendered(&report, format);
        assert!(text.contains(first_line), "{}: statement", format.name());
        assert!(text.contains(&help[..40]), "{}: help", format.name());
        assert!(text.contains(&taught.explain), "{}: explain", format.name());
    }
    for format in [
        Format::Human,
        Format::Markdown,
        Format::Html,
        Format::Github,
        Format::Json,
    ] {
        let text = rendered(&report, format);
        let allow = match format {
            Format::Html => "-- driftless:allow data_loss &lt;reason&gt;",
            _ => "-- driftless:allow data_loss <reason>",
        };
        assert!(text.contains(allow), "{}: allow line", format.name());
    }
}

#[test]
fn dry_run_markdown_and_html_show_what_its_text_shows() {
    let report = fixtures::dry_run();
    let mut facts: Vec<String> = Vec::new();
    for entry in &report.timeline {
        for s in &entry.statements {
            // Every line of the statement (the human text indents the later ones).
            facts.extend(s.sql.lines().map(|l| l.trim().to_string()));
            facts.extend(super::deploy::notes(s));
        }
    }
    for change in &report.data_changes {
        facts.push(change.table.clone());
        facts.extend(super::deploy::describe(change));
    }
    assert!(
        facts
            .iter()
            .any(|f| f.contains("AccessExclusiveLock on public.orders"))
    );
    assert!(facts.iter().any(|f| f.contains("rewrote public.orders")));
    let facts_md: Vec<String> = facts.iter().map(|f| f.replace('|', "\\|")).collect();
    let text = crate::report::human::render_dry_run(
        &report,
        &crate::report::DryRunFacts {
            restore_ms: 1,
            tracking: String::new(),
            compared: (1, 1),
        },
    );
    for (format, shown, wanted) in [
        ("human", text, &facts),
        ("markdown", rendered(&report, Format::Markdown), &facts_md),
        ("html", rendered(&report, Format::Html), &facts),
    ] {
        for fact in wanted {
            let fact = if format == "html" {
                fact.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            } else {
                fact.clone()
            };
            assert!(shown.contains(&fact), "{format} lacks `{fact}`");
        }
    }
}

#[test]
fn html_groups_findings_by_migration_with_errors_open() {
    let report = fixtures::check();
    let html = rendered(&report, Format::Html);
    let groups: Vec<&str> = html.split("<details class=\"group\"").skip(1).collect();
    assert!(groups.len() >= 2, "a block per migration");
    for group in groups {
        let group = group.split("</details>").next().unwrap_or_default();
        let has_error = group.contains("data-severity=\"error\"");
        assert_eq!(group.starts_with(" open>"), has_error, "{group}");
    }
}

/// Every kind in the contract, not only the fixture's: a finding of each kind at a file and
/// line, with its statement, shows the statement, its help and the line that accepts it in
/// every format that has room for them (SARIF carries the statement and help in its message;
/// its `helpUri` is the explain page).
#[test]
fn every_kind_shows_its_statement_help_and_allow_line_everywhere() {
    use super::{Finding, FindingKind};
    for kind in FindingKind::ALL {
        let mut report = fixtures::check();
        report.findings = vec![
            Finding::new(*kind, format!("a {} finding", kind.id()))
                .migration("20240101000001", "example")
                .at(
                    std::path::Path::new("migrations/20240101000001_example.up.sql"),
                    Some(3),
                )
                .statement("ALTER TABLE accounts DROP COLUMN nickname"),
        ];
        report.finish(Severity::Error, 0);
        let f = &report.findings[0];
        let help = f.help.clone().expect("every kind has a help line");
        assert!(!help.trim().is_empty(), "{}: empty help", kind.id());
        let allow = f
            .allow
            .clone()
            .expect("every kind has an allow line in check");
        for format in [
            Format::Human,
            Format::Markdown,
            Format::Html,
            Format::Json,
            Format::Sarif,
        ] {
            let text = rendered(&report, format);
            let (help_start, allow_shown) = if format == Format::Html {
                let esc = |s: &str| {
                    s.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                };
                (esc(&help.chars().take(30).collect::<String>()), esc(&allow))
            } else {
                (help.chars().take(30).collect(), allow.clone())
            };
            let name = format!("{} in {}", kind.id(), format.name());
            assert!(
                text.contains("ALTER TABLE accounts DROP COLUMN nickname"),
                "{name}: the statement"
            );
            let help_shown = if format == Format::Json || format == Format::Sarif {
                // JSON escapes quotes and backslashes: compare the first plain word run.
                help.split(['"', '\\', '`'])
                    .next()
                    .unwrap()
                    .chars()
                    .take(20)
                    .collect()
            } else {
                help_start
            };
            assert!(text.contains(&help_shown), "{name}: the help line");
            if format != Format::Sarif {
                assert!(text.contains(&allow_shown), "{name}: the allow line");
            }
        }
    }
}
