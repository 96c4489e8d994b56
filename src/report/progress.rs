//! Progress on stderr while migrations run: one rewritten line on a terminal; in CI logs and
//! pipes a plain line at most every few seconds (so short runs print nothing); nothing at all
//! with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a plain progress line may appear when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

enum Mode {
    Off,
    Terminal,
    Plain { last: Instant },
}

pub struct Progress {
    mode: Mode,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Off
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Terminal
        } else {
            Mode::Plain {
                last: Instant::now(),
            }
        };
        Progress { mode }
    }

    /// Before migration `index` (0-based) of `total`.
    pub fn step(&mut self, index: usize, total: usize, label: &str) {
        match &mut self.mode {
            Mode::Off => {}
            Mode::Terminal => {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K[{}/{total}] {label}", index + 1);
                let _ = err.flush();
            }
            Mode::Plain { last } => {
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    eprintln!("driftless: {index}/{total} migrations checked, now {label}");
                }
            }
        }
    }

    /// A transient status line on a terminal (e.g. "starting postgres…").
    pub fn status(&mut self, text: &str) {
        if let Mode::Terminal = self.mode {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }

    /// Clears the terminal line.
    pub fn finish(&mut self) {
        if let Mode::Terminal = self.mode {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
