//! Applying one step of a migration and the finding a failed step makes, built in one place
//! for `check`'s up, down, re-up and repeatable re-apply, and for `dry-run`'s roll-back.

use crate::Result;
use crate::engine::{Applied, Engine};
use crate::migrations::{Migration, Script};
use crate::report::{Direction, Finding, FindingKind};
use crate::schema::SchemaSnapshot;

use super::finding;

/// Which step of a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Up,
    Down,
    /// The up again, after its down.
    Reup,
    /// A repeatable migration applied a second time.
    Reapply,
}

impl Step {
    pub fn direction(self) -> Direction {
        match self {
            Step::Up => Direction::Up,
            Step::Down => Direction::Down,
            Step::Reup | Step::Reapply => Direction::Reup,
        }
    }

    /// What a failure of this step is, and how its message begins.
    fn failure(self) -> (FindingKind, &'static str) {
        match self {
            Step::Up => (FindingKind::MigrationError, "up failed"),
            Step::Down => (FindingKind::MigrationError, "down failed"),
            Step::Reup => (
                FindingKind::ReupFailure,
                "up failed when applied again after down",
            ),
            Step::Reapply => (
                FindingKind::ReupFailure,
                "repeatable migration failed when applied again",
            ),
        }
    }
}

/// The finding of a failed step: the server's code and message at the statement's file and
/// line. A script that ran outside a transaction keeps what its earlier statements did:
/// `details.left_behind` is the schema diff from `before` (what production would be left
/// with).
pub async fn failed(
    engine: &mut dyn Engine,
    m: &Migration,
    step: Step,
    script: &Script,
    applied: Applied,
    before: &SchemaSnapshot,
) -> Result<Finding> {
    let Applied::Failed {
        line,
        code,
        message,
        ..
    } = applied
    else {
        unreachable!("only a failed step makes a failure finding");
    };
    let (kind, what) = step.failure();
    let consequence = match step {
        Step::Reup => "; later migrations cannot run on this state",
        _ => "",
    };
    let mut f = finding(kind, m, format!("{what}: {code}: {message}{consequence}"))
        .direction(step.direction())
        .at(&script.path, Some(line))
        .detail("code", code)
        .detail("server_message", message);
    if !script.transactional {
        let left = engine.schema().await?;
        let labels = match step {
            Step::Up => ("before up", "after the failed up"),
            Step::Down => ("after up", "after the failed down"),
            Step::Reup => ("after up→down", "after the failed re-up"),
            Step::Reapply => ("after up", "after the failed re-apply"),
        };
        let diff = crate::schema::diff(before, &left, labels);
        if !diff.is_empty() {
            f = f.detail("left_behind", diff.unified());
        }
    }
    Ok(f)
}

/// What applying a migration's down came to.
pub enum Down<'m> {
    /// It ran to the end.
    Applied(&'m Script),
    /// The up is empty too: there is nothing to roll back, and nothing to say.
    Nothing,
    /// There is no down, or only an empty or comment-only one: the `irreversible` finding.
    Missing(Finding),
    /// It failed: the finding, and whether it ran in a transaction (rolled back to the state
    /// before it).
    Failed(Finding, bool),
}

/// Applies `m`'s down on the state `after_up` (the up ran on `before_up`, when known);
/// returns the outcome and how long it ran.
pub async fn down<'m>(
    engine: &mut dyn Engine,
    m: &'m Migration,
    before_up: Option<&SchemaSnapshot>,
    after_up: &SchemaSnapshot,
) -> Result<(Down<'m>, Option<u64>)> {
    let Some(script) = m.effective_down() else {
        if m.up.statements.is_empty() {
            return Ok((Down::Nothing, None));
        }
        // A down file left blank beside an up that changes the schema was most likely
        // forgotten: what a rollback would leave behind says how much.
        if let (Some(down), Some(before)) = (&m.down, before_up)
            && down.blank
        {
            let left = crate::schema::diff(before, after_up, ("before up", "after up"));
            if !left.is_empty() {
                return Ok((Down::Missing(forgotten(m, down, &left)), None));
            }
        }
        return Ok((Down::Missing(irreversible(m)), None));
    };
    let applied = engine.apply(script).await?;
    let ms = Some(applied.ms());
    if let Applied::Done { .. } = applied {
        return Ok((Down::Applied(script), ms));
    }
    let f = failed(engine, m, Step::Down, script, applied, after_up).await?;
    Ok((Down::Failed(f, script.transactional), ms))
}

/// The `irreversible` error of a blank down beside an up that changes the schema: what a
/// rollback would leave behind, change by change.
fn forgotten(m: &Migration, down: &Script, left: &crate::schema::SchemaDiff) -> Finding {
    let mut parts: Vec<String> = Vec::new();
    for object in &left.objects {
        let shown = object
            .reference
            .split_once(':')
            .map_or(object.reference.as_str(), |(_, name)| name);
        match object.change {
            crate::schema::Change::Added => parts.push(format!("{} {shown}", object.kind)),
            crate::schema::Change::Removed => {
                parts.push(format!("{} {shown} dropped", object.kind))
            }
            crate::schema::Change::Modified => parts.extend(
                object
                    .changes
                    .iter()
                    .map(|c| format!("{} {shown}: {c}", object.kind)),
            ),
        }
    }
    for order in &left.column_order {
        parts.push(format!(
            "table {}.{}: columns reordered",
            order.schema, order.table
        ));
    }
    let message = format!(
        "the down file is empty while the up changes the schema; was it forgotten? a rollback \
         would leave behind: {}",
        parts.join("; ")
    );
    finding(FindingKind::Irreversible, m, message)
        .severity(crate::report::Severity::Error)
        .direction(Direction::Down)
        .at(&down.path, None)
        .detail("empty_down", true)
        .detail("left_behind", left.unified())
        .detail("changes", parts)
}

/// The `irreversible` finding of a migration without a (non-empty) down.
fn irreversible(m: &Migration) -> Finding {
    let (path, line, message) = match (&m.down, &m.declared_at) {
        (Some(empty), _) if empty.blank => (
            empty.path.clone(),
            None,
            "the down migration is empty: this migration cannot be rolled back",
        ),
        (Some(comments), _) => (
            comments.path.clone(),
            None,
            "the down migration holds only comments: this migration cannot be rolled back",
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
    finding(FindingKind::Irreversible, m, message.into())
        .direction(Direction::Down)
        .at(&path, line)
}

/// A migration driftless cannot run (a goose Go migration, a change type that needs its
/// tool's SQL generator): a `lint` finding; later migrations run without it.
pub fn unsupported(m: &Migration) -> Finding {
    let reason = m.unsupported.as_deref().unwrap_or("not supported");
    let (path, line) = m
        .declared_at
        .clone()
        .unwrap_or_else(|| (m.up.path.clone(), 0));
    finding(
        FindingKind::Lint,
        m,
        format!("{reason}; it was not run, and later migrations ran without it"),
    )
    .at(&path, (line > 0).then_some(line))
    .detail("rule", "unsupported_migration")
}
