//! Markdown for a PR comment or a CI step summary: a verdict, a table of migrations, and each
//! finding in a collapsible block with its diff or sample. Kept under 60,000 characters
//! (GitHub comments stop at 65,536): what does not fit is cut with a note.

use std::fmt::Write as _;
use std::io::Write;

use super::phases::findings_of;
use super::{Finding, MigrationStatus, Report, Severity, Status, plural};

/// The most a rendering may hold.
pub const LIMIT: usize = 60_000;

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "🔴",
        Severity::Warning => "🟡",
        Severity::Info => "🔵",
    }
}

/// Text safe inside a table cell or a summary line.
fn inline(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

fn ms(value: Option<u64>) -> String {
    value
        .map(|v| format!("{v} ms"))
        .unwrap_or_else(|| "–".into())
}

/// Text inside a code fence, with fences of its own defused.
fn fenced(text: &str) -> String {
    text.trim_end().replace("```", "`‵`")
}

/// The statement quoted, the help line, the line that accepts it, the kind's page.
fn lesson(block: &mut String, f: &Finding) {
    if let Some(sql) = &f.statement {
        let _ = writeln!(block, "```sql\n{}\n```\n", fenced(sql));
    }
    if let Some(help) = &f.help {
        let _ = writeln!(block, "**help:** {}\n", inline(help));
    }
    if let Some(allow) = &f.allow {
        let _ = writeln!(block, "To accept it:\n\n```\n{}\n```\n", fenced(allow));
    }
    let _ = writeln!(block, "[`{}`]({})\n", f.explain, f.help_url);
}

fn finding_block(f: &Finding) -> String {
    let mut block = String::new();
    let place = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!(" — `{file}:{line}`"),
        (Some(file), None) => format!(" — `{file}`"),
        _ => String::new(),
    };
    let _ = writeln!(
        block,
        "<details><summary>{} <b>{}</b> <code>{}</code> {}</summary>\n",
        icon(f.severity),
        f.severity.as_str(),
        f.kind.id(),
        inline(&f.message)
    );
    let _ = writeln!(block, "{}{place}\n", inline(&f.message));
    let detail = |key: &str| f.get_detail(key);
    if let Some(reason) = detail("allowed").and_then(|v| v.as_str()) {
        let _ = writeln!(block, "Allowed: {}\n", inline(reason));
    }
    if let Some(keys) = detail("sample_keys")
        .and_then(|v| v.as_array())
        .filter(|k| !k.is_empty())
    {
        let keys: Vec<&str> = keys.iter().filter_map(|k| k.as_str()).collect();
        let _ = writeln!(block, "Sample keys: `{}`\n", keys.join("`, `"));
    }
    let examples = super::examples::example_rows(f);
    if !examples.is_empty() {
        block.push_str("| row | before | after |\n|---|---|---|\n");
        for (key, before, after) in examples {
            let _ = writeln!(
                block,
                "| {} | {} | {} |",
                inline(&key),
                inline(&before),
                inline(&after)
            );
        }
        block.push('\n');
    }
    if let Some(rows) = detail("sample")
        .and_then(|v| v.as_array())
        .filter(|r| !r.is_empty())
    {
        block.push_str("```json\n");
        for row in rows {
            let _ = writeln!(block, "{row}");
        }
        block.push_str("```\n\n");
    }
    for key in ["left_behind", "diff"] {
        if let Some(diff) = detail(key).and_then(|v| v.as_str()) {
            let _ = writeln!(block, "```diff\n{}\n```\n", fenced(diff));
        }
    }
    lesson(&mut block, f);
    block.push_str("</details>\n\n");
    block
}

/// `dry-run`: the deploy statement by statement (time, rows, lock, rewrites) and what it did
/// to the data, as its human text shows them.
fn deploy(text: &mut String, report: &Report) {
    if report.timeline.is_empty() {
        return;
    }
    text.push_str("### Deploy\n\n| migration | line | time | statement | rows, locks, rewrites |\n|---|---|---|---|---|\n");
    for entry in &report.timeline {
        let _ = writeln!(
            text,
            "| `{}` {} | | **{} ms** | | |",
            inline(&entry.migration),
            inline(&entry.migration_name),
            entry.ms
        );
        for s in &entry.statements {
            let _ = writeln!(
                text,
                "| | {} | {} ms | `{}` | {} |",
                s.line,
                s.ms,
                inline(&s.sql).replace('`', "'"),
                inline(&super::deploy::notes(s).join(" · "))
            );
        }
    }
    text.push('\n');
    if report.data_changes.is_empty() {
        text.push_str("Data: no rows or values changed.\n\n");
        return;
    }
    text.push_str("### Data changes\n\n| table | change |\n|---|---|\n");
    for change in &report.data_changes {
        let _ = writeln!(
            text,
            "| `{}` | {} |",
            inline(&change.table),
            inline(&super::deploy::describe(change).join(" · "))
        );
    }
    text.push('\n');
}

pub fn render_markdown(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.summary;
    let verdict = match report.status {
        Status::Pass => "✅ pass",
        Status::Fail => "❌ fail",
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## driftless {} — {verdict}\n\n{} · {} · {} · {} · {} · {} {} · {:.1} s\n",
        report.command,
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        plural(s.migrations, "migration"),
        plural(s.checks_run, "check"),
        report.engine,
        report.server_version.as_deref().unwrap_or(""),
        report.duration_ms as f64 / 1000.0
    );
    text.push_str("| | migration | up | down | re-up | findings |\n|---|---|---|---|---|---|\n");
    for m in &report.migrations {
        let found = findings_of(&report.findings, m);
        let worst = found.iter().map(|f| f.severity).max();
        let mark = match (m.status, worst) {
            (MigrationStatus::Skipped, _) => "⏭️",
            (MigrationStatus::Interrupted, _) => "⏹️",
            (MigrationStatus::Error, _) | (_, Some(Severity::Error)) => "❌",
            (_, Some(Severity::Warning)) => "⚠️",
            _ => "✅",
        };
        let kinds: Vec<String> = found.iter().map(|f| format!("`{}`", f.kind.id())).collect();
        let _ = writeln!(
            text,
            "| {mark} | `{}` {} | {} | {} | {} | {} |",
            inline(&m.version),
            inline(&m.name),
            ms(m.up_ms),
            ms(m.down_ms),
            ms(m.reup_ms),
            kinds.join(" ")
        );
    }
    text.push('\n');
    deploy(&mut text, report);
    let mut blocks = String::new();
    let mut shown = 0;
    for f in &report.findings {
        let block = finding_block(f);
        if text.len() + blocks.len() + block.len() > LIMIT - 300 {
            break;
        }
        blocks.push_str(&block);
        shown += 1;
    }
    if !report.findings.is_empty() {
        text.push_str("### Findings\n\n");
        text.push_str(&blocks);
    }
    if shown < report.findings.len() {
        let _ = writeln!(
            text,
            "_{} did not fit in this comment: see the JSON or HTML report._",
            plural(report.findings.len() - shown, "more finding")
        );
    }
    let timeline = timeline(report);
    if text.len() + timeline.len() <= LIMIT - 300 {
        text.push_str(&timeline);
    } else if !timeline.is_empty() {
        text.push_str(
            "_The deploy's timeline did not fit in this comment: see the JSON or HTML report._\n",
        );
    }
    out.write_all(text.as_bytes())
}

/// `dry-run`: per pending migration, each statement whole with its time and every lock it
/// took.
fn timeline(report: &Report) -> String {
    if report.timeline.is_empty() {
        return String::new();
    }
    let mut text = String::from("### Deploy timeline\n\n");
    for entry in &report.timeline {
        let _ = writeln!(
            text,
            "<details><summary><code>{}</code> {} — {} ms</summary>\n",
            inline(&entry.migration),
            inline(&entry.migration_name),
            entry.ms
        );
        for s in &entry.statements {
            let mut notes = vec![format!("line {}", s.line), format!("{} ms", s.ms)];
            if let Some(rows) = s.rows.filter(|r| *r > 0) {
                notes.push(plural(rows, "row"));
            }
            if let Some(locks) = s.lock_text() {
                notes.push(format!("{}, held {} ms", inline(&locks), s.held_ms));
            }
            if !s.rewrote.is_empty() {
                notes.push(format!("rewrote {}", inline(&s.rewrote.join(", "))));
            }
            let _ = writeln!(
                text,
                "{}\n\n```sql\n{}\n```\n",
                notes.join(" · "),
                fenced(&s.sql)
            );
        }
        text.push_str("</details>\n\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, FindingKind, MigrationResult, MigrationStatus, Summary};

    fn report(findings: usize) -> Report {
        let diff =
            "--- before up\n+++ after up→down\n".to_string() + &"+  column x int\n".repeat(40);
        Report {
            version: 1,
            tool: "driftless test".into(),
            command: "check".into(),
            engine: "postgres".into(),
            server_version: Some("15".into()),
            server_settings: Default::default(),
            status: Status::Fail,
            migration_format: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 1,
            seed: Some(1),
            migrations: vec![MigrationResult {
                version: "1".into(),
                name: "a | b".into(),
                up_ms: Some(1),
                down_ms: Some(1),
                reup_ms: Some(1),
                rows_seeded: Some(0),
                status: MigrationStatus::Finding,
            }],
            tables: Vec::new(),
            timeline: Vec::new(),
            data_changes: Vec::new(),
            findings: (0..findings)
                .map(|i| {
                    Finding::new(FindingKind::SchemaDrift, format!("drift number {i}"))
                        .migration("1", "a | b")
                        .detail("diff", diff.clone())
                })
                .collect(),
            summary: Summary::default(),
            phases_ms: Default::default(),
            interrupted: None,
        }
    }

    #[test]
    fn long_reports_are_cut_below_the_comment_limit_with_a_note() {
        let mut out = Vec::new();
        render_markdown(&report(2000), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.len() <= LIMIT, "{}", text.len());
        assert!(text.contains("more findings did not fit"));
        assert!(text.contains("`1` a \\| b"), "pipes escaped in the table");
    }

    #[test]
    fn short_reports_are_whole() {
        let mut out = Vec::new();
        render_markdown(&report(3), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("<details>").count(), 3);
        assert!(!text.contains("did not fit"));
    }

    #[test]
    fn dry_run_shows_each_statement_whole_with_every_lock() {
        let mut out = Vec::new();
        render_markdown(&crate::report::fixtures::dry_run(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("### Deploy timeline"), "{text}");
        assert!(
            text.contains(
                "```sql\nALTER TABLE orders\n    ADD CONSTRAINT orders_user_fk\n    FOREIGN KEY (user_id) REFERENCES users (id)\n```"
            ),
            "{text}"
        );
        assert!(
            text.contains("ShareRowExclusiveLock on public.orders, blocks writes; ShareRowExclusiveLock on public.users"),
            "{text}"
        );
        assert!(
            text.contains("AccessExclusiveLock on index public.users_pkey of public.users, blocks reads and writes"),
            "{text}"
        );
    }
}
