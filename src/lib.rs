//! driftless finds data loss and schema drift in database migrations before they reach
//! production. See ARCHITECTURE.md for the map of modules and how data flows through `check`.

pub mod activity;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod engine;
pub mod error;
pub mod history;
pub mod lint;
pub mod mask;
pub mod migrations;
pub mod output;
pub mod pii;
pub mod policy;
pub mod report;
pub mod roundtrip;
pub mod sandbox;
pub mod schema;
pub mod seed;
pub mod sql;

pub use error::{Error, ExitCode, Result};

use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns debug output on stderr on or off (`--debug`, or `RUST_LOG` set).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Prints a line on stderr when debug output is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::debug_enabled() {
            eprintln!("driftless: debug: {}", format!($($arg)*));
        }
    };
}

/// Runs a parsed command line to its exit code, printing errors on stderr.
pub fn run(cli: cli::Cli) -> ExitCode {
    set_debug(cli.debug || std::env::var_os("RUST_LOG").is_some());
    // One thread: servers are spawned from it, and Linux ties the parent-death signal that
    // stops them to the spawning thread (see sandbox::ServerProcess).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("driftless: error: cannot start the async runtime: {e}");
            return ExitCode::Infrastructure;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(Error::Interrupted(code)) => {
            eprintln!("driftless: interrupted; cleaned up");
            code
        }
        Err(e) => {
            eprintln!("driftless: error: {e}");
            if debug_enabled() {
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
            }
            e.exit_code()
        }
    }
}
