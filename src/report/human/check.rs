//! `check`'s human text: a line per migration, findings grouped by migration, a summary.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::Look;
use crate::report::phases::findings_of;
use crate::report::{Finding, MigrationResult, MigrationStatus, Report, Severity, Status, plural};

/// Diff lines shown per finding before the rest is left to the JSON report.
const MAX_DIFF_LINES: usize = 24;

struct Paint {
    color: bool,
    /// `--verbose`: diffs whole.
    verbose: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn fg(&self, color: AnsiColor, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(color.into())), text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    fn severity(&self, severity: Severity) -> String {
        let color = match severity {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
        };
        self.fg(color, &format!("{:<7}", severity.as_str()))
    }
}

/// Writes the human report. `look.color` adds ANSI styles (callers decide from `--color`, the
/// TTY and NO_COLOR); `look.verbose` shows diffs whole.
pub fn render_human(report: &Report, out: &mut dyn Write, look: Look) -> std::io::Result<()> {
    let p = Paint {
        color: look.color,
        verbose: look.verbose,
    };
    write_header(out, &p, report)?;
    write_migrations(out, &p, report)?;
    write_findings(out, &p, report)?;
    writeln!(out)?;
    if let Some(stop) = &report.interrupted {
        writeln!(out, "{}", p.fg(AnsiColor::Yellow, &interrupted_line(stop)))?;
    }
    let s = &report.summary;
    let verdict = match report.status {
        Status::Pass => p.fg(AnsiColor::Green, "pass"),
        Status::Fail => p.fg(AnsiColor::Red, "fail"),
    };
    writeln!(
        out,
        "{verdict}: {} · {} · {} · {} · {} · {}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        plural(s.migrations, "migration"),
        plural(s.checks_run, "check"),
        duration(report.duration_ms)
    )
}

/// What ran: command, engine and server, seed, the migrations' layout, server settings.
fn write_header(out: &mut dyn Write, p: &Paint, report: &Report) -> std::io::Result<()> {
    let server = report
        .server_version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let seed = report
        .seed
        .map(|s| format!(" · seed {s}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "driftless {} · {}{server}{seed}",
            report.command, report.engine
        ))
    )?;
    if let Some(format) = &report.migration_format {
        writeln!(out, "{}", p.dim(&format!("migrations: {format}")))?;
    }
    for (name, value) in &report.server_settings {
        writeln!(out, "{}", p.dim(&format!("{name}: {value}")))?;
    }
    writeln!(out)
}

/// A line per migration: a mark for its worst finding, its name, its steps' timings.
fn write_migrations(out: &mut dyn Write, p: &Paint, report: &Report) -> std::io::Result<()> {
    let width = report
        .migrations
        .iter()
        .map(|m| m.version.len() + m.name.len() + 1)
        .max()
        .unwrap_or(0);
    for m in &report.migrations {
        let worst = findings_of(&report.findings, m)
            .iter()
            .map(|f| f.severity)
            .max();
        let mark = match (m.status, worst) {
            (MigrationStatus::Skipped, _) => p.dim("-"),
            (MigrationStatus::Interrupted, _) => p.fg(AnsiColor::Yellow, "■"),
            (MigrationStatus::Error, _) | (_, Some(Severity::Error)) => p.fg(AnsiColor::Red, "✗"),
            (_, Some(Severity::Warning)) => p.fg(AnsiColor::Yellow, "!"),
            _ => p.fg(AnsiColor::Green, "✓"),
        };
        let label = format!("{} {}", m.version, m.name);
        let timing = match m.status {
            MigrationStatus::Skipped => p.dim("skipped"),
            MigrationStatus::Interrupted => p.fg(AnsiColor::Yellow, "interrupted"),
            // `lint` reads the files and runs nothing.
            _ if report.command == "lint" => p.dim("read"),
            _ => timings(m),
        };
        writeln!(out, "  {mark} {label:<width$}  {timing}")?;
    }
    Ok(())
}

/// The findings in the report's order (errors, warnings, info), each with its migration.
fn write_findings(out: &mut dyn Write, p: &Paint, report: &Report) -> std::io::Result<()> {
    for f in &report.findings {
        writeln!(out)?;
        write_finding(out, p, f)?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, p: &Paint, f: &Finding) -> std::io::Result<()> {
    let place = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        _ => String::new(),
    };
    let migration = match (&f.migration, &f.migration_name) {
        (Some(v), Some(n)) => format!("{v} {n}"),
        (Some(v), None) => v.clone(),
        (None, _) => "general".to_string(),
    };
    let direction = f
        .direction
        .map(|d| format!(" ({})", d.as_str()))
        .unwrap_or_default();
    let place = if place.is_empty() {
        place
    } else {
        format!("  {}", p.dim(&place))
    };
    writeln!(
        out,
        "  {} {:<19} {}{direction}{place}",
        p.severity(f.severity),
        f.kind.id(),
        p.bold(&migration),
    )?;
    let indent = "          ";
    writeln!(out, "{indent}{}", f.message)?;
    for line in super::quote_lines(f) {
        writeln!(out, "{indent}{}", p.fg(AnsiColor::Cyan, &line))?;
    }
    let detail = |key: &str| f.get_detail(key);
    if let Some(reason) = detail("allowed").and_then(|v| v.as_str()) {
        writeln!(out, "{indent}{}", p.dim(&format!("allowed: {reason}")))?;
    }
    if let Some(keys) = detail("sample_keys").and_then(|v| v.as_array())
        && !keys.is_empty()
    {
        let keys: Vec<&str> = keys.iter().filter_map(|k| k.as_str()).collect();
        writeln!(out, "{indent}sample: {}", keys.join(", "))?;
    }
    for line in crate::report::examples::example_lines(f) {
        writeln!(out, "{indent}  {line}")?;
    }
    if let Some(rows) = detail("sample").and_then(|v| v.as_array()) {
        for row in rows {
            writeln!(out, "{indent}{}", p.dim(&shorten(&row.to_string(), 150)))?;
        }
    }
    if let Some(left) = detail("left_behind").and_then(|v| v.as_str()) {
        writeln!(
            out,
            "{indent}{}",
            p.dim("left behind by the statements that ran:")
        )?;
        write_diff(out, p, left, indent)?;
    }
    if let Some(diff) = detail("diff").and_then(|v| v.as_str()) {
        write_diff(out, p, diff, indent)?;
    }
    for line in super::lesson_lines(f) {
        let styled = if line.starts_with("help:") {
            line
        } else {
            p.dim(&line)
        };
        writeln!(out, "{indent}{styled}")?;
    }
    Ok(())
}

fn write_diff(out: &mut dyn Write, p: &Paint, diff: &str, indent: &str) -> std::io::Result<()> {
    let lines: Vec<&str> = diff.lines().collect();
    let shown = if p.verbose {
        usize::MAX
    } else {
        MAX_DIFF_LINES
    };
    for line in lines.iter().take(shown) {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            p.dim(line)
        } else if line.starts_with('+') {
            p.fg(AnsiColor::Green, line)
        } else if line.starts_with('-') {
            p.fg(AnsiColor::Red, line)
        } else if line.starts_with("@@") {
            p.fg(AnsiColor::Cyan, line)
        } else {
            line.to_string()
        };
        writeln!(out, "{indent}│ {styled}")?;
    }
    if lines.len() > shown {
        let more = format!(
            "… {} more lines with --verbose or in --format json",
            lines.len() - MAX_DIFF_LINES
        );
        writeln!(out, "{indent}│ {}", p.dim(&more))?;
    }
    Ok(())
}

fn timings(m: &MigrationResult) -> String {
    let mut parts = Vec::new();
    match m.up_ms {
        Some(ms) => parts.push(format!("up {ms} ms")),
        None => parts.push("up failed".to_string()),
    }
    if m.status != MigrationStatus::Error {
        match (m.down_ms, m.reup_ms) {
            (Some(d), Some(r)) => parts.push(format!("down {d} ms · re-up {r} ms")),
            (Some(d), None) => parts.push(format!("down {d} ms")),
            // A repeatable migration is applied a second time instead of rolled back.
            (None, Some(r)) => parts.push(format!("again {r} ms")),
            (None, None) => {}
        }
    }
    parts.join(" · ")
}

/// `text` cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// `interrupted by SIGTERM during 20240101000002 backfill (up), at migrations/2.up.sql:3
/// UPDATE … after 12.0 s`.
fn interrupted_line(stop: &crate::report::Interruption) -> String {
    let mut line = format!("interrupted by {}", stop.signal);
    if let Some(version) = &stop.migration {
        let name = stop.migration_name.as_deref().unwrap_or_default();
        line.push_str(&format!(" during {version} {name}"));
        if let Some(step) = &stop.step {
            line.push_str(&format!(" ({step})"));
        }
    }
    if let Some(statement) = &stop.statement {
        line.push_str(&format!(
            ", at {}:{} {} after {}",
            statement.file,
            statement.line,
            statement.sql,
            duration(statement.running_ms)
        ));
    }
    line.push_str("; the migrations after it did not run");
    line
}
