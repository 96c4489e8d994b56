//! Who made a thing driftless leaves behind while it runs (a throwaway database on a `--url`
//! server, a staging folder, a half-written output): the host, the process id and the
//! process's start time, written into the thing's name. A later run (or `driftless clean`)
//! removes a thing only when its creator is known to be gone: same host, and no process with
//! that id and start time. A thing from another host, or with a name driftless did not make,
//! is never touched.

use std::sync::OnceLock;

/// A process that created something, as its name records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creator {
    host: u32,
    pid: u32,
    started: u64,
}

impl Creator {
    /// This process.
    pub fn me() -> Creator {
        static ME: OnceLock<Creator> = OnceLock::new();
        *ME.get_or_init(|| {
            let pid = std::process::id();
            Creator {
                host: host(),
                pid,
                started: start_time(pid).unwrap_or(0),
            }
        })
    }

    /// `<host>_<pid>_<start>`: letters, digits and `_` only, so it fits database names.
    pub fn tag(&self) -> String {
        format!("{:08x}_{}_{}", self.host, self.pid, self.started)
    }

    /// The creator a [`Creator::tag`] names, or `None` for any other text.
    pub fn parse(tag: &str) -> Option<Creator> {
        let mut parts = tag.split('_');
        let host = parts.next().filter(|h| h.len() == 8)?;
        let creator = Creator {
            host: u32::from_str_radix(host, 16).ok()?,
            pid: parts.next()?.parse().ok()?,
            started: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(creator)
    }

    /// The creator in a name made of `prefix`, the tag and `-` or `_` plus anything after it.
    pub fn in_name(name: &str, prefix: &str) -> Option<Creator> {
        let rest = name.strip_prefix(prefix)?;
        // host_pid_start, then a separator and the random part.
        let mut cut = 0;
        let mut seps = 0;
        for (i, c) in rest.char_indices() {
            if c == '_' || c == '-' {
                seps += 1;
                if seps == 3 {
                    cut = i;
                    break;
                }
            }
        }
        if seps < 3 {
            return None;
        }
        Creator::parse(&rest[..cut])
    }

    /// Whether the creator is known to have ended: `Some(true)` on this host when no process
    /// with its id and start time runs; `None` for another host (driftless cannot tell).
    pub fn is_gone(&self) -> Option<bool> {
        let me = Creator::me();
        if self.host != me.host {
            return None;
        }
        if *self == me {
            return Some(false);
        }
        Some(start_time(self.pid) != Some(self.started))
    }
}

/// What driftless puts before the creator's tag in a file or folder it writes beside a target
/// (`output::Pending`, seed's staging folder).
pub const FILE_PREFIXES: &[&str] = &[".driftless-seed-", ".driftless-"];

/// Removes what killed driftless runs of this host left in `dir`: staging folders and
/// half-written files whose creator is gone. Returns what it removed; errors are ignored.
pub fn sweep_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let gone = FILE_PREFIXES
            .iter()
            .find_map(|prefix| Creator::in_name(name, prefix))
            .is_some_and(|c| c.is_gone() == Some(true));
        if !gone {
            continue;
        }
        let path = entry.path();
        let done = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if done.is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The host, as a short hash of its name (`/proc/sys/kernel/hostname`).
fn host() -> u32 {
    use sha2::Digest;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let digest = sha2::Sha256::digest(name.trim().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), which
/// tells a process from a later one that got the same id.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_back_and_names_carry_it() {
        let me = Creator::me();
        assert!(me.started > 0, "this process has a start time");
        assert_eq!(Creator::parse(&me.tag()), Some(me));
        let name = format!("driftless_{}_ab12cd", me.tag());
        assert_eq!(Creator::in_name(&name, "driftless_"), Some(me));
        let file = format!(".driftless-{}-x1y2.partial", me.tag());
        assert_eq!(Creator::in_name(&file, ".driftless-"), Some(me));
        assert_eq!(
            Creator::in_name("driftless_0123456789ab", "driftless_"),
            None
        );
        assert_eq!(Creator::in_name("driftless_prod", "driftless_"), None);
        assert_eq!(Creator::parse("zz_1_2"), None);
    }

    #[test]
    fn sweeping_a_folder_removes_only_what_ended_runs_left() {
        let me = Creator::me();
        let ended = Creator {
            started: me.started + 1,
            ..me
        };
        let dir = tempfile::tempdir().unwrap();
        let staging = dir
            .path()
            .join(format!(".driftless-seed-{}-Ab12", ended.tag()));
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(staging.join("users.csv"), "x").unwrap();
        let partial = dir
            .path()
            .join(format!(".driftless-{}-Cd34.partial", ended.tag()));
        std::fs::write(&partial, "half").unwrap();
        let mine = dir
            .path()
            .join(format!(".driftless-{}-Ef56.partial", me.tag()));
        std::fs::write(&mine, "being written").unwrap();
        let theirs = dir.path().join(".driftless-notes");
        std::fs::write(&theirs, "a user's file").unwrap();
        let mut removed = sweep_files(dir.path());
        removed.sort();
        let mut expected = vec![partial, staging];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(mine.exists() && theirs.exists());
    }

    #[test]
    fn only_a_creator_of_this_host_that_ended_is_gone() {
        let me = Creator::me();
        assert_eq!(me.is_gone(), Some(false));
        // The same pid with another start time is a process that ended.
        let earlier = Creator {
            started: me.started + 1,
            ..me
        };
        assert_eq!(earlier.is_gone(), Some(true));
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let started = start_time(pid);
        let mut child = child;
        child.wait().unwrap();
        if let Some(started) = started {
            let ended = Creator { pid, started, ..me };
            assert_eq!(ended.is_gone(), Some(true));
        }
        let elsewhere = Creator {
            host: me.host.wrapping_add(1),
            ..me
        };
        assert_eq!(elsewhere.is_gone(), None, "another host: cannot tell");
    }
}
