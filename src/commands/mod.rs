//! One file per subcommand, and the dispatch.

mod check;

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::{Cli, Command};
use crate::{Error, ExitCode, Result};

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let mut signals = Signals::install()?;
    match cli.command {
        Command::Check(args) => check::run(args, &mut signals).await,
    }
}

/// SIGINT and SIGTERM, caught so that whatever is running is dropped (and cleans up after
/// itself) instead of the process dying with servers and temp dirs left behind.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        let install = |kind| {
            signal(kind).map_err(|e| Error::infra(format!("cannot install signal handler: {e}")))
        };
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    /// Runs `work` until it finishes or a signal arrives; on a signal `work` is dropped and
    /// `Error::Interrupted` returned.
    pub async fn guard<T>(&mut self, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            result = work => result,
            _ = self.interrupt.recv() => Err(Error::Interrupted(ExitCode::Interrupted)),
            _ = self.terminate.recv() => Err(Error::Interrupted(ExitCode::Terminated)),
        }
    }
}
