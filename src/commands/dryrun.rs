//! `driftless dry-run`: restore a production snapshot into a disposable database, find where
//! production is in its migration history, apply the pending migrations as the deploy would,
//! and report what that does: time, locks, rewrites, data changes, broken checks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::Signals;
use crate::checks::{Check, load_checks};
use crate::cli::DryRunArgs;
use crate::config::Config;
use crate::data::{TableChange, compare};
use crate::engine::{Applied, CheckOutcome, Engine, StartOptions};
use crate::migrations::tracking::{self, History};
use crate::migrations::{self, Migration, MigrationFormat, display_path};
use crate::report::{
    self, Finding, FindingKind, Format, MigrationResult, MigrationStatus, Report, Severity, Status,
    TimelineEntry,
};
use crate::{Error, ExitCode, Result};

/// `--lock-threshold`: `1s`, `250ms`, `2.5s`.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((t, "s"), |i| (&t[..i], &t[i..]));
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 1s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("`{text}`: use ms, s or m")),
    };
    if seconds < 0.0 {
        return Err("a duration cannot be negative".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

struct Settings {
    snapshot: PathBuf,
    migrations: PathBuf,
    format: MigrationFormat,
    checks: Vec<Check>,
    threshold: Duration,
}

pub async fn run(args: DryRunArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.config.as_deref())?;
    let engine = super::resolve_engine(args.engine.clone(), &config, None)?;
    if engine.name == "mongo" {
        // Say which of the two it is: the tool missing, or driftless not doing it yet.
        let restore = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .any(|dir| dir.join("mongorestore").is_file());
        let why = if restore {
            "restoring MongoDB archives with mongorestore is not implemented yet"
        } else {
            "restoring a MongoDB archive needs mongorestore, which is not on PATH"
        };
        super::sql_only(engine, "dry-run", why)?;
    }
    if !args.snapshot.exists() {
        return Err(Error::input(format!(
            "snapshot {} does not exist",
            display_path(&args.snapshot).display()
        )));
    }
    let migrations_dir = args
        .migrations
        .clone()
        .or_else(|| config.migrations.as_deref().map(|p| config.resolve(p)))
        .unwrap_or_else(|| PathBuf::from("migrations"));
    if !migrations_dir.is_dir() {
        return Err(Error::input(format!(
            "migrations directory {} does not exist; pass --migrations DIR",
            display_path(&migrations_dir).display()
        )));
    }
    let format = match args.migration_format.or(config.migration_format) {
        Some(f) => f,
        None => migrations::detect(&migrations_dir)?,
    };
    let list = migrations::read(&migrations_dir, format, engine.split)?;
    let checks_required = args.checks.is_some() || config.checks.is_some();
    let checks_dir = args
        .checks
        .clone()
        .or_else(|| config.checks.as_deref().map(|p| config.resolve(p)))
        .unwrap_or_else(|| PathBuf::from("checks"));
    let checks = load_checks(&checks_dir, checks_required, engine)?;
    let settings = Settings {
        snapshot: args.snapshot.clone(),
        migrations: migrations_dir,
        format,
        checks,
        threshold: args.lock_threshold,
    };
    let start = StartOptions {
        keep: args.keep,
        bin_dir: args
            .bin_dir
            .clone()
            .or_else(|| config.bin_dir.as_deref().map(|p| config.resolve(p))),
        sql_mode: config.sql_mode.clone(),
        trace_locks: true,
        ..StartOptions::default()
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
        || human(&report, &outcome.restore_ms, &outcome.tracking),
        args.output.as_deref(),
    )
}

struct Outcome {
    server_version: String,
    restore_ms: u64,
    /// What the tracking table said, for the human summary.
    tracking: String,
    migrations: Vec<MigrationResult>,
    timeline: Vec<TimelineEntry>,
    findings: Vec<Finding>,
}

fn finding(kind: FindingKind, m: &Migration, message: String) -> Finding {
    Finding::new(kind, message).migration(&m.version, &m.name)
}

async fn run_checks(
    db: &mut dyn Engine,
    checks: &[Check],
) -> Result<BTreeMap<String, CheckOutcome>> {
    let mut out = BTreeMap::new();
    for check in checks {
        out.insert(check.name.clone(), db.run_check(check).await?);
    }
    Ok(out)
}

async fn deploy(
    db: &mut dyn Engine,
    settings: &Settings,
    list: &[Migration],
    roundtrip: bool,
    progress: &mut report::Progress,
) -> Result<Outcome> {
    let server_version = db.server_version().to_string();
    progress.status(&format!(
        "restoring {}…",
        display_path(&settings.snapshot).display()
    ));
    let restoring = Instant::now();
    db.restore(&settings.snapshot).await?;
    let restore_ms = restoring.elapsed().as_millis() as u64;
    crate::debug!("restored in {restore_ms} ms");
    let phase = Instant::now();

    let tracked = tracking::read(db, settings.format).await?;
    let History {
        tracking,
        applied,
        pending,
        modified,
        unknown,
    } = tracking::history(tracked, list);
    let mut findings = Vec::new();
    let tracking_text = match &tracking {
        Some(t) => format!(
            "{} ({}): {} applied, {} pending",
            t.table,
            t.tool,
            applied.len(),
            pending.len()
        ),
        None => format!(
            "no migration tracking table: all {} migrations are pending",
            list.len()
        ),
    };
    if let Some(dirty) = tracking.as_ref().and_then(|t| t.dirty.clone()) {
        findings.push(
            Finding::new(
                FindingKind::MigrationError,
                format!("golang-migrate marks version {dirty} dirty: a migration failed halfway and was never fixed"),
            )
            .detail("dirty_version", dirty),
        );
    }
    for (i, file) in &modified {
        let m = &list[*i];
        findings.push(
            finding(
                FindingKind::Lint,
                m,
                format!(
                    "migration {} {} was changed after the database applied it: its checksum no longer matches",
                    m.version, m.name
                ),
            )
            .at(std::path::Path::new(file), None)
            .severity(Severity::Error)
            .detail("rule", "modified_migration"),
        );
    }
    for version in &unknown {
        findings.push(
            Finding::new(
                FindingKind::Lint,
                format!(
                    "the database has applied migration {version}, which is not in {}",
                    display_path(&settings.migrations).display()
                ),
            )
            .severity(Severity::Warning)
            .detail("rule", "unknown_migration"),
        );
    }
    for &i in &pending {
        let m = &list[i];
        findings.push(
            finding(
                FindingKind::PendingMigration,
                m,
                format!("migration {} {} is pending", m.version, m.name),
            )
            .at(&display_path(&m.up.path), None),
        );
    }

    progress.status("reading the snapshot's schema and data…");
    let before_schema = db.schema().await?;
    let before_data = db.fingerprint(&before_schema, false).await?;
    let checks_before = run_checks(db, &settings.checks).await?;
    crate::debug!(
        "tracking, schema, fingerprint and checks before: {} ms",
        phase.elapsed().as_millis()
    );
    let phase = Instant::now();

    let mut migrations_out = Vec::new();
    let mut timeline = Vec::new();
    let mut done = Vec::new();
    let mut failed = false;
    for (n, &i) in pending.iter().enumerate() {
        let m = &list[i];
        crate::roundtrip::Observer::migration(progress, n, pending.len(), m);
        if let Some(reason) = &m.unsupported {
            findings.push(
                finding(
                    FindingKind::Lint,
                    m,
                    format!(
                        "migration {} {} cannot be applied: {reason}",
                        m.version, m.name
                    ),
                )
                .detail("rule", "unsupported_migration"),
            );
            migrations_out.push(result(m, None, MigrationStatus::Skipped));
            continue;
        }
        if failed {
            migrations_out.push(result(m, None, MigrationStatus::Skipped));
            continue;
        }
        let (applied, traces) = db.apply_traced(&m.up).await?;
        let file = display_path(&m.up.path);
        for t in &traces {
            let Some(blocks) = &t.blocks else { continue };
            if Duration::from_millis(t.held_ms) < settings.threshold {
                continue;
            }
            findings.push(
                finding(
                    FindingKind::LockRisk,
                    m,
                    format!(
                        "`{}` held {} on {} for {} ms, blocking {blocks}",
                        t.sql,
                        t.lock.as_deref().unwrap_or("a lock"),
                        t.lock_on.as_deref().unwrap_or("a table"),
                        t.held_ms
                    ),
                )
                .at(&file, Some(t.line))
                .detail("lock", t.lock.clone().unwrap_or_default())
                .detail("relation", t.lock_on.clone().unwrap_or_default())
                .detail("held_ms", t.held_ms)
                .detail("statement_ms", t.ms)
                .detail("rewrote", t.rewrote.clone())
                .detail("threshold_ms", settings.threshold.as_millis() as u64),
            );
        }
        let ms = match applied {
            Applied::Done { ms } => {
                migrations_out.push(result(m, Some(ms), MigrationStatus::Ok));
                done.push(i);
                ms
            }
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                failed = true;
                findings.push(
                    finding(
                        FindingKind::MigrationError,
                        m,
                        format!("up failed: {code}: {message}"),
                    )
                    .at(&file, Some(line))
                    .detail("code", code),
                );
                migrations_out.push(result(m, Some(ms), MigrationStatus::Error));
                ms
            }
        };
        timeline.push(TimelineEntry {
            migration: m.version.clone(),
            migration_name: m.name.clone(),
            file: file.display().to_string(),
            ms,
            statements: traces,
        });
    }

    crate::debug!(
        "pending migrations applied: {} ms",
        phase.elapsed().as_millis()
    );
    let phase = Instant::now();
    progress.status("comparing data and running checks…");
    let after_schema = db.schema().await?;
    let after_data = db.fingerprint(&after_schema, false).await?;
    for (table, change) in compare(&before_data, &after_data) {
        let message = match change {
            TableChange::Disappeared { rows } if rows > 0 => {
                format!("the deploy drops {table} holding {rows} rows")
            }
            TableChange::Changed {
                rows_before,
                rows_after,
                gone_columns,
                ..
            } => {
                let mut parts = Vec::new();
                if rows_after < rows_before {
                    parts.push(format!(
                        "removes {} of {rows_before} rows",
                        rows_before - rows_after
                    ));
                }
                // A column that comes back under another name with the same values was renamed.
                let renamed = |column: &str| {
                    let before = before_data
                        .tables
                        .get(&table)
                        .and_then(|t| t.columns.get(column));
                    after_data.tables.get(&table).is_some_and(|t| {
                        t.columns.iter().any(|(name, fp)| {
                            name != column
                                && Some(fp) == before
                                && !before_data.tables[&table].columns.contains_key(name)
                        })
                    })
                };
                for (column, values) in gone_columns.iter().filter(|(c, _)| !renamed(c)) {
                    parts.push(format!("drops column {column} holding {values} values"));
                }
                if parts.is_empty() {
                    continue;
                }
                format!("the deploy {} in {table}", parts.join(" and "))
            }
            _ => continue,
        };
        let plain = table.rsplit('.').next().unwrap_or(&table).to_string();
        findings.push(
            Finding::new(FindingKind::DestructiveChange, message).object(
                table.clone(),
                Some(&plain),
                None,
            ),
        );
    }
    let checks_after = run_checks(db, &settings.checks).await?;
    crate::debug!(
        "schema, fingerprint and checks after: {} ms",
        phase.elapsed().as_millis()
    );
    for check in &settings.checks {
        let before = checks_before.get(&check.name);
        match checks_after.get(&check.name) {
            Some(CheckOutcome::Violated { rows, sample }) => {
                let already = matches!(before, Some(CheckOutcome::Violated { .. }));
                let mut f = Finding::new(
                    FindingKind::InvariantViolation,
                    if already {
                        format!("check {} is violated by {rows} rows (it was already before the deploy)", check.name)
                    } else {
                        format!("check {} is violated by {rows} rows after the deploy", check.name)
                    },
                )
                .check(&check.name)
                .severity(if already { Severity::Warning } else { check.severity })
                .at(&display_path(&check.path), Some(check.line))
                .detail("rows", *rows)
                .detail("sample", sample.clone());
                if already {
                    f = f.detail("before_deploy", true);
                }
                findings.push(f);
            }
            Some(CheckOutcome::Failed { code, message }) => findings.push(
                Finding::new(
                    FindingKind::InvariantViolation,
                    format!("check {} failed to run: {code}: {message}", check.name),
                )
                .check(&check.name)
                .at(&display_path(&check.path), Some(check.line)),
            ),
            _ => {}
        }
    }

    if roundtrip && !failed {
        progress.status("applying the downs…");
        for &i in done.iter().rev() {
            let m = &list[i];
            let Some(down) = &m.down else {
                findings.push(finding(
                    FindingKind::Irreversible,
                    m,
                    format!("migration {} {} has no down", m.version, m.name),
                ));
                break;
            };
            if let Applied::Failed {
                line,
                code,
                message,
                ..
            } = db.apply(down).await?
            {
                findings.push(
                    finding(
                        FindingKind::MigrationError,
                        m,
                        format!("down failed: {code}: {message}"),
                    )
                    .at(&display_path(&down.path), Some(line)),
                );
                break;
            }
        }
        let back_schema = db.schema().await?;
        let drift = crate::schema::diff(
            &before_schema,
            &back_schema,
            ("snapshot", "after up and down"),
        );
        if !drift.is_empty() {
            findings.push(
                Finding::new(
                    FindingKind::SchemaDrift,
                    "after the pending ups and their downs the schema differs from the snapshot's",
                )
                .detail("diff", drift.unified()),
            );
        }
        let back_data = db.fingerprint(&back_schema, false).await?;
        for (table, change) in compare(&before_data, &back_data) {
            findings.push(
                Finding::new(FindingKind::DataLoss, format!("after the pending ups and their downs, {table} differs from the snapshot: {change:?}"))
                    .object(table.clone(), table.rsplit('.').next(), None),
            );
        }
    }
    Ok(Outcome {
        server_version,
        restore_ms,
        tracking: tracking_text,
        migrations: migrations_out,
        timeline,
        findings,
    })
}

fn result(m: &Migration, up_ms: Option<u64>, status: MigrationStatus) -> MigrationResult {
    MigrationResult {
        version: m.version.clone(),
        name: m.name.clone(),
        up_ms,
        down_ms: None,
        reup_ms: None,
        rows_seeded: None,
        status,
    }
}

fn human(report: &Report, restore_ms: &u64, tracking: &str) -> String {
    let mut out = format!(
        "driftless dry-run · {} {}\n  restored in {} ms · {tracking}\n\n",
        report.engine,
        report.server_version.as_deref().unwrap_or(""),
        restore_ms
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
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::PendingMigration)
        .collect();
    if !shown.is_empty() {
        out.push('\n');
        for f in shown {
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("fast").is_err());
    }
}
