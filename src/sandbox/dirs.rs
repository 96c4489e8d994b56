//! Temp dirs, the cache dir, and cleaning up after a driftless that was killed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::process::{Pid, Signal};

use super::ServiceUser;
use super::creator::Creator;
use crate::error::Context;
use crate::{Error, Result};

/// Prefix of every temp dir driftless creates; followed by its creator's tag (host, process id
/// and start time: [`Creator::tag`]).
const PREFIX: &str = "driftless-";
/// A file in a sandbox dir that `--keep` left running on purpose: never swept.
const KEPT_MARKER: &str = "KEPT_BY_DRIFTLESS";

/// The longest unix socket path Linux takes (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// tmpfs is used for sandboxes only with at least this much room (Docker's default
/// `/dev/shm` of 64 MB would fill up with one PostgreSQL data dir).
const MIN_TMPFS_FREE: u64 = 1 << 30;

/// Where sandboxes live: `$DRIFTLESS_TMPDIR`, else `/dev/shm` when it has room, else the
/// system temp dir. tmpfs makes copying a template data dir about 10x faster than ext4.
pub fn base_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRIFTLESS_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if free_bytes(shm).is_some_and(|free| free >= MIN_TMPFS_FREE) && writable(shm) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// Where templates and other reusable artefacts are kept between runs:
/// `$DRIFTLESS_CACHE_DIR`, else `$XDG_CACHE_HOME/driftless`, else `~/.cache/driftless`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRIFTLESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("driftless");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("driftless");
    }
    std::env::temp_dir().join("driftless-cache")
}

/// Bytes an unprivileged writer may still use on the file system of `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail * stat.f_frsize)
}

fn writable(path: &Path) -> bool {
    use rustix::fs::Access;
    rustix::fs::access(path, Access::WRITE_OK | Access::EXEC_OK).is_ok()
}

/// A temp dir that is removed when dropped, unless [`SandboxDir::keep`] was called.
#[derive(Debug)]
pub struct SandboxDir {
    path: PathBuf,
    keep: bool,
}

impl SandboxDir {
    /// Creates `driftless-<creator>-<label>-<random>` in [`base_dir`], first removing what killed
    /// driftless processes left there. When `owner` is given the dir is handed to that user.
    /// Only its owner (and root) may enter it: servers put their sockets here, and nobody else
    /// is to reach them.
    pub fn create(label: &str, owner: Option<&ServiceUser>) -> Result<SandboxDir> {
        SandboxDir::create_in(&base_dir(), label, owner)
    }

    fn create_in(base: &Path, label: &str, owner: Option<&ServiceUser>) -> Result<SandboxDir> {
        let base = base.to_path_buf();
        std::fs::create_dir_all(&base)
            .context(|| format!("cannot create temp dir base {}", base.display()))?;
        sweep_stale(&base);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-{label}-", Creator::me().tag()))
            .tempdir_in(&base)
            .context(|| format!("cannot create a temp dir in {}", base.display()))?;
        let path = dir.keep();
        let sandbox = SandboxDir { path, keep: false };
        // A server's socket goes in the dir, and a unix socket path holds at most 107 bytes:
        // said here, not as a server that will not start.
        let longest = sandbox.path.join(".s.PGSQL.65535.lock");
        if longest.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::input(format!(
                "the temp dir {} is too deep for a server's unix socket (a socket path holds at \
                 most {MAX_SOCKET_PATH} bytes); set DRIFTLESS_TMPDIR to a shorter directory",
                base.display()
            )));
        }
        std::fs::set_permissions(&sandbox.path, std::fs::Permissions::from_mode(0o700))
            .context(|| format!("cannot set permissions on {}", sandbox.path.display()))?;
        if let Some(user) = owner {
            user.chown(&sandbox.path)?;
        }
        Ok(sandbox)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the dir in place when dropped (`--keep`), and marks it so that later runs do
    /// not sweep it although its creator has exited.
    pub fn keep(&mut self) {
        self.keep = true;
        let _ = std::fs::write(
            self.path.join(KEPT_MARKER),
            "kept by driftless --keep; remove this directory when done\n",
        );
    }
}

impl Drop for SandboxDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes `driftless-<creator>-*` entries of `base` whose creator is gone, after killing any
/// process still running from them (a server whose parent died by SIGKILL before the kernel's
/// parent-death signal was armed). Returns what it removed; errors are ignored: this is
/// best-effort hygiene.
pub fn sweep_stale(base: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(base) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !creator_gone(name) || entry.path().join(KEPT_MARKER).exists() {
            continue;
        }
        let path = entry.path();
        kill_processes_using(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Whether the driftless that made the dir `name` is known to have ended: no process with its
/// id and start time on this host (an id alone may belong to a later process by now, even to
/// this one). Dirs named by older versions (`driftless-<pid>-…`) go by the id alone.
fn creator_gone(name: &str) -> bool {
    if let Some(creator) = Creator::in_name(name, PREFIX) {
        return creator.is_gone() == Some(true);
    }
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid != std::process::id() && !process_alive(pid))
}

fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    // Signal 0 only checks: a process of another user answers EPERM, and is alive.
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Stops every process whose command line mentions `dir`: SIGQUIT first (a database server
/// then releases its shared memory), SIGKILL for what is left after a grace period.
fn kill_processes_using(dir: &Path) {
    let signal_all = |signal: Signal| {
        let pids = processes_using(dir);
        for pid in &pids {
            let _ = rustix::process::kill_process(*pid, signal);
        }
        !pids.is_empty()
    };
    if !signal_all(Signal::QUIT) {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < deadline && !processes_using(dir).is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    signal_all(Signal::KILL);
}

fn processes_using(dir: &Path) -> Vec<Pid> {
    let Some(needle) = dir.to_str() else {
        return Vec::new();
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid = Pid::from_raw(p.file_name().to_str()?.parse::<i32>().ok()?)?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(needle)
                .then_some(pid)
        })
        .collect()
}

/// Copies `from` into the new dir `to` with permissions, handing every entry to `owner`.
pub fn copy_tree(from: &Path, to: &Path, owner: Option<&ServiceUser>) -> Result<()> {
    let meta =
        std::fs::symlink_metadata(from).context(|| format!("cannot read {}", from.display()))?;
    std::fs::create_dir(to).context(|| format!("cannot create {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .context(|| format!("cannot set permissions on {}", to.display()))?;
    if let Some(user) = owner {
        user.chown(to)?;
    }
    let entries = std::fs::read_dir(from).context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot read {}", from.display()))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .context(|| format!("cannot read {}", source.display()))?;
        if kind.is_dir() {
            copy_tree(&source, &target, owner)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&source)
                .context(|| format!("cannot read link {}", source.display()))?;
            std::os::unix::fs::symlink(link, &target)
                .context(|| format!("cannot create link {}", target.display()))?;
        } else {
            std::fs::copy(&source, &target)
                .context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
            if let Some(user) = owner {
                user.chown(&target)?;
            }
        }
    }
    Ok(())
}

/// The cached directory `cache_dir()/key`, built once: `build(dir)` fills `dir/data` inside a
/// fresh sandbox dir that `user` can write to (servers refuse to initialise as root); the
/// result is copied into the cache, which may sit where `user` cannot reach (root's home), and
/// published atomically so concurrent runs never see half a template.
pub fn cached_template(
    key: &str,
    user: Option<&ServiceUser>,
    build: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let cache = cache_dir();
    let target = cache.join(key);
    if target.is_dir() {
        return Ok(target);
    }
    std::fs::create_dir_all(&cache)
        .context(|| format!("cannot create cache dir {}", cache.display()))?;
    sweep_stale(&cache);
    let work = SandboxDir::create("template", user)?;
    build(work.path())?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-template-", Creator::me().tag()))
        .tempdir_in(&cache)
        .context(|| format!("cannot create a temp dir in {}", cache.display()))?;
    let built = staging.path().join("data");
    copy_tree(&work.path().join("data"), &built, None)?;
    publish_dir(&built, &target)?;
    Ok(target)
}

/// Atomically publishes a fully built directory `built` as `target`; when another process
/// won the race, `built` is removed and theirs is used.
pub fn publish_dir(built: &Path, target: &Path) -> Result<()> {
    match std::fs::rename(built, target) {
        Ok(()) => Ok(()),
        Err(_) if target.is_dir() => {
            let _ = std::fs::remove_dir_all(built);
            Ok(())
        }
        Err(e) => Err(Error::Io {
            context: format!("cannot move {} to {}", built.display(), target.display()),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_dirs_of_dead_processes_only() {
        let base = tempfile::tempdir().unwrap();
        // A pid that cannot exist (above the kernel's pid_max ceiling).
        let dead = base.path().join("driftless-4194305-postgres-x");
        let mine = base
            .path()
            .join(format!("driftless-{}-postgres-y", std::process::id()));
        let other = base.path().join("unrelated");
        let kept = base.path().join("driftless-4194306-postgres-z");
        // Named with a creator: this process; this process's id with another start time (a
        // run killed long ago whose id came round again); another host's.
        let me = Creator::me().tag();
        let current = base.path().join(format!("driftless-{me}-mariadb-a"));
        let (host, rest) = me.split_once('_').unwrap();
        let (pid, started) = rest.split_once('_').unwrap();
        let earlier: u64 = started.parse::<u64>().unwrap().saturating_sub(1);
        let reused = base
            .path()
            .join(format!("driftless-{host}_{pid}_{earlier}-mariadb-b"));
        let elsewhere = base.path().join(format!(
            "driftless-{:08x}_{pid}_{earlier}-mariadb-c",
            !u32::from_str_radix(host, 16).unwrap()
        ));
        for d in [&dead, &mine, &other, &kept, &current, &reused, &elsewhere] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(kept.join(KEPT_MARKER), "").unwrap();
        let removed = sweep_stale(base.path());
        assert!(!dead.exists());
        assert!(mine.exists());
        assert!(other.exists());
        assert!(kept.exists(), "--keep'd sandboxes are left alone");
        assert!(current.exists(), "this run's own");
        assert!(!reused.exists(), "same id, other start time: {removed:?}");
        assert!(elsewhere.exists(), "another host's is never touched");
    }

    #[test]
    fn a_base_too_deep_for_a_socket_is_refused_and_leaves_nothing() {
        let base = tempfile::tempdir().unwrap();
        let deep = base.path().join("d".repeat(100));
        let error = SandboxDir::create_in(&deep, "postgres", None).unwrap_err();
        assert!(error.to_string().contains("DRIFTLESS_TMPDIR"), "{error}");
        assert_eq!(std::fs::read_dir(&deep).unwrap().count(), 0);
        let fine = SandboxDir::create_in(base.path(), "postgres", None).unwrap();
        assert!(fine.path().join(".s.PGSQL.65535.lock").as_os_str().len() <= MAX_SOCKET_PATH);
    }

    #[test]
    fn copy_tree_copies_nested_files() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("sub/file"), b"hello").unwrap();
        let dst = tempfile::tempdir().unwrap();
        let target = dst.path().join("copy");
        copy_tree(src.path(), &target, None).unwrap();
        assert_eq!(std::fs::read(target.join("sub/file")).unwrap(), b"hello");
    }
}
