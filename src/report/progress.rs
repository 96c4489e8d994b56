//! Progress on stderr while migrations run: a progress bar on a terminal (migrations, and the
//! seeding of large tables); in CI logs and pipes a plain line at most every few seconds (so
//! short runs print nothing); nothing at all with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::migrations::Migration;

/// Told what a long job is doing (the roundtrip, seeding, a deploy), for progress displays.
pub trait Observer {
    /// Before migration `index` (0-based) of `total`.
    fn migration(&mut self, _index: usize, _total: usize, _migration: &Migration) {}
    /// While seeding `table`: `done` of `total` rows inserted.
    fn seeding(&mut self, _table: &str, _done: u64, _total: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// How often a plain progress line may appear when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// Seeding progress is shown from this many rows on.
const LARGE_TABLE: u64 = 20_000;

enum Mode {
    Off,
    Terminal(ProgressBar),
    Plain { last: Instant },
}

pub struct Progress {
    mode: Mode,
    /// The table being seeded and when its first rows were reported, for rows per second.
    seeding: Option<(String, Instant)>,
}

impl Progress {
    /// A bar on a terminal stderr outside CI, plain lines elsewhere, nothing when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Off
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Mode::Terminal(bar)
        } else {
            Mode::Plain {
                last: Instant::now(),
            }
        };
        Progress {
            mode,
            seeding: None,
        }
    }

    /// A transient status line on a terminal (e.g. "starting postgres…").
    pub fn status(&mut self, text: &str) {
        if let Mode::Terminal(bar) = &self.mode {
            bar.set_message(text.to_string());
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&mut self) {
        if let Mode::Terminal(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// A statement running this long is named on the progress line.
const SLOW: Duration = Duration::from_secs(3);
/// How often a plain line names a statement that is still running.
const STILL_RUNNING_EVERY: Duration = Duration::from_secs(30);

/// While it lives, a background task names a slow statement (see [`Progress::watch`]).
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Progress {
    /// Starts naming a statement that runs for more than a few seconds, from what
    /// [`crate::activity`] records: on a terminal in the bar's message, elsewhere as a plain
    /// line (then every 30 s while it still runs). Nothing with `--quiet`. Needs a Tokio
    /// runtime.
    pub fn watch(&self) -> Option<Watch> {
        let bar = match &self.mode {
            Mode::Off => return None,
            Mode::Terminal(bar) => Some(bar.clone()),
            Mode::Plain { .. } => None,
        };
        Some(Watch(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            let mut shown: Option<(Instant, Instant)> = None;
            loop {
                every.tick().await;
                let now = crate::activity::now();
                let Some(running) = &now.statement else {
                    continue;
                };
                let for_how_long = running.since.elapsed();
                if for_how_long < SLOW {
                    continue;
                }
                let text = still_running(&now, running, for_how_long);
                match &bar {
                    Some(bar) => bar.set_message(text),
                    None => {
                        let due = match shown {
                            Some((since, at)) if since == running.since => {
                                at.elapsed() >= STILL_RUNNING_EVERY
                            }
                            _ => true,
                        };
                        if due {
                            eprintln!("driftless: {text}");
                            shown = Some((running.since, Instant::now()));
                        }
                    }
                }
            }
        })))
    }
}

/// `20240101000002 backfill up: still running migrations/2.up.sql:3 UPDATE … (35 s)`.
fn still_running(
    now: &crate::activity::Activity,
    running: &crate::activity::Running,
    for_how_long: Duration,
) -> String {
    let migration = now
        .migration
        .as_ref()
        .map(|(v, n)| format!("{v} {n} "))
        .unwrap_or_default();
    let step = now.step.unwrap_or("step");
    format!(
        "{migration}{step}: still running {}:{} {} ({} s)",
        running.path,
        running.line,
        running.sql,
        for_how_long.as_secs()
    )
}

impl Observer for Progress {
    fn migration(&mut self, index: usize, total: usize, m: &Migration) {
        let label = format!("{} {}", m.version, m.name);
        match &mut self.mode {
            Mode::Off => {}
            Mode::Terminal(bar) => {
                bar.set_length(total as u64);
                bar.set_position(index as u64);
                bar.set_message(label);
            }
            Mode::Plain { last } => {
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    eprintln!("driftless: {index}/{total} migrations checked, now {label}");
                }
            }
        }
    }

    fn seeding(&mut self, table: &str, done: u64, total: u64) {
        if total < LARGE_TABLE {
            return;
        }
        if self.seeding.as_ref().is_none_or(|(t, _)| t != table) {
            self.seeding = Some((table.to_string(), Instant::now()));
        }
        let rate = self
            .seeding
            .as_ref()
            .map(|(_, since)| since.elapsed().as_secs_f64())
            .filter(|s| *s >= 0.5)
            .map(|s| format!(" · {:.0} rows/s", done as f64 / s))
            .unwrap_or_default();
        match &mut self.mode {
            Mode::Off => {}
            Mode::Terminal(bar) => {
                bar.set_message(format!("seeding {table}: {done}/{total} rows{rate}"));
            }
            Mode::Plain { last } => {
                if last.elapsed() >= PLAIN_EVERY || done == total {
                    *last = Instant::now();
                    eprintln!("driftless: seeding {table}: {done}/{total} rows{rate}");
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
