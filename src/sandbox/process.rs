//! A database server child process that cannot outlive driftless.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::ServiceUser;
use crate::{Error, Result};

/// How to start a server process.
pub struct SpawnOptions<'a> {
    /// Run as this user (driftless runs as root).
    pub user: Option<&'a ServiceUser>,
    /// The server's stdout and stderr go to this file.
    pub log: PathBuf,
    /// The signal that stops the server quickly (PostgreSQL: SIGQUIT, immediate shutdown).
    pub stop_signal: Signal,
    /// Keep running after driftless exits (`--keep`); otherwise the kernel sends
    /// `stop_signal` when driftless dies, even by SIGKILL.
    pub detach: bool,
}

/// A running server. Dropping it stops the server and waits for it.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Child>,
    stop_signal: Signal,
    name: String,
}

impl ServerProcess {
    /// Spawns `command` in its own process group, so a Ctrl-C in the terminal reaches
    /// driftless (which then stops the server in order) rather than the server directly.
    ///
    /// Call this from a thread that lives as long as the server: Linux delivers the
    /// parent-death signal when the spawning *thread* exits.
    pub fn spawn(mut command: Command, options: SpawnOptions<'_>) -> Result<ServerProcess> {
        let name = command.get_program().to_string_lossy().into_owned();
        let log = std::fs::File::create(&options.log)
            .map_err(|e| Error::infra(format!("cannot create {}: {e}", options.log.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::infra(format!("cannot open {}: {e}", options.log.display())))?;
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        if let Some(user) = options.user {
            command.uid(user.uid).gid(user.gid);
        }
        if !options.detach {
            super::sys::die_with_parent(&mut command, options.stop_signal);
        }
        let child = command
            .spawn()
            .map_err(|e| Error::infra(format!("cannot start {name}: {e}")))?;
        Ok(ServerProcess {
            child: Some(child),
            stop_signal: options.stop_signal,
            name,
        })
    }

    /// The program that was started, as it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status if the process has already ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops the server with its stop signal, waiting up to `grace` before killing its whole
    /// process group.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_child(&child);
        if matches!(child.try_wait(), Ok(Some(_))) {
            kill_group(pid);
            return;
        }
        let _ = rustix::process::kill_process(pid, self.stop_signal);
        let deadline = Instant::now() + grace;
        let mut pause = Duration::from_micros(200);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    crate::debug!("{} did not stop in {grace:?}; killing it", self.name);
                    kill_group(pid);
                    let _ = child.wait();
                    break;
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
            }
        }
        // Backends that outlived the postmaster (they should not) go with the group.
        kill_group(pid);
    }

    /// Lets the server run on after driftless exits (`--keep`).
    pub fn detach(mut self) {
        self.child.take();
    }
}

/// The server was spawned as the leader of its own process group: this reaches what it forked.
fn kill_group(pgid: Pid) {
    let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
