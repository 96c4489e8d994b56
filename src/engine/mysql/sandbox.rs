//! Disposable MariaDB / MySQL servers and throwaway databases.
//!
//! Local strategy: find `mariadbd` (or MySQL's `mysqld`), make (once) a pristine data dir with
//! `mariadb-install-db` (MySQL 8: `mysqld --initialize-insecure`) in the cache, copy it into a
//! temp dir, start the server on a unix socket in that dir (plus a free 127.0.0.1 port when
//! something outside driftless needs it: `--keep`, tests' `--url` targets) with durability off
//! (no binary log, no doublewrite, no flush at commit), and poll with real connections until it
//! answers. Nothing of a throwaway server needs a clean shutdown, so it is stopped with SIGKILL
//! (milliseconds instead of InnoDB's second-long shutdown).
//!
//! Only the user who started driftless reaches the server: the socket lives in the sandbox dir
//! (`0700`); as root the server runs as the unprivileged user PostgreSQL's servers use, never
//! as OS root; `root` gets a password of this server's own from an `--init-file` the server
//! runs before it accepts connections, every other account of the template is dropped, and
//! `secure_file_priv` confines `INTO OUTFILE` / `LOAD DATA` to `files/` in the sandbox.
//!
//! URL strategy (`--url mysql://…`): `driftless_<random>` there, made and dropped by the shared
//! throwaway database (`sandbox::ThrowawayDatabase`) with the statements `THROWAWAY` of
//! `mod.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};

use crate::error::Context;
use crate::sandbox::{
    Disposable, Launch, RunningServer, ServiceUser, cached_template, connect_when_ready, copy_tree,
    find_in, last_lines, save_url, search_dirs, service_user, write_secret,
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
    let dirs = match explicit {
        Some(dir) => vec![dir.to_path_buf()],
        None => search_dirs(&["/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"]),
    };
    let server = find_in(&dirs, &["mariadbd", "mysqld"]).ok_or_else(|| match explicit {
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
    let (flavour, version) = server_version(&server)?;
    let install_db = match flavour {
        Flavour::MySql => None,
        Flavour::MariaDb => Some(install_db_near(&server)?),
    };
    Ok(MySqlBinaries {
        server,
        install_db,
        flavour,
        version,
    })
}

/// What `server --version` says it is.
fn server_version(server: &Path) -> Result<(Flavour, String)> {
    let out = crate::sandbox::command(server)
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
    Ok((flavour, version))
}

/// MariaDB's `mariadb-install-db`, next to the server or in /usr/bin.
fn install_db_near(server: &Path) -> Result<PathBuf> {
    let near = server.parent().map(Path::to_path_buf).unwrap_or_default();
    let dirs = [near.clone(), near.join("../bin"), PathBuf::from("/usr/bin")];
    find_in(&dirs, &["mariadb-install-db", "mysql_install_db"]).ok_or_else(|| {
        Error::infra(
            "found mariadbd but no mariadb-install-db to initialise a data dir; run `make setup`",
        )
    })
}

/// `10.11.19-MariaDB-0+deb12u1` → `10.11.19-MariaDB`; MySQL versions stay as they are.
pub fn short_version(full: &str) -> String {
    match full.find("-MariaDB") {
        Some(at) => full[..at + "-MariaDB".len()].to_string(),
        None => full.split('-').next().unwrap_or(full).to_string(),
    }
}

/// The user to run the server as when driftless runs as root: the one PostgreSQL's use.
pub fn server_user() -> Result<Option<ServiceUser>> {
    service_user(&["postgres"])
}

/// The cached pristine data dir for `bins`. Its accounts have no passwords: each server
/// replaces them before it accepts a connection ([`init_file`]).
fn template(bins: &MySqlBinaries, user: Option<&ServiceUser>) -> Result<PathBuf> {
    let key = format!(
        "mysql-{}-{}-r{TEMPLATE_REVISION}",
        bins.version,
        crate::sandbox::path_key(&bins.server)
    );
    cached_template(&key, user, |dir| {
        let data = dir.join("data");
        let started = Instant::now();
        let mut command = match (&bins.install_db, bins.flavour) {
            (Some(install), Flavour::MariaDb) => {
                let mut c = crate::sandbox::command(install);
                c.arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                    .args(INNODB_FILES);
                c
            }
            _ => {
                let mut c = crate::sandbox::command(&bins.server);
                c.arg("--no-defaults")
                    .arg("--initialize-insecure")
                    .arg(format!("--datadir={}", data.display()));
                c
            }
        };
        if let Some(user) = user {
            command.arg(format!("--user={}", user.name));
        }
        // Bootstrap temp files in a dir of this build, not the shared /tmp: concurrent first
        // runs (tests on a fresh cache) have failed there deleting each other's temp tables.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| Error::infra(format!("cannot create {}: {e}", tmp.display())))?;
        if let Some(user) = user {
            user.chown(&tmp)?;
        }
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

/// A running disposable server. Dropping it stops the server and removes its dir.
#[derive(Debug)]
pub struct LocalServer {
    server: RunningServer,
    pub port: u16,
    /// `root`'s password, this server's own.
    password: String,
    /// Whether it listens on 127.0.0.1 besides its socket.
    tcp: bool,
    /// The user the server runs as (driftless runs as root): pipes are handed to it.
    user: Option<ServiceUser>,
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
            use rustix::fs::OFlags;
            use rustix::io::Errno;
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            // Non-blocking open fails (ENXIO) until the server opens its end; poll, and give
            // up once the load is over without it.
            let mut file = loop {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(OFlags::NONBLOCK.bits() as i32)
                    .open(&path)
                {
                    Ok(file) => break file,
                    Err(e) if e.raw_os_error() == Some(Errno::NXIO.raw_os_error()) => {
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
            let flags = rustix::fs::fcntl_getfl(&file)
                .and_then(|flags| rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK));
            if let Err(e) = flags {
                return Err(Error::infra(format!(
                    "cannot set up {}: {e}",
                    path.display()
                )));
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
        let path = files_dir(self.dir())
            .join(format!("seed-{}.pipe", NEXT.fetch_add(1, Ordering::SeqCst)));
        let mode = rustix::fs::Mode::from_raw_mode(0o600);
        if let Err(e) = rustix::fs::mkfifoat(rustix::fs::CWD, &path, mode) {
            return Err(Error::infra(format!(
                "cannot create a pipe at {}: {e}",
                path.display()
            )));
        }
        if let Some(user) = &self.user {
            user.chown(&path)?;
        }
        Ok(Pipe {
            path,
            released: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Copies the template and starts a server on it, on its socket only unless `keep` (a
    /// kept server is for the user's own tools, which speak TCP).
    pub fn start(bins: &MySqlBinaries, keep: bool) -> Result<LocalServer> {
        LocalServer::start_with(bins, keep, false)
    }

    /// [`LocalServer::start`] listening on 127.0.0.1 too: a server that stands for one of the
    /// user's, reached by URL (tests, benchmarks).
    pub fn start_on_tcp(bins: &MySqlBinaries) -> Result<LocalServer> {
        LocalServer::launch(bins, false, false, true)
    }

    /// [`LocalServer::start`]; with `trace_locks`, performance_schema records metadata locks
    /// (`dry-run` watches them; it costs start time and memory, so only there).
    pub fn start_with(bins: &MySqlBinaries, keep: bool, trace_locks: bool) -> Result<LocalServer> {
        LocalServer::launch(bins, keep, trace_locks, keep)
    }

    fn launch(
        bins: &MySqlBinaries,
        keep: bool,
        trace_locks: bool,
        tcp: bool,
    ) -> Result<LocalServer> {
        let user = server_user()?;
        let template = template(bins, user.as_ref())?;
        let password = crate::sandbox::password();
        let launch = Launch {
            label: "mysql",
            user: user.as_ref(),
            keep,
            // Nothing of a throwaway server needs InnoDB's slow clean shutdown.
            stop_signal: Signal::KILL,
            log: "mysqld.log",
        };
        let prepare = |dir: &Path, port: u16| {
            copy_tree(&template, &dir.join("data"), user.as_ref())?;
            let files = files_dir(dir);
            std::fs::create_dir(&files).context(|| format!("cannot create {}", files.display()))?;
            let init = dir.join("init.sql");
            write_secret(&init, &init_file(&password, tcp))?;
            if let Some(user) = &user {
                user.chown(&files)?;
                user.chown(&init)?;
            }
            let options = ServerOptions {
                port,
                trace_locks,
                tcp,
            };
            Ok(server_command(bins, dir, &options))
        };
        let ready = |server: &mut RunningServer| {
            server.wait_until(
                |s| socket_path(s.dir()).exists(),
                &["Address already in use", "Do you already have"],
                START_TIMEOUT,
            )
        };
        let server = RunningServer::start(launch, prepare, ready)?;
        Ok(LocalServer {
            port: server.port,
            server,
            password,
            tcp,
            user,
        })
    }

    /// How mariadb-dump and the mariadb client reach the work database: over the socket,
    /// the password in their environment.
    pub fn tool_connection(&self) -> super::copy::ToolConnection {
        super::copy::ToolConnection {
            host: "localhost".into(),
            socket: Some(socket_path(self.dir())),
            port: self.port,
            user: "root".into(),
            password: Some(self.password.clone()),
            database: DATABASE.into(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.server.dir()
    }

    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Options for connecting over the socket, without a database.
    pub fn connect_options(&self) -> MySqlConnectOptions {
        MySqlConnectOptions::new()
            .socket(socket_path(self.dir()))
            .username("root")
            .password(&self.password)
    }

    /// Connects (retrying while the server finishes starting) and creates the work database.
    pub async fn connect(&self) -> Result<MySqlConnection> {
        let options = self.connect_options();
        let failed = |e| {
            let dir = self.dir().display();
            Error::infra(format!(
                "the MySQL server in {dir} did not accept connections: {e}"
            ))
        };
        let mut conn = connect_when_ready(START_TIMEOUT, || options.connect(), failed).await?;
        // The server accepts connections only once it has run its init file; the password in
        // it need not outlive that.
        let _ = std::fs::remove_file(self.dir().join("init.sql"));
        sqlx::raw_sql(
            "CREATE DATABASE IF NOT EXISTS driftless CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )
        .execute(&mut conn)
        .await
        .context(|| "cannot create the work database".into())?;
        Ok(conn)
    }

    /// The URL a user can connect to while the server runs, password included: 127.0.0.1
    /// when it listens there, else its socket.
    pub fn url(&self) -> String {
        let password = &self.password;
        if self.tcp {
            format!("mysql://root:{password}@127.0.0.1:{}/{DATABASE}", self.port)
        } else {
            let socket = socket_path(self.dir());
            let socket = percent_encoding::utf8_percent_encode(
                &socket.to_string_lossy(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            format!("mysql://root:{password}@localhost/{DATABASE}?socket={socket}")
        }
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
            "kept the MySQL server running: {url} (socket {})\n  {}\n  stop it with: kill -KILL {pid} && rm -rf {}",
            socket_path(&dir).display(),
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

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("mysqld.sock")
}

/// Where the server may read and write files (`secure_file_priv`): the seed pipes.
fn files_dir(dir: &Path) -> PathBuf {
    dir.join("files")
}

/// What the server runs before it accepts a connection: `root` gets `password` (on the socket,
/// and on 127.0.0.1 when it listens there) and every other account of the template goes
/// (anonymous users, `root` on other hosts, unix-socket logins). One statement a line, as
/// `--init-file` wants.
fn init_file(password: &str, tcp: bool) -> String {
    let mut sql = vec![
        "DELETE FROM mysql.global_priv WHERE NOT (User = 'mariadb.sys' OR (User = 'root' AND Host = 'localhost'))".to_string(),
        "DELETE FROM mysql.proxies_priv".to_string(),
        "FLUSH PRIVILEGES".to_string(),
        format!("ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('{password}')"),
    ];
    if tcp {
        sql.push(format!(
            "CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '{password}'"
        ));
        sql.push("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION".into());
    }
    sql.iter().map(|s| format!("{s};\n")).collect()
}

/// How one server is to run, besides its binaries and dir.
struct ServerOptions {
    port: u16,
    trace_locks: bool,
    tcp: bool,
}

/// The server's command line for the data dir in `dir`.
fn server_command(bins: &MySqlBinaries, dir: &Path, options: &ServerOptions) -> Command {
    let mut command = crate::sandbox::command(&bins.server);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", socket_path(dir).display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--init-file={}", dir.join("init.sql").display()))
        .arg(format!("--secure-file-priv={}", files_dir(dir).display()))
        // Internal temp tables stay inside the sandbox (not in a shared /tmp).
        .arg(format!("--tmpdir={}", dir.display()))
        .arg(format!("--port={}", options.port))
        .args(SERVER_SETTINGS)
        .args(if options.trace_locks {
            &[
                "--performance-schema=ON",
                "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON",
            ][..]
        } else {
            &["--skip-performance-schema"][..]
        })
        .args(INNODB_FILES);
    if !options.tcp {
        command.arg("--skip-networking");
    }
    if bins.flavour == Flavour::MySql {
        command.args(["--disable-log-bin", "--mysqlx=OFF"]);
    } else {
        command.arg("--skip-log-bin");
    }
    command
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
