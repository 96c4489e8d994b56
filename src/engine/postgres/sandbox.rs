//! Disposable PostgreSQL servers and throwaway databases.
//!
//! Local strategy: find the server binaries, make (once) a pristine data dir with `initdb`
//! in the cache, copy it into a temp dir, start `postgres` on a unix socket in that dir (plus
//! 127.0.0.1 on a free port when something outside driftless needs it: `--keep`, tests' `--url`
//! targets) with durability off, and poll with real connections until it answers. As root,
//! the data dir is handed to the `postgres` user (initdb refuses root).
//!
//! Only the user who started driftless reaches the server: the socket lives in the sandbox dir
//! (`0700`, the server user's), every login needs a password (scram-sha-256, never `trust`),
//! and each server gets its own: the template's password (a private file in the cache) is
//! replaced over the socket before anything else connects.
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

use crate::error::Context;
use crate::sandbox::{
    Disposable, Launch, RunningServer, ServiceUser, cached_template, connect_when_ready, copy_tree,
    last_lines, save_url, search_dirs, service_user, write_secret,
};
use crate::{Error, Result};

/// Bumped when the template's initdb options change, so old caches are not reused.
/// 2: scram-sha-256 with a password instead of `trust`.
const TEMPLATE_REVISION: u32 = 2;
/// The template superuser's password, beside the cluster's files in the template (`0600`).
const TEMPLATE_PASSWORD: &str = "driftless_template_password";
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
    if let Ok(out) = crate::sandbox::command("pg_config")
        .arg("--bindir")
        .output()
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
    let out = crate::sandbox::command(&postgres)
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
        let password = crate::sandbox::password();
        let pwfile = dir.join("pwfile");
        write_secret(&pwfile, &password)?;
        if let Some(user) = user {
            user.chown(&pwfile)?;
        }
        let mut initdb = crate::sandbox::command(bins.tool("initdb"));
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
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
        write_secret(&dir.join("data").join(TEMPLATE_PASSWORD), &password)
    })
}

/// A running disposable server. Dropping it stops the server and removes its dir.
#[derive(Debug)]
pub struct LocalServer {
    server: RunningServer,
    pub port: u16,
    /// The superuser's password, this server's own.
    password: String,
    /// Whether it listens on 127.0.0.1 besides its socket.
    tcp: bool,
}

impl LocalServer {
    /// Copies the template and starts a server on it, on its socket only unless `keep` (a
    /// kept server is for the user's own tools, which speak TCP).
    pub fn start(bins: &PgBinaries, keep: bool) -> Result<LocalServer> {
        LocalServer::start_with(bins, keep, keep)
    }

    /// [`LocalServer::start`] listening on 127.0.0.1 too: a server that stands for one of the
    /// user's, reached by URL (tests, benchmarks).
    pub fn start_on_tcp(bins: &PgBinaries) -> Result<LocalServer> {
        LocalServer::start_with(bins, false, true)
    }

    fn start_with(bins: &PgBinaries, keep: bool, tcp: bool) -> Result<LocalServer> {
        let user = server_user()?;
        let template = template(bins, user.as_ref())?;
        let template_password =
            std::fs::read_to_string(template.join(TEMPLATE_PASSWORD)).context(|| {
                format!(
                    "cannot read the template password in {}",
                    template.display()
                )
            })?;
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
            // Stale once the password is replaced; no reason to leave it lying there.
            let _ = std::fs::remove_file(data.join(TEMPLATE_PASSWORD));
            let listen = format!("listen_addresses={}", if tcp { "127.0.0.1" } else { "" });
            let mut command = crate::sandbox::command(bins.tool("postgres"));
            command
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(dir)
                .args(["-p", &port.to_string(), "-F", "-c", &listen])
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
        let mut local = LocalServer {
            port: server.port,
            server,
            password: template_password,
            tcp,
        };
        local.password = local.replace_password()?;
        Ok(local)
    }

    /// Gives the superuser a password of this server's own, over the socket (which only the
    /// server's user and root can reach), and returns it. `start` is called from async code
    /// and from plain threads, so the one statement runs on a runtime of its own thread.
    fn replace_password(&self) -> Result<String> {
        let password = crate::sandbox::password();
        let statement = format!("ALTER ROLE {SUPERUSER} PASSWORD '{password}'");
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| Error::infra(format!("cannot start a runtime: {e}")))?;
                    runtime.block_on(async {
                        let mut conn = self.connect().await?;
                        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                            .execute(&mut conn)
                            .await
                            .context(|| "cannot set the server's password".into())?;
                        Ok::<_, Error>(())
                    })
                })
                .join()
                .map_err(|_| Error::infra("setting the server's password panicked"))?
        })?;
        Ok(password)
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
            .password(&self.password)
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

    /// The URL a user (or a tool) connects with while the server runs, password included:
    /// 127.0.0.1 when it listens there, else its socket (the host, percent-encoded).
    pub fn url(&self) -> String {
        let host = if self.tcp {
            "127.0.0.1".to_string()
        } else {
            self.socket_host()
        };
        let password = &self.password;
        format!(
            "postgres://{SUPERUSER}:{password}@{host}:{}/{DATABASE}",
            self.port
        )
    }

    /// The socket dir as a URL host: libpq and sqlx read a host starting with `/` as one.
    fn socket_host(&self) -> String {
        let dir = self.dir().to_string_lossy();
        percent_encoding::utf8_percent_encode(&dir, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    /// The URL over the socket, for driftless's own tools (pg_dump, psql).
    pub fn socket_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@{}:{}/{DATABASE}",
            self.password,
            self.socket_host(),
            self.port
        )
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
            "kept postgres running: {url} (socket dir {})\n  {}\n  stop it with: kill -QUIT {pid} && rm -rf {}",
            dir.display(),
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

/// `tool` (pg_dump, pg_restore, psql) connecting to `url`: the URL on the command line without
/// its password, which goes in `PGPASSWORD` (a command line is world-readable in `/proc`).
pub fn tool_command(tool: &Path, url: &str) -> Result<Command> {
    let mut parsed = url::Url::parse(url)
        .map_err(|e| Error::input(format!("invalid URL for {}: {e}", tool.display())))?;
    let mut password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = parsed.set_password(None);
    // libpq also takes `?password=`: that one moves too.
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.iter().any(|(k, _)| k == "password") {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &pairs {
            if key == "password" {
                password = Some(value.clone());
            } else {
                query.append_pair(key, value);
            }
        }
        let query = query.finish();
        parsed.set_query((!query.is_empty()).then_some(query.as_str()));
    }
    let mut command = crate::sandbox::command(tool);
    command.arg(format!("--dbname={parsed}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

fn socket_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

/// Settings for throwaway servers: no durability, little memory, nothing in the background.
const SERVER_SETTINGS: &[&str] = &[
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "autovacuum=off",
    "max_connections=20",
    "shared_buffers=32MB",
    // The dir around it is 0700 already; the socket says the same.
    "unix_socket_permissions=0700",
    "logging_collector=off",
    "log_min_messages=warning",
    "TimeZone=UTC",
    // Dynamic shared memory in the data dir rather than /dev/shm, so that it goes with the
    // dir even if the server dies without cleaning up.
    "dynamic_shared_memory_type=mmap",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(command: &Command) -> (Vec<String>, Option<String>) {
        let args = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let password = command
            .get_envs()
            .find(|(k, _)| *k == "PGPASSWORD")
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()));
        (args, password)
    }

    #[test]
    fn tool_passwords_go_in_the_environment() {
        let command = tool_command(Path::new("pg_dump"), "postgres://u:p%40ss@h:5/db").unwrap();
        let (args, password) = parts(&command);
        assert_eq!(args, ["--dbname=postgres://u@h:5/db"]);
        assert_eq!(password.as_deref(), Some("p@ss"));
        let command = tool_command(
            Path::new("psql"),
            "postgres://u@h/db?sslmode=off&password=s3",
        )
        .unwrap();
        let (args, password) = parts(&command);
        assert_eq!(args, ["--dbname=postgres://u@h/db?sslmode=off"]);
        assert_eq!(password.as_deref(), Some("s3"));
    }
}
