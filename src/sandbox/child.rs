//! Child processes with an environment driftless chose, and the secrets of disposable servers.
//!
//! A child inherits nothing by default: `DRIFTLESS_MASK_KEY` and whatever else the user's
//! shell holds would otherwise sit in `/proc/<pid>/environ` of every server and tool, where a
//! migration running `COPY … TO PROGRAM` or a user who reaches the server can read it. Only
//! what tools need to find programs and speak the user's language passes; a secret goes to
//! the one tool that needs it, in its environment, never on its command line (`/proc/<pid>/cmdline`
//! is world-readable).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::Result;
use crate::error::Context;

/// Variables a child gets from driftless's own environment: where programs are, language
/// and time zone (servers and tools format messages by them), where temp files go.
const PASSED: &[&str] = &["PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"];

/// `program` with an environment of [`PASSED`] (plus `LC_*`) and nothing else.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for (name, value) in std::env::vars_os() {
        let Some(text) = name.to_str() else { continue };
        if PASSED.contains(&text) || text.starts_with("LC_") {
            command.env(&name, value);
        }
    }
    command
}

/// A fresh random password for one disposable server: 32 letters and digits (190 bits),
/// safe in URLs, SQL literals and config files without quoting.
pub fn password() -> String {
    use fake::rand::RngExt;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fake::rand::rng();
    (0..32)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Writes `contents` to the new file `path`, readable by its owner only (created so, never
/// world-readable for a moment).
pub fn write_secret(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .context(|| format!("cannot write {}", path.display()))
}

/// Writes a kept server's URL (with its password) to the private file `dir/url` and says
/// where it is, for `--keep`'s message; a failure to write is said instead.
pub fn save_url(dir: &Path, url: &str) -> String {
    let path = dir.join("url");
    match write_secret(&path, &format!("{url}\n")) {
        Ok(()) => format!("the URL is also in {} (mode 0600)", path.display()),
        Err(e) => format!("the URL could not be saved: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_no_driftless_variables() {
        let command = command("env");
        let names: Vec<String> = command
            .get_envs()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with("DRIFTLESS")),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n == "PATH"), "{names:?}");
    }

    #[test]
    fn passwords_differ_and_need_no_quoting() {
        let (a, b) = (password(), password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn secrets_are_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_secret(&path, "pw").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(write_secret(&path, "again").is_err(), "never overwrites");
    }
}
