//! `driftless dry-run`: restore a production snapshot into a disposable database, find where
//! production is in its migration history, apply the pending migrations as the deploy would,
//! and report what that does: time, locks, rewrites, data changes, broken checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::Signals;
use crate::checks::{Check, load_checks};
use crate::cli::DryRunArgs;
use crate::config::Config;
use crate::data::writes::{self, Writes};
use crate::data::{DataFingerprint, TableChange, compare};
use crate::engine::{Applied, CheckOutcome, Engine, StartOptions};
use crate::migrations::tracking::{self, History};
use crate::migrations::{Migration, MigrationFormat, display_path};
use crate::report::{
    self, DataChange, DryRunFacts, Finding, FindingKind, Format, HumanText, MigrationResult,
    MigrationStatus, Report, Severity, Status, TimelineEntry,
};
use crate::roundtrip::finding;
use crate::schema::SchemaSnapshot;
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
        engine.split,
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
    let facts = DryRunFacts {
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
    let human = HumanText::DryRun(&facts);
    super::write_report(&report, format, human, args.output.as_deref())?;
    Ok(super::exit_code(&report))
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

    let tracked = crate::history::read(db, settings.format).await?;
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
    // Only tables the deploy may write are hashed: a deploy of indexes and columns leaves the
    // rows of a large snapshot alone, and scanning them twice is most of a dry-run's cost.
    let writes = may_write(db, list, &pending, roundtrip).await?;
    let hashed = writes::only_tables(&before_schema, |t| writes.covers(t));
    crate::debug!(
        "hashing {} of {} tables{}",
        hashed.data_tables().count(),
        before_schema.data_tables().count(),
        match &writes {
            Writes::All(why) => format!(": the deploy may write any table ({why})"),
            Writes::Tables(_) => ": the deploy may write only these".into(),
        }
    );
    let before_data = db.fingerprint(&hashed, settings.row_diff).await?;
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
        crate::report::Observer::migration(progress, n, pending.len(), m);
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
    // Tables the deploy created are compared too (their rows are all new).
    let compared = |schema: &SchemaSnapshot| {
        writes::only_tables(schema, |t| {
            writes.covers(t) || !before_schema.tables.contains_key(&t.qualified())
        })
    };
    let after_data = db.fingerprint(&compared(&after_schema), false).await?;
    let data_changes = summarise(
        db,
        (&before_schema, &after_schema),
        (&before_data, &after_data),
        settings.row_diff,
    )
    .await?;
    for change in &data_changes {
        let (Some(before_table), Some(after_table)) = (
            before_schema.tables.get(&change.table),
            after_schema.tables.get(&change.table),
        ) else {
            continue;
        };
        // Without a row-by-row count, a column's sum also moves when rows come and go: a
        // value change is only certain when the rows are the same ones (same count, same keys).
        let same_rows = change.rows_before == change.rows_after
            && !before_table.primary_key.is_empty()
            && !before_table
                .primary_key
                .iter()
                .any(|k| change.columns_differ.contains(k));
        let changed: Vec<(&String, Option<i64>)> = change
            .values_changed
            .iter()
            .map(|(c, n)| (c, Some(*n)))
            .chain(
                change
                    .columns_differ
                    .iter()
                    .filter(|_| same_rows)
                    .map(|c| (c, None)),
            )
            .collect();
        for (column, count) in changed {
            let (Some(old), Some(new)) = (before_table.column(column), after_table.column(column))
            else {
                continue;
            };
            if old.data_type == new.data_type {
                continue;
            }
            let plain = change
                .table
                .rsplit('.')
                .next()
                .unwrap_or(&change.table)
                .to_string();
            findings.push(
                Finding::new(
                    FindingKind::DestructiveChange,
                    format!(
                        "the deploy changes {} values of {}.{column} when its type goes from {} to {}",
                        count.map_or("some".to_string(), |n| n.to_string()),
                        change.table,
                        old.data_type,
                        new.data_type
                    ),
                )
                .object(format!("{}.{column}", change.table), Some(&plain), Some(column))
                .detail("type_before", old.data_type.clone())
                .detail("type_after", new.data_type.clone())
                .detail("values_changed", count),
            );
        }
    }
    // Rows, columns and tables the deploy takes away (renamed columns are not among them).
    for change in &data_changes {
        let table = &change.table;
        let message = match (change.rows_before, change.rows_after) {
            (Some(rows), None) if rows > 0 => {
                format!("the deploy drops {table} holding {rows} rows")
            }
            (Some(before), Some(after)) => {
                let mut parts = Vec::new();
                if after < before {
                    parts.push(format!("removes {} of {before} rows", before - after));
                }
                for (column, values) in &change.columns_dropped {
                    parts.push(format!("drops column {column} holding {values} values"));
                }
                if parts.is_empty() {
                    continue;
                }
                format!("the deploy {} in {table}", parts.join(" and "))
            }
            _ => continue,
        };
        let plain = table.rsplit('.').next().unwrap_or(table).to_string();
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
        let back_data = db.fingerprint(&compared(&back_schema), false).await?;
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
        data_changes,
        compared: (
            hashed.data_tables().count(),
            before_schema.data_tables().count(),
        ),
        findings,
    })
}

/// What the pending migrations (and, with `--roundtrip`, their downs) may write; anything when
/// the snapshot has PostgreSQL event triggers, which run on DDL.
async fn may_write(
    db: &mut dyn Engine,
    list: &[Migration],
    pending: &[usize],
    roundtrip: bool,
) -> Result<Writes> {
    let scripts = pending
        .iter()
        .map(|&i| &list[i])
        .filter(|m| m.unsupported.is_none())
        .flat_map(|m| std::iter::once(&m.up).chain(m.down.as_ref().filter(|_| roundtrip)));
    let statements = scripts.flat_map(|s| s.statements.iter().map(|st| st.sql.as_str()));
    let Some(dialect) = db.rows().map(|rows| rows.dialect()) else {
        return Ok(Writes::All(format!(
            "{} migrations are not SQL, which the analysis reads",
            db.spec().display
        )));
    };
    let found = writes::analyse(statements, dialect);
    if dialect != crate::sql::Dialect::Postgres || matches!(found, Writes::All(_)) {
        return Ok(found);
    }
    let rows = db
        .query_rows("SELECT count(*)::text FROM pg_event_trigger")
        .await?
        .unwrap_or_default();
    let count = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(found.unless(writes::event_triggers(count)))
}

/// Per table whose data changed: rows before and after, and, row by row where the rows were
/// captured before the deploy, rows added and removed and values changed per column.
async fn summarise(
    db: &mut dyn Engine,
    (before_schema, after_schema): (&SchemaSnapshot, &SchemaSnapshot),
    (before, after): (&DataFingerprint, &DataFingerprint),
    row_diff: bool,
) -> Result<Vec<DataChange>> {
    let mut out = Vec::new();
    for (table, change) in compare(before, after) {
        let mut row = DataChange {
            table: table.clone(),
            ..DataChange::default()
        };
        match change {
            TableChange::Appeared { rows } => {
                if rows == 0 {
                    continue;
                }
                row.rows_after = Some(rows);
                row.rows_added = Some(rows);
            }
            TableChange::Disappeared { rows } => {
                row.rows_before = Some(rows);
                row.rows_removed = Some(rows);
            }
            TableChange::Changed {
                rows_before,
                rows_after,
                changed_columns,
                gone_columns,
                rows_differ: diff_rows,
            } => {
                row.rows_before = Some(rows_before);
                row.rows_after = Some(rows_after);
                // A column that comes back under a new name with the same values was renamed.
                let (b, a) = (&before.tables[&table], &after.tables[&table]);
                for (column, values) in gone_columns {
                    let renamed = a.columns.iter().find(|(name, fp)| {
                        !b.columns.contains_key(*name) && Some(*fp) == b.columns.get(&column)
                    });
                    match renamed {
                        Some((name, _)) => {
                            row.columns_renamed.insert(column, name.clone());
                        }
                        None => {
                            row.columns_dropped.insert(column, values);
                        }
                    }
                }
                if rows_before == rows_after
                    && changed_columns.is_empty()
                    && row.columns_dropped.is_empty()
                    && !diff_rows
                {
                    // Only renamed columns: no data changed.
                    continue;
                }
                let diff = match (
                    before_schema.tables.get(&table),
                    after_schema.tables.get(&table),
                ) {
                    (Some(b), Some(a)) if row_diff => db.row_diff(b, a).await?,
                    _ => None,
                };
                match diff {
                    Some(d) => {
                        row.rows_added = Some(d.rows_added);
                        row.rows_removed = Some(d.rows_missing);
                        row.values_changed = d
                            .columns
                            .into_iter()
                            .filter(|(_, c)| c.changed > 0)
                            .map(|(name, c)| (name, c.changed))
                            .collect();
                    }
                    None => row.columns_differ = changed_columns,
                }
            }
        }
        out.push(row);
    }
    Ok(out)
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
