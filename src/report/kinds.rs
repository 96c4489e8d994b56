//! The registry of finding kinds: stable ids, default severities and what each one means.
//!
//! The ids are part of the public report contract (docs/report.md): never rename one.

use serde::{Deserialize, Serialize};

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

macro_rules! kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident = $id:literal, $severity:ident; )*) => {
        /// What a finding is about. See each variant for its meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FindingKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl FindingKind {
            /// Every kind, in registry order.
            pub const ALL: &'static [FindingKind] = &[$(FindingKind::$variant),*];

            /// The stable snake_case id used in reports and configuration.
            pub fn id(self) -> &'static str {
                match self { $(FindingKind::$variant => $id,)* }
            }

            /// Severity before configuration remaps it.
            pub fn default_severity(self) -> Severity {
                match self { $(FindingKind::$variant => Severity::$severity,)* }
            }

            /// The documentation of the kind, one paragraph.
            pub fn doc(self) -> &'static str {
                match self { $(FindingKind::$variant => concat!($($doc, "\n"),*),)* }
            }
        }
    };
}

kinds! {
    /// Rows or values differ after up→down compared with before up: the down does not give
    /// back what the up took. Example: an up that merges `first_name` and `last_name` into
    /// `full_name` and a down that splits on the first space loses every double first name.
    /// The finding shows the first values lost, before → after by row key (`id=6: 'Mary Ann
    /// Lee' → 'Mary Ann'`), and rows that are gone as they were.
    DataLoss = "data_loss", Error;
    /// The schema after up→down differs from before up, or the schema after re-up differs from
    /// after the first up. Example: a down that forgets `DROP INDEX`, so the next deploy of
    /// the same up fails or production keeps an index nobody expects.
    SchemaDrift = "schema_drift", Error;
    /// The up failed when applied again after its down: a rollback followed by a redeploy
    /// would break. Example: a down that leaves a type behind that the up creates.
    ReupFailure = "reup_failure", Error;
    /// A migration has no down step (no file, or one with only comments): it cannot be
    /// rolled back. Often deliberate; then allow it with a reason.
    Irreversible = "irreversible", Warning;
    /// An up or down step failed with a database error; the message carries the server's
    /// error code and text, the file and line point at the statement.
    MigrationError = "migration_error", Error;
    /// A check query returned violating rows after an up. Example: orders whose customer no
    /// longer exists after a migration rewrote customer ids.
    InvariantViolation = "invariant_violation", Error;
    /// The up itself removed rows, columns or tables, or narrowed values. Not wrong in itself,
    /// but worth a reviewer's eye before it runs on production.
    DestructiveChange = "destructive_change", Warning;
    /// A static finding about migration SQL; `details.rule` names the rule.
    Lint = "lint", Warning;
    /// A column that looks like personal data has no masking rule.
    UnmaskedPii = "unmasked_pii", Error;
    /// Dry run: a migration not yet applied to the snapshot.
    PendingMigration = "pending_migration", Info;
    /// Dry run: a statement held a lock that blocks reads or writes longer than the threshold,
    /// or one that blocks reads and writes of a table with rows however briefly (it waits
    /// behind every running query on the table, and every query after it waits too).
    LockRisk = "lock_risk", Warning;
    /// An up failed on driftless's synthetic rows and passed once the tables it touches were
    /// emptied: a unique index over repeated seeded words, a cast of seeded text to jsonb, a
    /// foreign key added to a column whose seeded values point nowhere. The run went on; the
    /// finding shows the values so that a seed override can describe real ones. A table that
    /// cannot be seeded at all (a NOT NULL column of a type no generator fills, such as a
    /// geometry) is one too, once, with `details.unseeded`: its data stays unchecked.
    SeedConflict = "seed_conflict", Warning;
    /// An up left a session setting changed (`SET FOREIGN_KEY_CHECKS = 0`, `SET search_path`)
    /// and the migration tool runs later migrations on the same connection: they run with
    /// it, while a rollback or the next deploy starts without it.
    SessionSetting = "session_setting", Warning;
    /// A step left a sequence (an identity, a serial's sequence, a MySQL `AUTO_INCREMENT`
    /// counter) behind the values already in use: the next insert that takes its value gets a
    /// duplicate key. Example: a down that recreates a serial's sequence without `setval`.
    SequenceCollision = "sequence_collision", Error;
}

impl FindingKind {
    /// The command that prints this kind's page.
    pub fn explain_command(self) -> String {
        format!("driftless explain {}", self.id())
    }

    /// The kind's page in the repository's docs/kinds.md (the same text `explain` prints).
    pub fn help_url(self) -> String {
        format!(
            "{}/blob/main/docs/kinds.md#{}",
            env!("CARGO_PKG_REPOSITORY"),
            self.id()
        )
    }

    pub fn parse(id: &str) -> Option<FindingKind> {
        FindingKind::ALL.iter().copied().find(|k| k.id() == id)
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for kind in FindingKind::ALL {
            assert_eq!(FindingKind::parse(kind.id()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.id()));
            assert!(!kind.doc().trim().is_empty());
        }
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!(
            FindingKind::Irreversible.default_severity(),
            Severity::Warning
        );
    }
}
