//! The core loop of `check`: for every migration, seed, snapshot, up, checks, down, compare,
//! re-up, compare again (see ARCHITECTURE.md). Engine-neutral: it only talks to `dyn Engine`.
//!
//! Judgement calls that keep real histories free of noise:
//! - an empty or comment-only down is the author saying "irreversible": one warning, no down,
//!   no re-up, no drift cascade;
//! - a failed down is a `migration_error` and the run goes on from the state after up;
//! - columns that come back in another order are their own `schema_drift` warning;
//! - a failed up (or re-up) stops the run: later migrations are `skipped`.
//!
//! The pieces `dry-run` shares live in their own files: applying a step and the finding a
//! failed one makes (`step.rs`), and the judgements that compare snapshots (`judge.rs`).

mod causes;
mod checks;
mod judge;
mod recover;
mod seeding;
mod session;
mod step;

pub use judge::{Judge, examples, missing_rows};
use session::Start;
pub use step::{Down, Step, down, failed, nested, refusal};

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use crate::Result;
use crate::checks::Check;
use crate::data::{DataFingerprint, SequencePosition};
use crate::engine::{Applied, Engine, Shapes};
use crate::migrations::{Migration, MigrationFormat};
use crate::report::{
    Direction, Finding, FindingKind, MigrationResult, MigrationStatus, Observer, Severity,
};
use crate::schema::SchemaSnapshot;

/// What the roundtrip needs besides the migrations.
pub struct RoundtripOptions<'a> {
    pub rows: usize,
    pub seed: u64,
    pub checks: &'a [Check],
    /// Indices of the migrations that get the full roundtrip; the others are only applied
    /// (`--changed-since`). `None`: all of them.
    pub full: Option<&'a BTreeSet<usize>>,
    /// Seed shapes of collections by name (MongoDB `--fixtures`).
    pub shapes: &'a Shapes,
    /// Per migration, what it and later ones demand of the rows seeded before it
    /// (`seed::future::collect`); empty: nothing.
    pub demands: &'a [crate::seed::future::Demands],
    /// The migration tool, whose runner decides whether a session setting one migration
    /// makes carries into the next (`session.rs`).
    pub format: MigrationFormat,
    /// Versions whose up is applied statement by statement with its locks and rewrites
    /// recorded (`Engine::apply_traced`), into the outcome's `timeline`: the migrations a lint
    /// rule flagged, so the finding can carry what running it showed.
    pub trace: &'a BTreeSet<String>,
}

/// The schema the next migration starts from.
enum Next {
    Known(SchemaSnapshot),
    /// Migrations were only applied since the last snapshot: take a new one when needed.
    Stale,
    /// A migration failed in a way later migrations cannot build on.
    Stop,
}

/// The up of one migration, applied: what the down is judged against (`s0`, `d0`), the state
/// the up itself ran on (`ran`: after emptying, when it was tried again), and the state after.
struct Up {
    s0: SchemaSnapshot,
    d0: DataFingerprint,
    ran: (SchemaSnapshot, DataFingerprint),
    s1: SchemaSnapshot,
    d1: DataFingerprint,
}

/// Per-migration results, findings, and how many distinct checks ran.
#[derive(Debug, Default)]
pub struct RoundtripOutcome {
    /// The migrations that finished (or were skipped), in order.
    pub migrations: Vec<MigrationResult>,
    pub findings: Vec<Finding>,
    pub checks_run: usize,
    /// Where the time went, in ms: seed, apply, schema, fingerprint, diff, checks,
    /// drill_down.
    pub phases_ms: BTreeMap<String, u64>,
    /// The traced ups (`RoundtripOptions::trace`), statement by statement.
    pub timeline: Vec<crate::report::TimelineEntry>,
}

/// Runs the roundtrip over `migrations` in order.
pub async fn run(
    engine: &mut dyn Engine,
    migrations: &[Migration],
    options: &RoundtripOptions<'_>,
    observer: &mut dyn Observer,
) -> Result<RoundtripOutcome> {
    let mut out = RoundtripOutcome::default();
    run_into(engine, migrations, options, observer, &mut out).await?;
    Ok(out)
}

/// Runs the roundtrip, adding each migration's result and every finding to `out` as soon as
/// it is known: when the run is stopped (Ctrl-C drops this future), `out` holds everything
/// finished so far, and [`crate::activity`] says what was running.
pub async fn run_into(
    engine: &mut dyn Engine,
    migrations: &[Migration],
    options: &RoundtripOptions<'_>,
    observer: &mut dyn Observer,
    out: &mut RoundtripOutcome,
) -> Result<()> {
    let mut run = Run {
        engine,
        options,
        out,
        checks_ran: BTreeSet::new(),
        time: Timings::default(),
        positions: migrations
            .iter()
            .enumerate()
            .map(|(i, m)| (m.version.clone(), i))
            .collect(),
        position: 0,
        real_rows: BTreeSet::new(),
        up_only: up_only(migrations),
        session: session::Session::new(options.format.session_carry(), options.format.name()),
        unseeded_told: BTreeSet::new(),
    };
    if run.up_only {
        run.out.findings.push(up_only_finding(migrations));
    }
    let mut next = Next::Stale;
    for (index, migration) in migrations.iter().enumerate() {
        observer.migration(index, migrations.len(), migration);
        crate::activity::migration(&migration.version, &migration.name);
        run.position = index;
        run.session.next_migration();
        let (result, after) = match next {
            Next::Stop => (MigrationResult::of(migration), Next::Stop),
            _ if migration.unsupported.is_some() => {
                // Later migrations run without it; it is reported by name, never silently.
                run.out.findings.push(step::unsupported(migration));
                (MigrationResult::of(migration), next)
            }
            _ if options.full.is_some_and(|full| !full.contains(&index)) => {
                run.apply_only(migration).await?
            }
            Next::Known(schema) => run.migration(migration, schema, observer).await?,
            Next::Stale => {
                let schema = timed(&mut run.time.schema, run.engine.schema()).await?;
                run.migration(migration, schema, observer).await?
            }
        };
        run.out.migrations.push(result);
        run.out.checks_run = run.checks_ran.len();
        run.out.phases_ms = run.time.as_ms();
        next = after;
    }
    crate::debug!("time spent: {:?}", run.time);
    Ok(())
}

/// The results of the migrations a stopped run did not finish: the one `activity` names is
/// `interrupted`, the rest `skipped`.
pub fn unfinished(
    rest: &[Migration],
    activity: &crate::activity::Activity,
) -> Vec<MigrationResult> {
    rest.iter()
        .map(|m| {
            let mut result = MigrationResult::of(m);
            if activity
                .migration
                .as_ref()
                .is_some_and(|(v, _)| *v == m.version)
            {
                result.status = MigrationStatus::Interrupted;
            }
            result
        })
        .collect()
}

/// Whether no migration that could have one has a down.
fn up_only(migrations: &[Migration]) -> bool {
    let reversible: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !m.repeatable && m.unsupported.is_none() && !m.up.statements.is_empty())
        .collect();
    reversible.len() > 1 && reversible.iter().all(|m| m.down.is_none())
}

/// The one line about a history without downs.
fn up_only_finding(migrations: &[Migration]) -> Finding {
    let first = &migrations[0];
    Finding::new(
        FindingKind::Irreversible,
        format!(
            "none of the {} migrations has a down: rollbacks cannot be checked, only the ups \
             (destructive changes, checks)",
            migrations.len()
        ),
    )
    .at(
        first.up.path.parent().unwrap_or(std::path::Path::new(".")),
        None,
    )
    .detail("up_only", true)
}

/// A table driftless could not seed: it stays empty, so no migration's change to its data is
/// compared. A warning, once per table, at the migration before which it was first left out.
fn unseeded_finding(m: &Migration, table: &str, why: &str) -> Finding {
    finding(
        FindingKind::SeedConflict,
        m,
        format!("{table} is left empty, so no change to its data is checked: {why}"),
    )
    .severity(Severity::Warning)
    .direction(Direction::Up)
    .at(&m.up.path, None)
    .detail("unseeded", true)
    .detail("table", table)
}

struct Run<'a, 'o> {
    engine: &'a mut dyn Engine,
    options: &'a RoundtripOptions<'o>,
    /// Results and findings so far.
    out: &'a mut RoundtripOutcome,
    checks_ran: BTreeSet<String>,
    time: Timings,
    /// Index of each migration version in the run, for `-- after:` in checks.
    positions: BTreeMap<String, usize>,
    /// Index of the migration being checked.
    position: usize,
    /// Tables holding rows that migrations wrote (not the seed): never emptied for a retry.
    real_rows: BTreeSet<String>,
    /// No migration of the history has a down (golang-migrate up files only).
    up_only: bool,
    /// The migration session's settings from step to step.
    session: session::Session,
    /// Tables already reported as not seeded.
    unseeded_told: BTreeSet<String>,
}

/// Where the time went, shown with `--debug`.
#[derive(Debug, Default)]
struct Timings {
    seed: Duration,
    schema: Duration,
    fingerprint: Duration,
    apply: Duration,
    diff: Duration,
    checks: Duration,
    drill_down: Duration,
}

impl Timings {
    fn as_ms(&self) -> BTreeMap<String, u64> {
        [
            ("seed", self.seed),
            ("apply", self.apply),
            ("schema", self.schema),
            ("fingerprint", self.fingerprint),
            ("diff", self.diff),
            ("checks", self.checks),
            ("drill_down", self.drill_down),
        ]
        .into_iter()
        .map(|(name, d)| (name.to_string(), d.as_millis() as u64))
        .collect()
    }
}

/// `work`, with the time it took added to `slot`.
fn timed_now<T>(slot: &mut Duration, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    *slot += started.elapsed();
    result
}

async fn timed<T>(slot: &mut Duration, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let result = work.await;
    *slot += started.elapsed();
    result
}

/// A finding of `kind` about migration `m`.
pub(crate) fn finding(kind: FindingKind, m: &Migration, message: String) -> Finding {
    Finding::new(kind, message).migration(&m.version, &m.name)
}

impl MigrationResult {
    /// A migration that did not run (yet): `skipped` until a step says otherwise.
    fn of(m: &Migration) -> MigrationResult {
        MigrationResult {
            version: m.version.clone(),
            name: m.name.clone(),
            up_ms: None,
            down_ms: None,
            reup_ms: None,
            rows_seeded: None,
            status: MigrationStatus::Skipped,
        }
    }
}

impl Run<'_, '_> {
    /// One migration: seed → snapshot → up → judge → down → judge → re-up → judge. Returns its
    /// result and where the next migration starts.
    async fn migration(
        &mut self,
        m: &Migration,
        s0: SchemaSnapshot,
        observer: &mut dyn Observer,
    ) -> Result<(MigrationResult, Next)> {
        let mut result = MigrationResult::of(m);
        result.status = MigrationStatus::Ok;
        let (s0, d0) = self.seed_and_snapshot(m, s0, &mut result, observer).await?;
        let p0 = self.sequences(&s0).await?;
        // up (tried again on emptied tables when it failed on rows)
        let Some(up) = self.up(m, s0, d0, &mut result).await? else {
            return Ok((result, Next::Stop));
        };
        let Up {
            s0,
            d0,
            ran,
            s1,
            d1,
        } = up;
        self.judge()
            .destructive_changes(m, (&ran.0, &ran.1), (&s1, &d1))
            .await?;
        let p1 = self.sequences(&s1).await?;
        self.judge()
            .sequence_collisions(m, (&p1, &[&p0]), &s0, Step::Up, &m.up);
        self.run_checks(m).await?;
        if let Some(verify) = &m.verify {
            self.verify(m, verify).await?;
        }
        if m.repeatable {
            // A repeatable migration has no down; it must apply again cleanly when it changes.
            return self.reapply(m, result, s1).await;
        }
        // down
        crate::activity::step("down");
        self.session.before(self.engine, Start::Clean).await?;
        let down = step::down(self.engine, m, Some(&s0), &s1, self.options.format);
        let (down, ms) = timed(&mut self.time.apply, down).await?;
        result.down_ms = ms;
        if let Some(script) = m.effective_down() {
            self.session.after(self.engine, script).await?;
        }
        let script = match down {
            Down::Applied(script) => script,
            Down::Nothing => return Ok((result, Next::Known(s1))),
            // A history without any down gets one line about it, not one per migration.
            Down::Missing(_) if self.up_only && m.down.is_none() => {
                return Ok((result, Next::Known(s1)));
            }
            Down::Missing(f) => {
                self.out.findings.push(f);
                return Ok((result, Next::Known(s1)));
            }
            Down::Failed(f, transactional) => {
                self.out.findings.push(f);
                // A transactional down rolled back to the state after up; otherwise look.
                let next = if transactional {
                    s1
                } else {
                    self.schema().await?
                };
                return Ok((result, Next::Known(next)));
            }
        };
        let s2 = self.schema().await?;
        let d2 = self.fingerprint(&s2).await?;
        let drift = timed_now(&mut self.time.diff, || {
            crate::schema::diff(&s0, &s2, ("before up", "after up→down"))
        });
        self.judge().schema_drift(m, &drift, Step::Down, script);
        self.judge()
            .data_loss(m, script, (&s0, &d0), (&s2, &d2))
            .await?;
        let p2 = self.sequences(&s2).await?;
        self.judge()
            .sequence_collisions(m, (&p2, &[&p0, &p1]), &s0, Step::Down, script);
        // re-up
        let Some(s3) = self.reup(m, &mut result).await? else {
            return Ok((result, Next::Stop));
        };
        let redrift = timed_now(&mut self.time.diff, || {
            crate::schema::diff(&s1, &s3, ("after up", "after up→down→up"))
        });
        self.judge().schema_drift(m, &redrift, Step::Reup, &m.up);
        let p3 = self.sequences(&s3).await?;
        self.judge()
            .sequence_collisions(m, (&p3, &[&p0, &p1, &p2]), &s0, Step::Reup, &m.up);
        Ok((result, Next::Known(s3)))
    }

    /// Seeds the empty tables and takes the snapshot (S0, D0) the up is judged against, with
    /// per-row hashes kept for drill-downs.
    async fn seed_and_snapshot(
        &mut self,
        m: &Migration,
        s0: SchemaSnapshot,
        result: &mut MigrationResult,
        observer: &mut dyn Observer,
    ) -> Result<(SchemaSnapshot, DataFingerprint)> {
        crate::activity::step("seed");
        let plan = seeding::Plan {
            rows: self.options.rows,
            seed: self.options.seed,
            shapes: self.options.shapes,
            demands: self.options.demands.get(self.position),
        };
        let seeding = seeding::seed(self.engine, &s0, &plan, observer);
        let seeded = timed(&mut self.time.seed, seeding).await?;
        result.rows_seeded = Some(seeded.rows);
        let reread = seeded.reread;
        // A table left empty is never compared: say so once, or a pass checked nothing there.
        for (table, why) in seeded.unseeded {
            if self.unseeded_told.insert(table.clone()) {
                self.out.findings.push(unseeded_finding(m, &table, &why));
            }
        }
        // Document shapes come from the documents: compare against the seeded state.
        let s0 = if reread { self.schema().await? } else { s0 };
        let d0 = timed(
            &mut self.time.fingerprint,
            self.engine.fingerprint_before(&s0, true),
        )
        .await?;
        Ok((s0, d0))
    }

    /// Applies the up; `None` (and a finding) when it failed for a reason other than the
    /// seeded rows. An up that failed on rows is tried again on emptied tables
    /// (`recover.rs`); the judgements then start from that state.
    async fn up(
        &mut self,
        m: &Migration,
        s0: SchemaSnapshot,
        d0: DataFingerprint,
        result: &mut MigrationResult,
    ) -> Result<Option<Up>> {
        let applied = self.apply_up(m).await?;
        result.up_ms = Some(applied.ms());
        let (ran_s0, ran_d0, base_d0) = match applied {
            Applied::Done { .. } => (None, None, d0),
            // What the runner refuses did not run, and a statement cancelled for its time would
            // only wait again: emptying tables would change neither.
            _ if step::is_refusal(&applied) || applied.timed_out() || !recover::has_rows(&d0) => {
                result.status = MigrationStatus::Error;
                let f = step::failed(
                    self.engine,
                    m,
                    Step::Up,
                    &m.up,
                    applied,
                    &s0,
                    self.options.format,
                )
                .await?;
                self.out.findings.push(f);
                return Ok(None);
            }
            _ => {
                let rows = (&s0, &d0);
                let format = self.options.format;
                match recover::retry(self.engine, m, rows, &self.real_rows, applied, format).await?
                {
                    recover::Recovery::Failed(f) => {
                        result.status = MigrationStatus::Error;
                        self.out.findings.push(f);
                        return Ok(None);
                    }
                    recover::Recovery::Passed {
                        finding,
                        s0: ran_s0,
                        d0: ran_d0,
                        emptied,
                        ms,
                    } => {
                        result.up_ms = result.up_ms.map(|first| first + ms);
                        self.out.findings.push(finding);
                        let base = recover::baseline(&d0, &ran_d0, &emptied);
                        (Some(ran_s0), Some(ran_d0), base)
                    }
                }
            }
        };
        let s1 = self.schema().await?;
        let d1 = self.fingerprint(&s1).await?;
        let ran_d0 = ran_d0.unwrap_or_else(|| base_d0.clone());
        self.real_rows.extend(recover::written(&ran_d0, &d1));
        Ok(Some(Up {
            ran: (ran_s0.unwrap_or_else(|| s0.clone()), ran_d0),
            s0,
            d0: base_d0,
            s1,
            d1,
        }))
    }

    /// Applies the up again after the down; the schema after, or `None` when it failed.
    async fn reup(
        &mut self,
        m: &Migration,
        result: &mut MigrationResult,
    ) -> Result<Option<SchemaSnapshot>> {
        let applied = self.apply_again(m).await?;
        result.reup_ms = Some(applied.ms());
        if let Applied::Failed { .. } = applied {
            let s2 = self.schema().await?;
            let f = step::failed(
                self.engine,
                m,
                Step::Reup,
                &m.up,
                applied,
                &s2,
                self.options.format,
            )
            .await?;
            self.out.findings.push(f);
            return Ok(None);
        }
        self.schema().await.map(Some)
    }

    /// Applies the up with the settings earlier ups carried; what it leaves behind for later
    /// migrations is a `session_setting` finding.
    async fn apply_up(&mut self, m: &Migration) -> Result<Applied> {
        crate::activity::step("up");
        self.session.before(self.engine, Start::Carried).await?;
        let format = self.options.format;
        for script in std::iter::once(&m.up).chain(m.effective_down()) {
            self.out.findings.extend(step::nested(m, script, format));
        }
        let applied = if self.options.trace.contains(&m.version) {
            self.apply_traced(m).await?
        } else {
            timed(&mut self.time.apply, step::apply(self.engine, &m.up)).await?
        };
        let changed = self.session.after(self.engine, &m.up).await?;
        if let Applied::Done { .. } = applied
            && let Some(f) = self.session.left_by_up(m, changed)
        {
            self.out.findings.push(f);
        }
        Ok(applied)
    }

    /// The up applied statement by statement, its traces kept in the timeline; a script its
    /// runner refuses fails as it would untraced.
    async fn apply_traced(&mut self, m: &Migration) -> Result<Applied> {
        if let Some(refused) = step::refusal(&m.up) {
            return Ok(refused);
        }
        let (applied, statements) =
            timed(&mut self.time.apply, self.engine.apply_traced(&m.up)).await?;
        self.out.timeline.push(crate::report::TimelineEntry {
            migration: m.version.clone(),
            migration_name: m.name.clone(),
            file: crate::migrations::display_path(&m.up.path)
                .display()
                .to_string(),
            ms: applied.ms(),
            statements,
        });
        Ok(applied)
    }

    /// Applies the up a second time (re-up, re-apply), starting as the first time did.
    async fn apply_again(&mut self, m: &Migration) -> Result<Applied> {
        crate::activity::step("reup");
        self.session.before(self.engine, Start::Carried).await?;
        let applied = timed(&mut self.time.apply, step::apply(self.engine, &m.up)).await?;
        self.session.after(self.engine, &m.up).await?;
        Ok(applied)
    }

    async fn schema(&mut self) -> Result<SchemaSnapshot> {
        timed(&mut self.time.schema, self.engine.schema()).await
    }

    /// Where the sequences filling `schema`'s columns stand (timed with fingerprints).
    async fn sequences(&mut self, schema: &SchemaSnapshot) -> Result<Vec<SequencePosition>> {
        timed(&mut self.time.fingerprint, self.engine.sequences(schema)).await
    }

    async fn fingerprint(&mut self, schema: &SchemaSnapshot) -> Result<DataFingerprint> {
        timed(
            &mut self.time.fingerprint,
            self.engine.fingerprint(schema, false),
        )
        .await
    }

    fn judge(&mut self) -> Judge<'_> {
        Judge {
            engine: &mut *self.engine,
            findings: &mut self.out.findings,
            drill_down: &mut self.time.drill_down,
            real_data: false,
        }
    }

    /// Applies the up of an unchanged migration without any checking (`--changed-since`).
    async fn apply_only(&mut self, m: &Migration) -> Result<(MigrationResult, Next)> {
        let mut result = MigrationResult::of(m);
        let applied = self.apply_up(m).await?;
        result.up_ms = Some(applied.ms());
        if let Applied::Failed { .. } = applied {
            result.status = MigrationStatus::Error;
            let s = self.schema().await?;
            let f = step::failed(
                self.engine,
                m,
                Step::Up,
                &m.up,
                applied,
                &s,
                self.options.format,
            )
            .await?;
            self.out.findings.push(f);
            return Ok((result, Next::Stop));
        }
        result.status = MigrationStatus::Ok;
        Ok((result, Next::Stale))
    }

    /// Applies a repeatable migration a second time (as a changed repeatable is re-applied).
    async fn reapply(
        &mut self,
        m: &Migration,
        mut result: MigrationResult,
        s1: SchemaSnapshot,
    ) -> Result<(MigrationResult, Next)> {
        let applied = self.apply_again(m).await?;
        result.reup_ms = Some(applied.ms());
        if let Applied::Failed { .. } = applied {
            let f = step::failed(
                self.engine,
                m,
                Step::Reapply,
                &m.up,
                applied,
                &s1,
                self.options.format,
            )
            .await?;
            self.out.findings.push(f);
            return Ok((result, Next::Known(s1)));
        }
        let s3 = self.schema().await?;
        let redrift = crate::schema::diff(&s1, &s3, ("after up", "after applying it again"));
        self.judge().schema_drift(m, &redrift, Step::Reup, &m.up);
        Ok((result, Next::Known(s3)))
    }
}
