//! Invariant checks after each up, and sqitch's verify scripts.

use serde_json::{Value, json};

use super::{Run, finding, timed};
use crate::Result;
use crate::checks::Check;
use crate::engine::{Applied, CheckOutcome};
use crate::migrations::{Migration, Script};
use crate::report::{Direction, Finding, FindingKind, masking};

impl Run<'_, '_> {
    /// Whether `check` runs after the up of `m` (its `-- after:` and `-- engine:` headers).
    fn applies(&self, check: &Check, m: &Migration) -> bool {
        let engine = self.engine.spec().name;
        match check.after.as_deref().and_then(|a| self.positions.get(a)) {
            // Versions of sqitch and Liquibase are names: order comes from the run.
            Some(&first) => {
                self.position >= first && check.engine.as_deref().is_none_or(|e| e == engine)
            }
            None => check.applies(&m.version, engine),
        }
    }

    pub(super) async fn run_checks(&mut self, m: &Migration) -> Result<()> {
        crate::activity::step("checks");
        for check in self.options.checks {
            if !self.applies(check, m) {
                continue;
            }
            let outcome = timed(&mut self.time.checks, self.engine.run_check(check)).await?;
            match outcome {
                CheckOutcome::Passed => {
                    self.checks_ran.insert(check.name.clone());
                }
                CheckOutcome::NotApplicable { reason } => {
                    crate::debug!("check {} skipped after {}: {reason}", check.name, m.version);
                }
                CheckOutcome::Violated { rows, sample } => {
                    self.checks_ran.insert(check.name.clone());
                    self.out.findings.push(violated(m, check, rows, &sample));
                }
                CheckOutcome::Failed { code, message } => {
                    self.checks_ran.insert(check.name.clone());
                    let mut f = base(m, check).detail("error", format!("{code}: {message}"));
                    f.message = format!(
                        "check {} could not run after up: {code}: {message}",
                        check.name
                    );
                    self.out.findings.push(f);
                }
            }
        }
        Ok(())
    }

    /// sqitch: the verify script must succeed after deploy.
    pub(super) async fn verify(&mut self, m: &Migration, verify: &Script) -> Result<()> {
        if let Applied::Failed {
            line,
            code,
            message,
            ..
        } = timed(&mut self.time.checks, self.engine.apply(verify)).await?
        {
            self.out.findings.push(
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
}

/// What every finding of `check` after `m` carries.
fn base(m: &Migration, check: &Check) -> Finding {
    finding(FindingKind::InvariantViolation, m, String::new())
        .direction(Direction::Up)
        .severity(check.severity)
        .check(&check.name)
        .at(&m.up.path, None)
        .detail(
            "check_file",
            format!("{}:{}", check.path.display(), check.line),
        )
}

/// A check that returned rows: how many, and a few of them with personal values masked.
fn violated(m: &Migration, check: &Check, rows: i64, sample: &[String]) -> Finding {
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
    let mut f = base(m, check)
        .detail("rows", rows)
        .detail("sample", Value::Array(sample));
    f.message = format!(
        "check {}{what} returned {rows} violating row{} after up",
        check.name,
        if rows == 1 { "" } else { "s" }
    );
    f
}
