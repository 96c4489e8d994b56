//! Disposable PostgreSQL servers and throwaway databases.
//!
//! Local strategy: find the server binaries, make (once) a pristine data dir with `initdb`
//! in the cache, copy it into a temp dir, start `postgres` on a unix socket in that dir plus a
//! free 127.0.0.1 port with durability off, and poll with real connections until it answers.
//! As root, the data dir is handed to the `postgres` user (initdb refuses root).
//!
//! URL strategy (`--url`): create `driftless_<random>` on the given server, work only there,
//! drop it at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use crate::error::Context;
use crate::sandbox::{
    SandboxDir, ServerProcess, ServiceUser, SpawnOptions, cached_template, copy_tree, free_port,
    last_lines, redact_url, service_user,
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
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
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
    // Field order is drop order: stop the server before removing its files.
    process: ServerProcess,
    dir: SandboxDir,
    pub port: u16,
}

impl LocalServer {
    /// Copies the template and starts a server on it.
    pub fn start(bins: &PgBinaries, keep: bool) -> Result<LocalServer> {
        let user = server_user()?;
        let template = template(bins, user.as_ref())?;
        let mut last_error = None;
        // A port that was free a moment ago can be taken before the server binds it.
        for _ in 0..3 {
            let dir = SandboxDir::create("postgres", user.as_ref())?;
            let data = dir.path().join("data");
            copy_tree(&template, &data, user.as_ref())?;
            let port = free_port()?;
            let log = dir.path().join("postgres.log");
            let mut command = Command::new(bins.tool("postgres"));
            command
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(dir.path())
                .args(["-p", &port.to_string(), "-F"])
                .args(SERVER_SETTINGS.iter().flat_map(|s| ["-c", s]));
            let process = ServerProcess::spawn(
                command,
                SpawnOptions {
                    user: user.as_ref(),
                    log: log.clone(),
                    stop_signal: libc::SIGQUIT,
                    detach: keep,
                },
            )?;
            let mut server = LocalServer { process, dir, port };
            match server.wait_started(&log) {
                Ok(()) => return Ok(server),
                Err(StartError::PortTaken) => {
                    last_error = Some(Error::infra(format!("port {port} was taken")));
                }
                Err(StartError::Failed(e)) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::infra("postgres did not start")))
    }

    /// Waits until the socket file exists or the process died (the connection poll follows).
    fn wait_started(&mut self, log: &Path) -> std::result::Result<(), StartError> {
        let socket = self.socket_path();
        let deadline = Instant::now() + START_TIMEOUT;
        while !socket.exists() {
            if let Some(status) = self.process.exited() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if text.contains("could not bind") || text.contains("Address already in use") {
                    return Err(StartError::PortTaken);
                }
                return Err(StartError::Failed(Error::infra(format!(
                    "postgres exited ({status}) while starting: {}",
                    last_lines(&text, 5)
                ))));
            }
            if Instant::now() > deadline {
                return Err(StartError::Failed(Error::infra(format!(
                    "postgres did not open its socket within {START_TIMEOUT:?}; see {}",
                    log.display()
                ))));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    fn socket_path(&self) -> PathBuf {
        self.dir.path().join(format!(".s.PGSQL.{}", self.port))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Process id of the postmaster.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(self.dir.path())
            .port(self.port)
            .username(SUPERUSER)
            .database(DATABASE)
            .application_name("driftless")
    }

    /// Connects, retrying while the server finishes starting up.
    pub async fn connect(&self) -> Result<PgConnection> {
        let deadline = Instant::now() + START_TIMEOUT;
        let options = self.connect_options();
        loop {
            match options.connect().await {
                Ok(conn) => return Ok(conn),
                Err(e) if Instant::now() < deadline => {
                    crate::debug!("postgres not ready yet: {e}");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err(e) => {
                    return Err(Error::infra(format!(
                        "postgres in {} did not accept connections: {e}",
                        self.dir.path().display()
                    )));
                }
            }
        }
    }

    /// The URL a user can connect to while the server runs.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Stops the server and removes its dir.
    pub fn stop(mut self) {
        self.process.stop(Duration::from_secs(5));
    }

    /// Leaves server and dir in place; returns how to reach and stop them.
    pub fn keep(mut self) -> String {
        self.dir.keep();
        let dir = self.dir.path().to_path_buf();
        let pid = self.process.pid().unwrap_or_default();
        let url = self.url();
        let LocalServer { process, .. } = self;
        process.detach();
        format!(
            "kept postgres running: {url} (socket dir {})\n  stop it with: kill -QUIT {pid} && rm -rf {}",
            dir.display(),
            dir.display()
        )
    }
}

enum StartError {
    PortTaken,
    Failed(Error),
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

/// A throwaway database on a server the user pointed at with `--url`.
#[derive(Debug)]
pub struct RemoteDatabase {
    admin_options: PgConnectOptions,
    pub name: String,
    dropped: bool,
}

impl RemoteDatabase {
    /// Creates `driftless_<random>` on the server of `url`.
    pub async fn create(url: &str) -> Result<(RemoteDatabase, PgConnectOptions)> {
        let admin_options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::input(format!("invalid --url: {e}")))?
            .application_name("driftless");
        let mut admin = admin_options
            .connect()
            .await
            .map_err(|e| Error::infra(format!("cannot connect to {}: {e}", redact_url(url))))?;
        let name = format!("driftless_{:012x}", rand_u64() & 0xffff_ffff_ffff);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .map_err(|e| {
                Error::infra(format!(
                    "cannot create a throwaway database on {}: {e} (the user needs CREATEDB)",
                    redact_url(url)
                ))
            })?;
        let _ = admin.close().await;
        let options = admin_options.clone().database(&name);
        Ok((
            RemoteDatabase {
                admin_options,
                name,
                dropped: false,
            },
            options,
        ))
    }

    /// Drops the throwaway database (terminating what is still connected to it).
    pub async fn drop_database(mut self) -> Result<()> {
        self.dropped = true;
        drop_database(&self.admin_options, &self.name).await
    }

    pub fn keep(mut self) -> String {
        self.dropped = true;
        format!(
            "kept throwaway database {} on the --url server; drop it with: DROP DATABASE {} WITH (FORCE)",
            self.name, self.name
        )
    }
}

async fn drop_database(admin_options: &PgConnectOptions, name: &str) -> Result<()> {
    let mut admin = admin_options
        .connect()
        .await
        .context(|| format!("cannot connect to drop database {name}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .context(|| format!("cannot drop throwaway database {name}"))?;
    let _ = admin.close().await;
    Ok(())
}

impl Drop for RemoteDatabase {
    /// Last resort on panic or early return: drop the database from a helper thread with its
    /// own runtime (no async in Drop).
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let options = self.admin_options.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(drop_database(&options, &name)).ok()
        })
        .join();
    }
}

fn rand_u64() -> u64 {
    use fake::rand::Rng;
    fake::rand::rng().next_u64()
}
