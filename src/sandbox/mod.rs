//! Disposable database servers: what every engine's sandbox shares.
//!
//! - [`SandboxDir`]: a temp dir (on tmpfs when there is room) removed on drop;
//! - [`ServerProcess`]: a server child process, stopped on drop, in its own process group,
//!   and told by the kernel to stop when driftless dies (`PR_SET_PDEATHSIG`);
//! - [`RunningServer`]: a server process in its sandbox dir on a free port, started again on
//!   another port when the first was taken; [`Instance`]: local server, throwaway database or
//!   the user's own database, and what teardown does with each;
//! - [`ThrowawayDatabase`]: `driftless_<random>` on a `--url` server, with a bounded connect;
//! - [`sweep_stale`]: removes what a killed driftless left behind (a SIGKILL cannot be caught);
//! - [`service_user`]: the unprivileged user to run servers as when driftless runs as root;
//! - [`find_program`]: the one `PATH` search; [`copy_tree`], [`cache_dir`], [`free_port`];
//! - [`command`]: every child process driftless starts, with an environment of its choosing
//!   (no `DRIFTLESS_*` secrets); [`password`]: a disposable server's own password.
//!
//! Engines build their sandboxes from these parts in their own folder (`engine/<name>/`).
//! The only `unsafe` code of driftless is in `sys.rs`.

mod child;
mod creator;
mod dirs;
mod process;
mod programs;
mod server;
mod sys;
mod throwaway;
mod user;
mod version;

pub use child::{command, password, save_url, write_secret};
pub use creator::{Creator, sweep_files};
pub use dirs::{
    SandboxDir, base_dir, cache_dir, cached_template, copy_tree, free_bytes, publish_dir,
    sweep_stale,
};
pub use process::{ServerProcess, SpawnOptions};
pub use programs::{find_in, find_program, search_dirs};
pub use server::{Disposable, Instance, Launch, RunningServer, StartFailure, connect_when_ready};
pub use throwaway::{CONNECT_TIMEOUT, ThrowawayDatabase, ThrowawayServer, sweep, within};
pub use user::{ServiceUser, running_as_root, service_user};
pub use version::WantedVersion;

use crate::{Error, Result};

/// A short stable name for a path, for cache keys (FNV-1a of its bytes, in hex).
pub fn path_key(path: &std::path::Path) -> String {
    let hash = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{hash:016x}")
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::infra(format!("cannot find a free port on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::infra(format!("cannot find a free port on 127.0.0.1: {e}")))?
        .port();
    Ok(port)
}

/// Runs a helper tool (pg_dump, mariadb-dump) to the end and returns its stdout. Cancellable:
/// when the future is dropped (Ctrl-C), the tool is killed and reaped.
pub async fn run_tool(command: std::process::Command, what: &str) -> Result<Vec<u8>> {
    run_tool_with_input(command, what, None).await
}

/// [`run_tool`] with `input` as the tool's stdin.
pub async fn run_tool_with_input(
    mut command: std::process::Command,
    what: &str,
    input: Option<std::fs::File>,
) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::process::Stdio;
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            if matches!(self.0.try_wait(), Ok(None)) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let stdin = match input {
        Some(file) => Stdio::from(file),
        None => Stdio::null(),
    };
    let child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| crate::Error::infra(format!("cannot run {what}: {e}")))?;
    let mut child = Reap(child);
    // Drain stdout on a thread so that a large output cannot fill the pipe and stall the tool.
    let mut stdout = child.0.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            Err(e) => return Err(crate::Error::infra(format!("{what} failed: {e}"))),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut stderr) = child.0.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        return Err(crate::Error::infra(format!(
            "{what} failed ({status}): {}",
            last_lines(err.trim(), 3)
        )));
    }
    Ok(out)
}

/// The last `n` non-blank lines of a server log, joined, for one-line error messages.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// `url` without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("mysql://h/db"), "mysql://h/db");
    }

    #[test]
    fn last_lines_skips_blank_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
    }
}
