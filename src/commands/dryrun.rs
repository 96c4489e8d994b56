//! `driftless dry-run`: restore a production snapshot into a disposable database, find where
//! production is in its migration history, apply the pending migrations as the deploy would,
//! and report what that does: time, locks, rewrites, data changes, broken checks.

mod deploy;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use deploy::deploy;

use super::Signals;
use crate::checks::{Check, load_checks};
use crate::cli::DryRunArgs;
use crate::config::Config;
use crate::engine::StartOptions;
use crate::migrations::{MigrationFormat, display_path};
use crate::report::{
    self, DataChange, Finding, FindingKind, Format, MigrationResult, Report, Severity, Status,
    TimelineEntry,
};
use crate::{Error, ExitCode, Result};

struct Settings {
    snapshot: PathBuf,
    migrations: PathBuf,
    format: MigrationFormat,
    checks: Vec<Check>,
    threshold: Duration,
    row_diff: bool,
}

pub async fn run(args: DryRunArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.config.as_deref())?;
    let engine = super::resolve_engine(args.engine.clone(), &config, None)?;
    if !args.snapshot.exists() {
        return Err(Error::input(format!(
            "snapshot {} does not exist",
            display_path(&args.snapshot).display()
        )));
    }
    let migrations_dir = super::migrations_dir(args.migrations.as_deref(), &config);
    let (format, list) = super::read_migrations(
        &migrations_dir,
        args.migration_format.or(config.migration_format),
        engine,
        "pass --migrations DIR",
    )?;
    let checks_required = args.checks.is_some() || config.checks.is_some();
    let checks_dir = args
        .checks
        .clone()
        .or_else(|| config.checks.as_deref().map(|p| config.resolve(p)))
        .unwrap_or_else(|| PathBuf::from("checks"));
    let checks = load_checks(&checks_dir, checks_required, engine.checks, engine.split)?;
    let settings = Settings {
        snapshot: args.snapshot.clone(),
        migrations: migrations_dir,
        format,
        checks,
        threshold: args.lock_threshold,
        row_diff: args.row_diff,
    };
    let start = StartOptions {
        keep: args.keep,
        trace_locks: true,
        ..super::server_options(&args.server, &config, args.quiet)
    };
    let mut progress = report::Progress::new(args.quiet);
    progress.status(&format!("starting {}…", engine.name));
    let mut db = signals.guard((engine.start)(&start)).await?;
    let outcome = signals
        .guard(deploy(
            db.as_mut(),
            &settings,
            &list,
            args.roundtrip,
            &mut progress,
        ))
        .await;
    progress.finish();
    let interrupted = matches!(outcome, Err(Error::Interrupted(_)));
    let kept = db
        .teardown(args.keep && !interrupted && outcome.is_ok())
        .await;
    let outcome = outcome?;
    if let Some(note) = kept? {
        eprintln!("{note}");
    }
    let summary = Summary {
        restore_ms: outcome.restore_ms,
        tracking: outcome.tracking,
        compared: outcome.compared,
    };
    let mut report = Report {
        version: 1,
        tool: report::tool_name(),
        command: "dry-run".into(),
        engine: engine.name.into(),
        server_version: Some(outcome.server_version),
        server_settings: BTreeMap::new(),
        status: Status::Pass,
        migration_format: Some(format.name().into()),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        seed: None,
        migrations: outcome.migrations,
        tables: Vec::new(),
        timeline: outcome.timeline,
        data_changes: outcome.data_changes,
        findings: outcome.findings,
        summary: Default::default(),
    };
    let fail_on = args
        .fail_on
        .map(Severity::from)
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    report.finish(fail_on, settings.checks.len());
    let format = args.format.unwrap_or(Format::Human);
    super::emit_report(
        &report,
        format,
        || human(&report, &summary),
        args.output.as_deref(),
    )
}

/// What the human output says beside the report.
struct Summary {
    restore_ms: u64,
    tracking: String,
    compared: (usize, usize),
}

struct Outcome {
    server_version: String,
    restore_ms: u64,
    /// What the tracking table said, for the human summary.
    tracking: String,
    migrations: Vec<MigrationResult>,
    timeline: Vec<TimelineEntry>,
    data_changes: Vec<DataChange>,
    /// Tables whose data was compared, of how many.
    compared: (usize, usize),
    findings: Vec<Finding>,
}

fn human(report: &Report, outcome: &Summary) -> String {
    let mut out = format!(
        "driftless dry-run · {} {}\n  restored in {} ms · {}\n\n",
        report.engine,
        report.server_version.as_deref().unwrap_or(""),
        outcome.restore_ms,
        outcome.tracking
    );
    if report.timeline.is_empty() {
        out.push_str("  nothing to deploy: no pending migration\n");
    }
    for entry in &report.timeline {
        let _ = writeln!(
            out,
            "  {} {}  {} ms",
            entry.migration, entry.migration_name, entry.ms
        );
        for s in &entry.statements {
            let mut notes = Vec::new();
            if let Some(rows) = s.rows.filter(|r| *r > 0) {
                notes.push(format!("{rows} rows"));
            }
            if let (Some(lock), Some(on)) = (&s.lock, &s.lock_on) {
                let blocking = s
                    .blocks
                    .as_deref()
                    .map(|b| format!(", blocks {b}"))
                    .unwrap_or_default();
                notes.push(format!("{lock} on {on}{blocking}, held {} ms", s.held_ms));
            }
            if !s.rewrote.is_empty() {
                notes.push(format!("rewrote {}", s.rewrote.join(", ")));
            }
            let _ = writeln!(
                out,
                "    line {:<4} {:>7} ms  {}{}",
                s.line,
                s.ms,
                s.sql,
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("\n                          {}", notes.join(" · "))
                }
            );
        }
    }
    let (hashed, tables) = outcome.compared;
    if !report.timeline.is_empty() {
        let _ = writeln!(
            out,
            "\n  data: compared {hashed} of {tables} tables{}",
            if hashed < tables {
                " (the deploy's statements cannot write the others)"
            } else {
                ""
            }
        );
        if report.data_changes.is_empty() {
            out.push_str("    no rows or values changed\n");
        }
    }
    for change in &report.data_changes {
        let count = |n: Option<i64>| n.map_or("-".to_string(), |n| n.to_string());
        let mut parts = vec![match (change.rows_before, change.rows_after) {
            (None, after) => format!("new, {} rows", count(after)),
            (before, None) => format!("dropped, held {} rows", count(before)),
            (before, after) => format!("{} → {} rows", count(before), count(after)),
        }];
        if change.rows_before.is_some() && change.rows_after.is_some() {
            if let Some(added) = change.rows_added.filter(|n| *n > 0) {
                parts.push(format!("{added} added"));
            }
            if let Some(removed) = change.rows_removed.filter(|n| *n > 0) {
                parts.push(format!("{removed} removed"));
            }
        }
        for (column, n) in &change.values_changed {
            parts.push(format!("{column}: {n} values changed"));
        }
        if !change.columns_differ.is_empty() {
            parts.push(format!(
                "values differ in {}",
                change.columns_differ.join(", ")
            ));
        }
        for (column, n) in &change.columns_dropped {
            parts.push(format!("{column}: dropped with {n} values"));
        }
        for (old, new) in &change.columns_renamed {
            parts.push(format!("{old}: renamed to {new}, values kept"));
        }
        let _ = writeln!(out, "    {}  {}", change.table, parts.join(" · "));
    }
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::PendingMigration)
        .collect();
    if !shown.is_empty() {
        out.push('\n');
        for f in shown {
            let severity = f.severity.as_str();
            let place = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("  {file}:{line}"),
                (Some(file), None) => format!("  {file}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {severity:7} {}{place}\n          {}",
                f.kind.id(),
                f.message
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}: {} errors · {} warnings · {} pending migrations · {} checks · {:.1} s",
        if report.status == Status::Pass {
            "pass"
        } else {
            "fail"
        },
        report.summary.errors,
        report.summary.warnings,
        report.timeline.len(),
        report.summary.checks_run,
        report.duration_ms as f64 / 1000.0
    );
    out
}
