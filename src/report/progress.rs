//! Progress on stderr while migrations run: one rewritten line on a terminal, nothing in CI
//! logs or pipes (where the final report says it all), nothing with `--quiet`.

use std::io::{IsTerminal, Write};

pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Enabled when stderr is a terminal, `CI` is not set and `quiet` is off.
    pub fn new(quiet: bool) -> Progress {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        Progress {
            enabled: !quiet && !ci && std::io::stderr().is_terminal(),
        }
    }

    pub fn step(&mut self, index: usize, total: usize, label: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K[{}/{total}] {label}", index + 1);
            let _ = err.flush();
        }
    }

    /// A line that stays (e.g. "starting postgres").
    pub fn status(&mut self, text: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }

    pub fn finish(&mut self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
