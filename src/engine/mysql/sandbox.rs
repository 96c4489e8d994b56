//! Disposable MariaDB / MySQL servers and throwaway databases.
//!
//! Local strategy: find `mariadbd` (or MySQL's `mysqld`), make (once) a pristine data dir with
//! `mariadb-install-db` (MySQL 8: `mysqld --initialize-insecure`) in the cache, copy it into a
//! temp dir, start the server on a unix socket in that dir plus a free 127.0.0.1 port with
//! durability off (no binary log, no doublewrite, no flush at commit), and poll with real
//! connections until it answers. Nothing of a throwaway server needs a clean shutdown, so it
//! is stopped with SIGKILL (milliseconds instead of InnoDB's second-long shutdown).
//!
//! URL strategy (`--url mysql://…`): create `driftless_<random>` there, work only in it, drop
//! it at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Connection};

use crate::error::Context;
use crate::sandbox::{
    SandboxDir, ServerProcess, SpawnOptions, cached_template, copy_tree, free_port, last_lines,
    redact_url,
};
use crate::{Error, Result};

/// Bumped when the template's options change, so old caches are not reused.
const TEMPLATE_REVISION: u32 = 1;
/// The database driftless works in on a disposable server.
pub const DATABASE: &str = "driftless";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Small InnoDB files: the template copies in milliseconds. Used at install and at start
/// (the data file layout must match).
const INNODB_FILES: &[&str] = &[
    "--innodb-data-file-path=ibdata1:4M:autoextend",
    "--innodb-autoextend-increment=1",
    "--innodb-log-file-size=4M",
    "--innodb-buffer-pool-size=32M",
];

/// Which server family the binaries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    MariaDb,
    MySql,
}

/// Where the server binaries are, and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlBinaries {
    pub server: PathBuf,
    /// `mariadb-install-db` for MariaDB; MySQL initialises with the server itself.
    pub install_db: Option<PathBuf>,
    pub flavour: Flavour,
    /// `10.11.19-MariaDB`, `8.0.36`.
    pub version: String,
}

/// Finds the server: `--mysql-bin`, then PATH, then `/usr/sbin`, `/usr/local/mysql/bin`.
pub fn find_binaries(explicit: Option<&Path>) -> Result<MySqlBinaries> {
    let dirs: Vec<PathBuf> = match explicit {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default();
            dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"].map(PathBuf::from));
            dirs
        }
    };
    let server = dirs
        .iter()
        .flat_map(|d| [d.join("mariadbd"), d.join("mysqld")])
        .find(|p| p.is_file())
        .ok_or_else(|| match explicit {
            Some(dir) => Error::infra(format!(
                "--mysql-bin {}: no `mariadbd` or `mysqld` there; run `make setup` or pass the \
                 directory of a MariaDB or MySQL server",
                dir.display()
            )),
            None => Error::infra(
                "no MariaDB or MySQL server binary (mariadbd, mysqld) found; run `make setup` \
                 or pass --mysql-bin DIR",
            ),
        })?;
    let out = Command::new(&server)
        .arg("--version")
        .output()
        .map_err(|e| Error::infra(format!("cannot run {}: {e}", server.display())))?;
    // "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)"
    // "mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let flavour = if text.contains("MariaDB") {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    };
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "Ver")
        .nth(1)
        .map(short_version)
        .ok_or_else(|| {
            Error::infra(format!(
                "cannot tell the version of {}: `{}`",
                server.display(),
                text.trim()
            ))
        })?;
    let install_db = match flavour {
        Flavour::MySql => None,
        Flavour::MariaDb => {
            let near = server.parent().map(Path::to_path_buf).unwrap_or_default();
            let found = [near.clone(), near.join("../bin"), PathBuf::from("/usr/bin")]
                .iter()
                .flat_map(|d| [d.join("mariadb-install-db"), d.join("mysql_install_db")])
                .find(|p| p.is_file());
            Some(found.ok_or_else(|| {
                Error::infra(
                    "found mariadbd but no mariadb-install-db to initialise a data dir; \
                     run `make setup`",
                )
            })?)
        }
    };
    Ok(MySqlBinaries {
        server,
        install_db,
        flavour,
        version,
    })
}

/// `10.11.19-MariaDB-0+deb12u1` → `10.11.19-MariaDB`; MySQL versions stay as they are.
pub fn short_version(full: &str) -> String {
    match full.find("-MariaDB") {
        Some(at) => full[..at + "-MariaDB".len()].to_string(),
        None => full.split('-').next().unwrap_or(full).to_string(),
    }
}

/// The cached pristine data dir for `bins`.
fn template(bins: &MySqlBinaries) -> Result<PathBuf> {
    let key = format!(
        "mysql-{}-{}-r{TEMPLATE_REVISION}",
        bins.version,
        crate::sandbox::path_key(&bins.server)
    );
    cached_template(&key, None, |dir| {
        let data = dir.join("data");
        let started = Instant::now();
        let mut command = match (&bins.install_db, bins.flavour) {
            (Some(install), Flavour::MariaDb) => {
                let mut c = Command::new(install);
                c.arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                    .args(INNODB_FILES);
                c
            }
            _ => {
                let mut c = Command::new(&bins.server);
                c.arg("--no-defaults")
                    .arg("--initialize-insecure")
                    .arg(format!("--datadir={}", data.display()));
                c
            }
        };
        if running_as_root() {
            command.arg("--user=root");
        }
        // Bootstrap temp files in a dir of this build, not the shared /tmp: concurrent first
        // runs (tests on a fresh cache) have failed there deleting each other's temp tables.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| Error::infra(format!("cannot create {}: {e}", tmp.display())))?;
        command.arg(format!("--tmpdir={}", tmp.display()));
        let out = command
            .output()
            .map_err(|e| Error::infra(format!("cannot initialise a MySQL data dir: {e}")))?;
        let _ = std::fs::remove_dir_all(&tmp);
        if !out.status.success() {
            return Err(Error::infra(format!(
                "initialising a MySQL data dir failed: {}",
                last_lines(
                    &format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                    5
                )
            )));
        }
        crate::debug!("mysql install-db took {} ms", started.elapsed().as_millis());
        Ok(())
    })
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A running disposable server. Dropping it stops the server and removes its dir.
#[derive(Debug)]
pub struct LocalServer {
    // Field order is drop order: stop the server before removing its files.
    process: ServerProcess,
    dir: SandboxDir,
    pub port: u16,
}

/// A named pipe in the server's directory: driftless writes rows into it while the server
/// runs `LOAD DATA INFILE` on it, so rows stream without a temp file or a LOCAL INFILE client.
#[derive(Debug)]
pub struct Pipe {
    path: PathBuf,
    released: Arc<AtomicBool>,
}

impl Pipe {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the chunks into the pipe on a blocking thread as the server reads them. Ends
    /// when the chunks end, or quietly when the server stops reading (its error is the one
    /// that matters).
    pub fn feed(
        &self,
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> impl std::future::Future<Output = Result<()>> + use<> {
        let (path, released) = (self.path.clone(), self.released.clone());
        let task = tokio::task::spawn_blocking(move || -> Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            // Non-blocking open fails (ENXIO) until the server opens its end; poll, and give
            // up once the load is over without it.
            let mut file = loop {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path)
                {
                    Ok(file) => break file,
                    Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                        if released.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => {
                        return Err(Error::infra(format!("cannot open {}: {e}", path.display())));
                    }
                }
            };
            // Back to blocking writes: the pipe's buffer paces driftless to the server.
            {
                use std::os::fd::AsRawFd;
                let fd = file.as_raw_fd();
                // SAFETY: `fd` is an open descriptor owned by `file`.
                unsafe {
                    let flags = libc::fcntl(fd, libc::F_GETFL);
                    libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                }
            }
            while let Some(bytes) = chunks.blocking_recv() {
                match file.write_all(&bytes) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    Err(e) => {
                        return Err(Error::infra(format!(
                            "cannot write {}: {e}",
                            path.display()
                        )));
                    }
                }
            }
            Ok(())
        });
        async move {
            task.await
                .map_err(|e| Error::infra(format!("the pipe writer failed: {e}")))?
        }
    }

    /// Tells a writer still waiting for the server to give up.
    pub fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl LocalServer {
    /// A new named pipe in the server's directory for [`Pipe::feed`].
    pub fn pipe(&self) -> Result<Pipe> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = self
            .dir
            .path()
            .join(format!("seed-{}.pipe", NEXT.fetch_add(1, Ordering::SeqCst)));
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::infra("the sandbox path contains a NUL byte"))?;
        // SAFETY: `c` is a valid NUL-terminated path.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(Error::infra(format!(
                "cannot create a pipe at {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        Ok(Pipe {
            path,
            released: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Copies the template and starts a server on it.
    pub fn start(bins: &MySqlBinaries, keep: bool) -> Result<LocalServer> {
        LocalServer::start_with(bins, keep, false)
    }

    /// [`LocalServer::start`]; with `trace_locks`, performance_schema records metadata locks
    /// (`dry-run` watches them; it costs start time and memory, so only there).
    pub fn start_with(bins: &MySqlBinaries, keep: bool, trace_locks: bool) -> Result<LocalServer> {
        let template = template(bins)?;
        let mut last_error = None;
        for _ in 0..3 {
            let dir = SandboxDir::create("mysql", None)?;
            let data = dir.path().join("data");
            copy_tree(&template, &data, None)?;
            let port = free_port()?;
            let mut command = Command::new(&bins.server);
            command
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!(
                    "--socket={}",
                    dir.path().join("mysqld.sock").display()
                ))
                .arg(format!(
                    "--pid-file={}",
                    dir.path().join("mysqld.pid").display()
                ))
                // Internal temp tables stay inside the sandbox (not in a shared /tmp).
                .arg(format!("--tmpdir={}", dir.path().display()))
                .arg(format!("--port={port}"))
                .args(SERVER_SETTINGS)
                .args(if trace_locks {
                    &[
                        "--performance-schema=ON",
                        "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON",
                    ][..]
                } else {
                    &["--skip-performance-schema"][..]
                })
                .args(INNODB_FILES);
            if bins.flavour == Flavour::MySql {
                command.args(["--disable-log-bin", "--mysqlx=OFF"]);
            } else {
                command.arg("--skip-log-bin");
            }
            if running_as_root() {
                command.arg("--user=root");
            }
            let process = ServerProcess::spawn(
                command,
                SpawnOptions {
                    user: None,
                    log: dir.path().join("mysqld.log"),
                    stop_signal: libc::SIGKILL,
                    detach: keep,
                },
            )?;
            let mut server = LocalServer { process, dir, port };
            match server.wait_started() {
                Ok(()) => return Ok(server),
                Err(Some(e)) => return Err(e),
                Err(None) => last_error = Some(Error::infra(format!("port {port} was taken"))),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::infra("the MySQL server did not start")))
    }

    /// Waits for the socket file; `Err(None)` means "port taken, try another".
    fn wait_started(&mut self) -> std::result::Result<(), Option<Error>> {
        let socket = self.socket_path();
        let log = self.dir.path().join("mysqld.log");
        let deadline = Instant::now() + START_TIMEOUT;
        while !socket.exists() {
            if let Some(status) = self.process.exited() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("Address already in use") || text.contains("Do you already have") {
                    return Err(None);
                }
                return Err(Some(Error::infra(format!(
                    "the MySQL server exited ({status}) while starting: {}",
                    last_lines(&text, 5)
                ))));
            }
            if Instant::now() > deadline {
                return Err(Some(Error::infra(format!(
                    "the MySQL server did not open its socket within {START_TIMEOUT:?}; see {}",
                    log.display()
                ))));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    fn socket_path(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Options for connecting over the socket, without a database.
    pub fn connect_options(&self) -> MySqlConnectOptions {
        MySqlConnectOptions::new()
            .socket(self.socket_path())
            .username("root")
    }

    /// Connects (retrying while the server finishes starting) and creates the work database.
    pub async fn connect(&self) -> Result<MySqlConnection> {
        let deadline = Instant::now() + START_TIMEOUT;
        let options = self.connect_options();
        loop {
            match options.connect().await {
                Ok(mut conn) => {
                    sqlx::raw_sql(
                        "CREATE DATABASE IF NOT EXISTS driftless CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    )
                    .execute(&mut conn)
                    .await
                    .context(|| "cannot create the work database".into())?;
                    return Ok(conn);
                }
                Err(e) if Instant::now() < deadline => {
                    crate::debug!("mysql not ready yet: {e}");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err(e) => {
                    return Err(Error::infra(format!(
                        "the MySQL server in {} did not accept connections: {e}",
                        self.dir.path().display()
                    )));
                }
            }
        }
    }

    /// The URL a user can connect to while the server runs.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/{DATABASE}", self.port)
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
            "kept the MySQL server running: {url} (socket {})\n  stop it with: kill -KILL {pid} && rm -rf {}",
            dir.join("mysqld.sock").display(),
            dir.display()
        )
    }
}

/// Settings for throwaway servers: no durability, little memory, nothing in the background.
const SERVER_SETTINGS: &[&str] = &[
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--sync-binlog=0",
    "--max-connections=20",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--default-time-zone=+00:00",
];

/// A throwaway database on a server the user pointed at with `--url`.
#[derive(Debug)]
pub struct RemoteDatabase {
    admin_options: MySqlConnectOptions,
    pub name: String,
    dropped: bool,
}

impl RemoteDatabase {
    /// Creates `driftless_<random>` on the server of `url`.
    pub async fn create(url: &str) -> Result<(RemoteDatabase, MySqlConnectOptions)> {
        let admin_options = MySqlConnectOptions::from_str(url)
            .map_err(|e| Error::input(format!("invalid --url: {e}")))?;
        let shown = redact_url(url);
        let mut admin = admin_options
            .connect()
            .await
            .map_err(|e| Error::infra(format!("cannot connect to {shown}: {e}")))?;
        let name = format!("driftless_{:012x}", random() & 0xffff_ffff_ffff);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&mut admin)
        .await
        .map_err(|e| {
            Error::infra(format!(
                "cannot create a throwaway database on {shown}: {e} (the user needs CREATE and DROP)"
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

    pub async fn drop_database(mut self) -> Result<()> {
        self.dropped = true;
        drop_database(&self.admin_options, &self.name).await
    }

    pub fn keep(mut self) -> String {
        self.dropped = true;
        format!(
            "kept throwaway database {} on the --url server; drop it with: DROP DATABASE `{}`",
            self.name, self.name
        )
    }
}

async fn drop_database(admin_options: &MySqlConnectOptions, name: &str) -> Result<()> {
    let mut admin = admin_options
        .connect()
        .await
        .context(|| format!("cannot connect to drop database {name}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS `{name}`"
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

fn random() -> u64 {
    use fake::rand::Rng;
    fake::rand::rng().next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_shortened_like_the_contract_example() {
        assert_eq!(
            short_version("10.11.19-MariaDB-0+deb12u1"),
            "10.11.19-MariaDB"
        );
        assert_eq!(short_version("8.0.36"), "8.0.36");
        assert_eq!(short_version("8.0.36-0ubuntu0.22.04.1"), "8.0.36");
    }
}
