//! The core loop of `check`: for every migration, seed, snapshot, up, checks, down, compare,
//! re-up, compare again (see DESIGN.md). Engine-neutral: it only talks to `dyn Engine`.
//!
//! Judgement calls that keep real histories free of noise:
//! - an empty or comment-only down is the author saying "irreversible": one warning, no down,
//!   no re-up, no drift cascade;
//! - a failed down is a `migration_error` and the run goes on from the state after up;
//! - columns that come back in another order are their own `schema_drift` warning;
//! - a failed up (or re-up) stops the run: later migrations are `skipped`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Result;
use crate::checks::Check;
use crate::data::{self, DataFingerprint, Survival, TableChange};
use crate::engine::{Applied, CheckOutcome, Engine};
use crate::migrations::{Migration, Script};
use crate::report::{
    Direction, Finding, FindingKind, MigrationResult, MigrationStatus, Severity, masking,
};
use crate::schema::{self, SchemaDiff, SchemaSnapshot};
use crate::seed;

/// What the roundtrip needs besides the migrations.
pub struct RoundtripOptions<'a> {
    pub rows: usize,
    pub seed: u64,
    pub checks: &'a [Check],
    pub engine_name: &'a str,
    /// Indices of the migrations that get the full roundtrip; the others are only applied
    /// (`--changed-since`). `None`: all of them.
    pub full: Option<&'a BTreeSet<usize>>,
    /// Seed shapes of collections by name (MongoDB `--fixtures`).
    pub shapes: &'a BTreeMap<String, Value>,
}

/// The schema the next migration starts from.
enum Next {
    Known(SchemaSnapshot),
    /// Migrations were only applied since the last snapshot: take a new one when needed.
    Stale,
    /// A migration failed in a way later migrations cannot build on.
    Stop,
}

/// Per-migration results, findings, and how many distinct checks ran.
#[derive(Debug, Default)]
pub struct RoundtripOutcome {
    pub migrations: Vec<MigrationResult>,
    pub findings: Vec<Finding>,
    pub checks_run: usize,
}

/// Told what the roundtrip is doing, for progress displays.
pub trait Observer {
    /// Before migration `index` (0-based) of `total`.
    fn migration(&mut self, _index: usize, _total: usize, _migration: &Migration) {}
    /// While seeding `table`: `done` of `total` rows inserted.
    fn seeding(&mut self, _table: &str, _done: u64, _total: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// Runs the roundtrip over `migrations` in order.
pub async fn run(
    engine: &mut dyn Engine,
    migrations: &[Migration],
    options: &RoundtripOptions<'_>,
    observer: &mut dyn Observer,
) -> Result<RoundtripOutcome> {
    let mut run = Run {
        engine,
        options,
        findings: Vec::new(),
        checks_ran: BTreeSet::new(),
        time: Timings::default(),
        positions: migrations
            .iter()
            .enumerate()
            .map(|(i, m)| (m.version.clone(), i))
            .collect(),
        position: 0,
    };
    let mut results = Vec::with_capacity(migrations.len());
    let mut next = Next::Stale;
    for (index, migration) in migrations.iter().enumerate() {
        observer.migration(index, migrations.len(), migration);
        let skipped = MigrationResult {
            version: migration.version.clone(),
            name: migration.name.clone(),
            up_ms: None,
            down_ms: None,
            reup_ms: None,
            rows_seeded: None,
            status: MigrationStatus::Skipped,
        };
        if matches!(next, Next::Stop) {
            results.push(skipped);
            continue;
        }
        if let Some(reason) = &migration.unsupported {
            // Reported by name, never skipped silently; later migrations run without it.
            let (path, line) = migration
                .declared_at
                .clone()
                .unwrap_or_else(|| (migration.up.path.clone(), 0));
            run.findings.push(
                finding(
                    FindingKind::Lint,
                    migration,
                    format!("{reason}; it was not run, and later migrations ran without it"),
                )
                .at(&path, (line > 0).then_some(line))
                .detail("rule", "unsupported_migration"),
            );
            results.push(skipped);
            continue;
        }
        run.position = index;
        if options.full.is_some_and(|full| !full.contains(&index)) {
            let (result, applied) = run.apply_only(migration).await?;
            results.push(result);
            next = if applied { Next::Stale } else { Next::Stop };
            continue;
        }
        let schema = match std::mem::replace(&mut next, Next::Stale) {
            Next::Known(schema) => schema,
            _ => timed(&mut run.time.schema, run.engine.schema()).await?,
        };
        let (result, after) = run.migration(migration, schema, observer).await?;
        results.push(result);
        next = after.map_or(Next::Stop, Next::Known);
    }
    crate::debug!("time spent: {:?}", run.time);
    Ok(RoundtripOutcome {
        migrations: results,
        findings: run.findings,
        checks_run: run.checks_ran.len(),
    })
}

struct Run<'a, 'o> {
    engine: &'a mut dyn Engine,
    options: &'a RoundtripOptions<'o>,
    findings: Vec<Finding>,
    checks_ran: BTreeSet<String>,
    time: Timings,
    /// Index of each migration version in the run, for `-- after:` in checks.
    positions: BTreeMap<String, usize>,
    /// Index of the migration being checked.
    position: usize,
}

/// Where the time went, shown with `--debug`.
#[derive(Debug, Default)]
struct Timings {
    seed: Duration,
    schema: Duration,
    fingerprint: Duration,
    apply: Duration,
    checks: Duration,
    drill_down: Duration,
}

async fn timed<T>(slot: &mut Duration, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let result = work.await;
    *slot += started.elapsed();
    result
}

/// What findings call tables, columns and rows: MongoDB has collections, fields and documents.
struct Words {
    table: &'static str,
    column: &'static str,
    rows: &'static str,
}

impl Words {
    fn of(engine: &str) -> Words {
        if engine == "mongo" {
            Words {
                table: "collection",
                column: "field",
                rows: "documents",
            }
        } else {
            Words {
                table: "table",
                column: "column",
                rows: "rows",
            }
        }
    }
}

/// Sample keys with personal-looking key columns masked.
fn masked(keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| masking::mask_key(k)).collect()
}

/// The `migration_error` of a failed up.
fn up_failed(m: &Migration, line: usize, code: String, message: String) -> Finding {
    finding(
        FindingKind::MigrationError,
        m,
        format!("up failed: {code}: {message}"),
    )
    .direction(Direction::Up)
    .at(&m.up.path, Some(line))
    .detail("code", code)
    .detail("server_message", message)
}

/// A finding of `kind` about migration `m`.
pub(crate) fn finding(kind: FindingKind, m: &Migration, message: String) -> Finding {
    Finding::new(kind, message).migration(&m.version, &m.name)
}

impl Run<'_, '_> {
    /// One migration; returns its result and the schema to continue from (`None`: stop).
    async fn migration(
        &mut self,
        m: &Migration,
        s0: SchemaSnapshot,
        observer: &mut dyn Observer,
    ) -> Result<(MigrationResult, Option<SchemaSnapshot>)> {
        let mut result = MigrationResult {
            version: m.version.clone(),
            name: m.name.clone(),
            up_ms: None,
            down_ms: None,
            reup_ms: None,
            rows_seeded: None,
            status: MigrationStatus::Ok,
        };
        let style = self.engine.seed_style();
        let rows = self.options.rows;
        let own = timed(
            &mut self.time.seed,
            self.engine
                .seed_documents(&s0, &|_| rows, self.options.seed, self.options.shapes),
        )
        .await?;
        let seeded_rows = match own {
            Some((rows, _)) => rows,
            None => {
                timed(
                    &mut self.time.seed,
                    seed::seed_empty_tables(
                        self.engine,
                        &s0,
                        seed::SeedOptions {
                            rows: self.options.rows,
                            seed: self.options.seed,
                            style,
                        },
                        &mut |table, done, total| observer.seeding(table, done, total),
                    ),
                )
                .await?
                .rows
            }
        };
        result.rows_seeded = Some(seeded_rows);
        // Document shapes come from the documents: compare against the seeded state.
        let s0 = if seeded_rows > 0 && self.engine.schema_reflects_data() {
            timed(&mut self.time.schema, self.engine.schema()).await?
        } else {
            s0
        };
        let d0 = timed(
            &mut self.time.fingerprint,
            self.engine.fingerprint(&s0, true),
        )
        .await?;

        // up
        match timed(&mut self.time.apply, self.engine.apply(&m.up)).await? {
            Applied::Done { ms } => result.up_ms = Some(ms),
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                result.up_ms = Some(ms);
                result.status = MigrationStatus::Error;
                let mut f = up_failed(m, line, code, message);
                if !m.up.transactional {
                    // Statements before the failing one stay applied: show what production
                    // would be left with.
                    let left = timed(&mut self.time.schema, self.engine.schema()).await?;
                    let diff = schema::diff(&s0, &left, ("before up", "after the failed up"));
                    if !diff.is_empty() {
                        f = f.detail("left_behind", diff.unified());
                    }
                }
                self.findings.push(f);
                return Ok((result, None));
            }
        }
        let s1 = timed(&mut self.time.schema, self.engine.schema()).await?;
        let d1 = timed(
            &mut self.time.fingerprint,
            self.engine.fingerprint(&s1, false),
        )
        .await?;
        self.destructive_changes(m, &s0, &d0, &s1, &d1).await?;
        self.run_checks(m).await?;
        if let Some(verify) = &m.verify {
            self.verify(m, verify).await?;
        }
        if m.repeatable {
            // A repeatable migration has no down; it must apply again cleanly when it changes.
            return self.reapply(m, result, s1).await;
        }

        // down
        let Some(down) = m.effective_down() else {
            let (path, line, message) = match (&m.down, &m.declared_at) {
                (Some(empty), _) => (
                    empty.path.clone(),
                    None,
                    "the down migration is empty: this migration cannot be rolled back",
                ),
                (None, Some((path, line))) => (
                    path.clone(),
                    Some(*line),
                    "no down migration: this migration cannot be rolled back",
                ),
                (None, None) => (
                    m.up.path.clone(),
                    None,
                    "no down migration: this migration cannot be rolled back",
                ),
            };
            self.findings.push(
                finding(FindingKind::Irreversible, m, message.into())
                    .direction(Direction::Down)
                    .at(&path, line),
            );
            return Ok((result, Some(s1)));
        };
        match timed(&mut self.time.apply, self.engine.apply(down)).await? {
            Applied::Done { ms } => result.down_ms = Some(ms),
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                result.down_ms = Some(ms);
                self.findings.push(
                    finding(
                        FindingKind::MigrationError,
                        m,
                        format!("down failed: {code}: {message}"),
                    )
                    .direction(Direction::Down)
                    .at(&down.path, Some(line))
                    .detail("code", code)
                    .detail("server_message", message),
                );
                // A transactional down rolled back to the state after up; otherwise look.
                let next = if down.transactional {
                    s1
                } else {
                    timed(&mut self.time.schema, self.engine.schema()).await?
                };
                return Ok((result, Some(next)));
            }
        }
        let s2 = timed(&mut self.time.schema, self.engine.schema()).await?;
        let d2 = timed(
            &mut self.time.fingerprint,
            self.engine.fingerprint(&s2, false),
        )
        .await?;
        let drift = schema::diff(&s0, &s2, ("before up", "after up→down"));
        self.schema_drift(m, &drift, Direction::Down, down);
        self.data_loss(m, down, &s0, &d0, &s2, &d2).await?;

        // re-up
        match timed(&mut self.time.apply, self.engine.apply(&m.up)).await? {
            Applied::Done { ms } => result.reup_ms = Some(ms),
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                result.reup_ms = Some(ms);
                self.findings.push(
                    finding(
                        FindingKind::ReupFailure,
                        m,
                        format!(
                            "up failed when applied again after down: {code}: {message}; \
                             later migrations cannot run on this state"
                        ),
                    )
                    .direction(Direction::Reup)
                    .at(&m.up.path, Some(line))
                    .detail("code", code)
                    .detail("server_message", message),
                );
                return Ok((result, None));
            }
        }
        let s3 = timed(&mut self.time.schema, self.engine.schema()).await?;
        let redrift = schema::diff(&s1, &s3, ("after up", "after up→down→up"));
        self.schema_drift(m, &redrift, Direction::Reup, &m.up);
        Ok((result, Some(s3)))
    }

    /// Applies the up of an unchanged migration without any checking (`--changed-since`);
    /// returns whether it applied.
    async fn apply_only(&mut self, m: &Migration) -> Result<(MigrationResult, bool)> {
        let mut result = MigrationResult {
            version: m.version.clone(),
            name: m.name.clone(),
            up_ms: None,
            down_ms: None,
            reup_ms: None,
            rows_seeded: None,
            status: MigrationStatus::Ok,
        };
        match timed(&mut self.time.apply, self.engine.apply(&m.up)).await? {
            Applied::Done { ms } => {
                result.up_ms = Some(ms);
                Ok((result, true))
            }
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                result.up_ms = Some(ms);
                result.status = MigrationStatus::Error;
                self.findings.push(up_failed(m, line, code, message));
                Ok((result, false))
            }
        }
    }

    /// Applies a repeatable migration a second time (as a changed repeatable is re-applied).
    async fn reapply(
        &mut self,
        m: &Migration,
        mut result: MigrationResult,
        s1: SchemaSnapshot,
    ) -> Result<(MigrationResult, Option<SchemaSnapshot>)> {
        match timed(&mut self.time.apply, self.engine.apply(&m.up)).await? {
            Applied::Done { ms } => result.reup_ms = Some(ms),
            Applied::Failed {
                ms,
                line,
                code,
                message,
            } => {
                result.reup_ms = Some(ms);
                self.findings.push(
                    finding(
                        FindingKind::ReupFailure,
                        m,
                        format!(
                            "repeatable migration failed when applied again: {code}: {message}"
                        ),
                    )
                    .direction(Direction::Reup)
                    .at(&m.up.path, Some(line))
                    .detail("code", code)
                    .detail("server_message", message),
                );
                return Ok((result, Some(s1)));
            }
        }
        let s3 = timed(&mut self.time.schema, self.engine.schema()).await?;
        let redrift = schema::diff(&s1, &s3, ("after up", "after applying it again"));
        self.schema_drift(m, &redrift, Direction::Reup, &m.up);
        Ok((result, Some(s3)))
    }

    /// sqitch: the verify script must succeed after deploy.
    async fn verify(&mut self, m: &Migration, verify: &crate::migrations::Script) -> Result<()> {
        if let Applied::Failed {
            line,
            code,
            message,
            ..
        } = timed(&mut self.time.checks, self.engine.apply(verify)).await?
        {
            self.findings.push(
                finding(
                    FindingKind::InvariantViolation,
                    m,
                    format!("the verify script failed after deploy: {code}: {message}"),
                )
                .direction(Direction::Up)
                .check("verify")
                .at(&verify.path, Some(line))
                .detail("code", code)
                .detail("server_message", message),
            );
        }
        Ok(())
    }

    async fn run_checks(&mut self, m: &Migration) -> Result<()> {
        for check in self.options.checks {
            let after = check
                .after
                .as_deref()
                .and_then(|after| self.positions.get(after));
            let applies = match after {
                // Versions of sqitch and Liquibase are names: order comes from the run.
                Some(&first) => {
                    self.position >= first
                        && check
                            .engine
                            .as_deref()
                            .is_none_or(|e| e == self.options.engine_name)
                }
                None => check.applies(&m.version, self.options.engine_name),
            };
            if !applies {
                continue;
            }
            let outcome = timed(&mut self.time.checks, self.engine.run_check(check)).await?;
            let base = || {
                finding(FindingKind::InvariantViolation, m, String::new())
                    .direction(Direction::Up)
                    .severity(check.severity)
                    .check(&check.name)
                    .at(&m.up.path, None)
                    .detail(
                        "check_file",
                        format!("{}:{}", check.path.display(), check.line),
                    )
            };
            match outcome {
                CheckOutcome::Passed => {
                    self.checks_ran.insert(check.name.clone());
                }
                CheckOutcome::NotApplicable { reason } => {
                    crate::debug!("check {} skipped after {}: {reason}", check.name, m.version);
                }
                CheckOutcome::Violated { rows, sample } => {
                    self.checks_ran.insert(check.name.clone());
                    let sample: Vec<Value> = sample
                        .iter()
                        .map(|s| {
                            let mut row = serde_json::from_str(s).unwrap_or_else(|_| json!(s));
                            masking::mask_row(&mut row);
                            row
                        })
                        .collect();
                    let what = check
                        .description
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    let mut f = base()
                        .detail("rows", rows)
                        .detail("sample", Value::Array(sample));
                    f.message = format!(
                        "check {}{what} returned {rows} violating row{} after up",
                        check.name,
                        if rows == 1 { "" } else { "s" }
                    );
                    self.findings.push(f);
                }
                CheckOutcome::Failed { code, message } => {
                    self.checks_ran.insert(check.name.clone());
                    let mut f = base().detail("error", format!("{code}: {message}"));
                    f.message = format!(
                        "check {} could not run after up: {code}: {message}",
                        check.name
                    );
                    self.findings.push(f);
                }
            }
        }
        Ok(())
    }

    fn schema_drift(
        &mut self,
        m: &Migration,
        diff: &SchemaDiff,
        direction: Direction,
        at: &Script,
    ) {
        let (phase, baseline) = match direction {
            Direction::Reup => ("re-up", "the first up"),
            _ => ("up→down", "before up"),
        };
        for change in &diff.objects {
            // `type:public.mood` reads "type public.mood" in a sentence.
            let shown = change
                .reference
                .split_once(':')
                .map_or(change.reference.as_str(), |(_, name)| name);
            let message = match change.change {
                schema::Change::Added => format!(
                    "{phase} left {} {shown} that was not there {}",
                    change.kind,
                    if direction == Direction::Reup {
                        "after the first up"
                    } else {
                        "before up"
                    }
                ),
                schema::Change::Removed => format!(
                    "{phase} did not bring back {} {shown} that existed {}",
                    change.kind,
                    if direction == Direction::Reup {
                        "after the first up"
                    } else {
                        "before up"
                    }
                ),
                schema::Change::Modified => format!(
                    "{phase} left {} {shown} different from {baseline}: {}",
                    change.kind, change.headline
                ),
            };
            let name = change.reference.rsplit('.').next().unwrap_or_default();
            let name = name.split('(').next().unwrap_or(name);
            self.findings.push(
                finding(FindingKind::SchemaDrift, m, message)
                    .direction(direction)
                    .object(change.reference.clone(), change.table.as_deref(), None)
                    .at(&at.path, at.line_mentioning(&[name]))
                    .detail("diff", change.diff.clone()),
            );
        }
        for order in &diff.column_order {
            let qualified = format!("{}.{}", order.schema, order.table);
            self.findings.push(
                finding(
                    FindingKind::SchemaDrift,
                    m,
                    format!(
                        "{phase} brought back {qualified} with its columns in another order: \
                         ({}), was ({})",
                        order.after.join(", "),
                        order.before.join(", ")
                    ),
                )
                .severity(Severity::Warning)
                .direction(direction)
                .object(qualified, Some(&order.table), None)
                .at(&at.path, at.line_mentioning(&[&order.table]))
                .detail("column_order", true)
                .detail("columns_before", order.before.clone())
                .detail("columns_after", order.after.clone()),
            );
        }
    }

    async fn data_loss(
        &mut self,
        m: &Migration,
        down: &Script,
        s0: &SchemaSnapshot,
        d0: &DataFingerprint,
        s2: &SchemaSnapshot,
        d2: &DataFingerprint,
    ) -> Result<()> {
        let w = Words::of(self.options.engine_name);
        for (name, change) in data::compare(d0, d2) {
            let Some(before) = s0.tables.get(&name) else {
                continue;
            };
            let table = before.name.as_str();
            match change {
                TableChange::Disappeared { rows } if rows > 0 => {
                    self.findings.push(
                        finding(
                            FindingKind::DataLoss,
                            m,
                            format!("up→down lost {} {name} and its {rows} {}", w.table, w.rows),
                        )
                        .direction(Direction::Down)
                        .object(name.clone(), Some(table), None)
                        .at(&down.path, down.line_mentioning(&[table]))
                        .detail("rows_before", rows)
                        .detail("rows_after", 0),
                    );
                }
                TableChange::Disappeared { .. } | TableChange::Appeared { .. } => {}
                TableChange::Changed {
                    rows_before,
                    rows_after,
                    changed_columns,
                    gone_columns,
                    ..
                } => {
                    let Some(now) = s2.tables.get(&name) else {
                        continue;
                    };
                    for (column, values) in &gone_columns {
                        self.findings.push(
                            finding(
                                FindingKind::DataLoss,
                                m,
                                format!(
                                    "up→down lost {} {name}.{column} and its {values} values",
                                    w.column
                                ),
                            )
                            .direction(Direction::Down)
                            .object(format!("{name}.{column}"), Some(table), Some(column))
                            .at(&down.path, down.line_mentioning(&[table]))
                            .detail("rows_before", rows_before)
                            .detail("rows_after", rows_after)
                            .detail("values_lost", *values),
                        );
                    }
                    if changed_columns.is_empty()
                        && rows_before == rows_after
                        && !gone_columns.is_empty()
                    {
                        continue;
                    }
                    let Some(rows) =
                        timed(&mut self.time.drill_down, self.engine.row_diff(before, now)).await?
                    else {
                        self.findings.push(
                            finding(
                                FindingKind::DataLoss,
                                m,
                                format!(
                                    "up→down changed data in {name}: {rows_before} {} before, \
                                     {rows_after} after; changed {}s: {}",
                                    w.rows,
                                    w.column,
                                    changed_columns.join(", ")
                                ),
                            )
                            .direction(Direction::Down)
                            .object(name.clone(), Some(table), None)
                            .at(&down.path, down.line_mentioning(&[table]))
                            .detail("rows_before", rows_before)
                            .detail("rows_after", rows_after)
                            .detail("changed_columns", changed_columns.clone()),
                        );
                        continue;
                    };
                    let changed_values: i64 = rows.columns.values().map(|c| c.changed).sum();
                    if rows.rows_missing > 0 || rows.rows_added > 0 {
                        let how = if rows.keyed {
                            ""
                        } else {
                            " (no primary key: compared as whole rows)"
                        };
                        let mut message = format!(
                            "up→down lost {} of {} {} in {name}{how}",
                            rows.rows_missing, rows.rows_before, w.rows
                        );
                        if rows.rows_added > 0 {
                            message.push_str(&format!(" and added {}", rows.rows_added));
                        }
                        let per_column: BTreeMap<&String, i64> =
                            rows.columns.iter().map(|(c, d)| (c, d.changed)).collect();
                        self.findings.push(
                            finding(FindingKind::DataLoss, m, message)
                                .direction(Direction::Down)
                                .object(name.clone(), Some(table), None)
                                .at(&down.path, down.line_mentioning(&[table]))
                                .detail("rows_before", rows.rows_before)
                                .detail("rows_after", rows.rows_after)
                                .detail("rows_missing", rows.rows_missing)
                                .detail("rows_added", rows.rows_added)
                                .detail("values_changed", changed_values)
                                .detail("changed_columns", json!(per_column))
                                .detail("sample_keys", masked(&rows.missing_sample)),
                        );
                        continue;
                    }
                    for (column, diff) in &rows.columns {
                        if gone_columns.iter().any(|(c, _)| c == column) {
                            continue;
                        }
                        self.findings.push(
                            finding(
                                FindingKind::DataLoss,
                                m,
                                format!(
                                    "up→down changed {} of {} values in {name}.{column}",
                                    diff.changed, rows.rows_before
                                ),
                            )
                            .direction(Direction::Down)
                            .object(format!("{name}.{column}"), Some(table), Some(column))
                            .at(
                                &down.path,
                                down.line_writing(&[table, column])
                                    .or_else(|| down.line_writing(&[column])),
                            )
                            .detail("rows_before", rows.rows_before)
                            .detail("rows_after", rows.rows_after)
                            .detail("values_changed", diff.changed)
                            .detail("sample_keys", masked(&diff.sample)),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    async fn destructive_changes(
        &mut self,
        m: &Migration,
        s0: &SchemaSnapshot,
        d0: &DataFingerprint,
        s1: &SchemaSnapshot,
        d1: &DataFingerprint,
    ) -> Result<()> {
        let w = Words::of(self.options.engine_name);
        let changes = data::compare(d0, d1);
        let appeared: Vec<&String> = changes
            .iter()
            .filter(|(_, c)| matches!(c, TableChange::Appeared { .. }))
            .map(|(n, _)| n)
            .collect();
        let up = &m.up;
        for (name, change) in &changes {
            let Some(before) = s0.tables.get(name) else {
                continue;
            };
            let table = before.name.as_str();
            let push = |run: &mut Self,
                        object: String,
                        column: Option<&str>,
                        message: String,
                        details: Vec<(&str, Value)>| {
                let words: Vec<&str> = std::iter::once(table).chain(column).collect();
                let mut f = finding(FindingKind::DestructiveChange, m, message)
                    .direction(Direction::Up)
                    .object(object, Some(table), column)
                    .at(&up.path, up.line_mentioning(&words));
                for (k, v) in details {
                    f = f.detail(k, v);
                }
                run.findings.push(f);
            };
            match change {
                TableChange::Disappeared { rows } if *rows > 0 => {
                    // A rename keeps every value: same fingerprint under a new name.
                    let renamed = appeared
                        .iter()
                        .any(|n| d1.tables[*n].columns == d0.tables[name].columns);
                    if !renamed {
                        push(
                            self,
                            name.clone(),
                            None,
                            format!("up drops {} {name} holding {rows} {}", w.table, w.rows),
                            vec![("rows_before", json!(rows))],
                        );
                    }
                }
                TableChange::Changed {
                    rows_before,
                    rows_after,
                    changed_columns,
                    gone_columns,
                    ..
                } => {
                    if rows_after < rows_before {
                        push(
                            self,
                            name.clone(),
                            None,
                            format!(
                                "up deletes {} of {rows_before} {} from {name}",
                                rows_before - rows_after,
                                w.rows
                            ),
                            vec![
                                ("rows_before", json!(rows_before)),
                                ("rows_after", json!(rows_after)),
                            ],
                        );
                    }
                    let Some(now) = s1.tables.get(name) else {
                        continue;
                    };
                    for (column, values) in gone_columns {
                        let new_columns = &d1.tables[name].columns;
                        let renamed = new_columns.iter().any(|(c, fp)| {
                            before.column(c).is_none() && *fp == d0.tables[name].columns[column]
                        });
                        if !renamed {
                            push(
                                self,
                                format!("{name}.{column}"),
                                Some(column),
                                format!(
                                    "up drops {} {name}.{column} holding {values} values",
                                    w.column
                                ),
                                vec![("values_lost", json!(values))],
                            );
                        }
                    }
                    for column in changed_columns {
                        let (Some(old), Some(new)) = (before.column(column), now.column(column))
                        else {
                            continue;
                        };
                        if old.data_type == new.data_type {
                            continue;
                        }
                        let message = match self.engine.survival(before, now, column).await? {
                            Survival::Lost(n) => format!(
                                "up changes {name}.{column} from {} to {}: {n} values do not survive the conversion",
                                old.data_type, new.data_type
                            ),
                            Survival::NotConvertible(reason) => format!(
                                "up changes {name}.{column} from {} to {}: the values cannot be converted back ({reason})",
                                old.data_type, new.data_type
                            ),
                            Survival::Kept | Survival::Unknown => continue,
                        };
                        push(
                            self,
                            format!("{name}.{column}"),
                            Some(column),
                            message,
                            vec![
                                ("type_before", json!(old.data_type)),
                                ("type_after", json!(new.data_type)),
                            ],
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
