//! Applying one step of a migration and the finding a failed step makes, built in one place
//! for `check`'s up, down, re-up and repeatable re-apply, and for `dry-run`'s roll-back.

use crate::Result;
use crate::engine::{Applied, Engine};
use crate::migrations::{Migration, MigrationFormat, Script};
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

/// The codes of an `Applied::Failed` that driftless made without running the script: its
/// runner would refuse it (`runner_refused`: Flyway's mixed migration) or it leaves a
/// transaction open (`unclosed_transaction`).
pub const REFUSED: &str = "runner_refused";
pub const UNCLOSED: &str = "unclosed_transaction";

/// What the runner does with `script` before any of it counts: refuses it, or (outside its
/// own transaction) runs a `BEGIN` that is never committed, so nothing after it persists
/// once the runner's session ends. `None`: the script runs.
pub fn refusal(script: &Script) -> Option<Applied> {
    if let Some((line, why)) = &script.refused {
        return Some(Applied::Failed {
            ms: 0,
            line: *line,
            code: REFUSED.into(),
            message: why.clone(),
        });
    }
    let line = crate::migrations::shape(script).unclosed?;
    Some(Applied::Failed {
        ms: 0,
        line,
        code: UNCLOSED.into(),
        message: format!(
            "the transaction the script opens at line {line} is never committed: the server \
             rolls it back when the runner's session ends (or later statements on that \
             session run inside it), so what follows the BEGIN never persists"
        ),
    })
}

/// Applies `script` as its tool's runner would: what the runner refuses fails without
/// running ([`refusal`]); the rest goes to the engine.
pub async fn apply(engine: &mut dyn Engine, script: &Script) -> Result<Applied> {
    match refusal(script) {
        Some(refused) => Ok(refused),
        None => engine.apply(script).await,
    }
}

/// Whether `applied` is a failure driftless made without running the script.
pub fn is_refusal(applied: &Applied) -> bool {
    matches!(applied, Applied::Failed { code, .. } if code == REFUSED || code == UNCLOSED)
}

/// The finding of a failed step: the server's code and message at the statement's file and
/// line, and when the runner's transaction is why it failed (a statement that cannot run in
/// one), what the runner does and the tool's way out (`details.fix`). A script whose failure
/// left its earlier statements applied (not one transaction) gets `details.left_behind`:
/// the schema diff from `before` (what production would be left with).
pub async fn failed(
    engine: &mut dyn Engine,
    m: &Migration,
    step: Step,
    script: &Script,
    applied: Applied,
    before: &SchemaSnapshot,
    format: MigrationFormat,
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
    let server = engine.spec().transactions;
    let fix = runner_fix(format, script, &code, server);
    let advice = fix
        .as_ref()
        .map(|(does, fix)| format!(". {does}; {fix}"))
        .unwrap_or_default();
    let mut f = finding(
        kind,
        m,
        format!("{what}: {code}: {message}{advice}{consequence}"),
    )
    .direction(step.direction())
    .at(&script.path, Some(line))
    .detail("code", code)
    .detail("server_message", message);
    if let Some((_, fix)) = fix {
        f = f.detail("runner", format.name()).detail("fix", fix);
    }
    if !crate::migrations::atomic(script, server) {
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

/// What the runner does and how to fix the script, when its failure (`code`) comes from how
/// the runner runs it: a statement refused inside the runner's transaction, a refused or
/// unclosed script.
fn runner_fix(
    format: MigrationFormat,
    script: &Script,
    code: &str,
    server: crate::migrations::ServerTransactions,
) -> Option<(String, String)> {
    let rule = format.transactions();
    match code {
        REFUSED => Some((rule.runner_does.to_string(), rule.opt_out.to_string())),
        UNCLOSED => Some((
            format!(
                "{} does not commit what the script leaves open",
                format.name()
            ),
            "end the transaction with COMMIT;".to_string(),
        )),
        _ if crate::migrations::refused_in_transaction(code) => {
            crate::migrations::advice(format, script, server, code)
        }
        _ => None,
    }
}

/// The `lint` warnings of a script that opens a transaction inside one already open (the
/// runner's, or its own): PostgreSQL ignores that BEGIN with a warning, MySQL commits what
/// came before it, and the script's COMMIT then ends the runner's transaction early, so the
/// rest of the migration is no longer atomic.
pub fn nested(m: &Migration, script: &Script, format: MigrationFormat) -> Vec<Finding> {
    let inside = if script.transactional {
        format!("the transaction {} wraps the migration in", format.name())
    } else {
        "the transaction the script already opened".to_string()
    };
    crate::migrations::shape(script)
        .nested
        .into_iter()
        .map(|line| {
            finding(
                FindingKind::Lint,
                m,
                format!(
                    "the BEGIN at line {line} opens a transaction inside {inside}: it does not \
                     nest, and the script's COMMIT ends the outer transaction early, so what \
                     follows is no longer atomic; drop the script's BEGIN and COMMIT, or {}",
                    format.transactions().opt_out
                ),
            )
            .at(&script.path, Some(line))
            .detail("rule", "nested_transaction")
            .detail("runner", format.name())
        })
        .collect()
}

/// What applying a migration's down came to.
pub enum Down<'m> {
    /// It ran to the end.
    Applied(&'m Script),
    /// The up is empty too: there is nothing to roll back, and nothing to say.
    Nothing,
    /// There is no down, or only an empty or comment-only one: the `irreversible` finding.
    Missing(Finding),
    /// It failed: the finding, and whether nothing of it stayed (it ran in one transaction,
    /// or did not run at all).
    Failed(Finding, bool),
}

/// Applies `m`'s down on the state `after_up` (the up ran on `before_up`, when known);
/// returns the outcome and how long it ran.
pub async fn down<'m>(
    engine: &mut dyn Engine,
    m: &'m Migration,
    before_up: Option<&SchemaSnapshot>,
    after_up: &SchemaSnapshot,
    format: MigrationFormat,
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
    let applied = apply(engine, script).await?;
    let ms = Some(applied.ms());
    if let Applied::Done { .. } = applied {
        return Ok((Down::Applied(script), ms));
    }
    let rolled_back =
        is_refusal(&applied) || crate::migrations::atomic(script, engine.spec().transactions);
    let f = failed(engine, m, Step::Down, script, applied, after_up, format).await?;
    Ok((Down::Failed(f, rolled_back), ms))
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
            crate::schema::Change::Renamed => parts.push(format!(
                "{} {shown} renamed to {}",
                object.kind,
                crate::schema::shown(object.renamed_to.as_deref().unwrap_or_default())
            )),
            crate::schema::Change::Modified => parts.extend(object.changes.iter().map(|c| {
                let object = format!("{} {shown}", object.kind);
                format!("{object}: {}", c.within(&object))
            })),
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
