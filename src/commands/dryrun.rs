//! `driftless dry-run`: restore a production snapshot into a disposable database, find where
//! production is in its migration history, apply the pending migrations as the deploy would,
//! and report what that does: time, locks, rewrites, data changes, broken checks.

mod deploy;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use deploy::deploy;

use super::Signals;
use crate::checks::{Check, load_checks};
use crate::cli::DryRunArgs;
use crate::config::Config;
use crate::engine::{EngineSpec, StartOptions};
use crate::migrations::{MigrationFormat, display_path};
use crate::report::{
    self, DataChange, DryRunFacts, Finding, Format, HumanText, MigrationResult, Report,
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
    let config = Config::load(args.common.config.as_deref())?;
    let engine = super::resolve_engine(args.common.engine.clone(), &config, None)?;
    let (settings, list) = settings(&args, &config, engine)?;
    let start = StartOptions {
        keep: args.keep,
        trace_locks: true,
        hidden_tables: crate::history::history_tables(settings.format),
        ..super::server_options(&args.server, &config, engine, args.common.quiet)
    };
    let mut progress = report::Progress::new(args.common.quiet);
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
    let facts = DryRunFacts {
        restore_ms: outcome.restore_ms,
        tracking: outcome.tracking,
        compared: outcome.compared,
    };
    let mut report = Report::new("dry-run", engine.name, started_at);
    report.server_version = Some(outcome.server_version);
    report.migration_format = Some(settings.format.name().into());
    report.migrations = outcome.migrations;
    report.timeline = outcome.timeline;
    report.data_changes = outcome.data_changes;
    report.findings = outcome.findings;
    // The lint rules of the migrations this deploy ran, each with what the run observed at
    // its statement (rules read earlier migrations too, so all are linted).
    let mut lints: Vec<Finding> = super::lint::findings(engine, &list, &start.session, true)
        .into_iter()
        .filter(|f| {
            report
                .timeline
                .iter()
                .any(|e| f.migration.as_deref() == Some(e.migration.as_str()))
        })
        .collect();
    crate::lint::attach_evidence(&mut lints, &report.timeline);
    report.findings.extend(lints);
    report::quote_statements(&mut report.findings, &list);
    // The allow lines the report offers must work here too, as they do for `check`.
    crate::policy::apply(&mut report.findings, &config, &list);
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.finish(args.report.fail_on(&config), settings.checks.len());
    let format = args.report.format.unwrap_or(Format::Human);
    let human = HumanText::DryRun(&facts);
    super::write_report(
        &report,
        format,
        human,
        args.report.output.as_deref(),
        super::Presentation::of(&args.common),
    )?;
    Ok(super::exit_code(&report))
}

/// What the deploy needs from the flags and the config, read before anything starts.
fn settings(
    args: &DryRunArgs,
    config: &Config,
    engine: &EngineSpec,
) -> Result<(Settings, Vec<crate::migrations::Migration>)> {
    if !args.snapshot.exists() {
        return Err(Error::input(format!(
            "snapshot {} does not exist",
            display_path(&args.snapshot).display()
        )));
    }
    let migrations_dir = super::migrations_dir(args.migrations.dir.as_deref(), config);
    let (format, list) = super::read_migrations(
        &migrations_dir,
        args.migrations.format.or(config.migration_format),
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
    Ok((settings, list))
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
