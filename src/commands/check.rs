//! `driftless check`: the migration PR gate.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::Signals;
use crate::checks::load_checks;
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::engine::{Capability, Engine, EngineSpec, StartOptions};
use crate::migrations::{self, Migration, MigrationFormat, display_path};
use crate::report::{self, Format, HumanText, Progress, Report, Severity, Status};
use crate::roundtrip::{self, RoundtripOptions};
use crate::{Error, ExitCode, Result, policy};

const DEFAULT_ROWS: usize = 200;
const DEFAULT_SEED: u64 = 42;

/// Everything `check` needs, from flags, then `driftless.toml`, then defaults.
struct Settings {
    engine: &'static EngineSpec,
    migrations: PathBuf,
    migration_format: Option<MigrationFormat>,
    checks: PathBuf,
    checks_required: bool,
    fixtures: Option<PathBuf>,
    rows: usize,
    seed: u64,
    format: Format,
    output: Option<PathBuf>,
    reports: Vec<(Format, PathBuf)>,
    changed_since: Option<String>,
    lint: bool,
    fail_on: Severity,
    start: StartOptions,
    quiet: bool,
    shown: super::Presentation,
}

impl Settings {
    fn resolve(args: CheckArgs, config: &Config) -> Result<Settings> {
        let engine =
            super::resolve_engine(args.common.engine.clone(), config, args.url.as_deref())?;
        let from_config = |p: &Option<PathBuf>| p.as_deref().map(|p| config.resolve(p));
        let migrations = super::migrations_dir(args.migrations.dir.as_deref(), config);
        let checks_required = args.checks.is_some() || config.checks.is_some();
        let checks = args
            .checks
            .or_else(|| from_config(&config.checks))
            .unwrap_or_else(|| PathBuf::from("checks"));
        Ok(Settings {
            engine,
            migrations,
            migration_format: args.migrations.format.or(config.migration_format),
            checks,
            checks_required,
            fixtures: args.fixtures,
            rows: args.rows.or(config.rows).unwrap_or(DEFAULT_ROWS),
            seed: args.seed.or(config.seed).unwrap_or(DEFAULT_SEED),
            fail_on: args.report.fail_on(config),
            format: args
                .report
                .format
                .or(config.format)
                .unwrap_or(Format::Human),
            output: args.report.output,
            reports: args.reports,
            changed_since: args.changed_since,
            lint: !args.no_lint && config.lint != Some(false),
            start: StartOptions {
                url: args.url,
                keep: args.keep,
                sample: args.sample,
                ..super::server_options(&args.server, config, engine, args.common.quiet)
            },
            quiet: args.common.quiet,
            shown: super::Presentation::of(&args.common),
        })
    }
}

/// What `check` reads before any server starts: bad input fails here, with exit 2.
struct Inputs {
    format: MigrationFormat,
    migrations: Vec<migrations::Migration>,
    checks: Vec<crate::checks::Check>,
    shapes: crate::engine::Shapes,
    changes: Option<migrations::Changes>,
}

fn read_inputs(settings: &Settings) -> Result<Inputs> {
    let engine = settings.engine;
    let (format, migrations) = super::read_migrations(
        &settings.migrations,
        settings.migration_format,
        engine,
        "pass --migrations DIR",
    )?;
    if migrations.is_empty() {
        return Err(Error::input(format!(
            "no migrations in {} (read as the {} layout; --migration-format picks another)",
            display_path(&settings.migrations).display(),
            format.name()
        )));
    }
    let checks = load_checks(
        &settings.checks,
        settings.checks_required,
        engine.checks,
        engine.split,
    )?;
    let shapes = match &settings.fixtures {
        Some(dir) => {
            engine.require(Capability::Documents, "check --fixtures")?;
            crate::seed::documents::load_shapes(dir)?
        }
        None => Default::default(),
    };
    let changes = match &settings.changed_since {
        Some(rev) => Some(migrations::changed_since(
            &settings.migrations,
            rev,
            &migrations,
        )?),
        None => None,
    };
    Ok(Inputs {
        format,
        migrations,
        checks,
        shapes,
        changes,
    })
}

/// What later migrations demand of the rows seeded before each one, read from the ups in the
/// engine's dialect; nothing when no rows are seeded or the engine stores documents.
fn demands(
    engine: &mut dyn Engine,
    settings: &Settings,
    migrations: &[Migration],
) -> Vec<crate::seed::future::Demands> {
    match engine.rows() {
        Some(store) if settings.rows > 0 => {
            crate::seed::future::collect(migrations, store.dialect())
        }
        _ => Vec::new(),
    }
}

pub async fn run(args: CheckArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.common.config.as_deref())?;
    let mut settings = Settings::resolve(args, &config)?;
    let inputs = read_inputs(&settings)?;
    settings.start.hidden_tables = super::tool_tables(inputs.format);
    // The static rules first, no server needed; with --changed-since only for the migrations
    // that changed (every migration is read, for what earlier ones established).
    let mut lints: Vec<crate::report::Finding> = if !settings.lint {
        Vec::new()
    } else {
        super::lint::findings(
            settings.engine,
            &inputs.migrations,
            &settings.start.session,
            true,
        )
        .into_iter()
        .filter(|f| match &inputs.changes {
            None => true,
            Some(changes) => changes
                .changed
                .iter()
                .any(|i| f.migration.as_deref() == Some(inputs.migrations[*i].version.as_str())),
        })
        .collect()
    };

    let mut progress = Progress::new(settings.quiet);
    progress.status(&format!("starting {}…", settings.engine.name));
    let mut engine = signals
        .guard((settings.engine.start)(&settings.start))
        .await?;
    let server_version = engine.server_version().to_string();
    let server_settings = engine.server_settings();
    let demands = demands(engine.as_mut(), &settings, &inputs.migrations);
    // The ups a hazard rule flagged run traced, so their findings carry what the run showed;
    // the schema-design rules (info) need no run to be judged.
    let trace: std::collections::BTreeSet<String> = lints
        .iter()
        .filter(|f| f.severity > crate::report::Severity::Info)
        .filter_map(|f| f.migration.clone())
        .collect();
    let options = RoundtripOptions {
        trace: &trace,
        rows: settings.rows,
        seed: settings.seed,
        checks: &inputs.checks,
        full: inputs.changes.as_ref().map(|c| &c.changed),
        shapes: &inputs.shapes,
        demands: &demands,
        format: inputs.format,
    };
    let mut outcome = roundtrip::RoundtripOutcome::default();
    let watch = progress.watch();
    let ran = signals
        .guard(async {
            // The tool's runner creates its table before the first migration; histories put
            // triggers on it and write to it.
            crate::history::create_tracking_table(engine.as_mut(), inputs.format).await?;
            roundtrip::run_into(
                engine.as_mut(),
                &inputs.migrations,
                &options,
                &mut progress,
                &mut outcome,
            )
            .await
        })
        .await;
    drop(watch);
    progress.finish();
    // A stopped run still reports what it finished, and where it was.
    let interrupted = match &ran {
        Err(Error::Interrupted(code)) => Some((*code, crate::activity::now())),
        _ => None,
    };
    let kept = engine
        .teardown(settings.start.keep && interrupted.is_none())
        .await;
    if interrupted.is_none() {
        ran?;
    }
    if let Some(note) = kept? {
        eprintln!("{note}");
    }

    let mut report = Report {
        version: 1,
        tool: report::tool_name(),
        command: "check".into(),
        engine: settings.engine.name.into(),
        server_version: Some(server_version),
        server_settings,
        status: Status::Pass,
        migration_format: Some(inputs.format.name().to_string()),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        seed: Some(settings.seed),
        migrations: outcome.migrations,
        tables: Vec::new(),
        timeline: Vec::new(),
        data_changes: Vec::new(),
        findings: outcome.findings,
        summary: Default::default(),
        phases_ms: outcome.phases_ms,
        interrupted: None,
    };
    if let Some((code, activity)) = &interrupted {
        let done = report.migrations.len();
        report
            .migrations
            .extend(roundtrip::unfinished(&inputs.migrations[done..], activity));
        report.interrupted = Some(interruption(*code, activity));
    }
    if let (Some(changes), Some(rev)) = (&inputs.changes, &settings.changed_since) {
        report
            .findings
            .extend(modified_findings(changes, rev, &inputs.migrations));
    }
    crate::lint::attach_evidence(&mut lints, &outcome.timeline);
    report.findings.extend(lints);
    report::quote_statements(&mut report.findings, &inputs.migrations);
    policy::apply(&mut report.findings, &config, &inputs.migrations);
    policy::mark_statuses(&mut report.migrations, &report.findings);
    report.finish(settings.fail_on, outcome.checks_run);
    for (format, path) in &settings.reports {
        super::write_report(
            &report,
            *format,
            HumanText::Check,
            Some(path),
            settings.shown,
        )?;
    }
    let output = settings.output.as_deref();
    super::write_report(
        &report,
        settings.format,
        HumanText::Check,
        output,
        settings.shown,
    )?;
    match interrupted {
        Some((code, _)) => Err(Error::Interrupted(code)),
        None => Ok(super::exit_code(&report)),
    }
}

/// The report's `interrupted`: the signal, and what [`crate::activity`] says was running.
fn interruption(
    code: crate::ExitCode,
    activity: &crate::activity::Activity,
) -> crate::report::Interruption {
    let signal = match code {
        crate::ExitCode::Terminated => "SIGTERM",
        _ => "SIGINT",
    };
    let (migration, migration_name) = activity.migration.clone().unzip();
    crate::report::Interruption {
        signal: signal.into(),
        migration,
        migration_name,
        step: activity.step.map(str::to_string),
        statement: activity
            .statement
            .as_ref()
            .map(|s| crate::report::RunningStatement {
                file: s.path.clone(),
                line: s.line,
                sql: s.sql.clone(),
                running_ms: s.since.elapsed().as_millis() as u64,
            }),
    }
}

/// A shipped migration edited since `rev`: databases that ran it will never run the edit.
fn modified_findings(
    changes: &migrations::Changes,
    rev: &str,
    list: &[migrations::Migration],
) -> Vec<crate::report::Finding> {
    changes
        .modified
        .iter()
        .map(|(index, file)| {
            let m = &list[*index];
            // An edited up is never run by databases that had the migration; an edited down
            // (a fixed rollback) is sometimes deliberate.
            let up = display_path(&m.up.path) == *file;
            let (severity, what) = if up {
                (Severity::Error, "databases that already ran it will not run the change; add a new migration instead")
            } else {
                (Severity::Warning, "its rollback or verify script differs from what shipped; make sure that is intended")
            };
            crate::report::Finding::new(
                crate::report::FindingKind::Lint,
                format!("migration {} {} was changed after {rev} shipped it: {what}", m.version, m.name),
            )
            .severity(severity)
            .migration(&m.version, &m.name)
            .at(file, None)
            .detail("rule", "modified_migration")
        })
        .collect()
}
