//! Human-readable text, one layout per command: `check`'s migrations and grouped findings
//! (`check.rs`, with colour on a terminal), and the plain summaries of `dry-run`, `drift` and
//! `mask`, which also show facts of their run that the JSON report does not carry.

mod check;
mod drift;
mod dryrun;
mod mask;

use std::io::Write;

pub use check::render_human;

pub use drift::{DriftFacts, render_drift};
pub use dryrun::{DryRunFacts, render_dry_run};
pub use mask::render_mask;

use super::{Finding, Report};

/// The statement at fault, quoted under the message: `> ` before each line.
pub(super) fn quote_lines(f: &Finding) -> Vec<String> {
    f.statement
        .iter()
        .flat_map(|sql| sql.lines().map(|l| format!("> {l}")))
        .collect()
}

/// What a finding teaches after its facts, a line each: `help:`, the line that accepts it, and
/// where its kind is explained. Every command's text shows them the same way.
pub(super) fn lesson_lines(f: &Finding) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(help) = &f.help {
        lines.push(format!("help: {help}"));
    }
    if let Some(allow) = &f.allow {
        let mut allow = allow.lines();
        lines.push(format!("accept: {}", allow.next().unwrap_or_default()));
        lines.extend(allow.map(|l| format!("        {l}")));
    }
    lines.push(format!("explain: {}", f.explain));
    lines
}

/// How the human text looks: colour (ANSI styles, `--color`) and detail (`--verbose`: whole
/// diffs rather than their first lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub verbose: bool,
}

/// Which command's text `Format::Human` writes, with what that text shows beside the report.
#[derive(Clone, Copy)]
pub enum HumanText<'a> {
    Check,
    DryRun(&'a DryRunFacts),
    Drift(&'a DriftFacts),
    /// `mask`, with where the copy went.
    Mask {
        target: &'a str,
    },
}

impl HumanText<'_> {
    /// Writes the text. Colour and whole diffs apply where the layout has them (`check`'s).
    pub fn render(self, report: &Report, out: &mut dyn Write, look: Look) -> std::io::Result<()> {
        let text = match self {
            HumanText::Check => return render_human(report, out, look),
            HumanText::DryRun(facts) => render_dry_run(report, facts),
            HumanText::Drift(facts) => render_drift(report, facts),
            HumanText::Mask { target } => render_mask(report, target),
        };
        out.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn text(report: &Report, human: HumanText, color: bool) -> String {
        let mut out = Vec::new();
        let look = Look {
            color,
            verbose: false,
        };
        human.render(report, &mut out, look).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn dry_run_facts() -> DryRunFacts {
        DryRunFacts {
            restore_ms: 1500,
            tracking: "_sqlx_migrations (sqlx): 4 applied, 2 pending".into(),
            compared: (3, 9),
        }
    }

    #[test]
    fn check_text() {
        insta::assert_snapshot!("check", text(&fixtures::check(), HumanText::Check, false));
        let clean = fixtures::clean("check");
        insta::assert_snapshot!("check_clean", text(&clean, HumanText::Check, false));
    }

    #[test]
    fn check_text_in_colour_is_the_plain_text_with_styles() {
        let report = fixtures::check();
        let coloured = text(&report, HumanText::Check, true);
        assert!(coloured.contains("\u{1b}["));
        let plain: String = anstyle_free(&coloured);
        assert_eq!(plain, text(&report, HumanText::Check, false));
    }

    /// `text` without its ANSI SGR sequences (`ESC [ … m`).
    fn anstyle_free(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|c| *c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn dry_run_text() {
        let facts = dry_run_facts();
        let report = fixtures::dry_run();
        insta::assert_snapshot!("dry_run", text(&report, HumanText::DryRun(&facts), false));
        let nothing = DryRunFacts {
            tracking: "no migration tracking table: all 0 migrations are pending".into(),
            compared: (9, 9),
            ..facts
        };
        let clean = fixtures::clean("dry-run");
        insta::assert_snapshot!(
            "dry_run_clean",
            text(&clean, HumanText::DryRun(&nothing), false)
        );
    }

    #[test]
    fn drift_text() {
        let mut facts = DriftFacts {
            url: "postgres://app:***@db.internal/app".into(),
            compared: 7,
            tracking_table: Some("_sqlx_migrations".into()),
        };
        insta::assert_snapshot!(
            "drift",
            text(&fixtures::drift(), HumanText::Drift(&facts), false)
        );
        facts.tracking_table = None;
        let clean = fixtures::clean("drift");
        insta::assert_snapshot!("drift_clean", text(&clean, HumanText::Drift(&facts), false));
    }

    #[test]
    fn mask_text() {
        let human = HumanText::Mask {
            target: "postgres://localhost/copy",
        };
        insta::assert_snapshot!("mask", text(&fixtures::mask(), human, false));
        insta::assert_snapshot!("mask_clean", text(&fixtures::clean("mask"), human, false));
    }
}
