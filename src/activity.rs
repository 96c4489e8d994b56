//! What driftless is doing right now: the migration, its step and the statement running.
//!
//! The roundtrip and the engines record it as they go; the progress line, `--debug` and the
//! report written when a run is interrupted read it. A statement that never ends leaves no
//! other trace (its future is simply dropped on Ctrl-C), so this is kept outside of it, in one
//! process-wide slot: driftless runs one job at a time.

use std::sync::Mutex;
use std::time::Instant;

/// The statement running, where it is written.
#[derive(Debug, Clone)]
pub struct Running {
    pub path: String,
    pub line: usize,
    /// Its first line, shortened.
    pub sql: String,
    pub since: Instant,
}

/// The migration and step in progress, and the statement running in it.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Version and name.
    pub migration: Option<(String, String)>,
    /// `up`, `down`, `reup`, `seed`, `checks`…
    pub step: Option<&'static str>,
    pub statement: Option<Running>,
}

static NOW: Mutex<Activity> = Mutex::new(Activity {
    migration: None,
    step: None,
    statement: None,
});

fn with(change: impl FnOnce(&mut Activity)) {
    // A panic elsewhere while holding the lock leaves the data usable: take it anyway.
    let mut now = NOW.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    change(&mut now);
}

/// A migration begins.
pub fn migration(version: &str, name: &str) {
    with(|a| {
        a.migration = Some((version.to_string(), name.to_string()));
        a.step = None;
        a.statement = None;
    });
}

/// A step of the current migration begins.
pub fn step(step: &'static str) {
    with(|a| {
        a.step = Some(step);
        a.statement = None;
    });
}

/// A statement starts running.
pub fn statement(path: &std::path::Path, line: usize, sql: &str) {
    let first = first_line(sql);
    crate::debug!("running {}:{line}: {first}", path.display());
    with(|a| {
        a.statement = Some(Running {
            path: path.display().to_string(),
            line,
            sql: first,
            since: Instant::now(),
        })
    });
}

/// The statement finished.
pub fn statement_done() {
    with(|a| a.statement = None);
}

/// What is going on now.
pub fn now() -> Activity {
    NOW.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// The first non-comment line of `sql`, at most 100 characters.
pub fn first_line(sql: &str) -> String {
    let line = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}
