//! Running servers as an unprivileged user when driftless runs as root.
//!
//! PostgreSQL's `initdb` and `postgres` refuse to run as root, and CI usually runs as root.

use std::path::Path;

use crate::{Error, Result};

/// A system user to run server processes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl ServiceUser {
    /// Gives `path` (not recursively) to this user.
    pub fn chown(&self, path: &Path) -> Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid)).map_err(|e| {
            Error::infra(format!(
                "cannot hand {} to user {}: {e}",
                path.display(),
                self.name
            ))
        })
    }
}

/// `None` when driftless does not run as root (servers then run as the current user);
/// otherwise the first existing user of `preferred`, falling back to `nobody`.
pub fn service_user(preferred: &[&str]) -> Result<Option<ServiceUser>> {
    if !running_as_root() {
        return Ok(None);
    }
    for name in preferred.iter().chain(["nobody"].iter()) {
        if let Some(user) = lookup(name) {
            return Ok(Some(user));
        }
    }
    Err(Error::infra(format!(
        "running as root, but none of the users {} exists to run the database server as; \
         create one (e.g. `useradd --system {}`)",
        preferred.join(", "),
        preferred.first().copied().unwrap_or("postgres")
    )))
}

/// Whether driftless runs with root's effective user id.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn lookup(name: &str) -> Option<ServiceUser> {
    let (name, uid, gid) = super::sys::user_by_name(name)?;
    Some(ServiceUser { name, uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_unknown_users_do_not() {
        assert_eq!(lookup("root").map(|u| u.uid), Some(0));
        assert!(lookup("no-such-user-driftless").is_none());
    }
}
