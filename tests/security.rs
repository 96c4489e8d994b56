//! Who can reach what driftless starts: another OS user (`nobody`) reaches none of the three
//! sandboxes, neither over TCP nor over the socket; and no child process of a `mask` run holds
//! the masking key in its environment or a password on its command line.
//!
//! The tests run as root (they need `runuser` to act as another user).

mod util;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const NOBODY: &str = "nobody";

/// Runs a client (`program`, `args`, extra environment) as some user: [`as_nobody`], [`as_root`].
type RunAs = fn(&str, &[&str], &[(&str, &str)]) -> Output;

/// `program args…` run as `nobody`, with `env` added to the environment.
fn as_nobody(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("runuser");
    command.args(["-u", NOBODY, "--", program]).args(args);
    command.env_remove("PGPASSWORD").env_remove("MYSQL_PWD");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("runuser runs")
}

fn as_root(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the client runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_refused(output: &Output, what: &str) {
    assert!(!output.status.success(), "{what} got in: {}", text(output));
}

fn assert_allowed(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed: {}", text(output));
}

/// The password in `scheme://user:password@…`.
fn password_in(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.rsplit_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// The real uid of a process.
fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn another_user_cannot_reach_a_postgres_sandbox() {
    let bins = driftless::engine::postgres::find_binaries(None).unwrap();
    let server = driftless::engine::postgres::LocalServer::start_on_tcp(&bins).unwrap();
    let dir = server.dir().to_str().unwrap().to_string();
    let port = server.port.to_string();
    let password = password_in(&server.url());
    let psql = bins.tool("psql");
    let psql = psql.to_str().unwrap();
    let args = |host: &str| {
        let args = [
            "-w", "-X", "-h", host, "-p", &port, "-U", "postgres", "-d", "postgres",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend(["-c".into(), "SELECT 1".into()]);
        args
    };
    let run = |who: RunAs, host: &str, pw: &str| {
        let args = args(host);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = if pw.is_empty() {
            vec![]
        } else {
            vec![("PGPASSWORD", pw)]
        };
        who(psql, &args, &env)
    };
    assert_eq!(mode_of(server.dir()), 0o700);
    assert_ne!(
        uid_of(server.pid().unwrap()),
        0,
        "the server does not run as root"
    );
    // The socket: not even with the password, since nobody cannot enter the dir.
    assert_refused(&run(as_nobody, &dir, &password), "nobody over the socket");
    assert_refused(
        &run(as_root, &dir, ""),
        "root over the socket without a password",
    );
    assert_allowed(&run(as_root, &dir, &password), "root over the socket");
    // TCP: a password is asked, and only the server's own opens it.
    assert_refused(
        &run(as_nobody, "127.0.0.1", ""),
        "nobody over TCP without a password",
    );
    assert_refused(
        &run(as_nobody, "127.0.0.1", "postgres"),
        "nobody with a guessed password",
    );
    assert_allowed(
        &run(as_nobody, "127.0.0.1", &password),
        "nobody with the password",
    );
    server.stop();
}

#[test]
fn a_postgres_sandbox_without_keep_listens_on_no_tcp_port() {
    let bins = driftless::engine::postgres::find_binaries(None).unwrap();
    let server = driftless::engine::postgres::LocalServer::start(&bins, false).unwrap();
    assert!(tcp_listeners(server.pid().unwrap()).is_empty());
    assert!(
        server.url().contains("%2F"),
        "a socket URL: {}",
        server.url()
    );
    server.stop();
}

#[test]
fn another_user_cannot_reach_a_mariadb_sandbox() {
    let bins = driftless::engine::mysql::find_binaries(None).unwrap();
    let server = driftless::engine::mysql::LocalServer::start_on_tcp(&bins).unwrap();
    drop(
        util::runtime()
            .block_on(server.connect())
            .expect("server answers"),
    );
    let socket = server.dir().join("mysqld.sock");
    let socket = socket.to_str().unwrap();
    let port = server.port.to_string();
    let password = password_in(&server.url());
    let run = |who: RunAs, via: &[&str], user: &str, pw: &str| {
        let mut args = vec!["--no-defaults"];
        args.extend(via);
        args.extend(["-u", user, "-e", "SELECT 1"]);
        let env: Vec<(&str, &str)> = if pw.is_empty() {
            vec![]
        } else {
            vec![("MYSQL_PWD", pw)]
        };
        who("mariadb", &args, &env)
    };
    let socket_arg = format!("--socket={socket}");
    let via_socket = ["--protocol=SOCKET", socket_arg.as_str()];
    let via_tcp = ["--protocol=TCP", "-h", "127.0.0.1", "-P", port.as_str()];
    assert_eq!(mode_of(server.dir()), 0o700);
    assert_ne!(
        uid_of(server.pid().unwrap()),
        0,
        "mariadbd does not run as root"
    );
    assert_refused(
        &run(as_nobody, &via_socket, "root", &password),
        "nobody over the socket",
    );
    assert_refused(
        &run(as_root, &via_socket, "root", ""),
        "root without a password",
    );
    assert_refused(&run(as_root, &via_socket, "", ""), "an anonymous user");
    assert_allowed(
        &run(as_root, &via_socket, "root", &password),
        "root over the socket",
    );
    assert_refused(
        &run(as_nobody, &via_tcp, "root", ""),
        "nobody over TCP without a password",
    );
    assert_refused(
        &run(as_nobody, &via_tcp, NOBODY, ""),
        "nobody as an anonymous user",
    );
    assert_allowed(
        &run(as_nobody, &via_tcp, "root", &password),
        "nobody with the password",
    );
    // Files the server writes stay in the sandbox.
    let escape = {
        let mut args = vec!["--no-defaults"];
        args.extend(via_socket);
        args.extend([
            "-u",
            "root",
            "-e",
            "SELECT 1 INTO OUTFILE '/tmp/driftless-outfile-escape'",
        ]);
        as_root("mariadb", &args, &[("MYSQL_PWD", &password)])
    };
    assert_refused(&escape, "INTO OUTFILE outside the sandbox");
    assert!(
        text(&escape).contains("secure-file-priv"),
        "{}",
        text(&escape)
    );
    assert!(!Path::new("/tmp/driftless-outfile-escape").exists());
    server.stop();
}

#[test]
fn another_user_cannot_reach_a_ferretdb_sandbox() {
    let binary = driftless::engine::mongo::find_binary(None).unwrap();
    if binary.flavour != driftless::engine::mongo::Flavour::FerretDb {
        return; // mongod listens on TCP without authentication (README says so)
    }
    let server = driftless::engine::mongo::LocalServer::start(&binary, false).unwrap();
    let pid = server.pid().unwrap();
    assert_eq!(mode_of(server.dir()), 0o700);
    // No TCP listener at all: neither the wire protocol nor the debug HTTP handlers.
    assert_eq!(tcp_listeners(pid), Vec::<u16>::new());
    let socket = server.dir().join("mongo.sock");
    let connect = format!("UNIX-CONNECT:{}", socket.display());
    let args = ["-u", "OPEN:/dev/null", connect.as_str()];
    assert_refused(&as_nobody("socat", &args, &[]), "nobody over the socket");
    assert_allowed(&as_root("socat", &args, &[]), "root over the socket");
    server.stop();
}

/// TCP ports process `pid` listens on (from its socket inodes and /proc/net/tcp{,6}).
fn tcp_listeners(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // st 0A is LISTEN; column 9 the inode.
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                let port = cols[1].rsplit_once(':').unwrap().1;
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

/// Everything the descendants of `child` showed in `/proc` while it ran: (pid, cmdline) →
/// environ, NULs as spaces / newlines. A fork that has not exec'd yet is still driftless
/// (its command line and environment): skipped, and looked at again once it has.
fn watch_descendants(child: &mut std::process::Child) -> BTreeMap<(u32, String), String> {
    let root = child.id();
    let own = env!("CARGO_BIN_EXE_driftless");
    let mut seen = BTreeMap::new();
    while child.try_wait().unwrap().is_none() {
        let mut parents: BTreeMap<u32, u32> = BTreeMap::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
            let Some(ppid) = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok())
            else {
                continue;
            };
            parents.insert(pid, ppid);
        }
        for &pid in parents.keys() {
            let mut at = pid;
            let descends = loop {
                match parents.get(&at) {
                    Some(&p) if p == root => break true,
                    Some(&p) if p > 1 => at = p,
                    _ => break false,
                }
            };
            if descends && pid != root {
                let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).ok();
                if let (Some(cmd), Some(env)) = (read("cmdline"), read("environ"))
                    && !cmd.is_empty()
                {
                    let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                    let env = String::from_utf8_lossy(&env).replace('\0', "\n");
                    if !cmd.starts_with(own) {
                        seen.entry((pid, cmd)).or_insert(env);
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    seen
}

#[test]
fn no_child_of_a_mask_run_holds_the_key_or_a_password() {
    let pg = util::pg::Pg::start();
    pg.exec("postgres", "CREATE DATABASE source");
    let fixture =
        std::fs::read_to_string(util::repo().join("tests/fixtures/postgres/mask_source.sql"))
            .unwrap();
    pg.exec("source", &fixture);
    scan_a_mask_run(
        &pg.url("source"),
        "tests/fixtures/postgres/masking.toml",
        ("postgres -D", "pg_dump", "PGPASSWORD"),
    );
}

/// The same on MariaDB: the server, `mariadb-dump` and the `mariadb` client.
#[test]
fn no_child_of_a_mariadb_mask_run_holds_the_key_or_a_password() {
    let my = util::my::My::start();
    my.exec("", "CREATE DATABASE source");
    let fixture =
        std::fs::read_to_string(util::repo().join("tests/fixtures/mysql/mask_source.sql")).unwrap();
    my.exec("source", &fixture);
    scan_a_mask_run(
        &my.url("source"),
        "tests/fixtures/mysql/masking.toml",
        ("mariadbd", "mariadb-dump", "MYSQL_PWD"),
    );
}

/// Runs `mask --from source --out dump` with the key and another `DRIFTLESS_*` variable set,
/// watching every descendant's environment and command line: none holds the key or any
/// `DRIFTLESS_*` variable, no command line holds a password, and only the dump tool gets one
/// (`server` and `dump` name the programs that must have been seen, `password_var` the
/// variable only the dump tool may have).
fn scan_a_mask_run(
    source: &str,
    rules: &str,
    (server, dump_tool, password_var): (&str, &str, &str),
) {
    const KEY: &str = "secret-masking-key-do-not-leak-0123456789";
    let source_password = password_in(source);
    let tmp = util::sandbox_dir();
    let out = tempfile::tempdir().unwrap();
    let dump = out.path().join("masked.dump");
    let mut child = util::command(tmp.path())
        .args(["mask", "--from", source, "--rules", rules])
        .arg("--out")
        .arg(&dump)
        .env("DRIFTLESS_MASK_KEY", KEY)
        .env("DRIFTLESS_SOMETHING_ELSE", "also-not-for-children")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = watch_descendants(&mut child);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dump.is_file());
    let programs: Vec<&str> = seen.keys().map(|(_, cmd)| cmd.as_str()).collect();
    assert!(
        programs.iter().any(|c| c.contains(server)),
        "the server was seen: {programs:#?}"
    );
    assert!(
        programs.iter().any(|c| c.contains(dump_tool)),
        "{dump_tool} was seen: {programs:#?}"
    );
    for ((pid, cmd), env) in &seen {
        assert!(
            !env.contains(KEY) && !env.contains("DRIFTLESS_"),
            "{pid} {cmd}: {env}"
        );
        assert!(
            !cmd.contains(&source_password),
            "a password on the command line: {cmd}"
        );
        for word in cmd.split_whitespace().filter(|w| w.contains("://")) {
            let userinfo = word.split_once("://").unwrap().1.split('/').next().unwrap();
            let user = userinfo.rsplit_once('@').map_or("", |(u, _)| u);
            assert!(
                !user.contains(':'),
                "a password in a URL on the command line: {cmd}"
            );
        }
        if !cmd.contains(dump_tool) {
            assert!(
                !env.contains(password_var),
                "only {dump_tool} gets a password: {cmd}: {env}"
            );
        }
    }
    util::assert_no_leftovers(tmp.path());
}

/// `--migration-role`: migrations run as a role that owns the database but is no superuser, so
/// what reaches the host from a superuser session (`COPY … TO PROGRAM`, `INTO OUTFILE`) is
/// refused as the migration's error, while ordinary DDL works and the role owns what it made.
#[test]
fn a_migration_role_cannot_reach_the_host() {
    let marker = tempfile::tempdir().unwrap();
    for (engine, escape) in [
        (
            "postgres",
            format!(
                "COPY (SELECT 1) TO PROGRAM 'touch {}';",
                marker.path().join("postgres").display()
            ),
        ),
        (
            "mysql",
            format!(
                "SELECT 1 INTO OUTFILE '{}';",
                marker.path().join("mysql").display()
            ),
        ),
    ] {
        let outfile = marker.path().join(engine);
        let dir = util::migration_dir(&[
            (
                "20240101000001_t.up.sql",
                format!("CREATE TABLE t (id int PRIMARY KEY);\n{escape}\n").as_bytes(),
            ),
            ("20240101000001_t.down.sql", b"DROP TABLE t;\n"),
            (
                "20240101000002_u.up.sql",
                b"CREATE TABLE u (id int PRIMARY KEY);\n",
            ),
            ("20240101000002_u.down.sql", b"DROP TABLE u;\n"),
        ]);
        let run = util::check_json(&[
            "--engine",
            engine,
            "--migrations",
            dir.path().to_str().unwrap(),
            "--migration-role",
            "app",
        ]);
        assert_eq!(run.code, 1, "{engine}: {}", run.stderr);
        let report = run.json();
        let errors = util::findings(&report, "migration_error");
        assert_eq!(errors.len(), 1, "{engine}: {report:#}");
        // Refused for want of a privilege (not by the file system).
        let message = errors[0]["message"].as_str().unwrap_or_default();
        let privilege = if engine == "postgres" {
            "superuser"
        } else {
            "FILE"
        };
        assert!(message.contains(privilege), "{engine}: {message}");
        assert!(
            !outfile.exists(),
            "{engine}: the migration reached the host"
        );
        if engine == "postgres" {
            // The control: as the superuser the same migration runs a program on the host
            // (MariaDB's secure_file_priv already confines INTO OUTFILE to the sandbox).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(marker.path(), std::fs::Permissions::from_mode(0o777))
                .unwrap();
            let plain = util::check_json(&["--migrations", dir.path().to_str().unwrap()]);
            let report = plain.json();
            assert!(
                util::findings(&report, "migration_error").is_empty(),
                "{engine}: {report:#}"
            );
            assert!(outfile.exists(), "the superuser's COPY TO PROGRAM ran");
        }
    }
}
