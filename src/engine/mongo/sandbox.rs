//! The disposable MongoDB server: a real `mongod` when one is installed, else FerretDB (a
//! MongoDB wire-protocol server on SQLite, built by `make setup`), in a sandbox dir; or a
//! throwaway database on a `--url` server ([`UrlServer`], MongoDB's part of
//! `sandbox::ThrowawayDatabase`).
//!
//! FerretDB on SQLite has no authentication of its own, so only the way in is guarded: it
//! listens on a unix socket in the sandbox dir (`0700`) and on no TCP port at all, its debug
//! HTTP listener is off.
//! `mongod` (when installed) listens on a free 127.0.0.1 port without authentication.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::Client;
use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use rustix::process::Signal;

use crate::error::{Context, mongo_message};
use crate::sandbox::{
    Disposable, Launch, RunningServer, ServiceUser, ThrowawayServer, cache_dir, find_program,
    redact_url, save_url,
};
use crate::{Error, Result};

/// The FerretDB release `make setup` builds (scripts/setup-ferretdb.sh).
pub const FERRETDB_VERSION: &str = "v1.24.2";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long choosing a server and connecting to it may take unless the URL says otherwise: a
/// dead or silent `--url` fails in seconds, not the driver's 30.
const SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

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
    if let Some(path) = find_program(&["mongod"], &[]) {
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
    server: RunningServer,
    pub port: u16,
    pub flavour: Flavour,
}

impl LocalServer {
    pub fn start(binary: &MongoBinary, keep: bool) -> Result<LocalServer> {
        // FerretDB runs as driftless's own user: `make setup` puts it in the user's cache (root's
        // home is closed to others), and it runs no commands for its clients.
        let user: Option<ServiceUser> = None;
        let launch = Launch {
            label: "mongo",
            user: user.as_ref(),
            keep,
            // A throwaway server needs no clean shutdown.
            stop_signal: Signal::KILL,
            log: "server.log",
        };
        let prepare = |dir: &Path, port: u16| server_command(binary, dir, port, user.as_ref());
        let flavour = binary.flavour;
        let ready = |server: &mut RunningServer| {
            server.wait_until(
                |s| match flavour {
                    Flavour::FerretDb => socket_path(s.dir()).exists(),
                    Flavour::Mongod => std::net::TcpStream::connect(("127.0.0.1", s.port)).is_ok(),
                },
                &["address already in use", "Address already in use"],
                START_TIMEOUT,
            )
        };
        let server = RunningServer::start(launch, prepare, ready)?;
        Ok(LocalServer {
            port: server.port,
            server,
            flavour: binary.flavour,
        })
    }

    /// The URL of the server: its socket (FerretDB), or 127.0.0.1 (`mongod`).
    pub fn url(&self) -> String {
        match self.flavour {
            Flavour::FerretDb => {
                let socket = socket_path(self.dir());
                // The driver knows a socket by a host ending in `.sock`: the dot stays as it is.
                const IN_HOST: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
                    .add(b'/')
                    .add(b'%')
                    .add(b':')
                    .add(b'@')
                    .add(b'?')
                    .add(b'#')
                    .add(b' ');
                let host =
                    percent_encoding::utf8_percent_encode(&socket.to_string_lossy(), IN_HOST)
                        .to_string();
                format!("mongodb://{host}/?directConnection=true")
            }
            Flavour::Mongod => format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port),
        }
    }

    pub fn dir(&self) -> &Path {
        self.server.dir()
    }

    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    pub fn stop(self) {
        self.server.stop();
    }

    /// Leaves the server running (`--keep`) and says how to reach and stop it.
    pub fn keep(self) -> String {
        let url = self.url();
        let (dir, pid) = self.server.keep();
        format!(
            "kept the MongoDB server running: {url} (database driftless)\n  {}\n  stop it with: kill -KILL {pid} && rm -rf {}",
            save_url(&dir, &url),
            dir.display()
        )
    }
}

impl Disposable for LocalServer {
    fn stop(self) {
        LocalServer::stop(self);
    }

    fn keep(self) -> String {
        LocalServer::keep(self)
    }
}

/// FerretDB's socket in the sandbox dir.
fn socket_path(dir: &Path) -> PathBuf {
    dir.join("mongo.sock")
}

/// The server's command line for a data dir in `dir`.
fn server_command(
    binary: &MongoBinary,
    dir: &Path,
    port: u16,
    user: Option<&ServiceUser>,
) -> Result<Command> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)
        .map_err(|e| Error::infra(format!("cannot create {}: {e}", data.display())))?;
    if let Some(user) = user {
        user.chown(&data)?;
    }
    let mut command = crate::sandbox::command(&binary.path);
    match binary.flavour {
        Flavour::FerretDb => {
            command
                .arg("--handler=sqlite")
                .arg(format!("--sqlite-url=file:{}/", data.display()))
                .arg(format!("--state-dir={}", dir.display()))
                // No TCP listener: the socket in the 0700 dir is the only way in.
                .arg("--listen-addr=")
                .arg(format!("--listen-unix={}", socket_path(dir).display()))
                // `-` turns the debug HTTP listener (metrics, pprof) off.
                .arg("--debug-addr=-")
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
                .arg(dir)
                .args(["--quiet", "--nounixsocket"]);
        }
    }
    Ok(command)
}

/// The driver's options for `url`, with short timeouts unless the URL sets its own: a
/// disposable server is up, and a wrong `--url` should fail fast.
pub async fn client_options(url: &str) -> Result<ClientOptions> {
    let mut options = ClientOptions::parse(url)
        .await
        .map_err(|e| Error::input(format!("invalid --url: {}", mongo_message(&e))))?;
    options
        .server_selection_timeout
        .get_or_insert(SELECTION_TIMEOUT);
    options.connect_timeout.get_or_insert(SELECTION_TIMEOUT);
    options.app_name = Some("driftless".into());
    Ok(options)
}

/// A client with `options` (it connects when first used).
pub fn client(options: ClientOptions) -> Result<Client> {
    Client::with_options(options)
        .map_err(|e| Error::infra(format!("cannot connect to MongoDB: {}", mongo_message(&e))))
}

/// A `--url` server, where driftless works in a throwaway database.
#[derive(Clone)]
pub struct UrlServer {
    options: ClientOptions,
    shown: String,
}

impl UrlServer {
    pub async fn new(url: &str) -> Result<UrlServer> {
        Ok(UrlServer {
            options: client_options(url).await?,
            shown: redact_url(url),
        })
    }

    /// A client of the engine's own (the one sessions of [`ThrowawayServer`] are separate).
    pub fn client(&self) -> Result<Client> {
        client(self.options.clone())
    }
}

#[async_trait]
impl ThrowawayServer for UrlServer {
    type Session = Client;

    fn shown(&self) -> String {
        self.shown.clone()
    }

    /// A client whose server answered a ping: the driver connects lazily, and a dead server
    /// would otherwise only show at the first command.
    async fn connect(&self) -> Result<Client> {
        let client = self.client()?;
        client
            .database("admin")
            .run_command(doc! {"ping": 1})
            .await
            .map_err(|e| {
                Error::infra(format!(
                    "cannot connect to {}: {}",
                    self.shown,
                    mongo_message(&e)
                ))
            })?;
        Ok(client)
    }

    /// Nothing to do: MongoDB creates a database with its first collection.
    async fn create(&self, _session: &mut Client, _name: &str) -> Result<()> {
        Ok(())
    }

    async fn drop_database(&self, session: &mut Client, name: &str) -> Result<()> {
        session
            .database(name)
            .drop()
            .await
            .context(|| format!("cannot drop throwaway database {name}"))
    }

    async fn close(&self, session: Client) {
        session.shutdown().immediate(true).await;
    }

    fn drop_hint(&self, name: &str) -> String {
        format!("db.getSiblingDB(\"{name}\").dropDatabase()")
    }

    async fn databases(&self, session: &mut Client) -> Result<Vec<String>> {
        session
            .list_database_names()
            .await
            .context(|| format!("cannot list the databases on {}", self.shown))
    }

    /// The driver bounds connecting itself, by the URL's timeouts or ours; this is a backstop.
    fn connect_timeout(&self) -> Duration {
        let selection = self.options.server_selection_timeout;
        let connect = self.options.connect_timeout;
        selection.unwrap_or(SELECTION_TIMEOUT) + connect.unwrap_or(SELECTION_TIMEOUT)
    }
}
