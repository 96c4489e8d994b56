//! `driftless lint`: the static rules of `crate::lint` over a migrations folder, no server;
//! `check` and `dry-run` run them too through [`findings`].

use std::time::{Instant, SystemTime};

use crate::cli::LintArgs;
use crate::config::Config;
use crate::engine::EngineSpec;
use crate::migrations::Migration;
use crate::report::{self, Finding, Format, HumanText, MigrationResult, MigrationStatus, Report};
use crate::sql::Dialect;
use crate::{ExitCode, Result, policy};

/// The lint findings of `list` for `engine`: nothing for an engine of documents. `session`:
/// the runner's session statements (a lock_timeout there counts); `in_check`: leave out what
/// running the migrations reports itself.
pub fn findings(
    engine: &EngineSpec,
    list: &[Migration],
    session: &[String],
    in_check: bool,
) -> Vec<Finding> {
    let dialect = match engine.name {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::MySql,
        _ => return Vec::new(),
    };
    crate::lint::lint(
        list,
        &crate::lint::Options {
            dialect,
            transactions: engine.transactions,
            session: session.to_vec(),
            in_check,
        },
    )
}

pub fn run(args: LintArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.common.config.as_deref())?;
    let engine = super::resolve_engine(args.common.engine.clone(), &config, None)?;
    let dir = super::migrations_dir(args.migrations.dir.as_deref(), &config);
    let (format, list) = super::read_migrations(
        &dir,
        args.migrations.format.or(config.migration_format),
        engine,
        "pass --migrations DIR",
    )?;
    let mut report = Report::new("lint", engine.name, started_at);
    report.migration_format = Some(format.name().to_string());
    report.findings = findings(engine, &list, config.session(engine.name), false);
    report.migrations = list
        .iter()
        .map(|m| MigrationResult {
            version: m.version.clone(),
            name: m.name.clone(),
            up_ms: None,
            down_ms: None,
            reup_ms: None,
            rows_seeded: None,
            status: MigrationStatus::Ok,
        })
        .collect();
    report::quote_statements(&mut report.findings, &list);
    policy::apply(&mut report.findings, &config, &list);
    policy::mark_statuses(&mut report.migrations, &report.findings);
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.finish(args.report.fail_on(&config), 0);
    let shown = super::Presentation::of(&args.common);
    for (format, path) in &args.reports {
        super::write_report(&report, *format, HumanText::Check, Some(path), shown)?;
    }
    let format = args
        .report
        .format
        .or(config.format)
        .unwrap_or(Format::Human);
    super::write_report(
        &report,
        format,
        HumanText::Check,
        args.report.output.as_deref(),
        shown,
    )?;
    Ok(super::exit_code(&report))
}
