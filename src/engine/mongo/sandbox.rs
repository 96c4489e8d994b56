//! The disposable MongoDB server: a real `mongod` when one is installed, else FerretDB (a
//! MongoDB wire-protocol server on SQLite, built by `make setup`), in a sandbox dir on a free
//! port; or a throwaway database on a `--url` server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::sandbox::{SandboxDir, ServerProcess, SpawnOptions, cache_dir, free_port, last_lines};
use crate::{Error, Result};

/// The FerretDB release `make setup` builds (scripts/setup-ferretdb.sh).
pub const FERRETDB_VERSION: &str = "v1.24.2";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server program runs the disposable instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Mongod,
    FerretDb,
}

#[derive(Debug, Clone)]
pub struct MongoBinary {
    pub path: PathBuf,
    pub flavour: Flavour,
}

/// Finds the server: `explicit` (`--mongod-bin`: the binary or its directory), `mongod` on
/// PATH, then the FerretDB that `make setup` cached.
pub fn find_binary(explicit: Option<&Path>) -> Result<MongoBinary> {
    let flavour_of = |path: &Path| {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("ferretdb"))
        {
            Flavour::FerretDb
        } else {
            Flavour::Mongod
        }
    };
    if let Some(explicit) = explicit {
        for candidate in [
            explicit.to_path_buf(),
            explicit.join("mongod"),
            explicit.join("ferretdb"),
        ] {
            if candidate.is_file() {
                return Ok(MongoBinary {
                    flavour: flavour_of(&candidate),
                    path: candidate,
                });
            }
        }
        return Err(Error::infra(format!(
            "no mongod or ferretdb at {} (--mongod-bin); without it, `make setup` builds FerretDB",
            explicit.display()
        )));
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("mongod"))
        .find(|p| p.is_file())
    {
        return Ok(MongoBinary {
            path,
            flavour: Flavour::Mongod,
        });
    }
    let ferret = ferretdb_path();
    if ferret.is_file() {
        return Ok(MongoBinary {
            path: ferret,
            flavour: Flavour::FerretDb,
        });
    }
    Err(Error::infra(format!(
        "no MongoDB server found: install mongod, or run `make setup` (it builds FerretDB {FERRETDB_VERSION} into {}), or pass --mongod-bin",
        ferretdb_path().display()
    )))
}

/// Where `make setup` puts FerretDB.
pub fn ferretdb_path() -> PathBuf {
    cache_dir()
        .join("tools")
        .join(format!("ferretdb-{FERRETDB_VERSION}"))
        .join("ferretdb")
}

/// A running disposable server.
#[derive(Debug)]
pub struct LocalServer {
    // Field order is drop order: the process stops before its dir is removed.
    process: ServerProcess,
    dir: SandboxDir,
    pub port: u16,
    pub flavour: Flavour,
}

impl LocalServer {
    pub fn start(binary: &MongoBinary, keep: bool) -> Result<LocalServer> {
        let mut last_error = None;
        for _ in 0..3 {
            let dir = SandboxDir::create("mongo", None)?;
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data)
                .map_err(|e| Error::infra(format!("cannot create {}: {e}", data.display())))?;
            let port = free_port()?;
            let mut command = Command::new(&binary.path);
            match binary.flavour {
                Flavour::FerretDb => {
                    command
                        .arg("--handler=sqlite")
                        .arg(format!("--sqlite-url=file:{}/", data.display()))
                        .arg(format!("--state-dir={}", dir.path().display()))
                        .arg(format!("--listen-addr=127.0.0.1:{port}"))
                        // The debug HTTP listener would take a fixed port (8088): pick a free one.
                        .arg(format!("--debug-addr=127.0.0.1:{}", free_port()?))
                        .arg("--telemetry=disable")
                        .arg("--log-level=warn");
                }
                Flavour::Mongod => {
                    command
                        .arg("--dbpath")
                        .arg(&data)
                        .args(["--bind_ip", "127.0.0.1", "--port"])
                        .arg(port.to_string())
                        .arg("--unixSocketPrefix")
                        .arg(dir.path())
                        .args(["--quiet", "--nounixsocket"]);
                }
            }
            let process = ServerProcess::spawn(
                command,
                SpawnOptions {
                    user: None,
                    log: dir.path().join("server.log"),
                    stop_signal: libc::SIGKILL,
                    detach: keep,
                },
            )?;
            let mut server = LocalServer {
                process,
                dir,
                port,
                flavour: binary.flavour,
            };
            match server.wait_started() {
                Ok(()) => return Ok(server),
                Err(Some(e)) => return Err(e),
                Err(None) => last_error = Some(Error::infra(format!("port {port} was taken"))),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::infra("the MongoDB server did not start")))
    }

    /// Waits until the port accepts connections; `Err(None)`: the port was taken, retry.
    fn wait_started(&mut self) -> std::result::Result<(), Option<Error>> {
        let log = self.dir.path().join("server.log");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.process.exited() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("address already in use")
                    || text.contains("Address already in use")
                {
                    return Err(None);
                }
                return Err(Some(Error::infra(format!(
                    "the MongoDB server exited ({status}) while starting: {}",
                    last_lines(&text, 3)
                ))));
            }
            if Instant::now() > deadline {
                return Err(Some(Error::infra(format!(
                    "the MongoDB server did not accept connections within {}s (log: {})",
                    START_TIMEOUT.as_secs(),
                    log.display()
                ))));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn stop(mut self) {
        self.process.stop(Duration::from_secs(5));
    }

    /// Leaves the server running (`--keep`) and says how to reach and stop it.
    pub fn keep(mut self) -> String {
        self.dir.keep();
        let dir = self.dir.path().to_path_buf();
        let pid = self.process.pid().unwrap_or_default();
        let url = self.url();
        let LocalServer { process, .. } = self;
        process.detach();
        format!(
            "kept the MongoDB server running: {url} (database driftless)\n  stop it with: kill -KILL {pid} && rm -rf {}",
            dir.display()
        )
    }
}

/// A random suffix for throwaway database names.
pub fn random() -> u64 {
    use fake::rand::Rng;
    fake::rand::rng().next_u64()
}
