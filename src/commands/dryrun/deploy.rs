//! The deploy of `dry-run`, phase by phase: restore the snapshot, read where it is in its
//! history, snapshot what the deploy may touch, apply the pending ups with their traces,
//! judge what changed, run the checks, and (`--roundtrip`) roll back with the roundtrip's own
//! down step and judgements.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Outcome, Settings};
use crate::Result;
use crate::checks::Check;
use crate::data::writes::{self, Writes};
use crate::data::{DataFingerprint, SequencePosition, TableChange, compare};
use crate::engine::{Applied, CheckOutcome, Engine};
use crate::migrations::tracking::{self, History};
use crate::migrations::{Migration, display_path};
use crate::report::{
    self, DataChange, Finding, FindingKind, MigrationResult, MigrationStatus, Severity,
    StatementTrace, TableLock, TimelineEntry, plural,
};
use crate::roundtrip::{self, Down, Judge, Step, finding};
use crate::schema::SchemaSnapshot;

/// One deploy on one restored database.
struct Deploy<'a> {
    db: &'a mut dyn Engine,
    settings: &'a Settings,
    list: &'a [Migration],
    findings: Vec<Finding>,
}

/// The snapshot before the deploy: its schema, what the deploy may write, the data of those
/// tables (row hashes kept with `--row-diff` and `--roundtrip`), and the checks' results.
struct Before {
    schema: SchemaSnapshot,
    writes: Writes,
    hashed: usize,
    data: DataFingerprint,
    checks: BTreeMap<String, CheckOutcome>,
    /// Rows per table (qualified) of the tables hashed: what a lock on one of them stands in
    /// front of. Others are counted when a statement locks them against reads.
    rows: BTreeMap<String, i64>,
    /// Where each sequence stood: what the ups and downs must not leave behind the ids in use.
    sequences: Vec<SequencePosition>,
}

/// What applying the pending ups did.
#[derive(Default)]
struct Deployed {
    migrations: Vec<MigrationResult>,
    timeline: Vec<TimelineEntry>,
    /// Indexes of the migrations that applied.
    done: Vec<usize>,
    failed: bool,
}

pub(super) async fn deploy(
    db: &mut dyn Engine,
    settings: &Settings,
    list: &[Migration],
    roundtrip: bool,
    progress: &mut report::Progress,
) -> Result<Outcome> {
    let server_version = db.server_version().to_string();
    let mut d = Deploy {
        db,
        settings,
        list,
        findings: Vec::new(),
    };
    let restore_ms = d.restore(progress).await?;
    let phase = Instant::now();
    let (history, tracking) = d.history().await?;
    progress.status("reading the snapshot's schema and data…");
    let before = d.before(&history.pending, roundtrip).await?;
    crate::debug!(
        "history and state before: {} ms",
        phase.elapsed().as_millis()
    );
    let phase = Instant::now();
    let deployed = d.apply_pending(&history.pending, &before, progress).await?;
    crate::debug!(
        "pending migrations applied: {} ms",
        phase.elapsed().as_millis()
    );
    let phase = Instant::now();
    progress.status("comparing data and running checks…");
    let (after_schema, data_changes) = d
        .after(&before, &history.pending, &deployed.timeline)
        .await?;
    d.checks_after(&before.checks).await?;
    let positions = d
        .sequences_after(&before, &deployed.done, &after_schema)
        .await?;
    crate::debug!("state after: {} ms", phase.elapsed().as_millis());
    if roundtrip && !deployed.failed {
        progress.status("applying the downs…");
        d.roll_back(&deployed.done, &before, (&after_schema, &positions))
            .await?;
    }
    Ok(Outcome {
        server_version,
        restore_ms,
        tracking,
        migrations: deployed.migrations,
        timeline: deployed.timeline,
        data_changes,
        compared: (before.hashed, before.schema.data_tables().count()),
        findings: d.findings,
    })
}

impl Deploy<'_> {
    async fn restore(&mut self, progress: &mut report::Progress) -> Result<u64> {
        let snapshot = &self.settings.snapshot;
        progress.status(&format!("restoring {}…", display_path(snapshot).display()));
        let restoring = Instant::now();
        self.db.restore(snapshot).await?;
        let ms = restoring.elapsed().as_millis() as u64;
        crate::debug!("restored in {ms} ms");
        Ok(ms)
    }

    /// Where the snapshot is in its history: findings for a dirty version, edited and unknown
    /// migrations and every pending one; and the line the human output shows.
    async fn history(&mut self) -> Result<(History, String)> {
        let tracked = crate::history::read(self.db, self.settings.format).await?;
        let history = tracking::history(tracked, self.list);
        let text = match &history.tracking {
            Some(t) => format!(
                "{} ({}): {} applied, {} pending",
                t.table,
                t.tool,
                history.applied.len(),
                history.pending.len()
            ),
            None => format!(
                "no migration tracking table: all {} migrations are pending",
                self.list.len()
            ),
        };
        if let Some(dirty) = history.tracking.as_ref().and_then(|t| t.dirty.clone()) {
            self.findings.push(
                Finding::new(
                    FindingKind::MigrationError,
                    format!("golang-migrate marks version {dirty} dirty: a migration failed halfway and was never fixed"),
                )
                .detail("dirty_version", dirty),
            );
        }
        let list = self.list;
        for (i, file) in &history.modified {
            let m = &list[*i];
            let message = format!(
                "migration {} {} was changed after the database applied it: its checksum no longer matches",
                m.version, m.name
            );
            self.findings.push(
                finding(FindingKind::Lint, m, message)
                    .at(std::path::Path::new(file), None)
                    .severity(Severity::Error)
                    .detail("rule", "modified_migration"),
            );
        }
        let folder = display_path(&self.settings.migrations);
        for version in &history.unknown {
            self.findings.push(
                Finding::new(
                    FindingKind::Lint,
                    format!(
                        "the database has applied migration {version}, which is not in {}",
                        folder.display()
                    ),
                )
                .severity(Severity::Warning)
                .detail("rule", "unknown_migration"),
            );
        }
        for &i in &history.pending {
            let m = &list[i];
            let message = format!("migration {} {} is pending", m.version, m.name);
            self.findings.push(
                finding(FindingKind::PendingMigration, m, message)
                    .at(&display_path(&m.up.path), None),
            );
        }
        Ok((history, text))
    }

    /// The state before the deploy. Only tables the deploy may write are hashed: a deploy of
    /// indexes and columns leaves the rows of a large snapshot alone, and scanning them twice
    /// is most of a dry-run's cost.
    async fn before(&mut self, pending: &[usize], roundtrip: bool) -> Result<Before> {
        let schema = self.db.schema().await?;
        let writes = may_write(self.db, self.list, pending, roundtrip).await?;
        let hashed = writes::only_tables(&schema, |t| writes.covers(t));
        crate::debug!(
            "hashing {} of {} tables{}",
            hashed.data_tables().count(),
            schema.data_tables().count(),
            match &writes {
                Writes::All(why) => format!(": the deploy may write any table ({why})"),
                Writes::Tables(_) => ": the deploy may write only these".into(),
            }
        );
        // Row hashes are kept when a row-level comparison follows: `--row-diff`, or the
        // roll-back's data-loss drill-down.
        let capture = self.settings.row_diff || roundtrip;
        let data = self.db.fingerprint_before(&hashed, capture).await?;
        // Where each sequence stands: what neither the ups nor the downs may leave behind the
        // ids in use.
        let sequences = self.db.sequences(&schema).await?;
        let checks = run_checks(self.db, &self.settings.checks).await?;
        let rows = data
            .tables
            .iter()
            .map(|(table, f)| (table.clone(), f.rows))
            .collect();
        Ok(Before {
            hashed: hashed.data_tables().count(),
            schema,
            writes,
            data,
            checks,
            rows,
            sequences,
        })
    }

    /// Applies each pending up statement by statement, as the deploy would; a failed one stops
    /// the deploy (later ones are `skipped`).
    async fn apply_pending(
        &mut self,
        pending: &[usize],
        before: &Before,
        progress: &mut report::Progress,
    ) -> Result<Deployed> {
        let mut out = Deployed::default();
        let mut rows = before.rows.clone();
        let list = self.list;
        for (n, &i) in pending.iter().enumerate() {
            let m = &list[i];
            crate::report::Observer::migration(progress, n, pending.len(), m);
            if let Some(reason) = &m.unsupported {
                self.findings.push(
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
                out.migrations
                    .push(result(m, None, MigrationStatus::Skipped));
                continue;
            }
            if out.failed {
                out.migrations
                    .push(result(m, None, MigrationStatus::Skipped));
                continue;
            }
            let (applied, traces) = match roundtrip::refusal(&m.up) {
                Some(refused) => (refused, Vec::new()),
                None => self.db.apply_traced(&m.up).await?,
            };
            count_locked(self.db, &before.schema, &traces, &mut rows).await;
            self.lock_risks(m, &traces, &rows);
            let status = match applied {
                Applied::Done { .. } => {
                    out.done.push(i);
                    MigrationStatus::Ok
                }
                Applied::Failed { .. } => {
                    out.failed = true;
                    let before = self.db.schema().await?;
                    let f = roundtrip::failed(
                        self.db,
                        m,
                        Step::Up,
                        &m.up,
                        applied.clone(),
                        &before,
                        self.settings.format,
                    )
                    .await?;
                    self.findings.push(f);
                    MigrationStatus::Error
                }
            };
            out.migrations.push(result(m, Some(applied.ms()), status));
            out.timeline.push(TimelineEntry {
                migration: m.version.clone(),
                migration_name: m.name.clone(),
                file: display_path(&m.up.path).display().to_string(),
                ms: applied.ms(),
                statements: traces,
            });
        }
        Ok(out)
    }

    /// A `lock_risk` for every statement that held a blocking lock at least the threshold,
    /// and for every one that locked out reads and writes of a table with rows however
    /// briefly: such a lock waits behind every running query on the table, and every query
    /// after it waits behind it.
    fn lock_risks(
        &mut self,
        m: &Migration,
        traces: &[StatementTrace],
        rows: &BTreeMap<String, i64>,
    ) {
        let threshold = self.settings.threshold;
        let file = display_path(&m.up.path);
        for t in traces {
            let locks = locks_of(t);
            let tables: Vec<String> = tables_locked(&locks);
            let head = StatementTrace::headline(&t.sql);
            let also = |first: &TableLock| {
                let rest: Vec<String> = locks
                    .iter()
                    .filter(|l| *l != first)
                    .map(TableLock::describe)
                    .collect();
                if rest.is_empty() {
                    String::new()
                } else {
                    format!("; it also took {}", rest.join("; "))
                }
            };
            let base = |f: Finding, lock: &TableLock| {
                f.at(&file, Some(t.line))
                    .object(lock.relation.clone(), Some(lock.table()), None)
                    .detail("lock", lock.lock.clone())
                    .detail("relation", lock.relation.clone())
                    .detail("tables", tables.clone())
                    .detail("held_ms", t.held_ms)
                    .detail("statement_ms", t.ms)
                    .detail("rewrote", t.rewrote.clone())
                    .detail("threshold_ms", threshold.as_millis() as u64)
            };
            let long = locks
                .iter()
                .find(|l| l.blocks.is_some())
                .filter(|_| Duration::from_millis(t.held_ms) >= threshold);
            if let Some(lock) = long {
                let message = format!(
                    "`{head}` held {} on {} for {} ms, blocking {}{}",
                    lock.lock,
                    on(lock),
                    t.held_ms,
                    lock.blocks.as_deref().unwrap_or_default(),
                    also(lock)
                );
                let mut f = base(finding(FindingKind::LockRisk, m, message), lock);
                if let Some(n) = rows.get(lock.table()) {
                    f = f.detail("rows", *n);
                }
                self.findings.push(f);
                continue;
            }
            let exclusive = locks.iter().find_map(|l| {
                let n = *rows.get(l.table())?;
                (l.blocks.as_deref() == Some("reads and writes") && n > 0).then_some((l, n))
            });
            if let Some((lock, n)) = exclusive {
                let bounded = t
                    .lock_timeout_ms
                    .map(|ms| format!(" (for at most its lock_timeout of {ms} ms, then it fails)"))
                    .unwrap_or_default();
                let message = format!(
                    "`{head}` took {} on {} ({} in it), which blocks reads and writes: held {} ms here, but in production it first waits behind every running query on the table{bounded}, and every query after it waits too{}",
                    lock.lock,
                    on(lock),
                    plural(n, "row"),
                    t.held_ms,
                    also(lock)
                );
                self.findings.push(
                    base(finding(FindingKind::LockRisk, m, message), lock)
                        .severity(Severity::Warning)
                        .detail("rows", n)
                        .detail("queues_behind_reads", true)
                        .detail("lock_timeout_ms", t.lock_timeout_ms),
                );
            }
        }
    }

    /// The state after the deploy: how the data changed per table, and the destructive changes
    /// among them.
    async fn after(
        &mut self,
        before: &Before,
        pending: &[usize],
        timeline: &[TimelineEntry],
    ) -> Result<(SchemaSnapshot, Vec<DataChange>)> {
        let schema = self.db.schema().await?;
        let data = self
            .db
            .fingerprint(&compared(before, &schema), false)
            .await?;
        let (changes, examples) = summarise(
            self.db,
            (&before.schema, &schema),
            (&before.data, &data),
            self.settings.row_diff,
        )
        .await?;
        let locate = Locate {
            list: self.list,
            pending,
            timeline,
        };
        for change in &changes {
            let table = change.table.as_str();
            for f in type_changes(change, &before.schema, &schema, &locate) {
                let column = f.column.clone();
                let place = (table, column.as_deref());
                self.findings
                    .push(with_examples(f, &examples, place, false));
            }
            // A finding about one dropped column shows its values; about rows removed, a few
            // of them.
            let dropped: Vec<&String> = change.columns_dropped.keys().collect();
            let column = match dropped.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            };
            let removed = matches!(
                (change.rows_before, change.rows_after),
                (Some(before), Some(after)) if after < before
            );
            if let Some(f) = removals(change, &locate) {
                self.findings
                    .push(with_examples(f, &examples, (table, column), removed));
            }
        }
        Ok((schema, changes))
    }

    /// Checks after the deploy; a check the snapshot already violated is a warning that says so.
    async fn checks_after(&mut self, before: &BTreeMap<String, CheckOutcome>) -> Result<()> {
        let after = run_checks(self.db, &self.settings.checks).await?;
        for check in &self.settings.checks {
            let already = matches!(before.get(&check.name), Some(CheckOutcome::Violated { .. }));
            match after.get(&check.name) {
                Some(CheckOutcome::Violated { rows, sample }) => {
                    self.findings.push(violated(check, *rows, sample, already));
                }
                Some(CheckOutcome::Failed { code, message }) => self.findings.push(
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
        Ok(())
    }

    /// `--roundtrip`: the downs of the applied migrations, newest first, with `check`'s own
    /// down step (an empty or comment-only down is irreversible, a failed one stops), then the
    /// schema, data and sequence positions compared with the snapshot by `check`'s judgements.
    /// Each finding is put on the newest applied migration whose up touched its table: its down
    /// is the one that did not give it back; a sequence left behind the ids in use, on the
    /// newest down that names it.
    async fn roll_back(
        &mut self,
        done: &[usize],
        before: &Before,
        (after, deployed): (&SchemaSnapshot, &[SequencePosition]),
    ) -> Result<()> {
        let list = self.list;
        let mut last = None;
        for &i in done.iter().rev() {
            let m = &list[i];
            match roundtrip::down(self.db, m, None, after, self.settings.format)
                .await?
                .0
            {
                Down::Applied(script) => last = Some((m, script)),
                Down::Nothing => {}
                Down::Missing(f) | Down::Failed(f, _) => {
                    self.findings.push(f);
                    return Ok(());
                }
            }
        }
        let Some((m, script)) = last else {
            return Ok(());
        };
        let schema = self.db.schema().await?;
        let data = self
            .db
            .fingerprint(&compared(before, &schema), false)
            .await?;
        let positions = self.db.sequences(&schema).await?;
        let drift = crate::schema::diff(&before.schema, &schema, ("snapshot", "after up and down"));
        let (mut found, mut drill_down) = (Vec::new(), Duration::ZERO);
        let mut judge = Judge::of_snapshot(&mut *self.db, &mut found, &mut drill_down);
        judge.schema_drift(m, &drift, Step::Down, script);
        judge
            .data_loss(m, script, (&before.schema, &before.data), (&schema, &data))
            .await?;
        // A position the ups moved on and the downs left there moved forward, which is no
        // finding; one the ups already left behind was reported at the up.
        judge.sequence_collisions(
            m,
            (&positions, &[&before.sequences, deployed]),
            &before.schema,
            Step::Down,
            script,
        );
        let applied: Vec<&Migration> = done.iter().map(|&i| &list[i]).collect();
        self.findings
            .extend(found.into_iter().map(|f| match f.kind {
                FindingKind::SequenceCollision => attribute_sequence(f, &applied, Step::Down),
                _ => attribute(f, &applied),
            }));
        Ok(())
    }

    /// Sequence positions after the deploy: a sequence the ups left at or behind the ids in
    /// use (created again without `setval`, an identity restarted) makes the next insert after
    /// the real deploy fail; a `sequence_collision` on the newest up that names it.
    async fn sequences_after(
        &mut self,
        before: &Before,
        done: &[usize],
        schema: &SchemaSnapshot,
    ) -> Result<Vec<SequencePosition>> {
        let positions = self.db.sequences(schema).await?;
        let applied: Vec<&Migration> = done.iter().map(|&i| &self.list[i]).collect();
        let Some(last) = applied.last() else {
            return Ok(positions);
        };
        let (mut found, mut drill_down) = (Vec::new(), Duration::ZERO);
        let mut judge = Judge::of_snapshot(&mut *self.db, &mut found, &mut drill_down);
        judge.sequence_collisions(
            last,
            (&positions, &[&before.sequences]),
            &before.schema,
            Step::Up,
            &last.up,
        );
        self.findings.extend(
            found
                .into_iter()
                .map(|f| attribute_sequence(f, &applied, Step::Up)),
        );
        Ok(positions)
    }
}

/// Puts a roll-back finding on the newest of `applied` whose up mentions its table (and
/// column): the file and line become that migration's down's.
fn attribute(mut f: Finding, applied: &[&Migration]) -> Finding {
    let Some(table) = f.table.clone() else {
        return f;
    };
    let column = f.column.clone();
    let words: Vec<&str> = std::iter::once(table.as_str())
        .chain(column.as_deref())
        .collect();
    let touched = applied
        .iter()
        .rev()
        .find(|m| m.up.line_mentioning(&words).is_some())
        .or_else(|| {
            applied
                .iter()
                .rev()
                .find(|m| m.up.line_mentioning(&[&table]).is_some())
        });
    if let Some(m) = touched {
        f = f.migration(&m.version, &m.name);
        if let Some(down) = &m.down {
            let line = down.line_mentioning(&words);
            f = f.at(&down.path, line);
        }
    }
    f
}

/// Puts a `sequence_collision` on the newest of `applied` whose script of `step` (the up, or
/// the down) names the sequence (else its table and column, else its table), at that
/// statement: the script that moved it back. The ups need not name it (a serial's sequence is
/// created by its table's `CREATE TABLE`).
fn attribute_sequence(f: Finding, applied: &[&Migration], step: Step) -> Finding {
    let sequence = f
        .details
        .as_ref()
        .and_then(|d| d.get("sequence"))
        .and_then(|s| s.as_str())
        .map(|s| s.rsplit('.').next().unwrap_or(s).to_string());
    let (table, column) = (f.table.clone(), f.column.clone());
    let tries: Vec<Vec<&str>> = [
        sequence.as_deref().map(|s| vec![s]),
        table
            .as_deref()
            .zip(column.as_deref())
            .map(|(t, c)| vec![t, c]),
        table.as_deref().map(|t| vec![t]),
    ]
    .into_iter()
    .flatten()
    .collect();
    for words in &tries {
        for m in applied.iter().rev() {
            let script = match step {
                Step::Up => Some(&m.up),
                _ => m.effective_down(),
            };
            let Some(script) = script else {
                continue;
            };
            if let Some(line) = script.line_mentioning(words) {
                return f
                    .migration(&m.version, &m.name)
                    .at(&script.path, Some(line));
            }
        }
    }
    match step {
        Step::Up => f,
        _ => attribute(f, applied),
    }
}

/// The tables compared after the deploy: those it may write, and those it created (their rows
/// are all new).
fn compared(before: &Before, schema: &SchemaSnapshot) -> SchemaSnapshot {
    writes::only_tables(schema, |t| {
        before.writes.covers(t) || !before.schema.tables.contains_key(&t.qualified())
    })
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

fn violated(check: &Check, rows: i64, sample: &[String], already: bool) -> Finding {
    let message = if already {
        format!(
            "check {} is violated by {} (it was already before the deploy)",
            check.name,
            plural(rows, "row")
        )
    } else {
        format!(
            "check {} is violated by {} after the deploy",
            check.name,
            plural(rows, "row")
        )
    };
    let mut f = Finding::new(FindingKind::InvariantViolation, message)
        .check(&check.name)
        .severity(if already {
            Severity::Warning
        } else {
            check.severity
        })
        .at(&display_path(&check.path), Some(check.line))
        .detail("rows", rows)
        .detail("sample", sample.to_vec());
    if already {
        f = f.detail("before_deploy", true);
    }
    f
}

/// Finds the pending migration and statement a finding about a table (and column) belongs
/// to: the first pending up that mentions them.
struct Locate<'a> {
    list: &'a [Migration],
    pending: &'a [usize],
    /// The statements that ran and what they locked: a table no statement names (a cascade,
    /// a `DROP SCHEMA`) was changed by the one that locked it hardest.
    timeline: &'a [TimelineEntry],
}

impl Locate<'_> {
    /// The statement that did it: the first pending one naming the table (and column) with
    /// one of `verbs` (`drop`, `delete`, `type`), else the first naming them, else the one
    /// that locked the table hardest.
    fn place(&self, f: Finding, table: &str, column: Option<&str>, verbs: &[&str]) -> Finding {
        let plain = table.rsplit('.').next().unwrap_or(table);
        let words: Vec<&str> = std::iter::once(plain).chain(column).collect();
        let doing = |m: &Migration| m.up.line_only_doing(&words, verbs);
        let naming = |m: &Migration| m.up.line_mentioning(&words);
        for find in [&doing as &dyn Fn(&Migration) -> Option<usize>, &naming] {
            for &i in self.pending {
                let m = &self.list[i];
                if let Some(line) = find(m) {
                    return f
                        .migration(&m.version, &m.name)
                        .at(&display_path(&m.up.path), Some(line));
                }
            }
        }
        let mut hardest: Option<(usize, &TimelineEntry, &StatementTrace)> = None;
        for entry in self.timeline {
            for s in &entry.statements {
                let weight = locks_of(s)
                    .iter()
                    .filter(|l| l.table() == table)
                    .map(|l| 1 + blocking(l))
                    .max();
                if let Some(w) = weight
                    && hardest.is_none_or(|(best, _, _)| w > best)
                {
                    hardest = Some((w, entry, s));
                }
            }
        }
        match hardest {
            Some((_, entry, s)) => f
                .migration(&entry.migration, &entry.migration_name)
                .at(std::path::Path::new(&entry.file), Some(s.line)),
            None => f,
        }
    }
}

/// Every lock of a statement: the list an engine gives, else its strongest lock alone.
fn locks_of(t: &StatementTrace) -> Vec<TableLock> {
    if !t.locks.is_empty() {
        return t.locks.clone();
    }
    match (&t.lock, &t.lock_on) {
        (Some(lock), Some(on)) => vec![TableLock {
            relation: on.clone(),
            index_of: None,
            lock: lock.clone(),
            blocks: t.blocks.clone(),
        }],
        _ => Vec::new(),
    }
}

/// The tables a statement's locks are on (an index's table for an index), each once.
fn tables_locked(locks: &[TableLock]) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    for l in locks {
        if !tables.iter().any(|t| t == l.table()) {
            tables.push(l.table().to_string());
        }
    }
    tables
}

/// `public.t`, or `index public.t_pkey of public.t`.
fn on(lock: &TableLock) -> String {
    match &lock.index_of {
        Some(table) => format!("index {} of {table}", lock.relation),
        None => lock.relation.clone(),
    }
}

/// 2 for a lock that blocks reads and writes, 1 for writes, 0 for neither.
fn blocking(lock: &TableLock) -> usize {
    match lock.blocks.as_deref() {
        Some("reads and writes") => 2,
        Some(_) => 1,
        None => 0,
    }
}

/// Columns whose type the deploy changed and whose values changed with it. Without a
/// row-by-row count, a column's sum also moves when rows come and go: a value change is only
/// certain when the rows are the same ones (same count, same keys).
fn type_changes(
    change: &DataChange,
    before: &SchemaSnapshot,
    after: &SchemaSnapshot,
    locate: &Locate<'_>,
) -> Vec<Finding> {
    let (Some(old_table), Some(new_table)) = (
        before.tables.get(&change.table),
        after.tables.get(&change.table),
    ) else {
        return Vec::new();
    };
    let same_rows = change.rows_before == change.rows_after
        && !old_table.primary_key.is_empty()
        && !old_table
            .primary_key
            .iter()
            .any(|k| change.columns_differ.contains(k));
    let changed = change
        .values_changed
        .iter()
        .map(|(c, n)| (c, Some(*n)))
        .chain(
            change
                .columns_differ
                .iter()
                .filter(|_| same_rows)
                .map(|c| (c, None)),
        );
    let plain = change.table.rsplit('.').next().unwrap_or(&change.table);
    let mut out = Vec::new();
    for (column, count) in changed {
        let (Some(old), Some(new)) = (old_table.column(column), new_table.column(column)) else {
            continue;
        };
        if old.data_type == new.data_type {
            continue;
        }
        let message = format!(
            "the deploy changes {} values of {}.{column} when its type goes from {} to {}",
            count.map_or("some".to_string(), |n| n.to_string()),
            change.table,
            old.data_type,
            new.data_type
        );
        let f = Finding::new(FindingKind::DestructiveChange, message)
            .direction(report::Direction::Up)
            .object(
                format!("{}.{column}", change.table),
                Some(plain),
                Some(column),
            )
            .detail("type_before", old.data_type.clone())
            .detail("type_after", new.data_type.clone())
            .detail("values_changed", count);
        out.push(locate.place(
            f,
            &change.table,
            Some(column),
            &["type", "modify", "change"],
        ));
    }
    out
}

/// Rows, columns and tables the deploy takes away (renamed columns are not among them).
fn removals(change: &DataChange, locate: &Locate<'_>) -> Option<Finding> {
    let table = &change.table;
    let message = match (change.rows_before, change.rows_after) {
        (Some(rows), None) if rows > 0 => {
            format!("the deploy drops {table} holding {}", plural(rows, "row"))
        }
        (Some(before), Some(after)) => {
            let mut parts = Vec::new();
            if after < before {
                parts.push(format!(
                    "removes {} of {}",
                    before - after,
                    plural(before, "row")
                ));
            }
            for (column, values) in &change.columns_dropped {
                parts.push(format!(
                    "drops column {column} holding {}",
                    plural(values, "value")
                ));
            }
            if parts.is_empty() {
                return None;
            }
            format!("the deploy {} in {table}", parts.join(" and "))
        }
        _ => return None,
    };
    let plain = table.rsplit('.').next().unwrap_or(table);
    let f = Finding::new(FindingKind::DestructiveChange, message)
        .direction(report::Direction::Up)
        .object(table.clone(), Some(plain), None);
    let column = change.columns_dropped.keys().next().map(String::as_str);
    let verbs: &[&str] = match (change.rows_after, column) {
        (None, _) | (_, Some(_)) => &["drop"],
        _ => &["delete", "truncate"],
    };
    Some(locate.place(f, table, column, verbs))
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

/// Counts the rows of every table a statement locked against reads and writes whose rows are
/// not known yet (tables the deploy cannot write, so not hashed: their rows are the
/// snapshot's). A count that fails leaves the table out.
async fn count_locked(
    db: &mut dyn Engine,
    schema: &SchemaSnapshot,
    traces: &[StatementTrace],
    rows: &mut BTreeMap<String, i64>,
) {
    let Some(dialect) = db.rows().map(|r| r.dialect()) else {
        return;
    };
    for lock in traces.iter().flat_map(locks_of) {
        if lock.blocks.as_deref() != Some("reads and writes") || rows.contains_key(lock.table()) {
            continue;
        }
        let Some(table) = schema.tables.get(lock.table()) else {
            continue;
        };
        let count = match dialect {
            crate::sql::Dialect::Postgres => "count(*)::text",
            crate::sql::Dialect::MySql => "CAST(COUNT(*) AS CHAR)",
        };
        let sql = format!(
            "SELECT {count} FROM {}",
            crate::sql::qualified(dialect, &table.schema, &table.name)
        );
        let n = db
            .query_rows(&sql)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.first().and_then(|r| r.first().cloned().flatten()))
            .and_then(|n| n.parse().ok());
        if let Some(n) = n {
            rows.insert(lock.table().to_string(), n);
        }
    }
}

/// Tables the deploy renamed: one gone and one new with the same rows and the same values in
/// every column it had (the new one may have more columns): old name → new name.
fn renamed_tables(before: &DataFingerprint, after: &DataFingerprint) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (old, b) in &before.tables {
        if after.tables.contains_key(old) || b.rows == 0 || b.columns.is_empty() {
            continue;
        }
        let same = |(new, a): &(&String, &crate::data::TableFingerprint)| {
            !before.tables.contains_key(*new)
                && !out.values().any(|n| n == *new)
                && a.rows == b.rows
                && b.columns
                    .iter()
                    .all(|(c, f)| a.columns.get(c).is_some_and(|x| x.same_as(f)))
                && (a.columns.len() > b.columns.len() || a.row_sum == b.row_sum)
        };
        if let Some((new, _)) = after.tables.iter().find(same) {
            out.insert(old.clone(), new.clone());
        }
    }
    out
}

/// Per table whose data changed: rows before and after, and, row by row where the rows were
/// captured before the deploy, rows added and removed and values changed per column.
async fn summarise(
    db: &mut dyn Engine,
    (before_schema, after_schema): (&SchemaSnapshot, &SchemaSnapshot),
    (before, after): (&DataFingerprint, &DataFingerprint),
    row_diff: bool,
) -> Result<(Vec<DataChange>, Examples)> {
    let mut out = Vec::new();
    let mut examples = Examples::new();
    let renamed = renamed_tables(before, after);
    for (table, change) in compare(before, after) {
        let mut row = DataChange {
            table: table.clone(),
            ..DataChange::default()
        };
        if renamed.values().any(|new| *new == table) {
            continue;
        }
        if let Some(new) = renamed.get(&table) {
            // Every row and value is there under the new name: nothing was dropped.
            row.rows_before = before.tables.get(&table).map(|t| t.rows);
            row.rows_after = row.rows_before;
            row.renamed_to = Some(new.clone());
            out.push(row);
            continue;
        }
        let changed_columns = match change {
            TableChange::Appeared { rows: 0 } => continue,
            TableChange::Appeared { rows } => {
                row.rows_after = Some(rows);
                row.rows_added = Some(rows);
                None
            }
            TableChange::Disappeared { rows } => {
                row.rows_before = Some(rows);
                row.rows_removed = Some(rows);
                None
            }
            TableChange::Changed {
                rows_before,
                rows_after,
                changed_columns,
                gone_columns,
                rows_differ,
            } => {
                row.rows_before = Some(rows_before);
                row.rows_after = Some(rows_after);
                split_gone(
                    &mut row,
                    gone_columns,
                    (&before.tables[&table], &after.tables[&table]),
                );
                if rows_before == rows_after
                    && changed_columns.is_empty()
                    && row.columns_dropped.is_empty()
                    && !rows_differ
                {
                    // Only renamed columns: no data changed.
                    continue;
                }
                Some(changed_columns)
            }
        };
        if let Some(changed_columns) = changed_columns {
            let tables = (
                before_schema.tables.get(&table),
                after_schema.tables.get(&table),
            );
            let diff = match tables {
                (Some(b), Some(a)) if row_diff => db.row_diff(b, a).await?,
                _ => None,
            };
            match diff {
                Some(d) => {
                    examples.insert(table.clone(), d.clone());
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
        out.push(row);
    }
    Ok((out, examples))
}

/// With `--row-diff`: per table, its row diff (with the first values the deploy changed and
/// the first rows it removed).
type Examples = BTreeMap<String, crate::data::RowDiff>;

/// `f` about `table` (and `column`) with what the row diff read there, masked since it is the
/// snapshot's: the column's values before → after, and the rows removed as they were.
fn with_examples(
    f: Finding,
    examples: &Examples,
    (table, column): (&str, Option<&str>),
    rows_removed: bool,
) -> Finding {
    let Some(diff) = examples.get(table) else {
        return f;
    };
    let shown = column.and_then(|c| Some((c, diff.columns.get(c)?)));
    let f = match shown {
        Some((c, d)) if !d.examples.is_empty() => {
            f.detail("examples", roundtrip::examples(c, &d.examples, true))
        }
        _ => f,
    };
    match rows_removed && !diff.missing_rows.is_empty() {
        true => f.detail("sample", roundtrip::missing_rows(&diff.missing_rows, true)),
        false => f,
    }
}

/// Columns gone after the deploy: renamed (they came back under a new name with the same
/// values) or dropped with the values they held.
fn split_gone(
    row: &mut DataChange,
    gone: Vec<(String, Option<i64>)>,
    (b, a): (
        &crate::data::TableFingerprint,
        &crate::data::TableFingerprint,
    ),
) {
    for (column, values) in gone {
        let renamed = a.columns.iter().find(|(name, fp)| {
            !b.columns.contains_key(*name) && b.columns.get(&column).is_some_and(|x| fp.same_as(x))
        });
        match renamed {
            Some((name, _)) => {
                row.columns_renamed.insert(column, name.clone());
            }
            // The snapshot's fingerprint counted (`Engine::fingerprint_before`).
            None => {
                row.columns_dropped
                    .insert(column, values.unwrap_or_default());
            }
        }
    }
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
