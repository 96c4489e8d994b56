//! Which step of a migration's roundtrip a finding belongs to, for renderers that show
//! steps (JUnit test cases, the HTML timeline).

use super::{Direction, Finding, FindingKind, MigrationResult, MigrationStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Up,
    Checks,
    Down,
    Reup,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Up, Phase::Checks, Phase::Down, Phase::Reup];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Up => "up",
            Phase::Checks => "checks",
            Phase::Down => "down",
            Phase::Reup => "re-up",
        }
    }

    pub fn of(finding: &Finding) -> Phase {
        match (finding.kind, finding.direction) {
            (FindingKind::InvariantViolation, _) => Phase::Checks,
            (_, Some(Direction::Down)) => Phase::Down,
            (_, Some(Direction::Reup)) => Phase::Reup,
            _ => Phase::Up,
        }
    }

    /// Milliseconds the phase took, `None` when it did not run.
    pub fn millis(self, m: &MigrationResult) -> Option<u64> {
        match self {
            Phase::Up => m.up_ms,
            Phase::Checks => (m.status != MigrationStatus::Skipped
                && m.status != MigrationStatus::Error)
                .then_some(0),
            Phase::Down => m.down_ms,
            Phase::Reup => m.reup_ms,
        }
    }
}

/// The findings of `migration` (matched by version and name).
pub fn findings_of<'r>(findings: &'r [Finding], m: &MigrationResult) -> Vec<&'r Finding> {
    findings
        .iter()
        .filter(|f| {
            f.migration.as_deref() == Some(m.version.as_str())
                && f.migration_name.as_deref() == Some(m.name.as_str())
        })
        .collect()
}
