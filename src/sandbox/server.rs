//! A disposable server in its own sandbox dir on a free port, and where an engine's database
//! lives ([`Instance`]): what the three engines' sandboxes used to repeat each on their own.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::{SandboxDir, ServerProcess, ServiceUser, SpawnOptions, ThrowawayDatabase, free_port};
use crate::{Error, Result};

/// How often a starting server is looked at.
const START_POLL: Duration = Duration::from_millis(1);

/// What [`RunningServer::start`] needs besides the engine's command line.
pub struct Launch<'a> {
    /// The sandbox dir's label and the server's name in messages (`postgres`, `mysql`).
    pub label: &'a str,
    /// Run as this user (driftless runs as root); the dir is handed to it.
    pub user: Option<&'a ServiceUser>,
    /// Leave the server running after driftless exits (`--keep`).
    pub keep: bool,
    /// The signal that stops the server quickly.
    pub stop_signal: Signal,
    /// The file in the dir that takes the server's output.
    pub log: &'a str,
}

/// Why a server did not come up.
pub enum StartFailure {
    /// Another process bound the port first: worth another try on another port.
    PortTaken,
    Failed(Error),
}

/// A server process running in its sandbox dir. Dropping it stops the server and removes
/// the dir.
#[derive(Debug)]
pub struct RunningServer {
    // Field order is drop order: stop the server before removing its files.
    process: ServerProcess,
    dir: SandboxDir,
    log: PathBuf,
    pub port: u16,
}

impl RunningServer {
    /// Starts a server in a fresh sandbox dir on a free port: `prepare(dir, port)` readies the
    /// dir and returns the server's command line, `ready(server)` waits until it serves. A
    /// port that was free a moment ago can be taken before the server binds it: then the
    /// whole start is tried again on another one, three times at most.
    pub fn start(
        launch: Launch<'_>,
        mut prepare: impl FnMut(&Path, u16) -> Result<Command>,
        mut ready: impl FnMut(&mut RunningServer) -> std::result::Result<(), StartFailure>,
    ) -> Result<RunningServer> {
        let mut last_error = None;
        for _ in 0..3 {
            let dir = SandboxDir::create(launch.label, launch.user)?;
            let port = free_port()?;
            let command = prepare(dir.path(), port)?;
            let log = dir.path().join(launch.log);
            let process = ServerProcess::spawn(
                command,
                SpawnOptions {
                    user: launch.user,
                    log: log.clone(),
                    stop_signal: launch.stop_signal,
                    detach: launch.keep,
                },
            )?;
            let mut server = RunningServer {
                process,
                dir,
                log,
                port,
            };
            match ready(&mut server) {
                Ok(()) => return Ok(server),
                Err(StartFailure::PortTaken) => {
                    last_error = Some(Error::infra(format!("port {port} was taken")));
                }
                Err(StartFailure::Failed(e)) => return Err(e),
            }
        }
        Err(last_error
            .unwrap_or_else(|| Error::infra(format!("the {} server did not start", launch.label))))
    }

    /// Waits until `serving` says the server is up, it exits (its log saying the port was
    /// taken when it mentions one of `port_taken`), or `timeout` passes.
    pub fn wait_until(
        &mut self,
        serving: impl Fn(&RunningServer) -> bool,
        port_taken: &[&str],
        timeout: Duration,
    ) -> std::result::Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        let name = self.process_name();
        while !serving(self) {
            if let Some(status) = self.process.exited() {
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                if port_taken.iter().any(|marker| text.contains(marker)) {
                    return Err(StartFailure::PortTaken);
                }
                return Err(StartFailure::Failed(Error::infra(format!(
                    "{name} exited ({status}) while starting: {}",
                    super::last_lines(&text, 5)
                ))));
            }
            if Instant::now() > deadline {
                return Err(StartFailure::Failed(Error::infra(format!(
                    "{name} did not start within {}s; see {}",
                    timeout.as_secs(),
                    self.log.display()
                ))));
            }
            std::thread::sleep(START_POLL);
        }
        Ok(())
    }

    fn process_name(&self) -> String {
        let program = self.process.name();
        Path::new(program)
            .file_name()
            .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Stops the server and removes its dir.
    pub fn stop(mut self) {
        self.process.stop(Duration::from_secs(5));
    }

    /// Leaves server and dir in place after driftless exits (`--keep`); returns the dir and
    /// the server's process id, for saying how to stop it.
    pub fn keep(mut self) -> (PathBuf, u32) {
        self.dir.keep();
        let dir = self.dir.path().to_path_buf();
        let pid = self.process.pid().unwrap_or_default();
        let RunningServer { process, .. } = self;
        process.detach();
        (dir, pid)
    }
}

/// Calls `connect` until it succeeds or `timeout` has passed: a server whose socket exists
/// may still be starting up. The last error becomes the one `failed` makes.
pub async fn connect_when_ready<T, E, F>(
    timeout: Duration,
    mut connect: impl FnMut() -> F,
    failed: impl FnOnce(E) -> Error,
) -> Result<T>
where
    E: std::fmt::Display,
    F: Future<Output = std::result::Result<T, E>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match connect().await {
            Ok(connection) => return Ok(connection),
            Err(e) if Instant::now() < deadline => {
                crate::debug!("the server is not ready yet: {e}");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// A disposable server an engine started: stopped at the end, or kept (`--keep`).
pub trait Disposable {
    fn stop(self);
    /// Leaves it running; says how to reach and stop it.
    fn keep(self) -> String;
}

/// Where an engine's database lives, and so what its teardown does.
#[derive(Debug)]
pub enum Instance<L> {
    /// A disposable server driftless started.
    Local(L),
    /// `driftless_<random>` on the `--url` server: dropped at the end.
    Throwaway(ThrowawayDatabase),
    /// The user's own database (`--url` used in place): left as it is.
    InPlace,
}

impl<L: Disposable> Instance<L> {
    pub fn local(&self) -> Option<&L> {
        match self {
            Instance::Local(local) => Some(local),
            Instance::Throwaway(_) | Instance::InPlace => None,
        }
    }

    /// Removes what driftless created, or with `keep` leaves it and says how to reach it.
    pub async fn finish(self, keep: bool) -> Result<Option<String>> {
        match self {
            Instance::Local(local) if keep => Ok(Some(local.keep())),
            Instance::Local(local) => {
                local.stop();
                Ok(None)
            }
            Instance::Throwaway(db) if keep => Ok(Some(db.keep())),
            Instance::Throwaway(db) => db.drop_database().await.map(|()| None),
            Instance::InPlace => Ok(None),
        }
    }
}
