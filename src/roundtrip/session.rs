//! Session settings across the steps of a roundtrip, the way the migration tool's runner
//! keeps them.
//!
//! Every step starts from the migration session's clean state (as connected, with the
//! runner's own settings from `driftless.toml` or `--session-sql`), so a `SET` one step makes
//! cannot quietly change how a later step behaves. The exception is the one production has:
//! a tool that runs all pending migrations on one connection (`SessionCarry::Kept`) lets a
//! setting an up leaves behind carry into every later up of the run, so later ups (and
//! re-ups) start with the settings earlier ups left; downs start clean, as `migrate down` in
//! a run of its own does. An up that leaves a setting behind for later migrations is a
//! `session_setting` warning on the statement that set it.

use crate::Result;
use crate::engine::{Engine, Settings};
use crate::migrations::{Migration, Script, SessionCarry};
use crate::report::{Direction, Finding, FindingKind};

use super::finding;

/// How the session is kept, and what earlier ups left on it.
pub struct Session {
    carry: SessionCarry,
    /// The tool's name, for the finding.
    tool: &'static str,
    /// Settings earlier ups left that later ups start with.
    carried: Settings,
    /// What this migration's up left, carried once the next migration starts.
    left: Settings,
    /// Settings the session was last reset to on top of its clean state.
    applied: Settings,
    /// A step changed a setting since the last reset.
    dirty: bool,
}

/// Which settings a step starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The clean state and what earlier ups carried (an up, a re-up, a re-apply).
    Carried,
    /// The clean state alone (a down: its own run of the tool).
    Clean,
}

impl Session {
    pub fn new(carry: SessionCarry, tool: &'static str) -> Session {
        Session {
            carry,
            tool,
            carried: Settings::new(),
            left: Settings::new(),
            applied: Settings::new(),
            dirty: false,
        }
    }

    /// A new migration begins: what the previous up left now carries.
    pub fn next_migration(&mut self) {
        let left = std::mem::take(&mut self.left);
        for (name, value) in left {
            if value.is_empty() {
                self.carried.remove(&name);
            } else {
                self.carried.insert(name, value);
            }
        }
    }

    /// Before a step: back to the clean state (with what is carried, for `Start::Carried`)
    /// unless the session is there already.
    pub async fn before(&mut self, engine: &mut dyn Engine, start: Start) -> Result<()> {
        let want = match start {
            Start::Carried => self.carried.clone(),
            Start::Clean => Settings::new(),
        };
        if self.dirty || want != self.applied {
            engine.reset_session(&want).await?;
            self.applied = want;
            self.dirty = false;
        }
        Ok(())
    }

    /// After a step ran `script`: the settings it changed from those it started with (an
    /// empty value: set back to the clean one). Read only when the script has a statement
    /// that may change one.
    pub async fn after(&mut self, engine: &mut dyn Engine, script: &Script) -> Result<Settings> {
        if script.session_statement().is_none() {
            return Ok(Settings::new());
        }
        let now = engine.session_settings().await?;
        let mut changed: Settings = now
            .iter()
            .filter(|(name, value)| self.applied.get(*name) != Some(*value))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for name in self.applied.keys() {
            if !now.contains_key(name) {
                changed.insert(name.clone(), String::new());
            }
        }
        if !changed.is_empty() {
            self.dirty = true;
        }
        Ok(changed)
    }

    /// After a migration's up: what it changed that the tool keeps for later migrations,
    /// and the finding that says so.
    pub fn left_by_up(&mut self, m: &Migration, changed: Settings) -> Option<Finding> {
        let SessionCarry::Kept { restored } = self.carry else {
            return None;
        };
        let kept: Settings = changed
            .into_iter()
            .filter(|(name, _)| !restored.contains(&name.as_str()))
            .collect();
        if kept.is_empty() {
            return None;
        }
        self.left = kept.clone();
        // `SET NAMES` at the top of a dump changes how the client's text is read, which the
        // next migration's file does not depend on: carried, but not worth a warning.
        let set: Vec<(String, String)> = kept
            .into_iter()
            .filter(|(name, v)| !v.is_empty() && !is_client_charset(name))
            .collect();
        if set.is_empty() {
            return None;
        }
        Some(self.finding(m, &set))
    }

    fn finding(&self, m: &Migration, set: &[(String, String)]) -> Finding {
        let shown: Vec<String> = set.iter().map(|(n, v)| format!("{n} = {v}")).collect();
        let line = m.up.session_statement().map(|s| s.line);
        finding(
            FindingKind::SessionSetting,
            m,
            format!(
                "the up leaves {} set on the session: {} runs later migrations on the same \
                 connection, so they run with it, while a rollback or the next deploy starts \
                 without it; set it back at the end of the migration (or use SET LOCAL), or \
                 make it a runner setting",
                shown.join(", "),
                self.tool
            ),
        )
        .direction(Direction::Up)
        .at(&m.up.path, line)
        .detail(
            "settings",
            set.iter()
                .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
        )
        .detail("tool", self.tool)
    }
}

/// The character set and collation of the client's connection (`SET NAMES`).
fn is_client_charset(name: &str) -> bool {
    matches!(
        name,
        "character_set_client"
            | "character_set_connection"
            | "character_set_results"
            | "collation_connection"
            | "client_encoding"
    )
}
