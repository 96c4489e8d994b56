//! Disposable PostgreSQL servers and throwaway databases.
//!
//! Local strategy: find the server binaries, make (once) a pristine data dir with `initdb`
//! in the cache, copy it into a temp dir, start `postgres` on a unix socket in that dir plus a
//! free 127.0.0.1 port with durability off, and poll with real connections until it answers.
//! As root, the data dir is handed to the `postgres` user (initdb refuses root).
//!
//! URL strategy (`--url`): `driftless_<random>` on the given server, made and dropped by the
//! shared throwaway database (`sandbox::ThrowawayDatabase`) with the statements `THROWAWAY`
//! of `mod.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::sandbox::{
    Disposable, Launch, RunningServer, ServiceUser, cached_template, connect_when_ready, copy_tree,
    last_lines, search_dirs, service_user,
};
use crate::{Error, Result};

/// Bumped when the template's initdb options change, so old caches are not reused.
const TEMPLATE_REVISION: u32 = 1;
const SUPERUSER: &str = "postgres";
const DATABASE: &str = "postgres";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the server binaries are, and which version they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bin_dir: PathBuf,
    /// `15.18`
    pub version: String,
}

impl PgBinaries {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// Finds `initdb` and `postgres`: `--pg-bin`, then PATH, then `pg_config --bindir`, then
/// `/usr/lib/postgresql/*/bin` (newest first).
pub fn find_binaries(explicit: Option<&Path>) -> Result<PgBinaries> {
    let dir = match explicit {
        Some(dir) if has_server(dir) => dir.to_path_buf(),
        Some(dir) => {
            return Err(Error::infra(format!(
                "--pg-bin {}: no `initdb` and `postgres` there; run `make setup` or pass \
                 the bin directory of a PostgreSQL server installation",
                dir.display()
            )));
        }
        None => candidates()
            .into_iter()
            .find(|d| has_server(d))
            .ok_or_else(|| {
                Error::infra(
                    "no PostgreSQL server binaries (initdb, postgres) found; \
                 run `make setup` or pass --pg-bin DIR",
                )
            })?,
    };
    // PATH entries are often symlinks into the real bin dir, which also holds pg_dump & co.
    let bin_dir = std::fs::canonicalize(dir.join("postgres"))
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| has_server(d))
        .unwrap_or(dir);
    let version = server_version(&bin_dir)?;
    Ok(PgBinaries { bin_dir, version })
}

/// The binaries of the version `options` asks for (`--pg-version`): `--pg-bin` if it holds
/// that version, else an installed one, else a tree fetched before, else fetched now. Without
/// a wanted version: [`find_binaries`].
pub async fn binaries_for(options: &crate::engine::StartOptions) -> Result<PgBinaries> {
    let explicit = options.bin_dir.as_deref();
    let Some(wanted) = options.version else {
        return find_binaries(explicit);
    };
    if let Some(dir) = explicit {
        let bins = find_binaries(Some(dir))?;
        if !wanted.matches(&bins.version) {
            return Err(Error::input(format!(
                "--pg-bin {} holds PostgreSQL {}, not the {wanted} --pg-version asks for",
                dir.display(),
                bins.version
            )));
        }
        return Ok(bins);
    }
    for dir in candidates().into_iter().filter(|d| has_server(d)) {
        if server_version(&dir).is_ok_and(|v| wanted.matches(&v)) {
            return find_binaries(Some(&dir));
        }
    }
    let bin = match super::fetch::cached(&wanted) {
        Some(bin) => bin,
        None => super::fetch::fetch(&wanted, options.offline, options.quiet).await?,
    };
    find_binaries(Some(&bin))
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs = search_dirs(&[]);
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    dirs.extend(versioned.into_iter().map(|(_, d)| d));
    dirs
}

fn server_version(bin_dir: &Path) -> Result<String> {
    let postgres = bin_dir.join("postgres");
    let out = Command::new(&postgres)
        .arg("--version")
        .output()
        .map_err(|e| Error::infra(format!("cannot run {}: {e}", postgres.display())))?;
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::infra(format!(
                "cannot tell the version of {}: `{}`",
                postgres.display(),
                text.trim()
            ))
        })
}

/// The user to run the server as when driftless runs as root.
pub fn server_user() -> Result<Option<ServiceUser>> {
    service_user(&["postgres"])
}

/// Returns the cached pristine data dir for `bins`, running `initdb` once to make it.
pub fn template(bins: &PgBinaries, user: Option<&ServiceUser>) -> Result<PathBuf> {
    let key = format!(
        "postgres-{}-{}-r{TEMPLATE_REVISION}",
        bins.version,
        crate::sandbox::path_key(&bins.bin_dir)
    );
    cached_template(&key, user, |dir| {
        let started = Instant::now();
        let mut initdb = Command::new(bins.tool("initdb"));
        initdb.arg("-D").arg(dir.join("data")).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if let Some(user) = user {
            use std::os::unix::process::CommandExt;
            initdb.uid(user.uid).gid(user.gid);
        }
        let out = initdb
            .output()
            .map_err(|e| Error::infra(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            return Err(Error::infra(format!(
                "initdb failed: {}",
                last_lines(&String::from_utf8_lossy(&out.stderr), 5)
            )));
        }
        crate::debug!("initdb took {} ms", started.elapsed().as_millis());
        Ok(())
    })
}

/// A running disposable server. Dropping it stops the server and removes its dir.
#[derive(Debug)]
pub struct LocalServer {
    server: RunningServer,
    pub port: u16,
}

impl LocalServer {
    /// Copies the template and starts a server on it.
    pub fn start(bins: &PgBinaries, keep: bool) -> Result<LocalServer> {
        let user = server_user()?;
        let template = template(bins, user.as_ref())?;
        let launch = Launch {
            label: "postgres",
            user: user.as_ref(),
            keep,
            // Immediate shutdown: nothing of a throwaway server needs a checkpoint.
            stop_signal: Signal::QUIT,
            log: "postgres.log",
        };
        let prepare = |dir: &Path, port: u16| {
            let data = dir.join("data");
            copy_tree(&template, &data, user.as_ref())?;
            let mut command = Command::new(bins.tool("postgres"));
            command
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(dir)
                .args(["-p", &port.to_string(), "-F"])
                .args(SERVER_SETTINGS.iter().flat_map(|s| ["-c", s]));
            Ok(command)
        };
        // The socket file appears once the server listens; the connection poll follows.
        let ready = |server: &mut RunningServer| {
            server.wait_until(
                |s| socket_path(s.dir(), s.port).exists(),
                &["could not bind", "Address already in use"],
                START_TIMEOUT,
            )
        };
        let server = RunningServer::start(launch, prepare, ready)?;
        Ok(LocalServer {
            port: server.port,
            server,
        })
    }

    pub fn dir(&self) -> &Path {
        self.server.dir()
    }

    /// Process id of the postmaster.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(self.dir())
            .port(self.port)
            .username(SUPERUSER)
            .database(DATABASE)
            .application_name("driftless")
    }

    /// Connects, retrying while the server finishes starting up.
    pub async fn connect(&self) -> Result<PgConnection> {
        let options = self.connect_options();
        let failed = |e| {
            let dir = self.dir().display();
            Error::infra(format!("postgres in {dir} did not accept connections: {e}"))
        };
        connect_when_ready(START_TIMEOUT, || options.connect(), failed).await
    }

    /// The URL a user can connect to while the server runs.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Stops the server and removes its dir.
    pub fn stop(self) {
        self.server.stop();
    }

    /// Leaves server and dir in place; returns how to reach and stop them.
    pub fn keep(self) -> String {
        let url = self.url();
        let (dir, pid) = self.server.keep();
        format!(
            "kept postgres running: {url} (socket dir {})\n  stop it with: kill -QUIT {pid} && rm -rf {}",
            dir.display(),
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

fn socket_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

/// Settings for throwaway servers: no durability, little memory, nothing in the background.
const SERVER_SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "autovacuum=off",
    "max_connections=20",
    "shared_buffers=32MB",
    "unix_socket_permissions=0777",
    "logging_collector=off",
    "log_min_messages=warning",
    "TimeZone=UTC",
    // Dynamic shared memory in the data dir rather than /dev/shm, so that it goes with the
    // dir even if the server dies without cleaning up.
    "dynamic_shared_memory_type=mmap",
];
